#!/usr/bin/env python3
"""Measure FaceGate's face decision rule against face_recognition's, per group, on real photos.

    scripts/evaluate [--dataset DIR] [--rotations N] [--households 1,2,4,8] [--sweep A:B:STEP]
                     [--check]
    (scripts/evaluate runs this file in the project's environment; --faces is an alias of
    --dataset, which defaults to ../shared/faces)

The data set: DIR/<identity>/<photos> (photos numbered 1.jpg, 2.png, ...; entries whose name
starts with "_" are not identities) and, optionally, DIR/_groups.csv (columns identity,group):
rates are then reported per group, otherwise for one group "all". Scene images in DIR/_scenes
whose name marks them as showing only people outside the set add impostor faces. The photos
stay there, nothing is copied into the repository.

Protocol (open set, leave one identity out, one photo per decision):

- every identity with at least 3 photos is enrolled with 2 of them (photos 1 and 2; rotation r
  enrols photos r+1 and r+2, wrapping around; --enrol 3 enrols 3 photos of each identity with 4
  or more) into one gallery;
- genuine trials: each of its other photos is probed against that gallery; an error (false
  reject) is any answer but that identity: unknown, ambiguous or someone else;
- impostor trials: every photo of every identity (also those with fewer than 3 photos) is probed
  against the gallery *without* its own identity; an error (false accept) is any resident;
- per group of the probe's identity: FAR and FRR, with the trial counts;
- extra impostor row: every face of the scene images that show only people who are not in the
  set (family photos, a collage of actors, single unknown faces), against the full gallery.

Rules: face_recognition's (the nearest enrolled sample if within the tolerance, 0.6 and 0.5) and
FaceGate's (custom_components/facegate/face/decision.py, default settings, templates protected).
The tolerance sweep runs both over the same values: face_recognition's tolerance and FaceGate's
cap (DecisionSettings.max_distance), its other settings at their defaults.

Output: markdown tables, the target line, and as the very last line of stdout one JSON object
for FaceGate's defaults on photos 1 and 2: far and frr (overall, as fractions), tolerance (the
cap), neighbour_ratio, min_margin, identities (enrolled), probes (genuine + impostor trials, also
given apart), groups ({group: {far, frr, far_trials, frr_trials}}) and scene_faces.

Encodings: FaceGate's own engine (FaceEngine().analyze(decode_image(bytes)), the same dlib calls
as face_recognition 1.3.0), the largest face of each identity photo. ``--engine
face_recognition`` uses the face_recognition package instead, loaded with a stand-in for
face_recognition_models (this script only: production code never imports it). Encodings are
cached by file hash under --cache (default /tmp/facegate-face-eval, outside the repository), in
encodings-<engine>.json: {sha256 of the file: [[face box area, [128 floats]], ...]}.
"""

import argparse
import csv
import hashlib
import importlib
import importlib.util
import json
import os
import secrets
import sys
import time
import types
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

# One BLAS thread, set before numpy loads: as in the engine process (face/worker.py).
for _name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")

import numpy as np  # noqa: E402
import numpy.typing as npt  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from custom_components.facegate.face.decision import (  # noqa: E402
    DEFAULT_SETTINGS,
    DecisionSettings,
    decide,
    settings_for,
)
from custom_components.facegate.face.gallery import Gallery  # noqa: E402
from custom_components.facegate.face.models import (  # noqa: E402
    ENGINE_DLIB,
    ENGINE_KEYS,
    ENGINE_MOBILEFACENET,
)
from custom_components.facegate.face.protection import TemplateProtector  # noqa: E402

type Encoding = npt.NDArray[np.float64]
type Enrolled = dict[str, list[Encoding]]
type Identify = Callable[[Encoding], str | None]

