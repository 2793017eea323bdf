"""The activation functions and binary max/min (tinygrad_nn/ops/activations.py): reference rows, PyTorch spellings and hand-worked cases."""

from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np
import pytest

import tinygrad_nn as tg
from opcase import ROW, X, OpCase, assert_by_hand, assert_same, backprop
from tinygrad_nn import DomainError, ShapeError, Value

SELU_ALPHA = 1.6732632423543772848170429916717  # Klambauer et al. (2017), as in torch
SELU_SCALE = 1.0507009873554804934193349852946
LN2, LN3 = math.log(2), math.log(3)
SQRT_2PI = math.sqrt(2 * math.pi)
TWO_OVER_SQRT_PI = 2 / math.sqrt(math.pi)
# every piece of the piecewise-linear ones (below, inside and above their bounds), no kinks
WIDE = np.array([[-4.5, -1.5, 0.5], [2.0, 3.5, 7.0]])

np_erf = np.vectorize(math.erf, otypes=[float])
np_erfc = np.vectorize(math.erfc, otypes=[float])


def np_sigmoid(a: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-a))


def phi(x: float) -> float:
    """The standard normal density."""
    return math.exp(-x * x / 2) / SQRT_2PI


def Phi(x: float) -> float:
    """The standard normal distribution function."""
    return 0.5 * math.erfc(-x / math.sqrt(2))


# rows of test_ops_values.REFERENCES: each op's numpy reference, inputs inside its domain
REFERENCES: list[OpCase] = [
    OpCase("maximum", tg.maximum, np.maximum, (X, ROW), elementwise=True),
    OpCase("minimum", tg.minimum, np.minimum, (X, ROW), elementwise=True),
    OpCase("fmax", tg.fmax, np.fmax, (X, ROW), elementwise=True),
    OpCase("fmin", tg.fmin, np.fmin, (X, ROW), elementwise=True),
    OpCase("erf", tg.erf, np_erf, (X,), elementwise=True),
    OpCase("erfc", tg.erfc, np_erfc, (X,), elementwise=True),
    OpCase("gelu", tg.gelu, lambda a: a * 0.5 * (1 + np_erf(a / math.sqrt(2))), (X,),
           elementwise=True),
    OpCase("quick_gelu", tg.quick_gelu, lambda a: a * np_sigmoid(1.702 * a), (X,), elementwise=True),
    OpCase("silu", tg.silu, lambda a: a * np_sigmoid(a), (X,), elementwise=True),
    OpCase("elu", lambda a: a.elu(alpha=0.5), lambda a: np.where(a > 0, a, 0.5 * (np.exp(a) - 1)),
           (X,), elementwise=True),
    OpCase("celu", lambda a: a.celu(alpha=2.0),
           lambda a: np.where(a > 0, a, 2.0 * (np.exp(a / 2.0) - 1)), (X,), elementwise=True),
    OpCase("selu", tg.selu, lambda a: SELU_SCALE * np.where(a > 0, a, SELU_ALPHA * (np.exp(a) - 1)),
           (X,), elementwise=True),
    OpCase("relu6", tg.relu6, lambda a: np.clip(a, 0, 6), (WIDE,), elementwise=True),
    OpCase("hardtanh", lambda a: a.hardtanh(min_val=-2.0, max_val=2.5),
           lambda a: np.clip(a, -2.0, 2.5), (WIDE,), elementwise=True),
    OpCase("hardsigmoid", tg.hardsigmoid, lambda a: np.clip(a / 6 + 0.5, 0, 1), (WIDE,),
           elementwise=True),
    OpCase("hardswish", tg.hardswish, lambda a: a * np.clip(a + 3, 0, 6) / 6, (WIDE,),
           elementwise=True),
    OpCase("mish", tg.mish, lambda a: a * np.tanh(np.log1p(np.exp(a))), (X,), elementwise=True),
    OpCase("softsign", tg.softsign, lambda a: a / (1 + np.abs(a)), (X,), elementwise=True),
    OpCase("logsigmoid", tg.logsigmoid, lambda a: -np.log1p(np.exp(-a)), (X,), elementwise=True),
]


