"""Run FaceGate's small ONNX graphs: onnxruntime where installed, numpy everywhere else.

onnxruntime (and onnx) have no musllinux wheels, and Home Assistant OS and the official
container are musl based, so every model also ships as its weights (``.npz``, which numpy
loads directly) and a graph description (``.json``), both written at build time by
scripts/convert_models.py. ``NumpyGraph`` executes that description with numpy alone: every
convolution is im2col plus one matrix product, depthwise convolutions are a sum of k*k
vectorised multiply-adds. Only the operators these graphs use are implemented; an unknown one
is refused when the graph loads, not in the middle of a frame.

Every shipped file is checked against models/SHA256SUMS before it is read: a changed or
missing file raises ModelFileError (the engine then reports "models_missing").
"""

import hashlib
import importlib
import io
import json
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

type Array = npt.NDArray[Any]
type Attrs = Mapping[str, Any]

MODELS_DIR = Path(__file__).parent / "models"
SUMS_FILE = "SHA256SUMS"
FORCE_NUMPY_ENV = "FACEGATE_ONNX_NUMPY"  # "1": never use onnxruntime (tests, comparisons)
# The sha256 of the shipped SHA256SUMS: the list itself cannot be rewritten to fit changed files.
# scripts/convert_models.py prints the new value when the models are converted again.
SUMS_SHA256 = "4bfb7df145d441ff565e60d1203ce3a10d6279e2c48aca21caa43f225c773c97"


_DEPTHWISE_BLOCK_BYTES = 1 << 18


class ModelFileError(Exception):
    """A shipped model file is missing or differs from the sha256 recorded for it."""


class Graph(Protocol):
    """One model, ready to run: named float32 inputs in, named outputs out."""

    runtime: str
    input_names: list[str]
    output_names: list[str]

    def run(self, inputs: Mapping[str, Array]) -> dict[str, Array]:
        """The graph's outputs for these inputs."""
        ...


def _read_sums(folder: Path) -> dict[str, str]:
    try:
        data = (folder / SUMS_FILE).read_bytes()
    except OSError as err:
        raise ModelFileError(f"{SUMS_FILE} is missing in {folder}") from err
    if hashlib.sha256(data).hexdigest() != SUMS_SHA256:
        raise ModelFileError(f"{SUMS_FILE} was changed (its sha256 differs from FaceGate's)")
    lines = data.decode().splitlines()
    sums = {}
    for line in lines:
        digest, _, name = line.partition("  ")
        sums[name.strip()] = digest.strip()
    return sums


def read_checked(path: Path, folder: Path = MODELS_DIR) -> bytes:
    """A shipped file's bytes, after checking them against SHA256SUMS; ModelFileError if not."""
    name = path.relative_to(folder).as_posix()
    expected = _read_sums(folder).get(name)
    if expected is None:
        raise ModelFileError(f"{name} is not listed in {SUMS_FILE}")
    try:
        data = path.read_bytes()
    except OSError as err:
        raise ModelFileError(f"{name} cannot be read") from err
    if hashlib.sha256(data).hexdigest() != expected:
        raise ModelFileError(f"{name} was changed (its sha256 differs from {SUMS_FILE})")
    return data


# --- operators ------------------------------------------------------------------------------


def _pads(attrs: Attrs, spatial: int) -> list[int]:
    if attrs.get("auto_pad", "NOTSET") not in ("NOTSET", "VALID"):
        raise NotImplementedError("auto_pad SAME_* is not used by the shipped graphs")
    pads: list[int] = attrs.get("pads", [0] * (2 * spatial))
    return pads


def _windows(
    x: Array, kernel: tuple[int, int], strides: list[int], dilations: list[int]
) -> tuple[Array, int, int]:
    """A (N, C, kh, kw, OH, OW) strided view of padded x, and OH, OW."""
    n, c, h, w = x.shape
    kh, kw = kernel
    oh = (h - dilations[0] * (kh - 1) - 1) // strides[0] + 1
    ow = (w - dilations[1] * (kw - 1) - 1) // strides[1] + 1
    sn, sc, sh, sw = x.strides
    view = np.lib.stride_tricks.as_strided(
        x,
        shape=(n, c, kh, kw, oh, ow),
        strides=(sn, sc, sh * dilations[0], sw * dilations[1], sh * strides[0], sw * strides[1]),
        writeable=False,
    )
    return view, oh, ow


