"""Statistical tests: fixed-temperature samples follow the exact Boltzmann distribution.

At a constant inverse temperature the annealer's block heat-bath sweep is an
exact Gibbs sampler of ``exp(-beta E)``, so after a burn-in its reads must be
distributed as :func:`~eqising.solvers.boltzmann_distribution` says. Problems
have <= 12 spins (<= 4,096 states), so the histogram over every state is
compared with the exact probabilities by total-variation (TV) distance.

The tolerance (expected TV of a perfect sampler plus a McDiarmid margin) and
the helpers are in conftest.py, shared with the other samplers' histogram tests.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from conftest import (
    N_COPIES,
    N_READS,
    N_SWEEPS,
    assert_boltzmann,
    expected_tv,
    histogram,
    random_problems,
    repeated,
    state_index,
    tolerance,
    tv,
)
from eqising.solvers import AnnealSchedule, all_spin_states, boltzmann_distribution, make_solver

BETAS = [0.5, 1.0]


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
    batch = repeated(problems, N_COPIES)
    out = make_solver("annealing").sample(
        batch, num_reads=N_READS, schedule=AnnealSchedule.constant(beta, N_SWEEPS), seed=3
    )
    _, exact = boltzmann_distribution(problems, beta)
    _, too_cold = boltzmann_distribution(problems, 2 * beta)
    n = N_COPIES * N_READS
    spins = out.spins.reshape(n_distinct, N_COPIES, N_READS, -1)
    for j in range(n_distinct):
        emp = histogram(spins[j])
        # The test can fail: the distribution at twice the inverse temperature is
        # far from these samples (and, for two problems, so is the other problem's).
        unlike = [too_cold[j], exact[1 - j]] if n_distinct > 1 else [too_cold[j]]
        assert assert_boltzmann(emp, exact[j], n, unlike=unlike) < 0.1


def test_too_short_burn_in_is_detected():
    """A single sweep from random starts is not yet in equilibrium; the TV check sees it."""
    problems = random_problems((6, 6), 1, seed=2)
    batch = repeated(problems, N_COPIES)
    one_sweep = AnnealSchedule.constant(1.0, 1)
    out = make_solver("annealing").sample(batch, num_reads=N_READS, schedule=one_sweep, seed=4)
    _, exact = boltzmann_distribution(problems, 1.0)
    assert tv(histogram(out.spins), exact[0]) > tolerance(exact[0], N_COPIES * N_READS) + 0.05


@pytest.mark.parametrize("beta", BETAS)
def test_exact_solver_samples_its_own_distribution(beta):
    problems = random_problems((4, 4, 3), 2, seed=5)
    n_copies, n_reads = 10, 10_000
    batch = repeated(problems, n_copies)
    out = make_solver("exact", {"beta": beta}).sample(batch, num_reads=n_reads, seed=6)
    _, exact = boltzmann_distribution(problems, beta)
    _, too_cold = boltzmann_distribution(problems, 2 * beta)
    spins = out.spins.reshape(2, n_copies, n_reads, -1)
    n = n_copies * n_reads
    for j in range(2):
        emp = histogram(spins[j])
        assert_boltzmann(emp, exact[j], n, unlike=[too_cold[j]])


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
