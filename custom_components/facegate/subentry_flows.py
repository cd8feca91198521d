"""Subentry flows: the doors and households of a site, added and changed from the UI."""

import math
from collections.abc import Iterable, Mapping
from typing import Any

import probatio
from homeassistant.config_entries import (
    ConfigEntryState,
    ConfigSubentry,
    ConfigSubentryFlow,
    SubentryFlowResult,
)
from homeassistant.const import CONF_NAME
from homeassistant.helpers.selector import (
    BooleanSelector,
    DeviceSelector,
    DeviceSelectorConfig,
    EntitySelector,
    EntitySelectorConfig,
    NumberSelector,
    NumberSelectorConfig,
    NumberSelectorMode,
    SelectOptionDict,
    SelectSelector,
    SelectSelectorConfig,
    SelectSelectorMode,
    TextSelector,
)
from homeassistant.util import slugify

from .const import (
    CONF_ALLOW_AUTOMATION_UNLOCK,
    CONF_ALLOW_VOICE_UNLOCK,
    CONF_CAMERA_ENTITY_IDS,
    CONF_FACE_TRIGGER_IDS,
    CONF_HOUSEHOLD_IDS,
    CONF_MODES,
    CONF_POLICY,
    CONF_READER_DEVICE_IDS,
    CONF_RELOCK_AFTER_BYPASS,
    CONF_RELOCK_DELAY,
    CONF_SCAN_DURATION,
    CONF_SCAN_INTERVAL,
    CONF_TARGET_ENTITY_ID,
    DEFAULT_RELOCK_DELAY,
    DEFAULT_SCAN_DURATION,
    DEFAULT_SCAN_INTERVAL,
    INITIAL_MODES,
    MAX_RELOCK_DELAY,
    MAX_SCAN_DURATION,
    MAX_SCAN_INTERVAL,
    MIN_RELOCK_DELAY,
    MIN_SCAN_DURATION,
    MIN_SCAN_INTERVAL,
    POLICIES,
    POLICY_ANY,
    POLICY_TWO_MODES,
    SUBENTRY_HOUSEHOLD,
)

NAME_FIELD = {probatio.Required(CONF_NAME): TextSelector()}
POLICY_SELECTOR = SelectSelector(
    SelectSelectorConfig(
        options=list(POLICIES), translation_key="household_policy", mode=SelectSelectorMode.LIST
    )
)


def is_valid_name(name: str) -> bool:
    """Tell whether a name has a letter or digit, so that it gives a meaningful slug."""
    return any(char.isalnum() for char in name)


def subentry_unique_id(subentry_type: str, name: str) -> str:
    """Build a door's or household's unique id.

    Home Assistant checks subentry unique ids across all types of an entry, so the type is part
    of it: a door and a household may share a name (door "Flat 2", household "Flat 2").
    """
    return f"{subentry_type}:{slugify(name)}"


def _unique(values: Iterable[str]) -> list[str]:
    """Drop repeated values, keep the order."""
    return list(dict.fromkeys(values))


class _NamedSubentryFlow(ConfigSubentryFlow):
    """What doors and households share: a loaded site and a name unique among their kind."""

    def _entry_loaded(self) -> bool:
        """Tell whether the site runs; its runtime data is what the new subentry joins."""
        return self._get_entry().state is ConfigEntryState.LOADED

    def _name_taken(self, name: str, own_id: str | None = None) -> bool:
        """Tell whether another subentry of this type already has this name (as a slug)."""
        unique_id = subentry_unique_id(self._subentry_type, name)
        return any(
            sub.unique_id == unique_id and sub.subentry_id != own_id
            for sub in self._get_entry().subentries.values()
        )

    def _save_changes(self, sub: ConfigSubentry, data: dict[str, Any]) -> SubentryFlowResult:
        """Store a reconfigured subentry; the entry's update listener (if any) reloads it."""
        name: str = data[CONF_NAME]
        return self.async_update_and_abort(
            self._get_entry(),
            sub,
            title=name,
            data=data,
            unique_id=subentry_unique_id(self._subentry_type, name),
        )


