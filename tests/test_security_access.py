"""Issue 11, the entry paths of a real hass with real users: who may open, arm, link and erase.

Each test is named after its scenario of the issue and first plays the attacker: a read-only
user, a user of no or another household, a call without a user (HomeKit Bridge), a user behind
an automation. Automations, scripts and helpers are real (async_setup_component).
"""

import json
import shutil
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.auth.models import User
from homeassistant.components.homeassistant.exposed_entities import async_expose_entity
from homeassistant.components.lock import DOMAIN as LOCK_DOMAIN
from homeassistant.components.lock.const import LockState
from homeassistant.const import ATTR_ENTITY_ID
from homeassistant.core import Context, HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers import issue_registry as ir
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_capture_events,
)

from custom_components.facegate import callers
from custom_components.facegate.const import (
    CONF_ALLOW_AUTOMATION_UNLOCK,
    CONF_HOUSEHOLD_IDS,
    DOMAIN,
)
from custom_components.facegate.face.models import engine_available
from custom_components.facegate.face_service import FaceTemplateStore
from custom_components.facegate.gate import EVENT_ACCESS

from .conftest import FLAT_1, FLAT_2, FRONT_DOOR, READER, setup_site, site_entry
from .photos import FIXTURE_FACES
from .test_actions import EXCEPTIONS, World, assert_translated, build_world

LOCK = "lock.front_door"
CARD = "04:A2:3B:1C:99:80"  # Blake's card (Flat 1), enrolled by build_world
NEW_CARD = "04:11:22:33:44:55"
STRINGS = EXCEPTIONS  # the exceptions section of strings.json
PORTRAIT = FIXTURE_FACES / "barack_obama" / "1.jpg"
HOMEKIT_CONTEXT = Context  # HomeKit Bridge calls with Context(): no user, no parent


async def make_world(hass: HomeAssistant, admin: User, read_only: User, **door: Any) -> World:
    world = await build_world(hass, site_entry(door=door), admin, read_only)
    world.users["stranger"] = await hass.auth.async_create_user(
        "Stranger", group_ids=["system-users"]
    )
    return world


def locked(hass: HomeAssistant) -> bool:
    return hass.states.get(LOCK).state == LockState.LOCKED


async def relock(hass: HomeAssistant) -> None:
    await hass.services.async_call(LOCK_DOMAIN, "lock", {ATTR_ENTITY_ID: LOCK}, blocking=True)


async def setup_automations(hass: HomeAssistant, *extra: dict[str, Any]) -> None:
    """An automation that unlocks the front door when the event "open_front" fires."""
    unlock = {"action": "lock.unlock", "target": {"entity_id": LOCK}}
    config = [
        {
            "id": "open_front",
            "alias": "Open front",
            "triggers": [{"trigger": "event", "event_type": "open_front"}],
            "actions": [unlock],
        },
        *extra,
    ]
    assert await async_setup_component(hass, "automation", {"automation": config})
    await hass.async_block_till_done()


async def run_as(
    hass: HomeAssistant, user: User | None, domain: str, service: str, **data: Any
) -> None:
    await hass.services.async_call(
        domain, service, data, blocking=True, context=Context(user_id=user.id if user else None)
    )
    await hass.async_block_till_done()


# Scenario 5: a request with no user is not an automation ---------------------------------------


async def test_scenario5_homekit_without_a_user_cannot_unlock(world: World) -> None:
    hass = world.hass
    events = async_capture_events(hass, EVENT_ACCESS)

    # HomeKit Bridge's accessories call lock.unlock with a bare Context() (no user, no parent).
    with pytest.raises(ServiceValidationError) as err:
        await hass.services.async_call(
            LOCK_DOMAIN, "unlock", {ATTR_ENTITY_ID: LOCK}, blocking=True, context=HOMEKIT_CONTEXT()
        )
    assert_translated(err.value, "denied_automation_not_allowed")
    # The refusal says where to turn it on: the door form's own label.
    label = door_form_label(hass)
    assert label in STRINGS["denied_automation_not_allowed"]["message"]
    with pytest.raises(ServiceValidationError) as err:
        await world.call(f"{DOMAIN}.unlock", {ATTR_ENTITY_ID: LOCK, "reason": "bridge"}, None)
    assert_translated(err.value, "denied_automation_not_allowed")

    assert locked(hass)
    assert [(e.data["method"], e.data["reason"]) for e in events] == [
        ("automation", "automation_not_allowed")
    ] * 2
    assert world.entry.runtime_data.audit.records[-1].reason == "automation_not_allowed"


