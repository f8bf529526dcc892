"""Solvers: everything that relaxes an :class:`~eqising.ising.IsingBatch`.

Installed as ``eqising.solvers``. Every solver follows the protocol of
:class:`Solver`; :func:`make_solver` builds one by name.
"""

from __future__ import annotations

from typing import Any

from .._validation import check_choice, check_keys
from .annealing import AnnealingSolver, default_beta_range
from .dimod_solver import DimodSolver, NealSolver
from .dwave_mock import DWaveMockSolver
from .dwave_solver import DWaveSolver
from .base import AnnealSchedule, Solver, SolverCapabilities, SpinSamples, add_costs
from .exact import ExactSolver, all_spin_states, boltzmann_distribution

__all__ = [
    "AnnealSchedule",
    "AnnealingSolver",
    "DWaveMockSolver",
    "DWaveSolver",
    "DimodSolver",
    "ExactSolver",
    "NealSolver",
    "SOLVERS",
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
    for cls in (AnnealingSolver, ExactSolver, DimodSolver, NealSolver, DWaveSolver, DWaveMockSolver)
}


def make_solver(name: Any, params: Any = None, owner: str = "make_solver") -> Solver:
    """Build the solver registered as ``name`` with constructor parameters ``params``.

    Raises
    ------
    InvalidParameterError
        For an unknown name, or a parameter the solver does not accept; the
        message names ``owner``.
    """
    name = check_choice(name, "solver", owner, SOLVERS)
    cls = SOLVERS[name]
    return cls(**check_keys(params, "solver_params", owner, cls.parameters))
