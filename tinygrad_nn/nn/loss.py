"""Loss modules, as ``torch.nn``'s: each keeps its settings from the constructor (torch's
arguments, in torch's order) and calls its function of `tinygrad_nn.nn.functional` in
``forward(input, target)``. A class weight (and BCEWithLogitsLoss's pos_weight) is a buffer, so
state_dict() has torch's keys. The deprecated `size_average` and `reduce` arguments are taken as
torch takes them: either one, when given, decides the reduction."""

from __future__ import annotations

import warnings
from typing import Any, Optional

import numpy as np

from ..engine import Value
from .functional import loss as F
from .module import Module

__all__ = ["CrossEntropyLoss", "NLLLoss", "MSELoss", "L1Loss", "SmoothL1Loss", "HuberLoss",
           "BCELoss", "BCEWithLogitsLoss", "KLDivLoss", "SoftMarginLoss", "MarginRankingLoss",
           "HingeEmbeddingLoss", "CosineEmbeddingLoss", "TripletMarginLoss", "PoissonNLLLoss",
           "GaussianNLLLoss", "MultiLabelSoftMarginLoss", "MultiMarginLoss"]


def _reduction(size_average: Optional[bool], reduce: Optional[bool], reduction: str,
               who: str) -> str:
    """torch's reading of the legacy arguments: reduce=False gives 'none', otherwise
    size_average=False gives 'sum' and True 'mean' (each defaulting to True); when neither is
    given, `reduction` as it is (checked)."""
    if size_average is None and reduce is None:
        F.check_reduction(reduction, who, F.REDUCTIONS + (("batchmean",) if who == "KLDivLoss"
                                                          else ()))
        return reduction
    warnings.warn(f"{who}: size_average and reduce are deprecated; use reduction='mean', 'sum' "
                  "or 'none' instead", DeprecationWarning, stacklevel=3)
    if reduce is False:
        return "none"
    return "sum" if size_average is False else "mean"


def _buffer(array: Any) -> Optional[np.ndarray]:
    """A weight given to a constructor, as the float array it is kept as (None stays None)."""
    if array is None:
        return None
    data = array.data if isinstance(array, Value) else array
    data = np.asarray(data)
    return data if data.dtype.kind == "f" else data.astype(np.float64)


class _Loss(Module):
    """What the loss modules share: the reduction, and a repr that names it."""

    reduction: str

    def __repr__(self) -> str:
        return f"{type(self).__name__}(reduction={self.reduction!r})"


class _WeightedLoss(_Loss):
    """A loss with an optional weight (per class, or broadcasting to the input), kept as a buffer."""

    weight: Optional[np.ndarray]

    def __init__(self, weight: Any, size_average: Optional[bool], reduce: Optional[bool],
                 reduction: str):
        self.reduction = _reduction(size_average, reduce, reduction, type(self).__name__)
        self.register_buffer("weight", _buffer(weight))


class CrossEntropyLoss(_WeightedLoss):
    """`F.cross_entropy` of logits (N, C, ...) against class indices or probabilities, as
    ``torch.nn.CrossEntropyLoss``."""

    def __init__(self, weight: Any = None, size_average: Optional[bool] = None,
                 ignore_index: int = -100, reduce: Optional[bool] = None,
                 reduction: str = "mean", label_smoothing: float = 0.0):
        super().__init__(weight, size_average, reduce, reduction)
        self.ignore_index, self.label_smoothing = int(ignore_index), float(label_smoothing)

    def forward(self, input: Any, target: Any) -> Value:
        return F.cross_entropy(input, target, weight=self.weight, ignore_index=self.ignore_index,
                               reduction=self.reduction, label_smoothing=self.label_smoothing)


class NLLLoss(_WeightedLoss):
    """`F.nll_loss` of log-probabilities against class indices, as ``torch.nn.NLLLoss``."""

    def __init__(self, weight: Any = None, size_average: Optional[bool] = None,
                 ignore_index: int = -100, reduce: Optional[bool] = None,
                 reduction: str = "mean"):
        super().__init__(weight, size_average, reduce, reduction)
        self.ignore_index = int(ignore_index)

    def forward(self, input: Any, target: Any) -> Value:
        return F.nll_loss(input, target, weight=self.weight, ignore_index=self.ignore_index,
                          reduction=self.reduction)


class BCELoss(_WeightedLoss):
    """`F.binary_cross_entropy` of probabilities, as ``torch.nn.BCELoss``."""

    def __init__(self, weight: Any = None, size_average: Optional[bool] = None,
                 reduce: Optional[bool] = None, reduction: str = "mean"):
        super().__init__(weight, size_average, reduce, reduction)

    def forward(self, input: Any, target: Any) -> Value:
        return F.binary_cross_entropy(input, target, weight=self.weight, reduction=self.reduction)