async def test_scenario5_cloud_assistants_and_add_ons_are_no_person(world: World) -> None:
    """Home Assistant Cloud (Alexa, Google) and the Supervisor call as system admin users."""
    hass = world.hass
    cloud = await hass.auth.async_create_system_user(
        "Home Assistant Cloud", group_ids=["system-admin"]
    )
    with pytest.raises(ServiceValidationError) as err:
        await hass.services.async_call(
            LOCK_DOMAIN,
            "unlock",
            {ATTR_ENTITY_ID: LOCK},
            blocking=True,
            context=Context(user_id=cloud.id),
        )
    assert_translated(err.value, "denied_automation_not_allowed")
    assert locked(hass)
    # A reader bridge running as an add-on (Node-RED) still presents cards.
    response = await world.call(
        f"{DOMAIN}.present_credential", {ATTR_ENTITY_ID: LOCK, "card_uid": CARD}, cloud
    )
    assert response["granted"] is True


def door_form_label(hass: HomeAssistant) -> str:
    strings = json.loads(
        (Path(__file__).parents[1] / "custom_components" / DOMAIN / "strings.json").read_text()
    )
    step = strings["config_subentries"]["door"]["step"]["reconfigure"]
    assert CONF_ALLOW_AUTOMATION_UNLOCK in step["data_description"]
    return str(step["data"][CONF_ALLOW_AUTOMATION_UNLOCK])


async def test_scenario5_door_setting_lets_automations_unlock(world: World) -> None:
    """Off by default in the door form; once on, an automation with no user unlocks."""
    hass, entry = world.hass, world.entry
    await setup_automations(hass)
    hass.bus.async_fire("open_front", {})  # fired by nobody: a device, a timer
    await hass.async_block_till_done()
    assert locked(hass)

    result = await entry.start_subentry_reconfigure_flow(hass, FRONT_DOOR)
    assert result["type"] is FlowResultType.FORM
    schema = result["data_schema"].schema
    (key,) = (k for k in schema if k == CONF_ALLOW_AUTOMATION_UNLOCK)
    assert key.default() is False
    door = entry.subentries[FRONT_DOOR].data
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"],
        {
            "name": "Front door",
            CONF_HOUSEHOLD_IDS: door[CONF_HOUSEHOLD_IDS],
            "reader_device_ids": [READER],
            "relock_delay": 5,
            "scan_interval": 0.5,
            "scan_duration": 15,
            CONF_ALLOW_AUTOMATION_UNLOCK: True,
        },
    )
    assert result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done()
    assert entry.subentries[FRONT_DOOR].data[CONF_ALLOW_AUTOMATION_UNLOCK] is True

    events = async_capture_events(hass, EVENT_ACCESS)
    hass.bus.async_fire("open_front", {})
    await hass.async_block_till_done()
    assert not locked(hass)
    assert [(e.data["method"], e.data["reason"]) for e in events] == [("automation", "automation")]


async def test_scenario5_automation_trigger_by_non_admin_user_is_decided_as_that_user(
    open_world: World,
) -> None:
    hass, users = open_world.hass, open_world.users
    await setup_automations(hass)
    events = async_capture_events(hass, EVENT_ACCESS)

    # automation.trigger skips conditions and runs with a new context that has no user.
    for role in ("stranger", "flat_2"):
        await run_as(hass, users[role], "automation", "trigger", entity_id="automation.open_front")
        assert locked(hass), role
    assert [(e.data["method"], e.data["reason"]) for e in events] == [("manual", "not_allowed")] * 2

    await run_as(hass, users["flat_1"], "automation", "trigger", entity_id="automation.open_front")
    assert not locked(hass)
    assert events[-1].data["reason"] == "resident"


async def test_scenario5_script_turn_on_by_non_admin_user_is_decided_as_that_user(
    open_world: World,
) -> None:
    """script.turn_on keeps the user, but a script that triggers an automation loses it."""
    hass, users = open_world.hass, open_world.users
    await setup_automations(hass)
    scripts = {
        "via_automation": {
            "sequence": [
                {"action": "automation.trigger", "target": {"entity_id": "automation.open_front"}}
            ]
        },
        "via_event": {"sequence": [{"event": "open_front"}]},
    }
    assert await async_setup_component(hass, "script", {"script": scripts})
    await hass.async_block_till_done()

    await run_as(hass, users["stranger"], "script", "turn_on", entity_id="script.via_automation")
    assert locked(hass)
    # Read-only users may call a script by its name (no entity permission is checked there).
    await run_as(hass, users["read_only"], "script", "via_event")
    assert locked(hass)
    await run_as(hass, users["stranger"], "script", "via_event")
    assert locked(hass)

    await run_as(hass, users["flat_1"], "script", "turn_on", entity_id="script.via_automation")
    assert not locked(hass)


