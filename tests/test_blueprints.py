"""The automation blueprints in blueprints/automation/facegate/, run by a real Home Assistant.

Each blueprint is copied where Home Assistant keeps imported blueprints, validated as Home
Assistant validates it, and instantiated as an automation that reacts to FaceGate's events.
The notify actions are test services: no phone can receive anything here.

The duress alarm is silent by design: its default text names neither the door nor the
duress PIN, since it may reach a phone in view of whoever forces the resident. Only the
"include the details" option adds the door, for recipients who are never near it.
"""

import asyncio
import json
import re
import shutil
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.components import persistent_notification
from homeassistant.components.automation.config import (
    AUTOMATION_BLUEPRINT_SCHEMA,
    async_validate_config_item,
)
from homeassistant.components.automation.helpers import async_get_blueprints
from homeassistant.components.blueprint import importer
from homeassistant.components.blueprint.models import Blueprint
from homeassistant.components.lock.const import LockState
from homeassistant.core import EventOrigin, HomeAssistant, ServiceCall, callback
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er
from homeassistant.setup import async_setup_component
from homeassistant.util import yaml as yaml_util
from homeassistant.util.yaml.input import extract_inputs
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    MockUser,
    async_fire_time_changed,
    async_mock_service,
)
from pytest_homeassistant_custom_component.test_util.aiohttp import AiohttpClientMocker

from custom_components.facegate.const import DOMAIN
from custom_components.facegate.gate import EVENT_ACCESS
from custom_components.facegate.logbook import REASONS

from .conftest import setup_site, site_entry
from .test_doors import LOCK, OTHER_PIN, PIN, add_resident, call, unlock

ROOT = Path(__file__).parent.parent
BLUEPRINTS = ROOT / "blueprints" / "automation" / "facegate"
REPOSITORY = json.loads((ROOT / "custom_components" / DOMAIN / "manifest.json").read_text())[
    "documentation"
]
DENIED = "notify_denied_access.yaml"
DURESS = "duress_alert.yaml"
DOORBELL = "doorbell_who_is_there.yaml"
EVENT_UNKNOWN_FACE = "facegate_unknown_face"
OTHER_LOCK = "lock.back_door"
DOORBELL_SENSOR = "binary_sensor.front_doorbell"
DOORBELL_EVENT = "event.front_doorbell"
FACE_SENSOR = "sensor.front_door_face_at_porch"
CAMERA = "camera.porch"
# A facegate_unknown_face event's data.
UNKNOWN_FACE = {
    "entity_id": LOCK,
    "door_id": "door",
    "door": "Front door",
    "camera_entity_id": CAMERA,
}

# What a user adds under "Advanced": a notify action using the blueprint's variables.
NOTIFY_TEST = [
    {
        "action": "notify.test",
        "data": {
            "title": "{{ title }}",
            "message": "{{ message }}",
            "data": {"image": "{{ image }}"},
        },
    }
]
NOTIFY_TEST_PLAIN = [
    {"action": "notify.test", "data": {"title": "{{ title }}", "message": "{{ message }}"}}
]
# The smallest inputs each blueprint accepts.
REQUIRED = {
    DENIED: {"door": LOCK},
    DURESS: {},
    DOORBELL: {"doorbell": DOORBELL_SENSOR, "face_sensor": FACE_SENSOR},
}


def load(name: str) -> Blueprint:
    """A blueprint file as Home Assistant's automation integration reads it."""
    path = BLUEPRINTS / name
    return Blueprint(
        yaml_util.load_yaml_dict(path),
        path=str(path),
        expected_domain="automation",
        schema=AUTOMATION_BLUEPRINT_SCHEMA,
    )


def instance(name: str, alias: str, inputs: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": alias,
        "alias": alias,
        "use_blueprint": {"path": f"facegate/{name}", "input": inputs},
    }


@pytest.fixture(autouse=True)
def imported_blueprints(hass: HomeAssistant) -> None:
    """The blueprints where "Import blueprint" (or a copy by hand) puts them."""
    folder = Path(hass.config.path("blueprints", "automation", "facegate"))
    folder.mkdir(parents=True)
    for name in (DENIED, DURESS, DOORBELL):
        shutil.copyfile(BLUEPRINTS / name, folder / name)


