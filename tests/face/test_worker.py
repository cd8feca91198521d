"""The engine worker process: same answers, drops frames while busy, survives its child.

One worker serves the whole module (each start costs about 2 s: a fresh Python and the models);
the tests that kill or stop its child see it restarted.
"""

import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest

from custom_components.facegate.face import worker as worker_module
from custom_components.facegate.face.engine import DETECT_SCALE, FaceEngine
from custom_components.facegate.face.liveness import MIN_FACE_WIDTH
from custom_components.facegate.face.models import FaceEngineUnavailable, ModelPaths, find_models
from custom_components.facegate.face.worker import EngineError, EngineWorker

from ..photos import Photos
from .conftest import load_rgb

TIMEOUT = 30.0
SCENE = "_scenes/bbt_cast_6.jpg"  # 6 faces: about 0.6 s of encoding in the child
PORTRAIT = "kit_harington/2.jpg"  # 630x374, one face: about 0.2 s
# No face, a 4K frame: a call in flight (the tests that need one freeze the child with SIGSTOP,
# so they do not depend on how long it takes).
SLOW_FRAME = np.full((2160, 3840, 3), 128, dtype=np.uint8)


@pytest.fixture(scope="module")
def shared_worker() -> Iterator[EngineWorker]:
    try:
        find_models()
    except FaceEngineUnavailable as err:
        pytest.skip(f"face engine unavailable: {err}")
    engine_worker = EngineWorker()
    yield engine_worker
    engine_worker.stop()


@pytest.fixture
def worker(shared_worker: EngineWorker) -> EngineWorker:
    """The module's worker with a child running (a no-op unless a test stopped or killed it)."""
    shared_worker.start()
    return shared_worker


@pytest.fixture(scope="module")
def scene(faces: Photos) -> np.ndarray:
    return load_rgb(faces / SCENE)


@pytest.fixture(scope="module")
def portrait(faces: Photos) -> np.ndarray:
    return load_rgb(faces / PORTRAIT)


class InThread:
    """Runs one call in a thread and keeps what it returned or raised."""

    def __init__(self, call: Callable[[], object]) -> None:
        self.result: object = None
        self.error: BaseException | None = None
        self._call = call
        self._thread = threading.Thread(target=self._run)
        self._thread.start()

    def _run(self) -> None:
        try:
            self.result = self._call()
        except BaseException as err:  # noqa: BLE001 - handed to the test
            self.error = err

    def join(self) -> None:
        self._thread.join(TIMEOUT)
        assert not self._thread.is_alive()


def wait_busy(engine_worker: EngineWorker) -> None:
    deadline = time.monotonic() + 5
    while not engine_worker.busy:
        assert time.monotonic() < deadline
        time.sleep(0.001)


def assert_same(observed, expected) -> None:
    assert len(observed) == len(expected)
    for got, want in zip(observed, expected, strict=True):
        assert got.box == want.box
        assert np.array_equal(got.encoding, want.encoding)
        assert np.array_equal(got.landmarks, want.landmarks)
        assert got.sharpness == pytest.approx(want.sharpness, rel=1e-12)  # summation order
        assert got.brightness == want.brightness


def gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def serve_in_process(monkeypatch, make_engine, requests) -> list:
    """Run the child's loop here, on queued requests, and return its replies."""
    monkeypatch.setattr(worker_module, "FaceEngine", make_engine)
    ctx = multiprocessing.get_context("spawn")
    child_requests, parent_requests = ctx.Pipe(duplex=False)
    parent_replies, child_replies = ctx.Pipe(duplex=False)
    for header, payload in requests:
        parent_requests.send(header)
        parent_requests.send_bytes(payload)
    parent_requests.close()  # the loop ends at EOF
    handler = signal.getsignal(signal.SIGINT)
    try:
        worker_module._serve(child_requests, child_replies, "hog", 1, None)
    finally:
        signal.signal(signal.SIGINT, handler)
        child_requests.close()
        child_replies.close()
    replies = []
    while parent_replies.poll():
        try:
            replies.append(parent_replies.recv())
        except EOFError:
            break
    parent_replies.close()
    return replies


