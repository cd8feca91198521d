"""What FaceGate's entities share: naming by translation, pushed state, and their devices.

A door's lock, event and face sensors sit on the door's device; a household's mode switches on
the household's device.
"""

from collections.abc import Callable

from homeassistant.core import HomeAssistant
from homeassistant.helpers.device_registry import DeviceInfo
from homeassistant.helpers.dispatcher import async_dispatcher_connect
from homeassistant.helpers.entity import Entity

from .const import DOMAIN
from .runtime import DoorConfig, FaceGateConfigEntry

# Sent with a subentry id when a door or household is added to a loaded site (integration.py).
SIGNAL_SUBENTRY_ADDED = "facegate_subentry_added_{}"  # format with the entry id


def async_add_per_subentry(
    hass: HomeAssistant, entry: FaceGateConfigEntry, add: Callable[[str], None]
) -> None:
    """Call add for each door and household now, and for each one added later (no reload)."""
    for subentry_id in entry.subentries:
        add(subentry_id)
    entry.async_on_unload(
        async_dispatcher_connect(hass, SIGNAL_SUBENTRY_ADDED.format(entry.entry_id), add)
    )


def door_device(door: DoorConfig) -> DeviceInfo:
    """The device that groups a door's entities."""
    return DeviceInfo(
        identifiers={(DOMAIN, door.door_id)}, name=door.name, manufacturer="FaceGate", model="Door"
    )


def household_device(household_id: str, name: str) -> DeviceInfo:
    """The device that groups a household's entities."""
    return DeviceInfo(
        identifiers={(DOMAIN, household_id)}, name=name, manufacturer="FaceGate", model="Household"
    )


class FaceGateEntity(Entity):
    """A FaceGate entity: named by its translation key on its device, never polled."""

    _attr_has_entity_name = True
    _attr_should_poll = False

    def __init__(self, device: DeviceInfo, unique_id: str) -> None:
        self._attr_device_info = device
        self._attr_unique_id = unique_id
