"""Function transforms, with the names of JAX and torch.func: derivatives of Python functions.

    from tinygrad_nn import func
    func.grad(lambda x: (x ** 3).sum())(np.array([1.0, 2.0]))          # array([ 3., 12.])
    func.hessian(lambda x: (x ** 3).sum())(np.array([1.0, 2.0]))       # diag(6x)
    func.hvp(f, (x,), (v,))                                            # (f(x), H v), no H built

Each transform takes a function of Values returning a Value (or a tuple of them), and returns a
function that accepts floats, numpy arrays or Values. At the top level results are plain data
(floats and numpy arrays); called inside another transform they are Values whose graphs record
how they were computed, so transforms nest to any depth: ``hessian(f)`` is
``jacobian(jacobian(f))``. Each call differentiates with respect to fresh nodes of its own, so an
inner derivative never confuses its variable with an outer one: ``grad(lambda x: x * grad(lambda
y: x * y)(2.0))(1.0)`` is 2.0, as it should be (d/dx of x * x).

All of this is reverse mode on `tinygrad_nn.grad`: `jvp` uses the double-VJP trick (the VJP is
linear in its cotangent u, so differentiating <J^T u, t> by u gives J t), and `hvp` differentiates
<grad f, v> once more (reverse over reverse, as PyTorch's fastest HVP).
"""

from __future__ import annotations

import threading
from contextlib import contextmanager
from functools import wraps
from typing import Any, Callable, Iterator, Sequence, Union

import numpy as np

from . import ops
from .engine import Value, as_data, enable_grad, grad as _grad
from .errors import ShapeError, UnsupportedTypeError

ArgNums = Union[int, Sequence[int]]

_state = threading.local()  # how deeply transforms are nested in this thread


@contextmanager
def _level() -> Iterator[bool]:
    """One transform's extent: yields whether it runs inside another one (then its results
    must stay differentiable), and records the graph even inside no_grad()."""
    depth = getattr(_state, "depth", 0)
    _state.depth = depth + 1
    try:
        with enable_grad():
            yield depth > 0
    finally:
        _state.depth = depth


def _lift(x: Any, who: str) -> Value:
    """A fresh node to differentiate with respect to, standing for `x`. A Value that belongs to
    an outer graph gets a node on top of it (x * 1), so that outer derivatives flow through."""
    if isinstance(x, Value):
        if x.requires_grad or x._fn is not None:
            return x * 1.0
        x = x.data
    return Value(as_data(x, who))


def _positions(argnums: ArgNums, count: int, who: str) -> tuple:
    positions = (argnums,) if isinstance(argnums, int) else tuple(argnums)
    for k in positions:
        if not isinstance(k, int) or not -count <= k < count:
            raise UnsupportedTypeError(f"{who}: argnums {argnums!r} do not name arguments of a "
                                       f"call with {count} positional argument(s)")
    return tuple(k % count for k in positions)


def _lift_args(args: tuple, argnums: ArgNums, who: str) -> tuple:
    """The arguments with those at `argnums` replaced by fresh nodes, and those nodes."""
    lifted = list(args)
    leaves = []
    for k in _positions(argnums, len(args), who):
        lifted[k] = _lift(args[k], who)
        leaves.append(lifted[k])
    return lifted, leaves


def _as_value(out: Any, who: str) -> Value:
    if isinstance(out, Value):
        return out
    try:
        return Value(as_data(out, who), requires_grad=False)  # a constant function
    except UnsupportedTypeError:
        raise UnsupportedTypeError(f"{who}: the function must return a Value (or a number); it "
                                   f"returned a {type(out).__name__}") from None


def _outputs(result: Any, who: str) -> tuple:
    """(the outputs as a list of Values, whether the function returned a tuple)."""
    if isinstance(result, (tuple, list)):
        return [_as_value(r, who) for r in result], True
    return [_as_value(result, who)], False


def _gradients(outputs: list, inputs: list, seeds: Any, create_graph: bool) -> list:
    """`tinygrad_nn.grad`, with zeros for inputs the outputs do not depend on."""
    return list(_grad(outputs, inputs, seeds, create_graph=create_graph, materialize_grads=True))


