"""Loss functions with ``torch.nn.functional``'s names, signatures and semantics.

Every loss takes ``reduction='mean' | 'sum' | 'none'`` ('none' keeps one loss per element, or per
position for the class losses), inputs as Values or arrays, and is built from ops, so it has
derivatives of any order, with respect to the input and also to a target or weight given as a
Value (torch has those only for some of them: we have them everywhere).

Class losses (`cross_entropy`, `nll_loss`) take the classes on axis 1 of an (N, C, d1, ...) input,
or on axis 0 of a (C,) one, and targets of class indices (shape (N, d1, ...) or (); integer
arrays, lists, or Values holding whole numbers) or, for `cross_entropy`, class probabilities of
the input's own shape. Which one is told apart by shape alone, so integer one-hot rows count as
probabilities (torch would want them as floats).

Where we differ from torch: a 'mean' over nothing (every target ignored, an empty batch) raises
DomainError instead of returning nan; the elementwise losses require the target to have the
input's shape instead of broadcasting it with a warning; `kl_div` rejects negative targets
instead of giving nan.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ... import ops
from ...engine import Value, constant
from ...errors import DomainError, InvalidIndexError, ShapeError
from ...losses import _log

__all__ = ["cross_entropy", "nll_loss", "mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss",
           "binary_cross_entropy", "binary_cross_entropy_with_logits", "kl_div",
           "soft_margin_loss"]

REDUCTIONS = ("mean", "sum", "none")


# ---- shared checks -------------------------------------------------------------------------------
def check_reduction(reduction: str, who: str, allowed: tuple = REDUCTIONS) -> None:
    """Reject a reduction other than those `allowed`, naming them."""
    if reduction not in allowed:
        raise ValueError(f"{who}: {reduction!r} is not a valid value for reduction; expected one "
                         f"of {', '.join(repr(r) for r in allowed)}")


def _reduce(loss: Value, reduction: str) -> Value:
    """The per-element loss as it is ('none'), summed or averaged over every element."""
    if reduction == "none":
        return loss
    return loss.sum() if reduction == "sum" else loss.mean()


def _divide(total: Value, count: Any, who: str) -> Value:
    """A 'mean': `total` over `count` (a number, or a Value for weights that need gradients)."""
    if float(count.data if isinstance(count, Value) else count) == 0.0:
        raise DomainError(f"{who}: reduction='mean' over no targets (all ignored, zero weight, "
                          "or an empty batch) is 0/0 (torch returns nan); use reduction='sum'")
    return total / count


def _like(target: Any, x: Value, who: str, name: str = "target") -> Any:
    """A target (or weight) of exactly x's shape: a Value as it is (so that it gets a gradient),
    anything else as an array in x's dtype (a float32 model's loss stays float32)."""
    y = target if isinstance(target, Value) else np.asarray(target, dtype=x.dtype)
    if y.shape != x.shape:
        raise ShapeError(f"{who}: {name} of shape {y.shape} does not match the input of shape "
                         f"{x.shape}; give them the same shape")
    return y


def _broadcastable(weight: Any, x: Value, who: str, name: str) -> Any:
    """A weight that broadcasts to x's shape (without changing it), as a Value or an array."""
    w = weight if isinstance(weight, Value) else np.asarray(weight, dtype=x.dtype)
    try:
        fits = np.broadcast_shapes(w.shape, x.shape) == x.shape
    except ValueError:
        fits = False
    if not fits:
        raise ShapeError(f"{who}: {name} of shape {w.shape} does not broadcast to the input's "
                         f"shape {x.shape}")
    return w


# ---- class losses --------------------------------------------------------------------------------
def _class_input(input: Any, who: str) -> tuple:
    """The input as a Value with its classes on the last axis (a view for (N, C, d1, ...)), and C."""
    x = constant(input, who)
    if x.ndim == 0:
        raise ShapeError(f"{who}: the input must have shape (C,), (N, C) or (N, C, d1, ...); got a "
                         "scalar")
    if x.ndim == 1:
        return x, x, x.shape[0]
    z = x if x.ndim == 2 else ops.moveaxis(x, 1, -1)
    return x, z, x.shape[1]


