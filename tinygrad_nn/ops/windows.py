"""Sliding windows over the trailing axes, their adjoint (fold), and the maximum of each window.

These are the primitives of convolution and pooling (`tinygrad_nn.nn.functional`):

- ``sliding_windows(x, kernel_size, stride=1, dilation=1)``: the windows of the last n axes of x
  (n = the number of kernel sizes) as n extra trailing axes: x of shape (..., L1, ..., Ln) gives
  (..., O1, ..., On, k1, ..., kn) with Oi = (Li - di (ki - 1) - 1) // si + 1. It is a read-only
  view of x (numpy's as_strided): nothing is copied until a product consumes it. PyTorch's
  ``Tensor.unfold(dim, size, step)`` is its 1-D case (without dilation).
- ``fold_windows(w, output_size, kernel_size, stride=1, dilation=1)``: the adjoint, PyTorch's
  ``F.fold`` (col2im) in this layout: each window of w added back where it came from, into
  zeros of the trailing shape `output_size` (overlapping windows add up). A Python loop over the
  kernel positions only, each a strided slice-add of the whole batch.
- ``first_max(x, ndim=1)``: the maximum over the last `ndim` axes, its gradient sent to the first
  maximum of each slice (row-major order), as PyTorch's max pooling and ``max(dim)`` send it.

The first two are linear and each one's VJP is the other, so derivatives of every order come for
free; first_max's VJP scatters g with a one-hot mask computed by an op without a derivative (so
that a replayed or twice-differentiated graph recomputes it).
"""

from __future__ import annotations

import operator
from typing import Any

import numpy as np

from ..engine import REQUIRED, Op
from ..errors import ShapeError
from ..opinfo import MARGIN, Domain, OpInfo
from ._support import _raw


