"""Unlocking by voice: only at doors that allow it, and never on a voice alone.

Anyone within earshot of a voice assistant can speak to it, so a spoken unlock needs the door's
voice unlock setting (off by default) and a second factor: a PIN said with the request, or a
consenting resident recognised by the door's camera in the last few seconds.
"""

import time
from typing import Final

from homeassistant.core import HomeAssistant
from homeassistant.helpers import chat_session

from . import gate
from .access.controller import METHOD_VOICE, Decision
from .runtime import FaceGateRuntime

RECOGNITION_WINDOW: Final = 20.0  # seconds a recognition at the door backs a spoken request


def in_conversation() -> bool:
    """Whether this call serves Assist: a spoken or typed request, or an LLM agent's tool.

    Home Assistant's conversation agents handle each request inside a chat session, and the
    actions they call (the built-in unlock intent calls lock.unlock) run within it.
    """
    return chat_session.current_session.get() is not None


async def async_voice_unlock(
    hass: HomeAssistant, runtime: FaceGateRuntime, door_id: str, code: str | None
) -> Decision:
    """Decide on a spoken unlock request, with the PIN said along with it if any."""
    if refused := await async_refuse_if_off(hass, runtime, door_id):
        return refused
    door, now = runtime.doors[door_id], time.time()
    if code:
        return await gate.async_present_pin(hass, runtime, door_id, code)
    if refused := runtime.controller.refuse_if_locked_out(door.rules, METHOD_VOICE, now):
        return await gate.async_publish(hass, runtime, refused)
    recognised = recently_recognised(runtime, door_id, now)
    return await gate.async_publish(
        hass, runtime, runtime.controller.decide_voice(door.rules, recognised, now)
    )


async def async_refuse_if_off(
    hass: HomeAssistant, runtime: FaceGateRuntime, door_id: str
) -> Decision | None:
    """Refuse (audited, published) a spoken request at a door without voice unlock."""
    door = runtime.doors[door_id]
    if refused := runtime.controller.refuse_voice(door.rules, time.time()):
        return await gate.async_publish(hass, runtime, refused)
    return None


def recently_recognised(runtime: FaceGateRuntime, door_id: str, now: float) -> str | None:
    """The resident the door's cameras agreed on within the last few seconds, if any."""
    matches = [
        watch.recent_match
        for (watch_door, _), watch in runtime.face_watches.items()
        if watch_door == door_id and watch.recent_match is not None
    ]
    resident_id, seen_at = max(matches, key=lambda match: match[1], default=(None, 0.0))
    return resident_id if now - seen_at <= RECOGNITION_WINDOW else None
