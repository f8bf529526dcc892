"""Write-verify programming of a pulsed crossbar: pulse, read, repeat until within a tolerance.

This is how weights trained elsewhere (on a computer, the ``ideal`` backend)
are transferred into analog devices: each device is read, a burst of pulses
is sent toward its target, it is read again, and so on until the read value
is within ``tolerance`` of the target, the device has used ``max_pulses``
pulses, or ``patience`` rounds in a row brought it no closer. The pulses
follow the backend's own device model (state-dependent steps, up/down
asymmetry, cycle-to-cycle noise, device-to-device variation, bounds, read
noise), so the number of rounds and pulses it takes is what the device makes
it.

The controller knows only the nominal step ``s`` per pulse (as
:meth:`PulsedBackend._apply` does). With read error ``e = target - read``,
a burst sends pulses in the direction of ``e``: ``aim='center'`` (default)
``max(1, round(|e| / s))`` of them, the nominal steps to the target itself;
``aim='edge'`` ``max(1, ceil((|e| - tol) / s))``, the fewest that reach the
near edge of the tolerance band (fewer pulses, but every weight ends up
about ``tol`` short of its target, toward where it started). On a noiseless
constant-step device (``c2c = 0``, no variation, ``gamma = 0``) and
``tol >= s / 2`` either lands in the band after one burst, with the
closed-form counts ``round(|e| / s)`` and ``ceil((|e| - tol) / s)`` (0 when
the device is already in the band). ``burst=False`` sends one pulse per read
(the textbook pulse-read loop, which stops at the edge of the band).

Cost model (after the argument of van Doremaele et al., Sci. Adv. 10,
eado8999 (2024), for in-situ training: a transferred network needs every
device programmed and verified one by one):

- ``pulses`` and ``reads``: every burst pulse and every verify read (one
  initial read per device, then one per burst);
- ``write_joules = pulses * pulse_joules``; ``read_joules``: the backend's
  read energy of each device read; ``energy_joules`` their sum;
- ``seconds``: devices programmed one after another, ``pulses *
  pulse_seconds + reads * read_seconds``;
- ``parallel_seconds``: the lower bound if every device of a tile were
  programmed at once (per round, the longest burst plus one read; tiles one
  after another).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from .._validation import check_choice, check_finite_array, check_float, check_int, param_error

if TYPE_CHECKING:
    from .pulsed import PulsedBackend, Tile

__all__ = ["WriteVerifyReport", "write_verify"]


@dataclass
class WriteVerifyReport:
    """What write-verify did and cost.

    Attributes
    ----------
    weights, biases : list of ndarray
        The values the devices hold at the end, in network units, as read
        without noise (``weights[l]`` of shape (n_l, n_{l+1}), ``biases[l]``
        of shape (n_{l+1},)).
    pulses, reads : int
        Write pulses sent and verify reads made, all devices together.
    rounds : int
        Burst-and-read rounds of the slowest tile.
    converged_fraction : float
        Fraction of devices whose last read was within the tolerance.
    max_error : float
        Largest ``|held - target|`` over all devices, network units.
    write_joules, read_joules, energy_joules : float
        Energy of the pulses, of the reads, and their sum.
    seconds, parallel_seconds : float
        Programming time one device after another, and the all-devices-of-
        a-tile-at-once lower bound.
    pulses_per_device : list of ndarray
        Pulses each device took, per parameter array (weights then bias of
        each layer, flattened, dtype int64).
    """

    weights: list[np.ndarray]
    biases: list[np.ndarray]
    pulses: int = 0
    reads: int = 0
    rounds: int = 0
    converged_fraction: float = 0.0
    max_error: float = 0.0
    write_joules: float = 0.0
    read_joules: float = 0.0
    energy_joules: float = 0.0
    seconds: float = 0.0
    parallel_seconds: float = 0.0
    pulses_per_device: list[np.ndarray] = field(default_factory=list)

    def cost(self) -> dict[str, float]:
        """The scalar cost entries as a dict (for tables)."""
        keys = ("pulses", "reads", "rounds", "converged_fraction", "max_error", "write_joules", "read_joules",
                "energy_joules", "seconds", "parallel_seconds")
        return {k: float(getattr(self, k)) for k in keys}


def _subset(devices: dict[str, np.ndarray], idx: np.ndarray) -> dict[str, np.ndarray]:
    return {key: value[idx] for key, value in devices.items()}


def _verify_tile(
    backend: PulsedBackend, tile: Tile, target: np.ndarray, tol: float, max_pulses: int, patience: int,
    burst: bool, aim: str, read_seconds: float,
) -> dict[str, float | np.ndarray]:
    """Write-verify one tile to ``target`` (device units, shape (n,)); return its counts and costs."""
    rng, devices = backend._rng, tile.arrays
    up_step, down_step = backend._nominal_steps()
    n = tile.size
    used = np.zeros(n, dtype=np.int64)
    reads = n
    read_joules = backend._read_energy(devices)
    parallel = read_seconds
    rounds = 0
    error = target - backend._values(devices, rng)
    best = np.abs(error)
    stalled = np.zeros(n, dtype=np.int64)
    active = np.flatnonzero(best > tol)
    while active.size:
        e = error[active]
        up = e > 0
        if burst:
            step = np.where(up, up_step, down_step)
            nominal = np.rint(np.abs(e) / step) if aim == "center" else np.ceil((np.abs(e) - tol) / step)
            want = np.maximum(nominal, 1).astype(np.int64)
        else:
            want = np.ones(active.size, dtype=np.int64)
        want = np.minimum(want, max_pulses - used[active])
        for k in range(int(want.max(initial=0))):
            firing = want > k
            for direction in (True, False):
                idx = active[firing & (up == direction)]
                if idx.size:
                    backend._pulse(devices, idx, direction, rng)
        used[active] += want
        parallel += int(want.max(initial=0)) * backend.params["pulse_seconds"] + read_seconds
        rounds += 1
        reads += active.size
        read_joules += backend._read_energy(_subset(devices, active))
        error[active] = target[active] - backend._values(_subset(devices, active), rng)
        miss = np.abs(error[active])
        better = miss < best[active]
        best[active] = np.minimum(best[active], miss)
        stalled[active] = np.where(better, 0, stalled[active] + 1)
        active = active[(miss > tol) & (used[active] < max_pulses) & (stalled[active] < patience)]
    return {
        "used": used, "reads": reads, "read_joules": read_joules, "parallel": parallel, "rounds": rounds,
        "converged": int(np.count_nonzero(np.abs(error) <= tol)),
    }


def write_verify(
    backend: PulsedBackend,
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
    """Program a backend's devices to ``weights`` and ``biases`` by write-verify.

    The backend must have been programmed (:meth:`~WeightBackend.program`)
    with parameters of the same shapes; write-verify starts from whatever the
    devices hold (e.g. a blank array programmed with zeros) and draws its
    noise from the backend's own random stream.

    Parameters
    ----------
    backend : PulsedBackend
        An ``ecram`` or ``cbram`` backend (any :class:`PulsedBackend`).
    weights : list of ndarray
        Targets ``weights[l]`` of shape (n_l, n_{l+1}), within ``+-weight_clip``.
    biases : list of ndarray
        Targets ``biases[l]`` of shape (n_{l+1},), within ``+-bias_clip``.
    tolerance : float > 0
        Accept a device when its read value is within this distance of its
        target, network units.
    max_pulses : int >= 1, default=10000
        Pulse budget per device; a device that uses it up stops unconverged.
    patience : int >= 1, default=10
        Give up on a device after this many rounds in a row without getting
        closer to its target than before (a device stuck at its own bound,
        or one whose step is coarser than the tolerance band).
    burst : bool, default=True
        Size each burst from the read error (see the module docstring);
        ``False``: one pulse per read.
    aim : {'center', 'edge'}, default='center'
        Size bursts to reach the target or the near edge of the band.
    read_seconds : float >= 0, default=1e-7
        Duration of one verify read (100 ns, the read of the backends'
        read-energy figures).

    Returns
    -------
    WriteVerifyReport

    Raises
    ------
    InvalidParameterError
        For a backend not programmed, targets of the wrong shapes, not finite
        or beyond the clip range, or a bad tolerance, budget or read time,
        before any pulse is sent.
    """
    from .pulsed import PulsedBackend

    owner = "write_verify"
    tiles = getattr(backend, "_tiles", None) if isinstance(backend, PulsedBackend) else None
    if tiles is None:
        raise param_error("backend", owner, "a pulsed backend programmed with program() first", backend)
    tolerance = check_float(tolerance, "tolerance", owner, low=0.0, low_open=True)
    max_pulses = check_int(max_pulses, "max_pulses", owner, low=1)
    patience = check_int(patience, "patience", owner, low=1)
    read_seconds = check_float(read_seconds, "read_seconds", owner, low=0.0)
    if not isinstance(burst, (bool, np.bool_)):
        raise param_error("burst", owner, "a bool", burst)
    aim = check_choice(aim, "aim", owner, ("center", "edge"))
    if not isinstance(weights, (list, tuple)) or len(weights) != len(tiles):
        raise param_error("weights", owner, f"a list of {len(tiles)} arrays (one per layer)", weights)
    if not isinstance(biases, (list, tuple)) or len(biases) != len(tiles):
        raise param_error("biases", owner, f"a list of {len(tiles)} arrays (one per layer)", biases)
    low, high = backend._device_range()
    reach = min(-low, high)
    targets = []
    for name, arrays, which in (("weights", weights, 0), ("biases", biases, 1)):
        for layer, values in enumerate(arrays):
            tile = tiles[layer][which]
            arr = check_finite_array(values, name, owner, shape=tile.shape).ravel() / tile.scale
            if np.any(np.abs(arr) > reach * (1 + 1e-12)):
                clip = reach * tile.scale
                raise param_error(name, owner, f"arrays within +-{clip:g} (the clip range mapped onto the devices)",
                                  f"layer {layer} reaching {np.abs(arr).max() * tile.scale:g}")
            targets.append((layer, which, arr))
    report = WriteVerifyReport(weights=[], biases=[])
    p = backend.params
    converged = total = 0
    for layer, which, target in sorted(targets, key=lambda t: (t[0], t[1])):
        tile = tiles[layer][which]
        out = _verify_tile(backend, tile, target, tolerance / tile.scale, max_pulses, patience, bool(burst), aim,
                           read_seconds)
        used = out["used"]
        report.pulses_per_device.append(used)
        report.pulses += int(used.sum())
        report.reads += int(out["reads"])
        report.read_joules += float(out["read_joules"])
        report.parallel_seconds += float(out["parallel"])
        report.rounds = max(report.rounds, int(out["rounds"]))
        converged += int(out["converged"])
        total += tile.size
        exact = tile.scale * backend._held_values(tile.arrays)
        report.max_error = max(report.max_error, float(np.abs(exact - tile.scale * target).max(initial=0.0)))
        (report.weights if which == 0 else report.biases).append(exact.reshape(tile.shape))
    report.converged_fraction = converged / total if total else 1.0
    report.write_joules = report.pulses * p["pulse_joules"]
    report.energy_joules = report.write_joules + report.read_joules
    report.seconds = report.pulses * p["pulse_seconds"] + report.reads * read_seconds
    return report

