"""Arithmetic and elementwise functions of numbers: each output element depends on one element of each input."""

from __future__ import annotations

import builtins
import math
import operator
import sys
from typing import Any, Optional

import numpy as np

from ..engine import Op, Value, identity_vjp
from ..errors import DomainError
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
    _require(~(x > _EXP_LIMIT[x.dtype]), "exp", "the input is so large that exp overflows", x)
    return np.exp(x)


def _exp_scalar(x: float) -> float:
    _require(not x > 709.78, "exp", "the input is so large that exp overflows", x)
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


# ---- numpy's and PyTorch's names for the arithmetic above -------------------------------------
negative = neg
subtract = sub
multiply = mul
divide = div
true_divide = div
power = pow


# ---- trigonometry ----------------------------------------------------------------------------
def _within_one(x: Any) -> Any:
    """-1 < x < 1, for a float or an array (where arcsin's and arctanh's derivatives are finite)."""
    return (x > -1) & (x < 1)


def _unit_interval(name: str, np_fn: Any, math_fn: Any) -> Any:
    """The forward of arcsin or arccos: defined on [-1, 1]."""
    def forward(x: Any) -> Any:
        _require((x >= -1) & (x <= 1), name, "the input must lie in [-1, 1]", x)
        return math_fn(x) if type(x) is float else np_fn(x)
    return forward


def _arcsin_vjp(g: Any, out: Any, x: Any) -> Any:
    """d/dx arcsin x = 1 / sqrt(1 - x^2), infinite at +-1."""
    _require(_within_one(_raw(x)), "arcsin", "the derivative is infinite at -1 and 1", _raw(x))
    return g / sqrt.of(1 - x * x)


def _arccos_vjp(g: Any, out: Any, x: Any) -> Any:
    """d/dx arccos x = -1 / sqrt(1 - x^2), infinite at +-1."""
    _require(_within_one(_raw(x)), "arccos", "the derivative is infinite at -1 and 1", _raw(x))
    return -g / sqrt.of(1 - x * x)


_INSIDE_ONE = OpInfo(domains=(Domain(lo=-0.9, hi=0.9),))  # away from the infinite slopes at +-1

sin = Op("sin", np.sin,
         lambda g, out, x: g * cos.of(x),
         scalar=math.sin, methods=("sin",))

cos: Op = Op("cos", np.cos,
             lambda g, out, x: -g * sin.of(x),
             scalar=math.cos, methods=("cos",))

# d/dx tan x = 1 + tan^2 x; tests keep clear of the poles at pi/2 + k pi
tan = Op("tan", np.tan,
         lambda g, out, x: g * (1 + out * out),
         scalar=math.tan, methods=("tan",), info=OpInfo(domains=(Domain(lo=-1.4, hi=1.4),)))

arcsin = Op("arcsin", _unit_interval("arcsin", np.arcsin, math.asin), _arcsin_vjp,
            methods=("arcsin", "asin"), info=_INSIDE_ONE)
asin = arcsin

arccos = Op("arccos", _unit_interval("arccos", np.arccos, math.acos), _arccos_vjp,
            methods=("arccos", "acos"), info=_INSIDE_ONE)
acos = arccos

# d/dx arctan x = 1 / (1 + x^2)
arctan = Op("arctan", np.arctan,
            lambda g, out, x: g / (1 + x * x),
            scalar=math.atan, methods=("arctan", "atan"))
atan = arctan


def _off_origin(a: Any, b: Any, name: str) -> None:
    """arctan2 and hypot have no derivative at a = b = 0."""
    ra, rb = _raw(a), _raw(b)
    _require((ra != 0) | (rb != 0), name, "the derivative is undefined where both inputs are 0",
             ra)


def _arctan2_vjp_y(g: Any, out: Any, a: Any, b: Any) -> Any:
    """arctan2(a, b) is the angle of the point (b, a): d/da = b / (a^2 + b^2)."""
    _off_origin(a, b, "arctan2")
    return g * b / (a * a + b * b)


def _arctan2_vjp_x(g: Any, out: Any, a: Any, b: Any) -> Any:
    """d/db arctan2(a, b) = -a / (a^2 + b^2)."""
    _off_origin(a, b, "arctan2")
    return -g * a / (a * a + b * b)


# a away from 0: off the branch cut (a = 0, b < 0) and the origin
_OFF_THE_AXIS = OpInfo("binary", domains=(Domain(avoid=(0.0,), margin=0.1), FREE))

arctan2 = Op("arctan2", np.arctan2, _arctan2_vjp_y, _arctan2_vjp_x,
             scalar=math.atan2, methods=("arctan2", "atan2"), info=_OFF_THE_AXIS)
atan2 = arctan2


