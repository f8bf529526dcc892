"""The compiled core of :class:`~eqising.solvers.ocean.dwave_mock.AnnealEmulator`.

One call anneals every read of every copy of a programmed problem: the copies
are disjoint blocks of qubits (the parallel embeddings of one QPU call), each
read of each copy is one independent task, and tasks run in parallel
(``numba.prange``). A task draws its random numbers from its own SplitMix64
stream, seeded from the copy's seed and the read index, so a copy's reads do
not depend on the other copies of the call, on their number or on threads.

Layout (all indices are positions in the call's qubit order, copy after copy):

- ``qptr`` (n_copies + 1): copy ``c`` holds qubits ``qptr[c]:qptr[c+1]``, swept
  in that order;
- ``h`` (n_qubits), CSR ``indptr``/``nbr``/``J``: fields and couplings (dimod
  sign), neighbours of every qubit sorted by position;
- ``chain_qubits`` / ``chain_ptr``: the qubits of every chain, chain after chain;
  copy ``c`` owns chains ``cptr[c]:cptr[c+1]``; ``chain_of`` (n_qubits) is each
  qubit's chain, and ``inner_ptr``/``inner_entries`` (:func:`chain_entries`) list
  each qubit's CSR entries inside its own chain, so that a chain move sums its
  in-chain couplings without scanning the qubits' full rows.
"""

from __future__ import annotations

import functools
from typing import Any

import numba
import numpy as np

__all__ = ["anneal_copies", "chain_entries", "read_seeds"]

_GAMMA = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_S30, _S27, _S31, _S11 = np.uint64(30), np.uint64(27), np.uint64(31), np.uint64(11)
_UNIT = 1.0 / 9007199254740992.0  # 2**-53
#: A flip costing more than this many units of 1/beta is never accepted (exp(-40) ~ 4e-18 < 2**-53 steps).
_NEVER = 40.0


def read_seeds(copy_seeds: np.ndarray, n_reads: int) -> np.ndarray:
    """Starting SplitMix64 state of every (copy, read) task.

    Parameters
    ----------
    copy_seeds : ndarray of shape (n_copies,), dtype uint64
    n_reads : int

    Returns
    -------
    ndarray of shape (n_copies, n_reads), dtype uint64
        SplitMix64's finaliser of ``seed_c + (r + 1) * gamma``: a function of the
        copy's seed and the read index only.
    """
    with np.errstate(over="ignore"):
        z = np.asarray(copy_seeds, dtype=np.uint64)[:, None] + (
            np.arange(1, n_reads + 1, dtype=np.uint64) * _GAMMA
        )[None, :]
        z = (z ^ (z >> _S30)) * _M1
        z = (z ^ (z >> _S27)) * _M2
        return z ^ (z >> _S31)


#: Bins per unit of ``beta * delta`` of the bounds below.
_BINS = 8


def _exp_bounds() -> tuple[np.ndarray, np.ndarray]:
    """Bounds of ``exp(-c)`` on every bin ``[k, k + 1) / _BINS`` of ``[0, _NEVER]``.

    ``upper[k] > exp(-c) > lower[k]`` for every ``c`` of bin ``k``, with a relative
    margin of 1e-12 (far above the rounding of ``np.exp``, which is within an ulp),
    so that ``u >= upper[k]`` rejects and ``u < lower[k]`` accepts exactly as
    ``u < np.exp(-c)`` does, and ``np.exp`` runs only for draws between the two.
    """
    k = np.arange(int(_NEVER * _BINS) + 2, dtype=np.float64)
    return np.exp(-k / _BINS) * (1 + 1e-12), np.exp(-(k + 1) / _BINS) * (1 - 1e-12)


_EXP_UPPER, _EXP_LOWER = _exp_bounds()


@numba.njit(inline="always")
def _accepts(u, cost):
    """``u < np.exp(-cost)`` for ``0 <= cost <= _NEVER``, mostly without computing the exponential."""
    k = int(cost * _BINS)  # exact: _BINS is a power of two
    if u >= _EXP_UPPER[k]:
        return False
    if u < _EXP_LOWER[k]:
        return True
    return u < np.exp(-cost)


