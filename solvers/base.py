"""The solver protocol: what every solver takes, returns and declares.

A solver relaxes a whole :class:`~eqising.ising.IsingBatch` (B problems that
share couplings) and returns :class:`SpinSamples`. Schedules are described
once, independently of the solver, by :class:`~eqising.solvers.schedule.AnnealSchedule`
(:mod:`eqising.solvers.schedule`); a solver fills in what the schedule leaves
open (sweeps, temperature range) from its own parameters. Per-problem seeds
come from :func:`eqising.seeding.problem_seeds`. :mod:`eqising.solvers.testing`
checks that a solver keeps this protocol. (``check_beta_range`` is still
importable from here for :mod:`eqising.hardware.mcu.backend`; it lives in the
schedule module.)
"""

from __future__ import annotations

import abc
import importlib.util
import time
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from .._validation import Described, check_int, check_keys, param_error
from ..ising import IsingBatch
from ..seeding import problem_seeds
from .schedule import AnnealSchedule, check_beta_range  # noqa: F401
from .temperature import effective_temperature

__all__ = ["Solver", "SolverCapabilities", "SpinSamples", "add_costs"]


@dataclass(frozen=True)
class SolverCapabilities:
    """What a solver can do, so callers can fail early with a clear message.

    Attributes
    ----------
    exact : bool
        Samples are exact (ground states or exact Boltzmann samples).
    finite_temperature : bool
        Can sample at a finite, known temperature.
    reverse_anneal : bool
        Honours ``'reverse'`` schedules started from ``initial_states``.
    max_spins : int or None
        Largest problem it accepts; ``None`` for no limit.
    topology : str
        ``'layered'`` (chains of bipartite layers) or ``'any'``.
    sweep_schedule : bool, default=True
        Accepts schedules that set ``num_sweeps`` and ``beta_range`` (a
        software annealer's sweep schedule). ``False`` for solvers that anneal
        at their own temperature for a set time (a QPU): they reject such
        schedules, and only ``kind`` and ``reheat`` of a schedule apply.
    """

    exact: bool
    finite_temperature: bool
    reverse_anneal: bool
    max_spins: int | None
    topology: str
    sweep_schedule: bool = True


@dataclass
class SpinSamples:
    """Samples of a batch of problems.

    Attributes
    ----------
    spins : ndarray of shape (n_problems, n_reads, n_spins), dtype int8
        Spins in {-1, +1}.
    energies : ndarray of shape (n_problems, n_reads)
        Energies in eqising's sign convention.
    info : dict
        Cost record: ``solver_seconds`` (wall time in the solver),
        ``spin_updates`` (single-spin updates performed), ``cost`` (a dict of
        the solver's own additive costs, e.g. QPU access seconds or crossbar
        energy in joules, summed by the trainer per phase and epoch), and
        solver-specific entries (schedule, seed, ...).
    """

    spins: np.ndarray
    energies: np.ndarray
    info: dict = field(default_factory=dict)

    @property
    def n_reads(self) -> int:
        return self.spins.shape[1]

    @property
    def cost(self) -> dict[str, float]:
        """Additive cost of these samples: ``solver_seconds``, ``spin_updates`` and ``info['cost']``."""
        return {
            "solver_seconds": float(self.info.get("solver_seconds", 0.0)),
            "spin_updates": int(self.info.get("spin_updates", 0)),
            **self.info.get("cost", {}),
        }

    def lowest(self) -> np.ndarray:
        """Lowest-energy read of each problem, shape (n_problems, n_spins)."""
        best = np.argmin(self.energies, axis=1)
        return self.spins[np.arange(self.spins.shape[0]), best]


def add_costs(total: dict[str, float], part: dict[str, float]) -> dict[str, float]:
    """Add the additive cost record ``part`` into ``total`` in place; return ``total``."""
    for key, value in part.items():
        total[key] = total.get(key, 0) + value
    return total


