"""FaceGate's actions: residents, their credentials and consent, visitor codes, keypads.

Each action checks the calling user (see permissions.py), validates its input with a
translated error, and stores nothing when it refuses. Responses never carry a stored secret;
a new visitor code is returned once, to its creator.
"""

import time
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import replace
from typing import Any

import probatio
from homeassistant.const import ATTR_ENTITY_ID
from homeassistant.core import (
    HomeAssistant,
    ServiceCall,
    ServiceResponse,
    SupportsResponse,
    callback,
)
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import config_validation as cv
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er

from . import gate, voice
from . import operations as ops
from .access.audit import Outcome
from .access.controller import Decision
from .access.directory import Resident
from .access.errors import AccessError
from .access.modes import Mode
from .callers import async_track_callers
from .const import DOMAIN
from .face_photos import MAX_PHOTOS
from .permissions import (
    async_check_may_manage,
    async_codeless_decision,
    async_is_admin,
    async_requester,
)
from .residents import (
    async_check_user,
)
from .runtime import FaceGateRuntime, loaded_runtimes
from .tags import CARD_NEEDS_READER

ATTR_HOUSEHOLD = "household"
ATTR_RESIDENT_ID = "resident_id"
ATTR_NAME = "name"
ATTR_USER_ID = "user_id"
ATTR_SHOW_NAME = "show_name"
ATTR_PIN = "pin"
ATTR_DURESS = "duress"
ATTR_CARD_UID = "card_uid"
ATTR_READER = "reader"
ATTR_CONSENT = "consent"
ATTR_VALID_FOR = "valid_for_minutes"
ATTR_USES = "uses"
ATTR_CAMERA = "camera"
ATTR_SAMPLES = "samples"
ATTR_PHOTOS = "photos"
ATTR_REASON = "reason"

RESIDENT = {probatio.Required(ATTR_RESIDENT_ID): cv.string}
SCHEMAS: dict[str, Any] = {
    "add_resident": {
        probatio.Required(ATTR_HOUSEHOLD): cv.string,
        probatio.Required(ATTR_NAME): cv.string,
        probatio.Optional(ATTR_USER_ID): cv.string,
        probatio.Optional(ATTR_SHOW_NAME, default=False): cv.boolean,
    },
    "update_resident": {
        **RESIDENT,
        probatio.Optional(ATTR_NAME): cv.string,
        probatio.Optional(ATTR_USER_ID): cv.string,
        probatio.Optional(ATTR_SHOW_NAME): cv.boolean,
    },
    "remove_resident": RESIDENT,
    "list_residents": {probatio.Required(ATTR_HOUSEHOLD): cv.string},
    "set_pin": {
        **RESIDENT,
        probatio.Required(ATTR_PIN): cv.string,
        probatio.Optional(ATTR_DURESS, default=False): cv.boolean,
    },
    "remove_pin": {**RESIDENT, probatio.Optional(ATTR_DURESS, default=False): cv.boolean},
    "enrol_card": {**RESIDENT, probatio.Required(ATTR_READER): cv.string},
    "remove_card": {**RESIDENT, probatio.Required(ATTR_CARD_UID): cv.string},
    "set_face_consent": {**RESIDENT, probatio.Required(ATTR_CONSENT): cv.boolean},
    "export_resident_data": RESIDENT,
    "remove_face": RESIDENT,
    "unlock": {
        probatio.Required(ATTR_ENTITY_ID): cv.entity_id,
        probatio.Required(ATTR_REASON): probatio.All(cv.string, probatio.Length(min=1, max=100)),
    },
    "enrol_face": {
        **RESIDENT,
        probatio.Exclusive(ATTR_CAMERA, "source"): probatio.All(
            cv.string, cv.entity_domain("camera")
        ),
        probatio.Exclusive(ATTR_PHOTOS, "source"): probatio.All(
            cv.ensure_list, [cv.string], probatio.Length(min=1, max=MAX_PHOTOS)
        ),
        probatio.Optional(ATTR_SAMPLES, default=3): probatio.All(
            probatio.Coerce(int), probatio.Range(min=1, max=5)
        ),
    },
    "create_visitor_code": {
        **RESIDENT,
        probatio.Optional(ATTR_VALID_FOR, default=240): probatio.All(
            probatio.Coerce(int), probatio.Range(min=5, max=7 * 24 * 60)
        ),
        probatio.Optional(ATTR_USES, default=1): probatio.All(
            probatio.Coerce(int), probatio.Range(min=1, max=20)
        ),
    },
    "present_credential": {
        probatio.Required(ATTR_ENTITY_ID): cv.entity_id,
        probatio.Exclusive(ATTR_PIN, "credential"): cv.string,
        probatio.Exclusive(ATTR_CARD_UID, "credential"): cv.string,
    },
}
type Handler = Callable[[HomeAssistant, ServiceCall], Awaitable[ServiceResponse]]
RESPONDING = {
    "enrol_face",
    "export_resident_data",
    "add_resident",
    "list_residents",
    "create_visitor_code",
    "present_credential",
}


