"""The options flow's error paths, each as an administrator meets it (with a real site).

The happy paths and field errors are in test_site_options.py and test_face_enrolment.py.
"""

import sys
from pathlib import Path
from typing import Any

import pytest
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import issue_registry as ir
from PIL import Image
from pytest_homeassistant_custom_component.common import MockConfigEntry, MockUser
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.facegate.const import CONF_FACE_ENGINE, DOMAIN
from custom_components.facegate.face.models import (
    ENGINE_DLIB,
    ENGINE_MOBILEFACENET,
    engine_available,
)

from .conftest import setup_site, site_entry
from .test_doors import add_resident, call
from .test_face_enrolment import PORTRAIT, _suggested, open_enrol_form, upload
from .test_site_options import _open

needs_face_packages = pytest.mark.skipif(
    not engine_available(), reason="needs the face packages (scripts/setup installs them)"
)


@pytest.fixture
async def site(hass: HomeAssistant) -> MockConfigEntry:
    return await setup_site(hass, site_entry())


async def _configure(hass: HomeAssistant, flow_id: str, user_input: dict[str, Any]) -> Any:
    return await hass.config_entries.options.async_configure(flow_id, user_input)


async def test_configure_on_a_site_that_is_not_loaded_says_so(
    hass: HomeAssistant, site: MockConfigEntry
) -> None:
    """A site that failed to start (or was disabled) has no residents to show or change."""
    assert await hass.config_entries.async_unload(site.entry_id)
    assert site.state is ConfigEntryState.NOT_LOADED

    result = await hass.config_entries.options.async_init(site.entry_id)

    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "entry_not_loaded"


async def test_a_resident_removed_while_their_form_is_open_is_not_brought_back(
    hass: HomeAssistant, site: MockConfigEntry, hass_admin_user: MockUser
) -> None:
    """Two administrators: one edits Alex while the other removes Alex."""
    resident = await add_resident(hass, hass_admin_user)
    flow_id = await _open(hass, site, "edit_resident")
    result = await _configure(hass, flow_id, {"resident": resident})
    assert result["step_id"] == "resident"

    await call(hass, "remove_resident", {"resident_id": resident}, hass_admin_user)
    result = await _configure(hass, flow_id, {"name": "Alex", "show_name": True, "pin": "480315"})

    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "unknown_resident"
    assert site.runtime_data.directory.residents == {}


async def test_removing_a_resident_another_admin_removed_first(
    hass: HomeAssistant, site: MockConfigEntry, hass_admin_user: MockUser
) -> None:
    resident = await add_resident(hass, hass_admin_user)
    await add_resident(hass, hass_admin_user, name="Mei")
    flow_id = await _open(hass, site, "remove_resident")

    await call(hass, "remove_resident", {"resident_id": resident}, hass_admin_user)
    result = await _configure(hass, flow_id, {"resident": resident, "confirm": True})

    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "unknown_resident"
    assert [r.name for r in site.runtime_data.directory.residents.values()] == ["Mei"]


async def test_the_residents_overview_leads_back_to_the_menu(
    hass: HomeAssistant, site: MockConfigEntry, hass_admin_user: MockUser
) -> None:
    await add_resident(hass, hass_admin_user)
    flow_id = await _open(hass, site, "residents")

    result = await _configure(hass, flow_id, {})

    assert result["type"] is FlowResultType.MENU
    assert result["step_id"] == "init"
    assert "residents" in result["menu_options"]


