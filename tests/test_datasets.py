"""Tests of eqising.datasets: the digits split, the MNIST IDX loader and load_arrays."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest

from eqising._validation import InvalidParameterError
from eqising.datasets import Dataset, load_arrays, load_dataset, load_digits_split, load_mnist, read_idx

N_DIGITS = 1797


# ----------------------------------------------------------------- helpers
def write_idx(path: Path, array: np.ndarray, *, compress: bool | None = None) -> Path:
    """Write ``array`` (uint8, 1-d labels or 3-d images) as an IDX file; gzip if the name ends in .gz."""
    array = np.ascontiguousarray(array, dtype=np.uint8)
    magic = {1: 2049, 3: 2051}[array.ndim]
    header = magic.to_bytes(4, "big") + b"".join(int(n).to_bytes(4, "big") for n in array.shape)
    raw = header + array.tobytes()
    compress = path.suffix == ".gz" if compress is None else compress
    path.write_bytes(gzip.compress(raw) if compress else raw)
    return path


def make_mnist_folder(
    folder: Path, *, n_train: int = 12, n_test: int = 5, gz: bool = True, side: int = 4, seed: int = 0
):
    """Four small synthetic MNIST files; returns the arrays written."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    suffix = ".gz" if gz else ""
    data = {}
    for split, n in (("train", n_train), ("t10k", n_test)):
        images = rng.integers(0, 256, size=(n, side, side), dtype=np.uint8)
        images[0, 0, 0], images[0, 0, 1] = 0, 255  # both ends of the pixel range
        labels = (np.arange(n) % 10).astype(np.uint8)
        write_idx(folder / f"{split}-images-idx3-ubyte{suffix}", images)
        write_idx(folder / f"{split}-labels-idx1-ubyte{suffix}", labels)
        data[split] = (images, labels)
    return data


# ------------------------------------------------------------------ digits
def test_digits_default_split_sizes_and_scaling():
    d = load_dataset("digits")
    assert isinstance(d, Dataset) and d.name == "digits"
    assert d.X_train.shape == (1347, 64) and d.X_test.shape == (450, 64)
    assert d.y_train.shape == (1347,) and d.y_test.shape == (450,)
    for X in (d.X_train, d.X_test):
        assert X.dtype == np.float64
        assert X.min() == 0.0 and X.max() == 1.0
    assert set(np.unique(d.y_train)) == set(range(10)) == set(np.unique(d.y_test))


def test_digits_split_is_stratified():
    from sklearn.datasets import load_digits

    _, y = load_digits(return_X_y=True)
    d = load_digits_split(train_size=600, test_size=200)
    full = np.bincount(y, minlength=10) / len(y)
    for part in (d.y_train, d.y_test):
        counts = np.bincount(part, minlength=10)
        # stratified: each class count is within one example of its expected share
        assert np.all(np.abs(counts - full * len(part)) <= 1.0 + 1e-9), counts


def test_digits_split_is_a_partition_of_the_data():
    from sklearn.datasets import load_digits

    X, _ = load_digits(return_X_y=True)
    d = load_dataset("digits")
    rows = {r.tobytes() for r in X / 16.0}
    both = np.vstack([d.X_train, d.X_test])
    assert all(r.tobytes() in rows for r in both)
    # digits has a few duplicate images, so compare counts rather than sets
    assert len(both) == N_DIGITS


@pytest.mark.parametrize(
    "kwargs, n_train, n_test",
    [
        ({"train_size": 200, "test_size": 100}, 200, 100),
        ({"train_size": 200}, 200, 450),
        ({"test_size": 100}, N_DIGITS - 100, 100),
        ({"train_size": 1500}, 1500, N_DIGITS - 1500),
    ],
)
def test_digits_train_and_test_size(kwargs, n_train, n_test):
    d = load_dataset("digits", **kwargs)
    assert d.X_train.shape == (n_train, 64) and d.y_train.shape == (n_train,)
    assert d.X_test.shape == (n_test, 64) and d.y_test.shape == (n_test,)


