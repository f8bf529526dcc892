"""Launch threads while other processes share the CPUs (eqising/solvers/_threads.py)."""

from __future__ import annotations

import os

import numba
import pytest

from eqising.solvers import _threads
from eqising.solvers._threads import CoreShare, busy_cpu_seconds, cgroup_cpu_quota


class Machine:
    """A fake clock, busy-CPU counter and process counter: ``run(seconds, ours, others)`` advances them."""

    def __init__(self) -> None:
        self.now = self.busy = self.own = 0.0
        self.readable = True

    def run(self, seconds: float, ours: float, others: float) -> None:
        self.now += seconds
        self.own += ours * seconds
        self.busy += (ours + others) * seconds

    def share(self, n_cpus: int = 2, interval: float = 0.1, quota: float | None = None) -> CoreShare:
        return CoreShare(frozenset(range(n_cpus)), busy=lambda cpus: self.busy if self.readable else None,
                         own=lambda: self.own, clock=lambda: self.now, interval=interval, quota=quota)


def limits(m: Machine, share: CoreShare, steps: list[tuple[float, float, float]]) -> list[int | None]:
    """``share.current()`` after each ``m.run(*step)``, the first look having been taken before."""
    share.current()
    out = []
    for step in steps:
        m.run(*step)
        out.append(share.current())
    return out


def test_no_limit_while_the_process_has_its_cpus_to_itself():
    m = Machine()
    # a little background load is not a reason to give up a CPU
    assert limits(m, m.share(), [(0.2, 2.0, 0.2)] * 5) == [None] * 5


@pytest.mark.parametrize("n_cpus, others, limit", [(2, 1.0, 1), (2, 2.0, 1), (2, 3.5, 1), (4, 1.0, 3),
                                                   (4, 2.2, 2), (4, 2.4, 1), (16, 0.7, 15)])
def test_the_limit_is_the_cpus_other_processes_leave(n_cpus, others, limit):
    m = Machine()
    assert limits(m, m.share(n_cpus), [(0.2, min(n_cpus, max(1.0, n_cpus - others)), others)]) == [limit]


def test_the_limit_goes_when_the_other_process_does_and_looks_wait_for_the_interval():
    m = Machine()
    # too early to look; a look; the next look not due yet; the look after the other process went
    steps = [(0.05, 1.0, 1.0), (0.05, 1.0, 1.0), (0.05, 1.0, 0.0), (0.1, 1.0, 0.0)]
    assert limits(m, m.share(interval=0.1), steps) == [None, 1, 1, None]


def test_a_load_near_the_threshold_neither_starts_nor_ends_a_limit():
    m = Machine()
    # under 0.3 of a CPU: no limit; 0.4: a limit; the same load measured a little lower keeps it
    steps = [(0.2, 2.0, 0.25), (0.2, 1.6, 0.4), (0.2, 1.0, 0.2), (0.2, 1.0, 0.1)]
    assert limits(m, m.share(), steps) == [None, 1, 1, None]


def test_no_limit_and_no_more_looks_where_busy_time_cannot_be_read():
    m = Machine()
    share = m.share()
    assert limits(m, share, [(0.2, 1.0, 1.0)]) == [1]
    m.readable = False
    m.run(0.2, ours=1.0, others=1.0)
    assert share.current() is None and not share.enabled


@pytest.mark.parametrize("quota, cap", [(0.5, 1), (1.0, 1), (1.25, 1), (1.5, 2), (3.0, 3)])
def test_a_cpu_quota_caps_the_threads_from_the_start_and_with_other_processes(quota, cap):
    m = Machine()
    share = m.share(n_cpus=4, quota=quota)
    assert share.current() == cap  # before any look
    # alone, then another process on 2 of the 4 CPUs: the lower of the two limits
    assert limits(m, share, [(0.2, 1.0, 0.0), (0.2, 1.0, 2.0)]) == [cap, min(cap, 2)]


def _cgroup(tmp_path, lines: str, files: dict[str, str]) -> float | None:
    tmp_path.mkdir()
    proc = tmp_path / "cgroup"
    proc.write_text(lines)
    for name, text in files.items():
        path = tmp_path / "fs" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return cgroup_cpu_quota(str(proc), str(tmp_path / "fs"))


def test_cgroup_cpu_quota_reads_v2_and_v1_and_takes_the_lowest_along_the_path(tmp_path):
    assert _cgroup(tmp_path / "a", "0::/\n", {"cpu.max": "150000 100000\n"}) == 1.5  # a container's own root
    assert _cgroup(tmp_path / "b", "0::/pod/app\n", {"cpu.max": "max 100000\n", "pod/cpu.max": "200000 100000\n",
                                                     "pod/app/cpu.max": "300000 100000\n"}) == 2.0
    assert _cgroup(tmp_path / "c", "4:memory:/x\n2:cpu,cpuacct:/job\n",
                   {"cpu,cpuacct/job/cpu.cfs_quota_us": "50000\n", "cpu,cpuacct/job/cpu.cfs_period_us": "100000\n",
                    "cpu,cpuacct/cpu.cfs_quota_us": "-1\n", "cpu,cpuacct/cpu.cfs_period_us": "100000\n"}) == 0.5
    assert _cgroup(tmp_path / "d", "1:cpu:/\n", {"cpu/cpu.cfs_quota_us": "-1\n",
                                                "cpu/cpu.cfs_period_us": "100000\n"}) is None  # no quota
    assert _cgroup(tmp_path / "e", "0::/\n", {"cpu.max": "max 100000\n"}) is None
    assert _cgroup(tmp_path / "f", "0::/\n", {"cpu.max": "garbage\n"}) is None
    assert cgroup_cpu_quota(str(tmp_path / "missing"), str(tmp_path)) is None
    (tmp_path / "binary").write_bytes(b"\xff\xfe0::/\n")
    assert cgroup_cpu_quota(str(tmp_path / "binary"), str(tmp_path)) is None