class DoorSubentryFlow(_NamedSubentryFlow):
    """Add or change a door: what opens it, who may pass and how readers and cameras map to it."""

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> SubentryFlowResult:
        """Add a door."""
        if not self._entry_loaded():
            return self.async_abort(reason="entry_not_loaded")
        errors: dict[str, str] = {}
        if user_input is not None:
            data, errors = self._validate(user_input)
            if not errors and self._name_taken(data[CONF_NAME]):
                errors[CONF_NAME] = "name_in_use"  # a field error keeps every other input
            if not errors:
                name = data[CONF_NAME]
                return self.async_create_entry(
                    title=name, data=data, unique_id=subentry_unique_id(self._subentry_type, name)
                )
        return self._show("user", user_input or {}, errors)

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Change a door."""
        if not self._entry_loaded():
            return self.async_abort(reason="entry_not_loaded")
        sub = self._get_reconfigure_subentry()
        errors: dict[str, str] = {}
        if user_input is not None:
            data, errors = self._validate(user_input)
            if not errors and self._name_taken(data[CONF_NAME], sub.subentry_id):
                errors[CONF_NAME] = "name_in_use"
            if not errors:
                return self._save_changes(sub, data)
        return self._show("reconfigure", user_input or sub.data, errors)

    def _households(self) -> dict[str, str]:
        """Map the site's household subentry ids to their titles."""
        return {
            sub.subentry_id: sub.title
            for sub in self._get_entry().get_subentries_of_type(SUBENTRY_HOUSEHOLD)
        }

    def _validate(self, user_input: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
        """Turn the form into the door's data (plain JSON values) and the form's errors."""
        for key in (CONF_RELOCK_DELAY, CONF_SCAN_INTERVAL, CONF_SCAN_DURATION):
            if key in user_input and not math.isfinite(float(user_input[key])):
                return {}, {key: "invalid_number"}  # the number selector lets NaN through
        data: dict[str, Any] = {
            CONF_NAME: str(user_input[CONF_NAME]).strip(),
            # An empty target means a virtual door: FaceGate decides, nothing moves.
            CONF_TARGET_ENTITY_ID: user_input.get(CONF_TARGET_ENTITY_ID) or None,
            CONF_CAMERA_ENTITY_IDS: _unique(user_input.get(CONF_CAMERA_ENTITY_IDS, [])),
            CONF_FACE_TRIGGER_IDS: _unique(user_input.get(CONF_FACE_TRIGGER_IDS, [])),
            CONF_READER_DEVICE_IDS: _unique(user_input.get(CONF_READER_DEVICE_IDS, [])),
            CONF_HOUSEHOLD_IDS: _unique(user_input.get(CONF_HOUSEHOLD_IDS, [])),
            CONF_RELOCK_DELAY: int(user_input.get(CONF_RELOCK_DELAY, DEFAULT_RELOCK_DELAY)),
            CONF_ALLOW_VOICE_UNLOCK: bool(user_input.get(CONF_ALLOW_VOICE_UNLOCK, False)),
            CONF_RELOCK_AFTER_BYPASS: bool(user_input.get(CONF_RELOCK_AFTER_BYPASS, True)),
            CONF_ALLOW_AUTOMATION_UNLOCK: bool(user_input.get(CONF_ALLOW_AUTOMATION_UNLOCK, False)),
            CONF_SCAN_INTERVAL: float(user_input.get(CONF_SCAN_INTERVAL, DEFAULT_SCAN_INTERVAL)),
            CONF_SCAN_DURATION: int(user_input.get(CONF_SCAN_DURATION, DEFAULT_SCAN_DURATION)),
        }
        errors: dict[str, str] = {}
        if not is_valid_name(data[CONF_NAME]):
            errors[CONF_NAME] = "invalid_name"
        # The form's options may be stale: a household can be removed while the form is open.
        if not set(data[CONF_HOUSEHOLD_IDS]) <= self._households().keys():
            errors[CONF_HOUSEHOLD_IDS] = "unknown_household"
        return data, errors

    def _show(
        self, step_id: str, values: Mapping[str, Any], errors: dict[str, str]
    ) -> SubentryFlowResult:
        """Show the door form, prefilled with values that are still valid."""
        households = self._households()
        suggested = dict(values)
        # Suggesting a removed household would make the form fail its own validation.
        suggested[CONF_HOUSEHOLD_IDS] = [
            hid for hid in values.get(CONF_HOUSEHOLD_IDS, []) if hid in households
        ]
        return self.async_show_form(
            step_id=step_id,
            data_schema=self.add_suggested_values_to_schema(_door_schema(households), suggested),
            errors=errors,
        )


def _door_schema(households: Mapping[str, str]) -> probatio.Schema:
    """Build the door form; the household choice lists the site's current households."""
    options = [SelectOptionDict(value=hid, label=title) for hid, title in households.items()]
    return probatio.Schema(
        {
            **NAME_FIELD,
            probatio.Optional(CONF_TARGET_ENTITY_ID): EntitySelector(
                EntitySelectorConfig(domain=["lock", "switch"])
            ),
            probatio.Optional(CONF_CAMERA_ENTITY_IDS): EntitySelector(
                EntitySelectorConfig(domain="camera", multiple=True)
            ),
            probatio.Optional(CONF_FACE_TRIGGER_IDS): EntitySelector(
                EntitySelectorConfig(
                    domain=["binary_sensor", "event", "input_boolean"], multiple=True
                )
            ),
            probatio.Required(CONF_SCAN_INTERVAL, default=DEFAULT_SCAN_INTERVAL): _seconds(
                MIN_SCAN_INTERVAL, MAX_SCAN_INTERVAL, step=0.1
            ),
            probatio.Required(CONF_SCAN_DURATION, default=DEFAULT_SCAN_DURATION): _seconds(
                MIN_SCAN_DURATION, MAX_SCAN_DURATION
            ),
            probatio.Optional(CONF_READER_DEVICE_IDS): DeviceSelector(
                DeviceSelectorConfig(multiple=True)
            ),
            probatio.Optional(CONF_HOUSEHOLD_IDS): SelectSelector(
                SelectSelectorConfig(options=options, multiple=True, sort=True)
            ),
            probatio.Required(CONF_RELOCK_DELAY, default=DEFAULT_RELOCK_DELAY): _seconds(
                MIN_RELOCK_DELAY, MAX_RELOCK_DELAY
            ),
            probatio.Optional(CONF_ALLOW_VOICE_UNLOCK, default=False): BooleanSelector(),
            probatio.Optional(CONF_RELOCK_AFTER_BYPASS, default=True): BooleanSelector(),
            probatio.Optional(CONF_ALLOW_AUTOMATION_UNLOCK, default=False): BooleanSelector(),
        }
    )


def _seconds(low: float, high: float, step: float = 1) -> NumberSelector:
    return NumberSelector(
        NumberSelectorConfig(
            min=low, max=high, step=step, unit_of_measurement="s", mode=NumberSelectorMode.BOX
        )
    )


HOUSEHOLD_ADD_SCHEMA = probatio.Schema(
    {
        **NAME_FIELD,
        # Face is left out on purpose: only the household's residents switch it on, later.
        probatio.Required(CONF_MODES, default=list(INITIAL_MODES)): SelectSelector(
            SelectSelectorConfig(
                options=list(INITIAL_MODES),
                multiple=True,
                translation_key="household_mode",
                mode=SelectSelectorMode.LIST,
            )
        ),
        probatio.Required(CONF_POLICY, default=POLICY_ANY): POLICY_SELECTOR,
    }
)
# The modes are changed by switches afterwards and live in FaceGate's store, not here.
HOUSEHOLD_RECONFIGURE_SCHEMA = probatio.Schema(
    {**NAME_FIELD, probatio.Required(CONF_POLICY): POLICY_SELECTOR}
)


class HouseholdSubentryFlow(_NamedSubentryFlow):
    """Add or change a household: the people who share the same access rules."""

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> SubentryFlowResult:
        """Add a household with its first modes and its policy."""
        if not self._entry_loaded():
            return self.async_abort(reason="entry_not_loaded")
        errors: dict[str, str] = {}
        if user_input is not None:
            name = str(user_input[CONF_NAME]).strip()
            # Keep the modes in a fixed order, whatever order they were ticked in.
            modes = [mode for mode in INITIAL_MODES if mode in user_input[CONF_MODES]]
            policy: str = user_input[CONF_POLICY]
            errors = _household_errors(name, modes, policy)
            if not errors and self._name_taken(name):
                errors[CONF_NAME] = "name_in_use"
            if not errors:
                return self.async_create_entry(
                    title=name,
                    data={CONF_NAME: name, CONF_MODES: modes, CONF_POLICY: policy},
                    unique_id=subentry_unique_id(self._subentry_type, name),
                )
        return self.async_show_form(
            step_id="user",
            data_schema=self.add_suggested_values_to_schema(HOUSEHOLD_ADD_SCHEMA, user_input),
            errors=errors,
        )

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Rename a household or change its policy."""
        if not self._entry_loaded():
            return self.async_abort(reason="entry_not_loaded")
        sub = self._get_reconfigure_subentry()
        errors: dict[str, str] = {}
        if user_input is not None:
            name = str(user_input[CONF_NAME]).strip()
            if not is_valid_name(name):
                errors[CONF_NAME] = "invalid_name"
            elif self._name_taken(name, sub.subentry_id):
                errors[CONF_NAME] = "name_in_use"
            else:
                # The initial modes stay as they were; only the name and the policy change.
                data = {**sub.data, CONF_NAME: name, CONF_POLICY: user_input[CONF_POLICY]}
                return self._save_changes(sub, data)
        return self.async_show_form(
            step_id="reconfigure",
            data_schema=self.add_suggested_values_to_schema(
                HOUSEHOLD_RECONFIGURE_SCHEMA, user_input or sub.data
            ),
            errors=errors,
        )


def _household_errors(name: str, modes: list[str], policy: str) -> dict[str, str]:
    """Check a new household's form."""
    errors: dict[str, str] = {}
    if not is_valid_name(name):
        errors[CONF_NAME] = "invalid_name"
    if not modes:
        errors[CONF_MODES] = "no_mode"
    elif policy == POLICY_TWO_MODES and len(modes) < 2:
        errors[CONF_POLICY] = "two_modes_need_two"
    return errors
