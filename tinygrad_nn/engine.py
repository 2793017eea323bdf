"""The autodiff engine: the `Value` node, the `Op` that makes nodes, and backpropagation.

A Value holds `data`, a Python float (the scalar path) or a numpy array (the tensor path). A
Value computed by an operation also keeps the `Op` (`_fn`), its inputs in argument order
(`_prev`) and its keyword arguments (`_kw`), and nothing else: no closures, so a graph has no
reference cycles and is freed by reference counting as soon as its output goes away.

Backpropagation visits the graph once, outputs before inputs. At each node it calls the op's
vector-Jacobian product for every input that needs a gradient, sums the result back to that
input's shape (`fit_to`: the one place where broadcasting is undone) and adds it to the input's
running total. It runs in one of two modes, with the same VJPs:

- first order (`backward()`, `grad()`): the VJPs receive raw data (floats, arrays) and return
  raw data, as fast as a hand-written backward pass;
- graph mode (``create_graph=True``): the VJPs receive Values (the output gradient, the node
  itself as `out`, its inputs) and every operation they do records a node, so each gradient is a
  Value with a graph of its own, which can be differentiated again (Hessians, Newton steps).

`backward()` accumulates into `.grad`: leaves across calls (in place), as in PyTorch; every
other node's `.grad` is overwritten with the gradient of the latest call that reached it.
`grad()` returns the gradients and touches no `.grad`.
"""

from __future__ import annotations

from contextlib import nullcontext
from functools import wraps
import gc
import inspect
import itertools
import math
import threading
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator, Optional, Sequence, Union

import numpy as np

from .opinfo import OpInfo
from .errors import (BackwardError, DomainError, InvalidIndexError, ShapeError, TinygradNNError,
                     UnsupportedTypeError)

ndarray = np.ndarray


class _Mode(threading.local):
    """The switches of the thread that runs an op, as in PyTorch: one thread's `no_grad()` (say,
    metrics computed in a background thread) leaves every other thread recording."""

    def __init__(self) -> None:
        self.grad = True       # off inside no_grad(), on again inside enable_grad()
        self.saved: list = []  # the grad switch outside each no_grad()/enable_grad() entered
        self.saved_anomaly: list = []  # the anomaly mode outside each detect_anomaly() entered
        self.anomaly: Any = None  # the innermost detect_anomaly() of this thread, or None
        self.plain = True      # grad on and no anomaly check: the operators' one test


_MODE = _Mode()
# How many threads are not in the plain mode (inside no_grad() or detect_anomaly()): while
# none is, the operators' hot path reads this one global and not the thread-local switches.
_UNPLAIN = 0


def _set_mode(grad: bool, anomaly: Any) -> None:
    """Set this thread's switches (grad mode, anomaly mode), keeping `_UNPLAIN` right."""
    global _UNPLAIN
    mode = _MODE
    mode.grad, mode.anomaly = grad, anomaly
    plain = grad and anomaly is None
    if plain != mode.plain:
        with _EPOCH_LOCK:
            _UNPLAIN += -1 if plain else 1
        mode.plain = plain
_EPOCH = 0  # how many times data has been modified through the API (see Value._stamp)
_EPOCH_LOCK = threading.Lock()
# backward() calls run one at a time: two threads adding into the same leaf's gradient (or
# through a shared part of a graph) would otherwise lose updates
_BACKWARD_LOCK = threading.RLock()


def mark_modified(*values: "Value") -> None:
    """Record that the data of `values` has changed (an optimizer step, a load, an in-place
    write): a backward pass through a graph computed from the old data then raises a
    `BackwardError` rather than mixing old and new numbers. Assigning ``v.data`` calls it."""
    global _EPOCH
    with _EPOCH_LOCK:
        _EPOCH += 1
        for v in values:
            v._stamp = _EPOCH
# == and != of a Value and None (or a string) give Python's answer, not an error
_IDENTITY_FALLBACK = ("equal", "not_equal")
REQUIRED = object()   # the default of an op parameter that must be given (reshape's shape)
# Parameters that hold positions or masks (x[key], gather's index): Values are welcome there and
# need no gradient. A Value that requires one anywhere else (masked_fill's value, an alpha)
# would silently get none, so it is refused.
POSITION_PARAMS = frozenset({"key", "index", "indices"})


def identity_vjp(g: Any, out: Any, *inputs: Any, **kw: Any) -> Any:
    """The VJP of an input that reaches the output unchanged (as in a + b): g itself. backward()
    recognises it and skips the call, since half of a network's nodes are additions."""
    return g


