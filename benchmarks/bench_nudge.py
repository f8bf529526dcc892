"""Compare EqProp nudging modes and strengths: test accuracy and training time.

Trains an :class:`eqising.EqPropClassifier` for every (nudge mode, nudge
strength, seed) and prints a Markdown table with the test accuracy (mean and
spread over seeds; prediction = lowest-energy of ``num_reads`` anneals) and the
training wall time. This is the benchmark that chooses the default
``nudge_mode`` / ``nudge`` (DESIGN.md, section 2, "Nudging").

Examples
--------
::

    python benchmarks/bench_nudge.py                                   # digits, all modes
    python benchmarks/bench_nudge.py --modes positive --nudges 1 2 4 --seeds 0 1 2
    python benchmarks/bench_nudge.py --dataset mnist --data-dir ../shared/datasets/mnist \\
        --train-size 1000 --test-size 1000 --epochs 30 --out nudge_mnist.md

Timings are wall-clock seconds of training on this machine; they are only
comparable between rows of the same run (other processes may share the CPU).
BLAS is limited to one thread (``--blas-threads``): the matrices are small, and
multi-threaded OpenBLAS was measured 7x slower on them when the 2 cores are
shared with another process.

Every other hyper-parameter is the estimator's default unless given here
(``--lr-decay`` is ``learning_rate_decay``; ``--no-skip`` turns off the
skip-correct rule). The README quotes the tables this script printed.
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

from eqising import EqPropClassifier
from eqising.comparison.report import write_text  # atomic: a finished file or none
from eqising.datasets import load_dataset


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--dataset", choices=["digits", "mnist"], default="digits")
    p.add_argument("--data-dir", default=None, help="folder with the MNIST IDX files (for --dataset mnist)")
    p.add_argument("--train-size", type=int, default=None, help="first N training examples (default: all)")
    p.add_argument("--test-size", type=int, default=None, help="first N test examples (default: all)")
    p.add_argument("--modes", nargs="+", default=["positive", "symmetric", "random-sign"])
    p.add_argument("--nudges", nargs="+", type=float, default=[0.5, 1.0, 2.0, 4.0])
    p.add_argument("--epochs", type=int, default=60)
    p.add_argument("--seeds", nargs="+", type=int, default=[0, 1])
    d = EqPropClassifier().get_params()
    p.add_argument("--learning-rate", type=lambda t: t if t == "auto" else float(t), default=d["learning_rate"])
    p.add_argument("--optimizer", choices=["auto", "sgd", "adam"], default=d["optimizer"])
    p.add_argument("--batch-size", type=int, default=d["batch_size"])
    p.add_argument("--num-sweeps", type=int, default=50)
    p.add_argument("--lr-decay", type=lambda t: t if t == "auto" else float(t), default=d["learning_rate_decay"],
                   help="learning-rate factor per epoch")
    p.add_argument("--no-skip", action="store_true", help="update from reads whose free output is already correct")
    p.add_argument("--balanced", action="store_true", help="balanced_nudge=True (non-target outputs weighted 1/(C-1))")
    p.add_argument("--blas-threads", type=int, default=1)
    p.add_argument("--num-reads", type=int, default=10, help="anneals per test example (best one predicts)")
    p.add_argument("--out", default=None, help="write the table here too: .csv for per-run rows, else Markdown")
    return p.parse_args(argv)


def run_one(data, mode: str, nudge: float, seed: int, args: argparse.Namespace) -> dict:
    """Fit one classifier; return its test accuracy, train accuracy and fit seconds."""
    clf = EqPropClassifier(
        nudge=nudge,
        nudge_mode=mode,
        learning_rate=args.learning_rate,
        optimizer=args.optimizer,
        batch_size=args.batch_size,
        max_iter=args.epochs,
        num_reads=args.num_reads,
        solver="annealing",
        solver_params={"num_sweeps": args.num_sweeps},
        learning_rate_decay=args.lr_decay,
        skip_correct=not args.no_skip,
        balanced_nudge=args.balanced,
        random_state=seed,
    )
    start = time.perf_counter()
    clf.fit(data.X_train, data.y_train)
    seconds = time.perf_counter() - start
    test_acc = clf.score(data.X_test, data.y_test)
    return {
        "mode": mode,
        "nudge": nudge,
        "seed": seed,
        "test_accuracy": test_acc,
        "train_accuracy_last_epoch": clf.accuracy_curve_[-1],
        "fit_seconds": seconds,
        "solver_seconds": clf.solver_seconds_,
    }


def markdown_table(rows: list[dict], args: argparse.Namespace) -> str:
    """One line per (mode, nudge): accuracy mean +- std over seeds, min, fit seconds."""
    lines = [
        f"Dataset {args.dataset}, {args.epochs} epochs, {args.optimizer} lr {args.learning_rate} "
        f"(x{args.lr_decay if isinstance(args.lr_decay, str) else format(args.lr_decay, 'g')}/epoch), batch {args.batch_size}, {args.num_sweeps} sweeps, "
        f"skip-correct {'off' if args.no_skip else 'on'}, balanced nudge {'on' if args.balanced else 'off'}, "
        f"seeds {args.seeds}; "
        f"test = best of {args.num_reads} reads",
        "",
        "| mode | nudge | test acc (mean +- std) | min | train acc (last epoch) | fit s (mean) |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    keys = list(dict.fromkeys((r["mode"], r["nudge"]) for r in rows))
    for mode, nudge in keys:
        sel = [r for r in rows if r["mode"] == mode and r["nudge"] == nudge]
        acc = np.array([r["test_accuracy"] for r in sel])
        lines.append(
            f"| {mode} | {nudge:g} | {acc.mean():.4f} +- {acc.std():.4f} | {acc.min():.4f} | "
            f"{np.mean([r['train_accuracy_last_epoch'] for r in sel]):.4f} | "
            f"{np.mean([r['fit_seconds'] for r in sel]):.1f} |"
        )
    return "\n".join(lines)


def _run_all(data, args: argparse.Namespace, rows: list[dict]) -> None:
    for mode in args.modes:
        for nudge in args.nudges:
            for seed in args.seeds:
                row = run_one(data, mode, nudge, seed, args)
                rows.append(row)
                print(
                    f"{mode:>11} nudge {nudge:<4g} seed {seed}: test {row['test_accuracy']:.4f} "
                    f"({row['fit_seconds']:.1f} s)",
                    file=sys.stderr,
                    flush=True,
                )


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    data = load_dataset(args.dataset, data_dir=args.data_dir, train_size=args.train_size, test_size=args.test_size)
    rows: list[dict] = []
    with threadpool_limits(limits=args.blas_threads):
        _run_all(data, args, rows)
    table = markdown_table(rows, args)
    print(table)
    if args.out:
        out = Path(args.out)
        if out.suffix == ".csv":
            with out.open("w", newline="") as f:
                writer = csv.DictWriter(f, fieldnames=list(rows[0]))
                writer.writeheader()
                writer.writerows(rows)
        else:
            write_text(out, table + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
