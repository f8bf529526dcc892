"""The solver contract: every solver in ``eqising.solvers.SOLVERS`` passes :mod:`eqising.solvers.testing`.

The shared checks live in the public suite :mod:`eqising.solvers.testing` (so a
third-party solver runs the same ones); this file runs them on every registered
solver, shows that a solver written outside eqising passes them and that broken
solvers fail them, and keeps the tests specific to one solver or to the registry.
"""

from __future__ import annotations

import unittest
from typing import Any, ClassVar

import numpy as np
import pytest

from eqising._validation import InvalidParameterError
from eqising.ising import IsingBatch
from eqising.seeding import generator
from eqising.solvers import (
    SOLVERS,
    AnnealingSolver,
    AnnealSchedule,
    Solver,
    SolverCapabilities,
    SpinSamples,
    make_solver,
)
from eqising.solvers.schedule import SCHEDULE_DEFAULTS, check_schedule_params, schedule_betas
from eqising.solvers.testing import (
    CONTRACT_CHECKS,
    assert_solver_contract,
    load_solver_tests,
    planted_ferromagnet,
    random_batch,
    run_check,
)

#: Registered solvers left out of the shared contract, with the reason.
CONTRACT_EXCLUDED = {
    "dwave": "needs a D-Wave API token and the network (tests/test_dwave.py runs its path on a mocked chip)",
}
CONTRACT_SOLVERS = sorted(set(SOLVERS) - set(CONTRACT_EXCLUDED))

#: Constructor parameters of the solvers under contract: the mocked QPU on a small Pegasus
#: graph (P4), a short emulated anneal, no temperature estimate (it is tested in test_dwave.py).
CONTRACT_PARAMS = {
    "dwave-mock": {"topology_shape": 4, "num_sweeps": 50, "beta": 20.0, "estimate_temperature": False},
}

#: Solvers that take sweep schedules (``num_sweeps``, ``beta_range``); the tests below that use
#: constant schedules run on these.
SWEEP_SOLVERS = sorted(name for name, cls in SOLVERS.items() if cls.capabilities.sweep_schedule)


@pytest.fixture(scope="module")
def embedding_cache(tmp_path_factory):
    return str(tmp_path_factory.mktemp("embeddings"))


def contract_solver(name: str, embedding_cache: str) -> Solver:
    params = dict(CONTRACT_PARAMS.get(name, {}))
    if "embedding_cache" in SOLVERS[name].parameters:
        params["embedding_cache"] = embedding_cache
    return make_solver(name, params)


# ------------------------------------------------------------------ the shared contract
def test_every_registered_solver_is_under_contract_or_excluded_with_a_reason():
    assert set(CONTRACT_SOLVERS) | set(CONTRACT_EXCLUDED) == set(SOLVERS)
    assert "dwave-mock" in CONTRACT_SOLVERS


@pytest.mark.parametrize("check", CONTRACT_CHECKS)
@pytest.mark.parametrize("name", CONTRACT_SOLVERS)
def test_solver_contract(name, check, embedding_cache):
    try:
        run_check(contract_solver(name, embedding_cache), check)
    except unittest.SkipTest as skip:  # a check that does not apply to this solver
        pytest.skip(str(skip))


