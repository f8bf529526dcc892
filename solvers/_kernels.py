"""Compiled annealing kernels (numba): one chain per (problem, read), chains in parallel.

Two kernels share one random-number scheme and one threading set-up:

- :func:`anneal_layered`: block heat-bath on layered problems (shared
  couplings, per-problem fields), with incrementally maintained local fields;
- :func:`anneal_sparse`: sequential single-spin Metropolis or heat-bath sweeps
  on one general sparse Ising problem in CSR form, many reads.

Both maintain the local fields incrementally (a flip updates its neighbours'
fields) and recompute them from scratch before every sweep whose index,
counted from the start of the schedule, is a multiple of
:data:`FIELD_REFRESH_SWEEPS` (and before a launch's first sweep). That bounds
rounding drift, and it makes a launch over sweeps ``[a, b)`` with ``a`` a
multiple of :data:`FIELD_REFRESH_SWEEPS` bit-identical to the same sweeps
inside one longer launch: a long chain can be run in several launches
(:mod:`._chunks`), carrying only its spins and its random-stream state.

Every chain draws from its own splitmix64 stream, seeded from its problem's
uint64 seed and its read index, so samples do not depend on the number of
threads or on how chains are scheduled. Kernels are compiled on first use and
cached on disk in the user's cache folder (:mod:`eqising._numba_cache`, never beside the
installed module), so later processes load them in well under a second.

Threading (the layer, its spinning, cores shared with other processes) is set
up by :mod:`._threads`, whose :data:`KERNEL_LOCK` callers hold around every launch.
"""

from __future__ import annotations

import math

import numba
import numpy as np

from .._numba_cache import cached_njit
from ._threads import KERNEL_LOCK, LAYER_PRIORITY, OMP_SPIN_COUNT  # re-exported

__all__ = ["FIELD_REFRESH_SWEEPS", "KERNEL_LOCK", "LAYER_PRIORITY", "OMP_SPIN_COUNT", "anneal_chain", "anneal_layered", "anneal_sparse", "chain_seeds", "random_spins", "random_spins_into"]


_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
_S30, _S27, _S31, _S40 = np.uint64(30), np.uint64(27), np.uint64(31), np.uint64(40)
_U24 = np.float32(2.0**-24)  # 24 random bits -> (0, 1) with this step
#: beta * field is clamped to +-9: beyond it the heat-bath update is already deterministic in
#: float32 arithmetic (1 + exp(-18) rounds to 1; the smallest draw 2**-25 times exp(18) exceeds 1).
_SURE = np.float32(9.0)
#: Reassociation lets LLVM vectorise the field reductions; no assumptions about NaN/inf.
_FASTMATH = {"reassoc", "contract", "nsz", "arcp", "afn"}
#: Metropolis: a flip costing more than this many units of 1/beta is never accepted (exp(-40) ~ 4e-18).
_SURE_METROPOLIS = 40.0
#: Local fields are recomputed from scratch before every sweep whose index (from the start of the
#: schedule) is a multiple of this; a chain split into launches at such sweeps is bit-identical to one launch.
FIELD_REFRESH_SWEEPS = 128


@numba.njit(inline="always")
def _mix(z):
    z = (z ^ (z >> _S30)) * _MIX1
    z = (z ^ (z >> _S27)) * _MIX2
    return z ^ (z >> _S31)


_M2LOG2E = np.float32(-2.0 / math.log(2.0))
_C = tuple(np.float32(math.log(2.0) ** k / math.factorial(k)) for k in range(7))
_SQRT2 = np.float32(math.sqrt(2.0))


@numba.njit(inline="always")
def _exp2_centered(t):
    """2**(t + 1/2) for t in [-1/2, 1/2): Taylor polynomial, relative error ~1e-6 in float32."""
    p = _C[5] + t * _C[6]
    p = _C[4] + t * p
    p = _C[3] + t * p
    p = _C[2] + t * p
    p = _C[1] + t * p
    return (np.float32(1.0) + t * p) * _SQRT2


