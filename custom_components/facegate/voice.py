"""Unlocking by voice: only at doors that allow it, and never on a voice alone.

Anyone within earshot of a voice assistant can speak to it, so a spoken unlock needs the door's
voice unlock setting (off by default) and a second factor: a PIN said with the request, or a
face recognition at that door's camera that can stand for the speaker. A recognition backs a
spoken request only when all of these hold (else the request needs the PIN):

* it passed liveness (a photo held to the camera is recognised, but is never live);
* it is at most `RECOGNITION_WINDOW` seconds old, and it has not backed a request before;
* the request comes from that resident's own linked Home Assistant user, or from a voice
  satellite (an Assist device) in the door's area: someone speaking at the door itself. A
  satellite's requests carry no user; a request by a user that names a device (any user may,
  in conversation/process) is that user's.
"""

import time
from dataclasses import dataclass
from typing import Final

from homeassistant.components.conversation.chat_log import current_chat_log
from homeassistant.core import Context, HomeAssistant
from homeassistant.helpers import chat_session
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er

from . import gate
from .access.controller import METHOD_VOICE, Decision
from .runtime import FaceGateRuntime

RECOGNITION_WINDOW: Final = 10.0  # seconds a live recognition at the door backs a request


@dataclass(frozen=True, slots=True)
class Requester:
    """Who asks: the Home Assistant user and the Assist device (satellite), where known."""

    user_id: str | None = None
    device_id: str | None = None


def in_conversation() -> bool:
    """Whether this call serves Assist: a spoken or typed request, or an LLM agent's tool.

    Home Assistant's conversation agents handle each request inside a chat session, and the
    actions they call (the built-in unlock intent calls lock.unlock) run within it.
    """
    return chat_session.current_session.get() is not None


def requester(user_id: str | None = None, device_id: str | None = None) -> Requester:
    """The requester as the caller knows it, completed from an LLM agent's context if any."""
    chat_log = current_chat_log.get()
    if chat_log is not None and chat_log.llm_api is not None:
        context = chat_log.llm_api.llm_context
        user_id = user_id or (context.context.user_id if context.context else None)
        device_id = device_id or context.device_id
    return Requester(user_id, device_id)


async def async_voice_unlock(
    hass: HomeAssistant,
    runtime: FaceGateRuntime,
    door_id: str,
    code: str | None,
    *,
    context: Context | None = None,
    device_id: str | None = None,
) -> Decision:
    """Decide on a spoken unlock request, with the PIN said along with it if any.

    The decision carries the caller's context (its user is the requester): what it sets off
    is decided as the caller.
    """
    if code:
        if refused := await async_refuse_if_off(hass, runtime, door_id, context):
            return refused
        return await gate.async_present_pin(hass, runtime, door_id, code, context)
    user_id = context.user_id if context else None
    decision = decide_without_code(hass, runtime, door_id, requester(user_id, device_id))
    return await gate.async_publish(hass, runtime, decision, context)


def decide_without_code(
    hass: HomeAssistant, runtime: FaceGateRuntime, door_id: str, who: Requester
) -> Decision:
    """The decision on a spoken request without a PIN, made at once: nothing is awaited.

    Home Assistant's own unlock intent waits only 0.2 s for the lock and then answers
    "unlocked" while the call goes on; a refusal that came later would go unheard.
    """
    door, now = runtime.doors[door_id], time.time()
    if refused := runtime.controller.refuse_voice(door.rules, now):
        return refused
    if refused := runtime.controller.refuse_if_locked_out(door.rules, METHOD_VOICE, now):
        return refused
    recognised = take_recognition(hass, runtime, door_id, who, now)
    return runtime.controller.decide_voice(door.rules, recognised, now)


async def async_refuse_if_off(
    hass: HomeAssistant, runtime: FaceGateRuntime, door_id: str, context: Context | None = None
) -> Decision | None:
    """Refuse (audited, published) a spoken request at a door without voice unlock."""
    door = runtime.doors[door_id]
    if refused := runtime.controller.refuse_voice(door.rules, time.time()):
        return await gate.async_publish(hass, runtime, refused, context)
    return None


def take_recognition(
    hass: HomeAssistant, runtime: FaceGateRuntime, door_id: str, who: Requester, now: float
) -> str | None:
    """The resident whose live recognition at this door backs this request, used up; or None."""
    watches = [
        watch
        for (watch_door, _), watch in runtime.face_watches.items()
        if watch_door == door_id and watch.recent_match is not None
    ]
    watch = max(watches, key=lambda w: w.recent_match[1] if w.recent_match else 0.0, default=None)
    if watch is None or watch.recent_match is None:
        return None
    resident_id, seen_at = watch.recent_match
    if now - seen_at > RECOGNITION_WINDOW:
        return None
    resident = runtime.directory.residents.get(resident_id)
    own_user = resident is not None and who.user_id is not None and resident.user_id == who.user_id
    # Any user may name any device in conversation/process: a satellite's own requests carry
    # no user, so a request made by a user is theirs, wherever it claims to come from.
    at_door = who.user_id is None and _satellite_at_door(hass, runtime, door_id, who.device_id)
    if not (own_user or at_door):
        return None
    watch.recent_match = None  # used once
    return resident_id


def _satellite_at_door(
    hass: HomeAssistant, runtime: FaceGateRuntime, door_id: str, device_id: str | None
) -> bool:
    """Whether the request came from an Assist device in the door's area (its lock's area)."""
    if device_id is None or (lock_id := runtime.lock_entity_ids.get(door_id)) is None:
        return False
    devices = dr.async_get(hass)
    satellite = devices.async_get(device_id)
    lock = er.async_get(hass).async_get(lock_id)
    if satellite is None or lock is None:
        return False
    door_device = devices.async_get(lock.device_id) if lock.device_id else None
    door_area = lock.area_id or (door_device.area_id if door_device else None)
    return door_area is not None and satellite.area_id == door_area
