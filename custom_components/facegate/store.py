"""Persistence of one FaceGate site (one config entry).

Two files under .storage/, both written through Home Assistant's Store, both private (mode
0600: the site file holds PIN hashes and card digests, which can be guessed offline):

- ``facegate.<entry_id>``: the site's data (households, residents, visitor codes, lockouts,
  audit records), an opaque dict apart from the top-level keys in ``default_site_data()``;
- ``facegate.<entry_id>.secrets``: per-installation keys.

Writes use ``atomic_writes=True``: the Store writes a temporary file, fsyncs it and renames it
over the old one (homeassistant.util.file.write_utf8_file_atomic), so a crash or power cut
leaves either the previous file or the new one, never a half-written one. Access decisions
such as lockouts are saved immediately, not on a timer.

Loading fails closed. Whenever stored data exists but cannot be used (corrupt JSON, a newer
major version, a wrong layout), loading raises ``StoreError`` and nothing is written, so doors
stay shut instead of opening on empty, "fresh" data. A missing secrets file beside a site that
already holds residents, codes or face templates fails closed too (``secrets_missing``): new
keys would silently invalidate every card and make every template unreadable.
"""

import asyncio
import base64
import glob
import logging
import secrets
from collections.abc import Callable
from copy import deepcopy
from enum import StrEnum
from pathlib import Path
from typing import Any, Final, NoReturn, override

from homeassistant.core import HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError, UnsupportedStorageVersionError
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.storage import Store
from homeassistant.util.hass_dict import HassKey

from .const import DOMAIN

_LOGGER = logging.getLogger(__name__)

STORAGE_VERSION: Final = 1
# Minor 1: households, residents, visitor_codes. Minor 2 added lockouts and audit.
STORAGE_MINOR_VERSION: Final = 2
SECRETS_VERSION: Final = 1
CARD_KEY_BYTES: Final = 32  # the size of every key in the secrets file
CARD_KEY: Final = "card_key"
FACE_KEY: Final = "face_key"

_SITE_DEFAULTS: Final[dict[str, Any]] = {
    "households": {},
    "residents": {},
    "visitor_codes": {},
    "lockouts": {},
    "audit": [],
}


def default_site_data() -> dict[str, Any]:
    """Return the data of a site that has never been saved."""
    return deepcopy(_SITE_DEFAULTS)


class StoreErrorReason(StrEnum):
    """Why stored data could not be used."""

    CORRUPT = "corrupt"
    UNSUPPORTED_VERSION = "unsupported_version"
    INVALID_FORMAT = "invalid_format"
    READ_FAILED = "read_failed"
    NOT_LOADED = "not_loaded"
    SECRETS_MISSING = "secrets_missing"


class StoreError(HomeAssistantError):
    """Stored data cannot be used: the site must fail to load and keep its doors shut.

    ``reason`` says why; the message comes from the ``store_<reason>`` exception translation,
    with the placeholders ``storage_key`` and ``detail``.
    """

    def __init__(self, reason: StoreErrorReason, storage_key: str, detail: str = "") -> None:
        """Initialize the error."""
        super().__init__(
            translation_domain=DOMAIN,
            translation_key=f"store_{reason}",
            translation_placeholders={"storage_key": storage_key, "detail": detail},
        )
        self.reason = reason
        self.storage_key = storage_key
        self.detail = detail


class StoreCorruptError(StoreError):
    """The file was not valid JSON; Home Assistant moved it aside to ``corrupt_path``."""

    def __init__(self, storage_key: str, corrupt_path: Path) -> None:
        """Initialize the error."""
        super().__init__(StoreErrorReason.CORRUPT, storage_key, str(corrupt_path))
        self.corrupt_path = corrupt_path


