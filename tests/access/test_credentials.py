"""PIN strength, PIN hashing, card UID digests and visitor codes."""

import base64
import json
import re

import pytest

from custom_components.facegate.access import credentials
from custom_components.facegate.access.credentials import (
    CODE_FORMAT,
    SCRYPT_N,
    SCRYPT_P,
    SCRYPT_R,
    PinHash,
    card_digest,
    check_pin_strength,
    hash_pin,
    new_visitor_code,
    normalize_card_uid,
    same_digest,
    verify_pin,
)
from custom_components.facegate.access.errors import AccessError

from .helpers import CARD_KEY, GOOD_PIN, OTHER_PIN, cheap_hash


def reason_of(func, *args) -> str:
    with pytest.raises(AccessError) as exc:
        func(*args)
    return exc.value.reason


# PIN strength ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "pin",
    [
        # one digit repeated
        "7777",
        "0000",
        "99999",
        "777777777777",
        # ascending, also wrapping past 9
        "3456",
        "0123",
        "456789",
        "8901",
        "90123",
        "789012345678",
        # descending, also wrapping past 0
        "6543",
        "3210",
        "1098",
        "987654321",
        # repeated blocks of two or three digits
        "1212",
        "4747",
        "123123",
        "907907",
        "835835835",
        "38383838",
        "472472472472",
        # years, 4 digits
        "1900",
        "1987",
        "2024",
        "2099",
        # the common list
        "2580",
        "0852",
        "1004",
        "1470",
        "6969",
        "112233",
        "123321",
        "147258",
        "159753",
        "520131",
        "666888",
        "147258369",
    ],
)
def test_weak_pins_are_refused(pin):
    assert reason_of(check_pin_strength, pin) == "pin_weak"


@pytest.mark.parametrize(
    "pin",
    [
        "4829",
        GOOD_PIN,
        "1899",  # just before the years
        "2100",  # just after the years
        "19870",  # a year with a fifth digit is no longer a year
        "1235",  # almost ascending
        "12341234",  # blocks of four are not in the rule
        "902417385561",  # twelve digits
    ],
)
def test_good_pins_are_accepted(pin):
    assert check_pin_strength(pin) is None


@pytest.mark.parametrize(
    "pin",
    [
        "",
        "482",  # three digits
        "4829173650281",  # thirteen digits
        "48a9",
        "abcd",
        " 4829",
        "4829 ",
        "48-29",
        "4829\n",
        "+4829",
        "-4829",
    ],
)
def test_badly_formed_pins_are_refused(pin):
    assert reason_of(check_pin_strength, pin) == "pin_format"


def test_format_is_checked_before_strength():
    # "777" is weak as well as too short: the format reason wins.
    assert reason_of(check_pin_strength, "777") == "pin_format"


@pytest.mark.parametrize("pin", ["\uff14\uff18\uff12\uff19", "\u0664\u0668\u0662\u0669"])
def test_non_ascii_digits_are_refused(pin):
    assert reason_of(check_pin_strength, pin) == "pin_format"


@pytest.mark.parametrize(
    ("code", "matches"),
    [("4829", True), ("902417385561", True), ("482", False), ("4829173650281", False)],
)
def test_code_format_agrees_with_pin_length(code, matches):
    assert bool(re.match(CODE_FORMAT, code)) is matches


# Hashing ----------------------------------------------------------------------------------


def test_hash_uses_default_costs_and_sizes(real_hashes):
    stored = real_hashes[GOOD_PIN]
    assert (stored.n, stored.r, stored.p) == (SCRYPT_N, SCRYPT_R, SCRYPT_P)
    assert len(base64.b64decode(stored.salt)) == 16
    assert len(base64.b64decode(stored.digest)) == 32


def test_verify_right_and_wrong_pin(real_hashes):
    stored = real_hashes[GOOD_PIN]
    assert verify_pin(GOOD_PIN, stored) is True
    assert verify_pin(OTHER_PIN, stored) is False


def test_same_pin_hashes_with_different_salts(real_hashes):
    again = hash_pin(GOOD_PIN, CARD_KEY)
    first = real_hashes[GOOD_PIN]
    assert again.salt != first.salt
    assert again.digest != first.digest
    assert verify_pin(GOOD_PIN, again)


def test_hash_contains_no_pin(real_hashes):
    stored = real_hashes[GOOD_PIN]
    assert GOOD_PIN not in repr(stored)
    assert GOOD_PIN not in json.dumps(stored.as_dict())


