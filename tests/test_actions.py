"""FaceGate's actions with a real hass: who may call them, bad input, and the access paths.

The permission matrix below is the table of permissions.py written out for every action and
every household mode switch: a refused call must say "not_allowed" (Home Assistant itself
answers Unauthorized to read-only users on entity actions) and must change nothing.
"""

import copy
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import probatio
import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.auth.models import User
from homeassistant.components.lock.const import LockState
from homeassistant.const import ATTR_ENTITY_ID, STATE_OFF, STATE_ON
from homeassistant.core import Context, HomeAssistant
from homeassistant.exceptions import ServiceValidationError, Unauthorized
from homeassistant.helpers import device_registry as dr
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_capture_events

from custom_components.facegate.access.directory import Directory, Resident
from custom_components.facegate.const import CONF_HOUSEHOLD_IDS, DOMAIN
from custom_components.facegate.gate import EVENT_ACCESS

from .conftest import FLAT_1, FLAT_2, FRONT_DOOR, READER, setup_site, site_entry

LOCK = "lock.front_door"
EVENT_ENTITY = "event.front_door_access"
CARD = "04:A2:3B:1C:99:80"
PIN = "480315"
OTHER_PIN = "739164"
DURESS_PIN = "582046"
RESPONDING = {
    "add_resident",
    "list_residents",
    "create_visitor_code",
    "present_credential",
    "enrol_face",
    "export_resident_data",
}
EXCEPTIONS: dict[str, Any] = json.loads(
    (Path(__file__).parents[1] / "custom_components" / DOMAIN / "strings.json").read_text("utf-8")
)["exceptions"]


# A site with its callers -----------------------------------------------------------------------


@dataclass
class World:
    """A loaded site: Flat 1 with Alex (linked to a user) and Blake (with a card), Flat 2 with
    Casey (linked to another user), and the five callers of the permission matrix.
    """

    hass: HomeAssistant
    entry: MockConfigEntry
    users: dict[str, User | None]
    flat_1: str  # household device ids
    flat_2: str
    door_device: str
    alex: str  # resident ids
    blake: str
    casey: str

    @property
    def directory(self) -> Directory:
        return self.entry.runtime_data.directory

    def resident(self, resident_id: str) -> Resident:
        return self.directory.residents[resident_id]

    def fill(self, data: dict[str, Any]) -> dict[str, Any]:
        """Replace "{blake}", "{flat_1}", ... in the values of an action's data."""
        ids = {
            "flat_1": self.flat_1,
            "flat_2": self.flat_2,
            "door_device": self.door_device,
            "alex": self.alex,
            "blake": self.blake,
            "casey": self.casey,
        }
        return {k: v.format_map(ids) if isinstance(v, str) else v for k, v in data.items()}

    async def call(self, action: str, data: dict[str, Any], user: User | None) -> Any:
        """Call "facegate.x" or "switch.x" as a user (None: an automation)."""
        domain, service = action.split(".")
        return await self.hass.services.async_call(
            domain,
            service,
            data,
            blocking=True,
            context=Context(user_id=user.id if user else None),
            return_response=domain == DOMAIN and service in RESPONDING,
        )

    async def admin(self, service: str, data: dict[str, Any]) -> Any:
        return await self.call(f"{DOMAIN}.{service}", data, self.users["admin"])

    async def switch(self, service: str, mode: str, user: User | None = None) -> None:
        """Turn a Flat 1 mode switch on or off (as admin unless told)."""
        user = user or self.users["admin"]
        await self.call(f"switch.{service}", {ATTR_ENTITY_ID: f"switch.flat_1_{mode}"}, user)

    def modes(self) -> dict[str, str]:
        return {
            m: self.hass.states.get(f"switch.flat_1_{m}").state for m in ("card", "pin", "face")
        }

    async def snapshot(self) -> tuple[bytes, dict[str, Any], dict[str, Any], dict[str, str]]:
        """Everything a refused call must leave as it was: the store file on disk, the runtime
        state, pending card enrolments and the mode switches.
        """
        path = Path(self.hass.config.path(".storage", f"{DOMAIN}.{self.entry.entry_id}"))
        raw = await self.hass.async_add_executor_job(path.read_bytes)
        runtime = self.entry.runtime_data
        return raw, copy.deepcopy(runtime.as_dict()), dict(runtime.card_enrolments), self.modes()

    async def present(self, **credential: str) -> dict[str, Any]:
        """present_credential at the front door, as an automation."""
        return await self.call(  # type: ignore[no-any-return]
            f"{DOMAIN}.present_credential", {ATTR_ENTITY_ID: LOCK, **credential}, None
        )