DEFAULT_FACES = Path(os.environ.get("FACEGATE_FACES_DIR", str(REPO.parent / "shared" / "faces")))
DEFAULT_CACHE = Path("/tmp/facegate-face-eval")  # noqa: S108 - a cache, not a secret
GROUPS_FILE = "_groups.csv"  # optional: identity,group
DEFAULT_GROUP = "all"  # every identity's group when there is no GROUPS_FILE
ENROL_PHOTOS = 2  # per identity; an identity needs one more photo to be probed (genuine)
# Scene images showing only people who are in no identity folder (see MANIFEST.md).
UNKNOWN_SCENE_PREFIXES = ("group_pascal_", "collage_bald_actors", "single_unknown_")
SCENES_GROUP = "unlabelled_scene_faces"
TARGET_FAR = 0.01
TARGET_FRR = 0.10
TUNE_FRR = 0.05  # --derive: the genuine refusals allowed on the people it tunes on
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")
DEFAULT_SWEEP = "0.40:0.60:0.02"  # tolerances (and FaceGate caps) for the sweep table
# MobileFaceNet's unit embeddings: Euclidean distances sqrt(2 - 2 cos), between 0 and 2.
ENGINE_SWEEP = {"mobilefacenet": "1.00:1.24:0.02"}


# --- Encodings ----------------------------------------------------------------------------


def _facegate_encoder() -> Callable[[bytes], list[tuple[int, Encoding]]]:
    """FaceGate's engine: (box area, encoding) of every face in an image's bytes."""
    engine_module = importlib.import_module("custom_components.facegate.face.engine")
    engine = engine_module.FaceEngine()

    def encode(data: bytes) -> list[tuple[int, Encoding]]:
        faces = engine.analyze(engine_module.decode_image(data))
        return [(face.width * (face.box[2] - face.box[0]), face.encoding) for face in faces]

    return encode


def _face_recognition_encoder() -> Callable[[bytes], list[tuple[int, Encoding]]]:
    """face_recognition 1.3.0 with a stand-in for face_recognition_models (see the toolchain)."""
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("face_recognition_models is not installed")
    models = Path(next(iter(spec.submodule_search_locations))) / "models"
    shim: Any = types.ModuleType("face_recognition_models")
    shim.pose_predictor_model_location = lambda: str(
        models / "shape_predictor_68_face_landmarks.dat"
    )
    shim.pose_predictor_five_point_model_location = lambda: str(
        models / "shape_predictor_5_face_landmarks.dat"
    )
    shim.face_recognition_model_location = lambda: str(
        models / "dlib_face_recognition_resnet_model_v1.dat"
    )
    shim.cnn_face_detector_model_location = lambda: str(models / "mmod_human_face_detector.dat")
    sys.modules["face_recognition_models"] = shim
    fr = importlib.import_module("face_recognition")
    image_module = importlib.import_module("PIL.Image")
    io_module = importlib.import_module("io")

    def encode(data: bytes) -> list[tuple[int, Encoding]]:
        with image_module.open(io_module.BytesIO(data)) as opened:
            image = np.array(opened.convert("RGB"))
        boxes = fr.face_locations(image)
        encodings = fr.face_encodings(image, boxes)
        return [
            ((right - left) * (bottom - top), np.asarray(encoding, dtype=np.float64))
            for (top, right, bottom, left), encoding in zip(boxes, encodings, strict=True)
        ]

    return encode


def _mobilefacenet_encoder() -> Callable[[bytes], list[tuple[int, Encoding]]]:
    """The YuNet + MobileFaceNet engine (onnxruntime if installed, else the numpy executor)."""
    engine_module = importlib.import_module("custom_components.facegate.face.engine")
    neural = importlib.import_module("custom_components.facegate.face.mobilefacenet")
    engine = neural.MobileFaceNetEngine()
    print(f"mobilefacenet runtime: {engine.runtime}", file=sys.stderr)

    def encode(data: bytes) -> list[tuple[int, Encoding]]:
        faces = engine.analyze(engine_module.decode_image(data))
        return [(face.width * (face.box[2] - face.box[0]), face.encoding) for face in faces]

    return encode


ENCODERS = {
    "dlib": _facegate_encoder,
    "facegate": _facegate_encoder,  # the dlib engine's former name
    "mobilefacenet": _mobilefacenet_encoder,
    "face_recognition": _face_recognition_encoder,
}
NAIVE_TOLERANCES = {ENGINE_KEYS[ENGINE_MOBILEFACENET]: (1.2, 1.1)}  # else 0.6 and 0.5
ENGINE_KEY = {  # the encoder -> the engine key whose decision constants apply
    "dlib": ENGINE_KEYS[ENGINE_DLIB],
    "facegate": ENGINE_KEYS[ENGINE_DLIB],
    "face_recognition": ENGINE_KEYS[ENGINE_DLIB],
    "mobilefacenet": ENGINE_KEYS[ENGINE_MOBILEFACENET],
}


