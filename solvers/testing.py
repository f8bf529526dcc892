"""The public solver contract suite, as :mod:`dimod.testing` is for samplers.

Every eqising solver passes these checks (``tests/test_solvers.py`` runs them on
every registered solver); a third-party :class:`~eqising.solvers.Solver` can run
them too, from a plain script::

    from eqising.solvers.testing import assert_solver_contract
    assert_solver_contract(MySolver())

or as test cases of its own test suite (unittest or pytest)::

    import unittest
    from eqising.solvers.testing import load_solver_tests

    @load_solver_tests(MySolver)
    class TestMySolver(unittest.TestCase):
        pass

A check is a function ``check(solver, *, exact=None)`` that raises
:class:`AssertionError` when the solver breaks the contract and
:class:`unittest.SkipTest` when the check does not apply to it (a reverse
anneal check on a solver that does not declare ``reverse_anneal``).
:data:`CONTRACT_CHECKS` names them all. The checks adapt to what the solver
declares in its :class:`~eqising.solvers.SolverCapabilities`:

- ``sweep_schedule=False`` (a QPU): schedules carry only ``kind`` and
  ``reheat``; the solver's own temperature must be cold enough to find the
  ground states of small problems and to keep a state through a reverse
  anneal turning at ``reheat=0.99``;
- ``reverse_anneal``: reverse anneals from ``initial_states`` must start
  from them (a cold one keeps a ground state, a full reheat melts it);
- ``max_spins``: problems larger than it must be rejected;
- ``exact``: every read of an exact ground-state sampler must be a ground
  state, and it may be deterministic on problems with one ground state.

Problems stay at <= 10 spins so that ground states are known by enumeration.
The suite needs only numpy (and eqising).
"""

from __future__ import annotations

import re
import unittest
from collections.abc import Callable, Iterable
from itertools import pairwise
from typing import Any

import numpy as np

from .._validation import InvalidParameterError
from ..ising import IsingBatch
from .base import Solver, SolverCapabilities, SpinSamples
from .exact import all_spin_states
from .schedule import AnnealSchedule

__all__ = [
    "CONTRACT_CHECKS",
    "assert_solver_contract",
    "check_bad_batch",
    "check_bad_initial_states",
    "check_bad_num_reads",
    "check_bad_schedule",
    "check_bad_seed",
    "check_cold_reverse_anneal_keeps_its_state",
    "check_default_call",
    "check_default_schedule_ground_states",
    "check_ground_states",
    "check_int_seed_derives_per_problem_seeds",
    "check_max_spins",
    "check_per_problem_seeds",
    "check_protocol",
    "check_reheat_controls_reverse_anneal",
    "check_reverse_anneal_keeps_the_contract",
    "check_reverse_anneal_needs_initial_states",
    "check_same_seed_same_samples",
    "check_seeds_change_samples",
    "check_shapes_and_dtypes",
    "free_batch",
    "ground_energies",
    "load_solver_tests",
    "planted_ferromagnet",
    "random_batch",
    "run_check",
]

#: Layer sizes of the ground-state checks (8 to 10 spins).
GROUND_STATE_CONFIGS = ((4, 4), (3, 4, 3), (5, 5), (2, 3, 3, 2))


# ------------------------------------------------------------------ problems
def random_batch(
    layer_sizes: Iterable[int],
    n_problems: int,
    rng: np.random.Generator,
    j_scale: float = 1.0,
    h_scale: float = 1.0,
) -> IsingBatch:
    """Gaussian couplings (shared) and fields (per problem), of std devs ``j_scale`` and ``h_scale``."""
    layer_sizes = tuple(int(n) for n in layer_sizes)
    couplings = tuple(rng.normal(0.0, j_scale, size=(a, b)) for a, b in pairwise(layer_sizes))
    fields = rng.normal(0.0, h_scale, size=(n_problems, sum(layer_sizes)))
    return IsingBatch(layer_sizes, couplings, fields)


def free_batch(layer_sizes: Iterable[int], n_problems: int) -> IsingBatch:
    """No couplings, no fields: every state has energy 0, so samples must be uniform."""
    layer_sizes = tuple(int(n) for n in layer_sizes)
    couplings = tuple(np.zeros((a, b)) for a, b in pairwise(layer_sizes))
    return IsingBatch(layer_sizes, couplings, np.zeros((n_problems, sum(layer_sizes))))


