"""Loss functions. Each returns a scalar Value averaged over the m examples of a batch.

Targets are integer class labels (shape (m,)) or one-hot rows (shape (m, K)); which one is
told apart by shape, and errors say which was expected. A target given as a Value takes part
in the graph like any other input: a `Tape` replay reads its current data, and a target that
requires a gradient gets it (soft targets, probabilities in [0, 1]). Class labels and hinge's
-1/+1 are discrete: a Value of them that requires a gradient is refused, as it would only ever
get zero. Labels outside their range raise DomainError naming the loss, the label and the range.
"""

from __future__ import annotations

from typing import Any, Iterable

import numpy as np

from . import ops
from .engine import REQUIRED, Op, Value, constant
from .errors import DomainError, ShapeError, UnsupportedTypeError


def one_hot_targets(targets: Any, m: int, k: int, who: str, dtype: Any = np.float64) -> np.ndarray:
    """(m, k) one-hot rows from integer labels 0..k-1, or rows of (m, k) checked to lie in
    [0, 1], as an array in `dtype` (the outputs' dtype: a float32 model's loss stays float32)."""
    y = np.asarray(targets.data if isinstance(targets, Value) else targets)
    if y.shape == (m, k):
        _in_unit_interval(y, who, "one-hot rows")
        return y.astype(dtype)
    if y.shape != (m,):
        raise ShapeError(f"{who}: targets must be integer labels of shape ({m},) or one-hot rows "
                         f"of shape ({m}, {k}) to match outputs of shape ({m}, {k}); got {y.shape}")
    _check_labels(y, k, who)
    hot = np.zeros((m, k), dtype=dtype)
    hot[np.arange(m), y.astype(np.intp)] = 1.0
    return hot


def _check_labels(y: np.ndarray, k: int, who: str) -> None:
    """Class labels must be whole numbers 0..k-1 (NaN and inf are neither)."""
    if y.dtype.kind in "iu" and (not y.size or 0 <= y.min() and y.max() < k):
        return  # integers in range: the common case, two reductions
    y = np.asarray(y, dtype=np.float64)
    bad = ~np.isfinite(y) | (y != np.round(y)) | (y < 0) | (y >= k)
    if bad.any():
        raise DomainError(f"{who}: integer labels must lie in 0..{k - 1} for {k} output units; "
                          f"got {y[bad].flat[0]:g}")


def _in_unit_interval(y: Any, who: str, what: str,
                      kind: str = "0/1 labels or probabilities") -> None:
    y = np.asarray(y, dtype=np.float64)
    bad = ~((y >= 0) & (y <= 1))  # NaN is outside too
    if bad.any():
        raise DomainError(f"{who}: {what} must lie in [0, 1] ({kind}); got {y[bad].flat[0]:g}")


def _discrete(targets: Any, who: str, what: str) -> None:
    """Refuse a Value of discrete targets that requires a gradient: it would get zero."""
    if isinstance(targets, Value) and targets.requires_grad:
        raise UnsupportedTypeError(
            f"{who}: {what} are discrete and have no gradient, but the targets Value requires "
            "one; make it with requires_grad=False (or pass an array)")


def _targets_like(targets: Any, outputs: Value, who: str) -> Value:
    """Targets of exactly the outputs' shape (no broadcasting: a mismatch is a bug), as a Value:
    a Value as it is, in the graph; numbers and arrays as a constant in the outputs' dtype."""
    if isinstance(targets, Value):
        y = targets
    else:
        y = constant(np.asarray(targets, dtype=outputs.dtype), who)
    if y.shape != outputs.shape:
        raise ShapeError(f"{who}: targets of shape {y.shape} do not match the model's outputs "
                         f"of shape {outputs.shape}")
    return y


def _class_targets(targets: Any, outputs: Value, who: str) -> Value:
    """Targets for (m, K) outputs as (m, K) rows in the graph: integer labels (m,), one-hot
    encoded (a Value of them by a comparison, so a replay encodes its current labels), or rows
    (m, K) with entries in [0, 1]."""
    m, k = outputs.shape
    if not isinstance(targets, Value):
        return constant(one_hot_targets(targets, m, k, who, outputs.dtype), who)
    if targets.shape == (m, k):
        _in_unit_interval(targets.data, who, "one-hot rows")
        return targets
    one_hot_targets(targets, m, k, who)  # checks the shape and the labels
    _discrete(targets, who, "class labels")
    return ops.equal(ops.reshape(targets, (m, 1)), np.arange(k, dtype=targets.dtype))


def _rows(outputs: Value, who: str) -> tuple:
    """(m, k) of a batch of outputs: (m, k), or (m,) for one unit."""
    if outputs.ndim == 1:
        return outputs.shape[0], 1
    if outputs.ndim != 2:
        raise ShapeError(f"{who}: outputs must have shape (m, K) or (m,); got {outputs.shape}")
    return outputs.shape