class BCEWithLogitsLoss(_WeightedLoss):
    """`F.binary_cross_entropy_with_logits`, as ``torch.nn.BCEWithLogitsLoss``; `pos_weight` is
    a buffer too."""

    pos_weight: Optional[np.ndarray]

    def __init__(self, weight: Any = None, size_average: Optional[bool] = None,
                 reduce: Optional[bool] = None, reduction: str = "mean", pos_weight: Any = None):
        super().__init__(weight, size_average, reduce, reduction)
        self.register_buffer("pos_weight", _buffer(pos_weight))

    def forward(self, input: Any, target: Any) -> Value:
        return F.binary_cross_entropy_with_logits(input, target, weight=self.weight,
                                                  reduction=self.reduction,
                                                  pos_weight=self.pos_weight)


class MSELoss(_Loss):
    """`F.mse_loss`, as ``torch.nn.MSELoss``."""

    def __init__(self, size_average: Optional[bool] = None, reduce: Optional[bool] = None,
                 reduction: str = "mean"):
        self.reduction = _reduction(size_average, reduce, reduction, "MSELoss")

    def forward(self, input: Any, target: Any) -> Value:
        return F.mse_loss(input, target, reduction=self.reduction)


class L1Loss(_Loss):
    """`F.l1_loss`, as ``torch.nn.L1Loss``."""

    def __init__(self, size_average: Optional[bool] = None, reduce: Optional[bool] = None,
                 reduction: str = "mean"):
        self.reduction = _reduction(size_average, reduce, reduction, "L1Loss")

    def forward(self, input: Any, target: Any) -> Value:
        return F.l1_loss(input, target, reduction=self.reduction)


class SmoothL1Loss(_Loss):
    """`F.smooth_l1_loss`, as ``torch.nn.SmoothL1Loss``."""

    def __init__(self, size_average: Optional[bool] = None, reduce: Optional[bool] = None,
                 reduction: str = "mean", beta: float = 1.0):
        self.reduction = _reduction(size_average, reduce, reduction, "SmoothL1Loss")
        self.beta = float(beta)

    def forward(self, input: Any, target: Any) -> Value:
        return F.smooth_l1_loss(input, target, reduction=self.reduction, beta=self.beta)


class HuberLoss(_Loss):
    """`F.huber_loss`, as ``torch.nn.HuberLoss`` (which has no legacy arguments)."""

    def __init__(self, reduction: str = "mean", delta: float = 1.0):
        self.reduction = _reduction(None, None, reduction, "HuberLoss")
        self.delta = float(delta)

    def forward(self, input: Any, target: Any) -> Value:
        return F.huber_loss(input, target, reduction=self.reduction, delta=self.delta)


class KLDivLoss(_Loss):
    """`F.kl_div` of log-probabilities, as ``torch.nn.KLDivLoss`` ('batchmean' allowed)."""

    def __init__(self, size_average: Optional[bool] = None, reduce: Optional[bool] = None,
                 reduction: str = "mean", log_target: bool = False):
        self.reduction = _reduction(size_average, reduce, reduction, "KLDivLoss")
        self.log_target = bool(log_target)

    def forward(self, input: Any, target: Any) -> Value:
        return F.kl_div(input, target, reduction=self.reduction, log_target=self.log_target)


class SoftMarginLoss(_Loss):
    """`F.soft_margin_loss`, as ``torch.nn.SoftMarginLoss``."""

    def __init__(self, size_average: Optional[bool] = None, reduce: Optional[bool] = None,
                 reduction: str = "mean"):
        self.reduction = _reduction(size_average, reduce, reduction, "SoftMarginLoss")

    def forward(self, input: Any, target: Any) -> Value:
        return F.soft_margin_loss(input, target, reduction=self.reduction)



class MarginRankingLoss(_Loss):
    """`F.margin_ranking_loss`, as ``torch.nn.MarginRankingLoss``; forward(input1, input2,
    target)."""

    def __init__(self, margin: float = 0.0, size_average: Optional[bool] = None,
                 reduce: Optional[bool] = None, reduction: str = "mean"):
        self.reduction = _reduction(size_average, reduce, reduction, "MarginRankingLoss")
        self.margin = float(margin)

    def forward(self, input1: Any, input2: Any, target: Any) -> Value:
        return F.margin_ranking_loss(input1, input2, target, self.margin,
                                     reduction=self.reduction)


class HingeEmbeddingLoss(_Loss):
    """`F.hinge_embedding_loss`, as ``torch.nn.HingeEmbeddingLoss``."""

    def __init__(self, margin: float = 1.0, size_average: Optional[bool] = None,
                 reduce: Optional[bool] = None, reduction: str = "mean"):
        self.reduction = _reduction(size_average, reduce, reduction, "HingeEmbeddingLoss")
        self.margin = float(margin)

    def forward(self, input: Any, target: Any) -> Value:
        return F.hinge_embedding_loss(input, target, self.margin, reduction=self.reduction)