# ------------------------------------------------------------------ a solver written elsewhere
class GibbsSolver(Solver):
    """A third-party solver in plain numpy: sequential single-spin heat-bath along the shared schedule.

    It builds on the public pieces only: :class:`Solver`, the schedule module
    (defaults, validation, per-problem betas) and eqising's seed helpers.
    """

    name = "test-gibbs"
    capabilities = SolverCapabilities(
        exact=False, finite_temperature=True, reverse_anneal=True, max_spins=None, topology="layered"
    )
    parameters: ClassVar[dict[str, Any]] = {**SCHEDULE_DEFAULTS, "estimate_temperature": False}

    def _check_params(self, params):
        return check_schedule_params(params, f"solver {self.name!r}")

    def _uniforms(self, seeds, shape):
        return np.stack([generator(int(s), "gibbs").random(shape) for s in seeds])

    def _spins(self, spins):
        return spins.astype(np.int8)

    def _sample(self, batch, num_reads, schedule, initial_states, seeds):
        schedule, betas = schedule_betas(batch, schedule, self.params)
        B, R, N, steps = batch.n_problems, num_reads, batch.n_spins, betas.shape[1]
        J = np.zeros((N, N))
        for l, Jl in enumerate(batch.couplings):
            J[batch.layer_slice(l), batch.layer_slice(l + 1)] = Jl
        J = J + J.T
        u = self._uniforms(seeds, (steps + 1, R, N))  # (B, steps + 1, R, N): start states, then sweeps
        spins = (
            np.where(u[:, 0] < 0.5, 1.0, -1.0)
            if initial_states is None
            else initial_states.astype(np.float64)
        )
        for t in range(steps):
            for i in range(N):
                f = batch.fields[:, None, i] + spins @ J[:, i]
                p = 0.5 * (1.0 + np.tanh(betas[:, t, None] * f))  # sigmoid(2 beta f)
                spins[:, :, i] = np.where(u[:, t + 1, :, i] < p, 1.0, -1.0)
        out = self._spins(spins)
        return SpinSamples(out, batch.energies(out.astype(np.int8)), {"spin_updates": int(B * R * N * steps)})


@load_solver_tests(GibbsSolver)
class TestThirdPartySolverPassesTheContract(unittest.TestCase):
    """The public suite as a unittest class, on a solver defined outside eqising."""


def test_load_solver_tests_adds_one_test_per_check():
    names = {n for n in dir(TestThirdPartySolverPassesTheContract) if n.startswith("test_solver_contract_")}
    assert names == {f"test_solver_contract_{c}" for c in CONTRACT_CHECKS}
    only = load_solver_tests(GibbsSolver(), checks=["protocol"])(type("T", (unittest.TestCase,), {}))
    assert [n for n in dir(only) if n.startswith("test_")] == ["test_solver_contract_protocol"]
    with pytest.raises(ValueError, match="unknown contract check"):
        load_solver_tests(GibbsSolver, checks=["no-such-check"])


def test_assert_solver_contract_reports_every_check():
    results = assert_solver_contract(GibbsSolver(), checks=["protocol", "bad_seed", "max_spins"])
    assert results == {
        "protocol": "passed",
        "bad_seed": "passed",
        "max_spins": "skipped: solver 'test-gibbs' has no spin limit",
    }


# ------------------------------------------------------------------ broken solvers fail it
class FloatSpinsSolver(GibbsSolver):
    """Returns float64 spins."""

    name = "broken-float-spins"

    def _spins(self, spins):
        return spins


class SeedIgnoringSolver(GibbsSolver):
    """Draws from fresh entropy whatever the seed."""

    name = "broken-ignores-seeds"

    def _uniforms(self, seeds, shape):
        return np.random.default_rng().random((len(seeds),) + shape)


class SharedStreamSolver(GibbsSolver):
    """Seeds one stream for the whole batch from the first problem's seed."""

    name = "broken-shared-stream"

    def _uniforms(self, seeds, shape):
        return generator(int(seeds[0]), "gibbs").random((len(seeds),) + shape)


class NoValidationSolver(GibbsSolver):
    """Skips the protocol's validation of ``num_reads``."""

    name = "broken-no-validation"

    def sample(self, batch, *, num_reads=1, schedule=None, initial_states=None, seed=None):
        if isinstance(num_reads, (int, float)) and num_reads < 1:
            num_reads = 1
        return super().sample(
            batch, num_reads=int(num_reads), schedule=schedule, initial_states=initial_states, seed=seed
        )


@pytest.mark.parametrize(
    "solver_cls, failing",
    [
        (FloatSpinsSolver, ["shapes_and_dtypes", "default_call"]),
        (
            SeedIgnoringSolver,
            ["same_seed_same_samples", "per_problem_seeds", "int_seed_derives_per_problem_seeds"],
        ),
        (SharedStreamSolver, ["per_problem_seeds"]),
        (NoValidationSolver, ["bad_num_reads"]),
    ],
    ids=["float-spins", "ignores-seeds", "shared-stream", "no-validation"],
)
def test_broken_solvers_fail_the_contract(solver_cls, failing):
    for check in failing:
        with pytest.raises(AssertionError):
            run_check(solver_cls(), check)
    with pytest.raises(AssertionError, match="breaks the solver contract") as info:
        assert_solver_contract(solver_cls(), checks=["protocol", *failing])
    message = str(info.value)
    assert all(f"- {check}:" in message for check in failing)
    assert "- protocol:" not in message


