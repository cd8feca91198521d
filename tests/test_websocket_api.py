"""Issue 16: the panel's websocket commands decide exactly like the actions.

Each command is called over a real websocket connection authenticated as a real user: the
admin, Alex (linked to a resident of Flat 1), Casey (Flat 2), a read-only user. Attacks: a user
of another household, a read-only user, a forged resident id; a refused command changes nothing.
"""

import itertools
import json
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from homeassistant.auth.models import User
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import async_fire_time_changed
from pytest_homeassistant_custom_component.typing import WebSocketGenerator

from custom_components.facegate.const import DOMAIN
from custom_components.facegate.operations import card_ref
from custom_components.facegate.tags import ENROL_WINDOW

from .conftest import READER, site_entry
from .test_actions import CARD, EXCEPTIONS, World, build_world

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
            clients[who] = await _client(hass, hass_ws_client, world, who)
        counter[0] += 1
        await clients[who].send_json({"id": counter[0], "type": f"{DOMAIN}/{command}", **data})
        reply: dict[str, Any] = await clients[who].receive_json()
        await hass.async_block_till_done()
        return reply

    return send


async def _client(
    hass: HomeAssistant, hass_ws_client: WebSocketGenerator, world: World, who: str
) -> Any:
    user = world.users[who]
    assert user is not None
    refresh = await hass.auth.async_create_refresh_token(user, "https://example.com/")
    return await hass_ws_client(hass, hass.auth.async_create_access_token(refresh))


@pytest.fixture
def client(
    hass: HomeAssistant, hass_ws_client: WebSocketGenerator, world: World
) -> Callable[[str], Awaitable[Any]]:
    """A websocket client of its own for a named user, for subscriptions."""
    return lambda who: _client(hass, hass_ws_client, world, who)


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


# Cards: enrol by tapping at a chosen reader, remove -----------------------------------------


_IDS = itertools.count(1)  # message ids only grow on a connection


async def _start_enrolment(c: Any, resident_id: str, reader: str = READER) -> dict[str, Any]:
    await c.send_json(
        {
            "id": next(_IDS),
            "type": f"{DOMAIN}/enrol_card",
            "resident_id": resident_id,
            "reader": reader,
        }
    )
    reply: dict[str, Any] = await c.receive_json()
    return reply


async def test_card_enrolled_by_tapping_at_the_chosen_reader(
    hass: HomeAssistant, world: World, ws: Ws, client: Callable[[str], Awaitable[Any]]
) -> None:
    new_card = "04:77:10:AB:CD:EF"
    alex = await client("flat_1")
    reply = await _start_enrolment(alex, world.alex)
    assert reply["success"], reply
    hass.bus.async_fire("tag_scanned", {"tag_id": new_card, "device_id": READER})
    event = await alex.receive_json()
    assert event["event"] == {"result": "enrolled"}
    assert len(world.resident(world.alex).cards) == 1
    me = (await ws("flat_1", "me"))["result"]["residents"][0]
    assert me["cards"] == 1
    assert me["card_refs"] == [card_ref(world.resident(world.alex).cards[0])]
    assert me["household"]["readers"] == [{"reader": READER, "name": "Front door"}]
    for secret in (new_card, new_card.replace(":", ""), world.resident(world.alex).cards[0]):
        assert secret.lower() not in (str(event) + str(me)).lower()


async def test_card_enrolment_times_out_and_the_next_tap_is_no_enrolment(
    hass: HomeAssistant, world: World, client: Callable[[str], Awaitable[Any]]
) -> None:
    alex = await client("flat_1")
    assert (await _start_enrolment(alex, world.alex))["success"]
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=ENROL_WINDOW + 1))
    assert (await alex.receive_json())["event"] == {"result": "timeout"}
    assert READER not in world.entry.runtime_data.card_enrolments
    hass.bus.async_fire("tag_scanned", {"tag_id": "04:77:10:AB:CD:EF", "device_id": READER})
    await hass.async_block_till_done()
    assert world.resident(world.alex).cards == []


@pytest.mark.parametrize("who", ["admin", "flat_1", "flat_2", "read_only"])
async def test_card_enrolment_window_by_each_caller(
    world: World, who: str, client: Callable[[str], Awaitable[Any]]
) -> None:
    before = await world.snapshot()
    reply = await _start_enrolment(await client(who), world.alex)
    if MANAGE[who]:
        assert reply["success"], reply
        assert world.entry.runtime_data.card_enrolments[READER][0] == world.alex
    else:
        assert refused(reply), reply
        assert await world.snapshot() == before  # no window opened


async def test_card_enrolment_refused_at_another_households_reader_and_for_forged_ids(
    world: World, client: Callable[[str], Awaitable[Any]]
) -> None:
    casey = await client("flat_2")
    assert refused(await _start_enrolment(casey, world.casey), "unknown_reader")
    assert refused(await _start_enrolment(casey, "forged-" + world.alex), "unknown_resident")
    assert world.entry.runtime_data.card_enrolments == {}


