"""Assist intents: "who is at the front door?" and "unlock the front door with code 4 8 1 5".

Home Assistant lets no integration ship sentences, so the sentences for these intents are files
a user copies into <config>/custom_sentences/ (see sentences/ and the README). The answers are
in English and Simplified Chinese. Unlocking goes through voice.py's rules, like Assist's own
unlock intent does when it reaches FaceGate's lock.
"""

import re
import time
from typing import Any

import probatio
from homeassistant.core import HomeAssistant
from homeassistant.helpers import config_validation as cv
from homeassistant.helpers import intent

from . import voice
from .face_watch import UNKNOWN
from .runtime import DoorConfig, FaceGateRuntime, loaded_runtimes
from .speech import say

INTENT_WHO_IS_AT_DOOR = "FaceGateWhoIsAtDoor"
INTENT_UNLOCK_DOOR = "FaceGateUnlockDoor"
SLOT_DOOR = "door"
SLOT_CODE = "code"


async def async_setup_intents(hass: HomeAssistant) -> None:
    """Register FaceGate's intents (the intent integration calls this)."""
    intent.async_register(hass, WhoIsAtDoorHandler())
    intent.async_register(hass, UnlockDoorHandler())


class WhoIsAtDoorHandler(intent.IntentHandler):
    """Who the door's cameras see: names only of residents who allow it."""

    intent_type = INTENT_WHO_IS_AT_DOOR
    description = "Tells who is at a FaceGate door, as its cameras see it"

    @property
    def slot_schema(self) -> dict[Any, Any]:
        """The door's name; optional where the site has one door."""
        return {probatio.Optional(SLOT_DOOR): cv.string}

    async def async_handle(self, intent_obj: intent.Intent) -> intent.IntentResponse:
        """Answer from the door's cameras: only someone seen in the last few seconds, and when."""
        if (found := find_door(intent_obj)) is None:
            return _no_such_door(intent_obj)
        runtime, door = found
        language = intent_obj.language
        now = time.time()
        watches = [
            watch
            for (door_id, _), watch in runtime.face_watches.items()
            if door_id == door.door_id and watch.seen_recently(now)
        ]
        if not watches:
            text = say(language, "nobody", door=door.name)
        else:
            who = [say(language, f"who_{label}") if label in (UNKNOWN, "resident") else label
                   for label in dict.fromkeys(watch.state for watch in watches)]  # fmt: skip
            ago = round(now - max(watch.last_seen or now for watch in watches))
            key = "seen_now" if ago < 2 else "seen"
            text = say(language, key, door=door.name, who=", ".join(who), ago=str(ago))
        return _answer(intent_obj, text)


class UnlockDoorHandler(intent.IntentHandler):
    """A spoken unlock with a PIN, under the door's voice rules."""

    intent_type = INTENT_UNLOCK_DOOR
    description = "Unlocks a FaceGate door with a spoken PIN, where the door allows voice"

    @property
    def slot_schema(self) -> dict[Any, Any]:
        """The door's name, and the PIN (spoken digits; spaces are ignored)."""
        return {
            probatio.Optional(SLOT_DOOR): cv.string,
            probatio.Optional(SLOT_CODE): cv.string,
        }

    async def async_handle(self, intent_obj: intent.Intent) -> intent.IntentResponse:
        """Decide through voice.py and say the outcome (never the code)."""
        if (found := find_door(intent_obj)) is None:
            return _no_such_door(intent_obj)
        runtime, door = found
        code = re.sub(r"\s+", "", _slot(intent_obj, SLOT_CODE) or "") or None
        decision = await voice.async_voice_unlock(
            intent_obj.hass,
            runtime,
            door.door_id,
            code,
            context=intent_obj.context,
            device_id=intent_obj.device_id,
        )
        language = intent_obj.language
        if decision.granted:
            return _answer(intent_obj, say(language, "unlocked", door=door.name))
        reason = say(language, f"reason_{decision.reason}", default="reason_other")
        return _answer(intent_obj, say(language, "refused", door=door.name, reason=reason))


def find_door(intent_obj: intent.Intent) -> tuple[FaceGateRuntime, DoorConfig] | None:
    """The door named in the request, or the only door when none is named."""
    wanted = _normalise(_slot(intent_obj, SLOT_DOOR) or "")
    doors = [
        (runtime, door)
        for runtime in loaded_runtimes(intent_obj.hass)
        for door in runtime.doors.values()
    ]
    if not wanted and len(doors) == 1:
        return doors[0]
    for runtime, door in doors:
        if wanted and _normalise(door.name) in (wanted, _normalise(f"{wanted} door")):
            return runtime, door
    return None


def _no_such_door(intent_obj: intent.Intent) -> intent.IntentResponse:
    response = intent_obj.create_response()
    door = _slot(intent_obj, SLOT_DOOR) or "?"
    response.async_set_error(
        intent.IntentResponseErrorCode.NO_VALID_TARGETS,
        say(intent_obj.language, "no_door", door=door),
    )
    return response


def _slot(intent_obj: intent.Intent, name: str) -> str | None:
    slot = intent_obj.slots.get(name)
    return str(slot["value"]).strip() if slot and slot.get("value") else None


def _normalise(name: str) -> str:
    """Case, spaces and a leading "the" do not matter: "The Front  door" is "front door"."""
    words = name.casefold().split()
    return " ".join(words[1:] if words[:1] == ["the"] else words)


def _answer(intent_obj: intent.Intent, text: str) -> intent.IntentResponse:
    response = intent_obj.create_response()
    response.async_set_speech(text)
    return response
