"""Trigger-to-unlock and PIN-unlock times in a real Home Assistant (issue 15 item 2).

A measurement, not a test: it runs only when FACEGATE_BENCH_JSON names a file, where it writes
its figures (scripts/bench does that and merges them into its JSON). The porch camera is a real
camera entity (local_file) serving real 1280x720 frames: the live clip of D07 (../shared/liveness,
landscape, blinks often) scaled to 720 rows, the next frame at every snapshot, as a camera that
answers at once. D07 is enrolled from the clip's first frame; the bolt is FaceGate's lock
entity (no hardware). Times come from the event loop's clock: from the trigger's state change
to the lock's "unlocked" state.
"""

import asyncio
import io
import json
import os
import time
from datetime import timedelta
from itertools import cycle
from pathlib import Path

import numpy as np
import pytest
from homeassistant.components.local_file.camera import LocalFile
from homeassistant.components.lock.const import LockState
from homeassistant.const import ATTR_ENTITY_ID
from homeassistant.core import Context, Event, HomeAssistant, callback
from homeassistant.util import dt as dt_util
from PIL import Image
from pytest_homeassistant_custom_component.common import MockUser, async_fire_time_changed

from .test_doors import LOCK, PIN, add_resident, call, unlock
from .test_face_enrolment import pytestmark  # noqa: F401 - same skip
from .test_face_watch import face_site, watch_of

OUT = os.environ.get("FACEGATE_BENCH_JSON")
CLIP = (
    Path(__file__).resolve().parents[2]
    / "shared"
    / "liveness"
    / "live"
    / "live_sivakumar1982_woman_glasses_office.mp4"
)
RUNS = int(os.environ.get("FACEGATE_BENCH_RUNS", "10"))
PIN_RESIDENTS = 100


def clip_jpegs() -> list[bytes]:
    """Every 3rd frame of the clip, upright, scaled to 720 rows, centred in 1280x720, as JPEGs."""
    import av  # noqa: PLC0415 - installed with Home Assistant's stream component

    jpegs = []
    with av.open(str(CLIP)) as container:
        for index, decoded in enumerate(container.decode(video=0)):
            if index % 3:
                continue
            image = decoded.to_image().convert("RGB")
            if rotation := getattr(decoded, "rotation", 0):
                image = image.rotate(rotation, expand=True)
            image = image.resize((round(image.width * 720 / image.height), 720))
            canvas = Image.new("RGB", (1280, 720), (128, 128, 128))
            canvas.paste(image, ((1280 - image.width) // 2, 0))
            out = io.BytesIO()
            canvas.save(out, "JPEG", quality=90)
            jpegs.append(out.getvalue())
    return jpegs


def pct(values: list[float], q: float) -> float:
    return round(float(np.percentile(values, q)), 1)


@pytest.mark.skipif(not OUT or not CLIP.is_file(), reason="a measurement: scripts/bench runs it")
async def test_measure_trigger_to_unlock_and_pin_unlock(
    hass: HomeAssistant, tmp_path: Path, hass_admin_user: MockUser, monkeypatch: pytest.MonkeyPatch
) -> None:
    jpegs = await hass.async_add_executor_job(clip_jpegs)
    first = tmp_path / "first.jpg"
    await hass.async_add_executor_job(first.write_bytes, jpegs[0])
    entry = await face_site(hass, tmp_path, hass_admin_user, picture=first)
    frames = cycle(jpegs[1:])
    monkeypatch.setattr(
        LocalFile, "camera_image", lambda self, width=None, height=None: next(frames)
    )
    watch = watch_of(entry)
    shift = 0

    async def relock() -> None:
        nonlocal shift
        shift += 10  # FaceGate's lock relocks by itself a few seconds after an unlock
        async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=shift))
        await hass.async_block_till_done()
        assert hass.states.get(LOCK).state == LockState.LOCKED

    async def motion(state: str) -> None:
        await hass.services.async_call(
            "input_boolean", f"turn_{state}", {ATTR_ENTITY_ID: "input_boolean.motion"},
            blocking=True, context=Context(user_id=hass_admin_user.id),
        )  # fmt: skip

    face_ms: list[float] = []
    for _ in range(RUNS):
        unlocked, at = asyncio.Event(), []

        @callback
        def on_lock(event: Event, unlocked: asyncio.Event = unlocked, at: list = at) -> None:
            new = event.data["new_state"]
            if new and new.entity_id == LOCK and new.state == LockState.UNLOCKED:
                at.append(time.perf_counter())  # the bolt's state, as it changes
                unlocked.set()

        stop = hass.bus.async_listen("state_changed", on_lock)
        started = time.perf_counter()
        await motion("on")
        try:
            await asyncio.wait_for(unlocked.wait(), timeout=60)
            face_ms.append((at[0] - started) * 1000)
        finally:
            stop()
            await motion("off")
            watch._scan_until = 0.0  # end the burst now rather than after scan_duration
        if watch._scanning is not None:
            await asyncio.wait_for(watch._scanning, timeout=60)
        await relock()

    for index in range(PIN_RESIDENTS - 1):  # Alex holds a PIN already
        resident = await add_resident(hass, hass_admin_user)
        await call(hass, "set_pin", {"resident_id": resident, "pin": f"{700000 + index:06d}"},
                   hass_admin_user)  # fmt: skip
    pin_ms: list[float] = []
    for _ in range(RUNS):
        started = time.perf_counter()
        await unlock(hass, PIN)
        assert hass.states.get(LOCK).state == LockState.UNLOCKED
        pin_ms.append((time.perf_counter() - started) * 1000)
        await relock()

    figures = {
        "trigger_to_unlock_p50_ms": pct(face_ms, 50),
        "trigger_to_unlock_p95_ms": pct(face_ms, 95),
        "trigger_to_unlock_runs": len(face_ms),
        "trigger_scan_interval_s": watch._door.scan_interval,
        "pin_unlock_p50_ms": pct(pin_ms, 50),
        "pin_unlock_p95_ms": pct(pin_ms, 95),
        "pin_unlock_residents": PIN_RESIDENTS,
        "hass_bench_load_average": " ".join(f"{v:.2f}" for v in os.getloadavg()),
    }
    assert OUT is not None
    await hass.async_add_executor_job(Path(OUT).write_text, json.dumps(figures))
    await hass.config_entries.async_unload(entry.entry_id)
