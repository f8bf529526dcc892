"""Comparing hardware targets: a grid of targets (solver x backend x parameters) x seeds on one split.

:func:`compare` (also ``eqising.compare`` and ``eqising compare`` on the
command line) runs one :class:`~eqising.EqPropClassifier` fit and score per
target and seed, paired by seed, in this process, on joblib worker processes
or on a dask cluster; it caches each finished run by a hash of its
configuration, and writes the runs (CSV, JSON), a summary (mean +- std over
seeds, paired differences to a reference with 95% intervals; JSON and
Markdown) and PNG plots.
"""

from __future__ import annotations

from .compare import Comparison, compare
from .targets import Skipped, Target, cross_targets, load_grid, plan, targets_from_dicts

__all__ = ["Comparison", "Skipped", "Target", "compare", "cross_targets", "load_grid", "plan", "targets_from_dicts"]
