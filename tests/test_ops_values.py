"""Every op's value and gradient, checked against numpy and against numbers worked out by hand.

The module has two halves, as minitorch's tests do:

1. `REFERENCES`, one table with a row per primitive: how to call it, its numpy reference and
   inputs inside its domain (no zeros, no ties, nothing on a clip bound). Every row goes through
   the same checks: the value matches numpy, float32 stays float32 (value and gradients), and
   the scalar path (Python floats) agrees with the array path. A test makes sure the table has a
   row for every Op in `tinygrad_nn.ops`. (Gradients on random inputs are checked against finite
   differences in test_ops_gradients.py and against PyTorch in test_torch_oracle.py.)
2. Hand-worked cases, grouped by concept, with the calculus in the comments: every op's
   derivative rule, broadcasting, matmul shapes, reductions, the non-differentiable points, the
   softmax family and its stability at +-1e3, indexing, structural ops and reflected operators.
"""

from __future__ import annotations

import math
from typing import Any, Callable, Optional

import numpy as np
import pytest

import test_ops_activations
import test_ops_indexing
import test_ops_joins
import test_ops_linalg
import test_ops_math
import test_ops_reductions
import test_ops_shape
import test_ops_windows
import tinygrad_nn as tg
from opcase import (BIAS, COND, POSITIVE, ROW, WEIGHTS, X, Y, OpCase, assert_by_hand, assert_same,
                    backprop)
from tinygrad_nn import Op, Value, ops

GROUPS = (test_ops_math, test_ops_activations, test_ops_reductions, test_ops_shape,
          test_ops_joins, test_ops_indexing, test_ops_linalg, test_ops_windows)

LN2, LN3, LN4 = math.log(2), math.log(3), math.log(4)


def _log_sum_exp(a: np.ndarray, axis: int, keepdims: bool = False) -> np.ndarray:
    return np.log(np.sum(np.exp(a), axis=axis, keepdims=keepdims))


REFERENCES = [
    OpCase("+", lambda a, b: a + b, np.add, (X, ROW), elementwise=True),
    OpCase("-", lambda a, b: a - b, np.subtract, (X, ROW), elementwise=True),
    OpCase("*", lambda a, b: a * b, np.multiply, (X, ROW), elementwise=True),
    OpCase("/", lambda a, b: a / b, np.divide, (X, Y), elementwise=True),
    OpCase("neg", lambda a: -a, np.negative, (X,), elementwise=True),
    OpCase("**", lambda a, b: a ** b, np.power, (POSITIVE, ROW), elementwise=True),
    OpCase("exp", tg.exp, np.exp, (X,), elementwise=True),
    OpCase("log", tg.log, np.log, (POSITIVE,), elementwise=True),
    OpCase("sqrt", tg.sqrt, np.sqrt, (POSITIVE,), elementwise=True),
    OpCase("abs", tg.abs, np.abs, (X,), elementwise=True),
    OpCase("relu", tg.relu, lambda a: np.maximum(a, 0), (X,), elementwise=True),
    OpCase("sigmoid", tg.sigmoid, lambda a: 1 / (1 + np.exp(-a)), (X,), elementwise=True),
    OpCase("tanh", tg.tanh, np.tanh, (X,), elementwise=True),
    OpCase("softplus", tg.softplus, lambda a: np.log1p(np.exp(a)), (X,), elementwise=True),
    OpCase("leaky_relu", lambda a: a.leaky_relu(0.1), lambda a: np.where(a > 0, a, 0.1 * a), (X,),
           elementwise=True),
    OpCase("clip", lambda a: a.clip(-1.0, 1.5), lambda a: np.clip(a, -1.0, 1.5), (X,),
           elementwise=True),
    OpCase("@", lambda a, b: a @ b, np.matmul, (X, Y.T)),
    OpCase("linear", tg.linear, lambda x, w, b: x @ w.T + b, (X, WEIGHTS, BIAS)),
    OpCase("sum", lambda a: a.sum(axis=0), lambda a: np.sum(a, axis=0), (X,)),
    OpCase("mean", lambda a: a.mean(axis=1, keepdims=True),
           lambda a: np.mean(a, axis=1, keepdims=True), (X,)),
    OpCase("max", lambda a: a.max(axis=1), lambda a: np.max(a, axis=1), (X,)),
    OpCase("logsumexp", lambda a: a.logsumexp(axis=0, keepdims=True),
           lambda a: _log_sum_exp(a, axis=0, keepdims=True), (X,)),
    OpCase("log_softmax", lambda a: a.log_softmax(axis=-1),
           lambda a: a - _log_sum_exp(a, axis=-1, keepdims=True), (X,)),
    OpCase("softmax", lambda a: a.softmax(axis=0),
           lambda a: np.exp(a) / np.sum(np.exp(a), axis=0), (X,)),
    OpCase("softmax_cross_entropy", tg.ops.softmax_cross_entropy,
           lambda a, t: -np.sum(t * (a - _log_sum_exp(a, axis=-1, keepdims=True))) / len(a),
           (X, np.abs(Y) / np.abs(Y).sum(axis=-1, keepdims=True))),
    OpCase("reshape", lambda a: a.reshape(3, 2), lambda a: np.reshape(a, (3, 2)), (X,)),
    OpCase("transpose", lambda a: a.transpose(1, 0), np.transpose, (X,)),
    OpCase("[]", lambda a: a[[1, 0, 1], 2], lambda a: a[[1, 0, 1], 2], (X,)),
    OpCase("concatenate", lambda a, b: tg.concatenate([a, b], axis=0),
           lambda a, b: np.concatenate([a, b], axis=0), (X, Y)),
    OpCase("stack", lambda a, b: tg.stack([a, b], axis=1),
           lambda a, b: np.stack([a, b], axis=1), (X, Y)),
    OpCase("where", lambda a, b: tg.where(COND, a, b), lambda a, b: np.where(COND, a, b), (X, ROW)),
    OpCase("<", lambda a, b: a < b, lambda a, b: np.less(a, b).astype(float), (X, ROW),
           elementwise=True),
    OpCase("<=", lambda a, b: a <= b, lambda a, b: np.less_equal(a, b).astype(float), (X, ROW),
           elementwise=True),
    OpCase(">", lambda a, b: a > b, lambda a, b: np.greater(a, b).astype(float), (X, ROW),
           elementwise=True),
    OpCase(">=", lambda a, b: a >= b, lambda a, b: np.greater_equal(a, b).astype(float), (X, ROW),
           elementwise=True),
    OpCase("equal", lambda a, b: a == b, lambda a, b: np.equal(a, b).astype(float),
           (X, np.round(X)), elementwise=True),
    OpCase("not_equal", lambda a, b: a != b, lambda a, b: np.not_equal(a, b).astype(float),
           (X, np.round(X)), elementwise=True),
    OpCase("logical_and", lambda a, b: a & b, lambda a, b: np.logical_and(a, b).astype(float),
           (X, np.round(X)), elementwise=True),
    OpCase("logical_or", lambda a, b: a | b, lambda a, b: np.logical_or(a, b).astype(float),
           (np.round(X), np.round(Y)), elementwise=True),
    OpCase("logical_xor", lambda a, b: a ^ b, lambda a, b: np.logical_xor(a, b).astype(float),
           (X, np.round(X)), elementwise=True),
    OpCase("logical_not", lambda a: ~a, lambda a: np.logical_not(a).astype(float),
           (np.round(X),), elementwise=True),
    OpCase("sign", tg.sign, np.sign, (X,), elementwise=True),
    OpCase("fit_to", lambda a: tg.fit_to(a, (1, 3), a.dtype),
           lambda a: np.sum(a, axis=0, keepdims=True), (X,)),
    OpCase("add_at", lambda a: tg.add_at(a, np.array([2, 0, 2]), (4, 3)),
           lambda a: np.array([a[1], np.zeros(3), a[0] + a[2], np.zeros(3)]), (np.vstack([X, ROW]),)),
] + [row for group in GROUPS for row in group.REFERENCES]
CASE_IDS = [case.op for case in REFERENCES]


