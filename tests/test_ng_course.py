"""The neural-network chapter of Ng's course, reproduced against its published numbers.

The numbers are written here (they are facts about the course's exercise, from
../shared/data/reference-values.json), so these tests run on a fresh clone; only the test that
reads the pretrained weights (ex4weights.npz, not shipped: Coursera's material) skips without
them, and one more checks the numbers here against the JSON file when it is there."""

import json
import pathlib

import numpy as np
import pytest

from tinygrad_nn import Value, init, sigmoid
from tinygrad_nn.gradcheck import numerical_gradient, relative_difference
from tinygrad_nn.losses import logistic_cost, sum_of_squares
from tinygrad_nn.nn import MLP

SHARED = pathlib.Path(__file__).resolve().parents[2] / "shared" / "data"
REFERENCE_FILE = SHARED / "reference-values.json"
EX4_WEIGHTS = SHARED / "ex4weights.npz"

# g'(z) = g(z) (1 - g(z)): 0.25 at z = 0, 0.19661193 at z = ±1.
SIGMOID_GRADIENT = {"z": [-1.0, -0.5, 0.0, 0.5, 1.0],
                    "value": [0.19661193324148185, 0.2350037122015945, 0.25, 0.2350037122015945,
                              0.19661193324148185]}
# The pretrained 400-25-10 network's weights (Theta1 25x401, Theta2 10x26) and its
# regularisation term lambda / (2 m) * sum of squares for the m = 5000 training digits.
EX4WEIGHTS = {"sum_sq_nonbias_weights": 961.4069392960473,
              "reg_term_lambda1_m5000": 0.09614069392960473,
              "reg_term_lambda3_m5000": 0.2884220817888142}
# checkNNGradients: the 3-5-3 debug network of debugInitializeWeights on 5 examples, labels
# 2 3 1 2 3; the first gradient entries (column-major, Theta1 first) are for lambda = 3.
GRADIENT_CHECK_NETWORK = {"cost_lambda0": 2.100950569902, "cost_lambda3": 2.146359815024,
                          "first5_grad": [-0.0092782524, 0.0088991196, -0.0083601076,
                                          0.0076281355, -0.0067479837],
                          "numeric_eps": 1e-4, "relative_difference_threshold": 1e-9}


@pytest.mark.skipif(not REFERENCE_FILE.exists(), reason=f"{REFERENCE_FILE} is not beside the repo")
@pytest.mark.parametrize("section, numbers", [("sigmoid_gradient", SIGMOID_GRADIENT),
                                              ("ex4weights", EX4WEIGHTS),
                                              ("gradient_check_network", GRADIENT_CHECK_NETWORK)])
def test_the_numbers_here_are_those_of_the_reference_file(section, numbers):
    reference = json.loads(REFERENCE_FILE.read_text())[section]
    assert {key: reference[key] for key in numbers} == numbers


def test_sigmoid_gradient_values():
    z = Value(np.array(SIGMOID_GRADIENT["z"]))
    sigmoid(z).sum().backward()
    np.testing.assert_allclose(z.grad, SIGMOID_GRADIENT["value"], rtol=1e-15)


@pytest.mark.skipif(not EX4_WEIGHTS.exists(), reason=f"{EX4_WEIGHTS} (Coursera's pretrained "
                    "weights, not shipped) is not beside the repo")
def test_ex4_weights_load_and_regularization_term():
    w = np.load(EX4_WEIGHTS)
    model = MLP.from_thetas([w["Theta1"], w["Theta2"]])
    assert [t.shape for t in model.thetas()] == [(25, 401), (10, 26)]
    np.testing.assert_array_equal(model.thetas()[0], w["Theta1"])
    sq = sum_of_squares(model.weights()).item()
    assert sq == pytest.approx(EX4WEIGHTS["sum_sq_nonbias_weights"], rel=1e-13)
    for lam, key in [(1, "reg_term_lambda1_m5000"), (3, "reg_term_lambda3_m5000")]:
        assert lam / (2 * 5000) * sq == pytest.approx(EX4WEIGHTS[key], rel=1e-13)


def _debug_matrix(fan_out: int, fan_in: int) -> np.ndarray:
    """The course's debugInitializeWeights for a Θ of shape (fan_out, 1 + fan_in)."""
    return init.debug((fan_out, 1 + fan_in))


@pytest.fixture(scope="module")
def debug_net():
    theta1, theta2 = _debug_matrix(5, 3), _debug_matrix(3, 5)
    X = _debug_matrix(5, 2)  # 5 examples of 3 features, by the same rule
    labels = np.array([2, 3, 1, 2, 3]) - 1  # the course's 1..K labels as 0..K-1
    return theta1, theta2, X, labels


def test_debug_weights_follow_the_courses_rule():
    # debugInitializeWeights: sin(1), sin(2), ... / 10, filled column by column
    np.testing.assert_array_equal(_debug_matrix(5, 3),
                                  np.sin(np.arange(1.0, 21.0)).reshape((5, 4), order="F") / 10)


@pytest.mark.parametrize("lam, key", [(0.0, "cost_lambda0"), (3.0, "cost_lambda3")])
def test_debug_network_cost_and_gradient_check(debug_net, lam, key):
    theta1, theta2, X, labels = debug_net
    expected = GRADIENT_CHECK_NETWORK

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
