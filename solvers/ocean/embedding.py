"""Fixed minor embeddings of layered networks on a QPU graph, found once and cached on disk.

A layered network's problem graph depends only on its layer sizes, so one
embedding serves every problem of a training run. Several problems can share
one QPU call on disjoint copies of the embedding
(:func:`find_parallel_embeddings`, :class:`ParallelEmbedding`): on a Pegasus
chip the network is embedded once inside a box of unit tiles and moved over the
chip by automorphisms of the graph (translations by whole tiles, with or without
:func:`pegasus_mirror`), so every copy has exactly the same chains and
couplers, relabelled. Two spin layers are first laid out natively, every chain
one straight line of qubits (:func:`pegasus_line_embedding`), which packs more
copies than a searched embedding does. It is found once per
(QPU graph, layer sizes) -- a busclique biclique embedding for one hidden
layer (two spin layers), minorminer for deeper networks -- and kept in memory
and as JSON in a cache folder, so later runs do not search again.

:class:`ChainEmbedding` turns the embedding into index arrays, so that
embedding a batch of problems (fields spread over chains, couplings over the
couplers between chains, ferromagnetic chain couplers) and decoding chains
back to logical spins are numpy operations.
"""

from __future__ import annotations

import hashlib
import json
import numbers
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..._files import write_file
from ..._validation import Described, param_error

__all__ = [
    "ChainEmbedding",
    "ParallelEmbedding",
    "default_cache_dir",
    "find_layered_embedding",
    "find_parallel_embeddings",
    "line_lengths",
    "load_or_find_embedding",
    "load_or_find_parallel_embeddings",
    "pegasus_images",
    "pegasus_line_embedding",
    "pegasus_mirror",
]


#: Version of :func:`find_parallel_embeddings` in the names of its cache files: a search that can find
#: more copies than an earlier one gets new files, so caches of the earlier search are not reused.
#: 2: Pegasus line embeddings of two spin layers (:func:`pegasus_line_embedding`) come first.
_COPIES_SEARCH = 2


def default_cache_dir() -> Path:
    """``$EQISING_CACHE_DIR/embeddings``, else ``~/.cache/eqising/embeddings``."""
    root = os.environ.get("EQISING_CACHE_DIR") or os.path.join(os.path.expanduser("~"), ".cache", "eqising")
    return Path(root) / "embeddings"


def _graph_key(topology: dict, nodes: list, edges: list, layer_sizes: tuple[int, ...]) -> str:
    digest = hashlib.sha1(json.dumps([sorted(nodes), sorted(map(sorted, edges))]).encode()).hexdigest()[:16]
    shape = "x".join(str(s) for s in topology.get("shape", []))
    return f"{topology.get('type', 'graph')}{shape}-{digest}-layers{'-'.join(map(str, layer_sizes))}"


def find_layered_embedding(
    layer_sizes: tuple[int, ...], graph: Any, *, seed: int = 0, timeout: float = 60.0, thorough: bool = False
) -> dict[int, list[int]]:
    """Embed the layered problem graph (complete bipartite between adjacent layers) in ``graph``.

    Parameters
    ----------
    layer_sizes : tuple of int
    graph : networkx.Graph
        The QPU graph (``sampler.to_networkx_graph()``).
    seed : int, default=0
        minorminer's random seed (deeper networks).
    timeout : float, default=60.0
        minorminer's time limit in seconds.
    thorough : bool, default=False
        For one hidden layer, try minorminer too when busclique finds none
        (minorminer's chains are often shorter, so it fits smaller regions).

    Returns
    -------
    dict of int to list of int
        Chain of qubits of every variable ``0..n_spins-1``; empty if none was found.
    """
    n = sum(layer_sizes)
    if len(layer_sizes) == 1:  # no couplings: any n qubits
        nodes = sorted(graph.nodes)
        return {v: [int(q)] for v, q in zip(range(n), nodes)} if len(nodes) >= n else {}
    if len(layer_sizes) == 2:
        from minorminer import busclique

        found = busclique.busgraph_cache(graph).find_biclique_embedding(*layer_sizes)
        if found or not thorough:
            return {int(v): [int(q) for q in chain] for v, chain in found.items()} if found else {}
    import minorminer

    source = _layered_edges(layer_sizes)
    found = minorminer.find_embedding(source, graph.edges, random_seed=seed, timeout=timeout)
    return {int(v): [int(q) for q in chain] for v, chain in found.items()} if len(found) == n else {}


