"""Property-based tests of the access domain: hostile strings and attack sequences.

Hypothesis generates the input (any Unicode text, lone surrogates included, control characters,
other scripts' digits, huge strings) and shrinks a failure to its smallest form. Every property
here holds for *any* input, not just the examples of the other tests.
"""

import itertools
import json
import re
import string
import unicodedata

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from custom_components.facegate.access.audit import (
    AGGREGATE_WINDOW,
    AuditLog,
    AuditRecord,
    Outcome,
)
from custom_components.facegate.access.controller import AccessController, Door, find_pin
from custom_components.facegate.access.credentials import (
    card_digest,
    check_pin_strength,
    normalize_card_uid,
    verify_pin,
)
from custom_components.facegate.access.directory import MAX_NAME_LENGTH, Directory
from custom_components.facegate.access.errors import AccessError
from custom_components.facegate.access.lockout import Lockout, LockoutPolicy
from custom_components.facegate.access.modes import Mode, Policy

from .helpers import CARD_KEY, GOOD_PIN, cheap_hash

# Database off: nothing is written into the repository, and each run explores afresh.
PROPERTY = settings(max_examples=150, deadline=None, database=None)
SLOW_PROPERTY = settings(
    max_examples=40, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)

# Hostile text --------------------------------------------------------------------------------

ANY_CHAR = st.characters()  # every code point, lone surrogates and controls included
ASCII_DIGIT = st.sampled_from(string.digits)
# Other scripts' digits: Arabic-Indic, fullwidth, NKo, mathematical, ...
OTHER_DIGIT = st.characters(categories=["Nd"], exclude_characters=string.digits)
INVISIBLE = st.characters(categories=["Cc", "Cf", "Cs", "Zs", "Zl", "Zp"])  # NUL, ZWJ, BOM, ...
HUGE = st.builds(
    lambda char, size: char * size,
    st.sampled_from(["9", "x", "\x00", "\u0661", "\ud800", ":"]),
    st.integers(1_000, 100_000),
)
HOSTILE_TEXT = st.one_of(
    st.text(ANY_CHAR, max_size=40),
    st.text(st.one_of(ASCII_DIGIT, OTHER_DIGIT, INVISIBLE), max_size=16),
    st.text(ASCII_DIGIT, max_size=16),
    HUGE,
)
PIN_LIKE = st.text(ASCII_DIGIT, min_size=4, max_size=12)


def near_misses(secret: str) -> st.SearchStrategy[str]:
    """Strings that look like `secret` to a person: padded, cut, other digits, invisible marks."""
    lookalike = str.maketrans(string.digits, "".join(chr(0x0660 + i) for i in range(10)))
    fullwidth = str.maketrans(string.digits, "".join(chr(0xFF10 + i) for i in range(10)))
    return st.sampled_from(
        [
            secret + "\n",
            " " + secret,
            secret + "\x00",
            secret[:-1],
            secret + secret[-1],
            secret.translate(lookalike),
            secret.translate(fullwidth),
            "\u200b".join(secret),
            "\ufeff" + secret,
            secret[::-1],
        ]
    )


def _raises_only_access_error(func, *args):
    """Call func; an AccessError is a refusal (returned as None), anything else fails."""
    try:
        return func(*args)
    except AccessError:
        return None


# PINs ----------------------------------------------------------------------------------------


def is_ascii_pin(text):
    return re.fullmatch(r"[0-9]{4,12}", text, flags=re.ASCII) is not None


@PROPERTY
@given(st.one_of(HOSTILE_TEXT, near_misses(GOOD_PIN)))
def test_pin_strength_refuses_all_but_ascii_pins(text):
    if not is_ascii_pin(text):
        with pytest.raises(AccessError) as err:
            check_pin_strength(text)
        assert err.value.reason == "pin_format"
    else:
        try:
            check_pin_strength(text)
        except AccessError as err:
            reason = err.reason
        else:
            reason = None
        assert reason in (None, "pin_weak")


@PROPERTY
@given(st.data())
def test_a_pin_hash_verifies_only_its_own_pin(data):
    pin = data.draw(PIN_LIKE, label="enrolled")
    stored = cheap_hash(pin)
    guess = data.draw(st.one_of(HOSTILE_TEXT, near_misses(pin), st.just(pin)), label="guess")
    assert verify_pin(guess, stored) is (guess == pin)


