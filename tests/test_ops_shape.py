"""The shape ops (tinygrad_nn/ops/shape.py): reference rows, PyTorch spellings and hand-worked cases.

A shape op only moves, copies or drops elements, so its VJP is the adjoint of that move: the
inverse move (flip again, roll back, swap back), or a sum over the copies (broadcast_to, repeat,
tile, pad's reflect and edge modes). The hand-worked cases below write that adjoint out element
by element with a non-uniform seed w, so that a gradient sent to the wrong place shows.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import tinygrad_nn as tg
from opcase import ROW, X, Y, OpCase, assert_same, backprop
from tinygrad_nn import ShapeError, Value, func
from tinygrad_nn.gradcheck import gradcheck, gradgradcheck

X3 = np.stack([X, Y])  # (2, 2, 3), no two elements equal
COLUMN = X[:, :1]      # (2, 1)

# rows of test_ops_values.REFERENCES: each op's numpy reference, inputs inside its domain
REFERENCES: list[OpCase] = [
    OpCase("squeeze", lambda a: a.squeeze(1), lambda a: np.squeeze(a, 1), (X[:, None],)),
    OpCase("unsqueeze", lambda a: a.unsqueeze(-1), lambda a: np.expand_dims(a, -1), (X,)),
    OpCase("flatten", lambda a: a.flatten(1), lambda a: a.reshape(2, 6), (X3,)),
    OpCase("ravel", tg.ravel, np.ravel, (X3,)),
    OpCase("unflatten", lambda a: a.unflatten(-1, (2, -1)), lambda a: a.reshape(2, 2, 3), (X3.reshape(2, 6),)),
    OpCase("broadcast_to", lambda a: a.broadcast_to((4, 2, 3)),
           lambda a: np.broadcast_to(a, (4, 2, 3)), (ROW,)),
    OpCase("expand", lambda a: a.expand(3, -1, 4), lambda a: np.broadcast_to(a, (3, 2, 4)),
           (COLUMN,)),
    OpCase("swapaxes", lambda a: a.swapaxes(0, -1), lambda a: np.swapaxes(a, 0, -1), (X3,)),
    OpCase("moveaxis", lambda a: a.moveaxis(0, -1), lambda a: np.moveaxis(a, 0, -1), (X3,)),
    OpCase("permute", lambda a: a.permute(1, 2, 0), lambda a: np.transpose(a, (1, 2, 0)), (X3,)),
    OpCase("flip", lambda a: a.flip((0, -1)), lambda a: np.flip(a, (0, -1)), (X3,)),
    OpCase("fliplr", tg.fliplr, np.fliplr, (X,)),
    OpCase("flipud", tg.flipud, np.flipud, (X,)),
    OpCase("rot90", lambda a: a.rot90(), np.rot90, (X,)),
    OpCase("roll", lambda a: a.roll((1, -1), axis=(0, 1)),
           lambda a: np.roll(a, (1, -1), axis=(0, 1)), (X,)),
    OpCase("pad", lambda a: a.pad(((1, 0), (-1, 2)), constant_values=0.5),
           lambda a: np.pad(a[:, 1:], ((1, 0), (0, 2)), constant_values=0.5), (X,)),
    OpCase("repeat", lambda a: a.repeat([1, 0, 2], axis=1),
           lambda a: np.repeat(a, [1, 0, 2], axis=1), (X,)),
    OpCase("tile", lambda a: a.tile(2, 1, 2), lambda a: np.tile(a, (2, 1, 2)), (X,)),
]


def _pairs(pad_width: Any, ndim: int) -> list:
    """numpy's pad_width forms as one (before, after) per axis (an independent reading)."""
    widths = np.asarray(pad_width)
    if widths.size == 1:
        return [(int(widths.reshape(())),) * 2] * ndim
    if widths.size == 2:
        return [tuple(int(w) for w in widths.reshape(2))] * ndim
    return [tuple(int(w) for w in pair) for pair in widths]


def _source(n: int, before: int, after: int, mode: str) -> np.ndarray:
    """Where each position of an axis of length n padded by (before, after) comes from:
    edge repeats the border, reflect bounces off it (period 2 (n - 1), the border not twice)."""
    p = np.arange(-before, n + after)
    if mode == "edge" or n == 1:
        return np.clip(p, 0, n - 1)
    q = np.mod(p, 2 * (n - 1))
    return np.where(q < n, q, 2 * (n - 1) - q)


