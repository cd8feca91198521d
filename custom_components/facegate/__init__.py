"""FaceGate: local, privacy-first door access by card, PIN and face.

Home Assistant's entry points live in integration.py and are looked up here when Home Assistant
first asks for them. Importing the package itself imports nothing more, so the face engine's
worker process, which imports face/worker.py from this package, does not load Home Assistant
(measured: 0.8 s and 1400 modules less at each engine start).
"""

from typing import Any

ENTRY_POINTS = frozenset(
    {
        "CONFIG_SCHEMA",
        "PLATFORMS",
        "async_setup",
        "async_setup_entry",
        "async_unload_entry",
        "async_remove_entry",
    }
)


def __getattr__(name: str) -> Any:
    """Home Assistant's entry points, from integration.py."""
    if name in ENTRY_POINTS:
        from . import integration  # noqa: PLC0415 - on first use, see the docstring

        return getattr(integration, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
