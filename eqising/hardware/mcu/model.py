"""The int8 model state held by the device, its quantisation from float weights, and its memory budget."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import pairwise

import numpy as np

from ...solvers.schedule import reheat_sweep
from .fixed import LUT_SIZE, ONE, beta_multipliers, reverse_steps

__all__ = ["Int8Model", "memory_budget"]

QMAX = 127


@dataclass
class Int8Model:
    """Everything the device stores: int8 weights, per-channel scales, int32 biases, schedule.

    Parameters
    ----------
    layer_sizes : tuple of int
        ``(n_in, n_1, ..., n_L)``; spin layers are ``n_1 .. n_L``.
    q : list of ndarray of int8
        ``q[l]`` of shape (n_l, n_{l+1}), values in [-127, 127].
    m : list of ndarray of int32
        ``m[l]`` of shape (n_{l+1},): per-output-channel scale multipliers
        (weight ``= q * m / 2**16``).
    b : list of ndarray of int32
        ``b[l]`` of shape (n_{l+1},): biases in Q16.
    weight_clip_q, bias_clip_q, field_clip_q : int
        Magnitude limits in Q16 (``round(clip * 2**16)``).
    betas : ndarray of int32, shape (num_sweeps,)
        Forward schedule multipliers (:func:`~.fixed.beta_multipliers`).
    reheat_sweeps : int
        Reverse anneals turn at forward sweep ``reheat_sweeps``
        (:func:`eqising.solvers.schedule.reheat_sweep` of the float ``reheat``).
    trainable : list of ndarray of bool or None
        Sparse update: ``trainable[l]`` of shape (n_l,) says which rows (input
        channels) of matrix ``l`` training may change; the others are frozen
        (``const`` in flash on the device). ``None``: every weight is updated.
    """

    layer_sizes: tuple[int, ...]
    q: list[np.ndarray]
    m: list[np.ndarray]
    b: list[np.ndarray]
    weight_clip_q: int
    bias_clip_q: int
    field_clip_q: int
    betas: np.ndarray
    reheat_sweeps: int
    trainable: list[np.ndarray] | None = None
    offsets: tuple[int, ...] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.offsets = tuple(int(o) for o in np.concatenate([[0], np.cumsum(self.layer_sizes[1:])]))

    # ---------------------------------------------------------------- build
    @classmethod
    def from_float(
        cls,
        weights: Sequence[np.ndarray],
        biases: Sequence[np.ndarray],
        *,
        weight_clip: float,
        bias_clip: float,
        field_clip: float,
        beta_range: tuple[float, float],
        num_sweeps: int,
        reheat: float,
        headroom: float,
    ) -> Int8Model:
        """Quantise float weights and biases (callers validate the arguments).

        The scale multiplier of channel ``j`` is
        ``ceil(headroom * max_i |W[i, j]| * 2**16 / 127)``, at least 1 and at most
        ``floor(weight_clip * 2**16 / 127)`` (so that +-127 never exceeds the clip).
        """
        wclip = int(round(weight_clip * ONE))
        m_max = max(1, wclip // QMAX)
        q, m = [], []
        for W in weights:
            W = np.asarray(W, dtype=np.float64)
            peak = np.abs(W).max(axis=0)
            mj = np.clip(np.ceil(headroom * peak * ONE / QMAX), 1, m_max).astype(np.int32)
            limit = np.minimum(QMAX, wclip // mj)
            qj = np.clip(np.round(W * ONE / mj[None, :]), -limit[None, :], limit[None, :]).astype(np.int8)
            q.append(qj)
            m.append(mj)
        bclip = int(round(bias_clip * ONE))
        b = [np.clip(np.round(np.asarray(v, dtype=np.float64) * ONE), -bclip, bclip).astype(np.int32) for v in biases]
        sizes = (weights[0].shape[0],) + tuple(W.shape[1] for W in weights)
        return cls(
            sizes, q, m, b, wclip, bclip, int(round(field_clip * ONE)),
            beta_multipliers(beta_range, num_sweeps), reheat_sweep(reheat, num_sweeps),
        )

    # ------------------------------------------------------------ accessors
    @property
    def n_spins(self) -> int:
        return self.offsets[-1]

    @property
    def num_sweeps(self) -> int:
        return int(self.betas.size)

    @property
    def reverse(self) -> np.ndarray:
        """Forward-schedule indices of the reverse (nudged-phase) anneal."""
        return reverse_steps(self.num_sweeps, self.reheat_sweeps)

    def qmax(self, layer: int) -> np.ndarray:
        """Per-channel int8 limit of matrix ``layer``: ``min(127, weight_clip_q // m)``."""
        return np.minimum(QMAX, self.weight_clip_q // self.m[layer]).astype(np.int32)

    def dequantized(self) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """Real weights ``q * m / 2**16`` and biases ``b / 2**16`` (float64)."""
        weights = [q.astype(np.float64) * m[None, :] / ONE for q, m in zip(self.q, self.m)]
        return weights, [v.astype(np.float64) / ONE for v in self.b]

    def copy(self) -> Int8Model:
        return Int8Model(
            self.layer_sizes, [a.copy() for a in self.q], [a.copy() for a in self.m], [a.copy() for a in self.b],
            self.weight_clip_q, self.bias_clip_q, self.field_clip_q, self.betas.copy(), self.reheat_sweeps,
            None if self.trainable is None else [t.copy() for t in self.trainable],
        )

    def frozen_rows(self) -> list[int] | None:
        """Number of frozen rows per matrix (``None`` without sparse update)."""
        return None if self.trainable is None else [int((~t).sum()) for t in self.trainable]

    # ----------------------------------------------------------- persistence
    def to_arrays(self) -> dict[str, np.ndarray]:
        """The state as named arrays (for ``.npz``); :meth:`from_arrays` inverts it."""
        arrays = {
            "layer_sizes": np.asarray(self.layer_sizes, dtype=np.int64),
            "clips": np.asarray([self.weight_clip_q, self.bias_clip_q, self.field_clip_q, self.reheat_sweeps], np.int64),
            "betas": self.betas,
        }
        for l, (q, m, b) in enumerate(zip(self.q, self.m, self.b)):
            arrays[f"q_{l}"], arrays[f"m_{l}"], arrays[f"b_{l}"] = q, m, b
        for l, t in enumerate(self.trainable or []):
            arrays[f"trainable_{l}"] = t
        return arrays

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray]) -> Int8Model:
        sizes = tuple(int(n) for n in arrays["layer_sizes"])
        n = len(sizes) - 1
        wq, bq, fq, reheat = (int(v) for v in arrays["clips"])
        trainable = [np.asarray(arrays[f"trainable_{l}"], dtype=bool) for l in range(n)] if "trainable_0" in arrays else None
        return cls(
            sizes,
            [np.asarray(arrays[f"q_{l}"], dtype=np.int8) for l in range(n)],
            [np.asarray(arrays[f"m_{l}"], dtype=np.int32) for l in range(n)],
            [np.asarray(arrays[f"b_{l}"], dtype=np.int32) for l in range(n)],
            wq, bq, fq, np.asarray(arrays["betas"], dtype=np.int32), reheat, trainable,
        )


