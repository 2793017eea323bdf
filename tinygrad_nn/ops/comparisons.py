"""Comparisons and masks: results of 0 and 1 in the inputs' dtype, with no derivative."""

from __future__ import annotations

import operator
from typing import Any

import numpy as np

from ..engine import Op
from ..opinfo import MARGIN, Domain, OpInfo, at_zero


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

# logical ops on truth values (nonzero is true), for masks: (x > 0) & (x < 1), ~mask; a result
# changes only where an input crosses 0, so tests draw inputs away from it
_TRUTHS = OpInfo("binary", domains=(Domain(avoid=(0.0,)),))


def _logical(name: str, combine: Any, dunders: tuple) -> Op:
    def forward(a: Any, b: Any) -> Any:
        return combine(a, b).astype(np.result_type(a, b))
    return Op(name, forward, None, None, scalar=lambda a, b: float(combine(bool(a), bool(b))),
              methods=(name,), operators=dunders, info=_TRUTHS)


logical_and = _logical("logical_and", np.logical_and, ("__and__", "__rand__"))
logical_or = _logical("logical_or", np.logical_or, ("__or__", "__ror__"))
logical_xor = _logical("logical_xor", np.logical_xor, ("__xor__", "__rxor__"))
logical_not = Op("logical_not", lambda x: (x == 0).astype(x.dtype), None,
                 scalar=lambda x: float(x == 0), methods=("logical_not",),
                 operators=("__invert__",), info=OpInfo(kinks=at_zero))

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
