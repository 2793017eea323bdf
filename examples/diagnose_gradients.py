"""Diagnose the gradient flow of three 8-layer networks on the digits, from one forward and
backward pass each: sigmoids with tiny weights (the gradient vanishes layer by layer), sigmoids
with huge weights (the units saturate), and ReLUs with He (Kaiming) initialisation (healthy).
Draws each report when matplotlib is installed.

    python examples/diagnose_gradients.py
"""

import os

import numpy as np

from tinygrad_nn import diagnose, nn
from tinygrad_nn.data import Standardizer, load_digits
from tinygrad_nn.losses import cross_entropy

FAST = bool(os.environ.get("TINYGRAD_NN_FAST"))


def deep_net(activation, init, depth=8, width=32):
    """64 -> width -> ... -> 10: `depth` Linear layers with `activation` between them, each
    weight set by init(weight, seed) (the biases keep torch's default, uniform on ±1/√fan_in)."""
    sizes = [64] + [width] * (depth - 1) + [10]
    layers = []
    for i in range(depth):
        linear = nn.Linear(sizes[i], sizes[i + 1], seed=i)
        init(linear.weight, i)
        layers += [linear, activation()] if i < depth - 1 else [linear]
    return nn.Sequential(*layers)


if __name__ == "__main__":
    X, y = load_digits()
    rows = np.random.default_rng(0).permutation(len(X))[:128 if FAST else 512]
    X, y = Standardizer.fit(X).transform(X)[rows], y[rows]
    nets = {
        "sigmoid_tiny": deep_net(nn.Sigmoid, lambda w, i: nn.init.normal_(w, std=0.01, generator=i)),
        "sigmoid_huge": deep_net(nn.Sigmoid, lambda w, i: nn.init.normal_(w, std=4.0, generator=i)),
        "relu_kaiming": deep_net(nn.ReLU, lambda w, i: nn.init.kaiming_normal_(w, nonlinearity="relu",
                                                                       generator=i)),
    }
    for name, model in nets.items():
        report = diagnose(model, cross_entropy, X, y, lr=0.01)
        print(f"== {name} ==\n{report}\n")
        try:
            report.plot(f"gradient_flow_{name}.png")
            print(f"wrote gradient_flow_{name}.png\n")
        except ImportError as e:
            print(f"(no picture: {e})\n")