def device_id(hass: HomeAssistant, entry: MockConfigEntry, identifier: str) -> str:
    device = dr.async_get(hass).async_get_device_by_identifier((DOMAIN, identifier), entry.entry_id)
    assert device
    return device.id


async def build_world(
    hass: HomeAssistant, entry: MockConfigEntry, admin: User, read_only: User
) -> World:
    await setup_site(hass, entry)
    flat_1_user = await hass.auth.async_create_user("Alex", group_ids=["system-users"])
    flat_2_user = await hass.auth.async_create_user("Casey", group_ids=["system-users"])
    world = World(
        hass,
        entry,
        {
            "admin": admin,
            "flat_1": flat_1_user,
            "flat_2": flat_2_user,
            "read_only": read_only,
            "automation": None,
        },
        flat_1=device_id(hass, entry, FLAT_1),
        flat_2=device_id(hass, entry, FLAT_2),
        door_device=device_id(hass, entry, FRONT_DOOR),
        alex="",
        blake="",
        casey="",
    )

    async def add(household: str, name: str, user: User | None = None) -> str:
        extra = {"user_id": user.id} if user else {}
        response = await world.admin(
            "add_resident", {"household": household, "name": name, **extra}
        )
        return str(response["resident_id"])

    world.alex = await add(world.flat_1, "Alex", flat_1_user)
    world.blake = await add(world.flat_1, "Blake")
    world.casey = await add(world.flat_2, "Casey", flat_2_user)
    await world.admin("enrol_card", {"resident_id": world.blake, "reader": READER})
    hass.bus.async_fire("tag_scanned", {"tag_id": CARD, "device_id": READER})
    await hass.async_block_till_done()
    assert len(world.resident(world.blake).cards) == 1
    return world


@pytest.fixture
async def world(hass: HomeAssistant, hass_admin_user: User, hass_read_only_user: User) -> World:
    return await build_world(hass, site_entry(), hass_admin_user, hass_read_only_user)


def assert_translated(err: BaseException, key: str) -> None:
    """A ServiceValidationError with this FaceGate translation, whose message is the text."""
    assert isinstance(err, ServiceValidationError), repr(err)
    assert (err.translation_domain, err.translation_key) == (DOMAIN, key)
    assert key in EXCEPTIONS
    assert str(err).rstrip(".") == EXCEPTIONS[key]["message"].rstrip(".")  # HA drops the "."


# 1. The permission matrix ----------------------------------------------------------------------

OK = "ok"
NO = "not_allowed"  # FaceGate's translated refusal
HA_NO = "unauthorized"  # Home Assistant's own refusal (read-only users, entity actions)
NO_CAM = "camera_unavailable"  # allowed, then refused for the missing camera (no engine needed)
NO_UNLOCK = "denied_not_allowed"  # a refused unlock: audited, like one from the lock
NO_AUTO = "denied_automation_not_allowed"  # no user, at a door that keeps automations out
NO_CARD = "card_needs_reader"  # a card number from a user proves nothing (tag ids are public)
NO_LINK = "link_admin_only"  # only admins link residents to users
CALLERS = ("admin", "flat_1", "flat_2", "read_only", "automation")

