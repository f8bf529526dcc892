"""The dwave solver offline: ``MockDWaveSampler`` with an emulator that really samples.

``dwave.system.testing.MockDWaveSampler`` reproduces a QPU's interface (graph,
properties, parameters, answer format) but samples by steepest descent and
ignores ``initial_state`` and ``anneal_schedule``. :class:`AnnealEmulator`
replaces that sampler: it plays the anneal schedule as simulated annealing
(dwave-samplers) on the programmed (embedded, scaled) problem, so the whole
dwave path -- embedding, scaling, chains, reverse anneals from given states,
decoding, timing records -- runs as it would on a chip, without a token.

What differs from a real QPU (also in the README):

- dynamics: classical single-spin Metropolis sweeps, not quantum annealing;
  ``s`` maps to the inverse temperature ``beta * 100 ** (s - 1)`` (the geometric
  forward walk of :mod:`eqising.solvers.schedule` read at progress ``s``, from
  ``beta / 100`` at s=0 to ``beta`` at s=1, in programmed units:
  :func:`~eqising.solvers.schedule.anneal_fraction_to_beta`), and
  ``num_sweeps`` sweeps span the whole schedule whatever its duration;
- temperature: ``beta`` is a fixed parameter; a QPU's effective temperature
  depends on the problem, the schedule and the chip, and drifts;
- no control errors (ICE), no flux noise, no readout errors, no
  crosstalk; chains break only thermally;
- ranges: ``h_range`` and ``j_range`` are enforced (out-of-range submissions
  fail as on the chip), but not ``extended_j_range`` or per-qubit coupling limits;
- timing: not measured, estimated with dwave-cloud-client's
  ``estimate_qpu_access_time`` model and the Advantage4.1 timing data it
  publishes (programming + reads x (anneal + readout + delay)).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any, ClassVar

import dimod
import numpy as np

from ..._validation import Described, check_float, check_int, param_error
from ...seeding import derive, root_seed
from .._kernels import KERNEL_LOCK
from ..schedule import (
    anneal_fraction_to_beta,
    anneal_fractions,
    forward_anneal_schedule,
    is_reverse_anneal_schedule,
)
from ._emulator_kernel import anneal_copies, chain_entries
from .dwave_solver import DWaveSolver, QpuCall

__all__ = ["AnnealEmulator", "DWaveMockSolver", "EmulatorLayout", "estimate_timing"]


class AnnealEmulator(dimod.Sampler):
    """A stand-in for QPU sampling: simulated annealing that follows QPU anneal parameters.

    Each anneal plays the ``s(t)`` schedule as ``num_sweeps`` sequential Metropolis
    sweeps at inverse temperatures ``beta * 100 ** (s - 1)``. When the chains of
    the embedding are known (:attr:`chains`), every ``sweeps_per_move`` sweeps are
    followed by whole-chain Metropolis flips: a chain then moves as one logical
    spin, as it does when a QPU tunnels, instead of freezing as soon as
    single-qubit flips against the chain coupling stop being accepted. Both
    moves satisfy detailed balance, so at a fixed ``s`` the emulator samples the
    Boltzmann distribution of the programmed problem at that inverse temperature.

    One call anneals every read of every copy (:attr:`copies`, the disjoint
    parallel embeddings programmed together) in one compiled, multithreaded
    kernel (:mod:`._emulator_kernel`); each (copy, read) draws from its own
    stream, seeded from the copy's seed, so a copy's reads do not depend on the
    other copies of the call.

    Parameters
    ----------
    beta : float, default=20.0
        Inverse temperature reached at s=1, in the units of the programmed problem.
    num_sweeps : int, default=100
        Metropolis sweeps per anneal.
    h_range, j_range : (float, float), default=(-4, 4), (-1, 1)
        Programmable ranges; biases outside them are rejected, as by a QPU.
    sweeps_per_move : int, default=5
        Single-qubit sweeps between two rounds of chain flips.

    Attributes
    ----------
    seed : int, sequence of int, or None
        Seed of the next call (set before each call by :class:`DWaveMockSolver`):
        one per copy when :attr:`copies` is set, else one for the call (copy ``c``
        then draws from ``eqising.seeding.derive(seed, "anneal-emulator", c)``).
    chains : list of list or None
        Qubit labels of every chain of the embedding(s) in use (set by :class:`DWaveMockSolver`).
    copies : list of sequence or None
        Qubit labels of every copy, each in its sweep order; every variable of
        the problem belongs to exactly one. ``None``: the whole problem is one copy,
        swept in its variable order.
    """

    parameters = None
    properties = None

    def __init__(
        self,
        beta: float = 20.0,
        num_sweeps: int = 100,
        h_range=(-4.0, 4.0),
        j_range=(-1.0, 1.0),
        sweeps_per_move: int = 5,
    ) -> None:
        self.beta, self.num_sweeps, self.sweeps_per_move = beta, num_sweeps, sweeps_per_move
        self.h_range, self.j_range = tuple(h_range), tuple(j_range)
        self.seed: Any = None
        self.chains: list | None = None
        self.copies: list | None = None
        self.parameters = {
            k: []
            for k in (
                "num_reads",
                "annealing_time",
                "anneal_schedule",
                "initial_state",
                "reinitialize_state",
                "auto_scale",
                "answer_mode",
                "label",
            )
        }
        self.properties = {"beta": beta, "num_sweeps": num_sweeps}

    def betas(self, anneal_schedule: list | None, annealing_time: float) -> np.ndarray:
        """Inverse temperature of every sweep for a piecewise-linear ``s(t)`` schedule.

        Returns
        -------
        ndarray of shape (num_sweeps,)
            ``anneal_fraction_to_beta(s, beta)`` at ``num_sweeps`` equally
            spaced times (``None`` is the forward anneal of ``annealing_time``).
        """
        points = anneal_schedule if anneal_schedule is not None else forward_anneal_schedule(annealing_time)
        return anneal_fraction_to_beta(anneal_fractions(points, self.num_sweeps), self.beta)

    def sample(
        self,
        bqm: dimod.BinaryQuadraticModel,
        num_reads: int = 1,
        annealing_time: float = 20.0,
        anneal_schedule: list | None = None,
        initial_state: dict | None = None,
        reinitialize_state: bool = True,
        auto_scale: bool = True,
        answer_mode: str = "histogram",
        label: str | None = None,
    ) -> dimod.SampleSet:
        """Sample ``bqm`` (SPIN) like a QPU call with these parameters."""
        owner = "AnnealEmulator.sample"
        if auto_scale:
            raise param_error(
                "auto_scale", owner, "False (the emulator programs the problem as given)", auto_scale
            )
        reverse = is_reverse_anneal_schedule(anneal_schedule)
        if reverse and initial_state is None:
            raise param_error(
                "initial_state", owner, "given for a reverse anneal (schedule starting at s=1)", None
            )
        if initial_state is not None and not reinitialize_state:
            raise param_error(
                "reinitialize_state",
                owner,
                "True (the emulator restarts every read from initial_state)",
                reinitialize_state,
            )
        labels, copy_seeds, qptr = self._layout(bqm, owner)
        ldata, (irow, icol, qdata), _ = bqm.to_numpy_vectors(variable_order=labels)
        chain_of = np.arange(len(labels), dtype=np.int64)  # no chains known: every qubit is its own chain
        if self.chains:
            position = {v: i for i, v in enumerate(labels)}
            for chain in self.chains:
                where = [position[q] for q in chain if q in position]
                chain_of[where] = min(where, default=0)
        layout = EmulatorLayout.build(irow, icol, qptr, chain_of)
        start = None
        if initial_state is not None:
            start = np.fromiter((initial_state[v] for v in labels), dtype=np.int8, count=len(labels))
        states = self.anneal(
            layout, ldata, qdata, num_reads, self.betas(anneal_schedule, annealing_time), start, copy_seeds, owner
        )
        return dimod.SampleSet.from_samples_bqm((states, labels), bqm)

    def anneal(
        self,
        layout: EmulatorLayout,
        h: np.ndarray,
        J: np.ndarray,
        num_reads: int,
        betas: np.ndarray,
        initial_state: np.ndarray | None,
        copy_seeds: np.ndarray,
        owner: str = "AnnealEmulator.anneal",
    ) -> np.ndarray:
        """The array core of :meth:`sample`: anneal every read of every copy of a programmed problem.

        Parameters
        ----------
        layout : EmulatorLayout
            Couplers, copies and chains, in the call's qubit order.
        h : ndarray of shape (n_qubits,)
            Fields (dimod sign).
        J : ndarray of shape (n_couplers,)
            Couplings of ``layout``'s ``(rows, cols)`` pairs (dimod sign).
        num_reads : int
        betas : ndarray of shape (n_sweeps,)
        initial_state : ndarray of shape (n_qubits,) or None
            Start of every read (reverse anneal); ``None`` draws random starts.
        copy_seeds : ndarray of shape (n_copies,), dtype uint64

        Returns
        -------
        ndarray of shape (num_reads, n_qubits), dtype int8
        """
        if h.size and (h.min() < self.h_range[0] or h.max() > self.h_range[1]):
            raise param_error(
                "bqm", owner, f"fields inside h_range {self.h_range}", (float(h.min()), float(h.max()))
            )
        if J.size and (J.min() < self.j_range[0] or J.max() > self.j_range[1]):
            raise param_error(
                "bqm", owner, f"couplings inside j_range {self.j_range}", (float(J.min()), float(J.max()))
            )
        if initial_state is not None:
            states = np.tile(np.asarray(initial_state, dtype=np.int8), (num_reads, 1))
        else:
            states = np.empty((num_reads, h.size), dtype=np.int8)
        lay = layout
        with KERNEL_LOCK:  # selects the threading layer on a first launch; serialises launches
            anneal_copies(
                states,
                initial_state is None,
                np.asarray(h, dtype=np.float64),
                lay.indptr,
                lay.nbr,
                np.asarray(J, dtype=np.float64)[lay.entry_coupler],
                lay.qptr,
                lay.chain_of,
                lay.chain_qubits,
                lay.chain_ptr,
                lay.cptr,
                np.asarray(betas, dtype=np.float64),
                self.sweeps_per_move if lay.has_chains else 0,
                np.asarray(copy_seeds, dtype=np.uint64),
                (lay.inner_ptr, lay.inner_entries),
            )
        return states

    def _layout(self, bqm: dimod.BinaryQuadraticModel, owner: str) -> tuple[list, np.ndarray, np.ndarray]:
        """Variables in sweep order (copy after copy), one seed per copy, copy bounds ``qptr``."""
        if self.copies is None:
            labels = list(bqm.variables)
            seed = root_seed(self.seed, "seed", owner)
            return labels, np.array([derive(seed, "anneal-emulator", 0)], dtype=np.uint64), np.array(
                [0, len(labels)], dtype=np.int64
            )
        labels = [v for copy in self.copies for v in copy]
        if len(labels) != len(bqm.variables) or set(labels) != set(bqm.variables):
            raise param_error(
                "copies", owner, "qubit lists that partition the problem's variables", Described("other lists")
            )
        seeds = [self.seed] * len(self.copies) if np.ndim(self.seed) == 0 else list(self.seed)
        if len(seeds) != len(self.copies):
            raise param_error("seed", owner, f"one seed per copy ({len(self.copies)})", self.seed)
        copy_seeds = np.array(
            [derive(root_seed(s, "seed", owner), "anneal-emulator", 0) for s in seeds], dtype=np.uint64
        )
        qptr = np.r_[0, np.cumsum([len(copy) for copy in self.copies])].astype(np.int64)
        return labels, copy_seeds, qptr



@dataclass(frozen=True, eq=False)
class EmulatorLayout:
    """A programmed problem's structure in the emulator's qubit order (built once per structure).

    Attributes
    ----------
    indptr, nbr : ndarray of int64
        CSR neighbours of every qubit, sorted by position (so a copy's local
        field sums do not depend on qubit labels or on the other copies).
    entry_coupler : ndarray of int64
        Coupler (index into the ``(rows, cols)`` pairs) of every CSR entry.
    qptr : ndarray of shape (n_copies + 1,), dtype int64
    chain_of, chain_qubits, chain_ptr, cptr : ndarray of int64
        Chain of every qubit, the qubits of every chain, chain bounds, per-copy chain bounds.
    has_chains : bool
        Some chain has two or more qubits.
    inner_ptr, inner_entries : ndarray of int64
        The CSR entries of every qubit inside its own chain
        (:func:`~eqising.solvers.ocean._emulator_kernel.chain_entries`).
    """

    indptr: np.ndarray
    nbr: np.ndarray
    entry_coupler: np.ndarray
    qptr: np.ndarray
    chain_of: np.ndarray
    chain_qubits: np.ndarray
    chain_ptr: np.ndarray
    cptr: np.ndarray
    has_chains: bool
    inner_ptr: np.ndarray
    inner_entries: np.ndarray

    @property
    def n_copies(self) -> int:
        """Copies laid out."""
        return self.qptr.size - 1

    def first_copies(self, n: int) -> EmulatorLayout:
        """The layout of this layout's first ``n`` copies alone, as views (no copying).

        Copies come one after the other in every array (qubits, CSR rows,
        chains, in-chain entries), so the first ``n`` copies' layout is a prefix
        of each; it equals :meth:`build` on their couplers (a test checks).
        """
        if not 1 <= n <= self.n_copies:
            raise param_error("n", "EmulatorLayout.first_copies", f"in [1, {self.n_copies}]", n)
        Q = int(self.qptr[n])
        n_entries = int(self.indptr[Q])
        n_chains = int(self.cptr[n])
        return EmulatorLayout(
            self.indptr[: Q + 1],
            self.nbr[:n_entries],
            self.entry_coupler[:n_entries],
            self.qptr[: n + 1],
            self.chain_of[:Q],
            self.chain_qubits[:Q],
            self.chain_ptr[: n_chains + 1],
            self.cptr[: n + 1],
            self.has_chains,
            self.inner_ptr[: Q + 1],
            self.inner_entries[: int(self.inner_ptr[Q])],
        )

    @classmethod
    def build(cls, rows: np.ndarray, cols: np.ndarray, qptr: np.ndarray, chain_of: np.ndarray) -> EmulatorLayout:
        """Layout of couplers ``(rows[k], cols[k])`` on qubits split into copies at ``qptr``.

        ``chain_of`` (n_qubits,) gives each qubit a chain key (equal keys: one
        chain, which must lie inside one copy); chains are numbered by their
        first qubit, so they follow the copies and each copy's sweep order.
        """
        Q = chain_of.size
        rows, cols = np.asarray(rows, dtype=np.int64), np.asarray(cols, dtype=np.int64)
        both_r, both_c = np.concatenate([rows, cols]), np.concatenate([cols, rows])
        by_row = np.lexsort((both_c, both_r))
        indptr = np.r_[0, np.cumsum(np.bincount(both_r, minlength=Q))].astype(np.int64)
        entry_coupler = np.concatenate([np.arange(rows.size), np.arange(rows.size)])[by_row]
        keys, inverse = np.unique(chain_of, return_inverse=True)
        inverse = inverse.ravel().astype(np.int64)
        first = np.full(keys.size, Q, dtype=np.int64)
        np.minimum.at(first, inverse, np.arange(Q))
        rank = np.empty(keys.size, dtype=np.int64)
        rank[np.argsort(first, kind="stable")] = np.arange(keys.size)
        number = rank[inverse]
        counts = np.bincount(number, minlength=keys.size)
        nbr = both_c[by_row].astype(np.int64)
        return cls(
            indptr,
            nbr,
            entry_coupler.astype(np.int64),
            np.asarray(qptr, dtype=np.int64),
            number,
            np.argsort(number, kind="stable").astype(np.int64),
            np.r_[0, np.cumsum(counts)].astype(np.int64),
            np.searchsorted(np.sort(first), np.asarray(qptr)).astype(np.int64),
            bool(np.any(counts > 1)),
            *chain_entries(indptr, nbr, number),
        )


#: The call parameters :func:`estimate_timing` reads (``initial_state`` only for whether one is given).
_TIMING_KWARGS = ("annealing_time", "anneal_schedule", "initial_state", "reinitialize_state")


def _timing_key(kwargs: dict[str, Any]) -> tuple:
    """Everything of ``kwargs`` that :func:`estimate_timing` reads, hashable.

    ``estimate_qpu_access_time`` tests ``initial_state`` (and ``reinitialize_state``)
    only for truth, so their truth values stand for them; the schedule's points
    and the annealing time enter as they are.
    """
    key = []
    for name in _TIMING_KWARGS:
        if name not in kwargs:
            continue
        value = kwargs[name]
        if name == "anneal_schedule" and value is not None:
            value = tuple(tuple(float(x) for x in point) for point in value)
        elif name in ("initial_state", "reinitialize_state"):
            value = bool(np.size(value)) if isinstance(value, np.ndarray) else bool(value)
        key.append((name, value))
    return tuple(key)


def _estimate_timing_uncached(num_qubits: int, num_reads: int, kwargs: dict[str, Any]) -> dict[str, float]:
    """:func:`estimate_timing` without its cache (two ``estimate_qpu_access_time`` evaluations)."""
    from dwave.cloud.solver import StructuredSolver
    from dwave.cloud.testing.mocks import qpu_problem_timing_data

    data = qpu_problem_timing_data("advantage")
    solver = SimpleNamespace(properties={"problem_timing_data": data})
    call = {k: kwargs[k] for k in _TIMING_KWARGS if k in kwargs}
    total = StructuredSolver.estimate_qpu_access_time(solver, num_qubits, num_reads=num_reads, **call)
    programming = StructuredSolver.estimate_qpu_access_time(solver, num_qubits, num_reads=0, **call)
    schedule = kwargs.get("anneal_schedule")
    anneal = schedule[-1][0] if schedule else kwargs.get("annealing_time", data["default_annealing_time"])
    return {
        "qpu_access_time": float(total),
        "qpu_programming_time": float(programming),
        "qpu_sampling_time": float(total - programming),
        "qpu_anneal_time_per_sample": float(anneal),
        "qpu_delay_time_per_sample": float(data["qpu_delay_time_per_sample"]),
    }


@functools.lru_cache(maxsize=1024)
def _estimate_timing_cached(num_qubits: int, num_reads: int, key: tuple) -> tuple[tuple[str, float], ...]:
    return tuple(_estimate_timing_uncached(num_qubits, num_reads, dict(key)).items())


def estimate_timing(num_qubits: int, num_reads: int, kwargs: dict[str, Any]) -> dict[str, float]:
    """QPU timing fields (microseconds) of a call, from D-Wave's published Advantage4.1 timing model.

    Uses ``dwave.cloud.solver.StructuredSolver.estimate_qpu_access_time`` with
    the ``problem_timing_data`` of ``dwave.cloud.testing.mocks`` (Advantage4.1,
    August 2022): programming (+ programming thermalization) plus ``num_reads``
    x (anneal + readout + delay). The estimate is a pure function of
    ``num_qubits``, ``num_reads`` and the schedule parameters (``annealing_time``,
    ``anneal_schedule``, whether ``initial_state`` is given, ``reinitialize_state``),
    so it is computed once per distinct set of them and then looked up.

    Parameters
    ----------
    num_qubits : int
        Active qubits of the call.
    num_reads : int
    kwargs : dict
        The call's sampler parameters; other keys are ignored.

    Returns
    -------
    dict of str to float
        ``qpu_access_time``, ``qpu_programming_time``, ``qpu_sampling_time``,
        ``qpu_anneal_time_per_sample``, ``qpu_delay_time_per_sample`` (a new dict each call).
    """
    return dict(_estimate_timing_cached(int(num_qubits), int(num_reads), _timing_key(kwargs)))


class DWaveMockSolver(DWaveSolver):
    """The ``dwave`` solver on ``MockDWaveSampler`` (Pegasus) with an :class:`AnnealEmulator` under it.

    Parameters
    ----------
    topology_shape : int, default=16
        Pegasus size ``m`` of the mocked chip (16 is an Advantage system).
    beta : float, default=20.0
        Emulator inverse temperature at s=1, in programmed units.
    num_sweeps : int, default=100
        Emulator sweeps per anneal.
    through_dimod : bool, default=False
        Submit every call as a ``dimod.BinaryQuadraticModel`` through
        ``MockDWaveSampler.sample`` (the QPU's interface, with its per-coupler
        structure check) instead of handing the programmed arrays straight to
        the emulator. Both give the same samples; the array path skips the
        BQM and sampleset round trip (the couplers are the embedding's, checked
        against the chip once when the embedding is built). The array path
        also emulates all QPU calls of a batch in one kernel launch per
        (``num_reads``, schedule) (:meth:`_call_many`), with the samples and
        the per-call timing records of one call at a time.
    **others
        As for :class:`~eqising.solvers.ocean.DWaveSolver` (without ``qpu_solver``).
    """

    name = "dwave-mock"
    parameters: ClassVar[dict[str, Any]] = {
        **{k: v for k, v in DWaveSolver.parameters.items() if k != "qpu_solver"},
        "topology_shape": 16,
        "beta": 20.0,
        "num_sweeps": 100,
        "through_dimod": False,
    }

    def _check_params(self, params: dict[str, Any]) -> dict[str, Any]:
        owner = f"solver {self.name!r}"
        params["topology_shape"] = check_int(params["topology_shape"], "topology_shape", owner, low=2)
        params["beta"] = check_float(params["beta"], "beta", owner, low=0.0, low_open=True)
        params["num_sweeps"] = check_int(params["num_sweeps"], "num_sweeps", owner, low=1)
        if not isinstance(params["through_dimod"], (bool, np.bool_)):
            raise param_error("through_dimod", owner, "a bool", params["through_dimod"])
        self._layouts: dict[int, EmulatorLayout] = {}  # by id of the ParallelEmbedding
        return super()._check_params(params)

    #: Emulate the calls of a batch together (:meth:`_call_many`); False runs them one by one (tests compare).
    _batch_calls: ClassVar[bool] = True

    def _make_sampler(self) -> Any:
        from dwave.system.testing import MockDWaveSampler

        p = self.params
        mock = MockDWaveSampler(
            topology_type="pegasus",
            topology_shape=[p["topology_shape"]],
            parameter_warnings=False,
            substitute_sampler=AnnealEmulator(p["beta"], p["num_sweeps"]),
        )
        emulator = mock.substitute_sampler
        emulator.h_range, emulator.j_range = (
            tuple(mock.properties["h_range"]),
            tuple(mock.properties["j_range"]),
        )
        return mock

    def _sample(self, batch, num_reads, schedule, initial_states, seeds):
        if self.params["through_dimod"]:  # the emulator learns the chains from labels
            par = self.parallel_embedding(batch.layer_sizes)
            self.sampler.substitute_sampler.chains = [
                labels[chain].tolist() for labels in par.labels for chain in par.base.chains
            ]
        return super()._sample(batch, num_reads, schedule, initial_states, seeds)

    def _layout(self, par: Any, n: int) -> EmulatorLayout:
        """The emulator layout of ``n`` copies of ``par``'s embedding, side by side.

        ``n`` may exceed ``par.n_copies``: the emulator needs no chip, so the
        copies of several calls are laid out together (:meth:`_call_many`). One
        layout per embedding is kept, of the most copies asked so far (grown to
        at least twice its size when outgrown); fewer copies are its prefix
        (:meth:`EmulatorLayout.first_copies`), so every batch size shares it.
        """
        key = id(par)
        built = self._layouts.get(key)
        if built is None or built.n_copies < n:
            m = n if built is None else max(n, 2 * built.n_copies)
            u, v = par.base.pairs
            Q = par.base.qubits.size
            shift = (np.arange(m) * Q)[:, None]
            chain_of = (par.base.qubit_var[None, :] + shift).ravel()
            built = self._layouts[key] = EmulatorLayout.build(
                (u[None, :] + shift).ravel(), (v[None, :] + shift).ravel(), np.arange(m + 1) * Q, chain_of
            )
        return built if built.n_copies == n else built.first_copies(n)

    def _copy_seeds(self, seeds: list[int], owner: str) -> np.ndarray:
        """The emulator's stream seed of every copy, ndarray of shape (len(seeds),), dtype uint64."""
        return np.array(
            [derive(root_seed(seed, "seed", owner), "anneal-emulator", 0) for seed in seeds], dtype=np.uint64
        )

    @staticmethod
    def _call_timing(call: QpuCall) -> dict[str, float]:
        """The estimated QPU timing fields (microseconds) of one call (:func:`estimate_timing`)."""
        kwargs = call.kwargs
        if call.state is not None:  # the timing model only asks whether an initial state was given
            kwargs = dict(kwargs, initial_state=True)
        return estimate_timing(call.h.size, kwargs["num_reads"], kwargs)

    def _call(self, par, h, J, state, seeds, kwargs):
        if self.params["through_dimod"]:
            return super()._call(par, h, J, state, seeds, kwargs)
        emulator = self.sampler.substitute_sampler
        owner = f"{type(self).__name__}.sample"
        betas = emulator.betas(kwargs.get("anneal_schedule"), kwargs.get("annealing_time", 20.0))
        layout = self._layout(par, len(seeds))
        physical = emulator.anneal(
            layout, h, J, kwargs["num_reads"], betas, state, self._copy_seeds(seeds, owner), owner
        )
        return physical, self._call_timing(QpuCall(h, J, state, seeds, kwargs))

    def _call_many(self, par, calls):
        """Emulate the calls of a batch together: one kernel launch per (reads, schedule) class.

        The copies of every call with the same ``num_reads`` and schedule are
        annealed side by side in one :meth:`AnnealEmulator.anneal` (a copy's
        reads depend only on its own problem and seed, so each call's reads are
        those it would get alone), then split back into calls, each with its own
        timing record: a call is still one QPU call for the cost model.
        """
        if self.params["through_dimod"] or not self._batch_calls:
            return super()._call_many(par, calls)
        emulator = self.sampler.substitute_sampler
        owner = f"{type(self).__name__}.sample"
        classes: dict[tuple, list[int]] = {}
        for i, call in enumerate(calls):
            kw = call.kwargs
            schedule = kw.get("anneal_schedule")
            key = (
                int(kw["num_reads"]),
                None if schedule is None else tuple(tuple(float(x) for x in point) for point in schedule),
                kw.get("annealing_time", 20.0),
                call.state is None,
            )
            classes.setdefault(key, []).append(i)
        answers: list[Any] = [None] * len(calls)
        Q = par.base.qubits.size
        for (num_reads, _, _, forward), which in classes.items():
            first = calls[which[0]].kwargs
            betas = emulator.betas(first.get("anneal_schedule"), first.get("annealing_time", 20.0))
            seeds = [seed for i in which for seed in calls[i].seeds]
            physical = emulator.anneal(
                self._layout(par, len(seeds)),
                np.concatenate([calls[i].h for i in which]),
                np.concatenate([calls[i].J for i in which]),
                num_reads,
                betas,
                None if forward else np.concatenate([calls[i].state for i in which]),
                self._copy_seeds(seeds, owner),
                owner,
            )
            start = 0
            for i in which:
                width = len(calls[i].seeds) * Q
                answers[i] = (physical[:, start : start + width], self._call_timing(calls[i]))
                start += width
        return answers

    def _submit(self, bqm: Any, seeds: list[int], copies: list[np.ndarray], kwargs: dict[str, Any]) -> Any:
        emulator = self.sampler.substitute_sampler
        emulator.seed, emulator.copies = seeds, [copy.tolist() for copy in copies]
        return super()._submit(bqm, seeds, copies, kwargs)

    def _timing(self, sampleset: Any, bqm: Any, kwargs: dict[str, Any]) -> dict[str, float]:
        return estimate_timing(len(bqm), kwargs["num_reads"], kwargs)
