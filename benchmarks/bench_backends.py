"""Train digits on every weight backend with the same seed and schedule; tabulate accuracy and write cost.

Every row trains :class:`eqising.EqPropClassifier` with the estimator's
defaults (the ``eqising train`` recipe) on the fixed digits split of the CLI,
with the same ``random_state``: the same minibatches, solver seeds and
optimizer, so rows differ only in where the weights live. Columns: test
accuracy, fraction of weights frozen (pruned) at the end, write pulses, pulses
skipped by pruning, saturations, write and total energy (total adds the
closed-loop read after every update), write time (parallel pulse trains),
and training wall time. The README quotes the table.

Examples
--------
::

    python benchmarks/bench_backends.py                        # all rows, seed 0
    python benchmarks/bench_backends.py --rows ideal ecram --seed 1 --out backends.md

Wall times are only comparable between rows of one run on a quiet machine.
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from pathlib import Path

from threadpoolctl import threadpool_limits

from eqising import EqPropClassifier, load_dataset
from eqising.comparison.report import write_text  # atomic: a finished file or none

PRUNE = {"prune_ratio": 0.6, "prune_start": 200, "prune_window": 100, "prune_step": 0.1}

#: name -> (backend, backend_params, target test accuracy or None, target frozen fraction or None)
ROWS: dict[str, tuple[str, dict, float | None, float | None]] = {
    "ideal": ("ideal", {}, 0.97, None),
    "ecram": ("ecram", {}, 0.93, None),
    "ecram-metal-oxide": ("ecram", {"preset": "metal-oxide"}, None, None),
    "ecram-organic": ("ecram", {"preset": "organic"}, None, None),
    "cbram": ("cbram", {}, None, None),
    "cbram-soft-pruning": ("cbram", {"pruning": "soft", **PRUNE}, 0.90, 0.5),
    "cbram-hard-pruning": ("cbram", {"pruning": "hard", **PRUNE}, None, None),
    "cbram-soft-pruning-0.8": ("cbram", {"pruning": "soft", **PRUNE, "prune_ratio": 0.8}, None, None),
    "cbram-hard-pruning-0.8": ("cbram", {"pruning": "hard", **PRUNE, "prune_ratio": 0.8}, None, None),
}

COLUMNS = [
    "row", "backend_params", "test_accuracy", "target", "frozen", "pulses", "pulses_skipped", "saturations",
    "write_joules", "energy_joules", "write_seconds", "train_seconds",
]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--rows", nargs="+", choices=list(ROWS), default=list(ROWS))
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--epochs", type=int, default=EqPropClassifier().max_iter)
    p.add_argument("--blas-threads", type=int, default=1)
    p.add_argument("--out", default=None, help="write the table here too: .csv for rows, else Markdown")
    return p.parse_args(argv)


def run_row(name: str, data, args: argparse.Namespace) -> dict:
    backend, params, target_acc, target_frozen = ROWS[name]
    clf = EqPropClassifier(backend=backend, backend_params=params, max_iter=args.epochs, random_state=args.seed)
    start = time.perf_counter()
    clf.fit(data.X_train, data.y_train)
    seconds = time.perf_counter() - start
    acc = float(clf.score(data.X_test, data.y_test))
    frozen = clf.backend_.diagnostics().get("frozen_fraction")
    targets = []
    if target_acc is not None:
        targets.append(f"acc >= {target_acc}: {'met' if acc >= target_acc else 'NOT met'}")
    if target_frozen is not None:
        targets.append(f"frozen >= {target_frozen}: {'met' if frozen >= target_frozen else 'NOT met'}")
    cost = clf.backend_cost_
    return {
        "row": name,
        "backend_params": params,
        "test_accuracy": acc,
        "target": "; ".join(targets),
        "frozen": frozen,
        **{k: cost[k] for k in ("pulses", "pulses_skipped", "saturations", "write_joules", "energy_joules", "write_seconds")},
        "train_seconds": seconds,
    }


def _fmt(key: str, value) -> str:
    if value is None or value == "":
        return "-"
    if key == "test_accuracy":
        return f"{value:.3f}"
    if key == "frozen":
        return f"{value:.2f}"
    if key in ("pulses", "pulses_skipped", "saturations"):
        return f"{value:.3g}" if value >= 1e6 else f"{int(value)}"
    if key == "train_seconds":
        return f"{value:.0f}"
    if isinstance(value, float):
        return f"{value:.2e}"
    if isinstance(value, dict):
        return ", ".join(f"{k}={v}" for k, v in value.items() if PRUNE.get(k, None) != v) or "defaults"
    return str(value)


def markdown(rows: list[dict]) -> str:
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    lines += ["| " + " | ".join(_fmt(c, r[c]) for c in COLUMNS) + " |" for r in rows]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    data = load_dataset("digits", random_state=0)  # the CLI's fixed split
    rows = []
    with threadpool_limits(args.blas_threads):
        for name in args.rows:
            rows.append(run_row(name, data, args))
            print(f"{name}: test accuracy {rows[-1]['test_accuracy']:.3f} ({rows[-1]['train_seconds']:.0f} s)", file=sys.stderr)
    table = markdown(rows)
    print(f"digits ({len(data.X_train)} train / {len(data.X_test)} test), seed {args.seed}, {args.epochs} epochs; "
          f"pruning {PRUNE}\n")
    print(table)
    if args.out:
        path = Path(args.out)
        if path.suffix == ".csv":
            with path.open("w", newline="") as fh:
                writer = csv.DictWriter(fh, fieldnames=COLUMNS)
                writer.writeheader()
                writer.writerows(rows)
        else:
            write_text(path, table + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
