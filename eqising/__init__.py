"""eqising: equilibrium propagation on Ising machines.

Train layered Ising networks with equilibrium propagation (EqProp), relaxed by
pluggable solvers (``eqising.solvers``).
"""

from __future__ import annotations

__version__ = "0.1.0"

from .comparison import compare
from .datasets import Dataset, load_dataset
from .estimator import EqPropClassifier
from .ising import IsingBatch
from .network import LayeredIsingNetwork
from .persistence import load_model, save_model

__all__ = [
    "Dataset",
    "EqPropClassifier",
    "IsingBatch",
    "LayeredIsingNetwork",
    "__version__",
    "compare",
    "load_dataset",
    "load_model",
    "save_model",
]
