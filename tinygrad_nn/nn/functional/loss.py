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
input's shape instead of broadcasting it with a warning (so do `poisson_nll_loss`,
`gaussian_nll_loss` and `multilabel_soft_margin_loss`, which broadcast silently in torch);
`kl_div` rejects negative targets instead of giving nan. The deprecated `size_average` and
`reduce` arguments are not taken (the modules take them); give `reduction` by keyword.
"""

from __future__ import annotations

from typing import Any, Optional

import numpy as np

from ... import ops
from ...engine import Value, constant
from ...errors import DomainError, InvalidIndexError, ShapeError
from ...losses import _log
from .distance import pairwise_distance

__all__ = ["cross_entropy", "nll_loss", "mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss",
           "binary_cross_entropy", "binary_cross_entropy_with_logits", "kl_div",
           "soft_margin_loss", "margin_ranking_loss", "hinge_embedding_loss",
           "cosine_embedding_loss", "triplet_margin_loss", "poisson_nll_loss",
           "gaussian_nll_loss", "multilabel_soft_margin_loss", "multi_margin_loss"]

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


def _index_targets(target: Any, x: Value, c: int, ignore_index: Optional[int], who: str) -> tuple:
    """Class indices as one-hot rows (classes last, zero rows where ignored), the mask of the
    positions that count and their indices. The indices must be whole numbers in 0..C-1 or
    `ignore_index` (None: none is ignored)."""
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
    valid = np.ones(y.shape, bool) if ignore_index is None else y != ignore_index
    bad = valid & ((y < 0) | (y >= c))
    if bad.any():
        at = tuple(int(k) for k in np.argwhere(bad)[0])
        raise InvalidIndexError(f"{who}: target {y[at]} at index {at} is out of bounds for {c} "
                                f"classes (expected 0..{c - 1}"
                                + (")" if ignore_index is None
                                   else f", or ignore_index={ignore_index})"))
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


# ---- ranking and embedding losses ----------------------------------------------------------------
def _operand(a: Any, x: Value) -> Any:
    """A second operand as it is if a Value (so that it gets a gradient), else an array in x's
    dtype."""
    return a if isinstance(a, Value) else np.asarray(a, dtype=x.dtype)


def _fit_together(who: str, names: str, *arrays: Any, rank: bool = True) -> None:
    """torch's check of losses over several inputs: shapes that broadcast together, and (with
    `rank`) of the same number of dimensions."""
    shapes = [tuple(np.shape(a.data if isinstance(a, Value) else a)) for a in arrays]
    if rank and len({len(shape) for shape in shapes}) > 1:
        raise ShapeError(f"{who}: {names} should have the same number of dimensions; got shapes "
                         f"{', '.join(map(str, shapes))}")
    try:
        np.broadcast_shapes(*shapes)
    except ValueError:
        raise ShapeError(f"{who}: the shapes of {names}, {', '.join(map(str, shapes))}, do not "
                         "broadcast together") from None


def _labels(target: Any) -> np.ndarray:
    """The data of a ±1 label target (labels get no gradient: they only select)."""
    return np.asarray(target.data if isinstance(target, Value) else target)


def margin_ranking_loss(input1: Any, input2: Any, target: Any, margin: float = 0.0,
                        reduction: str = "mean") -> Value:
    """max(0, -y·(x1 - x2) + margin) for labels y = ±1 saying which input should rank higher,
    as ``torch.nn.functional.margin_ranking_loss`` (the three of the same rank, broadcast)."""
    who = "margin_ranking_loss"
    check_reduction(reduction, who)
    x1 = constant(input1, who)
    _fit_together(who, "input1, input2 and target", x1, input2, target)
    y = _operand(target, x1)
    return _reduce(ops.clip(-y * (x1 - _operand(input2, x1)) + margin, 0.0, None), reduction)


def hinge_embedding_loss(input: Any, target: Any, margin: float = 1.0,
                         reduction: str = "mean") -> Value:
    """x where y = 1 and max(0, margin - x) where y = -1, for distances x = `input`, as
    ``torch.nn.functional.hinge_embedding_loss`` (a label other than ±1 gets both terms, as in
    torch; the target broadcasts)."""
    who = "hinge_embedding_loss"
    check_reduction(reduction, who)
    x = constant(input, who)
    y = _labels(target)
    _fit_together(who, "input and target", x, y, rank=False)
    return _reduce(ops.where(y != 1, ops.clip(margin - x, 0.0, None), 0.0)
                   + ops.where(y != -1, x, 0.0), reduction)


def cosine_embedding_loss(input1: Any, input2: Any, target: Any, margin: float = 0.0,
                          reduction: str = "mean") -> Value:
    """1 - cos(x1, x2) where y = 1 and max(0, cos(x1, x2) - margin) where y = -1 (0 for other
    labels), as ``torch.nn.functional.cosine_embedding_loss``: rows of (N, D) inputs with a
    target (N,), or (D,) inputs with a scalar target. The cosine is torch's for this loss,
    x1·x2 / sqrt((‖x1‖² + 1e-12)(‖x2‖² + 1e-12)), not `cosine_similarity`'s."""
    who = "cosine_embedding_loss"
    check_reduction(reduction, who)
    x1, x2 = constant(input1, who), constant(input2, who)
    y = _labels(target)
    if y.ndim > 1 or x1.ndim != y.ndim + 1 or x2.ndim != y.ndim + 1:
        raise ShapeError(f"{who}: expected inputs (N, D) with a target (N,), or inputs (D,) with a "
                         f"scalar target; got shapes {x1.shape}, {x2.shape} and {y.shape}")
    _fit_together(who, "input1 and input2", x1, x2)
    axis = y.ndim
    squares = ((x1 * x1).sum(axis=axis) + 1e-12) * ((x2 * x2).sum(axis=axis) + 1e-12)
    cos = (x1 * x2).sum(axis=axis) / ops.sqrt(squares)
    return _reduce(ops.where(y == 1, 1.0 - cos, 0.0)
                   + ops.where(y == -1, ops.clip(cos - margin, 0.0, None), 0.0), reduction)


