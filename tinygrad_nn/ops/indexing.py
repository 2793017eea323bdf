"""Indexing and its adjoint add_at; sorting, triangles and diagonals; gathering and scattering at
indices (numpy's take, take_along_axis; torch's gather, index_select, index_add, scatter_add)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..engine import REQUIRED, Op, Value
from ..errors import DomainError, InvalidIndexError, ShapeError
from ..opinfo import MARGIN, Domain, OpInfo
from ._support import _raw, composite
from . import reductions
from .comparisons import (equal, greater, greater_equal, less, less_equal, logical_and,
                          logical_not, logical_or, logical_xor, not_equal, where)


def _is_basic(key: Any) -> bool:
    """True for keys made of ints, slices, None and Ellipsis: they never select twice."""
    parts = key if type(key) is tuple else (key,)
    return all(isinstance(k, (int, np.integer, slice, type(None), type(Ellipsis))) for k in parts)


# ops whose results are masks: a Value made by one of them indexes as a boolean mask
_MASKS = (less, less_equal, greater, greater_equal, equal, not_equal, logical_and, logical_or,
          logical_xor, logical_not, reductions.any, reductions.all)


def _is_mask(key: Any) -> bool:
    return isinstance(key, Value) and key._fn in _MASKS  # (an Op compares by identity)


def _index(key: Any, shape: Any = None) -> Any:
    """Unwrap the Values of a key (alone or in a tuple) as `getitem` documents; `shape`, the
    indexed array's, tells a mask from positions."""
    parts = key if type(key) is tuple else (key,)
    if not any(isinstance(k, Value) for k in parts):
        return key
    axes = _axes(parts, len(shape)) if shape is not None else [None] * len(parts)
    unwrapped = tuple(_unwrap(k, shape, axis) if isinstance(k, Value) else k
                      for k, axis in zip(parts, axes))
    return unwrapped if type(key) is tuple else unwrapped[0]


def _axes(parts: tuple, ndim: int) -> list:
    """The first axis that each part of a key indexes, as numpy counts them: None adds an axis,
    a boolean mask takes as many as it has, Ellipsis the ones the others leave."""
    def taken(k: Any) -> int:
        if k is None or k is Ellipsis:
            return 0
        if _is_mask(k) or (isinstance(k, np.ndarray) and k.dtype == bool):
            return np.ndim(k.data if isinstance(k, Value) else k)
        return 1
    counts = [taken(k) for k in parts]
    axes, axis = [], 0
    for k, n in zip(parts, counts):
        if k is Ellipsis:
            axis += max(ndim - sum(counts), 0)
        axes.append(axis)
        axis += n
    return axes


POSITION_OPS = ("argsort", "argmax", "argmin")  # their results are positions, never masks


def _unwrap(key: Value, shape: Any, axis: Any) -> Any:
    """A comparison's result is a boolean mask; any other Value must hold whole numbers, the
    positions, and one of 0s and 1s shaped like the axes it would mask is refused as ambiguous."""
    data = np.asarray(key.data)
    if _is_mask(key):
        return data != 0
    whole = np.isfinite(data) & (data == np.round(data)) & (np.abs(data) < np.iinfo(np.intp).max)
    if not whole.all():
        raise InvalidIndexError(f"[]: a Value used as an index must hold whole numbers (positions) "
                                f"or be a comparison's mask; got {data[~whole].flat[0]}")
    positional = key._fn is not None and key._fn.name in POSITION_OPS  # argsort's: positions
    if data.ndim and shape is not None and axis is not None and not positional and \
            data.shape == tuple(shape[axis:axis + data.ndim]) and np.all((data == 0) | (data == 1)):
        made = "not recorded (no_grad?)" if key._fn is None else f"made by {key._fn.name!r}"
        raise InvalidIndexError(
            f"[]: a Value of 0s and 1s ({made}, not a recorded comparison) is ambiguous as an "
            "index: use `key.data > 0` for a mask (comparisons combine into one with & | ~), or "
            "a numpy integer array for positions")
    return data.astype(np.intp)


