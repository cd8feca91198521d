"""Card readers that are Home Assistant tag scanners: access checks and enrolment by tap."""

import contextlib
import time
from collections.abc import Callable
from typing import Any

from homeassistant.core import Event, EventOrigin, HomeAssistant, callback
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers.dispatcher import async_dispatcher_send

from . import gate
from .access.audit import Outcome
from .access.controller import Decision
from .access.errors import AccessError
from .access.modes import Mode
from .permissions import async_is_admin
from .runtime import FaceGateRuntime

EVENT_TAG_SCANNED = "tag_scanned"
EVENT_CARD_ENROLMENT = "facegate_card_enrolment"
ENROL_WINDOW = 60.0  # seconds a resident has to tap a new card at the chosen reader
CARD_NEEDS_READER = "card_needs_reader"
# (reader device id, resident id, result): how a tap in an enrolment window went, for the panel.
SIGNAL_CARD_ENROLMENT = "facegate_card_enrolment"


@callback
def async_listen_for_cards(hass: HomeAssistant, runtime: FaceGateRuntime) -> Callable[[], None]:
    """Check every tag scanned at one of the site's readers; returns the stop callback."""

    async def _on_tag(event: Event[dict[str, Any]]) -> None:
        device_id, tag_id = event.data.get("device_id"), event.data.get("tag_id")
        if not isinstance(device_id, str) or not device_id or not isinstance(tag_id, str):
            return
        if event.origin is EventOrigin.remote and not await async_is_admin(
            hass, event.context.user_id
        ):
            # Fired by a user, not read by a reader: any phone's companion app may fire any
            # event (its fire_event webhook), and tag entities show every user both the card
            # number and the reader's device id.
            await _async_refuse_user_tag(hass, runtime, device_id)
            return
        if await _async_enrol_if_waiting(hass, runtime, device_id, tag_id):
            return
        # A malformed UID from a reader opens nothing.
        with contextlib.suppress(ServiceValidationError):
            await gate.async_present_card_at_reader(hass, runtime, device_id, tag_id)

    return hass.bus.async_listen(EVENT_TAG_SCANNED, _on_tag)


async def _async_refuse_user_tag(
    hass: HomeAssistant, runtime: FaceGateRuntime, device_id: str
) -> None:
    """Audit and publish a card number that a non-admin user sent as a tag scan."""
    now = time.time()
    for door in runtime.doors.values():
        if device_id in door.reader_device_ids:
            refused = Decision(door.door_id, Mode.CARD, Outcome.DENIED, CARD_NEEDS_READER)
            await gate.async_publish(hass, runtime, runtime.controller.record(refused, now))


async def _async_enrol_if_waiting(
    hass: HomeAssistant, runtime: FaceGateRuntime, device_id: str, tag_id: str
) -> bool:
    """Give the tapped card to the resident waiting at this reader, if any.

    A card that is enrolled already is someone coming in: it opens as usual and the window
    stays open for the new card.
    """
    waiting = runtime.card_enrolments.get(device_id)
    if waiting is None or waiting[1] < time.time():
        runtime.card_enrolments.pop(device_id, None)
        return False
    try:
        digest: str | None = await gate.async_card_digest(hass, runtime, tag_id)
    except ServiceValidationError:
        digest = None
    if digest and runtime.directory.card_owner(digest) is not None:
        return False
    if runtime.card_enrolments.get(device_id) != waiting:
        return False  # another tap took the window meanwhile: this one is an access attempt
    del runtime.card_enrolments[device_id]
    resident_id = waiting[0]
    if digest is None:
        result = "card_format"
    else:
        try:
            runtime.directory.add_card(resident_id, digest)
        except AccessError as err:
            result = err.reason  # the resident left meanwhile
        else:
            result = "enrolled"
            await runtime.async_save()
    # Tell the UI and automations how the tap went (never which card it was).
    async_dispatcher_send(hass, SIGNAL_CARD_ENROLMENT, device_id, resident_id, result)
    hass.bus.async_fire(
        EVENT_CARD_ENROLMENT,
        {"resident": gate.resident_label(runtime, resident_id), "result": result},
    )
    return True
