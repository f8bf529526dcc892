"""Solvers: everything that relaxes an :class:`~eqising.ising.IsingBatch`.

Installed as ``eqising.solvers``. Every solver follows the protocol of
:class:`Solver`; :func:`make_solver` builds one by registered name
(entry-point group ``eqising.solvers``), :func:`as_solver` resolves what
``solver=`` accepts (a name, a :class:`Solver`, any :class:`dimod.Sampler`).
"""

from __future__ import annotations

from .ocean import AnnealingSampler, DimodSolver, DWaveMockSolver, DWaveSolver, NealSolver
from .annealing import AnnealingSolver, default_beta_range
from .base import AnnealSchedule, Solver, SolverCapabilities, SpinSamples, add_costs
from .exact import ExactSolver, all_spin_states, boltzmann_distribution
from .memristor import MemristorDevice, MemristorSolver
from .registry import SOLVERS, as_solver, make_solver

__all__ = [
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
    "SOLVERS",
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
