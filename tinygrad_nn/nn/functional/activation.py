"""Activation functions under ``torch.nn.functional``'s names and parameters, built from the ops
of `tinygrad_nn.ops` (so every derivative, of any order, comes with them).

Where torch has an ``inplace`` flag it is accepted and has no effect: the result is always a
new Value, since overwriting an input would corrupt the graph that backpropagation reads.
"""

from __future__ import annotations

import warnings
from typing import Any, Optional

from ... import ops
from ...engine import Value, constant
from ...errors import DomainError, ShapeError

__all__ = ["relu", "relu6", "elu", "selu", "celu", "leaky_relu", "prelu", "gelu", "silu", "mish",
           "softplus", "softsign", "sigmoid", "tanh", "hardtanh", "hardsigmoid", "hardswish",
           "logsigmoid", "softmax", "log_softmax", "softmin", "glu", "tanhshrink", "threshold",
           "hardshrink", "softshrink"]


def relu(input: Any, inplace: bool = False) -> Value:
    """max(x, 0)."""
    return ops.relu(input)


def relu6(input: Any, inplace: bool = False) -> Value:
    """min(max(x, 0), 6)."""
    return ops.relu6(input)


def elu(input: Any, alpha: float = 1.0, inplace: bool = False) -> Value:
    """x above 0, alpha (eˣ - 1) below."""
    return ops.elu(input, alpha=alpha)


def selu(input: Any, inplace: bool = False) -> Value:
    """scale · elu(x, alpha), the self-normalising constants scale ≈ 1.0507, alpha ≈ 1.6733."""
    return ops.selu(input)


def celu(input: Any, alpha: float = 1.0, inplace: bool = False) -> Value:
    """x above 0, alpha (e^(x/alpha) - 1) below."""
    return ops.celu(input, alpha=alpha)


def leaky_relu(input: Any, negative_slope: float = 0.01, inplace: bool = False) -> Value:
    """x above 0, negative_slope · x below."""
    return ops.leaky_relu(input, alpha=negative_slope)


def prelu(input: Any, weight: Any) -> Value:
    """leaky_relu with a learnt slope: `weight` holds one slope, or one per channel (axis 1 of
    the input, axis 0 of a 1-D input)."""
    x, w = constant(input, "prelu"), constant(weight, "prelu")
    if w.ndim != 1:
        raise ShapeError(f"prelu: weight must be 1-D (one slope, or one per channel); got "
                         f"shape {w.shape}")
    if w.size != 1:
        channel_axis = 1 if x.ndim >= 2 else 0
        if x.ndim == 0 or x.shape[channel_axis] != w.size:
            raise ShapeError(f"prelu: {w.size} slopes for an input of shape {x.shape}; give one "
                             f"slope or one per channel (axis {channel_axis})")
        w = w.reshape((w.size,) + (1,) * (x.ndim - channel_axis - 1))
    return ops.where(x > 0, x, w * x)


def gelu(input: Any, approximate: str = "none") -> Value:
    """x Φ(x), Φ the standard normal CDF; approximate='tanh' for the tanh formula."""
    return ops.gelu(input, approximate=approximate)


def silu(input: Any, inplace: bool = False) -> Value:
    """x sigmoid(x) (swish)."""
    return ops.silu(input)


def mish(input: Any, inplace: bool = False) -> Value:
    """x tanh(softplus(x))."""
    return ops.mish(input)


def softplus(input: Any, beta: float = 1.0, threshold: float = 20.0) -> Value:
    """log(1 + e^(beta x)) / beta, and x itself where beta x > threshold (as torch: linear
    there, gradient 1)."""
    if beta == 0:
        raise DomainError("softplus: beta must be nonzero (the result is divided by it)")
    x = constant(input, "softplus")
    scaled = x if beta == 1 else x * beta
    smooth = ops.softplus(scaled) if beta == 1 else ops.softplus(scaled) / beta
    return ops.where(scaled > threshold, x, smooth)


