"""Test accuracy of EqProp settings x seeds on digits, MNIST-1k and MNIST-7k, beside scikit-learn's MLP.

Every (dataset, setting) is one target of :func:`eqising.compare`, run at
every seed on the same split (so the runs are paired by seed and cached in
``--out``: an interrupted benchmark resumes, a finished one re-prints at once).
A setting is a dict of :class:`eqising.EqPropClassifier` parameters over the
dataset's measured defaults (:attr:`eqising.datasets.Dataset.training_defaults`,
what ``eqising train --dataset ...`` uses). Beside them, scikit-learn's
backprop ``MLPClassifier`` with the same hidden layers runs on the same split
at the same seeds, once on the images as given and, where the dataset's
defaults shift-augment, once with the same shifts (one ``partial_fit`` per
epoch over freshly shifted images), so each EqProp number has its honest
backprop counterpart.

This is the benchmark that chose the defaults quoted in the README's
"Accuracy" section; it prints one Markdown table (mean +- std, min and max over
seeds, mean training seconds).

Examples
--------
::

    python benchmarks/bench_accuracy.py --data-dir ../shared/datasets/mnist          # the README's table
    python benchmarks/bench_accuracy.py --datasets digits --settings default no-shift --seeds 0 1 2
    python benchmarks/bench_accuracy.py --datasets mnist-7k --settings default symmetric --jobs 2
    python benchmarks/bench_accuracy.py --datasets mnist-1k \\
        --setting wide='{"hidden_layer_sizes": [256]}' --settings default wide

Training seconds come from runs that share the machine with ``--jobs - 1``
others; compare them within one table only.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from eqising import compare, load_dataset
from eqising.augment import image_shape_for, shift_images
from eqising.comparison import Target
from eqising.comparison.report import write_text
from eqising.seeding import SeedSource

#: Named settings: estimator parameters over the dataset's defaults.
SETTINGS: dict[str, dict[str, Any]] = {
    "default": {},
    "no-shift": {"shift_augment": 0},
    "shift-2": {"shift_augment": 2},
    "symmetric": {"nudge_mode": "symmetric", "balanced_nudge": True},
    "positive-balanced": {"balanced_nudge": True},
    "two-hidden": {"hidden_layer_sizes": (256, 128)},
    "wide": {"hidden_layer_sizes": (256,)},
}

#: What runs when --settings is not given: the rows of the README's table.
PLAN: dict[str, list[str]] = {
    "digits": ["default"],
    "mnist-1k": ["default", "no-shift", "two-hidden"],
    "mnist-7k": ["default", "symmetric"],
}

DATASETS = {"digits": ("digits", None), "mnist-1k": ("mnist", 1000), "mnist-7k": ("mnist", 7000)}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--datasets", nargs="+", choices=sorted(DATASETS), default=list(DATASETS))
    p.add_argument("--data-dir", default="../shared/datasets/mnist", help="folder with the MNIST IDX files")
    p.add_argument("--settings", nargs="+", default=None,
                   help=f"setting names (default: per dataset {PLAN}); known: {sorted(SETTINGS)}")
    p.add_argument("--setting", action="append", default=[], metavar="NAME=JSON",
                   help="define another setting, e.g. wide='{\"hidden_layer_sizes\": [256]}'")
    p.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2, 3, 4])
    p.add_argument("--jobs", type=int, default=1, help="runs at a time (joblib processes)")
    p.add_argument("--no-mlp", action="store_true", help="skip scikit-learn's MLP")
    p.add_argument("--mlp-seeds", nargs="+", type=int, default=None, help="seeds of the MLP runs (default: --seeds)")
    p.add_argument("--out", default="bench-accuracy", help="folder for the run caches and the table")
    args = p.parse_args(argv)
    for text in args.setting:
        name, sep, spec = text.partition("=")
        try:
            params = json.loads(spec) if sep else None
        except json.JSONDecodeError:
            params = None
        if not name or not isinstance(params, dict):
            p.error(f"--setting must be NAME='{{json object}}'; got {text!r}")
        SETTINGS[name] = params
    for name in args.settings or []:
        if name not in SETTINGS:
            p.error(f"--settings: unknown setting {name!r}; known: {sorted(SETTINGS)} (or define it with --setting)")
    return args


def mlp_accuracy(data: Any, hidden: tuple[int, ...], seed: int, shift: int, image_shape: Any,
                 epochs: int = 200) -> tuple[float, float]:
    """Test accuracy and training seconds of ``MLPClassifier(hidden)``; ``shift > 0`` shifts the images every epoch."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    clf = MLPClassifier(hidden_layer_sizes=hidden, max_iter=epochs, random_state=seed)
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        if shift == 0:
            clf.fit(data.X_train, data.y_train)
        else:
            shape = image_shape_for(data.X_train.shape[1], image_shape, "bench_accuracy")
            classes = np.unique(data.y_train)
            source = SeedSource(seed)
            for epoch in range(epochs):
                X = shift_images(data.X_train, shape, shift, source.generator("mlp-augment", epoch))
                clf.partial_fit(X, data.y_train, classes=classes)
    return float(clf.score(data.X_test, data.y_test)), time.perf_counter() - start