async def test_card_enrolment_cannot_take_over_another_residents_window(
    world: World, client: Callable[[str], Awaitable[Any]]
) -> None:
    assert (await _start_enrolment(await client("admin"), world.blake))["success"]
    assert refused(await _start_enrolment(await client("flat_1"), world.alex), "enrol_reader_busy")


@pytest.mark.parametrize("who", ["admin", "flat_1", "flat_2", "read_only"])
async def test_remove_card_by_each_caller(world: World, ws: Ws, who: str) -> None:
    ref = card_ref(world.resident(world.blake).cards[0])
    before = await world.snapshot()
    reply = await ws(who, "remove_card", resident_id=world.blake, card=ref)
    if MANAGE[who]:
        assert reply["success"], reply
        assert world.resident(world.blake).cards == []
    else:
        assert refused(reply), reply
        assert await world.snapshot() == before


async def test_remove_card_with_another_residents_card_or_a_forged_id(world: World, ws: Ws) -> None:
    """Blake's card named on Casey's (or Alex's) resident, or on a forged resident id."""
    ref = card_ref(world.resident(world.blake).cards[0])
    before = await world.snapshot()
    assert refused(
        await ws("flat_2", "remove_card", resident_id=world.casey, card=ref), "unknown_card"
    )
    assert refused(
        await ws("flat_1", "remove_card", resident_id=world.alex, card=ref), "unknown_card"
    )
    assert refused(
        await ws("flat_1", "remove_card", resident_id="forged", card=ref), "unknown_resident"
    )
    assert refused(
        await ws("flat_1", "remove_card", resident_id=world.blake, card=CARD), "unknown_card"
    )  # the UID itself is no handle
    assert await world.snapshot() == before


# Visitor codes: listed (never the code) and revoked -----------------------------------------


async def test_visitor_codes_listed_without_the_code_and_revoked(world: World, ws: Ws) -> None:
    code = (await ws("flat_1", "create_visitor_code", resident_id=world.alex, uses=3))["result"]
    me = (await ws("flat_1", "me"))["result"]["residents"][0]
    (listed,) = me["visitor_codes"]
    assert listed["uses_left"] == 3
    assert code["code"] not in str(me)
    assert (
        await ws("flat_1", "revoke_visitor_code", resident_id=world.alex, code_id=listed["code_id"])
    )["success"]
    assert (await ws("flat_1", "me"))["result"]["residents"][0]["visitor_codes"] == []
    assert (await world.present(pin=code["code"]))["granted"] is False


@pytest.mark.parametrize("who", ["flat_2", "read_only"])
async def test_visitor_code_not_revoked_by_another_household_or_read_only(
    world: World, ws: Ws, who: str
) -> None:
    code = (await ws("flat_1", "create_visitor_code", resident_id=world.alex))["result"]
    code_id = next(iter(world.directory.visitor_codes))
    before = await world.snapshot()
    assert refused(await ws(who, "revoke_visitor_code", resident_id=world.alex, code_id=code_id))
    if who == "flat_2":  # Alex's code named on Casey, whom flat_2 may manage
        reply = await ws(who, "revoke_visitor_code", resident_id=world.casey, code_id=code_id)
        assert refused(reply, "unknown_visitor_code")
    assert refused(
        await ws(who, "revoke_visitor_code", resident_id="forged", code_id=code_id),
        "unknown_resident",
    )
    assert await world.snapshot() == before
    assert (await world.present(pin=code["code"]))["granted"] is True


# Consent history ----------------------------------------------------------------------------


async def test_consent_history_names_who_changed_it_and_survives_a_restart(
    hass: HomeAssistant, world: World, ws: Ws
) -> None:
    """Alex gives, an admin withdraws, Alex gives again, Alex erases everything."""
    assert (await ws("flat_1", "set_consent", resident_id=world.alex, consent=True))["success"]
    assert (await ws("admin", "set_consent", resident_id=world.alex, consent=False))["success"]
    assert (await ws("flat_1", "set_consent", resident_id=world.alex, consent=True))["success"]
    assert (await ws("flat_1", "erase_me", resident_id=world.alex))["success"]
    expected = [(True, "Alex"), (False, None), (True, "Alex"), (False, "Alex")]

    def changes(history: list[dict[str, Any]]) -> list[tuple[bool, str | None]]:
        return [(c["given"], c["by"]) for c in history]

    ledger = (await ws("flat_1", "ledger", resident_id=world.alex))["result"]
    assert changes(ledger["consent_history"]) == expected[::-1]  # newest first
    export = (await ws("flat_1", "export", resident_id=world.alex))["result"]
    assert changes(export["consent_history"]) == expected

    path = Path(hass.config.path(".storage", f"{DOMAIN}.{world.entry.entry_id}"))
    stored = json.loads(await hass.async_add_executor_job(path.read_text))["data"]
    assert [(c["given"], c["by"]) for c in stored["consent_history"]] == expected
    assert await hass.config_entries.async_reload(world.entry.entry_id)
    await hass.async_block_till_done()
    ledger = (await ws("flat_1", "ledger", resident_id=world.alex))["result"]
    assert changes(ledger["consent_history"]) == expected[::-1]