@pytest.fixture
def notify(hass: HomeAssistant) -> list[ServiceCall]:
    return async_mock_service(hass, "notify", "test")


async def add_automation(hass: HomeAssistant, name: str, **inputs: Any) -> None:
    """An automation from a blueprint, which must be valid and on."""
    config = instance(name, "under_test", REQUIRED[name] | inputs)
    assert await async_setup_component(hass, "automation", {"automation": [config]})
    await hass.async_block_till_done()
    assert hass.states.get("automation.under_test").state == "on"


def messages(calls: list[ServiceCall]) -> list[tuple[str, str]]:
    return [(call.data["title"], call.data["message"]) for call in calls]


def access(entity_id: str = LOCK, **data: Any) -> dict[str, Any]:
    """A facegate_access event's data, as gate.event_data builds it."""
    door = "Back door" if entity_id == OTHER_LOCK else "Front door"
    base = {
        "entity_id": entity_id, "door_id": "door", "door": door, "method": "pin",
        "outcome": "denied", "reason": "unknown_credential", "resident": None,
        "household": None,
    }  # fmt: skip
    return base | data


# 1. Files ------------------------------------------------------------------------------------


def test_the_folder_holds_exactly_the_documented_blueprints() -> None:
    assert sorted(p.name for p in BLUEPRINTS.iterdir()) == sorted([DENIED, DURESS, DOORBELL])


@pytest.mark.parametrize("name", [DENIED, DURESS, DOORBELL])
def test_blueprint_is_valid(name: str) -> None:
    blueprint = load(name)

    assert blueprint.domain == "automation"
    assert blueprint.validate() is None  # the installed Home Assistant is new enough
    metadata = blueprint.metadata
    assert metadata["name"].startswith("FaceGate - ")
    assert "source_url" not in metadata  # no invented URL; "Import blueprint" adds the real one
    assert metadata["homeassistant"]["min_version"] == "2024.10.0"
    for key, spec in blueprint.inputs.items():
        assert spec["name"], key
        assert "selector" in spec, key
    # Every input is used, and every use is declared (Blueprint checks the latter).
    assert extract_inputs(blueprint.data) == set(blueprint.inputs)


@pytest.mark.parametrize("name", [DENIED, DURESS, DOORBELL])
async def test_blueprint_imports_from_its_github_address(
    hass: HomeAssistant, aioclient_mock: AiohttpClientMocker, name: str
) -> None:
    # What "Import blueprint" does with the address the README gives (the manifest's repository).
    path = f"main/blueprints/automation/facegate/{name}"
    url = f"{REPOSITORY}/blob/{path}"
    owner_and_repo = REPOSITORY.removeprefix("https://github.com/")
    aioclient_mock.get(
        f"https://raw.githubusercontent.com/{owner_and_repo}/{path}",
        text=(BLUEPRINTS / name).read_text(encoding="utf-8"),
    )

    imported = await importer.fetch_blueprint_from_url(hass, url)

    # Saved under the repository owner's folder: blueprints/automation/facegate/ here.
    owner = owner_and_repo.split("/")[0]
    assert imported.suggested_filename == f"{owner}/{name.removesuffix('.yaml')}"
    assert imported.blueprint.metadata["source_url"] == url  # for "Re-import blueprint"
    assert imported.blueprint.domain == "automation"


@pytest.mark.parametrize("name", [DENIED, DURESS, DOORBELL])
async def test_blueprint_instance_validates_as_an_automation(
    hass: HomeAssistant, name: str
) -> None:
    config = instance(name, "minimal", REQUIRED[name])

    inputs = await async_get_blueprints(hass).async_inputs_from_config(config)
    substituted = inputs.async_substitute()
    validated = await async_validate_config_item(hass, "minimal", config)

    assert substituted["mode"] in ("single", "queued")
    assert validated is not None
    assert validated.validation_status == "ok"


# 2. Access denied ----------------------------------------------------------------------------


