"""Tests for FaceGate's persistence layer, on real files on disk."""

import asyncio
import base64
import json
import stat
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers import storage
from homeassistant.helpers.storage import Store
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import async_fire_time_changed

from custom_components.facegate.const import DOMAIN
from custom_components.facegate.store import (
    STORAGE_MINOR_VERSION,
    STORAGE_VERSION,
    SecretStore,
    SiteStore,
    StoreCorruptError,
    StoreError,
    StoreErrorReason,
    async_remove_site_files,
    default_site_data,
)

ENTRY_ID = "01JFACEGATETESTENTRY000000"
SITE_KEY = f"{DOMAIN}.{ENTRY_ID}"
SECRETS_KEY = f"{DOMAIN}.{ENTRY_ID}.secrets"
ISSUE_ID = f"store_corrupt_{ENTRY_ID}"

SITE_DATA: dict[str, Any] = {
    "households": {"h1": {"name": "Flat 1", "mode": "home"}},
    "residents": {"r1": {"name": "Ada", "household": "h1", "pin_hash": "x"}},
    "visitor_codes": {"v1": {"code_hash": "y", "expires": "2030-01-01T00:00:00+00:00"}},
    "lockouts": {"door1": {"until": "2030-01-01T00:00:00+00:00", "failures": 5}},
    "audit": [{"door": "door1", "result": "denied"}],
}


# tests/conftest.py keeps every Store on the real disk (see hass_storage there).


def storage_path(hass: HomeAssistant, key: str) -> Path:
    """Return where Store keeps key."""
    return Path(hass.config.path(".storage", key))


def write_file(hass: HomeAssistant, key: str, content: bytes) -> Path:
    """Write raw bytes where Store keeps key."""
    path = storage_path(hass, key)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    return path


def envelope(version: int, minor: int, data: object, key: str = SITE_KEY) -> bytes:
    """Return a file as Store writes it."""
    doc = {"version": version, "minor_version": minor, "key": key, "data": data}
    return json.dumps(doc).encode()


def read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


async def test_store_is_not_mocked(hass: HomeAssistant, tmp_path: Path) -> None:
    # mock_storage() patches with autospec functions, whose code lives in unittest.mock.
    for method in (Store._async_load, Store._async_write_data, Store.async_remove):
        assert method.__code__.co_filename == storage.__file__
    assert Path(hass.config.config_dir) == tmp_path


async def test_first_load_returns_defaults_without_writing(hass: HomeAssistant) -> None:
    store = SiteStore(hass, ENTRY_ID)

    data = await store.async_load()

    assert data == {
        "households": {},
        "residents": {},
        "visitor_codes": {},
        "lockouts": {},
        "audit": [],
    }
    assert not store.path.exists()
    assert not ir.async_get(hass).async_get_issue(DOMAIN, ISSUE_ID)


async def test_defaults_are_fresh_copies() -> None:
    first = default_site_data()
    first["audit"].append({"x": 1})
    first["lockouts"]["door"] = {}

    assert default_site_data()["audit"] == []
    assert default_site_data()["lockouts"] == {}


async def test_save_and_reload_in_new_instance(hass: HomeAssistant) -> None:
    store = SiteStore(hass, ENTRY_ID)
    await store.async_load()

    await store.async_save(SITE_DATA)

    assert store.path == storage_path(hass, SITE_KEY)
    on_disk = read_json(store.path)
    assert on_disk["version"] == STORAGE_VERSION
    assert on_disk["minor_version"] == STORAGE_MINOR_VERSION
    assert on_disk["key"] == SITE_KEY
    assert on_disk["data"] == SITE_DATA
    assert await SiteStore(hass, ENTRY_ID).async_load() == SITE_DATA


