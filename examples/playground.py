"""A TensorFlow-Playground dataset (the spiral) learned by a small tanh network, with its
decision boundary drawn when matplotlib is installed.

    python examples/playground.py
"""

import os

from tinygrad_nn.data import spiral, train_test_split
from tinygrad_nn.losses import binary_cross_entropy_with_logits
from tinygrad_nn.nn import MLP
from tinygrad_nn.optim import Adam
from tinygrad_nn.train import accuracy, fit

FAST = bool(os.environ.get("TINYGRAD_NN_FAST"))

if __name__ == "__main__":
    X, y = spiral(400, noise=0.2, seed=0)
    X_train, X_test, y_train, y_test = train_test_split(X, y, 0.25, seed=0)
    model = MLP(2, [16, 16, 1], activation="tanh", output_activation="linear", seed=0)
    loss = lambda out, t: binary_cross_entropy_with_logits(out[:, 0], t)  # noqa: E731
    fit(model, loss, X_train, y_train, Adam(model.parameters(), lr=1e-2),
        epochs=20 if FAST else 300, batch_size=32, seed=0, threshold=0.0)
    print(f"spiral: test accuracy {accuracy(model, X_test, y_test, threshold=0.0):.1%}")
    try:
        from tinygrad_nn.plots import plot_decision_boundary
        plot_decision_boundary(model, X, y, path="spiral_boundary.png")
        print("wrote spiral_boundary.png")
    except ImportError as e:
        print(f"(no picture: {e})")
