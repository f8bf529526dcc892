"""Solvers: everything that relaxes an :class:`~eqising.ising.IsingBatch`.

Installed as ``eqising.solvers``. Every solver follows the protocol of
:class:`Solver`; :func:`make_solver` builds one by name.
"""

from __future__ import annotations

from typing import Any

from .._validation import make_registered
from .annealing import AnnealingSolver
from .base import Solver, SolverCapabilities, SpinSamples, add_costs
from .exact import ExactSolver, all_spin_states, boltzmann_distribution
from .memristor import MemristorDevice, MemristorSolver
from .ocean import AnnealingSampler, DimodSolver, DWaveMockSolver, DWaveSolver, NealSolver
from .schedule import SCHEDULE_DEFAULTS, AnnealSchedule, default_beta_range

__all__ = [
    "SCHEDULE_DEFAULTS",
    "SOLVERS",
    "AnnealSchedule",
    "AnnealingSampler",
    "AnnealingSolver",
    "DWaveMockSolver",
    "DWaveSolver",
    "DimodSolver",
    "ExactSolver",
    "MemristorDevice",
    "MemristorSolver",
    "NealSolver",
    "Solver",
    "SolverCapabilities",
    "SpinSamples",
    "add_costs",
    "all_spin_states",
    "boltzmann_distribution",
    "default_beta_range",
    "make_solver",
]

SOLVERS: dict[str, type[Solver]] = {
    cls.name: cls
    for cls in (AnnealingSolver, ExactSolver, MemristorSolver, DimodSolver, NealSolver, DWaveSolver, DWaveMockSolver)
}


def make_solver(name: Any, params: Any = None, owner: str = "make_solver") -> Solver:
    """Build the solver registered as ``name`` with constructor parameters ``params``.

    Raises
    ------
    InvalidParameterError
        For an unknown name, or a parameter the solver does not accept; the
        message names ``owner``.
    """
    return make_registered(SOLVERS, name, params, owner, "solver")
