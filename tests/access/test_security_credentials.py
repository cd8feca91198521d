"""Issue 11 in the access domain: lockout at shared readers, visitor codes, PIN lookups, budgets."""

import hashlib

import pytest

from custom_components.facegate.access import credentials
from custom_components.facegate.access.attempts import AttemptBudget, BudgetPolicy
from custom_components.facegate.access.audit import AuditLog, Outcome
from custom_components.facegate.access.controller import AccessController, Door, find_pin
from custom_components.facegate.access.credentials import (
    PinHash,
    card_digest,
    hash_pin,
    pin_lookup,
)
from custom_components.facegate.access.directory import (
    MAX_VISITOR_CODES,
    Directory,
    PinCandidate,
)
from custom_components.facegate.access.errors import AccessError
from custom_components.facegate.access.lockout import Lockout
from custom_components.facegate.access.modes import Mode, Policy

from .helpers import CARD_KEY, GOOD_PIN, OTHER_PIN, THIRD_PIN, cheap_hash

T0 = 1_000_000.0
FRONT = Door("front", frozenset({"h1"}))
BACK = Door("back", frozenset({"h2"}))
CARD = "04:a2:3b:1c"
UNKNOWN_CARD = "de:ad:be:ef"


def cheap_keyed_hash(pin: str) -> PinHash:
    """A cheap hash with its lookup digest, as hash_pin makes them."""
    return PinHash(**{**cheap_hash(pin).as_dict(), "lookup": pin_lookup(pin, CARD_KEY)})


@pytest.fixture
def directory() -> Directory:
    d = Directory()
    d.sync_household("h1", [Mode.PIN, Mode.CARD], Policy.ANY)
    d.sync_household("h2", [Mode.PIN, Mode.CARD], Policy.ANY)
    return d


