"""Anneal schedules: the one owner of forward, reverse and constant schedules, beta ranges and ``reheat``.

Every target takes its schedule from here: the software annealers (``annealing``,
``dimod``/``neal``, :class:`~eqising.solvers.AnnealingSampler`), the memristor
crossbar, the D-Wave QPU and its offline emulator, and the int8 microcontroller
engine (which quantises these schedules; :mod:`eqising.hardware.mcu.fixed`).

Forward walk
    ``num_sweeps`` inverse temperatures from ``hot`` to ``cold``, geometric in
    the sweep index: ``beta_k = hot * (cold / hot) ** t_k`` with progress
    ``t_k = k / (num_sweeps - 1)`` (:func:`forward_progress`,
    :func:`geometric_betas`). A one-sweep schedule is its cold end. A
    *constant* schedule is the forward walk with ``hot == cold``
    (:meth:`AnnealSchedule.constant`).

Reverse walk
    The nudged phase of EqProp and D-Wave's reverse anneal: start cold from
    given states, walk the forward schedule back from its cold end to the
    turning sweep and forward again (:func:`reverse_steps`, indices into the
    forward schedule).

``reheat``
    One definition everywhere: the fraction in [0, 1) of the forward anneal's
    progress, measured from the hot end, at which a reverse anneal turns.
    ``0`` reheats all the way to the hot end, ``0.9`` barely warms up. On a
    sweep schedule it is the sweep :func:`reheat_sweep`; on a QPU it is the
    anneal fraction :func:`reheat_to_anneal_fraction` (a QPU's forward anneal
    runs ``s`` linearly from 0 to 1, so the turning point is ``s = reheat``).

Beta ranges
    ``(hot, cold)`` pairs with ``0 < hot <= cold`` (:func:`check_beta_range`);
    when a schedule leaves them open a solver picks them per problem from its
    biases (:func:`default_beta_range`).

Defaults
    :data:`SCHEDULE_DEFAULTS` holds the schedule parameters every sweep-based
    solver exposes (``num_sweeps``, ``beta_range``, ``reheat``);
    :data:`QPU_SCHEDULE_DEFAULTS` those of the QPU solvers.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from .._memory import check_fits
from .._numba_cache import cached_njit
from .._validation import check_float, check_int, param_error

if TYPE_CHECKING:  # pragma: no cover
    from ..ising import IsingBatch

__all__ = [
    "EMULATOR_BETA_SPAN",
    "QPU_SCHEDULE_DEFAULTS",
    "SCHEDULE_DEFAULTS",
    "AnnealSchedule",
    "anneal_fraction_to_beta",
    "anneal_fractions",
    "beta_ends",
    "check_beta_range",
    "check_reheat",
    "check_schedule_params",
    "default_beta_range",
    "forward_anneal_schedule",
    "forward_progress",
    "geometric_beta",
    "geometric_betas",
    "is_reverse_anneal_schedule",
    "linear_betas",
    "reheat_sweep",
    "reheat_to_anneal_fraction",
    "reverse_anneal_schedule",
    "reverse_steps",
    "schedule_betas",
]

#: Schedule parameters of every sweep-based solver, with their defaults (read-only; build a
#: solver's ``parameters`` as ``{**SCHEDULE_DEFAULTS, ...}``).
SCHEDULE_DEFAULTS: Mapping[str, Any] = MappingProxyType(
    {"num_sweeps": 50, "beta_range": None, "reheat": 0.25}
)

#: Schedule parameters of the QPU solvers: forward anneal time and reverse ramp time in
#: microseconds, and the reverse anneal's turning point (the same ``reheat`` as above).
QPU_SCHEDULE_DEFAULTS: Mapping[str, Any] = MappingProxyType(
    {"annealing_time": 20.0, "reheat": SCHEDULE_DEFAULTS["reheat"], "reverse_ramp_time": 10.0}
)

#: The QPU emulator's inverse temperature at ``s = 0`` is its ``s = 1`` value divided by this.
EMULATOR_BETA_SPAN = 100.0


# ------------------------------------------------------------------ validation
def check_beta_range(value: Any, name: str, owner: str) -> tuple[float, float]:
    """Validate a ``(hot, cold)`` pair of inverse temperatures with ``0 < hot <= cold``.

    Returns
    -------
    (float, float)
    """
    expected = "a pair (hot, cold) of inverse temperatures with 0 < hot <= cold"
    try:
        hot, cold = value
        hot = check_float(hot, name, owner, low=0.0, low_open=True)
        cold = check_float(cold, name, owner, low=0.0, low_open=True)
    except (TypeError, ValueError) as exc:
        raise param_error(name, owner, expected, value) from exc
    if hot > cold:
        raise param_error(name, owner, expected, value)
    return (hot, cold)


def check_reheat(value: Any, owner: str, name: str = "reheat") -> float:
    """Validate a ``reheat`` fraction: a float in [0, 1)."""
    return check_float(value, name, owner, low=0.0, high=1.0, high_open=True)


def check_schedule_params(params: dict[str, Any], owner: str) -> dict[str, Any]:
    """Validate the :data:`SCHEDULE_DEFAULTS` entries of a solver's parameters in place; return ``params``."""
    params["num_sweeps"] = check_int(params["num_sweeps"], "num_sweeps", owner, low=1)
    check_fits(2 * params["num_sweeps"] * 12, "num_sweeps", owner, params["num_sweeps"], "schedule of one problem")
    if params["beta_range"] is not None:
        params["beta_range"] = check_beta_range(params["beta_range"], "beta_range", owner)
    params["reheat"] = check_reheat(params["reheat"], owner)
    return params


