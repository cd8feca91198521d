"""Translations and icons: every language has every string, every action and entity an icon.

strings.json is the source. translations/en.json must equal it (tests/test_package_files.py);
every other translations/<language>.json must have exactly its keys and placeholders, so a key
added to strings.json fails here until each language has it.
"""

import json
import logging
import re
import string
from pathlib import Path
from typing import Any

import pytest
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.translation import async_get_translations
from homeassistant.util.yaml import load_yaml_dict

from custom_components.facegate.access.audit import Outcome
from custom_components.facegate.access.modes import Mode
from custom_components.facegate.const import DOMAIN
from custom_components.facegate.event import UNKNOWN_FACE_EVENT

from .conftest import FLAT_1, FRONT_DOOR, setup_site, site_entry

INTEGRATION = Path(__file__).parent.parent / "custom_components" / "facegate"
TRANSLATIONS = sorted((INTEGRATION / "translations").glob("*.json"))
ICON = re.compile(r"^mdi:[a-z0-9-]+$")
CJK = re.compile(r"[\u3400-\u9fff]")
# zh-Hans strings that may rightly hold no Chinese (a product name, a unit): none yet.
ZH_HANS_UNTRANSLATED: set[str] = set()


def _json(path: Path) -> dict[str, Any]:
    data = json.loads(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict), path
    return data