async def test_a_wrong_pin_notifies_for_its_door_only(
    hass: HomeAssistant, hass_admin_user: MockUser, notify: list[ServiceCall]
) -> None:
    await setup_site(hass, site_entry())
    resident = await add_resident(hass, hass_admin_user)
    await call(hass, "set_pin", {"resident_id": resident, "pin": PIN}, hass_admin_user)
    await add_automation(hass, DENIED, quiet_period=0, notify_actions=NOTIFY_TEST_PLAIN)

    with pytest.raises(ServiceValidationError):
        await unlock(hass, OTHER_PIN)
    await hass.async_block_till_done()
    await unlock(hass, PIN)  # granted: nothing to say
    hass.bus.async_fire(EVENT_ACCESS, access(OTHER_LOCK))  # another door
    await hass.async_block_till_done()

    assert messages(notify) == [
        ("FaceGate: Front door", "Access denied (PIN): this code or card is not valid here.")
    ]


def test_the_denied_access_blueprint_knows_every_reason() -> None:
    """Each refusal the integration can give has a wording and can be ignored in the blueprint."""
    blueprint = yaml_util.load_yaml_dict(BLUEPRINTS / DENIED)
    select = blueprint["blueprint"]["input"]["ignored_reasons"]["selector"]["select"]
    reasons_map = re.search(r"set reasons = \{(.*?)\}", blueprint["variables"]["message"], re.S)
    assert reasons_map is not None

    assert {option["value"] for option in select["options"]} == set(REASONS)
    assert set(re.findall(r"'(\w+)':", reasons_map.group(1))) == set(REASONS)


async def test_denials_name_the_reason_and_respect_the_ignored_ones(
    hass: HomeAssistant, notify: list[ServiceCall]
) -> None:
    await add_automation(hass, DENIED, quiet_period=0, notify_actions=NOTIFY_TEST_PLAIN)

    for data in (
        access(outcome="lockout", reason="too_many_failures"),
        access(method="face", reason="not_live", resident="Alex"),
        access(method="card+pin", reason="second_factor_needed"),  # ignored by default
        access(method="manual", reason="not_allowed"),
        access(method="voice+face", reason="no_face_consent", resident="Alex"),
    ):
        hass.bus.async_fire(EVENT_ACCESS, data)
        await hass.async_block_till_done()

    assert [message for _, message in messages(notify)] == [
        "Locked out (PIN): too many failed attempts, the door is locked out for a while.",
        "Access denied (face, Alex): the face did not look live (a photo or a screen?).",
        "Access denied (Home Assistant): only admins and residents served by this door may "
        "unlock without a code.",
        "Access denied (voice + face, Alex): face recognition needs the resident's consent.",
    ]


async def test_a_forged_remote_access_event_notifies_nobody(
    hass: HomeAssistant, notify: list[ServiceCall]
) -> None:
    """A phone's webhook can fire any event (origin REMOTE): no false alarm, no false denial."""
    await add_automation(hass, DENIED, quiet_period=0, notify_actions=NOTIFY_TEST_PLAIN)
    await add_automation(hass, DURESS, notify_actions=NOTIFY_TEST_PLAIN)

    hass.bus.async_fire(EVENT_ACCESS, access(), origin=EventOrigin.remote)
    hass.bus.async_fire(
        EVENT_ACCESS,
        access(outcome="duress", reason="duress", resident="Alex"),
        origin=EventOrigin.remote,
    )
    await hass.async_block_till_done()
    assert messages(notify) == []

    hass.bus.async_fire(EVENT_ACCESS, access())  # the same event, fired here: it counts
    await hass.async_block_till_done()
    assert len(messages(notify)) == 1


async def test_unknown_faces_notify_with_the_camera_picture(
    hass: HomeAssistant, notify: list[ServiceCall]
) -> None:
    await add_automation(hass, DENIED, quiet_period=0, notify_actions=NOTIFY_TEST)

    hass.bus.async_fire(EVENT_UNKNOWN_FACE, UNKNOWN_FACE)
    hass.bus.async_fire(EVENT_UNKNOWN_FACE, UNKNOWN_FACE | {"entity_id": OTHER_LOCK})
    await hass.async_block_till_done()

    assert messages(notify) == [
        ("FaceGate: Front door", "Someone the camera does not recognise is at the door.")
    ]
    assert notify[0].data["data"] == {"image": f"/api/camera_proxy/{CAMERA}"}


