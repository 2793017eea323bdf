"""Comparisons and masks: results of 0 and 1 in the inputs' dtype, with no derivative."""

from __future__ import annotations

import operator
from typing import Any

import numpy as np

from ..engine import Op
from ..opinfo import MARGIN, OpInfo, at_zero


def _comparison(name: str, compare: Any, dunder: str) -> Op:
    """An elementwise comparison, as an op without a derivative."""
    def forward(a: Any, b: Any) -> Any:
        return compare(a, b).astype(np.result_type(a, b))
    return Op(name, forward, None, None, scalar=lambda a, b: float(compare(a, b)),
              operators=(dunder,) if dunder else (), info=OpInfo("binary", smooth=_apart))


def _apart(datas: list, kw: dict) -> bool:
    """A comparison is constant near inputs that are not close to equal."""
    a, b = datas
    return bool((np.abs(np.subtract(a, b)) >= 2 * MARGIN).all())


less = _comparison("<", operator.lt, "__lt__")
less_equal = _comparison("<=", operator.le, "__le__")
greater = _comparison(">", operator.gt, "__gt__")
greater_equal = _comparison(">=", operator.ge, "__ge__")
equal = _comparison("equal", operator.eq, "__eq__")
not_equal = _comparison("not_equal", operator.ne, "__ne__")

sign = Op("sign", np.sign, None,
          scalar=lambda x: float((x > 0) - (x < 0)),
          methods=("sign",), info=OpInfo(kinks=at_zero))


# where(cond, a, b): `a` where `cond` is nonzero, else `b` (elementwise, broadcasting); the
# condition has no derivative.
where: Op = Op("where", np.where,
           None,
           lambda g, out, cond, a, b: where.of(cond, g, 0.0),
           lambda g, out, cond, a, b: where.of(cond, 0.0, g),
           scalar=lambda cond, a, b: a if cond else b,
           info=OpInfo("where"))