class _SiteJsonStore(Store[dict[str, Any]]):
    """Store that migrates the site layout between minor versions."""

    @override
    async def _async_migrate_func(
        self, old_major_version: int, old_minor_version: int, old_data: dict[str, Any]
    ) -> dict[str, Any]:
        """Bring 1.x data to 1.2; Store saves the result right after."""
        # Store itself refuses majors above STORAGE_VERSION; none below 1 ever existed.
        if old_major_version != STORAGE_VERSION:
            raise StoreError(
                StoreErrorReason.UNSUPPORTED_VERSION,
                self.key,
                f"{old_major_version}.{old_minor_version}",
            )
        # 1.1 -> 1.2 only adds keys. A newer minor (1.3+) is compatible by HA's rules and is
        # kept as it is, unknown keys included.
        return _with_site_defaults(self.key, old_data)


def _with_site_defaults(storage_key: str, data: object) -> dict[str, Any]:
    """Add missing top-level keys to loaded data, refusing a layout this code cannot use."""
    if not isinstance(data, dict):
        raise StoreError(StoreErrorReason.INVALID_FORMAT, storage_key, type(data).__name__)
    for key, default in _SITE_DEFAULTS.items():
        if not isinstance(data.setdefault(key, deepcopy(default)), type(default)):
            raise StoreError(StoreErrorReason.INVALID_FORMAT, storage_key, key)
    return data


def _inspect_missing(path: Path) -> tuple[bool, Path | None]:
    """Return whether path exists, and the newest copy of it kept aside as corrupt."""
    # Store renames a corrupt file to "<path>.corrupt.<UTC ISO time>", so names sort by time.
    pattern = f"{glob.escape(path.name)}.corrupt.*"
    copies = sorted(path.parent.glob(pattern)) if path.parent.is_dir() else []
    return path.exists(), (copies[-1] if copies else None)


async def _async_load_checked(
    hass: HomeAssistant, store: Store[dict[str, Any]], issue_id: str
) -> dict[str, Any] | None:
    """Load a store: None only when it was never saved, StoreError when it is unusable."""
    try:
        data = await store.async_load()
    except StoreError:
        raise
    except UnsupportedStorageVersionError as err:
        raise StoreError(
            StoreErrorReason.UNSUPPORTED_VERSION, store.key, str(err.found_version)
        ) from err
    except HomeAssistantError as err:  # the file exists but cannot be read
        raise StoreError(StoreErrorReason.READ_FAILED, store.key, str(err)) from err
    except (KeyError, TypeError) as err:  # valid JSON without Store's envelope
        raise StoreError(StoreErrorReason.INVALID_FORMAT, store.key, repr(err)) from err
    if data is None:
        await _async_raise_if_lost(hass, store, issue_id)
        return None
    # A restored backup loads again: the old repair issue no longer applies.
    ir.async_delete_issue(hass, DOMAIN, issue_id)
    return data


async def _async_raise_if_lost(
    hass: HomeAssistant, store: Store[dict[str, Any]], issue_id: str
) -> None:
    """Tell a never-saved store from one whose file Store moved aside as corrupt.

    Store returns None in both cases (and for a file holding just ``{}``). A corrupt copy
    keeps failing every later load too, until a backup is restored or the caller starts
    fresh on purpose.
    """
    path = Path(store.path)
    exists, kept_aside = await hass.async_add_executor_job(_inspect_missing, path)
    if exists:
        raise StoreError(StoreErrorReason.INVALID_FORMAT, store.key, "empty document")
    if kept_aside is None:
        return
    _LOGGER.error("FaceGate store %s is corrupt; kept aside as %s", store.key, kept_aside)
    ir.async_create_issue(
        hass,
        DOMAIN,
        issue_id,
        is_fixable=False,
        severity=ir.IssueSeverity.ERROR,
        translation_key="store_corrupt",
        translation_placeholders={"original_path": str(path), "corrupt_path": str(kept_aside)},
    )
    raise StoreCorruptError(store.key, kept_aside)


# One Home Assistant Store per site file, shared by the SiteStores of every setup of the site.
_SITE_STORES: HassKey[dict[str, _SiteJsonStore]] = HassKey(f"{DOMAIN}_site_stores")


