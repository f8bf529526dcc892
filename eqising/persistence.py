"""Saving and loading trained models as ``.npz`` (arrays) + ``.json`` (config), never pickle.

A model ``DIR`` holds ``model.npz`` (weights, biases, classes) and
``model.json`` (estimator parameters, fitted scalars, versions, and the SHA-256
of the ``.npz``). Each file is written to a temporary name and renamed into
place, the ``.npz`` first, so a crash never leaves a half-written file, and a
``.json`` that does not match its ``.npz`` is detected on load.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from . import __version__
from ._validation import Described, param_error
from .estimator import EqPropClassifier
from .network import LayeredIsingNetwork

__all__ = ["ModelFileError", "load_model", "save_model"]

FORMAT = "eqising-model"
#: 2: models hold a weight backend (its seed, state and costs).
FORMAT_VERSION = 2


class ModelFileError(ValueError):
    """A model file is missing, corrupt, or not an eqising model."""


def _atomic_write(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _jsonable(value: Any) -> Any:
    """Parameters and fitted records (nested dicts, lists, numpy scalars, dataclasses) as plain JSON types."""
    if isinstance(value, np.generic):
        return value.item()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):  # e.g. a MemristorDevice: saved as its fields
        return _jsonable(dataclasses.asdict(value))
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value


def save_model(model: EqPropClassifier, directory: str | os.PathLike) -> Path:
    """Save a fitted :class:`EqPropClassifier` into ``directory`` (created if needed).

    Returns
    -------
    Path
        The path of ``model.json``.
    """
    from sklearn.utils.validation import check_is_fitted

    check_is_fitted(model, "network_")
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    net = model.network_
    arrays: dict[str, np.ndarray] = {"classes": np.asarray(model.classes_)}
    if arrays["classes"].dtype == object:
        arrays["classes"] = arrays["classes"].astype(str)
    for i, (W, b) in enumerate(zip(net.weights, net.biases)):
        arrays[f"weight_{i}"] = W
        arrays[f"bias_{i}"] = b
    backend_state = model.backend_.state()
    for key, value in backend_state.items():
        arrays[f"backend.{key}"] = value
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    npz = buf.getvalue()
    params = model.get_params()
    sampler = (params.get("solver_params") or {}).get("sampler")
    if sampler is not None and not isinstance(sampler, str):  # models are JSON, never pickle
        raise param_error("solver_params", "save_model", "JSON-serialisable: give the dimod sampler as a "
                          "'module:Class' string", Described(f"a {type(sampler).__name__} instance"))
    if not isinstance(params["random_state"], (int, type(None))):
        params["random_state"] = None
    meta = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "eqising_version": __version__,
        "numpy_version": np.__version__,
        "params": {k: _jsonable(v) for k, v in params.items()},
        "fitted": {
            "n_features_in_": int(model.n_features_in_),
            "n_layers": len(net.weights),
            "prediction_seed_": int(model.prediction_seed_),
            "n_iter_": int(model.n_iter_),
            "t_": int(model.t_),
            "loss_curve_": [float(v) for v in model.loss_curve_],
            "accuracy_curve_": [float(v) for v in model.accuracy_curve_],
            "solver_seconds_": float(model.solver_seconds_),
            "spin_updates_": int(model.spin_updates_),
            "solver_cost_": _jsonable(model.solver_cost_),
            "solver_cost_curve_": _jsonable(model.solver_cost_curve_),
            "solver_diagnostics_": _jsonable(model.solver_diagnostics_),
            "backend_seed_": int(model.backend_seed_),
            "backend_cost_": _jsonable(model.backend_cost_),
            "backend_layer_cost_": _jsonable(model.backend_layer_cost_),
            "backend_cost_curve_": _jsonable(model.backend_cost_curve_),
        },
        "arrays": {"file": "model.npz", "sha256": hashlib.sha256(npz).hexdigest()},
    }
    _atomic_write(directory / "model.npz", npz)
    _atomic_write(directory / "model.json", json.dumps(meta, indent=2).encode())
    return directory / "model.json"


def load_model(path: str | os.PathLike) -> EqPropClassifier:
    """Load a model saved by :func:`save_model`.

    Parameters
    ----------
    path : path
        The model directory or its ``model.json``.

    Raises
    ------
    ModelFileError
        If the files are missing, corrupt, mismatched or of another format.
    """
    path = Path(path)
    meta_path = path / "model.json" if path.is_dir() else path
    if not meta_path.is_file():
        raise ModelFileError(f"The model path {str(path)!r} must be a model folder or its model.json; no such file.")
    try:
        meta = json.loads(meta_path.read_text())
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelFileError(f"The model file {str(meta_path)!r} is not valid JSON ({exc}).") from exc
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise ModelFileError(f"The model file {str(meta_path)!r} is not an eqising model (format != {FORMAT!r}).")
    if meta.get("format_version") != FORMAT_VERSION:
        raise ModelFileError(
            f"The model file {str(meta_path)!r} has format version {meta.get('format_version')!r}; "
            f"this eqising reads version {FORMAT_VERSION}."
        )
    try:
        npz_path = meta_path.parent / meta["arrays"]["file"]
        raw = npz_path.read_bytes()
        if hashlib.sha256(raw).hexdigest() != meta["arrays"]["sha256"]:
            raise ModelFileError(
                f"The model arrays {str(npz_path)!r} do not match {str(meta_path)!r} (checksum differs); "
                "the files are corrupt or from different saves."
            )
        with np.load(io.BytesIO(raw), allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files}
        fitted = meta["fitted"]
        n_layers = int(fitted["n_layers"])
        model = EqPropClassifier(**meta["params"])
        if isinstance(model.hidden_layer_sizes, list):
            model.hidden_layer_sizes = tuple(model.hidden_layer_sizes)
        params = model._validate_params()
        net = LayeredIsingNetwork(
            [arrays[f"weight_{i}"] for i in range(n_layers)],
            [arrays[f"bias_{i}"] for i in range(n_layers)],
            field_clip=params["field_clip"],
        )
        solver = model._make_solver()
        model.network_ = net
        model.backend_seed_ = int(fitted["backend_seed_"])
        backend_state = {k[len("backend."):]: v for k, v in arrays.items() if k.startswith("backend.")}
        model._program_backend(params, state=backend_state)
    except ModelFileError:
        raise
    except (OSError, KeyError, TypeError, ValueError) as exc:
        raise ModelFileError(f"The model {str(meta_path)!r} is corrupt or incomplete ({type(exc).__name__}: {exc}).") from exc
    model.classes_ = arrays["classes"]
    model.solver_ = solver
    model.n_features_in_ = int(fitted["n_features_in_"])
    for name in (
        "prediction_seed_", "n_iter_", "t_", "loss_curve_", "accuracy_curve_", "solver_seconds_", "spin_updates_",
        "solver_cost_", "solver_cost_curve_", "solver_diagnostics_", "backend_cost_", "backend_layer_cost_", "backend_cost_curve_",
    ):
        setattr(model, name, fitted[name])
    return model
