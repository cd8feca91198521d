"""The engine: bitwise equal to face_recognition 1.3.0, image decoding, missing models."""

import importlib
import importlib.util
import io
import struct
import sys
import types
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageFilter

from custom_components.facegate.face.engine import (
    FaceEngine,
    ImageError,
    check_image,
    decode_image,
    load_image_file,
)
from custom_components.facegate.face.models import (
    FaceEngineUnavailable,
    ModelPaths,
    engine_available,
    find_models,
)

from ..photos import Photos
from .conftest import load_rgb

# Identity photos (JPEG, RGBA PNG, grayscale PNG crops; two with a box cut by the image edge)
# and multi-face scenes, all small enough to keep the test quick.
PHOTOS = [
    "barack_obama/1.jpg",
    "kit_harington/2.jpg",
    "rose_leslie/2.jpg",
    "alex_lacamoire/1.png",
    "mayim_bialik/1.png",
    "kaley_cuoco/4.png",
    "simon_helberg/5.png",
    "_scenes/rose_leslie_kit_harington.jpg",
    "_scenes/bbt_cast_6.jpg",
]
PORTRAIT = "barack_obama/1.jpg"


def encode(image: Image.Image, fmt: str = "PNG", **params) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **params)
    return out.getvalue()


def test_models_found() -> None:
    paths = find_models()
    assert engine_available()
    for path in (paths.detector_cnn, paths.shape_68, paths.shape_5, paths.encoder):
        assert path.is_file()


def test_models_missing(tmp_path: Path) -> None:
    with pytest.raises(FaceEngineUnavailable) as err:
        find_models(tmp_path)
    assert err.value.reason == "models_missing"
    assert not engine_available(tmp_path)


def test_one_model_file_missing(tmp_path: Path) -> None:
    real = find_models()
    for path in (real.shape_5, real.encoder, real.detector_cnn):
        (tmp_path / path.name).symlink_to(path)
    with pytest.raises(FaceEngineUnavailable, match="shape_predictor_68") as err:
        find_models(tmp_path)
    assert err.value.reason == "models_missing"


def test_unreadable_model_file(tmp_path: Path) -> None:
    real = find_models()
    broken = tmp_path / real.shape_5.name
    broken.write_bytes(b"not a model")
    paths = ModelPaths(real.detector_cnn, real.shape_68, broken, real.encoder)
    with pytest.raises(FaceEngineUnavailable) as err:
        FaceEngine(models=paths)
    assert err.value.reason == "models_missing"


def test_dlib_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    real_find_spec = importlib.util.find_spec

    def find_spec(name: str, package: str | None = None):
        return None if name == "dlib" else real_find_spec(name, package)

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)
    with pytest.raises(FaceEngineUnavailable) as err:
        find_models()
    assert err.value.reason == "dlib_missing"
    assert not engine_available()


def test_models_package_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    real_find_spec = importlib.util.find_spec

    def find_spec(name: str, package: str | None = None):
        return None if name == "face_recognition_models" else real_find_spec(name, package)

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)
    with pytest.raises(FaceEngineUnavailable) as err:
        find_models()
    assert err.value.reason == "models_missing"


def test_models_package_shadowed(monkeypatch: pytest.MonkeyPatch) -> None:
    """A stand-in module without a spec (like the face_recognition shim) hides the models."""
    monkeypatch.setitem(sys.modules, "face_recognition_models", types.ModuleType("stand-in"))
    with pytest.raises(FaceEngineUnavailable) as err:
        find_models()
    assert err.value.reason == "models_missing"


def test_dlib_import_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    real_import = importlib.import_module

    def import_module(name: str, package: str | None = None):
        if name == "dlib":
            raise ImportError("libstdc++.so.6: cannot open shared object file")
        return real_import(name, package)

    monkeypatch.setattr(importlib, "import_module", import_module)
    with pytest.raises(FaceEngineUnavailable) as err:
        FaceEngine(models=find_models())
    assert err.value.reason == "dlib_missing"


def test_bad_arguments(engine: FaceEngine) -> None:
    with pytest.raises(ValueError, match="detector"):
        FaceEngine("fast")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="upsample"):
        FaceEngine(upsample=-1)
    with pytest.raises(ValueError, match="uint8"):
        engine.analyze(np.zeros((10, 10, 3), dtype=np.float32))
    with pytest.raises(ValueError, match="uint8"):
        engine.analyze(np.zeros((10, 10), dtype=np.uint8))
    with pytest.raises(ValueError, match="empty"):
        check_image(np.zeros((0, 10, 3), dtype=np.uint8))
    with pytest.raises(TypeError):
        check_image(b"not an array")