def torch_spellings(torch: Any, F: Any) -> dict:
    """Each op of this group (by its name in tinygrad_nn.testing.OPS) spelled in torch."""
    return {
        "maximum": torch.maximum,
        "minimum": torch.minimum,
        "fmax": torch.fmax,
        "fmin": torch.fmin,
        "erf": torch.erf,
        "erfc": torch.erfc,
        "gelu": lambda t, *, approximate: F.gelu(t, approximate=approximate),
        "quick_gelu": lambda t: t * torch.sigmoid(1.702 * t),  # not in torch.nn.functional
        "silu": F.silu,
        "elu": lambda t, *, alpha: F.elu(t, alpha=alpha),
        # F.celu's backward rounds 1/alpha to float32 (relative errors of 1e-7 in float64);
        # celu(x, alpha) = alpha elu(x / alpha) has no such constant
        "celu": lambda t, *, alpha: alpha * F.elu(t / alpha),
        "selu": F.selu,
        "relu6": F.relu6,
        "hardtanh": lambda t, *, min_val, max_val: F.hardtanh(t, min_val=min_val, max_val=max_val),
        # F.hardsigmoid has no second derivative in torch (nor float64's 1/6 in its first)
        "hardsigmoid": lambda t: F.relu6(t + 3) / 6,
        "hardswish": F.hardswish,
        "mish": F.mish,
        "softsign": F.softsign,
        "logsigmoid": F.logsigmoid,
    }


UNARY = ["erf", "erfc", "gelu", "quick_gelu", "silu", "elu", "celu", "selu", "relu6", "hardtanh",
         "hardsigmoid", "hardswish", "mish", "softsign", "logsigmoid"]
BINARY = ["maximum", "minimum", "fmax", "fmin"]


# ==== erf and erfc: accuracy =====================================================================
def _grid() -> np.ndarray:
    """[-30, 30] every 1e-4, finer around 0.5 to 3 (where approximations often change
    pieces), and tiny numbers of both signs."""
    seams = np.concatenate([np.arange(0.5, 3.01, 0.25), np.arange(0.625, 3.0, 0.25)])
    near = (seams[:, None] + np.linspace(-1e-3, 1e-3, 201)).ravel()
    tiny = np.geomspace(1e-300, 1e-2, 300)
    return np.concatenate([np.linspace(-30, 30, 600_001), near, -near, tiny, -tiny])


def _relative_error(ours: np.ndarray, exact: np.ndarray) -> np.ndarray:
    """Relative error where the exact value is a normal float; where it is subnormal (past
    erfc(26.5) ~ 1e-308) scipy may flush to zero, so only the absolute error is bounded."""
    normal = np.abs(exact) >= np.finfo(float).tiny
    assert (np.abs(ours - exact)[~normal] <= np.finfo(float).tiny).all()
    return np.abs(ours - exact)[normal] / np.abs(exact[normal])


@pytest.mark.parametrize("name, reference", [("erf", math.erf), ("erfc", math.erfc)])
def test_erf_and_erfc_agree_with_math_to_1e_13_on_a_dense_grid(name: str, reference: Callable):
    xs = _grid()
    exact = np.array([reference(x) for x in xs])
    ours = getattr(tg.ops, name).forward(xs)
    assert ours.dtype == np.float64 and ours.shape == xs.shape
    assert _relative_error(ours, exact).max() <= 1e-13  # scipy: 6e-14 at worst, erfc(26) ~ 1e-294


def test_erf_is_odd_and_erfc_is_its_complement():
    xs = np.linspace(-8, 8, 16_001)
    erf, erfc = tg.ops.erf.forward, tg.ops.erfc.forward
    np.testing.assert_array_equal(erf(-xs), -erf(xs))
    np.testing.assert_allclose(erf(xs) + erfc(xs), 1.0, rtol=0, atol=2.3e-16)
    np.testing.assert_allclose(erfc(-xs) + erfc(xs), 2.0, rtol=0, atol=5e-16)


def test_erf_at_infinities_nan_and_far_out():
    x = np.array([-np.inf, -1e300, -31.0, 0.0, 31.0, 1e300, np.inf, np.nan])
    np.testing.assert_array_equal(tg.erf(x).data, [-1, -1, -1, 0, 1, 1, 1, np.nan])
    np.testing.assert_array_equal(tg.erfc(x).data, [2, 2, 2, 1, 0, 0, 0, np.nan])


