"""The FaceGate sidebar panel: its JavaScript is served from this package (no CDN, no build).

Shown to every user: a resident manages themselves, an admin sees everyone, and anyone else
reads "you are not linked to a resident". What a user may do is decided by the websocket
commands (websocket_api.py), never by the panel.
"""

from pathlib import Path

from homeassistant.components import panel_custom
from homeassistant.components.http.server import StaticPathConfig
from homeassistant.core import HomeAssistant

from .const import DOMAIN

URL = f"/{DOMAIN}_panel"
FILES = Path(__file__).parent / "frontend"


async def async_setup_panel(hass: HomeAssistant) -> None:
    """Register the panel where Home Assistant's frontend runs (not in most tests)."""
    if "frontend" not in hass.config.components or DOMAIN in hass.data.get("frontend_panels", {}):
        return
    await hass.http.async_register_static_paths(
        [StaticPathConfig(URL, str(FILES), cache_headers=False)]
    )
    await panel_custom.async_register_panel(
        hass,
        frontend_url_path=DOMAIN,
        webcomponent_name="facegate-panel",
        sidebar_title="FaceGate",
        sidebar_icon="mdi:shield-account",
        module_url=f"{URL}/facegate-panel.js",
        require_admin=False,
    )
