"""What a comparison runs: targets (a solver and a weight backend with their parameters) and their checks.

A :class:`Target` is a name and the :class:`~eqising.EqPropClassifier`
parameters it sets (``solver``, ``solver_params``, ``backend``,
``backend_params``, and any other, e.g. ``nudge``). Targets come from a
solver x backend cross product (:func:`cross_targets`) or from a grid file
(:func:`load_grid`, TOML or JSON). :func:`plan` checks every target before
any run starts (unknown parameters, names and values are errors) and sets
aside, with the reason, each target that asks its backend for a setting the
backend's :attr:`~eqising.hardware.WeightBackend.requirements` rule out.
"""

from __future__ import annotations

import itertools
import json
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .._validation import InvalidParameterError, param_error
from ..estimator import FOLLOWS_BACKEND, EqPropClassifier, _same
from ..hardware import as_backend

__all__ = ["OWNER", "Skipped", "Target", "cross_targets", "load_grid", "plan", "targets_from_dicts"]

OWNER = "eqising.compare"
#: The label of a target's solver part when its backend anneals in situ (requires ``solver=None``).
IN_SITU = "in-situ"


@dataclass(frozen=True)
class Target:
    """A solver and a weight backend with their parameters.

    Parameters
    ----------
    name : str
        Unique label of the target in tables and plots.
    params : dict of str to Any
        :class:`~eqising.EqPropClassifier` parameters this target sets; they
        override the comparison's common settings. Values must be plain
        JSON types (names, numbers, lists, dicts) so that a run can be
        cached by a hash of its configuration.
    """

    name: str
    params: dict[str, Any] = field(default_factory=dict)

    def estimator_params(self, settings: Mapping[str, Any]) -> dict[str, Any]:
        """The estimator parameters of this target over the common ``settings``."""
        return {**settings, **self.params}

    def estimator(self, settings: Mapping[str, Any], seed: int) -> EqPropClassifier:
        """A fresh estimator for this target with ``random_state=seed``."""
        return EqPropClassifier(**{**self.estimator_params(settings), "random_state": int(seed)})


@dataclass(frozen=True)
class Skipped:
    """A target that cannot run, and why (not an error: the comparison lists it)."""

    name: str
    params: dict[str, Any]
    reason: str


def _label(value: Any) -> str:
    return IN_SITU if value is None else str(value)


def _requirement_conflicts(params: Mapping[str, Any]) -> list[tuple[str, Any, Any, str]]:
    """``(parameter, required, given, backend name)`` for each explicit setting the backend rules out."""
    backend = as_backend(params.get("backend", "ideal"), params.get("backend_params"), OWNER)
    out = []
    for name, required in type(backend).requirements.items():
        if name not in params:
            continue
        given = params[name]
        if _same(given, required) or _same(given, FOLLOWS_BACKEND.get(name, required)):
            continue
        out.append((name, required, given, backend.name))
    return out


def _without(params: Mapping[str, Any], names: Iterable[str]) -> dict[str, Any]:
    """``params`` less ``names`` and their ``<name>_params`` companions (left to the backend)."""
    drop = set(names) | {f"{n}_params" for n in names}
    return {k: v for k, v in params.items() if k not in drop}


