"""The elementwise math functions (tinygrad_nn/ops/elementwise.py): reference rows, PyTorch spellings and hand-worked cases."""

from __future__ import annotations

import math
import sys
from typing import Any, Callable

import numpy as np
import pytest

import tinygrad_nn as tg
from opcase import POSITIVE, ROW, X, Y, OpCase, assert_by_hand, assert_same, backprop
from tinygrad_nn import DomainError, Value, ops
from tinygrad_nn.gradcheck import gradgradcheck

UNIT = X / 4                            # inside (-1, 1): arcsin, arccos, arctanh
HALF = X / 2                            # inside (-pi/2, pi/2): tan
OFF_STEPS = X + 0.3                     # no integers, no halves: floor, ceil, trunc, round
DIVISOR = np.array([0.75, -1.25, 1.75])  # X / DIVISOR holds no whole number: mod, fmod
LN2, LN10, SQRT3 = math.log(2), math.log(10), math.sqrt(3)

# rows of test_ops_values.REFERENCES: each op's numpy reference, inputs inside its domain
REFERENCES: list[OpCase] = [
    OpCase("sin", tg.sin, np.sin, (X,), elementwise=True),
    OpCase("cos", tg.cos, np.cos, (X,), elementwise=True),
    OpCase("tan", tg.tan, np.tan, (HALF,), elementwise=True),
    OpCase("arcsin", tg.arcsin, np.arcsin, (UNIT,), elementwise=True),
    OpCase("arccos", tg.arccos, np.arccos, (UNIT,), elementwise=True),
    OpCase("arctan", tg.arctan, np.arctan, (X,), elementwise=True),
    OpCase("arctan2", tg.arctan2, np.arctan2, (X, Y), elementwise=True),
    OpCase("hypot", tg.hypot, np.hypot, (X, ROW), elementwise=True),
    OpCase("deg2rad", tg.deg2rad, np.deg2rad, (X,), elementwise=True),
    OpCase("rad2deg", tg.rad2deg, np.rad2deg, (X,), elementwise=True),
    OpCase("sinh", tg.sinh, np.sinh, (X,), elementwise=True),
    OpCase("cosh", tg.cosh, np.cosh, (X,), elementwise=True),
    OpCase("arcsinh", tg.arcsinh, np.arcsinh, (X,), elementwise=True),
    OpCase("arccosh", tg.arccosh, np.arccosh, (1 + POSITIVE,), elementwise=True),
    OpCase("arctanh", tg.arctanh, np.arctanh, (UNIT,), elementwise=True),
    OpCase("log1p", tg.log1p, np.log1p, (HALF,), elementwise=True),
    OpCase("expm1", tg.expm1, np.expm1, (X,), elementwise=True),
    OpCase("exp2", tg.exp2, np.exp2, (X,), elementwise=True),
    OpCase("log2", tg.log2, np.log2, (POSITIVE,), elementwise=True),
    OpCase("log10", tg.log10, np.log10, (POSITIVE,), elementwise=True),
    OpCase("logaddexp", tg.logaddexp, np.logaddexp, (X, Y), elementwise=True),
    OpCase("logaddexp2", tg.logaddexp2, np.logaddexp2, (X, ROW), elementwise=True),
    OpCase("square", tg.square, np.square, (X,), elementwise=True),
    OpCase("reciprocal", tg.reciprocal, np.reciprocal, (X,), elementwise=True),
    OpCase("rsqrt", tg.rsqrt, lambda a: 1 / np.sqrt(a), (POSITIVE,), elementwise=True),
    OpCase("mod", lambda a, b: a % b, np.remainder, (X, DIVISOR), elementwise=True),
    OpCase("fmod", tg.fmod, np.fmod, (X, DIVISOR), elementwise=True),
    OpCase("floor", tg.floor, np.floor, (OFF_STEPS,), elementwise=True),
    OpCase("ceil", tg.ceil, np.ceil, (OFF_STEPS,), elementwise=True),
    OpCase("trunc", tg.trunc, np.trunc, (OFF_STEPS,), elementwise=True),
    OpCase("round", tg.round, np.round, (OFF_STEPS,), elementwise=True),
    OpCase("nan_to_num", tg.nan_to_num, np.nan_to_num, (X,), elementwise=True),
    OpCase("real", lambda a: a.real, np.real, (X,), elementwise=True),
    OpCase("imag", lambda a: a.imag, np.imag, (X,), elementwise=True),
    OpCase("conj", lambda a: a.conj(), np.conj, (X,), elementwise=True),
]


