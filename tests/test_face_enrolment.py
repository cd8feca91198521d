"""Face enrolment end to end: a real camera, the real engine process, templates on disk."""

import asyncio
import shutil
import sys
from pathlib import Path
from typing import Any

import numpy as np
import probatio
import pytest
from aiohttp.test_utils import TestClient
from homeassistant.components.file_upload import process_uploaded_file
from homeassistant.const import ATTR_ENTITY_ID
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import issue_registry as ir
from PIL import Image
from pytest_homeassistant_custom_component.common import MockConfigEntry, MockUser
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.facegate import face_service
from custom_components.facegate.const import DOMAIN
from custom_components.facegate.face.engine import FaceEngine, load_image_file
from custom_components.facegate.face.models import ENGINE_DLIB, engine_available
from custom_components.facegate.face_service import FaceTemplateStore

from .conftest import setup_site, site_entry
from .photos import FIXTURE_FACES
from .test_doors import LOCK, PIN, add_resident, call

RETRY = 1.0  # seconds before a failed face engine start is tried again, in these tests
PORTRAIT = FIXTURE_FACES / "barack_obama" / "1.jpg"
GROUP = FIXTURE_FACES / "_scenes" / "bbt_cast_6.jpg"

pytestmark = pytest.mark.skipif(
    not engine_available(), reason="needs the face packages (scripts/setup installs them)"
)


async def add_camera(hass: HomeAssistant, name: str, photo: Path) -> str:
    """A local_file camera serving the photo, set up as from the UI."""
    hass.config.allowlist_external_dirs.add(str(photo.parent))
    result = await hass.config_entries.flow.async_init("local_file", context={"source": "user"})
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"name": name, "file_path": str(photo)}
    )
    await hass.async_block_till_done()
    return f"camera.{name.lower().replace(' ', '_')}"


async def _site_with_cameras(
    hass: HomeAssistant, tmp_path: Path, engine: str | None = None
) -> MockConfigEntry:
    for photo, target in ((PORTRAIT, "portrait.jpg"), (GROUP, "group.jpg")):
        shutil.copyfile(photo, tmp_path / target)
    Image.new("RGB", (640, 480), "gray").save(tmp_path / "empty.jpg")
    for name in ("portrait", "group", "empty"):
        await add_camera(hass, f"{name} cam", tmp_path / f"{name}.jpg")
    return await setup_site(hass, site_entry(engine=engine))


@pytest.fixture
async def site(hass: HomeAssistant, tmp_path: Path) -> MockConfigEntry:
    entry = await _site_with_cameras(hass, tmp_path)
    yield entry
    await hass.config_entries.async_unload(entry.entry_id)  # stops the engine process


@pytest.fixture
async def dlib_cameras_site(hass: HomeAssistant, tmp_path: Path) -> MockConfigEntry:
    """The same site on the optional dlib engine, the only one that needs extra packages."""
    entry = await _site_with_cameras(hass, tmp_path, ENGINE_DLIB)
    yield entry
    await hass.config_entries.async_unload(entry.entry_id)


async def enrol(hass: HomeAssistant, resident: str, camera: str, user: MockUser) -> Any:
    return await call(
        hass, "enrol_face", {"resident_id": resident, "camera": camera, "samples": 2}, user
    )


def _stored_ids(galleries: dict[str, Any]) -> set[str]:
    """Residents with templates of any engine in the stored galleries."""
    return {rid for gallery in galleries.values() for rid in gallery.resident_ids}


def stored_files(hass: HomeAssistant) -> list[bytes]:
    return [path.read_bytes() for path in Path(hass.config.path(".storage")).glob("*")]


async def test_enrol_needs_consent_then_stores_protected_templates(
    hass: HomeAssistant, site: MockConfigEntry, hass_admin_user: MockUser
) -> None:
    resident = await add_resident(hass, hass_admin_user)
    with pytest.raises(ServiceValidationError) as err:
        await enrol(hass, resident, "camera.portrait_cam", hass_admin_user)
    assert err.value.translation_key == "no_face_consent"

    await call(
        hass, "set_face_consent", {"resident_id": resident, "consent": True}, hass_admin_user
    )
    response = await enrol(hass, resident, "camera.portrait_cam", hass_admin_user)

    assert response == {"samples": 2}
    faces = site.runtime_data.faces
    assert faces.gallery.sample_count(resident) == 2
    # No file holds the raw encoding: templates are transformed, then encrypted.
    encoding = FaceEngine().analyze(load_image_file(PORTRAIT))[0].encoding
    files = await hass.async_add_executor_job(stored_files, hass)
    assert files
    for raw in (encoding.tobytes(), encoding.astype(np.float32).tobytes(), repr(encoding[:4])):
        needle = raw if isinstance(raw, bytes) else raw.encode()
        assert not any(needle in content for content in files)


