"""FaceGate's intents as tools for LLM-based conversation agents (Assist API).

Registered intents do not become LLM tools by themselves; this platform offers them. Both tools
go through the same rules as spoken requests: names only of residents who allow it, and an
unlock only where the door allows voice, with a PIN or a resident just recognised there.
"""

from homeassistant.components.llm import LLMTools
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.llm import LLM_API_ASSIST, IntentTool, LLMContext, ToolAnnotations

from .const import DOMAIN
from .intent import UnlockDoorHandler, WhoIsAtDoorHandler


@callback
def async_get_tools(hass: HomeAssistant, llm_context: LLMContext, api_id: str) -> LLMTools | None:
    """The tools for Home Assistant's Assist API; nothing for other APIs."""
    if api_id != LLM_API_ASSIST:
        return None
    return LLMTools(
        tools=[
            IntentTool(
                f"{DOMAIN}__who_is_at_door",
                WhoIsAtDoorHandler(),
                title="Who is at the door",
                integration=DOMAIN,
                annotations=ToolAnnotations(
                    read_only=True, destructive=False, idempotent=True, open_world=False
                ),
            ),
            IntentTool(
                f"{DOMAIN}__unlock_door_with_code",
                UnlockDoorHandler(),
                title="Unlock a door with a PIN",
                integration=DOMAIN,
                annotations=ToolAnnotations(
                    read_only=False, destructive=True, idempotent=False, open_world=False
                ),
            ),
        ]
    )
