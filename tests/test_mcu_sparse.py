"""Sparse update on the mcu-int8 backend: the contribution analysis, frozen rows that training never changes
(numpy and the compiled C), the SRAM / flash budget against the compiled sizes, bit-exact sparse steps."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from eqising import EqPropClassifier, LayeredIsingNetwork, load_dataset, load_model, save_model
from eqising._validation import InvalidParameterError
from eqising.eqprop import one_hot_spins
from eqising.hardware import make_backend
from eqising.hardware.mcu import Int8Model, export_c, memory_budget, train_step
from eqising.hardware.mcu.fixed import ONE
from eqising.hardware.mcu.sparse import frozen_sram, row_contributions, select_trainable_rows

GCC = shutil.which("gcc")
needs_gcc = pytest.mark.skipif(GCC is None, reason="gcc is not installed")
HP = {"nudge_q": 2 * ONE, "lr_q": int(0.5 / 2 * 2**24), "lr_bias_q": int(0.05 / 2 * 2**24), "skip_correct": True}


def _model(sizes, seed=0, **kw):
    rng = np.random.default_rng(seed)
    net = LayeredIsingNetwork.initialize(sizes, rng)
    net.biases = [rng.uniform(-0.3, 0.3, size=b.shape) for b in net.biases]
    args = dict(weight_clip=1.0, bias_clip=1.0, field_clip=4.0, beta_range=(0.05, 6.5), num_sweeps=8,
                reheat=0.25, headroom=1.0)
    args.update(kw)
    return Int8Model.from_float(net.weights, net.biases, **args)


def _sparse(model, seed=2):
    rng = np.random.default_rng(seed)
    model.trainable = [rng.random(q.shape[0]) < 0.5 for q in model.q]
    for t in model.trainable:
        t[0], t[-1] = True, False  # some rows of each kind in every matrix
    return model


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits", random_state=0)


# ------------------------------------------------------------------ budget
def test_sram_and_flash_of_the_reference_network():
    dense = memory_budget((784, 120, 40), batch_size=8, num_sweeps=50)
    assert dense["training"]["total"] == 111_484  # unchanged: the figure of the full update
    tables = 512 + 4 * 50 + 4 * 3 * 3
    assert dense["sram"]["total"] == dense["training"]["total"] - tables
    assert dense["flash"]["frozen_weights_int8"] == 1  # C has no empty arrays
    frozen = memory_budget((784, 120, 40), batch_size=8, num_sweeps=50, frozen_rows=[400, 0])
    assert dense["sram"]["total"] - frozen["sram"]["total"] == 400 * 120
    assert frozen["flash"]["frozen_weights_int8"] == 400 * 120
    assert frozen["flash"]["initial_weights_int8"] == 784 * 120 + 120 * 40 - 400 * 120


def test_a_budget_below_the_all_frozen_state_is_refused():
    backend = make_backend("mcu-int8", {"sparse_update": 1000})
    net = LayeredIsingNetwork.initialize((64, 120, 40), np.random.default_rng(0))
    with pytest.raises(InvalidParameterError, match="'sparse_update' parameter of backend 'mcu-int8'") as err:
        backend.program(net.weights, net.biases, weight_clip=1.0, bias_clip=1.0, field_clip=4.0, seed=0,
                        batch_size=8)
    assert "every weight frozen" in str(err.value) and "1000 bytes" in str(err.value)
    for bad in (0, -5, 1.5, "big"):
        with pytest.raises(InvalidParameterError, match="'sparse_update'"):
            make_backend("mcu-int8", {"sparse_update": bad})


# ------------------------------------------------------------------ contribution analysis
def test_dead_inputs_contribute_nothing_and_freeze_first():
    model = _model((16, 12, 8))
    rng = np.random.default_rng(1)
    x = rng.integers(0, 256, size=(8, 16)).astype(np.uint8)
    x[:, :5] = 0  # five inputs that never light up: their rows can take no change
    t = one_hot_spins(rng.integers(0, 4, size=8), 4, 2).astype(np.int8)
    before = model.copy()
    scores = row_contributions(model, x, t, steps=4, seed=9, **HP)
    np.testing.assert_array_equal(model.q[0], before.q[0])  # the probe runs on a copy
    assert (scores[0][:5] == 0).all() and (scores[0][5:] > 0).sum() >= 8
    least = frozen_sram(model, 8)
    budget = least + 6 * 12  # room for six rows of the input matrix
    chosen = select_trainable_rows(model, scores, sram_budget=budget, batch_size=8)
    assert not chosen[0][:5].any()
    frozen = [int((~c).sum()) for c in chosen]
    assert memory_budget(model.layer_sizes, 8, model.num_sweeps, frozen)["sram"]["total"] <= budget
    again = row_contributions(model, x, t, steps=4, seed=9, **HP)
    assert all(np.array_equal(a, b) for a, b in zip(scores, again))  # deterministic from the seed


def test_frozen_rows_never_change_in_the_emulation():
    model = _sparse(_model((16, 10, 6, 8)))
    start = model.copy()
    rng = np.random.default_rng(3)
    changed = 0
    for s in range(10):
        x = rng.integers(0, 256, size=(4, 16)).astype(np.uint8)
        t = one_hot_spins(rng.integers(0, 4, size=4), 4, 2).astype(np.int8)
        train_step(model, x, t, seed=100 + s, **HP)
    for q0, q1, keep in zip(start.q, model.q, model.trainable):
        np.testing.assert_array_equal(q1[~keep], q0[~keep])
        changed += int((q1[keep] != q0[keep]).sum())
    for m0, m1 in zip(start.m, model.m):
        np.testing.assert_array_equal(m0, m1)  # a matrix with frozen rows keeps its scales
    assert changed > 0


# ------------------------------------------------------------------ estimator
def test_estimator_with_sparse_update_keeps_frozen_rows_and_reloads(digits, tmp_path):
    X, y = digits.X_train[:400], digits.y_train[:400]
    full = memory_budget((64, 120, 40), 8, 50)["sram"]["total"]
    budget = full - 40 * 120  # 40 of the 64 input rows' worth must go to flash
    clf = EqPropClassifier(backend="mcu-int8", backend_params={"sparse_update": budget, "sparse_probe_steps": 2},
                           batch_size=8, max_iter=1, random_state=0)
    clf.fit(X, y)
    model = clf.backend_.model
    init = LayeredIsingNetwork.initialize((64, 120, 40), np.random.default_rng(0))  # only for shapes
    assert [t.shape[0] for t in model.trainable] == [w.shape[0] for w in init.weights]
    fresh = EqPropClassifier(backend="mcu-int8", backend_params={"sparse_update": budget, "sparse_probe_steps": 2},
                             batch_size=8, max_iter=1, random_state=0)
    fresh._initialize(*fresh._resolve(), 64, np.unique(y))  # the programmed model before any step
    for q0, q1, keep in zip(fresh.backend_.model.q, model.q, model.trainable):
        np.testing.assert_array_equal(q1[~keep], q0[~keep])
    memory = clf.backend_.diagnostics()["memory_bytes"]
    assert memory["sram"]["total"] <= budget and memory["flash"]["frozen_weights_int8"] >= 40 * 120
    path = tmp_path / "sparse"
    save_model(clf, path)
    again = load_model(path)
    for a, b in zip(again.backend_.model.trainable, model.trainable):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(again.predict(digits.X_test), clf.predict(digits.X_test))


# ------------------------------------------------------------------ C export
def _build(directory: Path) -> Path:
    cmd = ["gcc", "-std=c99", "-Wall", "-Wextra", "-Werror", "-O2", "-o", "harness",
           "eqint8.c", "eqint8_model.c", "harness.c"]
    subprocess.run(cmd, cwd=directory, check=True, capture_output=True, text=True)
    return directory / "harness"


def _run(harness: Path, args: list[str], text: str) -> list[str]:
    return subprocess.run([str(harness), *args], input=text, capture_output=True, text=True,
                          check=True).stdout.splitlines()


@needs_gcc
@pytest.mark.parametrize("sparse", [False, True])
def test_compiled_sizes_equal_the_sram_and_flash_budget(sparse, tmp_path):
    model = _model((16, 10, 6, 8))
    if sparse:
        _sparse(model)
    export_c(model, tmp_path, n_classes=4, replicas=2, max_batch=4)
    sizes = {k: int(v) for k, v in (line.split() for line in _run(_build(tmp_path), ["sizes"], ""))}
    budget = memory_budget(model.layer_sizes, 4, model.num_sweeps, model.frozen_rows())
    sram, flash = budget["sram"], budget["flash"]
    assert sizes["model"] + sizes["train_ws"] + sizes["batch_x"] + sizes["batch_y"] + sram["rng_state"] == sram["total"]
    assert sizes["model"] == sram["scales_int32"] + sram["biases_int32"] + sram["weights_int8"] + sram["model_padding"]
    assert sum(sizes[k] for k in ("frozen_q", "initial_q", "initial_m", "initial_b", "row_offsets", "row_base",
                                  "sigmoid", "betas", "index_tables")) == flash["total"]
    assert sizes["frozen_q"] == flash["frozen_weights_int8"] == (sum(
        int((~t).sum()) * q.shape[1] for t, q in zip(model.trainable, model.q)) if sparse else 1)


@needs_gcc
def test_frozen_weights_are_const_data_in_the_compiled_library(tmp_path):
    export_c(_sparse(_model((16, 12, 8))), tmp_path, n_classes=4, replicas=2, max_batch=4)
    subprocess.run(["gcc", "-std=c99", "-O2", "-c", "eqint8_model.c"], cwd=tmp_path, check=True)
    symbols = subprocess.run(["nm", "eqint8_model.o"], cwd=tmp_path, capture_output=True, text=True,
                             check=True).stdout
    kinds = {line.split()[-1]: line.split()[-2] for line in symbols.splitlines()}
    assert kinds["eq_frozen_q"] in "rR" and kinds["eq_initial_q"] in "rR"  # read-only data: flash


@needs_gcc
@pytest.mark.parametrize("sizes", [(16, 12, 8), (16, 10, 6, 8)])
def test_c_sparse_training_steps_are_bit_identical(sizes, tmp_path):
    model = _sparse(_model(sizes, seed=5))
    start = model.copy()
    n_classes, replicas, batch, steps = 4, 2, 4, 6
    export_c(model, tmp_path, n_classes=n_classes, replicas=replicas, max_batch=batch)
    harness = _build(tmp_path)
    rng = np.random.default_rng(1)
    x = rng.integers(0, 256, size=(10, sizes[0]))
    y = rng.integers(0, n_classes, size=10)
    text = "10\n" + "\n".join(" ".join(map(str, r)) + f" {c}" for r, c in zip(x, y)) + "\n"
    hp = [HP["nudge_q"], HP["lr_q"], HP["lr_bias_q"], 1]
    lines = _run(harness, ["train", "123", str(steps), str(batch), *map(str, hp)], text)
    expected = []
    for s in range(steps):
        idx = [(s * batch + k) % 10 for k in range(batch)]
        t = one_hot_spins(y[idx], n_classes, replicas).astype(np.int8)
        r = train_step(model, x[idx].astype(np.uint8), t, seed=123 + s, **HP)
        expected.append(f"step {s} saturations {sum(r.saturations)} rescales {sum(r.rescales)} "
                        f"steps_written {sum(r.steps_written)} skipped {int(r.skipped.sum())}")
    assert lines[:steps] == expected
    q, m, b = (np.array(line.split()[1:], dtype=np.int64) for line in lines[steps:steps + 3])
    np.testing.assert_array_equal(q, np.concatenate([a.ravel() for a in model.q]))
    np.testing.assert_array_equal(m, np.concatenate(model.m))
    np.testing.assert_array_equal(b, np.concatenate(model.b))
    c_q = np.split(q, np.cumsum([a.size for a in model.q])[:-1])
    for c, q0, keep in zip(c_q, start.q, model.trainable):
        np.testing.assert_array_equal(c.reshape(q0.shape)[~keep], q0[~keep])  # frozen in the C too
    assert sum(int(e.split()[7]) for e in expected) > 0
