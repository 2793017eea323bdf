"""Export a model to ONNX (`to_onnx`): run it once on an example input, then translate the
recorded graph node by node.

The model's parameters and any other leaf constants become initializers, the example inputs
become graph inputs, and every op node becomes one or a few ONNX nodes through `EMITTERS`, the
one table that says which ops export. Four patterns are recognised as wholes (`MATCHERS`),
because serving wants the fused ONNX operator and the primitives have no ONNX twin:

- a convolution (`nn.functional.conv*d`: pad, sliding_windows, transpose, reshape, matmul)
  becomes one ``Conv``;
- max pooling (pad with -inf, sliding_windows, first_max) one ``MaxPool``;
- average pooling's window sums (pad with 0, sliding_windows, sum) one ``AveragePool`` counting
  the padding, times the window size; the division by torch's counts follows as a ``Mul``;
- a transposed convolution's full output (matmul, reshape, transpose, fold_windows) one
  ``ConvTranspose``; its padding (a negative pad: a ``Slice``) and bias follow as their own ops.

Adaptive average pooling is already products with constant averaging matrices; adaptive max
pooling gathers its windows (one ``Gather`` over the flattened spatial axes) and takes first_max
of them (a ``ReduceMax``).

Dynamic batch: the graph inputs get a symbolic first dimension "batch", and a reshape that keeps
its input's first dimension writes 0 there (ONNX's "copy this dimension"). What stays fixed:
any shape an op recorded that does not start with the batch (a reshape that moves the batch to
another position, e.g. ``batch_first=False`` attention), constants that hold the batch size (the
zero initial state of GRU / LSTM / RNN: export those with ``dynamic_batch=False``; their loop is
unrolled, so the sequence length is fixed too), indices baked into an indexing key that are not
a graph input, and integer inputs other than indices into ``[]``/``take``/``index_select``
(e.g. Embedding's input).
"""

from __future__ import annotations

import math
from typing import Any, Callable, Dict, List, Optional, Sequence

import numpy as np

from ..engine import Value, enable_grad
from ..errors import UnsupportedTypeError
from ..files import atomic_open
from ..ops.activations import _SELU_ALPHA, _SELU_SCALE

__all__ = ["to_onnx", "EMITTERS"]


def _onnx() -> Any:
    try:
        import onnx
    except ImportError:
        raise ImportError("to_onnx needs the onnx package: pip install 'tinygrad_nn[onnx]'") from None
    return onnx


class _Graph:
    """The ONNX graph being built: nodes, initializers, and each Value's tensor name."""

    def __init__(self, onnx: Any, opset: int, dtype: np.dtype, index_inputs: Dict[int, str]):
        self.onnx, self.opset, self.dtype = onnx, opset, dtype
        self.nodes: List[Any] = []
        self.initializers: List[Any] = []
        self.names: Dict[int, str] = {}
        self.index_inputs = index_inputs  # id(integer example array) -> its graph input's name
        self.count = 0

    def fresh(self, hint: str) -> str:
        self.count += 1
        return f"{hint}_{self.count}"

    def const(self, array: Any, hint: str = "const") -> str:
        """An initializer holding `array` (floats in the graph's dtype, integers as int64)."""
        a = np.asarray(array)
        if a.dtype != bool:
            a = a.astype(np.int64 if a.dtype.kind in "iu" else self.dtype)
        name = self.fresh(hint)
        self.initializers.append(self.onnx.numpy_helper.from_array(a, name))
        return name

    def node(self, op_type: str, inputs: Sequence[str], **attrs: Any) -> str:
        out = self.fresh(op_type.lower())
        self.nodes.append(self.onnx.helper.make_node(op_type, list(inputs), [out], **attrs))
        return out

    def indices(self, key: Any) -> str:
        """Integer indices: the graph input they came from, or a constant."""
        return self.index_inputs.get(id(key)) or self.const(np.asarray(key, np.int64), "indices")

    def reduce(self, op_type: str, x: str, axes: Sequence[int], keepdims: int = 1) -> str:
        """A Reduce* node; opset 18 moved `axes` from an attribute to an input."""
        if self.opset >= 18 or op_type == "ReduceSum":
            return self.node(op_type, [x, self.const(np.array(axes, np.int64), "axes")],
                             keepdims=keepdims)
        return self.node(op_type, [x], axes=list(axes), keepdims=keepdims)


Emitter = Callable[[_Graph, Value, List[str]], str]


