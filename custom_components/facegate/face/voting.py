"""Agreement of several frames before a face decision: one good match is not enough.

A single frame can match the wrong resident (a lookalike, a bad angle, motion blur), and a
photo can be shown for just one frame. `FrameVoter` names a resident only when `needed` of the
last `of` frames within `window_seconds` name that same resident and none of them names anyone
else. Frames without a match (None: an unknown face, or no face recognised) take a place among
the last `of` without voting, so they count against a decision.
"""

from __future__ import annotations

from collections import deque

NEEDED = 3
"""Matching frames needed: with the engine's 3-5 frames a second, 3 frames take 0.6-1 s, and
three independent wrong matches on the same resident are far rarer than one."""

OF = 5
"""How many of the latest frames are looked at: 3 of 5 allows two frames lost to blur, a
turned head or a missed detection."""

WINDOW_SECONDS = 3.0
"""Frames older than this (before `now`) do not vote: a match from a while ago may belong to
someone who has walked away."""


class FrameVoter:
    """Names a resident once enough recent frames agree on them, and nobody else.

    Feed every frame of one tracked face with `add(timestamp, resident_id)`, `None` for a
    frame whose face matched nobody. `result(now)` looks at the last `of` frames that are at
    most `window_seconds` old: the resident named by at least `needed` of them, provided no
    frame among them names a different resident (a disagreement blocks until it leaves those
    frames). Frames must come in time order; an older one is ignored.
    """

    def __init__(
        self, needed: int = NEEDED, of: int = OF, window_seconds: float = WINDOW_SECONDS
    ) -> None:
        if needed < 1 or of < needed or window_seconds <= 0:
            raise ValueError("need 1 <= needed <= of and a positive window")
        self.needed = needed
        self.of = of
        self.window_seconds = window_seconds
        self._frames: deque[tuple[float, str | None]] = deque(maxlen=of)

    def add(self, timestamp: float, resident_id: str | None) -> None:
        """One frame's match: the resident's id, or None for an unknown face."""
        if self._frames and timestamp < self._frames[-1][0]:
            return
        self._frames.append((timestamp, resident_id))

    def result(self, now: float) -> str | None:
        """The resident that the recent frames agree on, or None."""
        start = now - self.window_seconds
        recent = [rid for timestamp, rid in self._frames if start <= timestamp <= now]
        named = {rid for rid in recent if rid is not None}
        if len(named) != 1:
            return None
        (resident_id,) = named
        return resident_id if recent.count(resident_id) >= self.needed else None

    def reset(self) -> None:
        """Forget every frame (a decision was made, or the tracked face left)."""
        self._frames.clear()
