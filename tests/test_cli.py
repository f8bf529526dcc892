"""Tests of the command line (eqising.cli.main, in-process, and the installed console script)."""

from __future__ import annotations

import contextlib
import io
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from eqising import load_model
from eqising.cli import main

MNIST_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "datasets" / "mnist"

FAST = ["--hidden", "16", "--solver-params", '{"num_sweeps": 20}', "--batch-size", "20"]
SPLIT = ["--train-size", "200", "--test-size", "100"]

SUMMARY_KEYS = {
    "command",
    "dataset",
    "n_train",
    "n_test",
    "network",
    "solver",
    "nudge",
    "nudge_mode",
    "epochs",
    "test_accuracy",
    "train_seconds",
    "solver_seconds",
    "spin_updates",
    "spin_updates_per_second",
    "solver_cost",
}


def run_json(capsys, argv):
    """Run main(argv) with --json; return (exit code, parsed stdout, stderr)."""
    code = main(argv)
    captured = capsys.readouterr()
    lines = [line for line in captured.out.splitlines() if line.strip()]
    assert len(lines) == 1, f"--json must print exactly one line on stdout, got {captured.out!r}"
    return code, json.loads(lines[0]), captured.err


def run_error(capsys, argv, *, quiet=True):
    """Run main(argv) expecting a handled error; return stderr."""
    code = main(argv)
    captured = capsys.readouterr()
    assert code == 2, (code, captured.err)
    if quiet:
        assert captured.out == ""
    return captured.err


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """One `eqising train --json --out DIR` run shared by the tests below."""
    out = tmp_path_factory.mktemp("cli") / "model"
    argv = ["train", *SPLIT, "--epochs", "2", *FAST, "--json", "--out", str(out)]
    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        code = main(argv)
    return code, stdout.getvalue(), stderr.getvalue(), out


def test_train_json_summary(trained):
    code, out, err, _ = trained
    assert code == 0, err
    lines = [line for line in out.splitlines() if line.strip()]
    assert len(lines) == 1, out  # exactly one JSON object on stdout; progress goes to stderr
    summary = json.loads(lines[0])
    assert SUMMARY_KEYS <= set(summary), SUMMARY_KEYS - set(summary)
    assert summary["command"] == "train"
    assert summary["dataset"] == "digits"
    assert summary["solver"] == "annealing"
    assert summary["n_train"] == 200 and summary["n_test"] == 100
    assert summary["network"] == "64-16-20"  # digits' measured default: 2 output spins per class
    assert summary["epochs"] == 2
    assert 0.0 <= summary["test_accuracy"] <= 1.0
    assert summary["train_seconds"] > 0 and summary["solver_seconds"] > 0
    assert summary["solver_seconds"] <= summary["train_seconds"]
    assert isinstance(summary["spin_updates"], int) and summary["spin_updates"] > 0
    cost = summary["solver_cost"]
    assert set(cost) == {"free", "nudged"}
    assert cost["free"]["spin_updates"] + cost["nudged"]["spin_updates"] == summary["spin_updates"]
    assert "epoch   2/2" in err


def test_train_out_folder(trained):
    _, out, _, folder = trained
    assert {"model.json", "model.npz", "summary.json"} <= {p.name for p in folder.iterdir()}
    summary = json.loads(out)
    saved = json.loads((folder / "summary.json").read_text())  # plus what the figures are drawn from
    assert {k: v for k, v in saved.items() if k not in ("history", "test_reads")} == {
        k: v for k, v in summary.items() if k != "figures"}
    assert Path(summary["model"]) == folder / "model.json"
    model = load_model(folder)
    assert model.n_iter_ == 2 and model.hidden_layer_sizes == (16,)


