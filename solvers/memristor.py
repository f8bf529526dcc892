"""Analog Hopfield relaxation on a simulated memristor crossbar (Cai et al., Nat. Electron. 2020).

The couplings of a layered problem are programmed into memristor crossbars, one
array per pair of adjacent layers, each coupling a differential pair of devices
``J ~ G+ - G-``. A neuron (spin) is a comparator: it reads the current that its
neighbours' spin voltages (``+-v_read``) drive through the arrays, digitises it
with an ADC, adds its threshold (the problem's field) and takes the sign. Each
read of a device is noisy; that intrinsic noise, scaled by a feedback gain that
follows the annealing schedule, is the annealing temperature (the intrinsic-noise
annealing of the paper). Whole layers update at once (layer-synchronous), as in
the annealing solver.

Model, in the units of the problem's couplings (``w_scale = max |J|`` maps to
the full conductance range ``g_max - g_min``):

* programming: ``G+ = g_min + (g_max - g_min) max(J, 0) / w_scale`` (``G-``
  likewise from ``max(-J, 0)``), rounded to ``levels`` equally spaced levels,
  plus a Gaussian programming error, clipped to ``[g_min, g_max]``;
* one crossbar read per layer update: ``x_i = sum_j J_eff_ij s_j + noise_i``;
  with a relative read noise ``r`` on every device, the column noise is
  Gaussian with ``sd_i = r sqrt(sum_j G+_ij^2 + G-_ij^2)`` (field units);
* feedback gain: every neuron's noise is scaled by ``g_i(t)`` so that its noise
  amplitude is ``sigma(t) = 0.851 / beta(t)`` for the schedule's inverse
  temperature ``beta(t)`` (see :func:`implied_beta`); the gain is calibrated per
  neuron from its programmed conductances, so all neurons share one temperature;
* ADC: ``adc_bits`` bits (sign included) over ``+-min(fan_in, adc_full_scale)``
  fully-on inputs, saturating;
* comparator: ``s_i = sign(Q(x_i) + h_i)``; a neuron whose input is exactly zero
  keeps its state (so without noise this is Hopfield descent, which never raises
  the energy).

With no programming error, no read noise, ``levels=None`` and ``adc_bits=None``
it is the deterministic layer-synchronous Hopfield descent ``s_i <- sign(f_i)``.
The noise lives in the arrays: a problem without couplings (one layer) has no
crossbar, so its spins settle deterministically to the signs of their fields.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, fields
from typing import Any, ClassVar

import numpy as np

from .._validation import check_float, check_int, check_keys, param_error
from ..ising import IsingBatch
from ..seeding import generator
from .base import Solver, SolverCapabilities, SpinSamples
from .schedule import SCHEDULE_DEFAULTS, AnnealSchedule, check_schedule_params, schedule_betas

__all__ = ["PROBIT_LOGISTIC_SCALE", "MemristorDevice", "MemristorSolver", "ProgrammedCrossbar", "implied_beta"]

#: ``Phi(x) ~ 1 / (1 + exp(-1.702 x))``: the logistic that best matches the Gaussian CDF
#: (max abs difference 0.0095).
PROBIT_LOGISTIC_SCALE = 1.702


def implied_beta(sigma: float | np.ndarray) -> float | np.ndarray:
    """Inverse temperature implied by Gaussian noise of standard deviation ``sigma`` on the local field.

    A comparator spin with local field ``f`` and noise ``sigma`` is +1 with
    probability ``Phi(f / sigma)``; heat-bath sampling at inverse temperature
    ``beta`` (eqising's sign convention, ``E = -f s``) gives
    ``1 / (1 + exp(-2 beta f))``. The logistic approximation of the Gaussian CDF,
    ``Phi(x) ~ 1 / (1 + exp(-1.702 x))``, matches the two with
    ``beta = 1.702 / (2 sigma) = 0.851 / sigma``; the approximation is off by at
    most 0.0095 in probability.
    """
    return PROBIT_LOGISTIC_SCALE / (2.0 * np.asarray(sigma, dtype=float))


@dataclass(frozen=True)
class MemristorDevice:
    """Parameters of a memristor crossbar and its periphery.

    Defaults come from published devices and simulators where a source was at
    hand; the rest are labelled assumptions. Pass your own values to model
    another crossbar (a dict of the fields you change also works as the
    solver's ``device`` parameter).

    Parameters
    ----------
    g_min, g_max : float, default=1e-4, 1e-3
        Conductance range in siemens (100 uS - 1 mS, i.e. 10 kOhm - 1 kOhm):
        the default device of Sandia's CrossSim v3 (``Rmin = 1 kOhm``,
        ``Rmax = 10 kOhm``).
    levels : int or None, default=64
        Programmable conductance levels per device (6 bits), equally spaced in
        ``[g_min, g_max]``; ``None`` for continuous conductances. Assumption: the
        6-bit precision reported for write-and-verify programming of 1T1R
        oxide arrays (Hewlett Packard Labs dot-product engine, Hu et al. 2018);
        not checked against the paper here.
    program_error : float, default=0.01
        Standard deviation of the programming error (Gaussian, per device), as a
        fraction of ``g_max - g_min``. Assumption (1% of range, i.e. below one
        level step of 1/63); CrossSim models it the same way without a default.
    read_noise : float, default=0.03
        Relative standard deviation of a device's conductance at each read
        (CrossSim's "proportional" read-noise model). Assumption; Cai et al.
        (2020) measure the intrinsic noise of their arrays but the number was not
        available here. With the per-neuron feedback gain only whether it is
        zero changes the samples; its size sets the gain needed (reported).
    v_read : float, default=0.1
        Read voltage in volts (CrossSim default ``Vread``).
    t_read : float, default=1e-7
        Duration of one crossbar read in seconds (100 ns, the crossbar read
        cycle of the ISAAC accelerator design, Shafiee et al., ISCA 2016;
        assumption, not checked here).
    adc_bits : int or None, default=9
        ADC resolution including the sign (aihwkit's ``PresetIOParameters``,
        1/510 of the range); ``None`` is an ideal ADC (no quantisation, no
        saturation).
    adc_full_scale : float, default=20.0
        ADC range in fully-on inputs (``v_read * (g_max - g_min)`` each),
        capped at a neuron's fan-in (aihwkit's ``out_bound = 20``: "20 fully-on
        inputs saturate the ADC").
    conversion_energy : float, default=2e-12
        Energy in joules per neuron update: one ADC conversion plus the
        comparator. Assumption: an 8-bit 1.28 GS/s ADC at 2 mW is 1.6 pJ per
        conversion (ISAAC, Shafiee et al. 2016), rounded up for the comparator.
    """

    g_min: float = 1e-4
    g_max: float = 1e-3
    levels: int | None = 64
    program_error: float = 0.01
    read_noise: float = 0.03
    v_read: float = 0.1
    t_read: float = 1e-7
    adc_bits: int | None = 9
    adc_full_scale: float = 20.0
    conversion_energy: float = 2e-12

    def __post_init__(self) -> None:
        owner = "MemristorDevice"
        check_float(self.g_min, "g_min", owner, low=0.0)
        check_float(self.g_max, "g_max", owner, low=0.0, low_open=True)
        if self.g_max <= self.g_min:
            raise param_error("g_max", owner, f"larger than g_min = {self.g_min}", self.g_max)
        if self.levels is not None:
            check_int(self.levels, "levels", owner, low=2)
        check_float(self.program_error, "program_error", owner, low=0.0)
        check_float(self.read_noise, "read_noise", owner, low=0.0)
        check_float(self.v_read, "v_read", owner, low=0.0, low_open=True)
        check_float(self.t_read, "t_read", owner, low=0.0, low_open=True)
        if self.adc_bits is not None:
            check_int(self.adc_bits, "adc_bits", owner, low=2, high=32)
        check_float(self.adc_full_scale, "adc_full_scale", owner, low=0.0, low_open=True)
        check_float(self.conversion_energy, "conversion_energy", owner, low=0.0)

    @classmethod
    def ideal(cls, **changes: Any) -> MemristorDevice:
        """A noiseless, exact device: no programming error or read noise, continuous levels, ideal ADC."""
        base = {"levels": None, "program_error": 0.0, "read_noise": 0.0, "adc_bits": None}
        return cls(**{**base, **changes})


def _as_device(value: Any, owner: str) -> MemristorDevice:
    if value is None:
        return MemristorDevice()
    if isinstance(value, MemristorDevice):
        return value
    names = [f.name for f in fields(MemristorDevice)]
    return MemristorDevice(**check_keys(value, "device", owner, names))


@dataclass(frozen=True, eq=False)
class ProgrammedCrossbar:
    """The conductances a problem's couplings were programmed to, and what the neurons see.

    Attributes
    ----------
    g_plus, g_minus : tuple of ndarray
        Per array, shape ``(layer_sizes[l], layer_sizes[l + 1])``, in siemens.
    w_scale : float
        Coupling mapped to the full conductance range.
    couplings : tuple of ndarray
        Effective couplings ``(G+ - G-) w_scale / (g_max - g_min)``, same shapes.
    noise_sd : tuple of ndarray
        Per layer, shape ``(layer_sizes[l],)``: standard deviation of each
        neuron's read noise in field units, before the feedback gain.
    adc_step, adc_limit : tuple of float
        Per layer ADC step and saturation level in field units (``inf`` and 0
        for an ideal ADC).
    read_conductance : tuple of float
        Per layer, the total conductance read when the layer updates (sum over
        its adjacent arrays of ``G+ + G-``), in siemens.
    arrays_read : tuple of int
        Per layer, how many arrays one update of it reads (0, 1 or 2).
    """

    g_plus: tuple[np.ndarray, ...]
    g_minus: tuple[np.ndarray, ...]
    w_scale: float
    couplings: tuple[np.ndarray, ...]
    noise_sd: tuple[np.ndarray, ...]
    adc_step: tuple[float, ...]
    adc_limit: tuple[float, ...]
    read_conductance: tuple[float, ...]
    arrays_read: tuple[int, ...]


def program_crossbar(batch: IsingBatch, device: MemristorDevice, program_seed: int) -> ProgrammedCrossbar:
    """Program the couplings of ``batch`` into differential conductance pairs.

    The programming error is drawn from the stream
    ``eqising.seeding.generator(program_seed, "crossbar-programming", *words)``
    with ``words`` a digest of the layer sizes and the couplings' bytes: one
    programming per distinct set of weights (per weight update in training),
    shared by every problem and phase that uses those weights, and reproducible.
    """
    d = device
    span = d.g_max - d.g_min
    w_scale = max((float(np.abs(J).max()) for J in batch.couplings if J.size), default=0.0) or 1.0
    digest = hashlib.blake2b(digest_size=16)
    digest.update(np.asarray(batch.layer_sizes, dtype=np.int64).tobytes())
    for J in batch.couplings:
        digest.update(np.ascontiguousarray(J, dtype=np.float64).tobytes())
    words = np.frombuffer(digest.digest(), dtype=np.uint32)
    rng = generator(program_seed, "crossbar-programming", *words.tolist())

    def program(w: np.ndarray) -> np.ndarray:
        g = span * np.maximum(w, 0.0) / w_scale
        if d.levels is not None:
            step = span / (d.levels - 1)
            g = np.round(g / step) * step
        if d.program_error > 0:
            g = g + rng.normal(0.0, d.program_error * span, size=g.shape)
        return np.clip(d.g_min + g, d.g_min, d.g_max)

    g_plus = tuple(program(J) for J in batch.couplings)
    g_minus = tuple(program(-J) for J in batch.couplings)
    eff = tuple((gp - gm) * (w_scale / span) for gp, gm in zip(g_plus, g_minus))
    L = len(batch.layer_sizes)
    sq = [np.zeros(n) for n in batch.layer_sizes]
    fan_in = [0] * L
    read_g = [0.0] * L
    n_arrays = [0] * L
    for l, (gp, gm) in enumerate(zip(g_plus, g_minus)):
        sq[l] += (gp**2 + gm**2).sum(axis=1)
        sq[l + 1] += (gp**2 + gm**2).sum(axis=0)
        for side in (l, l + 1):
            read_g[side] += float(gp.sum() + gm.sum())
            n_arrays[side] += 1
        fan_in[l] += batch.layer_sizes[l + 1]
        fan_in[l + 1] += batch.layer_sizes[l]
    noise_sd = tuple(d.read_noise * np.sqrt(s) * (w_scale / span) for s in sq)
    if d.adc_bits is None:
        step, limit = (0.0,) * L, (np.inf,) * L
    else:
        codes = 2 ** (d.adc_bits - 1) - 1
        limit = tuple(min(f, d.adc_full_scale) * w_scale for f in fan_in)
        step = tuple(x / codes for x in limit)
    return ProgrammedCrossbar(g_plus, g_minus, w_scale, eff, noise_sd, step, limit, tuple(read_g), tuple(n_arrays))


class MemristorSolver(Solver):
    """Memristor-crossbar Hopfield network annealed by its own read noise.

    Parameters
    ----------
    num_sweeps : int, default=50
        Layer-synchronous sweeps of the forward schedule (a sweep updates every
        neuron once).
    beta_range : (float, float) or None, default=None
        Inverse temperatures ``(hot, cold)`` the noise is scaled to; ``None``
        picks them per problem as the annealing solver does
        (:func:`~eqising.solvers.schedule.default_beta_range`).
    reheat : float, default=0.25
        Reverse schedules raise the noise back to the level this fraction of
        the forward schedule's progress from its hot end (noisiest) reaches,
        then damp it again (:mod:`eqising.solvers.schedule`).
    device : MemristorDevice, dict or None, default=None
        Device parameters; a dict changes only the fields it names; ``None`` is
        ``MemristorDevice()``.
    program_seed : int, default=0
        Seeds the programming error together with the couplings (see
        :func:`program_crossbar`).

    Notes
    -----
    ``info['cost']`` holds ``crossbar_reads`` (array reads), ``conversions``
    (ADC conversions + comparator decisions), ``analog_seconds``
    (``crossbar_reads * t_read``) and ``energy_joules`` (``v_read**2 * G * t_read``
    for every device read, plus ``conversion_energy`` per conversion). It does
    not cost programming the arrays or computing the fields (thresholds).
    ``info['noise_gain']`` is the ``(min, max)`` feedback gain the schedule
    needed over the neurons with intrinsic noise.
    """

    name = "memristor"
    capabilities = SolverCapabilities(
        exact=False, finite_temperature=True, reverse_anneal=True, max_spins=None, topology="layered"
    )
    parameters: ClassVar[dict[str, Any]] = {
        **SCHEDULE_DEFAULTS,
        "device": None,
        "program_seed": 0,
        "estimate_temperature": False,
    }

    #: Problems relaxed together; bounds the memory of pre-drawn random numbers.
    chunk_bytes = 32 * 2**20

    def _check_params(self, params: dict[str, Any]) -> dict[str, Any]:
        owner = "solver 'memristor'"
        params = check_schedule_params(params, owner)
        params["device"] = _as_device(params["device"], owner)
        params["program_seed"] = check_int(params["program_seed"], "program_seed", owner, low=0, high=2**63 - 1)
        return params

    def __repr__(self) -> str:
        changed = {k: v for k, v in self.params.items() if k != "device" and v != self.parameters[k]}
        default = asdict(MemristorDevice())
        dev = {k: v for k, v in asdict(self.params["device"]).items() if v != default[k]}
        if dev:
            changed["device"] = dev
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in changed.items())})"

    def _sample(
        self,
        batch: IsingBatch,
        num_reads: int,
        schedule: AnnealSchedule,
        initial_states: np.ndarray | None,
        seeds: np.ndarray,
    ) -> SpinSamples:
        device: MemristorDevice = self.params["device"]
        schedule, betas = schedule_betas(batch, schedule, self.params)
        xbar = program_crossbar(batch, device, self.params["program_seed"])
        spins = _relax_in_chunks(batch, betas, num_reads, initial_states, seeds, xbar, self.chunk_bytes)
        B, R, N, steps = batch.n_problems, num_reads, batch.n_spins, betas.shape[1]
        runs = B * R * steps
        reads = runs * sum(xbar.arrays_read)
        conversions = runs * sum(n for n, a in zip(batch.layer_sizes, xbar.arrays_read) if a)
        device_joules = runs * device.v_read**2 * device.t_read * sum(xbar.read_conductance)
        cost = {
            "crossbar_reads": float(reads),
            "conversions": float(conversions),
            "analog_seconds": reads * device.t_read,
            "energy_joules": device_joules + conversions * device.conversion_energy,
        }
        noisy = np.concatenate(xbar.noise_sd)
        noisy = noisy[noisy > 0]
        sigma = implied_beta(1.0) / betas  # noise amplitude (field units) the schedule asks for
        gain = (float(sigma.min() / noisy.max()), float(sigma.max() / noisy.min())) if noisy.size else (0.0, 0.0)
        info = {
            "spin_updates": int(B * R * N * steps),
            "num_sweeps": int(steps),
            "schedule": schedule.kind,
            "cost": cost,
            "noise_gain": gain,
            "w_scale": xbar.w_scale,
        }
        return SpinSamples(spins, batch.energies(spins), info)


def _relax_in_chunks(
    batch: IsingBatch,
    betas: np.ndarray,
    num_reads: int,
    initial_states: np.ndarray | None,
    seeds: np.ndarray,
    xbar: ProgrammedCrossbar,
    chunk_bytes: int,
) -> np.ndarray:
    """:func:`_relax` over chunks of problems holding about ``chunk_bytes`` of pre-drawn noise.

    Returns the spins, ndarray of shape (n_problems, num_reads, n_spins), dtype int8.
    """
    B, N, steps = batch.n_problems, batch.n_spins, betas.shape[1]
    chunk = max(1, chunk_bytes // (4 * steps * num_reads * N))
    spins = np.empty((B, num_reads, N), dtype=np.int8)
    for lo in range(0, B, chunk):
        sel = slice(lo, min(B, lo + chunk))
        init = None if initial_states is None else initial_states[sel]
        spins[sel] = _relax(batch.select(sel), betas[sel], num_reads, init, seeds[sel], xbar=xbar)
    return spins


def _relax(
    batch: IsingBatch,
    betas: np.ndarray,
    R: int,
    initial_states: np.ndarray | None,
    seeds: np.ndarray,
    *,
    xbar: ProgrammedCrossbar,
) -> np.ndarray:
    """Layer-synchronous comparator updates of a chunk; every problem draws from its own stream.

    Problems and reads are flattened into rows of (B * R, n_l) matrices, so each
    layer update is one matrix product per adjacent array.
    """
    B, N, steps = batch.n_problems, batch.n_spins, betas.shape[1]
    L = len(batch.layer_sizes)
    sl = [batch.layer_slice(l) for l in range(L)]
    noisy = [sd > 0 for sd in xbar.noise_sd]
    start = np.empty((B, R, N), dtype=np.float32)
    noise = np.empty((steps, B, R, N), dtype=np.float32)
    for b, seed in enumerate(seeds):
        rng = generator(int(seed), "memristor")
        start[b] = rng.integers(0, 2, size=(R, N)) * 2 - 1
        noise[:, b] = rng.standard_normal((steps, R, N), dtype=np.float32)
    if initial_states is not None:
        start[:] = initial_states
    noise = noise.reshape(steps, B * R, N)
    # the feedback gain scales each neuron's intrinsic noise to sigma(t) = 0.851 / beta(t)
    sigma = np.repeat((implied_beta(1.0) / betas).astype(np.float32), R, axis=0)  # (B * R, steps)
    start = start.reshape(B * R, N)
    layers = [np.ascontiguousarray(start[:, sl[l]]) for l in range(L)]
    thresholds = [np.repeat(batch.fields[:, sl[l]].astype(np.float32), R, axis=0) for l in range(L)]
    J = [Jl.astype(np.float32) for Jl in xbar.couplings]
    JT = [np.ascontiguousarray(Jl.T) for Jl in J]
    order = list(range(0, L, 2)) + list(range(1, L, 2))
    for step in range(steps):
        for l in order:
            x = np.zeros_like(layers[l])
            if l > 0:
                x += layers[l - 1] @ J[l - 1]
            if l < L - 1:
                x += layers[l + 1] @ JT[l]
            if noisy[l].any():
                x += np.where(noisy[l], noise[step, :, sl[l]], np.float32(0.0)) * sigma[:, step, None]
            if xbar.adc_step[l] > 0:
                limit = np.float32(xbar.adc_limit[l])
                x = np.clip(np.round(x / np.float32(xbar.adc_step[l])) * np.float32(xbar.adc_step[l]), -limit, limit)
            x += thresholds[l]
            layers[l] = np.where(x > 0, np.float32(1.0), np.where(x < 0, np.float32(-1.0), layers[l]))
    return np.concatenate(layers, axis=-1).astype(np.int8).reshape(B, R, N)
