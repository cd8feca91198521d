"""The face engine: dlib detection, landmarks and 128-d encodings, and image decoding.

The encodings are computed exactly as face_recognition 1.3.0's defaults do (bitwise equal):
detect (HOG or CNN), trim each box to the image, 5-point landmarks on the trimmed box, then
``compute_face_descriptor(image, shape, 1)``. dlib is imported when a FaceEngine is built, not
when this module is imported: Home Assistant's process may use decode_image without loading
dlib. dlib's encoder and CNN detector hold the GIL; run the engine in a worker process.
"""

import importlib
import io
import math
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
from PIL import Image, ImageOps, UnidentifiedImageError

from .liveness import face_brightness, face_sharpness
from .models import (
    REASON_DLIB_MISSING,
    REASON_MODELS_MISSING,
    FaceEngineUnavailable,
    ModelPaths,
    find_models,
)
from .observation import Box, FaceObservation
from .reuse import Known, reused_encodings

type Detector = Literal["hog", "cnn"]
type RGBImage = npt.NDArray[np.uint8]

DETECTORS: tuple[Detector, ...] = ("hog", "cnn")
# Detection scale of the engine process. The quality gate refuses faces under 80 px
# (liveness.MIN_FACE_WIDTH); HOG without upsampling found 9 of 9 real portraits at 60 px and
# 3 of 9 at 50 (scripts/bench, docs/performance.md). Detecting on the frame scaled by 64/80
# keeps the smallest accepted face at 64 px, above what HOG finds, for a quarter of the
# detection work of face_recognition's one upsampling (0.64 of the pixels against 4x).
HOG_MIN_FACE = 64
DETECT_SCALE = HOG_MIN_FACE / 80
DEFAULT_MAX_PIXELS = 4_000_000
# The most pixels an image may declare in its header: a 48 MP phone photo passes, a
# decompression bomb (a small file of 13000x13000 px, 2 GB once decoded) does not.
MAX_SOURCE_PIXELS = 50_000_000
# A frame that may reuse the tracked face's encoding looks for it within half a face width of
# its last box only (face/reuse.py: it may have moved a quarter of a width): a fifth of a
# 1280x720 frame's detection work for a 220 px face. Faces elsewhere are seen on the next
# fresh frame (at most REUSE_FRAMES frames or REUSE_SECONDS later).
NEAR_MARGIN = 0.5
NUM_JITTERS = 1  # face_recognition's default; more jitters cost one encoder pass each
_RGB_CHANNELS = 3


class ImageError(ValueError):
    """Bytes that are no usable image; ``reason`` is "empty", "not_an_image" or "too_large"."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _import_dlib() -> Any:
    """dlib, imported on first use (no type stubs: kept behind Any)."""
    try:
        return importlib.import_module("dlib")
    except ImportError as err:
        raise FaceEngineUnavailable(REASON_DLIB_MISSING, str(err)) from err


def _load(loader: Any, path: Path) -> Any:
    """One dlib model; a missing or unreadable file makes the engine unavailable."""
    try:
        return loader(str(path))
    except RuntimeError as err:  # dlib: "Unable to open ..." or a deserialization error
        raise FaceEngineUnavailable(REASON_MODELS_MISSING, f"cannot load {path.name}") from err


def check_image(image: object) -> RGBImage:
    """The image as a C-contiguous HxWx3 uint8 array; ValueError for anything else."""
    if not isinstance(image, np.ndarray):
        raise TypeError(f"expected a numpy array, got {type(image).__name__}")
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != _RGB_CHANNELS:
        raise ValueError(f"expected an HxWx3 uint8 RGB array, got {image.dtype} {image.shape}")
    if image.shape[0] == 0 or image.shape[1] == 0:
        raise ValueError("empty image")
    array: RGBImage = np.ascontiguousarray(image)
    return array


def _trim_box(top: int, right: int, bottom: int, left: int, height: int, width: int) -> Box:
    """face_recognition's _trim_css_to_bounds: clip a (top, right, bottom, left) box."""
    return max(top, 0), min(right, width), min(bottom, height), max(left, 0)


def _face_quality(image: RGBImage, box: Box) -> tuple[float, float]:
    """Sharpness and brightness of a box, measured as the quality gate expects them."""
    return face_sharpness(image, box), face_brightness(image, box)


