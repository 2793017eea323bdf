"""Every primitive operation, each in one definition: forward, VJPs, names and test facts.

Each op is one ``Op(name, forward, *vjps, ...)`` (see `tinygrad_nn.Op`): ``forward`` computes on
numpy arrays, ``scalar=`` on Python floats (`math` is much faster there), and ``vjps[i](g, out,
*inputs)`` turns ``g``, the gradient with respect to the output, into the gradient with respect
to input ``i``. The VJPs use only operators, methods that Value shares with numpy arrays, and
``op.of(...)``, so the same formula runs on raw data (first-order backpropagation) and on Values
(``create_graph=True``: the gradient is itself a graph, and can be differentiated again). Masks
(relu's x > 0, abs's sign) are ops with no derivative, so a replayed or twice-differentiated
graph recomputes them instead of keeping a stale copy. Broadcasting is undone by the engine
(`fit_to`), so a VJP may return a broadcast shape. Inputs outside an op's domain raise
`DomainError` naming the op, the value and where it is.

The ``methods=`` and ``operators=`` of a definition make it a Value method or operator; every op
here is also a package-level function taking the same positional arguments (``tg.sum(x, 1)``);
``info=`` says where it is smooth, for `tinygrad_nn.testing.OPS`. Adding an op is adding one
definition here (and its tests); `python -m tinygrad_nn.ops` then refreshes the declarations
that type checkers read in `engine.Value`.
"""

from __future__ import annotations

import math
import operator
import sys
from pathlib import Path
from typing import Any, Optional

import numpy as np

from .engine import REQUIRED, Op, Value, fit_to, identity_vjp  # fit_to: an op the engine needs
from .errors import DomainError, ShapeError
from .opinfo import FREE, MARGIN, Domain, OpInfo, at_zero


def _raw(x: Any) -> Any:
    """The data of a Value, or `x` itself: what domain checks look at, in either mode."""
    return x.data if isinstance(x, Value) else x


def _require(ok: Any, op: str, requirement: str, x: Any) -> None:
    """Raise DomainError unless `ok` (a bool or a bool array over `x`) holds everywhere."""
    if ok if type(ok) is bool else ok.all():
        return
    if type(x) is float:
        raise DomainError(f"{op}: {requirement}; got {x}")
    bad = np.argwhere(~np.asarray(ok))[0]
    where_ = tuple(int(k) for k in bad)
    value = np.broadcast_to(x, np.shape(ok))[where_]
    raise DomainError(f"{op}: {requirement}; got {value} at index {where_} "
                      f"of an input of shape {np.shape(x)}")


BINARY = OpInfo(operands="binary")

# ---- arithmetic -------------------------------------------------------------------------------
add = Op("+", operator.add,
         identity_vjp,
         identity_vjp,
         operators=("__add__", "__radd__"), info=BINARY)

sub = Op("-", operator.sub,
         identity_vjp,
         lambda g, out, a, b: -g,
         operators=("__sub__", "__rsub__"), info=BINARY)

mul = Op("*", operator.mul,
         lambda g, out, a, b: g * b,
         lambda g, out, a, b: g * a,
         operators=("__mul__", "__rmul__"), info=BINARY)


def _div(a: Any, b: Any) -> Any:
    _require(b != 0, "/", "the divisor must be nonzero", b)
    return a / b


div = Op("/", _div,
         lambda g, out, a, b: g / b,
         lambda g, out, a, b: -g * out / b,
         operators=("__truediv__", "__rtruediv__"),
         info=OpInfo("binary", domains=(FREE, Domain(avoid=(0.0,), margin=0.25))))

neg = Op("neg", operator.neg,
         lambda g, out, a: -g,
         operators=("__neg__",))


def _pow(a: Any, b: Any) -> Any:
    _require((a >= 0) | (b % 1 == 0), "**", "a negative base needs an integer exponent", a)
    _require((a != 0) | (b >= 0), "**", "zero cannot be raised to a negative power", a)
    return a ** b


