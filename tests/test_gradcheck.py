"""The gradient checker is itself tested: deliberately wrong VJPs must fail, with a message that
says where, in full and in fast mode; right ones pass; the numbers it reports are worked out
by hand here."""

import numpy as np
import pytest
from hypothesis import given

from tinygrad_nn import Op, TinygradNNError, UnsupportedTypeError, Value, is_grad_enabled
from tinygrad_nn.errors import ShapeError
from tinygrad_nn.gradcheck import (GradcheckError, check_gradients, gradcheck, numerical_gradient,
                                   relative_difference)
from tinygrad_nn.testing import arrays, floats

X = np.array([[1.0, -2.0, 3.0], [0.5, 0.25, -1.0]])
A = np.array([[1.0, 2.0, 0.0], [-1.0, 0.5, 3.0], [2.0, -2.0, 1.0]])
B = np.array([[0.5, -1.0, 2.0], [1.5, 0.0, -0.5], [1.0, 2.0, 3.0]])
S = np.array([2.0, -1.0, 0.5])


# ---- numerical_gradient -----------------------------------------------------------------------
def test_numerical_gradient_of_a_cubic_is_off_by_exactly_eps_squared():
    # ((x + h)^3 - (x - h)^3) / (2h) = 3x^2 + h^2
    def cube(x):
        return x ** 3

    assert numerical_gradient(cube, 2.0, eps=1e-2) == pytest.approx(12 + 1e-4, rel=1e-12)
    assert numerical_gradient(cube, 1.0) == pytest.approx(3 + 1e-8, rel=1e-11)  # Ng's eps, 1e-4


def test_numerical_gradient_of_several_array_inputs_and_a_constant():
    # f(x, w, c) = sum(w @ x) * c: df/dx = c * (column sums of w), df/dw[i, j] = c * x[j]
    x, w = np.array([1.0, -2.0]), np.array([[1.0, 2.0], [3.0, 4.0], [-1.0, 0.5]])
    gx, gw, gc = numerical_gradient(lambda x, w, c: (w @ x).sum() * c, x, w,
                                    Value(2.0, requires_grad=False))
    np.testing.assert_allclose(gx, 2 * w.sum(axis=0), rtol=1e-9)
    np.testing.assert_allclose(gw, 2 * np.tile(x, (3, 1)), rtol=1e-9)
    assert gc is None


def test_numerical_gradient_needs_a_scalar_function():
    with pytest.raises(UnsupportedTypeError, match=r"must return one number.*sizes \[3\]"):
        numerical_gradient(lambda x: x * 2, np.ones(3))


# ---- relative_difference ----------------------------------------------------------------------
@pytest.mark.parametrize("a, b, expected", [
    ([1.0, 2.0], [1.0, 2.0], 0.0),
    ([3.0, 0.0], [1.0, 0.0], 0.5),              # |(2, 0)| / |(4, 0)|
    ([1.0, 0.0], [0.0, 1.0], 1.0),              # sqrt(2) / sqrt(2)
    ([3.0, 4.0], [0.0, 0.0], 1.0),              # 5 / 5
    (0.0, 0.0, 0.0),                            # two zero gradients agree
    ([1.0], [-1.0], float("inf")),              # opposite gradients
    ([np.array([3.0]), np.array([[0.0]])], np.array([1.0, 0.0]), 0.5),  # per-parameter lists
])
def test_relative_difference_exact_values(a, b, expected):
    assert relative_difference(a, b) == expected


def test_relative_difference_needs_the_same_number_of_elements():
    with pytest.raises(UnsupportedTypeError, match="3 and 2 elements"):
        relative_difference(np.ones(3), np.ones(2))


# ---- correct gradients pass --------------------------------------------------------------------
@pytest.mark.parametrize("fast", [False, True])
def test_right_gradients_pass(fast):
    def f(x, w, scale, offset):  # two outputs, broadcasting, a float input and a constant
        hidden = (x @ w).tanh() * scale
        return hidden.sum(axis=0), (hidden + offset).log_softmax(axis=1)

    offset = Value(np.array([1.0, -1.0, 0.0]), requires_grad=False)
    assert gradcheck(f, X, B, 0.7, offset, fast=fast, seed=0) is True


@given(arrays(), floats())
def test_right_gradients_pass_on_random_inputs(x, scale):
    assert gradcheck(lambda x, s: (x * s).sigmoid() * x, x, scale)


# ---- wrong VJPs fail, and the message says where -----------------------------------------------
def _matmul(a, b):
    return a @ b


# Each bug: (f, inputs, the inputs that disagree, the true and the wrong derivative as functions
# of the element of the output and of the input that the message names).
square_off_by_a_factor = Op("square", lambda x: x * x, lambda g, out, x: 3 * g * x)  # 2x, not 3x
matmul_with_a_transposed_gradient = Op(
    "matmul", _matmul,
    lambda g, out, a, b: g @ b,  # should be g @ b.T
    lambda g, out, a, b: a.T @ g)
