"""`Embedding`, as ``torch.nn.Embedding``: a trainable table of vectors looked up by index."""

from __future__ import annotations

from typing import Any, Optional

import numpy as np

from ..engine import Value, as_data
from ..errors import ShapeError, UnsupportedTypeError
from ..random import Seed, generator
from . import functional as F
from .functional.sparse import _padding_row
from .module import Module

__all__ = ["Embedding"]


class Embedding(Module):
    """Row i of `weight` (num_embeddings, embedding_dim) for each index i of the input (see
    `F.embedding`). `weight` starts N(0, 1), as torch's, with the row `padding_idx` (if given)
    zero; that row never gets a gradient. `seed` (int, Generator, or None for the thread's
    default) makes the draw reproducible; `dtype` float32 or float64 (the default)."""

    def __init__(self, num_embeddings: int, embedding_dim: int, padding_idx: Optional[int] = None,
                 max_norm: Optional[float] = None, norm_type: float = 2.0,
                 scale_grad_by_freq: bool = False, sparse: bool = False, *,
                 dtype: Any = np.float64, seed: Seed = None):
        rng = generator(seed, "Embedding")
        weight = rng.standard_normal((num_embeddings, embedding_dim)).astype(dtype)
        self._configure(weight, padding_idx, max_norm, norm_type, scale_grad_by_freq, sparse)
        if self.padding_idx is not None:
            self.weight.data[self.padding_idx] = 0

    def _configure(self, weight: np.ndarray, padding_idx: Optional[int],
                   max_norm: Optional[float], norm_type: float, scale_grad_by_freq: bool,
                   sparse: bool, requires_grad: bool = True) -> None:
        if scale_grad_by_freq:
            raise UnsupportedTypeError("Embedding: scale_grad_by_freq=True is not supported")
        self.num_embeddings, self.embedding_dim = weight.shape
        self.padding_idx = _padding_row(padding_idx, self.num_embeddings, "Embedding")
        self.max_norm, self.norm_type = max_norm, norm_type
        self.scale_grad_by_freq, self.sparse = scale_grad_by_freq, sparse
        self.weight = Value(weight, label="weight", requires_grad=requires_grad)

    @classmethod
    def from_pretrained(cls, embeddings: Any, freeze: bool = True,
                        padding_idx: Optional[int] = None, max_norm: Optional[float] = None,
                        norm_type: float = 2.0, scale_grad_by_freq: bool = False,
                        sparse: bool = False) -> "Embedding":
        """An Embedding whose weight is a copy of `embeddings` (2-D; its dtype kept), frozen
        (no gradient, left out of parameters() but kept in state_dict) unless freeze=False.
        The padding row is used as given, not zeroed (as torch)."""
        weight = as_data(embeddings, "Embedding.from_pretrained", copy=True)
        if np.ndim(weight) != 2:
            raise ShapeError(f"Embedding.from_pretrained: embeddings must be 2-D "
                             f"(num_embeddings, embedding_dim); got shape {np.shape(weight)}")
        module = cls.__new__(cls)
        module._configure(weight, padding_idx, max_norm, norm_type, scale_grad_by_freq, sparse,
                          requires_grad=not freeze)
        return module

    def forward(self, input: Any) -> Value:
        return F.embedding(input, self.weight, self.padding_idx, self.max_norm, self.norm_type,
                           self.scale_grad_by_freq, self.sparse)

    def __repr__(self) -> str:
        extra = "".join(f", {name}={value}" for name, value in (
            ("padding_idx", self.padding_idx), ("max_norm", self.max_norm)) if value is not None)
        return f"Embedding({self.num_embeddings}, {self.embedding_dim}{extra})"
