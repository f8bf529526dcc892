"""Long compiled anneals launched in chunks of chains, so that Ctrl-C is seen between chunks.

A numba kernel does not return to Python until it is done, and Python raises
:class:`KeyboardInterrupt` only when it runs bytecode again. So a long anneal
is split into launches over consecutive groups of chains (the problems of a
layered batch, the reads of a sparse problem), each about
:data:`CHUNK_SPIN_UPDATES` single-spin updates. Every chain runs on its own
random stream from its own start state, so a chunked anneal is bit-identical
to one launch. Short anneals (every training step at the default sizes) are
one launch, as before.

A group of chains longer than a chunk (few problems, very many sweeps) is
also split by sweeps (:func:`sweep_chunks`): the kernels recompute their
local fields from scratch at every multiple of
:data:`~._kernels.FIELD_REFRESH_SWEEPS` sweeps, so a launch that starts at
such a sweep with the spins and random streams the previous launch left
continues it bit for bit. Greedy sweeps after the schedule stay in the last
launch (a chain stops there once a sweep changes nothing).

(``numba.config.NUMBA_NUM_THREADS`` is read, not ``numba.get_num_threads()``,
which would start numba's threads before :mod:`._kernels` picks their layer.)
"""

from __future__ import annotations

import numba

from ._kernels import FIELD_REFRESH_SWEEPS

__all__ = ["CHUNK_SPIN_UPDATES", "chain_chunks", "sweep_chunks"]

#: Single-spin updates of one launch of a chunked anneal (about 0.1-0.5 s on one core).
CHUNK_SPIN_UPDATES = 2**27


def _threads() -> int:
    return int(numba.config.NUMBA_NUM_THREADS)


def chain_chunks(n_groups: int, updates_per_group: int, chains_per_group: int = 1) -> list[tuple[int, int]]:
    """``[(start, stop), ...]`` over ``n_groups`` groups of chains, each about :data:`CHUNK_SPIN_UPDATES` updates.

    One ``(0, n_groups)`` range when the whole anneal is at most one chunk.
    A chunk never holds fewer chains than numba has threads (when there
    are that many), so chunking never leaves cores idle.
    """
    per = max(1, CHUNK_SPIN_UPDATES // max(1, int(updates_per_group)))
    per = max(per, -(-_threads() // max(1, int(chains_per_group))))
    return [(start, min(start + per, n_groups)) for start in range(0, n_groups, per)] or [(0, 0)]


def sweep_chunks(n_sweeps: int, updates_per_sweep: int, greedy_sweeps: int = 0) -> list[tuple[int, int]]:
    """``[(first, last), ...]`` over sweeps ``0 .. n_sweeps + greedy_sweeps - 1``, each about :data:`CHUNK_SPIN_UPDATES`.

    Every ``first`` is a multiple of :data:`~._kernels.FIELD_REFRESH_SWEEPS`
    (a launch is at least that many sweeps); the greedy sweeps go with the
    last range. One range when the whole anneal is at most one chunk.
    """
    per = CHUNK_SPIN_UPDATES // max(1, int(updates_per_sweep))
    per = max(FIELD_REFRESH_SWEEPS, per // FIELD_REFRESH_SWEEPS * FIELD_REFRESH_SWEEPS)
    ranges = [(first, min(first + per, n_sweeps)) for first in range(0, n_sweeps, per)] or [(0, 0)]
    ranges[-1] = (ranges[-1][0], n_sweeps + greedy_sweeps)
    return ranges