def planted_ferromagnet(
    layer_sizes: Iterable[int], rng: np.random.Generator
) -> tuple[IsingBatch, np.ndarray]:
    """One problem with zero fields and couplings ``J_ij = c_ij g_i g_j``, ``c_ij`` in [0.5, 1.5].

    Every bond is satisfied by ``g`` (a gauge-transformed ferromagnet), so the
    ground states are exactly ``+g`` and ``-g``, and each spin of them feels a
    local field of magnitude >= 0.5 * (number of neighbours).

    Returns
    -------
    batch : IsingBatch
        One problem.
    g : ndarray of shape (n_spins,), dtype int8
    """
    layer_sizes = tuple(int(n) for n in layer_sizes)
    g = (2 * rng.integers(0, 2, size=sum(layer_sizes)) - 1).astype(np.int8)
    offsets = np.concatenate([[0], np.cumsum(layer_sizes)])
    couplings = []
    for l, (a, b) in enumerate(pairwise(layer_sizes)):
        ga, gb = g[offsets[l] : offsets[l + 1]], g[offsets[l + 1] : offsets[l + 2]]
        couplings.append(rng.uniform(0.5, 1.5, size=(a, b)) * np.outer(ga, gb))
    return IsingBatch(layer_sizes, tuple(couplings), np.zeros((1, sum(layer_sizes)))), g


def ground_energies(batch: IsingBatch) -> np.ndarray:
    """Ground-state energy of every problem by enumeration (<= 20 spins), ndarray of shape (n_problems,)."""
    states = all_spin_states(batch.n_spins)
    return batch.energies(np.broadcast_to(states, (batch.n_problems,) + states.shape)).min(axis=1)


# ------------------------------------------------------------------ helpers
def _fail(message: str) -> None:
    raise AssertionError(message)


def _owner(solver: Solver) -> str:
    return f"{type(solver).__name__}.sample"


def _raises(pattern: str, call: Callable[[], Any], what: str) -> None:
    """``call()`` must raise InvalidParameterError whose message matches ``pattern``."""
    try:
        call()
    except InvalidParameterError as exc:
        if not re.search(pattern, str(exc)):
            _fail(f"{what}: the error message {str(exc)!r} does not match {pattern!r}")
        return
    except Exception as exc:
        _fail(f"{what}: raised {type(exc).__name__} ({exc}), not eqising's InvalidParameterError")
    _fail(f"{what}: no error was raised")


def _sweeps(solver: Solver) -> bool:
    return bool(getattr(solver.capabilities, "sweep_schedule", True))


def _schedule(
    solver: Solver,
    kind: str = "forward",
    *,
    num_sweeps: int | None = None,
    beta_range: tuple[float, float] | None = None,
    reheat: float | None = None,
) -> AnnealSchedule:
    """The schedule asked for, without ``num_sweeps``/``beta_range`` for a solver without sweep schedules."""
    if not _sweeps(solver):
        return AnnealSchedule(kind, reheat=reheat)
    return AnnealSchedule(kind, num_sweeps, beta_range, reheat)


def _exact(solver: Solver, exact: bool | None) -> bool:
    return bool(solver.capabilities.exact) if exact is None else bool(exact)


def _fits(solver: Solver, n_spins: int) -> bool:
    limit = solver.capabilities.max_spins
    return limit is None or n_spins <= limit


def _need_spins(solver: Solver, n_spins: int) -> None:
    if not _fits(solver, n_spins):
        raise unittest.SkipTest(f"solver {solver.name!r} takes at most {solver.capabilities.max_spins} spins")


def _need_reverse(solver: Solver) -> None:
    if not solver.capabilities.reverse_anneal:
        raise unittest.SkipTest(f"solver {solver.name!r} does not declare reverse_anneal")


def _assert_samples(out: Any, batch: IsingBatch, num_reads: int, what: str) -> SpinSamples:
    """The output of ``sample`` keeps the contract: SpinSamples, shapes, int8 spins, energies, cost info."""
    if not isinstance(out, SpinSamples):
        _fail(f"{what}: sample() returned {type(out).__name__}, not SpinSamples")
    want = (batch.n_problems, num_reads, batch.n_spins)
    spins = out.spins
    if not isinstance(spins, np.ndarray) or spins.shape != want:
        _fail(
            f"{what}: spins of shape {getattr(spins, 'shape', None)}, "
            f"expected {want} (n_problems, num_reads, n_spins)"
        )
    if spins.dtype != np.int8:
        _fail(f"{what}: spins of dtype {spins.dtype}, expected int8")
    if not np.all(np.abs(spins) == 1):
        _fail(f"{what}: spins other than -1 and +1: {sorted(set(np.unique(spins).tolist()))}")
    energies = np.asarray(out.energies)
    if energies.shape != want[:2]:
        _fail(f"{what}: energies of shape {energies.shape}, expected {want[:2]} (n_problems, num_reads)")
    if not np.allclose(energies, batch.energies(spins), rtol=1e-7, atol=1e-9):
        _fail(f"{what}: energies differ from IsingBatch.energies(spins) (eqising's sign convention)")
    info = out.info
    if not isinstance(info, dict):
        _fail(f"{what}: info is {type(info).__name__}, not a dict")
    seconds = info.get("solver_seconds")
    if not isinstance(seconds, float) or seconds < 0:
        _fail(f"{what}: info['solver_seconds'] = {seconds!r}, expected a float >= 0")
    updates = info.get("spin_updates")
    if not isinstance(updates, int) or isinstance(updates, bool) or updates < 0:
        _fail(f"{what}: info['spin_updates'] = {updates!r}, expected an int >= 0")
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in out.cost.values()):
        _fail(f"{what}: the cost record {out.cost!r} has values that are not numbers")
    return out