def cache_path(cache_dir: Path, engine: str = "facegate") -> Path:
    """The encoding cache of one engine: {sha256 hex: [[box area, [128 floats]], ...]}."""
    return cache_dir / f"encodings-{'facegate' if engine == 'dlib' else engine}.json"


def encode_files(
    paths: Sequence[Path], engine: str = "facegate", cache_dir: Path | None = DEFAULT_CACHE
) -> dict[Path, list[tuple[int, Encoding]]]:
    """(box area, encoding) of every face in each file, cached by the file's sha256."""
    cache_file = cache_path(cache_dir, engine) if cache_dir is not None else None
    cache: dict[str, list[list[Any]]] = {}
    if cache_file is not None and cache_file.is_file():
        cache = json.loads(cache_file.read_text())
    encoder: Callable[[bytes], list[tuple[int, Encoding]]] | None = None
    result: dict[Path, list[tuple[int, Encoding]]] = {}
    missing = 0
    for path in paths:
        data = path.read_bytes()
        digest = hashlib.sha256(data).hexdigest()
        if digest not in cache:
            encoder = encoder or ENCODERS[engine]()
            cache[digest] = [[area, enc.tolist()] for area, enc in encoder(data)]
            missing += 1
        result[path] = [(int(area), np.array(enc, dtype=np.float64)) for area, enc in cache[digest]]
    if cache_file is not None and missing:
        cache_file.parent.mkdir(parents=True, exist_ok=True)
        cache_file.write_text(json.dumps(cache))
    return result


# --- The data set ---------------------------------------------------------------------------


@dataclass
class Dataset:
    """Encodings per identity (photo order), each identity's group, and unknown scene faces."""

    photos: dict[str, list[Encoding]]
    groups: dict[str, str]
    scene_faces: list[Encoding] = field(default_factory=list)
    enrol: int = ENROL_PHOTOS

    @property
    def eligible(self) -> list[str]:
        """Identities with enough photos to enrol and to probe."""
        return [name for name, encs in self.photos.items() if len(encs) > self.enrol]

    @property
    def group_names(self) -> list[str]:
        """The groups, sorted."""
        return sorted(set(self.groups.values()))


def _photo_number(path: Path) -> tuple[int, str]:
    """Sort key: photos are numbered from 1 (1.jpg, 2.png, ...)."""
    return (int(path.stem), path.name) if path.stem.isdigit() else (1 << 30, path.name)


def load_groups(faces_dir: Path, names: Iterable[str]) -> dict[str, str]:
    """Each identity's group from GROUPS_FILE, or DEFAULT_GROUP for all when there is none."""
    names = list(names)
    if not (faces_dir / GROUPS_FILE).is_file():
        return dict.fromkeys(names, DEFAULT_GROUP)
    with (faces_dir / GROUPS_FILE).open(newline="") as file:
        groups = {row["identity"]: row["group"] for row in csv.DictReader(file)}
    missing = [name for name in names if name not in groups]
    if missing:
        raise SystemExit(f"{', '.join(missing)}: no group in {faces_dir / GROUPS_FILE}")
    return {name: groups[name] for name in names}


def load_dataset(
    faces_dir: Path = DEFAULT_FACES,
    cache_dir: Path | None = DEFAULT_CACHE,
    *,
    engine: str = "facegate",
    scenes: bool = True,
) -> Dataset:
    """Encode the identity photos (largest face of each) and, optionally, unknown scene faces."""
    folders = sorted(
        entry for entry in faces_dir.iterdir() if entry.is_dir() and not entry.name.startswith("_")
    )
    files = {
        folder.name: sorted(
            (p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES), key=_photo_number
        )
        for folder in folders
    }
    scene_files = (
        sorted(
            p
            for p in (faces_dir / "_scenes").iterdir()
            if p.name.startswith(UNKNOWN_SCENE_PREFIXES) and p.suffix.lower() in IMAGE_SUFFIXES
        )
        if scenes and (faces_dir / "_scenes").is_dir()
        else []
    )
    all_files = [p for paths in files.values() for p in paths] + scene_files
    encoded = encode_files(all_files, engine, cache_dir)
    photos: dict[str, list[Encoding]] = {}
    for name, paths in files.items():
        faces = [encoded[p] for p in paths]
        photos[name] = [max(found, key=lambda face: face[0])[1] for found in faces if found]
    scene_faces = [enc for p in scene_files for _, enc in encoded[p]]
    return Dataset(photos, load_groups(faces_dir, photos), scene_faces)


