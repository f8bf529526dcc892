"""One trainer for every target: solvers and backends as names or objects, entry points, trust.

The estimator runs every target through one :class:`~eqising.engine.TrainingEngine`
protocol; these tests train digits with objects a user defines or passes
(a Solver subclass written here, a dimod sampler instance, a backend
instance), find a solver registered by an entry point, persist user classes
by import path, and refuse model files that name modules nobody allowed.
"""

from __future__ import annotations

import ast
import json
import sys
import textwrap
from pathlib import Path

import dimod
import numpy as np
import pytest
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV

import eqising
from eqising import EqPropClassifier, load_dataset, load_model, save_model
from eqising._validation import InvalidParameterError
from eqising.engine import FloatEngine, TrainingEngine
from eqising.hardware import BACKENDS, EcramBackend, IdealBackend
from eqising.history import TrainingHistory
from eqising.registry import UntrustedModuleError
from eqising.solvers import SOLVERS, AnnealingSolver, Solver, SolverCapabilities, SpinSamples

FAST = {"hidden_layer_sizes": (32,), "max_iter": 6, "random_state": 0}


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits", train_size=600, test_size=150)


class GreedyDescentSolver(Solver):
    """A user's own solver: random start, then zero-temperature layer sweeps (written for this test)."""

    name = "greedy-descent"
    capabilities = SolverCapabilities(
        exact=False, finite_temperature=False, reverse_anneal=False, max_spins=None, topology="layered"
    )
    parameters = {"num_sweeps": 8, "estimate_temperature": False}

    def _sample(self, batch, num_reads, schedule, initial_states, seeds):
        B, N = batch.n_problems, batch.n_spins
        spins = np.empty((B, num_reads, N), dtype=np.int8)
        for b in range(B):
            rng = np.random.default_rng(int(seeds[b]))
            s = rng.choice(np.array([-1, 1], dtype=np.int8), size=(num_reads, N))
            if initial_states is not None:
                s = initial_states[b].copy()
            off = batch.offsets
            for _ in range(self.params["num_sweeps"]):
                for layer in range(len(batch.layer_sizes)):
                    f = np.broadcast_to(batch.fields[b, off[layer]:off[layer + 1]], (num_reads, off[layer + 1] - off[layer])).copy()
                    if layer > 0:
                        f += s[:, off[layer - 1]:off[layer]] @ batch.couplings[layer - 1]
                    if layer < len(batch.layer_sizes) - 1:
                        f += s[:, off[layer + 1]:off[layer + 2]] @ batch.couplings[layer].T
                    s[:, off[layer]:off[layer + 1]] = np.where(f >= 0, 1, -1)
            spins[b] = s
        return SpinSamples(spins, batch.energies(spins), {"spin_updates": B * num_reads * N * self.params["num_sweeps"]})


# ------------------------------------------------------------- objects as parameters
def test_a_solver_class_written_here_trains_digits_as_an_instance(digits):
    clf = EqPropClassifier(solver=GreedyDescentSolver(num_sweeps=6), **FAST).fit(digits.X_train, digits.y_train)
    assert isinstance(clf.solver_, GreedyDescentSolver) and isinstance(clf.engine_, FloatEngine)
    assert clf.engine_.description == "greedy-descent"
    assert clf.score(digits.X_test, digits.y_test) > 0.4  # chance is 0.1
    assert clf.spin_updates_ > 0


def test_a_dimod_sampler_instance_is_wrapped(digits):
    from dwave.samplers import SteepestDescentSolver

    small = {**FAST, "max_iter": 2, "hidden_layer_sizes": (12,)}
    clf = EqPropClassifier(solver=SteepestDescentSolver(), **small).fit(digits.X_train[:120], digits.y_train[:120])
    assert clf.solver_.name == "dimod" and isinstance(clf.solver_.sampler, SteepestDescentSolver)
    assert clf.predict(digits.X_test[:10]).shape == (10,)


def test_a_backend_instance_trains_and_is_not_mutated(digits):
    backend = EcramBackend(preset="organic")
    clf = EqPropClassifier(backend=backend, **FAST).fit(digits.X_train, digits.y_train)
    assert clf.backend_ is not backend and isinstance(clf.backend_, EcramBackend)
    assert clf.backend_.params["preset"] == "organic" and clf.backend_cost_["pulses"] > 0
    assert not hasattr(backend, "_shapes")  # the user's object was never programmed
    assert clf.score(digits.X_test, digits.y_test) > 0.4


