"""Ops that move elements around without computing: reshape, transpose and their kin.

Each VJP is the inverse move (flip again, roll back, swap back, transpose by the inverse
permutation), or sums what the forward copied (broadcast_to, repeat, tile), or scatters back what
it gathered (pad's reflect and edge modes). Numpy's names and conventions, with PyTorch's
spellings as other names where PyTorch users will type them (view, swapdims, movedim,
repeat_interleave, permute, expand).
"""

from __future__ import annotations

import math
import operator
from typing import Any, Callable

import numpy as np

from ..engine import REQUIRED, Op, Value, identity_vjp
from ..engine import fit_to as _fit_to
from ..errors import ShapeError
from ..opinfo import OpInfo
from ._support import _raw, composite
from .indexing import add_at as _add_at  # the adjoint of a gather: scatter-add

fit_to = _fit_to  # the engine's op that undoes broadcasting, listed with the shape ops

reshape: Op = Op("reshape",
                 lambda x, *, shape: np.reshape(x, shape),
                 lambda g, out, x, *, shape: g.reshape(np.shape(_raw(x))),
                 scalar=False, defaults={"shape": REQUIRED}, varargs=True,
                 methods=("reshape", "view"), info=OpInfo("reshape"))


def _inverse(axes: Any, ndim: int) -> Any:
    return None if axes is None else tuple(int(k) for k in np.argsort(np.asarray(axes) % ndim))


transpose: Op = Op("transpose",
                   lambda x, *, axes: np.transpose(x, axes),
                   lambda g, out, x, *, axes: transpose.of(g, axes=_inverse(axes, np.ndim(_raw(x)))),
                   scalar=False, defaults={"axes": None}, varargs=True, methods=("transpose",),
                   properties=("T",), info=OpInfo("transpose"))


# ---- helpers ------------------------------------------------------------------------------------
def _axes(axis: Any, ndim: int, op: str, shape: tuple, what: str = "axis") -> tuple:
    """`axis` (an int or a sequence of them, negative ones counting from the end) as a tuple of
    distinct axes in range(ndim); a ShapeError naming `op` otherwise."""
    axes = tuple(axis) if isinstance(axis, (tuple, list)) else (axis,)
    result = []
    for a in axes:
        a = operator.index(a)  # a float axis: TypeError, which the engine reports as such
        if not -ndim <= a < ndim:
            raise ShapeError(f"{op}: {what} {a} is out of range for {ndim} dimension(s) "
                             f"(input shape {shape})")
        result.append(a % ndim)
    if len(set(result)) < len(result):
        raise ShapeError(f"{op}: {what} {axis} names an axis twice (input shape {shape})")
    return tuple(result)


def _on_floats(forward: Callable[..., Any]) -> Callable[..., Any]:
    """The scalar path of an array op: a Python float goes in as a 0-d array, and a 0-d result
    comes out as a Python float again (numpy's rules for 0-d arrays, errors included)."""
    def scalar(x: float, **params: Any) -> Any:
        out = forward(np.asarray(x), **params)
        return float(out) if np.ndim(out) == 0 else out
    return scalar


def _back_to(g: Any, x: Any) -> Any:
    """The gradient of a pure reshaping: g in the shape of x (a Python float stays a float)."""
    return g if type(_raw(g)) is float else g.reshape(np.shape(_raw(x)))


def _ints(value: Any, op: str, what: str) -> tuple:
    """An int or a sequence of ints as a tuple of Python ints, each at least 0."""
    items = tuple(value) if isinstance(value, (tuple, list, np.ndarray)) else (value,)
    result = tuple(operator.index(v) for v in items)
    if any(v < 0 for v in result):
        raise ShapeError(f"{op}: {what} must not be negative, got {value!r}")
    return result


