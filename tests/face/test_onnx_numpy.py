"""The shipped models: numpy executor equal to onnxruntime on real faces; files checked at load."""

import hashlib
import json
import shutil
import time
from pathlib import Path

import numpy as np
import pytest

from custom_components.facegate.face.engine import load_image_file
from custom_components.facegate.face.mobilefacenet import (
    MOBILEFACENET,
    YUNET,
    MobileFaceNetEncoder,
    YuNetDetector,
    align,
    letterbox,
)
from custom_components.facegate.face.onnx_numpy import (
    MODELS_DIR,
    SUMS_FILE,
    ModelFileError,
    load_graph,
)

from ..photos import Photos

pytest.importorskip("onnxruntime")  # the reference; a test below runs without it

TOLERANCE = 1e-4
FACE_PHOTOS = (
    "barack_obama/1.jpg",
    "kit_harington/2.jpg",
    "rose_leslie/2.jpg",
    "alex_lacamoire/1.png",
    "mayim_bialik/1.png",
)
MANIFEST_SHA256 = {  # ../shared/models/*/MANIFEST.md: the upstream files, byte for byte
    "yunet/yunet_s_640_640.onnx": (
        "8f2383e4dd3cfbb4553ea8718107fc0423210dc964f9f4280604804ed2552fa4"
    ),
    "mobilefacenet/MobileFaceNet.onnx": (
        "b7120c095d60094f28a4a54ba6a8bf51b297a6273fb40ef6350dfec1f63d9507"
    ),
    "minifasnet/MiniFASNetV2.onnx": (
        "4eed38f0bde33c9b805942a5f25e42ce1161e2bda545254be622be957727794e"
    ),
    "minifasnet/MiniFASNetV1SE.onnx": (
        "d819a69bac6b9ade2a0f4d9b60b618e1260f7bf3ba1fddff6c5d82131cb1083f"
    ),
}


@pytest.fixture(scope="module")
def images(faces: Photos) -> list[np.ndarray]:
    """Real face photos (the fixture copies, present on a clean checkout)."""
    return [load_image_file(faces / name) for name in FACE_PHOTOS]