def test_erf_keeps_float32_and_rounds_its_float64_result():
    x = np.linspace(-6, 6, 1001, dtype=np.float32)
    for op, reference in [(tg.erf, math.erf), (tg.erfc, math.erfc)]:
        out = op(Value(x))
        assert out.dtype == np.float32
        expected = np.array([reference(float(v)) for v in x], dtype=np.float32)
        np.testing.assert_array_max_ulp(out.data, expected, maxulp=1)
        out.sum().backward()


@pytest.mark.parametrize("shape", [(), (0,), (2, 0)])
def test_erf_of_zero_dimensional_and_empty_arrays(shape: tuple):
    x = np.full(shape, 0.75)
    out, (leaf,) = backprop(tg.erf, x)
    assert isinstance(out.data, np.ndarray) and out.shape == shape
    assert_same(out.data, np.full(shape, math.erf(0.75)), rtol=1e-15)
    # d/dx erf(x) = 2/sqrt(pi) e^-x^2
    assert_same(leaf.grad, np.full(shape, TWO_OVER_SQRT_PI * math.exp(-0.5625)), rtol=1e-15)


# erf' = 2/sqrt(pi) e^-x^2 = -erfc'; at 0 that is 2/sqrt(pi), at 1 it is 2/(e sqrt(pi))
@pytest.mark.parametrize("x", [0.0, 1.0, -2.5, 4.0])
def test_erf_and_erfc_gradients_by_hand(x: float):
    slope = TWO_OVER_SQRT_PI * math.exp(-x * x)
    for data in (x, [x]):  # a Python float, and an array
        shape = np.shape(data)
        assert_by_hand(tg.erf, data, np.full(shape, math.erf(x)), np.full(shape, slope), rtol=1e-14)
        assert_by_hand(tg.erfc, data, np.full(shape, math.erfc(x)), np.full(shape, -slope),
                       rtol=1e-14)


def _second_derivative(f: Callable[[Value], Value], x: Any) -> tuple:
    """f' and f'' of an elementwise f at x (arrays: elementwise), by differentiating twice."""
    leaf = Value(x)
    (g,) = tg.grad(f(leaf).sum(), leaf, create_graph=True)
    (h,) = tg.grad(g.sum(), leaf)
    return g.data, h.data


def test_erf_second_derivative_by_hand():
    # erf'' = d/dx 2/sqrt(pi) e^-x^2 = -2x erf'(x)
    x = np.array([-1.5, 0.0, 0.5, 2.0])
    g, h = _second_derivative(tg.erf, x)
    assert_same(h, -2 * x * TWO_OVER_SQRT_PI * np.exp(-x * x), rtol=1e-14, atol=1e-16)
    _, h = _second_derivative(tg.erfc, x)
    assert_same(h, 2 * x * TWO_OVER_SQRT_PI * np.exp(-x * x), rtol=1e-14, atol=1e-16)


# ==== maximum, minimum, fmax, fmin ===============================================================
NAN = math.nan
PAIRS = [  # (op, a, b, value, gradient of a, gradient of b), for the seed of ones
    # the larger one gets the gradient; a tie splits it in halves
    pytest.param(tg.maximum, [1.0, 2.0, 3.0], [1.0, 5.0, 0.0], [1.0, 5.0, 3.0],
                 [0.5, 0.0, 1.0], [0.5, 1.0, 0.0], id="maximum"),
    pytest.param(tg.minimum, [1.0, 2.0, 3.0], [1.0, 5.0, 0.0], [1.0, 2.0, 0.0],
                 [0.5, 1.0, 0.0], [0.5, 0.0, 1.0], id="minimum"),
    # a NaN wins in maximum/minimum (the gradient goes to it), loses in fmax/fmin; two NaNs
    # give NaN with no gradient
    pytest.param(tg.maximum, [NAN, 1.0, NAN], [3.0, NAN, NAN], [NAN, NAN, NAN],
                 [1.0, 0.0, 0.0], [0.0, 1.0, 0.0], id="maximum-nan"),
    pytest.param(tg.minimum, [NAN, 1.0, NAN], [3.0, NAN, NAN], [NAN, NAN, NAN],
                 [1.0, 0.0, 0.0], [0.0, 1.0, 0.0], id="minimum-nan"),
    pytest.param(tg.fmax, [NAN, 1.0, 2.0, NAN, 4.0], [3.0, NAN, 2.0, NAN, 5.0],
                 [3.0, 1.0, 2.0, NAN, 5.0], [0.0, 1.0, 0.5, 0.0, 0.0], [1.0, 0.0, 0.5, 0.0, 1.0],
                 id="fmax"),
    pytest.param(tg.fmin, [NAN, 1.0, 2.0, NAN, 4.0], [3.0, NAN, 2.0, NAN, 5.0],
                 [3.0, 1.0, 2.0, NAN, 4.0], [0.0, 1.0, 0.5, 0.0, 1.0], [1.0, 0.0, 0.5, 0.0, 0.0],
                 id="fmin"),
]


