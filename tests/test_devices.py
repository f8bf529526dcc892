"""Tests of the device backends: ECRAM golden curves and statistics, CBRAM, pruning, errors, persistence."""

from __future__ import annotations

import numpy as np
import pytest

from eqising import EqPropClassifier, load_model, save_model
from eqising._validation import InvalidParameterError
from eqising.hardware import CONDUCTANCE_QUANTUM, ECRAM_PRESETS, CbramBackend, EcramBackend, make_backend
from eqising.hardware.pruning import Pruner

QUIET = {"c2c": 0.0, "dw_min_dtod": 0.0, "up_down_dtod": 0.0, "bound_dtod": 0.0, "gamma_dtod": 0.0}


def programmed(backend, shape=(1, 1), value=0.0, seed=0):
    backend.program([np.full(shape, value)], [np.zeros(shape[1])], weight_clip=1.0, bias_clip=1.0, seed=seed)
    return backend


def pulse_train(backend, n, up):
    """Send ``n`` single pulses to the one weight of a 1x1 backend; return the device value after each."""
    tile = backend._tiles[0][0]
    step = backend.params["dw_min"] * tile.scale * (1 if up else -1)  # exactly one nominal pulse per update
    trace = []
    for _ in range(n):
        cost = backend.apply(0, np.array([[step]]), np.zeros(1))
        assert cost["pulses"] == 1
        trace.append(tile.arrays["w"][0])
    return np.array(trace)


def analytic_linear_step(w0, n, dw, gamma, bound, up):
    """Closed form of n LinearStep pulses from w0: a geometric approach to bound / gamma, clipped at the bound.

    up:   w_{k+1} = w_k + dw (1 - gamma w_k / w_max)  ->  w_k = w_inf + (w0 - w_inf) a^k,  a = 1 - dw gamma / w_max
    down: w_{k+1} = w_k - dw (1 - gamma w_k / w_min)  ->  same with a = 1 + dw gamma / w_min (w_min < 0)
    """
    k = np.arange(1, n + 1)
    if gamma == 0:
        w = w0 + (dw if up else -dw) * k
    else:
        a = 1 - dw * gamma / bound if up else 1 + dw * gamma / bound
        w_inf = bound / gamma
        w = w_inf + (w0 - w_inf) * a**k
    return np.minimum(w, bound) if up else np.maximum(w, bound)


# ----------------------------------------------------------- ECRAM golden
@pytest.mark.parametrize("preset", sorted(ECRAM_PRESETS))
def test_ecram_1000_up_1000_down_trace_the_analytic_curve(preset):
    """1,000 up then 1,000 down pulses on one noise-free device follow the LinearStep closed form to 1e-9."""
    p = ECRAM_PRESETS[preset]
    backend = programmed(EcramBackend(preset=preset, **QUIET))
    up = pulse_train(backend, 1000, up=True)
    down = pulse_train(backend, 1000, up=False)
    want_up = analytic_linear_step(0.0, 1000, p["dw_min"], p["gamma_up"], p["w_max"], up=True)
    want_down = analytic_linear_step(want_up[-1], 1000, p["dw_min"], p["gamma_down"], p["w_min"], up=False)
    np.testing.assert_allclose(up, want_up, rtol=0, atol=1e-9)
    np.testing.assert_allclose(down, want_down, rtol=0, atol=1e-9)
    assert np.all(np.diff(up) >= 0) and np.all(np.diff(down) <= 0)
    # the soft-bounds shape is really there: every down step is smaller than the one before
    steps = -np.diff(np.concatenate([[up[-1]], down]))
    assert np.all(np.diff(steps) <= 0) and steps[-1] < steps[0]


def test_ecram_li_matches_the_aihwkit_simulator():
    """aihwkit 1.1.0 (EcRamPresetDevice, noise off) gives 0.50 after 256 up pulses from 0 and ends at w_min."""
    backend = programmed(EcramBackend(preset="li", **QUIET))
    up = pulse_train(backend, 1500, up=True)
    assert up[255] == pytest.approx(0.50, abs=0.005)
    assert up[-1] == pytest.approx(1.1724)  # reaches the hard bound (gamma_up is small)
    down = pulse_train(backend, 1500, up=False)
    assert down[-1] == pytest.approx(-0.8276)


