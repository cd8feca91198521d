"""The gallery's search structure: every sample stacked once, and the cohort kept up to date.

Built when the gallery changes, never per probe:

- all protected samples in one (N, 128) float64 matrix, with their squared norms, and a float32
  copy of it transposed and contiguous (129, N: the squared norms are the last row), so that a
  probe costs one float32 matrix-vector product (a.p - |a|^2 / 2 ranks the rows as the distance
  does, nearest highest), a partial selection
  (``argpartition``) of the few rows that can hold the nearest k identities, and the exact
  float64 distance of those rows only. The pass streams 4 bytes per dimension and row (51 MB
  at 100,000 templates): it is bound by memory bandwidth. Rows whose fast value lies within the
  float32 rounding bound of the cut-off are measured exactly too, so the answer is the float64
  brute force's, bit for bit, near-ties included;
- for every sample, the squared distance to the nearest sample of *another* identity and whose
  it is. Enrolling an identity compares only its samples with the others (k x N); removing one
  recomputes only the samples whose nearest neighbour it was. The cohort distance of an identity
  (gallery.py) is then the mean over its own samples, read in O(samples).

Loading stacks the samples (O(N)) and computes no cohort: an identity's nearest-other distances
are computed the first time they are asked for (the first probe that matches it: O(k N)), then
kept up to date like the rest. A full O(N^2) pass at load took minutes at 100,000 templates.
An enrolment or erasure is O(k N).
"""

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from .protection import ENCODING_DIM

_BLOCK_ROWS = 256  # rows of a distance matrix computed at once (256 x N floats)
_FAST_ROWS = ENCODING_DIM + 1  # the float32 copy: the sample, then its squared norm
# Rounding of the float32 pass: a dot product of n terms is off by at most n u sum|a_i p_i|
# (u = 2^-24, any summation order), rounding a, |a|^2 and p to float32 adds 3 u; the 1.01
# covers the second-order terms. The float64 side (squared norms, exact distances) gets a far
# looser share.
_FLOAT32_DOT_ERROR = (_FAST_ROWS + 3) * 2.0**-24 * 1.01
_FLOAT64_ERROR = 4 * (ENCODING_DIM + 2) * 2.0**-53

type FloatArray = npt.NDArray[np.float64]
type IntArray = npt.NDArray[np.intp]