def test_a_check_that_does_not_apply_is_skipped():
    with pytest.raises(unittest.SkipTest, match="does not declare reverse_anneal"):
        run_check(make_solver("exact"), "cold_reverse_anneal_keeps_its_state")
    with pytest.raises(ValueError, match="unknown contract check"):
        run_check(make_solver("exact"), "nonsense")


# ------------------------------------------------------------------ registry
def test_registry_builds_every_solver():
    assert "annealing" in SOLVERS and "exact" in SOLVERS
    for name, cls in SOLVERS.items():
        solver = make_solver(name)
        assert isinstance(solver, cls) and isinstance(solver, Solver)
        assert solver.name == name
        assert set(solver.params) == set(cls.parameters)


def test_make_solver_passes_parameters():
    solver = make_solver("annealing", {"num_sweeps": 7, "beta_range": (0.5, 3)})
    assert solver.params["num_sweeps"] == 7
    assert solver.params["beta_range"] == (0.5, 3.0)
    assert "num_sweeps=7" in repr(solver)


def test_sweep_solvers_share_the_schedule_defaults():
    for name in ("annealing", "memristor", "dimod", "neal"):
        params = SOLVERS[name].parameters
        assert {k: params[k] for k in SCHEDULE_DEFAULTS} == dict(SCHEDULE_DEFAULTS)
    assert SOLVERS["dwave"].parameters["reheat"] == SCHEDULE_DEFAULTS["reheat"]
    assert not SOLVERS["dwave"].capabilities.sweep_schedule
    assert not SOLVERS["dwave-mock"].capabilities.sweep_schedule


def test_unknown_solver_name():
    message = r"The 'solver' parameter of make_solver must be one of .*'anealing'"
    with pytest.raises(InvalidParameterError, match=message):
        make_solver("anealing")
    with pytest.raises(InvalidParameterError, match="'solver' parameter"):
        make_solver(None)


@pytest.mark.parametrize("name", sorted(SOLVERS))
def test_unknown_solver_param(name):
    with pytest.raises(InvalidParameterError, match=r"'solver_params' parameter of make_solver .*'nonsense'"):
        make_solver(name, {"nonsense": 1})
    with pytest.raises(InvalidParameterError, match="'solver_params' parameter"):
        SOLVERS[name](nonsense=1)
    with pytest.raises(InvalidParameterError, match="'solver_params' parameter"):
        make_solver(name, ["num_sweeps"])


# ------------------------------------------------------------------ one solver at a time
def test_annealing_counts_spin_updates():
    batch = random_batch((3, 4), 2, np.random.default_rng(3))
    out = AnnealingSolver().sample(batch, num_reads=5, schedule=AnnealSchedule(num_sweeps=12), seed=0)
    assert out.info["spin_updates"] == 2 * 5 * 7 * 12
    out = AnnealingSolver().sample(
        batch,
        num_reads=5,
        schedule=AnnealSchedule("reverse", num_sweeps=12, reheat=0.5),
        initial_states=out.spins,
        seed=0,
    )
    assert out.info["spin_updates"] == 2 * 5 * 7 * (2 * (12 - 6) - 1)


def test_exact_solver_at_finite_temperature_depends_on_seed():
    batch = random_batch((3, 4, 3), 2, np.random.default_rng(6), j_scale=0.3, h_scale=0.3)
    solver = make_solver("exact", {"beta": 0.5})
    a = solver.sample(batch, num_reads=20, seed=1)
    np.testing.assert_array_equal(a.spins, solver.sample(batch, num_reads=20, seed=1).spins)
    assert not np.array_equal(a.spins, solver.sample(batch, num_reads=20, seed=2).spins)


