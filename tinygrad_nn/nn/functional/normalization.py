"""Normalisation as functions, with PyTorch's names and semantics: `batch_norm`, `instance_norm`,
`layer_norm`, `group_norm`, `local_response_norm`, `normalize` and `rms_norm`.

Each standardises its input over some axes, ``(x - mean) / sqrt(var + eps)`` with the biased
variance, then scales and shifts it. The standardisation is one fused op,
`tinygrad_nn.ops.standardize` (the variance from the deviations, accurate when the mean is large
against the spread; a backward of a few passes; derivatives of every order), and the rest is
built from ops too.
"""

from __future__ import annotations

from typing import Any, Dict, Optional, Sequence, Tuple, Union

import numpy as np

from ...engine import Value, constant
from ...errors import ShapeError, UnsupportedTypeError
from ...ops import norm, pad, rsqrt, standardize, var, where

__all__ = ["batch_norm", "instance_norm", "layer_norm", "group_norm", "local_response_norm",
           "normalize", "rms_norm"]


def _affine(out: Value, weight: Optional[Value], bias: Optional[Value]) -> Value:
    """out * weight + bias, either left out when None."""
    if weight is not None:
        out = out * weight
    return out if bias is None else out + bias


def _per_channel(who: str, channels: int, ndim: int, **arrays: Any) -> dict:
    """Check that each given per-channel array has `channels` elements; return them as Values
    shaped (1, C, 1, ...) to broadcast along axis 1 of an input of rank `ndim`."""
    shape = (1, channels) + (1,) * (ndim - 2)
    shaped: Dict[str, Optional[Value]] = {}
    for name, array in arrays.items():
        if array is None:
            shaped[name] = None
            continue
        value = constant(array, who)
        if value.shape != (channels,):
            raise ShapeError(f"{who}: {name} should have shape ({channels},), one element per "
                             f"channel of the input; got shape {value.shape}")
        shaped[name] = value.reshape(shape)
    return shaped


def _channels_input(who: str, input: Any, what: str = "(N, C, *)") -> Value:
    x = constant(input, who)
    if x.ndim < 2:
        raise ShapeError(f"{who}: expected an input of shape {what}, at least 2-D; got shape "
                         f"{x.shape}")
    return x


def _running(who: str, name: str, array: Any) -> Optional[np.ndarray]:
    """A running statistic: None, or a float numpy array updated in place."""
    if array is not None and not (isinstance(array, np.ndarray)
                                  and np.issubdtype(array.dtype, np.floating)):
        raise UnsupportedTypeError(f"{who}: {name} must be a float numpy array (it is updated in "
                                   f"place) or None; got {type(array).__name__}")
    return array


def _update(running: Optional[np.ndarray], batch: np.ndarray, momentum: float) -> None:
    """running <- (1 - momentum) running + momentum batch, in place."""
    if running is not None:
        running *= 1.0 - momentum
        running += momentum * batch


def _check_momentum(who: str, momentum: Any) -> float:
    if isinstance(momentum, bool) or not isinstance(momentum, (int, float, np.floating)):
        raise UnsupportedTypeError(f"{who}: momentum must be a number; got {momentum!r} (a "
                                   "module with momentum=None passes 1/num_batches_tracked)")
    return float(momentum)


def _affine_with(x: Value, mean: Value, var: Value, eps: float, weight: Optional[Value],
                 bias: Optional[Value]) -> Value:
    """(x - mean) / sqrt(var + eps) * weight + bias for fixed statistics, as x * scale + shift:
    two passes over x."""
    scale = rsqrt(var + eps)
    if weight is not None:
        scale = scale * weight
    shift = -mean * scale
    if bias is not None:
        shift = shift + bias
    return x * scale + shift


