"""Diagnostics without secrets, and a corrupt store that keeps the site shut."""

from pathlib import Path

import pytest
from homeassistant.components.lock import DOMAIN as LOCK_DOMAIN
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import ATTR_ENTITY_ID
from homeassistant.core import Context, HomeAssistant
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import issue_registry as ir
from pytest_homeassistant_custom_component.common import MockConfigEntry, MockUser
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.facegate.const import DOMAIN

from .conftest import setup_site, site_entry
from .test_doors import CARD, LOCK, OTHER_PIN, PIN, add_resident, call, unlock


async def scenario(hass: HomeAssistant, admin: MockUser) -> None:
    """A resident with a PIN and a card; a grant, a denial and a mode switched off."""
    resident = await add_resident(hass, admin, show_name=True)
    await call(hass, "set_pin", {"resident_id": resident, "pin": PIN}, admin)
    await call(hass, "present_credential", {ATTR_ENTITY_ID: LOCK, "card_uid": CARD})
    await unlock(hass, PIN)
    with pytest.raises(ServiceValidationError):
        await unlock(hass, OTHER_PIN)
    await hass.services.async_call(
        "switch",
        "turn_off",
        {ATTR_ENTITY_ID: "switch.flat_1_pin"},
        blocking=True,
        context=Context(user_id=admin.id),
    )
    with pytest.raises(ServiceValidationError):
        await unlock(hass, PIN)


async def test_diagnostics_hold_no_secret(
    hass: HomeAssistant, hass_client: ClientSessionGenerator, hass_admin_user: MockUser
) -> None:
    entry = await setup_site(hass, site_entry())
    await scenario(hass, hass_admin_user)

    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, entry)

    flat_1 = next(h for h in diagnostics["households"] if h["household_id"] == "household_flat_1")
    assert flat_1["residents"] == 1
    assert flat_1["residents_with_pin"] == 1
    assert flat_1["modes"] == ["card"]
    assert diagnostics["audit"]["outcomes"] == {"denied": 3, "granted": 1}
    text = str(diagnostics)
    digests = entry.runtime_data.directory.residents.values()
    for secret in {PIN, OTHER_PIN, CARD, CARD.replace(":", ""), "Alex"} | {
        r.pin.digest for r in digests if r.pin
    }:
        assert secret not in text


TRUNCATED = b'{"version": 1, "data": {"residents": '  # a write cut off half-way


def _write(path: Path, content: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)


def _kept_aside(path: Path) -> list[bytes]:
    return [copy.read_bytes() for copy in path.parent.glob(f"{path.name}.corrupt.*")]


async def test_corrupt_store_keeps_the_site_shut(hass: HomeAssistant) -> None:
    entry = site_entry()
    entry.add_to_hass(hass)
    path = Path(hass.config.path(".storage", f"{DOMAIN}.{entry.entry_id}"))
    await hass.async_add_executor_job(_write, path, TRUNCATED)

    assert not await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()

    assert entry.state is ConfigEntryState.SETUP_ERROR
    assert hass.states.get(LOCK) is None  # no door entity that could be opened
    assert ir.async_get(hass).async_get_issue(DOMAIN, f"store_corrupt_{entry.entry_id}")
    assert await hass.async_add_executor_job(_kept_aside, path) == [TRUNCATED]


async def test_default_entry_without_doors_loads(hass: HomeAssistant) -> None:
    entry = MockConfigEntry(domain=DOMAIN, title="Home", data={"name": "Home"})
    await setup_site(hass, entry)
    assert entry.state is ConfigEntryState.LOADED
    assert hass.states.async_entity_ids(LOCK_DOMAIN) == []
