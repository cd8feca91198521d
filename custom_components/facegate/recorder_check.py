"""A repair issue while Home Assistant's recorder keeps PINs and card numbers.

The recorder stores the data of every ``call_service`` event (a PIN typed into ``set_pin``,
``present_credential`` or a lock's code field) and of every ``tag_scanned`` event (a card's
number), in clear, unless ``configuration.yaml`` excludes those event types. FaceGate cannot
change what the recorder keeps; it can say so, with the exact configuration to add.
"""

from typing import Final

from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.recorder import DATA_INSTANCE

from .const import DOMAIN

SENSITIVE_EVENT_TYPES: Final = ("call_service", "tag_scanned")
ISSUE_RECORDER: Final = "recorder_keeps_secrets"


@callback
def async_check_recorder(hass: HomeAssistant) -> None:
    """Raise the issue when a running recorder keeps a sensitive event type, else clear it."""
    recorder = hass.data.get(DATA_INSTANCE)
    excluded = set() if recorder is None else {str(e) for e in recorder.exclude_event_types}
    kept = [name for name in SENSITIVE_EVENT_TYPES if name not in excluded]
    if recorder is None or not kept:
        ir.async_delete_issue(hass, DOMAIN, ISSUE_RECORDER)
        return
    # The whole list the recorder needs, its current exclusions first: pasted as it is, it
    # replaces the event_types line without dropping anything already excluded.
    wanted = sorted(excluded - set(SENSITIVE_EVENT_TYPES)) + list(SENSITIVE_EVENT_TYPES)
    ir.async_create_issue(
        hass,
        DOMAIN,
        ISSUE_RECORDER,
        is_fixable=False,
        severity=ir.IssueSeverity.WARNING,
        translation_key=ISSUE_RECORDER,
        translation_placeholders={
            "events": ", ".join(kept),
            "yaml": "recorder:\n  exclude:\n    event_types: [" + ", ".join(wanted) + "]",
        },
    )
