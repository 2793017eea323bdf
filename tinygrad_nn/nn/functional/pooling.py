"""Pooling as PyTorch's ``torch.nn.functional`` has it: max_pool1d/2d/3d, avg_pool1d/2d/3d,
adaptive_avg_pool1d/2d/3d and adaptive_max_pool1d/2d/3d.

Max and average pooling reduce the windows of the padded input (`tinygrad_nn.ops.
sliding_windows`, a view: nothing is copied) over the kernel axes; their gradients come back
through the windows' adjoint (`fold_windows`). Adaptive average pooling is a product with one
averaging matrix per spatial axis (the windows of torch's rule, start = ⌊i·L/out⌋, end =
⌈(i+1)·L/out⌉, differ in size, but each average is separable), adaptive max pooling gathers
each variable window into a fixed-size one padded with -inf.

Ties in max pooling: the whole gradient of a window goes to its first maximum in row-major
order, as torch's kernels send it (`tinygrad_nn.ops.first_max`), so gradients match torch's
even where ties are common (zeros after a ReLU, saturated pixels). An element that is the
maximum of several overlapping windows gets the sum of their gradients. Padding is -inf, so it
never wins (torch also lets a window start only inside the input or its left padding).

Inputs are (N, C, *spatial) or unbatched (C, *spatial), as in torch. ``return_indices=True``
returns, with the output, the position of each maximum in the flattened spatial axes of the
input (an int64 numpy array: an index, not a Value), what torch's max_unpool takes.
"""

from __future__ import annotations

import math
from typing import Any, Optional, Union

import numpy as np

from ...engine import Value, constant
from ...errors import ShapeError
from ...ops import first_max, matmul, moveaxis, pad, sliding_windows
from .conv import Size, tuple_of

__all__ = ["max_pool1d", "max_pool2d", "max_pool3d", "avg_pool1d", "avg_pool2d", "avg_pool3d",
           "adaptive_avg_pool1d", "adaptive_avg_pool2d", "adaptive_avg_pool3d",
           "adaptive_max_pool1d", "adaptive_max_pool2d", "adaptive_max_pool3d"]


def _spatial_input(input: Any, n: int, who: str) -> Value:
    """The input as a Value with one or more axes before the n spatial ones."""
    x = constant(input, who)
    if x.ndim not in (n + 1, n + 2):
        raise ShapeError(f"{who}: expected a {n + 1}-D (unbatched) or {n + 2}-D (batched) input, "
                         f"got shape {x.shape}")
    return x


