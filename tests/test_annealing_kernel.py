"""The compiled layered annealer beyond the shared contract: threads, greedy descent, speed-independent facts."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import (
    N_COPIES,
    N_READS,
    N_SWEEPS,
    assert_boltzmann,
    histogram,
    on_one_and_two_threads,
    random_problems,
    random_spins,
    repeated,
)
from eqising.ising import IsingBatch
from eqising.solvers import AnnealingSolver, AnnealSchedule


def mnist_shaped_batch(n_problems: int, seed: int) -> IsingBatch:
    """120-40 spins (a 784-120-40 network with its inputs clamped), fields up to +-4."""
    rng = np.random.default_rng(seed)
    couplings = (rng.uniform(-1.0, 1.0, size=(120, 40)),)
    fields = np.concatenate([rng.uniform(-4, 4, size=(n_problems, 120)), rng.uniform(-1, 1, size=(n_problems, 40))], 1)
    return IsingBatch((120, 40), couplings, fields)


@pytest.mark.parametrize("kind", ["forward", "reverse"])
def test_same_seed_same_samples_whatever_the_threads(kind):
    batch = mnist_shaped_batch(12, 0)
    rng = np.random.default_rng(1)
    init = random_spins((12, 5, 160), rng) if kind == "reverse" else None
    sched = AnnealSchedule(kind, num_sweeps=30)
    solver = AnnealingSolver(greedy_sweeps=3)
    one, two = on_one_and_two_threads(
        lambda: solver.sample(batch, num_reads=5, schedule=sched, initial_states=init, seed=7)
    )
    np.testing.assert_array_equal(one.spins, two.spins)
    assert one.info["spin_updates"] == two.info["spin_updates"]
    assert not np.array_equal(one.spins, solver.sample(batch, num_reads=5, schedule=sched, initial_states=init, seed=8).spins)


def test_greedy_sweeps_end_in_a_local_minimum():
    """After the zero-temperature descent no single flip lowers the energy; without it, some do."""
    batch = mnist_shaped_batch(20, 2)
    hot = AnnealSchedule(num_sweeps=5, beta_range=(0.01, 0.05))  # a hot, short anneal: far from any minimum
    plain = AnnealingSolver().sample(batch, num_reads=4, schedule=hot, seed=3)
    greedy = AnnealingSolver(greedy_sweeps=100).sample(batch, num_reads=4, schedule=hot, seed=3)

    def aligned(samples):
        return np.all(samples.spins * batch.local_fields(samples.spins) >= 0, axis=-1)

    assert not aligned(plain).any()
    assert aligned(greedy).all()
    assert np.all(greedy.energies.mean(axis=1) < plain.energies.mean(axis=1))
    # the descent stops early: far fewer than 100 extra sweeps per chain were run
    extra = greedy.info["spin_updates"] - plain.info["spin_updates"]
    assert 0 < extra < 20 * 4 * 160 * 20


def test_default_anneal_beats_a_random_state_by_far_on_mnist_shaped_problems():
    batch = mnist_shaped_batch(8, 4)
    out = AnnealingSolver(num_sweeps=100).sample(batch, num_reads=4, seed=0)
    random = np.random.default_rng(5).choice(np.array([-1, 1], dtype=np.int8), size=out.spins.shape)
    assert out.energies.mean() < 3 * batch.energies(random).mean() - 100
    np.testing.assert_allclose(out.energies, batch.energies(out.spins))


@pytest.mark.parametrize("beta", [0.5, 1.0])
def test_block_metropolis_at_fixed_temperature_samples_boltzmann(beta):
    """The Metropolis variant of the layer update leaves exp(-beta E) invariant too (TV check of test_boltzmann)."""
    from eqising.solvers import boltzmann_distribution

    problems = random_problems((4, 4, 3), 1, seed=2)
    batch = repeated(problems, N_COPIES)
    out = AnnealingSolver(update="metropolis").sample(
        batch, num_reads=N_READS, schedule=AnnealSchedule.constant(beta, N_SWEEPS), seed=3
    )
    _, exact = boltzmann_distribution(problems, beta)
    _, too_cold = boltzmann_distribution(problems, 2 * beta)
    emp = histogram(out.spins)
    assert_boltzmann(emp, exact[0], N_COPIES * N_READS, unlike=[too_cold[0]])


def test_bad_update_name():
    from eqising._validation import InvalidParameterError

    with pytest.raises(InvalidParameterError, match="'update' parameter of solver 'annealing'"):
        AnnealingSolver(update="gibbs")


def test_calls_from_several_python_threads_are_safe_and_reproducible():
    """The workqueue threading layer is not re-entrant; the kernel lock serialises concurrent calls."""
    from concurrent.futures import ThreadPoolExecutor

    batch = mnist_shaped_batch(6, 6)
    solver = AnnealingSolver(num_sweeps=20)
    expected = solver.sample(batch, num_reads=3, seed=11).spins
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda _: solver.sample(batch, num_reads=3, seed=11).spins, range(8)))
    for spins in results:
        np.testing.assert_array_equal(spins, expected)


def test_next_task_hands_every_task_out_once():
    """Workers taking tasks from one counter in a parallel region (the fused step's examples) get each once."""
    import numba

    from eqising.solvers._tasks import next_task

    @numba.njit(parallel=True)
    def take_all(n_tasks, n_workers):
        counter = np.zeros(1, dtype=np.int64)
        taken = np.zeros(n_tasks, dtype=np.int64)
        per_worker = np.zeros(n_workers, dtype=np.int64)
        for worker in numba.prange(n_workers):
            while True:
                task = next_task(counter)
                if task >= n_tasks:
                    break
                taken[task] += 1
                per_worker[worker] += 1
        return taken, per_worker

    for n_tasks, n_workers in [(20_000, 2), (20_000, 7), (3, 5), (0, 2)]:
        taken, per_worker = take_all(n_tasks, n_workers)
        assert np.all(taken == 1)
        assert per_worker.sum() == n_tasks

    @numba.njit
    def on_floats(a):
        return next_task(a)

    with pytest.raises(numba.core.errors.TypingError):
        on_floats(np.zeros(1))
