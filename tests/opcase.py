"""What the op tests share: an `OpCase` row of the reference tables, inputs inside the usual
domains, and assertions on values and gradients. Each tests/test_ops_<group>.py module adds the
rows of its ops (`REFERENCES`) and their PyTorch spellings (`torch_spellings`); test_ops_values.py
and test_torch_oracle.py run every row through the same checks."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
from hypothesis import settings

from tinygrad_nn import Value

# The property tests of each op alone run the profile's examples, but at most 60 per op and test:
# CI's 150 for each of some 150 ops would take most of the run. The random graphs that mix every
# op keep the full count.
per_op = settings(max_examples=min(settings.default.max_examples, 60))


def assert_same(actual: Any, expected: Any, rtol: float = 1e-12, atol: float = 1e-12) -> None:
    """Equal shapes, and values equal up to rounding (assert_allclose alone would broadcast)."""
    assert np.shape(actual) == np.shape(expected), (np.shape(actual), np.shape(expected))
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=atol)


def backprop(f: Callable[..., Value], *inputs: Any, seed: Any = None) -> tuple[Value, list[Value]]:
    """Apply `f` to fresh leaves holding `inputs`, then back-propagate `seed` (ones by default).

    Each leaf's .grad is then d(sum(seed * f(...))) / d(leaf). An output that needs no gradient
    (a comparison's) has none to pass: the leaves' gradients stay zero.
    """
    leaves = [Value(x) for x in inputs]
    out = f(*leaves)
    if seed is None:
        seed = 1.0 if type(out.data) is float else np.ones(out.shape)
    if out.requires_grad:
        out.backward(seed)
    return out, leaves


def assert_by_hand(f: Callable[[Value], Value], x: Any, value: Any, grad: Any, seed: Any = None,
                   rtol: float = 1e-12, atol: float = 1e-12) -> Value:
    """Back-propagate `seed` through `f` at `x`; compare f(x) and x's gradient with hand values."""
    out, (leaf,) = backprop(f, x, seed=None if seed is None else np.asarray(seed, dtype=float))
    assert_same(out.data, np.asarray(value, dtype=float), rtol, atol)
    assert_same(leaf.grad, np.asarray(grad, dtype=float), rtol, atol)
    return out


# ==== 1. the table: every op with its numpy reference ==========================================
X = np.array([[0.5, -1.5, 2.0], [-0.25, 1.0, 3.0]])  # no zeros, no ties along either axis
Y = np.array([[1.5, 2.0, -0.5], [4.0, -2.0, 0.75]])
ROW = np.array([2.0, -1.0, 0.5])  # broadcasts against the rows of X
POSITIVE = np.abs(X)
COND = np.array([[True, False, True], [False, False, True]])
WEIGHTS = np.array([[1.0, -2.0, 0.5], [0.25, 3.0, -1.0], [2.0, 0.0, 1.5], [-0.5, 1.0, 1.0]])  # (4, 3)
BIAS = np.array([0.1, -0.2, 0.3, 0.4])


@dataclass(frozen=True)
class OpCase:
    """One primitive: how to call it on Values, its numpy reference and inputs in its domain."""

    op: str  # the Op's name, as a result's `_op` reports it
    apply: Callable[..., Value]
    reference: Callable[..., np.ndarray]
    inputs: tuple
    elementwise: bool = False  # True when each output element depends on one element per input
