"""Issue 16, the panel's face commands over a real websocket, as the resident's own user:

- the privacy ledger lists every scan in which the resident's face was recognised, with or
  without an unlock;
- enrolment at a door camera sends live guidance while it runs (facegate/enrol_face_live).

A real camera and engine (tests/test_face_watch.py's site): Alex's face is enrolled and the
front door watches the porch camera.
"""

import dataclasses
import itertools
from pathlib import Path
from typing import Any

import pytest
from homeassistant.core import Context, HomeAssistant
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    MockUser,
    async_capture_events,
)
from pytest_homeassistant_custom_component.typing import WebSocketGenerator

from custom_components.facegate import face_watch
from custom_components.facegate.const import CONF_HOUSEHOLD_IDS, DOMAIN
from custom_components.facegate.face_service import Frame
from custom_components.facegate.gate import EVENT_ACCESS

from .conftest import FLAT_2, FRONT_DOOR
from .test_actions import EXCEPTIONS
from .test_doors import call
from .test_face_enrolment import pytestmark  # noqa: F401 - skipped without the face packages
from .test_face_watch import CAMERA, SteppingClock, face_site, show_live_face, watch_of


async def _ledger_as(
    hass: HomeAssistant, hass_ws_client: WebSocketGenerator, user: MockUser, resident_id: str
) -> dict[str, Any]:
    refresh = await hass.auth.async_create_refresh_token(user, "https://example.com/")
    client = await hass_ws_client(hass, hass.auth.async_create_access_token(refresh))
    await client.send_json({"id": 1, "type": f"{DOMAIN}/ledger", "resident_id": resident_id})
    reply: dict[str, Any] = await client.receive_json()
    return reply


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> SteppingClock:
    """Scans 0.3 s apart whatever the machine's speed (as in test_face_watch.py)."""
    stepping = SteppingClock(0.3)
    monkeypatch.setattr(face_watch, "time", stepping)
    return stepping


@pytest.fixture
async def site(hass: HomeAssistant, tmp_path: Path, hass_admin_user: MockUser) -> MockConfigEntry:
    entry = await face_site(hass, tmp_path, hass_admin_user)
    yield entry
    await hass.config_entries.async_unload(entry.entry_id)


async def _alex_linked(
    hass: HomeAssistant, entry: MockConfigEntry, admin: MockUser
) -> tuple[str, Any]:
    (alex,) = entry.runtime_data.directory.residents
    user = await hass.auth.async_create_user("Alex", group_ids=["system-users"])
    await call(hass, "update_resident", {"resident_id": alex, "user_id": user.id}, admin)
    return alex, user


async def test_ledger_lists_a_recognised_face_that_opened_nothing(
    hass: HomeAssistant,
    site: MockConfigEntry,
    hass_admin_user: MockUser,
    hass_ws_client: WebSocketGenerator,
    clock: SteppingClock,
) -> None:
    """A photo of Alex held to the camera (recognised, never live), then Alex's live face
    while the household has the face mode off: two recognitions, no unlock.
    """
    alex, user = await _alex_linked(hass, site, hass_admin_user)
    watch = watch_of(site)
    for _ in range(8):
        await watch.async_scan_once()
    await watch.async_end_burst()
    await hass.services.async_call(
        "switch", "turn_off", {"entity_id": "switch.flat_1_face"}, blocking=True,
        context=Context(user_id=hass_admin_user.id),
    )  # fmt: skip
    await show_live_face(hass, site, clock.time())
    await hass.async_block_till_done()

    reply = await _ledger_as(hass, hass_ws_client, user, alex)
    assert reply["success"], reply
    seen = [
        (r["door"], r["outcome"], r["reason"])
        for r in reply["result"]["records"]
        if r["face_recognised"]
    ]
    assert seen == [("Front door", "denied", "mode_disabled"), ("Front door", "denied", "not_live")]
    assert reply["result"]["retention_days"] == 30


async def test_ledger_lists_a_recognition_at_a_door_that_does_not_serve_the_resident(
    hass: HomeAssistant,
    site: MockConfigEntry,
    hass_admin_user: MockUser,
    hass_ws_client: WebSocketGenerator,
    clock: SteppingClock,
) -> None:
    """The front door now serves Flat 2 only: Alex's face is recognised there and refused
    as a stranger's. Alex's own ledger shows it; the door's event names nobody."""
    alex, user = await _alex_linked(hass, site, hass_admin_user)
    door = site.subentries[FRONT_DOOR]
    hass.config_entries.async_update_subentry(
        site, door, data={**door.data, CONF_HOUSEHOLD_IDS: [FLAT_2]}
    )
    await hass.async_block_till_done()
    events = async_capture_events(hass, EVENT_ACCESS)

    await show_live_face(hass, site, clock.time())

    assert [(e.data["reason"], e.data["resident"]) for e in events] == [("unknown_face", None)]
    reply = await _ledger_as(hass, hass_ws_client, user, alex)
    assert [
        (r["door"], r["outcome"], r["reason"])
        for r in reply["result"]["records"]
        if r["face_recognised"]
    ] == [("Front door", "denied", "unknown_face")]


