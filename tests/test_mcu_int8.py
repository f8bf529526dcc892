"""The mcu-int8 backend: integer engine statistics, estimator wiring, memory budget, and the C export
compiled with the system gcc (bit-exact predictions and training steps against the numpy emulation)."""

from __future__ import annotations

import itertools
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from eqising import EqPropClassifier, LayeredIsingNetwork, load_dataset, load_model, save_model
from eqising._validation import InvalidParameterError
from eqising.cli import main
from eqising.eqprop import one_hot_spins
from eqising.hardware import BACKENDS, McuInt8Backend, make_backend
from eqising.hardware.mcu import Int8Model, export_c, infer, memory_budget, train_step
from eqising.hardware.mcu.engine import _stochastic_round, anneal, external_fields
from eqising.hardware.mcu.fixed import ONE, draws, sigmoid_table, stream_key

GCC = shutil.which("gcc")
needs_gcc = pytest.mark.skipif(GCC is None, reason="gcc is not installed")


def _model(sizes, seed=0, **kw):
    rng = np.random.default_rng(seed)
    net = LayeredIsingNetwork.initialize(sizes, rng)
    net.biases = [rng.uniform(-0.3, 0.3, size=b.shape) for b in net.biases]
    args = dict(weight_clip=1.0, bias_clip=1.0, field_clip=4.0, beta_range=(0.05, 6.5), num_sweeps=10,
                reheat=0.25, headroom=1.0)
    args.update(kw)
    return Int8Model.from_float(net.weights, net.biases, **args)


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits", random_state=0)


# ------------------------------------------------------------------ fixed point and engine
def test_sigmoid_table_and_draws():
    lut = sigmoid_table()
    assert lut.dtype == np.uint16 and lut.shape == (256,)
    assert np.all(np.diff(lut.astype(int)) >= 0) and lut[0] < 30 and lut[-1] > 65500
    assert abs(int(lut[127]) + int(lut[128]) - 65536) <= 1  # symmetric about zero field
    r = draws(stream_key(7, np.arange(4, dtype=np.uint32)), np.arange(50_000, dtype=np.uint32))
    u = (r >> 16).astype(np.float64) / 65536
    assert abs(u.mean() - 0.5) < 0.005 and abs(u.var() - 1 / 12) < 0.002
    assert abs(np.corrcoef(u[0], u[1])[0, 1]) < 0.02  # streams of different examples are independent


def test_stochastic_rounding_is_unbiased():
    v = np.full(200_000, 3 * 65536 + 16384, dtype=np.int64)  # 3.25 steps
    r16 = (draws(stream_key(1, np.array([0], np.uint32)), np.arange(v.size, dtype=np.uint32))[0] >> 16).astype(np.int64)
    out = _stochastic_round(v, r16)
    assert set(np.unique(out)) == {3, 4} and abs(out.mean() - 3.25) < 0.01
    out = _stochastic_round(-v, r16)
    assert set(np.unique(out)) == {-4, -3} and abs(out.mean() + 3.25) < 0.01


def test_integer_annealer_samples_the_boltzmann_distribution():
    """At a fixed temperature the LUT heat-bath is a Gibbs sampler of the dequantised network."""
    model = _model((3, 2, 2), seed=3, num_sweeps=1, beta_range=(1.0, 1.0))
    xq = np.array([[200, 30, 120]], dtype=np.uint8)
    ext = external_fields(model, xq)
    rows = 40_000
    keys = stream_key(11, np.arange(rows, dtype=np.uint32))
    spins = anneal(model, np.repeat(ext, rows, axis=0), keys, np.zeros(12, dtype=np.int64), 0)
    W, _ = model.dequantized()
    h = ext[0] / ONE
    states = np.array(list(itertools.product([-1, 1], repeat=4)))
    energy = -(states @ h) - np.einsum("si,ij,sj->s", states[:, :2], W[1], states[:, 2:])
    p = np.exp(-energy - (-energy).max())
    p /= p.sum()
    codes = ((spins > 0) * (1 << np.arange(3, -1, -1))).sum(axis=1)
    hist = np.bincount(codes, minlength=16) / rows
    assert 0.5 * np.abs(hist - p).sum() < 0.02


