"""Loss functions. Each returns a scalar Value averaged over the m examples of a batch.

Targets are integer class labels (shape (m,)) or one-hot rows (shape (m, K)); which one is
told apart by shape, and errors say which was expected.
"""

from __future__ import annotations

from typing import Any, Iterable

import numpy as np

from . import ops
from .engine import Value, constant
from .errors import ShapeError


def one_hot_targets(targets: Any, m: int, k: int, who: str, dtype: Any = np.float64) -> np.ndarray:
    """(m, k) one-hot rows from integer labels 0..k-1, or one-hot rows checked as they are, in
    `dtype` (the outputs' dtype: a float32 model's loss stays float32)."""
    y = np.asarray(targets.data if isinstance(targets, Value) else targets)
    if y.shape == (m, k):
        return y.astype(dtype)
    if y.shape != (m,):
        raise ShapeError(f"{who}: targets must be integer labels of shape ({m},) or one-hot rows "
                         f"of shape ({m}, {k}) to match outputs of shape ({m}, {k}); got {y.shape}")
    whole = y.dtype.kind in "iu" or np.all(np.equal(np.mod(y, 1), 0))
    if not whole or y.min(initial=0) < 0 or y.max(initial=0) >= k:
        bad = y[(np.mod(y, 1) != 0) | (y < 0) | (y >= k)][0]
        raise ValueError(f"{who}: integer labels must lie in 0..{k - 1} for {k} output units; "
                         f"got {bad}")
    hot = np.zeros((m, k), dtype=dtype)
    hot[np.arange(m), y.astype(np.intp)] = 1.0
    return hot


def _targets_like(targets: Any, outputs: Value, who: str) -> np.ndarray:
    """Targets as an array of exactly the outputs' shape and dtype (no broadcasting: a mismatch
    is a bug)."""
    shape = outputs.shape
    y = np.asarray(targets.data if isinstance(targets, Value) else targets, dtype=outputs.dtype)
    if y.shape != shape:
        raise ShapeError(f"{who}: targets of shape {y.shape} do not match the model's outputs "
                         f"of shape {shape}")
    return y


def _rows(outputs: Value, who: str) -> tuple:
    """(m, k) of a batch of outputs: (m, k), or (m,) for one unit."""
    if outputs.ndim == 1:
        return outputs.shape[0], 1
    if outputs.ndim != 2:
        raise ShapeError(f"{who}: outputs must have shape (m, K) or (m,); got {outputs.shape}")
    return outputs.shape


def logistic_cost(outputs: Any, targets: Any, weights: Iterable[Value] = (), lam: float = 0.0) -> Value:
    """Ng's regularized cross-entropy of a sigmoid network.

    J = -(1/m) Σᵢ Σₖ [yₖ⁽ⁱ⁾ log hₖ⁽ⁱ⁾ + (1 - yₖ⁽ⁱ⁾) log(1 - hₖ⁽ⁱ⁾)] + λ/(2m) Σ w²

    `outputs` h are probabilities in (0, 1), shape (m, K) (or (m,) for one unit); `weights` are
    the parameters to penalise, usually ``model.weights()`` (biases are not regularized).

    The value depends on h alone, the same with or without a graph: each log is kept at or
    above -100, as PyTorch's BCELoss does, so a unit saturated to exactly 0 or 1 against its
    target costs 100, not infinity. When h was computed by the sigmoid op, the gradient is
    taken from its input z in the exact and stable forms log h = -softplus(-z),
    log(1 - h) = -softplus(z): dJ/dz = (h - y) / m stays right for saturated units, where the
    gradient through h would vanish.
    """
    h = constant(outputs, "logistic_cost")
    m, k = _rows(h, "logistic_cost")
    y = one_hot_targets(targets, m, k, "logistic_cost", h.dtype) if h.ndim == 2 else \
        _targets_like(targets, h, "logistic_cost")
    cost = -(y * _log(h) + (1 - y) * _log(1 - h)).sum() / m
    if h._fn is ops.sigmoid and h.requires_grad:
        z = h._prev[0]
        exact = -(y * -ops.softplus(-z) + (1 - y) * -ops.softplus(z)).sum() / m
        cost = exact + (cost.detach() - exact.detach())  # the value above, exact's gradient
    weights = list(weights)
    if lam and weights:
        cost = cost + (lam / (2 * m)) * sum_of_squares(weights)
    return cost


def _log(p: Value) -> Value:
    """log p, at least -100 (PyTorch's floor for BCELoss), finite even where p is 0."""
    tiny = float(np.finfo(p.dtype).tiny)
    return ops.clip(ops.log(ops.clip(p, lo=tiny)), lo=-100.0)


def sum_of_squares(weights: Iterable[Value]) -> Value:
    """Σ w² over every element of every weight (the L2 penalty without its factor)."""
    total = None
    for w in weights:
        term = (w * w).sum()
        total = term if total is None else total + term
    if total is None:
        raise ValueError("sum_of_squares: no weights given")
    return total


def cross_entropy(logits: Any, labels: Any) -> Value:
    """Softmax cross-entropy from logits (m, K): -(1/m) Σᵢ log softmax(zᵢ)[yᵢ], computed stably
    with log-softmax. `labels` are integers 0..K-1 or one-hot rows."""
    z = constant(logits, "cross_entropy")
    if z.ndim != 2:
        raise ShapeError(f"cross_entropy: logits must have shape (m, K); got {z.shape}")
    m, k = z.shape
    return ops.softmax_cross_entropy(z, one_hot_targets(labels, m, k, "cross_entropy", z.dtype))


def binary_cross_entropy_with_logits(logits: Any, targets: Any) -> Value:
    """Mean of softplus(z) - y·z: the cross-entropy of sigmoid(z) against y in [0, 1], stable
    for any z. Same shape for logits and targets."""
    z = constant(logits, "binary_cross_entropy_with_logits")
    y = _targets_like(targets, z, "binary_cross_entropy_with_logits")
    return (z.softplus() - y * z).mean()


def mse(predictions: Any, targets: Any) -> Value:
    """Mean squared error, mean over every element."""
    p = constant(predictions, "mse")
    d = p - _targets_like(targets, p, "mse")
    return (d * d).mean()


def hinge(scores: Any, targets: Any) -> Value:
    """micrograd's SVM max-margin loss: mean of relu(1 - y·s) with labels y in {-1, +1}."""
    s = constant(scores, "hinge")
    y = _targets_like(targets, s, "hinge")
    if not np.all(np.abs(y) == 1):
        raise ValueError("hinge: targets must be -1 or +1")
    return (1 - y * s).relu().mean()