async def test_unknown_faces_can_be_left_out(
    hass: HomeAssistant, notify: list[ServiceCall]
) -> None:
    await add_automation(
        hass, DENIED, quiet_period=0, include_unknown_faces=False, notify_actions=NOTIFY_TEST
    )

    hass.bus.async_fire(EVENT_UNKNOWN_FACE, UNKNOWN_FACE)
    hass.bus.async_fire(EVENT_ACCESS, access())
    await hass.async_block_till_done()

    assert [message for _, message in messages(notify)] == [
        "Access denied (PIN): this code or card is not valid here."
    ]
    assert notify[0].data["data"] == {"image": ""}


async def test_a_quiet_period_sends_one_notification_per_burst(
    hass: HomeAssistant, notify: list[ServiceCall], freezer: FrozenDateTimeFactory
) -> None:
    await add_automation(hass, DENIED, quiet_period=30, notify_actions=NOTIFY_TEST_PLAIN)

    for _ in range(3):  # someone trying code after code
        hass.bus.async_fire(EVENT_ACCESS, access())
        await hass.async_block_till_done()
    assert len(notify) == 1

    freezer.tick(timedelta(seconds=31))
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    hass.bus.async_fire(EVENT_ACCESS, access(reason="locked_out"))
    await hass.async_block_till_done()

    assert len(notify) == 2
    assert notify[1].data["message"] == (
        "Access denied (PIN): the door is locked out after failed attempts."
    )


async def test_notify_entities_get_the_message(hass: HomeAssistant) -> None:
    sent = async_mock_service(hass, "notify", "send_message")
    await add_automation(hass, DENIED, quiet_period=0, notify_entities=["notify.phone"])

    hass.bus.async_fire(EVENT_ACCESS, access(method="card"))
    await hass.async_block_till_done()

    assert len(sent) == 1
    assert sent[0].data == {
        "entity_id": ["notify.phone"],
        "title": "FaceGate: Front door",
        "message": "Access denied (card): this code or card is not valid here.",
    }


# 3. Duress -----------------------------------------------------------------------------------


async def test_a_duress_pin_raises_a_silent_alarm(
    hass: HomeAssistant, hass_admin_user: MockUser, notify: list[ServiceCall]
) -> None:
    assert await async_setup_component(hass, "persistent_notification", {})
    shown: list[dict[str, Any]] = []

    @callback
    def on_notification(_: Any, notifications: dict[str, Any]) -> None:
        shown.extend(notifications.values())

    persistent_notification.async_register_callback(hass, on_notification)
    await setup_site(hass, site_entry())
    resident = await add_resident(hass, hass_admin_user, show_name=True)
    await call(hass, "set_pin", {"resident_id": resident, "pin": PIN}, hass_admin_user)
    duress = {"resident_id": resident, "pin": OTHER_PIN, "duress": True}
    await call(hass, "set_pin", duress, hass_admin_user)
    await add_automation(hass, DURESS, notify_actions=NOTIFY_TEST_PLAIN)

    await unlock(hass, PIN)  # an ordinary opening: no alarm
    await unlock(hass, OTHER_PIN)
    await hass.async_block_till_done()

    assert hass.states.get(LOCK).state == LockState.UNLOCKED  # the door opens as usual
    assert messages(notify) == [("Home", "Please check in with home now.")]
    assert [(n["title"], n["message"]) for n in shown] == messages(notify)
    text = str(messages(notify)).lower()
    for revealing in ("front door", "duress", "alarm", "alex", "flat 1", "pin"):
        assert revealing not in text


