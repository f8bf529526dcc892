"""Files written whole or not at all, folders locked against a second writer, output paths checked early.

Every file eqising writes goes through :func:`write_file`: the bytes go to a
temporary file beside the target (created with mode ``0o666`` less the
umask, like any ordinary file), are flushed to disk, and the temporary file
is renamed over the target; the folder is synced after the rename. A crash
leaves the old file or the new one, never a mix, and at worst a stray
``.NAME.*.tmp`` that the next writer of the folder removes.

:func:`folder_lock` holds an exclusive ``fcntl.flock`` on a folder (on the
folder itself, so no lock file is left behind) while a writer works in it;
a second process that tries to write there is refused with
:class:`FolderBusyError` instead of interleaving its files with the first
one's. The lock is re-entrant within a process.

:func:`interrupts_deferred` holds a Ctrl-C (SIGINT) back until a block of
work is over: a save serialises its arrays with :mod:`zipfile`, which a
``KeyboardInterrupt`` in the middle leaves half-built (its finaliser then
prints a traceback), so a save runs whole and the interrupt comes after it.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import threading
from collections.abc import Iterator
from pathlib import Path

try:  # POSIX only; elsewhere folders are not locked
    import fcntl
except ImportError:  # pragma: no cover
    fcntl = None  # type: ignore[assignment]

__all__ = ["FolderBusyError", "check_output_folder", "folder_lock", "interrupts_deferred", "remove_stale_temporaries",
           "sync_folder", "write_file"]

_TMP_SUFFIX = ".tmp"
_HELD: dict[str, list[int]] = {}  # real path -> [folder fd, depth]
_HELD_GUARD = threading.RLock()


class FolderBusyError(OSError):
    """Another process is writing into the folder (it holds the folder's lock)."""


def sync_folder(folder: Path) -> None:
    """Flush a folder's entries (renames, new files) to disk; a no-op where folders cannot be opened."""
    try:
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:  # pragma: no cover (e.g. Windows)
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextlib.contextmanager
def interrupts_deferred() -> Iterator[None]:
    """Hold SIGINT (Ctrl-C) back while the block runs, then deliver it.

    On the main thread the block runs with a SIGINT handler that only notes the
    signal; afterwards the previous handler is put back and, if a SIGINT came,
    it is raised again (:func:`signal.raise_signal`), so Python's default
    handler raises ``KeyboardInterrupt`` right after the block, a handler of the
    caller's own runs, and an ignored SIGINT stays ignored. Elsewhere (signal
    handlers can only be set on the main thread) the block runs as it is.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    pending: list[int] = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: pending.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        if pending:
            signal.raise_signal(signal.SIGINT)


def write_file(path: str | os.PathLike, data: bytes, *, sync: bool = True) -> None:
    """Write ``data`` to ``path`` atomically: a temporary file beside it, flushed, then renamed over it.

    The file gets the permissions of any new file (``0o666`` less the umask).
    On any error the temporary file is removed and the target is untouched.
    """
    path = Path(path)
    tmp = path.parent / f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}{_TMP_SUFFIX}"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    try:
        try:
            view = memoryview(data)
            while view:
                written = os.write(fd, view)
                view = view[written:]
            if sync:
                os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    if sync:
        sync_folder(path.parent)


def remove_stale_temporaries(folder: Path) -> None:
    """Remove the ``.NAME.*.tmp`` files a killed writer left in ``folder`` (call it holding the folder's lock)."""
    for entry in folder.glob(f".*{_TMP_SUFFIX}"):
        with contextlib.suppress(OSError):
            entry.unlink()


@contextlib.contextmanager
def folder_lock(folder: str | os.PathLike, owner: str) -> Iterator[None]:
    """Hold the exclusive write lock of ``folder`` (which must exist) for the ``with`` block.

    Raises
    ------
    FolderBusyError
        If another process holds it; the message names the folder and ``owner``.
    """
    key = os.path.realpath(folder)
    with _HELD_GUARD:
        held = _HELD.get(key)
        if held is not None:
            held[1] += 1
        else:
            fd = os.open(key, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
            if fcntl is not None:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    os.close(fd)
                    raise FolderBusyError(
                        f"The folder {key!r} of {owner} is being written by another process (it holds the "
                        "folder's lock); wait for it to finish or write somewhere else."
                    ) from None
            _HELD[key] = [fd, 1]
    try:
        yield
    finally:
        with _HELD_GUARD:
            held = _HELD[key]
            held[1] -= 1
            if held[1] == 0:
                del _HELD[key]
                try:
                    if fcntl is not None:
                        fcntl.flock(held[0], fcntl.LOCK_UN)  # released even if the close below fails
                finally:
                    os.close(held[0])


def check_output_folder(path: str | os.PathLike, name: str, owner: str, *, kind: str = "parameter") -> Path:
    """Check before any work that ``path`` is, or can be made, a writable folder; create it.

    ``kind`` is what ``name`` is called in the message (``'option'`` for
    the CLI).

    Raises
    ------
    InvalidParameterError
        For an existing file, a path under a file, or a folder that cannot
        be written; the message names the parameter and says which.
    """
    from ._validation import InvalidParameterError

    def refuse(expected: str, why: str) -> InvalidParameterError:  # the house template, the path never shortened
        return InvalidParameterError(f"The {name!r} {kind} of {owner} must be {expected}. "
                                     f"Got {str(path)!r} ({why}) instead.")

    path = Path(path)
    if path.exists() and not path.is_dir():
        raise refuse("a folder (or a path where one can be made)", "an existing file")
    parent = path.absolute()
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        raise refuse("a folder (or a path where one can be made)", f"under the file {str(parent)!r}")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise refuse("a folder this process can write", f"{str(parent)!r} is not writable")
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / f".eqising-probe.{os.getpid()}{_TMP_SUFFIX}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise refuse("a folder this process can write", exc.strerror or str(exc)) from exc
    return path
