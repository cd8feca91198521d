"""Convert the ONNX face models to what FaceGate ships: weights (.npz) + graph (.json).

Run in the development environment (the `onnx` package installs there, not on musl):

    scripts/lib/common.sh in_env python scripts/convert_models.py [../shared/models]

For each model, writes into custom_components/facegate/face/models/<folder>/:
- ``<name>.npz``: every initializer and Constant tensor, by name, as numpy arrays;
- ``<name>.json``: the nodes (op, inputs, outputs, attributes), the graph's inputs and outputs,
  and the sha256 and size of the original .onnx file it came from;
- the original ``<name>.onnx`` (for onnxruntime, where it is installed) and the LICENSE.
And writes ``models/SHA256SUMS`` (sha256 of each shipped file), which face/onnx_numpy.py checks
before loading anything: a changed file is refused.
"""

import hashlib
import io
import json
import shutil
import sys
from pathlib import Path

import numpy as np
import onnx
from onnx import numpy_helper

ROOT = Path(__file__).resolve().parent.parent
TARGET = ROOT / "custom_components" / "facegate" / "face" / "models"
MODELS = {  # folder -> (onnx files, source)
    "yunet": ("yunet_s_640_640.onnx",),
    "mobilefacenet": ("MobileFaceNet.onnx",),
    "minifasnet": ("MiniFASNetV2.onnx", "MiniFASNetV1SE.onnx"),
}


def _attribute(attr: onnx.AttributeProto, tensors: dict[str, np.ndarray], key: str) -> object:
    """One node attribute as JSON; a tensor attribute goes to the npz under ``key``."""
    value = onnx.helper.get_attribute_value(attr)
    if isinstance(value, onnx.TensorProto):
        tensors[key] = numpy_helper.to_array(value)
        return {"tensor": key}
    if isinstance(value, bytes):
        return value.decode()
    if isinstance(value, list):
        return [v.decode() if isinstance(v, bytes) else v for v in value]
    return value


def _shape(value: onnx.ValueInfoProto) -> list[int | str]:
    dims = value.type.tensor_type.shape.dim
    return [d.dim_value if d.HasField("dim_value") else d.dim_param for d in dims]


def convert(source: Path, target: Path) -> list[Path]:
    """Write ``target``.npz and .json from one .onnx file; the written paths."""
    raw = source.read_bytes()
    model = onnx.load_model_from_string(raw)
    onnx.checker.check_model(model)
    graph = model.graph
    tensors = {init.name: numpy_helper.to_array(init) for init in graph.initializer}
    nodes = []
    for index, node in enumerate(graph.node):
        attrs = {
            attr.name: _attribute(attr, tensors, f"{node.output[0]}#{attr.name}")
            for attr in node.attribute
        }
        nodes.append(
            {
                "op": node.op_type,
                "name": node.name or f"node{index}",
                "inputs": list(node.input),
                "outputs": list(node.output),
                "attrs": attrs,
            }
        )
    initialized = set(tensors)
    description = {
        "source": source.name,
        "source_sha256": hashlib.sha256(raw).hexdigest(),
        "source_bytes": len(raw),
        "opset": max(o.version for o in model.opset_import if o.domain in ("", "ai.onnx")),
        "inputs": [
            {"name": v.name, "shape": _shape(v)} for v in graph.input if v.name not in initialized
        ],
        "outputs": [{"name": v.name, "shape": _shape(v)} for v in graph.output],
        "nodes": nodes,
    }
    buffer = io.BytesIO()
    np.savez(buffer, **{name: np.ascontiguousarray(array) for name, array in tensors.items()})
    npz = target.with_suffix(".npz")
    npz.write_bytes(buffer.getvalue())
    graph_file = target.with_suffix(".json")
    graph_file.write_text(json.dumps(description, indent=1) + "\n")
    return [npz, graph_file]


def main(argv: list[str]) -> int:
    """Convert every model of ``argv[0]`` (default ../shared/models)."""
    source_root = Path(argv[0]) if argv else ROOT.parent / "shared" / "models"
    written: list[Path] = []
    for folder, files in MODELS.items():
        out = TARGET / folder
        out.mkdir(parents=True, exist_ok=True)
        for name in files:
            written += convert(source_root / folder / name, out / Path(name).stem)
            # The original too: onnxruntime runs it where installed (glibc); same sha256.
            shutil.copyfile(source_root / folder / name, out / name)
            written.append(out / name)
        shutil.copyfile(source_root / folder / "LICENSE", out / "LICENSE")
        written.append(out / "LICENSE")
    sums = "".join(
        f"{hashlib.sha256(path.read_bytes()).hexdigest()}  {path.relative_to(TARGET)}\n"
        for path in sorted(written)
    )
    (TARGET / "SHA256SUMS").write_text(sums)
    print(sums, end="")
    digest = hashlib.sha256(sums.encode()).hexdigest()
    print(f"\nSUMS_SHA256 (face/onnx_numpy.py) = {digest!r}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