def _seed_for(case: OpCase) -> np.ndarray:
    """A fixed, non-uniform output gradient, so that no VJP passes by treating the seed as ones."""
    shape = np.shape(case.reference(*case.inputs))
    return np.random.default_rng(7).uniform(-1, 1, shape)


def test_the_table_has_a_row_for_every_op():
    registered = {op.name for op in ops.ALL.values()}
    assert sorted(CASE_IDS) == sorted(registered)


PRIMITIVES = {op.name for op in ops.ALL.values() if isinstance(op, Op)}


@pytest.mark.parametrize("case", REFERENCES, ids=CASE_IDS)
def test_value_matches_numpy(case: OpCase):
    out = case.apply(*[Value(x) for x in case.inputs])
    if case.op in PRIMITIVES:  # a composite's result comes from the last op it applies
        assert out._op == case.op
    assert_same(out.data, case.reference(*case.inputs))


@pytest.mark.parametrize("case", REFERENCES, ids=CASE_IDS)
def test_float32_stays_float32(case: OpCase):
    seed = _seed_for(case)
    inputs32 = [Value(x, dtype=np.float32) for x in case.inputs]
    out = case.apply(*inputs32)
    assert out.dtype == np.float32
    assert_same(out.data, case.reference(*case.inputs), rtol=1e-5, atol=1e-6)
    if out.requires_grad:  # a comparison's result needs none
        out.backward(seed.astype(np.float32))
    _, leaves64 = backprop(case.apply, *case.inputs, seed=seed)
    for leaf32, leaf64 in zip(inputs32, leaves64):
        assert leaf32.grad.dtype == np.float32
        assert_same(leaf32.grad, leaf64.grad, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("case", [c for c in REFERENCES if c.elementwise],
                         ids=[c.op for c in REFERENCES if c.elementwise])
def test_scalar_path_agrees_with_array_path(case: OpCase):
    arrays = np.broadcast_arrays(*case.inputs)
    out, leaves = backprop(case.apply, *arrays)
    for index in np.ndindex(out.shape):
        scalar_out, scalars = backprop(case.apply, *[float(a[index]) for a in arrays])
        assert type(scalar_out.data) is float
        assert scalar_out.data == pytest.approx(out.data[index], rel=1e-12)
        for scalar, leaf in zip(scalars, leaves):
            assert type(scalar.grad) is float
            assert scalar.grad == pytest.approx(leaf.grad[index], rel=1e-12, abs=1e-15)


# ==== 2. hand-worked cases =====================================================================
# ---- the scalar path: each case is (f, inputs, f(inputs), gradient for each input) ----------
SCALAR_CASES = [
    pytest.param(lambda x, y: x + y, (2.0, 3.0), 5.0, (1.0, 1.0), id="add"),
    pytest.param(lambda x, y: x - y, (2.0, 3.0), -1.0, (1.0, -1.0), id="sub"),
    # d(xy)/dx = y = 3, d(xy)/dy = x = 2
    pytest.param(lambda x, y: x * y, (2.0, 3.0), 6.0, (3.0, 2.0), id="mul"),
    # x/y at (3, 2): d/dx = 1/y = 0.5, d/dy = -x/y**2 = -3/4
    pytest.param(lambda x, y: x / y, (3.0, 2.0), 1.5, (0.5, -0.75), id="div"),
    pytest.param(lambda x: -x, (2.0,), -2.0, (-1.0,), id="neg"),
    # d/dx x**3 at 2 = 3 * 2**2 = 12
    pytest.param(lambda x: x ** 3, (2.0,), 8.0, (12.0,), id="cube"),
    # a negative base with an integer exponent: (-2)**3 = -8, 3 * (-2)**2 = 12
    pytest.param(lambda x: x ** 3, (-2.0,), -8.0, (12.0,), id="cube-negative-base"),
    # x**0.5 at 4 = 2, 0.5 * 4**-0.5 = 0.25
    pytest.param(lambda x: x ** 0.5, (4.0,), 2.0, (0.25,), id="pow-half"),
    # x**-1 at 4 = 1/4, -1 * 4**-2 = -1/16
    pytest.param(lambda x: x ** -1, (4.0,), 0.25, (-0.0625,), id="pow-minus-one"),
    # x**0 is the constant 1, so its derivative is 0, even at x = 0
    pytest.param(lambda x: x ** 0, (0.0,), 1.0, (0.0,), id="pow-zero-exponent"),
    # x**y at (2, 3) = 8: d/dx = y x**(y-1) = 3 * 4 = 12, d/dy = x**y ln x = 8 ln 2
    pytest.param(lambda x, y: x ** y, (2.0, 3.0), 8.0, (12.0, 8 * LN2), id="value-pow-value"),
    # e**x is its own derivative: e at 1, 1 at 0
    pytest.param(tg.exp, (1.0,), math.e, (math.e,), id="exp-1"),
    pytest.param(tg.exp, (0.0,), 1.0, (1.0,), id="exp-0"),
    # d/dx ln x = 1/x = 1/2 at 2
    pytest.param(tg.log, (2.0,), LN2, (0.5,), id="log"),
    # d/dx sqrt(x) = 1 / (2 sqrt(x)) = 1/6 at 9
    pytest.param(tg.sqrt, (9.0,), 3.0, (1 / 6,), id="sqrt"),
    pytest.param(tg.abs, (-3.0,), 3.0, (-1.0,), id="abs-negative"),
    pytest.param(tg.abs, (2.0,), 2.0, (1.0,), id="abs-positive"),
    pytest.param(tg.relu, (-2.0,), 0.0, (0.0,), id="relu-negative"),
    pytest.param(tg.relu, (3.0,), 3.0, (1.0,), id="relu-positive"),
    # sigmoid(0) = 1/2, s (1 - s) = 1/4; sigmoid(ln 3) = 1 / (1 + 1/3) = 3/4, 3/4 * 1/4 = 3/16
    pytest.param(tg.sigmoid, (0.0,), 0.5, (0.25,), id="sigmoid-0"),
    pytest.param(tg.sigmoid, (LN3,), 0.75, (0.1875,), id="sigmoid-ln3"),
    # tanh(0) = 0, 1 - 0**2 = 1; tanh(ln 2) = (2 - 1/2) / (2 + 1/2) = 3/5, 1 - 9/25 = 16/25
    pytest.param(tg.tanh, (0.0,), 0.0, (1.0,), id="tanh-0"),
    pytest.param(tg.tanh, (LN2,), 0.6, (0.64,), id="tanh-ln2"),
    # softplus(x) = ln(1 + e**x), derivative sigmoid(x): ln 2 and 1/2 at 0; ln 4 and 3/4 at ln 3
    pytest.param(tg.softplus, (0.0,), LN2, (0.5,), id="softplus-0"),
    pytest.param(tg.softplus, (LN3,), LN4, (0.75,), id="softplus-ln3"),
    # leaky_relu: slope alpha below 0 (0.01 by default), 1 above
    pytest.param(lambda x: x.leaky_relu(), (-2.0,), -0.02, (0.01,), id="leaky_relu-default"),
    pytest.param(lambda x: x.leaky_relu(0.2), (-2.0,), -0.4, (0.2,), id="leaky_relu-0.2"),
    pytest.param(lambda x: x.leaky_relu(0.2), (3.0,), 3.0, (1.0,), id="leaky_relu-positive"),
    # clip to [0, 1]: slope 1 inside, 0 outside
    pytest.param(lambda x: x.clip(0, 1), (0.5,), 0.5, (1.0,), id="clip-inside"),
    pytest.param(lambda x: x.clip(0, 1), (-1.0,), 0.0, (0.0,), id="clip-below"),
    pytest.param(lambda x: x.clip(0, 1), (2.0,), 1.0, (0.0,), id="clip-above"),
    # numbers on the left: 2 - x, 2 / x (d/dx = -2/x**2 = -1/8 at 4), 2**x (8 ln 2 at 3)
    pytest.param(lambda x: 2 - x, (5.0,), -3.0, (-1.0,), id="rsub"),
    pytest.param(lambda x: 3 + x, (5.0,), 8.0, (1.0,), id="radd"),
    pytest.param(lambda x: 3 * x, (5.0,), 15.0, (3.0,), id="rmul"),
    pytest.param(lambda x: 2 / x, (4.0,), 0.5, (-0.125,), id="rdiv"),
    pytest.param(lambda x: 2 ** x, (3.0,), 8.0, (8 * LN2,), id="rpow"),
    # one input used twice: both uses add up, d(x*x)/dx = x + x = 6 at 3
    pytest.param(lambda x: x * x, (3.0,), 9.0, (6.0,), id="x-times-x"),
    pytest.param(lambda x: x + x, (3.0,), 6.0, (2.0,), id="x-plus-x"),
    # chain rule: (2x + 1)**2 at 1 = 9, 2 (2x + 1) * 2 = 12
    pytest.param(lambda x: (2 * x + 1) ** 2, (1.0,), 9.0, (12.0,), id="chain"),
    # x*y + exp(x)/y at (0, 2): 0 + 1/2; d/dx = y + e**x / y = 2.5, d/dy = x - e**x / y**2 = -1/4
    pytest.param(lambda x, y: x * y + x.exp() / y, (0.0, 2.0), 0.5, (2.5, -0.25), id="mixed"),
]


@pytest.mark.parametrize("f, inputs, value, grads", SCALAR_CASES)
def test_scalar_by_hand(f: Callable, inputs: tuple, value: float, grads: tuple):
    out, leaves = backprop(f, *inputs)
    assert type(out.data) is float
    assert out.data == pytest.approx(value, rel=1e-12, abs=1e-15)
    assert all(type(leaf.grad) is float for leaf in leaves)
    assert [leaf.grad for leaf in leaves] == pytest.approx(list(grads), rel=1e-12, abs=1e-15)


# ---- broadcasting and mixing the scalar and array paths -------------------------------------
def test_column_plus_row_sums_each_gradient_back_to_its_input():
    # (3, 1) + (4,) -> (3, 4): each a[i] feeds 4 outputs, each b[j] feeds 3
    out, (a, b) = backprop(lambda a, b: a + b, [[1.0], [2.0], [3.0]], [10.0, 20.0, 30.0, 40.0])
    assert_same(out.data, [[11, 21, 31, 41], [12, 22, 32, 42], [13, 23, 33, 43]])
    assert_same(a.grad, np.full((3, 1), 4.0))
    assert_same(b.grad, np.full(4, 3.0))


def test_broadcast_product_sums_the_other_factor():
    # d/da[i] of sum_ij a[i] b[j] is sum_j b[j] = 10, d/db[j] is sum_i a[i] = 6
    _, (a, b) = backprop(lambda a, b: a * b, [[1.0], [2.0], [3.0]], [1.0, 2.0, 3.0, 4.0])
    assert_same(a.grad, np.full((3, 1), 10.0))
    assert_same(b.grad, np.full(4, 6.0))


def test_size_one_axes_on_both_sides():
    # (2, 1) - (1, 3) -> (2, 3) with seed s: d/da = row sums of s, d/db = -column sums of s
    seed = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    _, (a, b) = backprop(lambda a, b: a - b, [[0.0], [1.0]], [[1.0, 2.0, 3.0]], seed=seed)
    assert_same(a.grad, [[6.0], [15.0]])
    assert_same(b.grad, [[-5.0, -7.0, -9.0]])


def test_broadcasting_in_three_dimensions():
    # (3, 1) * (2, 1, 2) -> (2, 3, 2): a[j] meets every b[i, 0, k], so d/da[j] = sum(b) = 10,
    # and b[i, 0, k] meets every a[j], so d/db = sum(a) = 6
    a, b = [[1.0], [2.0], [3.0]], [[[1.0, 2.0]], [[3.0, 4.0]]]
    out, (a, b) = backprop(lambda a, b: a * b, a, b)
    assert out.shape == (2, 3, 2)
    assert_same(out.data[1], [[3.0, 4.0], [6.0, 8.0], [9.0, 12.0]])
    assert_same(a.grad, np.full((3, 1), 10.0))
    assert_same(b.grad, np.full((2, 1, 2), 6.0))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_float_value_times_array_gets_a_float_gradient(dtype: type):
    # d/dx sum(x * [1, 2, 3]) = 1 + 2 + 3 = 6; the array keeps its dtype, x stays a Python float
    x = Value(2.0)
    out = x * np.array([1.0, 2.0, 3.0], dtype=dtype)
    assert out.dtype == dtype
    assert_same(out.data, [2.0, 4.0, 6.0])
    out.sum().backward()
    assert type(x.grad) is float and x.grad == 6.0


def test_float_value_plus_array_value():
    # s + v: every element of v gets 1, s gets one per element: 3
    _, (s, v) = backprop(lambda s, v: s + v, 1.5, [1.0, 2.0, 3.0])
    assert type(s.grad) is float and s.grad == 3.0
    assert_same(v.grad, np.ones(3))


def test_a_zero_dimensional_output_accepts_a_number_as_its_seed():
    # sum() of an array is a 0-d array; its seed has shape (), like the number 2
    out, (x,) = backprop(lambda x: x.sum(), [1.0, 2.0], seed=2.0)
    assert_same(x.grad, [2.0, 2.0])


# ---- matmul: 1-D, 2-D and batched operands ---------------------------------------------------
def test_dot_product_of_vectors():
    # a . b = 4 + 10 + 18 = 32; the gradient of each vector is the other
    out, (a, b) = backprop(lambda a, b: a @ b, [1.0, 2.0, 3.0], [4.0, 5.0, 6.0])
    assert_same(out.data, 32.0)
    assert_same(a.grad, [4.0, 5.0, 6.0])
    assert_same(b.grad, [1.0, 2.0, 3.0])


def test_matrix_times_matrix_with_a_one_hot_seed():
    # A @ B = [[19, 22], [43, 50]]; a seed picking (A @ B)[0, 0] = 1*5 + 2*7 gives
    # dA = seed @ B.T = [[5, 7], [0, 0]] and dB = A.T @ seed = [[1, 0], [2, 0]]
    seed = np.array([[1.0, 0.0], [0.0, 0.0]])
    out, (a, b) = backprop(lambda a, b: a @ b, [[1.0, 2.0], [3.0, 4.0]], [[5.0, 6.0], [7.0, 8.0]],
                           seed=seed)
    assert_same(out.data, [[19.0, 22.0], [43.0, 50.0]])
    assert_same(a.grad, [[5.0, 7.0], [0.0, 0.0]])
    assert_same(b.grad, [[1.0, 0.0], [2.0, 0.0]])


# For loss = sum(A @ B): d/dA[..., i, k] = sum_j B[..., k, j] and d/dB[..., k, j] = sum_i A[..., i, k],
# each summed over the batch entries that share the operand. Inputs are A = arange + 1, B = arange - 3.
MATMUL_SHAPES = [
    pytest.param((2, 3), (3,), lambda A, B: np.broadcast_to(B, A.shape),
                 lambda A, B: A.sum(axis=0), id="matrix@vector"),
    pytest.param((3,), (3, 4), lambda A, B: B.sum(axis=1),
                 lambda A, B: np.broadcast_to(A[:, None], B.shape), id="vector@matrix"),
    pytest.param((2, 3), (3, 4), lambda A, B: np.broadcast_to(B.sum(axis=1), A.shape),
                 lambda A, B: np.broadcast_to(A.sum(axis=0)[:, None], B.shape), id="matrix@matrix"),
    # B is shared by both batch entries: its gradient adds over them
    pytest.param((2, 2, 3), (3, 4), lambda A, B: np.broadcast_to(B.sum(axis=1), A.shape),
                 lambda A, B: np.broadcast_to(A.sum(axis=(0, 1))[:, None], B.shape),
                 id="batch@matrix"),
    pytest.param((2, 2, 3), (2, 3, 4), lambda A, B: np.broadcast_to(B.sum(axis=2)[:, None, :], A.shape),
                 lambda A, B: np.broadcast_to(A.sum(axis=1)[:, :, None], B.shape), id="batch@batch"),
    # A's batch axis of size 1 meets B's of size 2: A's gradient adds over B's batch
    pytest.param((1, 2, 3), (2, 3, 4),
                 lambda A, B: np.broadcast_to(B.sum(axis=(0, 2)), A.shape),
                 lambda A, B: np.broadcast_to(A.sum(axis=1)[:, :, None], B.shape),
                 id="broadcast-batch"),
    pytest.param((3,), (2, 3, 4), lambda A, B: B.sum(axis=(0, 2)),
                 lambda A, B: np.broadcast_to(A[:, None], B.shape), id="vector@batch"),
    pytest.param((2, 2, 3), (3,), lambda A, B: np.broadcast_to(B, A.shape),
                 lambda A, B: A.sum(axis=(0, 1)), id="batch@vector"),
]


@pytest.mark.parametrize("a_shape, b_shape, grad_a, grad_b", MATMUL_SHAPES)
def test_matmul_shapes(a_shape: tuple, b_shape: tuple, grad_a: Callable, grad_b: Callable):
    A = np.arange(np.prod(a_shape), dtype=float).reshape(a_shape) + 1
    B = np.arange(np.prod(b_shape), dtype=float).reshape(b_shape) - 3
    out, (a, b) = backprop(lambda a, b: a @ b, A, B)
    assert_same(out.data, A @ B)
    assert_same(a.grad, grad_a(A, B))
    assert_same(b.grad, grad_b(A, B))


def test_array_on_the_left_of_matmul():
    # [[1, 2], [3, 4]] @ x = [3, 7] at x = (1, 1); d/dx of the sum is the column sums (4, 6)
    x = Value([1.0, 1.0])
    out = np.array([[1.0, 2.0], [3.0, 4.0]]) @ x
    assert isinstance(out, Value)
    assert_same(out.data, [3.0, 7.0])
    out.sum().backward()
    assert_same(x.grad, [4.0, 6.0])


def test_linear_is_x_times_w_transposed_plus_b():
    # x = (1, 2), W = [[1, 0], [0, 1], [1, 1]], b = (0.5, 0, -1): W x + b = (1.5, 2, 2).
    # For the sum: dx = column sums of W = (2, 2), dW[i, j] = x[j], db = 1
    w, b = [[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]], [0.5, 0.0, -1.0]
    out, (x, w, b) = backprop(tg.linear, [1.0, 2.0], w, b)
    assert_same(out.data, [1.5, 2.0, 2.0])
    assert_same(x.grad, [2.0, 2.0])
    assert_same(w.grad, [[1.0, 2.0]] * 3)
    assert_same(b.grad, [1.0, 1.0, 1.0])


def test_linear_on_a_batch_adds_the_weight_gradient_over_rows():
    # rows (1, 2) and (3, 4): dW[i, j] = 1 + 3 or 2 + 4, db = 2 (one per row)
    w, b = np.ones((3, 2)), np.zeros(3)
    out, (x, w, b) = backprop(tg.linear, [[1.0, 2.0], [3.0, 4.0]], w, b)
    assert_same(out.data, [[3.0, 3.0, 3.0], [7.0, 7.0, 7.0]])
    assert_same(x.grad, np.full((2, 2), 3.0))
    assert_same(w.grad, [[4.0, 6.0]] * 3)
    assert_same(b.grad, [2.0, 2.0, 2.0])


# ---- reductions: (f, seed or None for ones, value, gradient) on M = [[1, 2, 3], [4, 5, 6]] ------
M = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
ONES = np.ones((2, 3))
REDUCTIONS = [
    pytest.param(lambda x: x.sum(), None, 21.0, ONES, id="sum"),
    # sum over axis 0: column j collects seed[j]
    pytest.param(lambda x: x.sum(axis=0), [1.0, 2.0, 3.0], [5.0, 7.0, 9.0],
                 [[1, 2, 3], [1, 2, 3]], id="sum-axis0"),
    pytest.param(lambda x: tg.sum(x, axis=1), [1.0, 2.0], [6.0, 15.0],
                 [[1, 1, 1], [2, 2, 2]], id="sum-axis1-function"),
    pytest.param(lambda x: x.sum(axis=-1, keepdims=True), [[1.0], [2.0]], [[6.0], [15.0]],
                 [[1, 1, 1], [2, 2, 2]], id="sum-keepdims"),
    pytest.param(lambda x: x.sum(axis=(0, 1)), None, 21.0, ONES, id="sum-axis-tuple"),
    # a mean over n elements passes seed / n to each
    pytest.param(lambda x: x.mean(), None, 3.5, ONES / 6, id="mean"),
    pytest.param(lambda x: x.mean(axis=0), None, [2.5, 3.5, 4.5], ONES / 2, id="mean-axis0"),
    pytest.param(lambda x: x.mean(axis=1, keepdims=True), [[3.0], [6.0]], [[2.0], [5.0]],
                 [[1, 1, 1], [2, 2, 2]], id="mean-keepdims"),
    # the gradient of a max goes to the maximal element only
    pytest.param(lambda x: x.max(), None, 6.0, [[0, 0, 0], [0, 0, 1]], id="max"),
    pytest.param(lambda x: x.max(axis=0), [1.0, 2.0, 3.0], [4.0, 5.0, 6.0],
                 [[0, 0, 0], [1, 2, 3]], id="max-axis0"),
    pytest.param(lambda x: tg.max(x, axis=1, keepdims=True), [[1.0], [2.0]], [[3.0], [6.0]],
                 [[0, 0, 1], [0, 0, 2]], id="max-keepdims-function"),
]


@pytest.mark.parametrize("f, seed, value, grad", REDUCTIONS)
def test_reductions_by_hand(f: Callable, seed: Optional[list], value: Any, grad: Any):
    assert_by_hand(f, M, value, grad, seed)


def test_reduction_over_a_tuple_of_axes_in_3d():
    # sum over axes 0 and 2 of a (2, 3, 4) array: element [i, j, k] receives seed[j]
    t = np.arange(24.0).reshape(2, 3, 4)
    out, (x,) = backprop(lambda x: x.sum(axis=(0, 2)), t, seed=np.array([1.0, 2.0, 3.0]))
    assert_same(out.data, [0 + 1 + 2 + 3 + 12 + 13 + 14 + 15, 92.0, 124.0])
    assert_same(x.grad, np.broadcast_to(np.array([1.0, 2.0, 3.0])[:, None], (2, 3, 4)))


# ---- non-differentiable points: relu and abs at 0, max ties, clip bounds, leaky_relu ---------
@pytest.mark.parametrize("f", [tg.relu, tg.abs], ids=["relu", "abs"])
def test_relu_and_abs_at_zero_have_gradient_zero(f: Callable):
    out, (x,) = backprop(f, 0.0)
    assert out.data == 0.0 and x.grad == 0.0
    _, (v,) = backprop(f, [-1.0, 0.0, 2.0])
    sign_at_nonzero = 0.0 if f is tg.relu else -1.0
    assert_same(v.grad, [sign_at_nonzero, 0.0, 1.0])


MAX_TIES = [
    # two maxima share the gradient: 1/2 each
    pytest.param([1.0, 3.0, 3.0], {}, 3.0, [0.0, 0.5, 0.5], id="pair"),
    # four equal elements: 1/4 each
    pytest.param([[7.0, 7.0], [7.0, 7.0]], {}, 7.0, [[0.25, 0.25], [0.25, 0.25]], id="all-equal"),
    # per row: a tie in row 0, a single maximum in row 1
    pytest.param([[2.0, 2.0], [1.0, 5.0]], {"axis": 1}, [2.0, 5.0], [[0.5, 0.5], [0.0, 1.0]],
                 id="row-wise"),
    pytest.param([[2.0, 4.0], [2.0, 1.0]], {"axis": 0, "keepdims": True}, [[2.0, 4.0]],
                 [[0.5, 1.0], [0.5, 0.0]], id="column-wise-keepdims"),
]


@pytest.mark.parametrize("data, kw, value, grad", MAX_TIES)
def test_max_ties_split_the_gradient_equally(data: list, kw: dict, value: Any, grad: list):
    assert_by_hand(lambda x: x.max(**kw), data, value, grad)


def test_max_of_a_python_float_is_itself():
    out, (x,) = backprop(lambda x: x.max(), 2.5)
    assert out.data == 2.5 and x.grad == 1.0


@pytest.mark.parametrize("lo, hi, grad", [
    (0.0, 1.0, [0.0, 1.0, 1.0, 1.0, 0.0]),  # both bounds: 0 and 1 themselves pass the gradient
    (0.0, None, [0.0, 1.0, 1.0, 1.0, 1.0]),  # lower bound only
    (None, 1.0, [1.0, 1.0, 1.0, 1.0, 0.0]),  # upper bound only
])
def test_clip_passes_the_gradient_at_its_bounds(lo: Optional[float], hi: Optional[float], grad: list):
    data = [-1.0, 0.0, 0.5, 1.0, 2.0]
    out, (x,) = backprop(lambda x: x.clip(lo, hi), data)
    assert_same(out.data, np.clip(data, lo, hi))
    assert_same(x.grad, grad)
    scalar_grads = [backprop(lambda x: x.clip(lo, hi), d)[1][0].grad for d in data]
    assert scalar_grads == grad


def test_leaky_relu_alpha_scales_the_negative_side():
    # alpha = 0.2: -2 -> -0.4 with slope 0.2; 0.5 -> 0.5 with slope 1; at 0 the slope is alpha
    out, (x,) = backprop(lambda x: x.leaky_relu(0.2), [-2.0, 0.0, 0.5])
    assert_same(out.data, [-0.4, 0.0, 0.5])
    assert_same(x.grad, [0.2, 0.2, 1.0])
    _, (y,) = backprop(lambda y: tg.leaky_relu(y), [-2.0, 0.5])  # default alpha = 0.01
    assert_same(y.grad, [0.01, 1.0])


# ---- the softmax family ----------------------------------------------------------------------
ROWS = np.array([[0.0, LN3], [1.0, -2.0], [5.0, 5.0]])


@pytest.mark.parametrize("axis", [-1, 0])
def test_softmax_rows_sum_to_one_and_their_sum_has_no_gradient(axis: int):
    out, (x,) = backprop(lambda x: x.softmax(axis=axis), ROWS)
    assert_same(out.data.sum(axis=axis), np.ones(ROWS.shape[1 + axis]))
    # sum(softmax(x)) is the constant 1, so its gradient vanishes
    assert_same(x.grad, np.zeros_like(ROWS), atol=1e-15)


def test_log_softmax_exponentiates_to_rows_summing_to_one():
    out = Value(ROWS).log_softmax()
    assert_same(np.exp(out.data).sum(axis=-1), np.ones(3))
    assert_same(out.logsumexp(axis=-1).data, np.zeros(3), atol=1e-15)


def test_logsumexp_is_log_of_the_sum_of_exps():
    out = Value(ROWS).logsumexp(axis=-1)
    assert_same(out.data, np.log(np.exp(ROWS).sum(axis=-1)))
    # equal entries: logsumexp([5, 5]) = 5 + ln 2
    assert out.data[2] == pytest.approx(5 + LN2, rel=1e-15)


SOFTMAX_FAMILY = [
    # x = [0, ln 3]: e**x = [1, 3], sum 4. logsumexp = ln 4, its gradient softmax = [1/4, 3/4]
    pytest.param(lambda x: x.logsumexp(), None, LN4, [0.25, 0.75], id="logsumexp"),
    # softmax = [1/4, 3/4]; seed e_0 gives p0 (1 - p0) = 3/16 and -p0 p1 = -3/16
    pytest.param(lambda x: x.softmax(), [1.0, 0.0], [0.25, 0.75], [0.1875, -0.1875], id="softmax"),
    # log_softmax = [ln 1/4, ln 3/4]; seed e_0 gives e_0 - softmax = [3/4, -3/4]
    pytest.param(lambda x: x.log_softmax(), [1.0, 0.0], [-LN4, LN3 - LN4], [0.75, -0.75],
                 id="log_softmax"),
    # a column vector along axis 0, keeping the reduced axis
    pytest.param(lambda x: tg.logsumexp(x.reshape(2, 1), axis=0, keepdims=True), None, [[LN4]],
                 [0.25, 0.75], id="logsumexp-axis0-keepdims"),
]


@pytest.mark.parametrize("f, seed, value, grad", SOFTMAX_FAMILY)
def test_softmax_family_by_hand(f: Callable, seed: Optional[list], value: Any, grad: list):
    assert_by_hand(f, [0.0, LN3], value, grad, seed, rtol=1e-14, atol=1e-15)


def test_softmax_cross_entropy_by_hand():
    # rows [0, ln 3] and [0, 0]: softmax [1/4, 3/4] and [1/2, 1/2]; targets the classes 1 and 0.
    # loss = -(ln(3/4) + ln(1/2)) / 2; d/dz = (softmax - targets) / 2; d/dtargets = -log_softmax / 2
    z, t = Value([[0.0, LN3], [0.0, 0.0]]), Value([[0.0, 1.0], [1.0, 0.0]])
    loss = tg.ops.softmax_cross_entropy(z, t)
    loss.backward()
    assert loss.data == pytest.approx((LN4 - LN3 + LN2) / 2, rel=1e-14)
    assert_same(z.grad, [[0.125, -0.125], [-0.25, 0.25]], atol=1e-15)
    assert_same(t.grad, [[LN4 / 2, (LN4 - LN3) / 2], [LN2 / 2, LN2 / 2]], atol=1e-15)
    with pytest.raises(tg.ShapeError, match=r"softmax_cross_entropy: .*logits \(2, 2\) and targets \(2,\)"):
        tg.ops.softmax_cross_entropy(z, np.ones(2))


def test_log_softmax_gradient_row_by_row():
    # row 0 = [0, ln 3], softmax [1/4, 3/4], seed [1, 0]: seed - softmax * 1 = [3/4, -3/4]
    # row 1 = [0, 0], softmax [1/2, 1/2], seed [0, 2]: seed - softmax * 2 = [-1, 1]
    assert_by_hand(lambda x: x.log_softmax(), [[0.0, LN3], [0.0, 0.0]],
                   [[-LN4, LN3 - LN4], [-LN2, -LN2]], [[0.75, -0.75], [-1.0, 1.0]],
                   seed=[[1.0, 0.0], [0.0, 2.0]])


def test_softmax_of_a_python_float():
    # one element: softmax is 1, log_softmax 0, logsumexp the element; none varies with its input
    assert backprop(tg.softmax, 3.0)[0].data == 1.0
    assert backprop(tg.log_softmax, 3.0)[0].data == 0.0
    out, (x,) = backprop(tg.logsumexp, 3.0)
    assert out.data == 3.0 and x.grad == 1.0


# ---- stability at +-1e3: finite values and gradients, no overflow anywhere ------------------
STABILITY = [
    # sigmoid saturates at 0 and 1 with slope s (1 - s) = 0
    pytest.param(tg.sigmoid, 1e3, 1.0, 0.0, id="sigmoid-scalar-high"),
    pytest.param(tg.sigmoid, -1e3, 0.0, 0.0, id="sigmoid-scalar-low"),
    pytest.param(tg.sigmoid, [-1e3, 0.0, 1e3], [0.0, 0.5, 1.0], [0.0, 0.25, 0.0], id="sigmoid-array"),
    # softplus(x) = x + ln(1 + e**-x) -> x for large x, slope sigmoid(x) -> 1; e**-1000 rounds to 0
    pytest.param(tg.softplus, 1e3, 1e3, 1.0, id="softplus-scalar-high"),
    pytest.param(tg.softplus, -1e3, 0.0, 0.0, id="softplus-scalar-low"),
    pytest.param(tg.softplus, [-1e3, 0.0, 1e3], [0.0, LN2, 1e3], [0.0, 0.5, 1.0], id="softplus-array"),
    # log_softmax([1000, 0]) = [0, -1000]; with seed (1, 1): 1 - 2 softmax = [-1, 1]
    pytest.param(tg.log_softmax, [1e3, 0.0], [0.0, -1e3], [-1.0, 1.0], id="log_softmax-apart"),
    pytest.param(tg.log_softmax, [-1e3, -1e3], [-LN2, -LN2], [0.0, 0.0], id="log_softmax-equal-low"),
    # logsumexp([1000, 1000]) = 1000 + ln 2, gradient [1/2, 1/2]; with -1000 the big one wins
    pytest.param(tg.logsumexp, [1e3, 1e3], 1e3 + LN2, [0.5, 0.5], id="logsumexp-equal-high"),
    pytest.param(tg.logsumexp, [-1e3, -1e3], -1e3 + LN2, [0.5, 0.5], id="logsumexp-equal-low"),
    pytest.param(tg.logsumexp, [1e3, -1e3], 1e3, [1.0, 0.0], id="logsumexp-apart"),
    pytest.param(tg.softmax, [1e3, -1e3], [1.0, 0.0], [0.0, 0.0], id="softmax-apart"),
]


@pytest.mark.parametrize("f, x, value, grad", STABILITY)
def test_stable_at_plus_minus_1e3(f: Callable, x: Any, value: Any, grad: Any):
    # any overflow or nan raises; underflow to 0 is the right answer. Inputs of size 1e3 carry
    # rounding errors of about 1e3 * 2**-52 = 2e-13: within the default atol
    with np.errstate(over="raise", divide="raise", invalid="raise"):
        assert_by_hand(f, x, value, grad)


# ---- indexing: the gradient lands where the elements came from; repeats add ------------------
V = np.array([10.0, 20.0, 30.0, 40.0])
INDEXING = [  # (x, key, x[key], gradient of its sum)
    pytest.param(V, 2, 30.0, [0, 0, 1, 0], id="int"),
    pytest.param(V, -1, 40.0, [0, 0, 0, 1], id="negative-int"),
    pytest.param(V, slice(1, 3), [20.0, 30.0], [0, 1, 1, 0], id="slice"),
    pytest.param(V, slice(None, None, 2), [10.0, 30.0], [1, 0, 1, 0], id="strided-slice"),
    pytest.param(V, [0, 0, 2], [10.0, 10.0, 30.0], [2, 0, 1, 0], id="list-with-repeats"),
    pytest.param(V, np.array([3, 3, 3]), [40.0, 40.0, 40.0], [0, 0, 0, 3], id="array-repeated"),
    pytest.param(V, Value([1.0, 1.0], requires_grad=False), [20.0, 20.0], [0, 2, 0, 0],
                 id="value-index"),
    pytest.param(V, np.array([True, False, True, True]), [10.0, 30.0, 40.0], [1, 0, 1, 1], id="mask"),
    pytest.param(M, (1, 2), 6.0, [[0, 0, 0], [0, 0, 1]], id="int-pair"),
    pytest.param(M, (slice(None), 0), [1.0, 4.0], [[1, 0, 0], [1, 0, 0]], id="column"),
    pytest.param(M, (Ellipsis, -1), [3.0, 6.0], [[0, 0, 1], [0, 0, 1]], id="ellipsis"),
    pytest.param(M, None, [M], ONES, id="new-axis"),
    pytest.param(M, ([0, 0], [1, 1]), [2.0, 2.0], [[0, 2, 0], [0, 0, 0]], id="repeated-pair"),
    pytest.param(M, ([1, 0, 1], slice(0, 2)), [[4.0, 5.0], [1.0, 2.0], [4.0, 5.0]],
                 [[1, 1, 0], [2, 2, 0]], id="rows-with-repeats-and-slice"),
]


@pytest.mark.parametrize("x, key, value, grad", INDEXING)
def test_indexing(x: np.ndarray, key: Any, value: Any, grad: Any):
    assert_by_hand(lambda x: x[key], x, value, grad)


def test_picking_one_log_probability_per_row():
    # the negative log-likelihood pattern: loss = -mean_i logp[i, y[i]]. Each picked entry gets
    # -1/n, classes picked twice (class 2 in rows 0 and 2) still land once per row.
    logp = np.log(np.array([[0.2, 0.3, 0.5], [0.6, 0.3, 0.1], [0.1, 0.1, 0.8]]))
    y = np.array([2, 0, 2])
    out, (x,) = backprop(lambda x: -x[np.arange(3), y].mean(), logp)
    assert out.data == pytest.approx(-(math.log(0.5) + math.log(0.6) + math.log(0.8)) / 3, rel=1e-14)
    expected = np.zeros((3, 3))
    expected[[0, 1, 2], [2, 0, 2]] = -1 / 3
    assert_same(x.grad, expected)


# ---- structural ops: concatenate, stack, where, reshape, transpose ---------------------------
def test_concatenate_hands_each_input_its_slice_of_the_gradient():
    seed = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
    out, (a, b) = backprop(lambda a, b: tg.concatenate([a, b]), [1.0, 2.0], [3.0, 4.0, 5.0], seed=seed)
    assert_same(out.data, [1.0, 2.0, 3.0, 4.0, 5.0])
    assert_same(a.grad, [1.0, 2.0])
    assert_same(b.grad, [3.0, 4.0, 5.0])


def test_concatenate_along_the_last_axis_with_a_constant():
    # only the Value gets a gradient: the columns of the seed that came from it
    seed = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    out, (a,) = backprop(lambda a: tg.concatenate([a, np.zeros((2, 2))], axis=-1), [[7.0], [8.0]],
                         seed=seed)
    assert_same(out.data, [[7.0, 0.0, 0.0], [8.0, 0.0, 0.0]])
    assert_same(a.grad, [[1.0], [4.0]])


def test_concatenate_a_value_with_itself_adds_both_halves():
    seed = np.array([1.0, 2.0, 10.0, 20.0])
    _, (a,) = backprop(lambda a: tg.concatenate([a, a]), [5.0, 6.0], seed=seed)
    assert_same(a.grad, [11.0, 22.0])


@pytest.mark.parametrize("axis, grad_a, grad_b", [
    (0, [1.0, 2.0], [3.0, 4.0]),  # rows of the seed
    (1, [1.0, 3.0], [2.0, 4.0]),  # columns of the seed
    (-1, [1.0, 3.0], [2.0, 4.0]),
])
def test_stack_hands_each_input_its_slice_of_the_gradient(axis: int, grad_a: list, grad_b: list):
    seed = np.array([[1.0, 2.0], [3.0, 4.0]])
    out, (a, b) = backprop(lambda a, b: tg.stack([a, b], axis=axis), [5.0, 6.0], [7.0, 8.0], seed=seed)
    assert_same(out.data, np.stack([[5.0, 6.0], [7.0, 8.0]], axis=axis))
    assert_same(a.grad, grad_a)
    assert_same(b.grad, grad_b)


def test_stack_of_python_floats_makes_an_array_and_float_gradients():
    out, (a, b) = backprop(lambda a, b: tg.stack([a, b]), 1.0, 2.0, seed=np.array([3.0, 4.0]))
    assert_same(out.data, [1.0, 2.0])
    assert type(a.grad) is float and (a.grad, b.grad) == (3.0, 4.0)


def test_where_routes_the_gradient_by_the_condition():
    cond = np.array([True, False, True])
    out, (a, b) = backprop(lambda a, b: tg.where(cond, a, b), [1.0, 2.0, 3.0], [-1.0, -2.0, -3.0])
    assert_same(out.data, [1.0, -2.0, 3.0])
    assert_same(a.grad, [1.0, 0.0, 1.0])
    assert_same(b.grad, [0.0, 1.0, 0.0])


def test_where_with_a_broadcast_float_and_condition():
    # cond (2, 1) against a (2, 2): row 0 takes a, row 1 takes the float b, which fills 2 slots
    cond = np.array([[True], [False]])
    out, (a, b) = backprop(lambda a, b: tg.where(cond, a, b), [[1.0, 2.0], [3.0, 4.0]], 9.0)
    assert_same(out.data, [[1.0, 2.0], [9.0, 9.0]])
    assert_same(a.grad, [[1.0, 1.0], [0.0, 0.0]])
    assert type(b.grad) is float and b.grad == 2.0


@pytest.mark.parametrize("f", [
    lambda x: x.reshape(3, 2), lambda x: x.reshape((3, 2)), lambda x: tg.reshape(x, shape=(3, 2)),
], ids=["varargs", "tuple", "function"])
def test_reshape_hands_back_the_seed_in_the_input_shape(f: Callable):
    seed = np.arange(6.0).reshape(3, 2)
    out, (x,) = backprop(f, M, seed=seed)
    assert_same(out.data, [[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    assert_same(x.grad, np.arange(6.0).reshape(2, 3))


def test_reshape_with_minus_one():
    out, (x,) = backprop(lambda x: x.reshape(-1), M, seed=np.arange(6.0))
    assert_same(out.data, [1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
    assert_same(x.grad, [[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]])


def test_transpose_and_T_hand_back_the_transposed_seed():
    seed = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    for f in (lambda x: x.T, lambda x: x.transpose(), lambda x: tg.transpose(x)):
        out, (x,) = backprop(f, M, seed=seed)
        assert_same(out.data, M.T)
        assert_same(x.grad, seed.T)


@pytest.mark.parametrize("axes", [(1, 2, 0), (-2, -1, 0)])
def test_transpose_of_three_axes_inverts_the_permutation(axes: tuple):
    # out[j, k, i] = x[i, j, k]: the seed of shape (3, 4, 2) goes back through the inverse (2, 0, 1)
    t = np.arange(24.0).reshape(2, 3, 4)
    seed = np.arange(24.0).reshape(3, 4, 2) * 10
    out, (x,) = backprop(lambda x: x.transpose(*axes), t, seed=seed)
    assert_same(out.data, np.transpose(t, (1, 2, 0)))
    assert_same(x.grad, np.transpose(seed, (2, 0, 1)))


# ---- reflected operators: numbers and numpy arrays on the left -------------------------------
REFLECTED = [
    # (f, x, f(x), d/dx of the sum)
    pytest.param(lambda x: 2 - x, [1.0, 5.0], [1.0, -3.0], [-1.0, -1.0], id="number-minus"),
    pytest.param(lambda x: np.ones(3) * x, [1.0, 2.0, 3.0], [1.0, 2.0, 3.0], [1.0, 1.0, 1.0],
                 id="array-times"),
    pytest.param(lambda x: np.array([1.0, 2.0]) + x, [3.0, 4.0], [4.0, 6.0], [1.0, 1.0], id="array-plus"),
    pytest.param(lambda x: np.array([1.0, 2.0]) - x, [3.0, 4.0], [-2.0, -2.0], [-1.0, -1.0],
                 id="array-minus"),
    # c / x has derivative -c / x**2: -2/1 and -4/4
    pytest.param(lambda x: np.array([2.0, 4.0]) / x, [1.0, 2.0], [2.0, 2.0], [-2.0, -1.0],
                 id="array-over"),
    # 2**x has derivative 2**x ln 2
    pytest.param(lambda x: 2 ** x, [0.0, 1.0, 3.0], [1.0, 2.0, 8.0], [LN2, 2 * LN2, 8 * LN2],
                 id="number-power"),
    # [2, 3]**x at x = (1, 2): [2, 9], derivative [2 ln 2, 9 ln 3]
    pytest.param(lambda x: np.array([2.0, 3.0]) ** x, [1.0, 2.0], [2.0, 9.0], [2 * LN2, 9 * LN3],
                 id="array-power"),
    # a float Value meets a constant array on the left: d/dx sum([1, 2] * x) = 3
    pytest.param(lambda x: np.array([1.0, 2.0]) * x, 4.0, [4.0, 8.0], 3.0, id="array-times-float"),
]


@pytest.mark.parametrize("f, x, value, grad", REFLECTED)
def test_reflected_operators(f: Callable, x: Any, value: list, grad: Any):
    out = assert_by_hand(f, x, value, grad)
    assert isinstance(out, Value)  # not an object array built by numpy


def test_value_to_the_power_of_a_value_on_arrays():
    # x**y at x = (1, 2, 4), y = (2, 0.5, -1) is (1, sqrt 2, 1/4)
    # d/dx = y x**(y-1) = (2, 0.5 / sqrt 2, -1/16); d/dy = x**y ln x = (0, sqrt 2 ln 2, ln 4 / 4)
    out, (x, y) = backprop(lambda x, y: x ** y, [1.0, 2.0, 4.0], [2.0, 0.5, -1.0])
    assert_same(out.data, [1.0, math.sqrt(2), 0.25])
    assert_same(x.grad, [2.0, 0.5 / math.sqrt(2), -1 / 16])
    assert_same(y.grad, [0.0, math.sqrt(2) * LN2, LN4 / 4])