def _layered_edges(layer_sizes: tuple[int, ...]) -> list[tuple[int, int]]:
    offsets = np.concatenate([[0], np.cumsum(layer_sizes)])
    return [
        (int(offsets[l] + i), int(offsets[l + 1] + j))
        for l in range(len(layer_sizes) - 1)
        for i in range(layer_sizes[l])
        for j in range(layer_sizes[l + 1])
    ]


def _pegasus_boxes(m: int, n_spins: int, n_edges: int, max_copies: int | None) -> list[tuple[int, int, int]]:
    """Candidate boxes ``(cx, cy, copies)`` of unit tiles on a Pegasus P(m), most copies first.

    A box must have room for the network by a rule of thumb: a tile holds 24
    qubits, and an embedding of a dense layered graph needs about
    ``1.5 * (n_spins + n_edges / 7)`` qubits (minorminer puts about seven
    logical couplings on a qubit of a Pegasus chain; 1.5 is room to search in).
    """
    n = m - 1  # tiles per side in which both orientations of qubits have their full range
    need = 1.5 * (n_spins + n_edges / 7.0)
    boxes = {(n // a, n // b) for a in range(1, n + 1) for b in range(1, n + 1)}
    cap = max_copies if max_copies is not None else n * n
    found = [
        (cx, cy, (n // cx) * (n // cy))
        for cx, cy in boxes
        if (n // cx) * (n // cy) >= 2 and 24 * cx * cy >= need
    ]
    return sorted(found, key=lambda b: (-min(b[2], cap), -b[0] * b[1], b))


def find_parallel_embeddings(
    layer_sizes: tuple[int, ...],
    graph: Any,
    topology: dict,
    *,
    max_copies: int | None = None,
    seed: int = 0,
    timeout: float = 150.0,
    attempts: int = 4,
) -> list[dict[int, list[int]]]:
    """Disjoint copies of the layered embedding on ``graph``, each with the same chains, relabelled.

    On a Pegasus graph (``topology['type'] == 'pegasus'``) a network of two
    spin layers is first laid out in straight lines of qubits
    (:func:`pegasus_line_embedding`) and its images kept as below. Then (every
    network) it is embedded inside a box of ``cx x cy`` unit tiles, for the
    boxes that promise more copies than the lines gave (Pegasus coordinates: a
    vertical qubit ``(0, w, k, z)`` is in the box when ``w < cx`` and ``z < cy``,
    a horizontal one ``(1, w, k, z)`` when ``w < cy`` and ``z < cx``), and the
    copies are the largest set of disjoint images of it that
    :func:`pegasus_images` finds: translations by whole tiles (``w, z`` shifted),
    mirrored (:func:`pegasus_mirror`) or not, all of which map couplers to
    couplers. Images whose qubits or couplers are missing from ``graph`` (a
    chip's inactive qubits) are dropped. Boxes are tried from the most copies
    down (at most ``attempts`` searches, minorminer's ``timeout`` each); if no
    box holds two copies, or on another topology, the result is the one
    embedding of :func:`find_layered_embedding` on the whole graph.

    Parameters
    ----------
    layer_sizes : tuple of int
    graph : networkx.Graph
    topology : dict
        ``sampler.properties['topology']`` (``type``, ``shape``).
    max_copies : int or None, default=None
        At most this many copies; ``None``: as many as fit.
    seed, timeout, attempts
        Search settings.

    Returns
    -------
    list of dict of int to list of int
        One embedding per copy (empty list if none was found); copy ``c``'s
        chain of variable ``v`` is copy 0's chain with every qubit moved by one
        automorphism of the graph, qubit for qubit.
    """
    if max_copies != 1 and topology.get("type") == "pegasus" and topology.get("shape"):
        copies = _tiled_pegasus(layer_sizes, graph, int(topology["shape"][0]), max_copies, seed, timeout, attempts)
        if len(copies) >= 2:
            return copies
    one = find_layered_embedding(layer_sizes, graph, seed=seed)
    return [one] if one else []


def _tiled_pegasus(
    layer_sizes: tuple[int, ...],
    graph: Any,
    m: int,
    max_copies: int | None,
    seed: int,
    timeout: float,
    attempts: int,
) -> list[dict[int, list[int]]]:
    position = _pegasus_positions(graph, m)

    def images(base: dict[int, list[int]]) -> list[dict[int, list[int]]]:
        return pegasus_images(base, graph, m, position=position)[:max_copies] if base else []

    best = images(pegasus_line_embedding(layer_sizes, graph, m, position=position)) if len(layer_sizes) == 2 else []
    n_edges = len(_layered_edges(layer_sizes))
    for cx, cy, bound in _pegasus_boxes(m, sum(layer_sizes), n_edges, max_copies)[:attempts]:
        if min(bound, max_copies or bound) <= len(best):
            break  # the boxes left promise no more copies than the lines give
        box = [q for q, (u, w, _, z) in position.items() if ((w < cx and z < cy) if u == 0 else (w < cy and z < cx))]
        copies = images(find_layered_embedding(
            layer_sizes, graph.subgraph(box).copy(), seed=seed, timeout=timeout, thorough=True
        ))
        if len(copies) >= 2 and len(copies) > len(best):
            return copies
    return best if len(best) >= 2 else []


def pegasus_line_embedding(
    layer_sizes: tuple[int, ...],
    graph: Any,
    m: int,
    *,
    position: dict[int, tuple[int, int, int, int]] | None = None,
) -> dict[int, list[int]]:
    """A native embedding of two spin layers on a Pegasus graph: every chain one straight line of qubits.

    On Pegasus a vertical qubit ``(0, w, k, z)`` lies on the vertical track ``x = 12 w + k`` and spans
    ``12`` positions of ``y`` from ``12 z + offset[k]`` (offsets 2, 6 or 10); a horizontal one lies on
    the track ``y = 12 w + k``; two orthogonal qubits are coupled where they cross. A line of ``L``
    consecutive qubits (``z`` to ``z + L - 1``, joined by external couplers) on any track therefore
    crosses every orthogonal track in a window of ``12 L - 8`` positions that all offsets share. The
    larger layer (``n_large`` spins) becomes short vertical lines of ``ceil((n_small + 8) / 12)``
    qubits on ``n_large`` adjacent vertical tracks, the smaller layer long horizontal lines of
    ``ceil((n_large + 8) / 12)`` qubits on ``n_small`` adjacent horizontal tracks, each line crossing
    all of the other layer's lines. For the 120 + 40 spin layers of a 784-120-40 network that is
    120 x 4 + 40 x 11 = 920 qubits inside the first 11 x 4 tiles, against busclique's 1,706; its
    images (:func:`pegasus_images`) pack four disjoint copies on P16 (three translations and a mirror
    image), whose footprints overlap tile by tile but never share a qubit.

    The pattern is placed at the first whole-tile offset where it is a valid embedding on ``graph``
    (``dwave.embedding.is_valid_embedding``: every qubit, chain coupler and coupler between layers
    exists there, which a chip's inactive qubits can break).

    Parameters
    ----------
    layer_sizes : tuple of int
        Two spin layers.
    graph : networkx.Graph
        A Pegasus graph with linear labels of P(m) (the working graph of a chip).
    m : int
        Pegasus size.
    position : dict of int to tuple, optional
        Pegasus coordinates of every node of ``graph`` (computed when not given).

    Returns
    -------
    dict of int to list of int
        Chain of qubits of every variable ``0..n_spins-1`` (layer order); empty if the layers do not
        fit the graph this way.
    """
    if len(layer_sizes) != 2 or not all(isinstance(n, numbers.Integral) and n >= 1 for n in layer_sizes):
        raise param_error("layer_sizes", "pegasus_line_embedding", "two spin layers of at least one spin each",
                          Described(repr(tuple(layer_sizes))))
    from dwave.embedding import is_valid_embedding

    if position is None:
        position = _pegasus_positions(graph, m)
    _check_pegasus_size(position, m, "pegasus_line_embedding")
    label = {p: q for q, p in position.items()}
    edges = _layered_edges(layer_sizes)
    large, small = max(layer_sizes), min(layer_sizes)
    short, long_ = line_lengths(large, small)
    for dy in range(m - 1):
        for dx in range(m):
            vertical = [[(0, *divmod(12 * dx + 10 + i, 12), dy + z) for z in range(short)] for i in range(large)]
            horizontal = [[(1, *divmod(12 * dy + 10 + i, 12), dx + z) for z in range(long_)] for i in range(small)]
            layers = (vertical, horizontal) if layer_sizes[0] >= layer_sizes[1] else (horizontal, vertical)
            chains = [[label.get(p) for p in line] for layer in layers for line in layer]
            if all(q is not None for chain in chains for q in chain):
                found = {v: [int(q) for q in chain] for v, chain in enumerate(chains)}
                if is_valid_embedding(found, edges, graph):
                    return found
    return {}


def line_lengths(n_large: int, n_small: int) -> tuple[int, int]:
    """Qubits per chain of :func:`pegasus_line_embedding`: ``(short, long)``, the larger layer's lines
    (``ceil((n_small + 8) / 12)``) and the smaller layer's (``ceil((n_large + 8) / 12)``).

    A line of ``L`` qubits crosses ``12 L - 8`` orthogonal tracks, so it must cross the other layer's
    ``n`` tracks: ``12 L - 8 >= n``.
    """
    return -(-(n_small + 8) // 12), -(-(n_large + 8) // 12)


def _check_pegasus_size(position: dict[int, tuple[int, int, int, int]], m: int, owner: str) -> None:
    """Refuse an ``m`` outside of whose P(m) some qubit of ``position`` lies (its linear label is too large)."""
    outside = [q for q, (u, w, k, z) in position.items()
               if not (0 <= u < 2 and 0 <= w < m and 0 <= k < 12 and 0 <= z < m - 1)]
    if outside:
        raise param_error("m", owner, "the size of the Pegasus graph whose linear labels graph uses",
                          Described(f"{m}, outside which lie qubits such as {outside[0]}"))


def _pegasus_positions(graph: Any, m: int) -> dict[int, tuple[int, int, int, int]]:
    """Pegasus coordinates ``(u, w, k, z)`` of every node of ``graph`` (linear labels of P(m))."""
    from dwave.graphs import pegasus_coordinates

    coords = pegasus_coordinates(m)
    return {int(q): coords.linear_to_pegasus(q) for q in graph.nodes}


def pegasus_mirror(u: Any, w: Any, k: Any, z: Any, m: int) -> tuple[Any, Any, Any, Any]:
    """The automorphism ``(u, w, k, z) -> (1 - u, m - 1 - w, 11 - k, m - 2 - z)`` of the Pegasus graph P(m).

    Vertical and horizontal qubits change places, with the chip turned half round (checked coupler by
    coupler in the tests). Works on scalars and on arrays of Pegasus coordinates.
    """
    return 1 - u, m - 1 - w, 11 - k, m - 2 - z


def pegasus_images(
    base: dict[int, list[int]],
    graph: Any,
    m: int,
    *,
    position: dict[int, tuple[int, int, int, int]] | None = None,
    max_search: int = 200_000,
) -> list[dict[int, list[int]]]:
    """The largest set of disjoint images of ``base`` on a Pegasus ``graph`` that this search finds.

    An image is ``base`` moved by an automorphism of P(m): a translation by whole tiles (a vertical
    qubit ``(0, w, k, z)`` to ``(0, w + dx, k, z + dy)``, a horizontal one ``(1, w, k, z)`` to
    ``(1, w + dy, k, z + dx)``), with or without :func:`pegasus_mirror` first. An image counts when all
    its qubits and all the couplers ``base`` uses (inside chains and between them) are in ``graph``
    (a chip's inactive qubits drop the images over them). Among the images, a depth-first search
    over sets of pairwise disjoint ones (at most ``max_search`` nodes) keeps the largest set found.

    Parameters
    ----------
    base : dict of int to list of int
        Chains of the embedding, on ``graph``'s linear Pegasus labels.
    graph : networkx.Graph
    m : int
        Pegasus size.
    position : dict of int to tuple, optional
        Pegasus coordinates of every node of ``graph`` (computed when not given).
    max_search : int, default=200000
        Search nodes at most.

    Returns
    -------
    list of dict of int to list of int
        The copies, relabelled chain by chain, qubit for qubit; the untranslated ``base`` first when
        it is among them.
    """
    if position is None:
        position = _pegasus_positions(graph, m)
    _check_pegasus_size(position, m, "pegasus_images")
    missing = sorted({int(q) for chain in base.values() for q in chain} - set(position))
    if missing:
        raise param_error("base", "pegasus_images", "chains of qubits of graph",
                          Described(f"chains with qubits {missing[:5]} that graph does not have"))
    qubits = np.array(sorted({q for chain in base.values() for q in chain}), dtype=np.int64)
    index = {int(q): i for i, q in enumerate(qubits)}
    table = np.full((2, m, 12, m - 1), -1, dtype=np.int64)  # linear label of every working qubit
    for q, p in position.items():
        table[p] = q
    size = int(max(position)) + 1
    keys = np.array(sorted(min(a, b) * size + max(a, b) for a, b in graph.edges), dtype=np.int64)
    used = np.array([(index[a], index[b]) for a, b in graph.edges if a in index and b in index], dtype=np.int64)
    used = used.reshape(-1, 2)
    u0, w0, k0, z0 = np.array([position[int(q)] for q in qubits], dtype=np.int64).T
    images = []
    for mirrored in (False, True):
        u, w, k, z = pegasus_mirror(u0, w0, k0, z0, m) if mirrored else (u0, w0, k0, z0)
        for dx in range(-(m - 1), m):
            for dy in range(-(m - 1), m):
                w2, z2 = np.where(u == 0, w + dx, w + dy), np.where(u == 0, z + dy, z + dx)
                if w2.min() < 0 or w2.max() >= m or z2.min() < 0 or z2.max() >= m - 1:
                    continue
                image = table[u, w2, k, z2]
                if (image < 0).any():
                    continue
                a, b = image[used[:, 0]], image[used[:, 1]]  # every coupler the base uses (none: all kept)
                wanted = np.minimum(a, b) * size + np.maximum(a, b)
                if not (keys[np.minimum(np.searchsorted(keys, wanted), keys.size - 1)] == wanted).all():
                    continue
                if not mirrored and dx == 0 and dy == 0:
                    images.insert(0, image)  # the base itself first
                else:
                    images.append(image)
    chosen = _disjoint_sets([frozenset(image.tolist()) for image in images], max_search)
    relabel = [dict(zip(qubits.tolist(), images[i].tolist())) for i in chosen]
    return [{v: [move[q] for q in chain] for v, chain in base.items()} for move in relabel]


def _disjoint_sets(sets: list[frozenset], max_search: int) -> list[int]:
    """Indices of a largest family of pairwise disjoint ``sets`` found in ``max_search`` search nodes."""
    fits = []
    for i, a in enumerate(sets):
        bits = 0
        for j in range(i + 1, len(sets)):
            if a.isdisjoint(sets[j]):
                bits |= 1 << j
        fits.append(bits)
    best: list[int] = []
    visited = 0
    stack = [([], (1 << len(sets)) - 1)]
    while stack and visited < max_search:
        chosen, open_ = stack.pop()
        visited += 1
        if len(chosen) > len(best):
            best = chosen
        if len(chosen) + open_.bit_count() <= len(best):
            continue
        children = []
        while open_:
            i = (open_ & -open_).bit_length() - 1
            open_ &= open_ - 1
            children.append((chosen + [i], open_ & fits[i]))
        stack.extend(reversed(children))  # the lowest index first
    return best


def load_or_find_parallel_embeddings(
    layer_sizes: tuple[int, ...],
    graph: Any,
    topology: dict,
    cache_dir: Path | None,
    *,
    owner: str,
    max_copies: int | None = None,
    seed: int = 0,
) -> list[dict[int, list[int]]]:
    """The cached parallel embeddings of ``layer_sizes`` on ``graph`` (:func:`find_parallel_embeddings`).

    ``max_copies=1`` is the single embedding of :func:`load_or_find_embedding`
    (same cache file). Other values are cached in their own file.

    Raises
    ------
    InvalidParameterError
        When the network does not fit the graph.
    """
    if max_copies == 1:
        return [load_or_find_embedding(layer_sizes, graph, topology, cache_dir, owner=owner, seed=seed)]
    key = _graph_key(topology, list(graph.nodes), list(graph.edges), layer_sizes)
    cap = "all" if max_copies is None else str(max_copies)
    path = None if cache_dir is None else Path(cache_dir) / f"{key}-copies-{cap}-v{_COPIES_SEARCH}.json"
    copies = _cached_search(
        path, "copies", lambda: find_parallel_embeddings(layer_sizes, graph, topology, max_copies=max_copies, seed=seed),
        layer_sizes, graph, topology, owner,
    )
    return [{int(v): list(chain) for v, chain in copy.items()} for copy in copies]


def _chains_json(embedding: dict) -> dict[str, list]:
    return {str(v): list(chain) for v, chain in embedding.items()}


def _cached_search(
    path: Path | None, field: str, search: Any, layer_sizes: tuple[int, ...], graph: Any, topology: dict, owner: str
) -> Any:
    """The cached JSON ``field`` at ``path``, or ``search()`` written there (atomically) when absent.

    Raises
    ------
    InvalidParameterError
        When the search finds no embedding.
    """
    if path is not None and path.is_file():
        return json.loads(path.read_text())[field]
    found = search()
    if not found:
        raise param_error(
            "batch",
            owner,
            f"a network that fits the QPU's {topology.get('type', '')} graph of {graph.number_of_nodes()} qubits",
            Described(f"spin layers {layer_sizes}, for which no embedding was found"),
        )
    value = [_chains_json(c) for c in found] if field == "copies" else _chains_json(found)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        data = {"layer_sizes": list(layer_sizes), "topology": topology, field: value}
        write_file(path, json.dumps(data).encode(), sync=False)
    return value


def load_or_find_embedding(
    layer_sizes: tuple[int, ...],
    graph: Any,
    topology: dict,
    cache_dir: Path | None,
    *,
    owner: str,
    seed: int = 0,
) -> dict[int, list[int]]:
    """The cached embedding of ``layer_sizes`` on ``graph``, searching (and caching) it if absent.

    Raises
    ------
    InvalidParameterError
        When the network does not fit the graph.
    """
    key = _graph_key(topology, list(graph.nodes), list(graph.edges), layer_sizes)
    path = None if cache_dir is None else Path(cache_dir) / f"{key}.json"
    embedding = _cached_search(
        path, "embedding", lambda: find_layered_embedding(layer_sizes, graph, seed=seed), layer_sizes, graph, topology,
        owner,
    )
    return {int(v): list(chain) for v, chain in embedding.items()}


@dataclass(frozen=True, eq=False)
class ChainEmbedding:
    """An embedding as index arrays over the used qubits.

    Attributes
    ----------
    qubits : ndarray of shape (n_qubits,)
        Labels of the used qubits, chain after chain.
    qubit_var : ndarray of shape (n_qubits,)
        Logical variable of each used qubit.
    chain_length : ndarray of shape (n_spins,)
    coupler_u, coupler_v : ndarray of shape (n_couplers,)
        Qubit indices of the couplers between chains.
    coupler_k : ndarray of shape (n_couplers,)
        Logical coupling (index into :meth:`IsingBatch.to_dimod_arrays` order) each one carries.
    coupler_share : ndarray of shape (n_couplers,)
        ``1 / (number of couplers carrying that logical coupling)``.
    chain_u, chain_v : ndarray of shape (n_chain_edges,)
        Qubit indices of the couplers inside chains.
    """

    qubits: np.ndarray
    qubit_var: np.ndarray
    chain_length: np.ndarray
    coupler_u: np.ndarray
    coupler_v: np.ndarray
    coupler_k: np.ndarray
    coupler_share: np.ndarray
    chain_u: np.ndarray
    chain_v: np.ndarray

    @classmethod
    def build(
        cls, embedding: dict[int, list[int]], rows: np.ndarray, cols: np.ndarray, edges: Any, owner: str
    ) -> ChainEmbedding:
        """Index arrays of ``embedding`` for the logical couplings ``(rows[k], cols[k])`` on a graph's ``edges``."""
        n = len(embedding)
        qubits = np.array([q for v in range(n) for q in embedding[v]], dtype=np.int64)
        qubit_var = np.array([v for v in range(n) for _ in embedding[v]], dtype=np.int64)
        index = {int(q): i for i, q in enumerate(qubits)}
        pair_k = {(int(min(a, b)), int(max(a, b))): k for k, (a, b) in enumerate(zip(rows, cols))}
        cu, cv, ck, hu, hv = [], [], [], [], []
        for a, b in edges:
            ia, ib = index.get(int(a)), index.get(int(b))
            if ia is None or ib is None:
                continue
            va, vb = qubit_var[ia], qubit_var[ib]
            if va == vb:
                hu.append(ia)
                hv.append(ib)
                continue
            k = pair_k.get((int(min(va, vb)), int(max(va, vb))))
            if k is not None:
                cu.append(ia)
                cv.append(ib)
                ck.append(k)
        ck_arr = np.array(ck, dtype=np.int64)
        counts = np.bincount(ck_arr, minlength=len(rows))
        if np.any(counts == 0):
            missing = int(np.flatnonzero(counts == 0)[0])
            raise param_error(
                "embedding",
                owner,
                "an embedding with a coupler for every logical coupling",
                Described(f"none between chains {int(rows[missing])} and {int(cols[missing])}"),
            )
        return cls(
            qubits,
            qubit_var,
            np.bincount(qubit_var, minlength=n),
            np.array(cu, dtype=np.int64),
            np.array(cv, dtype=np.int64),
            ck_arr,
            1.0 / counts[ck_arr],
            np.array(hu, dtype=np.int64),
            np.array(hv, dtype=np.int64),
        )

    @property
    def chains(self) -> list[np.ndarray]:
        """Qubit indices (into :attr:`qubits`) of every chain."""
        bounds = np.concatenate([[0], np.cumsum(self.chain_length)])
        return [np.arange(bounds[v], bounds[v + 1]) for v in range(len(self.chain_length))]

    def embed(
        self, linear: np.ndarray, quadratic: np.ndarray, chain_strength: float
    ) -> tuple[np.ndarray, np.ndarray]:
        """Physical biases of a batch of logical problems (dimod sign).

        Parameters
        ----------
        linear : ndarray of shape (n_problems, n_spins)
        quadratic : ndarray of shape (n_couplings,)
        chain_strength : float
            Chain couplers get ``-chain_strength`` (ferromagnetic).

        Returns
        -------
        h : ndarray of shape (n_problems, n_qubits)
            Each field spread evenly over its chain.
        J : ndarray of shape (n_couplers + n_chain_edges,)
            Each coupling spread evenly over the couplers between its chains,
            then the chain couplers; pairs are ``(coupler_u, coupler_v)`` then
            ``(chain_u, chain_v)``.
        """
        h = linear[:, self.qubit_var] / self.chain_length[self.qubit_var]
        J = np.concatenate(
            [quadratic[self.coupler_k] * self.coupler_share, np.full(self.chain_u.size, -chain_strength)]
        )
        return h, J

    @property
    def pairs(self) -> tuple[np.ndarray, np.ndarray]:
        """Qubit-index pairs of the couplings returned by :meth:`embed`."""
        return np.concatenate([self.coupler_u, self.chain_u]), np.concatenate([self.coupler_v, self.chain_v])

    def decode(self, samples: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """Logical spins from physical samples, broken chains resolved by ``weighted_random``.

        Each logical spin takes the value of a uniformly drawn qubit of its chain,
        i.e. +1 with the fraction of +1 in the chain (dwave's ``weighted_random``
        rule, drawn per read from eqising's generator instead of numpy's global one).

        Parameters
        ----------
        samples : ndarray of shape (n_reads, n_qubits)
            In :attr:`qubits` order.
        rng : numpy.random.Generator

        Returns
        -------
        spins : ndarray of shape (n_reads, n_spins), dtype int8
        broken : ndarray of shape (n_reads, n_spins), dtype bool
            Which chains were broken.
        """
        R, n = samples.shape[0], self.chain_length.size
        starts = np.concatenate([[0], np.cumsum(self.chain_length)[:-1]])
        pick = starts[None, :] + (rng.random((R, n)) * self.chain_length[None, :]).astype(np.int64)
        spins = np.take_along_axis(samples, pick, axis=1).astype(np.int8)
        sums = np.add.reduceat(samples.astype(np.int64), starts, axis=1)
        broken = np.abs(sums) != self.chain_length[None, :]
        return spins, broken


@dataclass(frozen=True, eq=False)
class ParallelEmbedding:
    """Disjoint copies of one embedding, for several problems per QPU call.

    Attributes
    ----------
    base : ChainEmbedding
        Copy 0's index arrays; every copy has the same ones (same chains, same
        couplers), on its own qubits.
    labels : ndarray of shape (n_copies, n_qubits)
        Qubit labels of every copy, in ``base.qubits`` order (``labels[0]`` is
        ``base.qubits``).
    """

    base: ChainEmbedding
    labels: np.ndarray

    @property
    def n_copies(self) -> int:
        """Number of copies."""
        return int(self.labels.shape[0])

    @classmethod
    def build(
        cls, copies: list[dict[int, list[int]]], rows: np.ndarray, cols: np.ndarray, edges: Any, owner: str
    ) -> ParallelEmbedding:
        """Index arrays of ``copies`` (copy ``c`` = copy 0 relabelled qubit for qubit) on a graph's ``edges``.

        Raises
        ------
        InvalidParameterError
            When the copies overlap, or a copy lacks one of copy 0's couplers.
        """
        base = ChainEmbedding.build(copies[0], rows, cols, edges, owner)
        n = len(copies[0])
        labels = np.array([[q for v in range(n) for q in copy[v]] for copy in copies], dtype=np.int64)
        if labels.shape[1] != base.qubits.size or np.unique(labels).size != labels.size:
            raise param_error(
                "embedding", owner, "disjoint copies with copy 0's chain lengths", Described("other copies")
            )
        present = {(int(min(a, b)), int(max(a, b))) for a, b in edges}
        u, v = base.pairs
        for c in range(1, labels.shape[0]):
            a, b = labels[c, u], labels[c, v]
            if not all((int(min(x, y)), int(max(x, y))) in present for x, y in zip(a, b)):
                raise param_error(
                    "embedding", owner, "copies with every coupler of copy 0", Described(f"copy {c} without one")
                )
        return cls(base, labels)
