"""EqProp step: the skip-correct rule, nudge modes and cost accounting."""

import numpy as np
import pytest

from eqising.eqprop import class_scores, eqprop_step, one_hot_spins
from eqising.network import LayeredIsingNetwork
from eqising.seeding import derive_many
from eqising.solvers import make_solver


def _setup(seed=0, n=6, hidden=6):
    rng = np.random.default_rng(seed)
    net = LayeredIsingNetwork.initialize((5, hidden, 8), rng)  # 2 classes x 4 replicas
    X = rng.random((n, 5))
    return net, X, rng


def _free_outputs(net, solver, X, seed):
    free = solver.sample(net.ising_batch(X), num_reads=1, seed=seed)
    return free.spins[:, 0, net.output_slice].astype(float)


@pytest.mark.parametrize("mode", ["positive", "symmetric", "random-sign"])
def test_skip_correct_makes_no_update_when_free_outputs_match(mode):
    net, X, rng = _setup()
    solver = make_solver("annealing", {"num_sweeps": 30})
    free_seed = derive_many(5, "free", n=len(X))  # the free phase's per-problem seeds of step seed 5
    targets = _free_outputs(net, solver, X, free_seed)  # targets = what the free phase will return
    step = eqprop_step(net, solver, X, targets, nudge=2.0, mode=mode, num_reads=1, seed=5, skip_correct=True)
    assert all(np.all(g == 0) for g in step.weight_grads + step.bias_grads)
    free_updates = len(X) * net.n_spins * 30
    assert step.spin_updates == free_updates  # no nudged phase was annealed


def test_without_skip_the_reverse_anneal_noise_updates_correct_examples():
    """The same set-up without the rule: reheating alone moves spins, so the update is not zero.

    (A wide hidden layer of weakly coupled spins has many near-degenerate states to land in.)
    """
    net, X, rng = _setup(hidden=60)
    solver = make_solver("annealing", {"num_sweeps": 30, "reheat": 0.0})  # reheat all the way
    free_seed = derive_many(5, "free", n=len(X))
    targets = _free_outputs(net, solver, X, free_seed)
    step = eqprop_step(
        net, solver, X, targets, nudge=2.0, mode="positive", num_reads=1, seed=5,
        skip_correct=False,
    )
    assert any(np.any(g != 0) for g in step.weight_grads)
    assert step.spin_updates > len(X) * net.n_spins * 30


def test_skip_correct_still_learns_from_wrong_examples():
    net, X, rng = _setup()
    solver = make_solver("annealing", {"num_sweeps": 30})
    free_seed = derive_many(5, "free", n=len(X))
    targets = _free_outputs(net, solver, X, free_seed)
    targets[0] = -targets[0]  # example 0 is now wrong
    step = eqprop_step(
        net, solver, X, targets, nudge=2.0, mode="positive", num_reads=1, seed=5,
        skip_correct=True,
    )
    # only example 0 was annealed in the nudged phase (a reverse schedule of 2 * (30 - 7) - 1 sweeps),
    # and its output bias gradient pushes towards its target
    assert step.spin_updates == len(X) * net.n_spins * 30 + net.n_spins * 45
    out_bias_grad = step.bias_grads[-1]
    moved = out_bias_grad != 0
    assert moved.any()
    assert np.all(np.sign(-out_bias_grad[moved]) == np.sign(targets[0][moved]))


def test_costs_are_accounted_per_phase():
    net, X, rng = _setup()
    solver = make_solver("annealing", {"num_sweeps": 30})
    targets = one_hot_spins(np.arange(len(X)) % 2, 2, 4)
    step = eqprop_step(
        net, solver, X, targets, nudge=2.0, mode="symmetric", num_reads=2, seed=0,
        skip_correct=False,
    )
    assert set(step.costs) == {"free", "nudged"}
    assert step.costs["free"]["spin_updates"] == len(X) * 2 * net.n_spins * 30
    # two nudged phases (+nudge and -nudge), each a reverse schedule of 2 * (30 - 7) - 1 sweeps
    assert step.costs["nudged"]["spin_updates"] == 2 * len(X) * 2 * net.n_spins * 45
    assert step.spin_updates == step.costs["free"]["spin_updates"] + step.costs["nudged"]["spin_updates"]
    assert step.solver_seconds == pytest.approx(
        step.costs["free"]["solver_seconds"] + step.costs["nudged"]["solver_seconds"]
    )


def test_solver_specific_costs_are_summed_per_phase():
    """Entries a solver puts in ``info['cost']`` reach the step's per-phase record, summed over calls."""
    from eqising.solvers import AnnealingSolver

    class MeteredSolver(AnnealingSolver):
        def _sample(self, batch, num_reads, schedule, initial_states, seeds):
            out = super()._sample(batch, num_reads, schedule, initial_states, seeds)
            out.info["cost"] = {"joules": 1.5 * batch.n_problems}
            return out

    net, X, rng = _setup()
    targets = one_hot_spins(np.arange(len(X)) % 2, 2, 4)
    step = eqprop_step(
        net, MeteredSolver(num_sweeps=5), X, targets, nudge=2.0, mode="symmetric", num_reads=1,
        seed=0, skip_correct=False,
    )
    assert step.costs["free"]["joules"] == 1.5 * len(X)
    assert step.costs["nudged"]["joules"] == 2 * 1.5 * len(X)


def test_one_hot_spins_and_class_scores():
    t = one_hot_spins(np.array([1, 0]), 3, 2)
    assert t.tolist() == [[-1, -1, 1, 1, -1, -1], [1, 1, -1, -1, -1, -1]]

    class S:  # minimal SpinSamples stand-in: 2 reads, the second has the lower energy
        spins = np.array([[[1, 1, -1, -1, -1, -1], [-1, -1, -1, -1, 1, 1]]], dtype=np.int8)
        energies = np.array([[0.0, -1.0]])

    scores = class_scores(S, slice(0, 6), 3, 2)
    assert np.argmax(scores[0]) == 2  # the lowest-energy read decides