def torch_spellings(torch: Any, F: Any) -> dict:
    """Each op of this group (by its name in tinygrad_nn.testing.OPS) spelled in torch."""
    return {
        "sin": torch.sin, "cos": torch.cos, "tan": torch.tan,
        "arcsin": torch.asin, "arccos": torch.acos, "arctan": torch.atan,
        "arctan2": torch.atan2, "hypot": torch.hypot,
        "deg2rad": torch.deg2rad, "rad2deg": torch.rad2deg,
        "sinh": torch.sinh, "cosh": torch.cosh,
        "arcsinh": torch.asinh, "arccosh": torch.acosh, "arctanh": torch.atanh,
        "log1p": torch.log1p, "expm1": torch.expm1, "exp2": torch.exp2,
        "log2": torch.log2, "log10": torch.log10,
        "logaddexp": torch.logaddexp, "logaddexp2": torch.logaddexp2,
        "square": torch.square, "reciprocal": torch.reciprocal, "rsqrt": torch.rsqrt,
        "mod": torch.remainder, "fmod": torch.fmod,
        "floor": torch.floor, "ceil": torch.ceil, "trunc": torch.trunc,
        "round": lambda t, *, decimals=0: torch.round(t, decimals=decimals),
        "nan_to_num": torch.nan_to_num,
        # for a real tensor torch.real and torch.conj return the tensor itself: clone() makes
        # the result a node of its own, with a gradient of its own
        "real": lambda t: torch.real(t).clone(), "conj": lambda t: torch.conj(t).clone(),
        "imag": lambda t: t * 0.0,  # torch.imag refuses real tensors
    }


# ==== hand-worked cases ==========================================================================
def _both_paths(f: Callable, x: float, value: float, grad: float) -> None:
    """The same case on a Python float (math) and on a 1-element array (numpy)."""
    out = assert_by_hand(f, x, value, grad)
    assert type(out.data) is float
    assert_by_hand(f, np.array([x]), [value], [grad])


