"""A real Home Assistant, started as scripts/develop starts it, and a headless Chromium.

Chromium is Debian's package (scripts/setup installs it); Playwright drives it and never
downloads a browser. Without either, the browser tests are skipped with the reason.
"""

import asyncio
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import pytest_socket

from scripts import devsite

CHROMIUM = Path(os.environ.get("FACEGATE_CHROMIUM", "/usr/bin/chromium"))
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


@dataclass
class Site:
    """A running Home Assistant with an empty FaceGate site and a demo camera."""

    base_url: str
    config_dir: Path


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    """Home Assistant on a fresh develop configuration (owner, camera, site; no household)."""
    if not CHROMIUM.is_file():
        pytest.skip(f"no Chromium at {CHROMIUM}: scripts/setup installs Debian's chromium")
    pytest_socket.enable_socket()  # the test talks HTTP to its own Home Assistant
    config_dir = tmp_path / "config"
    port = _free_port()
    photo = devsite.write_config(config_dir, port)
    log = (tmp_path / "hass.out").open("wb")
    hass = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
        [sys.executable, "-m", "homeassistant", "--config", str(config_dir),
         "--skip-pip-packages", ",".join(devsite.KEEP_INSTALLED)],
        stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    base_url = f"http://127.0.0.1:{port}"
    try:
        asyncio.run(devsite.wait_until_up(base_url, hass.poll))
        asyncio.run(devsite.onboard(base_url, photo, demo=False))
        yield Site(base_url, config_dir)
    finally:
        hass.send_signal(signal.SIGTERM)
        try:
            hass.wait(timeout=60)
        except subprocess.TimeoutExpired:
            hass.kill()
            hass.wait()
        log.close()
