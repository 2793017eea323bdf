"""The reductions (tinygrad_nn/ops/reductions.py): reference rows, PyTorch spellings and hand-worked cases.

Hand-worked cases give each value and gradient with the calculus in a comment: sum and mean over
several, negative and no axes, on empty and 0-d arrays; min and its ties; prod with zeros
(first and second order); cumsum and cumprod; var and std with ddof / correction; the vector
norms; argmax / argmin; any / all as masks that stay in the graph.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

import tinygrad_nn as tg
from opcase import X, OpCase, assert_by_hand, assert_same, backprop
from tinygrad_nn import DomainError, ShapeError, Value, func
from tinygrad_nn.gradcheck import gradcheck, gradgradcheck


def _as(dtype: Any, found: Any) -> Any:
    """An integer result (argmax) as a constant in the input's dtype, for the value checks."""
    return tg.constant(np.asarray(found, dtype=dtype))


# rows of test_ops_values.REFERENCES: each op's numpy reference, inputs inside its domain
REFERENCES: list[OpCase] = [
    OpCase("min", lambda a: a.min(axis=0), lambda a: np.min(a, axis=0), (X,)),
    OpCase("prod", lambda a: a.prod(axis=1), lambda a: np.prod(a, axis=1), (X,)),
    OpCase("cumsum", lambda a: a.cumsum(axis=1), lambda a: np.cumsum(a, axis=1), (X,)),
    OpCase("cumprod", lambda a: a.cumprod(), lambda a: np.cumprod(a), (X,)),
    OpCase("var", lambda a: a.var(axis=1, ddof=1), lambda a: np.var(a, axis=1, ddof=1), (X,)),
    OpCase("std", lambda a: a.std(axis=0, keepdims=True),
           lambda a: np.std(a, axis=0, keepdims=True), (X,)),
    OpCase("standardize", lambda a: a.standardize(axis=1),
           lambda a: (a - a.mean(axis=1, keepdims=True)) / np.sqrt(a.var(axis=1, keepdims=True)
                                                                   + 1e-5), (X,)),
    OpCase("norm", lambda a: a.norm(axis=1), lambda a: np.linalg.norm(a, axis=1), (X,)),
    OpCase("any", lambda a: (a > 1).any(axis=1), lambda a: np.any(a > 1, axis=1).astype(float),
           (X,)),
    OpCase("all", lambda a: (a > -1).all(axis=0), lambda a: np.all(a > -1, axis=0).astype(float),
           (X,)),
    OpCase("argmax", lambda a: _as(a.dtype, a.argmax(axis=1)),
           lambda a: np.argmax(a, axis=1).astype(float), (X,)),
    OpCase("argmin", lambda a: _as(a.dtype, tg.argmin(a)),
           lambda a: np.asarray(float(np.argmin(a))), (X,)),
]


