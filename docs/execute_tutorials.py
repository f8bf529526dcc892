"""Execute the tutorial notebooks and store their outputs in place (for the documentation site).

The site renders the notebooks with the outputs stored in them (``nb_execution_mode = "off"`` in
``conf.py``); the test suite executes them separately (``tests/test_tutorials.py``). After
changing a notebook, refresh its outputs with::

    python docs/execute_tutorials.py                    # every notebook in tutorials/
    python docs/execute_tutorials.py tutorials/physics.ipynb

Each notebook runs in a fresh kernel with a temporary working directory, as in the suite.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import nbclient
import nbformat

TUTORIALS = Path(__file__).resolve().parents[1] / "tutorials"


def execute(path: Path, *, write: bool = True) -> float:
    """Run ``path`` top to bottom; store the outputs when ``write``; return the wall time in seconds."""
    nb = nbformat.read(path, as_version=4)
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as cwd:
        nbclient.NotebookClient(nb, timeout=600, kernel_name="python3",
                                resources={"metadata": {"path": cwd}}).execute()
    seconds = time.perf_counter() - start
    if write:
        nbformat.write(nb, path)
    return seconds


def main(argv: list[str]) -> int:
    paths = [Path(p) for p in argv] or sorted(TUTORIALS.glob("*.ipynb"))
    for path in paths:
        print(f"{path.name}: {execute(path):.1f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
