"""One lock entity per door: opens by PIN, or without a code for admins and linked residents.

The entity's state follows the door's target (a lock or a switch that moves the bolt); a door
without a target is virtual and keeps its own state. After a granted unlock it relocks itself
after the door's delay. An unlock of the target that FaceGate did not make (target_watch.py) is
reported, and relocked after the same delay unless the door's relock_after_bypass is off.
"""

import logging
import time
from collections.abc import Mapping
from typing import Any

from homeassistant.components.lock import LockEntity
from homeassistant.components.lock.const import LockEntityFeature, LockState
from homeassistant.const import (
    ATTR_ENTITY_ID,
    STATE_OFF,
    STATE_ON,
    STATE_UNAVAILABLE,
    STATE_UNKNOWN,
    Platform,
)
from homeassistant.core import CALLBACK_TYPE, Event, EventStateChangedData, HomeAssistant, callback
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.helpers.event import async_call_later, async_track_state_change_event

from . import callers, exposure, gate, voice
from .access.audit import Outcome
from .access.controller import METHOD_VISITOR, Decision
from .access.credentials import PIN_PATTERN
from .const import DOMAIN
from .entity import FaceGateEntity, async_add_per_subentry, door_device
from .permissions import METHOD_AUTOMATION, async_codeless_decision
from .runtime import DoorConfig, FaceGateConfigEntry, FaceGateRuntime
from .target_watch import TargetWatch

_LOGGER = logging.getLogger(__name__)

# A PIN, or empty: admins and linked residents unlock from the UI without a code.
CODE_FORMAT = rf"^({PIN_PATTERN.pattern})?$"


PARALLEL_UPDATES = 0  # nothing is polled; actions run as they come