@cached_njit()
def chain_seeds(problem_seeds: np.ndarray, n_reads: int) -> np.ndarray:
    """Initial splitmix64 states of shape (n_problems, n_reads), dtype uint64.

    Chain ``(b, r)`` starts from a hash of problem ``b``'s seed and ``r``, so
    it is the same whatever the batch around it and whatever the threads.
    """
    out = np.empty((problem_seeds.size, n_reads), dtype=np.uint64)
    for b in range(problem_seeds.size):
        base = _mix(problem_seeds[b] + _GOLDEN)
        for r in range(n_reads):
            out[b, r] = _mix(base ^ _mix(np.uint64(r) * _GOLDEN + _MIX2))
    return out


@numba.njit(inline="always")
def _next(state):
    """splitmix64 step: returns (new state, 64 random bits)."""
    state = state + _GOLDEN
    return state, _mix(state)


@numba.njit(inline="always")
def _uniform(bits):
    """float32 uniform in (0, 1) from the top 24 of 64 random bits."""
    return (np.float32(bits >> _S40) + np.float32(0.5)) * _U24


@cached_njit()
def random_spins(states: np.ndarray, n_spins: int) -> np.ndarray:
    """Uniformly random start states, one bit per spin from each chain's own stream.

    Parameters
    ----------
    states : ndarray of shape (..., n_chains), uint64
        Chain streams (advanced in place).
    n_spins : int

    Returns
    -------
    ndarray of shape states.shape + (n_spins,), int8
    """
    flat = states.reshape(-1)
    out = np.empty((flat.size, n_spins), dtype=np.int8)
    random_spins_into(flat, out)
    return out.reshape(states.shape + (n_spins,))


@cached_njit()
def random_spins_into(states: np.ndarray, out: np.ndarray) -> None:
    """:func:`random_spins` into a preallocated array.

    Parameters
    ----------
    states : ndarray of shape (n_chains,), uint64
        Chain streams (advanced in place).
    out : ndarray of shape (n_chains, n_spins), int8
        Output: every chain's start state.
    """
    n_spins = out.shape[1]
    for c in range(states.size):
        rng = states[c]
        bits = np.uint64(0)
        for i in range(n_spins):
            if i % 64 == 0:
                rng, bits = _next(rng)
            out[c, i] = np.int8(1) if (bits >> np.uint64(i % 64)) & np.uint64(1) else np.int8(-1)
        states[c] = rng


@numba.njit(inline="always", fastmath=_FASTMATH)
def _add_rows(target, mat, start, flipped, n_flip, new):
    """``target += sum_q 2 new[k_q] * mat_row(k_q)`` over the flipped spins ``k_q``.

    Rows go four at a time, so ``target`` is loaded and stored once per four rows.
    """
    n = target.size
    q = 0
    while q + 4 <= n_flip:
        k0, k1, k2, k3 = flipped[q], flipped[q + 1], flipped[q + 2], flipped[q + 3]
        d0, d1 = np.float32(2.0) * new[k0], np.float32(2.0) * new[k1]
        d2, d3 = np.float32(2.0) * new[k2], np.float32(2.0) * new[k3]
        r0 = mat[start + k0 * n : start + (k0 + 1) * n]
        r1 = mat[start + k1 * n : start + (k1 + 1) * n]
        r2 = mat[start + k2 * n : start + (k2 + 1) * n]
        r3 = mat[start + k3 * n : start + (k3 + 1) * n]
        for j in range(n):
            target[j] += (d0 * r0[j] + d1 * r1[j]) + (d2 * r2[j] + d3 * r3[j])
        q += 4
    while q < n_flip:
        k0 = flipped[q]
        d0 = np.float32(2.0) * new[k0]
        r0 = mat[start + k0 * n : start + (k0 + 1) * n]
        for j in range(n):
            target[j] += d0 * r0[j]
        q += 1