def _pow_vjp_base(g: Any, out: Any, a: Any, b: Any) -> Any:
    """b a^(b-1). Where a = b = 0 the exponent b - 1 is replaced by 1, so that 0^0 has
    derivative 0 (not 0 * inf = nan)."""
    ra, rb = _raw(a), _raw(b)
    _require((ra != 0) | (rb >= 1) | (rb == 0), "**", "the derivative of x**p for p < 1 is "
             "infinite at x = 0", ra)
    if type(rb) is float and rb == 0 and not (isinstance(b, Value) and b.requires_grad):
        return None  # x**0 is constant
    both_zero = (ra == 0) & (rb == 0)
    if not (both_zero if type(both_zero) is bool else both_zero.any()):
        return g * b * a ** (b - 1)
    return g * b * a ** where.of(equal.of(a, 0.0) * equal.of(b, 0.0), 1.0, b - 1)


def _pow_vjp_exponent(g: Any, out: Any, a: Any, b: Any) -> Any:
    """a^b log a; where a = 0 the result a^b is 0 (or constant), so log a counts as 0 there."""
    _require(_raw(a) >= 0, "**", "the derivative with respect to the exponent needs a "
             "non-negative base", _raw(a))
    return g * out * log.of(where.of(equal.of(a, 0.0), 1.0, a))


pow = Op("**", _pow, _pow_vjp_base, _pow_vjp_exponent,
         operators=("__pow__", "__rpow__"),
         info=OpInfo("binary", domains=(Domain(lo=0.25), Domain(lo=-3.0, hi=3.0))))


# ---- comparisons and masks: results of 0 and 1 in the inputs' dtype, with no derivative ---------
def _comparison(name: str, compare: Any, dunder: str) -> Op:
    """An elementwise comparison, as an op without a derivative."""
    def forward(a: Any, b: Any) -> Any:
        return compare(a, b).astype(np.result_type(a, b))
    return Op(name, forward, None, None, scalar=lambda a, b: float(compare(a, b)),
              operators=(dunder,) if dunder else (), info=OpInfo("binary", smooth=_apart))


def _apart(datas: list, kw: dict) -> bool:
    """A comparison is constant near inputs that are not close to equal."""
    a, b = datas
    return bool((np.abs(np.subtract(a, b)) >= 2 * MARGIN).all())


less = _comparison("<", operator.lt, "__lt__")
less_equal = _comparison("<=", operator.le, "__le__")
greater = _comparison(">", operator.gt, "__gt__")
greater_equal = _comparison(">=", operator.ge, "__ge__")
equal = _comparison("equal", operator.eq, "")  # Value keeps == for identity (sets, dicts)

sign = Op("sign", np.sign, None,
          scalar=lambda x: float((x > 0) - (x < 0)),
          methods=("sign",), info=OpInfo(kinks=at_zero))


# where(cond, a, b): `a` where `cond` is nonzero, else `b` (elementwise, broadcasting); the
# condition has no derivative.
where: Op = Op("where", np.where,
           None,
           lambda g, out, cond, a, b: where.of(cond, g, 0.0),
           lambda g, out, cond, a, b: where.of(cond, 0.0, g),
           scalar=lambda cond, a, b: a if cond else b,
           info=OpInfo("where"))

# ---- elementwise functions --------------------------------------------------------------------
_EXP_LIMIT = {np.dtype(np.float32): 88.72, np.dtype(np.float64): 709.78}


def _exp(x: Any) -> Any:
    _require(x <= _EXP_LIMIT[x.dtype], "exp", "the input is so large that exp overflows", x)
    return np.exp(x)


def _exp_scalar(x: float) -> float:
    _require(x <= 709.78, "exp", "the input is so large that exp overflows", x)
    return math.exp(x)


exp = Op("exp", _exp,
         lambda g, out, x: g * out,
         scalar=_exp_scalar, methods=("exp",), info=OpInfo(domains=(Domain(hi=10.0),)))


def _log(x: Any) -> Any:
    _require(x > 0, "log", "the input must be positive", x)
    return math.log(x) if type(x) is float else np.log(x)


log = Op("log", _log,
         lambda g, out, x: g / x,
         methods=("log",), info=OpInfo(domains=(Domain(lo=0.1),)))


