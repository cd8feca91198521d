"""Who may do what: Home Assistant admins, and the residents a user is linked to.

| caller                              | manage a household | UI unlock without a code       |
| ----------------------------------- | ------------------ | ------------------------------ |
| HA admin                            | yes                | yes                            |
| user linked to a resident of it     | yes                | yes (doors serving it)         |
| user linked to another household    | no                 | no                             |
| other (read-only) user              | no                 | no                             |
| no user (automation, HomeKit, ...)  | no                 | where the door allows it (off) |

A call that a user set off indirectly (automation.trigger, a helper an automation watches) is
decided as that user (see callers.py). Presenting a PIN needs no permission: the PIN is the
proof. A card number can be read by every user (tag entities), so only a reader, an admin or a
call without a user (a reader bridge) may present one.
"""

import time

from homeassistant.core import Context, HomeAssistant
from homeassistant.exceptions import ServiceValidationError

from .access.audit import Outcome
from .access.controller import Decision
from .access.directory import Resident
from .callers import initiator
from .const import DOMAIN
from .runtime import DoorConfig, FaceGateRuntime

METHOD_MANUAL = "manual"  # a user in Home Assistant's UI
METHOD_AUTOMATION = "automation"  # no user: an automation, HomeKit, a timer...


async def async_is_admin(hass: HomeAssistant, user_id: str | None) -> bool:
    """Whether the user exists and is a Home Assistant administrator."""
    user = await hass.auth.async_get_user(user_id) if user_id else None
    return bool(user and user.is_admin)


async def async_may_manage(
    hass: HomeAssistant, runtime: FaceGateRuntime, context: Context, household_id: str
) -> bool:
    """Admins, and users linked to a resident of this household."""
    if await async_is_admin(hass, context.user_id):
        return True
    return bool(linked_residents(runtime, context.user_id, frozenset({household_id})))


async def async_requester(hass: HomeAssistant, context: Context | None) -> str | None:
    """The person behind a call: its user, or the user who set it off (callers.py).

    None when no person is known: HomeKit Bridge, a timer, a device, and Home Assistant's system
    users (Home Assistant Cloud's Alexa and Google Assistant, the Supervisor's add-ons), which
    are admins that act for whoever talks to them.
    """
    user_id = initiator(hass, context)
    user = await hass.auth.async_get_user(user_id) if user_id else None
    return None if user is not None and user.system_generated else user_id


async def async_check_may_manage(
    hass: HomeAssistant, runtime: FaceGateRuntime, context: Context, household_id: str
) -> None:
    """Raise a translated refusal unless the caller may manage the household."""
    if not await async_may_manage(hass, runtime, context, household_id):
        raise ServiceValidationError(translation_domain=DOMAIN, translation_key="not_allowed")


def linked_residents(
    runtime: FaceGateRuntime, user_id: str | None, household_ids: frozenset[str]
) -> list[Resident]:
    """The residents of these households linked to the user."""
    if user_id is None:
        return []
    return [
        r for r in runtime.directory.residents_of_user(user_id) if r.household_id in household_ids
    ]


async def async_codeless_decision(
    hass: HomeAssistant, runtime: FaceGateRuntime, door: DoorConfig, context: Context | None
) -> Decision:
    """An unlock without a code: admins, residents of served households, or no user if allowed.

    A call that a user set off indirectly (an automation they triggered) is theirs.
    """
    user_id = await async_requester(hass, context)
    if user_id is None:
        # HomeKit Bridge, a timer, a cloud assistant: nobody known asked, so only where allowed.
        allowed = door.allow_automation_unlock
        decision = Decision(
            door.door_id,
            METHOD_AUTOMATION,
            Outcome.GRANTED if allowed else Outcome.DENIED,
            "automation" if allowed else "automation_not_allowed",
        )
    elif residents := linked_residents(runtime, user_id, door.household_ids):
        decision = Decision(
            door.door_id,
            METHOD_MANUAL,
            Outcome.GRANTED,
            "resident",
            residents[0].resident_id,
            residents[0].household_id,
        )
    elif await async_is_admin(hass, user_id):
        decision = Decision(door.door_id, METHOD_MANUAL, Outcome.GRANTED, "admin")
    else:
        decision = Decision(door.door_id, METHOD_MANUAL, Outcome.DENIED, "not_allowed")
    return runtime.controller.record(decision, time.time())
