#!/usr/bin/env python3
"""Calibrate the anti-spoofing crop (antispoof.BOX_SCALE) for YuNet's boxes on real clips.

    scripts/lib/common.sh in_env python scripts/calibrate_antispoof.py [--dataset DIR] [--frames 12]

For every clip of DIR (default ../shared/liveness: live/ and attack/, subjects.csv): FRAMES
frames spread over the clip, upright, the largest YuNet face, the MiniFASNet score at each
candidate box scale. Then two-fold cross-validation BY SUBJECT (odd and even subject numbers:
a person's live clip and the replay of that person are always in the same fold): the scale is
chosen on one fold (best balanced accuracy of the per-clip mean score at the 0.5 cut) and
measured on the other, never on the clips it was chosen on. Needs PyAV (development only).
"""

import argparse
import csv
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from custom_components.facegate.face.antispoof import AntiSpoof
from custom_components.facegate.face.mobilefacenet import YuNetDetector, _to_box

LIVENESS = Path(__file__).resolve().parents[1].parent / "shared" / "liveness"
SCALES = (0.8, 0.9, 1.0, 1.1, 1.2, 1.35)
CUT = 0.5


def frames_of(path: Path, count: int) -> list[np.ndarray]:
    """``count`` RGB frames spread over the clip, upright."""
    import av  # noqa: PLC0415 - development only

    with av.open(str(path)) as container:
        decoded = list(container.decode(video=0))
    step = max(1, len(decoded) // count)
    images = []
    for frame in decoded[step // 2 :: step][:count]:
        image = frame.to_image()
        rotation = getattr(frame, "rotation", 0)
        if rotation:
            image = image.rotate(rotation, expand=True)
        images.append(np.asarray(image.convert("RGB")))
    return images


def balanced_accuracy(clips: list[dict], scale: float) -> float:
    live = [c for c in clips if c["kind"] == "live"]
    attack = [c for c in clips if c["kind"] == "attack"]
    ok_live = np.mean([np.mean(c["scores"][str(scale)]) >= CUT for c in live]) if live else 1
    ok_attack = np.mean([np.mean(c["scores"][str(scale)]) < CUT for c in attack]) if attack else 1
    return float((ok_live + ok_attack) / 2)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--dataset", type=Path, default=LIVENESS)
    parser.add_argument("--frames", type=int, default=12)
    parser.add_argument("--out", type=Path, default=None, help="write per-frame scores (JSON)")
    args = parser.parse_args(argv)
    detector = YuNetDetector()
    models = {scale: AntiSpoof(box_scale=scale) for scale in SCALES}
    with (args.dataset / "subjects.csv").open(newline="") as file:
        rows = list(csv.DictReader(file))
    clips = []
    for row in rows:
        scores: dict[str, list[float]] = {str(s): [] for s in SCALES}
        for image in frames_of(args.dataset / row["file"], args.frames):
            boxes, _, _ = detector.detect(image)
            if not len(boxes):
                continue
            widths = boxes[:, 2] - boxes[:, 0]
            box = _to_box(boxes[int(np.argmax(widths))], *image.shape[:2])
            for scale, model in models.items():
                scores[str(scale)].append(model.score(image, box))
        kind = row["file"].split("/")[0]
        clips.append(
            {"file": row["file"], "subject": row["subject"], "kind": kind, "scores": scores}
        )
        means = " ".join(f"{np.mean(v) if v else float('nan'):.2f}" for v in scores.values())
        print(f"{row['subject']} {kind:6} {len(scores['1.0']):2d} frames  {means}  {row['file']}")
    clips = [c for c in clips if c["scores"]["1.0"]]
    folds = [[c for c in clips if int(c["subject"][1:]) % 2 == parity] for parity in (1, 0)]
    print("scales:", SCALES)
    for name, tune, test in (("odd->even", folds[0], folds[1]), ("even->odd", folds[1], folds[0])):
        tuned = max(SCALES, key=lambda s: (balanced_accuracy(tune, s), -abs(s - 1.0)))
        print(
            f"{name}: chosen {tuned} (tuning fold {balanced_accuracy(tune, tuned):.2f}), "
            f"held-out fold {balanced_accuracy(test, tuned):.2f}; held-out at each scale: "
            + " ".join(f"{s}:{balanced_accuracy(test, s):.2f}" for s in SCALES)
        )
    if args.out:
        args.out.write_text(json.dumps(clips))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