def test_an_instance_and_its_name_train_identically(digits):
    by_name = EqPropClassifier(solver="annealing", solver_params={"num_sweeps": 20}, backend="ideal", **FAST)
    by_object = EqPropClassifier(solver=AnnealingSolver(num_sweeps=20), backend=IdealBackend(), **FAST)
    a = by_name.fit(digits.X_train, digits.y_train)
    b = by_object.fit(digits.X_train, digits.y_train)
    for x, y in zip(a.network_.weights, b.network_.weights):
        np.testing.assert_array_equal(x, y)


def test_objects_work_with_get_params_clone_and_grid_search(digits):
    clf = EqPropClassifier(solver=AnnealingSolver(num_sweeps=10), backend=IdealBackend(), **{**FAST, "max_iter": 1})
    params = clf.get_params()
    assert params["solver__num_sweeps"] == 10 and "backend__" not in "".join(k for k in params if k == "x")
    twin = clone(clf)
    assert twin.solver is not clf.solver and twin.solver.get_params() == clf.solver.get_params()
    clf.set_params(solver__num_sweeps=12)
    assert clf.solver.params["num_sweeps"] == 12
    with pytest.raises(InvalidParameterError, match="'num_sweeps' parameter of solver 'annealing'"):
        clf.set_params(solver__num_sweeps=0)
    assert clf.solver.get_params()["num_sweeps"] == 12  # a refused value changes nothing
    search = GridSearchCV(clf, {"solver__num_sweeps": [5, 15]}, cv=2).fit(digits.X_train[:120], digits.y_train[:120])
    assert search.best_params_["solver__num_sweeps"] in (5, 15)


def test_instance_with_params_is_refused():
    X, y = np.random.default_rng(0).random((20, 4)), np.arange(20) % 2
    with pytest.raises(InvalidParameterError, match="'solver_params' parameter of EqPropClassifier must be None when"):
        EqPropClassifier(solver=AnnealingSolver(), solver_params={"num_sweeps": 3}).fit(X, y)
    with pytest.raises(InvalidParameterError, match="'backend_params' parameter of EqPropClassifier must be None when"):
        EqPropClassifier(backend=IdealBackend(), backend_params={"x": 1}).fit(X, y)
    with pytest.raises(InvalidParameterError, match="'backend' parameter of EqPropClassifier"):
        EqPropClassifier(backend=3).fit(X, y)


# ----------------------------------------------------------------- entry points
def _install_plugin(tmp_path: Path, module: str, body: str, group: str, name: str, target: str) -> None:
    """A minimal installed distribution on sys.path: a module and its entry point."""
    (tmp_path / f"{module}.py").write_text(textwrap.dedent(body))
    info = tmp_path / f"{module}-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {module}\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(f"[{group}]\n{name} = {module}:{target}\n")


PLUGIN = '''
    import numpy as np
    from eqising.solvers import AnnealingSolver

    class PluginSolver(AnnealingSolver):
        """A third-party solver (here: the annealer under another name)."""
        name = "plugin-annealer"
'''


def test_an_entry_point_solver_is_found_by_name(tmp_path, monkeypatch, digits):
    _install_plugin(tmp_path, "eqising_test_plugin", PLUGIN, "eqising.solvers", "plugin-annealer", "PluginSolver")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert "plugin-annealer" in SOLVERS  # re-read on a miss: found without restarting Python
    clf = EqPropClassifier(solver="plugin-annealer", solver_params={"num_sweeps": 15}, **FAST)
    clf.fit(digits.X_train, digits.y_train)
    assert type(clf.solver_).__name__ == "PluginSolver" and clf.score(digits.X_test, digits.y_test) > 0.4
    # saved by its registered name: loading needs no trust for its module
    again = load_model(save_model(clf, tmp_path / "model"))
    assert json.loads((tmp_path / "model" / "model.json").read_text())["params"]["solver"] == "plugin-annealer"
    np.testing.assert_array_equal(again.predict(digits.X_test), clf.predict(digits.X_test))
    SOLVERS.refresh()


