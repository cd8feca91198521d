"""Issue 11, scenario 12: decompression bombs are refused before anything is decoded.

The bombs are real files: small on disk, 13000x13000 px in their headers. A spy on Pillow's
``ImageFile.load`` (where every format's decoder runs) proves that the refusal happens before
any pixel is decoded, in Home Assistant's process and in the engine's.
"""

import io
import struct
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from unittest.mock import patch

import pytest
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError
from PIL import Image, ImageFile
from pytest_homeassistant_custom_component.common import MockConfigEntry, MockUser

from custom_components.facegate import face_service
from custom_components.facegate.face.engine import (
    MAX_SOURCE_PIXELS,
    ImageError,
    decode_image,
    image_size,
)

from .conftest import setup_site, site_entry
from .test_doors import add_resident, call

SIDE = 13_000  # 169 Mpx: about 2 GB once decoded and converted


def _chunk(kind: bytes, data: bytes) -> bytes:
    body = kind + data
    return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))


def png_bomb() -> bytes:
    """A complete, valid 8-bit grey PNG of SIDE x SIDE black pixels (a few hundred KiB)."""
    compressor = zlib.compressobj(9)
    row = b"\x00" * (SIDE + 1)  # filter byte + one byte a pixel
    idat = b"".join(compressor.compress(row) for _ in range(SIDE)) + compressor.flush()
    header = struct.pack(">IIBBBBB", SIDE, SIDE, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", idat)
        + _chunk(b"IEND", b"")
    )


def _small(kind: str) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (16, 16), (0, 0, 0)).save(out, kind)
    return out.getvalue()


def jpeg_bomb() -> bytes:
    """A real JPEG whose frame header (SOF0) declares SIDE x SIDE."""
    data = bytearray(_small("JPEG"))
    sof = data.index(b"\xff\xc0")
    struct.pack_into(">HH", data, sof + 5, SIDE, SIDE)  # after marker, length, precision
    return bytes(data)


def gif_bomb() -> bytes:
    data = bytearray(_small("GIF"))
    struct.pack_into("<HH", data, 6, SIDE, SIDE)  # the logical screen
    return bytes(data)


def bmp_bomb() -> bytes:
    data = bytearray(_small("BMP"))
    struct.pack_into("<ii", data, 18, SIDE, SIDE)
    return bytes(data)


@pytest.fixture
def decoded() -> Iterator[list[tuple[int, int]]]:
    """The size of every image Pillow decodes while the test runs."""
    sizes: list[tuple[int, int]] = []
    real = ImageFile.ImageFile.load

    def load(self: ImageFile.ImageFile) -> Any:
        sizes.append(self.size)
        return real(self)

    with patch.object(ImageFile.ImageFile, "load", load):
        yield sizes


def test_scenario12_png_bomb_is_refused_before_decoding(decoded: list[tuple[int, int]]) -> None:
    bomb = png_bomb()
    assert len(bomb) < 600 * 1024
    assert SIDE * SIDE > MAX_SOURCE_PIXELS

    for refuse in (decode_image, image_size):
        with pytest.raises(ImageError) as err:
            refuse(bomb)
        assert err.value.reason == "too_large"
    assert decoded == []  # nothing was decoded
    # The limit is a real one: a normal photo still decodes.
    assert decode_image(_small("PNG")).shape == (16, 16, 3)
    assert set(decoded) == {(16, 16)}


@pytest.mark.parametrize("bomb", [jpeg_bomb, gif_bomb, bmp_bomb], ids=["jpeg", "gif", "bmp"])
def test_scenario12_every_format_is_refused_before_decoding(
    bomb: Any, decoded: list[tuple[int, int]]
) -> None:
    data = bomb()
    # The header really says 13000x13000, and Pillow alone only warns: it would decode it.
    with pytest.warns(Image.DecompressionBombWarning), Image.open(io.BytesIO(data)) as opened:
        assert opened.size == (SIDE, SIDE)

    for refuse in (decode_image, image_size):
        with pytest.raises(ImageError) as err:
            refuse(data)
        assert err.value.reason == "too_large"
    assert decoded == []


async def test_scenario12_bomb_photo_is_refused_in_home_assistant_with_a_translation(
    hass: HomeAssistant,
    hass_admin_user: MockUser,
    tmp_path: Path,
    decoded: list[tuple[int, int]],
) -> None:
    entry: MockConfigEntry = await setup_site(hass, site_entry())
    resident = await add_resident(hass, hass_admin_user)
    await call(
        hass, "set_face_consent", {"resident_id": resident, "consent": True}, hass_admin_user
    )
    photo = tmp_path / "photos" / "bomb.png"
    photo.parent.mkdir()
    photo.write_bytes(png_bomb())
    hass.config.allowlist_external_dirs.add(str(photo.parent))

    with (
        patch.object(face_service, "EngineWorker", side_effect=AssertionError("started")),
        pytest.raises(ServiceValidationError) as err,
    ):
        await call(
            hass, "enrol_face", {"resident_id": resident, "photos": [str(photo)]}, hass_admin_user
        )

    assert err.value.translation_key == "image_too_large"
    assert decoded == []
    assert not entry.runtime_data.faces.engine_running


def test_scenario12_home_assistant_no_longer_decodes_frames() -> None:
    """Home Assistant's side only reads headers: decoding belongs to the engine process."""
    assert not hasattr(face_service, "decode_image")