class Op:
    """A primitive operation: its forward on raw data and one VJP per input, in one definition.

    - ``forward(*inputs, **params) -> out``: inputs are numpy arrays (and Python floats, see
      `scalar`); the result is an array, or a float when every input is a float.
    - ``vjps[i](g, out, *inputs, **params) -> grad_i``: given ``g``, the gradient of the final
      result with respect to ``out``, the gradient with respect to input ``i`` (a vector-Jacobian
      product). It may have a broadcast shape: the engine sums it back to input ``i``'s shape. A
      VJP of None, or one that returns None, means the input has no derivative (an index, a
      condition); an op whose VJPs are all None gives a result that needs no gradient (a mask),
      though it stays in the graph so that replays and second derivatives recompute it.
      Write a VJP with operators, array methods that Value shares with numpy (``.sum``,
      ``.reshape``, ``.T``, ...) and ``op.of(...)`` for other ops: it then works on raw data
      (first order) and on Values (``create_graph=True``, where its result is a graph).
    - ``scalar``: how the op treats Python floats. True (the default): `forward` takes them as
      they are; a function: that function computes on floats (``math.exp`` is ~7x faster than
      ``np.exp`` on one number); False: the op is array-only, and floats become 0-d arrays.
    - ``defaults``: the op's parameters (keyword arguments of forward and of every VJP) with
      their defaults, in the order that positional arguments fill them; `REQUIRED` marks one
      that must be given. ``varargs=True`` lets the first parameter gather extra positional
      arguments (``x.reshape(2, 3)`` as well as ``x.reshape((2, 3))``).
    - ``variadic=True``: the op takes one sequence of inputs (like ``concatenate``) and has a
      single VJP, called once as ``vjp(wanted, g, out, inputs, **params)``: the gradients for
      the inputs numbered in `wanted`, as a list in that order (one call for all, so that
      joining n inputs costs n, not n²).
    - ``methods`` and ``operators``: the names under which Value offers the op (``"exp"``,
      ``"__add__"``; an ``"__r...__"`` operator is the reflected form, its operands swapped).
      ``properties``: names of read-only properties that apply it with default parameters.
    - ``info``: what tests need to know about the op (`tinygrad_nn.opinfo.OpInfo`: domains,
      kinks, how to draw operands); `tinygrad_nn.testing.OPS` is derived from it.

    Calling the op on Values (numbers and arrays become constants) returns a Value that joins
    the graph when gradients are on and an input is part of one. Every built-in operation is an
    Op (`tinygrad_nn.ops`); users define new ones the same way.
    """

    __slots__ = ("name", "forward", "scalar", "vjps", "defaults", "varargs", "variadic",
                 "differentiable", "methods", "operators", "properties", "info", "_lean",
                 "_required")

    def __init__(self, name: str, forward: Callable[..., Any], *vjps: Optional[Callable[..., Any]],
                 scalar: Union[bool, Callable[..., Any]] = True, defaults: Optional[dict] = None,
                 varargs: bool = False, variadic: bool = False, methods: Sequence[str] = (),
                 operators: Sequence[str] = (), properties: Sequence[str] = (),
                 info: Any = None):
        if not vjps:
            raise TypeError(f"Op {name!r}: give one VJP per input after the forward function "
                            "(None for an input without a derivative)")
        self.name = name
        self.forward = forward
        self.scalar = forward if scalar is True else scalar  # False: array-only
        self.vjps = vjps
        self.defaults = defaults or None
        self._required = tuple(k for k, v in (defaults or {}).items() if v is REQUIRED)
        self.varargs = varargs
        self.variadic = variadic
        self.differentiable = any(vjp is not None for vjp in vjps)
        self.methods, self.operators, self.properties = tuple(methods), tuple(operators), \
            tuple(properties)
        self.info = info
        # one or two inputs, no parameters: calls take the operators' lean path (see method)
        lean = not self.defaults and not variadic and len(vjps) <= 2
        self._lean = self.method() if lean else None

    # ---- applying the op ------------------------------------------------------------------
    def __call__(self, *args: Any, **kw: Any) -> "Value":
        """Apply the op to Values (or numbers and arrays, taken as constants): a Value."""
        lean = self._lean
        if lean is not None and not kw and len(args) == len(self.vjps) and \
                isinstance(args[0], Value):
            return lean(*args)
        inputs, params = self._parse(args, kw)
        return _apply(self, inputs, params)

    def of(self, *args: Any, **kw: Any) -> Any:
        """Apply the op to data of either kind, as VJPs do: raw data in (floats, arrays) gives raw
        data out, the first-order path; a Value among the inputs gives a Value in the graph.
        (Inside VJPs, pass parameters by keyword: that is the quick way in.)"""
        if len(args) == len(self.vjps) and not self.variadic:
            for a in args:
                if type(a) is not float and type(a) is not ndarray:
                    break
            else:  # raw data, in a first-order backward pass: straight to the forward
                defaults = self.defaults
                return self.run(args, {**defaults, **kw} if defaults else kw or None)
        inputs, params = self._parse(args, kw)
        if any([isinstance(a, Value) for a in inputs]):
            return _apply(self, inputs, params)
        return self.run([as_data(a, self.name) for a in inputs], params)

    def run(self, datas: Sequence[Any], params: Optional[dict]) -> Any:
        """The forward on raw data: floats go to the scalar implementation (or become 0-d arrays
        for an array-only op), errors name the op and its inputs, and floats in give a float out,
        arrays an ndarray."""
        scalar = self.scalar
        if scalar is self.forward:  # +, -, *: one function takes floats and arrays alike
            fn = scalar
        elif not scalar:
            datas = [np.asarray(d) if type(d) is float else d for d in datas]
            fn = self.forward
        else:
            fn = scalar  # floats only: the scalar implementation (a loop: no list, no all())
            for d in datas:
                if type(d) is not float:
                    fn = self.forward
                    break
        try:
            out = fn(*datas, **params) if params else fn(*datas)
        except Exception as e:
            raise _explain(self.name, list(datas), e) from None
        if type(out) is not float and type(out) is not ndarray:
            out = _normalize(out, datas)
        return out

    def _parse(self, args: tuple, kw: dict) -> tuple:
        """Split a call into the op's inputs and its parameters (positional ones fill the
        parameters in order), every parameter present."""
        defaults = self.defaults
        if len(args) == len(self.vjps) and not self.variadic:  # the usual call: keywords only
            if defaults is None and not kw:
                return args, None
            if defaults is not None:
                params = {**defaults, **kw}
                if len(params) == len(defaults) and all(
                        [params[name] is not REQUIRED for name in self._required]):
                    return args, params
        if kw and defaults:
            kw = torch_names(kw, defaults, self.name)
        if self.variadic:
            if not args:
                raise TypeError(f"{self.name}: expects a sequence of inputs")
            inputs, extra = tuple(args[0]), args[1:]
        else:
            n = len(self.vjps)
            if len(args) < n:
                raise TypeError(f"{self.name}: takes {n} input(s), got {len(args)}")
            inputs, extra = args[:n], args[n:]
        if not defaults:
            if extra or kw:
                raise TypeError(f"{self.name}: takes {len(inputs)} input(s) and no parameters; "
                                f"got {len(extra)} more argument(s) and {sorted(kw)}")
            return inputs, None
        if not extra:
            params = {**defaults, **kw}
        else:
            names = list(defaults)
            if self.varargs:
                gathered = extra[0] if len(extra) == 1 and \
                    not isinstance(extra[0], (int, np.integer)) else extra
                extra = (tuple(gathered) if isinstance(gathered, list) else gathered,)
            if len(extra) > len(names):
                raise TypeError(f"{self.name}: takes parameters {names}; got {len(extra)} "
                                "positional arguments after the inputs")
            positional = dict(zip(names, extra))
            if not kw.keys().isdisjoint(positional):
                raise TypeError(f"{self.name}: got two values for parameter(s) "
                                f"{sorted(kw.keys() & positional.keys())}")
            params = {**defaults, **positional, **kw}
        if len(params) != len(defaults):
            unknown = sorted(params.keys() - defaults.keys())
            raise TypeError(f"{self.name}: unexpected parameter(s) {unknown} (it takes "
                            f"{list(defaults)})")
        for name in self._required:
            if params[name] is REQUIRED:
                raise TypeError(f"{self.name}: missing parameter {name!r}")
        return inputs, params

    # ---- as a Value method ----------------------------------------------------------------
    def method(self, reflected: bool = False) -> Callable[..., "Value"]:
        """This op as a Value method: ``x.exp()`` for one input, ``x + y`` (or, reflected,
        ``y + x``) for two, ``x.sum(1)`` with parameters (their defaults kept). One- and
        two-input ops without parameters get a lean version: operators are the engine's hot
        path."""
        op, name = self, self.name
        if self.defaults or self.variadic or len(self.vjps) > 2:
            def general(x: Value, *args: Any, **kw: Any) -> Value:
                inputs, params = op._parse((x, *args), kw)
                return _apply(op, inputs, params)
            general.__name__ = general.__qualname__ = name
            return general
        forward, scalar = self.forward, self.scalar
        if len(self.vjps) == 1:
            differentiable = self.differentiable

            def unary(x: Value) -> Value:
                d = x._data
                try:
                    if type(d) is float:
                        out = scalar(d) if scalar else forward(np.asarray(d))
                    else:
                        out = forward(d)
                except Exception as e:
                    raise _explain(name, [d], e) from None
                if type(out) is not float and type(out) is not ndarray:
                    out = _normalize(out, [d])
                if _UNPLAIN and not _MODE.plain:
                    return _moded(out, op, (x,), None)
                if x.requires_grad:
                    return _node(out, op, x, None, None, differentiable, True, ())
                return _node(out, op, x, None, None, False, x._stamp >= 0, ())
            unary.__name__ = unary.__qualname__ = name
            return unary

        differentiable, both = self.differentiable, scalar is forward

        def binary(x: Value, other: Any) -> Any:
            if not isinstance(other, Value):
                if type(other) is float or type(other) is int:
                    other = _number(other)
                elif name in _IDENTITY_FALLBACK and (other is None or isinstance(other, str)):
                    return NotImplemented  # x == None is False, as for any Python object
                else:
                    other = constant(other, name)
            a, b = (other, x) if reflected else (x, other)
            da, db = a._data, b._data
            try:
                if both:  # +, -, *: operator.add & co. take floats and arrays alike
                    out = forward(da, db)
                elif not scalar:  # array-only: floats become 0-d arrays
                    out = forward(np.asarray(da) if type(da) is float else da,
                                  np.asarray(db) if type(db) is float else db)
                elif type(da) is float and type(db) is float:
                    out = scalar(da, db)
                else:
                    out = forward(da, db)
            except Exception as e:
                raise _explain(name, [da, db], e) from None
            if type(out) is not float and type(out) is not ndarray:
                out = _normalize(out, [da, db])
            if _UNPLAIN and not _MODE.plain:
                return _moded(out, op, (a, b), None)
            if a.requires_grad or b.requires_grad:
                return _node(out, op, a, b, None, differentiable, True, ())
            return _node(out, op, a, b, None, False, a._stamp >= 0 or b._stamp >= 0, ())
        binary.__name__ = binary.__qualname__ = name
        return binary

    def __repr__(self) -> str:
        return f"Op({self.name!r})"


TORCH_NAMES = {"dim": "axis", "dims": "axis", "keepdim": "keepdims", "shifts": "shift"}  # torch -> numpy


def torch_names(kw: dict, params: Any, op: str) -> dict:
    """`kw` with PyTorch's parameter names (``dim``, ``keepdim``) renamed to numpy's, for an op
    whose `params` have numpy's names (``axis``, ``keepdims``)."""
    if not any([name in kw for name in TORCH_NAMES]):
        return kw
    renamed = {}
    for name, value in kw.items():
        numpy_name = TORCH_NAMES.get(name)
        if numpy_name is None or name in params or numpy_name not in params:
            renamed[name] = value
        elif numpy_name in kw:
            raise TypeError(f"{op}: got both {name!r} and {numpy_name!r}; they are the same "
                            "parameter")
        else:
            renamed[numpy_name] = value
    return renamed


def _apply(op: Op, inputs: tuple, params: Optional[dict]) -> "Value":
    """`op` on its inputs (numbers and arrays among them become constants): the forward on
    their data, then the node (see `_node`)."""
    inputs = tuple([a if isinstance(a, Value) else constant(a, op.name) for a in inputs])
    if params:
        for name, value in params.items():
            if type(value) is Value and value.requires_grad and name not in POSITION_PARAMS:
                raise UnsupportedTypeError(
                    f"{op.name}: its parameter {name!r} is a Value that requires a gradient, "
                    "but no gradient flows into an op's parameters; pass a number (or "
                    "value.detach()), or compute with ops on Values (where(mask, value, x) for "
                    "masked_fill)")
    out = op.run([v._data for v in inputs], params)
    if _UNPLAIN and not _MODE.plain:
        return _moded(out, op, inputs, params)
    return _record(out, op, inputs, params)


def _record(out: Any, op: Op, inputs: tuple, params: Optional[dict]) -> "Value":
    """The node for `out`, the result of `op` on `inputs`, with gradients on. It keeps its
    history if an input belongs to a graph (see `Value._stamp`), and needs a gradient if an
    input needs one and the op has a derivative."""
    rg = recorded = False
    for v in inputs:
        if v.requires_grad:
            rg = recorded = True
            break
        if v._stamp >= 0:
            recorded = True
    return _node(out, op, inputs[0], inputs[1] if len(inputs) > 1 else None, params,
                 rg and op.differentiable, recorded, inputs[2:])


