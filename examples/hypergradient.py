"""Learn a learning rate by differentiating through training: a hypergradient.

Logistic regression tells the bundled digits 3 from 8, trained from w = 0 by T steps of gradient
descent w ← w - lr·g on a small training set. The gradient g of each step comes from
``tinygrad_nn.grad(loss, w, create_graph=True)``: it is a Value with a graph, so the whole
unrolled run is one graph from lr to the final weights, and from them to the loss on held-out
data. One more reverse pass gives d(validation loss)/d(lr), and the learning rate itself is
then trained by gradient descent, on log(lr) so that it stays positive.

The hypergradient is checked against a central finite difference of the unrolled run in lr.

    python examples/hypergradient.py
"""

import os

import numpy as np

from tinygrad_nn import Value, grad
from tinygrad_nn.data import load_digits

FAST = bool(os.environ.get("TINYGRAD_NN_FAST"))


def threes_and_eights(train_size: int, seed: int = 0) -> tuple:
    """(X_train, y_train, X_val, y_val): digits 3 (y = 0) and 8 (y = 1), a column of ones and
    the pixels / 16, shuffled; `train_size` of them train, the rest validate."""
    X, y = load_digits()
    keep = (y == 3) | (y == 8)
    X = np.column_stack([np.ones(keep.sum()), X[keep] / 16.0])
    y = (y[keep] == 8).astype(np.float64)
    order = np.random.default_rng(seed).permutation(len(y))
    train, val = order[:train_size], order[train_size:]
    return X[train], y[train], X[val], y[val]


def cross_entropy(w: Value, X: np.ndarray, y: np.ndarray) -> Value:
    """Mean cross-entropy of σ(Xw) against y, stably: mean(softplus(z) - y·z)."""
    z = X @ w
    return (z.softplus() - y * z).mean()


def unrolled(lr: Value | float, data: tuple, steps: int) -> Value:
    """The validation loss after `steps` steps of gradient descent with learning rate `lr`
    from w = 0, as a Value whose graph runs back through every step to `lr`."""
    X_train, y_train, X_val, y_val = data
    w = Value(np.zeros(X_train.shape[1]))   # a leaf; after the first step w is computed from lr
    for _ in range(steps):
        g, = grad(cross_entropy(w, X_train, y_train), w, create_graph=True)
        w = w - lr * g
    return cross_entropy(w, X_val, y_val)


def hypergradient(lr: float, data: tuple, steps: int) -> tuple:
    """(validation loss, d validation loss / d lr) at `lr`."""
    rate = Value(lr)
    loss = unrolled(rate, data, steps)
    g, = grad(loss, rate)
    return loss.item(), g.item()


def main(steps: int = 10, hyper_steps: int = 10, lr: float = 0.3, hyper_lr: float = 3.0,
         train_size: int = 60) -> dict:
    """Learn lr for `steps` steps of training by `hyper_steps` steps of gradient descent on
    log(lr). Returns ``lrs``, ``val_losses`` and ``hypergradients`` (before each hyper-step and
    after the last), and the check at the initial lr: the ``finite_difference`` and its
    ``relative_error`` from ``hypergradients[0]``."""
    data = threes_and_eights(train_size)
    lrs, val_losses, hypergradients = [], [], []
    log_lr = np.log(lr)
    for _ in range(hyper_steps + 1):
        loss, g = hypergradient(np.exp(log_lr), data, steps)
        lrs.append(float(np.exp(log_lr)))
        val_losses.append(loss)
        hypergradients.append(g)
        log_lr -= hyper_lr * lrs[-1] * g   # d loss / d log(lr) = lr · d loss / d lr
    h = 1e-5 * lr
    finite = (unrolled(lr + h, data, steps).item() - unrolled(lr - h, data, steps).item()) / (2 * h)
    return {"lrs": lrs, "val_losses": val_losses, "hypergradients": hypergradients,
            "finite_difference": finite,
            "relative_error": abs(hypergradients[0] - finite) / abs(finite)}

if __name__ == "__main__":
    steps, hyper_steps = (10, 5) if FAST else (20, 30)
    r = main(steps, hyper_steps)
    print(f"d(validation loss)/d(lr) at lr = {r['lrs'][0]}: {r['hypergradients'][0]:.10f} by "
          f"backpropagation through {steps} steps, {r['finite_difference']:.10f} by central "
          f"differences (relative difference {r['relative_error']:.1e})")
    for k in range(0, hyper_steps + 1, max(1, hyper_steps // 10)):
        print(f"  hyper-step {k:2d}: lr = {r['lrs'][k]:.4f}, validation loss after {steps} "
              f"steps = {r['val_losses'][k]:.4f}")
    print(f"learned lr = {r['lrs'][-1]:.4f}: validation loss {r['val_losses'][0]:.4f} -> "
          f"{r['val_losses'][-1]:.4f}")
