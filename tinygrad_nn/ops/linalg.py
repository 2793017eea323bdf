"""Linear algebra: matrix products and contractions."""

from __future__ import annotations

import math
import operator
from typing import Any, Optional

import numpy as np

from ..engine import REQUIRED, Op, Value, identity_vjp
from ..errors import DomainError, ShapeError
from ..opinfo import FREE, MARGIN, Domain, OpInfo, at_zero
from .shape import transpose


def _matmul(a: Any, b: Any) -> Any:
    if a.ndim == 0 or b.ndim == 0:
        raise ShapeError(f"@: both operands need at least one dimension; got shapes "
                         f"{np.shape(a)} and {np.shape(b)} (use * to scale)")
    if a.shape[-1] != b.shape[0 if b.ndim == 1 else -2]:
        raise ShapeError(f"@: shapes {a.shape} and {b.shape} do not line up: {a.shape[-1]} "
                         f"(last axis of the left) != {b.shape[0 if b.ndim == 1 else -2]} "
                         f"({'only' if b.ndim == 1 else 'second to last'} axis of the right)")
    # np.dot for matrices: numpy's @ does not call BLAS when the inner axis has length 1
    return np.dot(a, b) if a.ndim == 2 and b.ndim == 2 else a @ b


def _swap_last(x: Any) -> Any:
    """A (batch of) matrices transposed."""
    n = x.ndim
    return transpose.of(x, axes=(*range(n - 2), n - 1, n - 2))


def _as_matrices(g: Any, a: Any, b: Any) -> tuple:
    """View 1-D matmul operands as matrices (a as one row, b as one column), and g to match."""
    if b.ndim == 1:
        b, g = b.reshape(-1, 1), g[..., None]
    if a.ndim == 1:
        a, g = a.reshape(1, -1), g[..., None, :]
    return g, a, b


def _matmul_vjp_a(g: Any, out: Any, a: Any, b: Any) -> Any:
    if a.ndim == 2 and b.ndim == 2:
        return g @ b.T
    g2, _, b2 = _as_matrices(g, a, b)
    ga = g2 @ _swap_last(b2)
    return ga[..., 0, :] if a.ndim == 1 else ga


def _matmul_vjp_b(g: Any, out: Any, a: Any, b: Any) -> Any:
    if a.ndim == 2 and b.ndim == 2:
        return matmul.of(a.T, g)  # np.dot, even for an inner axis of length 1 (batch 1)
    g2, a2, _ = _as_matrices(g, a, b)
    gb = _swap_last(a2) @ g2
    return gb[..., 0] if b.ndim == 1 else gb


matmul = Op("@", _matmul, _matmul_vjp_a, _matmul_vjp_b, scalar=False,
            operators=("__matmul__", "__rmatmul__"), info=OpInfo("matmul", min_dims=1))


def _linear(x: Any, w: Any, b: Any) -> Any:
    if x.ndim == 0 or x.shape[-1] != w.shape[1]:
        raise ShapeError(f"linear: the input's last axis must have {w.shape[1]} features to match "
                         f"the weights {w.shape}; got an input of shape {np.shape(x)}")
    return x @ w.T + b


def _linear_vjp_w(g: Any, out: Any, x: Any, w: Any, b: Any) -> Any:
    nout, nin = w.shape
    if x.ndim == 1:
        return g.reshape(nout, 1) * x
    return matmul.of(g.reshape(-1, nout).T, x.reshape(-1, nin))  # np.dot on raw data: BLAS


# x @ W.T + b as one node: a layer of units, with weights W of shape (nout, nin). Fusing saves a
# node and a broadcast, and the batch (a constant) costs no gradient work at all.
linear = Op("linear", _linear,
            lambda g, out, x, w, b: g @ w,
            _linear_vjp_w,
            identity_vjp,  # the engine sums g over the batch to b's shape
            scalar=False, info=OpInfo("linear", min_dims=1))