async def test_consent_history_of_another_resident_is_not_shown(world: World, ws: Ws) -> None:
    await ws("admin", "set_consent", resident_id=world.blake, consent=True)
    await ws("flat_2", "set_consent", resident_id=world.casey, consent=True)
    assert refused(await ws("flat_2", "ledger", resident_id=world.blake))
    assert refused(await ws("flat_1", "ledger", resident_id=world.blake))
    ledger = (await ws("flat_1", "ledger", resident_id=world.alex))["result"]
    assert ledger["consent_history"] == []
    casey = (await ws("flat_2", "ledger", resident_id=world.casey))["result"]
    assert [(c["given"], c["by"]) for c in casey["consent_history"]] == [(True, "Casey")]


async def test_consent_history_forgotten_with_the_resident(
    hass: HomeAssistant, world: World, ws: Ws
) -> None:
    await ws("flat_2", "set_consent", resident_id=world.casey, consent=True)
    await world.admin("remove_resident", {"resident_id": world.casey})
    path = Path(hass.config.path(".storage", f"{DOMAIN}.{world.entry.entry_id}"))
    stored = json.loads(await hass.async_add_executor_job(path.read_text))["data"]
    assert stored["consent_history"] == []


# Administrators: add, link/unlink and remove residents ----------------------------------------


def _household_id(world: World, name: str) -> str:
    runtime = world.entry.runtime_data
    return next(hid for hid, n in runtime.household_names.items() if n == name)


@pytest.mark.parametrize("who", ["admin", "flat_1", "flat_2", "read_only"])
async def test_add_resident_to_flat_1_by_each_caller(world: World, ws: Ws, who: str) -> None:
    """As the action: an admin or a member of the household adds; nobody else."""
    before = await world.snapshot()
    reply = await ws(who, "add_resident", household_id=_household_id(world, "Flat 1"), name="Dana")
    if MANAGE[who]:
        assert reply["success"], reply
        assert world.resident(reply["result"]["resident_id"]).name == "Dana"
    else:
        assert refused(reply), reply
        assert await world.snapshot() == before


@pytest.mark.parametrize("who", ["flat_1", "flat_2", "read_only"])
async def test_only_an_admin_links_a_user(world: World, ws: Ws, who: str) -> None:
    """A member who may add residents still may not link a user (a link gives unlock rights)."""
    before = await world.snapshot()
    intruder = world.users[who]
    assert intruder is not None
    flat_1 = _household_id(world, "Flat 1")
    reply = await ws(who, "add_resident", household_id=flat_1, name="Dana", user_id=intruder.id)
    assert refused(reply, "link_admin_only" if who == "flat_1" else "not_allowed"), reply
    reply = await ws(who, "link_resident", resident_id=world.blake, user_id=intruder.id)
    assert refused(reply, "link_admin_only" if who == "flat_1" else "not_allowed"), reply
    reply = await ws(who, "link_resident", resident_id=world.alex, user_id=None)  # unlink
    assert refused(reply, "link_admin_only" if who == "flat_1" else "not_allowed"), reply
    assert await world.snapshot() == before


async def test_admin_links_unlinks_and_the_user_gains_and_loses_the_resident(
    world: World, ws: Ws
) -> None:
    casey_user = world.users["flat_2"]
    assert casey_user is not None
    assert (await ws("admin", "link_resident", resident_id=world.blake, user_id=casey_user.id))[
        "success"
    ]
    mine = {r["name"] for r in (await ws("flat_2", "me"))["result"]["residents"]}
    assert mine == {"Blake", "Casey"}
    assert (await ws("admin", "link_resident", resident_id=world.blake, user_id=None))["success"]
    mine = {r["name"] for r in (await ws("flat_2", "me"))["result"]["residents"]}
    assert mine == {"Casey"}
    reply = await ws("admin", "link_resident", resident_id=world.blake, user_id="no-such-user")
    assert refused(reply, "unknown_user")
    reply = await ws("admin", "link_resident", resident_id="forged", user_id=casey_user.id)
    assert refused(reply, "unknown_resident")


@pytest.mark.parametrize("who", ["admin", "flat_1", "flat_2", "read_only"])
async def test_remove_resident_by_each_caller(world: World, ws: Ws, who: str) -> None:
    before = await world.snapshot()
    reply = await ws(who, "remove_resident", resident_id=world.blake)
    if MANAGE[who]:
        assert reply["success"], reply
        assert world.blake not in world.directory.residents
        assert (await world.present(card_uid=CARD))["granted"] is False
    else:
        assert refused(reply), reply
        assert await world.snapshot() == before


async def test_users_list_is_for_admins_and_lists_no_system_user(world: World, ws: Ws) -> None:
    for who in ("flat_1", "flat_2", "read_only"):
        assert refused(await ws(who, "users"))
    users = (await ws("admin", "users"))["result"]
    assert {"Alex", "Casey"} <= {u["name"] for u in users}
    assert all(set(u) == {"user_id", "name"} for u in users)


async def test_add_resident_to_a_forged_household(world: World, ws: Ws) -> None:
    before = await world.snapshot()
    assert refused(
        await ws("admin", "add_resident", household_id="forged", name="X"), "unknown_household"
    )
    assert await world.snapshot() == before