def batch_norm(input: Any, running_mean: Optional[np.ndarray], running_var: Optional[np.ndarray],
               weight: Any = None, bias: Any = None, training: bool = False,
               momentum: float = 0.1, eps: float = 1e-5) -> Value:
    """Batch normalisation over axis 1 (channels) of an input (N, C, *), as
    ``torch.nn.functional.batch_norm``.

    In training, each channel is standardised with the mean and biased variance of its N·L
    values, and `running_mean` / `running_var` (numpy arrays of C elements, or None) are updated
    in place: ``r <- (1 - momentum) r + momentum s``, with the unbiased variance. Otherwise the
    running statistics standardise the input. `weight` and `bias` (C elements) scale and shift.
    """
    who = "batch_norm"
    x = _channels_input(who, input)
    channels = x.shape[1]
    running_mean = _running(who, "running_mean", running_mean)
    running_var = _running(who, "running_var", running_var)
    p = _per_channel(who, channels, x.ndim, running_mean=running_mean, running_var=running_var,
                     weight=weight, bias=bias)
    if not training:
        if p["running_mean"] is None or p["running_var"] is None:
            raise UnsupportedTypeError(f"{who}: running_mean and running_var must be given in "
                                       "evaluation mode (training=False)")
        return _affine_with(x, p["running_mean"], p["running_var"], eps, p["weight"], p["bias"])
    count = x.size // channels if channels else 0
    if count <= 1:
        raise ShapeError(f"{who}: expected more than 1 value per channel when training; got "
                         f"input shape {x.shape}")
    m = _check_momentum(who, momentum)
    axes = (0,) + tuple(range(2, x.ndim))
    out = _affine(standardize(x, axis=axes, eps=eps), p["weight"], p["bias"])
    if running_mean is not None:
        _update(running_mean, x.data.mean(axis=axes), m)
    if running_var is not None:
        _update(running_var, var(x.data, axis=axes, ddof=1).data, m)
    return out


def instance_norm(input: Any, running_mean: Optional[np.ndarray] = None,
                  running_var: Optional[np.ndarray] = None, weight: Any = None, bias: Any = None,
                  use_input_stats: bool = True, momentum: float = 0.1,
                  eps: float = 1e-5) -> Value:
    """Instance normalisation, as ``torch.nn.functional.instance_norm``: each (sample, channel)
    of an input (N, C, *) standardised over its own spatial values. With `use_input_stats`
    the running statistics (if given) are updated in place with the means over the batch of
    the instances' means and unbiased variances; without, they standardise the input."""
    who = "instance_norm"
    x = _channels_input(who, input, "(N, C, L, ...)")
    channels = x.shape[1]
    running_mean = _running(who, "running_mean", running_mean)
    running_var = _running(who, "running_var", running_var)
    p = _per_channel(who, channels, x.ndim, running_mean=running_mean, running_var=running_var,
                     weight=weight, bias=bias)
    if not use_input_stats:
        return batch_norm(x, running_mean, running_var, weight, bias, False, momentum, eps)
    count = x.size // (x.shape[0] * channels) if x.shape[0] * channels else 0
    if count <= 1:
        raise ShapeError(f"{who}: expected more than 1 spatial element when training; got "
                         f"input shape {x.shape}")
    m = _check_momentum(who, momentum)
    axes = tuple(range(2, x.ndim))
    out = _affine(standardize(x, axis=axes, eps=eps), p["weight"], p["bias"])
    if running_mean is not None:
        _update(running_mean, x.data.mean(axis=axes).mean(axis=0), m)
    if running_var is not None:
        _update(running_var, var(x.data, axis=axes, ddof=1).data.mean(axis=0), m)
    return out


def shape_tuple(normalized_shape: Union[int, Sequence[int]]) -> Tuple[int, ...]:
    """normalized_shape as torch takes it, an int or a sequence of ints, as a tuple."""
    return (int(normalized_shape),) if isinstance(normalized_shape, (int, np.integer)) \
        else tuple(int(n) for n in normalized_shape)


def _trailing(who: str, x: Value, normalized_shape: Union[int, Sequence[int]]) -> Tuple[int, ...]:
    """normalized_shape as a tuple, checked to be the trailing dimensions of x."""
    shape = shape_tuple(normalized_shape)
    k = len(shape)
    if k == 0 or x.ndim < k or x.shape[x.ndim - k:] != shape:
        raise ShapeError(f"{who}: normalized_shape={shape} must be the trailing dimensions of "
                         f"the input (shape (*, {', '.join(map(str, shape))})); got input shape "
                         f"{x.shape}")
    return shape


def _elementwise(who: str, name: str, array: Any, shape: Tuple[int, ...]) -> Optional[Value]:
    """None, or an elementwise weight or bias as a Value, checked to have `shape`."""
    value = None if array is None else constant(array, who)
    if value is not None and value.shape != shape:
        raise ShapeError(f"{who}: {name} should have shape normalized_shape={shape}; got "
                         f"shape {value.shape}")
    return value