# ---- adding and removing axes of length 1 ----------------------------------------------------------
def _squeeze(x: np.ndarray, *, axis: Any) -> np.ndarray:
    if axis is None:
        return np.squeeze(x)
    axes = _axes(axis, x.ndim, "squeeze", x.shape)
    for a in axes:
        if x.shape[a] != 1:
            raise ShapeError(f"squeeze: axis {a} has length {x.shape[a]}, not 1 (input shape "
                             f"{x.shape}); only axes of length 1 can be removed")
    return np.squeeze(x, axes)


squeeze = Op("squeeze", _squeeze,
             lambda g, out, x, *, axis: _back_to(g, x),
             scalar=_on_floats(_squeeze), defaults={"axis": None}, methods=("squeeze",),
             info=OpInfo("squeeze"))


def _unsqueeze(x: np.ndarray, *, axis: Any) -> np.ndarray:
    """New axes of length 1 at the positions `axis` of the result (-1: after the last)."""
    count = len(axis) if isinstance(axis, (tuple, list)) else 1
    return np.expand_dims(x, _axes(axis, x.ndim + count, "unsqueeze", x.shape))


unsqueeze = Op("unsqueeze", _unsqueeze,
               lambda g, out, x, *, axis: _back_to(g, x),
               scalar=_on_floats(_unsqueeze), defaults={"axis": REQUIRED},
               methods=("unsqueeze", "expand_dims"), info=OpInfo("unsqueeze"))
expand_dims = unsqueeze  # numpy's name


def _flatten(x: np.ndarray, *, start_dim: int, end_dim: int) -> np.ndarray:
    """PyTorch's flatten: axes start_dim to end_dim (both included) merged into one."""
    ndim = max(x.ndim, 1)  # as in PyTorch, a 0-d input counts as 1-d and becomes shape (1,)
    (start,) = _axes(start_dim, ndim, "flatten", x.shape, "start_dim")
    (end,) = _axes(end_dim, ndim, "flatten", x.shape, "end_dim")
    if start > end:
        raise ShapeError(f"flatten: start_dim {start_dim} comes after end_dim {end_dim} (input "
                         f"shape {x.shape})")
    shape = x.shape if x.ndim else (1,)
    return x.reshape(shape[:start] + (math.prod(shape[start:end + 1]),) + shape[end + 1:])


flatten = Op("flatten", _flatten,
             lambda g, out, x, *, start_dim, end_dim: _back_to(g, x),
             scalar=_on_floats(_flatten), defaults={"start_dim": 0, "end_dim": -1},
             methods=("flatten",), info=OpInfo("flatten"))


@composite(methods=("ravel",))
def ravel(x: Any) -> Value:
    """The elements of x in one axis, as np.ravel (a 0-d input gives shape (1,))."""
    return flatten(x)


@composite(methods=("unflatten",), scalar=False, info=OpInfo("unflatten", min_dims=1))
def unflatten(x: Any, axis: int, sizes: Any) -> Value:
    """PyTorch's unflatten: axis `axis` split into axes of `sizes` (one of them may be -1), the
    inverse of flatten."""
    shape = tuple(x.shape)
    (k,) = _axes(axis, len(shape), "unflatten", shape)
    sizes = tuple(int(n) for n in sizes)
    known = math.prod(n for n in sizes if n != -1)
    if sizes.count(-1) > 1 or (-1 not in sizes and known != shape[k]) or \
            (-1 in sizes and (known == 0 or shape[k] % known)):
        raise ShapeError(f"unflatten: sizes {sizes} do not split axis {axis} of length "
                         f"{shape[k]} (input shape {shape})")
    return reshape(x, shape[:k] + sizes + shape[k + 1:])


# ---- broadcasting -------------------------------------------------------------------------------
def _broadcast_to(x: np.ndarray, *, shape: Any) -> np.ndarray:
    try:
        return np.broadcast_to(x, shape)  # a read-only view, as numpy's
    except ValueError:
        raise ShapeError(f"broadcast_to: an input of shape {x.shape} cannot be broadcast to "
                         f"shape {shape}") from None