def _binary(op_type: str) -> Emitter:
    return lambda g, v, ins: g.node(op_type, ins)


def _unary(op_type: str, **attrs: Any) -> Emitter:
    return lambda g, v, ins: g.node(op_type, ins, **attrs)


def _axis(v: Value, name: str = "axis") -> int:
    return int((v._kw or {})[name])


def _linear(g: _Graph, v: Value, ins: List[str]) -> str:
    y = g.node("MatMul", [ins[0], g.node("Transpose", [ins[1]], perm=[1, 0])])
    return g.node("Add", [y, ins[2]]) if len(ins) > 2 else y


def _gelu(g: _Graph, v: Value, ins: List[str]) -> str:
    x = ins[0]
    if (v._kw or {}).get("approximate", "none") == "tanh":
        inner = g.node("Mul", [g.node("Add", [x, g.node("Mul", [g.const(0.044715), g.node(
            "Mul", [x, g.node("Mul", [x, x])])])]), g.const(math.sqrt(2 / math.pi))])
        half = g.node("Add", [g.const(1.0), g.node("Tanh", [inner])])
    else:
        half = g.node("Add", [g.const(1.0), g.node("Erf", [g.node("Div", [x, g.const(math.sqrt(2))])])])
    return g.node("Mul", [g.node("Mul", [x, half]), g.const(0.5)])


def _reshape(g: _Graph, v: Value, ins: List[str]) -> str:
    before, after = list(v._prev[0].shape), list(v.shape)
    shape = list((v._kw or {}).get("shape", after))
    shape = [int(s) for s in (shape if len(shape) == len(after) else after)]
    if before and after and before[0] == after[0]:
        shape[0] = 0  # keep the input's first dimension: the batch stays dynamic
    return g.node("Reshape", [ins[0], g.const(np.array(shape, np.int64), "shape")])


def _transpose(g: _Graph, v: Value, ins: List[str]) -> str:
    return g.node("Transpose", ins, perm=list(_perm(v)))


def _swapaxes(g: _Graph, v: Value, ins: List[str]) -> str:
    n = v.ndim
    a, b = _axis(v, "axis1") % n, _axis(v, "axis2") % n
    perm = list(range(n))
    perm[a], perm[b] = perm[b], perm[a]
    return g.node("Transpose", ins, perm=perm)


def _flatten(g: _Graph, v: Value, ins: List[str]) -> str:
    kw = v._kw or {}
    n = v._prev[0].ndim
    start, end = int(kw.get("start_dim", 0)) % max(n, 1), int(kw.get("end_dim", -1)) % max(n, 1)
    if end == n - 1 and start > 0:
        shape = [0] * start + [-1]  # keep the leading dimensions, batch included
    else:
        return _reshape(g, v, ins)
    return g.node("Reshape", [ins[0], g.const(np.array(shape, np.int64), "shape")])


def _standardize(g: _Graph, v: Value, ins: List[str]) -> str:
    kw = v._kw or {}
    n = v.ndim
    axis = kw.get("axis")
    axes = list(range(n)) if axis is None else [int(a) % n for a in np.atleast_1d(axis)]
    centred = g.node("Sub", [ins[0], g.reduce("ReduceMean", ins[0], axes)])
    var = g.reduce("ReduceMean", g.node("Mul", [centred, centred]), axes)
    std = g.node("Sqrt", [g.node("Add", [var, g.const(float(kw.get("eps", 1e-5)))])])
    return g.node("Div", [centred, std])


def _reduction(op_type: str) -> Emitter:
    def emit(g: _Graph, v: Value, ins: List[str]) -> str:
        kw = v._kw or {}
        n = v._prev[0].ndim
        axis = kw.get("axis")
        axes = list(range(n)) if axis is None else [int(a) % n for a in np.atleast_1d(axis)]
        return g.reduce(op_type, ins[0], axes, int(bool(kw.get("keepdims", False))))
    return emit