def _binary_targets(targets: Any, h: Value, who: str) -> Value:
    """Targets for one output unit, h of shape (m,) or (m, 1): labels 0/1 or probabilities, of
    shape (m,) or (m, 1) (the same m examples either way), in h's shape."""
    m = h.shape[0]
    shape = np.shape(targets.data if isinstance(targets, Value) else targets)
    if shape not in ((m,), (m, 1)):
        raise ShapeError(f"{who}: targets for outputs of shape {h.shape} (one unit) must have "
                         f"shape ({m},) or ({m}, 1); got {shape}")
    y = targets if isinstance(targets, Value) else constant(np.asarray(targets, h.dtype), who)
    _in_unit_interval(y.data, who, "targets for one output unit")
    return y if y.shape == h.shape else ops.reshape(y, h.shape)


def _floored_log(p: Any) -> Any:
    """log p, at least -100 (PyTorch's floor for BCELoss), finite even where p is 0."""
    return np.maximum(np.log(np.maximum(p, np.finfo(p.dtype).tiny)), -100.0)


def _bce_value(h: Any, y: Any, m: int) -> Any:
    """-(1/m) Σ [y log h + (1 - y) log(1 - h)] with the logs floored, on arrays."""
    return np.asarray(-(y * _floored_log(h) + (1 - y) * _floored_log(1 - h)).sum() / m)


# The cost of sigmoid(z) against y in one node, whose inputs are z and y: its value is that of
# the sigmoid's output h, floored as without a graph; its gradients come from the exact forms
# log h = -softplus(-z), log(1 - h) = -softplus(z): dJ/dz = (h - y) / m, right for saturated
# units, where the gradient through h would vanish, and dJ/dy = -z / m.
_sigmoid_cost = Op("logistic_cost",
                   lambda z, y, *, m: _bce_value(ops.sigmoid.forward(z), y, m),
                   lambda g, out, z, y, *, m: g * (ops.sigmoid.of(z) - y) / m,
                   lambda g, out, z, y, *, m: -g * z / m,
                   scalar=False, defaults={"m": REQUIRED})


def logistic_cost(outputs: Any, targets: Any, weights: Iterable[Value] = (), lam: float = 0.0) -> Value:
    """Ng's regularized cross-entropy of a sigmoid network.

    J = -(1/m) Σᵢ Σₖ [yₖ⁽ⁱ⁾ log hₖ⁽ⁱ⁾ + (1 - yₖ⁽ⁱ⁾) log(1 - hₖ⁽ⁱ⁾)] + λ/(2m) Σ w²

    `outputs` h are probabilities in (0, 1), shape (m, K), or (m,) or (m, 1) for one unit:
    binary cross-entropy, with targets of shape (m,) or (m, 1), 0/1 labels or probabilities.
    For K > 1 units, targets are integer labels 0..K-1 or rows (m, K). `weights` are the
    parameters to penalise, usually ``model.weights()`` (biases are not regularized).

    The value depends on h alone, the same with or without a graph: each log is kept at or
    above -100, as PyTorch's BCELoss does, so a unit saturated to exactly 0 or 1 against its
    target costs 100, not infinity. When h was computed by the sigmoid op, the gradient is
    taken from its input z in the exact and stable forms log h = -softplus(-z),
    log(1 - h) = -softplus(z): dJ/dz = (h - y) / m stays right for saturated units, where the
    gradient through h would vanish.
    """
    who = "logistic_cost"
    h = constant(outputs, who)
    m, k = _rows(h, who)
    _in_unit_interval(h.data, who, "outputs", "probabilities, as a sigmoid gives")
    y = _binary_targets(targets, h, who) if k == 1 else _class_targets(targets, h, who)
    if h._fn is ops.sigmoid and h.requires_grad:
        cost = _sigmoid_cost(h._prev[0], y, m=m)
    else:
        cost = -(y * _log(h) + (1 - y) * _log(1 - h)).sum() / m
    weights = list(weights)
    if lam and weights:
        cost = cost + (lam / (2 * m)) * sum_of_squares(weights)
    return cost


def _log(p: Value) -> Value:
    """`_floored_log` with ops, for a graph through p."""
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
    with log-softmax. `labels` are integers 0..K-1 or rows (m, K) in [0, 1] (one-hot or
    probabilities, which may require a gradient)."""
    z = constant(logits, "cross_entropy")
    if z.ndim != 2:
        raise ShapeError(f"cross_entropy: logits must have shape (m, K); got {z.shape}")
    return ops.softmax_cross_entropy(z, _class_targets(labels, z, "cross_entropy"))


def binary_cross_entropy_with_logits(logits: Any, targets: Any) -> Value:
    """Mean of softplus(z) - y·z: the cross-entropy of sigmoid(z) against y in [0, 1], stable
    for any z. Same shape for logits and targets."""
    who = "binary_cross_entropy_with_logits"
    z = constant(logits, who)
    y = _targets_like(targets, z, who)
    _in_unit_interval(y.data, who, "targets")
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
    _discrete(targets, "hinge", "-1/+1 labels")
    bad = np.abs(np.asarray(y.data)) != 1
    if bad.any():
        raise DomainError(f"hinge: targets must be -1 or +1; got {np.asarray(y.data)[bad].flat[0]:g}")
    return (1 - y * s).relu().mean()
