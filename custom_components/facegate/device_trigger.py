"""Device triggers on a door: "access granted by card", "unknown face at the door", ...

They listen to FaceGate's own bus events (facegate_access, facegate_unknown_face) for the door
the device stands for. A two-mode grant ("pin+card") counts for each of its ways in.
"""

from collections.abc import Callable, Mapping
from typing import Any, Final

import probatio
from homeassistant.components.device_automation import DEVICE_TRIGGER_BASE_SCHEMA
from homeassistant.const import CONF_DEVICE_ID, CONF_DOMAIN, CONF_PLATFORM, CONF_TYPE
from homeassistant.core import CALLBACK_TYPE, Event, EventOrigin, HassJob, HomeAssistant, callback
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers.trigger import TriggerActionType, TriggerInfo
from homeassistant.helpers.typing import ConfigType

from .const import DOMAIN
from .face_watch import EVENT_UNKNOWN_FACE
from .gate import EVENT_ACCESS
from .runtime import loaded_runtimes

UNKNOWN_FACE: Final = "unknown_face"
# type -> (outcome, way in); None: any way in
ACCESS_TRIGGERS: Final = {
    "granted": ("granted", None),
    "granted_card": ("granted", "card"),
    "granted_pin": ("granted", "pin"),
    "granted_face": ("granted", "face"),
    "denied": ("denied", None),
    "lockout": ("lockout", None),
    "duress": ("duress", None),
    "bypassed": ("bypassed", None),  # the target unlocked outside FaceGate
}
TRIGGER_TYPES: Final = (*ACCESS_TRIGGERS, UNKNOWN_FACE)
TRIGGER_SCHEMA = DEVICE_TRIGGER_BASE_SCHEMA.extend(
    {probatio.Required(CONF_TYPE): probatio.In(TRIGGER_TYPES)}
)


async def async_get_triggers(hass: HomeAssistant, device_id: str) -> list[dict[str, str]]:
    """Every trigger of a door device; none for a household device."""
    if _door_id(hass, device_id) is None:
        return []
    return [
        {CONF_PLATFORM: "device", CONF_DOMAIN: DOMAIN, CONF_DEVICE_ID: device_id, CONF_TYPE: kind}
        for kind in TRIGGER_TYPES
    ]


async def async_attach_trigger(
    hass: HomeAssistant,
    config: ConfigType,
    action: TriggerActionType,
    trigger_info: TriggerInfo,
) -> CALLBACK_TYPE:
    """Run the automation when the door's event matches."""
    kind: str = config[CONF_TYPE]
    door_id = _door_id(hass, config[CONF_DEVICE_ID])
    job = HassJob(action, f"facegate device trigger {kind}")
    matches = _matcher(kind)

    @callback
    def event_filter(data: Mapping[str, Any]) -> bool:
        return data.get("door_id") == door_id and matches(data)

    @callback
    def fire(event: Event) -> None:
        if event.origin is not EventOrigin.local:
            return  # fired by a user (a phone's fire_event webhook), not by FaceGate
        trigger = {
            **trigger_info["trigger_data"],
            CONF_PLATFORM: "device",
            CONF_DOMAIN: DOMAIN,
            CONF_DEVICE_ID: config[CONF_DEVICE_ID],
            CONF_TYPE: kind,
            "event": event,
            "description": f"FaceGate {kind.replace('_', ' ')}",
        }
        hass.async_run_hass_job(job, {"trigger": trigger}, event.context)

    event_type = EVENT_UNKNOWN_FACE if kind == UNKNOWN_FACE else EVENT_ACCESS
    return hass.bus.async_listen(event_type, fire, event_filter=event_filter)


def _matcher(kind: str) -> Callable[[Mapping[str, Any]], bool]:
    if kind == UNKNOWN_FACE:
        return lambda _data: True
    outcome, way_in = ACCESS_TRIGGERS[kind]
    return lambda data: (
        data.get("outcome") == outcome
        and (way_in is None or way_in in str(data.get("method")).split("+"))
    )


def _door_id(hass: HomeAssistant, device_id: str) -> str | None:
    """The door a device stands for, if it is a door of a loaded site."""
    device = dr.async_get(hass).async_get(device_id)
    for identifier_domain, door_id in device.identifiers if device else ():
        for runtime in loaded_runtimes(hass):
            if identifier_domain == DOMAIN and door_id in runtime.doors:
                return door_id
    return None
