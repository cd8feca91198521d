"""The files Home Assistant and HACS read: manifest, translations, hacs.json."""

import json
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent
INTEGRATION = ROOT / "custom_components" / "facegate"


def _json(path: Path) -> dict[str, object]:
    data = json.loads(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def test_manifest_has_what_hassfest_and_hacs_require() -> None:
    manifest = _json(INTEGRATION / "manifest.json")
    for key in (
        "domain", "name", "codeowners", "config_flow", "documentation",
        "integration_type", "iot_class", "issue_tracker", "requirements", "version",
    ):  # fmt: skip
        assert key in manifest, key
    assert manifest["domain"] == "facegate"
    # hassfest: domain and name first, then the other keys in alphabetical order.
    keys = list(manifest)
    assert keys[:2] == ["domain", "name"]
    assert keys[2:] == sorted(keys[2:])
    assert str(manifest["documentation"]).startswith("https://")


def test_hacs_json_uses_only_known_keys() -> None:
    allowed = {
        "name", "content_in_root", "zip_release", "filename", "hide_default_branch",
        "country", "homeassistant", "hacs", "persistent_directory", "render_readme",
    }  # fmt: skip
    hacs = _json(ROOT / "hacs.json")
    assert "name" in hacs
    assert set(hacs) <= allowed


def test_english_translation_matches_strings() -> None:
    # Custom integrations are served translations/en.json; strings.json is its source.
    assert _json(INTEGRATION / "translations" / "en.json") == _json(INTEGRATION / "strings.json")


@pytest.mark.parametrize("name", ["icon.png", "logo.png"])
def test_brand_images_exist(name: str) -> None:
    assert (INTEGRATION / "brand" / name).stat().st_size > 0