async def test_scenario5_button_press_running_an_automation_is_decided_as_that_user(
    open_world: World,
) -> None:
    hass, users = open_world.hass, open_world.users
    assert await async_setup_component(hass, "input_button", {"input_button": {"open": {}}})
    await setup_automations(
        hass,
        {
            "id": "button",
            "triggers": [{"trigger": "state", "entity_id": "input_button.open"}],
            "actions": [{"action": "lock.unlock", "target": {"entity_id": LOCK}}],
        },
    )

    await run_as(hass, users["stranger"], "input_button", "press", entity_id="input_button.open")
    assert locked(hass)
    await run_as(hass, users["flat_1"], "input_button", "press", entity_id="input_button.open")
    assert not locked(hass)
    await relock(hass)
    await run_as(hass, users["admin"], "input_button", "press", entity_id="input_button.open")
    assert not locked(hass)


async def test_scenario5_notification_action_is_decided_as_the_user_who_tapped_it(
    world: World,
) -> None:
    """The phone app fires its notification action with its user: no automation setting needed."""
    hass, users = world.hass, world.users
    await setup_automations(
        hass,
        {
            "id": "notification",
            "triggers": [
                {
                    "trigger": "event",
                    "event_type": "mobile_app_notification_action",
                    "event_data": {"action": "OPEN_FRONT"},
                }
            ],
            "actions": [{"action": "lock.unlock", "target": {"entity_id": LOCK}}],
        },
    )

    for role in ("stranger", "flat_2"):
        hass.bus.async_fire(
            "mobile_app_notification_action",
            {"action": "OPEN_FRONT"},
            context=Context(user_id=users[role].id),
        )
        await hass.async_block_till_done()
        assert locked(hass), role
    hass.bus.async_fire(
        "mobile_app_notification_action",
        {"action": "OPEN_FRONT"},
        context=Context(user_id=users["flat_1"].id),
    )
    await hass.async_block_till_done()
    assert not locked(hass)


def test_scenario5_call_origins_are_bounded_and_expire() -> None:
    origins = callers.CallOrigins()
    root = Context(user_id="mallory")
    origins.remember(root, 0.0)
    child = Context(parent_id=root.id)
    origins.remember(child, 1.0)
    grandchild = Context(parent_id=child.id)
    assert origins.initiator(grandchild, 2.0) == "mallory"
    assert origins.initiator(Context(parent_id="unknown"), 2.0) is None
    assert origins.initiator(grandchild, callers.WINDOW + 2.0) is None  # forgotten in time

    # A flood of calls evicts only the flooder's own oldest contexts.
    other = Context(user_id="alice")
    origins.remember(other, 3.0)
    for n in range(callers.PER_USER + 1):
        origins.remember(Context(user_id="mallory"), 4.0 + n / 1000)
    assert origins.user_of(root.id, 5.0) is None
    assert origins.user_of(other.id, 5.0) == "alice"
    assert sum(1 for _ in origins._users) <= callers.PER_USER + 1


async def test_scenario5_exposing_a_target_without_a_registry_entry_raises_the_issue_at_once(
    hass: HomeAssistant,
) -> None:
    """A YAML switch without a unique id has no registry entry: its exposure is kept apart."""
    assert await async_setup_component(hass, "homeassistant", {})
    switch = {"name": "Strike", "turn_on": [], "turn_off": []}
    assert await async_setup_component(hass, "template", {"template": [{"switch": [switch]}]})
    assert er.async_get(hass).async_get("switch.strike") is None
    async_expose_entity(hass, "conversation", "switch.strike", False)
    await setup_site(hass, site_entry(door={"target_entity_id": "switch.strike"}))
    issue_id = f"exposed_{FRONT_DOOR}"
    assert ir.async_get(hass).async_get_issue(DOMAIN, issue_id) is None

    async_expose_entity(hass, "conversation", "switch.strike", True)
    await hass.async_block_till_done()

    issue = ir.async_get(hass).async_get_issue(DOMAIN, issue_id)
    assert issue is not None
    assert issue.translation_placeholders["entities"] == "switch.strike"