def _moded(out: Any, op: Op, inputs: tuple, params: Optional[dict]) -> "Value":
    """The node for an op run outside the plain mode: under no_grad() (a constant, without
    history) or under detect_anomaly() (the result checked, the user's line remembered)."""
    mode = _MODE
    anomaly = mode.anomaly
    if anomaly is not None:
        anomaly.check_forward(op, out, inputs)
    if not mode.grad:
        return _node(out, op, inputs[0], None, None, False, False)
    node = _record(out, op, inputs, params)
    if anomaly is not None and node._fn is not None:
        anomaly.remember(node)
    return node


Operand = Union["Value", float, int, np.ndarray]  # what operators accept beside a Value


class Value:
    """A node of the computation graph: a float or numpy array, its gradient and its history.

    ``Value(data)`` makes a leaf: a number becomes a Python float (the fast scalar path); an
    array-like becomes a float64 numpy array (float32 is kept; the data is copied). Leaves
    require a gradient unless ``requires_grad=False``; their ``grad`` starts at zero and
    accumulates over calls to ``backward()``.

    Its operators and methods are the ops of `tinygrad_nn.ops`, attached from their definitions;
    the declarations below (generated from the same definitions, checked by a test) tell type
    checkers and IDEs about them.
    """

    # The inputs live in three slots (first, second, the rest as a tuple) rather than in one
    # tuple: a tuple per node is a second object for Python's garbage collector to traverse,
    # and on micrograd's training step that doubled the time spent in the collector.
    __slots__ = ("_data", "grad", "requires_grad", "label", "name", "_a", "_b", "_rest", "_fn", "_kw",
                 "_stamp", "_hooks")
    _data: Any              # a Python float or a float32/float64 numpy array (see `data`)
    grad: Any               # the same kind as data (a Value after backward(create_graph=True))
    requires_grad: bool
    label: str
    name: str               # a parameter's dotted name in its Module ('' elsewhere), for draw_dot
    _a: Any                 # the op's first input (None for a leaf), then the second,
    _b: Any
    _rest: tuple            # and the rest
    _fn: Any                # the Op that made this Value (None for a leaf)
    _kw: Optional[dict]     # its parameters
    # The version stamp: the modification count (`_EPOCH`) when this node was computed, or when
    # this leaf's data was last set through the API; -1 for a constant outside any graph (a
    # number or array mixed into an expression, a result computed under no_grad()). An op whose
    # input is stamped later than the op's own node used data that has changed since: backward
    # refuses it. Ops on Values stamped >= 0 record their history.
    _stamp: int
    _hooks: Optional[dict]  # gradient hooks (register_hook) by key, or None
    __array_ufunc__ = None  # numpy defers to Value's reflected operators: array * Value works
    __hash__ = object.__hash__  # by identity, as == compares elementwise (sets and dicts of nodes)

    def __init__(self, data: Any, *, label: str = "", requires_grad: bool = True,
                 dtype: Any = None):
        self._data = as_data(data, "Value", dtype=dtype, copy=True)
        self.grad = _zeros_like(self._data)
        self.requires_grad = bool(requires_grad)
        self.label = label
        self.name = ""
        self._a = self._b = None
        self._rest = ()
        self._fn = None
        self._kw = None
        self._stamp = _EPOCH
        self._hooks = None

    @property
    def data(self) -> Any:
        """The value: a Python float, or a float32/float64 numpy array.

        Assigning it (``p.data = new``, and ``p.data -= lr * p.grad``, which assigns too) marks
        the Value as modified, as optimizer steps and `load_state_dict` do: a backward pass
        through a graph that used the old data then raises instead of silently mixing old and
        new values. Writing into the array (``p.data[...] = 0``) is numpy's business and is not
        seen; call `mark_modified(p)` after such a write if a graph may still use ``p``.
        What is assigned is converted as `Value` converts (numbers to floats, integer arrays to
        float64; a float32 or float64 array is kept as it is, not copied); anything else, such
        as a string or None, is refused with an `UnsupportedTypeError`."""
        return self._data

    @data.setter
    def data(self, value: Any) -> None:
        if self._fn is not None:
            raise UnsupportedTypeError(
                f"Value.data: this Value was computed by {self._fn.name}, and its gradient is "
                "worked out from its data; assigning it would make that silently wrong. Assign "
                "the data of a leaf (Value(...)), or of x.detach()")
        self._data = as_data(value, "Value.data")  # a float or a float array, as any Value holds
        mark_modified(self)

    # ---- what it holds --------------------------------------------------------------------
    @property
    def _prev(self) -> tuple:
        """The inputs of the op that made this Value, in argument order (() for a leaf)."""
        a, b = self._a, self._b
        if a is None:
            return ()
        return (a,) if b is None else (a, b) + self._rest

    @property
    def _op(self) -> str:
        """Name of the operation that produced this Value ('' for a leaf), as in micrograd."""
        return self._fn.name if self._fn is not None else ""

    @property
    def shape(self) -> tuple:
        return () if type(self._data) is float else self._data.shape

    @property
    def dtype(self) -> np.dtype:
        return np.dtype(np.float64) if type(self._data) is float else self._data.dtype

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def size(self) -> int:
        return 1 if type(self._data) is float else self._data.size

    def __len__(self) -> int:
        if type(self._data) is float or self._data.ndim == 0:
            raise TypeError("len() of a scalar Value")
        return len(self._data)

    def __bool__(self) -> bool:
        """The truth of a one-element Value (as numpy: ambiguous for more elements)."""
        if self.size != 1:
            raise ValueError(f"the truth value of a Value of shape {self.shape} is ambiguous; "
                             "use .data.any() or .data.all()")
        return bool(self.item())

    def item(self) -> float:
        """The value as a Python float (the Value must hold exactly one element)."""
        if type(self._data) is float:
            return self._data
        if self._data.size != 1:
            raise ShapeError(f"item: needs a Value with one element, got shape {self._data.shape}")
        return float(self._data.reshape(()))

    __float__ = item

    def numpy(self) -> np.ndarray:
        """The data as a numpy array (a 0-d array for a scalar; not a copy for arrays)."""
        return np.asarray(self._data)

    def detach(self) -> "Value":
        """A constant holding this Value's data, cut off from the graph: shared for a computed
        Value, copied for a leaf, whose data an optimizer step changes in place (a graph built
        on a shared copy would back-propagate with the new weights)."""
        d = self._data
        return _leaf(d if self._fn is not None or type(d) is float else d.copy(), False)

    def __pos__(self) -> "Value":
        return self

    # ---- pictures (tinygrad_nn.viz, imported when first asked for) --------------------------
    def to_svg(self, path: Any, **draw_options: Any) -> Any:
        """Draw the graph behind this Value to an SVG file (see `tinygrad_nn.viz.save_svg`)."""
        from .viz import save_svg
        return save_svg(self, path, **draw_options)

    def _repr_svg_(self) -> Optional[str]:
        """The graph as SVG, for Jupyter; None (the plain repr) without Graphviz."""
        from .viz import repr_svg
        return repr_svg(self)

    # ---- backpropagation ------------------------------------------------------------------
    def backward(self, grad: Any = None, *, create_graph: bool = False) -> None:
        """Compute the gradient of this Value with respect to every node it depends on.

        For a one-element output the seed gradient is 1; any other output needs ``grad``, the
        gradient of some scalar with respect to this Value (same shape). Leaves add to their
        ``.grad`` (in place, as PyTorch does); intermediate nodes get the gradient of this call.
        With ``create_graph=True`` every ``.grad`` it sets is a Value with a graph of its own,
        to differentiate again (a Hessian-vector product: ``(x.grad * v).sum().backward()``).
        """
        if not self.requires_grad:
            raise BackwardError("backward: this Value does not require a gradient (it is a "
                                "constant, or was computed under no_grad() or from constants)")
        if not create_graph:
            _backpropagate(self, None, grad)
            return
        seed = grad if isinstance(grad, Value) else constant(_seed(self._data, grad))
        with _BACKWARD_LOCK:
            for v, g in _backprop([self], [seed], None, True).values():
                old = v.grad
                if v._fn is not None or old is None or (not isinstance(old, Value)
                                                        and not np.any(old)):
                    v.grad = g
                else:
                    v.grad = old + g

    def register_hook(self, hook: Callable[[Any], Any]) -> "RemovableHandle":
        """Call ``hook(grad)`` whenever a gradient with respect to this Value is computed (by
        backward(), grad() or a Tape), as PyTorch's ``Tensor.register_hook``: for a leaf, with
        the total of each call, before it is added to ``.grad``. The hook may return a
        replacement of the same shape (None keeps the gradient). It receives raw data (a float
        or an array) in first-order passes and a Value under ``create_graph=True``. Returns a
        handle whose ``remove()`` takes the hook off."""
        if not callable(hook):
            raise UnsupportedTypeError(f"register_hook: expected a callable, got "
                                       f"{type(hook).__name__}")
        if not self.requires_grad:
            raise BackwardError("register_hook: this Value does not require a gradient, so no "
                                "gradient will ever reach a hook on it")
        if self._hooks is None:
            self._hooks = {}
        key = next(HOOK_KEYS)
        self._hooks[key] = hook
        return RemovableHandle(self._hooks, key)

    def retain_grad(self) -> None:
        """Keep this Value's gradient in ``.grad``, as PyTorch's ``retain_grad``. backward()
        keeps every node's gradient already (so that draw_dot can show them); this is here so
        that code written for PyTorch runs unchanged."""
        if not self.requires_grad:
            raise BackwardError("retain_grad: this Value does not require a gradient")

    def __repr__(self) -> str:
        label = f", label={self.label!r}" if self.label else ""
        grad = self.grad._data if isinstance(self.grad, Value) else self.grad
        if type(self._data) is float:
            return f"Value(data={self._data}, grad={grad}{label})"
        op = f", op={self._op!r}" if self._fn is not None else ""
        return (f"Value(shape={self._data.shape}, dtype={self._data.dtype}{op}{label}, "
                f"data={_summary(self._data)}, grad={_summary(grad)})")

    if TYPE_CHECKING:  # the ops as Value's operators and methods, attached by tinygrad_nn.ops
        # ---- generated by `python -m tinygrad_nn.ops` from the op definitions; do not edit ----
        def __lt__(self, other: Operand) -> Value: ...  # type: ignore[misc]
        def __le__(self, other: Operand) -> Value: ...  # type: ignore[misc]
        def __gt__(self, other: Operand) -> Value: ...  # type: ignore[misc]
        def __ge__(self, other: Operand) -> Value: ...  # type: ignore[misc]
        def __eq__(self, other: Operand) -> Value: ...  # type: ignore[override]
        def __ne__(self, other: Operand) -> Value: ...  # type: ignore[override]
        def logical_and(self, other: Operand) -> Value: ...
        def __and__(self, other: Operand) -> Value: ...
        def __rand__(self, other: Operand) -> Value: ...
        def logical_or(self, other: Operand) -> Value: ...
        def __or__(self, other: Operand) -> Value: ...
        def __ror__(self, other: Operand) -> Value: ...
        def logical_xor(self, other: Operand) -> Value: ...
        def __xor__(self, other: Operand) -> Value: ...
        def __rxor__(self, other: Operand) -> Value: ...
        def logical_not(self) -> Value: ...
        def __invert__(self) -> Value: ...
        def sign(self) -> Value: ...
        def __add__(self, other: Operand) -> Value: ...
        def __radd__(self, other: Operand) -> Value: ...
        def __sub__(self, other: Operand) -> Value: ...
        def __rsub__(self, other: Operand) -> Value: ...
        def __mul__(self, other: Operand) -> Value: ...
        def __rmul__(self, other: Operand) -> Value: ...
        def __truediv__(self, other: Operand) -> Value: ...
        def __rtruediv__(self, other: Operand) -> Value: ...
        def __neg__(self) -> Value: ...
        def __pow__(self, other: Operand) -> Value: ...
        def __rpow__(self, other: Operand) -> Value: ...
        def exp(self) -> Value: ...
        def log(self) -> Value: ...
        def sqrt(self) -> Value: ...
        def abs(self) -> Value: ...
        def __abs__(self) -> Value: ...
        def tanh(self) -> Value: ...
        def sin(self) -> Value: ...
        def cos(self) -> Value: ...
        def tan(self) -> Value: ...
        def arcsin(self) -> Value: ...
        def asin(self) -> Value: ...
        def arccos(self) -> Value: ...
        def acos(self) -> Value: ...
        def arctan(self) -> Value: ...
        def atan(self) -> Value: ...
        def arctan2(self, other: Operand) -> Value: ...
        def atan2(self, other: Operand) -> Value: ...
        def hypot(self, other: Operand) -> Value: ...
        def deg2rad(self) -> Value: ...
        def rad2deg(self) -> Value: ...
        def sinh(self) -> Value: ...
        def cosh(self) -> Value: ...
        def arcsinh(self) -> Value: ...
        def asinh(self) -> Value: ...
        def arccosh(self) -> Value: ...
        def acosh(self) -> Value: ...
        def arctanh(self) -> Value: ...
        def atanh(self) -> Value: ...
        def log1p(self) -> Value: ...
        def expm1(self) -> Value: ...
        def exp2(self) -> Value: ...
        def log2(self) -> Value: ...
        def log10(self) -> Value: ...
        def logaddexp(self, other: Operand) -> Value: ...
        def logaddexp2(self, other: Operand) -> Value: ...
        def square(self) -> Value: ...
        def reciprocal(self) -> Value: ...
        def rsqrt(self) -> Value: ...
        def mod(self, other: Operand) -> Value: ...
        def remainder(self, other: Operand) -> Value: ...
        def __mod__(self, other: Operand) -> Value: ...
        def __rmod__(self, other: Operand) -> Value: ...
        def fmod(self, other: Operand) -> Value: ...
        def floor(self) -> Value: ...
        def ceil(self) -> Value: ...
        def trunc(self) -> Value: ...
        def fix(self) -> Value: ...
        def round(self, decimals: Any = 0) -> Value: ...
        def nan_to_num(self, nan: Any = 0.0, posinf: Any = None, neginf: Any = None) -> Value: ...
        @property
        def real(self) -> Value: ...
        @property
        def imag(self) -> Value: ...
        def conj(self) -> Value: ...
        def conjugate(self) -> Value: ...
        def relu(self) -> Value: ...
        def sigmoid(self) -> Value: ...
        def softplus(self) -> Value: ...
        def leaky_relu(self, alpha: Any = 0.01) -> Value: ...
        def clip(self, lo: Any = None, hi: Any = None) -> Value: ...
        def maximum(self, other: Operand) -> Value: ...
        def minimum(self, other: Operand) -> Value: ...
        def fmax(self, other: Operand) -> Value: ...
        def fmin(self, other: Operand) -> Value: ...
        def erf(self) -> Value: ...
        def erfc(self) -> Value: ...
        def gelu(self, approximate: Any = 'none') -> Value: ...
        def silu(self) -> Value: ...
        def swish(self) -> Value: ...
        def quick_gelu(self) -> Value: ...
        def mish(self) -> Value: ...
        def softsign(self) -> Value: ...
        def logsigmoid(self) -> Value: ...
        def elu(self, alpha: Any = 1.0) -> Value: ...
        def celu(self, alpha: Any = 1.0) -> Value: ...
        def selu(self) -> Value: ...
        def hardtanh(self, min_val: Any = -1.0, max_val: Any = 1.0) -> Value: ...
        def relu6(self) -> Value: ...
        def hardsigmoid(self) -> Value: ...
        def hardswish(self) -> Value: ...
        def log_softmax(self, axis: Any = -1) -> Value: ...
        def softmax(self, axis: Any = -1) -> Value: ...
        def sum(self, axis: Any = None, keepdims: Any = False) -> Value: ...
        def mean(self, axis: Any = None, keepdims: Any = False) -> Value: ...
        def max(self, axis: Any = None, keepdims: Any = False) -> Value: ...
        def amax(self, axis: Any = None, keepdims: Any = False) -> Value: ...
        def logsumexp(self, axis: Any = -1, keepdims: Any = False) -> Value: ...
        def min(self, axis: Any = None, keepdims: Any = False) -> Value: ...
        def amin(self, axis: Any = None, keepdims: Any = False) -> Value: ...
        def prod(self, axis: Any = None, keepdims: Any = False) -> Value: ...
        def cumsum(self, axis: Any = None) -> Value: ...
        def cumprod(self, axis: Any = None) -> Value: ...
        def var(self, axis: Any = None, keepdims: Any = False, ddof: Any = 0, correction: Any = None) -> Value: ...
        def std(self, axis: Any = None, keepdims: Any = False, ddof: Any = 0, correction: Any = None) -> Value: ...
        def standardize(self, axis: Any = None, eps: Any = 1e-05) -> Value: ...
        def norm(self, ord: Any = None, axis: Any = None, keepdims: Any = False) -> Value: ...
        def any(self, axis: Any = None, keepdims: Any = False) -> Value: ...
        def all(self, axis: Any = None, keepdims: Any = False) -> Value: ...
        def argmax(self, axis: Any = None, keepdims: Any = False) -> Any: ...
        def argmin(self, axis: Any = None, keepdims: Any = False) -> Any: ...
        def reshape(self, *shape: Any) -> Value: ...
        def view(self, *shape: Any) -> Value: ...
        def transpose(self, *axes: Any) -> Value: ...
        @property
        def T(self) -> Value: ...
        def squeeze(self, axis: Any = None) -> Value: ...
        def unsqueeze(self, axis: Any = ...) -> Value: ...
        def expand_dims(self, axis: Any = ...) -> Value: ...
        def flatten(self, start_dim: Any = 0, end_dim: Any = -1) -> Value: ...
        def ravel(self) -> Value: ...
        def unflatten(self, axis: Any, sizes: Any) -> Value: ...
        def broadcast_to(self, shape: Any = ...) -> Value: ...
        def expand(self, *sizes: Any) -> Value: ...
        def swapaxes(self, axis1: Any = ..., axis2: Any = ...) -> Value: ...
        def swapdims(self, axis1: Any = ..., axis2: Any = ...) -> Value: ...
        def moveaxis(self, source: Any = ..., destination: Any = ...) -> Value: ...
        def movedim(self, source: Any = ..., destination: Any = ...) -> Value: ...
        def permute(self, *dims: Any) -> Value: ...
        def flip(self, *axis: Any) -> Value: ...
        def fliplr(self) -> Value: ...
        def flipud(self) -> Value: ...
        def rot90(self, k: Any = 1, axes: Any = (0, 1)) -> Value: ...
        def roll(self, shift: Any = ..., axis: Any = None) -> Value: ...
        def pad(self, pad_width: Any = ..., mode: Any = 'constant', constant_values: Any = 0.0) -> Value: ...
        def repeat(self, repeats: Any = ..., axis: Any = None) -> Value: ...
        def repeat_interleave(self, repeats: Any = ..., axis: Any = None) -> Value: ...
        def tile(self, *reps: Any) -> Value: ...
        def __getitem__(self, key: Any) -> Value: ...
        def split(self, indices_or_sections: Any, axis: Any = 0) -> list[Value]: ...
        def array_split(self, indices_or_sections: Any, axis: Any = 0) -> list[Value]: ...
        def tensor_split(self, indices_or_sections: Any, axis: Any = 0) -> list[Value]: ...
        def chunk(self, chunks: Any, axis: Any = 0) -> tuple[Value, ...]: ...
        def unbind(self, axis: Any = 0) -> tuple[Value, ...]: ...
        def diff(self, n: Any = 1, axis: Any = -1) -> Value: ...
        def sort(self, axis: Any = -1, descending: Any = False) -> Value: ...
        def argsort(self, axis: Any = -1, descending: Any = False) -> Value: ...
        def tril(self, k: Any = 0) -> Value: ...
        def triu(self, k: Any = 0) -> Value: ...
        def diag(self, k: Any = 0) -> Value: ...
        def diagonal(self, offset: Any = 0, axis1: Any = 0, axis2: Any = 1) -> Value: ...
        def trace(self, offset: Any = 0, axis1: Any = 0, axis2: Any = 1) -> Value: ...
        def take_along_axis(self, indices: Any = ..., axis: Any = -1) -> Value: ...
        def take_along_dim(self, indices: Any = ..., axis: Any = -1) -> Value: ...
        def gather(self, axis: Any = ..., index: Any = ...) -> Value: ...
        def take(self, indices: Any = ..., axis: Any = None) -> Value: ...
        def index_select(self, axis: Any = ..., index: Any = ...) -> Value: ...
        def masked_fill(self, mask: Any, value: Any) -> Value: ...
        def index_add(self, axis: Any, index: Any, source: Any, alpha: Any = 1.0) -> Value: ...
        def scatter_add(self, axis: Any, index: Any, src: Any) -> Value: ...
        def __matmul__(self, other: Operand) -> Value: ...
        def __rmatmul__(self, other: Operand) -> Value: ...
        def dot(self, other: Any) -> Value: ...
        def vdot(self, other: Any) -> Value: ...
        def inner(self, other: Any) -> Value: ...
        def outer(self, other: Any) -> Value: ...
        def kron(self, other: Any) -> Value: ...
        def cross(self, other: Any, axis: Any = -1) -> Value: ...
        def mm(self, other: Any) -> Value: ...
        def first_max(self, ndim: Any = 1) -> Value: ...
        # ---- end of the generated declarations ----
        pass