def _site_json_store(hass: HomeAssistant, entry_id: str) -> _SiteJsonStore:
    """The Store of a site's file: the same object across reloads of the site.

    A delayed save (refusals at a locked-out door) may still be pending when the site reloads.
    With its own Store, the reloaded site would load the file without it, and the old Store
    would later write the old site's data over everything the new one saved since. Sharing
    the Store, the reload loads the pending data, and any later save replaces it.
    """
    stores = hass.data.setdefault(_SITE_STORES, {})
    if (store := stores.get(entry_id)) is None:
        store = stores[entry_id] = _SiteJsonStore(
            hass,
            STORAGE_VERSION,
            f"{DOMAIN}.{entry_id}",
            minor_version=STORAGE_MINOR_VERSION,
            private=True,
            atomic_writes=True,
        )
    return store


class SiteStore:
    """The data of one site, in .storage/facegate.<entry_id>.

    Saving needs a successful ``async_load()`` (or ``async_start_fresh()``) first on this
    instance, so data that failed to load is never written over by mistake.
    """

    def __init__(self, hass: HomeAssistant, entry_id: str) -> None:
        """Initialize the store; nothing is read yet."""
        self._hass = hass
        self._entry_id = entry_id
        self._issue_id = f"store_corrupt_{entry_id}"
        self._store = _site_json_store(hass, entry_id)
        self._loaded = False

    @property
    def path(self) -> Path:
        """Return the path of the site's file."""
        return Path(self._store.path)

    async def async_load(self) -> dict[str, Any]:
        """Load the site's data, migrated to the current version.

        Returns ``default_site_data()`` on first start (no file, nothing written), otherwise
        the stored dict with any missing top-level key filled in.

        Raises ``StoreCorruptError`` (reason ``corrupt``, with ``corrupt_path``) when the file
        is not valid JSON or was moved aside as such earlier; a repair issue is raised too.
        Raises ``StoreError`` with reason ``unsupported_version`` (a newer major version),
        ``invalid_format`` or ``read_failed``. The file is left as it was in every case.
        """
        data = await _async_load_checked(self._hass, self._store, self._issue_id)
        result = default_site_data() if data is None else _with_site_defaults(self._store.key, data)
        self._loaded = True
        return result

    async def async_save(self, data: dict[str, Any]) -> None:
        """Write data now (atomically): use for access decisions such as lockouts."""
        self._raise_unless_loaded()
        await self._store.async_save(data)

    @callback
    def async_delayed_save(self, data_factory: Callable[[], dict[str, Any]], delay: float) -> None:
        """Write what data_factory returns after delay seconds, or at shutdown."""
        self._raise_unless_loaded()
        self._store.async_delay_save(data_factory, delay)

    async def async_start_fresh(self) -> dict[str, Any]:
        """Replace lost data with an empty site, on the user's explicit choice.

        For a site whose file was corrupt: the copy kept aside stays on disk.
        """
        data = default_site_data()
        await self._store.async_save(data)
        ir.async_delete_issue(self._hass, DOMAIN, self._issue_id)
        self._loaded = True
        return data

    async def async_remove(self) -> None:
        """Delete the site's file (kept-aside corrupt copies stay) and its repair issue.

        A save still pending is dropped with it: it would write the file again.
        """
        self._loaded = False
        await self._store.async_remove()
        self._hass.data.get(_SITE_STORES, {}).pop(self._entry_id, None)
        ir.async_delete_issue(self._hass, DOMAIN, self._issue_id)

    def _raise_unless_loaded(self) -> None:
        if not self._loaded:
            raise StoreError(StoreErrorReason.NOT_LOADED, self._store.key)


