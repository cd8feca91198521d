"""Constants shared across FaceGate."""

from typing import Final

DOMAIN: Final = "facegate"
DEFAULT_SITE_NAME: Final = "Home"