def _class_weight(weight: Any, c: int, x: Value, who: str) -> Any:
    """None, or a weight per class of shape (C,), as a Value or an array in x's dtype."""
    if weight is None:
        return None
    w = weight if isinstance(weight, Value) else np.asarray(weight, dtype=x.dtype)
    if w.shape != (c,):
        raise ShapeError(f"{who}: weight must have one entry per class, shape ({c},); got "
                         f"{w.shape}")
    return w


def _index_targets(target: Any, x: Value, c: int, ignore_index: int, who: str) -> tuple:
    """Class indices as one-hot rows (classes last, zero rows where ignored), the mask of the
    positions that count and their indices. The indices must be whole numbers in 0..C-1 or
    `ignore_index`."""
    y = np.asarray(target.data if isinstance(target, Value) else target)
    expected = x.shape[:1] + x.shape[2:] if x.ndim >= 2 else ()
    if y.shape != expected:
        raise ShapeError(f"{who}: target must be class indices of shape {expected} or class "
                         f"probabilities of shape {x.shape} for an input of shape {x.shape}; got "
                         f"{y.shape}")
    if y.dtype.kind not in "iu":
        if y.dtype.kind != "f" or not np.all(np.mod(y, 1) == 0):
            raise ValueError(f"{who}: class indices must be whole numbers; got dtype {y.dtype}"
                             + (f" holding {y[np.mod(y, 1) != 0].flat[0]}" if y.dtype.kind == "f"
                                else ""))
        y = y.astype(np.int64)
    valid = y != ignore_index
    bad = valid & ((y < 0) | (y >= c))
    if bad.any():
        at = tuple(int(k) for k in np.argwhere(bad)[0])
        raise InvalidIndexError(f"{who}: target {y[at]} at index {at} is out of bounds for {c} "
                                f"classes (expected 0..{c - 1}, or ignore_index={ignore_index})")
    hot = np.zeros(y.shape + (c,), dtype=x.dtype)
    hot.reshape(valid.size, c)[np.flatnonzero(valid), y[valid]] = 1.0
    return hot, valid, y[valid]


def _total_weight(picks: Any, counted: np.ndarray, w: Any) -> Any:
    """The denominator of a 'mean' over class indices: Σ weight[t] over the targets `counted`
    (their number without weights), a Value only for weights that need gradients."""
    if w is None:
        return float(counted.size)
    return picks.sum() if isinstance(w, Value) else float(w[counted].sum())


def nll_loss(input: Any, target: Any, weight: Any = None, ignore_index: int = -100,
             reduction: str = "mean") -> Value:
    """The negative log-likelihood of class indices under log-probabilities `input`, as
    ``torch.nn.functional.nll_loss``: -weight[t]·input[n, t] per position; 'mean' divides the sum
    by the total weight of the targets that count (those other than `ignore_index`)."""
    who = "nll_loss"
    check_reduction(reduction, who)
    x, z, c = _class_input(input, who)
    w = _class_weight(weight, c, x, who)
    hot, _, counted = _index_targets(target, x, c, ignore_index, who)
    picks = hot if w is None else hot * w
    loss = -(z * picks)
    if reduction == "none":
        return loss.sum(axis=-1)
    total = loss.sum()
    return total if reduction == "sum" else _divide(total, _total_weight(picks, counted, w), who)


