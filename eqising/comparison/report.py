"""Tables of a comparison: runs as CSV and JSON, the summary as JSON and Markdown."""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from .._files import write_file
from .run import BASE_COLUMNS

__all__ = ["jsonable", "markdown_summary", "runs_csv", "write_text"]


def jsonable(value: Any) -> Any:
    """``value`` with NaN and infinities as None (strict JSON), recursively."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    return value


def write_text(path: Path, text: str) -> Path:
    """Write ``text`` to ``path`` atomically."""
    write_file(path, text.encode())
    return path


def runs_csv(rows: Sequence[Mapping[str, Any]]) -> str:
    """One line per run: :data:`~eqising.comparison.run.BASE_COLUMNS`, every cost column, the parameters as JSON."""
    costs = sorted({k for r in rows for k in r if k.startswith(("solver.", "backend."))})
    columns = [*BASE_COLUMNS, *costs, "params"]
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in rows:
        line = {k: row.get(k, "") for k in columns}
        line["params"] = json.dumps(row.get("params", {}), sort_keys=True)
        writer.writerow(line)
    return buffer.getvalue()


def _pm(mean: float | None, std: float | None, fmt: str) -> str:
    if mean is None:
        return "-"
    return format(mean, fmt) + ("" if std is None else " +- " + format(std, fmt))


def _interval(diff: Mapping[str, Any]) -> str:
    if diff["mean"] is None:
        return "-"
    text = f"{diff['mean']:+.3f}"
    if diff["low"] is not None:
        text += f" [{diff['low']:+.3f}, {diff['high']:+.3f}]"
    return text


def _phase_total(mean: Mapping[str, Any], key: str) -> float | None:
    """Sum over solver phases of the mean ``solver.<phase>.<key>``; None where no phase reports it."""
    values = [v for k, v in mean.items() if k.startswith("solver.") and k.rsplit(".", 1)[-1] == key and v is not None]
    return float(sum(values)) if values else None


def _qpu_lines(summary: Mapping[str, Any]) -> list[str]:
    """A table of QPU time for the targets whose solver reports D-Wave's timing fields (none: no lines)."""
    rows = [(t["target"], _phase_total(t["mean"], "qpu_access_seconds"), _phase_total(t["mean"], "qpu_calls"),
             _phase_total(t["mean"], "qpu_examples")) for t in summary["targets"]]
    rows = [row for row in rows if row[1] is not None]
    if not rows:
        return []
    reference = next((access for name, access, _, _ in rows if name == summary["reference"]), None)
    lines = ["", "QPU time (the solver's timing fields, free and nudged phases together; mean over seeds). "
             "An example-phase is one example's anneal in one phase.", "",
             "| target | QPU calls | QPU access s | access per example-phase (ms) | QPU access, reference / target |",
             "| --- | --- | --- | --- | --- |"]
    for name, access, calls, examples in rows:
        per = "-" if not examples else format(1000.0 * access / examples, ".3f")
        if name == summary["reference"]:
            ratio = "reference"
        else:
            ratio = "-" if reference is None or access <= 0 else f"{reference / access:.2f}x"
        lines.append(f"| {name} | {_pm(calls, None, '.0f')} | {access:.3f} | {per} | {ratio} |")
    return lines


def markdown_summary(summary: Mapping[str, Any]) -> str:
    """The summary as Markdown: one table row per target, then skipped targets and failed runs."""
    ref = summary["reference"]
    lines = [
        f"# eqising compare: {summary['dataset']['name']} "
        f"({summary['dataset']['n_train']} train / {summary['dataset']['n_test']} test), "
        f"seeds {', '.join(map(str, summary['seeds']))}",
        "",
        f"Mean +- std over seeds. Difference: paired by seed, test accuracy minus that of `{ref}`, "
        "with its 95% t interval.",
        "",
        "| target | solver | backend | runs | test accuracy | difference to reference [95% CI] | train s "
        "| solver s | spin updates | training energy (J) |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for t in summary["targets"]:
        m, s = t["mean"], t["std"]
        runs = f"{t['runs']}" + (f" ({t['failed']} failed)" if t["failed"] else "")
        diff = "reference" if t["target"] == ref else _interval(t["difference_to_reference"])
        lines.append(
            f"| {t['target']} | {t['solver'] or '-'} | {t['backend'] or '-'} | {runs} "
            f"| {_pm(m.get('test_accuracy'), s.get('test_accuracy'), '.3f')} | {diff} "
            f"| {_pm(m.get('train_seconds'), s.get('train_seconds'), '.1f')} "
            f"| {_pm(m.get('solver_seconds'), s.get('solver_seconds'), '.1f')} "
            f"| {_pm(m.get('spin_updates'), None, '.2e')} "
            f"| {_pm(m.get('energy_joules'), None, '.3g')} |"
        )
    lines += _qpu_lines(summary)
    if summary["skipped"]:
        lines += ["", "Skipped (cannot run):", ""]
        lines += [f"- `{s['target']}`: {s['reason']}" for s in summary["skipped"]]
    if summary["failed_runs"]:
        lines += ["", "Failed runs:", ""]
        lines += [f"- `{r['target']}` seed {r['seed']}: {r['error']}" for r in summary["failed_runs"]]
    return "\n".join(lines) + "\n"
