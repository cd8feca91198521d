"""Issue 16: a resident who is no administrator manages themselves in the FaceGate panel.

In headless Chromium against a real Home Assistant: the admin (over its APIs) adds Flat 1 with
Mei and Flat 2 with Noor, each linked to a non-admin user, and a door with the demo camera. Mei
gives face consent, sets her PIN, tries to enrol at the camera (a photo is never live:
refused with the reason), sees the face the administrator enrolled and her PIN unlock in her ledger,
withdraws consent (templates gone from the file on disk; both changes in her consent history),
adds a card by tapping it at the door's reader and removes it, makes a visitor code and
revokes it, and reads the panel at phone width.
Noor sees nothing of Mei. Screenshots go to docs/screenshots.
"""

import asyncio
import json
import re
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import aiohttp
import pytest
from playwright.sync_api import Browser, Page, expect

from scripts import devsite

from .conftest import Site
from .test_first_hour import TIMEOUT_MS, _log_in, _shot, browser  # noqa: F401 - the fixture

pytestmark = pytest.mark.browser

PASSWORD = "resident-pass-1"
MEI_PIN = "715392"
READER = "porch-reader"  # the door's card reader (a tag scanner's device id)
MEI_CARD = "04:5E:71:AA:09:3C"


async def _admin_token(api: aiohttp.ClientSession, base_url: str) -> str:
    """Log in as the developer (administrator) through Home Assistant's login flow."""
    client = {"client_id": f"{base_url}/"}
    flow = await devsite._post(
        api,
        "/auth/login_flow",
        {**client, "handler": ["homeassistant", None], "redirect_uri": f"{base_url}/"},
    )
    done = await devsite._post(
        api,
        f"/auth/login_flow/{flow['flow_id']}",
        {**client, "username": devsite.USERNAME, "password": devsite.PASSWORD},
    )
    form = {"grant_type": "authorization_code", "code": done["result"], **client}
    async with api.post("/auth/token", data=form) as response:
        return str((await response.json())["access_token"])


class _Ws:
    """Commands over Home Assistant's websocket, as the admin."""

    def __init__(self, socket: aiohttp.ClientWebSocketResponse) -> None:
        self.socket, self.next_id = socket, 0

    async def __call__(self, command: str, **data: Any) -> Any:
        self.next_id += 1
        await self.socket.send_json({"id": self.next_id, "type": command, **data})
        reply = await self.socket.receive_json()
        assert reply["success"], reply
        return reply["result"]


async def _populate(site: Site) -> dict[str, str]:
    """Flat 1 (Mei) and Flat 2 (Noor), a door of Flat 1 with the camera; Mei's resident id."""
    base = site.base_url
    async with aiohttp.ClientSession(base_url=base) as anonymous:
        token = await _admin_token(anonymous, base)
    headers = {"Authorization": f"Bearer {token}"}
    async with aiohttp.ClientSession(base_url=base, headers=headers) as api:
        async with api.get(f"/api/config/config_entries/entry?domain={devsite.DOMAIN}") as r:
            entry_id = (await r.json())[0]["entry_id"]
        for name in ("Flat 1", "Flat 2"):
            await devsite._run_subentry_flow(api, entry_id, "household", {"name": name})
            await devsite._wait_until_loaded(api, entry_id)
        path = "/api/config/config_entries/subentries/flow"
        form = await devsite._post(api, path, {"handler": [entry_id, "door"]})
        options = next(f for f in form["data_schema"] if f["name"] == "household_ids")
        flat_1 = [
            o["value"] for o in options["selector"]["select"]["options"] if o["label"] == "Flat 1"
        ]
        door = {
            "name": "Front door",
            "camera_entity_ids": [devsite.CAMERA_ENTITY],
            "household_ids": flat_1,
            "reader_device_ids": [READER],
        }
        await devsite._post(api, f"{path}/{form['flow_id']}", door)
        await devsite._wait_until_loaded(api, entry_id)
        await devsite._wait_for_entity(api, "switch.flat_2_pin")
        ids: dict[str, str] = {"entry_id": entry_id}
        async with api.ws_connect("/api/websocket") as socket:
            await socket.receive_json()  # auth_required
            await socket.send_json({"type": "auth", "access_token": token})
            assert (await socket.receive_json())["type"] == "auth_ok"
            ws = _Ws(socket)
            for name, flat in (("Mei", "flat_1"), ("Noor", "flat_2")):
                user = (await ws("config/auth/create", name=name, group_ids=["system-users"]))[
                    "user"
                ]
                await ws(
                    "config/auth_provider/homeassistant/create",
                    user_id=user["id"],
                    username=name.lower(),
                    password=PASSWORD,
                )
                async with api.post(
                    "/api/template", json={"template": f"{{{{ device_id('switch.{flat}_pin') }}}}"}
                ) as r:
                    household = (await r.text()).strip()
                added = await devsite._post(
                    api,
                    "/api/services/facegate/add_resident?return_response",
                    {"household": household, "name": name, "user_id": user["id"]},
                )
                ids[name] = added["service_response"]["resident_id"]
    return ids