def cross_entropy(input: Any, target: Any, weight: Any = None, ignore_index: int = -100,
                  reduction: str = "mean", label_smoothing: float = 0.0) -> Value:
    """Softmax cross-entropy of logits `input` against class indices or class probabilities, as
    ``torch.nn.functional.cross_entropy``.

    With label smoothing ε the target becomes (1 - ε)·target + ε/C over the classes. For class
    indices with `weight`, 'mean' divides both parts by the total weight of the targets that
    count, as torch does: (1 - ε)·nll_loss + ε/C · Σ_positions Σ_c -w_c log p_c / Σ w[t]. For
    probabilities, 'mean' divides by the number of positions (N·d1·...), whatever the weights.
    'mean' and 'sum' run as one fused node (`ops.softmax_cross_entropy`).
    """
    who = "cross_entropy"
    check_reduction(reduction, who)
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"{who}: label_smoothing must be between 0.0 and 1.0; got "
                         f"{label_smoothing}")
    x, z, c = _class_input(input, who)
    w = _class_weight(weight, c, x, who)
    positions = x.size // c if c else 0
    target_shape = target.shape if isinstance(target, Value) else np.shape(target)
    if tuple(target_shape) == x.shape:  # class probabilities
        y = _like(target, x, who)
        if x.ndim > 2:
            y = ops.moveaxis(y, 1, -1) if isinstance(y, Value) else np.moveaxis(y, 1, -1)
        if label_smoothing:
            y = y * (1.0 - label_smoothing) + label_smoothing / c
        y = y if w is None else y * w
        count: Any = positions
    else:
        hot, valid, counted = _index_targets(target, x, c, ignore_index, who)
        picks = hot if w is None else hot * w
        y = picks
        if label_smoothing:
            spread = valid[..., None].astype(x.dtype)
            y = picks * (1.0 - label_smoothing) + \
                (spread if w is None else spread * w) * (label_smoothing / c)
        count = _total_weight(picks, counted, w)
    if reduction == "none":
        return -(y * ops.log_softmax(z)).sum(axis=-1)
    total = ops.softmax_cross_entropy(z, y) * float(positions) if positions else z.sum()
    return total if reduction == "sum" else _divide(total, count, who)


# ---- regression losses ---------------------------------------------------------------------------
def mse_loss(input: Any, target: Any, reduction: str = "mean") -> Value:
    """(input - target)² per element, as ``torch.nn.functional.mse_loss``."""
    check_reduction(reduction, "mse_loss")
    x = constant(input, "mse_loss")
    d = x - _like(target, x, "mse_loss")
    return _reduce(d * d, reduction)


def l1_loss(input: Any, target: Any, reduction: str = "mean") -> Value:
    """|input - target| per element, as ``torch.nn.functional.l1_loss`` (slope 0 at a tie)."""
    check_reduction(reduction, "l1_loss")
    x = constant(input, "l1_loss")
    return _reduce(ops.abs(x - _like(target, x, "l1_loss")), reduction)


def _quadratic_near_zero(d: Value, width: float) -> Value:
    """½d²/width where |d| < width, |d| - ½width beyond: smooth L1, continuous with its slope."""
    a = ops.abs(d)
    return ops.where(a.data < width, d * d * (0.5 / width), a - 0.5 * width)


def smooth_l1_loss(input: Any, target: Any, reduction: str = "mean", beta: float = 1.0) -> Value:
    """Smooth L1, as ``torch.nn.functional.smooth_l1_loss``: ½d²/β for |d| < β, else |d| - ½β
    (d = input - target); β = 0 is the L1 loss."""
    who = "smooth_l1_loss"
    check_reduction(reduction, who)
    if beta < 0:
        raise ValueError(f"{who}: beta must be non-negative; got {beta}")
    x = constant(input, who)
    d = x - _like(target, x, who)
    return _reduce(ops.abs(d) if beta == 0 else _quadratic_near_zero(d, beta), reduction)


def huber_loss(input: Any, target: Any, reduction: str = "mean", delta: float = 1.0) -> Value:
    """Huber loss, as ``torch.nn.functional.huber_loss``: ½d² for |d| < δ, else δ(|d| - ½δ);
    δ times the smooth L1 loss with β = δ."""
    who = "huber_loss"
    check_reduction(reduction, who)
    if not delta > 0:
        raise ValueError(f"{who}: delta must be positive; got {delta}")
    x = constant(input, who)
    d = x - _like(target, x, who)
    return _reduce(_quadratic_near_zero(d, delta) * delta, reduction)


