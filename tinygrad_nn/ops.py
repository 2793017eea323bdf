"""Every primitive operation: its forward and its vector-Jacobian products, side by side.

Each op is one ``Op(name, forward, *vjps)``. ``forward`` computes on raw data (a Python float
uses `math`, a numpy array uses numpy); ``vjps[i](g, out, *inputs)`` turns ``g``, the gradient
with respect to the output, into the gradient with respect to input ``i``. Broadcasting is
undone by the engine, so a VJP may return a broadcast shape. Inputs outside an op's domain
raise `DomainError` naming the op, the value and where it is.

The table at the bottom is the one place where ops become Value's operators and methods.
"""

from __future__ import annotations

import math
import operator
from typing import Any, Optional

import numpy as np

from .engine import Op, Value, identity_vjp
from .errors import DomainError, ShapeError


def _require(ok: Any, op: str, requirement: str, x: Any) -> None:
    """Raise DomainError unless `ok` (a bool or a bool array over `x`) holds everywhere."""
    if ok if type(ok) is bool else ok.all():
        return
    if type(x) is float:
        raise DomainError(f"{op}: {requirement}; got {x}")
    bad = np.argwhere(~np.asarray(ok))[0]
    where = tuple(int(k) for k in bad)
    value = np.broadcast_to(x, np.shape(ok))[where]
    raise DomainError(f"{op}: {requirement}; got {value} at index {where} "
                      f"of an input of shape {np.shape(x)}")


def _by_type(scalar_fn: Any, array_fn: Any) -> Any:
    """A forward that uses `scalar_fn` on Python floats and `array_fn` on numpy arrays."""
    return lambda x: scalar_fn(x) if type(x) is float else array_fn(x)


# ---- arithmetic -------------------------------------------------------------------------------
add = Op("+", operator.add,
         identity_vjp,
         identity_vjp)

sub = Op("-", operator.sub,
         identity_vjp,
         lambda g, out, a, b: -g)

mul = Op("*", operator.mul,
         lambda g, out, a, b: g * b,
         lambda g, out, a, b: g * a)


def _div(a: Any, b: Any) -> Any:
    _require(b != 0, "/", "the divisor must be nonzero", b)
    return a / b


div = Op("/", _div,
         lambda g, out, a, b: g / b,
         lambda g, out, a, b: -g * out / b)

neg = Op("neg", operator.neg,
         lambda g, out, a: -g)


def _pow(a: Any, b: Any) -> Any:
    _require((a >= 0) | (b % 1 == 0), "**", "a negative base needs an integer exponent", a)
    _require((a != 0) | (b >= 0), "**", "zero cannot be raised to a negative power", a)
    return a ** b


def _pow_vjp_base(g: Any, out: Any, a: Any, b: Any) -> Any:
    if type(b) is float and b == 0.0:  # x**0 is constant
        return 0.0 * g
    _require((a != 0) | (b >= 1) | (b == 0), "**", "the derivative of x**p for p < 1 is "
             "infinite at x = 0", a)
    return g * b * a ** (b - 1)


def _pow_vjp_exponent(g: Any, out: Any, a: Any, b: Any) -> Any:
    _require(a > 0, "**", "the derivative with respect to the exponent needs a positive base", a)
    return g * out * (math.log(a) if type(a) is float else np.log(a))


pow = Op("**", _pow, _pow_vjp_base, _pow_vjp_exponent)

# ---- elementwise functions --------------------------------------------------------------------
_EXP_LIMIT = {np.dtype(np.float32): 88.72, np.dtype(np.float64): 709.78}


def _exp(x: Any) -> Any:
    if type(x) is float:
        _require(x <= 709.78, "exp", "the input is so large that exp overflows", x)
        return math.exp(x)
    _require(x <= _EXP_LIMIT[x.dtype], "exp", "the input is so large that exp overflows", x)
    return np.exp(x)


exp = Op("exp", _exp,
         lambda g, out, x: g * out)