async def _as_admin(site: Site, service: str, data: dict[str, Any]) -> Any:
    """Call a FaceGate action as the administrator."""
    async with aiohttp.ClientSession(base_url=site.base_url) as anonymous:
        token = await _admin_token(anonymous, site.base_url)
    headers = {"Authorization": f"Bearer {token}"}
    async with aiohttp.ClientSession(base_url=site.base_url, headers=headers) as api:
        return await devsite._post(api, f"/api/services/facegate/{service}?return_response", data)


async def _tap_card(site: Site, tag_id: str) -> None:
    """A reader bridge reports a card tapped at the door's reader (as the administrator)."""
    async with aiohttp.ClientSession(base_url=site.base_url) as anonymous:
        token = await _admin_token(anonymous, site.base_url)
    headers = {"Authorization": f"Bearer {token}"}
    async with aiohttp.ClientSession(base_url=site.base_url, headers=headers) as api:
        await devsite._post(api, "/api/events/tag_scanned", {"tag_id": tag_id, "device_id": READER})


def _sync[T](coroutine: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine to its end from the test, whose thread Playwright's own loop holds."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


def _faces_on_disk(site: Site, entry_id: str) -> list[str]:
    """The sealed galleries in the templates file (none once every face is erased)."""
    path = site.config_dir / ".storage" / f"{devsite.DOMAIN}.{entry_id}.faces"
    return list(json.loads(path.read_text())["data"]["galleries"]) if path.exists() else []


def _panel(page: Page, site: Site) -> None:
    page.goto(f"{site.base_url}/{devsite.DOMAIN}")
    expect(page.locator("#ha-launch-screen")).to_have_count(0, timeout=60_000)
    expect(page.locator("facegate-panel")).to_be_visible()


def _resident_round(page: Page, site: Site, ids: dict[str, str]) -> None:
    """Mei: consent, PIN, a refused enrolment, the admin's enrolment, ledger, withdrawal."""
    _log_in(page, site, "mei", PASSWORD)
    _panel(page, site)
    expect(page.get_by_role("heading", name="My household: Flat 1")).to_be_visible()
    expect(page.get_by_text("Doors: Front door")).to_be_visible()

    page.get_by_role("button", name="Allow face recognition").click()
    expect(page.get_by_text("You allowed face recognition")).to_be_visible()

    page.get_by_label("New PIN", exact=True).fill(MEI_PIN)
    page.get_by_role("button", name="Set", exact=True).first.click()
    expect(page.locator(".pin-state").first).to_have_text("set")

    # A camera serving a photo: guidance while it watches; the photo is never live, the panel
    # says why.
    page.get_by_role("button", name="Enrol at this camera").click()
    advice = "Keep looking|Look at the camera|Come closer|Hold still|Too dark|middle|straight"
    expect(page.locator(".status")).to_have_text(re.compile(advice), timeout=60_000)  # live
    expect(page.locator(".guidance")).to_have_text(re.compile(advice))  # beside the camera
    page.locator(".guidance").scroll_into_view_if_needed()
    _shot(page, "28-panel-enrol-guidance")
    expect(page.get_by_role("status")).to_contain_text("No live face was seen", timeout=90_000)
    _shot(page, "21-panel-enrol-refused")

    # The administrator enrols Mei from the camera (no liveness for admins); Mei's PIN unlocks.
    enrol = {"resident_id": ids["Mei"], "camera": devsite.CAMERA_ENTITY, "samples": 1}
    _sync(_as_admin(site, "enrol_face", enrol))
    pin = {"entity_id": "lock.front_door", "pin": MEI_PIN}
    _sync(_as_admin(site, "present_credential", pin))
    assert _faces_on_disk(site, ids["entry_id"])
    _panel(page, site)
    expect(page.get_by_text("Enrolled face samples: 1")).to_be_visible()
    rows = page.locator("table.ledger").get_by_role("row")
    expect(rows.filter(has_text="opened").filter(has_text="PIN")).to_have_count(1)
    _shot(page, "20-panel-resident")
    page.locator("table.ledger").scroll_into_view_if_needed()
    _shot(page, "25-panel-ledger")

    page.get_by_role("button", name="Withdraw consent").click()
    expect(page.get_by_text("Face recognition is off for you")).to_be_visible()
    expect(page.get_by_text("Enrolled face samples: 0")).to_be_visible()
    assert _faces_on_disk(site, ids["entry_id"]) == []
    history = page.locator("table.consent-history").get_by_role("row")
    expect(history.filter(has_text="Consent withdrawn").filter(has_text="Mei")).to_have_count(1)
    expect(history.filter(has_text="Consent given").filter(has_text="Mei")).to_have_count(1)

    _cards_and_codes(page, site)

    page.set_viewport_size({"width": 390, "height": 844})  # a phone
    _panel(page, site)
    expect(page.get_by_role("button", name="Export my data")).to_be_visible()
    _shot(page, "22-panel-phone")


def _cards_and_codes(page: Page, site: Site) -> None:
    """Mei adds a card by tapping it at the door's reader, removes it; a visitor code, revoked."""
    page.get_by_role("button", name="Add a card by tapping it").click()
    expect(page.get_by_text("Tap your new card at Front door within a minute.")).to_be_visible()
    _sync(_tap_card(site, MEI_CARD))
    expect(page.locator(".status")).to_have_text("Card added.")
    expect(page.locator(".cards-count")).to_have_text("1")
    expect(page.get_by_text("Card 1")).to_be_visible()
    assert MEI_CARD not in page.content()
    _shot(page, "26-panel-card-added")
    page.get_by_role("button", name="Remove card 1").click()
    expect(page.locator(".cards-count")).to_have_text("0")

    page.get_by_label("Uses").fill("2")
    page.get_by_role("button", name="Create", exact=True).click()
    code = page.get_by_test_id("visitor-code").inner_text()
    expect(page.locator("ul.visitor-codes li")).to_have_count(1)
    expect(page.locator("ul.visitor-codes")).to_contain_text("2 uses left")
    assert code not in page.locator("ul.visitor-codes").inner_text()
    page.get_by_role("button", name="Revoke").click()
    expect(page.get_by_text("No active visitor codes.")).to_be_visible()


def _administrator(admin: Page) -> None:
    """The administrator sees every household and resident, adds Lin, links and removes them."""
    admin.on("dialog", lambda dialog: dialog.accept())  # the confirmation of the removal
    expect(admin.locator("table.everyone")).to_have_count(2)  # Flat 1 and Flat 2
    expect(admin.locator("tr[data-admin-resident]")).to_have_count(2)  # Mei and Noor
    add = admin.locator("[data-add-household]").first  # Flat 1
    add.get_by_label("New resident's name").fill("Lin")
    add.get_by_role("button", name="Add resident").click()
    lin = admin.locator('tr[data-name="Lin"]')
    expect(lin).to_have_count(1)
    lin.get_by_label("User linked to Lin").select_option(label="Noor")
    lin.get_by_role("button", name="Save link").click()
    expect(admin.locator(".status")).to_have_text("Done.")
    expect(lin.get_by_label("User linked to Lin")).to_have_value(re.compile(".+"))
    _shot(admin, "24-panel-admin-everyone")
    lin.get_by_role("button", name="Remove Lin").click()
    expect(lin).to_have_count(0)


def _chinese(chromium: Browser, site: Site) -> None:
    """Mei again, her language set to Simplified Chinese: every text of the panel translated."""
    page = chromium.new_page(viewport={"width": 1280, "height": 900})
    page.set_default_timeout(TIMEOUT_MS)
    _log_in(page, site, "mei", PASSWORD)
    page.evaluate("localStorage.setItem('selectedLanguage', JSON.stringify('zh-Hans'))")
    _panel(page, site)
    heading = "我的住户家庭\uff1aFlat 1"  # with the full-width colon of Chinese text
    expect(page.get_by_role("heading", name=heading)).to_be_visible()
    expect(page.locator("table.consent-history")).to_contain_text("已撤回同意")
    expect(page.locator("table.ledger")).to_contain_text("已开门")
    text = page.locator("facegate-panel").inner_text()
    for english in ("Withdraw", "Records are kept", "Card", "Visitor", "granted", "Done"):
        assert english not in text, english
    _shot(page, "27-panel-zh-hans")
    page.locator("table.ledger").scroll_into_view_if_needed()
    _shot(page, "29-panel-zh-hans-ledger")


def test_resident_manages_themselves_in_the_panel(site: Site, browser: Browser) -> None:  # noqa: F811
    ids = _sync(_populate(site))
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.set_default_timeout(TIMEOUT_MS)
    page.on("dialog", lambda dialog: dialog.accept())  # confirmations (withdrawal, card)
    try:
        _resident_round(page, site, ids)

        other = browser.new_page(viewport={"width": 1280, "height": 900})
        other.set_default_timeout(TIMEOUT_MS)
        _log_in(other, site, "noor", PASSWORD)
        _panel(other, site)
        expect(other.get_by_role("heading", name="My household: Flat 2")).to_be_visible()
        expect(other.get_by_text("Mei")).to_have_count(0)
        expect(other.get_by_text("Flat 1")).to_have_count(0)
        expect(other.get_by_text("No records yet.")).to_be_visible()
        _shot(other, "23-panel-other-household")

        admin = browser.new_page(viewport={"width": 1280, "height": 900})
        admin.set_default_timeout(TIMEOUT_MS)
        _log_in(admin, site)
        _panel(admin, site)
        _administrator(admin)

        _chinese(browser, site)
    finally:
        page.screenshot(path=site.config_dir.parent / "last.png")
