"""Per-door lockout after repeated failures, escalating, and kept across restarts.

Failures expire only with time, as on commercial keypads: a grant forgives nothing, or
anyone holding one valid credential (their own PIN, a visitor code) could interleave it with
guesses and never be locked out.
"""

from dataclasses import dataclass, field
from typing import Any

MAX_LEVEL = 32  # far beyond any max_lockout; keeps 2**level finite


@dataclass(frozen=True, slots=True)
class LockoutPolicy:
    """Defaults: 5 failures within 5 minutes lock the door's readers for 30 s, then 60 s, ...

    Each further lockout doubles, up to 15 minutes; only a quiet period as long as the longest
    lockout starts again from the first step.
    """

    max_failures: int = 5
    window: float = 300.0
    first_lockout: float = 30.0
    max_lockout: float = 900.0


@dataclass(slots=True)
class _DoorState:
    failures: list[float] = field(default_factory=list)
    locked_until: float = 0.0
    level: int = 0


class Lockout:
    """Failure counters of every door of a site."""

    def __init__(self, policy: LockoutPolicy | None = None) -> None:
        self.policy = policy or LockoutPolicy()
        self._doors: dict[str, _DoorState] = {}

    def remaining(self, door_id: str, now: float) -> float:
        """Seconds the door's readers stay locked out (0 when open to attempts)."""
        state = self._doors.get(door_id)
        return max(0.0, state.locked_until - now) if state else 0.0

    def record_failure(self, door_id: str, now: float) -> float:
        """Count a failed attempt; return the lockout it starts, in seconds (0 if none)."""
        state = self._doors.setdefault(door_id, _DoorState())
        if state.level and now - state.locked_until > self.policy.max_lockout:
            state.level = 0  # quiet long enough: forgive earlier lockouts
        state.failures = [t for t in state.failures if now - t < self.policy.window] + [now]
        if len(state.failures) < self.policy.max_failures:
            return 0.0
        duration = min(self.policy.first_lockout * 2.0**state.level, self.policy.max_lockout)
        state.level = min(state.level + 1, MAX_LEVEL)
        state.failures.clear()
        state.locked_until = now + duration
        return duration

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form for the store."""
        return {
            door_id: {"failures": s.failures, "locked_until": s.locked_until, "level": s.level}
            for door_id, s in self._doors.items()
        }

    def load(self, data: dict[str, Any]) -> None:
        """Restore what as_dict wrote."""
        self._doors = {
            door_id: _DoorState(
                [float(t) for t in s["failures"]], float(s["locked_until"]), int(s["level"])
            )
            for door_id, s in data.items()
        }
