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

import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy.typing as npt

from .index import TemplateIndex
from .models import ENGINE_DLIB, ENGINE_KEYS
from .protection import Template, TemplateProtector

MAX_SAMPLES = 32  # per identity; enrolment uses a handful, this only bounds the work per probe


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
        self._index: TemplateIndex | None = None  # built on first use, then kept up to date
        # Probes run in the executor while an enrolment may be changing the gallery.
        self.lock = threading.RLock()

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
        with self.lock:
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
        with self.lock:
            previous = self._templates.get(resident_id)
            self._templates[resident_id] = protected
            if self._index is not None:
                if previous is not None:
                    self._index.remove(resident_id)
                self._index.add(resident_id, protected)
            if previous is not None:
                _erase(previous)

    def remove_identity(self, resident_id: str) -> bool:
        """Erase a resident's templates now; False when there were none.

        The caller stores the gallery (``seal``) right after, so the erasure reaches the disk.
        """
        with self.lock:
            samples = self._templates.pop(resident_id, None)
            if samples is None:
                return False
            if self._index is not None:
                self._index.remove(resident_id)
            _erase(samples)
            return True

    def clear(self) -> None:
        """Erase every template."""
        with self.lock:
            for samples in self._templates.values():
                _erase(samples)
            self._templates.clear()
            if self._index is not None:
                self._index.erase()
            self._index = None

    def prepare(self) -> TemplateIndex:
        """The search index, built now if needed (O(N) stacking: call it in the executor).

        The cohort of each identity is computed the first time it is asked for (index.py).
        """
        with self.lock:
            if self._index is None:
                self._index = TemplateIndex.build(sorted(self._templates.items()))
            return self._index

    def best_matches(self, probe: npt.ArrayLike, k: int = 2) -> list[Candidate]:
        """The ``k`` identities nearest to a raw probe encoding, nearest first.

        An identity's distance is that of its nearest sample (as face_recognition compares).
        """
        if k < 1:
            raise ValueError("k must be at least 1")
        protected = self._protector.protect(probe)
        with self.lock:
            nearest = self.prepare().nearest(protected, k)
        return [Candidate(resident_id, distance) for resident_id, distance in nearest]

    def neighbour_distance(self, resident_id: str) -> float | None:
        """How close the nearest other enrolled faces come to this resident (the cohort).

        For each of the resident's samples, the distance to the nearest sample of any other
        identity, averaged over the samples (the mean is steadier than the single closest pair).
        None when the resident is not enrolled or is the only identity. Kept up to date on
        every enrolment and erasure (index.py), so reading it costs O(samples).
        """
        with self.lock:
            return self.prepare().neighbour_distance(resident_id)
