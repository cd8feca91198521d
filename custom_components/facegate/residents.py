"""Changes to residents shared by the actions and the options flow (slow parts in the executor)."""

import logging
import time

from homeassistant.core import HomeAssistant

from .access.controller import find_pin
from .access.credentials import check_pin_strength, hash_pin, new_visitor_code
from .access.directory import Consent, Resident
from .access.errors import AccessError
from .consent_log import ConsentChange
from .runtime import FaceGateRuntime

_LOGGER = logging.getLogger(__name__)


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

    A PIN is unique within the site: at a door shared by several households it must name one
    person, and its lookup digest one hash. "In use" therefore tells the requester that
    someone has this PIN, so every attempt by a non-admin user (`requester`; None for an admin
    or an automation) spends their budget, whatever its outcome (access/attempts.py).
    """
    await _async_spend_attempt(runtime, requester)
    check_pin_strength(pin)
    async with runtime.pin_changes:  # two changes at once could both find the PIN free
        replaced = resident.duress_pin if duress else resident.pin
        others = [c for c in runtime.directory.pin_candidates() if c.pin is not replaced]
        if await hass.async_add_executor_job(find_pin, pin, others, runtime.card_key):
            if requester:  # the admin may want to know who probes (never which PIN)
                _LOGGER.warning("A PIN change by user %s was refused: PIN in use", requester)
            raise AccessError("pin_in_use")
        pin_hash = await hass.async_add_executor_job(hash_pin, pin, runtime.card_key)
        runtime.directory.set_pin(resident.resident_id, pin_hash, duress=duress)
        await runtime.async_save()


async def async_create_visitor_code(
    hass: HomeAssistant,
    runtime: FaceGateRuntime,
    resident: Resident,
    valid_until: float,
    uses: int,
    requester: str | None,
) -> str:
    """Make, store and return a new visitor code of the resident's household.

    Counts against the requester's budget like a PIN change (codes are ways in, and each
    one made is stored), and within the household's cap of active codes. The code differs
    from every stored PIN and code, so that it names one hash at the keypad.
    """
    await _async_spend_attempt(runtime, requester)
    async with runtime.pin_changes:
        runtime.directory.drop_expired_visitor_codes(time.time())
        candidates = runtime.directory.pin_candidates()
        while await hass.async_add_executor_job(
            find_pin, code := new_visitor_code(), candidates, runtime.card_key
        ):
            pass
        pin_hash = await hass.async_add_executor_job(hash_pin, code, runtime.card_key)
        runtime.directory.add_visitor_code(resident.resident_id, pin_hash, valid_until, uses)
        await runtime.async_save()
    return code


async def async_record_consent(
    hass: HomeAssistant,
    runtime: FaceGateRuntime,
    resident: Resident,
    user_id: str | None,
    *,
    given: bool,
) -> None:
    """Give or withdraw a resident's consent, and log the change with who made it.

    An administrator acting for someone else shows as "administrator"; a resident's own
    change, or a household member's withdrawal, by the user's name. The caller saves.
    """
    if given == (resident.face_consent is not None):
        return  # no change: nothing to log, and the first consent's time stays
    user = await hass.auth.async_get_user(user_id) if user_id else None
    own = user is not None and user.id == resident.user_id
    by = user.name if user is not None and (own or not user.is_admin) else None
    now = time.time()
    runtime.directory.set_face_consent(
        resident.resident_id, Consent(now, user_id) if given else None
    )
    runtime.consents.add(ConsentChange(now, resident.resident_id, given, user_id, by))


async def _async_spend_attempt(runtime: FaceGateRuntime, requester: str | None) -> None:
    """Spend one of a non-admin user's attempts (stored at once), or refuse when none is left."""
    if requester is None:
        return
    now = time.time()
    if runtime.pin_probes.wait(requester, now):
        raise AccessError("too_many_pin_changes")
    runtime.pin_probes.spend(requester, now)
    await runtime.async_save()


async def async_check_user(hass: HomeAssistant, user_id: str | None) -> None:
    """Refuse a link to a Home Assistant user that does not exist."""
    if user_id and await hass.auth.async_get_user(user_id) is None:
        raise AccessError("unknown_user")


def has_face_consent(runtime: FaceGateRuntime, resident: Resident) -> bool:
    """Whether the resident is still there and still consents to face recognition now."""
    current = runtime.directory.residents.get(resident.resident_id)
    return current is not None and current.face_consent is not None
