"""Statistical tests: fixed-temperature samples follow the exact Boltzmann distribution.

At a constant inverse temperature the annealer's block heat-bath sweep is an
exact Gibbs sampler of ``exp(-beta E)``, so after a burn-in its reads must be
distributed as :func:`~eqising.solvers.boltzmann_distribution` says. Problems
have <= 12 spins (<= 4,096 states), so the histogram over every state is
compared with the exact probabilities by total-variation (TV) distance.

How the tolerance is set
------------------------
Even a perfect sampler gives a non-zero TV on a finite sample. For ``n``
independent draws from ``p``, the count of state ``k`` is Binomial(n, p_k), so
the expected TV is exactly

    E[TV] = 1/(2n) * sum_k E|X_k - n p_k|,

with de Moivre's closed form for the binomial mean absolute deviation (computed
below). It is close to ``sum_k sqrt(p_k (1 - p_k) / (2 pi n))`` and never above
the familiar ``sqrt(K / (2 pi n))`` for K states. Around that mean, TV is a
function of n independent draws that moves by at most 1/n when one draw
changes, so McDiarmid's inequality gives ``P(TV > E[TV] + t) <= exp(-2 n t^2)``.
With n = 100,000 and t = 0.01 that is exp(-20) ~ 2e-9: the tolerance
``E[TV] + 0.01`` fails a correct sampler essentially never, and it sits well
below the TV of the wrong distributions checked alongside (0.3 - 0.5 here).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from eqising.ising import IsingBatch
from eqising.solvers import AnnealSchedule, all_spin_states, boltzmann_distribution, make_solver

MCDIARMID_MARGIN = 0.01
N_COPIES = 200  # copies of each distinct problem in the batch
N_READS = 500  # reads per copy: 100,000 independent samples per problem
# Burn-in from random starts. Measured with 10**6 samples on the 4-4-3 problem at
# beta = 1: TV bias ~0.03 after 15 sweeps, ~0.001 after 30, none detectable at 50.
N_SWEEPS = 60
BETAS = [0.5, 1.0]


def random_problems(layer_sizes, n_distinct, seed, j_scale=0.5, h_scale=0.3) -> IsingBatch:
    rng = np.random.default_rng(seed)
    couplings = tuple(rng.normal(0.0, j_scale, size=(a, b)) for a, b in zip(layer_sizes, layer_sizes[1:]))
    fields = rng.normal(0.0, h_scale, size=(n_distinct, sum(layer_sizes)))
    return IsingBatch(tuple(layer_sizes), couplings, fields)


def state_index(spins: np.ndarray) -> np.ndarray:
    """Row index in ``all_spin_states`` of each state (bits most significant first, -1 -> 0)."""
    n = spins.shape[-1]
    return (spins > 0).astype(np.int64) @ (1 << np.arange(n - 1, -1, -1, dtype=np.int64))


def histogram(spins: np.ndarray) -> np.ndarray:
    """Empirical distribution over all 2**n states of samples of shape (..., n_spins)."""
    flat = spins.reshape(-1, spins.shape[-1])
    return np.bincount(state_index(flat), minlength=2 ** spins.shape[-1]) / len(flat)


def tv(p: np.ndarray, q: np.ndarray) -> float:
    return 0.5 * float(np.abs(p - q).sum())


def binomial_mean_abs_deviation(n: int, p: float) -> float:
    """E|X - n p| for X ~ Binomial(n, p) (de Moivre): 2 m C(n, m) p^m (1-p)^(n-m+1), m = floor(n p) + 1."""
    if p <= 0.0 or p >= 1.0:
        return 0.0
    m = math.floor(n * p) + 1
    log = (
        math.log(2 * m)
        + math.lgamma(n + 1) - math.lgamma(m + 1) - math.lgamma(n - m + 1)
        + m * math.log(p) + (n - m + 1) * math.log1p(-p)
    )
    return math.exp(log)


def expected_tv(p: np.ndarray, n: int) -> float:
    """Expected TV distance between ``p`` and the histogram of n independent draws from it."""
    return sum(binomial_mean_abs_deviation(n, float(pk)) for pk in p) / (2 * n)


def tolerance(p: np.ndarray, n: int) -> float:
    return expected_tv(p, n) + MCDIARMID_MARGIN


def test_expected_tv_formula_matches_multinomial_draws():
    """The tolerance's centre is right: exact multinomial samples average to expected_tv."""
    batch = random_problems((4, 4, 3), 1, seed=0)
    _, probs = boltzmann_distribution(batch, 1.0)
    p, n = probs[0], 20_000
    rng = np.random.default_rng(1)
    draws = [tv(rng.multinomial(n, p) / n, p) for _ in range(40)]
    # 40 draws: the standard error of the mean is ~ 0.002 / sqrt(40).
    assert np.mean(draws) == pytest.approx(expected_tv(p, n), abs=0.002)
    assert expected_tv(p, n) <= math.sqrt(len(p) / (2 * math.pi * n))


