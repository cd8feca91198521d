"""Door and household subentry flows, driven through a real hass and a loaded site entry."""

from typing import Any

import pytest
from homeassistant.config_entries import SOURCE_USER, ConfigEntryState, ConfigSubentryData
from homeassistant.const import CONF_NAME
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType, InvalidData
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.facegate.config_flow import FaceGateConfigFlow
from custom_components.facegate.const import (
    CONF_ALLOW_AUTOMATION_UNLOCK,
    CONF_ALLOW_VOICE_UNLOCK,
    CONF_CAMERA_ENTITY_IDS,
    CONF_FACE_TRIGGER_IDS,
    CONF_HOUSEHOLD_IDS,
    CONF_MODES,
    CONF_POLICY,
    CONF_READER_DEVICE_IDS,
    CONF_RELOCK_AFTER_BYPASS,
    CONF_RELOCK_DELAY,
    CONF_SCAN_DURATION,
    CONF_SCAN_INTERVAL,
    CONF_TARGET_ENTITY_ID,
    DOMAIN,
    SUBENTRY_DOOR,
    SUBENTRY_HOUSEHOLD,
)
from custom_components.facegate.subentry_flows import DoorSubentryFlow, HouseholdSubentryFlow

SMITHS_ID = "01SMITHS"
JONES_ID = "01JONES"
FRONT_ID = "01FRONT"
GARAGE_ID = "01GARAGE"


def _household(subentry_id: str, name: str, policy: str = "any") -> ConfigSubentryData:
    return ConfigSubentryData(
        subentry_id=subentry_id,
        subentry_type=SUBENTRY_HOUSEHOLD,
        title=name,
        unique_id=f"household:{name.lower()}",
        data={CONF_NAME: name, CONF_MODES: ["card", "pin"], CONF_POLICY: policy},
    )


def _door(subentry_id: str, name: str, **data: Any) -> ConfigSubentryData:
    return ConfigSubentryData(
        subentry_id=subentry_id,
        subentry_type=SUBENTRY_DOOR,
        title=name,
        unique_id=f"door:{name.lower()}",
        data={
            CONF_NAME: name,
            CONF_TARGET_ENTITY_ID: None,
            CONF_CAMERA_ENTITY_IDS: [],
            CONF_FACE_TRIGGER_IDS: [],
            CONF_READER_DEVICE_IDS: [],
            CONF_HOUSEHOLD_IDS: [],
            CONF_RELOCK_DELAY: 5,
            CONF_ALLOW_VOICE_UNLOCK: False,
            **data,
        },
    )


