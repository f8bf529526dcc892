"""Batched simulated annealing on layered Ising problems (block heat-bath, numba).

In a layered problem the spins of one layer are conditionally independent given
the neighbouring layers, so a whole layer can be resampled at once from its
exact conditional distribution (heat-bath / Gibbs). A sweep updates the
even-numbered layers, then the odd-numbered ones; at a fixed inverse
temperature this is an exact Gibbs sampler of ``exp(-beta E)``. All problems
and reads of a batch are annealed in one call of a compiled kernel
(:func:`~eqising.solvers._kernels.anneal_layered`): one chain per
(problem, read), chains in parallel, local fields maintained incrementally
(a flipped spin updates the fields of its neighbouring layers).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._validation import check_choice, check_float, check_int
from ..ising import IsingBatch
from ._kernels import KERNEL_LOCK, anneal_layered, chain_seeds, random_spins
from .base import AnnealSchedule, Solver, SolverCapabilities, SpinSamples, check_beta_range

__all__ = [
    "AnnealingSolver",
    "beta_ends",
    "check_schedule_params",
    "default_beta_range",
    "schedule_betas",
]


def default_beta_range(batch: IsingBatch) -> tuple[np.ndarray, np.ndarray]:
    """Per-problem ``(hot, cold)`` inverse temperatures.

    Hot (neal's rule): a flip costing the largest possible energy change is
    accepted with probability 1/2, ``ln 2 / max dE``. Cold: a flip against the
    weakest spin's typical local field ``f`` (see
    :meth:`~eqising.ising.IsingBatch.min_field_scale`) is accepted with
    probability 1/100, ``ln 100 / (2 f)``. neal uses the smallest single bias
    instead; in a network with thousands of small weights that is ~1e-5, which
    freezes all but the first few sweeps of the schedule.

    Returns
    -------
    hot, cold : ndarray of shape (n_problems,)
    """
    return beta_ends(batch.max_energy_change(), batch.min_field_scale())


def beta_ends(max_energy_change: np.ndarray, min_field_scale: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(hot, cold) = (ln 2 / max dE, ln 100 / (2 f))`` with ``cold >= hot``; any array shape."""
    hot = np.log(2.0) / np.maximum(max_energy_change, 1e-12)
    cold = np.log(100.0) / (2.0 * min_field_scale)
    return hot, np.maximum(cold, hot)


def check_schedule_params(params: dict[str, Any], owner: str) -> dict[str, Any]:
    """Validate the schedule parameters ``num_sweeps``, ``beta_range`` and ``reheat`` in place; return ``params``."""
    params["num_sweeps"] = check_int(params["num_sweeps"], "num_sweeps", owner, low=1)
    if params["beta_range"] is not None:
        params["beta_range"] = check_beta_range(params["beta_range"], "beta_range", owner)
    params["reheat"] = check_float(params["reheat"], "reheat", owner, low=0.0, high=1.0, high_open=True)
    return params


def schedule_betas(
    batch: IsingBatch, schedule: AnnealSchedule, params: dict[str, Any]
) -> tuple[AnnealSchedule, np.ndarray]:
    """Resolve ``schedule`` with a solver's ``num_sweeps``/``beta_range``/``reheat`` defaults.

    Returns
    -------
    schedule : AnnealSchedule
        The resolved schedule.
    betas : ndarray of shape (n_problems, n_steps)
        Inverse temperature of every sweep per problem; the ends are
        :func:`default_beta_range` unless a ``beta_range`` is set.
    """
    schedule = schedule.resolved(params["num_sweeps"], params["beta_range"], params["reheat"])
    # an explicit beta_range overrides the per-problem ends inside AnnealSchedule.betas
    ends = default_beta_range(batch) if schedule.beta_range is None else (np.ones(batch.n_problems),) * 2
    return schedule, schedule.betas(*ends)


