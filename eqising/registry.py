"""Registries of solvers and weight backends, filled by entry points.

eqising's own solvers and backends are declared as entry points in its
``pyproject.toml``, exactly as a third-party package declares its own::

    [project.entry-points."eqising.solvers"]
    my-machine = "my_package.solver:MyMachineSolver"

    [project.entry-points."eqising.backends"]
    my-crossbar = "my_package.crossbar:MyCrossbarBackend"

After ``pip install my_package``, ``EqPropClassifier(solver="my-machine")``
and ``eqising train --solver my-machine`` find it. A name's module is imported
only when that name is used. The same object also resolves what users pass
as ``solver=`` / ``backend=``: a registered name, or an instance
(:func:`resolve`), and turns objects back into names or import paths for a
saved model (:func:`describe`) and those into objects again under a trust
rule (:func:`build_described`).
"""

from __future__ import annotations

import importlib
import importlib.metadata
from collections.abc import Iterator, Mapping
from typing import Any

from ._validation import Described, check_keys, param_error

__all__ = ["Registry", "UntrustedModuleError", "check_trusted", "import_path", "import_object"]

#: Module prefixes a model file may name without the caller allowing them:
#: eqising itself and the dimod samplers it depends on.
TRUSTED_MODULES = ("eqising", "dimod", "dwave.samplers")


class UntrustedModuleError(ValueError):
    """A file names a module the caller did not allow to be imported."""


class Registry(Mapping[str, type]):
    """Names of one kind of component (solvers or backends) and their classes.

    A read-only mapping from registered name to class, filled from the entry
    point ``group`` (re-read when a name is not found, so a package installed
    while Python runs is found too).

    Parameters
    ----------
    group : str
        Entry-point group, e.g. ``'eqising.solvers'``.
    kind : str
        The parameter this registry resolves (``'solver'`` or ``'backend'``).
    base : type
        The class every registered class must subclass.
    """

    def __init__(self, group: str, kind: str, base: type) -> None:
        self.group, self.kind, self.base = group, kind, base
        self._points: dict[str, importlib.metadata.EntryPoint] | None = None
        self._classes: dict[str, type] = {}

    def _scan(self) -> dict[str, importlib.metadata.EntryPoint]:
        points: dict[str, importlib.metadata.EntryPoint] = {}
        for point in importlib.metadata.entry_points(group=self.group):
            points.setdefault(point.name, point)  # the first on sys.path wins, as for imports
        self._points = points
        return points

    def refresh(self) -> None:
        """Forget what was read; the next lookup reads the entry points again."""
        self._points = None
        self._classes.clear()

    def _names(self) -> dict[str, importlib.metadata.EntryPoint]:
        return self._points if self._points is not None else self._scan()

    def __getitem__(self, name: str) -> type:
        if name in self._classes:
            return self._classes[name]
        points = self._names()
        if name not in points:
            points = self._scan()
        if name not in points:
            raise KeyError(name)
        cls = points[name].load()
        if not (isinstance(cls, type) and issubclass(cls, self.base)):
            raise TypeError(
                f"The entry point {name!r} of group {self.group!r} must name a subclass of "
                f"{self.base.__name__}. Got {cls!r} instead."
            )
        self._classes[name] = cls
        return cls

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and (name in self._names() or name in self._scan())

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self._names()))

    def __len__(self) -> int:
        return len(self._names())

    def name_of(self, cls: type) -> str | None:
        """The registered name of ``cls`` (the class itself, not a subclass), or None."""
        for name in self:
            point = self._names()[name]
            if point.value == import_path(cls) or self._classes.get(name) is cls:
                return name
        return None

    def choices_text(self) -> str:
        return "{" + ", ".join(map(repr, self)) + "}"

    def make(self, name: Any, params: Any, owner: str) -> Any:
        """Build ``self[name](**params)``; the name and the keys of ``params`` are checked.

        Raises
        ------
        InvalidParameterError
            For an unknown name (the message lists the registered ones) or a
            key the class does not accept (parameter ``f'{kind}_params'``).
        """
        if not isinstance(name, str) or name not in self:
            raise param_error(self.kind, owner, f"one of {self.choices_text()}", name)
        cls = self[name]
        return cls(**check_keys(params, f"{self.kind}_params", owner, cls.parameters))


def import_path(obj: Any) -> str:
    """``'module:QualifiedName'`` of a class (or of an instance's class)."""
    cls = obj if isinstance(obj, type) else type(obj)
    return f"{cls.__module__}:{cls.__qualname__}"


def check_trusted(path: str, trust: Any, name: str, owner: str) -> str:
    """Return the module of ``'module:Name'`` if it may be imported, else raise.

    A module is trusted when it is, or is inside, one of :data:`TRUSTED_MODULES`
    or one of the caller's ``trust`` entries (module names).

    Raises
    ------
    UntrustedModuleError
        Naming the parameter, the module and how to allow it; nothing is imported.
    """
    module, sep, qualname = str(path).partition(":")
    if not sep or not module or not qualname:
        raise param_error(name, owner, "a 'module:Class' import path", path)
    allowed = (*TRUSTED_MODULES, *(trust or ()))
    if not any(module == prefix or module.startswith(prefix + ".") for prefix in allowed):
        raise UntrustedModuleError(
            f"The {name!r} entry of {owner} names module {module!r}, which was not allowed: importing it "
            f"would run its code. Pass trust=[{module.split('.')[0]!r}] (CLI: --trust "
            f"{module.split('.')[0]}) if you trust it; allowed now: {list(allowed)}."
        )
    return module


def import_object(path: str, name: str, owner: str, *, trust: Any = None) -> Any:
    """Import ``'module:Qualified.Name'`` after :func:`check_trusted`."""
    module = check_trusted(path, trust, name, owner)
    obj: Any = importlib.import_module(module)
    try:
        for part in str(path).partition(":")[2].split("."):
            obj = getattr(obj, part)
    except AttributeError as exc:
        raise param_error(name, owner, "an import path that exists", Described(repr(path))) from exc
    return obj
