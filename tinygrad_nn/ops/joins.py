"""Joining Values into one and splitting one into several: concatenate, stack and their kin.

Two primitives, `concatenate` and `stack`, do the joining; numpy's vstack, hstack, column_stack,
dstack and append are composites of them: a cheap reshape of each input (a 1-D row to (1, n),
...) and one concatenate node. The split family (split, array_split, chunk, unbind) returns
several Values, each an index of the input (`x[..., a:b]`), so the gradient of each piece flows
back into its own slice and the pieces' gradients add up there.
"""

from __future__ import annotations

import operator
from typing import Any, Optional, Sequence

import numpy as np

from ..engine import Op, Value
from ..errors import ShapeError, UnsupportedTypeError
from ..opinfo import OpInfo
from ._support import _raw, composite
from .indexing import getitem
from .shape import reshape


def _concatenate_vjp(wanted: Sequence[int], g: Any, out: Any, xs: Sequence[Any], *,
                     axis: int) -> list:
    """The slice of g that each wanted input filled: the offsets summed once, for all."""
    axis = axis % g.ndim
    ends = np.cumsum([np.shape(x)[axis] for x in xs])
    lead = (slice(None),) * axis
    return [g[lead + (slice(int(ends[i]) - np.shape(xs[i])[axis], int(ends[i])),)]
            for i in wanted]


concatenate = Op("concatenate",
                 lambda *xs, axis: np.concatenate(xs, axis=axis),
                 _concatenate_vjp,
                 scalar=False, defaults={"axis": 0}, variadic=True,
                 info=OpInfo("pieces", min_dims=1))
cat = concatenate  # PyTorch's name (cat(xs, dim=1) works: dim is axis)


def _stack_vjp(wanted: Sequence[int], g: Any, out: Any, xs: Sequence[Any], *, axis: int) -> list:
    lead = (slice(None),) * (axis % g.ndim)
    return [g[lead + (i,)] for i in wanted]


stack = Op("stack", lambda *xs, axis: np.stack(xs, axis=axis), _stack_vjp,
           scalar=False, defaults={"axis": 0}, variadic=True, info=OpInfo("stacked"))


# ---- numpy's joins, as one concatenate of reshaped inputs ----------------------------------------
def _items(tup: Any, op: str) -> list:
    """The inputs of a join, as a list (a Value itself is not a sequence of Values here)."""
    if isinstance(tup, Value) or isinstance(tup, np.ndarray):
        raise UnsupportedTypeError(f"{op}: expects a sequence (list or tuple) of Values, got a "
                                   f"single {type(tup).__name__} of shape {np.shape(_raw(tup))}")
    items = list(tup)
    if not items:
        raise ShapeError(f"{op}: needs at least one Value to join")
    return items


def _atleast(shape: tuple, ndim: int) -> tuple:
    """numpy's atleast_1d/2d/3d on a shape: () -> (1,) * ndim, a 1-D (n,) -> (n,), (1, n) or
    (1, n, 1), a 2-D (m, n) -> (m, n, 1) for ndim 3; more dimensions stay as they are."""
    if len(shape) >= ndim:
        return shape
    if ndim == 3 and len(shape) >= 1:
        return (1,) * (2 - len(shape)) + shape + (1,)
    return (1,) * (ndim - len(shape)) + shape


def _as_shape(x: Any, shape: tuple) -> Any:
    """x reshaped to `shape` (a reshape node only where the shape changes)."""
    return x if np.shape(_raw(x)) == shape else reshape(x, shape)


def _join(op: str, xs: list, shapes: list, axis: int, given: Optional[list] = None) -> Value:
    """Concatenate `xs`, of `shapes`, along `axis`, with an error naming `op` and the shapes
    (`given`: the shapes before the op reshaped them) when they do not fit."""
    ndim = len(shapes[0])
    if not -ndim <= axis < ndim:
        raise ShapeError(f"{op}: axis {axis} is out of bounds for inputs of shapes {shapes}")
    k = axis % ndim
    if any(len(s) != ndim or s[:k] + s[k + 1:] != shapes[0][:k] + shapes[0][k + 1:]
           for s in shapes):
        seen = f"{given} (as {shapes})" if given is not None and given != shapes else f"{shapes}"
        raise ShapeError(f"{op}: the shapes {seen} must match except along axis {k}")
    return concatenate([_as_shape(x, s) for x, s in zip(xs, shapes)], axis=k)


def _lifted_join(op: str, tup: Any, ndim: int, axis: Any) -> Value:
    """Join with each input first given at least `ndim` dimensions (numpy's atleast_nd);
    `axis` may depend on the first lifted shape."""
    xs = _items(tup, op)
    given = [np.shape(_raw(x)) for x in xs]
    shapes = [_atleast(s, ndim) for s in given]
    return _join(op, xs, shapes, axis(shapes[0]) if callable(axis) else axis, given)


@composite(variadic=True, info=OpInfo("vstacked"))
def vstack(tup: Sequence[Any]) -> Value:
    """numpy's vstack: join along axis 0, a 1-D input (n,) as a row (1, n), a 0-d one as (1, 1)."""
    return _lifted_join("vstack", tup, 2, 0)


@composite(variadic=True, info=OpInfo("hstacked"))
def hstack(tup: Sequence[Any]) -> Value:
    """numpy's hstack: 1-D (and 0-d) inputs joined along axis 0, others along axis 1."""
    return _lifted_join("hstack", tup, 1, lambda first: 0 if len(first) == 1 else 1)