@pytest.mark.parametrize(
    ("action", "extra", "consent_kept"),
    [("set_face_consent", {"consent": False}, False), ("remove_face", {}, True)],
    ids=["withdrawing consent", "remove_face"],
)
async def test_erasing_a_face_reaches_the_disk(
    hass: HomeAssistant,
    site: MockConfigEntry,
    hass_admin_user: MockUser,
    action: str,
    extra: dict[str, Any],
    consent_kept: bool,
) -> None:
    resident = await add_resident(hass, hass_admin_user)
    await call(
        hass, "set_face_consent", {"resident_id": resident, "consent": True}, hass_admin_user
    )
    await enrol(hass, resident, "camera.portrait_cam", hass_admin_user)
    store = FaceTemplateStore(hass, site.entry_id)
    protector = site.runtime_data.faces.gallery._protector  # the site's own key
    assert resident in _stored_ids(await store.async_load(protector))

    await call(hass, action, {"resident_id": resident, **extra}, hass_admin_user)

    assert resident not in site.runtime_data.faces.gallery
    assert resident not in _stored_ids(await store.async_load(protector))  # read back from file
    consent = site.runtime_data.directory.residents[resident].face_consent
    assert (consent is not None) is consent_kept


@pytest.mark.parametrize(
    ("camera", "reason"),
    [("camera.group_cam", "several_faces"), ("camera.empty_cam", "no_face")],
)
async def test_unusable_pictures_are_refused(
    hass: HomeAssistant,
    site: MockConfigEntry,
    hass_admin_user: MockUser,
    camera: str,
    reason: str,
) -> None:
    resident = await add_resident(hass, hass_admin_user)
    await call(
        hass, "set_face_consent", {"resident_id": resident, "consent": True}, hass_admin_user
    )

    with pytest.raises(ServiceValidationError) as err:
        await enrol(hass, resident, camera, hass_admin_user)

    assert err.value.translation_key == reason
    assert resident not in site.runtime_data.faces.gallery