def _getitem(g: _Graph, v: Value, ins: List[str]) -> str:
    key = (v._kw or {})["key"]
    if isinstance(key, np.ndarray) and key.dtype.kind in "iu":
        return g.node("Gather", [ins[0], g.indices(key)], axis=0)
    items = key if isinstance(key, tuple) else (key,)
    arrays = [k for k in items if isinstance(k, np.ndarray)]
    lead = len(items) - len(arrays)
    if (arrays and len(items) == v._prev[0].ndim
            and all(isinstance(k, slice) and k == slice(None) for k in items[:lead])
            and all(isinstance(k, np.ndarray) and k.dtype.kind in "iu"
                    and id(k) not in g.index_inputs for k in items[lead:])):
        return _gather_trailing(g, v, ins[0], lead, items[lead:])
    if not all(isinstance(k, (slice, int, np.integer)) for k in items):
        raise UnsupportedTypeError(f"to_onnx: indexing with key {key!r} (node {v.label or v._op!r}) "
                                   "does not export; use integer arrays, ints or slices")
    starts, ends, axes, steps, drop = [], [], [], [], []
    for axis, k in enumerate(items):
        if isinstance(k, slice):
            if k == slice(None):
                continue
            step = 1 if k.step is None else int(k.step)
            big = np.iinfo(np.int64).max if step > 0 else np.iinfo(np.int64).min
            starts.append(k.start if k.start is not None else (0 if step > 0 else -1))
            ends.append(k.stop if k.stop is not None else big)
            steps.append(step)
        else:
            i = int(k)
            starts.append(i)
            ends.append(i + 1 if i != -1 else np.iinfo(np.int64).max)
            steps.append(1)
            drop.append(axis)
        axes.append(axis)
    out = ins[0]
    if axes:
        out = g.node("Slice", [out] + [g.const(np.array(a, np.int64), "slice")
                                       for a in (starts, ends, axes, steps)])
    if drop:
        out = g.node("Squeeze", [out, g.const(np.array(drop, np.int64), "axes")])
    return out


def _gather_trailing(g: _Graph, v: Value, x: str, lead: int, arrays: tuple) -> str:
    """x[:, ..., :, I, J, ...]: fixed integer arrays indexing every axis after the first `lead`
    (as adaptive max pooling gathers its windows), as one Gather along those axes flattened."""
    dims = v._prev[0].shape[lead:]
    flat = np.ravel_multi_index(np.broadcast_arrays(*arrays), dims, mode="wrap")
    x = g.node("Reshape", [x, g.const(np.array([0] * lead + [-1], np.int64), "shape")])
    return g.node("Gather", [x, g.const(flat, "indices")], axis=lead)


def _take(g: _Graph, v: Value, ins: List[str]) -> str:
    kw = v._kw or {}
    index = kw["indices"] if v._op == "take" else kw["index"]
    axis = kw.get("axis")
    x = ins[0]
    if axis is None:
        x = g.node("Reshape", [x, g.const(np.array([-1], np.int64), "shape")])
        axis = 0
    if v._op == "index_select" and np.ndim(index) != 1:
        index = np.asarray(index).reshape(-1)
    return g.node("Gather", [x, g.indices(index)], axis=int(axis) % max(v._prev[0].ndim, 1))


def _where(g: _Graph, v: Value, ins: List[str]) -> str:
    return g.node("Where", [g.node("Cast", [ins[0]], to=g.onnx.TensorProto.BOOL), ins[1], ins[2]])


def _comparison(op_type: str, negate: bool = False) -> Emitter:
    """A comparison or mask: ONNX gives booleans, tinygrad_nn 0 and 1 in the inputs' dtype."""
    def emit(g: _Graph, v: Value, ins: List[str]) -> str:
        truth = g.node(op_type, ins)
        if negate:
            truth = g.node("Not", [truth])
        return g.node("Cast", [truth], to=g.onnx.helper.np_dtype_to_tensor_dtype(g.dtype))
    return emit


def _logical_not(g: _Graph, v: Value, ins: List[str]) -> str:
    return _comparison("Equal")(g, v, [ins[0], g.const(0.0)])


def _clip(lo: Optional[float], hi: Optional[float]) -> Emitter:
    """Clip between fixed bounds (None: unbounded, ONNX's empty input)."""
    return lambda g, v, ins: g.node("Clip", [ins[0]] + ["" if b is None else g.const(np.array(b))
                                                       for b in (lo, hi)])


def _clip_kw(lo: str, hi: str) -> Emitter:
    """Clip between the bounds the op recorded under the names `lo` and `hi`."""
    def emit(g: _Graph, v: Value, ins: List[str]) -> str:
        kw = v._kw or {}
        return _clip(kw.get(lo), kw.get(hi))(g, v, ins)
    return emit