def torch_spellings(torch: Any, F: Any) -> dict:
    """Each op of this group (by its name in tinygrad_nn.testing.OPS) spelled in torch."""
    def dims(t: Any, axis: Any) -> tuple:
        """numpy's axis as a tuple of torch dims: None is every axis, () none of them."""
        if axis is None:
            return tuple(range(t.ndim))
        if t.ndim == 0:
            return ()
        return tuple(a % t.ndim for a in (axis if isinstance(axis, tuple) else (axis,)))

    def reduction(reduce: Any) -> Any:
        def reduced(t: Any, *, axis: Any = None, keepdims: bool = False) -> Any:
            d = dims(t, axis)
            return t.clone() if d == () else reduce(t, dim=d, keepdim=keepdims)
        return reduced

    def prod(t: Any, *, dim: tuple, keepdim: bool) -> Any:  # torch.prod takes one dim at a time
        out = t
        for d in sorted(dim, reverse=True):
            out = out.prod(d, keepdim=True)
        return out if keepdim else out.reshape([n for k, n in enumerate(t.shape) if k not in dim])

    def moment(reduce: Any) -> Any:
        def moment_of(t: Any, *, axis: Any, keepdims: bool, ddof: int = 0,
                      correction: Any = None) -> Any:
            d = dims(t, axis)
            if math.prod(t.shape[k] for k in d) == 1:  # slices of one element: 0 whatever the
                zero = t * 0.0  # element (torch's std has a nan second derivative there)
                return zero if d == () else zero.sum(dim=d, keepdim=keepdims)
            return reduce(t, dim=d, correction=ddof if correction is None else correction,
                          keepdim=keepdims)
        return moment_of

    def standardize(t: Any, *, axis: Any, eps: float) -> Any:
        d = dims(t, axis)
        if d == ():  # nothing reduced: every element is its own mean
            return t * 0.0
        centred = t - t.mean(dim=d, keepdim=True)
        return centred / torch.sqrt(t.var(dim=d, correction=0, keepdim=True) + eps)

    def mask(reduce: Any) -> Any:
        def masked(t: Any, *, axis: Any, keepdims: bool) -> Any:
            d = dims(t, axis)
            return (t != 0).double() if d == () else reduce(t, dim=d, keepdim=keepdims).double()
        return masked

    def cumulative(name: str) -> Any:
        def along(t: Any, *, axis: Any) -> Any:  # numpy flattens for axis None and 0-d inputs
            return getattr(t.reshape(-1), name)(0) if axis is None or t.ndim == 0 else \
                getattr(t, name)(axis)
        return along

    return {
        "min": reduction(torch.amin),  # amin splits ties evenly, as tinygrad_nn does
        "prod": reduction(prod),
        "cumsum": cumulative("cumsum"),
        "cumprod": cumulative("cumprod"),
        "var": moment(torch.var),
        "std": moment(torch.std),
        "standardize": standardize,
        "norm": lambda t, *, ord, axis, keepdims: torch.linalg.vector_norm(
            t, ord=2 if ord is None else ord, dim=axis, keepdim=keepdims),
        "any": mask(torch.any),
        "all": mask(torch.all),
        # torch, like numpy, picks the first of tied elements
        "argmax": lambda t, *, axis, keepdims: torch.argmax(t, dim=axis, keepdim=keepdims).double(),
        "argmin": lambda t, *, axis, keepdims: torch.argmin(t, dim=axis, keepdim=keepdims).double(),
    }


M = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
T = np.arange(24.0).reshape(2, 3, 4)


# ---- sum and mean: several axes, negative axes, no axes, empty and 0-d arrays --------------------
@pytest.mark.parametrize("op", ["sum", "mean"])
@pytest.mark.parametrize("axis", [(0, 2), (-1, 0), (-2,), (), None, -1, (0, 1, 2)], ids=repr)
@pytest.mark.parametrize("keepdims", [False, True])
def test_sum_and_mean_over_several_axes(op: str, axis: Any, keepdims: bool):
    # sum: every element of a slice gets its slice's seed; mean: the seed / n (n elements)
    out, (x,) = backprop(lambda v: getattr(v, op)(axis=axis, keepdims=keepdims), T)
    reference = getattr(np, op)(T, axis=axis, keepdims=keepdims)
    assert_same(out.data, reference)
    n = T.size // max(np.size(reference), 1)
    assert_same(x.grad, np.full(T.shape, 1.0 if op == "sum" else 1.0 / n))


def test_sum_over_the_empty_tuple_of_axes_is_the_identity():
    seed = np.arange(6.0).reshape(2, 3)
    assert_by_hand(lambda v: v.sum(axis=()), M, M, seed, seed=seed)
    assert_by_hand(lambda v: v.mean(axis=()), M, M, seed, seed=seed)


def test_sum_of_an_empty_axis_is_zero():
    empty = np.zeros((0, 3))
    out, (x,) = backprop(lambda v: v.sum(axis=0), empty)
    assert_same(out.data, np.zeros(3))
    assert x.grad.shape == (0, 3)
    assert backprop(tg.sum, np.zeros(0))[0].data == 0.0
    out, (x,) = backprop(lambda v: v.sum(axis=1), empty)  # no slices: an empty result
    assert out.shape == (0,) and x.grad.shape == (0, 3)


def test_mean_of_an_empty_slice_is_a_domain_error():
    # numpy gives nan with a RuntimeWarning; a mean of nothing is undefined, so we say so
    with pytest.raises(DomainError, match=r"mean: .*empty slice.*\(0, 3\)"):
        Value(np.zeros((0, 3))).mean(axis=0)
    with pytest.raises(DomainError, match="mean"):
        Value(np.zeros(0)).mean()
    out = Value(np.zeros((0, 3))).mean(axis=1)  # zero slices of 3 elements: nothing undefined
    assert out.shape == (0,)
    out.sum().backward()