def torch_spellings(torch: Any, F: Any) -> dict:
    """Each op of this group (by its name in tinygrad_nn.testing.OPS) spelled in torch."""
    def squeeze(t: Any, *, axis: Any) -> Any:
        return t.squeeze() if axis is None else t.squeeze(axis)

    def unsqueeze(t: Any, *, axis: Any) -> Any:
        axes = axis if isinstance(axis, tuple) else (axis,)
        ndim = t.ndim + len(axes)
        for a in sorted(a % ndim for a in axes):  # in increasing order: each lands where asked
            t = t.unsqueeze(a)
        return t

    def flip(t: Any, *, axis: Any) -> Any:
        dims = tuple(range(t.ndim)) if axis is None else axis if isinstance(axis, tuple) else (axis,)
        return torch.flip(t, dims)

    def roll(t: Any, *, shift: Any, axis: Any) -> Any:
        return torch.roll(t, shift) if axis is None else torch.roll(t, shift, axis)

    def pad(t: Any, *, pad_width: Any, mode: str, constant_values: float) -> Any:
        pairs = _pairs(pad_width, t.ndim)
        if mode == "constant":  # F.pad lists the last axis first; negative widths crop
            flat = [w for pair in reversed(pairs) for w in pair]
            return F.pad(t, flat, value=constant_values)
        for k, (before, after) in enumerate(pairs):  # crop, then gather along each axis
            n = t.shape[k]
            start, stop = max(-before, 0), n - max(-after, 0)
            source = start + _source(stop - start, max(before, 0), max(after, 0), mode)
            t = t.index_select(k, torch.as_tensor(source))
        return t

    def repeat(t: Any, *, repeats: Any, axis: Any) -> Any:
        counts = repeats if isinstance(repeats, int) else torch.as_tensor(np.asarray(repeats))
        return torch.repeat_interleave(t, counts, dim=axis)

    def tile(t: Any, *, reps: Any) -> Any:
        return t.tile(reps if isinstance(reps, tuple) else (reps,))

    def new_node(spelling: Any) -> Any:
        """torch returns the input itself for some moves that change nothing (flatten of one
        axis): a node of its own then, so that its gradient is its own, as ours is."""
        def spelt(t: Any, **kw: Any) -> Any:
            out = spelling(t, **kw)
            return out.view_as(out) if out is t else out
        return spelt

    return {name: new_node(spelling) for name, spelling in {
        "squeeze": squeeze,
        "unsqueeze": unsqueeze,
        "flatten": lambda t, *, start_dim, end_dim: torch.flatten(t, start_dim, end_dim),
        "ravel": torch.ravel,
        "unflatten": lambda t, *, axis, sizes: t.unflatten(axis, sizes),
        "broadcast_to": lambda t, *, shape: torch.broadcast_to(t, shape),
        "expand": lambda t, *, sizes: t.expand(sizes),
        "swapaxes": lambda t, *, axis1, axis2: torch.swapaxes(t, axis1, axis2),
        "moveaxis": lambda t, *, source, destination: torch.moveaxis(t, source, destination),
        "permute": lambda t, *, dims: t.permute(dims),
        "flip": flip,
        "fliplr": torch.fliplr,
        "flipud": torch.flipud,
        "rot90": lambda t, *, k, axes: torch.rot90(t, k, axes),
        "roll": roll,
        "pad": pad,
        "repeat": repeat,
        "tile": tile,
    }.items()}


W = np.array([1.0, 10.0, 100.0, 1000.0, 1e4, 1e5])  # a seed whose sums say which copies added up


def grad_at(f: Any, x: Any, seed: Any) -> np.ndarray:
    """The gradient of sum(seed * f(x)) with respect to x."""
    _, (leaf,) = backprop(f, x, seed=np.asarray(seed, dtype=float))
    return leaf.grad


# ---- adding and removing axes of length 1 ---------------------------------------------------------
def test_squeeze_removes_axes_of_length_one_and_its_gradient_takes_their_shape_back():
    x = np.arange(6.0).reshape(1, 2, 1, 3)
    assert tg.squeeze(x).shape == (2, 3)
    assert tg.squeeze(x, (0, -2)).shape == (2, 3)
    assert tg.squeeze(x, -4).shape == (2, 1, 3)
    assert tg.squeeze(x, ()).shape == x.shape
    seed = np.arange(6.0).reshape(2, 1, 3) + 1
    assert_same(grad_at(lambda v: v.squeeze(0), x, seed), seed.reshape(1, 2, 1, 3))