# --- Rules ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Rule:
    """A decision rule: ``prepare(enrolled)`` returns the function that identifies one probe."""

    name: str
    prepare: Callable[[Enrolled], Identify]


def naive_rule(tolerance: float) -> Rule:
    """face_recognition's: the identity of the nearest enrolled sample, if within tolerance."""

    def prepare(enrolled: Enrolled) -> Identify:
        names = list(enrolled)
        blocks = [np.stack(enrolled[name]) for name in names]

        def identify(probe: Encoding) -> str | None:
            if not names:
                return None
            nearest = [float(np.linalg.norm(block - probe, axis=1).min()) for block in blocks]
            best = int(np.argmin(nearest))
            return names[best] if nearest[best] <= tolerance else None

        return identify

    return Rule(f"face_recognition, tolerance {tolerance}", prepare)


def facegate_rule(
    settings: DecisionSettings | None = None,
    name: str = "",
    protector: TemplateProtector | None = None,
    engine: str = ENGINE_KEYS[ENGINE_DLIB],
) -> Rule:
    """FaceGate's decision rule, templates protected (by default under a fresh random secret).

    ``settings`` default to the engine's (decision.settings_for).
    """
    protector = protector or TemplateProtector(secrets.token_bytes(32))
    settings = settings or settings_for(engine)

    def prepare(enrolled: Enrolled) -> Identify:
        gallery = Gallery(protector, engine)
        for resident_id, encodings in enrolled.items():
            gallery.add_identity(resident_id, encodings)

        def identify(probe: Encoding) -> str | None:
            return decide(gallery, probe, settings).resident_id

        return identify

    label = name or (
        f"FaceGate (max {settings.max_distance}, ratio {settings.neighbour_ratio},"
        f" margin {settings.min_margin})"
    )
    return Rule(label, prepare)


# --- Evaluation -----------------------------------------------------------------------------


@dataclass
class Counts:
    """Errors out of trials."""

    errors: int = 0
    trials: int = 0

    def add(self, error: bool) -> None:
        """Count one trial."""
        self.errors += int(error)
        self.trials += 1

    @property
    def rate(self) -> float:
        """errors / trials (0 when there were none)."""
        return self.errors / self.trials if self.trials else 0.0

    def __str__(self) -> str:
        """As "3/35 = 8.6 %"."""
        return f"{self.errors}/{self.trials} = {100 * self.rate:.1f} %"


@dataclass
class Result:
    """FAR and FRR per group for one rule."""

    far: dict[str, Counts] = field(default_factory=dict)
    frr: dict[str, Counts] = field(default_factory=dict)

    def meets_target(self, groups: Iterable[str]) -> bool:
        """FAR <= 1 % and FRR <= 10 % in every group."""
        return all(
            self.far[g].rate <= TARGET_FAR and self.frr[g].rate <= TARGET_FRR for g in groups
        )

    def overall(self, groups: Iterable[str]) -> tuple[Counts, Counts]:
        """FAR and FRR over these groups together (the identity photos; not the scene faces)."""
        groups = list(groups)
        far = Counts(
            sum(self.far[g].errors for g in groups), sum(self.far[g].trials for g in groups)
        )
        frr = Counts(
            sum(self.frr[g].errors for g in groups), sum(self.frr[g].trials for g in groups)
        )
        return far, frr


def _enrolment(dataset: Dataset, rotation: int) -> tuple[Enrolled, dict[str, list[Encoding]]]:
    """The enrolled photos and the held-out (genuine probe) photos of every eligible identity."""
    enrolled: Enrolled = {}
    held: dict[str, list[Encoding]] = {}
    for name in dataset.eligible:
        encs = dataset.photos[name]
        chosen = {(rotation + i) % len(encs) for i in range(dataset.enrol)}
        enrolled[name] = [encs[i] for i in sorted(chosen)]
        held[name] = [enc for i, enc in enumerate(encs) if i not in chosen]
    return enrolled, held


