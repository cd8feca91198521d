"""Logbook lines a resident can read, without secrets (with a real recorder and logbook)."""

from datetime import timedelta
from typing import Any

import pytest
from homeassistant.const import ATTR_ENTITY_ID
from homeassistant.core import Event, HomeAssistant
from homeassistant.exceptions import ServiceValidationError
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import MockUser, async_capture_events
from pytest_homeassistant_custom_component.components.recorder.common import (
    async_wait_recording_done,
)
from pytest_homeassistant_custom_component.typing import (
    ClientSessionGenerator,
    WebSocketGenerator,
)

from custom_components.facegate.const import CONF_ALLOW_AUTOMATION_UNLOCK, DOMAIN
from custom_components.facegate.face_watch import EVENT_UNKNOWN_FACE
from custom_components.facegate.gate import EVENT_ACCESS
from custom_components.facegate.logbook import async_describe_events

from .conftest import FRONT_DOOR, READER, setup_site, site_entry
from .test_doors import CARD, LOCK, OTHER_PIN, PIN, add_resident, call, unlock
from .test_records import scenario

HOUR = timedelta(hours=1)


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(recorder_mock: Any, enable_custom_integrations: None) -> None:
    """The recorder must start before hass: this replaces conftest's fixture of the same name."""


async def test_logbook_explains_decisions(
    hass: HomeAssistant, hass_client: ClientSessionGenerator, hass_admin_user: MockUser
) -> None:
    assert await async_setup_component(hass, "logbook", {})
    await setup_site(hass, site_entry())
    await scenario(hass, hass_admin_user)
    await async_wait_recording_done(hass)

    client = await hass_client()
    response = await client.get("/api/logbook")
    entries = [e for e in await response.json() if e.get("domain") == DOMAIN]

    messages = [e["message"] for e in entries]
    assert messages == [
        "denied (card): this code or card is not valid here",
        "granted to Alex by PIN",
        "denied (PIN): this code or card is not valid here",
        "denied (PIN): PIN mode is off for this household",
    ]
    assert {e["name"] for e in entries} == {"Front door"}
    assert {e["entity_id"] for e in entries} == {LOCK}
    assert not {PIN, OTHER_PIN, CARD} & set(str(entries).split("'"))


async def test_logbook_tells_how_a_card_enrolment_went(
    hass: HomeAssistant, hass_client: ClientSessionGenerator, hass_admin_user: MockUser
) -> None:
    assert await async_setup_component(hass, "logbook", {})
    await setup_site(hass, site_entry())
    resident = await add_resident(hass, hass_admin_user, show_name=True)
    await call(hass, "enrol_card", {"resident_id": resident, "reader": READER}, hass_admin_user)
    hass.bus.async_fire("tag_scanned", {"tag_id": CARD, "device_id": READER})
    await hass.async_block_till_done()
    await async_wait_recording_done(hass)

    client = await hass_client()
    entries = [
        e for e in await (await client.get("/api/logbook")).json() if e.get("domain") == DOMAIN
    ]

    assert [e["message"] for e in entries] == ["new card enrolled for Alex"]


async def test_logbook_shows_reasons_voice_and_strangers(
    hass: HomeAssistant, hass_client: ClientSessionGenerator
) -> None:
    assert await async_setup_component(hass, "logbook", {})
    await setup_site(hass, site_entry(door={CONF_ALLOW_AUTOMATION_UNLOCK: True}))
    await call(hass, "unlock", {ATTR_ENTITY_ID: LOCK, "reason": "Parcel delivery"})
    hass.bus.async_fire(
        EVENT_UNKNOWN_FACE, {"entity_id": LOCK, "door_id": FRONT_DOOR, "door": "Front door"}
    )
    await async_wait_recording_done(hass)

    client = await hass_client()
    entries = [
        e for e in await (await client.get("/api/logbook")).json() if e.get("domain") == DOMAIN
    ]

    assert [(e["name"], e["message"]) for e in entries] == [
        ("Front door", "granted by automation: Parcel delivery"),
        ("Front door", "a face the cameras do not recognise"),
    ]


async def test_granted_and_denied_lines_have_distinct_icons(hass: HomeAssistant) -> None:
    describers: dict[str, Any] = {}
    async_describe_events(hass, lambda _d, name, describe: describers.__setitem__(name, describe))
    icons = {
        outcome: describers[EVENT_ACCESS](
            Event(EVENT_ACCESS, {"door": "Front door", "method": "pin", "outcome": outcome,
                                 "reason": "unknown_credential"})
        )["icon"]
        for outcome in ("granted", "denied", "duress", "lockout")
    }  # fmt: skip
    assert len(set(icons.values())) == 4
    unknown_face = describers[EVENT_UNKNOWN_FACE](Event(EVENT_UNKNOWN_FACE, {}))
    assert unknown_face["icon"] not in icons.values()


