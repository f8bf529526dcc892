"""The schedule module: forward, reverse and constant walks, beta ranges, ``reheat`` and its QPU mapping,
and the int8 engine quantising the same schedule."""

from __future__ import annotations

import numpy as np
import pytest

from eqising._validation import InvalidParameterError
from eqising.hardware.mcu import fixed
from eqising.hardware.mcu.model import Int8Model
from eqising.solvers import SCHEDULE_DEFAULTS, AnnealSchedule
from eqising.solvers.ocean.dwave_mock import AnnealEmulator
from eqising.solvers.schedule import (
    EMULATOR_BETA_SPAN,
    QPU_SCHEDULE_DEFAULTS,
    anneal_fraction_to_beta,
    check_beta_range,
    check_reheat,
    forward_anneal_schedule,
    forward_progress,
    geometric_beta,
    geometric_betas,
    is_reverse_anneal_schedule,
    linear_betas,
    reheat_sweep,
    reheat_to_anneal_fraction,
    reverse_anneal_schedule,
    reverse_steps,
)


# ------------------------------------------------------------------ forward walk
@pytest.mark.parametrize("n", [1, 2, 10, 37])
def test_forward_betas_shape_and_monotone(n):
    hot, cold = np.array([0.1, 0.5, 2.0]), np.array([3.0, 0.5, 10.0])
    betas = AnnealSchedule(num_sweeps=n).betas(hot, cold)
    assert betas.shape == (3, n)
    assert np.all(np.diff(betas, axis=1) >= -1e-12)
    np.testing.assert_allclose(betas[:, -1], cold)
    if n > 1:
        np.testing.assert_allclose(betas[:, 0], hot)


def test_geometric_walk_is_one_function_of_hot_cold_and_sweeps():
    assert geometric_betas(0.5, 8.0, 5).shape == (5,)
    np.testing.assert_allclose(geometric_betas(0.5, 8.0, 5), [0.5, 1.0, 2.0, 4.0, 8.0])
    per_problem = geometric_betas(np.array([0.5, 1.0]), np.array([8.0, 1.0]), 5)
    assert per_problem.shape == (2, 5)
    np.testing.assert_array_equal(per_problem[0], geometric_betas(0.5, 8.0, 5))
    np.testing.assert_array_equal(per_problem[1], np.ones(5))  # hot == cold: a constant schedule
    np.testing.assert_array_equal(geometric_betas(0.5, 8.0, 5), geometric_beta(0.5, 8.0, forward_progress(5)))
    np.testing.assert_array_equal(forward_progress(1), [1.0])  # one sweep is the cold end
    assert geometric_betas(0.5, 8.0, 0).shape == (0,)
    np.testing.assert_allclose(linear_betas(1.0, 3.0, 3), [1.0, 2.0, 3.0])


def test_beta_range_overrides_per_problem_ends():
    sched = AnnealSchedule(num_sweeps=5, beta_range=(0.5, 8.0))
    betas = sched.betas(np.array([1.0, 2.0]), np.array([3.0, 4.0]))
    np.testing.assert_allclose(betas[:, 0], 0.5)
    np.testing.assert_allclose(betas[:, -1], 8.0)
    np.testing.assert_allclose(betas[0], betas[1])
    # Geometric: constant ratio between sweeps.
    ratios = betas[0, 1:] / betas[0, :-1]
    np.testing.assert_allclose(ratios, ratios[0])


def test_constant_schedule_is_constant():
    sched = AnnealSchedule.constant(1.3, 12)
    assert sched.kind == "forward" and sched.num_sweeps == 12
    np.testing.assert_allclose(sched.betas(np.ones(2), np.ones(2)), 1.3)


def test_resolved_fills_only_open_fields():
    sched = AnnealSchedule("reverse", num_sweeps=None, beta_range=(1.0, 2.0), reheat=None)
    sched = sched.resolved(40, None, 0.3)
    assert sched == AnnealSchedule("reverse", 40, (1.0, 2.0), 0.3)
    resolved = AnnealSchedule(num_sweeps=5).resolved(40, (0.1, 1.0), 0.3)
    assert resolved == AnnealSchedule("forward", 5, (0.1, 1.0), 0.3)


