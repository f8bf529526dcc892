"""Write-verify transfer into pulsed devices: convergence, pulse counts, closed forms, bad input."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.utils._param_validation import InvalidParameterError

from eqising.hardware import CbramBackend, EcramBackend, IdealBackend, write_verify

NOISELESS = {"c2c": 0.0, "dw_min_dtod": 0.0, "up_down_dtod": 0.0, "bound_dtod": 0.0, "gamma_dtod": 0.0,
             "w_min": -1.0, "w_max": 1.0, "dw_min": 0.01}


def _targets(seed: int, sizes=((6, 5), (5, 3)), reach: float = 0.9):
    rng = np.random.default_rng(seed)
    weights = [rng.uniform(-reach, reach, shape) for shape in sizes]
    biases = [rng.uniform(-reach, reach, shape[1]) for shape in sizes]
    return weights, biases


def _blank(backend, weights, biases, seed: int = 0):
    backend.program([np.zeros_like(W) for W in weights], [np.zeros_like(b) for b in biases],
                    weight_clip=1.0, bias_clip=1.0, seed=seed)
    return backend


@pytest.mark.parametrize("preset", ["li", "metal-oxide", "organic"])
def test_write_verify_converges_within_tolerance_and_counts_pulses(preset):
    weights, biases = _targets(1)
    backend = _blank(EcramBackend(preset=preset), weights, biases)
    tol = 0.02
    report = backend.write_verify(weights, biases, tolerance=tol)
    assert report.converged_fraction == 1.0
    assert report.max_error <= tol
    held_w, held_b = backend.effective_weights()  # no read noise in the presets: what the solver sees
    for got, want, held in zip(report.weights + report.biases, weights + biases, held_w + held_b):
        assert np.all(np.abs(got - want) <= tol)
        np.testing.assert_array_equal(got, held)
    per_device = np.concatenate(report.pulses_per_device)
    assert per_device.size == sum(W.size + b.size for W, b in zip(weights, biases))
    assert report.pulses == per_device.sum() > 0
    assert report.reads >= per_device.size  # one read per device at least
    p = backend.params
    assert report.write_joules == pytest.approx(report.pulses * p["pulse_joules"])
    assert report.energy_joules == pytest.approx(report.write_joules + report.read_joules)
    assert report.seconds == pytest.approx(report.pulses * p["pulse_seconds"] + report.reads * 1e-7)
    assert 0 < report.parallel_seconds <= report.seconds


def test_noisy_device_needs_more_rounds_than_noiseless():
    weights, biases = _targets(2)
    clean = _blank(EcramBackend(preset="li", **{**NOISELESS, "gamma_up": 0.0, "gamma_down": 0.0}), weights, biases)
    noisy = _blank(EcramBackend(preset="li", w_min=-1.0, w_max=1.0, dw_min=0.01, c2c=0.5), weights, biases)
    r_clean = clean.write_verify(weights, biases, tolerance=0.006)
    r_noisy = noisy.write_verify(weights, biases, tolerance=0.006)
    assert r_clean.rounds == 1
    assert r_noisy.rounds > 1 and r_noisy.converged_fraction == 1.0


@pytest.mark.parametrize(("burst", "aim"), [(True, "center"), (True, "edge"), (False, "center")])
def test_noiseless_constant_step_needs_closed_form_pulses(burst, aim):
    weights, biases = _targets(3)
    backend = _blank(EcramBackend(**NOISELESS, gamma_up=0.0, gamma_down=0.0), weights, biases)
    dw, tol = 0.01, 0.007  # scale 1: clip 1 onto bounds +-1
    report = backend.write_verify(weights, biases, tolerance=tol, burst=burst, aim=aim)
    t = np.abs(np.concatenate([a.ravel() for pair in zip(weights, biases) for a in pair]))
    if burst and aim == "center":  # one burst of round(|t| / dw) pulses, for devices outside the band
        expected = np.where(t > tol, np.rint(t / dw), 0).astype(np.int64)
    else:  # the near edge of the band: the fewest pulses
        expected = np.maximum(np.ceil((t - tol) / dw - 1e-9), 0).astype(np.int64)
    np.testing.assert_array_equal(np.concatenate(report.pulses_per_device), expected)
    assert report.pulses == expected.sum()
    assert report.converged_fraction == 1.0


def test_noiseless_linear_step_needs_geometric_closed_form_pulses():
    """LinearStep from 0: w_n = w* + (0 - w*) r^n, w* = w_max / gamma_up, r = 1 - dw gamma_up / w_max (up)."""
    weights, biases = _targets(4)
    g_up, g_down, dw, tol = 0.5, 0.3, 0.01, 0.01
    backend = _blank(EcramBackend(**NOISELESS, gamma_up=g_up, gamma_down=g_down), weights, biases)
    report = backend.write_verify(weights, biases, tolerance=tol, burst=False)
    t = np.concatenate([a.ravel() for pair in zip(weights, biases) for a in pair])
    fixed_up, r_up = 1.0 / g_up, 1.0 - dw * g_up / 1.0
    fixed_down, r_down = -1.0 / g_down, 1.0 - dw * g_down / 1.0
    n_up = np.ceil(np.log((fixed_up - (t - tol)) / fixed_up) / np.log(r_up) - 1e-9)
    n_down = np.ceil(np.log((fixed_down - (t + tol)) / fixed_down) / np.log(r_down) - 1e-9)
    expected = np.where(np.abs(t) <= tol, 0, np.where(t > 0, n_up, n_down)).astype(np.int64)
    np.testing.assert_array_equal(np.concatenate(report.pulses_per_device), expected)
    assert report.max_error <= tol


def test_pulse_budget_and_patience_stop_unreachable_devices():
    weights, biases = _targets(5)
    backend = _blank(EcramBackend(preset="li"), weights, biases)
    report = backend.write_verify(weights, biases, tolerance=0.001, max_pulses=5)
    assert np.concatenate(report.pulses_per_device).max() <= 5
    assert report.converged_fraction < 1.0
    # CBRAM levels are 0.0625 apart: a band of +-0.001 is reachable only by devices already on a level
    cbram = _blank(CbramBackend(), weights, biases)
    report = cbram.write_verify(weights, biases, tolerance=0.001, patience=3)
    assert report.converged_fraction < 0.2
    assert report.rounds < 100


def test_same_seed_same_transfer():
    weights, biases = _targets(6)
    runs = [_blank(EcramBackend(preset="metal-oxide"), weights, biases, seed=7).write_verify(
        weights, biases, tolerance=0.01) for _ in range(2)]
    assert runs[0].pulses == runs[1].pulses
    for a, b in zip(runs[0].weights, runs[1].weights):
        np.testing.assert_array_equal(a, b)


def test_write_verify_rejects_bad_input_before_pulsing():
    weights, biases = _targets(7)
    backend = _blank(EcramBackend(), weights, biases)
    before = [a.copy() for a in backend.effective_weights()[0]]
    with pytest.raises(InvalidParameterError, match="'tolerance' parameter of write_verify must be"):
        backend.write_verify(weights, biases, tolerance=0.0)
    with pytest.raises(InvalidParameterError, match="'aim' parameter of write_verify must be one of"):
        backend.write_verify(weights, biases, tolerance=0.01, aim="middle")
    with pytest.raises(InvalidParameterError, match="'max_pulses' parameter"):
        backend.write_verify(weights, biases, tolerance=0.01, max_pulses=0)
    with pytest.raises(InvalidParameterError, match="'weights' parameter .* shape"):
        backend.write_verify([weights[0].T, weights[1]], biases, tolerance=0.01)
    with pytest.raises(InvalidParameterError, match="'weights' parameter .* list of 2 arrays"):
        backend.write_verify(weights[:1], biases, tolerance=0.01)
    with pytest.raises(InvalidParameterError, match=r"within \+-1"):
        backend.write_verify([2 * weights[0], weights[1]], biases, tolerance=0.01)
    with pytest.raises(InvalidParameterError, match="NaN"):
        backend.write_verify([np.full_like(weights[0], np.nan), weights[1]], biases, tolerance=0.01)
    for got, want in zip(backend.effective_weights()[0], before):
        np.testing.assert_array_equal(got, want)
    with pytest.raises(InvalidParameterError, match="'backend' parameter of write_verify"):
        write_verify(EcramBackend(), weights, biases, tolerance=0.01)
    ideal = IdealBackend()
    with pytest.raises(InvalidParameterError, match="pulsed backend"):
        write_verify(ideal, weights, biases, tolerance=0.01)


def test_center_aim_hits_the_target_and_edge_aim_stops_short():
    weights, biases = _targets(8)
    dw, tol = 0.01, 0.03
    report = {}
    for aim in ("center", "edge"):
        backend = _blank(EcramBackend(**NOISELESS, gamma_up=0.0, gamma_down=0.0), weights, biases)
        report[aim] = backend.write_verify(weights, biases, tolerance=tol, aim=aim)
    t = np.concatenate([a.ravel() for pair in zip(weights, biases) for a in pair])
    held = {aim: np.concatenate([a.ravel() for pair in zip(r.weights, r.biases) for a in pair])
            for aim, r in report.items()}
    outside = np.abs(t) > tol
    assert np.abs(held["center"] - t)[outside].max() <= dw / 2 + 1e-12
    assert np.all(np.abs(held["edge"][outside]) <= np.abs(t[outside]) + 1e-12)  # short of the target, toward 0
    assert np.abs(held["edge"] - t)[outside].mean() > tol - dw
    assert report["edge"].pulses < report["center"].pulses