def test_sum_and_mean_of_0d_arrays_and_floats():
    # as numpy: a 0-d array has nothing to reduce (sum, though not mean, takes axis 0 or -1 there)
    assert backprop(lambda v: v.sum(axis=-1), np.array(2.5))[1][0].grad == 1.0
    for op in (tg.sum, tg.mean):
        out, (x,) = backprop(lambda v: op(v, axis=()), np.array(2.5))
        assert out.shape == () and out.data == 2.5 and x.grad == 1.0
        out, (x,) = backprop(lambda v: op(v, keepdims=True), np.array(2.5))
        assert out.shape == () and x.grad == 1.0
        out, (x,) = backprop(lambda v: op(v, axis=0), 2.5)
        assert out.data == 2.5 and x.grad == 1.0


def test_torch_dim_and_keepdim_names():
    v = Value(T)
    assert_same(v.sum(dim=(0, -1), keepdim=True).data, T.sum(axis=(0, -1), keepdims=True))
    assert_same(tg.mean(v, dim=1).data, T.mean(axis=1))
    assert_same(v.prod(dim=0).data, T.prod(axis=0))
    assert_same(v.var(dim=2, keepdim=True, correction=1).data, T.var(axis=2, ddof=1, keepdims=True))
    assert_same(v.norm(dim=-1).data, np.linalg.norm(T, axis=-1))
    assert_same(v.cumsum(dim=1).data, T.cumsum(axis=1))
    assert_same(np.asarray(v.argmax(dim=1, keepdim=True)), T.argmax(axis=1, keepdims=True))


# ---- min (and the aliases amin, amax) ------------------------------------------------------------
MIN_CASES = [
    # the gradient goes to the smallest element only
    pytest.param([3.0, 1.0, 2.0], {}, 1.0, [0.0, 1.0, 0.0], id="single"),
    # two minima share it: 1/2 each
    pytest.param([1.0, 3.0, 1.0], {}, 1.0, [0.5, 0.0, 0.5], id="tie"),
    # per column of M: row 0 holds every minimum
    pytest.param(M, {"axis": 0}, [1.0, 2.0, 3.0], [[1, 1, 1], [0, 0, 0]], id="axis0"),
    pytest.param([[2.0, 2.0], [1.0, 5.0]], {"axis": -1, "keepdims": True}, [[2.0], [1.0]],
                 [[0.5, 0.5], [1.0, 0.0]], id="row-wise-tie-keepdims"),
    pytest.param(T, {"axis": (0, 2)}, [0.0, 4.0, 8.0],
                 np.where(np.isin(T, [0.0, 4.0, 8.0]), 1.0, 0.0), id="axis-tuple"),
]


@pytest.mark.parametrize("data, kw, value, grad", MIN_CASES)
def test_min_by_hand(data: Any, kw: dict, value: Any, grad: Any):
    assert_by_hand(lambda v: v.min(**kw), data, value, grad)
    assert_by_hand(lambda v: tg.amin(v, **kw), data, value, grad)
    # max of -x is -min(x): the same gradient, negated twice
    assert_by_hand(lambda v: -(-v).amax(**kw), data, value, grad)


def test_the_aliases_are_the_same_ops():
    assert tg.amin is tg.min and tg.amax is tg.max
    assert Value([1.0, 2.0]).amin()._op == "min" and Value([1.0, 2.0]).amax()._op == "max"


def test_min_of_an_empty_array_is_a_shape_error():
    with pytest.raises(ShapeError, match="min"):
        Value(np.zeros((0, 2))).min(axis=0)


# ---- prod: zeros, second order, empty axes -------------------------------------------------------
PROD_CASES = [
    # d(abc)/da = bc: [3 * 4, 2 * 4, 2 * 3]
    pytest.param([2.0, 3.0, 4.0], {}, 24.0, [12.0, 8.0, 6.0], id="no-zero"),
    # one zero: only it gets the product of the others (2 * 4); the rest get 0 (a factor 0)
    pytest.param([2.0, 0.0, 4.0], {}, 0.0, [0.0, 8.0, 0.0], id="one-zero"),
    # two zeros: every product of "the others" still holds a zero
    pytest.param([0.0, 3.0, 0.0], {}, 0.0, [0.0, 0.0, 0.0], id="two-zeros"),
    # per row of M: [1 * 2 * 3, 4 * 5 * 6] and d/dx_ij = prod of the row / x_ij
    pytest.param(M, {"axis": 1}, [6.0, 120.0], [[6.0, 3.0, 2.0], [30.0, 24.0, 20.0]], id="rows"),
    pytest.param(M, {"axis": -2, "keepdims": True}, [[4.0, 10.0, 18.0]],
                 [[4.0, 5.0, 6.0], [1.0, 2.0, 3.0]], id="columns-keepdims"),
    pytest.param(M, {"axis": (0, 1)}, 720.0, 720.0 / M, id="axis-tuple"),
    pytest.param(M, {"axis": ()}, M, np.ones((2, 3)), id="no-axes"),
]


