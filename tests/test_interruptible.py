"""Long compiled anneals run in chunks of chains and of sweeps: bit-identical to one launch, and Ctrl-C stops them
between chunks."""

from __future__ import annotations

import signal

import dimod
import numpy as np
import pytest

import eqising.solvers._chunks as chunks
import eqising.solvers.annealing as annealing
import eqising.solvers.ocean.anneal_sampler as anneal_sampler
from eqising.ising import IsingBatch
from eqising.network import LayeredIsingNetwork
from eqising.solvers import AnnealingSampler, AnnealingSolver
from eqising.solvers._kernels import FIELD_REFRESH_SWEEPS as K
from eqising.solvers.schedule import AnnealSchedule


@pytest.fixture(autouse=True)
def one_thread_per_chunk(monkeypatch):
    """Chunk sizes below do not depend on this machine's core count."""
    monkeypatch.setattr(chunks, "_threads", lambda: 1)


@pytest.fixture
def batch():
    rng = np.random.default_rng(0)
    net = LayeredIsingNetwork.initialize((10, 12, 8), rng)
    return net.ising_batch(rng.random((9, 10)))


def _count_launches(monkeypatch, module, name, *, interrupt_after=None):
    real = getattr(module, name)
    calls = []

    def launch(*args):
        calls.append(1)
        real(*args)
        if interrupt_after is not None and len(calls) == interrupt_after:
            signal.raise_signal(signal.SIGINT)  # what Ctrl-C does: Python raises once bytecode runs again

    monkeypatch.setattr(module, name, launch)
    return calls


@pytest.mark.parametrize("update", ["heat-bath", "metropolis"])
@pytest.mark.parametrize("schedule", [None, AnnealSchedule("reverse")], ids=["forward", "reverse"])
def test_chunked_layered_anneal_is_bit_identical(batch, monkeypatch, update, schedule):
    solver = AnnealingSolver(num_sweeps=30, greedy_sweeps=3, update=update)
    start = np.where(np.random.default_rng(1).random((9, 3, batch.n_spins)) < 0.5, -1, 1).astype(np.int8)
    kwargs = {"num_reads": 3, "seed": 11, "schedule": schedule,
              "initial_states": start if schedule is not None else None}
    whole = solver.sample(batch, **kwargs)
    monkeypatch.setattr(chunks, "CHUNK_SPIN_UPDATES", 3 * batch.n_spins * 40)  # about two problems a launch
    calls = _count_launches(monkeypatch, annealing, "anneal_layered")
    chunked = solver.sample(batch, **kwargs)
    assert len(calls) >= 4
    np.testing.assert_array_equal(whole.spins, chunked.spins)
    np.testing.assert_array_equal(whole.energies, chunked.energies)
    drop = {"solver_seconds"}
    assert {k: v for k, v in whole.info.items() if k not in drop} == {k: v for k, v in chunked.info.items() if k not in drop}


def test_chunked_sparse_anneal_is_bit_identical(monkeypatch):
    bqm = dimod.generators.ran_r(1, 12, seed=3)
    whole = AnnealingSampler().sample(bqm, num_reads=20, num_sweeps=50, seed=4)
    monkeypatch.setattr(chunks, "CHUNK_SPIN_UPDATES", 12 * 50 * 3)
    calls = _count_launches(monkeypatch, anneal_sampler, "anneal_sparse")
    chunked = AnnealingSampler().sample(bqm, num_reads=20, num_sweeps=50, seed=4)
    assert len(calls) == 7
    np.testing.assert_array_equal(whole.record.sample, chunked.record.sample)


def test_short_anneals_are_one_launch(batch, monkeypatch):
    calls = _count_launches(monkeypatch, annealing, "anneal_layered")
    AnnealingSolver(num_sweeps=50).sample(batch, num_reads=10, seed=0)
    assert len(calls) == 1