# The gradient of a broadcast is the gradient summed back to the input's shape: the engine does
# that to whatever a VJP returns, so the VJP passes g on as it is.
broadcast_to = Op("broadcast_to", _broadcast_to, identity_vjp,
                  scalar=_on_floats(_broadcast_to), defaults={"shape": REQUIRED},
                  methods=("broadcast_to",), info=OpInfo("broadcast_to"))


def _expand(x: np.ndarray, *, sizes: Any) -> np.ndarray:
    """PyTorch's expand: one size per axis (-1 keeps it), more sizes add leading axes."""
    sizes = tuple(sizes) if isinstance(sizes, (tuple, list)) else (sizes,)
    new = len(sizes) - x.ndim
    if new < 0:
        raise ShapeError(f"expand: {len(sizes)} size(s) {sizes} for an input of shape {x.shape}; "
                         "give one per axis at least")
    if any(s == -1 for s in sizes[:new]):
        raise ShapeError(f"expand: sizes {sizes} put -1 on a new leading axis of an input of shape "
                         f"{x.shape}; -1 keeps the size of an existing axis only")
    target = sizes[:new] + tuple(n if s == -1 else s for s, n in zip(sizes[new:], x.shape))
    try:
        return np.broadcast_to(x, target)
    except ValueError:
        raise ShapeError(f"expand: an input of shape {x.shape} cannot be expanded to {sizes}; an "
                         "axis can only grow from length 1") from None


expand = Op("expand", _expand, identity_vjp,
            scalar=_on_floats(_expand), defaults={"sizes": REQUIRED}, varargs=True,
            methods=("expand",), info=OpInfo("expand"))


# ---- reordering axes -----------------------------------------------------------------------------
swapaxes: Op = Op("swapaxes",
                  lambda x, *, axis1, axis2: np.swapaxes(x, axis1, axis2),
                  lambda g, out, x, *, axis1, axis2: swapaxes.of(g, axis1=axis1, axis2=axis2),
                  scalar=False, defaults={"axis1": REQUIRED, "axis2": REQUIRED},
                  methods=("swapaxes", "swapdims"), info=OpInfo("swapaxes", min_dims=1))
swapdims = swapaxes  # PyTorch's name

# moving axes `source` to positions `destination` is undone by moving them back
moveaxis: Op = Op("moveaxis",
                  lambda x, *, source, destination: np.moveaxis(x, source, destination),
                  lambda g, out, x, *, source, destination:
                  moveaxis.of(g, source=destination, destination=source),
                  scalar=False, defaults={"source": REQUIRED, "destination": REQUIRED},
                  methods=("moveaxis", "movedim"), info=OpInfo("moveaxis", min_dims=1))
movedim = moveaxis  # PyTorch's name


def _permutation(dims: Any, shape: tuple) -> tuple:
    """PyTorch's permute dims: every axis exactly once (negative ones counted from the end)."""
    count = len(dims) if isinstance(dims, (tuple, list)) else 1
    if count != len(shape):
        raise ShapeError(f"permute: dims {dims} for an input of shape {shape}; give each of its "
                         f"{len(shape)} axes once")
    return _axes(dims, len(shape), "permute", shape, "dims")


permute: Op = Op("permute",
                 lambda x, *, dims: np.transpose(x, _permutation(dims, x.shape)),
                 lambda g, out, x, *, dims: permute.of(
                     g, dims=tuple(int(k) for k in np.argsort(_permutation(dims, np.shape(_raw(x)))))),
                 scalar=False, defaults={"dims": REQUIRED}, varargs=True, methods=("permute",),
                 info=OpInfo("permute"))


# ---- reversing and rotating ----------------------------------------------------------------------
def _flip(x: np.ndarray, *, axis: Any) -> np.ndarray:
    if axis is None:
        return np.flip(x)
    return np.flip(x, _axes(axis, x.ndim, "flip", x.shape))


