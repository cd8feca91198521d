"""One event entity per door: granted, denied, duress, lockout and unknown face.

Its attributes hold what a resident may see: the method, the reason code, and a resident's
name only where they allow it. It is disabled until a user enables it (see the class).
"""

from homeassistant.components.event import EventEntity
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.dispatcher import async_dispatcher_connect
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from . import gate
from .access.audit import Outcome
from .access.controller import Decision
from .entity import FaceGateEntity, async_add_per_subentry, door_device
from .face_watch import SIGNAL_UNKNOWN_FACE
from .runtime import DoorConfig, FaceGateConfigEntry, FaceGateRuntime

UNKNOWN_FACE_EVENT = "unknown_face"
PARALLEL_UPDATES = 0  # nothing is polled; actions run as they come


async def async_setup_entry(
    hass: HomeAssistant,
    entry: FaceGateConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add one access event entity per door."""
    runtime = entry.runtime_data

    @callback
    def add(subentry_id: str) -> None:
        if (door := runtime.doors.get(subentry_id)) is not None:
            async_add_entities([DoorAccessEvent(runtime, door)], config_subentry_id=subentry_id)

    async_add_per_subentry(hass, entry, add)


class DoorAccessEvent(FaceGateEntity, EventEntity):
    """The latest access decision at a door."""

    _attr_translation_key = "access"
    # Off until a user turns it on: Home Assistant's logbook writes a line for each state of an
    # event entity, beside the decision's own line (logbook.py, with the reason and the user),
    # so two lines per decision. Automations have the facegate_access event and device triggers.
    _attr_entity_registry_enabled_default = False

    def __init__(self, runtime: FaceGateRuntime, door: DoorConfig) -> None:
        super().__init__(door_device(door), f"{door.door_id}_access")
        self._runtime = runtime
        self._door = door
        self._attr_event_types = [outcome.value for outcome in Outcome] + [UNKNOWN_FACE_EVENT]

    async def async_added_to_hass(self) -> None:
        """Listen to the door's decisions."""
        door_id = self._door.door_id
        for signal, handler in (
            (gate.SIGNAL_DECISION, self._on_decision),
            (SIGNAL_UNKNOWN_FACE, self._on_unknown_face),
        ):
            self.async_on_remove(
                async_dispatcher_connect(self.hass, signal.format(door_id), handler)
            )

    @callback
    def _on_decision(self, decision: Decision) -> None:
        data = gate.event_data(self._runtime, decision)
        attributes = {key: data[key] for key in ("method", "reason", "resident", "household")}
        self._trigger_event(decision.outcome.value, attributes)
        self.async_write_ha_state()

    @callback
    def _on_unknown_face(self, camera_entity_id: str) -> None:
        self._trigger_event(UNKNOWN_FACE_EVENT, {"method": "face", "camera": camera_entity_id})
        self.async_write_ha_state()