_new = object.__new__


def _node(out: Any, op: Op, a: Value, b: Optional[Value], kw: Optional[dict], requires_grad: bool,
          recorded: bool, rest: tuple = ()) -> Value:
    """The Value an op returns, from inputs a, b (None for a one-input op) and the rest. It keeps
    its history if `recorded` (an input is part of a graph), and needs a gradient if
    `requires_grad` (an input needs one and the op has a derivative: a mask has none)."""
    node = _new(Value)
    node._data = out
    node.grad = 0.0 if type(out) is float else None
    node.label = node.name = ""
    node.requires_grad = requires_grad
    node._hooks = None
    if recorded:
        node._a = a
        node._b = b
        node._rest = rest
        node._fn = op
        node._kw = kw or None
        node._stamp = _EPOCH
    else:
        node._a = node._b = None
        node._rest = ()
        node._fn = None
        node._kw = None
        node._stamp = -1
    return node


def _normalize(out: Any, datas: Sequence[Any]) -> Any:
    """Keep the two paths apart: floats in give a float out, arrays in give an ndarray out."""
    return float(out) if all(type(d) is float for d in datas) else np.asarray(out)


def _leaf(data: Any, requires_grad: bool) -> Value:
    """A leaf holding `data` as is (already converted), without copying."""
    v = _new(Value)
    v._data = data
    v.grad = _zeros_like(data) if requires_grad else (0.0 if type(data) is float else None)
    v.requires_grad = requires_grad
    v.label = v.name = ""
    v._a = v._b = None
    v._rest = ()
    v._fn = None
    v._kw = None
    v._stamp = _EPOCH if requires_grad else -1
    v._hooks = None
    return v