mul_with_swapped_gradients = Op(
    "mul", lambda a, b: a * b,
    lambda g, out, a, b: g * a,  # the gradient of the other input
    lambda g, out, a, b: g * b)
# scale_rows(x, s) = x * s[:, None]: each row of x times one element of s. The VJP for s must sum
# g * x over each row; returning g * x unsummed leaves the engine to sum it back to s's shape as
# numpy broadcasting would, over the first axis: for square x the shapes fit and the values are
# silently wrong.
scale_rows_without_reduction = Op(
    "scale_rows", lambda x, s: x * s[:, None],
    lambda g, out, x, s: g * s[:, None],
    lambda g, out, x, s: g * x)  # should be (g * x).sum(axis=1)


def _delta(i, k):
    return 1.0 if i == k else 0.0


BUGS = {
    "off by a factor": (
        lambda x: square_off_by_a_factor(x), (X,), {0},
        lambda out, inp: (2 * X[inp] * _delta(out, inp), 3 * X[inp] * _delta(out, inp))),
    "transposed matmul gradient": (
        matmul_with_a_transposed_gradient, (A, B), {0},
        # d out[i, j] / d a[k, l] = delta(i, k) b[l, j]; the bug gives delta(i, k) b[j, l]
        lambda out, inp: (_delta(out[0], inp[0]) * B[inp[1], out[1]],
                          _delta(out[0], inp[0]) * B[out[1], inp[1]])),
    "gradient of the wrong input": (
        mul_with_swapped_gradients, (A, B), {0, 1}, None),
    "missing broadcast reduction": (
        scale_rows_without_reduction, (A, S), {1},
        # d out[i, j] / d s[k] = delta(i, k) x[i, j]; summed over the wrong axis, the bug gives
        # delta(j, k) x[i, j]
        lambda out, inp: (_delta(out[0], inp[0]) * A[out], _delta(out[1], inp[0]) * A[out])),
}


def _failure(f, *inputs, **options) -> GradcheckError:
    """The error gradcheck raises (the test fails if it raises none)."""
    with pytest.raises(GradcheckError) as caught:
        gradcheck(f, *inputs, **options)
    return caught.value


@pytest.mark.parametrize("bug", sorted(BUGS))
def test_a_wrong_vjp_fails_and_the_message_points_at_the_derivative(bug):
    f, inputs, wrong_inputs, derivative = BUGS[bug]
    error = _failure(f, *inputs)
    mismatches = error.mismatches
    assert {m.input for m in mismatches} == wrong_inputs
    message = str(error)
    for m in mismatches:
        worst = m.largest_abs
        assert f"output 0 w.r.t. input {m.input}:" in message
        where = (f"d(output 0{list(worst.output_index)}) / d(input {m.input}"
                 f"{list(worst.input_index)})").replace("[]", "")
        assert (f"largest absolute error {worst.abs_error:.3g} at {where}: analytic "
                f"{worst.analytic:.8g}, numerical {worst.numerical:.8g}") in message
        assert "largest relative error" in message
        if derivative is not None:
            true, wrong = derivative(worst.output_index, worst.input_index)
            assert worst.analytic == pytest.approx(wrong, abs=1e-12)
            assert worst.numerical == pytest.approx(true, abs=1e-8)


@pytest.mark.parametrize("bug", sorted(BUGS))
def test_fast_mode_catches_the_same_bugs(bug):
    f, inputs, wrong_inputs, _ = BUGS[bug]
    error = _failure(f, *inputs, fast=True, seed=1)
    assert {m.input for m in error.mismatches} == wrong_inputs
    message = str(error)
    assert "fast mode, seed=1" in message and "Pass seed=1 to reproduce" in message
    for m in error.mismatches:
        analytic, numerical = m.projection
        assert abs(analytic - numerical) > 1e-5 + 1e-3 * abs(numerical)
        assert (f"output 0 w.r.t. input {m.input}: v.J.u is {analytic:.8g} by backpropagation"
                in message)
        assert f"d(v.output 0) / d(input {m.input}" in message


def test_the_full_message_worked_out_by_hand():
    # d(x^2)/dx = 2x is diagonal; the bug claims 3x. Errors |3x - 2x| = |x| = 1, 2, 3; relative
    # errors all 1/2, so the first one is reported. A step of 2^-20 makes x +- eps and their
    # squares exact: the central differences are exactly 2x, and the relative errors tie exactly.
    assert str(_failure(square_off_by_a_factor, np.array([1.0, -2.0, 3.0]), eps=2.0**-20)) == (
        "gradcheck: backpropagation disagrees with central finite differences "
        "(eps=9.53674e-07, atol=1e-05, rtol=0.001)\n"
        "output 0 w.r.t. input 0: 3 of 9 derivatives out of tolerance\n"
        "  largest absolute error 3 at d(output 0[2]) / d(input 0[2]): analytic 9, numerical 6\n"
        "  largest relative error 0.5 at d(output 0[0]) / d(input 0[0]): analytic 3, numerical 2")


