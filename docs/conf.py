"""Sphinx configuration of the eqising documentation site.

Build it with ``python -m sphinx -W -b html docs docs/_build/html`` (the ``docs`` extra:
``pip install -e ".[docs]"``). ``tests/test_docs.py`` builds it the same way, warnings as errors.

- the user guide includes the README;
- the tutorials are the notebooks of ``tutorials/``, copied here at build time and rendered with
  the outputs stored in them (``nb_execution_mode = "off"``; the test suite executes them
  separately, and ``python docs/execute_tutorials.py`` refreshes the stored outputs);
- the API reference lists every name in ``__all__`` of ``eqising``, ``eqising.solvers`` and
  ``eqising.hardware`` (generated below, so a new public name gets its page without an edit here).
"""

from __future__ import annotations

import importlib
import shutil
from pathlib import Path

import eqising

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

project = "eqising"
author = "eqising developers"
copyright = "eqising developers"
release = version = eqising.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.intersphinx",
    "numpydoc",
    "myst_nb",
]
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store", "**.ipynb_checkpoints"]
source_suffix = {".rst": "restructuredtext", ".md": "myst-nb", ".ipynb": "myst-nb"}

# ---------------------------------------------------------------- notebooks
nb_execution_mode = "off"
myst_enable_extensions = ["dollarmath"]
myst_heading_anchors = 3

# ---------------------------------------------------------------- API docs
autosummary_generate = True
autosummary_imported_members = True
templates_path = ["_templates"]  # class pages: the class and its own members, no method tables
# scikit-learn's metadata-routing setters (generated on every estimator) are scikit-learn's API, not ours
autodoc_default_options = {
    "members": True, "show-inheritance": True,
    "exclude-members": "set_fit_request, set_partial_fit_request, set_score_request",
}
autodoc_typehints = "none"  # numpydoc's parameter lists already give the types
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False
suppress_warnings = ["autosectionlabel.*", "myst.header"]
intersphinx_mapping = {}
nitpicky = False

html_theme = "alabaster"
html_title = f"eqising {release}"
html_static_path: list[str] = []

#: The packages whose public names (``__all__``) the API reference lists.
API_PACKAGES = ("eqising", "eqising.solvers", "eqising.hardware")


def public_names(package: str) -> list[str]:
    """Fully qualified public names of a package (its ``__all__``, dunders left out)."""
    module = importlib.import_module(package)
    return [f"{package}.{name}" for name in module.__all__ if not name.startswith("__")]


def _write_api_page() -> None:
    lines = [
        "API reference",
        "=============",
        "",
        "Every public name of ``eqising``, ``eqising.solvers`` and ``eqising.hardware`` (their",
        "``__all__``), one page each, built from the docstrings.",
        "",
    ]
    for package in API_PACKAGES:
        title = f"``{package}``"
        module = importlib.import_module(package)
        summary = (module.__doc__ or "").strip().splitlines()[0]
        lines += [title, "-" * len(title), "", summary, "", f".. currentmodule:: {package}", "",
                  ".. autosummary::", "   :toctree: generated", ""]
        lines += [f"   {name.rsplit('.', 1)[1]}" for name in public_names(package)]
        lines.append("")
    (HERE / "api.rst").write_text("\n".join(lines))


def _copy_tutorials() -> None:
    target = HERE / "tutorials"
    target.mkdir(exist_ok=True)
    for old in target.glob("*.ipynb"):
        old.unlink()
    for notebook in sorted((ROOT / "tutorials").glob("*.ipynb")):
        shutil.copy2(notebook, target / notebook.name)


_write_api_page()
_copy_tutorials()
