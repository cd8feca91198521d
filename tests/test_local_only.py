"""FaceGate is local: setting up a site and opening doors by PIN, card and face opens no socket.

Home Assistant's test plugin already blocks sockets (pytest-socket: no AF_INET socket, no
connect but to 127.0.0.1, no DNS) and fails a test that tried. These tests go further: they
record every *attempt* (a socket of any family but AF_UNIX, a connect, a name lookup, an asyncio
connection), even one that would have been allowed (127.0.0.1) or caught and ignored by the
code under test, and require none at all. The first test proves that the recorder and the
block are real, so that "no attempt" means something.
"""

import shutil
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import pytest_socket
from homeassistant.components.lock.const import LockState
from homeassistant.const import ATTR_ENTITY_ID
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError
from pytest_homeassistant_custom_component.common import MockUser

from custom_components.facegate.face.models import engine_available

from .conftest import READER, setup_site, site_entry
from .test_doors import CARD, LOCK, OTHER_PIN, PIN, add_resident, call, unlock


class NetworkRecorder:
    """Wraps every way to reach the network and records each attempt (then lets it through
    to pytest-socket's guard, which refuses it)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, hass: HomeAssistant) -> None:
        self.attempts: list[str] = []
        self._monkeypatch = monkeypatch
        guarded = socket.socket  # pytest-socket's GuardedSocket
        recorder = self

        class RecordingSocket(guarded):  # type: ignore[misc,valid-type]
            def __new__(cls, family: int = -1, *args: Any, **kwargs: Any) -> Any:
                if family != socket.AF_UNIX:
                    recorder.attempts.append(f"socket({family!r})")
                return super().__new__(cls, family, *args, **kwargs)

        monkeypatch.setattr(socket, "socket", RecordingSocket)
        real_socket = pytest_socket._true_socket  # the class whose connect is guarded
        for name in ("connect", "connect_ex"):
            self._wrap(real_socket, name, lambda sock, *a: sock.family != socket.AF_UNIX)
        for name in ("create_connection", "getaddrinfo", "gethostbyname", "gethostbyname_ex"):
            self._wrap(socket, name)
        loop = hass.loop
        for name in (
            "create_connection",
            "create_datagram_endpoint",
            "getaddrinfo",
            "sock_connect",
            "create_unix_connection",
        ):
            self._wrap(loop, name)

    def _wrap(
        self, owner: Any, name: str, counts: Callable[..., bool] = lambda *a, **k: True
    ) -> None:
        real = getattr(owner, name)
        attempts = self.attempts

        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if counts(*args, **kwargs):
                attempts.append(f"{name}{args[:3]!r}")
            return real(*args, **kwargs)

        self._monkeypatch.setattr(owner, name, wrapper)


@pytest.fixture
def network(monkeypatch: pytest.MonkeyPatch, hass: HomeAssistant) -> NetworkRecorder:
    return NetworkRecorder(monkeypatch, hass)


@pytest.mark.filterwarnings("ignore:A test tried to use socket:UserWarning")
async def test_the_recorder_and_the_block_are_real(
    hass: HomeAssistant, network: NetworkRecorder
) -> None:
    blocked = pytest_socket.SocketBlockedError  # Home Assistant's counting variant
    counted_before = len(blocked.instances)

    with pytest.raises(blocked):
        socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    with pytest.raises(blocked):
        socket.create_connection(("192.0.2.1", 443), timeout=0.1)
    with pytest.raises(RuntimeError, match="DNS resolution disabled"):
        await hass.loop.getaddrinfo("example.com", 443)
    with pytest.raises(blocked):
        await hass.loop.create_connection(lambda: None, "192.0.2.1", 443)  # type: ignore[arg-type,return-value]

    assert len(network.attempts) >= 4, network.attempts
    assert any(a.startswith("getaddrinfo('example.com'") for a in network.attempts)
    # These were on purpose: keep them from failing the test plugin's "opens sockets" check.
    del blocked.instances[counted_before:]


async def test_a_site_and_its_doors_open_no_socket(
    hass: HomeAssistant, network: NetworkRecorder, hass_admin_user: MockUser
) -> None:
    entry = await setup_site(hass, site_entry())
    resident = await add_resident(hass, hass_admin_user)
    await call(hass, "set_pin", {"resident_id": resident, "pin": PIN}, hass_admin_user)
    await call(hass, "enrol_card", {"resident_id": resident, "reader": READER}, hass_admin_user)
    hass.bus.async_fire("tag_scanned", {"tag_id": CARD, "device_id": READER})
    await hass.async_block_till_done()

    await unlock(hass, PIN)  # the keypad
    assert hass.states.get(LOCK).state == LockState.UNLOCKED
    await hass.services.async_call("lock", "lock", {ATTR_ENTITY_ID: LOCK}, blocking=True)
    hass.bus.async_fire("tag_scanned", {"tag_id": CARD, "device_id": READER})  # the reader
    await hass.async_block_till_done()
    assert hass.states.get(LOCK).state == LockState.UNLOCKED
    assert (await call(hass, "present_credential", {ATTR_ENTITY_ID: LOCK, "pin": PIN}))["granted"]
    visitor = await call(hass, "create_visitor_code", {"resident_id": resident}, hass_admin_user)
    assert (await call(hass, "present_credential", {ATTR_ENTITY_ID: LOCK, "pin": visitor["code"]}))[
        "granted"
    ]
    for _ in range(6):  # to a lockout and past it
        with pytest.raises(ServiceValidationError):
            await unlock(hass, OTHER_PIN)
    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()

    assert network.attempts == []


@pytest.mark.skipif(
    not engine_available(), reason="needs the face packages (scripts/setup installs them)"
)
async def test_face_enrolment_opens_no_socket(
    hass: HomeAssistant, network: NetworkRecorder, hass_admin_user: MockUser, tmp_path: Path
) -> None:
    from .test_face_enrolment import PORTRAIT, add_camera, enrol  # noqa: PLC0415 - face tests

    if not PORTRAIT.is_file():
        pytest.skip("no face photo")
    shutil.copyfile(PORTRAIT, tmp_path / "portrait.jpg")
    camera = await add_camera(hass, "portrait cam", tmp_path / "portrait.jpg")
    entry = await setup_site(hass, site_entry())
    resident = await add_resident(hass, hass_admin_user)
    await call(
        hass, "set_face_consent", {"resident_id": resident, "consent": True}, hass_admin_user
    )

    assert await enrol(hass, resident, camera, hass_admin_user) == {"samples": 2}
    # The engine is a spawned process, out of reach of the recorder: its open files must not
    # hold a socket of any kind (its pipes are pipes).
    worker = entry.runtime_data.faces._worker
    assert worker is not None
    assert worker._proc is not None
    child = Path(f"/proc/{worker._proc.pid}/fd")
    links = await hass.async_add_executor_job(lambda: [str(p.readlink()) for p in child.iterdir()])
    assert links
    assert not [link for link in links if link.startswith("socket:")], links
    await hass.config_entries.async_unload(entry.entry_id)  # stops the engine process
    await hass.async_block_till_done()

    assert network.attempts == []
