"""Assist: FaceGate's intents in English and Simplified Chinese, and unlocking by voice.

The sentences are the files users copy into <config>/custom_sentences (the README says how);
the requests go through Home Assistant's own conversation agent, as a voice assistant's would.
"""

import shutil
from pathlib import Path

import pytest
from homeassistant.components import conversation
from homeassistant.components.homeassistant.exposed_entities import async_expose_entity
from homeassistant.components.lock.const import LockState
from homeassistant.const import ATTR_ENTITY_ID
from homeassistant.core import Context, HomeAssistant
from homeassistant.helpers import chat_session, intent, llm
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    MockUser,
    async_capture_events,
)

from custom_components.facegate.const import CONF_ALLOW_VOICE_UNLOCK
from custom_components.facegate.gate import EVENT_ACCESS
from custom_components.facegate.speech import SPEECH

from .conftest import setup_site, site_entry
from .test_doors import LOCK, PIN, add_resident, call

SENTENCES = Path(__file__).parents[1] / "custom_components" / "facegate" / "sentences"
VOICE_ON = {CONF_ALLOW_VOICE_UNLOCK: True}


async def start_assist(hass: HomeAssistant) -> None:
    """The conversation agent with FaceGate's sentences installed as the README says."""
    for language in ("en", "zh-CN"):
        target = Path(hass.config.path("custom_sentences", language))
        await hass.async_add_executor_job(
            lambda src=SENTENCES / language, dst=target: shutil.copytree(src, dst)
        )
    assert await async_setup_component(hass, "homeassistant", {})
    assert await async_setup_component(hass, "conversation", {})
    async_expose_entity(hass, conversation.DOMAIN, LOCK, True)  # so the built-in intent finds it
    # Home Assistant's built-in intents wait 0.2 s for the lock, then let the call finish in the
    # background: on a busy machine the door's answer would come after the test looked. Wait
    # for it, in this hass only, so the tests do not depend on the CPU's speed.
    for handler in hass.data[intent.DATA_KEY].values():
        if isinstance(handler, intent.DynamicServiceIntentHandler):
            handler.service_timeout = 300


async def say(
    hass: HomeAssistant, text: str, user: MockUser, language: str = "en"
) -> conversation.ConversationResult:
    return await conversation.async_converse(
        hass, text, None, Context(user_id=user.id), language=language
    )


def speech(result: conversation.ConversationResult) -> str:
    return result.response.speech["plain"]["speech"]


@pytest.fixture
async def site(hass: HomeAssistant, hass_admin_user: MockUser) -> MockConfigEntry:
    entry = await setup_site(hass, site_entry())
    resident = await add_resident(hass, hass_admin_user)
    await call(hass, "set_pin", {"resident_id": resident, "pin": PIN}, hass_admin_user)
    await start_assist(hass)
    return entry


async def voice_site(hass: HomeAssistant, admin: MockUser) -> MockConfigEntry:
    entry = await setup_site(hass, site_entry(door=VOICE_ON))
    resident = await add_resident(hass, admin)
    await call(hass, "set_pin", {"resident_id": resident, "pin": PIN}, admin)
    await start_assist(hass)
    return entry


def test_every_answer_exists_in_both_languages() -> None:
    assert SPEECH["en"].keys() == SPEECH["zh-Hans"].keys()


@pytest.mark.parametrize(
    ("text", "language"),
    [("unlock the front door", "en"), ("解锁Front door", "zh-CN")],
)
async def test_assist_unlock_is_refused_by_default(
    hass: HomeAssistant, site: MockConfigEntry, hass_admin_user: MockUser, text: str, language: str
) -> None:
    """Even an administrator, who may unlock without a code in the UI, is refused by voice."""
    events = async_capture_events(hass, EVENT_ACCESS)

    result = await say(hass, text, hass_admin_user, language)

    assert result.response.response_type is conversation.intent.IntentResponseType.ERROR
    assert hass.states.get(LOCK).state == LockState.LOCKED
    assert [(e.data["method"], e.data["reason"]) for e in events] == [("voice", "voice_disabled")]


async def test_assist_unlock_needs_a_second_factor(
    hass: HomeAssistant, hass_admin_user: MockUser
) -> None:
    await voice_site(hass, hass_admin_user)
    events = async_capture_events(hass, EVENT_ACCESS)

    result = await say(hass, "unlock the front door", hass_admin_user)

    assert result.response.response_type is conversation.intent.IntentResponseType.ERROR
    assert hass.states.get(LOCK).state == LockState.LOCKED
    assert [(e.data["method"], e.data["reason"]) for e in events] == [
        ("voice", "voice_second_factor_needed")
    ]


async def test_assist_says_the_refusal_it_does_not_wait_for(
    hass: HomeAssistant, hass_admin_user: MockUser
) -> None:
    """Home Assistant's unlock intent waits only briefly for the lock, then answers "unlocked"
    and lets the call go on in the background. The door must refuse before that wait ends,
    however busy the machine: here the wait is cut to nothing, so only a refusal decided
    without waiting for anything (no storage write, no executor) reaches the speaker."""
    await voice_site(hass, hass_admin_user)
    for handler in hass.data[intent.DATA_KEY].values():
        if isinstance(handler, intent.DynamicServiceIntentHandler):
            handler.service_timeout = 0
    events = async_capture_events(hass, EVENT_ACCESS)

    result = await say(hass, "unlock the front door", hass_admin_user)
    await hass.async_block_till_done()

    assert result.response.response_type is conversation.intent.IntentResponseType.ERROR
    assert hass.states.get(LOCK).state == LockState.LOCKED
    assert [e.data["reason"] for e in events] == ["voice_second_factor_needed"]
    assert "unlocked" not in speech(result).casefold()


