"""The D-Wave QPU as an eqising solver (``dwave.system.DWaveSampler``).

Several problems of a batch share one QPU call, on disjoint copies of a fixed
embedding:

1. the embedding of the network's layer sizes on the QPU graph is found once,
   with as many disjoint copies as fit (``max_copies``), and cached on disk
   (:mod:`eqising.solvers.ocean.embedding`); every copy has the same chains and
   couplers, relabelled (on Pegasus, a box of tiles moved over the chip by translations and a mirror);
2. fields are spread over chains, couplings over the couplers between chains,
   chains are held by ``-chain_strength`` couplers (``chain_strength`` in
   logical units, default dwave's uniform torque compensation);
3. each copy's embedded problem is divided by its own scale factor so that
   every field is inside the QPU's ``h_range`` and every coupling inside its
   ``j_range``, and the call is submitted with ``auto_scale=False`` (the
   programmed Hamiltonian is then known exactly: a problem's logical inverse
   temperature is the QPU's divided by its scale, so the mean scale is
   reported). One call programs one Hamiltonian, but the copies share no
   coupler, so per-copy scales are just different biases on different qubits:
   a problem is programmed exactly as it would be alone, and its temperature
   does not depend on which problems share its call (a common scale would make
   every problem as cold as the one with the largest biases allows);
4. free phase: a forward anneal of ``annealing_time`` microseconds; nudged
   phase: a reverse anneal from each free read (``anneal_schedule``
   ``[[0, 1], [t, s], [2t, 1]]`` with ``s = reheat``, the one ``reheat`` of
   :mod:`eqising.solvers.schedule` mapped by
   :func:`~eqising.solvers.schedule.reheat_to_anneal_fraction`;
   ``initial_state``, ``reinitialize_state=True``); a problem's reads are
   grouped by distinct initial state, and groups with the same number of reads
   are packed onto the copies of one call (``initial_state`` covers every copy);
5. reads are decoded from chains by ``weighted_random`` (majority vote is
   biased towards +1 on even chains); the chain-break fraction, the scale and
   the effective temperature of the logical samples are reported in
   ``info['diagnostics']``, and the QPU time from the timing fields in
   ``info['cost']`` (``qpu_access_seconds``, ``qpu_programming_seconds``,
   ``qpu_sampling_seconds``, ``qpu_calls``, and ``qpu_examples``, the problems
   annealed); ``info['diagnostics']`` also has ``qpu_access_seconds_per_example``
   and ``copies_per_call``.

Randomness: group ``k`` of problem ``b`` (its reads from one initial state;
the one group of a forward anneal) is submitted with the seed
``eqising.seeding.derive(seeds[b], "qpu-call", k)`` for its copy (used by the
offline emulator; a QPU's randomness is physical) and decoded with
``eqising.seeding.generator(seeds[b], "qpu-decode", k)``, so a problem's
samples do not depend on the rest of the batch or on the copy it lands on.

A real run needs a D-Wave API token (``DWAVE_API_TOKEN`` or ``dwave setup``).
"""

from __future__ import annotations

import math
from itertools import pairwise
from pathlib import Path
from typing import Any, ClassVar, NamedTuple

import numpy as np

from ..._validation import Described, check_float, check_int, param_error
from ...ising import IsingBatch
from ...seeding import derive, generator
from ..base import Solver, SolverCapabilities, SpinSamples, add_costs
from ..schedule import QPU_SCHEDULE_DEFAULTS, AnnealSchedule, check_reheat, reverse_anneal_schedule
from .embedding import ChainEmbedding, ParallelEmbedding, default_cache_dir, load_or_find_parallel_embeddings

__all__ = ["DWaveSolver", "DWaveTimeoutError", "DWaveUnavailableError", "QpuCall", "fit_scale"]


class DWaveUnavailableError(ValueError):
    """No D-Wave QPU can be reached: no token, no solver configured, or no such solver."""


class DWaveTimeoutError(TimeoutError):
    """A QPU call timed out on every allowed attempt."""


