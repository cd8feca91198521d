"""Household modes as switches on the household's device: card, PIN and face.

Only admins and the household's linked residents may change them, and a change that would
leave no mode, or face alone, is refused with a translated error.
"""

from typing import Any

from homeassistant.components.switch import SwitchEntity
from homeassistant.const import EntityCategory
from homeassistant.core import Context, HomeAssistant, callback
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .access.errors import AccessError
from .access.modes import Mode
from .const import DOMAIN
from .entity import FaceGateEntity, async_add_per_subentry, household_device
from .permissions import async_check_may_manage
from .runtime import FaceGateConfigEntry, FaceGateRuntime

PARALLEL_UPDATES = 0  # nothing is polled; actions run as they come


async def async_setup_entry(
    hass: HomeAssistant,
    entry: FaceGateConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the three mode switches of each household."""
    runtime = entry.runtime_data

    @callback
    def add(subentry_id: str) -> None:
        if (name := runtime.household_names.get(subentry_id)) is not None:
            async_add_entities(
                [HouseholdModeSwitch(runtime, subentry_id, name, mode) for mode in Mode],
                config_subentry_id=subentry_id,
            )

    async_add_per_subentry(hass, entry, add)


class HouseholdModeSwitch(FaceGateEntity, SwitchEntity):
    """Whether a household lets its residents in by this mode."""

    _attr_entity_category = EntityCategory.CONFIG  # a setting of the household

    def __init__(self, runtime: FaceGateRuntime, household_id: str, name: str, mode: Mode) -> None:
        super().__init__(household_device(household_id, name), f"{household_id}_mode_{mode}")
        self._runtime = runtime
        self._household_id = household_id
        self._mode = mode
        self._attr_translation_key = f"mode_{mode}"

    @property
    def is_on(self) -> bool:
        """Whether the mode is enabled."""
        household = self._runtime.directory.households.get(self._household_id)
        return household is not None and self._mode in household.modes

    async def async_turn_on(self, **kwargs: Any) -> None:
        """Enable the mode."""
        await self._async_set(enabled=True)

    async def async_turn_off(self, **kwargs: Any) -> None:
        """Disable the mode (refused if it would leave face alone or nothing)."""
        await self._async_set(enabled=False)

    async def _async_set(self, *, enabled: bool) -> None:
        context = self._context or Context()  # no context: no user, so not allowed
        await async_check_may_manage(self.hass, self._runtime, context, self._household_id)
        try:
            self._runtime.directory.set_mode(self._household_id, self._mode, enabled)
        except AccessError as err:
            raise ServiceValidationError(
                translation_domain=DOMAIN, translation_key=err.reason
            ) from None
        await self._runtime.async_save()
        self.async_write_ha_state()