@callback
def async_setup_services(hass: HomeAssistant) -> None:
    """Register every FaceGate action, and start following who sets off automations."""
    async_track_callers(hass)
    handlers: dict[str, Handler] = {
        "add_resident": _add_resident,
        "update_resident": _update_resident,
        "remove_resident": _remove_resident,
        "list_residents": _list_residents,
        "set_pin": _set_pin,
        "remove_pin": _remove_pin,
        "enrol_card": _enrol_card,
        "remove_card": _remove_card,
        "set_face_consent": _set_face_consent,
        "enrol_face": _enrol_face,
        "export_resident_data": _export_resident_data,
        "remove_face": _remove_face,
        "unlock": _unlock,
        "create_visitor_code": _create_visitor_code,
        "present_credential": _present_credential,
    }
    for name, handler in handlers.items():
        hass.services.async_register(
            DOMAIN,
            name,
            _translating_refusals(hass, handler),
            schema=probatio.Schema(SCHEMAS[name]),
            supports_response=(
                SupportsResponse.OPTIONAL if name in RESPONDING else SupportsResponse.NONE
            ),
        )


def _translating_refusals(
    hass: HomeAssistant, handler: Handler
) -> Callable[[ServiceCall], Coroutine[Any, Any, ServiceResponse]]:
    """The service function: a refusal of the access rules becomes a translated error."""

    async def _handle(call: ServiceCall) -> ServiceResponse:
        try:
            return await handler(hass, call)
        except AccessError as err:
            raise ServiceValidationError(
                translation_domain=DOMAIN, translation_key=err.reason
            ) from None

    return _handle


# Finding sites, households, residents and doors ------------------------------------------------


def _household(hass: HomeAssistant, device_id: str) -> tuple[FaceGateRuntime, str]:
    """The site and household id of a household device."""
    device = dr.async_get(hass).async_get(device_id)
    for identifier_domain, household_id in device.identifiers if device else ():
        for runtime in loaded_runtimes(hass):
            if identifier_domain == DOMAIN and household_id in runtime.household_names:
                return runtime, household_id
    raise AccessError("unknown_household")


async def _managed_resident(
    hass: HomeAssistant, call: ServiceCall
) -> tuple[FaceGateRuntime, Resident]:
    """The resident named in the call, if the caller may manage their household."""
    return await ops.async_managed_resident(hass, call.context, call.data[ATTR_RESIDENT_ID])


def _door(hass: HomeAssistant, entity_id: str) -> tuple[FaceGateRuntime, str]:
    """The site and door id of a FaceGate lock entity."""
    entity = er.async_get(hass).async_get(entity_id)
    door_id = entity.config_subentry_id if entity and entity.platform == DOMAIN else None
    for runtime in loaded_runtimes(hass):
        if door_id in runtime.doors:
            return runtime, door_id
    raise AccessError("unknown_door")


