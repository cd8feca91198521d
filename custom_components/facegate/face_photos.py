"""Where enrolment photos come from: camera snapshots, files on this machine, browser uploads.

FaceGate keeps none of them: each image is read, handed to the engine and dropped, and an
upload is deleted from Home Assistant's upload folder as soon as it has been read.
"""

import asyncio
from pathlib import Path
from typing import Final

from homeassistant.components import camera
from homeassistant.components.file_upload import process_uploaded_file
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError

from .access.errors import AccessError

SAMPLE_INTERVAL: Final = 0.7  # seconds between camera snapshots: a little movement between them
SNAPSHOT_TIMEOUT: Final = 10
MAX_PHOTO_BYTES: Final = 20 * 1024 * 1024  # a phone photo is a few MB; refuse anything absurd
MAX_PHOTOS: Final = 5


async def async_camera_samples(
    hass: HomeAssistant, camera_entity_id: str, count: int
) -> list[bytes]:
    """Several snapshots of a camera, a moment apart."""
    images = []
    for index in range(count):
        if index:
            await asyncio.sleep(SAMPLE_INTERVAL)
        try:
            image = await camera.async_get_image(hass, camera_entity_id, timeout=SNAPSHOT_TIMEOUT)
        except HomeAssistantError as err:
            raise AccessError("camera_unavailable") from err
        images.append(image.content)
    return images


async def async_photo_files(hass: HomeAssistant, paths: list[str]) -> list[bytes]:
    """Photos from files in folders Home Assistant may read (allowlist_external_dirs)."""
    return await hass.async_add_executor_job(_read_allowed_files, hass, paths)


async def async_uploaded_photos(hass: HomeAssistant, file_ids: list[str]) -> list[bytes]:
    """Photos uploaded in a form (a file selector), deleted from the upload folder once read."""
    return await hass.async_add_executor_job(_read_uploads, hass, file_ids)


def _read_allowed_files(hass: HomeAssistant, paths: list[str]) -> list[bytes]:
    if not all(hass.config.is_allowed_path(path) for path in paths):  # blocking: resolves links
        raise AccessError("photo_not_allowed")
    images = []
    for path in map(Path, paths):
        if not path.is_file():
            raise AccessError("photo_missing")
        images.append(_read_limited(path))
    return images


def _read_uploads(hass: HomeAssistant, file_ids: list[str]) -> list[bytes]:
    images = []
    for file_id in file_ids:
        try:
            with process_uploaded_file(hass, file_id) as path:
                images.append(_read_limited(path))
        except ValueError as err:  # unknown or expired upload
            raise AccessError("photo_missing") from err
    return images


def _read_limited(path: Path) -> bytes:
    if path.stat().st_size > MAX_PHOTO_BYTES:
        raise AccessError("photo_too_large")
    return path.read_bytes()
