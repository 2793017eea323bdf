"""A physics-informed neural network: a tanh MLP u(t) learns to solve u'' = -u on [0, 2π] with
u(0) = 0 and u'(0) = 1, whose solution is sin t, from the equation alone (no samples of sin).

The derivatives u'(t) and u''(t) at the collocation points come from differentiating the
network with respect to its input: `tinygrad_nn.grad(u, t, ones, create_graph=True)`, where a
seed of ones gives every point its own derivative, since each output depends only on its own
input. The loss is the mean squared residual u'' + u plus the two initial conditions, and Adam
minimises it, its step size decaying tenfold over the run. The loss's gradient with respect
to the weights is a third derivative of the network, taken through the graph of u''.

    python examples/pinn_ode.py
"""

import os
import time

import numpy as np

from tinygrad_nn import Value, grad, no_grad
from tinygrad_nn.nn import MLP
from tinygrad_nn.optim import Adam

FAST = bool(os.environ.get("TINYGRAD_NN_FAST"))
END = 2 * np.pi


def solution(model: MLP, t: Value) -> Value:
    """u(t): the network applied to t rescaled from [0, 2π] to [-1, 1], shape (n, 1)."""
    return model(t / np.pi - 1)


def pinn_loss(model: MLP, t: Value, start: Value) -> Value:
    """mean((u'' + u)²) over the points `t`, plus u(0)² and (u'(0) - 1)² at `start` (t = 0)."""
    ones = np.ones(t.shape)
    u = solution(model, t)
    du, = grad(u, t, ones, create_graph=True)       # u'(t) at every point
    d2u, = grad(du, t, ones, create_graph=True)     # u''(t)
    residual = d2u + u
    u0 = solution(model, start)
    du0, = grad(u0, start, create_graph=True)
    return (residual * residual).mean() + (u0 * u0).sum() + ((du0 - 1) * (du0 - 1)).sum()


def max_error(model: MLP, points: int = 401) -> float:
    """max |u(t) - sin t| on an even grid of [0, 2π]."""
    t = np.linspace(0, END, points).reshape(-1, 1)
    with no_grad():
        return float(np.abs(solution(model, Value(t)).data - np.sin(t)).max())


def main(steps: int = 800, points: int = 64, hidden: int = 16, lr: float = 1e-2,
         seed: int = 0) -> dict:
    """Train a 1-hidden-hidden-1 tanh network for `steps` Adam steps on `points` evenly spaced
    collocation points. Returns ``error`` (max |u - sin| on a grid after training),
    ``untrained_error``, ``losses`` (one per step) and ``seconds``."""
    model = MLP(1, [hidden, hidden, 1], activation="tanh", output_activation="linear", seed=seed)
    untrained = max_error(model)
    opt = Adam(model.parameters(), lr=lr)
    t = Value(np.linspace(0, END, points).reshape(-1, 1))   # leaves: we differentiate by them
    start = Value(np.zeros((1, 1)))
    losses, began = [], time.perf_counter()
    for k in range(steps):
        opt.lr = lr * 0.1 ** (k / steps)   # decay tenfold over the run: calmer near the end
        opt.zero_grad()
        loss = pinn_loss(model, t, start)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return {"error": max_error(model), "untrained_error": untrained, "losses": losses,
            "seconds": time.perf_counter() - began}


if __name__ == "__main__":
    steps = 500 if FAST else 5000
    r = main(steps)
    print(f"1-16-16-1 tanh PINN for u'' = -u, {steps} Adam steps in {r['seconds']:.1f} s")
    for k in range(0, steps, steps // 5):
        print(f"  step {k:4d}: loss {r['losses'][k]:.3e}")
    print(f"final loss {r['losses'][-1]:.3e}; max |u - sin t| on [0, 2π]: "
          f"{r['untrained_error']:.3f} untrained -> {r['error']:.5f}")
