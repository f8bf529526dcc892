"""Equilibrium propagation on a layered Ising network: phases and gradient.

One EqProp step on a minibatch (Scellier & Bengio, 2017):

1. free phase: the solver relaxes ``E(s; x)``;
2. nudged phase(s): the output fields get ``nudge * target`` added (the cost
   ``nudge * 1/2 ||target - s_out||^2``); each read restarts from its own free
   read with a reverse (reheat-then-cool) schedule;
3. gradient of the loss for every weight and bias::

       dL/dtheta ~ (dE/dtheta(s_a) - dE/dtheta(s_b)) / (nudge_a - nudge_b)

   averaged over reads and examples, where ``dE/dW`` is minus the correlation
   the weight connects. Modes: ``'positive'`` (a = +nudge, b = free),
   ``'symmetric'`` (a = +nudge, b = -nudge; first-order bias cancels) and
   ``'random-sign'`` (a = +-nudge at random per example, b = free).

In the symmetric mode both nudged phases run with the same seed from the same
free states (common random numbers): with a sampler driven by one random
stream, the two chains then differ only where the nudge changes a decision,
which removes the sampling noise from their difference.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .history import mean_records
from .network import LayeredIsingNetwork
from .seeding import derive_many, generator
from .solvers import AnnealSchedule, Solver, SpinSamples, add_costs
from .solvers._gradients import eqprop_gradients

__all__ = ["NUDGE_MODES", "EqPropStep", "class_scores", "eqprop_step", "one_hot_spins"]

NUDGE_MODES = ("positive", "symmetric", "random-sign")


@dataclass
class EqPropStep:
    """Result of one EqProp step.

    Attributes
    ----------
    weight_grads, bias_grads : list of ndarray
        Estimated loss gradients, shapes of the network's weights and biases.
    free : SpinSamples
        Free-phase samples, shape (n_examples, num_reads, n_spins).
    costs : dict of str to dict
        Additive solver costs per phase (keys of :data:`eqising.history.PHASES`), each a
        :attr:`SpinSamples.cost` record summed over the phase's solver calls.
    diagnostics : dict of str to dict
        Per phase, the solver's ``info['diagnostics']`` (e.g. effective
        temperature, chain-break fraction) averaged over the phase's calls;
        empty for solvers that report none.
    """

    weight_grads: list[np.ndarray]
    bias_grads: list[np.ndarray]
    free: SpinSamples
    costs: dict[str, dict[str, float]]
    diagnostics: dict[str, dict[str, float]] = field(default_factory=dict)

    @property
    def solver_seconds(self) -> float:
        """Wall time in the solver, all phases."""
        return float(sum(c.get("solver_seconds", 0.0) for c in self.costs.values()))

    @property
    def spin_updates(self) -> int:
        """Single-spin updates, all phases."""
        return int(sum(c.get("spin_updates", 0) for c in self.costs.values()))


def one_hot_spins(y_index: np.ndarray, n_classes: int, replicas: int, *, balanced: bool = False) -> np.ndarray:
    """Spin targets of shape (n_examples, n_classes * replicas): +1 on the class's replicas, -1 elsewhere.

    With ``balanced=True`` the -1 entries are -1 / (n_classes - 1), so that used
    as nudge weights the target class and the other classes pull with equal
    total strength.
    """
    t = np.full((len(y_index), n_classes, replicas), -1.0 / (n_classes - 1) if balanced else -1.0)
    t[np.arange(len(y_index)), y_index] = 1.0
    return t.reshape(len(y_index), n_classes * replicas)


def class_scores(samples: SpinSamples, output: slice, n_classes: int, replicas: int) -> np.ndarray:
    """Class scores from the lowest-energy read, ties broken by the mean over reads.

    The score of class ``k`` is the mean of its replica spins in the
    lowest-energy read (in [-1, 1], steps of ``2 / replicas``), plus 0.01 times
    the same mean averaged over all reads.

    Returns
    -------
    ndarray of shape (n_examples, n_classes)
    """
    out = samples.spins[..., output].astype(np.float64)
    n, R = out.shape[:2]
    per_read = out.reshape(n, R, n_classes, replicas).mean(axis=3)
    best = np.argmin(samples.energies, axis=1)
    return per_read[np.arange(n), best] + 0.01 * per_read.mean(axis=1)


def eqprop_step(
    network: LayeredIsingNetwork,
    solver: Solver,
    X: np.ndarray,
    targets: np.ndarray,
    *,
    nudge: float,
    mode: str,
    num_reads: int,
    seed: int,
    skip_correct: bool = False,
) -> EqPropStep:
    """Run the free and nudged phases on a minibatch and estimate the loss gradient.

    Parameters
    ----------
    network : LayeredIsingNetwork
    solver : Solver
    X : ndarray of shape (n_examples, n_in)
    targets : ndarray of shape (n_examples, n_out)
        Output targets: their signs are the desired spins, their values
        weight the nudge per spin (``nudge * targets`` is added to the
        output fields), e.g. from :func:`one_hot_spins`.
    nudge : float
        EqProp nudge strength (> 0).
    mode : {'positive', 'symmetric', 'random-sign'}
    num_reads : int
        Reads per phase; correlations are averaged over them.
    seed : int
        The step's seed: the free phase's problems get ``derive_many(seed,
        'free', n)``, the nudged phases ``derive_many(seed, 'nudged', n)``
        (both symmetric phases the same), random signs come from
        ``generator(seed, 'sign')`` (:mod:`eqising.seeding`).
    skip_correct : bool, default=False
        Reads whose free-phase output already equals the target contribute
        no update (their nudged read is replaced by the free read), and
        examples whose reads are all correct skip the nudged phase altogether
        (the reference D-Wave recipe's rule). At zero temperature the nudge
        cannot change such a read's output, so its nudged read differs from
        the free one only by annealing noise.
    """
    n = X.shape[0]
    fields = network.input_fields(X)
    free = solver.sample(network.encode(fields), num_reads=num_reads, seed=derive_many(seed, "free", n=n))
    if skip_correct:
        matched = (free.spins[..., network.output_slice] == np.sign(targets)[:, None, :]).all(axis=2)
    else:
        matched = np.zeros(free.spins.shape[:2], dtype=bool)
    active = np.flatnonzero(~matched.all(axis=1))
    init = free.spins[active] if solver.capabilities.reverse_anneal else None
    reverse = AnnealSchedule("reverse")
    nudged_seeds = derive_many(seed, "nudged", n=n)
    costs = {"free": free.cost, "nudged": {}}
    reports: dict[str, list[dict[str, float]]] = {"free": [free.info.get("diagnostics", {})], "nudged": []}

    def nudged(strength: np.ndarray) -> np.ndarray:
        spins = free.spins.copy()
        if active.size:
            batch = network.encode(fields[active], nudge=strength[active], targets=targets[active])
            samples = solver.sample(
                batch, num_reads=num_reads, schedule=reverse, initial_states=init, seed=nudged_seeds[active]
            )
            spins[active] = samples.spins
            add_costs(costs["nudged"], samples.cost)
            reports["nudged"].append(samples.info.get("diagnostics", {}))
        spins[matched] = free.spins[matched]
        return spins

    if mode == "positive":
        a_nudge, b_nudge = np.full(n, nudge), np.zeros(n)
        a, b = nudged(a_nudge), free.spins
    elif mode == "symmetric":
        a_nudge, b_nudge = np.full(n, nudge), np.full(n, -nudge)
        a, b = nudged(a_nudge), nudged(b_nudge)
    elif mode == "random-sign":
        a_nudge, b_nudge = nudge * generator(seed, "sign").choice([-1.0, 1.0], size=n), np.zeros(n)
        a, b = nudged(a_nudge), free.spins
    else:  # validated by callers
        raise ValueError(f"unknown nudge mode {mode!r}")
    w = 1.0 / ((a_nudge - b_nudge) * n)
    dW, db = eqprop_gradients(network.layer_sizes, X, a, b, w)
    return EqPropStep(
        dW,
        db,
        free,
        costs,
        {phase: mean_records(records) for phase, records in reports.items()},
    )