def _sigmoid_weighted(k: float) -> Emitter:
    """x sigmoid(k x): silu (k = 1) and quick_gelu (k = 1.702)."""
    def emit(g: _Graph, v: Value, ins: List[str]) -> str:
        scaled = ins[0] if k == 1.0 else g.node("Mul", [ins[0], g.const(k)])
        return g.node("Mul", [ins[0], g.node("Sigmoid", [scaled])])
    return emit


def _hardswish(g: _Graph, v: Value, ins: List[str]) -> str:
    """x · hardsigmoid(x) (ONNX's HardSwish needs opset 14; this works from 13)."""
    return g.node("Mul", [ins[0], g.node("HardSigmoid", ins, alpha=1 / 6, beta=0.5)])


def _mish(g: _Graph, v: Value, ins: List[str]) -> str:
    return g.node("Mul", [ins[0], g.node("Tanh", [g.node("Softplus", ins)])])


def _concatenate(g: _Graph, v: Value, ins: List[str]) -> str:
    axis = (v._kw or {}).get("axis", 0)
    if axis is None:
        raise UnsupportedTypeError(f"to_onnx: op 'concatenate' with axis=None (node "
                                   f"{v.label or v._op!r}) does not export; give an axis")
    return g.node("Concat", ins, axis=int(axis) % v.ndim)


def _stack(g: _Graph, v: Value, ins: List[str]) -> str:
    axis = g.const(np.array([_axis(v) % v.ndim], np.int64), "axes")
    return g.node("Concat", [g.node("Unsqueeze", [x, axis]) for x in ins], axis=_axis(v) % v.ndim)


def _permute(g: _Graph, v: Value, ins: List[str]) -> str:
    dims = (v._kw or {})["dims"]
    return g.node("Transpose", ins, perm=[int(d) % v.ndim for d in np.atleast_1d(dims)])


def _moveaxis(g: _Graph, v: Value, ins: List[str]) -> str:
    """numpy's moveaxis as a Transpose: the moved axes at their destinations, the others in
    order."""
    kw = v._kw or {}
    n = v.ndim
    sources = [int(a) % n for a in np.atleast_1d(kw["source"])]
    destinations = [int(a) % n for a in np.atleast_1d(kw["destination"])]
    perm = [a for a in range(n) if a not in sources]
    for destination, source in sorted(zip(destinations, sources)):
        perm.insert(destination, source)
    return g.node("Transpose", ins, perm=perm)


def _squeeze(op_type: str) -> Emitter:
    def emit(g: _Graph, v: Value, ins: List[str]) -> str:
        axis = (v._kw or {}).get("axis")
        n = v._prev[0].ndim if op_type == "Squeeze" else v.ndim
        if axis is None:  # squeeze: every axis of length one
            axes = [i for i, d in enumerate(v._prev[0].shape) if d == 1]
        else:
            axes = [int(a) % n for a in np.atleast_1d(axis)]
        return g.node(op_type, [ins[0], g.const(np.array(axes, np.int64), "axes")])
    return emit


def _pad(g: _Graph, v: Value, ins: List[str]) -> str:
    """`ops.pad` (modes constant, reflect, edge: ONNX's names too) as ONNX's Pad; negative
    widths, which crop (as conv_transpose's padding does), as a Slice first."""
    kw = v._kw or {}
    n = v._prev[0].ndim
    widths = np.broadcast_to(np.asarray(kw["pad_width"], np.int64), (n, 2))
    mode = kw.get("mode", "constant")
    if mode not in ("constant", "reflect", "edge") or (mode != "constant" and (widths < 0).any()):
        raise UnsupportedTypeError(f"to_onnx: op 'pad' with mode {mode!r} and widths "
                                   f"{widths.tolist()} (node {v.label or v._op!r}) does not export")
    x = ins[0]
    crop = np.minimum(widths, 0)
    if crop.any():
        axes = [a for a in range(n) if crop[a].any()]
        starts = [-int(crop[a, 0]) for a in axes]
        ends = [int(crop[a, 1]) if crop[a, 1] else np.iinfo(np.int64).max for a in axes]
        x = g.node("Slice", [x] + [g.const(np.array(a, np.int64), "slice")
                                   for a in (starts, ends, axes)])
    grow = np.maximum(widths, 0)
    if not grow.any():
        return x
    inputs = [x, g.const(np.concatenate([grow[:, 0], grow[:, 1]]), "pads")]
    if mode == "constant":
        values = np.unique(np.asarray(kw.get("constant_values", 0.0)))
        if values.size != 1:
            raise UnsupportedTypeError(f"to_onnx: op 'pad' with constant_values {values.tolist()} "
                                       f"(node {v.label or v._op!r}) does not export; ONNX pads "
                                       "with one value")
        inputs.append(g.const(values.reshape(())))
    return g.node("Pad", inputs, mode=mode)


