"""Checkpoints and resume: an interrupted seeded run ends bit-identical to one that was not interrupted."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from eqising import EqPropClassifier, load_dataset, load_model, save_model
from eqising.cli import main

CHEAP = {"hidden_layer_sizes": (12,), "batch_size": 25, "solver_params": {"num_sweeps": 12}, "random_state": 5}
TRAIN = ["train", "--train-size", "150", "--test-size", "40", "--hidden", "12", "--batch-size", "25",
         "--solver-params", '{"num_sweeps": 12}', "--seed", "5", "--json"]


@pytest.fixture(scope="module")
def data():
    return load_dataset("digits", train_size=150, test_size=40)


def _without_wall_times(history: dict) -> dict:
    """A history dict with every wall time removed (the only thing a resumed run may change)."""
    history = json.loads(json.dumps(history))
    for epoch in history["epochs"]:
        del epoch["seconds"]
        for cost in epoch["solver_cost"].values():
            cost.pop("solver_seconds", None)
    return history


def assert_same_model(a: EqPropClassifier, b: EqPropClassifier) -> None:
    for x, y in zip(a.network_.weights + a.network_.biases, b.network_.weights + b.network_.biases, strict=True):
        np.testing.assert_array_equal(x, y)
    assert _without_wall_times(a.history_.to_dict()) == _without_wall_times(b.history_.to_dict())
    for key, value in a.backend_.state().items():
        np.testing.assert_array_equal(value, b.backend_.state()[key])


@pytest.mark.parametrize(
    "params",
    [{}, {"optimizer": "sgd", "momentum": 0.5, "learning_rate": 0.01}, {"backend": "ecram"},
     {"backend": "mcu-int8", "solver_params": None, "backend_params": {"num_sweeps": 12}},
     {"shift_augment": 1}],
    ids=["adam", "sgd-momentum", "ecram", "mcu-int8", "shift-augment"],
)
def test_python_resume_is_bit_identical(data, tmp_path, params):
    straight = EqPropClassifier(**{**CHEAP, **params}, max_iter=4).fit(data.X_train, data.y_train)
    first = EqPropClassifier(**{**CHEAP, **params})
    classes = np.unique(data.y_train)
    for _ in range(2):
        first.partial_fit(data.X_train, data.y_train, classes=classes)
    save_model(first, tmp_path, checkpoint=True)
    del first
    resumed = load_model(tmp_path)
    for _ in range(2):
        resumed.partial_fit(data.X_train, data.y_train)
    assert resumed.n_iter_ == 4
    assert_same_model(straight, resumed)
    np.testing.assert_array_equal(straight.predict(data.X_test), resumed.predict(data.X_test))


def test_without_checkpoint_state_adam_restarts(data, tmp_path):
    """The optimizer state is what makes resume exact: a plain save restarts Adam's moments."""
    straight = EqPropClassifier(**CHEAP, max_iter=3).fit(data.X_train, data.y_train)
    first = EqPropClassifier(**CHEAP, max_iter=2).fit(data.X_train, data.y_train)
    save_model(first, tmp_path)  # no training state
    plain = load_model(tmp_path).partial_fit(data.X_train, data.y_train)
    assert any(not np.array_equal(x, y) for x, y in zip(straight.network_.weights, plain.network_.weights))


def test_checkpoint_holds_optimizer_state(data, tmp_path):
    clf = EqPropClassifier(**CHEAP, max_iter=1).fit(data.X_train, data.y_train)
    save_model(clf, tmp_path, checkpoint=True)
    with np.load(tmp_path / "model.npz") as npz:
        keys = set(npz.files)
    assert {"engine.t", "engine.m.0", "engine.v.0"} <= keys
    assert json.loads((tmp_path / "model.json").read_text())["checkpoint"] is True


