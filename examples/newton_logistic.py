"""Newton's method for logistic regression: the gradient and the Hessian of the loss come from
`tinygrad_nn.func`, and the answer is checked against iteratively reweighted least squares.

The task: tell the bundled digits 0 from 1, with pixels scaled to [0, 1] and a column of ones
for the bias. The classes are separable, so plain logistic regression has no finite optimum;
an L2 penalty (lam/2)·|w|² on the weights (not the bias) gives it one. Newton's step
w ← w - H⁻¹ ∇L converges quadratically: near the optimum each gradient norm is about the
square of the one before, and a handful of steps reach machine precision.

IRLS is the same Newton step written as a weighted least-squares problem, by hand in numpy:
with p = σ(Xw) and S = diag(p(1 - p)), solve (XᵀSX + m·lam·P) w_new = XᵀSXw + Xᵀ(y - p),
where P is the identity with a zero for the bias.

    python examples/newton_logistic.py
"""

import time
from typing import Callable

import numpy as np

from tinygrad_nn import Value, func
from tinygrad_nn.data import load_digits


def zeros_and_ones() -> tuple:
    """The digits 0 and 1: X (m, 65) in float64, a column of ones then the 64 pixels / 16,
    and y (m,), 1.0 for a one."""
    X, y = load_digits()
    keep = y < 2
    X = np.column_stack([np.ones(keep.sum()), X[keep] / 16.0])
    return X, y[keep].astype(np.float64)


def logistic_loss(X: np.ndarray, y: np.ndarray, lam: float) -> Callable[[Value], Value]:
    """L(w) = mean(log(1 + e^z) - y·z) + (lam/2)·|w[1:]|², with z = Xw: the cross-entropy of
    σ(z) against y, computed stably by softplus, plus the penalty on all but the bias."""
    def loss(w: Value) -> Value:
        z = X @ w
        return (z.softplus() - y * z).mean() + (lam / 2) * (w[1:] * w[1:]).sum()
    return loss


def newton(loss: Callable[[Value], Value], w: np.ndarray, tol: float,
           max_iterations: int) -> tuple:
    """Newton steps from w until the gradient norm is below `tol`: the final w and the
    gradient norm at each iterate (the first at the starting point)."""
    norms = []
    for _ in range(max_iterations + 1):
        g = func.grad(loss)(w)
        norms.append(float(np.linalg.norm(g)))
        if norms[-1] < tol:
            break
        H = func.hessian(loss)(w)          # (65, 65): one reverse pass per row of the gradient
        w = w - np.linalg.solve(H, g)
    return w, norms


def irls(X: np.ndarray, y: np.ndarray, lam: float, iterations: int = 50) -> np.ndarray:
    """Iteratively reweighted least squares for the same penalized loss, numpy only."""
    m, n = X.shape
    penalty = m * lam * np.diag(np.r_[0.0, np.ones(n - 1)])   # no penalty on the bias
    w = np.zeros(n)
    for _ in range(iterations):
        p = 1 / (1 + np.exp(-X @ w))
        XtSX = X.T @ (X * (p * (1 - p))[:, None])
        new = np.linalg.solve(XtSX + penalty, XtSX @ w + X.T @ (y - p))
        if np.max(np.abs(new - w)) < 1e-12:   # converged: the step is rounding noise
            return new
        w = new
    return w


def main(lam: float = 1e-2, tol: float = 1e-12, max_iterations: int = 20) -> dict:
    """Newton's method and IRLS on zeros against ones, from w = 0. Returns a dict with
    ``weights`` (Newton's answer), ``grad_norms`` (the gradient norm at every iterate, so
    ``len - 1`` steps were taken), ``irls_weights`` and ``seconds`` (Newton's time)."""
    X, y = zeros_and_ones()
    start = time.perf_counter()
    w, norms = newton(logistic_loss(X, y, lam), np.zeros(X.shape[1]), tol, max_iterations)
    seconds = time.perf_counter() - start
    return {"weights": w, "grad_norms": norms, "irls_weights": irls(X, y, lam),
            "seconds": seconds}


if __name__ == "__main__":
    result = main()
    norms = result["grad_norms"]
    print(f"Newton's method, {len(norms) - 1} steps in {result['seconds']:.2f} s:")
    for k, norm in enumerate(norms):
        ratio = f"   |g| / |g_prev|² = {norm / norms[k - 1] ** 2:.3g}" if k else ""
        print(f"  iterate {k}: |gradient| = {norm:.3e}{ratio}")
    gap = np.max(np.abs(result["weights"] - result["irls_weights"]))
    print(f"largest difference from the IRLS weights: {gap:.2e}")
    if gap > 1e-8:
        raise SystemExit("Newton's method and IRLS disagree")
