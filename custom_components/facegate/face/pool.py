"""Several engine processes, so that two cameras scanning at once use two cores.

One EngineWorker answers one frame at a time and drops a frame sent while it is busy. With two
doors scanning at once, half of their frames would be dropped by one worker; EnginePool keeps up
to ``size`` workers (one per core, at most two: each child holds ~250 MB) and sends a frame to
the first that is free. Only the first worker starts with the pool: the next starts on the first
frame that finds every running one busy (a cold start, ~1.7 s, taken by that frame), and each
exits on its own after its idle time (``stop_idle``), so a single door keeps one process and an
idle one none. A frame that finds every worker busy is dropped (None), as with one worker.
"""

import os
import threading
from collections.abc import Callable
from typing import Final

from .engine import RGBImage
from .observation import FaceObservation
from .reuse import Known
from .worker import IDLE_EXIT_SECONDS, REASON_STOPPED, EngineError, EngineWorker

POOL_SIZE: Final = min(2, os.cpu_count() or 1)


class EnginePool:
    """Up to ``size`` EngineWorkers made by ``factory``; the same calls as one EngineWorker.

    All methods block (run them in an executor); any thread may call them.
    """

    def __init__(self, factory: Callable[[], EngineWorker], size: int = POOL_SIZE) -> None:
        if size < 1:
            raise ValueError("a pool needs at least one worker")
        self.size = size
        self._factory = factory
        self._workers: list[EngineWorker] = []
        self._lock = threading.Lock()  # guards the list and _stopped
        self._stopped = False

    @property
    def workers(self) -> tuple[EngineWorker, ...]:
        """The workers made so far (their children may have exited idle)."""
        with self._lock:
            return tuple(self._workers)

    @property
    def primary(self) -> EngineWorker | None:
        """The first worker, the one a lone door uses."""
        workers = self.workers
        return workers[0] if workers else None

    @property
    def pid(self) -> int | None:
        """The first worker's child process id while it runs."""
        primary = self.primary
        return primary.pid if primary is not None else None

    @property
    def pids(self) -> list[int]:
        """Process ids of the children running now."""
        return [pid for worker in self.workers if (pid := worker.pid) is not None]

    @property
    def runtime(self) -> str:
        """What the first worker's child runs the models with."""
        primary = self.primary
        return primary.runtime if primary is not None else ""

    @property
    def busy(self) -> bool:
        """Whether a frame sent now would be dropped (every possible worker busy)."""
        workers = self.workers
        return len(workers) == self.size and all(worker.busy for worker in workers)

    def start(self) -> None:
        """Start the first worker's child (also after stop()); EngineError when it cannot."""
        with self._lock:
            self._stopped = False
        self._worker_at(0).start()

    def analyze(
        self, image: RGBImage, timeout: float, known: tuple[Known, ...] = ()
    ) -> list[FaceObservation] | None:
        """EngineWorker.analyze on the first free worker; None when all are busy."""
        return self._on_first_free(lambda worker: worker.analyze(image, timeout, known))

    def analyze_image(
        self, data: bytes, timeout: float, known: tuple[Known, ...] = ()
    ) -> tuple[list[FaceObservation], tuple[int, int]] | None:
        """EngineWorker.analyze_image on the first free worker; None when all are busy."""
        return self._on_first_free(lambda worker: worker.analyze_image(data, timeout, known))

    def _on_first_free[T](self, call: Callable[[EngineWorker], T | None]) -> T | None:
        """``call`` on each worker in turn (made as needed) until one is free to answer."""
        for index in range(self.size):
            result = call(self._worker_at(index))
            if result is not None:
                return result
        return None

    def stop_idle(self, idle_seconds: float = IDLE_EXIT_SECONDS) -> int:
        """End every child idle for ``idle_seconds``; how many were ended."""
        return sum(worker.stop_if_idle(idle_seconds) for worker in self.workers)

    def stop(self) -> None:
        """End every child; calls raise EngineError("stopped") until start()."""
        with self._lock:
            self._stopped = True
            workers, self._workers = self._workers, []
        for worker in workers:
            worker.stop()

    def _worker_at(self, index: int) -> EngineWorker:
        """The index-th worker, made now if needed (its child starts with its first call)."""
        with self._lock:
            if self._stopped:
                raise EngineError(REASON_STOPPED)
            while len(self._workers) <= index:
                self._workers.append(self._factory())
            return self._workers[index]