def _log(x: Any) -> Any:
    _require(x > 0, "log", "the input must be positive", x)
    return math.log(x) if type(x) is float else np.log(x)


log = Op("log", _log,
         lambda g, out, x: g / x)


def _sqrt(x: Any) -> Any:
    _require(x >= 0, "sqrt", "the input must be non-negative", x)
    return math.sqrt(x) if type(x) is float else np.sqrt(x)


def _sqrt_vjp(g: Any, out: Any, x: Any) -> Any:
    _require(out != 0, "sqrt", "the derivative is infinite at 0", x)
    return g / (2 * out)


sqrt = Op("sqrt", _sqrt, _sqrt_vjp)

abs = Op("abs", _by_type(math.fabs, np.abs),
         lambda g, out, x: g * ((x > 0) - (x < 0)) if type(x) is float else g * np.sign(x))

relu = Op("relu", _by_type(lambda x: x if x > 0 else 0.0, lambda x: np.maximum(x, 0)),
          lambda g, out, x: g * (x > 0))


def _sigmoid(x: Any) -> Any:
    """1 / (1 + e^-x), written so that neither branch overflows."""
    if type(x) is float:
        if x >= 0:
            return 1.0 / (1.0 + math.exp(-x))
        e = math.exp(x)
        return e / (1.0 + e)
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e))


sigmoid = Op("sigmoid", _sigmoid,
             lambda g, out, x: g * out * (1 - out))

tanh = Op("tanh", _by_type(math.tanh, np.tanh),
          lambda g, out, x: g * (1 - out * out))

softplus = Op("softplus",
              _by_type(lambda x: (x if x > 0 else 0.0) + math.log1p(math.exp(-math.fabs(x))),
                       lambda x: np.logaddexp(0, x)),
              lambda g, out, x: g * _sigmoid(x))

leaky_relu = Op("leaky_relu",
                lambda x, *, alpha: (x if x > 0 else alpha * x) if type(x) is float
                else np.where(x > 0, x, alpha * x),
                lambda g, out, x, *, alpha: (g if x > 0 else alpha * g) if type(x) is float
                else np.where(x > 0, g, alpha * g),
                defaults={"alpha": 0.01})


def _clip(x: Any, *, lo: Optional[float], hi: Optional[float]) -> Any:
    if type(x) is float:
        x = x if lo is None or x >= lo else float(lo)
        return x if hi is None or x <= hi else float(hi)
    return np.clip(x, lo, hi)


def _inside(x: Any, lo: Optional[float], hi: Optional[float]) -> Any:
    """Where clip lets the input through (bounds included), so its derivative there is 1."""
    return (lo is None or x >= lo) & (hi is None or x <= hi) if type(x) is float else \
        np.logical_and(x >= (-np.inf if lo is None else lo), x <= (np.inf if hi is None else hi))


clip = Op("clip", _clip,
          lambda g, out, x, *, lo, hi: g * _inside(x, lo, hi),
          defaults={"lo": None, "hi": None})


_where = Op("where",
             lambda a, b, *, cond: (a if cond else b)
             if type(a) is float and type(b) is float and cond.ndim == 0 else np.where(cond, a, b),
             lambda g, out, a, b, *, cond: np.where(cond, g, 0),
             lambda g, out, a, b, *, cond: np.where(cond, 0, g))


def where(cond: Any, a: Any, b: Any) -> Value:
    """`a` where `cond` is true, else `b` (elementwise, broadcasting); `cond` gets no gradient."""
    if isinstance(cond, Value):
        cond = cond.data
    return _where(a, b, cond=np.asarray(cond, dtype=bool))


# ---- linear algebra ---------------------------------------------------------------------------
def _matmul(a: Any, b: Any) -> Any:
    if type(a) is float or type(b) is float or a.ndim == 0 or b.ndim == 0:
        raise ShapeError(f"@: both operands need at least one dimension; got shapes "
                         f"{np.shape(a)} and {np.shape(b)} (use * to scale)")
    if a.shape[-1] != b.shape[0 if b.ndim == 1 else -2]:
        raise ShapeError(f"@: shapes {a.shape} and {b.shape} do not line up: {a.shape[-1]} "
                         f"(last axis of the left) != {b.shape[0 if b.ndim == 1 else -2]} "
                         f"({'only' if b.ndim == 1 else 'second to last'} axis of the right)")
    return a @ b