def test_busy_cpu_seconds_counts_only_the_given_cpus_and_busy_fields(tmp_path):
    stat = tmp_path / "stat"
    #                user nice system idle iowait irq softirq steal guest guest_nice
    stat.write_text("cpu  900 900 900 900 900 900 900 900 0 0\n"
                    "cpu0 10 20 30 1000 500 1 2 3 7 0\n"
                    "cpu1 100 0 0 1000 0 0 0 0 0 0\n"
                    "cpu2 1000 0 0 0 0 0 0 0 0 0\n"
                    "intr 12345\n")
    tick = os.sysconf("SC_CLK_TCK")
    both = frozenset({0, 1})
    assert busy_cpu_seconds(both, str(stat), nice=True) == pytest.approx((10 + 20 + 30 + 1 + 2 + 3 + 100) / tick)
    assert busy_cpu_seconds(both, str(stat), nice=False) == pytest.approx((10 + 30 + 1 + 2 + 3 + 100) / tick)
    assert busy_cpu_seconds(frozenset({2}), str(stat)) == pytest.approx(1000 / tick)
    assert busy_cpu_seconds(frozenset({0}), str(tmp_path / "missing")) is None
    stat.write_text("cpu0 x 20 30\n")
    assert busy_cpu_seconds(frozenset({0}), str(stat)) is None  # not the kernel's format: unknown


def test_niced_time_counts_as_busy_only_for_a_niced_process(tmp_path, monkeypatch):
    stat = tmp_path / "stat"
    stat.write_text("cpu0 10 20 30 1000 0 0 0 0 0 0\n")
    tick = os.sysconf("SC_CLK_TCK")
    monkeypatch.setattr(_threads, "_niceness", lambda: 0)
    assert busy_cpu_seconds(frozenset({0}), str(stat)) == pytest.approx(40 / tick)
    monkeypatch.setattr(_threads, "_niceness", lambda: 10)
    assert busy_cpu_seconds(frozenset({0}), str(stat)) == pytest.approx(60 / tick)


@pytest.fixture
def lock_with_limit(monkeypatch):
    """A launch lock whose layer choice is made and whose share says ``limit`` CPUs are left."""
    if numba.config.NUMBA_NUM_THREADS < 2:
        pytest.skip("needs numba with at least 2 threads")
    before = numba.get_num_threads()
    lock = _threads._LaunchLock()
    lock._selected = True

    def make(limit):
        lock.share.limit, lock.share.enabled = limit, False  # no looks: the limit stays as set
        return lock

    yield make
    numba.set_num_threads(before)


def test_launches_use_the_limit_and_the_callers_threads_come_back(lock_with_limit):
    numba.set_num_threads(2)
    lock = lock_with_limit(1)
    with lock:
        assert numba.get_num_threads() == 1
    assert numba.get_num_threads() == 2
    with lock_with_limit(None):
        assert numba.get_num_threads() == 2


def test_a_caller_asking_for_fewer_threads_gets_them_and_an_error_inside_releases_the_lock(lock_with_limit):
    lock = lock_with_limit(1)
    numba.set_num_threads(1)
    with lock:
        assert numba.get_num_threads() == 1
    assert numba.get_num_threads() == 1
    numba.set_num_threads(2)
    with pytest.raises(RuntimeError, match="inside"), lock:
        raise RuntimeError("an error inside the lock")
    assert numba.get_num_threads() == 2 and not lock._lock.locked()


class FakeNumba:
    """numba's thread count alone, with ``n`` threads at most."""

    def __init__(self, n: int) -> None:
        self.n = self.most = n
        self.config = numba.config

    def get_num_threads(self) -> int:
        return self.n

    def set_num_threads(self, n: int) -> None:
        assert 1 <= n <= self.most
        self.n = n


def test_a_thread_count_set_inside_the_lock_is_kept(monkeypatch):
    fake = FakeNumba(4)
    monkeypatch.setattr(_threads, "numba", fake)
    lock = _threads._LaunchLock()
    lock._selected = True
    lock.share.limit = 2
    with lock:
        assert fake.n == 2
        fake.set_num_threads(3)  # the code inside chose its threads (as eqising compare's runs do)
    assert fake.n == 3
    with lock:
        assert fake.n == 2
    assert fake.n == 3