@pytest.mark.parametrize("f, a, b, value, grad_a, grad_b", PAIRS)
def test_max_and_min_of_two_by_hand(f: Callable, a: list, b: list, value: list, grad_a: list,
                                    grad_b: list):
    out, (va, vb) = backprop(f, a, b)
    assert_same(out.data, value)  # assert_allclose counts NaN == NaN
    assert_same(va.grad, grad_a)
    assert_same(vb.grad, grad_b)
    for k in range(len(a)):  # the scalar path agrees, element by element
        out, (sa, sb) = backprop(f, a[k], b[k])
        assert type(out.data) is float and type(sa.grad) is float
        assert_same(out.data, value[k])
        assert (sa.grad, sb.grad) == (grad_a[k], grad_b[k])


def test_maximum_broadcasts_and_sums_the_gradient_back():
    # maximum(x, row): row[j] wins in column j wherever x[i, j] < row[j]; a 0.0 partner is relu
    x = np.array([[0.5, -1.5, 2.0], [-0.25, 1.0, 3.0]])
    row = np.array([0.0, 1.25, 2.0])  # column 2 ties with x[0, 2]
    out, (vx, vr) = backprop(tg.maximum, x, row)
    assert_same(out.data, [[0.5, 1.25, 2.0], [0.0, 1.25, 3.0]])
    assert_same(vx.grad, [[1.0, 0.0, 0.5], [0.0, 0.0, 1.0]])
    assert_same(vr.grad, [1.0, 2.0, 0.5])
    out, (vx,) = backprop(lambda v: v.maximum(0.0), x)
    assert_same(out.data, np.maximum(x, 0.0))
    assert_same(vx.grad, (x > 0).astype(float))


def test_max_and_min_of_two_keep_float32_beside_a_python_float():
    x = Value(np.array([-1.0, 0.5, 2.0], dtype=np.float32))
    for op in (tg.maximum, tg.minimum, tg.fmax, tg.fmin):
        out = op(x, 1.0)
        assert out.dtype == np.float32
        out.sum().backward()
        assert x.grad.dtype == np.float32


def test_max_of_two_with_shapes_that_do_not_broadcast():
    with pytest.raises(ShapeError, match="maximum"):
        tg.maximum(Value(np.ones((2, 3))), Value(np.ones(4)))


def test_ties_split_the_gradient_as_torch_does():
    torch = pytest.importorskip("torch")
    a, b = np.array([1.0, 2.0, -3.0]), np.array([1.0, 0.0, -3.0])
    for name in ("maximum", "minimum"):
        _, (va, vb) = backprop(getattr(tg, name), a, b)
        ta, tb = (torch.tensor(v, requires_grad=True) for v in (a, b))
        getattr(torch, name)(ta, tb).sum().backward()
        assert_same(va.grad, ta.grad.numpy())
        assert_same(vb.grad, tb.grad.numpy())


def test_max_of_two_second_derivative_is_zero():
    g, h = _second_derivative(lambda v: tg.maximum(v * v, 1.0), np.array([0.5, 2.0]))
    # max(x^2, 1): 1 below 1 (derivative 0), x^2 above (2x, then 2)
    assert_same(g, [0.0, 4.0])
    assert_same(h, [0.0, 2.0])


