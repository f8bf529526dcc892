"""Shared machinery of pulsed device backends (ECRAM, CBRAM).

Every weight and every bias is one device around a reference: the network
value is ``scale * u`` with ``u`` the device value in the device's own units
(the aihwkit convention: a dimensionless weight whose symmetry point is 0).
``scale`` maps ``+-weight_clip`` (``+-bias_clip`` for biases) onto the
narrower side of the device range, so the whole clip range is reachable.

A desired change ``delta`` becomes a pulse train: ``n = |delta| / (scale *
nominal_step)`` pulses in the direction of ``delta``, stochastically rounded
(``floor(n)`` plus one more with probability ``n - floor(n)``), so the
expected number of pulses is exact. The controller knows only the nominal
step; what each pulse really does is the device model's business (state
dependence, asymmetry, device-to-device and cycle-to-cycle variation,
bounds). The pulse trains of all devices of a layer run in parallel, so a
layer's write time is its longest train times the pulse duration.

After every update the layer is read once (closed loop: the solver sees what
the devices hold, with read noise where the model has it); that read costs
``read_joules`` per device.

Initial programming (``program``) writes each device to the nearest value it
can hold (program-and-verify); its cost is not counted.
"""

from __future__ import annotations

import abc
import json
from typing import Any

import numpy as np

from .._validation import param_error
from ..seeding import generator
from .base import WeightBackend, zero_cost
from .pruning import Pruner, check_pruning_params
from .write_verify import WriteVerifyReport, write_verify

__all__ = ["PulsedBackend", "Tile"]


class Tile:
    """The devices of one parameter array (a weight matrix or a bias vector), flattened.

    Attributes
    ----------
    shape : tuple of int
        Shape of the network array.
    scale : float
        Network units per device unit.
    arrays : dict of str to ndarray of shape (n,)
        Device state and per-device parameters (model-specific keys).
    """

    def __init__(self, shape: tuple[int, ...], scale: float, arrays: dict[str, np.ndarray]) -> None:
        self.shape, self.scale, self.arrays = tuple(shape), float(scale), arrays

    @property
    def size(self) -> int:
        return int(np.prod(self.shape))


