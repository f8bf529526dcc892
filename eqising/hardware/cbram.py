"""The ``cbram`` backend: few-level stochastic subquantum CBRAM devices, with optional pruning.

Each weight and bias is one CBRAM cell read against a mid-range reference. A
cell holds one of ``n_levels`` conductances equally spaced in ``[g_min,
g_max]``, all below the conductance quantum ``G0 = 2 e^2 / h = 77.5 uS``
(subquantum operation: Jameson et al., IEEE EDL 33, 257 (2012); Shi et al.,
Nat. Commun. 9, 5312 (2018)). Its device value is ``u = 2 k / (n_levels - 1) - 1``
for level ``k``, in ``[-1, 1]``.

- **SET** (potentiation, up pulses) is gradual and probabilistic: a pulse
  raises the level by one with probability ``p_set`` (the filament may or
  may not grow).
- **RESET** (depression, down pulses) is abrupt and larger: a pulse drops
  the level by ``reset_levels`` with probability ``p_reset``.
- A pulse at the top or bottom level (or a RESET cut short by the bottom) is
  a saturation.
- Device-to-device variation: each cell's ``p_set`` and ``p_reset`` are
  multiplied by ``exp(p_dtod * xi)`` (clipped to 1), drawn once from the seed.

The controller sizes pulse trains with the nominal expected steps
``p_set * dG`` (up) and ``p_reset * reset_levels * dG`` (down), ``dG`` the
level spacing in device units, so the expected change equals the desired one
away from the bounds.

Cell levels, probabilities and energies of the papers were not available
(the defaults are assumptions within the ranges they report: few levels,
stochastic gradual SET, abrupt RESET). Energy per pulse: ``1 V x 1 uA x
100 ns = 0.1 pJ`` (a subquantum current well below ``G0 x 1 V``), pulse
duration 100 ns; reads cost ``V_read^2 G t_read`` per cell with the cell's
own conductance.

Soft-pruning (``pruning='soft'``) freezes matured weights at their value;
they receive no more pulses (counted as ``pulses_skipped``). ``'hard'``
removes them (effective value 0). See :mod:`eqising.hardware.pruning`.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from .._validation import check_float, check_int, param_error
from .pruning import PRUNING_PARAMS
from .pulsed import PulsedBackend

__all__ = ["CONDUCTANCE_QUANTUM", "CbramBackend"]

#: ``2 e^2 / h`` in siemens.
CONDUCTANCE_QUANTUM = 7.748091729e-5


class CbramBackend(PulsedBackend):
    """Subquantum CBRAM crossbar: few-level cells, probabilistic SET, abrupt RESET.

    Parameters
    ----------
    n_levels : int >= 2, default=33
        Conductance levels per cell.
    g_min, g_max : float, default=1e-6, 40e-6
        Lowest and highest conductance in siemens, ``0 <= g_min < g_max < G0``.
    p_set : float in (0, 1], default=0.5
        Probability that a SET pulse raises the level by one.
    p_reset : float in (0, 1], default=0.9
        Probability that a RESET pulse drops the level by ``reset_levels``.
    reset_levels : int >= 1, default=2
        Levels lost by one successful RESET.
    p_dtod : float >= 0, default=0.1
        Device-to-device spread (log-normal) of both probabilities.
    pulse_joules, pulse_seconds : float >= 0, default=1e-13, 1e-7
        Energy and duration of one write pulse.
    read_volts, read_seconds : float >= 0, default=0.1, 1e-7
        Read voltage and duration (read energy ``V^2 G t`` per cell).
    pruning, prune_ratio, prune_start, prune_window, prune_step
        See :mod:`eqising.hardware.pruning` (default: no pruning).
    """

    name: ClassVar[str] = "cbram"
    parameters: ClassVar[dict[str, Any]] = {
        "n_levels": 33,
        "g_min": 1e-6,
        "g_max": 40e-6,
        "p_set": 0.5,
        "p_reset": 0.9,
        "reset_levels": 2,
        "p_dtod": 0.1,
        "pulse_joules": 1e-13,
        "pulse_seconds": 1e-7,
        "read_volts": 0.1,
        "read_seconds": 1e-7,
        **PRUNING_PARAMS,
    }

    def _check_params(self, params: dict[str, Any]) -> dict[str, Any]:
        owner = f"backend {self.name!r}"
        params["n_levels"] = check_int(params["n_levels"], "n_levels", owner, low=2)
        params["reset_levels"] = check_int(params["reset_levels"], "reset_levels", owner, low=1)
        for key in ("p_set", "p_reset"):
            params[key] = check_float(params[key], key, owner, low=0.0, high=1.0, low_open=True)
        for key in ("g_min", "g_max", "p_dtod", "pulse_joules", "pulse_seconds", "read_volts", "read_seconds"):
            params[key] = check_float(params[key], key, owner, low=0.0)
        if not params["g_min"] < params["g_max"] < CONDUCTANCE_QUANTUM:
            raise param_error(
                "g_max", owner,
                f"> g_min ({params['g_min']}) and below the conductance quantum {CONDUCTANCE_QUANTUM:.4g} S",
                params["g_max"],
            )
        return super()._check_params(params)

    @property
    def _level_step(self) -> float:
        return 2.0 / (self.params["n_levels"] - 1)

    def _device_range(self) -> tuple[float, float]:
        return -1.0, 1.0

    def _nominal_steps(self) -> tuple[float, float]:
        p = self.params
        return p["p_set"] * self._level_step, p["p_reset"] * p["reset_levels"] * self._level_step

    def _new_devices(self, target: np.ndarray, rng: np.random.Generator) -> dict[str, np.ndarray]:
        p, n = self.params, target.size
        xi = rng.standard_normal((2, n))
        level = np.clip(np.rint((target + 1.0) / self._level_step), 0, p["n_levels"] - 1)
        return {
            "level": level.astype(np.int64),
            "p_set": np.minimum(p["p_set"] * np.exp(p["p_dtod"] * xi[0]), 1.0),
            "p_reset": np.minimum(p["p_reset"] * np.exp(p["p_dtod"] * xi[1]), 1.0),
        }

    def _pulse(self, devices: dict[str, np.ndarray], idx: np.ndarray, up: bool, rng: np.random.Generator) -> int:
        level = devices["level"][idx]
        accepted = rng.random(idx.size) < devices["p_set" if up else "p_reset"][idx]
        if up:
            top = self.params["n_levels"] - 1
            saturated = int(np.count_nonzero(level == top))
            level = np.where(accepted, np.minimum(level + 1, top), level)
        else:
            drop = self.params["reset_levels"]
            saturated = int(np.count_nonzero(level - drop < 0))
            level = np.where(accepted, np.maximum(level - drop, 0), level)
        devices["level"][idx] = level
        return saturated

    def _values(self, devices: dict[str, np.ndarray], rng: np.random.Generator) -> np.ndarray:
        return devices["level"] * self._level_step - 1.0

    def conductances(self, devices: dict[str, np.ndarray]) -> np.ndarray:
        """Conductance in siemens of every cell of a tile, shape (n,)."""
        p = self.params
        return p["g_min"] + devices["level"] / (p["n_levels"] - 1) * (p["g_max"] - p["g_min"])

    def _read_energy(self, devices: dict[str, np.ndarray]) -> float:
        p = self.params
        return float(p["read_volts"] ** 2 * p["read_seconds"] * self.conductances(devices).sum())
