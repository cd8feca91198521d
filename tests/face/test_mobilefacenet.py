"""The YuNet + MobileFaceNet engine on real photos (numpy executor: runs without onnxruntime)."""

import secrets

import numpy as np
import pytest

from custom_components.facegate.face.decision import decide
from custom_components.facegate.face.engine import load_image_file
from custom_components.facegate.face.gallery import Gallery
from custom_components.facegate.face.mobilefacenet import (
    ARCFACE_TEMPLATE,
    MobileFaceNetEncoder,
    YuNetDetector,
    align,
    similarity_transform,
)
from custom_components.facegate.face.models import ENGINE_DLIB, ENGINE_KEYS, ENGINE_MOBILEFACENET
from custom_components.facegate.face.protection import TemplateProtector

from ..photos import Photos

SCENE = "_scenes/rose_leslie_kit_harington.jpg"


@pytest.fixture(scope="module")
def detector() -> YuNetDetector:
    return YuNetDetector(runtime="numpy")


@pytest.fixture(scope="module")
def encoder() -> MobileFaceNetEncoder:
    return MobileFaceNetEncoder(runtime="numpy")


def test_yunet_finds_one_face_with_its_landmarks_in_place(
    faces: Photos, detector: YuNetDetector
) -> None:
    """A portrait: one face; eyes above the nose above the mouth; the person's right eye left."""
    image = load_image_file(faces / "barack_obama/1.jpg")
    boxes, scores, points = detector.detect(image)
    assert len(boxes) == 1
    assert scores[0] >= 0.6
    left, top, right, bottom = boxes[0]
    assert (points[0][:, 0] > left).all()
    assert (points[0][:, 0] < right).all()
    assert (points[0][:, 1] > top).all()
    assert (points[0][:, 1] < bottom).all()
    right_eye, left_eye, nose, mouth_right, mouth_left = points[0]
    assert right_eye[0] < left_eye[0]
    assert mouth_right[0] < mouth_left[0]
    assert max(right_eye[1], left_eye[1]) < nose[1] < min(mouth_right[1], mouth_left[1])


def test_yunet_finds_no_face_in_a_blank_picture(faces: Photos, detector: YuNetDetector) -> None:
    boxes, _, _ = detector.detect(load_image_file(faces / "_scenes/noface_blank_white.png"))
    assert len(boxes) == 0


def test_alignment_puts_the_landmarks_on_the_template() -> None:
    """A known similarity (rotate 10 degrees, scale 2, shift) is recovered exactly."""
    angle = np.deg2rad(10)
    rotation = 2 * np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    source = (ARCFACE_TEMPLATE - 50) @ rotation.T + [300, 200]
    matrix = similarity_transform(source, ARCFACE_TEMPLATE)
    mapped = source @ matrix[:, :2].T + matrix[:, 2]
    assert np.abs(mapped - ARCFACE_TEMPLATE).max() < 1e-9


def test_the_embedding_is_a_unit_vector_that_ignores_mirroring(
    faces: Photos, detector: YuNetDetector, encoder: MobileFaceNetEncoder
) -> None:
    """Mirror averaging: a face and its mirror image give the same (unit) embedding."""
    image = load_image_file(faces / "barack_obama/1.jpg")
    _, _, points = detector.detect(image)
    crop = align(image, points[0])
    embedding = encoder.embed_crop(crop)
    assert embedding.shape == (128,)
    assert abs(np.linalg.norm(embedding) - 1.0) < 1e-9
    assert np.abs(embedding - encoder.embed_crop(np.ascontiguousarray(crop[:, ::-1]))).max() < 1e-5


def test_a_portrait_matches_the_same_person_in_a_scene_and_not_the_other(
    faces: Photos, detector: YuNetDetector, encoder: MobileFaceNetEncoder
) -> None:
    """Enrol Rose Leslie and Kit Harington from portraits; the scene's faces go to the right one.

    Through the real decision rule with MobileFaceNet's constants, templates protected.
    """
    gallery = Gallery(TemplateProtector(secrets.token_bytes(32)), ENGINE_KEYS[ENGINE_MOBILEFACENET])
    for name, photo in (("rose", "rose_leslie/2.jpg"), ("kit", "kit_harington/2.jpg")):
        image = load_image_file(faces / photo)
        _, _, points = detector.detect(image)
        gallery.add_identity(name, [encoder.embed(image, points[0])])
    scene = load_image_file(faces / SCENE)
    boxes, _, points = detector.detect(scene)
    assert len(boxes) == 2
    order = np.argsort(boxes[:, 0])  # left to right: Rose Leslie, then Kit Harington
    found = [decide(gallery, encoder.embed(scene, points[i])).resident_id for i in order]
    assert found == ["rose", "kit"]


def test_dlib_constants_would_refuse_what_mobilefacenet_accepts(
    faces: Photos, detector: YuNetDetector, encoder: MobileFaceNetEncoder
) -> None:
    """The rule's constants follow the gallery's engine: a MobileFaceNet genuine distance
    (about 0.8-1.0) is far beyond dlib's cap of 0.53."""
    image = load_image_file(faces / "rose_leslie/2.jpg")
    _, _, points = detector.detect(image)
    protector = TemplateProtector(secrets.token_bytes(32))
    own = Gallery(protector, ENGINE_KEYS[ENGINE_MOBILEFACENET])
    own.add_identity("rose", [encoder.embed(image, points[0])])
    scene = load_image_file(faces / SCENE)
    boxes, _, scene_points = detector.detect(scene)
    probe = encoder.embed(scene, scene_points[int(np.argmin(boxes[:, 0]))])
    assert decide(own, probe).reason == "match"
    wrong = Gallery(protector, ENGINE_KEYS[ENGINE_DLIB])
    wrong.add_identity("rose", [encoder.embed(image, points[0])])
    assert decide(wrong, probe).reason == "unknown"
