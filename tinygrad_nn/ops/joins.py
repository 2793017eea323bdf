"""Joining Values into one and splitting one into several: concatenate, stack and their kin."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..engine import Op
from ..opinfo import OpInfo


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