async def _site(
    hass: HomeAssistant, subentries: list[ConfigSubentryData] | None = None
) -> MockConfigEntry:
    entry = MockConfigEntry(
        domain=DOMAIN,
        title="Home",
        data={CONF_NAME: "Home"},
        unique_id="home",
        subentries_data=subentries or [],
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED
    return entry


async def _start(hass: HomeAssistant, entry: MockConfigEntry, kind: str) -> dict[str, Any]:
    result = await hass.config_entries.subentries.async_init(
        (entry.entry_id, kind), context={"source": SOURCE_USER}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "user"
    assert result["errors"] == {}
    return dict(result)


async def _submit(hass: HomeAssistant, flow_id: str, user_input: dict[str, Any]) -> dict[str, Any]:
    result = await hass.config_entries.subentries.async_configure(flow_id, user_input)
    # A saved subentry reloads the site (its update listener): let that finish inside the test.
    await hass.async_block_till_done()
    return dict(result)


def _of_type(entry: MockConfigEntry, kind: str) -> list[Any]:
    return list(entry.get_subentries_of_type(kind))


def _options(result: dict[str, Any], key: str) -> Any:
    """The selector config of one form field."""
    for marker, selector in result["data_schema"].schema.items():
        if marker.schema == key:
            return selector.config["options"]
    raise AssertionError(key)


def _suggested(result: dict[str, Any]) -> dict[str, Any]:
    return {
        marker.schema: marker.description["suggested_value"]
        for marker in result["data_schema"].schema
        if marker.description and "suggested_value" in marker.description
    }


def test_site_offers_doors_and_households() -> None:
    entry = MockConfigEntry(domain=DOMAIN, data={CONF_NAME: "Home"})
    assert FaceGateConfigFlow.async_get_supported_subentry_types(entry) == {
        "door": DoorSubentryFlow,
        "household": HouseholdSubentryFlow,
    }


async def test_add_door_stores_all_fields(hass: HomeAssistant) -> None:
    entry = await _site(hass, [_household(SMITHS_ID, "Smiths")])
    flow = await _start(hass, entry, SUBENTRY_DOOR)
    result = await _submit(
        hass,
        flow["flow_id"],
        {
            CONF_NAME: "  Front door ",
            CONF_TARGET_ENTITY_ID: "lock.front",
            CONF_CAMERA_ENTITY_IDS: ["camera.porch", "camera.porch", "camera.hall"],
            CONF_FACE_TRIGGER_IDS: ["binary_sensor.porch_motion"],
            CONF_READER_DEVICE_IDS: ["reader1"],
            CONF_HOUSEHOLD_IDS: [SMITHS_ID],
            CONF_RELOCK_DELAY: 12.0,
            CONF_ALLOW_VOICE_UNLOCK: True,
            CONF_ALLOW_AUTOMATION_UNLOCK: True,
            CONF_SCAN_INTERVAL: 1.5,
            CONF_SCAN_DURATION: 60.0,
        },
    )

    assert result["type"] is FlowResultType.CREATE_ENTRY
    [door] = _of_type(entry, SUBENTRY_DOOR)
    assert door.title == "Front door"
    assert door.unique_id == "door:front_door"
    assert dict(door.data) == {
        CONF_NAME: "Front door",
        CONF_TARGET_ENTITY_ID: "lock.front",
        CONF_CAMERA_ENTITY_IDS: ["camera.porch", "camera.hall"],
        CONF_FACE_TRIGGER_IDS: ["binary_sensor.porch_motion"],
        CONF_READER_DEVICE_IDS: ["reader1"],
        CONF_HOUSEHOLD_IDS: [SMITHS_ID],
        CONF_RELOCK_DELAY: 12,
        CONF_ALLOW_VOICE_UNLOCK: True,
        CONF_RELOCK_AFTER_BYPASS: True,
        CONF_ALLOW_AUTOMATION_UNLOCK: True,
        CONF_SCAN_INTERVAL: 1.5,
        CONF_SCAN_DURATION: 60,
    }
    assert type(door.data[CONF_RELOCK_DELAY]) is int
    assert type(door.data[CONF_SCAN_DURATION]) is int


async def test_add_minimal_door_gets_defaults(hass: HomeAssistant) -> None:
    entry = await _site(hass)
    flow = await _start(hass, entry, SUBENTRY_DOOR)
    # The schema fills in the defaults; optional fields left empty are stored as empty values.
    result = await _submit(hass, flow["flow_id"], {CONF_NAME: "Shed"})

    assert result["type"] is FlowResultType.CREATE_ENTRY
    [door] = _of_type(entry, SUBENTRY_DOOR)
    assert dict(door.data) == {
        CONF_NAME: "Shed",
        CONF_TARGET_ENTITY_ID: None,
        CONF_CAMERA_ENTITY_IDS: [],
        CONF_FACE_TRIGGER_IDS: [],
        CONF_READER_DEVICE_IDS: [],
        CONF_HOUSEHOLD_IDS: [],
        CONF_RELOCK_DELAY: 5,
        CONF_ALLOW_VOICE_UNLOCK: False,
        CONF_RELOCK_AFTER_BYPASS: True,
        CONF_ALLOW_AUTOMATION_UNLOCK: False,  # off unless an admin turns it on
        CONF_SCAN_INTERVAL: 0.5,
        CONF_SCAN_DURATION: 15,
    }


async def test_door_form_lists_the_sites_households(hass: HomeAssistant) -> None:
    entry = await _site(
        hass, [_household(SMITHS_ID, "Smiths"), _household(JONES_ID, "Jones"), _door(FRONT_ID, "F")]
    )
    flow = await _start(hass, entry, SUBENTRY_DOOR)

    assert _options(flow, CONF_HOUSEHOLD_IDS) == [
        {"value": SMITHS_ID, "label": "Smiths"},
        {"value": JONES_ID, "label": "Jones"},
    ]


async def test_door_form_without_households_has_no_options(hass: HomeAssistant) -> None:
    entry = await _site(hass)
    flow = await _start(hass, entry, SUBENTRY_DOOR)
    assert _options(flow, CONF_HOUSEHOLD_IDS) == []


async def test_household_removed_while_door_form_open(hass: HomeAssistant) -> None:
    entry = await _site(hass, [_household(SMITHS_ID, "Smiths"), _household(JONES_ID, "Jones")])
    flow = await _start(hass, entry, SUBENTRY_DOOR)
    hass.config_entries.async_remove_subentry(entry, JONES_ID)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED

    result = await _submit(
        hass, flow["flow_id"], {CONF_NAME: "Front", CONF_HOUSEHOLD_IDS: [SMITHS_ID, JONES_ID]}
    )

    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {CONF_HOUSEHOLD_IDS: "unknown_household"}
    assert _of_type(entry, SUBENTRY_DOOR) == []
    # The form now offers, and suggests, only the households that still exist.
    assert _options(result, CONF_HOUSEHOLD_IDS) == [{"value": SMITHS_ID, "label": "Smiths"}]
    assert _suggested(result)[CONF_HOUSEHOLD_IDS] == [SMITHS_ID]

    result = await _submit(
        hass, flow["flow_id"], {CONF_NAME: "Front", CONF_HOUSEHOLD_IDS: [SMITHS_ID]}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert _of_type(entry, SUBENTRY_DOOR)[0].data[CONF_HOUSEHOLD_IDS] == [SMITHS_ID]


async def test_door_refuses_a_household_id_it_does_not_offer(hass: HomeAssistant) -> None:
    entry = await _site(hass, [_household(SMITHS_ID, "Smiths")])
    flow = await _start(hass, entry, SUBENTRY_DOOR)
    with pytest.raises(InvalidData) as err:
        await _submit(hass, flow["flow_id"], {CONF_NAME: "Front", CONF_HOUSEHOLD_IDS: ["nope"]})
    assert set(err.value.schema_errors) == {CONF_HOUSEHOLD_IDS}
    assert _of_type(entry, SUBENTRY_DOOR) == []


@pytest.mark.parametrize(
    ("field", "value"),
    [
        (CONF_TARGET_ENTITY_ID, "light.porch"),
        (CONF_CAMERA_ENTITY_IDS, ["lock.front"]),
        (CONF_RELOCK_DELAY, 0),
        (CONF_RELOCK_DELAY, 301),
    ],
)
async def test_door_schema_rejects_wrong_values(
    hass: HomeAssistant, field: str, value: object
) -> None:
    entry = await _site(hass)
    flow = await _start(hass, entry, SUBENTRY_DOOR)
    with pytest.raises(InvalidData) as err:
        await _submit(hass, flow["flow_id"], {CONF_NAME: "Front", field: value})
    assert err.value.path[0] == field
    assert _of_type(entry, SUBENTRY_DOOR) == []


@pytest.mark.parametrize("kind", [SUBENTRY_DOOR, SUBENTRY_HOUSEHOLD])
async def test_invalid_name_then_corrected(hass: HomeAssistant, kind: str) -> None:
    entry = await _site(hass)
    flow = await _start(hass, entry, kind)
    result = await _submit(hass, flow["flow_id"], {CONF_NAME: " -- "})

    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {CONF_NAME: "invalid_name"}
    assert _of_type(entry, kind) == []

    result = await _submit(hass, flow["flow_id"], {CONF_NAME: "Flat 2"})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert [sub.title for sub in _of_type(entry, kind)] == ["Flat 2"]


@pytest.mark.parametrize("kind", [SUBENTRY_DOOR, SUBENTRY_HOUSEHOLD])
async def test_a_duplicate_name_is_a_field_error_and_the_form_stays(
    hass: HomeAssistant, kind: str
) -> None:
    entry = await _site(hass, [_household(SMITHS_ID, "Smiths"), _door(FRONT_ID, "Smiths")])
    flow = await _start(hass, entry, kind)
    # Another spelling of the same name is the same door or household.
    result = await _submit(hass, flow["flow_id"], {CONF_NAME: "SMITHS "})

    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {CONF_NAME: "name_in_use"}
    assert len(_of_type(entry, kind)) == 1
    # The same flow goes on with another name: nothing entered was lost.
    result = await _submit(hass, flow["flow_id"], {CONF_NAME: "Jones"})
    assert result["type"] is FlowResultType.CREATE_ENTRY


async def test_door_and_household_may_share_a_name(hass: HomeAssistant) -> None:
    entry = await _site(hass, [_household(SMITHS_ID, "Flat 2")])
    flow = await _start(hass, entry, SUBENTRY_DOOR)
    result = await _submit(hass, flow["flow_id"], {CONF_NAME: "Flat 2"})

    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert _of_type(entry, SUBENTRY_DOOR)[0].unique_id == "door:flat_2"


async def test_add_household_stores_modes_and_policy(hass: HomeAssistant) -> None:
    entry = await _site(hass)
    flow = await _start(hass, entry, SUBENTRY_HOUSEHOLD)
    # Face is never offered at creation; the defaults are card and PIN, any one opens.
    assert _options(flow, CONF_MODES) == ["card", "pin"]
    assert _options(flow, CONF_POLICY) == ["any", "two_modes"]

    result = await _submit(
        hass,
        flow["flow_id"],
        {CONF_NAME: " The Smiths", CONF_MODES: ["pin", "card"], CONF_POLICY: "two_modes"},
    )

    assert result["type"] is FlowResultType.CREATE_ENTRY
    [household] = _of_type(entry, SUBENTRY_HOUSEHOLD)
    assert household.title == "The Smiths"
    assert household.unique_id == "household:the_smiths"
    assert dict(household.data) == {
        CONF_NAME: "The Smiths",
        CONF_MODES: ["card", "pin"],
        CONF_POLICY: "two_modes",
    }


async def test_add_household_defaults(hass: HomeAssistant) -> None:
    entry = await _site(hass)
    flow = await _start(hass, entry, SUBENTRY_HOUSEHOLD)
    result = await _submit(hass, flow["flow_id"], {CONF_NAME: "Jones"})

    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert dict(_of_type(entry, SUBENTRY_HOUSEHOLD)[0].data) == {
        CONF_NAME: "Jones",
        CONF_MODES: ["card", "pin"],
        CONF_POLICY: "any",
    }


async def test_household_face_mode_is_refused(hass: HomeAssistant) -> None:
    entry = await _site(hass)
    flow = await _start(hass, entry, SUBENTRY_HOUSEHOLD)
    with pytest.raises(InvalidData) as err:
        await _submit(hass, flow["flow_id"], {CONF_NAME: "Jones", CONF_MODES: ["face"]})
    assert set(err.value.schema_errors) == {CONF_MODES}
    assert _of_type(entry, SUBENTRY_HOUSEHOLD) == []


async def test_household_needs_a_mode(hass: HomeAssistant) -> None:
    entry = await _site(hass)
    flow = await _start(hass, entry, SUBENTRY_HOUSEHOLD)
    result = await _submit(hass, flow["flow_id"], {CONF_NAME: "Jones", CONF_MODES: []})

    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {CONF_MODES: "no_mode"}
    assert _of_type(entry, SUBENTRY_HOUSEHOLD) == []

    result = await _submit(hass, flow["flow_id"], {CONF_NAME: "Jones", CONF_MODES: ["card"]})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert _of_type(entry, SUBENTRY_HOUSEHOLD)[0].data[CONF_MODES] == ["card"]


async def test_two_modes_policy_needs_two_modes(hass: HomeAssistant) -> None:
    entry = await _site(hass)
    flow = await _start(hass, entry, SUBENTRY_HOUSEHOLD)
    result = await _submit(
        hass,
        flow["flow_id"],
        {CONF_NAME: "Jones", CONF_MODES: ["pin"], CONF_POLICY: "two_modes"},
    )

    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {CONF_POLICY: "two_modes_need_two"}
    assert _of_type(entry, SUBENTRY_HOUSEHOLD) == []


async def test_reconfigure_door(hass: HomeAssistant) -> None:
    entry = await _site(
        hass,
        [
            _household(SMITHS_ID, "Smiths"),
            _household(JONES_ID, "Jones"),
            _door(FRONT_ID, "Front", **{CONF_TARGET_ENTITY_ID: "lock.front"}),
            _door(GARAGE_ID, "Garage", **{CONF_HOUSEHOLD_IDS: [SMITHS_ID, "01GONE"]}),
        ],
    )
    result = dict(await entry.start_subentry_reconfigure_flow(hass, GARAGE_ID))
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "reconfigure"
    # The form starts from the stored values, without the household that no longer exists.
    assert _suggested(result)[CONF_NAME] == "Garage"
    assert _suggested(result)[CONF_HOUSEHOLD_IDS] == [SMITHS_ID]

    result = await _submit(hass, result["flow_id"], {CONF_NAME: "front "})
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {CONF_NAME: "name_in_use"}

    result = await _submit(
        hass,
        result["flow_id"],
        {
            CONF_NAME: "Back door",
            CONF_TARGET_ENTITY_ID: "switch.back_strike",
            CONF_HOUSEHOLD_IDS: [JONES_ID],
            CONF_RELOCK_DELAY: 30,
        },
    )

    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    door = entry.subentries[GARAGE_ID]
    assert door.title == "Back door"
    assert door.unique_id == "door:back_door"
    assert dict(door.data) == {
        CONF_NAME: "Back door",
        CONF_TARGET_ENTITY_ID: "switch.back_strike",
        CONF_CAMERA_ENTITY_IDS: [],
        CONF_FACE_TRIGGER_IDS: [],
        CONF_READER_DEVICE_IDS: [],
        CONF_HOUSEHOLD_IDS: [JONES_ID],
        CONF_RELOCK_DELAY: 30,
        CONF_ALLOW_VOICE_UNLOCK: False,
        CONF_RELOCK_AFTER_BYPASS: True,
        CONF_ALLOW_AUTOMATION_UNLOCK: False,  # off unless an admin turns it on
        CONF_SCAN_INTERVAL: 0.5,
        CONF_SCAN_DURATION: 15,
    }
    assert entry.subentries[FRONT_ID].title == "Front"


async def test_reconfigure_door_keeps_its_own_name(hass: HomeAssistant) -> None:
    entry = await _site(hass, [_door(FRONT_ID, "Front", **{CONF_TARGET_ENTITY_ID: "lock.front"})])
    result = dict(await entry.start_subentry_reconfigure_flow(hass, FRONT_ID))
    # Clearing the target turns the door into a virtual one.
    result = await _submit(hass, result["flow_id"], {CONF_NAME: "Front", CONF_RELOCK_DELAY: 7})

    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    assert entry.subentries[FRONT_ID].data[CONF_TARGET_ENTITY_ID] is None
    assert entry.subentries[FRONT_ID].data[CONF_RELOCK_DELAY] == 7


async def test_reconfigure_household(hass: HomeAssistant) -> None:
    entry = await _site(hass, [_household(SMITHS_ID, "Smiths"), _household(JONES_ID, "Jones")])
    result = dict(await entry.start_subentry_reconfigure_flow(hass, SMITHS_ID))
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "reconfigure"
    # Modes are the residents' business after creation: the form does not show them.
    assert [marker.schema for marker in result["data_schema"].schema] == [CONF_NAME, CONF_POLICY]
    assert _suggested(result) == {CONF_NAME: "Smiths", CONF_POLICY: "any"}

    result = await _submit(hass, result["flow_id"], {CONF_NAME: "JONES", CONF_POLICY: "any"})
    assert result["errors"] == {CONF_NAME: "name_in_use"}

    result = await _submit(hass, result["flow_id"], {CONF_NAME: "?", CONF_POLICY: "any"})
    assert result["errors"] == {CONF_NAME: "invalid_name"}

    # Two modes is allowed here: the current modes live in FaceGate's store.
    result = await _submit(
        hass, result["flow_id"], {CONF_NAME: "Smith family", CONF_POLICY: "two_modes"}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    household = entry.subentries[SMITHS_ID]
    assert household.title == "Smith family"
    assert household.unique_id == "household:smith_family"
    assert dict(household.data) == {
        CONF_NAME: "Smith family",
        CONF_MODES: ["card", "pin"],
        CONF_POLICY: "two_modes",
    }


@pytest.mark.parametrize("kind", [SUBENTRY_DOOR, SUBENTRY_HOUSEHOLD])
async def test_add_aborts_when_site_not_loaded(hass: HomeAssistant, kind: str) -> None:
    entry = await _site(hass)
    assert await hass.config_entries.async_unload(entry.entry_id)
    result = await hass.config_entries.subentries.async_init(
        (entry.entry_id, kind), context={"source": SOURCE_USER}
    )

    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "entry_not_loaded"
    assert _of_type(entry, kind) == []


@pytest.mark.parametrize(("kind", "subentry_id"), [("door", FRONT_ID), ("household", SMITHS_ID)])
async def test_reconfigure_aborts_when_site_not_loaded(
    hass: HomeAssistant, kind: str, subentry_id: str
) -> None:
    entry = await _site(hass, [_household(SMITHS_ID, "Smiths"), _door(FRONT_ID, "Front")])
    assert await hass.config_entries.async_unload(entry.entry_id)
    result = await entry.start_subentry_reconfigure_flow(hass, subentry_id)

    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "entry_not_loaded"
    assert entry.subentries[subentry_id].subentry_type == kind
