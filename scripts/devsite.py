"""A local Home Assistant with FaceGate loaded, for development (run by scripts/develop).

First start: writes a config directory, starts `hass` on it, creates the owner account through
Home Assistant's onboarding API, then adds a camera that serves a face photo (local_file) and
a FaceGate site through the config-flow REST API, as a user would from the UI. Later starts
reuse the directory. Nothing here reaches the network: every requirement of the configured
integrations is installed by scripts/setup.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

import aiohttp

PROJECT_DIR = Path(__file__).resolve().parent.parent
DEFAULT_CONFIG_DIR = PROJECT_DIR / ".develop" / "config"
FACES_DIR = PROJECT_DIR / "tests" / "fixtures" / "faces"  # sources and licences: README there
DEMO_PHOTO = Path("barack_obama") / "1.jpg"

# Requirements of voice pipelines (assist_pipeline) pinned to releases with no Python 3.14 wheel:
# requirements_test.txt installs their newer abi3 releases (same API). Home Assistant must keep
# those, not try to install the pinned ones offline (which fails after 80 s).
KEEP_INSTALLED = ("pymicro-vad", "pyspeex-noise")

USERNAME = "dev"
PASSWORD = "facegate-dev"  # noqa: S105 - a local, throwaway development login
DOMAIN = "facegate"
SITE_NAME = "Home"
CAMERA_NAME = "Front door camera"
CAMERA_ENTITY = "camera.front_door_camera"
HOUSEHOLD_NAME = "Flat 1"
HOUSEHOLD_DEVICE_TEMPLATE = "{{ device_id('switch.flat_1_pin') }}"
DOOR_NAME = "Front door"
MOTION_ENTITY = "input_boolean.front_door_motion"
FACE_MODE_SWITCH = "switch.flat_1_face"
RESIDENT_NAME = "Alex"
DEMO_PIN = "480315"  # the demo resident's PIN, printed for the developer
STARTUP_TIMEOUT = 120.0

CONFIGURATION_YAML = """\
# Written by scripts/develop. Only what FaceGate development needs, so that Home Assistant
# starts offline: default_config would pull in cloud, discovery and their requirements.
homeassistant:
  name: FaceGate dev
  time_zone: UTC
  unit_system: metric
  country: GB
  currency: EUR
# http is not set here: Home Assistant keeps it in .storage/http (written by scripts/develop).
frontend:
config:
history:
logbook:
# A stand-in for a motion sensor: switching it on starts face scans at the front door.
input_boolean:
  front_door_motion:
    name: Front door motion
logger:
  default: warning
  logs:
    homeassistant.setup: info
    custom_components.facegate: debug
"""


def write_config(config_dir: Path, port: int, faces_dir: Path = FACES_DIR) -> Path:
    """Write the config directory (keeping what an earlier start stored); return the photo."""
    (config_dir / "custom_components").mkdir(parents=True, exist_ok=True)
    (config_dir / "configuration.yaml").write_text(CONFIGURATION_YAML, encoding="utf-8")
    link = config_dir / "custom_components" / "facegate"
    if not link.is_symlink():
        link.symlink_to(PROJECT_DIR / "custom_components" / "facegate", target_is_directory=True)

    storage = config_dir / ".storage"
    storage.mkdir(exist_ok=True)
    # Home Assistant 2026.10 stores the HTTP settings (Settings > System > Network). Set in
    # YAML, they would be migrated once as an unconfirmed change ("Confirm new HTTP server
    # configuration", reverted after 5 minutes), then ignored with a repair issue.
    (storage / "http").write_text(json.dumps(http_storage(port)), encoding="utf-8")
    onboarding = storage / "onboarding"
    if not onboarding.exists():
        # Every onboarding step but the owner account is marked done, so that Home Assistant
        # does not set up its onboarding integrations (weather, radio, TTS: all online).
        onboarding.write_text(
            json.dumps(
                {
                    "version": 4,
                    "minor_version": 1,
                    "key": "onboarding",
                    "data": {"done": ["core_config", "analytics", "integration"]},
                }
            ),
            encoding="utf-8",
        )

    photo = config_dir / "www" / "front_door.jpg"
    photo.parent.mkdir(exist_ok=True)
    if not photo.exists():
        shutil.copyfile(faces_dir / DEMO_PHOTO, photo)
    return photo


def http_storage(port: int) -> dict[str, Any]:
    """Home Assistant's stored HTTP settings: this port, on 127.0.0.1 only, confirmed."""
    settings = {
        "server_port": port,
        "server_host": ["127.0.0.1"],
        "cors_allowed_origins": ["https://cast.home-assistant.io"],
        "login_attempts_threshold": -1,
        "ip_ban_enabled": True,
        "ssl_profile": "modern",
        "use_x_frame_options": True,
        "created_at": "2026-01-01T00:00:00+00:00",
        "error": None,
        "error_message": None,
    }
    return {
        "version": 2,
        "minor_version": 2,
        "key": "http",
        "data": {"stable": settings, "pending": None, "yaml_migration_done": True},
    }


