"""Derivatives of derivatives: grad(), backward(create_graph=True), tinygrad_nn.func, gradgradcheck.

Every op's VJP is written once and runs on raw data (first order) and on Values (graph mode),
so second derivatives are checked the way first ones are: by hypothesis, for every op of
`tinygrad_nn.testing.OPS` and for random graphs, against central finite differences of the
first derivative (`gradgradcheck`). Deliberately broken VJPs, right to first order but wrong to
second, show that the check catches them. Hessian-vector products of random graphs are checked
against PyTorch in test_torch_oracle.py.

Tolerances: a finite difference of a gradient loses as much as one of a value (eps = 1e-6 gives
errors of about 1e-10 / eps relative to the gradient's size), so atol 1e-5 and rtol 1e-4 hold a
wide margin over rounding while a wrong second derivative is off by order one.
"""

import math

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

import tinygrad_nn as tg
from opcase import per_op
from tinygrad_nn import BackwardError, DomainError, Op, ShapeError, Tape, Value, func, losses, nn
from tinygrad_nn.gradcheck import GradcheckError, check_gradients, gradcheck, gradgradcheck
from tinygrad_nn.testing import OPS, assert_grads_match, expressions

TOLERANCE = {"eps": 1e-6, "atol": 1e-5, "rtol": 1e-4}
SCALAR_OPS = sorted(name for name, spec in OPS.items() if spec.scalar)


# ---- second derivatives of every op, and of random graphs ---------------------------------------
@pytest.mark.parametrize("name", sorted(OPS))
@per_op
@given(data=st.data())
def test_op_second_derivatives_on_arrays(name, data):
    expr = data.draw(expressions(ops=[name], depth=1, width=1), label="expression")
    assert_grads_match(expr, *expr.inputs, order=2, **TOLERANCE)


@pytest.mark.parametrize("name", SCALAR_OPS)
@per_op
@given(data=st.data())
def test_op_second_derivatives_on_python_floats(name, data):
    expr = data.draw(expressions(ops=[name], depth=1, width=1, scalar=True), label="expression")
    assert_grads_match(expr, *expr.inputs, order=2, **TOLERANCE)


@given(data=st.data())
def test_second_derivatives_of_random_graphs(data):
    depth = data.draw(st.integers(1, 3), label="depth")
    expr = data.draw(expressions(depth=depth, width=2, max_size=16), label="expression")
    assert_grads_match(expr, *expr.inputs, order=2, fast=True, **TOLERANCE)


# ---- broken VJPs: right to first order, wrong to second ------------------------------------------
def _frozen(x):
    """A constant copy of x in graph mode (its derivative is lost); x itself on raw data."""
    return x.detach() if isinstance(x, Value) else x


BROKEN = [
    # the VJP uses a constant copy of the output: d/dx of g * e^x is lost
    Op("exp_frozen_out", np.exp, lambda g, out, x: g * _frozen(out), scalar=math.exp),
    Op("tanh_frozen_out", np.tanh, lambda g, out, x: g * (1 - _frozen(out) ** 2), scalar=math.tanh),
    # the VJP uses a constant copy of its input
    Op("cube_frozen_x", lambda x: x ** 3, lambda g, out, x: g * 3 * _frozen(x) ** 2),
    # x * y with the VJP for y written from a frozen x: the mixed derivative d2/dxdy is lost
    Op("mul_frozen", lambda a, b: a * b, lambda g, out, a, b: g * b,
       lambda g, out, a, b: g * _frozen(a)),
]


@pytest.mark.parametrize("op", BROKEN, ids=[op.name for op in BROKEN])
def test_a_vjp_wrong_only_to_second_order_is_caught_and_named(op):
    inputs = [np.array([0.3, -1.2, 0.8])] * (len(op.vjps))
    assert gradcheck(op, *inputs)  # first order: right
    with pytest.raises(GradcheckError, match=f"gradgradcheck of {op.name}") as caught:
        gradgradcheck(op, *inputs)
    assert "w.r.t. input" in str(caught.value)
    assert caught.value.mismatches


def test_gradgradcheck_names_the_input_whose_second_derivative_is_wrong():
    with pytest.raises(GradcheckError) as caught:
        gradgradcheck(BROKEN[3], np.array([0.5, 2.0]), np.array([1.5, -1.0]))
    pairs = {(m.output_name, m.input_name) for m in caught.value.mismatches}
    assert pairs == {("the VJP for input 1", "input 0")}  # d/dx of the VJP for y, nothing else


