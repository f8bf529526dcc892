"""Step sizes scaled by fan-in: the factors, and that the optimizer steps with them."""

from __future__ import annotations

import numpy as np
import pytest

from eqising import EqPropClassifier
from eqising._validation import InvalidParameterError
from eqising.engine import REFERENCE_FAN_IN

CHEAP = {"batch_size": 25, "solver_params": {"num_sweeps": 10}, "max_iter": 1, "random_state": 0}


def _settings(**params):
    return EqPropClassifier(**params)._resolve()[0]


@pytest.mark.parametrize(
    "sizes,expected",
    [((784, 120, 40), [1.0, 1.0]),
     ((784, 256, 128, 40), [1.0, REFERENCE_FAN_IN / 256, REFERENCE_FAN_IN / 128]),
     ((64, 512, 40), [1.0, REFERENCE_FAN_IN / 512]),
     ((64, 16, 40), [1.0, 1.0])],  # a narrow layer never steps more than learning_rate
)
def test_fan_in_factors(sizes, expected):
    assert _settings(step_scaling="fan-in").weight_step_scales(sizes) == pytest.approx(expected)
    sqrt = _settings(step_scaling="sqrt-fan-in").weight_step_scales(sizes)
    assert sqrt == pytest.approx(np.sqrt(expected))
    assert _settings(step_scaling="none").weight_step_scales(sizes) == [1.0] * (len(sizes) - 1)


def test_the_optimizer_steps_each_matrix_with_its_factor(small_digits):
    clf = EqPropClassifier(hidden_layer_sizes=(240, 30), step_scaling="fan-in", optimizer="sgd",
                           learning_rate=0.01, learning_rate_decay=0.5, **CHEAP)
    clf.fit(small_digits.X_train, small_digits.y_train)
    rates = clf.engine_.optimizer.learning_rates
    # epoch 0: weights 0.01 x (1, 120/240, 1), biases 0.001 unscaled
    assert rates == pytest.approx([0.01, 0.005, 0.01, 0.001, 0.001, 0.001])


def test_scaled_steps_move_a_wide_layer_less(small_digits):
    kwargs = {"hidden_layer_sizes": (480,), "optimizer": "sgd", "learning_rate": 0.01, **CHEAP}
    plain = EqPropClassifier(**kwargs, step_scaling="none").fit(small_digits.X_train, small_digits.y_train)
    scaled = EqPropClassifier(**kwargs, step_scaling="fan-in").fit(small_digits.X_train, small_digits.y_train)
    init = EqPropClassifier(**{**kwargs, "max_iter": 1})
    init._initialize(*init._resolve(), small_digits.X_train.shape[1], np.arange(10))
    moved = [np.abs(m.network_.weights[1] - init.network_.weights[1]).sum() for m in (plain, scaled)]
    assert 0 < moved[1] < moved[0]


def test_unknown_step_scaling_is_refused(small_digits):
    with pytest.raises(InvalidParameterError, match="'step_scaling' parameter of EqPropClassifier must be"):
        EqPropClassifier(step_scaling="depth").fit(small_digits.X_train, small_digits.y_train)


@pytest.mark.parametrize(
    "hidden,rate,decay,reads",
    [((120,), 0.004, 0.95, 1), ((256, 128), 0.002, 0.97, 2), ((64, 32, 16), 0.001, 0.97, 2)],
)
def test_automatic_step_size_decay_and_reads_follow_depth(hidden, rate, decay, reads):
    s = _settings(hidden_layer_sizes=hidden)
    assert (s.learning_rate, s.learning_rate_decay, s.phase_reads) == pytest.approx((rate, decay, reads))
    assert s.bias_learning_rate == pytest.approx(rate / 10)


def test_explicit_step_size_and_decay_are_kept_whatever_the_depth():
    s = _settings(hidden_layer_sizes=(256, 128), learning_rate=0.004, learning_rate_decay=0.9, phase_reads=1)
    assert (s.learning_rate, s.learning_rate_decay, s.phase_reads) == (0.004, 0.9, 1)
    # a backend's suggestion is the one-hidden-layer rate, divided the same way
    s = _settings(hidden_layer_sizes=(32, 16), backend="mcu-int8", solver=None)
    assert s.learning_rate == pytest.approx(0.01)
    assert s.phase_reads == 1  # the device requires one read per phase, whatever the depth
