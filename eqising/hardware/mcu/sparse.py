"""Sparse update of the int8 device: which weight rows training may change under an SRAM budget.

After Lin et al. (NeurIPS 2022, "On-Device Training Under 256KB Memory"): only
the parts of the network that contribute most are updated; the rest stay
``const`` in flash. Here the candidates are the rows of every weight matrix
(the input channels of a layer: a pixel's weights in the input matrix, a
hidden spin's outgoing weights in the others; a row of matrix ``l`` costs
``n_{l+1}`` bytes of SRAM when updated). Their contribution is measured by a
cheap proxy instead of Lin et al.'s freeze-and-retrain probes: the real weight
change (``sum_j |delta q_ij| m_j``, Q16) each row takes in a short probe of full
integer steps on a copy of the model. A row whose inputs never vary (a blank
border pixel) takes no change and is the first to freeze. Rows are chosen by
change per byte until the training state's SRAM (:func:`~.model.memory_budget`)
reaches the budget; the choice is a function of the model, the probe batch and
the seed only.
"""

from __future__ import annotations

import numpy as np

from ...seeding import derive
from .engine import train_step
from .model import Int8Model, memory_budget

__all__ = ["frozen_sram", "row_contributions", "select_trainable_rows"]

_SEED_MASK = 0xFFFFFFFF


def frozen_sram(model: Int8Model, batch_size: int) -> int:
    """SRAM bytes of the training state with every weight frozen (the smallest sparse update)."""
    return memory_budget(model.layer_sizes, batch_size, model.num_sweeps, model.layer_sizes[:-1])["sram"]["total"]


def row_contributions(
    model: Int8Model, xq: np.ndarray, targets: np.ndarray, *, steps: int, seed: int, nudge_q: int, lr_q: int,
    lr_bias_q: int, skip_correct: bool, batch_size: int | None = None,
) -> list[np.ndarray]:
    """Real weight change of every row over ``steps`` full integer steps on a copy of ``model``.

    Parameters
    ----------
    model : Int8Model
        Left unchanged.
    xq : ndarray of uint8, shape (n_examples, n_in)
    targets : ndarray of int8, shape (n_examples, n_out)
    steps : int
        Probe steps; step ``k`` uses the seed ``derive(seed, 'sparse-probe', k)``.
    seed : int
    nudge_q, lr_q, lr_bias_q, skip_correct
        As for :func:`~.engine.train_step`.
    batch_size : int or None
        Step ``k`` trains on rows ``k B .. (k + 1) B - 1`` of ``xq`` (cyclically); ``None``: on all of them.

    Returns
    -------
    list of ndarray of int64
        Entry ``l`` of shape (n_l,): the updates' real change ``sum_j |delta q_ij| m_j`` (Q16) summed
        over the steps (:attr:`~.engine.StepResult.row_changes`; a rescale's rounding is not a contribution).
    """
    probe = model.copy()
    probe.trainable = None
    score = [np.zeros(q.shape[0], dtype=np.int64) for q in probe.q]
    n = len(xq)
    for k in range(steps):
        rows = np.arange(n) if batch_size is None else (k * batch_size + np.arange(batch_size)) % n
        res = train_step(probe, xq[rows], targets[rows], seed=derive(seed, "sparse-probe", k) & _SEED_MASK, nudge_q=nudge_q,
                         lr_q=lr_q, lr_bias_q=lr_bias_q, skip_correct=skip_correct)
        for l, change in enumerate(res.row_changes):
            score[l] += change
    return score


def select_trainable_rows(
    model: Int8Model, contributions: list[np.ndarray], *, sram_budget: int, batch_size: int
) -> list[np.ndarray]:
    """The rows to update: highest contribution per byte first, while the training SRAM stays within budget.

    Parameters
    ----------
    model : Int8Model
    contributions : list of ndarray
        Per matrix, one score per row (:func:`row_contributions`).
    sram_budget : int
        Bytes of SRAM for the training state (``memory_budget(...)['sram']['total']``);
        at least :func:`frozen_sram`.
    batch_size : int

    Returns
    -------
    list of ndarray of bool
        ``trainable[l]`` of shape (n_l,). Ties go to the earlier matrix, then the earlier row.
    """
    sizes = model.layer_sizes
    cands = [(l, i) for l in range(len(model.q)) for i in range(sizes[l])]
    density = np.array([contributions[l][i] / sizes[l + 1] for l, i in cands], dtype=np.float64)
    order = np.argsort(-density, kind="stable")
    trainable = [np.zeros(sizes[l], dtype=bool) for l in range(len(model.q))]
    frozen = list(sizes[:-1])
    for c in order:
        l, i = cands[c]
        frozen[l] -= 1
        if memory_budget(sizes, batch_size, model.num_sweeps, frozen)["sram"]["total"] <= sram_budget:
            trainable[l][i] = True
        else:
            frozen[l] += 1
    return trainable
