"""Solvers: everything that relaxes an :class:`~eqising.ising.IsingBatch`.

Installed as ``eqising.solvers``. Every solver follows the protocol of
:class:`Solver`; :func:`make_solver` builds one by registered name
(entry-point group ``eqising.solvers``), :func:`as_solver` resolves what
``solver=`` accepts (a name, a :class:`Solver`, any :class:`dimod.Sampler`).
"""

from __future__ import annotations

from .annealing import AnnealingSolver
from .base import Solver, SolverCapabilities, SpinSamples, add_costs
from .exact import ExactSolver, all_spin_states, boltzmann_distribution
from .memristor import MemristorDevice, MemristorSolver
from .ocean import AnnealingSampler, DimodSolver, DWaveMockSolver, DWaveSolver, NealSolver
from .registry import SOLVERS, as_solver, make_solver
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
    "as_solver",
    "all_spin_states",
    "boltzmann_distribution",
    "default_beta_range",
    "make_solver",
]