def test_squeeze_errors_name_the_op_the_axis_and_the_shape():
    x = Value(np.zeros((1, 2, 1)))
    with pytest.raises(ShapeError, match=r"squeeze: axis 1 has length 2.*\(1, 2, 1\)"):
        x.squeeze(1)
    with pytest.raises(ShapeError, match="squeeze: axis 3 is out of range"):
        x.squeeze(3)
    with pytest.raises(ShapeError, match="squeeze: axis .* names an axis twice"):
        x.squeeze((0, -3))


def test_unsqueeze_counts_positions_in_the_result_as_torch_and_numpy_do():
    x = Value(np.zeros((2, 3)))
    assert x.unsqueeze(0).shape == (1, 2, 3)
    assert x.unsqueeze(-1).shape == (2, 3, 1)  # -1 appends
    assert x.unsqueeze(-2).shape == (2, 1, 3)
    assert x.unsqueeze(dim=1).shape == (2, 1, 3)  # torch's keyword
    assert x.expand_dims((0, 3)).shape == (1, 2, 3, 1)
    assert tg.expand_dims is tg.unsqueeze and x.expand_dims(0)._op == "unsqueeze"
    assert Value(2.0).unsqueeze(0).shape == (1,)
    with pytest.raises(ShapeError, match="unsqueeze: axis 3 is out of range"):
        x.unsqueeze(3)
    with pytest.raises(ShapeError, match="unsqueeze: .* names an axis twice"):
        x.unsqueeze((1, -3))


def test_squeeze_of_unsqueeze_is_the_identity_to_second_order():
    x = np.array([[0.3, -1.2, 2.0]])
    assert gradgradcheck(lambda v: (v.unsqueeze(1).squeeze(1) ** 3).sum(), x)


def test_flatten_merges_start_dim_to_end_dim_as_torch_does():
    x = np.arange(24.0).reshape(2, 3, 4)
    assert tg.flatten(x).shape == (24,)
    assert tg.flatten(x, 1).shape == (2, 12)
    assert tg.flatten(x, 0, 1).shape == (6, 4)
    assert tg.flatten(x, -2, -1).shape == (2, 12)
    assert tg.flatten(x, 1, 1).shape == (2, 3, 4)
    assert tg.flatten(np.array(5.0)).shape == (1,)  # a 0-d input becomes 1-d, as in torch
    assert tg.ravel(np.zeros((0, 3))).shape == (0,)
    assert_same(tg.ravel(x).data, np.ravel(x))
    seed = np.arange(24.0).reshape(2, 12)
    assert_same(grad_at(lambda v: v.flatten(1), x, seed), seed.reshape(2, 3, 4))
    with pytest.raises(ShapeError, match="flatten: start_dim 2 comes after end_dim 1"):
        tg.flatten(x, 2, 1)
    with pytest.raises(ShapeError, match="flatten: end_dim 3 is out of range"):
        tg.flatten(x, 0, 3)


def test_view_is_reshape_under_torch_s_name():
    x = Value(np.arange(6.0))
    y = x.view(2, 3)
    assert y._op == "reshape" and y.shape == (2, 3)
    assert x.view((3, -1)).shape == (3, 2)


# ---- broadcasting: the gradient sums over the copies ------------------------------------------------
def test_broadcast_to_sums_the_gradient_over_the_copies_by_hand():
    # y[i, j, k] = x[j, 0] for y of shape (2, 3, 4): dL/dx[j] = sum over i and k of w[i, j, k]
    x = np.array([[1.0], [2.0], [3.0]])
    w = np.arange(24.0).reshape(2, 3, 4)
    assert_same(grad_at(lambda v: v.broadcast_to((2, 3, 4)), x, w), w.sum(axis=(0, 2))[:, None])
    assert_same(tg.broadcast_to(x, (2, 3, 4)).data, np.broadcast_to(x, (2, 3, 4)))
    g = grad_at(lambda v: v.broadcast_to((2, 3)), np.float32([1.0, 2.0, 3.0]), np.ones((2, 3)))
    assert g.dtype == np.float32 and (g == 2).all()  # two rows of copies, each seeded with 1


def test_broadcast_to_of_a_python_float_and_its_gradient():
    x = Value(1.5)
    y = x.broadcast_to((2, 3))
    assert y.shape == (2, 3)
    (y * np.arange(6.0).reshape(2, 3)).sum().backward()
    assert type(x.grad) is float and x.grad == 15.0  # 0 + 1 + ... + 5