async def async_setup_entry(
    hass: HomeAssistant,
    entry: FaceGateConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add one lock per door subentry."""
    runtime = entry.runtime_data

    @callback
    def add(subentry_id: str) -> None:
        if (door := runtime.doors.get(subentry_id)) is not None:
            async_add_entities([DoorLock(runtime, door)], config_subentry_id=subentry_id)

    async_add_per_subentry(hass, entry, add)


class DoorLock(FaceGateEntity, LockEntity):
    """A door, opened through FaceGate's access rules."""

    _attr_name = None
    _attr_code_format = CODE_FORMAT

    def __init__(self, runtime: FaceGateRuntime, door: DoorConfig) -> None:
        super().__init__(door_device(door), f"{door.door_id}_lock")
        self._runtime = runtime
        self._door = door
        self._attr_is_locked = True
        self._cancel_relock: CALLBACK_TYPE | None = None
        self._unlatch_next = False  # the pending request asked to open, not just unlock
        self._watch: TargetWatch | None = None  # FaceGate's own moves of the target

    async def async_added_to_hass(self) -> None:
        """Register as the door's actuator and follow the target's state."""
        self._runtime.releases[self._door.door_id] = self._async_release
        self._runtime.lock_entity_ids[self._door.door_id] = self.entity_id
        self.async_on_remove(self._unregister_release)
        self.async_on_remove(self._cancel_pending_relock)
        if target := self._door.target_entity_id:
            self._watch = TargetWatch(self.hass, self._runtime, self._door)
            self.async_on_remove(
                async_track_state_change_event(self.hass, target, self._on_target_change)
            )
            self._follow_target()
        self._sync_default_code_issue()
        self.async_on_remove(exposure.async_watch(self.hass, self._door, self.entity_id))

    @callback
    def async_registry_entry_updated(self) -> None:
        """Re-check the default code whenever the entity's settings change."""
        super().async_registry_entry_updated()
        self._sync_default_code_issue()

    @property
    def supported_features(self) -> LockEntityFeature:
        """Open is offered when the target lock offers it."""
        target = self._door.target_entity_id
        state = self.hass.states.get(target) if target and self.hass else None
        if state and state.domain == Platform.LOCK:
            return LockEntityFeature(state.attributes.get("supported_features", 0))
        return LockEntityFeature(0)

    async def async_lock(self, **kwargs: Any) -> None:
        """Lock: anyone may close a door."""
        self._cancel_pending_relock()
        await self._async_move_target(locked=True)

    async def async_unlock(self, **kwargs: Any) -> None:
        """Unlock with a PIN, or without a code where the caller may."""
        await self._async_request(kwargs.get("code"))

    async def async_open(self, **kwargs: Any) -> None:
        """Open (unlatch) under the same rules as unlock."""
        await self._async_request(kwargs.get("code"), unlatch=True)

    async def _async_request(self, code: str | None, *, unlatch: bool = False) -> None:
        self._unlatch_next = unlatch
        try:
            decision = await self._async_decide(code)
        finally:
            self._unlatch_next = False  # a refused "open" must not turn a later unlock into one
        if not decision.granted:
            raise ServiceValidationError(
                translation_domain=DOMAIN, translation_key=f"denied_{decision.reason}"
            )

    async def _async_decide(self, code: str | None) -> Decision:
        runtime, door_id = self._runtime, self._door.door_id
        if code and code == self._default_code():
            decision = runtime.controller.record(
                Decision(door_id, "pin", Outcome.DENIED, "default_code"), time.time()
            )
            await gate.async_publish(self.hass, runtime, decision, self._context)
        elif voice.in_conversation():  # Assist's unlock intent, or an LLM agent's action
            decision = await self._async_decide_spoken(code)
        elif code:
            decision = await gate.async_present_pin(
                self.hass, runtime, door_id, code, self._context
            )
        else:
            decision = await gate.async_publish(
                self.hass,
                runtime,
                await async_codeless_decision(self.hass, runtime, self._door, self._context),
                self._context,
            )
        return decision

    async def _async_decide_spoken(self, code: str | None) -> Decision:
        runtime, door_id = self._runtime, self._door.door_id
        user_id = self._context.user_id if self._context else None
        if code:
            return await voice.async_voice_unlock(
                self.hass, runtime, door_id, code, context=self._context
            )
        decision = voice.decide_without_code(self.hass, runtime, door_id, voice.requester(user_id))
        # A refusal awaits nothing (stored a moment later), so that Assist's unlock intent,
        # which answers "unlocked" after 0.2 s, hears it.
        return await gate.async_publish(
            self.hass, runtime, decision, self._context, store_later=True
        )

    async def _async_release(self, decision: Decision) -> None:
        """Carry out a granted decision: move the bolt, then relock after the delay."""
        self._attr_changed_by = _changed_by(self._runtime, decision)
        context = self._context
        user_id = callers.initiator(self.hass, context)
        if context and user_id and gate.hides_name(self._runtime, user_id):
            # The lock's and the target's state rows in the logbook would name them (gate.py).
            self.async_set_context(callers.async_unnamed_context(self.hass, context))
        unlatch, self._unlatch_next = self._unlatch_next, False
        await self._async_move_target(locked=False, unlatch=unlatch)
        self._cancel_pending_relock()
        self._cancel_relock = async_call_later(
            self.hass, self._door.relock_delay, self._async_relock
        )

    async def _async_relock(self, _now: Any) -> None:
        self._cancel_relock = None
        self._attr_changed_by = "relock"
        await self._async_move_target(locked=True)

    async def _async_move_target(self, *, locked: bool, unlatch: bool = False) -> None:
        target = self._door.target_entity_id
        if target is None:  # a virtual door
            self._attr_is_locked = locked
            self._attr_is_open = unlatch
            self.async_write_ha_state()
            return
        domain = target.split(".", 1)[0]
        if domain == Platform.LOCK:
            service = "lock" if locked else ("open" if unlatch else "unlock")
        else:
            service = "turn_off" if locked else "turn_on"
        # A context of FaceGate's own: any other change of the target is a bypass.
        watch = self._watch
        context = watch.own_context(self._context, opening=not locked) if watch else self._context
        await self.hass.services.async_call(
            domain, service, {ATTR_ENTITY_ID: target}, blocking=True, context=context
        )

    @callback
    def _unregister_release(self) -> None:
        self._runtime.releases.pop(self._door.door_id, None)
        self._runtime.lock_entity_ids.pop(self._door.door_id, None)

    @callback
    def _cancel_pending_relock(self) -> None:
        if self._cancel_relock:
            self._cancel_relock()
            self._cancel_relock = None

    @callback
    def _on_target_change(self, event: Event[EventStateChangedData]) -> None:
        self._follow_target()
        if (watch := self._watch) is not None and watch.is_bypass(event):
            self._attr_changed_by = "outside FaceGate"
            self.hass.async_create_task(self._async_on_bypass(watch, event), "facegate bypass")
        self.async_write_ha_state()

    async def _async_on_bypass(
        self, watch: TargetWatch, event: Event[EventStateChangedData]
    ) -> None:
        if self._door.relock_after_bypass:
            self._cancel_pending_relock()
            self._cancel_relock = async_call_later(
                self.hass, self._door.relock_delay, self._async_relock
            )
        await watch.async_report(event)

    @callback
    def _follow_target(self) -> None:
        """Mirror the target: a switch that is on holds the door unlocked."""
        state = self.hass.states.get(self._door.target_entity_id or "")
        value = state.state if state else STATE_UNAVAILABLE
        available = value != STATE_UNAVAILABLE
        # Logged once each way, not on every change; a target not loaded yet (at start) is quiet.
        if available != self._attr_available and state is not None:
            if available:
                _LOGGER.info("%s is available again: its door works", self._door.target_entity_id)
            else:
                _LOGGER.warning(
                    "%s is unavailable: door %s cannot open until it is back",
                    self._door.target_entity_id,
                    self._door.name,
                )
        self._attr_available = available
        if value in (STATE_ON, STATE_OFF):
            value = LockState.UNLOCKED if value == STATE_ON else LockState.LOCKED
        self._attr_is_locked = value == LockState.LOCKED if value != STATE_UNKNOWN else None
        self._attr_is_jammed = value == LockState.JAMMED
        self._attr_is_open = value == LockState.OPEN
        self._attr_is_opening = value == LockState.OPENING
        self._attr_is_locking = value == LockState.LOCKING
        self._attr_is_unlocking = value == LockState.UNLOCKING

    def _default_code(self) -> str | None:
        entry = self.registry_entry
        options: Mapping[str, Any] = entry.options.get(Platform.LOCK, {}) if entry else {}
        return str(options.get("default_code") or "") or None

    @callback
    def _sync_default_code_issue(self) -> None:
        """A stored default code would open this door for anyone: refuse it and say so."""
        issue_id = f"default_code_{self._door.door_id}"
        if self._default_code():
            ir.async_create_issue(
                self.hass,
                DOMAIN,
                issue_id,
                is_fixable=False,
                severity=ir.IssueSeverity.ERROR,
                translation_key="default_code",
                translation_placeholders={"entity_id": self.entity_id, "door": self._door.name},
            )
        else:
            ir.async_delete_issue(self.hass, DOMAIN, issue_id)


def _changed_by(runtime: FaceGateRuntime, decision: Decision) -> str:
    """Who opened, without secrets: a resident (named only if they allow it), visitor, ..."""
    if label := gate.resident_label(runtime, decision.resident_id):
        return label
    return {METHOD_VISITOR: "visitor", METHOD_AUTOMATION: "automation"}.get(
        decision.method, "admin"
    )
