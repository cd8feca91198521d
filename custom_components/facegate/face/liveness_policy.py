"""A liveness policy from independent cues, for ONE tracked face (numpy only, no Home Assistant).

Cues, each computed on its own:

* **blink**: LivenessTracker's verdict (liveness.py): both eyes close and open again.
* **3-D head motion** (`planar_residual`): the five landmarks (eye centres, nose tip, mouth
  corners) of a flat picture moved, turned or tilted in front of the camera move by a
  homography (the picture is a plane; a camera sees a plane through a homography). A real head
  that turns does not: the nose tip stands out of the plane of the eyes and mouth, so it moves
  against them (parallax) and no homography maps one frame's five points onto another's.
* **passive score**: an anti-spoofing model's score per frame (0 spoof .. 1 live), fed by the
  engine where it has such a model (`scores`); absent, the cue is unknown.

`judge` combines them. Where the engine gives a passive score (it always does since issue 14:
face/antispoof.py runs in the engine process), the score decides: a photo, a screen or a
replayed video scores low whatever it shows, and a replay shows blinks and real head turns (it
is a video of a real head), so those cues can never overrule a low score, nor one frame the
model is sure is a spoof (MIN_FRAME_SCORE). A mean score of at least MIN_PASSIVE_SCORE over
MIN_SCORED_FRAMES frames, none of them below MIN_FRAME_SCORE, is enough on its own (a resident who
just looks at the camera is let in without blinking); a blink or 3-D head motion, with the same
mean, decides sooner (MIN_SCORED_WITH_CUE frames). Without a passive score (an engine without
the model) the old rules stand: a blink alone; 3-D head motion never alone, because a curved or
folded print also breaks the homography. With too few usable frames (too dark, too small,
infrared: no colour for the model) it says it cannot judge, a blink in them included; and
`undecided` tells a face the cues judged not live (a spoof score, a repeated still) from one
they could not decide on, so the refusal can say why ("look at the camera", or the PIN/card).
`cues` and `decide` are apart so that scripts/evaluate_liveness can try many `Policy`
constants on one recording.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

type FloatArray = npt.NDArray[np.float64]

# Points of dlib's 68-point model that make the five: eyes (36-41, 42-47), nose tip, mouth corners.
_EYE_A, _EYE_B, _NOSE_TIP, _MOUTH_A, _MOUTH_B = slice(36, 42), slice(42, 48), 30, 48, 54

MIN_PARALLAX = 0.07
"""Inter-ocular distances: the residual of the best homography between two frames' five
points (`planar_residual`) above which the motion is not that of a plane. Measured on the real
landmarks of 6 fixture photos (dlib, 68 points), scaled to 80 and 130 px faces, with +-0.5 px
noise and whole-pixel rounding: a flat picture under 2,400 random homographies (shift, scale,
shear, up to 30 % tilt): median 0.013, 99th percentile 0.039, max 0.061. The same landmarks
lifted in 3-D (the nose tip 0.4 outer-corner spans in front, as in liveness.yaw_asymmetry) and
turned: 10 degrees, median 0.065 (1st percentile 0.034); 20 degrees, median 0.13 (1st
percentile 0.10). So a head must turn by about 15-20 degrees; `head_motion` also needs it
in two frames, so that one glitched frame does not count."""

MIN_PASSIVE_SCORE = 0.5
"""Mean passive score over the frames above which the model says "live" (its own 0.5 cut).
Leave-one-subject-out on the 22 real clips of ../shared/liveness (scripts/evaluate_liveness
--cross-validate, docs/face-accuracy.md): with MIN_FRAME_SCORE all 18 folds choose 0.5 (before
it, 17 chose 0.6 to stop one phone replay, and 0.6 refused a live person on the clips
downscaled to ~100 px faces); the model's own 0.5 is kept."""

MIN_SCORED_FRAMES = 5
"""Scored frames of the tracked face before the passive score alone may say live: about 2.5 s
at the default scan interval (chosen in all 18 leave-one-subject-out folds, out of 3-8).
Fewer let a zoomed-in phone replay through: one replay of the dev clips scores 0.6-0.99 on
4 frames in a row, and below 0.1 around them."""

MIN_SCORED_WITH_CUE = 3
"""Scored frames enough when a blink or 3-D head motion backs the passive score."""