def test_expand_keeps_sizes_written_minus_one_and_adds_leading_axes():
    x = np.array([[1.0], [2.0]])  # (2, 1)
    assert tg.expand(x, -1, 3).shape == (2, 3)
    assert tg.expand(x, (4, 2, 3)).shape == (4, 2, 3)
    assert Value(x).expand(4, -1, -1).shape == (4, 2, 1)
    w = np.arange(12.0).reshape(2, 2, 3)
    assert_same(grad_at(lambda v: v.expand(2, -1, 3), x, w), w.sum(axis=(0, 2))[:, None])
    with pytest.raises(ShapeError, match=r"expand: .*\(2, 1\) cannot be expanded to \(3, 3\)"):
        tg.expand(x, 3, 3)
    with pytest.raises(ShapeError, match="expand: .* -1 on a new leading axis"):
        tg.expand(x, -1, 2, 1)
    with pytest.raises(ShapeError, match="expand: 1 size"):
        tg.expand(x, 2)
    with pytest.raises(ShapeError, match=r"broadcast_to: .*\(2, 1\) cannot be broadcast to"):
        tg.broadcast_to(x, (3, 1))


# ---- reordering axes: the gradient moves back ------------------------------------------------------
def test_swapaxes_moveaxis_and_permute_send_the_gradient_back_by_the_inverse_move():
    x = np.arange(24.0).reshape(2, 3, 4)
    w = np.random.default_rng(1).normal(size=(4, 3, 2))
    # y = x with axes 0 and 2 swapped: dL/dx[i, j, k] = w[k, j, i]
    assert_same(grad_at(lambda v: v.swapaxes(0, 2), x, w), np.swapaxes(w, 0, 2))
    assert_same(grad_at(lambda v: v.swapdims(-1, 0), x, w), np.swapaxes(w, 0, 2))
    # y[j, k, i] = x[i, j, k] (axis 0 moved last): dL/dx[i, j, k] = w2[j, k, i]
    w2 = w.reshape(3, 4, 2)
    assert_same(grad_at(lambda v: v.moveaxis(0, -1), x, w2), np.moveaxis(w2, -1, 0))
    assert_same(grad_at(lambda v: v.movedim((0, 1), (2, 0)), x, np.moveaxis(x, (0, 1), (2, 0))),
                x)
    # permute by (2, 0, 1): y[k, i, j] = x[i, j, k], undone by the inverse permutation (1, 2, 0)
    w3 = w.reshape(4, 2, 3)
    assert_same(grad_at(lambda v: v.permute(2, 0, 1), x, w3), np.transpose(w3, (1, 2, 0)))
    assert_same(grad_at(lambda v: v.permute((-1, 0, 1)), x, w3), np.transpose(w3, (1, 2, 0)))


def test_reordering_errors_name_the_op():
    x = Value(np.zeros((2, 3)))
    with pytest.raises(ShapeError, match="permute: dims .* give each of its 2 axes once"):
        x.permute(0)
    with pytest.raises(ShapeError, match="permute: dims .* names an axis twice"):
        x.permute(1, -1)
    with pytest.raises(ShapeError, match="swapaxes"):
        x.swapaxes(0, 2)
    with pytest.raises(ShapeError, match="moveaxis"):
        x.moveaxis((0, 0), (0, 1))


# ---- reversing and rotating ------------------------------------------------------------------------
def test_flip_sends_the_gradient_back_reversed_by_hand():
    # y = [x2, x1, x0]: dL/dx = [w2, w1, w0]
    assert_same(grad_at(tg.flip, np.array([1.0, 2.0, 3.0]), W[:3]), W[:3][::-1])
    x = X3
    w = np.random.default_rng(2).normal(size=x.shape)
    for axis in [None, 0, -1, (0, 2), (1,), ()]:
        assert_same(tg.flip(x, axis).data, np.flip(x, axis))
        assert_same(grad_at(lambda v: v.flip(axis), x, w), np.flip(w, axis))
    assert_same(Value(x).flip(0, 2).data, np.flip(x, (0, 2)))  # torch's x.flip(0, 2)
    assert_same(Value(x).flip([0, 2]).data, np.flip(x, (0, 2)))
    assert tg.flip(2.5).data == 2.5


def test_fliplr_flipud_and_flip_errors():
    with pytest.raises(ShapeError, match=r"fliplr: needs an input of 2 dimension\(s\) or more"):
        tg.fliplr(np.zeros(3))
    with pytest.raises(ShapeError, match="flipud"):
        tg.flipud(np.array(1.0))
    with pytest.raises(ShapeError, match="flip: axis .* names an axis twice"):
        tg.flip(np.zeros((2, 3)), (1, -1))
    with pytest.raises(ShapeError, match="flip: axis 2 is out of range"):
        tg.flip(np.zeros((2, 3)), 2)


