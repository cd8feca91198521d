"""Runtime state of one FaceGate site (one config entry): configuration, domain objects, store."""

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from homeassistant.config_entries import ConfigEntry, ConfigEntryState, ConfigSubentry
from homeassistant.core import HomeAssistant

from .access.attempts import AttemptBudget
from .access.audit import AuditLog
from .access.controller import AccessController, Decision, Door
from .access.directory import Directory
from .access.errors import AccessError
from .access.lockout import Lockout
from .access.modes import Mode, Policy
from .consent_log import ConsentLog
from .const import (
    CONF_ALLOW_AUTOMATION_UNLOCK,
    CONF_ALLOW_VOICE_UNLOCK,
    CONF_CAMERA_ENTITY_IDS,
    CONF_FACE_TRIGGER_IDS,
    CONF_HOUSEHOLD_IDS,
    CONF_MODES,
    CONF_POLICY,
    CONF_READER_DEVICE_IDS,
    CONF_RELOCK_AFTER_BYPASS,
    CONF_RELOCK_DELAY,
    CONF_SCAN_DURATION,
    CONF_SCAN_INTERVAL,
    CONF_TARGET_ENTITY_ID,
    DEFAULT_RELOCK_DELAY,
    DEFAULT_SCAN_DURATION,
    DEFAULT_SCAN_INTERVAL,
    DOMAIN,
    POLICY_ANY,
    SUBENTRY_DOOR,
    SUBENTRY_HOUSEHOLD,
)
from .face_service import FaceService
from .store import SiteStore

if TYPE_CHECKING:  # face_watch.py imports this module
    from .face_watch import FaceWatch

_LOGGER = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class DoorConfig:
    """A door as configured in its subentry."""

    door_id: str
    name: str
    target_entity_id: str | None
    camera_entity_ids: tuple[str, ...]
    face_trigger_entity_ids: tuple[str, ...]
    reader_device_ids: tuple[str, ...]
    household_ids: frozenset[str]
    relock_delay: int
    allow_voice_unlock: bool
    relock_after_bypass: bool = True
    scan_interval: float = DEFAULT_SCAN_INTERVAL
    scan_duration: int = DEFAULT_SCAN_DURATION
    allow_automation_unlock: bool = False  # codeless unlocks that no user asked for

    @classmethod
    def from_subentry(cls, subentry: ConfigSubentry) -> DoorConfig:
        """Read a door subentry."""
        data = subentry.data
        return cls(
            door_id=subentry.subentry_id,
            name=subentry.title,
            target_entity_id=data.get(CONF_TARGET_ENTITY_ID) or None,
            camera_entity_ids=tuple(data.get(CONF_CAMERA_ENTITY_IDS, ())),
            face_trigger_entity_ids=tuple(data.get(CONF_FACE_TRIGGER_IDS, ())),
            reader_device_ids=tuple(data.get(CONF_READER_DEVICE_IDS, ())),
            household_ids=frozenset(data.get(CONF_HOUSEHOLD_IDS, ())),
            relock_delay=int(data.get(CONF_RELOCK_DELAY, DEFAULT_RELOCK_DELAY)),
            allow_voice_unlock=bool(data.get(CONF_ALLOW_VOICE_UNLOCK, False)),
            relock_after_bypass=bool(data.get(CONF_RELOCK_AFTER_BYPASS, True)),
            scan_interval=float(data.get(CONF_SCAN_INTERVAL, DEFAULT_SCAN_INTERVAL)),
            scan_duration=int(data.get(CONF_SCAN_DURATION, DEFAULT_SCAN_DURATION)),
            allow_automation_unlock=bool(data.get(CONF_ALLOW_AUTOMATION_UNLOCK, False)),
        )

    @property
    def rules(self) -> Door:
        """What the access controller needs of this door."""
        return Door(self.door_id, self.household_ids, self.allow_voice_unlock)


