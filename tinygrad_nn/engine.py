"""The autodiff engine: the `Value` node, the `Op` that makes nodes, and `backward()`.

A Value holds `data`, a Python float (the scalar path) or a numpy array (the tensor path). A
Value computed by an operation also keeps the `Op` (`_fn`), its inputs in argument order
(`_prev`) and its keyword arguments (`_kw`), and nothing else: no closures, so a graph has no
reference cycles and is freed by reference counting as soon as its output goes away.

`backward()` visits the graph once, outputs before inputs. At each node it calls the op's
vector-Jacobian product for every input that needs a gradient, sums the result back to that
input's shape (`fit_to`: the one place where broadcasting is undone) and adds it to the input's
running total. Leaves accumulate into `.grad` across calls (in place), as in PyTorch; every
other node's `.grad` is overwritten with the gradient of the latest backward() that reached them.
"""

from __future__ import annotations

from functools import partial, wraps
import gc
from typing import Any, Callable, Iterable, Optional

import numpy as np

from .errors import (BackwardError, DomainError, InvalidIndexError, ShapeError, TinygradNNError,
                     UnsupportedTypeError)

ndarray = np.ndarray
_grad_enabled = True  # switched off by `no_grad`


def identity_vjp(g: Any, out: Any, *inputs: Any, **kw: Any) -> Any:
    """The VJP of an input that reaches the output unchanged (as in a + b): g itself. backward()
    recognises it and skips the call, since half of a network's nodes are additions."""
    return g


class Op:
    """A differentiable primitive: a forward function on raw data and one VJP per input.

    - ``forward(*inputs, **kw) -> out``: inputs are Python floats or numpy arrays.
    - ``vjps[i](g, out, *inputs, **kw) -> grad_i``: given ``g``, the gradient of the final result
      with respect to ``out``, return the gradient with respect to input ``i`` (a vector-Jacobian
      product). It may have a broadcast shape: the engine sums it back to input ``i``'s shape. It
      may return None for an input that has no derivative (an index, a mask).
    - ``defaults``: keyword arguments with their default values; forward and every VJP always
      receive all of them.
    - ``variadic=True``: the op takes one sequence of inputs (like ``concatenate``) and has a
      single VJP called as ``vjp(i, g, out, *inputs, **kw)``.

    Calling the op on Values (numbers and arrays become constants) runs ``forward`` and, when
    gradients are on and some input requires one, records the new node in the graph. Every
    built-in operation is an Op (see `tinygrad_nn.ops`); users define new ones the same way.
    """

    __slots__ = ("name", "forward", "vjps", "defaults", "variadic")

    def __init__(self, name: str, forward: Callable[..., Any], *vjps: Callable[..., Any],
                 defaults: Optional[dict] = None, variadic: bool = False):
        if not vjps:
            raise TypeError(f"Op {name!r}: give one VJP per input after the forward function")
        self.name = name
        self.forward = forward
        self.vjps = vjps
        self.defaults = defaults
        self.variadic = variadic

    def __call__(self, *args: Any, **kw: Any) -> "Value":
        if self.variadic:
            (args,) = args
        if self.defaults:
            kw = {**self.defaults, **kw}
        inputs = tuple([a if isinstance(a, Value) else constant(a, self.name) for a in args])
        if not self.variadic and len(inputs) != len(self.vjps):
            raise TypeError(f"{self.name}: takes {len(self.vjps)} input(s), got {len(inputs)}")
        out = _forward(self, [v.data for v in inputs], kw)
        track = _grad_enabled and any([v.requires_grad for v in inputs])
        return _node(out, self, inputs[0], inputs[1] if len(inputs) > 1 else None, inputs[2:], kw,
                     track)

    def method(self, reflected: bool = False) -> Callable[..., "Value"]:
        """This op as a Value method: ``x.exp()`` for one input, ``x + y`` (or, reflected,
        ``y + x``) for two. The same as calling the op, minus the generic argument handling:
        operators are the engine's hot path."""
        op, forward, name = self, self.forward, self.name
        if len(self.vjps) == 1:
            def unary(x: Value) -> Value:
                d = x.data
                try:
                    out = forward(d)
                except Exception as e:
                    raise _explain(name, [d], e) from None
                if type(out) is not float and type(out) is not ndarray:
                    out = _normalize(out, [d])
                return _node(out, op, x, None, (), None, _grad_enabled and x.requires_grad)
            unary.__name__ = unary.__qualname__ = name
            return unary

        def binary(x: Value, other: Any) -> Value:
            if not isinstance(other, Value):
                other = _number(other) if type(other) is float or type(other) is int else \
                    constant(other, name)
            a, b = (other, x) if reflected else (x, other)
            da, db = a.data, b.data
            try:
                out = forward(da, db)
            except Exception as e:
                raise _explain(name, [da, db], e) from None
            if type(out) is not float and type(out) is not ndarray:
                out = _normalize(out, [da, db])
            return _node(out, op, a, b, (), None,
                         _grad_enabled and (a.requires_grad or b.requires_grad))
        binary.__name__ = binary.__qualname__ = name
        return binary

    def __repr__(self) -> str:
        return f"Op({self.name!r})"


