"""EqProp gradients against finite differences of the expected cost, with exact averages.

At inverse temperature ``beta`` the network samples ``p(s) ~ exp(-beta E(s; x))``
and the loss is the expected cost ``L = mean_x <C>_beta`` with
``C(s) = 1/2 ||target - s_out||^2``. Nudging adds ``nudge * C`` to the energy
(``nudge * target`` on the output fields), and the free-energy identity gives::

    dL/dtheta = d/dnudge <dE/dtheta>_nudge  at nudge = 0

(both sides equal ``-beta Cov(C, dE/dtheta)``: no temperature factor). EqProp
replaces the derivative by a difference quotient, so with exact Boltzmann
averages its error is a pure discretisation error: O(nudge) for the one-sided
('positive') estimator and O(nudge^2) for the centred ('symmetric') one.

The networks are tiny (5 or 6 spins), so every average below is an exact sum
over all ``2**n_spins`` states; the reference gradient is a central finite
difference of ``L`` with respect to every weight and bias entry.
"""

from __future__ import annotations

import numpy as np
import pytest

from eqising.eqprop import eqprop_step
from eqising.network import LayeredIsingNetwork
from eqising.solvers import boltzmann_distribution, make_solver

N_EXAMPLES = 3
FD_STEP = 1e-5
SLOPE_NUDGES = np.array([0.1, 0.03, 0.01])

CASES = [
    pytest.param((3, 3, 2), 1.0, id="3-3-2-beta1"),
    pytest.param((3, 3, 2), 2.0, id="3-3-2-beta2"),
    pytest.param((4, 3, 2), 1.0, id="4-3-2-beta1"),
    pytest.param((3, 2, 2, 2), 1.0, id="3-2-2-2-beta1"),
]


# ---------------------------------------------------------------- helpers
def make_problem(layer_sizes, seed):
    """A generic network (random weights and biases, no field clipping) and a minibatch."""
    rng = np.random.default_rng(seed)
    n_weights = len(layer_sizes) - 1
    net = LayeredIsingNetwork.initialize(layer_sizes, rng, gains=[1.0] * n_weights, field_clip=None)
    for b in net.biases:
        b[:] = rng.normal(0.0, 0.3, size=b.shape)
    X = rng.uniform(-1.0, 1.0, size=(N_EXAMPLES, layer_sizes[0]))
    T = rng.choice([-1.0, 1.0], size=(N_EXAMPLES, layer_sizes[-1]))
    return net, X, T


def flat(dW, db):
    """One vector from per-layer weight and bias arrays (weights first)."""
    return np.concatenate([a.ravel() for a in [*dW, *db]])


def expected_cost(net, X, T, beta):
    """L = mean over examples of <1/2 ||t - s_out||^2> under the free Boltzmann distribution."""
    states, probs = boltzmann_distribution(net.ising_batch(X), beta)  # (K, N), (B, K)
    out = states[:, net.output_slice].astype(np.float64)
    cost = 0.5 * ((T[:, None, :] - out[None, :, :]) ** 2).sum(axis=2)  # (B, K)
    return float((probs * cost).sum(axis=1).mean())


def exact_mean_energy_gradient(net, X, T, nudge, beta):
    """mean over examples of <dE/dtheta>_nudge, exactly, as a flat vector.

    Every state is passed to ``energy_gradients`` as a one-read "example" of
    its own, weighted by its Boltzmann probability (divided by the batch size).
    """
    states, probs = boltzmann_distribution(net.ising_batch(X, nudge=nudge, targets=T), beta)
    B, K = probs.shape
    X_rep = np.repeat(X, K, axis=0)  # example b, state k -> row b * K + k
    spins = np.tile(states, (B, 1))[:, None, :]  # (B * K, 1, N)
    return flat(*net.energy_gradients(X_rep, spins, probs.ravel() / B))


def exact_eqprop_gradient(net, X, T, nudge, beta, mode):
    """The EqProp estimator of eqising.eqprop, with exact averages in place of reads."""
    a, b = (nudge, 0.0) if mode == "positive" else (nudge, -nudge)
    ga = exact_mean_energy_gradient(net, X, T, a, beta)
    gb = exact_mean_energy_gradient(net, X, T, b, beta)
    return (ga - gb) / (a - b)


def finite_difference_gradient(net, X, T, beta, step=FD_STEP):
    """Central differences of the expected cost w.r.t. every weight and bias entry."""
    grads = []
    for param in [*net.weights, *net.biases]:
        g = np.zeros_like(param)
        for idx in np.ndindex(param.shape):
            orig = param[idx]
            param[idx] = orig + step
            up = expected_cost(net, X, T, beta)
            param[idx] = orig - step
            down = expected_cost(net, X, T, beta)
            param[idx] = orig
            g[idx] = (up - down) / (2 * step)
        grads.append(g.ravel())
    return np.concatenate(grads)