@numba.njit(inline="always", fastmath=_FASTMATH)
def _layered_fields(offsets, up, up_start, fields, s, f):
    """``f = fields + J s`` from scratch, for float32 spins ``s`` of a layered problem."""
    L = offsets.size - 1
    for i in range(f.size):
        f[i] = fields[i]
    for l in range(L - 1):
        n0, n1 = offsets[l + 1] - offsets[l], offsets[l + 2] - offsets[l + 1]
        s1 = s[offsets[l + 1] : offsets[l + 2]]
        f1 = f[offsets[l + 1] : offsets[l + 2]]
        for i in range(n0):
            row = up[up_start[l] + i * n1 : up_start[l] + (i + 1) * n1]
            si = s[offsets[l] + i]
            acc = np.float32(0.0)
            for k in range(n1):
                acc += row[k] * s1[k]
                f1[k] += row[k] * si
            f[offsets[l] + i] += acc


@numba.njit(fastmath=_FASTMATH)
def anneal_chain(
    offsets: np.ndarray,
    up: np.ndarray,
    up_start: np.ndarray,
    down: np.ndarray,
    down_start: np.ndarray,
    fields: np.ndarray,
    betas: np.ndarray,
    metropolis: bool,
    first: int,
    last: int,
    spins: np.ndarray,
    rng: np.uint64,
) -> tuple[np.uint64, int]:
    """Anneal one chain of a layered problem in place: the body of :func:`anneal_layered`.

    Compiled kernels that anneal chains themselves (the fused EqProp step,
    :mod:`eqising.solvers.annealing_step`) call this, so a chain's samples are
    the same whichever kernel runs it.

    Parameters
    ----------
    offsets, up, up_start, down, down_start
        As :func:`anneal_layered`.
    fields : ndarray of shape (N,), float32
        The problem's fields.
    betas : ndarray of shape (n_steps,), float32
        Inverse temperature of every sweep of the schedule.
    metropolis : bool
    first, last : int
        Sweeps ``first .. last - 1`` of the schedule are run; those from
        ``n_steps`` on are greedy (zero-temperature) sweeps, and a greedy
        sweep that changes nothing ends the chain. A launch over ``[a, b)``
        with ``a`` a multiple of :data:`FIELD_REFRESH_SWEEPS` continues one
        over ``[0, a)`` bit for bit, given its final spins and ``rng``.
    spins : ndarray of shape (N,), int8
        Start state on entry, final state on exit.
    rng : uint64
        The chain's random-stream state.

    Returns
    -------
    rng : uint64
        The advanced stream state.
    done : int
        Sweeps performed.
    """
    N = spins.size
    L = offsets.size - 1
    n_steps = betas.size
    n_max = 0
    for l in range(L):
        n_max = max(n_max, offsets[l + 1] - offsets[l])
    s = np.empty(N, dtype=np.float32)
    f = np.empty(N, dtype=np.float32)
    new = np.empty(n_max, dtype=np.float32)
    frac = np.empty(n_max, dtype=np.float32)
    expo = np.empty(n_max, dtype=np.int32)
    scale = expo.view(np.float32)  # 2**m from its exponent bits
    flipped = np.empty(n_max + 1, dtype=np.int64)
    for i in range(N):
        s[i] = np.float32(spins[i])
    done = 0
    for step in range(first, last):
        if step == first or step % FIELD_REFRESH_SWEEPS == 0:
            _layered_fields(offsets, up, up_start, fields, s, f)  # from scratch; afterwards flips update them
        greedy = step >= n_steps
        beta = np.float32(0.0) if greedy else betas[step]
        flips = 0
        for parity in range(2):
            for l in range(parity, L, 2):
                n = offsets[l + 1] - offsets[l]
                fl = f[offsets[l] : offsets[l + 1]]
                sl = s[offsets[l] : offsets[l + 1]]
                # pass 1 (branch-free): the layer's spins are independent given its neighbours
                if greedy:
                    for k in range(n):
                        new[k] = sl[k] if fl[k] == 0 else (np.float32(1.0) if fl[k] > 0 else np.float32(-1.0))
                else:
                    # P(+1) = 1 / (1 + exp(-2 x)), x = beta * field, clamped to |x| <= 9, where the
                    # update is already deterministic in float32. exp(-2 x) = 2**y is split into
                    # 2**floor(y) (exponent bits) times a polynomial, so both loops vectorise.
                    for k in range(n):
                        x = min(max(beta * fl[k], -_SURE), _SURE)
                        y = _M2LOG2E * x
                        m = math.floor(y)
                        t = y - m - np.float32(0.5)
                        frac[k] = _exp2_centered(t)
                        expo[k] = (np.int32(m) + np.int32(127)) << np.int32(23)
                    for k in range(n):
                        u = _uniform(_mix(rng + np.uint64(k + 1) * _GOLDEN))
                        e = frac[k] * scale[k]  # exp(-2 x)
                        if metropolis:
                            # flip with min(1, exp(-2 s x)): from +1 if u < e, from -1 if u < 1 / e
                            stay = (u >= e) if sl[k] > 0 else (u * e >= np.float32(1.0))
                            new[k] = sl[k] if stay else -sl[k]
                        else:
                            up1 = u * (np.float32(1.0) + e) < np.float32(1.0)
                            new[k] = np.float32(1.0) if up1 else np.float32(-1.0)
                    rng += np.uint64(n) * _GOLDEN
                # pass 2: list the flips without branching, then apply them to the neighbouring fields
                n_flip = 0
                for k in range(n):
                    flipped[n_flip] = k
                    n_flip += np.int64(new[k] != sl[k])
                flips += n_flip
                for q in range(n_flip):
                    sl[flipped[q]] = new[flipped[q]]
                if l + 1 < L:
                    _add_rows(f[offsets[l + 1] : offsets[l + 2]], up, up_start[l], flipped, n_flip, new)
                if l > 0:
                    _add_rows(f[offsets[l - 1] : offsets[l]], down, down_start[l], flipped, n_flip, new)
        done += 1
        if greedy and flips == 0:
            break
    for i in range(N):
        spins[i] = np.int8(s[i])
    return rng, done