def _pad(x: Array, pads: list[int], value: float = 0.0) -> Array:
    if not any(pads):
        return x
    top, left, bottom, right = pads
    return np.pad(x, ((0, 0), (0, 0), (top, bottom), (left, right)), constant_values=value)


def _conv(attrs: Attrs, x: Array, w: Array, b: Array | None = None) -> Array:
    group = int(attrs.get("group", 1))
    strides = list(attrs.get("strides", [1, 1]))
    dilations = list(attrs.get("dilations", [1, 1]))
    m, cg, kh, kw = w.shape
    x = _pad(x, _pads(attrs, 2))
    n, c = x.shape[:2]
    if group == 1 and kh == kw == 1 and strides == [1, 1]:
        out = np.matmul(w.reshape(m, c), x.reshape(n, c, -1)).reshape(n, m, *x.shape[2:])
    elif group == c == m and cg == 1:  # depthwise: k*k vectorised multiply-adds
        view, oh, ow = _windows(x, (kh, kw), strides, dilations)
        out = np.empty((n, c, oh, ow), dtype=np.float32)
        # In blocks of channels whose output fits in the CPU cache: 2-3x faster on large maps.
        step = max(1, _DEPTHWISE_BLOCK_BYTES // (4 * n * oh * ow))
        for start in range(0, c, step):
            part, block = view[:, start : start + step], out[:, start : start + step]
            kernel = w[start : start + step, 0]
            np.multiply(part[:, :, 0, 0], kernel[None, :, 0, 0, None, None], out=block)
            for i in range(kh):
                for j in range(kw):
                    if i or j:
                        block += part[:, :, i, j] * kernel[None, :, i, j, None, None]
    else:  # im2col + one matrix product per group
        view, oh, ow = _windows(x, (kh, kw), strides, dilations)
        mg = m // group
        parts = []
        for g in range(group):
            cols = view[:, g * cg : (g + 1) * cg].reshape(n, cg * kh * kw, oh * ow)
            kernel = w[g * mg : (g + 1) * mg].reshape(mg, cg * kh * kw)
            parts.append(np.matmul(kernel, cols))
        out = (parts[0] if group == 1 else np.concatenate(parts, axis=1)).reshape(n, m, oh, ow)
    if b is not None:
        out += b.reshape(1, -1, 1, 1)
    result: Array = out
    return result


def _pool(attrs: Attrs, x: Array, reduce: str) -> Array:
    kernel = tuple(attrs["kernel_shape"])
    strides = list(attrs.get("strides", [1, 1]))
    if attrs.get("ceil_mode", 0):
        raise NotImplementedError("ceil_mode pooling is not used by the shipped graphs")
    pads = _pads(attrs, 2)
    if reduce == "max":  # the maximum of k*k strided slices: faster than a windowed reduction
        view, oh, ow = _windows(_pad(x, pads, -np.inf), kernel, strides, [1, 1])
        out = np.empty((*view.shape[:2], oh, ow), dtype=x.dtype)
        step = max(1, _DEPTHWISE_BLOCK_BYTES // (4 * x.shape[0] * oh * ow))
        for start in range(0, x.shape[1], step):
            part, block = view[:, start : start + step], out[:, start : start + step]
            block[...] = part[:, :, 0, 0]
            for i in range(kernel[0]):
                for j in range(kernel[1]):
                    if i or j:
                        np.maximum(block, part[:, :, i, j], out=block)
        return out
    if any(pads) and not attrs.get("count_include_pad", 0):
        raise NotImplementedError("average pooling with padding is not used")
    view, _, _ = _windows(x, kernel, strides, [1, 1])
    mean: Array = view.mean(axis=(2, 3))
    return mean


def _batchnorm(attrs: Attrs, x: Array, scale: Array, bias: Array, mean: Array, var: Array) -> Array:
    eps = float(attrs.get("epsilon", 1e-5))
    shape = (1, -1) + (1,) * (x.ndim - 2)
    factor = (scale / np.sqrt(var + eps)).astype(np.float32)
    result: Array = x * factor.reshape(shape) + (bias - mean * factor).reshape(shape)
    return result


def _prelu(_: Attrs, x: Array, slope: Array) -> Array:
    if slope.ndim == 1 and x.ndim > 2:  # per channel
        slope = slope.reshape((-1,) + (1,) * (x.ndim - 2))
    return np.where(x >= 0, x, x * slope)


def _gemm(attrs: Attrs, a: Array, b: Array, c: Array | None = None) -> Array:
    if attrs.get("transA", 0):
        a = a.T
    if attrs.get("transB", 0):
        b = b.T
    out = float(attrs.get("alpha", 1.0)) * (a @ b)
    if c is not None:
        out = out + float(attrs.get("beta", 1.0)) * c
    return out


def _reshape(attrs: Attrs, x: Array, shape: Array) -> Array:
    target = [int(d) for d in shape]
    if not attrs.get("allowzero", 0):
        target = [x.shape[i] if d == 0 else d for i, d in enumerate(target)]
    return x.reshape(target)


def _flatten(attrs: Attrs, x: Array) -> Array:
    axis = int(attrs.get("axis", 1)) % max(x.ndim, 1)
    return x.reshape(int(np.prod(x.shape[:axis])), -1)


def _resize(attrs: Attrs, x: Array, *args: Array | None) -> Array:
    """Nearest-neighbour resize by integer factors (FPN upsampling)."""
    if attrs.get("mode", "nearest") != "nearest":
        raise NotImplementedError("only nearest resize is used by the shipped graphs")
    scales = args[1] if len(args) > 1 and args[1] is not None and args[1].size else None
    if scales is None and len(args) > 2 and args[2] is not None:
        scales = np.asarray(args[2], dtype=np.float64) / np.asarray(x.shape)
    if scales is None:
        raise NotImplementedError("resize without scales or sizes")
    out = x
    for axis, factor in enumerate(np.asarray(scales, dtype=np.float64)):
        if factor != 1.0:
            if factor != int(factor):
                raise NotImplementedError("only integer resize factors are used")
            out = np.repeat(out, int(factor), axis=axis)
    return out


def _axes(attrs: Attrs, given: Array | None) -> list[int]:
    if given is not None:
        return [int(a) for a in given]
    return list(attrs.get("axes", []))


def _softmax(attrs: Attrs, x: Array) -> Array:
    axis = int(attrs.get("axis", -1))
    shifted = np.exp(x - x.max(axis=axis, keepdims=True))
    result: Array = shifted / shifted.sum(axis=axis, keepdims=True)
    return result


def _slice(_: Attrs, x: Array, starts: Array, ends: Array, *rest: Array | None) -> Array:
    axes = rest[0] if rest and rest[0] is not None else np.arange(len(starts))
    steps = rest[1] if len(rest) > 1 and rest[1] is not None else np.ones(len(starts), int)
    index = [slice(None)] * x.ndim
    for s, e, a, st in zip(starts, ends, axes, steps, strict=True):
        index[int(a)] = slice(int(s), int(e), int(st))
    return x[tuple(index)]


def _split(attrs: Attrs, x: Array, split: Array | None = None) -> tuple[Array, ...]:
    axis = int(attrs.get("axis", 0))
    sizes = [int(s) for s in (split if split is not None else attrs["split"])]
    return tuple(np.split(x, np.cumsum(sizes)[:-1], axis=axis))


def _concat(attrs: Attrs, *xs: Array) -> Array:
    return np.concatenate(xs, axis=int(attrs["axis"]))


OPS: dict[str, Callable[..., Array | tuple[Array, ...]]] = {
    "Conv": _conv,
    "BatchNormalization": _batchnorm,
    "Relu": lambda _, x: np.maximum(x, 0),
    "PRelu": _prelu,
    "Sigmoid": lambda _, x: 1.0 / (1.0 + np.exp(-x)),
    "Exp": lambda _, x: np.exp(x),
    "Add": lambda _, a, b: a + b,
    "Sub": lambda _, a, b: a - b,
    "Mul": lambda _, a, b: a * b,
    "Div": lambda _, a, b: a / b,
    "MatMul": lambda _, a, b: np.matmul(a, b),
    "Gemm": _gemm,
    "Flatten": _flatten,
    "Reshape": _reshape,
    "Transpose": lambda attrs, x: np.transpose(x, attrs.get("perm")),
    "Concat": _concat,
    "Identity": lambda _, x: x,
    "GlobalAveragePool": lambda _, x: x.mean(axis=(2, 3), keepdims=True),
    "MaxPool": lambda attrs, x: _pool(attrs, x, "max"),
    "AveragePool": lambda attrs, x: _pool(attrs, x, "mean"),
    "Resize": _resize,
    "Softmax": _softmax,
    "Slice": _slice,
    "Split": _split,
    "Unsqueeze": lambda attrs, x, axes=None: np.expand_dims(x, tuple(_axes(attrs, axes))),
    "Squeeze": lambda attrs, x, axes=None: np.squeeze(x, tuple(_axes(attrs, axes)) or None),
    "Shape": lambda _, x: np.array(x.shape, dtype=np.int64),
    "Gather": lambda attrs, x, i: np.take(x, i, axis=int(attrs.get("axis", 0))),
    "Clip": lambda _, x, lo=None, hi=None: np.clip(x, lo, hi),
}


class NumpyGraph:
    """A graph description (.json) and its weights (.npz), executed with numpy."""

    runtime = "numpy"

    def __init__(self, description: Mapping[str, Any], weights: Mapping[str, Array]) -> None:
        self._nodes = list(description["nodes"])
        unknown = sorted({node["op"] for node in self._nodes} - set(OPS) - {"Constant"})
        if unknown:
            raise ModelFileError(f"operators not supported by the numpy runtime: {unknown}")
        self._values: dict[str, Array] = {
            name: (array.astype(np.float32) if array.dtype == np.float64 else array)
            for name, array in weights.items()
        }
        for node in self._nodes:  # Constant nodes become plain values
            if node["op"] == "Constant":
                self._values[node["outputs"][0]] = self._values[node["attrs"]["value"]["tensor"]]
        self._nodes = [node for node in self._nodes if node["op"] != "Constant"]
        self.input_names = [value["name"] for value in description["inputs"]]
        self.output_names = [value["name"] for value in description["outputs"]]
        self.source_sha256: str = description["source_sha256"]

    def run(self, inputs: Mapping[str, Array]) -> dict[str, Array]:
        """The graph's outputs; intermediate arrays are dropped as soon as they are used."""
        values = dict(self._values)
        for name in self.input_names:
            values[name] = np.ascontiguousarray(inputs[name], dtype=np.float32)
        for node in self._nodes:
            args = [values[name] if name else None for name in node["inputs"]]
            result = OPS[node["op"]](node["attrs"], *args)
            outputs = node["outputs"]
            if isinstance(result, tuple):
                values.update(zip(outputs, result, strict=True))
            else:
                values[outputs[0]] = result
        return {name: np.asarray(values[name]) for name in self.output_names}


class OnnxRuntimeGraph:
    """The original .onnx file in onnxruntime (one thread: the engine process has one frame)."""

    runtime = "onnxruntime"

    def __init__(self, ort: Any, model: bytes) -> None:
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        self._session = ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])
        self.input_names = [i.name for i in self._session.get_inputs()]
        self.output_names = [o.name for o in self._session.get_outputs()]

    def run(self, inputs: Mapping[str, Array]) -> dict[str, Array]:
        """The graph's outputs."""
        feed = {
            name: np.ascontiguousarray(inputs[name], dtype=np.float32) for name in self.input_names
        }
        results = self._session.run(self.output_names, feed)
        return dict(zip(self.output_names, results, strict=True))


