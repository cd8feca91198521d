"""The face engine in its own process, so that dlib never stalls Home Assistant's event loop.

dlib's encoder (~85 ms a face) and CNN detector (~1.7 s a frame) hold the GIL for the whole
call, so running them in an executor thread would still freeze the event loop. EngineWorker
spawns one child process (the "spawn" start method, never fork: Home Assistant's process has
threads and an event loop) that loads the models once and answers one frame at a time over two
pipes. Frames go as raw bytes plus their shape, or (``analyze_image``) as the encoded image
itself: then the child decodes it, so a decompression bomb or a crash in an image decoder costs
the child's memory, never Home Assistant's. Results come back as FaceObservation lists.

The contract of ``analyze``:
- one frame at a time: a call made while another is in flight (or while the child starts)
  returns None at once; the frame is dropped, never queued;
- a child that dies during a call (killed, crashed in dlib) makes that call raise
  EngineError("crashed"); a call that outlives its timeout kills the child and raises
  EngineError("timeout"). The next call starts a fresh child (and loads the models again)
  before it analyzes its frame. A child found dead between calls is replaced the same way,
  without an error;
- an exception inside the engine (a frame it cannot handle) is answered as
  EngineError("failed") and the child keeps serving;
- the child exits after IDLE_EXIT_SECONDS without a frame when ``stop_if_idle`` is called
  (Home Assistant's side calls it on a timer): its ~250 MB go back to the system, and the next
  call starts a fresh child (a cold start, ~1.7 s) as after a crash, without an error;
- the child runs at nice +5 (CHILD_NICENESS): a busy engine never starves Home Assistant;
- EngineError("unavailable") when dlib or its model files are missing (the dlib engine only:
  the default engine's models ship with FaceGate; remembered until the next explicit
  start()) or the child could not start (then calls fail fast for
  START_RETRY_DELAY before another start is tried); EngineError("stopped") after stop().

Nothing here logs or sends image data or encodings anywhere but through the pipes.
"""

import contextlib
import logging
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from multiprocessing.connection import Connection
from multiprocessing.context import SpawnProcess
from typing import Any, Final

import numpy as np

from .antispoof import AntiSpoof
from .engine import (
    DETECT_SCALE,
    DETECTORS,
    Detector,
    FaceEngine,
    ImageError,
    RGBImage,
    check_image,
    decode_image,
    load_decoders,
)
from .mobilefacenet import MobileFaceNetEngine
from .models import (
    ENGINE_DLIB,
    ENGINES,
    REASON_DLIB_MISSING,
    REASON_MODELS_MISSING,
    FaceEngineUnavailable,
    ModelPaths,
    find_models,
)
from .observation import FaceObservation
from .onnx_numpy import ModelFileError
from .reuse import Known

_LOGGER = logging.getLogger(__name__)

# A request's header after its sequence number: height and width (None for an encoded
# image), and the faces whose encoding may be reused.
type _Header = tuple[int | None, int | None, tuple[Known, ...]]

REASON_CRASHED: Final = "crashed"
REASON_TIMEOUT: Final = "timeout"
REASON_UNAVAILABLE: Final = "unavailable"
REASON_FAILED: Final = "failed"
REASON_STOPPED: Final = "stopped"

DEFAULT_START_TIMEOUT = 60.0  # spawning Python and loading ~130 MB of models; slow SD cards
DEFAULT_STOP_TIMEOUT = 5.0
START_RETRY_DELAY = 30.0  # after a failed (re)start, calls fail fast this long, not respawn
IDLE_EXIT_SECONDS: Final = 300.0  # a door idle this long gives the engine's memory back
CHILD_NICENESS: Final = 5  # added to the child's nice value: Home Assistant comes first
_PERMANENT = (REASON_DLIB_MISSING, REASON_MODELS_MISSING)

