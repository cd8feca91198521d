"""The site's options (Configure on the integration's page): settings and residents.

Home Assistant opens options flows to administrators only. Residents manage themselves with
the actions (services.py), which check the calling user.
"""

import math
from typing import Any

import probatio
from homeassistant.config_entries import ConfigEntryState, ConfigFlowResult, OptionsFlow
from homeassistant.const import CONF_NAME
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers.selector import (
    BooleanSelector,
    EntitySelector,
    EntitySelectorConfig,
    FileSelector,
    FileSelectorConfig,
    NumberSelector,
    NumberSelectorConfig,
    NumberSelectorMode,
    SelectOptionDict,
    SelectSelector,
    SelectSelectorConfig,
    TextSelector,
    TextSelectorConfig,
    TextSelectorType,
)
from homeassistant.setup import async_setup_component

from .access.directory import Resident
from .access.errors import AccessError
from .const import CONF_AUDIT_RETENTION_DAYS, CONF_FACE_ENGINE, DEFAULT_AUDIT_RETENTION_DAYS
from .face.models import DEFAULT_ENGINE, ENGINES, packages_missing
from .face_photos import async_camera_samples, async_uploaded_photos
from .face_service import ISSUE_ENGINE
from .residents import async_check_user, async_record_consent, async_set_pin, has_face_consent
from .runtime import FaceGateRuntime

CONF_HOUSEHOLD = "household"
CONF_RESIDENT = "resident"
CONF_USER = "user"
CONF_SHOW_NAME = "show_name"
CONF_PIN = "pin"
CONF_DURESS_PIN = "duress_pin"
CONF_CONFIRM = "confirm"
CONF_CAMERA = "camera"
CONF_CONSENT = "consent"
NO_USER = "none"  # the user picker's "nobody" choice (user ids are hex, never "none")
PHOTO_FIELDS = ("photo", "photo_2", "photo_3")
CAMERA_SAMPLES = 3
PASSWORD = TextSelector(TextSelectorConfig(type=TextSelectorType.PASSWORD))
DLIB_NOT_INSTALLED = "dlib_not_installed"  # the optional dlib engine's packages are missing