def _as_matrices(g: Any, a: Any, b: Any) -> tuple:
    """View 1-D matmul operands as matrices (a as one row, b as one column), and g to match."""
    if b.ndim == 1:
        b, g = b[:, None], g[..., None]
    if a.ndim == 1:
        a, g = a[None, :], g[..., None, :]
    return g, a, b


def _matmul_vjp_a(g: Any, out: Any, a: Any, b: Any) -> Any:
    if a.ndim == 2 and b.ndim == 2:
        return g @ b.T
    g2, a2, b2 = _as_matrices(g, a, b)
    ga = g2 @ np.swapaxes(b2, -1, -2)
    return ga[..., 0, :] if a.ndim == 1 else ga


def _matmul_vjp_b(g: Any, out: Any, a: Any, b: Any) -> Any:
    if a.ndim == 2 and b.ndim == 2:
        return a.T @ g
    g2, a2, b2 = _as_matrices(g, a, b)
    gb = np.swapaxes(a2, -1, -2) @ g2
    return gb[..., 0] if b.ndim == 1 else gb


matmul = Op("@", _matmul, _matmul_vjp_a, _matmul_vjp_b)


def _linear(x: Any, w: Any, b: Any) -> Any:
    if type(x) is float or x.ndim == 0 or x.shape[-1] != w.shape[1]:
        raise ShapeError(f"linear: the input's last axis must have {w.shape[1]} features to match "
                         f"the weights {w.shape}; got an input of shape {np.shape(x)}")
    return x @ w.T + b


def _linear_vjp_w(g: Any, out: Any, x: Any, w: Any, b: Any) -> Any:
    if x.ndim == 1:
        return np.outer(g, x)
    # np.dot rather than @: numpy's matmul does not call BLAS when the batch (inner) axis is 1
    return np.dot(g.reshape(-1, w.shape[0]).T, x.reshape(-1, w.shape[1]))


# x @ W.T + b as one node: a layer of units, with weights W of shape (nout, nin). Fusing saves a
# node and a broadcast, and the batch (a constant) costs no gradient work at all.
linear = Op("linear", _linear,
            lambda g, out, x, w, b: g @ w,
            _linear_vjp_w,
            identity_vjp)  # the engine sums g over the batch to b's shape


# ---- reductions -------------------------------------------------------------------------------
def _expand(g: Any, x: Any, axis: Any, keepdims: bool) -> Any:
    """Bring a reduction's output gradient back to the rank of its input, ready to broadcast."""
    if type(x) is float or keepdims or axis is None:
        return g
    return np.expand_dims(g, axis)


sum = Op("sum",
         lambda x, *, axis, keepdims:
         np.sum(x, axis=axis, keepdims=keepdims) if type(x) is float else
         np.add.reduce(x, axis=axis, keepdims=keepdims),  # np.sum minus its Python wrapper
         lambda g, out, x, *, axis, keepdims: _expand(g, x, axis, keepdims),
         defaults={"axis": None, "keepdims": False})

mean = Op("mean",
          lambda x, *, axis, keepdims: np.mean(x, axis=axis, keepdims=keepdims),
          lambda g, out, x, *, axis, keepdims: _expand(g, x, axis, keepdims) * (np.size(out) / np.size(x)),
          defaults={"axis": None, "keepdims": False})


def _max_vjp(g: Any, out: Any, x: Any, *, axis: Any, keepdims: bool) -> Any:
    """The gradient goes to the maximal elements; ties share it equally."""
    if type(x) is float:
        return g
    hit = x == _expand(out, x, axis, keepdims)
    return _expand(g, x, axis, keepdims) * hit / np.sum(hit, axis=axis, keepdims=True)