def layer_norm(input: Any, normalized_shape: Union[int, Sequence[int]], weight: Any = None,
               bias: Any = None, eps: float = 1e-5) -> Value:
    """Layer normalisation, as ``torch.nn.functional.layer_norm``: standardise over the trailing
    dimensions `normalized_shape`, then scale and shift elementwise by `weight` and `bias` (of
    that shape)."""
    who = "layer_norm"
    x = constant(input, who)
    shape = _trailing(who, x, normalized_shape)
    k = len(shape)
    params = [_elementwise(who, name, array, shape)
              for name, array in (("weight", weight), ("bias", bias))]
    return _affine(standardize(x, axis=tuple(range(x.ndim - k, x.ndim)), eps=eps), *params)


def rms_norm(input: Any, normalized_shape: Union[int, Sequence[int]], weight: Any = None,
             eps: Optional[float] = None) -> Value:
    """Root-mean-square normalisation, as ``torch.nn.functional.rms_norm``:
    x / sqrt(mean(x²) + eps) over the trailing dimensions `normalized_shape`, times `weight` (of
    that shape) if given. eps=None is the machine epsilon of the input's dtype, as in torch."""
    who = "rms_norm"
    x = constant(input, who)
    shape = _trailing(who, x, normalized_shape)
    w = _elementwise(who, "weight", weight, shape)
    if eps is None:
        eps = float(np.finfo(x.dtype).eps)
    axes = tuple(range(x.ndim - len(shape), x.ndim))
    out = x * rsqrt((x * x).mean(axis=axes, keepdims=True) + eps)
    return out if w is None else out * w


def group_norm(input: Any, num_groups: int, weight: Any = None, bias: Any = None,
               eps: float = 1e-5) -> Value:
    """Group normalisation, as ``torch.nn.functional.group_norm``: the C channels of an input
    (N, C, *) split into `num_groups` groups, each sample's group standardised over its
    channels and spatial values, then scaled and shifted per channel. (torch rejects an input
    with N·(C/num_groups)·(spatial size) = 1, by its batch norm's check; here it is computed.)"""
    who = "group_norm"
    x = _channels_input(who, input)
    n, channels = x.shape[0], x.shape[1]
    if num_groups <= 0 or channels % num_groups:
        raise ShapeError(f"{who}: the number of channels ({channels}, input shape {x.shape}) "
                         f"must be divisible by num_groups={num_groups}")
    p = _per_channel(who, channels, x.ndim, weight=weight, bias=bias)
    if x.size // max(n * num_groups, 1) == 0:
        raise ShapeError(f"{who}: each group needs at least one value; got input shape {x.shape}")
    out = standardize(x.reshape(n, num_groups, -1), axis=2, eps=eps).reshape(x.shape)
    return _affine(out, p["weight"], p["bias"])


def local_response_norm(input: Any, size: int, alpha: float = 1e-4, beta: float = 0.75,
                        k: float = 1.0) -> Value:
    """Local response normalisation across channels, as
    ``torch.nn.functional.local_response_norm``: x / (k + alpha · mean of x² over the `size`
    channels around each, zero-padded)^beta, for an input (N, C, *) of at least 3 dimensions."""
    who = "local_response_norm"
    x = constant(input, who)
    if x.ndim < 3:
        raise ShapeError(f"{who}: expected an input (N, C, L, ...) of 3 or more dimensions; got "
                         f"shape {x.shape}")
    if size < 1:
        raise ShapeError(f"{who}: size must be at least 1; got {size}")
    channels = x.shape[1]
    widths = [(0, 0)] * x.ndim
    widths[1] = (size // 2, (size - 1) // 2)
    squares = pad(x * x, tuple(widths))
    window = squares[:, 0:channels]
    for offset in range(1, size):  # a loop over the window's positions, not the elements
        window = window + squares[:, offset:offset + channels]
    return x / (window * (alpha / size) + k) ** beta


def normalize(input: Any, p: float = 2.0, dim: int = 1, eps: float = 1e-12) -> Value:
    """x / max(‖x‖_p, eps) along `dim`, as ``torch.nn.functional.normalize``: unit vectors, zero
    vectors left at zero. Where the norm is below eps the divisor is the constant eps (as
    torch's clamp: no gradient through the norm there, where it has no derivative)."""
    x = constant(input, "normalize")
    small = norm(x, ord=p, axis=dim, keepdims=True) < eps
    safe = where(small, 1.0, x)  # no zero vector left: the norm's derivative exists
    return x / where(small, eps, norm(safe, ord=p, axis=dim, keepdims=True))
