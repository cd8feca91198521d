"""A network camera that errs or hangs: a real MJPEG camera entity on a local HTTP server.

The server runs on 127.0.0.1 in the test (the only address the test plugin lets sockets reach)
and answers the camera's still-image requests with a photo, an HTTP error, or nothing at all.
"""

import asyncio
from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from homeassistant.components.lock.const import LockState
from homeassistant.const import ATTR_ENTITY_ID
from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import MockConfigEntry, MockUser

from .conftest import setup_site, site_entry
from .test_camera_faults import pin_still_opens, scan
from .test_doors import LOCK, PIN, add_resident, call
from .test_face_enrolment import PORTRAIT, pytestmark  # noqa: F401 - same skip

CAMERA = "camera.gate_camera"
SENSOR = "sensor.front_door_face_at_gate_camera"


class CameraServer:
    """What the camera answers: "ok" (the photo), "error" (HTTP 500) or "hang"."""

    def __init__(self, photo: bytes) -> None:
        self.photo = photo
        self.mode = "ok"

    async def still(self, _request: web.Request) -> web.Response:
        if self.mode == "hang":
            await asyncio.sleep(60)
        if self.mode == "error":
            return web.Response(status=500, text="500 Internal Server Error")
        return web.Response(body=self.photo, content_type="image/jpeg")


@pytest.fixture
async def server(
    hass: HomeAssistant, socket_enabled: None
) -> AsyncIterator[tuple[CameraServer, str]]:
    """The camera's HTTP server (sockets only for this test, connections to 127.0.0.1 only)."""
    camera = CameraServer(await hass.async_add_executor_job(PORTRAIT.read_bytes))
    app = web.Application()
    app.router.add_get("/still.jpg", camera.still)
    app.router.add_get("/video.mjpg", camera.still)
    test_server = TestServer(app, host="127.0.0.1")
    await test_server.start_server()
    yield camera, str(test_server.make_url(""))
    await test_server.close()


@pytest.fixture
async def site(
    hass: HomeAssistant, server: tuple[CameraServer, str], hass_admin_user: MockUser
) -> AsyncIterator[MockConfigEntry]:
    _, base = server
    result = await hass.config_entries.flow.async_init("mjpeg", context={"source": "user"})
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {
            "name": "Gate camera",
            "mjpeg_url": f"{base}/video.mjpg",
            "still_image_url": f"{base}/still.jpg",
            "verify_ssl": False,
        },
    )
    assert result["type"] == "create_entry", result
    await hass.async_block_till_done()
    entry = await setup_site(hass, site_entry(door={"camera_entity_ids": [CAMERA]}))
    resident = await add_resident(hass, hass_admin_user, show_name=True)
    await call(hass, "set_pin", {"resident_id": resident, "pin": PIN}, hass_admin_user)
    await call(hass, "set_face_consent", {"resident_id": resident, "consent": True},
               hass_admin_user)  # fmt: skip
    await call(hass, "enrol_face", {"resident_id": resident, "camera": CAMERA, "samples": 1},
               hass_admin_user)  # fmt: skip
    yield entry
    await hass.config_entries.async_unload(entry.entry_id)


def watch(entry: MockConfigEntry):
    return next(iter(entry.runtime_data.face_watches.values()))


@pytest.mark.parametrize(
    ("mode", "reason"), [("error", "image_unreadable"), ("hang", "camera_error")]
)
async def test_a_camera_that_errs_or_hangs(
    hass: HomeAssistant,
    site: MockConfigEntry,
    server: tuple[CameraServer, str],
    mode: str,
    reason: str,
) -> None:
    camera, _ = server
    assert await scan(watch(site)) is None
    assert hass.states.get(SENSOR).state == "Alex"

    camera.mode = mode
    assert await scan(watch(site)) == reason  # a hang ends at FaceGate's 5 s snapshot timeout

    assert hass.states.get(LOCK).state == LockState.LOCKED
    assert await pin_still_opens(hass)
    await hass.services.async_call("lock", "lock", {ATTR_ENTITY_ID: LOCK}, blocking=True)
    camera.mode = "ok"
    assert await scan(watch(site)) is None  # the camera is back
