"""The weight-backend registry (entry-point group ``eqising.backends``) and what ``backend=`` accepts."""

from __future__ import annotations

from typing import Any

from .._validation import param_error
from ..registry import Registry
from .base import WeightBackend

__all__ = ["BACKENDS", "as_backend", "make_backend"]

#: Registered weight backends by name, read from the ``eqising.backends`` entry points.
BACKENDS = Registry("eqising.backends", "backend", WeightBackend)


def make_backend(name: Any, params: Any = None, owner: str = "make_backend") -> WeightBackend:
    """Build the backend registered as ``name`` with constructor parameters ``params``.

    Raises
    ------
    InvalidParameterError
        For an unknown name, or a parameter the backend does not accept; the
        message names ``owner``.
    """
    return BACKENDS.make(name, params, owner)


def as_backend(value: Any, params: Any = None, owner: str = "as_backend") -> WeightBackend:
    """What ``backend=`` accepts, as a fresh :class:`WeightBackend`.

    A registered name is built with ``params``; an instance is copied with
    its parameters (``type(value)(**value.get_params())``), so fitting never
    changes the object the user passed. ``params`` must be None for an
    instance.
    """
    if isinstance(value, str):
        return make_backend(value, params, owner)
    if isinstance(value, WeightBackend):
        if params:
            raise param_error(
                "backend_params", owner,
                "None when 'backend' is an instance (set the parameters on the instance)", params,
            )
        return type(value)(**value.get_params())
    raise param_error("backend", owner, f"a registered name {BACKENDS.choices_text()} or a WeightBackend instance", value)
