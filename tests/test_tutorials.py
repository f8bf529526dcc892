"""Every notebook in tutorials/ runs top to bottom.

Notebooks run with a temporary working directory. The MNIST folder is handed to them as
``EQISING_MNIST_DIR`` (the shared folder beside the repository); a notebook whose metadata lists
``"eqising": {"requires": ["mnist"]}`` is skipped where that folder is absent.
"""

from pathlib import Path

import pytest

from conftest import MNIST_DIR

TUTORIALS = sorted((Path(__file__).resolve().parents[1] / "tutorials").glob("*.ipynb"))


@pytest.mark.parametrize("path", TUTORIALS, ids=[p.stem for p in TUTORIALS])
def test_notebook_runs(path, tmp_path, monkeypatch):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    nb = nbformat.read(path, as_version=4)
    if "mnist" in nb.metadata.get("eqising", {}).get("requires", []) and not MNIST_DIR.is_dir():
        pytest.skip(f"{path.name} needs the shared MNIST folder {MNIST_DIR}")
    monkeypatch.setenv("EQISING_MNIST_DIR", str(MNIST_DIR))
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    client = nbclient.NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}})
    client.execute()
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []) if o.output_type == "error"]
    assert not errors
    figures = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []) if "image/png" in o.get("data", {})]
    assert figures, f"{path.name} draws no figure"


def test_tutorials_exist():
    assert len(TUTORIALS) >= 8, [p.name for p in TUTORIALS]