async def test_save_replaces_previous_content(hass: HomeAssistant) -> None:
    store = SiteStore(hass, ENTRY_ID)
    await store.async_load()
    await store.async_save(SITE_DATA)
    newer = default_site_data() | {"audit": [{"door": "door2", "result": "granted"}]}

    await store.async_save(newer)

    assert read_json(store.path)["data"] == newer
    # The atomic write leaves no temporary file behind.
    assert [p.name for p in store.path.parent.iterdir()] == [SITE_KEY]


async def test_delayed_save_writes_after_delay(hass: HomeAssistant) -> None:
    store = SiteStore(hass, ENTRY_ID)
    await store.async_load()

    store.async_delayed_save(lambda: SITE_DATA, 10)
    await hass.async_block_till_done()
    assert not store.path.exists()

    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=11))
    await hass.async_block_till_done()
    assert read_json(store.path)["data"] == SITE_DATA


async def test_save_before_load_is_refused(hass: HomeAssistant) -> None:
    store = SiteStore(hass, ENTRY_ID)

    with pytest.raises(StoreError) as err:
        await store.async_save(SITE_DATA)
    assert err.value.reason is StoreErrorReason.NOT_LOADED
    with pytest.raises(StoreError):
        store.async_delayed_save(lambda: SITE_DATA, 0)

    await hass.async_block_till_done()
    assert not store.path.exists()


async def test_migrates_minor_1_file_on_disk(hass: HomeAssistant) -> None:
    old = {key: SITE_DATA[key] for key in ("households", "residents", "visitor_codes")}
    path = write_file(hass, SITE_KEY, envelope(1, 1, old))

    data = await SiteStore(hass, ENTRY_ID).async_load()

    assert data == old | {"lockouts": {}, "audit": []}
    on_disk = read_json(path)
    assert (on_disk["version"], on_disk["minor_version"]) == (1, 2)
    assert on_disk["data"] == old | {"lockouts": {}, "audit": []}


async def test_file_without_minor_version_is_minor_1(hass: HomeAssistant) -> None:
    doc = {"version": 1, "key": SITE_KEY, "data": {"households": {"h1": {}}}}
    path = write_file(hass, SITE_KEY, json.dumps(doc).encode())

    data = await SiteStore(hass, ENTRY_ID).async_load()

    assert data["households"] == {"h1": {}}
    assert data["audit"] == []
    assert read_json(path)["minor_version"] == STORAGE_MINOR_VERSION


async def test_newer_minor_version_keeps_unknown_keys(hass: HomeAssistant) -> None:
    newer = SITE_DATA | {"door_schedules": {"door1": ["08:00-18:00"]}}
    write_file(hass, SITE_KEY, envelope(1, 3, newer))

    assert await SiteStore(hass, ENTRY_ID).async_load() == newer


@pytest.mark.parametrize("version", [2, 0])
async def test_other_major_version_refused_file_untouched(
    hass: HomeAssistant, version: int
) -> None:
    original = envelope(version, 1, {"something": "new"})
    path = write_file(hass, SITE_KEY, original)
    store = SiteStore(hass, ENTRY_ID)

    with pytest.raises(StoreError) as err:
        await store.async_load()

    assert err.value.reason is StoreErrorReason.UNSUPPORTED_VERSION
    with pytest.raises(StoreError):
        await store.async_save(default_site_data())
    await hass.async_block_till_done()
    assert path.read_bytes() == original


async def test_corrupt_file_kept_aside_with_repair_issue(hass: HomeAssistant) -> None:
    garbage = b'{"version": 1, "data": {\x00\xff garbage'
    path = write_file(hass, SITE_KEY, garbage)
    store = SiteStore(hass, ENTRY_ID)

    with pytest.raises(StoreCorruptError) as err:
        await store.async_load()

    assert err.value.reason is StoreErrorReason.CORRUPT
    kept = err.value.corrupt_path
    assert kept.name.startswith(f"{SITE_KEY}.corrupt.")
    assert kept.read_bytes() == garbage
    assert not path.exists()
    issue = ir.async_get(hass).async_get_issue(DOMAIN, ISSUE_ID)
    assert issue is not None
    assert issue.severity is ir.IssueSeverity.ERROR
    assert not issue.is_fixable
    assert issue.translation_key == "store_corrupt"
    assert issue.translation_placeholders == {
        "original_path": str(path),
        "corrupt_path": str(kept),
    }
    # The caller cannot save fresh data over it by accident.
    with pytest.raises(StoreError):
        await store.async_save(default_site_data())
    await hass.async_block_till_done()
    assert not path.exists()


