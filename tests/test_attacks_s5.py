"""An adversarial review of this session's changes: attacks against a real hass.

The access event now carries the caller's context (callers.py decides the automations it sets
off as that caller), an admin's unlock without a code names the admin, and a spoken refusal
is stored a moment later. Each test plays one attack with real users, automations and
entities.
"""

import json
from datetime import timedelta
from typing import Any

import pytest
from homeassistant.components import conversation
from homeassistant.components.lock.const import LockState
from homeassistant.const import ATTR_ENTITY_ID, EVENT_HOMEASSISTANT_FINAL_WRITE
from homeassistant.core import Context, Event, HomeAssistant
from homeassistant.exceptions import ServiceValidationError
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import (
    MockUser,
    async_capture_events,
    async_fire_time_changed,
)

from custom_components.facegate.const import CONF_ALLOW_AUTOMATION_UNLOCK, CONF_HOUSEHOLD_IDS
from custom_components.facegate.gate import EVENT_ACCESS
from custom_components.facegate.logbook import describe_decision

from .conftest import FLAT_2, setup_site, site_entry
from .test_doors import LOCK, OTHER_PIN, PIN, add_resident, call, read_store
from .test_issue11_side_door import STRIKE, TARGET, household_user, side_door
from .test_security_access import World, locked
from .test_voice import VOICE_ON, say, start_assist, voice_site

# A household's convenience: after a refused attempt at the front door, open it anyway.
OPEN_ON_DENIAL = {
    "id": "open_on_denial",
    "triggers": [
        {"trigger": "event", "event_type": EVENT_ACCESS, "event_data": {"outcome": "denied"}}
    ],
    "actions": [{"action": "lock.unlock", "target": {"entity_id": LOCK}}],
}


async def type_at_the_lock(hass: HomeAssistant, user: Any, code: str | None = None) -> None:
    """The lock dialog of Home Assistant's UI, as this user, refused."""
    with pytest.raises(ServiceValidationError):
        await hass.services.async_call(
            "lock",
            "unlock",
            {ATTR_ENTITY_ID: LOCK} | ({"code": code} if code else {}),
            blocking=True,
            context=Context(user_id=user.id),
        )
    await hass.async_block_till_done()


def user_in(event: Event[Any]) -> str | None:
    """The user Home Assistant's logbook reads from an event: its context's, or its parent's."""
    return event.context.user_id or event.context.parent_id


# 1. The access event carries the caller's context ----------------------------------------------


@pytest.mark.parametrize("who", ["stranger", "flat_2"])
async def test_attack_refusal_sets_off_an_automation_that_opens_as_nobody(
    open_world: World, who: str
) -> None:
    """At a door that lets automations in, a user who may not open it (another household's
    resident, a user of no household; a read-only user may not call lock.unlock at all) gets
    refused on purpose, so that an automation reacting to refusals opens it: the automation
    must be decided as them."""
    hass = open_world.hass
    assert await async_setup_component(hass, "automation", {"automation": [OPEN_ON_DENIAL]})
    events = async_capture_events(hass, EVENT_ACCESS)

    await type_at_the_lock(hass, open_world.users[who], OTHER_PIN)

    assert [e.data["reason"] for e in events] == ["unknown_credential", "not_allowed"]
    assert locked(hass)


async def test_attack_logbook_names_the_user_of_a_resident_who_hides_their_name(
    world: World,
) -> None:
    """Casey (Flat 2, linked to a user) hides their name, the default. A wrong PIN typed in the
    front door's dialog must not put Casey's user on the event: Home Assistant's logbook shows
    every user an event's user (or its parent context's), and each person entity tells
    every user which person a user id is."""
    hass = world.hass
    events = async_capture_events(hass, EVENT_ACCESS)
    assert not world.resident(world.casey).show_name

    await type_at_the_lock(hass, world.users["flat_2"], OTHER_PIN)

    assert [e.data["reason"] for e in events] == ["unknown_credential"]
    assert user_in(events[0]) is None


async def test_attack_logbook_names_a_hidden_resident_who_opens_without_a_code(
    world: World,
) -> None:
    """Alex (Flat 1) hides their name and opens the front door from the UI: the event says
    "resident", and must not carry Alex's user instead."""
    hass = world.hass
    events = async_capture_events(hass, EVENT_ACCESS)

    await hass.services.async_call(
        "lock",
        "unlock",
        {ATTR_ENTITY_ID: LOCK},
        blocking=True,
        context=Context(user_id=world.users["flat_1"].id),  # type: ignore[union-attr]
    )

    assert [(e.data["reason"], e.data["resident"]) for e in events] == [("resident", "resident")]
    assert user_in(events[0]) is None
    # Nor the lock's own "unlocked" line in the logbook.
    state = hass.states.get(LOCK)
    assert state is not None
    assert state.state == LockState.UNLOCKED
    assert (state.context.user_id, state.context.parent_id) == (None, None)


