#!/usr/bin/env python3
"""Time per face of each engine and runtime, on a 640x480 frame of a real portrait.

    bash -c 'source scripts/lib/common.sh; in_env python scripts/evaluate_speed.py [--runs N]'

One BLAS thread (as in the engine process). Prints the median of ``--runs`` runs of: YuNet
detection, MobileFaceNet embedding (with its mirror image), the whole analyze() of the
MobileFaceNet engine (YuNet's five landmarks feed liveness: no dlib), for the numpy executor and for
onnxruntime when installed; and dlib's analyze() (HOG, landmarks, ResNet encoder).
"""

import os

for _name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")

import argparse  # noqa: E402
import importlib.util  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from custom_components.facegate.face.engine import FaceEngine  # noqa: E402
from custom_components.facegate.face.mobilefacenet import (  # noqa: E402
    MobileFaceNetEngine,
    align,
)

PORTRAIT = ROOT / "tests" / "fixtures" / "faces" / "barack_obama" / "1.jpg"


def frame() -> np.ndarray:
    """The portrait scaled to 480 px high, centred on a grey 640x480 frame."""
    with Image.open(PORTRAIT) as opened:
        portrait = opened.convert("RGB")
    portrait = portrait.resize((round(portrait.width * 480 / portrait.height), 480))
    canvas = Image.new("RGB", (640, 480), (128, 128, 128))
    canvas.paste(portrait, ((640 - portrait.width) // 2, 0))
    return np.array(canvas)


def median_ms(call: Callable[[], object], runs: int) -> float:
    """Median wall time of ``runs`` calls after one warm-up, in milliseconds."""
    call()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)


def main() -> int:
    """Print the table."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    image = frame()
    print(f"{platform.machine()}, {os.cpu_count()} cores, one BLAS thread; 640x480, one face\n")
    print("| engine | runtime | detect | embed (with mirror) | analyze() per frame |")
    print("|---|---|---|---|---|")
    runtimes = ["numpy"] + (["onnxruntime"] if importlib.util.find_spec("onnxruntime") else [])
    for runtime in runtimes:
        engine = MobileFaceNetEngine(runtime=runtime)
        _, _, points = engine.detector.detect(image)
        crop = align(image, points[0])
        detect = median_ms(lambda engine=engine: engine.detector.detect(image), args.runs)
        embed = median_ms(lambda e=engine, c=crop: e.encoder.embed_crop(c), args.runs)
        whole = median_ms(lambda engine=engine: engine.analyze(image), args.runs)
        print(f"| mobilefacenet | {runtime} | {detect:.0f} ms | {embed:.0f} ms | {whole:.0f} ms |")
    dlib_engine = FaceEngine()
    whole = median_ms(lambda: dlib_engine.analyze(image), args.runs)
    detect = median_ms(lambda: dlib_engine.detect(image), args.runs)
    print(f"| dlib | dlib | {detect:.0f} ms | {whole - detect:.0f} ms | {whole:.0f} ms |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
