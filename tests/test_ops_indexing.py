"""The indexing, sorting and gathering ops (tinygrad_nn/ops/indexing.py): reference rows, PyTorch
spellings and hand-worked cases."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import tinygrad_nn as tg
from opcase import COND, ROW, X, Y, OpCase, assert_same, backprop
from tinygrad_nn import InvalidIndexError, ShapeError, Value
from tinygrad_nn.gradcheck import gradcheck, gradgradcheck

CUBE = np.stack([X, Y, X - Y])  # (3, 2, 3), no ties along any axis


def _index_added(a: np.ndarray, source: np.ndarray, index: list, alpha: float) -> np.ndarray:
    out = a.copy()
    for i, k in enumerate(index):  # one source column at a time: repeats add up
        out[:, k] += alpha * source[:, i]
    return out


def _scatter_added(a: np.ndarray, index: np.ndarray, src: np.ndarray) -> np.ndarray:
    out = a.copy()
    for i, j in np.ndindex(index.shape):  # torch's rule for dim 1: out[i, index[i, j]] += src[i, j]
        out[i, index[i, j]] += src[i, j]
    return out


GATHER_INDEX = np.array([[2, 2], [0, -2]])  # a repeat in row 0, a negative index in row 1
SCATTER_INDEX = np.array([[0, 0], [2, 1]])

# rows of test_ops_values.REFERENCES: each op's numpy reference, inputs inside its domain
REFERENCES: list[OpCase] = [
    OpCase("diff", lambda a: a.diff(n=2, axis=-1), lambda a: np.diff(a, n=2, axis=-1), (X,)),
    OpCase("sort", lambda a: a.sort(axis=0), lambda a: np.sort(a, axis=0), (CUBE,)),
    OpCase("argsort", lambda a: a.argsort(axis=-1), lambda a: np.argsort(a, axis=-1), (CUBE,)),
    OpCase("tril", lambda a: a.tril(-1), lambda a: np.tril(a, -1), (CUBE,)),
    OpCase("triu", lambda a: a.triu(1), lambda a: np.triu(a, 1), (np.vstack([X, Y]),)),
    OpCase("diag", lambda a: a.diag(1), lambda a: np.diag(a, 1), (ROW,)),
    OpCase("diagonal", lambda a: a.diagonal(1, -1, 0), lambda a: np.diagonal(a, 1, -1, 0), (CUBE,)),
    OpCase("trace", lambda a: a.trace(-1), lambda a: np.trace(a, -1), (np.vstack([X, Y]),)),
    OpCase("take_along_axis", lambda a: a.take_along_axis(GATHER_INDEX, axis=1),
           lambda a: np.take_along_axis(a, GATHER_INDEX, axis=1), (X,)),
    OpCase("gather", lambda a: a.gather(1, GATHER_INDEX),
           lambda a: np.take_along_axis(a, GATHER_INDEX, axis=1), (X,)),
    OpCase("take", lambda a: a.take([[5, 0], [-1, 5]]), lambda a: np.take(a, [[5, 0], [-1, 5]]),
           (X,)),
    OpCase("index_select", lambda a: a.index_select(1, [2, 0, 2]),
           lambda a: a[:, [2, 0, 2]], (X,)),
    OpCase("masked_fill", lambda a, m: a.masked_fill(m, -1.0),
           lambda a, m: np.where(m, -1.0, a), (X, COND.astype(float)), elementwise=True),
    OpCase("index_add", lambda a, s: a.index_add(1, [0, 2, 0], s, alpha=2.0),
           lambda a, s: _index_added(a, s, [0, 2, 0], 2.0), (X, Y)),
    OpCase("scatter_add", lambda a, s: a.scatter_add(1, SCATTER_INDEX, s),
           lambda a, s: _scatter_added(a, SCATTER_INDEX, s), (X, Y)),
]


def torch_spellings(torch: Any, F: Any) -> dict:
    """Each op of this group (by its name in tinygrad_nn.testing.OPS) spelled in torch. Torch's
    index ops take no negative indices: they get them counted from the end."""
    def index_of(i: Any, t: Any, axis: int) -> Any:
        return torch.as_tensor(np.asarray(i) % t.shape[axis])

    def take(t: Any, *, indices: Any, axis: Any) -> Any:
        # numpy says which flat positions np.take picks; torch gathers them
        positions = np.take(np.arange(t.numel()).reshape(tuple(t.shape)), indices, axis=axis)
        return t.reshape(-1)[torch.as_tensor(positions)]

    def scatter_add(t: Any, s: Any, *, axis: int, index: Any) -> Any:
        # torch's backward fails for a src larger than the index: give it just the part used
        used = s[tuple(slice(0, n) for n in np.shape(index))]
        return t.scatter_add(axis, index_of(index, t, axis), used)

    return {
        "diff": lambda t, *, n, axis: torch.diff(t, n=n, dim=axis) if n else t.clone(),
        "sort": lambda t, *, axis, descending: torch.sort(t, dim=axis, descending=descending,
                                                          stable=True).values,
        "argsort": lambda t, *, axis, descending: torch.argsort(
            t, dim=axis, descending=descending, stable=True).double(),
        "tril": lambda t, *, k: torch.tril(t, k),
        "triu": lambda t, *, k: torch.triu(t, k),
        "diag": lambda t, *, k: torch.diag(t, k),
        "diagonal": lambda t, *, offset, axis1, axis2: torch.diagonal(t, offset, axis1, axis2),
        "trace": lambda t, *, offset, axis1, axis2: torch.diagonal(t, offset, axis1, axis2).sum(-1),
        "take_along_axis": lambda t, *, indices, axis: torch.take_along_dim(
            t, index_of(indices, t, axis), dim=axis),
        "gather": lambda t, *, axis, index: torch.gather(t, axis, index_of(index, t, axis)),
        "take": take,
        "index_select": lambda t, *, axis, index: t.index_select(axis, index_of(index, t, axis)),
        "masked_fill": lambda t, c, *, value: t.masked_fill(c > 0, value),
        "index_add": lambda t, s, *, axis, index, alpha: t.index_add(
            axis, index_of(index, t, axis), s, alpha=alpha),
        "scatter_add": scatter_add,
    }


def grad_of(f: Any, x: Any, seed: Any) -> np.ndarray:
    """The gradient of sum(seed * f(x)) with respect to x."""
    _, (leaf,) = backprop(f, np.asarray(x, dtype=float), seed=np.asarray(seed, dtype=float))
    return leaf.grad


# ---- sorting -----------------------------------------------------------------------------------
def test_sort_gradient_follows_the_permutation():
    # sort([3, 1, 2]) = [1, 2, 3] = x[[1, 2, 0]]: the seed's k-th entry goes back to x[p[k]]
    out = tg.sort(Value([3.0, 1.0, 2.0]))
    assert_same(out.data, [1.0, 2.0, 3.0])
    assert_same(grad_of(tg.sort, [3.0, 1.0, 2.0], [10.0, 20.0, 30.0]), [30.0, 10.0, 20.0])
    # descending: [3, 2, 1] = x[[0, 2, 1]]
    assert_same(grad_of(lambda x: x.sort(descending=True), [3.0, 1.0, 2.0], [10.0, 20.0, 30.0]),
                [10.0, 30.0, 20.0])


def test_sort_along_an_axis_of_a_batch_and_negative_axes():
    x = CUBE
    for axis in (0, 1, -1, -3):
        seed = np.arange(x.size, dtype=float).reshape(x.shape)
        out, (leaf,) = backprop(lambda v: v.sort(axis=axis), x, seed=seed)
        assert_same(out.data, np.sort(x, axis=axis))
        # by hand: the seed sent back through the sorting permutation
        order = np.argsort(x, axis=axis)
        expected = np.zeros_like(x)
        np.put_along_axis(expected, order, seed, axis=axis)
        assert_same(leaf.grad, expected)


def test_sort_with_ties_sends_each_seed_entry_to_one_element():
    # [1, 1, 0] sorts as x[[2, 0, 1]] (a stable sort): tied elements each get one entry
    grad = grad_of(tg.sort, [1.0, 1.0, 0.0], [1.0, 2.0, 3.0])
    assert_same(grad, [2.0, 3.0, 1.0])
    assert_same(grad_of(lambda x: x.sort(descending=True), [1.0, 1.0, 0.0], [1.0, 2.0, 3.0]),
                [1.0, 2.0, 3.0])


def test_argsort_gives_whole_numbers_without_a_gradient_and_indexes_with_them():
    x = Value(CUBE)
    order = x.argsort(axis=1)
    assert not order.requires_grad
    assert order.dtype == x.dtype
    assert_same(order.data, np.argsort(CUBE, axis=1))
    assert_same(x.argsort(axis=0, descending=True).data, np.argsort(-CUBE, axis=0))
    # x taken along the axis at its argsort is x sorted, value and gradient
    seed = np.linspace(-1, 1, CUBE.size).reshape(CUBE.shape)
    gathered, (a,) = backprop(lambda v: v.take_along_axis(v.argsort(axis=1), axis=1), CUBE,
                              seed=seed)
    sorted_, (b,) = backprop(lambda v: v.sort(axis=1), CUBE, seed=seed)
    assert_same(gathered.data, sorted_.data)
    assert_same(a.grad, b.grad)


def test_sort_of_a_zero_dimensional_array_is_a_shape_error():
    for op in (tg.sort, tg.argsort):
        with pytest.raises(ShapeError, match=op.name):
            op(Value(np.array(2.0)))


def test_sorting_is_recomputed_when_a_tape_replays_on_reordered_data():
    x = Value([3.0, 1.0, 2.0])
    w = Value([1.0, 10.0, 100.0])
    tape = tg.Tape((x.sort() * w).sum())
    x.data = np.array([1.0, 3.0, 2.0])
    tg.zero_grad([x, w])
    tape.forward()
    tape.backward()
    # by hand: sorted [1, 2, 3] = x[[0, 2, 1]], so x's gradient is w sent back: [1, 100, 10]
    assert tape.output.item() == 1 + 20 + 300
    assert_same(x.grad, [1.0, 100.0, 10.0])


# ---- differences -------------------------------------------------------------------------------
def test_diff_by_hand():
    # y = (x1 - x0, x2 - x1, x3 - x2): d sum(s y) / dx = (-s0, s0 - s1, s1 - s2, s2)
    x = [1.0, 4.0, 9.0, 16.0]
    assert_same(tg.diff(Value(x)).data, [3.0, 5.0, 7.0])
    assert_same(grad_of(tg.diff, x, [1.0, 10.0, 100.0]), [-1.0, -9.0, -90.0, 100.0])
    # second differences y_i = x_{i+2} - 2 x_{i+1} + x_i: (s0, s1 - 2 s0, s0 - 2 s1, s1)
    assert_same(tg.diff(Value(x), 2).data, [2.0, 2.0])
    assert_same(grad_of(lambda v: v.diff(2), x, [1.0, 10.0]), [1.0, 8.0, -19.0, 10.0])


def test_diff_along_axis_zero_order_zero_and_orders_past_the_length():
    assert_same(grad_of(lambda v: v.diff(axis=0), X, [[1.0, 2.0, 3.0]]), [[-1.0, -2.0, -3.0],
                                                                           [1.0, 2.0, 3.0]])
    same = tg.diff(Value(X), n=0)
    assert_same(same.data, X)
    assert same.data is not X
    empty, (leaf,) = backprop(lambda v: v.diff(n=5), X, seed=np.ones((2, 0)))
    assert empty.shape == (2, 0)
    assert_same(leaf.grad, np.zeros_like(X))
    with pytest.raises(ShapeError, match="diff"):
        tg.diff(Value(np.array(1.0)))


# ---- triangles and diagonals -------------------------------------------------------------------
def test_tril_and_triu_are_masks_of_a_batch_of_matrices():
    x = np.arange(18.0).reshape(2, 3, 3) - 8
    rows, cols = np.indices((3, 3))
    for k in (-1, 0, 2):
        below = (cols - rows <= k).astype(float)  # tril keeps j - i <= k
        assert_same(tg.tril(Value(x), k).data, x * below)
        assert_same(grad_of(lambda v: v.tril(k), x, np.full(x.shape, 2.0)),
                    np.broadcast_to(2 * below, x.shape))
        assert_same(grad_of(lambda v: v.triu(k + 1), x, np.ones(x.shape)),
                    np.broadcast_to(1 - below, x.shape))
    # the two halves add up to x
    assert_same((Value(x).tril(0) + Value(x).triu(1)).data, x)
    with pytest.raises(ShapeError, match=r"tril.*\(3,\)"):
        tg.tril(Value(ROW))


def test_diag_of_a_vector_and_of_a_non_square_matrix():
    # a vector on the diagonal below the main one: out[i + 1, i] = v[i]
    out = tg.diag(Value(ROW), -1)
    assert_same(out.data, np.diag(ROW, -1))
    seed = np.arange(16.0).reshape(4, 4)
    assert_same(grad_of(lambda v: v.diag(-1), ROW, seed), [seed[1, 0], seed[2, 1], seed[3, 2]])
    # the first superdiagonal of a 2 x 3 matrix: [x01, x12]; the seed goes back there
    assert_same(tg.diag(Value(X), 1).data, [X[0, 1], X[1, 2]])
    assert_same(grad_of(lambda v: v.diag(1), X, [5.0, 7.0]), [[0, 5.0, 0], [0, 0, 7.0]])
    assert tg.diag(Value(X), 3).shape == (0,)
    with pytest.raises(ShapeError, match="diag"):
        tg.diag(Value(CUBE))


def test_diagonal_of_a_batch_and_trace():
    for offset, axis1, axis2 in [(0, 0, 1), (1, 1, 2), (-1, 2, 0), (0, -1, -2)]:
        out = Value(CUBE).diagonal(offset, axis1, axis2)
        assert_same(out.data, np.diagonal(CUBE, offset, axis1, axis2))
        # the gradient of the sum of the diagonal: ones on it, zeros elsewhere
        ones_there = np.diagonal(np.zeros_like(CUBE), offset, axis1, axis2).copy()
        expected = np.zeros_like(CUBE)
        view = np.diagonal(expected, offset, axis1, axis2)
        assert view.shape == ones_there.shape
        positions = np.diagonal(np.arange(CUBE.size).reshape(CUBE.shape), offset, axis1, axis2)
        expected.reshape(-1)[positions.reshape(-1)] = 1.0
        assert_same(grad_of(lambda v: v.diagonal(offset, axis1, axis2).sum(), CUBE, 1.0), expected)
    # d trace(A) / dA is the identity, batched over the leading axis
    square = np.arange(18.0).reshape(2, 3, 3)
    assert_same(tg.trace(Value(square), axis1=1, axis2=2).data, np.trace(square, axis1=1, axis2=2))
    assert_same(grad_of(lambda v: v.trace(axis1=1, axis2=2), square, [1.0, 2.0]),
                np.stack([np.eye(3), 2 * np.eye(3)]))
    with pytest.raises(ShapeError, match="diagonal: axis1 and axis2 must differ"):
        Value(CUBE).diagonal(0, 1, -2)
    with pytest.raises(ShapeError, match=r"trace: needs at least 2 dimensions, got shape \(3,\)"):
        tg.trace(Value(ROW))


# ---- gathering ---------------------------------------------------------------------------------
def test_gather_with_repeated_indices_accumulates_the_gradient():
    # out[i, j] = x[i, index[i, j]]: [[x00, x00], [x11, x10]]
    x, index = [[1.0, 2.0], [3.0, 4.0]], [[0, 0], [1, 0]]
    assert_same(tg.gather(Value(x), 1, index).data, [[1.0, 1.0], [4.0, 3.0]])
    # x00 receives s00 + s01, x10 s11, x11 s10; x01 nothing
    assert_same(grad_of(lambda v: v.gather(1, index), x, [[1.0, 10.0], [100.0, 1000.0]]),
                [[11.0, 0.0], [1000.0, 100.0]])
    # dim= as torch spells it, and a smaller index than x on the other axis
    out = Value(X).gather(dim=0, index=[[1, -2]])
    assert_same(out.data, [[X[1, 0], X[0, 1]]])


def test_negative_indices_count_from_the_end():
    v = Value([1.0, 2.0, 3.0])
    assert_same(v.take([-1, -3]).data, [3.0, 1.0])
    assert_same(v.index_select(0, [-1]).data, [3.0])
    assert_same(Value(X).take_along_axis(np.array([[-1], [-3]]), -1).data, [[2.0], [-0.25]])
    assert_same(grad_of(lambda a: a.take([-1, 2, 0]), [1.0, 2.0, 3.0], [1.0, 2.0, 3.0]),
                [3.0, 0.0, 3.0])


def test_take_flattened_along_an_axis_and_at_a_zero_dimensional_index():
    assert_same(Value(X).take([[5, 0]]).data, [[3.0, 0.5]])
    out, (leaf,) = backprop(lambda a: a.take(np.array([[1, 1], [0, 2]]), axis=1), X)
    assert out.shape == (2, 2, 2)  # x.shape[:1] + index.shape + x.shape[2:]
    assert_same(leaf.grad, [[1.0, 2.0, 1.0], [1.0, 2.0, 1.0]])
    assert_same(Value(X).take(np.array(1), axis=0).data, X[1])  # a 0-d index drops the axis
    with pytest.raises(ShapeError, match="take"):
        Value(np.array(1.0)).take([0])


def test_torch_keywords_dim_and_the_take_along_dim_alias():
    x, s = Value(X), Value(Y)
    assert_same(x.index_select(dim=1, index=[1]).data, X[:, [1]])
    assert_same(x.index_add(dim=0, index=[1, 1], source=s).data, X + [[0, 0, 0], Y.sum(0)])
    assert_same(x.scatter_add(dim=0, index=[[1, 0, 1]], src=s).data,
                X + [[0, Y[0, 1], 0], [Y[0, 0], 0, Y[0, 2]]])
    assert_same(tg.take_along_dim(x, np.array([[1], [0]]), dim=1).data, [[X[0, 1]], [X[1, 0]]])
    assert tg.take_along_dim is tg.take_along_axis


def test_index_select_repeats_accumulate():
    assert_same(grad_of(lambda a: a.index_select(1, [2, 0, 2]), X, np.ones((2, 3))),
                [[1.0, 0.0, 2.0], [1.0, 0.0, 2.0]])


def test_take_along_axis_broadcasts_indices_and_its_gradient_sums_back():
    # a (1, 2) index against (2, 3): both rows pick columns [2, 0]
    out, (leaf,) = backprop(lambda a: a.take_along_axis(np.array([[2, 0]]), axis=1), X)
    assert_same(out.data, X[:, [2, 0]])
    assert_same(leaf.grad, [[1.0, 0.0, 1.0], [1.0, 0.0, 1.0]])
    # an input with one row against a (2, 2) index: the row is picked from twice
    pairs = np.array([[0, 1], [1, 1]])
    out, (leaf,) = backprop(lambda a: a.take_along_axis(pairs, axis=1), ROW[None])
    assert_same(out.data, [[2.0, -1.0], [-1.0, -1.0]])
    assert_same(leaf.grad, [[1.0, 3.0, 0.0]])
    # axis None: a 1-D index into the flattened input
    assert_same(Value(X).take_along_axis(np.array([4, 0]), axis=None).data, [1.0, 0.5])


def test_indices_may_be_lists_values_or_whole_floats_and_may_be_empty():
    index = Value(np.array([[2.0, 0.0]]))  # a Value holding whole numbers
    assert_same(Value(X).gather(1, index).data, [[2.0, 0.5]])
    for f, shape in [(lambda a: a.take([]), (0,)), (lambda a: a.index_select(0, []), (0, 3)),
                     (lambda a: a.gather(1, np.zeros((2, 0), int)), (2, 0)),
                     (lambda a: a.take_along_axis(np.zeros((2, 0), int), 1), (2, 0))]:
        out, (leaf,) = backprop(f, X, seed=np.ones(shape))
        assert out.shape == shape
        assert_same(leaf.grad, np.zeros_like(X))


def test_masks_in_getitem_select_and_route_the_gradient():
    out, (leaf,) = backprop(lambda a: a[COND], X, seed=np.array([1.0, 2.0, 3.0]))
    assert_same(out.data, X[COND])
    assert_same(leaf.grad, [[1.0, 0.0, 2.0], [0.0, 0.0, 3.0]])
    # a row mask on the first axis, and a mask from the data
    assert_same(Value(X)[np.array([False, True])].data, X[1:])
    out, (leaf,) = backprop(lambda a: a[X > 0] * 2.0, X)
    assert_same(out.data, 2 * X[X > 0])
    assert_same(leaf.grad, 2.0 * (X > 0))


def test_a_comparison_of_values_indexes_as_a_mask_as_in_numpy():
    # x[x > 0] with x a Value: the comparison's 0/1 Value is read as a boolean mask
    out, (leaf,) = backprop(lambda a: a[a > 0], X, seed=np.array([1.0, 2.0, 3.0, 4.0]))
    assert_same(out.data, X[X > 0])
    assert_same(leaf.grad, [[1.0, 0.0, 2.0], [0.0, 3.0, 4.0]])
    x = Value(X)
    assert_same(x[(x > 0).any(axis=1)].data, X)  # any/all give masks too
    # whole numbers in a Value are positions; 0/1 not made by a comparison are ambiguous
    assert_same(x[Value(np.array([1.0, 1.0, 0.0]))].data, X[[1, 1, 0]])
    with pytest.raises(InvalidIndexError, match=r"made by '\*'.*ambiguous as an index"):
        x[(x > 0) * 1.0]
    with pytest.raises(InvalidIndexError, match="no_grad.*ambiguous"), tg.no_grad():
        x[x > 0]  # not recorded under no_grad: refused rather than read as positions
    with pytest.raises(InvalidIndexError, match="whole numbers"):
        x[Value(np.array([0.5]))]


# ---- filling and adding at indices -------------------------------------------------------------
def test_masked_fill_by_hand_with_broadcasting_masks():
    # a row of the mask broadcasts over both rows; filled places get no gradient
    mask = np.array([True, False, True])
    out, (leaf,) = backprop(lambda a: a.masked_fill(mask, 7.0), X, seed=np.full((2, 3), 3.0))
    assert_same(out.data, np.where(mask, 7.0, X))
    assert_same(leaf.grad, [[0.0, 3.0, 0.0], [0.0, 3.0, 0.0]])
    x = Value(X)
    assert_same(x.masked_fill(x > 1, 0.0).data, np.where(X > 1, 0.0, X))  # a 0/1 Value
    # Python floats: the scalar path
    y = Value(2.0)
    filled = y.masked_fill(1.0, -1.0)
    assert filled.data == -1.0 and type(filled.data) is float
    assert y.masked_fill(0.0, -1.0).data == 2.0


def test_masked_fill_with_minus_infinity_before_a_softmax():
    # attention-style masking: the masked logits get probability 0 and no gradient
    mask = np.array([[False, True, False], [False, False, True]])
    x = Value(X)
    p = x.masked_fill(mask, -np.inf).softmax(axis=-1)
    assert_same(p.data[mask], [0.0, 0.0])
    (p * Value(Y, requires_grad=False)).sum().backward()
    assert np.isfinite(x.grad).all()
    assert_same(x.grad[mask], [0.0, 0.0])


def test_index_add_with_repeated_indices_and_alpha():
    # x + alpha * source[i] at index[i]: position 0 gets source[0] + source[1]
    x, source = Value(np.zeros(3)), Value([1.0, 2.0, 3.0])
    out = x.index_add(0, [0, 0, 2], source, alpha=2.0)
    assert_same(out.data, [6.0, 0.0, 6.0])
    out.backward(np.array([1.0, 10.0, 100.0]))
    assert_same(x.grad, [1.0, 10.0, 100.0])  # d out / d x is the identity
    assert_same(source.grad, [2.0, 2.0, 200.0])  # alpha * seed[index]
    with pytest.raises(ShapeError, match=r"index_add: a source of shape \(2, 2\)"):
        Value(X).index_add(1, [0, 1, 2], np.ones((2, 2)))


def test_scatter_add_sends_gradients_to_x_and_src():
    # torch's rule along dim 1: out[i, index[i, j]] += src[i, j], for j < index's width
    x, src = Value(np.zeros((2, 3))), Value(Y)
    out = x.scatter_add(1, SCATTER_INDEX, src)
    assert_same(out.data, [[Y[0, 0] + Y[0, 1], 0.0, 0.0], [0.0, Y[1, 1], Y[1, 0]]])
    seed = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    out.backward(seed)
    assert_same(x.grad, seed)
    # src[i, j] gets seed[i, index[i, j]]; its third column is not scattered: no gradient
    assert_same(src.grad, [[1.0, 1.0, 0.0], [6.0, 5.0, 0.0]])


def test_gather_and_scatter_add_are_adjoint():
    # <gather(x), s> == <x, scatter_add(0, index, s)> for any x, s: the two VJPs in one identity
    rng = np.random.default_rng(1)
    x, index = rng.normal(size=(3, 4)), rng.integers(0, 3, (5, 4))
    s = rng.normal(size=(5, 4))
    lhs = (tg.gather(Value(x), 0, index).data * s).sum()
    rhs = (x * tg.scatter_add(Value(np.zeros((3, 4))), 0, index, s).data).sum()
    assert lhs == pytest.approx(rhs, rel=1e-12)


# ---- errors ------------------------------------------------------------------------------------
@pytest.mark.parametrize("f, message", [
    (lambda x: x.gather(1, [[0, 3], [1, 1]]),
     "gather: index 3 is out of range for axis 1 of length 3"),
    (lambda x: x.take([6]), "take: index 6 is out of range for the flattened input of length 6"),
    (lambda x: x.index_select(0, [-3]),
     "index_select: index -3 is out of range for axis 0 of length 2"),
    (lambda x: x.take_along_axis(np.array([[9]]), 0), "take_along_axis: index 9 is out of range"),
    (lambda x: x.index_add(0, [2], np.ones((1, 3))), "index_add: index 2 is out of range"),
    (lambda x: x.scatter_add(0, [[5]], np.ones((1, 1))), "scatter_add: index 5 is out of range"),
    (lambda x: x.take([0.5]), "take: indices must be whole numbers"),
    (lambda x: x.gather(0, COND), "gather: indices must be integers"),
])
def test_bad_indices_raise_invalid_index_error_naming_the_op(f, message):
    with pytest.raises(InvalidIndexError, match=message):
        f(Value(X))


@pytest.mark.parametrize("f, message", [
    (lambda x: x.gather(0, [1, 0]),
     r"gather: an index of shape \(2,\) for an input of shape \(2, 3\)"),
    (lambda x: x.gather(0, [[1, 0, 1, 0]]), r"gather: an index of shape \(1, 4\)"),
    (lambda x: x.take_along_axis(np.zeros((2, 2), int), 0),
     r"take_along_axis: indices of shape \(2, 2\) do not broadcast"),
    (lambda x: x.take_along_axis(np.zeros(2, int), 0), r"take_along_axis: indices of shape \(2,\)"),
    (lambda x: x.index_select(2, [0]),
     r"index_select: axis 2 is out of bounds for an input of shape \(2, 3\)"),
    (lambda x: x.index_select(0, [[0]]), "index_select: the index must be 1-D"),
    (lambda x: x.scatter_add(1, [[0, 1]], np.ones((1, 1))),
     r"scatter_add: an index of shape \(1, 2\) and a src of shape \(1, 1\)"),
    (lambda x: x.triu(), r"triu: needs a matrix.*\(3,\)"),
])
def test_shape_mismatches_raise_shape_error_naming_the_shapes(f, message):
    x = Value(ROW) if "triu" in message else Value(X)
    with pytest.raises(ShapeError, match=message):
        f(x)


# ---- float32, and second order -------------------------------------------------------------------
def test_float32_stays_float32_through_gathers_and_scatters():
    x = Value(X, dtype=np.float32)
    src = Value(Y, dtype=np.float32)
    out = (x.gather(1, GATHER_INDEX).sum() + x.scatter_add(1, SCATTER_INDEX, src).sort(0).sum()
           + x.diff().sum() + x.masked_fill(COND, 2.0).sum())
    assert out.dtype == np.float32
    out.backward()
    assert x.grad.dtype == np.float32 and src.grad.dtype == np.float32


SECOND_ORDER = [
    pytest.param(lambda x: x.gather(1, GATHER_INDEX) ** 2, (X,), id="gather"),
    pytest.param(lambda x: x.take([[5, 0], [0, -1]]) ** 2, (X,), id="take"),
    pytest.param(lambda x: x.index_select(0, [1, 1]) ** 3, (X,), id="index_select"),
    pytest.param(lambda x: x.take_along_axis(np.array([[2, 2]]), 1) ** 2, (X,),
                 id="take_along_axis"),
    pytest.param(lambda x, s: x.scatter_add(1, SCATTER_INDEX, s) ** 2, (X, Y), id="scatter_add"),
    pytest.param(lambda x, s: x.index_add(1, [0, 0, 1], s, alpha=0.5) ** 2, (X, Y), id="index_add"),
    pytest.param(lambda x: x.sort(axis=0, descending=True) ** 3, (CUBE,), id="sort"),
    pytest.param(lambda x: x.diff(2, axis=-1) ** 2, (X,), id="diff"),
    pytest.param(lambda x: x.diagonal(1, 2, 0).tanh(), (CUBE,), id="diagonal"),
    pytest.param(lambda x: x.diag(-1).exp(), (ROW,), id="diag"),
    pytest.param(lambda x: x.tril(-1) * x.triu(), (CUBE[:, :2, :2],), id="tril-triu"),
    pytest.param(lambda x: x.masked_fill(COND, 0.0) ** 3, (X,), id="masked_fill"),
]


@pytest.mark.parametrize("f, inputs", SECOND_ORDER)
def test_first_and_second_derivatives(f, inputs):
    assert gradcheck(f, *inputs)
    assert gradgradcheck(f, *inputs)


def test_hessian_of_a_gather_counts_the_repeats():
    # f(x) = sum(gather(x)^2) = sum_j c_j x_j^2 where c_j counts how often x_j is picked:
    # the Hessian is diag(2 c)
    index = np.array([0, 0, 2, 0])
    h = tg.func.hessian(lambda x: (x.gather(0, index) ** 2).sum())(np.array([1.0, -2.0, 0.5]))
    assert_same(np.asarray(h.data if isinstance(h, Value) else h), np.diag([6.0, 0.0, 2.0]))


def test_descending_sort_with_ties_agrees_with_torch():
    torch = pytest.importorskip("torch")
    data = np.array([[1.0, 3.0, 1.0, 3.0, 0.0], [2.0, 2.0, 2.0, -1.0, 2.0]])
    seed = np.arange(10.0).reshape(2, 5)
    for descending in (False, True):
        out, (leaf,) = backprop(lambda v: v.sort(axis=-1, descending=descending), data, seed=seed)
        t = torch.tensor(data, requires_grad=True)
        reference = torch.sort(t, dim=-1, descending=descending, stable=True).values
        reference.backward(torch.tensor(seed))
        assert_same(out.data, reference.detach().numpy())
        assert_same(leaf.grad, t.grad.numpy())
        order = tg.argsort(Value(data), axis=-1, descending=descending).data
        reference_order = torch.argsort(t, dim=-1, descending=descending, stable=True)
        assert_same(order, reference_order.double().numpy())
