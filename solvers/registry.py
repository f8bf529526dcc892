"""The solver registry (entry-point group ``eqising.solvers``) and what ``solver=`` accepts."""

from __future__ import annotations

from typing import Any

from .._validation import param_error
from ..registry import Registry
from .base import Solver

__all__ = ["SOLVERS", "as_solver", "make_solver"]

#: Registered solvers by name, read from the ``eqising.solvers`` entry points.
SOLVERS = Registry("eqising.solvers", "solver", Solver)


def make_solver(name: Any, params: Any = None, owner: str = "make_solver") -> Solver:
    """Build the solver registered as ``name`` with constructor parameters ``params``.

    Raises
    ------
    InvalidParameterError
        For an unknown name, or a parameter the solver does not accept; the
        message names ``owner``.
    """
    return SOLVERS.make(name, params, owner)


def is_dimod_sampler(value: Any) -> bool:
    """Whether ``value`` is a :class:`dimod.Sampler` instance (not a class)."""
    import dimod

    return isinstance(value, dimod.Sampler)


def as_solver(value: Any, params: Any = None, owner: str = "as_solver") -> Solver:
    """What ``solver=`` accepts, as a :class:`Solver`.

    Parameters
    ----------
    value : str, Solver or dimod.Sampler
        A registered name (built with ``params``), a :class:`Solver` instance
        (used as it is), or any :class:`dimod.Sampler` instance (wrapped in
        the ``dimod`` solver, one BQM per problem).
    params : dict or None
        Constructor parameters for a name; must be None for an instance
        (set them on the instance instead).
    """
    if isinstance(value, str):
        return make_solver(value, params, owner)
    if isinstance(value, Solver) or is_dimod_sampler(value):
        if params:
            raise param_error(
                "solver_params", owner,
                "None when 'solver' is an instance (set the parameters on the instance)", params,
            )
        return value if isinstance(value, Solver) else make_solver("dimod", {"sampler": value}, owner)
    raise param_error(
        "solver", owner, f"a registered name {SOLVERS.choices_text()}, a Solver or a dimod.Sampler instance", value
    )
