"""The int8 microcontroller: model, integer engine, training engine, backend, memory budget, C export.

See :mod:`.fixed` for the integer conventions, :mod:`.engine` for the
bit-exact numpy reference of the device, :mod:`.backend` for the
``mcu-int8`` weight backend and :mod:`.export` for the C library.
"""

from __future__ import annotations

from .backend import McuInt8Backend, int8_device_for
from .engine import StepResult, infer, train_step
from .export import export_c
from .model import Int8Model, memory_budget

__all__ = ["Int8Model", "McuInt8Backend", "StepResult", "export_c", "infer", "int8_device_for", "memory_budget", "train_step"]
