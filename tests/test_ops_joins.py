"""The joining and splitting ops (tinygrad_nn/ops/joins.py): reference rows, PyTorch spellings and hand-worked cases."""

from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np
import pytest

import tinygrad_nn as tg
from opcase import ROW, X, Y, OpCase, assert_same, backprop
from tinygrad_nn import ShapeError, UnsupportedTypeError, Value
from tinygrad_nn.gradcheck import gradcheck, gradgradcheck

COLUMN = np.array([1.0, -2.0])  # a 1-D input as long as X has rows


def weighted(pieces: Sequence[Any], axis: int = 0, join: Callable = tg.concatenate) -> Any:
    """Pieces of a split, piece k times k + 1, joined again: one Value whose gradient tells the
    pieces apart (the same call as tinygrad_nn.testing's variants of the split family)."""
    return join([p * float(k + 1) for k, p in enumerate(pieces)], axis=axis)


def np_weighted(pieces: Sequence[np.ndarray], axis: int = 0, join: Callable = np.concatenate) -> Any:
    return join([p * float(k + 1) for k, p in enumerate(pieces)], axis=axis)


# rows of test_ops_values.REFERENCES: each op's numpy reference, inputs inside its domain
REFERENCES: list[OpCase] = [
    OpCase("vstack", lambda a, b: tg.vstack([a, b]), lambda a, b: np.vstack([a, b]), (X, ROW)),
    OpCase("hstack", lambda a, b: tg.hstack([a, b]), lambda a, b: np.hstack([a, b]), (X, Y)),
    OpCase("column_stack", lambda a, b: tg.column_stack([a, b]),
           lambda a, b: np.column_stack([a, b]), (X, COLUMN)),
    OpCase("dstack", lambda a, b: tg.dstack([a, b]), lambda a, b: np.dstack([a, b]), (X, Y)),
    OpCase("append", tg.append, np.append, (X, ROW)),
    OpCase("split", lambda a: weighted(tg.split(a, 3, axis=1), axis=1),
           lambda a: np_weighted(np.split(a, 3, axis=1), axis=1), (X,)),
    OpCase("array_split", lambda a: weighted(tg.array_split(a, 2, axis=-1), axis=-1),
           lambda a: np_weighted(np.array_split(a, 2, axis=-1), axis=-1), (X,)),
    OpCase("chunk", lambda a: weighted(a.chunk(2, dim=1), axis=1),
           lambda a: np_weighted([a[:, :2], a[:, 2:]], axis=1), (X,)),
    OpCase("unbind", lambda a: weighted(a.unbind(1), axis=1, join=tg.stack),
           lambda a: np_weighted(list(np.moveaxis(a, 1, 0)), axis=1, join=np.stack), (X,)),
]


def torch_spellings(torch: Any, F: Any) -> dict:
    """Each op of this group (by its name in tinygrad_nn.testing.OPS) spelled in torch."""
    def rejoined(pieces: Any, axis: int, join: Any = torch.cat) -> Any:
        return join([p * float(k + 1) for k, p in enumerate(pieces)], dim=axis)

    def append(a: Any, v: Any, *, axis: Any) -> Any:
        return torch.cat([a.reshape(-1), v.reshape(-1)]) if axis is None else torch.cat([a, v], axis)

    # torch.tensor_split is numpy's array_split; given numpy's even sections, also its split
    def tensor_split(t: Any, *, indices_or_sections: Any, axis: int) -> Any:
        return rejoined(torch.tensor_split(t, indices_or_sections, dim=axis), axis)

    return {
        "vstack": lambda *ts: torch.vstack(ts),
        "hstack": lambda *ts: torch.hstack(ts),
        "column_stack": lambda *ts: torch.column_stack(ts),
        "dstack": lambda *ts: torch.dstack(ts),
        "append": append,
        "split": tensor_split,
        "array_split": tensor_split,
        "chunk": lambda t, *, chunks, axis: rejoined(torch.chunk(t, chunks, dim=axis), axis),
        "unbind": lambda t, *, axis: rejoined(torch.unbind(t, dim=axis), axis, torch.stack),
    }


A = np.arange(12.0).reshape(3, 4) - 5.5  # no zeros, distinct


