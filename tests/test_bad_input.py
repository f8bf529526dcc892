"""Bad input across the CLI, the estimator, the sampler and the files: every case one clear error.

Each case asserts the error class or the exit status 2, and that the message names the
parameter (or option, or file) and what is wrong; none may pass silently, leak a raw numpy /
zlib / numba error, or lose data. Property-based cases (hypothesis) cover the sampler's inputs
and the IDX and model loaders.
"""

from __future__ import annotations

import gzip
import json
import os
import shutil
from pathlib import Path

import dimod
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from eqising import EqPropClassifier, load_model, save_model
from eqising._validation import InvalidParameterError
from eqising.cli import main
from eqising.datasets import load_mnist, read_idx
from eqising.persistence import ModelFileError, UntrustedModuleError
from eqising.solvers import AnnealingSampler, AnnealingSolver

FAST = ["--train-size", "60", "--test-size", "20", "--hidden", "8", "--batch-size", "30",
        "--solver-params", '{"num_sweeps": 8}']
CHEAP = {"hidden_layer_sizes": (8,), "max_iter": 1, "batch_size": 30, "solver_params": {"num_sweeps": 8},
         "random_state": 0}
#: Far beyond any machine's memory.
HUGE = 10**11

PROPERTY = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


# ---------------------------------------------------------------------- helpers
def write_idx(path: Path, array: np.ndarray) -> Path:
    array = np.ascontiguousarray(array, dtype=np.uint8)
    magic = {1: 2049, 3: 2051}[array.ndim]
    raw = magic.to_bytes(4, "big") + b"".join(int(n).to_bytes(4, "big") for n in array.shape) + array.tobytes()
    path.write_bytes(gzip.compress(raw) if path.suffix == ".gz" else raw)
    return path


def mnist_folder(folder: Path, *, train_labels=None, test_side: int = 4) -> Path:
    rng = np.random.default_rng(0)
    folder.mkdir(parents=True, exist_ok=True)
    for split, n, side in (("train", 30, 4), ("t10k", 10, test_side)):
        labels = (np.arange(n) % 10).astype(np.uint8)
        if split == "train" and train_labels is not None:
            labels = train_labels
        write_idx(folder / f"{split}-images-idx3-ubyte.gz", rng.integers(0, 256, (len(labels), side, side)))
        write_idx(folder / f"{split}-labels-idx1-ubyte.gz", labels)
    return folder


def cli_error(capsys, argv: list[str], *needles: str) -> str:
    """Run the CLI; it must exit with status 2 and print one clear error naming every needle."""
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse's own errors
        code = exc.code
    err = capsys.readouterr().err
    assert code == 2, err
    assert "Traceback" not in err
    for needle in needles:
        assert needle in err, (needle, err)
    return err


@pytest.fixture(scope="module")
def digits():
    from eqising import load_dataset

    return load_dataset("digits", train_size=60, test_size=20)


@pytest.fixture(scope="module")
def fitted(digits):
    return EqPropClassifier(**CHEAP).fit(digits.X_train, digits.y_train)


@pytest.fixture
def saved(fitted, tmp_path):
    save_model(fitted, tmp_path / "model")
    return tmp_path / "model"


def edit_json(folder: Path, edit) -> None:
    path = folder / "model.json"
    meta = json.loads(path.read_text())
    edit(meta)
    path.write_text(json.dumps(meta))


