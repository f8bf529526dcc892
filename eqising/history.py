"""The training history: one record per epoch, owned in one place.

:class:`TrainingHistory` holds every per-epoch record of a fit (loss,
accuracy, examples seen, wall time, solver and backend costs, diagnostics)
and derives the totals from them. The estimator's fitted attributes
(``loss_curve_``, ``solver_cost_``, ...) are views of it, and persistence
saves it with :meth:`TrainingHistory.to_dict` and restores it with
:meth:`TrainingHistory.from_dict`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .hardware import zero_cost
from .solvers import add_costs

__all__ = ["PHASES", "EpochRecord", "TrainingHistory", "mean_records"]

#: Phases whose solver costs are accounted separately (both nudged phases of
#: the symmetric mode count as ``'nudged'``).
PHASES = ("free", "nudged")


def mean_records(records: list[dict[str, float]]) -> dict[str, float]:
    """Mean of each key over the records that have it (NaN values ignored; NaN if all are)."""
    keys = sorted({k for r in records for k in r})
    out = {}
    for k in keys:
        values = np.array([r[k] for r in records if k in r], dtype=np.float64)
        out[k] = float(np.nanmean(values)) if np.any(~np.isnan(values)) else float("nan")
    return out


def _plain(value: Any) -> Any:
    """Nested records as plain JSON types (numpy scalars become Python numbers)."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def summed(records: list[dict[str, float]]) -> dict[str, float]:
    """The sum of backend cost records (every key of ``eqising.hardware.COST_KEYS`` present)."""
    total = zero_cost()
    for cost in records:
        add_costs(total, cost)
    return total


@dataclass
class EpochRecord:
    """What one epoch did and cost.

    Attributes
    ----------
    loss : float
        Mean over examples of the free-phase output cost ``1/2 ||target - s_out||^2 / n_out``.
    accuracy : float
        Training accuracy of the free-phase states.
    n_examples : int
        Examples seen in the epoch.
    seconds : float
        Wall time of the epoch.
    solver_cost : dict of str to dict
        Per phase (:data:`PHASES`), the summed solver costs.
    solver_diagnostics : dict of str to dict
        Per phase, the solver's diagnostics averaged over the epoch's steps.
    backend_layer_cost : list of dict
        Per layer, the summed backend cost (keys ``eqising.hardware.COST_KEYS``).
    """

    loss: float
    accuracy: float
    n_examples: int
    seconds: float
    solver_cost: dict[str, dict[str, float]]
    solver_diagnostics: dict[str, dict[str, float]]
    backend_layer_cost: list[dict[str, float]]

    @property
    def backend_cost(self) -> dict[str, float]:
        """The backend cost summed over layers."""
        return summed(self.backend_layer_cost)


@dataclass
class TrainingHistory:
    """Per-epoch records of a fit, and the totals derived from them.

    Parameters
    ----------
    n_layers : int
        Weight matrices of the network (one backend cost record per layer).
    epochs : list of EpochRecord
    """

    n_layers: int
    epochs: list[EpochRecord] = field(default_factory=list)

    def append(self, record: EpochRecord) -> None:
        """Add the record of a finished epoch."""
        self.epochs.append(record)

    # ------------------------------------------------------------- views
    @property
    def n_iter(self) -> int:
        """Epochs run."""
        return len(self.epochs)

    @property
    def n_examples(self) -> int:
        """Training examples seen."""
        return sum(e.n_examples for e in self.epochs)

    @property
    def loss_curve(self) -> list[float]:
        return [e.loss for e in self.epochs]

    @property
    def accuracy_curve(self) -> list[float]:
        return [e.accuracy for e in self.epochs]

    @property
    def solver_cost_curve(self) -> list[dict[str, dict[str, float]]]:
        return [e.solver_cost for e in self.epochs]

    @property
    def solver_diagnostics(self) -> list[dict[str, dict[str, float]]]:
        return [e.solver_diagnostics for e in self.epochs]

    @property
    def solver_cost(self) -> dict[str, dict[str, float]]:
        """Solver costs per phase summed over epochs."""
        total: dict[str, dict[str, float]] = {phase: {} for phase in PHASES}
        for e in self.epochs:
            for phase, cost in e.solver_cost.items():
                add_costs(total.setdefault(phase, {}), cost)
        return total

    @property
    def solver_seconds(self) -> float:
        return float(sum(c.get("solver_seconds", 0.0) for c in self.solver_cost.values()))

    @property
    def spin_updates(self) -> int:
        return int(sum(c.get("spin_updates", 0) for c in self.solver_cost.values()))

    @property
    def backend_cost_curve(self) -> list[dict[str, float]]:
        return [e.backend_cost for e in self.epochs]

    @property
    def backend_layer_cost(self) -> list[dict[str, float]]:
        """Backend costs per layer summed over epochs."""
        total = [zero_cost() for _ in range(self.n_layers)]
        for e in self.epochs:
            for layer, cost in enumerate(e.backend_layer_cost):
                add_costs(total[layer], cost)
        return total

    @property
    def backend_cost(self) -> dict[str, float]:
        """Backend costs summed over layers and epochs."""
        return summed(self.backend_layer_cost)

    # ------------------------------------------------------------ persistence
    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types: ``{'n_layers': int, 'epochs': [record fields, ...]}``."""
        return {"n_layers": self.n_layers, "epochs": [_plain(dataclasses.asdict(e)) for e in self.epochs]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainingHistory:
        """The history :meth:`to_dict` returned.

        Raises
        ------
        ValueError
            When ``data`` does not hold such a history (the message says what is missing).
        """
        if not isinstance(data, dict) or not isinstance(data.get("epochs"), list):
            raise ValueError("a training history must be a dict with an 'epochs' list")
        names = [f.name for f in dataclasses.fields(EpochRecord)]
        epochs = []
        for i, e in enumerate(data["epochs"]):
            if not isinstance(e, dict) or set(e) != set(names):
                raise ValueError(f"epoch record {i} of the training history must have exactly the keys {names}")
            epochs.append(EpochRecord(**e))
        return cls(int(data["n_layers"]), epochs)