async def test_corrupt_site_stays_failed_until_restore(hass: HomeAssistant) -> None:
    write_file(hass, SITE_KEY, b"not json")
    with pytest.raises(StoreCorruptError) as first:
        await SiteStore(hass, ENTRY_ID).async_load()
    ir.async_delete_issue(hass, DOMAIN, ISSUE_ID)

    # A restart finds no file, only the copy kept aside: still not "fresh".
    with pytest.raises(StoreCorruptError) as again:
        await SiteStore(hass, ENTRY_ID).async_load()
    assert again.value.corrupt_path == first.value.corrupt_path
    assert ir.async_get(hass).async_get_issue(DOMAIN, ISSUE_ID)

    # Restoring a backup loads again and clears the issue.
    write_file(hass, SITE_KEY, envelope(1, 2, SITE_DATA))
    assert await SiteStore(hass, ENTRY_ID).async_load() == SITE_DATA
    assert not ir.async_get(hass).async_get_issue(DOMAIN, ISSUE_ID)
    assert first.value.corrupt_path.read_bytes() == b"not json"


async def test_start_fresh_after_corruption(hass: HomeAssistant) -> None:
    write_file(hass, SITE_KEY, b"\xde\xad\xbe\xef")
    store = SiteStore(hass, ENTRY_ID)
    with pytest.raises(StoreCorruptError) as err:
        await store.async_load()

    assert await store.async_start_fresh() == default_site_data()

    assert read_json(store.path)["data"] == default_site_data()
    assert err.value.corrupt_path.read_bytes() == b"\xde\xad\xbe\xef"
    assert not ir.async_get(hass).async_get_issue(DOMAIN, ISSUE_ID)
    await store.async_save(SITE_DATA)
    assert await SiteStore(hass, ENTRY_ID).async_load() == SITE_DATA


@pytest.mark.parametrize(
    ("content", "detail"),
    [
        (envelope(1, 2, ["not", "a", "dict"]), "list"),
        (envelope(1, 2, SITE_DATA | {"audit": {"not": "a list"}}), "audit"),
        (envelope(1, 1, SITE_DATA | {"lockouts": []}), "lockouts"),
        (b"[]", "TypeError"),
        (b"null", "TypeError"),
        (b'{"data": {}}', "KeyError('version')"),
        (b"{}", "empty document"),
    ],
)
async def test_invalid_layout_refused_file_untouched(
    hass: HomeAssistant, content: bytes, detail: str
) -> None:
    path = write_file(hass, SITE_KEY, content)

    with pytest.raises(StoreError) as err:
        await SiteStore(hass, ENTRY_ID).async_load()

    assert err.value.reason is StoreErrorReason.INVALID_FORMAT
    assert detail in err.value.detail
    await hass.async_block_till_done()
    assert path.read_bytes() == content


async def test_unreadable_file_refused(hass: HomeAssistant) -> None:
    # A directory where the file should be: reading fails with an OSError.
    storage_path(hass, SITE_KEY).mkdir(parents=True)

    with pytest.raises(StoreError) as err:
        await SiteStore(hass, ENTRY_ID).async_load()

    assert err.value.reason is StoreErrorReason.READ_FAILED