def test_unresolved_schedule_has_no_betas():
    with pytest.raises(InvalidParameterError, match="'schedule' parameter of AnnealSchedule.betas must be"):
        AnnealSchedule("reverse", num_sweeps=10).betas(np.ones(1), np.ones(1))


# ------------------------------------------------------------------ reverse walk and reheat
@pytest.mark.parametrize("n", [1, 2, 10, 37])
@pytest.mark.parametrize("reheat", [0.0, 0.25, 0.5, 0.9, 0.99])
def test_reverse_betas_shape_and_shape_of_the_walk(n, reheat):
    hot, cold = np.array([0.1, 2.0]), np.array([3.0, 10.0])
    forward = AnnealSchedule(num_sweeps=n).betas(hot, cold)
    betas = AnnealSchedule("reverse", num_sweeps=n, reheat=reheat).betas(hot, cold)
    k = min(int(reheat * n), n - 1)
    assert reheat_sweep(reheat, n) == k
    assert betas.shape == (2, 2 * (n - k) - 1)
    turn = n - k - 1
    # Starts and ends cold, warms monotonically to the reheat point, cools monotonically back.
    np.testing.assert_allclose(betas[:, 0], cold)
    np.testing.assert_allclose(betas[:, -1], cold)
    np.testing.assert_allclose(betas[:, turn], forward[:, k])
    assert np.all(np.diff(betas[:, : turn + 1], axis=1) <= 1e-12)
    assert np.all(np.diff(betas[:, turn:], axis=1) >= -1e-12)
    np.testing.assert_allclose(betas.min(axis=1), forward[:, k])
    np.testing.assert_array_equal(betas, forward[:, AnnealSchedule("reverse", n, None, reheat).steps()])


def test_reverse_walk_indices():
    np.testing.assert_array_equal(reverse_steps(6, 2), [5, 4, 3, 2, 3, 4, 5])
    np.testing.assert_array_equal(reverse_steps(6, 9), [5])  # past the cold end: the cold end
    np.testing.assert_array_equal(reverse_steps(1, 0), [0])
    np.testing.assert_array_equal(AnnealSchedule(num_sweeps=4).steps(), [0, 1, 2, 3])
    assert reheat_sweep(0.25, 50) == 12 and reheat_sweep(0.0, 50) == 0 and reheat_sweep(0.999, 3) == 2


def test_reheat_maps_to_the_qpu_anneal_fraction():
    # a QPU's forward anneal runs s linearly 0 -> 1: the turning point is s = reheat
    for reheat in (0.0, 0.25, 0.6, 0.99):
        assert reheat_to_anneal_fraction(reheat) == reheat
    assert reverse_anneal_schedule(0.6, 7.0) == [[0.0, 1.0], [7.0, 0.6], [14.0, 1.0]]
    assert forward_anneal_schedule(20.0) == [[0.0, 0.0], [20.0, 1.0]]
    assert is_reverse_anneal_schedule(reverse_anneal_schedule(0.25, 10.0))
    assert not is_reverse_anneal_schedule(forward_anneal_schedule(20.0)) and not is_reverse_anneal_schedule(
        None
    )


def test_emulated_qpu_plays_the_same_geometric_walk():
    """The emulator plays the forward walk from beta/100 to beta; a reverse anneal turns at reheat."""
    emulator = AnnealEmulator(beta=20.0, num_sweeps=11)
    forward = emulator.betas(None, 20.0)
    np.testing.assert_allclose(forward, geometric_betas(20.0 / EMULATOR_BETA_SPAN, 20.0, 11), rtol=1e-12)
    np.testing.assert_allclose(anneal_fraction_to_beta(np.array([0.0, 1.0]), 20.0), [0.2, 20.0])
    np.testing.assert_allclose(anneal_fraction_to_beta(0.3, 20.0), 20.0 * 100.0**-0.7)
    reverse = emulator.betas(reverse_anneal_schedule(0.4, 10.0), 20.0)
    np.testing.assert_allclose(reverse.min(), anneal_fraction_to_beta(0.4, 20.0))
    np.testing.assert_allclose(reverse[[0, -1]], 20.0)