class PulsedBackend(WeightBackend):
    """Base class of backends whose weights are written by pulses.

    Subclasses define the device model through :meth:`_device_range`,
    :meth:`_nominal_steps`, :meth:`_new_devices`, :meth:`_pulse`,
    :meth:`_values` and :meth:`_read_energy`, and put the pruning parameters
    (:data:`~eqising.hardware.pruning.PRUNING_PARAMS`) and ``pulse_joules``,
    ``pulse_seconds`` among their :attr:`parameters`.
    """

    def _check_params(self, params: dict[str, Any]) -> dict[str, Any]:
        check_pruning_params(params, f"backend {self.name!r}")
        return params

    # ---------------------------------------------------------- device model
    @abc.abstractmethod
    def _device_range(self) -> tuple[float, float]:
        """Nominal ``(low, high)`` device values, ``low < 0 < high``."""

    @abc.abstractmethod
    def _nominal_steps(self) -> tuple[float, float]:
        """Expected change of a device value per up pulse and per down pulse (both > 0), as the controller assumes."""

    @abc.abstractmethod
    def _new_devices(self, target: np.ndarray, rng: np.random.Generator) -> dict[str, np.ndarray]:
        """Devices (state and per-device variation, drawn from ``rng``) programmed as close as they can to ``target``."""

    @abc.abstractmethod
    def _pulse(self, devices: dict[str, np.ndarray], idx: np.ndarray, up: bool, rng: np.random.Generator) -> int:
        """Apply one pulse to the devices ``idx``; return how many ended at a bound."""

    @abc.abstractmethod
    def _values(self, devices: dict[str, np.ndarray], rng: np.random.Generator) -> np.ndarray:
        """Device values as read (with read noise, if any), shape (n,)."""

    @abc.abstractmethod
    def _read_energy(self, devices: dict[str, np.ndarray]) -> float:
        """Energy in joules of reading every device once."""

    def _held_values(self, devices: dict[str, np.ndarray]) -> np.ndarray:
        """Device values as held, without read noise, shape (n,); override when reads are noisy."""
        return self._values(devices, self._rng)

    def write_verify(
        self,
        weights: list[np.ndarray],
        biases: list[np.ndarray],
        *,
        tolerance: float,
        max_pulses: int = 10_000,
        patience: int = 10,
        burst: bool = True,
        aim: str = "center",
        read_seconds: float = 1e-7,
    ) -> WriteVerifyReport:
        """Program the devices to ``weights`` and ``biases`` by pulse-read-repeat.

        See :func:`eqising.hardware.write_verify.write_verify` (this calls it
        with ``self``); the parameters the solver sees afterwards are
        :meth:`effective_weights`.
        """
        return write_verify(self, weights, biases, tolerance=tolerance, max_pulses=max_pulses, patience=patience,
                            burst=burst, aim=aim, read_seconds=read_seconds)

    # ------------------------------------------------------------- protocol
    def _program(
        self,
        weights: list[np.ndarray],
        biases: list[np.ndarray],
        *,
        weight_clip: float | None,
        bias_clip: float | None,
        seed: int,
    ) -> None:
        owner = f"backend {self.name!r}"
        for name, clip in (("weight_clip", weight_clip), ("bias_clip", bias_clip)):
            if clip is None:
                raise param_error(name, owner, "a float > 0 (it maps onto the device range)", None)
        d2d = generator(seed, "device-variation")  # device-to-device variation: a function of the seed alone
        self._rng = generator(seed, "device-noise")  # cycle-to-cycle and read noise, stochastic rounding
        low, high = self._device_range()
        reach = min(-low, high)
        self._tiles: list[tuple[Tile, Tile]] = []
        for W, b in zip(weights, biases):
            pair = []
            for values, clip in ((W, weight_clip), (b, bias_clip)):
                scale = clip / reach
                target = np.asarray(values, dtype=np.float64).ravel() / scale
                pair.append(Tile(np.shape(values), scale, self._new_devices(target, d2d)))
            self._tiles.append((pair[0], pair[1]))
        p = self.params
        self._pruners: list[Pruner] | None = None
        if p["pruning"] is not None:
            self._pruners = [
                Pruner(t.size, p["prune_ratio"], p["prune_start"], p["prune_window"], p["prune_step"])
                for t, _ in self._tiles
            ]

    def effective_weights(self) -> tuple[list[np.ndarray], list[np.ndarray]]:
        out: tuple[list[np.ndarray], list[np.ndarray]] = ([], [])
        for layer, tiles in enumerate(self._tiles):
            for i, tile in enumerate(tiles):
                value = tile.scale * self._values(tile.arrays, self._rng)
                if i == 0 and self._pruners is not None and self.params["pruning"] == "hard":
                    value[self._pruners[layer].frozen] = 0.0
                out[i].append(value.reshape(tile.shape))
        return out

    def _apply(self, layer: int, weight_delta: np.ndarray, bias_delta: np.ndarray) -> dict[str, float]:
        cost = zero_cost()
        up_step, down_step = self._nominal_steps()
        longest = 0
        for i, (tile, delta) in enumerate(zip(self._tiles[layer], (weight_delta, bias_delta))):
            d = np.asarray(delta, dtype=np.float64).ravel() / tile.scale
            up = d > 0
            expected = np.abs(d) / np.where(up, up_step, down_step)
            counts = np.floor(expected)
            counts += self._rng.random(counts.shape) < expected - counts
            counts = counts.astype(np.int64)
            if i == 0 and self._pruners is not None:
                pruner = self._pruners[layer]
                frozen = pruner.frozen
                cost["pulses_skipped"] += float(counts[frozen].sum())
                counts[frozen] = 0
                pruner.observe(np.where(frozen, 0.0, expected))
            cost["pulses"] += float(counts.sum())
            n_max = int(counts.max(initial=0))
            longest = max(longest, n_max)
            for k in range(n_max):
                firing = counts > k
                for direction in (True, False):
                    idx = np.flatnonzero(firing & (up == direction))
                    if idx.size:
                        cost["saturations"] += self._pulse(tile.arrays, idx, direction, self._rng)
            cost["read_joules"] += self._read_energy(tile.arrays)
        cost["write_joules"] = cost["pulses"] * self.params["pulse_joules"]
        cost["energy_joules"] = cost["write_joules"] + cost["read_joules"]
        cost["write_seconds"] = longest * self.params["pulse_seconds"]
        return cost

    def diagnostics(self) -> dict[str, Any]:
        n_weights = sum(t.size for t, _ in self._tiles)
        out: dict[str, Any] = {"n_weights": n_weights, "n_devices": n_weights + sum(b.size for _, b in self._tiles)}
        if self._pruners is not None:
            frozen = [int(p.frozen.sum()) for p in self._pruners]
            out["pruning"] = self.params["pruning"]
            out["frozen_fraction"] = sum(frozen) / n_weights
            out["frozen_fraction_per_layer"] = [f / t.size for f, (t, _) in zip(frozen, self._tiles)]
        return out

    def state(self) -> dict[str, np.ndarray]:
        out = {"rng": np.array(json.dumps(self._rng.bit_generator.state))}
        for layer, tiles in enumerate(self._tiles):
            for kind, tile in zip(("weight", "bias"), tiles):
                for key, value in tile.arrays.items():
                    out[f"{layer}.{kind}.{key}"] = value.copy()
            if self._pruners is not None:
                for key, value in self._pruners[layer].state().items():
                    out[f"{layer}.pruner.{key}"] = value
        return out

    def load_state(self, state: dict[str, np.ndarray]) -> None:
        self._rng.bit_generator.state = json.loads(str(state["rng"]))
        for layer, tiles in enumerate(self._tiles):
            for kind, tile in zip(("weight", "bias"), tiles):
                for key in tile.arrays:
                    tile.arrays[key] = np.array(state[f"{layer}.{kind}.{key}"], dtype=tile.arrays[key].dtype)
            if self._pruners is not None:
                prefix = f"{layer}.pruner."
                self._pruners[layer].load_state({k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)})