@numba.njit(inline="always")
def _uniform(x):
    """SplitMix64 step: (new state, uniform float in [0, 1))."""
    x = x + _GAMMA
    z = (x ^ (x >> _S30)) * _M1
    z = (z ^ (z >> _S27)) * _M2
    z = z ^ (z >> _S31)
    return x, float(z >> _S11) * _UNIT


def _anneal_copies_py(
    states,
    randomize,
    h,
    indptr,
    nbr,
    J,
    qptr,
    chain_qubits,
    chain_ptr,
    cptr,
    inner_ptr,
    inner_entries,
    betas,
    moves,
    starts,
):
    """Metropolis sweeps over ``betas`` for every (copy, read); whole-chain flips every ``moves`` sweeps.

    ``states`` (int8, (n_reads, n_qubits)) is updated in place; with ``randomize``
    every read first draws a uniformly random state.
    ``inner_entries[inner_ptr[q]:inner_ptr[q+1]]`` are the CSR entries of qubit
    ``q`` whose neighbour is in ``q``'s chain, in CSR order.
    ``starts`` (uint64, (n_copies, n_reads)) seeds the tasks' streams.
    """
    n_reads = states.shape[0]
    n_copies = qptr.shape[0] - 1
    for task in numba.prange(n_copies * n_reads):
        c = task // n_reads
        r = task - c * n_reads
        x = starts[c, r]
        s = states[r]
        lo, hi = qptr[c], qptr[c + 1]
        if randomize:
            for q in range(lo, hi):
                x, u = _uniform(x)
                s[q] = 1 if u < 0.5 else -1
        # local fields f_q = h_q + sum_j J_qj s_j of the copy's qubits, kept up to date on every flip
        f = np.empty(hi - lo)
        for q in range(lo, hi):
            acc = h[q]
            for e in range(indptr[q], indptr[q + 1]):
                acc += J[e] * s[nbr[e]]
            f[q - lo] = acc
        for k in range(betas.shape[0]):
            beta = betas[k]
            for q in range(lo, hi):
                delta = -2.0 * s[q] * f[q - lo]
                if delta > 0.0:
                    cost = beta * delta
                    if cost > _NEVER:
                        continue
                    x, u = _uniform(x)
                    if not _accepts(u, cost):
                        continue
                # flip; f_j += 2 J_qj s_q (new s_q) is f_j -+ 2 J_qj exactly
                if s[q] > 0:
                    s[q] = -1
                    for e in range(indptr[q], indptr[q + 1]):
                        f[nbr[e] - lo] -= 2.0 * J[e]
                else:
                    s[q] = 1
                    for e in range(indptr[q], indptr[q + 1]):
                        f[nbr[e] - lo] += 2.0 * J[e]
            if moves > 0 and (k + 1) % moves == 0:
                for ch in range(cptr[c], cptr[c + 1]):
                    if chain_ptr[ch + 1] - chain_ptr[ch] < 2:
                        continue  # a single qubit was just swept
                    total = 0.0
                    for i in range(chain_ptr[ch], chain_ptr[ch + 1]):
                        q = chain_qubits[i]
                        inner = 0.0  # the part of the field from the chain itself, unchanged by the flip
                        for m in range(inner_ptr[q], inner_ptr[q + 1]):
                            e = inner_entries[m]
                            inner += J[e] * s[nbr[e]]
                        total += s[q] * (f[q - lo] - inner)
                    delta = -2.0 * total
                    accept = delta <= 0.0
                    if not accept and beta * delta <= _NEVER:
                        x, u = _uniform(x)
                        accept = _accepts(u, beta * delta)
                    if accept:
                        for i in range(chain_ptr[ch], chain_ptr[ch + 1]):
                            q = chain_qubits[i]
                            if s[q] > 0:
                                s[q] = -1
                                for e in range(indptr[q], indptr[q + 1]):
                                    f[nbr[e] - lo] -= 2.0 * J[e]
                            else:
                                s[q] = 1
                                for e in range(indptr[q], indptr[q + 1]):
                                    f[nbr[e] - lo] += 2.0 * J[e]


