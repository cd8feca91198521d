"""From a presented credential to a decision, published on the bus and carried out by the door.

Slow work (scrypt, HMAC) runs in the executor; decisions, the store and events stay on the
event loop. Events carry no secret: no PIN, no card UID, no resident name unless allowed.
"""

import asyncio
import contextlib
import logging
import time
import weakref
from typing import Any

from homeassistant.core import Context, HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers.dispatcher import async_dispatcher_send

from .access.controller import AccessController, Decision, find_pin
from .access.credentials import PIN_PATTERN, card_digest, pin_lookup
from .access.errors import AccessError
from .access.modes import Mode
from .callers import async_unnamed_context
from .const import DOMAIN
from .permissions import async_requester
from .runtime import DoorConfig, FaceGateRuntime

_LOGGER = logging.getLogger(__name__)

EVENT_ACCESS = "facegate_access"
SIGNAL_DECISION = "facegate_decision_{}"  # format with the door id
LOCKED_OUT_SAVE_DELAY = 5.0
# Per site (its controller) and door: the lock that puts credential checks in a row.
_DOOR_LOCKS: weakref.WeakKeyDictionary[AccessController, dict[str, asyncio.Lock]] = (
    weakref.WeakKeyDictionary()
)


async def async_present_pin(
    hass: HomeAssistant,
    runtime: FaceGateRuntime,
    door_id: str,
    pin: str,
    context: Context | None = None,
) -> Decision:
    """Check a PIN (or a visitor code) at a door, and open it if granted."""
    door = runtime.doors[door_id]
    async with _door_lock(runtime, door_id):
        decision = await _async_decide_pin(hass, runtime, door, pin)
    return await async_publish(hass, runtime, decision, context)


async def _async_decide_pin(
    hass: HomeAssistant, runtime: FaceGateRuntime, door: DoorConfig, pin: str
) -> Decision:
    if refused := runtime.controller.refuse_if_locked_out(door.rules, Mode.PIN, time.time()):
        return refused
    match = None
    # Anything but 4 to 12 ASCII digits is no PIN: a failure, without hashing it (a huge string
    # costs nothing, and no trailing NUL can pass for the PIN in scrypt's HMAC).
    if PIN_PATTERN.fullmatch(pin):
        runtime.directory.drop_expired_visitor_codes(time.time())
        candidates = runtime.directory.pin_candidates(door.household_ids)
        match = await hass.async_add_executor_job(find_pin, pin, candidates, runtime.card_key)
        if match and match.pin.lookup is None:  # stored before lookup digests: add its own
            lookup = await hass.async_add_executor_job(pin_lookup, pin, runtime.card_key)
            runtime.directory.add_pin_lookup(match, lookup)
    return runtime.controller.decide_pin(door.rules, match, time.time())


async def async_present_card(
    hass: HomeAssistant,
    runtime: FaceGateRuntime,
    door_id: str,
    uid: str,
    context: Context | None = None,
) -> Decision:
    """Check a card at a door, and open it if granted."""
    door = runtime.doors[door_id]
    async with _door_lock(runtime, door_id):
        if refused := runtime.controller.refuse_if_locked_out(door.rules, Mode.CARD, time.time()):
            decision = refused
        else:
            digest = await async_card_digest(hass, runtime, uid)
            decision = runtime.controller.decide_card(door.rules, digest, time.time())
    return await async_publish(hass, runtime, decision, context)


async def async_present_card_at_reader(
    hass: HomeAssistant, runtime: FaceGateRuntime, reader_id: str, uid: str
) -> list[Decision]:
    """Check a card tapped at a reader, at every door it serves, as one attempt.

    A tap at a reader shared by several doors counts once at each of them (one failure per
    door for an unknown card, none for a neighbour's card): see decide_card_at_reader.
    """
    doors = [door for door in runtime.doors.values() if reader_id in door.reader_device_ids]
    if not doors:
        return []
    async with contextlib.AsyncExitStack() as stack:
        for door in sorted(doors, key=lambda door: door.door_id):  # one order: no deadlock
            await stack.enter_async_context(_door_lock(runtime, door.door_id))
        digest = await async_card_digest(hass, runtime, uid)
        rules = [door.rules for door in doors]
        decisions = runtime.controller.decide_card_at_reader(rules, digest, time.time())
    return [await async_publish(hass, runtime, decision) for decision in decisions]