class Value:
    """A node of the computation graph: a float or numpy array, its gradient and its history.

    ``Value(data)`` makes a leaf: a number becomes a Python float (the fast scalar path); an
    array-like becomes a float64 numpy array (float32 is kept; the data is copied). Leaves
    require a gradient unless ``requires_grad=False``; their ``grad`` starts at zero and
    accumulates over calls to ``backward()``.
    """

    # The inputs live in three slots (first, second, the rest as a tuple) rather than in one
    # tuple: a tuple per node is a second object for Python's garbage collector to traverse,
    # and on micrograd's training step that doubled the time spent in the collector.
    __slots__ = ("data", "grad", "requires_grad", "label", "_a", "_b", "_rest", "_fn", "_kw")
    __array_ufunc__ = None  # numpy defers to Value's reflected operators: array * Value works

    def __init__(self, data: Any, *, label: str = "", requires_grad: bool = True,
                 dtype: Any = None):
        self.data = as_data(data, "Value", dtype=dtype, copy=True)
        self.grad = _zeros_like(self.data)
        self.requires_grad = bool(requires_grad)
        self.label = label
        self._a = self._b = None
        self._rest = ()
        self._fn = None
        self._kw = None

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
        return () if type(self.data) is float else self.data.shape

    @property
    def dtype(self) -> np.dtype:
        return np.dtype(np.float64) if type(self.data) is float else self.data.dtype

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def size(self) -> int:
        return 1 if type(self.data) is float else self.data.size

    def __len__(self) -> int:
        if type(self.data) is float or self.data.ndim == 0:
            raise TypeError("len() of a scalar Value")
        return len(self.data)

    def item(self) -> float:
        """The value as a Python float (the Value must hold exactly one element)."""
        if type(self.data) is float:
            return self.data
        if self.data.size != 1:
            raise ShapeError(f"item: needs a Value with one element, got shape {self.data.shape}")
        return float(self.data.reshape(()))

    __float__ = item

    def numpy(self) -> np.ndarray:
        """The data as a numpy array (a 0-d array for a scalar; not a copy for arrays)."""
        return np.asarray(self.data)

    def detach(self) -> "Value":
        """A constant sharing this Value's data, cut off from the graph."""
        return _leaf(self.data, requires_grad=False)

    # ---- backpropagation ------------------------------------------------------------------
    def backward(self, grad: Any = None) -> None:
        """Compute the gradient of this Value with respect to every node it depends on.

        For a one-element output the seed gradient is 1; any other output needs ``grad``, the
        gradient of some scalar with respect to this Value (same shape). Leaves add to their
        ``.grad`` (in place, as PyTorch does); intermediate nodes get the gradient of this call.
        """
        if not self.requires_grad:
            raise BackwardError("backward: this Value does not require a gradient (it is a "
                                "constant, or was computed under no_grad() or from constants)")
        _backpropagate(self, None, grad)

    def __repr__(self) -> str:
        label = f", label={self.label!r}" if self.label else ""
        if type(self.data) is float:
            return f"Value(data={self.data}, grad={self.grad}{label})"
        op = f", op={self._op!r}" if self._fn is not None else ""
        return (f"Value(shape={self.data.shape}, dtype={self.data.dtype}{op}{label}, "
                f"data={_summary(self.data)}, grad={_summary(self.grad)})")


_new = object.__new__


