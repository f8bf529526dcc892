"""Batched simulated annealing on layered Ising problems (block heat-bath).

In a layered problem the spins of one layer are conditionally independent given
the neighbouring layers, so a whole layer can be resampled at once from its
exact conditional distribution (heat-bath / Gibbs). A sweep updates the
even-numbered layers, then the odd-numbered ones; at a fixed inverse
temperature this is an exact Gibbs sampler of ``exp(-beta E)``. All problems
and reads of a batch advance together, one matrix product per layer update.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from .._validation import check_float, check_int
from ..ising import IsingBatch
from .base import AnnealSchedule, Solver, SolverCapabilities, SpinSamples, check_beta_range

__all__ = [
    "AnnealingSolver",
    "check_schedule_params",
    "default_beta_range",
    "sample_in_chunks",
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
    hot = np.log(2.0) / np.maximum(batch.max_energy_change(), 1e-12)
    cold = np.log(100.0) / (2.0 * batch.min_field_scale())
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


def sample_in_chunks(
    kernel: Callable[..., np.ndarray],
    batch: IsingBatch,
    betas: np.ndarray,
    num_reads: int,
    initial_states: np.ndarray | None,
    seeds: np.ndarray,
    chunk_bytes: int,
) -> np.ndarray:
    """Run ``kernel(batch_chunk, betas_chunk, num_reads, initial_states_chunk, seeds_chunk)`` over chunks of problems.

    Chunks hold about ``chunk_bytes`` of pre-drawn float32 random numbers
    (one per step, read and spin). Returns the spins, ndarray of shape
    (n_problems, num_reads, n_spins), dtype int8.
    """
    B, N, steps = batch.n_problems, batch.n_spins, betas.shape[1]
    chunk = max(1, chunk_bytes // (4 * steps * num_reads * N))
    spins = np.empty((B, num_reads, N), dtype=np.int8)
    for lo in range(0, B, chunk):
        sel = slice(lo, min(B, lo + chunk))
        init = None if initial_states is None else initial_states[sel]
        spins[sel] = kernel(batch.select(sel), betas[sel], num_reads, init, seeds[sel])
    return spins


class AnnealingSolver(Solver):
    """Batched block heat-bath simulated annealing (numpy).

    Parameters
    ----------
    num_sweeps : int, default=50
        Sweeps of the forward schedule (a sweep updates every spin once).
    beta_range : (float, float) or None, default=None
        Inverse temperatures ``(hot, cold)``; ``None`` picks them per problem
        with :func:`default_beta_range`.
    reheat : float, default=0.25
        Reverse schedules reheat to this fraction of the forward schedule.
    """

    name = "annealing"
    capabilities = SolverCapabilities(
        exact=False, finite_temperature=True, reverse_anneal=True, max_spins=None, topology="layered"
    )
    parameters = {"num_sweeps": 50, "beta_range": None, "reheat": 0.25}

    def _check_params(self, params: dict[str, Any]) -> dict[str, Any]:
        return check_schedule_params(params, "solver 'annealing'")

    #: Problems annealed together; bounds the memory of pre-drawn random numbers.
    chunk_bytes = 32 * 2**20

    def _sample(
        self,
        batch: IsingBatch,
        num_reads: int,
        schedule: AnnealSchedule,
        initial_states: np.ndarray | None,
        seeds: np.ndarray,
    ) -> SpinSamples:
        schedule, betas = schedule_betas(batch, schedule, self.params)
        spins = sample_in_chunks(_anneal, batch, betas, num_reads, initial_states, seeds, self.chunk_bytes)
        B, R, N, steps = batch.n_problems, num_reads, batch.n_spins, betas.shape[1]
        info = {"spin_updates": int(B * R * N * steps), "num_sweeps": int(steps), "schedule": schedule.kind}
        return SpinSamples(spins, batch.energies(spins), info)


def _anneal(
    batch: IsingBatch, betas: np.ndarray, R: int, initial_states: np.ndarray | None, seeds: np.ndarray
) -> np.ndarray:
    """Block heat-bath anneal of a chunk; every problem draws from its own stream.

    Problems and reads are flattened into rows of (B * R, n_l) matrices so that
    each layer update is one matrix product.
    """
    B, N, steps = batch.n_problems, batch.n_spins, betas.shape[1]
    betas = betas.astype(np.float32)
    noise = np.empty((steps, B, R, N), dtype=np.float32)
    start = np.empty((B, R, N), dtype=np.float32)
    for b, seed in enumerate(seeds):
        rng = np.random.default_rng(int(seed))
        start[b] = rng.integers(0, 2, size=(R, N)) * 2 - 1
        noise[:, b] = rng.random((steps, R, N), dtype=np.float32)
    if initial_states is not None:
        start[:] = initial_states
    noise *= 2.0
    noise -= 1.0  # v ~ U(-1, 1)
    noise = noise.reshape(steps, B * R, N)
    L = len(batch.layer_sizes)
    sl = [batch.layer_slice(l) for l in range(L)]
    start = start.reshape(B * R, N)
    layers = [np.ascontiguousarray(start[:, sl[l]]) for l in range(L)]
    fields = [np.repeat(batch.fields[:, sl[l]].astype(np.float32), R, axis=0) for l in range(L)]
    row_betas = np.repeat(betas, R, axis=0)  # (B * R, steps)
    J = [Jl.astype(np.float32) for Jl in batch.couplings]
    JT = [np.ascontiguousarray(Jl.T) for Jl in J]
    order = list(range(0, L, 2)) + list(range(1, L, 2))
    f = [np.empty_like(x) for x in layers]
    for step in range(steps):
        beta = row_betas[:, step, None]
        for l in order:
            fl = f[l]
            np.copyto(fl, fields[l])
            if l > 0:
                fl += layers[l - 1] @ J[l - 1]
            if l < L - 1:
                fl += layers[l + 1] @ JT[l]
            # P(s = +1) = (1 + tanh(beta f)) / 2, so s = +1 iff v < tanh(beta f) with v ~ U(-1, 1)
            fl *= beta
            np.tanh(fl, out=fl)
            layers[l] = np.where(noise[step, :, sl[l]] < fl, np.float32(1.0), np.float32(-1.0))
    return np.concatenate(layers, axis=-1).astype(np.int8).reshape(B, R, N)
