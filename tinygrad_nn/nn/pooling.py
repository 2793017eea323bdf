"""Pooling layers as ``torch.nn`` has them: MaxPool1d/2d/3d, AvgPool1d/2d/3d,
AdaptiveAvgPool1d/2d/3d and AdaptiveMaxPool1d/2d/3d, with torch's arguments (in torch's order),
attributes and repr. They hold no parameters; the work is done by `tinygrad_nn.nn.functional`'s
pooling functions (see there for the treatment of ties in max pooling: the first maximum takes
the gradient, as in torch)."""

from __future__ import annotations

from typing import Any, Optional, Sequence, Union

from .functional.pooling import (adaptive_avg_pool1d, adaptive_avg_pool2d, adaptive_avg_pool3d,
                                 adaptive_max_pool1d, adaptive_max_pool2d, adaptive_max_pool3d,
                                 avg_pool1d, avg_pool2d, avg_pool3d, max_pool1d, max_pool2d,
                                 max_pool3d)
from .functional.conv import tuple_of
from .module import Module

__all__ = ["MaxPool1d", "MaxPool2d", "MaxPool3d", "AvgPool1d", "AvgPool2d", "AvgPool3d",
           "AdaptiveAvgPool1d", "AdaptiveAvgPool2d", "AdaptiveAvgPool3d", "AdaptiveMaxPool1d",
           "AdaptiveMaxPool2d", "AdaptiveMaxPool3d"]

Size = Union[int, Sequence[int]]


class _MaxPool(Module):
    def __init__(self, kernel_size: Size, stride: Optional[Size] = None, padding: Size = 0,
                 dilation: Size = 1, return_indices: bool = False, ceil_mode: bool = False):
        self.kernel_size = kernel_size
        self.stride = kernel_size if stride is None else stride
        self.padding, self.dilation = padding, dilation
        self.return_indices, self.ceil_mode = return_indices, ceil_mode

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(kernel_size={self.kernel_size}, stride={self.stride}, "
                f"padding={self.padding}, dilation={self.dilation}, ceil_mode={self.ceil_mode})")


class MaxPool1d(_MaxPool):
    """torch.nn.MaxPool1d: the maximum of each window of the last axis of (N, C, L) or (C, L)."""

    def forward(self, input: Any) -> Any:
        return max_pool1d(input, self.kernel_size, self.stride, self.padding, self.dilation,
                          self.ceil_mode, self.return_indices)


class MaxPool2d(_MaxPool):
    """torch.nn.MaxPool2d: the maximum of each window of the last two axes of (N, C, H, W) or
    (C, H, W)."""

    def forward(self, input: Any) -> Any:
        return max_pool2d(input, self.kernel_size, self.stride, self.padding, self.dilation,
                          self.ceil_mode, self.return_indices)


class MaxPool3d(_MaxPool):
    """torch.nn.MaxPool3d: the maximum of each window of the last three axes of (N, C, D, H, W)
    or (C, D, H, W)."""

    def forward(self, input: Any) -> Any:
        return max_pool3d(input, self.kernel_size, self.stride, self.padding, self.dilation,
                          self.ceil_mode, self.return_indices)


class AvgPool1d(Module):
    """torch.nn.AvgPool1d: the mean of each window of the last axis of (N, C, L) or (C, L)."""

    def __init__(self, kernel_size: Size, stride: Optional[Size] = None, padding: Size = 0,
                 ceil_mode: bool = False, count_include_pad: bool = True):
        self.kernel_size = tuple_of(kernel_size, 1, "AvgPool1d", "kernel_size")
        self.stride = self.kernel_size if stride is None else tuple_of(stride, 1, "AvgPool1d",
                                                                       "stride")
        self.padding = tuple_of(padding, 1, "AvgPool1d", "padding")
        self.ceil_mode, self.count_include_pad = ceil_mode, count_include_pad

    def forward(self, input: Any) -> Any:
        return avg_pool1d(input, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                          self.count_include_pad)

    def __repr__(self) -> str:
        return (f"AvgPool1d(kernel_size={self.kernel_size}, stride={self.stride}, "
                f"padding={self.padding})")