async def _async_check_card_source(
    hass: HomeAssistant, runtime: FaceGateRuntime, door_id: str, call: ServiceCall
) -> None:
    """A card number only from a reader bridge: an admin, or a call without a user.

    Home Assistant shows every tag id it has seen to every user (tag entities), so a card
    number sent by a user proves nothing; it is refused, audited and published.
    """
    user_id = await async_requester(hass, call.context)
    if user_id is None or await async_is_admin(hass, user_id):
        return
    refused = Decision(door_id, Mode.CARD, Outcome.DENIED, CARD_NEEDS_READER)
    decision = runtime.controller.record(refused, time.time())
    await gate.async_publish(hass, runtime, decision, call.context)
    raise AccessError(CARD_NEEDS_READER)


# Residents ------------------------------------------------------------------------------------


async def _add_resident(hass: HomeAssistant, call: ServiceCall) -> ServiceResponse:
    _, household_id = _household(hass, call.data[ATTR_HOUSEHOLD])
    resident_id = await ops.async_add_resident(
        hass,
        call.context,
        household_id,
        call.data[ATTR_NAME],
        call.data.get(ATTR_USER_ID),
        call.data[ATTR_SHOW_NAME],
    )
    return {ATTR_RESIDENT_ID: resident_id}


async def _update_resident(hass: HomeAssistant, call: ServiceCall) -> ServiceResponse:
    runtime, resident = await _managed_resident(hass, call)
    await _async_check_link(hass, call, resident.user_id)
    runtime.directory.update_resident(
        resident.resident_id,
        name=call.data.get(ATTR_NAME),
        show_name=call.data.get(ATTR_SHOW_NAME),
        user_id=call.data.get(ATTR_USER_ID),
    )
    await runtime.async_save()
    return None


async def _async_check_link(hass: HomeAssistant, call: ServiceCall, current: str | None) -> None:
    """Only admins link residents to users: the user then acts as the resident.

    A link gives the personal rights: face consent, the data export, unlocking without a code.
    """
    user_id = call.data.get(ATTR_USER_ID)
    if ATTR_USER_ID in call.data and (user_id or None) != current:
        if not await async_is_admin(hass, call.context.user_id):
            raise AccessError("link_admin_only")
        await async_check_user(hass, user_id)


async def _remove_resident(hass: HomeAssistant, call: ServiceCall) -> ServiceResponse:
    await ops.async_remove_resident(hass, call.context, call.data[ATTR_RESIDENT_ID])
    return None


async def _list_residents(hass: HomeAssistant, call: ServiceCall) -> ServiceResponse:
    runtime, household_id = _household(hass, call.data[ATTR_HOUSEHOLD])
    await async_check_may_manage(hass, runtime, call.context, household_id)
    return {
        "residents": [
            {
                ATTR_RESIDENT_ID: r.resident_id,
                ATTR_NAME: r.name,
                ATTR_USER_ID: r.user_id,
                ATTR_SHOW_NAME: r.show_name,
                "has_pin": r.pin is not None,
                "has_duress_pin": r.duress_pin is not None,
                "cards": len(r.cards),
                "face_consent": r.face_consent is not None,
            }
            for r in runtime.directory.residents_of([household_id])
        ]
    }


# Credentials ----------------------------------------------------------------------------------


async def _set_pin(hass: HomeAssistant, call: ServiceCall) -> ServiceResponse:
    await ops.async_resident_set_pin(
        hass,
        call.context,
        call.data[ATTR_RESIDENT_ID],
        call.data[ATTR_PIN],
        duress=call.data[ATTR_DURESS],
    )
    return None


async def _remove_pin(hass: HomeAssistant, call: ServiceCall) -> ServiceResponse:
    await ops.async_resident_remove_pin(
        hass, call.context, call.data[ATTR_RESIDENT_ID], duress=call.data[ATTR_DURESS]
    )
    return None


