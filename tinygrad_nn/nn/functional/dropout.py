"""Dropout as in ``torch.nn.functional``: during training, zero each element (or each whole
channel) with probability p and scale the survivors by 1/(1-p), so that the expected output is
the input; outside training, the identity.

The mask is drawn from `generator` (a numpy Generator, an int seed, or None for this thread's
default Generator: ``tinygrad_nn.manual_seed(n)`` makes masks reproducible) and enters the graph
as a constant factor, so the gradient is the same mask times 1/(1-p). ``inplace`` is accepted
and has no effect: the result is always a new Value (overwriting the input would corrupt the
graph that backpropagation reads).
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np

from ...engine import Value, constant
from ...errors import DomainError, ShapeError
from ...random import Seed, generator as _generator

__all__ = ["dropout", "dropout1d", "dropout2d", "dropout3d", "alpha_dropout"]

# alpha dropout sets dropped elements to selu's negative saturation value -scale·alpha
_SELU_SATURATION = 1.0507009873554804934193349852946 * 1.6732632423543772848170429916717


def _check_p(name: str, p: float) -> float:
    if not 0.0 <= p <= 1.0:
        raise DomainError(f"{name}: dropout probability has to be between 0 and 1, but got {p}")
    return float(p)


def _keep(x: Value, p: float, mask_shape: tuple, generator: Seed, name: str) -> np.ndarray:
    """A 0/1 mask of `mask_shape`, 1 with probability 1 - p, in x's dtype (drawn in float64,
    so that a seed gives the same mask for float32 and float64 inputs)."""
    draw = _generator(generator, name).random(mask_shape)
    return (draw < 1.0 - p).astype(x.dtype)


def _scaled(x: Value, factor: np.ndarray) -> Value:
    """x times a constant factor (a float for a scalar Value, which stays a float)."""
    return x * (float(factor) if type(x.data) is float else factor)


def _masked(name: str, input: Any, p: float, training: bool, mask_dims: int,
            generator: Seed) -> Value:
    """Dropout with a mask over the first `mask_dims` axes, broadcast over the rest."""
    x = constant(input, name)
    p = _check_p(name, p)
    if not training or p == 0.0:
        return x
    if p == 1.0:
        return _scaled(x, np.zeros((), x.dtype))
    mask_shape = x.shape[:mask_dims] + (1,) * (x.ndim - mask_dims)
    return _scaled(x, _keep(x, p, mask_shape, generator, name) * np.asarray(1.0 / (1.0 - p),
                                                                           x.dtype))


def dropout(input: Any, p: float = 0.5, training: bool = True, inplace: bool = False, *,
            generator: Seed = None) -> Value:
    """Zero each element with probability `p`, scale the others by 1/(1-p) (when `training`)."""
    x = constant(input, "dropout")
    return _masked("dropout", x, p, training, x.ndim, generator)


def _channels(name: str, x: Value, unbatched: int) -> int:
    """How many leading axes a channel mask covers: (C, ...) for an unbatched input of
    `unbatched` dimensions, (N, C, ...) for a batched one (one more)."""
    if x.ndim not in (unbatched, unbatched + 1):
        raise ShapeError(f"{name}: expected a {unbatched}-D (unbatched) or {unbatched + 1}-D "
                         f"(batched) input; got shape {x.shape}")
    return 1 if x.ndim == unbatched else 2


def dropout1d(input: Any, p: float = 0.5, training: bool = True, inplace: bool = False, *,
              generator: Seed = None) -> Value:
    """Zero whole channels of an (N, C, L) or (C, L) input with probability `p`."""
    x = constant(input, "dropout1d")
    return _masked("dropout1d", x, p, training, _channels("dropout1d", x, 2), generator)


def dropout2d(input: Any, p: float = 0.5, training: bool = True, inplace: bool = False, *,
              generator: Seed = None) -> Value:
    """Zero whole channels of an (N, C, H, W) input with probability `p`. A 3-D input is taken
    as (N, C, L), with torch's warning (torch's behaviour; use dropout1d for it)."""
    x = constant(input, "dropout2d")
    if x.ndim not in (3, 4):
        raise ShapeError(f"dropout2d: expected a 3-D or 4-D input; got shape {x.shape}")
    if x.ndim == 3:
        warnings.warn("dropout2d: Received a 3D input to dropout2d and assuming that channel-wise "
                      "1D dropout behavior is desired - input is interpreted as shape (N, C, L), "
                      "where C is the channel dim. To maintain the 1D channel-wise dropout "
                      "behavior, please switch to using dropout1d instead.", stacklevel=2)
    return _masked("dropout2d", x, p, training, 2, generator)


def dropout3d(input: Any, p: float = 0.5, training: bool = True, inplace: bool = False, *,
              generator: Seed = None) -> Value:
    """Zero whole channels of an (N, C, D, H, W) or (C, D, H, W) input with probability `p`."""
    x = constant(input, "dropout3d")
    return _masked("dropout3d", x, p, training, _channels("dropout3d", x, 4), generator)


def alpha_dropout(input: Any, p: float = 0.5, training: bool = False, inplace: bool = False, *,
                  generator: Seed = None) -> Value:
    """Dropout for SELU networks: dropped elements become selu's saturation value, and an
    affine map a·x + b restores zero mean and unit variance (torch's formula). Note that
    `training` defaults to False, as in torch."""
    x = constant(input, "alpha_dropout")
    p = _check_p("alpha_dropout", p)
    if not training or p == 0.0:
        return x
    if p == 1.0:
        return _scaled(x, np.zeros((), x.dtype))
    keep = _keep(x, p, x.shape, generator, "alpha_dropout")
    a = 1.0 / math.sqrt((_SELU_SATURATION ** 2 * p + 1.0) * (1.0 - p))
    shift = (keep - 1.0) * (_SELU_SATURATION * a) + _SELU_SATURATION * a * p
    return _scaled(x, keep * np.asarray(a, x.dtype)) + \
        (float(shift) if type(x.data) is float else shift.astype(x.dtype))
