"""Two face engines: templates follow their engine; the numpy executor works end to end."""

import sys
import time
from pathlib import Path

import numpy as np
import pytest
from homeassistant.components.lock.const import LockState
from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir
from pytest_homeassistant_custom_component.common import MockConfigEntry, MockUser

from custom_components.facegate.const import CONF_FACE_ENGINE, DOMAIN
from custom_components.facegate.face.models import (
    ENGINE_DLIB,
    ENGINE_KEYS,
    ENGINE_MOBILEFACENET,
)
from custom_components.facegate.face.onnx_numpy import FORCE_NUMPY_ENV
from custom_components.facegate.face_service import (
    ISSUE_ENGINE_CHANGED,
    FaceService,
    FaceTemplateStore,
)

from .conftest import setup_site, site_entry
from .test_doors import LOCK, PIN, add_resident, call
from .test_face_enrolment import (
    PORTRAIT,
    pytestmark,  # noqa: F401 - same skip: needs the face packages
)
from .test_face_watch import CAMERA, face_site, show_live_face

RNG = np.random.default_rng(3)


def _unit(count: int) -> list[np.ndarray]:
    vectors = RNG.standard_normal((count, 128))
    return list(vectors / np.linalg.norm(vectors, axis=1, keepdims=True))


def _engine_issue(hass: HomeAssistant, entry: MockConfigEntry) -> ir.IssueEntry | None:
    return ir.async_get(hass).async_get_issue(DOMAIN, f"{ISSUE_ENGINE_CHANGED}_{entry.entry_id}")


async def _site_with_engine(hass: HomeAssistant, engine: str) -> MockConfigEntry:
    entry = site_entry()
    entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(entry, options={CONF_FACE_ENGINE: engine})
    return await setup_site(hass, entry)


async def _stored_engines(hass: HomeAssistant, entry: MockConfigEntry) -> dict[str, list[str]]:
    faces: FaceService = entry.runtime_data.faces
    galleries = await FaceTemplateStore(hass, entry.entry_id).async_load(faces._protector)
    return {key: list(gallery.resident_ids) for key, gallery in galleries.items()}


async def test_changing_the_engine_keeps_old_templates_apart_and_asks_for_re_enrolment(
    hass: HomeAssistant, hass_admin_user: MockUser
) -> None:
    """dlib templates never match under MobileFaceNet; nothing is dropped; a repair says why."""
    entry = await _site_with_engine(hass, ENGINE_DLIB)
    resident = await add_resident(hass, hass_admin_user)
    await call(hass, "set_pin", {"resident_id": resident, "pin": PIN}, hass_admin_user)
    samples = _unit(2)
    faces: FaceService = entry.runtime_data.faces
    faces.gallery.add_identity(resident, samples)
    await faces.templates.async_save([faces.gallery])
    assert faces.gallery.engine == ENGINE_KEYS[ENGINE_DLIB]

    hass.config_entries.async_update_entry(entry, options={CONF_FACE_ENGINE: ENGINE_MOBILEFACENET})
    await hass.async_block_till_done()  # the site reloads with the other engine
    faces = entry.runtime_data.faces

    assert faces.gallery.engine == ENGINE_KEYS[ENGINE_MOBILEFACENET]
    assert resident not in faces.gallery  # the dlib templates do not take part in matching
    assert faces.gallery.best_matches(samples[0]) == []
    assert resident in faces.resident_ids  # ... but are not dropped
    issue = _engine_issue(hass, entry)
    assert issue is not None
    assert issue.translation_placeholders == {"engine": ENGINE_MOBILEFACENET, "count": "1"}
    # Card and PIN keep working meanwhile.
    result = await call(hass, "present_credential", {"entity_id": LOCK, "pin": PIN})
    assert result["granted"] is True
    assert hass.states.get(LOCK).state == LockState.UNLOCKED

    # Switching back: the same templates match again, and the repair goes away.
    hass.config_entries.async_update_entry(entry, options={CONF_FACE_ENGINE: ENGINE_DLIB})
    await hass.async_block_till_done()
    faces = entry.runtime_data.faces
    assert faces.gallery.best_matches(samples[0])[0].resident_id == resident
    assert _engine_issue(hass, entry) is None


