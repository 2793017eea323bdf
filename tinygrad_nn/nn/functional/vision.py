"""Resampling images as PyTorch's ``torch.nn.functional`` does it: pixel_shuffle,
pixel_unshuffle and interpolate.

Pixel (un)shuffling is a reshape and a permute: no arithmetic, exact gradients.

`interpolate` is separable: each spatial axis in turn, with torch's rules for where an output
position samples the input (align_corners, a given scale_factor used as it is, the clamping at
the borders, torch's single-precision index arithmetic for the nearest modes, an axis of kept
size copied in the linear modes and in 2-D 'nearest', which also halves the indices of a doubled
axis), so the positions and weights are those of torch's CPU kernels.

- The nearest modes gather the chosen elements, all axes in one indexing op (copies, exact).
- 'linear', 'bilinear', 'trilinear' and 'bicubic' multiply each axis by an (out, in)
  interpolation matrix holding each output's 2 (or 4, Keys' cubic with A = -0.75 as torch) weights:
  one BLAS product per axis, forward and backward. Measured on (N, C, H, W) inputs doubled in
  size, forward and backward: 3 to 7x faster than gathering the two neighbours and weighting
  them. The one difference it makes: a non-finite input element spreads NaN (0·inf) along its
  row of the product, where torch keeps it to the outputs that sample it.
- 'area' is adaptive average pooling to the output size (1-D and 2-D inputs, as
  `adaptive_avg_pool1d/2d` have them).

Refused, with an error: antialias=True, and 'area' for 3-D spatial input.
"""

from __future__ import annotations

import math
import operator
from typing import Any, Optional, Sequence, Union

import numpy as np

from ...engine import Value, constant
from ...errors import ShapeError, UnsupportedTypeError
from ...ops import matmul
from .conv import tuple_of
from .pooling import adaptive_avg_pool1d, adaptive_avg_pool2d

__all__ = ["pixel_shuffle", "pixel_unshuffle", "interpolate"]

Size = Union[int, Sequence[int]]
Scale = Union[float, Sequence[float]]

INTERPOLATE_MODES = ("nearest", "nearest-exact", "linear", "bilinear", "bicubic", "trilinear",
                     "area")
_SPATIAL_RANK = {"linear": 1, "bilinear": 2, "bicubic": 2, "trilinear": 3}
_CUBIC_A = -0.75  # torch's (and OpenCV's) cubic convolution coefficient


# ---- pixel shuffle ------------------------------------------------------------------------------
def _factor(factor: Any, who: str, what: str) -> int:
    try:
        r = operator.index(factor)
    except TypeError:
        raise ShapeError(f"{who}: {what} must be an int, got {factor!r}") from None
    if r < 1:
        raise ShapeError(f"{who}: {what} must be positive, got {r}")
    return r


def _image(input: Any, who: str) -> Value:
    x = constant(input, who)
    if x.ndim < 3:
        raise ShapeError(f"{who}: expected an input of shape (*, C, H, W), got shape {x.shape}")
    return x