# flip(axis=None) reverses every axis; x.flip(0, 1) and x.flip((0, 1)) both reverse two
flip: Op = Op("flip", _flip,
              lambda g, out, x, *, axis: flip.of(g, axis=axis),
              scalar=_on_floats(_flip), defaults={"axis": None}, varargs=True,
              methods=("flip",), info=OpInfo("flip"))


def _at_least(x: Any, ndim: int, op: str) -> None:
    if np.ndim(_raw(x)) < ndim:
        raise ShapeError(f"{op}: needs an input of {ndim} dimension(s) or more, got shape "
                         f"{np.shape(_raw(x))}")


@composite(methods=("fliplr",), info=OpInfo(min_dims=2), scalar=False)
def fliplr(x: Any) -> Value:
    """x with axis 1 reversed (left to right), as np.fliplr: x needs two dimensions or more."""
    _at_least(x, 2, "fliplr")
    return flip(x, 1)


@composite(methods=("flipud",), info=OpInfo(min_dims=1), scalar=False)
def flipud(x: Any) -> Value:
    """x with axis 0 reversed (up to down), as np.flipud: x needs one dimension or more."""
    _at_least(x, 1, "flipud")
    return flip(x, 0)


def _rot90(x: np.ndarray, *, k: int, axes: Any) -> np.ndarray:
    axes = tuple(axes) if isinstance(axes, (tuple, list)) else (axes,)
    if len(axes) != 2:
        raise ShapeError(f"rot90: axes {axes} must name two axes (input shape {x.shape})")
    return np.rot90(x, operator.index(k), _axes(axes, x.ndim, "rot90", x.shape, "axes"))


# a rotation by k quarter turns is undone by -k quarter turns in the same plane
rot90: Op = Op("rot90", _rot90,
               lambda g, out, x, *, k, axes: rot90.of(g, k=-k, axes=axes),
               scalar=False, defaults={"k": 1, "axes": (0, 1)}, methods=("rot90",),
               info=OpInfo("rot90", min_dims=2))


def _negated(shift: Any) -> Any:
    if isinstance(shift, (tuple, list, np.ndarray)):
        return tuple(-operator.index(s) for s in shift)
    return -operator.index(shift)


def _roll(x: np.ndarray, *, shift: Any, axis: Any) -> np.ndarray:
    # numpy's meaning: axis None rolls the flattened array; shifts along an axis named twice add
    return np.roll(x, shift, axis)


roll: Op = Op("roll", _roll,
              lambda g, out, x, *, shift, axis: roll.of(g, shift=_negated(shift), axis=axis),
              scalar=_on_floats(_roll), defaults={"shift": REQUIRED, "axis": None},
              methods=("roll",), info=OpInfo("roll"))


# ---- padding and cropping ---------------------------------------------------------------------
PAD_MODES = ("constant", "reflect", "edge")


def _pad_pairs(pad_width: Any, shape: tuple, mode: str) -> np.ndarray:
    """numpy's pad_width conventions (n, (before, after), one pair per axis, or a dict {axis: n
    or (before, after)}) as an array of (before, after) per axis, checked: negative widths crop,
    and cannot crop more than an axis has; reflect and edge need something left to copy where
    they pad."""
    if mode not in PAD_MODES:
        raise ShapeError(f"pad: mode {mode!r} is not one of {PAD_MODES}")
    if isinstance(pad_width, dict):  # the axes it does not name are left alone
        given = pad_width
        pad_width = np.zeros((len(shape), 2), int)
        for axis, width in given.items():
            (k,) = _axes(axis, len(shape), "pad", shape)
            pad_width[k] = width
    widths = np.asarray(pad_width)
    if widths.dtype.kind not in "iu":
        raise ShapeError(f"pad: pad_width must be whole numbers, got {pad_width!r}")
    try:
        pairs = np.broadcast_to(widths, (len(shape), 2)).astype(int)
    except ValueError:
        raise ShapeError(f"pad: pad_width {pad_width!r} does not give (before, after) for each axis "
                         f"of an input of shape {shape}") from None
    for k, ((before, after), n) in enumerate(zip(pairs.tolist(), shape)):
        left = n - max(-before, 0) - max(-after, 0)
        if left < 0:
            raise ShapeError(f"pad: widths ({before}, {after}) crop more than the {n} element(s) "
                             f"of axis {k} (input shape {shape})")
        if left == 0 and mode != "constant" and (before > 0 or after > 0):
            raise ShapeError(f"pad: mode {mode!r} cannot pad axis {k}, which has no elements left "
                             f"after cropping (input shape {shape}, pad_width {pad_width!r})")
    return pairs


