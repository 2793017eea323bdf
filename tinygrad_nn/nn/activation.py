"""Activation modules, as ``torch.nn``'s: each applies the function of the same name in
`tinygrad_nn.nn.functional` with the arguments it was built with (``nn.ELU(alpha=0.5)`` computes
``F.elu(x, alpha=0.5)``). ``inplace`` is accepted and has no effect (see that module)."""

from __future__ import annotations

import inspect
from typing import Any, Callable, ClassVar, Optional, Tuple

import numpy as np

from ..engine import Value
from . import functional as F
from .module import Module

__all__ = ["ReLU", "ReLU6", "ELU", "SELU", "CELU", "LeakyReLU", "PReLU", "GELU", "SiLU", "Mish",
           "Softplus", "Softsign", "Sigmoid", "Tanh", "Hardtanh", "Hardsigmoid", "Hardswish",
           "LogSigmoid", "Softmax", "LogSoftmax", "Softmin", "GLU", "Tanhshrink", "Threshold",
           "Hardshrink", "Softshrink"]


class _Activation(Module):
    """A module applying `function` with the constructor's arguments (kept as attributes of the
    same names, as torch keeps them)."""

    function: ClassVar[Callable[..., Value]]
    _names: ClassVar[Tuple[str, ...]] = ()  # the constructor's parameters, in order

    def __init_subclass__(cls, **kwargs: Any):
        super().__init_subclass__(**kwargs)
        cls._names = tuple(inspect.signature(cls).parameters)

    def __init__(self) -> None:
        """No arguments (subclasses that take some define their own constructor)."""

    def _arguments(self) -> dict:
        return {name: getattr(self, name) for name in self._names}

    def forward(self, input: Any) -> Value:
        return type(self).function(input, **self._arguments())

    def __repr__(self) -> str:
        shown = (f"{k}={v!r}" for k, v in self._arguments().items() if k != "inplace" or v)
        return f"{type(self).__name__}({', '.join(shown)})"


class ReLU(_Activation):
    """max(x, 0)."""
    function = staticmethod(F.relu)

    def __init__(self, inplace: bool = False):
        self.inplace = inplace


class ReLU6(_Activation):
    """min(max(x, 0), 6)."""
    function = staticmethod(F.relu6)

    def __init__(self, inplace: bool = False):
        self.inplace = inplace


class ELU(_Activation):
    """x above 0, alpha (eˣ - 1) below."""
    function = staticmethod(F.elu)

    def __init__(self, alpha: float = 1.0, inplace: bool = False):
        self.alpha, self.inplace = alpha, inplace


class SELU(_Activation):
    """The self-normalising scaled ELU."""
    function = staticmethod(F.selu)

    def __init__(self, inplace: bool = False):
        self.inplace = inplace


class CELU(_Activation):
    """x above 0, alpha (e^(x/alpha) - 1) below."""
    function = staticmethod(F.celu)

    def __init__(self, alpha: float = 1.0, inplace: bool = False):
        self.alpha, self.inplace = alpha, inplace


class LeakyReLU(_Activation):
    """x above 0, negative_slope · x below."""
    function = staticmethod(F.leaky_relu)

    def __init__(self, negative_slope: float = 0.01, inplace: bool = False):
        self.negative_slope, self.inplace = negative_slope, inplace


class GELU(_Activation):
    """x Φ(x); approximate='tanh' for the tanh formula."""
    function = staticmethod(F.gelu)

    def __init__(self, approximate: str = "none"):
        self.approximate = approximate


class SiLU(_Activation):
    """x sigmoid(x)."""
    function = staticmethod(F.silu)

    def __init__(self, inplace: bool = False):
        self.inplace = inplace


class Mish(_Activation):
    """x tanh(softplus(x))."""
    function = staticmethod(F.mish)

    def __init__(self, inplace: bool = False):
        self.inplace = inplace


class Softplus(_Activation):
    """log(1 + e^(beta x)) / beta, linear where beta x > threshold."""
    function = staticmethod(F.softplus)

    def __init__(self, beta: float = 1.0, threshold: float = 20.0):
        self.beta, self.threshold = beta, threshold


class Softsign(_Activation):
    """x / (1 + |x|)."""
    function = staticmethod(F.softsign)


class Sigmoid(_Activation):
    """1 / (1 + e⁻ˣ)."""
    function = staticmethod(F.sigmoid)


class Tanh(_Activation):
    """The hyperbolic tangent."""
    function = staticmethod(F.tanh)


class Hardtanh(_Activation):
    """x clipped to [min_val, max_val]."""
    function = staticmethod(F.hardtanh)

    def __init__(self, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False):
        self.min_val, self.max_val, self.inplace = min_val, max_val, inplace


class Hardsigmoid(_Activation):
    """relu6(x + 3) / 6."""
    function = staticmethod(F.hardsigmoid)

    def __init__(self, inplace: bool = False):
        self.inplace = inplace


class Hardswish(_Activation):
    """x relu6(x + 3) / 6."""
    function = staticmethod(F.hardswish)

    def __init__(self, inplace: bool = False):
        self.inplace = inplace


class LogSigmoid(_Activation):
    """log(sigmoid(x))."""
    function = staticmethod(F.logsigmoid)


class Softmax(_Activation):
    """softmax along `dim` (None: torch's deprecated implicit choice, with a warning)."""
    function = staticmethod(F.softmax)

    def __init__(self, dim: Optional[int] = None):
        self.dim = dim


class LogSoftmax(_Activation):
    """log_softmax along `dim`."""
    function = staticmethod(F.log_softmax)

    def __init__(self, dim: Optional[int] = None):
        self.dim = dim


class Softmin(_Activation):
    """softmax(-x) along `dim`."""
    function = staticmethod(F.softmin)

    def __init__(self, dim: Optional[int] = None):
        self.dim = dim


class GLU(_Activation):
    """a · sigmoid(b), a and b the halves of the input along `dim`."""
    function = staticmethod(F.glu)

    def __init__(self, dim: int = -1):
        self.dim = dim


class Tanhshrink(_Activation):
    """x - tanh(x)."""
    function = staticmethod(F.tanhshrink)


class Threshold(_Activation):
    """x where x > threshold, else `value`."""
    function = staticmethod(F.threshold)

    def __init__(self, threshold: float, value: float, inplace: bool = False):
        self.threshold, self.value, self.inplace = threshold, value, inplace


class Hardshrink(_Activation):
    """x where |x| > lambd, else 0."""
    function = staticmethod(F.hardshrink)

    def __init__(self, lambd: float = 0.5):
        self.lambd = lambd


class Softshrink(_Activation):
    """x ∓ lambd outside [-lambd, lambd], 0 inside."""
    function = staticmethod(F.softshrink)

    def __init__(self, lambd: float = 0.5):
        self.lambd = lambd


class PReLU(Module):
    """leaky_relu with a learnt slope `weight`: one (num_parameters=1) or one per channel (axis
    1 of the input), initialised to `init`, as ``torch.nn.PReLU`` (whose attribute
    num_parameters is ``weight.size`` here: the name is Module's method)."""

    def __init__(self, num_parameters: int = 1, init: float = 0.25, *, dtype: Any = np.float64):
        self.weight = Value(np.full(int(num_parameters), init, dtype=dtype), label="weight")

    def forward(self, input: Any) -> Value:
        return F.prelu(input, self.weight)

    def __repr__(self) -> str:
        return f"PReLU(num_parameters={self.weight.size})"