# ---- one input: f(x) and f'(x) at points where both are known in closed form -------------------
UNARY = [
    # sin' = cos: sin(pi/6) = 1/2, cos(pi/6) = sqrt(3)/2
    pytest.param(tg.sin, math.pi / 6, 0.5, SQRT3 / 2, id="sin"),
    # cos' = -sin: cos(pi/3) = 1/2, -sin(pi/3) = -sqrt(3)/2
    pytest.param(tg.cos, math.pi / 3, 0.5, -SQRT3 / 2, id="cos"),
    # tan' = 1 + tan^2: tan(pi/4) = 1, slope 2
    pytest.param(tg.tan, math.pi / 4, 1.0, 2.0, id="tan"),
    # arcsin' = 1 / sqrt(1 - x^2): arcsin(1/2) = pi/6, 1 / sqrt(3/4) = 2 / sqrt(3)
    pytest.param(tg.arcsin, 0.5, math.pi / 6, 2 / SQRT3, id="arcsin"),
    pytest.param(tg.arccos, 0.5, math.pi / 3, -2 / SQRT3, id="arccos"),
    # arctan' = 1 / (1 + x^2): arctan(1) = pi/4, 1/2; arctan(-sqrt 3) = -pi/3, 1/4
    pytest.param(tg.arctan, 1.0, math.pi / 4, 0.5, id="arctan"),
    pytest.param(tg.arctan, -SQRT3, -math.pi / 3, 0.25, id="arctan-negative"),
    # sinh(ln 2) = (2 - 1/2) / 2 = 3/4, cosh(ln 2) = (2 + 1/2) / 2 = 5/4
    pytest.param(tg.sinh, LN2, 0.75, 1.25, id="sinh"),
    pytest.param(tg.cosh, LN2, 1.25, 0.75, id="cosh"),
    # arcsinh(3/4) = ln(3/4 + sqrt(9/16 + 1)) = ln 2; slope 1 / sqrt(25/16) = 4/5
    pytest.param(tg.arcsinh, 0.75, LN2, 0.8, id="arcsinh"),
    # arccosh(5/4) = ln(5/4 + sqrt(25/16 - 1)) = ln 2; slope 1 / sqrt(9/16) = 4/3
    pytest.param(tg.arccosh, 1.25, LN2, 4 / 3, id="arccosh"),
    # arctanh(3/5) = ln((1 + 3/5) / (1 - 3/5)) / 2 = ln(4) / 2 = ln 2; slope 1 / (1 - 9/25) = 25/16
    pytest.param(tg.arctanh, 0.6, LN2, 25 / 16, id="arctanh"),
    # log1p(1) = ln 2, slope 1 / (1 + 1); expm1(ln 2) = 1, slope e^(ln 2) = 2
    pytest.param(tg.log1p, 1.0, LN2, 0.5, id="log1p"),
    pytest.param(tg.expm1, LN2, 1.0, 2.0, id="expm1"),
    # log2(8) = 3, slope 1 / (8 ln 2); log10(100) = 2, slope 1 / (100 ln 10); 2^3 = 8, 8 ln 2
    pytest.param(tg.log2, 8.0, 3.0, 1 / (8 * LN2), id="log2"),
    pytest.param(tg.log10, 100.0, 2.0, 1 / (100 * LN10), id="log10"),
    pytest.param(tg.exp2, 3.0, 8.0, 8 * LN2, id="exp2"),
    # (-3)^2 = 9, slope 2 (-3); 1/4 and -1/4^2; 4^(-1/2) = 1/2 and -(1/2) 4^(-3/2) = -1/16
    pytest.param(tg.square, -3.0, 9.0, -6.0, id="square"),
    pytest.param(tg.reciprocal, 4.0, 0.25, -1 / 16, id="reciprocal"),
    pytest.param(tg.reciprocal, -0.5, -2.0, -4.0, id="reciprocal-negative"),
    pytest.param(tg.rsqrt, 4.0, 0.5, -1 / 16, id="rsqrt"),
    # 180 degrees are pi radians; both are linear maps, their slopes are the factors
    pytest.param(tg.deg2rad, 180.0, math.pi, math.pi / 180, id="deg2rad"),
    pytest.param(tg.rad2deg, math.pi, 180.0, 180 / math.pi, id="rad2deg"),
    # the steps are flat: slope 0 (not None: backward goes through them)
    pytest.param(tg.floor, -2.7, -3.0, 0.0, id="floor"),
    pytest.param(tg.ceil, -2.7, -2.0, 0.0, id="ceil"),
    pytest.param(tg.trunc, -2.7, -2.0, 0.0, id="trunc"),
    pytest.param(tg.round, 2.5, 2.0, 0.0, id="round-half-to-even-down"),
    pytest.param(tg.round, 3.5, 4.0, 0.0, id="round-half-to-even-up"),
    pytest.param(tg.nan_to_num, -1.5, -1.5, 1.0, id="nan_to_num-finite"),
    pytest.param(lambda x: x.real, 2.0, 2.0, 1.0, id="real"),
    pytest.param(lambda x: x.imag, 2.0, 0.0, 0.0, id="imag"),
    pytest.param(lambda x: x.conj(), 2.0, 2.0, 1.0, id="conj"),
]


@pytest.mark.parametrize("f, x, value, grad", UNARY)
def test_unary_by_hand(f: Callable, x: float, value: float, grad: float):
    _both_paths(f, x, value, grad)