# ==== activations by hand ========================================================================
# (f, x, f(x), f'(x)); each runs on a Python float and on a one-element array
BY_HAND = [
    # gelu = x Phi(x): 0 at 0, slope Phi(0) + 0 phi(0) = 1/2; at 1: Phi(1) and Phi(1) + phi(1)
    pytest.param(tg.gelu, 0.0, 0.0, 0.5, id="gelu-0"),
    pytest.param(tg.gelu, 1.0, Phi(1.0), Phi(1.0) + phi(1.0), id="gelu-1"),
    pytest.param(tg.gelu, -2.0, -2 * Phi(-2.0), Phi(-2.0) - 2 * phi(-2.0), id="gelu-minus-2"),
    # the tanh form: x (1 + tanh(u)) / 2, u = sqrt(2/pi) (x + 0.044715 x^3); slope 1/2 at 0
    pytest.param(lambda v: v.gelu(approximate="tanh"), 0.0, 0.0, 0.5, id="gelu-tanh-0"),
    # silu = x sigmoid(x): at ln 3, sigmoid = 3/4: value 3/4 ln 3, slope s + x s (1 - s)
    pytest.param(tg.silu, LN3, 0.75 * LN3, 0.75 + 0.1875 * LN3, id="silu-ln3"),
    pytest.param(tg.swish, 0.0, 0.0, 0.5, id="swish-0"),
    # quick_gelu = x sigmoid(1.702 x): at x = ln 3 / 1.702, sigmoid = 3/4 again
    pytest.param(tg.quick_gelu, LN3 / 1.702, 0.75 * LN3 / 1.702, 0.75 + 0.1875 * LN3,
                 id="quick_gelu"),
    # elu below 0: alpha (e^x - 1), slope alpha e^x: at -ln 2, -alpha/2 and alpha/2
    pytest.param(tg.elu, -LN2, -0.5, 0.5, id="elu-negative"),
    pytest.param(lambda v: v.elu(0.5), -LN2, -0.25, 0.25, id="elu-alpha"),
    pytest.param(tg.elu, 2.0, 2.0, 1.0, id="elu-positive"),
    # at 0 the slope is alpha, torch's choice (the left side's)
    pytest.param(lambda v: v.elu(alpha=0.5), 0.0, 0.0, 0.5, id="elu-at-0"),
    # celu below 0: alpha (e^(x/alpha) - 1), slope e^(x/alpha): at -2 ln 2 with alpha 2, -1, 1/2
    pytest.param(lambda v: v.celu(alpha=2.0), -2 * LN2, -1.0, 0.5, id="celu-negative"),
    pytest.param(tg.celu, 3.0, 3.0, 1.0, id="celu-positive"),
    # selu = scale elu(x, alpha), fixed constants
    pytest.param(tg.selu, -LN2, -SELU_SCALE * SELU_ALPHA / 2, SELU_SCALE * SELU_ALPHA / 2,
                 id="selu-negative"),
    pytest.param(tg.selu, 1.0, SELU_SCALE, SELU_SCALE, id="selu-positive"),
    # mish = x tanh(softplus(x)): at 0, softplus = ln 2 and tanh(ln 2) = 3/5 is the slope; at
    # ln 3, softplus = ln 4 and t = tanh(ln 4) = 15/17, slope t + x (1 - t^2) sigmoid(x)
    pytest.param(tg.mish, 0.0, 0.0, 0.6, id="mish-0"),
    pytest.param(tg.mish, LN3, 15 / 17 * LN3, 15 / 17 + LN3 * (64 / 289) * 0.75, id="mish-ln3"),
    # softsign = x / (1 + |x|), slope 1 / (1 + |x|)^2
    pytest.param(tg.softsign, 1.0, 0.5, 0.25, id="softsign-1"),
    pytest.param(tg.softsign, -3.0, -0.75, 1 / 16, id="softsign-minus-3"),
    # logsigmoid = ln sigmoid(x), slope sigmoid(-x): -ln 2 and 1/2 at 0, ln(3/4) and 1/4 at ln 3
    pytest.param(tg.logsigmoid, 0.0, -LN2, 0.5, id="logsigmoid-0"),
    pytest.param(tg.logsigmoid, LN3, math.log(0.75), 0.25, id="logsigmoid-ln3"),
]


@pytest.mark.parametrize("f, x, value, grad", BY_HAND)
def test_activations_by_hand(f: Callable, x: float, value: float, grad: float):
    out = assert_by_hand(f, x, value, grad, rtol=1e-14, atol=1e-15)
    assert type(out.data) is float
    assert_by_hand(f, [x], [value], [grad], rtol=1e-14, atol=1e-15)


