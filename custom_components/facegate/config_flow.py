"""Config flow: one config entry per site (a home or a building)."""

from typing import Any

import probatio
from homeassistant.config_entries import ConfigFlow, ConfigFlowResult, ConfigSubentryFlow
from homeassistant.const import CONF_NAME
from homeassistant.core import callback
from homeassistant.util import slugify

from .const import DEFAULT_SITE_NAME, DOMAIN, SUBENTRY_DOOR, SUBENTRY_HOUSEHOLD
from .options_flow import SiteOptionsFlow
from .runtime import FaceGateConfigEntry
from .subentry_flows import DoorSubentryFlow, HouseholdSubentryFlow, is_valid_name

SITE_SCHEMA = probatio.Schema({probatio.Required(CONF_NAME, default=DEFAULT_SITE_NAME): str})


class FaceGateConfigFlow(ConfigFlow, domain=DOMAIN):
    """Create a FaceGate site from the UI."""

    VERSION = 1
    MINOR_VERSION = 1

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Ask for the site's name; one entry per name."""
        errors: dict[str, str] = {}
        if user_input is not None:
            name = user_input[CONF_NAME].strip()
            if not is_valid_name(name):
                errors[CONF_NAME] = "invalid_name"
            else:
                await self.async_set_unique_id(slugify(name))
                self._abort_if_unique_id_configured()
                return self.async_create_entry(title=name, data={CONF_NAME: name})
        return self.async_show_form(
            step_id="user",
            data_schema=self.add_suggested_values_to_schema(SITE_SCHEMA, user_input),
            errors=errors,
        )

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Rename the site (its doors and households have their own reconfigure steps)."""
        entry: FaceGateConfigEntry = self._get_reconfigure_entry()
        errors: dict[str, str] = {}
        if user_input is not None:
            name = user_input[CONF_NAME].strip()
            unique_id = slugify(name)
            if not is_valid_name(name):
                errors[CONF_NAME] = "invalid_name"
            elif any(
                other.unique_id == unique_id and other.entry_id != entry.entry_id
                for other in self._async_current_entries(include_ignore=False)
            ):
                errors[CONF_NAME] = "already_configured"  # a field error: the input stays
            else:
                return self.async_update_reload_and_abort(
                    entry, unique_id=unique_id, title=name, data_updates={CONF_NAME: name}
                )
        return self.async_show_form(
            step_id="reconfigure",
            data_schema=self.add_suggested_values_to_schema(
                SITE_SCHEMA, user_input or {CONF_NAME: entry.title}
            ),
            errors=errors,
        )

    @staticmethod
    @callback
    def async_get_options_flow(config_entry: FaceGateConfigEntry) -> SiteOptionsFlow:
        """Settings and residents of the site."""
        return SiteOptionsFlow()

    @classmethod
    @callback
    def async_get_supported_subentry_types(
        cls, config_entry: FaceGateConfigEntry
    ) -> dict[str, type[ConfigSubentryFlow]]:
        """Offer doors and households; fixed, because Home Assistant caches this per entry."""
        return {SUBENTRY_DOOR: DoorSubentryFlow, SUBENTRY_HOUSEHOLD: HouseholdSubentryFlow}
