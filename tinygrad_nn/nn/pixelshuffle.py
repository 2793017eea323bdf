"""Pixel shuffling layers as ``torch.nn`` has them: PixelShuffle (channels into space, the
sub-pixel convolution's last step) and its inverse PixelUnshuffle, with torch's arguments and
repr. No parameters; `tinygrad_nn.nn.functional.pixel_shuffle` and `pixel_unshuffle` do the
work."""

from __future__ import annotations

from typing import Any

from ..engine import Value
from .functional.vision import pixel_shuffle, pixel_unshuffle
from .module import Module

__all__ = ["PixelShuffle", "PixelUnshuffle"]


class PixelShuffle(Module):
    """torch.nn.PixelShuffle: (*, C·r², H, W) to (*, C, H·r, W·r), r = upscale_factor."""

    def __init__(self, upscale_factor: int):
        self.upscale_factor = upscale_factor

    def forward(self, input: Any) -> Value:
        return pixel_shuffle(input, self.upscale_factor)

    def __repr__(self) -> str:
        return f"PixelShuffle(upscale_factor={self.upscale_factor})"


class PixelUnshuffle(Module):
    """torch.nn.PixelUnshuffle: (*, C, H·r, W·r) to (*, C·r², H, W), r = downscale_factor."""

    def __init__(self, downscale_factor: int):
        self.downscale_factor = downscale_factor

    def forward(self, input: Any) -> Value:
        return pixel_unshuffle(input, self.downscale_factor)

    def __repr__(self) -> str:
        return f"PixelUnshuffle(downscale_factor={self.downscale_factor})"
