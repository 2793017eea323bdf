"""Train on the bundled 8x8 handwritten digits two ways: the course's sigmoid network with L-BFGS
(full batch), and a ReLU network with Adam in mini-batches.

    python examples/digits.py
"""

import os

from tinygrad_nn.data import Standardizer, load_digits, train_test_split
from tinygrad_nn.losses import cross_entropy, logistic_cost
from tinygrad_nn.nn import MLP
from tinygrad_nn.optim import Adam, minimize
from tinygrad_nn.train import accuracy, fit

FAST = bool(os.environ.get("TINYGRAD_NN_FAST"))

if __name__ == "__main__":
    X, y = load_digits()
    X_train, X_test, y_train, y_test = train_test_split(X, y, 0.2, stratify=True, seed=0)

    course = MLP(64, [25, 10], activation="sigmoid", seed=0)
    result = minimize(course, lambda h, t: logistic_cost(h, t, course.weights(), lam=1.0),
                      X_train / 16, y_train, method="L-BFGS-B", maxiter=20 if FAST else 100)
    print(f"sigmoid 64-25-10, L-BFGS-B, {len(result.history)} iterations: "
          f"test accuracy {accuracy(course, X_test / 16, y_test):.1%}")

    scaler = Standardizer.fit(X_train)
    relu = MLP(64, [64, 10], activation="relu", output_activation="linear", seed=0)
    history = fit(relu, cross_entropy, scaler.transform(X_train), y_train,
                  Adam(relu.parameters(), lr=3e-3), epochs=3 if FAST else 30, batch_size=64, seed=0)
    print(f"relu 64-64-10, Adam, {len(history.loss)} epochs: "
          f"test accuracy {accuracy(relu, scaler.transform(X_test), y_test):.1%}")
