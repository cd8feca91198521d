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
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers.dispatcher import async_dispatcher_connect
from homeassistant.helpers.event import async_call_later

from . import operations as ops
from .access.errors import AccessError
from .const import DOMAIN
from .face_photos import MAX_PHOTOS
from .tags import ENROL_WINDOW, SIGNAL_CARD_ENROLMENT

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


async def _added(resident_id: Awaitable[str]) -> dict[str, str]:
    return {"resident_id": await resident_id}


RESIDENT: dict[Any, Any] = {probatio.Required("resident_id"): str}
COMMANDS: dict[str, tuple[dict[Any, Any], Operation]] = {
    "me": ({}, lambda hass, ctx, msg: ops.async_me(hass, ctx)),
    "overview": ({}, lambda hass, ctx, msg: ops.async_overview(hass, ctx)),
    "users": ({}, lambda hass, ctx, msg: ops.async_users(hass, ctx)),
    "add_resident": (
        {
            probatio.Required("household_id"): str,
            probatio.Required("name"): str,
            probatio.Optional("user_id"): probatio.Any(str, None),
        },
        lambda hass, ctx, msg: _added(
            ops.async_add_resident(hass, ctx, msg["household_id"], msg["name"], msg.get("user_id"))
        ),
    ),
    "link_resident": (
        {**RESIDENT, probatio.Required("user_id"): probatio.Any(str, None)},
        lambda hass, ctx, msg: ops.async_link_resident(
            hass, ctx, msg["resident_id"], msg["user_id"]
        ),
    ),
    "remove_resident": (
        RESIDENT,
        lambda hass, ctx, msg: ops.async_remove_resident(hass, ctx, msg["resident_id"]),
    ),
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
    "revoke_visitor_code": (
        {**RESIDENT, probatio.Required("code_id"): str},
        lambda hass, ctx, msg: ops.async_resident_revoke_visitor_code(
            hass, ctx, msg["resident_id"], msg["code_id"]
        ),
    ),
    "remove_card": (
        {**RESIDENT, probatio.Required("card"): str},
        lambda hass, ctx, msg: ops.async_resident_remove_card(
            hass, ctx, msg["resident_id"], msg["card"]
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
    websocket_api.async_register_command(hass, _enrol_card)
    websocket_api.async_register_command(hass, _enrol_face_live)


def _refusal(err: AccessError | HomeAssistantError) -> dict[str, str]:
    """A refusal as an event: its key and the same translated message as the action's."""
    if isinstance(err, AccessError):
        err = ServiceValidationError(translation_domain=DOMAIN, translation_key=err.reason)
    return {"error": str(err.translation_key), "message": str(err)}


@websocket_command(
    {
        probatio.Required("type"): f"{DOMAIN}/enrol_face_live",
        **RESIDENT,
        probatio.Required("camera"): probatio.All(str, probatio.Match(r"^camera\.")),
        probatio.Optional("samples", default=3): probatio.All(int, probatio.Range(min=1, max=5)),
    }
)
@async_response
async def _enrol_face_live(
    hass: HomeAssistant, connection: ActiveConnection, msg: dict[str, Any]
) -> None:
    """Enrol at a door camera, sending what to do while it runs.

    Events: {"guidance": reason} whenever the advice changes (operations.enrol_guidance),
    then {"samples": n} or {"error": key, "message": text}. The permission is checked
    before the reply, so a refused caller gets an error and no event.
    """
    context, resident_id = connection.context(msg), msg["resident_id"]
    try:
        await ops.async_own_or_admin_resident(hass, context, resident_id)
    except AccessError as err:
        raise ServiceValidationError(
            translation_domain=DOMAIN, translation_key=err.reason
        ) from None
    last = [""]

    @callback
    def guide(reason: str) -> None:
        if reason != last[0]:  # only changes of advice
            last[0] = reason
            connection.send_event(msg["id"], {"guidance": reason})

    async def enrol() -> None:
        try:
            samples = await ops.async_resident_enrol_face(
                hass,
                context,
                resident_id,
                camera=msg["camera"],
                samples=msg["samples"],
                guide=guide,
            )
        except (AccessError, HomeAssistantError) as err:  # a camera or engine fault too
            connection.send_event(msg["id"], _refusal(err))
        else:
            connection.send_event(msg["id"], {"samples": samples})
        connection.subscriptions.pop(msg["id"], None)

    connection.send_result(msg["id"])
    task = hass.async_create_background_task(enrol(), "facegate live enrolment")
    connection.subscriptions[msg["id"]] = task.cancel  # the panel closed: stop at once


@websocket_command(
    {
        probatio.Required("type"): f"{DOMAIN}/enrol_card",
        **RESIDENT,
        probatio.Required("reader"): str,
    }
)
@async_response
async def _enrol_card(
    hass: HomeAssistant, connection: ActiveConnection, msg: dict[str, Any]
) -> None:
    """Open the reader's enrolment window, then send one event: how the tap went, or timeout.

    The result says when the window ends; the event never says which card it was.
    """
    try:
        runtime, resident_id, until = await ops.async_resident_enrol_card(
            hass, connection.context(msg), msg["resident_id"], msg["reader"]
        )
    except AccessError as err:
        raise ServiceValidationError(
            translation_domain=DOMAIN, translation_key=err.reason
        ) from None
    reader, window = msg["reader"], (resident_id, until)

    @callback
    def _finish(result: str) -> None:
        unsubscribe()
        connection.subscriptions.pop(msg["id"], None)
        connection.send_event(msg["id"], {"result": result})

    @callback
    def _on_tap(device_id: str, tapped_for: str, result: str) -> None:
        if (device_id, tapped_for) == (reader, resident_id):
            _finish(result)

    @callback
    def _on_timeout(_now: Any) -> None:
        if runtime.card_enrolments.get(reader) == window:
            del runtime.card_enrolments[reader]  # nobody tapped: the window closes
        _finish("timeout")

    unsubs = [
        async_dispatcher_connect(hass, SIGNAL_CARD_ENROLMENT, _on_tap),
        async_call_later(hass, ENROL_WINDOW, _on_timeout),
    ]

    @callback
    def unsubscribe() -> None:
        while unsubs:
            unsubs.pop()()

    connection.subscriptions[msg["id"]] = unsubscribe
    connection.send_result(msg["id"], {"until": until})


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
