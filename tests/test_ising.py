"""IsingBatch and LayeredIsingNetwork: energies, the dimod sign convention, validation.

eqising's sign convention is the machine-learning one,
``E(s) = - sum_l s_l^T J_l s_{l+1} - sum_i h_i s_i``; dimod's is
``E = sum h s + sum J s s``. ``IsingBatch.to_bqm`` is the only conversion, and
these tests pin it against dimod's own energies and ``dimod.ExactSolver``.
"""

from __future__ import annotations

import itertools

import dimod
import numpy as np
import pytest

from conftest import random_batch, random_spins
from eqising._validation import InvalidParameterError
from eqising.ising import IsingBatch
from eqising.network import LayeredIsingNetwork

LAYER_CONFIGS = [(5,), (3, 4), (4, 3, 2), (2, 3, 4, 2)]


def every_state(n_spins):
    """All 2**n spin states, enumerated independently of eqising's own helpers."""
    return np.array(list(itertools.product((-1, 1), repeat=n_spins)), dtype=np.int8)


def direct_energy(layer_sizes, couplings, fields, s):
    """E(s) straight from the definition, one state at a time (the test oracle)."""
    offsets = np.concatenate([[0], np.cumsum(layer_sizes)])
    e = -float(fields @ s)
    for l, J in enumerate(couplings):
        a = s[offsets[l] : offsets[l + 1]]
        b = s[offsets[l + 1] : offsets[l + 2]]
        e -= float(a @ J @ b)
    return e


