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

from typing import Any, ClassVar

import numpy as np

from .._validation import check_choice, check_int
from ..ising import IsingBatch
from ._chunks import chain_chunks, sweep_chunks
from ._kernels import KERNEL_LOCK, anneal_layered, chain_seeds, random_spins
from .annealing_step import AnnealingEqPropStep, layered_couplings
from .base import Solver, SolverCapabilities, SpinSamples
from .schedule import SCHEDULE_DEFAULTS, AnnealSchedule, check_schedule_params, schedule_betas

__all__ = ["AnnealingSolver"]


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
        with :func:`~eqising.solvers.schedule.default_beta_range`.
    reheat : float, default=0.25
        Reverse schedules turn at this fraction of the forward schedule's
        progress from its hot end (:mod:`eqising.solvers.schedule`).
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
    parameters: ClassVar[dict[str, Any]] = {
        **SCHEDULE_DEFAULTS,
        "greedy_sweeps": 0,
        "update": "heat-bath",
        "estimate_temperature": False,
    }

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
        offsets = np.asarray(batch.offsets, dtype=np.int64)
        up, up_start, down, down_start = layered_couplings(batch.couplings, len(batch.layer_sizes))
        fields = np.ascontiguousarray(batch.fields, dtype=np.float32)
        # long anneals go in chunks of problems, and of sweeps (bit-identical to one launch); Ctrl-C is
        # seen between them
        n_steps, greedy = betas.shape[1], p["greedy_sweeps"]
        for b0, b1 in chain_chunks(B, R * N * (n_steps + greedy), R):
            for first, last in sweep_chunks(n_steps, (b1 - b0) * R * N, greedy):
                with KERNEL_LOCK:
                    anneal_layered(offsets, up, up_start, down, down_start, fields[b0:b1], betas[b0:b1],
                                   p["update"] == "metropolis", first, last, spins[b0:b1], states[b0:b1],
                                   done[b0:b1])
        info = {
            "spin_updates": int(N * done.sum()),
            "num_sweeps": int(betas.shape[1]),
            "greedy_sweeps": int(p["greedy_sweeps"]),
            "schedule": schedule.kind,
        }
        return SpinSamples(spins, batch.energies(spins), info)

    def fused_eqprop(self, network: Any, *, nudge: float, mode: str, num_reads: int, skip_correct: bool) -> Any:
        """The compiled EqProp step (:class:`~eqising.solvers.annealing_step.AnnealingEqPropStep`).

        ``None`` where it would not reproduce :meth:`sample` (a subclass with its
        own sampling, or ``estimate_temperature``, whose diagnostics need
        the samples of every phase): the engine then runs the generic step.
        """
        if type(self)._sample is not AnnealingSolver._sample or self.params["estimate_temperature"]:
            return None
        return AnnealingEqPropStep(self, network, nudge=nudge, mode=mode, num_reads=num_reads,
                                   skip_correct=skip_correct)
