"""Per-door escalating lockout."""

import json

import pytest

from custom_components.facegate.access.lockout import Lockout, LockoutPolicy

T0 = 1_000_000.0


def fail(lockout: Lockout, times: int, now: float, door: str = "front") -> list[float]:
    """Record `times` failures one second apart from `now`; return what each started."""
    return [lockout.record_failure(door, now + i) for i in range(times)]


def test_default_policy():
    policy = Lockout().policy
    assert policy == LockoutPolicy(5, 300.0, 30.0, 900.0)


def test_unknown_door_is_open():
    assert Lockout().remaining("front", T0) == 0.0


def test_four_failures_do_not_lock_out():
    lockout = Lockout()
    assert fail(lockout, 4, T0) == [0.0] * 4
    assert lockout.remaining("front", T0 + 4) == 0.0


def test_fifth_failure_locks_out_for_30_seconds():
    lockout = Lockout()
    assert fail(lockout, 5, T0) == [0.0, 0.0, 0.0, 0.0, 30.0]
    locked_at = T0 + 4
    assert lockout.remaining("front", locked_at) == 30.0
    assert lockout.remaining("front", locked_at + 10) == 20.0
    assert lockout.remaining("front", locked_at + 30) == 0.0
    assert lockout.remaining("front", locked_at + 100) == 0.0


def test_lockout_is_per_door():
    lockout = Lockout()
    fail(lockout, 5, T0, door="front")
    assert lockout.remaining("garage", T0 + 5) == 0.0
    assert fail(lockout, 4, T0 + 5, door="garage") == [0.0] * 4


def test_lockouts_escalate_up_to_the_cap():
    lockout = Lockout()
    now = T0
    durations = []
    for _ in range(8):
        started = fail(lockout, 5, now)
        assert started[:4] == [0.0] * 4
        durations.append(started[4])
        now = now + 4 + started[4]  # the next round starts as the lockout ends
    assert durations == [30.0, 60.0, 120.0, 240.0, 480.0, 900.0, 900.0, 900.0]


def test_failures_are_cleared_by_a_lockout():
    lockout = Lockout()
    fail(lockout, 5, T0)
    after = T0 + 4 + 30
    assert fail(lockout, 4, after) == [0.0] * 4  # a fresh count of five


def test_scenario3_a_grant_does_not_forgive_earlier_failures():
    """Failures expire only with time: the lockout has no way to be told "that went well"."""
    lockout = Lockout()
    assert not hasattr(lockout, "record_success")
    fail(lockout, 4, T0)
    assert fail(lockout, 1, T0 + 10) == [30.0]  # whatever was granted in between


def test_scenario3_failures_expire_with_the_window():
    lockout = Lockout()
    fail(lockout, 4, T0)
    # The first four fall out of the five-minute window one by one.
    assert fail(lockout, 1, T0 + 300) == [0.0]
    assert fail(lockout, 1, T0 + 301) == [0.0]
    assert lockout.remaining("front", T0 + 302) == 0.0


def test_quiet_period_forgives_escalation():
    lockout = Lockout()
    fail(lockout, 5, T0)
    locked_until = T0 + 4 + 30
    fail(lockout, 5, locked_until)  # 60 s
    locked_until += 4 + 60
    # Quiet for longer than the longest lockout (900 s) after the lockout ended.
    assert fail(lockout, 5, locked_until + 901)[4] == 30.0


def test_quiet_period_must_exceed_the_longest_lockout():
    lockout = Lockout()
    fail(lockout, 5, T0)
    locked_until = T0 + 4 + 30
    # Failing again up to exactly 900 s after the end is not quiet enough: the level stays.
    assert fail(lockout, 5, locked_until + 896) == [0.0, 0.0, 0.0, 0.0, 60.0]


@pytest.mark.parametrize(("gap", "started"), [(300.0, 0.0), (299.5, 30.0)])
def test_failures_outside_the_window_do_not_count(gap, started):
    lockout = Lockout()
    lockout.record_failure("front", T0)
    fail(lockout, 3, T0 + 1)
    # The first failure is `gap` seconds before the fifth: it counts only inside 300 s.
    assert lockout.record_failure("front", T0 + gap) == started


def test_old_failures_are_dropped_from_the_state():
    lockout = Lockout()
    fail(lockout, 2, T0)
    lockout.record_failure("front", T0 + 1000)
    assert lockout.as_dict()["front"]["failures"] == [T0 + 1000]


def test_custom_policy():
    lockout = Lockout(
        LockoutPolicy(max_failures=3, window=60.0, first_lockout=10.0, max_lockout=25)
    )
    assert fail(lockout, 3, T0) == [0.0, 0.0, 10.0]
    assert fail(lockout, 3, T0 + 20)[2] == 20.0
    assert fail(lockout, 3, T0 + 50)[2] == 25.0


def test_round_trip_keeps_count_lockout_and_level():
    lockout = Lockout()
    fail(lockout, 5, T0)  # level 1, locked until T0 + 34
    fail(lockout, 3, T0 + 40)  # three pending failures
    fail(lockout, 2, T0, door="garage")
    data = json.loads(json.dumps(lockout.as_dict()))
    assert data["front"] == {
        "failures": [T0 + 40, T0 + 41, T0 + 42],
        "locked_until": T0 + 34,
        "level": 1,
    }

    restored = Lockout()
    restored.load(data)
    assert restored.as_dict() == lockout.as_dict()
    assert restored.remaining("front", T0 + 20) == lockout.remaining("front", T0 + 20) == 14.0
    # Two more failures complete the five and escalate to the second step.
    assert fail(restored, 2, T0 + 43) == [0.0, 60.0]


def test_load_coerces_types_and_replaces_state():
    lockout = Lockout()
    fail(lockout, 3, T0, door="old")
    lockout.load({"front": {"failures": [1, "2"], "locked_until": "5", "level": "2"}})
    assert lockout.as_dict() == {"front": {"failures": [1.0, 2.0], "locked_until": 5.0, "level": 2}}


def test_load_of_nothing_clears():
    lockout = Lockout()
    fail(lockout, 5, T0)
    lockout.load({})
    assert lockout.remaining("front", T0 + 5) == 0.0


def test_escalation_never_overflows():
    lockout = Lockout()
    now = T0
    for _ in range(1030):
        started = fail(lockout, 5, now)
        now = now + 4 + started[4]
    assert started[4] == 900.0
