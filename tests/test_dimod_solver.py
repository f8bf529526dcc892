"""The ``dimod`` and ``neal`` solvers beyond the shared contract (tests/test_solvers.py), and the
effective-temperature estimate every solver that can be asked reports."""

from __future__ import annotations

import dimod
import numpy as np
import pytest

from eqising import EqPropClassifier
from eqising._validation import InvalidParameterError
from eqising.ising import IsingBatch
from eqising.solvers import AnnealSchedule, DimodSolver, boltzmann_distribution, make_solver
from eqising.solvers.temperature import effective_temperature


def random_batch(layer_sizes, n_problems, rng, scale=1.0) -> IsingBatch:
    couplings = tuple(rng.normal(0.0, scale, size=(a, b)) for a, b in zip(layer_sizes, layer_sizes[1:]))
    return IsingBatch(
        tuple(layer_sizes), couplings, rng.normal(0.0, scale, size=(n_problems, sum(layer_sizes)))
    )


class RecordingSampler(dimod.Sampler):
    """Wraps neal and records every call's keyword arguments (and whether threads overlapped)."""

    parameters = None
    properties = None

    def __init__(self):
        from dwave.samplers import SimulatedAnnealingSampler

        self._sa = SimulatedAnnealingSampler()
        self.parameters = dict(self._sa.parameters)
        self.properties = {}
        self.calls = []

    def sample(self, bqm, **kwargs):
        self.calls.append((bqm, kwargs))
        return self._sa.sample(bqm, **kwargs)


# ------------------------------------------------------------ the sampler
def test_default_sampler_is_neal_and_neal_is_registered():
    from dwave.samplers import SimulatedAnnealingSampler

    assert isinstance(make_solver("dimod").sampler, SimulatedAnnealingSampler)
    assert isinstance(make_solver("neal").sampler, SimulatedAnnealingSampler)
    assert "sampler" not in make_solver("neal").params


def test_sampler_from_module_class_string():
    solver = make_solver("dimod", {"sampler": "dwave.samplers:SteepestDescentSolver"})
    assert type(solver.sampler).__name__ == "SteepestDescentSolver"
    # steepest descent has no temperature schedule: no reverse anneal, but it starts from initial states
    assert not solver.capabilities.reverse_anneal
    batch = random_batch((3, 4), 2, np.random.default_rng(0))
    init = np.ones((2, 3, 7), dtype=np.int8)
    out = solver.sample(batch, num_reads=3, initial_states=init, seed=0)
    # a descent from the all-up state: every read is a local minimum reached from it, identical reads
    assert np.all(out.spins == out.spins[:, :1])
    fields = batch.local_fields(out.spins)
    assert np.all(out.spins * fields >= -1e-12)


@pytest.mark.parametrize(
    "value, match",
    [
        ("no_colon", "'sampler' parameter of solver 'dimod'"),
        ("not.a.module:Thing", "can be imported"),
        ("dwave.samplers:NoSuchSampler", "can be imported"),
        (42, "'sampler' parameter"),
        ("os:path", r"a dimod\.Sampler subclass"),
        ("dimod:BinaryQuadraticModel", r"a dimod\.Sampler subclass"),
    ],
)
def test_bad_sampler(value, match):
    with pytest.raises(InvalidParameterError, match=match):
        make_solver("dimod", {"sampler": value})


def test_sampler_params_are_checked_against_the_sampler():
    with pytest.raises(
        InvalidParameterError, match=r"'sampler_params' parameter of solver 'dimod'.*'nonsense'"
    ):
        make_solver("dimod", {"sampler_params": {"nonsense": 1}})
    with pytest.raises(
        InvalidParameterError, match="'sampler_params' parameter"
    ):  # the solver sets seeds itself
        make_solver("dimod", {"sampler_params": {"seed": 1}})


def test_what_a_sampler_cannot_take_is_an_error():
    batch = random_batch((3, 3), 1, np.random.default_rng(9))
    exact = make_solver("dimod", {"sampler": "dimod:ExactSolver"})
    with pytest.raises(
        InvalidParameterError, match=r"'schedule' parameter of DimodSolver.sample .*ExactSolver"
    ):
        exact.sample(batch, schedule=AnnealSchedule(num_sweeps=10))
    with pytest.raises(InvalidParameterError, match=r"'initial_states' parameter of DimodSolver.sample"):
        exact.sample(batch, initial_states=np.ones((1, 1, 6)))
    assert exact.sample(batch, schedule=AnnealSchedule("reverse")).spins.shape == (1, 1, 6)
    with pytest.raises(InvalidParameterError, match=r"'batch' parameter .*at most 20 spins"):
        exact.sample(random_batch((12, 10), 1, np.random.default_rng(9)))


def test_exact_solver_keeps_the_lowest_energy_states():
    batch = random_batch((3, 3), 2, np.random.default_rng(1))
    out = make_solver("dimod", {"sampler": dimod.ExactSolver()}).sample(batch, num_reads=3)
    states, probs = boltzmann_distribution(batch, None)
    all_e = batch.energies(np.broadcast_to(states, (2,) + states.shape))
    np.testing.assert_allclose(out.energies, np.sort(all_e, axis=1)[:, :3], atol=1e-9)


