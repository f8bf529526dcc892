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
whose two phases agree, spins that did not change, zero inputs) are skipped,
and examples are added in order, so
the generic step (:func:`eqising.eqprop.eqprop_step`) and a solver's compiled
step (:mod:`eqising.solvers.annealing_step`) that both call
:func:`accumulate_gradients` get the same bits.
"""

from __future__ import annotations

import numpy as np

from .._numba_cache import cached_njit

__all__ = ["accumulate_gradients", "eqprop_gradients", "gradient_layout", "split_gradients"]


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
    weight_start, bias_start, _ = gradient_layout(layer_sizes)
    L = len(layer_sizes) - 1
    dW = [flat[weight_start[l] : weight_start[l] + layer_sizes[l] * layer_sizes[l + 1]].reshape(
        layer_sizes[l], layer_sizes[l + 1]) for l in range(L)]
    db = [flat[bias_start[l] : bias_start[l] + layer_sizes[l + 1]] for l in range(L)]
    return dW, db


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
    """
    n, R, N = a.shape
    L = offsets.size - 1
    n_in = X.shape[1]
    n_max = 0
    for l in range(L):
        n_max = max(n_max, offsets[l + 1] - offsets[l])
    diff = np.empty(n_max, dtype=np.float64)
    nonzero = np.empty(n_max, dtype=np.int64)
    for e in range(n):
        same = True
        for r in range(R):
            for i in range(N):
                if a[e, r, i] != b[e, r, i]:
                    same = False
            if not same:
                break
        if same:  # contributes exactly zero
            continue
        c = w[e] / R
        for l in range(L):
            lo, size = offsets[l], offsets[l + 1] - offsets[l]
            n_nonzero = 0
            for j in range(size):
                d = 0
                for r in range(R):
                    d += np.int64(a[e, r, lo + j]) - np.int64(b[e, r, lo + j])
                if d != 0:  # zero differences add nothing: only the spins that changed are visited
                    diff[n_nonzero] = np.float64(d)
                    nonzero[n_nonzero] = j
                    n_nonzero += 1
            for q in range(n_nonzero):
                out[bias_start[l] + nonzero[q]] -= c * diff[q]
            if l == 0 and n_nonzero > 0:
                for i in range(n_in):
                    if X[e, i] == 0.0:
                        continue
                    xi = c * X[e, i]
                    start = weight_start[0] + i * size
                    for q in range(n_nonzero):
                        out[start + nonzero[q]] -= xi * diff[q]
        for l in range(1, L):
            lo0, n0 = offsets[l - 1], offsets[l] - offsets[l - 1]
            lo1, n1 = offsets[l], offsets[l + 1] - offsets[l]
            for i in range(n0):
                start = weight_start[l] + i * n1
                for j in range(n1):
                    corr = 0
                    for r in range(R):
                        corr += np.int64(a[e, r, lo0 + i]) * np.int64(a[e, r, lo1 + j]) - np.int64(
                            b[e, r, lo0 + i]) * np.int64(b[e, r, lo1 + j])
                    if corr != 0:
                        out[start + j] -= c * np.float64(corr)


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
        weight_start, bias_start, out,
    )
    return split_gradients(out, tuple(layer_sizes))
