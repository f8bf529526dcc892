"""Saving and loading trained models as ``.npz`` (arrays) + ``.json`` (config), never pickle.

A model ``DIR`` holds ``model.npz`` (weights, biases, classes, backend state)
and ``model.json`` (estimator parameters, seeds, the training history,
versions, and the SHA-256 of the ``.npz``). Solvers and backends are saved as
data: a registered one by name and parameters, a user's class by its import
path and parameters, a dimod sampler instance by its class's import path.
Loading never imports a module the caller did not allow
(:func:`~eqising.registry.check_trusted`): eqising, dimod and dwave.samplers
are allowed, anything else needs ``load_model(path, trust=[...])``.

A save is one unit. Holding the folder's lock (:func:`~eqising._files.folder_lock`:
a second process saving there is refused), it writes the new arrays whole as
``model.npz.next``, then replaces ``model.json`` (the commit: it names the
SHA-256 of the new arrays), then renames ``model.npz.next`` to ``model.npz``;
each step is a flushed temporary file renamed into place. A save stopped at
any point leaves the old model (the old ``model.json`` matches the old
``model.npz``) or the new one (the new ``model.json`` matches
``model.npz.next`` until the last rename, and the loader follows it). A Ctrl-C
during a save is held back until the save is whole
(:func:`~eqising._files.interrupts_deferred`). Files get the ordinary
permissions of the umask.

With ``checkpoint=True`` the save also holds the training engine's state
(optimizer moments, SGD velocity), so :meth:`EqPropClassifier.partial_fit`
on the loaded model continues bit-identically; every other random choice is
derived from ``root_seed_`` and the epoch index (:mod:`eqising.seeding`),
and the backend's own random state is in its saved state.

``load_model`` cross-checks ``model.json`` against the arrays (layer
shapes, hidden sizes, classes and replicas, seeds derived from the root
seed, feature names) and names the file and the field that disagree.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import os
import re
from pathlib import Path
from typing import Any

import numpy as np

from . import __version__
from ._files import folder_lock, interrupts_deferred, remove_stale_temporaries, sync_folder, write_file
from ._validation import Described, param_error
from .estimator import EqPropClassifier
from .hardware import BACKENDS, WeightBackend
from .history import TrainingHistory
from .network import LayeredIsingNetwork
from .registry import UntrustedModuleError, check_trusted, import_object, import_path
from .seeding import SeedSource
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


#: Bit generators a saved ``random_state`` Generator may name (rebuilt by name, nothing imported).
_BIT_GENERATORS = ("MT19937", "PCG64", "PCG64DXSM", "Philox", "SFC64")
#: Where the new arrays wait between the commit of model.json and the last rename.
_NEXT = ".next"


#: Estimator parameters added after format version 3 was fixed, with the value that reproduces a
#: model saved before them (its later ``partial_fit`` steps exactly as it would have).
_ADDED_PARAMS = {"step_scaling": "none", "shift_augment": 0, "image_shape": None}


def _random_state_json(value: Any) -> Any:
    """A ``random_state`` as JSON: None, an int, or a Generator's bit-generator state."""
    if isinstance(value, np.random.Generator):
        state = value.bit_generator.state
        if state.get("bit_generator") in _BIT_GENERATORS:
            return {"generator": _jsonable(state, "random_state")}
    if value is None or isinstance(value, (int, np.integer)):
        return None if value is None else int(value)
    raise param_error("random_state", "save_model", "None, an int or a numpy.random.Generator with a bit generator "
                      f"from {set(_BIT_GENERATORS)}", value)


def _random_state_from_json(value: Any, owner: str) -> Any:
    if isinstance(value, dict):
        state = value.get("generator")
        name = state.get("bit_generator") if isinstance(state, dict) else None
        if name not in _BIT_GENERATORS:
            raise ModelFileError(f"The 'random_state' entry of {owner} must name a bit generator from "
                                 f"{set(_BIT_GENERATORS)}. Got {name!r} instead.")
        bit_generator = getattr(np.random, name)()
        if name == "MT19937" and isinstance(state.get("state", {}).get("key"), list):
            state = {**state, "state": {**state["state"], "key": np.asarray(state["state"]["key"], dtype=np.uint32)}}
        bit_generator.state = state
        return np.random.Generator(bit_generator)
    return value


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


