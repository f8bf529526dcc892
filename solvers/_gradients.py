"""The EqProp gradient as a compiled sum of correlation differences (shared by every EqProp step).

For two phases ``a`` and ``b`` of a minibatch (e.g. nudged and free) with
per-example weights ``w_e`` (``1 / ((nudge_a - nudge_b) * n)``), the loss
gradient of every parameter is::

    dW_0 = -sum_e w_e x_e (mean_r a_1 - mean_r b_1)^T
    dW_l = -sum_e w_e mean_r (a_l a_{l+1}^T - b_l b_{l+1}^T)      (l >= 1)
    db_l = -sum_e w_e mean_r (a_{l+1} - b_{l+1})

(:meth:`LayeredIsingNetwork.energy_gradients
<eqising.network.LayeredIsingNetwork.energy_gradients>` of ``a`` minus that
of ``b``). :func:`eqprop_gradients` computes it in one compiled pass; the
sums over reads are exact integers, terms that are exactly zero (examples
whose two phases agree, zero inputs, input weights and couplings next to no
changed spin)
are skipped, and examples are added in order, so
the generic step (:func:`eqising.eqprop.eqprop_step`) and a solver's compiled
step (:mod:`eqising.solvers.annealing_step`) that both call
:func:`accumulate_gradients` get the same bits.
"""

from __future__ import annotations

import functools

import numpy as np

from .._numba_cache import cached_njit

__all__ = ["accumulate_gradients", "eqprop_gradients", "gradient_layout", "split_gradients", "zero_written"]


def gradient_layout(layer_sizes: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray, int]:
    """Where each parameter's gradient sits in one flat buffer.

    Parameters
    ----------
    layer_sizes : tuple of int
        ``(n_in, n_1, ..., n_L)``.

    Returns
    -------
    weight_start, bias_start : ndarray of shape (L,), int64
        Offset of ``dW_l`` (row-major, shape (n_l, n_{l+1})) and of ``db_l``.
    size : int
        Length of the buffer.
    """
    L = len(layer_sizes) - 1
    weight_start, bias_start = np.zeros(L, np.int64), np.zeros(L, np.int64)
    at = 0
    for l in range(L):
        weight_start[l] = at
        at += layer_sizes[l] * layer_sizes[l + 1]
    for l in range(L):
        bias_start[l] = at
        at += layer_sizes[l + 1]
    return weight_start, bias_start, at


def split_gradients(flat: np.ndarray, layer_sizes: tuple[int, ...]) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Views of a flat gradient buffer (:func:`gradient_layout`) as the network's weight and bias shapes."""
    weights, biases = _views(tuple(int(n) for n in layer_sizes))
    return [flat[a:b].reshape(shape) for a, b, shape in weights], [flat[a:b] for a, b in biases]


@functools.lru_cache(maxsize=64)
def _views(layer_sizes: tuple[int, ...]) -> tuple[tuple, tuple]:
    """``(start, stop, shape)`` of every weight gradient and ``(start, stop)`` of every bias gradient (a step
    splits its buffer this way every time: computed once per network shape)."""
    weight_start, bias_start, _ = gradient_layout(layer_sizes)
    pairs = list(zip(layer_sizes, layer_sizes[1:]))
    weights = tuple((int(w), int(w) + a * b, (a, b)) for w, (a, b) in zip(weight_start, pairs))
    biases = tuple((int(c), int(c) + b) for c, (_, b) in zip(bias_start, pairs))
    return weights, biases