# ---- grad() ------------------------------------------------------------------------------------
def test_grad_returns_values_and_leaves_dot_grad_alone():
    x = Value(np.array([1.0, 2.0]))
    y = (x * x * x).sum()
    (g,) = tg.grad(y, x)
    np.testing.assert_array_equal(g.data, [3.0, 12.0])  # 3x^2
    assert not g.requires_grad
    np.testing.assert_array_equal(x.grad, [0.0, 0.0])
    (g,) = tg.grad(y, [x], create_graph=True)
    assert g.requires_grad
    (h,) = tg.grad(g.sum(), x)
    np.testing.assert_array_equal(h.data, [6.0, 12.0])  # 6x


def test_grad_with_respect_to_an_intermediate_value_through_an_unrolled_loop():
    # w1 = w0 - lr * dL/dw0 with L = (w - 3)^2: dL1/dlr, by hand, is
    # dL1/dw1 * dw1/dlr = 2 (w1 - 3) * -2 (w0 - 3)
    lr, w0 = Value(0.1), Value(1.0)
    w = w0
    (g,) = tg.grad((w - 3) ** 2, w, create_graph=True)
    w1 = w - lr * g
    loss = (w1 - 3) ** 2
    (dlr,) = tg.grad(loss, lr)
    expected = 2 * (w1.data - 3) * -2 * (w0.data - 3)
    assert dlr.data == pytest.approx(expected, rel=1e-14)
    (dw1,) = tg.grad(loss, w1)  # w1 is an intermediate Value
    assert dw1.data == pytest.approx(2 * (w1.data - 3), rel=1e-14)


def test_grad_of_unused_inputs_raises_unless_allowed():
    x, y = Value(2.0), Value(3.0)
    with pytest.raises(BackwardError, match="do not depend on input 1"):
        tg.grad(x * x, [x, y])
    assert tg.grad(x * x, [x, y], allow_unused=True)[1] is None
    w = Value(np.ones((2, 3)), dtype=np.float32)
    gx, gw = tg.grad(x * x, [x, w], materialize_grads=True)  # zeros of the input's kind
    assert gx.data == 4.0 and gw.data.dtype == np.float32 and not gw.data.any()
    assert gw.shape == (2, 3) and not gw.requires_grad
    with pytest.raises(BackwardError, match="does not require a gradient"):
        tg.grad(x * x, [Value(1.0, requires_grad=False)])


def test_grad_with_several_outputs_and_grad_outputs():
    x = Value(np.array([1.0, 2.0, 3.0]))
    (g,) = tg.grad([x * 2, (x * x).sum()], x, grad_outputs=[np.array([1.0, 0.0, -1.0]), None])
    np.testing.assert_array_equal(g.data, [2 + 2, 0 + 4, -2 + 6])


def test_backward_with_create_graph_gives_differentiable_grads():
    x = Value(np.array([0.5, -1.0]))
    (x.exp() * x).sum().backward(create_graph=True)  # d/dx = e^x (1 + x)
    assert isinstance(x.grad, Value) and x.grad.requires_grad
    np.testing.assert_allclose(x.grad.data, np.exp(x.data) * (1 + x.data), rtol=1e-15)
    first = x.grad
    tg.zero_grad([x])
    first.sum().backward()  # d2/dx2 = e^x (2 + x)
    np.testing.assert_allclose(x.grad, np.exp(x.data) * (2 + x.data), rtol=1e-15)


def test_a_user_op_whose_vjp_needs_raw_data_says_so_under_create_graph():
    cos = Op("numpy_cos", np.cos, lambda g, out, x: -g * np.sin(x))
    x = Value(np.array([0.1, 0.2]))
    cos(x).sum().backward()  # first order: fine
    np.testing.assert_allclose(x.grad, -np.sin(x.data))
    with pytest.raises(BackwardError, match="numpy_cos: its VJP for input 0"):
        tg.grad(cos(x).sum(), x, create_graph=True)
    raw = Op("raw_result", np.cos, lambda g, out, x: -np.sin(x.data) * g.data)
    with pytest.raises(BackwardError, match="raw_result: its VJP for input 0 returned a ndarray"):
        tg.grad(raw(x).sum(), x, create_graph=True)


def test_masks_are_recomputed_when_a_gradient_graph_is_replayed():
    # d/dx sum(relu(x)^2) = 2 relu(x) * (x > 0): the mask lives in the graph, not in a numpy copy
    x = Value(np.array([1.0, -2.0, 3.0]))
    (g,) = tg.grad((x.relu() ** 2).sum(), x, create_graph=True)
    penalty = (g * g).sum()  # a gradient penalty
    tape = Tape(penalty)
    x.data = np.array([-1.0, 2.0, -3.0])
    tape.forward()
    assert penalty.data == pytest.approx(16.0)  # only x = 2 passes: (2 * 2)^2
    tg.zero_grad([x])
    tape.backward()
    np.testing.assert_allclose(x.grad, [0.0, 16.0, 0.0])  # d/dx (2x)^2 = 8x where x > 0