class QpuCall(NamedTuple):
    """One QPU call of a batch, as :meth:`DWaveSolver._call` takes it (``n`` copies used).

    Attributes
    ----------
    h : ndarray of shape (n * n_qubits,)
        Programmed fields, copy after copy (each in ``par.base.qubits`` order).
    J : ndarray of shape (n * n_pairs,)
        Programmed couplings of ``par.base.pairs``, copy after copy.
    state : ndarray of shape (n * n_qubits,) or None
        ``initial_state`` of a reverse anneal.
    seeds : list of int
        One per copy used.
    kwargs : dict
        Sampler parameters (``num_reads``, schedule, ...).
    """

    h: np.ndarray
    J: np.ndarray
    state: np.ndarray | None
    seeds: list[int]
    kwargs: dict[str, Any]


def _uniform_torque_compensation(bqm: Any, prefactor: float = 1.414) -> float:
    """``dwave.embedding.chain_strength.uniform_torque_compensation(bqm)`` from the BQM's arrays.

    The same arithmetic on the couplings in the same order (``to_numpy_vectors``
    lists them in the order of ``bqm.quadratic``; a test compares the two),
    without iterating over ``bqm.quadratic`` in Python (4 ms per call for the
    8,880 couplings of a 64-120-10 network).
    """
    n = bqm.num_interactions
    if not n:
        return 1.0
    _, (_, _, couplings), _ = bqm.to_numpy_vectors()
    rms = math.sqrt((couplings**2).sum() / n)
    return prefactor * rms * math.sqrt(bqm.degrees(array=True).mean())


def fit_scale(h: np.ndarray, J: np.ndarray, h_range: Any, j_range: Any) -> np.ndarray:
    """Smallest divisor per problem that brings every bias inside the ranges.

    Parameters
    ----------
    h : ndarray of shape (n_problems, n_qubits)
    J : ndarray of shape (n_couplers,) or (n_problems, n_couplers)
    h_range, j_range : (float, float)
        ``(low, high)`` with ``low < 0 < high``.

    Returns
    -------
    ndarray of shape (n_problems,)
        ``alpha`` such that ``h / alpha`` and ``J / alpha`` are in range (1 when
        every bias is zero). It can be below 1 (the problem is scaled up), as
        with the QPU's own ``auto_scale``.
    """
    J = np.broadcast_to(J, (h.shape[0],) + np.shape(J)[-1:])
    ratios = [
        h.max(axis=1, initial=0.0) / h_range[1],
        h.min(axis=1, initial=0.0) / h_range[0],
        J.max(axis=1, initial=0.0) / j_range[1],
        J.min(axis=1, initial=0.0) / j_range[0],
    ]
    alpha = np.max(ratios, axis=0)
    return np.where(alpha > 0, alpha, 1.0)


