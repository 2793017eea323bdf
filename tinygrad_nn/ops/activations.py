"""Activation functions, and the softmax family of classifiers."""

from __future__ import annotations

import math
import operator
from typing import Any, Optional

import numpy as np

from ..engine import REQUIRED, Op, Value, identity_vjp
from ..errors import DomainError, ShapeError
from ..opinfo import FREE, MARGIN, Domain, OpInfo, at_zero
from ._support import _check_axis, _raw, _require
from .comparisons import where
from .elementwise import exp


relu = Op("relu", lambda x: np.maximum(x, 0),
          lambda g, out, x: g * (x > 0),
          scalar=lambda x: x if x > 0 else 0.0, methods=("relu",), info=OpInfo(kinks=at_zero))


def _sigmoid(x: Any) -> Any:
    """1 / (1 + e^-x), written so that neither branch overflows."""
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e))


def _sigmoid_scalar(x: float) -> float:
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


sigmoid = Op("sigmoid", _sigmoid,
             lambda g, out, x: g * out * (1 - out),
             scalar=_sigmoid_scalar, methods=("sigmoid",))


softplus = Op("softplus", lambda x: np.logaddexp(0, x),
              lambda g, out, x: g * sigmoid.of(x),
              scalar=lambda x: (x if x > 0 else 0.0) + math.log1p(math.exp(-math.fabs(x))),
              methods=("softplus",))

leaky_relu = Op("leaky_relu",
                lambda x, *, alpha: np.where(x > 0, x, alpha * x),
                lambda g, out, x, *, alpha: where.of(x > 0, g, alpha * g),
                scalar=lambda x, *, alpha: x if x > 0 else alpha * x,
                defaults={"alpha": 0.01}, methods=("leaky_relu",),
                info=OpInfo("leaky_relu", kinks=at_zero))


def _clip_scalar(x: float, *, lo: Optional[float], hi: Optional[float]) -> float:
    x = x if lo is None or x >= lo else float(lo)
    return x if hi is None or x <= hi else float(hi)


def _clip_vjp(g: Any, out: Any, x: Any, *, lo: Optional[float], hi: Optional[float]) -> Any:
    """1 where clip lets the input through (bounds included), 0 where it clips."""
    if lo is not None:
        g = g * (x >= lo)
    if hi is not None:
        g = g * (x <= hi)
    return g


clip = Op("clip", lambda x, *, lo, hi: np.clip(x, lo, hi), _clip_vjp, scalar=_clip_scalar,
          defaults={"lo": None, "hi": None}, methods=("clip",),
          info=OpInfo("clip", kinks=lambda kw: tuple(b for b in (kw["lo"], kw["hi"])
                                                     if b is not None)))


# ---- softmax ---------------------------------------------------------------------------------
def _log_softmax(x: Any, *, axis: int) -> Any:
    """x - logsumexp(x), shifted by the maximum first so that exp cannot overflow. (A row
    holding inf gives nan either way, so unlike logsumexp this skips the check for one.)"""
    shifted = x - x.max(axis=axis, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))


def _scalar_softmax(value: float, op: str) -> Any:
    """log_softmax and softmax of a single number: 0 and 1 (one class has all of the mass)."""
    def scalar(x: float, *, axis: int) -> float:
        _check_axis(axis, op)
        return value
    return scalar


log_softmax = Op("log_softmax", _log_softmax,
                 lambda g, out, x, *, axis:
                 None if type(_raw(x)) is float else
                 g - exp.of(out) * g.sum(axis=axis, keepdims=True),
                 scalar=_scalar_softmax(0.0, "log_softmax"), defaults={"axis": -1},
                 methods=("log_softmax",), info=OpInfo("axis", min_dims=1))

softmax = Op("softmax", lambda x, *, axis: np.exp(_log_softmax(x, axis=axis)),
             lambda g, out, x, *, axis:
             None if type(_raw(x)) is float else
             out * (g - (g * out).sum(axis=axis, keepdims=True)),
             scalar=_scalar_softmax(1.0, "softmax"), defaults={"axis": -1},
             methods=("softmax",), info=OpInfo("axis", min_dims=1))


def _rows(z: Any) -> int:
    """How many rows of classes (on the last axis) `z` holds."""
    return z.size // z.shape[-1]  # Value and ndarray alike: attributes, not np.size/np.shape


def _softmax_cross_entropy(z: Any, y: Any) -> Any:
    if z.ndim == 0 or np.shape(y) != z.shape:
        raise ShapeError(f"softmax_cross_entropy: targets must have the logits' shape, with the "
                         f"classes on the last axis; got logits {np.shape(z)} and targets "
                         f"{np.shape(y)}")
    return -np.vdot(y, _log_softmax(z, axis=-1)) / _rows(z)


# Cross-entropy of softmax(z) against target rows y, averaged over the rows: the usual last
# layer of a classifier as one node, with PyTorch's fused gradient (softmax(z) - y) / m for
# one-hot rows instead of four nodes (log_softmax, *, sum, /) each with its own VJP.
softmax_cross_entropy = Op(
    "softmax_cross_entropy", _softmax_cross_entropy,
    lambda g, out, z, y:
    (softmax.of(z) * y.sum(axis=-1, keepdims=True) - y) * (g / _rows(z)),
    lambda g, out, z, y: -g * log_softmax.of(z) / _rows(z),
    scalar=False, info=OpInfo("same_shape", min_dims=1))
