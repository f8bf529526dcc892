"""The ``mcu-int8`` backend: a microcontroller that runs whole EqProp steps in integer arithmetic.

The weights live as int8 with per-output-channel scales (:mod:`.model`). Unlike
the other backends, which turn the optimizer's desired changes into device
writes, this one trains *in situ*: its :meth:`~McuInt8Backend.training_engine`
is the device engine (:mod:`.training`), which hands it each minibatch
(:meth:`McuInt8Backend.train_step`) to anneal, nudge and update in integers
exactly as the exported C library does; prediction is the integer inference
(:meth:`McuInt8Backend.scores`). It declares what the device computes in
:attr:`McuInt8Backend.requirements`.
:meth:`McuInt8Backend.apply` (the float-optimizer path) is still available:
it writes a desired change as int8 steps with quantisation-aware scaling and
stochastic rounding.
"""

from __future__ import annotations

import json
from typing import Any, ClassVar

import numpy as np

from ..._validation import Described, check_float, check_int, param_error
from ...seeding import generator
from ...solvers.base import check_beta_range
from ..base import WeightBackend, zero_cost
from .engine import energies, external_fields, infer, inference_reads, train_step
from .fixed import ONE, quantize_inputs
from .model import Int8Model, memory_budget
from .sparse import frozen_sram, row_contributions, select_trainable_rows

__all__ = ["McuInt8Backend", "int8_device_for"]