def test_digits_split_seed():
    a = load_dataset("digits", train_size=100, test_size=50, random_state=0)
    b = load_dataset("digits", train_size=100, test_size=50, random_state=0)
    c = load_dataset("digits", train_size=100, test_size=50, random_state=1)
    np.testing.assert_array_equal(a.X_train, b.X_train)
    np.testing.assert_array_equal(a.y_test, b.y_test)
    assert not np.array_equal(a.X_train, c.X_train)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"train_size": -5}, r"'train_size' parameter .* must be an int >= 1.*Got -5"),
        ({"train_size": 0}, r"'train_size'.*Got 0"),
        ({"test_size": -1}, r"'test_size'.*Got -1"),
        ({"train_size": 5000}, r"'train_size'.*Got 5000"),
        ({"test_size": 5000}, r"'test_size'.*Got 5000"),
        ({"train_size": 1700, "test_size": 200}, r"'train_size'.*at most 1597.*Got 1700"),
        ({"train_size": 2.5}, r"'train_size'.*an int"),
    ],
)
def test_digits_bad_sizes(kwargs, match):
    with pytest.raises(InvalidParameterError, match=match):
        load_dataset("digits", **kwargs)


def test_unknown_dataset_name():
    with pytest.raises(InvalidParameterError, match=r"'dataset'.*'digits', 'mnist'.*Got 'cifar'"):
        load_dataset("cifar")


def test_mnist_requires_data_dir():
    with pytest.raises(InvalidParameterError, match=r"'data_dir'.*Got None"):
        load_dataset("mnist")


# ------------------------------------------------------------- real MNIST
@pytest.fixture(scope="module")
def real_mnist(shared_mnist_dir):
    return load_mnist(shared_mnist_dir)


def test_real_mnist_shapes_labels_and_range(real_mnist):
    d = real_mnist
    assert d.name == "mnist"
    assert d.X_train.shape == (7000, 784) and d.y_train.shape == (7000,)
    assert d.X_test.shape == (1000, 784) and d.y_test.shape == (1000,)
    for X in (d.X_train, d.X_test):
        assert X.dtype == np.float64
        assert X.min() == 0.0 and X.max() == 1.0
    for y in (d.y_train, d.y_test):
        assert np.issubdtype(y.dtype, np.integer)
        assert set(np.unique(y)) == set(range(10))
    # roughly balanced classes
    assert np.bincount(d.y_train, minlength=10).min() > 500


def test_real_mnist_through_load_dataset_with_sizes(real_mnist, shared_mnist_dir):
    d = load_dataset("mnist", data_dir=shared_mnist_dir, train_size=100, test_size=50)
    assert d.X_train.shape == (100, 784) and d.X_test.shape == (50, 784)
    # the first n examples of each file
    np.testing.assert_array_equal(d.X_train, real_mnist.X_train[:100])
    np.testing.assert_array_equal(d.y_test, real_mnist.y_test[:50])


def test_real_mnist_size_larger_than_available(shared_mnist_dir):
    with pytest.raises(InvalidParameterError, match=r"'train_size'.*<= 7000.*Got 7001"):
        load_mnist(shared_mnist_dir, train_size=7001)


# -------------------------------------------------------- synthetic IDX files
@pytest.mark.parametrize("name", ["labels-idx1-ubyte", "labels-idx1-ubyte.gz"])
def test_read_idx_labels_round_trip(tmp_path, name):
    labels = np.array([3, 1, 4, 1, 5, 9, 2, 6], dtype=np.uint8)
    out = read_idx(write_idx(tmp_path / name, labels))
    assert out.dtype == np.uint8 and out.shape == (8,)
    np.testing.assert_array_equal(out, labels)


@pytest.mark.parametrize("name", ["images-idx3-ubyte", "images-idx3-ubyte.gz"])
def test_read_idx_images_round_trip(tmp_path, name):
    images = np.random.default_rng(1).integers(0, 256, size=(3, 5, 7), dtype=np.uint8)
    out = read_idx(write_idx(tmp_path / name, images))
    assert out.dtype == np.uint8 and out.shape == (3, 5, 7)
    np.testing.assert_array_equal(out, images)


