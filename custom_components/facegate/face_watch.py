"""Who is at a door camera: scans while a trigger is on, then face unlock when it is safe.

A trigger (motion, doorbell, an event entity) starts a burst of scans of the camera; without
one the camera is never analysed, so an idle door costs no CPU. Each frame: the tracked face
(else the largest) passes the quality gate and is matched against the gallery; the vote and the
liveness evidence come from ONE tracked face (face/tracking.py: the same resident, box after
box), so a stranger's blink never counts for a resident's photo. The door opens only when
enough frames agree on that resident AND that same face is live (a photo held to the camera is
not) AND the access rules allow it (consent, the household's face mode, a door that serves it).
"""

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Callable
from typing import Any, Final

from homeassistant.components import camera
from homeassistant.const import STATE_ON, STATE_UNAVAILABLE, STATE_UNKNOWN
from homeassistant.core import Event, EventStateChangedData, HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.dispatcher import async_dispatcher_send
from homeassistant.helpers.event import async_call_later, async_track_state_change_event

from . import gate
from .access.audit import Outcome
from .access.controller import Decision
from .access.errors import AccessError
from .const import DOMAIN
from .face.liveness import frame_quality
from .face.liveness_policy import MIN_JUDGED_FRAMES, PolicyVerdict
from .face.observation import FaceObservation
from .face.reuse import EncodingReuse
from .face.scan import ScanEvidence
from .face.tracking import MAX_GAP_SECONDS, boxes_continue, same_face
from .face_service import Frame
from .runtime import DoorConfig, FaceGateRuntime

_LOGGER = logging.getLogger(__name__)

NOBODY: Final = "nobody"
UNKNOWN: Final = "unknown"
EVENT_UNKNOWN_FACE: Final = "facegate_unknown_face"
SIGNAL_UNKNOWN_FACE: Final = "facegate_unknown_face_{}"  # format with the door id
UNKNOWN_FACE_FRAMES: Final = 3  # clear frames of a stranger before it is reported, once a burst
# Failed snapshots in a row (timeouts, HTTP errors, unreadable pictures) before a repair issue
# says so; at 2 frames a second that is about 10 s of a triggered camera failing.
CAMERA_FAILURES_FOR_ISSUE: Final = 20
ISSUE_CAMERA: Final = "camera_unavailable"
# The sensor goes back to "nobody" this long after the last frame that showed a face: a scan
# that ends, a camera that fails or a person who walks off leaves no stale name behind.
FACE_HOLD_SECONDS: Final = 10.0
# A scan that saw a face in this many frames, too poor to judge in all but MIN_JUDGED_FRAMES - 1
# of them, ends in one refusal that says so ("face_unclear": look at the camera, or use the PIN
# or card) rather than in silence.
UNCLEAR_FRAMES: Final = 3
# Enrolment from a camera by a resident (not an administrator) must prove the face live with
# the unlock's own policy: frames for up to this long, one every ENROL_FRAME_INTERVAL.
ENROL_LIVE_SECONDS: Final = 15.0
ENROL_FRAME_INTERVAL: Final = 0.3
_ENROLLING: Final = "enrolling"  # the track's name for the face being enrolled


