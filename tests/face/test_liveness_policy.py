"""The liveness policy's cues on real landmarks: a flat picture moves by a homography, a head
does not; and how the cues combine (a blink, 3-D motion with a passive score, cannot judge)."""

import dataclasses

import numpy as np
import pytest

from custom_components.facegate.face.engine import FaceEngine
from custom_components.facegate.face.liveness_policy import (
    MIN_FRAME_SCORE,
    MIN_PARALLAX,
    MIN_PASSIVE_SCORE,
    Policy,
    cues,
    decide,
    five_points,
    head_motion,
    judge,
    undecided,
)
from custom_components.facegate.face.observation import FaceObservation
from custom_components.facegate.face.scan import EVIDENCE, ScanEvidence

from ..photos import Photos
from .conftest import load_rgb


@pytest.fixture(scope="module")
def face(engine: FaceEngine, faces: Photos) -> np.ndarray:
    """Real five points of a real photo (dlib's 68 landmarks), centred, for a 100 px face."""
    observations = engine.analyze(load_rgb(faces / "barack_obama/1.jpg"))
    points = five_points(observations[0].landmarks)
    return (points - points.mean(axis=0)) * 100.0 / observations[0].width


def camera(points: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """What the engine would report: placed in the frame, landmark noise, whole pixels."""
    return np.round(points + 320 + rng.uniform(-0.5, 0.5, points.shape))


def tilted(points: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A flat picture of the face moved, scaled, sheared and tilted (a random homography)."""
    matrix = np.eye(3)
    matrix[:2, :2] = rng.uniform(0.8, 1.2) * (np.eye(2) + rng.uniform(-0.1, 0.1, (2, 2)))
    matrix[:2, 2] = rng.uniform(-20, 20, 2)
    matrix[2, :2] = rng.uniform(-0.3, 0.3, 2) / 100.0  # up to 30 % foreshortening
    mapped = np.c_[points, np.ones(len(points))] @ matrix.T
    return mapped[:, :2] / mapped[:, 2:]


def turned(points: np.ndarray, degrees: float) -> np.ndarray:
    """The face as a head: the nose tip 0.4 outer-eye spans in front, turned, then projected."""
    span = 1.25 * float(np.linalg.norm(points[1] - points[0]))
    depth = np.array([0.0, 0.0, 0.4 * span, 0.0, 0.0])
    angle = np.radians(degrees)
    rotation = np.array(
        [[np.cos(angle), 0, np.sin(angle)], [0, 1, 0], [-np.sin(angle), 0, np.cos(angle)]]
    )
    lifted = np.c_[points, -depth] @ rotation.T
    focal = 500.0  # a door camera's focal length, in pixels, for a 100 px face
    return lifted[:, :2] * focal / (focal + lifted[:, 2:])


def test_a_flat_picture_moved_and_tilted_shows_no_head_motion(face: np.ndarray) -> None:
    rng = np.random.default_rng(1)
    for _ in range(50):  # 50 hand-held sequences of 8 frames
        frames = [camera(face, rng)] + [camera(tilted(face, rng), rng) for _ in range(7)]
        assert head_motion(frames) < MIN_PARALLAX


def test_a_head_that_turns_shows_parallax(face: np.ndarray) -> None:
    rng = np.random.default_rng(2)
    frames = [camera(turned(face, degrees), rng) for degrees in (0, 5, 12, 20, 25, 20)]

    assert head_motion(frames) >= MIN_PARALLAX
    assert head_motion(frames[:2]) == 0.0  # too few frames to tell


def test_a_blink_is_enough_unless_the_passive_model_says_spoof(face: np.ndarray) -> None:
    frames = [face] * 5
    good = [None] * 5

    assert judge(blinked=True, landmarks=frames, problems=good).reason == "blink"
    vetoed = judge(blinked=True, landmarks=frames, problems=good, scores=[0.1] * 5)
    assert (vetoed.live, vetoed.reason) == (False, "not_live")


def test_head_motion_counts_only_with_a_passive_score_that_says_live(face: np.ndarray) -> None:
    rng = np.random.default_rng(3)
    frames = [camera(turned(face, degrees), rng) for degrees in (0, 10, 20, 25, 20)]
    good = [None] * 5

    alone = judge(blinked=False, landmarks=frames, problems=good)  # a bent print also moves so
    with_model = judge(blinked=False, landmarks=frames, problems=good, scores=[0.9] * 5)
    spoof = judge(blinked=False, landmarks=frames, problems=good, scores=[0.2] * 5)

    assert (alone.live, alone.reason) == (False, "not_live")
    assert alone.parallax >= MIN_PARALLAX
    assert (with_model.live, with_model.reason) == (True, "head_motion")
    assert not spoof.live


def test_frames_too_dark_to_judge_say_so(face: np.ndarray) -> None:
    verdict = judge(
        blinked=False,
        landmarks=[face] * 6,
        problems=["too_dark", "too_dark", None, "face_too_small", "too_dark", None],
    )

    assert (verdict.live, verdict.reason, verdict.detail) == (False, "cannot_judge", "too_dark")


def test_a_live_score_over_enough_frames_is_enough_without_a_blink(face: np.ndarray) -> None:
    """A resident who just looks at the camera: no blink, no turn, the model says live."""
    still, good = [face] * 5, [None] * 5

    verdict = judge(blinked=False, landmarks=still, problems=good, scores=[0.9] * 5)
    too_soon = judge(blinked=False, landmarks=still[:4], problems=good[:4], scores=[0.9] * 4)

    assert (verdict.live, verdict.reason) == (True, "passive")
    assert (too_soon.live, too_soon.reason) == (False, "not_live")


def test_a_replay_that_blinks_and_turns_is_refused_on_its_score(face: np.ndarray) -> None:
    """A replayed video shows a real head: blinks and parallax; only the score stops it."""
    rng = np.random.default_rng(4)
    frames = [camera(turned(face, degrees), rng) for degrees in (0, 10, 20, 25, 20, 10)]
    # One replay of the dev clips scored high on a few frames in a row, low around them.
    scores = [0.05, 0.6, 0.7, 0.99, 0.05, 0.05]

    verdict = judge(blinked=True, landmarks=frames, problems=[None] * 6, scores=scores)

    assert (verdict.live, verdict.reason) == (False, "not_live")
    assert verdict.parallax >= MIN_PARALLAX


def test_a_blink_seen_only_in_frames_too_poor_to_judge_proves_nothing(face: np.ndarray) -> None:
    """Infrared night frames (no colour, no passive score): a blink there opens nothing."""
    verdict = judge(blinked=True, landmarks=[face] * 6, problems=["infrared"] * 6)

    assert (verdict.live, verdict.reason, verdict.detail) == (False, "cannot_judge", "infrared")


def test_a_spoof_score_decides_not_live_however_few_frames(face: np.ndarray) -> None:
    """A photo or a screen scored spoof on 3 frames is judged: not live, not "unclear"."""
    found = cues(blinked=False, landmarks=[face] * 3, problems=[None] * 3, scores=[0.1] * 3)

    assert not decide(found).live
    assert undecided(found) is None


def test_a_live_looking_face_seen_too_briefly_is_undecided(face: np.ndarray) -> None:
    briefly = cues(blinked=False, landmarks=[face] * 3, problems=[None] * 3, scores=[0.9] * 3)
    dark = cues(blinked=False, landmarks=[face] * 4, problems=["too_dark"] * 3 + [None])

    assert not decide(briefly).live
    assert undecided(briefly) == "too_few_frames"
    assert undecided(dark) == "too_dark"


def test_the_same_picture_served_again_and_again_is_judged_not_live(face: np.ndarray) -> None:
    """A still (a photo, a frozen camera) counts once; repeated more than it changed: not live."""
    still = cues(blinked=False, landmarks=[face], problems=[None], scores=[0.9], stills=7)

    assert undecided(still) is None


def test_a_policy_with_other_constants_decides_on_the_same_cues(face: np.ndarray) -> None:
    """scripts/evaluate_liveness --cross-validate tries constants on one recording's cues."""
    found = cues(blinked=False, landmarks=[face] * 4, problems=[None] * 4, scores=[0.55] * 4)

    assert not decide(found).live  # the shipped policy wants 5 frames
    assert decide(found, Policy(min_scored_frames=4)).live
    assert not decide(found, Policy(min_passive_score=0.6, min_scored_frames=4)).live
    assert Policy().min_passive_score == MIN_PASSIVE_SCORE


def test_one_frame_the_model_is_sure_is_a_spoof_stops_a_replay_whose_mean_looks_live(
    face: np.ndarray,
) -> None:
    """A zoomed-in phone replay of the dev clips: a real head turning (it is a video of one),
    a mean score of 0.52, and one frame the model was sure was a spoof. It was let in."""
    rng = np.random.default_rng(5)
    frames = [camera(turned(face, degrees), rng) for degrees in (0, 10, 20, 25, 20)]
    scores = [0.06, 0.47, 0.51, 0.66, 0.90]
    found = cues(blinked=True, landmarks=frames, problems=[None] * 5, scores=scores)

    verdict = decide(found)

    assert found.passive is not None
    assert found.passive >= MIN_PASSIVE_SCORE
    assert found.parallax >= MIN_PARALLAX
    assert (verdict.live, verdict.reason) == (False, "not_live")
    assert undecided(found) is None  # judged a spoof, not "look at the camera"
    assert decide(found, Policy(min_frame_score=0.0)).live  # the rule is what stops it


def test_a_live_face_with_a_low_but_not_spoof_sure_frame_is_let_in(face: np.ndarray) -> None:
    """Live faces dip (motion blur, a turn): only a frame below MIN_FRAME_SCORE vetoes."""
    scores = [MIN_FRAME_SCORE + 0.05, 0.8, 0.9, 0.85, 0.9]
    found = cues(blinked=False, landmarks=[face] * 5, problems=[None] * 5, scores=scores)

    assert (decide(found).live, decide(found).reason) == (True, "passive")


def test_a_sure_spoof_among_the_residents_recent_scores_vetoes_a_new_window(
    face: np.ndarray,
) -> None:
    """The window of a track that started again looks live; the resident's scores just
    before it held a sure spoof: not live, and not "look at the camera" either."""
    scores = [0.6, 0.7, 0.8, 0.7, 0.9]
    window = cues(blinked=True, landmarks=[face] * 5, problems=[None] * 5, scores=scores)
    found = dataclasses.replace(window, recent_scores=(0.05, 0.02, *scores))

    assert (decide(found).live, decide(found).reason) == (False, "not_live")
    assert undecided(found) is None
    assert decide(found, Policy(min_frame_score=0.0)).live  # the floor is what stops it


@pytest.fixture(scope="module")
def held_up(engine: FaceEngine, faces: Photos) -> FaceObservation:
    """A real face, as the engine reports it."""
    return engine.analyze(load_rgb(faces / "barack_obama/1.jpg"))[0]


def seen(
    scan: ScanEvidence,
    face: FaceObservation,
    now: float,
    rng: np.random.Generator,
    resident: str = "alex",
) -> bool:
    """One frame of the face (landmark noise only, a new picture): whether it is judged live."""
    landmarks = face.landmarks + rng.integers(-1, 2, size=(68, 2))
    frame = dataclasses.replace(face, landmarks=landmarks.astype(np.int32))
    scan.add(resident, frame, None, now)
    return scan.verdict(now).live


@pytest.mark.parametrize("between", ["lowered_for_4_s", "grey_frames", "another_resident"])
def test_a_sure_spoof_frame_outlives_a_new_track_and_unscored_frames(
    held_up: FaceObservation, between: str
) -> None:
    """A replay's frame scores as a sure spoof; then the phone is lowered for 4 s (a new track,
    an empty window), shown in grey for a whole window (frames with no score push it out of
    the window), or another resident's face is shown for a moment (a new track, twice): its
    next frames look live. The resident's last EVIDENCE scored frames still hold the sure
    spoof, so it waits for EVIDENCE scored frames after it, as if held up all along."""
    scan, rng = ScanEvidence(), np.random.default_rng(3)
    seen(scan, dataclasses.replace(held_up, live_score=0.02), 0.0, rng)
    now = 4.0  # lowered: nothing seen for longer than the track's gap
    if between == "grey_frames":
        grey = dataclasses.replace(held_up, live_score=None, grey=True)
        for now in np.arange(1, EVIDENCE + 1) * 0.5:
            seen(scan, grey, now, rng)
    if between == "another_resident":
        now = 0.5
        seen(scan, dataclasses.replace(held_up, live_score=0.9), now, rng, resident="bob")
    live = dataclasses.replace(held_up, live_score=0.8)
    verdicts = [seen(scan, live, now + 0.5 * (1 + index), rng) for index in range(EVIDENCE)]

    assert verdicts == [False] * (EVIDENCE - 1) + [True]
