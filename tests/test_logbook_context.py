"""The access event carries the caller's context: what follows from it is the caller's.

Before, the event was fired with a fresh context of nobody, so an automation set off by a
decision ran as "no user": at a door that allows automations, a guest's wrong PIN could
open it through an automation that reacts to refusals.
"""

import pytest
from homeassistant.components.lock import LockState
from homeassistant.const import ATTR_ENTITY_ID
from homeassistant.core import Context, HomeAssistant
from homeassistant.exceptions import ServiceValidationError
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.common import MockUser, async_capture_events

from custom_components.facegate.const import CONF_ALLOW_AUTOMATION_UNLOCK
from custom_components.facegate.gate import EVENT_ACCESS

from .conftest import setup_site, site_entry
from .test_doors import CARD, LOCK, OTHER_PIN

# A household's convenience: after a refused PIN, open for the courier anyway.
OPEN_ON_DENIAL = {
    "id": "open_on_denial",
    "triggers": [
        {"trigger": "event", "event_type": EVENT_ACCESS, "event_data": {"outcome": "denied"}}
    ],
    "actions": [{"action": "lock.unlock", "target": {"entity_id": LOCK}}],
}


async def test_a_guests_wrong_pin_cannot_open_through_an_automation(
    hass: HomeAssistant, hass_owner_user: MockUser
) -> None:
    """A user who is no resident (a guest login) may type PINs at the lock, not open it."""
    await setup_site(hass, site_entry(door={CONF_ALLOW_AUTOMATION_UNLOCK: True}))
    # Created after the owner: Home Assistant makes the first user it creates its owner.
    guest = await hass.auth.async_create_user("Guest", group_ids=["system-users"])
    assert not guest.is_admin
    assert await async_setup_component(hass, "automation", {"automation": [OPEN_ON_DENIAL]})
    events = async_capture_events(hass, EVENT_ACCESS)

    with pytest.raises(ServiceValidationError):
        await hass.services.async_call(
            "lock",
            "unlock",
            {ATTR_ENTITY_ID: LOCK, "code": OTHER_PIN},
            blocking=True,
            context=Context(user_id=guest.id),
        )
    await hass.async_block_till_done()

    # The automation's unlock is decided as the guest who set it off, not as nobody.
    assert [(e.data["reason"], e.context.user_id) for e in events] == [
        ("unknown_credential", guest.id),
        ("not_allowed", None),
    ]
    assert hass.states.get(LOCK).state == LockState.LOCKED  # type: ignore[union-attr]


async def test_a_keypad_refusal_still_lets_the_automation_open_where_the_door_allows(
    hass: HomeAssistant,
) -> None:
    """No user behind the refusal (a keypad bridge): the automation is nobody's, as before."""
    await setup_site(hass, site_entry(door={CONF_ALLOW_AUTOMATION_UNLOCK: True}))
    assert await async_setup_component(hass, "automation", {"automation": [OPEN_ON_DENIAL]})

    await hass.services.async_call(
        "facegate", "present_credential", {ATTR_ENTITY_ID: LOCK, "pin": OTHER_PIN}, blocking=True
    )
    await hass.async_block_till_done()

    assert hass.states.get(LOCK).state == LockState.UNLOCKED  # type: ignore[union-attr]


async def test_a_card_number_sent_by_a_user_is_refused_in_their_name(
    hass: HomeAssistant, hass_owner_user: MockUser
) -> None:
    await setup_site(hass, site_entry())
    guest = await hass.auth.async_create_user("Guest", group_ids=["system-users"])
    events = async_capture_events(hass, EVENT_ACCESS)

    with pytest.raises(ServiceValidationError):
        await hass.services.async_call(
            "facegate",
            "present_credential",
            {ATTR_ENTITY_ID: LOCK, "card_uid": CARD},
            blocking=True,
            context=Context(user_id=guest.id),
        )

    assert [(e.data["reason"], e.context.user_id) for e in events] == [
        ("card_needs_reader", guest.id)
    ]