class CosineEmbeddingLoss(_Loss):
    """`F.cosine_embedding_loss`, as ``torch.nn.CosineEmbeddingLoss``; forward(input1, input2,
    target)."""

    def __init__(self, margin: float = 0.0, size_average: Optional[bool] = None,
                 reduce: Optional[bool] = None, reduction: str = "mean"):
        self.reduction = _reduction(size_average, reduce, reduction, "CosineEmbeddingLoss")
        self.margin = float(margin)

    def forward(self, input1: Any, input2: Any, target: Any) -> Value:
        return F.cosine_embedding_loss(input1, input2, target, self.margin,
                                       reduction=self.reduction)


class TripletMarginLoss(_Loss):
    """`F.triplet_margin_loss`, as ``torch.nn.TripletMarginLoss``; forward(anchor, positive,
    negative)."""

    def __init__(self, margin: float = 1.0, p: float = 2.0, eps: float = 1e-6, swap: bool = False,
                 size_average: Optional[bool] = None, reduce: Optional[bool] = None,
                 reduction: str = "mean"):
        self.reduction = _reduction(size_average, reduce, reduction, "TripletMarginLoss")
        if not margin > 0:
            raise ValueError(f"TripletMarginLoss: margin must be greater than 0; got {margin}")
        self.margin, self.p, self.eps, self.swap = float(margin), float(p), float(eps), bool(swap)

    def forward(self, anchor: Any, positive: Any, negative: Any) -> Value:
        return F.triplet_margin_loss(anchor, positive, negative, self.margin, self.p, self.eps,
                                     self.swap, reduction=self.reduction)


class PoissonNLLLoss(_Loss):
    """`F.poisson_nll_loss`, as ``torch.nn.PoissonNLLLoss`` (torch's argument order, eps after
    size_average)."""

    def __init__(self, log_input: bool = True, full: bool = False,
                 size_average: Optional[bool] = None, eps: float = 1e-8,
                 reduce: Optional[bool] = None, reduction: str = "mean"):
        self.reduction = _reduction(size_average, reduce, reduction, "PoissonNLLLoss")
        self.log_input, self.full, self.eps = bool(log_input), bool(full), float(eps)

    def forward(self, log_input: Any, target: Any) -> Value:
        return F.poisson_nll_loss(log_input, target, self.log_input, self.full, self.eps,
                                  reduction=self.reduction)


class GaussianNLLLoss(_Loss):
    """`F.gaussian_nll_loss`, as ``torch.nn.GaussianNLLLoss`` (keyword arguments only, as in
    torch); forward(input, target, var)."""

    def __init__(self, *, full: bool = False, eps: float = 1e-6, reduction: str = "mean"):
        self.reduction = _reduction(None, None, reduction, "GaussianNLLLoss")
        self.full, self.eps = bool(full), float(eps)

    def forward(self, input: Any, target: Any, var: Any) -> Value:
        return F.gaussian_nll_loss(input, target, var, self.full, self.eps,
                                   reduction=self.reduction)


class MultiLabelSoftMarginLoss(_WeightedLoss):
    """`F.multilabel_soft_margin_loss`, as ``torch.nn.MultiLabelSoftMarginLoss`` (the weight a
    buffer)."""

    def __init__(self, weight: Any = None, size_average: Optional[bool] = None,
                 reduce: Optional[bool] = None, reduction: str = "mean"):
        super().__init__(weight, size_average, reduce, reduction)

    def forward(self, input: Any, target: Any) -> Value:
        return F.multilabel_soft_margin_loss(input, target, self.weight, reduction=self.reduction)


class MultiMarginLoss(_WeightedLoss):
    """`F.multi_margin_loss`, as ``torch.nn.MultiMarginLoss`` (p 1 or 2; the class weight a
    buffer)."""

    def __init__(self, p: int = 1, margin: float = 1.0, weight: Any = None,
                 size_average: Optional[bool] = None, reduce: Optional[bool] = None,
                 reduction: str = "mean"):
        if p not in (1, 2):
            raise ValueError(f"MultiMarginLoss: only p == 1 and p == 2 are supported; got {p}")
        super().__init__(weight, size_average, reduce, reduction)
        if self.weight is not None and self.weight.ndim != 1:
            raise ValueError(f"MultiMarginLoss: weight must be None or 1-D (one entry per "
                             f"class); got shape {self.weight.shape}")
        self.p, self.margin = int(p), float(margin)

    def forward(self, input: Any, target: Any) -> Value:
        return F.multi_margin_loss(input, target, self.p, self.margin, self.weight,
                                   reduction=self.reduction)