# ---- two inputs: f(a, b), df/da, df/db -----------------------------------------------------------
BINARY = [
    # arctan2(a, b) is the angle of (b, a); d/da = b / r^2, d/db = -a / r^2. (1, -1): 3pi/4, r^2 = 2
    pytest.param(tg.arctan2, (1.0, -1.0), 3 * math.pi / 4, (-0.5, -0.5), id="arctan2"),
    pytest.param(tg.arctan2, (-1.0, -1.0), -3 * math.pi / 4, (-0.5, 0.5), id="arctan2-below"),
    # hypot(3, 4) = 5; d/da = a / 5, d/db = b / 5
    pytest.param(tg.hypot, (3.0, -4.0), 5.0, (0.6, -0.8), id="hypot"),
    # ln(e^0 + e^(ln 3)) = ln 4; the slopes are the shares 1/4 and 3/4
    pytest.param(tg.logaddexp, (0.0, math.log(3)), math.log(4), (0.25, 0.75), id="logaddexp"),
    # log2(2 + 8) = log2(10); shares 2/10 and 8/10
    pytest.param(tg.logaddexp2, (1.0, 3.0), math.log2(10), (0.2, 0.8), id="logaddexp2"),
    # a mod b = a - b floor(a / b): d/da = 1, d/db = -floor(a / b); the divisor's sign
    pytest.param(tg.mod, (7.0, 3.0), 1.0, (1.0, -2.0), id="mod"),
    pytest.param(tg.mod, (-7.0, 3.0), 2.0, (1.0, 3.0), id="mod-negative-dividend"),
    pytest.param(tg.mod, (7.0, -3.0), -2.0, (1.0, 3.0), id="mod-negative-divisor"),
    pytest.param(lambda a, b: a % b, (5.5, 2.0), 1.5, (1.0, -2.0), id="percent"),
    pytest.param(lambda a, b: 5.5 % b, (0.0, 2.0), 1.5, (0.0, -2.0), id="percent-reflected"),
    # fmod(a, b) = a - b trunc(a / b): the dividend's sign; d/db = -trunc(a / b)
    pytest.param(tg.fmod, (-7.0, 3.0), -1.0, (1.0, 2.0), id="fmod-negative-dividend"),
    pytest.param(tg.fmod, (7.0, -3.0), 1.0, (1.0, 2.0), id="fmod-negative-divisor"),
]


@pytest.mark.parametrize("f, inputs, value, grads", BINARY)
def test_binary_by_hand(f: Callable, inputs: tuple, value: float, grads: tuple):
    for wrap in (float, lambda x: np.array([x])):
        out, leaves = backprop(f, *[wrap(x) for x in inputs])
        assert_same(out.data, wrap(value))
        for leaf, grad in zip(leaves, grads):
            assert_same(leaf.grad, wrap(grad))


def test_binary_ops_broadcast_and_sum_the_gradient_back():
    # hypot of a (2, 3) array and a row (3,): the row's gradient sums b / hypot over the rows
    out, (a, b) = backprop(tg.hypot, X, ROW)
    assert_same(out.data, np.hypot(X, ROW))
    assert_same(a.grad, X / np.hypot(X, ROW))
    assert_same(b.grad, (ROW / np.hypot(X, ROW)).sum(axis=0))


def test_arctan2_quadrants_match_numpy():
    a, b = np.array([1.0, 1.0, -1.0, -1.0, 0.0, 2.0]), np.array([1.0, -1.0, -1.0, 1.0, -2.0, 0.0])
    assert_same(tg.arctan2(a, b).data, np.arctan2(a, b))
    assert_same(tg.atan2(Value(a), b).data, np.arctan2(a, b))


# ---- stability: no overflow, no nan at +-1e3 -----------------------------------------------------
@pytest.mark.parametrize("f, value, big", [
    (tg.logaddexp, [1e3 + LN2, -1e3 + LN2, 1e3], LN2),
    (tg.logaddexp2, [1e3 + 1, -1e3 + 1, 1e3], 1.0),
], ids=["logaddexp", "logaddexp2"])
def test_logaddexp_is_stable_at_plus_minus_1e3(f: Callable, value: list, big: float):
    a, b = np.array([1e3, -1e3, 1e3]), np.array([1e3, -1e3, -1e3])
    with np.errstate(over="raise", divide="raise", invalid="raise"):
        out, (va, vb) = backprop(f, a, b)
        assert_same(out.data, np.array(value))
        assert_same(va.grad, np.array([0.5, 0.5, 1.0]))  # equal inputs share, the larger wins
        assert_same(vb.grad, np.array([0.5, 0.5, 0.0]))
        for x, y, expected in zip(a, b, value):  # the scalar path, element by element
            assert f(Value(float(x)), float(y)).data == pytest.approx(expected, rel=1e-15)
    assert math.isclose(f(Value(1e3), 1e3).data - 1e3, big, rel_tol=1e-12)


