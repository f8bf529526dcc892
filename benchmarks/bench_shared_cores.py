"""Training runs that share the machine's cores: each alone, then several at once, per threading setting.

Runs ``eqising train --json`` (digits, default settings, ``--epochs`` epochs) in
subprocesses, first one alone and then ``--processes`` at once (seeds 0, 1,
...), under each of these settings:

- ``default``: eqising's own set-up, OpenMP workers that spin between launches
  (``GOMP_SPINCOUNT`` = ``OMP_SPIN_COUNT``), with launches that use fewer
  threads while other processes keep the CPUs busy (``solvers/_threads.py``);
- ``spin only``: the same spinning set explicitly (``GOMP_SPINCOUNT``), which
  eqising leaves to the user, so no thread limit (what eqising did before the
  limit existed);
- ``passive``: ``OMP_WAIT_POLICY=passive`` (workers sleep at once);
- ``1 thread``: ``NUMBA_NUM_THREADS=1``.

It prints each run's ``train_seconds``, the mean of the runs at once over the
run alone (2.0 is what halving the cores would cost with no waste), and checks
that every setting gives the same test accuracy for the same seed (thread
counts do not change results).

Example
-------
::

    python benchmarks/bench_shared_cores.py                  # 2 at once, 20 epochs
    python benchmarks/bench_shared_cores.py --processes 3 --settings default passive
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

from eqising.solvers._threads import OMP_SPIN_COUNT

SETTINGS = {
    "default": {},
    "spin only": {"GOMP_SPINCOUNT": str(OMP_SPIN_COUNT)},
    "passive": {"OMP_WAIT_POLICY": "passive"},
    "1 thread": {"NUMBA_NUM_THREADS": "1"},
}
_OURS = ("GOMP_SPINCOUNT", "OMP_WAIT_POLICY", "NUMBA_NUM_THREADS", "NUMBA_THREADING_LAYER")


#: ``eqising`` with this interpreter (the console script may belong to another environment).
_EQISING = [sys.executable, "-c", "import sys; from eqising.cli import main; sys.exit(main())"]


def _command(seed: int, epochs: int) -> list[str]:
    return [*_EQISING, "train", "--seed", str(seed), "--epochs", str(epochs), "--json"]


def runs(setting: dict[str, str], seeds: list[int], epochs: int) -> list[dict]:
    """``eqising train --json`` results of ``seeds``, all started at once under ``setting``."""
    env = {k: v for k, v in os.environ.items() if k not in _OURS}
    env.update(setting)
    procs = [subprocess.Popen(_command(s, epochs), env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                              text=True) for s in seeds]
    out = []
    for p in procs:
        stdout, _ = p.communicate()
        if p.returncode != 0:
            raise SystemExit(f"eqising train exited with {p.returncode}")
        out.append(json.loads(stdout.strip().splitlines()[-1]))
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--processes", type=int, default=2, help="runs at once")
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--settings", nargs="+", choices=sorted(SETTINGS), default=list(SETTINGS))
    args = parser.parse_args(argv)
    if args.processes < 2:
        parser.error(f"--processes must be at least 2; got {args.processes} instead")
    if args.epochs < 1:
        parser.error(f"--epochs must be at least 1; got {args.epochs} instead")
    runs(SETTINGS["default"], [0], 1)  # loads (or compiles) the kernels before anything is timed
    rows, accuracy = [], {}
    seeds = list(range(args.processes))
    for name in args.settings:
        alone = runs(SETTINGS[name], [0], args.epochs)[0]
        together = runs(SETTINGS[name], seeds, args.epochs)
        times = [r["train_seconds"] for r in together]
        for seed, r in zip([0, *seeds], [alone, *together], strict=True):
            if accuracy.setdefault(seed, r["test_accuracy"]) != r["test_accuracy"]:
                raise SystemExit(f"seed {seed}: test accuracy {r['test_accuracy']} under {name!r}, "
                                 f"{accuracy[seed]} before")
        rows.append((name, alone["train_seconds"], times, sum(times) / len(times) / alone["train_seconds"]))
        print(f"setting={name!r} alone_s={alone['train_seconds']:.2f} together_s="
              f"{','.join(f'{t:.2f}' for t in times)} ratio={rows[-1][3]:.2f}", flush=True)
    print(f"\ncores: {os.cpu_count()}, {args.processes} runs at once, digits, {args.epochs} epochs; "
          "test accuracy identical across settings, seed by seed\n")
    print(f"| setting | alone s | each of {args.processes} at once, s | at once / alone |")
    print("|---|---:|---:|---:|")
    for name, alone_s, times, ratio in rows:
        print(f"| {name} | {alone_s:.2f} | {' / '.join(f'{t:.2f}' for t in times)} | {ratio:.1f}x |")


if __name__ == "__main__":
    main()