def evaluate(rule: Rule, dataset: Dataset, rotations: Iterable[int] = (0,)) -> Result:
    """Run the open-set protocol (module docstring) for each enrolment rotation."""
    result = Result()
    for group in [*dataset.group_names, SCENES_GROUP]:
        result.far[group] = Counts()
        result.frr[group] = Counts()
    for rotation in rotations:
        enrolled, held = _enrolment(dataset, rotation)
        full = rule.prepare(enrolled)
        for name, probes in held.items():
            for probe in probes:
                result.frr[dataset.groups[name]].add(full(probe) != name)
        for name, encs in dataset.photos.items():
            others = rule.prepare({k: v for k, v in enrolled.items() if k != name})
            for probe in encs:
                result.far[dataset.groups[name]].add(others(probe) is not None)
        for probe in dataset.scene_faces:
            result.far[SCENES_GROUP].add(full(probe) is not None)
    return result


def evaluate_households(
    rule: Rule, dataset: Dataset, size: int, draws: int = 200, seed: int = 1
) -> Result:
    """Small sites: ``draws`` random galleries of ``size`` identities (photos 1 and 2).

    Genuine trials: the other photos of the enrolled; impostor trials: every photo of everyone
    else. Shows how the rule does when the cohort (the other enrolled identities) is small.
    """
    rng = np.random.default_rng(seed)
    enrolled, held = _enrolment(dataset, 0)
    names = sorted(enrolled)
    result = Result()
    for group in dataset.group_names:
        result.far[group] = Counts()
        result.frr[group] = Counts()
    for _ in range(draws):
        members = [names[i] for i in rng.choice(len(names), size=size, replace=False)]
        identify = rule.prepare({name: enrolled[name] for name in members})
        for name in members:
            for probe in held[name]:
                result.frr[dataset.groups[name]].add(identify(probe) != name)
        for name, encs in dataset.photos.items():
            if name not in members:
                for probe in encs:
                    result.far[dataset.groups[name]].add(identify(probe) is not None)
    return result


def default_rules(engine: str = ENGINE_KEYS[ENGINE_DLIB]) -> list[Rule]:
    """The rules compared in docs/face-accuracy.md (nearest-sample tolerances per engine)."""
    tolerances = NAIVE_TOLERANCES.get(engine, (0.6, 0.5))
    return [
        *(naive_rule(tolerance) for tolerance in tolerances),
        facegate_rule(name="FaceGate (defaults)", engine=engine),
    ]


def sweep_values(
    spec: str = DEFAULT_SWEEP, default: float = DEFAULT_SETTINGS.max_distance
) -> list[float]:
    """The tolerances "START:STOP:STEP" (both ends included) and FaceGate's default cap."""
    start, stop, step = (float(part) for part in spec.split(":"))
    if step <= 0 or not 0 < start <= stop <= 2:
        raise ValueError(f"bad sweep {spec!r}: want 0 < START <= STOP <= 2 and STEP > 0")
    count = int(round((stop - start) / step, 6)) + 1
    values = {round(start + i * step, 4) for i in range(count)}
    return sorted(values | {default})


def sweep(
    dataset: Dataset, tolerances: Iterable[float], engine: str = ENGINE_KEYS[ENGINE_DLIB]
) -> list[tuple[float, str, Result]]:
    """(tolerance, rule, result): face_recognition's tolerance and FaceGate's cap, photos 1+2."""
    protector = TemplateProtector(secrets.token_bytes(32))  # one: making one takes a while
    defaults = settings_for(engine)
    rows = []
    for tolerance in tolerances:
        capped = replace(defaults, max_distance=tolerance)
        rows.append((tolerance, "face_recognition", evaluate(naive_rule(tolerance), dataset)))
        rows.append(
            (
                tolerance,
                "FaceGate",
                evaluate(facegate_rule(capped, protector=protector, engine=engine), dataset),
            )
        )
    return rows


# --- Deriving the constants by cross-validation over identities -----------------------------


def _subset(dataset: Dataset, names: Iterable[str]) -> Dataset:
    keep = set(names)
    return Dataset(
        {n: e for n, e in dataset.photos.items() if n in keep},
        {n: g for n, g in dataset.groups.items() if n in keep},
        [],
        dataset.enrol,
    )


def _score(result: Result, groups: Sequence[str], settings: DecisionSettings) -> tuple[float, ...]:
    """Lower is better. Security first, with headroom for unseen people: genuine refusals up to
    TUNE_FRR (half the target) are allowed; then the worst group's FAR, the overall FAR; among
    equals the strictest cap (the farthest from the impostors), the loosest ratio, the widest
    margin.
    """
    worst_far = max((result.far[g].rate for g in groups), default=0.0)
    far, frr = result.overall(groups)
    return (
        max(0.0, frr.rate - TUNE_FRR),
        worst_far,
        far.rate,
        settings.max_distance,
        -settings.neighbour_ratio,
        -settings.min_margin,
    )