# Every action targets Flat 1 (its device, or its resident Blake). "flat_1" is a user linked to
# Alex of Flat 1, "flat_2" a user linked to Casey of Flat 2.
EXPECTED: dict[str, tuple[str, str, str, str, str]] = {
    #                             admin  flat_1  flat_2  read_only  automation
    "add_resident":              (OK,    OK,     NO,     NO,        NO),
    "update_resident":           (OK,    OK,     NO,     NO,        NO),
    "update_resident link":      (OK,    NO_LINK, NO,    NO,        NO),
    "remove_resident":           (OK,    OK,     NO,     NO,        NO),
    "list_residents":            (OK,    OK,     NO,     NO,        NO),
    "set_pin":                   (OK,    OK,     NO,     NO,        NO),
    "remove_pin":                (OK,    OK,     NO,     NO,        NO),
    "enrol_card":                (OK,    OK,     NO,     NO,        NO),
    "remove_card":               (OK,    OK,     NO,     NO,        NO),
    "set_face_consent":          (OK,    NO,     NO,     NO,        NO),  # personal: Blake's
    "set_face_consent own":      (OK,    OK,     NO,     NO,        NO),  # Alex's, by Alex
    "withdraw_face_consent":     (OK,    OK,     NO,     NO,        NO),
    "enrol_face":                (NO_CAM, NO,    NO,     NO,        NO),
    "export_resident_data":      (OK,    NO,     NO,     NO,        NO),  # Blake's: personal
    "create_visitor_code":       (OK,    OK,     NO,     NO,        NO),
    "present_credential":        (OK,    NO_CARD, NO_CARD, NO_CARD, OK),
    "remove_face":               (OK,    OK,     NO,     NO,        NO),
    "unlock":                    (OK,    OK,     NO_UNLOCK, NO_UNLOCK, NO_AUTO),
    "switch.turn_on card":       (OK,    OK,     NO,     HA_NO,     NO),
    "switch.turn_off card":      (OK,    OK,     NO,     HA_NO,     NO),
    "switch.turn_on pin":        (OK,    OK,     NO,     HA_NO,     NO),
    "switch.turn_off pin":       (OK,    OK,     NO,     HA_NO,     NO),
    "switch.turn_on face":       (OK,    OK,     NO,     HA_NO,     NO),
    "switch.turn_off face":      (OK,    OK,     NO,     HA_NO,     NO),
}  # fmt: skip


@dataclass(frozen=True)
class Operation:
    """One row of the matrix: the call, and how to see that an allowed call took effect."""

    action: str
    data: Callable[[World], dict[str, Any]]
    took_effect: Callable[[World, Any, User | None], bool]  # (world, response, caller)
    prepare: Callable[[World], Awaitable[Any]] | None = None  # run by an admin first
    audited: bool = False  # a refusal is recorded in the audit (the store changes)


def _switch(
    service: str, mode: str, prepare: Callable[[World], Awaitable[Any]] | None
) -> Operation:
    state = STATE_ON if service == "turn_on" else STATE_OFF
    return Operation(
        f"switch.{service}",
        lambda w: {ATTR_ENTITY_ID: f"switch.flat_1_{mode}"},
        lambda w, _, __: w.modes()[mode] == state,
        prepare,
    )