def test_evaluate_reproduces_test_accuracy(trained, capsys):
    _, out, _, folder = trained
    code, summary, _ = run_json(capsys, ["evaluate", str(folder), *SPLIT, "--json"])
    assert code == 0
    assert summary["command"] == "evaluate"
    assert summary["dataset"] == "digits" and summary["n_test"] == 100
    assert summary["solver"] == "annealing"
    assert summary["test_accuracy"] == json.loads(out)["test_accuracy"]
    # also through the model.json path
    code, again, _ = run_json(capsys, ["evaluate", str(folder / "model.json"), *SPLIT, "--json"])
    assert again["test_accuracy"] == summary["test_accuracy"]


def test_train_human_readable_summary(capsys):
    code = main(["train", "--train-size", "60", "--test-size", "30", "--epochs", "1", *FAST])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "summary" in captured.out and "test_accuracy" in captured.out
    assert "epoch   1/1" in captured.out


# ------------------------------------------------------------------ errors
def test_unknown_solver(capsys):
    err = run_error(capsys, ["train", *SPLIT, "--epochs", "1", "--solver", "anealing"])
    assert err.startswith("eqising train: error:")
    assert "'solver'" in err and "'anealing'" in err and "'annealing'" in err


def test_unknown_solver_param(capsys):
    # solver_params keys are only checked when the solver is built, after the header line is printed
    err = run_error(
        capsys, ["train", *SPLIT, "--epochs", "1", "--solver-params", '{"num_sweps": 5}'], quiet=False
    )
    assert "'solver_params'" in err and "num_sweps" in err


@pytest.mark.parametrize(
    "argv",
    [
        ["--nudge", "0"],
        ["--nudge-mode", "sideways"],
        ["--optimizer", "adm"],
        ["--batch-size", "-1"],
    ],
    ids=["nudge", "nudge-mode", "optimizer", "batch-size"],
)
def test_bad_hyperparameters(capsys, argv):
    err = run_error(capsys, ["train", *SPLIT, "--epochs", "1", *argv])
    value = argv[1]
    assert "error:" in err and value in err


def test_zero_epochs(capsys):
    err = run_error(capsys, ["train", *SPLIT, "--epochs", "0"])
    assert "epochs" in err or "max_iter" in err
    assert "Got 0" in err


@pytest.mark.parametrize("hidden", ["abc", "0", "16,-2", ""])
def test_bad_hidden_is_an_argparse_error(capsys, hidden):
    with pytest.raises(SystemExit) as info:
        main(["train", "--hidden", hidden])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "--hidden" in err and "comma-separated positive ints" in err


@pytest.mark.parametrize("text", ["not json", "[1, 2]"])
def test_bad_solver_params_is_an_argparse_error(capsys, text):
    with pytest.raises(SystemExit) as info:
        main(["train", "--solver-params", text])
    assert info.value.code == 2
    assert "--solver-params" in capsys.readouterr().err


def test_unknown_dataset_is_an_argparse_error(capsys):
    with pytest.raises(SystemExit) as info:
        main(["train", "--dataset", "cifar"])
    assert info.value.code == 2
    assert "--dataset" in capsys.readouterr().err


def test_no_command_is_an_argparse_error(capsys):
    with pytest.raises(SystemExit) as info:
        main([])
    assert info.value.code == 2


def test_bad_train_size(capsys):
    err = run_error(capsys, ["train", "--train-size", "0", "--epochs", "1"])
    assert "'train_size'" in err and "Got 0" in err


def test_mnist_without_data_dir(capsys):
    err = run_error(capsys, ["train", "--dataset", "mnist", "--epochs", "1"])
    assert "data_dir" in err or "data-dir" in err


def test_mnist_missing_data_dir_folder(capsys, tmp_path):
    err = run_error(
        capsys, ["train", "--dataset", "mnist", "--data-dir", str(tmp_path / "nope"), "--epochs", "1"]
    )
    assert "'data_dir'" in err and "nope" in err


def test_evaluate_missing_model(capsys, tmp_path):
    err = run_error(capsys, ["evaluate", str(tmp_path / "absent"), "--json"])
    assert err.startswith("eqising evaluate: error:") and "absent" in err


