#!/usr/bin/env python3
"""Benchmark FaceGate's face engine on the shared photos (../shared/faces).

Prints per-frame timings (JPEG decode, detect, encode; in-process vs through the worker
process; HOG at 640x480 and 1280x720) and the worst stall of a 1 ms main-thread ticker while
the engine works in a thread of this process vs in the worker process.

Run it in the project's environment, from the repository root:
    bash -c 'source scripts/lib/common.sh; in_env python scripts/bench_engine.py [--runs N]'
"""

import argparse
import io
import os
import platform
import statistics
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
FACES = (ROOT / ".." / "shared" / "faces").resolve()
PORTRAIT = FACES / "barack_obama" / "1.jpg"
SCENE = FACES / "_scenes" / "bbt_cast_6.jpg"  # 6 faces, 710x473
SIZES = [(640, 480), (1280, 720)]

if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from custom_components.facegate.face.engine import FaceEngine, decode_image  # noqa: E402
from custom_components.facegate.face.worker import EngineWorker  # noqa: E402


def frame_jpeg(width: int, height: int) -> bytes:
    """The portrait scaled to the frame height, padded with grey, as a JPEG (quality 90)."""
    with Image.open(PORTRAIT) as photo:
        source = photo.convert("RGB")
    scaled = source.resize(
        (round(source.width * height / source.height), height), Image.Resampling.LANCZOS
    )
    canvas = Image.new("RGB", (width, height), (128, 128, 128))
    canvas.paste(scaled, ((width - scaled.width) // 2, 0))
    out = io.BytesIO()
    canvas.save(out, "JPEG", quality=90)
    return out.getvalue()


def median_ms(work: Callable[[], object], runs: int) -> float:
    work()  # warm-up
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


def worst_stall_ms(work: Callable[[], object]) -> tuple[float, float]:
    """Run ``work`` in a thread; the worst gap of a 1 ms sleep loop here, and the work's time."""
    done = threading.Event()

    def run() -> None:
        try:
            work()
        finally:
            done.set()

    thread = threading.Thread(target=run)
    worst = 0.0
    started = last = time.perf_counter()
    thread.start()
    while not done.is_set():
        time.sleep(0.001)
        now = time.perf_counter()
        worst = max(worst, now - last)
        last = now
    thread.join()
    return worst * 1000, (time.perf_counter() - started) * 1000


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def cpu_name() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor()


def start_up() -> tuple[FaceEngine, EngineWorker]:
    started = time.perf_counter()
    engine = FaceEngine()
    loaded = time.perf_counter() - started
    print(f"FaceEngine() model load (HOG, 5+68 landmarks, encoder): {loaded:.2f} s")
    worker = EngineWorker()
    started = time.perf_counter()
    worker.start()
    spawned = time.perf_counter() - started
    pid = worker.pid or 0
    print(
        f"EngineWorker.start() (spawn + imports + models): {spawned:.2f} s; "
        f"child RSS {rss_mb(pid):.0f} MB, this process {rss_mb(os.getpid()):.0f} MB\n"
    )
    return engine, worker


def frame_table(engine: FaceEngine, worker: EngineWorker, runs: int) -> None:
    header = (
        f"{'frame':>9} | {'decode':>7} | {'detect':>7} | {'describe/face':>13} | "
        f"{'analyze in-proc':>15} | {'analyze worker':>14} | faces"
    )
    print(header)
    print("-" * len(header))
    for width, height in SIZES:
        jpeg = frame_jpeg(width, height)
        image = decode_image(jpeg)
        boxes = engine.detect(image)
        decode = median_ms(lambda jpeg=jpeg: decode_image(jpeg), runs)
        detect = median_ms(lambda image=image: engine.detect(image), runs)
        describe = median_ms(lambda image=image, box=boxes[0]: engine.describe(image, box), runs)
        inproc = median_ms(lambda image=image: engine.analyze(image), runs)
        through = median_ms(lambda image=image: worker.analyze(image, 30), runs)
        print(
            f"{f'{width}x{height}':>9} | {decode:7.1f} | {detect:7.1f} | {describe:13.1f} | "
            f"{inproc:15.1f} | {through:14.1f} | {len(boxes)}"
        )
    tiny = np.full((48, 64, 3), 128, dtype=np.uint8)
    grey = np.full((480, 640, 3), 128, dtype=np.uint8)
    tiny_ms = median_ms(lambda: worker.analyze(tiny, 30), runs)
    grey_in = median_ms(lambda: engine.analyze(grey), runs)
    grey_out = median_ms(lambda: worker.analyze(grey, 30), runs)
    print(
        f"worker round trip, 64x48 frame: {tiny_ms:.1f}; 640x480 grey (no face): in-process "
        f"{grey_in:.1f}, through the worker {grey_out:.1f}"
    )
    scene = decode_image(SCENE.read_bytes())
    inproc = median_ms(lambda: engine.analyze(scene), runs)
    through = median_ms(lambda: worker.analyze(scene, 30), runs)
    print(
        f"{SCENE.name} {scene.shape[1]}x{scene.shape[0]} (6 faces): analyze in-process "
        f"{inproc:.1f}, through the worker {through:.1f}"
    )


def stall_table(engine: FaceEngine, worker: EngineWorker) -> None:
    print("\nworst stall of a 1 ms main-thread ticker while the engine works (ms):")
    frames = [
        ("1280x720 portrait", decode_image(frame_jpeg(1280, 720))),
        (f"{SCENE.name} (6 faces)", decode_image(SCENE.read_bytes())),
    ]
    for label, frame in frames:
        thread_stall, thread_ms = worst_stall_ms(lambda frame=frame: engine.analyze(frame))
        worker_stall, worker_ms = worst_stall_ms(lambda frame=frame: worker.analyze(frame, 30))
        print(
            f"  {label}: engine in a thread {thread_stall:6.1f} (call {thread_ms:.0f}); "
            f"in the worker process {worker_stall:5.1f} (call {worker_ms:.0f})"
        )
    idle_stall, _ = worst_stall_ms(lambda: time.sleep(0.5))
    print(f"  baseline, nothing running: {idle_stall:.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="timed runs per figure (median)")
    args = parser.parse_args()
    if not FACES.is_dir():
        sys.exit(f"the shared face photos are missing: {FACES}")
    print(f"python {platform.python_version()}, {os.cpu_count()} CPUs ({cpu_name()})")
    print(f"median of {args.runs} runs after one warm-up; times in ms\n")
    engine, worker = start_up()
    try:
        frame_table(engine, worker, args.runs)
        stall_table(engine, worker)
    finally:
        started = time.perf_counter()
        worker.stop()
        print(f"\nEngineWorker.stop(): {(time.perf_counter() - started) * 1000:.0f} ms")


if __name__ == "__main__":
    main()
