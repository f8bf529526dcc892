"""The annealing solver's compiled EqProp step: both phases and the skip rule in one call, then the gradient.

:meth:`AnnealingSolver.fused_eqprop <eqising.solvers.AnnealingSolver.fused_eqprop>`
returns an :class:`AnnealingEqPropStep`; the float engine
(:class:`eqising.engine.FloatEngine`) calls its :meth:`~AnnealingEqPropStep.step`
instead of :func:`eqising.eqprop.eqprop_step` and gets the same
:class:`~eqising.eqprop.EqPropStep`, bit for bit, for the same step seed.

One step on a minibatch of ``n`` examples and ``R`` reads per phase is two compiled calls:

1. :func:`eqprop_phases` packs the kernel's float32 couplings, then runs one
   task per example, handed out to numba's threads as they come free (only the
   examples the network still gets wrong have nudged work; a ``prange`` alone
   splits them in fixed halves): the example's problems into preallocated
   buffers (:func:`_prepare_example`: the fields of its free problem, its beta
   range and schedule; :func:`_prepare_nudged` the same for its nudged problems,
   once the skip rule has kept the example; both by the row cores behind the
   functions the generic step uses, :meth:`LayeredIsingNetwork.input_fields
   <eqising.network.LayeredIsingNetwork.input_fields>` and ``nudged_fields``,
   :func:`eqising.ising.layered_row_norms`, :func:`eqising.ising.max_energy_change`,
   :func:`eqising.ising.min_field_scale`, :func:`~eqising.solvers.schedule.beta_ends`,
   :func:`~eqising.solvers.schedule.geometric_betas`, and the reverse schedule's
   :meth:`~eqising.solvers.schedule.AnnealSchedule.steps`, so its numbers are
   theirs, bit for bit), its ``R`` free chains and their energies
   (:func:`eqising.ising.layered_energies`' core), the skip rule, and (if it is
   active) its nudged chains, reverse-annealed from its free reads on the
   streams of the nudged seeds (both symmetric phases on the same streams);
2. :func:`eqising.solvers._gradients.accumulate_gradients` accumulates the
   gradient (the very function the generic step calls, called from Python:
   compiled inside the fastmath kernel, LLVM could contract its products into
   FMAs and change last bits).

Every chain is annealed by :func:`~eqising.solvers._kernels.anneal_chain` on the
stream :func:`~eqising.solvers._kernels.chain_seeds` gives it from its problem's
seed (``derive_many(seed, 'free', n)`` and ``derive_many(seed, 'nudged', n)``),
exactly as :meth:`AnnealingSolver.sample <eqising.solvers.Solver.sample>` would.
No :class:`~eqising.ising.IsingBatch` is built or validated and no
:class:`~eqising.solvers.SpinSamples` per phase: the network's weights and the
estimator's inputs are already checked. ``solver_seconds`` is the wall time of
the first call (preparation, phases and free-phase energies: what :meth:`Solver.sample
<eqising.solvers.Solver.sample>` times; not the gradient), split between the
phases in proportion to their spin updates (the phases run in one call).
"""

from __future__ import annotations

import sys
import time
from typing import Any

import numba
import numpy as np

from .._numba_cache import cached_njit
from ..ising import _energies_into, _max_energy_change_row, _min_field_scale_row, _packed, _row_norms_into
from ..network import _input_fields_row, _nudge_clip_row
from ..seeding import derive_many, generator
from ._gradients import accumulate_gradients, gradient_layout, split_gradients, zero_written
from ._kernels import _FASTMATH, KERNEL_LOCK, anneal_chain, chain_seeds, random_spins_into
from ._tasks import next_task
from .base import SpinSamples
from .schedule import AnnealSchedule, _beta_ends_one, _walk_row, forward_progress

__all__ = ["AnnealingEqPropStep", "eqprop_phases", "layered_couplings"]


def layered_couplings(couplings: tuple[np.ndarray, ...], n_layers: int) -> tuple[np.ndarray, ...]:
    """The kernel's packed couplings: ``(up, up_start, down, down_start)`` (see :func:`anneal_layered
    <eqising.solvers._kernels.anneal_layered>`), float32."""
    up_start = np.zeros(n_layers, dtype=np.int64)
    down_start = np.zeros(n_layers, dtype=np.int64)
    at = 0
    for l, J in enumerate(couplings):
        up_start[l] = down_start[l + 1] = at  # J_l and J_l^T have the same size
        at += np.size(J)
    up, down = np.empty(at, dtype=np.float32), np.empty(at, dtype=np.float32)
    if couplings:
        _pack_couplings(_packed(couplings), up, up_start, down, down_start)
    return up, up_start, down, down_start