def _equal(a: np.ndarray, b: np.ndarray, what: str) -> None:
    if not np.array_equal(a, b):
        _fail(what)


# ------------------------------------------------------------------ protocol
def check_protocol(solver: Solver, *, exact: bool | None = None) -> None:
    """The solver is a :class:`~eqising.solvers.Solver` declaring name, capabilities and parameters.

    Its parameters are the declared ones; its constructor rejects unknown
    keywords and a non-bool ``estimate_temperature`` with eqising's error.
    """
    if not isinstance(solver, Solver):
        _fail(f"{solver!r} is not an eqising.solvers.Solver")
    if not isinstance(getattr(solver, "name", None), str) or not solver.name:
        _fail("the solver has no name (a non-empty str class attribute)")
    if not isinstance(solver.capabilities, SolverCapabilities):
        _fail(f"capabilities is {type(solver.capabilities).__name__}, not SolverCapabilities")
    limit = solver.capabilities.max_spins
    if limit is not None and (not isinstance(limit, int) or limit < 1):
        _fail(f"capabilities.max_spins = {limit!r}, expected None or an int >= 1")
    if not isinstance(solver.parameters, dict) or "estimate_temperature" not in solver.parameters:
        _fail("parameters must be a dict of constructor defaults including 'estimate_temperature'")
    if set(solver.params) != set(solver.parameters):
        _fail(f"params {sorted(solver.params)} are not the declared parameters {sorted(solver.parameters)}")
    repr(solver)
    cls = type(solver)
    _raises(
        r"'solver_params' parameter of .* must be", lambda: cls(no_such_parameter=1), "an unknown keyword"
    )
    _raises(
        r"'estimate_temperature' parameter of .* must be",
        lambda: cls(estimate_temperature="yes"),
        "estimate_temperature='yes'",
    )


# ------------------------------------------------------------------ shapes
def check_shapes_and_dtypes(solver: Solver, *, exact: bool | None = None) -> None:
    """Spins of shape (n_problems, num_reads, n_spins), int8 in {-1, +1}; energies and cost info match."""
    rng = np.random.default_rng(0)
    for layer_sizes in ((6,), (3, 4), (3, 4, 3)):
        if not _fits(solver, sum(layer_sizes)):
            continue
        batch = random_batch(layer_sizes, 3, rng)
        what = f"sample(batch of 3 problems with layers {layer_sizes}, num_reads=5, seed=1)"
        out = _assert_samples(solver.sample(batch, num_reads=5, seed=1), batch, 5, what)
        if out.n_reads != 5:
            _fail(f"{what}: n_reads = {out.n_reads}, expected 5")
        lowest = out.lowest()
        if lowest.shape != (3, batch.n_spins):
            _fail(f"{what}: lowest() of shape {lowest.shape}, expected {(3, batch.n_spins)}")
        if not np.allclose(batch.energies(lowest[:, None])[:, 0], out.energies.min(axis=1)):
            _fail(f"{what}: lowest() does not return the lowest-energy read of each problem")


def check_default_call(solver: Solver, *, exact: bool | None = None) -> None:
    """``sample(batch)`` is one read per problem, and ``seed=None`` samples (fresh entropy)."""
    batch = random_batch((2, 3), 2, np.random.default_rng(1))
    _assert_samples(solver.sample(batch), batch, 1, "sample(batch)")
    _assert_samples(
        solver.sample(batch, num_reads=3, seed=None), batch, 3, "sample(batch, num_reads=3, seed=None)"
    )


