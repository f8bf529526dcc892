"""``EqPropClassifier``: a scikit-learn classifier trained by equilibrium propagation."""

from __future__ import annotations

import hashlib
import sys
import time
from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data
from threadpoolctl import threadpool_limits

from ._validation import (
    Described,
    InvalidParameterError,
    check_choice,
    check_float,
    check_int,
    check_random_state,
    param_error,
)
from .eqprop import NUDGE_MODES, PHASES, EqPropStep, class_scores, eqprop_step, mean_records, one_hot_spins
from .hardware import BACKENDS, WeightBackend, make_backend, zero_cost
from .network import LayeredIsingNetwork
from .optim import OPTIMIZERS, Adam, SGD
from .solvers import SOLVERS, Solver, SpinSamples, add_costs, make_solver

__all__ = ["EqPropClassifier"]

OWNER = "EqPropClassifier"


class EqPropClassifier(ClassifierMixin, BaseEstimator):
    """Classifier whose layered Ising network is trained by equilibrium propagation.

    The network ``n_features -> hidden_layer_sizes -> n_classes * replicas``
    is an Ising problem: inputs are clamped as fields on the first spin layer,
    spin layers couple only to adjacent layers. Each minibatch is relaxed by a
    solver in a free phase and a nudged phase (outputs pulled towards the
    target), and each weight moves by the difference of the two correlations
    it connects (Scellier & Bengio, 2017; Laydevant et al., 2024).

    Parameters
    ----------
    hidden_layer_sizes : tuple of int, default=(120,)
        Sizes of the hidden spin layers (at least one).
    replicas : int, default=4
        Output spins per class; class scores are replica means.
    solver : str, default='annealing'
        Name of a registered solver (see ``eqising.solvers.SOLVERS``).
    solver_params : dict or None, default=None
        Keyword arguments of the solver (e.g. ``{'num_sweeps': 50}``);
        unknown keys are an error.
    backend : str, default='ideal'
        Name of a registered weight backend (see
        ``eqising.hardware.BACKENDS``): where the weights live and how the
        optimizer's desired changes are written (float, ECRAM, CBRAM, ...).
        The solver always sees the weights the backend holds. A backend
        that trains *in situ* (``'mcu-int8'``: int8 weights, integer
        annealer) runs each whole step itself and also predicts, so
        ``solver`` is not used with it; it needs ``optimizer='sgd'``,
        ``momentum=0``, ``nudge_mode='positive'``, ``phase_reads=1`` and
        ``balanced_nudge=False`` (what the device computes).
    backend_params : dict or None, default=None
        Keyword arguments of the backend (e.g. ``{'preset': 'li'}``);
        unknown keys are an error.
    nudge : float, default=2.0
        EqProp nudge strength (the beta of the EqProp papers; eqising keeps
        ``beta`` for inverse temperature).
    nudge_mode : {'positive', 'symmetric', 'random-sign'}, default='positive'
        How the nudged phases are run; see :mod:`eqising.eqprop`.
    balanced_nudge : bool, default=False
        Weight the nudge on the outputs of the other classes by
        ``1 / (n_classes - 1)``, so that they pull as much in total as the
        target class. With +-1 one-hot targets most output spins have target
        -1, and the cost drives every output to -1; 'symmetric' and
        'random-sign' nudging need this option to train (see the README).
    learning_rate : float, default=0.004
        Step size for the weights.
    bias_learning_rate : float or None, default=None
        Step size for the biases; ``None`` uses ``learning_rate / 10``.
    learning_rate_decay : float, default=0.95
        Both step sizes are multiplied by this factor after every epoch
        (``lr_epoch = lr * learning_rate_decay ** epoch``).
    optimizer : {'sgd', 'adam'}, default='adam'
    momentum : float, default=0.0
        Momentum of the 'sgd' optimizer.
    batch_size : int, default=32
        Examples relaxed together per EqProp step.
    max_iter : int, default=60
        Epochs run by :meth:`fit`.
    num_reads : int, default=10
        Free-phase reads per example at prediction; the lowest-energy read
        predicts.
    phase_reads : int, default=1
        Reads per example in each training phase; correlations are averaged.
    skip_correct : bool, default=True
        Reads whose free-phase output already equals the target make no
        update, and examples with only such reads skip the nudged phase (the
        reference D-Wave recipe's rule; it removes annealing noise from the
        update and saves solver time as training accuracy rises).
    weight_clip, bias_clip, field_clip : float or None, default=1.0, 1.0, 4.0
        Magnitude limits of weights, biases and programmed fields (``None``:
        no limit). Device backends map ``+-weight_clip`` and ``+-bias_clip``
        onto their conductance range.
    shuffle : bool, default=True
        Shuffle examples every epoch.
    random_state : None, int or numpy.random.Generator, default=None
        Seeds initialisation, shuffling and every solver call.
    verbose : int, default=0
        ``>= 1`` prints one line per epoch; ``>= 2`` also shows a progress bar.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
    n_features_in_ : int
    network_ : LayeredIsingNetwork
        The trained weights and biases.
    solver_ : Solver
    loss_curve_ : list of float
        Per epoch: mean over examples of the free-phase output cost
        ``1/2 ||target - s_out||^2 / n_out``.
    accuracy_curve_ : list of float
        Per epoch: training accuracy of the free-phase states (one read).
    n_iter_ : int
        Epochs run.
    t_ : int
        Training examples seen.
    solver_seconds_ : float
        Wall time spent in the solver while training.
    spin_updates_ : int
        Single-spin updates performed while training.
    solver_cost_ : dict of str to dict
        Additive solver costs of training per phase (``'free'``,
        ``'nudged'``): ``solver_seconds``, ``spin_updates`` and the solver's
        own entries (e.g. QPU access time, crossbar energy).
    solver_cost_curve_ : list of dict
        The same record for each epoch.
    solver_diagnostics_ : list of dict
        Per epoch and phase, the solver's diagnostics averaged over the
        epoch's calls (e.g. ``effective_temperature`` of the samples,
        ``chain_break_fraction`` and ``scale`` on a QPU); empty dicts for
        solvers that report none.
    backend_ : WeightBackend
        The weight backend holding the trained parameters.
    backend_cost_ : dict of str to float
        Additive cost of writing the weights during training, summed over
        layers (keys ``eqising.hardware.COST_KEYS``: pulses, pulses skipped by
        pruning, saturations, energy in joules, write time; zeros for
        ``'ideal'``).
    backend_layer_cost_ : list of dict
        The same record per layer ``l`` (``weights[l]`` and ``biases[l]``).
    backend_cost_curve_ : list of dict
        The summed record for each epoch.
    backend_seed_ : int
        Seed of the backend (device variation, stochastic rounding, noise),
        derived from ``random_state`` without consuming the training stream,
        so every backend sees the same sequence of minibatches and solver seeds.
    prediction_seed_ : int
        Seed of prediction; with each example's bytes it seeds that example's
        reads, so predictions do not depend on batching.
    """

    def __init__(
        self,
        hidden_layer_sizes: Sequence[int] = (120,),
        *,
        replicas: int = 4,
        solver: str = "annealing",
        solver_params: dict | None = None,
        backend: str = "ideal",
        backend_params: dict | None = None,
        nudge: float = 2.0,
        nudge_mode: str = "positive",
        balanced_nudge: bool = False,
        learning_rate: float = 0.004,
        bias_learning_rate: float | None = None,
        learning_rate_decay: float = 0.95,
        optimizer: str = "adam",
        momentum: float = 0.0,
        batch_size: int = 32,
        max_iter: int = 60,
        num_reads: int = 10,
        phase_reads: int = 1,
        skip_correct: bool = True,
        weight_clip: float | None = 1.0,
        bias_clip: float | None = 1.0,
        field_clip: float | None = 4.0,
        shuffle: bool = True,
        random_state: Any = None,
        verbose: int = 0,
    ) -> None:
        self.hidden_layer_sizes = hidden_layer_sizes
        self.replicas = replicas
        self.solver = solver
        self.solver_params = solver_params
        self.backend = backend
        self.backend_params = backend_params
        self.nudge = nudge
        self.nudge_mode = nudge_mode
        self.balanced_nudge = balanced_nudge
        self.learning_rate = learning_rate
        self.bias_learning_rate = bias_learning_rate
        self.learning_rate_decay = learning_rate_decay
        self.optimizer = optimizer
        self.momentum = momentum
        self.batch_size = batch_size
        self.max_iter = max_iter
        self.num_reads = num_reads
        self.phase_reads = phase_reads
        self.skip_correct = skip_correct
        self.weight_clip = weight_clip
        self.bias_clip = bias_clip
        self.field_clip = field_clip
        self.shuffle = shuffle
        self.random_state = random_state
        self.verbose = verbose

    # ------------------------------------------------------------ validation
    def _validate_params(self) -> dict[str, Any]:
        """Check every hyper-parameter; return the normalised values."""
        hidden = self.hidden_layer_sizes
        if isinstance(hidden, (int, np.integer)) and not isinstance(hidden, bool):
            hidden = (hidden,)
        if not isinstance(hidden, (tuple, list)) or len(hidden) == 0:
            raise param_error("hidden_layer_sizes", OWNER, "a non-empty tuple of ints >= 1", self.hidden_layer_sizes)
        v: dict[str, Any] = {
            "hidden_layer_sizes": tuple(check_int(n, "hidden_layer_sizes", OWNER, low=1) for n in hidden),
            "replicas": check_int(self.replicas, "replicas", OWNER, low=1),
            "nudge": check_float(self.nudge, "nudge", OWNER, low=0.0, low_open=True),
            "nudge_mode": check_choice(self.nudge_mode, "nudge_mode", OWNER, NUDGE_MODES),
            "learning_rate": check_float(self.learning_rate, "learning_rate", OWNER, low=0.0, low_open=True),
            "learning_rate_decay": check_float(
                self.learning_rate_decay, "learning_rate_decay", OWNER, low=0.0, high=1.0, low_open=True
            ),
            "optimizer": check_choice(self.optimizer, "optimizer", OWNER, OPTIMIZERS),
            "momentum": check_float(self.momentum, "momentum", OWNER, low=0.0, high=1.0, high_open=True),
            "batch_size": check_int(self.batch_size, "batch_size", OWNER, low=1),
            "max_iter": check_int(self.max_iter, "max_iter", OWNER, low=1),
            "num_reads": check_int(self.num_reads, "num_reads", OWNER, low=1),
            "phase_reads": check_int(self.phase_reads, "phase_reads", OWNER, low=1),
            "verbose": check_int(self.verbose, "verbose", OWNER, low=0),
        }
        v["bias_learning_rate"] = (
            v["learning_rate"] / 10
            if self.bias_learning_rate is None
            else check_float(self.bias_learning_rate, "bias_learning_rate", OWNER, low=0.0)
        )
        for name in ("weight_clip", "bias_clip", "field_clip"):
            value = getattr(self, name)
            v[name] = None if value is None else check_float(value, name, OWNER, low=0.0, low_open=True)
        for name in ("shuffle", "skip_correct", "balanced_nudge"):
            if not isinstance(getattr(self, name), (bool, np.bool_)):
                raise param_error(name, OWNER, "a bool", getattr(self, name))
        check_choice(self.solver, "solver", OWNER, SOLVERS)
        check_choice(self.backend, "backend", OWNER, BACKENDS)
        if BACKENDS[self.backend].in_situ:
            # the device runs whole steps with its own integer annealer: positive nudging, one read,
            # plain integer SGD; a solver choice would be silently unused, so only the default is accepted
            for name, allowed in (("solver", "annealing"), ("solver_params", None), ("nudge_mode", "positive"),
                                  ("balanced_nudge", False), ("phase_reads", 1), ("optimizer", "sgd"),
                                  ("momentum", 0.0)):
                if getattr(self, name) != allowed:
                    raise param_error(
                        name, OWNER, f"{allowed!r} with backend {self.backend!r} (it trains in situ)", getattr(self, name)
                    )
        return v

    def _make_solver(self) -> Solver:
        solver = make_solver(self.solver, self.solver_params, OWNER)
        return solver

    def _make_backend(self) -> WeightBackend:
        return make_backend(self.backend, self.backend_params, OWNER)

    def _program_backend(self, params: dict[str, Any], state: dict[str, np.ndarray] | None = None) -> None:
        """Write the network's parameters into a fresh backend.

        Without ``state`` the network then holds what the backend reads back;
        with a saved ``state`` (a loaded model) the devices are restored and
        the network keeps the weights it was saved with.
        """
        self.backend_ = self._make_backend()
        net = self.network_
        in_situ = {"field_clip": params["field_clip"], "batch_size": params["batch_size"]}
        self.backend_.program(
            net.weights, net.biases, weight_clip=params["weight_clip"], bias_clip=params["bias_clip"],
            seed=self.backend_seed_, **(in_situ if self.backend_.in_situ else {}),
        )
        if state is None:
            net.weights, net.biases = self.backend_.effective_weights()
        else:
            self.backend_.load_state(state)

    def _make_optimizer(self, params: dict[str, Any]):
        n = len(self.network_.weights)
        lrs = [params["learning_rate"]] * n + [params["bias_learning_rate"]] * n
        return SGD(lrs, params["momentum"]) if params["optimizer"] == "sgd" else Adam(lrs)

    # ------------------------------------------------------------------- fit
    def fit(self, X: Any, y: Any) -> "EqPropClassifier":
        """Train for ``max_iter`` epochs from a fresh initialisation.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Real-valued inputs, clamped as fields (scale them to about [0, 1]).
        y : array-like of shape (n_samples,)
            Class labels (at least two classes).

        Returns
        -------
        self
        """
        for attr in ("network_", "classes_"):
            self.__dict__.pop(attr, None)
        params = self._validate_params()
        X, y = self._validate_xy(X, y, reset=True)
        self._initialize(params, X.shape[1], np.unique(y))
        with threadpool_limits(1, user_api="blas"):  # the solver kernel uses every core, BLAS none of them
            for _ in range(params["max_iter"]):
                self._run_epoch(X, y, params)
        return self

    def partial_fit(self, X: Any, y: Any, classes: Any = None) -> "EqPropClassifier":
        """Run one epoch over ``(X, y)``, initialising on the first call.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
        classes : array-like of shape (n_classes,), default=None
            Every class that will ever appear; required on the first call.

        Returns
        -------
        self
        """
        params = self._validate_params()
        first = not hasattr(self, "network_")
        if not first and not hasattr(self, "_optimizer"):  # a loaded model: fresh optimizer state
            self._rng = check_random_state(self.random_state, "random_state", OWNER)
            self._optimizer = self._make_optimizer(params)
        X, y = self._validate_xy(X, y, reset=first, require_two_classes=False)
        if first:
            if classes is None:
                raise param_error("classes", f"{OWNER}.partial_fit", "given on the first call", None)
            classes = np.unique(np.asarray(classes))
            if len(classes) < 2:
                raise param_error("classes", f"{OWNER}.partial_fit", "at least 2 classes", classes)
            self._initialize(params, X.shape[1], classes)
        elif classes is not None and not np.array_equal(np.unique(np.asarray(classes)), self.classes_):
            raise param_error("classes", f"{OWNER}.partial_fit", f"the classes of the first call {self.classes_.tolist()}", classes)
        unknown = np.setdiff1d(y, self.classes_)
        if unknown.size:
            raise param_error("y", f"{OWNER}.partial_fit", f"labels from classes {self.classes_.tolist()}", unknown.tolist())
        with threadpool_limits(1, user_api="blas"):
            self._run_epoch(X, y, params)
        return self

    def _validate_xy(self, X: Any, y: Any, *, reset: bool, require_two_classes: bool = True):
        try:
            X, y = validate_data(self, X, y, reset=reset, dtype=np.float64, ensure_all_finite=True)
        except ValueError as exc:
            raise InvalidParameterError(
                f"The 'X' and 'y' parameters of {OWNER} must be a 2-d array of finite numbers "
                f"(n_samples, n_features) and one label per row; got invalid input instead: {exc}"
            ) from exc
        try:
            check_classification_targets(y)
        except ValueError as exc:
            raise InvalidParameterError(
                f"The 'y' parameter of {OWNER} must be class labels (ints or strings); "
                f"got invalid input instead: {exc}"
            ) from exc
        if require_two_classes and np.unique(y).size < 2:
            raise param_error(
                "y", OWNER, "labels of at least 2 classes", Described(f"1 class ({np.unique(y)[0].item()!r})")
            )
        return X, y

    def _initialize(self, params: dict[str, Any], n_features: int, classes: np.ndarray) -> None:
        self._rng = check_random_state(self.random_state, "random_state", OWNER)
        self.classes_ = classes
        self.solver_ = self._make_solver()
        sizes = (n_features, *params["hidden_layer_sizes"], len(classes) * params["replicas"])
        self.network_ = LayeredIsingNetwork.initialize(sizes, self._rng, field_clip=params["field_clip"])
        self._optimizer = self._make_optimizer(params)
        self.prediction_seed_ = int(self._rng.integers(2**63))
        # derived, not drawn: the training stream stays the same whatever the backend
        self.backend_seed_ = int(np.random.SeedSequence([self.prediction_seed_, 1]).generate_state(1, np.uint64)[0])
        try:
            self._program_backend(params)
        except Exception:  # e.g. a network over the device's RAM budget: leave no half-fitted model behind
            for name in [k for k in vars(self) if k.endswith("_") and not k.startswith("__")]:
                delattr(self, name)
            raise
        self.loss_curve_: list[float] = []
        self.accuracy_curve_: list[float] = []
        self.n_iter_ = 0
        self.t_ = 0
        self.solver_seconds_ = 0.0
        self.spin_updates_ = 0
        self.solver_cost_: dict[str, dict[str, float]] = {phase: {} for phase in PHASES}
        self.solver_cost_curve_: list[dict[str, dict[str, float]]] = []
        self.solver_diagnostics_: list[dict[str, dict[str, float]]] = []
        self.backend_cost_ = zero_cost()
        self.backend_layer_cost_ = [zero_cost() for _ in self.network_.weights]
        self.backend_cost_curve_: list[dict[str, float]] = []

    def _run_epoch(self, X: np.ndarray, y: np.ndarray, params: dict[str, Any]) -> None:
        net, n_classes, reps = self.network_, len(self.classes_), params["replicas"]
        decay = params["learning_rate_decay"] ** self.n_iter_
        n = len(net.weights)
        self._optimizer.learning_rates = [params["learning_rate"] * decay] * n + [
            params["bias_learning_rate"] * decay
        ] * n
        net.field_clip = params["field_clip"]
        y_index = np.searchsorted(self.classes_, y)
        order = self._rng.permutation(len(X)) if self.shuffle else np.arange(len(X))
        starts = range(0, len(X), params["batch_size"])
        progress = None
        if params["verbose"] >= 2:
            from tqdm.auto import tqdm

            progress = tqdm(total=len(X), desc=f"epoch {self.n_iter_ + 1}", unit="ex", leave=False, file=sys.stderr)
        loss = correct = 0.0
        epoch_cost: dict[str, dict[str, float]] = {phase: {} for phase in PHASES}
        epoch_reports: dict[str, list[dict[str, float]]] = {phase: [] for phase in PHASES}
        epoch_backend = zero_cost()
        start = time.perf_counter()
        for i in starts:
            idx = order[i : i + params["batch_size"]]
            targets = one_hot_spins(y_index[idx], n_classes, reps)
            nudge_targets = one_hot_spins(y_index[idx], n_classes, reps, balanced=True) if self.balanced_nudge else targets
            if self.backend_.in_situ:  # the device runs the whole step in its own arithmetic
                free, costs, phases = self.backend_.train_step(
                    X[idx], targets, nudge=params["nudge"], learning_rate=self._optimizer.learning_rates[0],
                    bias_learning_rate=self._optimizer.learning_rates[-1], skip_correct=bool(self.skip_correct),
                    seed=int(self._rng.integers(2**32)),
                )
                step = EqPropStep([], [], SpinSamples(free, np.zeros(free.shape[:2])), phases)
                for layer, cost in enumerate(costs):
                    add_costs(self.backend_layer_cost_[layer], cost)
                    add_costs(epoch_backend, cost)
            else:
                step = eqprop_step(
                    net, self.solver_, X[idx], nudge_targets,
                    nudge=params["nudge"], mode=params["nudge_mode"], num_reads=params["phase_reads"], rng=self._rng,
                    skip_correct=bool(self.skip_correct),
                )
                grads = step.weight_grads + step.bias_grads
                if len(idx) < params["batch_size"]:  # a short last batch moves in proportion to its size
                    grads = [g * (len(idx) / params["batch_size"]) for g in grads]
                deltas = self._optimizer.deltas(grads)
                for layer in range(n):
                    cost = self.backend_.apply(layer, deltas[layer], deltas[n + layer])
                    add_costs(self.backend_layer_cost_[layer], cost)
                    add_costs(epoch_backend, cost)
            net.weights, net.biases = self.backend_.effective_weights()
            out = step.free.spins[..., net.output_slice]
            loss += float((0.5 * (out - targets[:, None, :]) ** 2).mean(axis=(1, 2)).sum())
            pred = class_scores(step.free, net.output_slice, n_classes, reps).argmax(axis=1)
            correct += float((pred == y_index[idx]).sum())
            self.solver_seconds_ += step.solver_seconds
            self.spin_updates_ += step.spin_updates
            for phase, cost in step.costs.items():
                add_costs(epoch_cost[phase], cost)
            for phase, report in step.diagnostics.items():
                epoch_reports[phase].append(report)
            if progress is not None:
                progress.update(len(idx))
        if progress is not None:
            progress.close()
        for phase, cost in epoch_cost.items():
            add_costs(self.solver_cost_[phase], cost)
        self.solver_cost_curve_.append(epoch_cost)
        self.solver_diagnostics_.append(
            {phase: mean_records(reports) for phase, reports in epoch_reports.items()}
        )
        add_costs(self.backend_cost_, epoch_backend)
        self.backend_cost_curve_.append(epoch_backend)
        self.loss_curve_.append(loss / len(X))
        self.accuracy_curve_.append(correct / len(X))
        self.n_iter_ += 1
        self.t_ += len(X)
        if params["verbose"] >= 1:
            print(
                f"epoch {self.n_iter_}: loss {self.loss_curve_[-1]:.4f}, train accuracy "
                f"{self.accuracy_curve_[-1]:.4f} ({time.perf_counter() - start:.1f} s)",
                file=sys.stderr,
            )

    # --------------------------------------------------------------- predict
    def _scores(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "network_")
        try:
            X = validate_data(self, X, reset=False, dtype=np.float64, ensure_all_finite=True)
        except ValueError as exc:
            raise InvalidParameterError(
                f"The 'X' parameter of {OWNER} must be a 2-d array of finite numbers with "
                f"{self.n_features_in_} features; got invalid input instead: {exc}"
            ) from exc
        reps = check_int(self.replicas, "replicas", OWNER, low=1)
        num_reads = check_int(self.num_reads, "num_reads", OWNER, low=1)
        net = self.network_
        if net.spin_layer_sizes[-1] != len(self.classes_) * reps:
            raise param_error("replicas", OWNER, "the value the model was fitted with", reps)
        if self.backend_.in_situ:  # a device that trains in situ also predicts
            return self.backend_.scores(X, num_reads=num_reads, seed=self.prediction_seed_, n_classes=len(self.classes_))
        samples = self.solver_.sample(net.ising_batch(X), num_reads=num_reads, seed=self._example_seeds(X))
        return class_scores(samples, net.output_slice, len(self.classes_), reps)

    def _example_seeds(self, X: np.ndarray) -> np.ndarray:
        key = self.prediction_seed_.to_bytes(8, "little")
        rows = np.ascontiguousarray(X, dtype=np.float64)
        return np.array(
            [int.from_bytes(hashlib.blake2b(r.tobytes(), digest_size=8, key=key).digest(), "little") for r in rows],
            dtype=np.uint64,
        )

    def predict(self, X: Any) -> np.ndarray:
        """Class of the lowest-energy free-phase read of each example.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples,)
        """
        scores = self._scores(X)
        return self.classes_[np.argmax(scores, axis=1)]

    def predict_proba(self, X: Any) -> np.ndarray:
        """Softmax of the class scores (replica means, in [-1, 1]) times ``2 * replicas``.

        A confidence derived from the spins, not a calibrated probability; its
        argmax is :meth:`predict`.

        Returns
        -------
        ndarray of shape (n_samples, n_classes)
        """
        z = self._scores(X) * 2 * self.replicas
        z -= z.max(axis=1, keepdims=True)
        p = np.exp(z)
        return p / p.sum(axis=1, keepdims=True)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.non_deterministic = False
        return tags
