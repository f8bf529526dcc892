"""First-run cost: ``eqising train`` with an empty kernel cache, beside the same run with a warm one.

Each repeat runs the command twice in fresh interpreters sharing one new, empty cache folder
(``EQISING_CACHE_DIR``): the first run compiles every kernel it calls (what a user's first run
after installing pays), the second loads them from the cache. The cold run also records numba's
compile events and reports, per function, its compile seconds (its own: the functions it compiled
while compiling are counted as theirs) and how many times it was compiled, so a kernel compiled
twice (for two argument types, one of them a literal) shows up.

Examples
--------
::

    python benchmarks/bench_compile.py                      # digits, one epoch, 3 repeats
    python benchmarks/bench_compile.py --repeats 1 --top 30 -- --dataset mnist --train-size 1000

Times are wall-clock seconds of the whole command, interpreter start and imports included.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

#: Run in the child: ``eqising``'s command line, its compilations logged.
RUN = """
import json, sys
from eqising._numba_cache import CompileLog
from eqising.cli import main
with CompileLog() as log:
    try:
        main(sys.argv[2:])
    except SystemExit as stop:
        if stop.code not in (None, 0):
            raise
with open(sys.argv[1], "w") as out:
    json.dump({"own": log.own, "count": {name: len(c) for name, c in log.compiles.items()}}, out)
"""


def run(args: list[str], cache: str, report: str) -> float:
    """Wall seconds of one ``eqising`` command in a fresh interpreter using ``cache``."""
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_CACHE_DIR"} | {"EQISING_CACHE_DIR": cache}
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", RUN, report, *args], env=env, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--top", type=int, default=12, help="functions listed by compile seconds")
    parser.add_argument("train_args", nargs="*", help="arguments after `eqising train` (after --)")
    opts = parser.parse_args(argv)
    for name in ("repeats", "top"):
        if getattr(opts, name) < 1:
            parser.error(f"--{name} must be >= 1; got {getattr(opts, name)}")
    args = ["train", "--seed", "0", *(opts.train_args or ["--epochs", "1"])]
    rows, own, count = [], {}, {}
    for _ in range(opts.repeats):
        with tempfile.TemporaryDirectory() as folder:
            cache, report = os.path.join(folder, "cache"), os.path.join(folder, "compiles.json")
            cold = run(args, cache, report)
            with open(report) as f:
                events = json.load(f)
            warm = run(args, cache, report)
        rows.append((cold, warm, sum(events["own"].values())))
        for name, seconds in events["own"].items():
            own[name] = own.get(name, 0.0) + seconds / opts.repeats
            count[name] = events["count"][name]
    print(f"`eqising {' '.join(args)}`, {opts.repeats} repeats\n")
    print("| repeat | cold s (empty cache) | warm s | compiling s (cold) |\n|---|---|---|---|")
    for i, (cold, warm, compiling) in enumerate(rows):
        print(f"| {i + 1} | {cold:.1f} | {warm:.1f} | {compiling:.1f} |")
    print("\n| function | compile s (own, mean) | times compiled |\n|---|---|---|")
    for name in sorted(own, key=own.get, reverse=True)[: opts.top]:
        print(f"| `{name}` | {own[name]:.2f} | {count[name]} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
