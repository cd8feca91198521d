"""Face sensors and face unlock: a real camera and engine; a photo held up never opens."""

import asyncio
import dataclasses
import shutil
import time
from pathlib import Path

import numpy as np
import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.lock.const import LockState
from homeassistant.const import ATTR_ENTITY_ID
from homeassistant.core import Context, HomeAssistant
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    MockUser,
    async_capture_events,
)

from custom_components.facegate import face_watch
from custom_components.facegate.face_service import Frame
from custom_components.facegate.face_watch import EVENT_UNKNOWN_FACE, FaceWatch
from custom_components.facegate.gate import EVENT_ACCESS

from .conftest import FRONT_DOOR, setup_site, site_entry
from .photos import FIXTURE_FACES
from .test_doors import LOCK, PIN, add_resident, call
from .test_face_enrolment import PORTRAIT, add_camera, pytestmark  # noqa: F401 - same skip
from .test_voice import say, start_assist

CAMERA = "camera.porch"
SENSOR = "sensor.front_door_face_at_porch"


@pytest.fixture
async def site(hass: HomeAssistant, tmp_path: Path, hass_admin_user: MockUser) -> MockConfigEntry:
    """Flat 1 with face mode on, resident Alex enrolled from the porch camera."""
    entry = await face_site(hass, tmp_path, hass_admin_user)
    yield entry
    await hass.config_entries.async_unload(entry.entry_id)


async def face_site(
    hass: HomeAssistant,
    tmp_path: Path,
    admin: MockUser,
    flat_1: dict | None = None,
    door: dict | None = None,
) -> MockConfigEntry:
    """A site whose front door watches the porch camera, with Alex's face enrolled."""
    shutil.copyfile(PORTRAIT, tmp_path / "porch.jpg")
    await add_camera(hass, "porch", tmp_path / "porch.jpg")
    assert await async_setup_component(hass, "input_boolean", {"input_boolean": {"motion": {}}})
    motion = {"name": "porch motion", "state": "{{ is_state('input_boolean.motion', 'on') }}"}
    assert await async_setup_component(
        hass, "template", {"template": [{"binary_sensor": [motion]}]}
    )
    door = {
        "camera_entity_ids": [CAMERA],
        "face_trigger_entity_ids": ["binary_sensor.porch_motion"],
        **(door or {}),
    }
    entry = await setup_site(hass, site_entry(door=door, flat_1=flat_1))
    resident = await add_resident(hass, admin, show_name=True)
    await call(hass, "set_pin", {"resident_id": resident, "pin": PIN}, admin)
    await call(hass, "set_face_consent", {"resident_id": resident, "consent": True}, admin)
    await call(hass, "enrol_face", {"resident_id": resident, "camera": CAMERA, "samples": 1},
               admin)  # fmt: skip
    await hass.services.async_call(
        "switch", "turn_on", {ATTR_ENTITY_ID: "switch.flat_1_face"}, blocking=True,
        context=Context(user_id=admin.id),
    )  # fmt: skip
    return entry


def watch_of(entry: MockConfigEntry) -> FaceWatch:
    return entry.runtime_data.face_watches[(FRONT_DOOR, CAMERA)]


class SteppingClock:
    """face_watch's clock: every reading is `step` seconds after the previous one.

    The scans' timestamps and the burst's length then follow the number of scans, not how fast
    a loaded machine runs them (on a busy CPU, real time spread too few frames over the window).
    """

    def __init__(self, step: float) -> None:
        self.step = step
        self.now = time.time()

    def time(self) -> float:
        self.now += self.step
        return self.now

    monotonic = time


@pytest.fixture
def stepping_clock(monkeypatch: pytest.MonkeyPatch) -> SteppingClock:
    clock = SteppingClock(0.3)
    monkeypatch.setattr(face_watch, "time", clock)
    return clock