@cached_njit(error_model="numpy")
def _pack_couplings(couplings, up, up_start, down, down_start):
    """``J_l`` row-major into ``up`` and ``J_l^T`` row-major into ``down``, as float32 (the core of
    :func:`layered_couplings`, also called by :func:`eqprop_phases`)."""
    for l in range(len(couplings)):
        J = couplings[l]
        n0, n1 = J.shape
        for i in range(n0):
            for k in range(n1):
                up[up_start[l] + i * n1 + k] = np.float32(J[i, k])
                down[down_start[l + 1] + k * n0 + i] = np.float32(J[i, k])


@cached_njit(error_model="numpy")
def _prepare_example(
    e: int,
    X: np.ndarray,
    W0: np.ndarray,
    biases: np.ndarray,
    offsets: np.ndarray,
    targets: np.ndarray,
    clip: float,
    beta_range: np.ndarray,
    absolute: np.ndarray,
    square: np.ndarray,
    progress: np.ndarray,
    fields: np.ndarray,
    fields32: np.ndarray,
    free_betas: np.ndarray,
    signs: np.ndarray,
) -> None:
    """Example ``e``'s free problem, in place: its input fields (also copied, unclipped, into its nudged
    rows for :func:`_prepare_nudged`), the clip, the float32 copy, the beta range and the walk; and its
    targets' signs.

    The cores of the functions the generic step runs, in the same order
    (:meth:`LayeredIsingNetwork.input_fields <eqising.network.LayeredIsingNetwork.input_fields>`,
    ``nudged_fields``, :func:`~eqising.ising.max_energy_change`, :func:`~eqising.ising.min_field_scale`,
    :func:`~eqising.solvers.schedule.beta_ends`, :func:`~eqising.solvers.schedule.geometric_betas`),
    so the numbers are the same bits. Compiled on its own, without the kernel's fast-math flags.
    Arguments as :func:`eqprop_phases`'s; ``absolute`` and ``square``: the couplings' row norms
    (:func:`~eqising.ising.layered_row_norms`), read only when ``beta_range`` is NaN.
    """
    n = X.shape[0]
    rows, N = fields.shape
    _input_fields_row(X[e], W0, biases, np.empty(X.shape[1], dtype=np.int64), fields[e])
    for j in range(targets.shape[1]):
        signs[e, j] = (targets[e, j] > 0.0) - (targets[e, j] < 0.0)
    for q in range(n, rows, n):  # element by element: a slice assignment compiles numba's shape-error message
        for i in range(N):
            fields[q + e, i] = fields[e, i]
    hot, cold = _finish_problem(fields[e], offsets, None, targets[e], clip, fields32[e], beta_range, absolute, square)
    walk = np.empty(progress.size)
    _walk_row(hot, cold, progress, walk)
    for k in range(progress.size):
        free_betas[e, k] = np.float32(walk[k])


@cached_njit(error_model="numpy")
def _prepare_nudged(
    e: int,
    offsets: np.ndarray,
    strengths: np.ndarray,
    nudged: bool,
    targets: np.ndarray,
    clip: float,
    beta_range: np.ndarray,
    absolute: np.ndarray,
    square: np.ndarray,
    progress: np.ndarray,
    reverse_steps: np.ndarray,
    first_step: int,
    fields: np.ndarray,
    fields32: np.ndarray,
    nudged_betas: np.ndarray,
) -> None:
    """Example ``e``'s nudged problems, in place, from the unclipped rows :func:`_prepare_example` left: per
    problem the nudge, the clip, the float32 copy, the beta range and the walk (as the generic step forms
    them, the same bits). Only an example that the skip rule does not skip needs them, and late in a fit it
    skips most (for all 32 examples of a MNIST-1k step they took 47 us of the 180 us of preparation on one
    core). ``nudged``: some strength is not zero; ``first_step``: the first sweep the reverse schedule visits.
    """
    rows = fields.shape[0]
    n = rows - nudged_betas.shape[0]
    walk = np.empty(progress.size)
    for q in range(n, rows, n):
        hot, cold = _finish_problem(fields[q + e], offsets, strengths[q - n + e] if nudged else None, targets[e], clip,
                                    fields32[q + e], beta_range, absolute, square)
        _walk_row(hot, cold, progress[first_step:], walk[first_step:])  # only the sweeps the reverse schedule
        for k in range(reverse_steps.size):  # visits (the same formula entry by entry)
            nudged_betas[q - n + e, k] = np.float32(walk[reverse_steps[k]])


