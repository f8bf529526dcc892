"""Fixed-point conventions of the int8 MCU model: units, RNG, acceptance table, beta schedule.

The anneal schedule itself is not defined here: the device quantises the shared
schedule of :mod:`eqising.solvers.schedule` (the geometric forward walk and the
reverse walk), so the microcontroller anneals exactly as the float solvers do,
up to the rounding of the inverse temperatures.

Everything the device computes is defined here once, in integers, so that the
numpy emulation and the exported C library agree bit for bit.

Units
-----
- Fields, biases and coupling strengths are int32 in Q16 (``real = q / 2**16``,
  :data:`FRAC_BITS`).
- Inputs are uint8 with ``real = xq / 256`` (``xq = min(255, round(256 x))`` for
  ``x`` in [0, 1]).
- A weight of matrix ``l`` is ``q[i, j] * m[j] / 2**16`` with ``q`` int8 in
  [-127, 127] and ``m[j]`` the per-output-channel scale multiplier (int32 >= 1).
- Spins are int8 in {-1, +1}.

Random numbers
--------------
A counter-based generator: draw ``c`` of stream ``key`` is
``mix32(mix32(c) ^ key)`` with ``mix32`` the 32-bit "lowbias32" integer hash
(two multiplies, three xor-shifts). Its state is the pair ``(key, counter)``,
8 bytes. The counter of every draw is fixed by what it is used for (spin,
sweep, weight), so the numpy reference draws all of a sweep at once while the
C loop draws one at a time, and both see the same numbers. Keys:
``stream_key(seed, i) = mix32(seed ^ mix32(i))``.

Acceptance
----------
Heat-bath: ``P(s = +1) = sigmoid(2 beta f)``. The device evaluates it from a
256-entry uint16 table indexed by ``clamp((f * bq) >> 32, -128, 127) + 128``,
where ``bq = round(32 beta 2**16)`` is the sweep's integer inverse-temperature
multiplier (so the index counts steps of 1/16 in ``2 beta f``). The new spin
is +1 iff the draw's upper 16 bits are below the table entry.
"""

from __future__ import annotations

import numpy as np

from ...solvers.schedule import geometric_betas
from ...solvers.schedule import reverse_steps as _reverse_walk

__all__ = [
    "FRAC_BITS",
    "LUT_SIZE",
    "ONE",
    "beta_multipliers",
    "draws",
    "mix32",
    "quantize_inputs",
    "reverse_steps",
    "sigmoid_table",
    "stream_key",
]

FRAC_BITS = 16
ONE = 1 << FRAC_BITS
LUT_SIZE = 256
_LUT_STEPS_PER_UNIT = 16  # table index steps per unit of 2 * beta * field

_M1 = np.uint32(0x7FEB352D)
_M2 = np.uint32(0x846CA68B)


def mix32(x: np.ndarray | int) -> np.ndarray:
    """The lowbias32 hash of uint32 values (elementwise, wrapping arithmetic).

    Parameters
    ----------
    x : ndarray of uint32 or int

    Returns
    -------
    ndarray of uint32, shape of ``x``
    """
    x = np.array(x, dtype=np.uint32, copy=True)
    with np.errstate(over="ignore"):
        x ^= x >> np.uint32(16)
        x *= _M1
        x ^= x >> np.uint32(15)
        x *= _M2
        x ^= x >> np.uint32(16)
    return x


def stream_key(seed: int | np.ndarray, index: int | np.ndarray) -> np.ndarray:
    """Key of random stream ``index`` under a uint32 ``seed``: ``mix32(seed ^ mix32(index))``."""
    return mix32(np.asarray(seed, dtype=np.uint32) ^ mix32(np.asarray(index, dtype=np.uint32)))


def draws(keys: np.ndarray, counters: np.ndarray) -> np.ndarray:
    """Draws of several streams at several counters.

    Parameters
    ----------
    keys : ndarray of uint32, shape (n_streams,)
    counters : ndarray of uint32, shape (n_draws,)

    Returns
    -------
    ndarray of uint32, shape (n_streams, n_draws)
        ``mix32(mix32(counter) ^ key)``.
    """
    return mix32(mix32(counters)[None, :] ^ np.asarray(keys, dtype=np.uint32)[:, None])


def sigmoid_table() -> np.ndarray:
    """The acceptance table: ``round(65536 sigmoid((i - 128 + 1/2) / 16))``, capped at 65535.

    Returns
    -------
    ndarray of uint16, shape (256,)
    """
    z = (np.arange(LUT_SIZE) - LUT_SIZE // 2 + 0.5) / _LUT_STEPS_PER_UNIT
    return np.minimum(np.round(65536.0 / (1.0 + np.exp(-z))), 65535).astype(np.uint16)


def beta_multipliers(beta_range: tuple[float, float], num_sweeps: int) -> np.ndarray:
    """The shared geometric forward schedule, quantised to integer inverse-temperature multipliers.

    Parameters
    ----------
    beta_range : (float, float)
        ``(hot, cold)`` inverse temperatures.
    num_sweeps : int

    Returns
    -------
    ndarray of int32, shape (num_sweeps,)
        ``round(2 * 16 * beta_t * 2**16)`` for ``beta_t`` of
        :func:`eqising.solvers.schedule.geometric_betas`, hot to cold.
    """
    hot, cold = beta_range
    betas = geometric_betas(hot, cold, num_sweeps)
    return np.round(2 * _LUT_STEPS_PER_UNIT * betas * ONE).astype(np.int32)


def reverse_steps(num_sweeps: int, reheat_sweeps: int) -> np.ndarray:
    """The shared reverse walk as the device's int32 index table (cold -> reheat point -> cold).

    Parameters
    ----------
    num_sweeps : int
        Length of the forward schedule.
    reheat_sweeps : int
        Forward sweep the walk turns at (:func:`eqising.solvers.schedule.reheat_sweep`).

    Returns
    -------
    ndarray of int32, shape (2 * (num_sweeps - reheat_sweeps) - 1,)
        :func:`eqising.solvers.schedule.reverse_steps`: back from sweep
        ``num_sweeps - 1`` to ``reheat_sweeps`` and forward again.
    """
    return _reverse_walk(num_sweeps, reheat_sweeps).astype(np.int32)


def quantize_inputs(X: np.ndarray) -> np.ndarray:
    """Inputs in [0, 1] as uint8: ``min(255, round(256 x))`` (callers validate the range).

    Returns
    -------
    ndarray of uint8, shape of ``X``
    """
    return np.minimum(np.round(np.asarray(X, dtype=np.float64) * 256.0), 255).astype(np.uint8)
