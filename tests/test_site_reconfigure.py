"""Renaming a site from its entry's Reconfigure: the doors and residents stay."""

from homeassistant.config_entries import SOURCE_RECONFIGURE
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from pytest_homeassistant_custom_component.common import MockConfigEntry, MockUser

from custom_components.facegate.const import DOMAIN

from .conftest import setup_site, site_entry
from .test_doors import add_resident


async def _reconfigure(hass: HomeAssistant, entry: MockConfigEntry) -> str:
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_RECONFIGURE, "entry_id": entry.entry_id}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "reconfigure"
    return str(result["flow_id"])


async def test_renaming_the_site_keeps_its_residents(
    hass: HomeAssistant, hass_admin_user: MockUser
) -> None:
    entry = await setup_site(hass, site_entry())
    resident = await add_resident(hass, hass_admin_user)
    flow_id = await _reconfigure(hass, entry)

    result = await hass.config_entries.flow.async_configure(flow_id, {"name": " Building 3 "})
    await hass.async_block_till_done()

    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    assert (entry.title, entry.data["name"], entry.unique_id) == (
        "Building 3",
        "Building 3",
        "building_3",
    )
    assert entry.runtime_data.site_name == "Building 3"  # reloaded with its new name
    assert resident in entry.runtime_data.directory.residents


async def test_a_name_another_site_has_is_a_field_error(hass: HomeAssistant) -> None:
    await setup_site(
        hass,
        MockConfigEntry(domain=DOMAIN, title="Office", data={"name": "Office"}, unique_id="office"),
    )
    entry = await setup_site(hass, site_entry())
    flow_id = await _reconfigure(hass, entry)

    result = await hass.config_entries.flow.async_configure(flow_id, {"name": "office"})
    assert result["errors"] == {"name": "already_configured"}
    result = await hass.config_entries.flow.async_configure(flow_id, {"name": "!!"})
    assert result["errors"] == {"name": "invalid_name"}
    assert entry.title == "Home"

    result = await hass.config_entries.flow.async_configure(flow_id, {"name": "Home"})
    assert result["reason"] == "reconfigure_successful"  # its own name again is no clash