# ---- binary and distribution losses --------------------------------------------------------------
def binary_cross_entropy(input: Any, target: Any, weight: Any = None,
                         reduction: str = "mean") -> Value:
    """-weight·[y log p + (1 - y) log(1 - p)] for probabilities p = `input` in [0, 1], as
    ``torch.nn.functional.binary_cross_entropy``: each log is kept at or above -100 (torch's
    floor), so a saturated wrong unit costs 100, not infinity. `weight` broadcasts to the input.
    Prefer `binary_cross_entropy_with_logits`, which takes the logits and is stable."""
    who = "binary_cross_entropy"
    check_reduction(reduction, who)
    p = constant(input, who)
    y = _like(target, p, who)
    if not np.all((p.data >= 0) & (p.data <= 1)):
        raise DomainError(f"{who}: every element of the input must be a probability in [0, 1]; "
                          f"got values from {np.min(p.data)} to {np.max(p.data)}")
    loss = -(y * _log(p) + (1 - y) * _log(1 - p))
    return _reduce(loss if weight is None else loss * _broadcastable(weight, p, who, "weight"),
                   reduction)


def binary_cross_entropy_with_logits(input: Any, target: Any, weight: Any = None,
                                     reduction: str = "mean", pos_weight: Any = None) -> Value:
    """The binary cross-entropy of sigmoid(z) against y for logits z = `input`, as
    ``torch.nn.functional.binary_cross_entropy_with_logits``, stable for any z:
    weight·[pos_weight·y·softplus(-z) + (1 - y)·softplus(z)]. `pos_weight` (one per class, on the
    last axis) and `weight` broadcast to the input."""
    who = "binary_cross_entropy_with_logits"
    check_reduction(reduction, who)
    z = constant(input, who)
    y = _like(target, z, who)
    if pos_weight is None:
        loss = ops.softplus(z) - y * z  # = y·softplus(-z) + (1 - y)·softplus(z)
    else:
        pw = _broadcastable(pos_weight, z, who, "pos_weight")
        loss = pw * y * ops.softplus(-z) + (1 - y) * ops.softplus(z)
    return _reduce(loss if weight is None else loss * _broadcastable(weight, z, who, "weight"),
                   reduction)


def kl_div(input: Any, target: Any, reduction: str = "mean", log_target: bool = False) -> Value:
    """The Kullback-Leibler divergence of `target` from log-probabilities `input`, pointwise
    target·(log target - input) (0 where target is 0), as ``torch.nn.functional.kl_div``; with
    ``log_target=True`` the target is given as log-probabilities too. ``reduction='batchmean'``
    (the true KL divergence per example) divides the sum by the batch size input.shape[0];
    'mean' averages over every element, as torch does (it warns that this is not the KL)."""
    who = "kl_div"
    check_reduction(reduction, who, REDUCTIONS + ("batchmean",))
    x = constant(input, who)
    t = _like(target, x, who)
    if log_target:
        loss = ops.exp(t) * (t - x)
    else:
        data = t.data if isinstance(t, Value) else t
        if np.any(data < 0):
            raise DomainError(f"{who}: target probabilities must be non-negative (or pass "
                              f"log_target=True for log-probabilities); got {np.min(data)}")
        loss = t * (ops.log(ops.where(data == 0, 1.0, t)) - x)
    if reduction != "batchmean":
        return _reduce(loss, reduction)
    return loss.sum() / x.shape[0] if x.ndim else loss.sum()


def soft_margin_loss(input: Any, target: Any, reduction: str = "mean") -> Value:
    """log(1 + exp(-y·x)) for labels y in {-1, +1}, as ``torch.nn.functional.soft_margin_loss``
    (a smooth hinge), computed stably as softplus(-y·x)."""
    check_reduction(reduction, "soft_margin_loss")
    x = constant(input, "soft_margin_loss")
    return _reduce(ops.softplus(-(_like(target, x, "soft_margin_loss") * x)), reduction)