def _sqrt(x: Any) -> Any:
    _require(x >= 0, "sqrt", "the input must be non-negative", x)
    return math.sqrt(x) if type(x) is float else np.sqrt(x)


def _sqrt_vjp(g: Any, out: Any, x: Any) -> Any:
    _require(_raw(out) != 0, "sqrt", "the derivative is infinite at 0", _raw(x))
    return g / (2 * out)


sqrt = Op("sqrt", _sqrt, _sqrt_vjp, methods=("sqrt",), info=OpInfo(domains=(Domain(lo=0.1),)))

abs = Op("abs", np.abs,
         lambda g, out, x: g * sign.of(x),
         scalar=math.fabs, methods=("abs",), operators=("__abs__",), info=OpInfo(kinks=at_zero))

relu = Op("relu", lambda x: np.maximum(x, 0),
          lambda g, out, x: g * (x > 0),
          scalar=lambda x: x if x > 0 else 0.0, methods=("relu",), info=OpInfo(kinks=at_zero))


def _sigmoid(x: Any) -> Any:
    """1 / (1 + e^-x), written so that neither branch overflows."""
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e))


def _sigmoid_scalar(x: float) -> float:
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


sigmoid = Op("sigmoid", _sigmoid,
             lambda g, out, x: g * out * (1 - out),
             scalar=_sigmoid_scalar, methods=("sigmoid",))

tanh = Op("tanh", np.tanh,
          lambda g, out, x: g * (1 - out * out),
          scalar=math.tanh, methods=("tanh",))

softplus = Op("softplus", lambda x: np.logaddexp(0, x),
              lambda g, out, x: g * sigmoid.of(x),
              scalar=lambda x: (x if x > 0 else 0.0) + math.log1p(math.exp(-math.fabs(x))),
              methods=("softplus",))

leaky_relu = Op("leaky_relu",
                lambda x, *, alpha: np.where(x > 0, x, alpha * x),
                lambda g, out, x, *, alpha: where.of(x > 0, g, alpha * g),
                scalar=lambda x, *, alpha: x if x > 0 else alpha * x,
                defaults={"alpha": 0.01}, methods=("leaky_relu",),
                info=OpInfo("leaky_relu", kinks=at_zero))


def _clip_scalar(x: float, *, lo: Optional[float], hi: Optional[float]) -> float:
    x = x if lo is None or x >= lo else float(lo)
    return x if hi is None or x <= hi else float(hi)


def _clip_vjp(g: Any, out: Any, x: Any, *, lo: Optional[float], hi: Optional[float]) -> Any:
    """1 where clip lets the input through (bounds included), 0 where it clips."""
    if lo is not None:
        g = g * (x >= lo)
    if hi is not None:
        g = g * (x <= hi)
    return g


clip = Op("clip", lambda x, *, lo, hi: np.clip(x, lo, hi), _clip_vjp, scalar=_clip_scalar,
          defaults={"lo": None, "hi": None}, methods=("clip",),
          info=OpInfo("clip", kinks=lambda kw: tuple(b for b in (kw["lo"], kw["hi"])
                                                     if b is not None)))


# ---- linear algebra ---------------------------------------------------------------------------
def _matmul(a: Any, b: Any) -> Any:
    if a.ndim == 0 or b.ndim == 0:
        raise ShapeError(f"@: both operands need at least one dimension; got shapes "
                         f"{np.shape(a)} and {np.shape(b)} (use * to scale)")
    if a.shape[-1] != b.shape[0 if b.ndim == 1 else -2]:
        raise ShapeError(f"@: shapes {a.shape} and {b.shape} do not line up: {a.shape[-1]} "
                         f"(last axis of the left) != {b.shape[0 if b.ndim == 1 else -2]} "
                         f"({'only' if b.ndim == 1 else 'second to last'} axis of the right)")
    # np.dot for matrices: numpy's @ does not call BLAS when the inner axis has length 1
    return np.dot(a, b) if a.ndim == 2 and b.ndim == 2 else a @ b


