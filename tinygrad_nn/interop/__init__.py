"""The way out of tinygrad_nn: models to and from PyTorch (`to_torch`, `from_torch`) and to ONNX
(`to_onnx`). Each needs its optional dependency only when called (extras ``[torch]``, ``[onnx]``);
weights in safetensors go through `tinygrad_nn.save` / `load` by the file's suffix."""

from .onnx_export import to_onnx
from .pytorch import from_torch, to_torch

__all__ = ["to_torch", "from_torch", "to_onnx"]
