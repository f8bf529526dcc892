"""One seed source: every child seed of a run is derived here, from one root.

A run resolves its ``random_state`` once into a root seed (:func:`root_seed`);
every random choice after that -- the initial weights, each epoch's shuffle,
each step's solver calls, each phase, each example at prediction, the weight
backend's device variation -- takes a seed derived from the root and a *path*
of names and indices::

    source = SeedSource(root_seed(random_state))
    source.seed("backend")                    # one uint64
    source.seeds("step", epoch, batch, n=32)  # uint64 per problem
    source.generator("shuffle", epoch)        # a numpy Generator

A derived seed depends only on the root and the path, never on the order in
which seeds are asked for, so results do not depend on batching, on threads,
or on whether a run was interrupted and resumed. Solvers use the same helpers
for their own per-problem and per-call streams (:func:`problem_seeds`,
:func:`derive`), so there is one derivation everywhere: NumPy's
:class:`~numpy.random.SeedSequence` over the root and the path, with names
hashed to 64-bit words.
"""

from __future__ import annotations

import functools
import hashlib
import numbers
from collections.abc import Sequence
from typing import Any

import numpy as np

from ._numba_cache import cached_njit
from ._validation import Described, check_int, param_error

__all__ = ["SeedSource", "derive", "derive_many", "example_seeds", "generator", "problem_seeds", "root_seed"]

#: Seeds are uint64; solvers that take fewer bits (dwave-samplers: 31) shift the derived value down.
SEED_BITS = 64


@functools.lru_cache(maxsize=256)
def _name_word(name: str) -> int:
    return int.from_bytes(hashlib.blake2b(name.encode(), digest_size=8).digest(), "little")


def _word(part: Any) -> int:
    """A path element as a non-negative int: ints as they are, strings hashed to 64 bits."""
    if type(part) is int and part >= 0:  # the common case first (an ABC check costs as much as the rest)
        return part
    if isinstance(part, str):
        return _name_word(part)
    if isinstance(part, numbers.Integral) and not isinstance(part, (bool, np.bool_)) and int(part) >= 0:
        return int(part)
    raise param_error("path", "eqising.seeding", "names (str) and indices (int >= 0)", part)


def _sequence(root: int, path: Sequence[Any]) -> np.random.SeedSequence:
    return np.random.SeedSequence([int(root), *(_word(p) for p in path)])


def _entropy_words(root: int, path: Sequence[Any]) -> np.ndarray:
    """The uint32 words SeedSequence assembles from ``[root, *path]`` (each int as its little-endian words)."""
    words = []
    for value in (int(root), *[_word(p) for p in path]):
        if value < 0:
            raise param_error("root", "eqising.seeding", "an int >= 0", value)
        words.append(value & 0xFFFFFFFF)
        value >>= 32
        while value:
            words.append(value & 0xFFFFFFFF)
            value >>= 32
    return np.array(words, dtype=np.uint32)


_INIT_A, _MULT_A = np.uint64(0x43B0D7E5), np.uint64(0x931E8875)
_INIT_B, _MULT_B = np.uint64(0x8B51F9DD), np.uint64(0x58F38DED)
_MIX_L, _MIX_R = np.uint64(0xCA01F9DD), np.uint64(0x4973F715)
_SHIFT, _MASK32 = np.uint64(16), np.uint64(0xFFFFFFFF)