def _swap_last(x: Any) -> Any:
    """A (batch of) matrices transposed."""
    n = x.ndim
    return transpose.of(x, axes=(*range(n - 2), n - 1, n - 2))


def _as_matrices(g: Any, a: Any, b: Any) -> tuple:
    """View 1-D matmul operands as matrices (a as one row, b as one column), and g to match."""
    if b.ndim == 1:
        b, g = b.reshape(-1, 1), g[..., None]
    if a.ndim == 1:
        a, g = a.reshape(1, -1), g[..., None, :]
    return g, a, b


def _matmul_vjp_a(g: Any, out: Any, a: Any, b: Any) -> Any:
    if a.ndim == 2 and b.ndim == 2:
        return g @ b.T
    g2, _, b2 = _as_matrices(g, a, b)
    ga = g2 @ _swap_last(b2)
    return ga[..., 0, :] if a.ndim == 1 else ga


def _matmul_vjp_b(g: Any, out: Any, a: Any, b: Any) -> Any:
    if a.ndim == 2 and b.ndim == 2:
        return matmul.of(a.T, g)  # np.dot, even for an inner axis of length 1 (batch 1)
    g2, a2, _ = _as_matrices(g, a, b)
    gb = _swap_last(a2) @ g2
    return gb[..., 0] if b.ndim == 1 else gb


matmul = Op("@", _matmul, _matmul_vjp_a, _matmul_vjp_b, scalar=False,
            operators=("__matmul__", "__rmatmul__"), info=OpInfo("matmul", min_dims=1))


def _linear(x: Any, w: Any, b: Any) -> Any:
    if x.ndim == 0 or x.shape[-1] != w.shape[1]:
        raise ShapeError(f"linear: the input's last axis must have {w.shape[1]} features to match "
                         f"the weights {w.shape}; got an input of shape {np.shape(x)}")
    return x @ w.T + b


def _linear_vjp_w(g: Any, out: Any, x: Any, w: Any, b: Any) -> Any:
    nout, nin = w.shape
    if x.ndim == 1:
        return g.reshape(nout, 1) * x
    return matmul.of(g.reshape(-1, nout).T, x.reshape(-1, nin))  # np.dot on raw data: BLAS


# x @ W.T + b as one node: a layer of units, with weights W of shape (nout, nin). Fusing saves a
# node and a broadcast, and the batch (a constant) costs no gradient work at all.
linear = Op("linear", _linear,
            lambda g, out, x, w, b: g @ w,
            _linear_vjp_w,
            identity_vjp,  # the engine sums g over the batch to b's shape
            scalar=False, info=OpInfo("linear", min_dims=1))


# ---- reductions -------------------------------------------------------------------------------
def _kept(x: Any, axis: Any) -> tuple:
    """The shape of a reduction of `x` over `axis` with keepdims."""
    shape = np.shape(x)
    if axis is None:
        return (1,) * len(shape)
    axes = {a % len(shape) for a in (axis if isinstance(axis, tuple) else (axis,))}
    return tuple(1 if k in axes else n for k, n in enumerate(shape))


def _expand(g: Any, x: Any, axis: Any, keepdims: bool) -> Any:
    """Bring a reduction's output gradient back to the rank of its input, ready to broadcast."""
    if keepdims or axis is None or type(_raw(x)) is float:
        return g
    return g.reshape(_kept(x, axis))


REDUCTION = {"axis": None, "keepdims": False}

sum = Op("sum",
         lambda x, *, axis, keepdims: np.add.reduce(x, axis=axis, keepdims=keepdims),
         lambda g, out, x, *, axis, keepdims: _expand(g, x, axis, keepdims),
         scalar=lambda x, *, axis, keepdims: float(np.sum(x, axis=axis, keepdims=keepdims)),
         defaults=REDUCTION, methods=("sum",), info=OpInfo("reduction"))

mean = Op("mean",
          lambda x, *, axis, keepdims: np.mean(x, axis=axis, keepdims=keepdims),
          lambda g, out, x, *, axis, keepdims:
          _expand(g, x, axis, keepdims) * (np.size(_raw(out)) / np.size(_raw(x))),
          defaults=REDUCTION, methods=("mean",), info=OpInfo("reduction"))


