"""First-order optimizers acting in place on lists of parameter arrays.

An optimizer turns gradients into desired changes (:meth:`Optimizer.deltas`,
what a :class:`~eqising.hardware.WeightBackend` writes into devices) or moves
parameter arrays by them in place, clipped (:meth:`Optimizer.step`, what the
float ``ideal`` backend does: Adam does it in one compiled pass over all
arrays, with the bits of ``deltas`` followed by the clipped addition).
Both refuse gradients that are not finite before any state changes.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence

import numba
import numpy as np

from ._numba_cache import cached_njit
from ._validation import Described, check_finite_array, param_error
from .solvers._kernels import KERNEL_LOCK

__all__ = ["OPTIMIZERS", "SGD", "Adam", "Optimizer", "make_optimizer"]


class Optimizer:
    """Base class: :meth:`deltas` turns gradients into desired parameter changes.

    ``step(params, grads)`` adds them to the parameters in place; the trainer
    instead hands them to a :class:`~eqising.hardware.WeightBackend`.

    Parameters
    ----------
    learning_rates : sequence of float
        One learning rate per parameter array.
    """

    def __init__(self, learning_rates: Sequence[float]) -> None:
        self.learning_rates = [float(lr) for lr in learning_rates]
        self.state: dict[str, list[np.ndarray]] = {}

    def deltas(self, grads: Sequence[np.ndarray]) -> list[np.ndarray]:
        """Desired additive changes, one array per gradient (same shapes); advances the state."""
        raise NotImplementedError

    def step(
        self,
        params: Sequence[np.ndarray],
        grads: Sequence[np.ndarray],
        *,
        clips: Sequence[float | None] | None = None,
        copies: Sequence[np.ndarray] | None = None,
    ) -> None:
        """Move every ``params[i]`` in place by its delta, then clip it to ``+-clips[i]``.

        Parameters
        ----------
        params : sequence of ndarray
            Float arrays shaped like ``grads``, changed in place.
        grads : sequence of ndarray
        clips : sequence of (float or None), optional
            Magnitude limit of every array (``None``: none); default no limits.
        copies : sequence of ndarray, optional
            Arrays shaped like ``params`` that receive the new values too (Adam
            writes them in the same pass: cheaper than copying afterwards).

        Raises
        ------
        InvalidParameterError
            For a gradient that is not finite (nothing changes).
        """
        owner = type(self).__name__
        self._move(params, grads, _check_clips(clips, len(params), owner), _check_copies(copies, params, owner))

    def _move(self, params: Sequence[np.ndarray], grads: Sequence[np.ndarray], clips: list[float | None],
              copies: Sequence[np.ndarray] | None) -> None:
        """The body of :meth:`step`, on checked ``clips`` and ``copies``: :meth:`deltas`, the clipped
        addition, the copies (a subclass may do it in fewer passes)."""
        grads = [check_finite_array(g, "grads", f"{type(self).__name__}.step", dtype=None) for g in grads]
        for p, d, clip in zip(params, self.deltas(grads), clips):
            _add_into(p, d, clip)
        for p, c in zip(params, copies or ()):
            np.copyto(c, p)

    def get_state(self) -> dict[str, np.ndarray]:
        """The optimizer's running state as named arrays (``'<key>.<i>'``), for checkpoints.

        With :meth:`set_state` on an optimizer built with the same settings,
        the next :meth:`deltas` are bit-identical to this optimizer's.
        """
        return {f"{key}.{i}": a.copy() for key, arrays in self.state.items() for i, a in enumerate(arrays)}

    def set_state(self, state: dict[str, np.ndarray]) -> None:
        """Restore what :meth:`get_state` returned.

        Raises
        ------
        ValueError
            For keys this optimizer does not keep or a gap in a key's arrays.
        """
        grouped: dict[str, dict[int, np.ndarray]] = {}
        for name, value in state.items():
            key, _, index = name.rpartition(".")
            if key not in self._STATE_KEYS or not index.isdigit():
                raise ValueError(f"optimizer state entry {name!r} is not one of {type(self).__name__}'s "
                                 f"({', '.join(self._STATE_KEYS) or 'none'})")
            grouped.setdefault(key, {})[int(index)] = np.array(value)
        restored = {}
        for key, arrays in grouped.items():
            if sorted(arrays) != list(range(len(arrays))):
                raise ValueError(f"optimizer state {key!r} must hold entries 0..{len(arrays) - 1}")
            restored[key] = [arrays[i] for i in range(len(arrays))]
        self.state = restored

    def _moments(self, key: str, grads: Sequence[np.ndarray]) -> list[np.ndarray]:
        """The state list ``key``, zeros shaped like ``grads`` on first use (built only then)."""
        if key not in self.state:
            self.state[key] = [np.zeros(np.shape(g)) for g in grads]
        return self.state[key]

    #: Names of the state lists (``self.state`` keys) a subclass keeps.
    _STATE_KEYS: tuple[str, ...] = ()


class SGD(Optimizer):
    """Stochastic gradient descent with (heavy-ball) momentum.

    ``v <- momentum * v + g``; ``p <- p - lr * v``. A velocity entry below the
    smallest normal double is stored as zero (as Adam's moments are: a velocity
    decaying under zero gradients would otherwise turn subnormal and slow every
    later step).
    """

    _STATE_KEYS = ("velocity",)

    def __init__(self, learning_rates: Sequence[float], momentum: float = 0.0) -> None:
        super().__init__(learning_rates)
        self.momentum = float(momentum)

    def deltas(self, grads: Sequence[np.ndarray]) -> list[np.ndarray]:
        if self.momentum == 0.0:
            return [-(lr * g) for g, lr in zip(grads, self.learning_rates)]
        velocity = self._moments("velocity", grads)
        for g, v in zip(grads, velocity):
            v *= self.momentum
            v += g
            np.copyto(v, 0.0, where=(v != 0.0) & (np.abs(v) < _TINY))  # as Adam's moments: no subnormals
        return [-(lr * v) for v, lr in zip(velocity, self.learning_rates)]


class Adam(Optimizer):
    """Adam (Kingma & Ba, 2015) with bias correction.

    Parameters
    ----------
    learning_rates : sequence of float
    decay : (float, float), default=(0.9, 0.999)
        Decay rates of the first and second moment estimates.
    epsilon : float, default=1e-8
    """

    def __init__(
        self, learning_rates: Sequence[float], decay: tuple[float, float] = (0.9, 0.999), epsilon: float = 1e-8
    ) -> None:
        super().__init__(learning_rates)
        self.decay = decay
        self.epsilon = epsilon
        self.t = 0

    _STATE_KEYS = ("m", "v")

    def get_state(self) -> dict[str, np.ndarray]:
        return {**super().get_state(), "t": np.array(self.t, dtype=np.int64)}

    def set_state(self, state: dict[str, np.ndarray]) -> None:
        state = dict(state)
        t = state.pop("t", np.array(0))
        super().set_state(state)
        self.t = int(t)

    def deltas(self, grads: Sequence[np.ndarray]) -> list[np.ndarray]:
        out = [np.empty(np.shape(g)) for g in grads]
        self._run(grads, out, np.full(len(out), -1.0), False)
        return out

    def _move(self, params: Sequence[np.ndarray], grads: Sequence[np.ndarray], clips: list[float | None],
              copies: Sequence[np.ndarray] | None) -> None:
        flat, mirror = [], []
        one_pass = type(self).deltas is Adam.deltas and len(params) == len(grads)
        for i in range(len(params) if one_pass else 0):  # arrays a compiled pass can write through flat views
            f = _flat_view(params[i])
            c = None if copies is None else _flat_view(copies[i])
            g = grads[i]
            if f is None or (copies is not None and c is None) or f.size != (g.size if type(g) is np.ndarray
                                                                             else np.size(g)):
                one_pass = False
                break
            flat.append(f)
            if c is not None:
                mirror.append(c)
        if not one_pass:  # a subclass's own deltas, or arrays one pass cannot write
            super()._move(params, grads, clips, copies)
            return
        self._run(grads, tuple(flat), np.array([-1.0 if c is None else c for c in clips]), True, tuple(mirror))

    def _run(self, grads: Sequence[np.ndarray], out: Sequence[np.ndarray], clips: np.ndarray, apply: bool,
             mirror: tuple[np.ndarray, ...] = ()) -> None:
        """One compiled Adam update of every array: ``out`` gets the deltas, or (``apply``) is moved by them
        and clipped (``clips[i] < 0``: no limit) and, if ``mirror`` holds arrays, copied into them. Nothing
        changes if a gradient is not finite or the sizes are not the ones Adam started on."""
        m_all, v_all = self._moments("m", grads), self._moments("v", grads)
        views = self.__dict__.get("_views")
        if views is None or views[0] is not m_all or views[1] is not v_all:  # flat views of the moments, kept
            views = self._views = (m_all, v_all, tuple(m.reshape(-1) for m in m_all),
                                   tuple(v.reshape(-1) for v in v_all), [m.size for m in m_all])
        flat = tuple(_flat_input(g) for g in grads)
        if [g.size for g in flat] != views[4]:
            raise ValueError(f"Adam was started on gradients of sizes {views[4]}; got "
                             f"{[g.size for g in flat]} instead")
        t = self.t + 1
        d1, d2 = self.decay
        c1, c2 = 1 - d1**t, 1 - d2**t
        with KERNEL_LOCK:
            finite = _adam_passes(
                flat, views[2], views[3], np.asarray(self.learning_rates, dtype=np.float64), float(d1), float(d2),
                float(c1), float(c2), float(self.epsilon), tuple(o.reshape(-1) for o in out), clips, apply,
                mirror or flat, bool(mirror),
            )
        if not finite:
            raise param_error("grads", "Adam", "a list of arrays of finite numbers (no NaN or inf)",
                              Described("an array containing NaN or inf"))
        self.t = t


#: The smallest normal float64: moments below it are stored as zero (:func:`_adam_pass`, :meth:`SGD.deltas`).
_TINY = float(np.finfo(np.float64).tiny)


@cached_njit(error_model="numpy")  # no zero-division checks in the loop, so LLVM vectorises it
def _adam_pass(g, m, v, d1, d2, c1, c2, lr, epsilon, out, clip, apply, copy, mirror):
    """One Adam update of flat arrays in one pass::

        m = m * d1 + (1 - d1) * g;  v = v * d2 + ((1 - d2) * g) * g
        delta = -(lr / c1) * m / (sqrt(v) / sqrt(c2) + epsilon)

    and ``out = delta``, or with ``apply`` ``out = clip(out + delta, -clip, clip)``
    (``clip < 0``: no limit), the bits of adding the stored delta, and with
    ``mirror`` also ``copy = out``. The moments have
    the bits of that numpy formula, except that a moment below the smallest
    normal double (:data:`_TINY`, 2.2e-308) is stored as zero: a first moment
    whose gradient stays zero decays by ``d1`` a step and, after about 6,700
    steps, would stay subnormal for good (``0.9`` times the smallest subnormal
    rounds back to it), and arithmetic on subnormals took this pass 9x longer
    (on MNIST-1k a third of the moments got there once training had fitted the
    data). The delta such a moment gave was below 1e-300, which changes no
    parameter larger than about 1e-284; ``delta`` equals
    ``-((lr * (m / c1)) / (sqrt(v / c2) + epsilon))`` to a few units in the last
    place, with one division and one square root per entry instead of three
    divisions (1.7x faster on MNIST's 94,080 input weights).
    """
    a1, a2 = 1.0 - d1, 1.0 - d2
    step = -lr / c1
    root = 1.0 / math.sqrt(c2)
    for i in range(g.size):
        mi = m[i] * d1 + a1 * g[i]
        vi = v[i] * d2 + (a2 * g[i]) * g[i]
        if mi != 0.0 and abs(mi) < _TINY:  # flushed to zero (a signed zero stays as it is)
            mi = 0.0
        if vi != 0.0 and vi < _TINY:
            vi = 0.0
        m[i] = mi
        v[i] = vi
        delta = (step * mi) / (math.sqrt(vi) * root + epsilon)
        if not apply:
            out[i] = delta
        else:
            new = out[i] + delta if clip < 0.0 else min(max(out[i] + delta, -clip), clip)
            out[i] = new
            if mirror:
                copy[i] = new


@cached_njit(error_model="numpy")
def _exponent_max(g):
    """The largest exponent field of a float64 array's entries (``0x7ff``: it holds a NaN or an infinity)."""
    bits = g.view(np.uint64)
    top = np.uint64(0)
    for i in range(bits.size):
        top = max(top, bits[i] & np.uint64(0x7FF0000000000000))
    return top >> np.uint64(52)


@cached_njit(error_model="numpy", parallel=True)
def _adam_passes(grads, m, v, learning_rates, d1, d2, c1, c2, epsilon, out, clips, apply, copies, mirror):
    """:func:`_adam_pass` on every parameter array (tuples of flat arrays), in one call, blocks of
    :data:`_ADAM_BLOCK` entries in parallel (entry by entry the same arithmetic, whatever the threads).

    Returns False, having changed nothing, if a gradient entry is not finite."""
    first = np.zeros(len(grads) + 1, dtype=np.int64)  # the first block of every array, then the total
    for k in range(len(grads)):
        first[k + 1] = first[k] + (grads[k].size + _ADAM_BLOCK - 1) // _ADAM_BLOCK
    n_blocks = first[len(grads)]
    top = np.uint64(0)
    for k in range(len(grads)):  # every gradient checked before anything changes (one vectorised pass)
        top = max(top, _exponent_max(grads[k]))
    if top == 0x7FF:
        return False
    for block in numba.prange(n_blocks):  # one parallel region for all arrays
        k = 0
        while first[k + 1] <= block:
            k += 1
        lo = (block - first[k]) * _ADAM_BLOCK
        hi = min(grads[k].size, lo + _ADAM_BLOCK)
        _adam_pass(grads[k][lo:hi], m[k][lo:hi], v[k][lo:hi], d1, d2, c1, c2, learning_rates[k], epsilon,
                   out[k][lo:hi], clips[k], apply, copies[k][lo:hi], mirror)
    return True


#: Entries per parallel task of :func:`_adam_passes`.
_ADAM_BLOCK = 2048


def _check_clips(clips: Sequence[float | None] | None, n: int, owner: str) -> list[float | None]:
    """``clips`` of :meth:`Optimizer.step`, one per array (``None``: no limits anywhere)."""
    if clips is None:
        return [None] * n
    limits = [c if c is None or type(c) is float else _real(c) for c in clips]
    if len(limits) != n or any(c is not None and not c >= 0.0 for c in limits):  # NaN fails too
        raise param_error("clips", f"{owner}.step", f"a list of {n} non-negative limits or None", clips)
    return limits


def _real(c: object) -> float:
    """A clip limit as a float (NaN, refused by the caller, for anything that is not a real number)."""
    return float(c) if isinstance(c, numbers.Real) and not isinstance(c, (bool, np.bool_)) else math.nan


def _check_copies(copies: Sequence[np.ndarray] | None, params: Sequence[np.ndarray],
                  owner: str) -> Sequence[np.ndarray] | None:
    """``copies`` of :meth:`Optimizer.step`: None, or one writable array shaped like every parameter array."""
    if copies is None:
        return None
    good = isinstance(copies, Sequence) and len(copies) == len(params)
    for c, p in zip(copies, params) if good else ():
        if type(c) is not np.ndarray or c.shape != (p.shape if type(p) is np.ndarray else np.shape(p)) or not (
                c.flags.writeable):
            good = False
            break
    if not good:
        raise param_error("copies", f"{owner}.step",
                          f"a list of {len(params)} writable arrays shaped like the parameters",
                          copies)
    return copies


def _flat_view(param: np.ndarray) -> np.ndarray | None:
    """A flat view of a C-contiguous float64 array (``None`` for any other: it cannot be written through one)."""
    if type(param) is np.ndarray and param.dtype == np.float64 and param.flags.c_contiguous and param.flags.writeable:
        return param.reshape(-1)
    return None


def _flat_input(grad: np.ndarray) -> np.ndarray:
    """A gradient as a flat, writable-typed, C-contiguous float64 array (a view where it already is one; the
    compiled pass takes one array type)."""
    flat = _flat_view(grad)
    return flat if flat is not None else np.array(grad, dtype=np.float64, order="C").reshape(-1)


def _add_into(param: np.ndarray, delta: np.ndarray, clip: float | None) -> None:
    """``param = clip(param + delta, -clip, clip)`` in place (``clip`` None: no limit)."""
    flat = _flat_view(param)
    if flat is None or np.size(delta) != flat.size:
        param += delta
        if clip is not None:
            np.clip(param, -clip, clip, out=param)
        return
    _add_clipped(flat, np.ascontiguousarray(delta, dtype=np.float64).reshape(-1), -1.0 if clip is None else clip)


@cached_njit(error_model="numpy")
def _add_clipped(param, delta, clip):
    """``param = clip(param + delta, -clip, clip)`` in place, in one pass (no clipping if ``clip < 0``)."""
    if clip < 0.0:
        for i in range(param.size):
            param[i] += delta[i]
    else:
        for i in range(param.size):
            param[i] = min(max(param[i] + delta[i], -clip), clip)


#: Optimizer names the estimator's ``optimizer`` parameter takes.
OPTIMIZERS = ("adam", "sgd")


def make_optimizer(name: str, learning_rates: Sequence[float], momentum: float = 0.0) -> Optimizer:
    """The optimizer called ``name`` (one of :data:`OPTIMIZERS`); ``momentum`` is SGD's."""
    return SGD(learning_rates, momentum) if name == "sgd" else Adam(learning_rates)
