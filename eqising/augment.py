"""Training-data augmentation: small random shifts of image inputs.

A network trained on 1,000 MNIST digits fits them (training accuracy 0.99)
and generalises less well than it could; shifting every training image by a
random whole number of pixels, drawn anew every epoch, is the classic cure
for small image datasets. The estimator applies it to each minibatch when
``shift_augment > 0`` (the CLI turns it on for the image datasets whose
measurements justify it, see the README's "Accuracy" section).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from ._numba_cache import cached_njit
from ._validation import param_error

__all__ = ["image_shape_for", "shift_images"]


def image_shape_for(n_features: int, image_shape: Sequence[int] | None, owner: str) -> tuple[int, int]:
    """The ``(height, width)`` of ``n_features`` inputs: ``image_shape``, or a square when it is None.

    Raises
    ------
    InvalidParameterError
        If ``image_shape`` does not hold ``n_features`` pixels, or is None and
        ``n_features`` is not a square number.
    """
    if image_shape is None:
        side = math.isqrt(n_features)
        if side * side != n_features:
            raise param_error("image_shape", owner, f"given when the {n_features} features are not a square image "
                              "(shift_augment > 0 needs the image's height and width)", None)
        return side, side
    height, width = (int(v) for v in image_shape)
    if height * width != n_features:
        raise param_error("image_shape", owner, f"(height, width) with height * width = n_features = {n_features}",
                          tuple(image_shape))
    return height, width


def shift_images(X: np.ndarray, image_shape: tuple[int, int], max_shift: int, rng: np.random.Generator) -> np.ndarray:
    """Each row of ``X`` as an image shifted by a random ``(dy, dx)`` in ``[-max_shift, max_shift]``, zero-filled.

    Parameters
    ----------
    X : ndarray of shape (n_examples, height * width)
        Row-major images.
    image_shape : (int, int)
        ``(height, width)``.
    max_shift : int
        Largest shift along each axis, in pixels (>= 0).
    rng : numpy.random.Generator
        Draws the shifts: ``dy`` for every example, then ``dx``.

    Returns
    -------
    ndarray of shape (n_examples, height * width)
        A new array; pixels shifted in from outside the image are 0.
    """
    n = len(X)
    height, width = image_shape
    if max_shift == 0 or n == 0:
        return X.copy()
    dy = rng.integers(-max_shift, max_shift + 1, size=n)
    dx = rng.integers(-max_shift, max_shift + 1, size=n)
    out = np.empty((n, height * width), dtype=X.dtype)
    _shift_into(np.ascontiguousarray(X).reshape(n, height, width), dy, dx, out.reshape(n, height, width))
    return out


@cached_njit()
def _shift_into(images, dy, dx, out):
    """``out[i, r, c] = images[i, r - dy[i], c - dx[i]]`` where that pixel exists, else 0 (row by row: the
    columns that exist are one contiguous run)."""
    n, height, width = images.shape
    for i in range(n):
        lo, hi = max(0, dx[i]), min(width, width + dx[i])  # output columns whose source column exists
        for r in range(height):
            src = r - dy[i]
            row = out[i, r]
            if src < 0 or src >= height or lo >= hi:
                row[:] = 0
                continue
            row[:lo] = 0
            row[lo:hi] = images[i, src, lo - dx[i] : hi - dx[i]]
            row[hi:] = 0