def test_child_loop(monkeypatch: pytest.MonkeyPatch, engine: FaceEngine) -> None:
    """The child's loop, run in this process: answers, survives bad frames, ends at EOF."""
    grey = np.full((60, 80, 3), 128, dtype=np.uint8)
    replies = serve_in_process(
        monkeypatch,
        lambda *args, **kwargs: engine,
        [
            ((1, 60, 80), grey.tobytes()),
            ((2, 60, 80), b"too short"),
            (("not", "a header"), b""),
            ((3, 60, 80), grey.tobytes()),
        ],
    )
    assert replies[0][0] == "ready"
    assert replies[1:] == [
        ("result", 1, []),
        ("error", 2, "ValueError"),
        ("error", None, "ValueError"),
        ("result", 3, []),
    ]


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (
            FaceEngineUnavailable("dlib_missing", "no dlib"),
            ("not_loaded", "dlib_missing", "no dlib"),
        ),
        (MemoryError(), ("not_loaded", "start_failed", "MemoryError")),
    ],
)
def test_child_loop_cannot_load(monkeypatch: pytest.MonkeyPatch, error, expected) -> None:
    def fail(*args, **kwargs):
        raise error

    assert serve_in_process(monkeypatch, fail, [((1, 1, 1), b"abc")]) == [expected]


def test_bad_detector() -> None:
    with pytest.raises(ValueError, match="detector"):
        EngineWorker("fast")  # type: ignore[arg-type]


def door_engine() -> FaceEngine:
    """The engine as the worker builds it: no upsampling, the frame scaled by DETECT_SCALE."""
    return FaceEngine(upsample=0, detect_scale=DETECT_SCALE)


def test_equal_to_the_engine(worker: EngineWorker, engine: FaceEngine, scene: np.ndarray):
    result = worker.analyze(scene, TIMEOUT)
    assert result is not None
    assert_same(result, door_engine().analyze(scene))
    # Every face the quality gate would accept (face_recognition's detector: all 6) is found.
    accepted = [face for face in engine.analyze(scene) if face.width >= MIN_FACE_WIDTH]
    assert accepted
    assert len(result) >= len(accepted)
    assert worker.analyze(np.full((120, 160, 3), 128, dtype=np.uint8), TIMEOUT) == []


def test_non_contiguous_frame(worker: EngineWorker, engine: FaceEngine, portrait: np.ndarray):
    flipped = portrait[:, ::-1]  # a view with a negative stride
    result = worker.analyze(flipped, TIMEOUT)
    assert_same(result, door_engine().analyze(np.ascontiguousarray(flipped)))


def test_event_loop_not_blocked(worker: EngineWorker, scene: np.ndarray) -> None:
    """While the child encodes, a 1 ms ticker in this thread never stalls (the point of it).

    In a thread of this process the same work would stall it about 85 ms per face.
    """
    call = InThread(lambda: worker.analyze(scene, TIMEOUT))
    wait_busy(worker)
    worst = 0.0
    last = time.perf_counter()
    while worker.busy:
        time.sleep(0.001)
        now = time.perf_counter()
        worst = max(worst, now - last)
        last = now
    call.join()
    assert call.error is None
    assert len(call.result) == 6  # type: ignore[arg-type]
    assert worst < 0.050, f"the main thread stalled {worst * 1000:.0f} ms"


def test_second_frame_dropped(worker: EngineWorker, scene: np.ndarray) -> None:
    """A frame that comes while one is in flight is dropped at once, not queued behind it."""
    pid = worker.pid
    assert pid is not None
    call = InThread(lambda: worker.analyze(SLOW_FRAME, TIMEOUT))
    wait_busy(worker)
    os.kill(pid, signal.SIGSTOP)  # the first call stays in flight, however fast the machine
    try:
        # Queued behind the frozen child, the second call could not return at all.
        second = InThread(lambda: worker.analyze(scene, TIMEOUT))
        second.join()
        assert second.error is None
        assert second.result is None  # dropped
        assert worker.busy  # and the first is still in flight
    finally:
        os.kill(pid, signal.SIGCONT)
    call.join()
    assert call.error is None
    assert call.result == []
    assert not worker.busy


def test_bad_frame_does_not_end_the_child(worker: EngineWorker, portrait: np.ndarray) -> None:
    pid = worker.pid
    # A frame whose bytes do not match its shape, sent holding what analyze holds.
    with worker._busy, pytest.raises(EngineError) as err:
        worker._exchange((100, 100), memoryview(b"abc"), TIMEOUT)
    assert err.value.reason == "failed"
    assert str(err.value) == "failed: ValueError"  # the class name only, never data
    assert worker.pid == pid
    assert len(worker.analyze(portrait, TIMEOUT)) == 1  # type: ignore[arg-type]