def test_ecram_cycle_to_cycle_noise_statistics():
    """One up pulse on 20,000 devices at w=0: mean step dw_min, relative spread c2c (0.3 for 'li')."""
    backend = programmed(EcramBackend(preset="li", **{**QUIET, "c2c": 0.3}), shape=(200, 100))
    tile = backend._tiles[0][0]
    backend.apply(0, np.full((200, 100), 0.002 * tile.scale), np.zeros(100))
    steps = tile.arrays["w"]
    se = 0.3 * 0.002 / np.sqrt(steps.size)
    assert abs(steps.mean() - 0.002) < 5 * se
    assert steps.std() / 0.002 == pytest.approx(0.3, abs=0.01)


def test_ecram_stochastic_rounding_is_unbiased():
    """A desired change of 0.3 pulses fires one pulse with probability 0.3."""
    backend = programmed(EcramBackend(preset="li", **QUIET), shape=(100, 100))
    tile = backend._tiles[0][0]
    cost = backend.apply(0, np.full((100, 100), 0.3 * 0.002 * tile.scale), np.zeros(100))
    assert cost["pulses"] / 10_000 == pytest.approx(0.3, abs=5 * np.sqrt(0.21 / 10_000))
    moved = tile.arrays["w"] > 0
    assert moved.sum() == cost["pulses"]


def test_device_variation_is_reproducible_from_the_seed():
    def devices(seed):
        b = programmed(EcramBackend(), shape=(30, 20), seed=seed)
        return b._tiles[0][0].arrays

    a, again, other = devices(7), devices(7), devices(8)
    for key in a:
        np.testing.assert_array_equal(a[key], again[key])
    assert not np.array_equal(a["dw_up"], other["dw_up"])
    # the spread is the preset's: dw_min_dtod 0.1, bound_dtod 0.05
    assert np.std(a["dw_up"] / 0.002) == pytest.approx(0.1, abs=0.02)
    assert np.std(a["b_max"] / 1.1724) == pytest.approx(0.05, abs=0.01)
    c1, c2 = (programmed(CbramBackend(), shape=(30, 20), seed=s)._tiles[0][0].arrays for s in (3, 3))
    np.testing.assert_array_equal(c1["p_set"], c2["p_set"])


def test_device_variation_does_not_depend_on_the_update_stream():
    """The same seed gives the same devices whatever the backend does afterwards."""
    a = programmed(EcramBackend(read_noise=0.1), shape=(10, 10), seed=1)
    b = programmed(EcramBackend(), shape=(10, 10), seed=1)
    before = a.effective_weights()[0][0]
    rng = np.random.default_rng(0)
    for _ in range(5):  # updates draw stochastic rounding and cycle-to-cycle noise from the backend's stream
        a.apply(0, rng.normal(0, 0.05, (10, 10)), np.zeros(10))
    assert not np.array_equal(a.effective_weights()[0][0], before)
    for key in ("dw_up", "dw_down", "b_min", "b_max", "gamma_up", "gamma_down"):
        np.testing.assert_array_equal(a._tiles[0][0].arrays[key], b._tiles[0][0].arrays[key])


def test_ecram_read_noise():
    backend = programmed(EcramBackend(read_noise=2.0), shape=(100, 100), value=0.3)
    (w1,), _ = backend.effective_weights()
    (w2,), _ = backend.effective_weights()
    scale = backend._tiles[0][0].scale
    assert np.std(w1 - w2) == pytest.approx(np.sqrt(2) * 2.0 * 0.002 * scale, rel=0.05)
    assert np.mean(w1) == pytest.approx(0.3, abs=0.001)


def test_ecram_saturations_are_counted():
    backend = programmed(EcramBackend(**QUIET))
    tile = backend._tiles[0][0]
    tile.arrays["w"][:] = tile.arrays["b_max"]
    cost = backend.apply(0, np.array([[3 * 0.002 * tile.scale]]), np.zeros(1))
    assert cost["pulses"] == 3 and cost["saturations"] == 3


def test_cost_record_of_a_write():
    backend = programmed(EcramBackend(**QUIET), shape=(4, 5))
    tile = backend._tiles[0][0]
    counts = np.arange(20).reshape(4, 5) % 4
    cost = backend.apply(0, counts * 0.002 * tile.scale, np.zeros(5))
    p = backend.params
    assert cost["pulses"] == counts.sum()
    assert cost["write_joules"] == pytest.approx(counts.sum() * p["pulse_joules"])
    assert cost["read_joules"] == pytest.approx(25 * p["read_joules"])  # 20 weights + 5 biases read back
    assert cost["energy_joules"] == pytest.approx(cost["write_joules"] + cost["read_joules"])
    assert cost["write_seconds"] == pytest.approx(3 * p["pulse_seconds"])  # trains run in parallel


