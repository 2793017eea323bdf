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