# piecewise-linear: the derivative at a bound is PyTorch's, the outer piece's (0 for relu6,
# hardtanh, hardsigmoid; 0 at -3 and 1 at 3 for hardswish)
PIECEWISE = [
    pytest.param(tg.relu6, [-1.0, 0.0, 3.0, 6.0, 7.0], [0.0, 0.0, 3.0, 6.0, 6.0],
                 [0.0, 0.0, 1.0, 0.0, 0.0], id="relu6"),
    pytest.param(tg.hardtanh, [-2.0, -1.0, 0.5, 1.0, 2.0], [-1.0, -1.0, 0.5, 1.0, 1.0],
                 [0.0, 0.0, 1.0, 0.0, 0.0], id="hardtanh"),
    pytest.param(lambda v: v.hardtanh(min_val=0.0, max_val=0.5), [-1.0, 0.25, 0.75],
                 [0.0, 0.25, 0.5], [0.0, 1.0, 0.0], id="hardtanh-bounds"),
    pytest.param(lambda v: v.hardtanh(2.0, 2.0), [1.0, 3.0], [2.0, 2.0], [0.0, 0.0],
                 id="hardtanh-equal-bounds"),
    # hardsigmoid = relu6(x + 3) / 6: slope 1/6 inside (-3, 3)
    pytest.param(tg.hardsigmoid, [-4.0, -3.0, 0.0, 1.5, 3.0, 4.0], [0.0, 0.0, 0.5, 0.75, 1.0, 1.0],
                 [0.0, 0.0, 1 / 6, 1 / 6, 0.0, 0.0], id="hardsigmoid"),
    # hardswish = x (x + 3) / 6 inside, slope (2x + 3) / 6 = x/3 + 1/2
    pytest.param(tg.hardswish, [-4.0, -3.0, -1.5, 1.5, 3.0, 4.0],
                 [0.0, 0.0, -0.375, 1.125, 3.0, 4.0], [0.0, 0.0, 0.0, 1.0, 1.0, 1.0],
                 id="hardswish"),
]


@pytest.mark.parametrize("f, x, value, grad", PIECEWISE)
def test_piecewise_linear_activations_by_hand(f: Callable, x: list, value: list, grad: list):
    assert_by_hand(f, x, value, grad)
    for k in range(len(x)):
        assert_by_hand(f, x[k], value[k], grad[k])


def test_piecewise_linear_gradients_at_the_bounds_match_torch():
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    x = np.array([-4.0, -3.0, -1.0, 0.0, 1.0, 3.0, 6.0, 7.0])
    for name, spelling in [("relu6", F.relu6), ("hardtanh", F.hardtanh),
                           ("hardsigmoid", F.hardsigmoid), ("hardswish", F.hardswish),
                           ("elu", F.elu), ("celu", F.celu), ("selu", F.selu),
                           ("softsign", F.softsign)]:
        out, (leaf,) = backprop(getattr(tg, name), x)
        t = torch.tensor(x, requires_grad=True)
        reference = spelling(t)
        reference.sum().backward()
        # torch's hardsigmoid backward multiplies by 1/6 rounded to float32, even in float64
        rtol = 1e-7 if name == "hardsigmoid" else 1e-15
        assert_same(out.data, reference.detach().numpy(), rtol=1e-15, atol=0)
        assert_same(leaf.grad, t.grad.numpy(), rtol=rtol, atol=0)


@pytest.mark.parametrize("approximate", ["none", "tanh"])
def test_gelu_agrees_with_torch_far_out_and_near(approximate: str):
    torch = pytest.importorskip("torch")
    x = np.concatenate([np.linspace(-40, 40, 801), [-1e3, -1e2, 1e2, 1e3]])
    out, (leaf,) = backprop(lambda v: v.gelu(approximate=approximate), x)
    t = torch.tensor(x, requires_grad=True)
    reference = torch.nn.functional.gelu(t, approximate=approximate)
    reference.sum().backward()
    # torch computes 1 + erf(x / sqrt 2) or 1 + tanh(u), which cancel (to 0 below about -8):
    # there it has the larger error, of ~1e-16 absolute
    assert_same(out.data, reference.detach().numpy(), rtol=1e-13, atol=1e-14)
    assert_same(leaf.grad, t.grad.numpy(), rtol=1e-13, atol=1e-14)