def _hypot_vjp(which: int) -> Any:
    """d/da hypot(a, b) = a / hypot(a, b), and likewise for b."""
    def vjp(g: Any, out: Any, a: Any, b: Any) -> Any:
        _off_origin(a, b, "hypot")
        return g * (a, b)[which] / out
    return vjp


hypot = Op("hypot", np.hypot, _hypot_vjp(0), _hypot_vjp(1),
           scalar=math.hypot, methods=("hypot",), info=_OFF_THE_AXIS)

_DEGREE = math.pi / 180  # radians in a degree: what math.radians and np.deg2rad multiply by

deg2rad = Op("deg2rad", np.deg2rad,
             lambda g, out, x: g * _DEGREE,
             scalar=math.radians, methods=("deg2rad",))

rad2deg = Op("rad2deg", np.rad2deg,
             lambda g, out, x: g * (180 / math.pi),
             scalar=math.degrees, methods=("rad2deg",))


# ---- hyperbolic functions ----------------------------------------------------------------------
def _overflow_checked(name: str, np_fn: Any) -> Any:
    """np_fn raising DomainError (naming the first input at fault) where its result overflows,
    as exp does: an infinity would poison every gradient after it."""
    def forward(x: Any) -> Any:
        try:
            with np.errstate(over="raise"):
                return np_fn(x)
        except FloatingPointError:
            with np.errstate(over="ignore"):
                out = np_fn(x)
            _require(np.isfinite(out) | ~np.isfinite(x), name,
                     f"the input is so large that {name} overflows", x)
            raise
    return forward


def _overflow_checked_scalar(name: str, math_fn: Any) -> Any:
    """math_fn on a float, with the same message as the array path when it overflows."""
    def scalar(x: float) -> float:
        try:
            return math_fn(x)
        except OverflowError:
            raise DomainError(f"{name}: the input is so large that {name} overflows; "
                              f"got {x}") from None
    return scalar


# d/dx sinh x = cosh x, d/dx cosh x = sinh x
sinh = Op("sinh", _overflow_checked("sinh", np.sinh),
          lambda g, out, x: g * cosh.of(x),
          scalar=_overflow_checked_scalar("sinh", math.sinh), methods=("sinh",))

cosh: Op = Op("cosh", _overflow_checked("cosh", np.cosh),
              lambda g, out, x: g * sinh.of(x),
              scalar=_overflow_checked_scalar("cosh", math.cosh), methods=("cosh",))

# d/dx arcsinh x = 1 / sqrt(x^2 + 1)
arcsinh = Op("arcsinh", np.arcsinh,
             lambda g, out, x: g / sqrt.of(x * x + 1),
             scalar=math.asinh, methods=("arcsinh", "asinh"))
asinh = arcsinh


def _arccosh(x: Any) -> Any:
    _require(x >= 1, "arccosh", "the input must be at least 1", x)
    return math.acosh(x) if type(x) is float else np.arccosh(x)


def _arccosh_vjp(g: Any, out: Any, x: Any) -> Any:
    """d/dx arccosh x = 1 / sqrt(x^2 - 1), infinite at 1."""
    _require(_raw(x) > 1, "arccosh", "the derivative is infinite at 1", _raw(x))
    return g / sqrt.of(x * x - 1)


arccosh = Op("arccosh", _arccosh, _arccosh_vjp,
             methods=("arccosh", "acosh"), info=OpInfo(domains=(Domain(lo=1.1),)))
acosh = arccosh


def _arctanh(x: Any) -> Any:
    _require(_within_one(x), "arctanh", "the input must lie in (-1, 1)", x)
    return math.atanh(x) if type(x) is float else np.arctanh(x)


# d/dx arctanh x = 1 / (1 - x^2)
arctanh = Op("arctanh", _arctanh,
             lambda g, out, x: g / (1 - x * x),
             methods=("arctanh", "atanh"), info=_INSIDE_ONE)
atanh = arctanh


# ---- exponentials and logarithms -----------------------------------------------------------------
_LN2, _LN10 = math.log(2.0), math.log(10.0)


def _log1p(x: Any) -> Any:
    _require(x > -1, "log1p", "the input must be greater than -1", x)
    return math.log1p(x) if type(x) is float else np.log1p(x)


# d/dx ln(1 + x) = 1 / (1 + x)
log1p = Op("log1p", _log1p,
           lambda g, out, x: g / (1 + x),
           methods=("log1p",), info=OpInfo(domains=(Domain(lo=-0.9),)))

# d/dx (e^x - 1) = e^x = out + 1
expm1 = Op("expm1", _overflow_checked("expm1", np.expm1),
           lambda g, out, x: g * (out + 1),
           scalar=_overflow_checked_scalar("expm1", math.expm1), methods=("expm1",))

