"""Distance modules, as ``torch.nn``'s: `CosineSimilarity` and `PairwiseDistance`, each keeping
its settings and calling its function of `tinygrad_nn.nn.functional`; no parameters, and torch's
repr (which shows no settings)."""

from __future__ import annotations

from typing import Any

from ..engine import Value
from .functional.distance import cosine_similarity, pairwise_distance
from .module import Module

__all__ = ["CosineSimilarity", "PairwiseDistance"]


class _Distance(Module):
    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class CosineSimilarity(_Distance):
    """torch.nn.CosineSimilarity: `F.cosine_similarity(x1, x2, dim, eps)`."""

    def __init__(self, dim: int = 1, eps: float = 1e-8):
        self.dim, self.eps = int(dim), float(eps)

    def forward(self, x1: Any, x2: Any) -> Value:
        return cosine_similarity(x1, x2, self.dim, self.eps)


class PairwiseDistance(_Distance):
    """torch.nn.PairwiseDistance: `F.pairwise_distance(x1, x2, p, eps, keepdim)`, the distance
    along the last axis."""

    def __init__(self, p: float = 2.0, eps: float = 1e-6, keepdim: bool = False):
        self.norm, self.eps, self.keepdim = float(p), float(eps), bool(keepdim)

    def forward(self, x1: Any, x2: Any) -> Value:
        return pairwise_distance(x1, x2, self.norm, self.eps, self.keepdim)