@cached_njit(parallel=True, fastmath=_FASTMATH)
def anneal_layered(
    offsets: np.ndarray,
    up: np.ndarray,
    up_start: np.ndarray,
    down: np.ndarray,
    down_start: np.ndarray,
    fields: np.ndarray,
    betas: np.ndarray,
    metropolis: bool,
    first: int,
    last: int,
    spins: np.ndarray,
    states: np.ndarray,
    sweeps_done: np.ndarray,
) -> None:
    """Block heat-bath (or Metropolis) anneal of every chain of a layered batch, in place.

    Parameters
    ----------
    offsets : ndarray of shape (L + 1,), int64
        Start of each spin layer; layer ``l`` is ``offsets[l]:offsets[l + 1]``.
    up : ndarray, float32
        Concatenated row-major ``J_l`` of shape (n_l, n_{l+1}), l = 0 .. L-2.
    up_start : ndarray of shape (L,), int64
        Offset of ``J_l`` in ``up`` (entry L-1 unused).
    down : ndarray, float32
        Concatenated row-major ``J_{l-1}^T`` of shape (n_l, n_{l-1}), l = 1 .. L-1.
    down_start : ndarray of shape (L,), int64
        Offset of ``J_{l-1}^T`` in ``down`` (entry 0 unused).
    fields : ndarray of shape (B, N), float32
    betas : ndarray of shape (B, n_steps), float32
        Inverse temperature of every sweep of every problem.
    metropolis : bool
        Each spin of the layer flips with probability ``min(1, exp(-beta dE))``
        (Metropolis) instead of being redrawn from its conditional (heat-bath).
        Both leave ``exp(-beta E)`` invariant.
    first, last : int
        Run sweeps ``first .. last - 1`` (:func:`anneal_chain`). Sweeps from
        ``n_steps`` on are zero-temperature sweeps after the schedule (each
        spin takes the sign of its local field); a chain stops early once
        such a sweep changes nothing.
    spins : ndarray of shape (B, R, N), int8
        Start states on entry, final states on exit.
    states : ndarray of shape (B, R), uint64
        Random-stream state of each chain (advanced in place).
    sweeps_done : ndarray of shape (B, R), int64
        Sweeps performed per chain (added to it).
    """
    B, R = spins.shape[:2]
    for c in numba.prange(B * R):
        b = c // R
        r = c - b * R
        rng, done = anneal_chain(
            offsets, up, up_start, down, down_start, fields[b], betas[b], metropolis, first, last, spins[b, r],
            states[b, r],
        )
        states[b, r] = rng
        sweeps_done[b, r] += done