MIN_FRAME_SCORE = 0.1
"""No frame of the window may score below this (the model is at least 90 % sure it saw a
spoof) for the passive score to say live, whatever the mean. A zoomed-in phone replay of the
dev clips scored [0.06 0.47 0.51 0.66 0.90] and was let in on head motion with a mean of 0.52;
live faces almost never score that low (1 of 186 live frames, and after its grant), spoofs
mostly do (74 % of 149 attack frames). The rule was added after that replay was seen, so its
held-out figure is not an unbiased estimate for a new replay of that kind
(docs/face-accuracy.md). A live face with one such frame waits until it leaves the window.
The resident's last scored frames before the window count too (`Cues.recent_scores`): a replay
lowered for 3 s (a new track, an empty window) or shown in grey for a while (frames without a
score take the window's places) would otherwise escape it."""

MIN_JUDGED_FRAMES = 3
"""Frames good enough to judge (not too dark, not too small) below which the policy cannot
judge at all: a blink needs open, closed, open."""


def five_points(landmarks: npt.ArrayLike) -> FloatArray:
    """Eye centres, nose tip and mouth corners, from 68 landmarks (or 5 given as they are)."""
    points = np.asarray(landmarks, dtype=np.float64).reshape(-1, 2)
    if len(points) == 5:
        return points
    return np.stack(
        [
            points[_EYE_A].mean(axis=0),
            points[_EYE_B].mean(axis=0),
            points[_NOSE_TIP],
            points[_MOUTH_A],
            points[_MOUTH_B],
        ]
    )


def _homography(source: FloatArray, target: FloatArray) -> FloatArray:
    """The least-squares homography (direct linear transform) mapping source onto target."""
    rows = []
    for (x, y), (u, v) in zip(source, target, strict=True):
        rows.append([x, y, 1, 0, 0, 0, -u * x, -u * y, -u])
        rows.append([0, 0, 0, x, y, 1, -v * x, -v * y, -v])
    _, _, vt = np.linalg.svd(np.asarray(rows))
    return np.asarray(vt[-1].reshape(3, 3), dtype=np.float64)


def _normalised(points: FloatArray) -> tuple[FloatArray, float]:
    """Points centred and scaled by their inter-ocular distance (for a well-posed fit)."""
    iod = float(np.linalg.norm(points[1] - points[0]))
    return (points - points.mean(axis=0)) / max(iod, 1e-9), iod


def planar_residual(before: npt.ArrayLike, after: npt.ArrayLike) -> float:
    """How far two frames' five points are from a homography, in inter-ocular distances.

    0 (up to landmark noise) for a flat picture however it is moved or tilted; grows with the
    turn of a real head. The largest point error after the best homography, measured in the
    `after` frame.
    """
    source, _ = _normalised(five_points(before))
    target, _ = _normalised(five_points(after))
    matrix = _homography(source, target)
    mapped = np.c_[source, np.ones(len(source))] @ matrix.T
    if np.any(np.abs(mapped[:, 2]) < 1e-9):
        return float("inf")
    projected = mapped[:, :2] / mapped[:, 2:]
    return float(np.linalg.norm(projected - target, axis=1).max())


def head_motion(frames: Sequence[npt.ArrayLike]) -> float:
    """The second-largest planar residual between the first frame and a later one.

    The second largest: a real turn shows in several frames, a glitched landmark in one.
    0 with fewer than three frames.
    """
    if len(frames) < 3:
        return 0.0
    first = frames[0]
    residuals = sorted(planar_residual(first, later) for later in frames[1:])
    return residuals[-2]


@dataclass(frozen=True, slots=True)
class Policy:
    """The policy's tuned constants: the module's by default.

    scripts/evaluate_liveness --cross-validate chooses them on some people, judges others.
    """

    min_passive_score: float = MIN_PASSIVE_SCORE
    min_scored_frames: int = MIN_SCORED_FRAMES
    min_scored_with_cue: int = MIN_SCORED_WITH_CUE
    min_parallax: float = MIN_PARALLAX
    min_frame_score: float = MIN_FRAME_SCORE


DEFAULT_POLICY = Policy()


@dataclass(frozen=True, slots=True)
class PolicyVerdict:
    """live, and why: "blink", "head_motion", "passive", "not_live", or "cannot_judge"."""

    live: bool
    reason: str
    detail: str | None = None  # for "cannot_judge": the most common frame problem
    parallax: float = 0.0
    passive: float | None = None


@dataclass(frozen=True, slots=True)
class Cues:
    """What one tracked face's frames show, before any threshold (`cues`).

    `decide` applies a Policy to them, so an evaluation can try many policies on one recording.
    """

    blinked: bool
    good: int  # frames good enough to judge
    detail: str | None  # the most common frame problem, None when there was none
    parallax: float  # head_motion of the landmarks (0 with fewer than MIN_JUDGED_FRAMES good)
    passive: float | None  # mean passive score, None where there is no model
    scored: int  # frames with a passive score
    stills: int = 0  # frames that repeated the previous picture (counted once in the others)
    scores: tuple[float, ...] = ()  # the passive scores, oldest first
    # The same resident's last scored frames in the scan, across its tracks: the floor looks
    # at these too, so a new track (the phone lowered and raised again) forgets no sure spoof.
    recent_scores: tuple[float, ...] = ()


