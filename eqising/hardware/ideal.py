"""The ``ideal`` backend: float64 weights that take every desired change exactly."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from .._numba_cache import cached_njit
from .base import WeightBackend, zero_cost

__all__ = ["IdealBackend"]


class IdealBackend(WeightBackend):
    """Float weights: ``W <- clip(W + delta, +-weight_clip)``, at no cost.

    The reference every device backend is compared with; training with it is
    bit-identical to updating the network's arrays in place.
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

    def effective_weights(self) -> tuple[list[np.ndarray], list[np.ndarray]]:
        return [W.copy() for W in self._weights], [b.copy() for b in self._biases]

    def _apply(self, layer: int, weight_delta: np.ndarray, bias_delta: np.ndarray) -> dict[str, float]:
        for param, delta, clip in (
            (self._weights[layer], weight_delta, self._clips[0]),
            (self._biases[layer], bias_delta, self._clips[1]),
        ):
            _add_clipped(param.reshape(-1), delta.reshape(-1), -1.0 if clip is None else clip)
        return zero_cost()


@cached_njit(error_model="numpy")
def _add_clipped(param, delta, clip):
    """``param = clip(param + delta, -clip, clip)`` in place, in one pass (no clipping if ``clip < 0``)."""
    if clip < 0.0:
        for i in range(param.size):
            param[i] += delta[i]
    else:
        for i in range(param.size):
            param[i] = min(max(param[i] + delta[i], -clip), clip)
