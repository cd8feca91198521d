"""Passive anti-spoofing: two MiniFASNet models score one face crop live (1) or spoof (0).

Preprocessing as ../shared/models/minifasnet/MANIFEST.md says the original code does: the
face box, centred, scaled by 2.7 (MiniFASNetV2) or 4.0 (MiniFASNetV1SE), never beyond the
image, clipped to it, resized to 80x80; BGR float32 0-255, NCHW; softmax of each model's three
logits; the score is the mean of the two models' P(class 1 = real). The original's boxes come
from a RetinaFace-style detector; ours from YuNet (or dlib): BOX_SCALE widens our box to the
size the models were trained on (calibrated on real clips, docs/face-accuracy.md).

Runs in the engine process, on the same runtime as the recognition models (onnxruntime where
installed, the numpy executor otherwise). No Home Assistant imports.
"""

from dataclasses import replace
from pathlib import Path

import numpy as np
import numpy.typing as npt
from PIL import Image

from .engine import RGBImage
from .observation import Box, FaceObservation
from .onnx_numpy import MODELS_DIR, Graph, load_graph

MODELS = (("MiniFASNetV2", 2.7), ("MiniFASNetV1SE", 4.0))
INPUT = 80
BOX_SCALE = 1.0
"""Our box (YuNet's) widened by this before the models' own scale (see the module docstring)."""
GREY_SPREAD = 4.0
"""Mean spread (0-255) between a face pixel's largest and smallest channel below which the face
has no colour: an infrared night picture, or a black-and-white one. The models were trained on
colour images and call such faces spoof: frames of 6 real live clips turned grey scored
0.003-0.05 (in colour 0.42-1.0), so a grey face is not scored; the policy says it cannot judge
("infrared") rather than "not live", and opens nothing. The faces of the 22 real clips of
../shared/liveness (every 60th frame) spread 20-85 (live) and 14-139 (replays): far above 4."""
# Every face is scored, not only the largest few: a face left unscored was judged by the old
# blink-alone rule (liveness_policy: "no passive score"), so a replay held in front of a poster
# of larger faces opened on its replayed blink. A crowd costs little more for it: per face,
# scoring took a third to a quarter of what the engine's own analysis of that face took (a real
# group photo of 6 faces, 1420x946: onnxruntime 518 ms analysis, 208 ms scoring all 6).

type FloatArray = npt.NDArray[np.float64]


def crop(image: RGBImage, box: Box, scale: float, box_scale: float = BOX_SCALE) -> RGBImage:
    """The original code's crop: the box centred, scaled, kept inside the image, 80x80 RGB."""
    height, width = image.shape[:2]
    top, right, bottom, left = box
    w, h = (right - left) * box_scale, (bottom - top) * box_scale
    cx, cy = (left + right) / 2, (top + bottom) / 2
    scale = min((height - 1) / max(h, 1.0), (width - 1) / max(w, 1.0), scale)
    half_w, half_h = w * scale / 2, h * scale / 2
    x1, y1 = max(0.0, cx - half_w), max(0.0, cy - half_h)
    x2, y2 = min(width - 1.0, cx + half_w), min(height - 1.0, cy + half_h)
    # The original shifts a box that leaves the image back inside rather than shrinking it.
    if cx - half_w < 0:
        x2 = min(width - 1.0, x2 - (cx - half_w))
    if cy - half_h < 0:
        y2 = min(height - 1.0, y2 - (cy - half_h))
    if cx + half_w > width - 1:
        x1 = max(0.0, x1 - (cx + half_w - width + 1))
    if cy + half_h > height - 1:
        y1 = max(0.0, y1 - (cy + half_h - height + 1))
    region = image[int(y1) : int(y2) + 1, int(x1) : int(x2) + 1]
    resized = Image.fromarray(region).resize((INPUT, INPUT), Image.Resampling.BILINEAR)
    return np.asarray(resized, dtype=np.uint8)


def _softmax(logits: npt.NDArray[np.float32]) -> FloatArray:
    values = np.asarray(logits, dtype=np.float64).ravel()
    exp = np.exp(values - values.max())
    return np.asarray(exp / exp.sum(), dtype=np.float64)


class AntiSpoof:
    """Both models, loaded once: `score` of one face, `score_faces` of a frame's faces."""

    def __init__(
        self, runtime: str = "auto", root: Path = MODELS_DIR, box_scale: float = BOX_SCALE
    ) -> None:
        self.graphs: list[tuple[Graph, float]] = [
            (load_graph("minifasnet", stem, runtime=runtime, root=root), scale)
            for stem, scale in MODELS
        ]
        self.runtime = self.graphs[0][0].runtime
        self.box_scale = box_scale

    def score(self, image: RGBImage, box: Box) -> float:
        """P(live) of the face in this box, 0-1: the mean of the two models' class 1."""
        total = 0.0
        for graph, scale in self.graphs:
            patch = crop(image, box, scale, self.box_scale)
            blob = np.ascontiguousarray(
                patch[:, :, ::-1].transpose(2, 0, 1)[None], dtype=np.float32
            )  # RGB -> BGR, CHW, 0-255
            logits = next(iter(graph.run({graph.input_names[0]: blob}).values()))
            total += float(_softmax(logits)[1])
        return total / len(self.graphs)

    def score_faces(self, image: RGBImage, faces: list[FaceObservation]) -> list[FaceObservation]:
        """The faces with `live_score` set on every one of them.

        A face without colour gets no score and `grey` (GREY_SPREAD).
        """
        return [
            replace(face, live_score=None, grey=True)
            if colourless(image, face.box)
            else replace(face, live_score=self.score(image, face.box))
            for face in faces
        ]


def colourless(image: RGBImage, box: Box) -> bool:
    """Whether the face in this box has no colour (GREY_SPREAD)."""
    top, right, bottom, left = box
    height, width = image.shape[:2]
    region = image[max(0, top) : min(height, bottom), max(0, left) : min(width, right)]
    if region.size == 0 or region.ndim != 3:
        return False
    spread = region.max(axis=2).astype(np.int16) - region.min(axis=2).astype(np.int16)
    return float(spread.mean()) < GREY_SPREAD
