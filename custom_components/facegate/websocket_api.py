"""The websocket commands behind the FaceGate panel.

Each command runs the same function as the matching action (operations.py), with the calling
user's context, so the panel can do nothing the actions would refuse. A refusal is the same
translated error.
"""

from collections.abc import Awaitable, Callable
from functools import wraps
from typing import Any

import probatio
from homeassistant.components import websocket_api
from homeassistant.components.websocket_api.connection import ActiveConnection
from homeassistant.components.websocket_api.const import WebSocketCommandHandler
from homeassistant.components.websocket_api.decorators import async_response, websocket_command
from homeassistant.core import Context, HomeAssistant, callback
from homeassistant.exceptions import ServiceValidationError

from . import operations as ops
from .access.errors import AccessError
from .const import DOMAIN
from .face_photos import MAX_PHOTOS

type Operation = Callable[[HomeAssistant, Context, dict[str, Any]], Awaitable[Any]]


async def _enrol_face(hass: HomeAssistant, ctx: Context, msg: dict[str, Any]) -> dict[str, Any]:
    camera = msg.get("camera")
    if camera is not None and not camera.startswith("camera."):
        raise AccessError("photo_source_missing")
    samples = await ops.async_resident_enrol_face(
        hass,
        ctx,
        msg["resident_id"],
        camera=camera,
        photos=msg.get("photos"),
        samples=msg["samples"],
    )
    return {"samples": samples}


RESIDENT = {probatio.Required("resident_id"): str}
COMMANDS: dict[str, tuple[dict[Any, Any], Operation]] = {
    "me": ({}, lambda hass, ctx, msg: ops.async_me(hass, ctx)),
    "overview": ({}, lambda hass, ctx, msg: ops.async_overview(hass, ctx)),
    "set_consent": (
        {**RESIDENT, probatio.Required("consent"): bool},
        lambda hass, ctx, msg: ops.async_resident_set_consent(
            hass, ctx, msg["resident_id"], msg["consent"]
        ),
    ),
    "set_pin": (
        {
            **RESIDENT,
            probatio.Required("pin"): str,
            probatio.Optional("duress", default=False): bool,
        },
        lambda hass, ctx, msg: ops.async_resident_set_pin(
            hass, ctx, msg["resident_id"], msg["pin"], duress=msg["duress"]
        ),
    ),
    "remove_pin": (
        {**RESIDENT, probatio.Optional("duress", default=False): bool},
        lambda hass, ctx, msg: ops.async_resident_remove_pin(
            hass, ctx, msg["resident_id"], duress=msg["duress"]
        ),
    ),
    "create_visitor_code": (
        {
            **RESIDENT,
            probatio.Optional("valid_for_minutes", default=240): probatio.All(
                int, probatio.Range(min=5, max=7 * 24 * 60)
            ),
            probatio.Optional("uses", default=1): probatio.All(int, probatio.Range(min=1, max=20)),
        },
        lambda hass, ctx, msg: ops.async_resident_visitor_code(
            hass, ctx, msg["resident_id"], msg["valid_for_minutes"], msg["uses"]
        ),
    ),
    "enrol_face": (
        {
            **RESIDENT,
            probatio.Exclusive("camera", "source"): str,
            probatio.Exclusive("photos", "source"): probatio.All(
                [str], probatio.Length(min=1, max=MAX_PHOTOS)
            ),
            probatio.Optional("samples", default=3): probatio.All(
                int, probatio.Range(min=1, max=5)
            ),
        },
        _enrol_face,
    ),
    "remove_face": (
        RESIDENT,
        lambda hass, ctx, msg: ops.async_resident_remove_face(hass, ctx, msg["resident_id"]),
    ),
    "ledger": (
        RESIDENT,
        lambda hass, ctx, msg: ops.async_resident_ledger(hass, ctx, msg["resident_id"]),
    ),
    "export": (
        RESIDENT,
        lambda hass, ctx, msg: ops.async_resident_export(hass, ctx, msg["resident_id"]),
    ),
    "erase_me": (
        RESIDENT,
        lambda hass, ctx, msg: ops.async_resident_erase(hass, ctx, msg["resident_id"]),
    ),
}


@callback
def async_setup_websocket(hass: HomeAssistant) -> None:
    """Register every FaceGate websocket command."""
    for name, (schema, operation) in COMMANDS.items():
        websocket_api.async_register_command(hass, _command(name, schema, operation))


def _command(name: str, schema: dict[Any, Any], operation: Operation) -> WebSocketCommandHandler:
    @websocket_command({probatio.Required("type"): f"{DOMAIN}/{name}", **schema})
    @async_response
    @wraps(operation)
    async def _handle(
        hass: HomeAssistant, connection: ActiveConnection, msg: dict[str, Any]
    ) -> None:
        try:
            result = await operation(hass, connection.context(msg), msg)
        except AccessError as err:  # the same translated refusal as the action's
            raise ServiceValidationError(
                translation_domain=DOMAIN, translation_key=err.reason
            ) from None
        connection.send_result(msg["id"], result)

    return _handle
