"""Convolution layers as ``torch.nn`` has them: Conv1d, Conv2d, Conv3d, ConvTranspose1d and
ConvTranspose2d, with torch's arguments, attributes, state_dict keys (``weight``, ``bias``),
default initialisation and repr.

Initialisation, as torch's reset_parameters: weight and bias uniform on ±1/√fan_in, fan_in the
weight's size divided by its first axis: in_channels/groups·∏kernel for a convolution, and
(torch's quirk, kept so that seeds carry over in distribution) out_channels/groups·∏kernel for a
transposed one, whose weight is (in_channels, out_channels/groups, *kernel).

padding_mode 'zeros' pads inside the convolution; 'reflect', 'replicate' and 'circular' pad the
input first (`tinygrad_nn.ops.pad`'s reflect and edge modes, and wrapped slices for circular),
then convolve without padding, as torch does.
"""

from __future__ import annotations

import math
from typing import Any, Optional, Sequence, Union

import numpy as np

from ..engine import Value
from ..errors import ShapeError
from ..random import Seed, generator
from .functional.conv import (conv1d, conv2d, conv3d, conv_padding, conv_transpose1d,
                              conv_transpose2d, tuple_of)
from .functional.padding import pad
from .linear import uniform_parameter
from .module import Module

__all__ = ["Conv1d", "Conv2d", "Conv3d", "ConvTranspose1d", "ConvTranspose2d"]

Size = Union[int, Sequence[int]]
PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


