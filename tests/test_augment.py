"""Shift augmentation: what each shifted image holds, how shifts are drawn, and how training uses them."""

from __future__ import annotations

import numpy as np
import pytest

from eqising import EqPropClassifier, load_dataset
from eqising._validation import InvalidParameterError
from eqising.augment import image_shape_for, shift_images

CHEAP = {"hidden_layer_sizes": (12,), "batch_size": 25, "solver_params": {"num_sweeps": 10}, "max_iter": 2,
         "random_state": 3}


def _shift_one(image: np.ndarray, dy: int, dx: int) -> np.ndarray:
    """Reference: ``image`` moved down by dy and right by dx, zero-filled (pixel by pixel)."""
    h, w = image.shape
    out = np.zeros_like(image)
    for r in range(h):
        for c in range(w):
            if 0 <= r - dy < h and 0 <= c - dx < w:
                out[r, c] = image[r - dy, c - dx]
    return out


# the last two also shift images out of the frame entirely (|dy| >= height or |dx| >= width)
@pytest.mark.parametrize("shape,max_shift", [((5, 5), 1), ((4, 7), 2), ((3, 3), 2), ((3, 3), 4), ((2, 6), 7)])
def test_each_image_is_its_own_shift_of_the_input(shape, max_shift):
    rng = np.random.default_rng(0)
    X = rng.random((300, shape[0] * shape[1]))
    out = shift_images(X, shape, max_shift, np.random.default_rng(7))
    draws = np.random.default_rng(7)
    dy = draws.integers(-max_shift, max_shift + 1, size=len(X))
    dx = draws.integers(-max_shift, max_shift + 1, size=len(X))
    for i in range(len(X)):
        expected = _shift_one(X[i].reshape(shape), dy[i], dx[i])
        np.testing.assert_array_equal(out[i].reshape(shape), expected)
    assert out.shape == X.shape and out is not X


def test_shifts_cover_every_offset_uniformly():
    # one bright pixel in the middle of a 7x7 image: where it lands is the drawn (dy, dx)
    n, m = 9000, 2
    X = np.zeros((n, 49))
    X[:, 3 * 7 + 3] = 1.0
    out = shift_images(X, (7, 7), m, np.random.default_rng(1)).reshape(n, 7, 7)
    rows, cols = np.nonzero(out.sum(axis=0))
    counts = out.sum(axis=0)[rows, cols]
    assert sorted(set(rows - 3)) == list(range(-m, m + 1)) and sorted(set(cols - 3)) == list(range(-m, m + 1))
    expected = n / (2 * m + 1) ** 2
    chi2 = float(((counts - expected) ** 2 / expected).sum())
    assert chi2 < 55.0  # chi-square, 24 degrees of freedom: p ~ 3e-4


def test_zero_shift_is_a_copy():
    X = np.arange(18.0).reshape(2, 9)
    out = shift_images(X, (3, 3), 0, np.random.default_rng(0))
    np.testing.assert_array_equal(out, X)
    assert out is not X


def test_image_shape_defaults_to_a_square():
    assert image_shape_for(64, None, "o") == (8, 8)
    assert image_shape_for(12, (3, 4), "o") == (3, 4)
    with pytest.raises(InvalidParameterError, match="'image_shape' parameter of o must be given when the 60"):
        image_shape_for(60, None, "o")


@pytest.fixture(scope="module")
def data():
    return load_dataset("digits", train_size=150, test_size=40)


def test_training_sees_shifted_images_and_is_reproducible(data):
    plain = EqPropClassifier(**CHEAP).fit(data.X_train, data.y_train)
    shifted = EqPropClassifier(**CHEAP, shift_augment=1).fit(data.X_train, data.y_train)
    again = EqPropClassifier(**CHEAP, shift_augment=1).fit(data.X_train, data.y_train)
    assert not np.array_equal(plain.network_.weights[0], shifted.network_.weights[0])
    for a, b in zip(shifted.network_.weights, again.network_.weights, strict=True):
        np.testing.assert_array_equal(a, b)


def test_training_input_is_the_shifted_minibatch(data, monkeypatch):
    seen = []
    clf = EqPropClassifier(**{**CHEAP, "max_iter": 1}, shift_augment=1, shuffle=False)
    import eqising.engine as engine_module

    original = engine_module.FloatEngine.step

    def spy(self, X, targets, **kwargs):
        seen.append(X.copy())
        return original(self, X, targets, **kwargs)

    monkeypatch.setattr(engine_module.FloatEngine, "step", spy)
    clf.fit(data.X_train, data.y_train)
    batch = np.concatenate(seen)
    assert batch.shape == data.X_train.shape
    assert not np.array_equal(batch, data.X_train)
    # every row is some shift of its image: the pixel mass can only drop (pixels pushed out), never rise
    assert np.all(batch.sum(axis=1) <= data.X_train.sum(axis=1) + 1e-12)
    moved = [i for i in range(len(batch)) if not np.array_equal(batch[i], data.X_train[i])]
    assert len(moved) > 0.7 * len(batch)  # 8 of the 9 offsets move the image


@pytest.mark.parametrize(
    "params,match",
    [({"shift_augment": 1, "image_shape": (7, 9)}, "'image_shape' parameter .* height \\* width = n_features = 64"),
     ({"shift_augment": 8}, "'shift_augment' parameter .* smaller than the images' height and width"),
     ({"shift_augment": 1, "image_shape": (8, 8, 1)}, "'image_shape' parameter .* two ints"),
     ({"shift_augment": 1, "image_shape": (8, 0)}, "'image_shape' parameter .* >= 1"),
     ({"shift_augment": -1}, "'shift_augment' parameter")],
)
def test_bad_augmentation_is_refused_before_training(data, params, match):
    with pytest.raises(InvalidParameterError, match=match):
        EqPropClassifier(**CHEAP, **params).fit(data.X_train, data.y_train)


def test_chosen_rows_are_shifted_as_their_copy_would_be():
    rng = np.random.default_rng(3)
    X = rng.random((30, 20))
    rows = np.array([29, 0, 7, 7, 12])
    np.testing.assert_array_equal(shift_images(X, (4, 5), 2, np.random.default_rng(9), rows=rows),
                                  shift_images(X[rows], (4, 5), 2, np.random.default_rng(9)))
    np.testing.assert_array_equal(shift_images(X, (4, 5), 0, np.random.default_rng(9), rows=rows), X[rows])


@pytest.mark.parametrize("rows", [np.array([0, 30]), np.array([-1, 2]), np.zeros((2, 2), dtype=int)])
@pytest.mark.parametrize("max_shift", [0, 1])
def test_rows_outside_the_images_are_refused(rows, max_shift):
    X = np.zeros((30, 20))
    with pytest.raises(InvalidParameterError, match="'rows' parameter of shift_images"):
        shift_images(X, (4, 5), max_shift, np.random.default_rng(0), rows=rows)


def test_an_image_shape_that_is_not_the_rows_is_refused():
    with pytest.raises(InvalidParameterError, match="'image_shape' parameter of shift_images"):
        shift_images(np.zeros((3, 20)), (4, 4), 1, np.random.default_rng(0))