def _getitem(x: Any, *, key: Any) -> Any:
    """x[key], numpy's indexing (basic, integer arrays, boolean masks). A Value in the key (alone
    or in a tuple) is read when the op runs:

    - made by a comparison or a logical op (``x > 0``, ``(x > 0) & (x < 1)``, ``any``, ``all``):
      a boolean mask, as ``x[x > 0]`` is in numpy and PyTorch;
    - otherwise, positions: it must hold whole numbers (a float like 1.5, NaN or inf is an
      InvalidIndexError naming the value, never truncated), and one of only 0s and 1s with the
      shape of the axes it indexes, which could as well be a mask computed some other way
      (``(x > 0) * 1.0``, or a comparison under no_grad), is an InvalidIndexError that says to
      write ``key.data > 0`` for a mask or a numpy integer array for positions.
    """
    if x.ndim == 0 and any(k is not None and k is not Ellipsis
                           for k in (key if type(key) is tuple else (key,))):
        raise ShapeError(f"[]: a scalar Value cannot be indexed (index {key!r})")
    return x[_index(key, x.shape)]


getitem = Op("[]", _getitem,
             lambda g, out, x, *, key: add_at.of(g, key=key, shape=np.shape(x)),
             scalar=False, defaults={"key": REQUIRED}, operators=("__getitem__",),
             info=OpInfo("key", min_dims=1))


def _add_at(g: Any, *, key: Any, shape: tuple) -> Any:
    grad = np.zeros(shape, g.dtype)
    key = _index(key, shape)
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


# ---- indices: what the ops below accept, checked once -------------------------------------------
def _indices(op: str, index: Any) -> np.ndarray:
    """`index` (an integer array, a list, or a Value holding whole numbers) as an intp array;
    a boolean mask, or a comparison's Value of 0s and 1s, is refused rather than read as the
    positions 0 and 1."""
    if _is_mask(index):
        raise InvalidIndexError(f"{op}: indices must be positions, not a comparison's mask (made "
                                f"by {index._fn.name!r}); a mask selects with x[mask] or "
                                "masked_fill")
    a = np.asarray(index.data if isinstance(index, Value) else index)
    if a.dtype.kind in "iu":
        return a.astype(np.intp, copy=False)
    if a.dtype.kind == "f" or a.size == 0:
        whole = np.isfinite(a) & (a == np.round(a)) & (np.abs(a) < np.iinfo(np.intp).max) \
            if a.size else np.ones(0, bool)
        if not whole.all():
            raise InvalidIndexError(f"{op}: indices must be whole numbers; got {a[~whole].flat[0]}")
        return a.astype(np.intp)
    raise InvalidIndexError(f"{op}: indices must be integers, not {a.dtype} (a boolean mask "
                            "selects with x[mask] or masked_fill)")


def _in_range(op: str, index: np.ndarray, n: int, where_: str) -> np.ndarray:
    """`index` with negative entries counted from the end, after checking -n <= index < n."""
    bad = (index < -n) | (index >= n)
    if bad.any():
        raise InvalidIndexError(f"{op}: index {index[bad].flat[0]} is out of range for "
                                f"{where_} of length {n}")
    return np.where(index < 0, index + n, index)


def _axis_of(op: str, axis: Any, shape: tuple) -> int:
    """`axis` as a non-negative axis of `shape`."""
    if not isinstance(axis, (int, np.integer)) or not -len(shape) <= axis < len(shape):
        raise ShapeError(f"{op}: axis {axis} is out of bounds for an input of shape {shape}")
    return int(axis) % len(shape)


def _along_key(index: np.ndarray, axis: int, shape: tuple) -> tuple:
    """The key that picks ``x[i_0, ..., index[i_0, ..., i_k, ...], ...]`` at every position of
    `index` (an index array on every axis): a size-1 axis of x (of `shape`) is broadcast."""
    key = []
    for d, n in enumerate(index.shape):
        if d == axis:
            key.append(index)
        else:
            at = np.zeros(n, np.intp) if shape[d] == 1 else np.arange(n)
            key.append(at.reshape((n,) + (1,) * (index.ndim - 1 - d)))
    return tuple(key)


