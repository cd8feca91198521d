"""Skip the 128-d encoding of a face the scan already identified (issue 15: per-frame cost).

The encoder is the dearest step of a frame once detection is scaled (about 130 ms of a 1280x720
frame). Within a scan, a tracked resident's face that stays where it was is the same face, so
the engine may reuse its last encoding instead of computing it again; detection, the 68
landmarks, the quality measures and passive anti-spoofing still run on every frame.

What keeps this safe (a photo of a resident swapped for a live stranger must not pass):
* only a face the tracker identified as a resident is reused (`EncodingReuse.record`), never an
  unknown one, and only when its box barely moved (`close`: a quarter of a face width, 1.25x in
  size): a new face, a jump or a change of size is encoded again;
* at most `REUSE_FRAMES` frames in a row reuse an encoding, none more than `REUSE_SECONDS`
  after it was computed, and each frame is encoded afresh with probability 1/`SURPRISE`
  anyway (`secrets`): someone alternating a photo and a face cannot know which frames are
  checked, and a fresh frame that shows someone else restarts the track (its evidence is lost);
* a fresh frame that no longer matches after reused ones wipes the scan's evidence (those
  frames may have shown someone else), although an unknown frame otherwise leaves a track be;
* the door opens only on a freshly encoded frame that itself matches (face_watch.py asks for
  one when the vote is reached on a reused frame: `refresh`, which keeps the check above),
  and the match itself is decided again for every frame (an erased resident stops matching);
* the passive score of a reused frame cannot lift the liveness: the policy takes the lower of
  the mean over all frames and the mean over the freshly encoded ones (scan.py), so a print
  shown on the fresh frames and a live face on the reused ones is judged on the print.

No Home Assistant here.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from .observation import Box, FaceObservation

ENABLED = False
"""Off by default: on the real clips of ../shared/liveness the reuse let one more phone replay
in (scripts/evaluate_liveness, shipped constants: APCER phone 2/6 with it, 1/6 without; BPCER
0/13 both). A fresh frame costs 98 ms against the naive 507 ms at 1280x720 (5.2x) without it."""
REUSE_FRAMES = 3
"""At most this many frames in a row reuse one encoding (then one is encoded again). Fewer than
the four frames a blink needs (open, closed, closed, open: liveness.MIN_FRAMES says why), so a
face swapped in between two fresh frames cannot blink for the resident on its own: the open
frames around its closed ones would be the photo's, whose face shape differs
(liveness.MAX_POSE_CHANGE)."""
SURPRISE = 6
"""Besides, one frame in SURPRISE on average is encoded afresh unannounced."""
REUSE_SECONDS = 1.0
"""An encoding is reused for at most this long after it was computed."""
REUSE_SHIFT = 0.25
"""The most the face's centre may move between two frames, in face widths, to reuse it."""
REUSE_SCALE = 1.25
"""The most the face's width may change between two frames (either way) to reuse it."""

type Encoding = npt.NDArray[np.float64]
type Known = tuple[Box, Encoding]


def close(before: Box, after: Box) -> bool:
    """Whether `after` is `before` barely moved: the same face, one frame later."""
    width_before = max(before[1] - before[3], 1)
    width_after = max(after[1] - after[3], 1)
    if max(width_before, width_after) > REUSE_SCALE * min(width_before, width_after):
        return False
    dx = (after[1] + after[3] - before[1] - before[3]) / 2
    dy = (after[0] + after[2] - before[0] - before[2]) / 2
    return float((dx * dx + dy * dy) ** 0.5) <= REUSE_SHIFT * max(width_before, width_after)


def reused_encodings(boxes: Sequence[Box], known: Sequence[Known]) -> list[Encoding | None]:
    """For each detected box, the known encoding it may reuse, or None (encode it).

    A box reuses a known face only when that face is the one known face close to it and it is
    the one box close to that face: two faces near each other are both encoded.
    """
    near = [[k for k, (box_k, _) in enumerate(known) if close(box_k, box)] for box in boxes]
    claims = [sum(k in found for found in near) for k in range(len(known))]
    return [
        known[found[0]][1] if len(found) == 1 and claims[found[0]] == 1 else None for found in near
    ]


@dataclass(slots=True)
class _Last:
    box: Box
    encoding: Encoding
    encoded_at: float  # when the encoding was computed (the frame's time)
    reused: int  # frames in a row that reused it


class EncodingReuse:
    """One camera's scan: which face the engine may skip encoding in the next frame."""

    def __init__(self) -> None:
        self._last: _Last | None = None

    def hint(self, now: float) -> tuple[Known, ...]:
        """What to send the engine with the next frame: () means encode every face."""
        last = self._last
        if (
            not ENABLED
            or last is None
            or last.reused >= REUSE_FRAMES
            or not 0 <= now - last.encoded_at <= REUSE_SECONDS
            or secrets.randbelow(SURPRISE) == 0  # an unannounced fresh frame
        ):
            return ()
        return ((last.box, last.encoding),)

    def record(self, face: FaceObservation | None, identified: bool, now: float) -> bool:
        """After a frame: the face the scan followed, and whether it was matched to a resident.

        True when this frame, encoded afresh, no longer matches the resident whose encoding
        the frames before it reused: those frames may have shown someone else, and the scan
        must forget their evidence.
        """
        last = self._last
        contradicted = (
            face is not None and face.encoded and not identified and bool(last and last.reused)
        )
        if face is None or not identified:
            self._last = None
        elif face.encoded:
            self._last = _Last(face.box, face.encoding, now, 0)
        elif last is not None:
            last.box = face.box
            last.reused += 1
        return contradicted

    def clear(self) -> None:
        """Encode the next frame afresh and forget the face (the scan ended, nobody in view)."""
        self._last = None

    def refresh(self) -> None:
        """Encode the next frame afresh (a decision needs one), still knowing what came before.

        Frames before it reused an encoding: if that fresh frame no longer matches, `record`
        says so and the scan forgets them (else someone stepping in for the frame the door
        asked for would be let in on the reused frames' vote).
        """
        if self._last is not None:
            self._last.reused = max(self._last.reused, REUSE_FRAMES)
