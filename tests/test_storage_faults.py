"""The store under faults, with a real hass and real files: crashes, races and restarts.

- A write cut off half-way (a crash, a full disk) leaves the previous file intact: Home
  Assistant's Store writes a temporary file and renames it over the old one (atomic_writes).
- Actions at the same time lose no update: every change is in the file, and after a restart.
- Lockouts, consents and the audit trail (folded refusals too) survive a restart.
"""

import asyncio
import json
from datetime import timedelta
from pathlib import Path
from typing import Any
from unittest.mock import patch

import pytest
from atomicwrites import AtomicWriter
from homeassistant.components.lock.const import LockState
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import ATTR_ENTITY_ID, EVENT_HOMEASSISTANT_FINAL_WRITE
from homeassistant.core import HomeAssistant
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    MockUser,
    async_fire_time_changed,
)

from custom_components.facegate.const import DOMAIN
from custom_components.facegate.gate import LOCKED_OUT_SAVE_DELAY

from .conftest import FLAT_1, FLAT_2, FRONT_DOOR, setup_site, site_entry
from .test_doors import LOCK, OTHER_PIN, PIN, add_resident, call, household_device

THIRD_PIN = "502839"


def store_path(hass: HomeAssistant, entry: MockConfigEntry) -> Path:
    return Path(hass.config.path(".storage", f"{DOMAIN}.{entry.entry_id}"))


async def read_bytes(path: Path, hass: HomeAssistant) -> bytes:
    return await hass.async_add_executor_job(path.read_bytes)


async def stored(hass: HomeAssistant, entry: MockConfigEntry) -> dict[str, Any]:
    """The site's data as it is on disk."""
    return json.loads(await read_bytes(store_path(hass, entry), hass))["data"]  # type: ignore[no-any-return]