@pytest.fixture
def counted_scrypt(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Count key derivations (every scrypt call), made cheap whatever the stored costs."""
    calls: list[int] = []

    def scrypt(pin: str, salt: bytes, n: int, r: int, p: int) -> bytes:
        calls.append(n)
        return hashlib.scrypt(pin.encode(), salt=salt, n=2, r=1, p=1, dklen=32)

    monkeypatch.setattr(credentials, "_scrypt", scrypt)
    return calls


# Scenario 3: a tap at a shared reader is one attempt --------------------------------------


def test_scenario3_a_neighbours_card_at_a_shared_reader_counts_nowhere(directory):
    alice = directory.add_resident("h1", "Alice").resident_id
    directory.add_card(alice, card_digest(CARD, CARD_KEY))
    lockout = Lockout()
    ctl = AccessController(directory, lockout, AuditLog())
    for i in range(8):  # Alice, every few seconds, at the reader of the front and back doors
        decisions = ctl.decide_card_at_reader(
            [FRONT, BACK], card_digest(CARD, CARD_KEY), T0 + 10 * i
        )
        assert [(d.door_id, d.outcome) for d in decisions] == [("front", Outcome.GRANTED)]
    assert lockout.as_dict() == {}  # the back door counted no failure


def test_scenario3_guesses_at_a_shared_reader_lock_out_all_its_doors(directory):
    lockout = Lockout()
    ctl = AccessController(directory, lockout, AuditLog())
    digest = card_digest(UNKNOWN_CARD, CARD_KEY)
    for i in range(4):
        decisions = ctl.decide_card_at_reader([FRONT, BACK], digest, T0 + i)
        assert [d.reason for d in decisions] == ["unknown_credential"] * 2
    fifth = ctl.decide_card_at_reader([FRONT, BACK], digest, T0 + 4)
    assert [d.outcome for d in fifth] == [Outcome.LOCKOUT, Outcome.LOCKOUT]
    refused = ctl.decide_card_at_reader([FRONT, BACK], digest, T0 + 5)
    assert [d.reason for d in refused] == ["locked_out", "locked_out"]


# Scenario 8: visitor codes go with their creator, and are capped ---------------------------


def test_scenario8_visitor_codes_are_removed_with_their_creator(directory):
    alice = directory.add_resident("h1", "Alice").resident_id
    ben = directory.add_resident("h1", "Ben").resident_id
    directory.add_visitor_code(alice, cheap_hash(GOOD_PIN), T0 + 3600, 5)
    kept = directory.add_visitor_code(ben, cheap_hash(OTHER_PIN), T0 + 3600, 5)
    directory.remove_resident(alice)
    assert list(directory.visitor_codes.values()) == [kept]


def test_scenario8_active_visitor_codes_are_capped_per_household(directory):
    alice = directory.add_resident("h1", "Alice").resident_id
    neighbour = directory.add_resident("h2", "Ben").resident_id
    for _ in range(MAX_VISITOR_CODES):
        directory.add_visitor_code(alice, cheap_hash(GOOD_PIN), T0 + 3600, 1)
    with pytest.raises(AccessError) as err:
        directory.add_visitor_code(alice, cheap_hash(GOOD_PIN), T0 + 3600, 1)
    assert err.value.reason == "too_many_visitor_codes"
    assert len(directory.visitor_codes) == MAX_VISITOR_CODES
    directory.add_visitor_code(neighbour, cheap_hash(GOOD_PIN), T0 + 3600, 1)  # its own cap
    directory.drop_expired_visitor_codes(T0 + 3600)  # once they expire, new ones may be made
    directory.add_visitor_code(alice, cheap_hash(GOOD_PIN), T0 + 7200, 1)


# Scenario 8: one PIN check, one key derivation ---------------------------------------------


@pytest.mark.parametrize("stored", [1, 40])
def test_scenario8_one_pin_check_costs_one_key_derivation(counted_scrypt, stored):
    candidates = [
        PinCandidate("pin", f"r{i}", cheap_keyed_hash(f"{5_000_000 + 7919 * i:08d}"))
        for i in range(stored)
    ]
    wanted = candidates[-1]
    counted_scrypt.clear()
    assert find_pin(f"{5_000_000 + 7919 * (stored - 1):08d}", candidates, CARD_KEY) is wanted
    assert len(counted_scrypt) == 1
    counted_scrypt.clear()
    assert find_pin(THIRD_PIN, candidates, CARD_KEY) is None  # a wrong PIN costs the same
    assert len(counted_scrypt) == 1


def test_scenario8_a_legacy_hash_gets_its_lookup_digest_on_first_use(directory, counted_scrypt):
    alice = directory.add_resident("h1", "Alice").resident_id
    directory.set_pin(alice, cheap_hash(GOOD_PIN))  # stored before lookup digests
    match = find_pin(GOOD_PIN, directory.pin_candidates(), CARD_KEY)
    assert match is not None
    directory.add_pin_lookup(match, pin_lookup(GOOD_PIN, CARD_KEY))
    assert directory.residents[alice].pin.lookup == pin_lookup(GOOD_PIN, CARD_KEY)
    assert directory.residents[alice].pin.digest == match.pin.digest  # the same scrypt hash
    counted_scrypt.clear()
    assert find_pin(GOOD_PIN, directory.pin_candidates(), CARD_KEY).owner_id == alice
    assert len(counted_scrypt) == 1
    # Stored and read back, the digest stays.
    again = Directory()
    again.load(directory.as_dict())
    assert again.residents[alice].pin == directory.residents[alice].pin


def test_scenario8_an_upgrade_never_overwrites_a_changed_pin(directory):
    alice = directory.add_resident("h1", "Alice").resident_id
    directory.set_pin(alice, cheap_hash(GOOD_PIN))
    match = directory.pin_candidates()[0]
    directory.set_pin(alice, cheap_keyed_hash(OTHER_PIN))  # changed while GOOD_PIN was checked
    directory.add_pin_lookup(match, pin_lookup(GOOD_PIN, CARD_KEY))
    assert directory.residents[alice].pin.lookup == pin_lookup(OTHER_PIN, CARD_KEY)


def test_scenario8_hash_pin_stores_a_keyed_lookup_digest(real_hashes):
    stored = real_hashes[GOOD_PIN]
    assert stored.lookup == pin_lookup(GOOD_PIN, CARD_KEY)
    assert stored.lookup != pin_lookup(GOOD_PIN, b"another-site-key-0123456789abcde")
    assert GOOD_PIN not in str(stored.as_dict())
    assert PinHash.from_dict(stored.as_dict()) == stored
    # The lookup key is derived from the card key, never the card key itself.
    assert pin_lookup(GOOD_PIN, CARD_KEY) != card_digest(GOOD_PIN, CARD_KEY)


def test_scenario8_find_pin_refuses_what_is_no_pin(counted_scrypt):
    candidates = [PinCandidate("pin", "r", cheap_keyed_hash(GOOD_PIN))]
    assert find_pin(GOOD_PIN + "\x00", candidates, CARD_KEY) is None
    assert find_pin("\ud800" * 4, candidates, CARD_KEY) is None
    assert counted_scrypt == []


def test_scenario8_real_hash_pin_cost_parameters(real_hashes):
    assert real_hashes[GOOD_PIN].n == credentials.SCRYPT_N
    assert hash_pin(OTHER_PIN, CARD_KEY).lookup == pin_lookup(OTHER_PIN, CARD_KEY)


# Scenario 2: every PIN change by a non-admin spends a budget --------------------------------


def test_scenario2_ten_attempts_a_day_with_growing_waits():
    budget = AttemptBudget()
    now = T0
    waits = []
    for _ in range(10):
        wait = budget.wait("user", now)
        waits.append(wait)
        now += wait
        budget.spend("user", now)
    assert waits == [0, 0, 0, 30, 60, 120, 240, 480, 960, 1920]
    # The eleventh waits until the first is a day old.
    assert budget.wait("user", now) == pytest.approx(T0 + 24 * 3600 - now)
    assert budget.wait("another user", now) == 0
    assert budget.wait("user", T0 + 24 * 3600) == 0


def test_scenario2_enumerating_six_digits_takes_more_than_a_year():
    policy = BudgetPolicy()
    days_for_six_digits = 10**6 / policy.per_period * policy.period / (24 * 3600)
    assert days_for_six_digits > 365
    days_for_four_digits = 10**4 / policy.per_period * policy.period / (24 * 3600)
    assert days_for_four_digits > 365


def test_scenario2_the_budget_survives_a_restart():
    budget = AttemptBudget()
    for i in range(3):
        budget.spend("user", T0 + i)
    restored = AttemptBudget()
    restored.load(budget.as_dict(T0 + 3))
    assert restored.wait("user", T0 + 3) == pytest.approx(30 - 1)
    # Attempts older than a day are not stored any more.
    assert budget.as_dict(T0 + 24 * 3600 + 3) == {}
