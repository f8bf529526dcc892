"""Helpers shared by the test files: problem and spin makers, the Boltzmann TV check, threads, data.

Test files import the functions and constants (``from conftest import random_batch``); the
fixtures reach every test by name.

How the Boltzmann tolerance is set
----------------------------------
Even a perfect sampler gives a non-zero total-variation (TV) distance on a finite sample. For
``n`` independent draws from ``p``, the count of state ``k`` is Binomial(n, p_k), so the expected
TV is exactly

    E[TV] = 1/(2n) * sum_k E|X_k - n p_k|,

with de Moivre's closed form for the binomial mean absolute deviation (computed below). It is
close to ``sum_k sqrt(p_k (1 - p_k) / (2 pi n))`` and never above the familiar
``sqrt(K / (2 pi n))`` for K states. Around that mean, TV is a function of n independent draws
that moves by at most 1/n when one draw changes, so McDiarmid's inequality gives
``P(TV > E[TV] + t) <= exp(-2 n t^2)``. With n = 100,000 (``N_COPIES * N_READS``) and t = 0.01
that is exp(-20) ~ 2e-9: the tolerance ``E[TV] + 0.01`` fails a correct sampler essentially
never, and it sits well below the TV of the wrong distributions checked alongside (0.3 - 0.5).
"""

from __future__ import annotations

import math
import signal
from pathlib import Path

import numba
import numpy as np
import pytest

from eqising import load_dataset
from eqising.ising import IsingBatch

#: The shared MNIST stand-in sits next to the repository: <repo>/../shared/datasets/mnist.
MNIST_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "datasets" / "mnist"

# ------------------------------------------------------------ problems and spins


def random_batch(layer_sizes, n_problems, rng, j_scale=1.0, h_scale=1.0) -> IsingBatch:
    """Gaussian couplings (shared) and fields (one row per problem), drawn in that order from ``rng``."""
    couplings = tuple(rng.normal(0.0, j_scale, size=(a, b)) for a, b in zip(layer_sizes, layer_sizes[1:]))
    fields = rng.normal(0.0, h_scale, size=(n_problems, sum(layer_sizes)))
    return IsingBatch(tuple(layer_sizes), couplings, fields)


def random_problems(layer_sizes, n_distinct, seed, j_scale=0.5, h_scale=0.3) -> IsingBatch:
    """:func:`random_batch` from a seed, with the milder scales of the Boltzmann tests."""
    return random_batch(layer_sizes, n_distinct, np.random.default_rng(seed), j_scale, h_scale)


def repeated(problems: IsingBatch, n_copies: int) -> IsingBatch:
    """Each problem of ``problems`` ``n_copies`` times in a row (independent chains in one call)."""
    return IsingBatch(problems.layer_sizes, problems.couplings, np.repeat(problems.fields, n_copies, axis=0))


def random_spins(shape, rng) -> np.ndarray:
    """Uniformly random int8 spins in {-1, +1} of the given shape."""
    return (2 * rng.integers(0, 2, size=shape) - 1).astype(np.int8)


# ------------------------------------------------------ the Boltzmann TV check

MCDIARMID_MARGIN = 0.01
N_COPIES = 200  # copies of each distinct problem in the batch
N_READS = 500  # reads per copy: 100,000 independent samples per problem
# Burn-in from random starts. Measured with 10**6 samples on the 4-4-3 problem at
# beta = 1: TV bias ~0.03 after 15 sweeps, ~0.001 after 30, none detectable at 50.
N_SWEEPS = 60


def state_index(spins: np.ndarray) -> np.ndarray:
    """Row index in ``all_spin_states`` of each state (bits most significant first, -1 -> 0)."""
    n = spins.shape[-1]
    return (spins > 0).astype(np.int64) @ (1 << np.arange(n - 1, -1, -1, dtype=np.int64))


