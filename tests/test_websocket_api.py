"""Issue 16: the panel's websocket commands decide exactly like the actions.

Each command is called over a real websocket connection authenticated as a real user: the
admin, Alex (linked to a resident of Flat 1), Casey (Flat 2), a read-only user. Attacks: a user
of another household, a read-only user, a forged resident id; a refused command changes nothing.
"""

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from homeassistant.auth.models import User
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError
from pytest_homeassistant_custom_component.typing import WebSocketGenerator

from custom_components.facegate.const import DOMAIN

from .conftest import site_entry
from .test_actions import EXCEPTIONS, World, build_world

type Ws = Callable[..., Awaitable[dict[str, Any]]]


@pytest.fixture
async def world(hass: HomeAssistant, hass_admin_user: User, hass_read_only_user: User) -> World:
    return await build_world(hass, site_entry(), hass_admin_user, hass_read_only_user)


@pytest.fixture
def ws(hass: HomeAssistant, hass_ws_client: WebSocketGenerator, world: World) -> Ws:
    """Send one facegate/ command as a named user of the world; the raw reply."""
    clients: dict[str, Any] = {}
    counter = [0]

    async def send(who: str, command: str, **data: Any) -> dict[str, Any]:
        if who not in clients:
            user = world.users[who]
            assert user is not None
            refresh = await hass.auth.async_create_refresh_token(user, "https://example.com/")
            clients[who] = await hass_ws_client(hass, hass.auth.async_create_access_token(refresh))
        counter[0] += 1
        await clients[who].send_json({"id": counter[0], "type": f"{DOMAIN}/{command}", **data})
        reply: dict[str, Any] = await clients[who].receive_json()
        await hass.async_block_till_done()
        return reply

    return send


def refused(reply: dict[str, Any], key: str = "not_allowed") -> bool:
    """A refusal carrying the same translated message as the action's."""
    error = reply.get("error", {})
    return (
        not reply["success"]
        and error.get("translation_key") == key
        and error.get("message", "").rstrip(".") == EXCEPTIONS[key]["message"].rstrip(".")
    )


async def test_me_shows_my_resident_and_household_without_secrets(world: World, ws: Ws) -> None:
    await world.admin("set_pin", {"resident_id": world.alex, "pin": "482915"})
    reply = await ws("flat_1", "me")
    assert reply["success"], reply
    (me,) = reply["result"]["residents"]
    assert me["resident_id"] == world.alex
    assert me["has_pin"] is True
    assert me["has_duress_pin"] is False
    assert me["household"]["name"] == "Flat 1"
    assert me["household"]["doors"] == ["Front door"]
    assert sorted(me["household"]["modes"]) == ["card", "pin"]
    assert reply["result"]["admin"] is False
    assert "482915" not in str(reply)
    assert "hash" not in str(reply).lower()


@pytest.mark.parametrize("who", ["read_only", "flat_2"])
async def test_me_shows_nothing_of_another_household(world: World, ws: Ws, who: str) -> None:
    reply = await ws(who, "me")
    assert reply["success"]
    assert world.alex not in str(reply["result"])
    assert "Flat 1" not in str(reply["result"])


# The matrix: every command on Alex (Flat 1) by each caller ------------------------------------

MANAGE = {"admin": True, "flat_1": True, "flat_2": False, "read_only": False}
PERSONAL = MANAGE  # Alex is the flat_1 user: personal commands allow Alex and admins

COMMANDS: list[tuple[str, dict[str, Any]]] = [
    ("set_pin", {"pin": "739184"}),
    ("remove_pin", {}),
    ("create_visitor_code", {"valid_for_minutes": 60, "uses": 1}),
    ("set_consent", {"consent": True}),
    ("set_consent", {"consent": False}),
    ("remove_face", {}),
    ("ledger", {}),
    ("export", {}),
    ("erase_me", {}),
]


@pytest.mark.parametrize(("command", "data"), COMMANDS)
@pytest.mark.parametrize("who", ["admin", "flat_1", "flat_2", "read_only"])
async def test_matrix_each_command_on_alex(
    world: World, ws: Ws, command: str, data: dict[str, Any], who: str
) -> None:
    before = await world.snapshot()
    reply = await ws(who, command, resident_id=world.alex, **data)
    if MANAGE[who]:
        assert reply["success"], reply
    else:
        assert refused(reply), reply
        assert await world.snapshot() == before  # a refusal stores nothing


