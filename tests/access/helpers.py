"""Shared helpers for the access tests: cheap PIN hashes and a few constants."""

import base64
import hashlib
import secrets

from custom_components.facegate.access.credentials import PinHash

CARD_KEY = b"site-key-for-tests-0123456789abc"


def cheap_hash(pin: str) -> PinHash:
    """A PinHash made with tiny scrypt costs; verify_pin honours the stored parameters."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(pin.encode(), salt=salt, n=2, r=1, p=1, dklen=32)
    return PinHash(
        base64.b64encode(salt).decode(), base64.b64encode(digest).decode(), n=2, r=1, p=1
    )


def fake_hash(tag: str = "x") -> PinHash:
    """A PinHash that matches no PIN, for tests that never verify it."""
    return PinHash(base64.b64encode(tag.encode()).decode(), base64.b64encode(b"0" * 32).decode())


GOOD_PIN = "482915"
OTHER_PIN = "739146"
THIRD_PIN = "50719364"