class FaceEngine:
    """dlib's detector, landmark models and encoder, loaded once.

    ``detector`` is "hog" (fast, frontal faces) or "cnn" (dlib's MMOD: better, ~60x slower on
    a CPU); ``upsample`` is how often the image is doubled before detection (1 finds faces down
    to about 40 px wide, like face_recognition's default). Not thread-safe: dlib's objects are
    used by one caller at a time (the worker process serves requests one by one).
    """

    def __init__(
        self,
        detector: Detector = "hog",
        upsample: int = 1,
        *,
        models: ModelPaths | None = None,
        detect_scale: float = 1.0,
    ) -> None:
        if detector not in DETECTORS:
            raise ValueError(f"detector must be one of {DETECTORS}, not {detector!r}")
        if not 0 <= upsample <= 4:  # each step quadruples the work
            raise ValueError(f"upsample must be between 0 and 4, not {upsample}")
        if not 0.1 <= detect_scale <= 1.0:
            raise ValueError(f"detect_scale must be between 0.1 and 1, not {detect_scale}")
        self.detect_scale = detect_scale
        paths = models if models is not None else find_models()
        dlib = _import_dlib()
        self.detector: Detector = detector
        self.upsample = upsample
        self._rectangle: Any = dlib.rectangle
        if detector == "cnn":
            self._cnn: Any = _load(dlib.cnn_face_detection_model_v1, paths.detector_cnn)
            self._hog: Any = None
        else:
            self._cnn = None
            self._hog = dlib.get_frontal_face_detector()
        self._shape_5: Any = _load(dlib.shape_predictor, paths.shape_5)
        self._shape_68: Any = _load(dlib.shape_predictor, paths.shape_68)
        self._encoder: Any = _load(dlib.face_recognition_model_v1, paths.encoder)

    def detect(self, image: RGBImage) -> list[Box]:
        """Face boxes (top, right, bottom, left), trimmed to the image, in detector order.

        With ``detect_scale`` < 1 the detector sees a scaled copy and the boxes are mapped back
        to the full frame: landmarks, encoding and quality use the full-resolution pixels.
        """
        image = check_image(image)
        height, width = image.shape[:2]
        scale = self.detect_scale
        seen = image
        if scale < 1.0:
            size = (max(1, round(width * scale)), max(1, round(height * scale)))
            seen = np.asarray(Image.fromarray(image).resize(size, Image.Resampling.BILINEAR))
        if self._cnn is not None:
            rects = [found.rect for found in self._cnn(seen, self.upsample)]
        else:
            rects = list(self._hog(seen, self.upsample))
        return [
            _trim_box(
                round(rect.top() / scale),
                round(rect.right() / scale),
                round(rect.bottom() / scale),
                round(rect.left() / scale),
                height,
                width,
            )
            for rect in rects
        ]

    def detect_near(self, image: RGBImage, box: Box) -> list[Box]:
        """Face boxes within NEAR_MARGIN face widths of ``box`` (detect on that region only)."""
        image = check_image(image)
        height, width = image.shape[:2]
        top, right, bottom, left = box
        margin = NEAR_MARGIN * max(right - left, bottom - top, 1)
        region = _trim_box(
            round(top - margin), round(right + margin), round(bottom + margin),
            round(left - margin), height, width,
        )  # fmt: skip
        r_top, r_right, r_bottom, r_left = region
        if r_bottom - r_top < 2 or r_right - r_left < 2:
            return []
        crop = np.ascontiguousarray(image[r_top:r_bottom, r_left:r_right])
        return [
            _trim_box(t + r_top, r + r_left, b + r_top, x + r_left, height, width)
            for t, r, b, x in self.detect(crop)
        ]

    def describe(
        self, image: RGBImage, box: Box, encoding: npt.NDArray[np.float64] | None = None
    ) -> FaceObservation:
        """Encoding, 68 landmarks, sharpness and brightness of the face in ``box``.

        With ``encoding`` (the same face's, from an earlier frame: face/reuse.py) the encoder
        is skipped and the observation says so (``encoded`` False).
        """
        image = check_image(image)
        top, right, bottom, left = box
        rect = self._rectangle(left, top, right, bottom)
        encoded = encoding is None
        if encoding is None:
            shape_5 = self._shape_5(image, rect)
            encoding = np.array(self._encoder.compute_face_descriptor(image, shape_5, NUM_JITTERS))
        shape_68 = self._shape_68(image, rect)
        landmarks = np.array([(point.x, point.y) for point in shape_68.parts()], dtype=np.int32)
        sharpness, brightness = _face_quality(image, box)
        return FaceObservation(
            box=box,
            encoding=encoding,
            landmarks=landmarks,
            sharpness=sharpness,
            brightness=brightness,
            encoded=encoded,
        )

    def analyze(self, image: RGBImage, known: tuple[Known, ...] = ()) -> list[FaceObservation]:
        """Every face of an RGB uint8 image (HxWx3), in detector order; [] when none.

        ``known``: faces of the previous frame whose encoding may be reused (face/reuse.py).
        """
        image = check_image(image)
        if len(known) == 1:
            # The tracked face where it was: detect around it only. Any other outcome (no face
            # there, two faces, one that moved too far) falls back to the whole frame.
            near = self.detect_near(image, known[0][0])
            encodings = reused_encodings(near, known)
            if len(near) == 1 and (encoding := encodings[0]) is not None:
                return [self.describe(image, near[0], encoding)]
        boxes = self.detect(image)
        reused = reused_encodings(boxes, known)
        return [
            self.describe(image, box, encoding) for box, encoding in zip(boxes, reused, strict=True)
        ]


