"""numba's on-disk cache for eqising's kernels, kept outside the installed package.

``numba.njit(cache=True)`` writes its index and object files (``*.nbi``, ``*.nbc``) into the
``__pycache__`` folder beside the module. Installed, that is inside site-packages, and
``pip uninstall`` does not know these files: it leaves ``site-packages/eqising/`` behind without
an ``__init__.py``, a namespace package that then shadows a later editable install.

:func:`cached_njit` compiles like ``numba.njit`` and caches the compiled code under a per-user
folder instead (see :func:`cache_root`)::

    <cache root>/numba/eqising-<version>-py<XY>-numba<version>/<module>-<hash of its full path>/

so two checkouts or environments never share an index, and an uninstall leaves nothing in
site-packages. The cache is set up on first compilation, not at import. When the folder cannot
be created or written, kernels compile in every process instead (no caching, no error).
``NUMBA_CACHE_DIR``, where the user set it, is honoured as numba does it.

No process-wide numba setting is changed: the cache is attached to each of our dispatchers only
(``numba.config`` and numba's default locator list stay as they are).

:class:`CompileLog` records the compilations of a block (what a fresh cache costs, and any kernel
compiled twice): ``benchmarks/bench_compile.py`` and the tests use it.
"""

from __future__ import annotations

import hashlib
import os
import sys
import time
from collections.abc import Callable
from typing import Any

import numba
from numba.core import event
from numba.core.caching import (
    CompileResultCacheImpl,
    FunctionCache,
    NullCache,
    UserProvidedCacheLocator,
    _CacheLocator,
    _SourceFileBackedLocatorMixin,
)
from numba.core.dispatcher import Dispatcher

from . import __version__

__all__ = ["CompileLog", "cache_root", "cached_njit"]


def cache_root() -> str:
    """eqising's per-user cache folder.

    ``$EQISING_CACHE_DIR``, else ``$XDG_CACHE_HOME/eqising``, else ``~/.cache/eqising``.
    """
    explicit = os.environ.get("EQISING_CACHE_DIR")
    if explicit:
        return os.path.abspath(os.path.expanduser(explicit))
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = xdg if xdg and os.path.isabs(xdg) else os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "eqising")


def _cache_dir(py_file: str) -> str:
    """The folder of one source file's kernels (see the module docstring)."""
    build = "eqising-{}-py{}{}{}-numba{}".format(
        __version__, sys.version_info[0], sys.version_info[1], getattr(sys, "abiflags", ""), numba.__version__
    )
    path = os.path.abspath(py_file)
    stem = os.path.splitext(os.path.basename(path))[0]
    digest = hashlib.sha256(path.encode("utf-8", "surrogatepass")).hexdigest()[:20]
    return os.path.join(cache_root(), "numba", build, f"{stem}-{digest}")


class _UserCacheLocator(_SourceFileBackedLocatorMixin, _CacheLocator):
    """Locates a function's cache in :func:`_cache_dir` of its source file.

    ``from_function`` (from the mixin) returns None when the source file does not exist or the
    folder cannot be created or written, so caching is then off for that function.
    """

    def __init__(self, py_func: Callable, py_file: str) -> None:
        self._py_file = py_file
        self._lineno = py_func.__code__.co_firstlineno
        self._cache_path = _cache_dir(py_file)

    def get_cache_path(self) -> str:
        return self._cache_path


class _CacheImpl(CompileResultCacheImpl):
    _locator_classes = [UserProvidedCacheLocator, _UserCacheLocator]


class _FunctionCache(FunctionCache):
    """numba's function cache with our locators; a write that fails skips caching.

    numba's index key holds the signature, the CPU and the bytecode but not the compile options, so
    code compiled under other options (an older eqising's, or flags inherited from a caller) would be
    loaded again; the options given to :func:`cached_njit` are part of our key.
    """

    _impl_class = _CacheImpl

    def __init__(self, py_func: Callable, options_key: str) -> None:
        super().__init__(py_func)
        self._options_key = options_key

    def _index_key(self, sig: Any, codegen: Any) -> tuple:
        return (*super()._index_key(sig, codegen), self._options_key)

    def save_overload(self, sig: Any, data: Any) -> None:
        try:
            super().save_overload(sig, data)
        except OSError:  # the folder went away or became read-only: keep the compiled code
            pass