# ------------------------------------------------------------------- CBRAM
def test_cbram_set_is_probabilistic_and_reset_abrupt():
    backend = programmed(CbramBackend(p_dtod=0.0, p_set=0.4, p_reset=0.8, reset_levels=3), shape=(100, 100))
    tile = backend._tiles[0][0]
    start = tile.arrays["level"].copy()
    assert np.all(start == 16)  # 0.0 is the middle of 33 levels
    backend._pulse(tile.arrays, np.arange(10_000), True, backend._rng)
    moved = tile.arrays["level"] - start
    assert set(np.unique(moved)) <= {0, 1}
    assert moved.mean() == pytest.approx(0.4, abs=5 * np.sqrt(0.24 / 10_000))
    before = tile.arrays["level"].copy()
    backend._pulse(tile.arrays, np.arange(10_000), False, backend._rng)
    dropped = before - tile.arrays["level"]
    assert set(np.unique(dropped)) <= {0, 3}
    assert (dropped == 3).mean() == pytest.approx(0.8, abs=5 * np.sqrt(0.16 / 10_000))


def test_cbram_expected_change_equals_desired_change():
    backend = programmed(CbramBackend(), shape=(100, 100))
    desired = 0.1
    for sign in (1, -1):
        before = backend.effective_weights()[0][0].copy()
        backend.apply(0, np.full((100, 100), sign * desired), np.zeros(100))
        change = backend.effective_weights()[0][0] - before
        assert change.mean() == pytest.approx(sign * desired, abs=0.01)


def test_cbram_levels_and_read_energy():
    backend = programmed(CbramBackend(n_levels=5), shape=(2, 2), value=0.6)
    (W,), _ = backend.effective_weights()
    np.testing.assert_allclose(W, 0.5)  # nearest of the 5 levels -1, -0.5, 0, 0.5, 1
    g = backend.conductances(backend._tiles[0][0].arrays)
    np.testing.assert_allclose(g, 1e-6 + 0.75 * 39e-6)
    assert g.max() < CONDUCTANCE_QUANTUM


def test_frozen_cbram_weight_receives_zero_pulses():
    """Soft-pruning: once frozen, a weight gets no pulse, keeps its value, and its pulses count as skipped."""
    backend = CbramBackend(pruning="soft", prune_ratio=0.5, prune_start=0, prune_window=1, prune_step=0.5)
    programmed(backend, shape=(10, 10))
    activity = np.zeros((10, 10))
    activity[:5] = 0.1  # rows 0-4 active, rows 5-9 idle: the idle half matures
    backend.apply(0, activity, np.zeros(10))
    frozen = backend._pruners[0].frozen.reshape(10, 10)
    assert frozen[5:].all() and not frozen[:5].any()
    before = backend.effective_weights()[0][0].copy()
    counts = []
    for _ in range(20):
        cost = backend.apply(0, np.full((10, 10), 0.2), np.zeros(10))
        counts.append((cost["pulses"], cost["pulses_skipped"]))
    after = backend.effective_weights()[0][0]
    np.testing.assert_array_equal(after[frozen], before[frozen])  # frozen: untouched, still in the network
    assert np.all(after[~frozen] > before[~frozen])  # the others kept learning
    assert all(skipped > 0 for _, skipped in counts)
    assert backend.diagnostics()["frozen_fraction"] == 0.5


def test_hard_pruning_removes_the_same_weights():
    kwargs = {"prune_ratio": 0.5, "prune_start": 0, "prune_window": 1, "prune_step": 0.5}
    soft = programmed(CbramBackend(pruning="soft", **kwargs), shape=(10, 10), value=0.5)
    hard = programmed(CbramBackend(pruning="hard", **kwargs), shape=(10, 10), value=0.5)
    activity = np.zeros((10, 10))
    activity[:, :5] = 0.1
    soft.apply(0, activity, np.zeros(10))
    hard.apply(0, activity, np.zeros(10))
    np.testing.assert_array_equal(soft._pruners[0].frozen, hard._pruners[0].frozen)
    frozen = hard._pruners[0].frozen.reshape(10, 10)
    assert np.all(hard.effective_weights()[0][0][frozen] == 0)
    assert np.all(soft.effective_weights()[0][0][frozen] == 0.5)


