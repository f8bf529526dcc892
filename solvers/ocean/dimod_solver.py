"""Any :class:`dimod.Sampler` as an eqising solver (neal's simulated annealing by default).

Each problem of a batch becomes one BQM built from arrays
(:meth:`~eqising.ising.IsingBatch.to_dimod_arrays`, the one sign conversion)
and is sampled by the wrapped sampler. What is passed depends on what the
sampler declares in its ``parameters``:

- ``beta_schedule_type`` and ``beta_schedule`` (neal): the phase's
  :class:`~eqising.solvers.AnnealSchedule` is played as a custom inverse
  temperature schedule, one sweep per value; a reverse schedule starts cold
  from ``initial_states``, reheats and cools again;
- ``initial_states``: every read starts from its own given state;
- ``num_reads`` and ``seed``: passed through; problem ``b`` gets the 31-bit seed
  ``eqising.seeding.derive(seeds[b], "dimod") >> 33`` (dwave-samplers take
  seeds in [0, 2**31)).

Problems are spread over a thread pool when the sampler releases the GIL
(dwave-samplers' compiled samplers do).
"""

from __future__ import annotations

import importlib
import os
from concurrent.futures import ThreadPoolExecutor
from typing import Any, ClassVar

import numpy as np

from ..._validation import Described, check_int, check_keys, param_error
from ...ising import IsingBatch
from ...seeding import derive
from ..base import Solver, SolverCapabilities, SpinSamples
from ..exact import MAX_EXACT_SPINS
from ..schedule import SCHEDULE_DEFAULTS, AnnealSchedule, check_schedule_params, schedule_betas

__all__ = ["DimodSolver", "NealSolver", "load_sampler", "sampleset_spins"]

#: Samplers whose ``sample`` runs compiled code without the GIL, so threads help.
NOGIL_MODULE_PREFIXES = ("dwave.samplers.",)

#: Keyword arguments the solver sets itself; ``sampler_params`` may not set them.
RESERVED = (
    "num_reads",
    "seed",
    "initial_states",
    "initial_states_generator",
    "beta_schedule_type",
    "beta_schedule",
    "num_sweeps",
    "beta_range",
)


def load_sampler(value: Any, owner: str) -> Any:
    """Resolve ``None`` (neal), a ``'module:Class'`` string or a sampler instance into a sampler.

    Raises
    ------
    InvalidParameterError
        When ``value`` is none of these, or the class cannot be imported.
    """
    import dimod

    expected = "None, a dimod.Sampler instance, or a 'module:Class' string naming one"
    if value is None:
        from dwave.samplers import SimulatedAnnealingSampler

        return SimulatedAnnealingSampler()
    if isinstance(value, str):
        module, _, name = value.partition(":")
        if not module or not name:
            raise param_error("sampler", owner, expected, value)
        try:
            cls = getattr(importlib.import_module(module), name)
        except (ImportError, AttributeError) as exc:
            raise param_error("sampler", owner, f"{expected} that can be imported ({exc})", value) from exc
        if not (isinstance(cls, type) and issubclass(cls, dimod.Sampler)):
            raise param_error("sampler", owner, f"{expected} (a dimod.Sampler subclass)", value)
        try:
            value = cls()
        except Exception as exc:  # a sampler that needs arguments or a service (a QPU sampler without a token)
            raise param_error(
                "sampler", owner, f"{expected} that can be built without arguments ({type(exc).__name__}: {exc})", value
            ) from exc
    if not (
        callable(getattr(value, "sample", None)) and isinstance(getattr(value, "parameters", None), dict)
    ):
        raise param_error("sampler", owner, expected, value)
    return value


def sampleset_spins(sampleset: Any, n_spins: int, num_reads: int, owner: str) -> np.ndarray:
    """Spins of a SPIN sampleset over variables ``0..n_spins-1``, in eqising's order.

    Aggregated rows are expanded by ``num_occurrences``; a sampler that returns
    more rows than ``num_reads`` (``dimod.ExactSolver`` returns every state)
    keeps the ``num_reads`` lowest-energy ones.

    Returns
    -------
    ndarray of shape (num_reads, n_spins), dtype int8
    """
    record = sampleset.record
    labels = np.asarray(list(sampleset.variables))
    if labels.shape != (n_spins,) or not np.array_equal(np.sort(labels), np.arange(n_spins)):
        raise param_error(
            "sampler",
            owner,
            f"a sampler that returns samples of the variables 0..{n_spins - 1}",
            Described(f"samples over {len(labels)} variables"),
        )
    rows = np.repeat(np.arange(len(record)), record.num_occurrences)
    if len(rows) < num_reads:
        raise param_error(
            "sampler",
            owner,
            f"a sampler that returns at least num_reads={num_reads} samples",
            Described(f"{len(rows)} samples"),
        )
    if len(rows) > num_reads:
        rows = rows[np.argsort(record.energy[rows], kind="stable")[:num_reads]]
    return np.ascontiguousarray(record.sample[rows][:, np.argsort(labels)], dtype=np.int8)


