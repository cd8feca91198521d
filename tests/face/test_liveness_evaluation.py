"""scripts/evaluate_liveness: says clearly when it cannot decode; on a tiny SYNTHETIC clip (a
fixture photo moved a little, encoded here; no recording of anyone) it judges the clip and ends
with the JSON line."""

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
from PIL import Image

from ..photos import FIXTURE_FACES

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "evaluate_liveness.py"


def _script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("facegate_evaluate_liveness", SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_without_a_decoder_the_evaluation_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "live").mkdir()
    (tmp_path / "live" / "live_a.mp4").write_bytes(b"not decoded")
    monkeypatch.setitem(sys.modules, "av", None)  # import av fails, as where PyAV is missing

    with pytest.raises(SystemExit) as raised:
        _script().main(["--dataset", str(tmp_path)])

    assert "needs PyAV" in str(raised.value)
    assert "Nothing was evaluated" in str(raised.value)


def _synthetic_clip(path: Path, seconds: float = 3.0, fps: int = 10) -> None:
    """A fixture portrait shifted by a pixel or two per frame: a made-up, not a recorded, clip."""
    av = pytest.importorskip("av", reason="PyAV (development only) is not installed")
    with Image.open(FIXTURE_FACES / "barack_obama" / "1.jpg") as image:
        picture = np.asarray(image.convert("RGB").resize((320, 400)))
    rng = np.random.default_rng(5)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("mpeg4", rate=fps)
        stream.width, stream.height, stream.pix_fmt = 320, 400, "yuv420p"
        for _ in range(int(seconds * fps)):
            shifted = np.roll(picture, tuple(rng.integers(-2, 3, 2)), axis=(0, 1))
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(shifted), format="rgb24")
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


def test_a_tiny_synthetic_clip_is_judged_and_the_json_line_ends_the_output(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "live").mkdir()
    _synthetic_clip(tmp_path / "live" / "live_synthetic.mp4")

    assert _script().main(["--dataset", str(tmp_path)]) == 0

    lines = capsys.readouterr().out.strip().splitlines()
    assert "enrolled live_synthetic" in "\n".join(lines)
    assert any("live_synthetic.mp4" in line and "frames=" in line for line in lines)
    summary = json.loads(lines[-1])
    assert summary["clips"] == 1
    assert summary["apcer"] == {}
    assert summary["bpcer"] in (0.0, 1.0)
    assert summary["fps"] > 0


def _trace(module: ModuleType, subject: str, kind: str, passive: float) -> object:
    """A recorded clip (made-up cues, no recording) whose vote named its subject at 1 s."""
    from custom_components.facegate.face.liveness_policy import Cues  # noqa: PLC0415

    found = Cues(blinked=False, good=5, detail=None, parallax=0.0, passive=passive, scored=5)
    attack = "replay_phone" if kind == "attack" else ""
    sample = module.Sample(Path(f"{subject}.mp4"), kind, attack, subject)
    steps = {scale: [module.Step(1.0, subject, found)] for scale in module.SCALES}
    return module.Trace(sample, 0.0, steps=steps)


def test_cross_validation_judges_each_subject_with_constants_chosen_without_them() -> None:
    """S1's replay scores 0.55: folds that train on it raise the cut to 0.6 and let the live
    people in; the fold that holds S1 out cannot know it, keeps the shipped 0.5, and the
    replay is counted as accepted, held out (no subject is tuned on and judged at once)."""
    module = _script()
    traces = [
        _trace(module, "S1", "attack", 0.55),
        _trace(module, "S2", "live", 0.9),
        _trace(module, "S3", "live", 0.9),
    ]

    held_out, chosen = module.cross_validate(traces)

    assert chosen["S1"] == (0.5, 5, 1.0, 0.07, 0.1)  # nothing to learn: the shipped constants
    assert chosen["S2"] == chosen["S3"] == (0.6, 5, 1.0, 0.07, 0.1)
    assert [module.is_error(result) for result in held_out] == [True, False, False]
    shipped = [module.outcome(t, module.DEFAULT_POLICY, module.BOX_SCALE) for t in traces]
    assert [r.granted for r in shipped] == ["S1", "S2", "S3"]


def test_the_cross_validated_run_reports_held_out_and_shipped_figures(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    script = _script()
    monkeypatch.setitem(sys.modules, script.__name__, script)  # its recordings pickle by name
    (tmp_path / "live").mkdir()
    _synthetic_clip(tmp_path / "live" / "live_synthetic.mp4")
    traces = tmp_path / "traces.pickle"
    arguments = ["--dataset", str(tmp_path), "--cross-validate", "--traces", str(traces)]

    assert script.main(arguments) == 0
    first = capsys.readouterr().out.strip().splitlines()
    assert script.main(arguments) == 0  # the recordings are reused
    again = capsys.readouterr().out.strip().splitlines()

    assert "shipped constants (not held out)" in "\n".join(first)
    assert "held out (leave one subject out)" in "\n".join(first)
    summary = json.loads(first[-1])
    assert summary["mode"] == "cross_validate_by_subject"
    assert summary["folds"] == 1
    assert set(summary["chosen"]) == {"cut", "frames", "crop_scale", "parallax", "frame_floor"}
    assert set(summary["shipped_not_held_out"]) == {"apcer", "bpcer"}
    assert "recordings reused" in again[0]
    assert json.loads(again[-1]) == summary
