"""Padding layers as ``torch.nn`` has them: ZeroPad, ConstantPad, ReflectionPad, ReplicationPad
and CircularPad, each in 1, 2 and 3 dimensions, with torch's arguments, ``padding`` attribute
(torch's pad tuple: (left, right), then (top, bottom), then (front, back)) and repr. They hold
no parameters; `tinygrad_nn.nn.functional.pad` does the work (see there for each mode's rules).
"""

from __future__ import annotations

from typing import Any, Sequence, Union

from ..engine import Value
from .functional.conv import tuple_of
from .functional.padding import pad
from .module import Module

__all__ = ["ZeroPad1d", "ZeroPad2d", "ZeroPad3d", "ConstantPad1d", "ConstantPad2d",
           "ConstantPad3d", "ReflectionPad1d", "ReflectionPad2d", "ReflectionPad3d",
           "ReplicationPad1d", "ReplicationPad2d", "ReplicationPad3d", "CircularPad1d",
           "CircularPad2d", "CircularPad3d"]

Padding = Union[int, Sequence[int]]


class _PadNd(Module):
    """A padding layer of `n` dimensions in one of F.pad's modes: `padding` an int (every side)
    or the 2n ints of torch's pad tuple."""

    n = 0
    mode = "constant"

    def __init__(self, padding: Padding):
        self.padding = tuple_of(padding, 2 * self.n, type(self).__name__, "padding")

    def forward(self, input: Any) -> Value:
        return pad(input, self.padding, self.mode)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.padding})"


class _ConstantPadNd(_PadNd):
    def __init__(self, padding: Padding, value: float):
        super().__init__(padding)
        self.value = value

    def forward(self, input: Any) -> Value:
        return pad(input, self.padding, "constant", self.value)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(padding={self.padding}, value={self.value})"


class ConstantPad1d(_ConstantPadNd):
    """torch.nn.ConstantPad1d: the last axis padded with `value`."""

    n = 1


class ConstantPad2d(_ConstantPadNd):
    """torch.nn.ConstantPad2d: the last two axes padded with `value`."""

    n = 2


class ConstantPad3d(_ConstantPadNd):
    """torch.nn.ConstantPad3d: the last three axes padded with `value`."""

    n = 3


class _ZeroPadNd(_ConstantPadNd):
    def __init__(self, padding: Padding):
        super().__init__(padding, 0.0)

    __repr__ = _PadNd.__repr__


class ZeroPad1d(_ZeroPadNd):
    """torch.nn.ZeroPad1d: the last axis padded with zeros."""

    n = 1


class ZeroPad2d(_ZeroPadNd):
    """torch.nn.ZeroPad2d: the last two axes padded with zeros."""

    n = 2


class ZeroPad3d(_ZeroPadNd):
    """torch.nn.ZeroPad3d: the last three axes padded with zeros."""

    n = 3


class ReflectionPad1d(_PadNd):
    """torch.nn.ReflectionPad1d: (N, C, W) or (C, W) mirrored at the ends of W."""

    n, mode = 1, "reflect"


class ReflectionPad2d(_PadNd):
    """torch.nn.ReflectionPad2d: (N, C, H, W) or (C, H, W) mirrored at the borders."""

    n, mode = 2, "reflect"


class ReflectionPad3d(_PadNd):
    """torch.nn.ReflectionPad3d: (N, C, D, H, W) or (C, D, H, W) mirrored at the borders."""

    n, mode = 3, "reflect"


class ReplicationPad1d(_PadNd):
    """torch.nn.ReplicationPad1d: (N, C, W) or (C, W) with its end elements repeated."""

    n, mode = 1, "replicate"


class ReplicationPad2d(_PadNd):
    """torch.nn.ReplicationPad2d: (N, C, H, W) or (C, H, W) with its border repeated."""

    n, mode = 2, "replicate"


class ReplicationPad3d(_PadNd):
    """torch.nn.ReplicationPad3d: (N, C, D, H, W) or (C, D, H, W) with its border repeated."""

    n, mode = 3, "replicate"


class CircularPad1d(_PadNd):
    """torch.nn.CircularPad1d: (N, C, W) or (C, W) wrapped around (periodic)."""

    n, mode = 1, "circular"


class CircularPad2d(_PadNd):
    """torch.nn.CircularPad2d: (N, C, H, W) or (C, H, W) wrapped around on both axes."""

    n, mode = 2, "circular"


class CircularPad3d(_PadNd):
    """torch.nn.CircularPad3d: (N, C, D, H, W) or (C, D, H, W) wrapped around on all three."""

    n, mode = 3, "circular"