class _Api(Protocol):
    """What the setup steps need of an HTTP client: aiohttp's session or its test client."""

    def post(self, path: str, *, json: Any = None) -> Any: ...

    def get(self, path: str) -> Any: ...


async def _post(api: _Api, path: str, payload: dict[str, Any]) -> Any:
    async with api.post(path, json=payload) as response:
        body = await response.json()
        if response.status >= 300:
            raise RuntimeError(f"POST {path} answered {response.status}: {body}")
        return body


async def _run_config_flow(api: _Api, handler: str, user_input: dict[str, Any]) -> str:
    """Run a one-step config flow as the UI does; return the created entry's id."""
    form = await _post(api, "/api/config/config_entries/flow", {"handler": handler})
    result = await _post(api, f"/api/config/config_entries/flow/{form['flow_id']}", user_input)
    if result.get("type") != "create_entry":
        raise RuntimeError(f"{handler} config flow did not create an entry: {result}")
    return str(result["result"]["entry_id"])


async def create_site(api: _Api, photo: Path) -> str:
    """Add the camera and an empty FaceGate site, as the UI would; return the site's entry id."""
    await _run_config_flow(api, "local_file", {"name": CAMERA_NAME, "file_path": str(photo)})
    return await _run_config_flow(api, "facegate", {"name": SITE_NAME})


async def create_demo_entries(api: _Api, photo: Path) -> None:
    """Add the camera, the site, its household, door and demo resident, as the UI would."""
    entry_id = await create_site(api, photo)
    await _run_subentry_flow(api, entry_id, "household", {"name": HOUSEHOLD_NAME})
    await _wait_until_loaded(api, entry_id)
    door_form = await _post(
        api, "/api/config/config_entries/subentries/flow", {"handler": [entry_id, "door"]}
    )
    households = _select_options(door_form, "household_ids")
    door = {
        "name": DOOR_NAME,
        "camera_entity_ids": [CAMERA_ENTITY],
        "face_trigger_entity_ids": [MOTION_ENTITY],
        "household_ids": households,
    }
    result = await _post(
        api, f"/api/config/config_entries/subentries/flow/{door_form['flow_id']}", door
    )
    if result.get("type") != "create_entry":
        raise RuntimeError(f"door subentry flow did not create an entry: {result}")
    await _wait_until_loaded(api, entry_id)
    await _wait_for_entity(api, FACE_MODE_SWITCH)  # added in place, shortly after the flow
    await _add_demo_resident(api)


async def _wait_until_loaded(api: _Api, entry_id: str) -> None:
    for _ in range(300):
        async with api.get(f"/api/config/config_entries/entry?domain={DOMAIN}") as response:
            entries = await response.json()
        if any(e["entry_id"] == entry_id and e["state"] == "loaded" for e in entries):
            return
        await asyncio.sleep(0.1)
    raise RuntimeError("the FaceGate site did not load again within 30 s")


async def _wait_for_entity(api: _Api, entity_id: str) -> None:
    for _ in range(300):
        async with api.get(f"/api/states/{entity_id}") as response:
            if response.status == 200:
                return
        await asyncio.sleep(0.1)
    raise RuntimeError(f"{entity_id} did not appear within 30 s")


async def _run_subentry_flow(
    api: _Api, entry_id: str, subentry_type: str, user_input: dict[str, Any]
) -> None:
    path = "/api/config/config_entries/subentries/flow"
    form = await _post(api, path, {"handler": [entry_id, subentry_type]})
    result = await _post(api, f"{path}/{form['flow_id']}", user_input)
    if result.get("type") != "create_entry":
        raise RuntimeError(f"{subentry_type} subentry flow did not create an entry: {result}")


def _select_options(form: dict[str, Any], field: str) -> list[str]:
    """The values a select field of a flow form offers (as the UI reads them)."""
    for item in form["data_schema"]:
        if item["name"] == field:
            return [option["value"] for option in item["selector"]["select"]["options"]]
    raise RuntimeError(f"the form has no field {field}")


async def _add_demo_resident(api: _Api) -> None:
    """A resident of the demo household, with the demo PIN."""
    # The REST API has no device registry; a template gives the household's device id.
    async with api.post("/api/template", json={"template": HOUSEHOLD_DEVICE_TEMPLATE}) as response:
        household = (await response.text()).strip()
    added = await _post(
        api,
        "/api/services/facegate/add_resident?return_response",
        {"household": household, "name": RESIDENT_NAME, "show_name": True},
    )
    resident_id = added["service_response"]["resident_id"]
    await _post(
        api, "/api/services/facegate/set_pin", {"resident_id": resident_id, "pin": DEMO_PIN}
    )
    await _enrol_demo_face(api, resident_id)


