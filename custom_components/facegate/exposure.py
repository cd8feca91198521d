"""A repair issue when a door is exposed to an assistant or a bridge.

HomeKit Bridge unlocks with no user at all, and voice assistants obey whoever speaks: a door's
lock, and above all the lock or switch that moves its bolt (which FaceGate does not guard),
should not be exposed to them. Detected here: Assist, and Alexa and Google Assistant through
Home Assistant Cloud (the settings of Settings > Voice assistants > Expose), and HomeKit Bridge
entries (their entity filter, applied as HomeKit applies it). Not detected: Alexa or Google
Assistant set up in YAML (`alexa:`, `google_assistant:`) and other bridges (Matter, emulated_hue).
"""

from typing import Any, Final

from homeassistant.components.homeassistant.const import DATA_EXPOSED_ENTITIES
from homeassistant.components.homeassistant.exposed_entities import (
    async_listen_entity_updates,
    async_should_expose,
)
from homeassistant.config_entries import SIGNAL_CONFIG_ENTRY_CHANGED, ConfigEntry
from homeassistant.core import CALLBACK_TYPE, Event, HomeAssistant, callback
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.dispatcher import async_dispatcher_connect
from homeassistant.helpers.entityfilter import FILTER_SCHEMA, EntityFilter

from .const import DOMAIN
from .runtime import DoorConfig

ASSISTANTS: Final = {
    "conversation": "Assist",
    "cloud.alexa": "Alexa",
    "cloud.google_assistant": "Google Assistant",
}
HOMEKIT: Final = "homekit"


@callback
def async_watch(hass: HomeAssistant, door: DoorConfig, lock_entity_id: str) -> CALLBACK_TYPE:
    """Keep the door's exposure issue up to date; returns the stop callback."""
    entity_ids = {lock_entity_id, *filter(None, [door.target_entity_id])}
    issue_id = f"exposed_{door.door_id}"

    @callback
    def _check(*_: Any) -> None:
        found = {entity_id: exposed_to(hass, entity_id) for entity_id in sorted(entity_ids)}
        exposed = {entity_id: names for entity_id, names in found.items() if names}
        if not exposed:
            ir.async_delete_issue(hass, DOMAIN, issue_id)
            return
        assistants = dict.fromkeys(name for names in exposed.values() for name in names)
        ir.async_create_issue(
            hass,
            DOMAIN,
            issue_id,
            is_fixable=False,
            severity=ir.IssueSeverity.WARNING,
            translation_key="exposed_to_assistants",
            translation_placeholders={
                "door": door.name,
                "entities": ", ".join(exposed),
                "assistants": ", ".join(assistants),
            },
        )

    @callback
    def _entity_changed(event: Event[er.EventEntityRegistryUpdatedData]) -> None:
        if event.data["entity_id"] in entity_ids:
            _check()

    @callback
    def _entry_changed(_change: Any, entry: ConfigEntry[Any]) -> None:
        if entry.domain == HOMEKIT:
            _check()

    stops = [
        hass.bus.async_listen(er.EVENT_ENTITY_REGISTRY_UPDATED, _entity_changed),
        async_dispatcher_connect(hass, SIGNAL_CONFIG_ENTRY_CHANGED, _entry_changed),
    ]
    if DATA_EXPOSED_ENTITIES in hass.data:
        # Entities without a registry entry keep their settings there, not in the registry.
        stops += [async_listen_entity_updates(hass, name, _check) for name in ASSISTANTS]
    _check()

    @callback
    def _stop() -> None:
        for stop in stops:
            stop()
        ir.async_delete_issue(hass, DOMAIN, issue_id)  # the door is gone (or reloads)

    return _stop


@callback
def exposed_to(hass: HomeAssistant, entity_id: str) -> list[str]:
    """The assistants and bridges (by name) that an entity is exposed to."""
    names = []
    if DATA_EXPOSED_ENTITIES in hass.data:  # Home Assistant keeps the voice settings there
        names += [
            name
            for assistant, name in ASSISTANTS.items()
            if async_should_expose(hass, assistant, entity_id)
        ]
    for entry in hass.config_entries.async_entries(HOMEKIT):
        if entry.disabled_by is None and _homekit_includes(hass, entry, entity_id):
            names.append(entry.title or "HomeKit Bridge")
    return names


def _homekit_includes(hass: HomeAssistant, entry: ConfigEntry[Any], entity_id: str) -> bool:
    """Whether a HomeKit Bridge entry's filter takes the entity (an empty filter takes all)."""
    entity_filter: EntityFilter = FILTER_SCHEMA(entry.options.get("filter", {}))
    if not entity_filter(entity_id):
        return False
    # Like HomeKit: hidden and configuration entities only when named explicitly.
    registry_entry = er.async_get(hass).async_get(entity_id)
    if registry_entry and (registry_entry.entity_category or registry_entry.hidden_by):
        return entity_filter.explicitly_included(entity_id)
    return True
