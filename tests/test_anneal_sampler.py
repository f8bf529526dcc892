"""AnnealingSampler: the dimod face of the compiled annealer.

Ocean conformance (dimod's generated BQM tests and API asserts), Boltzmann
statistics on a small general (non-layered, frustrated) problem, seeds and
threads, and the parameters.
"""

from __future__ import annotations

import unittest

import dimod
import dimod.testing
import numpy as np
import pytest

from conftest import assert_boltzmann, histogram, on_one_and_two_threads, state_index
from eqising._validation import InvalidParameterError
from eqising.solvers import AnnealingSampler


@dimod.testing.load_sampler_bqm_tests(AnnealingSampler)
class TestOceanConformance(unittest.TestCase):
    def test_sampler_api(self):
        dimod.testing.asserts.assert_sampler_api(AnnealingSampler())


def random_graph_bqm(n: int, p: float, seed: int) -> dimod.BinaryQuadraticModel:
    """A frustrated SPIN problem on a random (non-bipartite) graph with string labels."""
    rng = np.random.default_rng(seed)
    bqm = dimod.BinaryQuadraticModel("SPIN")
    for i in range(n):
        bqm.add_variable(f"v{i}", rng.normal(0.0, 0.3))
    for i in range(n):
        for j in range(i + 1, n):
            if rng.random() < p:
                bqm.add_interaction(f"v{i}", f"v{j}", rng.normal(0.0, 0.6))
    bqm.add_interaction("v0", "v1", 0.8)  # an antiferromagnetic triangle: frustration guaranteed
    bqm.add_interaction("v1", "v2", 0.8)
    bqm.add_interaction("v0", "v2", 0.8)
    return bqm


def exact_boltzmann(bqm: dimod.BinaryQuadraticModel, beta: float, labels) -> np.ndarray:
    """Probabilities of every state, indexed like ``state_index`` over ``labels``."""
    n = len(labels)
    states = 1 - 2 * ((np.arange(2**n)[:, None] >> np.arange(n - 1, -1, -1)) & 1)  # bit 1 -> -1
    states = -states  # bit 1 -> +1, as state_index counts
    e = bqm.energies((states, labels))
    w = np.exp(-beta * (e - e.min()))
    p = np.empty(2**n)
    p[state_index(states)] = w / w.sum()
    return p


@pytest.mark.parametrize("criterion", ["Metropolis", "Gibbs"])
def test_constant_temperature_samples_boltzmann_on_a_general_graph(criterion):
    bqm = random_graph_bqm(9, 0.4, seed=0)
    beta, n = 1.0, 100_000
    ss = AnnealingSampler().sample(
        bqm, num_reads=n, num_sweeps=60, beta_range=(beta, beta), proposal_acceptance_criteria=criterion, seed=1
    )
    labels = list(ss.variables)
    exact = exact_boltzmann(bqm, beta, labels)
    emp = histogram(ss.record.sample)
    # ... and the check can fail: the distribution at twice the inverse temperature is far away.
    assert_boltzmann(emp, exact, n, unlike=[exact_boltzmann(bqm, 2 * beta, labels)])


def test_same_seed_same_samples_whatever_the_threads():
    bqm = random_graph_bqm(30, 0.2, seed=2)
    sampler = AnnealingSampler()
    one, two = on_one_and_two_threads(lambda: sampler.sample(bqm, num_reads=16, num_sweeps=50, seed=5))
    np.testing.assert_array_equal(one.record.sample, two.record.sample)
    other = sampler.sample(bqm, num_reads=16, num_sweeps=50, seed=6)
    assert not np.array_equal(one.record.sample, other.record.sample)


def test_finds_ground_state_and_energies_come_from_the_bqm():
    bqm = random_graph_bqm(12, 0.5, seed=3)
    ground = dimod.ExactSolver().sample(bqm).first.energy
    ss = AnnealingSampler().sample(bqm, num_reads=10, num_sweeps=500, seed=0)
    assert ss.first.energy == pytest.approx(ground)
    np.testing.assert_allclose(ss.record.energy, bqm.energies(ss))


def test_binary_bqm_and_initial_states():
    bqm = dimod.BinaryQuadraticModel({"x": -1.0, "y": 0.5}, {("x", "y"): 2.0}, 0.3, "BINARY")
    ss = AnnealingSampler().sample(bqm, num_reads=5, num_sweeps=200, seed=0)
    assert ss.vartype is dimod.BINARY and set(np.unique(ss.record.sample)) <= {0, 1}
    assert ss.first.sample == {"x": 1, "y": 0}
    # zero sweeps return the initial states unchanged
    start = [{"x": 0, "y": 1}, {"x": 1, "y": 1}]
    ss = AnnealingSampler().sample(bqm, num_sweeps=0, initial_states=start, seed=0)
    assert [dict(s) for s in ss.samples()] == start


def test_linear_schedule_and_info():
    bqm = random_graph_bqm(6, 0.5, seed=4)
    ss = AnnealingSampler().sample(bqm, num_reads=3, num_sweeps=20, beta_range=(0.1, 3.0), beta_schedule_type="linear")
    assert ss.info["beta_range"] == (0.1, 3.0)
    assert ss.info["beta_schedule_type"] == "linear"
    assert ss.info["spin_updates"] == 3 * 6 * 20


@pytest.mark.parametrize(
    "kwargs, name",
    [
        ({"num_reads": 0}, "num_reads"),
        ({"num_sweeps": -1}, "num_sweeps"),
        ({"beta_range": (2.0, 1.0)}, "beta_range"),
        ({"beta_schedule_type": "custom"}, "beta_schedule_type"),
        ({"proposal_acceptance_criteria": "metro"}, "proposal_acceptance_criteria"),
        ({"seed": -3}, "seed"),
        ({"num_sweps": 10}, "num_sweps"),
    ],
)
def test_bad_parameters(kwargs, name):
    bqm = dimod.BinaryQuadraticModel({"a": 1.0}, {}, 0.0, "SPIN")
    with pytest.raises(InvalidParameterError, match=f"The '{name}' parameter of AnnealingSampler.sample"):
        AnnealingSampler().sample(bqm, **kwargs)


@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
@pytest.mark.parametrize("beta_range", [None, (0.1, 1.0)])
def test_non_finite_biases_are_refused(bad, beta_range):
    for bqm in (dimod.BinaryQuadraticModel({"a": bad, "b": 0.0}, {}, 0.0, "SPIN"),
                dimod.BinaryQuadraticModel({"a": 0.0, "b": 0.0}, {("a", "b"): bad}, 0.0, "SPIN")):
        with pytest.raises(InvalidParameterError, match="The 'bqm' parameter of AnnealingSampler.sample"):
            AnnealingSampler().sample(bqm, beta_range=beta_range, seed=0)