def _door_lock(runtime: FaceGateRuntime, door_id: str) -> asyncio.Lock:
    """One credential check at a time per door, as at a keypad.

    Checks that ran side by side would all pass the lockout check before any of them failed:
    a burst of a thousand PINs would all be hashed and decided, the right one granted although
    the door locked out after the fifth. In turn, each sees the lockout the ones before started.
    """
    locks = _DOOR_LOCKS.setdefault(runtime.controller, {})
    return locks.setdefault(door_id, asyncio.Lock())


async def async_card_digest(hass: HomeAssistant, runtime: FaceGateRuntime, uid: str) -> str:
    """The keyed digest of a card UID, or a translated error for a malformed one."""
    try:
        return await hass.async_add_executor_job(card_digest, uid, runtime.card_key)
    except AccessError as err:
        raise ServiceValidationError(
            translation_domain=DOMAIN, translation_key=err.reason
        ) from None


async def async_publish(
    hass: HomeAssistant,
    runtime: FaceGateRuntime,
    decision: Decision,
    context: Context | None = None,
    *,
    store_later: bool = False,
) -> Decision:
    """Store the decision, open the door if granted, and tell the bus and the door's entities.

    The event carries the caller's context (the logbook names the user who asked), and an
    admin's unlock without a code names that admin: nothing else says who opened. A user who
    is a resident hiding their name is named neither way: the event gets a context of nobody
    that callers.py still traces back to them. With `store_later`, a refusal is told at once
    and stored a moment later: nothing is awaited.
    """
    if decision.reason == "locked_out" or (store_later and not decision.granted):
        # Refused unheard: only a folded audit count changes, so a burst of attempts
        # (brute force) costs one write every few seconds, not one each.
        runtime.store.async_delayed_save(runtime.as_dict, LOCKED_OUT_SAVE_DELAY)
    else:
        await runtime.async_save()
    data = event_data(runtime, decision)
    user_id = await async_requester(hass, context) if context else None
    if context and user_id and hides_name(runtime, user_id):
        # The user behind the context would name the resident to every user (the logbook).
        context = async_unnamed_context(hass, context)
    elif decision.reason == "admin" and user_id:
        user = await hass.auth.async_get_user(user_id)
        data["user"] = user.name if user else None
    hass.bus.async_fire(EVENT_ACCESS, data, context=context)
    async_dispatcher_send(hass, SIGNAL_DECISION.format(decision.door_id), decision)
    if decision.granted and (release := runtime.releases.get(decision.door_id)):
        try:
            await release(decision)
        except HomeAssistantError as err:
            _LOGGER.error("Door %s did not open: %s", runtime.doors[decision.door_id].name, err)
            raise HomeAssistantError(
                translation_domain=DOMAIN, translation_key="target_failed"
            ) from err
    return decision


@callback
def event_data(runtime: FaceGateRuntime, decision: Decision) -> dict[str, Any]:
    """What the bus, logbook and event entity may show of a decision."""
    door = runtime.doors.get(decision.door_id)
    note = {"note": decision.note} if decision.note else {}
    return {
        **note,
        "entity_id": runtime.lock_entity_ids.get(decision.door_id),
        "door_id": decision.door_id,
        "door": door.name if door else None,
        "method": decision.method,
        "outcome": decision.outcome.value,
        "reason": decision.reason,
        "resident": resident_label(runtime, decision.resident_id),
        "household": household_label(runtime, decision),
    }


def household_label(runtime: FaceGateRuntime, decision: Decision) -> str | None:
    """The household's name only beside a resident who shows theirs.

    Events, the event entity and the logbook are visible to every user: a household's name on
    each of its comings and goings would tell them when each flat is out, whatever its
    residents chose. So it follows the choice of the resident concerned.
    """
    resident = runtime.directory.residents.get(decision.resident_id or "")
    if resident is None or not resident.show_name:
        return None
    return runtime.household_names.get(decision.household_id or "")


def hides_name(runtime: FaceGateRuntime, user_id: str) -> bool:
    """Whether the user is a resident who hides their name (the default), anywhere on the site."""
    return any(not r.show_name for r in runtime.directory.residents_of_user(user_id))


def resident_label(runtime: FaceGateRuntime, resident_id: str | None) -> str | None:
    """The resident's name where they allow it, otherwise just "resident"."""
    resident = runtime.directory.residents.get(resident_id or "")
    if resident is None:
        return None
    return resident.name if resident.show_name else "resident"
