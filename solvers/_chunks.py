"""Long compiled anneals launched in chunks of chains, so that Ctrl-C is seen between chunks.

A numba kernel does not return to Python until it is done, and Python raises
:class:`KeyboardInterrupt` only when it runs bytecode again. So a long anneal
is split into launches over consecutive groups of chains (the problems of a
layered batch, the reads of a sparse problem), each about
:data:`CHUNK_SPIN_UPDATES` single-spin updates. Every chain runs on its own
random stream from its own start state, so a chunked anneal is bit-identical
to one launch. Short anneals (every training step at the default sizes) are
one launch, as before.

One chain longer than a chunk is still one launch: splitting its sweeps
would restart the kernel's incrementally maintained local fields, which is
not bit-identical in float arithmetic.

(``numba.config.NUMBA_NUM_THREADS`` is read, not ``numba.get_num_threads()``,
which would start numba's threads before :mod:`._kernels` picks their layer.)
"""

from __future__ import annotations

import numba

__all__ = ["CHUNK_SPIN_UPDATES", "chain_chunks"]

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