def test_train_step_moves_outputs_towards_targets():
    """Repeated integer steps on one example make the free phase produce the target."""
    model = _model((6, 8, 4), seed=1)
    xq = np.array([[255, 0, 128, 64, 255, 10]], dtype=np.uint8)
    target = np.array([[1, 1, -1, -1]], dtype=np.int8)
    before = infer(model, xq, seed=5, num_reads=8, n_classes=2)
    for s in range(40):
        train_step(model, xq, target, seed=s, nudge_q=2 * ONE, lr_q=int(0.05 / 2 * 2**24),
                   lr_bias_q=int(0.005 / 2 * 2**24), skip_correct=False)
    after = infer(model, xq, seed=5, num_reads=8, n_classes=2)
    assert after[0, 0] > after[0, 1] and after[0, 0] > before[0, 0]


def test_saturation_is_counted_and_doubles_the_scale():
    model = _model((4, 3, 2), seed=2, headroom=1.0)
    model.q[0][:] = 127
    m_before = model.m[0].copy()
    xq = np.full((2, 4), 255, dtype=np.uint8)
    target = np.array([[1, -1], [1, -1]], dtype=np.int8)
    res = None
    for s in range(20):
        res = train_step(model, xq, target, seed=s, nudge_q=4 * ONE, lr_q=int(1.0 / 4 * 2**24), lr_bias_q=0,
                         skip_correct=False)
        if res.rescales[0]:
            break
    assert res is not None and res.saturations[0] >= res.rescales[0] > 0
    grown = model.m[0] > m_before
    assert np.all(model.m[0][grown] == 2 * m_before[grown])
    assert np.all(np.abs(model.q[0][:, grown]) <= 64)
    assert np.all(np.abs(model.q[0]) <= model.qmax(0)[None, :])


def test_zero_learning_rate_leaves_weights_alone():
    model = _model((5, 4, 4), seed=4)
    before = model.copy()
    xq = np.arange(10, dtype=np.uint8).reshape(2, 5) * 20
    res = train_step(model, xq, np.array([[1, -1, 1, -1]] * 2, np.int8), seed=9, nudge_q=2 * ONE, lr_q=0,
                     lr_bias_q=0, skip_correct=False)
    assert res.steps_written == [0, 0]
    for a, b in zip(model.q + model.b, before.q + before.b):
        np.testing.assert_array_equal(a, b)


# ------------------------------------------------------------------ memory budget
def test_memory_budget_of_the_reference_network():
    budget = memory_budget((784, 120, 40), batch_size=8, num_sweeps=50)
    train = budget["training"]
    assert train["weights_int8"] == 784 * 120 + 120 * 40
    assert train["spins_free_int8"] == train["spins_nudged_int8"] == 8 * 160
    assert train["total"] == sum(v for k, v in train.items() if k != "total")
    assert train["total"] == 111_484 <= 128 * 1024  # the figure the README states for batches of 8
    assert budget["inference"]["total"] < train["total"]


def test_ram_budget_refuses_a_model_that_does_not_fit():
    backend = make_backend("mcu-int8", {"ram_budget": 100_000})
    rng = np.random.default_rng(0)
    net = LayeredIsingNetwork.initialize((784, 120, 40), rng)
    with pytest.raises(InvalidParameterError) as err:
        backend.program(net.weights, net.biases, weight_clip=1.0, bias_clip=1.0, seed=0, batch_size=32)
    msg = str(err.value)
    need = memory_budget((784, 120, 40), 32, 50)["training"]["total"]
    assert "'ram_budget' parameter of backend 'mcu-int8'" in msg and str(need) in msg and "100000 bytes" in msg
    make_backend("mcu-int8", {"ram_budget": need}).program(
        net.weights, net.biases, weight_clip=1.0, bias_clip=1.0, seed=0, batch_size=32
    )


# ------------------------------------------------------------------ estimator
def test_backend_is_registered_and_validated():
    assert BACKENDS["mcu-int8"] is McuInt8Backend
    assert McuInt8Backend.requirements["solver"] is None and McuInt8Backend.requirements["optimizer"] == "sgd"
    with pytest.raises(InvalidParameterError, match="'num_sweeps' parameter of backend 'mcu-int8'"):
        make_backend("mcu-int8", {"num_sweeps": 0})
    with pytest.raises(InvalidParameterError, match="unknown key"):
        make_backend("mcu-int8", {"bits": 4})


