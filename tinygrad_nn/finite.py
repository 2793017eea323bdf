"""Finding NaN and infinite numbers in data, outputs and parameters, so that training and
optimisation stop with an error saying where they are instead of carrying on with wrong numbers.

`all_finite` is the cheap test run at every step: one sum over the array, which is finite
exactly when every entry is (unless the sum overflows, and only then is each entry tested).
The other helpers run once something is known to be wrong, to name the rows or parameters.
"""

from __future__ import annotations

import math
from typing import Any, Iterable, List, Sequence, Tuple, Union

import numpy as np

from .engine import Value
from .errors import NonFiniteError


def _array(x: Any) -> Any:
    """A float, or an array (a Value's data, a gradient held as a Value)."""
    if isinstance(x, Value):
        x = x.data
    return x if type(x) is float else np.asarray(x)


def all_finite(x: Any) -> bool:
    """Whether a number, array or Value holds no NaN and no infinity (integers always do)."""
    if type(x) is not np.ndarray:
        x = _array(x)
        if type(x) is float:
            return math.isfinite(x)
    if x.dtype.kind not in "fc":
        return True
    with np.errstate(over="ignore", invalid="ignore"):
        return bool(np.isfinite(x.sum())) or bool(np.isfinite(x).all())


def nonfinite_rows(x: Any) -> np.ndarray:
    """The indices along the first axis of the rows (samples) holding a NaN or infinity."""
    x = _array(x)
    if type(x) is float or x.ndim == 0 or x.dtype.kind not in "fc":
        return np.zeros(0, dtype=np.int64)
    return np.flatnonzero(~np.isfinite(x.reshape(len(x), -1)).all(axis=1))


def listed(indices: Union[Sequence[int], np.ndarray], limit: int = 8) -> str:
    """Indices for a message: ``[3, 17]``, or the first `limit` and how many in all."""
    shown = ", ".join(str(int(i)) for i in indices[:limit])
    return f"[{shown}]" if len(indices) <= limit else f"[{shown}, ...] ({len(indices)} in all)"


def nonfinite_entries(named: Iterable[Tuple[str, Any]]) -> List[str]:
    """``"name (k of n entries)"`` for each named number or array holding a NaN or infinity."""
    found = []
    for name, x in named:
        if x is not None and not all_finite(x):
            x = _array(x)
            if type(x) is float:
                found.append(f"{name} (= {x})")
            else:
                found.append(f"{name} ({int(np.count_nonzero(~np.isfinite(x)))} of {x.size} "
                             "entries)")
    return found


def largest(named: Iterable[Tuple[str, Any]]) -> Tuple[float, str]:
    """(the largest magnitude among the named numbers and arrays, the name holding it): huge
    parameters tell a diverging run from an op that left its domain."""
    size, where = 0.0, ""
    for name, x in named:
        if x is None:
            continue
        x = _array(x)
        value = abs(x) if type(x) is float else float(np.max(np.abs(x), initial=0.0))
        if value > size:
            size, where = value, name
    return size, where


def check_data(who: str, **arrays: Any) -> None:
    """Raise NonFiniteError naming the rows of any array holding a NaN or infinity (data given to
    training, which would otherwise turn the loss and then every parameter into NaN)."""
    for name, x in arrays.items():
        if all_finite(x):
            continue
        rows = nonfinite_rows(x)
        raise NonFiniteError(f"{who}: {name} holds NaN or infinite values in rows {listed(rows)} "
                          f"(of {len(_array(x))}); drop or fill them first")
