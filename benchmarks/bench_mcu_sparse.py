"""Sparse update on the mcu-int8 backend: training SRAM and accuracy against the full update.

    python benchmarks/bench_mcu_sparse.py [--dataset digits] [--seeds 0 1 2] [--epochs 60] [--batch-size 32]
        [--budget BYTES | --frozen-fraction 0.457] [--data-dir DIR] [--train-size N]

For every seed it trains the full update and the sparse update
(``backend_params={'sparse_update': budget}``) from the same seed, and prints
the test accuracy of both, the training SRAM and flash
(``memory_budget(...)['sram' | 'flash']``) and the frozen rows per matrix.
``--frozen-fraction F`` sets the budget to the full update's SRAM minus a
fraction ``F`` of the weight bytes (0.457 is what the 64 KB budget freezes on
784-120-40 at batch 8).
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np

from eqising import EqPropClassifier, load_dataset
from eqising.hardware.mcu import memory_budget


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="digits")
    parser.add_argument("--data-dir")
    parser.add_argument("--train-size", type=int)
    parser.add_argument("--test-size", type=int)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--epochs", type=int, default=60)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--hidden", type=int, default=120)
    parser.add_argument("--budget", type=int)
    parser.add_argument("--frozen-fraction", type=float, default=0.457)
    parser.add_argument("--full", action=argparse.BooleanOptionalAction, default=True, help="also train the full update")
    args = parser.parse_args()
    data = load_dataset(args.dataset, data_dir=args.data_dir, train_size=args.train_size, test_size=args.test_size)
    sizes = (data.X_train.shape[1], args.hidden, 40)
    dense = memory_budget(sizes, args.batch_size, 50)
    weights = sum(a * b for a, b in zip(sizes, sizes[1:]))
    budget = args.budget if args.budget is not None else dense["sram"]["total"] - math.ceil(args.frozen_fraction * weights)
    print(f"network {'-'.join(map(str, sizes))} batch {args.batch_size}: full update SRAM {dense['sram']['total']} B, "
          f"flash {dense['flash']['total']} B; sparse budget {budget} B")
    for seed in args.seeds:
        kinds = [("full", {}), ("sparse", {"sparse_update": budget})] if args.full else [("sparse", {"sparse_update": budget})]
        for kind, params in kinds:
            clf = EqPropClassifier(backend="mcu-int8", backend_params=params, batch_size=args.batch_size,
                                   hidden_layer_sizes=(args.hidden,), max_iter=args.epochs, random_state=seed)
            t0 = time.perf_counter()
            clf.fit(data.X_train, data.y_train)
            seconds = time.perf_counter() - t0
            acc = clf.score(data.X_test, data.y_test)
            mem = clf.backend_.diagnostics()["memory_bytes"]
            frozen = clf.backend_.model.frozen_rows()
            print(f"seed {seed} {kind:6s} test accuracy {acc:.4f}  SRAM {mem['sram']['total']} B  "
                  f"flash {mem['flash']['total']} B  frozen rows {frozen}  ({seconds:.0f} s)", flush=True)


if __name__ == "__main__":
    np.set_printoptions(linewidth=200)
    main()
