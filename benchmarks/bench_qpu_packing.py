"""How many disjoint straight-line copies of a two-layer network fit on a Pegasus chip: the exact optimum.

``pegasus_line_embedding`` lays a network of two spin layers out in straight
lines of qubits (every chain one line: the larger layer on short lines of
adjacent tracks of one orientation, the smaller on long lines of the other),
and the package keeps the disjoint images of it that whole-tile translations
and the mirror give (``find_parallel_embeddings``). This script asks whether
placements that are not such images would fit more copies. It enumerates
every placement of the same pattern on the working graph of the mock's chip
(``MockDWaveSampler``, Pegasus P(m)): both orientations, the larger layer on
any run of adjacent tracks (any track offset, not only whole tiles), each
layer's lines starting at any qubit along their tracks; a placement counts
when all its qubits exist and every pair of lines of the two layers is
coupled. It then solves the maximum set packing (the most placements that
share no qubit) exactly, as a 0/1 program with scipy's ``milp`` (HiGHS), and
prints the optimum beside the package's count. The chosen copies are checked
with ``dwave.embedding.is_valid_embedding`` and for disjointness.

Examples
--------
::

    python benchmarks/bench_qpu_packing.py                    # 120 + 40 spins (784-120-40), P16
    python benchmarks/bench_qpu_packing.py --layers 120 20    # digits' 64-120-20 (about 2 minutes)

With every placement of the pattern allowed, the optimum bounds what any
choice of copies of this pattern can give, images or not.
"""

from __future__ import annotations

import argparse
import time

import numpy as np


def placements(graph, m: int, n_large: int, n_small: int) -> list[dict]:
    """Every valid placement of the line pattern on ``graph`` (linear labels of P(m))."""
    from eqising.solvers.ocean.embedding import _pegasus_positions, line_lengths

    position = _pegasus_positions(graph, m)
    tracks = 12 * m
    label = np.full((2, tracks, m - 1), -1, dtype=np.int64)  # (orientation, track, position) -> qubit
    for q, (u, w, k, z) in position.items():
        label[u, 12 * w + k, z] = q
    # where vertical track x meets horizontal track y: the position of the coupled qubit on each track
    at_vertical = np.full((tracks, tracks), -1, dtype=np.int64)
    at_horizontal = np.full((tracks, tracks), -1, dtype=np.int64)
    for a, b in graph.edges:
        (ua, wa, ka, za), (ub, wb, kb, zb) = position[a], position[b]
        if ua == ub:
            continue
        if ua == 1:
            (wa, ka, za), (wb, kb, zb) = (wb, kb, zb), (wa, ka, za)
        at_vertical[12 * wa + ka, 12 * wb + kb] = za
        at_horizontal[12 * wa + ka, 12 * wb + kb] = zb
    short, long_ = line_lengths(n_large, n_small)  # as the package builds them
    found = []
    for large_u in (0, 1):  # the larger layer on vertical (0) or horizontal (1) tracks
        own, other = (at_vertical, at_horizontal) if large_u == 0 else (at_horizontal.T, at_vertical.T)
        for a in range(tracks - n_large + 1):
            for b in range(tracks - n_small + 1):
                z_large, z_small = own[a:a + n_large, b:b + n_small], other[a:a + n_large, b:b + n_small]
                if (z_large < 0).any() or (z_small < 0).any():
                    continue
                for s in range(max(0, z_large.max() - short + 1), min(z_large.min(), m - 1 - short) + 1):
                    for t in range(max(0, z_small.max() - long_ + 1), min(z_small.min(), m - 1 - long_) + 1):
                        large = label[large_u, a:a + n_large, s:s + short]
                        small = label[1 - large_u, b:b + n_small, t:t + long_]
                        if (large < 0).any() or (small < 0).any():
                            continue
                        found.append({"large_on": "vertical" if large_u == 0 else "horizontal",
                                      "tracks": (a, b), "starts": (s, t), "large": large, "small": small})
    return found


def max_packing(sets: list[np.ndarray], time_limit: float):
    """The most pairwise disjoint ``sets``: (chosen indices, proven optimal, the solver's upper bound)."""
    from scipy.optimize import Bounds, LinearConstraint, milp
    from scipy.sparse import csr_matrix

    rows = np.concatenate(sets)
    cols = np.repeat(np.arange(len(sets)), [s.size for s in sets])
    A = csr_matrix((np.ones(rows.size), (rows, cols)))
    res = milp(-np.ones(len(sets)), constraints=LinearConstraint(A, 0, 1), integrality=np.ones(len(sets)),
               bounds=Bounds(0, 1), options={"time_limit": time_limit})
    if res.x is None:
        return [], False, float("nan")
    chosen = [i for i in range(len(sets)) if res.x[i] > 0.5]
    bound = getattr(res, "mip_dual_bound", None)
    return chosen, res.status == 0, (-bound if bound is not None else float("nan"))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--layers", type=int, nargs=2, default=(120, 40), metavar=("N1", "N2"),
                   help="the two spin layers (hidden, output)")
    p.add_argument("--m", type=int, default=16, help="Pegasus size of the mock's chip")
    p.add_argument("--time-limit", type=float, default=600.0, help="seconds for the 0/1 program")
    args = p.parse_args()
    from dwave.embedding import is_valid_embedding
    from dwave.system.testing import MockDWaveSampler

    from eqising.solvers.ocean.embedding import _layered_edges, find_parallel_embeddings

    mock = MockDWaveSampler(topology_type="pegasus", topology_shape=[args.m], parameter_warnings=False)
    graph = mock.to_networkx_graph()
    layers = tuple(args.layers)
    large_first = layers[0] >= layers[1]
    print(f"P{args.m}: {graph.number_of_nodes()} qubits, {graph.number_of_edges()} couplers; layers {layers}")
    start = time.perf_counter()
    images = find_parallel_embeddings(layers, graph, mock.properties["topology"])
    print(f"the package's copies (images of one line embedding): {len(images)} "
          f"({time.perf_counter() - start:.1f} s)")
    start = time.perf_counter()
    found = placements(graph, args.m, max(layers), min(layers))
    qubits = [np.concatenate([f["large"].ravel(), f["small"].ravel()]) for f in found]
    print(f"placements of the pattern at any track offset: {len(found)} "
          f"({qubits[0].size if found else 0} qubits each; {time.perf_counter() - start:.1f} s)")
    if not found:
        return
    start = time.perf_counter()
    chosen, optimal, bound = max_packing(qubits, args.time_limit)
    print(f"most disjoint placements: {len(chosen)} ({'proven optimal' if optimal else f'upper bound {bound:.2f}'}; "
          f"{time.perf_counter() - start:.1f} s)")
    edges = _layered_edges(layers)
    for i in chosen:
        f = found[i]
        lines = [list(map(int, row)) for row in f["large"]], [list(map(int, row)) for row in f["small"]]
        chains = lines[0] + lines[1] if large_first else lines[1] + lines[0]
        valid = is_valid_embedding(dict(enumerate(chains)), edges, graph)
        print(f"  larger layer on {f['large_on']} tracks {f['tracks'][0]}.., smaller on tracks {f['tracks'][1]}.., "
              f"lines from positions {f['starts']}: valid embedding {valid}")
    assert np.unique(np.concatenate([qubits[i] for i in chosen])).size == sum(qubits[i].size for i in chosen)


if __name__ == "__main__":
    main()
