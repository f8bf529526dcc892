"""The run cache of a comparison: one JSON file per finished run, named by the hash of its configuration.

A run's key hashes everything that decides its numbers: the data (the bytes
of the split), the estimator parameters of the target, the seed, and the
versions of eqising and of the libraries its numbers depend on. Files are
written atomically (temporary file, ``fsync``, rename), so an interrupted
comparison leaves only whole runs behind and resumes from them.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np

from .._files import write_file
from ..datasets import Dataset

__all__ = ["CACHE_FORMAT", "RunCache", "data_digest", "run_key", "versions"]

#: Bumped when a cached row's meaning changes; part of every key.
CACHE_FORMAT = 1


def versions() -> dict[str, str]:
    """Versions of eqising and of the libraries a run's numbers depend on."""
    import dimod
    import numba
    import sklearn

    from .. import __version__

    return {"eqising": __version__, "numpy": np.__version__, "scikit-learn": sklearn.__version__,
            "numba": numba.__version__, "dimod": dimod.__version__}


def data_digest(data: Dataset) -> str:
    """SHA-256 of the split: name, and the shapes, dtypes and bytes of the four arrays."""
    h = hashlib.sha256(data.name.encode())
    for array in (data.X_train, data.y_train, data.X_test, data.y_test):
        a = np.ascontiguousarray(array)
        h.update(f"{a.dtype.str}{a.shape}".encode())
        h.update(a.tobytes() if a.dtype != object else json.dumps(a.tolist()).encode())
    return h.hexdigest()


def run_key(
    data_hash: str, target: str, params: dict[str, Any], seed: int, library_versions: dict[str, str]
) -> str:
    """Hex SHA-256 of one run's full configuration (canonical JSON), the target's name included."""
    config = {"format": CACHE_FORMAT, "data": data_hash, "target": target, "params": params, "seed": int(seed),
              "versions": library_versions}
    text = json.dumps(config, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return hashlib.sha256(text.encode()).hexdigest()


class RunCache:
    """Finished runs under ``<folder>/runs/<key>.json``.

    Parameters
    ----------
    folder : str or Path
        The comparison's output folder.
    """

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder) / "runs"

    def path(self, key: str) -> Path:
        return self.folder / f"{key}.json"

    def get(self, key: str) -> dict[str, Any] | None:
        """The cached row of ``key``, or None (a file that is not a row of this key counts as absent)."""
        try:
            row = json.loads(self.path(key).read_text())
        except (OSError, ValueError):
            return None
        return row if isinstance(row, dict) and row.get("key") == key and row.get("status") == "ok" else None

    def put(self, row: dict[str, Any]) -> Path:
        """Write a finished run's row atomically; return its path."""
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.path(row["key"])
        write_file(path, json.dumps(row, indent=1, sort_keys=True).encode())
        return path
