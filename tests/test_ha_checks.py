"""The checks Home Assistant's validator (hassfest) and HACS make, run here with the tests.

hassfest itself lives in Home Assistant's repository, not in its wheel; these tests repeat the
checks that apply to FaceGate: dependencies of imported components, plain entry points in
__init__.py, actions against services.yaml, icons and the quality scale file.
"""

import ast
import importlib.metadata
import json
import re
from pathlib import Path
from typing import Any

import yaml
from awesomeversion import AwesomeVersion
from homeassistant.const import Platform
from homeassistant.core import HomeAssistant

from custom_components.facegate.const import DOMAIN

from .conftest import setup_site, site_entry

ROOT = Path(__file__).parent.parent
INTEGRATION = ROOT / "custom_components" / DOMAIN
# Components hassfest lets an integration use without listing them (its ALLOWED_USED_COMPONENTS,
# as far as FaceGate uses them): entity platforms, and these.
# As hassfest's ALLOWED_USED_COMPONENTS: platforms and internal integrations that are always there.
ALLOWED_WITHOUT_DEPENDENCY = {
    *(p.value for p in Platform),
    *("automation", "conversation", "device_automation", "frontend", "homeassistant"),
    *("panel_custom", "persistent_notification", "person", "script", "websocket_api"),
    *("llm", "logbook"),  # llm is a helper; logbook.py is this integration's platform file
}


def _json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def _used_components() -> dict[str, set[str]]:
    """The Home Assistant components each module of the package imports."""
    used: dict[str, set[str]] = {}
    for path in INTEGRATION.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names: list[str] = []
            if isinstance(node, ast.ImportFrom) and node.module:
                if node.module == "homeassistant.components":
                    names = [f"homeassistant.components.{a.name}" for a in node.names]
                else:
                    names = [node.module]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            for name in names:
                if m := re.match(r"homeassistant\.components\.(\w+)", name):
                    used.setdefault(m.group(1), set()).add(path.name)
    return used


def test_every_imported_component_is_a_dependency() -> None:
    manifest = _json(INTEGRATION / "manifest.json")
    declared = {*manifest["dependencies"], *manifest.get("after_dependencies", [])}
    undeclared = {
        component: files
        for component, files in _used_components().items()
        if component not in declared | ALLOWED_WITHOUT_DEPENDENCY
    }
    assert undeclared == {}, "add these to dependencies or after_dependencies"


def test_init_defines_its_entry_points_plainly() -> None:
    """hassfest reads __init__.py's source, so a module __getattr__ hides the entry points."""
    tree = ast.parse((INTEGRATION / "__init__.py").read_text(encoding="utf-8"))
    functions = {n.name for n in tree.body if isinstance(n, ast.AsyncFunctionDef)}
    assigned = {
        target.id
        for node in tree.body
        if isinstance(node, ast.Assign)
        for target in node.targets
        if isinstance(target, ast.Name)
    }
    assert {"async_setup", "async_setup_entry", "async_unload_entry"} <= functions
    assert "CONFIG_SCHEMA" in assigned  # hassfest: async_setup needs a config schema


async def test_actions_match_services_yaml_strings_and_icons(hass: HomeAssistant) -> None:
    await setup_site(hass, site_entry())
    registered = set(hass.services.async_services_for_domain(DOMAIN))
    described = set(yaml.safe_load((INTEGRATION / "services.yaml").read_text(encoding="utf-8")))
    strings = set(_json(INTEGRATION / "strings.json")["services"])
    icons = set(_json(INTEGRATION / "icons.json")["services"])
    assert registered == described == strings == icons


def test_every_entity_translation_has_an_icon_and_the_reverse() -> None:
    strings = _json(INTEGRATION / "strings.json")["entity"]
    icons = _json(INTEGRATION / "icons.json")["entity"]
    assert {(p, k) for p, keys in icons.items() for k in keys} <= {
        (p, k) for p, keys in strings.items() for k in keys
    }
    for platform, keys in strings.items():
        for key in keys:
            assert key in icons.get(platform, {}), (platform, key)


def test_hacs_needs_a_licence_and_a_home_assistant_it_supports() -> None:
    hacs = _json(ROOT / "hacs.json")
    assert (ROOT / "LICENSE").read_text(encoding="utf-8").startswith("MIT License")
    installed = AwesomeVersion(importlib.metadata.version("homeassistant"))
    assert AwesomeVersion(hacs["homeassistant"]) <= installed


def test_quality_scale_file_is_well_formed() -> None:
    rules = yaml.safe_load((INTEGRATION / "quality_scale.yaml").read_text(encoding="utf-8"))
    for rule, value in rules["rules"].items():
        status = value if isinstance(value, str) else value["status"]
        assert status in ("done", "todo", "exempt"), rule
        if status == "exempt":
            assert value["comment"], f"{rule}: an exemption says why"
