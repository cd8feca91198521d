"""Each platform's entities as a person and the registry see them, against reviewed snapshots.

One platform at a time (snapshot_platform, as Home Assistant's platinum integrations do): the
registry entries (names, translation keys, categories, unique ids) and the states with their
attributes. Ids and times that change per run are masked by the snapshot extension.
"""

from pathlib import Path
from unittest.mock import patch

import pytest
from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import snapshot_platform
from pytest_homeassistant_custom_component.syrupy import HomeAssistantSnapshotExtension
from syrupy.assertion import SnapshotAssertion

from custom_components.facegate.const import CONF_CAMERA_ENTITY_IDS

from .conftest import setup_site, site_entry
from .test_entities import _camera


@pytest.fixture
def snapshot(snapshot: SnapshotAssertion) -> SnapshotAssertion:
    """Home Assistant's snapshot extension (its plugin's fixture loses to syrupy's own here)."""
    return snapshot.use_extension(HomeAssistantSnapshotExtension)


@pytest.mark.parametrize(
    "platform", [Platform.LOCK, Platform.SENSOR, Platform.EVENT, Platform.SWITCH]
)
async def test_platform_entities(
    hass: HomeAssistant,
    entity_registry: er.EntityRegistry,
    snapshot: SnapshotAssertion,
    tmp_path: Path,
    platform: Platform,
) -> None:
    camera = await _camera(hass, "Porch cam", tmp_path)
    with patch("custom_components.facegate.integration.PLATFORMS", [platform]):
        entry = await setup_site(hass, site_entry(door={CONF_CAMERA_ENTITY_IDS: [camera]}))

    await snapshot_platform(hass, entity_registry, snapshot, entry.entry_id)