async def test_duress_details_and_door_choice(
    hass: HomeAssistant, notify: list[ServiceCall], freezer: FrozenDateTimeFactory
) -> None:
    freezer.move_to("2026-03-01 14:05:00+00:00")
    await hass.config.async_set_time_zone("UTC")
    sent = async_mock_service(hass, "notify", "send_message")
    await add_automation(
        hass,
        DURESS,
        doors=[LOCK],
        include_details=True,
        persistent_notification=False,
        message="Code 7.",
        notify_entities=["notify.guard"],
        notify_actions=NOTIFY_TEST_PLAIN,
    )

    hass.bus.async_fire(EVENT_ACCESS, access(OTHER_LOCK, outcome="duress", reason="duress"))
    hass.bus.async_fire(EVENT_ACCESS, access(outcome="duress", reason="duress", household="Flat 1"))
    await hass.async_block_till_done()

    assert messages(notify) == [("Home", "Code 7. (Front door, 14:05, Flat 1)")]
    assert [call.data["entity_id"] for call in sent] == [["notify.guard"]]
    assert sent[0].data["message"] == notify[0].data["message"]


# 4. Doorbell ---------------------------------------------------------------------------------


@pytest.fixture
def face_sensor(hass: HomeAssistant) -> str:
    """A face sensor on the Front door device, as FaceGate registers it."""
    entry = MockConfigEntry(domain=DOMAIN)
    entry.add_to_hass(hass)
    device = dr.async_get(hass).async_get_or_create(
        config_entry_id=entry.entry_id, identifiers={(DOMAIN, "door_front")}, name="Front door"
    )
    entity = er.async_get(hass).async_get_or_create(
        "sensor",
        DOMAIN,
        "door_front_face_camera.porch",
        config_entry=entry,
        device_id=device.id,
        suggested_object_id="front_door_face_at_porch",
    )
    assert entity.entity_id == FACE_SENSOR
    hass.states.async_set(FACE_SENSOR, "nobody")
    hass.states.async_set(DOORBELL_SENSOR, "off", {"friendly_name": "Front doorbell"})
    return FACE_SENSOR


async def ring(hass: HomeAssistant, doorbell: str, state: str, **attributes: Any) -> None:
    """Ring; return once the automation waits (blocking until done would wait with it)."""
    hass.states.async_set(doorbell, state, attributes)
    for _ in range(100):
        await asyncio.sleep(0)
        if hass.states.get("automation.under_test").attributes["current"]:
            return
    pytest.fail("the automation did not start")


async def wait(hass: HomeAssistant, freezer: FrozenDateTimeFactory, seconds: float) -> None:
    """Let time pass, and what was waiting for it run."""
    freezer.tick(timedelta(seconds=seconds))
    async_fire_time_changed(hass)
    await hass.async_block_till_done()


@pytest.mark.parametrize(
    ("who", "message"),
    [
        ("Alex", "Alex is at the door."),
        ("resident", "A resident is at the door."),
        ("unknown", "Someone the camera does not recognise is at the door."),
        ("nobody", "Someone rang, but the camera sees no face."),
        ("unavailable", "Someone rang. Face recognition is not available."),
    ],
)
async def test_the_doorbell_says_who_is_there(
    hass: HomeAssistant,
    face_sensor: str,
    notify: list[ServiceCall],
    freezer: FrozenDateTimeFactory,
    who: str,
    message: str,
) -> None:
    await add_automation(hass, DOORBELL, wait=3, camera=CAMERA, notify_actions=NOTIFY_TEST)

    await ring(hass, DOORBELL_SENSOR, "on")
    freezer.tick(timedelta(seconds=1))
    hass.states.async_set(face_sensor, who)  # FaceGate's scan after the ring
    hass.states.async_set(DOORBELL_SENSOR, "off")
    hass.states.async_set(DOORBELL_SENSOR, "on")  # rung again while waiting: same visitor
    freezer.tick(timedelta(seconds=1))
    async_fire_time_changed(hass)
    await asyncio.sleep(0)
    assert notify == []  # still looking

    await wait(hass, freezer, 2)

    assert messages(notify) == [("Doorbell: Front door", message)]
    assert notify[0].data["data"] == {"image": f"/api/camera_proxy/{CAMERA}"}


