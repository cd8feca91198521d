"""FaceGate: local, privacy-first door access by card, PIN and face.

Home Assistant's entry points are defined here and run integration.py, imported on first use:
importing the package itself loads nothing of Home Assistant, so the face engine's worker
process, which imports face/worker.py from this package, stays small (measured: 0.8 s and
1400 modules less at each engine start).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import probatio

from .const import DOMAIN

if TYPE_CHECKING:
    from homeassistant.core import HomeAssistant
    from homeassistant.helpers.typing import ConfigType

    from .runtime import FaceGateConfigEntry

# Sites are set up from the UI only; a `facegate:` key in YAML is accepted and ignored.
CONFIG_SCHEMA = probatio.Schema({probatio.Optional(DOMAIN): object}, extra=probatio.ALLOW_EXTRA)


async def async_setup(hass: HomeAssistant, config: ConfigType) -> bool:
    """Register FaceGate's actions once, for every site."""
    from . import integration  # noqa: PLC0415 - on first use, see the docstring

    return await integration.async_setup(hass, config)


async def async_setup_entry(hass: HomeAssistant, entry: FaceGateConfigEntry) -> bool:
    """Set up one FaceGate site."""
    from . import integration  # noqa: PLC0415

    return await integration.async_setup_entry(hass, entry)


async def async_unload_entry(hass: HomeAssistant, entry: FaceGateConfigEntry) -> bool:
    """Unload a site and everything it started."""
    from . import integration  # noqa: PLC0415

    return await integration.async_unload_entry(hass, entry)


async def async_remove_entry(hass: HomeAssistant, entry: FaceGateConfigEntry) -> None:
    """Delete the site's stored data and keys with the site."""
    from . import integration  # noqa: PLC0415

    await integration.async_remove_entry(hass, entry)
