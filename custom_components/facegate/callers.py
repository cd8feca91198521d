"""Who started a call: the user behind an automation that a person set off.

Home Assistant runs an automation in a new context that keeps only its parent's id, not the user
who triggered it (automation.trigger, a button or helper that an automation watches, a script
that fires an event), so its calls look like ones nobody made. FaceGate remembers for a while
which user each recent context descends from, learned from every event (each carries its
context: service calls, state changes, automation and script starts, a phone's notification
action), and follows the chain back to that user.
"""

import time
from collections import deque
from typing import Final

from homeassistant.const import MATCH_ALL
from homeassistant.core import Context, Event, HomeAssistant, callback
from homeassistant.util.hass_dict import HassKey

from .const import DOMAIN

WINDOW: Final = 3600.0  # seconds a context is remembered (covers an automation's delays)
PER_USER: Final = 1000  # contexts kept per user: a flood evicts only the flooder's own
# Who is behind a descendant context that was forgotten in a flood: nobody known, but not "no
# user" either, so it is decided as a user with no rights (fail closed), not as an automation.
UNATTRIBUTED: Final = "unattributed"
DATA_ORIGINS: HassKey[CallOrigins] = HassKey(f"{DOMAIN}_call_origins")


class CallOrigins:
    """Context id -> the user it descends from, bounded per user and expiring."""

    def __init__(self) -> None:
        self._users: dict[str, tuple[str, float]] = {}  # context id -> (user id, when)
        self._recent: dict[str, deque[str]] = {}  # user id -> their context ids, oldest first
        self._forgetting_until = 0.0  # after a flood evicted contexts within their window

    def remember(self, context: Context, now: float) -> None:
        """Note the user a context comes from: its own, or its parent's."""
        user_id = context.user_id or self.user_of(context.parent_id, now)
        if user_id is not None:
            self.attribute(context.id, user_id, now)

    def attribute(self, context_id: str, user_id: str, now: float) -> None:
        """Note that a context comes from this user, although it does not say so."""
        if context_id in self._users:
            return
        self._users[context_id] = (user_id, now)
        recent = self._recent.setdefault(user_id, deque())
        recent.append(context_id)
        while len(recent) > PER_USER or self._users[recent[0]][1] < now - WINDOW:
            if len(recent) > PER_USER:
                self._forgetting_until = now + WINDOW
            del self._users[recent.popleft()]

    def user_of(self, context_id: str | None, now: float) -> str | None:
        """The user a remembered context comes from, if still remembered."""
        found = self._users.get(context_id or "")
        return found[0] if found and now - found[1] <= WINDOW else None

    def initiator(self, context: Context, now: float) -> str | None:
        """The user who made this call, directly or through automations they set off."""
        user_id = (
            context.user_id or self.user_of(context.id, now) or self.user_of(context.parent_id, now)
        )
        if user_id is None and context.parent_id and now < self._forgetting_until:
            return UNATTRIBUTED  # its origin may have been flooded out: not "no user"
        return user_id


@callback
def async_track_callers(hass: HomeAssistant) -> None:
    """Start remembering where contexts come from (once, before any call is decided)."""
    if DATA_ORIGINS in hass.data:
        return
    origins = hass.data[DATA_ORIGINS] = CallOrigins()

    @callback
    def _remember(event: Event) -> None:
        context = event.context
        if context.user_id or context.parent_id:  # cheap for the many events of nobody
            origins.remember(context, time.monotonic())

    hass.bus.async_listen(MATCH_ALL, _remember)


def initiator(hass: HomeAssistant, context: Context | None) -> str | None:
    """The user behind a call (None: nobody we know of, such as HomeKit or a timer)."""
    if context is None:
        return None
    if origins := hass.data.get(DATA_ORIGINS):
        return origins.initiator(context, time.monotonic())
    return context.user_id


@callback
def async_unnamed_context(hass: HomeAssistant, context: Context) -> Context:
    """A context naming no user, whose automations are still decided as the caller's.

    Home Assistant's logbook shows every user the user of an event's context (or of its
    parent's), and person entities tell every user whose user id that is. Without the origins
    to remember it by, the caller's own context is kept: an automation set off by it must not
    pass for nobody's.
    """
    origins = hass.data.get(DATA_ORIGINS)
    if origins is None:
        return context
    unnamed = Context()
    if user_id := origins.initiator(context, time.monotonic()):
        origins.attribute(unnamed.id, user_id, time.monotonic())
    return unnamed