def test_pin_hash_round_trip(real_hashes):
    stored = real_hashes[GOOD_PIN]
    data = json.loads(json.dumps(stored.as_dict()))
    assert data == {
        "salt": stored.salt,
        "digest": stored.digest,
        "n": SCRYPT_N,
        "r": SCRYPT_R,
        "p": SCRYPT_P,
        "lookup": stored.lookup,
    }
    restored = PinHash.from_dict(data)
    assert restored == stored
    assert verify_pin(GOOD_PIN, restored)


def test_from_dict_coerces_types():
    restored = PinHash.from_dict({"salt": "c2FsdA==", "digest": "ZA==", "n": "4", "r": 1.0, "p": 1})
    assert restored == PinHash("c2FsdA==", "ZA==", 4, 1, 1)


def test_verify_uses_the_stored_costs():
    stored = cheap_hash(GOOD_PIN)
    assert verify_pin(GOOD_PIN, stored)
    assert not verify_pin(OTHER_PIN, stored)
    # The same salt and digest under other costs no longer match.
    assert not verify_pin(GOOD_PIN, PinHash(stored.salt, stored.digest, n=4, r=1, p=1))


# Cards ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "uid", ["04:a2:3b:1c", "04A23B1C", "04a23b1c", "04-A2-3B-1C", "04.a2.3b.1c", "  04:A2:3b:1C\t"]
)
def test_card_spellings_normalise_and_digest_alike(uid):
    assert normalize_card_uid(uid) == "04A23B1C"
    assert card_digest(uid, CARD_KEY) == card_digest("04A23B1C", CARD_KEY)


def test_underscore_is_kept_by_normalisation():
    assert normalize_card_uid("ab_cd") == "AB_CD"


def test_card_pattern_length_bounds():
    assert normalize_card_uid("a" * 64) == "A" * 64
    assert normalize_card_uid("04a2") == "04A2"


@pytest.mark.parametrize(
    "uid",
    [
        "",
        "   ",
        "04a",  # too short
        "a" * 65,  # too long
        "04 a2 3b 1c",  # inner spaces
        "04;a2;3b",
        "04/a2/3b",
        "04a2\u00e43b",  # non-ASCII letter
        "\uff10\uff14\uff41\uff12",  # full-width
    ],
)
def test_invalid_card_uids_are_refused(uid):
    assert reason_of(normalize_card_uid, uid) == "card_format"
    assert reason_of(card_digest, uid, CARD_KEY) == "card_format"


@pytest.mark.parametrize("uid", ["::::", "-.-:"])
def test_separator_only_uid_is_refused(uid):
    assert reason_of(normalize_card_uid, uid) == "card_format"


def test_card_digest_depends_on_key_and_uid():
    digest = card_digest("04:a2:3b:1c", CARD_KEY)
    assert re.fullmatch(r"[0-9a-f]{64}", digest)
    assert card_digest("04:a2:3b:1c", b"another key") != digest
    assert card_digest("04:a2:3b:1d", CARD_KEY) != digest
    assert card_digest("04:a2:3b:1c", CARD_KEY) == digest  # deterministic


def test_card_digest_does_not_contain_the_uid():
    digest = card_digest("04:a2:3b:1c", CARD_KEY)
    for form in ("04:a2:3b:1c", "04A23B1C", "04a23b1c", "a23b1c", "A23B1C"):
        assert form not in digest


def test_same_digest():
    digest = card_digest("04:a2:3b:1c", CARD_KEY)
    assert same_digest(digest, card_digest("04A23B1C", CARD_KEY))
    assert not same_digest(digest, card_digest("04A23B1D", CARD_KEY))
    assert not same_digest(digest, digest[:-1])
    assert not same_digest(digest, "")


# Visitor codes ----------------------------------------------------------------------------


def test_visitor_codes_are_strong_eight_digits():
    codes = {new_visitor_code() for _ in range(50)}
    assert len(codes) > 45  # random
    for code in codes:
        assert re.fullmatch(r"\d{8}", code)
        check_pin_strength(code)


def test_visitor_code_skips_weak_draws(monkeypatch):
    # ascending, repeated digit (00000000), repeated block, then a strong code.
    draws = iter([12345678, 0, 31313131, 50719364])
    monkeypatch.setattr(credentials.secrets, "randbelow", lambda _bound: next(draws))
    assert new_visitor_code() == "50719364"
    assert next(draws, None) is None


def test_visitor_code_is_zero_padded(monkeypatch):
    monkeypatch.setattr(credentials.secrets, "randbelow", lambda _bound: 4829173)
    assert new_visitor_code() == "04829173"
