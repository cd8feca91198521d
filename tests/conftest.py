"""Shared fixtures for FaceGate's tests."""

import pytest

# Importing the integration here makes the `hass` fixture find this repository's
# custom_components package, not the test plugin's own.
from custom_components.facegate.const import DOMAIN  # noqa: F401


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(enable_custom_integrations: None) -> None:
    """Let every test load custom integrations."""