# ---- the fused patterns --------------------------------------------------------------------
def _unpad(x: Value, n: int, value: float) -> tuple:
    """x's input before a pad of its last n axes by `value`, and ONNX's pads; x itself if none."""
    if x._op == "pad":
        kw = x._kw or {}
        width = kw["pad_width"]
        if (kw.get("mode", "constant") == "constant" and float(kw.get("constant_values", 0.0)) == value
                and len(width) == n + 2 and all(tuple(p) == (0, 0) for p in width[:2])):
            spatial = [tuple(int(e) for e in p) for p in width[2:]]
            return x._prev[0], [b for b, _ in spatial] + [a for _, a in spatial]
    return x, [0] * (2 * n)


def _conv_match(v: Value) -> Optional[dict]:
    """conv*d's product: weights (G, out/G, C/G·∏k [+1 bias]) @ columns (N, G, C/G·∏k [+1], L),
    the columns being reshaped, transposed sliding windows of the (padded) input."""
    if v._op != "@" or len(v._prev) != 2:
        return None
    w, cols = v._prev
    bias = None
    if cols._op == "concatenate" and w._op == "concatenate":
        if len(cols._prev) != 2 or len(w._prev) != 2 or cols._prev[1]._fn is not None:
            return None
        cols, (w, b) = cols._prev[0], w._prev
        if b._op != "reshape":
            return None
        bias = b._prev[0]
    if cols._op != "reshape" or w._op != "reshape" or w.ndim != 3:
        return None
    t = cols._prev[0]
    if t._op != "transpose" or t._prev[0]._op != "sliding_windows":
        return None
    windows = t._prev[0]
    kw = windows._kw or {}
    kernel = tuple(np.atleast_1d(kw["kernel_size"]))
    n = len(kernel)
    x, pads = _unpad(windows._prev[0], n, 0.0)
    weight = w._prev[0]
    if x.ndim != n + 2 or weight.ndim != n + 2:
        return None
    return {"inputs": (x, weight) + ((bias,) if bias is not None else ()), "pads": pads,
            "groups": int(w.shape[0]), "kernel": kernel,
            "strides": _per_axis(kw.get("stride", 1), n),
            "dilations": _per_axis(kw.get("dilation", 1), n)}


def _pool_match(v: Value) -> Optional[dict]:
    """max_pool*d: first_max over the last n axes of sliding windows of the (-inf padded) input."""
    if v._op != "first_max":
        return None
    return _windows_match(v._prev[0], int((v._kw or {}).get("ndim", 1)), -np.inf)


def _avg_pool_match(v: Value) -> Optional[dict]:
    """avg_pool*d's sums: a sum over the last n axes of sliding windows (no dilation) of the
    (zero padded) input; the division by the window counts follows as a product."""
    if v._op != "sum" or (v._kw or {}).get("keepdims") or v._prev[0]._op != "sliding_windows":
        return None
    windows = v._prev[0]
    axis = (v._kw or {}).get("axis")
    axes = sorted(int(a) % windows.ndim for a in np.atleast_1d(axis if axis is not None else ()))
    n = len(axes)
    m = _windows_match(windows, n, 0.0)
    if (m is None or axes != list(range(windows.ndim - n, windows.ndim))
            or set(m["dilations"]) != {1}):
        return None
    return m


def _windows_match(windows: Value, n: int, pad_value: float) -> Optional[dict]:
    """Pooling's windows: sliding_windows of n-D kernels over the last n axes of a (padded)
    (N, C, *spatial) input, with the input, ONNX pads, kernel, strides and dilations."""
    if windows._op != "sliding_windows":
        return None
    kw = windows._kw or {}
    kernel = tuple(int(k) for k in np.atleast_1d(kw["kernel_size"]))
    if len(kernel) != n:
        return None
    x, pads = _unpad(windows._prev[0], n, pad_value)
    if x.ndim != n + 2:
        return None
    return {"inputs": (x,), "pads": pads, "kernel": kernel,
            "strides": _per_axis(kw.get("stride", 1), n),
            "dilations": _per_axis(kw.get("dilation", 1), n)}