_NUMBERS: dict = {}  # number -> its constant Value, shared by operators (see _number)


def _number(x: float) -> Value:
    """The constant for a Python number in an operator (``y * 2 + 1``), one per distinct number:
    a loop like ``y = y * c + 1`` then adds one node per step, not two. Operators keep these
    constants only inside the graph, where nothing modifies them. Zero is not shared (0.0 and
    -0.0 are equal keys but different numbers); the table is emptied when it grows large."""
    v = _NUMBERS.get(x) if x else None
    if v is None:
        v = _leaf(float(x), requires_grad=False)
        if x:
            if len(_NUMBERS) >= 4096:
                _NUMBERS.clear()
            _NUMBERS[x] = v
    return v


def constant(x: Any, op: str = "constant") -> Value:
    """`x` as a Value that needs no gradient (numbers and arrays mixed into an expression)."""
    if isinstance(x, Value):
        return x
    return _leaf(x if type(x) is float else as_data(x, op), requires_grad=False)


def as_data(x: Any, op: str, dtype: Any = None, copy: bool = False) -> Any:
    """Convert `x` to what a Value holds: a Python float, or a float32/float64 numpy array."""
    if isinstance(x, Value):
        x = x._data
    if dtype is None and (type(x) is float or not copy and type(x) is ndarray
                          and (x.dtype is _F64 or x.dtype is _F32)):
        return x  # already what a Value holds: the common case, inside VJPs
    if dtype is None and isinstance(x, (float, int, np.floating, np.integer, np.bool_)):
        return float(x)
    if isinstance(x, (complex, np.complexfloating, str, bytes)) or x is None:
        raise UnsupportedTypeError(f"{op}: unsupported operand type {type(x).__name__}; expected "
                                   "a Value, a real number or a numpy array")
    try:
        arr = np.array(x, copy=True) if copy else np.asarray(x)
    except (ValueError, TypeError) as e:
        raise UnsupportedTypeError(f"{op}: cannot make an array of {type(x).__name__} ({e})") from None
    if dtype is not None:
        target = np.dtype(dtype)
        if target not in (np.float32, np.float64):
            raise UnsupportedTypeError(f"{op}: dtype must be float32 or float64, not {target}")
    elif arr.dtype in (np.float32, np.float64):
        target = arr.dtype
    elif arr.dtype.kind in "biuf":
        target = np.dtype(np.float64)
    else:
        hint = " (a list of Values? use tinygrad_nn.stack)" if arr.dtype == object else ""
        raise UnsupportedTypeError(f"{op}: cannot use data of dtype {arr.dtype}{hint}; tinygrad_nn "
                                   "computes in float32 or float64")
    return arr.astype(target, copy=False)


_F64, _F32 = np.dtype(np.float64), np.dtype(np.float32)


# ---- undoing broadcasting: the one place, as a function on raw data and as an op ----------------
def _fit(grad: Any, data: Any) -> Any:
    """Sum `grad` back to the shape (and dtype) of `data`, undoing numpy broadcasting: `fit_to` on
    raw data, as first-order backpropagation calls it (without an op's overhead)."""
    if type(data) is float:
        return grad if type(grad) is float else float(np.sum(grad))
    if type(grad) is not ndarray or grad.shape != data.shape:
        grad = _fit_shape(np.asarray(grad), data.shape)
    if grad.dtype is not data.dtype and grad.dtype != data.dtype:  # `is`: the cheap common case
        grad = grad.astype(data.dtype)
    return grad