max = Op("max",
         lambda x, *, axis, keepdims: np.max(x, axis=axis, keepdims=keepdims),
         _max_vjp,
         defaults={"axis": None, "keepdims": False})


def _logsumexp(x: Any, *, axis: Any, keepdims: bool) -> Any:
    """log(sum(exp(x))), computed after subtracting the maximum so that nothing overflows."""
    if type(x) is float:
        return x
    m = x.max(axis=axis, keepdims=True)  # array methods: np.max and friends add a Python layer
    m = np.where(np.isfinite(m), m, 0)
    out = np.log(np.exp(x - m).sum(axis=axis, keepdims=True)) + m
    return out if keepdims else out.squeeze(axis=axis)


logsumexp = Op("logsumexp", _logsumexp,
               lambda g, out, x, *, axis, keepdims:
               g if type(x) is float else
               _expand(g, x, axis, keepdims) * np.exp(x - _expand(out, x, axis, keepdims)),
               defaults={"axis": -1, "keepdims": False})


def _log_softmax(x: Any, *, axis: int) -> Any:
    """x - logsumexp(x), shifted by the maximum first so that exp cannot overflow. (A row
    holding inf gives nan either way, so unlike logsumexp this skips the check for one.)"""
    if type(x) is float:
        return 0.0
    shifted = x - x.max(axis=axis, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))


log_softmax = Op("log_softmax", _log_softmax,
                 lambda g, out, x, *, axis:
                 g - np.exp(out) * np.sum(g, axis=axis, keepdims=True) if type(x) is not float else 0.0,
                 defaults={"axis": -1})

softmax = Op("softmax",
             lambda x, *, axis: 1.0 if type(x) is float else np.exp(_log_softmax(x, axis=axis)),
             lambda g, out, x, *, axis:
             out * (g - np.sum(g * out, axis=axis, keepdims=True)) if type(x) is not float else 0.0,
             defaults={"axis": -1})



def _rows(z: Any) -> int:
    """How many rows of classes (on the last axis) `z` holds."""
    return z.size // z.shape[-1]


def _softmax_cross_entropy(z: Any, y: Any) -> Any:
    if type(z) is float or np.shape(y) != z.shape:
        raise ShapeError(f"softmax_cross_entropy: targets must have the logits' shape, with the "
                         f"classes on the last axis; got logits {np.shape(z)} and targets "
                         f"{np.shape(y)}")
    return -np.vdot(y, _log_softmax(z, axis=-1)) / _rows(z)


# Cross-entropy of softmax(z) against target rows y, averaged over the rows: the usual last
# layer of a classifier as one node, with PyTorch's fused gradient (softmax(z) - y) / m for
# one-hot rows instead of four nodes (log_softmax, *, sum, /) each with its own VJP.
softmax_cross_entropy = Op(
    "softmax_cross_entropy", _softmax_cross_entropy,
    lambda g, out, z, y:
    (np.exp(_log_softmax(z, axis=-1)) * y.sum(axis=-1, keepdims=True) - y) * (g / _rows(z)),
    lambda g, out, z, y: -g * _log_softmax(z, axis=-1) / _rows(z))


# ---- shapes and indexing ----------------------------------------------------------------------
reshape = Op("reshape",
             lambda x, *, shape: np.reshape(x, shape),
             lambda g, out, x, *, shape: np.reshape(g, np.shape(x)))

transpose = Op("transpose",
               lambda x, *, axes: np.transpose(x, axes),
               lambda g, out, x, *, axes:
               np.transpose(g, None if axes is None else np.argsort(np.asarray(axes) % np.ndim(x))),
               defaults={"axes": None})


def _is_basic(key: Any) -> bool:
    """True for keys made of ints, slices, None and Ellipsis: they never select twice."""
    parts = key if type(key) is tuple else (key,)
    return all(isinstance(k, (int, np.integer, slice, type(None), type(Ellipsis))) for k in parts)


