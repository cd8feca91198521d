"""Fixtures for the face tests: the shared photos, one FaceEngine, face_recognition 1.3.0.

The photos come from tests/fixtures/faces (small copies with their sources and licences) and,
where it exists, the full set in ../shared/faces; a test that needs a photo found in neither skips.
"""

import importlib.util
import sys
import types
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
from PIL import Image, ImageFile

from custom_components.facegate.face.engine import FaceEngine
from custom_components.facegate.face.models import (
    DETECTOR_CNN_FILE,
    ENCODER_FILE,
    SHAPE_5_FILE,
    SHAPE_68_FILE,
    FaceEngineUnavailable,
    find_models,
    models_dir,
)

from ..photos import PHOTOS, Photos


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations() -> None:
    """The face package needs no Home Assistant: no `hass` for these tests."""


@pytest.fixture(scope="session")
def faces() -> Photos:
    """The test photos, addressed like a folder: faces / "barack_obama/1.jpg"."""
    return PHOTOS


def load_rgb(path: Path) -> np.ndarray:
    """A photo as face_recognition.load_image_file(path) reads it."""
    with Image.open(path) as image:
        return np.array(image.convert("RGB"))


@pytest.fixture(scope="session")
def engine() -> FaceEngine:
    """One HOG engine for the whole session (loading the models takes about 0.9 s)."""
    try:
        find_models()
    except FaceEngineUnavailable as err:
        pytest.skip(f"face engine unavailable: {err}")
    return FaceEngine()


@pytest.fixture(scope="session")
def face_recognition() -> types.ModuleType:
    """face_recognition 1.3.0, the reference, imported through a face_recognition_models shim.

    Its own face_recognition_models needs pkg_resources; the stand-in module only says where
    the model files are. sys.modules and Pillow's LOAD_TRUNCATED_IMAGES (which the import sets
    for the whole process) are restored afterwards; the imported module keeps working.
    """
    folder = models_dir()
    if folder is None:
        pytest.skip("face_recognition_models is not installed")
    shim = types.ModuleType("face_recognition_models")
    shim.__dict__.update(
        pose_predictor_model_location=lambda: str(folder / SHAPE_68_FILE),
        pose_predictor_five_point_model_location=lambda: str(folder / SHAPE_5_FILE),
        face_recognition_model_location=lambda: str(folder / ENCODER_FILE),
        cnn_face_detector_model_location=lambda: str(folder / DETECTOR_CNN_FILE),
    )
    before = set(sys.modules)
    saved_shim = sys.modules.get("face_recognition_models")
    truncated = ImageFile.LOAD_TRUNCATED_IMAGES
    sys.modules["face_recognition_models"] = shim
    try:
        import face_recognition  # noqa: PLC0415 - only here, behind the shim
    except ImportError as err:
        pytest.skip(f"face_recognition is not installed: {err}")
    finally:
        ImageFile.LOAD_TRUNCATED_IMAGES = truncated
        for name in set(sys.modules) - before:
            if name.split(".")[0] in ("face_recognition", "face_recognition_models"):
                del sys.modules[name]
        if saved_shim is None:
            sys.modules.pop("face_recognition_models", None)
        else:
            sys.modules["face_recognition_models"] = saved_shim
    return face_recognition


def load_evaluation() -> ModuleType:
    """scripts/evaluate_faces.py as a module: it holds the evaluation protocol the tests use."""
    name = "facegate_evaluate_faces"
    if name in sys.modules:
        return sys.modules[name]
    script = Path(__file__).resolve().parents[2] / "scripts" / "evaluate_faces.py"
    spec = importlib.util.spec_from_file_location(name, script)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module