# -------------------------------------------------------------------------- CLI
CLI_OPTION_CASES = [
    (["--epochs", "0"], "'--epochs'"),
    (["--hidden", "0"], "--hidden"),
    (["--hidden", "abc"], "--hidden"),
    (["--hidden", "100000000"], "'hidden_layer_sizes'", "fits in memory", "available"),
    (["--replicas", "0"], "'replicas'"),
    (["--solver", "anealing"], "'solver'", "anealing"),
    (["--solver-params", '{"num_sweps": 3}'], "num_sweps"),
    (["--solver-params", "not json"], "--solver-params"),
    (["--solver-params", f'{{"num_sweeps": {HUGE}}}'], "'num_sweeps'", "fits in memory"),
    (["--backend", "nope"], "'backend'", "nope"),
    (["--backend-params", '{"bogus": 1}'], "bogus"),
    (["--nudge", "-1"], "'nudge'"),
    (["--nudge", "nan"], "'nudge'"),
    (["--nudge-mode", "sideways"], "'nudge_mode'"),
    (["--learning-rate", "abc"], "--learning-rate"),
    (["--learning-rate", "-1"], "'learning_rate'"),
    (["--optimizer", "rmsprop"], "'optimizer'"),
    (["--batch-size", "0"], "'batch_size'"),
    (["--reads", "0"], "'num_reads'"),
    (["--train-size", "0"], "'train_size'"),
    (["--train-size", "100000"], "'train_size'"),
    (["--test-size", "-1"], "'test_size'"),
    (["--seed", "-1"], "'random_state'"),
    (["--dataset", "mnist"], "'--data-dir'"),
    (["--dataset", "imagenet"], "--dataset"),
    (["--backend", "ideal", "--ram-budget", "100"], "ram_budget"),
    (["--backend", "mcu-int8", "--ram-budget", "10", "--solver-params", "null"], "--solver-params"),
]


@pytest.mark.parametrize("case", CLI_OPTION_CASES, ids=lambda c: " ".join(c[0]))
def test_cli_train_bad_option(capsys, case):
    argv, *needles = case
    pairs = dict(zip(FAST[::2], FAST[1::2]))
    base = [x for k, v in pairs.items() if k not in argv for x in (k, v)]  # the case's options replace the fast ones
    cli_error(capsys, ["train", *base, *argv, "--json"], *needles)


def test_cli_mcu_ram_budget_too_small(capsys):
    argv = ["train", "--train-size", "60", "--test-size", "20", "--hidden", "8", "--backend", "mcu-int8",
            "--ram-budget", "10", "--json"]
    cli_error(capsys, argv, "'ram_budget'", "10 bytes")


def test_cli_out_is_a_file(capsys, tmp_path):
    (tmp_path / "f").write_text("keep me")
    cli_error(capsys, ["train", *FAST, "--out", str(tmp_path / "f")], "'--out'", "an existing file")
    assert (tmp_path / "f").read_text() == "keep me"


def test_cli_out_under_a_file(capsys, tmp_path):
    (tmp_path / "f").write_text("")
    cli_error(capsys, ["train", *FAST, "--out", str(tmp_path / "f" / "model")], "'--out'", "under the file")


def test_cli_out_not_writable(capsys):
    cli_error(capsys, ["train", *FAST, "--out", "/proc/eqising-cannot-write-here"], "'--out'")


def test_cli_out_read_only_folder(capsys, tmp_path):
    if os.geteuid() == 0:
        pytest.skip("root writes into read-only folders")
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        cli_error(capsys, ["train", *FAST, "--out", str(folder / "m")], "'--out'", "not writable")
    finally:
        folder.chmod(0o700)


def test_cli_out_checked_before_training(capsys, tmp_path, monkeypatch):
    (tmp_path / "f").write_text("")

    def no_training(*args, **kwargs):
        raise AssertionError("training started before --out was checked")

    monkeypatch.setattr(EqPropClassifier, "partial_fit", no_training)
    cli_error(capsys, ["train", *FAST, "--out", str(tmp_path / "f" / "m")], "'--out'")


def test_cli_out_holding_a_model_is_not_overwritten(capsys, saved):
    before = (saved / "model.npz").read_bytes()
    cli_error(capsys, ["train", *FAST, "--out", str(saved)], "'--out'", "--resume")
    assert (saved / "model.npz").read_bytes() == before