def _node(out: Any, op: Op, a: Value, b: Optional[Value], rest: tuple, kw: Optional[dict],
          track: bool) -> Value:
    """The Value an op returns, from inputs a, b (None for a one-input op) and the rest; it joins
    the graph only if `track` (some input needs a gradient)."""
    node = _new(Value)
    node.data = out
    node.grad = 0.0 if type(out) is float else None
    node.label = ""
    node.requires_grad = track
    if track:
        node._a = a
        node._b = b
        node._rest = rest
        node._fn = op
        node._kw = kw or None
    else:
        node._a = node._b = None
        node._rest = ()
        node._fn = None
        node._kw = None
    return node


def _normalize(out: Any, datas: list) -> Any:
    """Keep the two paths apart: floats in give a float out, arrays in give an ndarray out."""
    return float(out) if all(type(d) is float for d in datas) else np.asarray(out)


def _leaf(data: Any, requires_grad: bool) -> Value:
    """A leaf holding `data` as is (already converted), without copying."""
    v = _new(Value)
    v.data = data
    v.grad = _zeros_like(data) if requires_grad else (0.0 if type(data) is float else None)
    v.requires_grad = requires_grad
    v.label = ""
    v._a = v._b = None
    v._rest = ()
    v._fn = None
    v._kw = None
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
        x = x.data
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


def fit_to(grad: Any, data: Any) -> Any:
    """Sum `grad` back to the shape (and dtype) of `data`, undoing numpy broadcasting."""
    if type(data) is float:
        return grad if type(grad) is float else float(np.sum(grad))
    if type(grad) is not ndarray or grad.shape != data.shape:
        grad = np.asarray(grad)
        shape = data.shape
        if grad.ndim > len(shape):
            grad = grad.sum(axis=tuple(range(grad.ndim - len(shape))))
        if grad.ndim == len(shape):
            axes = tuple(k for k, n in enumerate(shape) if n == 1 and grad.shape[k] != 1)
            if axes:
                grad = grad.sum(axis=axes, keepdims=True)
        try:
            if grad.shape != shape:  # a reduction's gradient: spread it back (a view, no copy)
                grad = grad.reshape(shape) if grad.size == data.size else np.broadcast_to(grad, shape)
        except ValueError:
            raise ShapeError(f"a gradient of shape {grad.shape}, which does not reduce to the "
                             f"input's shape {shape}") from None
    if grad.dtype is not data.dtype and grad.dtype != data.dtype:  # `is`: the cheap common case
        grad = grad.astype(data.dtype)
    return grad


def _backpropagate(root: Value, order: Optional[list], grad: Any) -> None:
    """backward() from `root`, along `order` (its intermediate nodes, inputs first, their grads
    cleared), or along a fresh toposort when `order` is None."""
    seed = _seed(root.data, grad)
    # Backward frees nothing and makes no reference cycles, so the cyclic garbage collector
    # would only scan the (large, live) graph again and again: pause it meanwhile.
    collecting = gc.isenabled()
    gc.disable()
    try:
        if order is None:
            order = _toposort(root)  # also clears the grad of every node in it
        if order:
            root.grad = seed  # the output itself, its grad cleared
        else:
            _accumulate(root, seed, None, 0)  # backward() of a leaf adds 1 to its gradient
        for node in reversed(order):
            if node.grad is not None:  # None: no path from the output reached it
                _propagate(node)
    finally:
        if collecting:
            gc.enable()


def _forward(op: Op, datas: Any, kw: Optional[dict]) -> Any:
    """`op`'s forward on raw data: errors name the op and the inputs, and floats in give a
    float out, arrays an ndarray."""
    try:
        out = op.forward(*datas, **kw) if kw else op.forward(*datas)
    except Exception as e:
        raise _explain(op.name, list(datas), e) from None
    if type(out) is not float and type(out) is not ndarray:
        out = _normalize(out, datas)
    return out