# ---- differences ------------------------------------------------------------------------------
def _diff(x: Any, *, n: int, axis: int) -> Any:
    if x.ndim == 0:
        raise ShapeError("diff: needs an input with at least one dimension, got shape ()")
    if n < 0:
        raise DomainError(f"diff: the order n must be non-negative, got {n}")
    return np.diff(x, n=n, axis=axis) if n else x.copy()


def _diff_vjp(g: Any, out: Any, x: Any, *, n: int, axis: int) -> Any:
    """One difference, y_i = x_{i+1} - x_i, has the adjoint g -> (0, g) - (g, 0): each of the n
    differences is undone in turn, from the last, growing the axis by one each time."""
    shape = list(np.shape(_raw(x)))
    a = axis % len(shape)
    head = (slice(None),) * a
    for k in range(n, 0, -1):
        grown = tuple(shape[:a] + [max(shape[a] - k + 1, 0)] + shape[a + 1:])
        g = add_at.of(g, key=head + (slice(1, None),), shape=grown) - \
            add_at.of(g, key=head + (slice(None, -1),), shape=grown)
    return g


diff = Op("diff", _diff, _diff_vjp, scalar=False, defaults={"n": 1, "axis": -1},
          methods=("diff",), info=OpInfo("diff", min_dims=1))


# ---- sorting ----------------------------------------------------------------------------------
def _order(x: Any, axis: int, descending: bool, op: str = "sort") -> np.ndarray:
    """The permutation that sorts x along `axis` (ties keep their order: a stable sort)."""
    if np.ndim(x) == 0:
        raise ShapeError(f"{op}: needs an input with at least one dimension, got shape ()")
    return np.argsort(-x if descending else x, axis=axis, kind="stable")


def _sort(x: Any, *, axis: int, descending: bool) -> Any:
    if descending or x.ndim == 0:  # (a 0-d x: _order raises the error)
        return np.take_along_axis(x, _order(x, axis, True), axis)
    return np.sort(x, axis=axis)


def _sort_vjp(g: Any, out: Any, x: Any, *, axis: int, descending: bool) -> Any:
    """out = x permuted by p, so x's gradient is g permuted back, by the inverse of p."""
    data = _raw(x)
    inverse = np.argsort(_order(data, axis, descending), axis=axis)
    return getitem.of(g, key=_along_key(inverse, axis % data.ndim, data.shape))


def _no_near_ties(datas: list, kw: dict) -> bool:
    """Sorting has a derivative where no two elements of a sorted slice (nearly) tie."""
    x = datas[0]
    if np.ndim(x) == 0:
        return True
    return bool((np.diff(np.sort(x, axis=kw["axis"]), axis=kw["axis"]) >= 2 * MARGIN).all())


SORTED = OpInfo("sort", domains=(Domain(distinct=True),), smooth=_no_near_ties, min_dims=1)

# sort(x) gives the values only, ascending as numpy (descending=True as torch has)
sort = Op("sort", _sort, _sort_vjp, scalar=False, defaults={"axis": -1, "descending": False},
          methods=("sort",), info=SORTED)

# argsort(x): the sorting permutation, as whole numbers in x's dtype (as comparisons give their
# 0 and 1), so the result is a Value like any other; every op here takes it as indices.
# It has no derivative: the permutation is constant near inputs without ties.
argsort = Op("argsort",
             lambda x, *, axis, descending: _order(x, axis, descending, "argsort").astype(x.dtype),
             None, scalar=False, defaults={"axis": -1, "descending": False},
             methods=("argsort",), info=SORTED)


# ---- triangles and diagonals ------------------------------------------------------------------
def _matrices(op: str, x: Any) -> None:
    if x.ndim < 2:
        raise ShapeError(f"{op}: needs a matrix or a batch of matrices (at least 2 dimensions), "
                         f"got shape {x.shape}")


def _tril(x: Any, *, k: int) -> Any:
    _matrices("tril", x)
    return np.tril(x, k)


def _triu(x: Any, *, k: int) -> Any:
    _matrices("triu", x)
    return np.triu(x, k)


