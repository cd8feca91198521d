"""FrameVoter: several frames must agree on one resident, and nobody else, within the window."""

import pytest

from custom_components.facegate.face.voting import FrameVoter

ANNA = "resident_anna"
BEN = "resident_ben"


def feed(voter: FrameVoter, frames: list[str | None], start: float = 0.0, step: float = 0.2):
    """Frames at start, start + step, ...; returns the last timestamp."""
    timestamp = start
    for index, resident_id in enumerate(frames):
        timestamp = start + index * step
        voter.add(timestamp, resident_id)
    return timestamp


def test_defaults() -> None:
    voter = FrameVoter()
    assert (voter.needed, voter.of, voter.window_seconds) == (3, 5, 3.0)


def test_three_of_five_agree() -> None:
    voter = FrameVoter()
    now = feed(voter, [ANNA, None, ANNA, None, ANNA])
    assert voter.result(now) == ANNA


def test_three_in_a_row_is_enough() -> None:
    voter = FrameVoter()
    now = feed(voter, [ANNA, ANNA, ANNA])
    assert voter.result(now) == ANNA


def test_result_builds_up_frame_by_frame() -> None:
    voter = FrameVoter()
    results = []
    for index in range(4):
        voter.add(index * 0.2, ANNA)
        results.append(voter.result(index * 0.2))
    assert results == [None, None, ANNA, ANNA]


def test_two_of_five_is_not_enough() -> None:
    voter = FrameVoter()
    now = feed(voter, [ANNA, None, None, ANNA, None])
    assert voter.result(now) is None


def test_unknown_frames_count_against() -> None:
    # Three matches, but they are not among the last five frames: unknown faces pushed them out.
    voter = FrameVoter()
    now = feed(voter, [ANNA, ANNA, ANNA, None, None, None])
    assert voter.result(now) is None
    voter.add(now + 0.2, ANNA)
    voter.add(now + 0.4, ANNA)
    assert voter.result(now + 0.4) is None  # 3 unknown + 2 Anna in the last 5
    voter.add(now + 0.6, ANNA)
    assert voter.result(now + 0.6) == ANNA


def test_another_resident_in_the_window_blocks() -> None:
    voter = FrameVoter()
    now = feed(voter, [ANNA, ANNA, BEN, ANNA, ANNA])
    assert voter.result(now) is None


def test_disagreement_blocks_until_it_leaves_the_last_frames() -> None:
    voter = FrameVoter()
    now = feed(voter, [BEN, ANNA, ANNA, ANNA, ANNA])
    assert voter.result(now) is None  # Ben is still one of the last five
    voter.add(now + 0.2, ANNA)
    assert voter.result(now + 0.2) == ANNA


def test_two_residents_with_three_votes_each_is_none() -> None:
    voter = FrameVoter(needed=3, of=6)
    now = feed(voter, [ANNA, BEN, ANNA, BEN, ANNA, BEN])
    assert voter.result(now) is None


def test_frames_older_than_the_window_are_ignored() -> None:
    voter = FrameVoter()
    feed(voter, [ANNA, ANNA], start=0.0)
    voter.add(3.1, ANNA)
    assert voter.result(3.1) is None  # the first two are more than 3 s old
    assert voter.result(3.0) is None  # now before a frame: that frame does not count either
    voter.add(3.3, ANNA)
    voter.add(3.5, ANNA)
    assert voter.result(3.5) == ANNA
    assert voter.result(6.05) == ANNA  # 3.1, 3.3 and 3.5 are all within 3 s
    assert voter.result(6.15) is None  # 3.1 is more than 3 s old


def test_an_old_disagreement_does_not_block() -> None:
    voter = FrameVoter()
    voter.add(0.0, BEN)
    now = feed(voter, [ANNA, ANNA, ANNA], start=3.5)
    assert voter.result(now) == ANNA


def test_result_without_frames_is_none() -> None:
    assert FrameVoter().result(0.0) is None


def test_reset_forgets() -> None:
    voter = FrameVoter()
    now = feed(voter, [ANNA, ANNA, ANNA])
    voter.reset()
    assert voter.result(now) is None
    voter.add(now + 0.2, ANNA)
    assert voter.result(now + 0.2) is None


def test_frames_out_of_order_are_ignored() -> None:
    voter = FrameVoter()
    voter.add(1.0, ANNA)
    voter.add(0.5, BEN)  # older than the last frame: dropped
    voter.add(1.2, ANNA)
    voter.add(1.4, ANNA)
    assert voter.result(1.4) == ANNA


def test_one_frame_voter() -> None:
    voter = FrameVoter(needed=1, of=1)
    voter.add(0.0, ANNA)
    assert voter.result(0.0) == ANNA
    voter.add(0.2, None)
    assert voter.result(0.2) is None


@pytest.mark.parametrize(
    ("needed", "of", "window"), [(0, 5, 3.0), (4, 3, 3.0), (3, 5, 0.0), (3, 5, -1.0)]
)
def test_bad_settings(needed: int, of: int, window: float) -> None:
    with pytest.raises(ValueError, match="needed"):
        FrameVoter(needed, of, window)
