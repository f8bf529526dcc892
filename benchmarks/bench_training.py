"""End-to-end training time, split into solver and step overhead, beside the kernel's batched throughput.

For every dataset and seed this trains an :class:`eqising.EqPropClassifier`
with the default settings (the annealing solver, whose compiled EqProp step
the float engine uses) and reports:

- ``train s``: wall time of ``fit``; ``solver s``: the solver's share
  (``solver_seconds_``); ``overhead s``: the rest (Python and numpy of the
  step, optimizer, weight backend, the estimator's loop);
- the training loop's throughput, ``spin_updates_ / train s``;
- the kernel's batched throughput, measured interleaved with the training
  so that both see the same load on a shared machine: the fit runs epoch by
  epoch (``partial_fit`` for the first, which validates the data once and
  initialises, then the epoch loop ``fit`` runs, on the validated data: the
  same model, the same timed work as ``fit``) and after
  every ``--kernel-every`` epochs one :meth:`AnnealingSolver.sample` call
  anneals a large batch (``--kernel-batch`` problems of the network being
  trained, the training inputs, the default 50-sweep schedule, one read);
  the throughput is the median of these calls' spin updates per solver
  second (a pooled rate moved by up to 30% when another process slowed one
  or two of the 30 calls);
- the loop's throughput as a percentage of the kernel's;
- ``update s``: the weight updates' share of the overhead (the ``ideal``
  backend's ``apply_gradients``: the optimizer's compiled pass and its Python);
  ``update us``: the median of one such call inside the fit, and beside it the
  same call repeated back to back on a copy of the fitted backend and optimizer
  (fresh random gradients of the same shapes), where the arrays stay in cache:
  the gap is what the fit loses to reading them from memory; and ``ceiling``:
  the percentage the loop would reach if nothing but the solver and these
  updates took time (no gradient, no Python elsewhere): a
  bound on what trimming Python alone can give;
- the test accuracy.

With ``--generic`` the first seed is also trained on the generic path (the same
annealer without its compiled step: :func:`eqising.eqprop.eqprop_step` with an
:class:`~eqising.ising.IsingBatch` and :class:`~eqising.solvers.SpinSamples`
per phase), side by side, and the two runs are checked to end with the same
weights.

Examples
--------
::

    python benchmarks/bench_training.py                        # digits and MNIST-1k, seeds 0 1 2
    python benchmarks/bench_training.py --datasets digits --seeds 0 --generic
    python benchmarks/bench_training.py --data-dir ../shared/datasets/mnist --out training.md

Times are wall-clock seconds on this machine; other processes sharing the CPU
change them, so compare columns of the same row (the kernel is measured
between the epochs of that very fit).
"""

from __future__ import annotations

import argparse
import copy
import os
import sys
import time
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

from eqising import EqPropClassifier, load_dataset
from eqising.comparison.report import write_text  # atomic: a finished file or none
from eqising.estimator import _one_blas_thread
from eqising.hardware import IdealBackend
from eqising.solvers import AnnealingSolver


class GenericAnnealing(AnnealingSolver):
    """The annealer without its compiled EqProp step (the float engine then runs the generic step)."""

    def fused_eqprop(self, network, **settings):
        return None


def kernel_call(clf: EqPropClassifier, X: np.ndarray, n_problems: int, seed: int) -> tuple[int, float]:
    """Spin updates and solver seconds of one large ``sample`` call on ``clf``'s current network."""
    rows = np.arange(n_problems) % len(X)
    samples = AnnealingSolver().sample(clf.network_.ising_batch(X[rows]), num_reads=1, seed=seed)
    return samples.info["spin_updates"], samples.info["solver_seconds"]


class _UpdateTimer:
    """Seconds of every call of :meth:`IdealBackend.apply_gradients <eqising.hardware.IdealBackend.apply_gradients>`
    (the default backend's weight updates) inside its ``with`` block, in ``calls``."""

    def __enter__(self) -> _UpdateTimer:
        self.calls: list[float] = []
        original = IdealBackend.apply_gradients

        def timed(backend, optimizer, grads):
            start = time.perf_counter()
            try:
                return original(backend, optimizer, grads)
            finally:
                self.calls.append(time.perf_counter() - start)

        self._original, IdealBackend.apply_gradients = original, timed
        return self

    def __exit__(self, *exc: object) -> None:
        IdealBackend.apply_gradients = self._original


