"""The dwave path, offline: ``dwave-mock`` (MockDWaveSampler + AnnealEmulator) and ``dwave`` up to
the network call. The mocked chip is a small Pegasus graph (P4) so that these run in seconds."""

from __future__ import annotations

import os

import dimod
import numpy as np
import pytest

from eqising._validation import InvalidParameterError
from eqising.ising import IsingBatch
from eqising.solvers import AnnealSchedule, all_spin_states, make_solver
from eqising.solvers.ocean.dwave_mock import AnnealEmulator, estimate_timing
from eqising.solvers.ocean.dwave_solver import DWaveTimeoutError, DWaveUnavailableError, _ordered

pytest.importorskip("dwave.system")


def random_batch(layer_sizes, n_problems, rng, j_scale=1.0, h_scale=1.0) -> IsingBatch:
    couplings = tuple(rng.normal(0.0, j_scale, size=(a, b)) for a, b in zip(layer_sizes, layer_sizes[1:]))
    return IsingBatch(
        tuple(layer_sizes), couplings, rng.normal(0.0, h_scale, size=(n_problems, sum(layer_sizes)))
    )


def mock(tmp_path, **params):
    return make_solver("dwave-mock", {"topology_shape": 4, "embedding_cache": str(tmp_path), **params})


def spy(monkeypatch, solver):
    """Record (bqm, kwargs, sampleset) of every call that reaches the (mock) QPU sampler.

    The mock must route its calls through the sampler (``through_dimod=True``)."""
    assert solver.params.get("through_dimod", True)
    calls = []
    sampler = solver.sampler
    original = sampler.sample

    def sample(bqm, **kwargs):
        out = original(bqm, **kwargs)
        calls.append((bqm, kwargs, out))
        return out

    monkeypatch.setattr(sampler, "sample", sample)
    return calls


# ------------------------------------------------------------- embedding
def test_embedding_is_found_once_and_reused_from_disk(tmp_path, monkeypatch):
    import eqising.solvers.ocean.embedding as embedding

    searches = []
    original = embedding.find_parallel_embeddings

    def counting(*args, **kwargs):
        searches.append(args[0])
        return original(*args, **kwargs)

    monkeypatch.setattr(embedding, "find_parallel_embeddings", counting)
    rng = np.random.default_rng(0)
    batch = random_batch((6, 4), 3, rng)
    solver = mock(tmp_path)
    free = solver.sample(batch, num_reads=2, seed=0)
    for step in range(3):  # a training loop: free and nudged phases, new fields every step
        other = IsingBatch(batch.layer_sizes, batch.couplings, rng.normal(size=batch.fields.shape))
        solver.sample(other, num_reads=2, seed=step)
        solver.sample(
            other, num_reads=2, schedule=AnnealSchedule("reverse"), initial_states=free.spins, seed=step
        )
    assert searches == [(6, 4)]
    assert len(list(tmp_path.glob("*.json"))) == 1
    # a new solver (a new run) loads it from the cache folder without searching
    again = mock(tmp_path)
    again.sample(batch, num_reads=2, seed=0)
    assert searches == [(6, 4)]
    assert again.embedding((6, 4)).qubits.tolist() == solver.embedding((6, 4)).qubits.tolist()
    # a deeper network is embedded by minorminer, once
    deep = random_batch((3, 4, 3), 2, rng)
    solver.sample(deep, num_reads=1, seed=0)
    solver.sample(deep, num_reads=1, seed=1)
    assert searches == [(6, 4), (3, 4, 3)]


def test_network_that_does_not_fit_is_a_clear_error(tmp_path):
    solver = make_solver("dwave-mock", {"topology_shape": 2, "embedding_cache": str(tmp_path)})
    batch = random_batch((40, 40), 1, np.random.default_rng(1))
    with pytest.raises(
        InvalidParameterError, match=r"'batch' parameter of DWaveMockSolver.sample .*fits the QPU"
    ):
        solver.sample(batch)


# ------------------------------------------------------ chains and scaling
@pytest.mark.parametrize("chain_strength", [None, 0.3])
def test_logical_samples_decoded_from_chains_are_the_returned_spins(tmp_path, monkeypatch, chain_strength):
    batch = random_batch((6, 4), 3, np.random.default_rng(2))
    solver = mock(tmp_path, chain_strength=chain_strength, beta=2.0, max_copies=1, through_dimod=True)
    calls = spy(monkeypatch, solver)
    out = solver.sample(batch, num_reads=8, seed=3)
    emb = solver.embedding((6, 4))
    broken_total = 0
    for b, (_, _, sampleset) in enumerate(calls):
        physical = _ordered(sampleset, emb.qubits)
        for v, chain in enumerate(emb.chains):
            values = physical[:, chain]
            intact = np.all(values == values[:, :1], axis=1)
            # an intact chain decodes to its value; a broken one to the value of one of its qubits
            np.testing.assert_array_equal(out.spins[b, intact, v], values[intact, 0])
            assert np.all(np.any(values == out.spins[b, :, v, None], axis=1))
            broken_total += int((~intact).sum())
    n_chains = 3 * 8 * batch.n_spins
    assert out.info["diagnostics"]["chain_break_fraction"] == pytest.approx(broken_total / n_chains)
    np.testing.assert_allclose(out.energies, batch.energies(out.spins))


@pytest.mark.parametrize("h_scale, j_scale", [(0.1, 0.1), (1.0, 1.0), (10.0, 3.0)])
def test_scaling_keeps_every_bias_inside_the_ranges(tmp_path, monkeypatch, h_scale, j_scale):
    batch = random_batch((6, 4), 4, np.random.default_rng(4), j_scale=j_scale, h_scale=h_scale)
    solver = mock(tmp_path, through_dimod=True)
    calls = spy(monkeypatch, solver)
    out = solver.sample(batch, num_reads=1, seed=0)
    props = solver.sampler.properties
    (hlo, hhi), (jlo, jhi) = props["h_range"], props["j_range"]
    for bqm, kwargs, _ in calls:
        h = np.array(list(bqm.linear.values()))
        J = np.array(list(bqm.quadratic.values()))
        assert kwargs["auto_scale"] is False
        assert hlo - 1e-12 <= h.min() and h.max() <= hhi + 1e-12
        assert jlo - 1e-12 <= J.min() and J.max() <= jhi + 1e-12
        # the scale is the tightest one: some bias sits on the edge of its range
        assert max(h.max() / hhi, h.min() / hlo, J.max() / jhi, J.min() / jlo) == pytest.approx(1.0)
    assert out.info["diagnostics"]["scale"] > 0


