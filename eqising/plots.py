"""Figures of a training run, drawn from the summary that ``eqising train --out`` saves.

``eqising train --out DIR`` writes ``summary.json`` and, from it, the PNG figures
named in :data:`FIGURES`; ``eqising plot DIR`` draws them again from the saved
summary. Everything here works on the summary dict alone, so a figure can be
redrawn (or restyled) without the model or the data:

- ``learning_curves.png``: training accuracy (of the free-phase reads) and loss
  per epoch, with the test accuracy at the last epoch;
- ``costs.png``: per epoch, the solver's wall time and its own main cost (QPU
  access time, crossbar energy or spin updates) per phase, and the weight
  backend's write pulses and energy;
- ``test_energies.png``: energies of the reads the test predictions were made
  from, the lowest-energy read of each test example split by whether it
  predicted the right class.

matplotlib is imported only when a figure is drawn (the ``plots`` extra:
``pip install 'eqising[plots]'``); figures are drawn on matplotlib's
``Figure`` objects directly, without pyplot or a display, and each PNG is
written atomically.
"""

from __future__ import annotations

import importlib.util
import io
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from ._validation import InvalidParameterError

__all__ = [
    "FIGURES",
    "cost_figure",
    "learning_curves_figure",
    "matplotlib_missing",
    "test_energy_figure",
    "write_figures",
]

#: File names of the figures, in the order they are written.
FIGURES = ("learning_curves.png", "costs.png", "test_energies.png")

#: The solver's own cost drawn in ``costs.png``: the first of these keys that a run recorded as non-zero.
_SOLVER_COST_KEYS = (
    ("qpu_access_seconds", "estimated QPU access (s)"),
    ("energy_joules", "crossbar energy (J)"),
    ("spin_updates", "spin updates"),
)

#: Keys of the summary the figures need (``eqising train`` writes them).
REQUIRED_KEYS = ("history", "test_reads", "test_accuracy")


def matplotlib_missing() -> bool:
    """Whether matplotlib cannot be imported (the ``plots`` extra is not installed)."""
    return importlib.util.find_spec("matplotlib") is None


def _figure(width: float, height: float, ncols: int) -> tuple[Any, list[Any]]:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), layout="constrained")
    axes = fig.subplots(1, ncols, squeeze=False)[0]
    return fig, list(axes)


def _epoch_axes(*axes: Any) -> None:
    from matplotlib.ticker import MaxNLocator

    for ax in axes:
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel("epoch")


def _title(summary: Mapping[str, Any]) -> str:
    return (f"{summary.get('dataset', '?')} {summary.get('network', '')}, solver {summary.get('solver', '?')}, "
            f"backend {summary.get('backend', '?')}, seed {summary.get('seed', '?')}")


def learning_curves_figure(summary: Mapping[str, Any]) -> Any:
    """Training accuracy and loss per epoch, and the test accuracy.

    Parameters
    ----------
    summary : mapping
        The summary of ``eqising train`` (``history['accuracy']``,
        ``history['loss']``, ``test_accuracy``).

    Returns
    -------
    matplotlib.figure.Figure
    """
    history = summary["history"]
    epochs = np.arange(1, len(history["accuracy"]) + 1)
    fig, (ax1, ax2) = _figure(9, 3.4, 2)
    ax1.plot(epochs, history["accuracy"], marker="o", ms=3, label="training (free-phase reads)")
    ax1.scatter([epochs[-1]], [summary["test_accuracy"]], color="C3", zorder=3,
                label=f"test: {summary['test_accuracy']:.3f}")
    ax1.set_ylabel("accuracy")
    ax1.legend(fontsize=8)
    ax2.plot(epochs, history["loss"], marker="o", ms=3, color="C1")
    ax2.set_ylabel("free-phase output cost")
    _epoch_axes(ax1, ax2)
    fig.suptitle(_title(summary), fontsize=9)
    return fig


def _per_phase(curve: list[Mapping[str, Mapping[str, float]]], key: str) -> dict[str, np.ndarray]:
    phases = sorted({phase for epoch in curve for phase in epoch})
    return {phase: np.array([float(epoch.get(phase, {}).get(key, 0.0)) for epoch in curve]) for phase in phases}


