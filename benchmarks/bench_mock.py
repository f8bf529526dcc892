"""``dwave-mock`` training: every QPU call emulated on its own against the calls of a batch together.

Trains the same short run (:class:`eqising.EqPropClassifier` with
``solver='dwave-mock'``, default settings otherwise, on the first
``--examples`` scikit-learn digits) twice per round in one process: once with
the mock emulating each QPU call in its own kernel launch (the path a real QPU
takes, one call at a time: ``DWaveMockSolver._batch_calls = False``) and once
with the calls of every batch emulated together (one launch per batch and
schedule, the default). The order alternates between rounds so that both see
the same load on a shared machine. It prints both times per round, their
medians and the ratio, and checks that the two fits end with identical
weights, biases, losses, solver diagnostics and QPU cost records (wall time
aside; a call is still a call for the cost model).

Example
-------
::

    python benchmarks/bench_mock.py                    # 300 digits, 2 epochs, 3 rounds
    python benchmarks/bench_mock.py --examples 500 --epochs 1 --rounds 5

The first fit of the process also compiles the emulator kernel and finds (or
loads) the embedding; an untimed warm-up fit on a few examples comes first.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

import numpy as np
from sklearn.datasets import load_digits

from eqising import EqPropClassifier
from eqising.solvers.ocean.dwave_mock import DWaveMockSolver


def fit(X: np.ndarray, y: np.ndarray, epochs: int, batched: bool) -> tuple[float, EqPropClassifier]:
    """Wall seconds of one fit, and the fitted model."""
    DWaveMockSolver._batch_calls = batched
    try:
        model = EqPropClassifier(solver="dwave-mock", max_iter=epochs, random_state=0)
        start = time.perf_counter()
        model.fit(X, y)
        return time.perf_counter() - start, model
    finally:
        DWaveMockSolver._batch_calls = True


def _without_wall_time(records: list[dict[str, dict[str, float]]]) -> list[dict[str, dict[str, float]]]:
    return [
        {phase: {k: v for k, v in rec.items() if k != "solver_seconds"} for phase, rec in epoch.items()}
        for epoch in records
    ]


def same_model(a: EqPropClassifier, b: EqPropClassifier) -> bool:
    """Identical weights, biases, loss curve, solver diagnostics and cost records (wall time aside)."""
    na, nb, ha, hb = a.network_, b.network_, a.history_, b.history_
    return (
        all(np.array_equal(u, v) for u, v in zip(na.weights, nb.weights))
        and all(np.array_equal(u, v) for u, v in zip(na.biases, nb.biases))
        and ha.loss_curve == hb.loss_curve
        and ha.solver_diagnostics == hb.solver_diagnostics
        and _without_wall_time(ha.solver_cost_curve) == _without_wall_time(hb.solver_cost_curve)
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=300, help="training digits (the first ones)")
    parser.add_argument("--epochs", type=int, default=2, help="max_iter of each fit")
    parser.add_argument("--rounds", type=int, default=3, help="per-call and batched fits, alternating")
    args = parser.parse_args(argv)
    X, y = load_digits(return_X_y=True)
    X, y = X[: args.examples] / 16.0, y[: args.examples]
    fit(X[:40], y[:40], 1, True)  # warm-up: compile the kernel, find or load the embedding
    times: dict[bool, list[float]] = {False: [], True: []}
    identical = True
    for r in range(args.rounds):
        order = (False, True) if r % 2 == 0 else (True, False)
        models = {}
        for batched in order:
            seconds, models[batched] = fit(X, y, args.epochs, batched)
            times[batched].append(seconds)
        same = same_model(models[False], models[True])
        identical &= same
        print(
            f"round {r}: per-call {times[False][-1]:.2f} s, batched {times[True][-1]:.2f} s, "
            f"ratio {times[False][-1] / times[True][-1]:.2f}, identical models: {same}",
            flush=True,
        )
    old, new = statistics.median(times[False]), statistics.median(times[True])
    print(
        f"median over {args.rounds} rounds ({args.examples} digits, {args.epochs} epochs): "
        f"per-call {old:.2f} s, batched {new:.2f} s, per-call / batched = {old / new:.2f}"
    )
    print(f"identical models in every round: {identical}")
    return 0 if identical else 1


if __name__ == "__main__":
    sys.exit(main())