async def test_scenario5_exposed_lock_or_target_raises_a_repair_issue(
    hass: HomeAssistant,
) -> None:
    assert await async_setup_component(hass, "homeassistant", {})
    switch = {"name": "Strike", "turn_on": [], "turn_off": [], "unique_id": "strike"}
    assert await async_setup_component(hass, "template", {"template": [{"switch": [switch]}]})
    homekit = MockConfigEntry(
        domain="homekit", title="HomeKit Bridge", options={"filter": {"include_domains": ["lock"]}}
    )
    homekit.add_to_hass(hass)
    entry = await setup_site(hass, site_entry(door={"target_entity_id": "switch.strike"}))
    issue_id = f"exposed_{FRONT_DOOR}"
    issues = ir.async_get(hass)

    # Switches are exposed to Assist by default; locks are not; HomeKit takes its locks.
    issue = issues.async_get_issue(DOMAIN, issue_id)
    assert issue is not None
    assert issue.translation_key == "exposed_to_assistants"
    assert issue.translation_placeholders == {
        "door": "Front door",
        "entities": f"{LOCK}, switch.strike",
        "assistants": "HomeKit Bridge, Assist",
    }

    async_expose_entity(hass, "conversation", "switch.strike", False)
    # The bridge's filter now names the door's lock among the excluded entities.
    hass.config_entries.async_update_entry(
        homekit, options={"filter": {"include_domains": ["lock"], "exclude_entities": [LOCK]}}
    )
    await hass.async_block_till_done()
    assert issues.async_get_issue(DOMAIN, issue_id) is None

    async_expose_entity(hass, "cloud.google_assistant", LOCK, True)
    await hass.async_block_till_done()
    issue = issues.async_get_issue(DOMAIN, issue_id)
    assert issue.translation_placeholders["assistants"] == "Google Assistant"
    async_expose_entity(hass, "cloud.google_assistant", LOCK, False)
    await hass.async_block_till_done()
    assert issues.async_get_issue(DOMAIN, issue_id) is None

    # A HomeKit filter that leaves the door out raises nothing; hidden entities stay out.
    hidden = MockConfigEntry(
        domain="homekit", title="HomeKit Bridge", options={"filter": {"include_domains": ["light"]}}
    )
    hidden.add_to_hass(hass)
    await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    assert issues.async_get_issue(DOMAIN, issue_id) is None


# Scenario 1: card numbers presented remotely ----------------------------------------------------


async def test_scenario1_card_number_from_a_non_admin_user_is_refused_and_audited(
    world: World,
) -> None:
    hass, users = world.hass, world.users
    events = async_capture_events(hass, EVENT_ACCESS)
    data = {ATTR_ENTITY_ID: LOCK, "card_uid": CARD}

    for role in ("read_only", "flat_1", "flat_2", "stranger"):
        with pytest.raises(ServiceValidationError) as err:
            await world.call(f"{DOMAIN}.present_credential", data, users[role])
        assert_translated(err.value, "card_needs_reader")
        assert locked(hass), role
    assert [(e.data["method"], e.data["reason"]) for e in events] == [
        ("card", "card_needs_reader")
    ] * 4
    assert world.entry.runtime_data.audit.records[-1].reason == "card_needs_reader"
    assert CARD not in str(world.entry.runtime_data.as_dict())

    # A reader bridge (an automation, no user) and an administrator still count.
    for caller in (None, users["admin"]):
        response = await world.call(f"{DOMAIN}.present_credential", data, caller)
        assert response["granted"] is True
        await relock(hass)
    # And the reader of the door, through tag_scanned, is the normal path.
    hass.bus.async_fire("tag_scanned", {"tag_id": CARD, "device_id": READER})
    await hass.async_block_till_done()
    assert not locked(hass)


async def test_scenario1_card_number_through_a_users_automation_is_refused(world: World) -> None:
    hass = world.hass
    bridge = {
        "id": "bridge",
        "triggers": [{"trigger": "event", "event_type": "card_read"}],
        "actions": [
            {
                "action": f"{DOMAIN}.present_credential",
                "data": {ATTR_ENTITY_ID: LOCK, "card_uid": "{{ trigger.event.data.uid }}"},
            }
        ],
    }
    assert await async_setup_component(hass, "automation", {"automation": [bridge]})
    # Only admins fire events themselves; other users do it through a script.
    read = {"sequence": [{"event": "card_read", "event_data": {"uid": CARD}}]}
    assert await async_setup_component(hass, "script", {"script": {"read_card": read}})
    await hass.async_block_till_done()

    await run_as(hass, world.users["stranger"], "script", "read_card")
    assert locked(hass)
    await run_as(hass, None, "script", "read_card")  # the reader's own bridge: no user
    assert not locked(hass)


