"""The checks Home Assistant's validator (hassfest) and HACS make, run here with the tests.

hassfest lives in Home Assistant's repository, not in its wheel or sdist, and this machine has no
network: these tests repeat, in our own code, the rules of each hassfest plugin that the official
action (home-assistant/actions/hassfest: every INTEGRATION_PLUGINS plugin, run with
--integration-path on each custom integration) applies to FaceGate.

Mirrored, plugin by plugin:
- manifest: the custom-integration schema (required and allowed keys, integration_type, iot_class,
  a valid version, URLs), domain equal to the folder, no clash with a core integration, keys in
  order (domain, name, then alphabetical).
- dependencies: every imported homeassistant.components.X is a platform, an always-allowed
  component, a platform file of this integration, or in dependencies/after_dependencies; no
  hass.components.X; none in both lists; each one exists (hassfest skips the last two for a single
  custom integration: we check them anyway).
- config_schema: __init__.py defines async_setup, so it assigns CONFIG_SCHEMA; the entry points
  are plain functions (hassfest reads the source, which a module __getattr__ hides).
- config_flow: "config_flow": true in the manifest and config_flow.py defines the flow; every
  form or menu step of the config, options and subentry flows is in strings.json (what hassfest's
  translations plugin requires for core and the frontend needs to show a titled form).
- json: every JSON file of the integration parses.
- translations: strings.json and translations/en.json against the strings rules that matter here:
  no HTML, no single-quoted placeholders, lowercase slugs for translation and state keys; en.json
  equal to strings.json.
- services: each registered action is in services.yaml, strings.json (name and description, and
  each field's name and description) and icons.json, and nothing more.
- icons: every icon is an mdi: icon, translation keys are slugs, each entity translation key has
  an icon and the reverse, and no state icon repeats its default (hassfest: "thus can be removed").
- quality_scale: hassfest skips the file for custom integrations; we hold it to the core schema:
  exactly the rules core integrations list (read from the installed Home Assistant's own
  quality_scale.yaml files), a status each, an exemption with its reason.
- HACS (not hassfest): a LICENSE, and a minimum Home Assistant version that is installed here.

Not mirrored, and why: requirements (FaceGate's manifest lists none; hassfest checks requirements
of custom integrations only with --requirements), codeowners (it writes core's CODEOWNERS file),
application_credentials, bluetooth, dhcp, mqtt, ssdp, usb, zeroconf (no such manifest keys or
platforms), recorder (no recorder platform), triggers and conditions (no triggers.yaml or
conditions.yaml), brand, coverage, mypy_config, metadata, docker and core_files (run for core
only, not with --integration-path).
"""

import ast
import importlib.metadata
import json
import re
from pathlib import Path
from typing import Any

import homeassistant.components
import yaml
from awesomeversion import AwesomeVersion, AwesomeVersionStrategy
from homeassistant.const import Platform
from homeassistant.core import HomeAssistant

from custom_components.facegate.const import DOMAIN

from .conftest import setup_site, site_entry

ROOT = Path(__file__).parent.parent
INTEGRATION = ROOT / "custom_components" / DOMAIN
COMPONENTS = Path(homeassistant.components.__file__).parent
# As hassfest's ALLOWED_USED_COMPONENTS (as far as FaceGate uses them): entity platforms, and
# internal integrations that are always there.
ALLOWED_WITHOUT_DEPENDENCY = {
    *(p.value for p in Platform),
    *("automation", "conversation", "device_automation", "frontend", "homeassistant"),
    *("panel_custom", "persistent_notification", "person", "script", "websocket_api"),
}
# The manifest keys hassfest's custom-integration schema knows, and the values it allows.
MANIFEST_REQUIRED = {"domain", "name", "documentation", "codeowners"}
MANIFEST_KEYS = MANIFEST_REQUIRED | {
    *("integration_type", "config_flow", "mqtt", "zeroconf", "ssdp", "bluetooth", "homekit"),
    *("dhcp", "usb", "issue_tracker", "quality_scale", "requirements", "dependencies"),
    *("after_dependencies", "loggers", "disabled", "iot_class", "single_config_entry"),
    *("version", "import_executor"),
}
INTEGRATION_TYPES = {"device", "entity", "hardware", "helper", "hub", "service", "system"}
IOT_CLASSES = {
    *("assumed_state", "calculated", "cloud_polling", "cloud_push"),
    *("local_polling", "local_push"),
}
SLUG = re.compile(r"^[a-z0-9_-]+$")
HTML = re.compile(r"<[a-z/][^>]*>", re.IGNORECASE)
SINGLE_QUOTED_PLACEHOLDER = re.compile(r"'\{[^}']+\}'")


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
    own_platforms = {p.stem for p in INTEGRATION.glob("*.py")} | {
        p.name for p in INTEGRATION.iterdir() if p.is_dir()
    }  # hassfest: logbook.py, diagnostics.py ... are this integration's platforms of those
    undeclared = {
        component: files
        for component, files in _used_components().items()
        if component not in declared | ALLOWED_WITHOUT_DEPENDENCY | own_platforms
    }
    assert undeclared == {}, "add these to dependencies or after_dependencies"


