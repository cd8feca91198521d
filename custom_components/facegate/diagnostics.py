"""Diagnostics of a site: its configuration and counts, never a credential or a name.

Residents appear as counts per household; credentials as "has a PIN" and numbers of cards;
faces as counts (no template, no sensor state: it may be a name); the audit as its recent
outcomes and reasons. Hashes, digests, keys and names stay out.
"""

import time
from collections import Counter
from typing import Any

from homeassistant.core import HomeAssistant

from .access.directory import Directory, Household
from .runtime import FaceGateConfigEntry

RECENT_AUDIT = 20


async def async_get_config_entry_diagnostics(
    hass: HomeAssistant, entry: FaceGateConfigEntry
) -> dict[str, Any]:
    """What a support request needs to understand the site's behaviour."""
    runtime = entry.runtime_data
    directory = runtime.directory
    return {
        "site": {"title": entry.title, "options": dict(entry.options)},
        "doors": [
            {
                "door_id": door.door_id,
                "name": door.name,
                "target_entity_id": door.target_entity_id,
                "cameras": len(door.camera_entity_ids),
                "readers": len(door.reader_device_ids),
                "household_ids": sorted(door.household_ids),
                "relock_delay": door.relock_delay,
                "allow_voice_unlock": door.allow_voice_unlock,
                "face_triggers": len(door.face_trigger_entity_ids),
                "scan_interval": door.scan_interval,
                "scan_duration": door.scan_duration,
                "lockout_remaining": runtime.lockout.remaining(door.door_id, time.time()),
            }
            for door in runtime.doors.values()
        ],
        "households": [
            _household(directory, household_id, household)
            for household_id, household in directory.households.items()
        ],
        "visitor_codes": len(directory.visitor_codes),
        "face": {
            "engine_running": runtime.faces.engine_running,
            "enrolled_residents": len(runtime.faces.gallery),
            "cameras": [
                {
                    "door_id": door_id,
                    "faces": watch.faces,
                    "failures_in_a_row": watch.camera_failures,
                }
                for (door_id, _), watch in runtime.face_watches.items()
            ],
        },
        "audit": {
            "records": len(runtime.audit.records),
            "outcomes": dict(Counter(r.outcome.value for r in runtime.audit.records)),
            "recent": [
                {
                    "time": r.time,
                    "door_id": r.door_id,
                    "method": r.method,
                    "outcome": r.outcome.value,
                    "reason": r.reason,
                    "count": r.count,
                }
                for r in runtime.audit.records[-RECENT_AUDIT:]
            ],
        },
    }


def _household(directory: Directory, household_id: str, household: Household) -> dict[str, Any]:
    residents = directory.residents_of([household_id])
    return {
        "household_id": household_id,
        "modes": sorted(household.modes),
        "policy": household.policy.value,
        "residents": len(residents),
        "residents_with_pin": sum(1 for r in residents if r.pin),
        "cards": sum(len(r.cards) for r in residents),
        "face_consents": sum(1 for r in residents if r.face_consent),
    }
