"""Household modes and policies, and the rule that face is never the only way in."""

from collections.abc import Iterable
from enum import StrEnum

from .errors import AccessError


class Mode(StrEnum):
    """A way to prove who you are at a door."""

    CARD = "card"
    PIN = "pin"
    FACE = "face"


class Policy(StrEnum):
    """How many different modes a household's residents must present."""

    ANY = "any"
    TWO_MODES = "two_modes"


def validate_modes(modes: Iterable[Mode], policy: Policy) -> frozenset[Mode]:
    """Return the modes if a household may use them with this policy, else raise AccessError."""
    enabled = frozenset(modes)
    if not enabled:
        raise AccessError("no_mode")
    if enabled == {Mode.FACE}:
        # The law behind FaceGate: residents who do not consent need another way in.
        raise AccessError("face_only")
    if policy is Policy.TWO_MODES and len(enabled) < 2:
        raise AccessError("two_modes_need_two")
    return enabled