def window_geometry(op: str, size: Any, kernel_size: Any, stride: Any, dilation: Any) -> tuple:
    """Kernel sizes, strides and dilations as tuples of n positive ints (an int serves every
    axis; n is the number of kernel sizes), and the number of windows along each of the n
    trailing axes of `size` (the spatial sizes). A ShapeError names `op` when a kernel, dilated,
    does not fit."""
    k = _positive(kernel_size, None, op, "kernel_size")
    n = len(k)
    s, d = _positive(stride, n, op, "stride"), _positive(dilation, n, op, "dilation")
    size = tuple(size)
    if len(size) < n:
        raise ShapeError(f"{op}: a {n}-D kernel {k} needs an input with {n} dimension(s) or more, "
                         f"got shape {size}")
    spatial = size[len(size) - n:]
    span = tuple(di * (ki - 1) + 1 for ki, di in zip(k, d))
    if any(e > length for e, length in zip(span, spatial)):
        raise ShapeError(f"{op}: kernel size {k} with dilation {d} spans {span}, more than the "
                         f"input's spatial size {spatial} (input shape {size})")
    out = tuple((length - e) // si + 1 for length, e, si in zip(spatial, span, s))
    return k, s, d, out


def _positive(value: Any, n: Any, op: str, what: str) -> tuple:
    items = tuple(value) if isinstance(value, (tuple, list)) else (value,) * (n or 1)
    try:
        result = tuple(operator.index(v) for v in items)
    except TypeError:
        raise ShapeError(f"{op}: {what} must be whole numbers, got {value!r}") from None
    if n is not None and len(result) != n:
        raise ShapeError(f"{op}: {what} {value!r} must give one value for each of the {n} "
                         "kernel axes")
    if not result or any(v < 1 for v in result):
        raise ShapeError(f"{op}: {what} must be positive, got {value!r}")
    return result


# ---- the windows and their adjoint ---------------------------------------------------------------
def _strided(x: np.ndarray, k: tuple, s: tuple, d: tuple, out: tuple,
             writeable: bool = False) -> np.ndarray:
    """The windows of x as a view: the window index takes the steps s, the kernel index d."""
    n = len(k)
    steps = x.strides[x.ndim - n:]
    strides = x.strides[:x.ndim - n] + tuple(t * si for t, si in zip(steps, s)) + \
        tuple(t * di for t, di in zip(steps, d))
    return np.lib.stride_tricks.as_strided(x, x.shape[:x.ndim - n] + out + k, strides,
                                           writeable=writeable)


def _sliding_windows(x: np.ndarray, *, kernel_size: Any, stride: Any, dilation: Any) -> np.ndarray:
    k, s, d, out = window_geometry("sliding_windows", x.shape, kernel_size, stride, dilation)
    return _strided(x, k, s, d, out)


def _fold_windows(w: np.ndarray, *, output_size: Any, kernel_size: Any, stride: Any,
                  dilation: Any) -> np.ndarray:
    k = _positive(kernel_size, None, "fold_windows", "kernel_size")
    n = len(k)
    size = _positive(output_size, n, "fold_windows", "output_size")
    k, s, d, out = window_geometry("fold_windows", size, k, stride, dilation)
    if w.ndim < 2 * n or w.shape[w.ndim - 2 * n:] != out + k:
        raise ShapeError(f"fold_windows: windows of shape {w.shape} do not fit output_size {size} "
                         f"with kernel_size {k}, stride {s}, dilation {d}: the last {2 * n} axes "
                         f"must be {out + k}")
    lead = w.shape[:w.ndim - 2 * n]
    result = np.zeros(lead + size, w.dtype)
    ellipsis = (slice(None),) * len(lead)
    disjoint = all(di * (ki - 1) + 1 <= si for ki, si, di in zip(k, s, d))  # nothing to add up
    for position in np.ndindex(*k):
        target = ellipsis + tuple(slice(j * di, j * di + si * (o - 1) + 1, si)
                                  for j, si, di, o in zip(position, s, d, out))
        if disjoint:
            result[target] = w[(Ellipsis,) + position]
        else:
            result[target] += w[(Ellipsis,) + position]
    return result


def _spatial(x: Any, kernel_size: Any) -> tuple:
    """The sizes of the axes of x that a kernel slides over: the last len(kernel_size)."""
    shape = np.shape(_raw(x))
    n = len(kernel_size) if isinstance(kernel_size, (tuple, list)) else 1
    return shape[len(shape) - n:]


sliding_windows: Op = Op(
    "sliding_windows", _sliding_windows,
    lambda g, out, x, *, kernel_size, stride, dilation: fold_windows.of(
        g, output_size=_spatial(x, kernel_size), kernel_size=kernel_size, stride=stride,
        dilation=dilation),
    scalar=False, defaults={"kernel_size": REQUIRED, "stride": 1, "dilation": 1},
    info=OpInfo("sliding_windows", min_dims=1))

fold_windows: Op = Op(
    "fold_windows", _fold_windows,
    lambda g, out, w, *, output_size, kernel_size, stride, dilation: sliding_windows.of(
        g, kernel_size=kernel_size, stride=stride, dilation=dilation),
    scalar=False, defaults={"output_size": REQUIRED, "kernel_size": REQUIRED, "stride": 1,
                            "dilation": 1},
    info=OpInfo("fold_windows", min_dims=2))


# ---- the maximum of each window, PyTorch's way with ties ----------------------------------------
def _trailing(ndim: Any, shape: tuple, op: str) -> int:
    n = operator.index(ndim)
    if not 1 <= n <= len(shape):
        raise ShapeError(f"{op}: ndim {ndim} must be between 1 and the input's {len(shape)} "
                         f"dimension(s) (input shape {shape})")
    return n


def _first_max(x: np.ndarray, *, ndim: Any) -> np.ndarray:
    """The running maximum over the positions of the last `ndim` axes, one elementwise pass
    per position: numpy reduces short, strided trailing axes (a 2 x 2 window) 10x slower."""
    n = _trailing(ndim, x.shape, "first_max")
    positions = [(Ellipsis,) + p for p in np.ndindex(*x.shape[x.ndim - n:])]
    if len(positions) == 1:
        return np.array(x[positions[0]])
    best = np.asarray(np.maximum(x[positions[0]], x[positions[1]]))
    for at in positions[2:]:
        np.maximum(best, x[at], out=best)  # NaN wins, as in np.max
    return best


def _first_max_mask(x: np.ndarray, best: np.ndarray, *, ndim: Any) -> np.ndarray:
    """1 at the first maximum (`best`, first_max's value) of each slice over the last `ndim`
    axes, in row-major order, 0 elsewhere; a NaN counts as the maximum, as it is first_max's
    value then. The positions are visited last to first, each maximum overwriting the index
    found after it; the mask is laid out position by position in memory (a view puts the
    positions last), so that its writes are contiguous, and so are the product and the fold
    that use it."""
    n = _trailing(ndim, x.shape, "first_max")
    kernel = x.shape[x.ndim - n:]
    nan = bool(np.isnan(best).any())
    first = np.zeros(best.shape, np.intp)
    positions = list(np.ndindex(*kernel))
    for j in range(len(positions) - 1, -1, -1):
        at = (Ellipsis,) + positions[j]
        hit = x[at] == best
        if nan:
            hit |= np.isnan(x[at])
        np.copyto(first, j, where=hit)
    stacked = np.empty(kernel + best.shape, x.dtype)
    for j, position in enumerate(positions):
        np.equal(first, j, out=stacked[position + (Ellipsis,)], casting="unsafe")
    lead = best.ndim
    return np.moveaxis(stacked, tuple(range(n)), tuple(range(lead, lead + n)))


_mask = Op("first_max_mask", _first_max_mask, None, None, scalar=False, defaults={"ndim": 1})

def _no_ties(datas: list, kw: dict) -> bool:
    """first_max has a derivative where each slice's largest element stands MARGIN clear of the
    next (a tie sends the gradient to one side only: a one-sided derivative)."""
    x = np.asarray(datas[0])
    n = kw.get("ndim", 1)
    if x.ndim < n or x.size == 0:
        return True
    flat = np.sort(x.reshape(x.shape[:x.ndim - n] + (-1,)), axis=-1)
    return flat.shape[-1] < 2 or bool((flat[..., -1] - flat[..., -2] >= 2 * MARGIN).all())


first_max: Op = Op(
    "first_max", _first_max,
    lambda g, out, x, *, ndim: g.reshape(np.shape(_raw(g)) + (1,) * ndim) * _mask.of(x, out, ndim=ndim),
    scalar=False, defaults={"ndim": 1}, methods=("first_max",),
    info=OpInfo("first_max", domains=(Domain(distinct=True),), smooth=_no_ties, min_dims=1))
