"""Camera and engine faults at a door: no crash, face denied, card and PIN unaffected.

A real local_file camera serves whatever file the test writes; the real engine process is
killed or frozen to play a crash or a hang.
"""

import io
import os
import signal
from pathlib import Path

import numpy as np
import pytest
from homeassistant.components.lock.const import LockState
from homeassistant.const import ATTR_ENTITY_ID
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers import issue_registry as ir
from PIL import Image
from pytest_homeassistant_custom_component.common import MockConfigEntry, MockUser

from custom_components.facegate import face_service
from custom_components.facegate.access.errors import AccessError
from custom_components.facegate.const import DOMAIN
from custom_components.facegate.face_watch import CAMERA_FAILURES_FOR_ISSUE, FaceWatch

from .conftest import FRONT_DOOR
from .test_doors import LOCK, PIN, call
from .test_face_enrolment import PORTRAIT, pytestmark  # noqa: F401 - same skip
from .test_face_watch import CAMERA, SENSOR, face_site, watch_of
from .test_issue11_images import png_bomb

ISSUE = f"camera_unavailable_{FRONT_DOOR}_{CAMERA}"


def encoded(image: Image.Image, fmt: str) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt)
    return out.getvalue()


def portrait_as(mode: str, fmt: str) -> bytes:
    with Image.open(PORTRAIT) as photo:
        return encoded(photo.convert(mode), fmt)


def huge_picture() -> bytes:
    # 36 Mpx: below the 50 Mpx refused as a bomb, far above the 4 Mpx the engine gets.
    noise = np.random.default_rng(3).integers(0, 255, (6000, 6000, 3), dtype=np.uint8)
    return encoded(Image.fromarray(noise), "JPEG")


@pytest.fixture
async def site(hass: HomeAssistant, tmp_path: Path, hass_admin_user: MockUser) -> MockConfigEntry:
    entry = await face_site(hass, tmp_path, hass_admin_user)
    yield entry
    await hass.config_entries.async_unload(entry.entry_id)


async def serve(hass: HomeAssistant, tmp_path: Path, content: bytes | None) -> None:
    """What the porch camera's file holds from now on (None: the file is gone)."""
    path = tmp_path / "porch.jpg"
    if content is None:
        await hass.async_add_executor_job(path.unlink)
    else:
        await hass.async_add_executor_job(path.write_bytes, content)


async def scan(watch: FaceWatch) -> str | None:
    """One scan as the scan loop runs it; the refusal reason if it failed."""
    try:
        await watch.async_scan_once()
    except AccessError as err:
        return err.reason
    except HomeAssistantError:
        return "camera_error"
    return None


async def pin_still_opens(hass: HomeAssistant) -> bool:
    result = await call(hass, "present_credential", {ATTR_ENTITY_ID: LOCK, "pin": PIN})
    return result["granted"]


@pytest.mark.parametrize(
    ("content", "reason", "state"),
    [
        (b"\xff\xd8garbage, not a picture", "image_unreadable", "nobody"),
        (b"", "camera_error", "nobody"),
        (None, "camera_error", "nobody"),
        ("huge", None, "nobody"),
        ("bomb", "image_too_large", "nobody"),
        ("grey", None, "Alex"),
        ("alpha", None, "Alex"),
    ],
    ids=["garbage", "empty", "file gone", "6000x6000", "bomb", "grayscale", "png with alpha"],
)
async def test_camera_pictures_that_fail_or_are_odd(
    hass: HomeAssistant,
    site: MockConfigEntry,
    tmp_path: Path,
    content: bytes | str | None,
    reason: str | None,
    state: str,
) -> None:
    made = {
        "huge": huge_picture,
        "bomb": png_bomb,  # 13000x13000 px: refused from its header (issue 11, scenario 12)
        "grey": lambda: portrait_as("L", "JPEG"),
        "alpha": lambda: portrait_as("RGBA", "PNG"),
    }
    if isinstance(content, str):
        content = await hass.async_add_executor_job(made[content])
    await serve(hass, tmp_path, content)

    assert await scan(watch_of(site)) == reason
    assert hass.states.get(SENSOR).state == state
    assert hass.states.get(LOCK).state == LockState.LOCKED  # one frame never opens
    assert await pin_still_opens(hass)


async def test_a_removed_camera_fails_closed(hass: HomeAssistant, site: MockConfigEntry) -> None:
    er.async_get(hass).async_remove(CAMERA)
    await hass.async_block_till_done()
    assert await scan(watch_of(site)) == "camera_error"
    assert await pin_still_opens(hass)


async def test_a_failing_camera_raises_a_repair_until_it_recovers(
    hass: HomeAssistant, site: MockConfigEntry, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    watch = watch_of(site)
    await serve(hass, tmp_path, None)
    for _ in range(CAMERA_FAILURES_FOR_ISSUE - 1):
        assert await scan(watch) == "camera_error"
    assert ir.async_get(hass).async_get_issue(DOMAIN, ISSUE) is None  # a blip is no issue
    assert await scan(watch) == "camera_error"
    issue = ir.async_get(hass).async_get_issue(DOMAIN, ISSUE)
    assert issue is not None
    assert issue.translation_placeholders == {"camera": CAMERA, "door": "Front door"}

    await serve(hass, tmp_path, await hass.async_add_executor_job(PORTRAIT.read_bytes))
    assert await scan(watch) is None

    assert ir.async_get(hass).async_get_issue(DOMAIN, ISSUE) is None
    assert hass.states.get(SENSOR).state == "Alex"
    # Logged once when it failed and once when it came back (log-when-unavailable).
    logged = [r.getMessage() for r in caplog.records if r.name.endswith("face_watch")]
    assert [m for m in logged if CAMERA in m and "picture" in m] == [
        f"{CAMERA} gives no usable picture: face recognition at Front door is paused",
        f"{CAMERA} sends usable pictures again",
    ]


async def test_a_crashed_engine_is_restarted(hass: HomeAssistant, site: MockConfigEntry) -> None:
    worker = await site.runtime_data.faces.async_start()
    first = worker.pid
    os.kill(first, signal.SIGKILL)  # dlib crashing takes only the engine process down

    # The frame in flight may be lost (the door stays shut); the next one finds a new engine.
    assert await scan(watch_of(site)) in (None, "engine_failed")
    assert await scan(watch_of(site)) is None
    assert worker.pid not in (None, first)
    assert hass.states.get(SENSOR).state == "Alex"


async def test_a_hung_engine_fails_closed_then_recovers(
    hass: HomeAssistant, site: MockConfigEntry, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(face_service, "ANALYZE_TIMEOUT", 2.0)
    worker = await site.runtime_data.faces.async_start()
    hung = worker.pid
    os.kill(hung, signal.SIGSTOP)  # the engine stops answering

    assert await scan(watch_of(site)) == "engine_failed"
    assert hass.states.get(LOCK).state == LockState.LOCKED
    assert await pin_still_opens(hass)
    # The fresh process gets the usual time: a loaded machine may need more than 2 s a frame.
    monkeypatch.setattr(face_service, "ANALYZE_TIMEOUT", 15.0)
    assert await scan(watch_of(site)) is None  # a fresh engine process answers
    assert worker.pid != hung
