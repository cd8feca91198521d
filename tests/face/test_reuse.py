"""Reusing a tracked face's encoding (face/reuse.py): only the same face, barely moved, briefly."""

from collections.abc import Iterator

import numpy as np
import pytest

from custom_components.facegate.face import reuse
from custom_components.facegate.face.engine import DETECT_SCALE, FaceEngine
from custom_components.facegate.face.models import FaceEngineUnavailable, find_models
from custom_components.facegate.face.observation import FaceObservation
from custom_components.facegate.face.reuse import (
    REUSE_FRAMES,
    REUSE_SECONDS,
    EncodingReuse,
    close,
    reused_encodings,
)
from custom_components.facegate.face.worker import EngineWorker

from ..photos import Photos
from .conftest import load_rgb

pytestmark = pytest.mark.usefixtures("reuse_enabled")  # off by default (face/reuse.py)


PORTRAIT = "barack_obama/1.jpg"
STRANGER = "kit_harington/2.jpg"
BOX = (100, 300, 300, 100)  # top, right, bottom, left: a 200 px face
ENCODING = np.linspace(-0.2, 0.2, 128)


def face(box=BOX, encoding=ENCODING, *, encoded: bool = True) -> FaceObservation:
    return FaceObservation(
        box=box,
        encoding=encoding,
        landmarks=np.zeros((68, 2), dtype=np.int32),
        sharpness=100.0,
        brightness=120.0,
        encoded=encoded,
    )


def shifted(box: tuple[int, int, int, int], dx: int, dy: int = 0) -> tuple[int, int, int, int]:
    top, right, bottom, left = box
    return top + dy, right + dx, bottom + dy, left + dx


@pytest.fixture
def no_surprise(monkeypatch: pytest.MonkeyPatch) -> None:
    """No unannounced fresh frame: the rules below decide alone."""
    monkeypatch.setattr(reuse.secrets, "randbelow", lambda n: n - 1)


@pytest.fixture(scope="module")
def door_engine() -> FaceEngine:
    try:
        find_models()
    except FaceEngineUnavailable as err:
        pytest.skip(f"face engine unavailable: {err}")
    return FaceEngine(upsample=0, detect_scale=DETECT_SCALE)


def test_only_a_box_that_barely_moved_counts_as_the_same_face() -> None:
    assert close(BOX, shifted(BOX, 40, 20))  # 45 px of a 200 px face
    assert not close(BOX, shifted(BOX, 60))  # a jump
    assert not close(BOX, (100, 360, 360, 100))  # 1.3x wider: someone else leaned in
    assert not close(BOX, (0, 1000, 600, 400))  # elsewhere entirely


def test_two_faces_near_one_known_face_are_both_encoded() -> None:
    """A photo held next to the resident's head: neither face borrows the other's encoding."""
    near = [shifted(BOX, 10), shifted(BOX, -10)]
    assert reused_encodings(near, [(BOX, ENCODING)]) == [None, None]
    alone = reused_encodings([shifted(BOX, 10), (0, 1000, 200, 800)], [(BOX, ENCODING)])
    assert alone[0] is ENCODING
    assert alone[1] is None


def test_a_face_that_barely_moved_reuses_its_encoding_and_the_rest_is_measured_again(
    faces: Photos, door_engine: FaceEngine
) -> None:
    image = load_rgb(faces / PORTRAIT)
    (first,) = door_engine.analyze(image)
    moved = np.roll(image, 6, axis=1)  # the face moved 6 px: landmarks and quality change
    (fresh,) = door_engine.analyze(moved)

    (second,) = door_engine.analyze(moved, ((first.box, first.encoding),))

    assert first.encoded
    assert not second.encoded
    assert second.encoding is first.encoding
    assert close(fresh.box, second.box)
    assert second.box != first.box  # found where it is now (around where it was)
    measured = door_engine.describe(moved, second.box)
    assert np.array_equal(second.landmarks, measured.landmarks)
    assert (second.sharpness, second.brightness) == (measured.sharpness, measured.brightness)


def test_a_jumped_box_is_encoded_again(faces: Photos, door_engine: FaceEngine) -> None:
    image = load_rgb(faces / PORTRAIT)
    (first,) = door_engine.analyze(image)
    elsewhere = shifted(first.box, first.width)  # a face width to the side

    (again,) = door_engine.analyze(image, ((elsewhere, np.zeros(128)),))

    assert again.encoded
    assert np.array_equal(again.encoding, first.encoding)


@pytest.mark.usefixtures("no_surprise")
def test_an_unknown_face_is_never_reused() -> None:
    reuse_ = EncodingReuse()
    reuse_.record(face(), identified=False, now=0.0)
    assert reuse_.hint(0.3) == ()