# ------------------------------------------------------------------ seeds
def check_same_seed_same_samples(solver: Solver, *, exact: bool | None = None) -> None:
    """The same seed gives identical samples."""
    batch = random_batch((3, 4, 3), 4, np.random.default_rng(4))
    schedule = AnnealSchedule.constant(0.5, 10) if _sweeps(solver) else None  # hot: samples vary by seed
    a = solver.sample(batch, num_reads=6, schedule=schedule, seed=123)
    b = solver.sample(batch, num_reads=6, schedule=schedule, seed=123)
    _equal(a.spins, b.spins, "two calls with seed=123 gave different spins")
    _equal(np.asarray(a.energies), np.asarray(b.energies), "two calls with seed=123 gave different energies")


def check_seeds_change_samples(solver: Solver, *, exact: bool | None = None) -> None:
    """Different seeds give different samples, and the reads of a flat problem are uniform.

    With every state degenerate (no fields, no couplings) every solver,
    ground-state samplers included, must sample at random: each spin is +1
    with probability 1/2 (240 draws per spin; 5 sigma is 0.32).
    """
    batch = free_batch((4, 4), 3)
    a = solver.sample(batch, num_reads=40, seed=1)
    b = solver.sample(batch, num_reads=40, seed=2)
    if np.array_equal(a.spins, b.spins):
        _fail("seeds 1 and 2 gave the same spins on a problem whose every state is a ground state")
    means = np.concatenate([a.spins, b.spins]).mean(axis=(0, 1))
    if not np.all(np.abs(means) < 0.35):
        _fail(f"reads of a flat problem are not uniform: mean spins {np.round(means, 3).tolist()}")
    if _exact(solver, exact):
        return  # an exact ground-state sampler is deterministic on a problem with one ground state
    batch = random_batch((3, 4, 3), 4, np.random.default_rng(5), j_scale=0.3, h_scale=0.3)
    if np.array_equal(
        solver.sample(batch, num_reads=6, seed=1).spins, solver.sample(batch, num_reads=6, seed=2).spins
    ):
        _fail("seeds 1 and 2 gave the same spins on a random problem")


def check_per_problem_seeds(solver: Solver, *, exact: bool | None = None) -> None:
    """A problem's samples depend only on its own seed: not on its position, neighbours or batch size.

    Checked for the default schedule, a forward and a constant sweep schedule
    (when the solver takes them), problems with degenerate ground states, and
    reverse anneals (when the solver declares them).
    """
    schedules: list[AnnealSchedule | None] = [None]
    if _sweeps(solver):
        schedules += [AnnealSchedule(num_sweeps=20), AnnealSchedule.constant(0.7, 15)]
    rng = np.random.default_rng(8)
    batch = random_batch((3, 4, 3), 5, rng, j_scale=0.5, h_scale=0.5)
    other = random_batch((3, 4, 3), 5, np.random.default_rng(9), j_scale=0.5, h_scale=0.5)
    seeds = np.array([11, 22, 2**40 + 3, 44, 55], dtype=np.uint64)
    for schedule in schedules:
        label = f"schedule={schedule!r}"
        full = solver.sample(batch, num_reads=7, schedule=schedule, seed=seeds)
        for j in range(batch.n_problems):
            alone = solver.sample(batch.select([j]), num_reads=7, schedule=schedule, seed=seeds[[j]])
            _equal(
                alone.spins[0],
                full.spins[j],
                f"{label}: problem {j} sampled alone differs from it in the batch",
            )
        perm = np.array([3, 0, 4, 2, 1])
        shuffled = solver.sample(batch.select(perm), num_reads=7, schedule=schedule, seed=seeds[perm])
        _equal(
            shuffled.spins, full.spins[perm], f"{label}: permuting the batch changes the problems' samples"
        )
        mixed = IsingBatch(
            batch.layer_sizes, batch.couplings, np.concatenate([other.fields[:2], batch.fields[2:3]])
        )
        mixed_out = solver.sample(
            mixed, num_reads=7, schedule=schedule, seed=np.array([1, 2, seeds[2]], dtype=np.uint64)
        )
        _equal(
            mixed_out.spins[2],
            full.spins[2],
            f"{label}: a problem's samples depend on its neighbours in the batch",
        )
    # zero fields: every ground state s has a twin -s, so even ground-state samplers draw at random
    batch = random_batch((3, 4, 3), 4, np.random.default_rng(20), h_scale=0.0)
    seeds = np.array([5, 6, 7, 8])
    schedule = _schedule(solver, num_sweeps=30)
    full = solver.sample(batch, num_reads=16, schedule=schedule, seed=seeds)
    if all(np.array_equal(full.spins[0], full.spins[j]) for j in range(1, 4)):
        _fail(
            "four seeds gave the same reads of four degenerate problems (the seeds are not used per problem)"
        )
    for j in range(4):
        alone = solver.sample(batch.select([j]), num_reads=16, schedule=schedule, seed=seeds[[j]])
        _equal(
            alone.spins[0],
            full.spins[j],
            f"degenerate problem {j} sampled alone differs from it in the batch",
        )
    if not solver.capabilities.reverse_anneal:
        return
    rng = np.random.default_rng(10)
    batch = random_batch((3, 3, 2), 4, rng)
    init = (2 * rng.integers(0, 2, size=(4, 5, 8)) - 1).astype(np.int8)
    schedule = _schedule(solver, "reverse", num_sweeps=20, reheat=0.3)
    seeds = np.array([7, 8, 9, 10])
    full = solver.sample(batch, num_reads=5, schedule=schedule, initial_states=init, seed=seeds)
    for j in range(4):
        alone = solver.sample(
            batch.select([j]), num_reads=5, schedule=schedule, initial_states=init[[j]], seed=seeds[[j]]
        )
        _equal(
            alone.spins[0],
            full.spins[j],
            f"reverse anneal: problem {j} sampled alone differs from it in the batch",
        )