def triplet_margin_loss(anchor: Any, positive: Any, negative: Any, margin: float = 1.0,
                        p: float = 2.0, eps: float = 1e-6, swap: bool = False,
                        reduction: str = "mean") -> Value:
    """max(0, margin + d(a, p) - d(a, n)) with d = `pairwise_distance` (p-norm, eps), as
    ``torch.nn.functional.triplet_margin_loss``; with `swap`, d(a, n) becomes
    min(d(a, n), d(p, n)) (the harder negative distance)."""
    who = "triplet_margin_loss"
    check_reduction(reduction, who)
    if not margin > 0:
        raise ValueError(f"{who}: margin must be greater than 0; got {margin}")
    a = constant(anchor, who)
    _fit_together(who, "anchor, positive and negative", a, positive, negative)
    closer = pairwise_distance(a, positive, p, eps)
    farther = pairwise_distance(a, negative, p, eps)
    if swap:
        farther = ops.minimum(farther, pairwise_distance(positive, negative, p, eps))
    return _reduce(ops.clip(closer - farther + margin, 0.0, None), reduction)


# ---- likelihood losses ---------------------------------------------------------------------------
def poisson_nll_loss(input: Any, target: Any, log_input: bool = True, full: bool = False,
                     eps: float = 1e-8, reduction: str = "mean") -> Value:
    """The negative log-likelihood of counts `target` under a Poisson distribution, as
    ``torch.nn.functional.poisson_nll_loss``: exp(x) - y·x for a log-rate x (`log_input`), or
    x - y·log(x + eps) for a rate x; `full` adds Stirling's approximation of log(y!),
    y·log y - y + ½log(2πy), where y > 1. (Unlike torch, whose gradient with respect to a
    target 0 is nan with `full`, the target's gradient is finite everywhere.)"""
    who = "poisson_nll_loss"
    check_reduction(reduction, who)
    x = constant(input, who)
    y = _like(target, x, who)
    loss = ops.exp(x) - y * x if log_input else x - y * ops.log(x + eps)
    if full:
        counts = np.asarray(y.data if isinstance(y, Value) else y) > 1
        big = ops.where(counts, y, 2.0)  # a stand-in above 1 where the term is dropped
        stirling = big * ops.log(big) - big + 0.5 * ops.log(2 * np.pi * big)
        loss = loss + ops.where(counts, stirling, 0.0)
    return _reduce(loss, reduction)


