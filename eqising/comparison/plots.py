"""Plots of a comparison (PNG, rendered by matplotlib without pyplot, imported only when plotting).

- accuracy against training energy (or another cost), Pareto front marked;
- accuracy against training wall time, Pareto front marked;
- the learning curve (training accuracy per epoch) of every target.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .._files import write_file

__all__ = ["pareto_front", "write_plots"]


def pareto_front(costs: Sequence[float], accuracies: Sequence[float]) -> list[int]:
    """Indices of the points no other point beats (cost no higher and accuracy higher), by rising cost.

    Accuracies within 1e-9 count as equal (means of the same values can differ in the last bit), so
    a costlier point with the same accuracy is not on the front.
    """
    order = sorted(range(len(costs)), key=lambda i: (costs[i], -accuracies[i]))
    front, best = [], -np.inf
    for i in order:
        if accuracies[i] > best + 1e-9:
            front.append(i)
            best = accuracies[i]
    return front


def _tradeoff(ax: Any, summary: Sequence[Mapping[str, Any]], rows: Sequence[Mapping[str, Any]],
              column: str, label: str) -> None:
    names, xs, ys = [], [], []
    colors = _colors(len(summary))
    for color, t in zip(colors, summary):
        runs = [r for r in rows if r.get("status") == "ok" and r["target"] == t["target"] and column in r]
        if not runs:
            continue
        x = [float(r[column]) for r in runs]
        y = [float(r["test_accuracy"]) for r in runs]
        ax.scatter(x, y, color=color, alpha=0.35, s=14)
        mx, my = float(np.mean(x)), float(np.mean(y))
        ax.errorbar(mx, my, yerr=np.std(y, ddof=1) if len(y) > 1 else None, fmt="o", color=color,
                    capsize=3, label=t["target"])
        names.append(t["target"])
        xs.append(mx)
        ys.append(my)
    if not xs:
        return
    front = pareto_front(xs, ys)
    fx, fy = [xs[i] for i in front], [ys[i] for i in front]
    ax.step(fx, fy, where="post", color="black", linewidth=1, linestyle="--", label="Pareto front")
    ax.scatter(fx, fy, s=140, facecolors="none", edgecolors="black", linewidths=1.2)
    positive = [x for x in xs if x > 0]
    if positive and max(positive) / min(positive) > 100:
        ax.set_xscale("symlog", linthresh=min(positive) / 2) if min(xs) <= 0 else ax.set_xscale("log")
    ax.set_xlabel(label)
    ax.set_ylabel("test accuracy")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0)


def _colors(n: int) -> list[Any]:
    import matplotlib

    cmap = matplotlib.colormaps["tab10" if n <= 10 else "tab20"]
    return [cmap(i % cmap.N) for i in range(n)]


def write_plots(folder: Path, summary: Sequence[Mapping[str, Any]], rows: Sequence[Mapping[str, Any]],
                cost: str = "energy_joules") -> list[Path]:
    """Write the three PNGs into ``folder``; return their paths.

    Parameters
    ----------
    folder : Path
    summary : sequence of dict
        Per-target summaries (:func:`eqising.comparison.stats.summarize`).
    rows : sequence of dict
        Run rows.
    cost : str, default='energy_joules'
        The row column on the x axis of the cost plot (``'energy_joules'``:
        the training energy every solver phase and the backend report; or a
        cost column such as ``'backend.pulses'``).
    """
    import matplotlib.ticker
    from matplotlib.figure import Figure  # no pyplot: no global backend or figure state is touched

    paths = []
    cost_label = "training energy (J; 0: not modelled by the target)" if cost == "energy_joules" else cost
    for name, column, label in (("accuracy_vs_cost.png", cost, cost_label),
                                ("accuracy_vs_time.png", "train_seconds", "training wall time (s)")):
        fig = Figure(figsize=(8.4, 4.6))
        ax = fig.subplots()
        _tradeoff(ax, summary, rows, column, label)
        ax.set_title(f"test accuracy against {label.split(' (')[0]}")
        fig.tight_layout()
        paths.append(_save(fig, folder / name))
    fig = Figure(figsize=(8.4, 4.6))
    ax = fig.subplots()
    for color, t in zip(_colors(len(summary)), summary):
        curves = [r["accuracy_curve"] for r in rows if r.get("status") == "ok" and r["target"] == t["target"]]
        if not curves:
            continue
        length = min(len(c) for c in curves)
        a = np.array([c[:length] for c in curves], dtype=np.float64)
        epochs = np.arange(1, length + 1)
        ax.plot(epochs, a.mean(axis=0), color=color, label=t["target"])
        if len(a) > 1:
            ax.fill_between(epochs, a.min(axis=0), a.max(axis=0), color=color, alpha=0.15)
    ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
    ax.set_xlabel("epoch")
    ax.set_ylabel("training accuracy (free phase)")
    ax.set_title("learning curves: mean over seeds, band min-max")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0)
    fig.tight_layout()
    paths.append(_save(fig, folder / "learning_curves.png"))
    return paths


def _save(fig: Any, path: Path) -> Path:
    """Render ``fig`` as PNG and write it atomically (no half-written file)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110)
    write_file(path, buffer.getvalue())
    return path
