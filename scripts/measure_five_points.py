#!/usr/bin/env python3
"""YuNet's five landmarks against dlib's 68 on the same faces: yaw, cut-off margins, head motion.

    bash -c 'source scripts/lib/common.sh; in_env python scripts/measure_five_points.py \\
        --faces ../shared/faces [--clips ../shared/liveness]'

The default engine reads YuNet's five points where it read dlib's 68 (face/liveness.py,
liveness_policy.py). Both are taken on YuNet's box, as the engine did before: dlib's 68-point
predictor runs on that box. Needs dlib-bin and face_recognition_models (the test requirements).

--faces (the dev face photos, not the liveness clips, so nothing reported on the clips is tuned
on them): the yaw of the five points against the 68-point yaw, and the least-squares factor
that maps one onto the other (liveness.EYE_CENTRE_SPAN); and how far dlib's inner points (brows,
eyes, nose, mouth) reach beyond the five points (liveness.FIVE_POINT_MARGINS), in eye-centre
spans; with --flat, the five points' head motion on a flat print of three of those photos
under random tilts, re-detected frame by frame. --clips: the same yaw comparison on frames
every 0.5 s of each clip, and per clip the 3-D head motion (liveness_policy.head_motion) over
scan windows from five and from 68 points.
"""

import argparse
import sys
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from custom_components.facegate.face import liveness  # noqa: E402
from custom_components.facegate.face.engine import (  # noqa: E402
    _import_dlib,
    _load,
    load_image_file,
)
from custom_components.facegate.face.liveness_policy import head_motion  # noqa: E402
from custom_components.facegate.face.mobilefacenet import YuNetDetector  # noqa: E402
from custom_components.facegate.face.models import find_models  # noqa: E402
from custom_components.facegate.face.scan import EVIDENCE  # noqa: E402

type Points = npt.NDArray[np.float64]
PHOTOS = (".jpg", ".jpeg", ".png", ".webp")
WINDOW_STEP = 0.5  # s between the frames of a head-motion window (about the scan interval)


class Landmarks:
    """Both landmark sets of every face YuNet finds in an image."""

    def __init__(self) -> None:
        dlib = _import_dlib()
        self._rectangle: Any = dlib.rectangle
        self._shape_68: Any = _load(dlib.shape_predictor, find_models().shape_68)
        self._yunet = YuNetDetector()

    def faces(self, image: npt.NDArray[np.uint8]) -> list[tuple[Points, Points]]:
        """(five points, 68 points) per face, best detection first."""
        boxes, _, points = self._yunet.detect(image)
        found = []
        for (x1, y1, x2, y2), five in zip(boxes, points, strict=True):
            rect = self._rectangle(round(x1), round(y1), round(x2), round(y2))
            shape = self._shape_68(image, rect)
            full = np.array([(p.x, p.y) for p in shape.parts()], dtype=np.float64)
            found.append((np.asarray(five, dtype=np.float64), full))
        return found


def _span(five: Points) -> float:
    return float(np.linalg.norm(five[liveness.FIVE_EYE_B] - five[liveness.FIVE_EYE_A]))


def raw_five_yaw(five: Points) -> float:
    """The five points' yaw before EYE_CENTRE_SPAN: 2 x the nose's position - 1."""
    return liveness.yaw_asymmetry(five) / liveness.EYE_CENTRE_SPAN


def reach(five: Points, full: Points) -> tuple[float, float, float]:
    """How far dlib's inner points reach beyond the five, in eye-centre spans.

    (sideways beyond the farther eye centre, above the eye line, below the mouth corners).
    """
    eye_a, eye_b = five[liveness.FIVE_EYE_A], five[liveness.FIVE_EYE_B]
    axis = eye_b - eye_a
    span2 = float(axis @ axis)
    down = np.array([-axis[1], axis[0]])
    inner = full[liveness.INNER] - eye_a
    along = inner @ axis / span2  # 0 at eye A, 1 at eye B
    across = inner @ down / span2  # 0 on the eye line, positive towards the mouth
    mouth = ((five[[liveness.FIVE_MOUTH_A, liveness.FIVE_MOUTH_B]] - eye_a) @ down / span2).max()
    side = max(-float(along.min()), float(along.max()) - 1.0)
    return side, -float(across.min()), float(across.max() - mouth)


TURNED = 0.15  # |raw five-point yaw| above which a face's ratio is used (near 0 it is noise)


def _fit(pairs: list[tuple[float, float]]) -> tuple[float, float, float, float, float]:
    """Factors k (68 ~ k x raw five): least squares through 0, and the median ratio of the
    turned faces (robust to a misfitted landmark); the correlation; and the mean and 95th
    percentile |difference| with the shipped EYE_CENTRE_SPAN."""
    raw = np.array([p[0] for p in pairs])
    full = np.array([p[1] for p in pairs])
    least = float(raw @ full / (raw @ raw))
    turned = np.abs(raw) > TURNED
    median = float(np.median(full[turned] / raw[turned])) if turned.any() else float("nan")
    corr = float(np.corrcoef(raw, full)[0, 1])
    diff = np.abs(liveness.EYE_CENTRE_SPAN * raw - full)
    return least, median, corr, float(diff.mean()), float(np.percentile(diff, 95))