def test_rot90_is_undone_by_turning_back():
    x = np.arange(6.0).reshape(2, 3)  # [[0, 1, 2], [3, 4, 5]] turned a quarter counterclockwise:
    assert_same(tg.rot90(x).data, np.array([[2.0, 5.0], [1.0, 4.0], [0.0, 3.0]]))
    w = np.random.default_rng(3).normal(size=(3, 2))
    assert_same(grad_at(tg.rot90, x, w), np.rot90(w, -1))
    for k in [-5, -1, 0, 2, 3, 4, 7]:
        for axes in [(0, 1), (1, 0), (-1, 0), (0, 2)]:
            y = np.rot90(X3, k, axes)
            assert_same(tg.rot90(X3, k, axes).data, y)
            v = np.random.default_rng(k + 5).normal(size=y.shape)
            assert_same(grad_at(lambda a: a.rot90(k, axes), X3, v), np.rot90(v, -k, axes))
    with pytest.raises(ShapeError, match="rot90: axes .* names an axis twice"):
        tg.rot90(x, 1, (0, -2))
    with pytest.raises(ShapeError, match="rot90: axes .* must name two axes"):
        tg.rot90(x, 1, (0,))


def test_roll_sends_the_gradient_back_by_rolling_the_other_way_by_hand():
    # y = roll([x0, x1, x2, x3], 1) = [x3, x0, x1, x2]: dL/dx = [w1, w2, w3, w0]
    x = np.array([1.0, 2.0, 3.0, 4.0])
    assert_same(tg.roll(x, 1).data, np.array([4.0, 1.0, 2.0, 3.0]))
    assert_same(grad_at(lambda v: v.roll(1), x, W[:4]), W[[1, 2, 3, 0]])
    assert_same(grad_at(lambda v: v.roll(-6), x, W[:4]), W[[2, 3, 0, 1]])  # -6 = 2 (mod 4)
    # axis None rolls the flattened array, then restores the shape (numpy's meaning)
    m = np.arange(6.0).reshape(2, 3)
    assert_same(tg.roll(m, 1).data, np.array([[5.0, 0.0, 1.0], [2.0, 3.0, 4.0]]))
    seed = W.reshape(2, 3)
    assert_same(grad_at(lambda v: v.roll(1), m, seed), np.roll(seed, -1))
    # several axes with a shift each, and an axis named twice: its shifts add up, as in numpy
    assert_same(grad_at(lambda v: v.roll((1, 2), (0, 1)), m, seed), np.roll(seed, (-1, -2), (0, 1)))
    assert_same(tg.roll(m, (1, 1), (1, 1)).data, np.roll(m, 2, 1))
    assert_same(grad_at(lambda v: v.roll((1, 1), (1, 1)), m, seed), np.roll(seed, -2, 1))
    assert tg.roll(3.0, 2).data == 3.0


# ---- padding and cropping: exact adjoints --------------------------------------------------------
def test_pad_by_hand_in_every_mode():
    # x = [a, b, c] = [1, 2, 3], seed w = [w0, ..., w5]
    x = np.array([1.0, 2.0, 3.0])
    cases = [
        # constant (2, 1): [0, 0, a, b, c, 0]: a gets w2, b w3, c w4
        ("constant", (2, 1), [0, 0, 1, 2, 3, 0], [W[2], W[3], W[4]]),
        # reflect (2, 1): [c, b, a, b, c, b]: a gets w2, b w1 + w3 + w5, c w0 + w4
        ("reflect", (2, 1), [3, 2, 1, 2, 3, 2], [W[2], W[1] + W[3] + W[5], W[0] + W[4]]),
        # edge (2, 1): [a, a, a, b, c, c]: a gets w0 + w1 + w2, b w3, c w4 + w5
        ("edge", (2, 1), [1, 1, 1, 2, 3, 3], [W[0] + W[1] + W[2], W[3], W[4] + W[5]]),
    ]
    for mode, width, value, grad in cases:
        out = tg.pad(x, width, mode=mode)
        assert_same(out.data, np.array(value, dtype=float))
        assert_same(out.data, np.pad(x, width, mode=mode))
        assert_same(grad_at(lambda v: v.pad(width, mode=mode), x, W), np.array(grad))