def test_unknown_names_list_the_registered_ones():
    X, y = np.random.default_rng(0).random((20, 4)), np.arange(20) % 2
    with pytest.raises(InvalidParameterError, match=r"'backend' parameter of EqPropClassifier must be one of \{.*'ecram'"):
        EqPropClassifier(backend="ecarm").fit(X, y)
    assert {"annealing", "exact", "memristor", "neal", "dimod", "dwave", "dwave-mock"} <= set(SOLVERS)
    assert {"ideal", "ecram", "cbram", "mcu-int8"} <= set(BACKENDS)


# ------------------------------------------------------------ persistence and trust
SIDE_EFFECT_MODULE = '''
    import os
    from eqising.solvers import AnnealingSolver

    open(os.environ["EQISING_TEST_MARKER"], "w").write("imported")  # the side effect a load must not cause

    class UserSolver(AnnealingSolver):
        name = "user-solver"
'''


def test_a_user_class_is_saved_by_import_path_and_needs_trust_to_load(tmp_path, monkeypatch, digits):
    marker = tmp_path / "marker"
    monkeypatch.setenv("EQISING_TEST_MARKER", str(marker))
    (tmp_path / "eqising_user_solver.py").write_text(textwrap.dedent(SIDE_EFFECT_MODULE))
    monkeypatch.syspath_prepend(str(tmp_path))
    import eqising_user_solver

    clf = EqPropClassifier(solver=eqising_user_solver.UserSolver(num_sweeps=12), **{**FAST, "max_iter": 1})
    clf.fit(digits.X_train, digits.y_train)
    save_model(clf, tmp_path / "model")
    described = json.loads((tmp_path / "model" / "model.json").read_text())["params"]["solver"]
    assert described["class"] == "eqising_user_solver:UserSolver" and described["params"]["num_sweeps"] == 12
    # a fresh process would not have the module: forget it, and the marker
    monkeypatch.delitem(sys.modules, "eqising_user_solver")
    marker.unlink()
    with pytest.raises(UntrustedModuleError, match=r"names module 'eqising_user_solver'.*trust=\['eqising_user_solver'\]"):
        load_model(tmp_path / "model")
    assert not marker.exists() and "eqising_user_solver" not in sys.modules  # nothing was imported
    again = load_model(tmp_path / "model", trust=["eqising_user_solver"])
    assert marker.exists() and type(again.solver_).__name__ == "UserSolver"
    np.testing.assert_array_equal(again.predict(digits.X_test), clf.predict(digits.X_test))


def test_a_sampler_path_in_an_edited_model_file_is_refused_without_importing(tmp_path, monkeypatch, digits, capsys):
    marker = tmp_path / "marker"
    monkeypatch.setenv("EQISING_TEST_MARKER", str(marker))
    (tmp_path / "eqising_evil.py").write_text(textwrap.dedent(SIDE_EFFECT_MODULE))
    monkeypatch.syspath_prepend(str(tmp_path))
    clf = EqPropClassifier(solver="dimod", solver_params={"sampler": "dimod:ExactSolver"}, hidden_layer_sizes=(3,),
                           max_iter=1, random_state=0).fit(digits.X_train[:40, :4], digits.y_train[:40] % 2)
    save_model(clf, tmp_path / "model")
    path = tmp_path / "model" / "model.json"
    meta = json.loads(path.read_text())
    meta["params"]["solver_params"]["sampler"] = "eqising_evil:UserSolver"
    path.write_text(json.dumps(meta))
    with pytest.raises(UntrustedModuleError, match="eqising_evil"):
        load_model(tmp_path / "model")
    from eqising.cli import main

    assert main(["evaluate", str(tmp_path / "model")]) == 2
    assert "names module 'eqising_evil'" in capsys.readouterr().err
    assert not marker.exists()


# ------------------------------------------------------------------ the engine and history
def test_engine_protocol_is_all_the_estimator_uses(digits):
    class CountingEngine(FloatEngine):
        steps = 0

        def step(self, X, targets, *, seed, learning_rates):
            type(self).steps += 1
            return super().step(X, targets, seed=seed, learning_rates=learning_rates)

    class CountingBackend(IdealBackend):
        def training_engine(self, network, solver, optimizer, settings):
            return CountingEngine(network, solver, self, optimizer, settings)

    clf = EqPropClassifier(backend=CountingBackend(), **{**FAST, "max_iter": 2}).fit(digits.X_train, digits.y_train)
    assert isinstance(clf.engine_, TrainingEngine) and CountingEngine.steps == 2 * int(np.ceil(600 / 32))