@pytest.mark.parametrize("data, kw, value, grad", PROD_CASES)
def test_prod_by_hand(data: Any, kw: dict, value: Any, grad: Any):
    assert_by_hand(lambda v: v.prod(**kw), data, value, grad)


def test_prod_over_axes_in_any_order_with_a_zero():
    # over axes 2 and 0 of T (0 at T[0, 0, 0]): slice j=0 is {0, 1, 2, 3, 12, ..., 15}, whose
    # only nonzero gradient goes to the 0: the product of the other seven
    out, (x,) = backprop(lambda v: v.prod(axis=(2, 0)), T)
    assert_same(out.data, T.prod(axis=(2, 0)))
    others = np.prod([1, 2, 3, 12, 13, 14, 15.0])
    assert x.grad[0, 0, 0] == others and (x.grad[:, 0, :].ravel()[1:] == 0).all()
    # the other slices hold no zero: each element gets its slice's product over itself
    assert_same(x.grad[:, 1:, :], np.prod(T[:, 1:, :], axis=(2, 0), keepdims=True) / T[:, 1:, :],
                rtol=1e-12)


def test_prod_of_an_empty_axis_is_one():
    out, (x,) = backprop(lambda v: v.prod(axis=0), np.zeros((0, 3)))
    assert_same(out.data, np.ones(3))
    assert x.grad.shape == (0, 3)
    assert tg.prod(Value(np.zeros(0))).data == 1.0


def test_prod_hessian_with_a_zero():
    # prod(a, b, c) = abc: d2/da db = c, d2/da dc = b, d2/db dc = a, zero diagonal
    h = func.hessian(lambda v: v.prod())(np.array([2.0, 0.0, 4.0]))
    assert_same(np.asarray(h.data if isinstance(h, Value) else h),
                [[0.0, 4.0, 0.0], [4.0, 0.0, 2.0], [0.0, 2.0, 0.0]])


@pytest.mark.parametrize("x", [np.array([[2.0, 0.0, -1.5], [0.0, 0.5, 0.0]]),
                               np.array([[0.0, 0.0, 1.0], [3.0, 0.0, 0.0]]),
                               np.array([[1.2, -0.7, 0.3], [0.9, 1.1, -2.0]])],
                         ids=["zeros", "more-zeros", "no-zero"])
@pytest.mark.parametrize("axis", [None, 0, 1, (1, 0)], ids=repr)
def test_prod_second_derivatives_with_zeros(x: np.ndarray, axis: Any):
    assert gradcheck(lambda v: v.prod(axis=axis), x)
    assert gradgradcheck(lambda v: v.prod(axis=axis), x)


def test_prod_of_a_python_float():
    out, (x,) = backprop(tg.prod, 3.0)
    assert out.data == 3.0 and x.grad == 1.0


# ---- cumsum and cumprod --------------------------------------------------------------------------
CUMULATIVE_CASES = [
    # y = [x0, x0 + x1, x0 + x1 + x2]: x_j feeds every y_i with i >= j, so its gradient is the
    # sum of the seeds from j on: [1 + 2 + 3, 2 + 3, 3]
    pytest.param(tg.cumsum, [1.0, 2.0, 3.0], {}, [1.0, 2.0, 3.0], [1.0, 3.0, 6.0], [6.0, 5.0, 3.0],
                 id="cumsum"),
    # axis None flattens M: seed ones -> [6, 5, 4, 3, 2, 1] in M's shape
    pytest.param(tg.cumsum, M, {}, None, np.cumsum(M), [[6.0, 5.0, 4.0], [3.0, 2.0, 1.0]],
                 id="cumsum-flat"),
    pytest.param(tg.cumsum, M, {"axis": 0}, None, [[1.0, 2.0, 3.0], [5.0, 7.0, 9.0]],
                 [[2.0, 2.0, 2.0], [1.0, 1.0, 1.0]], id="cumsum-axis0"),
    # y = [a, ab, abc] at (2, 3, 4), seed ones: d/da = 1 + b + bc = 16, d/db = a + ac = 10,
    # d/dc = ab = 6
    pytest.param(tg.cumprod, [2.0, 3.0, 4.0], {}, None, [2.0, 6.0, 24.0], [16.0, 10.0, 6.0],
                 id="cumprod"),
    # a zero in the middle, (2, 0, 3): d/da = 1 + b + bc = 1, d/db = a + ac = 8, d/dc = ab = 0
    pytest.param(tg.cumprod, [2.0, 0.0, 3.0], {}, None, [2.0, 0.0, 0.0], [1.0, 8.0, 0.0],
                 id="cumprod-zero"),
    # zeros at both ends, (0, 2, 0): d/da = 1 + b + bc = 3, d/db = a + ac = 0, d/dc = ab = 0
    pytest.param(tg.cumprod, [0.0, 2.0, 0.0], {}, None, [0.0, 0.0, 0.0], [3.0, 0.0, 0.0],
                 id="cumprod-two-zeros"),
    # seed (1, 2, 3) on (2, 3, 4): d/da = 1 + 2b + 3bc = 43, d/db = 2a + 3ac = 28, d/dc = 3ab = 18
    pytest.param(tg.cumprod, [2.0, 3.0, 4.0], {"axis": -1}, [1.0, 2.0, 3.0], [2.0, 6.0, 24.0],
                 [43.0, 28.0, 18.0], id="cumprod-seed"),
]


