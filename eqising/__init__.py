"""eqising: equilibrium propagation on Ising machines.

Train layered Ising networks with equilibrium propagation (EqProp), relaxed by
pluggable solvers (``eqising.solvers``).
"""

from __future__ import annotations

__version__ = "0.1.0"

# Installed, solvers/ is the subpackage eqising.solvers (pyproject maps it). Imported from a source
# checkout without an editable install, solvers/ sits beside this folder: look for it there too.
import os as _os  # noqa: E402

_root = _os.path.dirname(_os.path.abspath(__path__[0]))
if not _os.path.isdir(_os.path.join(__path__[0], "solvers")) and _os.path.isfile(
    _os.path.join(_root, "solvers", "__init__.py")
):
    __path__.append(_root)
del _os, _root

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
