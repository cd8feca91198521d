"""Issue 11, scenario 6: the door's target unlocked directly, outside FaceGate.

The target is a real template switch over an input_boolean (a relay that moves the bolt); the
users are real Home Assistant users. FaceGate must notice every unlock it did not make, say who
made it, fire its event and device trigger, relock, and tell the admin to hide the target.
"""

from datetime import timedelta
from typing import Any

import pytest
from homeassistant.auth.models import User
from homeassistant.components.lock.const import LockState
from homeassistant.const import ATTR_ENTITY_ID
from homeassistant.core import Context, HomeAssistant
from homeassistant.helpers import issue_registry as ir
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    MockUser,
    async_capture_events,
    async_fire_time_changed,
    async_mock_service,
)

from custom_components.facegate.const import CONF_RELOCK_AFTER_BYPASS, DOMAIN
from custom_components.facegate.gate import EVENT_ACCESS
from custom_components.facegate.logbook import describe_decision

from .conftest import FRONT_DOOR, setup_site, site_entry
from .test_device_triggers import door_device
from .test_doors import EVENT_ENTITY, LOCK, add_resident, unlock

STRIKE = "input_boolean.strike"
TARGET = "switch.strike"
ISSUE = f"target_bypassed_{FRONT_DOOR}"


async def strike_switch(hass: HomeAssistant) -> None:
    """A switch that moves the bolt, as a relay integration would offer it."""
    assert await async_setup_component(hass, "input_boolean", {"input_boolean": {"strike": {}}})
    strike = {ATTR_ENTITY_ID: STRIKE}
    switch = {
        "name": "strike",
        "state": f"{{{{ is_state('{STRIKE}', 'on') }}}}",
        "turn_on": {"action": "input_boolean.turn_on", "target": strike},
        "turn_off": {"action": "input_boolean.turn_off", "target": strike},
    }
    assert await async_setup_component(hass, "template", {"template": [{"switch": [switch]}]})
    await hass.async_block_till_done()


async def side_door(hass: HomeAssistant, **door: Any) -> MockConfigEntry:
    await strike_switch(hass)
    return await setup_site(hass, site_entry(door={"target_entity_id": TARGET, **door}))


async def household_user(hass: HomeAssistant) -> User:
    """An ordinary (non-admin) Home Assistant user: allowed to switch any entity."""
    return await hass.auth.async_create_user("Pat", group_ids=["system-users"])


async def switch_target(hass: HomeAssistant, service: str, user: User | None) -> None:
    await hass.services.async_call(
        "switch",
        service,
        {ATTR_ENTITY_ID: TARGET},
        blocking=True,
        context=Context(user_id=user.id if user else None),
    )
    await hass.async_block_till_done()


async def test_scenario6_target_switched_directly_is_audited_announced_and_relocked(
    hass: HomeAssistant, hass_admin_user: MockUser
) -> None:
    entry = await side_door(hass)
    pat = await household_user(hass)
    resident = await add_resident(hass, hass_admin_user, user_id=pat.id)
    calls = async_mock_service(hass, "test", "automation")
    trigger = {"platform": "device", "domain": DOMAIN, "device_id": door_device(hass)}
    assert await async_setup_component(
        hass,
        "automation",
        {
            "automation": [
                {
                    "triggers": [{**trigger, "type": "bypassed"}],
                    "actions": [{"action": "test.automation"}],
                }
            ]
        },
    )
    events = async_capture_events(hass, EVENT_ACCESS)

    await switch_target(hass, "turn_on", pat)

    assert hass.states.get(STRIKE).state == "on"
    assert hass.states.get(LOCK).state == LockState.UNLOCKED
    [event] = events
    assert event.data["outcome"] == "bypassed"
    assert event.data["method"] == "outside"
    assert event.context.user_id == pat.id  # the logbook names the user
    assert hass.states.get(EVENT_ENTITY).attributes["event_type"] == "bypassed"
    assert len(calls) == 1
    [record] = entry.runtime_data.audit.records[-1:]
    assert (record.outcome, record.user_id, record.resident_id) == ("bypassed", pat.id, resident)
    issue = ir.async_get(hass).async_get_issue(DOMAIN, ISSUE)
    assert issue is not None
    assert issue.translation_placeholders == {"door": "Front door", "target": TARGET}
    assert describe_decision(event.data) == (
        "unlocked outside FaceGate, at the lock or switch itself"
    )

    # FaceGate locks it again after the door's delay, and its own relock is no bypass.
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=6))
    await hass.async_block_till_done()
    assert hass.states.get(STRIKE).state == "off"
    assert hass.states.get(LOCK).state == LockState.LOCKED
    assert [e.data["outcome"] for e in events] == ["bypassed"]


async def test_scenario6_an_automation_switching_the_target_is_a_bypass_too(
    hass: HomeAssistant,
) -> None:
    entry = await side_door(hass)
    events = async_capture_events(hass, EVENT_ACCESS)

    await switch_target(hass, "turn_on", None)

    assert [e.data["outcome"] for e in events] == ["bypassed"]
    assert entry.runtime_data.audit.records[-1].user_id is None


async def test_scenario6_facegates_own_unlock_and_relock_are_no_bypass(
    hass: HomeAssistant, hass_admin_user: MockUser
) -> None:
    await side_door(hass)
    events = async_capture_events(hass, EVENT_ACCESS)

    await unlock(hass, None, hass_admin_user)
    await hass.async_block_till_done()
    assert hass.states.get(STRIKE).state == "on"
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=6))
    await hass.async_block_till_done()

    assert hass.states.get(STRIKE).state == "off"
    assert [e.data["outcome"] for e in events] == ["granted"]
    assert ir.async_get(hass).async_get_issue(DOMAIN, ISSUE) is None


async def test_scenario6_locking_the_target_directly_is_no_bypass(hass: HomeAssistant) -> None:
    await side_door(hass)
    pat = await household_user(hass)
    await hass.services.async_call(
        "input_boolean", "turn_on", {ATTR_ENTITY_ID: STRIKE}, blocking=True
    )
    await hass.async_block_till_done()
    events = async_capture_events(hass, EVENT_ACCESS)

    await switch_target(hass, "turn_off", pat)

    assert events == []


@pytest.mark.parametrize(("relock", "after"), [(False, "on"), (True, "off")])
async def test_scenario6_the_door_may_leave_a_bypass_open(
    hass: HomeAssistant, relock: bool, after: str
) -> None:
    await side_door(hass, **{CONF_RELOCK_AFTER_BYPASS: relock})

    await switch_target(hass, "turn_on", None)
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=6))
    await hass.async_block_till_done()

    assert hass.states.get(STRIKE).state == after