async def restart(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    """What a restart does to the site: the final write, then the site loaded from disk."""
    hass.bus.async_fire(EVENT_HOMEASSISTANT_FINAL_WRITE)
    await hass.async_block_till_done()
    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED


@pytest.fixture
async def site(hass: HomeAssistant) -> MockConfigEntry:
    return await setup_site(hass, site_entry())


# A write cut off half-way ----------------------------------------------------------------------


class CrashError(OSError):
    """The machine went down while the file was being written."""


def crash_half_way(debris: list[Path]) -> Any:
    """AtomicWriter.get_fileobject that writes half the data, then 'loses power'.

    Rollback is disabled too: a real crash does not clean up, it leaves the partial
    temporary file behind.
    """
    real = AtomicWriter.get_fileobject

    def get_fileobject(self: AtomicWriter, **kwargs: Any) -> Any:
        file = real(self, **kwargs)
        debris.append(Path(file.name))
        real_write = file.write

        def write(data: str) -> int:
            real_write(data[: len(data) // 2])
            file.flush()
            raise CrashError("power cut")

        file.write = write
        return file

    return get_fileobject


async def test_a_write_cut_off_half_way_leaves_the_previous_file(
    hass: HomeAssistant,
    site: MockConfigEntry,
    hass_admin_user: MockUser,
    caplog: pytest.LogCaptureFixture,
) -> None:
    alex = await add_resident(hass, hass_admin_user)
    await call(hass, "set_pin", {"resident_id": alex, "pin": PIN}, hass_admin_user)
    path = store_path(hass, site)
    good = await read_bytes(path, hass)
    debris: list[Path] = []

    with (
        patch.object(AtomicWriter, "get_fileobject", crash_half_way(debris)),
        patch.object(AtomicWriter, "rollback", lambda self, f: None),
    ):
        await add_resident(hass, hass_admin_user, name="Blake")

    # The crash left a partial temporary file beside the store; the store itself is whole.
    assert await read_bytes(path, hass) == good
    [partial] = debris
    assert partial.parent == path.parent
    partial_bytes = await read_bytes(partial, hass)
    assert 0 < len(partial_bytes) < len(good) * 2
    with pytest.raises(json.JSONDecodeError):
        json.loads(partial_bytes)
    # Home Assistant's Store logs the failed write and does not raise it (see the report).
    assert f"Error writing config for {DOMAIN}.{site.entry_id}" in caplog.text

    # After the restart, the site is the one before the crash: Alex and the PIN, no Blake.
    await hass.config_entries.async_unload(site.entry_id)
    assert await hass.config_entries.async_setup(site.entry_id)
    await hass.async_block_till_done()
    residents = site.runtime_data.directory.residents
    assert [r.name for r in residents.values()] == ["Alex"]
    response = await call(hass, "present_credential", {ATTR_ENTITY_ID: LOCK, "pin": PIN})
    assert response["granted"] is True
    # The debris is never read, and the next write replaces the store as usual.
    await add_resident(hass, hass_admin_user, name="Casey")
    assert "Casey" in json.dumps(await stored(hass, site))
    assert await read_bytes(partial, hass) == partial_bytes


async def test_a_leftover_temporary_file_is_not_loaded(
    hass: HomeAssistant, hass_admin_user: MockUser
) -> None:
    """A crash between writing the temporary file and renaming it: the old store loads."""
    entry = await setup_site(hass, site_entry())
    await add_resident(hass, hass_admin_user)
    path = store_path(hass, entry)
    good = await read_bytes(path, hass)
    complete_but_unrenamed = good.replace(b'"Alex"', b'"Mallory"')
    await hass.async_add_executor_job((path.parent / "tmpx1y2z3").write_bytes, good[:40])
    await hass.async_add_executor_job(
        (path.parent / "tmpa4b5c6").write_bytes, complete_but_unrenamed
    )

    await hass.config_entries.async_unload(entry.entry_id)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()

    names = [r.name for r in entry.runtime_data.directory.residents.values()]
    assert names == ["Alex"]
    assert await read_bytes(path, hass) == good


# Actions at the same time ----------------------------------------------------------------------


async def test_actions_at_the_same_time_lose_no_update(
    hass: HomeAssistant, site: MockConfigEntry, hass_admin_user: MockUser
) -> None:
    admin = hass_admin_user
    alex = await add_resident(hass, admin)
    blake = await add_resident(hass, admin, name="Blake")
    casey = await add_resident(hass, admin, household_id=FLAT_2, name="Casey")
    flat_1 = await household_device(hass, FLAT_1)

    wrong = {ATTR_ENTITY_ID: LOCK, "pin": "73914682"}
    results = await asyncio.gather(
        *(
            call(hass, "add_resident", {"household": flat_1, "name": f"N{i}"}, admin)
            for i in range(8)
        ),
        call(hass, "set_pin", {"resident_id": alex, "pin": PIN}, admin),
        call(hass, "set_pin", {"resident_id": blake, "pin": OTHER_PIN}, admin),
        call(hass, "set_pin", {"resident_id": casey, "pin": THIRD_PIN}, admin),
        call(hass, "set_face_consent", {"resident_id": blake, "consent": True}, admin),
        call(hass, "update_resident", {"resident_id": casey, "show_name": True}, admin),
        call(hass, "create_visitor_code", {"resident_id": alex, "uses": 2}, admin),
        call(hass, "create_visitor_code", {"resident_id": casey, "uses": 3}, admin),
        *(call(hass, "present_credential", wrong) for _ in range(3)),
    )

    runtime = site.runtime_data
    directory = runtime.directory
    added = {r["resident_id"] for r in results[:8]}
    assert added <= set(directory.residents)
    assert all(directory.residents[r].pin for r in (alex, blake, casey))
    assert directory.residents[blake].face_consent is not None
    assert directory.residents[casey].show_name is True
    assert len(directory.visitor_codes) == 2
    assert sum(r.count for r in runtime.audit.records) == 3
    # Everything is in the file ...
    on_disk = await stored(hass, site)
    assert on_disk == json.loads(json.dumps(runtime.as_dict()))
    # ... and comes back after a restart.
    before = json.loads(json.dumps(runtime.as_dict()))
    await restart(hass, site)
    assert json.loads(json.dumps(site.runtime_data.as_dict())) == before
    for pin in (PIN, OTHER_PIN, THIRD_PIN):
        response = await call(hass, "present_credential", {ATTR_ENTITY_ID: LOCK, "pin": pin})
        assert response["granted"] is (pin != THIRD_PIN), pin  # Casey's household: not here
        await hass.services.async_call("lock", "lock", {ATTR_ENTITY_ID: LOCK}, blocking=True)


async def test_the_same_pin_twice_at_once_is_refused_once(
    hass: HomeAssistant, site: MockConfigEntry, hass_admin_user: MockUser
) -> None:
    alex = await add_resident(hass, hass_admin_user)
    blake = await add_resident(hass, hass_admin_user, name="Blake")

    results = await asyncio.gather(
        call(hass, "set_pin", {"resident_id": alex, "pin": PIN}, hass_admin_user),
        call(hass, "set_pin", {"resident_id": blake, "pin": PIN}, hass_admin_user),
        return_exceptions=True,
    )

    residents = site.runtime_data.directory.residents
    assert sum(1 for r in (alex, blake) if residents[r].pin) == 1, results


# Restarts ----------------------------------------------------------------------------------------


async def test_lockout_consent_and_audit_survive_a_restart(
    hass: HomeAssistant, site: MockConfigEntry, hass_admin_user: MockUser
) -> None:
    alex = await add_resident(hass, hass_admin_user)
    await call(hass, "set_pin", {"resident_id": alex, "pin": PIN}, hass_admin_user)
    await call(hass, "set_face_consent", {"resident_id": alex, "consent": True}, hass_admin_user)
    for _ in range(5):  # the fifth locks the door out
        await call(hass, "present_credential", {ATTR_ENTITY_ID: LOCK, "pin": OTHER_PIN})
    for _ in range(7):  # refused unheard: saved after a delay, or at the final write
        await call(hass, "present_credential", {ATTR_ENTITY_ID: LOCK, "card_uid": "04:11:22:33"})
    runtime = site.runtime_data
    audit = [(r.outcome.value, r.reason, r.count) for r in runtime.audit.records]
    assert audit == [("denied", "unknown_credential", 4), ("lockout", "too_many_failures", 1),
                     ("denied", "locked_out", 7)]  # fmt: skip
    locked_until = runtime.lockout.as_dict()[FRONT_DOOR]["locked_until"]

    await restart(hass, site)

    runtime = site.runtime_data
    assert runtime is not None
    assert [(r.outcome.value, r.reason, r.count) for r in runtime.audit.records] == audit
    assert runtime.lockout.as_dict()[FRONT_DOOR]["locked_until"] == locked_until
    assert runtime.directory.residents[alex].face_consent is not None
    response = await call(hass, "present_credential", {ATTR_ENTITY_ID: LOCK, "pin": PIN})
    assert response["reason"] == "locked_out"
    assert hass.states.get(LOCK).state == LockState.LOCKED


async def test_a_delayed_save_from_before_a_reload_overwrites_nothing(
    hass: HomeAssistant, site: MockConfigEntry, hass_admin_user: MockUser
) -> None:
    """A refusal's delayed save still pending when the site reloads (a door was added, an
    option changed) must not write the old site's data over what the new one saved since.
    """
    for _ in range(6):  # locked out, then one refusal unheard: its save waits a few seconds
        await call(hass, "present_credential", {ATTR_ENTITY_ID: LOCK, "pin": OTHER_PIN})
    assert await hass.config_entries.async_reload(site.entry_id)
    await hass.async_block_till_done()
    alex = await add_resident(hass, hass_admin_user)  # saved at once by the reloaded site

    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=LOCKED_OUT_SAVE_DELAY + 1))
    await hass.async_block_till_done()

    assert alex in (await stored(hass, site))["residents"]
    audit = [(r["reason"], r["count"]) for r in (await stored(hass, site))["audit"]]
    assert audit == [("unknown_credential", 4), ("too_many_failures", 1), ("locked_out", 1)]
