"""PINs and card UIDs: strength rules, salted slow hashes and keyed digests.

Nothing here keeps a PIN or a card UID: callers get hashes and digests to store. Hashing a PIN
is deliberately slow (scrypt, about 36 ms on a 2-core x86 machine), so callers run it in an
executor thread; hashlib releases the GIL while it works.
"""

import base64
import hashlib
import hmac
import itertools
import re
import secrets
from dataclasses import dataclass
from typing import Any

from .errors import AccessError

PIN_PATTERN = re.compile(r"[0-9]{4,12}")  # ASCII only: what a keypad can type
CODE_FORMAT = r"^[0-9]{4,12}$"  # what a lock entity announces; anchored for re.match
MIN_CARD_CHARS = 4
CARD_PATTERN = re.compile(r"[0-9A-Za-z._:-]{4,64}")

# PINs that people choose most often or that follow the keypad's shape; refused whatever length.
COMMON_PINS = frozenset(
    {
        "1004", "1122", "1212", "1313", "2580", "0852", "1470", "3690", "6969",
        "112233", "121212", "123123", "123321", "147258", "159753", "159357", "258258",
        "520520", "520131", "654321", "666888", "789456", "147258369",
    }
)  # fmt: skip

SCRYPT_N = 2**14  # about 16 MiB of memory per hash: costly to brute-force a stolen store
SCRYPT_R = 8
SCRYPT_P = 1
HASH_BYTES = 32
# Domain separation: the PIN lookup key is derived from the site's card key, never equal to it.
_LOOKUP_CONTEXT = b"facegate pin lookup v1"


def check_pin_strength(pin: str) -> None:
    """Raise AccessError("pin_format" or "pin_weak") unless the PIN is acceptable."""
    if not PIN_PATTERN.fullmatch(pin):
        raise AccessError("pin_format")
    if _is_weak(pin):
        raise AccessError("pin_weak")


def _is_weak(pin: str) -> bool:
    steps = {(int(b) - int(a)) % 10 for a, b in itertools.pairwise(pin)}
    if steps <= {0} or steps in ({1}, {9}):  # 7777, 3456 / 8901, 6543
        return True
    if any(pin == pin[:size] * (len(pin) // size) for size in (2, 3) if len(pin) % size == 0):
        return True  # 1212, 123123, 4747
    if len(pin) == 4 and 1900 <= int(pin) <= 2099:  # years are guessed first
        return True
    return pin in COMMON_PINS


@dataclass(frozen=True, slots=True)
class PinHash:
    """A salted scrypt hash of a PIN, with the cost parameters it was made with.

    `lookup` is the PIN's keyed digest (pin_lookup), which finds the hash to verify without
    trying every one; None for hashes stored before it existed, until the PIN is next used.
    """

    salt: str
    digest: str
    n: int = SCRYPT_N
    r: int = SCRYPT_R
    p: int = SCRYPT_P
    lookup: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form for the store."""
        return {
            "salt": self.salt,
            "digest": self.digest,
            "n": self.n,
            "r": self.r,
            "p": self.p,
            "lookup": self.lookup,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PinHash:
        """Read the store's form back."""
        lookup = data.get("lookup")
        return cls(
            str(data["salt"]),
            str(data["digest"]),
            int(data["n"]),
            int(data["r"]),
            int(data["p"]),
            str(lookup) if lookup else None,
        )


def hash_pin(pin: str, key: bytes) -> PinHash:
    """Hash a PIN with a fresh random salt, with its lookup digest (slow: call from an executor).

    `key` is the site's card key (the lookup key is derived from it).
    """
    salt = secrets.token_bytes(16)
    digest = _scrypt(pin, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P)
    return PinHash(_b64(salt), _b64(digest), lookup=pin_lookup(pin, key))


def pin_lookup(pin: str, key: bytes) -> str:
    """The keyed digest of a PIN that names its stored hash (fast: two HMACs).

    Keyed like card digests, with a key derived from the site's card key, which lives in the
    private secrets file: the site store alone does not let anyone test PINs against it.
    Whoever holds both files can test every 4 to 6-digit PIN in seconds, as they could test
    them against the scrypt hashes in hours: the scrypt hash guards the store, not the keys.
    """
    lookup_key = hmac.new(key, _LOOKUP_CONTEXT, hashlib.sha256).digest()
    return hmac.new(lookup_key, pin.encode(), hashlib.sha256).hexdigest()


def verify_pin(pin: str, stored: PinHash) -> bool:
    """Whether the PIN matches the hash, compared in constant time (slow: executor).

    Only a PIN (ASCII digits, as every stored hash was made from) can match: scrypt's HMAC
    would take "1234" followed by a NUL character for "1234", and a lone surrogate cannot even
    be encoded.
    """
    if not PIN_PATTERN.fullmatch(pin):
        return False
    salt = _unb64(stored.salt)
    return hmac.compare_digest(
        _scrypt(pin, salt, stored.n, stored.r, stored.p), _unb64(stored.digest)
    )


# Verified when no stored hash is named, so that every attempt costs one key derivation.
UNMATCHABLE = PinHash("A" * 24, "A" * 44)  # zero salt; a digest no scrypt output equals


def _scrypt(pin: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(pin.encode(), salt=salt, n=n, r=r, p=p, dklen=HASH_BYTES)


def normalize_card_uid(uid: str) -> str:
    """A card UID as readers spell it differently ('04:a2-..' vs '04A2..'), or AccessError."""
    compact = uid.strip()
    normalized = re.sub(r"[:.\-]", "", compact).upper()
    if not CARD_PATTERN.fullmatch(compact) or len(normalized) < MIN_CARD_CHARS:
        raise AccessError("card_format")
    return normalized


def card_digest(uid: str, key: bytes) -> str:
    """Keyed digest of a card UID: what the store keeps instead of the UID."""
    return hmac.new(key, normalize_card_uid(uid).encode(), hashlib.sha256).hexdigest()


def same_digest(left: str, right: str) -> bool:
    """Constant-time comparison of two stored digests."""
    return hmac.compare_digest(left.encode(), right.encode())


def new_visitor_code() -> str:
    """A random 8-digit code that passes the strength rules."""
    while True:
        code = f"{secrets.randbelow(10**8):08d}"
        if not _is_weak(code):
            return code


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.b64decode(text)