class TemplateIndex:
    """Stacked samples of several identities, searched 1:N, with nearest-other distances."""

    def __init__(self) -> None:
        self.matrix: FloatArray = np.zeros((0, ENCODING_DIM))
        # float32, transposed (dimension + 1 x rows; the last row: squared norms): the probe's
        # one matrix-vector product streams half the bytes of the float64 matrix, and BLAS reads
        # it row by row. Spare columns beyond _size, like the other arrays' spare rows.
        self._columns: npt.NDArray[np.float32] = np.zeros((_FAST_ROWS, 0), dtype=np.float32)
        self._squares: FloatArray = np.zeros(0)
        self._owner: IntArray = np.zeros(0, dtype=np.intp)  # identity slot of each row
        self._nearest: FloatArray = np.zeros(0)  # squared distance to the nearest other identity
        self._nearest_owner: IntArray = np.zeros(0, dtype=np.intp)
        self._known: npt.NDArray[np.bool_] = np.zeros(0, dtype=bool)  # _nearest computed yet
        self._slots: dict[str, int] = {}
        self._names: dict[int, str] = {}
        self._next_slot = 0
        self._max_norm = 0.0  # largest sample norm so far (bounds the float32 rounding)
        self._max_rows = 0  # most samples of one identity so far (rows that may precede one)
        # Each identity's rows are contiguous: (first, end) by slot, so reading an identity's
        # rows (its cohort, at every decision) costs O(samples), not a pass over N.
        self._spans: dict[int, tuple[int, int]] = {}
        self._size = 0  # rows in use (the arrays have spare capacity)
        self._free = 0  # rows in use by no one (erased, not yet squeezed out)

    def __len__(self) -> int:
        """Number of identities."""
        return len(self._slots)

    def add(self, resident_id: str, samples: Sequence[FloatArray]) -> None:
        """Append an identity (not present) and update every row's nearest other identity."""
        new = np.array(samples, dtype=np.float64).reshape(-1, ENCODING_DIM)
        slot = self._next_slot
        self._next_slot += 1
        squares = np.einsum("ij,ij->i", new, new)
        nearest = np.full(len(new), np.inf)
        nearest_owner = np.full(len(new), -1, dtype=np.intp)
        size = self._size
        if size:
            # (N, k): every existing row (all of other identities) against the new samples.
            squared = (
                self._squares[:size, None] + squares[None, :] - 2.0 * (self.matrix[:size] @ new.T)
            )
            closest = squared.argmin(axis=0)
            nearest = squared[closest, np.arange(len(new))]
            nearest_owner = self._owner[closest]
            column = squared.min(axis=1)
            # Rows not computed yet stay so: they are measured against everyone when asked.
            closer = np.flatnonzero((column < self._nearest[:size]) & self._known[:size])
            self._nearest[closer] = column[closer]
            self._nearest_owner[closer] = slot
        self._grow(size + len(new))
        rows = slice(size, size + len(new))
        self.matrix[rows] = new
        self._columns[:ENCODING_DIM, rows] = new.T
        self._columns[ENCODING_DIM, rows] = squares
        self._squares[rows] = squares
        self._owner[rows] = slot
        self._nearest[rows] = nearest
        self._nearest_owner[rows] = nearest_owner
        self._known[rows] = True
        self._size = size + len(new)
        self._slots[resident_id] = slot
        self._names[slot] = resident_id
        self._spans[slot] = (size, size + len(new))
        self._note_sizes(squares, len(new))

    def remove(self, resident_id: str) -> None:
        """Erase an identity's rows; recompute only the rows whose nearest neighbour it was.

        The rows are zeroed and marked free (owner -1, infinitely far), not moved: no O(N) copy
        per erasure. They are squeezed out when they make up half of the matrix.
        """
        slot = self._slots.pop(resident_id)
        del self._names[slot]
        size = self._size
        gone = np.arange(*self._spans.pop(slot))
        self.matrix[gone] = 0.0
        self._columns[:ENCODING_DIM, gone] = 0.0
        self._columns[ENCODING_DIM, gone] = np.inf  # infinitely far: never a candidate
        self._squares[gone] = np.inf
        self._owner[gone] = -1
        self._nearest[gone] = np.inf
        self._nearest_owner[gone] = -1
        self._known[gone] = True  # nothing to compute for free rows
        self._free += len(gone)
        if self._free * 2 > size:
            self._compact()
        self._recompute(np.flatnonzero(self._nearest_owner[: self._size] == slot))

    def _grow(self, rows: int) -> None:
        """Room for ``rows`` rows (capacity doubles: appending is amortised O(k))."""
        if rows <= len(self.matrix):
            return
        capacity = max(rows, 2 * len(self.matrix), 64)
        size = self._size
        columns = np.zeros((_FAST_ROWS, capacity), dtype=np.float32)
        columns[:, :size] = self._columns[:, :size]
        self._columns.fill(0)
        self._columns = columns
        fields = ("matrix", "_squares", "_owner", "_nearest", "_nearest_owner", "_known")
        for name in fields:
            old = getattr(self, name)
            grown = np.zeros((capacity, *old.shape[1:]), dtype=old.dtype)
            grown[:size] = old[:size]
            old.fill(0)  # the old buffers held templates too
            setattr(self, name, grown)

    def _compact(self) -> None:
        """Squeeze out the free rows (their owner is -1)."""
        keep = np.flatnonzero(self._owner[: self._size] >= 0)
        for name in ("matrix", "_squares", "_owner", "_nearest", "_nearest_owner", "_known"):
            array = getattr(self, name)
            kept = array[keep]
            array[: len(keep)] = kept
            array[len(keep) : self._size] = 0
        kept_columns = self._columns[:, keep]
        self._columns[:, : len(keep)] = kept_columns
        self._columns[:, len(keep) : self._size] = 0
        self._size = len(keep)
        self._free = 0
        # Kept rows keep their order: an identity's first row moves down by the free rows
        # before it.
        for slot, (first, end) in self._spans.items():
            moved = int(np.searchsorted(keep, first))
            self._spans[slot] = (moved, moved + end - first)

    def _note_sizes(self, squares: FloatArray, rows: int) -> None:
        """Keep the bounds the probe's selection relies on (they only ever grow)."""
        if len(squares):
            self._max_norm = max(self._max_norm, float(np.sqrt(squares.max())))
        self._max_rows = max(self._max_rows, rows)

    def _recompute(self, rows: IntArray) -> None:
        """Nearest other identity of these rows, against every row (blocks of rows)."""
        size = self._size
        matrix, squares, owner = self.matrix[:size], self._squares[:size], self._owner[:size]
        for start in range(0, len(rows), _BLOCK_ROWS):
            block = rows[start : start + _BLOCK_ROWS]
            squared = squares[block, None] + squares[None, :] - 2.0 * (matrix[block] @ matrix.T)
            squared[owner[block, None] == owner[None, :]] = np.inf
            closest = squared.argmin(axis=1)
            self._nearest[block] = squared[np.arange(len(block)), closest]
            self._nearest_owner[block] = np.where(
                np.isfinite(self._nearest[block]), owner[closest], -1
            )
            self._known[block] = True

    @classmethod
    def build(
        cls, identities: Sequence[tuple[str, Sequence[FloatArray]]], *, cohort: bool = False
    ) -> TemplateIndex:
        """Build from scratch (loading): stack everything; the cohort comes when asked for.

        ``cohort=True`` computes every identity's cohort now (one O(N^2) pass).
        """
        index = cls()
        blocks = []
        first = 0  # the next identity's first row
        for resident_id, samples in identities:
            slot = index._next_slot
            index._next_slot += 1
            index._slots[resident_id] = slot
            index._names[slot] = resident_id
            rows = np.array(samples, dtype=np.float64).reshape(-1, ENCODING_DIM)
            index._spans[slot] = (first, first + len(rows))
            first += len(rows)
            blocks.append((slot, rows))
            index._max_rows = max(index._max_rows, len(rows))
        if not blocks:
            return index
        matrix = np.concatenate([rows for _, rows in blocks])
        index.matrix = matrix
        index._squares = np.einsum("ij,ij->i", matrix, matrix)
        index._columns = np.ascontiguousarray(
            np.vstack((matrix.T, index._squares[None, :])), dtype=np.float32
        )
        index._note_sizes(index._squares, 0)
        index._owner = np.concatenate(
            [np.full(len(rows), slot, dtype=np.intp) for slot, rows in blocks]
        )
        index._nearest = np.full(len(matrix), np.inf)
        index._nearest_owner = np.full(len(matrix), -1, dtype=np.intp)
        index._known = np.zeros(len(matrix), dtype=bool)
        index._size = len(matrix)
        if cohort:
            index._recompute(np.arange(len(matrix)))
        return index

    def erase(self) -> None:
        """Overwrite the stacked samples (they are templates too)."""
        self.matrix.fill(0.0)
        self._columns.fill(0.0)

    def neighbour_distance(self, resident_id: str) -> float | None:
        """Mean over the identity's samples of the distance to the nearest other identity.

        Computed now (O(k N)) for samples loaded but not measured yet, then kept up to date.
        """
        slot = self._slots.get(resident_id)
        if slot is None or len(self._slots) < 2:
            return None
        first, end = self._spans[slot]
        unknown = np.flatnonzero(~self._known[first:end]) + first
        if len(unknown):
            self._recompute(unknown)
        return float(np.mean(np.sqrt(np.maximum(self._nearest[first:end], 0.0))))

    def nearest(self, probe: FloatArray, k: int) -> list[tuple[str, float]]:
        """The k identities nearest to a protected probe: (resident_id, distance), nearest first.

        Exactly the float64 brute force's answer (the nearest sample of every identity, sorted;
        ties ordered by resident_id, as a stable sort of sorted ids did).
        """
        if not self._slots:
            return []
        candidates = self._candidate_rows(probe, k)
        distances = np.linalg.norm(self.matrix[candidates] - probe, axis=1)
        best: dict[int, float] = {}
        for owner, distance in zip(
            self._owner[candidates].tolist(), distances.tolist(), strict=True
        ):
            if owner >= 0 and distance < best.get(owner, np.inf):
                best[owner] = distance
        exact = sorted((distance, self._names[owner]) for owner, distance in best.items())
        return [(resident_id, distance) for distance, resident_id in exact[:k]]

    def _candidate_rows(self, probe: FloatArray, k: int) -> IntArray:
        """Rows that surely hold the nearest sample of each of the k nearest identities.

        The (k-1) x max_rows + 1 rows nearest by the fast pass span at least k identities, so
        the k-th nearest identity's nearest row is no farther than the last of them. Every row
        within four rounding bounds of that cut-off is kept (two for the cut-off and the row,
        two to spare, so that even the square roots of the exact values cannot tie): no
        rounding can move a needed row past it.
        """
        size = self._size
        # |p - a|^2 = |p|^2 - 2 (a.p - |a|^2 / 2): the nearest rows score highest.
        weights = np.append(probe, -0.5).astype(np.float32)
        scores = weights @ self._columns[:, :size]
        wanted = (k - 1) * self._max_rows + 1
        if wanted >= size:
            return np.arange(size)
        cutoff = float(np.partition(scores, size - wanted)[size - wanted])
        probe_norm = float(np.linalg.norm(probe))
        most = self._max_norm
        bound = _FLOAT32_DOT_ERROR * (most * probe_norm + most * most / 2)
        bound += _FLOAT64_ERROR * (most + probe_norm) ** 2
        return np.flatnonzero(scores >= cutoff - 4.0 * bound)