def test_bad_arrays_rejected_before_sending(worker: EngineWorker) -> None:
    with pytest.raises(ValueError, match="uint8"):
        worker.analyze(np.zeros((10, 10, 3), dtype=np.float64), TIMEOUT)
    with pytest.raises(TypeError):
        worker.analyze([[1, 2, 3]], TIMEOUT)  # type: ignore[arg-type]
    assert not worker.busy


def test_killed_during_a_call(worker: EngineWorker, portrait: np.ndarray) -> None:
    """The call in flight raises "crashed"; the next call starts a new child and succeeds."""
    pid = worker.pid
    assert pid is not None
    starts = worker.starts
    call = InThread(lambda: worker.analyze(SLOW_FRAME, TIMEOUT))
    wait_busy(worker)
    os.kill(pid, signal.SIGSTOP)  # frozen mid-call, however fast the machine
    os.kill(pid, signal.SIGKILL)
    call.join()
    assert isinstance(call.error, EngineError)
    assert call.error.reason == "crashed"
    assert gone(pid)

    result = worker.analyze(portrait, TIMEOUT)

    assert result is not None
    assert len(result) == 1
    assert worker.starts == starts + 1
    assert worker.pid not in (None, pid)


def test_killed_between_calls(worker: EngineWorker, portrait: np.ndarray) -> None:
    """A child found dead is replaced without an error."""
    pid = worker.pid
    assert pid is not None
    starts = worker.starts
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 5
    while worker.pid is not None:  # reaped
        assert time.monotonic() < deadline
        time.sleep(0.01)

    result = worker.analyze(portrait, TIMEOUT)

    assert result is not None
    assert len(result) == 1
    assert worker.starts == starts + 1


def test_timeout_kills_and_recovers(worker: EngineWorker, portrait: np.ndarray) -> None:
    pid = worker.pid
    assert pid is not None
    with pytest.raises(EngineError) as err:
        worker.analyze(SLOW_FRAME, timeout=0.05)
    assert err.value.reason == "timeout"
    assert gone(pid)
    assert worker.pid is None

    result = worker.analyze(portrait, TIMEOUT)

    assert result is not None
    assert len(result) == 1


def test_unavailable_without_models(monkeypatch: pytest.MonkeyPatch) -> None:
    """No process is started when dlib or the models are missing; start() tries again."""

    def missing():
        raise FaceEngineUnavailable("models_missing")

    monkeypatch.setattr(worker_module, "find_models", missing)
    engine_worker = EngineWorker()
    frame = np.zeros((10, 10, 3), dtype=np.uint8)
    for _ in range(2):  # remembered
        with pytest.raises(EngineError) as err:
            engine_worker.analyze(frame, TIMEOUT)
        assert err.value.reason == "unavailable"
        assert err.value.detail == "models_missing"
    with pytest.raises(EngineError):
        engine_worker.start()
    assert engine_worker.starts == 0
    engine_worker.stop()  # nothing to stop


def test_models_missing_in_the_child(tmp_path: Path) -> None:
    """The child reports why it cannot load; that is remembered, no new child per frame."""
    missing = tmp_path / "missing.dat"
    engine_worker = EngineWorker(models=ModelPaths(missing, missing, missing, missing))
    frame = np.zeros((10, 10, 3), dtype=np.uint8)
    for _ in range(2):
        with pytest.raises(EngineError) as err:
            engine_worker.analyze(frame, TIMEOUT)
        assert err.value.reason == "unavailable"
        assert err.value.detail == "models_missing"
    assert engine_worker.starts == 1
    assert engine_worker.pid is None


def test_failed_start_is_not_retried_at_once() -> None:
    engine_worker = EngineWorker(start_timeout=0.01)
    frame = np.zeros((10, 10, 3), dtype=np.uint8)
    for _ in range(2):
        with pytest.raises(EngineError) as err:
            engine_worker.analyze(frame, TIMEOUT)
        assert err.value.reason == "unavailable"
        assert err.value.detail == "start_timeout"
    assert engine_worker.starts == 1
    assert engine_worker.pid is None
    with pytest.raises(ValueError, match="timeout"):
        engine_worker.analyze(frame, 0)


