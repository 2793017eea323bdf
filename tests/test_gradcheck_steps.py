"""The finite-difference step at any size of input: an absolute eps vanishes next to |x| = 1e12
(x + 1e-6 == x), and a zero VJP then matched the zero difference. Every checker must now catch
a zero (wrong) VJP at large |x|, and pass right ones there."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tinygrad_nn import DomainError, GradcheckError, Op, Value
from tinygrad_nn.gradcheck import check_gradients, gradcheck, gradgradcheck, numerical_gradient
from tinygrad_nn.testing import assert_grads_match

BIG = np.array([1e12, -3e12, 2.5e12])

# f(x) = 2x with a VJP of 0: wrong everywhere, and invisible to a step that rounds away
doubling_with_zero_vjp = Op("double", lambda x: 2 * x, lambda g, out, x: 0 * g)


def _square_vjp_of_a_copy(g, out, x):
    """2 x g, with x a constant copy: right to first order, its own derivative in x lost."""
    return g * (2 * np.asarray(x.data if isinstance(x, Value) else x))


square_with_constant_vjp = Op("square", lambda x: x * x, _square_vjp_of_a_copy)

# magnitudes from 1 to 1e300, either sign
magnitudes = st.tuples(st.floats(0.0, 300.0), st.sampled_from([1.0, -1.0])).map(
    lambda d: d[1] * 10.0 ** d[0])


def test_an_absolute_step_vanishes_at_1e12():
    # the flaw itself: in float64, 1e12 +- 1e-6 rounds back to 1e12
    assert 1e12 + 1e-6 == 1e12 and 1e12 - 1e-6 == 1e12


@pytest.mark.parametrize("fast", [False, True])
def test_a_zero_vjp_fails_at_large_inputs(fast):
    numerical = "-?[0-9.]+" if fast else "2"  # fast mode: a projection's
    with pytest.raises(GradcheckError, match=f"analytic 0, numerical {numerical}") as caught:
        gradcheck(doubling_with_zero_vjp, BIG, fast=fast, seed=0)
    assert "Steps grew with the inputs' size" in str(caught.value)
    with pytest.raises(GradcheckError):
        assert_grads_match(doubling_with_zero_vjp, BIG, fast=fast)


@given(magnitudes)
def test_a_zero_vjp_fails_at_every_magnitude(x):
    for fast in (False, True):
        assert not gradcheck(doubling_with_zero_vjp, np.array([x]), fast=fast, seed=0,
                             raise_exception=False)


@given(magnitudes)
def test_numerical_gradient_of_a_linear_function_is_exact_at_every_magnitude(x):
    # f(x + h) - f(x - h) and (x + h) - (x - h) round alike: the step actually taken divides
    assert numerical_gradient(lambda v: v * 1.0, x) == 1.0
    assert numerical_gradient(lambda v: v * 1.0, np.array([x]))[0] == 1.0
    # beyond that, rounding in f: about macheps |x| / step <= sqrt(macheps) = 1.5e-8 relative
    assert numerical_gradient(lambda v: v * 3.0, x) == pytest.approx(3.0, rel=1e-7)


def test_numerical_gradient_at_large_inputs():
    # d/dx sum(x^2) = 2x: a step of 1e-4 would leave all three elements where they are
    np.testing.assert_allclose(numerical_gradient(lambda x: (x * x).sum(), BIG), 2 * BIG, rtol=1e-6)


@pytest.mark.parametrize("f", [
    lambda x: x * x,
    lambda x: x ** 3,
    lambda x: (x * x).log(),
    lambda x: (x * x).sqrt(),
    lambda x: 1 / x,
    lambda x: (x / 1e12).tanh(),          # varies on the inputs' own scale
    lambda x: x.sum() * x,                 # every element depends on every other
])
@pytest.mark.parametrize("fast", [False, True])
def test_right_functions_pass_at_large_inputs(f, fast):
    assert gradcheck(f, BIG, fast=fast, seed=0)


@given(st.lists(magnitudes.filter(lambda x: abs(x) < 1e100), min_size=1, max_size=4))
def test_right_functions_pass_at_mixed_magnitudes(xs):
    x = np.array(xs)
    assert gradcheck(lambda v: v * v * 0.5 + v, x)
    assert gradcheck(lambda v: (v * v).sum().sqrt(), x, fast=True, seed=0)


def test_gradgradcheck_catches_a_lost_second_derivative_at_large_inputs():
    assert gradcheck(square_with_constant_vjp, BIG)  # right to first order
    with pytest.raises(GradcheckError, match="(?s)gradgradcheck of square.*"
                                             "the VJP for input 0 w.r.t. input 0"):
        gradgradcheck(square_with_constant_vjp, BIG)
    assert gradgradcheck(lambda x: x * x, BIG)


class Line:
    """y = w x with a weight of size 1e12, and optionally an op in between."""

    def __init__(self, op=None):
        self.w = Value(np.array([[1e12], [-2e12]]))
        self.op = op

    def parameters(self):
        return [self.w]

    def __call__(self, X):
        out = X @ self.w
        return out if self.op is None else self.op(out)


def _mse(predictions, targets):
    return ((predictions - targets) ** 2).mean()


X, Y = np.array([[1.0, 2.0], [0.5, -1.0]]), np.array([[1.0], [2.0]])


@pytest.mark.parametrize("fast", [False, True])
def test_check_gradients_at_large_parameters(fast):
    assert check_gradients(Line(), _mse, X, Y, fast=fast, seed=0)
    assert check_gradients(Line(), _mse, X, Y, order=2, fast=fast, seed=0)
    with pytest.raises(GradcheckError, match="loss w.r.t. parameter 0"):
        check_gradients(Line(doubling_with_zero_vjp), _mse, X, Y, fast=fast, seed=0)
    with pytest.raises(GradcheckError, match="d loss / d parameter 0 w.r.t. parameter 0"):
        check_gradients(Line(square_with_constant_vjp), lambda p, y: p.sum(), X, Y, order=2,
                        fast=fast, seed=0)


def test_float32_inputs_get_a_step_they_can_resolve():
    # in float32, 40 +- 1e-6 rounds back to 40
    x = np.array([40.0, -300.0], dtype=np.float32)
    assert np.float32(40) + np.float32(1e-6) == np.float32(40) == np.float32(40) - np.float32(1e-6)
    with pytest.warns(UserWarning, match="float32"):
        assert not gradcheck(doubling_with_zero_vjp, x, raise_exception=False)
    with pytest.warns(UserWarning, match="float32"):
        assert gradcheck(lambda v: v * v, x)


@pytest.mark.parametrize("x, why", [
    (np.array([1.0, np.inf]), r"input 0\[1\] = inf \(float64\).*not both finite"),
    (np.array([np.finfo(np.float64).max]), r"input 0\[0\] = 1.79.*e\+308.*not both finite"),
])
def test_an_element_no_step_can_move_is_refused(x, why):
    with pytest.raises(GradcheckError, match=f"gradcheck: finite differences cannot move {why}"):
        gradcheck(lambda v: (v * 1e-300).tanh(), x)


@pytest.mark.parametrize("eps", [0.0, -1e-6, float("nan"), float("inf")])
def test_eps_must_be_positive(eps):
    with pytest.raises(DomainError, match=f"gradcheck: eps must be a positive finite number, "
                                          f"got {eps}"):
        gradcheck(lambda x: x * x, np.ones(2), eps=eps)
    with pytest.raises(DomainError, match="numerical_gradient: eps must be a positive"):
        numerical_gradient(lambda x: (x * x).sum(), np.ones(2), eps=eps)