@pytest.mark.parametrize("op, data, kw, seed, value, grad", CUMULATIVE_CASES)
def test_cumulative_by_hand(op: Any, data: Any, kw: dict, seed: Any, value: Any, grad: Any):
    assert_by_hand(lambda v: op(v, **kw), data, value, grad, seed=seed)


@pytest.mark.parametrize("op", ["cumsum", "cumprod"])
@pytest.mark.parametrize("axis", [None, 0, 1, 2, -1], ids=repr)
def test_cumulative_agrees_with_numpy_and_differentiates_twice(op: str, axis: Any):
    x = np.random.default_rng(3).uniform(-2, 2, (2, 3, 4))
    x[0, 1, 2] = x[1, 0, 0] = x[1, 0, 3] = 0.0  # exact zeros: the cumprod's hard case
    assert_same(getattr(Value(x), op)(axis=axis).data, getattr(np, op)(x, axis=axis))
    assert gradcheck(lambda v: getattr(v, op)(axis=axis), x)
    assert gradgradcheck(lambda v: getattr(v, op)(axis=axis), x)


def test_cumulative_of_0d_arrays_and_floats_is_one_element_long():
    # numpy: np.cumsum(2.0) is array([2.]); the gradient returns to the input's shape
    for op in (tg.cumsum, tg.cumprod):
        out, (x,) = backprop(op, np.array(2.0))
        assert out.shape == (1,) and x.grad.shape == () and x.grad == 1.0
        out, (x,) = backprop(lambda v: op(v, axis=0), 2.0)
        assert out.shape == (1,) and x.grad == 1.0


def test_cumprod_gradient_on_a_long_axis_matches_the_product_rule():
    # away from zeros d(sum_i g_i y_i)/dx_j = sum_{i >= j} g_i y_i / x_j
    rng = np.random.default_rng(0)
    x, g = rng.uniform(0.5, 1.5, 37), rng.uniform(-1, 1, 37)
    y = np.cumprod(x)
    _, (v,) = backprop(tg.cumprod, x, seed=g)
    assert_same(v.grad, np.cumsum((g * y)[::-1])[::-1] / x, rtol=1e-12)


def test_cumulative_keeps_float32():
    v = Value(np.array([[1.0, 0.0], [2.0, 3.0]]), dtype=np.float32)
    for op in (tg.cumsum, tg.cumprod):
        out = op(v, axis=0)
        assert out.dtype == np.float32
        (g,) = tg.grad(out.sum(), v)
        assert g.dtype == np.float32


# ---- var and std: ddof, correction, constant slices ----------------------------------------------
V4 = np.array([1.0, 2.0, 3.0, 4.0])  # mean 2.5, squared deviations 2.25, 0.25, 0.25, 2.25: sum 5


@pytest.mark.parametrize("kw, n", [({}, 4), ({"ddof": 1}, 3), ({"correction": 1}, 3),
                                   ({"ddof": 2}, 2)],
                         ids=["ddof0", "ddof1", "correction1", "ddof2"])
def test_var_and_std_by_hand(kw: dict, n: int):
    # var = 5 / (4 - ddof), d var/dx = 2 (x - 2.5) / (4 - ddof);
    # std = sqrt(var), d std/dx = (x - 2.5) / ((4 - ddof) std)
    centred = V4 - 2.5
    var = 5.0 / n
    assert_by_hand(lambda v: v.var(**kw), V4, var, 2 * centred / n, rtol=1e-14)
    assert_by_hand(lambda v: tg.std(v, **kw), V4, math.sqrt(var), centred / (n * math.sqrt(var)),
                   rtol=1e-14)


