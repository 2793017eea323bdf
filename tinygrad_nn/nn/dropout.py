"""Dropout modules, as ``torch.nn``'s: active in training mode (``module.train()``, the
default), the identity after ``module.eval()``.

``seed=`` (keyword; ours, not torch's) gives the module its own Generator, made once when the
module is built (an int seeds a new one, a Generator is used as it is); None draws each mask from
this thread's default Generator at call time, so ``tinygrad_nn.manual_seed(n)`` makes a whole
model's masks reproducible, as ``torch.manual_seed`` does.
"""

from __future__ import annotations

from typing import Any, Callable, ClassVar, Optional

import numpy as np

from ..engine import Value
from ..random import Seed, generator
from . import functional as F
from .functional.dropout import _check_p
from .module import Module

__all__ = ["Dropout", "Dropout1d", "Dropout2d", "Dropout3d", "AlphaDropout"]


class Dropout(Module):
    """Zero each element with probability p and scale the rest by 1/(1-p), in training mode."""

    function: ClassVar[Callable[..., Value]] = staticmethod(F.dropout)

    def __init__(self, p: float = 0.5, inplace: bool = False, *, seed: Seed = None):
        self.p, self.inplace = _check_p(type(self).__name__, p), inplace
        self.generator: Optional[np.random.Generator] = None if seed is None else \
            generator(seed, type(self).__name__)

    def forward(self, input: Any) -> Value:
        return type(self).function(input, self.p, self.training, generator=self.generator)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(p={self.p}, inplace={self.inplace})"


class Dropout1d(Dropout):
    """Zero whole channels of (N, C, L) or (C, L) inputs (see `F.dropout1d`)."""
    function = staticmethod(F.dropout1d)


class Dropout2d(Dropout):
    """Zero whole channels of (N, C, H, W) inputs (see `F.dropout2d`)."""
    function = staticmethod(F.dropout2d)


class Dropout3d(Dropout):
    """Zero whole channels of (N, C, D, H, W) or (C, D, H, W) inputs (see `F.dropout3d`)."""
    function = staticmethod(F.dropout3d)


class AlphaDropout(Dropout):
    """Dropout that keeps a SELU network's zero mean and unit variance (see `F.alpha_dropout`)."""
    function = staticmethod(F.alpha_dropout)
