"""Diagnostics of a site, compared with a reviewed snapshot (tests/snapshots/)."""

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import MockUser
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator
from syrupy.assertion import SnapshotAssertion

from .conftest import setup_site, site_entry
from .test_records import scenario


@pytest.mark.freeze_time("2026-11-26 12:00:00+00:00")
async def test_diagnostics_snapshot(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    hass_admin_user: MockUser,
    freezer: FrozenDateTimeFactory,
    snapshot: SnapshotAssertion,
) -> None:
    door = {"camera_entity_ids": ["camera.porch"], "face_trigger_entity_ids": ["event.bell"]}
    entry = await setup_site(hass, site_entry(door=door))
    await scenario(hass, hass_admin_user)

    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, entry)

    assert diagnostics == snapshot