@numba.njit(inline="always", error_model="numpy")
def _finish_problem(f, offsets, nudge, target, clip, f32, beta_range, absolute, square):
    """One problem's fields ``f`` (its input fields on entry) in place: the nudge (``None``: none) and the
    clip, then their float32 copy ``f32``; returns its (hot, cold): ``beta_range``, or where that is NaN
    the per-problem default."""
    _nudge_clip_row(f, offsets[offsets.size - 2], nudge, target, clip)
    for i in range(f.size):
        f32[i] = np.float32(f[i])
    if np.isnan(beta_range[0]):
        return _beta_ends_one(_max_energy_change_row(f, absolute), _min_field_scale_row(f, square))
    return beta_range[0], beta_range[1]


@cached_njit(parallel=True, fastmath=_FASTMATH)
def eqprop_phases(
    X: np.ndarray,
    W0: np.ndarray,
    biases: np.ndarray,
    couplings: tuple[np.ndarray, ...],
    offsets: np.ndarray,
    strengths: np.ndarray,
    targets: np.ndarray,
    clip: float,
    beta_range: np.ndarray,
    progress: np.ndarray,
    reverse_steps: np.ndarray,
    metropolis: bool,
    greedy_sweeps: int,
    free_seeds: np.ndarray,
    nudged_seeds: np.ndarray,
    skip_correct: bool,
    n_workers: int,
    fields: np.ndarray,
    fields32: np.ndarray,
    free_betas: np.ndarray,
    nudged_betas: np.ndarray,
    up: np.ndarray,
    up_start: np.ndarray,
    down: np.ndarray,
    down_start: np.ndarray,
    signs: np.ndarray,
    phase_spins: np.ndarray,
    done: np.ndarray,
    energies: np.ndarray,
    free: np.ndarray,
) -> tuple[int, int]:
    """Every phase of one minibatch: its problems, the free phase, its energies, the skip rule, the
    nudged phase(s).

    The couplings are packed for the kernel first; then each example is one task, handed out to the
    ``n_workers`` workers as they come free (:func:`~eqising.solvers._tasks.next_task`: only the examples
    the network still gets wrong have nudged work): its problems (:func:`_prepare_example`), its ``R``
    free chains, their energies (:func:`~eqising.ising.layered_energies`' core), the skip rule, and
    (unless every read already matches its targets) its nudged chains, reverse-annealed from its free
    reads on the streams of the nudged seeds (both symmetric phases on the same streams). An example's
    numbers do not depend on the worker that ran it.

    Parameters
    ----------
    X : ndarray of shape (n, n_in), float64
    W0 : ndarray of shape (n_in, n_1), float64
    biases : ndarray of shape (N,), float64
        The concatenated biases.
    couplings : tuple of ndarray
        ``J_l`` (float64, C order) of the spin layers (a 0x0 stand-in if there are none).
    offsets : ndarray of shape (L + 1,), int64
        Spin-layer starts.
    strengths : ndarray of shape (P * n,)
        The nudge of every nudged problem.
    targets : ndarray of shape (n, n_out)
    clip : float
        Field clip (negative: none).
    beta_range : ndarray of shape (2,)
        Explicit (hot, cold), or NaN for the per-problem default.
    progress : ndarray of shape (n_forward,)
        The forward walk's progress (:func:`~eqising.solvers.schedule.forward_progress`).
    reverse_steps : ndarray of shape (n_reverse,), int64
        The reverse schedule's steps into the forward walk.
    metropolis : bool
    greedy_sweeps : int
    free_seeds, nudged_seeds : ndarray of shape (n,), uint64
        Problem seeds of the free and of the nudged problems.
    skip_correct : bool
    n_workers : int
        Parallel workers taking examples: numba's largest thread count (with fewer threads running, a thread
        runs several workers, the later ones finding no example left; ``numba.get_num_threads()`` costs
        about 10 us a call).
    fields : ndarray of shape ((1 + P) * n, N), float64
        Output: free fields, then each nudged phase's (a nudged row is complete only for an example that got
        nudged work; for the others it holds the unclipped input fields).
    fields32 : ndarray of that shape, float32
        Output: the same, for the kernel (nudged rows only for examples that got nudged work).
    free_betas : ndarray of shape (n, n_forward), float32
    nudged_betas : ndarray of shape (P * n, n_reverse), float32
        Output: every problem's schedule (nudged ones only for examples that got nudged work).
    up, up_start, down, down_start
        Output: the couplings packed for the kernel (:func:`layered_couplings`), float32.
    signs : ndarray of shape (n, n_out), int8
        Output: ``np.sign(targets)``, the skip rule's desired outputs.
    phase_spins : ndarray of shape (P, n, R, N), int8
        Output: the nudged phases' spins (free reads where the skip rule applies).
    done : ndarray of shape (1 + P, n, R), int64
        Output: sweeps per chain, free phase first (0 for skipped chains).
    energies : ndarray of shape (n, R), float64
        Output: the free reads' energies.
    free : ndarray of shape (n, R, N), int8
        Output: the free phase's spins.

    Returns
    -------
    free_sweeps, nudged_sweeps : int
        Sweeps of the free chains and of the nudged chains, summed (``done`` summed by phase). Only
        numbers: a returned tuple holding an array is boxed by Python code before the call is over, and
        a Ctrl-C pending from the kernel's run would be raised inside it, reaching the caller as a
        ``SystemError`` instead of a ``KeyboardInterrupt``.
    """
    n = X.shape[0]
    N = fields.shape[1]
    P, _, R, _ = phase_spins.shape
    out_lo = N - signs.shape[1]
    n_nudged = 0  # counted, not a flag started at False: numba would also compile its callees for a literal False
    for e in range(strengths.size):
        n_nudged += strengths[e] != 0.0
    nudged = n_nudged > 0
    first_step = progress.size
    for k in range(reverse_steps.size):
        first_step = min(first_step, reverse_steps[k])
    absolute, square = np.zeros(N), np.zeros(N)
    if np.isnan(beta_range[0]):
        _row_norms_into(offsets, couplings, absolute, square)
    _pack_couplings(couplings, up, up_start, down, down_start)
    states = chain_seeds(free_seeds, R)
    random_spins_into(states.reshape(-1), free.reshape(n * R, N))
    nudged_states = chain_seeds(nudged_seeds, R)
    matched = np.zeros((n, R), dtype=np.bool_)
    counter = np.zeros(1, dtype=np.int64)
    for worker in numba.prange(n_workers):  # noqa: B007 (each worker takes examples until none is left)
        while True:
            e = next_task(counter)
            if e >= n:
                break
            _prepare_example(e, X, W0, biases, offsets, targets, clip, beta_range, absolute, square, progress, fields,
                             fields32, free_betas, signs)
            for r in range(R):  # the first sweep as an int64, as anneal_layered passes it (a literal 0 would compile
                _, d = anneal_chain(  # anneal_chain a second time)
                    offsets, up, up_start, down, down_start, fields32[e], free_betas[e], metropolis, np.int64(0),
                    free_betas.shape[1] + greedy_sweeps, free[e, r], states[e, r],
                )
                done[0, e, r] = d
            _energies_into(offsets, couplings, fields[e : e + 1], free[e : e + 1], energies[e : e + 1])
            all_matched = True
            for r in range(R):
                if skip_correct:
                    same = True
                    for j in range(signs.shape[1]):
                        if free[e, r, out_lo + j] != signs[e, j]:
                            same = False
                    matched[e, r] = same
                all_matched = all_matched and matched[e, r]
            if not all_matched:
                _prepare_nudged(e, offsets, strengths, nudged, targets, clip, beta_range, absolute, square, progress,
                                reverse_steps, first_step, fields, fields32, nudged_betas)
            for p in range(P):
                for r in range(R):
                    done[1 + p, e, r] = 0
                    for i in range(N):
                        phase_spins[p, e, r, i] = free[e, r, i]
                    if not all_matched:
                        _, d = anneal_chain(
                            offsets, up, up_start, down, down_start, fields32[(1 + p) * n + e],
                            nudged_betas[p * n + e], metropolis, np.int64(0), nudged_betas.shape[1] + greedy_sweeps,
                            phase_spins[p, e, r], nudged_states[e, r],
                        )
                        done[1 + p, e, r] = d
                        if matched[e, r]:
                            for i in range(N):
                                phase_spins[p, e, r, i] = free[e, r, i]
    free_sweeps, nudged_sweeps = 0, 0
    for e in range(n):
        for r in range(R):
            free_sweeps += done[0, e, r]
            for p in range(P):
                nudged_sweeps += done[1 + p, e, r]
    return free_sweeps, nudged_sweeps