def test_cli_resume_missing_folder(capsys, tmp_path):
    cli_error(capsys, ["train", "--resume", str(tmp_path / "absent")], "'--resume'", "run.json")


def test_cli_resume_with_other_options(capsys, tmp_path):
    cli_error(capsys, ["train", "--resume", str(tmp_path), "--hidden", "4"], "'--resume'", "--hidden")


def test_cli_resume_corrupt_run_file(capsys, tmp_path):
    (tmp_path / "run.json").write_text("{broken")
    cli_error(capsys, ["train", "--resume", str(tmp_path)], "'--resume'", "run.json")


def test_cli_mnist_missing_folder(capsys, tmp_path):
    cli_error(capsys, ["train", *FAST, "--dataset", "mnist", "--data-dir", str(tmp_path / "none")], "data_dir")


def test_cli_mnist_corrupt_gzip(capsys, tmp_path):
    folder = mnist_folder(tmp_path / "mnist")
    path = folder / "train-labels-idx1-ubyte.gz"
    raw = bytearray(path.read_bytes())
    raw[12] ^= 0xFF
    path.write_bytes(bytes(raw))
    err = cli_error(capsys, ["train", *FAST, "--dataset", "mnist", "--data-dir", str(folder)], str(path))
    assert "zlib.error" not in err and "corrupt" in err


def test_cli_mnist_labels_out_of_range(capsys, tmp_path):
    labels = (np.arange(30) % 10).astype(np.uint8)
    labels[7] = 12
    folder = mnist_folder(tmp_path / "mnist", train_labels=labels)
    cli_error(capsys, ["train", *FAST, "--dataset", "mnist", "--data-dir", str(folder)], "0-9", "label 7 is 12")


def test_cli_mnist_test_images_of_another_size(capsys, tmp_path):
    folder = mnist_folder(tmp_path / "mnist", test_side=5)
    cli_error(capsys, ["train", *FAST, "--dataset", "mnist", "--data-dir", str(folder)], "5x5", "4x4")


def test_cli_evaluate_missing_model(capsys, tmp_path):
    cli_error(capsys, ["evaluate", str(tmp_path / "absent")], "model path", "no such file")


def test_cli_evaluate_corrupt_json(capsys, saved):
    (saved / "model.json").write_text("{")
    cli_error(capsys, ["evaluate", str(saved)], "model.json", "not valid JSON")


def test_cli_evaluate_untrusted_module(capsys, saved):
    edit_json(saved, lambda m: m["params"].update(solver={"class": "os:system", "params": {}}))
    cli_error(capsys, ["evaluate", str(saved)], "os")


def test_cli_evaluate_mnist_without_data_dir(capsys, saved):
    cli_error(capsys, ["evaluate", str(saved), "--dataset", "mnist"], "'--data-dir'")


def test_cli_evaluate_other_feature_count(capsys, saved, tmp_path):
    folder = mnist_folder(tmp_path / "mnist")
    cli_error(capsys, ["evaluate", str(saved), "--dataset", "mnist", "--data-dir", str(folder)], "'--dataset'", "64")


def test_cli_export_max_batch_zero(capsys, saved, tmp_path):
    cli_error(capsys, ["export-c", str(saved), "--out", str(tmp_path / "c"), "--max-batch", "0"], "'--max-batch'")


def test_cli_export_max_batch_too_large(capsys, saved, tmp_path):
    err = cli_error(capsys, ["export-c", str(saved), "--out", str(tmp_path / "c"), "--max-batch", "100000000"],
                    "'--max-batch'", "fits in memory", "it needs about")
    assert not (tmp_path / "c").exists() or not any((tmp_path / "c").iterdir()), err


def test_cli_export_out_is_a_file(capsys, saved, tmp_path):
    (tmp_path / "f").write_text("")
    cli_error(capsys, ["export-c", str(saved), "--out", str(tmp_path / "f")], "'--out'", "an existing file")