class _LazyCache:
    """Builds the dispatcher's cache on first use (no file-system work at import).

    Falls back to numba's ``NullCache`` (compile every process) when no locator can be used.
    Implements the interface of ``numba.core.caching._Cache`` that the dispatcher calls.
    """

    def __init__(self, py_func: Callable, options_key: str) -> None:
        self._py_func, self._options_key = py_func, options_key
        self._cache: Any = None

    def _get(self) -> Any:
        if self._cache is None:
            try:
                self._cache = _FunctionCache(self._py_func, self._options_key)
            except (RuntimeError, OSError):  # "no locator available": caching off, not an error
                self._cache = NullCache()
        return self._cache

    @property
    def cache_path(self) -> str | None:
        return self._get().cache_path

    def load_overload(self, sig: Any, target_context: Any) -> Any:
        return self._get().load_overload(sig, target_context)

    def save_overload(self, sig: Any, data: Any) -> None:
        self._get().save_overload(sig, data)

    def enable(self) -> None:
        self._get().enable()

    def disable(self) -> None:
        self._get().disable()

    def flush(self) -> None:
        self._get().flush()


def _stable_repr(value: Any) -> str:
    """``repr`` that is the same in every process (a set's order depends on string hashing)."""
    return repr(sorted(value)) if isinstance(value, (set, frozenset)) else repr(value)


def cached_njit(**options: Any) -> Callable[[Callable], Any]:
    """``numba.njit(**options)`` with the compiled code cached in :func:`cache_root`.

    Use it instead of ``numba.njit(cache=True, ...)``::

        @cached_njit(parallel=True)
        def kernel(...): ...

    ``cache`` is not an option here (caching is what this decorator adds). ``fastmath``
    defaults to ``False`` *explicitly*: numba otherwise lets a function inherit the fast-math
    flags of the first caller that compiles it (numba issue #7168), so a shared core compiled
    first from inside a fast-math kernel would contract its products into FMAs, and the bits of
    every later call, cached on disk, would depend on which caller came first.
    """
    if "cache" in options:
        raise TypeError("cached_njit() caches already; do not pass cache=")
    options.setdefault("fastmath", False)
    options_key = repr(sorted((name, _stable_repr(value)) for name, value in options.items()))

    def decorate(func: Callable) -> Any:
        dispatcher = numba.njit(**options)(func)
        if isinstance(dispatcher, Dispatcher):  # NUMBA_DISABLE_JIT=1 returns the plain function
            dispatcher._cache = _LazyCache(dispatcher.py_func, options_key)  # what Dispatcher.enable_caching sets
        return dispatcher

    return decorate


class CompileLog(event.Listener):
    """Every numba compilation while the ``with`` block runs (what a fresh cache's first run pays for).

    Attributes
    ----------
    own : dict of str to float
        Per function (``module.qualname``), its compile seconds, less those of the functions it compiled
        while compiling (they are counted as theirs).
    compiles : dict of str to list of [str, str]
        Per function, one ``[owner, argument types]`` per compilation: ``owner`` is the innermost eqising
        function being compiled around it (the function itself if none).
    """

    def __init__(self) -> None:
        self.own: dict[str, float] = {}
        self.compiles: dict[str, list[list[str]]] = {}
        self._stack: list[list[Any]] = []

    def __enter__(self) -> CompileLog:
        self._installed = event.install_listener("numba:compile", self)
        self._installed.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self._installed.__exit__(*exc)

    def on_start(self, ev: event.Event) -> None:
        func = ev.data["dispatcher"].py_func
        self._stack.append([f"{func.__module__}.{func.__qualname__}", time.perf_counter(), 0.0])

    def on_end(self, ev: event.Event) -> None:
        name, start, inner = self._stack.pop()
        seconds = time.perf_counter() - start
        self.own[name] = self.own.get(name, 0.0) + seconds - inner
        owner = next((s[0] for s in reversed(self._stack) if s[0].startswith("eqising.")), name)
        self.compiles.setdefault(name, []).append([owner, str(ev.data["args"])])
        if self._stack:
            self._stack[-1][2] += seconds