class AnnealingSolver(Solver):
    """Batched block heat-bath simulated annealing (compiled numba kernel).

    Every (problem, read) chain is annealed on its own random stream, chains
    run in parallel on all cores (see :mod:`eqising.solvers._kernels`).

    Parameters
    ----------
    num_sweeps : int, default=50
        Sweeps of the forward schedule (a sweep updates every spin once).
    beta_range : (float, float) or None, default=None
        Inverse temperatures ``(hot, cold)``; ``None`` picks them per problem
        with :func:`default_beta_range`.
    reheat : float, default=0.25
        Reverse schedules reheat to this fraction of the forward schedule.
    greedy_sweeps : int, default=0
        Zero-temperature sweeps after the schedule: every spin takes the sign
        of its local field, layer by layer, until a sweep changes nothing or
        ``greedy_sweeps`` sweeps have run (a local minimum of the energy).
    update : {'heat-bath', 'metropolis'}, default='heat-bath'
        How a layer's spins are updated given their neighbours: redrawn from
        their exact conditional (heat-bath), or flipped with probability
        ``min(1, exp(-beta dE))`` (Metropolis, as neal). Both sample
        ``exp(-beta E)`` at a fixed temperature.
    """

    name = "annealing"
    capabilities = SolverCapabilities(
        exact=False, finite_temperature=True, reverse_anneal=True, max_spins=None, topology="layered"
    )
    parameters = {"num_sweeps": 50, "beta_range": None, "reheat": 0.25, "greedy_sweeps": 0, "update": "heat-bath",
                  "estimate_temperature": False}

    def _check_params(self, params: dict[str, Any]) -> dict[str, Any]:
        owner = "solver 'annealing'"
        check_schedule_params(params, owner)
        params["greedy_sweeps"] = check_int(params["greedy_sweeps"], "greedy_sweeps", owner, low=0)
        params["update"] = check_choice(params["update"], "update", owner, ("heat-bath", "metropolis"))
        return params

    def _sample(
        self,
        batch: IsingBatch,
        num_reads: int,
        schedule: AnnealSchedule,
        initial_states: np.ndarray | None,
        seeds: np.ndarray,
    ) -> SpinSamples:
        p = self.params
        schedule, betas = schedule_betas(batch, schedule, p)
        betas = np.ascontiguousarray(betas, dtype=np.float32)
        B, R, N = batch.n_problems, num_reads, batch.n_spins
        states = chain_seeds(seeds, R)
        if initial_states is None:
            spins = random_spins(states, N)
        else:
            spins = np.ascontiguousarray(initial_states)  # the validated int8 copy made by sample()
        done = np.zeros((B, R), dtype=np.int64)
        arrays = _layered_arrays(batch)
        with KERNEL_LOCK:
            anneal_layered(*arrays, betas, p["update"] == "metropolis", p["greedy_sweeps"], spins, states, done)
        info = {
            "spin_updates": int(N * done.sum()),
            "num_sweeps": int(betas.shape[1]),
            "greedy_sweeps": int(p["greedy_sweeps"]),
            "schedule": schedule.kind,
        }
        return SpinSamples(spins, batch.energies(spins), info)


def _layered_arrays(batch: IsingBatch) -> tuple[np.ndarray, ...]:
    """The kernel's view of a batch: offsets, packed ``J_l`` and ``J_l^T``, float32 fields."""
    L = len(batch.layer_sizes)
    up_start = np.zeros(L, dtype=np.int64)
    down_start = np.zeros(L, dtype=np.int64)
    ups, downs = [], []
    for l, J in enumerate(batch.couplings):
        up_start[l] = sum(a.size for a in ups)
        ups.append(np.asarray(J, dtype=np.float32).ravel())
        down_start[l + 1] = sum(a.size for a in downs)
        downs.append(np.ascontiguousarray(J.T, dtype=np.float32).ravel())
    empty = np.zeros(0, dtype=np.float32)
    return (
        np.asarray(batch.offsets, dtype=np.int64),
        np.concatenate(ups) if ups else empty,
        up_start,
        np.concatenate(downs) if downs else empty,
        down_start,
        np.ascontiguousarray(batch.fields, dtype=np.float32),
    )