async def _logbook_events(hass: HomeAssistant, ws_client: WebSocketGenerator) -> list[Any]:
    """Activity as the frontend reads it: logbook/get_events over the websocket."""
    await async_wait_recording_done(hass)
    client = await ws_client()
    await client.send_json_auto_id(
        {"type": "logbook/get_events", "start_time": (dt_util.utcnow() - HOUR).isoformat()}
    )
    response = await client.receive_json()
    assert response["success"]
    return [e for e in response["result"] if e.get("entity_id") != "sun.sun"]


class TestANewInstall:
    """A new install, its event entity disabled as for a person (not as in other tests)."""

    @pytest.fixture(autouse=True)
    def access_event_entity_enabled(self) -> None:
        """Replaces conftest's fixture: the event entity keeps its real default."""

    async def test_a_wrong_then_right_pin_at_the_lock_is_one_line_per_decision(
        self,
        hass: HomeAssistant,
        hass_ws_client: WebSocketGenerator,
        hass_admin_user: MockUser,
    ) -> None:
        assert await async_setup_component(hass, "logbook", {})
        await setup_site(hass, site_entry())
        resident = await add_resident(hass, hass_admin_user, show_name=True)
        await call(hass, "set_pin", {"resident_id": resident, "pin": PIN}, hass_admin_user)
        with pytest.raises(ServiceValidationError):
            await unlock(hass, OTHER_PIN, hass_admin_user)
        await unlock(hass, PIN, hass_admin_user)

        entries = await _logbook_events(hass, hass_ws_client)

        assert hass.states.get("event.front_door_access") is None  # disabled: no second line
        decisions = [e for e in entries if e.get("domain") == DOMAIN]
        assert [(e["message"], e["icon"]) for e in decisions] == [
            ("denied (PIN): this code or card is not valid here", "mdi:door-closed-cancel"),
            ("granted to Alex by PIN", "mdi:door-open"),
        ]
        # Each line says who stood at the lock's dialog: the caller's context rides the event.
        assert {e["context_user_id"] for e in decisions} == {hass_admin_user.id}
        # Beside them only the bolt's own state line, which Home Assistant writes for any lock.
        others = [(e["entity_id"], e["state"]) for e in entries if e.get("domain") != DOMAIN]
        assert ("lock.front_door", "unlocked") in others
        assert not [e for e in others if e[0].startswith("event.")]


async def test_an_admins_unlock_without_a_code_names_the_admin(
    hass: HomeAssistant, hass_ws_client: WebSocketGenerator, hass_admin_user: MockUser
) -> None:
    assert await async_setup_component(hass, "logbook", {})
    await setup_site(hass, site_entry())
    await unlock(hass, None, hass_admin_user)

    entries = [e for e in await _logbook_events(hass, hass_ws_client) if e.get("domain") == DOMAIN]

    assert [e["message"] for e in entries] == [
        f"granted by {hass_admin_user.name} in Home Assistant"
    ]
    assert entries[0]["context_user_id"] == hass_admin_user.id


async def test_a_linked_resident_without_a_code_keeps_the_residents_choice(
    hass: HomeAssistant, hass_ws_client: WebSocketGenerator, hass_admin_user: MockUser
) -> None:
    """A resident hiding their name is not named through their user's name either."""
    assert await async_setup_component(hass, "logbook", {})
    await setup_site(hass, site_entry())
    user = await hass.auth.async_create_user("Alex Chen", group_ids=["system-users"])
    await add_resident(hass, hass_admin_user, user_id=user.id, show_name=False)
    await unlock(hass, None, user)  # type: ignore[arg-type]

    entries = [e for e in await _logbook_events(hass, hass_ws_client) if e.get("domain") == DOMAIN]

    assert [e["message"] for e in entries] == ["granted to resident by Home Assistant"]
    assert "Alex" not in str(entries)


async def test_an_automations_unlock_names_no_user(hass: HomeAssistant) -> None:
    await setup_site(hass, site_entry(door={CONF_ALLOW_AUTOMATION_UNLOCK: True}))
    events = async_capture_events(hass, EVENT_ACCESS)
    await unlock(hass, None, None)

    assert [(e.data["reason"], e.data.get("user"), e.context.user_id) for e in events] == [
        ("automation", None, None)
    ]