async def _enrol_demo_face(api: _Api, resident_id: str) -> None:
    """Consent, the face from the demo camera, and the household's face mode on."""
    resident = {"resident_id": resident_id}
    try:
        await _post(api, "/api/services/facegate/set_face_consent", {**resident, "consent": True})
        await _post(
            api,
            "/api/services/facegate/enrol_face?return_response",
            {**resident, "camera": CAMERA_ENTITY, "samples": 1},
        )
        await _post(api, "/api/services/switch/turn_on", {"entity_id": FACE_MODE_SWITCH})
    except RuntimeError as err:  # face recognition is optional: card and PIN still work
        print(f"Face enrolment of the demo resident skipped: {err}")


async def wait_until_up(base_url: str, exit_code: Callable[[], int | None]) -> None:
    """Wait until Home Assistant answers HTTP; exit_code tells whether its process ended."""
    deadline = asyncio.get_running_loop().time() + STARTUP_TIMEOUT
    async with aiohttp.ClientSession(base_url=base_url) as session:
        while asyncio.get_running_loop().time() < deadline:
            if (code := exit_code()) is not None:
                raise RuntimeError(f"hass exited with code {code}")
            try:
                async with session.get("/api/onboarding") as response:
                    if response.status in (200, 401, 404):
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.5)
    raise RuntimeError(f"Home Assistant did not answer on {base_url} within {STARTUP_TIMEOUT} s")


async def onboard(base_url: str, photo: Path, *, demo: bool = True) -> bool:
    """Create the owner and the demo entries (or only the site) on a fresh config.

    False if onboarding was already done.
    """
    client_id = f"{base_url}/"
    async with aiohttp.ClientSession(base_url=base_url) as session:
        async with session.get("/api/onboarding") as response:
            steps = await response.json() if response.status == 200 else []
        if not any(step["step"] == "user" and not step["done"] for step in steps):
            return False
        owner = {
            "name": "Developer",
            "username": USERNAME,
            "password": PASSWORD,
            "client_id": client_id,
            "language": "en",
        }
        code = (await _post(session, "/api/onboarding/users", owner))["auth_code"]
        token_form = {"grant_type": "authorization_code", "code": code, "client_id": client_id}
        async with session.post("/auth/token", data=token_form) as response:
            token = (await response.json())["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    async with aiohttp.ClientSession(base_url=base_url, headers=headers) as api:
        await (create_demo_entries(api, photo) if demo else create_site(api, photo))
    return True


async def _develop(config_dir: Path, port: int) -> int:
    photo = write_config(config_dir, port)
    base_url = f"http://127.0.0.1:{port}"
    print(f"Starting Home Assistant on {config_dir} (log: {config_dir / 'home-assistant.log'})")
    hass_process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "homeassistant", "--config", str(config_dir),
        "--skip-pip-packages", ",".join(KEEP_INSTALLED),
    )  # fmt: skip
    try:
        await wait_until_up(base_url, lambda: hass_process.returncode)
        if await onboard(base_url, photo):
            print(
                "First start: created the owner account, the camera, the FaceGate site with "
                f"door '{DOOR_NAME}', household '{HOUSEHOLD_NAME}' and resident "
                f"'{RESIDENT_NAME}' (PIN {DEMO_PIN}, face enrolled from the camera). Switch "
                "'Front door motion' on to make FaceGate look at the camera: it "
                "recognises the photo and refuses it as not live."
            )
        print(
            f"\nHome Assistant with FaceGate: {base_url}\n"
            f"Log in as '{USERNAME}' with password '{PASSWORD}'. Stop with Ctrl+C.\n",
            flush=True,
        )
        return await hass_process.wait()
    finally:
        if hass_process.returncode is None:
            hass_process.send_signal(signal.SIGTERM)
            await hass_process.wait()


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main() -> int:
    """Parse arguments and run Home Assistant until it stops."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, default=DEFAULT_CONFIG_DIR)
    parser.add_argument(
        "--port", type=int, default=int(os.environ.get("FACEGATE_DEV_PORT", "8123"))
    )
    parser.add_argument("--reset", action="store_true", help="start again from an empty config")
    args = parser.parse_args()
    if not (FACES_DIR / DEMO_PHOTO).is_file():
        parser.error(f"the demo camera's photo {FACES_DIR / DEMO_PHOTO} is missing")
    if args.reset:
        shutil.rmtree(args.config, ignore_errors=True)
    signal.signal(signal.SIGTERM, _interrupt)  # stopped like Ctrl+C: Home Assistant stops too
    try:
        return asyncio.run(_develop(args.config.resolve(), args.port))
    except KeyboardInterrupt:
        return 0
    except RuntimeError as err:
        print(f"scripts/develop: {err}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