class DimodSolver(Solver):
    """Samples every problem of a batch with a :class:`dimod.Sampler`.

    Parameters
    ----------
    sampler : dimod.Sampler, str or None, default=None
        The sampler, or ``'module:Class'`` (instantiated without arguments);
        ``None`` is neal's ``dwave.samplers.SimulatedAnnealingSampler``.
    sampler_params : dict or None, default=None
        Extra keyword arguments of every ``sampler.sample`` call (for example
        ``{'beta': 2.0}`` for ``TreeDecompositionSampler``); only keys the
        sampler declares, and none the solver sets itself.
    num_sweeps : int, default=50
        Sweeps of the forward schedule. This and the next two parameters apply
        to samplers that take a custom beta schedule; for the others, schedules
        that set any of them are an error.
    beta_range : (float, float) or None, default=None
        Inverse temperatures ``(hot, cold)``; ``None`` picks them per problem
        as the ``annealing`` solver does.
    reheat : float, default=0.25
        Reverse schedules turn at this fraction of the forward schedule's
        progress from its hot end (:mod:`eqising.solvers.schedule`).
    num_threads : int or None, default=None
        Threads sampling problems in parallel; ``None`` uses every core for
        samplers that release the GIL (dwave-samplers) and 1 otherwise.
    estimate_temperature : bool, default=True
        Report the maximum pseudo-likelihood temperature of every call's samples
        in ``info['diagnostics']['effective_temperature']``.
    """

    name = "dimod"
    capabilities = SolverCapabilities(
        exact=False, finite_temperature=True, reverse_anneal=True, max_spins=None, topology="any"
    )
    parameters: ClassVar[dict[str, Any]] = {
        "sampler": None,
        "sampler_params": None,
        **SCHEDULE_DEFAULTS,
        "num_threads": None,
        "estimate_temperature": True,
    }

    def _check_params(self, params: dict[str, Any]) -> dict[str, Any]:
        owner = f"solver {self.name!r}"
        self.sampler = load_sampler(params.get("sampler"), owner)
        declared = self.sampler.parameters
        allowed = [k for k in declared if k not in RESERVED]
        params["sampler_params"] = check_keys(params["sampler_params"], "sampler_params", owner, allowed)
        check_schedule_params(params, owner)
        if params["num_threads"] is not None:
            params["num_threads"] = check_int(params["num_threads"], "num_threads", owner, low=1)
        self._schedule = "beta_schedule_type" in declared and "beta_schedule" in declared
        self._initial = "initial_states" in declared
        name = type(self.sampler).__name__
        self.capabilities = SolverCapabilities(
            exact=name in ("ExactSolver", "TreeDecompositionSolver"),
            finite_temperature=self._schedule or "beta" in declared,
            reverse_anneal=self._schedule and self._initial,
            max_spins=MAX_EXACT_SPINS if name == "ExactSolver" else None,  # it enumerates every state
            topology="any",
            sweep_schedule=self._schedule,
        )
        return params

    def _threads(self) -> int:
        if self.params["num_threads"] is not None:
            return self.params["num_threads"]
        nogil = type(self.sampler).__module__.startswith(NOGIL_MODULE_PREFIXES)
        return (os.cpu_count() or 1) if nogil else 1

    def _sample(
        self,
        batch: IsingBatch,
        num_reads: int,
        schedule: AnnealSchedule,
        initial_states: np.ndarray | None,
        seeds: np.ndarray,
    ) -> SpinSamples:
        import dimod

        p, owner, N = self.params, f"{type(self).__name__}.sample", batch.n_spins
        declared = self.sampler.parameters
        linear, quadratic = batch.to_dimod_arrays()
        name = type(self.sampler).__name__
        if not self._schedule and (schedule.num_sweeps, schedule.beta_range, schedule.reheat) != (
            None,
            None,
            None,
        ):
            raise param_error(
                "schedule",
                owner,
                f"an AnnealSchedule without num_sweeps, beta_range or reheat: {name} takes no beta schedule",
                schedule,
            )
        if initial_states is not None and not self._initial:
            raise param_error(
                "initial_states", owner, f"None: {name} takes no initial states", Described("an array")
            )
        betas = None
        if self._schedule:
            schedule, betas = schedule_betas(batch, schedule, p)

        def one(b: int) -> np.ndarray:
            bqm = dimod.BinaryQuadraticModel.from_numpy_vectors(
                linear[b], quadratic, 0.0, dimod.SPIN, variable_order=range(N)
            )
            kwargs = dict(p["sampler_params"])
            if "num_reads" in declared:
                kwargs["num_reads"] = num_reads
            if "seed" in declared:  # dwave-samplers take seeds in [0, 2**31): the top 31 bits
                kwargs["seed"] = derive(int(seeds[b]), "dimod") >> 33
            if betas is not None:
                kwargs.update(beta_schedule_type="custom", beta_schedule=betas[b])
            if initial_states is not None:
                kwargs["initial_states"] = (initial_states[b], range(N))
            return sampleset_spins(self.sampler.sample(bqm, **kwargs), N, num_reads, owner)

        threads = min(self._threads(), batch.n_problems)
        if threads > 1:
            with ThreadPoolExecutor(threads) as pool:
                spins = np.stack(list(pool.map(one, range(batch.n_problems))))
        else:
            spins = np.stack([one(b) for b in range(batch.n_problems)])
        info: dict[str, Any] = {
            "spin_updates": 0 if betas is None else int(batch.n_problems * num_reads * N * betas.shape[1]),
            "schedule": schedule.kind,
        }
        return SpinSamples(spins, batch.energies(spins), info)


class NealSolver(DimodSolver):
    """neal's simulated annealing (``dwave.samplers.SimulatedAnnealingSampler``), one BQM per problem.

    The ``dimod`` solver with its default sampler; same parameters except
    ``sampler``.
    """

    name = "neal"
    parameters: ClassVar[dict[str, Any]] = {k: v for k, v in DimodSolver.parameters.items() if k != "sampler"}