# ------------------------------------------------------------------ beta ranges
def beta_ends(max_energy_change: np.ndarray, min_field_scale: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(hot, cold) = (ln 2 / max dE, ln 100 / (2 f))`` with ``cold >= hot``.

    Parameters
    ----------
    max_energy_change, min_field_scale : ndarray of any shape (the same)

    Returns
    -------
    hot, cold : ndarray of that shape
    """
    de, f = np.broadcast_arrays(np.asarray(max_energy_change, dtype=np.float64),
                                np.asarray(min_field_scale, dtype=np.float64))
    hot, cold = np.empty(de.shape), np.empty(de.shape)
    _beta_ends_into(np.ascontiguousarray(de).reshape(-1), np.ascontiguousarray(f).reshape(-1), hot.reshape(-1),
                    cold.reshape(-1))
    return hot, cold


@cached_njit(error_model="numpy")
def _beta_ends_one(max_energy_change, min_field_scale):
    """:func:`beta_ends` of one problem: ``(hot, cold)``."""
    hot = math.log(2.0) / max(max_energy_change, 1e-12)
    return hot, max(math.log(100.0) / (2.0 * min_field_scale), hot)


@cached_njit(error_model="numpy")
def _beta_ends_into(max_energy_change, min_field_scale, hot, cold):
    """The core of :func:`beta_ends` (flat arrays)."""
    for i in range(hot.size):
        hot[i], cold[i] = _beta_ends_one(max_energy_change[i], min_field_scale[i])


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


# ------------------------------------------------------------------ the walks
def forward_progress(num_sweeps: int) -> np.ndarray:
    """Progress of every sweep of a forward schedule, from 0 (hot end) to 1 (cold end).

    Returns
    -------
    ndarray of shape (num_sweeps,), float64
        ``k / (num_sweeps - 1)``; a one-sweep schedule is its cold end, ``[1.0]``.
    """
    n = int(num_sweeps)
    return np.ones(1) if n == 1 else np.linspace(0.0, 1.0, n)


def geometric_beta(hot: Any, cold: Any, progress: Any) -> np.ndarray:
    """Inverse temperature at ``progress`` in [0, 1] of the geometric walk from ``hot`` to ``cold``.

    Parameters
    ----------
    hot, cold, progress : float or ndarray
        Broadcast together.

    Returns
    -------
    ndarray of the broadcast shape
        ``hot * (cold / hot) ** progress`` (computed as ``hot * exp(progress * ln(cold / hot))``).
    """
    hot, cold, progress = np.broadcast_arrays(*(np.asarray(a, dtype=np.float64) for a in (hot, cold, progress)))
    out = np.empty(hot.shape)
    _geometric_into(*(np.ascontiguousarray(a).reshape(-1) for a in (hot, cold, progress)), out.reshape(-1))
    return out


@cached_njit(error_model="numpy")
def _geometric_into(hot, cold, progress, out):
    """:func:`_walk_row` entry by entry (flat arrays): one compiled formula for every walk."""
    for i in range(out.size):
        _walk_row(hot[i], cold[i], progress[i : i + 1], out[i : i + 1])


def geometric_betas(hot: Any, cold: Any, num_sweeps: int) -> np.ndarray:
    """The geometric forward walk: inverse temperature of every sweep, hot to cold.

    Parameters
    ----------
    hot, cold : float or ndarray of shape (n_problems,)
        Ends of the walk (any common shape).
    num_sweeps : int
        Length of the walk (0 gives an empty one).

    Returns
    -------
    ndarray of shape (num_sweeps,) or (n_problems, num_sweeps), float64
        ``geometric_beta(hot, cold, forward_progress(num_sweeps))`` along the last axis.
    """
    hot, cold = np.asarray(hot, dtype=np.float64), np.asarray(cold, dtype=np.float64)
    if hot.ndim == cold.ndim == 1 and hot.shape == cold.shape:  # a batch's walks: the same formula, row by row
        out = np.empty((hot.size, int(num_sweeps)))
        _walks_into(hot, cold, forward_progress(num_sweeps), out)
        return out
    return geometric_beta(hot[..., None], cold[..., None], forward_progress(num_sweeps))


@cached_njit(error_model="numpy")
def _walk_row(hot, cold, progress, out):
    """One walk: ``out = hot * exp(progress * ln(cold / hot))``, the logarithm computed once."""
    log_ratio = math.log(cold / hot)
    for k in range(progress.size):
        out[k] = hot * math.exp(progress[k] * log_ratio)


@cached_njit(error_model="numpy")
def _walks_into(hot, cold, progress, out):
    """Row ``i`` of ``out`` is the walk from ``hot[i]`` to ``cold[i]``."""
    for i in range(hot.size):
        _walk_row(hot[i], cold[i], progress, out[i])


def linear_betas(hot: Any, cold: Any, num_sweeps: int) -> np.ndarray:
    """A forward walk linear in beta (Ocean's ``beta_schedule_type='linear'``).

    Returns
    -------
    ndarray of shape (num_sweeps,) or (n_problems, num_sweeps), float64
    """
    return np.linspace(
        np.asarray(hot, dtype=np.float64), np.asarray(cold, dtype=np.float64), int(num_sweeps), axis=-1
    )


def reheat_sweep(reheat: float, num_sweeps: int) -> int:
    """The forward sweep at which a reverse anneal turns: ``min(int(reheat * num_sweeps), num_sweeps - 1)``.

    Parameters
    ----------
    reheat : float
        Fraction in [0, 1) of the forward anneal's progress, from the hot end.
    num_sweeps : int
        Length of the forward schedule.
    """
    n = int(num_sweeps)
    return min(int(reheat * n), n - 1)


def reverse_steps(num_sweeps: int, turn: int) -> np.ndarray:
    """The reverse walk: indices into a forward schedule, cold end -> ``turn`` -> cold end.

    Parameters
    ----------
    num_sweeps : int
        Length of the forward schedule.
    turn : int
        Forward sweep the walk turns at (:func:`reheat_sweep`); values past the
        cold end are taken as the cold end.

    Returns
    -------
    ndarray of shape (2 * (num_sweeps - turn) - 1,), int64
        ``num_sweeps - 1, ..., turn + 1, turn, turn + 1, ..., num_sweeps - 1``.
    """
    n = int(num_sweeps)
    k = min(int(turn), n - 1)
    return np.concatenate([np.arange(n - 1, k - 1, -1), np.arange(k + 1, n)]).astype(np.int64)


# ------------------------------------------------------------------ the QPU's view
def reheat_to_anneal_fraction(reheat: float) -> float:
    """The QPU anneal fraction ``s`` at which a reverse anneal with this ``reheat`` turns.

    A QPU's forward anneal runs the anneal fraction ``s`` linearly from 0 (the
    transverse field dominates: the hot end) to 1 (the problem Hamiltonian
    dominates: the cold end), so the fraction of the forward anneal's progress
    from the hot end *is* ``s``, and the turning point is ``s = reheat``.
    """
    return float(reheat)


def forward_anneal_schedule(annealing_time: float) -> list[list[float]]:
    """The QPU's standard forward anneal as ``anneal_schedule`` points ``[[0, 0], [annealing_time, 1]]``."""
    return [[0.0, 0.0], [float(annealing_time), 1.0]]


def reverse_anneal_schedule(reheat: float, ramp_time: float) -> list[list[float]]:
    """A QPU reverse anneal turning at ``reheat``: ``[[0, 1], [t, s], [2 t, 1]]``.

    Parameters
    ----------
    reheat : float
        As everywhere (see the module docstring); ``s = reheat_to_anneal_fraction(reheat)``.
    ramp_time : float
        Microseconds ``t`` from s=1 down to ``s`` and again back up.

    Returns
    -------
    list of [time, s] points (``anneal_schedule`` of ``DWaveSampler.sample``)
    """
    t, s = float(ramp_time), reheat_to_anneal_fraction(reheat)
    return [[0.0, 1.0], [t, s], [2 * t, 1.0]]


def is_reverse_anneal_schedule(anneal_schedule: Sequence[Sequence[float]] | None) -> bool:
    """Whether ``anneal_schedule`` points start at s=1 (a reverse anneal from given states)."""
    return anneal_schedule is not None and float(anneal_schedule[0][1]) == 1.0


def anneal_fractions(anneal_schedule: Sequence[Sequence[float]], num_sweeps: int) -> np.ndarray:
    """The anneal fraction ``s`` at ``num_sweeps`` equally spaced times spanning a piecewise-linear schedule.

    Returns
    -------
    ndarray of shape (num_sweeps,), float64
    """
    points = np.asarray(anneal_schedule, dtype=np.float64)
    t = np.linspace(points[0, 0], points[-1, 0], int(num_sweeps))
    return np.interp(t, points[:, 0], points[:, 1])


def anneal_fraction_to_beta(s: Any, cold: float, span: float = EMULATOR_BETA_SPAN) -> np.ndarray:
    """The emulated QPU's inverse temperature at anneal fraction ``s``.

    The forward geometric walk read at progress ``s``: from ``cold / span``
    at s=0 to ``cold`` at s=1 (``cold * span ** (s - 1)``), so an emulated
    forward anneal is :func:`geometric_betas` and an emulated reverse anneal
    turns where :func:`reheat_sweep` turns a sweep schedule.

    Returns
    -------
    ndarray of the shape of ``s``
    """
    return geometric_beta(cold / span, cold, s)


# ------------------------------------------------------------------ the schedule
@dataclass(frozen=True)
class AnnealSchedule:
    """How a phase is annealed.

    Parameters
    ----------
    kind : {'forward', 'reverse'}
        ``'forward'`` anneals from hot to cold starting from random states (or
        from ``initial_states`` when given). ``'reverse'`` starts cold from the
        given ``initial_states``, reheats part of the way and cools again (the
        nudged phase of EqProp; D-Wave's reverse anneal).
    num_sweeps : int or None, default=None
        Length of the forward schedule; ``None`` takes the solver's default.
    beta_range : (float, float) or None, default=None
        Inverse temperatures ``(hot, cold)`` at the two ends; ``None`` takes the
        solver's default (per problem, from its biases).
    reheat : float or None, default=None
        For ``'reverse'``: the fraction in [0, 1) of the forward anneal's
        progress, measured from the hot end, at which to turn (0.25 reheats to
        the inverse temperature a quarter of the way in; on a QPU, to
        ``s = 0.25``). ``None`` takes the solver's default.
    """

    kind: Literal["forward", "reverse"] = "forward"
    num_sweeps: int | None = None
    beta_range: tuple[float, float] | None = None
    reheat: float | None = None

    def __post_init__(self) -> None:
        owner = "AnnealSchedule"
        if self.kind not in ("forward", "reverse"):
            raise param_error("kind", owner, "one of {'forward', 'reverse'}", self.kind)
        if self.num_sweeps is not None:
            check_int(self.num_sweeps, "num_sweeps", owner, low=1)
        if self.beta_range is not None:
            object.__setattr__(self, "beta_range", check_beta_range(self.beta_range, "beta_range", owner))
        if self.reheat is not None:
            check_reheat(self.reheat, owner)

    @classmethod
    def constant(cls, beta: float, num_sweeps: int) -> AnnealSchedule:
        """A fixed-temperature schedule (Boltzmann sampling at inverse temperature ``beta``)."""
        return cls("forward", num_sweeps, (beta, beta))

    def resolved(
        self, num_sweeps: int, beta_range: tuple[float, float] | None, reheat: float
    ) -> AnnealSchedule:
        """Fill the open fields with a solver's defaults."""
        return AnnealSchedule(
            self.kind,
            self.num_sweeps if self.num_sweeps is not None else num_sweeps,
            self.beta_range if self.beta_range is not None else beta_range,
            self.reheat if self.reheat is not None else reheat,
        )

    def steps(self) -> np.ndarray:
        """Indices into the forward schedule of every step of a resolved schedule.

        Returns
        -------
        ndarray of shape (n_steps,), int64
            ``0 .. num_sweeps - 1`` for forward schedules; :func:`reverse_steps`
            turning at :func:`reheat_sweep` for reverse ones.
        """
        self._check_resolved()
        n = int(self.num_sweeps)
        if self.kind == "forward":
            return np.arange(n, dtype=np.int64)
        return reverse_steps(n, reheat_sweep(self.reheat, n))

    def betas(self, hot: np.ndarray, cold: np.ndarray) -> np.ndarray:
        """Inverse temperature of every sweep for each problem.

        Parameters
        ----------
        hot, cold : ndarray of shape (n_problems,)
            Per-problem ends of the geometric schedule (used when
            ``beta_range`` is None).

        Returns
        -------
        ndarray of shape (n_problems, n_steps)
            ``n_steps = num_sweeps`` for forward schedules; a reverse schedule
            walks the forward one back from its cold end to the reheat point
            and forward again, ``2 * (num_sweeps - k) - 1`` steps with
            ``k = reheat_sweep(reheat, num_sweeps)``.
        """
        self._check_resolved()
        if self.beta_range is not None:
            hot = np.full_like(hot, self.beta_range[0])
            cold = np.full_like(cold, self.beta_range[1])
        forward = geometric_betas(hot, cold, int(self.num_sweeps))
        if self.kind == "forward":
            return forward
        return forward[:, self.steps()]

    def _check_resolved(self) -> None:
        if self.num_sweeps is None or (self.kind == "reverse" and self.reheat is None):
            raise param_error(
                "schedule", "AnnealSchedule.betas", "a resolved schedule (call resolved() first)", self
            )


def schedule_betas(
    batch: IsingBatch, schedule: AnnealSchedule, params: Mapping[str, Any]
) -> tuple[AnnealSchedule, np.ndarray]:
    """Resolve ``schedule`` with a solver's ``num_sweeps``/``beta_range``/``reheat`` defaults.

    Parameters
    ----------
    batch : IsingBatch
    schedule : AnnealSchedule
    params : mapping
        The solver's parameters (holding the :data:`SCHEDULE_DEFAULTS` keys).

    Returns
    -------
    schedule : AnnealSchedule
        The resolved schedule.
    betas : ndarray of shape (n_problems, n_steps)
        Inverse temperature of every sweep per problem; the ends are
        :func:`default_beta_range` unless a ``beta_range`` is set.
    """
    schedule = schedule.resolved(params["num_sweeps"], params["beta_range"], params["reheat"])
    # every (problem, sweep) takes a float64 beta and the kernel's float32 copy; reverse schedules up to 2x
    n = int(schedule.num_sweeps)
    check_fits((batch.n_problems + 1) * 2 * n * 12, "num_sweeps", "the solver", n,
               f"schedule for {batch.n_problems} problems")
    # an explicit beta_range overrides the per-problem ends inside AnnealSchedule.betas
    ends = default_beta_range(batch) if schedule.beta_range is None else (np.ones(batch.n_problems),) * 2
    return schedule, schedule.betas(*ends)
