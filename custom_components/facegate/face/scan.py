"""One scan's evidence about its tracked face: the vote, the blink tracker, the policy's frames.

Shared by the door (face_watch.py) and scripts/evaluate_liveness.py, so that the evaluation
runs the product's own per-frame logic. No Home Assistant here.
"""

from __future__ import annotations

from collections import deque
from dataclasses import replace
from typing import Any

import numpy as np

from .liveness import DUPLICATE_DISTANCE, LivenessTracker
from .liveness_policy import (
    DEFAULT_POLICY,
    Cues,
    Policy,
    PolicyVerdict,
    cues,
    decide,
    undecided,
)
from .observation import FaceObservation
from .tracking import FaceTrack, Step, box_shift, boxes_continue
from .voting import FrameVoter

EVIDENCE = 10
"""Frames of the tracked face the liveness policy looks at: about 5 s at the default interval."""


def same_picture(before: FaceObservation | None, after: FaceObservation) -> bool:
    """Whether two frames show the same pixels (liveness.DUPLICATE_DISTANCE says why)."""
    return (
        before is not None
        and np.array_equal(before.landmarks, after.landmarks)
        and float(np.linalg.norm(before.encoding - after.encoding)) <= DUPLICATE_DISTANCE
    )


class ScanEvidence:
    """The tracked face's frames: who they vote for, and whether that face is live."""

    def __init__(self, policy: Policy = DEFAULT_POLICY) -> None:
        self.policy = policy  # the liveness policy's constants (the shipped ones by default)
        self.voter = FrameVoter()
        self.liveness = LivenessTracker()
        self.track = FaceTrack()
        # Landmarks, quality problem (None when good), passive score (None where none), and
        # whether the frame was encoded afresh (False: it reused an encoding, face/reuse.py).
        self._frames: deque[tuple[Any, str | None, float | None, bool]] = deque(maxlen=EVIDENCE)
        self._last: FaceObservation | None = None
        self._stills = 0  # frames that repeated the previous picture
        # Each resident's last EVIDENCE passive scores in this scan, kept when a new track starts
        # (a gap, a jump, another resident's face in between) and not pushed out by unscored
        # frames: the per-frame floor must not be escaped by lowering the phone for a moment.
        self._recent: dict[str, deque[float]] = {}

    def pick(self, faces: list[FaceObservation], now: float) -> FaceObservation | None:
        """The tracked face while it is in the frame (nearest its last box), else the largest."""
        box = self.track.box
        if box is not None and self.track.active(now):
            near = [face for face in faces if boxes_continue(box, face.box)]
            if near:
                return min(near, key=lambda face: box_shift(box, face.box))
        return max(faces, key=lambda face: face.width, default=None)

    def add(
        self, resident_id: str | None, face: FaceObservation, problem: str | None, now: float
    ) -> None:
        """Credit the frame to the tracked face only: a new face starts the evidence again."""
        step = self.track.follow(resident_id, face.box, now)
        if step is Step.STARTED:  # someone else, elsewhere, or after a gap
            self.voter.reset()
            self._forget_track()  # the resident's recent scores outlive the track
        # An unknown or unclear face votes against (it takes a place among the last frames)
        # but never adds liveness evidence: it is not known to be the tracked person.
        self.voter.add(now, resident_id)
        if step is Step.OUTSIDE:
            return
        self.liveness.add(now, face)
        # The same picture again (a frozen or replayed still) is not another frame of
        # evidence: the passive score must hold over several real frames.
        if face.grey and problem is None:  # no colour: the passive model cannot judge it
            problem = "infrared"
        if self._frames and same_picture(self._last, face):
            self._stills += 1
        else:
            self._frames.append((face.landmarks, problem, face.live_score, face.encoded))
            if face.live_score is not None and resident_id is not None:
                scores = self._recent.setdefault(resident_id, deque(maxlen=EVIDENCE))
                scores.append(face.live_score)
        self._last = face

    def voted(self, now: float) -> str | None:
        """The resident the recent frames agree on, when it is the tracked face's."""
        voted = self.voter.result(now)
        return voted if voted is not None and voted == self.track.resident_id else None

    def cues(self, now: float) -> Cues:
        """What the tracked face's recent frames show (liveness_policy.cues)."""
        scores = [score for _, _, score, _ in self._frames if score is not None]
        fresh = [score for _, _, score, encoded in self._frames if score is not None and encoded]
        found = cues(
            blinked=self.liveness.verdict(now).live,
            landmarks=[landmarks for landmarks, _, _, _ in self._frames],
            problems=[problem for _, problem, _, _ in self._frames],
            scores=scores or None,
            fresh_scores=fresh,
            stills=self._stills,
        )
        recent = self._recent.get(self.track.resident_id or "", ())
        return replace(found, recent_scores=tuple(recent))

    def undecided(self, now: float) -> str | None:
        """Why the cues cannot decide, None when they can (liveness_policy.undecided)."""
        return undecided(self.cues(now), self.policy)

    def verdict(self, now: float) -> PolicyVerdict:
        """The liveness policy on the tracked face's recent frames (liveness_policy.judge)."""
        return decide(self.cues(now), self.policy)

    def forget_liveness(self) -> None:
        """Start the liveness evidence again, recent scores included (a decision made)."""
        self._forget_track()
        self._recent = {}

    def _forget_track(self) -> None:
        """Forget the tracked face's frames (a new track starts)."""
        self.liveness.reset()
        self._frames.clear()
        self._last = None
        self._stills = 0

    def reset(self) -> None:
        """Forget everything (the scan ended)."""
        self.voter.reset()
        self.forget_liveness()
        self.track.reset()