async def test_attack_hidden_resident_still_cannot_open_through_an_automation(
    open_world: World,
) -> None:
    """With the user taken off the event, the automation it sets off is still Casey's."""
    hass = open_world.hass
    assert await async_setup_component(hass, "automation", {"automation": [OPEN_ON_DENIAL]})
    events = async_capture_events(hass, EVENT_ACCESS)

    await type_at_the_lock(hass, open_world.users["flat_2"], OTHER_PIN)

    assert [e.data["reason"] for e in events] == ["unknown_credential", "not_allowed"]
    assert all(user_in(e) is None for e in events)
    assert locked(hass)


async def test_attack_admins_name_in_the_logbook_unmasks_a_hidden_resident(
    world: World,
) -> None:
    """The admin is also Flat 2's resident "Dana", who hides their name. Opening the front
    door (Flat 1's) without a code, the admin must not be named in the logbook line."""
    hass, admin = world.hass, world.users["admin"]
    assert admin is not None
    dana = await world.admin("add_resident", {"household": world.flat_2, "name": "Dana"})
    await world.admin("update_resident", {"resident_id": dana["resident_id"], "user_id": admin.id})
    events = async_capture_events(hass, EVENT_ACCESS)

    await world.call("lock.unlock", {ATTR_ENTITY_ID: LOCK}, admin)

    assert [e.data["reason"] for e in events] == ["admin"]
    assert not events[0].data.get("user")
    assert admin.name not in describe_decision(events[0].data)
    assert user_in(events[0]) is None


async def test_admin_who_shows_no_hidden_resident_is_named(world: World) -> None:
    """The control: an admin who is no hidden resident is named, as the README says."""
    hass, admin = world.hass, world.users["admin"]
    assert admin is not None
    events = async_capture_events(hass, EVENT_ACCESS)

    await world.call("lock.unlock", {ATTR_ENTITY_ID: LOCK}, admin)

    assert events[0].data["user"] == admin.name
    assert f"by {admin.name} in Home Assistant" in describe_decision(events[0].data)
    assert events[0].context.user_id == admin.id


# 2. A spoken refusal is stored a moment later ---------------------------------------------------


async def test_attack_reload_in_the_save_delay_keeps_every_decision(
    hass: HomeAssistant, hass_admin_user: MockUser
) -> None:
    """A spoken refusal leaves a save pending for a few seconds. The site is reloaded in that
    time (an admin changes an option) and records a wrong PIN. Were the old site's pending save
    written later over the new site's, the wrong PIN (a step towards the lockout) would be gone
    after a restart; the site's Store is shared across reloads (store.py), so it is not."""
    entry = await voice_site(hass, hass_admin_user)
    await say(hass, "unlock the front door", hass_admin_user)
    await hass.async_block_till_done()

    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    await hass.services.async_call(
        "facegate", "present_credential", {ATTR_ENTITY_ID: LOCK, "pin": OTHER_PIN}, blocking=True
    )
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=30))
    await hass.async_block_till_done()

    stored = await read_store(hass, entry)
    assert "voice_second_factor_needed" in stored
    assert "unknown_credential" in stored
    assert hass.states.get(LOCK).state == LockState.LOCKED  # type: ignore[union-attr]
    assert PIN not in stored


async def test_attack_flood_of_spoken_refusals_then_pins_keeps_the_lockout_and_the_audit(
    hass: HomeAssistant, hass_admin_user: MockUser
) -> None:
    """At a door that takes voice, spoken requests without a PIN are refused and stored a
    moment later; spoken wrong PINs between them still lock the door out, the right PIN said
    next is refused, and Home Assistant's final write at a restart keeps every refusal."""
    entry = await voice_site(hass, hass_admin_user)
    for _ in range(5):
        await say(hass, "unlock the front door", hass_admin_user)
    for _ in range(10):
        await say(hass, "open the front door with pin 7 3 9 1 6 4", hass_admin_user)
    await say(hass, f"open the front door with pin {' '.join(PIN)}", hass_admin_user)
    for _ in range(5):  # refused as locked out: only stored a moment later
        await say(hass, "unlock the front door", hass_admin_user)
    await hass.async_block_till_done()
    assert hass.states.get(LOCK).state == LockState.LOCKED  # type: ignore[union-attr]

    hass.bus.async_fire(EVENT_HOMEASSISTANT_FINAL_WRITE)
    await hass.async_block_till_done()

    audit = json.loads(await read_store(hass, entry))["data"]["audit"]
    counts: dict[tuple[str, str], int] = {}
    for record in audit:
        key = (record["method"], record["reason"])
        counts[key] = counts.get(key, 0) + record["count"]
    assert counts[("voice", "voice_second_factor_needed")] == 5
    assert counts[("pin", "too_many_failures")] >= 1
    assert counts[("pin", "locked_out")] >= 1  # the right PIN, said during the lockout
    assert counts[("voice", "locked_out")] == 5
    assert not any(record["outcome"] == "granted" for record in audit)


