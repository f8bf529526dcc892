"""The annealing solver's compiled EqProp step reproduces the generic step bit for bit."""

from __future__ import annotations

import numpy as np
import pytest

from eqising import EqPropClassifier
from eqising.eqprop import eqprop_step, one_hot_spins
from eqising.network import LayeredIsingNetwork
from eqising.seeding import derive
from eqising.solvers import AnnealingSolver, ExactSolver


class GenericAnnealing(AnnealingSolver):
    """The same annealer without its compiled step: the float engine runs the generic one."""

    def fused_eqprop(self, network, **settings):
        return None


def small_digits(n: int = 100):
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    return X[:n] / 16.0, y[:n]


def fit_pair(**params):
    X, y = small_digits()
    solver_params = params.pop("solver_params", {})
    common = dict(max_iter=2, batch_size=32, random_state=3, **params)  # 100 = 3 * 32 + 4: a short last batch
    fused = EqPropClassifier(solver=AnnealingSolver(**solver_params), **common).fit(X, y)
    generic = EqPropClassifier(solver=GenericAnnealing(**solver_params), **common).fit(X, y)
    assert fused.engine_.fused is not None and generic.engine_.fused is None
    return fused, generic


def assert_same_training(fused, generic):
    for a, b in zip(fused.network_.weights + fused.network_.biases, generic.network_.weights + generic.network_.biases):
        np.testing.assert_array_equal(a, b)
    assert fused.loss_curve_ == generic.loss_curve_
    assert fused.accuracy_curve_ == generic.accuracy_curve_
    assert fused.spin_updates_ == generic.spin_updates_
    for f_epoch, g_epoch in zip(fused.solver_cost_curve_, generic.solver_cost_curve_):
        assert set(f_epoch) == set(g_epoch)
        for phase in f_epoch:
            assert set(f_epoch[phase]) == set(g_epoch[phase])
            assert f_epoch[phase].get("spin_updates") == g_epoch[phase].get("spin_updates")
    assert fused.solver_diagnostics_ == generic.solver_diagnostics_
    assert fused.solver_seconds_ > 0


@pytest.mark.parametrize("mode", ["positive", "symmetric", "random-sign"])
@pytest.mark.parametrize("skip_correct", [True, False])
@pytest.mark.parametrize("phase_reads", [1, 3])
def test_fused_training_equals_generic_training(mode, skip_correct, phase_reads):
    fused, generic = fit_pair(nudge_mode=mode, balanced_nudge=mode != "positive", skip_correct=skip_correct,
                              phase_reads=phase_reads, hidden_layer_sizes=(24,))
    assert_same_training(fused, generic)
    # the estimator's predictions are the same too
    X, _ = small_digits()
    np.testing.assert_array_equal(fused.predict_proba(X), generic.predict_proba(X))


@pytest.mark.parametrize("solver_params", [{"greedy_sweeps": 2, "update": "metropolis"}, {"beta_range": (0.2, 3.0)}])
def test_fused_training_equals_generic_with_two_hidden_layers_and_other_solver_settings(solver_params):
    fused, generic = fit_pair(hidden_layer_sizes=(20, 12), phase_reads=2, nudge_mode="symmetric",
                              balanced_nudge=True, solver_params=solver_params)
    assert_same_training(fused, generic)


def test_one_fused_step_returns_what_eqprop_step_returns():
    rng = np.random.default_rng(0)
    net = LayeredIsingNetwork.initialize((16, 12, 8, 6), rng)
    X = rng.uniform(0, 1, size=(9, 16))
    targets = one_hot_spins(rng.integers(0, 3, size=9), 3, 2)
    solver = AnnealingSolver(num_sweeps=20)
    for mode in ("positive", "symmetric", "random-sign"):
        seed = derive(5, mode)
        fused = solver.fused_eqprop(net, nudge=1.5, mode=mode, num_reads=4, skip_correct=True).step(X, targets, seed=seed)
        generic = eqprop_step(net, solver, X, targets, nudge=1.5, mode=mode, num_reads=4, seed=seed, skip_correct=True)
        np.testing.assert_array_equal(fused.free.spins, generic.free.spins)
        np.testing.assert_array_equal(fused.free.energies, generic.free.energies)
        for a, b in zip(fused.weight_grads + fused.bias_grads, generic.weight_grads + generic.bias_grads):
            np.testing.assert_array_equal(a, b)
        assert any(np.any(g != 0) for g in fused.weight_grads)  # the step did move something
        assert fused.spin_updates == generic.spin_updates
        assert set(fused.costs) == set(generic.costs)
        assert fused.diagnostics == generic.diagnostics



