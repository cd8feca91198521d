"""Every change of a resident's face consent: when, given or withdrawn, and by whom.

Shown in the resident's privacy ledger and export. No secret: a time, a flag and a name. The
changes of a resident are kept while the resident exists, and forgotten with them.
"""

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class ConsentChange:
    """One change: by None means an administrator (the options flow carries no user)."""

    time: float
    resident_id: str
    given: bool
    user_id: str | None
    by: str | None  # the user's name when they made the change; None: an administrator


class ConsentLog:
    """The consent changes of a site, oldest first."""

    def __init__(self) -> None:
        self.changes: list[ConsentChange] = []

    def add(self, change: ConsentChange) -> None:
        """Record a change."""
        self.changes.append(change)

    def of(self, resident_id: str) -> list[ConsentChange]:
        """A resident's changes, oldest first."""
        return [c for c in self.changes if c.resident_id == resident_id]

    def as_list(self, residents: frozenset[str] | set[str]) -> list[dict[str, Any]]:
        """The changes of the residents that still exist, for the store."""
        return [asdict(c) for c in self.changes if c.resident_id in residents]

    def load(self, data: list[dict[str, Any]]) -> None:
        """Read the store's form back."""
        self.changes = [ConsentChange(**c) for c in data]