def test_var_and_std_along_axes_agree_with_numpy_and_differentiate_twice():
    x = np.random.default_rng(1).normal(size=(3, 4, 2))
    for axis in (None, 0, -1, (0, 2), ()):
        for ddof in (0, 1):
            if axis == () and ddof:
                continue
            for op in ("var", "std"):
                out = getattr(Value(x), op)(axis=axis, ddof=ddof, keepdims=True)
                assert_same(out.data, getattr(np, op)(x, axis=axis, ddof=ddof, keepdims=True),
                            rtol=1e-12, atol=1e-15)
                assert gradgradcheck(lambda v: getattr(v, op)(axis=axis, ddof=ddof), x)


def test_correction_is_ddof_and_torch_default_differs():
    # numpy's default (and ours) divides by n, torch's by n - 1: the same call differs
    v = Value(V4)
    assert v.var().data == 1.25 and v.var(correction=1).data == v.var(ddof=1).data == 5 / 3
    torch = pytest.importorskip("torch")
    assert torch.tensor(V4).var().item() == pytest.approx(5 / 3, rel=1e-15)
    with pytest.raises(TypeError, match="^var: got ddof=1 and correction=0"):
        v.var(ddof=1, correction=0)


def test_var_without_degrees_of_freedom_is_a_domain_error():
    with pytest.raises(DomainError, match=r"var: ddof=4 .* slices of 4 element"):
        Value(V4).var(ddof=4)
    with pytest.raises(DomainError, match="std: ddof=1"):
        Value(M).std(axis=(), ddof=1)
    with pytest.raises(DomainError, match="var"):
        Value(2.0).var(correction=1)


def test_std_of_a_constant_slice_has_no_derivative():
    # std(c, c) = 0 but |d std| along (1, -1) is 1/sqrt(2) either way: a kink, like sqrt at 0
    x = Value(np.array([[1.0, 1.0], [1.0, 2.0]]))
    out = x.std(axis=1)
    assert_same(out.data, [0.0, 0.5])
    with pytest.raises(DomainError, match=r"std: .*constant"):
        out.sum().backward()
    # a one-element slice has std 0 whatever its element: the gradient is 0
    assert_by_hand(lambda v: v.std(axis=0), [[3.0, -1.0]], [0.0, 0.0], [[0.0, 0.0]])
    out, (s,) = backprop(tg.std, 2.0)
    assert out.data == 0.0 and s.grad == 0.0


def test_var_is_stable_at_1e3():
    # deviations of +-1 around 1e3: var 1, gradient 2 (x - mean) / n = [-1, 1]
    with np.errstate(all="raise"):
        assert_by_hand(tg.var, [999.0, 1001.0], 1.0, [-1.0, 1.0])


# ---- norm ----------------------------------------------------------------------------------------
NORM_CASES = [
    # |(3, -4)| = 5, gradient x / |x| = (0.6, -0.8)
    pytest.param({}, 5.0, [0.6, -0.8], id="2"),
    pytest.param({"ord": 2}, 5.0, [0.6, -0.8], id="2-explicit"),
    # |3| + |-4| = 7, gradient sign(x)
    pytest.param({"ord": 1}, 7.0, [1.0, -1.0], id="1"),
    # max |x| = 4 at the second element, sign -1
    pytest.param({"ord": math.inf}, 4.0, [0.0, -1.0], id="inf"),
    # min |x| = 3 at the first element
    pytest.param({"ord": -math.inf}, 3.0, [1.0, 0.0], id="-inf"),
    # (27 + 64)^(1/3), gradient sign(x) |x|^2 / norm^2
    pytest.param({"ord": 3}, 91 ** (1 / 3), np.array([9.0, -16.0]) / 91 ** (2 / 3), id="3"),
]


@pytest.mark.parametrize("kw, value, grad", NORM_CASES)
def test_norm_by_hand(kw: dict, value: float, grad: Any):
    assert_by_hand(lambda v: v.norm(**kw), [3.0, -4.0], value, grad, rtol=1e-14)


