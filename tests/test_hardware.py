"""Tests of the WeightBackend layer: protocol, registry, ideal backend, estimator/CLI/persistence wiring."""

from __future__ import annotations

import json
from typing import ClassVar

import numpy as np
import pytest

from eqising import EqPropClassifier, load_dataset, load_model, save_model
from eqising._validation import InvalidParameterError
from eqising.cli import main
from eqising.hardware import BACKENDS, COST_KEYS, IdealBackend, WeightBackend, make_backend, zero_cost
from eqising.optim import SGD, Adam

CHEAP = {"hidden_layer_sizes": (12,), "max_iter": 2, "batch_size": 32, "solver_params": {"num_sweeps": 20}}


@pytest.fixture(scope="module")
def data():
    return load_dataset("digits", train_size=200, test_size=100)


def _layers(rng, sizes=(5, 4, 3)):
    weights = [rng.uniform(-0.5, 0.5, (a, b)) for a, b in zip(sizes, sizes[1:])]
    return weights, [rng.uniform(-0.5, 0.5, b) for b in sizes[1:]]


# ----------------------------------------------------------------- registry
def test_registry_and_protocol():
    assert BACKENDS["ideal"] is IdealBackend
    for name, cls in BACKENDS.items():
        assert issubclass(cls, WeightBackend) and cls.name == name
        assert isinstance(cls.parameters, dict)


def test_unknown_backend_is_a_clear_error():
    with pytest.raises(InvalidParameterError, match=r"'backend' parameter of EqPropClassifier must be one of .*'ideal'"):
        make_backend("idael", None, "EqPropClassifier")


def test_unknown_backend_param_is_an_error():
    with pytest.raises(InvalidParameterError, match=r"'backend_params'.*unknown key\(s\) \['gain'\]"):
        make_backend("ideal", {"gain": 2.0}, "EqPropClassifier")
    with pytest.raises(InvalidParameterError, match="'backend_params'"):
        IdealBackend(gain=2.0)


# -------------------------------------------------------------------- ideal
def test_ideal_applies_deltas_exactly_and_clips():
    rng = np.random.default_rng(0)
    weights, biases = _layers(rng)
    backend = IdealBackend()
    backend.program(weights, biases, weight_clip=0.6, bias_clip=None, seed=0)
    dW, db = rng.normal(0, 0.2, weights[1].shape), rng.normal(0, 2.0, biases[1].shape)
    cost = backend.apply(1, dW, db)
    assert set(cost) == set(COST_KEYS) and all(v == 0 for v in cost.values())
    W, b = backend.effective_weights()
    np.testing.assert_array_equal(W[0], weights[0])  # other layers untouched
    np.testing.assert_array_equal(W[1], np.clip(weights[1] + dW, -0.6, 0.6))
    np.testing.assert_array_equal(b[1], biases[1] + db)  # bias_clip None: no limit
    W[1][:] = 99.0  # effective weights are copies
    assert backend.effective_weights()[0][1].max() <= 0.6


@pytest.mark.parametrize("make", [lambda: Adam([0.01, 0.002]), lambda: SGD([0.01, 0.002], 0.9), lambda: SGD([0.1, 1.0])])
def test_optimizer_deltas_match_step(make):
    rng = np.random.default_rng(1)
    params = [rng.normal(size=(4, 3)), rng.normal(size=3)]
    in_place = [p.copy() for p in params]
    a, b = make(), make()
    for _ in range(3):
        grads = [rng.normal(size=p.shape) for p in params]
        a.step(in_place, grads)
        deltas = b.deltas(grads)
        params = [p + d for p, d in zip(params, deltas)]
    for p, q in zip(params, in_place):
        np.testing.assert_array_equal(p, q)


