"""Loss functions: values worked out by hand, the stable paths, and target checking."""

import math

import numpy as np
import pytest

from tinygrad_nn import ShapeError, Value, no_grad
from tinygrad_nn.gradcheck import check_gradients
from tinygrad_nn.losses import (binary_cross_entropy_with_logits, cross_entropy, hinge, logistic_cost,
                                mse, sum_of_squares)
from tinygrad_nn.nn import MLP


def test_logistic_cost_by_hand():
    # m = 2, K = 2; J = -(1/2) [log .8 + log(1 - .3) + log(1 - .4) + log .9]
    h = np.array([[0.8, 0.3], [0.4, 0.9]])
    expected = -(math.log(0.8) + math.log(0.7) + math.log(0.6) + math.log(0.9)) / 2
    for targets in (np.array([0, 1]), np.array([[1.0, 0.0], [0.0, 1.0]])):  # labels or one-hot
        assert logistic_cost(Value(h), targets).item() == pytest.approx(expected, rel=1e-14)


def test_logistic_cost_regularization_term_by_hand():
    # λ/(2m) Σ w² with w = [1, 2, 3], m = 2, λ = 4: 4/4 * 14 = 14; biases are not passed in
    w = Value(np.array([1.0, 2.0, 3.0]))
    h = Value(np.full((2, 1), 0.5))
    base = 2 * math.log(2) / 2
    assert logistic_cost(h, np.array([[1.0], [0.0]]), [w], lam=4.0).item() == pytest.approx(base + 14)
    assert sum_of_squares([w, Value(np.array([[2.0]]))]).item() == 18.0


def test_logistic_cost_is_stable_for_saturated_sigmoids():
    # h = sigmoid(40) rounds to 1.0; against a target of 0, log(1 - h) is floored at -100 (as in
    # PyTorch's BCELoss): the same value with and without a graph, never inf
    z = Value(np.array([[40.0]]))
    J = logistic_cost(z.sigmoid(), np.array([[0.0]]))
    assert J.item() == 100.0
    J.backward()
    assert z.grad[0, 0] == pytest.approx(1.0, rel=1e-15)  # dJ/dz = h - y, from z: still alive
    with no_grad():
        assert logistic_cost(z.sigmoid(), np.array([[0.0]])).item() == 100.0


def test_logistic_cost_is_the_same_with_and_without_a_graph_near_saturation():
    z = Value(np.array([[30.0, -25.0], [3.0, -40.0]]))
    y = np.array([1, 0])
    with no_grad():
        without = logistic_cost(z.sigmoid(), y).item()
    assert logistic_cost(z.sigmoid(), y).item() == pytest.approx(without, rel=1e-15)


def test_logistic_cost_without_graph_agrees_with_graph():
    z = Value(np.array([[0.3, -1.2], [2.0, 0.1]]))
    y = np.array([1, 0])
    with no_grad():
        value = logistic_cost(z.sigmoid(), y).item()
    assert value == pytest.approx(logistic_cost(z.sigmoid(), y).item(), rel=1e-14)


def test_cross_entropy_by_hand():
    # logits [0, ln 3]: softmax = [1/4, 3/4]; label 1 costs -ln(3/4); gradient softmax - onehot
    z = Value(np.array([[0.0, math.log(3)]]))
    loss = cross_entropy(z, np.array([1]))
    assert loss.item() == pytest.approx(-math.log(0.75), rel=1e-15)
    loss.backward()
    np.testing.assert_allclose(z.grad, [[0.25, -0.25]], rtol=1e-15)
    big = Value(np.array([[1000.0, -1000.0]]))  # stable at extreme logits
    assert cross_entropy(big, np.array([1])).item() == pytest.approx(2000.0)


def test_binary_cross_entropy_with_logits_by_hand():
    # z = 0: softplus(0) - y*0 = ln 2 for any y; z = 2, y = 1: softplus(2) - 2 = ln(1 + e^-2)
    loss = binary_cross_entropy_with_logits(Value(np.array([0.0, 2.0])), np.array([0.0, 1.0]))
    assert loss.item() == pytest.approx((math.log(2) + math.log1p(math.exp(-2))) / 2, rel=1e-14)


def test_mse_and_hinge_by_hand():
    assert mse(Value(np.array([1.0, 3.0])), np.array([0.0, 1.0])).item() == 2.5  # (1 + 4) / 2
    # relu(1 - y s): s = [2, 0.5, -1], y = [1, 1, 1] -> [0, 0.5, 2], mean 2.5/3
    assert hinge(Value(np.array([2.0, 0.5, -1.0])), np.ones(3)).item() == pytest.approx(2.5 / 3)


@pytest.mark.parametrize("call, error, message", [
    (lambda: logistic_cost(Value(np.full((2, 3), 0.5)), np.array([0, 3])), ValueError,
     r"labels must lie in 0..2 for 3 output units; got 3"),
    (lambda: cross_entropy(Value(np.zeros((2, 3))), np.zeros((3,))), ShapeError,
     r"integer labels of shape \(2,\) or one-hot rows of shape \(2, 3\).*got \(3,\)"),
    (lambda: mse(Value(np.zeros(3)), np.zeros((3, 1))), ShapeError, r"mse: targets of shape \(3, 1\)"),
    (lambda: hinge(Value(np.zeros(2)), np.array([0.0, 1.0])), ValueError, "-1 or \\+1"),
    (lambda: cross_entropy(Value(np.zeros(3)), np.array([0])), ShapeError, r"logits must have shape \(m, K\)"),
])
def test_bad_targets_are_named(call, error, message):
    with pytest.raises(error, match=message):
        call()


@pytest.mark.parametrize("loss", [cross_entropy, lambda out, y: logistic_cost(out.sigmoid(), y)])
def test_loss_gradients_match_finite_differences(loss):
    rng = np.random.default_rng(3)
    X, y = rng.normal(size=(7, 4)), rng.integers(0, 3, size=7)
    model = MLP(4, [5, 3], activation="tanh", output_activation="linear", seed=1)
    assert check_gradients(model, loss, X, y)