# ---- the domains: clear errors naming the op and the value ---------------------------------------
DOMAIN_ERRORS = [
    pytest.param(tg.arcsin, 1.5, "arcsin: the input must lie in \\[-1, 1\\]", id="arcsin"),
    pytest.param(tg.arccos, -1.5, "arccos: the input must lie in \\[-1, 1\\]", id="arccos"),
    pytest.param(tg.arctanh, 1.0, "arctanh: the input must lie in \\(-1, 1\\)", id="arctanh"),
    pytest.param(tg.arccosh, 0.5, "arccosh: the input must be at least 1", id="arccosh"),
    pytest.param(tg.log1p, -1.0, "log1p: the input must be greater than -1", id="log1p"),
    pytest.param(tg.log2, 0.0, "log2: the input must be positive", id="log2"),
    pytest.param(tg.log10, -1.0, "log10: the input must be positive", id="log10"),
    pytest.param(tg.rsqrt, 0.0, "rsqrt: the input must be positive", id="rsqrt"),
    pytest.param(tg.reciprocal, 0.0, "reciprocal: the input must be nonzero", id="reciprocal"),
    pytest.param(lambda x: 1.0 % x, 0.0, "mod: division by zero", id="mod"),
    pytest.param(lambda x: tg.fmod(1.0, x), 0.0, "fmod: division by zero", id="fmod"),
    pytest.param(tg.sinh, 1e3, "sinh: the input is so large that sinh overflows", id="sinh"),
    pytest.param(tg.cosh, -1e3, "cosh: the input is so large that cosh overflows", id="cosh"),
    pytest.param(tg.expm1, 1e3, "expm1: the input is so large that expm1 overflows", id="expm1"),
    pytest.param(tg.exp2, 2e3, "exp2: the input is so large that exp2 overflows", id="exp2"),
]


@pytest.mark.parametrize("f, bad, match", DOMAIN_ERRORS)
def test_inputs_outside_the_domain_raise_a_domain_error(f: Callable, bad: float, match: str):
    with pytest.raises(DomainError, match=match):
        f(Value(bad))
    # in an array the message says where: the bad element is the second
    with pytest.raises(DomainError, match=match + ".* at index \\(1,\\)"):
        f(Value(np.array([0.5 if f is not tg.arccosh else 2.0, bad])))


def test_float32_overflows_at_float32_limits():
    x = Value(np.array([1.0, 200.0], dtype=np.float32))  # 2^200 is beyond float32's 3.4e38
    with pytest.raises(DomainError, match="exp2: .* overflows; got 200.0 at index \\(1,\\)"):
        tg.exp2(x)
    assert tg.exp2(Value(np.array([200.0]))).data[0] == 2.0 ** 200  # fine in float64


@pytest.mark.parametrize("f, x", [
    (tg.arcsin, 1.0), (tg.arcsin, -1.0), (tg.arccos, 1.0), (tg.arccosh, 1.0),
], ids=["arcsin-1", "arcsin-minus-1", "arccos-1", "arccosh-1"])
def test_the_value_exists_at_the_edge_but_the_infinite_slope_raises(f: Callable, x: float):
    for data in (x, np.array([x])):
        out = f(Value(data))
        assert np.isfinite(out.data).all()
        with pytest.raises(DomainError, match=f"{out._op}: the derivative is infinite"):
            out.sum().backward()