@pytest.mark.parametrize("make", [lambda: Adam([0.01, 0.002, 0.03, 0.004]), lambda: SGD([0.01, 0.002, 0.1, 1.0], 0.9)])
@pytest.mark.parametrize("clips", [(0.3, None), (None, 0.2), (None, None)])
def test_ideal_apply_gradients_is_deltas_then_apply_bit_for_bit(make, clips):
    """The ideal backend's one-pass update (Adam: one compiled pass) has the bits of the layer-by-layer protocol."""
    rng = np.random.default_rng(5)
    weights, biases = _layers(rng, sizes=(130, 90, 7))  # 11,700 input weights: several of Adam's parallel blocks
    fast, slow = IdealBackend(), _Recorder()  # a subclass with its own apply takes the protocol's default path
    for backend in (fast, slow):
        backend.program(weights, biases, weight_clip=clips[0], bias_clip=clips[1], seed=0)
    a, b = make(), make()
    for _ in range(4):
        grads = [rng.normal(size=W.shape) * 3.0 for W in weights] + [rng.normal(size=c.shape) for c in biases]
        assert fast.apply_gradients(a, grads) == [zero_cost(), zero_cost()]
        slow.apply_gradients(b, grads)
    handed, again = fast.effective_weights(), fast.effective_weights()  # written in Adam's pass, then copies
    for x, y, z in zip(sum(handed, []), sum(again, []), sum(slow.effective_weights(), [])):
        np.testing.assert_array_equal(x, z)
        np.testing.assert_array_equal(y, z)
        x[...] = 99.0  # the caller's own arrays: the backend keeps its weights
    for x, z in zip(sum(fast.effective_weights(), []), sum(slow.effective_weights(), [])):
        np.testing.assert_array_equal(x, z)
    if clips[0] is not None:
        assert max(np.abs(W).max() for W in fast.effective_weights()[0]) == clips[0]  # the clip was reached
    for key, value in a.get_state().items():
        np.testing.assert_array_equal(value, b.get_state()[key])


@pytest.mark.parametrize("make", [lambda: Adam([0.01, 0.01]), lambda: SGD([0.01, 0.01], 0.5)])
def test_optimizers_refuse_non_finite_gradients_and_change_nothing(make):
    rng = np.random.default_rng(6)
    params = [rng.normal(size=(300, 40)), rng.normal(size=40)]  # 12,000 entries: the bad one in a later block
    opt = make()
    opt.step(params, [np.ones_like(p) for p in params])
    before, state = [p.copy() for p in params], opt.get_state()
    for bad in (np.nan, np.inf, -np.inf):
        grads = [np.ones_like(p) for p in params]
        grads[0][250, 3] = bad
        with pytest.raises(InvalidParameterError, match="'grads' parameter of (Adam|SGD)"):
            opt.step(params, grads, clips=[1.0, None])
        if isinstance(opt, Adam):
            with pytest.raises(InvalidParameterError, match="'grads' parameter of Adam"):
                opt.deltas(grads)
        for x, y in zip(params, before):
            np.testing.assert_array_equal(x, y)
        for key, value in opt.get_state().items():
            np.testing.assert_array_equal(value, state[key])
    with pytest.raises(InvalidParameterError, match="'clips' parameter of Adam.step"):
        Adam([0.1]).step([np.zeros(2)], [np.ones(2)], clips=[-1.0])
    with pytest.raises(InvalidParameterError, match="'clips' parameter of SGD.step"):
        SGD([0.1]).step([np.zeros(2)], [np.ones(2)], clips=[1.0, 1.0])


@pytest.mark.parametrize("make", [lambda: Adam([0.01, 0.02]), lambda: SGD([0.01, 0.02], 0.9)])
def test_optimizer_step_writes_copies_of_the_new_values(make):
    rng = np.random.default_rng(9)
    params = [rng.normal(size=(90, 50)), rng.normal(size=50)]
    copies = [np.full_like(p, np.nan) for p in params]
    opt = make()
    opt.step(params, [rng.normal(size=p.shape) for p in params], clips=[0.5, None], copies=copies)
    for p, c in zip(params, copies):
        np.testing.assert_array_equal(p, c)
    for bad in ([copies[0]], [copies[0], np.zeros(3)], [copies[0], copies[1].astype(np.float32)[:2]]):
        with pytest.raises(InvalidParameterError, match=f"'copies' parameter of {type(opt).__name__}.step"):
            opt.step(params, [np.ones_like(p) for p in params], copies=bad)