def test_pruner_schedule_reaches_the_ratio_and_stops():
    pruner = Pruner(100, ratio=0.6, start=3, window=2, step=0.25)
    activity = np.linspace(1, 2, 100)
    fractions = []
    for _ in range(20):
        pruner.observe(activity)
        fractions.append(pruner.frozen.mean())
    assert fractions[:4] == [0, 0, 0, 0]  # warm-up of 3 steps, then one window
    assert fractions[4] == 0.25 and fractions[6] == 0.5 and fractions[8] == 0.6 and fractions[-1] == 0.6
    assert pruner.frozen[:60].all()  # the least active weights


# ------------------------------------------------------------------- errors
@pytest.mark.parametrize(
    ("name", "params", "match"),
    [
        ("ecram", {"dw_min": -0.001}, r"'dw_min' parameter of backend 'ecram' must be a finite float > 0.0. Got -0.001"),
        ("ecram", {"dw_min": 0.0}, r"'dw_min' .* > 0.0. Got 0.0"),
        ("ecram", {"w_min": 0.5, "w_max": -0.5}, r"'w_min' parameter of backend 'ecram' must be < 0 < w_max"),
        ("ecram", {"w_min": -1.0, "w_max": -0.2}, r"'w_min' .* must be < 0 < w_max"),
        ("ecram", {"preset": "graphene"}, r"'preset' parameter of backend 'ecram' must be one of \{'li', 'metal-oxide', 'organic'\}"),
        ("ecram", {"c2c": -0.1}, r"'c2c' .* >= 0.0"),
        ("ecram", {"pruning": "medium"}, r"'pruning' .* None, 'soft' or 'hard'"),
        ("cbram", {"g_max": 1e-4}, r"'g_max' parameter of backend 'cbram' must be .*below the conductance quantum"),
        ("cbram", {"g_min": 5e-5, "g_max": 2e-5}, r"'g_max' .* > g_min"),
        ("cbram", {"p_set": 1.5}, r"'p_set' .* <= 1.0"),
        ("cbram", {"n_levels": 1}, r"'n_levels' .* >= 2"),
        ("cbram", {"prune_ratio": 1.2}, r"'prune_ratio' .* <= 1.0"),
    ],
)
def test_bad_backend_params_are_clear_errors(name, params, match):
    with pytest.raises(InvalidParameterError, match=match):
        make_backend(name, params, "EqPropClassifier")


def test_device_backends_need_clip_limits():
    with pytest.raises(InvalidParameterError, match="'weight_clip' parameter of backend 'ecram' must be a float > 0"):
        EcramBackend().program([np.zeros((2, 2))], [np.zeros(2)], weight_clip=None, bias_clip=1.0, seed=0)


# ---------------------------------------------------------- with the estimator
CHEAP = {"hidden_layer_sizes": (12,), "max_iter": 2, "batch_size": 32, "solver_params": {"num_sweeps": 20}}


@pytest.mark.parametrize(
    ("backend", "params"),
    [("ecram", {"read_noise": 1.0}), ("cbram", {"pruning": "soft", "prune_start": 3, "prune_window": 2})],
)
def test_device_model_trains_saves_and_loads(small_digits, tmp_path, backend, params):
    clf = EqPropClassifier(**CHEAP, backend=backend, backend_params=params, random_state=0)
    clf.fit(small_digits.X_train, small_digits.y_train)
    cost = clf.backend_cost_
    assert cost["pulses"] > 0 and cost["energy_joules"] > cost["write_joules"] > 0
    assert cost["pulses"] == sum(c["pulses"] for c in clf.backend_cost_curve_)
    assert cost["pulses"] == sum(c["pulses"] for c in clf.backend_layer_cost_)
    save_model(clf, tmp_path / "m")
    again = load_model(tmp_path / "m")
    np.testing.assert_array_equal(again.predict(small_digits.X_test), clf.predict(small_digits.X_test))
    saved, loaded = clf.backend_.state(), again.backend_.state()
    assert saved.keys() == loaded.keys()
    for key in saved:
        np.testing.assert_array_equal(saved[key], loaded[key])
    again.partial_fit(small_digits.X_train, small_digits.y_train)  # continues on the restored devices
    assert again.n_iter_ == 3


def test_same_seed_same_device_training(small_digits):
    X_train, y_train = small_digits.X_train, small_digits.y_train
    a, b = (EqPropClassifier(**CHEAP, backend="ecram", random_state=5).fit(X_train, y_train) for _ in range(2))
    for x, y in zip(a.network_.weights, b.network_.weights):
        np.testing.assert_array_equal(x, y)
    assert a.backend_cost_ == b.backend_cost_
