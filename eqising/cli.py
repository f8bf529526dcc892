"""Command line: ``eqising train``, ``evaluate``, ``export-c``, ``plot`` and ``compare``."""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from . import __version__
from ._validation import InvalidParameterError

__all__ = ["main"]

def _defaults() -> dict[str, Any]:
    from .estimator import EqPropClassifier

    return EqPropClassifier().get_params()


def _hidden(text: str) -> tuple[int, ...]:
    try:
        sizes = tuple(int(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"must be comma-separated positive ints such as '120' or '256,128'; got {text!r}"
        ) from None
    if not sizes or min(sizes) < 1:
        raise argparse.ArgumentTypeError(f"must be comma-separated positive ints; got {text!r}")
    return sizes


def _auto_float(text: str) -> float | str:
    if text == "auto":
        return text
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number or 'auto'; got {text!r}") from None


def _auto_int(text: str) -> int | str:
    if text == "auto":
        return text
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be an int or 'auto'; got {text!r}") from None


def _solver_params(text: str) -> dict:
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        value = None
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError(f"must be a JSON object such as '{{\"num_sweeps\": 50}}'; got {text!r}")
    return value


def _data_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--dataset", choices=["digits", "mnist"], default="digits", help="built-in digits or MNIST IDX files")
    p.add_argument("--data-dir", default=None, help="folder with the four MNIST IDX files (for --dataset mnist)")
    p.add_argument("--train-size", type=int, default=None, help="number of training examples (default: all)")
    p.add_argument("--test-size", type=int, default=None, help="number of test examples (default: all)")
    p.add_argument("--json", action="store_true", help="print the summary as one JSON object on stdout")


def _trust_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--trust", action="append", default=None, metavar="MODULE",
                   help="allow the model file to name classes from MODULE (repeatable); a model never makes "
                        "eqising import a module outside eqising, dimod and dwave.samplers otherwise")