# ---------------------------------------------------------------------------- CLI
def _interrupt_at(monkeypatch, call: int) -> None:
    """Raise KeyboardInterrupt (what Ctrl-C raises) inside the ``call``-th epoch (1-based)."""
    real = EqPropClassifier.partial_fit
    calls = {"n": 0}

    def partial_fit(self, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == call:
            raise KeyboardInterrupt
        return real(self, *args, **kwargs)

    monkeypatch.setattr(EqPropClassifier, "partial_fit", partial_fit)


def test_cli_interrupt_then_resume_is_bit_identical(tmp_path, monkeypatch, capsys):
    assert main([*TRAIN, "--epochs", "4", "--out", str(tmp_path / "straight")]) == 0
    straight_summary = json.loads(capsys.readouterr().out)
    with monkeypatch.context() as m:
        _interrupt_at(m, 3)
        code = main([*TRAIN, "--epochs", "4", "--out", str(tmp_path / "cut")])
    captured = capsys.readouterr()
    assert code == 130
    assert captured.out == ""
    last = captured.err.strip().splitlines()[-1]
    assert last == (f"eqising train: interrupted; epoch 2 is saved in {tmp_path / 'cut'}; "
                    f"resume with: eqising train --resume {tmp_path / 'cut'}")
    assert "Traceback" not in captured.err
    assert load_model(tmp_path / "cut").n_iter_ == 2  # the last good checkpoint
    assert main(["train", "--resume", str(tmp_path / "cut"), "--json"]) == 0
    resumed_summary = json.loads(capsys.readouterr().out)
    assert_same_model(load_model(tmp_path / "straight"), load_model(tmp_path / "cut"))
    for key in ("test_accuracy", "train_accuracy_last_epoch", "spin_updates", "network", "epochs"):
        assert resumed_summary[key] == straight_summary[key]


def test_cli_resume_takes_no_other_options(tmp_path, capsys):
    assert main([*TRAIN, "--epochs", "1", "--out", str(tmp_path)]) == 0
    capsys.readouterr()
    assert main(["train", "--resume", str(tmp_path), "--epochs", "3"]) == 2
    err = capsys.readouterr().err
    assert "'--resume' option of eqising train must come alone" in err and "--epochs" in err


def test_cli_refuses_to_overwrite_a_model(tmp_path, capsys):
    assert main([*TRAIN, "--epochs", "1", "--out", str(tmp_path)]) == 0
    before = (tmp_path / "model.npz").read_bytes()
    capsys.readouterr()
    assert main([*TRAIN, "--epochs", "1", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "'--out' option of eqising train must be a folder without a model" in err and "--resume" in err
    assert (tmp_path / "model.npz").read_bytes() == before


def test_ctrl_c_during_a_save_comes_after_the_whole_save(data, tmp_path, monkeypatch):
    """A SIGINT while the arrays are being zipped: the save completes, then KeyboardInterrupt is raised."""
    model = EqPropClassifier(**CHEAP, max_iter=1).fit(data.X_train, data.y_train)
    savez, calls = np.savez, []

    def interrupted_savez(*args, **kwargs):  # Ctrl-C lands inside the serialisation
        calls.append(1)
        signal.raise_signal(signal.SIGINT)
        return savez(*args, **kwargs)

    monkeypatch.setattr(np, "savez", interrupted_savez)
    with pytest.raises(KeyboardInterrupt):
        save_model(model, tmp_path, checkpoint=True)
    monkeypatch.setattr(np, "savez", savez)
    assert calls == [1]
    assert_same_model(load_model(tmp_path), model)
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # the handler is back


def test_interrupts_deferred_delivers_to_the_handler_in_place():
    from eqising._files import interrupts_deferred

    seen = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: seen.append(signum))
    try:
        with interrupts_deferred():
            signal.raise_signal(signal.SIGINT)
            signal.raise_signal(signal.SIGINT)
            assert seen == []  # held back inside the block
        assert seen == [signal.SIGINT]  # delivered once, to the caller's own handler
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        with interrupts_deferred():
            signal.raise_signal(signal.SIGINT)
        assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN  # an ignored SIGINT stays ignored
    finally:
        signal.signal(signal.SIGINT, previous)


def test_ctrl_c_in_a_real_process(tmp_path):
    """SIGINT to a running ``eqising train --out``: one line, exit status 130, a loadable checkpoint."""
    out = tmp_path / "run"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    cmd = [sys.executable, "-m", "eqising.cli", *TRAIN, "--epochs", "500", "--out", str(out)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True)
    try:
        deadline = time.monotonic() + 120
        while not (out / "model.json").exists():
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline
            time.sleep(0.05)
        proc.send_signal(signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, stderr
    assert "Traceback" not in stderr
    assert stderr.strip().splitlines()[-1].startswith("eqising train: interrupted; epoch ")
    assert stdout == ""
    model = load_model(out)
    assert 1 <= model.n_iter_ < 500


@pytest.mark.parametrize("masked, as_cause", [
    (ValueError("Can't close the ZIP file while there is an open writing handle on it"), False),  # np.savez
    (SystemError("CPUDispatcher(<function f>) returned a result with an exception set"), True),  # CPython's
])
def test_an_error_raised_while_ctrl_c_unwinds_counts_as_the_interrupt(monkeypatch, capsys, masked, as_cause):
    """An error that Ctrl-C caused (zipfile's when it lands inside np.savez; CPython's when it lands in the
    Python code boxing a compiled call's result): still exit 130."""
    from eqising import cli

    def interrupted_then_masked(args):
        try:
            raise KeyboardInterrupt
        except KeyboardInterrupt as exc:
            if as_cause:  # CPython chains the pending KeyboardInterrupt as the cause
                raise masked from exc
            raise masked from None  # zipfile raises while the interrupt unwinds: only the context holds it

    monkeypatch.setattr(cli, "_train", interrupted_then_masked)
    assert cli.main(["train", "--epochs", "1"]) == 130
    assert "interrupted" in capsys.readouterr().err


def test_a_system_error_not_caused_by_ctrl_c_is_not_an_interrupt(monkeypatch):
    from eqising import cli

    def broken(args):
        raise SystemError("a real bug")

    monkeypatch.setattr(cli, "_train", broken)
    with pytest.raises(SystemError, match="a real bug"):
        cli.main(["train", "--epochs", "1"])


def test_cli_resumes_a_run_folder_from_before_shift_augment(tmp_path, monkeypatch, capsys):
    # a folder written before --shift-augment existed: its run.json lacks the option
    with monkeypatch.context() as m:
        _interrupt_at(m, 2)
        assert main([*TRAIN, "--epochs", "3", "--out", str(tmp_path)]) == 130
    capsys.readouterr()
    run = json.loads((tmp_path / "run.json").read_text())
    del run["shift_augment"]
    (tmp_path / "run.json").write_text(json.dumps(run))
    assert main(["train", "--resume", str(tmp_path), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["epochs"] == 3 and summary["shift_augment"] == 0
    # without the fill-in the missing option would be reported; unknown ones still are
    run["bogus"] = 1
    (tmp_path / "run.json").write_text(json.dumps(run))
    assert main(["train", "--resume", str(tmp_path)]) == 2
    assert "unknown ['bogus']" in capsys.readouterr().err