OPERATIONS: dict[str, Operation] = {
    "add_resident": Operation(
        "facegate.add_resident",
        lambda w: {"household": w.flat_1, "name": "Sam"},
        lambda w, r, _: w.resident(r["resident_id"]).household_id == FLAT_1,
    ),
    "update_resident": Operation(
        "facegate.update_resident",
        lambda w: {"resident_id": w.blake, "name": "Robin"},
        lambda w, _, __: w.resident(w.blake).name == "Robin",
    ),
    "update_resident link": Operation(
        "facegate.update_resident",
        lambda w: {"resident_id": w.blake, "user_id": w.users["admin"].id},
        lambda w, _, __: w.resident(w.blake).user_id == w.users["admin"].id,
    ),
    "remove_resident": Operation(
        "facegate.remove_resident",
        lambda w: {"resident_id": w.blake},
        lambda w, _, __: w.blake not in w.directory.residents,
    ),
    "list_residents": Operation(
        "facegate.list_residents",
        lambda w: {"household": w.flat_1},
        lambda w, r, _: sorted(x["name"] for x in r["residents"]) == ["Alex", "Blake"],
    ),
    "set_pin": Operation(
        "facegate.set_pin",
        lambda w: {"resident_id": w.blake, "pin": PIN},
        lambda w, _, __: w.resident(w.blake).pin is not None,
    ),
    "remove_pin": Operation(
        "facegate.remove_pin",
        lambda w: {"resident_id": w.blake},
        lambda w, _, __: w.resident(w.blake).pin is None,
        lambda w: w.admin("set_pin", {"resident_id": w.blake, "pin": PIN}),
    ),
    "enrol_card": Operation(
        "facegate.enrol_card",
        lambda w: {"resident_id": w.blake, "reader": READER},
        lambda w, _, __: w.entry.runtime_data.card_enrolments[READER][0] == w.blake,
    ),
    "remove_card": Operation(
        "facegate.remove_card",
        lambda w: {"resident_id": w.blake, "card_uid": CARD},
        lambda w, _, __: w.resident(w.blake).cards == [],
    ),
    "set_face_consent": Operation(
        "facegate.set_face_consent",
        lambda w: {"resident_id": w.blake, "consent": True},
        lambda w, _, user: (
            user is not None
            and (consent := w.resident(w.blake).face_consent) is not None
            and consent.recorded_by == user.id
        ),
    ),
    "set_face_consent own": Operation(
        "facegate.set_face_consent",
        lambda w: {"resident_id": w.alex, "consent": True},
        lambda w, _, user: (
            (consent := w.resident(w.alex).face_consent) is not None
            and consent.recorded_by == (user.id if user else None)
        ),
    ),
    "withdraw_face_consent": Operation(
        "facegate.set_face_consent",
        lambda w: {"resident_id": w.blake, "consent": False},
        lambda w, _, __: w.resident(w.blake).face_consent is None,
        lambda w: w.admin("set_face_consent", {"resident_id": w.blake, "consent": True}),
    ),
    "enrol_face": Operation(
        "facegate.enrol_face",
        lambda w: {"resident_id": w.blake, "camera": "camera.no_such_camera", "samples": 1},
        lambda w, _, __: False,  # never reached: there is no camera
        lambda w: w.admin("set_face_consent", {"resident_id": w.blake, "consent": True}),
    ),
    "export_resident_data": Operation(
        "facegate.export_resident_data",
        lambda w: {"resident_id": w.blake},
        lambda w, r, _: r["name"] == "Blake" and r["cards"] == 1 and r["has_pin"] is False,
    ),
    "create_visitor_code": Operation(
        "facegate.create_visitor_code",
        lambda w: {"resident_id": w.blake},
        lambda w, r, _: len(r["code"]) == 8 and len(w.directory.visitor_codes) == 1,
    ),
    "present_credential": Operation(
        "facegate.present_credential",
        lambda w: {ATTR_ENTITY_ID: LOCK, "card_uid": CARD},
        lambda w, r, _: r["granted"] and w.hass.states.get(LOCK).state == LockState.UNLOCKED,
        audited=True,
    ),
    "remove_face": Operation(
        "facegate.remove_face",
        lambda w: {"resident_id": w.blake},
        lambda w, _, __: w.resident(w.blake).face_consent is not None,  # consent stays
        lambda w: w.admin("set_face_consent", {"resident_id": w.blake, "consent": True}),
    ),
    "unlock": Operation(
        "facegate.unlock",
        lambda w: {ATTR_ENTITY_ID: LOCK, "reason": "parcel delivery"},
        lambda w, _, __: w.hass.states.get(LOCK).state == LockState.UNLOCKED,
        audited=True,
    ),
    "switch.turn_on card": _switch("turn_on", "card", lambda w: w.switch("turn_off", "card")),
    "switch.turn_off card": _switch("turn_off", "card", None),
    "switch.turn_on pin": _switch("turn_on", "pin", lambda w: w.switch("turn_off", "pin")),
    "switch.turn_off pin": _switch("turn_off", "pin", None),
    "switch.turn_on face": _switch("turn_on", "face", None),
    "switch.turn_off face": _switch("turn_off", "face", lambda w: w.switch("turn_on", "face")),
}


async def attempt(world: World, operation: Operation, user: User | None) -> tuple[str, Any]:
    """Run the operation as the user: ("ok", response), or the refusal's key and None."""
    try:
        response = await world.call(operation.action, operation.data(world), user)
    except Unauthorized:
        return HA_NO, None
    except ServiceValidationError as err:
        refusal = err.translation_key if err.translation_domain == DOMAIN else repr(err)
        return str(refusal), None
    return OK, response


async def test_matrix_covers_every_action_and_switch(world: World) -> None:
    registered = {f"{DOMAIN}.{s}" for s in world.hass.services.async_services_for_domain(DOMAIN)}
    assert registered == {op.action for op in OPERATIONS.values() if op.action.startswith(DOMAIN)}
    assert len(registered) == 15
    assert set(EXPECTED) == set(OPERATIONS)
    switches = {
        op.data(world)[ATTR_ENTITY_ID] for op in OPERATIONS.values() if "switch" in op.action
    }
    assert switches == {"switch.flat_1_card", "switch.flat_1_pin", "switch.flat_1_face"}


