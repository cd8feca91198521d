"""The audit log: retention, size bound and folding of repeated failures."""

import json

import pytest

from custom_components.facegate.access.audit import (
    AGGREGATE_WINDOW,
    DEFAULT_MAX_RECORDS,
    DEFAULT_RETENTION_DAYS,
    AuditLog,
    AuditRecord,
    Outcome,
)

T0 = 1_000_000.0
DAY = 86400.0


def rec(
    time: float,
    outcome: Outcome = Outcome.DENIED,
    *,
    door: str = "front",
    method: str = "pin",
    reason: str = "unknown_credential",
    resident: str | None = None,
) -> AuditRecord:
    return AuditRecord(time, door, method, outcome, reason, resident)


def test_defaults():
    log = AuditLog()
    assert DEFAULT_RETENTION_DAYS == 30
    assert log.retention == 30 * DAY
    assert log.max_records == DEFAULT_MAX_RECORDS == 5000
    assert AGGREGATE_WINDOW == 60.0
    assert log.records == []


def test_add_appends_and_returns_the_record():
    log = AuditLog()
    first = rec(T0, Outcome.GRANTED, reason="granted", resident="r1")
    assert log.add(first) is first
    second = rec(T0 + 1)
    assert log.add(second) is second
    assert log.records == [first, second]


def test_repeated_failures_within_60_s_fold():
    log = AuditLog()
    log.add(rec(T0))
    stored = log.add(rec(T0 + 30))
    assert stored.count == 2
    assert stored.time == T0 + 30
    assert log.records == [stored]
    third = log.add(rec(T0 + 60))  # 30 s after the last one: still folds
    assert third.count == 3
    assert len(log.records) == 1


def test_fold_at_exactly_60_s():
    log = AuditLog()
    log.add(rec(T0))
    assert log.add(rec(T0 + 60)).count == 2


def test_no_fold_after_60_s():
    log = AuditLog()
    log.add(rec(T0))
    stored = log.add(rec(T0 + 60.5))
    assert stored.count == 1
    assert [r.time for r in log.records] == [T0, T0 + 60.5]


@pytest.mark.parametrize("outcome", [Outcome.DENIED, Outcome.LOCKOUT])
def test_failure_outcomes_fold(outcome):
    log = AuditLog()
    log.add(rec(T0, outcome))
    assert log.add(rec(T0 + 1, outcome)).count == 2


def test_granted_records_never_fold():
    log = AuditLog()
    log.add(rec(T0, Outcome.GRANTED, reason="granted", resident="r1"))
    log.add(rec(T0 + 1, Outcome.GRANTED, reason="granted", resident="r1"))
    assert [r.count for r in log.records] == [1, 1]


def test_duress_records_never_fold():
    log = AuditLog()
    log.add(rec(T0, Outcome.DURESS, reason="duress", resident="r1"))
    log.add(rec(T0 + 1, Outcome.DURESS, reason="duress", resident="r1"))
    assert [r.count for r in log.records] == [1, 1]


@pytest.mark.parametrize(
    "changes",
    [
        {"door": "garage"},
        {"method": "card"},
        {"reason": "mode_disabled"},
        {"resident": "r1"},
        {"outcome": Outcome.LOCKOUT},
    ],
)
def test_different_failures_do_not_fold(changes):
    log = AuditLog()
    log.add(rec(T0))
    log.add(rec(T0 + 1, **changes))
    assert [r.count for r in log.records] == [1, 1]


def test_only_the_last_record_folds():
    log = AuditLog()
    log.add(rec(T0))
    log.add(rec(T0 + 1, method="card"))
    log.add(rec(T0 + 2))
    assert [(r.method, r.count) for r in log.records] == [("pin", 1), ("card", 1), ("pin", 1)]


def test_failure_after_a_grant_does_not_fold_into_it():
    log = AuditLog()
    log.add(rec(T0, Outcome.GRANTED, reason="granted"))
    log.add(rec(T0 + 1))
    assert [r.outcome for r in log.records] == [Outcome.GRANTED, Outcome.DENIED]


