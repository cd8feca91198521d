"""The enrolled faces of one site: protected templates per resident, searched 1:N.

Raw encodings go in (enrolment samples, probes) and are protected at once with the site's
TemplateProtector; only protected templates are kept, sealed for storage with ``seal``.

The cohort. The decision rule (decision.py) needs to know how crowded the face space is around
each resident, because dlib's encoder packs some faces (East and Southeast Asian faces, on our
measurements) much closer together than others. That is learnt from a cohort of faces that are
*not* the resident. FaceGate's cohort is the other identities enrolled at the same site, and
nothing else:

- no third-party faces are shipped: neither photos nor their encodings (which are biometric data
  of people who never agreed, and could not be in this installation's protected space anyway);
- no synthetic faces: a perturbed or interpolated template lies wherever we put it, so its
  distance says nothing about how the encoder spreads real faces near this resident;
- no faces of passers-by or visitors seen at the door: they did not consent to being kept.

The limit of this choice: a site with few residents, or with only one resident from a group the
encoder packs tightly, has little or no information about that resident's neighbourhood; the
rule then falls back to its global maximum distance (see docs/face-accuracy.md).
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from .models import ENGINE_DLIB, ENGINE_KEYS
from .protection import ENCODING_DIM, Template, TemplateProtector

MAX_SAMPLES = 32  # per identity; enrolment uses a handful, this only bounds the work per probe
_BLOCK_ROWS = 256  # rows of the cohort distance matrix computed at once (256 x N floats)


@dataclass(frozen=True, slots=True)
class Candidate:
    """One enrolled identity and the distance of a probe to its nearest sample."""

    resident_id: str
    distance: float


def _erase(templates: Iterable[Template]) -> None:
    """Overwrite template arrays in place (best effort: copies made by others stay)."""
    for template in templates:
        template.fill(0.0)


class Gallery:
    """resident_id -> several protected templates (samples) of that resident's face.

    ``engine`` is the key of the engine (and model) whose encodings it holds: a gallery only
    ever holds one engine's templates, and is sealed with that key.
    """

    def __init__(
        self, protector: TemplateProtector, engine: str = ENGINE_KEYS[ENGINE_DLIB]
    ) -> None:
        self.engine = engine
        self._protector = protector
        self._templates: dict[str, list[Template]] = {}
        self._matrix: npt.NDArray[np.float64] | None = None  # all samples, one identity a block
        self._starts: npt.NDArray[np.intp] = np.zeros(0, dtype=np.intp)
        self._order: list[str] = []
        self._neighbour: dict[str, float | None] | None = None

    @classmethod
    def unseal(cls, protector: TemplateProtector, blob: bytes) -> Gallery:
        """A gallery from ``seal``'s bytes; TemplateError when they do not authenticate.

        Blobs sealed before templates carried their engine were all dlib's.
        """
        engine, templates = protector.unseal_tagged(blob)
        gallery = cls(protector, engine if engine is not None else ENGINE_KEYS[ENGINE_DLIB])
        for resident_id, samples in templates.items():
            if samples:
                gallery._templates[resident_id] = samples[:MAX_SAMPLES]
        return gallery

    def seal(self) -> bytes:
        """The protected templates, encrypted for storage."""
        return self._protector.seal(self._templates, self.engine)

    def __len__(self) -> int:
        """Number of enrolled identities."""
        return len(self._templates)

    def __contains__(self, resident_id: object) -> bool:
        """Whether this resident has templates."""
        return resident_id in self._templates

    @property
    def resident_ids(self) -> tuple[str, ...]:
        """The enrolled residents, sorted."""
        return tuple(sorted(self._templates))

    def sample_count(self, resident_id: str) -> int:
        """How many samples a resident has (0 when not enrolled)."""
        return len(self._templates.get(resident_id, ()))

    def add_identity(self, resident_id: str, encodings: Sequence[npt.ArrayLike]) -> None:
        """Enrol a resident from raw encodings, replacing (and erasing) any earlier samples."""
        if not resident_id:
            raise ValueError("resident_id must not be empty")
        if not 1 <= len(encodings) <= MAX_SAMPLES:
            raise ValueError(f"enrol between 1 and {MAX_SAMPLES} samples, not {len(encodings)}")
        protected = [self._protector.protect(encoding) for encoding in encodings]
        previous = self._templates.get(resident_id)
        self._templates[resident_id] = protected
        if previous is not None:
            _erase(previous)
        self._changed()

    def remove_identity(self, resident_id: str) -> bool:
        """Erase a resident's templates now; False when there were none.

        The caller stores the gallery (``seal``) right after, so the erasure reaches the disk.
        """
        samples = self._templates.pop(resident_id, None)
        if samples is None:
            return False
        _erase(samples)
        self._changed()
        return True

    def clear(self) -> None:
        """Erase every template."""
        for samples in self._templates.values():
            _erase(samples)
        self._templates.clear()
        self._changed()

    def _changed(self) -> None:
        """Drop what was derived from the templates (the stacked matrix is erased too)."""
        if self._matrix is not None:
            self._matrix.fill(0.0)
        self._matrix = None
        self._neighbour = None

    def _stacked(self) -> npt.NDArray[np.float64]:
        """All samples as one (N, 128) matrix; identity i's rows start at ``_starts[i]``."""
        if self._matrix is None:
            self._order = sorted(self._templates)
            blocks = [self._templates[resident_id] for resident_id in self._order]
            sizes = [len(block) for block in blocks]
            self._starts = np.concatenate(([0], np.cumsum(sizes)[:-1])).astype(np.intp)
            rows = [sample for block in blocks for sample in block]
            self._matrix = np.stack(rows) if rows else np.zeros((0, ENCODING_DIM))
        return self._matrix

    def best_matches(self, probe: npt.ArrayLike, k: int = 2) -> list[Candidate]:
        """The ``k`` identities nearest to a raw probe encoding, nearest first.

        An identity's distance is that of its nearest sample (as face_recognition compares).
        """
        if k < 1:
            raise ValueError("k must be at least 1")
        protected = self._protector.protect(probe)
        matrix = self._stacked()
        if not self._order:
            return []
        distances = np.linalg.norm(matrix - protected, axis=1)
        per_identity = np.minimum.reduceat(distances, self._starts)
        nearest = np.argsort(per_identity, kind="stable")[:k]
        return [Candidate(self._order[i], float(per_identity[i])) for i in nearest]

    def neighbour_distance(self, resident_id: str) -> float | None:
        """How close the nearest other enrolled faces come to this resident (the cohort).

        For each of the resident's samples, the distance to the nearest sample of any other
        identity, averaged over the samples (the mean is steadier than the single closest pair).
        None when the resident is not enrolled or is the only identity.
        """
        if self._neighbour is None:
            self._neighbour = self._neighbour_distances()
        return self._neighbour.get(resident_id)

    def _neighbour_distances(self) -> dict[str, float | None]:
        """neighbour_distance for every identity, in blocks of rows.

        Squared distances as |a|^2 + |b|^2 - 2 a.b (one matrix product per block): for
        encodings of norm about 1.4 the rounding error is around 1e-15, far below anything the
        thresholds resolve. 2,500 samples (500 residents with 5 each) take a fraction of a second.
        """
        matrix = self._stacked()
        if len(self._order) < 2:  # a cohort needs another identity
            return dict.fromkeys(self._order)
        sizes = np.diff([*self._starts.tolist(), len(matrix)])
        owners = np.repeat(np.arange(len(self._order)), sizes)
        squares = np.einsum("ij,ij->i", matrix, matrix)
        nearest = np.empty(len(matrix))
        for start in range(0, len(matrix), _BLOCK_ROWS):
            rows = slice(start, start + _BLOCK_ROWS)
            squared = squares[rows, None] + squares[None, :] - 2.0 * (matrix[rows] @ matrix.T)
            squared[owners[rows, None] == owners[None, :]] = np.inf
            nearest[rows] = np.sqrt(np.maximum(squared.min(axis=1), 0.0))
        means = np.add.reduceat(nearest, self._starts) / sizes
        return {resident_id: float(means[i]) for i, resident_id in enumerate(self._order)}