async def test_attack_spoken_wrong_pin_sets_off_an_automation_as_nobody(
    hass: HomeAssistant, hass_admin_user: MockUser
) -> None:
    """The guest's attack of test_logbook_context, spoken: a user of no household says a
    wrong PIN to Assist at a door that takes voice and lets automations in. The refusal must
    carry the guest's context, so that what it sets off is decided as the guest.

    It once carried none: the lock stayed locked only because the automation's unlock ran in
    Assist's chat session (a context variable its task inherits) and was decided as a spoken
    request; a chain that leaves it (a relay through MQTT or a webhook, Node-RED) was decided
    as nobody, and the logbook did not say who tried."""
    await setup_site(hass, site_entry(door={**VOICE_ON, CONF_ALLOW_AUTOMATION_UNLOCK: True}))
    resident = await add_resident(hass, hass_admin_user)
    await call(hass, "set_pin", {"resident_id": resident, "pin": PIN}, hass_admin_user)
    await start_assist(hass)
    guest = await hass.auth.async_create_user("Guest", group_ids=["system-users"])
    assert await async_setup_component(hass, "automation", {"automation": [OPEN_ON_DENIAL]})
    events = async_capture_events(hass, EVENT_ACCESS)

    await conversation.async_converse(
        hass, "open the front door with pin 7 3 9 1 6 4", None, Context(user_id=guest.id)
    )
    await hass.async_block_till_done()

    assert hass.states.get(LOCK).state == LockState.LOCKED  # type: ignore[union-attr]
    assert [e.data["reason"] for e in events] == [
        "unknown_credential",
        "voice_second_factor_needed",  # the automation's unlock, taken for a spoken one
    ]
    assert events[0].context.user_id == guest.id


async def test_attack_target_rows_name_a_hidden_resident_who_opens_without_a_code(
    hass: HomeAssistant, hass_admin_user: MockUser
) -> None:
    """A door whose bolt is a switch: a hidden resident's unlock from the UI switches it on
    under a context of FaceGate's own, which must not carry their user either (the switch's
    and the relay's lines in the logbook). FaceGate still knows the move as its own."""
    entry = await side_door(hass)
    pat = await household_user(hass)
    await add_resident(hass, hass_admin_user, user_id=pat.id)
    events = async_capture_events(hass, EVENT_ACCESS)

    asked = Context(user_id=pat.id)
    await hass.services.async_call(
        "lock", "unlock", {ATTR_ENTITY_ID: LOCK}, blocking=True, context=asked
    )
    await hass.async_block_till_done()

    assert [e.data["outcome"] for e in events] == ["granted"]  # no "bypassed"
    for entity_id in (LOCK, TARGET, STRIKE):
        state = hass.states.get(entity_id)
        assert state is not None
        assert state.state in (LockState.UNLOCKED, "on"), entity_id
        assert state.context.user_id is None, entity_id
        assert state.context.parent_id != asked.id, entity_id  # the logbook reads its user
    assert entry.runtime_data.directory.residents_of_user(pat.id)[0].show_name is False


async def test_attack_hidden_residents_grant_opens_another_households_door_as_nobody(
    hass: HomeAssistant, hass_admin_user: MockUser
) -> None:
    """Pat (Flat 1, hiding their name) opens the front door from the UI; an automation opens
    the back door (Flat 2's only) on every grant at the front. With Pat's user taken off the
    event, the automation must still be Pat's, and Pat may not open Flat 2's door."""
    back = "lock.back_door"
    await setup_site(hass, site_entry(back_door={CONF_HOUSEHOLD_IDS: [FLAT_2]}))
    pat = await household_user(hass)
    await add_resident(hass, hass_admin_user, user_id=pat.id)
    open_back = {
        "id": "open_back_after_front",
        "triggers": [
            {
                "trigger": "event",
                "event_type": EVENT_ACCESS,
                "event_data": {"entity_id": LOCK, "outcome": "granted"},
            }
        ],
        "actions": [{"action": "lock.unlock", "target": {"entity_id": back}}],
    }
    assert await async_setup_component(hass, "automation", {"automation": [open_back]})
    events = async_capture_events(hass, EVENT_ACCESS)

    await hass.services.async_call(
        "lock", "unlock", {ATTR_ENTITY_ID: LOCK}, blocking=True, context=Context(user_id=pat.id)
    )
    await hass.async_block_till_done()

    assert [(e.data["door"], e.data["reason"]) for e in events] == [
        ("Front door", "resident"),
        ("Back door", "not_allowed"),
    ]
    assert all(user_in(e) is None for e in events)
    assert hass.states.get(back).state == LockState.LOCKED  # type: ignore[union-attr]
