"""What the tests need to know about an op, kept in its definition: where it is smooth.

Finite differences only see a derivative where a function is smooth. `OpInfo` says, for one op,
where its inputs may be drawn (`Domain`: inside its domain, away from its kinks) and how its
other operands and parameters are drawn (`operands`, a name that `tinygrad_nn.testing` knows).
`tinygrad_nn.testing.OPS`, the table that drives the property tests, is derived from these.
This module needs nothing but the standard library, so the engine does not depend on hypothesis.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Sequence

import numpy as np

MARGIN = 1e-2    # distance kept from kinks and domain edges: far beyond a finite difference's eps


@dataclass(frozen=True)
class Domain:
    """Where an input of an op is safe for finite differences: in [lo, hi] and at least `margin`
    away from each point of `avoid`. ``distinct=True`` draws arrays without near-ties."""

    lo: float = -math.inf
    hi: float = math.inf
    avoid: tuple = ()
    margin: float = MARGIN
    distinct: bool = False

    def avoiding(self, points: Sequence[float]) -> "Domain":
        return replace(self, avoid=self.avoid + tuple(points)) if points else self

    def draw(self, shape: Any) -> Any:
        """A hypothesis strategy of a float (shape None) or an array of `shape` inside the domain
        (`tinygrad_nn.testing.draw_domain`; needs hypothesis)."""
        from .testing import draw_domain
        return draw_domain(self, shape)

    def contains(self, data: Any) -> bool:
        x = np.asarray(data)
        return bool((x >= self.lo).all() and (x <= self.hi).all()
                    and all((np.abs(x - p) >= self.margin).all() for p in self.avoid))


FREE = Domain()


def _no_kinks(kw: dict) -> tuple:
    return ()


def _always(datas: list, kw: dict) -> bool:
    return True


def at_zero(kw: dict) -> tuple:
    """The kink of relu, abs and their kin."""
    return (0.0,)


@dataclass(frozen=True)
class OpInfo:
    """An op described for testing.

    - ``operands``: how `tinygrad_nn.testing` draws the other operands and the parameters from
      the first operand's shape: ``"unary"`` (the default: no others), ``"binary"`` (a partner
      that broadcasts), ``"reduction"`` (axis and keepdims), or a name of the op's own.
    - ``domains``: where each operand may lie (the last one also serves further operands).
    - ``kinks(kw)``: the points where the op has no derivative in its first operand.
    - ``smooth(datas, kw)``: any further condition for a derivative (max: no ties).
    - ``min_dims``: fewest dimensions of an array first operand.
    """

    operands: str = "unary"
    domains: tuple = (FREE,)
    kinks: Callable[[dict], tuple] = field(default=_no_kinks)
    smooth: Callable[[list, dict], bool] = field(default=_always)
    min_dims: int = 0