# tril/triu keep the elements on and below/above the k-th diagonal of the last two axes: a mask,
# so each is its own adjoint
tril: Op = Op("tril", _tril, lambda g, out, x, *, k: tril.of(g, k=k), scalar=False,
              defaults={"k": 0}, methods=("tril",), info=OpInfo("triangle", min_dims=2))
triu: Op = Op("triu", _triu, lambda g, out, x, *, k: triu.of(g, k=k), scalar=False,
              defaults={"k": 0}, methods=("triu",), info=OpInfo("triangle", min_dims=2))


def _on_diagonal(rows: int, cols: int, k: int) -> tuple:
    """Row and column indices of the k-th diagonal of a rows x cols matrix."""
    length = max(0, min(rows - max(-k, 0), cols - max(k, 0)))
    i = np.arange(length)
    return i + max(-k, 0), i + max(k, 0)


def _diag(x: Any, *, k: int) -> Any:
    if x.ndim not in (1, 2):
        raise ShapeError(f"diag: needs a vector (to make a matrix) or a matrix (to take its "
                         f"diagonal), got shape {x.shape}")
    return np.diag(x, k) if x.ndim == 1 else np.diag(x, k).copy()


def _diag_vjp(g: Any, out: Any, x: Any, *, k: int) -> Any:
    """A vector placed on a diagonal and a diagonal taken out are each other's adjoints."""
    shape = np.shape(_raw(x))
    if len(shape) == 1:
        n = shape[0] + abs(k)
        return getitem.of(g, key=_on_diagonal(n, n, k))
    return add_at.of(g, key=_on_diagonal(shape[0], shape[1], k), shape=shape)


def _small(datas: list, kw: dict) -> bool:
    return np.ndim(datas[0]) <= 2


# diag(v, k), numpy's: a 1-D v on the k-th diagonal of a square matrix; of a matrix, its k-th
# diagonal
diag = Op("diag", _diag, _diag_vjp, scalar=False, defaults={"k": 0}, methods=("diag",),
          info=OpInfo("triangle", min_dims=1, smooth=_small))


def _diagonal_key(op: str, shape: tuple, offset: int, axis1: int, axis2: int) -> tuple:
    """An index array per axis that picks the diagonal in numpy's layout: the other axes in
    order, then the diagonal."""
    if len(shape) < 2:
        raise ShapeError(f"{op}: needs at least 2 dimensions, got shape {shape}")
    a, b = _axis_of(op, axis1, shape), _axis_of(op, axis2, shape)
    if a == b:
        raise ShapeError(f"{op}: axis1 and axis2 must differ, got {axis1} and {axis2} for an "
                         f"input of shape {shape}")
    rows, cols = _on_diagonal(shape[a], shape[b], offset)
    rest = [d for d in range(len(shape)) if d not in (a, b)]
    key: list = [None] * len(shape)
    for j, d in enumerate(rest):
        key[d] = np.arange(shape[d]).reshape((-1,) + (1,) * (len(rest) - j))
    key[a], key[b] = rows, cols
    return tuple(key)


def _diagonal(x: Any, *, offset: int, axis1: int, axis2: int) -> Any:
    return x[_diagonal_key("diagonal", x.shape, offset, axis1, axis2)]


diagonal = Op("diagonal", _diagonal,
              lambda g, out, x, *, offset, axis1, axis2: add_at.of(
                  g, key=_diagonal_key("diagonal", np.shape(_raw(x)), offset, axis1, axis2),
                  shape=np.shape(_raw(x))),
              scalar=False, defaults={"offset": 0, "axis1": 0, "axis2": 1},
              methods=("diagonal",), info=OpInfo("diagonal", min_dims=2))


@composite(methods=("trace",), scalar=False, info=OpInfo("diagonal", min_dims=2))
def trace(x: Any, offset: int = 0, axis1: int = 0, axis2: int = 1) -> Value:
    """The sum of the diagonal (numpy's trace; batched over the other axes)."""
    _diagonal_key("trace", np.shape(_raw(x)), offset, axis1, axis2)  # errors name trace
    return diagonal(x, offset=offset, axis1=axis1, axis2=axis2).sum(axis=-1)


