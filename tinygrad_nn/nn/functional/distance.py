"""Distances and similarities between vectors, as ``torch.nn.functional`` has them:
`cosine_similarity`, `pairwise_distance` and `pdist`.

All are built from ops (so every derivative comes with them). Where a norm is 0 its
derivative does not exist; there the gradient through it is taken as 0, torch's choice (the
norm op itself refuses to differentiate at 0), so a repeated row or a zero vector gives
finite gradients as in torch.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ...engine import Value, constant
from ...errors import DomainError, ShapeError
from ...ops import broadcast_to, norm, where

__all__ = ["cosine_similarity", "pairwise_distance", "pdist"]


def _vector_norm(x: Value, p: float, axis: int, keepdims: bool = False) -> Value:
    """The p-norm of x along `axis` (p = 0 counts the nonzero elements: a gradient of 0), with
    a gradient of 0 where the norm is 0 (torch's subgradient) instead of an error."""
    if p == 0:
        count = np.count_nonzero(x.data, axis=axis, keepdims=keepdims).astype(x.dtype)
        return x.sum(axis=axis, keepdims=keepdims) * 0.0 + count
    out = norm(x, ord=p, axis=axis, keepdims=keepdims)
    zero = np.asarray(out.data) == 0
    if not zero.any() or p in (1, math.inf, -math.inf):  # these derivatives exist at 0
        return out
    hole = zero if keepdims else np.expand_dims(zero, axis)
    return where(zero, 0.0, norm(where(hole, 1.0, x), ord=p, axis=axis, keepdims=keepdims))


def _axis(dim: int, ndim: int, who: str) -> int:
    if not -ndim <= dim < ndim:
        raise ShapeError(f"{who}: dim {dim} is out of range for inputs of {ndim} dimensions")
    return dim % ndim


def _together(x1: Any, x2: Any, who: str) -> tuple:
    """Both inputs as Values broadcast to their common shape (an error naming both if none)."""
    a, b = constant(x1, who), constant(x2, who)
    try:
        shape = np.broadcast_shapes(a.shape, b.shape)
    except ValueError:
        raise ShapeError(f"{who}: the inputs' shapes {a.shape} and {b.shape} do not "
                         "broadcast together") from None
    return (a if a.shape == shape else broadcast_to(a, shape),
            b if b.shape == shape else broadcast_to(b, shape))


def cosine_similarity(x1: Any, x2: Any, dim: int = 1, eps: float = 1e-8) -> Value:
    """The cosine of the angle between x1 and x2 along `dim`, as
    ``torch.nn.functional.cosine_similarity`` (torch 2.x): Σ (x1 / max(‖x1‖, eps)) ·
    (x2 / max(‖x2‖, eps)), each norm clamped on its own, the inputs broadcast first.

    As in torch, the clamp shifts the value only: the gradient is that of the unclamped norm
    (torch clamps under no_grad), so a vector shorter than eps still gets the term of its
    norm's derivative."""
    who = "cosine_similarity"
    a, b = _together(x1, x2, who)
    if a.ndim == 0:
        raise ShapeError(f"{who}: the inputs must have at least one dimension; got scalars")
    axis = _axis(dim, a.ndim, who)
    units = []
    for v in (a, b):
        length = _vector_norm(v, 2, axis, keepdims=True)
        units.append(v / (length + (np.maximum(length.data, eps) - length.data)))
    return (units[0] * units[1]).sum(axis=axis)


def pairwise_distance(x1: Any, x2: Any, p: float = 2.0, eps: float = 1e-6,
                      keepdim: bool = False) -> Value:
    """‖x1 - x2 + eps‖_p along the last axis of the broadcast inputs, as
    ``torch.nn.functional.pairwise_distance`` (eps keeps the norm away from 0)."""
    who = "pairwise_distance"
    a, b = constant(x1, who), constant(x2, who)
    if a.ndim == 0 and b.ndim == 0:
        raise ShapeError(f"{who}: the inputs must have at least one dimension; got scalars")
    a, b = _together(a, b, who)
    _check_p(p, who)
    return _vector_norm(a - b + eps, p, -1, keepdims=keepdim)


def _check_p(p: float, who: str) -> None:
    if not p >= 0:
        raise DomainError(f"{who}: p must be a non-negative number (or inf); got {p}")


def pdist(input: Any, p: float = 2.0) -> Value:
    """The p-norm distance between every pair of rows i < j of an (N, M) input, in the order
    (0, 1), (0, 2), ..., (1, 2), ...: N(N - 1)/2 values, as ``torch.nn.functional.pdist``."""
    who = "pdist"
    x = constant(input, who)
    if x.ndim != 2:
        raise ShapeError(f"{who}: expected a 2-D input (N, M); got shape {x.shape}")
    _check_p(p, who)
    i, j = np.triu_indices(x.shape[0], k=1)
    return _vector_norm(x[i] - x[j], p, 1)
