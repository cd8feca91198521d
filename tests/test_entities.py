"""What a person sees of the entities: names, and a site that stays up while it grows."""

import json
from pathlib import Path
from typing import Any

from homeassistant.config_entries import SOURCE_USER, ConfigEntryState
from homeassistant.const import CONF_NAME, STATE_UNAVAILABLE, EntityCategory
from homeassistant.core import Event, EventStateChangedData, HomeAssistant, callback
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.event import async_track_state_change_event
from PIL import Image
from pytest_homeassistant_custom_component.common import MockUser

from custom_components.facegate import logbook
from custom_components.facegate.const import (
    CONF_CAMERA_ENTITY_IDS,
    CONF_HOUSEHOLD_IDS,
    SUBENTRY_DOOR,
    SUBENTRY_HOUSEHOLD,
)

from .conftest import FLAT_1, setup_site, site_entry
from .test_doors import LOCK, PIN, add_resident, call, unlock


async def _camera(hass: HomeAssistant, name: str, tmp_path: Path) -> str:
    photo = tmp_path / "camera.jpg"
    Image.new("RGB", (64, 48), "gray").save(photo)
    hass.config.allowlist_external_dirs.add(str(tmp_path))
    result = await hass.config_entries.flow.async_init("local_file", context={"source": "user"})
    await hass.config_entries.flow.async_configure(
        result["flow_id"], {"name": name, "file_path": str(photo)}
    )
    await hass.async_block_till_done()
    return f"camera.{name.lower().replace(' ', '_')}"


async def test_the_face_sensor_is_named_after_the_cameras_friendly_name(
    hass: HomeAssistant, tmp_path: Path
) -> None:
    camera = await _camera(hass, "Porch cam", tmp_path)
    await setup_site(hass, site_entry(door={CONF_CAMERA_ENTITY_IDS: [camera]}))

    state = hass.states.get("sensor.front_door_face_at_porch_cam")
    assert state is not None
    assert state.name == "Front door Face at Porch cam"  # not "Face at porch_cam"


async def test_mode_switches_are_configuration_entities(hass: HomeAssistant) -> None:
    await setup_site(hass, site_entry())
    entry = er.async_get(hass).async_get("switch.flat_1_pin")
    assert entry is not None
    assert entry.entity_category is EntityCategory.CONFIG


async def _add(hass: HomeAssistant, entry_id: str, kind: str, user_input: dict[str, Any]) -> None:
    flow = await hass.config_entries.subentries.async_init(
        (entry_id, kind), context={"source": SOURCE_USER}
    )
    result = await hass.config_entries.subentries.async_configure(flow["flow_id"], user_input)
    assert result["type"] == "create_entry"
    await hass.async_block_till_done()


async def test_adding_a_household_and_a_door_keeps_the_other_doors_up(
    hass: HomeAssistant, hass_admin_user: MockUser
) -> None:
    entry = await setup_site(hass, site_entry())
    resident = await add_resident(hass, hass_admin_user)
    await call(hass, "set_pin", {"resident_id": resident, "pin": PIN}, hass_admin_user)
    seen: list[str] = []

    @callback
    def _changed(event: Event[EventStateChangedData]) -> None:
        new = event.data["new_state"]
        seen.append(new.state if new else "removed")

    async_track_state_change_event(hass, [LOCK, "switch.flat_1_pin"], _changed)

    await _add(hass, entry.entry_id, SUBENTRY_HOUSEHOLD, {CONF_NAME: "Flat 3"})
    flat_3 = next(s.subentry_id for s in entry.subentries.values() if s.title == "Flat 3")
    await _add(
        hass,
        entry.entry_id,
        SUBENTRY_DOOR,
        {CONF_NAME: "Back door", CONF_HOUSEHOLD_IDS: [FLAT_1, flat_3]},
    )

    assert entry.state is ConfigEntryState.LOADED
    assert seen == []  # never unavailable, never removed: the site did not reload
    assert hass.states.get("switch.flat_3_pin") is not None
    assert hass.states.get("lock.back_door") is not None
    assert hass.states.get("event.back_door_access") is not None
    # The new door works at once, and so does the old one.
    await hass.services.async_call(
        "lock", "unlock", {"entity_id": "lock.back_door", "code": PIN}, blocking=True
    )
    assert hass.states.get("lock.back_door").state == "unlocked"
    await unlock(hass, PIN)
    assert hass.states.get(LOCK).state == "unlocked"
    assert STATE_UNAVAILABLE not in seen


def test_every_method_and_reason_the_event_shows_is_translated() -> None:
    """The event entity's attributes are shown translated, not raw ("manual", "not_live")."""
    strings = json.loads(
        (Path(logbook.__file__).parent / "strings.json").read_text(encoding="utf-8")
    )
    attributes = strings["entity"]["event"]["access"]["state_attributes"]
    assert set(logbook.METHODS) <= set(attributes["method"]["state"])
    assert set(logbook.REASONS) | {"granted", "duress", "admin", "resident", "automation"} <= set(
        attributes["reason"]["state"]
    )