# Scenario 4: relinking a resident to yourself --------------------------------------------------


async def test_scenario4_household_member_cannot_link_or_unlink_users(world: World) -> None:
    users = world.users
    member = users["flat_1"]
    before = await world.snapshot()

    attempts: list[tuple[str, dict[str, Any]]] = [
        ("update_resident", {"resident_id": world.blake, "user_id": member.id}),
        ("update_resident", {"resident_id": world.alex, "user_id": users["stranger"].id}),
        ("update_resident", {"resident_id": world.alex, "user_id": ""}),  # unlink
        ("add_resident", {"household": world.flat_1, "name": "Sam", "user_id": member.id}),
    ]
    for service, data in attempts:
        with pytest.raises(ServiceValidationError) as err:
            await world.call(f"{DOMAIN}.{service}", data, member)
        assert_translated(err.value, "link_admin_only")
    assert await world.snapshot() == before
    # Blake's consent and export stay personal: the member is still not Blake.
    with pytest.raises(ServiceValidationError):
        await world.call(f"{DOMAIN}.export_resident_data", {"resident_id": world.blake}, member)

    # Other changes, and repeating the current link, stay open to the household.
    await world.call(
        f"{DOMAIN}.update_resident",
        {"resident_id": world.alex, "name": "Alexandra", "user_id": member.id},
        member,
    )
    assert world.resident(world.alex).name == "Alexandra"
    await world.admin("update_resident", {"resident_id": world.blake, "user_id": member.id})
    assert world.resident(world.blake).user_id == member.id


# Scenario 9: card enrolment at a shared reader -------------------------------------------------


async def test_scenario9_enrolled_card_tapped_while_armed_opens_and_keeps_the_window(
    world: World,
) -> None:
    hass = world.hass
    enrolments = async_capture_events(hass, "facegate_card_enrolment")
    events = async_capture_events(hass, EVENT_ACCESS)
    await world.call(
        f"{DOMAIN}.enrol_card", {"resident_id": world.alex, "reader": READER}, world.users["flat_1"]
    )

    hass.bus.async_fire("tag_scanned", {"tag_id": CARD, "device_id": READER})  # Blake's
    await hass.async_block_till_done()
    assert not locked(hass)
    assert [e.data["reason"] for e in events] == ["granted"]
    assert enrolments == []

    hass.bus.async_fire("tag_scanned", {"tag_id": NEW_CARD, "device_id": READER})
    await hass.async_block_till_done()
    assert [e.data["result"] for e in enrolments] == ["enrolled"]
    assert len(world.resident(world.alex).cards) == 1


async def test_scenario9_unreadable_tap_or_departed_resident_ends_the_window(world: World) -> None:
    hass, runtime = world.hass, world.entry.runtime_data
    enrolments = async_capture_events(hass, "facegate_card_enrolment")
    for tag in ("not a card", NEW_CARD):
        await world.admin("enrol_card", {"resident_id": world.alex, "reader": READER})
        if tag == NEW_CARD:
            runtime.directory.remove_resident(world.alex)  # removed while the window is open
        hass.bus.async_fire("tag_scanned", {"tag_id": tag, "device_id": READER})
        await hass.async_block_till_done()
        assert READER not in runtime.card_enrolments
    assert [e.data["result"] for e in enrolments] == ["card_format", "unknown_resident"]


