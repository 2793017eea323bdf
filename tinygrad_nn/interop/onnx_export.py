"""Export a model to ONNX (`to_onnx`): run it once on an example input, then translate the
recorded graph node by node.

The model's parameters and any other leaf constants become initializers, the example inputs
become graph inputs, and every op node becomes one or a few ONNX nodes through `EMITTERS`, the
one table that says which ops export. Two patterns are recognised as wholes, because serving
wants the fused ONNX operator and the primitives have no ONNX twin: a convolution
(`nn.functional.conv*d`: pad, sliding_windows, transpose, reshape, matmul) becomes one ``Conv``,
and max pooling (pad with -inf, sliding_windows, first_max) one ``MaxPool``.

Dynamic batch: the graph inputs get a symbolic first dimension "batch", and a reshape that keeps
its input's first dimension writes 0 there (ONNX's "copy this dimension"). What stays fixed:
any shape an op recorded that does not start with the batch (a reshape that moves the batch to
another position, e.g. ``batch_first=False`` attention), indices baked into an indexing key that
are not a graph input, and integer inputs other than indices into ``[]``/``take``/
``index_select`` (e.g. Embedding's input).
"""

from __future__ import annotations

import math
from typing import Any, Callable, Dict, List, Optional, Sequence

import numpy as np

from ..engine import Value, enable_grad
from ..errors import UnsupportedTypeError
from ..files import atomic_open

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
    axes = (v._kw or {}).get("axes")
    n = v.ndim
    perm = list(range(n))[::-1] if axes is None else [int(a) % n for a in axes]
    return g.node("Transpose", ins, perm=perm)


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


# ---- the two fused patterns --------------------------------------------------------------------
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
    if v._op != "first_max" or v._prev[0]._op != "sliding_windows":
        return None
    windows = v._prev[0]
    kw = windows._kw or {}
    kernel = tuple(int(k) for k in np.atleast_1d(kw["kernel_size"]))
    n = len(kernel)
    if int((v._kw or {}).get("ndim", 1)) != n:
        return None
    x, pads = _unpad(windows._prev[0], n, -np.inf)
    if x.ndim != n + 2:
        return None
    return {"inputs": (x,), "pads": pads, "kernel": kernel,
            "strides": _per_axis(kw.get("stride", 1), n),
            "dilations": _per_axis(kw.get("dilation", 1), n)}


def _per_axis(value: Any, n: int) -> List[int]:
    items = list(np.atleast_1d(value))
    return [int(i) for i in (items * n if len(items) == 1 else items)]


MATCHERS: Dict[str, Callable[[Value], Optional[dict]]] = {"@": _conv_match, "first_max": _pool_match}


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
    m = _pool_match(v)
    if m is None:
        raise UnsupportedTypeError(f"to_onnx: op 'first_max' (node {v.label or v._op!r}) exports "
                                   "only as max pooling over sliding windows")
    return g.node("MaxPool", ins, kernel_shape=list(m["kernel"]), strides=m["strides"],
                  dilations=m["dilations"], pads=m["pads"])


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
    "sum": _reduction("ReduceSum"), "mean": _reduction("ReduceMean"), "max": _reduction("ReduceMax"),
    "reshape": _reshape, "flatten": _flatten, "transpose": _transpose, "swapaxes": _swapaxes,
    "[]": _getitem, "take": _take, "index_select": _take, "where": _where,
    "first_max": _first_max,
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
