"""Epoch time over a long fit, and how many optimizer moments are subnormal.

A first moment of Adam (or an SGD velocity) whose gradient stays zero decays by
0.9 a step; after about 6,700 such steps it reaches the subnormal doubles, and
0.9 times the smallest subnormal rounds back to it, so it would stay there for
good. Arithmetic on subnormals is many times slower on x86 CPUs, so a fit that
has learnt its data (the skip rule then leaves most gradients at zero) used to
slow down for good. The optimizers now store such moments as zero; this
benchmark shows the epoch time and the moments' state every ``--every`` epochs.

Examples
--------
::

    python benchmarks/bench_long_training.py                     # MNIST-1k, 320 epochs (10,240 steps)
    python benchmarks/bench_long_training.py --dataset digits --epochs 200
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from eqising import EqPropClassifier
from eqising.datasets import load_dataset


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="mnist", choices=["digits", "mnist"])
    parser.add_argument("--data-dir", default="../shared/datasets/mnist", help="MNIST IDX folder")
    parser.add_argument("--train-size", type=int, default=1000, help="MNIST training images")
    parser.add_argument("--epochs", type=int, default=320)
    parser.add_argument("--every", type=int, default=20, help="epochs between two report lines")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.dataset == "mnist":
        data = load_dataset("mnist", data_dir=args.data_dir, train_size=args.train_size)
    else:
        data = load_dataset("digits")
    clf = EqPropClassifier(random_state=args.seed, max_iter=1)
    classes = np.unique(data.y_train)
    tiny = np.finfo(np.float64).tiny
    window = []
    print("| epoch | steps | mean epoch s (last window) | subnormal first moments | zero first moments |")
    print("|---:|---:|---:|---:|---:|")
    for epoch in range(1, args.epochs + 1):
        start = time.perf_counter()
        clf.partial_fit(data.X_train, data.y_train, classes=classes)
        window.append(time.perf_counter() - start)
        if epoch % args.every == 0:
            m = clf.engine_.optimizer.state.get("m", [])
            total = max(sum(a.size for a in m), 1)
            subnormal = sum(int(((a != 0) & (np.abs(a) < tiny)).sum()) for a in m)
            zero = sum(int((a == 0).sum()) for a in m)
            steps = epoch * -(-len(data.X_train) // clf.batch_size)
            print(f"| {epoch} | {steps} | {np.mean(window):.4f} | {100 * subnormal / total:.1f}% | "
                  f"{100 * zero / total:.1f}% |", flush=True)
            window = []
    print(f"test accuracy {clf.score(data.X_test, data.y_test):.4f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