# ---- splitting: values as numpy's, gradients into the right slices ----------------------------
def test_gradient_of_weighted_pieces_of_a_split_flows_into_their_slices():
    # L = 2 sum(x[:, :1]) + 3 sum(x[:, 1:3]) + 5 sum(x[:, 3:]): dL/dx is the weight of x's piece
    x = Value(A)
    p, q, r = x.split([1, 3], axis=1)
    (2 * p.sum() + 3 * q.sum() + 5 * r.sum()).backward()
    assert_same(x.grad, np.array([[2.0, 3.0, 3.0, 5.0]] * 3))
    for piece, expected in zip((p, q, r), np.split(A, [1, 3], axis=1)):
        assert_same(piece.data, expected)


def test_a_piece_used_nonlinearly_gets_its_own_gradient():
    # L = sum(top**2) + 7 sum(bottom) for x split in two along axis 0: 2 x on the top row, 7 below
    x = Value(np.array([[1.0, -2.0], [3.0, 4.0]]))
    top, bottom = tg.split(x, 2)
    ((top ** 2).sum() + 7 * bottom.sum()).backward()
    assert_same(x.grad, np.array([[2.0, -4.0], [7.0, 7.0]]))


@pytest.mark.parametrize("ios", [2, 4, [1], [1, 3], [0, 0, 4], [3, 1], [-1], [-3, 2], [2, 9], []])
@pytest.mark.parametrize("axis", [1, -1])
def test_split_matches_numpy_with_sections_and_any_split_points(ios, axis):
    # unsorted, negative, repeated and out-of-range points make (empty) pieces as numpy's do
    pieces = tg.split(Value(A), ios, axis=axis)
    expected = np.split(A, ios, axis=axis)
    assert isinstance(pieces, list) and len(pieces) == len(expected)
    for piece, e in zip(pieces, expected):
        assert_same(piece.data, e)


@pytest.mark.parametrize("n, sections", [(5, 3), (5, 7), (4, 4), (1, 2), (0, 3), (7, 2)])
def test_array_split_gives_the_first_pieces_one_more_element(n, sections):
    x = Value(np.arange(float(n)))
    pieces = x.array_split(sections)
    assert [p.shape for p in pieces] == [e.shape for e in np.array_split(np.arange(n), sections)]
    assert len(pieces) == sections
    # the gradient of sum_k (k + 1) sum(piece_k) is each element's piece number plus one
    if n:
        weighted(pieces).sum().backward()
        assert_same(x.grad, np.concatenate([np.full(len(p.data), k + 1.0)
                                            for k, p in enumerate(pieces)]))


def test_empty_pieces_get_and_give_no_gradient():
    x = Value(A)
    first, empty, last = x.split([2, 2], axis=1)
    assert empty.shape == (3, 0)
    (first.sum() + 10 * empty.sum() + 3 * last.sum()).backward()
    assert_same(x.grad, np.array([[1.0, 1.0, 3.0, 3.0]] * 3))


def test_split_errors_name_the_op_and_the_shape():
    x = Value(A)
    with pytest.raises(ShapeError, match=r"split: 3 sections do not divide an axis of length 4"):
        x.split(3, axis=1)
    with pytest.raises(ShapeError, match=r"split: the number of sections must be positive, got 0"):
        x.split(0)
    with pytest.raises(ShapeError, match=r"array_split: the number of sections must be positive"):
        x.array_split(-1)
    with pytest.raises(ShapeError, match=r"split: axis 2 is out of bounds for a Value of shape \(3, 4\)"):
        x.split(1, axis=2)
    with pytest.raises(ShapeError, match=r"unbind: axis -3 is out of bounds"):
        x.unbind(-3)
    with pytest.raises(ShapeError, match=r"chunk: a 0-d Value has no axis"):
        tg.chunk(Value(np.array(2.0)), 1)
    with pytest.raises(ShapeError, match=r"split: a 0-d Value"):
        tg.split(Value(2.0), 1)
    with pytest.raises(ShapeError, match=r"chunk: chunks must be positive, got 0"):
        x.chunk(0)
    with pytest.raises(UnsupportedTypeError, match=r"split: indices_or_sections must be an int"):
        x.split(1.5)


