"""`linear`: the affine map of ``torch.nn.functional.linear``, its bias optional."""

from __future__ import annotations

from typing import Any, Optional

from ... import ops
from ...engine import Value, constant

__all__ = ["linear"]


def linear(input: Any, weight: Any, bias: Optional[Any] = None) -> Value:
    """input · weightᵀ (+ bias): weight (out, in), bias (out,), any leading batch dimensions.
    With a bias this is the fused `ops.linear` op (one node); without, a matmul."""
    if bias is None:
        return constant(input, "linear") @ constant(weight, "linear").T
    return ops.linear(input, weight, bias)
