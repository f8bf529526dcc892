"""Weight backends: where a network's weights live and how updates are written.

Every backend follows :class:`WeightBackend`; :func:`make_backend` builds one
by name. ``ideal`` (float) is the default.
"""

from __future__ import annotations

from typing import Any

from .._validation import make_registered
from .base import COST_KEYS, WeightBackend, zero_cost
from .cbram import CONDUCTANCE_QUANTUM, CbramBackend
from .ecram import ECRAM_PRESETS, EcramBackend
from .ideal import IdealBackend
from .mcu import McuInt8Backend

__all__ = [
    "BACKENDS",
    "CONDUCTANCE_QUANTUM",
    "COST_KEYS",
    "ECRAM_PRESETS",
    "CbramBackend",
    "EcramBackend",
    "IdealBackend",
    "McuInt8Backend",
    "WeightBackend",
    "make_backend",
    "zero_cost",
]

BACKENDS: dict[str, type[WeightBackend]] = {cls.name: cls for cls in (IdealBackend, EcramBackend, CbramBackend, McuInt8Backend)}


def make_backend(name: Any, params: Any = None, owner: str = "make_backend") -> WeightBackend:
    """Build the backend registered as ``name`` with constructor parameters ``params``.

    Raises
    ------
    InvalidParameterError
        For an unknown name, or a parameter the backend does not accept; the
        message names ``owner``.
    """
    return make_registered(BACKENDS, name, params, owner, "backend")