def test_gradients_a_caller_holds_stay_valid_and_a_reused_buffer_starts_from_zero():
    # the step reuses its gradient buffer once nothing refers to the previous gradients: held ones (or
    # any view of them) must not change under the caller, and a reused buffer must hold zeros again
    rng = np.random.default_rng(4)
    net = LayeredIsingNetwork.initialize((16, 12, 8, 6), rng)
    X = rng.uniform(0, 1, size=(9, 16))
    X[:, :5] = 0.0  # inputs that no example writes: rows of dW_0 that stay zero
    targets = one_hot_spins(rng.integers(0, 3, size=9), 3, 2)
    step = AnnealingSolver(num_sweeps=20).fused_eqprop(net, nudge=1.5, mode="positive", num_reads=2,
                                                        skip_correct=False)
    fresh = [eqprop_step(net, AnnealingSolver(num_sweeps=20), X, targets, nudge=1.5, mode="positive",
                         num_reads=2, seed=s, skip_correct=False) for s in (1, 2)]
    held = step.step(X, targets, seed=1)
    view = held.weight_grads[0].reshape(-1)[3:40]  # a view of a view: numpy points its base at the buffer
    saved = [g.copy() for g in held.weight_grads + held.bias_grads]
    other = step.step(X, targets, seed=2)
    for a, b in zip(held.weight_grads + held.bias_grads, saved):
        np.testing.assert_array_equal(a, b)
    del held, other
    np.testing.assert_array_equal(view, saved[0].reshape(-1)[3:40])
    for _ in range(2):  # buffers reused now that nothing holds them: each step's own gradient, from zero
        for s, expected in zip((2, 1), fresh[::-1]):
            got = step.step(X, targets, seed=s)
            for a, b in zip(got.weight_grads + got.bias_grads, expected.weight_grads + expected.bias_grads):
                np.testing.assert_array_equal(a, b)
            assert np.any(got.weight_grads[0] != 0) and not np.any(got.weight_grads[0][:5])
            del got

def test_only_a_solver_that_offers_it_gets_the_compiled_step():
    X, y = small_digits(40)
    assert EqPropClassifier(max_iter=1, random_state=0).fit(X, y).engine_.fused is not None
    exact = EqPropClassifier(hidden_layer_sizes=(3,), replicas=1, solver=ExactSolver(), max_iter=1, random_state=0)
    assert exact.fit(X[:, :4], y % 2).engine_.fused is None
    watched = EqPropClassifier(solver_params={"estimate_temperature": True}, max_iter=1, random_state=0).fit(X, y)
    assert watched.engine_.fused is None
    assert ExactSolver().fused_eqprop(watched.network_, nudge=1.0, mode="positive", num_reads=1,
                                      skip_correct=True) is None


def test_fused_step_does_not_depend_on_the_threads():
    from conftest import on_one_and_two_threads

    rng = np.random.default_rng(1)
    net = LayeredIsingNetwork.initialize((16, 20, 6), rng)
    X = rng.uniform(0, 1, size=(13, 16))
    targets = one_hot_spins(rng.integers(0, 3, size=13), 3, 2)
    step = AnnealingSolver(num_sweeps=15).fused_eqprop(net, nudge=2.0, mode="symmetric", num_reads=2,
                                                         skip_correct=True)
    one, two = on_one_and_two_threads(lambda: step.step(X, targets, seed=11))
    np.testing.assert_array_equal(one.free.spins, two.free.spins)
    for a, b in zip(one.weight_grads + one.bias_grads, two.weight_grads + two.bias_grads):
        np.testing.assert_array_equal(a, b)
    assert one.spin_updates == two.spin_updates


def test_compiled_adam_is_the_numpy_formula():
    from eqising.optim import Adam

    rng = np.random.default_rng(2)
    shapes = [(7, 5), (150, 130), (5,), (0,), (300,)]  # 19,500 entries: several parallel blocks
    adam = Adam([0.004, 0.002, 0.0004, 0.003, 0.01])
    m = [np.zeros(s) for s in shapes]
    v = [np.zeros(s) for s in shapes]
    for t in range(1, 6):
        grads = [rng.normal(size=s) * 10.0 ** rng.integers(-6, 2) for s in shapes]
        deltas = adam.deltas(grads)
        state = adam.get_state()
        c1, c2 = 1 - 0.9**t, 1 - 0.999**t
        for i, (g, mi, vi, lr, d) in enumerate(zip(grads, m, v, adam.learning_rates, deltas)):
            mi *= 0.9
            mi += (1 - 0.9) * g
            vi *= 0.999
            vi += (1 - 0.999) * g * g
            np.testing.assert_array_equal(state[f"m.{i}"], mi)  # the moments bit for bit
            np.testing.assert_array_equal(state[f"v.{i}"], vi)
            np.testing.assert_allclose(d, -(lr * (mi / c1) / (np.sqrt(vi / c2) + 1e-8)), rtol=1e-14, atol=0)


