"""Saving and loading trained models as ``.npz`` (arrays) + ``.json`` (config), never pickle.

A model ``DIR`` holds ``model.npz`` (weights, biases, classes, backend state)
and ``model.json`` (estimator parameters, seeds, the training history,
versions, and the SHA-256 of the ``.npz``). Solvers and backends are saved as
data: a registered one by name and parameters, a user's class by its import
path and parameters, a dimod sampler instance by its class's import path.
Loading never imports a module the caller did not allow
(:func:`~eqising.registry.check_trusted`): eqising, dimod and dwave.samplers
are allowed, anything else needs ``load_model(path, trust=[...])``. Each file is written to a temporary name and renamed into
place, the ``.npz`` first, so a crash never leaves a half-written file, and a
``.json`` that does not match its ``.npz`` is detected on load.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import os
import re
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from . import __version__
from ._validation import Described, param_error
from .estimator import EqPropClassifier
from .hardware import BACKENDS, WeightBackend
from .history import TrainingHistory
from .network import LayeredIsingNetwork
from .registry import UntrustedModuleError, check_trusted, import_object, import_path
from .solvers import SOLVERS, Solver

__all__ = ["ModelFileError", "UntrustedModuleError", "load_model", "save_model"]

FORMAT = "eqising-model"
#: 2: models hold a weight backend (its seed, state and costs).
#: 3: solver and backend objects by name or import path; one root seed; the training history as one record.
FORMAT_VERSION = 3
#: A string that names an importable object.
_IMPORT_PATH = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_][\w.]*$")


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


def _jsonable(value: Any, name: str) -> Any:
    """A parameter value as plain JSON types; dimod samplers become their class's import path.

    Raises
    ------
    InvalidParameterError
        For a value that has no JSON form (models are JSON, never pickle).
    """
    import dimod

    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, dimod.Sampler):  # rebuilt without arguments on load
        return import_path(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):  # e.g. a MemristorDevice: its fields
        return _jsonable(dataclasses.asdict(value), name)
    if isinstance(value, dict):
        return {str(k): _jsonable(v, name) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v, name) for v in value]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    raise param_error(name, "save_model", "made of JSON values (numbers, strings, lists, dicts), dimod samplers "
                      "or objects with get_params", Described(f"a {type(value).__name__} instance"))


def _describe(component: Any, name: str, registry: Any) -> Any:
    """A solver or backend parameter as JSON: a name, ``{'name', 'params'}``, ``{'class', 'params'}`` or ``{'sampler'}``."""
    import dimod

    if component is None or isinstance(component, str):
        return component
    if isinstance(component, dimod.Sampler) and not hasattr(component, "get_params"):
        return {"sampler": import_path(component)}
    if not hasattr(component, "get_params"):
        raise param_error(name, "save_model", "a name or an object with get_params", component)
    params = _jsonable(component.get_params(), name)
    registered = registry.name_of(type(component))
    return {"name": registered, "params": params} if registered else {"class": import_path(component), "params": params}


def _check_paths(value: Any, trust: Any, name: str, owner: str) -> None:
    """Refuse any ``'module:Name'`` string inside ``value`` whose module is not trusted (before anything is built)."""
    if isinstance(value, str) and _IMPORT_PATH.match(value):
        check_trusted(value, trust, name, owner)
    elif isinstance(value, dict):
        for v in value.values():
            _check_paths(v, trust, name, owner)
    elif isinstance(value, list):
        for v in value:
            _check_paths(v, trust, name, owner)


def _rebuild(described: Any, name: str, registry: Any, base: type, trust: Any, owner: str) -> Any:
    """The object :func:`_describe` described, importing only trusted modules."""
    if described is None or isinstance(described, str):
        return described
    if not isinstance(described, dict):
        raise ModelFileError(f"The {name!r} entry of {owner} must be a name or an object description.")
    _check_paths(described, trust, name, owner)
    if "sampler" in described:
        return import_object(described["sampler"], name, owner, trust=trust)()
    params = described.get("params") or {}
    if "name" in described:
        return registry.make(described["name"], params, owner)
    cls = import_object(described.get("class", ""), name, owner, trust=trust)
    if not (isinstance(cls, type) and issubclass(cls, base)):
        raise ModelFileError(f"The {name!r} entry of {owner} must name a {base.__name__} subclass. Got {cls!r} instead.")
    return cls(**params)


def save_model(model: EqPropClassifier, directory: str | os.PathLike) -> Path:
    """Save a fitted :class:`EqPropClassifier` into ``directory`` (created if needed).

    Returns
    -------
    Path
        The path of ``model.json``.

    Raises
    ------
    InvalidParameterError
        For a parameter with no JSON form (e.g. a solver object without
        ``get_params``); nothing is written then.
    """
    from sklearn.utils.validation import check_is_fitted

    check_is_fitted(model, "engine_")
    params = model.get_params(deep=False)
    params["solver"] = _describe(params["solver"], "solver", SOLVERS)
    params["backend"] = _describe(params["backend"], "backend", BACKENDS)
    if not isinstance(params["random_state"], (int, type(None))):  # a Generator: the root seed is saved instead
        params["random_state"] = None
    params = {k: _jsonable(v, k) for k, v in params.items()}
    net = model.network_
    arrays: dict[str, np.ndarray] = {"classes": np.asarray(model.classes_)}
    if arrays["classes"].dtype == object:
        arrays["classes"] = arrays["classes"].astype(str)
    for i, (W, b) in enumerate(zip(net.weights, net.biases)):
        arrays[f"weight_{i}"] = W
        arrays[f"bias_{i}"] = b
    for key, value in model.backend_.state().items():
        arrays[f"backend.{key}"] = value
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    npz = buf.getvalue()
    meta = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "eqising_version": __version__,
        "numpy_version": np.__version__,
        "params": params,
        "fitted": {
            "n_features_in_": int(model.n_features_in_),
            "n_layers": len(net.weights),
            "root_seed_": int(model.root_seed_),
            "prediction_seed_": int(model.prediction_seed_),
            "backend_seed_": int(model.backend_seed_),
            "history_": model.history_.to_dict(),
        },
        "arrays": {"file": "model.npz", "sha256": hashlib.sha256(npz).hexdigest()},
    }
    text = json.dumps(meta, indent=2).encode()
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    _atomic_write(directory / "model.npz", npz)
    _atomic_write(directory / "model.json", text)
    return directory / "model.json"


def load_model(path: str | os.PathLike, *, trust: Any = None) -> EqPropClassifier:
    """Load a model saved by :func:`save_model`.

    Parameters
    ----------
    path : path
        The model directory or its ``model.json``.
    trust : iterable of str or None, default=None
        Modules (and their submodules) the model file may name, beyond
        eqising, dimod and dwave.samplers: a user's solver or backend class,
        a dimod sampler from another package. Nothing else is ever imported.

    Raises
    ------
    ModelFileError
        If the files are missing, corrupt, mismatched or of another format.
    UntrustedModuleError
        If the file names a module that is not allowed (it is not imported).
    """
    if trust is not None and (isinstance(trust, str) or not all(isinstance(t, str) for t in trust)):
        raise param_error("trust", "load_model", "None or a list of module names", trust)
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
    owner = f"model file {str(meta_path)!r}"
    try:
        params = dict(meta["params"])
        _check_paths(params, trust, "params", owner)  # before any object is built or module imported
        params["solver"] = _rebuild(params.get("solver"), "solver", SOLVERS, Solver, trust, owner)
        params["backend"] = _rebuild(params.get("backend"), "backend", BACKENDS, WeightBackend, trust, owner)
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
        model = EqPropClassifier(**params)
        if isinstance(model.hidden_layer_sizes, list):
            model.hidden_layer_sizes = tuple(model.hidden_layer_sizes)
        model._validate_params()
        settings, solver, backend = model._resolve()
        network = LayeredIsingNetwork(
            [arrays[f"weight_{i}"] for i in range(n_layers)],
            [arrays[f"bias_{i}"] for i in range(n_layers)],
            field_clip=settings.field_clip,
        )
        backend_seed = int(fitted["backend_seed_"])
        state = {k[len("backend."):]: v for k, v in arrays.items() if k.startswith("backend.")}
        engine = model._build(settings, solver, backend, network, backend_seed, backend_state=state)
        history = TrainingHistory.from_dict(fitted["history_"])
        root, prediction = int(fitted["root_seed_"]), int(fitted["prediction_seed_"])
        n_features = int(fitted["n_features_in_"])
    except (ModelFileError, UntrustedModuleError):
        raise
    except (OSError, KeyError, TypeError, ValueError) as exc:
        raise ModelFileError(f"The model {str(meta_path)!r} is corrupt or incomplete ({type(exc).__name__}: {exc}).") from exc
    model.root_seed_, model.prediction_seed_, model.backend_seed_ = root, prediction, backend_seed
    model.classes_ = arrays["classes"]
    model.n_features_in_ = n_features
    model.network_, model.solver_, model.backend_, model.engine_ = network, solver, backend, engine
    model.history_ = history
    return model