@pytest.mark.parametrize("f", [tg.arctan2, tg.hypot])
def test_arctan2_and_hypot_have_no_derivative_at_the_origin(f: Any):
    a, b = Value(np.array([1.0, 0.0])), Value(np.array([2.0, 0.0]))
    out = f(a, b)
    assert_same(out.data, np.array([f.forward(1.0, 2.0), 0.0]))  # numpy's values at the origin
    with pytest.raises(DomainError, match=f"{f.name}: the derivative is undefined where both"):
        out.sum().backward()


# ---- steps: zero derivative, in the graph --------------------------------------------------------
@pytest.mark.parametrize("f", [tg.floor, tg.ceil, tg.trunc, tg.round, lambda x: x.imag],
                         ids=["floor", "ceil", "trunc", "round", "imag"])
def test_steps_require_a_gradient_and_pass_zeros(f: Callable):
    x = Value(np.array([-1.7, 0.2, 2.6]))
    y = f(x)
    assert y.requires_grad  # as in PyTorch: backward through it works and gives zeros
    y.sum().backward()
    assert_same(x.grad, np.zeros(3))
    # in a product, only the other factor's derivative survives: d/dx (x f(x)) = f(x)
    x2 = Value(np.array([-1.7, 0.2, 2.6]))
    (x2 * f(x2)).sum().backward()
    assert_same(x2.grad, f(Value(x2.data)).data)


@pytest.mark.parametrize("f, expected", [
    # ties go to the even neighbour; ceil, trunc and round keep the sign of a zero, as numpy
    (tg.round, [-2.0, -2.0, -0.0, 0.0, 2.0, 2.0]),
    (tg.ceil, [-2.0, -1.0, -0.0, 1.0, 2.0, 3.0]),
    (tg.floor, [-3.0, -2.0, -1.0, 0.0, 1.0, 2.0]),
    (tg.trunc, [-2.0, -1.0, -0.0, 0.0, 1.0, 2.0]),
], ids=["round", "ceil", "floor", "trunc"])
def test_steps_at_halves_on_both_paths(f: Callable, expected: list):
    x = np.array([-2.5, -1.5, -0.5, 0.5, 1.5, 2.5])
    for out in (f(Value(x)).data, np.array([f(Value(float(v))).data for v in x])):
        assert_same(out, np.array(expected))
        assert (np.signbit(out) == np.signbit(expected)).all()


def test_steps_leave_inf_and_nan_alone_on_both_paths():
    for f in (tg.floor, tg.ceil, tg.trunc, tg.round):
        for v in (math.inf, -math.inf):
            assert f(Value(v)).data == v and f(Value(np.array([v]))).data[0] == v
        assert math.isnan(f(Value(math.nan)).data)


@pytest.mark.parametrize("decimals", [-2, -1, 0, 1, 2, 3])
def test_round_with_decimals_agrees_with_numpy_on_both_paths(decimals: int):
    x = np.random.default_rng(decimals + 2).uniform(-500, 500, 50)
    expected = np.round(x, decimals)
    assert_same(tg.round(Value(x), decimals).data, expected, rtol=0, atol=0)
    assert_same(Value(x).round(decimals=decimals).data, expected, rtol=0, atol=0)
    scalar = [tg.round(Value(float(v)), decimals=decimals).data for v in x]
    assert_same(np.array(scalar), expected, rtol=0, atol=0)


def test_round_by_hand():
    # 1.25 is exact in binary: 12.5 rounds to the even 12; 1234.5 to hundreds is 1200
    assert tg.round(Value(1.25), 1).data == 1.2
    assert tg.round(Value(np.array([1234.5])), decimals=-2).data[0] == 1200.0
    with pytest.raises(TypeError, match="round"):
        tg.round(Value(1.0), 1, 2)


# ---- mod and fmod ----------------------------------------------------------------------------
def test_mod_and_fmod_signs_on_both_paths():
    a = np.array([7.0, -7.0, 7.0, -7.0, 6.0])
    b = np.array([3.0, 3.0, -3.0, -3.0, -3.0])
    for f, reference in ((tg.mod, np.remainder), (tg.fmod, np.fmod), (tg.remainder, np.remainder)):
        out = f(Value(a), Value(b)).data
        assert_same(out, reference(a, b))
        scalar = np.array([f(Value(float(x)), float(y)).data for x, y in zip(a, b)])
        assert_same(scalar, reference(a, b))
        assert (np.signbit(scalar) == np.signbit(reference(a, b))).all()  # 6 mod -3 is -0.0


