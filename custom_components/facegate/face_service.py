"""Face recognition of a site on the Home Assistant side: engine process, templates.

The default engine (YuNet + MobileFaceNet) needs nothing beyond FaceGate's own files, numpy
and Pillow. The dlib engine is optional: FaceGate never installs its packages (their models
have no public build, quality_scale.yaml dependency-transparency); an administrator who
chooses it installs them, and where they are missing a repair issue gives the pip line and
card and PIN keep working. The engine runs in its own process (see face/worker.py);
templates are kept protected and encrypted in their own private store file.
"""

import asyncio
import base64
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Final, NoReturn

import numpy as np
import numpy.typing as npt
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.event import async_track_time_interval
from homeassistant.helpers.storage import Store

from .access.errors import AccessError
from .const import DOMAIN
from .face.decision import Match, decide
from .face.engine import ImageError, image_size
from .face.gallery import Gallery
from .face.liveness import frame_quality
from .face.models import DEFAULT_ENGINE, ENGINE_KEYS, packages_missing
from .face.observation import FaceObservation
from .face.pool import EnginePool
from .face.protection import TemplateError, TemplateProtector
from .face.reuse import Known
from .face.worker import EngineError, EngineWorker

_LOGGER = logging.getLogger(__name__)

# The dlib engine's packages: installed by an administrator who chooses it, never by FaceGate.
DLIB_REQUIREMENTS: Final = ["dlib-bin==20.0.1.post1", "face_recognition_models==0.3.0"]
ANALYZE_TIMEOUT: Final = 15.0  # seconds; a hung engine is killed and restarted after this
ENROL_MIN_WIDTH: Final = 100  # px: enrolment wants a larger face than recognition
ENROL_MAX_YAW: Final = 0.25  # and a frontal one
ISSUE_ENGINE: Final = "face_engine_missing"
ISSUE_ENGINE_CHANGED: Final = "face_engine_changed"
RETRY_SECONDS: Final = 300.0
IDLE_CHECK_INTERVAL: Final = timedelta(seconds=60)  # engines idle IDLE_EXIT_SECONDS then exit


@dataclass(frozen=True, slots=True)
class Frame:
    """What the engine saw in one image."""

    faces: list[FaceObservation]
    size: tuple[int, int]  # width, height


class FaceTemplateStore:
    """The site's face templates: protected, encrypted, in .storage/facegate.<entry>.faces.

    One sealed gallery per engine that made templates ({"galleries": [sealed, ...]}); files
    written before engines were tagged hold one dlib gallery ({"sealed": ...}).
    """

    def __init__(self, hass: HomeAssistant, entry_id: str) -> None:
        self._hass = hass
        self._store: Store[dict[str, Any]] = Store(
            hass, 1, f"{DOMAIN}.{entry_id}.faces", private=True, atomic_writes=True
        )

    @property
    def path(self) -> Path:
        """Where the templates are kept."""
        return Path(self._store.path)

    async def async_load(self, protector: TemplateProtector) -> dict[str, Gallery]:
        """The stored galleries by engine key (none on first use); TemplateError if unreadable."""
        data = await self._store.async_load()
        if not data:
            return {}
        blobs = data["galleries"] if "galleries" in data else [data["sealed"]]
        # Decrypting and indexing grow with the number of templates: not in the event loop.
        galleries = await self._hass.async_add_executor_job(_unseal_all, protector, blobs)
        return {gallery.engine: gallery for gallery in galleries}

    async def async_save(self, galleries: Iterable[Gallery]) -> None:
        """Write now: an erasure must reach the disk at once. Empty galleries are not kept."""
        blobs = await self._hass.async_add_executor_job(_seal_all, list(galleries))
        await self._store.async_save({"galleries": blobs})

    async def async_remove(self) -> None:
        """Delete the file, with the site."""
        await self._store.async_remove()


def _image_refused(err: ImageError) -> AccessError:
    return AccessError("image_too_large" if err.reason == "too_large" else "image_unreadable")


def _unseal_all(protector: TemplateProtector, blobs: list[str]) -> list[Gallery]:
    galleries = [Gallery.unseal(protector, base64.b64decode(blob)) for blob in blobs]
    for gallery in galleries:
        gallery.prepare()  # stacking the samples (O(N)) here rather than at the first probe
    return galleries


def _seal_all(galleries: list[Gallery]) -> list[str]:
    return [base64.b64encode(gallery.seal()).decode() for gallery in galleries if len(gallery)]


