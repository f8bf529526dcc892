"""``EqPropClassifier``: a scikit-learn classifier trained by equilibrium propagation.

The estimator validates, loops over epochs and minibatches and records; each
minibatch step is run by a :class:`~eqising.engine.TrainingEngine` that the
weight backend builds (:meth:`WeightBackend.training_engine
<eqising.hardware.WeightBackend.training_engine>`). It has no branch on which
solver, backend or engine it talks to.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from numbers import Integral, Real
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, _fit_context
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data
from threadpoolctl import ThreadpoolController

from ._memory import check_fits, training_bytes
from ._validation import Described, InvalidParameterError, check_float, check_int, param_error
from .augment import image_shape_for, shift_images
from .engine import STEP_SCALINGS, TrainingEngine, TrainingSettings, step_loss_and_correct
from .eqprop import NUDGE_MODES, one_hot_spins
from .hardware import WeightBackend, as_backend, zero_cost
from .history import PHASES, EpochRecord, TrainingHistory, mean_records
from .network import LayeredIsingNetwork
from .optim import OPTIMIZERS, make_optimizer
from .seeding import SeedSource, root_seed
from .solvers import Solver, add_costs, as_solver

__all__ = ["EqPropClassifier"]

OWNER = "EqPropClassifier"

#: Parameters whose default follows the weight backend (its requirements, else its defaults), with that default.
FOLLOWS_BACKEND = {"solver": None, "optimizer": "auto", "learning_rate": "auto", "phase_reads": "auto"}
#: What those defaults are when the backend neither requires nor suggests a value.
UNCONSTRAINED = {"solver": "annealing", "optimizer": "adam", "learning_rate": 0.004, "phase_reads": 1}
#: ``learning_rate_decay='auto'`` with one hidden layer.
AUTO_DECAY = 0.95
#: What ``'auto'`` means with more than one hidden layer (README, "Accuracy"): the automatic learning
#: rate times ``rate_per_extra_layer`` per hidden layer after the first, ``learning_rate_decay`` and
#: ``phase_reads`` (unless the backend requires a number of reads).
AUTO_DEEP = {"rate_per_extra_layer": 0.5, "learning_rate_decay": 0.97, "phase_reads": 2}


#: threadpoolctl's handle on the loaded BLAS libraries and the number of loaded modules it was built at.
_BLAS: list[Any] = [-1, None]


def _one_blas_thread() -> Any:
    """A context in which BLAS runs on one thread (the solver kernels use every core).

    Building threadpoolctl's controller scans every loaded library (~2 ms here), which each epoch of
    ``partial_fit`` used to pay; it is rebuilt only when modules were imported since (a module that
    brings its own BLAS, e.g. SciPy's, is then found).
    """
    if _BLAS[0] != len(sys.modules):
        _BLAS[:] = [len(sys.modules), ThreadpoolController()]
    return _BLAS[1].limit(limits=1, user_api="blas")


def _same(value: Any, expected: Any) -> bool:
    """``value is expected``, or equal plain values (names, numbers, bools; never objects)."""
    plain = (str, int, float, bool, type(None))
    return value is expected or (isinstance(value, plain) and isinstance(expected, plain) and value == expected
                                 and isinstance(value, bool) == isinstance(expected, bool))


def _history_view(name: str, doc: str) -> property:
    """A fitted attribute that reads ``history_.<name>``."""

    def get(self: EqPropClassifier) -> Any:
        history = self.__dict__.get("history_")
        if history is None:
            raise AttributeError(f"This {type(self).__name__} is not fitted yet: it has no {name!r} record.")
        return getattr(history, name)

    return property(get, doc=doc)


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
    solver : None, str, Solver or dimod.Sampler, default=None
        What relaxes the network: the name of a registered solver (see
        ``eqising.solvers.SOLVERS``; third-party packages add names through
        the ``eqising.solvers`` entry points), a
        :class:`~eqising.solvers.Solver` instance, or any
        :class:`dimod.Sampler` instance (wrapped in the ``'dimod'`` solver).
        ``None`` is ``'annealing'``, or no solver at all for a backend that
        requires none (a device that anneals in situ).
    solver_params : dict or None, default=None
        Keyword arguments of a solver given by name (e.g.
        ``{'num_sweeps': 50}``); unknown keys are an error.
    backend : str or WeightBackend, default='ideal'
        Where the weights live and how updates are written: the name of a
        registered weight backend (``eqising.hardware.BACKENDS``; entry-point
        group ``eqising.backends``) or a
        :class:`~eqising.hardware.WeightBackend` instance (fit uses a copy).
        The solver always sees the weights the backend holds. A backend
        declares the training settings it requires
        (:attr:`WeightBackend.requirements
        <eqising.hardware.WeightBackend.requirements>`) and builds the
        engine that trains on it: ``'mcu-int8'`` (int8 weights, integer
        annealer) runs each whole step itself, needs no solver, SGD without
        momentum, positive nudging and one read per phase. Settings left at
        their automatic defaults (``solver=None``, ``optimizer='auto'``)
        follow the backend; an explicit conflicting choice is an error.
    backend_params : dict or None, default=None
        Keyword arguments of a backend given by name (e.g.
        ``{'preset': 'li'}``); unknown keys are an error.
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
    learning_rate : float or 'auto', default='auto'
        Step size for the weights; ``'auto'`` is the backend's suggestion
        (:attr:`WeightBackend.defaults <eqising.hardware.WeightBackend.defaults>`:
        0.02 for ``'mcu-int8'``'s integer SGD), else 0.004 (Adam), divided by
        2 for every hidden layer after the first (784-256-128-40: 0.002).
    step_scaling : {'fan-in', 'sqrt-fan-in', 'none'}, default='fan-in'
        Per-matrix factor on the weight step size: the weights fed by ``n``
        spins (every matrix after the input one) step ``min(1, 120 / n)``
        times ``learning_rate`` with ``'fan-in'`` (a hidden layer wider than
        the reference 120 spins no longer overshoots; 1 for the default
        networks), ``min(1, sqrt(120 / n))`` with ``'sqrt-fan-in'``; see
        :meth:`TrainingSettings.weight_step_scales
        <eqising.engine.TrainingSettings.weight_step_scales>`.
    bias_learning_rate : float or None, default=None
        Step size for the biases; ``None`` uses ``learning_rate / 10``.
    learning_rate_decay : float or 'auto', default='auto'
        Both step sizes are multiplied by this factor after every epoch
        (``lr_epoch = lr * learning_rate_decay ** epoch``); ``'auto'``: 0.95
        with one hidden layer, 0.97 with more (a deeper network at 0.95 stops
        learning before it fits the data).
    optimizer : {'auto', 'adam', 'sgd'}, default='auto'
        ``'auto'`` is what the backend requires, else ``'adam'``.
    momentum : float, default=0.0
        Momentum of the 'sgd' optimizer.
    batch_size : int, default=32
        Examples relaxed together per EqProp step.
    max_iter : int, default=60
        Epochs run by :meth:`fit`.
    num_reads : int, default=10
        Free-phase reads per example at prediction; the lowest-energy read
        predicts.
    phase_reads : int or 'auto', default='auto'
        Reads per example in each training phase; correlations are averaged.
        ``'auto'``: what the backend requires, else 1 with one hidden layer
        and 2 with more (the deeper layers' correlations are noisier: one
        read left 784-256-128-40 under-trained on some seeds).
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
    shift_augment : int, default=0
        Shift every training image by a random whole number of pixels in
        ``[-shift_augment, shift_augment]`` along each axis, drawn anew for
        every example in every epoch (pixels shifted in are 0;
        :func:`eqising.augment.shift_images`); 0 trains on the images as
        given. The CLI uses 1 on MNIST, where it decided the default (README,
        "Accuracy").
    image_shape : (int, int) or None, default=None
        ``(height, width)`` of the row-major images in ``X`` for
        ``shift_augment``; None: square images.
    random_state : None, int or numpy.random.Generator, default=None
        Resolved once into the root seed ``root_seed_``; initialisation,
        every epoch's shuffle, every step's solver calls, the backend and
        prediction take seeds derived from it (:mod:`eqising.seeding`), so a
        seeded fit is reproducible and independent of the number of threads.
    verbose : int, default=0
        ``>= 1`` prints one line per epoch; ``>= 2`` also shows a progress bar.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
    n_features_in_ : int
    network_ : LayeredIsingNetwork
        The trained weights and biases.
    solver_ : Solver or None
        The solver that relaxed the network (None for a backend that anneals
        in situ).
    engine_ : TrainingEngine
        The engine that ran the training steps and predicts
        (:mod:`eqising.engine`).
    history_ : TrainingHistory
        Every epoch's record; the curves and costs below are views of it.
    root_seed_ : int
        The root seed every other seed derives from.
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
        derived from ``root_seed_``; every backend sees the same minibatches
        and solver seeds for the same ``random_state``.
    prediction_seed_ : int
        Seed of prediction; with each example's bytes it seeds that example's
        reads, so predictions do not depend on batching.
    """


    def __init__(
        self,
        hidden_layer_sizes: Sequence[int] = (120,),
        *,
        replicas: int = 4,
        solver: Any = None,
        solver_params: dict | None = None,
        backend: Any = "ideal",
        backend_params: dict | None = None,
        nudge: float = 2.0,
        nudge_mode: str = "positive",
        balanced_nudge: bool = False,
        learning_rate: float | str = "auto",
        bias_learning_rate: float | None = None,
        learning_rate_decay: float | str = "auto",
        optimizer: str = "auto",
        momentum: float = 0.0,
        batch_size: int = 32,
        max_iter: int = 60,
        num_reads: int = 10,
        phase_reads: int | str = "auto",
        skip_correct: bool = True,
        weight_clip: float | None = 1.0,
        bias_clip: float | None = 1.0,
        field_clip: float | None = 4.0,
        shuffle: bool = True,
        step_scaling: str = "fan-in",
        shift_augment: int = 0,
        image_shape: Sequence[int] | None = None,
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
        self.step_scaling = step_scaling
        self.shift_augment = shift_augment
        self.image_shape = image_shape
        self.random_state = random_state
        self.verbose = verbose

    _parameter_constraints: dict = {
        "hidden_layer_sizes": ["array-like", Interval(Integral, 1, None, closed="left")],
        "replicas": [Interval(Integral, 1, None, closed="left")],
        "solver": [None, str, HasMethods(["sample"])],
        "solver_params": [dict, None],
        "backend": [str, WeightBackend],
        "backend_params": [dict, None],
        "nudge": [Interval(Real, 0, None, closed="neither")],
        "nudge_mode": [StrOptions(set(NUDGE_MODES))],
        "balanced_nudge": ["boolean"],
        "learning_rate": [Interval(Real, 0, None, closed="neither"), StrOptions({"auto"})],
        "bias_learning_rate": [Interval(Real, 0, None, closed="left"), None],
        "learning_rate_decay": [Interval(Real, 0, 1, closed="right"), StrOptions({"auto"})],
        "optimizer": [StrOptions({"auto", *OPTIMIZERS})],
        "momentum": [Interval(Real, 0, 1, closed="left")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "num_reads": [Interval(Integral, 1, None, closed="left")],
        "phase_reads": [Interval(Integral, 1, None, closed="left"), StrOptions({"auto"})],
        "skip_correct": ["boolean"],
        "weight_clip": [Interval(Real, 0, None, closed="neither"), None],
        "bias_clip": [Interval(Real, 0, None, closed="neither"), None],
        "field_clip": [Interval(Real, 0, None, closed="neither"), None],
        "shuffle": ["boolean"],
        "step_scaling": [StrOptions(set(STEP_SCALINGS))],
        "shift_augment": [Interval(Integral, 0, None, closed="left")],
        "image_shape": ["array-like", None],
        "random_state": ["random_state", np.random.Generator],
        "verbose": ["verbose"],
    }

    # ------------------------------------------------------------ resolution
    def _resolve(self) -> tuple[TrainingSettings, Solver | None, WeightBackend]:
        """The settings, solver and (unprogrammed) backend this estimator's parameters describe.

        Checks what ``_parameter_constraints`` cannot (finite floats, the
        sizes inside ``hidden_layer_sizes``, registered names, parameters of
        the solver and backend) and applies the backend's requirements:
        parameters at their automatic default follow them, explicit
        conflicting ones are an error. Nothing is fitted.
        """
        hidden = self.hidden_layer_sizes
        if isinstance(hidden, Integral) and not isinstance(hidden, bool):
            hidden = (hidden,)
        if not isinstance(hidden, (tuple, list)) or len(hidden) == 0:
            raise param_error("hidden_layer_sizes", OWNER, "a non-empty tuple of ints >= 1", self.hidden_layer_sizes)
        backend = as_backend(self.backend, self.backend_params, OWNER)
        chosen = {name: getattr(self, name) for name in self.get_params(deep=False)}
        for name, required in type(backend).requirements.items():
            if not (_same(chosen[name], FOLLOWS_BACKEND.get(name, required)) or _same(chosen[name], required)):
                raise param_error(name, OWNER, f"{required!r} with backend {backend.name!r}, which requires it",
                                  chosen[name])
            chosen[name] = required
        for name, automatic in FOLLOWS_BACKEND.items():
            if name not in type(backend).requirements and _same(chosen[name], automatic):
                chosen[name] = type(backend).defaults.get(name, UNCONSTRAINED[name])
        solver = None
        if chosen["solver"] is not None:
            solver = as_solver(chosen["solver"], self.solver_params, OWNER)
        elif self.solver_params is not None:
            raise param_error("solver_params", OWNER, f"None with backend {backend.name!r}, which uses no solver",
                              self.solver_params)
        lr = check_float(chosen["learning_rate"], "learning_rate", OWNER, low=0.0, low_open=True)
        decay = AUTO_DECAY if _same(self.learning_rate_decay, "auto") else self.learning_rate_decay
        extra_layers = len(hidden) - 1
        if extra_layers:  # deeper networks: smaller, slower-decaying automatic steps from less noisy reads
            if _same(self.learning_rate, "auto"):
                lr *= AUTO_DEEP["rate_per_extra_layer"] ** extra_layers
            if _same(self.learning_rate_decay, "auto"):
                decay = AUTO_DEEP["learning_rate_decay"]
            if _same(self.phase_reads, "auto") and "phase_reads" not in type(backend).requirements:
                chosen["phase_reads"] = AUTO_DEEP["phase_reads"]
        clips = {
            name: None if getattr(self, name) is None
            else check_float(getattr(self, name), name, OWNER, low=0.0, low_open=True)
            for name in ("weight_clip", "bias_clip", "field_clip")
        }
        settings = TrainingSettings(
            hidden_layer_sizes=tuple(check_int(n, "hidden_layer_sizes", OWNER, low=1) for n in hidden),
            replicas=int(self.replicas),
            nudge=check_float(self.nudge, "nudge", OWNER, low=0.0, low_open=True),
            nudge_mode=chosen["nudge_mode"],
            balanced_nudge=bool(chosen["balanced_nudge"]),
            learning_rate=lr,
            bias_learning_rate=lr / 10 if self.bias_learning_rate is None
            else check_float(self.bias_learning_rate, "bias_learning_rate", OWNER, low=0.0),
            learning_rate_decay=float(decay),
            optimizer=chosen["optimizer"],
            momentum=check_float(chosen["momentum"], "momentum", OWNER, low=0.0, high=1.0, high_open=True),
            batch_size=int(self.batch_size),
            max_iter=int(self.max_iter),
            num_reads=int(self.num_reads),
            phase_reads=int(chosen["phase_reads"]),
            skip_correct=bool(self.skip_correct),
            shuffle=bool(self.shuffle),
            step_scaling=self.step_scaling,
            shift_augment=int(self.shift_augment),
            image_shape=self._image_shape(),
            verbose=int(self.verbose),
            **clips,
        )
        return settings, solver, backend

    def _image_shape(self) -> tuple[int, int] | None:
        shape = self.image_shape
        if shape is None:
            return None
        expected = "None or (height, width), two ints >= 1"
        try:
            values = tuple(shape)
        except TypeError:
            raise param_error("image_shape", OWNER, expected, shape) from None
        if len(values) != 2:
            raise param_error("image_shape", OWNER, expected, shape)
        return tuple(check_int(v, "image_shape", OWNER, low=1) for v in values)

    def _build(
        self,
        settings: TrainingSettings,
        solver: Solver | None,
        backend: WeightBackend,
        network: LayeredIsingNetwork,
        backend_seed: int,
        backend_state: dict[str, np.ndarray] | None = None,
    ) -> TrainingEngine:
        """Program ``backend`` with ``network`` and build the engine.

        Without ``backend_state`` the network then holds what the backend
        reads back; with a saved state (a loaded model) the devices are
        restored and the network keeps the weights it was saved with.
        """
        backend.program(
            network.weights, network.biases, weight_clip=settings.weight_clip, bias_clip=settings.bias_clip,
            field_clip=settings.field_clip, batch_size=settings.batch_size, seed=backend_seed,
        )
        if backend_state is None:
            network.weights, network.biases = backend.effective_weights()
        else:
            backend.load_state(backend_state)
        n = len(network.weights)
        lrs = [settings.learning_rate] * n + [settings.bias_learning_rate] * n
        optimizer = make_optimizer(settings.optimizer, lrs, settings.momentum)
        return backend.training_engine(network, solver, optimizer, settings)

    # ------------------------------------------------------------------- fit
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X: Any, y: Any) -> EqPropClassifier:
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
        for attr in [k for k in vars(self) if k.endswith("_") and not k.startswith("__")]:
            delattr(self, attr)
        settings, solver, backend = self._resolve()
        X, y = self._validate_xy(X, y, reset=True)
        self._initialize(settings, solver, backend, X.shape[1], np.unique(y))
        with _one_blas_thread():  # the solver kernel uses every core, BLAS none of them
            for _ in range(settings.max_iter):
                self._run_epoch(X, y)
        return self

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X: Any, y: Any, classes: Any = None) -> EqPropClassifier:
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
        first = not hasattr(self, "engine_")
        owner = f"{OWNER}.partial_fit"
        if first:
            settings, solver, backend = self._resolve()
        X, y = self._validate_xy(X, y, reset=first, require_two_classes=False)
        if first:
            if classes is None:
                raise param_error("classes", owner, "given on the first call", None)
            classes = np.unique(np.asarray(classes))
            if len(classes) < 2:
                raise param_error("classes", owner, "at least 2 classes", classes)
            self._initialize(settings, solver, backend, X.shape[1], classes)
        elif classes is not None and not np.array_equal(np.unique(np.asarray(classes)), self.classes_):
            raise param_error("classes", owner, f"the classes of the first call {self.classes_.tolist()}", classes)
        unknown = np.setdiff1d(y, self.classes_)
        if unknown.size:
            raise param_error("y", owner, f"labels from classes {self.classes_.tolist()}", unknown.tolist())
        with _one_blas_thread():
            self._run_epoch(X, y)
        return self

    def _validate_xy(self, X: Any, y: Any, *, reset: bool, require_two_classes: bool = True):
        try:
            X, y = validate_data(self, X, y, reset=reset, dtype=np.float64, ensure_all_finite=True)
        except ValueError as exc:
            raise InvalidParameterError(
                f"The 'X' and 'y' parameters of {OWNER} must be a 2-d array of finite numbers "
                f"(n_samples, n_features) and one label per row. Got invalid input instead: {exc}"
            ) from exc
        try:
            check_classification_targets(y)
        except ValueError as exc:
            raise InvalidParameterError(
                f"The 'y' parameter of {OWNER} must be class labels (ints or strings). "
                f"Got invalid input instead: {exc}"
            ) from exc
        if require_two_classes and np.unique(y).size < 2:
            raise param_error(
                "y", OWNER, "labels of at least 2 classes", Described(f"1 class ({np.unique(y)[0].item()!r})")
            )
        return X, y

    def _initialize(
        self, settings: TrainingSettings, solver: Solver | None, backend: WeightBackend, n_features: int,
        classes: np.ndarray,
    ) -> None:
        root = root_seed(self.random_state, "random_state", OWNER)
        source = SeedSource(root)
        if settings.shift_augment:  # the images must have a shape the shift fits in, before any work
            height, width = image_shape_for(n_features, settings.image_shape, OWNER)
            if settings.shift_augment >= min(height, width):
                raise param_error("shift_augment", OWNER, f"smaller than the images' height and width "
                                  f"{(height, width)}", settings.shift_augment)
        sizes = (n_features, *settings.hidden_layer_sizes, len(classes) * settings.replicas)
        check_fits(training_bytes(sizes, settings.batch_size, settings.phase_reads), "hidden_layer_sizes", OWNER,
                   settings.hidden_layer_sizes, f"network {'-'.join(map(str, sizes))}")  # before allocating it
        network = LayeredIsingNetwork.initialize(sizes, source.generator("init"), field_clip=settings.field_clip)
        # may refuse (e.g. a network over a device's memory budget): nothing is fitted until it succeeds
        engine = self._build(settings, solver, backend, network, source.seed("backend"))
        self.root_seed_ = root
        self.prediction_seed_ = source.seed("predict")
        self.backend_seed_ = source.seed("backend")
        self.classes_ = classes
        self.network_, self.solver_, self.backend_, self.engine_ = network, solver, backend, engine
        self.history_ = TrainingHistory(len(network.weights))

    def _run_epoch(self, X: np.ndarray, y: np.ndarray) -> None:
        engine, history = self.engine_, self.history_
        s, net = engine.settings, engine.network
        epoch, n_classes = history.n_iter, len(self.classes_)
        source = SeedSource(self.root_seed_)
        learning_rates = s.step_sizes(epoch)
        y_index = np.searchsorted(self.classes_, y)
        order = source.generator("shuffle", epoch).permutation(len(X)) if s.shuffle else np.arange(len(X))
        if epoch == 0:  # an engine may look at the data once before its first step (most do nothing)
            engine.prepare(X, one_hot_spins(y_index, n_classes, s.replicas), seed=source.seed("prepare"),
                           learning_rates=learning_rates)
        progress = None
        if s.verbose >= 2:
            from tqdm.auto import tqdm

            progress = tqdm(total=len(X), desc=f"epoch {epoch + 1}", unit="ex", leave=False, file=sys.stderr)
        loss = correct = 0.0
        solver_cost: dict[str, dict[str, float]] = {phase: {} for phase in PHASES}
        reports: dict[str, list[dict[str, float]]] = {phase: [] for phase in PHASES}
        layer_cost = [zero_cost() for _ in net.weights]
        shape = image_shape_for(X.shape[1], s.image_shape, OWNER) if s.shift_augment else None
        start = time.perf_counter()
        labels = y_index[order]  # in the epoch's order: a minibatch's labels and targets are slices
        all_targets = one_hot_spins(labels, n_classes, s.replicas)
        for k, i in enumerate(range(0, len(X), s.batch_size)):
            idx = order[i : i + s.batch_size]
            targets = all_targets[i : i + s.batch_size]
            if shape is None:
                batch = X[idx]
            else:  # the minibatch's images read and shifted in one pass
                batch = shift_images(X, shape, s.shift_augment, source.generator("augment", epoch, k), rows=idx)
            record = engine.step(batch, targets, seed=source.seed("step", epoch, k), learning_rates=learning_rates)
            step_loss, step_correct = step_loss_and_correct(
                record.free, targets, labels[i : i + s.batch_size], net.output_slice, n_classes, s.replicas
            )
            loss += step_loss
            correct += step_correct
            for phase, cost in record.solver_cost.items():
                add_costs(solver_cost.setdefault(phase, {}), cost)
            for phase, report in record.diagnostics.items():
                reports.setdefault(phase, []).append(report)
            for layer, cost in enumerate(record.backend_cost):
                add_costs(layer_cost[layer], cost)
            if progress is not None:
                progress.update(len(idx))
        if progress is not None:
            progress.close()
        seconds = time.perf_counter() - start
        history.append(EpochRecord(
            loss=loss / len(X), accuracy=correct / len(X), n_examples=len(X), seconds=seconds,
            solver_cost=solver_cost, solver_diagnostics={phase: mean_records(r) for phase, r in reports.items()},
            backend_layer_cost=layer_cost,
        ))
        if s.verbose >= 1:
            print(
                f"epoch {history.n_iter}: loss {history.loss_curve[-1]:.4f}, train accuracy "
                f"{history.accuracy_curve[-1]:.4f} ({seconds:.1f} s)",
                file=sys.stderr,
            )

    # ------------------------------------------------- fitted views of history_
    loss_curve_ = _history_view("loss_curve", "Per epoch: mean free-phase output cost.")
    accuracy_curve_ = _history_view("accuracy_curve", "Per epoch: training accuracy of the free phase.")
    n_iter_ = _history_view("n_iter", "Epochs run.")
    t_ = _history_view("n_examples", "Training examples seen.")
    solver_seconds_ = _history_view("solver_seconds", "Wall time in the solver while training.")
    spin_updates_ = _history_view("spin_updates", "Single-spin updates while training.")
    solver_cost_ = _history_view("solver_cost", "Solver costs per phase, summed over epochs.")
    solver_cost_curve_ = _history_view("solver_cost_curve", "Solver costs per phase, per epoch.")
    solver_diagnostics_ = _history_view("solver_diagnostics", "Solver diagnostics per phase, per epoch.")
    backend_cost_ = _history_view("backend_cost", "Backend cost summed over layers and epochs.")
    backend_layer_cost_ = _history_view("backend_layer_cost", "Backend cost per layer, summed over epochs.")
    backend_cost_curve_ = _history_view("backend_cost_curve", "Backend cost summed over layers, per epoch.")

    # --------------------------------------------------------------- predict
    def _scores(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "engine_")
        try:
            X = validate_data(self, X, reset=False, dtype=np.float64, ensure_all_finite=True)
        except ValueError as exc:
            raise InvalidParameterError(
                f"The 'X' parameter of {OWNER} must be a 2-d array of finite numbers with "
                f"{self.n_features_in_} features. Got invalid input instead: {exc}"
            ) from exc
        num_reads = check_int(self.num_reads, "num_reads", OWNER, low=1)
        if self.replicas != self.engine_.settings.replicas:
            raise param_error("replicas", OWNER, f"the value the model was fitted with ({self.engine_.settings.replicas})",
                              self.replicas)
        return self.engine_.scores(X, num_reads=num_reads, seed=self.prediction_seed_)

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
        z = self._scores(X) * 2 * self.engine_.settings.replicas
        z -= z.max(axis=1, keepdims=True)
        p = np.exp(z)
        return p / p.sum(axis=1, keepdims=True)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.non_deterministic = False
        return tags