def cross_targets(
    solvers: Sequence[str],
    backends: Sequence[str],
    *,
    solver_params: Mapping[str, Any] | None = None,
    backend_params: Mapping[str, Any] | None = None,
) -> list[Target]:
    """Every solver on every backend, named ``'solver/backend'``.

    A backend whose requirements rule out a solver named here (a device that
    anneals in situ requires ``solver=None``) also gets, once, the target
    that leaves those settings to it (named ``'in-situ/<backend>'`` for a
    required ``None``); the crossed targets it rules out stay in the list
    and :func:`plan` reports them as skipped, with the reason.

    Parameters
    ----------
    solvers, backends : sequence of str
        Registered names (``eqising.solvers.SOLVERS``, ``eqising.hardware.BACKENDS``).
    solver_params, backend_params : dict or None
        Parameters given to every solver and every backend.

    Returns
    -------
    list of Target
        In the order solver-major, backend-minor; the first is the default reference.
    """
    for name, values in (("solvers", solvers), ("backends", backends)):
        if not values:
            raise param_error(name, OWNER, "a non-empty list of registered names", list(values))
    targets: list[Target] = []
    seen: set[str] = set()
    for solver in solvers:
        for backend in backends:
            params: dict[str, Any] = {"solver": solver, "backend": backend}
            if solver_params:
                params["solver_params"] = dict(solver_params)
            if backend_params:
                params["backend_params"] = dict(backend_params)
            conflicts = _requirement_conflicts(params)
            name = f"{solver}/{backend}"
            if conflicts:
                auto = _without(params, [c[0] for c in conflicts])
                required = dict((c[0], c[1]) for c in conflicts)
                auto_name = f"{_label(required.get('solver', solver))}/{backend}"
                if auto_name not in seen:
                    seen.add(auto_name)
                    targets.append(Target(auto_name, auto))
            if name not in seen:
                seen.add(name)
                targets.append(Target(name, params))
    return targets


def _expand(entry: Mapping[str, Any], where: str) -> list[Target]:
    """One grid-file entry as its targets (its ``grid`` table crossed, if any)."""
    entry = dict(entry)
    grid = entry.pop("grid", None)
    base_name = entry.pop("name", None)
    if base_name is not None and not isinstance(base_name, str):
        raise param_error(f"{where}.name", OWNER, "a str", base_name)
    if base_name is None:  # 'auto': the solver the estimator picks for the backend
        base_name = f"{entry.get('solver') or 'auto'}/{entry.get('backend', 'ideal')}"
    if grid is None:
        return [Target(base_name, entry)]
    if not isinstance(grid, Mapping) or not grid:
        raise param_error(f"{where}.grid", OWNER, "a non-empty table of parameter -> list of values", grid)
    axes = []
    for path, values in grid.items():
        if not isinstance(values, list) or not values:
            raise param_error(f"{where}.grid.{path}", OWNER, "a non-empty list of values", values)
        axes.append((str(path), values))
    out = []
    for combo in itertools.product(*(values for _, values in axes)):
        params = json.loads(json.dumps(entry))  # a deep copy of plain values
        labels = []
        for (path, _), value in zip(axes, combo):
            head, _, key = path.partition(".")
            if key:
                sub = params.get(head) or {}
                if not isinstance(sub, dict):
                    raise param_error(f"{where}.{head}", OWNER, f"a table when the grid sets {path!r}", sub)
                params[head] = {**sub, key: value}
            else:
                params[head] = value
            labels.append(f"{key or head}={value}")
        out.append(Target(f"{base_name}[{','.join(labels)}]", params))
    return out


def targets_from_dicts(entries: Sequence[Mapping[str, Any]], where: str = "targets") -> list[Target]:
    """Targets from plain entries, as in a grid file.

    Each entry holds estimator parameters, an optional ``name`` and an
    optional ``grid``: a table mapping a parameter (``'nudge'``) or a key of
    a parameter dict (``'backend_params.prune_ratio'``) to a list of
    values; the entry stands for every combination of them.
    """
    if not isinstance(entries, Sequence) or isinstance(entries, (str, bytes)) or not entries:
        raise param_error(where, OWNER, "a non-empty list of target tables", entries)
    out: list[Target] = []
    for i, entry in enumerate(entries):
        if isinstance(entry, Target):
            out.append(entry)
            continue
        if not isinstance(entry, Mapping):
            raise param_error(f"{where}[{i}]", OWNER, "a table of estimator parameters", entry)
        out.extend(_expand(entry, f"{where}[{i}]"))
    return out