def _fit_shape(grad: np.ndarray, shape: tuple) -> np.ndarray:
    """Sum the axes that broadcasting added or stretched; spread a smaller gradient (a
    reduction's) back over `shape`; drop or add axes of length 1. Anything else (a transposed
    gradient) is a ShapeError."""
    if grad.shape == shape:
        return grad
    size = math.prod(shape)
    if grad.size == size and grad.size:  # as many numbers: only axes of length 1 may differ
        if _squeezed(grad.shape) != _squeezed(shape) or grad.ndim == len(shape):
            raise ShapeError(f"a gradient of shape {grad.shape}, which does not reduce to the "
                             f"input's shape {shape}")
        return grad.reshape(shape)
    if not (_stretches(shape, grad.shape) or _stretches(grad.shape, shape)):
        raise ShapeError(f"a gradient of shape {grad.shape}, which does not reduce to the "
                         f"input's shape {shape}")
    if grad.ndim > len(shape):
        grad = grad.sum(axis=tuple(range(grad.ndim - len(shape))))
    if grad.ndim == len(shape):
        axes = tuple(k for k, n in enumerate(shape) if n == 1 and grad.shape[k] != 1)
        if axes:
            grad = grad.sum(axis=axes, keepdims=True)
    if grad.shape != shape:  # a reduction's gradient: spread it back (a view, no copy)
        grad = grad.reshape(shape) if grad.size == size else np.broadcast_to(grad, shape)
    return grad


def _stretches(small: tuple, big: tuple) -> bool:
    """Whether numpy broadcasting stretches shape `small` to `big` (an input to an op's output,
    or a reduction's gradient back over its input). np.broadcast_shapes, 20x slower, would do."""
    if len(small) > len(big):
        return False
    for a, b in zip(reversed(small), reversed(big)):
        if a != b and a != 1:
            return False
    return True


def _squeezed(shape: tuple) -> tuple:
    return tuple(n for n in shape if n != 1)


def _like(x: Any) -> dict:
    """The parameters of `fit_to` that give data like `x` (shape None: a Python float)."""
    d = x._data if isinstance(x, Value) else x
    return {"shape": None, "dtype": _F64} if type(d) is float else {"shape": d.shape,
                                                                      "dtype": d.dtype}


def _fit_forward(x: Any, *, shape: Optional[tuple], dtype: np.dtype) -> Any:
    if shape is None:
        return float(np.sum(x))
    return _fit_cast(_fit_shape(np.asarray(x), shape), dtype)


def _fit_cast(x: np.ndarray, dtype: np.dtype) -> np.ndarray:
    return x if x.dtype == dtype else x.astype(dtype)


# Summing to a shape and spreading back to one are each other's adjoints, so the op is its own
# VJP, back to the input's shape and dtype. In graph mode backpropagation undoes broadcasting
# with it; first-order backpropagation calls `fit_to` on raw data directly.
fit_to: Op = Op("fit_to", _fit_forward,
            lambda g, out, x, *, shape, dtype: fit_to.of(g, **_like(x)),
            defaults={"shape": REQUIRED, "dtype": REQUIRED}, info=OpInfo("fit"))


# ---- backpropagation ----------------------------------------------------------------------------
def _backpropagate(root: Value, order: Optional[list], grad: Any) -> None:
    """First-order backward() from `root`, along `order` (its intermediate nodes, inputs first,
    their grads cleared), or along a fresh toposort when `order` is None. Gradients are stored
    in each node's `.grad` as they are summed: no dictionary, the fastest form. One backward
    runs at a time (`_BACKWARD_LOCK`); one started by a hook inside another is refused, since it
    would clear and refill the `.grad` of nodes the outer pass is summing into."""
    global _HELD
    seed = _seed(root._data, grad)
    anomaly = _MODE.anomaly if _UNPLAIN else None  # the thread-local read only when needed
    # Backward frees nothing and makes no reference cycles, so the cyclic garbage collector
    # would only scan the (large, live) graph again and again: pause it meanwhile.
    with _BACKWARD_LOCK:
        if _HELD is not None:
            raise BackwardError("backward: called inside another backward() (from a gradient "
                                "hook?); compute gradients there with tinygrad_nn.grad(...), "
                                "which touches no .grad")
        collecting = gc.isenabled()
        gc.disable()
        _HELD = {}
        try:
            if order is None:
                order = _toposort([root], clear=True)
            _check_versions(order)
            if anomaly is not None:
                anomaly.check_seed(root, seed)
            if order:
                root.grad = seed  # the output itself, its grad cleared
            else:
                _accumulate(root, seed, None, 0)  # backward() of a leaf adds 1 to its gradient
            for node in reversed(order):
                if node.grad is not None:  # None: no path from the output reached it
                    if node._hooks is not None:
                        node.grad = _run_hooks(node, node.grad)
                    if anomaly is None:
                        _propagate(node)
                    else:
                        _propagate_checked(node, anomaly)
            for v, g in _HELD.values():  # leaves with hooks: the hooks see this call's total
                g = _run_hooks(v, g)
                if anomaly is not None:
                    anomaly.check_backward(None, 0, g, g, ())
                _add(v, g)
        finally:
            _HELD = None
            if collecting:
                gc.enable()


# during backward(): leaf -> (leaf, this call's gradient), for leaves with hooks; None outside
_HELD: Optional[dict] = None


def _propagate(node: Value) -> None:
    """Pass `node.grad` to the node's inputs: one VJP call per input that needs a gradient."""
    g, fn, out, a, b = node.grad, node._fn, node._data, node._a, node._b
    if node._kw is None and not node._rest and not fn.variadic:
        # The bulk of any graph (+, *, relu, ...): one or two inputs, no keywords. Calling the
        # VJPs with plain arguments is three times cheaper than the generic *args call below.
        if b is None:
            if a.requires_grad:
                vjp = fn.vjps[0]
                _accumulate(a, g if vjp is identity_vjp else vjp(g, out, a._data), fn, 0)
            return
        vjp_a, vjp_b = fn.vjps
        da, db = a._data, b._data
        if a.requires_grad and vjp_a is not None:
            _accumulate(a, g if vjp_a is identity_vjp else vjp_a(g, out, da, db), fn, 0)
        if b.requires_grad and vjp_b is not None:
            _accumulate(b, g if vjp_b is identity_vjp else vjp_b(g, out, da, db), fn, 1)
        return
    inputs = node._prev
    wanted = [i for i, v in enumerate(inputs) if v.requires_grad]
    if wanted:
        grads = _vjps(fn, wanted, g, out, [v._data for v in inputs], node._kw)
        for i, gi in zip(wanted, grads):
            _accumulate(inputs[i], gi, fn, i)


def _propagate_checked(node: Value, anomaly: Any) -> None:
    """`_propagate` under detect_anomaly(): every gradient an input receives is checked."""
    inputs = node._prev
    wanted = [i for i, v in enumerate(inputs) if v.requires_grad]
    if wanted:
        datas = [v._data for v in inputs]
        for i, gi in zip(wanted, _vjps(node._fn, wanted, node.grad, node._data, datas, node._kw)):
            anomaly.check_backward(node, i, gi, node.grad, datas)
            _accumulate(inputs[i], gi, node._fn, i)
            # the sum it joined, too (a broadcast gradient summed back, paths adding up)
            anomaly.check_backward(node, i, inputs[i].grad, node.grad, datas)


def _vjps(fn: Op, wanted: Sequence[int], g: Any, out: Any, inputs: Sequence[Any],
          kw: Optional[dict]) -> Sequence[Any]:
    """The gradients that `fn` sends to its inputs numbered `wanted` (None: no derivative). A
    variadic op computes them in one call: one per input would make joining n inputs cost n²."""
    if fn.variadic:
        vjp: Any = fn.vjps[0]
        grads = vjp(wanted, g, out, inputs, **(kw or {}))
        if len(grads) != len(wanted):
            raise BackwardError(f"{fn.name}: its VJP returned {len(grads)} gradients for "
                                f"{len(wanted)} inputs")
        return grads
    result = []
    for i in wanted:
        vjp = fn.vjps[i]
        result.append(None if vjp is None else g if vjp is identity_vjp else
                      vjp(g, out, *inputs, **kw) if kw else vjp(g, out, *inputs))
    return result


def _accumulate(v: Value, g: Any, op: Optional[Op], i: int) -> None:
    """Add `g`, the gradient sent to input `i` of `op`, to `v.grad`, after summing it back to
    v's shape. A leaf's array gradient grows in place (it owns that buffer, as in PyTorch);
    an intermediate node's is replaced, since the array may be shared with other nodes."""
    if g is None:  # the op has no derivative for this input (an index, a mask)
        return
    if type(g) is float and type(v._data) is float:  # the scalar path
        if v._hooks is not None and v._fn is None:
            _hold(v, g)
            return
        old = v.grad
        v.grad = g if old is None else old + g
        return
    try:
        g = _fit(g, v._data)
    except ShapeError as e:
        who = op.name if op is not None else "backward"
        raise ShapeError(f"{who}: the VJP for input {i} gave {e}") from None
    if v._hooks is not None and v._fn is None:
        _hold(v, g)
        return
    _add(v, g)