async def test_an_old_answer_is_not_repeated(
    hass: HomeAssistant, face_sensor: str, notify: list[ServiceCall], freezer: FrozenDateTimeFactory
) -> None:
    hass.states.async_set(face_sensor, "Alex")  # seen an hour ago
    await add_automation(hass, DOORBELL, notify_actions=NOTIFY_TEST_PLAIN)
    await wait(hass, freezer, 3600)

    await ring(hass, DOORBELL_SENSOR, "on")  # the camera never looks this time
    await wait(hass, freezer, 3)

    assert messages(notify) == [
        (
            "Doorbell: Front door",
            "Someone rang. The camera did not say who it is (is the doorbell one of the "
            "door's face recognition triggers?).",
        )
    ]


async def test_an_event_entity_doorbell_rings_on_each_event(
    hass: HomeAssistant, face_sensor: str, notify: list[ServiceCall], freezer: FrozenDateTimeFactory
) -> None:
    hass.states.async_set(DOORBELL_EVENT, "2026-03-01T10:00:00.000+00:00", {"event_type": "ring"})
    await add_automation(hass, DOORBELL, doorbell=DOORBELL_EVENT, notify_actions=NOTIFY_TEST)

    for time in ("2026-03-01T14:00:00.000+00:00", "2026-03-01T14:00:30.000+00:00"):
        await ring(hass, DOORBELL_EVENT, time, event_type="ring")
        hass.states.async_set(face_sensor, "unknown")
        await wait(hass, freezer, 30)
    # The doorbell going offline and back (its last event restored) is not a ring.
    hass.states.async_set(DOORBELL_EVENT, "unavailable")
    hass.states.async_set(DOORBELL_EVENT, "2026-03-01T14:00:30.000+00:00", {"event_type": "ring"})
    await wait(hass, freezer, 30)

    assert [message for _, message in messages(notify)] == [
        "Someone the camera does not recognise is at the door."
    ] * 2
    assert notify[0].data["data"] == {"image": ""}  # no camera chosen


# 5. Names chosen by residents (issue 11, scenario 13) ------------------------------------------

HOSTILE_RESIDENT = "[Reset your PIN](https://evil.example/x)"
HOSTILE_HOUSEHOLD = "![](https://evil.example/beacon.png)<img src=x>"


async def test_scenario13_names_are_escaped_in_markdown_notifications(
    hass: HomeAssistant, notify: list[ServiceCall]
) -> None:
    assert await async_setup_component(hass, "persistent_notification", {})
    await add_automation(hass, DURESS, include_details=True, notify_actions=NOTIFY_TEST_PLAIN)

    hass.bus.async_fire(
        EVENT_ACCESS,
        access(outcome="duress", reason="duress", household=HOSTILE_HOUSEHOLD),
    )
    await hass.async_block_till_done()

    [(_, message)] = messages(notify)
    assert r"\!\[\]\(https://evil.example/beacon.png\)\<img src=x\>" in message
    household = message.rsplit(", ", 1)[1].removesuffix(")")  # "(door, time, household)"
    assert not re.search(r"(?<!\\)[!\[\]()<>]", household)  # every special escaped


async def test_scenario13_resident_names_are_escaped_in_denials(
    hass: HomeAssistant, notify: list[ServiceCall]
) -> None:
    await add_automation(hass, DENIED, quiet_period=0, notify_actions=NOTIFY_TEST_PLAIN)

    hass.bus.async_fire(
        EVENT_ACCESS, access(method="face", reason="not_live", resident=HOSTILE_RESIDENT)
    )
    await hass.async_block_till_done()

    assert [message for _, message in messages(notify)] == [
        r"Access denied (face, \[Reset your PIN\]\(https://evil.example/x\)): "
        "the face did not look live (a photo or a screen?)."
    ]


async def test_scenario13_the_doorbell_escapes_the_name_it_shows(
    hass: HomeAssistant,
    face_sensor: str,
    notify: list[ServiceCall],
    freezer: FrozenDateTimeFactory,
) -> None:
    await add_automation(hass, DOORBELL, wait=3, camera=CAMERA, notify_actions=NOTIFY_TEST)

    await ring(hass, DOORBELL_SENSOR, "on")
    freezer.tick(timedelta(seconds=1))
    hass.states.async_set(face_sensor, "**Alex** `x`")
    await wait(hass, freezer, 3)

    assert [message for _, message in messages(notify)] == [r"\*\*Alex\*\* \`x\` is at the door."]