def _max_vjp(g: Any, out: Any, x: Any, *, axis: Any, keepdims: bool) -> Any:
    """The gradient goes to the maximal elements; ties share it equally."""
    if type(_raw(x)) is float:
        return g
    hit = equal.of(x, _expand(out, x, axis, keepdims))
    return _expand(g, x, axis, keepdims) * hit / hit.sum(axis=axis, keepdims=True)


def _no_ties(datas: list, kw: dict) -> bool:
    """Max has a derivative where each reduced slice has a single largest element."""
    x, axis = datas[0], kw["axis"]
    if type(x) is float:
        return True
    axes = tuple(range(x.ndim)) if axis is None else tuple(np.atleast_1d(axis) % (x.ndim or 1))
    slices = np.moveaxis(x, axes, tuple(range(x.ndim - len(axes), x.ndim)))
    slices = slices.reshape(-1, int(np.prod([x.shape[a] for a in axes])))
    if slices.shape[1] < 2:
        return True
    top_two = np.sort(slices, axis=1)[:, -2:]
    return bool((top_two[:, 1] - top_two[:, 0] >= MARGIN).all())


max = Op("max",
         lambda x, *, axis, keepdims: np.max(x, axis=axis, keepdims=keepdims),
         _max_vjp,
         defaults=REDUCTION, methods=("max",),
         info=OpInfo("reduction", domains=(Domain(distinct=True),), smooth=_no_ties))


def _logsumexp(x: Any, *, axis: Any, keepdims: bool) -> Any:
    """log(sum(exp(x))), computed after subtracting the maximum so that nothing overflows."""
    m = x.max(axis=axis, keepdims=True)  # array methods: np.max and friends add a Python layer
    m = np.where(np.isfinite(m), m, 0)
    out = np.log(np.exp(x - m).sum(axis=axis, keepdims=True)) + m
    return out if keepdims else out.squeeze(axis=axis)


def _check_axis(axis: Any, op: str) -> None:
    """A Python float counts as a single class: along axis 0 or -1 (or all axes)."""
    if axis not in (None, (), 0, -1, (0,), (-1,)):
        raise ShapeError(f"{op}: axis {axis} is out of bounds for a scalar Value")


def _logsumexp_scalar(x: float, *, axis: Any, keepdims: bool) -> float:
    _check_axis(axis, "logsumexp")
    return x


logsumexp = Op("logsumexp", _logsumexp,
               lambda g, out, x, *, axis, keepdims:
               g if type(_raw(x)) is float else
               _expand(g, x, axis, keepdims) * exp.of(x - _expand(out, x, axis, keepdims)),
               scalar=_logsumexp_scalar,
               defaults={"axis": -1, "keepdims": False}, methods=("logsumexp",),
               info=OpInfo("reduction"))


def _log_softmax(x: Any, *, axis: int) -> Any:
    """x - logsumexp(x), shifted by the maximum first so that exp cannot overflow. (A row
    holding inf gives nan either way, so unlike logsumexp this skips the check for one.)"""
    shifted = x - x.max(axis=axis, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))


def _scalar_softmax(value: float, op: str) -> Any:
    """log_softmax and softmax of a single number: 0 and 1 (one class has all of the mass)."""
    def scalar(x: float, *, axis: int) -> float:
        _check_axis(axis, op)
        return value
    return scalar


log_softmax = Op("log_softmax", _log_softmax,
                 lambda g, out, x, *, axis:
                 None if type(_raw(x)) is float else
                 g - exp.of(out) * g.sum(axis=axis, keepdims=True),
                 scalar=_scalar_softmax(0.0, "log_softmax"), defaults={"axis": -1},
                 methods=("log_softmax",), info=OpInfo("axis", min_dims=1))

softmax = Op("softmax", lambda x, *, axis: np.exp(_log_softmax(x, axis=axis)),
             lambda g, out, x, *, axis:
             None if type(_raw(x)) is float else
             out * (g - (g * out).sum(axis=axis, keepdims=True)),
             scalar=_scalar_softmax(1.0, "softmax"), defaults={"axis": -1},
             methods=("softmax",), info=OpInfo("axis", min_dims=1))