def test_fixed_scale_is_applied_or_rejected(tmp_path, monkeypatch):
    batch = random_batch((6, 4), 2, np.random.default_rng(5), j_scale=0.2, h_scale=0.2)
    solver = mock(tmp_path, scale=2.0, chain_strength=1.0, through_dimod=True)
    calls = spy(monkeypatch, solver)
    solver.sample(batch, num_reads=1, seed=0)
    emb = solver.embedding((6, 4))
    linear, (_, _, quadratic) = batch.to_dimod_arrays()
    h, _ = emb.embed(linear, quadratic, 1.0)
    programmed = np.array([calls[0][0].linear[q] for q in emb.qubits])
    np.testing.assert_allclose(programmed, h[0] / 2.0)
    too_small = mock(tmp_path, scale=0.1, chain_strength=1.0)
    with pytest.raises(
        InvalidParameterError, match=r"'scale' parameter of solver 'dwave-mock' must be at least"
    ):
        too_small.sample(batch, num_reads=1, seed=0)


def test_emulator_rejects_out_of_range_biases_like_a_qpu():
    bqm = dimod.BinaryQuadraticModel({0: 5.0, 1: 0.0}, {(0, 1): -0.5}, 0.0, "SPIN")
    with pytest.raises(InvalidParameterError, match="h_range"):
        AnnealEmulator().sample(bqm, auto_scale=False)
    bqm = dimod.BinaryQuadraticModel({0: 0.0, 1: 0.0}, {(0, 1): -1.5}, 0.0, "SPIN")
    with pytest.raises(InvalidParameterError, match="j_range"):
        AnnealEmulator().sample(bqm, auto_scale=False)


# ---------------------------------------------------------- reverse anneal
def test_reverse_anneal_parameters_reach_the_sampler(tmp_path, monkeypatch):
    rng = np.random.default_rng(6)
    batch = random_batch((6, 4), 2, rng)
    init = np.array(
        [[[1] * 10, [-1] * 10, [1, -1] * 5], [[1, -1] * 5, [-1] * 10, [1, -1] * 5]], dtype=np.int8
    )
    # one problem per call (max_copies=1): problem 0: three start states -> three calls of 1 read;
    # problem 1: two reads share one -> 2 calls
    solver = mock(tmp_path, reverse_ramp_time=7.0, max_copies=1, through_dimod=True)
    calls = spy(monkeypatch, solver)
    solver.sample(
        batch, num_reads=3, schedule=AnnealSchedule("reverse", reheat=0.6), initial_states=init, seed=2
    )
    emb = solver.embedding((6, 4))
    assert sorted(kw["num_reads"] for _, kw, _ in calls[:3]) == [1, 1, 1]
    assert sorted(kw["num_reads"] for _, kw, _ in calls[3:]) == [1, 2]
    for _bqm, kw, _ in calls:
        assert kw["anneal_schedule"] == [[0.0, 1.0], [7.0, 0.6], [14.0, 1.0]]
        assert kw["reinitialize_state"] is True and kw["auto_scale"] is False and kw["answer_mode"] == "raw"
        assert "annealing_time" not in kw
        state = np.array([kw["initial_state"][q] for q in emb.qubits])
        logical = state[np.concatenate([[0], np.cumsum(emb.chain_length)[:-1]])]
        np.testing.assert_array_equal(state, logical[emb.qubit_var])  # every chain starts intact
        assert any(np.array_equal(logical, s) for s in init.reshape(-1, batch.n_spins))
    # the solver's default turning point, and a forward anneal's parameters
    calls.clear()
    solver.sample(batch, num_reads=1, schedule=AnnealSchedule("reverse"), initial_states=init[:, :1], seed=2)
    assert calls[0][1]["anneal_schedule"][1] == [7.0, 0.25]
    calls.clear()
    solver.sample(batch, num_reads=1, seed=2)
    assert calls[0][1]["annealing_time"] == 20.0 and "anneal_schedule" not in calls[0][1]


def planted(layer_sizes, rng):
    """Zero fields, couplings c_ij g_i g_j with c >= 0.5: ground states exactly +g and -g."""
    g = (2 * rng.integers(0, 2, size=sum(layer_sizes)) - 1).astype(np.int8)
    offsets = np.concatenate([[0], np.cumsum(layer_sizes)])
    couplings = tuple(
        rng.uniform(0.5, 1.5, size=(a, b))
        * np.outer(g[offsets[l] : offsets[l + 1]], g[offsets[l + 1] : offsets[l + 2]])
        for l, (a, b) in enumerate(zip(layer_sizes, layer_sizes[1:]))
    )
    return IsingBatch(tuple(layer_sizes), couplings, np.zeros((1, sum(layer_sizes)))), g


def test_emulated_reverse_anneal_starts_from_the_initial_state(tmp_path):
    """Turning at s=0.99 keeps each read in the ground state it started from (+g or -g); turning
    at s=0 melts the state, and the reads land in +g or -g at random."""
    batch, g = planted((5, 5), np.random.default_rng(7))
    solver = mock(tmp_path, beta=20.0)
    init = (np.where(np.arange(16) % 2 == 0, 1, -1)[:, None] * g[None, :]).astype(np.int8)[None]
    shallow = solver.sample(
        batch, num_reads=16, schedule=AnnealSchedule("reverse", reheat=0.99), initial_states=init, seed=0
    )
    np.testing.assert_array_equal(shallow.spins, init)
    plus = np.broadcast_to(g, init.shape).copy()
    deep = solver.sample(
        batch, num_reads=16, schedule=AnnealSchedule("reverse", reheat=0.0), initial_states=plus, seed=0
    )
    up = np.all(deep.spins == g, axis=-1)
    down = np.all(deep.spins == -g, axis=-1)
    assert np.all(up | down) and up.any() and down.any()


# -------------------------------------------------------- contract subset
def test_mock_keeps_the_solver_contract(tmp_path):
    rng = np.random.default_rng(8)
    batch = random_batch((3, 4, 3), 4, rng)
    solver = mock(tmp_path, beta=20.0)
    seeds = np.array([11, 12, 13, 14])
    out = solver.sample(batch, num_reads=20, seed=seeds)
    assert out.spins.shape == (4, 20, 10) and out.spins.dtype == np.int8
    np.testing.assert_allclose(out.energies, batch.energies(out.spins))
    np.testing.assert_array_equal(out.spins, solver.sample(batch, num_reads=20, seed=seeds).spins)
    assert not np.array_equal(out.spins, solver.sample(batch, num_reads=20, seed=seeds + 100).spins)
    # a problem's samples do not depend on its place in the batch
    alone = solver.sample(batch.select([2]), num_reads=20, seed=seeds[[2]])
    np.testing.assert_array_equal(alone.spins[0], out.spins[2])
    # cold: the lowest read of each problem is its ground state
    states = all_spin_states(10)
    ground = batch.energies(np.broadcast_to(states, (4,) + states.shape)).min(axis=1)
    np.testing.assert_allclose(out.energies.min(axis=1), ground, atol=1e-9)