def _add(v: Value, g: Any) -> None:
    """`v.grad += g`, with `g` already of v's shape and dtype."""
    old = v.grad
    if old is None:
        v.grad = g if v._fn is not None else _copy(g)  # a leaf must not alias a gradient given to it
    elif type(old) is float and type(g) is float:
        v.grad = old + g
    elif v._fn is None and type(old) is ndarray and old.shape == g.shape and old.dtype is g.dtype:
        try:
            old += g
        except ValueError:  # a read-only array the user put there
            v.grad = old + g
    else:
        v.grad = old + g


def _hold(v: Value, g: Any) -> None:
    """Keep a hooked leaf's share of this backward() until the call's total is known."""
    held: Any = _HELD
    entry = held.get(v)
    held[v] = (v, g if entry is None else entry[1] + g)


def _run_hooks(v: Value, g: Any) -> Any:
    """`g`, the gradient with respect to `v`, passed through v's hooks in order; a hook that
    returns something other than None replaces it (with a gradient of v's shape)."""
    graph = isinstance(g, Value)  # backward(create_graph=True) and grad() hand hooks Values
    for hook in list((v._hooks or {}).values()):
        new = hook(g)
        if new is None:
            continue
        new = constant(new) if graph else as_data(new, "register_hook")
        shape = np.shape(new._data if graph else new)
        if shape != v.shape:
            raise BackwardError(f"register_hook: the hook {getattr(hook, '__name__', hook)!r} "
                                f"returned a gradient of shape {shape} for a Value of shape "
                                f"{v.shape}")
        g = new if graph else float(new) if type(v._data) is float else _fit(new, v._data)
    return g


def _check_versions(order: Sequence[Value]) -> None:
    """Refuse to back-propagate through a node whose input was modified after the node was
    computed (the data its VJP would read is not the data its forward used). A pass that finds
    every node stamped with the current epoch (nothing was modified since) is all it costs."""
    epoch = _EPOCH
    for node in order:
        if node._stamp != epoch:
            break
    else:
        return
    for node in order:
        stamp = node._stamp
        inputs = node._prev + (tuple(_values_in(node._kw.values())) if node._kw else ())
        for i, v in enumerate(inputs):
            if v._stamp > stamp:
                what = f"parameter {v.name!r}" if v.name else \
                    f"{v.label!r}" if v.label else "a leaf" if v._fn is None else \
                    f"the result of {v._fn.name}"
                which = f"input {i}" if i < len(node._prev) else "a Value among the parameters"
                raise BackwardError(
                    f"backward: {which} of {node._fn.name} ({what}, shape {v.shape}) was "
                    f"modified after {node._fn.name} used it (by an optimizer step, a load or an "
                    "assignment to .data), so its gradient would mix old and new values. "
                    "Compute the forward pass again after the update, or take every gradient "
                    "before stepping" + _origin(node))


def _origin(node: Value) -> str:
    """Where the user's code created `node`, if detect_anomaly() was watching ('' otherwise)."""
    anomaly = _MODE.anomaly if _UNPLAIN else None  # the thread-local read only when needed
    where = anomaly.origins.get(node) if anomaly is not None else None
    return f"; {node._fn.name} was created at {where}" if where else ""


def _toposort(roots: Sequence[Value], clear: bool, params: bool = False) -> list:
    """The intermediate nodes the `roots` depend on (roots included), inputs before outputs,
    found without recursion. Leaves are left out: they take their share as it arrives.

    With `clear`, it sets the grad of each node it lists to None, so that backward() can
    accumulate this call's gradient there from zero (leaves keep theirs: they accumulate).
    With `params`, Values held in an op's parameters (the mask in ``x[x > 0]``) count as its
    inputs too: a replay must recompute them, though no gradient flows into them."""
    order: list = []
    visited: set = set()  # of nodes: a Value hashes by identity, as fast as a set can be
    for root in roots:
        if root._fn is None or root in visited:
            continue
        stack = [(root, False)]
        while stack:
            node, expanded = stack.pop()
            if expanded:
                order.append(node)
                continue
            if node in visited:
                continue
            visited.add(node)
            if clear:
                node.grad = None
            stack.append((node, True))
            children = (node._a, node._b, *node._rest)
            if params and node._kw:
                children += tuple(_values_in(node._kw.values()))
            for child in children:
                if child is not None and child._fn is not None and child not in visited:
                    stack.append((child, False))
    return order


def _values_in(items: Iterable[Any]) -> Iterator[Value]:
    """The Values among `items`, looking into tuples and lists (an index key's parts)."""
    for item in items:
        if isinstance(item, Value):
            yield item
        elif isinstance(item, (tuple, list)):
            yield from _values_in(item)


def _backprop(outputs: Sequence[Value], seeds: Sequence[Any], inputs: Optional[Sequence[Value]],
              create_graph: bool) -> dict:
    """The gradients of ``sum(seed_k * output_k)`` with respect to `inputs` (every node that
    needs a gradient when None), in a dictionary ``id(node) -> (node, gradient)``; no `.grad`
    is touched. Only the nodes that lie on a path to an input are visited.

    In graph mode (`create_graph`) the seeds are Values and every VJP receives Values: the
    gradients are Values whose graphs record how they were computed."""
    order = _toposort(outputs, clear=False)
    _check_versions(order)
    anomaly = _MODE.anomaly if _UNPLAIN else None  # the thread-local read only when needed
    if inputs is None:
        leads = None
    else:  # the nodes from which some input can be reached: only they need a gradient
        leads = {id(v) for v in inputs}
        for node in order:
            if id(node) not in leads and any([id(c) in leads for c in node._prev]):
                leads.add(id(node))
    grads: dict = {}

    def add(v: Value, g: Any) -> None:
        entry = grads.get(id(v))
        grads[id(v)] = (v, g if entry is None else entry[1] + g)

    for out, seed in zip(outputs, seeds):
        if out.requires_grad and (leads is None or id(out) in leads):
            add(out, seed)
    collecting = gc.isenabled()
    gc.disable()
    try:
        with enable_grad() if create_graph else nullcontext():
            for node in reversed(order):
                entry = grads.get(id(node))
                if entry is None:
                    continue
                g, fn = entry[1], node._fn
                if node._hooks is not None:  # even when no input is wanted: node may be one
                    g = _run_hooks(node, g)
                    grads[id(node)] = (node, g)
                inputs_ = node._prev
                wanted = [i for i, c in enumerate(inputs_) if c.requires_grad
                          and (leads is None or id(c) in leads)]
                if not wanted:
                    continue
                if create_graph:
                    for i, gi in zip(wanted, _graph_vjps(fn, wanted, g, node, inputs_, node._kw)):
                        if anomaly is not None:
                            anomaly.check_backward(node, i, gi, g, inputs_)
                        if gi is not None:
                            add(inputs_[i], gi)
                    continue
                datas = [c._data for c in inputs_]
                for i, gi in zip(wanted, _vjps(fn, wanted, g, node._data, datas, node._kw)):
                    if anomaly is not None:
                        anomaly.check_backward(node, i, gi, g, datas)
                    if gi is not None:
                        try:
                            add(inputs_[i], _fit(gi, datas[i]))
                        except ShapeError as e:
                            raise ShapeError(f"{fn.name}: the VJP for input {i} gave {e}") from None
                        if anomaly is not None:  # summed back and added up, still finite?
                            anomaly.check_backward(node, i, grads[id(inputs_[i])][1], g, datas)
            for key, (v, g) in list(grads.items()):  # leaves: their hooks see the total
                if v._hooks is not None and v._fn is None:
                    grads[key] = (v, _run_hooks(v, g))
    finally:
        if collecting:
            gc.enable()
    return grads


def _graph_vjps(fn: Op, wanted: Sequence[int], g: Value, node: Value, inputs: tuple,
                kw: Optional[dict]) -> list:
    """`fn`'s VJPs for the inputs numbered `wanted` on Values (graph mode), each summed back to
    its input's shape."""
    # one input at a time (a variadic op: all at once), so that an error can name the input
    parts = [wanted] if fn.variadic else [[i] for i in wanted]
    grads: list = []
    for part in parts:
        try:
            grads += _vjps(fn, part, g, node, inputs, kw)
        except TinygradNNError:
            raise
        except Exception as e:
            which = "" if fn.variadic else f" for input {part[0]}"
            raise BackwardError(
                f"{fn.name}: its VJP{which} failed when given Values ({type(e).__name__}: {e}). "
                "With create_graph=True (and in higher derivatives) VJPs receive Values: write "
                "them with operators, methods Value shares with numpy, and op.of(...), so that "
                "the gradient is differentiable (see tinygrad_nn.Op)") from None
    return [None if gi is None else _graph_fit(fn, i, gi, inputs[i]._data)
            for i, gi in zip(wanted, grads)]