def _max_difference(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> float:
    assert a.keys() == b.keys()
    return max(float(np.abs(a[name] - b[name]).max()) for name in a)


def test_shipped_models_are_the_upstream_files_with_their_licences() -> None:
    """Each .onnx is the MANIFEST's file; each graph records that sha256; LICENSE beside it."""
    for name, digest in MANIFEST_SHA256.items():
        path = MODELS_DIR / name
        assert hashlib.sha256(path.read_bytes()).hexdigest() == digest
        graph = json.loads(path.with_suffix(".json").read_text())
        assert graph["source_sha256"] == digest
        assert "Apache License" in (path.parent / "LICENSE").read_text()


def test_yunet_numpy_equals_onnxruntime_on_real_photos(images: list[np.ndarray]) -> None:
    """The detector's raw outputs on letterboxed photos agree to 1e-4."""
    numpy_graph = load_graph(*YUNET, runtime="numpy")
    ort_graph = load_graph(*YUNET, runtime="onnxruntime")
    for image in images:
        blob, _ = letterbox(image)
        name = ort_graph.input_names[0]
        assert _max_difference(numpy_graph.run({name: blob}), ort_graph.run({name: blob})) <= (
            TOLERANCE
        )


def test_mobilefacenet_numpy_equals_onnxruntime_on_aligned_faces(images: list[np.ndarray]) -> None:
    """Embeddings of the aligned faces (with the mirror) agree to 1e-4; the numpy time."""
    detector = YuNetDetector(runtime="onnxruntime")
    numpy_encoder = MobileFaceNetEncoder(runtime="numpy")
    ort_encoder = MobileFaceNetEncoder(runtime="onnxruntime")
    assert numpy_encoder.graph.runtime == "numpy"
    assert ort_encoder.graph.runtime == "onnxruntime"
    elapsed = []
    for image in images:
        _, _, points = detector.detect(image)
        assert len(points) >= 1
        crop = align(image, points[0])
        start = time.perf_counter()
        numpy_embedding = numpy_encoder.embed_crop(crop)
        elapsed.append(time.perf_counter() - start)
        assert np.abs(numpy_embedding - ort_encoder.embed_crop(crop)).max() <= TOLERANCE
    print(f"numpy MobileFaceNet with mirror: {1000 * min(elapsed):.0f} ms per face (best)")  # noqa: T201


@pytest.mark.parametrize("stem", ["MiniFASNetV2", "MiniFASNetV1SE"])
def test_minifasnet_numpy_equals_onnxruntime_on_face_crops(
    images: list[np.ndarray], stem: str
) -> None:
    """The anti-spoofing models (for the liveness check) agree to 1e-4 on 80x80 face crops."""
    detector = YuNetDetector(runtime="onnxruntime")
    numpy_graph = load_graph("minifasnet", stem, runtime="numpy")
    ort_graph = load_graph("minifasnet", stem, runtime="onnxruntime")
    for image in images:
        boxes, _, _ = detector.detect(image)
        left, top, right, bottom = (int(v) for v in boxes[0])
        crop = image[max(top, 0) : bottom, max(left, 0) : right]
        from PIL import Image  # noqa: PLC0415

        small = np.asarray(Image.fromarray(crop).resize((80, 80)), dtype=np.float32)
        blob = np.ascontiguousarray(small[:, :, ::-1].transpose(2, 0, 1)[None])  # BGR, 0-255
        name = ort_graph.input_names[0]
        assert _max_difference(numpy_graph.run({name: blob}), ort_graph.run({name: blob})) <= (
            TOLERANCE
        )


def _copy_models(tmp_path: Path) -> Path:
    root = tmp_path / "models"
    shutil.copytree(MODELS_DIR, root)
    return root


@pytest.mark.parametrize("runtime", ["numpy", "onnxruntime"])
def test_a_changed_model_file_is_refused(tmp_path: Path, runtime: str) -> None:
    """One flipped byte in a weight file: loading fails with a clear error, nothing runs."""
    root = _copy_models(tmp_path)
    suffix = ".npz" if runtime == "numpy" else ".onnx"
    path = root / MOBILEFACENET[0] / f"{MOBILEFACENET[1]}{suffix}"
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))
    with pytest.raises(ModelFileError, match="was changed"):
        load_graph(*MOBILEFACENET, runtime=runtime, root=root)


def test_a_changed_graph_description_is_refused(tmp_path: Path) -> None:
    """Editing the graph (say, an operator swapped) is a changed file too."""
    root = _copy_models(tmp_path)
    path = root / YUNET[0] / f"{YUNET[1]}.json"
    path.write_text(path.read_text().replace('"Relu"', '"Sigmoid"', 1))
    with pytest.raises(ModelFileError, match="was changed"):
        load_graph(*YUNET, runtime="numpy", root=root)


def test_a_rewritten_or_missing_checksum_list_is_refused(tmp_path: Path) -> None:
    """Changing a file AND its line in SHA256SUMS is still refused: the list is pinned in code."""
    root = _copy_models(tmp_path)
    weights = root / YUNET[0] / f"{YUNET[1]}.npz"
    weights.write_bytes(weights.read_bytes() + b"\0")
    sums = root / SUMS_FILE
    name = f"{YUNET[0]}/{YUNET[1]}.npz"
    digest = hashlib.sha256(weights.read_bytes()).hexdigest()
    sums.write_text(
        "".join(
            f"{digest}  {name}\n" if line.endswith(name) else line + "\n"
            for line in sums.read_text().splitlines()
        )
    )
    with pytest.raises(ModelFileError, match=f"{SUMS_FILE} was changed"):
        load_graph(*YUNET, runtime="numpy", root=root)
    sums.unlink()
    with pytest.raises(ModelFileError, match="missing"):
        load_graph(*YUNET, runtime="numpy", root=root)


def test_without_onnxruntime_the_numpy_executor_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    """FACEGATE_ONNX_NUMPY=1 (as where onnxruntime cannot install): "auto" gives numpy."""
    monkeypatch.setenv("FACEGATE_ONNX_NUMPY", "1")
    assert load_graph(*MOBILEFACENET).runtime == "numpy"
    with pytest.raises(ImportError):
        load_graph(*MOBILEFACENET, runtime="onnxruntime")
