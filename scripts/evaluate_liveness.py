#!/usr/bin/env python3
"""Face unlock against live people and presentation attacks, on recorded clips, in real time.

    bash -c 'source scripts/lib/common.sh; in_env python scripts/evaluate_liveness.py \\
        --dataset ../shared/liveness'

DIR holds live/ and attack/ folders of clips (mp4, webm, mov), optional stills/ (single images
named live_* or print_*/screen_*) and an optional subjects.csv (file,subject). Each clip is
played as a door camera would deliver it: the scan takes a frame, the engine (the product's
own worker process, default engine, one BLAS thread) analyses it, and the next frame is the
clip's frame at the time the scan asks again (the default scan interval, or later when the
engine took longer): frames are dropped exactly as at a door. Each frame goes through the
door's own per-frame logic (face/scan.py: quality gate, the match, the tracked face, the vote,
the liveness policy), for at most the default scan duration.

Each subject is enrolled from the first second of their first live clip (or, with no live
clip, from the first second of the clip itself, as an attacker holding a resident's photos
would); that second is not judged. Prints per clip: recognised as whom, the liveness cues,
the decision and the time to it; then APCER per attack type and BPCER (ISO/IEC 30107-3, here
at the level of the door: an attack counts as accepted when the door would open for the
enrolled subject, a bona fide clip as rejected when it would not); and a JSON line last.

Decoding clips needs PyAV (``pip install av``), a development-only dependency.
"""

import os

for _name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")

import argparse  # noqa: E402
import csv  # noqa: E402
import json  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable, Iterator  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from functools import partial  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from custom_components.facegate.const import (  # noqa: E402
    DEFAULT_SCAN_DURATION,
    DEFAULT_SCAN_INTERVAL,
)
from custom_components.facegate.face.decision import decide  # noqa: E402
from custom_components.facegate.face.gallery import Gallery  # noqa: E402
from custom_components.facegate.face.liveness import frame_quality  # noqa: E402
from custom_components.facegate.face.models import DEFAULT_ENGINE, ENGINE_KEYS  # noqa: E402
from custom_components.facegate.face.protection import TemplateProtector  # noqa: E402
from custom_components.facegate.face.scan import ScanEvidence  # noqa: E402
from custom_components.facegate.face.worker import EngineWorker  # noqa: E402

CLIPS = (".mp4", ".webm", ".mov", ".mkv", ".avi")
STILLS = (".jpg", ".jpeg", ".png")
ENROL_SECONDS = 1.0
ENROL_EVERY = 0.2  # enrolment frames within the first second
STILL_SECONDS = 6.0  # a still is held to the camera this long

type RGB = np.ndarray


@dataclass
class Sample:
    """One clip or still of the dataset."""

    path: Path
    kind: str  # "live" or "attack"
    attack_type: str
    subject: str


@dataclass
class Result:
    """What the door did with one sample."""

    sample: Sample
    recognised: set[str] = field(default_factory=set)
    frames: int = 0
    decision: str = "no decision"
    seconds: float | None = None
    cues: str = ""
    engine_ms: list[float] = field(default_factory=list)
    span: float = 0.0  # seconds of the clip the scan covered


def _av() -> object:
    try:
        import av  # noqa: PLC0415 - development only
    except ImportError:
        sys.exit(
            "evaluate_liveness: decoding clips needs PyAV, a development-only decoder that is "
            "not installed here (pip install av). Nothing was evaluated."
        )
    return av


def frames(sample: Sample) -> Iterator[tuple[float, Callable[[], RGB]]]:
    """(time in s, the upright RGB frame when called) of the clip, in order; a still repeated.

    Frames are converted only when the camera delivers them (most are skipped, as at a door)."""
    if sample.path.suffix.lower() in STILLS:
        with Image.open(sample.path) as image:
            still = np.asarray(image.convert("RGB"))
        t = 0.0
        while t < STILL_SECONDS:
            yield t, lambda: still
            t += 1 / 30
        return
    av = _av()
    with av.open(str(sample.path)) as container:  # type: ignore[attr-defined]
        for frame in container.decode(video=0):
            if frame.time is not None:
                yield float(frame.time), partial(_upright, frame)


def _upright(frame: Any) -> RGB:
    image = frame.to_image()
    if rotation := getattr(frame, "rotation", 0):
        image = image.rotate(rotation, expand=True)
    return np.asarray(image.convert("RGB"))