async def test_missing_face_packages_leave_card_and_pin_working(
    hass: HomeAssistant,
    dlib_cameras_site: MockConfigEntry,
    hass_admin_user: MockUser,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A site on the optional dlib engine whose packages cannot be imported (the default
    engine needs none: test_face_engines)."""
    resident = await add_resident(hass, hass_admin_user)
    await call(hass, "set_pin", {"resident_id": resident, "pin": PIN}, hass_admin_user)
    await call(
        hass, "set_face_consent", {"resident_id": resident, "consent": True}, hass_admin_user
    )
    monkeypatch.setattr(face_service, "RETRY_SECONDS", RETRY)  # 5 minutes in real life
    monkeypatch.setitem(sys.modules, "dlib", None)  # as if dlib-bin could not be imported

    with pytest.raises(HomeAssistantError) as err:
        await enrol(hass, resident, "camera.portrait_cam", hass_admin_user)

    assert err.value.translation_key == "face_engine_missing"
    issue = ir.async_get(hass).async_get_issue(DOMAIN, "face_engine_missing")
    assert issue is not None
    assert issue.translation_placeholders is not None
    assert "dlib-bin==20.0.1.post1" in issue.translation_placeholders["packages"]  # the pip line
    monkeypatch.delitem(sys.modules, "dlib")
    with pytest.raises(HomeAssistantError):  # not retried on every call: a few minutes later
        await enrol(hass, resident, "camera.portrait_cam", hass_admin_user)
    result = await call(hass, "present_credential", {ATTR_ENTITY_ID: LOCK, "pin": PIN})
    assert result["granted"] is True

    await asyncio.sleep(RETRY)  # the packages are back: the next try, once due, works
    assert await enrol(hass, resident, "camera.portrait_cam", hass_admin_user) == {"samples": 2}
    assert ir.async_get(hass).async_get_issue(DOMAIN, "face_engine_missing") is None


async def test_a_resident_exports_their_own_data_without_secrets(
    hass: HomeAssistant, site: MockConfigEntry, hass_admin_user: MockUser
) -> None:
    user = await hass.auth.async_create_user("Alex", group_ids=["system-users"])
    resident = await add_resident(hass, hass_admin_user, user_id=user.id)
    await call(hass, "set_pin", {"resident_id": resident, "pin": PIN}, hass_admin_user)
    await call(hass, "set_face_consent", {"resident_id": resident, "consent": True}, user)  # type: ignore[arg-type]
    # An administrator enrols (a resident enrolling from a camera must blink; a still cannot).
    await enrol(hass, resident, "camera.portrait_cam", hass_admin_user)
    await call(hass, "present_credential", {ATTR_ENTITY_ID: LOCK, "pin": PIN})

    exported = await call(hass, "export_resident_data", {"resident_id": resident}, user)  # type: ignore[arg-type]

    assert exported["face_samples"] == 2
    assert exported["face_consent"]["recorded_by"] == user.id
    assert exported["has_pin"] is True
    assert [(h["door"], h["method"], h["outcome"]) for h in exported["access_history"]] == [
        ("Front door", "pin", "granted")
    ]
    stored = site.runtime_data.directory.residents[resident]
    assert PIN not in str(exported)
    assert stored.pin is not None
    assert stored.pin.digest not in str(exported)


async def test_enrol_from_photo_files_in_an_allowed_folder(
    hass: HomeAssistant,
    site: MockConfigEntry,
    hass_admin_user: MockUser,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    resident = await add_resident(hass, hass_admin_user)
    await call(
        hass, "set_face_consent", {"resident_id": resident, "consent": True}, hass_admin_user
    )
    photos = tmp_path_factory.mktemp("photos")  # outside the cameras' allowed folder
    shutil.copyfile(PORTRAIT, photos / "alex.jpg")
    data = {"resident_id": resident, "photos": [str(photos / "alex.jpg")]}

    with pytest.raises(ServiceValidationError) as err:  # the folder is not allowlisted yet
        await call(hass, "enrol_face", data, hass_admin_user)
    assert err.value.translation_key == "photo_not_allowed"
    assert resident not in site.runtime_data.faces.gallery

    hass.config.allowlist_external_dirs.add(str(photos))
    assert await call(hass, "enrol_face", data, hass_admin_user) == {"samples": 1}
    assert site.runtime_data.faces.gallery.sample_count(resident) == 1
    assert (photos / "alex.jpg").read_bytes() == PORTRAIT.read_bytes()  # the user's file stays


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        ({}, "photo_source_missing"),
        ({"photos": ["/nowhere/alex.jpg"]}, "photo_missing"),
    ],
)
async def test_enrol_needs_a_source(
    hass: HomeAssistant,
    site: MockConfigEntry,
    hass_admin_user: MockUser,
    data: dict[str, Any],
    reason: str,
) -> None:
    resident = await add_resident(hass, hass_admin_user)
    await call(
        hass, "set_face_consent", {"resident_id": resident, "consent": True}, hass_admin_user
    )
    hass.config.allowlist_external_dirs.add("/nowhere")
    with pytest.raises(ServiceValidationError) as err:
        await call(hass, "enrol_face", {"resident_id": resident, **data}, hass_admin_user)
    assert err.value.translation_key == reason


async def test_enrol_takes_a_camera_or_photos_not_both(
    hass: HomeAssistant, site: MockConfigEntry, hass_admin_user: MockUser
) -> None:
    resident = await add_resident(hass, hass_admin_user)
    data = {"resident_id": resident, "camera": "camera.portrait_cam", "photos": [str(PORTRAIT)]}
    with pytest.raises(probatio.Invalid):
        await call(hass, "enrol_face", data, hass_admin_user)


async def upload(client: TestClient, photo: Path) -> str:
    """Upload a photo as the frontend's file selector does; returns its file id."""
    with photo.open("rb") as file:
        response = await client.post("/api/file_upload", data={"file": file})
    assert response.status == 200
    return (await response.json())["file_id"]


async def open_enrol_form(hass: HomeAssistant, entry: MockConfigEntry) -> str:
    result = await hass.config_entries.options.async_init(entry.entry_id)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"next_step_id": "enrol_face"}
    )
    assert result["step_id"] == "enrol_face"
    return result["flow_id"]