def cues(
    *,
    blinked: bool,
    landmarks: Sequence[npt.ArrayLike],
    problems: Sequence[str | None],
    scores: Sequence[float] | None = None,
    fresh_scores: Sequence[float] = (),
    stills: int = 0,
) -> Cues:
    """The cues of one tracked face's frames (see `judge` for the arguments).

    `fresh_scores`: the scores of those frames that were encoded afresh, when some reused an
    earlier frame's encoding (face/reuse.py). A reused frame is not known to show the face
    that was identified (a live face may stand in for a print between two fresh frames), so
    the passive cue is the lower of the two means: reused frames never lift it.
    """
    good = sum(problem is None for problem in problems)
    passive = float(np.mean(scores)) if scores else None
    if passive is not None and fresh_scores:
        passive = min(passive, float(np.mean(fresh_scores)))
    seen = [problem for problem in problems if problem is not None]
    return Cues(
        blinked=blinked,
        good=good,
        detail=max(set(seen), key=seen.count) if seen else None,
        parallax=head_motion(landmarks) if good >= MIN_JUDGED_FRAMES else 0.0,
        passive=passive,
        scored=len(scores) if scores else 0,
        stills=stills,
        scores=tuple(scores or ()),
    )


def _says_spoof(found: Cues, policy: Policy) -> bool:
    """Whether the passive model judged the window spoof: a low mean, or one confident frame.

    The confident frame may also be one of the resident's recent scored frames (`recent_scores`).
    """
    if found.passive is None:
        return False
    lowest = min((*found.scores, *found.recent_scores), default=1.0)
    return found.passive < policy.min_passive_score or lowest < policy.min_frame_score


def decide(found: Cues, policy: Policy = DEFAULT_POLICY) -> PolicyVerdict:
    """The verdict of a policy on the cues (the rules in this module's docstring)."""
    passive, scored = found.passive, found.scored
    says_live = passive is not None and not _says_spoof(found, policy)
    # Frames too poor to judge (an infrared night picture, ...) prove nothing, a blink included.
    if found.good < MIN_JUDGED_FRAMES:
        return PolicyVerdict(False, "cannot_judge", found.detail, passive=passive)
    if found.blinked and (passive is None or (says_live and scored >= policy.min_scored_with_cue)):
        return PolicyVerdict(True, "blink", passive=passive)
    parallax = found.parallax
    if parallax >= policy.min_parallax and says_live and scored >= policy.min_scored_with_cue:
        return PolicyVerdict(True, "head_motion", parallax=parallax, passive=passive)
    if says_live and scored >= policy.min_scored_frames:
        return PolicyVerdict(True, "passive", parallax=parallax, passive=passive)
    return PolicyVerdict(False, "not_live", parallax=parallax, passive=passive)


def undecided(found: Cues, policy: Policy = DEFAULT_POLICY) -> str | None:
    """Why the cues could not decide about a face not let in; None when they said not live.

    The passive score saying spoof (its mean, or one confident frame) decides, however few
    frames it had, and so does the same picture served again and again (a still). Otherwise
    too few frames good enough to judge (their most common problem: "too_dark", "infrared",
    ...) or a live-looking score on too few frames to be enough alone ("too_few_frames") is
    undecided: the door refuses with face_unclear and asks the resident to look at the camera,
    or use the PIN or card.
    """
    if _says_spoof(found, policy):
        return None
    if found.stills > found.good:
        return None
    if found.good < MIN_JUDGED_FRAMES:
        return found.detail or "too_few_frames"
    if found.passive is not None and found.scored < policy.min_scored_frames:
        return "too_few_frames"
    return None


def judge(
    *,
    blinked: bool,
    landmarks: Sequence[npt.ArrayLike],
    problems: Sequence[str | None],
    scores: Sequence[float] | None = None,
    policy: Policy = DEFAULT_POLICY,
) -> PolicyVerdict:
    """Decide from the cues of one tracked face's frames.

    `landmarks`: the tracked face's landmarks in the frames judged; `problems`: each frame's
    quality problem (None when it was good, else "too_dark", "face_too_small", ...);
    `scores`: a passive model's score per frame, or None where there is no such model.
    """
    found = cues(blinked=blinked, landmarks=landmarks, problems=problems, scores=scores)
    return decide(found, policy)