def test_ctrl_c_stops_a_long_anneal_between_chunks(batch, monkeypatch):
    monkeypatch.setattr(chunks, "CHUNK_SPIN_UPDATES", 2 * batch.n_spins * 30)  # one problem a launch
    calls = _count_launches(monkeypatch, annealing, "anneal_layered", interrupt_after=2)
    with pytest.raises(KeyboardInterrupt):
        AnnealingSolver(num_sweeps=30).sample(batch, num_reads=2, seed=0)
    assert len(calls) == 2  # the remaining seven problems were never launched
    AnnealingSolver(num_sweeps=30).sample(batch, num_reads=2, seed=0)  # the kernel lock was released


def test_chunks_keep_every_thread_busy(monkeypatch):
    monkeypatch.setattr(chunks, "_threads", lambda: 16)
    ranges = chunks.chain_chunks(100, chunks.CHUNK_SPIN_UPDATES * 10, chains_per_group=3)  # each group > a chunk
    assert all(b - a >= 6 for a, b in ranges[:-1])  # 6 groups x 3 chains >= 16 threads


def test_chain_chunks_cover_every_chain_once():
    for n, work in [(0, 5), (1, 10**12), (7, 1), (1000, 2**20), (5, 2**26)]:
        ranges = chunks.chain_chunks(n, work)
        covered = [i for a, b in ranges for i in range(a, b)]
        assert covered == list(range(n))


def _knife_edge_values(dtype):
    """Couplings ``+-a, +-b, +-(a + b)``: many local fields are zero or one rounding error from it."""
    a, b = dtype(0.1), dtype(0.2)
    return np.array([a, b, a + b, -a, -b, -(a + b)], dtype=dtype).astype(np.float64)


@pytest.fixture
def one_problem():
    """One layered problem whose anneal at a huge beta follows the last bits of its local fields.

    With zero fields, a local field that is exactly 0 gives a random update and one a rounding error
    away a sure one, so any change in how the fields are summed changes the samples: what a test of
    bit-identical chunking needs.
    """
    sizes = (20, 24, 16)
    rng = np.random.default_rng(2)
    couplings = tuple(rng.choice(_knife_edge_values(np.float32), size=(a, b)) for a, b in zip(sizes[:-1], sizes[1:]))
    return IsingBatch(sizes, couplings, np.zeros((1, sum(sizes))))


@pytest.mark.parametrize("update", ["heat-bath", "metropolis"])
@pytest.mark.parametrize("schedule", [None, AnnealSchedule("reverse")], ids=["forward", "reverse"])
def test_one_long_chain_split_by_sweeps_is_bit_identical(one_problem, monkeypatch, update, schedule):
    one, rng = one_problem, np.random.default_rng(3)
    solver = AnnealingSolver(num_sweeps=3 * K + 37, greedy_sweeps=4, update=update, beta_range=(1e9, 1e12))
    start = np.where(rng.random((1, 8, one.n_spins)) < 0.5, -1, 1).astype(np.int8)
    kwargs = {"num_reads": 8, "seed": 5, "schedule": schedule, "initial_states": start if schedule is not None else None}
    calls = _count_launches(monkeypatch, annealing, "anneal_layered")
    whole = solver.sample(one, **kwargs)
    assert len(calls) == 1
    monkeypatch.setattr(chunks, "CHUNK_SPIN_UPDATES", 8 * one.n_spins * K)  # one refresh period a launch
    chunked = solver.sample(one, **kwargs)
    assert len(calls) - 1 >= 4
    np.testing.assert_array_equal(whole.spins, chunked.spins)
    drop = {"solver_seconds"}
    assert {k: v for k, v in whole.info.items() if k not in drop} == {k: v for k, v in chunked.info.items() if k not in drop}


