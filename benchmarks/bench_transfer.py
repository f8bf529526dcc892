"""In situ against train-then-transfer on every ECRAM preset (van Doremaele et al., Sci. Adv. 2024).

For each seed and each preset of :data:`eqising.hardware.ECRAM_PRESETS`, on
the fixed digits split of the CLI and the estimator's defaults (60 epochs):

- **in situ**: ``EqPropClassifier(backend='ecram', backend_params={'preset': p})``
  trains on the devices; its cost is every update pulse and the closed-loop
  read after every update (``backend_cost_``). The initial random weights are
  programmed by the backend at no cost; the column ``init`` gives what
  programming them by write-verify would have cost (measured, not added).
- **transfer**: the same seed trains on the ``ideal`` backend (float weights,
  on a computer: not counted), then a blank crossbar of the same preset and
  the same device-to-device variation (the same backend seed) is programmed
  to the trained weights by :func:`eqising.hardware.write_verify` (pulse,
  read, repeat until within ``--tolerance``), and the network is scored with
  what the devices hold.

Time is given two ways for both paths: ``serial`` one device after another
(pulses x pulse duration, plus verify reads x 100 ns for the transfer) and
``parallel`` with every device of a layer written at once (in situ: the
backend's parallel pulse trains; transfer: per round the longest burst plus
one read). In-situ reads are counted in energy, not in time.

Examples
--------
::

    python benchmarks/bench_transfer.py                    # 3 seeds, tolerance 0.01 and 0.05
    python benchmarks/bench_transfer.py --seeds 0 --presets li --tolerances 0.02 --out transfer.md
    python benchmarks/bench_transfer.py --read-noise 10        # noisy reads: verify accepts on a noisy read
"""

from __future__ import annotations

import argparse
import copy
import sys
import time
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

from eqising import EqPropClassifier, load_dataset
from eqising.comparison.report import write_text  # atomic: a finished file or none
from eqising.hardware import ECRAM_PRESETS, EcramBackend
from eqising.network import LayeredIsingNetwork
from eqising.seeding import SeedSource

METRICS = ("accuracy", "pulses", "energy_joules", "serial_seconds", "parallel_seconds", "init_pulses",
           "converged_fraction")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    p.add_argument("--presets", nargs="+", choices=list(ECRAM_PRESETS), default=list(ECRAM_PRESETS))
    p.add_argument("--tolerances", nargs="+", type=float, default=[0.01, 0.05],
                   help="write-verify tolerance, network units (weights are clipped to +-1)")
    p.add_argument("--epochs", type=int, default=EqPropClassifier().max_iter)
    p.add_argument("--max-pulses", type=int, default=10_000)
    p.add_argument("--read-noise", type=float, default=0.0,
                   help="read noise of the devices in units of dw_min, both paths (presets: 0)")
    p.add_argument("--out", default=None, help="write the Markdown table here too")
    return p.parse_args(argv)


def blank_crossbar(preset: str, weights, biases, seed: int, read_noise: float) -> EcramBackend:
    """An ECRAM backend of ``preset`` with every device at its symmetry point (0), variation from ``seed``."""
    backend = EcramBackend(preset=preset, read_noise=read_noise)
    backend.program([np.zeros_like(W) for W in weights], [np.zeros_like(b) for b in biases],
                    weight_clip=1.0, bias_clip=1.0, seed=seed)
    return backend


