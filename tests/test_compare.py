"""Tests of eqising.compare / ``eqising compare``: tables, plots, pairing, cache and resume, clusters, errors."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from eqising import compare, load_dataset
from eqising._validation import InvalidParameterError
from eqising.cli import main
from eqising.comparison import Target, cross_targets, load_grid, plan
from eqising.comparison.plots import pareto_front
from eqising.comparison.stats import paired_difference

#: Tiny and fast: 200 digits, one hidden layer of 16, 2 epochs, 20 sweeps.
SPLIT = ["--train-size", "200", "--test-size", "100"]
FAST = ["--hidden", "16", "--epochs", "2", "--batch-size", "20"]
SWEEPS = ["--solver-params", '{"num_sweeps": 20}']
SETTINGS = {"hidden_layer_sizes": [16], "max_iter": 2, "batch_size": 20}
#: Columns that the seed decides (not wall times): equal runs agree on all of them.
DETERMINED = ("test_accuracy", "train_accuracy", "spin_updates", "energy_joules", "accuracy_curve", "loss_curve")


@pytest.fixture(scope="module")
def data():
    return load_dataset("digits", train_size=200, test_size=100)


def _targets():
    return cross_targets(["annealing", "memristor"], ["ideal", "cbram"], solver_params={"num_sweeps": 20})


@pytest.fixture(scope="module")
def serial(data, tmp_path_factory):
    """The reference grid run in this process, one run at a time."""
    return compare(_targets(), data=data, seeds=[0, 1], settings=SETTINGS, out=tmp_path_factory.mktemp("serial"))


def _determined(rows):
    return [(r["target"], r["seed"], *(r[k] for k in DETERMINED)) for r in rows]


def _json_main(capsys, argv):
    code = main(argv)
    captured = capsys.readouterr()
    assert code == 0, captured.err
    lines = [line for line in captured.out.splitlines() if line.strip()]
    assert len(lines) == 1, captured.out
    return json.loads(lines[0])


# ------------------------------------------------------------------ outputs
def test_cli_writes_runs_summary_and_plots_and_lists_skipped(tmp_path, capsys):
    out = tmp_path / "cmp"
    summary = _json_main(capsys, ["compare", *SPLIT, *FAST, *SWEEPS, "--solvers", "annealing,memristor",
                                  "--backends", "ideal,cbram,mcu-int8", "--seeds", "0,1", "--out", str(out), "--json"])
    names = [t["target"] for t in summary["targets"]]
    assert names == ["annealing/ideal", "annealing/cbram", "in-situ/mcu-int8", "memristor/ideal", "memristor/cbram"]
    assert summary["reference"] == "annealing/ideal" and summary["executed"] == 10 and summary["cached"] == 0
    skipped = {s["target"]: s["reason"] for s in summary["skipped"]}
    assert set(skipped) == {"annealing/mcu-int8", "memristor/mcu-int8"}
    assert all("requires solver=None" in reason for reason in skipped.values())
    for t in summary["targets"]:
        assert t["runs"] == 2 and t["failed"] == 0 and 0.0 <= t["mean"]["test_accuracy"] <= 1.0
        assert t["difference_to_reference"]["n"] == 2
    ref = summary["targets"][0]["difference_to_reference"]
    assert ref["mean"] == 0.0 and ref["low"] == ref["high"] == 0.0
    # every file, with what it must hold
    for name in ("runs.csv", "runs.json", "summary.json", "summary.md", "accuracy_vs_cost.png",
                 "accuracy_vs_time.png", "learning_curves.png"):
        assert (out / name).stat().st_size > 0, name
    for name in ("accuracy_vs_cost.png", "accuracy_vs_time.png", "learning_curves.png"):
        assert (out / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    header, *lines = (out / "runs.csv").read_text().splitlines()
    assert len(lines) == 10 and "backend.pulses" in header and "solver.free.energy_joules" in header
    rows = json.loads((out / "runs.json").read_text())
    cbram = next(r for r in rows if r["target"] == "annealing/cbram")
    assert cbram["backend.pulses"] > 0 and len(cbram["accuracy_curve"]) == 2
    memristor = next(r for r in rows if r["target"] == "memristor/ideal")
    assert memristor["energy_joules"] == pytest.approx(
        memristor["solver.free.energy_joules"] + memristor["solver.nudged.energy_joules"])
    md = (out / "summary.md").read_text()
    assert "| memristor/cbram |" in md and "`annealing/mcu-int8`: backend 'mcu-int8' requires" in md
    assert json.loads((out / "summary.json").read_text())["targets"] == summary["targets"]

    # a finished compare redraws from its cache: nothing recomputed, the same numbers
    again = _json_main(capsys, ["compare", *SPLIT, *FAST, *SWEEPS, "--solvers", "annealing,memristor",
                                "--backends", "ideal,cbram,mcu-int8", "--seeds", "0,1", "--out", str(out), "--json"])
    assert again["executed"] == 0 and again["cached"] == 10 and again["targets"] == summary["targets"]


def test_summary_tables_qpu_time_for_targets_that_report_it(data, tmp_path):
    """dwave-mock targets (P4 chip) get a QPU table: calls, access, per example-phase, reference / target."""
    pytest.importorskip("dwave.system")
    from eqising.comparison.report import markdown_summary

    mock = {"solver": "dwave-mock", "hidden_layer_sizes": [6], "replicas": 1, "max_iter": 1, "num_reads": 2}
    chip = {"topology_shape": 4, "embedding_cache": str(tmp_path / "embeddings")}
    result = compare([{"name": "one", **mock, "solver_params": {**chip, "max_copies": 1}},
                      {"name": "copies", **mock, "solver_params": chip},
                      {"name": "float", "hidden_layer_sizes": [6], "max_iter": 1}],
                     data=load_dataset("digits", train_size=40, test_size=20), seeds=[0], out=tmp_path / "out",
                     plots=False)
    by = {r["target"]: r for r in result.rows}

    def access(name):
        return by[name]["solver.free.qpu_access_seconds"] + by[name]["solver.nudged.qpu_access_seconds"]

    md = (tmp_path / "out" / "summary.md").read_text()
    table = md[md.index("QPU time"):].splitlines()
    rows = {line.split(" | ")[0].lstrip("| "): line for line in table if line.startswith("| ") and "---" not in line}
    assert set(rows) == {"target", "one", "copies"}  # the float target reports no QPU time
    calls = by["copies"]["solver.free.qpu_calls"] + by["copies"]["solver.nudged.qpu_calls"]
    assert f"| copies | {calls:.0f} | {access('copies'):.3f} |" in rows["copies"]
    assert rows["copies"].endswith(f"| {access('one') / access('copies'):.2f}x |")
    assert access("one") / access("copies") > 1.5 and rows["one"].endswith("| reference |")
    only_float = {**result.summary, "reference": "float",
                  "targets": [t for t in result.summary["targets"] if t["target"] == "float"]}
    assert "QPU time" not in markdown_summary(only_float)  # no solver reports it: no table


def test_runs_are_paired_by_seed(serial):
    rows = serial.rows
    assert [r["status"] for r in rows] == ["ok"] * 8
    # every seed of a run (initialisation, shuffles, solver and backend seeds) derives from its root seed,
    # which depends on the seed index alone: the same for every target at a seed, different across seeds
    roots = {s: {r["root_seed"] for r in rows if r["seed"] == s} for s in (0, 1)}
    assert all(len(v) == 1 for v in roots.values()) and roots[0] != roots[1]
    by = {(r["target"], r["seed"]): r for r in rows}
    diff = serial.summary["targets"][1]["difference_to_reference"]
    expected = [by["annealing/cbram", s]["test_accuracy"] - by["annealing/ideal", s]["test_accuracy"] for s in (0, 1)]
    assert diff["mean"] == pytest.approx(np.mean(expected))


def test_a_compare_run_equals_eqising_train(data, serial, capsys):
    for target, solver, backend, seed in (("memristor/cbram", "memristor", "cbram", 1),):
        train = _json_main(capsys, ["train", *SPLIT, *FAST, *SWEEPS, "--solver", solver, "--backend", backend,
                                    "--seed", str(seed), "--json"])
        row = next(r for r in serial.rows if r["target"] == target and r["seed"] == seed)
        assert row["test_accuracy"] == train["test_accuracy"]
        assert row["train_accuracy"] == train["train_accuracy_last_epoch"]
        assert row["spin_updates"] == train["spin_updates"]
        for phase, cost in train["solver_cost"].items():
            for key, value in cost.items():
                if key != "solver_seconds":
                    assert row[f"solver.{phase}.{key}"] == value, (phase, key)
        for key, value in train["backend_cost"].items():
            assert row[f"backend.{key}"] == value, key


def test_in_situ_target_equals_eqising_train_on_that_backend(data, capsys, tmp_path):
    result = compare(cross_targets(["annealing"], ["mcu-int8"]), data=data, seeds=[2], settings=SETTINGS)
    assert [s.name for s in plan(cross_targets(["annealing"], ["mcu-int8"]), SETTINGS)[1]] == ["annealing/mcu-int8"]
    (row,) = result.rows
    train = _json_main(capsys, ["train", *SPLIT, *FAST, "--backend", "mcu-int8", "--seed", "2", "--json"])
    assert row["target"] == "in-situ/mcu-int8" and row["test_accuracy"] == train["test_accuracy"]
    assert row["spin_updates"] == train["spin_updates"]
    assert row["backend.pulses"] == train["backend_cost"]["pulses"]


# ------------------------------------------------------------------ running
def test_joblib_processes_give_the_same_runs(data, serial):
    result = compare(_targets(), data=data, seeds=[0, 1], settings=SETTINGS, jobs=2)
    assert _determined(result.rows) == _determined(serial.rows)


def test_dask_local_cluster_gives_the_same_runs(data, serial):
    distributed = pytest.importorskip("distributed")
    import dask

    with dask.config.set({"distributed.comm.timeouts.connect": "30s", "distributed.comm.timeouts.tcp": "30s"}), \
            distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                     dashboard_address=None, silence_logs=40) as cluster:
        assert len(cluster.workers) == 2
        result = compare(_targets(), data=data, seeds=[0, 1], settings=SETTINGS, scheduler=cluster.scheduler_address)
    assert _determined(result.rows) == _determined(serial.rows)


def test_scheduler_local_starts_and_stops_its_own_cluster(data, serial):
    pytest.importorskip("distributed")
    import dask

    with dask.config.set({"distributed.comm.timeouts.connect": "30s"}):
        result = compare(_targets()[:2], data=data, seeds=[0, 1], settings=SETTINGS, scheduler="local", jobs=2)
    assert _determined(result.rows) == _determined(serial.rows[:4])


def test_a_failing_run_is_recorded_and_the_others_go_on(data, tmp_path):
    targets = [Target("tiny-ram", {"backend": "mcu-int8", "backend_params": {"ram_budget": 64}}),
               Target("ideal", {"solver_params": {"num_sweeps": 20}})]
    result = compare(targets, data=data, seeds=[0], settings=SETTINGS, out=tmp_path, reference="ideal")
    failed, ok = result.rows
    assert failed["status"] == "failed" and "ram_budget" in failed["error"] and ok["status"] == "ok"
    assert result.summary["failed_runs"][0]["target"] == "tiny-ram"
    assert result.summary["targets"][0]["runs"] == 0 and result.summary["targets"][0]["failed"] == 1
    assert "Failed runs" in (tmp_path / "summary.md").read_text()
    assert len(list((tmp_path / "runs").glob("*.json"))) == 1  # a failed run is retried next time, not cached


@pytest.mark.slow
def test_sigint_then_restart_recomputes_no_finished_run(tmp_path, data):
    out = tmp_path / "cmp"
    argv = [sys.executable, "-m", "eqising.cli", "compare", "--train-size", "400", "--test-size", "100",
            "--hidden", "32", "--epochs", "3", "--solvers", "memristor", "--backends", "ideal,cbram",
            "--seeds", "0,1,2", "--out", str(out)]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    runs = out / "runs"
    deadline = time.monotonic() + 240
    while not (runs.is_dir() and any(runs.glob("*.json"))):
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "no run finished in 240 s"
        time.sleep(0.02)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err.decode()
    assert b"run the same command to resume" in err
    finished = {p.name: p.stat().st_mtime_ns for p in runs.glob("*.json")}
    assert 1 <= len(finished) < 6, "the interrupt must come before the last run for this test to mean anything"
    assert not list(runs.glob(".*.tmp")), "an interrupted write must leave no temporary file"

    done = subprocess.run([*argv[:3], *argv[3:], "--json"], capture_output=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr.decode()
    summary = json.loads(done.stdout)
    assert summary["cached"] == len(finished) and summary["executed"] == 6 - len(finished)
    assert all(runs.joinpath(name).stat().st_mtime_ns == mtime for name, mtime in finished.items())

    # ...and the table is that of an uninterrupted compare
    uninterrupted = compare(cross_targets(["memristor"], ["ideal", "cbram"]),
                            data=load_dataset("digits", train_size=400, test_size=100),
                            seeds=[0, 1, 2], settings={"hidden_layer_sizes": [32], "max_iter": 3})
    rows = json.loads((out / "runs.json").read_text())
    assert _determined(rows) == _determined(uninterrupted.rows)


# ------------------------------------------------------------------ bad grids
def _error(capsys, argv):
    code = main(argv)
    captured = capsys.readouterr()
    assert code == 2 and captured.out == "", captured
    return captured.err


@pytest.mark.parametrize(("grid", "suffix", "message"), [
    ('[[targets]]\nsolver = "anealing"\n', ".toml", "anealing"),
    ('[[targets]]\nsolver = "annealing"\nnudgee = 1.0\n', ".toml", "nudgee"),
    ('[[targets]]\nsolver = "annealing"\nsolver_params = { num_sweep = 3 }\n', ".toml", "num_sweep"),
    ('[[targets]]\nbackend = "cbram"\ngrid = { "backend_params.prune_ratio" = [] }\n', ".toml", "non-empty list"),
    ("targets = []\n", ".toml", "non-empty list of target tables"),
    ("[settings]\nmax_iter = 2\n", ".toml", "non-empty list of target tables"),
    ('[[targets]\nsolver = "annealing"\n', ".toml", "parses as TOML"),
    ('{"targets": [{"solver": "annealing"},]}', ".json", "parses as JSON"),
    ('{"targets": [{"solver": "annealing"}], "seeds": [0]}', ".json", "only the keys"),
])
def test_bad_grid_files_are_errors_before_any_run(tmp_path, capsys, grid, suffix, message):
    path = tmp_path / f"grid{suffix}"
    path.write_text(grid)
    err = _error(capsys, ["compare", *SPLIT, "--grid", str(path), "--out", str(tmp_path / "out")])
    assert message in err and "eqising compare: error:" in err
    assert not (tmp_path / "out").exists()


def test_bad_command_lines_are_errors_before_any_run(tmp_path, capsys):
    out = tmp_path / "out"
    err = _error(capsys, ["compare", *SPLIT, "--solvers", "annealing,anealing", "--out", str(out)])
    assert "'anealing'" in err and "annealing" in err
    err = _error(capsys, ["compare", *SPLIT, "--backends", "ideal,crbam", "--out", str(out)])
    assert "'crbam'" in err
    err = _error(capsys, ["compare", *SPLIT, "--solver-params", '{"num_sweep": 3}', "--out", str(out)])
    assert "num_sweep" in err
    err = _error(capsys, ["compare", *SPLIT, "--reference", "nope", "--out", str(out)])
    assert "'reference'" in err and "nope" in err
    err = _error(capsys, ["compare", *SPLIT, "--grid", "g.toml", "--solvers", "annealing"])
    assert "--grid" in err
    assert not out.exists()
    with pytest.raises(InvalidParameterError, match="non-empty list"):
        compare([])
    with pytest.raises(InvalidParameterError, match="distinct"):
        compare([{"name": "a"}, {"name": "a", "nudge": 1.0}])
    with pytest.raises(InvalidParameterError, match="seeds"):
        compare([{"name": "a"}], seeds=[])


# ------------------------------------------------------------------ pieces
def test_grid_file_crosses_parameter_grids(tmp_path):
    path = tmp_path / "grid.toml"
    path.write_text(
        '[settings]\nhidden_layer_sizes = [16]\n\n'
        '[[targets]]\nname = "float"\n\n'
        '[[targets]]\nname = "cbram"\nbackend = "cbram"\n'
        'grid = { "backend_params.prune_ratio" = [0.1, 0.3], nudge = [1.0, 2.0] }\n'
    )
    settings, targets = load_grid(path)
    assert settings == {"hidden_layer_sizes": [16]}
    assert [t.name for t in targets] == [
        "float", "cbram[prune_ratio=0.1,nudge=1.0]", "cbram[prune_ratio=0.1,nudge=2.0]",
        "cbram[prune_ratio=0.3,nudge=1.0]", "cbram[prune_ratio=0.3,nudge=2.0]"]
    assert targets[4].params == {"backend": "cbram", "backend_params": {"prune_ratio": 0.3}, "nudge": 2.0}
    runnable, skipped = plan(targets, settings)
    assert len(runnable) == 5 and not skipped
    json_path = tmp_path / "grid.json"
    json_path.write_text(json.dumps({"targets": [{"name": "x", "grid": {"nudge": [1.0, 3.0]}}]}))
    assert [t.name for t in load_grid(json_path)[1]] == ["x[nudge=1.0]", "x[nudge=3.0]"]


def test_paired_interval_is_students_t_on_the_differences():
    from scipy import stats

    a = {0: 0.91, 1: 0.88, 2: 0.93, 3: 0.90}
    b = {0: 0.89, 1: 0.87, 2: 0.90, 3: 0.90, 7: 0.5}  # seed 7 has no pair: left out
    diff = paired_difference(a, b)
    ci = stats.ttest_rel([a[s] for s in range(4)], [b[s] for s in range(4)]).confidence_interval(0.95)
    assert diff["n"] == 4 and diff["seeds"] == [0, 1, 2, 3]
    assert diff["mean"] == pytest.approx(0.015) and (diff["low"], diff["high"]) == pytest.approx((ci.low, ci.high))
    single = paired_difference({0: 0.5}, {0: 0.4})
    assert single["mean"] == pytest.approx(0.1) and single["low"] is None


def test_pareto_front_keeps_only_undominated_points():
    costs = [0.0, 1.0, 2.0, 0.5, 3.0]
    accuracy = [0.80, 0.90, 0.85, 0.80, 0.95]
    assert pareto_front(costs, accuracy) == [0, 1, 4]


def test_cache_key_changes_with_data_target_seed_and_versions(data):
    from eqising.comparison.cache import data_digest, run_key

    digest, versions = data_digest(data), {"eqising": "0.1.0"}
    key = run_key(digest, "t", {"nudge": 2.0}, 0, versions)
    other = load_dataset("digits", train_size=201, test_size=100)
    assert len({key, run_key(data_digest(other), "t", {"nudge": 2.0}, 0, versions),
                run_key(digest, "t", {"nudge": 1.0}, 0, versions), run_key(digest, "t", {"nudge": 2.0}, 1, versions),
                run_key(digest, "t", {"nudge": 2.0}, 0, {"eqising": "0.2.0"})}) == 5
    assert key == run_key(data_digest(load_dataset("digits", train_size=200, test_size=100)), "t", {"nudge": 2.0},
                          0, dict(versions))


def test_no_name_branch_in_the_comparison_package():
    """The comparison reads requirements generically: it never compares with a solver or backend name."""
    import eqising.comparison as package
    from eqising.hardware import BACKENDS
    from eqising.solvers import SOLVERS
    from test_targets import _compared_strings

    names = set(SOLVERS) | set(BACKENDS)
    for path in Path(package.__file__).parent.glob("*.py"):
        assert not (_compared_strings(path) & names), path


@pytest.mark.parametrize("path", sorted((Path(__file__).resolve().parents[1] / "benchmarks" / "grids").glob("*.toml")),
                         ids=lambda p: p.name)
def test_shipped_grid_files_plan_cleanly(path):
    settings, targets = load_grid(path)
    runnable, skipped = plan(targets, settings)
    assert runnable and not skipped


def test_compare_trains_with_the_datasets_defaults_under_given_settings():
    from eqising.datasets import Dataset

    base = load_dataset("digits", train_size=80, test_size=30)
    data = Dataset(base.X_train, base.y_train, base.X_test, base.y_test, "digits-shifted", (8, 8),
                   {"shift_augment": 1, "image_shape": (8, 8)})
    settings = {"hidden_layer_sizes": [8], "max_iter": 1, "batch_size": 20}
    targets = [{"name": "dataset-default"}, {"name": "unshifted", "shift_augment": 0}]
    result = compare(targets, data=data, seeds=[0], settings=settings)
    assert result.summary["settings"]["shift_augment"] == 1
    rows = {r["target"]: r for r in result.rows}
    assert all(r["status"] == "ok" for r in rows.values())
    bare = Dataset(base.X_train, base.y_train, base.X_test, base.y_test, "digits-bare", (8, 8), {})
    plain = compare([{"name": "unshifted"}], data=bare, seeds=[0], settings=settings)
    # the target's own parameter wins over the dataset's default; the default changes the run
    assert rows["unshifted"]["test_accuracy"] == plain.rows[0]["test_accuracy"]
    assert rows["dataset-default"]["params"]["shift_augment"] == 1
    assert rows["dataset-default"]["test_accuracy"] != rows["unshifted"]["test_accuracy"] or \
        rows["dataset-default"]["loss_curve"] != rows["unshifted"]["loss_curve"]


def test_a_changed_default_is_a_new_run_not_a_cached_one(tmp_path, monkeypatch):
    from eqising import EqPropClassifier

    data = load_dataset("digits", train_size=60, test_size=20)
    settings = {"hidden_layer_sizes": [8], "max_iter": 1, "batch_size": 20}
    first = compare([{"name": "t"}], data=data, seeds=[0], settings=settings, out=tmp_path, plots=False)
    again = compare([{"name": "t"}], data=data, seeds=[0], settings=settings, out=tmp_path, plots=False)
    assert (first.summary["executed"], again.summary["executed"]) == (1, 0)
    # the same explicit settings under another default (as after an upgrade) must not reuse the cached run
    monkeypatch.setitem(EqPropClassifier.__init__.__kwdefaults__, "nudge", 3.0)
    changed = compare([{"name": "t"}], data=data, seeds=[0], settings=settings, out=tmp_path, plots=False)
    assert changed.summary["executed"] == 1