@numba.njit(inline="always")
def _sparse_fields(indptr, indices, data, h, s, g):
    """``g = h + J s`` from scratch (CSR couplings)."""
    for i in range(g.size):
        acc = h[i]
        for p in range(indptr[i], indptr[i + 1]):
            acc += data[p] * s[indices[p]]
        g[i] = acc


@cached_njit(parallel=True)
def anneal_sparse(
    indptr: np.ndarray,
    indices: np.ndarray,
    data: np.ndarray,
    h: np.ndarray,
    betas: np.ndarray,
    metropolis: bool,
    first: int,
    last: int,
    spins: np.ndarray,
    states: np.ndarray,
) -> None:
    """Sequential single-spin anneal of many reads of one sparse Ising problem, in place.

    Energy in dimod's convention ``E = sum_i h_i s_i + sum_{i<j} J_ij s_i s_j``.

    Parameters
    ----------
    indptr, indices, data : CSR arrays of the symmetric coupling matrix
        (``data`` float64; both ``J_ij`` and ``J_ji`` stored, zero diagonal).
    h : ndarray of shape (N,), float64
    betas : ndarray of shape (n_sweeps,), float64
    metropolis : bool
        Metropolis acceptance ``min(1, exp(-beta dE))`` if True, heat-bath
        (Gibbs) ``1 / (1 + exp(beta dE))`` otherwise.
    first, last : int
        Run sweeps ``first .. last - 1`` of the schedule; with ``first`` a
        multiple of :data:`FIELD_REFRESH_SWEEPS` this continues a launch over
        ``[0, first)`` bit for bit.
    spins : ndarray of shape (R, N), int8
        Start states on entry, final states on exit.
    states : ndarray of shape (R,), uint64
        Random-stream state of each read (advanced in place).
    """
    R, N = spins.shape
    for r in numba.prange(R):
        s = np.empty(N, dtype=np.float64)
        g = np.empty(N, dtype=np.float64)  # dE/ds_i = h_i + sum_j J_ij s_j
        for i in range(N):
            s[i] = spins[r, i]
        rng = states[r]
        for step in range(first, last):
            if step == first or step % FIELD_REFRESH_SWEEPS == 0:
                _sparse_fields(indptr, indices, data, h, s, g)  # from scratch; afterwards flips update them
            beta = betas[step]
            for i in range(N):
                de = -2.0 * s[i] * g[i]  # energy change of flipping s_i
                x = beta * de
                if metropolis:
                    if x <= 0.0:
                        flip = True
                    elif x > _SURE_METROPOLIS:
                        flip = False
                    else:
                        rng, bits = _next(rng)
                        flip = (np.float64(bits >> np.uint64(11)) + 0.5) * 2.0**-53 < math.exp(-x)
                else:
                    if x > _SURE_METROPOLIS:
                        flip = False
                    elif x < -_SURE_METROPOLIS:
                        flip = True
                    else:
                        rng, bits = _next(rng)
                        flip = (np.float64(bits >> np.uint64(11)) + 0.5) * 2.0**-53 < 1.0 / (1.0 + math.exp(x))
                if flip:
                    s[i] = -s[i]
                    d = 2.0 * s[i]
                    for p in range(indptr[i], indptr[i + 1]):
                        g[indices[p]] += d * data[p]
        states[r] = rng
        for i in range(N):
            spins[r, i] = np.int8(s[i])