@pytest.mark.parametrize(
    ("operation", "caller", "expected"),
    [
        pytest.param(op, caller, result, id=f"{op}-{caller}")
        for op, row in EXPECTED.items()
        for caller, result in zip(CALLERS, row, strict=True)
    ],
)
async def test_permissions(world: World, operation: str, caller: str, expected: str) -> None:
    op = OPERATIONS[operation]
    if op.prepare:
        await op.prepare(world)
    before = await world.snapshot()
    user = world.users[caller]

    result, response = await attempt(world, op, user)

    assert result == expected
    if expected == OK:
        assert op.took_effect(world, response, user)
    elif op.audited:
        reason = expected.removeprefix("denied_")
        assert world.entry.runtime_data.audit.records[-1].reason == reason
        assert world.hass.states.get(LOCK).state == LockState.LOCKED
    else:
        assert await world.snapshot() == before


async def test_refusal_message_is_translated(world: World) -> None:
    with pytest.raises(ServiceValidationError) as err:
        await world.call(
            f"{DOMAIN}.remove_resident", {"resident_id": world.blake}, world.users["flat_2"]
        )
    assert_translated(err.value, "not_allowed")


async def test_linking_a_user_gives_them_the_household(world: World) -> None:
    """Linking is what the matrix rests on: unlinking takes the right away again."""
    casey_user = world.users["flat_2"]
    await world.admin("update_resident", {"resident_id": world.alex, "user_id": casey_user.id})
    assert (await attempt(world, OPERATIONS["list_residents"], casey_user))[0] == OK

    await world.admin("remove_resident", {"resident_id": world.alex})
    assert (await attempt(world, OPERATIONS["list_residents"], casey_user))[0] == NO


# 2. Bad input ----------------------------------------------------------------------------------

SCHEMA = "schema"  # refused by the action's schema (probatio.Invalid), before FaceGate runs
WEAK_PINS = ("1234", "0000", "1212", "1999", "9876", "2580", "123123")
BAD_FORMAT_PINS = ("12", "abcd", "1234567890123", "12 34", "١٢٣٤٥٦")  # the last: Arabic digits
BAD_NAMES = ("  ", "!!!", "x" * 65)


BLAKE, ALEX, FLAT, DOOR_DEVICE = "{blake}", "{alex}", "{flat_1}", "{door_device}"


def bad(action: str, error: str, **data: Any) -> Any:
    detail = next((str(v)[:12] for k, v in data.items() if k != "resident_id"), "")
    return pytest.param(action, data, error, id=f"{action}-{error}-{detail}")


BAD_INPUT = [
    bad("add_resident", "unknown_household", household="no-such-device", name="Sam"),
    bad("add_resident", "unknown_household", household=DOOR_DEVICE, name="Sam"),
    *[bad("add_resident", "invalid_name", household=FLAT, name=n) for n in BAD_NAMES],
    bad("add_resident", "unknown_user", household=FLAT, name="Sam", user_id="x"),
    bad("add_resident", SCHEMA, household=FLAT),
    bad("update_resident", "unknown_resident", resident_id="nobody", name="Sam"),
    *[bad("update_resident", "invalid_name", resident_id=BLAKE, name=n) for n in BAD_NAMES],
    bad("update_resident", "invalid_name", resident_id=BLAKE, name="!!!", show_name=True),
    bad("update_resident", "unknown_user", resident_id=BLAKE, user_id="x"),
    bad("update_resident", "unknown_user", resident_id=BLAKE, name="Jo", user_id="x"),
    bad("remove_resident", "unknown_resident", resident_id="nobody"),
    bad("list_residents", "unknown_household", household="no-such-device"),
    bad("list_residents", "unknown_household", household=DOOR_DEVICE),
    bad("set_pin", "unknown_resident", resident_id="nobody", pin=PIN),
    *[bad("set_pin", "pin_weak", resident_id=BLAKE, pin=p) for p in WEAK_PINS],
    *[bad("set_pin", "pin_format", resident_id=BLAKE, pin=p) for p in BAD_FORMAT_PINS],
    bad("set_pin", "pin_weak", resident_id=BLAKE, pin="1234", duress=True),
    bad("remove_pin", "unknown_resident", resident_id="nobody"),
    bad("enrol_card", "unknown_resident", resident_id="nobody", reader=READER),
    bad("enrol_card", "unknown_reader", resident_id=BLAKE, reader=FLAT),
    bad("enrol_card", "unknown_reader", resident_id=BLAKE, reader=DOOR_DEVICE),
    bad("remove_card", "unknown_resident", resident_id="nobody", card_uid=CARD),
    bad("remove_card", "card_format", resident_id=BLAKE, card_uid="::"),
    bad("remove_card", "unknown_card", resident_id=ALEX, card_uid=CARD),  # Blake's card
    bad("set_face_consent", "unknown_resident", resident_id="nobody", consent=True),
    bad("set_face_consent", SCHEMA, resident_id=BLAKE, consent="maybe"),
    bad("create_visitor_code", "unknown_resident", resident_id="nobody"),
    bad("create_visitor_code", SCHEMA, resident_id=BLAKE, uses=0),
    bad("create_visitor_code", SCHEMA, resident_id=BLAKE, uses=21),
    bad("create_visitor_code", SCHEMA, resident_id=BLAKE, valid_for_minutes=1),
    bad("create_visitor_code", SCHEMA, resident_id=BLAKE, valid_for_minutes=7 * 24 * 60 + 1),
    bad("present_credential", "unknown_door", entity_id="lock.nowhere", pin=PIN),
    bad("present_credential", "unknown_door", entity_id="switch.flat_1_card", pin=PIN),
    bad("present_credential", SCHEMA, entity_id="not an entity", pin=PIN),
    bad("present_credential", "credential_missing", entity_id=LOCK),
    bad("present_credential", "credential_missing", entity_id=LOCK, pin=""),
    bad("present_credential", SCHEMA, entity_id=LOCK, pin=PIN, card_uid=CARD),
    bad("present_credential", "card_format", entity_id=LOCK, card_uid="::"),
]