def _pad_index(pairs: np.ndarray, shape: tuple, mode: Any) -> tuple:
    """Where each element of the padded array comes from in the input, as an open mesh for
    fancy indexing: along each axis the kept positions, padded as numpy pads them."""
    indices = []
    for (before, after), n in zip(pairs.tolist(), shape):
        kept = np.arange(max(-before, 0), n - max(-after, 0))
        indices.append(np.pad(kept, (max(before, 0), max(after, 0)), mode=mode))
    return np.ix_(*indices)


def _pad(x: np.ndarray, *, pad_width: Any, mode: str, constant_values: Any) -> np.ndarray:
    pairs = _pad_pairs(pad_width, x.shape, mode)
    if mode != "constant":
        if np.any(np.asarray(constant_values) != 0):
            raise ShapeError(f"pad: constant_values applies to mode 'constant' only, not {mode!r}")
        return x[_pad_index(pairs, x.shape, mode)]  # one gather: reflect and edge copy elements
    crop = tuple(slice(max(-b, 0), n - max(-a, 0)) for (b, a), n in zip(pairs.tolist(), x.shape))
    return np.pad(x[crop], np.maximum(pairs, 0), constant_values=constant_values)


def _pad_vjp(g: Any, out: Any, x: Any, *, pad_width: Any, mode: str, constant_values: Any) -> Any:
    """The adjoint of padding by `pad_width`. Constant: padding by b is undone by cropping b and
    cropping by c by padding c zeros, so it is pad by -pad_width with zeros. Reflect and edge
    copy along each axis separately, so their adjoint folds one axis at a time (`_unpad_axis`):
    slices and small pads, no scatter-add (kept for reflections wider than the axis)."""
    shape = np.shape(_raw(x))
    pairs = _pad_pairs(pad_width, shape, mode)
    if mode == "constant":
        return pad.of(g, pad_width=-pairs, mode="constant", constant_values=0.0)
    kept = [n - max(-b, 0) - max(-a, 0) for (b, a), n in zip(pairs.tolist(), shape)]
    if mode == "reflect" and any(max(b, a) >= m for (b, a), m in zip(pairs.tolist(), kept)):
        # wider than the axis: numpy reflects again and again; scatter-add the gather instead
        return _add_at.of(g, key=_pad_index(pairs, shape, mode), shape=shape)
    for k, ((before, after), n) in enumerate(zip(pairs.tolist(), shape)):
        if before or after:
            g = _unpad_axis(g, k, before, after, n, mode)
    return g


