"""Utilities on parameters, as torch.nn.utils: gradient clipping (`clip_grad_norm_`,
`clip_grad_value_`, between backward() and the optimizer's step) and the parameters as one
flat vector (`parameters_to_vector`, `vector_to_parameters`).

The clipping functions replace each ``.grad`` with a clipped copy rather than changing the
array in place: backward() may hand the same gradient array to several Values.
"""

from __future__ import annotations

import math
from typing import Any, Iterable, List, Union

import numpy as np

from .. import ops
from ..engine import Value, mark_modified
from ..errors import DomainError, ShapeError, UnsupportedTypeError

Parameters = Union[Value, Iterable[Value]]

__all__ = ["clip_grad_norm_", "clip_grad_value_", "parameters_to_vector", "vector_to_parameters"]


def _values(parameters: Parameters, who: str) -> List[Value]:
    """The parameters as a list of Values (a single Value is a list of one)."""
    if isinstance(parameters, Value):
        return [parameters]
    if not isinstance(parameters, Iterable):
        raise UnsupportedTypeError(f"{who}: parameters must be a Value or an iterable of Values, "
                                   f"such as model.parameters(); got {type(parameters).__name__}")
    values = list(parameters)
    for i, p in enumerate(values):
        if not isinstance(p, Value):
            raise UnsupportedTypeError(f"{who}: parameters[{i}] is a {type(p).__name__}, "
                                       "not a Value")
    return values


def _limit(value: Any, name: str, who: str) -> float:
    try:
        limit = float(value)
    except (TypeError, ValueError):
        raise UnsupportedTypeError(f"{who}: {name} must be a number; got {value!r}") from None
    if not limit >= 0.0:
        raise ValueError(f"{who}: {name} must be >= 0; got {value}")
    return limit


def _with_grads(parameters: Parameters, who: str) -> List[Value]:
    """The parameters that have a gradient (as torch, one whose .grad is None is skipped)."""
    return [p for p in _values(parameters, who) if p.grad is not None]


def _grad(p: Value) -> Any:
    return p.grad.data if isinstance(p.grad, Value) else p.grad


def _set_grad(p: Value, grad: Any) -> None:
    p.grad = float(grad) if type(p.data) is float else grad


def clip_grad_norm_(parameters: Parameters, max_norm: float, norm_type: float = 2.0,
                    error_if_nonfinite: bool = False) -> float:
    """Scale the gradients so that their total `norm_type` norm (of all of them, as one vector)
    is at most `max_norm`; returns the total norm before clipping.

    As torch: the total is the norm of the per-parameter norms (``inf`` gives the largest
    magnitude), and every gradient is multiplied by ``min(1, max_norm / (total + 1e-6))``. A
    non-finite total raises a DomainError when `error_if_nonfinite`, and otherwise scales by it
    (the gradients become nan). Returns a float (torch returns a tensor).
    """
    who = "clip_grad_norm_"
    params = _with_grads(parameters, who)
    max_norm = _limit(max_norm, "max_norm", who)
    try:
        norm_type = float(norm_type)
    except (TypeError, ValueError):
        raise UnsupportedTypeError(f"{who}: norm_type must be a number (inf for the largest "
                                   f"magnitude); got {norm_type!r}") from None
    if not params:
        return 0.0
    norms = [np.linalg.norm(np.ravel(_grad(p)), norm_type) for p in params]
    total = float(np.linalg.norm(np.array(norms), norm_type))
    if error_if_nonfinite and not math.isfinite(total):
        raise DomainError(f"{who}: the total norm of order {norm_type} of the gradients is "
                          f"{total}, so they cannot be clipped; pass error_if_nonfinite=False "
                          "to scale them by it anyway")
    scale = min(max_norm / (total + 1e-6), 1.0)
    if scale != 1.0:
        with np.errstate(invalid="ignore"):  # a non-finite total: inf · 0 is nan, as in torch
            for p in params:
                _set_grad(p, _grad(p) * scale)
    return total


def clip_grad_value_(parameters: Parameters, clip_value: float) -> None:
    """Clip every gradient element into [-clip_value, clip_value], as torch (nan stays nan)."""
    who = "clip_grad_value_"
    params = _with_grads(parameters, who)
    limit = _limit(clip_value, "clip_value", who)
    for p in params:
        _set_grad(p, np.clip(_grad(p), -limit, limit))


def parameters_to_vector(parameters: Parameters) -> Value:
    """The parameters laid end to end in one 1-D Value, differentiable with respect to them."""
    params = _values(parameters, "parameters_to_vector")
    if not params:
        raise ValueError("parameters_to_vector: parameters is empty")
    return ops.concatenate([ops.reshape(p, (-1,)) for p in params])


def vector_to_parameters(vec: Any, parameters: Parameters) -> None:
    """Set the parameters' data from a 1-D vector (a Value or an array) laid out as
    `parameters_to_vector` lays them; each keeps its shape and dtype (array data is written in
    place, a float parameter gets a float). Unlike torch, a vector of the wrong length is
    refused."""
    who = "vector_to_parameters"
    params = _values(parameters, who)
    vector = np.asarray(vec.data if isinstance(vec, Value) else vec)
    total = sum(p.size for p in params)
    if vector.shape != (total,):
        raise ShapeError(f"{who}: vec must have shape ({total},), one entry per parameter "
                         f"element; got shape {vector.shape}")
    start = 0
    for p in params:
        chunk = vector[start:start + p.size]
        start += p.size
        if type(p.data) is float:
            p.data = float(chunk[0])
        else:
            p.data[...] = chunk.reshape(p.shape)
            mark_modified(p)