@pytest.mark.parametrize("name", PHOTOS)
def test_equal_to_face_recognition(faces: Photos, engine: FaceEngine, face_recognition, name):
    image = load_rgb(faces / name)
    locations = face_recognition.face_locations(image)
    encodings = face_recognition.face_encodings(image, known_face_locations=locations)
    shapes = face_recognition.api._raw_face_landmarks(image, locations, model="large")

    observations = engine.analyze(image)

    assert locations, "the reference finds faces in every photo of this list"
    assert [o.box for o in observations] == locations
    assert len(observations) == len(encodings)
    for observation, encoding, shape in zip(observations, encodings, shapes, strict=True):
        assert observation.encoding.shape == (128,)
        assert observation.encoding.dtype == np.float64
        assert np.array_equal(observation.encoding, encoding)  # bitwise, not approximately
        landmarks = np.array([(p.x, p.y) for p in shape.parts()], dtype=np.int32)
        assert observation.landmarks.dtype == np.int32
        assert np.array_equal(observation.landmarks, landmarks)
        assert observation.sharpness > 0
        assert 0 < observation.brightness < 255
        assert observation.width == observation.box[1] - observation.box[3] > 0


def test_decode_equal_to_face_recognition_loader(faces: Photos, face_recognition) -> None:
    for name in ("barack_obama/1.jpg", "alex_lacamoire/1.png", "mayim_bialik/1.png"):
        expected = face_recognition.load_image_file(faces / name)
        decoded = load_image_file(faces / name, max_pixels=100_000_000)
        assert decoded.dtype == np.uint8
        assert np.array_equal(decoded, expected), name


def test_cnn_detector_equal_to_face_recognition(faces: Photos, face_recognition) -> None:
    image = load_rgb(faces / "mayim_bialik/1.png")  # 150x150: the CNN is slow on a CPU
    cnn = FaceEngine("cnn", upsample=1)
    locations = face_recognition.face_locations(image, 1, model="cnn")
    encodings = face_recognition.face_encodings(image, known_face_locations=locations)

    observations = cnn.analyze(image)

    assert len(locations) == 1
    assert [o.box for o in observations] == locations
    assert np.array_equal(observations[0].encoding, encodings[0])


@pytest.mark.parametrize("name", ["_scenes/noface_horses.jpg", "_scenes/noface_blank_white.png"])
def test_no_face_scene(faces: Photos, engine: FaceEngine, name: str) -> None:
    assert engine.analyze(load_rgb(faces / name)) == []


def test_no_face_grey(engine: FaceEngine) -> None:
    assert engine.analyze(np.full((480, 640, 3), 128, dtype=np.uint8)) == []


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "empty"),
        (b"\x00" * 100, "not_an_image"),
        (b"GIF89a but not really", "not_an_image"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, "not_an_image"),
    ],
)
def test_decode_garbage(data: bytes, reason: str) -> None:
    with pytest.raises(ImageError) as err:
        decode_image(data)
    assert err.value.reason == reason


