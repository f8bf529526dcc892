"""Shared validation helpers: one error type, one message template.

Every public edge of eqising (estimator, solvers, loaders, CLI) validates its
inputs through these helpers so that all errors read the same way::

    The 'x' parameter of Owner must be <what is allowed>. Got <value> instead.

This is scikit-learn's own template, so errors from the estimator's
``_parameter_constraints`` (checked by scikit-learn) and from every other
edge of eqising read the same way and are the same class,
:class:`InvalidParameterError`. Inner kernels never re-validate.
"""

from __future__ import annotations

import numbers
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
from sklearn.utils._param_validation import InvalidParameterError  # the one error class

__all__ = [
    "Described",
    "InvalidParameterError",
    "check_choice",
    "check_finite_array",
    "check_float",
    "check_int",
    "check_keys",
    "param_error",
]


InvalidParameterError.__doc__ = (
    "Raised when a parameter has a wrong type or value (scikit-learn's class: a ValueError and a TypeError)."
)


class Described(str):
    """A description of a received value (e.g. ``array of shape (2,)``), shown unquoted in errors."""

    __repr__ = str.__str__


def _short_repr(value: Any, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def param_error(name: str, owner: str, expected: str, value: Any) -> InvalidParameterError:
    """Build the error for parameter ``name`` of ``owner`` with the house template."""
    return InvalidParameterError(
        f"The {name!r} parameter of {owner} must be {expected}. Got {_short_repr(value)} instead."
    )


def _bounds_text(low: float | None, high: float | None, low_open: bool, high_open: bool) -> str:
    parts = []
    if low is not None:
        parts.append(f"{'>' if low_open else '>='} {low}")
    if high is not None:
        parts.append(f"{'<' if high_open else '<='} {high}")
    return " and ".join(parts)


def check_int(
    value: Any, name: str, owner: str, *, low: int | None = None, high: int | None = None
) -> int:
    """Return ``value`` as ``int`` if it is an integer within ``[low, high]``."""
    bounds = _bounds_text(low, high, False, False)
    expected = "an int" + (f" {bounds}" if bounds else "")
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise param_error(name, owner, expected, value)
    value = int(value)
    if (low is not None and value < low) or (high is not None and value > high):
        raise param_error(name, owner, expected, value)
    return value


def check_float(
    value: Any,
    name: str,
    owner: str,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
) -> float:
    """Return ``value`` as a finite ``float`` within the given bounds."""
    bounds = _bounds_text(low, high, low_open, high_open)
    expected = "a finite float" + (f" {bounds}" if bounds else "")
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise param_error(name, owner, expected, value)
    value = float(value)
    if not np.isfinite(value):
        raise param_error(name, owner, expected, value)
    if low is not None and (value < low or (low_open and value == low)):
        raise param_error(name, owner, expected, value)
    if high is not None and (value > high or (high_open and value == high)):
        raise param_error(name, owner, expected, value)
    return value


def check_choice(value: Any, name: str, owner: str, choices: Iterable[str]) -> str:
    """Return ``value`` if it is one of ``choices`` (strings)."""
    choices = sorted(choices)
    if not isinstance(value, str) or value not in choices:
        raise param_error(name, owner, "one of {" + ", ".join(map(repr, choices)) + "}", value)
    return value


def check_keys(mapping: Any, name: str, owner: str, allowed: Iterable[str]) -> dict:
    """Return ``mapping`` as a dict if it is None or a mapping whose keys are all allowed."""
    allowed = sorted(allowed)
    allowed_text = "{" + ", ".join(map(repr, allowed)) + "}"
    if mapping is None:
        return {}
    if not isinstance(mapping, Mapping):
        raise param_error(name, owner, f"None or a dict with keys from {allowed_text}", mapping)
    unknown = sorted(str(k) for k in mapping if k not in allowed)
    if unknown:
        raise InvalidParameterError(
            f"The {name!r} parameter of {owner} must be a dict with keys from {allowed_text}. "
            f"Got unknown key(s) {unknown} instead."
        )
    return dict(mapping)


def check_finite_array(
    value: Any,
    name: str,
    owner: str,
    *,
    ndim: int | None = None,
    shape: tuple[int | None, ...] | None = None,
    dtype: Any = np.float64,
) -> np.ndarray:
    """Return ``value`` as a contiguous array of ``dtype`` after checking shape and finiteness.

    ``shape`` may contain ``None`` for free dimensions.
    """
    if (type(value) is np.ndarray and value.dtype == dtype and value.dtype.kind == "f" and value.flags.c_contiguous
            and (value.shape == shape or (shape is None and (ndim is None or value.ndim == ndim)))):
        if not np.isfinite(value).all():  # the common case, an array that already fits, checked in one pass
            raise param_error(name, owner, "an array of finite numbers (no NaN or inf)",
                              Described("an array containing NaN or inf"))
        return value
    try:
        arr = np.asarray(value)
    except (TypeError, ValueError) as exc:  # ragged input
        raise param_error(name, owner, "an array of numbers", value) from exc
    if arr.dtype.kind not in "biuf":
        raise param_error(name, owner, f"a numeric array (dtype {arr.dtype} is not)", value)
    if shape is not None:
        ndim = len(shape)
    if ndim is not None and arr.ndim != ndim:
        want = "(" + ", ".join("n" if s is None else str(s) for s in shape) + ")" if shape else f"{ndim}-d"
        raise param_error(name, owner, f"an array of shape {want}", Described(f"array of shape {arr.shape}"))
    if shape is not None and any(w is not None and w != a for w, a in zip(shape, arr.shape)):
        want = "(" + ", ".join("n" if s is None else str(s) for s in shape) + ")"
        raise param_error(name, owner, f"an array of shape {want}", Described(f"array of shape {arr.shape}"))
    arr = np.ascontiguousarray(arr, dtype=dtype)
    if arr.dtype.kind == "f" and not np.all(np.isfinite(arr)):
        raise param_error(name, owner, "an array of finite numbers (no NaN or inf)", Described("an array containing NaN or inf"))
    return arr