def test_fast_mode_reports_the_scale_of_a_factor_bug_exactly():
    # analytic J = 3/2 numerical J, so every projection, and every element of v.J, is 3/2 too
    (m,) = _failure(square_off_by_a_factor, X, fast=True, seed=7).mismatches
    assert m.projection[0] == pytest.approx(1.5 * m.projection[1], rel=1e-6)
    assert m.largest_abs.analytic == pytest.approx(1.5 * m.largest_abs.numerical, rel=1e-6)
    assert m.largest_abs.output_index is None  # the output was projected


def test_the_engine_itself_refuses_a_gradient_of_the_wrong_shape():
    # non-square x: the unsummed (2, 3) gradient cannot be summed back to s's shape (2,)
    with pytest.raises(ShapeError, match=r"scale_rows: the VJP for input 1 gave a gradient of "
                                         r"shape \(2, 3\).*input's shape \(2,\)"):
        gradcheck(scale_rows_without_reduction, X, np.array([2.0, -1.0]))


def test_a_nan_gradient_fails():
    nan_vjp = Op("nan", lambda x: 2 * x, lambda g, out, x: g * np.nan)
    with pytest.raises(GradcheckError, match="analytic nan"):
        gradcheck(nan_vjp, X)


def test_a_function_that_hides_its_input_from_the_graph_fails():
    # computing on .data makes a constant: backpropagation sees a zero gradient
    with pytest.raises(GradcheckError, match="6 of 36 derivatives out of tolerance"):
        gradcheck(lambda x: Value(x.data ** 2), X)


@given(arrays(elements=floats(avoid=[0.0], margin=0.1)))
def test_a_scaled_vjp_never_passes(x):
    for fast in (False, True):
        assert not gradcheck(square_off_by_a_factor, x, fast=fast, seed=0, raise_exception=False)


def test_the_seed_reproduces_a_fast_failure():
    first = str(_failure(square_off_by_a_factor, X, fast=True))
    seed = int(first.split("seed=")[1].split(")")[0])
    assert str(_failure(square_off_by_a_factor, X, fast=True, seed=seed)) == first


def test_gradcheck_error_is_an_assertion_error():
    assert issubclass(GradcheckError, AssertionError)
    assert issubclass(GradcheckError, TinygradNNError)


def test_raise_exception_false_returns_false():
    assert gradcheck(square_off_by_a_factor, X, raise_exception=False) is False


# ---- what it costs -----------------------------------------------------------------------------
def _counting():
    """An identity op that counts the forward and the backward passes through it."""
    calls = {"forward": 0, "backward": 0}

    def forward(x):
        calls["forward"] += 1
        return x

    def vjp(g, out, x):
        calls["backward"] += 1
        return g
    return Op("identity", forward, vjp), calls


@pytest.mark.parametrize("fast, forwards, backwards", [
    (False, 2 + 2 * (12 + 1), 3 + 1),  # 2 forwards per input element, 1 backward per output element
    (True, 2 + 2 * 2, 2),              # 2 forwards per input, 1 backward per output
])
def test_the_cost_of_each_mode(fast, forwards, backwards):
    # (each mode also runs one forward to build the graph and one to check it is repeatable)
    identity, calls = _counting()
    x, y = np.ones((3, 4)), 2.0
    assert gradcheck(lambda x, y: (identity(x).sum(axis=1) * y, identity(x).sum() + y), x, y,
                     fast=fast, seed=0)
    assert calls == {"forward": 2 * forwards, "backward": backwards}  # identity runs twice in f


# ---- misuse is refused, not passed -------------------------------------------------------------
def test_f_must_return_values():
    with pytest.raises(UnsupportedTypeError, match="output 0 is a ndarray"):
        gradcheck(lambda x: x.data * 2, X)


def test_nothing_to_check_is_an_error_not_a_pass():
    with pytest.raises(GradcheckError, match="nothing to check"):
        gradcheck(lambda c: c * 2, Value(X, requires_grad=False))


def test_a_non_finite_output_is_refused():
    with pytest.raises(GradcheckError, match=r"output 0 is not finite .*inf at \[1\]"):
        gradcheck(lambda x: x * np.array([1.0, np.inf]), np.ones(2))