def test_decode_bomb() -> None:
    """A 20000x20000 PNG header: refused by Pillow's pixel limit before decoding anything."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", 20_000, 20_000, 8, 2, 0, 0, 0)
    data = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IEND", b"")
    with pytest.raises(ImageError) as err:
        decode_image(data)
    assert err.value.reason == "too_large"


def test_decode_truncated_jpeg(faces: Photos) -> None:
    data = (faces / PORTRAIT).read_bytes()
    with pytest.raises(ImageError) as err:
        decode_image(data[: len(data) // 2])
    assert err.value.reason == "not_an_image"


def test_decode_bad_max_pixels() -> None:
    with pytest.raises(ValueError, match="max_pixels"):
        decode_image(b"x", max_pixels=0)


def test_decode_grayscale(faces: Photos, engine: FaceEngine, tmp_path: Path) -> None:
    path = tmp_path / "grey.jpg"
    with Image.open(faces / PORTRAIT) as photo:
        photo.convert("L").save(path, quality=95)

    image = load_image_file(path)

    assert image.shape == (1137, 910, 3)
    assert image.dtype == np.uint8
    assert np.array_equal(image[..., 0], image[..., 1])
    assert np.array_equal(image[..., 0], image[..., 2])
    assert len(engine.analyze(image)) == 1


def test_decode_16_bit_grayscale() -> None:
    ramp = np.linspace(0, 65535, 64, dtype=np.uint16).reshape(8, 8)
    image = decode_image(encode(Image.fromarray(ramp)))
    assert image.shape == (8, 8, 3)
    assert image[0, 0, 0] == 0
    assert image[-1, -1, 0] == 255


def test_decode_rgba_png(faces: Photos, engine: FaceEngine, tmp_path: Path) -> None:
    """Transparent parts become white; the opaque face is still found."""
    with Image.open(faces / PORTRAIT) as photo:
        rgba = photo.convert("RGBA")
    alpha = Image.new("L", rgba.size, 0)
    alpha.paste(255, (100, 50, 810, 1000))
    rgba.putalpha(alpha)
    path = tmp_path / "alpha.png"
    rgba.save(path)

    image = load_image_file(path)

    assert image.shape == (1137, 910, 3)
    assert (image[:40, :80] == 255).all()  # transparent corner: white
    assert len(engine.analyze(image)) == 1


def test_decode_palette_with_transparency() -> None:
    palette = Image.new("P", (4, 4), 0)
    palette.putpalette([0, 0, 0, 200, 10, 10])
    palette.putpixel((1, 1), 1)
    palette.info["transparency"] = 0
    image = decode_image(encode(palette))
    assert image.shape == (4, 4, 3)
    assert (image[0, 0] == 255).all()
    assert list(image[1, 1]) == [200, 10, 10]


def test_decode_exif_orientation(faces: Photos) -> None:
    """A photo stored on its side with EXIF orientation 6 comes out upright."""
    with Image.open(faces / "kit_harington/2.jpg") as photo:
        upright = photo.convert("RGB")
    stored = upright.transpose(Image.Transpose.ROTATE_90)  # what a camera held sideways stores
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 degrees clockwise to display"
    data = encode(stored, "PNG", exif=exif)

    assert np.array_equal(decode_image(data), np.array(upright))


def test_huge_image_downscaled(faces: Photos, engine: FaceEngine) -> None:
    with Image.open(faces / PORTRAIT) as photo:
        huge = Image.new("RGB", (8000, 6000), (128, 128, 128))
        huge.paste(photo.resize((photo.width * 2, photo.height * 2)), (3000, 1800))
    data = encode(huge, "JPEG", quality=85)

    image = decode_image(data)

    height, width = image.shape[:2]
    assert height * width <= 4_000_000
    assert width > 2200
    assert abs(width / height - 8000 / 6000) < 0.01
    assert len(engine.analyze(image)) == 1


def test_huge_png_downscaled() -> None:
    """No draft mode for PNG: decoded fully, then resized."""
    image = decode_image(encode(Image.new("RGB", (3000, 2000), (10, 20, 30))), max_pixels=60_000)
    assert image.shape == (200, 300, 3)
    assert (image == (10, 20, 30)).all()


def test_sharpness_and_brightness(faces: Photos, engine: FaceEngine) -> None:
    with Image.open(faces / PORTRAIT) as photo:
        sharp = photo.convert("RGB")
    image = np.array(sharp)
    blurred = np.array(sharp.filter(ImageFilter.GaussianBlur(4)))
    darker = (image // 2).astype(np.uint8)
    (box,) = engine.detect(image)

    reference = engine.describe(image, box)

    assert engine.describe(blurred, box).sharpness < reference.sharpness / 4
    assert engine.describe(darker, box).brightness == pytest.approx(reference.brightness / 2, abs=1)


def test_quality_of_degenerate_boxes(engine: FaceEngine) -> None:
    image = np.full((20, 20, 3), 90, dtype=np.uint8)
    flat = engine.describe(image, (5, 15, 15, 5))
    assert flat.sharpness == pytest.approx(0, abs=1e-6)
    assert flat.brightness == pytest.approx(90, abs=0.01)
    thin = engine.describe(image, (5, 6, 15, 5))  # 1 px wide: no Laplacian
    assert thin.sharpness == 0.0
    assert thin.brightness == pytest.approx(90, abs=0.01)


def test_scaled_detection_finds_the_smallest_accepted_face_and_encodes_at_full_resolution(
    faces: Photos, engine: FaceEngine, face_recognition
) -> None:
    """The engine process's detector (no upsampling, frame scaled by DETECT_SCALE) still finds
    a face of the quality gate's minimum width in a 1280x720 frame; the encoding is made on the
    full-resolution pixels, bitwise equal to face_recognition's for the same box."""
    from custom_components.facegate.face.engine import DETECT_SCALE  # noqa: PLC0415
    from custom_components.facegate.face.liveness import MIN_FACE_WIDTH  # noqa: PLC0415

    photo = load_rgb(faces / "barack_obama/1.jpg")
    _top, right, _bottom, left = engine.detect(photo)[0]
    scale = MIN_FACE_WIDTH / (right - left)
    small = Image.fromarray(photo).resize(
        (round(photo.shape[1] * scale), round(photo.shape[0] * scale)), Image.Resampling.LANCZOS
    )
    canvas = Image.new("RGB", (1280, 720), (128, 128, 128))
    canvas.paste(small, (600, 200))
    frame = np.asarray(canvas)
    door = FaceEngine(upsample=0, detect_scale=DETECT_SCALE)
    (box,) = door.detect(frame)
    assert box[1] - box[3] >= MIN_FACE_WIDTH * 0.9  # a full-frame box, not a scaled one
    # At 640 px wide without upsampling, that face would be lost:
    assert FaceEngine(upsample=0).detect(np.asarray(canvas.resize((640, 360)))) == []
    (observation,) = door.analyze(frame)
    (expected,) = face_recognition.face_encodings(frame, known_face_locations=[box])
    assert observation.box == box
    assert np.array_equal(observation.encoding, np.asarray(expected))
    with pytest.raises(ValueError, match="detect_scale"):
        FaceEngine(detect_scale=0.0)
