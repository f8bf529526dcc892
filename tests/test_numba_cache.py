"""numba's cache lives in the user's cache folder, and importing eqising changes no numba setting."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import textwrap

import numba
import pytest

from eqising._numba_cache import cache_root, cached_njit
from eqising.solvers import _kernels, _threads

KERNEL = textwrap.dedent(
    """
    from eqising._numba_cache import cached_njit

    @cached_njit()
    def add_one(x):
        return x + 1
    """
)

REPORT = textwrap.dedent(
    """
    import json, sys
    sys.path.insert(0, sys.argv[1])
    import tinykernel
    assert tinykernel.add_one(41) == 42
    st = tinykernel.add_one.stats
    print(json.dumps({"path": st.cache_path, "hits": sum(st.cache_hits.values()),
                      "misses": sum(st.cache_misses.values())}))
    """
)


def _run(code: str, *args: str, env: dict[str, str] | None = None) -> str:
    """Run ``code`` in a fresh interpreter: this environment plus ``env``, without a NUMBA_CACHE_DIR the
    caller's shell may set (numba would put every cache there, not in eqising's folder), unless ``env`` has one."""
    full = {k: v for k, v in os.environ.items() if k != "NUMBA_CACHE_DIR"} | (env or {})
    out = subprocess.run([sys.executable, "-c", code, *args], env=full, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    return out.stdout


def _kernel_module(folder) -> str:
    folder.mkdir()
    (folder / "tinykernel.py").write_text(KERNEL)
    return str(folder)


def test_numba_cache_dir_of_the_user_is_honoured(tmp_path):
    module = _kernel_module(tmp_path / "src")
    env = {"EQISING_CACHE_DIR": str(tmp_path / "cache"), "NUMBA_CACHE_DIR": str(tmp_path / "mine")}
    report = json.loads(_run(REPORT, module, env=env))
    assert report["path"].startswith(str(tmp_path / "mine") + os.sep)


def test_second_process_loads_from_the_user_cache_and_copies_never_share_an_index(tmp_path):
    module = _kernel_module(tmp_path / "src")
    env = {"EQISING_CACHE_DIR": str(tmp_path / "cache")}
    first = json.loads(_run(REPORT, module, env=env))
    second = json.loads(_run(REPORT, module, env=env))
    assert (first["hits"], first["misses"]) == (0, 1)
    assert (second["hits"], second["misses"]) == (1, 0)
    assert first["path"] == second["path"]
    assert first["path"].startswith(str(tmp_path / "cache" / "numba") + os.sep)
    # nothing beside the module: an uninstall would leave such files behind
    pycache = tmp_path / "src" / "__pycache__"
    assert not pycache.exists() or not [p for p in pycache.iterdir() if p.suffix in (".nbi", ".nbc")]
    # the same source at another path (another checkout) gets its own index
    other = json.loads(_run(REPORT, _kernel_module(tmp_path / "copy"), env=env))
    assert other["path"] != first["path"]
    assert (other["hits"], other["misses"]) == (0, 1)


def test_unwritable_cache_folder_compiles_without_caching(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    report = json.loads(_run(REPORT, _kernel_module(tmp_path / "src"), env={"EQISING_CACHE_DIR": str(blocker / "x")}))
    assert report == {"path": None, "hits": 0, "misses": 1}


def test_cache_root_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("EQISING_CACHE_DIR", str(tmp_path / "e"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "x"))
    assert cache_root() == str(tmp_path / "e")
    monkeypatch.delenv("EQISING_CACHE_DIR")
    assert cache_root() == str(tmp_path / "x" / "eqising")
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert cache_root() == os.path.join(os.path.expanduser("~"), ".cache", "eqising")


def test_kernels_are_not_cached_inside_the_package():
    package = os.path.dirname(os.path.abspath(_kernels.__file__))
    for kernel in (_kernels.chain_seeds, _kernels.random_spins, _kernels.anneal_layered, _kernels.anneal_sparse):
        path = kernel.stats.cache_path
        assert path is None or not os.path.abspath(path).startswith(package + os.sep)


def test_cache_is_not_an_option():
    with pytest.raises(TypeError, match="cache="):
        cached_njit(cache=True)


THREADING = textwrap.dedent(
    """
    import json, os, sys, numba
    mode = sys.argv[1]
    if mode == "started":
        numba.get_num_threads()  # starts numba's threads with its default layer
    import eqising
    from eqising.solvers import _kernels
    report = {"after_import": numba.config.THREADING_LAYER}
    try:
        numba.threading_layer()
        report["threads_at_import"] = True
    except ValueError:
        report["threads_at_import"] = False
    with _kernels.KERNEL_LOCK:
        report["at_launch"] = numba.config.THREADING_LAYER
        report["priority"] = list(numba.config.THREADING_LAYER_PRIORITY)
        report["spin"] = os.environ.get("GOMP_SPINCOUNT")
    if mode == "fresh":
        from eqising.solvers import AnnealingSolver
        from eqising.solvers.testing import free_batch
        AnnealingSolver(num_sweeps=2).sample(free_batch((4, 3, 2), 2), seed=0)
        report["layer"] = numba.threading_layer()
        report["share"] = _kernels.KERNEL_LOCK.share.enabled
        report["cap"] = _kernels.KERNEL_LOCK.share.cap
    print(json.dumps(report))
    """
)


def _threading_report(mode: str, **extra_env: str) -> dict:
    """THREADING's report from a fresh process with no NUMBA_THREADING_LAYER* or OpenMP wait setting."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("NUMBA_THREADING_LAYER") and k not in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT")}
    env.update(extra_env)
    out = subprocess.run([sys.executable, "-c", THREADING, mode], env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def test_import_changes_no_numba_setting_and_first_launch_prefers_openmp_with_bounded_spinning():
    report = _threading_report("fresh")
    assert report["after_import"] == "default" and report["threads_at_import"] is False
    assert report["at_launch"] == "default"  # a priority, not a demand: machines without OpenMP fall back
    assert report["priority"] == list(_kernels.LAYER_PRIORITY) == ["omp", "tbb", "workqueue"]
    assert report["spin"] == str(_kernels.OMP_SPIN_COUNT)
    assert report["layer"] in _kernels.LAYER_PRIORITY
    assert report["share"] == (report["layer"] == "omp")  # launch threads follow other processes' CPU use
    quota = _threads.cgroup_cpu_quota()  # the same cgroups as this process's
    assert report["cap"] == (None if quota is None or not report["share"] else max(1, math.floor(quota + 0.5)))


def test_launch_threads_follow_other_processes_only_where_eqising_made_the_workers_spin():
    assert _threading_report("fresh", OMP_WAIT_POLICY="passive")["share"] is False
    assert _threading_report("fresh", GOMP_SPINCOUNT="100000")["share"] is False
    assert _threading_report("fresh", NUMBA_THREADING_LAYER="omp")["share"] is False


def test_an_openmp_wait_setting_of_the_user_is_kept():
    report = _threading_report("fresh", OMP_WAIT_POLICY="passive")
    assert report["spin"] is None
    assert _threading_report("fresh", GOMP_SPINCOUNT="5")["spin"] == "5"


def test_threads_already_running_are_left_alone():
    report = _threading_report("started")
    assert report["after_import"] == report["at_launch"] == "default"
    assert report["priority"] == ["tbb", "omp", "workqueue"]  # numba's own
    assert report["spin"] is None


def test_an_explicit_user_choice_is_respected(monkeypatch):
    monkeypatch.setattr(numba.config, "THREADING_LAYER", "omp")  # chosen in code
    _threads._select_threading_layer()
    assert numba.config.THREADING_LAYER == "omp"
    monkeypatch.setattr(numba.config, "THREADING_LAYER", "default")
    monkeypatch.setenv("NUMBA_THREADING_LAYER", "default")  # chosen in the environment
    _threads._select_threading_layer()
    assert numba.config.THREADING_LAYER == "default"


SHARED_CORE = textwrap.dedent(
    """
    from eqising._numba_cache import cached_njit

    @cached_njit()
    def mul_add(a, b, c):  # a core shared by exact and fast-math callers
        return a * b + c

    @cached_njit(fastmath={"contract", "reassoc", "nsz"})
    def fast_caller(a, b, c):
        return mul_add(a, b, c)
    """
)

FAST_FIRST = textwrap.dedent(
    """
    import json, sys
    sys.path.insert(0, sys.argv[1])
    import sharedcore
    a = b = 1.0 + 2.0**-30
    sharedcore.fast_caller(a, b, -1.0)  # compiles (or loads) mul_add from inside a fast-math caller first
    st = sharedcore.fast_caller.stats
    print(json.dumps({"core": sharedcore.mul_add(a, b, -1.0).hex(), "exact": (a * b + -1.0).hex(),
                      "hits": sum(st.cache_hits.values())}))
    """
)


def test_a_shared_core_keeps_its_own_exact_arithmetic_whatever_compiles_it_first(tmp_path):
    """numba lets a function inherit the fast-math flags of the first caller that compiles it (its issue
    #7168): the core's a * b + c became an FMA (2**-29 + 2**-60 instead of 2**-29 here) and was cached so."""
    module = tmp_path / "src"
    module.mkdir()
    (module / "sharedcore.py").write_text(SHARED_CORE)
    env = {"EQISING_CACHE_DIR": str(tmp_path / "cache")}
    first = json.loads(_run(FAST_FIRST, str(module), env=env))
    second = json.loads(_run(FAST_FIRST, str(module), env={**env, "PYTHONHASHSEED": "7"}))
    assert first["core"] == first["exact"] == float.fromhex("0x1.0p-29").hex()
    assert second["core"] == second["exact"]
    assert second["hits"] == 1  # a set of fast-math flags gives the same cache key in every process


COMPILES = textwrap.dedent(
    """
    import json
    import numpy as np
    from eqising import EqPropClassifier
    from eqising._numba_cache import CompileLog

    rng = np.random.default_rng(0)
    X, y = rng.random((24, 6)), np.arange(24) % 3
    with CompileLog() as log:
        clf = EqPropClassifier(hidden_layer_sizes=(5,), max_iter=1, batch_size=8, random_state=0).fit(X, y)
        clf.predict(X)
    print(json.dumps(log.compiles))
    """
)


@pytest.mark.slow
def test_training_compiles_each_kernel_once_and_no_shape_error_messages(tmp_path):
    """A fresh cache's first fit compiles each kernel once: the compiled step and the batched prediction
    anneal chains with the same ``anneal_chain`` (a literal ``0`` passed by one of them compiled a second
    copy, 2 s), an example's preparation is compiled once (a flag started at a literal ``False`` compiled
    it twice), and no slice assignment makes numba compile its shape-mismatch message (``str``/``repr``
    machinery, 4-5 s of a fresh ``eqising train``'s 30 s)."""
    compiled = json.loads(_run(COMPILES, env={"EQISING_CACHE_DIR": str(tmp_path / "cache")}))
    for kernel in ("eqising.solvers._kernels.anneal_chain", "eqising.solvers.annealing_step._prepare_example",
                   "eqising.solvers.annealing_step._prepare_nudged", "eqising.solvers.annealing_step.eqprop_phases",
                   "eqising.solvers._kernels.anneal_layered"):
        assert len(compiled.get(kernel, [])) == 1, (kernel, compiled.get(kernel))
    messages = [owner for name, uses in compiled.items() if "raise_with_shape_context" in name
                for owner, _ in uses]
    assert messages == [], messages