def _onnxruntime() -> Any | None:
    if os.environ.get(FORCE_NUMPY_ENV) == "1":
        return None
    try:
        return importlib.import_module("onnxruntime")
    except ImportError:
        return None


def load_numpy_graph(folder: Path, stem: str, root: Path = MODELS_DIR) -> NumpyGraph:
    """The numpy executor for ``root/folder/stem.{json,npz}`` (checked against SHA256SUMS)."""
    description = json.loads(read_checked(root / folder / f"{stem}.json", root))
    with np.load(io.BytesIO(read_checked(root / folder / f"{stem}.npz", root))) as archive:
        weights = {name: archive[name] for name in archive.files}
    return NumpyGraph(description, weights)


def load_graph(folder: str, stem: str, *, runtime: str = "auto", root: Path = MODELS_DIR) -> Graph:
    """One shipped model: onnxruntime on the .onnx file when installed, else numpy.

    ``runtime`` is "auto", "numpy" or "onnxruntime". Raises ModelFileError for a missing or
    changed file, ImportError when "onnxruntime" is asked for and not installed.
    """
    ort = None if runtime == "numpy" else _onnxruntime()
    if runtime == "onnxruntime" and ort is None:
        raise ImportError("onnxruntime is not installed")
    if ort is not None:
        return OnnxRuntimeGraph(ort, read_checked(root / folder / f"{stem}.onnx", root))
    return load_numpy_graph(Path(folder), stem, root)