class Camera:
    """A camera on the clip: `at(t)` is the latest frame at time t, None once the clip ended."""

    def __init__(self, stream: Iterator[tuple[float, Callable[[], RGB]]]) -> None:
        self._stream = stream
        self._latest = next(stream, None)  # shown from the start
        self._next = next(stream, None)

    def at(self, t: float) -> RGB | None:
        while self._next is not None and self._next[0] <= t:
            self._latest, self._next = self._next, next(self._stream, None)
        if self._next is None and (self._latest is None or t > self._latest[0] + 0.1):
            return None
        return None if self._latest is None else self._latest[1]()


def read_samples(root: Path) -> list[Sample]:
    subjects: dict[str, str] = {}
    if (root / "subjects.csv").is_file():
        with (root / "subjects.csv").open(newline="") as file:
            subjects = {row["file"]: row["subject"] for row in csv.DictReader(file)}
    types: dict[str, str] = {}
    if (root / "manifest.csv").is_file():
        with (root / "manifest.csv").open(newline="") as file:
            for row in csv.DictReader(file):
                types[row["file"]] = row.get("attack_type") or ""
    samples = []
    for folder, suffixes in (("live", CLIPS), ("attack", CLIPS), ("stills", STILLS)):
        for path in sorted((root / folder).glob("*")) if (root / folder).is_dir() else []:
            if path.suffix.lower() not in suffixes:
                continue
            name = f"{folder}/{path.name}"
            if folder == "stills":
                kind = "live" if path.name.startswith("live_") else "attack"
                attack = "" if kind == "live" else path.name.split("_")[0]
            else:
                kind = folder
                attack = "" if kind == "live" else types.get(name) or _attack_type(path.name)
            samples.append(Sample(path, kind, attack, subjects.get(name, path.stem)))
    return samples


def _attack_type(name: str) -> str:
    """The attack type named in a file name (datasets without a manifest.csv)."""
    for word, attack in (
        ("print", "print"),
        ("phone", "replay_phone"),
        ("monitor", "replay_monitor"),
        ("screen", "screen"),
        ("mask", "mask"),
    ):
        if word in name:
            return attack
    return "unknown"


def analyse(worker: EngineWorker, image: RGB) -> tuple[list, float]:
    started = time.perf_counter()
    faces = worker.analyze(image, 30.0) or []
    return faces, time.perf_counter() - started


def enrol(worker: EngineWorker, gallery: Gallery, sample: Sample) -> int:
    """The subject's templates from the first second of the sample; how many."""
    encodings = []
    camera = Camera(frames(sample))
    for t in np.arange(0.0, ENROL_SECONDS, ENROL_EVERY):
        if (image := camera.at(float(t))) is not None:
            faces, _ = analyse(worker, image)
            height, width = image.shape[:2]
            if len(faces) == 1 and frame_quality(faces[0], (width, height)) is None:
                encodings.append(faces[0].encoding)
    if encodings:
        gallery.add_identity(sample.subject, encodings)
    return len(encodings)


def judge_sample(worker: EngineWorker, gallery: Gallery, sample: Sample, start: float) -> Result:
    """Play the sample from `start` s at the door's pace until the door opens or time is up."""
    result = Result(sample)
    scan = ScanEvidence()
    camera = Camera(frames(sample))
    t = start
    while (image := camera.at(t)) is not None and t - start < DEFAULT_SCAN_DURATION:
        faces, elapsed = analyse(worker, image)
        result.engine_ms.append(1000 * elapsed)
        result.frames += 1
        now = t + elapsed  # the frame is judged once the engine has answered
        height, width = image.shape[:2]
        face = scan.pick(faces, now)
        if face is not None:
            problem = frame_quality(face, (width, height))
            resident = decide(gallery, face.encoding).resident_id if problem is None else None
            if resident:
                result.recognised.add(resident)
            scan.add(resident, face, problem, now)
            if (voted := scan.voted(now)) is not None:
                verdict = scan.verdict(now)
                result.cues = _cues(verdict)
                if verdict.live:
                    result.decision = f"granted as {voted} ({verdict.reason})"
                    result.seconds = now - start
                    break
                result.decision = f"refused: {verdict.reason}"
        t += max(DEFAULT_SCAN_INTERVAL, elapsed)
    result.span = result.seconds if result.seconds is not None else t - start
    if result.seconds is None and scan.track.resident_id is not None:
        result.cues = result.cues or _cues(scan.verdict(t))
    return result


