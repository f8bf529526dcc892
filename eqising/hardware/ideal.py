"""The ``ideal`` backend: float64 weights that take every desired change exactly."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np

from ..optim import Optimizer, _add_clipped
from .base import WeightBackend, zero_cost

__all__ = ["IdealBackend"]


class IdealBackend(WeightBackend):
    """Float weights: ``W <- clip(W + delta, +-weight_clip)``, at no cost.

    The reference every device backend is compared with; training with it is
    bit-identical to updating the network's arrays in place.

    :meth:`apply_gradients` hands its arrays to the optimizer's
    :meth:`~eqising.optim.Optimizer.step` (Adam: one compiled pass over every
    array, which also writes the copies the next :meth:`effective_weights`
    returns), the same bits as :meth:`~WeightBackend.apply` layer by layer.
    """

    name: ClassVar[str] = "ideal"
    parameters: ClassVar[dict[str, Any]] = {}

    def _program(
        self,
        weights: list[np.ndarray],
        biases: list[np.ndarray],
        *,
        weight_clip: float | None,
        bias_clip: float | None,
        seed: int,
    ) -> None:
        self._weights = [np.array(W, dtype=np.float64) for W in weights]
        self._biases = [np.array(b, dtype=np.float64) for b in biases]
        self._clips = (weight_clip, bias_clip)
        self._fresh: tuple[list[np.ndarray], list[np.ndarray]] | None = None

    def effective_weights(self) -> tuple[list[np.ndarray], list[np.ndarray]]:
        fresh, self._fresh = self._fresh, None
        if fresh is not None:  # written by the last apply_gradients' pass, handed out once
            return fresh
        return [W.copy() for W in self._weights], [b.copy() for b in self._biases]

    def _apply(self, layer: int, weight_delta: np.ndarray, bias_delta: np.ndarray) -> dict[str, float]:
        self._fresh = None
        for param, delta, clip in (
            (self._weights[layer], weight_delta, self._clips[0]),
            (self._biases[layer], bias_delta, self._clips[1]),
        ):
            _add_clipped(param.reshape(-1), delta.reshape(-1), -1.0 if clip is None else clip)
        return zero_cost()

    def apply_gradients(self, optimizer: Optimizer, grads: Sequence[np.ndarray]) -> list[dict[str, float]]:
        if type(self).apply is not WeightBackend.apply or type(self)._apply is not IdealBackend._apply:
            return super().apply_gradients(optimizer, grads)  # a subclass that writes its own way
        self._check_gradients(grads)
        n = len(self._weights)
        arrays = self._weights + self._biases
        self._fresh = None
        fresh = [np.empty_like(a) for a in arrays]  # the next effective_weights(), written in the same pass
        optimizer.step(arrays, grads, clips=[self._clips[0]] * n + [self._clips[1]] * n, copies=fresh)
        self._fresh = fresh[:n], fresh[n:]
        return [zero_cost() for _ in range(n)]
