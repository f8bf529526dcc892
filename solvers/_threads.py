"""Threading set-up of every parallel kernel launch: the layer, its spinning, and cores shared with others.

A training step is a few short parallel launches (the longest about a
millisecond on a 32-example minibatch), so the threading layer's cost per launch
matters. numba's ``workqueue`` layer wakes its workers by polling with short
sleeps, about 160 us per launch on a 2-core machine (2 us on OpenMP), which made
the training loop 1.5x slower. So the first launch of a kernel puts OpenMP first
in numba's layer priority (``omp``, then ``tbb``, then ``workqueue`` where
OpenMP is not installed) and, unless ``OMP_WAIT_POLICY`` or ``GOMP_SPINCOUNT``
is set, bounds how long GNU OpenMP's idle workers spin before they sleep
(``GOMP_SPINCOUNT`` = :data:`OMP_SPIN_COUNT`: about 2 ms, against 6.5 ms for
libgomp's default), long enough to stay awake between the launches of
consecutive training steps. It does nothing of this if the user chose a layer
(``NUMBA_THREADING_LAYER``, ``NUMBA_THREADING_LAYER_PRIORITY`` or
``numba.config.THREADING_LAYER``) or if numba's threads are already running
(they stay as they are). Importing eqising changes nothing.

Spinning workers are fast only while the process has its cores to itself. When
another process keeps one of them busy, a launch's worker that finished spins
for the one that was descheduled, and every launch lasts a scheduler time slice:
two ``eqising train`` runs at once on 2 cores took 67 s each instead of 2 s
(3.2 s each with one thread, 3.2 s with ``OMP_WAIT_POLICY=passive``, which
makes a run alone 2x slower). So while it is eqising that made the workers spin,
:class:`CoreShare` looks every :data:`SHARE_INTERVAL` seconds of launches at how
much CPU time other processes took on this process's CPUs (Linux
``/proc/stat``), and launches use only the CPUs they leave (at least one)
until they go. They also never use more threads than the CPU quota of the
process's cgroups allows (a container's ``--cpus``), which numba's thread count,
taken from the CPUs the process may run on, does not see. Thread counts never
change results: every chain draws from its own stream.

The ``workqueue`` layer does not support concurrent kernel launches from
several Python threads, so callers hold :data:`KERNEL_LOCK` around every launch
(calls from several threads are serialised, not parallel); its first
acquisition makes the layer choice. GNU OpenMP is not fork-safe: a process
forked from one that has run a kernel must not run one (numba stops it with a
message); start such workers with ``spawn`` or ``forkserver``, as Dask does.
"""

from __future__ import annotations

import math
import os
import threading
import time
from collections.abc import Callable

import numba

__all__ = ["KERNEL_LOCK", "LAYER_PRIORITY", "OMP_SPIN_COUNT", "SHARE_INTERVAL", "CoreShare", "busy_cpu_seconds",
           "cgroup_cpu_quota"]

#: numba threading layers in the order eqising's first launch prefers them (see the module docstring).
LAYER_PRIORITY = ("omp", "tbb", "workqueue")
#: Spins of an idle GNU OpenMP worker before it sleeps: about 2 ms on the 2-core development machine
#: (libgomp's default, 300,000, was 6.5 ms there); a training step's launches come well within it.
OMP_SPIN_COUNT = 100_000
#: Seconds of launches between two looks at the CPU time other processes take (:class:`CoreShare`).
SHARE_INTERVAL = 0.1
#: Fields of a ``/proc/stat`` CPU line that count as busy: user, system, irq, softirq, steal
#: (and nice, field 1, where asked: :func:`busy_cpu_seconds`).
_BUSY_FIELDS = (0, 2, 5, 6, 7)
_NICE_FIELD = 1


