"""Reductions over axes: numpy's `axis` and `keepdims` (PyTorch's `dim` and `keepdim` too)."""

from __future__ import annotations

import math
import operator
from typing import Any, Optional

import numpy as np

from ..engine import REQUIRED, Op, Value, identity_vjp
from ..errors import DomainError, ShapeError
from ..opinfo import FREE, MARGIN, Domain, OpInfo, at_zero
from ._support import _check_axis, _raw
from .comparisons import equal
from .elementwise import exp


def _kept(x: Any, axis: Any) -> tuple:
    """The shape of a reduction of `x` over `axis` with keepdims."""
    shape = np.shape(x)
    if axis is None:
        return (1,) * len(shape)
    axes = {a % len(shape) for a in (axis if isinstance(axis, tuple) else (axis,))}
    return tuple(1 if k in axes else n for k, n in enumerate(shape))


def _expand(g: Any, x: Any, axis: Any, keepdims: bool) -> Any:
    """Bring a reduction's output gradient back to the rank of its input, ready to broadcast."""
    if keepdims or axis is None or type(_raw(x)) is float:
        return g
    return g.reshape(_kept(x, axis))


REDUCTION = {"axis": None, "keepdims": False}

sum = Op("sum",
         lambda x, *, axis, keepdims: np.add.reduce(x, axis=axis, keepdims=keepdims),
         lambda g, out, x, *, axis, keepdims: _expand(g, x, axis, keepdims),
         scalar=lambda x, *, axis, keepdims: float(np.sum(x, axis=axis, keepdims=keepdims)),
         defaults=REDUCTION, methods=("sum",), info=OpInfo("reduction"))

mean = Op("mean",
          lambda x, *, axis, keepdims: np.mean(x, axis=axis, keepdims=keepdims),
          lambda g, out, x, *, axis, keepdims:
          _expand(g, x, axis, keepdims) * (np.size(_raw(out)) / np.size(_raw(x))),
          defaults=REDUCTION, methods=("mean",), info=OpInfo("reduction"))


def _max_vjp(g: Any, out: Any, x: Any, *, axis: Any, keepdims: bool) -> Any:
    """The gradient goes to the maximal elements; ties share it equally."""
    if type(_raw(x)) is float:
        return g
    hit = equal.of(x, _expand(out, x, axis, keepdims))
    return _expand(g, x, axis, keepdims) * hit / hit.sum(axis=axis, keepdims=True)


def _no_ties(datas: list, kw: dict) -> bool:
    """Max has a derivative where each reduced slice has a single largest element."""
    x, axis = datas[0], kw["axis"]
    if type(x) is float:
        return True
    axes = tuple(range(x.ndim)) if axis is None else tuple(np.atleast_1d(axis) % (x.ndim or 1))
    slices = np.moveaxis(x, axes, tuple(range(x.ndim - len(axes), x.ndim)))
    slices = slices.reshape(-1, int(np.prod([x.shape[a] for a in axes])))
    if slices.shape[1] < 2:
        return True
    top_two = np.sort(slices, axis=1)[:, -2:]
    return bool((top_two[:, 1] - top_two[:, 0] >= MARGIN).all())


max = Op("max",
         lambda x, *, axis, keepdims: np.max(x, axis=axis, keepdims=keepdims),
         _max_vjp,
         defaults=REDUCTION, methods=("max",),
         info=OpInfo("reduction", domains=(Domain(distinct=True),), smooth=_no_ties))


def _logsumexp(x: Any, *, axis: Any, keepdims: bool) -> Any:
    """log(sum(exp(x))), computed after subtracting the maximum so that nothing overflows."""
    m = x.max(axis=axis, keepdims=True)  # array methods: np.max and friends add a Python layer
    m = np.where(np.isfinite(m), m, 0)
    out = np.log(np.exp(x - m).sum(axis=axis, keepdims=True)) + m
    return out if keepdims else out.squeeze(axis=axis)


def _logsumexp_scalar(x: float, *, axis: Any, keepdims: bool) -> float:
    _check_axis(axis, "logsumexp")
    return x


logsumexp = Op("logsumexp", _logsumexp,
               lambda g, out, x, *, axis, keepdims:
               g if type(_raw(x)) is float else
               _expand(g, x, axis, keepdims) * exp.of(x - _expand(out, x, axis, keepdims)),
               scalar=_logsumexp_scalar,
               defaults={"axis": -1, "keepdims": False}, methods=("logsumexp",),
               info=OpInfo("reduction"))