def test_evaluate_corrupt_model(trained, capsys, tmp_path):
    folder = tmp_path / "model"
    shutil.copytree(trained[3], folder)
    (folder / "model.json").write_bytes(b"\x89garbage\x00")
    err = run_error(capsys, ["evaluate", str(folder), *SPLIT])
    assert err.startswith("eqising evaluate: error:") and "not valid JSON" in err


def test_evaluate_tampered_arrays(trained, capsys, tmp_path):
    folder = tmp_path / "model"
    shutil.copytree(trained[3], folder)
    raw = bytearray((folder / "model.npz").read_bytes())
    raw[-100] ^= 0x01
    (folder / "model.npz").write_bytes(bytes(raw))
    err = run_error(capsys, ["evaluate", str(folder), *SPLIT])
    assert "checksum differs" in err


# ------------------------------------------------------------------- MNIST
@pytest.fixture(scope="module")
def mnist_dir():
    if not MNIST_DIR.is_dir():
        pytest.skip(f"shared MNIST folder {MNIST_DIR} is absent")
    return MNIST_DIR


def test_train_and_evaluate_mnist(mnist_dir, capsys, tmp_path):
    split = ["--dataset", "mnist", "--data-dir", str(mnist_dir), "--train-size", "100", "--test-size", "50"]
    code, summary, _ = run_json(
        capsys, ["train", *split, "--epochs", "1", *FAST, "--json", "--out", str(tmp_path)]
    )
    assert code == 0
    assert summary["dataset"] == "mnist"
    assert summary["n_train"] == 100 and summary["n_test"] == 50
    assert summary["network"] == "784-16-40"
    code, evaluated, _ = run_json(capsys, ["evaluate", str(tmp_path), *split, "--json"])
    assert code == 0 and evaluated["test_accuracy"] == summary["test_accuracy"]


def test_mnist_shift_augments_by_default_and_an_option_overrides_it(mnist_dir, capsys, tmp_path):
    split = ["--dataset", "mnist", "--data-dir", str(mnist_dir), "--train-size", "60", "--test-size", "20"]
    runs = {}
    for name, extra in {"default": [], "off": ["--shift-augment", "0"], "two": ["--shift-augment", "2"]}.items():
        code, summary, _ = run_json(capsys, ["train", *split, "--epochs", "1", *FAST, "--json", *extra,
                                             "--out", str(tmp_path / name)])
        assert code == 0
        runs[name] = summary
    assert [runs[k]["shift_augment"] for k in ("default", "off", "two")] == [1, 0, 2]
    # the saved model carries what it trained with, so evaluate and resume see the same estimator
    saved = json.loads((tmp_path / "default" / "model.json").read_text())["params"]
    assert saved["shift_augment"] == 1 and saved["image_shape"] == [28, 28]
    code, summary, _ = run_json(capsys, ["train", *split, "--epochs", "1", *FAST, "--json"])
    assert summary["shift_augment"] == 1


def test_digits_trains_on_unshifted_images_by_default(capsys):
    code, summary, _ = run_json(capsys, ["train", *SPLIT, "--epochs", "1", *FAST, "--json"])
    assert code == 0 and summary["shift_augment"] == 0


def test_digits_defaults_yield_to_explicit_options(capsys):
    quick = ["--hidden", "16", "--solver-params", '{"num_sweeps": 20}']
    code, default, _ = run_json(capsys, ["train", *SPLIT, "--epochs", "1", *quick, "--json"])
    assert (default["replicas"], default["batch_size"], default["network"]) == (2, 16, "64-16-20")
    code, given, _ = run_json(capsys, ["train", *SPLIT, "--epochs", "1", *quick, "--replicas", "4",
                                       "--batch-size", "32", "--json"])
    assert (given["replicas"], given["batch_size"], given["network"]) == (4, 32, "64-16-40")


