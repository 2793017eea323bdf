"""tinygrad_nn: a small reverse-mode autodiff engine for neural networks.

`Value` holds a Python float or a numpy array; every operation records its inputs and its
vector-Jacobian product, and `Value.backward()` computes all gradients in one pass. Gradients
can themselves be differentiated: `grad(..., create_graph=True)`, and the function transforms
of `tinygrad_nn.func` (grad, jacobian, hessian, hvp, jvp, vjp).
"""

from . import func, ops
from .anomaly import detect_anomaly
from .diagnostics import diagnose
from .engine import (Op, Value, constant, enable_grad, grad, is_grad_enabled, mark_modified, no_grad,
                     zero_grad)
from .errors import (BackwardError, DomainError, FileFormatError, GradcheckError,
                     GraphvizNotFoundError, InvalidIndexError, NonFiniteError, ShapeError,
                     TinygradNNError, UnsupportedTypeError)
from .ops import *  # noqa: F403  every op as a function: tg.exp(x), tg.sum(x, 1), tg.where(c, a, b)
from .random import manual_seed
from .replay import Tape
from .serialize import load, save
from .viz import draw_dot, save_svg, summary

__version__ = "0.1.0"

__all__ = [
    "Value", "Op", "constant", "no_grad", "enable_grad", "is_grad_enabled", "zero_grad", "grad",
    "detect_anomaly", "mark_modified", "NonFiniteError",
    "func", "ops", "Tape", "manual_seed",
    "TinygradNNError", "ShapeError", "DomainError", "UnsupportedTypeError", "BackwardError",
    "InvalidIndexError", "FileFormatError", "GraphvizNotFoundError", "GradcheckError", "save", "load",
    "draw_dot", "save_svg", "summary", "diagnose",
    *ops.__all__,
]
