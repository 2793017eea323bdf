"""The linear algebra (tinygrad_nn/ops/linalg.py): reference rows, PyTorch spellings and hand-worked cases."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import tinygrad_nn as tg
from opcase import ROW, WEIGHTS, X, Y, OpCase, assert_same, backprop
from tinygrad_nn import ShapeError, UnsupportedTypeError, Value, func
from tinygrad_nn.gradcheck import gradcheck, gradgradcheck

BATCH_A = np.stack([X, Y])                    # (2, 2, 3)
BATCH_B = np.stack([WEIGHTS.T, -WEIGHTS.T])   # (2, 3, 4)

# rows of test_ops_values.REFERENCES: each op's numpy reference, inputs inside its domain
REFERENCES: list[OpCase] = [
    OpCase("einsum", lambda a, b: tg.einsum("ij,kj->ik", a, b),
           lambda a, b: np.einsum("ij,kj->ik", a, b), (X, Y)),
    OpCase("dot", tg.dot, np.dot, (X, BATCH_B)),
    OpCase("vdot", tg.vdot, np.vdot, (X, Y.T)),
    OpCase("inner", tg.inner, np.inner, (X, Y)),
    OpCase("outer", tg.outer, np.outer, (X, ROW)),
    OpCase("tensordot", lambda a, b: tg.tensordot(a, b, axes=([0], [0])),
           lambda a, b: np.tensordot(a, b, axes=([0], [0])), (X, Y)),
    OpCase("kron", tg.kron, np.kron, (X, ROW)),
    OpCase("cross", tg.cross, np.cross, (X, Y)),
    OpCase("mm", tg.mm, np.matmul, (X, WEIGHTS.T)),
    OpCase("bmm", tg.bmm, np.matmul, (BATCH_A, BATCH_B)),
    OpCase("mv", tg.mv, np.matmul, (X, ROW)),
]


def torch_spellings(torch: Any, F: Any) -> dict:
    """Each op of this group (by its name in tinygrad_nn.testing.OPS) spelled in torch."""
    def dot(a: Any, b: Any) -> Any:  # numpy's dot, from torch's tensordot
        if a.ndim == 0 or b.ndim == 0:
            return a * b
        return torch.tensordot(a, b, dims=([a.ndim - 1], [0 if b.ndim == 1 else b.ndim - 2]))

    def tensordot(a: Any, b: Any, *, axes: Any) -> Any:
        return torch.tensordot(a, b, dims=axes if isinstance(axes, int) else
                               (list(axes[0]), list(axes[1])))
    return {
        "einsum": lambda *ts, subscripts: torch.einsum(subscripts, *ts),
        "dot": dot,
        "vdot": lambda a, b: torch.vdot(a.reshape(-1), b.reshape(-1)),
        "inner": torch.inner,
        "outer": lambda a, b: torch.outer(a.reshape(-1), b.reshape(-1)),
        "tensordot": tensordot,
        "kron": torch.kron,
        "cross": lambda a, b, *, axis: torch.linalg.cross(a, b, dim=axis),
        "mm": torch.mm,
        "bmm": torch.bmm,
        "mv": torch.mv,
    }


def _normal(*shape: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed + len(shape)).normal(size=shape)


# ---- einsum, by hand -------------------------------------------------------------------------
def test_einsum_trace_has_the_identity_as_gradient():
    # 'ii' sums the diagonal: 1 + 4 = 5; d/dA[i, j] = 1 if i == j else 0
    out, (a,) = backprop(lambda a: tg.einsum("ii", a), [[1.0, 2.0], [3.0, 4.0]])
    assert_same(out.data, 5.0)
    assert_same(a.grad, np.eye(2))
    assert out._op == "einsum" and len(out._prev) == 1  # one node


def test_einsum_diagonal_sends_the_seed_to_the_diagonal():
    # 'ii->i' is (A[0, 0], A[1, 1]) = (1, 4): seed (10, 20) lands on the diagonal only
    out, (a,) = backprop(lambda a: tg.einsum("ii->i", a), [[1.0, 2.0], [3.0, 4.0]],
                         seed=[10.0, 20.0])
    assert_same(out.data, [1.0, 4.0])
    assert_same(a.grad, [[10.0, 0.0], [0.0, 20.0]])


def test_einsum_diagonal_of_the_first_two_axes_summed_over_them():
    # 'iij->j' is sum_i A[i, i, j]: with seed s, d/dA[i, k, j] = s[j] where i == k
    a = _normal(2, 2, 3)
    out, (leaf,) = backprop(lambda x: tg.einsum("iij->j", x), a, seed=[1.0, -2.0, 3.0])
    assert_same(out.data, a[0, 0] + a[1, 1])
    expected = np.zeros((2, 2, 3))
    expected[0, 0] = expected[1, 1] = [1.0, -2.0, 3.0]
    assert_same(leaf.grad, expected)


def test_einsum_inner_product_of_vectors():
    # 'i,i->' is 4 + 10 + 18 = 32; each vector's gradient is the other
    out, (a, b) = backprop(lambda a, b: tg.einsum("i,i->", a, b), [1.0, 2.0, 3.0], [4.0, 5.0, 6.0])
    assert_same(out.data, 32.0)
    assert_same(a.grad, [4.0, 5.0, 6.0])
    assert_same(b.grad, [1.0, 2.0, 3.0])


@pytest.mark.parametrize("subscripts, a_shape, b_shape", [
    ("ij,jk->ik", (2, 3), (3, 4)),
    ("ij,jk", (2, 3), (3, 4)),                       # implicit: the same
    ("...ij,...jk->...ik", (2, 1, 2, 3), (4, 3, 2)),  # batch axes broadcast, as for @
    ("bij,bjk->bik", (2, 2, 3), (2, 3, 4)),
])
def test_einsum_matrix_products_equal_matmul(subscripts: str, a_shape: tuple, b_shape: tuple):
    A, B = _normal(*a_shape), _normal(*b_shape, seed=1)
    seed = _normal(*np.broadcast_shapes(a_shape[:-2], b_shape[:-2]), a_shape[-2], b_shape[-1],
                   seed=2)
    out, (a, b) = backprop(lambda a, b: tg.einsum(subscripts, a, b), A, B, seed=seed)
    ref, (ra, rb) = backprop(lambda a, b: a @ b, A, B, seed=seed)
    assert_same(out.data, ref.data)
    assert_same(a.grad, ra.grad)
    assert_same(b.grad, rb.grad)


def test_einsum_label_summed_in_one_operand_only():
    # 'ij,k->k' is sum(A) * b = 10 * b: d/db = 10 * seed, d/dA[i, j] = sum_k seed_k b_k = 1*1 - 2*2
    out, (a, b) = backprop(lambda a, b: tg.einsum("ij,k->k", a, b), [[1.0, 2.0], [3.0, 4.0]],
                           [1.0, 2.0], seed=[1.0, -2.0])
    assert_same(out.data, [10.0, 20.0])
    assert_same(a.grad, np.full((2, 2), -3.0))
    assert_same(b.grad, [10.0, -20.0])


def test_einsum_single_operand_transpose_and_sum():
    a = _normal(2, 3)
    out, (leaf,) = backprop(lambda x: tg.einsum("ij->ji", x), a, seed=a.T * 2)
    assert_same(out.data, a.T)
    assert_same(leaf.grad, a * 2)
    out, (leaf,) = backprop(lambda x: tg.einsum("ij->", x), a)
    assert_same(out.data, a.sum())
    assert_same(leaf.grad, np.ones((2, 3)))


def test_einsum_implicit_output_is_sorted_with_upper_case_first():
    a = _normal(2, 3)
    assert_same(tg.einsum("ba", a).data, a.T)      # output 'ab'
    assert_same(tg.einsum("bA", a).data, a.T)      # output 'Ab': upper case sorts first
    assert_same(tg.einsum("Ba", a).data, a)
    assert_same(tg.einsum("i...i", _normal(2, 4, 2)).data, np.einsum("i...i", _normal(2, 4, 2)))


def test_einsum_size_one_axis_broadcasts_and_its_gradient_sums():
    # 'i,i->i' of a (1,) and a (3,): out = a0 * b; d/da0 = sum(seed * b), d/db = a0 * seed
    out, (a, b) = backprop(lambda a, b: tg.einsum("i,i->i", a, b), [2.0], [1.0, 2.0, 3.0],
                           seed=[1.0, 1.0, -1.0])
    assert_same(out.data, [2.0, 4.0, 6.0])
    assert_same(a.grad, [0.0])
    assert_same(b.grad, [2.0, 2.0, -2.0])


def test_einsum_ellipsis_with_fewer_dimensions_in_one_operand():
    # '...i,i->...' : b (3,) is shared by every row of A (2, 2, 3); d/db sums over the batch
    A, b = _normal(2, 2, 3), np.array([1.0, -1.0, 2.0])
    out, (a, leaf) = backprop(lambda a, b: tg.einsum("...i,i->...", a, b), A, b)
    assert_same(out.data, A @ b)
    assert_same(a.grad, np.broadcast_to(b, A.shape))
    assert_same(leaf.grad, A.sum(axis=(0, 1)))


def test_einsum_zero_dimensional_and_empty_operands():
    out, (s, v) = backprop(lambda s, v: tg.einsum(",i->i", s, v), 2.0, [1.0, 3.0])
    assert_same(out.data, [2.0, 6.0])
    assert_same(s.grad, np.array(4.0))
    assert_same(v.grad, [2.0, 2.0])
    # an empty contraction is zero, and so are the gradients
    def product(a: Value, b: Value) -> Value:
        return tg.einsum("ij,jk->ik", a, b)
    out, (a, b) = backprop(product, np.ones((2, 0)), np.ones((0, 3)))
    assert_same(out.data, np.zeros((2, 3)))
    assert a.grad.shape == (2, 0) and b.grad.shape == (0, 3)
    out, (a, b) = backprop(product, np.ones((0, 2)), np.ones((2, 3)))
    assert out.shape == (0, 3)
    assert_same(b.grad, np.zeros((2, 3)))


def test_einsum_keeps_float32_through_its_identity_and_ones_constants():
    a = Value(np.arange(12.0).reshape(2, 2, 3), dtype=np.float32)
    for subscripts in ("iij->j", "ijk->", "iij,k->k"):
        extra = [Value(np.ones(2), dtype=np.float32)] if "," in subscripts else []
        out = tg.einsum(subscripts, a, *extra)
        assert out.dtype == np.float32
        out.sum().backward()
        assert a.grad.dtype == np.float32
        (g,) = tg.grad(tg.einsum(subscripts, a, *extra).sum(), a, create_graph=True)
        assert g.dtype == np.float32


EINSUM_CASES = [
    ("ij,jk->ik", (2, 3), (3, 4)), ("ii", (3, 3)), ("ii->i", (3, 3)), ("iij->j", (2, 2, 3)),
    ("i,i->", (3,), (3,)), ("ij->ji", (2, 3)), ("ij->", (2, 3)), ("ij,jk->k", (2, 3), (3, 4)),
    ("...ij,...jk->...ik", (2, 1, 2, 3), (4, 3, 2)), ("i,i->i", (1,), (3,)), ("bA", (2, 3)),
    ("aB,Bc", (2, 3), (3, 4)), ("ij...,jk...", (2, 3, 4), (3, 5, 1)),
    ("...,...->...", (2, 1), (3,)),
    ("iii->i", (2, 2, 2)), ("ij,jk,kl->il", (2, 3), (3, 2), (2, 2)), ("i,j", (2,), (3,)),
    ("...ii->...i", (2, 3, 3)), ("ii,ij->j", (3, 3), (3, 2)), ("ijj->ij", (2, 3, 3)),
    ("i j -> j i", (2, 3)), (",i->i", (), (3,)), ("bhqd,bhkd->bhqk", (2, 2, 3, 4), (2, 2, 2, 4)),
]


@pytest.mark.parametrize("subscripts, shapes", [(c[0], c[1:]) for c in EINSUM_CASES],
                         ids=[c[0] for c in EINSUM_CASES])
def test_einsum_agrees_with_numpy_and_torch(subscripts: str, shapes: tuple):
    xs = [_normal(*shape, seed=k) for k, shape in enumerate(shapes)]
    out, leaves = backprop(lambda *vs: tg.einsum(subscripts, *vs), *xs)
    assert_same(out.data, np.einsum(subscripts, *xs))
    torch = pytest.importorskip("torch")
    ts = [torch.tensor(x, requires_grad=True) for x in xs]
    reference = torch.einsum(subscripts, *ts)
    reference.sum().backward()
    np.testing.assert_allclose(out.data, reference.detach().numpy(), rtol=1e-12, atol=1e-12)
    for leaf, t in zip(leaves, ts):
        np.testing.assert_allclose(leaf.grad, t.grad.numpy(), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("subscripts, shapes", [
    ("ii->i", [(3, 3)]), ("iij->j", [(2, 2, 3)]), ("iii", [(2, 2, 2)]),
    ("ii,ij->j", [(3, 3), (3, 2)]), ("ij,jk->ik", [(2, 3), (3, 2)]), ("...ii->...i", [(2, 2, 2)]),
    ("ij,k->k", [(2, 2), (3,)]), ("i,i->i", [(1,), (3,)]),
], ids=str)
def test_einsum_second_derivatives(subscripts: str, shapes: list):
    xs = [_normal(*shape, seed=k) for k, shape in enumerate(shapes)]
    assert gradgradcheck(lambda *vs: tg.einsum(subscripts, *vs), *xs)


def test_einsum_gradient_in_graph_mode_is_one_einsum_node():
    # d/dA of sum_i A[i, i] * w[i] ('ii,i->') is diag(w): an einsum of g, w and an identity
    a, w = Value(_normal(3, 3)), Value([1.0, 2.0, 3.0])
    (g,) = tg.grad(tg.einsum("ii,i->", a, w), a, create_graph=True)
    assert g._op == "einsum"
    assert_same(g.data, np.diag([1.0, 2.0, 3.0]))
    (dw,) = tg.grad(g.sum(), w)  # d/dw_i of sum(diag(w)) = 1
    assert_same(dw.data, np.ones(3))


def test_hessian_of_a_quadratic_form_written_as_einsum():
    # f(x) = x^T A x = einsum('i,ij,j->', x, A, x): its Hessian is A + A^T
    A = np.array([[1.0, 2.0], [0.0, 3.0]])
    hess = func.hessian(lambda x: tg.einsum("i,ij,j->", x, A, x))(np.array([0.5, -1.0]))
    assert_same(np.asarray(hess.data if isinstance(hess, Value) else hess), A + A.T)


@pytest.mark.parametrize("subscripts, shapes, message", [
    ("ij,jk->ik", [(2, 3), (4, 5)], "label 'j' has sizes 3 and 4"),
    ("ij,jk->ik", [(2, 3)], "name 2 operand"),
    ("ijk", [(2, 3)], "names 3 axes for an operand with 2"),
    ("ij->k", [(2, 3)], "output label 'k'"),
    ("ij->ii", [(2, 2)], "output label 'i' is repeated"),
    ("ii", [(2, 3)], "label 'i' is repeated in one operand with sizes 2 and 3"),
    ("...i->i", [(2, 3)], "drops the axes under '...'"),
    ("i->->i", [(2,)], "more than one '->'"),
    ("i1", [(2, 3)], "not a term of letters"),
    ("....i", [(2, 3)], "not a term of letters"),
])
def test_einsum_errors_name_the_op_the_subscripts_and_the_shapes(subscripts: str, shapes: list,
                                                                 message: str):
    with pytest.raises(ShapeError, match="einsum") as caught:
        tg.einsum(subscripts, *[np.ones(s) for s in shapes])
    text = str(caught.value)
    assert message in text and repr(subscripts) in text and str(shapes[0]) in text


def test_einsum_wants_the_subscripts_first():
    with pytest.raises(UnsupportedTypeError, match="einsum"):
        tg.einsum(np.ones(2), "i")  # type: ignore[arg-type]


# ---- numpy's products ----------------------------------------------------------------------
def test_dot_by_dimension():
    # 0-d: a product; 1-d . 1-d: 1*3 + 2*4 = 11; N-d . M-d: over a's last and b's second to last
    assert_same(tg.dot(Value(2.0), Value([1.0, 3.0])).data, [2.0, 6.0])
    out, (a, b) = backprop(tg.dot, [1.0, 2.0], [3.0, 4.0])
    assert_same(out.data, 11.0)
    assert_same(a.grad, [3.0, 4.0])
    A, B = _normal(2, 2, 3), _normal(4, 3, 2, seed=1)
    out, (a, b) = backprop(tg.dot, A, B)
    assert_same(out.data, np.dot(A, B))
    assert out._op == "einsum"  # one node
    # d/dA[i, j, k] = sum_lm B[l, k, m]; d/dB[l, k, m] = sum_ij A[i, j, k]
    assert_same(a.grad, np.broadcast_to(B.sum(axis=(0, 2)), A.shape))
    assert_same(b.grad, np.broadcast_to(A.sum(axis=(0, 1))[None, :, None], B.shape))
    assert_same(Value(A).dot(B).data, np.dot(A, B))


def test_dot_shape_error_names_dot_and_the_axes():
    with pytest.raises(ShapeError, match=r"dot: shapes \(2, 3\) and \(2, 3\) are not aligned"):
        tg.dot(np.ones((2, 3)), Value(np.ones((2, 3))))


def test_vdot_flattens_operands_of_equal_size():
    # sum over the flattened elements: x.flat . y.flat, gradients the other operand reshaped
    out, (a, b) = backprop(tg.vdot, X, Y.T)
    assert_same(out.data, np.vdot(X, Y.T))
    assert_same(a.grad, Y.T.reshape(X.shape))
    assert_same(b.grad, X.reshape(Y.T.shape))
    with pytest.raises(ShapeError, match="vdot"):
        tg.vdot(np.ones(3), np.ones(4))


def test_inner_sums_the_last_axes():
    # inner(A, B)[i, j] = sum_k A[i, k] B[j, k]: d/dA = seed @ B, d/dB = seed.T @ A
    seed = np.array([[1.0, 0.0], [2.0, -1.0]])
    out, (a, b) = backprop(tg.inner, X, Y, seed=seed)
    assert_same(out.data, X @ Y.T)
    assert_same(a.grad, seed @ Y)
    assert_same(b.grad, seed.T @ X)
    assert_same(tg.inner(Value(_normal(3)), _normal(2, 2, 3)).data,
                np.inner(_normal(3), _normal(2, 2, 3)))
    with pytest.raises(ShapeError, match="inner"):
        tg.inner(np.ones(3), np.ones(2))


def test_outer_of_flattened_operands():
    # out[i, j] = a.flat[i] * b[j]; for the sum: d/da = sum(b), d/db = sum(a)
    out, (a, b) = backprop(tg.outer, X, ROW)
    assert_same(out.data, np.outer(X, ROW))
    assert out.shape == (6, 3)
    assert_same(a.grad, np.full(X.shape, ROW.sum()))
    assert_same(b.grad, np.full(3, X.sum()))


@pytest.mark.parametrize("a_shape, b_shape, axes", [
    ((2, 3, 4), (3, 4, 2), 2), ((2, 3), (3, 2), 1), ((2,), (3,), 0),
    ((2, 3), (3, 4, 2), ([1, 0], [0, -1])), ((3, 2), (2, 3), ([-1], [0])), ((2, 3), (3,), (1, 0)),
], ids=str)
def test_tensordot_agrees_with_numpy(a_shape: tuple, b_shape: tuple, axes: Any):
    A, B = _normal(*a_shape), _normal(*b_shape, seed=1)
    out = tg.tensordot(Value(A), Value(B), axes=axes)
    assert_same(out.data, np.tensordot(A, B, axes=axes))
    assert gradcheck(lambda a, b: tg.tensordot(a, b, axes=axes), A, B)


@pytest.mark.parametrize("axes, message", [
    (3, "cannot sum over 3 axes"), (([0], [0]), "axis 0 has 2, axis 0 has 3"),
    (([0, 1], [0]), "paired with"), (([2], [0]), "out of bounds"), (([0, 0], [0, 1]), "repeat"),
])
def test_tensordot_errors_name_it(axes: Any, message: str):
    with pytest.raises(ShapeError, match="tensordot") as caught:
        tg.tensordot(np.ones((2, 3)), np.ones((3, 3)), axes=axes)
    assert message in str(caught.value)


def test_kron_blocks_by_hand():
    # kron([[1, 2]], [[1], [10]]) = [[1, 2], [10, 20]]; for the sum d/da_j = sum(b) = 11,
    # d/db_i = sum(a) = 3
    out, (a, b) = backprop(tg.kron, [[1.0, 2.0]], [[1.0], [10.0]])
    assert_same(out.data, [[1.0, 2.0], [10.0, 20.0]])
    assert_same(a.grad, [[11.0, 11.0]])
    assert_same(b.grad, [[3.0], [3.0]])
    for sa, sb in [((2, 3), (3,)), ((2,), (2, 2)), ((2, 1, 2), (3, 2)), ((), (2,))]:
        A, B = _normal(*sa), _normal(*sb, seed=1)
        assert_same(tg.kron(Value(A), B).data, np.kron(A, B))
        assert gradcheck(tg.kron, A, B)


def test_cross_of_basis_vectors_and_its_gradients():
    # e_x x e_y = e_z; for L = sum(w * (a x b)) = a . (b x w): dL/da = b x w, dL/db = w x a
    assert_same(tg.cross(Value([1.0, 0.0, 0.0]), [0.0, 1.0, 0.0]).data, [0.0, 0.0, 1.0])
    A, B, W = _normal(4, 3), _normal(4, 3, seed=1), _normal(4, 3, seed=2)
    out, (a, b) = backprop(tg.cross, A, B, seed=W)
    assert_same(out.data, np.cross(A, B))
    assert_same(a.grad, np.cross(B, W))
    assert_same(b.grad, np.cross(W, A))


def test_cross_along_another_axis_with_broadcasting():
    A, B = _normal(3, 2, 4), _normal(3, 1, 1, seed=1)
    for kw in ({"axis": 0}, {"dim": 0}, {"axis": -3}):
        assert_same(tg.cross(Value(A), B, **kw).data, np.cross(A, B, axis=0))
    assert_same(Value(A[:, 0].T).cross(B[:, 0, 0]).data, np.cross(A[:, 0].T, B[:, 0, 0]))
    assert gradcheck(lambda a, b: tg.cross(a, b, axis=0), A, B)
    assert gradgradcheck(lambda a, b: tg.cross(a, b, axis=0), A, B)


def test_cross_errors():
    with pytest.raises(ShapeError, match="cross: needs 3-vectors along axis -1"):
        tg.cross(np.ones(2), np.ones(2))
    with pytest.raises(ShapeError, match="cross: the other axes"):
        tg.cross(np.ones((2, 3)), np.ones((4, 3)))
    with pytest.raises(ShapeError, match="cross: axis 2 is out of bounds"):
        tg.cross(np.ones((3, 3)), np.ones((3, 3)), axis=2)


# ---- PyTorch's matrix products ------------------------------------------------------------
def test_mm_bmm_mv_are_matmul_with_stricter_shapes():
    for op, a, b in ((tg.mm, X, WEIGHTS.T), (tg.bmm, BATCH_A, BATCH_B), (tg.mv, X, ROW)):
        out, (va, vb) = backprop(op, a, b)
        ref, (ra, rb) = backprop(lambda a, b: a @ b, a, b)
        assert_same(out.data, ref.data)
        assert_same(va.grad, ra.grad)
        assert_same(vb.grad, rb.grad)
    assert_same(Value(X).mm(WEIGHTS.T).data, X @ WEIGHTS.T)
    with pytest.raises(ShapeError, match=r"mm: needs matrices .* got shapes \(2, 3\) and \(3,\)"):
        tg.mm(X, ROW)
    with pytest.raises(ShapeError, match="bmm"):
        tg.bmm(BATCH_A, BATCH_B[:1])  # no broadcasting of the batch
    with pytest.raises(ShapeError, match="mv"):
        tg.mv(X, X)


# ---- @ with broadcast batch axes, 1-D operands, and its errors ---------------------------------
def test_matmul_broadcasts_batch_axes_of_both_operands():
    # (2, 1, 2, 3) @ (3, 3, 2) -> (2, 3, 2, 2): A[i, 0] meets all 3 of B's matrices and B[j]
    # both of A's. For the sum: dA[i, 0, r, k] = sum_j sum_c B[j, k, c] and
    # dB[j, k, c] = sum_ir A[i, 0, r, k]
    A, B = _normal(2, 1, 2, 3), _normal(3, 3, 2, seed=1)
    out, (a, b) = backprop(lambda a, b: a @ b, A, B)
    assert out.shape == (2, 3, 2, 2)
    assert_same(a.grad, np.broadcast_to(B.sum(axis=(0, 2)), A.shape))
    assert_same(b.grad, np.broadcast_to(A.sum(axis=(0, 1, 2))[:, None], B.shape))


def test_matmul_of_a_vector_and_a_batch_by_hand():
    # [1, 2] @ [[[1, 0], [0, 1]], [[2, 0], [0, 2]]] = [[1, 2], [2, 4]]; for the sum:
    # d/dv_k = sum_b sum_c B[b, k, c] = (1 + 2, 1 + 2), d/dB[b, k, c] = v_k
    B = np.array([np.eye(2), 2 * np.eye(2)])
    out, (v, b) = backprop(lambda v, b: v @ b, [1.0, 2.0], B)
    assert_same(out.data, [[1.0, 2.0], [2.0, 4.0]])
    assert_same(v.grad, [3.0, 3.0])
    assert_same(b.grad, np.broadcast_to(np.array([1.0, 2.0])[:, None], B.shape))


@pytest.mark.parametrize("a_shape, b_shape, message", [
    ((), (3,), "at least one dimension"),
    ((2, 3), (2, 3), "do not line up: 3"),
    ((3,), (2,), "do not line up"),
    ((2, 2, 3), (3, 3, 2), "@"),  # batch axes 2 and 3 do not broadcast
])
def test_matmul_shape_errors(a_shape: tuple, b_shape: tuple, message: str):
    with pytest.raises(ShapeError, match="@") as caught:
        Value(np.ones(a_shape)) @ Value(np.ones(b_shape))
    assert message in str(caught.value)
