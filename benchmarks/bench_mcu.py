"""Memory budget of the mcu-int8 backend, and (where arm-none-eabi-gcc exists) Cortex-M4 flash/RAM.

    python benchmarks/bench_mcu.py [--sizes 784,120,40] [--batches 1 8 16 32] [--sweeps 50] [--out DIR]

Prints the exact training/inference state bytes per batch size (the breakdown
for the first batch size), then cross-compiles the exported library with a
minimal firmware (one static model, one training scratch, a call to
``eq_train_step`` and ``eq_predict``) for ``-mcpu=cortex-m4 -mthumb
-mfloat-abi=soft`` and prints ``arm-none-eabi-size`` of the objects and the
linked image, plus any floating-point helper the code references.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from eqising import LayeredIsingNetwork
from eqising.comparison.report import write_text  # atomic: a finished file or none
from eqising.hardware.mcu import Int8Model, export_c, memory_budget

FIRMWARE = r"""
#include "eqint8.h"
static eq_model_t model;
static eq_train_ws_t train_ws;
static eq_infer_ws_t infer_ws;
static uint8_t batch_x[EQ_MAX_BATCH * EQ_N_IN];
static uint8_t batch_y[EQ_MAX_BATCH];
volatile int result;
int main(void) {
    eq_hparams_t hp = {2 << 16, 167772, 16777, 1};
    eq_stats_t st;
    eq_model_init(&model);
    result = eq_train_step(&model, &train_ws, batch_x, batch_y, EQ_MAX_BATCH, 1u, &hp, &st);
    result += eq_predict(&model, &infer_ws, batch_x, 2u, 10);
    return result;
}
"""


def _sh(cmd: list[str], cwd: Path) -> str:
    return subprocess.run(cmd, cwd=cwd, check=True, capture_output=True, text=True).stdout


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sizes", default="784,120,40")
    p.add_argument("--batches", type=int, nargs="+", default=[8, 1, 16, 32])
    p.add_argument("--sweeps", type=int, default=50)
    p.add_argument("--out", default=None, help="keep the exported sources here")
    args = p.parse_args()
    sizes = tuple(int(v) for v in args.sizes.split(","))

    print(f"network {'-'.join(map(str, sizes))}, {args.sweeps} sweeps\n")
    print("| batch | training state (bytes) | KiB | inference state (bytes) |")
    print("|---:|---:|---:|---:|")
    for b in args.batches:
        budget = memory_budget(sizes, b, args.sweeps)
        t, i = budget["training"]["total"], budget["inference"]["total"]
        print(f"| {b} | {t:,} | {t / 1024:.1f} | {i:,} |")
    first = memory_budget(sizes, args.batches[0], args.sweeps)
    print(f"\nbreakdown, batch {args.batches[0]}:\n")
    print("| item | training | inference |")
    print("|---|---:|---:|")
    keys = list(dict.fromkeys([*first["training"], *first["inference"]]))
    keys.remove("total")
    for k in keys + ["total"]:
        print(f"| {k} | {first['training'].get(k, '')} | {first['inference'].get(k, '')} |")

    gcc = shutil.which("arm-none-eabi-gcc")
    if gcc is None:
        print("\narm-none-eabi-gcc not available: no Cortex-M4 build")
        return
    net = LayeredIsingNetwork.initialize(sizes, np.random.default_rng(0))
    model = Int8Model.from_float(
        net.weights, net.biases, weight_clip=1.0, bias_clip=1.0, field_clip=4.0, beta_range=(0.05, 6.5),
        num_sweeps=args.sweeps, reheat=0.25, headroom=2.0,
    )
    out = Path(args.out) if args.out else Path(tempfile.mkdtemp(prefix="eqint8-m4-"))
    export_c(model, out, n_classes=sizes[-1] // 4, replicas=4, max_batch=args.batches[0])
    write_text(out / "firmware.c", FIRMWARE)
    flags = ["-std=c99", "-Wall", "-Wextra", "-Werror", "-O2", "-mcpu=cortex-m4", "-mthumb", "-mfloat-abi=soft"]
    objs = ["eqint8.o", "eqint8_model.o"]
    for src, obj in zip(["eqint8.c", "eqint8_model.c"], objs):
        _sh([gcc, *flags, "-c", src, "-o", obj], out)
    _sh([gcc, *flags, "--specs=nano.specs", "--specs=nosys.specs", "-o", "firmware.elf", "firmware.c", *objs], out)
    version = _sh([gcc, "--version"], out).splitlines()[0]
    print(f"\n{version}; flags {' '.join(flags)}; batch {args.batches[0]}\n")
    print("```")
    print(_sh(["arm-none-eabi-size", *objs, "firmware.elf"], out).rstrip())
    print("```")
    undefined = _sh(["arm-none-eabi-nm", "-u", *objs], out).split()
    helpers = sorted({s for s in undefined if s.startswith("__aeabi_")})
    floats = [s for s in helpers if re.match(r"__aeabi_[fd]", s) or "2f" in s or "2d" in s]
    print(f"\nruntime helpers referenced by the library: {', '.join(helpers) or 'none'}")
    print(f"floating-point helpers: {', '.join(floats) or 'none'}")
    print(f"sources in {out}")


if __name__ == "__main__":
    main()