def test_defaults_follow_what_the_device_computes(digits):
    """With no option but the backend, the estimator takes the device's settings (no solver, SGD, lr 0.02)."""
    clf = EqPropClassifier(backend="mcu-int8", max_iter=1, random_state=0).fit(digits.X_train[:64], digits.y_train[:64])
    s = clf.engine_.settings
    assert (s.optimizer, s.momentum, s.nudge_mode, s.phase_reads, s.learning_rate) == ("sgd", 0.0, "positive", 1, 0.02)
    assert clf.solver_ is None and "in situ" in clf.engine_.description
    assert clf.get_params()["optimizer"] == "auto"  # the parameter itself is not changed by fit


def test_a_short_last_batch_moves_in_proportion_on_the_device(digits):
    """The last minibatch of an epoch (here 3 examples of 32) takes a step scaled by 3/32, as the float
    engine's does, instead of a full step from 3 examples (which wrecked the model at every epoch end)."""
    from eqising.hardware.mcu.training import Int8DeviceEngine

    clf = EqPropClassifier(backend="mcu-int8", max_iter=1, random_state=0).fit(digits.X_train[:64], digits.y_train[:64])
    engine: Int8DeviceEngine = clf.engine_
    seen = []
    real = engine.backend.train_step

    def spy(X, targets, **kw):
        seen.append((len(X), kw["learning_rate"], kw["bias_learning_rate"]))
        return real(X, targets, **kw)

    engine.backend.train_step = spy
    targets = np.where(np.arange(40)[None, :] < 4, 1.0, -1.0).repeat(3, axis=0)
    engine.step(digits.X_train[:3], targets, seed=1, learning_rates=(0.02, 0.002))
    assert seen == [(3, pytest.approx(0.02 * 3 / 32), pytest.approx(0.002 * 3 / 32))]


@pytest.mark.parametrize(
    "kw, name",
    [({"optimizer": "adam"}, "optimizer"), ({"nudge_mode": "symmetric"}, "nudge_mode"),
     ({"phase_reads": 2}, "phase_reads"), ({"balanced_nudge": True}, "balanced_nudge"),
     ({"solver": "memristor"}, "solver"), ({"solver_params": {"num_sweeps": 9}}, "solver_params")],
)
def test_estimator_refuses_what_the_device_cannot_do(digits, kw, name):
    params = {"backend": "mcu-int8", "optimizer": "sgd", **kw}
    with pytest.raises(InvalidParameterError, match=f"'{name}' parameter of EqPropClassifier"):
        EqPropClassifier(**params).fit(digits.X_train[:40], digits.y_train[:40])


def test_inputs_outside_unit_range_are_refused(digits):
    clf = EqPropClassifier(backend="mcu-int8", optimizer="sgd", max_iter=1, random_state=0)
    with pytest.raises(InvalidParameterError, match="'X' parameter of backend 'mcu-int8'"):
        clf.fit(digits.X_train[:40] * 16, digits.y_train[:40])


@pytest.fixture(scope="module")
def trained(digits, tmp_path_factory):
    clf = EqPropClassifier(backend="mcu-int8", max_iter=2, random_state=0)
    clf.fit(digits.X_train, digits.y_train)
    path = tmp_path_factory.mktemp("mcu") / "model"
    save_model(clf, path)
    return clf, path


def test_estimator_trains_in_integers_and_reloads(digits, trained):
    clf, path = trained
    assert clf.score(digits.X_test, digits.y_test) > 0.5  # two epochs: far above chance (0.1)
    W, _ = clf.backend_.effective_weights()
    np.testing.assert_array_equal(W[0], clf.network_.weights[0])
    m = clf.backend_.model
    assert m.q[0].dtype == np.int8 and np.abs(m.q[0]).max() <= 127
    assert clf.backend_cost_["pulses"] > 0 and clf.spin_updates_ > 0
    assert all(cost["pulses"] > 0 for cost in clf.backend_layer_cost_)
    pred = clf.predict(digits.X_test)
    np.testing.assert_array_equal(clf.predict(digits.X_test[7:12]), pred[7:12])  # independent of batching
    again = load_model(path)
    np.testing.assert_array_equal(again.backend_.model.q[0], m.q[0])
    np.testing.assert_array_equal(again.predict(digits.X_test), clf.predict(digits.X_test))


# ------------------------------------------------------------------ C export
def _build(directory: Path) -> Path:
    info_cmd = ["gcc", "-std=c99", "-Wall", "-Wextra", "-Werror", "-O2", "-o", "harness",
                "eqint8.c", "eqint8_model.c", "harness.c"]
    subprocess.run(info_cmd, cwd=directory, check=True, capture_output=True, text=True)
    return directory / "harness"