def softsign(input: Any) -> Value:
    """x / (1 + |x|)."""
    return ops.softsign(input)


def sigmoid(input: Any) -> Value:
    """1 / (1 + e⁻ˣ)."""
    return ops.sigmoid(input)


def tanh(input: Any) -> Value:
    """The hyperbolic tangent."""
    return ops.tanh(input)


def hardtanh(input: Any, min_val: float = -1.0, max_val: float = 1.0,
             inplace: bool = False) -> Value:
    """x clipped to [min_val, max_val]."""
    return ops.hardtanh(input, min_val=min_val, max_val=max_val)


def hardsigmoid(input: Any, inplace: bool = False) -> Value:
    """relu6(x + 3) / 6."""
    return ops.hardsigmoid(input)


def hardswish(input: Any, inplace: bool = False) -> Value:
    """x relu6(x + 3) / 6."""
    return ops.hardswish(input)


def logsigmoid(input: Any) -> Value:
    """log(sigmoid(x)), computed without overflow."""
    return ops.logsigmoid(input)


def _softmax_axis(name: str, x: Value, dim: Optional[int]) -> int:
    """`dim`, or torch's deprecated implicit choice (with its warning): 0 for 0-, 1- and 3-D
    inputs, 1 otherwise."""
    if dim is not None:
        return dim
    warnings.warn(f"Implicit dimension choice for {name} has been deprecated. Change the call "
                  "to include dim=X as an argument.", stacklevel=3)
    return 0 if x.ndim in (0, 1, 3) else 1


def softmax(input: Any, dim: Optional[int] = None) -> Value:
    """e^x / Σ e^x along `dim`: each slice becomes a probability distribution."""
    x = constant(input, "softmax")
    return ops.softmax(x, axis=_softmax_axis("softmax", x, dim))


def log_softmax(input: Any, dim: Optional[int] = None) -> Value:
    """x - logsumexp(x) along `dim`: the log of softmax, without its rounding."""
    x = constant(input, "log_softmax")
    return ops.log_softmax(x, axis=_softmax_axis("log_softmax", x, dim))


def softmin(input: Any, dim: Optional[int] = None) -> Value:
    """softmax(-x) along `dim`."""
    x = constant(input, "softmin")
    return ops.softmax(-x, axis=_softmax_axis("softmin", x, dim))


def glu(input: Any, dim: int = -1) -> Value:
    """The gated linear unit a · sigmoid(b), a and b the two halves of the input along `dim`."""
    x = constant(input, "glu")
    if x.ndim == 0:
        raise ShapeError("glu: does not take a scalar (it halves a dimension)")
    if not -x.ndim <= dim < x.ndim:
        raise ShapeError(f"glu: dim {dim} is out of range for an input of shape {x.shape}")
    if x.shape[dim] % 2:
        raise ShapeError(f"glu: the halved dimension must have even length; dimension {dim} of "
                         f"an input of shape {x.shape} has {x.shape[dim]}")
    a, b = ops.split(x, 2, axis=dim)
    return a * ops.sigmoid(b)


def tanhshrink(input: Any) -> Value:
    """x - tanh(x)."""
    x = constant(input, "tanhshrink")
    return x - ops.tanh(x)


def threshold(input: Any, threshold: float, value: float, inplace: bool = False) -> Value:
    """x where x > threshold, else `value`."""
    x = constant(input, "threshold")
    return ops.where(x > threshold, x, value)


def hardshrink(input: Any, lambd: float = 0.5) -> Value:
    """x where |x| > lambd, else 0."""
    x = constant(input, "hardshrink")
    return ops.where(ops.abs(x) > lambd, x, 0.0)


def softshrink(input: Any, lambd: float = 0.5) -> Value:
    """x - lambd above lambd, x + lambd below -lambd, 0 between."""
    if lambd < 0:
        raise DomainError(f"softshrink: lambd must be at least 0; got {lambd}")
    x = constant(input, "softshrink")
    return ops.where(x > lambd, x - lambd, ops.where(x < -lambd, x + lambd, 0.0))