# --------------------------------------------------------- what is passed
def test_one_bqm_per_problem_in_eqising_order_and_schedule_passed():
    rng = np.random.default_rng(2)
    batch = random_batch((3, 4, 2), 3, rng)
    sampler = RecordingSampler()
    solver = DimodSolver(sampler=sampler, num_threads=1)
    free = solver.sample(batch, num_reads=4, schedule=AnnealSchedule(num_sweeps=30), seed=5)
    assert len(sampler.calls) == 3
    for b, (bqm, kwargs) in enumerate(sampler.calls):
        assert bqm == batch.to_bqm(b)
        assert kwargs["beta_schedule_type"] == "custom" and len(kwargs["beta_schedule"]) == 30
        assert kwargs["num_reads"] == 4 and "initial_states" not in kwargs
    # spins come back in eqising's order with eqising's energies
    np.testing.assert_allclose(free.energies, batch.energies(free.spins))
    for b in range(3):
        np.testing.assert_allclose(sampler.calls[b][0].energies((free.spins[b], range(9))), free.energies[b])
    sampler.calls.clear()
    solver.sample(
        batch,
        num_reads=4,
        schedule=AnnealSchedule("reverse", num_sweeps=30, reheat=0.5),
        initial_states=free.spins,
        seed=6,
    )
    for b, (_, kwargs) in enumerate(sampler.calls):
        init, labels = kwargs["initial_states"]
        np.testing.assert_array_equal(init, free.spins[b])
        betas = np.asarray(kwargs["beta_schedule"])
        assert len(betas) == 2 * (30 - 15) - 1  # cold -> reheat point -> cold
        assert betas[0] == betas[-1] == betas.max() and betas.argmin() == 14


def test_threads_give_the_same_samples_as_one_thread():
    batch = random_batch((8, 6), 6, np.random.default_rng(3))
    one = make_solver("neal", {"num_threads": 1}).sample(batch, num_reads=3, seed=9)
    many = make_solver("neal", {"num_threads": 3}).sample(batch, num_reads=3, seed=9)
    np.testing.assert_array_equal(one.spins, many.spins)


def test_neal_samples_the_boltzmann_distribution_at_a_constant_temperature():
    """6 spins, 8,000 reads of 200 sweeps at beta 0.8: magnetisations and correlations match the
    exact ones within 0.05 (5 standard errors of 8,000 reads)."""
    rng = np.random.default_rng(4)
    batch = random_batch((3, 3), 1, rng, scale=0.6)
    out = make_solver("neal").sample(
        batch, num_reads=8000, schedule=AnnealSchedule.constant(0.8, 200), seed=1
    )
    states, probs = boltzmann_distribution(batch, 0.8)
    s = out.spins[0].astype(float)
    exact = states.astype(float)
    np.testing.assert_allclose(s.mean(axis=0), probs[0] @ exact, atol=0.05)
    np.testing.assert_allclose(s.T @ s / len(s), (exact.T * probs[0]) @ exact, atol=0.05)


# --------------------------------------------------------- temperature
@pytest.mark.parametrize("beta", [0.5, 2.0])
def test_temperature_estimate_recovers_a_known_temperature(beta):
    """Exact Boltzmann samples (no embedding) of 200 random problems: MPL within 10% of 1 / beta."""
    batch = random_batch((4, 5), 200, np.random.default_rng(5), scale=0.5)
    out = make_solver("exact", {"beta": beta}).sample(batch, num_reads=20, seed=3)
    assert effective_temperature(batch, out.spins) == pytest.approx(1 / beta, rel=0.10)


def test_temperature_is_zero_at_local_minima_and_reported_by_the_solver():
    batch = random_batch((4, 5), 5, np.random.default_rng(6))
    out = make_solver("dimod", {"sampler": "dwave.samplers:SteepestDescentSolver"}).sample(
        batch, num_reads=4, seed=0
    )
    assert out.info["diagnostics"]["effective_temperature"] == 0.0
    hot = make_solver("neal").sample(batch, num_reads=50, schedule=AnnealSchedule.constant(1.0, 100), seed=0)
    assert hot.info["diagnostics"]["effective_temperature"] == pytest.approx(1.0, rel=0.25)
    quiet = make_solver("neal", {"estimate_temperature": False}).sample(batch, num_reads=2, seed=0)
    assert "diagnostics" not in quiet.info


def test_estimator_reports_per_phase_diagnostics():
    rng = np.random.default_rng(7)
    X = rng.random((40, 6))
    y = (X[:, 0] > 0.5).astype(int)
    clf = EqPropClassifier(
        (8,),
        solver="neal",
        solver_params={"num_sweeps": 20},
        max_iter=2,
        batch_size=20,
        skip_correct=False,
        random_state=0,
    ).fit(X, y)
    assert len(clf.solver_diagnostics_) == 2
    for epoch in clf.solver_diagnostics_:
        assert set(epoch) == {"free", "nudged"}
        for phase in epoch.values():
            assert np.isfinite(phase["effective_temperature"]) and phase["effective_temperature"] >= 0
    plain = EqPropClassifier((8,), max_iter=1, batch_size=20, random_state=0).fit(X, y)
    assert plain.solver_diagnostics_ == [{"free": {}, "nudged": {}}]


def test_models_with_a_sampler_instance_save_it_by_class(tmp_path):
    """A dimod sampler instance is saved as its class's import path and rebuilt without arguments."""
    from eqising import load_model, save_model

    rng = np.random.default_rng(8)
    X, y = rng.random((20, 4)), np.arange(20) % 2
    clf = EqPropClassifier(
        (4,), solver="dimod", solver_params={"sampler": dimod.ExactSolver()}, max_iter=1, random_state=0
    ).fit(X, y)
    meta = load_model(save_model(clf, tmp_path / "instance"))
    assert isinstance(meta.solver_.sampler, dimod.ExactSolver)
    np.testing.assert_array_equal(meta.predict(X), clf.predict(X))
    clf.set_params(solver_params={"sampler": "dimod:ExactSolver"}).fit(X, y)
    again = load_model(save_model(clf, tmp_path / "string"))
    np.testing.assert_array_equal(again.predict(X), clf.predict(X))
