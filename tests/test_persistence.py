"""Tests of eqising.persistence: model.npz + model.json, never pickle."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
from sklearn.exceptions import NotFittedError

from eqising import EqPropClassifier, load_dataset, load_model, save_model
from eqising.persistence import ModelFileError

CHEAP = {
    "hidden_layer_sizes": (16,),
    "max_iter": 2,
    "batch_size": 20,
    "solver_params": {"num_sweeps": 20},
    "random_state": 0,
}


@pytest.fixture(scope="module")
def data():
    return load_dataset("digits", train_size=200, test_size=100)


@pytest.fixture(scope="module")
def fitted(data):
    return EqPropClassifier(**CHEAP).fit(data.X_train, data.y_train)


@pytest.fixture
def saved(fitted, tmp_path):
    directory = tmp_path / "model"
    save_model(fitted, directory)
    return directory


def _rewrite_json(directory, **changes):
    path = directory / "model.json"
    meta = json.loads(path.read_text())
    meta.update(changes)
    path.write_text(json.dumps(meta))


def test_save_writes_json_and_npz_only(fitted, tmp_path):
    directory = tmp_path / "a" / "b"  # created with parents
    returned = save_model(fitted, directory)
    assert returned == directory / "model.json"
    # no temporary files are left behind
    assert sorted(os.listdir(directory)) == ["model.json", "model.npz"]
    # saving again over an existing model also leaves no temp files
    save_model(fitted, directory)
    assert sorted(os.listdir(directory)) == ["model.json", "model.npz"]


def test_files_are_plain_npz_and_json(saved, fitted):
    with np.load(saved / "model.npz", allow_pickle=False) as npz:  # no pickled objects inside
        arrays = {k: npz[k] for k in npz.files}
    assert set(arrays) == {"classes", "weight_0", "bias_0", "weight_1", "bias_1"}
    for i, (W, b) in enumerate(zip(fitted.network_.weights, fitted.network_.biases)):
        np.testing.assert_array_equal(arrays[f"weight_{i}"], W)
        np.testing.assert_array_equal(arrays[f"bias_{i}"], b)
    np.testing.assert_array_equal(arrays["classes"], fitted.classes_)
    for a in arrays.values():
        assert a.dtype != object
    meta = json.loads((saved / "model.json").read_text())
    assert meta["format"] == "eqising-model"
    assert meta["format_version"] == 3
    assert meta["arrays"]["file"] == "model.npz"
    assert len(meta["arrays"]["sha256"]) == 64
    assert meta["params"]["hidden_layer_sizes"] == [16]
    assert meta["fitted"]["n_features_in_"] == 64
    assert "eqising_version" in meta and "numpy_version" in meta


@pytest.mark.parametrize("target", ["dir", "json"])
def test_round_trip_predicts_identically(saved, fitted, data, target):
    loaded = load_model(saved if target == "dir" else saved / "model.json")
    assert isinstance(loaded, EqPropClassifier)
    assert loaded.get_params() == fitted.get_params()
    np.testing.assert_array_equal(loaded.classes_, fitted.classes_)
    assert loaded.n_features_in_ == fitted.n_features_in_
    for W0, W1 in zip(
        fitted.network_.weights + fitted.network_.biases, loaded.network_.weights + loaded.network_.biases
    ):
        assert W0.dtype == W1.dtype
        np.testing.assert_array_equal(W0, W1)  # bit-identical
    for name in (
        "root_seed_",
        "prediction_seed_",
        "backend_seed_",
        "history_",
        "n_iter_",
        "t_",
        "loss_curve_",
        "accuracy_curve_",
        "spin_updates_",
        "solver_seconds_",
        "solver_cost_",
        "solver_cost_curve_",
        "solver_diagnostics_",
    ):
        assert getattr(loaded, name) == getattr(fitted, name), name
    np.testing.assert_array_equal(loaded.predict(data.X_test), fitted.predict(data.X_test))
    np.testing.assert_array_equal(loaded.predict_proba(data.X_test), fitted.predict_proba(data.X_test))
    assert loaded.score(data.X_test, data.y_test) == fitted.score(data.X_test, data.y_test)


def test_round_trip_string_labels(data, tmp_path):
    names = np.array(
        ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"], dtype=object
    )
    y = names[data.y_train]  # object dtype labels
    clf = EqPropClassifier(**{**CHEAP, "max_iter": 1}).fit(data.X_train, y)
    save_model(clf, tmp_path)
    loaded = load_model(tmp_path)
    np.testing.assert_array_equal(loaded.classes_, clf.classes_)
    np.testing.assert_array_equal(loaded.predict(data.X_test), clf.predict(data.X_test))
    assert set(loaded.predict(data.X_test)) <= set(names)


def test_round_trip_generator_random_state(data, tmp_path):
    clf = EqPropClassifier(**{**CHEAP, "max_iter": 1, "random_state": np.random.default_rng(3)})
    clf.fit(data.X_train, data.y_train)
    save_model(clf, tmp_path)  # saved as its bit generator's state, rebuilt by name on load
    loaded = load_model(tmp_path)
    assert isinstance(loaded.random_state, np.random.Generator)
    assert loaded.random_state.bit_generator.state == clf.random_state.bit_generator.state
    assert loaded.random_state.integers(2**62) == clf.random_state.integers(2**62)
    np.testing.assert_array_equal(loaded.predict(data.X_test), clf.predict(data.X_test))


def test_loaded_model_continues_training(saved, fitted, data):
    loaded = load_model(saved)
    before = [W.copy() for W in loaded.network_.weights]
    assert loaded.partial_fit(data.X_train, data.y_train) is loaded
    assert loaded.n_iter_ == fitted.n_iter_ + 1
    assert loaded.t_ == fitted.t_ + len(data.X_train)
    assert len(loaded.loss_curve_) == len(loaded.accuracy_curve_) == fitted.n_iter_ + 1
    assert any(not np.array_equal(a, b) for a, b in zip(before, loaded.network_.weights))
    assert loaded.predict(data.X_test).shape == (len(data.X_test),)
    # the fixture model itself is untouched
    assert fitted.n_iter_ == CHEAP["max_iter"]


def test_save_unfitted_model_raises(tmp_path):
    with pytest.raises(NotFittedError):
        save_model(EqPropClassifier(), tmp_path)
    assert not (tmp_path / "model.json").exists()


# ------------------------------------------------------------------ errors
def test_model_file_error_is_a_value_error():
    assert issubclass(ModelFileError, ValueError)


def test_missing_model_path(tmp_path):
    with pytest.raises(ModelFileError, match=r"must be a model folder or its model.json; no such file"):
        load_model(tmp_path / "absent")
    with pytest.raises(ModelFileError, match=r"no such file"):
        load_model(tmp_path)  # an empty folder


@pytest.mark.parametrize(
    "garbage", [b"\x00\xff\xfe\x80garbage", b"{not json", b""], ids=["binary", "text", "empty"]
)
def test_corrupt_json(saved, garbage):
    (saved / "model.json").write_bytes(garbage)
    with pytest.raises(ModelFileError, match=r"model.json' is not valid JSON"):
        load_model(saved)


def test_modified_npz_checksum_mismatch(saved):
    path = saved / "model.npz"
    raw = bytearray(path.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    path.write_bytes(bytes(raw))
    with pytest.raises(ModelFileError, match=r"model.npz' do not match .*model.json' \(checksum differs\)"):
        load_model(saved)


def test_npz_from_another_save(saved, data, tmp_path):
    other = EqPropClassifier(**{**CHEAP, "max_iter": 1, "random_state": 1}).fit(data.X_train, data.y_train)
    save_model(other, tmp_path / "other")
    (saved / "model.npz").write_bytes((tmp_path / "other" / "model.npz").read_bytes())
    with pytest.raises(ModelFileError, match=r"checksum differs"):
        load_model(saved)


def test_missing_npz(saved):
    (saved / "model.npz").unlink()
    with pytest.raises(ModelFileError, match=r"model.json' is corrupt or incomplete \(FileNotFoundError"):
        load_model(saved)


@pytest.mark.parametrize("value", ["sklearn-pickle", None, 3])
def test_wrong_format_field(saved, value):
    _rewrite_json(saved, format=value)
    with pytest.raises(ModelFileError, match=r"is not an eqising model \(format != 'eqising-model'\)"):
        load_model(saved)


def test_json_not_an_object(saved):
    (saved / "model.json").write_text("[1, 2, 3]")
    with pytest.raises(ModelFileError, match=r"not an eqising model"):
        load_model(saved)


def test_wrong_format_version(saved):
    _rewrite_json(saved, format_version=99)
    with pytest.raises(ModelFileError, match=r"format version 99; this eqising reads version 3"):
        load_model(saved)


def test_missing_section(saved):
    path = saved / "model.json"
    meta = json.loads(path.read_text())
    del meta["fitted"]
    path.write_text(json.dumps(meta))
    with pytest.raises(ModelFileError, match=r"corrupt or incomplete \(KeyError"):
        load_model(saved)


def test_invalid_params_in_json(saved):
    path = saved / "model.json"
    meta = json.loads(path.read_text())
    meta["params"]["solver"] = "anealing"
    path.write_text(json.dumps(meta))
    with pytest.raises(ModelFileError, match=r"corrupt or incomplete.*'solver'"):
        load_model(saved)


@pytest.mark.parametrize(
    "change, match",
    [
        ({"bogus_param": 1}, r"corrupt or incomplete \(TypeError.*bogus_param"),
        ({"solver_params": {"num_sweps": 3}}, r"corrupt or incomplete.*'solver_params'.*num_sweps"),
    ],
    ids=["unknown-param", "unknown-solver-param"],
)
def test_unknown_params_in_json(saved, change, match):
    path = saved / "model.json"
    meta = json.loads(path.read_text())
    meta["params"].update(change)
    path.write_text(json.dumps(meta))
    with pytest.raises(ModelFileError, match=match):
        load_model(saved)


def test_a_file_from_before_the_newer_parameters_continues_as_it_trained(data, tmp_path):
    # a model saved before step_scaling and shift augmentation existed had neither
    clf = EqPropClassifier(hidden_layer_sizes=(24, 12), step_scaling="none", max_iter=1, batch_size=25,
                           solver_params={"num_sweeps": 10}, random_state=1).fit(data.X_train, data.y_train)
    save_model(clf, tmp_path, checkpoint=True)
    meta = json.loads((tmp_path / "model.json").read_text())
    for name in ("step_scaling", "shift_augment", "image_shape"):
        del meta["params"][name]
    (tmp_path / "model.json").write_text(json.dumps(meta))
    old = load_model(tmp_path)
    assert (old.step_scaling, old.shift_augment, old.image_shape) == ("none", 0, None)
    old.partial_fit(data.X_train, data.y_train)
    clf.partial_fit(data.X_train, data.y_train)
    for a, b in zip(old.network_.weights, clf.network_.weights, strict=True):
        np.testing.assert_array_equal(a, b)
    # a current file keeps what it says
    save_model(EqPropClassifier(max_iter=1, random_state=0, shift_augment=1).fit(data.X_train, data.y_train),
               tmp_path / "new")
    assert load_model(tmp_path / "new").get_params()["step_scaling"] == "fan-in"
