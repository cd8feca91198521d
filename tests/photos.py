"""Where the tests find face photos: the copies in tests/fixtures/faces, then ../shared/faces.

The fixture copies (see their README for sources and licences) let the face tests run on a clean
checkout; the full development set next to the repository adds the photos that cannot be copied
and the whole-set evaluations.
"""

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

FIXTURE_FACES = Path(__file__).parent / "fixtures" / "faces"
SHARED_FACES = Path(
    os.environ.get("FACEGATE_SHARED_FACES", Path(__file__).parents[1] / ".." / "shared" / "faces")
).resolve()  # FACEGATE_SHARED_FACES=/nowhere runs the tests as on a clean checkout


class Photos:
    """The photo folders in order of preference, addressed like one folder: photos / "a/1.jpg"."""

    def __init__(self, *folders: Path) -> None:
        self.folders = [folder for folder in folders if folder.is_dir()]

    def find(self, name: str) -> Path | None:
        """The photo's path, or None when no folder has it."""
        for folder in self.folders:
            if (path := folder / name).is_file():
                return path
        return None

    def __truediv__(self, name: str) -> Path:
        """The photo's path; the test skips when no folder has it."""
        if path := self.find(name):
            return path
        pytest.skip(f"{name} is only in the shared face set, which is missing ({SHARED_FACES})")

    def identity_photos(self) -> Iterator[Path]:
        """Every photo of an identity (folders starting with "_" are scenes) in the first folder."""
        folder = self.folders[0]
        for person in sorted(folder.iterdir()):
            if person.is_dir() and not person.name.startswith("_"):
                yield from sorted(p for p in person.iterdir() if p.suffix in (".jpg", ".png"))


PHOTOS = Photos(SHARED_FACES, FIXTURE_FACES)