@cached_njit()
def _seed_sequence_state(entropy: np.ndarray, n: int) -> np.ndarray:
    """``SeedSequence(entropy).generate_state(n, np.uint64)``, compiled: NumPy's algorithm (pool of 4
    words), in 64-bit integers masked to 32 bits after every product; its 32-bit words ``2i`` and
    ``2i + 1`` are the low and high half of entry ``i``, as NumPy joins them."""
    pool = np.zeros(4, dtype=np.uint64)
    hash_a = _INIT_A
    for i in range(4):  # hash the entropy into the pool
        value = np.uint64(entropy[i]) if i < entropy.size else np.uint64(0)
        value ^= hash_a
        hash_a = (hash_a * _MULT_A) & _MASK32
        value = (value * hash_a) & _MASK32
        pool[i] = value ^ (value >> _SHIFT)
    for i_src in range(max(entropy.size, 4)):  # every word into every other, then the rest of the entropy
        for i_dst in range(4):
            if i_src < 4 and i_src == i_dst:
                continue
            value = pool[i_src] if i_src < 4 else np.uint64(entropy[i_src])
            value ^= hash_a
            hash_a = (hash_a * _MULT_A) & _MASK32
            value = (value * hash_a) & _MASK32
            value ^= value >> _SHIFT
            mixed = (_MIX_L * pool[i_dst] - _MIX_R * value) & _MASK32
            pool[i_dst] = mixed ^ (mixed >> _SHIFT)
    out = np.empty(n, dtype=np.uint64)
    hash_b = _INIT_B
    for i in range(2 * n):
        value = pool[i % 4] ^ hash_b
        hash_b = (hash_b * _MULT_B) & _MASK32
        value = (value * hash_b) & _MASK32
        word = value ^ (value >> _SHIFT)
        if i % 2 == 0:
            out[i // 2] = word
        else:
            out[i // 2] |= word << np.uint64(32)
    return out


def derive(root: int, *path: Any) -> int:
    """The child seed of ``root`` at ``path``: an int in [0, 2**64)."""
    return int(derive_many(root, *path, n=1)[0])


def derive_many(root: int, *path: Any, n: int) -> np.ndarray:
    """``n`` child seeds of ``root`` at ``path``, ndarray of shape (n,), dtype uint64.

    Entry ``i`` does not depend on ``n`` (the first ``k`` of ``n`` seeds are the
    ``k`` seeds), and entry 0 equals ``derive(root, *path)``. The words of
    ``SeedSequence([root, *path]).generate_state(n, np.uint64)``, computed by a
    compiled copy of NumPy's algorithm (a training step derives a few of these;
    NumPy's object takes ~20 us each).
    """
    return _seed_sequence_state(_entropy_words(root, path), int(n))


def generator(root: int, *path: Any) -> np.random.Generator:
    """A :class:`numpy.random.Generator` seeded with the child of ``root`` at ``path``."""
    return np.random.default_rng(_sequence(root, path))


def root_seed(random_state: Any, name: str = "random_state", owner: str = "eqising") -> int:
    """Resolve a ``random_state`` once into a root seed in [0, 2**64).

    ``None`` draws fresh entropy; an int >= 0 is the root itself (so
    ``random_state=0`` is reproducible and readable); a
    :class:`numpy.random.Generator` (or legacy ``RandomState``) gives one
    draw, advancing it.
    """
    if random_state is None:
        return int(np.random.SeedSequence().generate_state(1, np.uint64)[0])
    if isinstance(random_state, np.random.Generator):
        return int(random_state.integers(2**63)) * 2 + int(random_state.integers(2))
    if isinstance(random_state, np.random.RandomState):
        return int(random_state.randint(2**31))
    if (
        isinstance(random_state, numbers.Integral)
        and not isinstance(random_state, (bool, np.bool_))
        and 0 <= int(random_state) < 2**64
    ):
        return int(random_state)
    raise param_error(name, owner, "None, an int in [0, 2**64) or a numpy.random.Generator", random_state)


def problem_seeds(seed: Any, n_problems: int, owner: str) -> np.ndarray:
    """Per-problem seeds of one solver call, shape (n_problems,), dtype uint64.

    ``seed`` is the ``seed`` argument of a :meth:`Solver.sample
    <eqising.solvers.Solver.sample>` call: ``None`` draws fresh entropy; an
    int is a root whose children ``derive(seed, "problem", b)`` seed the
    problems; an array gives every problem its own seed.
    """
    expected = f"None, an int in [0, 2**64), or an array of {n_problems} such ints (one per problem)"
    if seed is None or (np.ndim(seed) == 0 and not isinstance(seed, (bool, np.bool_))):
        root = root_seed(None) if seed is None else check_int(seed, "seed", owner, low=0, high=2**64 - 1)
        return derive_many(root, "problem", n=n_problems)
    arr = np.asarray(seed)
    if arr.shape != (n_problems,) or arr.dtype.kind not in "iu" or (arr.dtype.kind == "i" and np.any(arr < 0)):
        raise param_error("seed", owner, expected, Described(f"array of shape {arr.shape}, dtype {arr.dtype}"))
    return arr.astype(np.uint64)


def example_seeds(root: int, X: np.ndarray) -> np.ndarray:
    """One seed per row of ``X`` from its bytes and ``root``, ndarray of shape (n_rows,), dtype uint64.

    A row's seed depends only on its values and the root, so predictions do
    not depend on batching or on the row's position.
    """
    key = int(root).to_bytes(8, "little")
    rows = np.ascontiguousarray(X, dtype=np.float64)
    return np.array(
        [int.from_bytes(hashlib.blake2b(r.tobytes(), digest_size=8, key=key).digest(), "little") for r in rows],
        dtype=np.uint64,
    )


class SeedSource:
    """The seeds of one run, derived from one root (see the module docstring).

    Parameters
    ----------
    root : int
        Root seed in [0, 2**64), e.g. from :func:`root_seed`.
    """

    def __init__(self, root: int) -> None:
        self.root = int(root)

    def seed(self, *path: Any) -> int:
        """The child seed at ``path``, an int in [0, 2**64)."""
        return derive(self.root, *path)

    def seeds(self, *path: Any, n: int) -> np.ndarray:
        """``n`` child seeds at ``path``, ndarray of shape (n,), dtype uint64."""
        return derive_many(self.root, *path, n=n)

    def generator(self, *path: Any) -> np.random.Generator:
        """A Generator seeded with the child at ``path``."""
        return generator(self.root, *path)

    def child(self, *path: Any) -> SeedSource:
        """The source rooted at the child seed at ``path``."""
        return SeedSource(self.seed(*path))

    def __repr__(self) -> str:
        return f"SeedSource({self.root})"