def _conv_transpose_match(v: Value) -> Optional[dict]:
    """conv_transpose*d's full output: fold_windows of the product (G, out/G·∏k, C/G) @ (N, G,
    C/G, L) of the reshaped weight (C, out/G, *k) and input (N, C, *spatial), reshaped to
    (N, out, *k, *spatial) and transposed. (Its cropping pad and bias follow as their own ops.)"""
    if v._op != "fold_windows" or v._prev[0]._op != "transpose":
        return None
    spread = v._prev[0]._prev[0]._prev[0] if v._prev[0]._prev[0]._op == "reshape" else None
    if spread is None or spread._op != "@" or len(spread._prev) != 2:
        return None
    weights, columns = spread._prev
    if weights._op != "transpose" or weights._prev[0]._op != "reshape" or columns._op != "reshape":
        return None
    w, x = weights._prev[0]._prev[0], columns._prev[0]
    kw = v._kw or {}
    kernel = tuple(int(k) for k in np.atleast_1d(kw["kernel_size"]))
    n = len(kernel)
    strides, dilations = _per_axis(kw.get("stride", 1), n), _per_axis(kw.get("dilation", 1), n)
    full = [s * (m - 1) + d * (k - 1) + 1
            for s, m, d, k in zip(strides, x.shape[2:], dilations, kernel)]
    windows_order = (0, 1, *range(2 + n, 2 + 2 * n), *range(2, 2 + n))  # (N, out, *L, *k)
    if (x.ndim != n + 2 or w.ndim != n + 2 or tuple(w.shape[2:]) != kernel
            or list(_per_axis(kw["output_size"], n)) != full
            or _perm(weights) != (0, 2, 1) or _perm(v._prev[0]) != windows_order):
        return None
    return {"inputs": (x, w), "kernel": kernel, "strides": strides, "dilations": dilations,
            "groups": int(spread.shape[1])}


def _perm(t: Value) -> tuple:
    """The axis order a transpose node applied."""
    axes = (t._kw or {}).get("axes")
    return tuple(range(t.ndim))[::-1] if axes is None else tuple(int(a) % t.ndim for a in axes)


def _per_axis(value: Any, n: int) -> List[int]:
    items = list(np.atleast_1d(value))
    return [int(i) for i in (items * n if len(items) == 1 else items)]


MATCHERS: Dict[str, Callable[[Value], Optional[dict]]] = {
    "@": _conv_match, "first_max": _pool_match, "sum": _avg_pool_match,
    "fold_windows": _conv_transpose_match}


def _matmul(g: _Graph, v: Value, ins: List[str]) -> str:
    m = _conv_match(v)
    if m is None:
        return g.node("MatMul", ins)
    y = g.node("Conv", ins, kernel_shape=list(m["kernel"]), strides=m["strides"],
               dilations=m["dilations"], pads=m["pads"], group=m["groups"])
    # back to the product's layout (N, G, out/G, L), which the recorded reshape then undoes
    shape = np.array([0, v.shape[1], v.shape[2], -1], np.int64)
    return g.node("Reshape", [y, g.const(shape, "shape")])


def _first_max(g: _Graph, v: Value, ins: List[str]) -> str:
    """Max pooling, or (first_max of anything else) the max over the last `ndim` axes: the
    "first" only decides where the gradient goes."""
    m = _pool_match(v)
    if m is None:
        n = int((v._kw or {}).get("ndim", 1))
        return g.reduce("ReduceMax", ins[0], list(range(v.ndim, v.ndim + n)), keepdims=0)
    return g.node("MaxPool", ins, kernel_shape=list(m["kernel"]), strides=m["strides"],
                  dilations=m["dilations"], pads=m["pads"])


def _sum(g: _Graph, v: Value, ins: List[str]) -> str:
    """A sum, or average pooling's window sums: AveragePool (counting the padding, so every
    window averages ∏k elements) times ∏k."""
    m = _avg_pool_match(v)
    if m is None:
        return _reduction("ReduceSum")(g, v, ins)
    mean = g.node("AveragePool", ins, kernel_shape=list(m["kernel"]), strides=m["strides"],
                  pads=m["pads"], count_include_pad=1)
    return g.node("Mul", [mean, g.const(float(math.prod(m["kernel"])))])