def _graph_fit(fn: Op, i: int, gi: Any, like: Any) -> Value:
    """A gradient computed in graph mode, checked and summed back to `like`'s shape."""
    if not isinstance(gi, Value):
        raise BackwardError(
            f"{fn.name}: its VJP for input {i} returned a {type(gi).__name__} when given Values "
            "(create_graph=True): it computed on raw data, so its gradient cannot be "
            "differentiated. Write it with operators, Value methods and op.of(...)")
    gd = gi._data
    if type(like) is float:
        return gi if type(gd) is float else fit_to.of(gi, **_like(like))
    if type(gd) is ndarray and gd.shape == like.shape and gd.dtype == like.dtype:
        return gi
    try:
        return fit_to.of(gi, **_like(like))
    except ShapeError as e:
        raise ShapeError(f"{fn.name}: the VJP for input {i} gave {e}") from None


def grad(outputs: Union[Value, Sequence[Value]], inputs: Union[Value, Sequence[Value]],
         grad_outputs: Any = None, *, create_graph: bool = False,
         allow_unused: bool = False, materialize_grads: bool = False) -> tuple:
    """The gradients of `outputs` with respect to `inputs`, as a tuple of Values (one per input),
    with PyTorch's semantics (``torch.autograd.grad``); no ``.grad`` is touched.

    - `outputs`: a Value or a sequence of them; each one-element output is seeded with 1,
      others need `grad_outputs` (one per output: arrays, numbers or Values of its shape), and
      the result is the gradient of ``sum_k sum(grad_outputs[k] * outputs[k])``.
    - `inputs`: leaves or intermediate Values of the graph (differentiating through an unrolled
      loop ``w = w - lr * g`` asks for the latter).
    - ``create_graph=True``: the gradients are Values with a graph, to differentiate again
      (Hessian-vector products, gradient penalties, meta-learning). Otherwise they are constants.
    - An input the outputs do not depend on raises `BackwardError`, unless ``allow_unused=True``:
      its gradient is then None; with ``materialize_grads=True`` it is a constant zero of the
      input's shape and dtype (as in PyTorch).
    """
    outs = _as_values(outputs, "outputs")
    ins = _as_values(inputs, "inputs")
    for n, v in enumerate(ins):
        if not v.requires_grad:
            raise BackwardError(f"grad: input {n} does not require a gradient (a constant, or "
                                "computed under no_grad() or from constants)")
    if grad_outputs is None:
        given: list = [None] * len(outs)
    else:
        given = list(grad_outputs) if isinstance(grad_outputs, (list, tuple)) else [grad_outputs]
        if len(given) != len(outs):
            raise BackwardError(f"grad: {len(outs)} output(s) but {len(given)} grad_outputs")
    seeds = []
    for out, g in zip(outs, given):
        if create_graph and isinstance(g, Value):
            if g.shape != out.shape:
                raise BackwardError(f"grad: a grad_output of shape {g.shape} for an output of "
                                    f"shape {out.shape}; they must match")
            seeds.append(g)
            continue
        seed = _seed(out._data, g._data if isinstance(g, Value) else g)
        seeds.append(constant(seed) if create_graph else seed)
    grads = _backprop(outs, seeds, ins, create_graph)
    result: list = []
    for n, v in enumerate(ins):
        entry = grads.get(id(v))
        if entry is None:
            if materialize_grads:
                result.append(_leaf(_zeros_like(v._data), requires_grad=False))
            elif allow_unused:
                result.append(None)
            else:
                raise BackwardError(f"grad: the outputs do not depend on input {n} (shape "
                                    f"{v.shape}); pass allow_unused=True to get None for it")
        else:
            g = entry[1]
            # a copy: the array may be a seed or a VJP's result shared with other nodes
            result.append(g if isinstance(g, Value) else _leaf(_copy(g), requires_grad=False))
    return tuple(result)


def _as_values(x: Any, what: str) -> list:
    items = list(x) if isinstance(x, (list, tuple)) else [x]
    for n, v in enumerate(items):
        if not isinstance(v, Value):
            raise UnsupportedTypeError(f"grad: {what} must be Values; item {n} is a "
                                       f"{type(v).__name__}")
    if not items:
        raise BackwardError(f"grad: no {what} given")
    return items


def _read_only(a: np.ndarray) -> np.ndarray:
    a.flags.writeable = False
    return a


_ONE = {np.dtype(t): _read_only(np.ones(1, t)) for t in (np.float32, np.float64)}  # seeds of 1


def _seed(data: Any, grad: Any) -> Any:
    """The starting gradient of backward(): 1 for a one-element output, else the given one."""
    shape = () if type(data) is float else data.shape
    if grad is None:
        if type(data) is float:
            return 1.0
        if data.size != 1:
            raise BackwardError(
                f"backward: the output has shape {shape}; without an argument backward() needs a "
                f"one-element output. Reduce it first (out.sum().backward()) or pass the gradient "
                f"with respect to it, e.g. out.backward(np.ones({shape}))")
        return _ONE[data.dtype].reshape(shape)
    seed = as_data(grad._data if isinstance(grad, Value) else grad, "backward")
    if np.shape(seed) != shape:
        raise BackwardError(f"backward: the gradient has shape {np.shape(seed)} but the output has "
                            f"shape {shape}; they must match")
    return float(seed) if type(data) is float else np.asarray(seed, dtype=data.dtype)


def _zeros_like(data: Any) -> Any:
    # np.zeros, unlike np.zeros_like, gets its memory zeroed by calloc: about half the time
    return 0.0 if type(data) is float else np.zeros(data.shape, data.dtype)


def _copy(g: Any) -> Any:
    return g if type(g) is float else np.array(g)


def _summary(a: Any) -> str:
    if a is None or type(a) is float:
        return str(a)
    return np.array2string(a, threshold=8, edgeitems=2, precision=4, separator=", ").replace("\n", "")


def _explain(op: str, datas: list, error: Exception) -> Exception:
    """Turn an exception from a forward computation into one that names the op and the inputs.

    Our own errors, and exceptions that are not about the inputs, pass through unchanged. The
    kind of the error decides what it becomes, whatever the inputs' types: an ArithmeticError
    (overflow, division by zero) or `math`'s "math domain error" is a DomainError, numpy's
    AxisError and other ValueErrors a ShapeError, IndexError an InvalidIndexError, TypeError an
    UnsupportedTypeError."""
    if isinstance(error, TinygradNNError) or not isinstance(
            error, (ValueError, TypeError, IndexError, ArithmeticError)):
        return error
    shapes = ", ".join(str(d) if type(d) is float else f"array{np.shape(d)}" for d in datas)
    message = f"{op}: {error} (inputs: {shapes})"
    if isinstance(error, np.exceptions.AxisError):
        return ShapeError(message)
    if isinstance(error, ArithmeticError) or "math domain error" in str(error):
        return DomainError(message)
    if isinstance(error, IndexError):
        return InvalidIndexError(message)
    if isinstance(error, TypeError):
        return UnsupportedTypeError(message)
    return ShapeError(message)


def zero_grad(values: Iterable[Value]) -> None:
    """Reset the gradient of every Value in `values` to zero (before the next backward())."""
    for v in values:
        v.grad = _zeros_like(v._data)


class no_grad:
    """Context manager (and decorator) in which operations record no graph: for evaluation.

    Results computed inside need no gradient and hold no references to their inputs. The
    switch belongs to the thread that enters the block; other threads go on recording.
    """

    _enabled = False

    def __enter__(self) -> None:
        mode = _MODE
        mode.saved.append(mode.grad)  # the thread's own stack: blocks nest whatever the instance
        _set_mode(self._enabled, mode.anomaly)

    def __exit__(self, *exc: Any) -> None:
        mode = _MODE
        _set_mode(mode.saved.pop(), mode.anomaly)

    def __call__(self, fn: Callable) -> Callable:
        mode = type(self)
        if inspect.isgeneratorfunction(fn):  # every step of the generator in the mode, as torch
            @wraps(fn)
            def steps(*args: Any, **kwargs: Any) -> Any:
                generator = fn(*args, **kwargs)
                sent = None
                while True:
                    try:
                        with mode():
                            item = generator.send(sent)
                    except StopIteration as stop:
                        return stop.value
                    sent = yield item
            return steps

        @wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with mode():
                return fn(*args, **kwargs)
        return wrapper


class enable_grad(no_grad):
    """Context manager (and decorator) in which operations record the graph again, even inside
    `no_grad()`: gradient checks and function transforms use it to differentiate in an
    evaluation."""

    _enabled = True


def is_grad_enabled() -> bool:
    """False inside a `no_grad()` block (of this thread)."""
    return _MODE.grad


class RemovableHandle:
    """What `Value.register_hook` and the modules' ``register_forward_*hook`` return:
    ``remove()`` takes the hook off (again is harmless); as a context manager, at the end of the
    block."""

    __slots__ = ("_hooks", "_key")

    def __init__(self, hooks: dict, key: int):
        self._hooks, self._key = hooks, key

    def remove(self) -> None:
        self._hooks.pop(self._key, None)

    def __enter__(self) -> "RemovableHandle":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.remove()


HOOK_KEYS = itertools.count()  # a key for each hook registered, in order, on Values and Modules