def _finish(x: Any, nested: bool) -> Any:
    """At the top level Values become their data; inside a transform they stay Values."""
    if isinstance(x, Value):
        return x if nested else x.data
    if isinstance(x, tuple):
        return tuple(_finish(part, nested) for part in x)
    return x


def _pick(items: list, argnums: ArgNums) -> Any:
    return items[0] if isinstance(argnums, int) else tuple(items)


def _inner(gs: list, vs: Sequence[Any]) -> Value:
    """sum_i <g_i, v_i> for gradients g_i (Values) and directions v_i (data or Values)."""
    total = (gs[0] * vs[0]).sum()
    for g, v in zip(gs[1:], vs[1:]):
        total = total + (g * v).sum()
    return total


def value_and_grad(f: Callable[..., Any], argnums: ArgNums = 0,
                   has_aux: bool = False) -> Callable[..., Any]:
    """A function returning ``(f(*args), gradient of f at args)``: the gradient with respect to
    argument `argnums` (a tuple of gradients for a tuple of argnums). `f` returns a one-element
    Value, or with ``has_aux=True`` a pair ``(value, aux)``; then the result is
    ``((value, aux), gradient)``."""
    @wraps(f)
    def transformed(*args: Any, **kwargs: Any) -> Any:
        with _level() as nested:
            args, leaves = _lift_args(args, argnums, "grad")
            result = f(*args, **kwargs)
            if has_aux:
                if not isinstance(result, tuple) or len(result) != 2:
                    raise UnsupportedTypeError("grad: with has_aux=True the function must return "
                                               "a pair (value, aux)")
                result, aux = result
            out = _as_value(result, "grad")
            if out.size != 1:
                raise ShapeError(f"grad: the function must return one number, got shape "
                                 f"{out.shape} (use jacobian or vjp for vector functions)")
            grads = _gradients([out], leaves, None, nested)
        value = _finish(out, nested)
        gradient = _finish(_pick(grads, argnums), nested)
        return ((value, _finish(aux, nested)) if has_aux else value), gradient
    return transformed


def grad(f: Callable[..., Any], argnums: ArgNums = 0, has_aux: bool = False) -> Callable[..., Any]:
    """The gradient of a scalar function, as a function: ``grad(f)(x)`` has x's shape. With
    ``has_aux=True`` `f` returns ``(value, aux)`` and the result is ``(gradient, aux)``."""
    both = value_and_grad(f, argnums, has_aux)

    @wraps(f)
    def transformed(*args: Any, **kwargs: Any) -> Any:
        value, gradient = both(*args, **kwargs)
        return (gradient, value[1]) if has_aux else gradient
    return transformed


def vjp(f: Callable[..., Any], *primals: Any) -> tuple:
    """``(f(*primals), vjp_fn)``: ``vjp_fn(cotangent)`` is the tuple of vector-Jacobian products
    ``cotangent . df/dprimal_i``, one per primal (a tuple of cotangents if f returns a tuple)."""
    with _level() as nested:
        args, leaves = _lift_args(primals, tuple(range(len(primals))), "vjp")
        outs, many = _outputs(f(*args), "vjp")

    def vjp_fn(cotangent: Any) -> tuple:
        seeds = list(cotangent) if many else [cotangent]
        if len(seeds) != len(outs):
            raise UnsupportedTypeError(f"vjp: f returned {len(outs)} outputs; give as many "
                                       f"cotangents, got {len(seeds)}")
        with _level() as inner:
            graph = nested or inner or any(isinstance(s, Value) and s.requires_grad for s in seeds)
            grads = _gradients(outs, leaves, seeds, graph)
        return _finish(tuple(grads), nested or inner)
    return _finish(tuple(outs) if many else outs[0], nested), vjp_fn