async def test_another_user_sees_nothing_of_the_recognitions(
    hass: HomeAssistant,
    site: MockConfigEntry,
    hass_admin_user: MockUser,
    hass_read_only_user: MockUser,
    hass_ws_client: WebSocketGenerator,
    clock: SteppingClock,
) -> None:
    alex, _ = await _alex_linked(hass, site, hass_admin_user)
    watch = watch_of(site)
    for _ in range(8):
        await watch.async_scan_once()
    await watch.async_end_burst()
    other = await hass.auth.async_create_user("Casey", group_ids=["system-users"])
    for user in (other, hass_read_only_user):
        reply = await _ledger_as(hass, hass_ws_client, user, alex)
        assert not reply["success"]
        assert reply["error"]["translation_key"] == "not_allowed"
        assert "not_live" not in str(reply)


async def _client_of(
    hass: HomeAssistant, hass_ws_client: WebSocketGenerator, user: MockUser
) -> Any:
    refresh = await hass.auth.async_create_refresh_token(user, "https://example.com/")
    return await hass_ws_client(hass, hass.auth.async_create_access_token(refresh))


class EnrolClock:
    """face_watch's clock during an enrolment: 0.3 s per analysed frame, whatever the CPU."""

    def __init__(self) -> None:
        self.now = 1_000.0

    def time(self) -> float:
        return self.now

    def monotonic(self) -> float:
        return self.now


async def test_live_enrolment_guides_the_resident_frame_by_frame(
    hass: HomeAssistant,
    site: MockConfigEntry,
    hass_admin_user: MockUser,
    hass_ws_client: WebSocketGenerator,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Nobody in view, then a face too dark, then blurred, then a good one that is never
    live (a photo): the panel hears each piece of advice once, in order, then the refusal.
    """
    alex, user = await _alex_linked(hass, site, hass_admin_user)
    clock = EnrolClock()
    monkeypatch.setattr(face_watch, "time", clock)
    monkeypatch.setattr(face_watch, "ENROL_LIVE_SECONDS", 3.0)  # ten frames on this clock
    faces = site.runtime_data.faces
    analyse = faces.async_analyze
    views = itertools.chain(["nobody", "dark", "blurred"], itertools.repeat("photo"))

    async def camera_view(image: bytes) -> Frame | None:
        clock.now += 0.3
        frame = await analyse(image)
        assert frame is not None
        face = frame.faces[0]
        view = next(views)
        shown = {
            "nobody": [],
            "dark": [dataclasses.replace(face, brightness=12.0)],
            "blurred": [dataclasses.replace(face, sharpness=0.0)],
            "photo": [face],
        }[view]
        return Frame(shown, frame.size)

    faces.async_analyze = camera_view  # type: ignore[method-assign]
    before = faces.gallery.sample_count(alex)
    client = await _client_of(hass, hass_ws_client, user)
    await client.send_json(
        {"id": 1, "type": f"{DOMAIN}/enrol_face_live", "resident_id": alex, "camera": CAMERA}
    )
    assert (await client.receive_json())["success"]
    events = []
    while not events or "guidance" in events[-1]:
        events.append((await client.receive_json())["event"])

    assert [e.get("guidance") for e in events[:-1]] == [
        "no_face",
        "too_dark",
        "too_blurry",
        "keep_looking",
    ]
    assert events[-1]["error"] == "enrol_not_live"
    assert events[-1]["message"] == EXCEPTIONS["enrol_not_live"]["message"].rstrip(".")
    assert faces.gallery.sample_count(alex) == before


async def test_live_enrolment_refused_to_others_before_any_frame(
    hass: HomeAssistant,
    site: MockConfigEntry,
    hass_admin_user: MockUser,
    hass_read_only_user: MockUser,
    hass_ws_client: WebSocketGenerator,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Another household's user, a read-only user, and a forged resident id: no camera read."""
    alex, _ = await _alex_linked(hass, site, hass_admin_user)
    analysed: list[bytes] = []
    faces = site.runtime_data.faces
    monkeypatch.setattr(faces, "async_analyze", analysed.append)
    other = await hass.auth.async_create_user("Casey", group_ids=["system-users"])
    for user, resident_id, key in [
        (other, alex, "not_allowed"),
        (hass_read_only_user, alex, "not_allowed"),
        (other, "forged-" + alex, "unknown_resident"),
    ]:
        client = await _client_of(hass, hass_ws_client, user)
        await client.send_json(
            {"id": 1, "type": f"{DOMAIN}/enrol_face_live", "resident_id": resident_id,
             "camera": CAMERA}
        )  # fmt: skip
        reply = await client.receive_json()
        assert not reply["success"]
        assert reply["error"]["translation_key"] == key
    await hass.async_block_till_done()
    assert analysed == []
