"""``AnnealingSampler``: eqising's compiled annealer as a :class:`dimod.Sampler`.

For any binary quadratic model (SPIN or BINARY, arbitrary hashable labels, any
sparsity): sequential single-spin Metropolis or heat-bath sweeps in a numba
kernel (:func:`~eqising.solvers._kernels.anneal_sparse`), reads annealed in
parallel, each on its own random stream. Parameter names follow Ocean's
``SimulatedAnnealingSampler`` so that it drops into Ocean code::

    from eqising.solvers import AnnealingSampler
    sampleset = AnnealingSampler().sample(bqm, num_reads=10, num_sweeps=1000, seed=7)
"""

from __future__ import annotations

from typing import Any

import dimod
import numpy as np

from ..._memory import check_fits
from ..._validation import Described, check_choice, check_int, param_error
from ...seeding import derive, problem_seeds
from .._chunks import chain_chunks, sweep_chunks
from .._kernels import KERNEL_LOCK, anneal_sparse, chain_seeds
from ..schedule import beta_ends, check_beta_range, geometric_betas, linear_betas

__all__ = ["AnnealingSampler"]

OWNER = "AnnealingSampler.sample"


class AnnealingSampler(dimod.Sampler, dimod.Initialized):
    """Simulated annealing of general binary quadratic models (compiled, parallel reads).

    Samples are final states of independent anneals. At a constant inverse
    temperature (``beta_range=(b, b)``) with enough sweeps, the reads are
    samples of the Boltzmann distribution ``exp(-b E)``.

    Examples
    --------
    >>> import dimod
    >>> bqm = dimod.BinaryQuadraticModel({'a': 1, 'b': -1}, {('a', 'b'): -2}, 0, 'SPIN')
    >>> AnnealingSampler().sample(bqm, num_reads=4, seed=1).first.energy
    -2.0
    """

    parameters: dict[str, list] = None  # type: ignore[assignment]  # set per instance (dimod ABC)
    properties: dict[str, Any] = None  # type: ignore[assignment]

    def __init__(self) -> None:
        self.parameters = {
            "num_reads": [],
            "num_sweeps": [],
            "beta_range": [],
            "beta_schedule_type": ["beta_schedule_options"],
            "proposal_acceptance_criteria": ["proposal_acceptance_criteria_options"],
            "initial_states": [],
            "initial_states_generator": [],
            "seed": [],
        }
        self.properties = {
            "beta_schedule_options": ("linear", "geometric"),
            "proposal_acceptance_criteria_options": ("Metropolis", "Gibbs"),
            "category": "software",
        }

    def sample(
        self,
        bqm: dimod.BinaryQuadraticModel,
        *,
        num_reads: int | None = None,
        num_sweeps: int = 1000,
        beta_range: tuple[float, float] | None = None,
        beta_schedule_type: str = "geometric",
        proposal_acceptance_criteria: str = "Metropolis",
        initial_states: Any = None,
        initial_states_generator: str = "random",
        seed: int | None = None,
        **kwargs: Any,
    ) -> dimod.SampleSet:
        """Anneal ``num_reads`` reads of ``bqm``.

        Parameters
        ----------
        bqm : dimod.BinaryQuadraticModel
        num_reads : int or None, default=None
            Reads; ``None`` is the number of ``initial_states``, or 1.
        num_sweeps : int, default=1000
            Sweeps per read (a sweep proposes a flip of every variable once, in
            order); 0 returns the initial states.
        beta_range : (float, float) or None, default=None
            Inverse temperatures ``(hot, cold)`` in the BQM's energy units.
            ``None``: hot ``ln 2 / max dE`` (neal's rule), cold
            ``ln 100 / (2 f)`` with ``f`` the smallest typical local field
            ``sqrt(h_i**2 + sum_j J_ij**2)`` of a biased spin (SPIN form).
        beta_schedule_type : {'geometric', 'linear'}, default='geometric'
        proposal_acceptance_criteria : {'Metropolis', 'Gibbs'}, default='Metropolis'
            Metropolis ``min(1, exp(-beta dE))`` or heat-bath ``1 / (1 + exp(beta dE))``.
        initial_states, initial_states_generator
            As in every Ocean sampler (:meth:`dimod.Initialized.parse_initial_states`).
        seed : int in [0, 2**64) or None, default=None
            Seeds every read's own random stream and the random initial
            states (both derived from it by :mod:`eqising.seeding`), so results
            do not depend on the number of threads.

        Returns
        -------
        dimod.SampleSet
            Samples in the BQM's vartype, energies computed from ``bqm``;
            ``info`` holds ``beta_range``, ``beta_schedule_type`` and
            ``spin_updates``.
        """
        if kwargs:
            first = min(kwargs)
            expected = f"one of the sampler's parameters {sorted(self.parameters)}"
            raise param_error(first, OWNER, expected, kwargs[first])
        if num_reads is not None:
            num_reads = check_int(num_reads, "num_reads", OWNER, low=1)
        num_sweeps = check_int(num_sweeps, "num_sweeps", OWNER, low=0)
        check_fits(16 * num_sweeps, "num_sweeps", OWNER, num_sweeps, "beta schedule")  # before allocating it
        if num_reads is not None:  # int8 spins, their float64 copy in the kernel, energies
            n_vars = int(getattr(bqm, "num_variables", 0))
            check_fits(num_reads * (9 * max(1, n_vars) + 16), "num_reads", OWNER, num_reads,
                       f"samples of {n_vars} variables")
        schedule_type = check_choice(beta_schedule_type, "beta_schedule_type", OWNER, ("linear", "geometric"))
        criterion = check_choice(
            proposal_acceptance_criteria, "proposal_acceptance_criteria", OWNER, ("Metropolis", "Gibbs")
        )
        if beta_range is not None:
            beta_range = check_beta_range(beta_range, "beta_range", OWNER)
        root = int(problem_seeds(seed, 1, OWNER)[0])
        stream_seed, init_seed = derive(root, "reads"), derive(root, "initial-states") >> 32
        spin = bqm.spin
        if initial_states is not None:
            _check_initial_states(initial_states)
        parsed = self.parse_initial_states(
            spin, initial_states=initial_states, initial_states_generator=initial_states_generator,
            num_reads=num_reads, seed=init_seed,
        )
        labels = parsed.initial_states.variables
        spins = np.array(parsed.initial_states.record.sample, dtype=np.int8, order="C")
        h, (rows, cols, q), _ = spin.to_numpy_vectors(variable_order=labels)
        if not (np.all(np.isfinite(h)) and np.all(np.isfinite(q))):
            raise param_error("bqm", OWNER, "a model with finite biases", Described("a model with NaN or inf biases"))
        indptr, indices, data = _symmetric_csr(len(labels), rows, cols, q)
        if beta_range is None:
            beta_range = _default_beta_range(h, indptr, data)
        walk = linear_betas if schedule_type == "linear" else geometric_betas
        betas = walk(beta_range[0], beta_range[1], num_sweeps)
        states = chain_seeds(np.array([stream_seed], dtype=np.uint64), spins.shape[0])[0]
        h = h.astype(np.float64)
        # long anneals go in chunks of reads, and of sweeps (bit-identical to one launch); Ctrl-C is seen
        # between them
        for r0, r1 in chain_chunks(spins.shape[0], spins.shape[1] * num_sweeps) if spins.size else []:
            for first, last in sweep_chunks(num_sweeps, (r1 - r0) * spins.shape[1]):
                with KERNEL_LOCK:
                    anneal_sparse(indptr, indices, data, h, betas, criterion == "Metropolis", first, last,
                                  spins[r0:r1], states[r0:r1])
        samples = spins if bqm.vartype is dimod.SPIN else ((spins + 1) // 2).astype(np.int8)
        info = {
            "beta_range": tuple(float(b) for b in beta_range),
            "beta_schedule_type": schedule_type,
            "spin_updates": int(spins.size * num_sweeps),
        }
        return dimod.SampleSet.from_samples_bqm((samples, labels), bqm, info=info)


def _check_initial_states(initial_states: Any) -> None:
    """Refuse initial states that are not samples, or whose values are neither all spins nor all binary."""
    try:
        samples, _ = dimod.as_samples(initial_states)
    except (TypeError, ValueError) as exc:
        raise param_error("initial_states", OWNER, "samples_like (an array, (array, labels), dicts or a SampleSet)",
                          Described(f"{type(initial_states).__name__} ({exc})")) from exc
    values = set(np.unique(samples).tolist()) if samples.size else set()
    if not (values <= {-1, 1} or values <= {0, 1}):
        raise param_error("initial_states", OWNER, "spins in {-1, +1}, or binary values in {0, 1}",
                          Described(f"values {sorted(values)}"))


def _symmetric_csr(n: int, rows: np.ndarray, cols: np.ndarray, q: np.ndarray) -> tuple[np.ndarray, ...]:
    """CSR arrays (indptr, indices, data) of the symmetric coupling matrix of upper-triangle COO terms."""
    r = np.concatenate([rows, cols]).astype(np.int64)
    c = np.concatenate([cols, rows]).astype(np.int64)
    v = np.concatenate([q, q]).astype(np.float64)
    order = np.lexsort((c, r))
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(r, minlength=n), out=indptr[1:])
    return indptr, c[order], v[order]


def _default_beta_range(h: np.ndarray, indptr: np.ndarray, data: np.ndarray) -> tuple[float, float]:
    """:func:`~eqising.solvers.schedule.beta_ends` for one sparse problem (1.0, 1.0 if it has no biases)."""
    if h.size == 0 or (not np.any(h) and not np.any(data)):
        return (1.0, 1.0)
    row = np.repeat(np.arange(h.size), np.diff(indptr))
    abs_sum = np.bincount(row, weights=np.abs(data), minlength=h.size)
    sq_sum = np.bincount(row, weights=data**2, minlength=h.size)
    scale = np.sqrt(h**2 + sq_sum)
    hot, cold = beta_ends(2.0 * (np.abs(h) + abs_sum).max(), scale[scale > 0].min())
    return (float(hot), float(cold))