def test_no_component_is_reached_through_hass_components() -> None:
    """hassfest counts hass.components.X as a use of X; Home Assistant removed it anyway."""
    for path in INTEGRATION.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Attribute) and node.attr == "components":
                value = node.value
                name = value.id if isinstance(value, ast.Name) else getattr(value, "attr", "")
                assert name not in ("hass", "_hass"), path.name


def test_dependencies_exist_and_are_listed_once() -> None:
    manifest = _json(INTEGRATION / "manifest.json")
    dependencies, after = manifest["dependencies"], manifest.get("after_dependencies", [])
    assert not set(dependencies) & set(after), "in both dependencies and after_dependencies"
    for domain in [*dependencies, *after]:
        assert (COMPONENTS / domain / "manifest.json").is_file(), f"{domain} does not exist"


def test_manifest_follows_hassfests_custom_integration_schema() -> None:
    manifest = _json(INTEGRATION / "manifest.json")
    assert set(manifest) >= MANIFEST_REQUIRED, MANIFEST_REQUIRED - set(manifest)
    assert set(manifest) <= MANIFEST_KEYS, set(manifest) - MANIFEST_KEYS
    assert manifest["domain"] == INTEGRATION.name
    assert not (COMPONENTS / manifest["domain"]).exists(), "the domain of a core integration"
    assert manifest.get("integration_type", "hub") in INTEGRATION_TYPES
    assert manifest["iot_class"] in IOT_CLASSES
    assert isinstance(manifest["codeowners"], list)
    for key in ("documentation", "issue_tracker"):
        assert re.match(r"^https?://[^\s/]+\.[^\s]+$", manifest[key]), key
    version = AwesomeVersion(
        manifest["version"],
        ensure_strategy=[
            AwesomeVersionStrategy.CALVER,
            AwesomeVersionStrategy.SEMVER,
            AwesomeVersionStrategy.SIMPLEVER,
            AwesomeVersionStrategy.BUILDVER,
            AwesomeVersionStrategy.PEP440,
        ],
    )  # raises on a version hassfest would refuse
    assert version.valid
    keys = list(manifest)
    assert keys == ["domain", "name", *sorted(keys[2:])], "domain, name, then alphabetical"


def test_every_json_file_parses() -> None:
    for path in INTEGRATION.rglob("*.json"):
        _json(path)  # raises with the file's name on invalid JSON


def test_config_flow_is_declared_and_every_step_is_translated() -> None:
    assert _json(INTEGRATION / "manifest.json")["config_flow"] is True
    assert "class FaceGateConfigFlow(ConfigFlow" in (INTEGRATION / "config_flow.py").read_text(
        encoding="utf-8"
    )
    strings = _json(INTEGRATION / "strings.json")
    sections = {
        "config_flow.py": [strings["config"]],
        "options_flow.py": [strings["options"]],
        "subentry_flows.py": list(strings["config_subentries"].values()),
    }
    for file, flows in sections.items():
        source = (INTEGRATION / file).read_text(encoding="utf-8")
        for step in set(re.findall(r'step_id="(\w+)"', source)):
            for flow in flows:
                assert step in flow["step"], (file, step)


def _strings_of(tree: Any, path: str = "") -> list[tuple[str, str]]:
    if isinstance(tree, dict):
        return [pair for key, value in tree.items() for pair in _strings_of(value, f"{path}.{key}")]
    return [(path, tree)]