def load_grid(path: str | Path) -> tuple[dict[str, Any], list[Target]]:
    """Read a grid file: common ``settings`` and named ``targets`` (TOML, or JSON for ``.json``).

    TOML::

        [settings]                      # estimator parameters of every target
        hidden_layer_sizes = [16]

        [[targets]]
        name = "cbram"
        backend = "cbram"
        grid = { "backend_params.prune_ratio" = [0.1, 0.3], nudge = [1.0, 2.0] }

    JSON has the same shape: ``{"settings": {...}, "targets": [{...}, ...]}``.

    Returns
    -------
    settings : dict
    targets : list of Target

    Raises
    ------
    InvalidParameterError
        For a missing file, a file that does not parse, unknown top-level
        keys, or no targets.
    """
    path = Path(path)
    try:
        text = path.read_bytes()
    except OSError as exc:
        raise param_error("grid", OWNER, "a readable TOML or JSON file", str(path)) from exc
    try:
        if path.suffix.lower() == ".json":
            data = json.loads(text)
        else:
            if sys.version_info >= (3, 11):
                import tomllib
            else:  # pragma: no cover
                import tomli as tomllib
            data = tomllib.loads(text.decode("utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:  # JSONDecodeError and TOMLDecodeError are ValueErrors
        kind = "JSON" if path.suffix.lower() == ".json" else "TOML"
        raise InvalidParameterError(
            f"The 'grid' parameter of {OWNER} must be a file that parses as {kind}. "
            f"Got {str(path)!r}, which does not: {exc}"
        ) from exc
    if not isinstance(data, dict):
        raise param_error("grid", OWNER, "a table with 'targets' (and optional 'settings')", type(data).__name__)
    unknown = sorted(set(data) - {"settings", "targets"})
    if unknown:
        raise param_error("grid", OWNER, "a table with only the keys 'settings' and 'targets'", unknown)
    settings = data.get("settings", {})
    if not isinstance(settings, dict):
        raise param_error("grid.settings", OWNER, "a table of estimator parameters", settings)
    return settings, targets_from_dicts(data.get("targets", []), "grid.targets")


def _check_keys(params: Mapping[str, Any], where: str, allowed: set[str]) -> None:
    unknown = sorted(set(params) - allowed)
    if unknown:
        raise param_error(where, OWNER, f"EqPropClassifier parameters (one of {sorted(allowed)})", unknown)


def plan(targets: Sequence[Target], settings: Mapping[str, Any]) -> tuple[list[Target], list[Skipped]]:
    """Check every target before any run; return those that run and those skipped, with the reason.

    Each target is built into an estimator and checked as a fit would check
    it (``_validate_params`` then ``_resolve``: names, solver and backend
    parameters, the backend's requirements), so a bad grid fails here, not
    after hours of runs. A target that explicitly sets what its backend's
    :attr:`~eqising.hardware.WeightBackend.requirements` rule out (a solver
    for a device that anneals in situ) is skipped with the reason.

    Raises
    ------
    InvalidParameterError
        For no targets, duplicate names, an unknown parameter, solver or
        backend, or a value the estimator refuses; the message names the target.
    """
    if not targets:
        raise param_error("targets", OWNER, "a non-empty list of targets", list(targets))
    allowed = set(EqPropClassifier().get_params(deep=False)) - {"random_state"}
    _check_keys(settings, "settings", allowed)
    names = [t.name for t in targets]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise param_error("targets", OWNER, "targets with distinct names", duplicates)
    runnable: list[Target] = []
    skipped: list[Skipped] = []
    for target in targets:
        if not isinstance(target, Target):
            raise param_error("targets", OWNER, "Target objects", target)
        _check_keys(target.params, f"targets[{target.name!r}]", allowed)
        params = target.estimator_params(settings)
        try:
            json.dumps(params)
        except TypeError as exc:
            raise param_error(f"targets[{target.name!r}]", OWNER, "parameters of plain JSON types "
                              "(names, numbers, lists, dicts)", params) from exc
        try:
            conflicts = _requirement_conflicts(params)
            if conflicts:
                name, required, given, backend = conflicts[0]
                skipped.append(Skipped(target.name, dict(target.params),
                                       f"backend {backend!r} requires {name}={required!r}; the target sets {given!r}"))
                continue
            clf = target.estimator(settings, 0)
            clf._validate_params()
            clf._resolve()
        except InvalidParameterError as exc:
            raise InvalidParameterError(f"Target {target.name!r} of {OWNER}: {exc}") from exc
        runnable.append(target)
    return runnable, skipped
