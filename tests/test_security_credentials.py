"""Issue 11, credentials side, with a real hass: lockout, duress, visitor codes, PIN changes.

Scenario 2: every PIN change or visitor code asked for by a non-admin spends a daily budget.
Scenario 3: a grant forgives no failure; the lockout holds across restarts, credential kinds
and the doors of a shared reader. Scenario 7: a duress PIN needs the second factor.
Scenario 8: visitor codes go with their resident and are capped; one PIN check costs one key
derivation whatever the number of stored PINs.
"""

import hashlib
import json
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.lock.const import LockState
from homeassistant.const import ATTR_ENTITY_ID
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    MockUser,
    async_capture_events,
)

from custom_components.facegate.access import credentials
from custom_components.facegate.access.credentials import card_digest, check_pin_strength
from custom_components.facegate.access.errors import AccessError
from custom_components.facegate.const import (
    CONF_HOUSEHOLD_IDS,
    CONF_POLICY,
)
from custom_components.facegate.gate import EVENT_ACCESS
from custom_components.facegate.logbook import describe_decision

from .conftest import BACK_DOOR, FLAT_2, FRONT_DOOR, READER, setup_site, site_entry
from .test_doors import CARD, LOCK, OTHER_PIN, PIN, add_resident, call, read_store, unlock

DURESS_PIN = "917364"
WRONG_PIN = "864209"
BACK_LOCK = "lock.back_door"


def now() -> float:
    return dt_util.utcnow().timestamp()


async def tap(hass: HomeAssistant, uid: str = CARD, reader: str = READER) -> None:
    hass.bus.async_fire("tag_scanned", {"tag_id": uid, "device_id": reader})
    await hass.async_block_till_done()


async def present_pin(hass: HomeAssistant, pin: str, lock: str = LOCK) -> dict[str, Any]:
    return dict(await call(hass, "present_credential", {ATTR_ENTITY_ID: lock, "pin": pin}))


async def give_card(hass: HomeAssistant, entry: MockConfigEntry, resident: str) -> None:
    runtime = entry.runtime_data
    runtime.directory.add_card(resident, card_digest(CARD, runtime.card_key))
    await runtime.async_save()


def shared_reader_site(flat_1: dict[str, Any] | None = None) -> MockConfigEntry:
    """Flat 1 behind the front door, Flat 2 behind the back door, one reader for both."""
    return site_entry(flat_1=flat_1, back_door={CONF_HOUSEHOLD_IDS: [FLAT_2]})


@pytest.fixture
async def site(hass: HomeAssistant) -> MockConfigEntry:
    return await setup_site(hass, site_entry())


@pytest.fixture
async def resident_user(hass: HomeAssistant) -> MockUser:
    """A Home Assistant user who is not an administrator."""
    return await hass.auth.async_create_user("Resident", group_ids=["system-users"])  # type: ignore[return-value]


# Scenario 3: lockout --------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["pin", "duress", "visitor", "card"])
async def test_scenario3_a_grant_does_not_forgive_earlier_failures(
    hass: HomeAssistant, site: MockConfigEntry, hass_admin_user: MockUser, kind: str
) -> None:
    """An attacker with their own valid credential interleaves it with guesses: locked out."""
    resident = await add_resident(hass, hass_admin_user)
    await call(hass, "set_pin", {"resident_id": resident, "pin": PIN}, hass_admin_user)
    await call(
        hass,
        "set_pin",
        {"resident_id": resident, "pin": DURESS_PIN, "duress": True},
        hass_admin_user,
    )
    await give_card(hass, site, resident)
    code = (
        await call(
            hass, "create_visitor_code", {"resident_id": resident, "uses": 20}, hass_admin_user
        )
    )["code"]

    async def own() -> str:
        if kind == "card":
            events = async_capture_events(hass, EVENT_ACCESS)
            await tap(hass)
            return str(events[-1].data["reason"])
        pin = {"pin": PIN, "duress": DURESS_PIN, "visitor": code}[kind]
        return str((await present_pin(hass, pin))["reason"])

    for _ in range(4):
        assert (await present_pin(hass, WRONG_PIN))["reason"] == "unknown_credential"
        assert await own() in ("granted", "duress", "visitor_code")
    assert (await present_pin(hass, WRONG_PIN))["reason"] == "too_many_failures"
    assert await own() == "locked_out"