async def test_household_member_cannot_consent_for_another_but_may_withdraw(
    world: World, ws: Ws, hass_admin_user: User
) -> None:
    """Blake has no user; Alex (same household) manages Blake's PIN but not Blake's consent."""
    assert refused(await ws("flat_1", "set_consent", resident_id=world.blake, consent=True))
    assert refused(await ws("flat_1", "ledger", resident_id=world.blake))
    assert refused(await ws("flat_1", "export", resident_id=world.blake))
    assert refused(await ws("flat_1", "erase_me", resident_id=world.blake))
    assert (await ws("admin", "set_consent", resident_id=world.blake, consent=True))["success"]
    assert world.resident(world.blake).face_consent is not None
    assert (await ws("flat_1", "set_consent", resident_id=world.blake, consent=False))["success"]
    assert world.resident(world.blake).face_consent is None


@pytest.mark.parametrize("who", ["admin", "flat_1", "flat_2", "read_only"])
async def test_forged_resident_id_is_refused(world: World, ws: Ws, who: str) -> None:
    reply = await ws(who, "set_pin", resident_id="forged-" + world.alex, pin="739184")
    assert refused(reply, "unknown_resident")


async def test_consent_is_recorded_with_who_gave_it_and_shown_in_the_ledger(
    world: World, ws: Ws
) -> None:
    assert (await ws("flat_1", "set_consent", resident_id=world.alex, consent=True))["success"]
    ledger = (await ws("flat_1", "ledger", resident_id=world.alex))["result"]
    alex_user = world.users["flat_1"]
    assert alex_user is not None
    assert ledger["consent"]["recorded_by"] == alex_user.id
    assert ledger["retention_days"] > 0


async def test_visitor_code_is_returned_once_and_never_again(world: World, ws: Ws) -> None:
    reply = await ws("flat_1", "create_visitor_code", resident_id=world.alex, uses=2)
    code = reply["result"]["code"]
    assert code.isdigit()
    for command in ("me", "export", "ledger"):
        data = {} if command == "me" else {"resident_id": world.alex}
        assert code not in str(await ws("flat_1", command, **data))
    assert code not in str(await ws("admin", "overview"))


async def test_pin_change_budget_is_shared_with_the_action(world: World, ws: Ws) -> None:
    """The same budget as facegate.set_pin: the panel is no way round it."""
    for i in range(30):
        reply = await ws("flat_1", "set_pin", resident_id=world.alex, pin=f"{739180 + i}")
        if not reply["success"]:
            break
    assert refused(reply, "too_many_pin_changes"), reply
    with pytest.raises(ServiceValidationError) as err:
        await world.call(
            f"{DOMAIN}.set_pin", {"resident_id": world.alex, "pin": "915372"}, world.users["flat_1"]
        )
    assert err.value.translation_key == "too_many_pin_changes"


async def test_resident_cannot_enrol_from_photos_only_admins(world: World, ws: Ws) -> None:
    await ws("flat_1", "set_consent", resident_id=world.alex, consent=True)
    reply = await ws("flat_1", "enrol_face", resident_id=world.alex, photos=["portrait.jpg"])
    assert refused(reply, "enrol_photos_admin_only")
    reply = await ws("flat_2", "enrol_face", resident_id=world.alex, camera="camera.front")
    assert refused(reply)


async def test_erase_me_removes_pins_cards_consent(world: World, ws: Ws) -> None:
    await world.admin("set_pin", {"resident_id": world.alex, "pin": "482915"})
    await ws("flat_1", "set_consent", resident_id=world.alex, consent=True)
    assert (await ws("flat_1", "erase_me", resident_id=world.alex))["success"]
    alex = world.resident(world.alex)
    assert (alex.pin, alex.duress_pin, alex.cards, alex.face_consent) == (None, None, [], None)


async def test_overview_is_for_admins_only_and_holds_no_secret(world: World, ws: Ws) -> None:
    await world.admin("set_pin", {"resident_id": world.blake, "pin": "482915"})
    for who in ("flat_1", "flat_2", "read_only"):
        assert refused(await ws(who, "overview"))
    reply = await ws("admin", "overview")
    names = {h["name"]: [r["name"] for r in h["residents"]] for h in reply["result"]["households"]}
    assert names == {"Flat 1": ["Alex", "Blake"], "Flat 2": ["Casey"]}
    assert "482915" not in str(reply)
    assert "04:A2" not in str(reply)