# -------------------------------------------------------------------- estimator
ESTIMATOR_CASES = [
    ({"hidden_layer_sizes": (0,)}, "hidden_layer_sizes"),
    ({"hidden_layer_sizes": ()}, "hidden_layer_sizes"),
    ({"hidden_layer_sizes": (10**8,)}, "hidden_layer_sizes"),
    ({"replicas": 0}, "replicas"),
    ({"solver": "anealing"}, "solver"),
    ({"solver_params": {"num_sweps": 1}}, "solver_params"),
    ({"solver_params": {"num_sweeps": HUGE}}, "num_sweeps"),
    ({"backend": "x"}, "backend"),
    ({"backend_params": {"bogus": 1}}, "backend_params"),
    ({"nudge": 0.0}, "nudge"),
    ({"nudge": float("nan")}, "nudge"),
    ({"nudge_mode": "both"}, "nudge_mode"),
    ({"learning_rate": -1.0}, "learning_rate"),
    ({"learning_rate": float("inf")}, "learning_rate"),
    ({"learning_rate_decay": 0.0}, "learning_rate_decay"),
    ({"optimizer": "rmsprop"}, "optimizer"),
    ({"momentum": 1.5}, "momentum"),
    ({"batch_size": 0}, "batch_size"),
    ({"max_iter": 0}, "max_iter"),
    ({"num_reads": 0}, "num_reads"),
    ({"phase_reads": 0}, "phase_reads"),
    ({"weight_clip": 0.0}, "weight_clip"),
    ({"field_clip": -1.0}, "field_clip"),
    ({"random_state": -1}, "random_state"),
    ({"random_state": "seed"}, "random_state"),
    ({"backend": "mcu-int8", "optimizer": "adam"}, "optimizer"),
]


@pytest.mark.parametrize("case", ESTIMATOR_CASES, ids=lambda c: repr(c[0]))
def test_estimator_bad_parameter(digits, case):
    params, name = case
    clf = EqPropClassifier(**{**CHEAP, **params})
    with pytest.raises(InvalidParameterError, match=rf"'{name}' parameter"):
        clf.fit(digits.X_train, digits.y_train)
    assert not hasattr(clf, "engine_")


def test_estimator_nan_input(digits):
    X = digits.X_train.copy()
    X[3, 5] = np.nan
    with pytest.raises(InvalidParameterError, match=r"'X' and 'y' parameters.*NaN"):
        EqPropClassifier(**CHEAP).fit(X, digits.y_train)


def test_estimator_one_class(digits):
    with pytest.raises(InvalidParameterError, match=r"'y' parameter.*at least 2 classes"):
        EqPropClassifier(**CHEAP).fit(digits.X_train, np.zeros(len(digits.X_train)))


def test_estimator_1d_input(digits):
    with pytest.raises(InvalidParameterError, match=r"'X' and 'y' parameters"):
        EqPropClassifier(**CHEAP).fit(digits.X_train[:, 0], digits.y_train)


def test_estimator_length_mismatch(digits):
    with pytest.raises(InvalidParameterError, match=r"'X' and 'y' parameters"):
        EqPropClassifier(**CHEAP).fit(digits.X_train, digits.y_train[:-1])


def test_predict_wrong_feature_count(fitted, digits):
    with pytest.raises(InvalidParameterError, match=r"'X' parameter.*64 features"):
        fitted.predict(digits.X_test[:, :10])


def test_partial_fit_first_call_without_classes(digits):
    with pytest.raises(InvalidParameterError, match=r"'classes' parameter"):
        EqPropClassifier(**CHEAP).partial_fit(digits.X_train, digits.y_train)


def test_partial_fit_unknown_label(fitted, digits):
    from sklearn.base import clone

    clf = clone(fitted).partial_fit(digits.X_train, digits.y_train, classes=np.arange(10))
    with pytest.raises(InvalidParameterError, match=r"'y' parameter.*\[11\]"):
        clf.partial_fit(digits.X_train[:2], np.array([1, 11]))


