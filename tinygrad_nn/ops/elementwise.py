"""Arithmetic and elementwise functions of numbers: each output element depends on one element of each input."""

from __future__ import annotations

import math
import operator
from typing import Any, Optional

import numpy as np

from ..engine import REQUIRED, Op, Value, identity_vjp
from ..errors import DomainError, ShapeError
from ..opinfo import FREE, MARGIN, Domain, OpInfo, at_zero
from ._support import BINARY, _raw, _require
from .comparisons import equal, sign, where


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


# ---- functions -------------------------------------------------------------------------------
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


tanh = Op("tanh", np.tanh,
          lambda g, out, x: g * (1 - out * out),
          scalar=math.tanh, methods=("tanh",))