async def test_card_key_persists_in_private_file(hass: HomeAssistant) -> None:
    secrets = SecretStore(hass, ENTRY_ID)

    key = await secrets.async_get_card_key()

    assert len(key) == 32
    assert await secrets.async_get_card_key() == key
    assert secrets.path == storage_path(hass, SECRETS_KEY)
    assert stat.S_IMODE(secrets.path.stat().st_mode) == 0o600
    assert base64.b64decode(read_json(secrets.path)["data"]["card_key"]) == key
    assert await SecretStore(hass, ENTRY_ID).async_get_card_key() == key
    assert await SecretStore(hass, "other_entry").async_get_card_key() != key


async def test_concurrent_first_use_makes_one_key(hass: HomeAssistant) -> None:
    secrets = SecretStore(hass, ENTRY_ID)

    first, second = await asyncio.gather(secrets.async_get_card_key(), secrets.async_get_card_key())

    assert first == second
    assert await SecretStore(hass, ENTRY_ID).async_get_card_key() == first


async def test_corrupt_secrets_not_replaced_by_new_key(hass: HomeAssistant) -> None:
    path = write_file(hass, SECRETS_KEY, b"{{{")

    with pytest.raises(StoreCorruptError) as err:
        await SecretStore(hass, ENTRY_ID).async_get_card_key()

    assert err.value.corrupt_path.read_bytes() == b"{{{"
    assert not path.exists()
    assert ir.async_get(hass).async_get_issue(DOMAIN, f"secrets_corrupt_{ENTRY_ID}")
    with pytest.raises(StoreCorruptError):
        await SecretStore(hass, ENTRY_ID).async_get_card_key()
    assert not path.exists()


@pytest.mark.parametrize(
    "data",
    [
        {"card_key": base64.b64encode(b"short").decode()},
        {"card_key": "not base64!"},
        {"card_key": 42},
        {},
        ["card_key"],
    ],
)
async def test_invalid_card_key_refused(hass: HomeAssistant, data: object) -> None:
    content = envelope(1, 1, data, key=SECRETS_KEY)
    path = write_file(hass, SECRETS_KEY, content)

    with pytest.raises(StoreError) as err:
        await SecretStore(hass, ENTRY_ID).async_get_card_key()

    assert err.value.reason is StoreErrorReason.INVALID_FORMAT
    assert err.value.detail == "card_key"
    assert path.read_bytes() == content


async def test_remove_deletes_both_files(hass: HomeAssistant) -> None:
    site = SiteStore(hass, ENTRY_ID)
    await site.async_load()
    await site.async_save(SITE_DATA)
    await SecretStore(hass, ENTRY_ID).async_get_card_key()
    other = SiteStore(hass, "other_entry")
    await other.async_load()
    await other.async_save(SITE_DATA)

    await async_remove_site_files(hass, ENTRY_ID)

    assert not storage_path(hass, SITE_KEY).exists()
    assert not storage_path(hass, SECRETS_KEY).exists()
    assert other.path.exists()
    assert await SiteStore(hass, ENTRY_ID).async_load() == default_site_data()


async def test_remove_clears_issue_and_keeps_corrupt_copy(hass: HomeAssistant) -> None:
    write_file(hass, SITE_KEY, b"garbage")
    store = SiteStore(hass, ENTRY_ID)
    with pytest.raises(StoreCorruptError) as err:
        await store.async_load()

    await store.async_remove()

    assert not ir.async_get(hass).async_get_issue(DOMAIN, ISSUE_ID)
    assert err.value.corrupt_path.read_bytes() == b"garbage"
    with pytest.raises(StoreError):
        await store.async_save(SITE_DATA)


async def test_face_key_is_added_beside_the_card_key(hass: HomeAssistant) -> None:
    card_key = await SecretStore(hass, ENTRY_ID).async_get_card_key()  # a site from before

    face_key = await SecretStore(hass, ENTRY_ID).async_get_face_key()

    assert face_key != card_key
    assert len(face_key) == 32
    reloaded = SecretStore(hass, ENTRY_ID)
    assert await reloaded.async_get_card_key() == card_key
    assert await reloaded.async_get_face_key() == face_key
