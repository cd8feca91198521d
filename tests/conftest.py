"""Shared fixtures for FaceGate's tests."""

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from homeassistant.config_entries import ConfigSubentryData
from homeassistant.const import CONF_NAME
from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import MockConfigEntry, MockUser

from custom_components.facegate.const import (
    CONF_ALLOW_AUTOMATION_UNLOCK,
    CONF_FACE_ENGINE,
    CONF_HOUSEHOLD_IDS,
    CONF_MODES,
    CONF_POLICY,
    CONF_READER_DEVICE_IDS,
    CONF_RELOCK_DELAY,
    CONF_TARGET_ENTITY_ID,
    DOMAIN,
    SUBENTRY_DOOR,
    SUBENTRY_HOUSEHOLD,
)

# Importing the integration here makes the `hass` fixture find this repository's
# custom_components package, not the test plugin's own.
from custom_components.facegate.event import DoorAccessEvent
from custom_components.facegate.face import reuse
from custom_components.facegate.face.models import ENGINE_DLIB

FLAT_1 = "household_flat_1"
FLAT_2 = "household_flat_2"
FRONT_DOOR = "door_front"
BACK_DOOR = "door_back"
READER = "reader-device-id"  # replaced by a real device id where a test needs one


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(enable_custom_integrations: None) -> None:
    """Let every test load custom integrations."""


# The plain `hass` fixture depends on `hass_storage`, whose mock_storage() keeps Store files in
# memory. Overriding it keeps every Store on the real disk, in the test's own config directory.
@pytest.fixture(autouse=True)
def access_event_entity_enabled(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests read the door's event entity, which a new install has disabled (event.py)."""
    monkeypatch.setattr(DoorAccessEvent, "_attr_entity_registry_enabled_default", True)


@pytest.fixture
def hass_storage() -> dict[str, Any]:
    """Keep Home Assistant's Store on the real disk."""
    return {}


@pytest.fixture
def hass_config_dir(tmp_path: Path) -> str:
    """Give each test its own config directory."""
    return str(tmp_path)


def site_entry(
    *,
    door: dict[str, Any] | None = None,
    flat_1: dict[str, Any] | None = None,
    back_door: dict[str, Any] | None = None,
    engine: str | None = None,
) -> MockConfigEntry:
    """A site with households Flat 1 and Flat 2 and a front door serving Flat 1 only.

    With `back_door`, a back door too: the front door's settings, changed by `back_door`.
    With `engine`, the site uses that face engine (face/models.py ENGINES) instead of the default.
    """
    household = {CONF_MODES: ["card", "pin"], CONF_POLICY: "any"}
    door_data = {
        CONF_TARGET_ENTITY_ID: None,
        CONF_HOUSEHOLD_IDS: [FLAT_1],
        CONF_READER_DEVICE_IDS: [READER],
        CONF_RELOCK_DELAY: 5,
        **(door or {}),
    }
    doors = [_subentry(SUBENTRY_DOOR, FRONT_DOOR, "Front door", door_data)]
    if back_door is not None:
        doors.append(_subentry(SUBENTRY_DOOR, BACK_DOOR, "Back door", {**door_data, **back_door}))
    return MockConfigEntry(
        domain=DOMAIN,
        title="Home",
        data={CONF_NAME: "Home"},
        options={CONF_FACE_ENGINE: engine} if engine else {},
        unique_id="home",
        subentries_data=[
            _subentry(SUBENTRY_HOUSEHOLD, FLAT_1, "Flat 1", {**household, **(flat_1 or {})}),
            _subentry(SUBENTRY_HOUSEHOLD, FLAT_2, "Flat 2", household),
            *doors,
        ],
    )


def _subentry(kind: str, subentry_id: str, title: str, data: dict[str, Any]) -> ConfigSubentryData:
    return ConfigSubentryData(
        data=data, subentry_id=subentry_id, subentry_type=kind, title=title, unique_id=subentry_id
    )


async def setup_site(hass: HomeAssistant, entry: MockConfigEntry) -> MockConfigEntry:
    """Add and set up a site entry."""
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    return entry


@pytest.fixture
async def world(
    hass: HomeAssistant, hass_admin_user: MockUser, hass_read_only_user: MockUser
) -> Any:
    """test_security_access's world, whose door keeps automations out (the default)."""
    # Imported here: that module imports this one.
    from .test_security_access import make_world  # noqa: PLC0415

    return await make_world(hass, hass_admin_user, hass_read_only_user)


@pytest.fixture
async def open_world(
    hass: HomeAssistant, hass_admin_user: MockUser, hass_read_only_user: MockUser
) -> Any:
    """The same world, whose door lets automations unlock without a code."""
    from .test_security_access import make_world  # noqa: PLC0415

    return await make_world(
        hass, hass_admin_user, hass_read_only_user, **{CONF_ALLOW_AUTOMATION_UNLOCK: True}
    )


@pytest.fixture
async def dlib_site(
    hass: HomeAssistant, tmp_path: Path, hass_admin_user: MockUser
) -> AsyncIterator[MockConfigEntry]:
    """test_face_watch's face site on the optional dlib engine: its 68 landmarks show blinks.

    For the tests of the blink cue; the default engine's five landmarks have no eyelids.
    """
    from .test_face_watch import face_site  # noqa: PLC0415 - that module imports this one

    entry = await face_site(hass, tmp_path, hass_admin_user, engine=ENGINE_DLIB)
    yield entry
    await hass.config_entries.async_unload(entry.entry_id)


@pytest.fixture
def reuse_enabled(monkeypatch: pytest.MonkeyPatch) -> None:
    """Encoding reuse, off by default (face/reuse.py ENABLED says why), switched on."""
    monkeypatch.setattr(reuse, "ENABLED", True)