def _rows(z: Any) -> int:
    """How many rows of classes (on the last axis) `z` holds."""
    return z.size // z.shape[-1]  # Value and ndarray alike: attributes, not np.size/np.shape


def _softmax_cross_entropy(z: Any, y: Any) -> Any:
    if z.ndim == 0 or np.shape(y) != z.shape:
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
    (softmax.of(z) * y.sum(axis=-1, keepdims=True) - y) * (g / _rows(z)),
    lambda g, out, z, y: -g * log_softmax.of(z) / _rows(z),
    scalar=False, info=OpInfo("same_shape", min_dims=1))


# ---- shapes and indexing ----------------------------------------------------------------------
reshape = Op("reshape",
             lambda x, *, shape: np.reshape(x, shape),
             lambda g, out, x, *, shape: g.reshape(np.shape(x)),
             scalar=False, defaults={"shape": REQUIRED}, varargs=True, methods=("reshape",),
             info=OpInfo("reshape"))


def _inverse(axes: Any, ndim: int) -> Any:
    return None if axes is None else tuple(int(k) for k in np.argsort(np.asarray(axes) % ndim))


transpose: Op = Op("transpose",
               lambda x, *, axes: np.transpose(x, axes),
               lambda g, out, x, *, axes: transpose.of(g, axes=_inverse(axes, np.ndim(_raw(x)))),
               scalar=False, defaults={"axes": None}, varargs=True, methods=("transpose",),
               properties=("T",), info=OpInfo("transpose"))


def _is_basic(key: Any) -> bool:
    """True for keys made of ints, slices, None and Ellipsis: they never select twice."""
    parts = key if type(key) is tuple else (key,)
    return all(isinstance(k, (int, np.integer, slice, type(None), type(Ellipsis))) for k in parts)


def _index(key: Any) -> Any:
    """Unwrap Values used as indices (integer arrays held in a Value, say)."""
    if isinstance(key, Value):
        return np.asarray(key.data).astype(np.intp)
    if type(key) is tuple:
        return tuple(_index(k) for k in key)
    return key


def _getitem(x: Any, *, key: Any) -> Any:
    if x.ndim == 0 and any(k is not None and k is not Ellipsis
                           for k in (key if type(key) is tuple else (key,))):
        raise ShapeError(f"[]: a scalar Value cannot be indexed (index {key!r})")
    return x[_index(key)]


getitem = Op("[]", _getitem,
             lambda g, out, x, *, key: scatter_add.of(g, key=key, shape=np.shape(x)),
             scalar=False, defaults={"key": REQUIRED}, operators=("__getitem__",),
             info=OpInfo("key", min_dims=1))


def _scatter_add(g: Any, *, key: Any, shape: tuple) -> Any:
    grad = np.zeros(shape, g.dtype)
    key = _index(key)
    if _is_basic(key):
        grad[key] = g
    else:  # fancy indices may repeat: every occurrence adds its share
        np.add.at(grad, key, g)
    return grad


# The adjoint of indexing: zeros of `shape` with `g` added at `key` (repeated indices add up).
scatter_add: Op = Op("scatter_add", _scatter_add,
                 lambda g, out, x, *, key, shape: getitem.of(g, key=key),
                 scalar=False, defaults={"key": REQUIRED, "shape": REQUIRED},
                 info=OpInfo("scatter", min_dims=1))


def _concatenate_vjp(i: int, g: Any, out: Any, *xs: Any, axis: int) -> Any:
    axis = axis % g.ndim
    start = int(np.sum([np.shape(x)[axis] for x in xs[:i]], dtype=int))
    return g[(slice(None),) * axis + (slice(start, start + np.shape(xs[i])[axis]),)]


concatenate = Op("concatenate",
                 lambda *xs, axis: np.concatenate(xs, axis=axis),
                 _concatenate_vjp,
                 scalar=False, defaults={"axis": 0}, variadic=True,
                 info=OpInfo("pieces", min_dims=1))