def check_int_seed_derives_per_problem_seeds(solver: Solver, *, exact: bool | None = None) -> None:
    """An int seed is one reproducible stream per problem: a batch's first problems agree with a prefix."""
    batch = random_batch((3, 4), 4, np.random.default_rng(11), j_scale=0.3, h_scale=0.3)
    # hot where the solver takes a schedule: samples then vary from seed to seed, so agreement is evidence
    schedule = AnnealSchedule.constant(0.5, 10) if _sweeps(solver) else None
    a = solver.sample(batch, num_reads=4, schedule=schedule, seed=99)
    b = solver.sample(batch.select(slice(0, 2)), num_reads=4, schedule=schedule, seed=99)
    _equal(a.spins[:2], b.spins, "seed=99 on a batch and on its first two problems gave different samples")


# ------------------------------------------------------------------ ground states
def _ground_state_rate(
    solver: Solver, schedule: AnnealSchedule | None, seed: int, rng_seed: int
) -> tuple[list, list]:
    rng = np.random.default_rng(rng_seed)
    solved, reads_ok = [], []
    for layer_sizes in GROUND_STATE_CONFIGS:
        if not _fits(solver, sum(layer_sizes)):
            continue
        batch = random_batch(layer_sizes, 6, rng)
        out = solver.sample(batch, num_reads=20, schedule=schedule, seed=seed)
        ground = ground_energies(batch)
        if np.any(out.energies < ground[:, None] - 1e-9):
            _fail(f"layers {layer_sizes}: a read has an energy below the ground state (energies are wrong)")
        solved.extend(np.isclose(out.energies.min(axis=1), ground, rtol=0, atol=1e-9))
        reads_ok.append(np.allclose(out.energies, ground[:, None], rtol=0, atol=1e-9))
    if not solved:
        raise unittest.SkipTest(
            f"solver {solver.name!r} takes fewer spins than the ground-state problems (8-10)"
        )
    return solved, reads_ok


def check_ground_states(solver: Solver, *, exact: bool | None = None) -> None:
    """The lowest of 20 reads is the exact ground state of small random problems (8-10 spins).

    A solver with sweep schedules anneals 300 sweeps from beta 0.05 to 10 and
    must solve every problem (measured with the annealer on 2,400 such
    problems: every one solved, ~77% of reads in the ground state); one that
    anneals at its own temperature (a QPU) must solve at least 22 of 24 with
    its default schedule. An exact sampler returns ground states only.
    """
    sweeps = _sweeps(solver)
    schedule = AnnealSchedule(num_sweeps=300, beta_range=(0.05, 10.0)) if sweeps else None
    solved, reads_ok = _ground_state_rate(solver, schedule, seed=13, rng_seed=12)
    need = len(solved) if sweeps else int(np.ceil(len(solved) * 22 / 24))
    if sum(solved) < need:
        _fail(
            f"the lowest of 20 reads is the ground state in {sum(solved)} of {len(solved)} problems "
            f"(need {need})"
        )
    if _exact(solver, exact) and not all(reads_ok):
        _fail("an exact solver returned reads that are not ground states")


def check_default_schedule_ground_states(solver: Solver, *, exact: bool | None = None) -> None:
    """With its own default temperature range (300 sweeps) the solver solves at least 22 of 24 small problems.

    The default cold end is finite (for the annealer ``ln 100 / (2 f)`` with
    ``f`` the weakest spin's typical local field), so a problem whose first
    excited state lies within ~0.2 of the ground state can end with most reads
    in the excited state: measured, ~1 random problem in 2,000 is missed by
    all 20 reads. So this asserts a rate rather than every problem.
    """
    if not _sweeps(solver):
        raise unittest.SkipTest(
            f"solver {solver.name!r} has no sweep schedule (check_ground_states uses its default)"
        )
    solved, _ = _ground_state_rate(solver, AnnealSchedule(num_sweeps=300), seed=19, rng_seed=18)
    need = int(np.ceil(len(solved) * 22 / 24))
    if sum(solved) < need:
        _fail(
            f"the lowest of 20 reads is the ground state in {sum(solved)} of {len(solved)} problems "
            f"(need {need})"
        )