def test_optimizer_step_clips_and_writes_any_float_array():
    """``step`` clips to +-clip; arrays one compiled pass cannot write (a strided view) move the same way."""
    rng = np.random.default_rng(7)
    grads = [rng.normal(size=(6, 4)), rng.normal(size=4)]
    base = [rng.normal(size=(6, 8))[:, ::2], rng.normal(size=4)]  # a strided view, then a plain array
    for make in (lambda: Adam([0.5, 0.5]), lambda: SGD([0.5, 0.5])):
        params, expected = [p.copy() for p in base], [p.copy() for p in base]
        strided = base[0].copy(order="F")[:, :]  # not C-contiguous
        params[0] = strided
        a, b = make(), make()
        a.step(params, grads, clips=[0.4, None])
        for p, d, c in zip(expected, b.deltas(grads), (0.4, None)):
            p += d
            if c is not None:
                np.clip(p, -c, c, out=p)
        for x, y in zip(params, expected):
            np.testing.assert_array_equal(x, y)


def test_apply_gradients_refuses_other_shapes(data):
    rng = np.random.default_rng(8)
    weights, biases = _layers(rng)
    for backend in (IdealBackend(), make_backend("ecram")):
        backend.program(weights, biases, weight_clip=1.0, bias_clip=1.0, seed=0)
        before = backend.effective_weights()
        grads = [np.zeros_like(W) for W in weights] + [np.zeros_like(b) for b in biases]
        nan = [g.copy() for g in grads]
        nan[1][0, 0] = np.nan
        for bad in (grads[:-1], [grads[0].T, *grads[1:]]):
            with pytest.raises(InvalidParameterError, match=f"'grads' parameter of backend '{backend.name}'"):
                backend.apply_gradients(Adam([0.1] * 4), bad)
        for opt in (Adam([0.1] * 4), SGD([0.1] * 4)):  # a NaN in the second layer: the first is not written
            with pytest.raises(InvalidParameterError, match="'grads' parameter of"):
                backend.apply_gradients(opt, nan)
        for x, y in zip(sum(before, []), sum(backend.effective_weights(), [])):
            np.testing.assert_array_equal(x, y)


# ---------------------------------------------------------------- estimator
def test_estimator_default_backend_is_ideal(data):
    clf = EqPropClassifier(**CHEAP, random_state=0).fit(data.X_train, data.y_train)
    assert clf.backend == "ideal" and isinstance(clf.backend_, IdealBackend)
    assert set(clf.backend_cost_) == set(COST_KEYS) and clf.backend_cost_["pulses"] == 0
    assert len(clf.backend_cost_curve_) == 2 and len(clf.backend_layer_cost_) == 2
    W, b = clf.backend_.effective_weights()
    for x, y in zip(W + b, clf.network_.weights + clf.network_.biases):  # closed loop: the network holds what the backend holds
        np.testing.assert_array_equal(x, y)


def test_estimator_backend_errors(data):
    with pytest.raises(InvalidParameterError, match="'backend' parameter of EqPropClassifier"):
        EqPropClassifier(**CHEAP, backend="float").fit(data.X_train, data.y_train)
    with pytest.raises(InvalidParameterError, match="'backend_params' parameter of EqPropClassifier"):
        EqPropClassifier(**CHEAP, backend_params={"bits": 8}).fit(data.X_train, data.y_train)


class _Recorder(IdealBackend):
    """Ideal backend that records the calls the trainer makes."""

    name = "recorder"
    calls: ClassVar[list] = []

    def apply(self, layer, weight_delta, bias_delta):
        type(self).calls.append((layer, weight_delta.shape, bias_delta.shape))
        cost = super().apply(layer, weight_delta, bias_delta)
        cost["pulses"] = 1.0
        return cost


def test_trainer_calls_apply_per_layer_with_matching_shapes(data):
    _Recorder.calls = []
    clf = EqPropClassifier(**{**CHEAP, "max_iter": 1, "hidden_layer_sizes": (12, 8)}, backend=_Recorder(), random_state=0)
    clf.fit(data.X_train, data.y_train)
    steps = int(np.ceil(200 / 32))
    assert [c[0] for c in _Recorder.calls] == [0, 1, 2] * steps
    assert _Recorder.calls[:3] == [(0, (64, 12), (12,)), (1, (12, 8), (8,)), (2, (8, 40), (40,))]
    assert clf.backend_cost_["pulses"] == 3 * steps
    assert [c["pulses"] for c in clf.backend_layer_cost_] == [steps] * 3