def _select_threading_layer() -> bool:
    """Prefer numba's OpenMP layer, with bounded spinning, unless the user chose one or numba's threads run.

    Returns True if it set ``GOMP_SPINCOUNT`` (the spinning is then eqising's to manage)."""
    if numba.config.THREADING_LAYER != "default" or any(
        name in os.environ for name in ("NUMBA_THREADING_LAYER", "NUMBA_THREADING_LAYER_PRIORITY")
    ):
        return False  # an explicit user choice
    try:
        numba.threading_layer()
    except ValueError:  # numba's threads are not started yet: the layer can still be chosen
        numba.config.THREADING_LAYER_PRIORITY = list(LAYER_PRIORITY)
        if not any(name in os.environ for name in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT")):
            os.environ["GOMP_SPINCOUNT"] = str(OMP_SPIN_COUNT)  # read when numba loads OpenMP, at its first launch
            return True
    return False


def busy_cpu_seconds(cpus: frozenset[int], path: str = "/proc/stat", nice: bool | None = None) -> float | None:
    """Busy time of the CPUs numbered ``cpus`` since boot, in seconds, or None where ``path`` cannot be read.

    Busy is user, system, interrupt and steal time (Linux ``/proc/stat``
    per-CPU lines, in clock ticks), and the time of niced processes if ``nice``
    (``None``: if this process is niced itself); idle and I/O wait are not.
    A niced process barely delays one that is not (beside a ``nice 19`` busy
    loop, spinning workers trained digits in 2.57 s against 3.30 s on one
    thread), so while this process is not niced, niced time is left out.
    """
    if nice is None:
        nice = _niceness() > 0
    fields_used = _BUSY_FIELDS + ((_NICE_FIELD,) if nice else ())
    try:
        with open(path, "rb") as f:
            lines = f.read().splitlines()
    except OSError:
        return None
    ticks = 0
    try:
        for line in lines:
            if line.startswith(b"cpu") and line[3:4].isdigit():
                name, *fields = line.split()
                if int(name[3:]) in cpus:
                    ticks += sum(int(fields[i]) for i in fields_used if i < len(fields))
    except ValueError:  # not the kernel's format
        return None
    return ticks / os.sysconf("SC_CLK_TCK")


def _niceness() -> int:
    try:
        return os.getpriority(os.PRIO_PROCESS, 0)
    except (AttributeError, OSError):  # not Unix
        return 0


def cgroup_cpu_quota(proc: str = "/proc/self/cgroup", root: str = "/sys/fs/cgroup") -> float | None:
    """CPUs' worth of time per period this process's cgroups allow, or None if none sets a quota (or unknown).

    The CFS quota over its period (cgroup v2 ``cpu.max``, v1 ``cpu.cfs_quota_us``
    and ``cpu.cfs_period_us``), the lowest of the process's cgroup and its
    ancestors, as a container's ``--cpus`` sets it. Such a quota does not change
    which CPUs the process may run on, nor how many threads numba starts.
    """
    try:
        with open(proc) as f:
            entries = [line.rstrip("\n").split(":", 2) for line in f]
    except (OSError, ValueError):  # no such file, or not text
        return None
    quotas = []
    for entry in entries:
        if len(entry) != 3:
            continue
        hierarchy, controllers, path = entry
        if hierarchy == "0" and controllers == "":
            folders, read = [root], _quota_v2
        elif "cpu" in controllers.split(","):
            folders, read = [os.path.join(root, controllers), os.path.join(root, "cpu")], _quota_v1
        else:
            continue
        parts = [p for p in path.split("/") if p and p not in (".", "..")]
        for folder in dict.fromkeys(folders):
            for depth in range(len(parts) + 1):
                quota = read(os.path.join(folder, *parts[:depth]))
                if quota is not None:
                    quotas.append(quota)
    return min(quotas) if quotas else None


def _read_words(path: str) -> list[str] | None:
    try:
        with open(path) as f:
            return f.read().split()
    except (OSError, ValueError):  # no such file, or not text
        return None


def _quota_v2(folder: str) -> float | None:
    words = _read_words(os.path.join(folder, "cpu.max"))  # "<quota> <period>", or "max <period>"
    return _ratio(*words) if words and len(words) == 2 else None


def _quota_v1(folder: str) -> float | None:
    quota = _read_words(os.path.join(folder, "cpu.cfs_quota_us"))  # -1: no quota
    period = _read_words(os.path.join(folder, "cpu.cfs_period_us"))
    return _ratio(quota[0], period[0]) if quota and period else None


def _ratio(quota: str, period: str) -> float | None:
    """``quota / period`` of two positive integers written out, else None (no quota, or not numbers)."""
    try:
        q, p = int(quota), int(period)
    except ValueError:
        return None
    return q / p if q > 0 and p > 0 else None


def _process_cpu_seconds() -> float:
    t = os.times()
    return t.user + t.system


class CoreShare:
    """How many threads a launch may use, given the CPU time other processes take on this process's CPUs.

    Every ``interval`` seconds (looked at only when a launch starts), the CPU
    time other processes took on the CPUs this process may run on is the busy
    time of those CPUs less this process's own. The others take that many CPUs
    on average, counted as whole CPUs: from 0.3 of a CPU up while there is no
    limit (a run alone measured at most 0.2, two clock ticks of 0.1 s on 2
    CPUs; spinning workers beside a process using 0.45 of a CPU made a digits
    run 1.6x slower than one thread), and from 0.15 up while there is one, so
    that a load near the threshold does not take the limit off and put it back
    look after look. The limit is this process's CPUs less the
    others', at least 1; there is none while the others take no whole CPU.

    Parameters
    ----------
    cpus : frozenset of int
        CPUs this process may run on.
    busy : callable, optional
        ``busy(cpus)``: their busy seconds since boot, or None if unknown
        (default :func:`busy_cpu_seconds`).
    own : callable, optional
        This process's CPU seconds (default: user plus system time).
    clock : callable, optional
        Wall-clock seconds (default :func:`time.perf_counter`).
    interval : float
        Seconds between two looks.
    quota : float or None
        CPUs' worth of time the process's cgroups allow (:func:`cgroup_cpu_quota`):
        launches never use more threads than that, rounded, at least 1 (on 2
        CPUs, a quota of 1 CPU made two threads 1.4x slower than one; at 1.25
        they were even, at 1.5 two were faster).
    """

    def __init__(self, cpus: frozenset[int], busy: Callable[[frozenset[int]], float | None] = busy_cpu_seconds,
                 own: Callable[[], float] = _process_cpu_seconds, clock: Callable[[], float] = time.perf_counter,
                 interval: float = SHARE_INTERVAL, quota: float | None = None) -> None:
        self.cpus, self._busy, self._own, self._clock, self.interval = cpus, busy, own, clock, interval
        self.cap = None if quota is None else max(1, math.floor(quota + 0.5))  # threads the quota allows
        self.limit: int | None = None  # from other processes' use; None: no limit
        self.enabled = True
        self._mark: tuple[float, float, float] | None = None

    def current(self) -> int | None:
        """The most threads a launch starting now may use (None: no limit), looking again if it is time."""
        if self.enabled:
            now = self._clock()
            if self._mark is None or now - self._mark[0] >= self.interval:
                self._look(now)
        return min((n for n in (self.cap, self.limit) if n is not None), default=None)

    def _look(self, now: float) -> None:
        busy = self._busy(self.cpus)
        if busy is None:  # not Linux, or no /proc: no limit, and no more looks
            self.enabled, self.limit = False, None
            return
        own = self._own()
        if self._mark is not None:
            then, busy_then, own_then = self._mark
            others = max(0.0, (busy - busy_then) - (own - own_then)) / (now - then)  # CPUs, on average
            taken = math.floor(others + (0.7 if self.limit is None else 0.85))
            self.limit = None if taken < 1 else max(1, len(self.cpus) - taken)
        self._mark = (now, busy, own)


def _layer_after_start() -> str:
    """numba's threading layer, starting its threads (with the priority just set) if they are not running."""
    numba.get_num_threads()
    return numba.threading_layer()


def _own_cpus() -> frozenset[int]:
    try:
        return frozenset(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return frozenset(range(os.cpu_count() or 1))


class _LaunchLock:
    """A lock whose first acquisition selects the threading layer and that sets each launch's threads.

    Inside, numba's thread count is the caller's, or fewer where eqising made
    OpenMP's workers spin and :attr:`share` says so (other processes keep the
    CPUs busy, or the cgroups' CPU quota allows fewer; see the module
    docstring); it is the caller's again on the way out, unless the code inside
    set it.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._selected = False
        self.share = CoreShare(_own_cpus())
        self.share.enabled = False  # until this lock has made OpenMP's workers spin
        self._restore: tuple[int, int] | None = None

    def __enter__(self) -> _LaunchLock:
        self._lock.acquire()
        try:
            if not self._selected:
                self._selected = True
                if _select_threading_layer() and _layer_after_start() == "omp":
                    self.share = CoreShare(self.share.cpus, quota=cgroup_cpu_quota())
            self._restore = None
            limit = self.share.current()
            if limit is not None:
                wanted = numba.get_num_threads()
                if limit < wanted:
                    numba.set_num_threads(limit)
                    self._restore = (limit, wanted)
        except BaseException:
            self._lock.release()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            if self._restore is not None and numba.get_num_threads() == self._restore[0]:
                numba.set_num_threads(self._restore[1])
        finally:
            self._restore = None
            self._lock.release()


#: Held around every parallel kernel launch (the workqueue layer is not re-entrant).
KERNEL_LOCK = _LaunchLock()
