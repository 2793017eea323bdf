"""Activation functions (relu to gelu, the exponential and the piecewise-linear units), binary
max and min, the error function, and the softmax family of classifiers."""

from __future__ import annotations

import math
import operator
from typing import Any, Optional

import numpy as np

from ..engine import Op
from ..errors import DomainError, ShapeError
from ..opinfo import OpInfo, at_zero
from ._support import _check_axis, _raw
from .comparisons import _apart, where
from .elementwise import abs, exp, tanh


relu = Op("relu", lambda x: np.maximum(x, 0),
          lambda g, out, x: g * (x > 0),
          scalar=lambda x: x if x > 0 else 0.0, methods=("relu",), info=OpInfo(kinks=at_zero))


def _sigmoid(x: Any) -> Any:
    """1 / (1 + e^-x) as n / (1 + e) with e = e^-|x| (never overflows), n = 1 for x >= 0 and e
    below: max(e, [x >= 0]) picks it without np.where, which is 5x slower on random signs."""
    e = np.exp(-np.abs(x))
    return np.maximum(e, x >= 0) / (1 + e)


def _softplus(x: Any) -> Any:
    """log(1 + e^x) = max(x, 0) + log(1 + e^-|x|): no overflow, exact far out on both sides."""
    return np.maximum(x, 0) + np.log1p(np.exp(-np.abs(x)))


def _softplus_scalar(x: float) -> float:
    return (x if x > 0 else 0.0) + math.log1p(math.exp(-math.fabs(x)))


def _sigmoid_scalar(x: float) -> float:
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


sigmoid = Op("sigmoid", _sigmoid,
             lambda g, out, x: g * out * (1 - out),
             scalar=_sigmoid_scalar, methods=("sigmoid",))


softplus = Op("softplus", _softplus,
              lambda g, out, x: g * sigmoid.of(x),
              scalar=_softplus_scalar, methods=("softplus",))

