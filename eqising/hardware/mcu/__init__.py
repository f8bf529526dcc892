"""Integer (int8) EqProp as a microcontroller runs it: model, engine, memory budget, C export.

See :mod:`.fixed` for the integer conventions, :mod:`.engine` for the
bit-exact numpy reference of the device, :mod:`.export` for the C library.
"""

from __future__ import annotations

from .engine import StepResult, infer, train_step
from .export import export_c
from .model import Int8Model, memory_budget

__all__ = ["Int8Model", "StepResult", "export_c", "infer", "memory_budget", "train_step"]
