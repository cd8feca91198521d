"""Passive anti-spoofing: the same score on both runtimes, the original crop, real replays low."""

import csv
from pathlib import Path

import numpy as np
import pytest

from custom_components.facegate.face.antispoof import INPUT, AntiSpoof, crop
from custom_components.facegate.face.engine import load_image_file
from custom_components.facegate.face.mobilefacenet import YuNetDetector, _to_box
from custom_components.facegate.face.observation import FaceObservation

from ..photos import Photos

FACE_PHOTOS = ("barack_obama/1.jpg", "kit_harington/2.jpg", "rose_leslie/2.jpg")
LIVENESS = Path(__file__).resolve().parents[2].parent / "shared" / "liveness"


def _box_of(detector: YuNetDetector, image: np.ndarray) -> tuple[int, int, int, int]:
    boxes, _, _ = detector.detect(image)
    assert len(boxes), "no face found"
    return _to_box(boxes[0], *image.shape[:2])


def test_numpy_and_onnxruntime_give_the_same_score_on_real_faces(faces: Photos) -> None:
    """Crop, both models, softmax, mean: the whole path, on real photos, to 1e-4."""
    pytest.importorskip("onnxruntime")
    detector = YuNetDetector(runtime="numpy")
    with_numpy, with_ort = AntiSpoof("numpy"), AntiSpoof("onnxruntime")
    assert (with_numpy.runtime, with_ort.runtime) == ("numpy", "onnxruntime")
    for name in FACE_PHOTOS:
        image = load_image_file(faces / name)
        box = _box_of(detector, image)
        assert abs(with_numpy.score(image, box) - with_ort.score(image, box)) <= 1e-4


def test_the_crop_is_the_scaled_box_kept_inside_the_image() -> None:
    image = np.zeros((200, 300, 3), dtype=np.uint8)
    image[:, 150:] = 255  # right half white
    # A 20 px box at the left edge, scaled 4x: 80 px wide, shifted right to stay inside.
    patch = crop(image, (90, 30, 110, 10), 4.0, 1.0)
    assert patch.shape == (INPUT, INPUT, 3)
    assert patch.max() == 0  # x 0..80: all in the black half
    # A scale beyond the image is cut to what fits: the whole height, never padding.
    whole = crop(image, (50, 200, 150, 100), 10.0, 1.0)
    assert whole.shape == (INPUT, INPUT, 3)
    assert 0 < whole.mean() < 255  # both halves seen


def test_every_face_is_scored_also_the_smallest_of_a_crowd(faces: Photos) -> None:
    """A face left unscored was judged by the blink alone (tests/test_attacks_s7.py)."""
    image = load_image_file(faces / FACE_PHOTOS[0])
    box = _box_of(YuNetDetector(runtime="numpy"), image)
    small = (box[0], box[3] + 10, box[0] + 10, box[3])
    observations = [
        FaceObservation(b, np.zeros(128), np.zeros((68, 2), np.int32), 100.0, 100.0)
        for b in (small, small, small, box)
    ]
    scored = AntiSpoof("numpy").score_faces(image, observations)
    assert all(face.live_score is not None for face in scored)  # four of four


def _clip_frames(path: Path, count: int) -> list[np.ndarray]:
    av = pytest.importorskip("av", reason="PyAV (a development-only decoder) is not installed")
    with av.open(str(path)) as container:
        decoded = list(container.decode(video=0))
    step = max(1, len(decoded) // count)
    frames = []
    for frame in decoded[step // 2 :: step][:count]:
        image = frame.to_image()
        if rotation := getattr(frame, "rotation", 0):
            image = image.rotate(rotation, expand=True)
        frames.append(np.asarray(image.convert("RGB")))
    return frames


@pytest.mark.skipif(not LIVENESS.is_dir(), reason="../shared/liveness (dev clips) is absent")
def test_real_screen_replays_score_spoof_and_live_people_live() -> None:
    """On real clips (never copied into the repository): replayed faces low, live ones high."""
    with (LIVENESS / "subjects.csv").open(newline="") as file:
        files = [row["file"] for row in csv.DictReader(file)]
    chosen = [f for f in files if "wolfhuo" in f or "wingscape" in f or "glasses_office" in f]
    detector, model = YuNetDetector(), AntiSpoof()
    for name in chosen:
        scores = []
        for image in _clip_frames(LIVENESS / name, 4):
            boxes, _, _ = detector.detect(image)
            if len(boxes):
                scores.append(model.score(image, _to_box(boxes[0], *image.shape[:2])))
        assert len(scores) >= 3, name
        assert (np.mean(scores) >= 0.5) == name.startswith("live/"), (name, scores)