# --------------------------------------------------------------------- energies
@pytest.mark.parametrize("layer_sizes", LAYER_CONFIGS, ids=str)
def test_energies_match_direct_definition(layer_sizes):
    rng = np.random.default_rng(0)
    batch = random_batch(layer_sizes, 3, rng)
    spins = random_spins((3, 4, batch.n_spins), rng)
    energies = batch.energies(spins)
    assert energies.shape == (3, 4)
    expected = [
        [direct_energy(layer_sizes, batch.couplings, batch.fields[b], s.astype(float)) for s in spins[b]]
        for b in range(3)
    ]
    np.testing.assert_allclose(energies, expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("layer_sizes", LAYER_CONFIGS, ids=str)
def test_energies_equal_dimod_bqm_energies(layer_sizes):
    rng = np.random.default_rng(1)
    batch = random_batch(layer_sizes, 3, rng)
    spins = random_spins((3, 7, batch.n_spins), rng)
    energies = batch.energies(spins)
    for b in range(batch.n_problems):
        bqm = batch.to_bqm(b)
        assert bqm.vartype is dimod.SPIN
        assert set(bqm.variables) == set(range(batch.n_spins))
        assert bqm.offset == 0.0
        dimod_energies = bqm.energies((spins[b], list(range(batch.n_spins))))
        np.testing.assert_allclose(dimod_energies, energies[b], rtol=1e-12, atol=1e-12)


def test_to_bqm_negates_fields_and_couplings():
    """The conversion itself: h_dimod = -h and J_dimod = -J, every layer pair present."""
    rng = np.random.default_rng(2)
    batch = random_batch((2, 3, 2), 2, rng)
    bqm = batch.to_bqm(1)
    for i in range(batch.n_spins):
        assert bqm.get_linear(i) == pytest.approx(-batch.fields[1, i])
    assert bqm.num_interactions == batch.n_couplings
    for l, J in enumerate(batch.couplings):
        for i, j in np.ndindex(J.shape):
            u, v = batch.offsets[l] + i, batch.offsets[l + 1] + j
            assert bqm.get_quadratic(u, v) == pytest.approx(-J[i, j])


def test_positive_field_favours_up_spin():
    batch = IsingBatch((1,), (), np.array([[1.5]]))
    e = batch.energies(np.array([[[1], [-1]]], dtype=np.int8))
    np.testing.assert_allclose(e, [[-1.5, 1.5]])


def test_positive_coupling_favours_aligned_spins():
    batch = IsingBatch((1, 1), (np.array([[2.0]]),), np.zeros((1, 2)))
    e = batch.energies(np.array([[[1, 1], [1, -1], [-1, -1]]], dtype=np.int8))
    np.testing.assert_allclose(e, [[-2.0, 2.0, -2.0]])


# --------------------------------------------------------------- sign convention
@pytest.mark.parametrize("layer_sizes", [(3, 4), (3, 3, 2), (2, 3, 2, 2)], ids=str)
def test_dimod_exact_ground_state_is_min_energy_state(layer_sizes):
    rng = np.random.default_rng(3)
    batch = random_batch(layer_sizes, 3, rng)
    states = every_state(batch.n_spins)
    all_energies = batch.energies(np.broadcast_to(states, (batch.n_problems,) + states.shape))
    for b in range(batch.n_problems):
        ground = states[np.argmin(all_energies[b])]
        # Continuous random fields break every degeneracy, so the ground state is unique.
        assert np.sum(np.isclose(all_energies[b], all_energies[b].min())) == 1
        best = dimod.ExactSolver().sample(batch.to_bqm(b)).first
        dimod_state = np.array([best.sample[i] for i in range(batch.n_spins)])
        np.testing.assert_array_equal(dimod_state, ground)
        assert best.energy == pytest.approx(all_energies[b].min())


def test_dimod_exact_ground_state_is_network_min_energy_state():
    rng = np.random.default_rng(4)
    net = LayeredIsingNetwork(
        [rng.normal(0, 1.0, (3, 4)), rng.normal(0, 1.0, (4, 3))],
        [rng.normal(0, 0.5, 4), rng.normal(0, 0.5, 3)],
        field_clip=None,
    )
    X = rng.normal(0, 1.0, (3, 3))
    batch = net.ising_batch(X)
    assert batch.layer_sizes == (4, 3)
    states = every_state(net.n_spins).astype(float)

    for i, x in enumerate(X):
        # The network energy written out from its definition, with s_0 = x clamped.
        def network_energy(s, x=x):
            s1, s2 = s[:4], s[4:]
            couplings = -(x @ net.weights[0] @ s1) - (s1 @ net.weights[1] @ s2)
            return couplings - net.biases[0] @ s1 - net.biases[1] @ s2

        direct = np.array([network_energy(s) for s in states])
        net_ground = states[np.argmin(direct)]
        # The network energy (input clamped) is exactly the Ising energy of its encoding.
        np.testing.assert_allclose(net.energy(X[i : i + 1], states[None]), direct[None], atol=1e-10)

        best = dimod.ExactSolver().sample(batch.to_bqm(i)).first
        dimod_state = np.array([best.sample[k] for k in range(net.n_spins)])
        np.testing.assert_array_equal(dimod_state, net_ground)
        assert best.energy == pytest.approx(direct.min())


# ------------------------------------------------------------------ local fields
@pytest.mark.parametrize("layer_sizes", LAYER_CONFIGS, ids=str)
def test_local_fields_give_single_flip_energy_changes(layer_sizes):
    rng = np.random.default_rng(5)
    batch = random_batch(layer_sizes, 2, rng)
    spins = random_spins((2, 5, batch.n_spins), rng)
    local = batch.local_fields(spins)
    assert local.shape == spins.shape
    e0 = batch.energies(spins)
    for i in range(batch.n_spins):
        flipped = spins.copy()
        flipped[..., i] *= -1
        delta = batch.energies(flipped) - e0
        # E = -s_i f_i + (terms without s_i), so flipping s_i costs 2 s_i f_i.
        np.testing.assert_allclose(delta, 2.0 * spins[..., i] * local[..., i], atol=1e-10)


@pytest.mark.parametrize("layer_sizes", LAYER_CONFIGS, ids=str)
def test_coupling_matrix_symmetric_and_consistent(layer_sizes):
    rng = np.random.default_rng(6)
    batch = random_batch(layer_sizes, 2, rng)
    J = batch.coupling_matrix()
    n = batch.n_spins
    assert J.shape == (n, n)
    np.testing.assert_array_equal(J, J.T)
    np.testing.assert_array_equal(np.diag(J), 0.0)
    assert np.count_nonzero(J) == 2 * batch.n_couplings
    spins = random_spins((2, 4, n), rng).astype(float)
    dense = -0.5 * np.einsum("bri,ij,brj->br", spins, J, spins) - np.einsum("bi,bri->br", batch.fields, spins)
    np.testing.assert_allclose(batch.energies(spins), dense, atol=1e-10)
    # Local fields are the row sums of the dense matrix plus the fields.
    np.testing.assert_allclose(batch.local_fields(spins), batch.fields[:, None, :] + spins @ J, atol=1e-10)


def test_shape_properties_and_select():
    rng = np.random.default_rng(7)
    batch = random_batch((2, 3, 4), 5, rng)
    assert batch.n_problems == 5
    assert batch.n_spins == 9
    assert batch.n_couplings == 2 * 3 + 3 * 4
    assert batch.offsets == (0, 2, 5, 9)
    assert batch.layer_slice(1) == slice(2, 5)
    sub = batch.select([3, 1])
    np.testing.assert_array_equal(sub.fields, batch.fields[[3, 1]])
    spins = random_spins((2, 3, 9), rng)
    expected = [
        [direct_energy(batch.layer_sizes, batch.couplings, batch.fields[b], s.astype(float)) for s in row]
        for row, b in zip(spins, [3, 1])
    ]
    np.testing.assert_allclose(sub.energies(spins), expected, atol=1e-12)


# ------------------------------------------------------------------- bad input
def _good():
    rng = np.random.default_rng(8)
    return (3, 4), (rng.normal(size=(3, 4)),), rng.normal(size=(2, 7))


def test_transposed_coupling_is_rejected():
    sizes, (J,), h = _good()
    message = r"The 'couplings' parameter of IsingBatch must be .*shape \(3, 4\)"
    with pytest.raises(InvalidParameterError, match=message):
        IsingBatch(sizes, (J.T,), h)


def test_wrong_number_of_couplings_is_rejected():
    sizes, (J,), h = _good()
    with pytest.raises(InvalidParameterError, match=r"'couplings' parameter of IsingBatch .*1 arrays"):
        IsingBatch(sizes, (J, J), h)
    with pytest.raises(InvalidParameterError, match="'couplings' parameter of IsingBatch"):
        IsingBatch(sizes, (), h)


def test_nan_fields_are_rejected():
    sizes, Js, h = _good()
    h[1, 2] = np.nan
    with pytest.raises(InvalidParameterError, match=r"'fields' parameter of IsingBatch .*NaN"):
        IsingBatch(sizes, Js, h)


def test_infinite_coupling_is_rejected():
    sizes, (J,), h = _good()
    J[0, 0] = np.inf
    with pytest.raises(InvalidParameterError, match="'couplings' parameter of IsingBatch"):
        IsingBatch(sizes, (J,), h)


@pytest.mark.parametrize("fields_shape", [(2, 6), (7,), (2, 7, 1)], ids=str)
def test_fields_of_wrong_shape_are_rejected(fields_shape):
    sizes, Js, _ = _good()
    with pytest.raises(InvalidParameterError, match="'fields' parameter of IsingBatch"):
        IsingBatch(sizes, Js, np.zeros(fields_shape))


@pytest.mark.parametrize("sizes", [(3, 0), (3, 2.5), ()], ids=str)
def test_bad_layer_sizes_are_rejected(sizes):
    with pytest.raises(InvalidParameterError, match="'layer_sizes' parameter of IsingBatch"):
        IsingBatch(sizes, (np.zeros((3, 1)),) if len(sizes) == 2 else (), np.zeros((1, 3)))


def test_non_numeric_fields_are_rejected():
    sizes, Js, _ = _good()
    with pytest.raises(InvalidParameterError, match="'fields' parameter of IsingBatch"):
        IsingBatch(sizes, Js, np.full((1, 7), "a"))


def test_invalid_parameter_error_is_value_and_type_error():
    sizes, (J,), h = _good()
    with pytest.raises(ValueError):
        IsingBatch(sizes, (J.T,), h)
    with pytest.raises(TypeError):
        IsingBatch(sizes, (J.T,), h)


def test_to_bqm_problem_out_of_range_is_rejected():
    sizes, Js, h = _good()
    batch = IsingBatch(sizes, Js, h)
    with pytest.raises(InvalidParameterError, match="'problem' parameter of IsingBatch.to_bqm"):
        batch.to_bqm(2)


# ---------------------------------------------------------- network gradients
def _direct_gradients(net, X, spins, w):
    """Minus the (weighted, read-averaged) correlations, one example at a time."""
    sizes = net.spin_layer_sizes
    offsets = np.concatenate([[0], np.cumsum(sizes)])
    dW = [np.zeros_like(W) for W in net.weights]
    db = [np.zeros_like(b) for b in net.biases]
    for n in range(X.shape[0]):
        for r in range(spins.shape[1]):
            s = spins[n, r].astype(float)
            layers = [s[offsets[l] : offsets[l + 1]] for l in range(len(sizes))]
            dW[0] -= w[n] * np.outer(X[n], layers[0]) / spins.shape[1]
            for l in range(1, len(net.weights)):
                dW[l] -= w[n] * np.outer(layers[l - 1], layers[l]) / spins.shape[1]
            for l in range(len(sizes)):
                db[l] -= w[n] * layers[l] / spins.shape[1]
    return dW, db


@pytest.mark.parametrize("use_weights", [False, True])
def test_energy_gradients_are_minus_correlations(use_weights):
    rng = np.random.default_rng(9)
    net = LayeredIsingNetwork.initialize((5, 4, 3, 2), rng, field_clip=None)
    X = rng.normal(size=(4, 5))
    spins = random_spins((4, 6, net.n_spins), rng)
    w = rng.uniform(0.1, 2.0, size=4) if use_weights else None
    dW, db = net.energy_gradients(X, spins, weights=w)
    dW_ref, db_ref = _direct_gradients(net, X, spins, np.ones(4) if w is None else w)
    assert [g.shape for g in dW] == [W.shape for W in net.weights]
    assert [g.shape for g in db] == [b.shape for b in net.biases]
    for got, ref in zip(dW + db, dW_ref + db_ref):
        np.testing.assert_allclose(got, ref, atol=1e-12)


def test_energy_gradients_are_derivatives_of_the_energy():
    """E is linear in each weight, so a finite difference gives the exact derivative."""
    rng = np.random.default_rng(10)
    net = LayeredIsingNetwork.initialize((3, 3, 2, 2), rng, field_clip=None)
    X = rng.normal(size=(2, 3))
    spins = random_spins((2, 3, net.n_spins), rng)
    dW, db = net.energy_gradients(X, spins)

    def total_energy():
        return net.energy(X, spins).mean(axis=1).sum()

    e0, eps = total_energy(), 0.5
    for params, grads in ((net.weights, dW), (net.biases, db)):
        for P, G in zip(params, grads):
            for idx in np.ndindex(P.shape):
                P[idx] += eps
                numeric = (total_energy() - e0) / eps
                P[idx] -= eps
                assert numeric == pytest.approx(G[idx], abs=1e-9)