def test_feature_names_are_saved(digits, tmp_path):
    pd = pytest.importorskip("pandas")
    X = pd.DataFrame(digits.X_train, columns=[f"px{i}" for i in range(64)])
    clf = EqPropClassifier(**CHEAP).fit(X, digits.y_train)
    save_model(clf, tmp_path)
    loaded = load_model(tmp_path)
    assert list(loaded.feature_names_in_) == [f"px{i}" for i in range(64)]
    renamed = X.rename(columns={"px0": "other"})
    with pytest.raises(InvalidParameterError, match=r"'X' parameter"):
        loaded.predict(renamed)


def test_feature_names_round_trip_without_pandas(fitted, tmp_path):
    from sklearn.base import clone

    clf = clone(fitted).fit(fitted_data := np.random.default_rng(0).random((40, 64)), np.arange(40) % 3)
    clf.feature_names_in_ = np.array([f"f{i}" for i in range(64)], dtype=object)
    save_model(clf, tmp_path)
    loaded = load_model(tmp_path)
    assert loaded.feature_names_in_.dtype == object
    assert list(loaded.feature_names_in_) == list(clf.feature_names_in_)
    with pytest.warns(UserWarning, match="feature names"):  # scikit-learn's check of names still runs
        np.testing.assert_array_equal(loaded.predict(fitted_data), clf.predict(fitted_data))


def test_feature_names_contradicting_the_arrays(fitted, tmp_path):
    from sklearn.base import clone

    clf = clone(fitted).fit(np.random.default_rng(0).random((40, 64)), np.arange(40) % 3)
    clf.feature_names_in_ = np.array(["a", "b"], dtype=object)
    save_model(clf, tmp_path)
    with pytest.raises(ModelFileError, match=r"2 feature names"):
        load_model(tmp_path)


def test_save_checkpoint_flag_must_be_bool(fitted, tmp_path):
    with pytest.raises(InvalidParameterError, match=r"'checkpoint' parameter of save_model"):
        save_model(fitted, tmp_path, checkpoint="yes")
    assert not (tmp_path / "model.json").exists()


def test_load_trust_must_be_a_list(saved):
    with pytest.raises(InvalidParameterError, match=r"'trust' parameter of load_model"):
        load_model(saved, trust="eqising")


# ---------------------------------------------------------------------- sampler
def _bqm():
    return dimod.BinaryQuadraticModel({"a": 0.5, "b": -1.0}, {("a", "b"): -1.0}, 0.0, dimod.SPIN)


SAMPLER_CASES = [
    ({"num_reads": 0}, "num_reads"),
    ({"num_reads": 2.5}, "num_reads"),
    ({"num_reads": 10**13}, "num_reads"),
    ({"num_sweeps": -1}, "num_sweeps"),
    ({"num_sweeps": HUGE}, "num_sweeps"),
    ({"beta_range": (1.0,)}, "beta_range"),
    ({"beta_range": (-1.0, 2.0)}, "beta_range"),
    ({"beta_range": (float("nan"), 1.0)}, "beta_range"),
    ({"beta_schedule_type": "cubic"}, "beta_schedule_type"),
    ({"proposal_acceptance_criteria": "greedy"}, "proposal_acceptance_criteria"),
    ({"num_sweps": 3}, "num_sweps"),
    ({"seed": -1}, "seed"),
    ({"seed": "x"}, "seed"),
    ({"initial_states": np.ones((2, 3), dtype=np.int8)}, "initial_states"),
]


@pytest.mark.parametrize("case", SAMPLER_CASES, ids=lambda c: repr(c[0])[:40])
def test_sampler_bad_parameter(case):
    kwargs, name = case
    with pytest.raises((InvalidParameterError, ValueError, TypeError), match=name):
        AnnealingSampler().sample(_bqm(), **kwargs)