def pixel_shuffle(input: Any, upscale_factor: int) -> Value:
    """torch's F.pixel_shuffle: (*, C·r², H, W) to (*, C, H·r, W·r), each group of r² channels
    laid out as an r×r block of pixels."""
    who = "pixel_shuffle"
    x, r = _image(input, who), _factor(upscale_factor, who, "upscale_factor")
    *lead, c, h, w = x.shape
    if c % (r * r):
        raise ShapeError(f"{who}: the channel axis ({c}, input shape {x.shape}) must divide by "
                         f"upscale_factor² = {r * r}")
    k = len(lead)
    y = x.reshape(tuple(lead) + (c // (r * r), r, r, h, w))
    y = y.permute(tuple(range(k)) + (k, k + 3, k + 1, k + 4, k + 2))
    return y.reshape(tuple(lead) + (c // (r * r), h * r, w * r))


def pixel_unshuffle(input: Any, downscale_factor: int) -> Value:
    """torch's F.pixel_unshuffle, the inverse of pixel_shuffle: (*, C, H·r, W·r) to
    (*, C·r², H, W)."""
    who = "pixel_unshuffle"
    x, r = _image(input, who), _factor(downscale_factor, who, "downscale_factor")
    *lead, c, h, w = x.shape
    if h % r or w % r:
        raise ShapeError(f"{who}: the height and width ({h}, {w}, input shape {x.shape}) must "
                         f"divide by downscale_factor = {r}")
    k = len(lead)
    y = x.reshape(tuple(lead) + (c, h // r, r, w // r, r))
    y = y.permute(tuple(range(k)) + (k, k + 2, k + 4, k + 1, k + 3))
    return y.reshape(tuple(lead) + (c * r * r, h // r, w // r))


# ---- interpolate: the output's geometry ----------------------------------------------------------
def _geometry(spatial: tuple, size: Any, scale_factor: Any, recompute: Optional[bool],
              mode: str) -> tuple:
    """The output size per axis, and the scale factor that places the samples (None: input size
    over output size), by torch's rules: exactly one of size and scale_factor; the output
    ⌊L·scale⌋; the given factor kept unless recompute_scale_factor (or 'area') asks for the ratio
    of the sizes."""
    who, n = "interpolate", len(spatial)
    if size is not None and scale_factor is not None:
        raise ShapeError(f"{who}: give only one of size and scale_factor (got {size!r} and "
                         f"{scale_factor!r})")
    if size is None and scale_factor is None:
        raise ShapeError(f"{who}: give either size or scale_factor")
    if size is not None:
        if recompute:
            raise ShapeError(f"{who}: recompute_scale_factor is not meaningful with an explicit "
                             "size")
        sizes = tuple_of(size, n, who, "size")
        scales: tuple = (None,) * n
    else:
        items = tuple(scale_factor) if isinstance(scale_factor, (tuple, list)) else \
            (scale_factor,) * n
        if len(items) != n or not all(isinstance(f, (int, float, np.integer, np.floating))
                                      for f in items):
            raise ShapeError(f"{who}: scale_factor must be a number or {n} numbers for an input "
                             f"with {n} spatial axes, got {scale_factor!r}")
        factors = tuple(float(f) for f in items)
        sizes = tuple(math.floor(length * f) for length, f in zip(spatial, factors))
        scales = (None,) * n if recompute or mode == "area" else factors
    if min(spatial) < 1 or min(sizes) < 1:
        raise ShapeError(f"{who}: input and output sizes must be positive, got input "
                         f"{spatial} and output {sizes}")
    return sizes, scales


def _step(n_in: int, n_out: int, scale: Optional[float], align_corners: bool, dtype: Any) -> Any:
    """The distance in the input between neighbouring output samples, in `dtype` as torch
    computes it (area_pixel_compute_scale)."""
    if align_corners:
        return dtype(n_in - 1) / dtype(n_out - 1) if n_out > 1 else dtype(0)
    return dtype(1.0 / scale) if scale is not None and scale > 0 else dtype(n_in) / dtype(n_out)


def _nearest_index(n_in: int, n_out: int, scale: Optional[float], exact: bool,
                   shortcuts: bool) -> np.ndarray:
    """Which input element each output copies: ⌊j·step⌋ ('nearest') or ⌊(j + ½)·step⌋
    ('nearest-exact'), in float32 as torch's kernels compute it. `shortcuts`: an axis of kept
    size copied and one of doubled size halved whatever the scale factor, as torch's 2-D
    'nearest' kernel does (its 1-D and 3-D ones do not)."""
    j = np.arange(n_out)
    if shortcuts and n_out in (n_in, 2 * n_in):
        return j if n_out == n_in else j >> 1
    step = _step(n_in, n_out, scale, False, np.float32)
    at = (j.astype(np.float32) + np.float32(0.5)) * step if exact else j.astype(np.float32) * step
    return np.minimum(np.floor(at).astype(np.intp), n_in - 1)


def _cubic_weights(t: np.ndarray, a: Any) -> tuple:
    """Keys' cubic convolution weights of the taps at -1, 0, 1 and 2 from a sample that lies a
    fraction t past tap 0."""
    def inner(d: Any) -> Any:  # a tap within 1 of the sample
        return ((a + 2) * d - (a + 3)) * d * d + 1

    def outer(d: Any) -> Any:  # a tap between 1 and 2 away
        return ((a * d - 5 * a) * d + 8 * a) * d - 4 * a
    return outer(t + 1), inner(t), inner(1 - t), outer(2 - t)


def _interpolation_matrix(n_in: int, n_out: int, scale: Optional[float], align_corners: bool,
                          cubic: bool, dtype: Any) -> np.ndarray:
    """The (n_out, n_in) matrix of linear (2 taps) or cubic (4 taps, indices clamped to the axis)
    interpolation weights, placed and weighted as torch's kernels do (which copy an axis whose
    size is kept in the linear modes, whatever the scale factor)."""
    if n_out == n_in and not cubic:
        return np.eye(n_in, dtype=dtype)
    step = _step(n_in, n_out, scale, align_corners, dtype)
    j = np.arange(n_out).astype(dtype)
    source = step * j if align_corners else step * (j + dtype(0.5)) - dtype(0.5)
    rows = np.arange(n_out)
    matrix = np.zeros((n_out, n_in), dtype)
    if cubic:
        first = np.floor(source).astype(np.intp)
        for offset, weight in zip(range(-1, 3), _cubic_weights(source - first, dtype(_CUBIC_A))):
            np.add.at(matrix, (rows, np.clip(first + offset, 0, n_in - 1)), weight)
        return matrix
    source = np.maximum(source, 0)
    first = np.minimum(np.floor(source).astype(np.intp), n_in - 1)
    lam = np.clip(source - first, 0, 1)
    matrix[rows, first] = 1 - lam
    matrix[rows, first + (first < n_in - 1)] += lam
    return matrix


def interpolate(input: Any, size: Optional[Size] = None, scale_factor: Optional[Scale] = None,
                mode: str = "nearest", align_corners: Optional[bool] = None,
                recompute_scale_factor: Optional[bool] = None, antialias: bool = False) -> Value:
    """torch's F.interpolate: (N, C, *spatial) with 1 to 3 spatial axes resized to `size`, or
    by `scale_factor`, in mode 'nearest', 'nearest-exact', 'linear' (1-D), 'bilinear' or
    'bicubic' (2-D), 'trilinear' (3-D) or 'area' (1-D, 2-D); `align_corners` for the
    interpolating modes as torch's. antialias=True is not supported."""
    who = "interpolate"
    x = constant(input, who)
    if x.ndim not in (3, 4, 5):
        raise ShapeError(f"{who}: expected a 3-D, 4-D or 5-D input (N, C, *spatial), got shape "
                         f"{x.shape}")
    n = x.ndim - 2
    if mode not in INTERPOLATE_MODES:
        raise ShapeError(f"{who}: mode must be one of {INTERPOLATE_MODES}, got {mode!r}")
    if _SPATIAL_RANK.get(mode, n) != n:
        raise ShapeError(f"{who}: mode {mode!r} needs a {_SPATIAL_RANK[mode] + 2}-D input, got "
                         f"shape {x.shape}")
    if mode not in _SPATIAL_RANK and align_corners is not None:
        raise ShapeError(f"{who}: align_corners can only be set with the interpolating modes "
                         f"{tuple(_SPATIAL_RANK)}, not {mode!r}")
    if antialias:
        raise UnsupportedTypeError(f"{who}: antialias=True is not supported")
    spatial = tuple(x.shape[2:])
    sizes, scales = _geometry(spatial, size, scale_factor, recompute_scale_factor, mode)
    if mode == "area":
        if n == 3:
            raise UnsupportedTypeError(f"{who}: mode 'area' is not supported for 3-D spatial "
                                       "input (no adaptive_avg_pool3d)")
        return (adaptive_avg_pool1d if n == 1 else adaptive_avg_pool2d)(x, sizes)
    if mode.startswith("nearest"):
        keys = [_nearest_index(m, s, scale, mode == "nearest-exact", mode == "nearest" and n == 2)
                for m, s, scale in zip(spatial, sizes, scales)]
        if all(len(k) == m and np.array_equal(k, np.arange(m)) for k, m in zip(keys, spatial)):
            return x
        return x[(slice(None), slice(None)) + np.ix_(*keys)]
    y = x
    for axis in reversed(range(n)):  # the last axis first
        matrix = _interpolation_matrix(spatial[axis], sizes[axis], scales[axis],
                                       bool(align_corners), mode == "bicubic", x.dtype.type)
        if matrix.shape[0] == matrix.shape[1] and np.array_equal(matrix, np.eye(len(matrix))):
            continue
        if axis == n - 1:
            y = matmul(y, matrix.T)
        else:  # the axes after it flattened into one: (N, C, ..., L, rest) on the left
            shape = tuple(y.shape)
            rest = shape[axis + 3:]
            merged = y.reshape(shape[:axis + 2] + (shape[axis + 2], math.prod(rest)))
            y = matmul(matrix, merged).reshape(shape[:axis + 2] + (sizes[axis],) + rest)
    return y
