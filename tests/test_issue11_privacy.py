"""Issue 11, scenario 13: access events name a household only where its resident allows it."""

from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import MockUser, async_capture_events

from custom_components.facegate.gate import EVENT_ACCESS

from .conftest import setup_site, site_entry
from .test_doors import EVENT_ENTITY, PIN, add_resident, call, unlock


async def test_scenario13_access_events_withhold_the_household_of_hidden_residents(
    hass: HomeAssistant, hass_admin_user: MockUser
) -> None:
    await setup_site(hass, site_entry())
    resident = await add_resident(hass, hass_admin_user)  # show_name off: the default
    await call(hass, "set_pin", {"resident_id": resident, "pin": PIN}, hass_admin_user)
    events = async_capture_events(hass, EVENT_ACCESS)

    await unlock(hass, PIN)

    assert [(e.data["resident"], e.data["household"]) for e in events] == [("resident", None)]
    attributes = hass.states.get(EVENT_ENTITY).attributes
    assert attributes["household"] is None
    assert "Flat 1" not in str(attributes)

    # A resident who shows their name shows their household with it.
    await call(
        hass, "update_resident", {"resident_id": resident, "show_name": True}, hass_admin_user
    )
    await unlock(hass, PIN)
    assert [(e.data["resident"], e.data["household"]) for e in events][1:] == [("Alex", "Flat 1")]
    assert hass.states.get(EVENT_ENTITY).attributes["household"] == "Flat 1"