def save_model(model: EqPropClassifier, directory: str | os.PathLike, *, checkpoint: bool = False) -> Path:
    """Save a fitted :class:`EqPropClassifier` into ``directory`` (created if needed), as one unit.

    Parameters
    ----------
    model : EqPropClassifier
        A fitted estimator.
    directory : path
        The model folder; a model already there is replaced only once the
        new one is complete (see the module's description).
    checkpoint : bool, default=False
        Also save the training engine's state (optimizer moments, SGD
        velocity), so that ``load_model(directory).partial_fit(...)``
        continues exactly as the saved estimator would have.

    Returns
    -------
    Path
        The path of ``model.json``.

    Raises
    ------
    InvalidParameterError
        For a parameter with no JSON form (e.g. a solver object without
        ``get_params``); nothing is written then.
    FolderBusyError
        If another process is saving into ``directory``.
    """
    from sklearn.utils.validation import check_is_fitted

    check_is_fitted(model, "engine_")
    if not isinstance(checkpoint, bool):
        raise param_error("checkpoint", "save_model", "a bool", checkpoint)
    params = model.get_params(deep=False)
    params["solver"] = _describe(params["solver"], "solver", SOLVERS)
    params["backend"] = _describe(params["backend"], "backend", BACKENDS)
    params["random_state"] = _random_state_json(params["random_state"])
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
    names = getattr(model, "feature_names_in_", None)
    if names is not None:
        arrays["feature_names_in"] = np.asarray(names).astype(str)
    if checkpoint:
        for key, value in model.engine_.get_state().items():
            arrays[f"engine.{key}"] = value
    with interrupts_deferred():  # a Ctrl-C comes after the save, not inside zipfile (see _files)
        return _write_model(model, Path(directory), params, arrays, checkpoint)


def _write_model(model: EqPropClassifier, directory: Path, params: dict, arrays: dict[str, np.ndarray],
                 checkpoint: bool) -> Path:
    """The arrays and ``model.json`` of :func:`save_model`, serialised and written as one unit."""
    net = model.network_
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
        "checkpoint": checkpoint,
        "arrays": {"file": "model.npz", "sha256": hashlib.sha256(npz).hexdigest()},
    }
    text = json.dumps(meta, indent=2).encode()
    directory.mkdir(parents=True, exist_ok=True)
    with folder_lock(directory, "save_model"):
        remove_stale_temporaries(directory)
        write_file(directory / ("model.npz" + _NEXT), npz)  # 1. the new arrays, whole, beside the old ones
        write_file(directory / "model.json", text)  # 2. the commit: model.json now names the new arrays
        os.replace(directory / ("model.npz" + _NEXT), directory / "model.npz")  # 3. into their place
        sync_folder(directory)
    return directory / "model.json"


def _read_arrays(npz_path: Path, sha256: str, meta_path: Path) -> bytes:
    """The bytes of the arrays ``model.json`` names: ``model.npz``, or ``model.npz.next`` after an interrupted save."""
    candidates = [npz_path, npz_path.with_name(npz_path.name + _NEXT), npz_path]  # the last: a save finishing now
    found = False
    for candidate in candidates:
        try:
            raw = candidate.read_bytes()
        except FileNotFoundError:
            continue
        found = True
        if hashlib.sha256(raw).hexdigest() == sha256:
            return raw
    if not found:
        raise FileNotFoundError(f"No such file: {str(npz_path)!r}")
    raise ModelFileError(
        f"The model arrays {str(npz_path)!r} do not match {str(meta_path)!r} (checksum differs); "
        "the files are corrupt or from different saves."
    )


def _inconsistent(meta_path: Path, field: str, says: Any, arrays: Any) -> ModelFileError:
    return ModelFileError(
        f"The model file {str(meta_path)!r} contradicts its arrays: {field} is {says!r} in model.json "
        f"but {arrays!r} in the arrays; the file was edited or is corrupt."
    )


