"""Device triggers of a door, through real automations."""

import pytest
from homeassistant.components.device_automation import DeviceAutomationType
from homeassistant.const import ATTR_ENTITY_ID
from homeassistant.core import HomeAssistant, ServiceCall
from homeassistant.helpers import device_registry as dr
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    MockUser,
    async_get_device_automations,
    async_mock_service,
)

from custom_components.facegate.const import DOMAIN
from custom_components.facegate.device_trigger import TRIGGER_TYPES
from custom_components.facegate.face_watch import EVENT_UNKNOWN_FACE

from .conftest import FLAT_1, FRONT_DOOR, READER, setup_site, site_entry
from .test_doors import CARD, LOCK, PIN, add_resident, call, household_device

DURESS_PIN = "917253"


@pytest.fixture
async def site(hass: HomeAssistant, hass_admin_user: MockUser) -> MockConfigEntry:
    entry = await setup_site(hass, site_entry())
    resident = await add_resident(hass, hass_admin_user)
    await call(hass, "set_pin", {"resident_id": resident, "pin": PIN}, hass_admin_user)
    await call(
        hass, "set_pin", {"resident_id": resident, "pin": DURESS_PIN, "duress": True},
        hass_admin_user,
    )  # fmt: skip
    await call(hass, "enrol_card", {"resident_id": resident, "reader": READER}, hass_admin_user)
    hass.bus.async_fire("tag_scanned", {"tag_id": CARD, "device_id": READER})
    await hass.async_block_till_done()
    return entry


def door_device(hass: HomeAssistant) -> str:
    entry_id = hass.config_entries.async_entries(DOMAIN)[0].entry_id
    device = dr.async_get(hass).async_get_device_by_identifier((DOMAIN, FRONT_DOOR), entry_id)
    assert device
    return device.id


async def automations(hass: HomeAssistant, *kinds: str) -> list[ServiceCall]:
    """One automation per trigger type, each calling test.automation with its type."""
    calls = async_mock_service(hass, "test", "automation")
    device_id = door_device(hass)
    config = [
        {
            "triggers": [
                {"platform": "device", "domain": DOMAIN, "device_id": device_id, "type": kind}
            ],
            "actions": [{"action": "test.automation", "data": {"kind": kind}}],
        }
        for kind in kinds
    ]
    assert await async_setup_component(hass, "automation", {"automation": config})
    return calls


async def test_door_devices_offer_the_triggers(hass: HomeAssistant, site: MockConfigEntry) -> None:
    triggers = await async_get_device_automations(
        hass, DeviceAutomationType.TRIGGER, door_device(hass)
    )
    ours = [t["type"] for t in triggers if t["domain"] == DOMAIN]  # the lock adds its own
    assert sorted(ours) == sorted(TRIGGER_TYPES)
    household = await household_device(hass, FLAT_1)
    triggers = await async_get_device_automations(hass, DeviceAutomationType.TRIGGER, household)
    assert [t for t in triggers if t["domain"] == DOMAIN] == []  # its switches have their own


async def test_triggers_fire_for_their_way_in(hass: HomeAssistant, site: MockConfigEntry) -> None:
    calls = await automations(hass, *TRIGGER_TYPES)

    async def fired(action) -> list[str]:
        calls.clear()
        await action()
        await hass.async_block_till_done()
        return sorted(c.data["kind"] for c in calls)

    async def pin(code: str) -> None:
        await call(hass, "present_credential", {ATTR_ENTITY_ID: LOCK, "pin": code})

    async def card() -> None:
        hass.bus.async_fire("tag_scanned", {"tag_id": CARD, "device_id": READER})

    async def stranger() -> None:
        hass.bus.async_fire(EVENT_UNKNOWN_FACE, {"entity_id": LOCK, "door_id": FRONT_DOOR})

    assert await fired(lambda: pin(PIN)) == ["granted", "granted_pin"]
    assert await fired(card) == ["granted", "granted_card"]
    assert await fired(lambda: pin(DURESS_PIN)) == ["duress"]
    assert await fired(lambda: pin("000000")) == ["denied"]
    assert await fired(stranger) == ["unknown_face"]
    wrong = [await fired(lambda: pin("000000")) for _ in range(6)]
    assert ["lockout"] in wrong  # once the failures lock the door out; refusals after it deny
    assert wrong[-1] == ["denied"]


async def test_another_doors_events_do_not_fire(hass: HomeAssistant, site: MockConfigEntry) -> None:
    calls = await automations(hass, "unknown_face", "denied")
    hass.bus.async_fire(EVENT_UNKNOWN_FACE, {"door_id": "another_door"})
    hass.bus.async_fire("facegate_access", {"door_id": "another_door", "outcome": "denied"})
    await hass.async_block_till_done()
    assert calls == []