def test_negative_widths_crop_and_their_adjoint_pads_zeros_by_hand():
    # pad (1, -1): [0, a, b] (c cropped): a gets w1, b w2, c nothing
    x = np.array([1.0, 2.0, 3.0])
    assert_same(tg.pad(x, (1, -1)).data, np.array([0.0, 1.0, 2.0]))
    assert_same(grad_at(lambda v: v.pad((1, -1)), x, W[:3]), np.array([W[1], W[2], 0.0]))
    # crop 1 at the start, then reflect 2 at the end: [b, c] -> [b, c, b, c]; edge: [b, c, c, c]
    assert_same(tg.pad(x, (-1, 2), mode="reflect").data, np.array([2.0, 3.0, 2.0, 3.0]))
    assert_same(grad_at(lambda v: v.pad((-1, 2), mode="reflect"), x, W[:4]),
                np.array([0.0, W[0] + W[2], W[1] + W[3]]))
    assert_same(grad_at(lambda v: v.pad((-1, 2), mode="edge"), x, W[:4]),
                np.array([0.0, W[0], W[1] + W[2] + W[3]]))
    # cropping everything away leaves the constant alone, and a zero gradient
    assert_same(tg.pad(x, (-3, 1), constant_values=7.0).data, np.array([7.0]))
    assert_same(grad_at(lambda v: v.pad((-3, 1)), x, [5.0]), np.zeros(3))


@pytest.mark.parametrize("mode", ["constant", "reflect", "edge"])
@pytest.mark.parametrize("pad_width", [
    2, (1, 3), ((2, 0),), ((1, -1), (0, 4)), ((-1, 0), (3, 5)), ((0, 0), (-2, 1)), 0,
], ids=repr)
def test_pad_is_the_exact_adjoint_of_its_vjp(mode, pad_width):
    """<pad(x), w> == <x, vjp(w)> for random x and w: the VJP is the transpose of the linear
    map, including numpy's repeated reflections when a width exceeds the axis."""
    rng = np.random.default_rng(4)
    x = rng.normal(size=(3, 4))
    out = tg.pad(x, pad_width, mode=mode)
    w = rng.normal(size=out.shape)
    g = grad_at(lambda v: v.pad(pad_width, mode=mode), x, w)
    reference = np.pad(x[tuple(slice(max(-b, 0), n - max(-a, 0)) for (b, a), n in
                               zip(_pairs(pad_width, 2), x.shape))],
                       np.maximum(_pairs(pad_width, 2), 0), mode=mode)
    assert_same(out.data, reference)
    # (the constant padding is 0, so pad(x) is linear in x and the identity is exact)
    assert np.sum(out.data * w) == pytest.approx(np.sum(x * g), rel=1e-12)
    assert gradgradcheck(lambda v: v.pad(pad_width, mode=mode) ** 2, x)


def test_pad_width_as_a_dict_pads_the_axes_it_names():
    x = np.arange(6.0).reshape(2, 3)
    for mode in ["constant", "reflect", "edge"]:
        assert_same(tg.pad(x, {-1: (1, 2)}, mode=mode).data, np.pad(x, {1: (1, 2)}, mode=mode))
    w = np.arange(12.0).reshape(4, 3)  # {0: 1}: a row of zeros above and below; x gets the middle
    assert_same(grad_at(lambda v: v.pad({0: 1}), x, w), w[1:3])


def test_pad_keeps_float32_and_handles_empty_and_wide_reflections():
    x = np.float32([[1.0, 2.0], [3.0, 4.0]])
    for mode in ["constant", "reflect", "edge"]:
        v = Value(x)
        out = v.pad(((1, 2), (3, 0)), mode=mode)
        assert out.dtype == np.float32
        out.sum().backward()
        assert v.grad.dtype == np.float32
        # reflect and edge: each output element is a copy of one input element; constant: the
        # padding copies nothing
        assert v.grad.sum() == (x.size if mode == "constant" else out.size)
    assert tg.pad(np.zeros((0, 2)), 1).shape == (2, 4)
    assert tg.pad(np.zeros((0, 2)), ((0, 0), (1, 1)), mode="edge").shape == (0, 4)
    wide = np.array([1.0, 2.0])  # reflect by more than the axis has: numpy reflects again
    assert_same(tg.pad(wide, 3, mode="reflect").data, np.pad(wide, 3, mode="reflect"))
    assert gradcheck(lambda v: v.pad(3, mode="reflect"), wide)