def test_backend_requirements_follow_automatic_defaults_and_refuse_conflicts():
    class NeedsSgd(IdealBackend):
        requirements = {"optimizer": "sgd", "nudge_mode": "positive"}
        defaults = {"learning_rate": 0.01}

    X, y = np.random.default_rng(0).random((30, 4)), np.arange(30) % 2
    clf = EqPropClassifier(backend=NeedsSgd(), hidden_layer_sizes=(4,), max_iter=1, random_state=0).fit(X, y)
    assert (clf.engine_.settings.optimizer, clf.engine_.settings.learning_rate) == ("sgd", 0.01)
    assert EqPropClassifier(backend=NeedsSgd(), learning_rate=0.5, hidden_layer_sizes=(4,), max_iter=1).fit(X, y)\
        .engine_.settings.learning_rate == 0.5  # a suggestion, not a requirement
    with pytest.raises(InvalidParameterError, match=r"'optimizer' parameter of EqPropClassifier must be 'sgd' with "
                                                    r"backend 'ideal', which requires it. Got 'adam' instead."):
        EqPropClassifier(backend=NeedsSgd(), optimizer="adam").fit(X, y)
    with pytest.raises(InvalidParameterError, match="'nudge_mode' parameter"):
        EqPropClassifier(backend=NeedsSgd(), nudge_mode="symmetric").fit(X, y)


def test_history_is_one_record_and_round_trips(digits):
    clf = EqPropClassifier(**{**FAST, "max_iter": 3}).fit(digits.X_train, digits.y_train)
    h = clf.history_
    assert h.n_iter == clf.n_iter_ == 3 and h.loss_curve == clf.loss_curve_
    assert clf.t_ == 3 * 600 and clf.spin_updates_ == sum(
        e[p]["spin_updates"] for e in clf.solver_cost_curve_ for p in e
    )
    assert TrainingHistory.from_dict(json.loads(json.dumps(h.to_dict()))) == h
    with pytest.raises(ValueError, match="epoch record 0"):
        TrainingHistory.from_dict({"n_layers": 2, "epochs": [{"loss": 1.0}]})
    with pytest.raises(AttributeError, match="not fitted"):
        EqPropClassifier().loss_curve_  # noqa: B018


def test_same_seed_same_fit_whatever_the_thread_count(digits):
    import numba

    before = numba.get_num_threads()
    if numba.config.NUMBA_NUM_THREADS < 2:
        pytest.skip("needs at least 2 numba threads")
    fits = []
    try:
        for threads in (1, 2):
            numba.set_num_threads(threads)
            fits.append(EqPropClassifier(**{**FAST, "max_iter": 2}).fit(digits.X_train, digits.y_train))
    finally:
        numba.set_num_threads(before)
    for x, y in zip(fits[0].network_.weights, fits[1].network_.weights):
        np.testing.assert_array_equal(x, y)


# ------------------------------------------------------------------ no branch on a name or kind
def _compared_strings(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare):
            for part in [node.left, *node.comparators]:
                for sub in ast.walk(part):
                    if isinstance(sub, ast.Constant) and isinstance(sub.value, str):
                        found.add(sub.value)
        if isinstance(node, ast.Attribute) and node.attr in ("in_situ", "train_step"):
            found.add(node.attr)
    return found


@pytest.mark.parametrize("module", ["estimator.py", "cli.py"])
def test_estimator_and_cli_never_branch_on_a_solver_or_backend(module):
    names = set(SOLVERS) | set(BACKENDS) | {"in_situ", "train_step"}
    assert not (_compared_strings(Path(eqising.__file__).parent / module) & names)


def test_cli_trains_on_the_int8_device_with_no_other_option(capsys):
    from eqising.cli import main

    code = main(["train", "--backend", "mcu-int8", "--epochs", "1", "--train-size", "200", "--test-size", "50",
                 "--json"])
    out = capsys.readouterr().out
    assert code == 0
    summary = json.loads(out)
    assert summary["optimizer"] == "sgd" and "in situ" in summary["solver"] and summary["test_accuracy"] > 0.2


def test_dimod_sampler_registry_wraps_any_sampler():
    from eqising.solvers import as_solver

    solver = as_solver(dimod.ExactSolver())
    assert solver.name == "dimod" and solver.capabilities.exact