def test_retention_prunes_old_records_on_add():
    log = AuditLog(retention_days=1)
    log.add(rec(T0, method="a"))
    log.add(rec(T0 + 100, method="b"))
    log.add(rec(T0 + DAY, method="c"))  # the first is exactly one day old: kept
    assert [r.method for r in log.records] == ["a", "b", "c"]
    log.add(rec(T0 + DAY + 1, method="d"))
    assert [r.method for r in log.records] == ["b", "c", "d"]


def test_default_retention_is_30_days():
    log = AuditLog()
    log.add(rec(T0, method="a"))
    log.add(rec(T0 + 30 * DAY, method="b"))
    assert len(log.records) == 2
    log.add(rec(T0 + 30 * DAY + 1, method="c"))
    assert [r.method for r in log.records] == ["b", "c"]


def test_prune_by_time_alone():
    log = AuditLog(retention_days=1)
    log.add(rec(T0, method="a"))
    log.add(rec(T0 + 10, method="b"))
    log.prune(T0 + DAY + 5)
    assert [r.method for r in log.records] == ["b"]
    log.prune(T0 + 10 * DAY)
    assert log.records == []


def test_max_records_keeps_the_newest():
    log = AuditLog(max_records=3)
    for i in range(5):
        log.add(rec(T0 + i, method=f"m{i}"))
    assert [r.method for r in log.records] == ["m2", "m3", "m4"]


def test_default_max_records_bound():
    log = AuditLog()
    for i in range(DEFAULT_MAX_RECORDS + 3):
        log.add(rec(T0 + i, Outcome.GRANTED, reason="granted"))
    assert len(log.records) == DEFAULT_MAX_RECORDS
    assert log.records[0].time == T0 + 3


def test_max_records_zero_keeps_nothing():
    log = AuditLog(max_records=0)
    log.add(rec(T0))
    assert log.records == []


def test_record_as_dict():
    record = AuditRecord(T0, "front", "pin", Outcome.DURESS, "duress", "r1", 2)
    assert record.as_dict() == {
        "time": T0,
        "door_id": "front",
        "method": "pin",
        "outcome": "duress",
        "reason": "duress",
        "resident_id": "r1",
        "count": 2,
        "user_id": None,
        "recognised_id": None,
    }


def test_record_from_dict_without_count():
    data = {
        "time": T0,
        "door_id": "front",
        "method": "card",
        "outcome": "denied",
        "reason": "unknown_credential",
        "resident_id": None,
    }
    record = AuditRecord.from_dict(data)
    assert record.outcome is Outcome.DENIED
    assert record.count == 1


def test_round_trip():
    log = AuditLog()
    log.add(rec(T0, Outcome.GRANTED, reason="granted", resident="r1"))
    log.add(rec(T0 + 1))
    log.add(rec(T0 + 2))
    log.add(rec(T0 + 3, Outcome.LOCKOUT, reason="too_many_failures"))
    log.add(rec(T0 + 4, Outcome.DURESS, reason="duress", resident="r2"))
    data = json.loads(json.dumps(log.as_list()))
    restored = AuditLog()
    restored.load(data)
    assert restored.records == log.records
    assert all(isinstance(r.outcome, Outcome) for r in restored.records)
    assert restored.records[1].count == 2
    assert restored.as_list() == log.as_list()


def test_a_recognition_at_a_door_not_serving_the_resident_folds_per_resident():
    """Two residents refused as strangers at one door stay two records: each ledger has its own."""
    log = AuditLog()
    for resident in ("r1", "r2", "r1"):
        log.add(
            AuditRecord(T0, "front", "face", Outcome.DENIED, "unknown_face", recognised_id=resident)
        )

    assert [(r.recognised_id, r.count) for r in log.records] == [("r1", 1), ("r2", 1), ("r1", 1)]
    assert AuditRecord.from_dict(log.records[0].as_dict()) == log.records[0]