def test_backend_seed_does_not_move_the_training_stream(data):
    """Every backend sees the same minibatches and solver seeds: the backend seed is derived, not drawn."""
    a = EqPropClassifier(**CHEAP, random_state=3).fit(data.X_train, data.y_train)
    b = EqPropClassifier(**CHEAP, backend=_Recorder(), random_state=3).fit(data.X_train, data.y_train)
    for x, y in zip(a.network_.weights, b.network_.weights):
        np.testing.assert_array_equal(x, y)
    assert a.backend_seed_ == b.backend_seed_


def test_saved_model_keeps_backend(data, tmp_path):
    clf = EqPropClassifier(**CHEAP, random_state=0).fit(data.X_train, data.y_train)
    save_model(clf, tmp_path / "m")
    again = load_model(tmp_path / "m")
    assert again.backend == "ideal" and again.backend_cost_ == clf.backend_cost_
    assert again.backend_seed_ == clf.backend_seed_
    np.testing.assert_array_equal(again.predict(data.X_test), clf.predict(data.X_test))


# ---------------------------------------------------------------------- CLI
def test_cli_backend_options(capsys):
    argv = ["train", "--train-size", "60", "--test-size", "30", "--epochs", "1", "--hidden", "8",
            "--solver-params", '{"num_sweeps": 10}', "--backend", "ideal", "--backend-params", "{}", "--json"]
    assert main(argv) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["backend"] == "ideal"
    assert set(summary["backend_cost"]) == set(COST_KEYS)
    assert isinstance(summary["backend_diagnostics"], dict)


def test_cli_bad_backend(capsys):
    code = main(["train", "--train-size", "60", "--epochs", "1", "--backend", "ecarm"])
    err = capsys.readouterr().err
    assert code == 2 and "'backend'" in err and "'ecarm'" in err
    code = main(["train", "--train-size", "60", "--epochs", "1", "--backend-params", '{"nope": 1}'])
    err = capsys.readouterr().err
    assert code == 2 and "'backend_params'" in err and "nope" in err


@pytest.mark.parametrize("name", ["ideal", "ecram", "cbram", "mcu-int8"])
def test_apply_refuses_bad_layers_shapes_and_nan(name):
    """A transposed, scalar or NaN delta or a layer out of range never reaches the devices."""
    rng = np.random.default_rng(0)
    weights, biases = _layers(rng)
    backend = make_backend(name)
    backend.program(weights, biases, weight_clip=1.0, bias_clip=1.0, seed=0)
    before = backend.effective_weights()
    W, b = np.zeros_like(weights[1]), np.zeros_like(biases[1])
    bad = [((2, W, b), "'layer'"), ((-1, W, b), "'layer'"), ((1, W.T, b), "'weight_delta'"),
           ((1, 0.1, b), "'weight_delta'"), ((1, W, np.full_like(b, np.nan)), "'bias_delta'")]
    for args, param in bad:
        with pytest.raises(InvalidParameterError, match=f"{param} parameter of backend '{name}'.apply"):
            backend.apply(*args)
    after = backend.effective_weights()
    for x, y in zip(before[0] + before[1], after[0] + after[1]):
        np.testing.assert_array_equal(x, y)


@pytest.mark.parametrize("name", ["ideal", "ecram", "cbram", "mcu-int8"])
def test_program_refuses_non_finite_or_mismatched_parameters(name):
    weights, biases = _layers(np.random.default_rng(0))
    weights[1][0, 0] = np.nan
    with pytest.raises(InvalidParameterError, match=f"'weights' parameter of backend '{name}'.program"):
        make_backend(name).program(weights, biases, weight_clip=1.0, bias_clip=1.0, seed=0)
    weights, biases = _layers(np.random.default_rng(0))
    with pytest.raises(InvalidParameterError, match=f"'biases' parameter of backend '{name}'.program"):
        make_backend(name).program(weights, biases[::-1], weight_clip=1.0, bias_clip=1.0, seed=0)