def pool_geometry(who: str, spatial: tuple, kernel_size: Size, stride: Optional[Size],
                  padding: Size, dilation: Size, ceil_mode: bool) -> tuple:
    """Kernel, stride, dilation, (before, after) padding and output size per spatial axis, by
    torch's rules: stride defaults to the kernel; padding at most half the kernel; the output
    ⌊(L + 2p - d(k-1) - 1) / s⌋ + 1 (⌈⌉ with ceil_mode, but the last window must start inside the
    input or its left padding); ceil_mode's extra windows reach past the right padding, and
    `after` grows to hold them."""
    n = len(spatial)
    k = tuple_of(kernel_size, n, who, "kernel_size")
    s = k if stride is None or stride == () else tuple_of(stride, n, who, "stride")
    p, d = tuple_of(padding, n, who, "padding"), tuple_of(dilation, n, who, "dilation")
    if any(v < 1 for v in k + s + d) or any(q < 0 for q in p):
        raise ShapeError(f"{who}: kernel_size, stride and dilation must be positive and padding "
                         f"not negative; got {k}, {s}, {d}, {p}")
    if any(2 * q > ki for q, ki in zip(p, k)):
        raise ShapeError(f"{who}: padding {p} should be at most half of kernel size {k}")
    out, pairs = [], []
    for length, ki, si, q, di in zip(spatial, k, s, p, d):
        span = di * (ki - 1) + 1
        reach = length + 2 * q - span
        if reach < 0:
            raise ShapeError(f"{who}: kernel size {k} (dilated: {span}) is larger than the padded "
                             f"input's spatial size (input spatial size {spatial}, padding {p})")
        o = (-(-reach // si) if ceil_mode else reach // si) + 1
        if ceil_mode and (o - 1) * si >= length + q:
            o -= 1
        out.append(o)
        pairs.append((q, max((o - 1) * si + span - length - q, 0)))  # < 0: never reached
    return k, s, d, tuple(pairs), tuple(out)


def _max_pool(input: Any, kernel_size: Size, stride: Optional[Size], padding: Size,
              dilation: Size, ceil_mode: bool, return_indices: bool, n: int, who: str) -> Any:
    x = _spatial_input(input, n, who)
    spatial = tuple(x.shape[x.ndim - n:])
    k, s, d, pairs, out = pool_geometry(who, spatial, kernel_size, stride, padding, dilation,
                                        ceil_mode)
    xp = _padded(x, pairs, -np.inf)
    windows = sliding_windows(xp, kernel_size=k, stride=s, dilation=d)
    y = first_max(windows, ndim=n)
    if not return_indices:
        return y
    return y, _argmax_positions(windows.data, spatial, k, s, d, pairs)


def _padded(x: Value, pairs: tuple, value: float) -> Value:
    if not any(b or a for b, a in pairs):
        return x
    return pad(x, ((0, 0),) * (x.ndim - len(pairs)) + pairs, constant_values=value)


def _argmax_positions(windows: np.ndarray, spatial: tuple, k: tuple, s: tuple, d: tuple,
                      pairs: tuple) -> np.ndarray:
    """Where each window's first maximum lies in the input's flattened spatial axes."""
    n = len(k)
    lead = windows.shape[:windows.ndim - n]
    first = np.argmax(windows.reshape(lead + (math.prod(k),)), axis=-1)
    offsets = np.unravel_index(first, k)
    flat = np.zeros(first.shape, np.int64)
    for i in range(n):
        starts = np.arange(windows.shape[windows.ndim - 2 * n + i]) * s[i] - pairs[i][0]
        place = starts.reshape((-1,) + (1,) * (n - 1 - i)) + offsets[i] * d[i]
        flat = flat * spatial[i] + place
    return flat


def max_pool1d(input: Any, kernel_size: Size, stride: Optional[Size] = None, padding: Size = 0,
               dilation: Size = 1, ceil_mode: bool = False, return_indices: bool = False) -> Any:
    """torch's F.max_pool1d over the last axis of (N, C, L) or (C, L)."""
    return _max_pool(input, kernel_size, stride, padding, dilation, ceil_mode, return_indices, 1,
                     "max_pool1d")


def max_pool2d(input: Any, kernel_size: Size, stride: Optional[Size] = None, padding: Size = 0,
               dilation: Size = 1, ceil_mode: bool = False, return_indices: bool = False) -> Any:
    """torch's F.max_pool2d over the last two axes of (N, C, H, W) or (C, H, W)."""
    return _max_pool(input, kernel_size, stride, padding, dilation, ceil_mode, return_indices, 2,
                     "max_pool2d")


def max_pool3d(input: Any, kernel_size: Size, stride: Optional[Size] = None, padding: Size = 0,
               dilation: Size = 1, ceil_mode: bool = False, return_indices: bool = False) -> Any:
    """torch's F.max_pool3d over the last three axes of (N, C, D, H, W) or (C, D, H, W)."""
    return _max_pool(input, kernel_size, stride, padding, dilation, ceil_mode, return_indices, 3,
                     "max_pool3d")


def _avg_pool(input: Any, kernel_size: Size, stride: Optional[Size], padding: Size,
              ceil_mode: bool, count_include_pad: bool, divisor_override: Optional[int], n: int,
              who: str) -> Value:
    x = _spatial_input(input, n, who)
    spatial = tuple(x.shape[x.ndim - n:])
    k, s, d, pairs, out = pool_geometry(who, spatial, kernel_size, stride, padding, 1, ceil_mode)
    xp = _padded(x, pairs, 0.0)
    sums = sliding_windows(xp, kernel_size=k, stride=s).sum(axis=tuple(range(-n, 0)))
    if divisor_override is not None:
        if not isinstance(divisor_override, (int, np.integer)) or divisor_override == 0:
            raise ShapeError(f"{who}: divisor_override must be a nonzero int, got "
                             f"{divisor_override!r}")
        return sums / float(divisor_override)
    return sums * _inverse_counts(spatial, k, s, pairs, out, count_include_pad, x.dtype)


def _inverse_counts(spatial: tuple, k: tuple, s: tuple, pairs: tuple, out: tuple,
                    count_include_pad: bool, dtype: Any) -> np.ndarray:
    """1 / the number of elements each window averages, torch's way: the window clipped to the
    padded input (ceil_mode's overhang never counts), or to the input itself without
    count_include_pad. Windows are boxes, so the count is a product of one count per axis."""
    total = np.ones((), dtype)
    for length, ki, si, (before, after), o in zip(spatial, k, s, pairs, out):
        starts = np.arange(o) * si - before
        lo, hi = (-before, length + before) if count_include_pad else (0, length)
        count = np.minimum(starts + ki, hi) - np.maximum(starts, lo)
        total = total[..., None] * count.astype(dtype)
    return 1.0 / total


def avg_pool1d(input: Any, kernel_size: Size, stride: Optional[Size] = None, padding: Size = 0,
               ceil_mode: bool = False, count_include_pad: bool = True) -> Value:
    """torch's F.avg_pool1d over the last axis of (N, C, L) or (C, L)."""
    return _avg_pool(input, kernel_size, stride, padding, ceil_mode, count_include_pad, None, 1,
                     "avg_pool1d")


def avg_pool2d(input: Any, kernel_size: Size, stride: Optional[Size] = None, padding: Size = 0,
               ceil_mode: bool = False, count_include_pad: bool = True,
               divisor_override: Optional[int] = None) -> Value:
    """torch's F.avg_pool2d over the last two axes of (N, C, H, W) or (C, H, W);
    `divisor_override` divides every sum by that number instead."""
    return _avg_pool(input, kernel_size, stride, padding, ceil_mode, count_include_pad,
                     divisor_override, 2, "avg_pool2d")


def avg_pool3d(input: Any, kernel_size: Size, stride: Optional[Size] = None, padding: Size = 0,
               ceil_mode: bool = False, count_include_pad: bool = True,
               divisor_override: Optional[int] = None) -> Value:
    """torch's F.avg_pool3d over the last three axes of (N, C, D, H, W) or (C, D, H, W);
    `divisor_override` divides every sum by that number instead."""
    return _avg_pool(input, kernel_size, stride, padding, ceil_mode, count_include_pad,
                     divisor_override, 3, "avg_pool3d")


# ---- adaptive pooling: output_size fixed, windows by torch's rule ----------------------------------
def _adaptive_bounds(length: int, size: int) -> tuple:
    i = np.arange(size)
    return (i * length) // size, -((-(i + 1) * length) // size)


def _output_size(output_size: Any, spatial: tuple, who: str) -> tuple:
    """torch's output_size: an int or one per axis, None keeping the input's size there."""
    n = len(spatial)
    items = tuple(output_size) if isinstance(output_size, (tuple, list)) else (output_size,) * n
    if len(items) != n:
        raise ShapeError(f"{who}: output_size {output_size!r} must give {n} size(s)")
    sizes = tuple(m if v is None else v for v, m in zip(items, spatial))
    if not all(isinstance(v, (int, np.integer)) and v > 0 for v in sizes):
        raise ShapeError(f"{who}: output_size must hold positive ints (or None), got "
                         f"{output_size!r}")
    return tuple(int(v) for v in sizes)


def _adaptive_avg(input: Any, output_size: Any, n: int, who: str) -> Value:
    x = _spatial_input(input, n, who)
    spatial = tuple(x.shape[x.ndim - n:])
    sizes = _output_size(output_size, spatial, who)
    y = x
    for i, (length, size) in enumerate(zip(spatial, sizes)):
        starts, ends = _adaptive_bounds(length, size)
        places = np.arange(length)
        inside = (places >= starts[:, None]) & (places < ends[:, None])
        averaging = (inside / (ends - starts)[:, None]).astype(x.dtype)  # (size, length)
        # the last axis from the right, the one before it (H of (H, W)) from the left, an
        # earlier one (D of (D, H, W)) moved into that place and back
        if i == n - 1:
            y = matmul(y, averaging.T)
        elif i == n - 2:
            y = matmul(averaging, y)
        else:
            y = moveaxis(matmul(averaging, moveaxis(y, i - n, -2)), -2, i - n)
    return y


def adaptive_avg_pool1d(input: Any, output_size: Any) -> Value:
    """torch's F.adaptive_avg_pool1d: (N, C, L) or (C, L) averaged into output_size windows."""
    return _adaptive_avg(input, output_size, 1, "adaptive_avg_pool1d")


def adaptive_avg_pool2d(input: Any, output_size: Any) -> Value:
    """torch's F.adaptive_avg_pool2d: (N, C, H, W) or (C, H, W) averaged into output_size (an
    int, or (oH, oW), None keeping that side)."""
    return _adaptive_avg(input, output_size, 2, "adaptive_avg_pool2d")


def adaptive_avg_pool3d(input: Any, output_size: Any) -> Value:
    """torch's F.adaptive_avg_pool3d: (N, C, D, H, W) or (C, D, H, W) averaged into output_size
    (an int, or (oD, oH, oW), None keeping that side)."""
    return _adaptive_avg(input, output_size, 3, "adaptive_avg_pool3d")


def _adaptive_max(input: Any, output_size: Any, return_indices: bool, n: int,
                  who: str) -> Union[Value, tuple]:
    """Each variable window gathered into one of the largest window's size, the places past
    its end filled with -inf, then first_max over them."""
    x = _spatial_input(input, n, who)
    spatial = tuple(x.shape[x.ndim - n:])
    sizes = _output_size(output_size, spatial, who)
    keys, masks, widest = [], [], []
    for i, (length, size) in enumerate(zip(spatial, sizes)):
        starts, ends = _adaptive_bounds(length, size)
        width = int((ends - starts).max())
        offsets = starts[:, None] + np.arange(width)
        shape = [1] * (2 * n)
        shape[i], shape[n + i] = size, width
        keys.append(np.minimum(offsets, length - 1).reshape(shape))
        masks.append((offsets < ends[:, None]).reshape(shape))
        widest.append(width)
    lead = (slice(None),) * (x.ndim - n)
    gathered = x[lead + tuple(keys)]  # (..., *sizes, *widths)
    outside = ~np.logical_and.reduce(np.broadcast_arrays(*masks)) if n > 1 else ~masks[0]
    windows = gathered + np.where(outside, -np.inf, 0.0).astype(x.dtype)
    y = first_max(windows, ndim=n)
    if not return_indices:
        return y
    lead_shape = windows.shape[:windows.ndim - n]
    first = np.argmax(windows.data.reshape(lead_shape + (math.prod(widest),)), axis=-1)
    flat = np.zeros(first.shape, np.int64)
    for i, offset in enumerate(np.unravel_index(first, tuple(widest))):
        starts = _adaptive_bounds(spatial[i], sizes[i])[0]
        flat = flat * spatial[i] + starts.reshape((-1,) + (1,) * (n - 1 - i)) + offset
    return y, flat


def adaptive_max_pool1d(input: Any, output_size: Any, return_indices: bool = False) -> Any:
    """torch's F.adaptive_max_pool1d: the maximum of each of output_size windows of (N, C, L)."""
    return _adaptive_max(input, output_size, return_indices, 1, "adaptive_max_pool1d")


def adaptive_max_pool2d(input: Any, output_size: Any, return_indices: bool = False) -> Any:
    """torch's F.adaptive_max_pool2d over the last two axes of (N, C, H, W) or (C, H, W)."""
    return _adaptive_max(input, output_size, return_indices, 2, "adaptive_max_pool2d")


def adaptive_max_pool3d(input: Any, output_size: Any, return_indices: bool = False) -> Any:
    """torch's F.adaptive_max_pool3d over the last three axes of (N, C, D, H, W) or
    (C, D, H, W)."""
    return _adaptive_max(input, output_size, return_indices, 3, "adaptive_max_pool3d")
