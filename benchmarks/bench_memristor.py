"""Ground-state probability of the memristor solver beside the annealing solver, at equal update counts.

Random layered spin glasses of at most 20 spins (couplings ~ N(0, 1), fields
~ N(0, ``--field-scale``)) are solved exactly by enumeration (the ``exact``
solver); each instance is then relaxed ``--reads`` times by the ``annealing``
solver and by the ``memristor`` solver (default device, and optionally an ideal
noise-only device), both with their default temperature schedule and the same
number of sweeps, so the same number of single-spin updates. A read "reaches the
ground state" if its energy is within 1e-9 of the exact ground energy.

Prints a Markdown table: P(ground) per solver (mean over instances), the ratio
memristor / annealing, the spin updates per read, and the memristor's cost per
read (crossbar reads, analog time, energy). Ratios are what the issue asks
about (within a factor of 2 at the default noise schedule).

Examples
--------
::

    python benchmarks/bench_memristor.py                      # default: 4 shapes, 20 instances, 3 sweep counts
    python benchmarks/bench_memristor.py --shapes 5,5 4,4,4 --instances 50 --sweeps 20 100
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from threadpoolctl import threadpool_limits

from eqising.ising import IsingBatch
from eqising.solvers import AnnealSchedule, MemristorDevice, make_solver

SOLVERS = {
    "annealing": ("annealing", {}),
    "memristor": ("memristor", {}),
    "memristor-ideal": ("memristor", {"device": MemristorDevice.ideal(read_noise=0.03)}),
}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--shapes", nargs="+", default=["5,5", "4,4,4", "6,7,7", "5,5,5,5"],
                   help="layer sizes, comma-separated, at most 20 spins in all")
    p.add_argument("--instances", type=int, default=20, help="random instances per shape")
    p.add_argument("--reads", type=int, default=100, help="reads per instance and solver")
    p.add_argument("--sweeps", nargs="+", type=int, default=[10, 30, 100])
    p.add_argument("--field-scale", type=float, default=0.0, help="standard deviation of the fields")
    p.add_argument("--solvers", nargs="+", choices=sorted(SOLVERS), default=["annealing", "memristor", "memristor-ideal"])
    p.add_argument("--seed", type=int, default=0)
    return p.parse_args(argv)


def spin_glass(layer_sizes: tuple[int, ...], field_scale: float, rng: np.random.Generator) -> IsingBatch:
    """One random layered spin glass."""
    couplings = tuple(rng.normal(0.0, 1.0, size=(a, b)) for a, b in zip(layer_sizes, layer_sizes[1:]))
    return IsingBatch(layer_sizes, couplings, rng.normal(0.0, field_scale, size=(1, sum(layer_sizes))))


def ground_probability(solver, batch: IsingBatch, ground: float, reads: int, sweeps: int, seed: int):
    """Fraction of reads in the ground state, and the call's samples."""
    out = solver.sample(batch, num_reads=reads, schedule=AnnealSchedule(num_sweeps=sweeps), seed=seed)
    return float(np.mean(out.energies[0] <= ground + 1e-9)), out


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    rng = np.random.default_rng(args.seed)
    solvers = {name: make_solver(*SOLVERS[name]) for name in args.solvers}
    exact = make_solver("exact")
    print(f"{args.instances} instances per shape, {args.reads} reads each, couplings N(0, 1), fields "
          f"N(0, {args.field_scale}), default schedules, seed {args.seed}\n")
    cols = " | ".join(f"P(ground) {name}" for name in args.solvers)
    print(f"| shape | spins | sweeps | {cols} | memristor / annealing | updates per read | "
          "crossbar reads per read | analog us per read | energy nJ per read |")
    print("|---|---:|---:|" + "---:|" * (len(args.solvers) + 5))
    start = time.perf_counter()
    for text in args.shapes:
        shape = tuple(int(x) for x in text.split(","))
        instances = [spin_glass(shape, args.field_scale, rng) for _ in range(args.instances)]
        grounds = [float(exact.sample(b, num_reads=1, seed=0).energies[0, 0]) for b in instances]
        for sweeps in args.sweeps:
            probs = {name: [] for name in solvers}
            mem_cost = {"crossbar_reads": 0.0, "analog_seconds": 0.0, "energy_joules": 0.0}
            updates = 0
            for k, (batch, ground) in enumerate(zip(instances, grounds)):
                for name, solver in solvers.items():
                    p, out = ground_probability(solver, batch, ground, args.reads, sweeps, seed=args.seed + k)
                    probs[name].append(p)
                    updates = out.info["spin_updates"] // args.reads
                    if name == "memristor":
                        for key in mem_cost:
                            mem_cost[key] += out.info["cost"][key] / (args.reads * len(instances))
            mean = {name: float(np.mean(v)) for name, v in probs.items()}
            ratio = (mean["memristor"] / mean["annealing"]
                     if {"memristor", "annealing"} <= set(mean) and mean["annealing"] > 0 else float("nan"))
            cells = " | ".join(f"{mean[name]:.3f}" for name in args.solvers)
            print(f"| {text} | {sum(shape)} | {sweeps} | {cells} | {ratio:.2f} | {updates} | "
                  f"{mem_cost['crossbar_reads']:.0f} | {mem_cost['analog_seconds'] * 1e6:.1f} | "
                  f"{mem_cost['energy_joules'] * 1e9:.2f} |", flush=True)
    print(f"\nwall time {time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    with threadpool_limits(1):
        main()