async def test_enrolling_without_the_face_packages_is_a_form_error_not_a_crash(
    hass: HomeAssistant,
    hass_admin_user: MockUser,
    hass_client: ClientSessionGenerator,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A site on the optional dlib engine whose packages are gone: a form error that says so,
    and a repair issue with the pip line; FaceGate installs nothing."""
    site = await setup_site(hass, site_entry(engine=ENGINE_DLIB))
    resident = await add_resident(hass, hass_admin_user)
    flow_id = await open_enrol_form(hass, site)
    photo = await upload(await hass_client(), PORTRAIT)
    monkeypatch.setitem(sys.modules, "dlib", None)  # as if dlib-bin could not be imported

    result = await _configure(
        hass, flow_id, {"resident": resident, "photo": photo, "consent": True}
    )

    assert result["errors"] == {"base": "dlib_not_installed"}
    issue = ir.async_get(hass).async_get_issue(DOMAIN, "face_engine_missing")
    assert issue is not None
    assert issue.translation_placeholders == {
        "engine": ENGINE_DLIB,
        "packages": "dlib-bin==20.0.1.post1 face_recognition_models==0.3.0",
    }
    assert resident not in site.runtime_data.faces.gallery


async def test_a_dlib_site_whose_packages_are_gone_gets_a_repair_at_setup(
    hass: HomeAssistant, monkeypatch: pytest.MonkeyPatch
) -> None:
    """At once, not at the first face: the repair gives the pip line; the site still loads
    (card and PIN work). A default-engine site with the same packages gone has no repair."""
    monkeypatch.setitem(sys.modules, "dlib", None)
    default = await setup_site(hass, site_entry())
    assert default.state is ConfigEntryState.LOADED
    assert ir.async_get(hass).async_get_issue(DOMAIN, "face_engine_missing") is None
    assert await hass.config_entries.async_remove(default.entry_id)

    dlib = await setup_site(hass, site_entry(engine=ENGINE_DLIB))

    assert dlib.state is ConfigEntryState.LOADED
    issue = ir.async_get(hass).async_get_issue(DOMAIN, "face_engine_missing")
    assert issue is not None
    assert issue.translation_placeholders is not None
    assert issue.translation_placeholders["packages"] == (
        "dlib-bin==20.0.1.post1 face_recognition_models==0.3.0"
    )


async def test_choosing_the_dlib_engine_without_its_packages_is_refused(
    hass: HomeAssistant, site: MockConfigEntry, monkeypatch: pytest.MonkeyPatch
) -> None:
    """dlib is optional and never installed by FaceGate: the settings form says so and keeps
    the site on its engine; the default engine is always accepted."""
    monkeypatch.setitem(sys.modules, "dlib", None)
    flow_id = await _open(hass, site, "settings")

    result = await _configure(
        hass, flow_id, {"audit_retention_days": 30, CONF_FACE_ENGINE: ENGINE_DLIB}
    )

    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {CONF_FACE_ENGINE: "dlib_not_installed"}
    assert _suggested(result)[CONF_FACE_ENGINE] == ENGINE_DLIB  # the choice is kept
    assert CONF_FACE_ENGINE not in site.options
    result = await _configure(
        hass, flow_id, {"audit_retention_days": 30, CONF_FACE_ENGINE: ENGINE_MOBILEFACENET}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert site.options[CONF_FACE_ENGINE] == ENGINE_MOBILEFACENET


@needs_face_packages
async def test_a_refused_upload_is_not_offered_again_but_the_rest_stays(
    hass: HomeAssistant,
    site: MockConfigEntry,
    hass_admin_user: MockUser,
    hass_client: ClientSessionGenerator,
    tmp_path: Path,
) -> None:
    """An upload is deleted once read: the form must not offer a file that is gone."""
    await add_resident(hass, hass_admin_user)
    second = await add_resident(hass, hass_admin_user, name="Mei")
    Image.new("RGB", (640, 480), "gray").save(tmp_path / "empty.jpg")
    flow_id = await open_enrol_form(hass, site)
    photo = await upload(await hass_client(), tmp_path / "empty.jpg")

    result = await _configure(hass, flow_id, {"resident": second, "photo": photo, "consent": True})

    assert result["errors"] == {"base": "no_face"}
    suggested = _suggested(result)
    assert (suggested["resident"], suggested["photo"], suggested["consent"]) == (second, None, True)
    await hass.config_entries.async_unload(site.entry_id)  # stops the engine process