def test_optimizer_moments_that_would_be_subnormal_are_stored_as_zero():
    """A moment decaying under zero gradients reaches the subnormals after ~6,700 steps and would stay there
    (0.9 times the smallest subnormal rounds back to it); it is stored as zero, the others keep NumPy's bits."""
    from eqising.optim import SGD, Adam

    tiny = np.finfo(np.float64).tiny
    start = np.array([tiny * 1.05, -tiny * 1.05, 3e-300, 1e-3, -0.0, 0.0, tiny * 1e-3])
    g = np.zeros(start.size)
    for one_pass in (False, True):  # the deltas path (device backends) and the in-place step (ideal backend)
        adam = Adam([1e-3])
        adam.set_state({"m.0": start.copy(), "v.0": start.copy() ** 2 + np.array([0, 0, 0, 0, 0, 0, tiny * 1e-3]),
                        "t": np.array(5)})
        params = np.full(start.size, 0.25)
        if one_pass:
            adam.step([params], [g])
        else:
            params += adam.deltas([g])[0]
        m, v = adam.get_state()["m.0"], adam.get_state()["v.0"]
        expected_m = start * 0.9 + 0.1 * g
        subnormal_m = (expected_m != 0) & (np.abs(expected_m) < tiny)
        assert subnormal_m.tolist() == [True, True, False, False, False, False, True]
        np.testing.assert_array_equal(m[~subnormal_m].view(np.uint64), expected_m[~subnormal_m].view(np.uint64))
        assert np.all(m[subnormal_m] == 0.0) and not np.any(np.signbit(m[subnormal_m]))
        assert np.all((v == 0) | (np.abs(v) >= tiny))
        np.testing.assert_array_equal(np.delete(params, 3), 0.25)  # such moments move no parameter of normal size
    sgd = SGD([1e-3], momentum=0.9)
    sgd.set_state({"velocity.0": start.copy()})
    sgd.deltas([g])
    velocity = sgd.get_state()["velocity.0"]
    assert np.all((velocity == 0) | (np.abs(velocity) >= tiny))
    np.testing.assert_array_equal(velocity[2:4], start[2:4] * 0.9)


def test_compiled_gradient_is_the_difference_of_the_energy_gradients():
    from eqising.solvers._gradients import eqprop_gradients

    rng = np.random.default_rng(4)
    net = LayeredIsingNetwork.initialize((9, 7, 5, 4), rng)
    X = rng.uniform(-1, 1, size=(6, 9))
    X[:, 2] = 0.0  # zero inputs are skipped
    a = rng.choice(np.array([-1, 1], dtype=np.int8), size=(6, 3, 16))
    b = a.copy()
    b[rng.uniform(size=b.shape) < 0.2] *= -1
    b[1] = a[1]  # an example whose phases agree
    w = rng.uniform(0.1, 1.0, size=6)
    dW, db = eqprop_gradients(net.layer_sizes, X, a, b, w)
    dWa, dba = net.energy_gradients(X, a, w)
    dWb, dbb = net.energy_gradients(X, b, w)
    for got, x, y in zip(dW + db, dWa + dba, dWb + dbb):
        np.testing.assert_allclose(got, x - y, rtol=1e-12, atol=1e-14)


def test_compiled_input_gradient_has_the_bits_of_the_dense_sum_example_by_example():
    """Skipping the input weights of spins that did not change leaves every entry's sequence of operations
    (minus zero products) as the dense sum's: the same bits."""
    from eqising.solvers._gradients import eqprop_gradients

    rng = np.random.default_rng(11)
    sizes = (30, 12, 5)
    for R in (1, 3):
        X = rng.uniform(-1, 1, size=(9, 30)) * (rng.random((9, 30)) < 0.4)
        a = rng.choice(np.array([-1, 1], dtype=np.int8), size=(9, R, 17))
        b = a.copy()
        flip = rng.random(b.shape) < 0.15  # a few spins differ, in some reads only
        b[flip] *= -1
        b[4] = a[4]  # an example whose phases agree
        w = rng.uniform(0.5, 2.0, size=9)
        dW, _ = eqprop_gradients(sizes, X, a, b, w)
        expected = np.zeros((30, 12))
        for e in range(9):
            diff = (a[e, :, :12].astype(np.int64) - b[e, :, :12]).sum(axis=0).astype(np.float64)
            expected -= ((w[e] / R) * X[e])[:, None] * diff[None, :]
        np.testing.assert_array_equal(dW[0], expected)