#: ``beta_range`` of :func:`eqprop_phases` for the per-problem default (never written; a read-only flag
#: would make numba compile eqprop_phases a second time for it).
_AUTO_RANGE = np.full(2, np.nan)


class AnnealingEqPropStep:
    """The compiled EqProp step of an :class:`~eqising.solvers.AnnealingSolver` on one network.

    Built by :meth:`AnnealingSolver.fused_eqprop
    <eqising.solvers.AnnealingSolver.fused_eqprop>`; reads the solver's
    parameters and the network's weights at every step.

    Parameters
    ----------
    solver : AnnealingSolver
    network : LayeredIsingNetwork
    nudge : float
    mode : {'positive', 'symmetric', 'random-sign'}
    num_reads : int
        Reads per phase.
    skip_correct : bool
    """

    def __init__(self, solver: Any, network: Any, *, nudge: float, mode: str, num_reads: int,
                 skip_correct: bool) -> None:
        from ..eqprop import EqPropStep  # here, not at import: eqising.eqprop imports the solvers

        self.solver, self.network, self._step_type = solver, network, EqPropStep
        self.nudge, self.mode, self.num_reads, self.skip_correct = float(nudge), mode, int(num_reads), bool(skip_correct)
        self.n_phases = 2 if mode == "symmetric" else 1
        sizes = network.spin_layer_sizes
        self._offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
        self._offset_tuple = tuple(int(o) for o in self._offsets)
        self._sizes = tuple(network.layer_sizes)
        self._layout = gradient_layout(self._sizes)
        self._grads: np.ndarray | None = None  # the gradient buffer (:meth:`_gradient_buffer`)
        self._unshared = 0  # its reference count when no view of it is alive
        self._touched = np.zeros(self._sizes[0], dtype=np.bool_)  # its dW_0 rows the last step wrote
        up, self._up_start, _, self._down_start = layered_couplings(tuple(network.weights[1:]), len(sizes))
        self._n_couplings = up.size
        self._n_out = sizes[-1]
        self._nudges: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        self._buffers: dict[tuple[int, int, int], tuple[np.ndarray, ...]] = {}
        self._schedules: dict[tuple, tuple[np.ndarray, np.ndarray]] = {}

    def _buffers_for(self, n: int, n_forward: int, n_reverse: int) -> tuple[np.ndarray, ...]:
        """Preallocated arrays of a step on ``n`` examples (kept for the sizes seen; a run has one or two)."""
        key = (n, n_forward, n_reverse)
        if key not in self._buffers:
            P, R, N = self.n_phases, self.num_reads, self._offset_tuple[-1]
            self._buffers[key] = (
                np.empty(((1 + P) * n, N)), np.empty(((1 + P) * n, N), np.float32),
                np.empty((n, n_forward), np.float32), np.empty((P * n, n_reverse), np.float32),
                np.empty(self._n_couplings, np.float32), np.empty(self._n_couplings, np.float32),
                np.empty((P, n, R, N), np.int8), np.empty((1 + P, n, R), np.int64),
                np.empty((n, self._n_out), np.int8),
            )
        return self._buffers[key]

    def _gradient_buffer(self) -> np.ndarray:
        """A flat gradient buffer of zeros: the previous step's, zeroed where that step wrote it
        (:func:`~eqising.solvers._gradients.zero_written`), once nothing else refers to it; else a new one.

        The previous step's gradients are views of its buffer, so while a caller still holds them the
        buffer is left to them (every returned gradient stays valid). A new 0.8 MB buffer of zeros every
        MNIST-1k step cost as much memory traffic as the gradient itself; a trained network's step writes
        only the input rows of the few examples the skip rule keeps.
        """
        buffer = self._grads
        # every live view of the buffer holds a reference to it (a view of a view too: numpy points it at the
        # array that owns the memory), so the count exceeds the one taken here, the same way, when none is
        if buffer is None or sys.getrefcount(buffer) > self._unshared:
            buffer = self._grads = np.zeros(self._layout[2])
            self._unshared = sys.getrefcount(buffer)
            self._touched[:] = False
            return buffer
        zero_written(buffer, self._touched, self._sizes[1])
        return buffer

    def _strengths(self, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
        """Nudge of every nudged phase, shape (P * n,), and ``nudge_a - nudge_b`` per example, shape (n,)."""
        if self.mode == "random-sign":
            a = self.nudge * generator(seed, "sign").choice([-1.0, 1.0], size=n)
            return a, a
        if n not in self._nudges:  # the same every step (read-only: the compiled calls only read them)
            if self.mode == "symmetric":
                pair = np.concatenate([np.full(n, self.nudge), np.full(n, -self.nudge)]), np.full(n, 2 * self.nudge)
            else:
                pair = np.full(n, self.nudge), np.full(n, self.nudge)
            self._nudges[n] = pair
        return self._nudges[n]

    def _schedule(self, params: dict) -> tuple[np.ndarray, np.ndarray]:
        """The forward walk's progress and the reverse schedule's steps, for the solver's current parameters."""
        key = (params["num_sweeps"], params["reheat"])
        if key not in self._schedules:
            reverse = AnnealSchedule("reverse").resolved(params["num_sweeps"], params["beta_range"], params["reheat"])
            self._schedules[key] = (forward_progress(reverse.num_sweeps),
                                    np.ascontiguousarray(reverse.steps(), dtype=np.int64))
        return self._schedules[key]

    def step(self, X: np.ndarray, targets: np.ndarray, *, seed: int) -> Any:
        """One EqProp step; the same :class:`~eqising.eqprop.EqPropStep` as :func:`~eqising.eqprop.eqprop_step`.

        Parameters
        ----------
        X : ndarray of shape (n_examples, n_in)
        targets : ndarray of shape (n_examples, n_out)
            Nudge targets (signs: desired outputs; values: nudge weights).
        seed : int
            The step's seed.
        """
        start = time.perf_counter()
        net, p = self.network, self.solver.params
        n, R, P, N = X.shape[0], self.num_reads, self.n_phases, self._offset_tuple[-1]
        X = np.ascontiguousarray(X, dtype=np.float64)
        targets = np.ascontiguousarray(targets, dtype=np.float64)
        strengths, gap = self._strengths(n, seed)
        progress, reverse_steps = self._schedule(p)
        buffers = self._buffers_for(n, progress.size, reverse_steps.size)
        fields, fields32, free_betas, nudged_betas, up, down, phase_spins, done, signs = buffers
        couplings = _packed(tuple(net.weights[1:]))
        stand_in = couplings or (np.zeros((0, 0)),)  # a 0x0 stand-in: an empty tuple has no element type
        beta_range = _AUTO_RANGE if p["beta_range"] is None else np.asarray(p["beta_range"], dtype=np.float64)
        clip = -1.0 if net.field_clip is None else float(net.field_clip)
        energies = np.empty((n, R))  # handed out with the free reads: fresh every step
        free = np.empty((n, R, N), dtype=np.int8)
        with KERNEL_LOCK:
            free_sweeps, nudged_sweeps = eqprop_phases(
                X, np.ascontiguousarray(net.weights[0], dtype=np.float64),
                np.concatenate(net.biases, dtype=np.float64), stand_in, self._offsets, strengths, targets, clip,
                beta_range, progress, reverse_steps, p["update"] == "metropolis", p["greedy_sweeps"],
                derive_many(seed, "free", n=n), derive_many(seed, "nudged", n=n), self.skip_correct,
                numba.config.NUMBA_NUM_THREADS, fields, fields32, free_betas, nudged_betas, up, self._up_start, down,
                self._down_start, signs, phase_spins, done, energies, free,
            )
        free_updates, nudged_updates = N * free_sweeps, N * nudged_sweeps
        seconds = time.perf_counter() - start  # the solver's part, as sample() times it: not the gradient
        # the gradient by the very compiled function the generic step calls (compiled inside the fastmath
        # kernel above, LLVM may contract its products into FMAs and change the last bit)
        weight_start, bias_start, _ = self._layout
        grads = self._gradient_buffer()
        accumulate_gradients(X, phase_spins[0], phase_spins[1] if P == 2 else free, 1.0 / (gap * n), self._offsets,
                             weight_start, bias_start, grads, self._touched)
        share = free_updates / max(free_updates + nudged_updates, 1)
        free_cost = {"solver_seconds": seconds * share, "spin_updates": free_updates}
        costs = {"free": free_cost, "nudged": {}}
        if nudged_updates:
            costs["nudged"] = {"solver_seconds": seconds - free_cost["solver_seconds"], "spin_updates": nudged_updates}
        info = {
            "spin_updates": free_updates, "num_sweeps": int(free_betas.shape[1]), "greedy_sweeps": int(p["greedy_sweeps"]),
            "schedule": "forward", "solver_seconds": free_cost["solver_seconds"],
        }
        dW, db = split_gradients(grads, self._sizes)
        return self._step_type(dW, db, SpinSamples(free, energies, info), costs, {"free": {}, "nudged": {}})