def in_situ(preset: str, data, seed: int, args) -> dict:
    clf = EqPropClassifier(backend="ecram", backend_params={"preset": preset, "read_noise": args.read_noise}, max_iter=args.epochs, random_state=seed)
    clf.fit(data.X_train, data.y_train)
    cost, p = clf.backend_cost_, clf.backend_.params
    # what writing the random initial weights by write-verify would cost on the same devices
    sizes = (data.X_train.shape[1], *clf.hidden_layer_sizes, len(clf.classes_) * clf.replicas)
    init = LayeredIsingNetwork.initialize(sizes, SeedSource(clf.root_seed_).generator("init"), field_clip=clf.field_clip)
    report = blank_crossbar(preset, init.weights, init.biases, clf.backend_seed_, args.read_noise).write_verify(
        init.weights, init.biases, tolerance=args.tolerances[0], max_pulses=args.max_pulses)
    return {
        "accuracy": float(clf.score(data.X_test, data.y_test)),
        "pulses": cost["pulses"],
        "energy_joules": cost["energy_joules"],
        "serial_seconds": cost["pulses"] * p["pulse_seconds"],
        "parallel_seconds": cost["write_seconds"],
        "init_pulses": float(report.pulses),
        "converged_fraction": float("nan"),
    }


def transfer(preset: str, ideal: EqPropClassifier, data, tolerance: float, args) -> dict:
    net = ideal.network_
    backend = blank_crossbar(preset, net.weights, net.biases, ideal.backend_seed_, args.read_noise)
    report = backend.write_verify(net.weights, net.biases, tolerance=tolerance, max_pulses=args.max_pulses)
    moved = copy.deepcopy(ideal)
    moved.network_.weights, moved.network_.biases = backend.effective_weights()
    return {
        "accuracy": float(moved.score(data.X_test, data.y_test)),
        "pulses": float(report.pulses),
        "energy_joules": report.energy_joules,
        "serial_seconds": report.seconds,
        "parallel_seconds": report.parallel_seconds,
        "init_pulses": float("nan"),
        "converged_fraction": report.converged_fraction,
    }


def _pm(values: list[float], fmt: str) -> str:
    v = np.asarray(values, dtype=float)
    if np.all(np.isnan(v)):
        return "-"
    return f"{format(v.mean(), fmt)} +- {format(v.std(), fmt)}"


def markdown(rows: dict[tuple[str, str], list[dict]]) -> str:
    head = ["preset", "path", "test accuracy", "pulses", "energy (J)", "time serial (s)", "time parallel (s)",
            "init by write-verify (pulses)", "devices converged"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    fmts = {"accuracy": ".3f", "pulses": ".3g", "energy_joules": ".3g", "serial_seconds": ".3g",
            "parallel_seconds": ".3g", "init_pulses": ".3g", "converged_fraction": ".4f"}
    for (preset, path), runs in rows.items():
        cells = [_pm([r[m] for r in runs], fmts[m]) for m in METRICS]
        lines.append(f"| {preset} | {path} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    data = load_dataset("digits", random_state=0)  # the CLI's fixed split
    rows: dict[tuple[str, str], list[dict]] = {}
    ideal_acc = []
    start = time.perf_counter()
    with threadpool_limits(1):
        for seed in args.seeds:
            ideal = EqPropClassifier(max_iter=args.epochs, random_state=seed).fit(data.X_train, data.y_train)
            ideal_acc.append(float(ideal.score(data.X_test, data.y_test)))
            for preset in args.presets:
                rows.setdefault((preset, "in situ"), []).append(in_situ(preset, data, seed, args))
                for tol in args.tolerances:
                    rows.setdefault((preset, f"transfer, tolerance {tol:g}"), []).append(
                        transfer(preset, ideal, data, tol, args))
                print(f"seed {seed} {preset}: in situ {rows[(preset, 'in situ')][-1]['accuracy']:.3f}, transfer "
                      + ", ".join(f"{rows[(preset, f'transfer, tolerance {t:g}')][-1]['accuracy']:.3f}"
                                  for t in args.tolerances)
                      + f" ({time.perf_counter() - start:.0f} s)", file=sys.stderr)
    table = markdown(rows)
    print(f"digits ({len(data.X_train)} train / {len(data.X_test)} test), seeds {args.seeds}, {args.epochs} epochs; "
          f"read noise {args.read_noise:g} x dw_min; ideal (float) accuracy {_pm(ideal_acc, '.3f')}; init column at tolerance {args.tolerances[0]:g}\n")
    print(table)
    if args.out:
        write_text(Path(args.out), table + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