def histogram(spins: np.ndarray) -> np.ndarray:
    """Empirical distribution over all 2**n states of samples of shape (..., n_spins)."""
    flat = spins.reshape(-1, spins.shape[-1])
    return np.bincount(state_index(flat), minlength=2 ** spins.shape[-1]) / len(flat)


def tv(p: np.ndarray, q: np.ndarray) -> float:
    """Total-variation distance between two distributions over the same states."""
    return 0.5 * float(np.abs(p - q).sum())


def binomial_mean_abs_deviation(n: int, p: float) -> float:
    """E|X - n p| for X ~ Binomial(n, p) (de Moivre): 2 m C(n, m) p^m (1-p)^(n-m+1), m = floor(n p) + 1."""
    if p <= 0.0 or p >= 1.0:
        return 0.0
    m = math.floor(n * p) + 1
    log = (
        math.log(2 * m)
        + math.lgamma(n + 1) - math.lgamma(m + 1) - math.lgamma(n - m + 1)
        + m * math.log(p) + (n - m + 1) * math.log1p(-p)
    )
    return math.exp(log)


def expected_tv(p: np.ndarray, n: int) -> float:
    """Expected TV distance between ``p`` and the histogram of n independent draws from it."""
    return sum(binomial_mean_abs_deviation(n, float(pk)) for pk in p) / (2 * n)


def tolerance(p: np.ndarray, n: int) -> float:
    """The TV a correct sampler stays below with n draws from ``p`` (see the module docstring)."""
    return expected_tv(p, n) + MCDIARMID_MARGIN


def assert_boltzmann(emp: np.ndarray, p: np.ndarray, n: int, *, unlike=(), margin: float = 0.0) -> float:
    """Assert the histogram ``emp`` of ``n`` draws is within :func:`tolerance` (+ ``margin``) of ``p``.

    Each distribution in ``unlike`` must be more than 3 tolerances away, which shows that the
    check can fail. Returns the tolerance.
    """
    tol = tolerance(p, n) + margin
    assert tv(emp, p) < tol, f"TV {tv(emp, p):.4f} >= tolerance {tol:.4f}"
    for q in unlike:
        assert tv(emp, q) > 3 * tol, f"TV to a wrong distribution {tv(emp, q):.4f} <= 3 x {tol:.4f}"
    return tol


# -------------------------------------------------------------------- threads


def on_one_and_two_threads(sample):
    """``(sample() on one numba thread, sample() on two)``; skips where numba has fewer than 2.

    ``sample`` is called once before, so the first kernel launch (which picks eqising's
    threading layer) comes before ``numba.get_num_threads`` starts numba's threads.
    """
    if numba.config.NUMBA_NUM_THREADS < 2:
        pytest.skip("needs at least 2 numba threads to compare with 1")
    sample()
    before = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one = sample()
        numba.set_num_threads(2)
        two = sample()
    finally:
        numba.set_num_threads(before)
    return one, two


# ----------------------------------------------------------------------- data


@pytest.fixture(scope="session", autouse=True)
def _ctrl_c_raises():
    """Ctrl-C raises KeyboardInterrupt in this process and in the processes it starts, as in a terminal.

    A shell starts a background job (``pytest &``, ``nohup``) with SIGINT ignored, and Python then
    installs no handler of its own; the tests that send SIGINT would see nothing happen. Python's
    handler put in place here is reset to the default on ``exec``, so child processes get theirs too.
    """
    if signal.getsignal(signal.SIGINT) is not signal.SIG_IGN:
        yield
        return
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)


@pytest.fixture(scope="session")
def small_digits():
    """200 train / 100 test digits."""
    return load_dataset("digits", train_size=200, test_size=100)


@pytest.fixture(scope="session")
def shared_mnist_dir() -> Path:
    """The shared MNIST folder (:data:`MNIST_DIR`); skips the test where it is absent."""
    if not MNIST_DIR.is_dir():
        pytest.skip(f"shared MNIST folder {MNIST_DIR} is absent")
    return MNIST_DIR
