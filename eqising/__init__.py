"""eqising: equilibrium propagation on Ising machines.

Train layered Ising networks with equilibrium propagation (EqProp), relaxed by
pluggable solvers (``eqising.solvers``).
"""

from __future__ import annotations

__version__ = "0.1.0"

from .datasets import Dataset, load_dataset  # noqa: E402
from .estimator import EqPropClassifier  # noqa: E402
from .ising import IsingBatch  # noqa: E402
from .network import LayeredIsingNetwork  # noqa: E402
from .persistence import load_model, save_model  # noqa: E402

__all__ = [
    "Dataset",
    "EqPropClassifier",
    "IsingBatch",
    "LayeredIsingNetwork",
    "__version__",
    "load_dataset",
    "load_model",
    "save_model",
]