class FaceService:
    """Engine process and templates of one site; the engine starts on first use."""

    def __init__(
        self,
        hass: HomeAssistant,
        entry_id: str,
        protector: TemplateProtector,
        engine: str = DEFAULT_ENGINE,
    ) -> None:
        self._hass = hass
        self._entry_id = entry_id
        self._protector = protector
        self.engine = engine
        self.templates = FaceTemplateStore(hass, entry_id)
        self.gallery = Gallery(protector, ENGINE_KEYS[engine])  # the one that is matched
        # Templates of other engines (the site changed engine): kept, never matched, until
        # their resident re-enrols or is erased. A repair issue lists how many are waiting.
        self.stale: dict[str, Gallery] = {}
        self._pool: EnginePool | None = None
        self._cancel_idle_check: Callable[[], None] | None = None
        self.clock: Callable[[], float] = time.monotonic  # the engines' idleness (tests set it)
        self._retry_at = 0.0  # after a failed start, when to try again

    async def async_load(self) -> None:
        """Read the stored templates (needs no face package: numpy and cryptography only)."""
        try:
            galleries = await self.templates.async_load(self._protector)
        except TemplateError as err:
            # Templates that do not authenticate are useless, never trusted: nobody matches.
            _LOGGER.error("Face templates of site %s unreadable (%s)", self._entry_id, err)
            return
        self.gallery = galleries.pop(self.gallery.engine, self.gallery)
        self.stale = galleries
        self._update_engine_issue()
        # A site set to the optional dlib engine whose packages are gone: say so at once.
        if await self._hass.async_add_executor_job(packages_missing, self.engine):
            self._report_missing()

    @property
    def resident_ids(self) -> set[str]:
        """Everyone with templates of any engine (erasure must reach them all)."""
        ids = set(self.gallery.resident_ids)
        for gallery in self.stale.values():
            ids.update(gallery.resident_ids)
        return ids

    def _update_engine_issue(self) -> None:
        """A repair issue while residents have templates only of another engine."""
        waiting: set[str] = set()
        for gallery in self.stale.values():
            waiting.update(gallery.resident_ids)
        waiting -= set(self.gallery.resident_ids)
        issue_id = f"{ISSUE_ENGINE_CHANGED}_{self._entry_id}"
        if not waiting:
            ir.async_delete_issue(self._hass, DOMAIN, issue_id)
            return
        ir.async_create_issue(
            self._hass,
            DOMAIN,
            issue_id,
            is_fixable=False,
            severity=ir.IssueSeverity.WARNING,
            translation_key=ISSUE_ENGINE_CHANGED,
            translation_placeholders={"engine": self.engine, "count": str(len(waiting))},
        )

    @property
    def _worker(self) -> EngineWorker | None:
        """The first engine process's worker (the one a lone door uses), once started."""
        return self._pool.primary if self._pool is not None else None

    async def async_start(self) -> EnginePool:
        """Start the engine if needed; HomeAssistantError with a repair if it cannot start."""
        if self._pool is not None:
            return self._pool
        if time.monotonic() < self._retry_at:  # no new start attempt on every frame of a scan
            raise HomeAssistantError(translation_domain=DOMAIN, translation_key=ISSUE_ENGINE)
        # Only the optional dlib engine needs packages FaceGate does not ship.
        if await self._hass.async_add_executor_job(packages_missing, self.engine):
            self._raise_missing()
        pool = EnginePool(self._new_worker)
        try:
            await self._hass.async_add_executor_job(pool.start)
        except EngineError:
            self._raise_missing()
        self._pool = pool
        self._cancel_idle_check = async_track_time_interval(
            self._hass, self._async_stop_idle_engines, IDLE_CHECK_INTERVAL
        )
        ir.async_delete_issue(self._hass, DOMAIN, ISSUE_ENGINE)
        return pool

    def _new_worker(self) -> EngineWorker:
        return EngineWorker(engine=self.engine, clock=self._read_clock)

    def _read_clock(self) -> float:
        return self.clock()  # read at each call: a test may swap the clock at any time

    async def _async_stop_idle_engines(self, _now: datetime) -> None:
        """Let idle engine processes exit (joining a child may take a moment: executor)."""
        if pool := self._pool:
            await self._hass.async_add_executor_job(pool.stop_idle)

    def _raise_missing(self) -> NoReturn:
        self._retry_at = time.monotonic() + RETRY_SECONDS
        self._report_missing()
        raise HomeAssistantError(translation_domain=DOMAIN, translation_key=ISSUE_ENGINE)

    def _report_missing(self) -> None:
        """The repair issue: the engine cannot start; for dlib, the pip line to install it."""
        ir.async_create_issue(
            self._hass,
            DOMAIN,
            ISSUE_ENGINE,
            is_fixable=False,
            severity=ir.IssueSeverity.WARNING,
            translation_key=ISSUE_ENGINE,
            translation_placeholders={
                "engine": self.engine,
                "packages": " ".join(DLIB_REQUIREMENTS),
            },
        )

    @property
    def engine_running(self) -> bool:
        """Whether the engine has been started (on first use) and not stopped.

        An idle engine process exits meanwhile and comes back with the next frame.
        """
        return self._pool is not None

    async def async_stop(self) -> None:
        """Stop the engine processes (with the site)."""
        if self._cancel_idle_check is not None:
            self._cancel_idle_check()
            self._cancel_idle_check = None
        if pool := self._pool:
            self._pool = None
            await self._hass.async_add_executor_job(pool.stop)

    async def async_analyze(self, image: bytes, known: tuple[Known, ...] = ()) -> Frame | None:
        """Faces in an image; None when the engine is busy (the frame is dropped).

        ``known``: the tracked face of the previous frame, whose encoding the engine may reuse
        (face/reuse.py).
        """
        # Only the header is read here: a decompression bomb is refused before anything is
        # decoded, and the engine process, not Home Assistant's, decodes the rest.
        try:
            await self._hass.async_add_executor_job(image_size, image)
        except ImageError as err:
            raise _image_refused(err) from err
        worker = await self.async_start()
        try:
            result = await self._hass.async_add_executor_job(
                worker.analyze_image, image, ANALYZE_TIMEOUT, known
            )
        except ImageError as err:
            raise _image_refused(err) from err
        except EngineError as err:  # crashed or hung: the worker restarts with the next frame
            _LOGGER.warning("The face engine failed (%s); it restarts with the next frame", err)
            raise AccessError("engine_failed") from err
        return None if result is None else Frame(*result)

    async def async_enrol(
        self, resident_id: str, images: list[bytes], consented: Callable[[], bool]
    ) -> int:
        """Replace a resident's templates with the faces of these images; returns the count.

        Raises AccessError with the reason of the first unusable image; nothing is stored then.
        The images are not kept: only their protected encodings are. Consent is asked again
        when the templates are stored: it may have been withdrawn while the images were read.
        """
        encodings = []
        for image in images:
            frame = await self._async_analyze_waiting(image)
            if not frame.faces:
                raise AccessError("no_face")
            if len(frame.faces) > 1:
                raise AccessError("several_faces")
            face = frame.faces[0]
            if problem := frame_quality(
                face, frame.size, min_width=ENROL_MIN_WIDTH, max_yaw=ENROL_MAX_YAW
            ):
                raise AccessError(problem)
            encodings.append(face.encoding)
        if not consented():
            raise AccessError("no_face_consent")
        await self._hass.async_add_executor_job(self._replace, resident_id, encodings)
        if not consented():  # withdrawn while the templates were added: erase them again
            await self.async_erase(resident_id)
            raise AccessError("no_face_consent")
        await self.templates.async_save(self._galleries())
        self._update_engine_issue()
        return len(encodings)

    def _replace(self, resident_id: str, encodings: list[npt.NDArray[np.float64]]) -> None:
        """Enrol (O(samples x N) for the cohort): in the executor."""
        self.gallery.add_identity(resident_id, encodings)
        for gallery in self.stale.values():  # superseded: the new engine's templates replace them
            gallery.remove_identity(resident_id)

    async def async_decide(self, encoding: npt.NDArray[np.float64]) -> Match:
        """Who a face is (decision.py); O(N) in the templates, so in the executor."""
        return await self._hass.async_add_executor_job(decide, self.gallery, encoding)

    def _galleries(self) -> list[Gallery]:
        return [self.gallery, *self.stale.values()]

    async def _async_analyze_waiting(self, image: bytes) -> Frame:
        """Enrolment waits its turn instead of dropping its images."""
        deadline = time.monotonic() + ANALYZE_TIMEOUT
        while (frame := await self.async_analyze(image)) is None:
            if time.monotonic() > deadline:
                raise AccessError("engine_busy")
            await asyncio.sleep(0.05)
        return frame

    def _remove(self, resident_id: str) -> list[bool]:
        return [gallery.remove_identity(resident_id) for gallery in self._galleries()]

    async def async_erase(self, resident_id: str) -> None:
        """Forget a resident's face at once, on disk too (the templates of every engine)."""
        removed = await self._hass.async_add_executor_job(self._remove, resident_id)
        if any(removed):
            await self.templates.async_save(self._galleries())
            self._update_engine_issue()
