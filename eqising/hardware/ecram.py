"""The ``ecram`` backend: pulsed ECRAM devices with the aihwkit LinearStep update rule.

One pulse moves a device value ``w`` (aihwkit units, symmetry point 0) by::

    up:    w += dw_up   * (1 - gamma_up   * w / w_max) * (1 + c2c * xi)
    down:  w -= dw_down * (1 - gamma_down * w / w_min) * (1 + c2c * xi)

then clips it to the device's own bounds ``[b_min, b_max]`` (IBM aihwkit
``LinearStepDevice`` with ``mult_noise=True`` and ``mean_bound_reference=True``,
as its ECRAM presets use; ``xi ~ N(0, 1)`` fresh per pulse). ``gamma = 1``
is the soft-bounds model, ``gamma = 0`` a constant step. Device-to-device
variation is drawn once per device from the seed, as aihwkit does::

    g = 1 + dw_min_dtod * xi1,   r = up_down_dtod * xi2
    dw_up = |g + r| * dw_min,    dw_down = |g - r| * dw_min
    b_max = w_max * (1 + bound_dtod * xi3),   b_min = w_min * (1 + bound_dtod * xi4)
    gamma_up = |gamma_up + gamma_dtod * xi5|, gamma_down = |gamma_down + gamma_dtod * xi6|

Reads add ``read_noise * dw_min * xi`` (fresh per read) to the value.

Presets (:data:`ECRAM_PRESETS`; device parameters as in aihwkit 1.2.0
``simulator/presets/devices.py``):

- ``'li'`` (default): ``EcRamPresetDevice``, Li-ion ECRAM fitted to Tang et
  al., IEDM 2018 (~1000 states).
- ``'metal-oxide'``: ``EcRamMOPresetDevice``, metal-oxide ECRAM fitted to Kim
  et al., IEDM 2019 (~7000 states, 200 % cycle-to-cycle noise).
- ``'organic'``: an organic ECRAM with ~500 states in ``[-1, 1]`` after the
  ENODe of van de Burgt et al., Nat. Mater. 16, 414 (2017) (>500 states,
  < 10 pJ per switching event) used for in-situ training by van Doremaele et
  al., Sci. Adv. 10, eado8999 (2024). Its nonlinearity (gamma 0.5) and
  variation (10 %) are our assumptions, not fitted values.

Energy and time per pulse: ``pulse_joules`` 10 pJ for ``'organic'`` (the ENODe
figure); for ``'li'`` and ``'metal-oxide'`` 1 pJ is an assumption (``E = V I t``
with 1 V, 1 uA, 1 us; no per-pulse energy was verified). ``pulse_seconds``
10 ns for ``'metal-oxide'`` (IBM 2019 reports 10 ns write pulses), 1 us
assumed for the others. ``read_joules`` per device read: 10 fJ, from
``V_read^2 G t_read`` = (0.1 V)^2 x 10 uS x 100 ns. Override any of them in
``backend_params``.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from .._validation import check_choice, check_float, param_error
from .pruning import PRUNING_PARAMS
from .pulsed import PulsedBackend

__all__ = ["ECRAM_PRESETS", "EcramBackend"]

_VARIATION = {"dw_min_dtod": 0.1, "up_down_dtod": 0.01, "bound_dtod": 0.05, "gamma_dtod": 0.05}

#: Device parameters of the presets (see the module docstring for sources).
ECRAM_PRESETS: dict[str, dict[str, float]] = {
    "li": {
        "dw_min": 0.002, "w_min": -0.8276, "w_max": 1.1724, "gamma_up": 0.1153, "gamma_down": 0.5085,
        "c2c": 0.3, **_VARIATION, "pulse_joules": 1e-12, "pulse_seconds": 1e-6,
    },
    "metal-oxide": {
        "dw_min": 2.8214e-4, "w_min": -0.8286, "w_max": 1.1714, "gamma_up": 0.4152, "gamma_down": 0.7342,
        "c2c": 2.0, **_VARIATION, "pulse_joules": 1e-12, "pulse_seconds": 1e-8,
    },
    "organic": {
        "dw_min": 0.004, "w_min": -1.0, "w_max": 1.0, "gamma_up": 0.5, "gamma_down": 0.5,
        "c2c": 0.1, "dw_min_dtod": 0.1, "up_down_dtod": 0.01, "bound_dtod": 0.05, "gamma_dtod": 0.05,
        "pulse_joules": 1e-11, "pulse_seconds": 1e-6,
    },
}

_DEVICE_KEYS = tuple(ECRAM_PRESETS["li"])


class EcramBackend(PulsedBackend):
    """ECRAM crossbar: one LinearStep device per weight and bias, written by pulse trains.

    Parameters
    ----------
    preset : {'li', 'metal-oxide', 'organic'}, default='li'
        Device parameter set; every entry below left as ``None`` takes the
        preset's value.
    dw_min : float > 0
        Nominal step per pulse (device units).
    w_min, w_max : float, w_min < 0 < w_max
        Nominal device bounds.
    gamma_up, gamma_down : float >= 0
        LinearStep nonlinearity (1: soft bounds; 0: constant step).
    c2c : float >= 0
        Cycle-to-cycle (pulse-to-pulse) relative step noise.
    dw_min_dtod, up_down_dtod, bound_dtod, gamma_dtod : float >= 0
        Device-to-device variation of the step, of the up/down balance, of
        the bounds and of gamma.
    read_noise : float >= 0, default=0.0
        Read noise in units of ``dw_min`` (fresh per read).
    pulse_joules, pulse_seconds : float >= 0
        Energy and duration of one write pulse.
    read_joules : float >= 0, default=1e-14
        Energy of one device read.
    pruning, prune_ratio, prune_start, prune_window, prune_step
        See :mod:`eqising.hardware.pruning` (default: no pruning).
    """

    name: ClassVar[str] = "ecram"
    parameters: ClassVar[dict[str, Any]] = {
        "preset": "li",
        **{key: None for key in _DEVICE_KEYS},
        "read_noise": 0.0,
        "read_joules": 1e-14,
        **PRUNING_PARAMS,
    }

    def _check_params(self, params: dict[str, Any]) -> dict[str, Any]:
        owner = f"backend {self.name!r}"
        preset = ECRAM_PRESETS[check_choice(params["preset"], "preset", owner, ECRAM_PRESETS)]
        for key in _DEVICE_KEYS:
            value = preset[key] if params[key] is None else params[key]
            low_open = key == "dw_min"
            if key in ("w_min", "w_max"):
                params[key] = check_float(value, key, owner)
            else:
                params[key] = check_float(value, key, owner, low=0.0, low_open=low_open)
        if not params["w_min"] < 0.0 < params["w_max"]:
            raise param_error(
                "w_min", owner, f"< 0 < w_max (bounds in order around the symmetry point; w_max is {params['w_max']})",
                params["w_min"],
            )
        for key in ("read_noise", "read_joules"):
            params[key] = check_float(params[key], key, owner, low=0.0)
        return super()._check_params(params)

    def _device_range(self) -> tuple[float, float]:
        return self.params["w_min"], self.params["w_max"]

    def _nominal_steps(self) -> tuple[float, float]:
        return self.params["dw_min"], self.params["dw_min"]

    def _new_devices(self, target: np.ndarray, rng: np.random.Generator) -> dict[str, np.ndarray]:
        p, n = self.params, target.size
        xi = rng.standard_normal((6, n))
        g = 1.0 + p["dw_min_dtod"] * xi[0]
        r = p["up_down_dtod"] * xi[1]
        b_max = p["w_max"] * (1.0 + p["bound_dtod"] * xi[2])
        b_min = p["w_min"] * (1.0 + p["bound_dtod"] * xi[3])
        lo, hi = np.minimum(b_min, b_max), np.maximum(b_min, b_max)
        return {
            "w": np.clip(target, lo, hi),
            "dw_up": np.abs(g + r) * p["dw_min"],
            "dw_down": np.abs(g - r) * p["dw_min"],
            "b_min": lo,
            "b_max": hi,
            "gamma_up": np.abs(p["gamma_up"] + p["gamma_dtod"] * xi[4]),
            "gamma_down": np.abs(p["gamma_down"] + p["gamma_dtod"] * xi[5]),
        }

    def _pulse(self, devices: dict[str, np.ndarray], idx: np.ndarray, up: bool, rng: np.random.Generator) -> int:
        p, w = self.params, devices["w"][idx]
        noise = 1.0 + p["c2c"] * rng.standard_normal(idx.size) if p["c2c"] else 1.0
        if up:
            w = w + devices["dw_up"][idx] * (1.0 - devices["gamma_up"][idx] * w / p["w_max"]) * noise
        else:
            w = w - devices["dw_down"][idx] * (1.0 - devices["gamma_down"][idx] * w / p["w_min"]) * noise
        lo, hi = devices["b_min"][idx], devices["b_max"][idx]
        saturated = int(np.count_nonzero((w < lo) | (w > hi)))
        devices["w"][idx] = np.clip(w, lo, hi)
        return saturated

    def _values(self, devices: dict[str, np.ndarray], rng: np.random.Generator) -> np.ndarray:
        w = devices["w"]
        if self.params["read_noise"]:
            return w + self.params["read_noise"] * self.params["dw_min"] * rng.standard_normal(w.size)
        return w.copy()

    def _held_values(self, devices: dict[str, np.ndarray]) -> np.ndarray:
        return devices["w"].copy()

    def _read_energy(self, devices: dict[str, np.ndarray]) -> float:
        return devices["w"].size * self.params["read_joules"]