async def test_a_photo_held_to_the_camera_is_recognised_but_never_opens(
    hass: HomeAssistant, site: MockConfigEntry, stepping_clock: SteppingClock
) -> None:
    events = async_capture_events(hass, EVENT_ACCESS)
    watch = watch_of(site)

    for _ in range(8):  # the camera serves the same still: what a printed photo looks like
        await watch.async_scan_once()
    await hass.async_block_till_done()
    assert events == []  # not refused yet: a live face might still blink
    await watch.async_end_burst()
    await hass.async_block_till_done()

    assert hass.states.get(SENSOR).state == "Alex"
    assert hass.states.get(SENSOR).attributes["faces"] == 1
    assert hass.states.get(LOCK).state == LockState.LOCKED
    assert [(e.data["outcome"], e.data["reason"]) for e in events] == [("denied", "not_live")]


async def show_live_face(hass: HomeAssistant, entry: MockConfigEntry, start: float) -> None:
    """Frames of Alex's face at the porch, moving slightly and blinking once."""
    watch = watch_of(entry)
    image = await hass.async_add_executor_job(PORTRAIT.read_bytes)
    frame = await entry.runtime_data.faces.async_analyze(image)
    assert frame is not None
    rng = np.random.default_rng(7)
    for index, lids in enumerate([0, 0, 0, 0.7, 0.8, 0, 0, 0]):  # eyes close, then open
        face = frame.faces[0]
        landmarks = _blinking(face.landmarks, lids) + rng.integers(-1, 2, size=(68, 2))
        moved = dataclasses.replace(face, landmarks=landmarks.astype(np.int32))
        await watch.async_process(Frame([moved], frame.size), start + index * 0.3)
    await hass.async_block_till_done()


async def test_a_live_face_opens_the_door(hass: HomeAssistant, site: MockConfigEntry) -> None:
    events = async_capture_events(hass, EVENT_ACCESS)

    await show_live_face(hass, site, time.time())

    assert [(e.data["outcome"], e.data["method"], e.data["reason"]) for e in events] == [
        ("granted", "face", "granted")
    ]
    assert hass.states.get(LOCK).state == LockState.UNLOCKED


async def test_two_mode_household_needs_face_and_pin(
    hass: HomeAssistant, tmp_path: Path, hass_admin_user: MockUser
) -> None:
    entry = await face_site(hass, tmp_path, hass_admin_user, flat_1={"policy": "two_modes"})
    events = async_capture_events(hass, EVENT_ACCESS)

    await show_live_face(hass, entry, time.time())
    assert hass.states.get(LOCK).state == LockState.LOCKED  # face alone is not enough here
    result = await call(hass, "present_credential", {ATTR_ENTITY_ID: LOCK, "pin": PIN})

    assert result["granted"] is True
    assert [(e.data["outcome"], e.data["method"], e.data["reason"]) for e in events] == [
        ("denied", "face", "second_factor_needed"),
        ("granted", "face+pin", "granted"),
    ]
    assert hass.states.get(LOCK).state == LockState.UNLOCKED
    await hass.config_entries.async_unload(entry.entry_id)


async def test_motion_starts_scanning_and_nobody_is_reported(
    hass: HomeAssistant, site: MockConfigEntry
) -> None:
    assert hass.states.get(SENSOR).state == "nobody"  # no trigger yet: no scan, no CPU
    watch = watch_of(site)

    await hass.services.async_call(
        "input_boolean", "turn_on", {ATTR_ENTITY_ID: "input_boolean.motion"}, blocking=True
    )
    await hass.async_block_till_done()
    assert watch._scanning is not None

    watch._scan_until = 0  # the scan time is over, but the motion sensor still sees someone
    await asyncio.sleep(1)
    assert not watch._scanning.done()
    await hass.services.async_call(
        "input_boolean", "turn_off", {ATTR_ENTITY_ID: "input_boolean.motion"}, blocking=True
    )
    await asyncio.wait_for(watch._scanning, timeout=10)  # stops once the trigger is off


def _blinking(landmarks: np.ndarray, closed: float) -> np.ndarray:
    """Move the eyelids (points 37, 38, 40, 41 and 43, 44, 46, 47) towards each eye's middle."""
    points = landmarks.astype(float).copy()
    for upper, lower in (((37, 38), (41, 40)), ((43, 44), (47, 46))):
        for top, bottom in zip(upper, lower, strict=True):
            middle = (points[top] + points[bottom]) / 2
            points[top] += (middle - points[top]) * closed
            points[bottom] += (middle - points[bottom]) * closed
    return points


