"""Where dlib's model files are, found without importing dlib or face_recognition_models.

face_recognition_models' own ``__init__`` imports pkg_resources, which Home Assistant's
setuptools no longer ships, so the package is only located (importlib's find_spec), never
imported. dlib is only looked up here too: the engine imports it, in the worker process.
"""

import importlib.util
from dataclasses import dataclass
from pathlib import Path

MODELS_PACKAGE = "face_recognition_models"

# File names inside face_recognition_models/models (face_recognition_models 0.3.0).
DETECTOR_CNN_FILE = "mmod_human_face_detector.dat"
SHAPE_68_FILE = "shape_predictor_68_face_landmarks.dat"
SHAPE_5_FILE = "shape_predictor_5_face_landmarks.dat"
ENCODER_FILE = "dlib_face_recognition_resnet_model_v1.dat"

# The engines (face/engine.py: dlib's; face/mobilefacenet.py: YuNet + MobileFaceNet). Templates
# carry the id of the engine that made them: one engine's templates never match another's.
ENGINE_DLIB = "dlib"
ENGINE_MOBILEFACENET = "mobilefacenet"
ENGINES = (ENGINE_MOBILEFACENET, ENGINE_DLIB)
DEFAULT_ENGINE = ENGINE_MOBILEFACENET  # measured better: docs/face-accuracy.md
# What a template depends on, per engine: the encoder's model (a new model file is a new key).
ENGINE_KEYS = {
    ENGINE_DLIB: "dlib:dlib_face_recognition_resnet_model_v1",
    # sha256 of MobileFaceNet.onnx (the shipped .npz/.json record it and are checked at load)
    ENGINE_MOBILEFACENET: "mobilefacenet:b7120c095d60094f",
}

REASON_DLIB_MISSING = "dlib_missing"
REASON_MODELS_MISSING = "models_missing"


class FaceEngineUnavailable(Exception):  # noqa: N818 - the name says what the caller learns
    """The face engine cannot run here; ``reason`` is "dlib_missing" or "models_missing"."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True, slots=True)
class ModelPaths:
    """The four dlib model files the engine loads."""

    detector_cnn: Path
    shape_68: Path
    shape_5: Path
    encoder: Path


def models_dir() -> Path | None:
    """face_recognition_models' ``models`` folder, or None when the package is not installed."""
    try:
        spec = importlib.util.find_spec(MODELS_PACKAGE)
    except ImportError, ValueError:
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))) / "models"


def find_models(search_dir: Path | None = None) -> ModelPaths:
    """Locate dlib and the model files; ``search_dir`` replaces the installed models folder.

    Raises FaceEngineUnavailable("dlib_missing") when dlib cannot be found and
    FaceEngineUnavailable("models_missing") when any model file is absent. dlib itself is not
    imported (that stays in the worker process).
    """
    try:
        dlib_spec = importlib.util.find_spec("dlib")
    except ImportError, ValueError:  # a broken or blocked install
        dlib_spec = None
    if dlib_spec is None:
        raise FaceEngineUnavailable(REASON_DLIB_MISSING, "the dlib module (dlib-bin) is missing")
    folder = search_dir if search_dir is not None else models_dir()
    if folder is None:
        raise FaceEngineUnavailable(REASON_MODELS_MISSING, f"{MODELS_PACKAGE} is not installed")
    paths = ModelPaths(
        detector_cnn=folder / DETECTOR_CNN_FILE,
        shape_68=folder / SHAPE_68_FILE,
        shape_5=folder / SHAPE_5_FILE,
        encoder=folder / ENCODER_FILE,
    )
    missing = [
        path.name
        for path in (paths.detector_cnn, paths.shape_68, paths.shape_5, paths.encoder)
        if not path.is_file()
    ]
    if missing:
        raise FaceEngineUnavailable(
            REASON_MODELS_MISSING, f"not found in {folder}: {', '.join(missing)}"
        )
    return paths


def engine_available(search_dir: Path | None = None) -> bool:
    """Whether dlib and all model files are present (nothing is imported or loaded)."""
    try:
        find_models(search_dir)
    except FaceEngineUnavailable:
        return False
    return True


def packages_missing(engine: str) -> bool:
    """Whether ``engine`` needs packages FaceGate does not ship and they are not installed.

    Only the optional dlib engine does; FaceGate never installs them itself.
    """
    return engine == ENGINE_DLIB and not engine_available()