def test_comparisons_give_masks_without_a_gradient_that_stay_in_the_graph():
    x = Value(np.array([-1.0, 0.0, 2.0]), dtype=np.float32)
    mask = x > 0
    assert mask.dtype == np.float32 and not mask.requires_grad and mask._op == ">"
    np.testing.assert_array_equal(mask.data, [0.0, 0.0, 1.0])
    np.testing.assert_array_equal((0.5 <= x).data, [0.0, 0.0, 1.0])  # reflected: x >= 0.5
    assert (Value(2.0) < 3).data == 1.0


# ---- the function transforms ----------------------------------------------------------------------
def test_nested_grads_do_not_confuse_their_variables():
    # d/dx [x * d/dy (x * y)] = d/dx x^2 = 2x, at x = 1: 2 (a confused engine gives 1)
    assert func.grad(lambda x: x * func.grad(lambda y: x * y)(2.0))(1.0) == 2.0
    # and with the inner variable used by the outer function too
    assert func.grad(lambda x: func.grad(lambda y: x * y * y)(x))(3.0) == pytest.approx(4 * 3.0)


def test_transforms_by_hand():
    f = lambda x: (x ** 3).sum()  # noqa: E731
    x = np.array([1.0, 2.0])
    np.testing.assert_array_equal(func.grad(f)(x), 3 * x ** 2)
    np.testing.assert_array_equal(func.hessian(f)(x), np.diag(6 * x))
    value, hv = func.hvp(f, (x,), (np.array([1.0, -1.0]),))
    assert value == 9.0
    np.testing.assert_array_equal(hv[0], [6.0, -12.0])
    value, g = func.value_and_grad(f)(x)
    assert value == 9.0 and np.array_equal(g, 3 * x ** 2)
    out, jt = func.jvp(lambda x: x * x, (x,), (np.array([1.0, 0.5]),))
    np.testing.assert_array_equal(out, x * x)
    np.testing.assert_array_equal(jt, [2.0, 2.0])  # 2x * t
    out, vjp_fn = func.vjp(lambda a, b: a * b, x, np.array([3.0, 4.0]))
    da, db = vjp_fn(np.array([1.0, 1.0]))
    np.testing.assert_array_equal(da, [3.0, 4.0])
    np.testing.assert_array_equal(db, x)
    J = func.jacobian(lambda x: x * x.sum())(x)  # d(x_i s)/dx_j = delta_ij s + x_i
    np.testing.assert_array_equal(J, np.diag([3.0, 3.0]) + x[:, None])


def test_transforms_take_argnums_aux_and_floats():
    f = lambda a, b: a * b * b  # noqa: E731
    assert func.grad(f, argnums=(0, 1))(2.0, 3.0) == (9.0, 12.0)
    g, aux = func.grad(lambda x: (x * x, "aux"), has_aux=True)(3.0)
    assert (g, aux) == (6.0, "aux")
    assert func.hessian(lambda x: x ** 4)(2.0) == 48.0  # 12 x^2
    assert func.grad(lambda x: 3.0)(1.0) == 0.0  # a constant function
    with pytest.raises(ShapeError, match="grad: the function must return one number"):
        func.grad(lambda x: x * 2)(np.ones(3))


def test_transforms_inside_no_grad_still_differentiate():
    with tg.no_grad():
        assert func.grad(lambda x: x * x)(3.0) == 6.0


def test_hvp_agrees_with_the_full_hessian_of_a_small_mlp_loss():
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(5, 3)), rng.integers(0, 2, 5)
    w = rng.normal(size=3 * 4 + 4 * 2)

    def loss(w):
        W1, W2 = w[:12].reshape(4, 3), w[12:].reshape(2, 4)
        h = tg.linear(X, W1, 0.0).tanh()
        return losses.cross_entropy(tg.linear(h, W2, 0.0), y)
    H = func.hessian(loss)(w)
    np.testing.assert_allclose(H, H.T, atol=1e-12)
    v = rng.normal(size=w.size)
    _, hv = func.hvp(loss, w, v)
    np.testing.assert_allclose(hv, H @ v, rtol=1e-10, atol=1e-12)


# ---- gradient checks to second order --------------------------------------------------------------
def test_check_gradients_of_order_two_checks_a_models_hessian():
    model = nn.MLP(3, [4, 2], activation="tanh", seed=0)
    X, y = np.random.default_rng(1).normal(size=(6, 3)), np.array([0, 1, 1, 0, 1, 0])
    assert check_gradients(model, losses.cross_entropy, X, y, order=2, **TOLERANCE)
    assert check_gradients(model, losses.cross_entropy, X, y, order=2, fast=True, seed=3)