class SiteOptionsFlow(OptionsFlow):
    """Settings of the site, and its residents."""

    _resident_id: str
    _photos_read = False  # whether the uploads of the form being answered were read (and gone)

    async def async_step_init(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Choose what to change."""
        if self.config_entry.state is not ConfigEntryState.LOADED:
            return self.async_abort(reason="entry_not_loaded")
        options = ["settings", "add_resident"]
        if self._runtime.directory.residents:
            options += ["residents", "edit_resident", "enrol_face", "remove_resident"]
        return self.async_show_menu(step_id="init", menu_options=options)

    async def async_step_settings(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """How long the audit trail is kept; which face engine the site uses."""
        errors: dict[str, str] = {}
        if user_input is not None:
            days = float(user_input[CONF_AUDIT_RETENTION_DAYS])
            engine = user_input.get(CONF_FACE_ENGINE, DEFAULT_ENGINE)
            if not math.isfinite(days):  # the number selector lets NaN through
                errors[CONF_AUDIT_RETENTION_DAYS] = "invalid_number"
            elif await self.hass.async_add_executor_job(packages_missing, engine):
                errors[CONF_FACE_ENGINE] = DLIB_NOT_INSTALLED
            else:
                return self.async_create_entry(
                    data={
                        **self.config_entry.options,
                        CONF_AUDIT_RETENTION_DAYS: int(days),
                        CONF_FACE_ENGINE: engine,
                    }
                )
        schema = probatio.Schema(
            {
                probatio.Required(
                    CONF_AUDIT_RETENTION_DAYS, default=DEFAULT_AUDIT_RETENTION_DAYS
                ): NumberSelector(
                    NumberSelectorConfig(
                        min=1, max=365, step=1, unit_of_measurement="d", mode=NumberSelectorMode.BOX
                    )
                ),
                probatio.Required(CONF_FACE_ENGINE, default=DEFAULT_ENGINE): SelectSelector(
                    SelectSelectorConfig(options=list(ENGINES), translation_key=CONF_FACE_ENGINE)
                ),
            }
        )
        return self.async_show_form(
            step_id="settings",
            data_schema=self.add_suggested_values_to_schema(
                schema, user_input or self.config_entry.options
            ),
            errors=errors,
        )

    async def async_step_add_resident(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """A new resident of a household."""
        errors: dict[str, str] = {}
        if user_input is not None:
            directory = self._runtime.directory
            resident: Resident | None = None
            try:
                user_id = _user_id(user_input)
                await async_check_user(self.hass, user_id)
                resident = directory.add_resident(
                    user_input[CONF_HOUSEHOLD],
                    user_input[CONF_NAME],
                    user_id,
                    user_input.get(CONF_SHOW_NAME, False),
                )
                if pin := user_input.get(CONF_PIN):
                    await async_set_pin(
                        self.hass, self._runtime, resident, pin, duress=False, requester=None
                    )
            except AccessError as err:
                if resident is not None:  # a refused PIN adds nobody: the form stays as it was
                    directory.residents.pop(resident.resident_id, None)
                errors[CONF_PIN if err.reason.startswith("pin_") else "base"] = err.reason
                user_input = {k: v for k, v in user_input.items() if k != CONF_PIN}
            else:
                await self._runtime.async_save()
                return self.async_abort(
                    reason="resident_added", description_placeholders={"name": resident.name}
                )
        households = [
            SelectOptionDict(value=hid, label=name)
            for hid, name in self._runtime.household_names.items()
        ]
        if not households:
            return self.async_abort(reason="no_households")
        schema = probatio.Schema(
            {
                probatio.Required(CONF_HOUSEHOLD): SelectSelector(
                    SelectSelectorConfig(options=households)
                ),
                probatio.Required(CONF_NAME): TextSelector(),
                **await self._user_field(),
                probatio.Optional(CONF_SHOW_NAME, default=False): BooleanSelector(),
                probatio.Optional(CONF_PIN): PASSWORD,
            }
        )
        return self.async_show_form(
            step_id="add_resident",
            data_schema=self.add_suggested_values_to_schema(schema, user_input),
            errors=errors,
        )

    async def async_step_edit_resident(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Pick the resident to change."""
        if user_input is not None:
            self._resident_id = user_input[CONF_RESIDENT]
            return await self.async_step_resident()
        return self.async_show_form(step_id="edit_resident", data_schema=self._pick_resident())

    async def async_step_resident(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Change a resident's name, link, visibility and PINs."""
        resident = self._runtime.directory.residents.get(self._resident_id)
        if resident is None:
            return self.async_abort(reason="unknown_resident")
        errors: dict[str, str] = {}
        if user_input is not None:
            try:
                user_id = _user_id(user_input)
                await async_check_user(self.hass, user_id)
                for field, duress in ((CONF_PIN, False), (CONF_DURESS_PIN, True)):
                    if pin := user_input.get(field):
                        await async_set_pin(
                            self.hass,
                            self._runtime,
                            resident,
                            pin,
                            duress=duress,
                            requester=None,  # options flows are for admins only
                        )
                self._runtime.directory.update_resident(
                    resident.resident_id,
                    name=user_input[CONF_NAME],
                    show_name=user_input[CONF_SHOW_NAME],
                    user_id=user_id or "",  # "none" or left empty: unlinked
                )
            except AccessError as err:
                errors["base"] = err.reason
            else:
                await self._runtime.async_save()
                return self.async_abort(reason="resident_updated")
        schema = probatio.Schema(
            {
                probatio.Required(CONF_NAME): TextSelector(),
                **await self._user_field(),
                probatio.Required(CONF_SHOW_NAME): BooleanSelector(),
                probatio.Optional(CONF_PIN): PASSWORD,
                probatio.Optional(CONF_DURESS_PIN): PASSWORD,
            }
        )
        current = {
            CONF_NAME: resident.name,
            CONF_USER: resident.user_id or NO_USER,
            CONF_SHOW_NAME: resident.show_name,
        }
        return self.async_show_form(
            step_id="resident",
            data_schema=self.add_suggested_values_to_schema(schema, current),
            errors=errors,
            description_placeholders={"name": resident.name},
        )

    async def async_step_remove_resident(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Delete a resident with all their credentials and consent."""
        errors: dict[str, str] = {}
        if user_input is not None:
            if not user_input.get(CONF_CONFIRM):
                errors[CONF_CONFIRM] = "confirm_needed"
            else:
                try:
                    self._runtime.directory.remove_resident(user_input[CONF_RESIDENT])
                except AccessError:
                    return self.async_abort(reason="unknown_resident")
                await self._runtime.async_save()
                await self._runtime.faces.async_erase(user_input[CONF_RESIDENT])  # at once
                return self.async_abort(reason="resident_removed")
        schema = self._pick_resident().extend(
            {probatio.Required(CONF_CONFIRM, default=False): BooleanSelector()}
        )
        return self.async_show_form(step_id="remove_resident", data_schema=schema, errors=errors)

    async def async_step_enrol_face(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Enrol a resident's face from a door camera or uploaded photos."""
        errors: dict[str, str] = {}
        self._photos_read = False
        if user_input is not None:
            try:
                samples = await self._async_enrol_face(user_input)
            except AccessError as err:
                errors["base"] = err.reason
            except HomeAssistantError:  # its only one: the face engine cannot start (a repair)
                engine = self._runtime.faces.engine
                missing = await self.hass.async_add_executor_job(packages_missing, engine)
                errors["base"] = DLIB_NOT_INSTALLED if missing else ISSUE_ENGINE
            else:
                name = self._runtime.directory.residents[user_input[CONF_RESIDENT]].name
                return self.async_abort(
                    reason="face_enrolled",
                    description_placeholders={"samples": str(samples), "name": name},
                )
            if self._photos_read:  # an upload is deleted once read: it cannot be offered again
                user_input = {k: v for k, v in user_input.items() if k not in PHOTO_FIELDS}
        await async_setup_component(self.hass, "file_upload", {})  # serves the photo fields
        photo = FileSelector(FileSelectorConfig(accept="image/jpeg,image/png,image/webp"))
        schema = self._pick_resident().extend(
            {
                probatio.Optional(CONF_CAMERA): EntitySelector(
                    EntitySelectorConfig(domain="camera")
                ),
                **{probatio.Optional(field): photo for field in PHOTO_FIELDS},
                probatio.Required(CONF_CONSENT, default=False): BooleanSelector(),
            }
        )
        # After an error the form keeps what was entered: the same resident, consent and photos.
        return self.async_show_form(
            step_id="enrol_face",
            data_schema=self.add_suggested_values_to_schema(schema, user_input),
            errors=errors,
        )

    async def _async_enrol_face(self, user_input: dict[str, Any]) -> int:
        """Record consent if given here, then encode the photos; returns the sample count."""
        resident = self._runtime.directory.resident(user_input[CONF_RESIDENT])
        uploads = [user_input[field] for field in PHOTO_FIELDS if user_input.get(field)]
        camera_entity_id: str = user_input.get(CONF_CAMERA, "")
        if bool(uploads) == bool(camera_entity_id):
            raise AccessError("one_photo_source")
        if resident.face_consent is None:
            await self._async_record_consent(resident, user_input[CONF_CONSENT])
        if uploads:
            self._photos_read = True
            images = await async_uploaded_photos(self.hass, uploads)
        else:
            images = await async_camera_samples(self.hass, camera_entity_id, CAMERA_SAMPLES)
        return await self._runtime.faces.async_enrol(
            resident.resident_id, images, lambda: has_face_consent(self._runtime, resident)
        )

    async def _async_record_consent(self, resident: Resident, given: bool) -> None:
        """The administrator confirms the resident's consent (flows carry no user id)."""
        if not given:
            raise AccessError("no_face_consent")
        await async_record_consent(self.hass, self._runtime, resident, None, given=True)
        await self._runtime.async_save()

    @property
    def _runtime(self) -> FaceGateRuntime:
        runtime: FaceGateRuntime = self.config_entry.runtime_data
        return runtime

    def _pick_resident(self) -> probatio.Schema:
        names = self._runtime.household_names
        options = [
            SelectOptionDict(value=r.resident_id, label=f"{r.name} ({names.get(r.household_id)})")
            for r in self._runtime.directory.residents.values()
        ]
        return probatio.Schema(
            {
                probatio.Required(CONF_RESIDENT): SelectSelector(
                    SelectSelectorConfig(options=options)
                )
            }
        )

    async def _user_field(self) -> dict[Any, Any]:
        """An optional choice among the people who log in to Home Assistant."""
        users = [SelectOptionDict(value=NO_USER, label="-")] + [
            SelectOptionDict(value=user.id, label=user.name or user.id)
            for user in await self.hass.auth.async_get_users()
            if not user.system_generated and user.is_active
        ]
        selector = SelectSelector(SelectSelectorConfig(options=users, translation_key="user"))
        return {probatio.Optional(CONF_USER, default=NO_USER): selector}

    async def async_step_residents(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """A read-only overview: who has a PIN, cards, consent and a face (never the secrets)."""
        if user_input is not None:
            return await self.async_step_init()
        return self.async_show_form(
            step_id="residents",
            data_schema=probatio.Schema({}),
            description_placeholders={"residents": self._overview()},
        )

    def _overview(self) -> str:
        """The rows of the overview's table (its header is in the translated description)."""
        enrolled = set(self._runtime.faces.gallery.resident_ids)
        names = self._runtime.household_names
        rows = []
        for resident in sorted(
            self._runtime.directory.residents.values(),
            key=lambda r: (names.get(r.household_id, ""), r.name.casefold()),
        ):
            cells = [
                resident.name.replace("|", "/"),
                names.get(resident.household_id, "?").replace("|", "/"),
                _mark(resident.pin is not None),
                str(len(resident.cards)),
                _mark(resident.face_consent is not None),
                _mark(resident.resident_id in enrolled),
                _mark(resident.user_id is not None),
            ]
            rows.append(f"| {' | '.join(cells)} |")
        return "\n".join(rows)


def _mark(present: bool) -> str:
    return "✓" if present else "✗"


def _user_id(user_input: dict[str, Any]) -> str | None:
    """The chosen Home Assistant user, or None for "nobody"."""
    user_id = user_input.get(CONF_USER)
    return None if user_id in (None, "", NO_USER) else str(user_id)