def tune(
    dataset: Dataset, engine: str, grid: Sequence[DecisionSettings]
) -> tuple[DecisionSettings, Result]:
    """The settings of ``grid`` that do best on ``dataset`` (FAR target first, then FRR)."""
    protector = TemplateProtector(secrets.token_bytes(32))
    best: tuple[tuple[float, ...], DecisionSettings, Result] | None = None
    for settings in grid:
        result = evaluate(facegate_rule(settings, protector=protector, engine=engine), dataset)
        score = _score(result, dataset.group_names, settings)
        if best is None or score < best[0]:
            best = (score, settings, result)
    if best is None:
        raise ValueError("empty grid")
    return best[1], best[2]


def settings_grid(caps: Sequence[float]) -> list[DecisionSettings]:
    """Cap x neighbour ratio x margin."""
    return [
        DecisionSettings(max_distance=cap, neighbour_ratio=ratio, min_margin=margin)
        for cap in caps
        for ratio in (0.78, 0.85, 0.9, 0.95, 1.0)
        for margin in (0.0, 0.03, 0.05)
    ]


def cross_validate(
    dataset: Dataset, engine: str, caps: Sequence[float], folds: int = 4, seed: int = 7
) -> tuple[Result, list[DecisionSettings]]:
    """Tune on the identities of all folds but one, measure on that one's; summed over folds.

    Folds are drawn per group (each fold has people of every group); the measured fold is a
    site of its own (its identities enrolled, impostors from its people only): nobody is ever
    tuned on and measured. Returns the pooled result and each fold's chosen settings.
    """
    rng = np.random.default_rng(seed)
    fold_of: dict[str, int] = {}
    for group in dataset.group_names:
        members = sorted(n for n, g in dataset.groups.items() if g == group)
        for i, name in enumerate(rng.permutation(members)):
            fold_of[str(name)] = i % folds
    grid = settings_grid(caps)
    pooled = Result()
    for group in [*dataset.group_names, SCENES_GROUP]:
        pooled.far[group] = Counts()
        pooled.frr[group] = Counts()
    chosen = []
    for fold in range(folds):
        train = _subset(dataset, [n for n, f in fold_of.items() if f != fold])
        test = _subset(dataset, [n for n, f in fold_of.items() if f == fold])
        settings, _ = tune(train, engine, grid)
        chosen.append(settings)
        result = evaluate(facegate_rule(settings, engine=engine), test)
        for group in test.group_names:
            for mine, theirs in ((pooled.far, result.far), (pooled.frr, result.frr)):
                mine[group].errors += theirs[group].errors
                mine[group].trials += theirs[group].trials
    return pooled, chosen


# --- Report ---------------------------------------------------------------------------------


def _table(results: Sequence[tuple[str, Result]], groups: Sequence[str], *, scenes: bool) -> str:
    """A markdown table: one row per rule and group."""
    lines = ["| rule | group | FAR (impostor photos accepted) | FRR (genuine photos refused) |"]
    lines.append("|---|---|---|---|")
    for name, result in results:
        for group in groups:
            lines.append(f"| {name} | {group} | {result.far[group]} | {result.frr[group]} |")
        if scenes and result.far[SCENES_GROUP].trials:
            lines.append(f"| {name} | {SCENES_GROUP} | {result.far[SCENES_GROUP]} | - |")
    return "\n".join(lines)


def _counts_table(dataset: Dataset) -> str:
    """Identities, photos, and trials per group (rotation 0)."""
    enrolled, held = _enrolment(dataset, 0)
    lines = ["| group | identities (enrolled) | photos | genuine trials | impostor trials |"]
    lines.append("|---|---|---|---|---|")
    for group in dataset.group_names:
        names = [n for n, g in dataset.groups.items() if g == group]
        photos = sum(len(dataset.photos[n]) for n in names)
        genuine = sum(len(held[n]) for n in names if n in held)
        enrolled_count = sum(n in enrolled for n in names)
        lines.append(
            f"| {group} | {len(names)} ({enrolled_count}) | {photos} | {genuine} | {photos} |"
        )
    if dataset.scene_faces:
        lines.append(f"| {SCENES_GROUP} | - | - | - | {len(dataset.scene_faces)} |")
    return "\n".join(lines)