def test_pad_errors_name_the_op_and_what_is_wrong():
    x = np.zeros((2, 3))
    with pytest.raises(ShapeError, match="pad: mode 'wrap' is not one of"):
        tg.pad(x, 1, mode="wrap")
    with pytest.raises(ShapeError, match=r"pad: widths \(-2, -1\) crop more than the 2 element"):
        tg.pad(x, ((-2, -1), (0, 0)))
    with pytest.raises(ShapeError, match="pad: mode 'edge' cannot pad axis 0"):
        tg.pad(x, ((-2, 1), (0, 0)), mode="edge")
    with pytest.raises(ShapeError, match="pad: pad_width must be whole numbers"):
        tg.pad(x, 1.5)
    with pytest.raises(ShapeError, match=r"pad: pad_width .* for each axis .* \(2, 3\)"):
        tg.pad(x, ((1, 1), (1, 1), (1, 1)))
    with pytest.raises(ShapeError, match="pad: constant_values applies to mode 'constant' only"):
        tg.pad(x, 1, mode="reflect", constant_values=1.0)


def test_the_hessian_of_a_sum_of_squares_of_a_padding_counts_the_copies():
    # f(x) = sum(pad(x)^2) with reflect (2, 1): [c, b, a, b, c, b] holds a once, b 3, c twice,
    # so f = a^2 + 3 b^2 + 2 c^2 and its Hessian is diag(2, 6, 4)
    hessian = func.hessian(lambda v: (v.pad((2, 1), mode="reflect") ** 2).sum())
    assert_same(hessian(np.array([1.0, 2.0, 3.0])), np.diag([2.0, 6.0, 4.0]))


def test_pad_agrees_with_torch_reflect_and_replicate():
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    x = np.random.default_rng(5).normal(size=(1, 2, 4, 5))
    w = np.random.default_rng(6).normal(size=(1, 2, 7, 7))
    for ours, theirs in [("reflect", "reflect"), ("edge", "replicate"), ("constant", "constant")]:
        t = torch.tensor(x, requires_grad=True)
        reference = F.pad(t, (1, 1, 2, 1), mode=theirs)  # the last axis first
        (reference * torch.as_tensor(w)).sum().backward()
        width = ((0, 0), (0, 0), (2, 1), (1, 1))
        out, (leaf,) = backprop(lambda v: v.pad(width, mode=ours), x, seed=w)
        assert_same(out.data, reference.detach().numpy())
        assert_same(leaf.grad, t.grad.numpy())


# ---- repeating: the gradient sums over the copies ----------------------------------------------------
def test_repeat_sums_the_gradient_of_each_element_s_copies_by_hand():
    x = np.array([1.0, 2.0])
    # repeat 3: [a, a, a, b, b, b]: a gets w0 + w1 + w2, b w3 + w4 + w5
    assert_same(tg.repeat(x, 3).data, np.array([1.0, 1.0, 1.0, 2.0, 2.0, 2.0]))
    assert_same(grad_at(lambda v: v.repeat(3), x, W), np.array([W[:3].sum(), W[3:].sum()]))
    # counts (2, 0) along axis 1 of [[a, b], [c, d]]: [[a, a], [c, c]]; b and d get nothing
    m = np.array([[1.0, 2.0], [3.0, 4.0]])
    seed = W[:4].reshape(2, 2)
    assert_same(grad_at(lambda v: v.repeat([2, 0], axis=1), m, seed),
                np.array([[W[0] + W[1], 0.0], [W[2] + W[3], 0.0]]))
    # axis None repeats the flattened array: [a, a, b, b, c, c, d, d]
    assert_same(grad_at(lambda v: v.repeat(2), m, np.arange(8.0)),
                np.array([[0.0 + 1, 2 + 3], [4 + 5, 6 + 7]]))
    assert_same(grad_at(lambda v: v.repeat_interleave(2, dim=0), m, np.arange(8.0).reshape(4, 2)),
                np.array([[0.0 + 2, 1 + 3], [4 + 6, 5 + 7]]))
    assert tg.repeat_interleave is tg.repeat
    assert tg.repeat(2.0, 3).shape == (3,)
    assert tg.repeat(m, 0, axis=0).shape == (0, 2)
    assert gradgradcheck(lambda v: v.repeat([1, 3], axis=-1) ** 2, m)
    with pytest.raises(ShapeError, match="repeat: repeats must not be negative"):
        tg.repeat(m, [1, -1], axis=0)
    with pytest.raises(ShapeError, match="repeat"):
        tg.repeat(m, [1, 2, 3], axis=0)


