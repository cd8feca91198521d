"""Changes to residents shared by the actions and the options flow (slow parts in the executor)."""

import time

from homeassistant.core import HomeAssistant

from .access.controller import find_pin
from .access.credentials import check_pin_strength, hash_pin
from .access.directory import Resident
from .access.errors import AccessError
from .runtime import FaceGateRuntime


async def async_set_pin(
    hass: HomeAssistant,
    runtime: FaceGateRuntime,
    resident: Resident,
    pin: str,
    *,
    duress: bool,
    requester: str | None,
) -> None:
    """Check, hash and store a PIN; raises AccessError (format, weak, in use) storing nothing.

    "In use" tells the requester that someone has this PIN, so those answers are rate-limited
    per requesting non-admin user (None: an admin or an automation), like failures at a door.
    """
    check_pin_strength(pin)
    if requester and runtime.pin_probes.remaining(requester, time.time()):
        raise AccessError("too_many_pin_changes")
    async with runtime.pin_changes:  # two changes at once could both find the PIN free
        replaced = resident.duress_pin if duress else resident.pin
        others = [c for c in runtime.directory.pin_candidates() if c.pin is not replaced]
        if await hass.async_add_executor_job(find_pin, pin, others):
            if requester:
                runtime.pin_probes.record_failure(requester, time.time())
            raise AccessError("pin_in_use")  # unique within the site: a PIN names one person
        pin_hash = await hass.async_add_executor_job(hash_pin, pin)
        runtime.directory.set_pin(resident.resident_id, pin_hash, duress=duress)
        await runtime.async_save()


async def async_check_user(hass: HomeAssistant, user_id: str | None) -> None:
    """Refuse a link to a Home Assistant user that does not exist."""
    if user_id and await hass.auth.async_get_user(user_id) is None:
        raise AccessError("unknown_user")


def has_face_consent(runtime: FaceGateRuntime, resident: Resident) -> bool:
    """Whether the resident is still there and still consents to face recognition now."""
    current = runtime.directory.residents.get(resident.resident_id)
    return current is not None and current.face_consent is not None
