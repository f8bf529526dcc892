"""Exact enumeration for tiny problems: ground states and Boltzmann sampling."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from .._validation import check_float
from ..ising import IsingBatch
from ..seeding import generator
from .base import Solver, SolverCapabilities, SpinSamples
from .schedule import AnnealSchedule

__all__ = ["ExactSolver", "all_spin_states", "boltzmann_distribution"]

MAX_EXACT_SPINS = 20


def all_spin_states(n_spins: int) -> np.ndarray:
    """Every spin configuration, shape (2**n_spins, n_spins), dtype int8.

    Row ``k`` holds the bits of ``k`` (most significant first) mapped 0 -> -1, 1 -> +1.
    """
    k = np.arange(2**n_spins, dtype=np.int64)[:, None]
    bits = (k >> np.arange(n_spins - 1, -1, -1)) & 1
    return (2 * bits - 1).astype(np.int8)


def boltzmann_distribution(batch: IsingBatch, beta: float | None) -> tuple[np.ndarray, np.ndarray]:
    """Exact distribution over all states of every problem.

    Parameters
    ----------
    batch : IsingBatch
        At most 20 spins.
    beta : float or None
        Inverse temperature; ``None`` gives the uniform distribution over the
        ground states (the zero-temperature limit).

    Returns
    -------
    states : ndarray of shape (2**n_spins, n_spins), dtype int8
    probabilities : ndarray of shape (n_problems, 2**n_spins)
    """
    states = all_spin_states(batch.n_spins)
    energies = _all_energies(batch, states)
    if beta is None:
        ground = energies <= energies.min(axis=1, keepdims=True) + 1e-9 * (1 + np.abs(energies).max())
        probs = ground / ground.sum(axis=1, keepdims=True)
    else:
        logits = -beta * (energies - energies.min(axis=1, keepdims=True))
        probs = np.exp(logits)
        probs /= probs.sum(axis=1, keepdims=True)
    return states, probs


def _all_energies(batch: IsingBatch, states: np.ndarray) -> np.ndarray:
    s = states.astype(np.float64)
    shared = np.zeros(len(states))
    for l, Jl in enumerate(batch.couplings):
        shared -= np.einsum("ki,ki->k", s[:, batch.layer_slice(l)] @ Jl, s[:, batch.layer_slice(l + 1)])
    return shared[None, :] - batch.fields @ s.T


class ExactSolver(Solver):
    """Exact sampling by enumerating all ``2**n_spins`` states (up to 20 spins).

    Parameters
    ----------
    beta : float or None, default=None
        Inverse temperature of the Boltzmann distribution sampled; ``None``
        samples ground states (uniformly among degenerate ones).

    Notes
    -----
    Samples are exact and independent, so schedules and ``initial_states`` do
    not change the distribution: a reverse schedule is equilibrium sampling.
    """

    name = "exact"
    capabilities = SolverCapabilities(
        exact=True, finite_temperature=True, reverse_anneal=False, max_spins=MAX_EXACT_SPINS, topology="any"
    )
    parameters: ClassVar[dict[str, Any]] = {"beta": None, "estimate_temperature": False}

    def _check_params(self, params: dict[str, Any]) -> dict[str, Any]:
        if params["beta"] is not None:
            params["beta"] = check_float(params["beta"], "beta", "solver 'exact'", low=0.0)
        return params

    def _sample(
        self,
        batch: IsingBatch,
        num_reads: int,
        schedule: AnnealSchedule,
        initial_states: np.ndarray | None,
        seeds: np.ndarray,
    ) -> SpinSamples:
        states, probs = boltzmann_distribution(batch, self.params["beta"])
        cdf = np.cumsum(probs, axis=1)
        idx = np.stack([
            np.searchsorted(cdf[b], generator(int(seed), "exact").random(num_reads) * cdf[b, -1], "right")
            for b, seed in enumerate(seeds)
        ])
        idx = np.minimum(idx, len(states) - 1)
        spins = states[idx]
        return SpinSamples(spins, batch.energies(spins), {"spin_updates": 0})