# ------------------------------------------------------------------ reverse anneals
def check_reverse_anneal_keeps_the_contract(solver: Solver, *, exact: bool | None = None) -> None:
    """A reverse schedule from ``initial_states`` returns samples that keep the contract.

    A solver that does not declare ``reverse_anneal`` may instead reject the
    call with eqising's error.
    """
    rng = np.random.default_rng(2)
    batch = random_batch((3, 3, 2), 2, rng)
    init = (2 * rng.integers(0, 2, size=(2, 4, 8)) - 1).astype(np.int8)
    schedule = _schedule(solver, "reverse", num_sweeps=10)
    try:
        out = solver.sample(batch, num_reads=4, schedule=schedule, initial_states=init, seed=3)
    except InvalidParameterError:
        if solver.capabilities.reverse_anneal:
            raise
        return
    _assert_samples(out, batch, 4, f"a reverse anneal ({schedule!r}) from initial states")


def check_reverse_anneal_needs_initial_states(solver: Solver, *, exact: bool | None = None) -> None:
    """A solver declaring ``reverse_anneal`` rejects a reverse schedule without ``initial_states``."""
    _need_reverse(solver)
    batch = random_batch((3, 4), 2, np.random.default_rng(17))
    _raises(
        rf"'initial_states' parameter of {_owner(solver)} must be",
        lambda: solver.sample(batch, num_reads=2, schedule=AnnealSchedule("reverse")),
        "a reverse schedule without initial_states",
    )


def check_cold_reverse_anneal_keeps_its_state(solver: Solver, *, exact: bool | None = None) -> None:
    """A cold reverse anneal keeps every read in the ground state (+g or -g) it started from.

    Sweep schedules: beta from 50 to 100, turning at the hot end; a solver at
    its own temperature: turning at ``reheat=0.99``.
    """
    _need_reverse(solver)
    _need_spins(solver, 10)
    batch, g = planted_ferromagnet((5, 5), np.random.default_rng(15))
    signs = np.where(np.arange(20) % 2 == 0, 1, -1).astype(np.int8)
    init = (signs[:, None] * g[None, :])[None]
    if _sweeps(solver):
        schedule = AnnealSchedule("reverse", num_sweeps=50, beta_range=(50.0, 100.0), reheat=0.0)
    else:
        schedule = AnnealSchedule("reverse", reheat=0.99)
    out = solver.sample(batch, num_reads=20, schedule=schedule, initial_states=init, seed=0)
    kept = np.all(out.spins == init, axis=-1)
    if not kept.all():
        _fail(f"{schedule!r}: {int((~kept).sum())} of 20 reads left the ground state they started from")


def check_reheat_controls_reverse_anneal(solver: Solver, *, exact: bool | None = None) -> None:
    """``reheat`` is measured from the hot end: near 1 a reverse anneal barely warms up, at 0 it melts.

    From 40 reads in ``+g``: a shallow reheat (0.9 of a 50-sweep anneal from
    beta 0.01 to 100, i.e. beta ~ 50; 0.99 for a solver at its own
    temperature) keeps them all; a full reheat (0.0) sends some to ``-g``
    (P[all 40 back in +g] ~ 2**-40), and all end in ``+g`` or ``-g``.
    """
    _need_reverse(solver)
    _need_spins(solver, 10)
    batch, g = planted_ferromagnet((5, 5), np.random.default_rng(16))
    init = np.broadcast_to(g, (1, 40, g.size)).copy()
    if _sweeps(solver):
        shallow = AnnealSchedule("reverse", num_sweeps=50, beta_range=(0.01, 100.0), reheat=0.9)
        deep = AnnealSchedule("reverse", num_sweeps=50, beta_range=(0.01, 100.0), reheat=0.0)
    else:
        shallow, deep = AnnealSchedule("reverse", reheat=0.99), AnnealSchedule("reverse", reheat=0.0)
    out = solver.sample(batch, num_reads=40, schedule=shallow, initial_states=init, seed=1)
    if not np.array_equal(out.spins, init):
        _fail(f"{shallow!r}: reads left the ground state they started from")
    out = solver.sample(batch, num_reads=40, schedule=deep, initial_states=init, seed=1)
    plus = np.all(out.spins == g, axis=-1)
    minus = np.all(out.spins == -g, axis=-1)
    if not np.all(plus | minus):
        _fail(f"{deep!r}: {int((~(plus | minus)).sum())} of 40 reads did not cool back into a ground state")
    if not (minus.any() and plus.any()):
        _fail(
            f"{deep!r}: all 40 reads ended in the same ground state "
            "(a full reheat should melt the start state)"
        )


