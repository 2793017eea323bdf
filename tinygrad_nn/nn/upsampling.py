"""Upsampling layers as ``torch.nn`` has them: Upsample, UpsamplingNearest2d and
UpsamplingBilinear2d (the latter with align_corners=True, as torch's), with torch's arguments,
attributes and repr. No parameters; `tinygrad_nn.nn.functional.interpolate` does the work (see
there for the modes and what is not supported)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Optional

from ..engine import Value
from .functional.vision import Scale, Size, interpolate
from .module import Module

__all__ = ["Upsample", "UpsamplingNearest2d", "UpsamplingBilinear2d"]


class Upsample(Module):
    """torch.nn.Upsample: (N, C, *spatial) resized to `size` or by `scale_factor` (kept as
    float(s), as torch keeps it) in one of interpolate's modes."""

    def __init__(self, size: Optional[Size] = None, scale_factor: Optional[Scale] = None,
                 mode: str = "nearest", align_corners: Optional[bool] = None,
                 recompute_scale_factor: Optional[bool] = None):
        self.name = type(self).__name__
        self.size = size
        if isinstance(scale_factor, Sequence):
            self.scale_factor: Optional[Scale] = tuple(float(f) for f in scale_factor)
        else:
            self.scale_factor = float(scale_factor) if scale_factor else None
        self.mode, self.align_corners = mode, align_corners
        self.recompute_scale_factor = recompute_scale_factor

    def forward(self, input: Any) -> Value:
        return interpolate(input, self.size, self.scale_factor, self.mode, self.align_corners,
                           recompute_scale_factor=self.recompute_scale_factor)

    def __repr__(self) -> str:
        shown = (f"scale_factor={self.scale_factor!r}" if self.scale_factor is not None else
                 f"size={self.size!r}")
        return f"{self.name}({shown}, mode={self.mode!r})"


class UpsamplingNearest2d(Upsample):
    """torch.nn.UpsamplingNearest2d: Upsample in mode 'nearest' (for (N, C, H, W) input)."""

    def __init__(self, size: Optional[Size] = None, scale_factor: Optional[Scale] = None):
        super().__init__(size, scale_factor, mode="nearest")


class UpsamplingBilinear2d(Upsample):
    """torch.nn.UpsamplingBilinear2d: Upsample in mode 'bilinear' with align_corners=True."""

    def __init__(self, size: Optional[Size] = None, scale_factor: Optional[Scale] = None):
        super().__init__(size, scale_factor, mode="bilinear", align_corners=True)