# ---- bugs of the old op layer, each fixed ---------------------------------------------------------
def test_function_forms_take_the_methods_positional_arguments():
    x = Value(np.arange(6.0).reshape(2, 3))
    np.testing.assert_array_equal(tg.sum(x, 1).data, [3.0, 12.0])
    assert tg.reshape(x, (3, 2)).shape == (3, 2) and tg.reshape(x, 3, 2).shape == (3, 2)
    np.testing.assert_array_equal(tg.clip(x, 1, 4).data, np.clip(x.data, 1, 4))
    np.testing.assert_array_equal(tg.max(x, 0, True).data, [[3.0, 4.0, 5.0]])
    with pytest.raises(TypeError, match=r"sum: unexpected parameter\(s\) \['axes'\]"):
        tg.sum(x, axes=1)


def test_a_user_op_with_defaults_keeps_them_as_a_method():
    scale = Op("scale", lambda x, *, k: k * x, lambda g, out, x, *, k: k * g, defaults={"k": 2.0})
    method = scale.method()
    assert method(Value(3.0)).data == 6.0
    assert method(Value(3.0), 5.0).data == 15.0


def test_zero_to_the_power_zero_has_derivative_zero_in_both_paths():
    x = Value(np.zeros(1))
    with np.errstate(all="raise"):  # no warning hides a nan
        (x ** np.array([0.0])).sum().backward()
    np.testing.assert_array_equal(x.grad, [0.0])
    y = Value(0.0)
    (y ** 0.0).backward()
    assert y.grad == 0.0


def test_zero_base_is_differentiable_in_the_exponent():
    for y in (Value(2.0), Value(np.array([0.5, 2.0]))):
        (tg.constant(0.0) ** y).sum().backward()
        np.testing.assert_array_equal(y.grad, np.zeros(np.shape(y.data)))  # as torch and autograd


def test_a_scalar_softmax_checks_its_axis_like_sum():
    with pytest.raises(ShapeError, match="softmax: axis 3"):
        Value(2.0).softmax(axis=3)
    with pytest.raises(ShapeError):
        Value(2.0).sum(axis=3)
    assert Value(2.0).softmax().data == 1.0


def test_a_type_error_on_floats_is_not_a_domain_error():
    bad = Op("bad", lambda x: x + "a", lambda g, out, x: g)
    with pytest.raises(tg.UnsupportedTypeError, match="bad:"):
        bad(Value(1.0))
    with pytest.raises(DomainError, match="log"):
        Value(-1.0).log()


def test_the_graph_of_a_gradient_can_be_drawn(tmp_path):
    theta = Value(np.array([0.5, -1.0, 2.0]), label="θ")
    X = np.array([[1.0, 0.5, -0.3], [1.0, -1.2, 0.8]])
    J = losses.logistic_cost(tg.sigmoid(X @ theta), np.array([1.0, 0.0]))
    (dJ,) = tg.grad(J, theta, create_graph=True)
    h = 1 / (1 + np.exp(-X @ theta.data))
    np.testing.assert_allclose(dJ.data, X.T @ (h - [1.0, 0.0]) / 2, rtol=1e-14)  # X^T (h - y) / m
    dot = tg.draw_dot(dJ)
    assert "<B>sigmoid</B>" in dot.source and "<B>θ</B>" in dot.source  # what backprop computes
    tg.save_svg(dJ, str(tmp_path / "gradient.svg"))
    assert (tmp_path / "gradient.svg").read_text().startswith("<?xml")


def test_a_graph_whose_grads_are_values_is_drawn_and_printed():
    x = Value(np.array([0.5, -1.0]), label="x")
    y = (x.exp() * x).sum()
    y.backward(create_graph=True)
    for color_by in ("kind", "grad"):
        assert "grad" in tg.draw_dot(y, color_by=color_by).source
    assert "grad=[" in repr(x)


@given(data=st.data())
def test_the_transforms_agree_with_each_other_on_random_graphs(data):
    """jvp = J t, vjp = u J, hvp = H v, H symmetric, on random graphs of one input."""
    expr = data.draw(expressions(depth=2, width=1, max_size=8,
                                 input_shapes=st.just((3,))), label="expression")
    assume(len(expr.inputs) == 1)
    x = expr.inputs[0]

    def f(v):
        return expr(v)[0].reshape(-1)
    out = f(Value(x)).data
    J = func.jacobian(f)(x).reshape(out.size, x.size)
    rng = np.random.default_rng(0)
    t, u = rng.normal(size=x.shape), rng.normal(size=out.shape)
    np.testing.assert_allclose(func.jvp(f, (x,), (t,))[1], J @ t.ravel(), rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(func.vjp(f, x)[1](u)[0].ravel(), u @ J, rtol=1e-9, atol=1e-9)

    def scalar(v):
        return (f(v) * u).sum()
    H = func.hessian(scalar)(x).reshape(x.size, x.size)
    np.testing.assert_allclose(H, H.T, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(func.hvp(scalar, x, t)[1].ravel(), H @ t.ravel(), rtol=1e-9,
                               atol=1e-9)