# ------------------------------------------------------------------ defaults and validation
def test_defaults_are_one_read_only_dict():
    assert dict(SCHEDULE_DEFAULTS) == {"num_sweeps": 50, "beta_range": None, "reheat": 0.25}
    assert QPU_SCHEDULE_DEFAULTS["reheat"] == SCHEDULE_DEFAULTS["reheat"]
    with pytest.raises(TypeError):
        SCHEDULE_DEFAULTS["num_sweeps"] = 3


@pytest.mark.parametrize(
    "kwargs, name",
    [
        ({"beta_range": (2.0, 1.0)}, "beta_range"),
        ({"beta_range": (-1.0, 1.0)}, "beta_range"),
        ({"beta_range": (1.0, np.inf)}, "beta_range"),
        ({"beta_range": (1.0,)}, "beta_range"),
        ({"kind": "backward"}, "kind"),
        ({"num_sweeps": 0}, "num_sweeps"),
        ({"reheat": 1.0}, "reheat"),
    ],
)
def test_bad_schedule_parameters(kwargs, name):
    with pytest.raises(InvalidParameterError, match=f"The '{name}' parameter of AnnealSchedule must be"):
        AnnealSchedule(**kwargs)


def test_bad_beta_range_message_names_the_rule():
    with pytest.raises(InvalidParameterError, match=r"0 < hot <= cold. Got \(2\.0, 1\.0\) instead"):
        AnnealSchedule(beta_range=(2.0, 1.0))


def test_check_helpers():
    assert check_beta_range([1, 2], "beta_range", "X") == (1.0, 2.0)
    assert check_reheat(0, "X") == 0.0
    with pytest.raises(InvalidParameterError, match="'reheat' parameter of X must be"):
        check_reheat(-0.5, "X")


# ------------------------------------------------------------------ the int8 engine quantises it
def test_mcu_tables_quantise_the_shared_schedule():
    for (hot, cold), n in [((0.05, 6.5), 50), ((0.5, 4.0), 7), ((1.0, 1.0), 3), ((0.2, 3.0), 1)]:
        table = fixed.beta_multipliers((hot, cold), n)
        assert table.dtype == np.int32 and table.shape == (n,)
        np.testing.assert_array_equal(
            table, np.round(32 * geometric_betas(hot, cold, n) * fixed.ONE).astype(np.int32)
        )
    for n, k in [(50, 12), (7, 0), (5, 4), (3, 9)]:
        table = fixed.reverse_steps(n, k)
        assert table.dtype == np.int32
        np.testing.assert_array_equal(table, reverse_steps(n, k))
    # the tables the C library consumes do not change (pinned from before the schedule module)
    default = fixed.beta_multipliers((0.05, 6.5), 50)
    assert default[:3].tolist() == [104858, 115809, 127904]
    assert default[-3:].tolist() == [11175317, 12342455, 13631488]
    assert int(default.sum()) == 143148631
    assert fixed.beta_multipliers((0.5, 4.0), 7).tolist() == [
        1048576,
        1482910,
        2097152,
        2965821,
        4194304,
        5931642,
        8388608,
    ]


def test_int8_model_turns_where_the_float_schedule_turns():
    rng = np.random.default_rng(0)
    weights, biases = [rng.normal(size=(4, 3)) * 0.3], [rng.normal(size=3) * 0.1]
    for n, reheat in [(50, 0.25), (10, 0.0), (7, 0.99)]:
        model = Int8Model.from_float(
            weights,
            biases,
            weight_clip=1.0,
            bias_clip=1.0,
            field_clip=4.0,
            beta_range=(0.05, 6.5),
            num_sweeps=n,
            reheat=reheat,
            headroom=2.0,
        )
        assert model.reheat_sweeps == reheat_sweep(reheat, n)
        float_steps = AnnealSchedule("reverse", n, (0.05, 6.5), reheat).steps()
        np.testing.assert_array_equal(model.reverse, float_steps)