def _print_fit(pairs: list[tuple[float, float]], what: str) -> None:
    least, median, corr, mae, p95 = _fit(pairs)
    print(
        f"  yaw on {len(pairs)} {what}: 68-point = k x five-point raw, k {least:.3f} (least "
        f"squares) / {median:.3f} (median ratio, |raw| > {TURNED}); correlation {corr:.3f}; "
        f"with EYE_CENTRE_SPAN {liveness.EYE_CENTRE_SPAN}: |difference| mean {mae:.3f}, "
        f"95th pct {p95:.3f}"
    )


CROPS = (0.0, 0.1, 0.2, 0.3, 0.5)  # face-box widths kept around the face: cut-off or not


def _cut(points: Points, size: tuple[int, int]) -> bool:
    width, height = size
    return bool(
        (points < 0).any() or (points[:, 0] >= width).any() or (points[:, 1] >= height).any()
    )


def _cropped(marks: Landmarks, image: npt.NDArray[np.uint8]) -> list[tuple[Points, Points, bool]]:
    """The face in tight crops of the image: five points, the crop's size, and whether dlib's
    inner points leave it (the 68-point gate's "face_cut_off")."""
    boxes, _, _ = marks._yunet.detect(image)
    if not len(boxes):
        return []
    x1, y1, x2, y2 = boxes[int(np.argmax(boxes[:, 2] - boxes[:, 0]))]
    height, width = image.shape[:2]
    out = []
    for margin in CROPS:
        pad = margin * (x2 - x1)
        top, left = max(0, round(y1 - pad)), max(0, round(x1 - pad))
        crop = np.ascontiguousarray(
            image[top : min(height, round(y2 + pad)), left : min(width, round(x2 + pad))]
        )
        found = marks.faces(crop)
        if found:
            five, full = max(found, key=lambda face: _span(face[0]))
            size = (crop.shape[1], crop.shape[0])
            out.append((five, np.array(size, dtype=np.float64), _cut(full[liveness.INNER], size)))
    return out


def _agreement(crops: list[tuple[Points, Points, bool]]) -> None:
    """How often the five-point cut-off check (shipped margins) and the 68-point one differ.

    dlib fits its 68 points inside the box it is given, so on a crop to the face box they
    rarely leave it: "extra" counts faces the five points call cut off where dlib does not.
    """
    wrong = [
        (_cut(liveness.face_extent(five), (int(size[0]), int(size[1]))), cut68)
        for five, size, cut68 in crops
    ]
    missed = sum(cut68 and not cut5 for cut5, cut68 in wrong)
    extra = sum(cut5 and not cut68 for cut5, cut68 in wrong)
    print(
        f"  cut-off on {len(crops)} crops ({', '.join(map(str, CROPS))} face widths around the "
        f"face box): 68-point gate {sum(c for _, c in wrong)} cut off, five-point gate "
        f"{sum(c for c, _ in wrong)}; {missed} missed, {extra} extra"
    )


def measure_faces(marks: Landmarks, root: Path) -> None:
    pairs: list[tuple[float, float]] = []
    reaches: list[tuple[float, float, float]] = []
    crops: list[tuple[Points, Points, bool]] = []
    for path in sorted(root.glob("*/*")):
        if path.parent.name.startswith("_") or path.suffix.lower() not in PHOTOS:
            continue  # scenes: many small faces, not identity photos
        image = load_image_file(path)
        found = marks.faces(image)
        if not found:
            continue
        five, full = max(found, key=lambda face: _span(face[0]))  # the portrait's own face
        pairs.append((raw_five_yaw(five), liveness.yaw_asymmetry(full)))
        reaches.append(reach(five, full))
        crops.extend(_cropped(marks, image))
    print(f"faces: {len(pairs)} photos (the largest face of each)")
    _print_fit(pairs, "photos")
    spread = np.array(reaches)
    for index, name in enumerate(("side", "above", "below")):
        values = spread[:, index]
        print(
            f"  reach {name}: median {np.median(values):.2f}, 95th pct "
            f"{np.percentile(values, 95):.2f}, max {values.max():.2f} eye-centre spans "
            f"(FIVE_POINT_MARGINS: {liveness.FIVE_POINT_MARGINS[index]})"
        )
    _agreement(crops)


