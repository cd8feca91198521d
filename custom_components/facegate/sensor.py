"""Face sensors: who is at each door camera ("nobody", "unknown", or a resident).

A resident's name shows only where they allow it; otherwise "resident". Attributes hold counts
and times, never images or encodings.
"""

from typing import Any

from homeassistant.components.sensor import SensorEntity
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .entity import FaceGateEntity, async_add_per_subentry, door_device
from .face_watch import FaceWatch
from .runtime import DoorConfig, FaceGateConfigEntry

PARALLEL_UPDATES = 0  # pushed by the face watch, never polled


async def async_setup_entry(
    hass: HomeAssistant,
    entry: FaceGateConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add one face sensor per camera of each door."""
    runtime = entry.runtime_data

    @callback
    def add(subentry_id: str) -> None:
        if (door := runtime.doors.get(subentry_id)) is None:
            return
        sensors = [
            FaceSensor(
                door, runtime.face_watches[(door.door_id, camera_id)], _camera_name(hass, camera_id)
            )
            for camera_id in door.camera_entity_ids
        ]
        if sensors:
            async_add_entities(sensors, config_subentry_id=door.door_id)

    async_add_per_subentry(hass, entry, add)


def _camera_name(hass: HomeAssistant, camera_id: str) -> str:
    """The camera's name as people see it ("Front door camera"), else its entity id's end."""
    if (state := hass.states.get(camera_id)) is not None and state.name != camera_id:
        return state.name
    entry = er.async_get(hass).async_get(camera_id)
    if entry is not None and (name := entry.name or entry.original_name):
        return name
    return camera_id.split(".", 1)[1].replace("_", " ")


class FaceSensor(FaceGateEntity, SensorEntity):
    """Who the camera sees at the door."""

    _attr_translation_key = "face"

    def __init__(self, door: DoorConfig, watch: FaceWatch, camera_name: str) -> None:
        super().__init__(door_device(door), f"{door.door_id}_face_{watch.camera_id}")
        self._watch = watch
        self._attr_translation_placeholders = {"camera": camera_name}

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