@pytest.mark.parametrize("ord", [None, 1, 2, np.inf, -np.inf, 3, 0.5, 1.5], ids=repr)
@pytest.mark.parametrize("axis", [None, 0, 1, -1], ids=repr)
def test_norm_agrees_with_numpy_on_vectors(ord: Any, axis: Any):
    x = np.array([[0.5, -1.5, 2.0], [-0.25, 1.0, 3.0]])
    # axis None: the vector norm of every element (np.linalg.norm of the flattened array)
    reference = np.linalg.norm(x.ravel() if axis is None else x, ord=ord, axis=axis)
    assert_same(Value(x).norm(ord=ord, axis=axis).data, reference, rtol=1e-14)
    assert gradgradcheck(lambda v: v.norm(ord=ord, axis=axis), x)


def test_norm_of_a_matrix_with_axis_none_is_frobenius():
    # every element, flattened: numpy's Frobenius norm of the matrix (numpy's ord=1 would be a
    # matrix norm, the largest column sum; ours stays the vector 1-norm of all elements)
    assert_same(Value(M).norm().data, np.linalg.norm(M, "fro"), rtol=1e-15)
    assert Value(M).norm(ord=1).data == 21.0
    assert_same(Value(M).norm(keepdims=True).data, np.linalg.norm(M, keepdims=True), rtol=1e-15)


def test_norm_ties_share_the_gradient():
    # max |x| = 2 twice, with signs -1 and +1: half each
    assert_by_hand(lambda v: v.norm(ord=math.inf), [-2.0, 1.0, 2.0], 2.0, [-0.5, 0.0, 0.5])


def test_norm_at_zero_has_no_derivative():
    out = Value(np.array([[0.0, 0.0], [3.0, 4.0]])).norm(axis=1)
    assert_same(out.data, [0.0, 5.0])
    with pytest.raises(DomainError, match=r"norm: .*undefined.*0"):
        out.sum().backward()
    with pytest.raises(DomainError, match="norm"):
        backprop(tg.norm, 0.0)
    # the 1-norm's kink at 0 takes the subgradient 0, as abs does
    assert_by_hand(lambda v: v.norm(ord=1), [0.0, -2.0], 2.0, [0.0, -1.0])


def test_norm_parameter_errors():
    with pytest.raises(DomainError, match="norm: ord must be"):
        Value(M).norm(ord=0)
    with pytest.raises(DomainError, match="norm: ord must be"):
        Value(M).norm(ord=-1)
    with pytest.raises(DomainError, match="norm: ord must be .*'fro'"):
        Value(M).norm(ord="fro")
    with pytest.raises(ShapeError, match="norm: axis must be an int or None"):
        Value(M).norm(axis=(0, 1))
    with pytest.raises(ShapeError, match="norm"):
        Value(M).norm(axis=2)


# ---- argmax and argmin ---------------------------------------------------------------------------
def test_argmax_and_argmin_give_numpy_integers():
    v = Value(M)
    found = v.argmax()
    assert type(found) is int and found == 5
    assert tg.argmin(v) == 0
    rows = v.argmax(axis=1)
    assert isinstance(rows, np.ndarray) and rows.dtype == np.intp
    np.testing.assert_array_equal(rows, [2, 2])
    np.testing.assert_array_equal(v.argmin(axis=-2, keepdims=True), [[0, 0, 0]])
    np.testing.assert_array_equal(v.argmax(keepdims=True), np.argmax(M, keepdims=True))
    assert Value(2.5).argmax() == 0 and tg.argmin(np.array([3.0, 1.0])) == 1


def test_argmax_picks_the_first_of_ties_as_numpy_and_torch():
    data = np.array([[1.0, 3.0, 3.0], [2.0, 2.0, 0.0]])
    np.testing.assert_array_equal(Value(data).argmax(axis=1), [1, 0])
    np.testing.assert_array_equal(Value(data).argmin(axis=0), [0, 1, 1])
    torch = pytest.importorskip("torch")
    np.testing.assert_array_equal(Value(data).argmax(axis=1),
                                  torch.tensor(data).argmax(dim=1).numpy())


def test_argmax_errors_name_the_op():
    with pytest.raises(ShapeError, match=r"argmax: .*empty"):
        Value(np.zeros((0, 2))).argmax(axis=0)
    with pytest.raises(ShapeError, match="argmin: axis must be an int or None"):
        Value(M).argmin(axis=(0, 1))
    with pytest.raises(ShapeError, match="argmax"):
        Value(M).argmax(axis=2)