def build_parser() -> argparse.ArgumentParser:
    d = _defaults()
    parser = argparse.ArgumentParser(prog="eqising", description="Equilibrium propagation on Ising machines.")
    parser.add_argument("--version", action="version", version=f"eqising {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    t = sub.add_parser("train", help="train an EqPropClassifier and report test accuracy")
    _data_args(t)
    t.add_argument("--hidden", type=_hidden, default=tuple(d["hidden_layer_sizes"]), help="hidden sizes, e.g. 120 or 256,128")
    t.add_argument("--replicas", type=int, default=None,
                   help=f"output spins per class (default: the dataset's measured default, 2 on digits; else {d['replicas']})")
    t.add_argument(
        "--solver", default=d["solver"],
        help="registered solver name (annealing, exact, memristor, neal, dimod, dwave, dwave-mock, or one a "
             "package registers); default: annealing, or the backend's own annealer",
    )
    t.add_argument("--sampler", default=None,
                   help="dimod sampler as module:Class, added to the solver parameters (for --solver dimod)")
    t.add_argument("--solver-params", type=_solver_params, default=None, help="solver parameters as JSON")
    t.add_argument("--backend", default=d["backend"], help="weight backend (ideal, ecram, cbram, mcu-int8, ...)")
    t.add_argument("--backend-params", type=_solver_params, default=None,
                   help="backend parameters as JSON, e.g. '{\"preset\": \"li\"}'")
    t.add_argument("--ram-budget", type=int, default=None,
                   help="bytes of device RAM, added to the backend parameters (mcu-int8): refuse a model "
                        "whose training state does not fit")
    t.add_argument("--nudge", type=float, default=d["nudge"], help="EqProp nudge strength")
    t.add_argument("--nudge-mode", default=d["nudge_mode"], help="positive, symmetric or random-sign")
    t.add_argument("--balanced-nudge", action="store_true", help="weight non-target outputs 1/(n_classes-1)")
    t.add_argument("--learning-rate", type=_auto_float, default=d["learning_rate"],
                   help="step size of the weights, or auto (the backend's suggestion, else 0.004)")
    t.add_argument("--optimizer", default=d["optimizer"], help="auto (what the backend requires, else adam), adam or sgd")
    t.add_argument("--shift-augment", type=_auto_int, default="auto",
                   help="shift training images by up to N pixels, anew every epoch (0: off); auto: the dataset's "
                        "measured default (1 on MNIST, 0 on digits)")
    t.add_argument("--epochs", type=int, default=d["max_iter"])
    t.add_argument("--batch-size", type=int, default=None,
                   help=f"examples per EqProp step (default: the dataset's measured default, 16 on digits; "
                        f"else {d['batch_size']})")
    t.add_argument("--reads", type=int, default=d["num_reads"], help="free-phase reads per example at prediction")
    t.add_argument("--seed", type=int, default=0, help="seed of initialisation, shuffling and the solver")
    t.add_argument("--out", default=None, help="folder to save the model (model.npz + model.json) and summary.json; "
                   "a checkpoint of the last finished epoch is kept there while training")
    t.add_argument("--resume", default=None, metavar="DIR",
                   help="continue the interrupted 'eqising train --out DIR' run in DIR with its own options; a "
                        "seeded run ends as if it had never stopped")
    _plot_train_args(t)

    x = sub.add_parser("export-c", help="write a model as a C99 int8 library with a host harness")
    x.add_argument("model", help="model folder (or its model.json); trained with --backend mcu-int8, or quantised")
    x.add_argument("--out", required=True, help="folder to write the C sources into")
    x.add_argument("--max-batch", type=int, default=None,
                   help="largest training batch the C scratch holds (default: the model's batch size)")
    x.add_argument("--json", action="store_true", help="print the summary as one JSON object on stdout")
    _trust_arg(x)

    _add_plot_parser(sub)

    e = sub.add_parser("evaluate", help="score a saved model on a dataset")
    e.add_argument("model", help="model folder (or its model.json) written by 'eqising train --out'")
    _data_args(e)
    _trust_arg(e)
    _compare_parser(sub)
    return parser


def _names(text: str) -> list[str]:
    names = [part.strip() for part in text.split(",")]
    if not all(names):
        raise argparse.ArgumentTypeError(f"must be comma-separated names such as 'annealing,memristor'; got {text!r}")
    return names


def _seed_list(text: str) -> list[int]:
    try:
        seeds = [int(part) for part in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be comma-separated ints >= 0 such as '0,1,2'; got {text!r}") from None
    if min(seeds) < 0:
        raise argparse.ArgumentTypeError(f"must be comma-separated ints >= 0; got {text!r}")
    return seeds


#: eqising compare options that set a common estimator parameter (only when given).
_COMPARE_SETTINGS = {
    "hidden": "hidden_layer_sizes", "replicas": "replicas", "nudge": "nudge", "nudge_mode": "nudge_mode",
    "learning_rate": "learning_rate", "optimizer": "optimizer", "epochs": "max_iter", "batch_size": "batch_size",
    "reads": "num_reads", "shift_augment": "shift_augment",
}


def _compare_parser(sub: Any) -> None:
    c = sub.add_parser(
        "compare", help="train a grid of targets (solver x backend x parameters) x seeds on one split and compare",
        description="Every target at every seed on one split, paired by seed; writes runs (CSV, JSON), a summary "
                    "(JSON, Markdown) and PNG plots into --out, caching each finished run there so that an "
                    "interrupted compare resumes.",
    )
    _data_args(c)
    c.add_argument("--solvers", type=_names, default=None, help="comma-separated solver names (default: annealing)")
    c.add_argument("--backends", type=_names, default=None, help="comma-separated backend names (default: ideal)")
    c.add_argument("--grid", default=None, metavar="FILE",
                   help="TOML or JSON grid file of named targets and parameter grids (instead of --solvers/--backends)")
    c.add_argument("--solver-params", type=_solver_params, default=None, help="parameters of every solver, as JSON")
    c.add_argument("--backend-params", type=_solver_params, default=None, help="parameters of every backend, as JSON")
    c.add_argument("--seeds", type=_seed_list, default=[0, 1, 2], help="comma-separated seeds (default: 0,1,2)")
    c.add_argument("--reference", default=None, help="target the others are compared with (default: the first)")
    c.add_argument("--out", default=None, help="folder for the tables, plots and the run cache")
    c.add_argument("--jobs", type=int, default=1, help="runs at a time (joblib processes; dask workers with "
                                                        "--scheduler local)")
    c.add_argument("--scheduler", default=None, metavar="ADDRESS",
                   help="dask scheduler address, or 'local' to start a LocalCluster on this machine")
    c.add_argument("--cost", default="energy_joules",
                   help="run column on the x axis of the cost plot (default: energy_joules, the training energy)")
    c.add_argument("--hidden", type=_hidden, default=None, help="hidden sizes, e.g. 120 or 256,128")
    c.add_argument("--replicas", type=int, default=None)
    c.add_argument("--nudge", type=float, default=None)
    c.add_argument("--nudge-mode", default=None)
    c.add_argument("--learning-rate", type=_auto_float, default=None)
    c.add_argument("--optimizer", default=None)
    c.add_argument("--epochs", type=int, default=None)
    c.add_argument("--batch-size", type=int, default=None)
    c.add_argument("--reads", type=int, default=None, help="free-phase reads per example at prediction")
    c.add_argument("--shift-augment", type=int, default=None,
                   help="shift training images by up to N pixels (default: the dataset's measured default)")


def _compare(args: argparse.Namespace) -> dict[str, Any]:
    from .comparison import compare, cross_targets

    owner = "eqising compare"
    if args.grid is not None and (args.solvers or args.backends or args.solver_params or args.backend_params):
        raise InvalidParameterError(f"The '--grid' option of {owner} must come without --solvers, --backends, "
                                    "--solver-params and --backend-params (the file names the targets). Got both instead.")
    if args.dataset == "mnist" and args.data_dir is None:
        raise InvalidParameterError(f"The '--data-dir' option of {owner} must be a folder with the MNIST IDX files "
                                    "when --dataset is mnist. Got nothing instead.")
    settings = {name: getattr(args, option) for option, name in _COMPARE_SETTINGS.items()
                if getattr(args, option) is not None}
    if args.grid is not None:
        targets: Any = args.grid
    else:
        targets = cross_targets(args.solvers or ["annealing"], args.backends or ["ideal"],
                                solver_params=args.solver_params, backend_params=args.backend_params)
    # targets, seeds and options are checked before the data is loaded and before any run
    from .comparison.compare import check_request

    check_request(targets, settings=settings, seeds=args.seeds, reference=args.reference, jobs=args.jobs,
                  scheduler=args.scheduler)
    data = _load(args)
    try:
        result = compare(targets, data=data, seeds=args.seeds, settings=settings, reference=args.reference,
                         out=args.out, jobs=args.jobs, scheduler=args.scheduler, cost=args.cost, progress=True)
    except KeyboardInterrupt:
        where = f"; the finished runs are cached in {args.out}: run the same command to resume" if args.out else ""
        raise InterruptedError(f"interrupted{where}") from None
    if not args.json:
        print(result.markdown())
        if args.out:
            print(f"wrote {', '.join(sorted(result.summary['files'].values()))}")
    return result.summary


def _log(args: argparse.Namespace, text: str) -> None:
    print(text, file=sys.stderr if args.json else sys.stdout)


def _load(args: argparse.Namespace):
    from .datasets import load_dataset

    return load_dataset(
        args.dataset, data_dir=args.data_dir, train_size=args.train_size, test_size=args.test_size,
        random_state=0,  # the digits split is fixed, whatever the training seed
    )


def _train(args: argparse.Namespace) -> dict[str, Any]:
    if args.resume is not None:
        args = _resumed_args(args)
    if args.epochs < 1:
        raise InvalidParameterError(f"The '--epochs' option of eqising train must be an int >= 1. Got {args.epochs} instead.")
    if args.dataset == "mnist" and args.data_dir is None:
        raise InvalidParameterError("The '--data-dir' option of eqising train must be a folder with the MNIST IDX files "
                                    "when --dataset is mnist. Got nothing instead.")
    if args.out is None:
        return _train_run(args, None)
    from ._files import check_output_folder, folder_lock

    out = check_output_folder(args.out, "--out", "eqising train", kind="option")  # before any work
    with folder_lock(out, "eqising train"):
        if args.resume is None and (out / "model.json").exists():
            raise InvalidParameterError(
                f"The '--out' option of eqising train must be a folder without a model. Got {str(out)!r}, which "
                f"holds one, instead: continue it with 'eqising train --resume {out}', or choose another folder."
            )
        return _train_run(args, out)


#: ``eqising train`` options (named as the estimator's parameters) whose default is the dataset's
#: (``Dataset.training_defaults``).
_DATASET_DEFAULTED = ("replicas", "batch_size", "shift_augment")

#: ``eqising train`` options added after run folders were first written, with the value that reproduces
#: a run from before them (so ``--resume`` of an older folder continues as it started).
_ADDED_OPTIONS = {"shift_augment": 0}

#: The options of a run saved in its folder (``run.json``) for ``--resume``.
_RUN_FILE = "run.json"
_NOT_RUN_OPTIONS = ("command", "json", "resume", "out")


def _resumed_args(args: argparse.Namespace) -> argparse.Namespace:
    """The options of the run in ``args.resume`` (its ``run.json``); no other training option may be given."""
    from pathlib import Path

    defaults = vars(build_parser().parse_args(["train"]))
    given = [k for k, v in vars(args).items() if k not in _NOT_RUN_OPTIONS and v != defaults.get(k)]
    if given or args.out is not None:
        names = ", ".join("--" + k.replace("_", "-") for k in given + (["out"] if args.out is not None else []))
        raise InvalidParameterError(
            f"The '--resume' option of eqising train must come alone (with --json at most): the run's options are "
            f"read from its {_RUN_FILE}. Got {names} too instead."
        )
    folder = Path(args.resume)
    path = folder / _RUN_FILE
    try:
        saved = json.loads(path.read_text())
    except FileNotFoundError:
        raise InvalidParameterError(
            f"The '--resume' option of eqising train must be a folder written by 'eqising train --out'. Got "
            f"{str(folder)!r}, which has no {_RUN_FILE}, instead."
        ) from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidParameterError(f"The '--resume' option of eqising train must name a folder with a readable "
                                    f"{_RUN_FILE}. Got {str(path)!r} ({exc}) instead.") from exc
    if isinstance(saved, dict):  # a run folder from before an option existed ran without it
        for option, before in _ADDED_OPTIONS.items():
            saved.setdefault(option, before)
    unknown = sorted(set(saved) - set(defaults)) if isinstance(saved, dict) else ["(not an object)"]
    missing = sorted(set(defaults) - set(saved) - set(_NOT_RUN_OPTIONS)) if isinstance(saved, dict) else []
    if unknown or missing:
        raise InvalidParameterError(f"The '--resume' option of eqising train must name a folder whose {_RUN_FILE} "
                                    f"holds a run's options. Got {str(path)!r} with unknown {unknown} and missing "
                                    f"{missing} instead.")
    saved["hidden"] = tuple(saved["hidden"])
    return argparse.Namespace(**{**defaults, **saved, "command": "train", "json": args.json, "resume": str(folder),
                                 "out": str(folder)})


def _train_run(args: argparse.Namespace, out: Any) -> dict[str, Any]:
    from tqdm.auto import tqdm

    from ._files import write_file
    from .comparison.run import fit_and_score
    from .estimator import EqPropClassifier
    from .persistence import load_model, save_model

    backend_params, solver_params = args.backend_params, args.solver_params
    if args.ram_budget is not None:  # a backend that takes no RAM budget refuses the key, naming it
        backend_params = {**(backend_params or {}), "ram_budget": args.ram_budget}
    if args.sampler is not None:  # likewise a solver that takes no sampler
        solver_params = {**(solver_params or {}), "sampler": args.sampler}
    # options left at 'auto' (None) take the dataset's measured default once the data is loaded
    given = {name: getattr(args, name) for name in _DATASET_DEFAULTED if getattr(args, name) not in (None, "auto")}
    clf = EqPropClassifier(
        hidden_layer_sizes=args.hidden, solver=args.solver, solver_params=solver_params,
        backend=args.backend, backend_params=backend_params, nudge=args.nudge, nudge_mode=args.nudge_mode,
        balanced_nudge=args.balanced_nudge, learning_rate=args.learning_rate, optimizer=args.optimizer,
        max_iter=args.epochs, num_reads=args.reads, random_state=args.seed, **given,
    )
    clf._validate_params()  # fail before loading anything heavy: scikit-learn's constraints,
    clf._resolve()  # then names, solver and backend parameters and the backend's requirements
    _check_plots(args)
    if out is not None:
        if args.resume is not None and (out / "model.json").exists():
            trust = [args.sampler.split(":")[0]] if args.sampler else None  # the run's own sampler
            clf = load_model(out, trust=trust)
        else:
            run = {k: v for k, v in vars(args).items() if k not in _NOT_RUN_OPTIONS}
            write_file(out / _RUN_FILE, json.dumps({**run, "hidden": list(args.hidden)}, indent=2).encode())
    data = _load(args)
    if not hasattr(clf, "history_"):  # a fresh run: the dataset's measured defaults, under the options given
        clf.set_params(**{**data.training_defaults, **given})
    classes = np.unique(data.y_train)
    layers = "-".join(str(n) for n in (data.X_train.shape[1], *args.hidden, len(classes) * clf.replicas))
    first = clf.n_iter_ if hasattr(clf, "history_") else 0
    args.epochs_done = first
    bar = tqdm(total=args.epochs, initial=first, desc="training", unit="epoch", file=sys.stderr, disable=None)

    def on_epoch(epoch: int, clf: EqPropClassifier) -> None:
        if out is not None:  # the checkpoint of the last finished epoch, swapped in whole
            save_model(clf, out, checkpoint=True)
        args.epochs_done = epoch + 1
        if epoch == first:
            s = clf.engine_.settings
            _log(args, f"eqising train: {data.name}, {len(data.X_train)} train / {len(data.X_test)} test, "
                       f"network {layers}, solver {clf.engine_.description}, backend {clf.backend_.name}, "
                       f"nudge {s.nudge} ({s.nudge_mode}), optimizer {s.optimizer}"
                       + (f", resumed after epoch {first}" if first else ""))
        bar.update(1)
        bar.set_postfix(train_acc=f"{clf.accuracy_curve_[-1]:.3f}")
        line = f"epoch {epoch + 1:3d}/{args.epochs}: train accuracy {clf.accuracy_curve_[-1]:.4f}, loss {clf.loss_curve_[-1]:.4f}"
        bar.write(line, file=sys.stderr if args.json else sys.stdout)

    # the training path eqising compare runs too: a compare run reports these very numbers
    result = fit_and_score(clf, data, on_epoch=on_epoch)
    bar.close()
    train_seconds, test_accuracy = result.train_seconds, result.test_accuracy
    summary = {
        "command": "train",
        "dataset": data.name,
        "n_train": int(len(data.X_train)),
        "n_test": int(len(data.X_test)),
        "network": layers,
        "solver": clf.engine_.description,
        "nudge": args.nudge,
        "nudge_mode": clf.engine_.settings.nudge_mode,
        "balanced_nudge": args.balanced_nudge,
        "optimizer": clf.engine_.settings.optimizer,
        "shift_augment": clf.engine_.settings.shift_augment,
        "epochs": args.epochs,
        "batch_size": clf.batch_size,
        "replicas": clf.replicas,
        "reads": args.reads,
        "seed": args.seed,
        "test_accuracy": test_accuracy,
        "train_accuracy_last_epoch": float(clf.accuracy_curve_[-1]),
        "train_seconds": train_seconds,
        "solver_seconds": float(clf.solver_seconds_),
        "spin_updates": int(clf.spin_updates_),
        "spin_updates_per_second": float(clf.spin_updates_ / max(clf.solver_seconds_, 1e-12)),
        "solver_cost": clf.solver_cost_,
        "solver_diagnostics": clf.solver_diagnostics_[-1],
        "backend": clf.backend_.name,
        "backend_cost": clf.backend_cost_,
        "backend_diagnostics": clf.backend_.diagnostics(),
        "predict_seconds": result.predict_seconds,
    }
    if out is not None:
        summary["model"] = str(save_model(clf, out))  # the final model (no training state)
        _save_summary(args, clf, data, summary, write_file)
    return summary


# ------------------------------------------------------------------ figures
def _plot_train_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--no-plots", action="store_true",
                   help="with --out, do not draw the PNG figures (they need matplotlib: pip install 'eqising[plots]')")


def _add_plot_parser(sub: Any) -> None:
    p = sub.add_parser("plot", help="draw the figures of a training run again from its summary.json")
    p.add_argument("run", help="folder written by 'eqising train --out' (or its summary.json)")
    p.add_argument("--out", default=None, help="folder to write the PNG figures into (default: the run's folder)")
    p.add_argument("--json", action="store_true", help="print the summary as one JSON object on stdout")


def _check_plots(args: argparse.Namespace) -> None:
    """Refuse ``train --out`` without matplotlib before training (unless ``--no-plots``)."""
    from .plots import matplotlib_missing

    if args.out and not args.no_plots and matplotlib_missing():
        raise InvalidParameterError(
            "The '--out' option of eqising train must come with matplotlib installed to draw the figures "
            "(pip install 'eqising[plots]'), or with --no-plots. Got no matplotlib instead."
        )


def _save_summary(args: argparse.Namespace, clf: Any, data: Any, summary: dict[str, Any], write: Any) -> None:
    """Write ``summary.json`` with the per-epoch history and the test reads, then the figures from it."""
    from pathlib import Path

    from .eqprop import class_scores
    from .plots import write_figures

    history = clf.history_
    reads = clf.engine_.reads(data.X_test, num_reads=clf.num_reads, seed=clf.prediction_seed_)
    settings = clf.engine_.settings
    scores = class_scores(reads, clf.network_.output_slice, len(clf.classes_), settings.replicas)
    saved = {
        **summary,
        "history": {
            "loss": history.loss_curve,
            "accuracy": history.accuracy_curve,
            "seconds": [e.seconds for e in history.epochs],
            "solver_cost": history.solver_cost_curve,
            "backend_cost": history.backend_cost_curve,
        },
        "test_reads": {
            "energies": np.round(reads.energies, 6).tolist(),
            "correct": (clf.classes_[np.argmax(scores, axis=1)] == data.y_test).tolist(),
        },
    }
    folder = Path(args.out)
    write(folder / "summary.json", json.dumps(saved, indent=1).encode())
    if not args.no_plots:
        summary["figures"] = [str(p) for p in write_figures(saved, folder, owner="eqising train")]


def _plot(args: argparse.Namespace) -> dict[str, Any]:
    from pathlib import Path

    from .plots import write_figures

    path = Path(args.run)
    if path.is_dir():
        path = path / "summary.json"
    try:
        saved = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise InvalidParameterError(
            f"The 'run' argument of eqising plot must name a summary.json written by eqising train --out. "
            f"Got {str(path)!r}, which is not JSON ({exc}) instead."
        ) from None
    if not isinstance(saved, dict):
        raise InvalidParameterError(
            f"The 'run' argument of eqising plot must name a summary.json holding a JSON object. Got {str(path)!r} instead."
        )
    out = Path(args.out) if args.out else path.parent
    out.mkdir(parents=True, exist_ok=True)
    figures = write_figures(saved, out, owner="eqising plot")
    return {"command": "plot", "summary": str(path), "figures": [str(p) for p in figures]}


def _evaluate(args: argparse.Namespace) -> dict[str, Any]:
    from .persistence import load_model

    model = load_model(args.model, trust=args.trust)
    if args.dataset == "mnist" and args.data_dir is None:
        raise InvalidParameterError("The '--data-dir' option of eqising evaluate must be a folder with the MNIST IDX "
                                    "files when --dataset is mnist. Got nothing instead.")
    data = _load(args)
    if data.X_test.shape[1] != model.n_features_in_:
        raise InvalidParameterError(
            f"The '--dataset' option of eqising evaluate must match the model's {model.n_features_in_} input "
            f"features. Got {data.name!r} with {data.X_test.shape[1]} instead."
        )
    t0 = time.perf_counter()
    acc = float(model.score(data.X_test, data.y_test))
    return {
        "command": "evaluate",
        "model": str(args.model),
        "dataset": data.name,
        "n_test": int(len(data.X_test)),
        "solver": model.engine_.description,
        "backend": model.backend_.name,
        "test_accuracy": acc,
        "predict_seconds": time.perf_counter() - t0,
    }


def _export_c(args: argparse.Namespace) -> dict[str, Any]:
    from ._files import check_output_folder
    from ._memory import available_memory, check_fits
    from .hardware.mcu import export_c, int8_device_for
    from .hardware.mcu.model import memory_budget
    from .persistence import load_model

    if args.max_batch is not None and args.max_batch < 1:
        raise InvalidParameterError(f"The '--max-batch' option of eqising export-c must be an int >= 1. "
                                    f"Got {args.max_batch} instead.")
    model = load_model(args.model, trust=args.trust)
    settings = model.engine_.settings
    batch = settings.batch_size if args.max_batch is None else args.max_batch
    check_output_folder(args.out, "--out", "eqising export-c", kind="option")
    device, quantised = int8_device_for(model.backend_, model.network_, settings, 1)
    # the host harness holds the device state in static arrays: within memory and the 2 GiB of x86-64's small code model
    need = memory_budget(device.model.layer_sizes, batch, device.model.num_sweeps, device.model.frozen_rows())["training"]["total"]
    available, c_limit = available_memory(), 2**31 - 1
    if available is not None and available < c_limit:
        check_fits(need, "--max-batch", "eqising export-c", batch, "device training state", limit=available,
                   kind="option")
    check_fits(need, "--max-batch", "eqising export-c", batch, "device training state", limit=c_limit,
               limit_text="is the most a C static array may hold on x86-64", kind="option")
    if quantised:
        device, _ = int8_device_for(model.backend_, model.network_, settings, batch)
    n_classes = len(model.classes_)
    info = export_c(device.model, args.out, n_classes=n_classes, replicas=settings.replicas, max_batch=batch)
    return {
        "command": "export-c",
        "model": str(args.model),
        "backend": model.backend_.name,
        "quantised_from_float": quantised,
        "network": "-".join(map(str, device.model.layer_sizes)),
        "classes": [str(c) for c in model.classes_],
        "max_batch": batch,
        "prediction_seed": int(model.prediction_seed_) & 0xFFFFFFFF,
        "num_reads": int(model.num_reads),
        "out": str(args.out),
        "files": info["files"],
        "build": info["build"],
        "memory_bytes": info["memory"],
    }


def _print_summary(args: argparse.Namespace, summary: dict[str, Any]) -> None:
    if args.json:
        print(json.dumps(summary))
        return
    print("\nsummary")
    _print_items(summary, "  ")


def _print_items(items: dict[str, Any], indent: str) -> None:
    for key, value in items.items():
        if isinstance(value, dict):
            print(f"{indent}{key}")
            _print_items(value, indent + "  ")
            continue
        if isinstance(value, float):
            value = f"{value:.4f}" if key.endswith("accuracy") else f"{value:.4g}"
        print(f"{indent}{key:<{28 - len(indent)}} {value}")


def _interrupted_note(args: argparse.Namespace) -> str:
    """What an interrupted command leaves behind, for its one line."""
    if args.command != "train":
        return ""
    done = getattr(args, "epochs_done", 0)
    folder = args.resume or args.out
    if folder is None:
        return f" after {done} epoch(s); nothing saved (no --out)"
    from pathlib import Path

    try:  # what is on disk is the truth (the interrupt may land between a save and the count)
        done = len(json.loads((Path(folder) / "model.json").read_text())["fitted"]["history_"]["epochs"])
    except (OSError, ValueError, KeyError, TypeError):
        done = 0
    if done == 0:
        return f" before the first epoch finished; resume with: eqising train --resume {folder}"
    return f"; epoch {done} is saved in {folder}; resume with: eqising train --resume {folder}"


def _caused_by_interrupt(exc: BaseException) -> bool:
    """Whether a KeyboardInterrupt is in the chain of causes and contexts of ``exc``."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, KeyboardInterrupt):
            return True
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__
    return False


def _interrupted(args: argparse.Namespace) -> int:
    """Say that the command was interrupted (and what of it is saved); the exit status, 130."""
    print(f"eqising {args.command}: interrupted{_interrupted_note(args)}", file=sys.stderr)
    return 130


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``eqising`` console script; returns the exit status."""
    args = build_parser().parse_args(argv)
    try:
        summary = {"train": _train, "evaluate": _evaluate, "export-c": _export_c, "plot": _plot,
                   "compare": _compare}[args.command](args)
    except InterruptedError as exc:
        print(f"eqising {args.command}: {exc}", file=sys.stderr)
        return 130
    except (InvalidParameterError, OSError, ValueError) as exc:
        if _caused_by_interrupt(exc):  # an error a library raised while Ctrl-C unwound it (e.g. a figure's
            # writer; saves hold Ctrl-C back until they are whole, _files.interrupts_deferred)
            return _interrupted(args)
        print(f"eqising {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except SystemError as exc:  # a compiled call returning a tuple with an array boxes it in Python: Ctrl-C there
        if not _caused_by_interrupt(exc):  # reaches us as "returned a result with an exception set"
            raise
        return _interrupted(args)
    except KeyboardInterrupt:
        return _interrupted(args)
    if args.json or summary.get("command") != "compare":  # compare printed its table already
        _print_summary(args, summary)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