@pytest.mark.parametrize("n, chunks", [(5, 4), (6, 4), (4, 2), (2, 5), (1, 1), (7, 3), (0, 3)])
def test_chunk_takes_ceil_n_over_chunks_elements_and_may_give_fewer_chunks(n, chunks):
    # n = 5, chunks = 4: pieces of ceil(5/4) = 2, so 2 + 2 + 1: three chunks, not four
    sizes = [p.shape[0] for p in tg.chunk(Value(np.arange(float(n))), chunks)]
    size = -(-n // chunks)
    expected = [min(size, n - a) for a in range(0, n, size)] if n else [0] * chunks
    assert sizes == expected
    torch = pytest.importorskip("torch")
    assert sizes == [len(t) for t in torch.chunk(torch.arange(float(n)), chunks)]


def test_chunk_along_a_negative_dim_and_its_gradient():
    x = Value(A)
    pieces = x.chunk(3, dim=-1)  # ceil(4/3) = 2: columns 0-1 and 2-3, only two chunks
    assert isinstance(pieces, tuple) and [p.shape for p in pieces] == [(3, 2), (3, 2)]
    (pieces[0].sum() - pieces[1].sum()).backward()
    assert_same(x.grad, np.array([[1.0, 1.0, -1.0, -1.0]] * 3))


def test_unbind_removes_the_axis_and_undoes_stack():
    x = Value(A)
    columns = x.unbind(dim=1)
    assert isinstance(columns, tuple) and len(columns) == 4
    for k, c in enumerate(columns):
        assert_same(c.data, A[:, k])
    assert_same(tg.stack(columns, axis=1).data, A)
    # L = sum_k k * sum(column k): the gradient of column k is k
    sum(float(k) * c.sum() for k, c in enumerate(columns)).backward()
    assert_same(x.grad, np.tile(np.arange(4.0), (3, 1)))
    assert tg.unbind(Value(np.zeros((0, 2)))) == ()
    assert [r.shape for r in Value(np.zeros((2, 3, 1))).unbind(-2)] == [(2, 1)] * 3


def test_tensor_split_is_torch_tensor_split():
    assert tg.tensor_split is tg.array_split
    torch = pytest.importorskip("torch")
    t = torch.tensor(A)
    for ios in (3, 5, [1, 3], [2]):
        ours = Value(A).tensor_split(ios, dim=1)
        theirs = torch.tensor_split(t, ios, dim=1)
        assert len(ours) == len(theirs)
        for o, e in zip(ours, theirs):
            assert_same(o.data, e.numpy())


def test_splits_of_raw_arrays_give_constants():
    pieces = tg.split(np.arange(4.0), 2)
    assert all(isinstance(p, Value) and not p.requires_grad for p in pieces)
    assert_same(pieces[1].data, np.array([2.0, 3.0]))


# ---- joining: numpy's rules for 0-d, 1-D and 2-D inputs ----------------------------------------
JOINS = [(tg.vstack, np.vstack), (tg.hstack, np.hstack), (tg.column_stack, np.column_stack),
         (tg.dstack, np.dstack)]
SHAPE_SETS = [[(), ()], [(3,), (3,)], [(2,), (3,)], [(2, 3), (3,)], [(3,), (2, 3)],
              [(2, 3), (2, 1)], [(2, 3), (1, 3)], [(2, 3), (2, 3), (2, 3)], [(2, 3, 2), (2, 3, 1)],
              [(1,), ()], [(2,), (2, 2)], [(3,)]]


@pytest.mark.parametrize("ours, theirs", JOINS, ids=[n.__name__ for n, _ in JOINS])
@pytest.mark.parametrize("shapes", SHAPE_SETS, ids=str)
def test_joins_follow_numpy_on_0d_1d_and_nd_inputs(ours, theirs, shapes):
    rng = np.random.default_rng(len(shapes))
    datas = [rng.normal(size=s) for s in shapes]
    try:
        expected = theirs(datas)
    except ValueError:  # numpy refuses: so must we, naming the op and the shapes
        with pytest.raises(ShapeError, match=rf"{ours.__name__}: the shapes \[{re_shape(shapes[0])}"):
            ours([Value(d) for d in datas])
        return
    seed = rng.normal(size=expected.shape)
    out, leaves = backprop(lambda *xs: ours(list(xs)), *datas, seed=seed)
    assert_same(out.data, expected)
    # each input's gradient is its own block of the seed: joining the inputs' gradients the same
    # way gives the seed back
    assert_same(theirs([leaf.grad for leaf in leaves]), seed)


def re_shape(shape: tuple) -> str:
    return str(shape).replace("(", r"\(").replace(")", r"\)")


def test_vstack_makes_rows_hstack_joins_column_stack_makes_columns_by_hand():
    a, b = Value(np.array([1.0, 2.0])), Value(np.array([3.0, 4.0]))
    assert_same(tg.vstack([a, b]).data, np.array([[1.0, 2.0], [3.0, 4.0]]))
    assert_same(tg.hstack([a, b]).data, np.array([1.0, 2.0, 3.0, 4.0]))
    assert_same(tg.column_stack([a, b]).data, np.array([[1.0, 3.0], [2.0, 4.0]]))
    assert tg.dstack([a, b]).shape == (1, 2, 2)
    # d/da of sum(w * column_stack([a, b])) is w's first column, d/db its second
    w = np.array([[5.0, 6.0], [7.0, 8.0]])
    (tg.column_stack([a, b]) * w).sum().backward()
    assert_same(a.grad, np.array([5.0, 7.0]))
    assert_same(b.grad, np.array([6.0, 8.0]))


def test_joins_of_python_floats():
    a, b = Value(2.0), Value(3.0)
    out = tg.vstack([a, b])
    assert_same(out.data, np.array([[2.0], [3.0]]))
    (out * np.array([[4.0], [5.0]])).sum().backward()
    assert type(a.grad) is float and (a.grad, b.grad) == (4.0, 5.0)
    assert_same(tg.hstack([a, 1.0]).data, np.array([2.0, 1.0]))
    assert_same(tg.column_stack([a, b]).data, np.array([[2.0, 3.0]]))
    assert tg.dstack([a, b]).shape == (1, 1, 2)
    assert_same(tg.append(a, b).data, np.array([2.0, 3.0]))


def test_a_join_is_one_concatenate_node_over_reshaped_inputs():
    m, row = Value(X), Value(ROW)
    out = tg.vstack([m, row])
    assert out._op == "concatenate"
    assert out._prev[0] is m  # already 2-D: no reshape
    assert out._prev[1]._op == "reshape" and out._prev[1]._prev[0] is row


def test_join_errors_name_the_op_and_the_shapes():
    with pytest.raises(ShapeError, match=r"vstack: the shapes \[\(3,\), \(4,\)\] \(as \[\(1, 3\), \(1, 4\)\]\) must match except along axis 0"):
        tg.vstack([Value(np.ones(3)), Value(np.ones(4))])
    with pytest.raises(ShapeError, match=r"hstack: the shapes \[\(3,\), \(2, 3\)\]"):
        tg.hstack([np.ones(3), Value(np.ones((2, 3)))])
    with pytest.raises(ShapeError, match=r"column_stack: the shapes \[\(3,\), \(2, 2\)\]"):
        tg.column_stack([np.ones(3), np.ones((2, 2))])
    with pytest.raises(ShapeError, match=r"append: the shapes \[\(2, 3\), \(3,\)\]"):
        tg.append(Value(X), ROW, axis=0)
    with pytest.raises(ShapeError, match=r"append: axis 2 is out of bounds"):
        tg.append(Value(X), Y, axis=2)
    with pytest.raises(ShapeError, match=r"append: axis 0 is out of bounds for inputs of shapes \[\(\), \(\)\]"):
        tg.append(Value(1.0), Value(2.0), axis=0)
    with pytest.raises(ShapeError, match=r"dstack: needs at least one Value"):
        tg.dstack([])
    with pytest.raises(UnsupportedTypeError, match=r"vstack: expects a sequence .* of shape \(2, 3\)"):
        tg.vstack(Value(X))
    with pytest.raises(ShapeError, match=r"concatenate"):
        tg.cat([Value(X), Value(ROW)], dim=1)


def test_append_flattens_without_an_axis_and_joins_along_one():
    # axis None: both raveled, the result 1-D; the gradient goes back in each input's shape
    arr, values = Value(X), Value(np.array([[7.0], [8.0]]))
    out = tg.append(arr, values)
    assert_same(out.data, np.append(X, [[7.0], [8.0]]))
    seed = np.arange(8.0)
    out.backward(seed)
    assert_same(arr.grad, seed[:6].reshape(2, 3))
    assert_same(values.grad, seed[6:].reshape(2, 1))
    assert_same(tg.append(Value(X), Y, axis=-1).data, np.append(X, Y, axis=-1))
    assert_same(tg.append(Value(X), ROW[None], axis=0).data, np.append(X, ROW[None], axis=0))


def test_cat_is_concatenate_and_takes_dim():
    assert tg.cat is tg.concatenate
    assert_same(tg.cat([Value(X), Value(Y)], dim=1).data, np.concatenate([X, Y], axis=1))
    assert_same(tg.cat([Value(X), Value(Y)], dim=-2).data, np.concatenate([X, Y], axis=0))


# ---- float32, second order ---------------------------------------------------------------------
def test_float32_stays_float32_through_splits_and_joins():
    x = Value(A, dtype=np.float32)
    pieces = [*x.split(2, axis=1), *x.array_split(3), *x.chunk(2), *x.unbind()]
    assert all(p.dtype == np.float32 for p in pieces)
    joined = [tg.vstack([pieces[0], x[0, :2]]), tg.hstack(pieces[:2]), tg.column_stack(x.unbind(1)),
              tg.dstack(pieces[:2]), tg.append(x, pieces[2])]
    assert all(j.dtype == np.float32 for j in joined)
    sum(j.sum() for j in joined).backward()
    assert x.grad.dtype == np.float32


def test_second_derivatives_of_split_pieces():
    # f(x) = sum_k c_k sum(piece_k ** 2), c = 1, 2, 3: the Hessian is diagonal, 2 c_k for each
    # element of piece k
    def f(x):
        return sum(float(k + 1) * (p ** 2).sum() for k, p in enumerate(x.array_split(3)))
    h = tg.func.hessian(f)(np.array([0.5, -1.0, 2.0, 3.0, 1.5]))
    assert_same(np.asarray(h.data if isinstance(h, Value) else h),
                np.diag([2.0, 2.0, 4.0, 4.0, 6.0]))


@pytest.mark.parametrize("f", [
    lambda x: tuple(x.split([1, 3], axis=1)),
    lambda x: tuple(x.chunk(3, dim=0)),
    lambda x: x.unbind(-1),
    lambda x: tg.vstack([x ** 2, x[0]]),
    lambda x: tg.column_stack([x[:, 0], x ** 2]),
    lambda x: (tg.dstack([x, x ** 2]), tg.dstack([x[0], x[1] * x[2]])),
    lambda x: tg.append(x, x[1] ** 2),
], ids=["split", "chunk", "unbind", "vstack", "column_stack", "dstack", "append"])
def test_first_and_second_derivatives_against_finite_differences(f):
    assert gradcheck(f, A, eps=1e-6, atol=1e-6, rtol=1e-5)
    assert gradgradcheck(f, A, eps=1e-6, atol=1e-6, rtol=1e-5, seed=0)


def test_joining_thousands_of_pieces_back_propagates_each_its_own_share():
    # One VJP call per join node (not one per input, each scanning all inputs): the backward
    # of 16,000 pieces took 2.9 s (stack) and 91 s (concatenate) before; see the note of issue 14.
    n = 5000
    xs = [Value(float(i)) for i in range(n)]
    weights = np.arange(n) % 7 - 3.0
    (tg.stack(xs) * weights).sum().backward()
    pieces = [Value(np.full(2, float(i))) for i in range(n)]
    (tg.concatenate(pieces) * np.repeat(weights, 2)).sum().backward()
    np.testing.assert_array_equal([x.grad for x in xs], weights)
    np.testing.assert_array_equal(np.stack([p.grad for p in pieces]),
                                  np.repeat(weights, 2).reshape(n, 2))