@pytest.mark.parametrize(
    ("text", "language", "answer"),
    [
        ("unlock the front door with code 4 8 0 3 1 5", "en", "The Front door is unlocked."),
        ("用密码480315打开Front door", "zh-CN", "Front door已开锁。"),
    ],
)
async def test_spoken_pin_unlocks_where_voice_is_on(
    hass: HomeAssistant, hass_admin_user: MockUser, text: str, language: str, answer: str
) -> None:
    await voice_site(hass, hass_admin_user)
    events = async_capture_events(hass, EVENT_ACCESS)

    result = await say(hass, text, hass_admin_user, language)

    assert speech(result) == answer
    assert hass.states.get(LOCK).state == LockState.UNLOCKED
    assert [(e.data["method"], e.data["outcome"]) for e in events] == [("pin", "granted")]


@pytest.mark.parametrize(
    ("text", "language", "answer"),
    [
        (
            "unlock the front door with code 480315",
            "en",
            "The Front door stays locked: unlocking by voice is off for this door.",
        ),
        ("用密码480315打开Front door", "zh-CN", "Front door保持锁定：这扇门没有开启语音开锁。"),
    ],
)
async def test_spoken_pin_is_refused_where_voice_is_off(
    hass: HomeAssistant,
    site: MockConfigEntry,
    hass_admin_user: MockUser,
    text: str,
    language: str,
    answer: str,
) -> None:
    result = await say(hass, text, hass_admin_user, language)

    assert speech(result) == answer
    assert hass.states.get(LOCK).state == LockState.LOCKED
    assert PIN not in speech(result)


async def test_wrong_spoken_pin(hass: HomeAssistant, hass_admin_user: MockUser) -> None:
    await voice_site(hass, hass_admin_user)
    result = await say(hass, "open the front door with pin 1 2 3 4 5 9", hass_admin_user)
    assert speech(result) == "The Front door stays locked: that code is not valid here."
    assert hass.states.get(LOCK).state == LockState.LOCKED


@pytest.mark.parametrize(
    ("text", "language", "answer"),
    [
        ("who is at the front door", "en", "Nobody is at the Front door."),
        ("who's at the door", "en", "Nobody is at the Front door."),
        ("谁在Front door", "zh-CN", "Front door没有人。"),
        ("门口是谁", "zh-CN", "Front door没有人。"),
        ("who is at the garage", "en", "I don't know a door called garage."),
    ],
)
async def test_who_is_at_the_door(
    hass: HomeAssistant,
    site: MockConfigEntry,
    hass_admin_user: MockUser,
    text: str,
    language: str,
    answer: str,
) -> None:
    result = await say(hass, text, hass_admin_user, language)
    assert speech(result) == answer


async def llm_api(hass: HomeAssistant, user: MockUser) -> llm.APIInstance:
    context = llm.LLMContext(
        platform="test", context=Context(user_id=user.id), language="en",
        assistant=conversation.DOMAIN, device_id=None,
    )  # fmt: skip
    return await llm.async_get_api(hass, llm.LLM_API_ASSIST, context)


async def test_llm_agents_get_both_tools_under_the_same_rules(
    hass: HomeAssistant, site: MockConfigEntry, hass_admin_user: MockUser
) -> None:
    api = await llm_api(hass, hass_admin_user)
    names = {tool.name for tool in api.tools}
    assert {"facegate__who_is_at_door", "facegate__unlock_door_with_code"} <= names

    who = await api.async_call_tool(
        llm.ToolInput("facegate__who_is_at_door", {"door": "front door"})
    )
    unlock = await api.async_call_tool(
        llm.ToolInput("facegate__unlock_door_with_code", {"door": "front door", "code": PIN})
    )

    assert who.data["speech"]["plain"]["speech"] == "Nobody is at the Front door."
    assert unlock.data["speech"]["plain"]["speech"] == (
        "The Front door stays locked: unlocking by voice is off for this door."
    )
    assert hass.states.get(LOCK).state == LockState.LOCKED


@pytest.mark.parametrize(("door", "granted"), [({}, False), (VOICE_ON, True)])
async def test_a_pin_an_agent_presents_follows_the_voice_setting(
    hass: HomeAssistant, hass_admin_user: MockUser, door: dict, granted: bool
) -> None:
    """An LLM agent calling present_credential with a PIN it was told is a spoken request."""
    await setup_site(hass, site_entry(door=door))
    resident = await add_resident(hass, hass_admin_user)
    await call(hass, "set_pin", {"resident_id": resident, "pin": PIN}, hass_admin_user)

    with chat_session.async_get_chat_session(hass):  # as a conversation agent runs its tools
        result = await call(hass, "present_credential", {ATTR_ENTITY_ID: LOCK, "pin": PIN})

    assert result["granted"] is granted
    assert result["reason"] == ("granted" if granted else "voice_disabled")
    outside = await call(hass, "present_credential", {ATTR_ENTITY_ID: LOCK, "pin": PIN})
    assert outside["granted"] is True  # a keypad, not a conversation