class _ConvNd(Module):
    """What the convolution layers share: checked arguments, the parameters and the repr."""

    n = 0
    transposed = False

    def __init__(self, in_channels: int, out_channels: int, kernel_size: Size, stride: Size,
                 padding: Any, dilation: Size, groups: int, bias: bool, padding_mode: str,
                 output_padding: Size, dtype: Any, seed: Seed):
        who, n = type(self).__name__, self.n
        if groups < 1 or in_channels % groups or out_channels % groups:
            raise ShapeError(f"{who}: in_channels {in_channels} and out_channels {out_channels} "
                             f"must both divide by groups={groups}")
        if padding_mode not in PADDING_MODES:
            raise ShapeError(f"{who}: padding_mode must be one of {PADDING_MODES}, got "
                             f"{padding_mode!r}")
        if self.transposed and padding_mode != "zeros":
            raise ShapeError(f"{who}: only padding_mode 'zeros' is supported, as in torch")
        self.in_channels, self.out_channels = int(in_channels), int(out_channels)
        self.kernel_size = tuple_of(kernel_size, n, who, "kernel_size")
        self.stride = tuple_of(stride, n, who, "stride")
        self.dilation = tuple_of(dilation, n, who, "dilation")
        # checked now, as torch does ('same' with a stride, negative sizes)
        conv_padding(padding, n, self.kernel_size, self.dilation, self.stride, who)
        self.padding = padding if isinstance(padding, str) else tuple_of(padding, n, who,
                                                                           "padding")
        self.output_padding = tuple_of(output_padding, n, who, "output_padding")
        self.groups, self.padding_mode = int(groups), padding_mode
        rng = generator(seed, who)
        shape = ((in_channels, out_channels // groups) if self.transposed else
                 (out_channels, in_channels // groups)) + self.kernel_size
        fan_in = shape[1] * math.prod(self.kernel_size)
        bound = 1.0 / math.sqrt(fan_in) if fan_in else 0.0
        self.weight = uniform_parameter(shape, bound, rng, dtype, "weight")
        self.bias = uniform_parameter((out_channels,), bound, rng, dtype, "bias") if bias else None

    def __repr__(self) -> str:
        text = (f"{type(self).__name__}({self.in_channels}, {self.out_channels}, "
                f"kernel_size={self.kernel_size}, stride={self.stride}")
        if self.padding != (0,) * self.n:  # a string ('same') shows bare, as in torch
            text += f", padding={self.padding}"
        if self.dilation != (1,) * self.n:
            text += f", dilation={self.dilation}"
        if self.output_padding != (0,) * self.n:
            text += f", output_padding={self.output_padding}"
        if self.groups != 1:
            text += f", groups={self.groups}"
        if self.bias is None:
            text += ", bias=False"
        if self.padding_mode != "zeros":
            text += f", padding_mode={self.padding_mode}"
        return text + ")"


class _Conv(_ConvNd):
    def __init__(self, in_channels: int, out_channels: int, kernel_size: Size, stride: Size = 1,
                 padding: Any = 0, dilation: Size = 1, groups: int = 1, bias: bool = True,
                 padding_mode: str = "zeros", *, dtype: Any = np.float64, seed: Seed = None):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         groups, bias, padding_mode, 0, dtype, seed)

    def forward(self, input: Any) -> Value:
        conv = (conv1d, conv2d, conv3d)[self.n - 1]
        if self.padding_mode == "zeros":
            return conv(input, self.weight, self.bias, self.stride, self.padding, self.dilation,
                        self.groups)
        pairs = conv_padding(self.padding, self.n, self.kernel_size, self.dilation, self.stride,
                             type(self).__name__)
        widths = [w for before_after in reversed(pairs) for w in before_after]  # torch's order
        x = pad(input, widths, self.padding_mode)
        return conv(x, self.weight, self.bias, self.stride, 0, self.dilation, self.groups)


class Conv1d(_Conv):
    """torch.nn.Conv1d: (N, C_in, L) or (C_in, L) to (N, C_out, L_out); weight (C_out,
    C_in/groups, k), bias (C_out,)."""

    n = 1


class Conv2d(_Conv):
    """torch.nn.Conv2d: (N, C_in, H, W) or (C_in, H, W) to (N, C_out, H_out, W_out); weight
    (C_out, C_in/groups, kH, kW), bias (C_out,)."""

    n = 2


class Conv3d(_Conv):
    """torch.nn.Conv3d: (N, C_in, D, H, W) or unbatched to (N, C_out, D_out, H_out, W_out);
    weight (C_out, C_in/groups, kD, kH, kW), bias (C_out,)."""

    n = 3


class _ConvTranspose(_ConvNd):
    transposed = True

    def __init__(self, in_channels: int, out_channels: int, kernel_size: Size, stride: Size = 1,
                 padding: Size = 0, output_padding: Size = 0, groups: int = 1, bias: bool = True,
                 dilation: Size = 1, padding_mode: str = "zeros", *, dtype: Any = np.float64,
                 seed: Seed = None):
        if isinstance(padding, str):
            raise ShapeError(f"{type(self).__name__}: padding must be an int or ints, not "
                             f"{padding!r}")
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         groups, bias, padding_mode, output_padding, dtype, seed)

    def forward(self, input: Any, output_size: Optional[Sequence[int]] = None) -> Value:
        """`output_size` (torch's): the spatial size wanted, when a stride leaves a choice; it
        sets output_padding for this call."""
        extra = self.output_padding if output_size is None else self._extra(input, output_size)
        conv = (conv_transpose1d, conv_transpose2d)[self.n - 1]
        padding = self.padding if isinstance(self.padding, tuple) else 0  # (never a string)
        return conv(input, self.weight, self.bias, self.stride, padding, extra, self.groups,
                    self.dilation)

    def _extra(self, input: Any, output_size: Sequence[int]) -> tuple:
        who, n = type(self).__name__, self.n
        size = tuple(int(v) for v in output_size)[-n:]
        spatial = np.shape(input.data if isinstance(input, Value) else input)[-n:]
        smallest = tuple(s * (m - 1) - 2 * p + d * (k - 1) + 1 for s, m, p, d, k in zip(
            self.stride, spatial, self.padding, self.dilation, self.kernel_size))
        largest = tuple(m + max(s, d) - 1 for m, s, d in zip(smallest, self.stride, self.dilation))
        if len(size) != n or any(not lo <= v <= hi for v, lo, hi in zip(size, smallest, largest)):
            raise ShapeError(f"{who}: output_size {tuple(output_size)} is not reachable from an "
                             f"input of spatial size {spatial}: each side between {smallest} and "
                             f"{largest}")
        return tuple(v - m for v, m in zip(size, smallest))


class ConvTranspose1d(_ConvTranspose):
    """torch.nn.ConvTranspose1d: (N, C_in, L) to (N, C_out, L_out), L_out = (L - 1) stride -
    2 padding + dilation (k - 1) + output_padding + 1; weight (C_in, C_out/groups, k)."""

    n = 1


class ConvTranspose2d(_ConvTranspose):
    """torch.nn.ConvTranspose2d: (N, C_in, H, W) to (N, C_out, H_out, W_out), each side as
    ConvTranspose1d's; weight (C_in, C_out/groups, kH, kW)."""

    n = 2