leaky_relu = Op("leaky_relu",
                lambda x, *, alpha: np.maximum(x, 0) + alpha * np.minimum(x, 0),
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


# ---- binary max and min ------------------------------------------------------------------------
# The larger (smaller) of two inputs, elementwise and broadcasting. The gradient goes to the
# operand chosen; at a tie each operand gets half of it, as torch.maximum gives. maximum and
# minimum propagate a NaN (the NaN is chosen); fmax and fmin (numpy's) ignore it (the other
# operand is chosen). Two NaNs give NaN, and no gradient. x != x is the NaN mask.
def _tie(g: Any, a: Any, b: Any) -> Any:
    """Half of g where a and b are equal: each side's share of a tie."""
    return (g * 0.5) * (a == b)


def _chosen(wins: Any, a: Any, b: Any, nan_wins: bool) -> Any:
    """1 where `a` is chosen: where it `wins` (a > b, say), or where one of them is NaN and
    that one is `a` (nan_wins) or `b` (otherwise)."""
    return wins + ((a != a) * (b == b) if nan_wins else (b != b) * (a == a))


def _max_min(name: str, forward: Any, better: Any, nan_wins: bool) -> Op:
    def vjp_a(g: Any, out: Any, a: Any, b: Any) -> Any:
        return g * _chosen(better(a, b), a, b, nan_wins) + _tie(g, a, b)

    def vjp_b(g: Any, out: Any, a: Any, b: Any) -> Any:
        return g * _chosen(better(b, a), b, a, nan_wins) + _tie(g, a, b)

    def scalar(a: float, b: float) -> float:
        pick_a = better(a, b) or (a != a and b == b if nan_wins else b != b)
        return a if pick_a else b
    return Op(name, forward, vjp_a, vjp_b, scalar=scalar, methods=(name,),
              info=OpInfo("binary", smooth=_apart))


maximum = _max_min("maximum", np.maximum, operator.gt, nan_wins=True)
minimum = _max_min("minimum", np.minimum, operator.lt, nan_wins=True)
fmax = _max_min("fmax", np.fmax, operator.gt, nan_wins=False)
fmin = _max_min("fmin", np.fmin, operator.lt, nan_wins=False)


# ---- the error function ------------------------------------------------------------------------
# numpy has no erf; scipy (a dependency already, for L-BFGS) has a fast and exact one, which
# keeps float32 as float32. Imported on first use: scipy.special takes a while to load.
_TWO_OVER_SQRT_PI = 2 / math.sqrt(math.pi)


def _erf(x: np.ndarray) -> np.ndarray:
    from scipy.special import erf as scipy_erf  # type: ignore[import-untyped]
    return scipy_erf(x)


def _erfc(x: np.ndarray) -> np.ndarray:
    from scipy.special import erfc as scipy_erfc  # type: ignore[import-untyped]
    return scipy_erfc(x)


# d/dx erf(x) = 2/sqrt(pi) e^-x^2 = -d/dx erfc(x)
erf = Op("erf", _erf,
         lambda g, out, x: g * _TWO_OVER_SQRT_PI * exp.of(-(x * x)),
         scalar=math.erf, methods=("erf",))

erfc = Op("erfc", _erfc,
          lambda g, out, x: g * -_TWO_OVER_SQRT_PI * exp.of(-(x * x)),
          scalar=math.erfc, methods=("erfc",))


# ---- smooth activations ----------------------------------------------------------------------
_SQRT_HALF = math.sqrt(0.5)
_INV_SQRT_2PI = 1 / math.sqrt(2 * math.pi)
_GELU_CUBIC = 0.044715
_GELU_TANH_SCALE = 2 * math.sqrt(2 / math.pi)  # 1 + tanh(u) = 2 sigmoid(2u)
_GELUS = ("none", "tanh")


def _check_gelu(approximate: str) -> None:
    if approximate not in _GELUS:
        raise DomainError(f"gelu: approximate must be 'none' or 'tanh'; got {approximate!r}")


def _gelu(x: Any, *, approximate: str) -> Any:
    """x Phi(x), Phi the normal CDF, written with erfc so that x -> -inf gives 0 without
    cancellation; or the tanh form x (1 + tanh(u)) / 2 = x sigmoid(2u), u = sqrt(2/pi) (x +
    0.044715 x^3), which cannot overflow."""
    _check_gelu(approximate)
    if approximate == "tanh":
        return x * _sigmoid(_GELU_TANH_SCALE * x * (1 + _GELU_CUBIC * (x * x)))
    return 0.5 * x * _erfc(-_SQRT_HALF * x)


def _gelu_scalar(x: float, *, approximate: str) -> float:
    _check_gelu(approximate)
    if approximate == "tanh":
        return x * _sigmoid_scalar(_GELU_TANH_SCALE * x * (1 + _GELU_CUBIC * (x * x)))
    return 0.5 * x * math.erfc(-_SQRT_HALF * x)


def _gelu_vjp(g: Any, out: Any, x: Any, *, approximate: str) -> Any:
    """Phi(x) + x phi(x), phi the normal density; tanh form: s + x s (1 - s) (2u)' with
    s = sigmoid(2u)."""
    if approximate == "tanh":
        s = sigmoid.of(_GELU_TANH_SCALE * x * (1 + _GELU_CUBIC * (x * x)))
        du = _GELU_TANH_SCALE * (1 + 3 * _GELU_CUBIC * (x * x))
        return g * (s + x * s * (1 - s) * du)
    return g * (0.5 * erfc.of(-_SQRT_HALF * x) + _INV_SQRT_2PI * x * exp.of(-0.5 * (x * x)))


gelu = Op("gelu", _gelu, _gelu_vjp, scalar=_gelu_scalar, defaults={"approximate": "none"},
          methods=("gelu",), info=OpInfo("gelu"))


def _sigmoid_weighted(name: str, k: float, methods: tuple) -> Op:
    """x sigmoid(k x), derivative s + k x s (1 - s) with s = sigmoid(k x): silu (k = 1) and
    quick_gelu (k = 1.702). At x -> -inf, s is 0 exactly and x s too: no overflow, no NaN."""
    def vjp(g: Any, out: Any, x: Any) -> Any:
        s = sigmoid.of(k * x)
        return g * (s + k * x * s * (1 - s))
    return Op(name, lambda x: x * _sigmoid(k * x), vjp,
              scalar=lambda x: x * _sigmoid_scalar(k * x), methods=methods)


silu = _sigmoid_weighted("silu", 1.0, ("silu", "swish"))
swish = silu
quick_gelu = _sigmoid_weighted("quick_gelu", 1.702, ("quick_gelu",))


# mish(x) = x tanh(softplus(x)); d/dx = t + x (1 - t^2) sigmoid(x), t = tanh(softplus(x))
def _mish_vjp(g: Any, out: Any, x: Any) -> Any:
    t = tanh.of(softplus.of(x))
    return g * (t + x * (1 - t * t) * sigmoid.of(x))


mish = Op("mish", lambda x: x * np.tanh(_softplus(x)), _mish_vjp,
          scalar=lambda x: x * math.tanh(_softplus_scalar(x)), methods=("mish",))


# softsign(x) = x / (1 + |x|); d/dx = 1 / (1 + |x|)^2, whose derivative jumps at 0
def _softsign_vjp(g: Any, out: Any, x: Any) -> Any:
    d = 1 + abs.of(x)
    return g / (d * d)


softsign = Op("softsign", lambda x: x / (1 + np.abs(x)), _softsign_vjp,
              scalar=lambda x: x / (1 + math.fabs(x)), methods=("softsign",),
              info=OpInfo(kinks=at_zero))

# logsigmoid(x) = log(sigmoid(x)) = min(x, 0) - log(1 + e^-|x|); d/dx = sigmoid(-x)
logsigmoid = Op("logsigmoid", lambda x: -_softplus(-x),
                lambda g, out, x: g * sigmoid.of(-x),
                scalar=lambda x: -_softplus_scalar(-x), methods=("logsigmoid",))


# ---- exponential linear units --------------------------------------------------------------------
# elu(x) = x for x > 0, alpha (e^x - 1) below (expm1: exact near 0, and of min(x, 0): no
# overflow above). The slope below is alpha e^x: continuous at 0 only for alpha = 1, and the
# second derivative jumps there anyway. celu scales the input below 0 by 1/alpha; selu is a
# fixed multiple of elu with fixed alpha (self-normalizing networks).
_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def _negative_part(x: Any) -> Any:
    """min(x, 0) in the graph, without a tie at 0 (where's derivative is 0 or 1, not 1/2)."""
    return where.of(x > 0, 0.0, x)


# the forwards add the positive part and the negative one: no np.where (slow on random signs)
elu = Op("elu", lambda x, *, alpha: np.maximum(x, 0) + alpha * np.expm1(np.minimum(x, 0.0)),
         lambda g, out, x, *, alpha: where.of(x > 0, g, g * alpha * exp.of(_negative_part(x))),
         scalar=lambda x, *, alpha: x if x > 0 else alpha * math.expm1(x),
         defaults={"alpha": 1.0}, methods=("elu",), info=OpInfo("elu", kinks=at_zero))


def _check_celu(alpha: float) -> None:
    if alpha == 0:
        raise DomainError(f"celu: alpha must be nonzero (the input is divided by it); got {alpha}")


def _celu(x: Any, *, alpha: float) -> Any:
    _check_celu(alpha)
    return np.maximum(x, 0) + alpha * np.expm1(np.minimum(x, 0.0) / alpha)


def _celu_scalar(x: float, *, alpha: float) -> float:
    _check_celu(alpha)
    return x if x > 0 else alpha * math.expm1(x / alpha)


celu = Op("celu", _celu,
          lambda g, out, x, *, alpha: where.of(x > 0, g, g * exp.of(_negative_part(x) / alpha)),
          scalar=_celu_scalar, defaults={"alpha": 1.0}, methods=("celu",),
          info=OpInfo("elu", kinks=at_zero))

selu = Op("selu",
          lambda x: _SELU_SCALE * (np.maximum(x, 0) + _SELU_ALPHA * np.expm1(np.minimum(x, 0.0))),
          lambda g, out, x: where.of(x > 0, _SELU_SCALE * g,
                                     (_SELU_SCALE * _SELU_ALPHA) * g * exp.of(_negative_part(x))),
          scalar=lambda x: _SELU_SCALE * (x if x > 0 else _SELU_ALPHA * math.expm1(x)),
          methods=("selu",), info=OpInfo(kinks=at_zero))


# ---- piecewise-linear activations ------------------------------------------------------------
# At a bound, the derivative is PyTorch's: that of the outer piece (0 for relu6, hardtanh and
# hardsigmoid; 0 at -3 and 1 at 3 for hardswish).
def _check_hardtanh(min_val: float, max_val: float) -> None:
    if min_val > max_val:
        raise DomainError(f"hardtanh: min_val cannot be greater than max_val; got min_val="
                          f"{min_val}, max_val={max_val}")


def _hardtanh(x: Any, *, min_val: float, max_val: float) -> Any:
    _check_hardtanh(min_val, max_val)
    return np.clip(x, min_val, max_val)


def _hardtanh_scalar(x: float, *, min_val: float, max_val: float) -> float:
    _check_hardtanh(min_val, max_val)
    return float(min(max(x, min_val), max_val))


hardtanh = Op("hardtanh", _hardtanh,
              lambda g, out, x, *, min_val, max_val: g * (x > min_val) * (x < max_val),
              scalar=_hardtanh_scalar, defaults={"min_val": -1.0, "max_val": 1.0},
              methods=("hardtanh",),
              info=OpInfo("hardtanh", kinks=lambda kw: (kw["min_val"], kw["max_val"])))

relu6 = Op("relu6", lambda x: np.clip(x, 0.0, 6.0),
           lambda g, out, x: g * (x > 0) * (x < 6),
           scalar=lambda x: min(max(x, 0.0), 6.0), methods=("relu6",),
           info=OpInfo(kinks=lambda kw: (0.0, 6.0)))


def _at_three(kw: dict) -> tuple:
    return (-3.0, 3.0)


# hardsigmoid(x) = relu6(x + 3) / 6: 0, then x/6 + 1/2 on (-3, 3), then 1
hardsigmoid = Op("hardsigmoid", lambda x: np.clip(x + 3.0, 0.0, 6.0) / 6.0,
                 lambda g, out, x: g * (x > -3) * (x < 3) / 6,
                 scalar=lambda x: min(max(x + 3.0, 0.0), 6.0) / 6.0, methods=("hardsigmoid",),
                 info=OpInfo(kinks=_at_three))

# hardswish(x) = x relu6(x + 3) / 6: 0, then x (x + 3) / 6 with slope x/3 + 1/2 on (-3, 3),
# then x
hardswish = Op("hardswish", lambda x: x * np.clip(x + 3.0, 0.0, 6.0) / 6.0,
               lambda g, out, x: g * ((x > -3) * (x < 3) * (x / 3 + 0.5) + (x >= 3)),
               scalar=lambda x: x * min(max(x + 3.0, 0.0), 6.0) / 6.0, methods=("hardswish",),
               info=OpInfo(kinks=_at_three))


# ---- softmax ---------------------------------------------------------------------------------
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
