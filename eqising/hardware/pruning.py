"""Pruning during training: soft (freeze matured weights) and hard (remove them).

Soft-pruning follows Shi et al., Nat. Commun. 9, 5312 (2018) and Front.
Neurosci. 13:405 (2019): weights judged *matured* are frozen at their current
value, stay in the crossbar (the solver still sees them) and receive no more
write pulses. Hard pruning removes the same weights (their effective value
becomes 0) for comparison.

Criterion (ours; the papers judge maturity from output-neuron firing, which an
Ising network does not have): a weight is matured when its recent update
activity is small. Activity is the sum over a window of ``window`` update
steps of the weight's desired change, in nominal device pulses. After
``start`` steps, at the end of every window, the ``step`` fraction of the
layer's weights with the least activity among those still active is frozen,
until ``ratio`` of the layer is frozen.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._validation import check_float, check_int, param_error

__all__ = ["PRUNING_MODES", "PRUNING_PARAMS", "Pruner", "check_pruning_params"]

PRUNING_MODES = ("soft", "hard")

#: Backend parameters of pruning, with their defaults.
PRUNING_PARAMS: dict[str, Any] = {
    "pruning": None,
    "prune_ratio": 0.6,
    "prune_start": 200,
    "prune_window": 100,
    "prune_step": 0.1,
}


def check_pruning_params(params: dict[str, Any], owner: str) -> None:
    """Validate the :data:`PRUNING_PARAMS` entries of ``params`` in place."""
    if params["pruning"] is not None and params["pruning"] not in PRUNING_MODES:
        raise param_error("pruning", owner, "None, 'soft' or 'hard'", params["pruning"])
    params["prune_ratio"] = check_float(params["prune_ratio"], "prune_ratio", owner, low=0.0, high=1.0)
    params["prune_start"] = check_int(params["prune_start"], "prune_start", owner, low=0)
    params["prune_window"] = check_int(params["prune_window"], "prune_window", owner, low=1)
    params["prune_step"] = check_float(params["prune_step"], "prune_step", owner, low=0.0, high=1.0, low_open=True)


class Pruner:
    """Freeze schedule of one layer's weights.

    Parameters
    ----------
    size : int
        Number of weights of the layer.
    ratio, start, window, step
        ``prune_ratio``, ``prune_start``, ``prune_window``, ``prune_step``
        (see the module docstring).

    Attributes
    ----------
    frozen : ndarray of shape (size,), dtype bool
        Weights frozen (soft) or removed (hard).
    """

    def __init__(self, size: int, ratio: float, start: int, window: int, step: float) -> None:
        self.ratio, self.start, self.window, self.step_fraction = ratio, start, window, step
        self.frozen = np.zeros(size, dtype=bool)
        self.activity = np.zeros(size)
        self.steps = 0

    def observe(self, expected_pulses: np.ndarray) -> None:
        """Record one update step's desired change (nominal pulses, shape (size,)); freeze at window ends."""
        self.steps += 1
        if self.steps <= self.start:
            return
        self.activity += expected_pulses
        if (self.steps - self.start) % self.window:
            return
        size = self.frozen.size
        goal = min(round(self.ratio * size), int(self.frozen.sum()) + round(self.step_fraction * size))
        extra = goal - int(self.frozen.sum())
        if extra > 0:
            active = np.flatnonzero(~self.frozen)
            order = np.argsort(self.activity[active], kind="stable")
            self.frozen[active[order[:extra]]] = True
        self.activity[:] = 0.0

    def state(self) -> dict[str, np.ndarray]:
        return {"frozen": self.frozen.copy(), "activity": self.activity.copy(), "steps": np.array(self.steps)}

    def load_state(self, state: dict[str, np.ndarray]) -> None:
        self.frozen = np.asarray(state["frozen"], dtype=bool).copy()
        self.activity = np.asarray(state["activity"], dtype=np.float64).copy()
        self.steps = int(state["steps"])
