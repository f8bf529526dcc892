"""The documentation site builds with warnings as errors, and every public name has a page.

Skipped where the ``docs`` extra (sphinx, numpydoc, myst-nb) is not installed.
"""

from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[1] / "docs"


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    for module in ("sphinx", "numpydoc", "myst_nb"):
        pytest.importorskip(module)
    out = tmp_path_factory.mktemp("docs")
    # a fresh environment (-E) so that every page is read and every warning shows; -W makes them errors
    build = subprocess.run(
        [sys.executable, "-m", "sphinx", "-E", "-W", "--keep-going", "-q", "-b", "html", str(DOCS), str(out)],
        capture_output=True, text=True,
    )
    assert build.returncode == 0, build.stdout + build.stderr
    assert "WARNING" not in build.stderr, build.stderr
    return out


@pytest.mark.parametrize("package", ["eqising", "eqising.solvers", "eqising.hardware"])
def test_every_public_name_has_a_page(site, package):
    names = [n for n in importlib.import_module(package).__all__ if not n.startswith("__")]
    assert names
    missing = [n for n in names if not (site / "generated" / f"{package}.{n}.html").is_file()]
    assert not missing, f"no API page for {missing}"
    api = (site / "api.html").read_text()
    assert all(f"generated/{package}.{n}.html" in api for n in names)  # and the reference links to each


def test_tutorials_are_rendered_with_their_figures(site):
    notebooks = sorted((DOCS.parent / "tutorials").glob("*.ipynb"))
    assert len(notebooks) >= 8
    for notebook in notebooks:
        page = site / "tutorials" / f"{notebook.stem}.html"
        assert page.is_file(), notebook.name
        assert "<img" in page.read_text(), f"{notebook.name} is rendered without a figure (outputs not stored?)"


def test_user_guide_includes_the_readme(site):
    guide = (site / "guide.html").read_text()
    assert "Command line" in guide and "How it works" in guide