def rel_err(g, ref):
    return float(np.linalg.norm(g - ref) / np.linalg.norm(ref))


def log_log_slope(nudges, errors):
    return float(np.polyfit(np.log(nudges), np.log(errors), 1)[0])


# ------------------------------------------------------------------ tests
@pytest.mark.parametrize("layer_sizes, beta", CASES)
def test_eqprop_gradient_converges_to_finite_differences(layer_sizes, beta):
    net, X, T = make_problem(layer_sizes, seed=sum(layer_sizes) + int(10 * beta))
    g_fd = finite_difference_gradient(net, X, T, beta)
    # The reference is not degenerate: a relative error against it means something.
    assert np.linalg.norm(g_fd) > 1e-2
    assert g_fd.size == sum(W.size for W in net.weights) + sum(b.size for b in net.biases)

    errors = {
        mode: np.array(
            [rel_err(exact_eqprop_gradient(net, X, T, nu, beta, mode), g_fd) for nu in SLOPE_NUDGES]
        )
        for mode in ("positive", "symmetric")
    }
    slopes = {mode: log_log_slope(SLOPE_NUDGES, e) for mode, e in errors.items()}
    report = f"nudges {SLOPE_NUDGES}, rel. errors {errors}, log-log slopes {slopes}"

    # (1) one-sided bias is first order, centred bias second order.
    assert 0.8 <= slopes["positive"] <= 1.2, report
    assert 1.7 <= slopes["symmetric"] <= 2.3, report
    assert np.all(errors["symmetric"] < errors["positive"]), report

    # (2) a small centred nudge recovers the gradient of <C>_beta itself: no temperature factor.
    g_sym = exact_eqprop_gradient(net, X, T, 1e-3, beta, "symmetric")
    assert rel_err(g_sym, g_fd) < 1e-3, report
    # Scale check, stated separately: best-fit factor between the two is 1 (not beta or 1/beta).
    scale = float(g_sym @ g_fd / (g_fd @ g_fd))
    assert scale == pytest.approx(1.0, abs=1e-3)

    # (3) negative controls: the same metric flags wrong estimators.
    g_pos = exact_eqprop_gradient(net, X, T, 1e-3, beta, "positive")
    assert rel_err(-g_sym, g_fd) > 1.9  # flipped sign
    assert rel_err(g_pos / 2, g_fd) > 0.45  # positive mode divided by 2 * nudge (symmetric denominator)
    assert rel_err(2 * g_sym, g_fd) > 0.95  # symmetric mode divided by nudge instead of 2 * nudge
    if beta != 1.0:
        assert rel_err(beta * g_sym, g_fd) > 0.5  # a spurious temperature factor


def test_eqprop_step_with_exact_sampler_matches_exact_symmetric_gradient():
    """The training code path (eqprop_step + exact Boltzmann sampler) estimates the same quantity.

    With ``num_reads`` reads per phase, each per-read difference quotient lies in
    ``[-M, M]`` with ``M = 2 max|dE/dtheta| / (2 nudge)``, so each component of
    the minibatch mean has standard deviation at most ``M / sqrt(num_reads * B)``.
    The check allows 5 of those bounds per component (the symmetric phases share
    random numbers, so the actual noise is far smaller), plus a cosine > 0.99.
    """
    beta, nudge, num_reads = 1.0, 0.5, 20_000
    net, X, T = make_problem((3, 3, 2), seed=7)
    g_exact = exact_eqprop_gradient(net, X, T, nudge, beta, "symmetric")

    solver = make_solver("exact", {"beta": beta})
    step = eqprop_step(
        net, solver, X, T, nudge=nudge, mode="symmetric", num_reads=num_reads, seed=123
    )
    g_mc = flat(step.weight_grads, step.bias_grads)
    assert step.free.spins.shape == (N_EXAMPLES, num_reads, net.n_spins)

    max_dE = max(1.0, float(np.abs(X).max()))  # |dE/dW_0| = |x s|, every other |dE/dtheta| = 1
    sigma_bound = (2 * max_dE / (2 * nudge)) / np.sqrt(num_reads * N_EXAMPLES)
    cosine = float(g_mc @ g_exact / (np.linalg.norm(g_mc) * np.linalg.norm(g_exact)))
    max_diff = float(np.abs(g_mc - g_exact).max())
    report = f"max |diff| {max_diff:.4f}, 5 sigma bound {5 * sigma_bound:.4f}, cosine {cosine:.5f}"
    assert np.all(np.abs(g_mc - g_exact) <= 5 * sigma_bound), report
    assert cosine > 0.99, report
    # The noise bound is tight enough to tell a sign error apart.
    assert np.linalg.norm(g_exact) > 10 * sigma_bound * np.sqrt(g_exact.size)
