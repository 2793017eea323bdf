"""Convolutions as PyTorch's ``torch.nn.functional`` has them: conv1d/2d/3d, conv_transpose1d/2d,
and the im2col pair unfold/fold.

A convolution is the windows of the padded input (`tinygrad_nn.ops.sliding_windows`, a view)
laid out as torch's unfold does, (N, C·∏k, L) with L the output positions (the only copy of
the input's windows), and one matmul op with the weight as an (out, C·∏k) matrix: numpy runs it
as one BLAS product per image (and group), whose results land in (N, out, *spatial) order, so
the output needs no transposing copy. Its gradient is the same product transposed, and the
windows' adjoint (`fold_windows`) for the input. A transposed convolution is the adjoint of a
convolution: the product first, then the windows folded back onto the larger output. Everything
is built from ops, so derivatives of every order come along.

Layouts and arguments follow torch: input (N, C, *spatial) or unbatched (C, *spatial); weight
(out, in/groups, *kernel) for conv, (in, out/groups, *kernel) for conv_transpose; stride,
padding, dilation an int or one per spatial axis; padding also "valid" or "same" (torch's rule:
"same" needs stride 1, and an odd total puts the extra element on the right). The output has
the input's dtype, C-contiguous.

Why this layout: the alternative, one BLAS call on (N·L, C·∏k) rows, leaves the output in
(N, *spatial, C) order; every later op then mixes layouts (a ReLU's gradient against a
contiguous gradient runs 5-10x slower), and a transposing copy costs more than the product.
"""

from __future__ import annotations

import math
from typing import Any, Sequence, Union

import numpy as np

from ...engine import Value, constant
from ...errors import ShapeError
from ...ops import concatenate, fold_windows, matmul, pad, sliding_windows
from ...ops.windows import window_geometry

__all__ = ["conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d", "unfold", "fold"]

Size = Union[int, Sequence[int]]


def tuple_of(value: Any, n: int, who: str, what: str) -> tuple:
    """An int or a sequence of n ints as a tuple of n ints (what torch's _ntuple does)."""
    items = tuple(value) if isinstance(value, (tuple, list)) else (value,) * n
    if len(items) != n or not all(isinstance(v, (int, np.integer)) for v in items):
        raise ShapeError(f"{who}: {what} must be an int or {n} ints, got {value!r}")
    return tuple(int(v) for v in items)


