"""The site config flow, with a real hass and a real setup of the created entry."""

from homeassistant.config_entries import SOURCE_USER, ConfigEntryState
from homeassistant.const import CONF_NAME
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.facegate.const import DOMAIN


async def _start(hass: HomeAssistant) -> str:
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "user"
    assert result["errors"] == {}
    return result["flow_id"]


async def test_user_flow_creates_a_loaded_site(hass: HomeAssistant) -> None:
    flow_id = await _start(hass)
    result = await hass.config_entries.flow.async_configure(flow_id, {CONF_NAME: "  Building 3 "})
    await hass.async_block_till_done()

    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "Building 3"
    assert result["data"] == {CONF_NAME: "Building 3"}
    entry = result["result"]
    assert entry.unique_id == "building_3"
    assert entry.state is ConfigEntryState.LOADED
    assert entry.runtime_data.site_name == "Building 3"


async def test_same_site_twice_aborts(hass: HomeAssistant) -> None:
    MockConfigEntry(
        domain=DOMAIN, title="Home", data={CONF_NAME: "Home"}, unique_id="home"
    ).add_to_hass(hass)
    flow_id = await _start(hass)
    # A different spelling of the same name is the same site.
    result = await hass.config_entries.flow.async_configure(flow_id, {CONF_NAME: "HOME"})

    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"
    assert len(hass.config_entries.async_entries(DOMAIN)) == 1


async def test_name_without_letters_is_refused_then_corrected(hass: HomeAssistant) -> None:
    flow_id = await _start(hass)
    result = await hass.config_entries.flow.async_configure(flow_id, {CONF_NAME: " !? "})

    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {CONF_NAME: "invalid_name"}
    assert hass.config_entries.async_entries(DOMAIN) == []

    result = await hass.config_entries.flow.async_configure(flow_id, {CONF_NAME: "Home"})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "Home"