async def test_scenario9_arming_is_for_served_residents_and_cannot_be_taken_over(
    hass: HomeAssistant,
    hass_admin_user: User,
    hass_read_only_user: User,
    freezer: FrozenDateTimeFactory,
) -> None:
    # The reader serves both flats: a shared entrance.
    world = await make_world(
        hass, hass_admin_user, hass_read_only_user, **{CONF_HOUSEHOLD_IDS: [FLAT_1, FLAT_2]}
    )
    users = world.users

    async def arm(resident: str, user: User | None) -> None:
        await world.call(f"{DOMAIN}.enrol_card", {"resident_id": resident, "reader": READER}, user)

    for role in ("read_only", "stranger", "automation", "flat_2"):
        with pytest.raises(ServiceValidationError) as err:
            await arm(world.alex, users[role])
        assert_translated(err.value, "not_allowed")

    await arm(world.alex, users["flat_1"])
    for user in (users["flat_2"], users["admin"]):
        with pytest.raises(ServiceValidationError) as err:
            await arm(world.casey, user)
        assert_translated(err.value, "enrol_reader_busy")
    await arm(world.alex, users["flat_1"])  # the same resident may renew the window
    assert world.entry.runtime_data.card_enrolments[READER][0] == world.alex

    freezer.tick(timedelta(seconds=61))
    await arm(world.casey, users["flat_2"])
    hass.bus.async_fire("tag_scanned", {"tag_id": NEW_CARD, "device_id": READER})
    await hass.async_block_till_done()
    assert len(world.resident(world.casey).cards) == 1
    assert not world.resident(world.alex).cards


# Scenario 10: removal and consent races --------------------------------------------------------


async def seed_face(world: World, resident_id: str) -> None:
    """Give a resident stored templates (as an enrolment would, without the engine)."""
    faces = world.entry.runtime_data.faces
    rng = np.random.default_rng(7)
    faces.gallery.add_identity(resident_id, [rng.normal(size=128) for _ in range(2)])
    await faces.templates.async_save([faces.gallery])


async def stored_face_ids(world: World) -> tuple[str, ...]:
    """The residents whose templates are in the file on disk."""
    faces = world.entry.runtime_data.faces
    store = FaceTemplateStore(world.hass, world.entry.entry_id)
    galleries = await store.async_load(faces._protector)
    return tuple(r for gallery in galleries.values() for r in gallery.resident_ids)


async def test_scenario10_options_flow_removal_erases_face_templates_at_once(
    world: World,
) -> None:
    hass, entry = world.hass, world.entry
    await seed_face(world, world.blake)
    assert world.blake in await stored_face_ids(world)

    result = await hass.config_entries.options.async_init(entry.entry_id)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"next_step_id": "remove_resident"}
    )
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"resident": world.blake, "confirm": True}
    )
    assert result["reason"] == "resident_removed"

    assert world.blake not in entry.runtime_data.faces.gallery
    assert world.blake not in await stored_face_ids(world)


async def test_scenario10_every_removal_path_erases_face_templates(world: World) -> None:
    hass, entry = world.hass, world.entry
    await seed_face(world, world.alex)
    await seed_face(world, world.casey)

    await world.admin("remove_resident", {"resident_id": world.alex})
    assert world.alex not in await stored_face_ids(world)

    # Deleting a household (its subentry) removes its residents and their faces.
    assert hass.config_entries.async_remove_subentry(entry, FLAT_2)
    await hass.async_block_till_done()
    assert world.casey not in await stored_face_ids(world)
    assert world.casey not in entry.runtime_data.faces.gallery


@pytest.mark.skipif(not engine_available(), reason="needs the face packages")
async def test_scenario10_enrolment_finishing_after_consent_is_withdrawn_stores_nothing(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The consent is withdrawn while the photo is analysed: nothing may be stored."""
    hass, alex, member = world.hass, world.alex, world.users["flat_1"]
    await world.call(f"{DOMAIN}.set_face_consent", {"resident_id": alex, "consent": True}, member)
    faces = world.entry.runtime_data.faces
    analyse = faces._async_analyze_waiting

    async def analyse_while_withdrawn(image: bytes) -> Any:
        frame = await analyse(image)  # the real engine
        await world.call(
            f"{DOMAIN}.set_face_consent", {"resident_id": alex, "consent": False}, member
        )
        return frame

    monkeypatch.setattr(faces, "_async_analyze_waiting", analyse_while_withdrawn)
    photo = Path(hass.config.path("alex.jpg"))
    await hass.async_add_executor_job(shutil.copyfile, PORTRAIT, photo)
    hass.config.allowlist_external_dirs.add(str(photo.parent))
    try:
        with pytest.raises(ServiceValidationError) as err:
            await world.call(  # photos are an administrator's action
                f"{DOMAIN}.enrol_face",
                {"resident_id": alex, "photos": [str(photo)]},
                world.users["admin"],
            )
        assert_translated(err.value, "no_face_consent")
        assert alex not in faces.gallery
        assert alex not in await stored_face_ids(world)
    finally:
        await hass.config_entries.async_unload(world.entry.entry_id)  # stops the engine
