"""The YuNet + MobileFaceNet engine: a small detector, 5-point alignment, a 128-d embedding.

Preprocessing exactly as the models' MANIFESTs say (../shared/models, shipped in models/):

- YuNet (yunet_s_640_640): the image letterboxed into 640x640 (scaled so that it fits, padded
  right and bottom with black), BGR, float32 0-255, NCHW. Outputs decoded as OpenCV's
  FaceDetectorYN does: anchor-free, score = sqrt(cls x obj), box centre = (grid + offset) x
  stride, size = exp(wh) x stride, landmarks = (grid + offset) x stride; then NMS at IoU 0.3,
  score threshold 0.6. Landmarks: right eye, left eye, nose tip, right and left mouth corner.
- MobileFaceNet: the face warped to 112x112 by the similarity transform (Umeyama, least squares)
  of the 5 landmarks onto the ArcFace template, bilinear; RGB /255, ImageNet mean and std;
  output L2-normalised. The embedding of the mirrored crop is averaged in (measured better,
  see docs/face-accuracy.md) and the mean normalised again, so distances are Euclidean between
  unit vectors: sqrt(2 - 2 cos).

No dlib: the liveness cues and the quality gate read YuNet's five landmarks (eye centres, nose
tip, mouth corners) as the observation's landmarks (face/liveness.py: yaw and cut-off faces;
liveness_policy.py: 3-D head motion). Five points show no eyelids, so this engine has no blink
cue. The identity (the embedding) is MobileFaceNet's alone.
"""

from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from PIL import Image

from .engine import RGBImage, _face_quality, check_image
from .observation import Box, FaceObservation
from .onnx_numpy import MODELS_DIR, Graph, load_graph
from .reuse import Known, reused_encodings

YUNET = ("yunet", "yunet_s_640_640")
MOBILEFACENET = ("mobilefacenet", "MobileFaceNet")
INPUT_SIZE = 640
STRIDES = (8, 16, 32)
SCORE_THRESHOLD = 0.6
NMS_IOU = 0.3
TOP_K = 50
CROP = 112
ARCFACE_TEMPLATE = np.array(
    [
        (38.2946, 51.6963),
        (73.5318, 51.5014),
        (56.0252, 71.7366),
        (41.5493, 92.3655),
        (70.7299, 92.2041),
    ]
)
MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)

type FloatArray = npt.NDArray[np.float64]


def _nms(boxes: FloatArray, scores: FloatArray, iou: float) -> list[int]:
    """Greedy non-maximum suppression over (x1, y1, x2, y2) boxes, best score first."""
    order = list(np.argsort(-scores, kind="stable"))
    keep: list[int] = []
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    while order and len(keep) < TOP_K:
        best = order.pop(0)
        keep.append(int(best))
        if not order:
            break
        rest = np.array(order)
        x1 = np.maximum(boxes[best, 0], boxes[rest, 0])
        y1 = np.maximum(boxes[best, 1], boxes[rest, 1])
        x2 = np.minimum(boxes[best, 2], boxes[rest, 2])
        y2 = np.minimum(boxes[best, 3], boxes[rest, 3])
        inter = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
        overlap = inter / (areas[best] + areas[rest] - inter)
        order = [int(i) for i, o in zip(rest, overlap, strict=True) if o <= iou]
    return keep