def test_gelu_tanh_form_is_close_to_the_exact_one():
    x = np.linspace(-5, 5, 101)
    exact, approximate = tg.gelu(x).data, tg.gelu(x, approximate="tanh").data
    assert np.abs(exact - approximate).max() < 1e-3  # Hendrycks & Gimpel's approximation
    assert np.abs(exact - approximate).max() > 1e-5  # but not the same function


# ==== second derivatives by hand =================================================================
SECOND = [
    # gelu' = Phi + x phi, gelu'' = phi + phi + x (-x phi) = phi (2 - x^2)
    pytest.param(tg.gelu, lambda x: np.vectorize(phi)(x) * (2 - x * x), id="gelu"),
    # silu' = s + x s (1 - s), silu'' = s (1 - s) (2 + x (1 - 2 s))
    pytest.param(tg.silu, lambda x: np_sigmoid(x) * (1 - np_sigmoid(x)) *
                 (2 + x * (1 - 2 * np_sigmoid(x))), id="silu"),
    # elu'' = alpha e^x below 0, 0 above
    pytest.param(lambda v: v.elu(alpha=0.5), lambda x: np.where(x > 0, 0.0, 0.5 * np.exp(x)),
                 id="elu"),
    # celu'' = e^(x/alpha) / alpha below 0
    pytest.param(lambda v: v.celu(alpha=2.0), lambda x: np.where(x > 0, 0.0, np.exp(x / 2) / 2),
                 id="celu"),
    # softsign'' = -2 sign(x) / (1 + |x|)^3
    pytest.param(tg.softsign, lambda x: -2 * np.sign(x) / (1 + np.abs(x)) ** 3, id="softsign"),
    # logsigmoid'' = d/dx sigmoid(-x) = -sigmoid(x) sigmoid(-x)
    pytest.param(tg.logsigmoid, lambda x: -np_sigmoid(x) * np_sigmoid(-x), id="logsigmoid"),
    # hardswish'' = 1/3 inside (-3, 3), 0 outside
    pytest.param(tg.hardswish, lambda x: np.where(np.abs(x) < 3, 1 / 3, 0.0), id="hardswish"),
]


@pytest.mark.parametrize("f, second", SECOND)
def test_second_derivatives_by_hand(f: Callable, second: Callable):
    x = np.array([-3.5, -1.25, -0.5, 0.75, 2.0, 4.0])
    _, h = _second_derivative(f, x)
    assert_same(h, second(x), rtol=1e-12, atol=1e-15)


def test_second_derivatives_pass_gradgradcheck_at_fixed_points():
    from tinygrad_nn.gradcheck import gradgradcheck
    x = np.array([-3.5, -1.25, -0.5, 0.75, 2.0, 3.5])
    for name in UNARY:
        assert gradgradcheck(getattr(tg, name), x, atol=1e-6, rtol=1e-5), name
    y = np.array([-3.0, 0.5, -1.0, 2.5, 2.5, 4.0])
    for name in BINARY:
        assert gradgradcheck(getattr(tg, name), x, y, atol=1e-6, rtol=1e-5), name


# ==== stability at +-1e3 =========================================================================
# (f, f(-1e3), f(1e3), f'(-1e3), f'(1e3)): underflow to 0 is the right answer; nothing may
# overflow, divide by zero or give NaN, in float64 or float32, value, gradient or second derivative
STABILITY = [
    pytest.param(tg.logsigmoid, -1e3, 0.0, 1.0, 0.0, id="logsigmoid"),
    pytest.param(tg.mish, 0.0, 1e3, 0.0, 1.0, id="mish"),
    pytest.param(tg.silu, 0.0, 1e3, 0.0, 1.0, id="silu"),
    pytest.param(tg.quick_gelu, 0.0, 1e3, 0.0, 1.0, id="quick_gelu"),
    pytest.param(tg.gelu, 0.0, 1e3, 0.0, 1.0, id="gelu"),
    pytest.param(lambda v: v.gelu(approximate="tanh"), 0.0, 1e3, 0.0, 1.0, id="gelu-tanh"),
    pytest.param(tg.elu, -1.0, 1e3, 0.0, 1.0, id="elu"),
    pytest.param(lambda v: v.celu(alpha=2.0), -2.0, 1e3, 0.0, 1.0, id="celu"),
    pytest.param(tg.selu, -SELU_SCALE * SELU_ALPHA, SELU_SCALE * 1e3, 0.0, SELU_SCALE, id="selu"),
    pytest.param(tg.softsign, -1e3 / 1001, 1e3 / 1001, 1 / 1001 ** 2, 1 / 1001 ** 2, id="softsign"),
    pytest.param(tg.erf, -1.0, 1.0, 0.0, 0.0, id="erf"),
    pytest.param(tg.erfc, 2.0, 0.0, 0.0, 0.0, id="erfc"),
]