async def test_scenario3_the_lockout_holds_across_a_restart(
    hass: HomeAssistant, site: MockConfigEntry, hass_admin_user: MockUser
) -> None:
    resident = await add_resident(hass, hass_admin_user)
    await call(hass, "set_pin", {"resident_id": resident, "pin": PIN}, hass_admin_user)
    for _ in range(3):
        await present_pin(hass, WRONG_PIN)
    assert (await present_pin(hass, PIN))["granted"]

    assert await hass.config_entries.async_reload(site.entry_id)
    await hass.async_block_till_done()

    assert (await present_pin(hass, WRONG_PIN))["reason"] == "unknown_credential"
    assert (await present_pin(hass, WRONG_PIN))["reason"] == "too_many_failures"
    assert (await present_pin(hass, PIN))["reason"] == "locked_out"
    stored = json.loads(await read_store(hass, site))["data"]["lockouts"]
    assert stored[FRONT_DOOR]["locked_until"] > now()


async def test_scenario3_a_neighbours_taps_at_a_shared_reader_lock_nothing_out(
    hass: HomeAssistant, hass_admin_user: MockUser
) -> None:
    entry = await setup_site(hass, shared_reader_site())
    resident = await add_resident(hass, hass_admin_user)  # Flat 1: the front door
    await give_card(hass, entry, resident)
    events = async_capture_events(hass, EVENT_ACCESS)

    for _ in range(6):
        await tap(hass)

    assert [(e.data["door_id"], e.data["outcome"]) for e in events] == [(FRONT_DOOR, "granted")] * 6
    assert entry.runtime_data.lockout.as_dict() == {}  # the back door counted nothing


async def test_scenario3_guesses_at_a_shared_reader_lock_out_every_door_it_serves(
    hass: HomeAssistant, hass_admin_user: MockUser
) -> None:
    entry = await setup_site(hass, shared_reader_site())
    resident = await add_resident(hass, hass_admin_user, household_id=FLAT_2)
    await give_card(hass, entry, resident)
    for i in range(5):
        await tap(hass, f"de:ad:be:{i:02x}")
    lockout = entry.runtime_data.lockout
    assert lockout.remaining(FRONT_DOOR, now()) > 0
    assert lockout.remaining(BACK_DOOR, now()) > 0
    events = async_capture_events(hass, EVENT_ACCESS)
    await tap(hass)  # the right card, now: refused at the back door, unheard
    assert [(e.data["door_id"], e.data["reason"]) for e in events] == [(BACK_DOOR, "locked_out")]
    assert hass.states.get(BACK_LOCK).state == LockState.LOCKED


async def test_scenario3_each_lock_entity_is_its_own_keypad(
    hass: HomeAssistant, hass_admin_user: MockUser
) -> None:
    """PINs typed into a lock entity count at that door only (documented choice)."""
    await setup_site(hass, shared_reader_site())
    resident = await add_resident(hass, hass_admin_user, household_id=FLAT_2)
    await call(hass, "set_pin", {"resident_id": resident, "pin": PIN}, hass_admin_user)
    for _ in range(5):
        await present_pin(hass, WRONG_PIN, LOCK)
    assert (await present_pin(hass, PIN, LOCK))["reason"] == "locked_out"
    assert (await present_pin(hass, PIN, BACK_LOCK))["granted"]


# Scenario 7: duress -------------------------------------------------------------------------


async def test_scenario7_a_duress_pin_needs_the_second_factor(
    hass: HomeAssistant, hass_admin_user: MockUser
) -> None:
    entry = await setup_site(hass, site_entry(flat_1={CONF_POLICY: "two_modes"}))
    resident = await add_resident(hass, hass_admin_user)
    await call(hass, "set_pin", {"resident_id": resident, "pin": PIN}, hass_admin_user)
    await call(
        hass,
        "set_pin",
        {"resident_id": resident, "pin": DURESS_PIN, "duress": True},
        hass_admin_user,
    )
    await give_card(hass, entry, resident)
    events = async_capture_events(hass, EVENT_ACCESS)

    with pytest.raises(ServiceValidationError) as err:
        await unlock(hass, DURESS_PIN)
    # The person at the door sees what a normal PIN alone shows; the alarm is raised.
    assert err.value.translation_key == "denied_second_factor_needed"
    assert hass.states.get(LOCK).state == LockState.LOCKED
    assert [(e.data["outcome"], e.data["reason"]) for e in events] == [
        ("duress", "second_factor_needed")
    ]
    assert describe_decision(events[0].data) == (
        "denied (PIN): waiting for a second, different way in (duress PIN: alarm raised)"
    )

    await tap(hass)  # the second factor: the door opens, under duress
    assert hass.states.get(LOCK).state == LockState.UNLOCKED
    assert [(e.data["outcome"], e.data["method"]) for e in events[1:]] == [("duress", "pin+card")]