def test_exact_ground_states_are_uniform_over_degenerate_ones():
    batch, g = planted_ferromagnet((4, 4), np.random.default_rng(14))
    out = make_solver("exact").sample(batch, num_reads=400, seed=0)
    plus = np.all(out.spins == g, axis=-1)
    minus = np.all(out.spins == -g, axis=-1)
    assert np.all(plus | minus)
    # Binomial(400, 1/2): 5 sigma = 50.
    assert abs(int(plus.sum()) - 200) < 50


def test_exact_solver_takes_reverse_schedules_as_equilibrium_sampling():
    rng = np.random.default_rng(2)
    batch = random_batch((3, 3, 2), 2, rng)
    init = (2 * rng.integers(0, 2, size=(2, 4, 8)) - 1).astype(np.int8)
    out = make_solver("exact").sample(
        batch, num_reads=4, schedule=AnnealSchedule("reverse", num_sweeps=10), initial_states=init, seed=3
    )
    assert out.spins.shape == (2, 4, 8) and out.spins.dtype == np.int8


def test_annealing_reverse_schedule_needs_initial_states():
    small_batch = random_batch((3, 4), 2, np.random.default_rng(17))
    with pytest.raises(InvalidParameterError, match="'initial_states' parameter of AnnealingSolver.sample"):
        make_solver("annealing").sample(
            small_batch, num_reads=2, schedule=AnnealSchedule("reverse", reheat=0.5)
        )


def test_too_many_spins_for_exact():
    batch = IsingBatch((11, 10), (np.zeros((11, 10)),), np.zeros((1, 21)))
    message = r"'batch' parameter of ExactSolver\.sample .*at most 20 spins"
    with pytest.raises(InvalidParameterError, match=message):
        make_solver("exact").sample(batch, num_reads=1)


@pytest.mark.parametrize(
    "params, name",
    [
        ({"num_sweeps": 0}, "num_sweeps"),
        ({"num_sweeps": 2.5}, "num_sweeps"),
        ({"beta_range": (2.0, 1.0)}, "beta_range"),
        ({"beta_range": (0.0, 1.0)}, "beta_range"),
        ({"beta_range": 3.0}, "beta_range"),
        ({"reheat": 1.0}, "reheat"),
        ({"reheat": -0.1}, "reheat"),
    ],
)
def test_bad_annealing_params(params, name):
    with pytest.raises(InvalidParameterError, match=f"'{name}' parameter of solver 'annealing'"):
        make_solver("annealing", params)


def test_bad_exact_params():
    with pytest.raises(InvalidParameterError, match="'beta' parameter of solver 'exact'"):
        make_solver("exact", {"beta": -1.0})


# ----------------------------------------------------------- effective temperature, every sweep solver
@pytest.mark.parametrize("name", SWEEP_SOLVERS)
def test_every_solver_can_report_its_effective_temperature(name):
    """Asked with ``estimate_temperature``, a solver adds the MPL temperature of its samples.

    At a constant inverse temperature beta = 1 the finite-temperature samplers
    must give T within 20% of 1 (the memristor's Gaussian read noise only
    approximates the logistic heat-bath rule); off by default for the fast solvers.
    """
    batch = random_batch((4, 5), 40, np.random.default_rng(11), j_scale=0.5, h_scale=0.5)
    params = {"beta": 1.0} if name == "exact" else {}
    quiet = make_solver(name, params).sample(
        batch, num_reads=2, schedule=AnnealSchedule.constant(1.0, 5), seed=0
    )
    asked = make_solver(name, {**params, "estimate_temperature": True})
    out = asked.sample(batch, num_reads=50, schedule=AnnealSchedule.constant(1.0, 60), seed=1)
    T = out.info["diagnostics"]["effective_temperature"]
    if asked.capabilities.finite_temperature:
        assert T == pytest.approx(1.0, rel=0.20)
    if name in ("annealing", "memristor", "exact"):
        assert "effective_temperature" not in quiet.info.get("diagnostics", {})
    with pytest.raises(InvalidParameterError, match="'estimate_temperature' parameter"):
        make_solver(name, {"estimate_temperature": "yes"})
