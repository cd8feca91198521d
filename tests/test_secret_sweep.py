"""End-to-end secret sweep: known PINs and card UIDs, then a search of everything FaceGate leaves.

A scenario enrols PINs (by action and by the options flow), a duress PIN, a card (by tap), a
visitor code; opens the door with each; presents wrong PINs and unknown cards; changes and
removes things. Then none of the secrets may appear in: any state or attribute, any event on
the bus (every event type; only the service calls and tag scans the test itself made carry
what the caller sent), any log line (DEBUG and up), the diagnostics, any exception message or
action response (the new visitor code, given once to its creator, excepted), the logbook's
text, any file under the config directory (the store, the secrets file, the face templates,
Home Assistant's own .storage files), and the recorder's database.
"""

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from homeassistant.components.lock.const import LockState
from homeassistant.const import ATTR_ENTITY_ID, EVENT_CALL_SERVICE, MATCH_ALL
from homeassistant.core import Event, HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers.recorder import session_scope
from pytest_homeassistant_custom_component.common import MockConfigEntry, MockUser
from pytest_homeassistant_custom_component.components.recorder.common import (
    async_wait_recording_done,
)
from sqlalchemy import select

from custom_components.facegate.diagnostics import async_get_config_entry_diagnostics
from custom_components.facegate.gate import EVENT_ACCESS
from custom_components.facegate.logbook import describe_decision

from .conftest import FLAT_1, READER, setup_site, site_entry
from .test_doors import LOCK, add_resident, call, household_device, unlock

# Eight digits or more, so that no timestamp or id contains one by chance.
PIN = "48031592"
DURESS_PIN = "58204613"
FLOW_PIN = "69134028"  # set from the options flow
WRONG_PINS = ("73916482", "10293847", "48031593")  # the last: one digit off Alex's
CARD = "04:A2:3B:1C:99:80:7E"
UNKNOWN_CARD = "04:5D:E1:22:C0:01:9F"
CARDS = (CARD, UNKNOWN_CARD)


def spellings(uid: str) -> set[str]:
    compact = uid.replace(":", "")
    return {uid, uid.lower(), compact, compact.lower(), uid.replace(":", "-")}


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(recorder_mock: Any, enable_custom_integrations: None) -> None:
    """The recorder starts before hass (and records the whole scenario)."""


class Sweep:
    """Everything FaceGate said or kept during the scenario, as text to search."""

    def __init__(self, hass: HomeAssistant) -> None:
        self.hass = hass
        self.events: list[Event] = []
        self.said: list[str] = []  # exception messages, responses, logbook lines
        self.own_calls: list[Event] = []
        hass.bus.async_listen(MATCH_ALL, self._on_event)

    @callback
    def _on_event(self, event: Event) -> None:
        # The service calls and tag scans the test makes carry what it sent: theirs to carry.
        if event.event_type in (EVENT_CALL_SERVICE, "tag_scanned"):
            self.own_calls.append(event)
        else:
            self.events.append(event)

    async def expect_refusal(self, call: Any) -> None:
        with pytest.raises(HomeAssistantError) as err:
            await call
        self.said += [str(err.value), repr(err.value.translation_placeholders)]

    async def respond(self, call: Any) -> Any:
        response = await call
        self.said.append(repr(response))
        return response


def config_files(config_dir: Path) -> Iterator[tuple[Path, bytes]]:
    for path in sorted(config_dir.rglob("*")):
        if path.is_file():
            yield path, path.read_bytes()


def database_text(hass: HomeAssistant) -> str:
    """Every row of every table of the recorder's database."""
    from homeassistant.components.recorder.db_schema import Base  # noqa: PLC0415

    rows: list[str] = []
    with session_scope(hass=hass, read_only=True) as session:
        for table in Base.metadata.sorted_tables:
            rows += [repr(row) for row in session.execute(select(table)).all()]
    return "\n".join(rows)