@pytest.mark.parametrize("f, low, high, slope_low, slope_high", STABILITY)
def test_stable_at_plus_minus_1e3(f: Callable, low: float, high: float, slope_low: float,
                                  slope_high: float):
    with np.errstate(over="raise", divide="raise", invalid="raise"):
        assert_by_hand(f, [-1e3, 1e3], [low, high], [slope_low, slope_high])
        assert_by_hand(f, -1e3, low, slope_low)
        assert_by_hand(f, 1e3, high, slope_high)
        x32 = Value(np.array([-1e3, 1e3], dtype=np.float32))
        out = f(x32)
        out.sum().backward()
        assert out.dtype == x32.grad.dtype == np.float32
        np.testing.assert_allclose(out.data, [low, high], rtol=1e-6)
        np.testing.assert_allclose(x32.grad, [slope_low, slope_high], rtol=1e-6, atol=1e-12)
        _, h = _second_derivative(f, np.array([-1e3, 1e3]))
        assert np.isfinite(h).all() and np.abs(h).max() <= 2e-9  # softsign's: -+2 / 1001^3


# ==== the API: methods, aliases, parameters, errors, empty arrays ================================
def test_swish_is_an_alias_of_silu():
    assert tg.swish is tg.silu
    x = Value(np.array([0.5, -1.0]))
    assert_same(x.swish().data, x.silu().data)
    assert x.swish()._op == "silu"


def test_parameters_by_position_and_keyword_with_torch_defaults():
    x = Value(np.array([-2.0, -0.5, 0.5, 2.0]))
    assert_same(x.elu(0.5).data, x.elu(alpha=0.5).data)
    assert_same(x.elu().data, x.elu(alpha=1.0).data)
    assert_same(x.celu().data, x.elu().data)  # celu with alpha = 1 is elu
    assert_same(x.hardtanh(-1.5, 1.0).data, [-1.5, -0.5, 0.5, 1.0])
    assert_same(tg.hardtanh(x, max_val=0.0).data, [-1.0, -0.5, 0.0, 0.0])
    assert_same(x.gelu("tanh").data, tg.gelu(x, approximate="tanh").data)
    assert_same(x.relu6().data, tg.hardtanh(x, 0.0, 6.0).data)


@pytest.mark.parametrize("call, match", [
    (lambda x: x.gelu(approximate="erf"), "gelu: approximate must be 'none' or 'tanh'"),
    (lambda x: x.hardtanh(min_val=1.0, max_val=-1.0), "hardtanh: min_val cannot be greater"),
    (lambda x: x.celu(alpha=0.0), "celu: alpha must be nonzero"),
])
@pytest.mark.parametrize("data", [0.5, np.array([0.5, 1.0])], ids=["float", "array"])
def test_bad_parameters_raise_naming_the_op(call: Callable, match: str, data: Any):
    with pytest.raises(DomainError, match=match):
        call(Value(data))


def test_an_unknown_parameter_names_the_op():
    with pytest.raises(TypeError, match="elu"):
        Value(1.0).elu(beta=2.0)


@pytest.mark.parametrize("name", UNARY + BINARY)
def test_empty_and_zero_dimensional_arrays(name: str):
    op = getattr(tg, name)
    for x in (np.empty((0, 3)), np.array(0.25)):
        out, leaves = backprop(op, *[x] * (2 if name in BINARY else 1))
        assert isinstance(out.data, np.ndarray) and out.shape == x.shape
        for leaf in leaves:
            assert leaf.grad.shape == x.shape