def _unpad_axis(g: Any, k: int, before: int, after: int, n: int, mode: str) -> Any:
    """The gradient along axis k of an input of length n that was cropped by the negative and
    padded (reflect or edge) by the positive of `before` and `after`: each border element's
    gradient goes back to the element it copies (reflect: mirrored without the edge; edge: the
    edge), then the cropped elements get zeros."""
    cut_before, cut_after = max(-before, 0), max(-after, 0)
    b, a, m = max(before, 0), max(after, 0), n - cut_before - cut_after  # m: the kept length
    at = (slice(None),) * k

    def placed(piece: Any, start: int) -> Any:  # `piece` at positions start... of the kept m
        width = [(0, 0)] * g.ndim
        width[k] = (start, m - start - piece.shape[k])
        return pad.of(piece, pad_width=np.array(width), mode="constant", constant_values=0.0)

    kept = g[at + (slice(b, b + m),)]
    if b:
        head = g[at + (slice(0, b),)]
        kept = kept + (placed(flip.of(head, axis=k), 1) if mode == "reflect"
                       else placed(head.sum(axis=k, keepdims=True), 0))
    if a:
        tail = g[at + (slice(b + m, b + m + a),)]
        kept = kept + (placed(flip.of(tail, axis=k), m - 1 - a) if mode == "reflect"
                       else placed(tail.sum(axis=k, keepdims=True), m - 1))
    if cut_before or cut_after:
        width = [(0, 0)] * g.ndim
        width[k] = (cut_before, cut_after)
        kept = pad.of(kept, pad_width=np.array(width), mode="constant", constant_values=0.0)
    return kept


pad: Op = Op("pad", _pad, _pad_vjp,
             scalar=False, defaults={"pad_width": REQUIRED, "mode": "constant",
                                     "constant_values": 0.0},
             methods=("pad",), info=OpInfo("pad", min_dims=1))


# ---- repeating ----------------------------------------------------------------------------------
def _repeat(x: np.ndarray, *, repeats: Any, axis: Any) -> np.ndarray:
    """numpy's repeat: each element `repeats` times in a row along `axis` (None: flattened);
    `repeats` is one count or one per element along the axis."""
    _ints(repeats, "repeat", "repeats")
    return np.repeat(x, repeats, axis)


def _repeat_vjp(g: Any, out: Any, x: Any, *, repeats: Any, axis: Any) -> Any:
    """Each input element gets the sum of the gradients of its copies."""
    shape = np.shape(_raw(x))
    base = (math.prod(shape),) if axis is None else shape  # axis None repeats the flattened x
    k = 0 if axis is None else axis % len(shape)
    counts = np.asarray(repeats)
    if counts.size == 1:  # r copies in a row: sum over a new axis of length r
        folded = g.reshape(base[:k] + (base[k], int(counts.reshape(()))) + base[k + 1:]).sum(
            axis=k + 1)
    else:  # a count per element: copy j came from element source[j]
        source = np.repeat(np.arange(base[k]), counts)
        folded = _add_at.of(g, key=(slice(None),) * k + (source,), shape=base)
    return folded.reshape(shape) if axis is None else folded


repeat = Op("repeat", _repeat, _repeat_vjp,
            scalar=_on_floats(_repeat), defaults={"repeats": REQUIRED, "axis": None},
            methods=("repeat", "repeat_interleave"), info=OpInfo("repeat"))
repeat_interleave = repeat  # PyTorch's name for numpy's repeat


def _tile(x: np.ndarray, *, reps: Any) -> np.ndarray:
    """numpy's tile (PyTorch's Tensor.repeat): x copied reps[k] times along axis k; fewer reps
    than axes count from the last axis, more add leading axes."""
    return np.tile(x, _ints(reps, "tile", "reps"))


def _tile_vjp(g: Any, out: Any, x: Any, *, reps: Any) -> Any:
    """Each input element gets the sum of the gradients of its copies: the output, seen as
    (r0, n0, r1, n1, ...), summed over the r axes."""
    if type(_raw(g)) is float:  # a Python float tiled zero times: unchanged
        return g
    shape, reps = np.shape(_raw(x)), _ints(reps, "tile", "reps")
    ndim = max(len(shape), len(reps))
    reps = (1,) * (ndim - len(reps)) + reps
    sides = (1,) * (ndim - len(shape)) + shape
    split = tuple(v for r, n in zip(reps, sides) for v in (r, n))
    return g.reshape(split).sum(axis=tuple(range(0, 2 * ndim, 2))).reshape(shape)


tile = Op("tile", _tile, _tile_vjp,
          scalar=_on_floats(_tile), defaults={"reps": REQUIRED}, varargs=True,
          methods=("tile",), info=OpInfo("tile"))
