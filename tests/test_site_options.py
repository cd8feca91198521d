"""The options flow: audit retention, and residents managed from the UI."""

import pytest
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType, InvalidData
from pytest_homeassistant_custom_component.common import MockConfigEntry, MockUser

from custom_components.facegate.access.credentials import verify_pin
from custom_components.facegate.const import CONF_AUDIT_RETENTION_DAYS

from .conftest import FLAT_1, FLAT_2, setup_site, site_entry


async def _open(hass: HomeAssistant, entry: MockConfigEntry, step: str) -> str:
    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert result["type"] is FlowResultType.MENU
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"next_step_id": step}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == step
    return str(result["flow_id"])


async def test_audit_retention_is_set_and_applied(hass: HomeAssistant) -> None:
    entry = await setup_site(hass, site_entry())
    flow_id = await _open(hass, entry, "settings")

    result = await hass.config_entries.options.async_configure(
        flow_id, {CONF_AUDIT_RETENTION_DAYS: 7}
    )
    await hass.async_block_till_done()

    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert entry.options[CONF_AUDIT_RETENTION_DAYS] == 7
    assert entry.runtime_data.audit.retention == 7 * 86400  # the site reloaded with it


async def test_add_change_and_remove_a_resident(
    hass: HomeAssistant, hass_admin_user: MockUser
) -> None:
    entry = await setup_site(hass, site_entry())
    directory = entry.runtime_data.directory

    flow_id = await _open(hass, entry, "add_resident")
    result = await hass.config_entries.options.async_configure(
        flow_id, {"household": FLAT_2, "name": " Mei ", "show_name": True}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "resident_added"
    (resident,) = directory.residents.values()
    assert (resident.name, resident.household_id, resident.show_name) == ("Mei", FLAT_2, True)

    flow_id = await _open(hass, entry, "edit_resident")
    result = await hass.config_entries.options.async_configure(
        flow_id, {"resident": resident.resident_id}
    )
    assert result["step_id"] == "resident"
    result = await hass.config_entries.options.async_configure(
        result["flow_id"],
        {"name": "Mei Lin", "show_name": False, "user": hass_admin_user.id, "pin": "480315"},
    )
    assert result["reason"] == "resident_updated"
    assert (resident.name, resident.show_name, resident.user_id) == (
        "Mei Lin",
        False,
        hass_admin_user.id,
    )
    assert resident.pin is not None
    assert await hass.async_add_executor_job(verify_pin, "480315", resident.pin)

    flow_id = await _open(hass, entry, "remove_resident")
    result = await hass.config_entries.options.async_configure(
        flow_id, {"resident": resident.resident_id, "confirm": False}
    )
    assert result["errors"] == {"confirm": "confirm_needed"}
    assert resident.resident_id in directory.residents
    result = await hass.config_entries.options.async_configure(
        flow_id, {"resident": resident.resident_id, "confirm": True}
    )
    assert result["reason"] == "resident_removed"
    assert directory.residents == {}


async def test_bad_input_is_refused_and_nothing_changes(hass: HomeAssistant) -> None:
    entry = await setup_site(hass, site_entry())
    directory = entry.runtime_data.directory

    flow_id = await _open(hass, entry, "add_resident")
    result = await hass.config_entries.options.async_configure(
        flow_id, {"household": FLAT_1, "name": "!!", "show_name": False}
    )
    assert result["errors"] == {"base": "invalid_name"}
    with pytest.raises(InvalidData):  # only existing users are offered
        await hass.config_entries.options.async_configure(
            flow_id, {"household": FLAT_1, "name": "Alex", "user": "no-such-user"}
        )
    assert directory.residents == {}

    result = await hass.config_entries.options.async_configure(
        flow_id, {"household": FLAT_1, "name": "Alex"}
    )
    (resident,) = directory.residents.values()
    flow_id = await _open(hass, entry, "edit_resident")
    result = await hass.config_entries.options.async_configure(
        flow_id, {"resident": resident.resident_id}
    )
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"name": "Renamed", "show_name": True, "pin": "1234"}
    )
    assert result["errors"] == {"base": "pin_weak"}
    assert (resident.name, resident.show_name, resident.pin) == ("Alex", False, None)


async def test_no_household_yet(hass: HomeAssistant) -> None:
    entry = MockConfigEntry(domain="facegate", title="Home", data={"name": "Home"})
    await setup_site(hass, entry)
    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert result["menu_options"] == ["settings", "add_resident"]
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"next_step_id": "add_resident"}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "no_households"


async def test_a_resident_added_with_a_pin_opens_and_a_weak_pin_adds_nobody(
    hass: HomeAssistant,
) -> None:
    entry = await setup_site(hass, site_entry())
    directory = entry.runtime_data.directory

    flow_id = await _open(hass, entry, "add_resident")
    result = await hass.config_entries.options.async_configure(
        flow_id, {"household": FLAT_1, "name": "Mei", "pin": "1234"}
    )
    assert result["errors"] == {"pin": "pin_weak"}
    assert directory.residents == {}  # a refused PIN adds nobody half-way

    result = await hass.config_entries.options.async_configure(
        flow_id, {"household": FLAT_1, "name": "Mei", "pin": "480315"}
    )
    assert result["reason"] == "resident_added"
    assert result["description_placeholders"] == {"name": "Mei"}
    (resident,) = directory.residents.values()
    assert resident.pin is not None
    assert await hass.async_add_executor_job(verify_pin, "480315", resident.pin)


async def test_the_user_picker_offers_nobody_and_choosing_it_unlinks(
    hass: HomeAssistant, hass_admin_user: MockUser
) -> None:
    entry = await setup_site(hass, site_entry())
    directory = entry.runtime_data.directory
    flow_id = await _open(hass, entry, "add_resident")
    result = await hass.config_entries.options.async_configure(
        flow_id, {"household": FLAT_1, "name": "Mei", "user": hass_admin_user.id}
    )
    (resident,) = directory.residents.values()
    assert resident.user_id == hass_admin_user.id

    flow_id = await _open(hass, entry, "edit_resident")
    result = await hass.config_entries.options.async_configure(
        flow_id, {"resident": resident.resident_id}
    )
    user_field = next(k for k in result["data_schema"].schema if str(k) == "user")
    options = result["data_schema"].schema[user_field].config["options"]
    assert options[0]["value"] == "none"
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"name": "Mei", "show_name": False, "user": "none"}
    )
    assert result["reason"] == "resident_updated"
    assert resident.user_id is None


async def test_the_residents_overview_shows_who_has_what_but_no_secret(
    hass: HomeAssistant,
) -> None:
    entry = await setup_site(hass, site_entry())
    for name, pin in (("Mei", "480315"), ("Alex", None)):
        flow_id = await _open(hass, entry, "add_resident")
        await hass.config_entries.options.async_configure(
            flow_id, {"household": FLAT_2, "name": name, **({"pin": pin} if pin else {})}
        )

    flow_id = await _open(hass, entry, "residents")
    result = await hass.config_entries.options.async_configure(flow_id, None)
    rows = result["description_placeholders"]["residents"].splitlines()

    assert rows == ["| Alex | Flat 2 | ✗ | 0 | ✗ | ✗ | ✗ |", "| Mei | Flat 2 | ✓ | 0 | ✗ | ✗ | ✗ |"]
    assert "480315" not in str(result)
