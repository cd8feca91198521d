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

`--cross-validate` gives held-out figures: every clip is recorded once for the whole scan (the
frames, matches and track do not depend on the policy's constants), with the passive score at
each crop scale of SCALES; then, leaving one subject out at a time, the constants (passive cut,
frame count, crop scale, head-motion threshold; grids below) are chosen on the other subjects'
clips (lowest APCER + BPCER, then fewest attacks accepted, then nearest the shipped constants)
and judge the held-out subject's clips. It prints the shipped constants' figures (labelled
"not held out": they were chosen on these clips), the held-out figures and the spread of the
chosen constants. `--face-px N` downscales each judged clip so its face is about N px wide
(real clips, downscaled; enrolment stays at full size). `--traces FILE` saves the recordings,
or reuses them when FILE exists.

Decoding clips needs PyAV (``pip install av``), a development-only dependency.
"""

import os

for _name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")

import argparse  # noqa: E402
import csv  # noqa: E402
import json  # noqa: E402
import pickle  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from collections import Counter  # noqa: E402
from collections.abc import Callable, Iterator  # noqa: E402
from dataclasses import dataclass, field, replace  # noqa: E402
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
from custom_components.facegate.face.antispoof import BOX_SCALE, AntiSpoof  # noqa: E402
from custom_components.facegate.face.decision import decide as decide_match  # noqa: E402
from custom_components.facegate.face.gallery import Gallery  # noqa: E402
from custom_components.facegate.face.liveness import frame_quality  # noqa: E402
from custom_components.facegate.face.liveness_policy import (  # noqa: E402
    DEFAULT_POLICY,
    Cues,
    Policy,
    decide,
)
from custom_components.facegate.face.models import DEFAULT_ENGINE, ENGINE_KEYS  # noqa: E402
from custom_components.facegate.face.protection import TemplateProtector  # noqa: E402
from custom_components.facegate.face.reuse import EncodingReuse, Known  # noqa: E402
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


def analyse(worker: EngineWorker, image: RGB, known: tuple[Known, ...] = ()) -> tuple[list, float]:
    started = time.perf_counter()
    faces = worker.analyze(image, 30.0, known) or []
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


@dataclass
class Step:
    """A frame at which the vote named the tracked resident: whom, when, what the cues were."""

    now: float
    voted: str
    cues: Cues
    confirmed: bool = True  # a fresh frame of the voted resident: the door may open on it


@dataclass
class Trace:
    """One sample played at the door's pace: per crop scale, the frames where a vote stood.

    The frames a door takes, the faces, the matches and the track do not depend on the
    policy's constants (only the decision does, and the door stops at a grant), so one
    recording serves every set of constants tried by --cross-validate."""

    sample: Sample
    start: float
    recognised: set[str] = field(default_factory=set)
    frames: int = 0
    engine_ms: list[float] = field(default_factory=list)
    end: float = 0.0  # clip time the scan reached
    face_px: list[int] = field(default_factory=list)  # the picked face's width per frame
    steps: dict[float, list[Step]] = field(default_factory=dict)  # by crop scale


def shrink(image: RGB, factor: float) -> RGB:
    """The frame scaled by `factor` (< 1), as a camera further away would see it."""
    if factor >= 1.0:
        return image
    height, width = image.shape[:2]
    size = (max(1, round(width * factor)), max(1, round(height * factor)))
    return np.asarray(Image.fromarray(image).resize(size, Image.Resampling.BILINEAR))


def face_factor(worker: EngineWorker, sample: Sample, start: float, face_px: int | None) -> float:
    """The scale that brings the sample's face (its largest, at `start`) to `face_px` wide."""
    if face_px is None:
        return 1.0
    camera = Camera(frames(sample))
    for t in np.arange(start, start + 3.0, 0.5):
        if (image := camera.at(float(t))) is None:
            break
        faces, _ = analyse(worker, image)
        if faces:
            return min(1.0, face_px / max(face.width for face in faces))
    return 1.0


def record(
    worker: EngineWorker,
    gallery: Gallery,
    sample: Sample,
    start: float,
    scorers: dict[float, AntiSpoof] | None,
    factor: float = 1.0,
) -> Trace:
    """Play the sample from `start` s at the door's pace for the default scan duration.

    Without `scorers` the engine's own passive score is used (the shipped crop scale), the
    tracked face's encoding is reused as at the door (face/reuse.py, face_watch.py) and the
    recording stops when the shipped policy opens the door; with them every face is encoded
    and also scored at each of their crop scales, and the whole scan is recorded."""
    trace = Trace(sample, start)
    scales = list(scorers) if scorers else [BOX_SCALE]
    scans = {scale: ScanEvidence() for scale in scales}
    trace.steps = {scale: [] for scale in scales}
    camera = Camera(frames(sample))
    reuse = None if scorers else EncodingReuse()
    t = start
    while (full := camera.at(t)) is not None and t - start < DEFAULT_SCAN_DURATION:
        image = shrink(full, factor)
        faces, elapsed = analyse(worker, image, reuse.hint(t) if reuse else ())
        trace.engine_ms.append(1000 * elapsed)
        trace.frames += 1
        now = t + elapsed  # the frame is judged once the engine has answered
        t += max(DEFAULT_SCAN_INTERVAL, elapsed)
        trace.end = t
        height, width = image.shape[:2]
        matched: dict[int, str | None] = {}
        done = False
        for scale, scan in scans.items():
            scored = faces
            if scorers:
                scored = [  # a grey face is not scored (antispoof.GREY_SPREAD), as at the door
                    f if f.grey else replace(f, live_score=scorers[scale].score(image, f.box))
                    for f in faces
                ]
            face = scan.pick(scored, now)
            if face is None:
                continue
            index = scored.index(face)
            problem = frame_quality(face, (width, height))
            if index not in matched:
                matched[index] = (
                    decide_match(gallery, face.encoding).resident_id if problem is None else None
                )
                trace.face_px.append(face.width)
            resident = matched[index]
            if resident:
                trace.recognised.add(resident)
            scan.add(resident, face, problem, now)
            if reuse and reuse.record(face, resident is not None, now) and problem is None:
                scan.reset()  # as face_watch.py: the reused frames may have shown someone else
            if (voted := scan.voted(now)) is not None:
                found = scan.cues(now)
                # As face_watch.py: the door opens on a fresh frame of the voted resident only.
                confirmed = reuse is None or (face.encoded and resident == voted)
                trace.steps[scale].append(Step(now, voted, found, confirmed))
                live = not scorers and decide(found).live
                done = live and confirmed
                if live and reuse and not confirmed:
                    reuse.refresh()
        if done:
            break
    return trace


@dataclass
class Result:
    """What the door did with one sample under one policy and crop scale."""

    sample: Sample
    granted: str | None = None  # whom the door opened for
    seconds: float | None = None
    decision: str = "no decision"
    cues: str = ""


def outcome(trace: Trace, policy: Policy, scale: float) -> Result:
    """The door's decision on a recorded sample: the first frame whose cues pass the policy."""
    result = Result(trace.sample)
    for step in trace.steps[scale]:
        verdict = decide(step.cues, policy)
        result.cues = _cues(verdict)
        if verdict.live and step.confirmed:
            result.granted, result.seconds = step.voted, step.now - trace.start
            result.decision = f"granted as {step.voted} ({verdict.reason})"
            break
        result.decision = f"refused: {verdict.reason}"
    return result


def is_error(result: Result) -> bool:
    """An attack the door opened for its subject, or a live person it did not open for."""
    opened = result.granted == result.sample.subject
    return opened if result.sample.kind == "attack" else not opened


def _cues(verdict: object) -> str:
    passive = getattr(verdict, "passive", None)
    return (
        f"passive={'-' if passive is None else f'{passive:.2f}'} "
        f"parallax={getattr(verdict, 'parallax', 0.0):.3f} reason={getattr(verdict, 'reason', '')}"
    )


SCALES = (0.8, 0.9, 1.0, 1.1, 1.2, 1.35)  # crop scales tried (scripts/calibrate_antispoof.py's)
CUTS = (0.3, 0.4, 0.5, 0.6, 0.7)  # mean passive score
FRAME_COUNTS = (3, 4, 5, 6, 7, 8)  # scored frames for the passive score alone
PARALLAXES = (0.05, 0.07, 0.1, 0.15)  # 3-D head motion threshold
FLOORS = (0.0, 0.1, 0.2, 0.3)  # the lowest score any frame of the window may have
SHIPPED = (DEFAULT_POLICY.min_passive_score, DEFAULT_POLICY.min_scored_frames, BOX_SCALE,
           DEFAULT_POLICY.min_parallax, DEFAULT_POLICY.min_frame_score)  # fmt: skip
type Combo = tuple[float, int, float, float, float]  # cut, frames, crop scale, parallax, floor
COMBO_NAMES = ("cut", "frames", "crop_scale", "parallax", "frame_floor")


def _policy(combo: Combo) -> Policy:
    cut, count, _, parallax, floor = combo
    return Policy(
        min_passive_score=cut,
        min_scored_frames=count,
        min_scored_with_cue=min(DEFAULT_POLICY.min_scored_with_cue, count),
        min_parallax=parallax,
        min_frame_score=floor,
    )


def _distance(combo: Combo) -> float:
    """How far a combination is from the shipped one, in grid steps (the tie-break)."""
    grids = (CUTS, FRAME_COUNTS, SCALES, PARALLAXES, FLOORS)
    return sum(
        abs(grid.index(value) - grid.index(shipped))
        for grid, value, shipped in zip(grids, combo, SHIPPED, strict=True)
    )


def _rates(errors: list[bool], traces: list[Trace]) -> tuple[float, float, int]:
    """Pooled APCER and BPCER of these clips, and the attacks accepted."""
    attacks = [e for e, tr in zip(errors, traces, strict=True) if tr.sample.kind == "attack"]
    live = [e for e, tr in zip(errors, traces, strict=True) if tr.sample.kind == "live"]
    apcer = sum(attacks) / len(attacks) if attacks else 0.0
    bpcer = sum(live) / len(live) if live else 0.0
    return apcer, bpcer, sum(attacks)


def cross_validate(traces: list[Trace]) -> tuple[list[Result], dict[str, Combo]]:
    """Leave one subject out: constants chosen on the other subjects judge this one's clips.

    The rule, on the training subjects' clips only: the lowest APCER + BPCER (APCER pooled
    over attack types), then the fewest attacks accepted, then the combination nearest the
    shipped constants (in grid steps)."""
    combos: list[Combo] = [
        (cut, count, scale, parallax, floor)
        for cut in CUTS
        for count in FRAME_COUNTS
        for scale in SCALES
        for parallax in PARALLAXES
        for floor in FLOORS
    ]
    results = {
        combo: [outcome(trace, _policy(combo), combo[2]) for trace in traces] for combo in combos
    }
    errors = {combo: [is_error(r) for r in rs] for combo, rs in results.items()}
    held_out: list[Result] = [Result(trace.sample) for trace in traces]
    chosen: dict[str, Combo] = {}
    for subject in sorted({trace.sample.subject for trace in traces}):
        train = [i for i, tr in enumerate(traces) if tr.sample.subject != subject]
        train_traces = [traces[i] for i in train]

        def cost(combo: Combo, train: list[int] = train, tt: list[Trace] = train_traces) -> tuple:
            apcer, bpcer, accepted = _rates([errors[combo][i] for i in train], tt)
            return (round(apcer + bpcer, 9), accepted, _distance(combo))

        best = min(combos, key=cost)
        chosen[subject] = best
        for i, trace in enumerate(traces):
            if trace.sample.subject == subject:
                held_out[i] = results[best][i]
    return held_out, chosen


def _print_results(results: list[Result], traces: list[Trace], label: str) -> dict:
    print(f"--- {label}")
    for result, trace in zip(results, traces, strict=True):
        sample = result.sample
        seconds = "-" if result.seconds is None else f"{result.seconds:.1f} s"
        opened = "GRANTED" if result.granted else result.decision
        print(
            f"{sample.kind:6} {sample.attack_type or '-':15} {sample.subject:4} "
            f"recognised={','.join(sorted(trace.recognised)) or '-':8} frames={trace.frames:3d} "
            f"{result.cues:45} {opened:30} {seconds}  {sample.path.name}"
        )
    summary = _summary(results)
    for attack_type, (accepted, total) in summary["apcer_counts"].items():
        print(f"{label}: APCER {attack_type}: {accepted}/{total}")
    print(f"{label}: BPCER: {summary['bpcer_counts'][0]}/{summary['bpcer_counts'][1]}")
    return summary


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--dataset", type=Path, required=True)
    parser.add_argument("--engine", default=DEFAULT_ENGINE)
    parser.add_argument(
        "--cross-validate",
        action="store_true",
        help="choose the policy's constants leaving one subject out (held-out figures)",
    )
    parser.add_argument(
        "--face-px",
        type=int,
        default=None,
        help="downscale each judged clip so that its face is about this wide (real clips, "
        "downscaled: a door camera further away)",
    )
    parser.add_argument(
        "--traces", type=Path, default=None, help="save the recordings here, or reuse them"
    )
    args = parser.parse_args(argv)
    if args.traces and args.traces.is_file():
        with args.traces.open("rb") as file:
            saved = pickle.load(file)  # noqa: S301 - a file this script wrote
        traces, header = saved["traces"], saved["header"]
        print(f"{header} (recordings reused from {args.traces})")
    else:
        traces, header = _record_all(args)
        if args.traces:
            with args.traces.open("wb") as file:
                pickle.dump({"traces": traces, "header": header}, file)
    if args.face_px:
        widths = [w for trace in traces for w in trace.face_px]
        print(
            f"real clips, downscaled: faces {min(widths)}-{max(widths)} px wide, median "
            f"{statistics.median(widths):.0f} px (target {args.face_px} px)"
        )
    shipped = [outcome(trace, DEFAULT_POLICY, BOX_SCALE) for trace in traces]
    label = "shipped constants (not held out)" if args.cross_validate else "shipped constants"
    summary = _print_results(shipped, traces, label)
    frames = sum(trace.frames for trace in traces)
    seconds = sum(trace.end - trace.start for trace in traces)
    engine = [ms for trace in traces for ms in trace.engine_ms]
    fps = frames / seconds if seconds else 0.0
    print(
        f"frames processed per second of clip: {fps:.2f}; engine per frame median "
        f"{statistics.median(engine) if engine else 0:.0f} ms"
    )
    line: dict[str, Any] = {
        "apcer": summary["apcer"],
        "bpcer": summary["bpcer"],
        "clips": summary["clips"],
        "fps": round(fps, 2),
        "runtime": header.split("(")[1].split(")")[0] if "(" in header else None,
    }
    if args.face_px:
        line["face_px"] = args.face_px
    if args.cross_validate:
        held_out, chosen = cross_validate(traces)
        held = _print_results(held_out, traces, "held out (leave one subject out)")
        spread = {
            name: dict(sorted(Counter(combo[k] for combo in chosen.values()).items()))
            for k, name in enumerate(COMBO_NAMES)
        }
        for name, counts in spread.items():
            print(f"chosen {name} over {len(chosen)} folds: {counts}")
        line = {
            "apcer": held["apcer"],
            "bpcer": held["bpcer"],
            "clips": held["clips"],
            "mode": "cross_validate_by_subject",
            "folds": len(chosen),
            "chosen": spread,
            "shipped_not_held_out": {"apcer": summary["apcer"], "bpcer": summary["bpcer"]},
            **{k: v for k, v in line.items() if k not in ("apcer", "bpcer", "clips")},
        }
    print(json.dumps(line))
    return 0


def _record_all(args: argparse.Namespace) -> tuple[list[Trace], str]:
    samples = read_samples(args.dataset)
    if not samples:
        sys.exit(f"evaluate_liveness: no clips in {args.dataset}/live or /attack")
    if any(s.path.suffix.lower() in CLIPS for s in samples):
        _av()
    worker = EngineWorker(engine=args.engine)
    worker.start()
    scorers = None
    if args.cross_validate:
        scorers = {scale: AntiSpoof(worker.runtime, box_scale=scale) for scale in SCALES}
    header = (
        f"engine {args.engine} ({worker.runtime}), scan interval {DEFAULT_SCAN_INTERVAL} s, "
        f"duration {DEFAULT_SCAN_DURATION} s; {os.cpu_count()} CPUs, "
        f"load {os.getloadavg()[0]:.1f}"
    )
    print(header)
    gallery = Gallery(TemplateProtector(os.urandom(32)), ENGINE_KEYS[args.engine])
    enrolled_from: dict[str, Sample] = {}
    for sample in sorted(samples, key=lambda s: s.kind != "live"):
        if sample.subject not in enrolled_from:
            count = enrol(worker, gallery, sample)
            enrolled_from[sample.subject] = sample
            print(f"enrolled {sample.subject}: {count} frames of {sample.path.name} (0-1 s)")
    traces = []
    for sample in samples:
        start = ENROL_SECONDS if enrolled_from[sample.subject] is sample else 0.0
        factor = face_factor(worker, sample, start, args.face_px)
        traces.append(record(worker, gallery, sample, start, scorers, factor))
        print(f"recorded {sample.path.name}: {traces[-1].frames} frames", flush=True)
    worker.stop()
    return traces, header


def _summary(results: list[Result]) -> dict:
    apcer_counts: dict[str, tuple[int, int]] = {}
    for result in results:
        if result.sample.kind != "attack":
            continue
        accepted, total = apcer_counts.get(result.sample.attack_type, (0, 0))
        apcer_counts[result.sample.attack_type] = (accepted + is_error(result), total + 1)
    live = [r for r in results if r.sample.kind == "live"]
    rejected = sum(is_error(r) for r in live)
    return {
        "apcer_counts": apcer_counts,
        "apcer": {k: round(a / t, 3) for k, (a, t) in apcer_counts.items()},
        "bpcer_counts": (rejected, len(live)),
        "bpcer": round(rejected / len(live), 3) if live else None,
        "clips": len(results),
    }


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
