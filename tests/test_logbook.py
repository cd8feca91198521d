"""Logbook lines a resident can read, without secrets (with a real recorder and logbook)."""

from typing import Any

import pytest
from homeassistant.const import ATTR_ENTITY_ID
from homeassistant.core import Event, HomeAssistant
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.common import MockUser
from pytest_homeassistant_custom_component.components.recorder.common import (
    async_wait_recording_done,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.facegate.const import CONF_ALLOW_AUTOMATION_UNLOCK, DOMAIN
from custom_components.facegate.face_watch import EVENT_UNKNOWN_FACE
from custom_components.facegate.gate import EVENT_ACCESS
from custom_components.facegate.logbook import async_describe_events

from .conftest import FRONT_DOOR, READER, setup_site, site_entry
from .test_doors import CARD, LOCK, OTHER_PIN, PIN, add_resident, call
from .test_records import scenario


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
