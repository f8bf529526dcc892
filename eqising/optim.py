"""First-order optimizers acting in place on lists of parameter arrays."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["Adam", "Optimizer", "SGD", "OPTIMIZERS"]


class Optimizer:
    """Base class: ``step(params, grads)`` moves every ``params[i]`` against ``grads[i]``.

    Parameters
    ----------
    learning_rates : sequence of float
        One learning rate per parameter array.
    """

    def __init__(self, learning_rates: Sequence[float]) -> None:
        self.learning_rates = [float(lr) for lr in learning_rates]
        self.state: dict[str, list[np.ndarray]] = {}

    def step(self, params: Sequence[np.ndarray], grads: Sequence[np.ndarray]) -> None:
        raise NotImplementedError


class SGD(Optimizer):
    """Stochastic gradient descent with (heavy-ball) momentum.

    ``v <- momentum * v + g``; ``p <- p - lr * v``.
    """

    def __init__(self, learning_rates: Sequence[float], momentum: float = 0.0) -> None:
        super().__init__(learning_rates)
        self.momentum = float(momentum)

    def step(self, params: Sequence[np.ndarray], grads: Sequence[np.ndarray]) -> None:
        if self.momentum == 0.0:
            for p, g, lr in zip(params, grads, self.learning_rates):
                p -= lr * g
            return
        velocity = self.state.setdefault("velocity", [np.zeros_like(p) for p in params])
        for p, g, v, lr in zip(params, grads, velocity, self.learning_rates):
            v *= self.momentum
            v += g
            p -= lr * v


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

    def step(self, params: Sequence[np.ndarray], grads: Sequence[np.ndarray]) -> None:
        m_all = self.state.setdefault("m", [np.zeros_like(p) for p in params])
        v_all = self.state.setdefault("v", [np.zeros_like(p) for p in params])
        self.t += 1
        d1, d2 = self.decay
        c1, c2 = 1 - d1**self.t, 1 - d2**self.t
        for p, g, m, v, lr in zip(params, grads, m_all, v_all, self.learning_rates):
            m *= d1
            m += (1 - d1) * g
            v *= d2
            v += (1 - d2) * g * g
            p -= lr * (m / c1) / (np.sqrt(v / c2) + self.epsilon)


OPTIMIZERS = {"sgd": SGD, "adam": Adam}
