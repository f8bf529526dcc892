"""Soft against hard pruning during training on CBRAM, accuracy against pruned fraction (Shi et al., Nat. Commun. 2018).

Every run trains :class:`eqising.EqPropClassifier` on the ``cbram`` backend
with the estimator's defaults except ``max_iter`` (``--epochs``), on MNIST
(``--train-size`` / ``--test-size`` of the shared IDX files; 7,000 / 1,000 is
all of them) or digits. For every fraction in ``--fractions`` and mode
``soft`` (frozen weights keep their value and get no more pulses) and
``hard`` (the same kind of selection, the weights removed), the backend's
pruning schedule freezes ``prune_step`` of each layer per window of
``prune_window`` updates after ``prune_start`` updates, up to the fraction
(``prune_ratio``). By default pruning starts after a quarter of the run's
updates, when the weights have had time to mature (Shi et al. freeze
*matured* weights; frozen early, a soft-pruned weight keeps its random
initial value). Fraction 0 is the unpruned CBRAM run (the same for both
modes); an ``ideal`` (float) run per seed is the reference.

Columns: test accuracy, fraction frozen at the end, write pulses, pulses
skipped, pulses saved against the unpruned run of the same seed, write and
total energy (total adds the closed-loop read after every update) and write
energy saved. Means +- standard deviations over ``--seeds``.

Examples
--------
::

    python benchmarks/bench_pruning.py --epochs 15 --out pruning.md --plot pruning.png
    python benchmarks/bench_pruning.py --dataset digits --seeds 0 --fractions 0 0.75
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from eqising import EqPropClassifier, load_dataset
from eqising.comparison.report import write_text  # atomic: a finished file or none


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--dataset", choices=["mnist", "digits"], default="mnist")
    p.add_argument("--data-dir", default="../shared/datasets/mnist")
    p.add_argument("--train-size", type=int, default=7000)
    p.add_argument("--test-size", type=int, default=1000)
    p.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    p.add_argument("--fractions", nargs="+", type=float, default=[0.0, 0.25, 0.5, 0.75, 0.9])
    p.add_argument("--epochs", type=int, default=20)
    p.add_argument("--prune-start", type=int, default=None,
                   help="updates before the first freeze (default: a quarter of the run's updates)")
    p.add_argument("--prune-window", type=int, default=100)
    p.add_argument("--prune-step", type=float, default=0.1)
    p.add_argument("--out", default=None, help="write the Markdown table here too")
    p.add_argument("--json", default=None, help="write every run's numbers here (JSON)")
    p.add_argument("--plot", default=None, help="write accuracy and pulses saved against the fraction here (PNG)")
    return p.parse_args(argv)


def run(backend: str, params: dict, data, seed: int, epochs: int) -> dict:
    clf = EqPropClassifier(backend=backend, backend_params=params, max_iter=epochs, random_state=seed)
    start = time.perf_counter()
    clf.fit(data.X_train, data.y_train)
    out = {"accuracy": float(clf.score(data.X_test, data.y_test)), "seconds": time.perf_counter() - start,
           "frozen": clf.backend_.diagnostics().get("frozen_fraction", 0.0)}
    if backend != "ideal":
        out.update({k: float(clf.backend_cost_[k]) for k in ("pulses", "pulses_skipped", "write_joules", "energy_joules")})
    return out


def _pm(values, fmt: str) -> str:
    v = np.asarray(values, dtype=float)
    return f"{format(v.mean(), fmt)} +- {format(v.std(), fmt)}"


def summarise(runs: dict[str, dict[int, dict]]) -> list[dict]:
    """Per row (mode, fraction): per-seed metrics with savings against the unpruned run of each seed."""
    rows = []
    for key, by_seed in runs.items():
        if key == "ideal":
            continue
        mode, fraction = key.split("@")
        per = []
        for seed, r in by_seed.items():
            base = runs["none@0"][seed]
            per.append({**r, "pulses_saved": 1 - r["pulses"] / base["pulses"],
                        "write_saved": 1 - r["write_joules"] / base["write_joules"],
                        "energy_saved": 1 - r["energy_joules"] / base["energy_joules"]})
        rows.append({"mode": mode, "fraction": float(fraction), "runs": per})
    return rows


def markdown(rows: list[dict], ideal: dict[int, dict]) -> str:
    head = ["pruning", "fraction", "test accuracy", "frozen at end", "pulses", "pulses skipped", "pulses saved",
            "write energy (J)", "write energy saved", "total energy (J)", "total energy saved"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines.append(f"| none (ideal, float) | - | {_pm([r['accuracy'] for r in ideal.values()], '.3f')} |"
                 + " - |" * (len(head) - 3))
    for row in rows:
        runs = row["runs"]
        col = {m: [r[m] for r in runs] for m in runs[0]}
        cells = [
            "none" if row["mode"] == "none" else row["mode"], f"{row['fraction']:.2f}", _pm(col["accuracy"], ".3f"),
            _pm(col["frozen"], ".2f"), _pm(col["pulses"], ".3g"), _pm(col["pulses_skipped"], ".3g"),
            _pm(100 * np.asarray(col["pulses_saved"]), ".1f") + " %", _pm(col["write_joules"], ".3g"),
            _pm(100 * np.asarray(col["write_saved"]), ".1f") + " %", _pm(col["energy_joules"], ".3g"),
            _pm(100 * np.asarray(col["energy_saved"]), ".1f") + " %",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def plot(rows: list[dict], ideal: dict[int, dict], path: str, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    base = next(r for r in rows if r["mode"] == "none")
    fig, (ax_acc, ax_pulses) = plt.subplots(1, 2, figsize=(10, 4))
    for mode, marker in (("soft", "o"), ("hard", "s")):
        pts = [base] + sorted((r for r in rows if r["mode"] == mode), key=lambda r: r["fraction"])
        x = [r["fraction"] for r in pts]
        for ax, metric, scale in ((ax_acc, "accuracy", 1.0), (ax_pulses, "pulses_saved", 100.0)):
            vals = [scale * np.asarray([q[metric] for q in r["runs"]]) for r in pts]
            ax.errorbar(x, [v.mean() for v in vals], yerr=[v.std() for v in vals], marker=marker, capsize=3,
                        label=f"{mode} pruning")
    ax_acc.axhline(np.mean([r["accuracy"] for r in ideal.values()]), color="gray", ls="--", label="ideal (float)")
    ax_acc.set(xlabel="pruned fraction of the weights", ylabel="test accuracy", title=title)
    ax_pulses.set(xlabel="pruned fraction of the weights", ylabel="write pulses saved (%)",
                  title="pulses saved against the unpruned CBRAM run")
    for ax in (ax_acc, ax_pulses):
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.dataset == "mnist":
        data = load_dataset("mnist", data_dir=args.data_dir, train_size=args.train_size, test_size=args.test_size)
    else:
        data = load_dataset("digits", random_state=0)
    steps_per_epoch = -(-len(data.X_train) // EqPropClassifier().batch_size)
    start_at = args.prune_start if args.prune_start is not None else args.epochs * steps_per_epoch // 4
    schedule = {"prune_start": start_at, "prune_window": args.prune_window, "prune_step": args.prune_step}
    configs = [("ideal", "ideal", {}), ("none@0", "cbram", {})]
    for fraction in args.fractions:
        if fraction > 0:
            for mode in ("soft", "hard"):
                configs.append((f"{mode}@{fraction}", "cbram", {"pruning": mode, "prune_ratio": fraction, **schedule}))
    runs: dict[str, dict[int, dict]] = {}
    start = time.perf_counter()
    for seed in args.seeds:
        for key, backend, params in configs:
            runs.setdefault(key, {})[seed] = run(backend, params, data, seed, args.epochs)
            r = runs[key][seed]
            print(f"seed {seed} {key}: accuracy {r['accuracy']:.3f}, frozen {r['frozen']:.2f} ({r['seconds']:.0f} s, "
                  f"{time.perf_counter() - start:.0f} s in all)", file=sys.stderr, flush=True)
    rows = summarise(runs)
    desc = (f"{args.dataset} ({len(data.X_train)} train / {len(data.X_test)} test), seeds {args.seeds}, "
            f"{args.epochs} epochs, cbram defaults, schedule {schedule} "
            f"({steps_per_epoch} updates per epoch)")
    table = markdown(rows, runs["ideal"])
    print(desc + "\n")
    print(table)
    if args.out:
        write_text(Path(args.out), desc + "\n\n" + table + "\n")
    if args.json:
        write_text(Path(args.json), json.dumps({"description": desc, "runs": runs}, indent=1))
    if args.plot:
        plot(rows, runs["ideal"], args.plot, f"{args.dataset}-{len(data.X_train)}, {args.epochs} epochs, CBRAM")
    return 0


if __name__ == "__main__":
    sys.exit(main())
