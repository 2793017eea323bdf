"""The course's network in its own layout: Θ matrices with the bias in column 0.

With ../shared/data/ex4weights.npz beside the repository (Coursera ML exercise 4; not shipped),
the pretrained 400-25-10 network is loaded with `MLP.from_thetas` and its regularization term
reproduced. Without it, the course's debug network (sin-initialized, 3-5-3) is used, and its
cost and backpropagation are checked against finite differences.

    python examples/course_network.py
"""

import pathlib

import numpy as np

from tinygrad_nn import init
from tinygrad_nn.gradcheck import check_gradients
from tinygrad_nn.losses import logistic_cost, sum_of_squares
from tinygrad_nn.nn import MLP

WEIGHTS = pathlib.Path(__file__).resolve().parents[2] / "shared" / "data" / "ex4weights.npz"

if __name__ == "__main__":
    if WEIGHTS.exists():
        w = np.load(WEIGHTS)
        model = MLP.from_thetas([w["Theta1"], w["Theta2"]])
        print(model, [t.shape for t in model.thetas()])
        print(f"λ/(2m) ΣΘ² for λ = 1, m = 5000: {sum_of_squares(model.weights()).item() / 10000:.10f}"
              "  (the course: 0.0961406939)")
    X, y = init.debug((5, 3)), np.array([1, 2, 0, 1, 2])
    debug = MLP.from_thetas([init.debug((5, 4)), init.debug((3, 6))])
    J = logistic_cost(debug(X), y, debug.weights(), lam=3.0)
    print(f"debug network cost (λ = 3): {J.item():.12f}  (the course: 2.146359815024)")
    ok = check_gradients(debug, lambda h, t: logistic_cost(h, t, debug.weights(), lam=3.0), X, y)
    print("backpropagation agrees with finite differences:", ok)