def test_mod_gradients_on_arrays_by_hand():
    # d/db (a mod b) = -floor(a / b): a / b = [2.33, -2.33, -2.33] -> [-2, 3, 3]
    a3, b3 = np.array([7.0, -7.0, 7.0]), np.array([3.0, 3.0, -3.0])
    out, (a, b) = backprop(lambda a, b: a % b, a3, b3)
    assert_same(out.data, np.array([1.0, 2.0, -2.0]))
    assert_same(a.grad, np.ones(3))
    assert_same(b.grad, np.array([-2.0, 3.0, 3.0]))
    # fmod: -trunc(a / b) = [-2, 2, 2]
    out, (a, b) = backprop(tg.fmod, a3, b3)
    assert_same(out.data, np.array([1.0, -1.0, 1.0]))
    assert_same(b.grad, np.array([-2.0, 2.0, 2.0]))


def test_mod_by_a_zero_element_names_where():
    with pytest.raises(DomainError, match="mod: division by zero.* at index \\(1,\\)"):
        Value(np.array([1.0, 2.0])) % np.array([1.0, 0.0])
    with pytest.raises(DomainError, match="fmod: division by zero"):
        tg.fmod(Value(np.array([1.0, 2.0])), 0.0)


# ---- nan_to_num ------------------------------------------------------------------------------
def test_nan_to_num_replaces_and_blocks_the_gradient_there():
    # finite elements pass (slope 1); nan, inf and -inf become constants (slope 0)
    x = np.array([np.nan, np.inf, -np.inf, 1.5])
    out, (leaf,) = backprop(tg.nan_to_num, x)
    big = sys.float_info.max
    assert_same(out.data, np.array([0.0, big, -big, 1.5]))
    assert_same(leaf.grad, np.array([0.0, 0.0, 0.0, 1.0]))
    out = Value(x).nan_to_num(nan=1.0, posinf=2.0, neginf=-3.0)
    assert_same(out.data, np.array([1.0, 2.0, -3.0, 1.5]))
    for v, expected in zip(x, [1.0, 2.0, -3.0, 1.5]):  # the scalar path
        s = Value(float(v))
        y = tg.nan_to_num(s, 1.0, 2.0, -3.0)
        y.backward()
        assert y.data == expected and s.grad == (1.0 if expected == 1.5 else 0.0)
    assert tg.nan_to_num(Value(math.inf)).data == big
    # float32: the largest float32
    y = tg.nan_to_num(Value(np.array([np.inf]), dtype=np.float32))
    assert y.dtype == np.float32 and y.data[0] == np.finfo(np.float32).max


# ---- aliases, methods and shapes -----------------------------------------------------------------
ALIASES = {"asin": "arcsin", "acos": "arccos", "atan": "arctan", "atan2": "arctan2",
           "asinh": "arcsinh", "acosh": "arccosh", "atanh": "arctanh", "remainder": "mod",
           "fix": "trunc", "conjugate": "conj", "negative": "neg", "subtract": "sub",
           "multiply": "mul", "divide": "div", "true_divide": "div", "power": "pow"}


def test_aliases_are_the_same_ops():
    for alias, name in ALIASES.items():
        assert getattr(tg, alias) is getattr(ops, name) is ops.ALL[alias], alias
    x = Value(np.array([0.25, -0.5]))
    for method, name in [("asin", "arcsin"), ("acos", "arccos"), ("atan", "arctan"),
                         ("asinh", "arcsinh"), ("atanh", "arctanh"), ("fix", "trunc"),
                         ("conjugate", "conj"), ("sin", "sin"), ("log1p", "log1p")]:
        out = getattr(x, method)()
        assert out._op == name
        assert_same(out.data, getattr(x, name)().data)
    assert (x.atan2(1.0)._op, x.remainder(1.0)._op, x.hypot(x)._op) == ("arctan2", "mod", "hypot")
    assert_same(tg.power(x, 2.0).data, x.data ** 2)
    assert_same(tg.true_divide(x, 2.0).data, x.data / 2)