# ---- gathering: each op is x[key] for a key made from its indices; the adjoint is add_at -------
def _gathering(name: str, key_of: Any, defaults: dict, methods: tuple, info: OpInfo) -> Op:
    """An op that picks elements of x at ``key_of(name, x.shape, **params)``; its VJP adds the
    gradient back at the same places (repeated indices add up)."""
    def forward(x: Any, **params: Any) -> Any:
        return x[key_of(name, x.shape, **params)]

    def vjp(g: Any, out: Any, x: Any, **params: Any) -> Any:
        shape = np.shape(_raw(x))
        return add_at.of(g, key=key_of(name, shape, **params), shape=shape)
    return Op(name, forward, vjp, scalar=False, defaults=defaults, methods=methods, info=info)


def _take_along_key(op: str, shape: tuple, *, indices: Any, axis: Any) -> Any:
    """numpy's take_along_axis: indices with x's number of dimensions, broadcasting with x on
    the other axes (axis None: a 1-D index into the flattened x)."""
    index = _indices(op, indices)
    if axis is None:
        if index.ndim != 1 or not shape:
            raise ShapeError(f"{op}: with axis None the indices must be 1-D and the input at "
                             f"least 1-D, got shapes {index.shape} and {shape}")
        return np.unravel_index(_in_range(op, index, math.prod(shape), "the flattened input"),
                                shape)
    if index.ndim != len(shape):
        raise ShapeError(f"{op}: indices of shape {index.shape} for an input of shape {shape}; "
                         "they need the same number of dimensions")
    a = _axis_of(op, axis, shape)
    out = []
    for d, (n, m) in enumerate(zip(shape, index.shape)):
        if d != a and n != m and n != 1 and m != 1:
            raise ShapeError(f"{op}: indices of shape {index.shape} do not broadcast with an "
                             f"input of shape {shape} (axis {d})")
        out.append(m if d == a else max(n, m))
    index = np.broadcast_to(_in_range(op, index, shape[a], f"axis {a}"), tuple(out))
    return _along_key(index, a, shape)


def _gather_key(op: str, shape: tuple, *, axis: Any, index: Any) -> tuple:
    """torch's gather: out[i, j, k] = x[index[i, j, k], j, k] (axis 0); index has x's number of
    dimensions and, on the other axes, no more elements than x."""
    idx = _indices(op, index)
    a = _axis_of(op, axis, shape)
    if idx.ndim != len(shape) or any(m > n for d, (n, m) in enumerate(zip(shape, idx.shape))
                                     if d != a):
        raise ShapeError(f"{op}: an index of shape {idx.shape} for an input of shape {shape} "
                         f"along axis {axis}: it needs as many dimensions, and no larger sides "
                         "except along the axis")
    return _along_key(_in_range(op, idx, shape[a], f"axis {a}"), a, shape)


def _take_key(op: str, shape: tuple, *, indices: Any, axis: Any) -> Any:
    """numpy's take: indices into the flattened x (axis None), or into one axis."""
    index = _indices(op, indices)
    if not shape:
        raise ShapeError(f"{op}: needs an input with at least one dimension, got shape ()")
    if axis is None:
        return np.unravel_index(_in_range(op, index, math.prod(shape), "the flattened input"),
                                shape)
    a = _axis_of(op, axis, shape)
    return (slice(None),) * a + (_in_range(op, index, shape[a], f"axis {a}"),)


def _select_key(op: str, shape: tuple, *, axis: Any, index: Any) -> tuple:
    """torch's index_select: whole slices along `axis`, at a 1-D index."""
    idx = _indices(op, index)
    if idx.ndim > 1:
        raise ShapeError(f"{op}: the index must be 1-D, got shape {idx.shape}")
    return _take_key(op, shape, indices=idx.reshape(-1), axis=axis)


take_along_axis = _gathering("take_along_axis", _take_along_key, {"indices": REQUIRED, "axis": -1},
                             ("take_along_axis", "take_along_dim"),
                             OpInfo("take_along_axis", min_dims=1))
take_along_dim = take_along_axis  # torch's name

