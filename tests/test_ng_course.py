"""The neural-network chapter of Ng's course, reproduced against its published numbers
(../shared/data/reference-values.json and ex4weights.npz; the Coursera files are not shipped)."""

import json
import pathlib

import numpy as np
import pytest

from tinygrad_nn import Value, init, sigmoid
from tinygrad_nn.gradcheck import numerical_gradient, relative_difference
from tinygrad_nn.losses import logistic_cost, sum_of_squares
from tinygrad_nn.nn import MLP

SHARED = pathlib.Path(__file__).resolve().parents[2] / "shared" / "data"
pytestmark = pytest.mark.skipif(not (SHARED / "reference-values.json").exists(),
                                reason="../shared/data (the course's reference numbers) is not beside the repo")


@pytest.fixture(scope="module")
def ref():
    return json.loads((SHARED / "reference-values.json").read_text())


def test_sigmoid_gradient_values(ref):
    # g'(z) = g(z) (1 - g(z)): 0.25 at z = 0, 0.19661193 at z = ±1
    z = Value(np.array(ref["sigmoid_gradient"]["z"]))
    sigmoid(z).sum().backward()
    np.testing.assert_allclose(z.grad, ref["sigmoid_gradient"]["value"], rtol=1e-15)


def test_ex4_weights_load_and_regularization_term(ref):
    w = np.load(SHARED / "ex4weights.npz")
    model = MLP.from_thetas([w["Theta1"], w["Theta2"]])
    assert [t.shape for t in model.thetas()] == [(25, 401), (10, 26)]
    np.testing.assert_array_equal(model.thetas()[0], w["Theta1"])
    sq = sum_of_squares(model.weights()).item()
    assert sq == pytest.approx(ref["ex4weights"]["sum_sq_nonbias_weights"], rel=1e-13)
    for lam, key in [(1, "reg_term_lambda1_m5000"), (3, "reg_term_lambda3_m5000")]:
        assert lam / (2 * 5000) * sq == pytest.approx(ref["ex4weights"][key], rel=1e-13)


def _debug_matrix(fan_out: int, fan_in: int) -> np.ndarray:
    """The course's debugInitializeWeights for a Θ of shape (fan_out, 1 + fan_in)."""
    return init.debug((fan_out, 1 + fan_in))


@pytest.fixture(scope="module")
def debug_net():
    theta1, theta2 = _debug_matrix(5, 3), _debug_matrix(3, 5)
    X = _debug_matrix(5, 2)  # 5 examples of 3 features, by the same rule
    labels = np.array([2, 3, 1, 2, 3]) - 1  # the course's 1..K labels as 0..K-1
    return theta1, theta2, X, labels


@pytest.mark.parametrize("lam, key", [(0.0, "cost_lambda0"), (3.0, "cost_lambda3")])
def test_debug_network_cost_and_gradient_check(ref, debug_net, lam, key):
    theta1, theta2, X, labels = debug_net
    expected = ref["gradient_check_network"]

    def cost(t1, t2):
        model = MLP.from_thetas([np.asarray(t1.data), np.asarray(t2.data)])
        return logistic_cost(model(X), labels, model.weights(), lam=lam)

    model = MLP.from_thetas([theta1, theta2])
    J = logistic_cost(model(X), labels, model.weights(), lam=lam)
    assert J.item() == pytest.approx(expected[key], abs=1e-12)
    J.backward()
    backprop = [np.column_stack([layer.b.grad, layer.W.grad]) for layer in model.layers]
    numeric = numerical_gradient(cost, theta1, theta2, eps=expected["numeric_eps"])
    assert relative_difference(backprop, list(numeric)) < expected["relative_difference_threshold"]
    unrolled = np.concatenate([g.ravel(order="F") for g in backprop])
    if lam == 3.0:  # the published listing is for lambda = 3
        np.testing.assert_allclose(unrolled[:5], expected["first5_grad"], atol=1e-10)


def test_zero_initialization_keeps_hidden_units_identical():
    # symmetry: with equal starting weights every hidden unit gets the same gradient, forever
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(30, 4)), rng.integers(0, 3, size=30)
    model = MLP(4, [5, 3], init="zeros")
    for _ in range(20):
        model.zero_grad()
        logistic_cost(model(X), y, model.weights(), lam=0.1).backward()
        for p in model.parameters():
            p.data -= 0.5 * p.grad
    W1 = model.layers[0].W.data
    assert np.allclose(W1, W1[0]) and np.allclose(model.layers[0].b.data, model.layers[0].b.data[0])
    assert not np.allclose(W1, 0)  # the units did learn: all the same thing
    random_model = MLP(4, [5, 3], seed=0)
    assert not np.allclose(random_model.layers[0].W.data, random_model.layers[0].W.data[0])
