"""Who is this face? The 1:N decision for one probe encoding against the site's gallery.

face_recognition's rule (the nearest sample under one global tolerance, 0.6) cannot serve every
face alike: dlib's encoder packs East and Southeast Asian faces much closer together, so on our
dev set 77 % of such impostors were accepted at 0.6, against 5 % of other impostors; at 0.5
other residents were refused 11 % of the time. FaceGate's rule knows nothing about anyone's
ethnicity; it adapts to how crowded the face space is around each enrolled resident:

1. the nearest identity (its nearest sample) is the candidate;
2. that identity's threshold is ``min(max_distance, neighbour_ratio * neighbour_distance)``,
   where ``neighbour_distance`` is how close the *other* enrolled identities come to it (the
   cohort, see gallery.py). A resident with close look-alikes enrolled gets a tighter threshold;
   a resident alone, or far from everyone, keeps ``max_distance``;
3. a probe farther than that threshold is "unknown";
4. a probe within it but less than ``min_margin`` nearer to the candidate than to the
   second-nearest identity is "ambiguous" (no one is matched).

The defaults below were chosen by scripts/evaluate_faces.py on ../shared/faces (open set, two
enrolment photos, one probe photo); the measurements are in docs/face-accuracy.md.
"""

import math
from dataclasses import dataclass
from typing import Literal

import numpy.typing as npt

from .gallery import Gallery
from .models import ENGINE_DLIB, ENGINE_KEYS, ENGINE_MOBILEFACENET

type MatchReason = Literal["match", "unknown", "ambiguous"]

# The global cap: no probe farther than this matches anyone. It is the only protection for a
# resident without enrolled neighbours (a small site), so it is as strict as other residents'
# false rejects allow. On the dev set, 0.53 is the knee: from 0.53 to 0.54 the false rejects of
# "other" residents stay at 2 of 28 (7.1-7.6 % over 8 enrolment rotations), while East/Southeast
# Asian impostors against random one- to eight-resident sites go from 0.7-2.6 % to 1.6-5.2 %
# accepted; below 0.53 (0.525) "other" false rejects pass 10 % (3 of 28). It is also well under
# the closest pair of different people outside that group (0.563). On its own it does not
# separate the tightly packed group (the neighbour ratio does).
DEFAULT_MAX_DISTANCE = 0.53

# The per-identity tightening. Over 8 rotations of the enrolment photos (720 impostor trials)
# the first impostor is accepted at a ratio of 0.82 (3 of 280 East/Southeast Asian impostors),
# none at 0.81. 0.78 keeps about 5 % below that and refuses 5.5 % / 7.6 % of genuine probes
# (East/Southeast Asian / other, 8 rotations); 0.76 refuses 8.0 % / 8.9 %, 0.74 12 % / 13 %.
DEFAULT_NEIGHBOUR_RATIO = 0.78

# The margin to the second-nearest identity: a probe between two enrolled look-alikes opens for
# neither. 0.05 is the largest margin that refuses no more genuine probes than none at all (0.06
# refuses one more over 8 rotations, 0.08 three more). With the default ratio it changed no
# decision on the dev set; with a looser ratio (0.82) a margin of 0.08 stopped 1 of 3 false
# accepts, so it stays as a second guard.
DEFAULT_MIN_MARGIN = 0.05


@dataclass(frozen=True, slots=True)
class DecisionSettings:
    """The rule's three constants (see the module docstring)."""

    max_distance: float = DEFAULT_MAX_DISTANCE
    neighbour_ratio: float = DEFAULT_NEIGHBOUR_RATIO
    min_margin: float = DEFAULT_MIN_MARGIN

    def __post_init__(self) -> None:
        """Refuse settings that make no sense (the comparisons below assume these ranges)."""
        if not 0.0 < self.max_distance <= 2.0:  # 2: the largest distance of unit vectors
            raise ValueError("max_distance must be in (0, 2]")
        if not 0.0 < self.neighbour_ratio <= 1.0:
            raise ValueError("neighbour_ratio must be in (0, 1]")
        if not 0.0 <= self.min_margin < 1.0:
            raise ValueError("min_margin must be in [0, 1)")


DEFAULT_SETTINGS = DecisionSettings()

# MobileFaceNet's unit embeddings (Euclidean distance sqrt(2 - 2 cos)): the constants derived by
# scripts/evaluate --engine mobilefacenet --derive (cross-validated over identities, see
# docs/face-accuracy.md).
MOBILEFACENET_SETTINGS = DecisionSettings(max_distance=1.04, neighbour_ratio=1.0, min_margin=0.05)

ENGINE_SETTINGS = {
    ENGINE_KEYS[ENGINE_DLIB]: DEFAULT_SETTINGS,
    ENGINE_KEYS[ENGINE_MOBILEFACENET]: MOBILEFACENET_SETTINGS,
}


def settings_for(engine: str) -> DecisionSettings:
    """The rule's constants for a gallery's engine key."""
    return ENGINE_SETTINGS[engine]


@dataclass(frozen=True, slots=True)
class Match:
    """The decision for one probe.

    ``resident_id`` is set only when ``reason`` is "match". ``distance`` is the probe's distance
    to the nearest identity and ``threshold`` that identity's threshold (inf and 0.0 for an
    empty gallery); ``margin`` is how much farther the second-nearest identity is (inf when
    there is none).
    """

    resident_id: str | None
    distance: float
    threshold: float
    margin: float
    reason: MatchReason


def identity_threshold(
    gallery: Gallery, resident_id: str, settings: DecisionSettings | None = None
) -> float:
    """The largest distance at which a probe can match this resident."""
    settings = settings or settings_for(gallery.engine)
    neighbour = gallery.neighbour_distance(resident_id)
    if neighbour is None:
        return settings.max_distance
    return min(settings.max_distance, settings.neighbour_ratio * neighbour)


def decide(
    gallery: Gallery, probe: npt.ArrayLike, settings: DecisionSettings | None = None
) -> Match:
    """Decide who a probe encoding (raw, 128-d) is: a resident, "unknown" or "ambiguous".

    The probe must come from the gallery's engine (the caller's engine is the gallery's:
    FaceService keeps one gallery per engine). ``settings`` default to that engine's.
    Costs O(N) for N samples (about a millisecond at 100,000) once the gallery is prepared
    (``Gallery.prepare``, O(N^2) after loading): call it in the executor.
    """
    settings = settings or settings_for(gallery.engine)
    with gallery.lock:  # the candidates and their threshold from one state of the gallery
        candidates = gallery.best_matches(probe, k=2)
        if not candidates:
            return Match(None, math.inf, 0.0, math.inf, "unknown")
        best = candidates[0]
        threshold = identity_threshold(gallery, best.resident_id, settings)
    margin = candidates[1].distance - best.distance if len(candidates) > 1 else math.inf
    if best.distance > threshold:
        return Match(None, best.distance, threshold, margin, "unknown")
    if margin < settings.min_margin:
        return Match(None, best.distance, threshold, margin, "ambiguous")
    return Match(best.resident_id, best.distance, threshold, margin, "match")