# x.gather(dim, index), torch's: repeated indices add up in the gradient
gather = _gathering("gather", _gather_key, {"axis": REQUIRED, "index": REQUIRED}, ("gather",),
                    OpInfo("gather", min_dims=1))

take = _gathering("take", _take_key, {"indices": REQUIRED, "axis": None}, ("take",),
                  OpInfo("take", min_dims=1))

index_select = _gathering("index_select", _select_key, {"axis": REQUIRED, "index": REQUIRED},
                          ("index_select",), OpInfo("index_select", min_dims=1))


# ---- filling and adding at indices ------------------------------------------------------------
# The mask is an input without a derivative (not a parameter), so that a mask computed in the
# graph (x > 0) is recomputed when a Tape replays it.
_masked_fill = Op("masked_fill",
                  lambda x, mask, *, value: np.where(mask, float(value), x),
                  lambda g, out, x, mask, *, value: where.of(mask, 0.0, g),
                  None,
                  scalar=lambda x, mask, *, value: float(value) if mask else x,
                  defaults={"value": REQUIRED})


@composite(methods=("masked_fill",), info=OpInfo("masked_fill"))
def masked_fill(x: Any, mask: Any, value: float) -> Value:
    """torch's x.masked_fill(mask, value): `value` where `mask` (a bool array or a 0/1 Value,
    broadcasting with x) is nonzero, x elsewhere; no gradient reaches x where it is filled."""
    return _masked_fill(x, mask, value=value)


def _source_shape(op: str, shape: tuple, axis: Any, index: Any) -> tuple:
    """For index_add: the axis, the 1-D index (checked) and the key that spreads a source."""
    if not shape:
        raise ShapeError(f"{op}: needs an input with at least one dimension, got shape ()")
    a = _axis_of(op, axis, shape)
    idx = _indices(op, index)
    if idx.ndim > 1:
        raise ShapeError(f"{op}: the index must be 1-D, got shape {idx.shape}")
    idx = _in_range(op, idx.reshape(-1), shape[a], f"axis {a}")
    return shape[:a] + (len(idx),) + shape[a + 1:], (slice(None),) * a + (idx,)


@composite(methods=("index_add",), scalar=False, info=OpInfo("index_add", min_dims=1))
def index_add(x: Any, axis: int, index: Any, source: Any, alpha: float = 1.0) -> Value:
    """torch's x.index_add(dim, index, source, alpha=1), out of place: x with alpha * source[i]
    added at x[..., index[i], ...] along `axis` (repeated indices add up)."""
    shape, given = np.shape(_raw(x)), np.shape(_raw(source))
    expected, key = _source_shape("index_add", shape, axis, index)
    if given != expected:
        raise ShapeError(f"index_add: a source of shape {given} for an input of shape {shape} "
                         f"and {expected[axis]} indices along axis {axis}; it must have shape "
                         f"{expected}")
    spread = add_at(source, key=key, shape=shape)
    return x + (spread if alpha == 1 else alpha * spread)


@composite(methods=("scatter_add",), scalar=False, info=OpInfo("scatter_add", min_dims=1))
def scatter_add(x: Any, axis: int, index: Any, src: Any) -> Value:
    """torch's x.scatter_add(dim, index, src), out of place: src[i, j, k] added at
    x[index[i, j, k], j, k] (axis 0) for every position of `index` (repeated indices add up);
    index, src and x have as many dimensions, src at least index's sides, x too off the axis."""
    shape, given = np.shape(_raw(x)), np.shape(_raw(src))
    idx = _indices("scatter_add", index)
    if not (len(shape) == idx.ndim == len(given)) or any(m > s for m, s in zip(idx.shape, given)):
        raise ShapeError(f"scatter_add: an index of shape {idx.shape} and a src of shape {given} "
                         f"for an input of shape {shape}: they need as many dimensions, and "
                         "src no smaller sides than the index")
    key = _gather_key("scatter_add", shape, axis=axis, index=idx)
    part = src if given == idx.shape else getitem(src, key=tuple(slice(0, m) for m in idx.shape))
    return x + add_at(part, key=key, shape=shape)
