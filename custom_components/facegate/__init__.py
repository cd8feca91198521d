"""FaceGate: local, privacy-first door access by card, PIN and face."""

from homeassistant.const import Platform
from homeassistant.core import HomeAssistant

from .runtime import FaceGateConfigEntry, FaceGateRuntime

# Entity platforms join this list as doors, face sensors and events are built.
PLATFORMS: list[Platform] = []


async def async_setup_entry(hass: HomeAssistant, entry: FaceGateConfigEntry) -> bool:
    """Set up one FaceGate site."""
    entry.runtime_data = FaceGateRuntime(site_name=entry.title)
    await hass.config_entries.async_forward_entry_setups(entry, PLATFORMS)
    # A bool, not None: Home Assistant 2026.10 treats None as a failed setup.
    return True


async def async_unload_entry(hass: HomeAssistant, entry: FaceGateConfigEntry) -> bool:
    """Unload a site and everything it started."""
    return await hass.config_entries.async_unload_platforms(entry, PLATFORMS)