class FaceWatch:
    """One door camera: the face sensor's state, and face unlock through the access rules."""

    def __init__(
        self, hass: HomeAssistant, runtime: FaceGateRuntime, door: DoorConfig, camera_id: str
    ) -> None:
        self._hass = hass
        self._runtime = runtime
        self._door = door
        self.camera_id = camera_id
        self.state = NOBODY
        self.faces = 0
        self.last_seen: float | None = None
        # The last recognition that passed liveness: whom, when (voice.py uses it up).
        self.recent_match: tuple[str, float] | None = None
        self._scan = ScanEvidence()  # the one face whose frames vote and prove liveness
        self._reuse = EncodingReuse()  # whose encoding the engine may skip (face/reuse.py)
        self._unproven: str | None = None  # recognised in this burst, but not (yet) live
        self._undecided: str | None = None  # why its cues could not decide, if they could not
        self._unknown_frames = 0  # clear frames of someone not enrolled, in this burst
        self._unclear: Counter[str] = Counter()  # this burst's frames too poor to judge, by why
        self._judged = 0  # this burst's frames good enough to match
        self.camera_failures = 0  # snapshots in a row that gave no usable picture
        self._scan_until = 0.0
        self._scanning: asyncio.Task[None] | None = None
        self._listeners: list[Callable[[], None]] = []
        self._cancel_hold: Callable[[], None] | None = None  # the timer back to "nobody"

    @callback
    def async_start(self) -> Callable[[], None]:
        """Listen to the door's triggers; returns the stop callback."""
        unsubscribe = async_track_state_change_event(
            self._hass, list(self._door.face_trigger_entity_ids), self._on_trigger
        )

        def stop() -> None:
            unsubscribe()
            self._stop_hold()
            if self._scanning:
                self._scanning.cancel()

        return stop

    @callback
    def async_add_listener(self, listener: Callable[[], None]) -> Callable[[], None]:
        """Call the listener (the sensor) whenever the state changes."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    @callback
    def _on_trigger(self, event: Event[EventStateChangedData]) -> None:
        new = event.data["new_state"]
        if new is None or new.state in (STATE_UNAVAILABLE, STATE_UNKNOWN):
            return
        # A binary sensor (or a helper switch) triggers when it turns on; an event entity on
        # every event.
        if new.domain != "event" and new.state != STATE_ON:
            return
        self.async_trigger()

    @callback
    def async_trigger(self) -> None:
        """Scan for the next few seconds (a running scan is extended, not doubled)."""
        self._scan_until = time.monotonic() + self._door.scan_duration
        if self._scanning is None or self._scanning.done():
            self._scanning = self._hass.async_create_background_task(
                self._async_scan(), f"facegate face scan {self.camera_id}"
            )

    async def _async_scan(self) -> None:
        while time.monotonic() < self._scan_until or self._trigger_held():
            started = time.monotonic()
            try:
                await self.async_scan_once()
            except HomeAssistantError, AccessError:
                _LOGGER.debug("Face scan of %s skipped a frame", self.camera_id)
            elapsed = time.monotonic() - started
            await asyncio.sleep(max(0.0, self._door.scan_interval - elapsed))
        await self.async_end_burst()

    def _trigger_held(self) -> bool:
        """A motion sensor or helper that stays on keeps the scan going."""
        return any(
            (state := self._hass.states.get(entity_id)) is not None
            and state.domain != "event"
            and state.state == STATE_ON
            for entity_id in self._door.face_trigger_entity_ids
        )

    async def async_end_burst(self) -> None:
        """After a burst: refuse, once, a recognised face that never proved live.

        `not_live` when the cues said so (the passive score says spoof, or the same picture
        was served again and again); `face_unclear` when they could not decide (too dark,
        too small, infrared, too few frames): look at the camera, or use the PIN or card.
        """
        resident_id, self._unproven = self._unproven, None
        undecided, self._undecided = self._undecided, None
        unclear, judged = self._unclear, self._judged
        self._unclear, self._judged = Counter(), 0
        self._unknown_frames = 0
        self._scan.reset()
        self._reuse.clear()
        resident = self._runtime.directory.residents.get(resident_id or "")
        if resident is None:
            if unclear.total() >= UNCLEAR_FRAMES and judged < MIN_JUDGED_FRAMES:
                await self._async_refuse("face_unclear", note=unclear.most_common(1)[0][0])
            return
        if undecided is not None:
            # The burst's own reason when frames were too poor (too dark, ...), else the cues'.
            note = unclear.most_common(1)[0][0] if unclear else undecided
            await self._async_refuse(
                "face_unclear", resident.resident_id, resident.household_id, note
            )
            return
        # A photo or a screen held to the camera: the cues say it is not live.
        await self._async_refuse("not_live", resident.resident_id, resident.household_id)

    async def _async_refuse(
        self,
        reason: str,
        resident_id: str | None = None,
        household_id: str | None = None,
        note: str | None = None,
    ) -> None:
        """Record and publish one face refusal at this door."""
        decision = Decision(
            self._door.door_id, "face", Outcome.DENIED, reason, resident_id, household_id,
            note=note,
        )  # fmt: skip
        decision = self._runtime.controller.record(decision, time.time())
        await gate.async_publish(self._hass, self._runtime, decision)

    async def async_scan_once(self) -> None:
        """Take one snapshot and process it (a busy engine drops it).

        A camera that fails (no picture, an unreadable one) raises; after many failures in a
        row a repair issue says so, until the camera sends a usable picture again.
        """
        try:
            image = await camera.async_get_image(self._hass, self.camera_id, timeout=5)
        except HomeAssistantError:
            self._camera_failed()
            raise
        try:
            known = self._reuse.hint(time.time())
            frame = await self._runtime.faces.async_analyze(image.content, known)
        except AccessError as err:
            if err.reason in ("image_unreadable", "image_too_large"):
                self._camera_failed()
            raise
        self._camera_recovered()
        if frame is not None:
            await self.async_process(frame, time.time())

    @property
    def _issue_id(self) -> str:
        return f"{ISSUE_CAMERA}_{self._door.door_id}_{self.camera_id}"

    def _camera_failed(self) -> None:
        self.camera_failures += 1
        if self.camera_failures == CAMERA_FAILURES_FOR_ISSUE:
            _LOGGER.warning(  # once, with the repair issue; the next log says it is back
                "%s gives no usable picture: face recognition at %s is paused",
                self.camera_id,
                self._door.name,
            )
            ir.async_create_issue(
                self._hass,
                DOMAIN,
                self._issue_id,
                is_fixable=False,
                severity=ir.IssueSeverity.WARNING,
                translation_key=ISSUE_CAMERA,
                translation_placeholders={"camera": self.camera_id, "door": self._door.name},
            )

    def _camera_recovered(self) -> None:
        if self.camera_failures >= CAMERA_FAILURES_FOR_ISSUE:
            _LOGGER.info("%s sends usable pictures again", self.camera_id)
            ir.async_delete_issue(self._hass, DOMAIN, self._issue_id)
        self.camera_failures = 0

    async def async_process(self, frame: Frame, now: float) -> None:
        """Update the sensor from a frame, and open the door when it is safe."""
        self.faces = len(frame.faces)
        face = self._scan.pick(frame.faces, now)
        if face is None:
            self._reuse.clear()
            self._set_state(NOBODY)
            return
        self.last_seen = now
        problem = frame_quality(face, frame.size)  # too small, dark, blurry, turned, or None
        clear = problem is None
        if problem is None:
            self._judged += 1
        else:
            self._unclear[problem] += 1
        # O(N) in the templates: matched in the executor, off the event loop.
        match = await self._runtime.faces.async_decide(face.encoding) if clear else None
        resident_id = match.resident_id if match else None
        self._scan.add(resident_id, face, problem, now)
        if self._reuse.record(face, resident_id is not None, now) and clear:
            self._scan.reset()  # the reused frames before it may have shown someone else
        self._set_state(gate.resident_label(self._runtime, resident_id) or UNKNOWN)
        if clear and resident_id is None:
            self._count_unknown_frame()
        if (voted := self._scan.voted(now)) is not None:
            # The door opens on a frame encoded afresh that itself shows the voted resident: a
            # reused frame, or an unclear or unknown one after it, proves nothing about who is
            # there now (face/reuse.py).
            confirmed = face.encoded and resident_id == voted
            await self._async_try_face_unlock(voted, now, confirmed=confirmed)

    def _count_unknown_frame(self) -> None:
        """Report a stranger once a burst: on the bus and to the door's event entity."""
        self._unknown_frames += 1
        if self._unknown_frames != UNKNOWN_FACE_FRAMES:
            return
        door_id = self._door.door_id
        self._hass.bus.async_fire(
            EVENT_UNKNOWN_FACE,
            {
                "entity_id": self._runtime.lock_entity_ids.get(door_id),
                "door_id": door_id,
                "door": self._door.name,
                "camera_entity_id": self.camera_id,
            },
        )
        async_dispatcher_send(self._hass, SIGNAL_UNKNOWN_FACE.format(door_id), self.camera_id)

    def liveness_verdict(self, now: float) -> PolicyVerdict:
        """The liveness policy on the tracked face's recent frames (face/liveness_policy.py)."""
        return self._scan.verdict(now)

    async def _async_try_face_unlock(
        self, resident_id: str, now: float, *, confirmed: bool = True
    ) -> None:
        if not self.liveness_verdict(now).live:
            # Not proven live yet (a still picture never is): keep watching until the burst
            # ends, then refuse once, saying whether the cues could decide.
            self._unproven, self._undecided = resident_id, self._scan.undecided(now)
            return
        self._unproven = self._undecided = None
        if not confirmed:  # the door opens on a fresh frame that matches only: ask for one
            self._reuse.refresh()
            return
        self.recent_match = (resident_id, now)  # live: may back a spoken unlock (voice.py)
        self._scan.voter.reset()
        self._scan.forget_liveness()
        door = self._door
        if refused := self._runtime.controller.refuse_if_locked_out(door.rules, "face", now):
            await gate.async_publish(self._hass, self._runtime, refused)
            return
        decision = self._runtime.controller.decide_face(door.rules, resident_id, now)
        await gate.async_publish(self._hass, self._runtime, decision)

    def _set_state(self, state: str) -> None:
        self.state = state
        self._stop_hold()
        if state != NOBODY:
            self._cancel_hold = async_call_later(self._hass, FACE_HOLD_SECONDS, self._hold_over)
        for listener in list(self._listeners):
            listener()

    def _stop_hold(self) -> None:
        if self._cancel_hold is not None:
            self._cancel_hold()
            self._cancel_hold = None

    @callback
    def _hold_over(self, _now: Any) -> None:
        self._cancel_hold = None
        self.faces = 0
        self._set_state(NOBODY)

    def seen_recently(self, now: float) -> bool:
        """Whether the state names someone seen within `FACE_HOLD_SECONDS` of `now`."""
        return (
            self.state != NOBODY
            and self.last_seen is not None
            and now - self.last_seen <= FACE_HOLD_SECONDS
        )

    @property
    def attributes(self) -> dict[str, Any]:
        """What the sensor may show: counts and times, never biometrics."""
        return {"faces": self.faces, "last_seen": self.last_seen}