# ------------------------------------------------------------------ bad input
def _small_batch() -> IsingBatch:
    return random_batch((3, 4), 2, np.random.default_rng(17))


def check_bad_num_reads(solver: Solver, *, exact: bool | None = None) -> None:
    """``num_reads`` must be an int >= 1 (not 0, negative, a float, a str or a bool)."""
    batch = _small_batch()
    for num_reads in (-1, 0, 2.5, "3", True):
        _raises(
            rf"'num_reads' parameter of {_owner(solver)} must be an int >= 1",
            lambda num_reads=num_reads: solver.sample(batch, num_reads=num_reads),
            f"num_reads={num_reads!r}",
        )


def check_bad_batch(solver: Solver, *, exact: bool | None = None) -> None:
    """``batch`` must be an :class:`~eqising.ising.IsingBatch`."""
    batch = _small_batch()
    _raises(
        rf"'batch' parameter of {_owner(solver)} must be",
        lambda: solver.sample(batch.fields),
        "an array as batch",
    )


def check_bad_schedule(solver: Solver, *, exact: bool | None = None) -> None:
    """``schedule`` must be None or an :class:`~eqising.solvers.AnnealSchedule`."""
    batch = _small_batch()
    _raises(
        rf"'schedule' parameter of {_owner(solver)} must be",
        lambda: solver.sample(batch, schedule="reverse"),
        "schedule='reverse'",
    )


def check_bad_initial_states(solver: Solver, *, exact: bool | None = None) -> None:
    """``initial_states`` must have shape (n_problems, num_reads, n_spins) and hold only -1 and +1."""
    batch = _small_batch()
    pattern = rf"'initial_states' parameter of {_owner(solver)} must be"
    for shape in ((2, 3, 7), (2, 4, 6), (1, 4, 7), (4, 7)):
        _raises(
            pattern,
            lambda shape=shape: solver.sample(
                batch, num_reads=4, initial_states=np.ones(shape, dtype=np.int8)
            ),
            f"initial_states of shape {shape} for (2, 4, 7)",
        )
    for bad in (0, 2, 0.5, np.nan):
        init = np.ones((2, 4, 7))
        init[1, 2, 3] = bad
        _raises(
            pattern,
            lambda init=init: solver.sample(batch, num_reads=4, initial_states=init),
            f"an initial state of {bad}",
        )


def check_bad_seed(solver: Solver, *, exact: bool | None = None) -> None:
    """``seed`` must be None, an int in [0, 2**64), or one such int per problem."""
    batch = _small_batch()
    bad = [
        -1,
        1.5,
        "7",
        True,
        2**64,
        [1, 2, 3],
        [1, -2],
        [1.0, 2.0],
        np.array([[1, 2]]),
        np.random.default_rng(0),
    ]
    for seed in bad:
        _raises(
            rf"'seed' parameter of {_owner(solver)} must be",
            lambda seed=seed: solver.sample(batch, num_reads=2, seed=seed),
            f"seed={seed!r}",
        )


def check_max_spins(solver: Solver, *, exact: bool | None = None) -> None:
    """A solver declaring ``max_spins`` rejects larger problems."""
    limit = solver.capabilities.max_spins
    if limit is None:
        raise unittest.SkipTest(f"solver {solver.name!r} has no spin limit")
    batch = IsingBatch((limit + 1,), (), np.zeros((1, limit + 1)))
    _raises(
        rf"'batch' parameter of {_owner(solver)} must be", lambda: solver.sample(batch), f"{limit + 1} spins"
    )


# ------------------------------------------------------------------ running the suite
_CHECKS: dict[str, Callable[..., None]] = {
    "protocol": check_protocol,
    "shapes_and_dtypes": check_shapes_and_dtypes,
    "default_call": check_default_call,
    "same_seed_same_samples": check_same_seed_same_samples,
    "seeds_change_samples": check_seeds_change_samples,
    "per_problem_seeds": check_per_problem_seeds,
    "int_seed_derives_per_problem_seeds": check_int_seed_derives_per_problem_seeds,
    "ground_states": check_ground_states,
    "default_schedule_ground_states": check_default_schedule_ground_states,
    "reverse_anneal_keeps_the_contract": check_reverse_anneal_keeps_the_contract,
    "reverse_anneal_needs_initial_states": check_reverse_anneal_needs_initial_states,
    "cold_reverse_anneal_keeps_its_state": check_cold_reverse_anneal_keeps_its_state,
    "reheat_controls_reverse_anneal": check_reheat_controls_reverse_anneal,
    "bad_num_reads": check_bad_num_reads,
    "bad_batch": check_bad_batch,
    "bad_schedule": check_bad_schedule,
    "bad_initial_states": check_bad_initial_states,
    "bad_seed": check_bad_seed,
    "max_spins": check_max_spins,
}

