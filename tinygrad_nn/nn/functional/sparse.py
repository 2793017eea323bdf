"""Lookups by integer index, as in ``torch.nn.functional``: `embedding` (rows of a weight
matrix, the gradient added back to the rows used) and `one_hot`.

Indices may be numpy integer arrays, lists, or Values holding whole numbers, of any shape.
"""

from __future__ import annotations

from typing import Any, Optional

import numpy as np

from ... import ops
from ...engine import Value, constant, mark_modified
from ...errors import InvalidIndexError, ShapeError, UnsupportedTypeError
from ...ops.indexing import _indices

__all__ = ["embedding", "one_hot"]


def _padding_row(padding_idx: Optional[int], rows: int, who: str) -> Optional[int]:
    """padding_idx as a row number (a negative one counts from the end), checked."""
    if padding_idx is None:
        return None
    if not -rows <= padding_idx < rows:
        raise InvalidIndexError(f"{who}: padding_idx {padding_idx} is out of range for "
                                f"{rows} embeddings")
    return int(padding_idx) % rows


def _renorm(weight: Value, rows: np.ndarray, max_norm: float, norm_type: float) -> None:
    """Rescale, in place and outside the graph, the `rows` of weight whose norm exceeds max_norm
    to norm max_norm (torch's max_norm: the divisor is norm + 1e-7)."""
    norms = np.linalg.norm(weight.data[rows], ord=norm_type, axis=1, keepdims=True)
    over = norms > max_norm
    if over.any():  # only then is the weight changed (and a graph using it out of date)
        scale = np.where(over, max_norm / (norms + 1e-7), 1.0)
        weight.data[rows] *= scale.astype(weight.data.dtype)
        mark_modified(weight)


def embedding(input: Any, weight: Any, padding_idx: Optional[int] = None,
              max_norm: Optional[float] = None, norm_type: float = 2.0,
              scale_grad_by_freq: bool = False, sparse: bool = False) -> Value:
    """The rows of `weight` (num_embeddings, embedding_dim) at the indices `input`: shape
    ``input.shape + (embedding_dim,)``. Repeated indices add up in the weight's gradient; the
    row `padding_idx` gets none (its value is still returned). `max_norm` renormalises the rows
    used, in place in weight's data, as torch does. `sparse` is accepted: the gradient is
    dense either way (the same numbers). `scale_grad_by_freq` is not offered."""
    if scale_grad_by_freq:
        raise UnsupportedTypeError("embedding: scale_grad_by_freq=True is not supported")
    w = constant(weight, "embedding")
    if w.ndim != 2:
        raise ShapeError(f"embedding: weight must be 2-D (num_embeddings, embedding_dim); got "
                         f"shape {w.shape}")
    index = _indices("embedding", input)
    rows = w.shape[0]
    bad = (index < 0) | (index >= rows)
    if bad.any():
        raise InvalidIndexError(f"embedding: index {index[bad].flat[0]} is out of range for "
                                f"{rows} embeddings (indices must lie in [0, {rows}))")
    pad = _padding_row(padding_idx, rows, "embedding")
    if max_norm is not None:
        _renorm(w, np.unique(index), max_norm, norm_type)
    out = w[index]
    if pad is None or not w.requires_grad:
        return out
    return ops.where((index == pad)[..., None], out.detach(), out)


def one_hot(tensor: Any, num_classes: int = -1) -> np.ndarray:
    """An int64 array of shape ``tensor.shape + (num_classes,)``, 1 at each index and 0
    elsewhere, as torch's (which returns an int64 tensor). It is data, not a Value: it has no
    gradient, and mixes into arithmetic with Values as any array does (``Value * one_hot(...)``).
    num_classes=-1 takes one more than the largest index."""
    index = _indices("one_hot", tensor)
    if index.size and index.min() < 0:
        raise InvalidIndexError(f"one_hot: class values must be non-negative; got {index.min()}")
    if num_classes == -1:
        if not index.size:
            raise ShapeError("one_hot: cannot infer the number of classes from an empty input; "
                             "give num_classes")
        num_classes = int(index.max()) + 1
    elif num_classes < 0:
        raise ShapeError(f"one_hot: num_classes must be -1 or at least 0; got {num_classes}")
    elif index.size and index.max() >= num_classes:
        raise InvalidIndexError(f"one_hot: class values must be smaller than num_classes "
                                f"({num_classes}); got {index.max()}")
    return (index[..., None] == np.arange(num_classes)).astype(np.int64)