def measure_clips(marks: Landmarks, root: Path) -> None:
    sys.path.insert(0, str(ROOT / "scripts"))
    import evaluate_liveness as clips  # noqa: PLC0415 - its clip reader (PyAV)

    pairs: list[tuple[float, float]] = []
    print("clips: head motion (second-largest planar residual, first frame against later ones)")
    print("  over windows of EVIDENCE frames every 0.5 s: max over windows, five vs 68 points")
    for sample in clips.read_samples(root):
        camera = clips.Camera(clips.frames(sample))
        track: list[tuple[Points, Points]] = []
        t = 0.0
        while (image := camera.at(t)) is not None:
            found = marks.faces(image)
            if found:
                five, full = found[0]
                pairs.append((raw_five_yaw(five), liveness.yaw_asymmetry(full)))
                track.append((five, full))
            t += WINDOW_STEP
        windows = [track[i : i + EVIDENCE] for i in range(max(1, len(track) - EVIDENCE + 1))]
        motion_5 = max((head_motion([f for f, _ in w]) for w in windows), default=0.0)
        motion_68 = max((head_motion([m for _, m in w]) for w in windows), default=0.0)
        yaws = [abs(liveness.yaw_asymmetry(f)) for f, _ in track[: int(1 / WINDOW_STEP) + 1]]
        first = f"{max(yaws):.2f}" if yaws else "-"
        print(
            f"  {sample.path.name[:48]:48} {sample.kind:6} frames {len(track):3} "
            f"motion five {motion_5:.3f} 68 {motion_68:.3f}  |yaw five| first second max {first}"
        )
    _print_fit(pairs, "clip frames")


FLAT_PHOTOS = ("barack_obama/1.jpg", "jackie_chan/5.jpg", "kim_dae_jung/2.jpg")
CANVAS = 480


def _on_canvas(marks: Landmarks, path: Path, face_px: int) -> Any:
    """The photo scaled to a face `face_px` wide, in the middle of a grey canvas (a print)."""
    from PIL import Image  # noqa: PLC0415

    rgb = load_image_file(path)
    boxes, _, _ = marks._yunet.detect(rgb)
    factor = face_px / float(boxes[0][2] - boxes[0][0])
    image = Image.fromarray(rgb)
    image = image.resize((round(image.width * factor), round(image.height * factor)))
    canvas = Image.new("RGB", (CANVAS, CANVAS), (128, 128, 128))
    canvas.paste(image, ((CANVAS - image.width) // 2, (CANVAS - image.height) // 2))
    return canvas


def _tilted(canvas: Any, rng: np.random.Generator) -> npt.NDArray[np.uint8]:
    """The print moved, scaled, sheared and tilted (a random homography), with pixel noise."""
    from PIL import Image  # noqa: PLC0415

    matrix = np.eye(3)
    matrix[:2, :2] = rng.uniform(0.85, 1.15) * (np.eye(2) + rng.uniform(-0.08, 0.08, (2, 2)))
    matrix[:2, 2] = rng.uniform(-20, 20, 2)
    matrix[2, :2] = rng.uniform(-0.3, 0.3, 2) / (CANVAS / 2)  # up to 30 % foreshortening
    centre = np.array([[1, 0, -CANVAS / 2], [0, 1, -CANVAS / 2], [0, 0, 1.0]])
    inverse = np.linalg.inv(np.linalg.inv(centre) @ matrix @ centre)
    inverse /= inverse[2, 2]
    out = canvas.transform(
        canvas.size, Image.Transform.PERSPECTIVE, tuple(inverse.ravel()[:8]),
        Image.Resampling.BILINEAR,
    )  # fmt: skip
    noisy = np.asarray(out).astype(np.int16) + rng.integers(-4, 5, (CANVAS, CANVAS, 3))
    return np.clip(noisy, 0, 255).astype(np.uint8)


def measure_flat(marks: Landmarks, root: Path) -> None:
    """Head motion of YuNet's five points on a flat print under random tilts (re-detected)."""
    rng = np.random.default_rng(1)
    print("flat prints: head motion of 6 sequences of 8 tilted frames, per photo and face size")
    for name in FLAT_PHOTOS:
        for face_px in (100, 140):
            canvas = _on_canvas(marks, root / name, face_px)
            motions = []
            for _ in range(6):
                frames = [marks._yunet.detect(_tilted(canvas, rng))[2] for _ in range(8)]
                motions.append(head_motion([points[0] for points in frames if len(points)]))
            print(f"  {name:20} {face_px} px: {' '.join(f'{m:.3f}' for m in motions)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--faces", type=Path, help="the dev face photos (../shared/faces)")
    parser.add_argument("--clips", type=Path, help="the liveness clips (../shared/liveness)")
    parser.add_argument("--flat", action="store_true", help="with --faces: tilted prints")
    args = parser.parse_args()
    marks = Landmarks()
    if args.faces:
        measure_faces(marks, args.faces)
    if args.faces and args.flat:
        measure_flat(marks, args.faces)
    if args.clips:
        measure_clips(marks, args.clips)


if __name__ == "__main__":
    main()