def conv_padding(padding: Any, n: int, kernel: tuple, dilation: tuple, stride: tuple,
                 who: str) -> tuple:
    """torch's padding argument as (before, after) per spatial axis: an int or n ints (both
    sides), "valid" (none) or "same" (the output as large as the input: d (k - 1) in all, the
    odd element on the right; stride 1 only)."""
    if padding == "valid":
        return ((0, 0),) * n
    if padding == "same":
        if any(s != 1 for s in stride):
            raise ShapeError(f"{who}: padding='same' is not supported for strided convolutions "
                             f"(stride {stride})")
        totals = [d * (k - 1) for k, d in zip(kernel, dilation)]
        return tuple((t // 2, t - t // 2) for t in totals)
    if isinstance(padding, str):
        raise ShapeError(f"{who}: padding must be an int, a tuple of ints, 'valid' or 'same', "
                         f"got {padding!r}")
    sides = tuple_of(padding, n, who, "padding")
    if any(p < 0 for p in sides):
        raise ShapeError(f"{who}: padding must not be negative, got {padding!r}")
    return tuple((p, p) for p in sides)


def batched(input: Any, n: int, who: str, what: str = "input") -> tuple:
    """The input as a Value of shape (N, C, *spatial), and whether it came unbatched."""
    x = constant(input, who)
    if x.ndim not in (n + 1, n + 2):
        raise ShapeError(f"{who}: expected a {n + 1}-D (unbatched) or {n + 2}-D (batched) {what}, "
                         f"got shape {x.shape}")
    return (x.reshape((1,) + x.shape), True) if x.ndim == n + 1 else (x, False)


def padded(x: Value, pairs: tuple, value: float = 0.0) -> Value:
    """x padded on its spatial axes (all but the first two) by (before, after) pairs."""
    if not any(b or a for b, a in pairs):
        return x
    return pad(x, ((0, 0), (0, 0)) + tuple(pairs), constant_values=value)


def _conv(input: Any, weight: Any, bias: Any, stride: Size, padding: Any, dilation: Size,
          groups: int, n: int, who: str) -> Value:
    x, unbatched = batched(input, n, who)
    w = constant(weight, who)
    if w.ndim != n + 2:
        raise ShapeError(f"{who}: expected a {n + 2}-D weight (out_channels, in_channels/groups, "
                         f"*kernel), got shape {w.shape}")
    out_channels, group_in = w.shape[0], w.shape[1]
    kernel = tuple(w.shape[2:])
    s, d = tuple_of(stride, n, who, "stride"), tuple_of(dilation, n, who, "dilation")
    g = _groups(groups, who)
    if out_channels % g or x.shape[1] != group_in * g:
        raise ShapeError(f"{who}: input of shape {x.shape} and weight of shape {w.shape} with "
                         f"groups={g}: the input needs {group_in * g} channels (weight.shape[1] "
                         f"* groups) and out_channels {out_channels} must divide by groups")
    _check_bias(bias, out_channels, who)
    xp = padded(x, conv_padding(padding, n, kernel, d, s, who))
    _fits(who, xp.shape, x.shape, kernel, d)
    windows = sliding_windows(xp, kernel_size=kernel, stride=s, dilation=d)  # (N, C, *out, *k)
    batch, out = x.shape[0], windows.shape[2:2 + n]
    per_group = out_channels // g
    # torch's unfold layout, (N, G, C/G·∏k, L): the one copy of the windows; then per image
    # and group (G, out/G, C/G·∏k) @ (C/G·∏k, L), which gives (N, out, *out_size) contiguous
    columns = windows.transpose(0, 1, *range(2 + n, 2 + 2 * n), *range(2, 2 + n)).reshape(
        batch, g, group_in * math.prod(kernel), math.prod(out))
    weights = w.reshape(g, per_group, -1)
    if bias is not None:  # the bias as one more weight column, against a row of ones: the
        # product adds it, and its gradient comes with the weight's (no pass over the output)
        ones = np.ones((batch, g, 1, math.prod(out)), columns.dtype)
        columns = concatenate([columns, ones], axis=2)
        weights = concatenate([weights, constant(bias, who).reshape(g, per_group, 1)], axis=2)
    y = matmul(weights, columns).reshape((batch, out_channels) + out)
    return y.reshape(y.shape[1:]) if unbatched else y


def _groups(groups: Any, who: str) -> int:
    if not isinstance(groups, (int, np.integer)) or groups < 1:
        raise ShapeError(f"{who}: groups must be a positive int, got {groups!r}")
    return int(groups)


def _check_bias(bias: Any, channels: int, who: str) -> None:
    if bias is not None and np.shape(bias.data if isinstance(bias, Value) else bias) != (channels,):
        raise ShapeError(f"{who}: bias must have shape ({channels},), one per output channel; "
                         f"got {np.shape(bias.data if isinstance(bias, Value) else bias)}")


def _fits(who: str, padded_shape: tuple, shape: tuple, kernel: tuple, dilation: tuple) -> None:
    n = len(kernel)
    span = tuple(d * (k - 1) + 1 for k, d in zip(kernel, dilation))
    if any(e > m for e, m in zip(span, padded_shape[2:])):
        raise ShapeError(f"{who}: kernel size {kernel} (dilated: {span}) is larger than the padded "
                         f"input's spatial size {tuple(padded_shape[2:])} (input shape {shape}, "
                         f"{n}-D convolution)")


def conv1d(input: Any, weight: Any, bias: Any = None, stride: Size = 1, padding: Any = 0,
           dilation: Size = 1, groups: int = 1) -> Value:
    """torch's F.conv1d: input (N, C, L) or (C, L), weight (out, C/groups, k)."""
    return _conv(input, weight, bias, stride, padding, dilation, groups, 1, "conv1d")


def conv2d(input: Any, weight: Any, bias: Any = None, stride: Size = 1, padding: Any = 0,
           dilation: Size = 1, groups: int = 1) -> Value:
    """torch's F.conv2d: input (N, C, H, W) or (C, H, W), weight (out, C/groups, kH, kW)."""
    return _conv(input, weight, bias, stride, padding, dilation, groups, 2, "conv2d")


def conv3d(input: Any, weight: Any, bias: Any = None, stride: Size = 1, padding: Any = 0,
           dilation: Size = 1, groups: int = 1) -> Value:
    """torch's F.conv3d: input (N, C, D, H, W) or (C, D, H, W), weight (out, C/groups, kD, kH,
    kW)."""
    return _conv(input, weight, bias, stride, padding, dilation, groups, 3, "conv3d")


# ---- transposed convolutions: the adjoint of a convolution with respect to its input ---------------
def _conv_transpose(input: Any, weight: Any, bias: Any, stride: Size, padding: Size,
                    output_padding: Size, groups: int, dilation: Size, n: int, who: str) -> Value:
    x, unbatched = batched(input, n, who)
    w = constant(weight, who)
    if w.ndim != n + 2:
        raise ShapeError(f"{who}: expected a {n + 2}-D weight (in_channels, out_channels/groups, "
                         f"*kernel), got shape {w.shape}")
    g = _groups(groups, who)
    in_channels, per_group = w.shape[0], w.shape[1]
    kernel = tuple(w.shape[2:])
    if x.shape[1] != in_channels or in_channels % g:
        raise ShapeError(f"{who}: input of shape {x.shape} and weight of shape {w.shape} with "
                         f"groups={g}: the input needs {in_channels} channels (weight.shape[0]), "
                         "which must divide by groups")
    s, d = tuple_of(stride, n, who, "stride"), tuple_of(dilation, n, who, "dilation")
    p, extra = tuple_of(padding, n, who, "padding"), tuple_of(output_padding, n, who,
                                                              "output_padding")
    if any(q < 0 for q in p + extra):
        raise ShapeError(f"{who}: padding and output_padding must not be negative")
    if any(e >= si and e >= di for e, si, di in zip(extra, s, d)):
        raise ShapeError(f"{who}: output_padding {extra} must be smaller than either stride {s} "
                         f"or dilation {d}")
    out_channels = per_group * g
    _check_bias(bias, out_channels, who)
    batch, spatial = x.shape[0], tuple(x.shape[2:])
    full = tuple(si * (m - 1) + di * (k - 1) + 1 for si, m, di, k in zip(s, spatial, d, kernel))
    if any(f + e - 2 * q <= 0 for f, e, q in zip(full, extra, p)):
        raise ShapeError(f"{who}: padding {p} leaves no output for an input of shape {x.shape} "
                         f"and kernel {kernel}")
    group_in = in_channels // g
    # each input position spreads its channels over a window of the output: per image and
    # group (out/G·∏k, C/G) @ (C/G, L), then the windows folded onto the output
    spread = matmul(w.reshape(g, group_in, -1).transpose(0, 2, 1),
                    x.reshape(batch, g, group_in, math.prod(spatial)))
    windows = spread.reshape((batch, out_channels) + kernel + spatial).transpose(
        0, 1, *range(2 + n, 2 + 2 * n), *range(2, 2 + n))
    y = fold_windows(windows, output_size=full, kernel_size=kernel, stride=s, dilation=d)
    y = pad(y, ((0, 0), (0, 0)) + tuple((-q, e - q) for q, e in zip(p, extra)))
    if bias is not None:
        y = y + constant(bias, who).reshape((out_channels,) + (1,) * n)
    return y.reshape(y.shape[1:]) if unbatched else y


def conv_transpose1d(input: Any, weight: Any, bias: Any = None, stride: Size = 1,
                     padding: Size = 0, output_padding: Size = 0, groups: int = 1,
                     dilation: Size = 1) -> Value:
    """torch's F.conv_transpose1d: input (N, C, L) or (C, L), weight (C, out/groups, k); the
    output has length (L - 1) stride - 2 padding + dilation (k - 1) + output_padding + 1."""
    return _conv_transpose(input, weight, bias, stride, padding, output_padding, groups,
                           dilation, 1, "conv_transpose1d")


def conv_transpose2d(input: Any, weight: Any, bias: Any = None, stride: Size = 1,
                     padding: Size = 0, output_padding: Size = 0, groups: int = 1,
                     dilation: Size = 1) -> Value:
    """torch's F.conv_transpose2d: input (N, C, H, W) or (C, H, W), weight (C, out/groups, kH,
    kW); each side as conv_transpose1d's length."""
    return _conv_transpose(input, weight, bias, stride, padding, output_padding, groups,
                           dilation, 2, "conv_transpose2d")


# ---- im2col: torch's unfold and fold ----------------------------------------------------------------
def unfold(input: Any, kernel_size: Size, dilation: Size = 1, padding: Size = 0,
           stride: Size = 1) -> Value:
    """torch's F.unfold (im2col): the sliding blocks of a (N, C, H, W) or (C, H, W) input as
    columns, (N, C·kH·kW, L) with L the number of blocks (torch: 4-D input only)."""
    who = "unfold"
    x, unbatched = batched(input, 2, who)
    k = tuple_of(kernel_size, 2, who, "kernel_size")
    p = tuple_of(padding, 2, who, "padding")
    xp = padded(x, tuple((q, q) for q in p))
    _fits(who, xp.shape, x.shape, k, tuple_of(dilation, 2, who, "dilation"))
    windows = sliding_windows(xp, kernel_size=k, stride=stride, dilation=dilation)
    batch, channels = x.shape[:2]
    columns = windows.transpose(0, 1, 4, 5, 2, 3).reshape(batch, channels * k[0] * k[1], -1)
    return columns.reshape(columns.shape[1:]) if unbatched else columns


def fold(input: Any, output_size: Size, kernel_size: Size, dilation: Size = 1, padding: Size = 0,
         stride: Size = 1) -> Value:
    """torch's F.fold (col2im), the adjoint of unfold: columns (N, C·kH·kW, L) or (C·kH·kW, L)
    summed back into (N, C, *output_size), overlapping blocks adding up."""
    who = "fold"
    x = constant(input, who)
    if x.ndim not in (2, 3):
        raise ShapeError(f"{who}: expected a 2-D (unbatched) or 3-D (batched) input, got shape "
                         f"{x.shape}")
    unbatched = x.ndim == 2
    if unbatched:
        x = x.reshape((1,) + x.shape)
    size, k = tuple_of(output_size, 2, who, "output_size"), tuple_of(kernel_size, 2, who,
                                                                     "kernel_size")
    p = tuple_of(padding, 2, who, "padding")
    full = tuple(m + 2 * q for m, q in zip(size, p))
    _, s, d, out = window_geometry(who, full, k, stride, dilation)
    batch, rows, blocks = x.shape
    if rows % (k[0] * k[1]) or blocks != out[0] * out[1]:
        raise ShapeError(f"{who}: input of shape {tuple(x.shape)} for kernel {k} and output_size "
                         f"{size}: its second axis must be C·{k[0] * k[1]} and its last the "
                         f"{out[0] * out[1]} blocks {out}")
    channels = rows // (k[0] * k[1])
    windows = x.reshape((batch, channels) + k + out).transpose(0, 1, 4, 5, 2, 3)
    y = fold_windows(windows, output_size=full, kernel_size=k, stride=s, dilation=d)
    y = pad(y, ((0, 0), (0, 0)) + tuple((-q, -q) for q in p)) if any(p) else y
    return y.reshape(y.shape[1:]) if unbatched else y

