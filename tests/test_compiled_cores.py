"""The compiled cores behind the training step compute what their reference formulas compute.

The fused annealing step and the generic step call these same cores, so the
two paths agree bit for bit (tests/test_fused_step.py); here each core is held
to an independent NumPy statement of what it computes.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from eqising.engine import step_loss_and_correct
from eqising.eqprop import class_scores
from eqising.ising import layered_energies, layered_row_norms, max_energy_change, min_field_scale
from eqising.network import LayeredIsingNetwork
from eqising.seeding import derive, derive_many
from eqising.solvers import SpinSamples
from eqising.solvers.schedule import beta_ends, geometric_beta, geometric_betas

words = st.one_of(st.integers(0, 2**64 - 1), st.integers(0, 2**130), st.text(max_size=6))


@settings(max_examples=300, deadline=None)
@given(root=st.integers(0, 2**64 - 1), path=st.lists(words, max_size=6), n=st.integers(0, 70))
def test_derived_seeds_are_numpys_seed_sequence(root, path, n):
    from eqising.seeding import _word

    expected = np.random.SeedSequence([root, *(_word(p) for p in path)]).generate_state(n, np.uint64)
    got = derive_many(root, *path, n=n)
    assert got.dtype == np.uint64 and got.shape == (n,)
    np.testing.assert_array_equal(got, expected)
    if n:
        assert derive(root, *path) == int(expected[0])


def _network(rng, sizes, clip=4.0):
    weights = [rng.normal(scale=0.3, size=(a, b)) for a, b in zip(sizes, sizes[1:])]
    biases = [rng.normal(scale=0.2, size=b) for b in sizes[1:]]
    return LayeredIsingNetwork(weights, biases, field_clip=clip)


@pytest.mark.parametrize("density", [0.0, 0.2, 1.0])
def test_input_fields_are_the_affine_map_of_the_inputs(density):
    rng = np.random.default_rng(3)
    net = _network(rng, (37, 9, 6, 4))
    X = rng.normal(size=(11, 37)) * (rng.random((11, 37)) < density)
    expected = np.concatenate([X @ net.weights[0] + net.biases[0], np.tile(net.biases[1], (11, 1)),
                               np.tile(net.biases[2], (11, 1))], axis=1)
    np.testing.assert_allclose(net.input_fields(X), expected, rtol=1e-13, atol=1e-13)
    one = net.input_fields(X[4:5])  # a row does not depend on the batch around it
    np.testing.assert_array_equal(one[0], net.input_fields(X)[4])


@pytest.mark.parametrize("clip", [4.0, 0.5, None])
def test_nudged_fields_add_the_nudge_to_the_outputs_then_clip(clip):
    rng = np.random.default_rng(4)
    net = _network(rng, (5, 7, 3), clip=clip)
    fields = rng.normal(scale=2.0, size=(6, 10))
    targets = rng.choice([-1.0, 1.0], size=(6, 3))
    nudge = rng.uniform(0.0, 2.0, size=6)
    expected = fields.copy()
    expected[:, 7:] += nudge[:, None] * targets
    if clip is not None:
        expected = np.clip(expected, -clip, clip)
    np.testing.assert_array_equal(net.nudged_fields(fields, nudge, targets), expected)
    np.testing.assert_array_equal(net.nudged_fields(fields), fields if clip is None else np.clip(fields, -clip, clip))
    assert net.nudged_fields(fields) is not fields


def test_energies_norms_and_scales_are_their_formulas():
    rng = np.random.default_rng(5)
    offsets, couplings = (0, 8, 13, 16), (rng.normal(size=(8, 5)), rng.normal(size=(5, 3)))
    fields = rng.normal(size=(4, 16))
    fields[0, :] = 0.0
    spins = rng.choice(np.array([-1, 1], dtype=np.int8), size=(4, 3, 16))
    s = spins.astype(float)
    expected = -np.einsum("bi,bri->br", fields, s)
    for l, J in enumerate(couplings):
        a, b = slice(offsets[l], offsets[l + 1]), slice(offsets[l + 1], offsets[l + 2])
        expected -= np.einsum("bri,ij,brj->br", s[..., a], J, s[..., b])
    np.testing.assert_allclose(layered_energies(offsets, couplings, fields, spins), expected, rtol=1e-12)
    np.testing.assert_allclose(layered_energies((0, 16), (), fields, spins), -np.einsum("bi,bri->br", fields, s))

    absolute, square = layered_row_norms(offsets, couplings)
    dense = np.zeros((16, 16))
    for l, J in enumerate(couplings):
        dense[offsets[l]:offsets[l + 1], offsets[l + 1]:offsets[l + 2]] = J
    dense += dense.T
    np.testing.assert_allclose(absolute, np.abs(dense).sum(axis=1), rtol=1e-13)
    np.testing.assert_allclose(square, (dense**2).sum(axis=1), rtol=1e-13)
    np.testing.assert_array_equal(max_energy_change(fields, absolute), 2 * (np.abs(fields) + absolute).max(axis=1))
    scale = np.sqrt(fields**2 + square)
    np.testing.assert_array_equal(min_field_scale(fields, square), scale.min(axis=1))
    assert min_field_scale(np.zeros((2, 3)), np.zeros(3)).tolist() == [1.0, 1.0]  # every spin free
    for n in (1, 5, 7, 13):  # lengths that are not multiples of the cores' four running extrema, some spins free
        f, sq, ab = rng.normal(size=(9, n)), rng.uniform(0, 2, n) ** 3, rng.uniform(0, 2, n)
        f[:, ::3], sq[::3] = 0.0, 0.0
        scale = np.sqrt(f**2 + sq)
        expected = np.where((scale > 0).any(axis=1), np.where(scale > 0, scale, np.inf).min(axis=1), 1.0)
        np.testing.assert_array_equal(min_field_scale(f, sq), expected)
        np.testing.assert_array_equal(max_energy_change(f, ab), 2 * (np.abs(f) + ab).max(axis=1))


def test_walks_and_ends_are_their_formulas():
    rng = np.random.default_rng(6)
    hot, cold = rng.uniform(0.01, 1.0, 9), rng.uniform(1.0, 50.0, 9)
    walks = geometric_betas(hot, cold, 17)
    progress = np.linspace(0.0, 1.0, 17)
    np.testing.assert_allclose(walks, hot[:, None] * (cold / hot)[:, None] ** progress, rtol=1e-13)
    np.testing.assert_array_equal(walks, geometric_beta(hot[:, None], cold[:, None], progress))  # one formula
    np.testing.assert_array_equal(walks[:, 0], hot)
    np.testing.assert_allclose(walks[:, -1], cold, rtol=1e-14)
    assert geometric_betas(hot, cold, 0).shape == (9, 0)
    de, f = rng.uniform(0.0, 5.0, 9), rng.uniform(0.01, 3.0, 9)
    de[0] = 0.0
    h, c = beta_ends(de, f)
    np.testing.assert_array_equal(h, np.log(2.0) / np.maximum(de, 1e-12))
    np.testing.assert_array_equal(c, np.maximum(np.log(100.0) / (2.0 * f), h))


@pytest.mark.parametrize("reads,replicas", [(1, 1), (3, 1), (2, 3)])
def test_step_loss_and_accuracy_follow_class_scores(reads, replicas):
    rng = np.random.default_rng(7)
    n, n_classes, n_hidden = 40, 4, 6
    N = n_hidden + n_classes * replicas
    spins = rng.choice(np.array([-1, 1], dtype=np.int8), size=(n, reads, N))
    energies = rng.integers(-2, 2, size=(n, reads)).astype(float)  # ties between reads
    y = rng.integers(0, n_classes, size=n)
    targets = -np.ones((n, n_classes, replicas))
    targets[np.arange(n), y] = 1.0
    targets = targets.reshape(n, -1)
    free, out = SpinSamples(spins, energies, {}), slice(n_hidden, N)
    loss, correct = step_loss_and_correct(free, targets, y, out, n_classes, replicas)
    expected_loss = (0.5 * (spins[..., out] - targets[:, None, :]) ** 2).mean(axis=(1, 2)).sum()
    assert loss == pytest.approx(expected_loss, rel=1e-13)
    assert correct == (class_scores(free, out, n_classes, replicas).argmax(axis=1) == y).sum()


def test_adam_refuses_gradients_of_other_sizes_and_keeps_its_state():
    from eqising.optim import Adam

    adam = Adam([0.1, 0.1])
    adam.deltas([np.ones((2, 3)), np.ones(2)])
    state = adam.get_state()
    with pytest.raises(ValueError, match=r"started on gradients of sizes \[6, 2\]; got \[4, 2\]"):
        adam.deltas([np.ones(4), np.ones(2)])
    after = adam.get_state()
    assert sorted(after) == sorted(state)
    for key in state:
        np.testing.assert_array_equal(after[key], state[key])


def test_shapes_the_compiled_cores_would_misread_are_refused():
    from eqising._validation import InvalidParameterError

    net = _network(np.random.default_rng(8), (5, 4, 3))
    cases = [
        (lambda: net.input_fields(np.ones((2, 6))), "'X' parameter of LayeredIsingNetwork.input_fields"),
        (lambda: net.nudged_fields(np.ones((2, 6))), "'fields' parameter of LayeredIsingNetwork.nudged_fields"),
        (lambda: net.nudged_fields(np.ones((2, 7)), 1.0, np.ones((2, 2))), "'targets' parameter"),
        (lambda: layered_energies((0, 4, 7), (np.ones((4, 3)),), np.ones((2, 7)), np.ones((2, 1, 6))), "'spins'"),
        (lambda: layered_energies((0, 4, 7), (np.ones((4, 3)),), np.ones((2, 6)), np.ones((2, 1, 7))), "'fields'"),
        (lambda: layered_row_norms((0, 4, 7), (np.ones((3, 4)),)), "'couplings' parameter of layered_row_norms"),
        (lambda: max_energy_change(np.ones((2, 7)), np.ones(6)), "'absolute_rows'"),
        (lambda: min_field_scale(np.ones((2, 7)), np.ones(8)), "'square_rows'"),
    ]
    for call, message in cases:
        with pytest.raises(InvalidParameterError, match=message):
            call()
