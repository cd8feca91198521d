"""Modes and policies: face is never the only way in."""

import pytest

from custom_components.facegate.access.errors import AccessError
from custom_components.facegate.access.modes import Mode, Policy, validate_modes


def test_access_error_carries_reason_and_placeholders():
    err = AccessError("pin_weak", door="front")
    assert isinstance(err, ValueError)
    assert err.reason == "pin_weak"
    assert err.placeholders == {"door": "front"}
    assert str(err) == "pin_weak"


def test_access_error_without_placeholders():
    assert AccessError("no_mode").placeholders == {}


def test_enum_values():
    assert [m.value for m in Mode] == ["card", "pin", "face"]
    assert [p.value for p in Policy] == ["any", "two_modes"]


@pytest.mark.parametrize(
    ("modes", "policy"),
    [
        ([Mode.PIN], Policy.ANY),
        ([Mode.CARD], Policy.ANY),
        ([Mode.PIN, Mode.FACE], Policy.ANY),
        ([Mode.CARD, Mode.FACE], Policy.ANY),
        ([Mode.PIN, Mode.CARD, Mode.FACE], Policy.ANY),
        ([Mode.PIN, Mode.CARD], Policy.TWO_MODES),
        ([Mode.PIN, Mode.FACE], Policy.TWO_MODES),
        ([Mode.CARD, Mode.FACE], Policy.TWO_MODES),
        ([Mode.PIN, Mode.CARD, Mode.FACE], Policy.TWO_MODES),
    ],
)
def test_valid_modes_are_returned_as_frozenset(modes, policy):
    result = validate_modes(modes, policy)
    assert isinstance(result, frozenset)
    assert result == frozenset(modes)


def test_validate_accepts_any_iterable_and_deduplicates():
    assert validate_modes(iter([Mode.PIN, Mode.PIN, Mode.CARD]), Policy.ANY) == {
        Mode.PIN,
        Mode.CARD,
    }


@pytest.mark.parametrize(
    ("modes", "policy", "reason"),
    [
        ([], Policy.ANY, "no_mode"),
        ([], Policy.TWO_MODES, "no_mode"),
        ([Mode.FACE], Policy.ANY, "face_only"),
        ([Mode.FACE, Mode.FACE], Policy.ANY, "face_only"),
        ([Mode.FACE], Policy.TWO_MODES, "face_only"),
        ([Mode.PIN], Policy.TWO_MODES, "two_modes_need_two"),
        ([Mode.CARD], Policy.TWO_MODES, "two_modes_need_two"),
        ([Mode.PIN, Mode.PIN], Policy.TWO_MODES, "two_modes_need_two"),
    ],
)
def test_invalid_modes_are_refused(modes, policy, reason):
    with pytest.raises(AccessError) as exc:
        validate_modes(modes, policy)
    assert exc.value.reason == reason