class McuInt8Backend(WeightBackend):
    """int8 weights, integer annealer and integer EqProp update (a microcontroller).

    Parameters
    ----------
    num_sweeps : int, default=50
        Sweeps of the free-phase anneal (the nudged phase reverse-anneals
        ``2 * (num_sweeps - reheat * num_sweeps) - 1`` steps).
    beta_range : (float, float), default=(0.05, 6.5)
        Inverse temperatures of the geometric schedule (hot, cold); fixed on
        the device, where the float annealer picks them per problem (these
        are that rule's values on the digits network).
    reheat : float, default=0.25
        Reverse anneals reheat to this fraction of the schedule.
    scale_headroom : float, default=2.0
        Initial per-channel scale: ``127`` steps span ``scale_headroom`` times
        the channel's largest initial weight (a channel whose weights
        saturate later doubles its scale).
    ram_budget : int or None, default=None
        Bytes of RAM available; a network whose training state (see
        :func:`~eqising.hardware.mcu.memory_budget`) does not fit is refused
        (checked when programmed, before sparse update has chosen its rows).
    sparse_update : int or None, default=None
        Sparse update (:mod:`.sparse`): bytes of SRAM for the training state
        (``memory_budget(...)['sram']['total']``). At the first training step
        (:meth:`choose_sparse_update`, which the estimator's device engine
        calls on the training data before it) a contribution analysis chooses the weight rows
        (input channels) that are updated; the others are frozen (``const``
        in flash in the exported C). ``None``: every weight is updated.
    sparse_probe_steps : int, default=8
        Probe steps of the contribution analysis.
    """

    name: ClassVar[str] = "mcu-int8"
    #: What the device computes: its own annealer (no solver), plain integer SGD, positive
    #: nudging, one read per phase, unweighted targets.
    requirements: ClassVar[dict[str, Any]] = {
        "solver": None, "optimizer": "sgd", "momentum": 0.0, "nudge_mode": "positive", "phase_reads": 1,
        "balanced_nudge": False,
    }
    #: Integer SGD needs larger steps than the float default's Adam (0.02: 0.96 on digits, see the README).
    defaults: ClassVar[dict[str, Any]] = {"learning_rate": 0.02}
    parameters: ClassVar[dict[str, Any]] = {
        "num_sweeps": 50, "beta_range": (0.05, 6.5), "reheat": 0.25, "scale_headroom": 2.0, "ram_budget": None,
        "sparse_update": None, "sparse_probe_steps": 8,
    }
    OWNER: ClassVar[str] = "backend 'mcu-int8'"
    #: Reads annealed together at prediction (bounds the emulation's memory).
    chunk_rows: ClassVar[int] = 8192

    def _check_params(self, params: dict[str, Any]) -> dict[str, Any]:
        owner = self.OWNER
        params["num_sweeps"] = check_int(params["num_sweeps"], "num_sweeps", owner, low=1, high=10_000)
        params["beta_range"] = check_beta_range(params["beta_range"], "beta_range", owner)
        params["reheat"] = check_float(params["reheat"], "reheat", owner, low=0.0, high=1.0, high_open=True)
        params["scale_headroom"] = check_float(params["scale_headroom"], "scale_headroom", owner, low=1.0)
        if params["ram_budget"] is not None:
            params["ram_budget"] = check_int(params["ram_budget"], "ram_budget", owner, low=1)
        if params["sparse_update"] is not None:
            params["sparse_update"] = check_int(params["sparse_update"], "sparse_update", owner, low=1)
        params["sparse_probe_steps"] = check_int(params["sparse_probe_steps"], "sparse_probe_steps", owner, low=1,
                                                 high=10_000)
        return params

    # ------------------------------------------------------------- protocol
    def _program(
        self,
        weights: list[np.ndarray],
        biases: list[np.ndarray],
        *,
        weight_clip: float | None,
        bias_clip: float | None,
        seed: int,
    ) -> None:
        """Quantise the parameters into the int8 model (see :class:`WeightBackend`).

        Uses :attr:`field_clip` (fields are clipped on the device) and
        :attr:`batch_size` (examples per training step, for the memory
        budget) as given to :meth:`program`. The device needs finite clips;
        ``None`` is refused.
        """
        field_clip = self.field_clip
        for name, value in (("weight_clip", weight_clip), ("bias_clip", bias_clip), ("field_clip", field_clip)):
            if value is None:
                raise param_error(name, self.OWNER, "a finite float > 0 (int8 weights need a range)", value)
        p = self.params
        self.model = Int8Model.from_float(
            weights, biases, weight_clip=weight_clip, bias_clip=bias_clip, field_clip=field_clip,
            beta_range=p["beta_range"], num_sweeps=p["num_sweeps"], reheat=p["reheat"], headroom=p["scale_headroom"],
        )
        self._rng = generator(seed, "stochastic-rounding")
        self._stats = {"saturations": 0, "rescales": 0, "steps_written": 0, "steps": 0}
        self._check_sparse_budget()
        self.check_budget()

    def _check_sparse_budget(self) -> None:
        """Refuse an SRAM budget below the training state with every weight frozen; take every row if all fit."""
        budget = self.params["sparse_update"]
        if budget is None:
            return
        least = frozen_sram(self.model, self.batch_size)
        if budget < least:
            sizes = "-".join(map(str, self.model.layer_sizes))
            raise param_error(
                "sparse_update", self.OWNER,
                f"at least the SRAM of network {sizes} with batch {self.batch_size} and every weight frozen "
                f"({least} bytes)", Described(f"{budget} bytes"),
            )
        full = memory_budget(self.model.layer_sizes, self.batch_size, self.model.num_sweeps)["sram"]["total"]
        if budget >= full:
            self.model.trainable = [np.ones(q.shape[0], dtype=bool) for q in self.model.q]

    def memory(self) -> dict[str, dict[str, int]]:
        """Exact device bytes of this model's training and inference state (SRAM and flash apart)."""
        return memory_budget(self.model.layer_sizes, self.batch_size, self.model.num_sweeps, self.model.frozen_rows())

    def check_budget(self) -> None:
        """Refuse a model whose training state exceeds ``ram_budget``."""
        budget = self.params["ram_budget"]
        need = self.memory()["training"]["total"]
        if budget is not None and need > budget:
            sizes = "-".join(map(str, self.model.layer_sizes))
            raise param_error(
                "ram_budget", self.OWNER,
                f"at least the training state of network {sizes} with batch {self.batch_size} ({need} bytes)",
                Described(f"{budget} bytes"),
            )

    def effective_weights(self) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """Dequantised weights ``q * m / 2**16`` and biases ``b / 2**16``."""
        return self.model.dequantized()

    def _apply(self, layer: int, weight_delta: np.ndarray, bias_delta: np.ndarray) -> dict[str, float]:
        """Write a desired real change as int8 steps: ``delta / scale``, stochastically rounded, saturated."""
        model, cost = self.model, zero_cost()
        m = model.m[layer].astype(np.float64)
        steps = weight_delta * ONE / m[None, :]
        steps = np.floor(steps + self._rng.random(steps.shape)).astype(np.int64)
        if model.trainable is not None:
            steps[~model.trainable[layer], :] = 0
        limit = model.qmax(layer)[None, :]
        new = model.q[layer].astype(np.int64) + steps
        clamped = np.clip(new, -limit, limit)
        bias = model.b[layer].astype(np.int64) + np.floor(bias_delta * ONE + self._rng.random(bias_delta.shape)).astype(np.int64)
        bias_clamped = np.clip(bias, -model.bias_clip_q, model.bias_clip_q)
        cost["pulses"] = float(np.abs(clamped - model.q[layer]).sum())
        cost["saturations"] = float((clamped != new).sum() + (bias_clamped != bias).sum())
        model.q[layer] = clamped.astype(np.int8)
        model.b[layer] = bias_clamped.astype(np.int32)
        self._stats["saturations"] += int(cost["saturations"])
        self._stats["steps_written"] += int(cost["pulses"])
        return cost

    def diagnostics(self) -> dict[str, Any]:
        return {"memory_bytes": self.memory(), **{k: int(v) for k, v in self._stats.items()}}

    def state(self) -> dict[str, np.ndarray]:
        stats = np.array([self._stats[k] for k in sorted(self._stats)], dtype=np.int64)
        return {**self.model.to_arrays(), "rng": np.array(json.dumps(self._rng.bit_generator.state)), "stats": stats}

    def load_state(self, state: dict[str, np.ndarray]) -> None:
        self.model = Int8Model.from_arrays(state)
        if "rng" in state:  # saved since checkpoints: the stochastic rounding continues where it stopped
            self._rng.bit_generator.state = json.loads(str(state["rng"]))
        if "stats" in state:
            self._stats = dict(zip(sorted(self._stats), (int(v) for v in state["stats"])))
        self.check_budget()

    # -------------------------------------------------------------- in situ
    def training_engine(self, network: Any, solver: Any, optimizer: Any, settings: Any) -> Any:
        """The device engine: whole steps in the device's integer arithmetic (``solver`` and ``optimizer`` unused:
        :attr:`requirements` makes the estimator pass none and plain SGD)."""
        from .training import Int8DeviceEngine

        return Int8DeviceEngine(network, self, settings)

    def _inputs(self, X: np.ndarray) -> np.ndarray:
        lo, hi = float(np.min(X)), float(np.max(X))
        if lo < 0.0 or hi > 1.0:
            raise param_error(
                "X", self.OWNER, "inputs in [0, 1] (the device reads uint8 min(255, round(256 x)))",
                Described(f"values in [{lo:.4g}, {hi:.4g}]"),
            )
        return quantize_inputs(X)

    def train_step(
        self,
        X: np.ndarray,
        targets: np.ndarray,
        *,
        nudge: float,
        learning_rate: float,
        bias_learning_rate: float,
        skip_correct: bool,
        seed: int,
    ) -> tuple[np.ndarray, np.ndarray, list[dict[str, float]], dict[str, dict[str, float]]]:
        """One integer EqProp step (positive nudging) on a minibatch, as the device runs it.

        Parameters
        ----------
        X : ndarray of shape (n_examples, n_in)
            Inputs in [0, 1].
        targets : ndarray of shape (n_examples, n_out)
            +-1 output targets.
        nudge, learning_rate, bias_learning_rate : float
            Converted to ``nudge_q = round(nudge 2**16)`` and
            ``lr_q = round(lr / nudge 2**24)``.
        skip_correct : bool
        seed : int
            uint32 step seed.

        Returns
        -------
        free : ndarray of int8, shape (n_examples, 1, n_spins)
            Free-phase spins.
        energies : ndarray of shape (n_examples, 1)
            Their energies as the device computes them (Q16 integers / 2**16).
        costs : list of dict
            Backend cost record per layer (``pulses`` = int8 steps written,
            ``saturations``; the other keys of ``COST_KEYS`` are zero).
        solver_cost : dict of str to dict
            Per phase: ``solver_seconds`` and ``spin_updates``.
        """
        xq = self._inputs(X)
        hp = {"nudge_q": int(round(nudge * ONE)), "lr_q": int(round(learning_rate / nudge * 2**24)),
              "lr_bias_q": int(round(bias_learning_rate / nudge * 2**24)), "skip_correct": bool(skip_correct)}
        t = np.sign(targets).astype(np.int8)
        if self.params["sparse_update"] is not None and self.model.trainable is None:
            scores = row_contributions(self.model, xq, t, steps=self.params["sparse_probe_steps"], seed=int(seed), **hp)
            self.model.trainable = select_trainable_rows(
                self.model, scores, sram_budget=self.params["sparse_update"], batch_size=self.batch_size)
        res = train_step(self.model, xq, t, seed=int(seed), **hp)
        costs = []
        for written, saturations in zip(res.steps_written, res.saturations):
            cost = zero_cost()
            cost["pulses"], cost["saturations"] = float(written), float(saturations)
            costs.append(cost)
        for key, value in (("saturations", sum(res.saturations)), ("rescales", sum(res.rescales)),
                           ("steps_written", sum(res.steps_written)), ("steps", 1)):
            self._stats[key] += int(value)
        phases = {
            "free": {"solver_seconds": res.seconds[0], "spin_updates": res.spin_updates[0]},
            "nudged": {"solver_seconds": res.seconds[1], "spin_updates": res.spin_updates[1]},
        }
        ext = external_fields(self.model, xq)
        free_energies = energies(self.model, ext, res.free).astype(np.float64) / ONE
        return res.free[:, None, :], free_energies[:, None], costs, phases

    def choose_sparse_update(
        self, X: np.ndarray, targets: np.ndarray, *, nudge: float, learning_rate: float, bias_learning_rate: float,
        skip_correct: bool, seed: int,
    ) -> None:
        """Run the contribution analysis of ``sparse_update`` on a slice of the data (nothing if none is pending).

        The probe runs ``sparse_probe_steps`` full steps on a copy of the model, step ``k`` on minibatch
        ``k`` of a random slice of ``sparse_probe_steps * batch_size`` examples (drawn from ``seed``),
        and keeps the rows with the largest change per byte within the budget (:mod:`.sparse`).

        Parameters
        ----------
        X : ndarray of shape (n_examples, n_in)
        targets : ndarray of shape (n_examples, n_out)
        nudge, learning_rate, bias_learning_rate, skip_correct
            As for :meth:`train_step`.
        seed : int
        """
        if self.params["sparse_update"] is None or self.model.trainable is not None:
            return
        steps, B = self.params["sparse_probe_steps"], self.batch_size
        pick = generator(seed, "sparse-probe-slice").permutation(len(X))[:steps * B]
        xq = self._inputs(X[pick])
        scores = row_contributions(
            self.model, xq, np.sign(targets[pick]).astype(np.int8), steps=steps, seed=seed, batch_size=B,
            nudge_q=int(round(nudge * ONE)), lr_q=int(round(learning_rate / nudge * 2**24)),
            lr_bias_q=int(round(bias_learning_rate / nudge * 2**24)), skip_correct=bool(skip_correct),
        )
        self.model.trainable = select_trainable_rows(self.model, scores, sram_budget=self.params["sparse_update"],
                                                     batch_size=B)

    def scores(self, X: np.ndarray, *, num_reads: int, seed: int, n_classes: int) -> np.ndarray:
        """Integer inference scores as floats: the device's integer scores / (100 num_reads replicas).

        Equal to :func:`eqising.eqprop.class_scores` of the integer anneal's reads.

        Returns
        -------
        ndarray of shape (n_examples, n_classes)
        """
        xq = self._inputs(X)
        replicas = self.model.layer_sizes[-1] // n_classes
        chunk = max(1, self.chunk_rows // num_reads)  # predictions depend only on each example: chunks are free
        scores = np.concatenate([
            infer(self.model, xq[i:i + chunk], seed=int(seed) & 0xFFFFFFFF, num_reads=num_reads, n_classes=n_classes)
            for i in range(0, len(xq), chunk)
        ]) if len(xq) else np.zeros((0, n_classes), dtype=np.int64)
        return scores / (100.0 * num_reads * replicas)


    def reads(self, X: np.ndarray, *, num_reads: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
        """The reads :meth:`scores` predicts from, and their energies (Q16 integers / 2**16).

        Returns
        -------
        spins : ndarray of int8, shape (n_examples, num_reads, n_spins)
        energies : ndarray of shape (n_examples, num_reads)
        """
        xq = self._inputs(X)
        chunk = max(1, self.chunk_rows // num_reads)
        parts = [inference_reads(self.model, xq[i:i + chunk], seed=int(seed) & 0xFFFFFFFF, num_reads=num_reads)
                 for i in range(0, len(xq), chunk)]
        if not parts:
            return np.zeros((0, num_reads, self.model.n_spins), dtype=np.int8), np.zeros((0, num_reads))
        return (np.concatenate([p[0] for p in parts]),
                np.concatenate([p[1] for p in parts]).astype(np.float64) / ONE)


def int8_device_for(
    backend: WeightBackend, network: Any, settings: Any, batch_size: int
) -> tuple[McuInt8Backend, bool]:
    """The int8 device holding a trained network, for export.

    Parameters
    ----------
    backend : WeightBackend
        The backend the network was trained on.
    network : LayeredIsingNetwork
    settings : TrainingSettings
        Its clips (``weight_clip``, ``bias_clip``, ``field_clip``).
    batch_size : int
        Largest training batch the device's scratch holds.

    Returns
    -------
    device : McuInt8Backend
        ``backend`` itself when it is an int8 device, else a new one that
        quantises the float weights as the device would hold them.
    quantised : bool
        Whether the weights were quantised from float here.
    """
    if isinstance(backend, McuInt8Backend):
        return backend, False
    device = McuInt8Backend()
    device.program(
        network.weights, network.biases, weight_clip=settings.weight_clip, bias_clip=settings.bias_clip,
        field_clip=settings.field_clip, seed=0, batch_size=batch_size,
    )
    return device, True