class SecretStore:
    """Per-installation keys of one site, in the private .storage/facegate.<entry_id>.secrets.

    The card key HMACs card UIDs; the face key protects face templates (transform and
    encryption). Each is made on first use; a key once made is never replaced.

    ``site_in_use`` says that the site already holds data the keys protect (residents, codes,
    face templates): then a missing file is a lost one, and no new key is made.
    """

    def __init__(self, hass: HomeAssistant, entry_id: str, *, site_in_use: bool = False) -> None:
        """Initialize the store; nothing is read yet."""
        self._hass = hass
        self._site_in_use = site_in_use
        self._issue_id = f"secrets_corrupt_{entry_id}"
        self._store: Store[dict[str, Any]] = Store(
            hass, SECRETS_VERSION, f"{DOMAIN}.{entry_id}.secrets", private=True, atomic_writes=True
        )
        # One lock so that two first callers cannot each create and save a different key.
        self._lock = asyncio.Lock()
        self._keys: dict[str, bytes] | None = None

    @property
    def path(self) -> Path:
        """Return the path of the secrets file."""
        return Path(self._store.path)

    async def async_get_card_key(self) -> bytes:
        """Return the 32-byte card key, creating and saving it on first use.

        Raises ``StoreError`` like ``SiteStore.async_load`` when the file is unusable: a new
        key is never made over a lost one, as it would silently invalidate every card.
        """
        return await self._async_get_key(CARD_KEY)

    async def async_get_face_key(self) -> bytes:
        """Return the 32-byte face template key, creating and saving it on first use."""
        return await self._async_get_key(FACE_KEY)

    async def _async_get_key(self, name: str) -> bytes:
        async with self._lock:
            if self._keys is None:
                self._keys = await self._async_load_keys()
            if name not in self._keys:
                self._keys[name] = secrets.token_bytes(CARD_KEY_BYTES)
                await self._store.async_save(
                    {
                        key: base64.b64encode(value).decode("ascii")
                        for key, value in self._keys.items()
                    }
                )
            return self._keys[name]

    async def _async_load_keys(self) -> dict[str, bytes]:
        data = await _async_load_checked(self._hass, self._store, self._issue_id)
        if data is None and self._site_in_use:
            self._raise_missing()
        if data is None:
            return {}
        # A stored file always has the card key: it is made first, at the site's setup.
        names = [CARD_KEY] + ([FACE_KEY] if isinstance(data, dict) and FACE_KEY in data else [])
        return {name: self._decode_key(data, name) for name in names}

    def _raise_missing(self) -> NoReturn:
        _LOGGER.error("FaceGate keys %s are missing while the site holds data", self._store.key)
        ir.async_create_issue(
            self._hass,
            DOMAIN,
            self._issue_id,
            is_fixable=False,
            severity=ir.IssueSeverity.ERROR,
            translation_key="secrets_missing",
            translation_placeholders={"secrets_path": str(self.path)},
        )
        raise StoreError(StoreErrorReason.SECRETS_MISSING, self._store.key)

    def _decode_key(self, data: Any, name: str) -> bytes:
        try:
            key = base64.b64decode(data[name], validate=True)
        except (KeyError, TypeError, ValueError) as err:  # binascii.Error is a ValueError
            raise StoreError(StoreErrorReason.INVALID_FORMAT, self._store.key, name) from err
        if len(key) != CARD_KEY_BYTES:
            raise StoreError(StoreErrorReason.INVALID_FORMAT, self._store.key, name)
        return key

    async def async_remove(self) -> None:
        """Delete the secrets file and its repair issue."""
        self._keys = None
        await self._store.async_remove()
        ir.async_delete_issue(self._hass, DOMAIN, self._issue_id)


def site_in_use(data: dict[str, Any], templates_path: Path) -> bool:
    """Whether a site holds anything its keys protect (blocking: checks a file)."""
    return bool(data["residents"] or data["visitor_codes"]) or templates_path.exists()


async def async_remove_site_files(hass: HomeAssistant, entry_id: str) -> None:
    """Delete both files of a site, for async_remove_entry."""
    await SiteStore(hass, entry_id).async_remove()
    await SecretStore(hass, entry_id).async_remove()
