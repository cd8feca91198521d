"""Engine processes: two overlapping frames use two engines, idle ones exit and come back.

Real engine processes with the real models; SIGSTOP freezes one engine mid-frame so that two
requests provably overlap, whatever the machine's speed. Idleness is measured on a clock the
test moves (no sleeping).
"""

import os
import signal
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
from homeassistant.core import HomeAssistant
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    MockUser,
    async_fire_time_changed,
)

from custom_components.facegate.face.pool import POOL_SIZE, EnginePool
from custom_components.facegate.face.worker import IDLE_EXIT_SECONDS, EngineError, EngineWorker
from custom_components.facegate.face_service import IDLE_CHECK_INTERVAL

from .face.conftest import load_rgb
from .face.test_worker import TIMEOUT, InThread, ManualClock, gone, wait_busy
from .test_face_enrolment import PORTRAIT, pytestmark  # noqa: F401 - same skip
from .test_face_watch import SENSOR, face_site, watch_of


@pytest.fixture(scope="module")
def portrait() -> np.ndarray:
    return load_rgb(PORTRAIT)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def pool(clock: ManualClock) -> Iterator[EnginePool]:
    engines = EnginePool(lambda: EngineWorker(clock=clock), size=2)
    engines.start()
    yield engines
    engines.stop()


def overlapping_frames(engines: EnginePool, portrait: np.ndarray) -> tuple[object, object]:
    """Two frames at once: the first engine frozen mid-frame while the second frame is sent."""
    primary = engines.primary
    assert primary is not None
    frozen = primary.pid
    assert frozen is not None
    os.kill(frozen, signal.SIGSTOP)
    try:
        first = InThread(lambda: engines.analyze(portrait, TIMEOUT))
        wait_busy(primary)
        second = engines.analyze(portrait, TIMEOUT)  # answered while the first engine is stopped
    finally:
        os.kill(frozen, signal.SIGCONT)
    first.join()
    assert first.error is None
    return first.result, second


def test_the_pool_has_one_engine_per_core_at_most_two() -> None:
    assert min(2, os.cpu_count() or 1) == POOL_SIZE


def test_a_second_engine_answers_while_the_first_is_busy(
    pool: EnginePool, portrait: np.ndarray
) -> None:
    assert len(pool.pids) == 1  # the second engine starts only when frames overlap

    first, second = overlapping_frames(pool, portrait)

    assert isinstance(first, list)
    assert isinstance(second, list)
    assert len(first) == len(second) == 1
    assert np.array_equal(first[0].encoding, second[0].encoding)
    assert len(pool.pids) == 2
    assert pool.pids[0] != pool.pids[1]


def test_one_engine_drops_the_overlapping_frame(portrait: np.ndarray) -> None:
    engines = EnginePool(EngineWorker, size=1)
    engines.start()
    try:
        first, second = overlapping_frames(engines, portrait)
    finally:
        engines.stop()
    assert isinstance(first, list)
    assert second is None  # dropped, as by a single worker


def test_the_pool_exits_idle_engines_and_comes_back(
    pool: EnginePool, clock: ManualClock, portrait: np.ndarray
) -> None:
    overlapping_frames(pool, portrait)
    running = pool.pids
    assert len(running) == 2
    clock.now += IDLE_EXIT_SECONDS - 1
    assert pool.stop_idle() == 0
    clock.now += 1

    assert pool.stop_idle() == 2

    assert pool.pids == []
    assert all(gone(pid) for pid in running)
    faces = pool.analyze(portrait, TIMEOUT)  # a cold start of the first engine only
    assert faces is not None
    assert len(faces) == 1
    assert len(pool.pids) == 1
    assert pool.pid not in running


def test_a_stopped_pool_refuses_until_started(pool: EnginePool, portrait: np.ndarray) -> None:
    pid = pool.pid
    pool.stop()
    assert pid is not None
    assert gone(pid)
    with pytest.raises(EngineError) as err:
        pool.analyze(portrait, TIMEOUT)
    assert err.value.reason == "stopped"
    pool.start()
    assert pool.analyze(portrait, TIMEOUT) is not None


async def test_home_assistant_lets_idle_engines_exit(
    hass: HomeAssistant, tmp_path: Path, hass_admin_user: MockUser
) -> None:
    """FaceService checks on a timer; an idle engine exits, the next scan starts it again."""
    entry: MockConfigEntry = await face_site(hass, tmp_path, hass_admin_user)
    faces = entry.runtime_data.faces
    clock = ManualClock()
    faces.clock = clock
    await watch_of(entry).async_scan_once()  # the engine's last frame, on this clock
    pid = faces._worker.pid
    assert pid is not None
    now = dt_util.utcnow()

    clock.now += IDLE_EXIT_SECONDS - 1
    async_fire_time_changed(hass, now + IDLE_CHECK_INTERVAL)
    await hass.async_block_till_done(wait_background_tasks=True)  # the timer runs in one
    assert faces._worker.pid == pid  # not idle long enough
    clock.now += 1
    async_fire_time_changed(hass, now + 2 * IDLE_CHECK_INTERVAL + timedelta(seconds=1))
    await hass.async_block_till_done(wait_background_tasks=True)  # the timer runs in one

    assert faces._worker.pid is None
    assert gone(pid)
    await watch_of(entry).async_scan_once()  # comes back on the next frame
    assert faces._worker.pid not in (None, pid)
    assert hass.states.get(SENSOR).state == "Alex"
    await hass.config_entries.async_unload(entry.entry_id)