@pytest.mark.parametrize(("action", "data", "error"), BAD_INPUT)
async def test_bad_input_is_refused_and_changes_nothing(
    world: World, action: str, data: dict[str, Any], error: str
) -> None:
    before = await world.snapshot()

    with pytest.raises((ServiceValidationError, probatio.Invalid)) as err:
        await world.admin(action, world.fill(data))

    if error == SCHEMA:
        assert isinstance(err.value, probatio.Invalid), repr(err.value)
    else:
        assert_translated(err.value, error)
    assert await world.snapshot() == before
    assert world.hass.states.get(LOCK).state == LockState.LOCKED


async def test_limits_themselves_are_accepted(world: World) -> None:
    """The refusals above are not too broad: the edges of every limit pass."""
    longest = "x" * 64
    await world.admin("update_resident", {"resident_id": world.blake, "name": f"  {longest}  "})
    assert world.resident(world.blake).name == longest
    for pin in ("4803", "480315729461"):
        await world.admin("set_pin", {"resident_id": world.blake, "pin": pin})
        assert (await world.present(pin=pin))["granted"] is True
    for minutes, uses in ((5, 20), (7 * 24 * 60, 1)):
        response = await world.admin(
            "create_visitor_code",
            {"resident_id": world.blake, "valid_for_minutes": minutes, "uses": uses},
        )
        assert response["uses"] == uses
    assert len(world.directory.visitor_codes) == 2
    await world.admin("remove_card", {"resident_id": world.blake, "card_uid": "04a23b1c9980"})
    assert world.resident(world.blake).cards == []  # the same card, spelled as readers do