def test_sampler_nan_bias():
    bqm = dimod.BinaryQuadraticModel({"a": float("nan")}, {}, 0.0, dimod.SPIN)
    with pytest.raises(InvalidParameterError, match=r"'bqm' parameter.*finite"):
        AnnealingSampler().sample(bqm, seed=0)


SOLVER_CASES = [
    ({"num_sweeps": 0}, "num_sweeps"),
    ({"update": "glauber"}, "update"),
    ({"greedy_sweeps": -1}, "greedy_sweeps"),
    ({"reheat": 1.5}, "reheat"),
    ({"beta_range": (2.0, 1.0, 3.0)}, "beta_range"),
]


@pytest.mark.parametrize("case", SOLVER_CASES, ids=lambda c: repr(c[0]))
def test_annealing_solver_bad_parameter(case):
    kwargs, name = case
    with pytest.raises(InvalidParameterError, match=rf"'{name}' parameter"):
        AnnealingSolver(**kwargs)


# ------------------------------------------------------------------------ files
def test_idx_truncated(tmp_path):
    path = write_idx(tmp_path / "labels", np.arange(10))
    path.write_bytes(path.read_bytes()[:-3])
    with pytest.raises(ValueError, match=r"IDX file .*labels.*should hold 10 bytes"):
        read_idx(path)


def test_idx_bad_magic(tmp_path):
    (tmp_path / "x").write_bytes(b"\x00\x00\x09\x99" + b"\x00" * 20)
    with pytest.raises(ValueError, match=r"IDX file .*x' has magic number 2457"):
        read_idx(tmp_path / "x")


def test_idx_header_only(tmp_path):
    (tmp_path / "x").write_bytes((2051).to_bytes(4, "big") + b"\x00\x00\x00\x01")
    with pytest.raises(ValueError, match=r"IDX file .*truncated"):
        read_idx(tmp_path / "x")


def test_idx_corrupt_gzip_is_not_a_raw_zlib_error(tmp_path):
    path = write_idx(tmp_path / "labels.gz", np.arange(100) % 10)
    raw = bytearray(path.read_bytes())
    raw[12] ^= 0xFF
    path.write_bytes(bytes(raw))
    with pytest.raises(ValueError, match=r"IDX file .*labels.gz.*gzip data") as info:
        read_idx(path)
    assert type(info.value) is ValueError


def test_mnist_labels_out_of_range(tmp_path):
    labels = (np.arange(30) % 10).astype(np.uint8)
    labels[0] = 255
    with pytest.raises(ValueError, match=r"train-labels-idx1-ubyte.gz' must hold digits 0-9; label 0 is 255"):
        load_mnist(mnist_folder(tmp_path, train_labels=labels))


def test_mnist_test_images_of_another_size(tmp_path):
    with pytest.raises(ValueError, match=r"t10k-images.*are 6x6 pixels; the training images are 4x4"):
        load_mnist(mnist_folder(tmp_path, test_side=6))


