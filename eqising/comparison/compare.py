"""``eqising.compare``: run a grid of hardware targets x seeds on one split and summarise it."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from numbers import Integral
from pathlib import Path
from typing import Any

from .._validation import check_int, param_error
from ..datasets import Dataset, load_dataset
from ..estimator import EqPropClassifier
from .cache import RunCache, data_digest, run_key, versions
from .report import jsonable, markdown_summary, runs_csv, write_text
from .run import RunSpec
from .runner import run_all
from .stats import summarize
from .targets import OWNER, Skipped, Target, load_grid, plan, targets_from_dicts

__all__ = ["Comparison", "Request", "check_request", "compare"]


@dataclass
class Comparison:
    """What :func:`compare` ran and found.

    Attributes
    ----------
    rows : list of dict
        One per run (target x seed), finished or failed, in target-major order.
    summary : dict
        Plain JSON: ``dataset``, ``seeds``, ``reference``, ``settings``,
        ``targets`` (per target: mean and std over seeds, paired difference
        to the reference), ``skipped`` (with the reason), ``failed_runs``,
        ``runs``, ``executed`` (computed by this call), ``cached``,
        ``versions`` and ``files`` (what was written).
    files : dict of str to Path
        The files written into ``out``.
    """

    rows: list[dict[str, Any]]
    summary: dict[str, Any]
    files: dict[str, Path] = field(default_factory=dict)

    def markdown(self) -> str:
        """The summary table as Markdown."""
        return markdown_summary(self.summary)


def _seeds(seeds: Any) -> list[int]:
    if isinstance(seeds, Integral) and not isinstance(seeds, bool):
        seeds = [seeds]
    if not isinstance(seeds, Sequence) or isinstance(seeds, str) or not seeds:
        raise param_error("seeds", OWNER, "a non-empty list of distinct ints", seeds)
    out = [check_int(s, "seeds", OWNER, low=0) for s in seeds]
    if len(set(out)) != len(out):
        raise param_error("seeds", OWNER, "a non-empty list of distinct ints", list(seeds))
    return out


@dataclass(frozen=True)
class Request:
    """A checked comparison request (:func:`check_request`)."""

    settings: dict[str, Any]
    runnable: list[Target]
    skipped: list[Skipped]
    seeds: list[int]
    reference: str
    jobs: int


def check_request(
    targets: Sequence[Target | Mapping[str, Any]] | str | os.PathLike,
    *,
    settings: Mapping[str, Any] | None = None,
    seeds: Sequence[int] = (0, 1, 2),
    reference: str | None = None,
    jobs: int = 1,
    scheduler: str | None = None,
    cost: str = "energy_joules",
) -> Request:
    """Check what :func:`compare` is asked to run, before any data is loaded or any run starts.

    Parameters are those of :func:`compare`.

    Raises
    ------
    InvalidParameterError
        For a bad grid (no targets, an unknown solver, backend or parameter,
        a grid file that does not parse), bad seeds, jobs or scheduler, or an
        unknown reference.
    """
    settings = dict(settings or {})
    if isinstance(targets, (str, os.PathLike)):
        file_settings, targets = load_grid(targets)
        settings.update(file_settings)
    else:
        targets = targets_from_dicts(list(targets))
    seeds = _seeds(seeds)
    jobs = check_int(jobs, "jobs", OWNER, low=1)
    if scheduler is not None and (not isinstance(scheduler, str) or not scheduler):
        raise param_error("scheduler", OWNER, "None, 'local' or a scheduler address", scheduler)
    if not isinstance(cost, str):
        raise param_error("cost", OWNER, "a row column name such as 'energy_joules'", cost)
    runnable, skipped = plan(targets, settings)
    if not runnable:
        raise param_error("targets", OWNER, "at least one target that can run (all were skipped: "
                          + "; ".join(f"{s.name}: {s.reason}" for s in skipped) + ")", [t.name for t in targets])
    names = [t.name for t in runnable]
    if reference is None:
        reference = names[0]
    elif reference not in names:
        raise param_error("reference", OWNER, f"one of the targets that run {names}", reference)
    return Request(settings, runnable, skipped, seeds, reference, jobs)


def compare(
    targets: Sequence[Target | Mapping[str, Any]] | str | os.PathLike,
    *,
    data: Dataset | None = None,
    seeds: Sequence[int] = (0, 1, 2),
    settings: Mapping[str, Any] | None = None,
    reference: str | None = None,
    out: str | os.PathLike | None = None,
    jobs: int = 1,
    scheduler: str | None = None,
    cost: str = "energy_joules",
    plots: bool = True,
    progress: bool = False,
) -> Comparison:
    """Train every target at every seed on one split; tabulate, summarise and plot the runs.

    Parameters
    ----------
    targets : sequence of Target or dict, or path
        The targets (:class:`~eqising.comparison.Target`, or dicts of
        estimator parameters with an optional ``name`` and ``grid``, see
        :func:`~eqising.comparison.targets_from_dicts`), or the path of a
        TOML/JSON grid file (:func:`~eqising.comparison.load_grid`; its
        ``settings`` override ``settings``).
    data : Dataset or None
        The one split every run uses; None loads digits (1,347 / 450, split seed 0).
    seeds : sequence of int, default=(0, 1, 2)
        ``random_state`` of each run. At one seed every target sees the same
        minibatch order and solver seeds, so the runs are paired by seed.
    settings : dict or None
        :class:`~eqising.EqPropClassifier` parameters common to every target
        (a target's own parameters override them); they override the data's
        :attr:`~eqising.datasets.Dataset.training_defaults`.
    reference : str or None
        Name of the target the others are compared with; None: the first that runs.
    out : path or None
        Output folder: ``runs.csv``, ``runs.json``, ``summary.json``,
        ``summary.md``, the PNG plots and the run cache ``runs/``. With a
        folder, finished runs are cached there by a hash of their full
        configuration, so a second call recomputes none of them.
    jobs : int, default=1
        Runs at a time: joblib worker processes on this machine (1: this
        process), or the workers of ``scheduler='local'``.
    scheduler : str or None
        ``'local'`` starts a ``dask.distributed.LocalCluster`` of ``jobs``
        worker processes (at least 2) on the loopback interface and stops it
        at the end; an address (``'tcp://host:8786'``) uses a running
        scheduler; None runs on this machine.
    cost : str, default='energy_joules'
        Row column on the x axis of the accuracy-against-cost plot.
    plots : bool, default=True
        Write the PNG plots (needs ``out``).
    progress : bool, default=False
        Show a progress bar over runs on stderr.

    Returns
    -------
    Comparison

    Raises
    ------
    InvalidParameterError
        Before any run starts, for a bad grid (no targets, an unknown solver,
        backend or parameter, a grid file that does not parse), bad seeds or
        an unknown reference. Runs that fail do not raise: their rows hold
        the error.

    Examples
    --------
    >>> from eqising import compare, load_dataset
    >>> from eqising.comparison import cross_targets
    >>> result = compare(cross_targets(["annealing"], ["ideal", "cbram"]),  # doctest: +SKIP
    ...                  data=load_dataset("digits", train_size=200), seeds=[0, 1],
    ...                  settings={"hidden_layer_sizes": (16,), "max_iter": 3})
    """
    request = check_request(targets, settings=settings, seeds=seeds, reference=reference, jobs=jobs,
                            scheduler=scheduler, cost=cost)
    settings, runnable, skipped = request.settings, request.runnable, request.skipped
    seeds, reference, jobs = request.seeds, request.reference, request.jobs
    names = [t.name for t in runnable]
    if data is None:
        data = load_dataset("digits", random_state=0)
    elif not isinstance(data, Dataset):
        raise param_error("data", OWNER, "a Dataset (eqising.load_dataset or eqising.datasets.load_arrays)", data)
    settings = {**data.training_defaults, **settings}  # the dataset's measured defaults, under everything given
    workers = max(2, jobs) if scheduler == "local" else jobs

    digest, libs = data_digest(data), versions()
    # the key holds every estimator parameter, defaults included: a changed default is a new run
    defaults = jsonable(EqPropClassifier().get_params(deep=False))
    specs = []
    for target in runnable:
        params = {**defaults, **target.estimator_params(settings)}
        for seed in seeds:
            specs.append(RunSpec(target, seed, dict(settings), run_key(digest, target.name, params, seed, libs)))
    folder = None if out is None else Path(out)
    if folder is not None:
        folder.mkdir(parents=True, exist_ok=True)
    cache = RunCache(folder) if folder is not None else None
    rows, executed = run_all(specs, data, cache, jobs=workers, scheduler=scheduler, progress=progress)

    summary: dict[str, Any] = {
        "command": "compare",
        "dataset": {"name": data.name, "n_train": int(len(data.X_train)), "n_test": int(len(data.X_test)),
                    "sha256": digest},
        "seeds": seeds,
        "reference": reference,
        "settings": settings,
        "targets": summarize(rows, names, reference),
        "skipped": [{"target": s.name, "params": s.params, "reason": s.reason} for s in skipped],
        "failed_runs": [{"target": r["target"], "seed": r["seed"], "error": r["error"]}
                        for r in rows if r["status"] != "ok"],
        "runs": len(rows),
        "executed": executed,
        "cached": len(rows) - executed,
        "versions": libs,
        "files": {},
    }
    result = Comparison(rows, summary)
    if folder is not None:
        import json

        files = {
            "runs_csv": write_text(folder / "runs.csv", runs_csv(rows)),
            "runs_json": write_text(folder / "runs.json", json.dumps(jsonable(rows), indent=1)),
            "summary_md": write_text(folder / "summary.md", markdown_summary(summary)),
        }
        if plots:
            from .plots import write_plots

            for path in write_plots(folder, summary["targets"], rows, cost=cost):
                files[path.stem] = path
        files["summary_json"] = folder / "summary.json"
        summary["files"] = {k: str(v) for k, v in files.items()}
        write_text(folder / "summary.json", json.dumps(jsonable(summary), indent=1))
        result.files = files
    result.summary = jsonable(summary)
    return result