async def test_pin_in_use_anywhere_on_the_site(
    hass: HomeAssistant, hass_admin_user: User, hass_read_only_user: User
) -> None:
    """A PIN names one person: taken PINs are refused, and their owners still get in."""
    entry = site_entry(door={CONF_HOUSEHOLD_IDS: [FLAT_1, FLAT_2]})
    world = await build_world(hass, entry, hass_admin_user, hass_read_only_user)
    await world.admin("set_pin", {"resident_id": world.blake, "pin": PIN})
    await world.admin("set_pin", {"resident_id": world.casey, "pin": OTHER_PIN})
    await world.admin("set_pin", {"resident_id": world.casey, "pin": DURESS_PIN, "duress": True})
    visitor = (await world.admin("create_visitor_code", {"resident_id": world.alex}))["code"]

    taken = [
        (world.blake, OTHER_PIN, False),  # Casey's, of the other household
        (world.blake, DURESS_PIN, False),  # Casey's duress PIN
        (world.alex, visitor, False),  # a live visitor code
        (world.blake, PIN, True),  # Blake's own PIN as duress PIN
        (world.alex, PIN, False),  # Blake's, of the same household
    ]
    for resident_id, pin, duress in taken:
        before = await world.snapshot()
        with pytest.raises(ServiceValidationError) as err:
            await world.admin("set_pin", {"resident_id": resident_id, "pin": pin, "duress": duress})
        assert_translated(err.value, "pin_in_use")
        assert await world.snapshot() == before, pin

    for resident_id in (world.alex, world.blake, world.casey):  # households shown with names
        await world.admin("update_resident", {"resident_id": resident_id, "show_name": True})
    events = async_capture_events(hass, EVENT_ACCESS)
    assert (await world.present(pin=OTHER_PIN))["granted"] is True
    assert (await world.present(pin=PIN))["granted"] is True
    assert (await world.present(pin=visitor))["reason"] == "visitor_code"
    assert [(e.data["household"], e.data["outcome"]) for e in events] == [
        ("Flat 2", "granted"),
        ("Flat 1", "granted"),
        (None, "granted"),  # a visitor names no resident, so no household either
    ]
    # Setting one's own PIN again is not "in use".
    await world.admin("set_pin", {"resident_id": world.blake, "pin": PIN})


@pytest.mark.parametrize(
    ("first", "refused", "error"),
    [
        ((("turn_on", "face"), ("turn_off", "card")), ("turn_off", "pin"), "face_only"),
        ((("turn_on", "face"), ("turn_off", "pin")), ("turn_off", "card"), "face_only"),
        ((("turn_off", "card"),), ("turn_off", "pin"), "no_mode"),
        ((("turn_off", "pin"),), ("turn_off", "card"), "no_mode"),
    ],
)
async def test_mode_switch_refusals(
    world: World, first: tuple[tuple[str, str], ...], refused: tuple[str, str], error: str
) -> None:
    for service, mode in first:
        await world.switch(service, mode)
    before = await world.snapshot()

    for caller in ("admin", "flat_1"):
        with pytest.raises(ServiceValidationError) as err:
            await world.switch(*refused, world.users[caller])
        assert_translated(err.value, error)
        assert await world.snapshot() == before


# 3. Duress -------------------------------------------------------------------------------------


async def test_duress_pin_opens_and_raises_the_alarm(world: World) -> None:
    await world.admin("set_pin", {"resident_id": world.blake, "pin": PIN})
    await world.admin("set_pin", {"resident_id": world.blake, "pin": DURESS_PIN, "duress": True})
    listed = await world.admin("list_residents", {"household": world.flat_1})
    blake = next(r for r in listed["residents"] if r["resident_id"] == world.blake)
    assert (blake["has_pin"], blake["has_duress_pin"]) == (True, True)
    events = async_capture_events(world.hass, EVENT_ACCESS)

    response = await world.present(pin=DURESS_PIN)

    assert response == {"granted": True, "outcome": "duress", "reason": "duress"}
    assert world.hass.states.get(LOCK).state == LockState.UNLOCKED
    assert [(e.data["outcome"], e.data["method"]) for e in events] == [("duress", "pin")]
    assert world.hass.states.get(EVENT_ENTITY).attributes["event_type"] == "duress"

    await world.admin("remove_pin", {"resident_id": world.blake, "duress": True})
    assert world.resident(world.blake).duress_pin is None
    assert world.resident(world.blake).pin is not None


# 4. Two modes ----------------------------------------------------------------------------------


@pytest.fixture
async def two_mode_world(
    hass: HomeAssistant, hass_admin_user: User, hass_read_only_user: User
) -> World:
    entry = site_entry(flat_1={"policy": "two_modes"})
    world = await build_world(hass, entry, hass_admin_user, hass_read_only_user)
    await world.admin("set_pin", {"resident_id": world.blake, "pin": PIN})
    return world


async def test_two_modes_pin_then_card(two_mode_world: World) -> None:
    world = two_mode_world
    events = async_capture_events(world.hass, EVENT_ACCESS)

    first = await world.present(pin=PIN)
    assert (first["granted"], first["reason"]) == (False, "second_factor_needed")
    assert world.hass.states.get(LOCK).state == LockState.LOCKED

    second = await world.present(card_uid=CARD)
    assert second == {"granted": True, "outcome": "granted", "reason": "granted"}
    assert events[-1].data["method"] == "pin+card"
    assert world.hass.states.get(LOCK).state == LockState.UNLOCKED
    assert world.hass.states.get(EVENT_ENTITY).attributes["method"] == "pin+card"