#: Names of every contract check, in the order :func:`assert_solver_contract` runs them
#: (check ``name`` is the function ``check_<name>``).
CONTRACT_CHECKS: tuple[str, ...] = tuple(_CHECKS)


def run_check(solver: Solver, name: str, *, exact: bool | None = None) -> None:
    """Run the contract check ``name`` (one of :data:`CONTRACT_CHECKS`) on ``solver``.

    Parameters
    ----------
    solver : Solver
    name : str
    exact : bool or None, default=None
        Hold the solver to an exact ground-state sampler's standard (every
        read a ground state; deterministic on unique ground states allowed).
        ``None`` takes ``solver.capabilities.exact``.

    Raises
    ------
    AssertionError
        The solver breaks the contract.
    unittest.SkipTest
        The check does not apply to this solver.
    """
    if name not in _CHECKS:
        raise ValueError(f"unknown contract check {name!r}; the checks are {list(CONTRACT_CHECKS)}")
    _CHECKS[name](solver, exact=exact)


def _selected(checks: Iterable[str] | None) -> tuple[str, ...]:
    names = CONTRACT_CHECKS if checks is None else tuple(checks)
    unknown = [n for n in names if n not in _CHECKS]
    if unknown:
        raise ValueError(f"unknown contract checks {unknown}; the checks are {list(CONTRACT_CHECKS)}")
    return names


def assert_solver_contract(
    solver: Solver, *, exact: bool | None = None, checks: Iterable[str] | None = None
) -> dict[str, str]:
    """Run the contract checks on ``solver``; raise one AssertionError naming every failed check.

    Parameters
    ----------
    solver : Solver
        The solver under test (a :class:`~eqising.solvers.Solver` instance).
    exact : bool or None, default=None
        As for :func:`run_check`.
    checks : iterable of str or None, default=None
        Names from :data:`CONTRACT_CHECKS`; ``None`` runs them all.

    Returns
    -------
    dict
        ``{check: 'passed' | 'skipped: <reason>'}`` for every check run.

    Raises
    ------
    AssertionError
        When any check fails; the message lists each failed check and why.
    """
    results: dict[str, str] = {}
    failures: list[str] = []
    for name in _selected(checks):
        try:
            run_check(solver, name, exact=exact)
        except unittest.SkipTest as skip:
            results[name] = f"skipped: {skip}"
        except AssertionError as exc:
            results[name] = "failed"
            failures.append(f"{name}: {exc}")
        else:
            results[name] = "passed"
    if failures:
        raise AssertionError(
            f"solver {getattr(solver, 'name', type(solver).__name__)!r} breaks the solver contract "
            f"({len(failures)} of {len(results)} checks failed):\n- " + "\n- ".join(failures)
        )
    return results


def load_solver_tests(
    factory: Solver | Callable[[], Solver], *, exact: bool | None = None, checks: Iterable[str] | None = None
) -> Callable[[type], type]:
    """A class decorator adding one ``test_solver_contract_<check>`` method per contract check.

    Use it on a :class:`unittest.TestCase` (pytest collects those too), as
    ``dimod.testing.load_sampler_bqm_tests`` is used for samplers.

    Parameters
    ----------
    factory : Solver, Solver subclass or callable
        The solver under test, or something that builds one without arguments
        (called once per test, so each test gets a fresh solver).
    exact : bool or None, default=None
        As for :func:`run_check`.
    checks : iterable of str or None, default=None
        Names from :data:`CONTRACT_CHECKS`; ``None`` adds them all.

    Returns
    -------
    callable
        The decorator; it returns the class it decorates.
    """
    names = _selected(checks)

    def build() -> Solver:
        return factory if isinstance(factory, Solver) else factory()

    def decorate(cls: type) -> type:
        for name in names:

            def test(self: Any, _name: str = name) -> None:
                run_check(build(), _name, exact=exact)

            test.__name__ = f"test_solver_contract_{name}"
            test.__qualname__ = f"{cls.__qualname__}.{test.__name__}"
            test.__doc__ = _CHECKS[name].__doc__
            setattr(cls, test.__name__, test)
        return cls

    return decorate