async def scenario(hass: HomeAssistant, admin: MockUser, sweep: Sweep) -> MockConfigEntry:
    entry = await setup_site(hass, site_entry())
    alex = await add_resident(hass, admin, show_name=True)
    blake = await add_resident(hass, admin, name="Blake")
    await call(hass, "set_pin", {"resident_id": alex, "pin": PIN}, admin)
    await call(hass, "set_pin", {"resident_id": alex, "pin": DURESS_PIN, "duress": True}, admin)
    await set_pin_in_the_options_flow(hass, entry, blake)
    await call(hass, "enrol_card", {"resident_id": alex, "reader": READER}, admin)
    hass.bus.async_fire("tag_scanned", {"tag_id": CARD, "device_id": READER})
    await hass.async_block_till_done()
    visitor = await call(hass, "create_visitor_code", {"resident_id": blake}, admin)

    # Every way in, with every secret.
    await unlock(hass, PIN)
    hass.bus.async_fire("tag_scanned", {"tag_id": CARD.lower(), "device_id": READER})
    for credential in ({"pin": DURESS_PIN}, {"pin": FLOW_PIN}, {"pin": visitor["code"]}):
        await sweep.respond(call(hass, "present_credential", {ATTR_ENTITY_ID: LOCK, **credential}))
    await sweep.respond(call(hass, "present_credential", {ATTR_ENTITY_ID: LOCK, "card_uid": CARD}))
    # Refusals: wrong PINs, an unknown card, a PIN in use, malformed input.
    for pin in WRONG_PINS:
        await sweep.expect_refusal(unlock(hass, pin))
    await sweep.respond(
        call(hass, "present_credential", {ATTR_ENTITY_ID: LOCK, "card_uid": UNKNOWN_CARD})
    )
    hass.bus.async_fire("tag_scanned", {"tag_id": UNKNOWN_CARD, "device_id": READER})
    await sweep.expect_refusal(call(hass, "set_pin", {"resident_id": blake, "pin": PIN}, admin))
    await sweep.expect_refusal(
        call(hass, "set_pin", {"resident_id": blake, "pin": f"{PIN}x"}, admin)
    )
    await sweep.expect_refusal(
        call(hass, "remove_card", {"resident_id": blake, "card_uid": CARD}, admin)
    )
    await sweep.expect_refusal(
        call(hass, "remove_card", {"resident_id": blake, "card_uid": f"{CARD}:zz!"}, admin)
    )
    # What residents and admins read back.
    flat_1 = await household_device(hass, FLAT_1)
    await sweep.respond(call(hass, "list_residents", {"household": flat_1}, admin))
    await sweep.respond(call(hass, "export_resident_data", {"resident_id": alex}, admin))
    # A restart, then the card removed by its UID.
    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    await call(hass, "remove_card", {"resident_id": alex, "card_uid": CARD}, admin)
    await hass.async_block_till_done()
    assert hass.states.get(LOCK).state in (LockState.LOCKED, LockState.UNLOCKED)
    sweep.said += [describe_decision(e.data) for e in sweep.events if e.event_type == EVENT_ACCESS]
    sweep.said.append(repr(await async_get_config_entry_diagnostics(hass, entry)))
    return entry


async def set_pin_in_the_options_flow(
    hass: HomeAssistant, entry: MockConfigEntry, resident_id: str
) -> None:
    options = hass.config_entries.options
    result = await options.async_init(entry.entry_id)
    result = await options.async_configure(result["flow_id"], {"next_step_id": "edit_resident"})
    result = await options.async_configure(result["flow_id"], {"resident": resident_id})
    result = await options.async_configure(
        result["flow_id"], {"name": "Blake", "show_name": False, "pin": FLOW_PIN}
    )
    assert result["reason"] == "resident_updated"


@pytest.fixture
async def swept(
    hass: HomeAssistant, hass_admin_user: MockUser, caplog: pytest.LogCaptureFixture
) -> tuple[Sweep, MockConfigEntry]:
    caplog.set_level("DEBUG")
    sweep = Sweep(hass)
    entry = await scenario(hass, hass_admin_user, sweep)
    await async_wait_recording_done(hass)
    return sweep, entry


def secrets_of(sweep: Sweep) -> set[str]:
    visitor = {
        e.data["service_data"]["pin"]
        for e in sweep.own_calls
        if e.event_type == EVENT_CALL_SERVICE
        and len(str(e.data.get("service_data", {}).get("pin", ""))) == 8
        and e.data["service_data"]["pin"] not in (PIN, DURESS_PIN, FLOW_PIN, *WRONG_PINS)
    }
    assert len(visitor) == 1  # the visitor code, as presented
    pins = {PIN, DURESS_PIN, FLOW_PIN, *WRONG_PINS, *visitor}
    return pins | {s for uid in CARDS for s in spellings(uid)}


async def test_no_secret_anywhere_but_the_hashes(
    hass: HomeAssistant, swept: tuple[Sweep, MockConfigEntry], caplog: pytest.LogCaptureFixture
) -> None:
    sweep, entry = swept
    secrets = secrets_of(sweep)
    states = repr([(s.entity_id, s.state, dict(s.attributes)) for s in hass.states.async_all()])
    events = repr([(e.event_type, e.data) for e in sweep.events])
    said = "\n".join(sweep.said)
    logs = caplog.text + repr([r.args for r in caplog.records])
    files = await hass.async_add_executor_job(
        lambda: list(config_files(Path(hass.config.config_dir)))
    )
    assert any(path.name == f"facegate.{entry.entry_id}" for path, _ in files)
    assert len(sweep.events) > 20  # the sweep saw the scenario

    for secret in sorted(secrets):
        assert secret not in states, secret
        assert secret not in events, secret
        assert secret not in said, secret
        assert secret not in logs, secret
        for path, content in files:
            assert secret.encode() not in content, (secret, path)


@pytest.mark.xfail(
    strict=True,
    reason="Home Assistant records call_service events with their service data: every PIN "
    "given to facegate.set_pin or facegate.present_credential (and every lock code) lands in "
    "plain text in the recorder's database, unless the recorder excludes call_service",
)
async def test_the_recorder_database_holds_no_secret(
    hass: HomeAssistant, swept: tuple[Sweep, MockConfigEntry]
) -> None:
    sweep, _ = swept
    database = await hass.async_add_executor_job(database_text, hass)
    assert "facegate_access" in database  # the sweep reads the real rows
    found = sorted(secret for secret in secrets_of(sweep) if secret in database)
    assert found == []