MODEL_EDITS = [
    ("hidden-sizes", lambda m: m["params"].update(hidden_layer_sizes=[9]), r"hidden_layer_sizes is \[9\]"),
    ("n-features", lambda m: m["fitted"].update(n_features_in_=65), r"n_features_in_ is 65"),
    ("n-layers", lambda m: m["fitted"].update(n_layers=3), r"n_layers is 3"),
    ("n-layers-type", lambda m: m["fitted"].update(n_layers="2"), r"'n_layers' entry"),
    ("replicas", lambda m: m["params"].update(replicas=2), r"replicas is 2"),
    ("prediction-seed", lambda m: m["fitted"].update(prediction_seed_=1), r"prediction_seed_ 1, which is not"),
    ("backend-seed", lambda m: m["fitted"].update(backend_seed_=7), r"backend_seed_ 7, which is not"),
    ("root-seed", lambda m: m["fitted"].update(root_seed_=12345), r"which is not the seed derived"),
    ("root-seed-negative", lambda m: m["fitted"].update(root_seed_=-1), r"'root_seed_' entry"),
    ("history-layers", lambda m: m["fitted"]["history_"].update(n_layers=5), r"history_.n_layers is 5"),
    ("history-epochs", lambda m: m["fitted"]["history_"]["epochs"][0].pop("loss"), r"epoch record 0"),
    ("arrays-file", lambda m: m["arrays"].update(file="../../etc/passwd"), r"'arrays.file' entry"),
    ("generator-name", lambda m: m["params"].update(random_state={"generator": {"bit_generator": "os.system"}}),
     r"'random_state' entry.*os.system"),
    ("solver-name", lambda m: m["params"].update(solver="anealing"), r"'solver'"),
    ("unknown-param", lambda m: m["params"].update(bogus=1), r"bogus"),
]


@pytest.mark.parametrize("case", MODEL_EDITS, ids=lambda c: c[0])
def test_edited_model_json(saved, case):
    _, edit, match = case
    edit_json(saved, edit)
    with pytest.raises(ModelFileError, match=match) as info:
        load_model(saved)
    assert "model.json" in str(info.value)


def test_model_naming_an_untrusted_module_imports_nothing(saved, monkeypatch):
    import sys

    edit_json(saved, lambda m: m["params"].update(solver={"class": "eqising_evil_module:Solver", "params": {}}))
    with pytest.raises(UntrustedModuleError, match=r"eqising_evil_module"):
        load_model(saved)
    assert "eqising_evil_module" not in sys.modules


def test_sampler_named_in_solver_params_needs_trust_end_to_end(capsys, saved):
    """A model.json naming a dimod sampler by 'module:Class' imports nothing, from Python or the CLI."""
    import sys

    sampler = {"name": "dimod", "params": {"sampler": "eqising_evil_sampler:Sampler"}}
    edit_json(saved, lambda m: m["params"].update(solver=sampler, solver_params=None))
    with pytest.raises(UntrustedModuleError, match=r"eqising_evil_sampler"):
        load_model(saved)
    cli_error(capsys, ["evaluate", str(saved)], "eqising_evil_sampler", "--trust")
    cli_error(capsys, ["export-c", str(saved), "--out", str(saved / "c")], "eqising_evil_sampler")
    assert "eqising_evil_sampler" not in sys.modules


def test_edited_model_json_through_cli(capsys, saved):
    edit_json(saved, lambda m: m["fitted"].update(n_features_in_=10))
    cli_error(capsys, ["evaluate", str(saved)], "contradicts its arrays", "n_features_in_")


# -------------------------------------------------------- property-based checks
@PROPERTY
@given(data=st.binary(max_size=64), gz=st.booleans())
def test_idx_reader_never_raises_raw(tmp_path_factory, data, gz):
    path = tmp_path_factory.mktemp("idx") / ("f.gz" if gz else "f")
    path.write_bytes(data)
    try:
        out = read_idx(path)
    except ValueError as exc:
        assert type(exc) is ValueError and str(path) in str(exc)
    else:
        assert out.dtype == np.uint8


@PROPERTY
@given(header=st.tuples(st.sampled_from([2049, 2051]), st.lists(st.integers(0, 2**32 - 1), min_size=3, max_size=3)),
       body=st.binary(max_size=32))