class _AvgPool(Module):
    """What AvgPool2d and AvgPool3d share: torch's arguments, kept as given, and repr."""

    def __init__(self, kernel_size: Size, stride: Optional[Size] = None, padding: Size = 0,
                 ceil_mode: bool = False, count_include_pad: bool = True,
                 divisor_override: Optional[int] = None):
        self.kernel_size = kernel_size
        self.stride = kernel_size if stride is None else stride
        self.padding, self.ceil_mode = padding, ceil_mode
        self.count_include_pad, self.divisor_override = count_include_pad, divisor_override

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(kernel_size={self.kernel_size}, stride={self.stride}, "
                f"padding={self.padding})")


class AvgPool2d(_AvgPool):
    """torch.nn.AvgPool2d: the mean of each window of the last two axes of (N, C, H, W) or
    (C, H, W) (`divisor_override`: every sum divided by that number instead)."""

    def forward(self, input: Any) -> Any:
        return avg_pool2d(input, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                          self.count_include_pad, self.divisor_override)


class AvgPool3d(_AvgPool):
    """torch.nn.AvgPool3d: the mean of each window of the last three axes of (N, C, D, H, W) or
    (C, D, H, W) (`divisor_override`: every sum divided by that number instead)."""

    def forward(self, input: Any) -> Any:
        return avg_pool3d(input, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                          self.count_include_pad, self.divisor_override)


class _Adaptive(Module):
    def __init__(self, output_size: Any):
        self.output_size = output_size

    def __repr__(self) -> str:
        return f"{type(self).__name__}(output_size={self.output_size})"


class AdaptiveAvgPool1d(_Adaptive):
    """torch.nn.AdaptiveAvgPool1d: (N, C, L) averaged into output_size windows."""

    def forward(self, input: Any) -> Any:
        return adaptive_avg_pool1d(input, self.output_size)


class AdaptiveAvgPool2d(_Adaptive):
    """torch.nn.AdaptiveAvgPool2d: (N, C, H, W) averaged into output_size (an int, or (oH, oW)
    with None keeping that side)."""

    def forward(self, input: Any) -> Any:
        return adaptive_avg_pool2d(input, self.output_size)


class AdaptiveAvgPool3d(_Adaptive):
    """torch.nn.AdaptiveAvgPool3d: (N, C, D, H, W) averaged into output_size (an int, or
    (oD, oH, oW) with None keeping that side)."""

    def forward(self, input: Any) -> Any:
        return adaptive_avg_pool3d(input, self.output_size)


class _AdaptiveMax(_Adaptive):
    def __init__(self, output_size: Any, return_indices: bool = False):
        self.output_size, self.return_indices = output_size, return_indices


class AdaptiveMaxPool1d(_AdaptiveMax):
    """torch.nn.AdaptiveMaxPool1d: the maximum of each of output_size windows of (N, C, L)."""

    def forward(self, input: Any) -> Any:
        return adaptive_max_pool1d(input, self.output_size, self.return_indices)


class AdaptiveMaxPool2d(_AdaptiveMax):
    """torch.nn.AdaptiveMaxPool2d: the maximum of each window of (N, C, H, W), output_size as
    AdaptiveAvgPool2d's."""

    def forward(self, input: Any) -> Any:
        return adaptive_max_pool2d(input, self.output_size, self.return_indices)


class AdaptiveMaxPool3d(_AdaptiveMax):
    """torch.nn.AdaptiveMaxPool3d: the maximum of each window of (N, C, D, H, W), output_size
    as AdaptiveAvgPool3d's."""

    def forward(self, input: Any) -> Any:
        return adaptive_max_pool3d(input, self.output_size, self.return_indices)
