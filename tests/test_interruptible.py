"""Long compiled anneals run in chunks of chains: bit-identical to one launch, and Ctrl-C stops them between chunks."""

from __future__ import annotations

import signal

import dimod
import numpy as np
import pytest

import eqising.solvers._chunks as chunks
import eqising.solvers.annealing as annealing
import eqising.solvers.ocean.anneal_sampler as anneal_sampler
from eqising.network import LayeredIsingNetwork
from eqising.solvers import AnnealingSampler, AnnealingSolver
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