def back_to_back_update(clf: EqPropClassifier, seed: int, repeats: int = 200) -> float:
    """Median seconds of one weight update of ``clf``'s shapes, repeated back to back (arrays in cache).

    Runs on deep copies of the fitted backend and optimizer, so ``clf`` is unchanged."""
    backend, optimizer = copy.deepcopy(clf.backend_), copy.deepcopy(clf.engine_.optimizer)
    rng = np.random.default_rng(seed)
    shapes = [w.shape for w in clf.network_.weights] + [b.shape for b in clf.network_.biases]
    grads = [1e-3 * rng.standard_normal(shape) for shape in shapes]
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        backend.apply_gradients(optimizer, grads)
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def train(data, seed: int, solver, kernel_batch: int,
          kernel_every: int) -> tuple[EqPropClassifier, float, float, list[float]]:
    """Fit epoch by epoch; return the model, the training seconds, the kernel's batched spin updates/s and the
    per-call seconds of the weight updates."""
    clf = EqPropClassifier(random_state=seed, solver=solver)
    classes = np.unique(data.y_train)
    seconds, rates = 0.0, []
    with _UpdateTimer() as updates:  # the kernel calls between epochs update no weights
        for epoch in range(clf.max_iter):
            start = time.perf_counter()
            if epoch == 0:  # validates the data, initialises, runs the first epoch
                clf.partial_fit(data.X_train, data.y_train, classes=classes)
                X, y = clf._validate_xy(data.X_train, data.y_train, reset=False)
            else:  # the loop fit() runs: no second validation of the data per epoch (partial_fit's ~1 ms on MNIST-1k)
                with _one_blas_thread():
                    clf._run_epoch(X, y)
            seconds += time.perf_counter() - start
            if epoch % kernel_every == 0:
                u, t = kernel_call(clf, data.X_train, kernel_batch, epoch)
                rates.append(u / t)
    # the median call: one call slowed by another process (a few of 30 in some fits here) moved a pooled
    # rate by up to 30%, and with it the ratio
    return clf, seconds, float(np.median(rates)), updates.calls


def row(name: str, path: str, seed: int, clf: EqPropClassifier, seconds: float, kernel: float,
        update_calls: list[float], data) -> dict:
    loop = clf.spin_updates_ / seconds
    update_s = float(np.sum(update_calls))
    return {
        "dataset": name, "path": path, "seed": seed, "train_s": seconds, "solver_s": clf.solver_seconds_,
        "overhead_s": seconds - clf.solver_seconds_, "update_s": update_s,
        "update_us": 1e6 * float(np.median(update_calls)), "cached_update_us": 1e6 * back_to_back_update(clf, seed),
        "spin_updates": clf.spin_updates_,
        "loop_M": loop / 1e6, "kernel_M": kernel / 1e6, "percent": 100.0 * loop / kernel,
        "ceiling": 100.0 * clf.spin_updates_ / (clf.solver_seconds_ + update_s) / kernel,
        "accuracy": clf.score(data.X_test, data.y_test),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=["digits", "mnist"], choices=["digits", "mnist"])
    parser.add_argument("--data-dir", default="../shared/datasets/mnist", help="MNIST IDX folder")
    parser.add_argument("--train-size", type=int, default=1000, help="MNIST training images")
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--generic", action="store_true", help="also train the first seed on the generic path")
    parser.add_argument("--kernel-batch", type=int, default=2048, help="problems in the kernel's batched call")
    parser.add_argument("--kernel-every", type=int, default=2, help="epochs between two kernel calls")
    parser.add_argument("--out", type=Path, help="also write the table here")
    args = parser.parse_args(argv)

    rows = []
    with threadpool_limits(1, user_api="blas"):
        for name in args.datasets:
            if name == "mnist":
                data = load_dataset("mnist", data_dir=args.data_dir, train_size=args.train_size)
                label = f"MNIST-{args.train_size // 1000}k" if args.train_size % 1000 == 0 else f"MNIST-{args.train_size}"
            else:
                data, label = load_dataset("digits"), "digits"
            warm = EqPropClassifier(max_iter=1, random_state=0).fit(data.X_train[:64], data.y_train[:64])
            kernel_call(warm, data.X_train, 64, 0)  # the batched kernel loaded too: the first timed call must not compile
            for k, seed in enumerate(args.seeds):
                paths = [("compiled", None)] + ([("generic", GenericAnnealing())] if args.generic and k == 0 else [])
                fitted = []
                for path, solver in paths:
                    clf, seconds, kernel, update_calls = train(data, seed, solver, args.kernel_batch, args.kernel_every)
                    fitted.append(clf)
                    rows.append(row(label, path, seed, clf, seconds, kernel, update_calls, data))
                    print(" ".join(f"{k_}={v:.4g}" if isinstance(v, float) else f"{k_}={v}"
                                   for k_, v in rows[-1].items()), file=sys.stderr)
                if len(fitted) == 2:
                    same = all(np.array_equal(a, b) for a, b in zip(fitted[0].network_.weights, fitted[1].network_.weights))
                    print(f"compiled and generic weights identical: {same}", file=sys.stderr)
    lines = [
        f"cores: {os.cpu_count()}, load average at the end: {os.getloadavg()[0]:.1f}",
        "",
        "| run | path | seed | train s | solver s | overhead s | of it update s | update us: in the fit / back to back "
        "| spin updates | loop M/s | kernel M/s (batched) | loop / kernel | ceiling | test accuracy |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['dataset']} | {r['path']} | {r['seed']} | {r['train_s']:.2f} | {r['solver_s']:.2f} | "
            f"{r['overhead_s']:.2f} | {r['update_s']:.2f} | {r['update_us']:.0f} / {r['cached_update_us']:.0f} | "
            f"{r['spin_updates']:.3g} | {r['loop_M']:.0f} | "
            f"{r['kernel_M']:.0f} | {r['percent']:.0f}% | {r['ceiling']:.0f}% | {r['accuracy']:.3f} |"
        )
    table = "\n".join(lines)
    print(table)
    if args.out:
        write_text(args.out, table + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