def _pair(primals: Any, tangents: Any, who: str) -> tuple:
    """Primals and tangents as tuples of the same length, and whether they came as tuples."""
    many = isinstance(primals, (tuple, list))
    ps = tuple(primals) if many else (primals,)
    ts = tuple(tangents) if isinstance(tangents, (tuple, list)) else (tangents,)
    if len(ps) != len(ts):
        raise UnsupportedTypeError(f"{who}: {len(ps)} primal(s) but {len(ts)} tangent(s)")
    for n, (p, t) in enumerate(zip(ps, ts)):
        if np.shape(as_data(p, who)) != np.shape(as_data(t, who)):
            raise ShapeError(f"{who}: tangent {n} has shape {np.shape(as_data(t, who))} but its "
                             f"primal has shape {np.shape(as_data(p, who))}")
    return ps, ts, many


def jvp(f: Callable[..., Any], primals: Any, tangents: Any) -> tuple:
    """``(f(*primals), J t)``: the derivative of f at `primals` along `tangents` (forward mode,
    computed by the double-VJP trick). `f` returns one Value."""
    ps, ts, _ = _pair(primals, tangents, "jvp")
    with _level() as nested:
        args, leaves = _lift_args(ps, tuple(range(len(ps))), "jvp")
        out = _as_value(f(*args), "jvp")
        u = Value(np.zeros(out.shape, out.dtype) if out.shape else 0.0)  # a dummy cotangent
        transposed = _gradients([out], leaves, [u], True)  # J^T u, linear in u
        (tangent,) = _gradients([_inner(transposed, ts)], [u], None, nested)
    return _finish(out, nested), _finish(tangent, nested)


def jacobian(f: Callable[..., Any], argnums: ArgNums = 0) -> Callable[..., Any]:
    """The Jacobian of f as a function: for an output of shape S and an argument of shape T, an
    array of shape S + T (one reverse pass per output element). A tuple of argnums gives a
    tuple; a function returning a tuple gives a tuple (over outputs) of those."""
    @wraps(f)
    def transformed(*args: Any, **kwargs: Any) -> Any:
        with _level() as nested:
            args, leaves = _lift_args(args, argnums, "jacobian")
            outs, many = _outputs(f(*args, **kwargs), "jacobian")
            result = tuple(_pick(_jacobian_of(out, leaves, nested), argnums) for out in outs)
        return _finish(result if many else result[0], nested)
    return transformed


def _jacobian_of(out: Value, leaves: list, nested: bool) -> list:
    """d out / d leaf for each leaf: one row per element of out, stacked and reshaped."""
    rows = []  # rows[j][i]: d out.flat[j] / d leaves[i]
    for j in range(out.size):
        seed = np.zeros(out.size, out.dtype)
        seed[j] = 1.0
        rows.append(_gradients([out], leaves, [seed.reshape(out.shape)], nested))
    jacobians = []
    for i, leaf in enumerate(leaves):
        column = [row[i] for row in rows]
        if type(out.data) is float and type(leaf.data) is float:
            jacobians.append(column[0])
            continue
        stacked = ops.stack(column) if nested else np.stack([np.asarray(c.data) for c in column])
        jacobians.append(stacked.reshape(out.shape + leaf.shape) if nested else
                         Value(stacked.reshape(out.shape + leaf.shape), requires_grad=False))
    return jacobians


def hessian(f: Callable[..., Any], argnums: ArgNums = 0) -> Callable[..., Any]:
    """The Hessian of a scalar function as a function: ``jacobian(jacobian(f))``, of shape
    T + T for an argument of shape T."""
    return jacobian(jacobian(f, argnums), argnums)


def hvp(f: Callable[..., Any], primals: Any, tangents: Any) -> tuple:
    """``(f(*primals), H v)``: the Hessian of the scalar function f times `tangents` v, without
    forming H: the gradient of <grad f, v> (reverse over reverse)."""
    ps, vs, many = _pair(primals, tangents, "hvp")
    with _level() as nested:
        args, leaves = _lift_args(ps, tuple(range(len(ps))), "hvp")
        out = _as_value(f(*args), "hvp")
        if out.size != 1:
            raise ShapeError(f"hvp: the function must return one number, got shape {out.shape}")
        grads = _gradients([out], leaves, None, True)
        products = _gradients([_inner(grads, vs)], leaves, None, nested)
    return _finish(out, nested), _finish(tuple(products) if many else products[0], nested)