@pytest.mark.parametrize(("delay", "outcome"), [(0, "granted"), (21, "denied")])
async def test_a_recognised_resident_backs_a_spoken_unlock(
    hass: HomeAssistant,
    tmp_path: Path,
    hass_admin_user: MockUser,
    freezer: FrozenDateTimeFactory,
    delay: float,
    outcome: str,
) -> None:
    """Recognised (not yet proven live) plus a voice request: two factors, within 20 s."""
    entry = await face_site(hass, tmp_path, hass_admin_user, door={"allow_voice_unlock": True})
    await start_assist(hass)
    watch = watch_of(entry)
    for _ in range(4):  # enough frames for the vote; a still never proves live by itself
        await watch.async_scan_once()
    assert hass.states.get(LOCK).state == LockState.LOCKED
    events = async_capture_events(hass, EVENT_ACCESS)
    freezer.tick(delay)

    await say(hass, "unlock the front door", hass_admin_user)

    assert [(e.data["method"], e.data["reason"]) for e in events] == [
        ("voice+face", "granted") if delay == 0 else ("voice", "voice_second_factor_needed")
    ]
    assert hass.states.get(LOCK).state == (
        LockState.UNLOCKED if outcome == "granted" else LockState.LOCKED
    )
    await hass.config_entries.async_unload(entry.entry_id)


async def test_a_stranger_is_reported_once_a_burst(
    hass: HomeAssistant, site: MockConfigEntry, tmp_path: Path
) -> None:
    stranger = FIXTURE_FACES / "kit_harington" / "2.jpg"
    await hass.async_add_executor_job(shutil.copyfile, stranger, tmp_path / "porch.jpg")
    unknown = async_capture_events(hass, EVENT_UNKNOWN_FACE)
    watch = watch_of(site)

    for _ in range(5):
        await watch.async_scan_once()
    await hass.async_block_till_done()

    assert hass.states.get(SENSOR).state == "unknown"
    assert [e.data for e in unknown] == [
        {
            "entity_id": LOCK,
            "door_id": FRONT_DOOR,
            "door": "Front door",
            "camera_entity_id": CAMERA,
        }
    ]
    event_state = hass.states.get("event.front_door_access")
    assert event_state.attributes["event_type"] == "unknown_face"
    assert event_state.attributes["camera"] == CAMERA
    await watch.async_end_burst()  # a new burst may report again
    for _ in range(3):
        await watch.async_scan_once()
    assert len(unknown) == 2
    assert hass.states.get(LOCK).state == LockState.LOCKED


async def test_a_burst_of_a_held_up_photo_ends_in_one_refusal(
    hass: HomeAssistant,
    tmp_path: Path,
    hass_admin_user: MockUser,
    stepping_clock: SteppingClock,
) -> None:
    """The whole loop: a trigger, scans of a still picture, the burst ends, refused once."""
    # The loop reads the clock 4 times a scan: a 3 s burst is 7 or 8 scans, 0.4 s apart.
    stepping_clock.step = 0.1
    door = {"scan_duration": 3, "scan_interval": 0.2}
    entry = await face_site(hass, tmp_path, hass_admin_user, door=door)
    events = async_capture_events(hass, EVENT_ACCESS)
    watch = watch_of(entry)

    for service in ("turn_on", "turn_off"):
        await hass.services.async_call(
            "input_boolean", service, {ATTR_ENTITY_ID: "input_boolean.motion"}, blocking=True
        )
        await hass.async_block_till_done()
    assert watch._scanning is not None
    await asyncio.wait_for(watch._scanning, timeout=30)
    await hass.async_block_till_done()

    assert [(e.data["outcome"], e.data["reason"]) for e in events] == [("denied", "not_live")]
    assert hass.states.get(LOCK).state == LockState.LOCKED
    await hass.config_entries.async_unload(entry.entry_id)
