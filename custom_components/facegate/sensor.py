"""Face sensors: who is at each door camera ("nobody", "unknown", or a resident).

A resident's name shows only where they allow it; otherwise "resident". Attributes hold counts
and times, never images or encodings.
"""

from typing import Any

from homeassistant.components.sensor import SensorEntity
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .face_watch import FaceWatch
from .lock import door_device
from .runtime import DoorConfig, FaceGateConfigEntry

PARALLEL_UPDATES = 0  # pushed by the face watch, never polled


async def async_setup_entry(
    hass: HomeAssistant,
    entry: FaceGateConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add one face sensor per camera of each door."""
    runtime = entry.runtime_data
    for door in runtime.doors.values():
        sensors = [
            FaceSensor(door, runtime.face_watches[(door.door_id, camera_id)])
            for camera_id in door.camera_entity_ids
        ]
        if sensors:
            async_add_entities(sensors, config_subentry_id=door.door_id)


class FaceSensor(SensorEntity):
    """Who the camera sees at the door."""

    _attr_has_entity_name = True
    _attr_should_poll = False
    _attr_translation_key = "face"

    def __init__(self, door: DoorConfig, watch: FaceWatch) -> None:
        self._watch = watch
        self._attr_unique_id = f"{door.door_id}_face_{watch.camera_id}"
        self._attr_device_info = door_device(door)
        self._attr_translation_placeholders = {"camera": watch.camera_id.split(".", 1)[1]}

    async def async_added_to_hass(self) -> None:
        """Follow the watch."""
        self.async_on_remove(self._watch.async_add_listener(self.async_write_ha_state))

    @property
    def native_value(self) -> str:
        """The resident's label, "unknown" or "nobody"."""
        return self._watch.state

    @property
    def extra_state_attributes(self) -> dict[str, Any]:
        """Number of faces and when one was last seen."""
        return self._watch.attributes
