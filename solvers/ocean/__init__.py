"""Ocean and D-Wave: dimod samplers as solvers, our annealer as a sampler, the QPU and its mock.

- :class:`DimodSolver` / :class:`NealSolver`: any :class:`dimod.Sampler` (neal by default), one BQM per problem;
- :class:`AnnealingSampler`: eqising's compiled annealer as a :class:`dimod.Sampler` for plain Ocean code;
- :class:`DWaveSolver`: a D-Wave QPU through ``dwave-system`` on a fixed, cached embedding;
- :class:`DWaveMockSolver`: the same path offline, on ``MockDWaveSampler`` with an emulator that samples.
"""

from __future__ import annotations

from .anneal_sampler import AnnealingSampler
from .dimod_solver import DimodSolver, NealSolver, load_sampler
from .dwave_mock import AnnealEmulator, DWaveMockSolver
from .dwave_solver import DWaveSolver, DWaveTimeoutError, DWaveUnavailableError

__all__ = [
    "AnnealEmulator",
    "AnnealingSampler",
    "DWaveMockSolver",
    "DWaveSolver",
    "DWaveTimeoutError",
    "DWaveUnavailableError",
    "DimodSolver",
    "NealSolver",
    "load_sampler",
]