def test_bad_shift_augment_option(capsys):
    with pytest.raises(SystemExit) as info:
        main(["train", *SPLIT, "--epochs", "1", "--shift-augment", "one"])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "--shift-augment" in err and "'one'" in err
    err = run_error(capsys, ["train", *SPLIT, "--epochs", "1", "--shift-augment", "-1"])
    assert "'shift_augment' parameter" in err and "-1" in err


def test_evaluate_digits_model_on_mnist(trained, mnist_dir, capsys):
    err = run_error(
        capsys,
        [
            "evaluate",
            str(trained[3]),
            "--dataset",
            "mnist",
            "--data-dir",
            str(mnist_dir),
            "--test-size",
            "10",
        ],
    )
    assert "64" in err and "784" in err


# ----------------------------------------------------------- console script
def _console_script() -> str | None:
    name = "eqising.exe" if sys.platform == "win32" else "eqising"
    beside = Path(sys.executable).parent / name
    return str(beside) if beside.is_file() else shutil.which("eqising")


def test_console_script_help():
    script = _console_script()
    if script is None:
        pytest.skip("the eqising console script is not installed")
    result = subprocess.run([script, "--help"], check=False, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "train" in result.stdout and "evaluate" in result.stdout


def test_console_script_error_exit_code(tmp_path):
    script = _console_script()
    if script is None:
        pytest.skip("the eqising console script is not installed")
    result = subprocess.run(
        [script, "evaluate", str(tmp_path / "absent")],
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert "eqising evaluate: error:" in result.stderr


def test_train_nudge_options_reach_the_estimator(capsys):
    argv = ["train", *SPLIT, "--epochs", "1", *FAST, "--nudge-mode", "symmetric", "--balanced-nudge",
            "--nudge", "1.5", "--json"]
    code, summary, _ = run_json(capsys, argv)
    assert code == 0
    assert summary["nudge_mode"] == "symmetric"
    assert summary["balanced_nudge"] is True
    assert summary["nudge"] == 1.5
    assert summary["spin_updates"] > 0


# ------------------------------------------------------------ Ocean solvers
@pytest.mark.parametrize(
    "argv",
    [
        ["--solver", "neal"],
        ["--solver", "dimod", "--sampler", "dwave.samplers:SimulatedAnnealingSampler"],
    ],
    ids=["neal", "dimod-sampler"],
)
def test_train_with_ocean_samplers(capsys, tmp_path, argv):
    out = tmp_path / "model"
    code, summary, err = run_json(
        capsys, ["train", *SPLIT, "--epochs", "1", *FAST, *argv, "--json", "--out", str(out)]
    )
    assert code == 0, err
    assert summary["solver"] == argv[1]
    assert summary["solver_diagnostics"]["free"]["effective_temperature"] >= 0.0
    model = load_model(out)
    assert type(model.solver_.sampler).__name__ == "SimulatedAnnealingSampler"


@pytest.mark.parametrize(
    "argv, match",
    [
        (["--sampler", "dwave.samplers:SimulatedAnnealingSampler"], r"'solver_params' parameter of EqPropClassifier .*unknown key\(s\) \['sampler'\]"),
        (["--solver", "dimod", "--sampler", "nocolon"], r"'sampler' parameter of solver 'dimod'"),
        (["--solver", "dimod", "--sampler", "no.such.module:Sampler"], "can be imported"),
    ],
)
def test_bad_sampler_option(capsys, argv, match):
    err = run_error(capsys, ["train", *SPLIT, "--epochs", "1", *argv])
    assert re.search(match, err), err


def test_dwave_without_a_token_exits_with_a_clear_error(capsys, tmp_path, monkeypatch):
    import os

    for var in [k for k in os.environ if k.startswith("DWAVE")]:
        monkeypatch.delenv(var)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    monkeypatch.setenv("EQISING_CACHE_DIR", str(tmp_path))
    err = run_error(capsys, ["train", *SPLIT, "--epochs", "1", "--solver", "dwave"], quiet=False)
    assert "API token" in err and "DWAVE_API_TOKEN" in err and "--solver dwave-mock" in err