def letterbox(
    image: RGBImage, size: int = INPUT_SIZE, *, square: bool = True
) -> tuple[npt.NDArray[np.float32], float]:
    """The image scaled to fit size x size, padded black, as a BGR NCHW blob; and the scale.

    ``square=False`` pads only to multiples of 32 (as OpenCV's FaceDetectorYN does): the
    numpy executor runs the graph at any such size, faster on frames that are not square;
    onnxruntime insists on the file's fixed 640x640.
    """
    height, width = image.shape[:2]
    scale = min(size / width, size / height)
    new_w, new_h = max(1, round(width * scale)), max(1, round(height * scale))
    resized = np.asarray(
        Image.fromarray(image).resize((new_w, new_h), Image.Resampling.BILINEAR), np.float32
    )
    rows, cols = (size, size) if square else (-(-new_h // 32) * 32, -(-new_w // 32) * 32)
    blob = np.zeros((1, 3, rows, cols), dtype=np.float32)
    blob[0, :, :new_h, :new_w] = resized[:, :, ::-1].transpose(2, 0, 1)  # RGB -> BGR, CHW
    return blob, scale


def decode_yunet(
    outputs: dict[str, npt.NDArray[Any]], width: int = INPUT_SIZE
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Boxes (x1, y1, x2, y2), scores and landmarks (n, 5, 2) in input pixels, after NMS.

    ``width``: the input blob's width (the grid has width // stride columns).
    """
    boxes, scores, points = [], [], []
    for stride in STRIDES:
        cols = width // stride
        cls = np.clip(outputs[f"cls_{stride}"].reshape(-1), 0, 1)
        obj = np.clip(outputs[f"obj_{stride}"].reshape(-1), 0, 1)
        score = np.sqrt(cls * obj)
        keep = np.nonzero(score >= SCORE_THRESHOLD)[0]
        if not len(keep):
            continue
        grid = np.stack([keep % cols, keep // cols], axis=1).astype(np.float64)
        bbox = outputs[f"bbox_{stride}"].reshape(-1, 4)[keep].astype(np.float64)
        kps = outputs[f"kps_{stride}"].reshape(-1, 5, 2)[keep].astype(np.float64)
        centre = (grid + bbox[:, :2]) * stride
        wh = np.exp(bbox[:, 2:]) * stride
        boxes.append(np.concatenate([centre - wh / 2, centre + wh / 2], axis=1))
        scores.append(score[keep].astype(np.float64))
        points.append((kps + grid[:, None, :]) * stride)
    if not boxes:
        return np.zeros((0, 4)), np.zeros(0), np.zeros((0, 5, 2))
    all_boxes, all_scores = np.concatenate(boxes), np.concatenate(scores)
    keep_idx = _nms(all_boxes, all_scores, NMS_IOU)
    return all_boxes[keep_idx], all_scores[keep_idx], np.concatenate(points)[keep_idx]


def similarity_transform(source: FloatArray, target: FloatArray) -> FloatArray:
    """The 2x3 similarity (rotation, scale, shift) best mapping source onto target.

    Least squares (Umeyama 1991), no reflection.
    """
    src_mean, dst_mean = source.mean(axis=0), target.mean(axis=0)
    src, dst = source - src_mean, target - dst_mean
    covariance = dst.T @ src / len(source)
    u, s, vt = np.linalg.svd(covariance)
    d = np.ones(2)
    if np.linalg.det(u) * np.linalg.det(vt) < 0:
        d[1] = -1.0
    rotation = u @ np.diag(d) @ vt
    scale = float((s * d).sum() / (src**2).sum(axis=1).mean())
    matrix = np.empty((2, 3))
    matrix[:, :2] = scale * rotation
    matrix[:, 2] = dst_mean - scale * rotation @ src_mean
    return matrix


def warp_affine(image: RGBImage, matrix: FloatArray, size: int = CROP) -> npt.NDArray[np.float32]:
    """The size x size output of the 2x3 map (image -> output), bilinear, black outside."""
    inverse = np.linalg.inv(np.vstack([matrix, [0.0, 0.0, 1.0]]))[:2]
    ys, xs = np.mgrid[0:size, 0:size].astype(np.float64)
    sx = inverse[0, 0] * xs + inverse[0, 1] * ys + inverse[0, 2]
    sy = inverse[1, 0] * xs + inverse[1, 1] * ys + inverse[1, 2]
    x0, y0 = np.floor(sx).astype(np.intp), np.floor(sy).astype(np.intp)
    fx, fy = (sx - x0)[..., None], (sy - y0)[..., None]
    height, width = image.shape[:2]
    padded = np.zeros((height + 2, width + 2, 3), dtype=np.float32)
    padded[1:-1, 1:-1] = image
    # Indices into the padded image; anything outside reads its black border.
    x0p, y0p = np.clip(x0 + 1, 0, width + 1), np.clip(y0 + 1, 0, height + 1)
    x1p, y1p = np.clip(x0 + 2, 0, width + 1), np.clip(y0 + 2, 0, height + 1)
    top = padded[y0p, x0p] * (1 - fx) + padded[y0p, x1p] * fx
    bottom = padded[y1p, x0p] * (1 - fx) + padded[y1p, x1p] * fx
    result: npt.NDArray[np.float32] = (top * (1 - fy) + bottom * fy).astype(np.float32)
    return result


def align(image: RGBImage, landmarks: FloatArray) -> npt.NDArray[np.float32]:
    """The 112x112 RGB crop (float 0-255) of a face aligned on its 5 landmarks."""
    return warp_affine(image, similarity_transform(landmarks, ARCFACE_TEMPLATE))


def _blob(crop: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    normalised = (crop / np.float32(255.0) - MEAN) / STD
    return np.ascontiguousarray(normalised.transpose(2, 0, 1)[None], dtype=np.float32)


def _unit(vector: npt.NDArray[Any]) -> FloatArray:
    flat = np.asarray(vector, dtype=np.float64).ravel()
    norm = float(np.linalg.norm(flat))
    return flat / norm if norm > 0 else flat


class YuNetDetector:
    """YuNet on a letterboxed 640x640 frame: boxes, scores and 5 landmarks in image pixels."""

    def __init__(self, runtime: str = "auto", root: Path = MODELS_DIR) -> None:
        self.graph: Graph = load_graph(*YUNET, runtime=runtime, root=root)

    def detect(self, image: RGBImage) -> tuple[FloatArray, FloatArray, FloatArray]:
        """(boxes x1 y1 x2 y2, scores, landmarks (n, 5, 2)), best score first."""
        blob, scale = letterbox(image, square=self.graph.runtime != "numpy")
        outputs = self.graph.run({self.graph.input_names[0]: blob})
        boxes, scores, points = decode_yunet(outputs, blob.shape[3])
        return boxes / scale, scores, points / scale


class MobileFaceNetEncoder:
    """The 128-d unit embedding of an aligned face, averaged with its mirror image's."""

    def __init__(
        self, runtime: str = "auto", root: Path = MODELS_DIR, *, mirror: bool = True
    ) -> None:
        self.graph: Graph = load_graph(*MOBILEFACENET, runtime=runtime, root=root)
        self.mirror = mirror

    def embed_crop(self, crop: npt.NDArray[np.float32]) -> FloatArray:
        """The embedding of one aligned 112x112 RGB crop (float 0-255)."""
        blob = _blob(crop)
        if self.mirror:
            blob = np.concatenate([blob, blob[:, :, :, ::-1]])
        name = self.graph.input_names[0]
        if self.mirror and blob.shape[0] == 2:
            # One image per run: the exported graph has a fixed batch of 1.
            first = self.graph.run({name: blob[:1]})
            second = self.graph.run({name: np.ascontiguousarray(blob[1:])})
            out = [next(iter(first.values())), next(iter(second.values()))]
            return _unit(_unit(out[0]) + _unit(out[1]))
        return _unit(next(iter(self.graph.run({name: blob}).values())))

    def embed(self, image: RGBImage, landmarks: FloatArray) -> FloatArray:
        """The embedding of the face with these 5 landmarks."""
        return self.embed_crop(align(image, landmarks))


def _to_box(xyxy: FloatArray, height: int, width: int) -> Box:
    left, top, right, bottom = (round(float(v)) for v in xyxy)
    return max(top, 0), min(right, width), min(bottom, height), max(left, 0)


class MobileFaceNetEngine:
    """YuNet + MobileFaceNet, FaceEngine's interface; the landmarks are YuNet's five."""

    def __init__(self, *, runtime: str = "auto", mirror: bool = True) -> None:
        self.detector = YuNetDetector(runtime)
        self.encoder = MobileFaceNetEncoder(runtime, mirror=mirror)
        self.runtime = self.encoder.graph.runtime

    def analyze(self, image: RGBImage, known: tuple[Known, ...] = ()) -> list[FaceObservation]:
        """Every face of an RGB uint8 image (HxWx3), best detection first; [] when none.

        ``known``: faces of the previous frame whose encoding may be reused (face/reuse.py).
        """
        image = check_image(image)
        height, width = image.shape[:2]
        found, _, points = self.detector.detect(image)
        boxes = [_to_box(xyxy, height, width) for xyxy in found]
        kept = [
            (box, landmarks)
            for box, landmarks in zip(boxes, points, strict=True)
            if box[1] - box[3] >= 2 and box[2] - box[0] >= 2
        ]
        reused = reused_encodings([box for box, _ in kept], known)
        faces = []
        for (box, landmarks), encoding in zip(kept, reused, strict=True):
            sharpness, brightness = _face_quality(image, box)
            faces.append(
                FaceObservation(
                    box=box,
                    encoding=self.encoder.embed(image, landmarks) if encoding is None else encoding,
                    landmarks=np.asarray(landmarks, dtype=np.float64),
                    sharpness=sharpness,
                    brightness=brightness,
                    encoded=encoding is None,
                )
            )
        return faces