def _cross_check(meta_path: Path, params: dict, fitted: dict, arrays: dict[str, np.ndarray]) -> None:
    """Refuse a ``model.json`` whose fields contradict the arrays or each other."""
    n_layers = fitted["n_layers"]
    if not isinstance(n_layers, int) or isinstance(n_layers, bool) or n_layers < 2:
        raise ModelFileError(f"The 'n_layers' entry of model file {str(meta_path)!r} must be an int >= 2. "
                             f"Got {n_layers!r} instead.")
    held = sum(1 for k in arrays if k.startswith("weight_"))
    if held != n_layers:
        raise _inconsistent(meta_path, "n_layers", n_layers, held)
    for i in range(n_layers):
        for name in (f"weight_{i}", f"bias_{i}"):
            if name not in arrays:
                raise ModelFileError(f"The model arrays of {str(meta_path)!r} have no {name!r}.")
    sizes = [int(arrays["weight_0"].shape[0])] + [int(arrays[f"weight_{i}"].shape[1]) for i in range(n_layers)]
    if fitted["n_features_in_"] != sizes[0]:
        raise _inconsistent(meta_path, "n_features_in_", fitted["n_features_in_"], sizes[0])
    hidden = params.get("hidden_layer_sizes")
    hidden = [hidden] if isinstance(hidden, int) else hidden
    if not isinstance(hidden, list) or hidden != sizes[1:-1]:
        raise _inconsistent(meta_path, "hidden_layer_sizes", hidden, sizes[1:-1])
    n_classes, replicas = len(arrays["classes"]), params.get("replicas")
    if not isinstance(replicas, int) or n_classes * replicas != sizes[-1]:
        raise _inconsistent(meta_path, "replicas", replicas, f"{sizes[-1]} output spins for {n_classes} classes")
    history_layers = fitted["history_"].get("n_layers") if isinstance(fitted["history_"], dict) else None
    if history_layers != n_layers:
        raise _inconsistent(meta_path, "history_.n_layers", history_layers, n_layers)
    root = fitted["root_seed_"]
    if not isinstance(root, int) or not 0 <= root < 2**64:
        raise ModelFileError(f"The 'root_seed_' entry of model file {str(meta_path)!r} must be an int in "
                             f"[0, 2**64). Got {root!r} instead.")
    source = SeedSource(root)
    for name, path in (("prediction_seed_", "predict"), ("backend_seed_", "backend")):
        if fitted[name] != source.seed(path):
            raise ModelFileError(
                f"The model file {str(meta_path)!r} has {name} {fitted[name]!r}, which is not the seed derived "
                f"from its root_seed_ {root} ({source.seed(path)}); the file was edited or is corrupt."
            )
    if "feature_names_in" in arrays and len(arrays["feature_names_in"]) != sizes[0]:
        raise _inconsistent(meta_path, "n_features_in_", sizes[0], f"{len(arrays['feature_names_in'])} feature names")


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
        If the files are missing, corrupt, mismatched, contradict each other
        or are of another format.
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
    except OSError as exc:
        raise ModelFileError(f"The model file {str(meta_path)!r} cannot be read ({exc.strerror}).") from exc
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
        for name, before in _ADDED_PARAMS.items():  # a file older than a parameter trained without it
            params.setdefault(name, before)
        _check_paths(params, trust, "params", owner)  # before any object is built or module imported
        params["solver"] = _rebuild(params.get("solver"), "solver", SOLVERS, Solver, trust, owner)
        params["backend"] = _rebuild(params.get("backend"), "backend", BACKENDS, WeightBackend, trust, owner)
        params["random_state"] = _random_state_from_json(params.get("random_state"), owner)
        npz_path = meta_path.parent / meta["arrays"]["file"]
        if Path(meta["arrays"]["file"]).name != meta["arrays"]["file"]:
            raise ModelFileError(f"The 'arrays.file' entry of {owner} must be a file name in the model folder. "
                                 f"Got {meta['arrays']['file']!r} instead.")
        raw = _read_arrays(npz_path, meta["arrays"]["sha256"], meta_path)
        with np.load(io.BytesIO(raw), allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files}
        fitted = meta["fitted"]
        _cross_check(meta_path, meta["params"], fitted, arrays)
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
        engine.set_state({k[len("engine."):]: v for k, v in arrays.items() if k.startswith("engine.")})
        history = TrainingHistory.from_dict(fitted["history_"])
        root, prediction = int(fitted["root_seed_"]), int(fitted["prediction_seed_"])
        n_features = int(fitted["n_features_in_"])
    except (ModelFileError, UntrustedModuleError):
        raise
    except (OSError, KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ModelFileError(f"The model {str(meta_path)!r} is corrupt or incomplete ({type(exc).__name__}: {exc}).") from exc
    model.root_seed_, model.prediction_seed_, model.backend_seed_ = root, prediction, backend_seed
    model.classes_ = arrays["classes"]
    model.n_features_in_ = n_features
    if "feature_names_in" in arrays:
        model.feature_names_in_ = arrays["feature_names_in"].astype(object)
    model.network_, model.solver_, model.backend_, model.engine_ = network, solver, backend, engine
    model.history_ = history
    return model