@composite(variadic=True, info=OpInfo("column_stacked"))
def column_stack(tup: Sequence[Any]) -> Value:
    """numpy's column_stack: join along axis 1, a 1-D input (n,) as a column (n, 1), a 0-d one
    as (1, 1)."""
    xs = _items(tup, "column_stack")
    given = [np.shape(_raw(x)) for x in xs]
    shapes = [s if len(s) >= 2 else (s + (1, 1))[:2] for s in given]  # (n,) -> (n, 1)
    return _join("column_stack", xs, shapes, 1, given)


@composite(variadic=True, info=OpInfo("dstacked"))
def dstack(tup: Sequence[Any]) -> Value:
    """numpy's dstack: join along axis 2 (depth), (n,) as (1, n, 1), (m, n) as (m, n, 1)."""
    return _lifted_join("dstack", tup, 3, 2)


@composite(info=OpInfo("appended"))
def append(arr: Any, values: Any, axis: Optional[int] = None) -> Value:
    """numpy's append: `values` after `arr` along `axis`; with axis None both are flattened
    first, and the result is 1-D."""
    if axis is None:
        xs = [arr, values]
        given = [np.shape(_raw(x)) for x in xs]
        return _join("append", xs, [(int(np.prod(s)),) for s in given], 0)
    shapes = [np.shape(_raw(arr)), np.shape(_raw(values))]
    return _join("append", [arr, values], shapes, operator.index(axis))


# ---- splitting: pieces indexed out of one Value --------------------------------------------------
def _axis_length(x: Any, axis: Any, op: str) -> tuple:
    """The axis (non-negative) and its length, or an error naming `op` and the shape."""
    shape = np.shape(_raw(x))
    if not shape:
        raise ShapeError(f"{op}: a 0-d Value has no axis to split along")
    axis = operator.index(axis)
    if not -len(shape) <= axis < len(shape):
        raise ShapeError(f"{op}: axis {axis} is out of bounds for a Value of shape {shape}")
    axis %= len(shape)
    return axis, shape[axis]


def _slices(x: Any, axis: int, bounds: list) -> list:
    """x[..., a:b, ...] (along `axis`) for each (a, b) of `bounds`."""
    before = (slice(None),) * axis
    return [getitem(x, key=before + (slice(a, b),)) for a, b in bounds]


def _split_bounds(op: str, n: int, indices_or_sections: Any, even: bool) -> list:
    """numpy's pieces of an axis of length n: (start, stop) of each, as Python slices read them."""
    if np.ndim(indices_or_sections) == 0:
        try:
            sections = operator.index(indices_or_sections)
        except TypeError:
            raise UnsupportedTypeError(f"{op}: indices_or_sections must be an int or a sequence "
                                       f"of ints, got {indices_or_sections!r}") from None
        if sections <= 0:
            raise ShapeError(f"{op}: the number of sections must be positive, got {sections}")
        if even and n % sections:
            raise ShapeError(f"{op}: {sections} sections do not divide an axis of length {n} "
                             "evenly (array_split allows unequal pieces)")
        each, extra = divmod(n, sections)  # the first `extra` pieces get one more element
        points = [k * each + min(k, extra) for k in range(sections + 1)]
    else:  # split points: the pieces are x[:p0], x[p0:p1], ..., x[p_last:]
        points = [0, *(operator.index(p) for p in indices_or_sections), n]
    return list(zip(points[:-1], points[1:]))


# torch's Tensor.split(sizes, dim) means something else (the pieces' sizes): Value.split follows
# numpy (the number of equal sections, or split points); torch's tensor_split is array_split.
@composite(methods=("split",), info=OpInfo("split_points", min_dims=1), scalar=False)
def split(x: Any, indices_or_sections: Any, axis: int = 0) -> list[Value]:
    """numpy's split: `indices_or_sections` equal pieces along `axis` (it must divide the axis
    length, else a ShapeError), or the pieces between the given split points."""
    axis, n = _axis_length(x, axis, "split")
    return _slices(x, axis, _split_bounds("split", n, indices_or_sections, even=True))


@composite(methods=("array_split", "tensor_split"), info=OpInfo("sections", min_dims=1),
           scalar=False)
def array_split(x: Any, indices_or_sections: Any, axis: int = 0) -> list[Value]:
    """numpy's array_split (torch's tensor_split): like split, but n sections of an axis of
    length L need not be equal: the first L % n pieces have one element more."""
    axis, n = _axis_length(x, axis, "array_split")
    return _slices(x, axis, _split_bounds("array_split", n, indices_or_sections, even=False))


tensor_split = array_split  # PyTorch's name


@composite(methods=("chunk",), info=OpInfo("chunks", min_dims=1), scalar=False)
def chunk(x: Any, chunks: int, axis: int = 0) -> tuple[Value, ...]:
    """torch's chunk: pieces of ceil(L / chunks) elements along `axis`, the last one smaller,
    so there may be fewer than `chunks` of them (an empty axis gives `chunks` empty pieces)."""
    axis, n = _axis_length(x, axis, "chunk")
    chunks = operator.index(chunks)
    if chunks <= 0:
        raise ShapeError(f"chunk: chunks must be positive, got {chunks}")
    size = -(-n // chunks)
    bounds = [(a, min(a + size, n)) for a in range(0, n, size)] if n else [(0, 0)] * chunks
    return tuple(_slices(x, axis, bounds))


@composite(methods=("unbind",), info=OpInfo("axis", min_dims=1), scalar=False)
def unbind(x: Any, axis: int = 0) -> tuple[Value, ...]:
    """torch's unbind: the slices of x along `axis`, that axis removed (stack's inverse)."""
    axis, n = _axis_length(x, axis, "unbind")
    before = (slice(None),) * axis
    return tuple(getitem(x, key=before + (i,)) for i in range(n))