def _run(harness: Path, args: list[str], text: str) -> list[str]:
    out = subprocess.run([str(harness), *args], input=text, capture_output=True, text=True, check=True)
    return out.stdout.splitlines()


def test_exported_library_has_no_floating_point(tmp_path):
    export_c(_model((6, 5, 4)), tmp_path, n_classes=2, replicas=2, max_batch=2)
    for name in ("eqint8.c", "eqint8.h", "eqint8_model.c", "eqint8_model.h"):
        text = (tmp_path / name).read_text()
        assert not re.search(r"\b(float|double)\b", text), name
        assert not re.search(r"\b(malloc|calloc|realloc|free)\s*\(", text), name


@needs_gcc
def test_c_predictions_on_digits_equal_the_emulation(digits, trained, tmp_path):
    clf, path = trained
    assert main(["export-c", str(path), "--out", str(tmp_path), "--json"]) == 0
    harness = _build(tmp_path)
    sizes = dict(line.split() for line in _run(harness, ["sizes"], ""))
    budget = memory_budget(clf.backend_.model.layer_sizes, clf.batch_size, clf.backend_.model.num_sweeps)["training"]
    assert int(sizes["train_ws"]) == sum(budget[k] for k in (
        "update_gains_int64", "external_fields_int32", "spins_free_int8", "spins_nudged_int8",
        "saturation_flags_uint8", "skip_flags_uint8", "scratch_padding"))
    assert int(sizes["model"]) == budget["scales_int32"] + budget["biases_int32"] + budget["weights_int8"] + budget["model_padding"]
    xq = np.minimum(np.round(digits.X_test * 256), 255).astype(int)
    text = f"{len(xq)}\n" + "\n".join(" ".join(map(str, row)) for row in xq) + "\n"
    seed = str(clf.prediction_seed_ & 0xFFFFFFFF)
    c_pred = np.array([int(v) for v in _run(harness, ["predict", seed, str(clf.num_reads)], text)])
    np.testing.assert_array_equal(clf.classes_[c_pred], clf.predict(digits.X_test))


@needs_gcc
@pytest.mark.parametrize("sizes", [(16, 12, 8), (16, 10, 6, 8)])
def test_c_training_steps_are_bit_identical(sizes, tmp_path):
    model = _model(sizes, seed=5, num_sweeps=8)
    n_classes, replicas, batch, steps = 4, 2, 4, 6
    export_c(model, tmp_path, n_classes=n_classes, replicas=replicas, max_batch=batch)
    harness = _build(tmp_path)
    rng = np.random.default_rng(1)
    x = rng.integers(0, 256, size=(10, sizes[0]))
    y = rng.integers(0, n_classes, size=10)
    text = "10\n" + "\n".join(" ".join(map(str, r)) + f" {c}" for r, c in zip(x, y)) + "\n"
    hp = [2 * ONE, int(0.5 / 2 * 2**24), int(0.05 / 2 * 2**24), 1]
    lines = _run(harness, ["train", "123", str(steps), str(batch), *map(str, hp)], text)
    expected = []
    for s in range(steps):
        idx = [(s * batch + k) % 10 for k in range(batch)]
        t = one_hot_spins(y[idx], n_classes, replicas).astype(np.int8)
        r = train_step(model, x[idx].astype(np.uint8), t, seed=123 + s, nudge_q=hp[0], lr_q=hp[1], lr_bias_q=hp[2],
                       skip_correct=True)
        expected.append(f"step {s} saturations {sum(r.saturations)} rescales {sum(r.rescales)} "
                        f"steps_written {sum(r.steps_written)} skipped {int(r.skipped.sum())}")
    assert lines[:steps] == expected
    q, m, b = (np.array(line.split()[1:], dtype=np.int64) for line in lines[steps:steps + 3])
    np.testing.assert_array_equal(q, np.concatenate([a.ravel() for a in model.q]))
    np.testing.assert_array_equal(m, np.concatenate(model.m))
    np.testing.assert_array_equal(b, np.concatenate(model.b))
    assert sum(int(e.split()[7]) for e in expected) > 0  # the steps really changed weights


def test_export_c_of_a_float_model_quantises_it(digits, tmp_path, capsys):
    clf = EqPropClassifier(max_iter=1, random_state=0).fit(digits.X_train[:200], digits.y_train[:200])
    save_model(clf, tmp_path / "float")
    assert main(["export-c", str(tmp_path / "float"), "--out", str(tmp_path / "c"), "--max-batch", "4", "--json"]) == 0
    import json

    summary = json.loads(capsys.readouterr().out)
    assert summary["quantised_from_float"] and summary["max_batch"] == 4
    assert summary["memory_bytes"] == memory_budget((64, 120, 40), 4, 50)
    assert (tmp_path / "c" / "eqint8_model.c").is_file()
    assert main(["export-c", str(tmp_path / "float"), "--out", str(tmp_path / "c"), "--max-batch", "0"]) == 2