def _sweep_table(
    rows: Sequence[tuple[float, str, Result]],
    dataset: Dataset,
    engine: str = ENGINE_KEYS[ENGINE_DLIB],
) -> str:
    """A markdown table: one row per tolerance and rule, FAR and FRR overall and per group."""
    groups = dataset.group_names if len(dataset.group_names) > 1 else []
    head = ["tolerance", "rule", "FAR", "FRR"]
    head += [f"{kind} {group}" for group in groups for kind in ("FAR", "FRR")]
    if dataset.scene_faces:
        head.append(f"FAR {SCENES_GROUP}")
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for tolerance, rule, result in rows:
        default = rule == "FaceGate" and tolerance == settings_for(engine).max_distance
        cells = [f"{tolerance:.2f}", f"**{rule} (default)**" if default else rule]
        cells += [str(counts) for counts in result.overall(dataset.group_names)]
        cells += [str(c) for group in groups for c in (result.far[group], result.frr[group])]
        if dataset.scene_faces:
            cells.append(str(result.far[SCENES_GROUP]))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def summary(
    result: Result, dataset: Dataset, settings: DecisionSettings = DEFAULT_SETTINGS
) -> dict[str, Any]:
    """The machine-readable result of one FaceGate run (the last line of the output)."""
    far, frr = result.overall(dataset.group_names)
    scenes = result.far.get(SCENES_GROUP, Counts())
    return {
        "far": round(far.rate, 6),
        "frr": round(frr.rate, 6),
        "tolerance": settings.max_distance,
        "neighbour_ratio": settings.neighbour_ratio,
        "min_margin": settings.min_margin,
        "identities": len(dataset.eligible),
        "identities_in_set": len(dataset.photos),
        "enrol_photos": dataset.enrol,
        "probes": far.trials + frr.trials,
        "genuine_probes": frr.trials,
        "impostor_probes": far.trials,
        "false_accepts": far.errors,
        "false_rejects": frr.errors,
        "groups": {
            group: {
                "far": round(result.far[group].rate, 6),
                "frr": round(result.frr[group].rate, 6),
                "far_trials": result.far[group].trials,
                "frr_trials": result.frr[group].trials,
            }
            for group in dataset.group_names
        },
        "scene_faces": {"far": round(scenes.rate, 6), "far_trials": scenes.trials},
        "target_met": result.meets_target(dataset.group_names),
    }


def _parser() -> argparse.ArgumentParser:
    """The command line (see the module docstring)."""
    parser = argparse.ArgumentParser(
        prog="scripts/evaluate", description=__doc__.splitlines()[0] if __doc__ else None
    )
    parser.add_argument(
        "--dataset",
        "--faces",
        dest="dataset",
        metavar="DIR",
        type=Path,
        default=DEFAULT_FACES,
        help="the face set: DIR/<identity>/<photos>, optionally DIR/_groups.csv (identity,group)",
    )
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE, help="encoding cache folder")
    parser.add_argument("--no-cache", action="store_true", help="encode every photo afresh")
    parser.add_argument("--engine", choices=sorted(ENCODERS), default="dlib")
    parser.add_argument(
        "--rotations", type=int, default=1, help="also rotate the enrolment photos (1 = photos 1+2)"
    )
    parser.add_argument(
        "--households", default="", help="gallery sizes for the small-site simulation, e.g. 1,2,4"
    )
    parser.add_argument("--draws", type=int, default=200, help="random galleries per size")
    parser.add_argument(
        "--enrol", type=int, default=ENROL_PHOTOS, help="enrolment photos per identity"
    )
    parser.add_argument(
        "--sweep",
        default=None,
        help="tolerances START:STOP:STEP for the sweep table (FaceGate's default cap is added;"
        f" default {DEFAULT_SWEEP}, for mobilefacenet {ENGINE_SWEEP['mobilefacenet']})",
    )
    parser.add_argument(
        "--check", action="store_true", help="exit 1 unless FaceGate's defaults meet the target"
    )
    parser.add_argument(
        "--derive",
        action="store_true",
        help="derive the rule's constants by cross-validation over identities (folds of people)",
    )
    parser.add_argument("--folds", type=int, default=4, help="identity folds for --derive")
    return parser


