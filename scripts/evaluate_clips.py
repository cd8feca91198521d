#!/usr/bin/env python3
"""A second dev set of ordinary people: frames of the live clips in ../shared/liveness.

    scripts/lib/common.sh in_env python scripts/evaluate_clips.py OUT [--frames 8]
    scripts/evaluate --dataset OUT --engine mobilefacenet --derive

Writes OUT/<subject>/<n>.jpg (``--frames`` frames spread evenly over each live clip, turned
upright by the clip's rotation) and OUT/_groups.csv, in scripts/evaluate's layout. Needs PyAV
(``pip install av``, development only). The people are ordinary people (not public figures);
frames of one clip share a session, light and camera, so genuine trials are easier than at a
door on another day: the false-reject figures from this set are optimistic; the false accepts
(other people's frames) are the informative part.
"""

import argparse
import csv
import sys
from pathlib import Path

import av
from PIL import Image

LIVENESS = Path(__file__).resolve().parents[1].parent / "shared" / "liveness"
# From ../shared/liveness/MANIFEST.md (the people's description).
EAST_SOUTHEAST_ASIAN = {"D01", "D02", "D10", "D11", "D12", "D13", "D15"}


def frames_of(path: Path, count: int) -> list[Image.Image]:
    """``count`` frames spread over the clip, upright."""
    with av.open(str(path)) as container:
        decoded = [
            (frame.to_image(), getattr(frame, "rotation", 0)) for frame in container.decode(video=0)
        ]
    step = max(1, len(decoded) // count)
    chosen = decoded[step // 2 :: step][:count]
    return [
        image.rotate(rotation, expand=True) if rotation else image for image, rotation in chosen
    ]


def main(argv: list[str]) -> int:
    """Extract the frames and the groups file."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("out", type=Path)
    parser.add_argument("--frames", type=int, default=8)
    args = parser.parse_args(argv)
    with (LIVENESS / "subjects.csv").open(newline="") as file:
        rows = [row for row in csv.DictReader(file) if row["file"].startswith("live/")]
    groups = {}
    for row in rows:
        subject = row["subject"]
        folder = args.out / subject
        folder.mkdir(parents=True, exist_ok=True)
        for index, image in enumerate(frames_of(LIVENESS / row["file"], args.frames), start=1):
            image.convert("RGB").save(folder / f"{index}.jpg", quality=92)
        groups[subject] = "east_southeast_asian" if subject in EAST_SOUTHEAST_ASIAN else "other"
    with (args.out / "_groups.csv").open("w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["identity", "group"])
        writer.writerows(sorted(groups.items()))
    print(f"{len(groups)} people, {args.frames} frames each, in {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