def test_cli_ram_budget_is_refused_with_the_numbers(capsys):
    argv = ["train", "--backend", "mcu-int8", "--optimizer", "sgd", "--ram-budget", "15000", "--epochs", "1",
            "--train-size", "60", "--test-size", "20"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    need = memory_budget((64, 120, 20), 16, 50)["training"]["total"]  # digits' defaults: 2 replicas, batch 16
    assert f"({need} bytes). Got 15000 bytes instead" in err


def test_apply_writes_desired_changes_as_stochastically_rounded_int8_steps():
    backend = make_backend("mcu-int8")
    rng = np.random.default_rng(0)
    net = LayeredIsingNetwork.initialize((50, 400, 8), rng)
    backend.program(net.weights, net.biases, weight_clip=1.0, bias_clip=1.0, seed=3)
    model = backend.model
    model.q[0][:] = 0
    scale = model.m[0] / ONE
    delta = np.broadcast_to(2.25 * scale[None, :], model.q[0].shape)
    cost = backend.apply(0, delta, np.zeros(400))
    steps = model.q[0].astype(float)
    assert set(np.unique(steps)) == {2.0, 3.0} and abs(steps.mean() - 2.25) < 0.02
    assert cost["pulses"] == steps.sum() and cost["saturations"] == 0
    cost = backend.apply(0, np.full(model.q[0].shape, 10.0), np.full(400, 10.0))
    assert np.all(model.q[0] == model.qmax(0)[None, :]) and np.all(model.b[0] == model.bias_clip_q)
    assert cost["saturations"] == model.q[0].size + 400
    W, _ = backend.effective_weights()
    np.testing.assert_allclose(W[0], np.broadcast_to(model.qmax(0) * scale, W[0].shape))


def test_cli_summary_names_the_on_device_annealer(capsys):
    argv = ["train", "--backend", "mcu-int8", "--optimizer", "sgd", "--epochs", "1", "--train-size", "60",
            "--test-size", "20", "--json"]
    assert main(argv) == 0
    import json

    summary = json.loads(capsys.readouterr().out)
    assert summary["solver"] == "mcu-int8 integer annealer (in situ)" and summary["backend"] == "mcu-int8"
    # digits' defaults (2 replicas, batch 16), 50 sweeps
    assert summary["backend_diagnostics"]["memory_bytes"] == memory_budget((64, 120, 20), 16, 50)
    assert main([*argv, "--solver", "memristor"]) == 2  # an unused solver choice is refused, not ignored
    assert "'solver' parameter of EqPropClassifier" in capsys.readouterr().err


def test_a_refused_budget_leaves_no_half_fitted_model(digits):
    from sklearn.exceptions import NotFittedError

    clf = EqPropClassifier(backend="mcu-int8", optimizer="sgd", backend_params={"ram_budget": 20_000}, max_iter=1)
    with pytest.raises(InvalidParameterError, match="'ram_budget' parameter of backend 'mcu-int8'"):
        clf.fit(digits.X_train[:40], digits.y_train[:40])
    assert not hasattr(clf, "network_") and not hasattr(clf, "classes_")
    with pytest.raises(NotFittedError):
        clf.predict(digits.X_test[:5])


def test_cli_refuses_ram_budget_without_the_mcu_backend_and_export_over_a_file(digits, tmp_path, capsys):
    assert main(["train", "--ram-budget", "100000", "--epochs", "1", "--train-size", "60", "--test-size", "20"]) == 2
    # the option goes to the backend, which names what it takes (the CLI knows no backend by name)
    assert "'backend_params' parameter of EqPropClassifier must be a dict with keys from {}. Got unknown key(s) " \
        "['ram_budget']" in capsys.readouterr().err
    clf = EqPropClassifier(max_iter=1, random_state=0).fit(digits.X_train[:100], digits.y_train[:100])
    save_model(clf, tmp_path / "m")
    (tmp_path / "afile").write_text("not a folder")
    assert main(["export-c", str(tmp_path / "m"), "--out", str(tmp_path / "afile")]) == 2
    assert "afile" in capsys.readouterr().err