# d/dx 2^x = 2^x ln 2
exp2 = Op("exp2", _overflow_checked("exp2", np.exp2),
          lambda g, out, x: g * out * _LN2,
          scalar=_overflow_checked_scalar("exp2", math.exp2), methods=("exp2",))


def _log_base(name: str, np_fn: Any, math_fn: Any) -> Any:
    def forward(x: Any) -> Any:
        _require(x > 0, name, "the input must be positive", x)
        return math_fn(x) if type(x) is float else np_fn(x)
    return forward


# d/dx log_b x = 1 / (x ln b)
log2 = Op("log2", _log_base("log2", np.log2, math.log2),
          lambda g, out, x: g / (x * _LN2),
          methods=("log2",), info=OpInfo(domains=(Domain(lo=0.1),)))

log10 = Op("log10", _log_base("log10", np.log10, math.log10),
           lambda g, out, x: g / (x * _LN10),
           methods=("log10",), info=OpInfo(domains=(Domain(lo=0.1),)))


def _logaddexp_scalar(a: float, b: float) -> float:
    """ln(e^a + e^b) as numpy computes it: the larger input plus a log1p that cannot overflow."""
    if a == b:  # also +-inf twice
        return a + _LN2
    big = a if a > b else b
    return big + math.log1p(math.exp(-math.fabs(a - b)))


def _logaddexp2_scalar(a: float, b: float) -> float:
    """log2(2^a + 2^b), likewise."""
    if a == b:
        return a + 1.0
    big = a if a > b else b
    return big + math.log1p(math.exp2(-math.fabs(a - b))) / _LN2


# d/da ln(e^a + e^b) = e^a / (e^a + e^b) = e^(a - out): never above 1, so stable at +-1e3
logaddexp = Op("logaddexp", np.logaddexp,
               lambda g, out, a, b: g * exp.of(a - out),
               lambda g, out, a, b: g * exp.of(b - out),
               scalar=_logaddexp_scalar, methods=("logaddexp",), info=BINARY)

# d/da log2(2^a + 2^b) = 2^a / (2^a + 2^b) = 2^(a - out)
logaddexp2 = Op("logaddexp2", np.logaddexp2,
                lambda g, out, a, b: g * exp2.of(a - out),
                lambda g, out, a, b: g * exp2.of(b - out),
                scalar=_logaddexp2_scalar, methods=("logaddexp2",), info=BINARY)


# ---- powers ------------------------------------------------------------------------------------
# d/dx x^2 = 2x
square = Op("square", np.square,
            lambda g, out, x: g * x * 2,
            scalar=lambda x: x * x, methods=("square",))


def _reciprocal(x: Any) -> Any:
    _require(x != 0, "reciprocal", "the input must be nonzero", x)
    return 1 / x


# d/dx 1/x = -1/x^2 = -out^2
reciprocal = Op("reciprocal", _reciprocal,
                lambda g, out, x: -g * out * out,
                methods=("reciprocal",), info=OpInfo(domains=(Domain(avoid=(0.0,), margin=0.25),)))


def _rsqrt(x: Any) -> Any:
    _require(x > 0, "rsqrt", "the input must be positive", x)
    return 1 / (math.sqrt(x) if type(x) is float else np.sqrt(x))


# d/dx x^(-1/2) = -x^(-3/2) / 2 = -out^3 / 2
rsqrt = Op("rsqrt", _rsqrt,
           lambda g, out, x: g * out * out * out * -0.5,
           methods=("rsqrt",), info=OpInfo(domains=(Domain(lo=0.1),)))


# ---- remainders ----------------------------------------------------------------------------------
def _nonzero_divisor(b: Any, name: str) -> None:
    _require(b != 0, name, "division by zero: the divisor must be nonzero", b)


def _mod(a: Any, b: Any) -> Any:
    """numpy's remainder (Python's % on floats): a - b floor(a / b), with the divisor's sign."""
    _nonzero_divisor(b, "mod")
    return a % b


def _fmod(a: Any, b: Any) -> Any:
    """C's fmod: a - b trunc(a / b), with the dividend's sign."""
    _nonzero_divisor(b, "fmod")
    return math.fmod(a, b) if type(a) is float and type(b) is float else np.fmod(a, b)


def _off_multiples(datas: list, kw: dict) -> bool:
    """mod and fmod jump where a / b is a whole number: smooth MARGIN away from those a."""
    a, b = datas
    q = np.divide(a, b)
    return bool((np.abs(q - np.round(q)) * np.abs(b) >= MARGIN).all())


_REMAINDER = OpInfo("binary", domains=(FREE, Domain(avoid=(0.0,), margin=0.25)),
                   smooth=_off_multiples)