def test_stop_during_a_call(worker: EngineWorker, portrait: np.ndarray) -> None:
    """stop() ends the child even mid-call; that call and later ones raise "stopped"."""
    pid = worker.pid
    assert pid is not None
    call = InThread(lambda: worker.analyze(SLOW_FRAME, TIMEOUT))
    wait_busy(worker)
    os.kill(pid, signal.SIGSTOP)  # still in flight when stop() comes, however fast the machine

    worker.stop()  # terminates the child: a fatal signal ends a stopped process too

    call.join()
    assert isinstance(call.error, EngineError)
    assert call.error.reason == "stopped"
    assert gone(pid)
    assert worker.pid is None
    assert not [p for p in multiprocessing.active_children() if p.pid == pid]
    with pytest.raises(EngineError) as err:
        worker.analyze(portrait, TIMEOUT)
    assert err.value.reason == "stopped"
    worker.stop()  # twice is fine


def test_scenario12_the_engine_process_decodes_and_refuses_bombs(
    worker: EngineWorker, engine: FaceEngine, faces: Photos
) -> None:
    """Encoded images go to the child, which decodes them: a bomb is refused there, unharmed."""
    from custom_components.facegate.face.engine import ImageError, decode_image  # noqa: PLC0415

    from ..test_issue11_images import png_bomb  # noqa: PLC0415

    data = (faces / PORTRAIT).read_bytes()
    result = worker.analyze_image(data, TIMEOUT)
    assert result is not None
    found, size = result
    decoded = decode_image(data)
    assert size == (decoded.shape[1], decoded.shape[0])
    assert_same(found, door_engine().analyze(decoded))  # the worker detects at the door scale

    pid = worker.pid
    for junk, reason in ((png_bomb(), "too_large"), (b"not an image", "not_an_image")):
        with pytest.raises(ImageError) as err:
            worker.analyze_image(junk, TIMEOUT)
        assert err.value.reason == reason
    assert worker.pid == pid  # the child refused them and keeps serving


class ManualClock:
    """A monotonic clock the test moves by hand (no sleeping)."""

    def __init__(self) -> None:
        self.now = time.monotonic()

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def idle_worker() -> Iterator[tuple[EngineWorker, ManualClock]]:
    try:
        find_models()
    except FaceEngineUnavailable as err:
        pytest.skip(f"face engine unavailable: {err}")
    clock = ManualClock()
    engine_worker = EngineWorker(clock=clock)
    engine_worker.start()
    yield engine_worker, clock
    engine_worker.stop()


def test_an_idle_child_exits_and_the_next_frame_starts_one(
    idle_worker: tuple[EngineWorker, ManualClock], portrait: np.ndarray
) -> None:
    engine_worker, clock = idle_worker
    before = engine_worker.analyze(portrait, TIMEOUT)
    pid = engine_worker.pid
    assert before is not None
    assert pid is not None
    clock.now += worker_module.IDLE_EXIT_SECONDS - 1

    assert not engine_worker.stop_if_idle()  # not idle long enough
    assert engine_worker.pid == pid
    clock.now += 1
    assert engine_worker.stop_if_idle()
    assert gone(pid)
    assert engine_worker.pid is None
    assert engine_worker.idle_exits == 1
    assert not engine_worker.stop_if_idle()  # nothing left to end

    after = engine_worker.analyze(portrait, TIMEOUT)  # a cold start, no error

    assert after is not None
    assert_same(after, before)
    assert engine_worker.starts == 2
    assert engine_worker.pid not in (None, pid)


def test_a_call_in_flight_keeps_the_child(
    idle_worker: tuple[EngineWorker, ManualClock], portrait: np.ndarray
) -> None:
    engine_worker, clock = idle_worker
    pid = engine_worker.pid
    assert pid is not None
    os.kill(pid, signal.SIGSTOP)  # the call stays in flight until the test lets it go
    try:
        call = InThread(lambda: engine_worker.analyze(portrait, TIMEOUT))
        wait_busy(engine_worker)
        clock.now += worker_module.IDLE_EXIT_SECONDS + 1
        assert not engine_worker.stop_if_idle()
    finally:
        os.kill(pid, signal.SIGCONT)
    call.join()
    assert call.error is None
    assert call.result is not None
    assert not engine_worker.stop_if_idle()  # the call just ended: idle from now on
    assert engine_worker.pid == pid


def test_the_child_runs_at_a_lower_priority(worker: EngineWorker) -> None:
    pid = worker.pid
    assert pid is not None
    ours = os.getpriority(os.PRIO_PROCESS, 0)
    assert os.getpriority(os.PRIO_PROCESS, pid) == min(19, ours + worker_module.CHILD_NICENESS)
