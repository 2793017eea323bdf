"""The graph of a gradient: what backpropagation computes for a logistic unit, drawn as SVG.

With ``create_graph=True`` a gradient is a Value with a graph of its own. For the logistic
unit h = sigmoid(x . θ) and its cross-entropy cost J, the graph of dJ/dθ shows the familiar
formula (h - y) x being built from the unit's own nodes; differentiating it once more gives
the Hessian x xᵀ h (1 - h), which Newton's method uses (examples/newton_logistic.py).

    python examples/gradient_graph.py      # writes logistic_gradient.svg here
"""

import numpy as np

import tinygrad_nn as tg
from tinygrad_nn import Value, losses


def main(path: str = "logistic_gradient.svg") -> None:
    x = np.array([[1.0, 0.5, -1.5]])               # one example, x0 = 1 for the bias
    y = np.array([1.0])
    theta = Value(np.array([0.2, -0.4, 0.1]), label="θ")
    h = tg.sigmoid(x @ theta)
    J = losses.logistic_cost(h, y)
    (dJ,) = tg.grad(J, theta, create_graph=True)   # a Value with a graph
    dJ.label = "dJ/dθ"
    print("dJ/dθ            =", dJ.data)
    print("(h - y) x, by hand =", (h.data - y) @ x)
    H = np.stack([tg.grad(dJ[k], theta)[0].data for k in range(3)])  # differentiate again
    print("Hessian          =\n", H)
    print("x xᵀ h (1 - h)   =\n", x.T @ x * (h.data * (1 - h.data)))
    written = dJ.to_svg(path, show_grad=False, title="dJ/dθ of a logistic unit, as "
                        "backpropagation computes it (create_graph=True)")
    print("wrote", written)


if __name__ == "__main__":
    main()