stack = Op("stack",
           lambda *xs, axis: np.stack(xs, axis=axis),
           lambda i, g, out, *xs, axis: g[(slice(None),) * (axis % g.ndim) + (i,)],
           scalar=False, defaults={"axis": 0}, variadic=True, info=OpInfo("stacked"))



# ---- the table: every op above, and how it appears on Value -----------------------------------
ALL: dict[str, Op] = {name: op for name, op in vars(sys.modules[__name__]).items()
                      if isinstance(op, Op) and not name.startswith("_")}
# The package-level functions (`from tinygrad_nn.ops import *`): the names of ALL, written out
# so that type checkers see them.
__all__ = [
    # ---- generated by `python -m tinygrad_nn.ops` from the op definitions; do not edit ----
    "abs",
    "add",
    "clip",
    "concatenate",
    "div",
    "equal",
    "exp",
    "fit_to",
    "getitem",
    "greater",
    "greater_equal",
    "leaky_relu",
    "less",
    "less_equal",
    "linear",
    "log",
    "log_softmax",
    "logsumexp",
    "matmul",
    "max",
    "mean",
    "mul",
    "neg",
    "pow",
    "relu",
    "reshape",
    "scatter_add",
    "sigmoid",
    "sign",
    "softmax",
    "softmax_cross_entropy",
    "softplus",
    "sqrt",
    "stack",
    "sub",
    "sum",
    "tanh",
    "transpose",
    "where",
    # ---- end of the generated declarations ----
]


def _attach(op: Op) -> None:
    for name in op.methods:
        setattr(Value, name, op.method())
    for name in op.operators:
        setattr(Value, name, op.method(reflected=name.startswith("__r")))
    for name in op.properties:
        setattr(Value, name, property(op.method()))


for _op in ALL.values():
    _attach(_op)


def declarations() -> str:
    """Value's operators and methods as declarations for type checkers, from the table above."""
    lines = []
    for op in ALL.values():
        params = "".join(f", {name}: Any = {'...' if d is REQUIRED else repr(d)}"
                         for name, d in (op.defaults or {}).items())
        if op.varargs:
            first = next(iter(op.defaults or {}))
            params = f", *{first}: Any"
        for name in op.methods:
            lines.append(f"def {name}(self{params}) -> Value: ...")
        for name in op.operators:
            other = ", other: Operand" if len(op.vjps) == 2 else (", key: Any" if op.defaults
                                                                  else "")
            # comparisons: mypy flags any __lt__ whose operand has a __gt__ as "unsafely
            # overlapping"; numpy's own stubs silence it the same way
            ignore = "  # type: ignore[misc]" if name in ("__lt__", "__le__", "__gt__", "__ge__") else ""
            lines.append(f"def {name}(self{other}) -> Value: ...{ignore}")
        for name in op.properties:
            lines.append(f"@property\ndef {name}(self) -> Value: ...")
    return "".join(f"        {line}\n" for block in lines for line in block.split("\n"))


def exported() -> str:
    """The lines of `__all__` above, from the table."""
    return "".join(f'    "{name}",\n' for name in sorted(ALL))


def generated(path: Any) -> str:
    """The text between the generated-block markers of a file."""
    text = Path(path).read_text()
    return text.split(_START, 1)[1].split("\n", 1)[1].split(_END, 1)[0].rsplit("\n", 1)[0] + "\n"


_START, _END = "# ---- generated by", "# ---- end of the generated declarations"
ENGINE, OPS_FILE = Path(__file__).with_name("engine.py"), Path(__file__)


def _rewrite(path: Path, block: str) -> None:
    text = path.read_text()
    head, rest = text.split(_START, 1)
    first_line, rest = rest.split("\n", 1)
    _, tail = rest.split(_END, 1)
    indent = head[head.rindex("\n") + 1:]
    path.write_text(f"{head}{_START}{first_line}\n{block}{indent}{_END}{tail}")


if __name__ == "__main__":  # after adding an op: refresh what type checkers read
    _rewrite(ENGINE, declarations())
    _rewrite(OPS_FILE, exported())