def test_idx_reader_on_random_headers(tmp_path_factory, header, body):
    magic, dims = header
    raw = magic.to_bytes(4, "big") + b"".join(d.to_bytes(4, "big") for d in dims) + body
    path = tmp_path_factory.mktemp("idx") / "f"
    path.write_bytes(raw)
    try:
        out = read_idx(path)
    except ValueError as exc:
        assert str(path) in str(exc)
    else:
        assert out.size == len(body) or out.ndim == 1


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(position=st.integers(0, 10**6), flip=st.integers(1, 255))
def test_model_loader_on_a_flipped_byte(saved, position, flip):
    for name in ("model.json", "model.npz"):
        path = saved / name
        original = path.read_bytes()
        raw = bytearray(original)
        raw[position % len(raw)] ^= flip
        path.write_bytes(bytes(raw))
        try:
            load_model(saved)  # a flip inside JSON whitespace or a float's last digit may still load
        except (ModelFileError, UntrustedModuleError) as exc:
            assert str(saved) in str(exc)  # names the file
        finally:
            path.write_bytes(original)


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**65), 2**65) | st.floats() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=6,
)
MODEL_FIELDS = [("params", k) for k in ("hidden_layer_sizes", "replicas", "solver", "solver_params", "backend",
                                       "random_state", "nudge", "batch_size", "optimizer", "learning_rate")]
MODEL_FIELDS += [("fitted", k) for k in ("n_features_in_", "n_layers", "root_seed_", "prediction_seed_",
                                        "backend_seed_", "history_")]
MODEL_FIELDS += [("arrays", "file"), ("arrays", "sha256"), ("checkpoint", None)]


@PROPERTY
@given(field=st.sampled_from(MODEL_FIELDS), value=JSON_VALUES)
def test_model_loader_on_edited_fields(saved, field, value):
    path = saved / "model.json"
    original = path.read_bytes()
    meta = json.loads(original)
    section, key = field
    if key is None:
        meta[section] = value
    else:
        meta[section][key] = value
    path.write_text(json.dumps(meta))
    try:
        load_model(saved)
    except (ModelFileError, UntrustedModuleError) as exc:
        assert str(saved) in str(exc)
    finally:
        path.write_bytes(original)


@PROPERTY
@given(
    num_reads=st.one_of(st.none(), st.integers(-3, 40), st.floats(allow_nan=True), st.text(max_size=3)),
    num_sweeps=st.one_of(st.integers(-3, 60), st.floats(allow_nan=True), st.just(HUGE)),
    beta_range=st.one_of(st.none(), st.tuples(st.floats(allow_nan=True), st.floats(allow_nan=True))),
    seed=st.one_of(st.none(), st.integers(-5, 2**64 + 5)),
)
def test_sampler_inputs(num_reads, num_sweeps, beta_range, seed):
    try:
        result = AnnealingSampler().sample(_bqm(), num_reads=num_reads, num_sweeps=num_sweeps,
                                           beta_range=beta_range, seed=seed)
    except InvalidParameterError as exc:
        assert "parameter of" in str(exc)
    else:
        assert len(result) == (1 if num_reads is None else num_reads)
        assert set(np.unique(result.record.sample)) <= {-1, 1}


@PROPERTY
@given(spins=st.lists(st.sampled_from([-1, 1, 0, 2]), min_size=1, max_size=6), reads=st.integers(1, 3))
def test_sampler_initial_states(spins, reads):
    bqm = dimod.BinaryQuadraticModel({i: 0.1 for i in range(len(spins))}, {}, 0.0, dimod.SPIN)
    states = np.tile(np.asarray(spins, dtype=np.int8), (reads, 1))
    try:
        result = AnnealingSampler().sample(bqm, initial_states=(states, list(range(len(spins)))), num_sweeps=3,
                                           seed=0)
    except InvalidParameterError as exc:
        assert "'initial_states' parameter" in str(exc)
        assert not (set(spins) <= {-1, 1} or set(spins) <= {0, 1})
    else:
        assert set(spins) <= {-1, 1} or set(spins) <= {0, 1}  # binary states are converted, as in dimod
        assert len(result) == reads


def test_copying_a_model_folder_keeps_it_loadable(saved, tmp_path):
    shutil.copytree(saved, tmp_path / "copy")
    assert load_model(tmp_path / "copy").n_iter_ == 1