def _cues(verdict: object) -> str:
    passive = getattr(verdict, "passive", None)
    return (
        f"passive={'-' if passive is None else f'{passive:.2f}'} "
        f"parallax={getattr(verdict, 'parallax', 0.0):.3f} reason={getattr(verdict, 'reason', '')}"
    )


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--dataset", type=Path, required=True)
    parser.add_argument("--engine", default=DEFAULT_ENGINE)
    args = parser.parse_args(argv)
    samples = read_samples(args.dataset)
    if not samples:
        sys.exit(f"evaluate_liveness: no clips in {args.dataset}/live or /attack")
    if any(s.path.suffix.lower() in CLIPS for s in samples):
        _av()
    worker = EngineWorker(engine=args.engine)
    worker.start()
    load = os.getloadavg()[0]
    print(
        f"engine {args.engine} ({worker.runtime}), scan interval {DEFAULT_SCAN_INTERVAL} s, "
        f"duration {DEFAULT_SCAN_DURATION} s; {os.cpu_count()} CPUs, load {load:.1f}"
    )
    gallery = Gallery(TemplateProtector(os.urandom(32)), ENGINE_KEYS[args.engine])
    enrolled_from: dict[str, Sample] = {}
    for sample in sorted(samples, key=lambda s: s.kind != "live"):
        if sample.subject not in enrolled_from:
            count = enrol(worker, gallery, sample)
            enrolled_from[sample.subject] = sample
            print(f"enrolled {sample.subject}: {count} frames of {sample.path.name} (0-1 s)")
    results = []
    for sample in samples:
        start = ENROL_SECONDS if enrolled_from[sample.subject] is sample else 0.0
        result = judge_sample(worker, gallery, sample, start)
        results.append(result)
        granted = result.decision.startswith("granted")
        seconds = "-" if result.seconds is None else f"{result.seconds:.1f} s"
        print(
            f"{sample.kind:6} {sample.attack_type or '-':15} {sample.subject:4} "
            f"recognised={','.join(sorted(result.recognised)) or '-':8} frames={result.frames:3d} "
            f"{result.cues:45} {'GRANTED' if granted else result.decision:30} {seconds}  "
            f"{sample.path.name}"
        )
    worker.stop()
    summary = _summary(results)
    print(
        f"frames processed per second of clip: {summary['fps']:.2f}; engine per frame "
        f"median {summary['engine_ms']:.0f} ms"
    )
    for attack_type, (accepted, total) in summary["apcer_counts"].items():
        print(f"APCER {attack_type}: {accepted}/{total}")
    print(f"BPCER: {summary['bpcer_counts'][0]}/{summary['bpcer_counts'][1]}")
    print(
        json.dumps(
            {
                "apcer": summary["apcer"],
                "bpcer": summary["bpcer"],
                "clips": summary["clips"],
                "fps": round(summary["fps"], 2),
                "runtime": worker.runtime,
            }
        )
    )
    return 0


def _summary(results: list[Result]) -> dict:
    apcer_counts: dict[str, tuple[int, int]] = {}
    for result in results:
        if result.sample.kind != "attack":
            continue
        accepted, total = apcer_counts.get(result.sample.attack_type, (0, 0))
        granted = result.decision.startswith(f"granted as {result.sample.subject} ")
        apcer_counts[result.sample.attack_type] = (accepted + granted, total + 1)
    live = [r for r in results if r.sample.kind == "live"]
    rejected = sum(not r.decision.startswith(f"granted as {r.sample.subject} ") for r in live)
    frames = sum(r.frames for r in results)
    seconds = sum(r.span for r in results)
    engine = [ms for r in results for ms in r.engine_ms]
    return {
        "apcer_counts": apcer_counts,
        "apcer": {k: round(a / t, 3) for k, (a, t) in apcer_counts.items()},
        "bpcer_counts": (rejected, len(live)),
        "bpcer": round(rejected / len(live), 3) if live else None,
        "clips": len(results),
        "fps": frames / seconds if seconds else 0.0,
        "engine_ms": statistics.median(engine) if engine else 0.0,
    }


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