# Scenario 8: visitor codes and the cost of a PIN check --------------------------------------


async def test_scenario8_visitor_codes_are_removed_with_their_resident(
    hass: HomeAssistant, site: MockConfigEntry, hass_admin_user: MockUser
) -> None:
    resident = await add_resident(hass, hass_admin_user)
    code = (await call(hass, "create_visitor_code", {"resident_id": resident}, hass_admin_user))[
        "code"
    ]
    await call(hass, "remove_resident", {"resident_id": resident}, hass_admin_user)

    assert site.runtime_data.directory.visitor_codes == {}
    assert (await present_pin(hass, code))["granted"] is False
    assert '"visitor_codes": {}' in await read_store(hass, site)


async def test_scenario8_active_visitor_codes_are_capped_per_household(
    hass: HomeAssistant, site: MockConfigEntry, hass_admin_user: MockUser
) -> None:
    resident = await add_resident(hass, hass_admin_user)
    for _ in range(10):
        await call(hass, "create_visitor_code", {"resident_id": resident}, hass_admin_user)
    with pytest.raises(ServiceValidationError) as err:
        await call(hass, "create_visitor_code", {"resident_id": resident}, hass_admin_user)
    assert err.value.translation_key == "too_many_visitor_codes"
    assert len(site.runtime_data.directory.visitor_codes) == 10


async def test_scenario8_visitor_codes_free_up_when_they_expire(
    hass: HomeAssistant,
    site: MockConfigEntry,
    hass_admin_user: MockUser,
    freezer: FrozenDateTimeFactory,
) -> None:
    resident = await add_resident(hass, hass_admin_user)
    for _ in range(10):
        await call(
            hass,
            "create_visitor_code",
            {"resident_id": resident, "valid_for_minutes": 5},
            hass_admin_user,
        )
    freezer.tick(timedelta(minutes=6))
    await call(hass, "create_visitor_code", {"resident_id": resident}, hass_admin_user)
    assert len(site.runtime_data.directory.visitor_codes) == 1