def _fold_windows(g: _Graph, v: Value, ins: List[str]) -> str:
    m = _conv_transpose_match(v)
    if m is None:
        raise UnsupportedTypeError(f"to_onnx: op 'fold_windows' (node {v.label or v._op!r}, shape "
                                   f"{v.shape}) exports only as a transposed convolution")
    return g.node("ConvTranspose", ins, kernel_shape=list(m["kernel"]), strides=m["strides"],
                  dilations=m["dilations"], group=m["groups"])


EMITTERS: Dict[str, Emitter] = {
    "+": _binary("Add"), "-": _binary("Sub"), "*": _binary("Mul"), "/": _binary("Div"),
    "**": _binary("Pow"), "@": _matmul, "linear": _linear,
    "neg": _unary("Neg"), "exp": _unary("Exp"), "log": _unary("Log"), "sqrt": _unary("Sqrt"),
    "abs": _unary("Abs"), "tanh": _unary("Tanh"), "sigmoid": _unary("Sigmoid"),
    "relu": _unary("Relu"), "erf": _unary("Erf"), "reciprocal": _unary("Reciprocal"),
    "leaky_relu": lambda g, v, ins: g.node("LeakyRelu", ins, alpha=float((v._kw or {}).get("alpha", 0.01))),
    "gelu": _gelu,
    "softmax": lambda g, v, ins: g.node("Softmax", ins, axis=_axis(v)),
    "log_softmax": lambda g, v, ins: g.node("LogSoftmax", ins, axis=_axis(v)),
    "standardize": _standardize,
    "sum": _sum, "mean": _reduction("ReduceMean"), "max": _reduction("ReduceMax"),
    "min": _reduction("ReduceMin"),
    "reshape": _reshape, "flatten": _flatten, "transpose": _transpose, "swapaxes": _swapaxes,
    "permute": _permute, "moveaxis": _moveaxis, "squeeze": _squeeze("Squeeze"),
    "unsqueeze": _squeeze("Unsqueeze"), "concatenate": _concatenate, "stack": _stack, "pad": _pad,
    "[]": _getitem, "take": _take, "index_select": _take, "where": _where,
    "first_max": _first_max, "fold_windows": _fold_windows,
    "<": _comparison("Less"), "<=": _comparison("LessOrEqual"), ">": _comparison("Greater"),
    ">=": _comparison("GreaterOrEqual"), "equal": _comparison("Equal"),
    "not_equal": _comparison("Equal", negate=True), "logical_not": _logical_not,
    "maximum": _binary("Max"), "minimum": _binary("Min"),
    "relu6": _clip(0.0, 6.0), "clip": _clip_kw("lo", "hi"),
    "hardtanh": _clip_kw("min_val", "max_val"),
    "elu": lambda g, v, ins: g.node("Elu", ins, alpha=float((v._kw or {}).get("alpha", 1.0))),
    "celu": lambda g, v, ins: g.node("Celu", ins, alpha=float((v._kw or {}).get("alpha", 1.0))),
    "selu": _unary("Selu", alpha=_SELU_ALPHA, gamma=_SELU_SCALE),
    "softplus": _unary("Softplus"), "softsign": _unary("Softsign"),
    "silu": _sigmoid_weighted(1.0), "quick_gelu": _sigmoid_weighted(1.702),
    "hardsigmoid": _unary("HardSigmoid", alpha=1 / 6, beta=0.5), "hardswish": _hardswish,
    "mish": _mish, "sin": _unary("Sin"), "cos": _unary("Cos"), "sign": _unary("Sign"),
    "floor": _unary("Floor"), "ceil": _unary("Ceil"),
    "square": lambda g, v, ins: g.node("Mul", [ins[0], ins[0]]),
    "rsqrt": lambda g, v, ins: g.node("Reciprocal", [g.node("Sqrt", ins)]),
    "logsigmoid": lambda g, v, ins: g.node("Neg", [g.node("Softplus", [g.node("Neg", ins)])]),
}


def _inputs(v: Value) -> tuple:
    """The Values an op node's ONNX translation reads: a fused pattern's real inputs, else its own."""
    matcher = MATCHERS.get(v._op)
    m = matcher(v) if matcher is not None else None
    return m["inputs"] if m is not None else v._prev


