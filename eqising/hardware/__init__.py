"""Weight backends: where a network's weights live and how updates are written.

Every backend follows :class:`WeightBackend`; :func:`make_backend` builds one
by registered name (entry-point group ``eqising.backends``), :func:`as_backend`
resolves what ``backend=`` accepts (a name or a :class:`WeightBackend`). ``ideal`` (float) is the default.
"""

from __future__ import annotations

from .base import COST_KEYS, WeightBackend, zero_cost
from .cbram import CONDUCTANCE_QUANTUM, CbramBackend
from .ecram import ECRAM_PRESETS, EcramBackend
from .ideal import IdealBackend
from .mcu import McuInt8Backend
from .registry import BACKENDS, as_backend, make_backend
from .write_verify import WriteVerifyReport, write_verify

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
    "WriteVerifyReport",
    "as_backend",
    "make_backend",
    "write_verify",
    "zero_cost",
]
