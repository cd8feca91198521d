"""The gallery's search structure: every sample stacked once, and the cohort kept up to date.

Built when the gallery changes, never per probe:

- all protected samples in one (N, 128) matrix, one identity's samples contiguous, with their
  squared norms, so a probe costs one matrix-vector product (|a|^2 + |p|^2 - 2 a.p), a per-
  identity minimum and a partial selection of the nearest few identities; those few are then
  measured exactly as before (the norm of the difference), so a decision does not depend on the
  rounding of the fast pass;
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
_REFINE = 8  # identities measured exactly after the fast pass (>= the k asked for)

type FloatArray = npt.NDArray[np.float64]
type IntArray = npt.NDArray[np.intp]


class TemplateIndex:
    """Stacked samples of several identities, searched 1:N, with nearest-other distances."""

    def __init__(self) -> None:
        self.matrix: FloatArray = np.zeros((0, ENCODING_DIM))
        # float32 copy for the probe's fast pass: half the memory to stream per probe.
        self._fast: npt.NDArray[np.float32] = np.zeros((0, ENCODING_DIM), dtype=np.float32)
        self._squares: FloatArray = np.zeros(0)
        self._owner: IntArray = np.zeros(0, dtype=np.intp)  # identity slot of each row
        self._nearest: FloatArray = np.zeros(0)  # squared distance to the nearest other identity
        self._nearest_owner: IntArray = np.zeros(0, dtype=np.intp)
        self._known: npt.NDArray[np.bool_] = np.zeros(0, dtype=bool)  # _nearest computed yet
        self._slots: dict[str, int] = {}
        self._names: dict[int, str] = {}
        self._next_slot = 0
        self._starts: IntArray = np.zeros(0, dtype=np.intp)  # first row of each run of owners
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
        self._fast[rows] = new
        self._squares[rows] = squares
        self._owner[rows] = slot
        self._nearest[rows] = nearest
        self._nearest_owner[rows] = nearest_owner
        self._known[rows] = True
        self._size = size + len(new)
        self._slots[resident_id] = slot
        self._names[slot] = resident_id
        self._update_starts()

    def remove(self, resident_id: str) -> None:
        """Erase an identity's rows; recompute only the rows whose nearest neighbour it was.

        The rows are zeroed and marked free (owner -1, infinitely far), not moved: no O(N) copy
        per erasure. They are squeezed out when they make up half of the matrix.
        """
        slot = self._slots.pop(resident_id)
        del self._names[slot]
        size = self._size
        gone = np.flatnonzero(self._owner[:size] == slot)
        self.matrix[gone] = 0.0
        self._fast[gone] = 0.0
        self._squares[gone] = np.inf
        self._owner[gone] = -1
        self._nearest[gone] = np.inf
        self._nearest_owner[gone] = -1
        self._known[gone] = True  # nothing to compute for free rows
        self._free += len(gone)
        if self._free * 2 > size:
            self._compact()
        self._update_starts()
        self._recompute(np.flatnonzero(self._nearest_owner[: self._size] == slot))

    def _grow(self, rows: int) -> None:
        """Room for ``rows`` rows (capacity doubles: appending is amortised O(k))."""
        if rows <= len(self.matrix):
            return
        capacity = max(rows, 2 * len(self.matrix), 64)
        size = self._size
        fields = ("matrix", "_fast", "_squares", "_owner", "_nearest", "_nearest_owner", "_known")
        for name in fields:
            old = getattr(self, name)
            grown = np.zeros((capacity, *old.shape[1:]), dtype=old.dtype)
            grown[:size] = old[:size]
            old.fill(0)  # the old buffers held templates too
            setattr(self, name, grown)

    def _compact(self) -> None:
        """Squeeze out the free rows (their owner is -1)."""
        keep = np.flatnonzero(self._owner[: self._size] >= 0)
        for name in (
            "matrix",
            "_fast",
            "_squares",
            "_owner",
            "_nearest",
            "_nearest_owner",
            "_known",
        ):
            array = getattr(self, name)
            kept = array[keep]
            array[: len(keep)] = kept
            array[len(keep) : self._size] = 0
        self._size = len(keep)
        self._free = 0

    def _update_starts(self) -> None:
        owner = self._owner[: self._size]
        changes = np.flatnonzero(owner[1:] != owner[:-1]) + 1
        self._starts = np.concatenate(([0], changes)).astype(np.intp) if len(owner) else changes

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
        for resident_id, samples in identities:
            slot = index._next_slot
            index._next_slot += 1
            index._slots[resident_id] = slot
            index._names[slot] = resident_id
            blocks.append((slot, np.array(samples, dtype=np.float64).reshape(-1, ENCODING_DIM)))
        if not blocks:
            return index
        matrix = np.concatenate([rows for _, rows in blocks])
        index.matrix = matrix
        index._fast = matrix.astype(np.float32)
        index._squares = np.einsum("ij,ij->i", matrix, matrix)
        index._owner = np.concatenate(
            [np.full(len(rows), slot, dtype=np.intp) for slot, rows in blocks]
        )
        index._nearest = np.full(len(matrix), np.inf)
        index._nearest_owner = np.full(len(matrix), -1, dtype=np.intp)
        index._known = np.zeros(len(matrix), dtype=bool)
        index._size = len(matrix)
        index._update_starts()
        if cohort:
            index._recompute(np.arange(len(matrix)))
        return index

    def erase(self) -> None:
        """Overwrite the stacked samples (they are templates too)."""
        self.matrix.fill(0.0)
        self._fast.fill(0.0)

    def neighbour_distance(self, resident_id: str) -> float | None:
        """Mean over the identity's samples of the distance to the nearest other identity.

        Computed now (O(k N)) for samples loaded but not measured yet, then kept up to date.
        """
        slot = self._slots.get(resident_id)
        if slot is None or len(self._slots) < 2:
            return None
        rows = self._owner[: self._size] == slot
        if not self._known[: self._size][rows].all():
            self._recompute(np.flatnonzero(rows & ~self._known[: self._size]))
        return float(np.mean(np.sqrt(np.maximum(self._nearest[: self._size][rows], 0.0))))

    def nearest(self, probe: FloatArray, k: int) -> list[tuple[str, float]]:
        """The k identities nearest to a protected probe: (resident_id, distance), nearest first.

        Ties (equal distances) are ordered by resident_id, as a stable sort of sorted ids did.
        """
        size = self._size
        if not self._slots:
            return []
        # + |p|^2, the same for all rows; float32 rounding (~1e-7) only orders the candidates.
        # einsum streams the float32 rows faster than OpenBLAS's one-thread sgemv (measured:
        # 5.8 against 9.6 ms of CPU at 100,000 rows); the pass is bound by memory bandwidth.
        products = np.einsum("ij,j->i", self._fast[:size], probe.astype(np.float32))
        approx = self._squares[:size] - 2.0 * products
        per_identity = np.minimum.reduceat(approx, self._starts)
        count = min(len(per_identity), max(k, _REFINE))
        if count < len(per_identity):
            groups = np.argpartition(per_identity, count - 1)[:count]
        else:
            groups = np.arange(len(per_identity))
        stops = np.append(self._starts[1:], size)
        exact = []
        for group in groups:
            owner = int(self._owner[self._starts[group]])
            if owner < 0:  # free rows (erased identities), infinitely far
                continue
            rows = self.matrix[self._starts[group] : stops[group]]
            distance = float(np.linalg.norm(rows - probe, axis=1).min())
            exact.append((distance, self._names[owner]))
        exact.sort()
        return [(resident_id, distance) for distance, resident_id in exact[:k]]