@pytest.mark.parametrize("criterion", ["Metropolis", "Gibbs"])
def test_one_long_sparse_read_split_by_sweeps_is_bit_identical(monkeypatch, criterion):
    rng = np.random.default_rng(2)  # a knife-edge problem, as one_problem (float64 fields here)
    n = 40
    pairs = [(i, j) for i in range(n) for j in range(i + 1, n) if rng.random() < 0.3]
    bqm = dimod.BinaryQuadraticModel({i: 0.0 for i in range(n)},
                                     dict(zip(pairs, rng.choice(_knife_edge_values(np.float64), len(pairs)))), 0, "SPIN")
    kwargs = {"num_reads": 4, "num_sweeps": 3 * K + 5, "seed": 8, "proposal_acceptance_criteria": criterion,
              "beta_range": (1e18, 1e20)}
    whole = AnnealingSampler().sample(bqm, **kwargs)
    monkeypatch.setattr(chunks, "CHUNK_SPIN_UPDATES", n * K)  # one read, one refresh period a launch
    calls = _count_launches(monkeypatch, anneal_sampler, "anneal_sparse")
    chunked = AnnealingSampler().sample(bqm, **kwargs)
    assert len(calls) == 4 * 4  # 3 * K + 5 sweeps: four launches a read
    np.testing.assert_array_equal(whole.record.sample, chunked.record.sample)


def test_ctrl_c_stops_one_long_chain_between_sweep_chunks(one_problem, monkeypatch):
    one = one_problem
    monkeypatch.setattr(chunks, "CHUNK_SPIN_UPDATES", one.n_spins * K)  # one refresh period a launch
    calls = _count_launches(monkeypatch, annealing, "anneal_layered", interrupt_after=2)
    with pytest.raises(KeyboardInterrupt):
        AnnealingSolver(num_sweeps=6 * K).sample(one, num_reads=1, seed=0)
    assert len(calls) == 2  # four of the six chunks of sweeps were never launched


def test_sweep_chunks_start_at_refresh_sweeps_and_end_with_the_greedy_sweeps(monkeypatch):
    monkeypatch.setattr(chunks, "CHUNK_SPIN_UPDATES", 10 * 2 * K + 7)
    assert chunks.sweep_chunks(5 * K + 3, 10, greedy_sweeps=4) == [(0, 2 * K), (2 * K, 4 * K), (4 * K, 5 * K + 7)]
    assert chunks.sweep_chunks(10, 10**12, greedy_sweeps=2) == [(0, 12)]  # never shorter than one period
    assert chunks.sweep_chunks(0, 10, greedy_sweeps=3) == [(0, 3)]
    assert chunks.sweep_chunks(0, 10) == [(0, 0)]


def test_ctrl_c_while_the_compiled_training_step_runs_is_a_keyboard_interrupt():
    """A Ctrl-C that comes while the fused step's kernel runs is raised once it returns, as KeyboardInterrupt.

    (A compiled call that returns a tuple holding an array runs Python code to box it before the call is
    over; a Ctrl-C pending from the kernel's run is raised inside that code and reaches the caller as a
    SystemError, which ``eqising train`` did not recognise as an interrupt.)
    """
    import os
    import subprocess
    import sys

    rng = np.random.default_rng(0)
    net = LayeredIsingNetwork.initialize((64, 120, 40), rng)
    X = rng.random((32, 64))
    targets = np.where(rng.random((32, 40)) < 0.1, 1.0, -1.0)
    step = AnnealingSolver(num_sweeps=50).fused_eqprop(net, nudge=1.0, mode="positive", num_reads=1,
                                                       skip_correct=False)
    step.step(X, targets, seed=0)  # compiled and loaded
    long = AnnealingSolver(num_sweeps=60_000).fused_eqprop(net, nudge=1.0, mode="positive", num_reads=1,
                                                           skip_correct=False)  # about a second here
    sender = subprocess.Popen([sys.executable, "-c", "import os, signal, sys, time; time.sleep(0.1); "
                               "os.kill(int(sys.argv[1]), signal.SIGINT)", str(os.getpid())])
    try:
        with pytest.raises(KeyboardInterrupt) as raised:
            long.step(X, targets, seed=1)
    finally:
        sender.wait()
    assert any("annealing_step" in str(entry.path) for entry in raised.traceback)