def test_translation_strings_follow_hassfests_rules() -> None:
    strings = _json(INTEGRATION / "strings.json")
    assert _json(INTEGRATION / "translations" / "en.json") == strings
    for path, text in _strings_of(strings):
        assert isinstance(text, str), path
        assert not HTML.search(text), f"{path}: no HTML in translations"
        assert not SINGLE_QUOTED_PLACEHOLDER.search(text), f"{path}: placeholders unquoted"
    for platform, keys in strings["entity"].items():
        for key, entry in keys.items():
            assert SLUG.match(key), (platform, key)
            assert all(SLUG.match(state) for state in entry.get("state", {})), key
            for attribute in entry.get("state_attributes", {}).values():
                assert all(SLUG.match(state) for state in attribute.get("state", {})), key
    for name, selector in strings.get("selector", {}).items():
        assert SLUG.match(name)
        assert all(SLUG.match(option) for option in selector.get("options", {})), name


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
    described = yaml.safe_load((INTEGRATION / "services.yaml").read_text(encoding="utf-8"))
    strings = _json(INTEGRATION / "strings.json")["services"]
    icons = _json(INTEGRATION / "icons.json")["services"]
    assert registered == set(described) == set(strings) == set(icons)
    for service, spec in described.items():
        assert strings[service]["name"], service
        assert strings[service]["description"], service
        assert icons[service]["service"].startswith("mdi:"), service
        for field in (spec or {}).get("fields", {}):
            text = strings[service]["fields"][field]
            assert text["name"], (service, field)
            assert text["description"], (service, field)


def test_every_entity_translation_has_an_icon_and_the_reverse() -> None:
    strings = _json(INTEGRATION / "strings.json")["entity"]
    icons = _json(INTEGRATION / "icons.json")["entity"]
    assert {(p, k) for p, keys in icons.items() for k in keys} <= {
        (p, k) for p, keys in strings.items() for k in keys
    }
    for platform, keys in strings.items():
        for key in keys:
            assert key in icons.get(platform, {}), (platform, key)


def test_icons_follow_hassfests_rules() -> None:
    icons = _json(INTEGRATION / "icons.json")
    for path, icon in _strings_of(icons):
        assert icon.startswith("mdi:"), path
        assert not HTML.search(icon), path
    sections = [
        (f"{platform}.{key}", entry)
        for platform, keys in icons["entity"].items()
        for key, entry in keys.items()
    ]
    sections += [
        (f"{name}.{attribute}", spec)
        for name, entry in sections
        for attribute, spec in entry.get("state_attributes", {}).items()
    ]
    for name, section in sections:
        assert all(SLUG.match(state) for state in section.get("state", {})), name
        for state, icon in section.get("state", {}).items():
            assert icon != section.get("default"), f"{name}.{state}: same as the default icon"


def test_hacs_needs_a_licence_and_a_home_assistant_it_supports() -> None:
    hacs = _json(ROOT / "hacs.json")
    assert (ROOT / "LICENSE").read_text(encoding="utf-8").startswith("MIT License")
    installed = AwesomeVersion(importlib.metadata.version("homeassistant"))
    assert AwesomeVersion(hacs["homeassistant"]) <= installed


def test_quality_scale_file_has_every_rule_of_the_core_schema() -> None:
    """hassfest skips this file for custom integrations; core's rules list every rule."""
    core_rules: set[str] = set()
    for path in COMPONENTS.glob("*/quality_scale.yaml"):
        core_rules |= set(yaml.safe_load(path.read_text(encoding="utf-8"))["rules"])
    assert len(core_rules) > 50  # the installed Home Assistant ships them
    rules = yaml.safe_load((INTEGRATION / "quality_scale.yaml").read_text(encoding="utf-8"))
    assert set(rules) == {"rules"}
    assert set(rules["rules"]) == core_rules
    for rule, value in rules["rules"].items():
        status = value if isinstance(value, str) else value["status"]
        assert status in ("done", "todo", "exempt"), rule
        if status == "exempt":
            assert value["comment"], f"{rule}: an exemption says why"


def test_no_rule_is_left_to_do() -> None:
    """The header says every rule is done or exempt: hold it to it."""
    rules = yaml.safe_load((INTEGRATION / "quality_scale.yaml").read_text(encoding="utf-8"))
    todo = {
        rule
        for rule, value in rules["rules"].items()
        if (value if isinstance(value, str) else value["status"]) == "todo"
    }
    assert todo == set()


def test_dependencies_are_transparent_nothing_is_installed_at_run_time() -> None:
    """dependency-transparency: the manifest lists no requirement, and no code installs one
    (the optional dlib engine's packages are the administrator's to install)."""
    assert _json(INTEGRATION / "manifest.json")["requirements"] == []
    installers = ("async_process_requirements", "pip_install", "install_package")
    for path in INTEGRATION.rglob("*.py"):
        source = path.read_text(encoding="utf-8")
        assert not [name for name in installers if name in source], path.name
