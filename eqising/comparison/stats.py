"""The summary of a comparison: mean and std over seeds per target, and paired differences to a reference.

Runs are paired by seed: at one seed every target saw the same split,
minibatch order and solver seeds, so the difference of two targets' test
accuracies at that seed removes what the seed alone decides. The 95%
interval of the mean paired difference is Student's t interval over the
seeds both targets finished.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

__all__ = ["metric_columns", "paired_difference", "summarize"]

#: Columns summarised for every target first, in table order (then every cost column).
HEADLINE = ("test_accuracy", "train_accuracy", "train_seconds", "solver_seconds", "spin_updates", "energy_joules")


def metric_columns(rows: Sequence[Mapping[str, Any]]) -> list[str]:
    """The numeric columns to summarise: :data:`HEADLINE`, then each cost column in sorted order."""
    costs = sorted({k for r in rows for k in r if k.startswith(("solver.", "backend."))})
    return [*HEADLINE, *costs]


def _mean_std(values: Sequence[float]) -> tuple[float | None, float | None]:
    if not values:
        return None, None
    a = np.asarray(values, dtype=np.float64)
    return float(a.mean()), float(a.std(ddof=1)) if len(a) > 1 else None


def paired_difference(values: Mapping[int, float], reference: Mapping[int, float],
                      confidence: float = 0.95) -> dict[str, Any]:
    """Mean over common seeds of ``values[seed] - reference[seed]``, with its t interval.

    Returns
    -------
    dict
        ``n`` (pairs), ``mean``, ``low``, ``high`` (None where there are no
        pairs; the bounds None with fewer than 2 pairs).
    """
    from scipy import stats

    seeds = sorted(set(values) & set(reference))
    d = np.array([values[s] - reference[s] for s in seeds], dtype=np.float64)
    out: dict[str, Any] = {"n": len(seeds), "mean": None, "low": None, "high": None, "seeds": seeds}
    if len(d) == 0:
        return out
    out["mean"] = float(d.mean())
    if len(d) > 1:
        half = float(stats.t.ppf(0.5 + confidence / 2, len(d) - 1) * d.std(ddof=1) / math.sqrt(len(d)))
        out["low"], out["high"] = out["mean"] - half, out["mean"] + half
    return out


def summarize(rows: Sequence[Mapping[str, Any]], targets: Sequence[str], reference: str) -> list[dict[str, Any]]:
    """One summary per target, in the order of ``targets``.

    Parameters
    ----------
    rows : sequence of dict
        Run rows (:func:`eqising.comparison.run.execute`).
    targets : sequence of str
        Target names.
    reference : str
        The target every other is compared with (paired by seed).

    Returns
    -------
    list of dict
        Per target: ``target``, ``solver``, ``backend``, ``runs`` (finished),
        ``failed``, ``seeds``, ``mean`` and ``std`` (dicts over
        :func:`metric_columns`; std None with one run) and
        ``difference_to_reference`` (:func:`paired_difference` of the test
        accuracy).
    """
    columns = metric_columns(rows)
    ok = [r for r in rows if r.get("status") == "ok"]
    accuracy = {t: {int(r["seed"]): float(r["test_accuracy"]) for r in ok if r["target"] == t} for t in targets}
    out = []
    for target in targets:
        mine = [r for r in ok if r["target"] == target]
        stats: dict[str, dict[str, float | None]] = {"mean": {}, "std": {}}
        for column in columns:
            values = [float(r[column]) for r in mine if column in r]
            if values:
                stats["mean"][column], stats["std"][column] = _mean_std(values)
        out.append({
            "target": target,
            "solver": mine[0]["solver"] if mine else None,
            "backend": mine[0]["backend"] if mine else None,
            "runs": len(mine),
            "failed": sum(1 for r in rows if r["target"] == target and r.get("status") != "ok"),
            "seeds": sorted(int(r["seed"]) for r in mine),
            **stats,
            "difference_to_reference": paired_difference(accuracy[target], accuracy[reference]),
        })
    return out