async def test_two_modes_second_factor_expires(
    two_mode_world: World, freezer: FrozenDateTimeFactory
) -> None:
    world = two_mode_world
    assert (await world.present(pin=PIN))["reason"] == "second_factor_needed"
    freezer.tick(timedelta(seconds=31))

    late = await world.present(card_uid=CARD)

    assert (late["granted"], late["reason"]) == (False, "second_factor_needed")
    assert world.hass.states.get(LOCK).state == LockState.LOCKED


async def test_two_modes_keep_two_switches_on(two_mode_world: World) -> None:
    world = two_mode_world
    before = await world.snapshot()
    with pytest.raises(ServiceValidationError) as err:
        await world.switch("turn_off", "card")
    assert_translated(err.value, "two_modes_need_two")
    assert await world.snapshot() == before


# 5. Visitor codes expire -----------------------------------------------------------------------


async def test_visitor_code_expires(world: World, freezer: FrozenDateTimeFactory) -> None:
    response = await world.call(
        f"{DOMAIN}.create_visitor_code",
        {"resident_id": world.blake, "valid_for_minutes": 5, "uses": 3},
        world.users["flat_1"],
    )
    code = response["code"]
    assert response["valid_until"] == pytest.approx(time.time() + 300)

    freezer.tick(timedelta(minutes=4, seconds=59))
    assert (await world.present(pin=code))["granted"] is True

    freezer.tick(timedelta(seconds=2))
    late = await world.present(pin=code)

    assert late["granted"] is False
    assert late["reason"] == "unknown_credential"
    assert world.directory.visitor_codes == {}  # dropped from the store as well
    assert "visitor_codes" in (stored := json.loads((await world.snapshot())[0])["data"])
    assert stored["visitor_codes"] == {}


# 6. Face consent and the face mode -------------------------------------------------------------


async def test_face_consent_records_who_gave_it(
    world: World, freezer: FrozenDateTimeFactory
) -> None:
    resident_user = world.users["flat_1"]  # consent is personal: Alex gives their own
    assert resident_user is not None
    await world.call(
        f"{DOMAIN}.set_face_consent", {"resident_id": world.alex, "consent": True}, resident_user
    )

    consent = world.resident(world.alex).face_consent
    assert consent is not None
    assert consent.recorded_by == resident_user.id
    assert consent.given_at == time.time()
    stored = json.loads((await world.snapshot())[0])["data"]["residents"][world.alex]
    assert stored["face_consent"] == {"given_at": time.time(), "recorded_by": resident_user.id}

    await world.admin("set_face_consent", {"resident_id": world.alex, "consent": False})

    assert world.resident(world.alex).face_consent is None
    stored = json.loads((await world.snapshot())[0])["data"]["residents"][world.alex]
    assert stored["face_consent"] is None
    listed = await world.admin("list_residents", {"household": world.flat_1})
    assert not any(r["face_consent"] for r in listed["residents"])


async def test_face_mode_only_beside_card_or_pin(world: World) -> None:
    assert world.modes() == {"card": STATE_ON, "pin": STATE_ON, "face": STATE_OFF}
    await world.switch("turn_on", "face", world.users["flat_1"])
    await world.switch("turn_off", "card", world.users["flat_1"])
    assert world.modes() == {"card": STATE_OFF, "pin": STATE_ON, "face": STATE_ON}

    with pytest.raises(ServiceValidationError) as err:
        await world.switch("turn_off", "pin", world.users["flat_1"])
    assert_translated(err.value, "face_only")
    assert world.modes() == {"card": STATE_OFF, "pin": STATE_ON, "face": STATE_ON}

    await world.switch("turn_off", "face")
    with pytest.raises(ServiceValidationError) as err:
        await world.switch("turn_off", "pin")
    assert_translated(err.value, "no_mode")
    assert world.modes() == {"card": STATE_OFF, "pin": STATE_ON, "face": STATE_OFF}
    stored = json.loads((await world.snapshot())[0])["data"]["households"][FLAT_1]
    assert stored["modes"] == ["pin"]