@pytest.mark.parametrize(
    "kwargs, name",
    [({"num_sweeps": 10}, "schedule"), ({"beta_range": (1.0, 2.0)}, "schedule")],
)
def test_qpu_schedules_have_no_sweeps_or_temperatures(tmp_path, kwargs, name):
    batch = random_batch((3, 4), 1, np.random.default_rng(9))
    with pytest.raises(InvalidParameterError, match=f"'{name}' parameter of DWaveMockSolver.sample"):
        mock(tmp_path).sample(batch, schedule=AnnealSchedule(**kwargs))
    with pytest.raises(InvalidParameterError, match="'initial_states' parameter of DWaveMockSolver.sample"):
        mock(tmp_path).sample(batch, initial_states=np.ones((1, 1, 7)))


# ----------------------------------------------------------------- cost
def test_qpu_cost_model_and_its_accounting(tmp_path, monkeypatch):
    t0 = estimate_timing(500, 0, {"annealing_time": 20.0})
    t1 = estimate_timing(500, 1, {"annealing_time": 20.0})
    t10 = estimate_timing(500, 10, {"annealing_time": 20.0})
    # programming (Advantage4.1 typical 14,072.88 us + 1,000 us thermalization) + reads x per-read time
    assert t0["qpu_access_time"] == pytest.approx(14072.88 + 1000.0)
    per_read = t1["qpu_access_time"] - t0["qpu_access_time"]
    assert per_read > 20.0 + 20.54  # anneal + delay + readout
    assert t10["qpu_access_time"] == pytest.approx(t0["qpu_access_time"] + 10 * per_read)
    assert t10["qpu_programming_time"] + t10["qpu_sampling_time"] == pytest.approx(t10["qpu_access_time"])
    batch = random_batch((6, 4), 3, np.random.default_rng(10))
    solver = mock(tmp_path, max_copies=1, through_dimod=True)
    calls = spy(monkeypatch, solver)
    out = solver.sample(batch, num_reads=4, seed=0)
    expected = sum(estimate_timing(len(bqm), 4, kw)["qpu_access_time"] for bqm, kw, _ in calls) * 1e-6
    assert out.info["cost"]["qpu_calls"] == 3
    assert out.info["cost"]["qpu_access_seconds"] == pytest.approx(expected)
    assert out.cost["qpu_access_seconds"] == pytest.approx(expected)  # summed per phase by the trainer


# ------------------------------------------------------- the real path
def test_dwave_path_up_to_the_network_call(tmp_path, monkeypatch):
    """--solver dwave with DWaveSampler replaced by a mock of the chip: same calls, real timing fields."""
    import dwave.system
    from dwave.system.testing import MockDWaveSampler

    configs = []

    def fake_sampler(**config):
        configs.append(config)
        return MockDWaveSampler(
            topology_type="pegasus",
            topology_shape=[4],
            parameter_warnings=False,
            substitute_sampler=AnnealEmulator(beta=5.0),
        )

    monkeypatch.setattr(dwave.system, "DWaveSampler", fake_sampler)
    solver = make_solver(
        "dwave",
        {"qpu_solver": "Advantage_system4.1", "timeout": 30.0, "embedding_cache": str(tmp_path), "max_copies": 1},
    )
    calls = spy(monkeypatch, solver)
    batch = random_batch((6, 4), 2, np.random.default_rng(11))
    free = solver.sample(batch, num_reads=3, seed=0)
    nudged = solver.sample(
        batch, num_reads=3, schedule=AnnealSchedule("reverse"), initial_states=free.spins, seed=1
    )
    assert configs == [{"polling_timeout": 30.0, "solver": "Advantage_system4.1"}]
    assert nudged.spins.shape == (2, 3, 10)
    assert all(kw["auto_scale"] is False and kw["answer_mode"] == "raw" for _, kw, _ in calls)
    # costs come from the QPU's own timing fields (the mock reports 8,550.28 us per call)
    assert free.info["cost"]["qpu_access_seconds"] == pytest.approx(2 * 8550.28e-6)


def test_dwave_without_a_token_is_a_clear_error(tmp_path, monkeypatch):
    for var in [k for k in os.environ if k.startswith("DWAVE")]:
        monkeypatch.delenv(var)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    solver = make_solver("dwave", {"embedding_cache": str(tmp_path)})
    batch = random_batch((3, 4), 1, np.random.default_rng(12))
    with pytest.raises(DWaveUnavailableError, match=r"API token.*DWAVE_API_TOKEN.*dwave-mock"):
        solver.sample(batch)


def test_timeouts_are_retried_a_bounded_number_of_times(tmp_path, monkeypatch):
    from dwave.cloud.exceptions import PollingTimeout

    solver = mock(tmp_path, retries=2, through_dimod=True)
    attempts = []

    def timing_out(bqm, **kwargs):
        attempts.append(1)
        raise PollingTimeout("no answer")

    monkeypatch.setattr(solver.sampler, "sample", timing_out)
    batch = random_batch((3, 4), 1, np.random.default_rng(13))
    with pytest.raises(DWaveTimeoutError, match="timed out 3 times"):
        solver.sample(batch)
    assert len(attempts) == 3
    # a call that times out once and then answers succeeds
    original = type(solver.sampler).sample
    flaky = iter([True, False, False, False])

    def once(bqm, **kwargs):
        if next(flaky):
            raise PollingTimeout("slow")
        return original(solver.sampler, bqm, **kwargs)

    monkeypatch.setattr(solver.sampler, "sample", once)
    assert solver.sample(batch, num_reads=2, seed=0).spins.shape == (1, 2, 7)


@pytest.mark.parametrize(
    "params, name",
    [
        ({"chain_strength": -1.0}, "chain_strength"),
        ({"scale": 0.0}, "scale"),
        ({"reheat": 1.0}, "reheat"),
        ({"retries": -1}, "retries"),
        ({"annealing_time": 0.0}, "annealing_time"),
        ({"qpu_solver": 3}, "qpu_solver"),
    ],
)
def test_bad_dwave_params(params, name):
    with pytest.raises(InvalidParameterError, match=f"'{name}' parameter of solver 'dwave'"):
        make_solver("dwave", params)


# ------------------------------------------------------ several problems per call
@pytest.mark.parametrize("layer_sizes", [(6, 4), (3, 4, 3)])
def test_parallel_embeddings_are_disjoint_valid_copies(tmp_path, layer_sizes):
    from dwave.embedding import is_valid_embedding

    solver = mock(tmp_path)
    par = solver.parallel_embedding(layer_sizes)
    assert par.n_copies >= 2
    assert np.unique(par.labels).size == par.labels.size  # no qubit in two copies
    offsets = np.concatenate([[0], np.cumsum(layer_sizes)])
    source = [
        (offsets[l] + i, offsets[l + 1] + j)
        for l in range(len(layer_sizes) - 1)
        for i in range(layer_sizes[l])
        for j in range(layer_sizes[l + 1])
    ]
    graph = solver.sampler.to_networkx_graph()
    for labels in par.labels:
        copy = {v: labels[chain].tolist() for v, chain in enumerate(par.base.chains)}
        assert is_valid_embedding(copy, source, graph)
    # cached: a new solver reads the same copies back; max_copies caps them
    again = mock(tmp_path).parallel_embedding(layer_sizes)
    np.testing.assert_array_equal(again.labels, par.labels)
    assert mock(tmp_path, max_copies=2).parallel_embedding(layer_sizes).n_copies == 2
    assert mock(tmp_path, max_copies=1).parallel_embedding(layer_sizes).n_copies == 1


