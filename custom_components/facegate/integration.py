"""FaceGate's entry points for Home Assistant: actions, and setting up and removing a site.

The package's __init__ calls these on first use (see there for why).
"""

from collections.abc import Callable, Coroutine
from typing import Any

from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ConfigEntryError
from homeassistant.helpers.dispatcher import async_dispatcher_send
from homeassistant.helpers.typing import ConfigType

from .access.audit import AuditLog
from .const import (
    CONF_AUDIT_RETENTION_DAYS,
    CONF_FACE_ENGINE,
    DEFAULT_AUDIT_RETENTION_DAYS,
    SUBENTRY_DOOR,
    SUBENTRY_HOUSEHOLD,
)
from .entity import SIGNAL_SUBENTRY_ADDED
from .face.models import DEFAULT_ENGINE
from .face.protection import TemplateProtector
from .face_service import FaceService, FaceTemplateStore
from .face_watch import FaceWatch
from .panel import async_setup_panel
from .recorder_check import async_check_recorder
from .runtime import DoorConfig, FaceGateConfigEntry, FaceGateRuntime
from .services import async_setup_services
from .store import SecretStore, SiteStore, StoreError, async_remove_site_files, site_in_use
from .tags import async_listen_for_cards
from .websocket_api import async_setup_websocket

PLATFORMS: list[Platform] = [Platform.EVENT, Platform.LOCK, Platform.SENSOR, Platform.SWITCH]


async def async_setup(hass: HomeAssistant, config: ConfigType) -> bool:
    """Register FaceGate's actions once, for every site."""
    async_setup_services(hass)
    async_setup_websocket(hass)
    await async_setup_panel(hass)
    return True


async def async_setup_entry(hass: HomeAssistant, entry: FaceGateConfigEntry) -> bool:
    """Set up one FaceGate site; an unreadable store keeps every door shut."""
    store = SiteStore(hass, entry.entry_id)
    try:
        data = await store.async_load()
        templates = FaceTemplateStore(hass, entry.entry_id).path
        in_use = await hass.async_add_executor_job(site_in_use, data, templates)
        secret_store = SecretStore(hass, entry.entry_id, site_in_use=in_use)
        card_key = await secret_store.async_get_card_key()
        face_key = await secret_store.async_get_face_key()
    except StoreError as err:
        raise ConfigEntryError(
            translation_domain=err.translation_domain,
            translation_key=err.translation_key,
            translation_placeholders=err.translation_placeholders,
        ) from err
    retention = entry.options.get(CONF_AUDIT_RETENTION_DAYS, DEFAULT_AUDIT_RETENTION_DAYS)
    protector = await hass.async_add_executor_job(TemplateProtector, face_key)
    engine = entry.options.get(CONF_FACE_ENGINE, DEFAULT_ENGINE)
    faces = FaceService(hass, entry.entry_id, protector, engine)
    await faces.async_load()
    runtime = FaceGateRuntime(
        site_name=entry.title,
        store=store,
        card_key=card_key,
        faces=faces,
        audit=AuditLog(retention),
    )
    runtime.load(data, entry)
    for resident_id in faces.resident_ids:
        if resident_id not in runtime.directory.residents:  # left with a deleted household
            await faces.async_erase(resident_id)
    entry.async_on_unload(faces.async_stop)
    for door in runtime.doors.values():
        _start_face_watches(hass, entry, runtime, door)
    entry.runtime_data = runtime
    entry.async_on_unload(entry.add_update_listener(_updated_listener(entry)))
    entry.async_on_unload(async_listen_for_cards(hass, runtime))
    async_check_recorder(hass)
    await hass.config_entries.async_forward_entry_setups(entry, PLATFORMS)
    # A bool, not None: Home Assistant 2026.10 treats None as a failed setup.
    return True


def _start_face_watches(
    hass: HomeAssistant, entry: FaceGateConfigEntry, runtime: FaceGateRuntime, door: DoorConfig
) -> None:
    for camera_id in door.camera_entity_ids:
        watch = FaceWatch(hass, runtime, door, camera_id)
        runtime.face_watches[(door.door_id, camera_id)] = watch
        entry.async_on_unload(watch.async_start())


type _Snapshot = tuple[dict[str, Any], dict[str, tuple[str, dict[str, Any]]]]


def _snapshot(entry: FaceGateConfigEntry) -> _Snapshot:
    subentries = {sid: (sub.title, dict(sub.data)) for sid, sub in entry.subentries.items()}
    return dict(entry.options), subentries


def _updated_listener(
    entry: FaceGateConfigEntry,
) -> Callable[[HomeAssistant, FaceGateConfigEntry], Coroutine[Any, Any, None]]:
    """On an entry update: add a new door or household in place, rebuild the site otherwise.

    Adding in place keeps every other door available and its entities quiet; a change or a
    removal rebuilds the whole site from the entry, as it is simpler and rare.
    """
    seen = _snapshot(entry)

    async def _async_updated(hass: HomeAssistant, entry: FaceGateConfigEntry) -> None:
        nonlocal seen
        now = _snapshot(entry)
        (old_options, old_subs), (new_options, new_subs) = seen, now
        added = [sid for sid in new_subs if sid not in old_subs]
        unchanged = new_options == old_options and all(
            new_subs.get(sid) == value for sid, value in old_subs.items()
        )
        if not (added and unchanged):
            await hass.config_entries.async_reload(entry.entry_id)
            return
        seen = now
        runtime = entry.runtime_data
        for sid in added:
            sub = entry.subentries[sid]
            if sub.subentry_type == SUBENTRY_HOUSEHOLD:
                runtime.add_household(sub)
            elif sub.subentry_type == SUBENTRY_DOOR:
                door = runtime.doors[sid] = DoorConfig.from_subentry(sub)
                _start_face_watches(hass, entry, runtime, door)
        await runtime.async_save()
        for sid in added:
            async_dispatcher_send(hass, SIGNAL_SUBENTRY_ADDED.format(entry.entry_id), sid)

    return _async_updated


async def async_unload_entry(hass: HomeAssistant, entry: FaceGateConfigEntry) -> bool:
    """Unload a site and everything it started."""
    return await hass.config_entries.async_unload_platforms(entry, PLATFORMS)


async def async_remove_entry(hass: HomeAssistant, entry: FaceGateConfigEntry) -> None:
    """Delete the site's stored data and keys with the site."""
    await async_remove_site_files(hass, entry.entry_id)
    await FaceTemplateStore(hass, entry.entry_id).async_remove()