def _getitem(x: Any, *, key: Any) -> Any:
    if type(x) is float:
        raise ShapeError(f"[]: a scalar Value cannot be indexed (index {key!r})")
    return x[key]


def _getitem_vjp(g: Any, out: Any, x: Any, *, key: Any) -> Any:
    grad = np.zeros_like(x)
    if _is_basic(key):
        grad[key] = g
    else:  # fancy indices may repeat: every occurrence adds its share
        np.add.at(grad, key, g)
    return grad


getitem = Op("[]", _getitem, _getitem_vjp)


def _index_data(key: Any) -> Any:
    """Unwrap Values used as indices (integer arrays held in a Value, say)."""
    if isinstance(key, Value):
        return np.asarray(key.data).astype(np.intp)
    if type(key) is tuple:
        return tuple(_index_data(k) for k in key)
    return key


def _concatenate_vjp(i: int, g: Any, out: Any, *xs: Any, axis: int) -> Any:
    axis = axis % g.ndim
    start = int(np.sum([np.shape(x)[axis] for x in xs[:i]], dtype=int))
    index = (slice(None),) * axis + (slice(start, start + np.shape(xs[i])[axis]),)
    return g[index]


concatenate = Op("concatenate",
                 lambda *xs, axis: np.concatenate(xs, axis=axis),
                 _concatenate_vjp,
                 defaults={"axis": 0}, variadic=True)

stack = Op("stack",
           lambda *xs, axis: np.stack(xs, axis=axis),
           lambda i, g, out, *xs, axis: np.take(g, i, axis=axis),
           defaults={"axis": 0}, variadic=True)


# ---- the table: how ops appear on Value ---------------------------------------------------------
def _reduction(op: Op) -> Any:
    def method(self: Value, axis: Any = None, keepdims: bool = False) -> Value:
        return op(self, axis=axis, keepdims=keepdims)
    method.__name__ = op.name
    method.__doc__ = f"{op.name} over `axis` (all axes when None), keeping reduced axes if asked."
    return method


def _reshape_method(self: Value, *shape: Any) -> Value:
    """Same data, new shape: x.reshape(2, 3) or x.reshape((2, 3)); one axis may be -1."""
    if len(shape) == 1 and not isinstance(shape[0], (int, np.integer)):
        shape = shape[0]
    return reshape(self, shape=shape)


def _transpose_method(self: Value, *axes: Any) -> Value:
    """Permute axes (reverse them when none are given)."""
    if len(axes) == 1 and not isinstance(axes[0], (int, np.integer)):
        axes = axes[0]
    return transpose(self, axes=tuple(axes) if axes else None)


_BINARY = {"add": add, "sub": sub, "mul": mul, "truediv": div, "pow": pow, "matmul": matmul}

_METHODS = {
    **{f"__{name}__": op.method() for name, op in _BINARY.items()},
    **{f"__r{name}__": op.method(reflected=True) for name, op in _BINARY.items()},
    "__neg__": neg.method(),
    "__pos__": lambda self: self,
    "__abs__": abs.method(),
    "__getitem__": lambda self, key: getitem(self, key=_index_data(key)),
    **{op.name: op.method() for op in (exp, log, sqrt, abs, relu, sigmoid, tanh, softplus)},
    "leaky_relu": lambda self, alpha=leaky_relu.defaults["alpha"]: leaky_relu(self, alpha=alpha),
    "clip": lambda self, lo=None, hi=None: clip(self, lo=lo, hi=hi),
    "sum": _reduction(sum),
    "mean": _reduction(mean),
    "max": _reduction(max),
    "logsumexp": lambda self, axis=-1, keepdims=False: logsumexp(self, axis=axis, keepdims=keepdims),
    "log_softmax": lambda self, axis=-1: log_softmax(self, axis=axis),
    "softmax": lambda self, axis=-1: softmax(self, axis=axis),
    "reshape": _reshape_method,
    "transpose": _transpose_method,
    "T": property(lambda self: transpose(self, axes=None)),
}

for _name, _method in _METHODS.items():
    setattr(Value, _name, _method)