def _stats(values: list[float]) -> str:
    v = np.asarray(values, dtype=float)
    std = f" +- {v.std(ddof=1):.3f}" if len(v) > 1 else ""
    return f"{v.mean():.3f}{std} | {v.min():.3f} | {v.max():.3f}"


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    out = Path(args.out)
    lines = ["| dataset | setting | parameters over the dataset defaults | runs | test accuracy (mean +- std) | min "
             "| max | train s |", "|---|---|---|---|---|---|---|---|"]
    for key in args.datasets:
        name, train_size = DATASETS[key]
        data = load_dataset(name, data_dir=args.data_dir if name == "mnist" else None, train_size=train_size,
                            random_state=0)
        names = args.settings or PLAN[key]
        targets = [Target(setting, dict(SETTINGS[setting])) for setting in names]
        result = compare(targets, data=data, seeds=args.seeds, out=out / key, jobs=args.jobs, plots=False,
                         progress=True)
        for setting in names:
            rows = [r for r in result.rows if r["target"] == setting and r["status"] == "ok"]
            failed = [r for r in result.rows if r["target"] == setting and r["status"] != "ok"]
            for r in failed:
                print(f"{key}/{setting} seed {r['seed']} failed: {r['error']}", file=sys.stderr)
            if not rows:
                continue
            acc = [float(r["test_accuracy"]) for r in rows]
            seconds = np.mean([float(r["train_seconds"]) for r in rows])
            params = json.dumps(SETTINGS[setting]) if SETTINGS[setting] else "(defaults)"
            lines.append(f"| {key} | {setting} | `{params}` | {len(rows)} | {_stats(acc)} | {seconds:.1f} |")
            print(lines[-1], flush=True)
        if args.no_mlp:
            continue
        defaults = data.training_defaults
        shifts = sorted({0, int(defaults.get("shift_augment", 0))})
        hiddens = sorted({tuple(SETTINGS[s].get("hidden_layer_sizes", (120,))) for s in names})
        for hidden in hiddens:
            for shift in shifts:
                runs = [mlp_accuracy(data, hidden, seed, shift, defaults.get("image_shape"))
                        for seed in args.mlp_seeds or args.seeds]
                label = f"MLP{hidden}" + (f" + shift {shift}" if shift else "")
                lines.append(f"| {key} | scikit-learn {label} | backprop, adam, 200 epochs | {len(runs)} | "
                             f"{_stats([a for a, _ in runs])} | {np.mean([t for _, t in runs]):.1f} |")
                print(lines[-1], flush=True)
    table = "\n".join(lines) + "\n"
    out.mkdir(parents=True, exist_ok=True)
    write_text(out / "accuracy.md", table)  # atomic: a finished table or none
    print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
