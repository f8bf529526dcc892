"""Effective temperature of samples, estimated by maximum pseudo-likelihood.

A sampler that draws from ``exp(-E / T)`` makes single-spin excitations at a
rate fixed by ``T``; :func:`dwave.system.temperatures.maximum_pseudolikelihood_temperature`
finds the ``T`` that best explains the excitations seen in a set of samples.
It works on any solver's output, so every solver that can be asked reports it
per phase. It measures local equilibrium only: ``T = 0`` when every read is a
local minimum, and it cannot see reads trapped in the wrong basin.
"""

from __future__ import annotations

import numpy as np

from ..ising import IsingBatch

__all__ = ["effective_temperature"]


def effective_temperature(batch: IsingBatch, spins: np.ndarray) -> float:
    """Maximum pseudo-likelihood temperature of samples of a batch, in eqising's energy units.

    All problems of the batch are assumed to be sampled at one temperature;
    their excitations are pooled into one estimate.

    Parameters
    ----------
    batch : IsingBatch
    spins : ndarray of shape (n_problems, n_reads, n_spins)
        Logical spins (decoded from chains for embedded problems).

    Returns
    -------
    float
        ``T`` (``0.0`` when every read is a local minimum; NaN when no spin
        feels any field, so that the samples say nothing about ``T``).
    """
    from dwave.system.temperatures import maximum_pseudolikelihood_temperature

    s = np.asarray(spins, dtype=np.float64)
    # dwave's en1 is the energy lost by flipping spin i, E(s) - E(s with s_i flipped), which
    # in eqising's sign is -2 s_i f_i with f_i the local field; rows are the reads of every
    # problem, columns the spins.
    en1 = (-2.0 * s * batch.local_fields(s)).reshape(-1, batch.n_spins)
    if not np.any(en1):
        return float("nan")  # no field anywhere: every temperature explains the samples equally
    try:  # bisection is robust where Newton's method can stall on a flat likelihood
        T, _ = maximum_pseudolikelihood_temperature(en1=en1, optimize_method="bisect", T_bracket=(1e-4, 1e4))
    except ValueError:  # the root lies outside the bracket
        T, _ = maximum_pseudolikelihood_temperature(en1=en1)
    return float(T)