@SLOW_PROPERTY
@given(st.data())
def test_find_pin_finds_exactly_the_enrolled_one(data):
    pins = data.draw(st.lists(PIN_LIKE, min_size=1, max_size=4, unique=True), label="enrolled")
    directory = Directory()
    directory.sync_household("h", [Mode.PIN], Policy.ANY)
    owners = {}
    for pin in pins:
        resident = directory.add_resident("h", "Resident")
        directory.set_pin(resident.resident_id, cheap_hash(pin))
        owners[pin] = resident.resident_id
    guess = data.draw(
        st.one_of(HOSTILE_TEXT, st.sampled_from(pins), near_misses(pins[0])), label="guess"
    )
    match = find_pin(guess, directory.pin_candidates(), CARD_KEY)
    assert (match.owner_id if match else None) == owners.get(guess)


# Card UIDs -----------------------------------------------------------------------------------

CARD_CHARS = string.ascii_letters + string.digits + "._:-"
CARD_LIKE = st.text(st.sampled_from(CARD_CHARS + " \t"), max_size=70)
ENROLLED_CARD = "04:A2:3B:1C:99:80"
CARD_KEY_TEXT = "04A23B1C9980"  # the enrolled card, as every spelling of it reads


def spelled_like_a_card(text):
    """The independent rule: ASCII letters, digits, separators; same card if equal without them."""
    compact = text.strip()
    key = "".join(c for c in compact if c not in ":.-").upper()
    ok = 4 <= len(compact) <= 64 and all(c in CARD_CHARS for c in compact) and len(key) >= 4
    return key if ok else None


@PROPERTY
@given(st.one_of(HOSTILE_TEXT, CARD_LIKE, near_misses(ENROLLED_CARD)))
def test_card_uids_normalise_only_ascii_spellings(uid):
    expected = spelled_like_a_card(uid)
    normalized = _raises_only_access_error(normalize_card_uid, uid)
    assert normalized == expected
    if normalized is not None:
        assert normalize_card_uid(normalized) == normalized  # idempotent
        assert normalized.isascii()


@PROPERTY
@given(st.one_of(HOSTILE_TEXT, CARD_LIKE, near_misses(ENROLLED_CARD), st.just(" 04a23b1c9980 ")))
def test_only_the_same_card_gives_the_same_digest(uid):
    enrolled = card_digest(ENROLLED_CARD, CARD_KEY)
    digest = _raises_only_access_error(card_digest, uid, CARD_KEY)
    assert (digest == enrolled) is (spelled_like_a_card(uid) == CARD_KEY_TEXT)


# Names ---------------------------------------------------------------------------------------


@PROPERTY
@given(HOSTILE_TEXT)
def test_stored_names_are_printable_and_always_saveable(name):
    directory = Directory()
    directory.sync_household("h", [Mode.PIN], Policy.ANY)
    resident = _raises_only_access_error(directory.add_resident, "h", name)
    if resident is None:
        assert directory.residents == {}
        return
    stored = resident.name
    assert stored == stored.strip()
    assert 1 <= len(stored) <= MAX_NAME_LENGTH
    # No control character (log and display injection), no lone surrogate (unsaveable).
    assert not any(unicodedata.category(c) in ("Cc", "Cs") for c in stored)
    # The store serialises with strict UTF-8 (orjson): a name must never make that fail.
    text = json.dumps(directory.as_dict(), ensure_ascii=False).encode("utf-8")
    restored = Directory()
    restored.load(json.loads(text))
    assert restored.residents[resident.resident_id].name == stored


# Lockout -------------------------------------------------------------------------------------

GAPS = st.lists(st.one_of(st.just(0.0), st.floats(0.0, 5.0), st.floats(0.0, 1_000.0)), max_size=120)


def attack(lockout: Lockout, gaps: list[float]) -> list[tuple[float, float]]:
    """An attacker trying at these gaps; returns (time, lockout started) of each heard attempt."""
    now, heard = 1_000_000.0, []
    for gap in gaps:
        now += gap
        if lockout.remaining("front", now):
            continue  # refused unheard
        heard.append((now, lockout.record_failure("front", now)))
    return heard


@PROPERTY
@given(GAPS)
def test_five_guesses_within_the_window_always_lock_out(gaps):
    policy = LockoutPolicy()
    heard = attack(Lockout(policy), gaps)
    for i in range(len(heard) - policy.max_failures + 1):
        run = heard[i : i + policy.max_failures]
        if run[-1][0] - run[0][0] < policy.window:
            assert any(started for _, started in run), run


@PROPERTY
@given(GAPS)
def test_lockouts_escalate_within_their_bounds(gaps):
    policy = LockoutPolicy()
    lockout = Lockout(policy)
    started = [s for _, s in attack(lockout, gaps) if s]
    assert started[:1] in ([], [policy.first_lockout])
    for before, after in itertools.pairwise(started):
        # Each lockout doubles the one before (up to the cap), or starts over after a quiet spell.
        assert after in (policy.first_lockout, min(2 * before, policy.max_lockout))


