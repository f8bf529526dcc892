"""Weight backends: where a network's weights live and how updates are written.

Every backend follows :class:`WeightBackend`; :func:`make_backend` builds one
by name. ``ideal`` (float) is the default.
"""

from __future__ import annotations

from typing import Any

from .._validation import check_choice, check_keys
from .base import COST_KEYS, WeightBackend, zero_cost
from .ideal import IdealBackend
from .mcu_int8 import McuInt8Backend

__all__ = ["BACKENDS", "COST_KEYS", "IdealBackend", "McuInt8Backend", "WeightBackend", "make_backend", "zero_cost"]

BACKENDS: dict[str, type[WeightBackend]] = {cls.name: cls for cls in (IdealBackend, McuInt8Backend)}


def make_backend(name: Any, params: Any = None, owner: str = "make_backend") -> WeightBackend:
    """Build the backend registered as ``name`` with constructor parameters ``params``.

    Raises
    ------
    InvalidParameterError
        For an unknown name, or a parameter the backend does not accept; the
        message names ``owner``.
    """
    name = check_choice(name, "backend", owner, BACKENDS)
    cls = BACKENDS[name]
    return cls(**check_keys(params, "backend_params", owner, cls.parameters))
