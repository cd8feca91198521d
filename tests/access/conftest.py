"""Fixtures for the access tests: real (slow) scrypt hashes, made once per session."""

import pytest

from custom_components.facegate.access.credentials import PinHash, hash_pin

from .helpers import CARD_KEY, GOOD_PIN, OTHER_PIN, THIRD_PIN


@pytest.fixture(scope="session")
def real_hashes() -> dict[str, PinHash]:
    """Real hashes of three PINs (about 40 ms each)."""
    return {pin: hash_pin(pin, CARD_KEY) for pin in (GOOD_PIN, OTHER_PIN, THIRD_PIN)}