@pytest.mark.parametrize("gz", [True, False], ids=["gzip", "uncompressed"])
def test_load_mnist_synthetic_round_trip(tmp_path, gz):
    data = make_mnist_folder(tmp_path, n_train=12, n_test=5, gz=gz)
    d = load_mnist(tmp_path)
    for (X, y), split in (((d.X_train, d.y_train), "train"), ((d.X_test, d.y_test), "t10k")):
        images, labels = data[split]
        assert X.shape == (len(images), 16) and X.dtype == np.float64
        np.testing.assert_array_equal(X, images.reshape(len(images), -1) / 255.0)
        np.testing.assert_array_equal(y, labels)
        assert X.min() == 0.0 and X.max() == 1.0
    d2 = load_mnist(tmp_path, train_size=4, test_size=2)
    np.testing.assert_array_equal(d2.X_train, d.X_train[:4])
    np.testing.assert_array_equal(d2.y_test, d.y_test[:2])


def test_load_mnist_mixed_compression(tmp_path):
    make_mnist_folder(tmp_path, gz=True)
    # replace one gzip file by its uncompressed version
    gz = tmp_path / "t10k-labels-idx1-ubyte.gz"
    (tmp_path / "t10k-labels-idx1-ubyte").write_bytes(gzip.decompress(gz.read_bytes()))
    gz.unlink()
    d = load_mnist(tmp_path)
    assert d.y_test.shape == (5,)


# ------------------------------------------------------------------ errors
def test_load_mnist_missing_folder(tmp_path):
    missing = tmp_path / "nope"
    with pytest.raises(FileNotFoundError, match=r"'data_dir'.*existing folder.*nope"):
        load_mnist(missing)


def test_load_mnist_missing_file(tmp_path):
    make_mnist_folder(tmp_path)
    (tmp_path / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(
        FileNotFoundError, match=r"no 't10k-labels-idx1-ubyte' \(or 't10k-labels-idx1-ubyte.gz'\)"
    ):
        load_mnist(tmp_path)


def test_read_idx_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError):
        read_idx(tmp_path / "absent-idx1-ubyte")


@pytest.mark.parametrize("gz", [True, False], ids=["gzip", "uncompressed"])
def test_read_idx_bad_magic(tmp_path, gz):
    raw = (1234).to_bytes(4, "big") + (3).to_bytes(4, "big") + bytes(3)
    path = tmp_path / ("bad.gz" if gz else "bad")
    path.write_bytes(gzip.compress(raw) if gz else raw)
    with pytest.raises(ValueError, match=r"magic number 1234; expected 2049 \(labels\) or 2051 \(images\)"):
        read_idx(path)


@pytest.mark.parametrize("gz", [True, False], ids=["gzip", "uncompressed"])
def test_read_idx_truncated_body(tmp_path, gz):
    images = np.zeros((4, 3, 3), dtype=np.uint8)
    path = write_idx(tmp_path / ("img.gz" if gz else "img"), images, compress=False)
    raw = path.read_bytes()[:-5]  # drop the last 5 pixels
    path.write_bytes(gzip.compress(raw) if gz else raw)
    with pytest.raises(ValueError, match=r"should hold 36 bytes of data for shape \(4, 3, 3\); it holds 31"):
        read_idx(path)


def test_read_idx_trailing_bytes(tmp_path):
    path = write_idx(tmp_path / "labels", np.arange(5, dtype=np.uint8))
    path.write_bytes(path.read_bytes() + b"\x00\x00")
    with pytest.raises(ValueError, match=r"should hold 5 bytes.*it holds 7"):
        read_idx(path)


def test_read_idx_truncated_header(tmp_path):
    path = tmp_path / "short"
    path.write_bytes(b"\x00\x00\x08")
    with pytest.raises(ValueError, match=r"truncated: 3 bytes, no header"):
        read_idx(path)


def test_read_idx_corrupt_gzip(tmp_path):
    path = tmp_path / "train-labels-idx1-ubyte.gz"
    path.write_bytes(b"this is not gzip data at all")
    with pytest.raises(ValueError, match=r"cannot be read.*corrupt or not an IDX file"):
        read_idx(path)


