"""Issue 11, scenario 11: the site's files are private, and lost keys keep the site shut."""

import stat
from pathlib import Path

from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir
from pytest_homeassistant_custom_component.common import MockUser

from custom_components.facegate.const import DOMAIN

from .conftest import setup_site, site_entry
from .test_doors import PIN, add_resident, call


def storage(hass: HomeAssistant, key: str) -> Path:
    return Path(hass.config.path(".storage", key))


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


async def test_scenario11_store_file_is_private(
    hass: HomeAssistant, hass_admin_user: MockUser
) -> None:
    entry = await setup_site(hass, site_entry())
    resident = await add_resident(hass, hass_admin_user)
    await call(hass, "set_pin", {"resident_id": resident, "pin": PIN}, hass_admin_user)

    site_file = storage(hass, f"{DOMAIN}.{entry.entry_id}")
    assert await hass.async_add_executor_job(mode, site_file) == 0o600
    secrets = storage(hass, f"{DOMAIN}.{entry.entry_id}.secrets")
    assert await hass.async_add_executor_job(mode, secrets) == 0o600


async def test_scenario11_missing_secrets_keep_a_site_with_residents_shut(
    hass: HomeAssistant, hass_admin_user: MockUser
) -> None:
    entry = await setup_site(hass, site_entry())
    resident = await add_resident(hass, hass_admin_user)
    await call(hass, "set_pin", {"resident_id": resident, "pin": PIN}, hass_admin_user)
    assert await hass.config_entries.async_unload(entry.entry_id)
    secrets = storage(hass, f"{DOMAIN}.{entry.entry_id}.secrets")
    kept = await hass.async_add_executor_job(secrets.read_bytes)
    await hass.async_add_executor_job(secrets.unlink)

    assert not await hass.config_entries.async_setup(entry.entry_id)

    assert entry.state is ConfigEntryState.SETUP_ERROR
    assert not await hass.async_add_executor_job(secrets.exists)  # no new key was made
    issue = ir.async_get(hass).async_get_issue(DOMAIN, f"secrets_corrupt_{entry.entry_id}")
    assert issue is not None
    assert issue.translation_key == "secrets_missing"
    assert issue.translation_placeholders == {"secrets_path": str(secrets)}

    # Restoring the file from a backup brings the site back, and clears the issue.
    await hass.async_add_executor_job(secrets.write_bytes, kept)
    assert await hass.config_entries.async_reload(entry.entry_id)
    assert entry.state is ConfigEntryState.LOADED
    assert not ir.async_get(hass).async_get_issue(DOMAIN, f"secrets_corrupt_{entry.entry_id}")


async def test_scenario11_missing_secrets_with_face_templates_keep_the_site_shut(
    hass: HomeAssistant,
) -> None:
    entry = await setup_site(hass, site_entry())
    assert await hass.config_entries.async_unload(entry.entry_id)
    faces = storage(hass, f"{DOMAIN}.{entry.entry_id}.faces")
    await hass.async_add_executor_job(faces.write_text, '{"version": 1, "data": {}}')
    secrets = storage(hass, f"{DOMAIN}.{entry.entry_id}.secrets")
    await hass.async_add_executor_job(secrets.unlink)

    assert not await hass.config_entries.async_setup(entry.entry_id)
    assert entry.state is ConfigEntryState.SETUP_ERROR


async def test_scenario11_a_new_site_still_makes_its_keys(hass: HomeAssistant) -> None:
    entry = await setup_site(hass, site_entry())

    assert entry.state is ConfigEntryState.LOADED
    secrets = storage(hass, f"{DOMAIN}.{entry.entry_id}.secrets")
    assert await hass.async_add_executor_job(secrets.exists)
