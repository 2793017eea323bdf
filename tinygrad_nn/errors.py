"""The exceptions tinygrad_nn raises.

Every error derives from `TinygradNNError` and also from the standard exception a user would
expect (ValueError, TypeError, RuntimeError), so `except ValueError` keeps working. Messages
name the operation and the shapes or values at fault.
"""

from typing import Any, Sequence


class TinygradNNError(Exception):
    """Base class of every error raised by tinygrad_nn."""


class ShapeError(TinygradNNError, ValueError):
    """Inputs whose shapes an operation cannot combine (broadcasting, matmul, reshape, ...)."""


class DomainError(TinygradNNError, ValueError):
    """An input outside the mathematical domain of an operation (log of a negative, 1/0, ...)."""


class InvalidIndexError(TinygradNNError, IndexError):
    """An index out of range or of a kind numpy cannot use."""


class UnsupportedTypeError(TinygradNNError, TypeError):
    """An argument of a type an operation does not accept."""


class FileFormatError(TinygradNNError, ValueError):
    """A file that is corrupt, truncated, or not in the format expected (data sets, saved weights)."""


class BackwardError(TinygradNNError, RuntimeError):
    """backward() cannot run as asked (a non-scalar output without a gradient, a bad seed)."""


class NonFiniteError(DomainError, FloatingPointError):
    """A NaN or an infinity where a finite number is required: found by detect_anomaly(), by
    fit() in the data, a loss, a gradient or a weight, by minimize() in the objective."""


class GraphvizNotFoundError(TinygradNNError, RuntimeError):
    """The Graphviz program ``dot``, which lays out and renders graphs, is not installed."""


class GradcheckError(TinygradNNError, AssertionError):
    """Backpropagation disagrees with finite differences, or the check cannot be made.

    An AssertionError, so that pytest reports it as a test failure. ``mismatches`` holds one
    `tinygrad_nn.gradcheck.Mismatch` per (output, input) pair that disagrees (empty when the
    check could not run).
    """

    def __init__(self, message: str, mismatches: Sequence[Any] = ()):
        super().__init__(message)
        self.mismatches = tuple(mismatches)
