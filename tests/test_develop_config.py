"""The configuration that scripts/develop writes loads, and its demo entries set up."""

import json
from pathlib import Path

import pytest
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.helpers.check_config import async_check_ha_config_file
from homeassistant.setup import async_setup_component
from PIL import Image
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.facegate.const import DOMAIN
from scripts import devsite


@pytest.fixture
def faces_dir(tmp_path: Path) -> Path:
    """A stand-in for ../shared/faces holding the demo photo (any JPEG serves the camera)."""
    photo = tmp_path / "faces" / devsite.DEMO_PHOTO
    photo.parent.mkdir(parents=True)
    Image.new("RGB", (64, 48), "gray").save(photo, "JPEG")
    return tmp_path / "faces"


async def test_generated_config_is_valid(
    hass: HomeAssistant, tmp_path: Path, faces_dir: Path
) -> None:
    config_dir = tmp_path / "config"
    photo = devsite.write_config(config_dir, 8199, faces_dir)

    assert photo.read_bytes() == (faces_dir / devsite.DEMO_PHOTO).read_bytes()
    assert (config_dir / "custom_components" / DOMAIN / "manifest.json").is_file()
    hass.config.config_dir = str(config_dir)
    result = await async_check_ha_config_file(hass)
    assert not result.errors, result.errors
    assert "http" not in result  # kept in .storage/http: no migration prompt, no repair
    http = json.loads((config_dir / ".storage" / "http").read_text(encoding="utf-8"))
    assert http["data"]["stable"]["server_port"] == 8199
    assert http["data"]["pending"] is None
    assert {"frontend", "config", "logbook"} <= set(result)


async def test_write_config_keeps_stored_state(tmp_path: Path, faces_dir: Path) -> None:
    config_dir = tmp_path / "config"
    devsite.write_config(config_dir, 8199, faces_dir)
    onboarding = config_dir / ".storage" / "onboarding"
    onboarding.write_text('{"kept": true}', encoding="utf-8")

    devsite.write_config(config_dir, 8200, faces_dir)

    assert onboarding.read_text(encoding="utf-8") == '{"kept": true}'
    http = json.loads((config_dir / ".storage" / "http").read_text(encoding="utf-8"))
    assert http["data"]["stable"]["server_port"] == 8200


async def test_demo_entries_are_created_and_loaded(
    hass: HomeAssistant, hass_client: ClientSessionGenerator, tmp_path: Path, faces_dir: Path
) -> None:
    photo = devsite.write_config(tmp_path / "config", 8199, faces_dir)
    hass.config.allowlist_external_dirs = {str(photo.parent)}
    # The HTTP views of the camera and of FaceGate's dependency websocket_api must exist
    # before the test client freezes the router.
    assert await async_setup_component(hass, "camera", {})
    assert await async_setup_component(hass, "websocket_api", {})
    assert await async_setup_component(hass, "config", {})
    assert await async_setup_component(hass, "api", {})
    client = await hass_client()

    await devsite.create_demo_entries(client, photo)
    await hass.async_block_till_done()

    site = hass.config_entries.async_entries(DOMAIN)
    camera = hass.config_entries.async_entries("local_file")
    assert [entry.title for entry in site] == [devsite.SITE_NAME]
    assert [entry.title for entry in camera] == [devsite.CAMERA_NAME]
    assert all(entry.state is ConfigEntryState.LOADED for entry in site + camera)
    assert hass.states.get(devsite.CAMERA_ENTITY) is not None
    subentries = {sub.title: sub for sub in site[0].subentries.values()}
    assert set(subentries) == {devsite.DOOR_NAME, devsite.HOUSEHOLD_NAME}
    household_id = subentries[devsite.HOUSEHOLD_NAME].subentry_id
    assert subentries[devsite.DOOR_NAME].data["household_ids"] == [household_id]
    residents = site[0].runtime_data.directory.residents_of([household_id])
    assert [(r.name, r.pin is not None) for r in residents] == [(devsite.RESIDENT_NAME, True)]
