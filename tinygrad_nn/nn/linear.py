"""`Linear` (PyTorch's affine layer, no activation), `Identity`, `Flatten` and `Unflatten`."""

from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np

from ..engine import Value, constant
from ..errors import ShapeError
from ..random import Seed, generator
from .functional.linear import linear
from .module import Module


def uniform_parameter(shape: Sequence[int], bound: float, rng: np.random.Generator, dtype: Any,
                      label: str) -> Value:
    """A parameter drawn from U(-bound, bound): PyTorch's default for Linear and conv weights
    (kaiming_uniform with a = √5 gives bound = 1/√fan_in) and their biases (the same bound)."""
    return Value(rng.uniform(-bound, bound, size=tuple(shape)).astype(dtype), label=label)


class Linear(Module):
    """y = x Wᵀ + b, W of shape (out_features, in_features), as ``torch.nn.Linear``: any number
    of leading batch dimensions, the features last. Initialised as torch does: W and b uniform
    on ±1/√in_features. `seed` (int, Generator, or None for the thread's default Generator,
    see `tinygrad_nn.manual_seed`) makes the draw reproducible."""

    def __init__(self, in_features: int, out_features: int, bias: bool = True, *,
                 dtype: Any = np.float64, seed: Seed = None):
        rng = generator(seed, "Linear")
        bound = 1.0 / math.sqrt(in_features) if in_features else 0.0
        self.in_features, self.out_features = int(in_features), int(out_features)
        self.weight = uniform_parameter((out_features, in_features), bound, rng, dtype, "weight")
        self.bias = uniform_parameter((out_features,), bound, rng, dtype, "bias") if bias else None

    def forward(self, x: Any) -> Value:
        x = constant(x, "Linear")
        if x.ndim < 1 or x.shape[-1] != self.in_features:
            raise ShapeError(f"{self!r}: expected inputs with {self.in_features} features in the "
                             f"last dimension; got shape {x.shape}")
        return linear(x, self.weight, self.bias)

    def __repr__(self) -> str:
        return (f"Linear(in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None})")


class Identity(Module):
    """Returns its input unchanged (a placeholder in a Sequential)."""

    def forward(self, x: Any) -> Any:
        return x

    def __repr__(self) -> str:
        return "Identity()"


class Flatten(Module):
    """Flatten dimensions start_dim..end_dim into one, as ``torch.nn.Flatten`` (by default all
    but the batch dimension: (n, c, h, w) -> (n, c·h·w))."""

    def __init__(self, start_dim: int = 1, end_dim: int = -1):
        self.start_dim, self.end_dim = start_dim, end_dim

    def forward(self, x: Any) -> Value:
        return constant(x, "Flatten").flatten(self.start_dim, self.end_dim)

    def __repr__(self) -> str:
        return f"Flatten(start_dim={self.start_dim}, end_dim={self.end_dim})"


class Unflatten(Module):
    """Split dimension `dim` into `unflattened_size`, as ``torch.nn.Unflatten``."""

    def __init__(self, dim: int, unflattened_size: Sequence[int]):
        self.dim, self.unflattened_size = dim, tuple(unflattened_size)

    def forward(self, x: Any) -> Value:
        return constant(x, "Unflatten").unflatten(self.dim, self.unflattened_size)

    def __repr__(self) -> str:
        return f"Unflatten(dim={self.dim}, unflattened_size={self.unflattened_size})"