@dataclass(slots=True)
class FaceGateRuntime:
    """What a loaded site holds while Home Assistant runs."""

    site_name: str
    store: SiteStore
    card_key: bytes
    faces: FaceService
    directory: Directory = field(default_factory=Directory)
    lockout: Lockout = field(default_factory=Lockout)
    audit: AuditLog = field(default_factory=AuditLog)
    consents: ConsentLog = field(default_factory=ConsentLog)  # shown in the privacy ledger
    doors: dict[str, DoorConfig] = field(default_factory=dict)
    household_names: dict[str, str] = field(default_factory=dict)
    # Per door, what carries out a granted decision (the door's lock entity registers it).
    releases: dict[str, Callable[[Decision], Awaitable[None]]] = field(default_factory=dict)
    lock_entity_ids: dict[str, str] = field(default_factory=dict)  # door id -> its lock
    # PIN changes and visitor codes per non-admin HA user, whatever their outcome: "PIN in
    # use" answers would otherwise reveal PINs (see access/attempts.py).
    pin_probes: AttemptBudget = field(default_factory=AttemptBudget)
    # One PIN change at a time: "in use" is checked, then the hash stored, with awaits between.
    pin_changes: asyncio.Lock = field(default_factory=asyncio.Lock)
    # (door id, camera entity id) -> what that camera sees (see face_watch.py).
    face_watches: dict[tuple[str, str], FaceWatch] = field(default_factory=dict)
    # Reader device id -> (resident id, deadline): the next card tapped there is theirs.
    card_enrolments: dict[str, tuple[str, float]] = field(default_factory=dict)
    controller: AccessController = field(init=False)

    def __post_init__(self) -> None:
        """Wire the controller to the domain objects."""
        self.controller = AccessController(self.directory, self.lockout, self.audit)

    def load(self, data: dict[str, Any], entry: ConfigEntry[Any]) -> None:
        """Restore stored state, then apply the entry's current doors and households."""
        self.directory.load(data)
        self.lockout.load(data.get("lockouts", {}))
        self.audit.load(data.get("audit", []))
        self.consents.load(data.get("consent_history", []))
        self.pin_probes.load(data.get("pin_change_attempts", {}))
        self.doors = {
            sub.subentry_id: DoorConfig.from_subentry(sub)
            for sub in entry.get_subentries_of_type(SUBENTRY_DOOR)
        }
        self.household_names = {}
        for sub in entry.get_subentries_of_type(SUBENTRY_HOUSEHOLD):
            self.add_household(sub)
        for household_id in set(self.directory.households) - set(self.household_names):
            self.directory.remove_household(household_id)  # its subentry was deleted

    def add_household(self, sub: ConfigSubentry) -> None:
        """Apply a household subentry: its name, and its first modes and policy if new."""
        self.household_names[sub.subentry_id] = sub.title
        initial = (Mode(mode) for mode in sub.data.get(CONF_MODES, ()))
        policy = Policy(sub.data.get(CONF_POLICY, POLICY_ANY))
        try:
            self.directory.sync_household(sub.subentry_id, initial, policy)
        except AccessError as err:
            # Hand-edited or outdated data: keep what was stored, fail closed if nothing.
            _LOGGER.warning("Household %s not updated: %s", sub.title, err.reason)

    def as_dict(self) -> dict[str, Any]:
        """Everything to store."""
        return {
            **self.directory.as_dict(),
            "lockouts": self.lockout.as_dict(),
            "audit": self.audit.as_list(),
            "consent_history": self.consents.as_list(set(self.directory.residents)),
            "pin_change_attempts": self.pin_probes.as_dict(time.time()),
        }

    async def async_save(self) -> None:
        """Write now: a lockout or a consent must survive a crash a second later."""
        await self.store.async_save(self.as_dict())


type FaceGateConfigEntry = ConfigEntry[FaceGateRuntime]


def loaded_runtimes(hass: HomeAssistant) -> list[FaceGateRuntime]:
    """The sites that are loaded now (an unloaded or failed one has no runtime)."""
    return [
        entry.runtime_data
        for entry in hass.config_entries.async_entries(DOMAIN)
        if entry.state is ConfigEntryState.LOADED
    ]
