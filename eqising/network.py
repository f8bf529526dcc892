"""Layered Ising networks: weights, biases, and their encoding as Ising problems.

A network with layer sizes ``(n_in, n_1, ..., n_L)`` has a real-valued input
layer ``x`` and ``L`` spin layers. Its energy (ML sign convention) is::

    E(s; x) = - x^T W_0 s_1 - sum_{l>=1} s_l^T W_l s_{l+1} - sum_l b_l^T s_l

The input is clamped, so it only enters as the field ``b_1 + x W_0`` on the
first spin layer. Fields are clipped to ``[-field_clip, field_clip]`` (the
range a hardware solver can program), which is part of the encoding.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ._numba_cache import cached_njit
from ._validation import Described, check_finite_array, check_float, check_int, param_error
from .ising import IsingBatch

__all__ = ["LayeredIsingNetwork"]


@cached_njit(error_model="numpy")
def _input_fields_row(x, W0, biases, idx, f):
    """``f = [x W_0 + b_1, b_2, ..., b_L]`` for one example: rows of ``W_0`` added for its non-zero inputs,
    four at a time, in a fixed order (zero inputs, most pixels, cost nothing). ``idx``: scratch of size n_in."""
    n1 = W0.shape[1]
    q = 0
    for p in range(x.size):  # branch-free: every index is written, the count moves past the non-zero ones
        idx[q] = p
        q += x[p] != 0.0
    for j in range(n1):
        f[j] = 0.0
    k = 0
    while k + 4 <= q:
        x0, x1, x2, x3 = x[idx[k]], x[idx[k + 1]], x[idx[k + 2]], x[idx[k + 3]]
        r0, r1, r2, r3 = W0[idx[k]], W0[idx[k + 1]], W0[idx[k + 2]], W0[idx[k + 3]]
        for j in range(n1):
            f[j] += (x0 * r0[j] + x1 * r1[j]) + (x2 * r2[j] + x3 * r3[j])
        k += 4
    while k < q:
        x0, r0 = x[idx[k]], W0[idx[k]]
        for j in range(n1):
            f[j] += x0 * r0[j]
        k += 1
    for j in range(biases.size):
        f[j] = f[j] + biases[j] if j < n1 else biases[j]


@cached_njit(error_model="numpy")
def _input_fields_into(X, W0, biases, out):
    """:func:`_input_fields_row` for every row of ``X`` (n, n_in) into ``out``."""
    idx = np.empty(X.shape[1], dtype=np.int64)
    for e in range(X.shape[0]):
        _input_fields_row(X[e], W0, biases, idx, out[e])


@cached_njit(error_model="numpy")
def _nudge_clip_row(f, out_lo, nudge, t, clip):
    """One row in place: outputs (from ``out_lo``) ``+= nudge * t`` if ``nudge`` is not None, then clipped to
    ``[-clip, clip]`` if ``clip >= 0``."""
    if nudge is not None:
        for j in range(f.size - out_lo):
            f[out_lo + j] += nudge * t[j]
    if clip >= 0.0:
        for i in range(f.size):
            f[i] = min(max(f[i], -clip), clip)


@cached_njit(error_model="numpy")
def _nudge_and_clip(fields, out_lo, nudge, targets, clip):
    """In place: if any ``nudge`` is non-zero, outputs (columns from ``out_lo``) ``+= nudge[e] * targets[e]``;
    then everything clipped to ``[-clip, clip]`` (if ``clip >= 0``). The core of
    :meth:`LayeredIsingNetwork.nudged_fields`."""
    nudged = False
    for e in range(nudge.size):
        nudged = nudged or nudge[e] != 0.0
    for e in range(fields.shape[0]):
        _nudge_clip_row(fields[e], out_lo, nudge[e] if nudged else None, targets[e], clip)


class LayeredIsingNetwork:
    """Weights and biases of a layered network, and its Ising encoding.

    Parameters
    ----------
    weights : sequence of ndarray
        ``weights[0]`` of shape (n_in, n_1) couples the clamped input to the
        first spin layer; ``weights[l]`` of shape (n_l, n_{l+1}) couples spin
        layers ``l`` and ``l + 1``.
    biases : sequence of ndarray
        ``biases[l]`` of shape (n_{l+1},): the bias of spin layer ``l + 1``.
    field_clip : float or None, default=4.0
        Fields on spins are clipped to this magnitude; ``None`` disables.
    """

    def __init__(
        self, weights: Sequence[np.ndarray], biases: Sequence[np.ndarray], *, field_clip: float | None = 4.0
    ) -> None:
        owner = "LayeredIsingNetwork"
        if len(weights) < 1 or len(weights) != len(biases):
            raise param_error(
                "biases", owner, "one bias vector per weight matrix (and at least one)",
                f"{len(biases)} biases for {len(weights)} weights",
            )
        self.weights = [check_finite_array(W, "weights", owner, ndim=2).copy() for W in weights]
        for a, b in zip(self.weights, self.weights[1:]):
            if a.shape[1] != b.shape[0]:
                raise param_error("weights", owner, "matrices with matching inner sizes", [W.shape for W in self.weights])
        self.biases = [
            check_finite_array(b, "biases", owner, shape=(W.shape[1],)).copy() for W, b in zip(self.weights, biases)
        ]
        self.field_clip = None if field_clip is None else check_float(field_clip, "field_clip", owner, low=0.0, low_open=True)

    @classmethod
    def initialize(
        cls,
        layer_sizes: Sequence[int],
        rng: np.random.Generator,
        *,
        gains: Sequence[float] | None = None,
        field_clip: float | None = 4.0,
    ) -> LayeredIsingNetwork:
        """A network with weights ``U(-g/sqrt(n_in), g/sqrt(n_in))`` and zero biases.

        Parameters
        ----------
        layer_sizes : sequence of int
            ``(n_in, n_1, ..., n_L)``.
        rng : numpy.random.Generator
        gains : sequence of float or None
            One gain per weight matrix; default 0.5 for the input matrix and
            1.0 for the others. (The reference recipe uses 0.25 for its one
            hidden-to-output matrix; with 0.25, networks of two hidden layers
            did not learn at all here, since the second hidden layer hears
            too little of the first, and one hidden layer did as well with
            1.0: digits 0.973-0.987, MNIST-1k 0.873-0.893 over 3 seeds.)
        """
        sizes = [check_int(n, "layer_sizes", "LayeredIsingNetwork", low=1) for n in layer_sizes]
        if len(sizes) < 2:
            raise param_error("layer_sizes", "LayeredIsingNetwork", "at least an input and one spin layer", layer_sizes)
        if gains is None:
            gains = [0.5] + [1.0] * (len(sizes) - 2)
        weights = [
            rng.uniform(-1.0, 1.0, size=(a, b)) * g / np.sqrt(a) for a, b, g in zip(sizes, sizes[1:], gains)
        ]
        return cls(weights, [np.zeros(b) for b in sizes[1:]], field_clip=field_clip)

    # ------------------------------------------------------------------ shape
    @property
    def layer_sizes(self) -> tuple[int, ...]:
        """``(n_in, n_1, ..., n_L)``."""
        return (self.weights[0].shape[0],) + tuple(W.shape[1] for W in self.weights)

    @property
    def spin_layer_sizes(self) -> tuple[int, ...]:
        return self.layer_sizes[1:]

    @property
    def n_spins(self) -> int:
        return sum(self.spin_layer_sizes)

    @property
    def output_slice(self) -> slice:
        """Columns of the output layer in an array of shape (..., n_spins)."""
        return slice(self.n_spins - self.spin_layer_sizes[-1], self.n_spins)

    # --------------------------------------------------------------- encoding
    def ising_batch(
        self, X: np.ndarray, *, nudge: float | np.ndarray = 0.0, targets: np.ndarray | None = None
    ) -> IsingBatch:
        """Encode a batch of inputs (optionally nudged) as an :class:`IsingBatch`.

        Parameters
        ----------
        X : ndarray of shape (n_examples, n_in)
        nudge : float or ndarray of shape (n_examples,), default=0.0
            EqProp nudge strength (the beta of the EqProp papers) per example.
            The cost ``nudge * 1/2 ||target - s_out||^2`` adds ``nudge * target``
            to the output fields.
        targets : ndarray of shape (n_examples, n_out) or None
            Targets in {-1, +1}; needed when any nudge is non-zero.

        Returns
        -------
        IsingBatch
            Fields ``[b_1 + X W_0, b_2, ..., b_L (+ nudge * targets)]``, clipped.
        """
        return self.encode(self.input_fields(X), nudge=nudge, targets=targets)

    def input_fields(self, X: np.ndarray) -> np.ndarray:
        """Unclipped, un-nudged fields ``[b_1 + X W_0, b_2, ..., b_L]``, ndarray of shape (n_examples, n_spins).

        Parameters
        ----------
        X : ndarray of shape (n_examples, n_in)
        """
        X = np.ascontiguousarray(X, dtype=np.float64)
        n_in = self.weights[0].shape[0]
        if X.ndim != 2 or X.shape[1] != n_in:  # the compiled core trusts the shapes
            raise param_error("X", "LayeredIsingNetwork.input_fields", f"an array of shape (n, {n_in})",
                              Described(f"array of shape {X.shape}"))
        out = np.empty((X.shape[0], self.spin_layer_sizes[0] + sum(b.size for b in self.biases[1:])))
        _input_fields_into(X, np.ascontiguousarray(self.weights[0], dtype=np.float64),
                           np.concatenate(self.biases).astype(np.float64, copy=False), out)
        return out

    def encode(
        self, fields: np.ndarray, *, nudge: float | np.ndarray = 0.0, targets: np.ndarray | None = None
    ) -> IsingBatch:
        """The :class:`IsingBatch` of given :meth:`input_fields` (rows of a batch, possibly a subset).

        Parameters
        ----------
        fields : ndarray of shape (n_examples, n_spins)
            From :meth:`input_fields`; not modified.
        nudge, targets
            As :meth:`ising_batch`.
        """
        return IsingBatch(self.spin_layer_sizes, tuple(self.weights[1:]), self.nudged_fields(fields, nudge, targets))

    def nudged_fields(
        self, fields: np.ndarray, nudge: float | np.ndarray = 0.0, targets: np.ndarray | None = None
    ) -> np.ndarray:
        """``fields`` with ``nudge * targets`` added to the outputs, clipped to ``field_clip`` (a new array).

        Row ``e`` of the result depends only on row ``e`` of the arguments.

        Parameters
        ----------
        fields : ndarray of shape (n_examples, n_spins)
        nudge : float or ndarray of shape (n_examples,)
        targets : ndarray of shape (n_examples, n_out) or None

        Returns
        -------
        ndarray of shape (n_examples, n_spins)
        """
        fields = np.array(fields, dtype=np.float64)
        owner, N, n_out = "LayeredIsingNetwork.nudged_fields", sum(self.spin_layer_sizes), self.spin_layer_sizes[-1]
        if fields.ndim != 2 or fields.shape[1] != N:  # the compiled core trusts the shapes
            raise param_error("fields", owner, f"an array of shape (n, {N})", Described(f"array of shape {fields.shape}"))
        n = fields.shape[0]
        nudge = np.ascontiguousarray(np.broadcast_to(np.asarray(nudge, dtype=np.float64), (n,)))
        if targets is None:
            nudge, targets = np.zeros(n), np.zeros((n, 0))
        elif np.shape(targets) != (n, n_out):
            raise param_error("targets", owner, f"an array of shape ({n}, {n_out})",
                              Described(f"array of shape {np.shape(targets)}"))
        clip = -1.0 if self.field_clip is None else self.field_clip
        _nudge_and_clip(fields, self.output_slice.start, nudge, np.ascontiguousarray(targets, dtype=np.float64), clip)
        return fields

    def energy(self, X: np.ndarray, spins: np.ndarray) -> np.ndarray:
        """Energy of spin states given inputs.

        Parameters
        ----------
        X : ndarray of shape (n_examples, n_in)
        spins : ndarray of shape (n_examples, n_reads, n_spins)

        Returns
        -------
        ndarray of shape (n_examples, n_reads)
        """
        return self.ising_batch(X).energies(spins)

    def energy_gradients(
        self, X: np.ndarray, spins: np.ndarray, weights: np.ndarray | None = None
    ) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """Weighted sum over examples of the read-averaged ``dE/dW_l`` and ``dE/db_l``.

        ``dE/dW_0 = -x s_1^T``, ``dE/dW_l = -s_l s_{l+1}^T``, ``dE/db_l = -s_l``:
        minus the correlations each weight connects.

        Parameters
        ----------
        X : ndarray of shape (n_examples, n_in)
        spins : ndarray of shape (n_examples, n_reads, n_spins)
        weights : ndarray of shape (n_examples,) or None
            Per-example weights of the sum (default 1).

        Returns
        -------
        dW : list of ndarray, shapes of :attr:`weights`
        db : list of ndarray, shapes of :attr:`biases`
        """
        n, R = spins.shape[:2]
        w = np.ones(n) if weights is None else np.asarray(weights, dtype=np.float64)
        s = spins.astype(np.float64)
        offsets = np.concatenate([[0], np.cumsum(self.spin_layer_sizes)])
        layers = [s[..., offsets[l] : offsets[l + 1]] for l in range(len(self.biases))]
        means = [layer.mean(axis=1) for layer in layers]  # (n, n_l)
        dW = [-(np.asarray(X, dtype=np.float64) * w[:, None]).T @ means[0]]
        for l in range(1, len(self.weights)):
            dW.append(-np.einsum("bri,brj->ij", layers[l - 1] * w[:, None, None], layers[l]) / R)
        db = [-(w @ m) for m in means]
        return dW, db
