"""What the op modules share: domain checks, and ops built from other ops."""

from __future__ import annotations

import functools
import inspect
from typing import Any, Callable, Generic, ParamSpec, Sequence, TypeVar

import numpy as np

from ..engine import Value, torch_names
from ..errors import DomainError, ShapeError
from ..opinfo import OpInfo

P = ParamSpec("P")
R = TypeVar("R")


def _raw(x: Any) -> Any:
    """The data of a Value, or `x` itself: what domain checks look at, in either mode."""
    return x.data if isinstance(x, Value) else x


def _require(ok: Any, op: str, requirement: str, x: Any) -> None:
    """Raise DomainError unless `ok` (a bool or a bool array over `x`) holds everywhere."""
    if ok if type(ok) is bool else ok.all():
        return
    if type(x) is float:
        raise DomainError(f"{op}: {requirement}; got {x}")
    bad = np.argwhere(~np.asarray(ok))[0]
    where_ = tuple(int(k) for k in bad)
    value = np.broadcast_to(x, np.shape(ok))[where_]
    raise DomainError(f"{op}: {requirement}; got {value} at index {where_} "
                      f"of an input of shape {np.shape(x)}")


BINARY = OpInfo(operands="binary")


def _check_axis(axis: Any, op: str) -> None:
    """A Python float counts as a single class: along axis 0 or -1 (or all axes)."""
    if axis not in (None, (), 0, -1, (0,), (-1,)):
        raise ShapeError(f"{op}: axis {axis} is out of bounds for a scalar Value")


class Composite(Generic[P, R]):
    """An op written as a function of other ops (``split``, ``vstack``, ``var``): the graph it
    builds is made of primitives, so it needs no VJP of its own. Like an `Op` it is a package
    function and, under each name in `methods`, a Value method (its first argument is the
    Value); `info` describes it for the property tests (`tinygrad_nn.testing.OPS`).
    ``variadic=True``: its first argument is a sequence of Values (as for ``vstack``)."""

    operators: tuple = ()
    properties: tuple = ()

    def __init__(self, fn: Callable[P, R], *, methods: Sequence[str] = (), info: Any = None,
                 scalar: bool = True, variadic: bool = False):
        self.fn = fn
        self.name = fn.__name__
        self.methods = tuple(methods)
        self.info = info
        self.scalar = scalar
        self.variadic = variadic
        self.parameters = inspect.signature(fn).parameters
        functools.update_wrapper(self, fn)

    def __call__(self, *args: P.args, **kw: P.kwargs) -> R:
        return self.fn(*args, **torch_names(kw, self.parameters, self.name))  # type: ignore[arg-type]

    def __get__(self, value: Any, owner: Any = None) -> Any:
        """As a Value method: `value` is the first argument."""
        return self if value is None else functools.partial(self, value)

    def __repr__(self) -> str:
        return f"Composite({self.name!r})"


def composite(*, methods: Sequence[str] = (), info: Any = None, scalar: bool = True,
              variadic: bool = False) -> Callable[[Callable[P, R]], Composite[P, R]]:
    """Decorate a function of other ops to make it a `Composite` op of the table."""
    def make(fn: Callable[P, R]) -> Composite[P, R]:
        return Composite(fn, methods=methods, info=info, scalar=scalar, variadic=variadic)
    return make