class Solver(abc.ABC):
    """Base class of eqising solvers.

    Subclasses set :attr:`name`, :attr:`capabilities` and :attr:`parameters`
    (the keyword arguments the constructor accepts with their defaults), and
    implement :meth:`_sample`. :meth:`sample` validates the call and times it.
    Every solver takes ``estimate_temperature`` (bool): when true, :meth:`sample`
    adds the maximum pseudo-likelihood temperature of the samples
    (:func:`~solvers.temperature.effective_temperature`) to
    ``info['diagnostics']['effective_temperature']``; the trainer reports it per
    phase and epoch (``solver_diagnostics_``). It costs about five times a
    32-example annealing call, so the fast solvers leave it off by default.
    """

    name: ClassVar[str]
    capabilities: ClassVar[SolverCapabilities]
    parameters: ClassVar[dict[str, Any]]

    def __init__(self, **params: Any) -> None:
        params = check_keys(params, "solver_params", f"solver {self.name!r}", self.parameters)
        self._given = dict(params)  # as passed: get_params returns these very objects (scikit-learn's clone)
        merged = {**self.parameters, **params}
        estimate = merged["estimate_temperature"]
        if not isinstance(estimate, (bool, np.bool_)):
            raise param_error("estimate_temperature", f"solver {self.name!r}", "a bool", estimate)
        if estimate and importlib.util.find_spec("dwave.system") is None:  # fail now, not after an anneal
            raise param_error(
                "estimate_temperature", f"solver {self.name!r}",
                "False unless the dwave extra is installed (pip install 'eqising[dwave]')", estimate,
            )
        self.params = self._check_params(merged)

    def _check_params(self, params: dict[str, Any]) -> dict[str, Any]:
        """Validate constructor parameters; return them normalised."""
        return params

    def sample(
        self,
        batch: IsingBatch,
        *,
        num_reads: int = 1,
        schedule: AnnealSchedule | None = None,
        initial_states: np.ndarray | None = None,
        seed: int | None = None,
    ) -> SpinSamples:
        """Sample every problem of ``batch``.

        Parameters
        ----------
        batch : IsingBatch
        num_reads : int, default=1
            Independent reads per problem.
        schedule : AnnealSchedule or None, default=None
            ``None`` is the solver's default forward schedule.
        initial_states : ndarray of shape (n_problems, num_reads, n_spins) or None
            Start states in {-1, +1}; required for ``'reverse'`` schedules.
        seed : int, ndarray of shape (n_problems,), or None
            One seed in [0, 2**64) for the call, or one per problem (an int
            seeds problem ``b`` with ``eqising.seeding.derive(seed, "problem", b)``,
            :func:`eqising.seeding.problem_seeds`). Each problem is sampled
            from its own random stream, derived from its own seed, so a
            problem's samples do not depend on which other problems share the
            batch, on its position in it, or on threads.

        Returns
        -------
        SpinSamples
        """
        owner = f"{type(self).__name__}.sample"
        if not isinstance(batch, IsingBatch):
            raise param_error("batch", owner, "an IsingBatch", type(batch).__name__)
        num_reads = check_int(num_reads, "num_reads", owner, low=1)
        schedule = AnnealSchedule() if schedule is None else schedule
        if not isinstance(schedule, AnnealSchedule):
            raise param_error("schedule", owner, "None or an AnnealSchedule", schedule)
        seeds = problem_seeds(seed, batch.n_problems, owner)
        cap = self.capabilities
        if cap.max_spins is not None and batch.n_spins > cap.max_spins:
            raise param_error(
                "batch", owner, f"a problem of at most {cap.max_spins} spins for solver {self.name!r}",
                Described(f"{batch.n_spins} spins"),
            )
        if initial_states is not None:
            initial_states = np.asarray(initial_states)
            want = (batch.n_problems, num_reads, batch.n_spins)
            if initial_states.shape != want:
                raise param_error(
                    "initial_states", owner, f"an array of shape {want} (n_problems, num_reads, n_spins)",
                    Described(f"array of shape {initial_states.shape}"),
                )
            if not np.all(np.abs(initial_states) == 1):
                raise param_error("initial_states", owner, "an array of spins in {-1, +1}", Described("an array with other values"))
            initial_states = initial_states.astype(np.int8)
        if schedule.kind == "reverse" and initial_states is None and cap.reverse_anneal:
            raise param_error("initial_states", owner, "given for a 'reverse' schedule", None)
        start = time.perf_counter()
        samples = self._sample(batch, num_reads, schedule, initial_states, seeds)
        samples.info["solver_seconds"] = time.perf_counter() - start
        samples.info.setdefault("spin_updates", 0)
        if self.params["estimate_temperature"]:  # not solver time: an analysis of its output
            diagnostics = samples.info.setdefault("diagnostics", {})
            diagnostics["effective_temperature"] = effective_temperature(batch, samples.spins)
        return samples

    @abc.abstractmethod
    def _sample(
        self,
        batch: IsingBatch,
        num_reads: int,
        schedule: AnnealSchedule,
        initial_states: np.ndarray | None,
        seeds: np.ndarray,
    ) -> SpinSamples:
        """Sample a validated call; ``seeds`` has shape (n_problems,), dtype uint64."""

    def fused_eqprop(self, network: Any, *, nudge: float, mode: str, num_reads: int, skip_correct: bool) -> Any:
        """A compiled EqProp step of this solver on ``network``, or ``None`` (the default).

        A solver that can run a whole EqProp step itself (both phases, the
        skip rule and the gradient, e.g. in one compiled call) returns an
        object with ``step(X, targets, *, seed) -> EqPropStep`` that gives
        exactly what :func:`eqising.eqprop.eqprop_step` gives with this
        solver and these settings; the float engine
        (:class:`eqising.engine.FloatEngine`) then calls it instead. With
        ``None`` the engine runs the generic step on :meth:`sample`.

        Parameters
        ----------
        network : LayeredIsingNetwork
            The network trained; its weights are read at every step.
        nudge : float
        mode : {'positive', 'symmetric', 'random-sign'}
        num_reads : int
            Reads per phase.
        skip_correct : bool
        """
        return None

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """Constructor parameters as given (defaults filled in), as scikit-learn's ``get_params``.

        With these, ``type(solver)(**solver.get_params())`` builds an equal
        solver, so a solver passed as ``EqPropClassifier(solver=...)`` works
        with ``clone``, ``GridSearchCV`` (``solver__num_sweeps``) and
        persistence.
        """
        return {**self.parameters, **self._given}

    def set_params(self, **params: Any) -> Solver:
        """Change constructor parameters (validated as by the constructor); return ``self``."""
        fresh = type(self)(**{**self._given, **params})  # validated first: a refused value changes nothing
        self.__dict__.update(fresh.__dict__)
        return self

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self._given.items() if v is not self.parameters.get(k))
        return f"{type(self).__name__}({args})"