def _order(outputs: Sequence[Value]) -> list:
    """The nodes the outputs need (through fused patterns), inputs before outputs, depth-first
    without recursion (as `tinygrad_nn.viz.topological_order`, over `_inputs`)."""
    order: list = []
    seen: set = set()
    for root in outputs:
        if id(root) in seen:
            continue
        seen.add(id(root))
        stack = [(root, iter(_inputs(root)))]
        while stack:
            node, pending = stack[-1]
            for child in pending:
                if id(child) not in seen:
                    seen.add(id(child))
                    stack.append((child, iter(_inputs(child))))
                    break
            else:
                stack.pop()
                order.append(node)
    return order


def to_onnx(model: Any, example_input: Any, path: Any, opset: int = 17,
            dynamic_batch: bool = True) -> Any:
    """Export `model` (a callable on Values, e.g. a Module in eval mode) to the ONNX file `path`
    and return its ``onnx.ModelProto``, checked by ``onnx.checker``.

    `example_input` is a numpy array or a tuple of them (one per model argument); float arrays
    enter as leaf Values, integer arrays (indices, e.g. for Embedding) as they are. With
    `dynamic_batch` the inputs' first dimension is the symbolic "batch" (see the module
    docstring for what stays fixed). `opset` must be 13 or later. An op without an emitter in `EMITTERS` raises
    UnsupportedTypeError naming it and its node's label.
    """
    onnx = _onnx()
    if opset < 13:
        raise UnsupportedTypeError(f"to_onnx: opset {opset} is too old; the emitters need 13 or later")
    arrays = tuple(example_input) if isinstance(example_input, tuple) else (example_input,)
    arrays = tuple(np.asarray(a) for a in arrays)
    args: List[Any] = []
    graph_inputs, input_ids, index_inputs = [], {}, {}
    for i, a in enumerate(arrays):
        name = f"input_{i}" if len(arrays) > 1 else "input"
        if a.dtype.kind == "f":
            value = Value(a, label=name)  # requires_grad: so that its graph is recorded
            input_ids[id(value)] = name
            args.append(value)
        elif a.dtype.kind in "iu":
            a = a.astype(np.int64)
            index_inputs[id(a)] = name
            args.append(a)
        else:
            raise UnsupportedTypeError(f"to_onnx: input {i} has dtype {a.dtype}; expected floats "
                                       "or integer indices")
        graph_inputs.append((name, a))
    with enable_grad():
        out = model(*args)
    outputs = list(out) if isinstance(out, (tuple, list)) else [out]
    if not all(isinstance(o, Value) for o in outputs):
        raise UnsupportedTypeError("to_onnx: the model must return a Value or a tuple of Values, "
                                   f"got {type(out).__name__}")
    dtype = np.asarray(outputs[0].data).dtype
    g = _Graph(onnx, opset, dtype if dtype.kind == "f" else np.dtype(np.float32), index_inputs)
    g.names.update(input_ids)
    for v in _order(outputs):
        if id(v) in g.names:
            continue
        if v._fn is None:
            g.names[id(v)] = g.const(v.data, (v.label or "const").replace(".", "_"))
            continue
        emit = EMITTERS.get(v._op)
        if emit is None:
            raise UnsupportedTypeError(f"to_onnx: op {v._op!r} (node {v.label or v._op!r}, shape "
                                       f"{v.shape}) has no ONNX emitter; exported ops: "
                                       f"{', '.join(sorted(EMITTERS))}")
        g.names[id(v)] = emit(g, v, [g.names[id(c)] for c in _inputs(v)])
    batch: List[Any] = ["batch"] if dynamic_batch else []

    def info(name: str, a: Any, dims: Sequence[int]) -> Any:
        kind = onnx.helper.np_dtype_to_tensor_dtype(np.dtype(a))
        shape = (batch + list(dims[1:])) if batch and dims else list(dims)
        return onnx.helper.make_tensor_value_info(name, kind, shape)

    outs = []
    for i, o in enumerate(outputs):
        name = f"output_{i}" if len(outputs) > 1 else "output"
        g.nodes.append(onnx.helper.make_node("Identity", [g.names[id(o)]], [name]))
        outs.append(info(name, g.dtype, o.shape))
    graph = onnx.helper.make_graph(
        g.nodes, type(model).__name__, [info(n, a.dtype, a.shape) for n, a in graph_inputs], outs,
        g.initializers)
    proto = onnx.helper.make_model(graph, opset_imports=[onnx.helper.make_opsetid("", opset)],
                                   producer_name="tinygrad_nn")
    onnx.checker.check_model(proto)
    with atomic_open(path, "to_onnx") as f:
        f.write(proto.SerializeToString())
    return proto
