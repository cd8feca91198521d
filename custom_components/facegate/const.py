"""Constants shared across FaceGate."""

from typing import Final

from .access.modes import Mode, Policy

DOMAIN: Final = "facegate"
DEFAULT_SITE_NAME: Final = "Home"

# Config subentry types of a site.
SUBENTRY_DOOR: Final = "door"
SUBENTRY_HOUSEHOLD: Final = "household"

# Door subentry data keys (the name is homeassistant.const.CONF_NAME, "name").
CONF_TARGET_ENTITY_ID: Final = "target_entity_id"  # lock or switch; None: a virtual door
CONF_CAMERA_ENTITY_IDS: Final = "camera_entity_ids"
CONF_READER_DEVICE_IDS: Final = "reader_device_ids"  # tag scanner devices
CONF_FACE_TRIGGER_IDS: Final = "face_trigger_entity_ids"  # motion/doorbell: start face scans
CONF_HOUSEHOLD_IDS: Final = "household_ids"  # subentry ids of the households served
CONF_RELOCK_DELAY: Final = "relock_delay"  # seconds, an int
CONF_ALLOW_VOICE_UNLOCK: Final = "allow_voice_unlock"
CONF_RELOCK_AFTER_BYPASS: Final = "relock_after_bypass"  # relock a target moved outside FaceGate
# Unlock without a code when no user asked (automations, HomeKit): off, nobody is known.
CONF_ALLOW_AUTOMATION_UNLOCK: Final = "allow_automation_unlock"
CONF_SCAN_INTERVAL: Final = "scan_interval"  # seconds between frames while scanning
CONF_SCAN_DURATION: Final = "scan_duration"  # seconds of scanning after a trigger

DEFAULT_RELOCK_DELAY: Final = 5
MIN_RELOCK_DELAY: Final = 1
MAX_RELOCK_DELAY: Final = 300
# An analysis takes about 0.2-0.4 s on a small machine: 2 frames a second keep up with it.
DEFAULT_SCAN_INTERVAL: Final = 0.5
MIN_SCAN_INTERVAL: Final = 0.2
MAX_SCAN_INTERVAL: Final = 10.0
DEFAULT_SCAN_DURATION: Final = 15
MIN_SCAN_DURATION: Final = 3
MAX_SCAN_DURATION: Final = 300

# Household subentry data keys.
CONF_MODES: Final = "modes"  # the modes chosen at creation; later changes live in the store
CONF_POLICY: Final = "policy"

# The values are the access domain's; face is never offered at creation: only residents
# switch it on.
INITIAL_MODES: Final = (Mode.CARD.value, Mode.PIN.value)
POLICY_ANY: Final = Policy.ANY.value  # any one enabled mode opens
POLICY_TWO_MODES: Final = Policy.TWO_MODES.value  # two different modes are needed
POLICIES: Final = tuple(policy.value for policy in Policy)

# Site options.
CONF_AUDIT_RETENTION_DAYS: Final = "audit_retention_days"
DEFAULT_AUDIT_RETENTION_DAYS: Final = 30
CONF_FACE_ENGINE: Final = "face_engine"  # face/models.py ENGINES; default DEFAULT_ENGINE
