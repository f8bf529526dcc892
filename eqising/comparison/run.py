"""One run of a comparison: one target, one seed, one fit and one score.

:func:`fit_and_score` is the training path that ``eqising train`` runs as
well, so a comparison's run reports the very numbers ``eqising train``
reports for the same target and seed. :func:`execute` wraps it for a task
(on this process, a joblib worker or a dask worker) and turns the fitted
estimator into one flat row; a run that raises becomes a row with its error.
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..datasets import Dataset
from ..estimator import EqPropClassifier
from .targets import Target

__all__ = ["FitResult", "RunSpec", "cost_columns", "execute", "fit_and_score", "training_energy"]

#: Row columns every run has, in table order.
BASE_COLUMNS = (
    "target", "seed", "status", "error", "solver", "backend", "test_accuracy", "train_accuracy",
    "train_seconds", "predict_seconds", "solver_seconds", "spin_updates", "energy_joules", "epochs", "root_seed",
    "key",
)


@dataclass(frozen=True)
class FitResult:
    """What :func:`fit_and_score` measured.

    Attributes
    ----------
    test_accuracy : float
    train_seconds : float
        Wall time of the epochs (fit only).
    predict_seconds : float
        Wall time of scoring the test split.
    """

    test_accuracy: float
    train_seconds: float
    predict_seconds: float


def fit_and_score(
    clf: EqPropClassifier, data: Dataset, *, on_epoch: Callable[[int, EqPropClassifier], None] | None = None
) -> FitResult:
    """Train ``clf`` for ``max_iter`` epochs (one ``partial_fit`` each) on ``data`` and score its test split.

    Parameters
    ----------
    clf : EqPropClassifier
        Unfitted, or a loaded checkpoint (training continues after its last
        epoch); ``max_iter`` sets the number of epochs in all.
    data : Dataset
    on_epoch : callable or None
        Called as ``on_epoch(epoch, clf)`` after each epoch (progress lines).
    """
    classes = np.unique(data.y_train)
    first = clf.n_iter_ if hasattr(clf, "history_") else 0  # a loaded checkpoint continues where it stopped
    start = time.perf_counter()
    for epoch in range(first, int(clf.max_iter)):
        clf.partial_fit(data.X_train, data.y_train, classes=classes)
        if on_epoch is not None:
            on_epoch(epoch, clf)
    train_seconds = time.perf_counter() - start
    t0 = time.perf_counter()
    accuracy = float(clf.score(data.X_test, data.y_test))
    return FitResult(accuracy, train_seconds, time.perf_counter() - t0)


def cost_columns(solver_cost: Mapping[str, Mapping[str, float]], backend_cost: Mapping[str, float]) -> dict[str, float]:
    """Every cost a target reports, flat: ``'solver.<phase>.<key>'`` and ``'backend.<key>'``."""
    out = {}
    for phase in sorted(solver_cost):
        for key in sorted(solver_cost[phase]):
            out[f"solver.{phase}.{key}"] = float(solver_cost[phase][key])
    for key in sorted(backend_cost):
        out[f"backend.{key}"] = float(backend_cost[key])
    return out


def training_energy(costs: Mapping[str, float]) -> float:
    """The training energy in joules: every ``energy_joules`` a solver phase or the backend reports."""
    return float(sum(v for k, v in costs.items() if k.rsplit(".", 1)[-1] == "energy_joules"))


@dataclass(frozen=True)
class RunSpec:
    """One run: a target at a seed, with the common settings, and the hash of its configuration.

    Attributes
    ----------
    target : Target
    seed : int
        ``random_state`` of the estimator: the split is common, and at one
        seed every target sees the same minibatch order and solver seeds.
    settings : dict
        Common estimator parameters (the target's override them).
    key : str
        Hex digest of the full configuration (data, target, seed, versions).
    """

    target: Target
    seed: int
    settings: dict[str, Any]
    key: str


def _failed(spec: RunSpec, error: str) -> dict[str, Any]:
    return {"target": spec.target.name, "seed": spec.seed, "status": "failed", "error": error, "key": spec.key}


def execute(spec: RunSpec, data: Dataset, threads: int | None = None) -> dict[str, Any]:
    """Run ``spec`` and return its row; an exception becomes a row with ``status='failed'`` and the error.

    Parameters
    ----------
    spec : RunSpec
    data : Dataset
    threads : int or None
        Numba threads of the solver kernel for this run (several runs share
        the cores); results do not depend on it. None leaves it as it is.

    Returns
    -------
    dict
        :data:`BASE_COLUMNS`, the flat costs (:func:`cost_columns`),
        ``accuracy_curve`` and ``loss_curve`` (per epoch), and ``params``.
    """
    before = None
    try:
        if threads is not None:
            import numba

            from ..solvers._kernels import KERNEL_LOCK

            with KERNEL_LOCK:  # its first acquisition chooses the threading layer before numba starts threads
                before = numba.get_num_threads()
                numba.set_num_threads(max(1, min(int(threads), numba.config.NUMBA_NUM_THREADS)))
        clf = spec.target.estimator(spec.settings, spec.seed)
        result = fit_and_score(clf, data)
        costs = cost_columns(clf.solver_cost_, clf.backend_cost_)
        return {
            "target": spec.target.name,
            "seed": spec.seed,
            "status": "ok",
            "error": "",
            "solver": clf.engine_.description,
            "backend": clf.backend_.name,
            "test_accuracy": result.test_accuracy,
            "train_accuracy": float(clf.accuracy_curve_[-1]),
            "train_seconds": result.train_seconds,
            "predict_seconds": result.predict_seconds,
            "solver_seconds": float(clf.solver_seconds_),
            "spin_updates": int(clf.spin_updates_),
            "energy_joules": training_energy(costs),
            "epochs": int(clf.n_iter_),
            "root_seed": int(clf.root_seed_),
            "key": spec.key,
            **costs,
            "accuracy_curve": [float(a) for a in clf.accuracy_curve_],
            "loss_curve": [float(v) for v in clf.loss_curve_],
            "params": spec.target.estimator_params(spec.settings),
        }
    except Exception as exc:  # recorded, not raised: one failing run does not stop the others
        last = traceback.extract_tb(exc.__traceback__)[-1:] or [None]
        where = f" (at {last[0].filename}:{last[0].lineno})" if last[0] is not None else ""
        return _failed(spec, f"{type(exc).__name__}: {exc}{where}")
    finally:
        if before is not None:
            import numba

            numba.set_num_threads(before)