async def test_enrol_from_uploaded_photos_in_the_options(
    hass: HomeAssistant,
    site: MockConfigEntry,
    hass_admin_user: MockUser,
    hass_client: ClientSessionGenerator,
) -> None:
    resident = await add_resident(hass, hass_admin_user)
    flow_id = await open_enrol_form(hass, site)  # sets up file_upload for the photo fields
    client = await hass_client()
    first = await upload(client, PORTRAIT)
    user_input = {"resident": resident, "photo": first, "consent": False}

    result = await hass.config_entries.options.async_configure(flow_id, user_input)
    assert result["errors"] == {"base": "no_face_consent"}  # nothing recorded, nothing read

    photos = [await upload(client, PORTRAIT), await upload(client, PORTRAIT)]
    user_input = {"resident": resident, "photo": photos[0], "photo_2": photos[1], "consent": True}
    result = await hass.config_entries.options.async_configure(flow_id, user_input)

    assert result["type"] == "abort"
    assert result["reason"] == "face_enrolled"
    assert result["description_placeholders"] == {"samples": "2", "name": "Alex"}
    assert site.runtime_data.faces.gallery.sample_count(resident) == 2
    consent = site.runtime_data.directory.residents[resident].face_consent
    assert consent is not None
    assert consent.recorded_by is None  # an administrator, in the options (no user id there)
    for file_id in photos:  # the uploads are gone once encoded
        with pytest.raises(ValueError, match="File does not exist"):
            await hass.async_add_executor_job(_read_upload, hass, file_id)


def _read_upload(hass: HomeAssistant, file_id: str) -> bytes:
    with process_uploaded_file(hass, file_id) as path:
        return path.read_bytes()


@pytest.mark.parametrize(
    ("source", "reason"),
    [
        ({}, "one_photo_source"),
        ({"camera": "camera.group_cam"}, "several_faces"),
        ({"camera": "camera.empty_cam"}, "no_face"),
    ],
)
async def test_enrol_form_shows_why_a_picture_is_refused(
    hass: HomeAssistant,
    site: MockConfigEntry,
    hass_admin_user: MockUser,
    source: dict[str, str],
    reason: str,
) -> None:
    resident = await add_resident(hass, hass_admin_user)
    flow_id = await open_enrol_form(hass, site)
    result = await hass.config_entries.options.async_configure(
        flow_id, {"resident": resident, "consent": True, **source}
    )
    assert result["errors"] == {"base": reason}
    assert resident not in site.runtime_data.faces.gallery


def _suggested(result: Any) -> dict[str, Any]:
    """The values a form shows prefilled (as the frontend reads them)."""
    return {
        str(key): (key.description or {}).get("suggested_value")
        for key in result["data_schema"].schema
    }


async def test_the_enrol_form_keeps_what_was_entered_after_an_error(
    hass: HomeAssistant,
    site: MockConfigEntry,
    hass_admin_user: MockUser,
    hass_client: ClientSessionGenerator,
) -> None:
    await add_resident(hass, hass_admin_user)
    second = await add_resident(hass, hass_admin_user, name="Mei")
    flow_id = await open_enrol_form(hass, site)
    photo = await upload(await hass_client(), PORTRAIT)

    # Consent forgotten: nothing was read, so the same resident and photo are offered again
    # (a reset form would fall back to the first resident: a face on the wrong person).
    result = await hass.config_entries.options.async_configure(
        flow_id, {"resident": second, "photo": photo, "consent": False}
    )
    assert result["errors"] == {"base": "no_face_consent"}
    assert _suggested(result) | {"camera": None} == {
        "resident": second,
        "camera": None,
        "photo": photo,
        "photo_2": None,
        "photo_3": None,
        "consent": False,
    }

    # A refused camera picture: the resident, camera and consent stay.
    result = await hass.config_entries.options.async_configure(
        flow_id, {"resident": second, "camera": "camera.group_cam", "consent": True}
    )
    assert result["errors"] == {"base": "several_faces"}
    suggested = _suggested(result)
    assert (suggested["resident"], suggested["camera"], suggested["consent"]) == (
        second,
        "camera.group_cam",
        True,
    )

    result = await hass.config_entries.options.async_configure(
        flow_id, {"resident": second, "photo": photo, "consent": True}
    )
    assert result["reason"] == "face_enrolled"
    assert result["description_placeholders"] == {"samples": "1", "name": "Mei"}
    assert second in site.runtime_data.faces.gallery