# Messages from the child: (kind, a, b)
_READY: Final = "ready"  # (_READY, pid, runtime: "dlib", "onnxruntime" or "numpy")
_NOT_LOADED: Final = "not_loaded"  # (_NOT_LOADED, reason, detail)
_RESULT: Final = "result"  # (_RESULT, seq, list[FaceObservation])
_ERROR: Final = "error"  # (_ERROR, seq, exception class name)
_REFUSED: Final = "refused"  # (_REFUSED, seq, ImageError reason): an encoded image unusable


class EngineError(Exception):
    """The worker could not analyze a frame.

    ``reason``: "crashed", "timeout", "failed", "unavailable" or "stopped"; ``detail`` says
    more where known (for "unavailable": "dlib_missing", "models_missing", "start_timeout",
    "start_failed"; for "failed": the exception's class name). Never holds image data.
    """

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


def _serve(
    requests: Connection,
    replies: Connection,
    detector: Detector,
    upsample: int,
    models: ModelPaths | None,
    engine_id: str = ENGINE_DLIB,
) -> None:
    """The child process: load the engine once, then answer frames until the pipe closes."""
    # Ctrl-C in a terminal reaches the whole process group; the parent decides when we stop.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    with contextlib.suppress(OSError):
        os.nice(CHILD_NICENESS)
    engine: FaceEngine | MobileFaceNetEngine
    try:
        if engine_id == ENGINE_DLIB:
            # Without upsampling, on the frame scaled to what the quality gate needs (engine.py).
            scale = DETECT_SCALE if detector == "hog" and upsample == 0 else 1.0
            engine = FaceEngine(detector, upsample, models=models, detect_scale=scale)
        else:
            engine = MobileFaceNetEngine()  # shipped models only: no dlib
        load_decoders()
        # Passive anti-spoofing on the same runtime as the engine's models (issue 14 item 2).
        spoof = AntiSpoof(getattr(engine, "runtime", "auto"))
    except ModelFileError as err:  # a shipped model file changed: refused, said clearly
        replies.send((_NOT_LOADED, REASON_MODELS_MISSING, str(err)))
        return
    except FaceEngineUnavailable as err:
        replies.send((_NOT_LOADED, err.reason, err.detail))
        return
    except Exception as err:  # noqa: BLE001 - reported to the parent, which decides
        replies.send((_NOT_LOADED, "start_failed", type(err).__name__))
        return
    replies.send((_READY, os.getpid(), getattr(engine, "runtime", "dlib")))
    while True:
        try:
            header = requests.recv()
            frame = requests.recv_bytes()
        except EOFError, OSError:
            return  # the parent closed its end, or is gone
        seq = None
        reply: tuple[str, object, object]
        try:
            seq, height, width, *rest = header  # rest: the known faces, if any
            known = rest[0] if rest else ()
            if height is None:  # an encoded image: decode it here, not in the parent
                image = decode_image(frame)
                size = (image.shape[1], image.shape[0])
                faces = spoof.score_faces(image, engine.analyze(image, known))
                reply = (_RESULT, seq, (faces, size))
            else:
                image = np.frombuffer(frame, dtype=np.uint8).reshape(height, width, 3)
                reply = (_RESULT, seq, spoof.score_faces(image, engine.analyze(image, known)))
        except ImageError as err:
            reply = (_REFUSED, seq, err.reason)
        except Exception as err:  # noqa: BLE001 - one bad frame must not end the worker
            reply = (_ERROR, seq, type(err).__name__)  # the class name only: no frame data
        del frame
        try:
            replies.send(reply)
        except OSError:
            return


