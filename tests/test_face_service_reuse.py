"""A door that skips encoding a tracked face (face/reuse.py) opens for the same people only."""

import dataclasses
import time
from pathlib import Path

import numpy as np
import pytest
from homeassistant.components.lock.const import LockState
from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    MockUser,
    async_capture_events,
)

from custom_components.facegate import face_watch
from custom_components.facegate.face import reuse
from custom_components.facegate.face.observation import FaceObservation
from custom_components.facegate.face_service import Frame
from custom_components.facegate.gate import EVENT_ACCESS

from .photos import FIXTURE_FACES
from .test_doors import LOCK
from .test_face_enrolment import PORTRAIT
from .test_face_enrolment import pytestmark as needs_face_packages
from .test_face_watch import (
    SENSOR,
    SteppingClock,
    _blinking,
    analysed,
    face_site,
    held_at,
    watch_of,
)

# The same skip without the face packages; the reuse is off by default (face/reuse.py).
pytestmark = [needs_face_packages, pytest.mark.usefixtures("reuse_enabled")]


@pytest.fixture
async def site(hass: HomeAssistant, tmp_path: Path, hass_admin_user: MockUser) -> MockConfigEntry:
    """Flat 1 with face mode on, resident Alex enrolled from the porch camera."""
    entry = await face_site(hass, tmp_path, hass_admin_user)
    yield entry
    await hass.config_entries.async_unload(entry.entry_id)


@pytest.fixture
def stepping_clock(monkeypatch: pytest.MonkeyPatch) -> SteppingClock:
    clock = SteppingClock(0.3)
    monkeypatch.setattr(face_watch, "time", clock)
    return clock


@pytest.fixture
def no_surprise(monkeypatch: pytest.MonkeyPatch) -> None:
    """No unannounced fresh frame: the reuse rules decide alone."""
    monkeypatch.setattr(reuse.secrets, "randbelow", lambda n: n - 1)


def outcomes(events: list) -> list[tuple[str, str]]:
    return [(e.data["outcome"], e.data["reason"]) for e in events]


@pytest.mark.usefixtures("no_surprise")
async def test_the_engine_skips_encoding_the_tracked_resident_on_the_next_frame(
    hass: HomeAssistant, site: MockConfigEntry, stepping_clock: SteppingClock
) -> None:
    """Through the real camera entity and engine process: the second frame reuses."""
    faces = site.runtime_data.faces
    analyse, seen = faces.async_analyze, []

    async def recording(image: bytes, known=()) -> Frame | None:
        frame = await analyse(image, known)
        seen.append((len(known), frame))
        return frame

    faces.async_analyze = recording  # type: ignore[method-assign]
    watch = watch_of(site)

    await watch.async_scan_once()
    await watch.async_scan_once()

    assert [(hinted, [f.encoded for f in frame.faces]) for hinted, frame in seen] == [
        (0, [True]),
        (1, [False]),
    ]
    first, second = seen[0][1].faces[0], seen[1][1].faces[0]
    assert np.array_equal(first.encoding, second.encoding)
    assert hass.states.get(SENSOR).state == "Alex"


@pytest.mark.usefixtures("no_surprise")
async def test_the_door_opens_on_a_freshly_encoded_frame_only(
    hass: HomeAssistant, dlib_site: MockConfigEntry
) -> None:
    """Alex blinks, but every frame after the first reused its encoding: the vote and the
    liveness are there, yet the door waits for a frame encoded afresh, then opens."""
    events = async_capture_events(hass, EVENT_ACCESS)
    watch = watch_of(dlib_site)
    frame = await analysed(hass, dlib_site, PORTRAIT)
    rng, start = np.random.default_rng(7), time.time()

    def alex(lids: float, encoded: bool) -> FaceObservation:
        landmarks = _blinking(frame.faces[0].landmarks, lids) + rng.integers(
            -1, 2, frame.faces[0].landmarks.shape
        )
        return dataclasses.replace(
            frame.faces[0], landmarks=landmarks.astype(np.int32), encoded=encoded
        )

    lids = [0, 0, 0, 0.7, 0.8, 0, 0, 0]
    for index, closed in enumerate(lids):
        await watch.async_process(
            Frame([alex(closed, index == 0)], frame.size), start + index * 0.3
        )
    await hass.async_block_till_done()
    assert events == []
    assert watch._reuse.hint(start + len(lids) * 0.3) == ()  # the next frame is encoded

    await watch.async_process(Frame([alex(0, True)], frame.size), start + len(lids) * 0.3)
    await hass.async_block_till_done()

    assert [(e.data["outcome"], e.data["method"]) for e in events] == [("granted", "face")]
    assert hass.states.get(LOCK).state == LockState.UNLOCKED


@pytest.mark.usefixtures("no_surprise")
async def test_a_photo_swapped_for_a_blinking_stranger_between_fresh_frames_never_opens(
    hass: HomeAssistant, dlib_site: MockConfigEntry
) -> None:
    """A photo of Alex, swapped in the same place for the holder's face, who blinks while the
    engine reuses Alex's encoding; the next fresh frame shows the holder: all of it is
    forgotten, and the photo held up again never blinks."""
    events = async_capture_events(hass, EVENT_ACCESS)
    watch = watch_of(dlib_site)
    photo = await analysed(hass, dlib_site, PORTRAIT)
    stranger = await analysed(hass, dlib_site, FIXTURE_FACES / "kit_harington" / "2.jpg")
    alex, holder = photo.faces[0], held_at(stranger.faces[0], photo.faces[0])
    rng = np.random.default_rng(3)

    def shown(face: FaceObservation, lids: float = 0.0, *, reused: bool = False):
        landmarks = _blinking(face.landmarks, lids) + rng.integers(-1, 2, face.landmarks.shape)
        changes = {"encoding": alex.encoding, "box": alex.box} if reused else {}
        return dataclasses.replace(  # no passive score: the blink rule alone must hold
            face, landmarks=landmarks.astype(np.int32), live_score=None, encoded=not reused,
            **changes,
        )  # fmt: skip

    frames = [shown(alex), shown(alex)]  # the photo, encoded
    # Swapped for the holder, who starts to blink while the engine reuses Alex's encoding ...
    frames += [shown(holder, lids, reused=True) for lids in (0, 0.7, 0.8)]
    frames += [shown(holder, 0.8)]  # ... until a frame encoded afresh shows the holder
    # The photo again, the holder once more (eyes open), then the photo.
    frames += [shown(alex), shown(holder, reused=True), shown(alex), shown(alex), shown(alex)]
    start = time.time()
    for index, face in enumerate(frames):
        await watch.async_process(Frame([face], photo.size), start + index * 0.25)
    await hass.async_block_till_done()
    await watch.async_end_burst()
    await hass.async_block_till_done()

    assert hass.states.get(LOCK).state == LockState.LOCKED
    assert outcomes(events) == [("denied", "not_live")]
