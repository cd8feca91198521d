"""One tracked face per camera: the frames that belong to the same person, and only those.

A scan sees a sequence of frames; the vote and the liveness evidence must come from ONE face
across them, or evidence from one face can be credited to another: a printed photo of a
resident (recognised, never blinks) lowered for a moment while the stranger holding it blinks
(unknown, live) would add up to "a live resident". `FaceTrack` says, frame by frame, which
face (if any) continues the track:

* a track starts on a face recognised as a resident, and follows that resident only;
* a frame continues it when its face is recognised as the SAME resident, its box is near the
  track's last box, and the track was last seen at most `MAX_GAP_SECONDS` ago;
* a face recognised as someone else, or the same resident far from the last box or after a
  gap, starts a new track (the caller forgets the old one's vote and liveness);
* a face that is unknown (or too poor to match) never feeds the track: it is not known to be
  the tracked person. It does not end the track either (a blink or a turn may fail one match),
  but a track that has not been recognised for `MAX_GAP_SECONDS` is over.

No Home Assistant here; boxes and times only.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import numpy as np
import numpy.typing as npt

from .decision import DEFAULT_MAX_DISTANCE
from .observation import Box

MAX_GAP_SECONDS = 3.0
"""A track not recognised for longer than this is over: the vote and the liveness evidence
look at 3 s of frames, so after 3 s without the tracked face nothing of it is left to continue.
Shorter would split a slow camera's track (a loaded 2-core machine manages one 1280x720 frame
per 0.9 s, and a test machine under load one per 1.8 s)."""

MAX_SHIFT = 1.0
"""How far the face's centre may move between two recognised frames, in face widths. A person
walking up to a door camera moves about a face width in half a second; two faces side by side
(a photo held next to a head) are at least one width apart, centre to centre."""

MAX_SCALE = 1.5
"""How much the face's width may change between two recognised frames (either way): walking
towards the camera grows it by well under this in half a second."""


SAME_FACE_DISTANCE = DEFAULT_MAX_DISTANCE
"""Before anyone is enrolled there is no identity to follow: two frames show the same face when
their encodings are at most this far apart, the distance at which a probe may match a resident
(decision.py)."""


def same_face(first: npt.ArrayLike, other: npt.ArrayLike) -> bool:
    """Whether two encodings can be the same person (for following a face not yet enrolled)."""
    difference = np.asarray(first, dtype=np.float64) - np.asarray(other, dtype=np.float64)
    return float(np.linalg.norm(difference)) <= SAME_FACE_DISTANCE


class Step(StrEnum):
    """What a frame did to the track."""

    CONTINUED = "continued"  # same resident, same place: the frame counts for the track
    STARTED = "started"  # a new track (the previous one, if any, is over)
    OUTSIDE = "outside"  # an unknown or unclear face: not part of any track


@dataclass(slots=True)
class _Track:
    resident_id: str
    box: Box
    last_seen: float


def _centre(box: Box) -> tuple[float, float]:
    top, right, bottom, left = box
    return (left + right) / 2.0, (top + bottom) / 2.0


def box_shift(before: Box, after: Box) -> float:
    """How far the box's centre moved, in pixels."""
    (x0, y0), (x1, y1) = _centre(before), _centre(after)
    return float(((x1 - x0) ** 2 + (y1 - y0) ** 2) ** 0.5)


def boxes_continue(before: Box, after: Box) -> bool:
    """Whether `after` can be the same face as `before` one frame later (see the constants)."""
    width_before = max(before[1] - before[3], 1)
    width_after = max(after[1] - after[3], 1)
    if max(width_before, width_after) > MAX_SCALE * min(width_before, width_after):
        return False
    return box_shift(before, after) <= MAX_SHIFT * max(width_before, width_after)


class FaceTrack:
    """The face a camera is following within a scan, by identity and box continuity."""

    def __init__(self) -> None:
        self._track: _Track | None = None

    @property
    def resident_id(self) -> str | None:
        """Whom the track follows, or None when there is no track."""
        return self._track.resident_id if self._track else None

    @property
    def box(self) -> Box | None:
        """The tracked face's last box (to pick that face among several in a frame)."""
        return self._track.box if self._track else None

    def active(self, now: float) -> bool:
        """Whether a track exists and was recognised within `MAX_GAP_SECONDS` of `now`."""
        return self._track is not None and now - self._track.last_seen <= MAX_GAP_SECONDS

    def follow(self, resident_id: str | None, box: Box, now: float) -> Step:
        """Place one frame's face (its match, None when unknown or unclear) on the track."""
        if resident_id is None:
            return Step.OUTSIDE
        track = self._track
        if (
            track is not None
            and track.resident_id == resident_id
            and self.active(now)
            and boxes_continue(track.box, box)
        ):
            track.box, track.last_seen = box, now
            return Step.CONTINUED
        self._track = _Track(resident_id, box, now)
        return Step.STARTED

    def reset(self) -> None:
        """Forget the track (the scan ended, or a decision was made)."""
        self._track = None
