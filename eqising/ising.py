"""Batches of layered Ising problems and the one conversion to dimod.

Sign convention (machine-learning form, used everywhere in eqising)::

    E(s) = - sum_l s_l^T J_l s_{l+1} - sum_i h_i s_i

with spins ``s_i`` in {-1, +1}. dimod/Ocean write ``E = sum h s + sum J s s``;
:meth:`IsingBatch.to_dimod_arrays` is the only place that converts (``h_dimod = -h``,
``J_dimod = -J``); :meth:`IsingBatch.to_bqm` builds a BQM from it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from ._numba_cache import cached_njit
from ._validation import Described, check_finite_array, check_int, param_error

if TYPE_CHECKING:  # pragma: no cover
    import dimod

__all__ = ["IsingBatch", "layered_energies", "layered_row_norms", "max_energy_change", "min_field_scale"]


@dataclass(frozen=True, eq=False)
class IsingBatch:
    """B Ising problems on one layered graph: shared couplings, per-problem fields.

    Spin layer ``l`` is coupled only to layers ``l - 1`` and ``l + 1``, so the
    graph is a chain of complete bipartite blocks (a layered network with its
    input layer already folded into the fields).

    Parameters
    ----------
    layer_sizes : tuple of int
        Number of spins in each layer; ``n_spins = sum(layer_sizes)``.
    couplings : tuple of ndarray
        ``couplings[l]`` has shape ``(layer_sizes[l], layer_sizes[l + 1])`` and
        holds ``J_l``, shared by every problem of the batch.
    fields : ndarray of shape (n_problems, n_spins)
        Per-problem fields ``h`` (ML sign: a positive field favours ``s = +1``).
    """

    layer_sizes: tuple[int, ...]
    couplings: tuple[np.ndarray, ...]
    fields: np.ndarray
    offsets: tuple[int, ...] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        owner = "IsingBatch"
        if not isinstance(self.layer_sizes, (tuple, list)):
            raise param_error("layer_sizes", owner, "a non-empty tuple of ints >= 1", self.layer_sizes)
        sizes = tuple(check_int(n, "layer_sizes", owner, low=1) for n in self.layer_sizes)
        if not sizes:
            raise param_error("layer_sizes", owner, "a non-empty tuple of ints >= 1", self.layer_sizes)
        if len(self.couplings) != len(sizes) - 1:
            raise param_error(
                "couplings", owner, f"a sequence of {len(sizes) - 1} arrays (one per pair of adjacent layers)",
                Described(f"{len(self.couplings)} arrays"),
            )
        couplings = tuple(
            check_finite_array(J, "couplings", owner, shape=(sizes[l], sizes[l + 1]))
            for l, J in enumerate(self.couplings)
        )
        fields = check_finite_array(self.fields, "fields", owner, shape=(None, sum(sizes)))
        object.__setattr__(self, "layer_sizes", sizes)
        object.__setattr__(self, "couplings", couplings)
        object.__setattr__(self, "fields", fields)
        object.__setattr__(self, "offsets", tuple(int(o) for o in np.concatenate([[0], np.cumsum(sizes)])))

    # ------------------------------------------------------------------ shape
    @property
    def n_problems(self) -> int:
        """Number of problems B in the batch."""
        return self.fields.shape[0]

    @property
    def n_spins(self) -> int:
        """Number of spins N of each problem."""
        return self.offsets[-1]

    @property
    def n_couplings(self) -> int:
        """Number of (possibly zero) couplings of each problem."""
        return int(sum(J.size for J in self.couplings))

    def layer_slice(self, layer: int) -> slice:
        """Columns of spin layer ``layer`` in an array of shape (..., n_spins)."""
        return slice(self.offsets[layer], self.offsets[layer + 1])

    # ---------------------------------------------------------------- physics
    def coupling_matrix(self) -> np.ndarray:
        """Dense symmetric coupling matrix of shape (n_spins, n_spins), zero diagonal."""
        J = np.zeros((self.n_spins, self.n_spins))
        for l, Jl in enumerate(self.couplings):
            a, b = self.layer_slice(l), self.layer_slice(l + 1)
            J[a, b] = Jl
            J[b, a] = Jl.T
        return J

    def local_fields(self, spins: np.ndarray) -> np.ndarray:
        """Local fields ``h_i + sum_j J_ij s_j`` of shape (n_problems, n_reads, n_spins).

        Parameters
        ----------
        spins : ndarray of shape (n_problems, n_reads, n_spins)
        """
        s = np.asarray(spins, dtype=np.float64)
        out = np.broadcast_to(self.fields[:, None, :], s.shape).copy()
        for l, Jl in enumerate(self.couplings):
            a, b = self.layer_slice(l), self.layer_slice(l + 1)
            out[..., a] += s[..., b] @ Jl.T
            out[..., b] += s[..., a] @ Jl
        return out

    def energies(self, spins: np.ndarray) -> np.ndarray:
        """Energies ``E(s)`` of shape (n_problems, n_reads).

        Parameters
        ----------
        spins : ndarray of shape (n_problems, n_reads, n_spins)
        """
        return layered_energies(self.offsets, self.couplings, self.fields, spins)

    def max_energy_change(self) -> np.ndarray:
        """Largest possible single-flip energy change per problem, shape (n_problems,)."""
        return max_energy_change(self.fields, layered_row_norms(self.offsets, self.couplings)[0])

    def min_field_scale(self) -> np.ndarray:
        """Smallest typical local-field magnitude over the spins, per problem, shape (n_problems,).

        Spin ``i``'s typical local field is ``sqrt(h_i**2 + sum_j J_ij**2)``, the
        root-mean-square of ``h_i + sum_j J_ij s_j`` over random neighbours.
        Spins with no bias at all are ignored (1.0 if every spin is free).
        """
        return min_field_scale(self.fields, layered_row_norms(self.offsets, self.couplings)[1])

    def select(self, problems: np.ndarray | slice) -> IsingBatch:
        """A batch holding only the given problems (couplings shared, not copied)."""
        return IsingBatch(self.layer_sizes, self.couplings, self.fields[problems])

    # ------------------------------------------------------------------ dimod
    def to_dimod_arrays(self) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """Every problem in dimod's sign convention, as arrays.

        This is the only conversion between eqising's sign convention and
        dimod's: ``h_dimod = -h`` and ``J_dimod = -J``, so the dimod energy of
        any sample equals :meth:`energies` of it.

        Returns
        -------
        linear : ndarray of shape (n_problems, n_spins)
            ``h_dimod`` of every problem.
        quadratic : tuple of 3 ndarray of shape (n_couplings,)
            ``(rows, cols, J_dimod)`` shared by every problem: variable ``rows[k]``
            (layer ``l``) couples to ``cols[k]`` (layer ``l + 1``), in layer order
            and row-major within each coupling matrix.
        """
        rows, cols, vals = [np.zeros(0, np.int64)], [np.zeros(0, np.int64)], [np.zeros(0)]
        for l, Jl in enumerate(self.couplings):
            r, c = np.nonzero(np.ones_like(Jl, dtype=bool))
            rows.append(r + self.offsets[l])
            cols.append(c + self.offsets[l + 1])
            vals.append(-Jl.ravel())
        return -self.fields, (np.concatenate(rows), np.concatenate(cols), np.concatenate(vals))

    def to_bqm(self, problem: int = 0) -> dimod.BinaryQuadraticModel:
        """Problem ``problem`` as a SPIN-valued :class:`dimod.BinaryQuadraticModel`.

        Variables are the integers ``0 .. n_spins - 1`` in layer order; the
        biases come from :meth:`to_dimod_arrays`, so the BQM energy of any
        sample equals :meth:`energies` of it.
        """
        import dimod

        problem = check_int(problem, "problem", "IsingBatch.to_bqm", low=0, high=self.n_problems - 1)
        linear, quadratic = self.to_dimod_arrays()
        return dimod.BinaryQuadraticModel.from_numpy_vectors(
            linear[problem], quadratic, 0.0, dimod.SPIN, variable_order=range(self.n_spins)
        )


# ------------------------------------------------- the same physics on plain arrays
# (IsingBatch's methods call these; a compiled training step that builds no IsingBatch calls them too,
# so both compute the same numbers)
def _check_layout(offsets: tuple[int, ...], couplings: tuple[np.ndarray, ...], fields: np.ndarray | None,
                  owner: str) -> None:
    """Refuse couplings or fields that do not fit ``offsets`` (the compiled cores trust the shapes)."""
    want = tuple((offsets[l + 1] - offsets[l], offsets[l + 2] - offsets[l + 1]) for l in range(len(offsets) - 2))
    got = tuple(np.shape(J) for J in couplings)
    if got != want:
        raise param_error("couplings", owner, f"arrays of shapes {list(want)} (the layers of offsets {tuple(offsets)})",
                          Described(f"arrays of shapes {list(got)}"))
    if fields is not None and (np.ndim(fields) != 2 or np.shape(fields)[1] != offsets[-1]):
        raise param_error("fields", owner, f"an array of shape (n_problems, {offsets[-1]})",
                          Described(f"array of shape {np.shape(fields)}"))


def _packed(couplings: tuple[np.ndarray, ...]) -> tuple[np.ndarray, ...]:
    """Couplings as C-contiguous float64 arrays (a tuple the compiled cores take)."""
    return tuple(np.ascontiguousarray(J, dtype=np.float64) for J in couplings)


@cached_njit(error_model="numpy")
def _energies_into(offsets, couplings, fields, spins, out):
    """``out[b, r] = -sum_i h_i s_i - sum_l s_l . (J_l s_{l+1})`` for every chain (the core of :func:`layered_energies`)."""
    B, R, N = spins.shape
    n_max = 1
    for l in range(len(couplings)):
        n_max = max(n_max, couplings[l].shape[1])
    t = np.empty(n_max)
    sf = np.empty(N)
    for b in range(B):
        for r in range(R):
            for i in range(N):
                sf[i] = np.float64(spins[b, r, i])
            e = 0.0
            for i in range(N):
                e -= fields[b, i] * sf[i]
            for l in range(len(couplings)):
                J = couplings[l]
                n0, n1 = J.shape
                lo, hi = offsets[l], offsets[l + 1]
                for k in range(n1):
                    t[k] = 0.0
                for i in range(n0):  # t = J^T s_l, row by row (vectorised over k)
                    si = sf[lo + i]
                    for k in range(n1):
                        t[k] += si * J[i, k]
                acc = 0.0
                for k in range(n1):
                    acc += t[k] * sf[hi + k]
                e -= acc
            out[b, r] = e


def layered_energies(
    offsets: tuple[int, ...], couplings: tuple[np.ndarray, ...], fields: np.ndarray, spins: np.ndarray
) -> np.ndarray:
    """Energies ``E(s)`` of shape (n_problems, n_reads) of a layered batch given as arrays.

    Parameters
    ----------
    offsets : tuple of int
        Start of every layer and the total, as :attr:`IsingBatch.offsets`.
    couplings : tuple of ndarray
        ``J_l`` of shape (n_l, n_{l+1}).
    fields : ndarray of shape (n_problems, n_spins)
    spins : ndarray of shape (n_problems, n_reads, n_spins)
        Entries in {-1, +1} (any integer or float dtype).
    """
    spins = np.ascontiguousarray(spins)
    if spins.dtype.kind not in "iu":
        spins = spins.astype(np.int8)
    _check_layout(offsets, couplings, fields, "layered_energies")
    if spins.ndim != 3 or spins.shape[0] != len(fields) or spins.shape[2] != offsets[-1]:
        raise param_error("spins", "layered_energies", f"an array of shape ({len(fields)}, n_reads, {offsets[-1]})",
                          Described(f"array of shape {spins.shape}"))
    out = np.empty(spins.shape[:2])
    packed = _packed(couplings) or (np.zeros((0, 0)),)  # a 0x0 stand-in: an empty tuple has no element type
    _energies_into(np.asarray(offsets, dtype=np.int64), packed, np.ascontiguousarray(fields, dtype=np.float64),
                   spins, out)
    return out


@cached_njit(error_model="numpy")
def _row_norms_into(offsets, couplings, absolute, square):
    """The core of :func:`layered_row_norms` (rows, then columns, of every ``J_l`` in order)."""
    for l in range(len(couplings)):
        J = couplings[l]
        n0, n1 = J.shape
        lo, hi = offsets[l], offsets[l + 1]
        for i in range(n0):
            a = 0.0
            q = 0.0
            for k in range(n1):
                w = J[i, k]
                a += abs(w)
                q += w * w
                absolute[hi + k] += abs(w)
                square[hi + k] += w * w
            absolute[lo + i] += a
            square[lo + i] += q


def layered_row_norms(offsets: tuple[int, ...], couplings: tuple[np.ndarray, ...]) -> tuple[np.ndarray, np.ndarray]:
    """Per spin, ``sum_j |J_ij|`` and ``sum_j J_ij**2`` over its couplings: two ndarrays of shape (n_spins,)."""
    _check_layout(offsets, couplings, None, "layered_row_norms")
    absolute, square = np.zeros(offsets[-1]), np.zeros(offsets[-1])
    if couplings:
        _row_norms_into(np.asarray(offsets, dtype=np.int64), _packed(couplings), absolute, square)
    return absolute, square


@cached_njit(error_model="numpy")
def _max_energy_change_row(f, absolute_rows):
    """:func:`max_energy_change` of one problem's fields ``f`` (four running maxima: a maximum
    is exact in any order, and four independent ones do not wait on each other)."""
    m0 = m1 = m2 = m3 = -np.inf
    n4 = f.size - f.size % 4
    for i in range(0, n4, 4):
        m0 = max(m0, abs(f[i]) + absolute_rows[i])
        m1 = max(m1, abs(f[i + 1]) + absolute_rows[i + 1])
        m2 = max(m2, abs(f[i + 2]) + absolute_rows[i + 2])
        m3 = max(m3, abs(f[i + 3]) + absolute_rows[i + 3])
    for i in range(n4, f.size):
        m0 = max(m0, abs(f[i]) + absolute_rows[i])
    return 2.0 * max(max(m0, m1), max(m2, m3))


@cached_njit(error_model="numpy")
def _max_energy_change_into(fields, absolute_rows, out):
    for b in range(fields.shape[0]):
        out[b] = _max_energy_change_row(fields[b], absolute_rows)


def max_energy_change(fields: np.ndarray, absolute_rows: np.ndarray) -> np.ndarray:
    """Largest single-flip energy change per problem, shape (n_problems,).

    Parameters
    ----------
    fields : ndarray of shape (n_problems, n_spins)
    absolute_rows : ndarray of shape (n_spins,)
        ``sum_j |J_ij|`` (:func:`layered_row_norms`).
    """
    return _per_problem(_max_energy_change_into, fields, absolute_rows, "absolute_rows", "max_energy_change")


def _per_problem(core, fields: np.ndarray, rows: np.ndarray, name: str, owner: str) -> np.ndarray:
    """``core(fields, rows, out)`` into a new ``out`` of shape (n_problems,), after checking the shapes it trusts."""
    if np.ndim(fields) != 2 or np.shape(rows) != (np.shape(fields)[1],):
        raise param_error(name, owner, "an array with one entry per column of fields",
                          Described(f"shapes {np.shape(fields)} and {np.shape(rows)}"))
    out = np.empty(len(fields))
    core(np.ascontiguousarray(fields, dtype=np.float64), np.ascontiguousarray(rows, dtype=np.float64), out)
    return out


@cached_njit(error_model="numpy")
def _min_field_scale_row(f, square_rows):
    """:func:`min_field_scale` of one problem's fields ``f``: the smallest positive
    ``sqrt(f_i**2 + square_rows_i)``, taken as the square root of the smallest positive
    ``f_i**2 + square_rows_i`` (the same number: a correctly rounded square root is
    monotonic and positive exactly for positive arguments; one root instead of one per spin)."""
    m0 = m1 = m2 = m3 = np.inf  # four running minima (exact in any order), as in _max_energy_change_row
    n4 = f.size - f.size % 4
    for i in range(0, n4, 4):
        m0 = _min_positive(m0, f[i] * f[i] + square_rows[i])
        m1 = _min_positive(m1, f[i + 1] * f[i + 1] + square_rows[i + 1])
        m2 = _min_positive(m2, f[i + 2] * f[i + 2] + square_rows[i + 2])
        m3 = _min_positive(m3, f[i + 3] * f[i + 3] + square_rows[i + 3])
    for i in range(n4, f.size):
        m0 = _min_positive(m0, f[i] * f[i] + square_rows[i])
    m0 = min(min(m0, m1), min(m2, m3))
    return math.sqrt(m0) if m0 < np.inf else 1.0


@cached_njit(error_model="numpy")
def _min_positive(m, x):
    """``x`` if it is positive and below ``m``, else ``m``."""
    return x if 0.0 < x < m else m


@cached_njit(error_model="numpy")
def _min_field_scale_into(fields, square_rows, out):
    for b in range(fields.shape[0]):
        out[b] = _min_field_scale_row(fields[b], square_rows)


def min_field_scale(fields: np.ndarray, square_rows: np.ndarray) -> np.ndarray:
    """Smallest typical local-field magnitude per problem, shape (n_problems,) (:meth:`IsingBatch.min_field_scale`).

    Parameters
    ----------
    fields : ndarray of shape (n_problems, n_spins)
    square_rows : ndarray of shape (n_spins,)
        ``sum_j J_ij**2`` (:func:`layered_row_norms`).
    """
    return _per_problem(_min_field_scale_into, fields, square_rows, "square_rows", "min_field_scale")