def _pad(nbytes: int, align: int) -> int:
    return -nbytes % align


def memory_budget(
    layer_sizes: Sequence[int], batch_size: int, num_sweeps: int, frozen_rows: Sequence[int] | None = None
) -> dict[str, dict[str, int]]:
    """Exact bytes of the device state for an architecture, as the exported C library lays it out.

    Parameters
    ----------
    layer_sizes : sequence of int
        ``(n_in, n_1, ..., n_L)``.
    batch_size : int
        Examples per training step (their spins are stored for the update).
    num_sweeps : int
        Length of the beta table.
    frozen_rows : sequence of int or None
        Sparse update: frozen rows of every matrix (:meth:`Int8Model.frozen_rows`);
        their weights are ``const`` (flash) and leave the model struct.

    Returns
    -------
    dict
        ``{'training': {...}, 'inference': {...}, 'sram': {...}, 'flash': {...}}``, each a breakdown in bytes
        with a ``'total'`` entry. Both hold the model struct (``eq_model_t``:
        int32 scale multipliers and biases per spin, int8 weights (under
        sparse update only the updated ones), tail padding), the const tables (uint16 acceptance table, int32 beta table,
        int32 size and offset tables) and the RNG state (key and counter,
        8 bytes on the stack). Training adds the step scratch
        (``eq_train_ws_t``: int64 per-channel update gains, int32 external
        fields of one example, int8 spins of both phases for the batch, a
        saturation flag per channel, a skip flag per example, tail padding)
        and the batch's uint8 inputs and labels; inference adds
        ``eq_infer_ws_t`` (external fields, current and best spins) and one
        uint8 input. ``'sram'`` is what training keeps in RAM (the model struct
        with the updated weights only, the step scratch, the batch and the RNG
        state), ``'flash'`` the ``const`` objects of the exported library (the
        tables, the row table of sparse update, the frozen weights and the
        initial values the model struct is loaded from). Arrays of no element
        are allocated one.
    """
    sizes = [int(n) for n in layer_sizes]
    n_in, spin = sizes[0], sizes[1:]
    N, C, B = sum(spin), max(spin), int(batch_size)
    frozen = [0] * (len(sizes) - 1) if frozen_rows is None else [int(f) for f in frozen_rows]
    n_frozen = sum(f * b for f, b in zip(frozen, sizes[1:]))
    n_weights = max(1, sum(a * b for a, b in pairwise(sizes)) - n_frozen)
    common = {
        "scales_int32": 4 * N,
        "biases_int32": 4 * N,
        "weights_int8": n_weights,
        "model_padding": _pad(8 * N + n_weights, 4),
        "sigmoid_table_uint16": 2 * LUT_SIZE,
        "beta_table_int32": 4 * num_sweeps,
        "index_tables_int32": 4 * 3 * len(sizes),
        "rng_state": 8,
    }
    scratch = 8 * C + 4 * N + 2 * B * N + C + B
    training = dict(common)
    training.update({
        "update_gains_int64": 8 * C,
        "external_fields_int32": 4 * N,
        "spins_free_int8": B * N,
        "spins_nudged_int8": B * N,
        "saturation_flags_uint8": C,
        "skip_flags_uint8": B,
        "scratch_padding": _pad(scratch, 8),
        "batch_inputs_uint8": B * n_in,
        "batch_labels_uint8": B,
    })
    inference = dict(common)
    inference.update({
        "external_fields_int32": 4 * N,
        "spins_int8": 2 * N,
        "scratch_padding": _pad(6 * N, 4),
        "input_uint8": n_in,
    })
    const = ("sigmoid_table_uint16", "beta_table_int32", "index_tables_int32")
    sram = {k: v for k, v in training.items() if k not in const}
    flash = {k: training[k] for k in const}
    flash.update({
        "row_tables_int32": 4 * sum(sizes[:-1]) + 4 * len(sizes),
        "frozen_weights_int8": max(1, n_frozen),
        "initial_weights_int8": n_weights,
        "initial_scales_int32": 4 * N,
        "initial_biases_int32": 4 * N,
    })
    for part in (training, inference, sram, flash):
        part["total"] = sum(part.values())
    return {"training": training, "inference": inference, "sram": sram, "flash": flash}
