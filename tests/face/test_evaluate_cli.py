"""scripts/evaluate on a tiny made-up face set: the sweep table and the JSON line that ends it.

No photo of anyone is used: each "photo" is a placeholder file, and its encoding is written
beforehand into the evaluation's encoding cache (keyed by the file's sha256), so the face
engine is never loaded and the run takes about a second.
"""

import hashlib
import json
import os
from pathlib import Path

import numpy as np
import pytest

from custom_components.facegate.face.decision import DEFAULT_MAX_DISTANCE

from .conftest import load_evaluation

REPO = Path(__file__).resolve().parents[2]
PEOPLE = {"anna": 4, "ben": 4, "chen": 4, "dara": 4, "eve": 2}  # eve: too few to enrol
GROUPS = {"anna": "g1", "ben": "g1", "chen": "g2", "dara": "g2", "eve": "g2"}
REQUIRED = {"far", "frr", "tolerance", "identities", "probes", "groups"}


evaluation = load_evaluation()


def _point(rng: np.random.Generator, length: float) -> np.ndarray:
    """A random 128-d direction of this length."""
    vector = rng.normal(size=128)
    return vector * (length / np.linalg.norm(vector))


def _face_set(root: Path, cache: Path, *, groups: bool, twins: bool = False) -> Path:
    """PEOPLE as folders of placeholder files, their made-up encodings in the cache.

    Different people are about 1.0 apart, photos of one person within 0.15 of their centre (so
    FaceGate's defaults make no error); ``twins`` gives ben anna's centre.
    """
    rng = np.random.default_rng(5)
    centres = {name: _point(rng, 0.7) for name in PEOPLE}
    if twins:
        centres["ben"] = centres["anna"]
    entries: dict[str, list[list[object]]] = {}

    def add(path: Path, encoding: np.ndarray) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(f"placeholder {path.relative_to(root)}".encode())
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        entries[digest] = [[100, encoding.tolist()]]

    for name, count in PEOPLE.items():
        for number in range(1, count + 1):
            add(root / name / f"{number}.jpg", centres[name] + _point(rng, 0.15))
    add(root / "_scenes" / "single_unknown_1.jpg", _point(rng, 0.7))  # nobody enrolled
    (root / "_notes").mkdir()  # "_": not an identity
    if groups:
        rows = [f"{name},{group}" for name, group in GROUPS.items()]
        (root / evaluation.GROUPS_FILE).write_text("\n".join(["identity,group", *rows]) + "\n")
    cache.mkdir()
    evaluation.cache_path(cache).write_text(json.dumps(entries))
    return root


def _run(
    capsys: pytest.CaptureFixture[str], dataset: Path, cache: Path, *extra: str
) -> tuple[int, str, dict[str, object]]:
    """main() on the set: exit code, stdout, and its last line parsed as JSON."""
    argv = ["--dataset", str(dataset), "--cache", str(cache), "--sweep", "0.50:0.54:0.02"]
    code = evaluation.main([*argv, *extra])
    out = capsys.readouterr().out
    return code, out, json.loads(out.rstrip("\n").splitlines()[-1])


@pytest.mark.parametrize(
    ("with_groups", "expected_groups"), [(True, {"g1", "g2"}), (False, {"all"})]
)
def test_json_is_the_last_line(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    with_groups: bool,
    expected_groups: set[str],
) -> None:
    dataset = _face_set(tmp_path / "faces", tmp_path / "cache", groups=with_groups)
    code, out, result = _run(capsys, dataset, tmp_path / "cache", "--check")
    assert code == 0
    assert set(result) >= REQUIRED
    assert result["far"] == 0.0
    assert result["frr"] == 0.0
    assert result["tolerance"] == DEFAULT_MAX_DISTANCE
    assert result["identities"] == 4  # eve has too few photos: an impostor only
    assert result["genuine_probes"] == 4 * 2
    assert result["impostor_probes"] == sum(PEOPLE.values())
    assert result["probes"] == 8 + sum(PEOPLE.values())
    groups = result["groups"]
    assert isinstance(groups, dict)
    assert set(groups) == expected_groups
    assert sum(g["far_trials"] for g in groups.values()) == result["impostor_probes"]
    assert sum(g["frr_trials"] for g in groups.values()) == result["genuine_probes"]
    assert result["scene_faces"] == {"far": 0.0, "far_trials": 1}
    # The sweep table: both rules at each tolerance, FaceGate's default cap added.
    sweep_rows = [line for line in out.splitlines() if line.startswith("| 0.5")]
    assert [row.split(" | ")[0] for row in sweep_rows] == [
        f"| {t}" for t in ("0.50", "0.50", "0.52", "0.52", "0.53", "0.53", "0.54", "0.54")
    ]
    assert "**FaceGate (default)**" in sweep_rows[5]
    assert "target (FAR" in out.splitlines()[-2]


def test_check_fails_when_the_target_is_missed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dataset = _face_set(tmp_path / "faces", tmp_path / "cache", groups=True, twins=True)
    code, _, result = _run(capsys, dataset, tmp_path / "cache", "--check")
    assert code == 1
    assert result["target_met"] is False
    assert result["far"] > 0 or result["frr"] > 0
    code, _, _ = _run(capsys, dataset, tmp_path / "cache")  # without --check: only reported
    assert code == 0


def test_missing_or_empty_set(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert evaluation.main(["--dataset", str(tmp_path / "nothing")]) == 2
    assert evaluation.main(["--faces", str(tmp_path), "--cache", str(tmp_path)]) == 2
    assert "no identity" in capsys.readouterr().err


def test_sweep_values() -> None:
    values = evaluation.sweep_values("0.40:0.60:0.02")
    assert values[0] == 0.4
    assert values[-1] == 0.6
    assert len(values) == 12
    assert DEFAULT_MAX_DISTANCE in values
    with pytest.raises(ValueError, match="bad sweep"):
        evaluation.sweep_values("0.6:0.4:0.02")


def test_wrapper_runs_the_script() -> None:
    wrapper = REPO / "scripts" / "evaluate"
    assert os.access(wrapper, os.X_OK)
    assert "scripts/evaluate_faces.py" in wrapper.read_text()
