"""The lock's dialog: one Code field, which an administrator or a resident may leave empty.

Home Assistant's dialog asks for a code whenever a lock has a code format and checks the input
against it; a lock can tell it nothing else (README, "Who may do what").
"""

import re

import pytest
from homeassistant.components.lock import LockState
from homeassistant.const import ATTR_ENTITY_ID
from homeassistant.core import Context, HomeAssistant
from homeassistant.exceptions import ServiceValidationError
from pytest_homeassistant_custom_component.common import MockUser

from .conftest import setup_site, site_entry
from .test_doors import LOCK


async def _unlock_from_the_dialog(hass: HomeAssistant, user_id: str) -> None:
    """As the frontend sends it when the Code field is left empty."""
    await hass.services.async_call(
        "lock",
        "unlock",
        {ATTR_ENTITY_ID: LOCK, "code": ""},
        blocking=True,
        context=Context(user_id=user_id),
    )


async def test_the_code_format_lets_the_dialog_send_an_empty_code_or_a_pin(
    hass: HomeAssistant,
) -> None:
    await setup_site(hass, site_entry())
    code_format = hass.states.get(LOCK).attributes["code_format"]  # type: ignore[union-attr]
    assert re.fullmatch(code_format, "")
    assert re.fullmatch(code_format, "480315")
    assert not re.fullmatch(code_format, "48a3")


async def test_an_empty_code_opens_for_an_admin_and_is_refused_to_a_plain_user(
    hass: HomeAssistant, hass_admin_user: MockUser
) -> None:
    await setup_site(hass, site_entry())
    plain_user = await hass.auth.async_create_user("Guest", group_ids=["system-users"])

    with pytest.raises(ServiceValidationError) as err:
        await _unlock_from_the_dialog(hass, plain_user.id)
    assert err.value.translation_key == "denied_not_allowed"  # says who may leave it empty
    assert hass.states.get(LOCK).state == LockState.LOCKED  # type: ignore[union-attr]

    await _unlock_from_the_dialog(hass, hass_admin_user.id)
    assert hass.states.get(LOCK).state == LockState.UNLOCKED  # type: ignore[union-attr]