async def async_live_samples(
    hass: HomeAssistant,
    runtime: FaceGateRuntime,
    camera_id: str,
    count: int,
    on_frame: Callable[[Frame | None], None] | None = None,
) -> list[bytes]:
    """`count` snapshots of ONE face that proved live, for enrolment.

    The same liveness policy as an unlock (face/scan.py, face/liveness_policy.py): the passive
    score over several frames, 3-D head motion, a blink; so a resident enrols by looking at
    the camera. The face is followed like at a door: the only face in each frame, box after
    box, the same encoding; another face starts again. Raises AccessError("enrol_not_live")
    when the face did not prove live within ENROL_LIVE_SECONDS: a photo or a screen held to
    the camera does not (the model scores it spoof; a still served again counts once).
    """
    scan = ScanEvidence()
    images: list[bytes] = []
    first: FaceObservation | None = None  # the followed face's first frame
    last: tuple[FaceObservation, float] | None = None
    deadline = time.monotonic() + ENROL_LIVE_SECONDS
    while time.monotonic() < deadline:
        try:
            image = await camera.async_get_image(hass, camera_id, timeout=5)
        except HomeAssistantError as err:
            raise AccessError("camera_unavailable") from err
        now = time.time()
        frame = await runtime.faces.async_analyze(image.content)
        if on_frame is not None:  # the panel's live guidance (operations.enrol_guidance)
            on_frame(frame)
        if frame is not None and len(frame.faces) == 1:
            face = frame.faces[0]
            if not (
                first is not None
                and last is not None
                and now - last[1] <= MAX_GAP_SECONDS
                and boxes_continue(last[0].box, face.box)
                and same_face(first.encoding, face.encoding)
            ):  # another face, or the same one after a gap: start again
                scan.reset()
                images, first = [], face
            last = (face, now)
            problem = frame_quality(face, frame.size)
            # Followed by box and encoding (nobody's identity yet): clear frames are evidence.
            scan.add(_ENROLLING if problem is None else None, face, problem, now)
            if problem is None:
                images.append(image.content)
            if images and scan.verdict(now).live:
                step = max(1, len(images) // count)
                return images[::-1][::step][:count]
        await asyncio.sleep(ENROL_FRAME_INTERVAL)
    raise AccessError("enrol_not_live")
