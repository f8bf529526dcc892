"""The int8 device engine: EqProp steps run by the microcontroller itself.

:class:`Int8DeviceEngine` is the :class:`~eqising.engine.TrainingEngine` of
the ``mcu-int8`` backend: each minibatch goes to the device
(:meth:`McuInt8Backend.train_step <eqising.hardware.mcu.McuInt8Backend.train_step>`),
which anneals the free phase, reverse-anneals the nudged phase and updates
its int8 weights in integer arithmetic, bit for bit as the exported C library
does; prediction is the device's integer inference. Its schedule is the shared
anneal schedule quantised (:mod:`eqising.solvers.schedule`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ...engine import StepRecord, TrainingEngine, TrainingSettings
from ...network import LayeredIsingNetwork
from ...solvers import SpinSamples

__all__ = ["Int8DeviceEngine"]

#: The device's step seed is a uint32.
_SEED_MASK = 0xFFFFFFFF


class Int8DeviceEngine(TrainingEngine):
    """Training on the int8 device: its own annealer and update.

    Parameters
    ----------
    network : LayeredIsingNetwork
        Holds the dequantised weights after every step.
    backend : McuInt8Backend
        Already programmed.
    settings : TrainingSettings
    """

    def __init__(self, network: LayeredIsingNetwork, backend: Any, settings: TrainingSettings) -> None:
        self.network, self.backend, self.settings = network, backend, settings
        self.n_classes = network.spin_layer_sizes[-1] // settings.replicas

    @property
    def description(self) -> str:
        return f"{self.backend.name} integer annealer (in situ)"

    def step(
        self, X: np.ndarray, targets: np.ndarray, *, seed: int, learning_rates: tuple[float, float]
    ) -> StepRecord:
        s = self.settings
        # the device averages over the examples it holds: a short last batch moves in proportion to its size
        # (as in the float engine), instead of taking a full step from a handful of examples
        share = min(1.0, len(X) / s.batch_size)
        free, energies, costs, phases = self.backend.train_step(
            X, targets, nudge=s.nudge, learning_rate=learning_rates[0] * share,
            bias_learning_rate=learning_rates[1] * share,
            skip_correct=s.skip_correct, seed=int(seed) & _SEED_MASK,
        )
        self.network.weights, self.network.biases = self.backend.effective_weights()
        return StepRecord(SpinSamples(free, energies), phases, {}, costs)

    def prepare(
        self, X: np.ndarray, targets: np.ndarray, *, seed: int, learning_rates: tuple[float, float]
    ) -> None:
        """Before the first step: let the device choose its sparse update on the training data (if it has one)."""
        s = self.settings
        self.backend.choose_sparse_update(
            X, targets, nudge=s.nudge, learning_rate=learning_rates[0], bias_learning_rate=learning_rates[1],
            skip_correct=s.skip_correct, seed=int(seed),
        )

    def scores(self, X: np.ndarray, *, num_reads: int, seed: int) -> np.ndarray:
        return self.backend.scores(X, num_reads=num_reads, seed=seed, n_classes=self.n_classes)

    def reads(self, X: np.ndarray, *, num_reads: int, seed: int) -> SpinSamples:
        spins, energies = self.backend.reads(X, num_reads=num_reads, seed=seed)
        return SpinSamples(spins, energies)