def cost_figure(summary: Mapping[str, Any]) -> Any:
    """Solver and backend cost per epoch.

    Parameters
    ----------
    summary : mapping
        The summary of ``eqising train`` (``history['solver_cost']``: per
        epoch and phase the additive solver costs; ``history['backend_cost']``:
        per epoch the backend cost record).

    Returns
    -------
    matplotlib.figure.Figure
    """
    history = summary["history"]
    solver_curve, backend_curve = history["solver_cost"], history["backend_cost"]
    epochs = np.arange(1, len(solver_curve) + 1)
    fig, (ax1, ax2, ax3) = _figure(12, 3.4, 3)
    for phase, values in _per_phase(solver_curve, "solver_seconds").items():
        ax1.plot(epochs, values, marker="o", ms=3, label=phase)
    ax1.set_ylabel("solver wall time (s)")
    ax1.legend(fontsize=8, title="phase", title_fontsize=8)
    for key, label in _SOLVER_COST_KEYS:
        curves = _per_phase(solver_curve, key)
        if any(np.any(v) for v in curves.values()):
            for phase, values in curves.items():
                ax2.plot(epochs, values, marker="o", ms=3, label=phase)
            ax2.set_ylabel(label)
            ax2.legend(fontsize=8, title="phase", title_fontsize=8)
            break
    else:
        ax2.text(0.5, 0.5, "the solver recorded no cost\nbeyond its wall time", ha="center", va="center",
                 transform=ax2.transAxes)
    pulses = np.array([float(c.get("pulses", 0.0)) for c in backend_curve])
    joules = np.array([float(c.get("energy_joules", 0.0)) for c in backend_curve])
    if np.any(pulses) or np.any(joules):
        ax3.bar(epochs, pulses, color="C2", label="write pulses")
        ax3.set_ylabel("write pulses (int8 steps on mcu-int8)")
        if np.any(joules):
            twin = ax3.twinx()
            twin.plot(epochs, joules, color="C3", marker="o", ms=3)
            twin.set_ylabel("energy (J)", color="C3")
    else:
        ax3.text(0.5, 0.5, f"backend {summary.get('backend', '?')!r}:\nno device cost", ha="center",
                 va="center", transform=ax3.transAxes)
        ax3.set_yticks([])
    _epoch_axes(ax1, ax2, ax3)
    fig.suptitle(_title(summary), fontsize=9)
    return fig


def test_energy_figure(summary: Mapping[str, Any]) -> Any:
    """Energies of the test reads.

    Parameters
    ----------
    summary : mapping
        The summary of ``eqising train`` (``test_reads['energies']``: per test
        example the energies of its reads; ``test_reads['correct']``: whether
        its prediction was right).

    Returns
    -------
    matplotlib.figure.Figure
    """
    reads = summary["test_reads"]
    energies = np.asarray(reads["energies"], dtype=np.float64)
    correct = np.asarray(reads["correct"], dtype=bool)
    lowest = energies.min(axis=1)
    fig, (ax1, ax2) = _figure(9, 3.4, 2)
    bins = np.histogram_bin_edges(energies, bins=40)
    ax1.hist(energies.ravel(), bins=bins, color="C7")
    ax1.set_xlabel("energy E(s; x)")
    ax1.set_ylabel("reads")
    ax1.set_title(f"all {energies.size} test reads ({energies.shape[1]} per example)", fontsize=9)
    ax2.hist([lowest[correct], lowest[~correct]], bins=bins, stacked=True, color=["C0", "C3"],
             label=[f"right ({correct.sum()})", f"wrong ({(~correct).sum()})"])
    ax2.set_xlabel("energy of the lowest-energy read")
    ax2.set_ylabel("test examples")
    ax2.set_title("the read each prediction was made from", fontsize=9)
    ax2.legend(fontsize=8)
    fig.suptitle(_title(summary), fontsize=9)
    return fig


_DRAW = {"learning_curves.png": learning_curves_figure, "costs.png": cost_figure, "test_energies.png": test_energy_figure}


def write_figures(summary: Mapping[str, Any], directory: str | os.PathLike, *, owner: str = "write_figures") -> list[Path]:
    """Draw every figure of :data:`FIGURES` from ``summary`` into ``directory`` as PNG.

    Parameters
    ----------
    summary : mapping
        The summary of ``eqising train`` (as saved in ``summary.json``).
    directory : path
        Existing folder to write into.
    owner : str, default='write_figures'
        Who is asking, for error messages (e.g. ``'eqising plot'``).

    Returns
    -------
    list of Path
        The files written.

    Raises
    ------
    InvalidParameterError
        When matplotlib is missing or the summary lacks what the figures need
        (checked before anything is written).
    """
    from ._files import write_file

    if matplotlib_missing():
        raise InvalidParameterError(
            f"{owner} draws its figures with matplotlib, which is not installed: pip install 'eqising[plots]'."
        )
    missing = [key for key in REQUIRED_KEYS if key not in summary]
    if missing:
        raise InvalidParameterError(
            f"The 'summary' of {owner} must hold {list(REQUIRED_KEYS)} (written by eqising train --out). "
            f"Got a summary without {missing} instead."
        )
    folder = Path(directory)
    figures = [(name, draw(summary)) for name, draw in _DRAW.items()]  # draw all before writing any
    written = []
    for name, fig in figures:
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", dpi=100)
        write_file(folder / name, buffer.getvalue())
        written.append(folder / name)
    return written