def _propagate(node: Value) -> None:
    """Pass `node.grad` to the node's inputs: one VJP call per input that needs a gradient."""
    g, fn, out, a, b = node.grad, node._fn, node.data, node._a, node._b
    if node._kw is None and not node._rest and not fn.variadic:
        # The bulk of any graph (+, *, relu, ...): one or two inputs, no keywords. Calling the
        # VJPs with plain arguments is three times cheaper than the generic *args call below.
        if b is None:
            if a.requires_grad:
                vjp = fn.vjps[0]
                _accumulate(a, g if vjp is identity_vjp else vjp(g, out, a.data), fn, 0)
            return
        vjp_a, vjp_b = fn.vjps
        da, db = a.data, b.data
        if a.requires_grad:
            _accumulate(a, g if vjp_a is identity_vjp else vjp_a(g, out, da, db), fn, 0)
        if b.requires_grad:
            _accumulate(b, g if vjp_b is identity_vjp else vjp_b(g, out, da, db), fn, 1)
        return
    inputs = node._prev
    datas = [v.data for v in inputs]
    kw = node._kw or {}
    for i, v in enumerate(inputs):
        if v.requires_grad:
            vjp = partial(fn.vjps[0], i) if fn.variadic else fn.vjps[i]
            _accumulate(v, g if vjp is identity_vjp else vjp(g, out, *datas, **kw), fn, i)


def _accumulate(v: Value, g: Any, op: Optional[Op], i: int) -> None:
    """Add `g`, the gradient sent to input `i` of `op`, to `v.grad`, after summing it back to
    v's shape. A leaf's array gradient grows in place (it owns that buffer, as in PyTorch);
    an intermediate node's is replaced, since the array may be shared with other nodes."""
    if g is None:  # the op has no derivative for this input (an index, a mask)
        return
    if type(g) is float and type(v.data) is float:  # the scalar path
        old = v.grad
        v.grad = g if old is None else old + g
        return
    try:
        g = fit_to(g, v.data)
    except ShapeError as e:
        raise ShapeError(f"{op.name}: the VJP for input {i} gave {e}") from None
    old = v.grad
    if old is None:
        v.grad = g if v._fn is not None else _copy(g)  # a leaf must not alias a gradient given to it
    elif v._fn is None and type(old) is ndarray and old.shape == g.shape and old.dtype is g.dtype:
        try:
            old += g
        except ValueError:  # a read-only array the user put there
            v.grad = old + g
    else:
        v.grad = old + g


def _toposort(root: Value) -> list:
    """The intermediate nodes `root` depends on (root included), inputs before outputs, found
    without recursion. Leaves are left out: they take their share as it arrives.

    It clears the grad of each node it lists, so that backward() can accumulate this call's
    gradient there from zero (leaves keep theirs: they accumulate across calls)."""
    order: list = []
    if root._fn is None:
        return order
    visited, stack = set(), [(root, False)]
    while stack:
        node, expanded = stack.pop()
        if expanded:
            order.append(node)
            continue
        if node in visited:
            continue
        visited.add(node)
        node.grad = None
        stack.append((node, True))
        for child in (node._a, node._b, *node._rest):
            if child is not None and child._fn is not None and child not in visited:
                stack.append((child, False))
    return order


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
    seed = as_data(grad, "backward")
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

    Our own errors, and exceptions that are not about the inputs, pass through unchanged."""
    if isinstance(error, TinygradNNError) or not isinstance(
            error, (ValueError, TypeError, IndexError, ArithmeticError)):
        return error
    shapes = ", ".join(str(d) if type(d) is float else f"array{d.shape}" for d in datas)
    message = f"{op}: {error} (inputs: {shapes})"
    if isinstance(error, np.exceptions.AxisError):
        return ShapeError(message)
    if isinstance(error, ArithmeticError) or all(type(d) is float for d in datas):
        return DomainError(message)
    if isinstance(error, IndexError):
        return InvalidIndexError(message)
    if isinstance(error, TypeError):
        return UnsupportedTypeError(message)
    return ShapeError(message)


def zero_grad(values: Iterable[Value]) -> None:
    """Reset the gradient of every Value in `values` to zero (before the next backward())."""
    for v in values:
        v.grad = _zeros_like(v.data)


class no_grad:
    """Context manager (and decorator) in which operations record no graph: for evaluation.

    Results computed inside need no gradient and hold no references to their inputs.
    """

    def __enter__(self) -> None:
        global _grad_enabled
        self._previous = _grad_enabled
        _grad_enabled = False

    def __exit__(self, *exc: Any) -> None:
        global _grad_enabled
        _grad_enabled = self._previous

    def __call__(self, fn: Callable) -> Callable:
        @wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with no_grad():
                return fn(*args, **kwargs)
        return wrapper


def is_grad_enabled() -> bool:
    """False inside a `no_grad()` block."""
    return _grad_enabled
