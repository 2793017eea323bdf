"""Indexing and its adjoint, scatter-add."""

from __future__ import annotations

import math
import operator
from typing import Any, Optional

import numpy as np

from ..engine import REQUIRED, Op, Value, identity_vjp
from ..errors import DomainError, ShapeError
from ..opinfo import FREE, MARGIN, Domain, OpInfo, at_zero
from ._support import _raw


def _is_basic(key: Any) -> bool:
    """True for keys made of ints, slices, None and Ellipsis: they never select twice."""
    parts = key if type(key) is tuple else (key,)
    return all(isinstance(k, (int, np.integer, slice, type(None), type(Ellipsis))) for k in parts)


def _index(key: Any) -> Any:
    """Unwrap Values used as indices (integer arrays held in a Value, say)."""
    if isinstance(key, Value):
        return np.asarray(key.data).astype(np.intp)
    if type(key) is tuple:
        return tuple(_index(k) for k in key)
    return key


def _getitem(x: Any, *, key: Any) -> Any:
    if x.ndim == 0 and any(k is not None and k is not Ellipsis
                           for k in (key if type(key) is tuple else (key,))):
        raise ShapeError(f"[]: a scalar Value cannot be indexed (index {key!r})")
    return x[_index(key)]


getitem = Op("[]", _getitem,
             lambda g, out, x, *, key: add_at.of(g, key=key, shape=np.shape(x)),
             scalar=False, defaults={"key": REQUIRED}, operators=("__getitem__",),
             info=OpInfo("key", min_dims=1))


def _add_at(g: Any, *, key: Any, shape: tuple) -> Any:
    grad = np.zeros(shape, g.dtype)
    key = _index(key)
    if _is_basic(key):
        grad[key] = g
    else:  # fancy indices may repeat: every occurrence adds its share
        np.add.at(grad, key, g)
    return grad


# The adjoint of indexing: zeros of `shape` with `g` added at `key` (repeated indices add up).
add_at: Op = Op("add_at", _add_at,
                 lambda g, out, x, *, key, shape: getitem.of(g, key=key),
                 scalar=False, defaults={"key": REQUIRED, "shape": REQUIRED},
                 info=OpInfo("scatter", min_dims=1))
