"""The audit trail: every access decision, kept for a limited time and bounded in size."""

from dataclasses import asdict, dataclass, replace
from enum import StrEnum
from typing import Any

DEFAULT_RETENTION_DAYS = 30
DEFAULT_MAX_RECORDS = 5000
AGGREGATE_WINDOW = 60.0  # repeated identical failures within this fold into one record


class Outcome(StrEnum):
    """What happened at the door."""

    GRANTED = "granted"
    DENIED = "denied"
    DURESS = "duress"
    LOCKOUT = "lockout"
    BYPASSED = "bypassed"  # the door's target was unlocked outside FaceGate


FOLDED = (Outcome.DENIED, Outcome.LOCKOUT)  # grants and duress alarms stay one record each
REFUSED_UNHEARD = "locked_out"  # the reason of an attempt refused before any check
UNHEARD_LOOKBACK = 32  # records searched for a refusal to fold into (doors x methods)


@dataclass(frozen=True, slots=True)
class AuditRecord:
    """One decision. No secret: a resident id at most, never a PIN, card UID or face data."""

    time: float
    door_id: str
    method: str
    outcome: Outcome
    reason: str
    resident_id: str | None = None
    count: int = 1  # identical failures folded into this record
    user_id: str | None = None  # the Home Assistant user of an unlock outside FaceGate
    # A resident the camera recognised at a door that does not serve them: shown in their own
    # ledger only (the door's logbook says "face not recognised", as for a stranger).
    recognised_id: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form for the store."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AuditRecord:
        """Read the store's form back."""
        return cls(**{**data, "outcome": Outcome(data["outcome"])})


class AuditLog:
    """Records, oldest first, pruned by age and by count."""

    def __init__(
        self, retention_days: float = DEFAULT_RETENTION_DAYS, max_records: int = DEFAULT_MAX_RECORDS
    ) -> None:
        self.retention = retention_days * 86400
        self.max_records = max_records
        self.records: list[AuditRecord] = []

    def add(self, record: AuditRecord) -> AuditRecord:
        """Append a decision (folding a repeat of a failure); return what is stored."""
        index = self._fold_index(record)
        if index is not None:
            folded = self.records.pop(index)  # moves to the end: records stay in time order
            record = replace(folded, time=record.time, count=folded.count + 1)
        self.records.append(record)
        self.prune(record.time)
        return record

    def _fold_index(self, record: AuditRecord) -> int | None:
        """The record a failure folds into: the last one, if it is the same failure.

        Attempts refused unheard at a locked-out door fold across one another too, whatever
        their order: a flood alternating cards and PINs (or doors) would otherwise add a record
        each, and push the whole history out of the bounded log.
        """
        if record.outcome not in FOLDED or not self.records:
            return None
        if _same_failure(self.records[-1], record):
            return len(self.records) - 1
        if record.reason != REFUSED_UNHEARD:
            return None
        stop = max(-1, len(self.records) - 1 - UNHEARD_LOOKBACK)
        for index in range(len(self.records) - 1, stop, -1):
            earlier = self.records[index]
            if earlier.reason != REFUSED_UNHEARD:
                return None  # a decision that was heard ends the run
            if _same_failure(earlier, record):
                return index
        return None

    def prune(self, now: float) -> None:
        """Drop records older than the retention and the oldest beyond the size limit."""
        cutoff = now - self.retention
        kept = [r for r in self.records if r.time >= cutoff]
        self.records = kept[-self.max_records :] if self.max_records > 0 else []

    def as_list(self) -> list[dict[str, Any]]:
        """JSON-ready form for the store."""
        return [record.as_dict() for record in self.records]

    def load(self, data: list[dict[str, Any]]) -> None:
        """Restore what as_list wrote."""
        self.records = [AuditRecord.from_dict(item) for item in data]


def _same_failure(last: AuditRecord, new: AuditRecord) -> bool:
    return (
        last.outcome is new.outcome
        and (last.door_id, last.method, last.reason, last.resident_id, last.recognised_id)
        == (new.door_id, new.method, new.reason, new.resident_id, new.recognised_id)
        and new.time - last.time <= AGGREGATE_WINDOW
    )
