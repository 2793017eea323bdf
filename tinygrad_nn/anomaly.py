"""Anomaly mode: find the first op whose result, forward or backward, is NaN or infinite.

Off by default and free when off: the operators test one per-thread switch they test anyway
(grad mode), and backward() picks its checked loop once per call. Inside ``detect_anomaly()``
every op's result is checked as it is computed, every gradient an op sends back is checked
before it is added, and each node remembers the line of user code that created it, so that the
error can say where the bad number came from:

    with tg.detect_anomaly():
        loss = model(X).log().mean()     # NonFiniteError: log produced -inf ... created at
        loss.backward()                  # train.py:12: loss = model(X).log().mean()
"""

from __future__ import annotations

import linecache
import os
import sys
from functools import wraps
from types import FrameType
from typing import Any, Callable, Optional, Sequence

import numpy as np

from . import engine
from .errors import NonFiniteError

_PACKAGE = os.path.dirname(os.path.abspath(__file__)) + os.sep
# How many nodes' origins a detect_anomaly() block keeps (holding a node keeps its graph alive);
# a node made before the newest ones is reported as "not watched"
KEPT_ORIGINS = 100_000


class detect_anomaly:
    """Context manager (and decorator) that checks every op's forward result and every gradient
    for NaN (and, with ``check_inf=True``, infinity) in this thread, raising `NonFiniteError`
    at the first one with the op, its inputs' shapes and value ranges, and the user's line of
    code that created the node. ``check_inf=False`` lets infinities through (attention masks
    filled with -inf), catching NaN only. As ``torch.autograd.detect_anomaly``."""

    def __init__(self, check_inf: bool = True):
        self.check_inf = check_inf
        self.origins: dict = {}  # node -> where the user's code created it

    def __enter__(self) -> "detect_anomaly":
        mode = engine._MODE
        outer = mode.anomaly
        mode.saved_anomaly.append(outer)  # the thread's own stack, whatever the instance
        if outer is not None and outer is not self:  # nested: one record of origins
            self.origins = outer.origins
        engine._set_mode(mode.grad, self)
        return self

    def __exit__(self, *exc: Any) -> None:
        mode = engine._MODE
        engine._set_mode(mode.grad, mode.saved_anomaly.pop())

    def __call__(self, fn: Callable) -> Callable:
        @wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with detect_anomaly(self.check_inf):
                return fn(*args, **kwargs)
        return wrapper

    # ---- what the engine calls ------------------------------------------------------------
    def _bad(self, x: Any) -> str:
        """'' if `x` is all finite (NaN-free with check_inf off); else what is wrong with it."""
        d = np.asarray(x._data if isinstance(x, engine.Value) else x)
        if d.dtype.kind not in "fc":
            return ""
        nan = int(np.isnan(d).sum())
        inf = int(np.isinf(d).sum()) if self.check_inf else 0
        if not nan and not inf:
            return ""
        parts = ([f"{nan} NaN"] if nan else []) + ([f"{inf} infinite"] if inf else [])
        where = "" if d.ndim == 0 else f" of its {d.size} values"
        return " and ".join(parts) + where

    def check_forward(self, op: Any, out: Any, inputs: Sequence[Any]) -> None:
        bad = self._bad(out)
        if bad:
            raise NonFiniteError(f"detect_anomaly: {op.name} (forward) gave {bad}; inputs: "
                                 f"{describe(inputs)}; at {user_line()}")

    def remember(self, node: Any) -> None:
        origins = self.origins
        if len(origins) >= KEPT_ORIGINS:  # a long loop inside the block: forget the older half,
            newer = list(origins.items())[KEPT_ORIGINS // 2:]  # so old graphs can be freed
            origins.clear()
            origins.update(newer)
        origins[node] = user_line()

    def check_seed(self, root: Any, seed: Any) -> None:
        bad = self._bad(seed)
        if bad:
            raise NonFiniteError(f"detect_anomaly: the gradient given to backward() has {bad}")

    def check_backward(self, node: Any, i: int, gi: Any, g: Any, inputs: Sequence[Any]) -> None:
        """`gi`, what `node`'s op sent to its input `i` given `g`, must be finite (node None:
        what a leaf's hooks returned)."""
        if gi is None:
            return
        bad = self._bad(gi)
        if bad and node is None:
            raise NonFiniteError(f"detect_anomaly: a gradient hook on a leaf gave {bad}")
        if bad:
            where = self.origins.get(node, "a line not watched by detect_anomaly()")
            raise NonFiniteError(
                f"detect_anomaly: the gradient {node._fn.name} (backward) sent to its input {i} "
                f"has {bad}; the gradient arriving at {node._fn.name}: {describe([g])}; "
                f"its inputs: {describe(inputs)}; {node._fn.name} was created at {where}")


def describe(datas: Sequence[Any]) -> str:
    """Each input's shape and value range, for error messages."""
    parts = []
    for x in datas:
        d = x._data if isinstance(x, engine.Value) else x
        if type(d) is float or np.ndim(d) == 0:
            parts.append(repr(float(np.asarray(d))))
            continue
        d = np.asarray(d)
        if d.size == 0:
            parts.append(f"array{d.shape} (empty)")
            continue
        finite = d[np.isfinite(d)]
        rng = f"in [{finite.min():.4g}, {finite.max():.4g}]" if finite.size else "no finite values"
        extra = f", {d.size - finite.size} non-finite" if finite.size < d.size else ""
        parts.append(f"array{d.shape} {rng}{extra}")
    return ", ".join(parts) if parts else "(none)"


def user_line() -> str:
    """The innermost frame of the caller's code outside tinygrad_nn: 'file:line: source'."""
    frame: Optional[FrameType] = sys._getframe(1)
    while frame is not None and frame.f_code.co_filename.startswith(_PACKAGE):
        frame = frame.f_back
    if frame is None:
        return "(inside tinygrad_nn)"
    name, line = frame.f_code.co_filename, frame.f_lineno
    source = linecache.getline(name, line).strip()
    return f"{name}:{line}" + (f": {source}" if source else "")
