"""Peer samplers for ``bench_annealer.py --only peers``: neal, thrml (JAX) and dwave-pytorch-plugin (torch).

Each function samples the same :class:`~eqising.ising.IsingBatch` (B problems x R reads) for S sweeps
at the inverse temperatures ``betas`` (one per sweep: constant for fixed-temperature sampling,
geometric for annealing) and returns spins of shape (B, R, n_spins) in eqising's spin order.
Imports happen inside the functions: the peers are the optional ``bench`` extra.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np

from eqising.ising import IsingBatch

__all__ = ["neal_spins", "plugin_spins", "thrml_sampler"]


def neal_spins(batch: IsingBatch, reads: int, betas: np.ndarray, criterion: str, threads: int) -> np.ndarray:
    """dwave-samplers' SimulatedAnnealingSampler, one BQM per problem (built inside the timing)."""
    from dwave.samplers import SimulatedAnnealingSampler

    sampler = SimulatedAnnealingSampler()

    def one(b: int) -> np.ndarray:
        ss = sampler.sample(
            batch.to_bqm(b), num_reads=reads, num_sweeps=len(betas), beta_schedule_type="custom",
            beta_schedule=betas, proposal_acceptance_criteria=criterion, seed=b,
        )
        return ss.record.sample[:, np.argsort(ss.variables)]

    if threads == 1:
        return np.stack([one(b) for b in range(batch.n_problems)])
    with ThreadPoolExecutor(threads) as pool:
        return np.stack(list(pool.map(one, range(batch.n_problems))))


def thrml_sampler(batch: IsingBatch, reads: int, betas: np.ndarray, seed: int):
    """A compiled thrml block-Gibbs run (two colour blocks: the two spin layers), chains vmapped.

    Returns a function of no arguments giving spins (B, R, n_spins); call it once to compile.
    Only two-layer (one hidden layer) batches. thrml's beta is a model constant, so an anneal is
    one one-sweep program per beta, scanned.
    """
    import jax
    import jax.numpy as jnp
    from thrml import Block, SamplingSchedule, SpinNode, sample_states
    from thrml.models import IsingEBM, IsingSamplingProgram, hinton_init

    n1, n2 = batch.layer_sizes
    nodes = [SpinNode() for _ in range(n1 + n2)]
    edges = [(nodes[i], nodes[n1 + j]) for i in range(n1) for j in range(n2)]
    weights = jnp.asarray(batch.couplings[0].ravel(), dtype=jnp.float32)
    blocks = [Block(nodes[:n1]), Block(nodes[n1:])]
    fields = jnp.asarray(np.repeat(batch.fields, reads, axis=0), dtype=jnp.float32)  # (B*R, n)
    beta_arr = jnp.asarray(betas, dtype=jnp.float32)
    one_sweep = SamplingSchedule(n_warmup=1, n_samples=1, steps_per_sample=1)

    def chain(key, bias):
        def program(beta):
            model = IsingEBM(nodes, edges, bias, weights, beta)
            return model, IsingSamplingProgram(model, blocks, [])

        model, _ = program(beta_arr[0])
        key, k0 = jax.random.split(key)
        state = hinton_init(k0, model, blocks, ())

        def step(carry, beta):
            state, key = carry
            key, k = jax.random.split(key)
            _, prog = program(beta)
            out = sample_states(k, prog, one_sweep, state, [], blocks)
            return ([o[0] for o in out], key), None

        (state, _), _ = jax.lax.scan(step, (state, key), beta_arr)
        return jnp.concatenate(state)

    run = jax.jit(jax.vmap(chain))
    keys = jax.random.split(jax.random.key(seed), fields.shape[0])

    def sample() -> np.ndarray:
        out = np.asarray(jax.block_until_ready(run(keys, fields)))
        return (2 * out.astype(np.int8) - 1).reshape(batch.n_problems, reads, n1 + n2)

    return sample


def plugin_spins(batch: IsingBatch, reads: int, betas: np.ndarray, seed: int, models: list) -> np.ndarray:
    """dwave-pytorch-plugin's BlockSampler (Gibbs, two colour blocks), one model per problem.

    Its biases are per model, not per chain, so per-example fields need one model per
    problem (``models``, from :func:`plugin_models`, built outside the timing).
    """
    import torch
    from dwave.plugins.torch.samplers import BlockSampler

    n1 = batch.layer_sizes[0]
    out = []
    for b, grbm in enumerate(models):
        sampler = BlockSampler(
            grbm, lambda v: 0 if v < n1 else 1, reads, [float(x) for x in betas], "Gibbs", seed=seed + b
        )
        with torch.no_grad():
            out.append(sampler.sample().numpy())
    return np.stack(out).astype(np.int8)


def plugin_models(batch: IsingBatch) -> list:
    """One GraphRestrictedBoltzmannMachine per problem, in dimod's sign (its energy is h s + J s s)."""
    from dwave.plugins.torch.models import GraphRestrictedBoltzmannMachine

    linear, (rows, cols, quadratic) = batch.to_dimod_arrays()
    edges = list(zip(rows.tolist(), cols.tolist()))
    quad = dict(zip(edges, quadratic.tolist()))
    nodes = list(range(batch.n_spins))
    return [
        GraphRestrictedBoltzmannMachine(nodes, edges, linear=dict(zip(nodes, linear[b].tolist())), quadratic=quad)
        for b in range(batch.n_problems)
    ]