# ---- any and all: masks in the graph -------------------------------------------------------------
def test_any_and_all_are_masks_that_stay_in_the_graph():
    x = Value(np.array([[-1.0, 2.0, 0.5], [-3.0, -2.0, 1.0]], dtype=np.float32))
    positive = x > 0
    some, every = positive.any(axis=1), positive.all(axis=0)
    assert_same(some.data, [1.0, 1.0])
    assert_same(every.data, [0.0, 0.0, 1.0])
    assert some.dtype == np.float32 and every.dtype == np.float32
    assert some._op == "any" and every._op == "all" and some._prev == (positive,)
    assert not some.requires_grad
    # a mask times x: the mask passes no gradient, x gets the mask
    y = (x * every).sum()
    y.backward()
    assert_same(x.grad, np.broadcast_to([0.0, 0.0, 1.0], (2, 3)))


@pytest.mark.parametrize("axis", [None, 0, (0, 1), (), -1], ids=repr)
def test_any_and_all_agree_with_numpy(axis: Any):
    data = np.array([[0.0, 2.0, 0.0], [0.0, -1.0, 3.0]])
    for op in ("any", "all"):
        out = getattr(Value(data), op)(axis=axis, keepdims=True)
        assert_same(out.data, getattr(np, op)(data, axis=axis, keepdims=True).astype(float))


def test_any_and_all_of_empty_arrays_and_floats():
    # nothing is nonzero in an empty array (any = 0), and nothing is zero (all = 1)
    assert tg.any(Value(np.zeros(0))).data == 0.0 and tg.all(Value(np.zeros(0))).data == 1.0
    assert tg.any(Value(0.0)).data == 0.0 and tg.all(Value(-2.0)).data == 1.0
    assert type(tg.any(Value(3.0)).data) is float


# ---- float32 in, float32 out: values and gradients -----------------------------------------------
FLOAT32_CASES = [
    lambda v: v.min(axis=1), lambda v: v.prod(axis=(0, 1)), lambda v: v.cumsum(),
    lambda v: v.cumprod(axis=0), lambda v: v.var(axis=0, ddof=1), lambda v: v.std(),
    *[lambda v, o=o: v.norm(ord=o, axis=1) for o in (None, 1, np.inf, -np.inf, 3, 0.5)],
    lambda v: (v > 0).any(axis=0), lambda v: tg.all(v > -1), lambda v: v.mean(axis=(-1,)),
]


@pytest.mark.parametrize("f", FLOAT32_CASES)
def test_float32_stays_float32_with_a_float64_like_gradient(f: Any):
    x = np.array([[0.5, -1.5, 2.0], [-0.25, 1.0, 3.0]])
    v32 = Value(x, dtype=np.float32)
    out32 = f(v32)
    assert out32.dtype == np.float32
    out64, (v64,) = backprop(f, x)
    assert_same(out32.data, out64.data, rtol=1e-6, atol=1e-6)
    if out32.requires_grad:
        (g32,) = tg.grad(out32.sum(), v32, create_graph=True)
        assert g32.dtype == np.float32
        assert_same(g32.data, v64.grad, rtol=1e-5, atol=1e-6)
        (h32,) = tg.grad((g32 * g32).sum(), v32, allow_unused=True, materialize_grads=True)
        assert h32.dtype == np.float32


# ---- standardize: the fused (x - mean) / sqrt(var + eps) of the normalisation layers -------------
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_standardize_by_hand(dtype: Any):
    # rows [1, 3] and [2, 2]: means 2 and 2, biased variances 1 and 0, so with eps = 0.25 the
    # outputs are [-1, 1] / sqrt(1.25) and [0, 0] (a constant slice stays finite through eps)
    x = np.array([[1.0, 3.0], [2.0, 2.0]], dtype=dtype)
    out = tg.standardize(x, axis=1, eps=0.25)
    assert out.dtype == dtype
    np.testing.assert_allclose(out.data, [[-1 / math.sqrt(1.25), 1 / math.sqrt(1.25)], [0, 0]],
                               rtol=1e-6)


@pytest.mark.parametrize("axis", [None, 1, (0, 2), -1, ()], ids=repr)
def test_standardize_derivatives_of_first_and_second_order(axis: Any):
    x = np.random.default_rng(3).standard_normal((3, 4, 2))
    weights = np.arange(24.0).reshape(3, 4, 2)  # so that the sum does not cancel the gradient
    gradcheck(lambda a: tg.standardize(a, axis=axis) * weights, x)
    gradgradcheck(lambda a: tg.standardize(a, axis=axis, eps=0.1) * weights, x)


def test_standardize_of_an_empty_slice_is_a_domain_error():
    with pytest.raises(DomainError, match="mean"):
        tg.standardize(np.zeros((2, 0)), axis=1)