@functools.cache
def _compiled() -> Any:
    """The kernel, compiled by numba on first use (not at import), parallel over (copy, read) tasks."""
    from ..._numba_cache import cached_njit

    return cached_njit(nogil=True, parallel=True)(_anneal_copies_py)


def chain_entries(indptr: np.ndarray, nbr: np.ndarray, chain_of: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The CSR entries of every qubit whose neighbour lies in the qubit's own chain.

    Parameters
    ----------
    indptr : ndarray of shape (n_qubits + 1,), dtype int64
    nbr : ndarray of shape (n_entries,), dtype int64
    chain_of : ndarray of shape (n_qubits,), dtype int64

    Returns
    -------
    inner_ptr : ndarray of shape (n_qubits + 1,), dtype int64
    inner_entries : ndarray of shape (n_inner,), dtype int64
        Qubit ``q``'s in-chain entries are ``inner_entries[inner_ptr[q]:inner_ptr[q+1]]``,
        in CSR order (so the chain moves add their couplings in the order of the full rows).
    """
    indptr, nbr, chain_of = (np.asarray(a, dtype=np.int64) for a in (indptr, nbr, chain_of))
    row = np.repeat(np.arange(indptr.size - 1), np.diff(indptr))
    inside = chain_of[nbr] == chain_of[row]
    inner_ptr = np.r_[0, np.cumsum(np.bincount(row[inside], minlength=indptr.size - 1))].astype(np.int64)
    return inner_ptr, np.flatnonzero(inside).astype(np.int64)


def anneal_copies(
    states: np.ndarray,
    randomize: bool,
    h: np.ndarray,
    indptr: np.ndarray,
    nbr: np.ndarray,
    J: np.ndarray,
    qptr: np.ndarray,
    chain_of: np.ndarray,
    chain_qubits: np.ndarray,
    chain_ptr: np.ndarray,
    cptr: np.ndarray,
    betas: np.ndarray,
    moves: int,
    copy_seeds: np.ndarray,
    inner: tuple[np.ndarray, np.ndarray] | None = None,
) -> None:
    """Anneal every read of every copy in one compiled call (``states`` updated in place).

    Parameters
    ----------
    states : ndarray of shape (n_reads, n_qubits), dtype int8
    randomize : bool
        Draw each read's start state (forward anneal) instead of using ``states``.
    h : ndarray of shape (n_qubits,), dtype float64
    indptr : ndarray of shape (n_qubits + 1,), dtype int64
    nbr : ndarray of shape (n_entries,), dtype int64
    J : ndarray of shape (n_entries,), dtype float64
    qptr : ndarray of shape (n_copies + 1,), dtype int64
    chain_of : ndarray of shape (n_qubits,), dtype int64
    chain_qubits : ndarray of shape (n_qubits,), dtype int64
    chain_ptr : ndarray of shape (n_chains + 1,), dtype int64
    cptr : ndarray of shape (n_copies + 1,), dtype int64
    betas : ndarray of shape (n_sweeps,), dtype float64
    moves : int
        Sweeps between rounds of chain flips (0: none).
    copy_seeds : ndarray of shape (n_copies,), dtype uint64
    inner : (ndarray, ndarray) or None, default=None
        :func:`chain_entries` of ``(indptr, nbr, chain_of)``, when known (a
        layout built once); ``None`` computes it.
    """
    inner_ptr, inner_entries = chain_entries(indptr, nbr, chain_of) if inner is None else inner
    starts = read_seeds(copy_seeds, states.shape[0])
    _compiled()(
        states,
        randomize,
        h,
        indptr,
        nbr,
        J,
        qptr,
        chain_qubits,
        chain_ptr,
        cptr,
        inner_ptr,
        inner_entries,
        betas,
        moves,
        starts,
    )