def test_tile_sums_the_gradient_of_each_element_s_copies_by_hand():
    x = np.array([1.0, 2.0])
    # tile 3: [a, b, a, b, a, b]: a gets w0 + w2 + w4, b w1 + w3 + w5
    assert_same(tg.tile(x, 3).data, np.array([1.0, 2.0, 1.0, 2.0, 1.0, 2.0]))
    assert_same(grad_at(lambda v: v.tile(3), x, W), np.array([W[0::2].sum(), W[1::2].sum()]))
    # more reps than axes add leading axes; fewer count from the last axis
    m = np.array([[1.0, 2.0], [3.0, 4.0]])
    for reps in [(2, 1, 3), (3,), (2, 2), (), (1, 0)]:
        y = np.tile(m, reps)
        assert_same(tg.tile(m, reps).data, y)
        w = np.random.default_rng(len(reps)).normal(size=y.shape)
        expected = np.zeros_like(m)
        for index in np.ndindex(y.shape):  # element by element: which input each copy is
            expected[index[-2] % 2, index[-1] % 2] += w[index]
        assert_same(grad_at(lambda v: v.tile(reps), m, w), expected)
    assert Value(m).tile(2, 1).shape == (4, 2)  # torch's x.repeat(2, 1)
    with pytest.raises(ShapeError, match="tile: reps must not be negative"):
        tg.tile(m, (-1, 2))


# ---- edge cases: empty arrays, 0-d arrays, Python floats ---------------------------------------------
@pytest.mark.parametrize("f, shape, expected", [
    (lambda v: v.squeeze(), (0,), (0,)), (lambda v: v.unsqueeze(1), (0, 3), (0, 1, 3)),
    (lambda v: v.flatten(), (2, 0), (0,)), (lambda v: v.broadcast_to((2, 0, 3)), (0, 1), (2, 0, 3)),
    (lambda v: v.expand(4, -1, 3), (0, 1), (4, 0, 3)), (lambda v: v.swapaxes(0, 1), (0, 3), (3, 0)),
    (lambda v: v.moveaxis(0, 1), (0, 3), (3, 0)), (lambda v: v.permute(1, 0), (0, 3), (3, 0)),
    (lambda v: v.flip(), (0, 3), (0, 3)), (lambda v: v.rot90(), (0, 3), (3, 0)),
    (lambda v: v.roll(2), (0, 3), (0, 3)), (lambda v: v.roll(1, 1), (0, 3), (0, 3)),
    (lambda v: v.pad(1), (0, 3), (2, 5)), (lambda v: v.repeat(2, axis=1), (0, 3), (0, 6)),
    (lambda v: v.tile(2, 2), (0, 3), (0, 6)),
], ids=lambda p: repr(p) if isinstance(p, tuple) else "")
def test_empty_arrays_pass_through_with_an_empty_gradient(f, shape, expected):
    x = np.zeros(shape)
    out, (leaf,) = backprop(f, x, seed=np.ones(expected))
    assert out.shape == expected
    assert leaf.grad.shape == shape and not leaf.grad.any()  # nothing of x reaches the output


@pytest.mark.parametrize("f, shape", [
    (lambda v: v.squeeze(), ()), (lambda v: v.unsqueeze(0), (1,)), (lambda v: v.flatten(), (1,)),
    (lambda v: v.broadcast_to((2,)), (2,)), (lambda v: v.expand(3), (3,)),
    (lambda v: v.flip(), ()), (lambda v: v.roll(1), ()),
    (lambda v: v.repeat(2), (2,)), (lambda v: v.tile(2), (2,)),
], ids=lambda p: repr(p) if isinstance(p, tuple) else "")
def test_zero_d_arrays_and_python_floats(f, shape):
    """A Python float is a 0-d array to these ops: a 0-d result is a Python float again."""
    assert f(Value(np.array(1.5))).shape == shape
    on_float = f(Value(1.5))
    assert on_float.shape == shape and (type(on_float.data) is float) == (shape == ())
    assert gradcheck(f, 1.5) and gradcheck(f, np.array(1.5))
    assert Value(1.5).permute(()).shape == ()  # array-only ops take a float as a 0-d array


def test_unflatten_splits_an_axis_and_is_flattens_inverse():
    x = Value(np.arange(24.0).reshape(2, 12))
    y = x.unflatten(1, (3, -1))
    assert y.shape == (2, 3, 4) and _same_data(y.flatten(1), x)
    y.backward(np.arange(24.0).reshape(2, 3, 4))
    np.testing.assert_array_equal(x.grad, np.arange(24.0).reshape(2, 12))  # reshaped back
    assert tg.unflatten(x, dim=-1, sizes=(12,)).shape == (2, 12)
    with pytest.raises(ShapeError, match=r"unflatten: sizes \(5, -1\) do not split axis 1"):
        x.unflatten(1, (5, -1))
    with pytest.raises(ShapeError, match="unflatten"):
        x.unflatten(0, (-1, -1))


def _same_data(a: Value, b: Value) -> bool:
    return a.shape == b.shape and bool(np.array_equal(a.data, b.data))