class DWaveSolver(Solver):
    """D-Wave QPU through ``dwave.system.DWaveSampler`` on a fixed, cached embedding.

    Parameters
    ----------
    qpu_solver : str, dict or None, default=None
        Which QPU (``DWaveSampler(solver=...)``); ``None`` uses the Ocean
        configuration's default.
    chain_strength : float or None, default=None
        Chain coupling magnitude in logical units; ``None`` is dwave's uniform
        torque compensation of the logical problem.
    scale : float or None, default=None
        Divisor applied to the embedded problem before submission; ``None``
        picks, per problem, the smallest one that fits the QPU's ranges. A
        fixed scale that does not fit is an error.
    annealing_time : float, default=20.0
        Forward anneal time in microseconds.
    reheat : float, default=0.25
        Reverse anneals turn at ``s = reheat`` (a schedule's own ``reheat``
        wins; :func:`~eqising.solvers.schedule.reheat_to_anneal_fraction`).
    reverse_ramp_time : float, default=10.0
        Microseconds from s=1 down to ``reheat`` and again back up.
    max_copies : int or None, default=None
        Problems per QPU call: at most this many disjoint copies of the
        embedding; ``None`` is as many as fit on the chip, 1 is one problem per call.
    embedding_cache : str or None, default=None
        Folder of cached embeddings; ``None`` is :func:`~eqising.solvers.ocean.embedding.default_cache_dir`.
    timeout : float, default=300.0
        Seconds to wait for one QPU answer (the cloud client's polling timeout).
    retries : int, default=2
        Further attempts after a timed-out call.
    estimate_temperature : bool, default=True
        Report the effective temperature of the logical samples.
    """

    name = "dwave"
    capabilities = SolverCapabilities(
        exact=False, finite_temperature=True, reverse_anneal=True, max_spins=None, topology="layered",
        sweep_schedule=False,
    )
    parameters: ClassVar[dict[str, Any]] = {
        "qpu_solver": None,
        "chain_strength": None,
        "scale": None,
        **QPU_SCHEDULE_DEFAULTS,
        "max_copies": None,
        "embedding_cache": None,
        "timeout": 300.0,
        "retries": 2,
        "estimate_temperature": True,
    }

    def _check_params(self, params: dict[str, Any]) -> dict[str, Any]:
        owner = f"solver {self.name!r}"
        if params.get("qpu_solver") is not None and not isinstance(params["qpu_solver"], (str, dict)):
            raise param_error(
                "qpu_solver", owner, "None, a solver name or a dict of solver features", params["qpu_solver"]
            )
        for name in ("chain_strength", "scale"):
            if params[name] is not None:
                params[name] = check_float(params[name], name, owner, low=0.0, low_open=True)
        for name in ("annealing_time", "reverse_ramp_time", "timeout"):
            params[name] = check_float(params[name], name, owner, low=0.0, low_open=True)
        params["reheat"] = check_reheat(params["reheat"], owner)
        params["retries"] = check_int(params["retries"], "retries", owner, low=0)
        if params["max_copies"] is not None:
            params["max_copies"] = check_int(params["max_copies"], "max_copies", owner, low=1)
        if params["embedding_cache"] is not None and not isinstance(params["embedding_cache"], (str, Path)):
            raise param_error("embedding_cache", owner, "None or a folder path", params["embedding_cache"])
        self._sampler: Any = None
        self._embeddings: dict[tuple[int, ...], ParallelEmbedding] = {}
        self._torque_cache: tuple | None = None  # (layer sizes, rows, cols, couplings, chain strength)
        return params

    # ----------------------------------------------------------- the QPU
    def _make_sampler(self) -> Any:
        """Connect to the QPU; raise :class:`DWaveUnavailableError` with the remedy if it cannot."""
        try:
            from dwave.cloud import exceptions as cloud_errors
            from dwave.system import DWaveSampler
        except ImportError as exc:  # pragma: no cover - the dwave extra is missing
            raise DWaveUnavailableError("solver 'dwave' needs Ocean: pip install 'eqising[dwave]'") from exc
        config: dict[str, Any] = {"polling_timeout": self.params["timeout"]}
        if self.params["qpu_solver"] is not None:
            config["solver"] = self.params["qpu_solver"]
        try:
            return DWaveSampler(**config)
        except (
            ValueError,
            cloud_errors.ConfigFileError,
            cloud_errors.SolverAuthenticationError,
            cloud_errors.SolverNotFoundError,
        ) as exc:
            raise DWaveUnavailableError(
                f"solver 'dwave' cannot reach a D-Wave QPU ({type(exc).__name__}: {exc}). Set the API token "
                "(environment variable DWAVE_API_TOKEN, or run 'dwave setup'), check the solver named by "
                "qpu_solver / DWAVE_API_SOLVER, or use --solver dwave-mock to run the same path offline."
            ) from exc

    @property
    def sampler(self) -> Any:
        """The (lazily connected) QPU sampler."""
        if self._sampler is None:
            self._sampler = self._make_sampler()
        return self._sampler

    def _submit(self, bqm: Any, seeds: list[int], copies: list[np.ndarray], kwargs: dict[str, Any]) -> Any:
        """One QPU call, retried at most ``retries`` times after a timeout; returns the resolved sampleset.

        ``seeds`` (one per copy) and ``copies`` (each copy's qubit labels) are
        unused by a real QPU (its randomness is physical); the mock's emulator uses them.
        """
        from dwave.cloud.api.exceptions import RequestTimeout
        from dwave.cloud.exceptions import PollingTimeout
        from dwave.cloud.exceptions import Timeout as CloudTimeout

        attempts = self.params["retries"] + 1
        for _ in range(attempts):
            try:
                sampleset = self.sampler.sample(bqm, **kwargs)
                sampleset.resolve()
                return sampleset
            except (CloudTimeout, PollingTimeout, RequestTimeout, TimeoutError) as exc:
                last = exc
        raise DWaveTimeoutError(
            f"solver {self.name!r}: the QPU call timed out {attempts} times "
            f"(timeout {self.params['timeout']} s, retries {self.params['retries']})"
        ) from last

    def _timing(self, sampleset: Any, bqm: Any, kwargs: dict[str, Any]) -> dict[str, float]:
        """QPU timing fields of a call, in microseconds."""
        return dict(sampleset.info.get("timing", {}))

    def _call(
        self,
        par: ParallelEmbedding,
        h: np.ndarray,
        J: np.ndarray,
        state: np.ndarray | None,
        seeds: list[int],
        kwargs: dict[str, Any],
    ) -> tuple[np.ndarray, dict[str, float]]:
        """One QPU call on the first ``len(seeds)`` copies.

        Parameters
        ----------
        par : ParallelEmbedding
        h, J, state, seeds, kwargs
            The fields of one :class:`QpuCall`.

        Returns
        -------
        physical : ndarray of shape (num_reads, n_copies_used * n_qubits)
            Reads in the order of ``h``.
        timing : dict of str to float
            The call's QPU timing fields (microseconds).
        """
        import dimod

        n = len(seeds)
        labels = par.labels[:n]
        u, v = par.base.pairs
        shift = (np.arange(n) * par.base.qubits.size)[:, None]
        bqm = dimod.BinaryQuadraticModel.from_numpy_vectors(
            h,
            ((u[None, :] + shift).ravel(), (v[None, :] + shift).ravel(), J),
            0.0,
            dimod.SPIN,
            variable_order=labels.ravel().tolist(),
        )
        if state is not None:
            kwargs = dict(kwargs, initial_state=dict(zip(labels.ravel().tolist(), state.tolist())))
        sampleset = self._submit(bqm, seeds, list(labels), kwargs)
        return _ordered(sampleset, labels.ravel()), self._timing(sampleset, bqm, kwargs)

    def _call_many(
        self, par: ParallelEmbedding, calls: list[QpuCall]
    ) -> list[tuple[np.ndarray, dict[str, float]]]:
        """Every QPU call of one batch: :meth:`_call` on each, one after the other.

        A QPU takes one call at a time; the offline mock overrides this to
        emulate the calls of a batch together. Each call still counts as one
        call in the cost record.

        Parameters
        ----------
        par : ParallelEmbedding
        calls : list of QpuCall

        Returns
        -------
        list of (ndarray of shape (num_reads, n_copies_used * n_qubits), dict)
            ``(physical, timing)`` of every call, in the order of ``calls``, as :meth:`_call` returns them.
        """
        return [self._call(par, *call) for call in calls]

    # ------------------------------------------------------- embedding
    def embedding(self, layer_sizes: tuple[int, ...]) -> ChainEmbedding:
        """The fixed embedding of a network's spin layers (copy 0 of :meth:`parallel_embedding`)."""
        return self.parallel_embedding(layer_sizes).base

    def parallel_embedding(self, layer_sizes: tuple[int, ...]) -> ParallelEmbedding:
        """The disjoint copies of the network's embedding (found once, cached in memory and on disk)."""
        if layer_sizes not in self._embeddings:
            sampler = self.sampler
            graph = sampler.to_networkx_graph()
            cache = self.params["embedding_cache"]
            owner = f"{type(self).__name__}.sample"
            copies = load_or_find_parallel_embeddings(
                layer_sizes,
                graph,
                dict(sampler.properties.get("topology", {})),
                default_cache_dir() if cache is None else Path(cache),
                owner=owner,
                max_copies=self.params["max_copies"],
            )
            probe = IsingBatch(
                layer_sizes,
                tuple(np.zeros((a, b)) for a, b in pairwise(layer_sizes)),
                np.zeros((1, sum(layer_sizes))),
            )
            _, (rows, cols, _) = probe.to_dimod_arrays()
            self._embeddings[layer_sizes] = ParallelEmbedding.build(copies, rows, cols, sampler.edgelist, owner)
        return self._embeddings[layer_sizes]

    # ------------------------------------------------------------ sample
    def _sample(
        self,
        batch: IsingBatch,
        num_reads: int,
        schedule: AnnealSchedule,
        initial_states: np.ndarray | None,
        seeds: np.ndarray,
    ) -> SpinSamples:
        import dimod

        p, owner = self.params, f"{type(self).__name__}.sample"
        if schedule.num_sweeps is not None or schedule.beta_range is not None:
            raise param_error(
                "schedule",
                owner,
                "a schedule without num_sweeps or beta_range (a QPU anneals for "
                "annealing_time microseconds at its own temperature)",
                schedule,
            )
        reverse = schedule.kind == "reverse"
        if initial_states is not None and not reverse:
            raise param_error(
                "initial_states",
                owner,
                "None for a forward anneal (a QPU starts a forward anneal from its own superposition)",
                Described("an array"),
            )
        props = self.sampler.properties
        par = self.parallel_embedding(batch.layer_sizes)
        emb = par.base
        linear, (rows, cols, quadratic) = batch.to_dimod_arrays()
        chain_strength = p["chain_strength"]
        if chain_strength is None:
            # a function of the couplings only (the fields do not enter it): the free and nudged
            # phases of a training step share it, so the last value is kept
            cached = self._torque_cache
            if (
                cached is not None
                and cached[0] == batch.layer_sizes
                and np.array_equal(cached[1], rows)
                and np.array_equal(cached[2], cols)
                and np.array_equal(cached[3], quadratic)
            ):
                chain_strength = cached[4]
            else:
                first = dimod.BinaryQuadraticModel.from_numpy_vectors(
                    linear[0], (rows, cols, quadratic), 0.0, dimod.SPIN, variable_order=range(batch.n_spins)
                )
                chain_strength = float(_uniform_torque_compensation(first)) if quadratic.size else 1.0
                self._torque_cache = (
                    batch.layer_sizes, rows.copy(), cols.copy(), quadratic.copy(), chain_strength
                )
        h, J = emb.embed(linear, quadratic, chain_strength)
        needed = fit_scale(h, J, props["h_range"], props["j_range"])
        if p["scale"] is None:
            scales = needed
        elif np.any(needed > p["scale"] * (1 + 1e-12)):
            raise param_error(
                "scale",
                f"solver {self.name!r}",
                f"at least {needed.max():.6g} for this problem to fit "
                f"h_range {props['h_range']} and j_range {props['j_range']}",
                p["scale"],
            )
        else:
            scales = np.full(batch.n_problems, p["scale"])
        base_kwargs: dict[str, Any] = {"auto_scale": False, "answer_mode": "raw"}
        if reverse:
            reheat = schedule.reheat if schedule.reheat is not None else p["reheat"]
            schedule_points = reverse_anneal_schedule(reheat, p["reverse_ramp_time"])
            base_kwargs.update(anneal_schedule=schedule_points, reinitialize_state=True)
        else:
            base_kwargs["annealing_time"] = p["annealing_time"]
        # tasks: (problem, group k, start state or None, read indices); same-size groups share calls
        tasks: dict[int, list[tuple[int, int, np.ndarray | None, np.ndarray]]] = {}
        every_read = np.arange(num_reads)
        if reverse:
            # a problem whose reads all start from one state is one group (what np.unique would find)
            one_start = (
                np.ones(batch.n_problems, dtype=bool)
                if num_reads == 1
                else np.all(initial_states == initial_states[:, :1], axis=(1, 2))
            )
        for b in range(batch.n_problems):
            if not reverse:
                tasks.setdefault(num_reads, []).append((b, 0, None, every_read))
            elif one_start[b]:
                tasks.setdefault(num_reads, []).append((b, 0, initial_states[b, 0], every_read))
            else:
                starts, which = np.unique(initial_states[b], axis=0, return_inverse=True)
                which = which.ravel()
                for k in range(len(starts)):
                    reads = np.flatnonzero(which == k)
                    tasks.setdefault(reads.size, []).append((b, k, starts[k], reads))
        spins = np.empty((batch.n_problems, num_reads, batch.n_spins), dtype=np.int8)
        broken_sum = 0.0
        cost = {
            "qpu_access_seconds": 0.0,
            "qpu_programming_seconds": 0.0,
            "qpu_sampling_seconds": 0.0,
            "qpu_calls": 0,
            "qpu_examples": batch.n_problems,
        }
        n_qubits = emb.qubits.size
        C = par.n_copies
        calls: list[QpuCall] = []
        members: list[list[tuple[int, int, np.ndarray | None, np.ndarray]]] = []
        label = f"eqising {self.name} {schedule.kind}"
        for size, group in tasks.items():
            kwargs = dict(base_kwargs, num_reads=int(size), label=label)
            for first_task in range(0, len(group), C):
                call = group[first_task : first_task + C]
                state = np.concatenate([start[emb.qubit_var] for _, _, start, _ in call]) if reverse else None
                calls.append(
                    QpuCall(
                        np.concatenate([h[b] / scales[b] for b, *_ in call]),
                        np.concatenate([J / scales[b] for b, *_ in call]),
                        state,
                        [derive(int(seeds[b]), "qpu-call", k) for b, k, _, _ in call],
                        dict(kwargs),
                    )
                )
                members.append(call)
        answers = self._call_many(par, calls)
        if len(answers) != len(calls):
            raise param_error(
                "sampler",
                owner,
                f"one answer per QPU call ({len(calls)})",
                Described(f"{len(answers)} answers"),
            )
        for call, (physical, timing) in zip(members, answers):
            size = call[0][3].size
            if len(physical) != size:
                raise param_error(
                    "sampler", owner, f"a QPU answer with {size} reads", Described(f"{len(physical)} reads")
                )
            for i, (b, k, _, reads) in enumerate(call):
                logical, broken = emb.decode(
                    physical[:, i * n_qubits : (i + 1) * n_qubits], generator(int(seeds[b]), "qpu-decode", k)
                )
                spins[b, reads] = logical
                broken_sum += float(broken.mean(axis=1).sum())
            add_costs(
                cost,
                {
                    "qpu_access_seconds": 1e-6 * timing.get("qpu_access_time", 0.0),
                    "qpu_programming_seconds": 1e-6 * timing.get("qpu_programming_time", 0.0),
                    "qpu_sampling_seconds": 1e-6 * timing.get("qpu_sampling_time", 0.0),
                    "qpu_calls": 1,
                },
            )
        diagnostics = {
            "chain_break_fraction": broken_sum / (batch.n_problems * num_reads),
            "scale": float(scales.mean()),
            "chain_strength": float(chain_strength),
            "copies_per_call": sum(len(group) for group in tasks.values()) / max(cost["qpu_calls"], 1),
            "qpu_access_seconds_per_example": cost["qpu_access_seconds"] / batch.n_problems,
        }
        info = {"cost": cost, "diagnostics": diagnostics, "schedule": schedule.kind, "spin_updates": 0}
        return SpinSamples(spins, batch.energies(spins), info)


def _ordered(sampleset: Any, labels: np.ndarray) -> np.ndarray:
    """Reads of a physical sampleset as an array of shape (n_reads, n_qubits) in ``labels`` order."""
    record = sampleset.record
    rows = np.repeat(np.arange(len(record)), record.num_occurrences)
    variables = np.asarray(list(sampleset.variables))
    if variables.shape == labels.shape and np.array_equal(variables, labels):
        return record.sample[rows]
    position = {q: i for i, q in enumerate(variables.tolist())}
    return record.sample[rows][:, [position[q] for q in labels.tolist()]]