@pytest.mark.parametrize("beta", BETAS)
@pytest.mark.parametrize(
    "layer_sizes, n_distinct",
    [((4, 4, 3), 1), ((6, 6), 2)],
    ids=["4-4-3", "6-6-two-problems"],
)
def test_annealer_at_fixed_temperature_samples_boltzmann(layer_sizes, n_distinct, beta):
    problems = random_problems(layer_sizes, n_distinct, seed=2)
    # The same problem(s) many times in one batch: independent chains, one call.
    batch = IsingBatch(problems.layer_sizes, problems.couplings, np.repeat(problems.fields, N_COPIES, axis=0))
    out = make_solver("annealing").sample(
        batch, num_reads=N_READS, schedule=AnnealSchedule.constant(beta, N_SWEEPS), seed=3
    )
    _, exact = boltzmann_distribution(problems, beta)
    _, too_cold = boltzmann_distribution(problems, 2 * beta)
    n = N_COPIES * N_READS
    spins = out.spins.reshape(n_distinct, N_COPIES, N_READS, -1)
    for j in range(n_distinct):
        emp = histogram(spins[j])
        tol = tolerance(exact[j], n)
        assert tol < 0.1
        assert tv(emp, exact[j]) < tol, f"problem {j}: TV {tv(emp, exact[j]):.4f} >= tolerance {tol:.4f}"
        # The test can fail: the distribution at twice the inverse temperature is
        # far from these samples (and, for two problems, so is the other problem's).
        assert tv(emp, too_cold[j]) > 3 * tol
        if n_distinct > 1:
            assert tv(emp, exact[1 - j]) > 3 * tol


def test_too_short_burn_in_is_detected():
    """A single sweep from random starts is not yet in equilibrium; the TV check sees it."""
    problems = random_problems((6, 6), 1, seed=2)
    batch = IsingBatch(problems.layer_sizes, problems.couplings, np.repeat(problems.fields, N_COPIES, axis=0))
    one_sweep = AnnealSchedule.constant(1.0, 1)
    out = make_solver("annealing").sample(batch, num_reads=N_READS, schedule=one_sweep, seed=4)
    _, exact = boltzmann_distribution(problems, 1.0)
    assert tv(histogram(out.spins), exact[0]) > tolerance(exact[0], N_COPIES * N_READS) + 0.05


@pytest.mark.parametrize("beta", BETAS)
def test_exact_solver_samples_its_own_distribution(beta):
    problems = random_problems((4, 4, 3), 2, seed=5)
    n_copies, n_reads = 10, 10_000
    batch = IsingBatch(problems.layer_sizes, problems.couplings, np.repeat(problems.fields, n_copies, axis=0))
    out = make_solver("exact", {"beta": beta}).sample(batch, num_reads=n_reads, seed=6)
    _, exact = boltzmann_distribution(problems, beta)
    _, too_cold = boltzmann_distribution(problems, 2 * beta)
    spins = out.spins.reshape(2, n_copies, n_reads, -1)
    n = n_copies * n_reads
    for j in range(2):
        emp = histogram(spins[j])
        tol = tolerance(exact[j], n)
        assert tv(emp, exact[j]) < tol
        assert tv(emp, too_cold[j]) > 3 * tol


def test_boltzmann_distribution_is_normalised_and_ordered_by_energy():
    batch = random_problems((3, 3, 2), 3, seed=7)
    states, probs = boltzmann_distribution(batch, 0.8)
    np.testing.assert_array_equal(states, all_spin_states(batch.n_spins))
    assert probs.shape == (3, 2**8)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0)
    energies = batch.energies(np.broadcast_to(states, (3,) + states.shape))
    # p_k / p_0 = exp(-beta (E_k - E_0)) for every state.
    np.testing.assert_allclose(
        np.log(probs) - np.log(probs[:, :1]), -0.8 * (energies - energies[:, :1]), atol=1e-9
    )
    # beta = 0 is uniform; beta = None puts all mass on the ground state(s).
    _, flat = boltzmann_distribution(batch, 0.0)
    np.testing.assert_allclose(flat, 1.0 / 2**8)
    _, zero_t = boltzmann_distribution(batch, None)
    np.testing.assert_allclose(zero_t[np.arange(3), energies.argmin(axis=1)], 1.0)


def test_state_index_matches_all_spin_states():
    states = all_spin_states(7)
    np.testing.assert_array_equal(state_index(states), np.arange(2**7))