def _leaves(node: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Every leaf of a nested mapping by its dotted key path."""
    flat: dict[str, Any] = {}
    for key, value in node.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(_leaves(value, f"{path}."))
        else:
            flat[path] = value
    return flat


def _placeholders(text: str) -> set[str]:
    """The {placeholders} of a string, parsed the way Home Assistant validates them."""
    return {field for _, field, _, _ in string.Formatter().parse(text) if field is not None}


STRINGS = _json(INTEGRATION / "strings.json")
SOURCE = _leaves(STRINGS)
SERVICES: dict[str, Any] = load_yaml_dict(INTEGRATION / "services.yaml")  # as HA reads it
ICONS = _json(INTEGRATION / "icons.json")


def _language(path: Path) -> str:
    return path.stem


def test_translations_include_simplified_chinese() -> None:
    assert {"en", "zh-Hans"} <= {_language(path) for path in TRANSLATIONS}


def test_strings_are_non_empty_text() -> None:
    bad = [path for path, value in SOURCE.items() if not isinstance(value, str) or not value]
    assert not bad, f"strings.json leaves that are not non-empty strings: {bad}"


@pytest.mark.parametrize("path", TRANSLATIONS, ids=_language)
def test_translation_has_exactly_the_keys_of_strings(path: Path) -> None:
    translated = _leaves(_json(path))
    missing = sorted(SOURCE.keys() - translated.keys())
    extra = sorted(translated.keys() - SOURCE.keys())
    problems = []
    if missing:
        problems.append(
            f"missing in translations/{path.name} (translate them from strings.json):\n  "
            + "\n  ".join(missing)
        )
    if extra:
        problems.append(
            f"in translations/{path.name} but not in strings.json (remove or rename them):\n  "
            + "\n  ".join(extra)
        )
    assert not problems, "\n".join(problems)
    empty = sorted(
        key for key, value in translated.items() if not isinstance(value, str) or not value
    )
    assert not empty, f"translations/{path.name} has empty or non-text strings: {empty}"


@pytest.mark.parametrize("path", TRANSLATIONS, ids=_language)
def test_translation_keeps_every_placeholder(path: Path) -> None:
    # Home Assistant drops a translated string whose placeholders differ from English.
    translated = _leaves(_json(path))
    mismatched = []
    for key in sorted(SOURCE.keys() & translated.keys()):
        try:
            found = _placeholders(translated[key])
        except ValueError as err:  # an unbalanced brace
            mismatched.append(f"{key}: {err}")
            continue
        if found != (wanted := _placeholders(SOURCE[key])):
            mismatched.append(f"{key}: {sorted(found)} instead of {sorted(wanted)}")
    assert not mismatched, f"translations/{path.name}:\n  " + "\n  ".join(mismatched)


def test_simplified_chinese_is_translated() -> None:
    # Copying the English text over would satisfy the key test; this does not.
    translated = _leaves(_json(INTEGRATION / "translations" / "zh-Hans.json"))
    english = sorted(
        key
        for key, value in translated.items()
        if key not in ZH_HANS_UNTRANSLATED and not CJK.search(str(value))
    )
    assert not english, "zh-Hans.json strings without any Chinese:\n  " + "\n  ".join(english)


def test_every_action_and_field_has_a_name_and_description() -> None:
    described = STRINGS["services"]
    assert set(described) == set(SERVICES), "strings.json services differ from services.yaml"
    missing = []
    for service, spec in SERVICES.items():
        text = described[service]
        missing += [f"{service}.{key}" for key in ("name", "description") if not text.get(key)]
        for field in (spec or {}).get("fields", {}):
            field_text = text.get("fields", {}).get(field, {})
            missing += [
                f"{service}.fields.{field}.{key}"
                for key in ("name", "description")
                if not field_text.get(key)
            ]
        extra = set(text.get("fields", {})) - set((spec or {}).get("fields", {}))
        missing += [f"{service}.fields.{field} (not in services.yaml)" for field in sorted(extra)]
    assert not missing, "strings.json services:\n  " + "\n  ".join(missing)


def test_entity_translations_match_the_code() -> None:
    entity = STRINGS["entity"]
    assert set(entity["switch"]) == {f"mode_{mode}" for mode in Mode}
    event_types = entity["event"]["access"]["state_attributes"]["event_type"]["state"]
    assert set(event_types) == {outcome.value for outcome in Outcome} | {UNKNOWN_FACE_EVENT}


def test_every_action_has_an_icon() -> None:
    icons = ICONS["services"]
    assert set(icons) == set(SERVICES)
    for service, icon in icons.items():
        assert isinstance(icon, dict), service
        assert set(icon) == {"service"}, service


def test_every_translated_entity_has_an_icon() -> None:
    wanted = {(platform, key) for platform, keys in STRINGS["entity"].items() for key in keys}
    have = {(platform, key) for platform, keys in ICONS["entity"].items() for key in keys}
    assert not wanted - have, f"entities without an icon: {sorted(wanted - have)}"
    assert not have - wanted, f"icons for unknown entities: {sorted(have - wanted)}"
    for platform, key in sorted(wanted):
        assert "default" in ICONS["entity"][platform][key], (platform, key)
    # The access event shows one icon per event type, and only for event types that exist.
    event_icons = ICONS["entity"]["event"]["access"]["state_attributes"]["event_type"]["state"]
    event_types = STRINGS["entity"]["event"]["access"]["state_attributes"]["event_type"]["state"]
    assert set(event_icons) == set(event_types)
    for key in ("mode_card", "mode_pin", "mode_face"):  # on shows the default (hassfest)
        assert set(ICONS["entity"]["switch"][key]["state"]) == {"off"}, key


def test_icons_are_material_design_icon_names() -> None:
    icons = _leaves(ICONS)
    bad = {path: icon for path, icon in icons.items() if not ICON.match(str(icon))}
    assert not bad, f"not an mdi:name icon: {bad}"


def test_icons_exist_in_the_frontend() -> None:
    frontend = pytest.importorskip("hass_frontend")
    icon_list = Path(frontend.where()) / "static" / "mdi" / "iconList.json"
    if not icon_list.is_file():
        pytest.skip("this frontend build has no mdi icon list")
    known = {icon["name"] for icon in json.loads(icon_list.read_text(encoding="utf-8"))}
    unknown = {
        path: icon
        for path, icon in _leaves(ICONS).items()
        if str(icon).removeprefix("mdi:") not in known
    }
    assert not unknown, f"icons the frontend does not know: {unknown}"


async def test_home_assistant_serves_the_chinese_translation(
    hass: HomeAssistant, caplog: pytest.LogCaptureFixture
) -> None:
    hass.config.language = "zh-Hans"
    await setup_site(hass, site_entry())

    entity = await async_get_translations(hass, "zh-Hans", "entity", [DOMAIN])
    exceptions = await async_get_translations(hass, "zh-Hans", "exceptions", [DOMAIN])
    # A placeholder mismatch is logged, and the English string served instead.
    errors = [
        record.getMessage()
        for record in caplog.records
        if record.name == "homeassistant.helpers.translation" and record.levelno >= logging.ERROR
    ]
    assert not errors
    prefix = f"component.{DOMAIN}"
    assert entity[f"{prefix}.entity.switch.mode_card.name"] == "门卡"
    assert CJK.search(exceptions[f"{prefix}.exceptions.denied_unknown_face.message"])

    # The entities are named in Chinese, as the frontend shows them.
    registry = er.async_get(hass)
    switch = registry.async_get_entity_id("switch", DOMAIN, f"{FLAT_1}_mode_card")
    event = registry.async_get_entity_id("event", DOMAIN, f"{FRONT_DOOR}_access")
    assert switch
    assert event
    switch_state = hass.states.get(switch)
    event_state = hass.states.get(event)
    assert switch_state
    assert event_state
    assert switch_state.name == "Flat 1 门卡"
    assert event_state.name == "Front door 通行"
