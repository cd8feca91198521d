"""Unlocks of a door's target that FaceGate did not make: the side door.

The target (the lock or switch that moves the bolt) is an ordinary entity: any user who can see
it can switch it, and voice assistants or dashboards may offer it. FaceGate runs each of its own
calls to the target under a context of its own and remembers those contexts; a change of the
target into an open state under any other context is an unlock outside FaceGate. It is audited
(with the Home Assistant user, when there is one), published as an access event with outcome
``bypassed`` (the event entity, the logbook and the ``bypassed`` device trigger follow), and
raises a repair issue that tells the admin to hide the target. The lock relocks it.

A device that confirms slowly may report FaceGate's own unlock after Home Assistant has
forgotten which context asked for it (entities keep a call's context for 5 s): a change to
open within ``OWN_MOVE_GRACE`` seconds of FaceGate's own unlock counts as FaceGate's, until the
target closes again (an opening after that is someone else's).
"""

import time
from collections import deque
from typing import Final

from homeassistant.components.lock.const import LockState
from homeassistant.const import STATE_ON, STATE_UNAVAILABLE, STATE_UNKNOWN
from homeassistant.core import Context, Event, EventStateChangedData, HomeAssistant, State
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.dispatcher import async_dispatcher_send

from . import gate
from .access.audit import AuditRecord, Outcome
from .access.controller import Decision
from .const import DOMAIN
from .runtime import DoorConfig, FaceGateRuntime

METHOD_OUTSIDE: Final = "outside"
REASON_OUTSIDE: Final = "outside_facegate"
ISSUE_BYPASSED: Final = "target_bypassed"
OWN_MOVE_GRACE: Final = 30.0  # seconds
_OWN_CONTEXTS: Final = 16  # FaceGate's recent calls to one target
_OPEN_STATES: Final = {
    LockState.UNLOCKED,
    LockState.UNLOCKING,
    LockState.OPEN,
    LockState.OPENING,
    STATE_ON,  # a switch
}
_NOT_KNOWN: Final = {STATE_UNAVAILABLE, STATE_UNKNOWN}


def _is_open(state: State | None) -> bool:
    return state is not None and state.state in _OPEN_STATES


class TargetWatch:
    """FaceGate's own calls to one door's target, and the unlocks it did not make."""

    def __init__(self, hass: HomeAssistant, runtime: FaceGateRuntime, door: DoorConfig) -> None:
        self._hass = hass
        self._runtime = runtime
        self._door = door
        self._own: deque[str] = deque(maxlen=_OWN_CONTEXTS)
        self._opened_at = -OWN_MOVE_GRACE  # monotonic time of FaceGate's last unlock

    def own_context(self, caller: Context | None, *, opening: bool) -> Context:
        """A context for one of FaceGate's calls to the target, remembered as FaceGate's."""
        context = Context(
            user_id=caller.user_id if caller else None, parent_id=caller.id if caller else None
        )
        self._own.append(context.id)
        self._opened_at = time.monotonic() if opening else -OWN_MOVE_GRACE
        return context

    def is_bypass(self, event: Event[EventStateChangedData]) -> bool:
        """Whether a change of the target is an unlock that FaceGate did not make."""
        old, new = event.data["old_state"], event.data["new_state"]
        if _is_open(old) and new is not None and not _is_open(new):
            # Closed again: the grace covered FaceGate's opening, not a later one.
            self._opened_at = -OWN_MOVE_GRACE
        if new is None or not _is_open(new) or _is_open(old):
            return False  # locking is for anyone
        if old is None or old.state in _NOT_KNOWN:
            return False  # a target coming back online is no unlock
        if new.context.id in self._own or new.context.parent_id in self._own:
            return False
        return time.monotonic() - self._opened_at > OWN_MOVE_GRACE

    async def async_report(self, event: Event[EventStateChangedData]) -> None:
        """Audit and publish an unlock outside FaceGate, and tell the admin to hide the target."""
        runtime, door = self._runtime, self._door
        context = event.context
        user_id = context.user_id
        resident = next(
            (r for r in runtime.directory.residents.values() if user_id and r.user_id == user_id),
            None,
        )
        decision = Decision(
            door.door_id,
            METHOD_OUTSIDE,
            Outcome.BYPASSED,
            REASON_OUTSIDE,
            resident_id=resident.resident_id if resident else None,
            household_id=resident.household_id if resident else None,
        )
        runtime.audit.add(
            AuditRecord(
                time.time(),
                door.door_id,
                METHOD_OUTSIDE,
                Outcome.BYPASSED,
                REASON_OUTSIDE,
                decision.resident_id,
                user_id=user_id,
            )
        )
        await runtime.async_save()
        # Fired in the unlocking call's context: the logbook names its user.
        self._hass.bus.async_fire(
            gate.EVENT_ACCESS, gate.event_data(runtime, decision), context=context
        )
        async_dispatcher_send(self._hass, gate.SIGNAL_DECISION.format(door.door_id), decision)
        ir.async_create_issue(
            self._hass,
            DOMAIN,
            f"{ISSUE_BYPASSED}_{door.door_id}",
            is_fixable=False,
            is_persistent=False,
            severity=ir.IssueSeverity.WARNING,
            translation_key=ISSUE_BYPASSED,
            translation_placeholders={
                "door": door.name,
                "target": door.target_entity_id or "",
            },
        )