# a - b floor(a / b): derivative 1 by a, -floor(a / b) by b (between the jumps)
mod = Op("mod", _mod,
         identity_vjp,
         lambda g, out, a, b: -g * floor.of(a / b),
         operators=("__mod__", "__rmod__"), methods=("mod", "remainder"), info=_REMAINDER)
remainder = mod

# a - b trunc(a / b): derivative 1 by a, -trunc(a / b) by b
fmod = Op("fmod", _fmod,
          identity_vjp,
          lambda g, out, a, b: -g * trunc.of(a / b),
          methods=("fmod",), info=_REMAINDER)


# ---- rounding: steps, with a zero derivative (as in PyTorch: backward gives zeros) --------------
def _zero_vjp(g: Any, out: Any, x: Any, **kw: Any) -> Any:
    """A step function's derivative: 0 (a zero gradient, not None, so the result still joins
    the graph and backward() through it works)."""
    return g * 0.0


def _step_scalar(to_int: Any) -> Any:
    """math.floor & co. as a float function: they return ints, and fail on inf and nan (which
    they leave unchanged); copysign keeps numpy's -0.0 (ceil(-0.5) is -0.0)."""
    def scalar(x: float) -> float:
        return math.copysign(float(to_int(x)), x) if math.isfinite(x) else x
    return scalar


def _round_scalar(x: float, *, decimals: int) -> float:
    """np.round on a float: scale by 10^decimals, round half to even, scale back."""
    if not math.isfinite(x):
        return x
    if decimals == 0:
        r = float(builtins.round(x))
    elif decimals > 0:
        scale = 10.0 ** decimals
        r = builtins.round(x * scale) / scale
    else:
        scale = 10.0 ** -decimals
        r = builtins.round(x / scale) * scale
    return math.copysign(r, x)


def _off_steps(offset: float) -> Any:
    """smooth() of a step function whose jumps lie at (k + offset) / 10^decimals, k whole: at
    least MARGIN away from every jump."""
    def smooth(datas: list, kw: dict) -> bool:
        scale = 10.0 ** kw.get("decimals", 0)
        y = np.asarray(datas[0]) * scale - offset
        return bool((np.abs(y - np.round(y)) >= MARGIN * scale).all())
    return smooth


_OFF_INTEGERS = OpInfo(smooth=_off_steps(0.0))

floor: Op = Op("floor", np.floor, _zero_vjp,
               scalar=_step_scalar(math.floor), methods=("floor",), info=_OFF_INTEGERS)

ceil = Op("ceil", np.ceil, _zero_vjp,
          scalar=_step_scalar(math.ceil), methods=("ceil",), info=_OFF_INTEGERS)

trunc: Op = Op("trunc", np.trunc, _zero_vjp,
               scalar=_step_scalar(math.trunc), methods=("trunc", "fix"), info=_OFF_INTEGERS)
fix = trunc

# halves round to the even neighbour, as in numpy and PyTorch
round = Op("round", lambda x, *, decimals: np.round(x, decimals), _zero_vjp,
           scalar=_round_scalar, defaults={"decimals": 0}, methods=("round",),
           info=OpInfo("round", smooth=_off_steps(0.5)))


# ---- special values, and the complex parts of real inputs --------------------------------
def _nan_to_num_scalar(x: float, *, nan: float, posinf: Optional[float],
                       neginf: Optional[float]) -> float:
    """nan -> nan, inf -> posinf (default: the largest float), -inf -> neginf (the lowest)."""
    if x != x:
        return float(nan)
    if x == math.inf:
        return sys.float_info.max if posinf is None else float(posinf)
    if x == -math.inf:
        return -sys.float_info.max if neginf is None else float(neginf)
    return x


def _nan_to_num_vjp(g: Any, out: Any, x: Any, **kw: Any) -> Any:
    """1 where x was finite (passed through), 0 where it was replaced by a constant."""
    return g * ((x < math.inf) * (x > -math.inf))


nan_to_num = Op("nan_to_num",
                lambda x, *, nan, posinf, neginf: np.nan_to_num(x, nan=nan, posinf=posinf,
                                                                neginf=neginf),
                _nan_to_num_vjp, scalar=_nan_to_num_scalar,
                defaults={"nan": 0.0, "posinf": None, "neginf": None}, methods=("nan_to_num",))

# x.real, x.imag and x.conj() of a real x (for numpy code that calls them): x, 0 and x
real = Op("real", lambda x: x.view(), identity_vjp,
          scalar=lambda x: x, properties=("real",))

imag = Op("imag", np.zeros_like, _zero_vjp,
          scalar=lambda x: 0.0, properties=("imag",))

conj = Op("conj", np.conj, identity_vjp,
          scalar=lambda x: x, methods=("conj", "conjugate"))
conjugate = conj
