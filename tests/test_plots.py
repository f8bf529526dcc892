"""Figures of a training run: ``eqising train --out`` draws them, ``eqising plot`` redraws them."""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

import numpy as np
import pytest

from eqising import EqPropClassifier
from eqising.cli import main
from eqising.eqprop import class_scores
from eqising.plots import FIGURES, write_figures

pytest.importorskip("matplotlib")

FAST = ["--hidden", "16", "--batch-size", "20", "--train-size", "200", "--test-size", "100", "--epochs", "2"]
PNG = b"\x89PNG\r\n\x1a\n"


def _run(argv):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)
    return code, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module", params=["ideal", "mcu-int8"])
def run(request, tmp_path_factory):
    """One `eqising train --out` run per engine (float solver + ideal weights; the int8 device)."""
    folder = tmp_path_factory.mktemp(f"plots-{request.param}")
    code, out, err = _run(["train", *FAST, "--backend", request.param, "--json", "--out", str(folder)])
    assert code == 0, err
    return folder, json.loads(out)


def test_train_out_writes_the_figures(run):
    folder, printed = run
    assert [Path(p).name for p in printed["figures"]] == list(FIGURES)
    for name in FIGURES:
        assert (folder / name).read_bytes().startswith(PNG)
    assert not list(folder.glob(".*.tmp"))  # written atomically, nothing half-written left


def test_summary_holds_what_the_figures_need(run):
    folder, printed = run
    saved = json.loads((folder / "summary.json").read_text())
    history = saved["history"]
    assert len(history["loss"]) == len(history["accuracy"]) == len(history["solver_cost"]) == 2
    assert len(history["backend_cost"]) == 2 and {"free", "nudged"} <= set(history["solver_cost"][0])
    energies = np.array(saved["test_reads"]["energies"])
    assert energies.shape == (100, 10)  # every test example, every read
    # the correct flags are those of the predictions the test accuracy was computed from
    assert np.mean(saved["test_reads"]["correct"]) == pytest.approx(printed["test_accuracy"])


def test_plot_redraws_from_the_saved_summary(run, tmp_path):
    folder, _ = run
    code, out, err = _run(["plot", str(folder), "--out", str(tmp_path), "--json"])
    assert code == 0, err
    assert [Path(p).name for p in json.loads(out)["figures"]] == list(FIGURES)
    for name in FIGURES:
        assert (tmp_path / name).read_bytes().startswith(PNG)
    # the summary.json path works too, and redraws in place by default
    before = (folder / "costs.png").stat().st_mtime_ns
    assert _run(["plot", str(folder / "summary.json")])[0] == 0
    assert (folder / "costs.png").stat().st_mtime_ns >= before


def test_no_plots_skips_the_figures(tmp_path):
    code, out, err = _run(["train", *FAST, "--json", "--out", str(tmp_path), "--no-plots"])
    assert code == 0, err
    assert "figures" not in json.loads(out)
    assert not list(tmp_path.glob("*.png"))
    assert "history" in json.loads((tmp_path / "summary.json").read_text())  # eqising plot can draw them later


def test_plot_refuses_what_is_not_a_training_summary(tmp_path):
    (tmp_path / "summary.json").write_text(json.dumps({"command": "evaluate", "test_accuracy": 0.5}))
    code, _, err = _run(["plot", str(tmp_path)])
    assert code == 2 and "must hold" in err and "history" in err
    assert not list(tmp_path.glob("*.png"))
    (tmp_path / "summary.json").write_text("not json")
    code, _, err = _run(["plot", str(tmp_path)])
    assert code == 2 and "not JSON" in err
    code, _, err = _run(["plot", str(tmp_path / "missing")])
    assert code == 2 and "No such file" in err


def test_train_out_without_matplotlib_fails_before_training(tmp_path, monkeypatch):
    import eqising.plots

    monkeypatch.setattr(eqising.plots, "matplotlib_missing", lambda: True)
    code, _, err = _run(["train", *FAST, "--out", str(tmp_path)])
    assert code == 2 and "eqising[plots]" in err and "--no-plots" in err
    assert not list(tmp_path.iterdir())  # refused before anything was trained or written
    with pytest.raises(ValueError, match=r"eqising\[plots\]"):
        write_figures({}, tmp_path)


@pytest.mark.parametrize("backend", ["ideal", "mcu-int8"])
def test_engine_reads_are_the_reads_predictions_come_from(small_digits, backend):
    clf = EqPropClassifier(hidden_layer_sizes=(16,), backend=backend, max_iter=1, random_state=0)
    clf.fit(small_digits.X_train, small_digits.y_train)
    X = small_digits.X_test[:30]
    reads = clf.engine_.reads(X, num_reads=clf.num_reads, seed=clf.prediction_seed_)
    assert reads.spins.shape == (30, clf.num_reads, clf.network_.n_spins) and reads.spins.dtype == np.int8
    scores = class_scores(reads, clf.network_.output_slice, len(clf.classes_), clf.replicas)
    np.testing.assert_array_equal(clf.classes_[scores.argmax(axis=1)], clf.predict(X))
    # energies are the network's energies of those reads (the device's up to its input quantisation)
    np.testing.assert_allclose(reads.energies, clf.network_.energy(X, reads.spins), atol=0.5 if backend != "ideal" else 1e-9)