@pytest.fixture
def counted_scrypt(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Count every key derivation, made cheap (the stored costs stay the real ones)."""
    calls: list[int] = []

    def scrypt(pin: str, salt: bytes, n: int, r: int, p: int) -> bytes:
        calls.append(n)
        return hashlib.scrypt(pin.encode(), salt=salt, n=2, r=1, p=1, dklen=32)

    monkeypatch.setattr(credentials, "_scrypt", scrypt)
    return calls


def strong_pins(count: int) -> list[str]:
    pins = []
    candidate = 52_000_000
    while len(pins) < count:
        candidate += 7919
        try:
            check_pin_strength(str(candidate))
        except AccessError:
            continue
        pins.append(str(candidate))
    return pins


async def test_scenario8_one_pin_check_costs_one_key_derivation(
    hass: HomeAssistant,
    site: MockConfigEntry,
    hass_admin_user: MockUser,
    counted_scrypt: list[int],
) -> None:
    """40 residents with PINs and 10 visitor codes: one unlock, one scrypt (it was 50)."""
    pins = strong_pins(40)
    residents = [await add_resident(hass, hass_admin_user) for _ in pins]
    for resident, pin in zip(residents, pins, strict=True):
        await call(hass, "set_pin", {"resident_id": resident, "pin": pin}, hass_admin_user)
    for _ in range(10):
        await call(hass, "create_visitor_code", {"resident_id": residents[0]}, hass_admin_user)

    counted_scrypt.clear()
    await unlock(hass, pins[-1])
    assert hass.states.get(LOCK).state == LockState.UNLOCKED
    assert len(counted_scrypt) == 1
    counted_scrypt.clear()
    assert (await present_pin(hass, WRONG_PIN))["granted"] is False
    assert len(counted_scrypt) == 1


async def test_scenario8_a_pin_stored_before_lookup_digests_gets_one_on_use(
    hass: HomeAssistant, site: MockConfigEntry, hass_admin_user: MockUser
) -> None:
    resident = await add_resident(hass, hass_admin_user)
    await call(hass, "set_pin", {"resident_id": resident, "pin": PIN}, hass_admin_user)
    runtime = site.runtime_data
    legacy = replace(runtime.directory.residents[resident].pin, lookup=None)
    runtime.directory.residents[resident].pin = legacy
    await runtime.async_save()
    assert await hass.config_entries.async_reload(site.entry_id)
    await hass.async_block_till_done()

    await unlock(hass, PIN)  # found by the slow scan, as before

    assert hass.states.get(LOCK).state == LockState.UNLOCKED
    stored = json.loads(await read_store(hass, site))["data"]["residents"][resident]["pin"]
    assert stored["lookup"]
    assert stored["digest"] == legacy.digest  # the same scrypt hash, now with its digest
    assert PIN not in json.dumps(stored)


# Scenario 2: PIN changes by non-admins spend a budget ----------------------------------------


async def test_scenario2_every_pin_change_counts_whatever_its_outcome(
    hass: HomeAssistant,
    site: MockConfigEntry,
    hass_admin_user: MockUser,
    resident_user: MockUser,
    freezer: FrozenDateTimeFactory,
) -> None:
    """A resident probing for a neighbour's PIN: free PINs count as much as taken ones."""
    neighbour = await add_resident(hass, hass_admin_user, household_id=FLAT_2)
    await call(hass, "set_pin", {"resident_id": neighbour, "pin": PIN}, hass_admin_user)
    own = await add_resident(hass, hass_admin_user, user_id=resident_user.id)
    probes = strong_pins(11)

    async def probe(pin: str) -> str:
        try:
            await call(hass, "set_pin", {"resident_id": own, "pin": pin}, resident_user)
        except ServiceValidationError as err:
            return str(err.translation_key)
        return "set"

    assert [await probe(pin) for pin in probes[:3]] == ["set"] * 3
    # The fourth, at once, waits: even a free PIN, even a weak one.
    assert await probe(probes[3]) == "too_many_pin_changes"
    assert await probe("1234") == "too_many_pin_changes"
    answers = []
    for pin in [PIN, *probes[4:10]]:
        freezer.tick(timedelta(hours=1))
        answers.append(await probe(pin))
    assert answers == ["pin_in_use"] + ["set"] * 6
    # Ten a day: the eleventh waits for the first to be a day old.
    freezer.tick(timedelta(hours=1))
    assert await probe(probes[10]) == "too_many_pin_changes"
    freezer.tick(timedelta(hours=17))
    assert await probe(probes[10]) == "set"


async def test_scenario2_visitor_codes_spend_the_same_budget(
    hass: HomeAssistant,
    site: MockConfigEntry,
    hass_admin_user: MockUser,
    resident_user: MockUser,
) -> None:
    own = await add_resident(hass, hass_admin_user, user_id=resident_user.id)
    for pin in strong_pins(2):
        await call(hass, "set_pin", {"resident_id": own, "pin": pin}, resident_user)
    await call(hass, "create_visitor_code", {"resident_id": own}, resident_user)
    with pytest.raises(ServiceValidationError) as err:
        await call(hass, "create_visitor_code", {"resident_id": own}, resident_user)
    assert err.value.translation_key == "too_many_pin_changes"
    # Administrators are not limited.
    for pin in strong_pins(5):
        await call(hass, "set_pin", {"resident_id": own, "pin": pin}, hass_admin_user)


async def test_scenario2_the_budget_survives_a_restart(
    hass: HomeAssistant,
    site: MockConfigEntry,
    hass_admin_user: MockUser,
    resident_user: MockUser,
) -> None:
    own = await add_resident(hass, hass_admin_user, user_id=resident_user.id)
    for pin in strong_pins(3):
        await call(hass, "set_pin", {"resident_id": own, "pin": pin}, resident_user)
    assert await hass.config_entries.async_reload(site.entry_id)
    await hass.async_block_till_done()
    with pytest.raises(ServiceValidationError) as err:
        await call(hass, "set_pin", {"resident_id": own, "pin": OTHER_PIN}, resident_user)
    assert err.value.translation_key == "too_many_pin_changes"
    stored = json.loads(await read_store(hass, site))["data"]["pin_change_attempts"]
    assert len(stored[resident_user.id]) == 3
