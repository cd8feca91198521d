"""Logbook lines for access decisions that a resident can read, without secrets."""

from collections.abc import Callable, Mapping
from typing import Any

from homeassistant.components.logbook.const import (
    LOGBOOK_ENTRY_ENTITY_ID,
    LOGBOOK_ENTRY_ICON,
    LOGBOOK_ENTRY_MESSAGE,
    LOGBOOK_ENTRY_NAME,
)
from homeassistant.core import Event, HomeAssistant, callback

from .const import DOMAIN
from .face_watch import EVENT_UNKNOWN_FACE
from .gate import EVENT_ACCESS
from .tags import EVENT_CARD_ENROLMENT

METHODS = {
    "pin": "PIN",
    "card": "card",
    "face": "face",
    "visitor": "visitor code",
    "manual": "Home Assistant",
    "automation": "automation",
    "voice": "voice",
}
REASONS = {
    "unknown_credential": "this code or card is not valid here",
    "too_many_failures": "too many failed attempts, the door is locked out for a while",
    "locked_out": "the door is locked out after failed attempts",
    "mode_disabled": "{method} mode is off for this household",
    "second_factor_needed": "waiting for a second, different way in",
    "not_allowed": "only admins and residents served by this door may unlock without a code",
    "automation_not_allowed": "this door takes no unlock without a code that no user asked for",
    "card_needs_reader": "a card number sent by a user opens nothing: only readers present cards",
    "default_code": "a default code stored in Home Assistant never opens this door",
    "no_face_consent": "face recognition needs the resident's consent",
    "unknown_face": "face not recognised",
    "not_live": "the face did not look live (a photo or a screen?)",
    "face_unclear": "the camera could not judge the face (too dark, too small, blurred or"
    " turned away): look at the camera, or use the PIN or card",
    "voice_disabled": "unlocking by voice is off for this door",
    "voice_second_factor_needed": "a voice alone does not open this door: say the PIN, or be"
    " recognised by the door's camera first",
}

# One icon per outcome, so that a granted and a denied line tell apart at a glance.
OUTCOME_ICONS = {
    "granted": "mdi:door-open",
    "denied": "mdi:door-closed-cancel",
    "duress": "mdi:alarm-light",
    "lockout": "mdi:lock-clock",
}

ENROLMENT_RESULTS = {
    "enrolled": "new card enrolled for {who}",
    "card_in_use": "card not enrolled for {who}: it belongs to another resident",
    "card_format": "card not enrolled for {who}: the reader sent an unreadable number",
}


@callback
def async_describe_events(
    hass: HomeAssistant,
    async_describe_event: Callable[[str, str, Callable[[Event], dict[str, Any]]], None],
) -> None:
    """Describe FaceGate's access events for the logbook."""

    @callback
    def describe(event: Event) -> dict[str, Any]:
        data = event.data
        return {
            LOGBOOK_ENTRY_NAME: data.get("door") or "FaceGate",
            LOGBOOK_ENTRY_MESSAGE: describe_decision(data),
            LOGBOOK_ENTRY_ENTITY_ID: data.get("entity_id"),
            LOGBOOK_ENTRY_ICON: OUTCOME_ICONS.get(data.get("outcome", ""), "mdi:door"),
        }

    @callback
    def describe_enrolment(event: Event) -> dict[str, Any]:
        who = event.data.get("resident") or "a resident"
        return {
            LOGBOOK_ENTRY_NAME: "FaceGate",
            LOGBOOK_ENTRY_MESSAGE: ENROLMENT_RESULTS.get(
                event.data["result"], "card not enrolled"
            ).format(who=who),
        }

    @callback
    def describe_unknown_face(event: Event) -> dict[str, Any]:
        return {
            LOGBOOK_ENTRY_NAME: event.data.get("door") or "FaceGate",
            LOGBOOK_ENTRY_MESSAGE: "a face the cameras do not recognise",
            LOGBOOK_ENTRY_ICON: "mdi:account-question",
            LOGBOOK_ENTRY_ENTITY_ID: event.data.get("entity_id"),
        }

    async_describe_event(DOMAIN, EVENT_ACCESS, describe)
    async_describe_event(DOMAIN, EVENT_CARD_ENROLMENT, describe_enrolment)
    async_describe_event(DOMAIN, EVENT_UNKNOWN_FACE, describe_unknown_face)


def describe_decision(data: Mapping[str, Any]) -> str:
    """For example "granted to Alex by PIN" or "denied: PIN mode is off for this household"."""
    method = " + ".join(METHODS.get(part, part) for part in str(data["method"]).split("+"))
    outcome = data["outcome"]
    alarm = " (duress PIN: alarm raised)" if outcome == "duress" else ""
    if outcome == "bypassed":  # Home Assistant's logbook adds the user from the context
        return "unlocked outside FaceGate, at the lock or switch itself"
    if outcome == "granted" or data["reason"] == "duress":
        who = f" to {data['resident']}" if data.get("resident") else ""
        note = f": {data['note']}" if data.get("note") else ""
        if data.get("user"):  # an admin's unlock without a code: the admin, by name
            method = f"{data['user']} in Home Assistant"
        return f"granted{who} by {method}{alarm}{note}"
    reason = REASONS.get(data["reason"], data["reason"]).format(method=method)
    return f"{'locked out' if outcome == 'lockout' else 'denied'} ({method}): {reason}{alarm}"