@cached_njit()
def accumulate_gradients(
    X: np.ndarray,
    a: np.ndarray,
    b: np.ndarray,
    w: np.ndarray,
    offsets: np.ndarray,
    weight_start: np.ndarray,
    bias_start: np.ndarray,
    out: np.ndarray,
    touched: np.ndarray,
) -> None:
    """Subtract ``sum_e w_e`` times the read-averaged correlation differences from ``out``, in place.

    Parameters
    ----------
    X : ndarray of shape (n, n_in), float64
    a, b : ndarray of shape (n, R, N), int8
        The two phases' spins.
    w : ndarray of shape (n,), float64
        Per-example weights.
    offsets : ndarray of shape (L + 1,), int64
        Start of every spin layer and ``N``.
    weight_start, bias_start : ndarray of shape (L,), int64
        :func:`gradient_layout`.
    out : ndarray, float64
        The flat gradient buffer.
    touched : ndarray of shape (n_in,), bool
        Set where a row of ``dW_0`` is written (an input that is not zero in an example whose spins
        changed); the other rows are left as they were. A caller that reuses ``out`` zeroes only these
        rows of ``dW_0`` again (:func:`zero_written`).
    """
    n, R, N = a.shape
    L = offsets.size - 1
    n_in = X.shape[1]
    diff = np.empty(N)  # sum over reads of a - b, per spin (exact integers)
    changed = np.empty(N, dtype=np.bool_)  # whether the spin differs in some read
    columns = np.empty(N, dtype=np.int64)
    corr = np.empty(N)
    af = np.empty((R, N))
    bf = np.empty((R, N))
    for e in range(n):
        ae, be = a[e].reshape(-1), b[e].reshape(-1)
        bits = np.int8(0)
        for k in range(ae.size):  # whether the phases differ at all: one vectorised pass over the bytes (most
            bits |= ae[k] ^ be[k]  # examples of a trained network are skipped and do not)
        if bits == 0:  # contributes exactly zero
            continue
        any_change = False
        for i in range(N):
            moved = False
            d = 0
            for r in range(R):
                moved = moved or a[e, r, i] != b[e, r, i]
                d += np.int64(a[e, r, i]) - np.int64(b[e, r, i])
            changed[i] = moved
            diff[i] = np.float64(d)
            any_change = any_change or moved
        if not any_change:  # contributes exactly zero
            continue
        c = w[e] / R
        for r in range(R):
            for i in range(N):
                af[r, i] = np.float64(a[e, r, i])
                bf[r, i] = np.float64(b[e, r, i])
        for l in range(L):
            lo, size = offsets[l], offsets[l + 1] - offsets[l]
            layer_moved = False
            for j in range(size):
                out[bias_start[l] + j] -= c * diff[lo + j]
                layer_moved = layer_moved or changed[lo + j]
            if l == 0 and layer_moved:  # inputs times diff, at the columns of changed spins only (diff is 0
                n_changed = 0  # elsewhere, and subtracting a zero product leaves an entry of out as it is)
                for j in range(size):
                    if changed[j]:
                        columns[n_changed] = j
                        n_changed += 1
                for i in range(n_in):
                    if X[e, i] == 0.0:
                        continue
                    touched[i] = True
                    xi = c * X[e, i]
                    row = out[weight_start[0] + i * size : weight_start[0] + (i + 1) * size]
                    for q in range(n_changed):
                        j = columns[q]
                        row[j] -= xi * diff[j]
        # a coupling's correlation difference can only be non-zero where one of its two spins changed in
        # some read: rows of changed spins in full, the other rows at the changed columns only
        for l in range(1, L):
            lo0, n0 = offsets[l - 1], offsets[l] - offsets[l - 1]
            lo1, n1 = offsets[l], offsets[l + 1] - offsets[l]
            n_changed = 0
            for j in range(n1):
                if changed[lo1 + j]:
                    columns[n_changed] = j
                    n_changed += 1
            for i in range(n0):
                row = out[weight_start[l] + i * n1 : weight_start[l] + (i + 1) * n1]
                if changed[lo0 + i]:
                    for j in range(n1):
                        corr[j] = 0.0
                    for r in range(R):
                        ai, bi = af[r, lo0 + i], bf[r, lo0 + i]
                        for j in range(n1):
                            corr[j] += ai * af[r, lo1 + j] - bi * bf[r, lo1 + j]
                    for j in range(n1):
                        row[j] -= c * corr[j]
                elif n_changed:
                    for q in range(n_changed):
                        j = columns[q]
                        k = 0.0
                        for r in range(R):  # a_i = b_i in every read here
                            k += af[r, lo0 + i] * (af[r, lo1 + j] - bf[r, lo1 + j])
                        row[j] -= c * k


@cached_njit()
def zero_written(out: np.ndarray, touched: np.ndarray, n_1: int) -> None:
    """Zero what :func:`accumulate_gradients` may have written into ``out``, and clear ``touched``.

    The rows of ``dW_0`` (``n_1`` entries each, from offset 0) marked in ``touched``, and everything after
    ``dW_0`` (the other layers' weights and every bias). A reused buffer then holds zeros again at a
    fraction of the cost of zeroing all of it: on MNIST-1k ``dW_0`` is 94,080 of the 99,330 entries, and a
    trained network's minibatch writes the rows of the few examples the skip rule keeps.
    """
    for i in range(touched.size):
        if touched[i]:
            row = out[i * n_1 : (i + 1) * n_1]
            for j in range(n_1):
                row[j] = 0.0
            touched[i] = False
    rest = out[touched.size * n_1 :]
    for k in range(rest.size):
        rest[k] = 0.0


def eqprop_gradients(
    layer_sizes: tuple[int, ...], X: np.ndarray, a: np.ndarray, b: np.ndarray, w: np.ndarray
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """The EqProp gradient of two phases (see the module docstring).

    Parameters
    ----------
    layer_sizes : tuple of int
        ``(n_in, n_1, ..., n_L)``.
    X : ndarray of shape (n, n_in)
    a, b : ndarray of shape (n, R, N)
        Spins of the two phases.
    w : ndarray of shape (n,)
        Per-example weights.

    Returns
    -------
    dW : list of ndarray of shapes (n_l, n_{l+1})
    db : list of ndarray of shapes (n_{l+1},)
    """
    weight_start, bias_start, size = gradient_layout(tuple(layer_sizes))
    offsets = np.concatenate([[0], np.cumsum(layer_sizes[1:])]).astype(np.int64)
    out = np.zeros(size)
    accumulate_gradients(
        np.ascontiguousarray(X, dtype=np.float64), np.ascontiguousarray(a, dtype=np.int8),
        np.ascontiguousarray(b, dtype=np.int8), np.ascontiguousarray(w, dtype=np.float64), offsets,
        weight_start, bias_start, out, np.zeros(np.shape(X)[1], dtype=np.bool_),
    )
    return split_gradients(out, tuple(layer_sizes))
