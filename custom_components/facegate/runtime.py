"""Runtime state of one FaceGate site (one config entry)."""

from dataclasses import dataclass

from homeassistant.config_entries import ConfigEntry


@dataclass(slots=True)
class FaceGateRuntime:
    """What a loaded site holds while Home Assistant runs.

    Doors, households, the credential store and the face engine join this object as they are
    built (see the README's status section).
    """

    site_name: str


type FaceGateConfigEntry = ConfigEntry[FaceGateRuntime]