@pytest.mark.parametrize("shape", [(0,), (), (2, 0, 3)], ids=["empty", "0-d", "empty-3d"])
def test_empty_and_zero_dimensional_arrays(shape: tuple):
    data = np.full(shape, 0.5)
    for f in (tg.sin, tg.arcsin, tg.log2, tg.floor, tg.round, tg.nan_to_num, tg.rsqrt):
        x = Value(data)
        out = f(x)
        assert out.shape == shape and isinstance(out.data, np.ndarray)
        out.backward(np.ones(shape))
        assert x.grad.shape == shape
    out = tg.arctan2(Value(data), Value(data))
    assert out.shape == shape


# ---- second order ----------------------------------------------------------------------------
def test_second_derivatives_by_hand():
    # tan'' = d/dx (1 + tan^2) = 2 tan (1 + tan^2) = 4 at pi/4;
    # arcsin'' = x / (1 - x^2)^(3/2) = (1/2) / (3/4)^(3/2) at 1/2; sinh'' = sinh
    cases = [(tg.tan, math.pi / 4, 4.0), (tg.arcsin, 0.5, 0.5 / 0.75 ** 1.5),
             (tg.sinh, LN2, 0.75), (tg.log2, 2.0, -1 / (4 * LN2)), (tg.floor, 1.5, 0.0)]
    for f, x, expected in cases:
        v = Value(x)
        (g,) = tg.grad(f(v), v, create_graph=True)
        (h,) = tg.grad(g, v, allow_unused=True, materialize_grads=True)
        assert h.data == pytest.approx(expected, rel=1e-12, abs=1e-15), f.name


@pytest.mark.parametrize("f, inputs", [
    (tg.logaddexp, (X, Y)), (tg.logaddexp2, (X, ROW)), (tg.arctan2, (X, Y)), (tg.hypot, (X, ROW)),
    (tg.mod, (X, DIVISOR)), (tg.fmod, (X, DIVISOR)), (tg.rsqrt, (POSITIVE,)),
    (tg.arccosh, (1 + POSITIVE,)), (tg.nan_to_num, (X,)),
], ids=lambda v: getattr(v, "name", ""))
def test_gradgradcheck(f: Callable, inputs: tuple):
    assert gradgradcheck(f, *inputs)


# ---- PyTorch, where the automatic oracle does not go ------------------------------------------
def test_nan_to_num_and_ties_agree_with_torch():
    torch = pytest.importorskip("torch")
    x = np.array([np.nan, np.inf, -np.inf, 1.5, -2.5, 0.5])
    for ours, theirs in [(lambda v: tg.nan_to_num(v, 0.5, 7.0, -7.0) * 3.0 + v.round(),
                          lambda t: torch.nan_to_num(t, 0.5, 7.0, -7.0) * 3.0 + t.round())]:
        out, (leaf,) = backprop(lambda v: ours(v * 2.0), x)
        t = torch.tensor(x, requires_grad=True)
        reference = theirs(t * 2.0)
        reference.backward(torch.ones_like(reference))
        np.testing.assert_array_equal(out.data, reference.detach().numpy())
        np.testing.assert_array_equal(leaf.grad, t.grad.numpy())


def test_remainders_of_negative_numbers_agree_with_torch():
    torch = pytest.importorskip("torch")
    a, b = np.array([7.5, -7.5, 7.5, -7.5]), np.array([2.0, 2.0, -2.0, -2.0])
    for ours, theirs in ((tg.mod, torch.remainder), (tg.fmod, torch.fmod)):
        out, (va, vb) = backprop(ours, a, b)
        ta, tb = torch.tensor(a, requires_grad=True), torch.tensor(b, requires_grad=True)
        reference = theirs(ta, tb)
        reference.sum().backward()
        np.testing.assert_array_equal(out.data, reference.detach().numpy())
        np.testing.assert_array_equal(va.grad, ta.grad.numpy())
        np.testing.assert_array_equal(vb.grad, tb.grad.numpy())