def _to_rgb(image: Image.Image) -> Image.Image:
    """Any Pillow mode as RGB: transparency over white, 16-bit grey scaled to 8 bits."""
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        if rgba.getchannel("A").getextrema() == (255, 255):
            return rgba.convert("RGB")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    if image.mode.startswith("I;16") or image.mode == "I":
        wide = np.asarray(image, dtype=np.int64)
        if image.mode == "I" and wide.max(initial=0) <= 255:
            grey = wide.clip(0, 255).astype(np.uint8)
        else:
            grey = (wide.clip(0, 65535) >> 8).astype(np.uint8)
        return Image.fromarray(grey).convert("RGB")
    return image.convert("RGB")


def _target_size(width: int, height: int, max_pixels: int) -> tuple[int, int]:
    """The largest size of the same aspect ratio with at most ``max_pixels`` pixels."""
    if width * height <= max_pixels:
        return width, height
    scale = math.sqrt(max_pixels / (width * height))
    return max(1, math.floor(width * scale)), max(1, math.floor(height * scale))


def load_decoders() -> None:
    """Import every Pillow image plugin now, not during the first frame's time budget."""
    Image.init()


def _check_size(opened: Image.Image) -> None:
    """Refuse an image whose header declares too many pixels: nothing is decoded yet."""
    if opened.width * opened.height > MAX_SOURCE_PIXELS:
        raise ImageError("too_large")


def image_size(data: bytes) -> tuple[int, int]:
    """Width and height from an image's header, without decoding it (Pillow opens lazily).

    Raises ImageError like decode_image: "too_large" above MAX_SOURCE_PIXELS, for any format.
    """
    if not data:
        raise ImageError("empty")
    try:
        with Image.open(io.BytesIO(data)) as opened:
            _check_size(opened)
            return opened.size
    except ImageError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as err:
        raise ImageError("too_large") from err
    except Exception as err:  # Pillow's plugins raise many kinds of errors
        raise ImageError("not_an_image") from err


def decode_image(data: bytes, max_pixels: int = DEFAULT_MAX_PIXELS) -> RGBImage:
    """Decode JPEG/PNG/... bytes to an HxWx3 uint8 RGB array, upright (EXIF orientation).

    Grayscale becomes RGB, transparency is laid over white, and an image of more than
    ``max_pixels`` pixels is scaled down (same aspect ratio) to at most that. Raises
    ImageError("empty") for no bytes, ImageError("not_an_image") for anything Pillow cannot
    decode, ImageError("too_large") for a decompression bomb: more than MAX_SOURCE_PIXELS in
    the header, refused before anything is decoded.
    """
    if max_pixels < 1:
        raise ValueError("max_pixels must be positive")
    if not data:
        raise ImageError("empty")
    try:
        with Image.open(io.BytesIO(data)) as opened:
            _check_size(opened)
            if opened.width * opened.height > max_pixels:
                # JPEG only: decode at 1/2, 1/4 or 1/8 scale straight away (no-op for others).
                opened.draft("RGB", _target_size(opened.width, opened.height, max_pixels))
            opened.load()
            upright = ImageOps.exif_transpose(opened)
            rgb = _to_rgb(upright)
    except ImageError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as err:
        raise ImageError("too_large") from err
    except UnidentifiedImageError as err:
        raise ImageError("not_an_image") from err
    except Exception as err:  # broken files make Pillow's plugins raise many kinds of errors
        raise ImageError("not_an_image") from err
    size = _target_size(rgb.width, rgb.height, max_pixels)
    if size != rgb.size:
        rgb = rgb.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)
    return np.array(rgb, dtype=np.uint8)


def load_image_file(path: Path, max_pixels: int = DEFAULT_MAX_PIXELS) -> RGBImage:
    """decode_image of a file's bytes."""
    return decode_image(path.read_bytes(), max_pixels)