class EngineWorker:
    """A FaceEngine in a child process; see the module docstring for the contract.

    All methods block (run them in an executor); ``analyze`` may be called from any thread.
    """

    def __init__(
        self,
        detector: Detector = "hog",
        upsample: int = 0,
        *,
        models: ModelPaths | None = None,
        start_timeout: float = DEFAULT_START_TIMEOUT,
        engine: str = ENGINE_DLIB,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if detector not in DETECTORS:
            raise ValueError(f"detector must be one of {DETECTORS}, not {detector!r}")
        if engine not in ENGINES:
            raise ValueError(f"engine must be one of {ENGINES}, not {engine!r}")
        self.engine = engine
        self.detector: Detector = detector
        self.upsample = upsample
        self._models = models
        self._start_timeout = start_timeout
        self._busy = threading.Lock()  # held by the one call in flight (or a start)
        self._lock = threading.Lock()  # guards the process handle against stop()
        self._proc: SpawnProcess | None = None
        self._requests: Connection | None = None  # our writing end
        self._replies: Connection | None = None  # our reading end
        self._seq = 0
        self._stopped = False
        self._unavailable: str | None = None  # a permanent reason, until start()
        self._retry_at = 0.0  # monotonic time before which no new start is tried
        self._start_failure = ""
        self._clock = clock  # measures idleness (tests pass their own)
        self._last_used = clock()
        self.starts = 0  # child processes started so far
        self.idle_exits = 0  # children ended by stop_if_idle
        self.runtime = ""  # what the child runs the models with, once it is ready

    @property
    def pid(self) -> int | None:
        """The child's process id while one is running."""
        with self._lock:
            proc = self._proc
            return proc.pid if proc is not None and proc.is_alive() else None

    @property
    def busy(self) -> bool:
        """Whether a frame (or a start) is in flight: another frame would be dropped."""
        return self._busy.locked()

    def start(self) -> None:
        """Start the child and wait until its models are loaded (also after stop()).

        Raises EngineError("unavailable") when it cannot start.
        """
        with self._busy:
            self._stopped = False
            self._unavailable = None
            self._retry_at = 0.0
            if not self._child_alive():
                self._restart()
            self._last_used = self._clock()

    def stop_if_idle(self, idle_seconds: float = IDLE_EXIT_SECONDS) -> bool:
        """End the child when no frame came for ``idle_seconds``; True if it was ended.

        Unlike stop(), the next call starts a new child. A call in flight keeps it running.
        """
        if not self._busy.acquire(blocking=False):
            return False
        try:
            if self._clock() - self._last_used < idle_seconds or not self._child_alive():
                return False
            self._close_requests()  # the child sees EOF and returns
            self._reap(DEFAULT_STOP_TIMEOUT)
            self._close_replies()
            self.idle_exits += 1
            _LOGGER.debug("Face engine worker idle for %s s: ended", idle_seconds)
            return True
        finally:
            self._busy.release()

    def analyze(
        self, image: RGBImage, timeout: float, known: tuple[Known, ...] = ()
    ) -> list[FaceObservation] | None:
        """The faces of one RGB frame, or None when a frame is already in flight (dropped).

        ``timeout`` bounds the analysis, not a (re)start of the child that may come first.
        ``known``: faces of the previous frame whose encoding may be reused (face/reuse.py).
        Raises EngineError; TypeError or ValueError for an array that is not HxWx3 uint8.
        """
        image = check_image(image)
        height, width = image.shape[:2]
        result = self._call((height, width, known), memoryview(image).cast("B"), timeout)
        observations: list[FaceObservation] | None = result
        return observations

    def analyze_image(
        self, data: bytes, timeout: float, known: tuple[Known, ...] = ()
    ) -> tuple[list[FaceObservation], tuple[int, int]] | None:
        """The faces of an encoded image (JPEG, PNG, ...) and its (width, height) as analyzed.

        The child decodes it (face.engine.decode_image); ImageError when it is unusable. The
        rest as ``analyze``.
        """
        result = self._call((None, None, known), memoryview(data), timeout)
        analyzed: tuple[list[FaceObservation], tuple[int, int]] | None = result
        return analyzed

    def _call(self, header: _Header, payload: memoryview, timeout: float) -> Any:
        if timeout <= 0:
            raise ValueError("timeout must be positive")
        if not self._busy.acquire(blocking=False):
            return None
        try:
            if self._stopped:
                raise EngineError(REASON_STOPPED)
            if self._unavailable is not None:
                raise EngineError(REASON_UNAVAILABLE, self._unavailable)
            if not self._child_alive():
                self._restart()
            return self._exchange(header, payload, timeout)
        finally:
            self._last_used = self._clock()
            self._busy.release()

    def stop(self, timeout: float = DEFAULT_STOP_TIMEOUT) -> None:
        """End the child: closing its pipe lets it exit; after ``timeout`` it is terminated.

        A call in flight ends with EngineError("stopped"). Later calls raise the same until
        start() is called again.
        """
        with self._lock:
            self._stopped = True
        if self._busy.acquire(blocking=False):
            try:
                self._close_requests()  # the child sees EOF and returns
                self._reap(timeout)
                self._close_replies()
            finally:
                self._busy.release()
            return
        # A call is in flight and uses the pipes: end the child, and let that call (which
        # then reads EOF) close them.
        with self._lock:
            proc = self._proc
            if proc is not None and proc.is_alive():
                proc.terminate()
        self._reap(timeout)

    # Internals: the methods below run with self._busy held (except _reap).

    def _child_alive(self) -> bool:
        with self._lock:
            proc = self._proc
            if proc is None:
                return False
            if proc.is_alive():
                return True
            pid, exitcode = proc.pid, proc.exitcode
        _LOGGER.warning(
            "Face engine worker (pid %s) exited with code %s; starting a new one", pid, exitcode
        )
        self._discard()
        return False

    def _restart(self) -> None:
        """Start a child, unless a start failed less than START_RETRY_DELAY ago."""
        if time.monotonic() < self._retry_at:
            raise EngineError(REASON_UNAVAILABLE, self._start_failure)
        try:
            self._spawn()
        except EngineError as err:
            if err.reason == REASON_UNAVAILABLE and self._unavailable is None:
                self._retry_at = time.monotonic() + START_RETRY_DELAY
                self._start_failure = err.detail
            raise

    def _spawn(self) -> None:
        """Start a child and wait for its models to load."""
        if self._models is None and self.engine == ENGINE_DLIB:
            try:
                find_models()  # no process at all when dlib or its models are missing
            except FaceEngineUnavailable as err:
                self._unavailable = err.reason
                raise EngineError(REASON_UNAVAILABLE, err.reason) from err
        ctx = multiprocessing.get_context("spawn")
        child_requests, requests = ctx.Pipe(duplex=False)
        replies, child_replies = ctx.Pipe(duplex=False)
        proc = ctx.Process(
            target=_serve,
            args=(
                child_requests,
                child_replies,
                self.detector,
                self.upsample,
                self._models,
                self.engine,
            ),
            name="facegate-face-engine",
            daemon=True,
        )
        try:
            with self._lock:
                if self._stopped:
                    raise EngineError(REASON_STOPPED)
                with _one_blas_thread():
                    proc.start()
                self._proc, self._requests, self._replies = proc, requests, replies
        except BaseException as err:
            for conn in (requests, replies):
                conn.close()
            if isinstance(err, OSError):
                raise EngineError(REASON_UNAVAILABLE, "start_failed") from err
            raise
        finally:
            child_requests.close()  # the child has its own copies now
            child_replies.close()
        self.starts += 1
        self._await_ready(replies)

    def _await_ready(self, replies: Connection) -> None:
        """Wait for the new child's first message: ready, or why it cannot run."""
        try:
            if not replies.poll(self._start_timeout):
                raise EngineError(REASON_UNAVAILABLE, "start_timeout")
            kind, first, second = replies.recv()
        except EngineError:
            self._discard(kill=True)
            raise
        except (EOFError, OSError) as err:
            self._discard(kill=True)
            if self._stopped:
                raise EngineError(REASON_STOPPED) from err
            raise EngineError(REASON_UNAVAILABLE, "start_failed") from err
        if kind != _READY:
            self._discard(kill=True)
            if first in _PERMANENT:
                self._unavailable = first
            _LOGGER.error("Face engine unavailable: %s (%s)", first, second)
            raise EngineError(REASON_UNAVAILABLE, str(first))
        self.runtime = str(second)
        _LOGGER.debug("Face engine worker %s ready (%s, %s)", first, self.engine, second)

    def _exchange(self, header: _Header, payload: memoryview, timeout: float) -> Any:
        requests, replies = self._requests, self._replies
        if requests is None or replies is None:  # not after a successful _spawn
            raise EngineError(REASON_CRASHED, "no child")
        self._seq += 1
        seq = self._seq
        deadline = time.monotonic() + timeout
        try:
            sent = _send_within(requests, (seq, *header), payload, timeout)
            if not sent or not replies.poll(max(0.0, deadline - time.monotonic())):
                _LOGGER.warning("Face engine worker took longer than %s s: restarting it", timeout)
                self._discard(kill=True)
                raise EngineError(REASON_TIMEOUT)
            kind, answered, result = replies.recv()
        except (EOFError, OSError) as err:
            exitcode = self._discard(kill=True)
            if self._stopped:
                raise EngineError(REASON_STOPPED) from err
            _LOGGER.warning("Face engine worker crashed (exit code %s)", exitcode)
            raise EngineError(REASON_CRASHED, f"exit code {exitcode}") from err
        if answered != seq:  # cannot happen: one request at a time, and a new child each time
            self._discard(kill=True)
            raise EngineError(REASON_CRASHED, "out of step")
        if kind == _ERROR:
            raise EngineError(REASON_FAILED, str(result))
        if kind == _REFUSED:
            raise ImageError(str(result))
        return result

    def _discard(self, *, kill: bool = False) -> int | None:
        """Forget the child: close our pipe ends, kill it if asked, reap it; its exit code."""
        self._close_requests()
        self._close_replies()
        with self._lock:
            proc = self._proc
            if proc is not None and kill and proc.is_alive():
                proc.kill()
        return self._reap(DEFAULT_STOP_TIMEOUT)

    def _close_requests(self) -> None:
        if self._requests is not None:
            self._requests.close()
            self._requests = None

    def _close_replies(self) -> None:
        if self._replies is not None:
            self._replies.close()
            self._replies = None

    def _reap(self, timeout: float) -> int | None:
        """Wait up to ``timeout`` for the child to exit, then terminate, then kill it."""
        with self._lock:
            proc = self._proc
            if proc is None:
                return None
            proc.join(timeout)
            if proc.exitcode is None:
                proc.terminate()
                proc.join(1.0)
            if proc.exitcode is None:
                proc.kill()
                proc.join()
            self._proc = None
            exitcode = proc.exitcode
            proc.close()
            return exitcode


@contextlib.contextmanager
def _one_blas_thread() -> Iterator[None]:
    """Start the child with one BLAS thread.

    It serves one frame at a time, and BLAS threads fighting Home Assistant for the cores made
    the numpy executor up to ten times slower (measured on 2 busy cores). The variables must be
    in the child's environment before it imports numpy (spawn copies this process's
    environment); this process's own are restored at once.
    """
    saved = {name: os.environ.get(name) for name in _BLAS_THREADS}
    os.environ.update(dict.fromkeys(_BLAS_THREADS, "1"))
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


_BLAS_THREADS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def _send_within(
    requests: Connection, header: tuple[object, ...], payload: memoryview, timeout: float
) -> bool:
    """Send a request, or give up after ``timeout``: False then.

    A frame is larger than the pipe's buffer, so a frozen child that stops reading would block
    the sender for ever; the send runs in a helper thread that the caller ends by killing the
    child (the pipe breaks). Errors of the send are raised here.
    """
    errors: list[BaseException] = []

    def send() -> None:
        try:
            requests.send(header)
            requests.send_bytes(payload)
        except BaseException as err:  # noqa: BLE001 - handed to the caller
            errors.append(err)

    sender = threading.Thread(target=send, name="facegate-engine-send", daemon=True)
    sender.start()
    sender.join(timeout)
    if errors:
        raise errors[0]
    return not sender.is_alive()
