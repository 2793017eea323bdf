"""tinygrad_nn: a small reverse-mode autodiff engine for neural networks.

`Value` holds a Python float or a numpy array; every operation records its inputs and its
vector-Jacobian product, and `Value.backward()` computes all gradients in one pass.
"""

from .engine import Op, Value, constant, is_grad_enabled, no_grad, zero_grad
from .errors import (BackwardError, DomainError, FileFormatError, GradcheckError,
                     GraphvizNotFoundError, InvalidIndexError, ShapeError, TinygradNNError,
                     UnsupportedTypeError)
from .ops import (abs, clip, concatenate, exp, leaky_relu, linear, log, log_softmax, logsumexp,
                  matmul, max, mean, relu, reshape, sigmoid, softmax, softmax_cross_entropy, softplus,
                  sqrt, stack, sum, tanh, transpose, where)
from .replay import Tape
from .serialize import load, save
from .viz import draw_dot, repr_svg, save_svg, summary

# Pictures of the graph, as Value methods: v.to_svg("graph.svg"), and inline in Jupyter.
Value.to_svg = save_svg
Value._repr_svg_ = repr_svg

__version__ = "0.1.0"

__all__ = [
    "Value", "Op", "constant", "no_grad", "is_grad_enabled", "zero_grad", "Tape",
    "TinygradNNError", "ShapeError", "DomainError", "UnsupportedTypeError", "BackwardError",
    "InvalidIndexError", "FileFormatError", "GraphvizNotFoundError", "GradcheckError", "save", "load",
    "draw_dot", "save_svg", "summary",
    "abs", "clip", "concatenate", "exp", "leaky_relu", "linear", "log", "log_softmax", "logsumexp",
    "matmul", "max", "mean", "relu", "reshape", "sigmoid", "softmax", "softmax_cross_entropy",
    "softplus", "sqrt", "stack", "sum", "tanh", "transpose", "where",
]
