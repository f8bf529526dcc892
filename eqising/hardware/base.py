"""The weight-backend protocol: how the trainer writes weights into hardware.

A :class:`WeightBackend` holds a network's weights and biases in a device
representation (float, pulsed analog devices, few-level stochastic devices,
int8 registers). It declares the training settings it requires
(:attr:`WeightBackend.requirements`) and builds the engine that trains on it
(:meth:`WeightBackend.training_engine`): by default the float engine
(solver + optimizer + :meth:`~WeightBackend.apply`); a device that trains in
situ returns its own. The float engine talks to it only through four calls:

1. :meth:`WeightBackend.program` once, with the initial parameters;
2. :meth:`WeightBackend.apply_gradients` per step, with the optimizer and the
   step's gradients: by default the optimizer's *desired* additive changes
   (:meth:`~eqising.optim.Optimizer.deltas`) go to :meth:`WeightBackend.apply`
   layer by layer, which turns them into device actions and returns what they
   cost (the float ``ideal`` backend lets the optimizer move its arrays in one
   pass instead);
3. :meth:`WeightBackend.effective_weights` after every step: the weights the
   devices actually hold, which the solver then sees (closed loop);
4. :meth:`WeightBackend.diagnostics` for reports.

Layer ``l`` is the pair the network indexes the same way
(:class:`~eqising.network.LayeredIsingNetwork`): ``weights[l]`` of shape
(n_l, n_{l+1}) (``l = 0`` couples the clamped input to the first spin layer)
and ``biases[l]`` of shape (n_{l+1},), the bias of the spin layer that
``weights[l]`` feeds.
"""

from __future__ import annotations

import abc
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np

from .._validation import Described, check_finite_array, check_int, check_keys, param_error

__all__ = ["COST_KEYS", "WeightBackend", "zero_cost"]

#: Keys of every cost record :meth:`WeightBackend.apply` returns, all additive:
#: ``pulses`` write pulses (or int8 steps/bits) sent to devices; ``pulses_skipped``
#: pulses not sent because the weight is pruned or frozen; ``saturations``
#: pulses that ended at a device bound (the step was cut); ``write_joules`` and
#: ``read_joules`` energy of writing and of the closed-loop read of the layer;
#: ``energy_joules`` their sum; ``write_seconds`` time of the pulse trains.
COST_KEYS = (
    "pulses",
    "pulses_skipped",
    "saturations",
    "write_joules",
    "read_joules",
    "energy_joules",
    "write_seconds",
)


def zero_cost() -> dict[str, float]:
    """A cost record with every key of :data:`COST_KEYS` at zero."""
    return {key: 0.0 for key in COST_KEYS}


