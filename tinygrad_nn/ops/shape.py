"""Ops that move elements around without computing: reshape, transpose, join."""

from __future__ import annotations

import math
import operator
from typing import Any, Optional

import numpy as np

from ..engine import REQUIRED, Op, Value, identity_vjp
from ..errors import DomainError, ShapeError
from ..opinfo import FREE, MARGIN, Domain, OpInfo, at_zero
from ._support import _raw
from ..engine import fit_to  # the engine's op that undoes broadcasting


reshape = Op("reshape",
             lambda x, *, shape: np.reshape(x, shape),
             lambda g, out, x, *, shape: g.reshape(np.shape(x)),
             scalar=False, defaults={"shape": REQUIRED}, varargs=True, methods=("reshape",),
             info=OpInfo("reshape"))


def _inverse(axes: Any, ndim: int) -> Any:
    return None if axes is None else tuple(int(k) for k in np.argsort(np.asarray(axes) % ndim))


transpose: Op = Op("transpose",
               lambda x, *, axes: np.transpose(x, axes),
               lambda g, out, x, *, axes: transpose.of(g, axes=_inverse(axes, np.ndim(_raw(x)))),
               scalar=False, defaults={"axes": None}, varargs=True, methods=("transpose",),
               properties=("T",), info=OpInfo("transpose"))


def _concatenate_vjp(i: int, g: Any, out: Any, *xs: Any, axis: int) -> Any:
    axis = axis % g.ndim
    start = int(np.sum([np.shape(x)[axis] for x in xs[:i]], dtype=int))
    return g[(slice(None),) * axis + (slice(start, start + np.shape(xs[i])[axis]),)]


concatenate = Op("concatenate",
                 lambda *xs, axis: np.concatenate(xs, axis=axis),
                 _concatenate_vjp,
                 scalar=False, defaults={"axis": 0}, variadic=True,
                 info=OpInfo("pieces", min_dims=1))

stack = Op("stack",
           lambda *xs, axis: np.stack(xs, axis=axis),
           lambda i, g, out, *xs, axis: g[(slice(None),) * (axis % g.ndim) + (i,)],
           scalar=False, defaults={"axis": 0}, variadic=True, info=OpInfo("stacked"))
