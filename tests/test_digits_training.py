"""Training on the bundled 8x8 digits reaches the course's accuracy on a held-out 20 %."""

import numpy as np
import pytest

from tinygrad_nn.data import Standardizer, load_digits, train_test_split
from tinygrad_nn.losses import cross_entropy, logistic_cost
from tinygrad_nn.nn import MLP
from tinygrad_nn.optim import Adam, minimize
from tinygrad_nn.train import accuracy, fit


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits()
    return train_test_split(X, y, 0.2, stratify=True, seed=0)


@pytest.mark.parametrize("method", ["L-BFGS-B", "CG"])
def test_sigmoid_network_full_batch_reaches_97_percent(digits, method):
    X_train, X_test, y_train, y_test = digits
    model = MLP(64, [64, 10], activation="sigmoid", seed=0)
    result = minimize(model, lambda h, t: logistic_cost(h, t, model.weights(), lam=1.0),
                      X_train / 16, y_train, method=method, maxiter=100, progress=False)
    assert result.history[-1] < result.history[0] / 4
    assert accuracy(model, X_test / 16, y_test) >= 0.97


def test_relu_network_with_adam_reaches_97_percent(digits):
    X_train, X_test, y_train, y_test = digits
    scaler = Standardizer.fit(X_train)
    model = MLP(64, [64, 10], activation="relu", output_activation="linear", seed=0)
    history = fit(model, cross_entropy, scaler.transform(X_train), y_train,
                  Adam(model.parameters(), lr=3e-3), epochs=30, batch_size=64, seed=0, progress=False)
    assert history.loss[-1] < history.loss[0] / 10
    assert accuracy(model, scaler.transform(X_test), y_test) >= 0.97


def test_float32_training_stays_float32(digits):
    X_train, _, y_train, _ = digits
    model = MLP(64, [16, 10], activation="relu", output_activation="linear", seed=0, dtype=np.float32)
    fit(model, cross_entropy, X_train / 16, y_train, Adam(model.parameters(), lr=1e-2), epochs=1,
        batch_size=128, seed=0, progress=False)
    assert all(p.data.dtype == np.float32 and p.grad.dtype == np.float32 for p in model.parameters())
