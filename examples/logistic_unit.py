"""The logistic unit of Ng's lecture: one sigmoid unit computes AND, OR and NOR, and a network of
three computes XNOR, which no single unit can.

    python examples/logistic_unit.py
"""

import numpy as np

from tinygrad_nn.nn import MLP, Neuron

X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float)


def unit(theta0: float, theta1: float, theta2: float) -> Neuron:
    """h(x) = sigmoid(θ0 + θ1 x1 + θ2 x2), with the weights set by hand."""
    n = Neuron(2, activation="sigmoid")
    n.load_state_dict({"w": np.array([theta1, theta2], dtype=float), "b": np.array(theta0, dtype=float)})
    return n


def table(name: str, h: np.ndarray) -> None:
    print(f"{name:>20}: " + "  ".join(f"{x.astype(int)}->{int(v > 0.5)}" for x, v in zip(X, h)))


if __name__ == "__main__":
    table("AND  [-30, 20, 20]", unit(-30, 20, 20)(X).data)
    table("OR   [-10, 20, 20]", unit(-10, 20, 20)(X).data)
    table("NOR  [10, -20, -20]", unit(10, -20, -20)(X).data)
    # XNOR = (x1 AND x2) OR (NOT x1 AND NOT x2): a hidden layer of AND and NOR, then OR
    xnor = MLP.from_thetas([np.array([[-30, 20, 20], [10, -20, -20]]), np.array([[-10, 20, 20]])])
    table("XNOR (2-2-1 network)", xnor(X).data[:, 0])