def _variance(var: Any, x: Value, who: str) -> Any:
    """gaussian_nll_loss's var by torch's rules: a number, the input's shape, its shape without
    the last axis, or its shape with one axis of size 1; shaped to broadcast against x."""
    if isinstance(var, (int, float, np.floating)) and not isinstance(var, bool):
        v: Any = np.asarray(var, dtype=x.dtype)
    else:
        v = _operand(var, x)
    data = np.asarray(v.data if isinstance(v, Value) else v)
    if np.any(data < 0):
        raise DomainError(f"{who}: var has negative entries (the smallest is {data.min()}); "
                          "variances must be non-negative")
    shape = tuple(data.shape)
    if shape == () or shape == x.shape:
        return v
    if shape == x.shape[:-1]:
        return ops.expand_dims(v, -1) if isinstance(v, Value) else v[..., None]
    if len(shape) == x.ndim and [s for s, t in zip(shape, x.shape) if s != t] == [1]:
        return v
    raise ShapeError(f"{who}: var of shape {shape} does not fit the input of shape {x.shape}; give "
                     "the input's shape, the input's shape without the last axis, or the input's "
                     "shape with one axis of size 1")


def gaussian_nll_loss(input: Any, target: Any, var: Any, full: bool = False, eps: float = 1e-6,
                      reduction: str = "mean") -> Value:
    """The negative log-likelihood of `target` under Gaussians of mean `input` and variance
    `var`, as ``torch.nn.functional.gaussian_nll_loss``: ½(log v + (x - y)²/v), plus ½log 2π
    with `full`, where v is var raised to at least eps. As torch, the clamp moves the value only:
    var's gradient is taken as if it were not clamped (torch clamps under no_grad)."""
    who = "gaussian_nll_loss"
    check_reduction(reduction, who)
    x = constant(input, who)
    y = _like(target, x, who)
    v = _variance(var, x, who)
    data = v.data if isinstance(v, Value) else v
    v = v + (np.maximum(data, eps) - data)
    d = x - y
    loss = (ops.log(v) + d * d / v) * 0.5
    return _reduce(loss + 0.5 * np.log(2 * np.pi) if full else loss, reduction)


# ---- multi-label and multi-class margin losses ---------------------------------------------------
def multilabel_soft_margin_loss(input: Any, target: Any, weight: Any = None,
                                reduction: str = "mean") -> Value:
    """The binary cross-entropy of each class's logit against its 0/1 label, averaged over the
    classes (the last axis), as ``torch.nn.functional.multilabel_soft_margin_loss``: one loss
    per sample before the reduction. `weight` (per class, or broadcasting) scales each term."""
    who = "multilabel_soft_margin_loss"
    check_reduction(reduction, who)
    x = constant(input, who)
    if x.ndim == 0:
        raise ShapeError(f"{who}: the input must have shape (C,) or (N, C); got a scalar")
    w = None if weight is None else _broadcastable(weight, x, who, "weight")
    terms = binary_cross_entropy_with_logits(x, _like(target, x, who), w, reduction="none")
    return _reduce(terms.sum(axis=-1) / x.shape[-1], reduction)


def multi_margin_loss(input: Any, target: Any, p: int = 1, margin: float = 1.0,
                      weight: Any = None, reduction: str = "mean") -> Value:
    """The multi-class hinge loss, as ``torch.nn.functional.multi_margin_loss``: for each
    sample, Σ over the classes i other than its class y of w[y]·max(0, margin - x[y] + x[i])^p,
    divided by the number of classes C; input (N, C) or (C,), target class indices (N,) or ().
    The slope at the hinge's corner is 0, as in torch's kernel."""
    who = "multi_margin_loss"
    check_reduction(reduction, who)
    if p not in (1, 2):
        raise ValueError(f"{who}: only p == 1 and p == 2 are supported; got {p}")
    x = constant(input, who)
    if x.ndim not in (1, 2):
        raise ShapeError(f"{who}: the input must have shape (C,) or (N, C); got {x.shape}")
    c = x.shape[-1]
    w = _class_weight(weight, c, x, who)
    hot, _, _ = _index_targets(target, x, c, None, who)
    own = (x * hot).sum(axis=-1, keepdims=True)
    gaps = ops.relu(x - own + margin) * (1.0 - hot)
    terms = gaps if p == 1 else gaps * gaps
    if w is not None:
        terms = terms * (hot * w).sum(axis=-1, keepdims=True)
    return _reduce(terms.sum(axis=-1) / c, reduction)
