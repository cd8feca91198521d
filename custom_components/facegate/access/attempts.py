"""A budget of attempts per requester, spent whatever each attempt's outcome.

For PIN changes and visitor codes asked for by users who are not administrators: the answer
"this PIN is in use" tells that someone at the site has it, so every attempt must cost,
refused or not. The defaults allow 10 attempts in any 24 hours, the fourth and later ones
each after a wait that doubles from 30 s. Testing a 4-digit space (10,000 PINs) this way
takes at least 1,000 days (2.7 years) per user account; a 6-digit space (1,000,000 PINs)
at least 100,000 days (274 years).
"""

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class BudgetPolicy:
    """How many attempts a requester has per period, and the waits between the later ones."""

    per_period: int = 10
    period: float = 24 * 3600.0
    free: int = 3  # attempts in a period before the waits start
    first_wait: float = 30.0


class AttemptBudget:
    """Attempts per requester (a Home Assistant user id), kept across restarts."""

    def __init__(self, policy: BudgetPolicy | None = None) -> None:
        self.policy = policy or BudgetPolicy()
        self._attempts: dict[str, list[float]] = {}

    def wait(self, requester: str, now: float) -> float:
        """Seconds before the requester may try again (0: now)."""
        recent = self._recent(requester, now)
        if len(recent) >= self.policy.per_period:
            return recent[0] + self.policy.period - now
        if len(recent) < self.policy.free:
            return 0.0
        gap = self.policy.first_wait * 2.0 ** (len(recent) - self.policy.free)
        return max(0.0, recent[-1] + gap - now)

    def spend(self, requester: str, now: float) -> None:
        """Count one attempt."""
        self._attempts[requester] = [*self._recent(requester, now), now]

    def _recent(self, requester: str, now: float) -> list[float]:
        return [t for t in self._attempts.get(requester, []) if now - t < self.policy.period]

    def as_dict(self, now: float) -> dict[str, Any]:
        """JSON-ready form for the store (what still counts)."""
        return {r: recent for r in self._attempts if (recent := self._recent(r, now))}

    def load(self, data: dict[str, Any]) -> None:
        """Restore what as_dict wrote."""
        self._attempts = {str(r): [float(t) for t in times] for r, times in data.items()}