@pytest.mark.usefixtures("no_surprise")
def test_a_resident_is_reused_for_a_few_frames_then_encoded_again() -> None:
    reuse_, now = EncodingReuse(), 0.0
    reuse_.record(face(), identified=True, now=now)
    for _ in range(REUSE_FRAMES):
        now += 0.2
        ((box, encoding),) = reuse_.hint(now)
        assert encoding is ENCODING
        assert not reuse_.record(face(box, encoding, encoded=False), identified=True, now=now)
    assert reuse_.hint(now + 0.2) == ()  # REUSE_FRAMES in a row: the next one is encoded
    reuse_.record(face(), identified=True, now=now + 0.2)
    assert reuse_.hint(now + 0.4) != ()


@pytest.mark.usefixtures("no_surprise")
def test_an_encoding_is_not_reused_after_a_gap() -> None:
    reuse_ = EncodingReuse()
    reuse_.record(face(), identified=True, now=0.0)
    assert reuse_.hint(REUSE_SECONDS + 0.01) == ()
    assert reuse_.hint(-0.5) == ()  # a clock that went back: no reuse either


@pytest.mark.usefixtures("no_surprise")
def test_a_fresh_frame_that_no_longer_matches_after_reused_ones_is_a_contradiction() -> None:
    """A photo of a resident swapped for a stranger's face in the same place."""
    reuse_ = EncodingReuse()
    reuse_.record(face(), identified=True, now=0.0)
    assert not reuse_.record(face(encoded=False), identified=True, now=0.2)

    assert reuse_.record(face(), identified=False, now=0.4)  # encoded afresh: unknown
    assert reuse_.hint(0.6) == ()
    # Without reused frames before it, an unknown frame is only an unknown frame.
    reuse_.record(face(), identified=True, now=0.8)
    assert not reuse_.record(face(), identified=False, now=1.0)


def test_some_frames_are_encoded_afresh_unannounced(monkeypatch: pytest.MonkeyPatch) -> None:
    draws = iter([1, 0])
    monkeypatch.setattr(reuse.secrets, "randbelow", lambda n: next(draws))
    reuse_ = EncodingReuse()
    reuse_.record(face(), identified=True, now=0.0)
    assert reuse_.hint(0.2) != ()
    assert reuse_.hint(0.2) == ()  # the draw said: encode this one


@pytest.fixture(scope="module")
def worker() -> Iterator[EngineWorker]:
    try:
        find_models()
    except FaceEngineUnavailable as err:
        pytest.skip(f"face engine unavailable: {err}")
    engine_worker = EngineWorker()
    yield engine_worker
    engine_worker.stop()


def test_the_engine_process_reuses_only_the_known_face(worker: EngineWorker, faces: Photos) -> None:
    portrait = (faces / PORTRAIT).read_bytes()
    first = worker.analyze_image(portrait, 30)
    assert first is not None
    (known,) = first[0]

    again = worker.analyze_image(portrait, 30, ((known.box, known.encoding),))
    other = worker.analyze_image(
        (faces / STRANGER).read_bytes(), 30, ((known.box, known.encoding),)
    )

    assert again is not None
    assert other is not None
    assert not again[0][0].encoded
    assert np.array_equal(again[0][0].encoding, known.encoding)
    assert again[0][0].live_score is not None  # anti-spoofing still ran
    assert [face.encoded for face in other[0]] == [True]
    assert np.linalg.norm(other[0][0].encoding - known.encoding) > 0.6


def two_people(faces: Photos) -> np.ndarray:
    """The portrait on the left of a grey frame, another person on the right."""
    canvas = np.full((720, 1600, 3), 128, dtype=np.uint8)
    left, right = load_rgb(faces / PORTRAIT), load_rgb(faces / STRANGER)
    left = left[:720, :700]
    canvas[: left.shape[0], : left.shape[1]] = left
    canvas[: right.shape[0], -right.shape[1] :] = right
    return canvas


def test_a_frame_that_may_reuse_looks_only_around_the_tracked_face(
    faces: Photos, door_engine: FaceEngine
) -> None:
    """The other person is seen again on the next fresh frame, not on the reused one."""
    image = two_people(faces)
    both = door_engine.analyze(image)
    assert len(both) == 2
    tracked = min(both, key=lambda face: face.box[3])  # the portrait, on the left

    (reused,) = door_engine.analyze(image, ((tracked.box, tracked.encoding),))

    assert not reused.encoded
    assert close(tracked.box, reused.box)
    # Nobody where the known face was: the whole frame is searched, every face encoded.
    nowhere = ((300, 900, 500, 700), tracked.encoding)
    assert [face.encoded for face in door_engine.analyze(image, (nowhere,))] == [True, True]