async def test_erasing_a_face_reaches_the_templates_of_every_engine(
    hass: HomeAssistant, hass_admin_user: MockUser
) -> None:
    """Withdrawn consent erases the other engine's stored templates too; the repair clears."""
    entry = await _site_with_engine(hass, ENGINE_DLIB)
    resident = await add_resident(hass, hass_admin_user)
    await call(hass, "set_face_consent", {"resident_id": resident, "consent": True},
               hass_admin_user)  # fmt: skip
    faces: FaceService = entry.runtime_data.faces
    faces.gallery.add_identity(resident, _unit(2))
    await faces.templates.async_save([faces.gallery])
    hass.config_entries.async_update_entry(entry, options={CONF_FACE_ENGINE: ENGINE_MOBILEFACENET})
    await hass.async_block_till_done()
    assert _engine_issue(hass, entry) is not None

    await call(hass, "set_face_consent", {"resident_id": resident, "consent": False},
               hass_admin_user)  # fmt: skip

    assert resident not in entry.runtime_data.faces.resident_ids
    assert await _stored_engines(hass, entry) == {}
    assert _engine_issue(hass, entry) is None


async def test_templates_of_one_engine_cannot_be_relabelled_as_another(
    hass: HomeAssistant, hass_admin_user: MockUser
) -> None:
    """The engine tag is sealed with the templates: editing the stored file breaks the seal."""
    entry = await _site_with_engine(hass, ENGINE_DLIB)
    resident = await add_resident(hass, hass_admin_user)
    faces: FaceService = entry.runtime_data.faces
    faces.gallery.add_identity(resident, _unit(1))
    blob = faces.gallery.seal()
    assert ENGINE_KEYS[ENGINE_DLIB].encode() not in blob  # encrypted, not readable or editable
    assert await _stored_engines(hass, entry) == {}  # nothing saved yet
    await faces.templates.async_save([faces.gallery])
    assert await _stored_engines(hass, entry) == {ENGINE_KEYS[ENGINE_DLIB]: [resident]}


async def test_without_onnxruntime_enrolment_and_recognition_run_on_numpy(
    hass: HomeAssistant,
    tmp_path: Path,
    hass_admin_user: MockUser,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """As on Alpine (no onnxruntime wheel): the engine process runs the numpy executor."""
    monkeypatch.setenv(FORCE_NUMPY_ENV, "1")  # the engine process inherits it
    entry = await face_site(hass, tmp_path, hass_admin_user)
    try:
        faces: FaceService = entry.runtime_data.faces
        assert faces.engine == ENGINE_MOBILEFACENET
        assert faces._worker is not None
        assert faces._worker.runtime == "numpy"
        assert len(faces.gallery) == 1  # enrolled from the porch camera

        await show_live_face(hass, entry, time.time())

        assert hass.states.get(LOCK).state == LockState.UNLOCKED
    finally:
        await hass.config_entries.async_unload(entry.entry_id)
    assert CAMERA  # the porch camera of face_site


HIDDEN = """
import pathlib
pathlib.Path({marker!r}).write_text(__name__)
raise ImportError("hidden by the test: FaceGate's default engine must not import it")
"""


def _hide_face_packages(folder: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """dlib and face_recognition_models as packages that note any import, then refuse it.

    First on sys.path, which the engine process (spawned) inherits; forgotten in this process
    so that an import here runs them too. Returns the folder the notes would be written to.
    """
    notes = folder / "imported"
    notes.mkdir()
    for name in ("dlib", "face_recognition_models"):
        package = folder / "hidden" / name
        package.mkdir(parents=True)
        (package / "__init__.py").write_text(HIDDEN.format(marker=str(notes / name)))
        monkeypatch.delitem(sys.modules, name, raising=False)
    monkeypatch.syspath_prepend(str(folder / "hidden"))
    return notes


async def test_the_default_engine_enrols_and_recognises_without_dlib(
    hass: HomeAssistant,
    tmp_path: Path,
    hass_admin_user: MockUser,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Neither dlib nor face_recognition_models can be imported, here or in the engine process:
    the default engine enrols from the camera and opens for the resident, and nothing tried to
    import them (FaceGate no longer installs them either: manifest and face_service)."""
    notes = _hide_face_packages(tmp_path, monkeypatch)
    (tmp_path / "config").mkdir()
    entry = await face_site(hass, tmp_path / "config", hass_admin_user)
    try:
        faces: FaceService = entry.runtime_data.faces
        assert faces.engine == ENGINE_MOBILEFACENET
        assert len(faces.gallery) == 1  # enrolled from the porch camera
        frame = await faces.async_analyze(PORTRAIT.read_bytes())
        assert frame is not None
        assert frame.faces[0].landmarks.shape == (5, 2)  # YuNet's: no 68-point model

        await show_live_face(hass, entry, time.time())

        assert hass.states.get(LOCK).state == LockState.UNLOCKED
        assert ir.async_get(hass).async_get_issue(DOMAIN, "face_engine_missing") is None
    finally:
        await hass.config_entries.async_unload(entry.entry_id)
    assert sorted(path.name for path in notes.iterdir()) == []