def _layered_source(layer_sizes):
    offsets = np.concatenate([[0], np.cumsum(layer_sizes)])
    return [
        (offsets[l] + i, offsets[l + 1] + j)
        for l in range(len(layer_sizes) - 1)
        for i in range(layer_sizes[l])
        for j in range(layer_sizes[l + 1])
    ]


@pytest.mark.parametrize(("m", "layer_sizes"), [(4, (6, 4)), (4, (4, 6)), (6, (30, 10)), (6, (10, 30)), (6, (20, 20))])
def test_pegasus_line_embedding_is_a_valid_embedding_of_straight_lines(m, layer_sizes):
    from dwave.embedding import is_valid_embedding
    from dwave.graphs import pegasus_coordinates, pegasus_graph

    from eqising.solvers.ocean.embedding import pegasus_line_embedding

    graph, coords = pegasus_graph(m), pegasus_coordinates(m)
    chains = pegasus_line_embedding(layer_sizes, graph, m)
    assert sorted(chains) == list(range(sum(layer_sizes)))
    assert is_valid_embedding(chains, _layered_source(layer_sizes), graph)
    for chain in chains.values():  # one straight line: same orientation and track, consecutive positions
        u, w, k, z = np.array([coords.linear_to_pegasus(q) for q in chain]).T
        assert len(set(zip(u, w, k))) == 1 and np.array_equal(z, np.arange(z[0], z[0] + len(chain)))
    large, small = max(layer_sizes), min(layer_sizes)  # the larger layer on short lines
    lengths = [len(chains[v]) for v in range(sum(layer_sizes))]
    first, second = lengths[: layer_sizes[0]], lengths[layer_sizes[0] :]
    short, long_ = (first, second) if layer_sizes[0] >= layer_sizes[1] else (second, first)
    assert set(short) == {-(-(small + 8) // 12)} and set(long_) == {-(-(large + 8) // 12)}


@pytest.mark.parametrize(("n_large", "n_small"), [(1, 1), (4, 4), (5, 4), (16, 5), (17, 16), (120, 40), (120, 20)])
def test_line_lengths_are_the_shortest_lines_crossing_the_other_layer(n_large, n_small):
    from eqising.solvers.ocean.embedding import line_lengths

    short, long_ = line_lengths(n_large, n_small)
    for length, crossed in ((short, n_small), (long_, n_large)):  # a line of L qubits crosses 12 L - 8 tracks
        assert 12 * length - 8 >= crossed and (length == 1 or 12 * (length - 1) - 8 < crossed)


def test_pegasus_line_embedding_moves_off_inactive_qubits_and_refuses_what_does_not_fit():
    from dwave.embedding import is_valid_embedding
    from dwave.graphs import pegasus_graph

    from eqising.solvers.ocean.embedding import pegasus_line_embedding

    m, layer_sizes = 6, (30, 10)
    graph = pegasus_graph(m)
    first = pegasus_line_embedding(layer_sizes, graph, m)
    broken = graph.copy()
    broken.remove_node(first[0][0])
    moved = pegasus_line_embedding(layer_sizes, broken, m)
    assert moved and first[0][0] not in {q for chain in moved.values() for q in chain}
    assert is_valid_embedding(moved, _layered_source(layer_sizes), broken)
    assert pegasus_line_embedding((80, 40), graph, m) == {}  # lines longer than P6's tracks
    for bad in [(3, 4, 3), (0, 4), (2.5, 4)]:
        with pytest.raises(InvalidParameterError, match="'layer_sizes' parameter of pegasus_line_embedding"):
            pegasus_line_embedding(bad, graph, m)
    with pytest.raises(InvalidParameterError, match="'m' parameter of pegasus_line_embedding"):
        pegasus_line_embedding(layer_sizes, graph, 4)  # P6's labels do not fit P4


def test_120_and_40_spin_layers_get_four_copies_on_p16_without_a_search(monkeypatch):
    """The 784-120-40 network's spin layers: four disjoint line copies on P16, mirrored and not
    (the minorminer box search found three); no minorminer search runs."""
    import minorminer
    from dwave.embedding import is_valid_embedding
    from dwave.graphs import pegasus_coordinates, pegasus_graph

    from eqising.solvers.ocean.embedding import find_parallel_embeddings

    def no_search(*args, **kwargs):
        raise AssertionError("minorminer searched")

    monkeypatch.setattr(minorminer, "find_embedding", no_search)
    m, layer_sizes = 16, (120, 40)
    graph, coords = pegasus_graph(m), pegasus_coordinates(m)
    copies = find_parallel_embeddings(layer_sizes, graph, {"type": "pegasus", "shape": [m]})
    assert len(copies) == 4
    source = _layered_source(layer_sizes)
    assert all(is_valid_embedding(copy, source, graph) for copy in copies)
    qubits = [q for copy in copies for chain in copy.values() for q in chain]
    assert len(qubits) == len(set(qubits)) == 4 * 920
    orientation = [coords.linear_to_pegasus(copy[0][0])[0] for copy in copies]
    assert set(orientation) == {0, 1}  # translations alone give three: the fourth is a mirror image


@pytest.mark.parametrize("m", [3, 4, 6])
def test_the_pegasus_mirror_is_an_automorphism(m):
    from dwave.graphs import pegasus_coordinates, pegasus_graph

    from eqising.solvers.ocean.embedding import pegasus_mirror

    graph, coords = pegasus_graph(m), pegasus_coordinates(m)

    def mirrored(q):
        return coords.pegasus_to_linear(pegasus_mirror(*coords.linear_to_pegasus(q), m))

    assert sorted(mirrored(q) for q in graph.nodes) == sorted(graph.nodes)
    assert all(graph.has_edge(mirrored(a), mirrored(b)) for a, b in graph.edges)


def test_pegasus_images_add_a_mirrored_copy_where_no_translation_fits(monkeypatch):
    """Two whole-length lines (a vertical and a horizontal one) cannot be translated: the only other copy
    is their mirror image, on the opposite lines of the chip."""
    from dwave.graphs import pegasus_coordinates, pegasus_graph

    import eqising.solvers.ocean.embedding as embedding

    m = 4
    graph, coords = pegasus_graph(m), pegasus_coordinates(m)
    base = {
        0: [coords.pegasus_to_linear((0, 0, 2, z)) for z in range(m - 1)],
        1: [coords.pegasus_to_linear((1, 0, 2, z)) for z in range(m - 1)],
    }
    copies = embedding.pegasus_images(base, graph, m)
    assert len(copies) == 2 and copies[0] == base
    mirror = {v: [coords.pegasus_to_linear(embedding.pegasus_mirror(*coords.linear_to_pegasus(q), m)) for q in chain]
              for v, chain in base.items()}
    assert copies[1] == mirror
    monkeypatch.setattr(embedding, "pegasus_mirror", lambda u, w, k, z, m: (u, w, k, z))
    assert embedding.pegasus_images(base, graph, m) == [base]  # translations alone: the base only


def test_pegasus_images_refuse_a_wrong_size_or_foreign_qubits():
    from dwave.graphs import pegasus_graph

    from eqising.solvers.ocean.embedding import pegasus_images

    graph = pegasus_graph(4)
    with pytest.raises(InvalidParameterError, match="'m' parameter of pegasus_images"):
        pegasus_images({0: [next(iter(graph.nodes))]}, graph, 3)
    with pytest.raises(InvalidParameterError, match="'base' parameter of pegasus_images.*10000"):
        pegasus_images({0: [10_000]}, graph, 4)


def test_a_problem_on_a_mirrored_copy_samples_as_on_copy_0(tmp_path):
    from dwave.graphs import pegasus_coordinates

    solver = mock(tmp_path, beta=2.0)
    par = solver.parallel_embedding((3, 4, 3))
    coords = pegasus_coordinates(4)
    orientation = [coords.linear_to_pegasus(int(q))[0] for q in par.labels[:, 0]]
    assert len(set(orientation)) == 2  # some copies are mirror images (vertical and horizontal qubits swapped)
    batch = random_batch((3, 4, 3), par.n_copies, np.random.default_rng(5))
    seeds = np.arange(par.n_copies) + 40
    together = solver.sample(batch, num_reads=6, seed=seeds)  # one call, problem c on copy c
    assert together.info["cost"]["qpu_calls"] == 1
    for c in range(par.n_copies):
        alone = solver.sample(batch.select([c]), num_reads=6, seed=seeds[[c]])  # on copy 0
        np.testing.assert_array_equal(alone.spins[0], together.spins[c])


def test_pegasus_images_keep_only_images_on_working_qubits_and_couplers():
    from dwave.graphs import pegasus_coordinates, pegasus_graph

    from eqising.solvers.ocean.embedding import pegasus_images

    m = 4
    graph, coords = pegasus_graph(m), pegasus_coordinates(m)
    base = {0: [coords.pegasus_to_linear((0, 1, 2, 0)), coords.pegasus_to_linear((0, 1, 2, 1))]}  # one chain
    everywhere = pegasus_images(base, graph, m)
    assert len(everywhere) > 2
    q = everywhere[1][0][0]
    broken = graph.copy()
    broken.remove_node(q)  # an inactive qubit: no image over it
    fewer = pegasus_images(base, broken, m)
    assert all(q not in copy[0] for copy in fewer) and len(fewer) >= len(everywhere) - 1
    cut = graph.copy()
    cut.remove_edge(*everywhere[1][0])  # a missing coupler inside the chain's image
    assert all(copy[0] != everywhere[1][0] for copy in pegasus_images(base, cut, m))
    used = {q for copy in everywhere for q in copy[0]}
    assert len(used) == 2 * len(everywhere)  # disjoint


def test_one_call_anneals_several_problems_and_decodes_each_copy(tmp_path, monkeypatch):
    solver = mock(tmp_path, beta=2.0, through_dimod=True)
    par = solver.parallel_embedding((6, 4))
    batch = random_batch((6, 4), par.n_copies + 1, np.random.default_rng(14))
    calls = spy(monkeypatch, solver)
    out = solver.sample(batch, num_reads=8, seed=3)
    assert [len(bqm) for bqm, _, _ in calls] == [par.n_copies * par.base.qubits.size, par.base.qubits.size]
    assert out.info["cost"]["qpu_calls"] == 2 and out.info["cost"]["qpu_examples"] == batch.n_problems
    assert out.info["diagnostics"]["copies_per_call"] == pytest.approx(batch.n_problems / 2)
    assert out.info["diagnostics"]["qpu_access_seconds_per_example"] == pytest.approx(
        out.info["cost"]["qpu_access_seconds"] / batch.n_problems
    )
    first = _ordered(calls[0][2], par.labels.ravel())
    Q = par.base.qubits.size
    for b in range(par.n_copies):  # problem b on copy b of the first call
        physical = first[:, b * Q : (b + 1) * Q]
        for v, chain in enumerate(par.base.chains):
            values = physical[:, chain]
            intact = np.all(values == values[:, :1], axis=1)
            np.testing.assert_array_equal(out.spins[b, intact, v], values[intact, 0])
            assert np.all(np.any(values == out.spins[b, :, v, None], axis=1))
    # each copy's fields are its own problem's, scaled by its own scale into the ranges
    linear, (_, _, quadratic) = batch.to_dimod_arrays()
    h, J = par.base.embed(linear, quadratic, out.info["diagnostics"]["chain_strength"])
    bqm = calls[0][0]
    (hlo, hhi), (jlo, jhi) = solver.sampler.properties["h_range"], solver.sampler.properties["j_range"]
    for b in range(par.n_copies):
        programmed = np.array([bqm.linear[q] for q in par.labels[b]])
        scale = np.max(np.abs(h[b])) / hhi
        ratio = programmed / h[b]
        assert np.allclose(ratio, ratio[0]) and 1 / ratio[0] >= scale * (1 - 1e-9)
        assert programmed.min() >= hlo - 1e-12 and programmed.max() <= hhi + 1e-12
    assert all(jlo - 1e-12 <= J <= jhi + 1e-12 for J in bqm.quadratic.values())


def test_array_path_and_dimod_path_give_the_same_samples(tmp_path):
    batch = random_batch((3, 4, 3), 5, np.random.default_rng(15))
    fast, slow = mock(tmp_path, beta=3.0), mock(tmp_path, beta=3.0, through_dimod=True)
    a = fast.sample(batch, num_reads=6, seed=4)
    b = slow.sample(batch, num_reads=6, seed=4)
    np.testing.assert_array_equal(a.spins, b.spins)
    ra = fast.sample(batch, num_reads=6, schedule=AnnealSchedule("reverse"), initial_states=a.spins, seed=5)
    rb = slow.sample(batch, num_reads=6, schedule=AnnealSchedule("reverse"), initial_states=a.spins, seed=5)
    np.testing.assert_array_equal(ra.spins, rb.spins)
    assert a.info["cost"] == pytest.approx(b.info["cost"]) and ra.info["cost"] == pytest.approx(rb.info["cost"])


def test_several_problems_per_call_sample_as_one_per_call(tmp_path):
    """A problem's reads in a full call equal its reads alone in a call of one copy (forward and
    reverse anneals), and the QPU access time per example falls about as the number of copies."""
    batch = random_batch((3, 4), 1, np.random.default_rng(16), j_scale=0.4, h_scale=0.4)
    solver = mock(tmp_path, beta=1.0, num_sweeps=30)
    n = solver.parallel_embedding((3, 4)).n_copies
    wide = IsingBatch(batch.layer_sizes, batch.couplings, np.repeat(batch.fields, 2 * n, axis=0))
    seeds = np.arange(2 * n)
    full = solver.sample(wide, num_reads=5, seed=seeds)
    init = full.spins[:, ::-1]
    back = solver.sample(wide, num_reads=5, schedule=AnnealSchedule("reverse"), initial_states=init, seed=seeds)
    for j in range(2 * n):
        alone = solver.sample(wide.select([j]), num_reads=5, seed=seeds[[j]])
        np.testing.assert_array_equal(alone.spins[0], full.spins[j])
        alone = solver.sample(
            wide.select([j]), num_reads=5, schedule=AnnealSchedule("reverse"), initial_states=init[[j]],
            seed=seeds[[j]],
        )
        np.testing.assert_array_equal(alone.spins[0], back.spins[j])
    one = mock(tmp_path, beta=1.0, num_sweeps=30, max_copies=1).sample(wide, num_reads=5, seed=seeds)
    per_many = full.info["diagnostics"]["qpu_access_seconds_per_example"]
    per_one = one.info["diagnostics"]["qpu_access_seconds_per_example"]
    assert full.info["cost"]["qpu_calls"] == 2 and one.info["cost"]["qpu_calls"] == 2 * n
    assert per_one > 0.8 * n * per_many


def test_emulator_samples_boltzmann_at_fixed_s():
    """At a fixed inverse temperature (every sweep at s), single-qubit and chain moves sample the
    Boltzmann distribution of the programmed problem: 4 logical spins on chains of 2 (8 qubits),
    two disjoint copies in one call."""

    class Fixed(AnnealEmulator):
        def betas(self, anneal_schedule, annealing_time):
            return np.full(self.num_sweeps, 0.9)

    rng = np.random.default_rng(17)
    chains = [[0, 1], [2, 3], [4, 5], [6, 7]]
    linear = {q: rng.uniform(-0.5, 0.5) for q in range(8)}
    quadratic = {(2 * a, 2 * a + 1): -0.8 for a in range(4)}  # chains
    quadratic.update({(1, 2): 0.6, (3, 4): -0.5, (5, 6): 0.4, (0, 7): 0.7, (1, 6): -0.3})
    bqm = dimod.BinaryQuadraticModel(linear, quadratic, 0.0, "SPIN")
    both = dimod.BinaryQuadraticModel("SPIN")
    both.update(bqm)
    both.update(bqm.relabel_variables({q: q + 100 for q in range(8)}, inplace=False))
    emulator = Fixed(num_sweeps=40, sweeps_per_move=2)
    emulator.chains = chains + [[q + 100 for q in c] for c in chains]
    emulator.copies = [list(range(8)), [q + 100 for q in range(8)]]
    emulator.seed = [3, 4]
    out = emulator.sample(both, num_reads=6000, auto_scale=False, answer_mode="raw")
    exact = dimod.ExactSolver().sample(bqm)
    weights = np.exp(-0.9 * exact.record.energy)
    p = weights / weights.sum()
    exact_p = {tuple(s): w for s, w in zip(exact.record.sample.tolist(), p)}
    # the distance sampling noise alone gives: exact draws of 6,000 reads
    draws = np.random.default_rng(0).multinomial(6000, p, size=200) / 6000
    noise = 0.5 * np.abs(draws - p).sum(axis=1)
    for copy in emulator.copies:
        reads = out.record.sample[:, [list(out.variables).index(q) for q in copy]]
        keys, counts = np.unique(reads, axis=0, return_counts=True)
        observed = {tuple(k): c / len(reads) for k, c in zip(keys.tolist(), counts)}
        tv = 0.5 * sum(abs(observed.get(s, 0.0) - p) for s, p in exact_p.items())
        assert tv < 1.25 * noise.max(), (tv, noise.mean())


# ------------------------------------------------- batched emulation
def _per_call(solver):
    """The same solver emulating one QPU call at a time (the path of a real QPU)."""
    solver._batch_calls = False
    return solver


@pytest.mark.parametrize("num_reads", [1, 3])
def test_batched_emulation_equals_one_call_at_a_time(tmp_path, monkeypatch, num_reads):
    """All calls of a batch in one kernel launch give bit-identical spins, energies, costs and
    diagnostics to one launch per call, forward and reverse, with a last call that is not full."""
    import eqising.solvers.ocean.dwave_mock as dwave_mock

    launches = []
    original = dwave_mock.AnnealEmulator.anneal

    def counting(self, layout, h, *args, **kwargs):
        launches.append(layout.qptr.size - 1)
        return original(self, layout, h, *args, **kwargs)

    monkeypatch.setattr(dwave_mock.AnnealEmulator, "anneal", counting)
    batched = mock(tmp_path, beta=2.0, num_sweeps=20)
    one_by_one = _per_call(mock(tmp_path, beta=2.0, num_sweeps=20))
    C = batched.parallel_embedding((6, 4)).n_copies
    assert C >= 2
    n = 2 * C + 1  # three calls, the last with one copy
    batch = random_batch((6, 4), n, np.random.default_rng(18), j_scale=0.5, h_scale=0.5)
    seeds = np.arange(100, 100 + n)

    def both(**kwargs):
        launches.clear()
        a = batched.sample(batch, num_reads=num_reads, seed=seeds, **kwargs)
        many = list(launches)
        launches.clear()
        b = one_by_one.sample(batch, num_reads=num_reads, seed=seeds, **kwargs)
        np.testing.assert_array_equal(a.spins, b.spins)
        np.testing.assert_array_equal(a.energies, b.energies)
        assert a.info["cost"] == b.info["cost"]
        assert a.info["diagnostics"] == b.info["diagnostics"]
        return a, many, list(launches)

    free, many, single = both()
    assert free.info["cost"]["qpu_calls"] == 3 and free.info["diagnostics"]["copies_per_call"] == n / 3
    assert many == [n] and single == [C, C, 1]
    # reverse anneals: with several reads, some problems start every read from one state and others
    # from several (groups of different sizes: calls of different num_reads, one launch per size)
    starts = free.spins.copy()
    if num_reads > 1:
        starts[::2] = starts[::2, :1]
    back, many, single = both(schedule=AnnealSchedule("reverse"), initial_states=starts)
    assert len(many) <= len(single) and sum(many) == sum(single)
    assert back.info["cost"]["qpu_calls"] == len(single)
    if num_reads == 1:
        assert many == [n]
    # the batched path is the dimod path too (bit-identical samples and costs)
    slow = mock(tmp_path, beta=2.0, num_sweeps=20, through_dimod=True)
    same = slow.sample(
        batch, num_reads=num_reads, schedule=AnnealSchedule("reverse"), initial_states=starts, seed=seeds
    )
    np.testing.assert_array_equal(same.spins, back.spins)
    assert same.info["cost"] == pytest.approx(back.info["cost"])


def test_reverse_groups_without_unique_are_the_unique_groups(tmp_path, monkeypatch):
    """Problems whose reads share one start state skip np.unique and make the calls it would give."""
    import eqising.solvers.ocean.dwave_solver as dwave_solver

    batch = random_batch((6, 4), 3, np.random.default_rng(19))
    solver = mock(tmp_path, beta=2.0, max_copies=1, through_dimod=True)
    free = solver.sample(batch, num_reads=4, seed=1)
    starts = np.repeat(free.spins[:, :1], 4, axis=1)
    starts[2, 1:] = -free.spins[2, :1]  # problem 2: two start states, one read and three
    uniques = []

    class CountingNumpy:
        def __getattr__(self, name):
            return getattr(np, name)

        def unique(self, *args, **kwargs):
            uniques.append(args[0].shape)
            return np.unique(*args, **kwargs)

    monkeypatch.setattr(dwave_solver, "np", CountingNumpy())
    calls = spy(monkeypatch, solver)
    out = solver.sample(batch, num_reads=4, schedule=AnnealSchedule("reverse"), initial_states=starts, seed=2)
    assert uniques == [(4, 10)]  # problem 2 only
    assert [kw["num_reads"] for _, kw, _ in calls] == [4, 4, 1, 3]
    emb, labels = solver.embedding((6, 4)), solver.parallel_embedding((6, 4)).labels[0]
    programmed = [np.array([kw["initial_state"][q] for q in labels.tolist()]) for _, kw, _ in calls]
    expected = [starts[0, 0], starts[1, 0], np.unique(starts[2], axis=0)[0], np.unique(starts[2], axis=0)[1]]
    for got, start in zip(programmed, expected):
        np.testing.assert_array_equal(got, start[emb.qubit_var])
    assert out.spins.shape == (3, 4, 10) and out.info["cost"]["qpu_calls"] == 4


def test_timing_cache_returns_the_uncached_estimates():
    from eqising.solvers.ocean.dwave_mock import _estimate_timing_cached, _estimate_timing_uncached

    reverse = [[0, 1], [10, 0.25], [20, 1]]
    cases = [
        (1000, 1, {"annealing_time": 20.0}),
        (1000, 3, {"annealing_time": 20.0}),
        (1000, 3, {"annealing_time": 50.0}),
        (2000, 3, {"annealing_time": 20.0}),
        (500, 2, {}),
        (1000, 3, {"anneal_schedule": reverse, "initial_state": True, "reinitialize_state": True}),
        (1000, 3, {"anneal_schedule": reverse, "initial_state": {0: 1}, "reinitialize_state": False}),
        (1000, 3, {"anneal_schedule": [[0, 1], [7, 0.5], [14, 1]], "initial_state": {0: 1},
                   "reinitialize_state": True}),
        (1000, 3, {"anneal_schedule": [[0, 0], [30, 1]]}),
    ]
    _estimate_timing_cached.cache_clear()
    seen = []
    for num_qubits, num_reads, kwargs in cases:
        expected = _estimate_timing_uncached(num_qubits, num_reads, kwargs)
        for _ in range(2):
            got = estimate_timing(num_qubits, num_reads, dict(kwargs, num_reads=num_reads, label="x"))
            assert got == expected
            got["qpu_access_time"] = -1.0  # a caller's dict is its own
        seen.append(expected["qpu_access_time"])
    info = _estimate_timing_cached.cache_info()
    assert info.misses == len(cases) and info.hits == len(cases)
    # every parameter the model reads changes the estimate (so each must be in the key)
    assert len(set(seen)) == len(seen)


def _reference_anneal(
    states, randomize, h, indptr, nbr, J, qptr, chain_of, chain_qubits, chain_ptr, cptr, betas, moves, starts
):
    """The emulator's sweeps in plain Python, as first written (chain fields from a scan of full rows)."""
    from eqising.solvers.ocean._emulator_kernel import _GAMMA, _M1, _M2, _S11, _S27, _S30, _S31, _UNIT

    def uniform(x):
        with np.errstate(over="ignore"):
            x = x + _GAMMA
            z = (x ^ (x >> _S30)) * _M1
            z = (z ^ (z >> _S27)) * _M2
            z = z ^ (z >> _S31)
        return x, float(z >> _S11) * _UNIT

    n_reads = states.shape[0]
    for c in range(qptr.size - 1):
        for r in range(n_reads):
            x, s, lo, hi = starts[c, r], states[r], qptr[c], qptr[c + 1]
            if randomize:
                for q in range(lo, hi):
                    x, u = uniform(x)
                    s[q] = 1 if u < 0.5 else -1
            f = np.empty(hi - lo)
            for q in range(lo, hi):
                acc = h[q]
                for e in range(indptr[q], indptr[q + 1]):
                    acc += J[e] * s[nbr[e]]
                f[q - lo] = acc
            for k, beta in enumerate(betas):
                for q in range(lo, hi):
                    delta = -2.0 * s[q] * f[q - lo]
                    if delta > 0.0:
                        if beta * delta > 40.0:
                            continue
                        x, u = uniform(x)
                        if u >= np.exp(-beta * delta):
                            continue
                    s[q] = -s[q]
                    for e in range(indptr[q], indptr[q + 1]):
                        f[nbr[e] - lo] += 2.0 * J[e] * s[q]
                if moves > 0 and (k + 1) % moves == 0:
                    for ch in range(cptr[c], cptr[c + 1]):
                        if chain_ptr[ch + 1] - chain_ptr[ch] < 2:
                            continue
                        total = 0.0
                        for i in range(chain_ptr[ch], chain_ptr[ch + 1]):
                            q = chain_qubits[i]
                            inner = 0.0
                            for e in range(indptr[q], indptr[q + 1]):
                                if chain_of[nbr[e]] == ch:
                                    inner += J[e] * s[nbr[e]]
                            total += s[q] * (f[q - lo] - inner)
                        delta = -2.0 * total
                        accept = delta <= 0.0
                        if not accept and beta * delta <= 40.0:
                            x, u = uniform(x)
                            accept = u < np.exp(-beta * delta)
                        if accept:
                            for i in range(chain_ptr[ch], chain_ptr[ch + 1]):
                                q = chain_qubits[i]
                                s[q] = -s[q]
                                for e in range(indptr[q], indptr[q + 1]):
                                    f[nbr[e] - lo] += 2.0 * J[e] * s[q]


@pytest.mark.parametrize("randomize", [True, False])
def test_emulator_kernel_matches_the_plain_python_sweeps(randomize):
    """The compiled kernel (in-chain entries precomputed, flips as +-2J) is bit-identical to the
    plain loops: two copies of 6 qubits in chains of 2 and 1, couplings in and between chains."""
    from eqising.solvers.ocean._emulator_kernel import anneal_copies, chain_entries, read_seeds
    from eqising.solvers.ocean.dwave_mock import EmulatorLayout

    rng = np.random.default_rng(20)
    pairs = [(0, 1), (2, 3), (1, 2), (0, 3), (3, 4), (4, 5), (1, 5), (2, 5)]
    rows = np.array([a + 6 * c for c in range(2) for a, _ in pairs])
    cols = np.array([b + 6 * c for c in range(2) for _, b in pairs])
    chain_of = np.array([0, 0, 2, 2, 4, 5, 6, 6, 8, 8, 10, 11])
    layout = EmulatorLayout.build(rows, cols, np.array([0, 6, 12]), chain_of)
    inner_ptr, inner_entries = chain_entries(layout.indptr, layout.nbr, layout.chain_of)
    np.testing.assert_array_equal(layout.inner_ptr, inner_ptr)
    np.testing.assert_array_equal(layout.inner_entries, inner_entries)
    for q in range(12):  # every in-chain entry of q and nothing else, in row order
        row = np.arange(layout.indptr[q], layout.indptr[q + 1])
        inside = row[layout.chain_of[layout.nbr[row]] == layout.chain_of[q]]
        np.testing.assert_array_equal(inner_entries[inner_ptr[q] : inner_ptr[q + 1]], inside)
    assert inner_entries.size == 8  # 4 chains of 2 qubits, one coupler each, seen from both ends
    J = rng.uniform(-1, 1, rows.size)
    J[[0, 1, 8, 9]] = -1.0  # chains
    h = rng.uniform(-1, 1, 12)
    betas = np.geomspace(0.1, 3.0, 40)
    seeds = np.array([5, 6], dtype=np.uint64)
    start = rng.choice(np.array([-1, 1], dtype=np.int8), 12)
    got, expected = np.tile(start, (3, 1)), np.tile(start, (3, 1))
    lay = layout
    args = (
        h, lay.indptr, lay.nbr, J[lay.entry_coupler], lay.qptr, lay.chain_of, lay.chain_qubits, lay.chain_ptr,
        lay.cptr, betas, 2,
    )
    anneal_copies(got, randomize, *args, seeds)
    _reference_anneal(expected, randomize, *args, read_seeds(seeds, 3))
    np.testing.assert_array_equal(got, expected)
    assert not np.array_equal(got[0], got[1])  # reads draw their own streams


def test_emulator_acceptance_bounds_decide_as_the_exponential():
    """The binned bounds only skip np.exp where they cannot change a Metropolis decision: at bin
    edges, at u next to exp(-c) on both sides, and at random (u, c)."""
    import numba

    from eqising.solvers.ocean._emulator_kernel import _BINS, _NEVER, _accepts

    # the compiled exponential, as the kernel uses it (it can differ from numpy's by an ulp)
    exact = numba.njit(lambda u, c: u < np.exp(-c))
    rng = np.random.default_rng(21)
    edges = np.arange(int(_NEVER * _BINS) + 1) / _BINS
    costs = np.concatenate(
        [edges, np.nextafter(edges, 0.0), np.nextafter(edges, 1e9), rng.uniform(0, 40, 3000)]
    )
    costs = costs[(costs >= 0) & (costs <= _NEVER)]
    for c in costs:
        e = np.exp(-c)
        near = (e, np.nextafter(e, 0.0), np.nextafter(e, 1.0), np.nextafter(np.nextafter(e, 1.0), 1.0))
        for u in (*near, rng.random(), 0.0, e * (1 + 1e-13), e * (1 - 1e-13)):
            assert _accepts(u, c) == exact(u, c), (u, c)


def test_layout_of_fewer_copies_is_a_prefix_of_the_built_one(tmp_path):
    """One layout serves every batch size: its first n copies equal a layout built for n copies."""
    from dataclasses import fields

    from eqising.solvers.ocean.dwave_mock import EmulatorLayout

    solver = mock(tmp_path)
    par = solver.parallel_embedding((3, 4, 3))
    u, v = par.base.pairs
    Q = par.base.qubits.size

    def build(n):
        shift = (np.arange(n) * Q)[:, None]
        return EmulatorLayout.build(
            (u[None, :] + shift).ravel(), (v[None, :] + shift).ravel(), np.arange(n + 1) * Q,
            (par.base.qubit_var[None, :] + shift).ravel(),
        )

    big = build(7)
    for n in (1, 2, 5, 7):
        small, prefix = build(n), big.first_copies(n)
        for f in fields(EmulatorLayout):
            np.testing.assert_array_equal(getattr(prefix, f.name), getattr(small, f.name), err_msg=f.name)
    with pytest.raises(InvalidParameterError, match=r"'n' parameter of EmulatorLayout.first_copies"):
        big.first_copies(8)
    # the solver keeps one layout per embedding, grown when a batch needs more copies
    assert solver._layout(par, 4).n_copies == 4 and solver._layout(par, 2).n_copies == 2
    assert solver._layout(par, 5).n_copies == 5
    assert [lay.n_copies for lay in solver._layouts.values()] == [8]


@pytest.mark.parametrize("layer_sizes", [(6, 4), (3, 4, 3), (64, 120, 10)])
def test_chain_strength_is_dwaves_uniform_torque_compensation(tmp_path, layer_sizes):
    from dwave.embedding.chain_strength import uniform_torque_compensation

    from eqising.solvers.ocean.dwave_solver import _uniform_torque_compensation

    rng = np.random.default_rng(22)
    for scale in (0.1, 1.0, 3.0):
        batch = random_batch(layer_sizes, 1, rng, j_scale=scale)
        linear, (rows, cols, quadratic) = batch.to_dimod_arrays()
        bqm = dimod.BinaryQuadraticModel.from_numpy_vectors(
            linear[0], (rows, cols, quadratic), 0.0, dimod.SPIN, variable_order=range(batch.n_spins)
        )
        assert _uniform_torque_compensation(bqm) == uniform_torque_compensation(bqm)
    if layer_sizes == (6, 4):  # the solver's default chain strength, whatever the fields
        solver = mock(tmp_path)
        out = solver.sample(batch, num_reads=2, seed=0)
        assert out.info["diagnostics"]["chain_strength"] == uniform_torque_compensation(bqm)
        other = IsingBatch(batch.layer_sizes, batch.couplings, rng.normal(size=batch.fields.shape))
        assert solver.sample(other, num_reads=2, seed=0).info["diagnostics"]["chain_strength"] == (
            uniform_torque_compensation(bqm)
        )
