"""The integer EqProp engine: annealer, training step and inference, as the device runs them.

This numpy code is the bit-exact reference of the exported C library
(``templates/eqint8.c``); the two are kept in step by tests that compile the C.

Counters of the random streams (see :mod:`.fixed`), per example stream:

- ``0 .. N-1``: the initial spins of the free phase (``+1`` iff the draw's top bit is set);
- ``N + t N + i``: spin ``i`` in sweep ``t`` of the free phase;
- ``N + T N + t N + i``: spin ``i`` in step ``t`` of the nudged (reverse) phase,

with ``N`` spins and ``T`` forward sweeps. A sweep updates the spin layers
0, 2, 4, ... and then 1, 3, ...; within a layer every spin sees the same
neighbours, so the order within a layer does not matter.
Update stream (key ``stream_key(seed, 0xFFFFFFFF)``): counter
``offset_l + i n_{l+1} + j`` for weight ``(i, j)`` of matrix ``l`` (``offset``
runs over the matrices in order), then ``n_weights + k`` for bias ``k``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from .fixed import draws, mix32, sigmoid_table, stream_key
from .model import QMAX, Int8Model

__all__ = [
    "StepResult", "anneal", "external_fields", "infer", "inference_reads", "input_keys", "train_step", "update_gains",
]

_LUT = sigmoid_table().astype(np.int64)
UPDATE_STREAM = 0xFFFFFFFF


def _round_shift(v: np.ndarray, shift: int) -> np.ndarray:
    """``(v + 2**(shift-1)) >> shift`` (round half up) on int64."""
    return (v + (1 << (shift - 1))) >> shift


def external_fields(model: Int8Model, xq: np.ndarray, nudge_q: int = 0, targets: np.ndarray | None = None) -> np.ndarray:
    """Clipped external fields of every spin, Q16.

    ``layer 0: b + (m * sum_i xq_i q_ij + 128) >> 8``, other layers ``b``; the
    output layer adds ``nudge_q * target``; everything is clamped to
    ``+-field_clip_q``.

    Parameters
    ----------
    model : Int8Model
    xq : ndarray of uint8, shape (n_examples, n_in)
    nudge_q : int
        Nudge strength in Q16.
    targets : ndarray of int8, shape (n_examples, n_out) or None
        +-1 targets (needed when ``nudge_q != 0``).

    Returns
    -------
    ndarray of int64, shape (n_examples, n_spins)
    """
    n = xq.shape[0]
    acc = xq.astype(np.int64) @ model.q[0].astype(np.int64)
    parts = [model.b[0].astype(np.int64) + _round_shift(acc * model.m[0].astype(np.int64), 8)]
    parts += [np.broadcast_to(v.astype(np.int64), (n, v.size)) for v in model.b[1:]]
    ext = np.concatenate(parts, axis=1)
    if nudge_q:
        ext[:, model.offsets[-2]:] += nudge_q * targets.astype(np.int64)
    return np.clip(ext, -model.field_clip_q, model.field_clip_q)


def _couplings(model: Int8Model) -> list[np.ndarray]:
    """Effective couplings ``q * m`` (Q16) of the spin-to-spin matrices, int64."""
    return [model.q[l].astype(np.int64) * model.m[l].astype(np.int64)[None, :] for l in range(1, len(model.q))]


def anneal(
    model: Int8Model,
    ext: np.ndarray,
    keys: np.ndarray,
    steps: np.ndarray,
    counter_base: int,
    initial: np.ndarray | None = None,
) -> np.ndarray:
    """Block heat-bath anneal in integers.

    Parameters
    ----------
    model : Int8Model
    ext : ndarray of int64, shape (n_rows, n_spins)
        External fields (Q16).
    keys : ndarray of uint32, shape (n_rows,)
        One random stream per row.
    steps : ndarray of int, shape (n_steps,)
        Forward-schedule sweep index of every step.
    counter_base : int
        Counter of the first draw; a forward anneal from random spins uses
        ``counter_base .. counter_base + N - 1`` for the initial spins first.
    initial : ndarray of int8, shape (n_rows, n_spins) or None
        Start here instead of random spins.

    Returns
    -------
    ndarray of int8, shape (n_rows, n_spins)
    """
    N, off = model.n_spins, model.offsets
    L = len(off) - 1
    base = np.uint64(counter_base)
    if initial is None:
        r = draws(keys, (base + np.arange(N, dtype=np.uint64)).astype(np.uint32))
        s = np.where(r >> np.uint32(31), 1, -1).astype(np.int64)
        base += np.uint64(N)
    else:
        s = initial.astype(np.int64)
    layers = [s[:, off[l]:off[l + 1]].copy() for l in range(L)]
    ext_l = [ext[:, off[l]:off[l + 1]] for l in range(L)]
    J = _couplings(model)
    order = list(range(0, L, 2)) + list(range(1, L, 2))
    for t, sweep in enumerate(steps):
        counters = (base + np.uint64(t * N) + np.arange(N, dtype=np.uint64)).astype(np.uint32)
        r16 = (draws(keys, counters) >> np.uint32(16)).astype(np.int64)
        bq = np.int64(model.betas[sweep])
        for l in order:
            f = ext_l[l].copy()
            if l > 0:
                f += layers[l - 1] @ J[l - 1]
            if l < L - 1:
                f += layers[l + 1] @ J[l].T
            idx = np.clip((f * bq) >> 32, -128, 127) + 128
            layers[l] = np.where(r16[:, off[l]:off[l + 1]] < _LUT[idx], 1, -1)
    return np.concatenate(layers, axis=1).astype(np.int8)


def energies(model: Int8Model, ext: np.ndarray, spins: np.ndarray) -> np.ndarray:
    """Integer energies ``-(ext . s) - sum_l s_l^T (q m) s_{l+1}`` (Q16), int64, shape (n_rows,)."""
    s = spins.astype(np.int64)
    off = model.offsets
    e = -(ext * s).sum(axis=1)
    for l, J in enumerate(_couplings(model), start=1):
        a, b = s[:, off[l - 1]:off[l]], s[:, off[l]:off[l + 1]]
        e -= ((a @ J) * b).sum(axis=1)
    return e


def update_gains(model: Int8Model, layer: int, lr_q: int, batch_size: int) -> np.ndarray:
    """Per-channel update gains ``((lr_q << 20) // (batch_size * m_j))``, int64.

    ``lr_q = round(learning_rate / nudge * 2**24)``. The real change
    ``lr / nudge * mean_batch(corr_nudged - corr_free)`` of a weight, in
    units of ``2**-16`` int8 steps, is ``(d * gain) >> 20`` for the input
    matrix (``d`` sums ``xq * (s_n - s_f)``, inputs in 1/256) and
    ``(d * gain) >> 12`` for the others (``d`` sums spin products).
    """
    return (np.int64(lr_q) << 20) // (np.int64(batch_size) * model.m[layer].astype(np.int64))


def _stochastic_round(v: np.ndarray, r16: np.ndarray) -> np.ndarray:
    """``floor(v / 2**16)`` plus 1 with probability ``(v mod 2**16) / 2**16``."""
    return (v >> 16) + (r16 < (v & 0xFFFF))


@dataclass
class StepResult:
    """What one integer EqProp step did.

    Attributes
    ----------
    free : ndarray of int8, shape (n_examples, n_spins)
    nudged : ndarray of int8, shape (n_examples, n_spins)
        Equal to ``free`` for skipped examples.
    skipped : ndarray of bool, shape (n_examples,)
    saturations : list of int
        Per layer ``l`` (``weights[l]`` and ``biases[l]``): updates clamped at a limit.
    rescales : list of int
        Per layer: channels whose scale doubled after a saturation.
    steps_written : list of int
        Per layer: sum of ``|int8 change|`` over the weights (the update's write traffic).
    spin_updates : tuple of int
        Single-spin updates of the free and the nudged phase.
    seconds : tuple of float
        Wall time of the free and the nudged anneals (emulation).
    row_changes : list of ndarray of int64
        Per matrix, shape (n_l,): the real change ``sum_j |int8 change| m_j`` (Q16) of every row
        by the update, before any rescale (what sparse update's contribution analysis sums).
    """

    free: np.ndarray
    nudged: np.ndarray
    skipped: np.ndarray
    saturations: list[int]
    rescales: list[int]
    steps_written: list[int]
    spin_updates: tuple[int, int]
    seconds: tuple[float, float]
    row_changes: list[np.ndarray] = field(default_factory=list)


def train_step(
    model: Int8Model,
    xq: np.ndarray,
    targets: np.ndarray,
    *,
    seed: int,
    nudge_q: int,
    lr_q: int,
    lr_bias_q: int,
    skip_correct: bool,
) -> StepResult:
    """One integer EqProp step on a batch; updates ``model`` in place.

    Parameters
    ----------
    model : Int8Model
    xq : ndarray of uint8, shape (n_examples, n_in)
    targets : ndarray of int8, shape (n_examples, n_out)
        +-1 output targets.
    seed : int
        uint32 step seed; example ``b`` anneals with ``stream_key(seed, b)``.
    nudge_q : int
        Nudge in Q16 (positive nudging).
    lr_q, lr_bias_q : int
        ``round(lr / nudge * 2**24)`` for weights and biases.
    skip_correct : bool
        Examples whose free output equals the target skip the nudged phase
        and make no update.

    Notes
    -----
    Update of weight ``(i, j)`` of matrix ``l`` with per-channel gain ``g_j``
    (:func:`update_gains`): ``d = sum_b pre_n s_n - pre_f s_f``, ``v = (d g_j) >> 20``
    (input matrix) or ``>> 12``; ``q += floor(v / 2**16) + [draw < v mod 2**16]``,
    clamped to ``+-min(127, weight_clip_q // m_j)`` (each clamp counts as a
    saturation). A channel that saturated at +-127 while doubling its scale
    keeps ``127 * 2 m_j <= weight_clip_q`` doubles it and halves its weights
    (rounding half away from zero). Biases: gain ``(lr_bias_q << 20) // B``,
    ``v = (d g) >> 12`` with ``d = sum_b s_n - s_f``, the same stochastic
    rounding (in Q16 bias units), clamped to ``+-bias_clip_q``.
    Sparse update (``model.trainable``): the rows of a matrix that are not
    trainable take no change (their draws are still counted, so the updated
    weights see the same stream as in a full update), and a matrix with a
    frozen row never rescales; biases are always updated.
    """
    B, N = xq.shape[0], model.n_spins
    T = model.num_sweeps
    rev = model.reverse
    keys = stream_key(np.uint32(seed), np.arange(B, dtype=np.uint32))
    t0 = time.perf_counter()
    free = anneal(model, external_fields(model, xq), keys, np.arange(T), 0)
    out = slice(model.offsets[-2], N)
    skipped = (free[:, out] == targets).all(axis=1) if skip_correct else np.zeros(B, dtype=bool)
    nudged = free.copy()
    active = np.flatnonzero(~skipped)
    t1 = time.perf_counter()
    if active.size:
        ext = external_fields(model, xq[active], nudge_q, targets[active])
        nudged[active] = anneal(model, ext, keys[active], rev, N + T * N, initial=free[active])
    t2 = time.perf_counter()
    spin_updates = (B * N * (T + 1), active.size * N * rev.size)
    L = len(model.q)
    sat, rescales, written = [0] * L, [0] * L, [0] * L
    row_changes: list[np.ndarray] = []
    ukey = stream_key(np.uint32(seed), np.array([UPDATE_STREAM], dtype=np.uint32))
    off = model.offsets
    counter = 0
    sn, sf = nudged.astype(np.int64), free.astype(np.int64)
    for l in range(L):
        post_n, post_f = sn[:, off[l]:off[l + 1]], sf[:, off[l]:off[l + 1]]
        if l == 0:
            d = xq.T.astype(np.int64) @ (post_n - post_f)
            shift = 20
        else:
            pre_n, pre_f = sn[:, off[l - 1]:off[l]], sf[:, off[l - 1]:off[l]]
            d = pre_n.T @ post_n - pre_f.T @ post_f
            shift = 12
        v = (d * update_gains(model, l, lr_q, B)[None, :]) >> shift
        r16 = (draws(ukey, (counter + np.arange(d.size, dtype=np.uint64)).astype(np.uint32))[0] >> np.uint32(16))
        delta = _stochastic_round(v, r16.astype(np.int64).reshape(d.shape))
        counter += d.size
        if model.trainable is not None:  # sparse update: frozen rows keep their draws but take no change
            delta[~model.trainable[l], :] = 0
        limit = model.qmax(l)[None, :]
        new = model.q[l].astype(np.int64) + delta
        clamped = np.clip(new, -limit, limit)
        hit = clamped != new
        sat[l] += int(hit.sum())
        change = np.abs(clamped - model.q[l])
        written[l] += int(change.sum())
        row_changes.append((change * model.m[l].astype(np.int64)[None, :]).sum(axis=1))
        model.q[l] = clamped.astype(np.int8)
        grow = (hit & (limit == QMAX)).any(axis=0) & (2 * QMAX * model.m[l].astype(np.int64) <= model.weight_clip_q)
        if model.trainable is not None and not model.trainable[l].all():
            grow[:] = False  # a rescale would halve frozen weights: a matrix with frozen rows keeps its scales
        if grow.any():
            qc = model.q[l][:, grow].astype(np.int64)
            model.q[l][:, grow] = (np.sign(qc) * ((np.abs(qc) + 1) >> 1)).astype(np.int8)
            model.m[l][grow] *= 2
            rescales[l] += int(grow.sum())
    db = (sn - sf).sum(axis=0)
    gain = (np.int64(lr_bias_q) << 20) // np.int64(B)
    vb = (db * gain) >> 12
    r16 = draws(ukey, (counter + np.arange(N, dtype=np.uint64)).astype(np.uint32))[0] >> np.uint32(16)
    bias = np.concatenate(model.b).astype(np.int64) + _stochastic_round(vb, r16.astype(np.int64))
    clamped = np.clip(bias, -model.bias_clip_q, model.bias_clip_q)
    for l in range(L):
        sat[l] += int((clamped[off[l]:off[l + 1]] != bias[off[l]:off[l + 1]]).sum())
        model.b[l] = clamped[off[l]:off[l + 1]].astype(np.int32)
    return StepResult(free, nudged, skipped, sat, rescales, written, spin_updates, (t1 - t0, t2 - t1), row_changes)


def input_keys(xq: np.ndarray, seed: int) -> np.ndarray:
    """Per-example stream keys of inference: fold ``h = mix32(h ^ byte)`` over the input bytes from ``seed``.

    Returns
    -------
    ndarray of uint32, shape (n_examples,)
    """
    h = np.full(xq.shape[0], seed, dtype=np.uint32)
    for i in range(xq.shape[1]):
        h = mix32(h ^ xq[:, i].astype(np.uint32))
    return h


def inference_reads(model: Int8Model, xq: np.ndarray, *, seed: int, num_reads: int) -> tuple[np.ndarray, np.ndarray]:
    """The reads :func:`infer` scores: forward anneals from random spins, and their integer energies.

    Returns
    -------
    spins : ndarray of int8, shape (n_examples, num_reads, n_spins)
    energies : ndarray of int64, shape (n_examples, num_reads)
        Q16 integers (divide by ``2**16`` for the energy).
    """
    n, R = xq.shape[0], num_reads
    base = input_keys(xq, seed)
    keys = stream_key(np.repeat(base, R), np.tile(np.arange(R, dtype=np.uint32), n))
    ext = np.repeat(external_fields(model, xq), R, axis=0)
    spins = anneal(model, ext, keys, np.arange(model.num_sweeps), 0)
    return spins.reshape(n, R, -1), energies(model, ext, spins).reshape(n, R)


def infer(model: Int8Model, xq: np.ndarray, *, seed: int, num_reads: int, n_classes: int) -> np.ndarray:
    """Integer class scores of a batch (forward anneals from random spins, no nudge).

    Read ``r`` of an example uses the stream ``stream_key(input_key, r)``
    (:func:`input_keys`), so a prediction depends only on the example and the
    seed. The score of class ``k`` is ``100 R * (sum of its replica spins in
    the lowest-energy read, first on ties) + (sum over reads of the same)``:
    the float ``class_scores`` rule scaled to integers.

    Returns
    -------
    ndarray of int64, shape (n_examples, n_classes)
    """
    n, R = xq.shape[0], num_reads
    spins, e = inference_reads(model, xq, seed=seed, num_reads=num_reads)
    spins, e = spins.reshape(n * R, -1), e.reshape(n, R)
    out = spins[:, model.offsets[-2]:].astype(np.int64).reshape(n, R, n_classes, -1).sum(axis=3)
    best = out[np.arange(n), np.argmin(e, axis=1)]
    return 100 * R * best + out.sum(axis=1)