def test_a_random_function_is_refused():
    rng = np.random.default_rng(0)
    with pytest.raises(GradcheckError, match="must be deterministic"):
        gradcheck(lambda x: x * rng.normal(size=2), np.ones(2))


def _otherwise_without_a_graph(offset):
    """2x, plus `offset` under no_grad (where finite differences evaluate)."""
    return lambda x: x * 2 + (0.0 if is_grad_enabled() else offset)


def test_a_function_that_computes_otherwise_without_a_graph_is_refused():
    with pytest.raises(GradcheckError, match="with or without a graph"):
        gradcheck(_otherwise_without_a_graph(1e-3), np.ones(2))


def test_a_rounding_difference_without_a_graph_is_accepted():
    assert gradcheck(_otherwise_without_a_graph(1e-15), np.ones(2))


@pytest.mark.parametrize("check", [gradcheck, numerical_gradient])
def test_float32_inputs_give_a_warning_with_advice(check):
    with pytest.warns(UserWarning, match=r"input 0 is float32.*check gradients in float64"):
        check(lambda x: x.sum(), np.ones(3, dtype=np.float32), **(
            {"raise_exception": False} if check is gradcheck else {}))


# ---- check_gradients: every parameter of a model -----------------------------------------------
class TinyModel:
    """A stand-in for an nn module: parameters(), named_parameters(), model(X)."""

    def __init__(self, activation=lambda z: z.tanh(), named=True):
        self.weight = Value(np.array([[0.5, -1.0], [1.5, 0.25], [-0.5, 1.0]]))
        self.bias = Value(np.array([0.1, -0.2]))
        self.frozen = Value(np.array([1.0, 2.0]), requires_grad=False)
        self.activation = activation
        if not named:
            self.named_parameters = None

    def parameters(self):
        return [self.weight, self.bias, self.weight, self.frozen]  # listed twice, one frozen

    def named_parameters(self):
        yield "layer.weight", self.weight
        yield "layer.bias", self.bias

    def __call__(self, X):
        return self.activation(X @ self.weight + self.bias) * self.frozen


def _mse(predictions, targets):
    return ((predictions - targets) ** 2).mean()


XS = np.array([[1.0, 2.0, -1.0], [0.5, -0.5, 2.0]])
YS = np.array([[0.2, 0.4], [-0.3, 0.1]])


@pytest.mark.parametrize("fast", [False, True])
def test_check_gradients_passes_a_right_model_and_leaves_it_as_it_was(fast):
    model = TinyModel()
    model.weight.grad = np.full((3, 2), 7.0)
    data_before = model.weight.data
    assert check_gradients(model, _mse, XS, YS, fast=fast, seed=0) is True
    assert model.weight.data is data_before
    np.testing.assert_array_equal(model.weight.grad, np.full((3, 2), 7.0))
    np.testing.assert_array_equal(model.bias.grad, np.zeros(2))


tanh_with_a_bug = Op("tanh", np.tanh, lambda g, out, x: g * (1 - out))  # should be 1 - out**2


@pytest.mark.parametrize("fast", [False, True])
def test_check_gradients_names_the_parameter_that_disagrees(fast):
    model = TinyModel(activation=tanh_with_a_bug)
    with pytest.raises(GradcheckError) as caught:
        check_gradients(model, _mse, XS, YS, fast=fast, seed=0)
    assert [m.input_name for m in caught.value.mismatches] == ["layer.weight", "layer.bias"]
    message = str(caught.value)
    assert "loss w.r.t. layer.weight:" in message and "loss w.r.t. layer.bias:" in message
    assert f"d({'v.' if fast else ''}loss) / d(layer.bias[" in message


def test_check_gradients_without_names_counts_parameters():
    model = TinyModel(activation=tanh_with_a_bug, named=False)
    with pytest.raises(GradcheckError, match="loss w.r.t. parameter 1:"):
        check_gradients(model, _mse, XS, YS)


def test_check_gradients_restores_the_model_after_a_failure():
    model = TinyModel(activation=tanh_with_a_bug)
    weight = model.weight.data.copy()
    with pytest.raises(GradcheckError):
        check_gradients(model, _mse, XS, YS)
    np.testing.assert_array_equal(model.weight.data, weight)


def test_check_gradients_needs_leaf_parameters():
    model = TinyModel()
    model.parameters = lambda: [model.weight * 2]
    with pytest.raises(UnsupportedTypeError, match="item 0 is a Value computed by '\\*'"):
        check_gradients(model, _mse, XS, YS)


def test_check_gradients_refuses_a_model_with_dropout():
    rng = np.random.default_rng(0)
    model = TinyModel(activation=lambda z: z * (rng.random(z.shape) > 0.5))
    with pytest.raises(GradcheckError, match="loss changed between two evaluations"):
        check_gradients(model, _mse, XS, YS)