async def _enrol_card(hass: HomeAssistant, call: ServiceCall) -> ServiceResponse:
    await ops.async_resident_enrol_card(
        hass, call.context, call.data[ATTR_RESIDENT_ID], call.data[ATTR_READER]
    )
    return None


async def _remove_card(hass: HomeAssistant, call: ServiceCall) -> ServiceResponse:
    runtime, resident = await _managed_resident(hass, call)
    digest = await gate.async_card_digest(hass, runtime, call.data[ATTR_CARD_UID])
    runtime.directory.remove_card(resident.resident_id, digest)
    await runtime.async_save()
    return None


async def _set_face_consent(hass: HomeAssistant, call: ServiceCall) -> ServiceResponse:
    await ops.async_resident_set_consent(
        hass, call.context, call.data[ATTR_RESIDENT_ID], call.data[ATTR_CONSENT]
    )
    return None


async def _enrol_face(hass: HomeAssistant, call: ServiceCall) -> ServiceResponse:
    samples = await ops.async_resident_enrol_face(
        hass,
        call.context,
        call.data[ATTR_RESIDENT_ID],
        camera=call.data.get(ATTR_CAMERA),
        photos=call.data.get(ATTR_PHOTOS),
        samples=call.data[ATTR_SAMPLES],
    )
    return {"samples": samples}


async def _remove_face(hass: HomeAssistant, call: ServiceCall) -> ServiceResponse:
    """Erase a resident's face templates at once; their consent stays as it was."""
    await ops.async_resident_remove_face(hass, call.context, call.data[ATTR_RESIDENT_ID])
    return None


async def _unlock(hass: HomeAssistant, call: ServiceCall) -> ServiceResponse:
    """Unlock without a code, for those who may, with the reason shown in the logbook."""
    runtime, door_id = _door(hass, call.data[ATTR_ENTITY_ID])
    door, reason = runtime.doors[door_id], call.data[ATTR_REASON].strip()
    if voice.in_conversation():  # an LLM agent acting on a spoken request
        decision = await voice.async_voice_unlock(
            hass, runtime, door_id, None, context=call.context
        )
    else:
        decision = await async_codeless_decision(hass, runtime, door, call.context)
        decision = await gate.async_publish(
            hass, runtime, replace(decision, note=reason), call.context
        )
    if not decision.granted:
        raise AccessError(f"denied_{decision.reason}")
    return None


async def _export_resident_data(hass: HomeAssistant, call: ServiceCall) -> ServiceResponse:
    """Everything FaceGate keeps about a resident, as metadata: never a hash or a template."""
    data = await ops.async_resident_export(hass, call.context, call.data[ATTR_RESIDENT_ID])
    data.pop(ATTR_RESIDENT_ID)
    return data


async def _create_visitor_code(hass: HomeAssistant, call: ServiceCall) -> ServiceResponse:
    return await ops.async_resident_visitor_code(
        hass,
        call.context,
        call.data[ATTR_RESIDENT_ID],
        call.data[ATTR_VALID_FOR],
        call.data[ATTR_USES],
    )


async def _present_credential(hass: HomeAssistant, call: ServiceCall) -> ServiceResponse:
    runtime, door_id = _door(hass, call.data[ATTR_ENTITY_ID])
    # A credential read out to an assistant (an LLM agent calling this action) is a spoken
    # request: only at doors that take them.
    if voice.in_conversation() and (
        refused := await voice.async_refuse_if_off(hass, runtime, door_id, call.context)
    ):
        decision = refused
    elif pin := call.data.get(ATTR_PIN):
        decision = await gate.async_present_pin(hass, runtime, door_id, pin, call.context)
    elif uid := call.data.get(ATTR_CARD_UID):
        await _async_check_card_source(hass, runtime, door_id, call)
        decision = await gate.async_present_card(hass, runtime, door_id, uid, call.context)
    else:
        raise AccessError("credential_missing")
    return {
        "granted": decision.granted,
        "outcome": decision.outcome.value,
        "reason": decision.reason,
    }