def test_read_idx_truncated_gzip_stream(tmp_path):
    path = write_idx(tmp_path / "labels.gz", np.arange(200, dtype=np.uint8) % 10)
    path.write_bytes(path.read_bytes()[:-12])  # cut the gzip trailer and some data
    with pytest.raises(ValueError, match=r"cannot be read.*corrupt"):
        read_idx(path)


def test_load_mnist_corrupt_gzip(tmp_path):
    make_mnist_folder(tmp_path)
    (tmp_path / "train-images-idx3-ubyte.gz").write_bytes(b"\x1f\x8b garbage")
    with pytest.raises(ValueError, match=r"train-images-idx3-ubyte.gz.*cannot be read"):
        load_mnist(tmp_path)


def test_load_mnist_count_mismatch(tmp_path):
    make_mnist_folder(tmp_path, n_train=12)
    write_idx(tmp_path / "train-labels-idx1-ubyte.gz", np.zeros(11, dtype=np.uint8))
    with pytest.raises(
        ValueError, match=r"MNIST train files .* do not match: images \(12, 4, 4\), labels \(11,\)"
    ):
        load_mnist(tmp_path)


def test_load_mnist_labels_file_holding_images(tmp_path):
    make_mnist_folder(tmp_path, n_test=5)
    write_idx(tmp_path / "t10k-labels-idx1-ubyte.gz", np.zeros((5, 4, 4), dtype=np.uint8))
    with pytest.raises(ValueError, match=r"MNIST t10k files .* do not match"):
        load_mnist(tmp_path)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"train_size": 13}, r"'train_size'.*<= 12. Got 13"),
        ({"test_size": 6}, r"'test_size'.*<= 5. Got 6"),
        ({"train_size": -1}, r"'train_size'.*>= 1.*Got -1"),
        ({"test_size": 0}, r"'test_size'.*Got 0"),
    ],
)
def test_load_mnist_bad_sizes(tmp_path, kwargs, match):
    make_mnist_folder(tmp_path, n_train=12, n_test=5)
    with pytest.raises(InvalidParameterError, match=match):
        load_mnist(tmp_path, **kwargs)


# ------------------------------------------------------------- load_arrays
def test_load_arrays_round_trip():
    rng = np.random.default_rng(0)
    Xtr, Xte = rng.random((6, 3)), rng.random((4, 3))
    ytr, yte = np.array(list("aabbcc")), np.array(list("abca"))
    d = load_arrays(Xtr, ytr, Xte, yte, name="toy")
    assert d.name == "toy"
    np.testing.assert_array_equal(d.X_train, Xtr)
    np.testing.assert_array_equal(d.y_test, yte)
    assert d.X_train.dtype == np.float64


@pytest.mark.parametrize(
    "change, match",
    [
        ({"X_train": np.zeros(6)}, r"'X_train'.*shape"),
        ({"X_train": np.full((6, 3), np.nan)}, r"'X_train'.*NaN or inf"),
        ({"X_train": np.array([["a"] * 3] * 6)}, r"'X_train'.*numeric"),
        ({"X_test": np.zeros((4, 2))}, r"'X_test'.*shape \(n, 3\).*\(4, 2\)"),
        ({"X_test": np.full((4, 3), np.inf)}, r"'X_test'.*NaN or inf"),
        ({"y_train": np.zeros(5)}, r"'y_train'.*shape \(6,\).*\(5,\)"),
        ({"y_test": np.zeros((4, 1))}, r"'y_test'.*shape \(4,\)"),
    ],
)
def test_load_arrays_errors(change, match):
    rng = np.random.default_rng(0)
    args = {
        "X_train": rng.random((6, 3)),
        "y_train": np.arange(6) % 2,
        "X_test": rng.random((4, 3)),
        "y_test": np.arange(4) % 2,
    }
    args.update(change)
    with pytest.raises(InvalidParameterError, match=match):
        load_arrays(**args)