class WeightBackend(abc.ABC):
    """Base class of weight backends.

    Subclasses set :attr:`name` and :attr:`parameters` (the keyword arguments
    the constructor accepts, with their defaults) and implement the abstract
    methods. The constructor rejects unknown keywords and validates through
    :meth:`_check_params`, as :class:`~eqising.solvers.Solver` does.

    Parameters
    ----------
    **params
        Backend parameters (``backend_params`` of the estimator).
    """

    name: ClassVar[str]
    parameters: ClassVar[dict[str, Any]]
    #: Training settings this backend requires, as estimator parameter names and values (for
    #: example an int8 device: ``{'optimizer': 'sgd', 'nudge_mode': 'positive', 'solver': None, ...}``,
    #: ``'solver': None`` meaning it uses no solver). Settings left at their automatic default
    #: follow these; an explicit conflicting choice is an error.
    requirements: ClassVar[dict[str, Any]] = {}
    #: Values this backend suggests for settings left at ``'auto'`` (e.g. ``{'learning_rate': 0.02}``);
    #: unlike :attr:`requirements`, an explicit choice overrides them.
    defaults: ClassVar[dict[str, Any]] = {}

    def __init__(self, **params: Any) -> None:
        params = check_keys(params, "backend_params", f"backend {self.name!r}", self.parameters)
        self._given = dict(params)  # as passed: get_params returns these very objects (scikit-learn's clone)
        self.params = self._check_params({**self.parameters, **params})

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """Constructor parameters as given (defaults filled in), as scikit-learn's ``get_params``."""
        return {**self.parameters, **self._given}

    def set_params(self, **params: Any) -> WeightBackend:
        """Change constructor parameters (validated as by the constructor); return ``self``."""
        fresh = type(self)(**{**self._given, **params})  # validated first: a refused value changes nothing
        self.__dict__.update(fresh.__dict__)
        return self

    def training_engine(self, network: Any, solver: Any, optimizer: Any, settings: Any) -> Any:
        """The :class:`~eqising.engine.TrainingEngine` that trains a network held by this backend.

        The default is the float engine: ``solver`` relaxes the network,
        ``optimizer`` turns the EqProp gradient into desired changes, and
        :meth:`apply` writes them. A device that runs whole steps itself
        overrides this (and declares ``'solver': None`` in :attr:`requirements`).

        Parameters
        ----------
        network : LayeredIsingNetwork
        solver : Solver or None
        optimizer : Optimizer
        settings : TrainingSettings
        """
        from ..engine import FloatEngine

        return FloatEngine(network, solver, self, optimizer, settings)

    def _check_params(self, params: dict[str, Any]) -> dict[str, Any]:
        """Validate constructor parameters; return them normalised."""
        return params

    def program(
        self,
        weights: list[np.ndarray],
        biases: list[np.ndarray],
        *,
        weight_clip: float | None,
        bias_clip: float | None,
        seed: int,
        field_clip: float | None = 4.0,
        batch_size: int = 1,
    ) -> None:
        """Initial write of the network's parameters.

        Parameters
        ----------
        weights : list of ndarray
            ``weights[l]`` of shape (n_l, n_{l+1}).
        biases : list of ndarray
            ``biases[l]`` of shape (n_{l+1},).
        weight_clip, bias_clip : float or None
            Magnitude limits of weights and biases (``None``: none); device
            backends map ``+-clip`` onto their conductance range.
        seed : int
            Seeds device-to-device variation and every later random draw
            (stochastic rounding, cycle-to-cycle and read noise).
        field_clip : float or None, default=4.0
            Magnitude limit of the programmed fields (a device that computes
            fields itself clips them there); kept as :attr:`field_clip`.
        batch_size : int, default=1
            Examples per training step (a device sizes its scratch memory by
            it); kept as :attr:`batch_size`.
        """
        owner = f"backend {self.name!r}.program"
        weights = [check_finite_array(W, "weights", owner, ndim=2) for W in weights]
        biases = [check_finite_array(b, "biases", owner, shape=(W.shape[1],)) for W, b in zip(weights, biases)]
        self._shapes = [(W.shape, b.shape) for W, b in zip(weights, biases)]
        self._grad_shapes = [w for w, _ in self._shapes] + [b for _, b in self._shapes]
        self.field_clip = field_clip
        self.batch_size = check_int(batch_size, "batch_size", owner, low=1)
        self._program(weights, biases, weight_clip=weight_clip, bias_clip=bias_clip, seed=seed)

    @abc.abstractmethod
    def _program(
        self,
        weights: list[np.ndarray],
        biases: list[np.ndarray],
        *,
        weight_clip: float | None,
        bias_clip: float | None,
        seed: int,
    ) -> None:
        """Write the parameters into the device representation (called by :meth:`program`)."""

    @abc.abstractmethod
    def effective_weights(self) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """The weights and biases the solver sees (fresh arrays, the shapes of :meth:`program`'s)."""

    def apply(self, layer: int, weight_delta: np.ndarray, bias_delta: np.ndarray) -> dict[str, float]:
        """Write the desired additive change of layer ``layer``.

        Parameters
        ----------
        layer : int
            Index ``l`` of ``weights[l]`` and ``biases[l]``.
        weight_delta : ndarray of shape (n_l, n_{l+1})
        bias_delta : ndarray of shape (n_{l+1},)

        Returns
        -------
        dict of str to float
            The additive cost of this write, keys :data:`COST_KEYS`.

        Raises
        ------
        InvalidParameterError
            For a layer out of range, or deltas of another shape or not finite
            (a device must never be driven by NaN).
        """
        owner = f"backend {self.name!r}.apply"
        layer = check_int(layer, "layer", owner, low=0, high=len(self._shapes) - 1)
        w_shape, b_shape = self._shapes[layer]
        weight_delta = check_finite_array(weight_delta, "weight_delta", owner, shape=w_shape)
        bias_delta = check_finite_array(bias_delta, "bias_delta", owner, shape=b_shape)
        return self._apply(layer, weight_delta, bias_delta)

    def apply_gradients(self, optimizer: Any, grads: Sequence[np.ndarray]) -> list[dict[str, float]]:
        """Write one training step: the optimizer's desired changes of the gradients, layer by layer.

        The default calls ``optimizer.deltas(grads)`` and :meth:`apply` for
        every layer; a backend may do the same in fewer passes (the same result).

        Parameters
        ----------
        optimizer : Optimizer
            Turns the gradients into desired changes (and keeps its moments).
        grads : sequence of ndarray
            The gradients of ``weights[0..L-1]``, then of ``biases[0..L-1]``, of
            the shapes :meth:`program` was given.

        Returns
        -------
        list of dict of str to float
            Per layer, the cost record of :meth:`apply`.

        Raises
        ------
        InvalidParameterError
            For gradients of other number or shapes, or not finite (nothing is written).
        """
        owner = f"backend {self.name!r}.apply_gradients"
        self._check_gradients(grads)
        grads = [check_finite_array(g, "grads", owner, dtype=None) for g in grads]
        n = len(self._shapes)
        deltas = optimizer.deltas(grads)
        for i, d in enumerate(deltas):  # every layer's change checked before the first is written
            check_finite_array(d, "weight_delta" if i < n else "bias_delta", owner, dtype=None)
        return [self.apply(layer, deltas[layer], deltas[n + layer]) for layer in range(n)]

    def _check_gradients(self, grads: Sequence[np.ndarray]) -> None:
        """Refuse gradients whose number or shapes are not those of :meth:`program`'s arrays."""
        got = [g.shape if type(g) is np.ndarray else np.shape(g) for g in grads]
        if got != self._grad_shapes:
            raise param_error("grads", f"backend {self.name!r}.apply_gradients",
                              f"a list of arrays of shapes {self._grad_shapes}", Described(f"shapes {got}"))

    @abc.abstractmethod
    def _apply(self, layer: int, weight_delta: np.ndarray, bias_delta: np.ndarray) -> dict[str, float]:
        """Write a validated change (called by :meth:`apply`); return its cost record."""

    def diagnostics(self) -> dict[str, Any]:
        """State worth reporting (e.g. fraction of weights frozen, devices at a bound)."""
        return {}

    def state(self) -> dict[str, np.ndarray]:
        """Arrays that, with the parameters and :meth:`program`'s arguments, restore the devices.

        Saved with a model; :meth:`load_state` after :meth:`program` restores
        the backend, so a loaded model continues training on the same devices.
        """
        return {}

    def load_state(self, state: dict[str, np.ndarray]) -> None:  # noqa: B027 (optional hook)
        """Restore what :meth:`state` returned (called after :meth:`program`)."""

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self._given.items() if v is not self.parameters.get(k))
        return f"{type(self).__name__}({args})"