@PROPERTY
@given(GAPS, st.floats(0.0, 2_000.0))
def test_lockout_survives_a_restart(gaps, later):
    lockout = Lockout()
    attack(lockout, gaps)
    restored = Lockout()
    restored.load(json.loads(json.dumps(lockout.as_dict())))
    now = 1_000_000.0 + sum(gaps) + later
    assert restored.remaining("front", now) == lockout.remaining("front", now)
    assert restored.record_failure("front", now) == lockout.record_failure("front", now)


# Audit ---------------------------------------------------------------------------------------

RECORDS = st.lists(
    st.tuples(
        st.floats(0.0, 100.0),
        st.sampled_from(["front", "garage"]),
        st.sampled_from(["pin", "card", "face"]),
        st.sampled_from(list(Outcome)),
        st.sampled_from(["unknown_credential", "locked_out", "granted"]),
    ),
    max_size=200,
)


@PROPERTY
@given(RECORDS, st.integers(0, 50))
def test_audit_is_bounded_ordered_and_counts_every_attempt(items, max_records):
    log, now, added = AuditLog(max_records=max_records), 1_000_000.0, 0
    for gap, door, method, outcome, reason in items:
        now += gap
        log.add(AuditRecord(now, door, method, outcome, reason))
        added += 1
        assert len(log.records) <= max_records
    times = [r.time for r in log.records]
    assert times == sorted(times)
    assert sum(r.count for r in log.records) <= added
    if max_records >= len(items):
        assert sum(r.count for r in log.records) == added  # folded, never lost


@PROPERTY
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["front", "garage"]),
            st.sampled_from(["pin", "card", "face"]),
            st.floats(0.0, 0.5),  # as fast as a script can try
        ),
        min_size=1,
        max_size=500,
    )
)
def test_refusals_while_locked_out_fold_whatever_their_order(attempts):
    """A flood at locked-out doors (any mix of methods and doors) adds a handful of records."""
    log, start = AuditLog(), 1_000_000.0
    log.add(AuditRecord(start, "front", "manual", Outcome.GRANTED, "admin"))
    now = start
    for door, method, gap in attempts:
        now += gap
        log.add(AuditRecord(now, door, method, Outcome.DENIED, "locked_out"))
    # The grant, then per door and method one record per minute at most: bounded by time,
    # whatever the number of attempts.
    assert len(log.records) - 1 <= 2 * 3 * (1 + int((now - start) // AGGREGATE_WINDOW))
    assert log.records[0].reason == "admin"  # the flood pushed nothing out
    assert sum(r.count for r in log.records[1:]) == len(attempts)


# The controller ------------------------------------------------------------------------------


@SLOW_PROPERTY
@given(
    st.lists(
        st.tuples(
            st.one_of(
                st.tuples(st.just("pin"), st.one_of(HOSTILE_TEXT, near_misses(GOOD_PIN))),
                st.tuples(st.just("pin"), st.just(GOOD_PIN)),
                st.tuples(st.just("card"), st.one_of(CARD_LIKE, near_misses(ENROLLED_CARD))),
                st.tuples(st.just("card"), st.just(ENROLLED_CARD)),
            ),
            st.floats(0.0, 40.0),
        ),
        max_size=40,
    )
)
def test_the_controller_opens_only_for_a_credential_and_never_while_locked_out(attempts):
    directory = Directory()
    directory.sync_household("h", [Mode.PIN, Mode.CARD], Policy.ANY)
    resident = directory.add_resident("h", "Resident").resident_id
    directory.set_pin(resident, cheap_hash(GOOD_PIN))
    directory.add_card(resident, card_digest(ENROLLED_CARD, CARD_KEY))
    lockout, audit = Lockout(), AuditLog()
    controller = AccessController(directory, lockout, audit)
    door = Door("front", frozenset({"h"}))
    now = 1_000_000.0
    for (method, secret), gap in attempts:
        now += gap
        locked = lockout.remaining("front", now) > 0
        decision = controller.refuse_if_locked_out(door, method, now)
        if decision is None:
            if method == "pin":
                match = find_pin(secret, directory.pin_candidates(door.household_ids), CARD_KEY)
                decision = controller.decide_pin(door, match, now)
            else:
                digest = _raises_only_access_error(card_digest, secret, CARD_KEY)
                if digest is None:
                    continue  # a malformed UID is refused before the controller (gate.py)
                decision = controller.decide_card(door, digest, now)
        valid = (
            secret == GOOD_PIN if method == "pin" else spelled_like_a_card(secret) == CARD_KEY_TEXT
        )
        assert decision.granted is (valid and not locked), (method, secret, locked)
