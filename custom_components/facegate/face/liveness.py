"""Is a live person in front of the camera? A per-frame quality gate and a liveness check.

Two parts, numpy only (no dlib, no Home Assistant):

* `frame_quality` refuses one frame whose face is too small, cut off, too dark, blurred or
  turned away, before it is enrolled or matched. `face_sharpness` and `face_brightness` are the
  measurements its thresholds were chosen for; the engine should fill
  `FaceObservation.sharpness` and `.brightness` with them.
* `LivenessTracker` follows ONE tracked face over a few seconds of frames and says whether it is
  live: both eyes must blink (eye aspect ratio, Soukupova & Cech 2016, on the 68 landmarks).
  Without a blink, a face whose landmarks keep one configuration while it moves (a photo held
  up, moved, tilted) or whose frames repeat one picture is reported as "static". Five
  landmarks (the default engine's, YuNet's) show no eyelid: the tracker answers
  "cannot_blink", and the policy (liveness_policy.py) decides on its other cues.

Landmarks are dlib's 68 points (the dlib engine) or YuNet's 5 (the default engine: eye
centres, nose tip, mouth corners). The quality gate reads either: `yaw_asymmetry` maps the
five points onto the 68-point scale (EYE_CENTRE_SPAN), and the cut-off check widens the five
points by FIVE_POINT_MARGINS to where the brows and lips are.

Every threshold says why it has its value. The measurements were made with dlib 20.0.1 (HOG
detector, upsample 1, 68-point predictor) on the 90 identity photos of the dev face set
(`shared/faces`, 19 identities, 35 photos East Asian; face boxes 89-462 px), on degraded copies
of them, and on simulated photo attacks: each photo scaled to a 90 or 130 px face, then
re-rendered shifted, scaled, rotated and tilted, with pixel noise, and detected again, frame by
frame, as the engine would see a photo held to the camera. tests/face/test_liveness.py repeats
the checks on a few photos.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from .observation import Box, FaceObservation

type FloatArray = npt.NDArray[np.float64]

# --- Landmark indices of dlib's 68-point model (iBUG 300-W layout) --------------------------
EYE_A = slice(36, 42)  # the eye on the image's left (the person's right eye)
EYE_B = slice(42, 48)  # the eye on the image's right
OUTER_CORNER_A = 36
OUTER_CORNER_B = 45
NOSE_TIP = 30
# Points that do not move when the eyes close: nose bridge and base, and the four eye corners.
# Frames are aligned on these before the eyes are measured, so that the eyelids' motion stays.
ANCHORS = (27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 39, 42, 45)
# Brows, nose, eyes and mouth. The jaw line (0-16) is left out of the motion measure: it is
# the least stable part of the model (it lies on the face's edge, against the background).
INNER = slice(17, 68)
NON_EYE = np.r_[0:36, 48:68]  # jaw, brows, nose and mouth: what a blink does not move
SHAPE_68 = 68

# --- YuNet's five landmarks (the default engine) --------------------------------------------
FIVE_EYE_A, FIVE_EYE_B, FIVE_NOSE, FIVE_MOUTH_A, FIVE_MOUTH_B = range(5)  # image's left first
SHAPE_5 = 5

EYE_CENTRE_SPAN = 0.78
"""Puts the five points' yaw on the 68-point scale of MAX_YAW_ASYMMETRY. The nose tip's offset
from the middle of the eyes is measured against the eye-centre span, shorter than the
outer-corner span (about 0.75 of it by the geometry of an eye). Chosen on the dev face set's
88 identity photos (../shared/faces, not the liveness clips): YuNet's five points against
dlib's 68 on the same faces, least squares through 0: 0.78 (correlation 0.81; the median ratio
of the turned faces: 0.84). scripts/measure_five_points.py --faces. Beyond about 0.8 the two
part: dlib's shape model keeps a profile face's nose inside the eyes (it stays below 1), YuNet
can put it beyond the farther eye (up to 1.6 on a live clip's profile frames), so a profile
is refused as turned away more surely than with 68 points."""

FIVE_POINT_MARGINS = (0.45, 0.4, 0.3)
"""Eye-centre spans beyond the five points that the face's brows, eyes, nose and mouth reach
(the 68-point gate's INNER points): sideways beyond each eye centre, above the eye line, below
the mouth corners. A face whose widened five points leave the frame is "face_cut_off". On the
dev face set's 88 identity photos, dlib's inner points reach beyond YuNet's five by (median,
95th percentile, max): sideways 0.43, 0.63, 0.73; above 0.41, 0.62, 0.83; below 0.30, 0.46,
0.74 (scripts/measure_five_points.py --faces). The medians, rounded: a face is refused when a
typical face's brows or lips would lie outside the frame. The 95th percentiles refused 114 of
430 tight crops of those photos whose 68 points all lay inside."""

# --- Per-frame quality gate ----------------------------------------------------------------
# Measured on the dev set's 90 identity photos (all pass) and on degraded copies of each (each
# fails with the right reason):

MIN_FACE_WIDTH = 80
"""Pixels. dlib's encoder works on a 150 px chip whose face is about 100 px wide: below 80 px
the chip is mostly upscaled and the encoding loses detail (and 68 landmarks on a 15 px eye
cannot show a blink). Dev photos: smallest face 89 px (LFW's 250x250 images); copies scaled to
a 40-60 px face are still found by the HOG detector (upsample 1) and refused here."""

MIN_BRIGHTNESS = 40.0
"""Mean grey level (0-255) of the face box. Dev photos: 75.0 to 174.9 (lowest kaley_cuoco/3);
copies darkened to 15 % of their pixel values: 11 to 26.2. At 40 the margin is about 1.9x
below the darkest real photo and 1.5x above the brightest darkened copy."""

MIN_SHARPNESS = 8.0
"""`face_sharpness` units (variance of the Laplacian at a 100x100 face, exposure-normalised).
Dev photos: 21.7 to 1960 (lowest: LFW's soft 250x250 JPEGs, yao_ming/1 and lucy_liu/4);
Gaussian blur with sigma = face width / 20 (heavy): 0.21 to 3.2; sigma = width / 35: 0.61 to
8.0; sigma = width / 50 (mild): 1.7 to 19. So 8 refuses every heavy blur with a 2.5x margin
and keeps every real photo with a 2.7x margin; mild blur is refused about half the time.
A plain variance of the Laplacian at the native size also splits the dev set near 8 (real
photos 14.9 and up, heavy blur 2.0 at most), but it falls as the face gets larger and
quadratically as it gets darker: a sharp face at a grey level of 50 would read as blurred."""

MAX_YAW_ASYMMETRY = 0.75
"""`yaw_asymmetry`: 0 when the nose tip is midway between the outer eye corners, about
0.8 * tan(yaw) for a turned head (nose tip about 0.4 of the outer-corner span in front of the
corners), so 0.75 is roughly 43 degrees. Dev identity photos: 0.00 to 0.69 (yao_ming/1 and
kevin_sussman/5, both three-quarter views, pass); Johnny Galecki looking sideways in
_scenes/bbt_cafeteria.jpg: 0.85, refused. dlib's frontal HOG detector itself stops at about
45 degrees, and the encodings of such views match worse (kevin_sussman/5 is the dev set's
hardest genuine sample)."""

SHARPNESS_SIZE = 100
"""The face box is resampled to this many pixels square before the Laplacian: the variance of
the Laplacian depends on scale, and this is about the scale at which the encoder sees a face."""

_LUMA = np.array([0.299, 0.587, 0.114])  # ITU-R BT.601, as PIL's convert("L")


def _grey_crop(image: npt.NDArray[Any], box: Box) -> FloatArray:
    """The face box of a grey (H, W) or RGB (H, W, 3) image as float grey levels."""
    top, right, bottom, left = box
    height, width = image.shape[:2]
    top, bottom = max(top, 0), min(bottom, height)
    left, right = max(left, 0), min(right, width)
    crop = np.asarray(image[top:bottom, left:right], dtype=np.float64)
    if crop.ndim == 3:
        crop = crop[..., :3] @ _LUMA
    return crop


def _resample_matrix(n_in: int, n_out: int) -> FloatArray:
    """A (n_out, n_in) matrix that resamples a line: area average down, linear up."""
    if n_out <= n_in:
        scale = n_in / n_out
        starts = np.arange(n_out)[:, None] * scale
        pixels = np.arange(n_in)[None, :]
        overlap = np.minimum(starts + scale, pixels + 1) - np.maximum(starts, pixels)
        weights = np.clip(overlap, 0.0, None)
        return np.asarray(weights / weights.sum(axis=1, keepdims=True), dtype=np.float64)
    centres = np.clip((np.arange(n_out) + 0.5) * n_in / n_out - 0.5, 0, n_in - 1)
    low = np.floor(centres).astype(np.intp)
    high = np.minimum(low + 1, n_in - 1)
    frac = centres - low
    weights = np.zeros((n_out, n_in))
    rows = np.arange(n_out)
    np.add.at(weights, (rows, low), 1.0 - frac)
    np.add.at(weights, (rows, high), frac)
    return weights


def face_brightness(image: npt.NDArray[Any], box: Box) -> float:
    """Mean grey level (0-255) of the face box; the image is grey (H, W) or RGB (H, W, 3)."""
    crop = _grey_crop(image, box)
    return float(crop.mean()) if crop.size else 0.0


def face_sharpness(image: npt.NDArray[Any], box: Box) -> float:
    """Variance of the Laplacian over the face box: low means blurred.

    The box is resampled to `SHARPNESS_SIZE` pixels square (the measure depends on scale) and
    its grey levels scaled to a mean of 128 (so that a dim but sharp face is not called
    blurred: darkness has its own reason, "too_dark").
    """
    crop = _grey_crop(image, box)
    if crop.shape[0] < 3 or crop.shape[1] < 3:
        return 0.0
    face = (
        _resample_matrix(crop.shape[0], SHARPNESS_SIZE)
        @ crop
        @ _resample_matrix(crop.shape[1], SHARPNESS_SIZE).T
    )
    mean = float(face.mean())
    if mean <= 1.0:
        return 0.0
    face *= 128.0 / mean
    laplacian = (
        face[1:-1, :-2] + face[1:-1, 2:] + face[:-2, 1:-1] + face[2:, 1:-1] - 4.0 * face[1:-1, 1:-1]
    )
    return float(laplacian.var())


def _nose_position(nose: FloatArray, eye_a: FloatArray, eye_b: FloatArray) -> float:
    """Where the nose tip projects on the line from eye_a to eye_b: 0.5 midway; inf if none."""
    axis = eye_b - eye_a
    span = float(axis @ axis)
    if span <= 0.0:
        return math.inf
    return float((nose - eye_a) @ axis) / span


def yaw_asymmetry(landmarks: npt.NDArray[Any]) -> float:
    """How far the head is turned, from where the nose tip sits between the outer eye corners.

    0 for a frontal face; the sign says which way (positive: the nose tip is nearer the
    corner on the image's right). Roll does not change it: the nose tip is projected on the
    line through the two corners. Five points have no eye corners: the eye centres are used,
    scaled by EYE_CENTRE_SPAN to the same measure.
    """
    points = np.asarray(landmarks, dtype=np.float64)
    if len(points) == SHAPE_5:
        position = _nose_position(points[FIVE_NOSE], points[FIVE_EYE_A], points[FIVE_EYE_B])
        return EYE_CENTRE_SPAN * (2.0 * position - 1.0)
    position = _nose_position(points[NOSE_TIP], points[OUTER_CORNER_A], points[OUTER_CORNER_B])
    return 2.0 * position - 1.0


def face_extent(landmarks: npt.NDArray[Any]) -> FloatArray:
    """Points that must lie inside the frame for the face not to be cut off.

    The 68-point model's inner points (brows, eyes, nose, mouth); for five points, the eye
    centres moved out sideways and up, and the mouth corners down, by FIVE_POINT_MARGINS.
    """
    points = np.asarray(landmarks, dtype=np.float64)
    if len(points) != SHAPE_5:
        return points[INNER]
    side, above, below = FIVE_POINT_MARGINS
    axis = points[FIVE_EYE_B] - points[FIVE_EYE_A]  # one eye-centre span, along the eyes
    down = np.array([-axis[1], axis[0]])  # the same length, square to it, towards the mouth
    eye_a, eye_b = points[FIVE_EYE_A], points[FIVE_EYE_B]
    return np.stack(
        [
            eye_a - side * axis - above * down,
            eye_b + side * axis - above * down,
            eye_a - side * axis,
            eye_b + side * axis,
            points[FIVE_NOSE],
            points[FIVE_MOUTH_A] + below * down,
            points[FIVE_MOUTH_B] + below * down,
        ]
    )


def frame_quality(
    obs: FaceObservation,
    image_size: tuple[int, int],
    *,
    min_width: int = MIN_FACE_WIDTH,
    max_yaw: float = MAX_YAW_ASYMMETRY,
) -> str | None:
    """Why this face is not good enough to enrol or to match, or None when it is.

    `image_size` is (width, height). Reasons, checked in this order: "face_too_small",
    "face_cut_off" (an eye, brow, the nose or the mouth lies outside the frame),
    "too_dark", "too_blurry", "turned_away". Enrolment may ask for a larger, more frontal
    face through `min_width` and `max_yaw`.
    """
    if obs.width < min_width:
        return "face_too_small"
    width, height = image_size
    inner = face_extent(obs.landmarks)
    if (inner < 0).any() or (inner[:, 0] >= width).any() or (inner[:, 1] >= height).any():
        return "face_cut_off"
    if obs.brightness < MIN_BRIGHTNESS:
        return "too_dark"
    if obs.sharpness < MIN_SHARPNESS:
        return "too_blurry"
    if abs(yaw_asymmetry(obs.landmarks)) > max_yaw:
        return "turned_away"
    return None


# --- Liveness across frames ----------------------------------------------------------------

WINDOW_SECONDS = 3.0
"""Frames older than this (before `now`) are forgotten: the decision is about the last few
seconds, and a blink from a minute ago proves nothing about the face in front of the camera."""

MIN_FRAMES = 5
"""A blink needs open, closed, closed, open frames, and the open-eye baseline (a median) needs
more open frames than closed ones. At the engine's 3-5 frames a second a 3 s window holds 9-15
frames."""

CLOSED_RATIO = 0.65
"""A frame has closed eyes when the mean of both eyes' aspect ratios, each relative to that
eye's own median in the window, is below 0.65. Relative, because eyes differ: open-eye EARs in
the dev set go from 0.12 to 0.58, so the paper's fixed 0.2 would never see narrow eyes blink.
dlib draws a closed eye at about 0.3-0.5 of its open EAR. 0.65 rather than the usual 0.75:
with the other rules as they are, 0.7 let 1 of the 14,240 jittered-photo windows go live (two
glitched frames at 0.68 and 0.78), 0.65 none of the 15,800 attack windows (see
LivenessTracker), for under 1 % less blink detection."""

OPEN_RATIO = 0.88
"""A frame has open eyes when the mean of both eyes' ratios is at least 0.88. The gap to
CLOSED_RATIO is hysteresis: jitter around one threshold cannot make a blink."""

NOISE_SIGMAS = 3.5
"""The closed threshold is also at least this many robust standard deviations (1.4826 * MAD of
the window's both-eye ratios) below 1, so noisy landmarks need a deeper dip. The noise is large:
at a 90-130 px face an eye's lid gap is 2-8 px and dlib's landmarks are whole pixels, so the
EAR of a still photo varies by 5-15 % (narrow eyes up to 35 %) from frame to frame."""

EYE_CLOSED_MAX = 0.85
"""Each eye on its own must also be below 0.85 of its median in a low frame: a blink closes
both eyes; one eye's landmarks jumping alone is a glitch."""

DIP_RATIO = 0.8
"""A frame is low (closing, closed or opening) when the mean of both eyes' ratios is below
0.8 (and each eye below EYE_CLOSED_MAX)."""

MIN_DIP_FRAMES = 2
"""A blink must show in at least two low frames, one of them closed. dlib's predictor now and
then draws both eyes half shut on a single frame of a still photo (up to 0.7 % of frames in the
photo attacks below); with one frame enough, 0.2-0.6 % of photo windows went live (4 of 1,053
hand-held sequences), with two none did. The cost: a quick blink that fits between two frames
is missed, so at 4-5 frames a second the person must blink slowly (eyes shut for about 0.3 s)."""

MAX_POSE_CHANGE = 0.08
"""The closed frame must show the face (jaw, brows, nose, mouth) squeezed by at most 8 % in
one direction relative to the open frames before and after it (`_pose_change`). Tilting a
printed photo back squeezes its eyes vertically, and dlib then draws them shut, while its
shape model keeps the nose long: the alignment on the nose cannot undo that. Without this
check 1 of the 15,800 attack windows went live (4 with CLOSED_RATIO at 0.7); it costs about 2 %
of blink detection. This measure between the frames of a jittered photo: median 0.005, 99th
percentile 0.05."""

MAX_CLOSED_SECONDS = 1.0
"""From the first to the last frame that is not open: a spontaneous blink closes the eyes for
0.1-0.4 s, a deliberate one for about 0.5 s. Longer is a look down or eyes shut (and a slowly
tilted photo would show as a long dip)."""

MIN_OPEN_EAR = 0.08
"""Below this median eye aspect ratio the eyes are not seen open at all (eyes shut,
sunglasses, landmarks guessed) and a blink cannot be told from noise. Dev photos: 0.12 and up."""

STATIC_MOTION = 0.06
"""Non-rigid motion (`LivenessVerdict.motion`: RMS distance of the 51 inner landmarks from
the window's median face after the best affine fit, in inter-ocular distances, 90th
percentile over the frames) below which a face without a blink is a rigid picture: "static",
else "no_blink". Photo attacks: median 0.008-0.015, 99th percentile 0.027-0.058, at most 0.09
(a hand-held, tilted photo at 90 px); 99.2-100 % of them are below 0.06. Affine, not just
similarity, because a photo tilted away from the camera is foreshortened. A live face that
neither blinks nor moves its mouth or turns its head may also be reported "static": the
reason only names what was seen, both are refusals."""

DUPLICATE_DISTANCE = 1e-6
"""Two frames whose encodings are this close and whose landmarks are equal show the same
pixels (a frozen or replayed still, or a camera snapshot served twice): sensor noise alone
moves the encoding by 0.04 or more between frames (measured at noise sigma 4). Only the first
of such frames counts; a window with enough frames but not enough different ones is the same
picture repeated: "static"."""

MAX_FRAMES = 256  # a bound on memory whatever the caller's timestamps


@dataclass(frozen=True, slots=True)
class LivenessVerdict:
    """Whether a tracked face is live, why, and the measures behind it (for diagnostics).

    reason: "blink" (live), "no_blink", "static", "too_few_frames", or "cannot_blink" (five
    landmarks show no eyelids: the default engine's).
    """

    live: bool
    reason: str
    frames: int = 0  # frames in the window (different pictures only)
    ear_dip: float | None = None  # lowest eye aspect ratio of both eyes, relative to the median
    motion: float | None = None  # non-rigid motion, in inter-ocular distances


@dataclass(frozen=True, slots=True)
class _Frame:
    timestamp: float
    landmarks: FloatArray  # (68, 2), or (5, 2)
    encoding: FloatArray  # (128,)


def eye_aspect_ratio(eye: npt.NDArray[Any]) -> float:
    """(|p2-p6| + |p3-p5|) / (2 |p1-p4|) of one eye's 6 landmarks (Soukupova & Cech 2016)."""
    p = np.asarray(eye, dtype=np.float64)
    width = float(np.linalg.norm(p[0] - p[3]))
    if width <= 0.0:
        return 0.0
    height = float(np.linalg.norm(p[1] - p[5]) + np.linalg.norm(p[2] - p[4]))
    return height / (2.0 * width)


def _affine_fit(source: FloatArray, target: FloatArray) -> FloatArray:
    """The (3, 2) affine map, least squares, taking source points (n, 2) onto target."""
    design = np.hstack([source, np.ones((len(source), 1))])
    solution, *_ = np.linalg.lstsq(design, target, rcond=None)
    return np.asarray(solution, dtype=np.float64)


def _apply(points: FloatArray, affine: FloatArray) -> FloatArray:
    return np.asarray(points @ affine[:2] + affine[2], dtype=np.float64)


def _align(shapes: FloatArray, on: npt.NDArray[np.intp] | slice) -> FloatArray:
    """Every (68, 2) shape mapped affinely onto the median shape, fitted on the points `on`."""
    reference = shapes[0]
    aligned = shapes
    for _ in range(2):  # align on the first frame, then on the median of the aligned frames
        aligned = np.stack(
            [_apply(shape, _affine_fit(shape[on], reference[on])) for shape in shapes]
        )
        reference = np.median(aligned, axis=0)
    return aligned


class LivenessTracker:
    """Liveness of ONE tracked face from its frames in the last `window_seconds`.

    Feed every frame's observation of that face with `add`; ask `verdict(now)`. Reasons:
    "too_few_frames" (fewer than `min_frames` in the window), "blink" (live), "static" (no
    blink, and the frames repeat one picture or the landmarks keep one configuration up to an
    affine map: a picture moved, scaled, rotated or tilted), "no_blink" (no blink, but the face
    changed shape), "cannot_blink" (five landmarks: no eyelids to see). Frames must come in
    time order; an older one is ignored.

    A blink: each frame is aligned on the nose and eye corners (so moving or tilting a photo
    does not look like a blink); then open eyes, then within MAX_CLOSED_SECONDS at least
    MIN_DIP_FRAMES low frames with both eyes closed in one of them (in the same pose as the
    open frames around it), then open eyes again.

    Measured (the constants say which rule each number comes from): photo attacks, 15-frame
    windows of re-detected frames at 90 and 130 px faces, 89 dev photos: 14,240 windows with
    the photo jittered at random frame by frame (similarity, or with tilt up to 30 %), 533
    scripted sequences (jitter, a tilt back and forth, wobble) and 1,053 hand-held random walks
    (shift, scale, rotation, tilt): none went live. Synthetic blinks on the same jittered real
    landmarks (eyelids moved toward the line between the eye corners), 90 / 130 px faces:
    two frames at 40 % of the open EAR: 89 / 92 % detected; two frames at 50 %: 80 / 88 %;
    70 %, 30 %, 70 %: 70 / 85 %; a single closed frame: about 1 % (by design). A real person
    may need more than one blink; slow blinks work best.
    """

    def __init__(
        self,
        window_seconds: float = WINDOW_SECONDS,
        *,
        min_frames: int = MIN_FRAMES,
        closed_ratio: float = CLOSED_RATIO,
        open_ratio: float = OPEN_RATIO,
    ) -> None:
        if window_seconds <= 0 or min_frames < 4 or not 0 < closed_ratio < open_ratio <= 1:
            raise ValueError("bad liveness settings")
        self.window_seconds = window_seconds
        self.min_frames = min_frames
        self.closed_ratio = closed_ratio
        self.open_ratio = open_ratio
        self._frames: deque[_Frame] = deque(maxlen=MAX_FRAMES)

    def __len__(self) -> int:
        """Frames held (all of them, also those a later `verdict` will find too old)."""
        return len(self._frames)

    def reset(self) -> None:
        """Forget every frame (the face left, or another one is tracked now)."""
        self._frames.clear()

    def add(self, timestamp: float, obs: FaceObservation) -> None:
        """One frame's observation of the tracked face, taken at `timestamp` (seconds)."""
        if self._frames and timestamp < self._frames[-1].timestamp:
            return
        self._frames.append(
            _Frame(
                timestamp,
                np.asarray(obs.landmarks, dtype=np.float64).reshape(-1, 2),
                np.asarray(obs.encoding, dtype=np.float64).ravel(),
            )
        )
        while self._frames[0].timestamp < timestamp - self.window_seconds:
            self._frames.popleft()

    def _window(self, now: float) -> list[_Frame]:
        start = now - self.window_seconds
        return [frame for frame in self._frames if start <= frame.timestamp <= now]

    def verdict(self, now: float) -> LivenessVerdict:
        """Live or not, judged on the frames of the last `window_seconds` before `now`."""
        frames = self._window(now)
        if len(frames) < self.min_frames:
            return LivenessVerdict(live=False, reason="too_few_frames", frames=len(frames))
        distinct = _distinct(frames)
        if len(distinct) < self.min_frames:
            return LivenessVerdict(live=False, reason="static", frames=len(distinct))
        if any(len(frame.landmarks) != SHAPE_68 for frame in distinct):
            return LivenessVerdict(live=False, reason="cannot_blink", frames=len(distinct))
        shapes = np.stack([frame.landmarks for frame in distinct])
        times = np.array([frame.timestamp for frame in distinct])
        blinked, dip = self._blink(shapes, times)
        motion = _motion(shapes)
        if blinked:
            reason, live = "blink", True
        elif motion < STATIC_MOTION:
            reason, live = "static", False
        else:
            reason, live = "no_blink", False
        return LivenessVerdict(
            live=live, reason=reason, frames=len(distinct), ear_dip=dip, motion=motion
        )

    def _blink(self, shapes: FloatArray, times: FloatArray) -> tuple[bool, float | None]:
        """Whether both eyes close and open again; and the deepest both-eye dip."""
        aligned = _align(shapes, np.array(ANCHORS))
        ears = np.array(
            [[eye_aspect_ratio(shape[EYE_A]), eye_aspect_ratio(shape[EYE_B])] for shape in aligned]
        )
        baseline = np.median(ears, axis=0)
        if (baseline < MIN_OPEN_EAR).any():
            return False, None
        ratios = ears / baseline
        both = ratios.mean(axis=1)
        spread = 1.4826 * float(np.median(np.abs(both - 1.0)))
        closed = (both < min(self.closed_ratio, 1.0 - NOISE_SIGMAS * spread)) & (
            ratios < EYE_CLOSED_MAX
        ).all(axis=1)
        opened = both >= self.open_ratio
        low = (both < DIP_RATIO) & (ratios < EYE_CLOSED_MAX).all(axis=1)
        dip = float(both.min())
        return _blinked(times, opened, low, closed, shapes), dip


def _blinked(
    times: FloatArray,
    opened: npt.NDArray[np.bool_],
    low: npt.NDArray[np.bool_],
    closed: npt.NDArray[np.bool_],
    shapes: FloatArray,
) -> bool:
    """Open, then a short run of frames that are not open, then open again.

    The run must hold MIN_DIP_FRAMES low frames, one of them closed, and that closed frame
    must show the face in the same pose as the open frames around it: a tilted photo
    squeezes the eyes (and dlib's predictor then draws them closed) but it also squeezes the
    rest of the face.
    """
    last_open: int | None = None
    run: list[int] = []
    for index in range(len(times)):
        if not opened[index]:
            if last_open is not None:
                run.append(index)
            continue
        if (
            last_open is not None
            and run
            and times[run[-1]] - times[run[0]] <= MAX_CLOSED_SECONDS
            and sum(bool(low[k]) for k in run) >= MIN_DIP_FRAMES
            and any(
                closed[k]
                and _pose_change(shapes[last_open], shapes[k]) <= MAX_POSE_CHANGE
                and _pose_change(shapes[k], shapes[index]) <= MAX_POSE_CHANGE
                for k in run
            )
        ):
            return True
        last_open, run = index, []
    return False


def _pose_change(before: FloatArray, after: FloatArray) -> float:
    """How much the face without its eyes was squeezed in one direction between two frames.

    The log of the ratio of the singular values of the best affine map between them: 0 for a
    similarity (moved, scaled, rotated), about 0.1 for a 10 % squeeze.
    """
    linear = _affine_fit(before[NON_EYE], after[NON_EYE])[:2]
    largest, smallest = np.linalg.svd(linear, compute_uv=False)
    if smallest <= 0.0:
        return math.inf
    return float(np.log(largest / smallest))


def _distinct(frames: list[_Frame]) -> list[_Frame]:
    """The frames, without those that repeat the picture of an earlier one."""
    kept: list[_Frame] = []
    for frame in frames:
        if kept:
            encodings = np.stack([earlier.encoding for earlier in kept])
            close = np.linalg.norm(encodings - frame.encoding, axis=1) < DUPLICATE_DISTANCE
            if any(
                np.array_equal(frame.landmarks, kept[index].landmarks)
                for index in np.flatnonzero(close)
            ):
                continue
        kept.append(frame)
    return kept


def _motion(shapes: FloatArray) -> float:
    """Non-rigid motion of the face over the frames, in inter-ocular distances.

    The 90th percentile over the frames of the inner landmarks' RMS distance from the median
    face, each frame mapped onto it by its best affine fit.
    """
    aligned = _align(shapes, INNER)
    reference = np.median(aligned, axis=0)
    iod = float(np.linalg.norm(reference[OUTER_CORNER_B] - reference[OUTER_CORNER_A]))
    if iod <= 0.0:
        return 0.0
    residuals = np.sqrt(((aligned[:, INNER] - reference[INNER]) ** 2).sum(axis=2).mean(axis=1))
    return float(np.percentile(residuals, 90)) / iod
