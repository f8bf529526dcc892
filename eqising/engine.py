"""Training engines: one EqProp step on a minibatch, and what it cost.

The estimator knows only this protocol. It loops over epochs and
minibatches, calls :meth:`TrainingEngine.step` with the minibatch, its spin
targets, a seed and the epoch's step sizes, and records the returned
:class:`StepRecord` in the :class:`~eqising.history.TrainingHistory`.
Prediction goes through :meth:`TrainingEngine.scores`.

Two engines ship with eqising:

- :class:`FloatEngine` (every backend's default, see
  :meth:`WeightBackend.training_engine
  <eqising.hardware.WeightBackend.training_engine>`): a solver relaxes the
  network in the free and nudged phases (:func:`~eqising.eqprop.eqprop_step`),
  an optimizer turns the EqProp gradient into desired changes, and the weight
  backend writes them and reports what that cost;
- the int8 device engine (:mod:`eqising.hardware.mcu.training`): the
  microcontroller's own integer annealer and update.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ._numba_cache import cached_njit
from .eqprop import class_scores, eqprop_step
from .network import LayeredIsingNetwork
from .seeding import example_seeds
from .solvers import SpinSamples

__all__ = ["FloatEngine", "StepRecord", "TrainingEngine", "TrainingSettings", "step_loss_and_correct"]


#: Spins feeding a unit in the reference recipe's hidden layer (784-120-40): ``step_scaling``'s reference.
REFERENCE_FAN_IN = 120

#: The values of ``step_scaling``.
STEP_SCALINGS = ("fan-in", "sqrt-fan-in", "none")


@dataclass(frozen=True)
class TrainingSettings:
    """The resolved training hyper-parameters an engine runs with.

    Built by the estimator from its parameters after validation, with the
    weight backend's :attr:`~eqising.hardware.WeightBackend.requirements`
    applied; the names are the estimator's.
    """

    hidden_layer_sizes: tuple[int, ...]
    replicas: int
    nudge: float
    nudge_mode: str
    balanced_nudge: bool
    learning_rate: float
    bias_learning_rate: float
    learning_rate_decay: float
    optimizer: str
    momentum: float
    batch_size: int
    max_iter: int
    num_reads: int
    phase_reads: int
    skip_correct: bool
    weight_clip: float | None
    bias_clip: float | None
    field_clip: float | None
    shuffle: bool
    verbose: int
    shift_augment: int = 0
    image_shape: tuple[int, int] | None = None
    step_scaling: str = "none"

    def step_sizes(self, epoch: int) -> tuple[float, float]:
        """``(weight, bias)`` learning rates of epoch ``epoch`` (0-based), decayed geometrically."""
        decay = self.learning_rate_decay**epoch
        return self.learning_rate * decay, self.bias_learning_rate * decay

    def weight_step_scales(self, layer_sizes: tuple[int, ...]) -> list[float]:
        """Factor on the weight step size of every weight matrix, from ``step_scaling``.

        ``weights[0]`` (fed by the real-valued inputs) keeps ``learning_rate``;
        ``weights[l]`` for ``l >= 1`` is fed by ``n = layer_sizes[l]`` spins, and
        with ``'fan-in'`` its step is ``min(1, 120 / n)`` times as large (so a
        unit's field moves per step about as much as in the reference 120-spin
        hidden layer, however wide the layer feeding it); ``'sqrt-fan-in'``
        uses ``min(1, sqrt(120 / n))``; ``'none'``: 1 everywhere.
        """
        scales = [1.0] * (len(layer_sizes) - 1)
        for layer in range(1, len(scales)):
            ratio = REFERENCE_FAN_IN / layer_sizes[layer]
            if self.step_scaling == "fan-in":
                scales[layer] = min(1.0, ratio)
            elif self.step_scaling == "sqrt-fan-in":
                scales[layer] = min(1.0, ratio**0.5)
        return scales


@dataclass
class StepRecord:
    """What one training step did and cost.

    Attributes
    ----------
    free : SpinSamples
        Free-phase samples, spins of shape (n_examples, n_reads, n_spins);
        the trainer's loss and accuracy are computed from them.
    solver_cost : dict of str to dict
        Additive solver costs per phase (``'free'``, ``'nudged'``):
        ``solver_seconds``, ``spin_updates`` and the solver's own entries.
    diagnostics : dict of str to dict
        Per phase, the solver's diagnostics averaged over the step's calls.
    backend_cost : list of dict
        Per layer ``l``, the additive cost of writing ``weights[l]`` and
        ``biases[l]`` (keys :data:`eqising.hardware.COST_KEYS`).
    """

    free: SpinSamples
    solver_cost: dict[str, dict[str, float]]
    diagnostics: dict[str, dict[str, float]] = field(default_factory=dict)
    backend_cost: list[dict[str, float]] = field(default_factory=list)


class TrainingEngine(abc.ABC):
    """Runs EqProp steps on minibatches and predicts.

    Attributes
    ----------
    network : LayeredIsingNetwork
        The network being trained; after every step it holds the weights
        the hardware holds (what the next step's solver sees).
    settings : TrainingSettings
    """

    network: LayeredIsingNetwork
    settings: TrainingSettings

    @property
    @abc.abstractmethod
    def description(self) -> str:
        """What relaxes the network, for summaries (e.g. ``'annealing'``)."""

    def prepare(  # noqa: B027 (an optional hook: most engines need nothing)
        self, X: np.ndarray, targets: np.ndarray, *, seed: int, learning_rates: tuple[float, float]
    ) -> None:
        """Look at the training data once before the first step (the estimator calls it at epoch 0).

        The default does nothing; the int8 device chooses there which weights
        its sparse update trains. Arguments as for :meth:`step`, with the whole
        training set.
        """

    @abc.abstractmethod
    def step(
        self, X: np.ndarray, targets: np.ndarray, *, seed: int, learning_rates: tuple[float, float]
    ) -> StepRecord:
        """One EqProp step on a minibatch; updates the weights.

        Parameters
        ----------
        X : ndarray of shape (n_examples, n_features)
        targets : ndarray of shape (n_examples, n_classes * replicas)
            +-1 output targets (:func:`~eqising.eqprop.one_hot_spins`).
        seed : int
            The step's seed in [0, 2**64); every random choice of the step
            derives from it (:mod:`eqising.seeding`).
        learning_rates : (float, float)
            Step sizes of the weights and of the biases for this step.
        """

    @abc.abstractmethod
    def scores(self, X: np.ndarray, *, num_reads: int, seed: int) -> np.ndarray:
        """Class scores of every example, ndarray of shape (n_examples, n_classes).

        Each example's reads derive from ``seed`` and the example's own
        values, so scores do not depend on batching.
        """

    def get_state(self) -> dict[str, np.ndarray]:
        """Training state beyond the network and the backend (e.g. optimizer moments), as named arrays.

        A checkpoint saves it; :meth:`set_state` on a freshly built engine
        restores it, so training continues bit-identically.
        """
        return {}

    def set_state(self, state: dict[str, np.ndarray]) -> None:
        """Restore what :meth:`get_state` returned."""
        if state:
            raise ValueError(f"{type(self).__name__} keeps no training state; got entries {sorted(state)}")

    def reads(self, X: np.ndarray, *, num_reads: int, seed: int) -> SpinSamples:
        """The free-phase reads that :meth:`scores` predicts from, with their energies.

        Parameters
        ----------
        X : ndarray of shape (n_examples, n_features)
        num_reads : int
        seed : int
            As for :meth:`scores` (the same seed gives the reads it used).

        Returns
        -------
        SpinSamples
            Spins of shape (n_examples, num_reads, n_spins), energies of shape
            (n_examples, num_reads).
        """
        raise NotImplementedError(f"{type(self).__name__} does not hand out its prediction reads")


class FloatEngine(TrainingEngine):
    """Solver + optimizer + weight backend: the engine of every backend that takes float updates.

    Parameters
    ----------
    network : LayeredIsingNetwork
    solver : Solver
    backend : WeightBackend
        Already programmed with the network's parameters.
    optimizer : Optimizer
        One learning rate per parameter array (weights, then biases).
    settings : TrainingSettings

    Attributes
    ----------
    fused : object or None
        The solver's compiled EqProp step (:meth:`Solver.fused_eqprop
        <eqising.solvers.Solver.fused_eqprop>`) when it offers one: :meth:`step`
        then calls it instead of :func:`~eqising.eqprop.eqprop_step` (same
        seed, same result).
    """

    def __init__(self, network: LayeredIsingNetwork, solver: Any, backend: Any, optimizer: Any,
                 settings: TrainingSettings) -> None:
        self.network, self.solver, self.backend = network, solver, backend
        self.optimizer, self.settings = optimizer, settings
        self.n_classes = network.spin_layer_sizes[-1] // settings.replicas
        self.weight_scales = settings.weight_step_scales(network.layer_sizes)
        offer = getattr(solver, "fused_eqprop", None)  # a solver's own compiled step, if it has one
        self.fused = None if offer is None else offer(
            network, nudge=settings.nudge, mode=settings.nudge_mode, num_reads=settings.phase_reads,
            skip_correct=settings.skip_correct,
        )

    @property
    def description(self) -> str:
        return getattr(self.solver, "name", type(self.solver).__name__)

    def step(
        self, X: np.ndarray, targets: np.ndarray, *, seed: int, learning_rates: tuple[float, float]
    ) -> StepRecord:
        s, net = self.settings, self.network
        nudge_targets = targets
        if s.balanced_nudge:  # the other classes' outputs pull 1/(n_classes - 1) as hard each
            nudge_targets = np.where(targets > 0, 1.0, -1.0 / (self.n_classes - 1))
        if self.fused is not None:
            step = self.fused.step(X, nudge_targets, seed=seed)
        else:
            step = eqprop_step(
                net, self.solver, X, nudge_targets, nudge=s.nudge, mode=s.nudge_mode, num_reads=s.phase_reads,
                seed=seed, skip_correct=s.skip_correct,
            )
        grads = step.weight_grads + step.bias_grads
        if len(X) < s.batch_size:  # a short last batch moves in proportion to its size
            grads = [g * (len(X) / s.batch_size) for g in grads]
        n = len(net.weights)
        self.optimizer.learning_rates = [learning_rates[0] * f for f in self.weight_scales] + [learning_rates[1]] * n
        costs = self.backend.apply_gradients(self.optimizer, grads)
        net.weights, net.biases = self.backend.effective_weights()
        return StepRecord(step.free, step.costs, step.diagnostics, costs)

    def get_state(self) -> dict[str, np.ndarray]:
        return self.optimizer.get_state()

    def set_state(self, state: dict[str, np.ndarray]) -> None:
        self.optimizer.set_state(state)

    def scores(self, X: np.ndarray, *, num_reads: int, seed: int) -> np.ndarray:
        net = self.network
        samples = self.solver.sample(net.ising_batch(X), num_reads=num_reads, seed=example_seeds(seed, X))
        return class_scores(samples, net.output_slice, self.n_classes, self.settings.replicas)

    def reads(self, X: np.ndarray, *, num_reads: int, seed: int) -> SpinSamples:
        return self.solver.sample(self.network.ising_batch(X), num_reads=num_reads, seed=example_seeds(seed, X))


def step_loss_and_correct(
    free: SpinSamples, targets: np.ndarray, y_index: np.ndarray, output: slice, n_classes: int, replicas: int
) -> tuple[float, float]:
    """Summed free-phase output cost ``1/2 ||target - s_out||^2 / n_out`` and number of correct examples.

    An example is correct when the class :func:`~eqising.eqprop.class_scores` ranks first is its label.
    """
    spins = np.ascontiguousarray(free.spins)
    if spins.dtype != np.int8:
        spins = spins.astype(np.int8)
    return _loss_and_correct(spins, np.ascontiguousarray(free.energies, dtype=np.float64),
                             np.ascontiguousarray(targets, dtype=np.float64), output.start, n_classes, replicas,
                             np.ascontiguousarray(y_index, dtype=np.int64))


@cached_njit(error_model="numpy")
def _loss_and_correct(spins, energies, targets, out_lo, n_classes, replicas, y_index):
    """The core of :func:`step_loss_and_correct`: class scores as :func:`~eqising.eqprop.class_scores` forms them."""
    n, R, _ = spins.shape
    n_out = n_classes * replicas
    loss, correct = 0.0, 0.0
    per_read = np.empty((R, n_classes))
    for e in range(n):
        cost = 0.0
        for r in range(R):
            for j in range(n_out):
                d = spins[e, r, out_lo + j] - targets[e, j]
                cost += 0.5 * d * d
        loss += cost / (R * n_out)
        best = 0
        for r in range(R):
            if energies[e, r] < energies[e, best]:
                best = r
            for k in range(n_classes):
                acc = 0.0
                for q in range(replicas):
                    acc += spins[e, r, out_lo + k * replicas + q]
                per_read[r, k] = acc / replicas
        top, top_score = 0, -np.inf
        for k in range(n_classes):
            mean = 0.0
            for r in range(R):
                mean += per_read[r, k]
            score = per_read[best, k] + 0.01 * (mean / R)
            if score > top_score:
                top, top_score = k, score
        correct += top == y_index[e]
    return loss, correct