def _derive(dataset: Dataset, engine: str, caps: Sequence[float], folds: int) -> None:
    """Print the cross-validated figures and the constants tuned on every identity."""
    pooled, chosen = cross_validate(dataset, engine, caps, folds)
    print(f"Cross-validation over identities ({folds} folds; tuned on the others):\n")
    for settings in chosen:
        print(
            f"- fold settings: max {settings.max_distance}, ratio {settings.neighbour_ratio},"
            f" margin {settings.min_margin}"
        )
    print()
    print(_table([("FaceGate (cross-validated)", pooled)], dataset.group_names, scenes=False))
    final, _ = tune(dataset, engine, settings_grid(caps))
    print(
        f"\nconstants tuned on all identities (ship these; the figures above are the honest"
        f" ones): max_distance {final.max_distance}, neighbour_ratio {final.neighbour_ratio},"
        f" min_margin {final.min_margin}\n"
    )


def _robustness(args: argparse.Namespace, dataset: Dataset, engine: str) -> None:
    """The optional tables: enrolment rotations and small sites."""
    groups = dataset.group_names
    if args.rotations > 1:
        rotated = [
            (rule.name, evaluate(rule, dataset, range(args.rotations)))
            for rule in default_rules(engine)
        ]
        print(f"All {args.rotations} enrolment rotations together:\n")
        print(_table(rotated, groups, scenes=False), "\n")
    for size in (int(s) for s in args.households.split(",") if s.strip()):
        if size > len(dataset.eligible):
            print(f"Small sites: skipped {size}, only {len(dataset.eligible)} enrollable\n")
            continue
        small = [
            (rule.name, evaluate_households(rule, dataset, size, args.draws))
            for rule in default_rules(engine)
        ]
        print(f"Small sites: {args.draws} random galleries of {size} enrolled identities:\n")
        print(_table(small, groups, scenes=False), "\n")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the evaluation: markdown tables, then one JSON line (FaceGate's defaults) last."""
    parser = _parser()
    args = parser.parse_args(argv)
    if args.enrol < 1 or args.rotations < 1 or args.draws < 1:
        parser.error("--enrol, --rotations and --draws must be at least 1")
    engine = ENGINE_KEY[args.engine]
    try:
        tolerances = sweep_values(
            args.sweep or ENGINE_SWEEP.get(args.engine, DEFAULT_SWEEP),
            settings_for(engine).max_distance,
        )
    except ValueError as err:
        parser.error(str(err))
    if not args.dataset.is_dir():
        print(f"no face set at {args.dataset}", file=sys.stderr)
        return 2

    started = time.perf_counter()
    dataset = load_dataset(args.dataset, None if args.no_cache else args.cache, engine=args.engine)
    dataset.enrol = args.enrol
    if not dataset.eligible:
        print(f"no identity in {args.dataset} has more than {args.enrol} photos", file=sys.stderr)
        return 2
    print(f"encodings: {args.engine} engine, {time.perf_counter() - started:.1f} s\n")
    groups = dataset.group_names
    print(_counts_table(dataset), "\n")

    results = [(rule.name, evaluate(rule, dataset)) for rule in default_rules(engine)]
    first = ", ".join(str(i + 1) for i in range(dataset.enrol))
    print(f"Enrolment photos {first} of each identity (the issue's protocol: 1, 2):\n")
    print(_table(results, groups, scenes=True), "\n")
    _robustness(args, dataset, engine)
    print(f"Tolerance sweep (face_recognition's tolerance, FaceGate's cap), photos {first}:\n")
    print(_sweep_table(sweep(dataset, tolerances, engine), dataset, engine), "\n")
    if args.derive:
        _derive(dataset, engine, tolerances, args.folds)

    met = results[-1][1].meets_target(groups)
    print(
        f"target (FAR <= {100 * TARGET_FAR:.0f} %, FRR <= {100 * TARGET_FRR:.0f} % per group)"
        f" {'met' if met else 'NOT met'} by FaceGate's defaults;"
        f" {time.perf_counter() - started:.1f} s in all"
    )
    print(json.dumps(summary(results[-1][1], dataset, settings_for(engine))), flush=True)
    return 1 if args.check and not met else 0


if __name__ == "__main__":
    sys.exit(main())
