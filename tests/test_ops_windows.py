"""The sliding-window ops (tinygrad_nn/ops/windows.py): reference rows, PyTorch spellings and
hand-worked cases.

sliding_windows is a view of its input, fold_windows its adjoint (each window added back where
it came from), first_max the maximum over trailing axes with PyTorch's rule for ties (the first
maximum takes the whole gradient). The references below are written element by element with
loops, independent of the strided views the ops use.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_nn as tg
from opcase import OpCase, assert_same, backprop
from tinygrad_nn import ShapeError, Value
from tinygrad_nn.gradcheck import gradcheck, gradgradcheck
from tinygrad_nn.testing import arrays

IMAGE = np.arange(2 * 4 * 5, dtype=float).reshape(2, 4, 5) * 0.37 % 3.1 - 1.5  # no two equal


def windows_by_loops(x: np.ndarray, k: tuple, s: tuple, d: tuple) -> np.ndarray:
    """The windows of the last len(k) axes, gathered one element at a time."""
    n = len(k)
    spatial = x.shape[x.ndim - n:]
    out = tuple((length - di * (ki - 1) - 1) // si + 1 for length, ki, si, di in zip(spatial, k, s, d))
    result = np.empty(x.shape[:x.ndim - n] + out + k)
    for o in itertools.product(*map(range, out)):
        for j in itertools.product(*map(range, k)):
            source = tuple(oi * si + ji * di for oi, ji, si, di in zip(o, j, s, d))
            result[(Ellipsis,) + o + j] = x[(Ellipsis,) + source]
    return result


def fold_by_loops(w: np.ndarray, size: tuple, k: tuple, s: tuple, d: tuple) -> np.ndarray:
    """Each window element added back at its place, one at a time."""
    n = len(k)
    out = w.shape[w.ndim - 2 * n:w.ndim - n]
    result = np.zeros(w.shape[:w.ndim - 2 * n] + size)
    for o in itertools.product(*map(range, out)):
        for j in itertools.product(*map(range, k)):
            target = tuple(oi * si + ji * di for oi, ji, si, di in zip(o, j, s, d))
            result[(Ellipsis,) + target] += w[(Ellipsis,) + o + j]
    return result


def first_max_by_loops(x: np.ndarray, n: int) -> np.ndarray:
    return x.reshape(x.shape[:x.ndim - n] + (-1,)).max(axis=-1)


WINDOWS = windows_by_loops(IMAGE, (2, 3), (1, 2), (2, 1))  # (2, 2, 2, 2, 3)

# rows of test_ops_values.REFERENCES: each op's numpy reference, inputs inside its domain
REFERENCES: list[OpCase] = [
    OpCase("sliding_windows", lambda a: tg.sliding_windows(a, (2, 3), stride=(1, 2), dilation=(2, 1)),
           lambda a: windows_by_loops(a, (2, 3), (1, 2), (2, 1)), (IMAGE,)),
    OpCase("fold_windows", lambda a: tg.fold_windows(a, (4, 5), (2, 3), (1, 2), (2, 1)),
           lambda a: fold_by_loops(a, (4, 5), (2, 3), (1, 2), (2, 1)), (WINDOWS,)),
    OpCase("first_max", lambda a: a.first_max(2), lambda a: first_max_by_loops(a, 2), (IMAGE,)),
]


def torch_spellings(torch: Any, F: Any) -> dict:
    """Each op of this group (by its name in tinygrad_nn.testing.OPS) spelled in torch:
    Tensor.unfold per axis (a dilated kernel as its span, then every d-th element), fold as the
    index_add of the windows at the positions those windows take from an arange, and first_max
    as max(dim) of the flattened trailing axes (torch's max(dim) picks the first maximum)."""
    def geometry(kernel_size: Any, stride: Any, dilation: Any) -> tuple:
        k = kernel_size if isinstance(kernel_size, tuple) else (kernel_size,)
        def each(v: Any) -> tuple:
            return v if isinstance(v, tuple) else (v,) * len(k)
        return k, each(stride), each(dilation)

    def sliding_windows(t: Any, *, kernel_size: Any, stride: Any, dilation: Any) -> Any:
        k, s, d = geometry(kernel_size, stride, dilation)
        n, lead = len(k), t.ndim - len(k)
        for i in range(n):
            t = t.unfold(lead + i, d[i] * (k[i] - 1) + 1, s[i])
        return t[(Ellipsis,) + tuple(slice(None, None, di) for di in d)]

    def fold_windows(t: Any, *, output_size: Any, kernel_size: Any, stride: Any, dilation: Any) -> Any:
        k, s, d = geometry(kernel_size, stride, dilation)
        size = output_size if isinstance(output_size, tuple) else (output_size,)
        n = len(k)
        places = torch.arange(int(np.prod(size))).reshape(size)
        index = sliding_windows(places, kernel_size=k, stride=s, dilation=d).reshape(-1)
        lead = tuple(t.shape[:t.ndim - 2 * n])
        flat = t.reshape(lead + (-1,))
        total = torch.zeros(lead + (int(np.prod(size)),), dtype=t.dtype)
        return total.index_add(len(lead), index, flat).reshape(lead + size)

    def first_max(t: Any, *, ndim: int) -> Any:
        return t.reshape(tuple(t.shape[:t.ndim - ndim]) + (-1,)).max(dim=-1).values

    return {"sliding_windows": sliding_windows, "fold_windows": fold_windows,
            "first_max": first_max}


# ---- sliding_windows ----------------------------------------------------------------------------
@settings(max_examples=min(settings.default.max_examples, 25))
@given(data=st.data())
def test_windows_and_fold_match_element_loops_and_are_adjoint(data: st.DataObject):
    n = data.draw(st.integers(1, 3), label="n")
    spatial = data.draw(st.tuples(*[st.integers(1, 5)] * n), label="spatial")
    lead = data.draw(st.tuples(*[st.integers(1, 2)] * data.draw(st.integers(0, 2))), label="lead")
    k = tuple(data.draw(st.integers(1, m)) for m in spatial)
    d = tuple(data.draw(st.integers(1, max(1, (m - 1) // max(ki - 1, 1)))) for m, ki in zip(spatial, k))
    s = tuple(data.draw(st.integers(1, 3)) for _ in range(n))
    x = data.draw(arrays(lead + spatial), label="x")
    w = tg.sliding_windows(x, k, s, d).data
    assert_same(w, windows_by_loops(x, k, s, d))
    seed = data.draw(arrays(w.shape), label="seed")
    folded = tg.fold_windows(seed, spatial, k, s, d).data
    assert_same(folded, fold_by_loops(seed, spatial, k, s, d))
    # adjoint: <windows(x), seed> = <x, fold(seed)>
    assert np.vdot(w, seed) == pytest.approx(np.vdot(x, folded), rel=1e-12, abs=1e-12)


def test_windows_are_a_read_only_view_of_the_input():
    w = tg.sliding_windows(IMAGE, 2).data
    assert np.shares_memory(w, IMAGE) and not w.flags.writeable
    assert w.shape == (2, 4, 4, 2)


def test_windows_gradient_counts_how_many_windows_hold_each_element():
    # kernel 3, stride 1 over 5 elements: windows start at 0, 1, 2; element j is in
    # min(j + 1, 3, 5 - j) of them
    _, (x,) = backprop(lambda v: tg.sliding_windows(v, 3), np.arange(5.0))
    assert_same(x.grad, [1.0, 2.0, 3.0, 2.0, 1.0])
    # stride 2, dilation 2, kernel 2 over 7: windows {0, 2}, {2, 4}, {4, 6}
    _, (x,) = backprop(lambda v: tg.sliding_windows(v, 2, stride=2, dilation=2), np.arange(7.0))
    assert_same(x.grad, [1.0, 0.0, 2.0, 0.0, 2.0, 0.0, 1.0])


def test_fold_leaves_unreached_places_at_zero_and_skips_the_sum_for_disjoint_windows():
    w = np.arange(1.0, 7.0).reshape(3, 2)  # three windows of 2, stride 3: places 2, 5, 8 unreached
    assert_same(tg.fold_windows(w, 9, 2, stride=3).data, [1, 2, 0, 3, 4, 0, 5, 6, 0])


def test_windows_and_fold_to_second_order():
    x = IMAGE[0]
    assert gradgradcheck(lambda v: (tg.sliding_windows(v, (2, 2), dilation=(1, 2)) ** 3).sum(), x)
    w = WINDOWS[0]
    assert gradgradcheck(lambda v: (tg.fold_windows(v, (4, 5), (2, 3), (1, 2), (2, 1)) ** 3).sum(), w)


def test_window_errors_name_the_op_and_the_sizes():
    with pytest.raises(ShapeError, match=r"sliding_windows: kernel size \(4,\) with dilation "
                                         r"\(2,\) spans \(7,\).*\(5,\)"):
        tg.sliding_windows(np.zeros(5), 4, dilation=2)
    with pytest.raises(ShapeError, match="sliding_windows: stride must be positive"):
        tg.sliding_windows(np.zeros(5), 2, stride=0)
    with pytest.raises(ShapeError, match=r"sliding_windows: dilation \(1, 2, 3\) must give one value"):
        tg.sliding_windows(np.zeros((3, 5)), (2, 2), dilation=(1, 2, 3))
    with pytest.raises(ShapeError, match=r"sliding_windows: a 2-D kernel \(2, 2\) needs an input"):
        tg.sliding_windows(np.zeros(5), (2, 2))
    with pytest.raises(ShapeError, match=r"fold_windows: windows of shape \(3, 2\) do not fit "
                                         r"output_size \(9,\)"):
        tg.fold_windows(np.zeros((3, 2)), 9, 2)


# ---- first_max -----------------------------------------------------------------------------------
def test_first_max_sends_the_gradient_to_the_first_of_tied_maxima():
    x = np.array([[1.0, 3.0, 3.0, 0.0], [2.0, 2.0, 2.0, 2.0]])
    seed = np.array([10.0, 20.0])
    out, (v,) = backprop(lambda v: v.first_max(), x, seed=seed)
    assert_same(out.data, [3.0, 2.0])
    assert_same(v.grad, [[0.0, 10.0, 0.0, 0.0], [20.0, 0.0, 0.0, 0.0]])
    # over two axes, row-major order: (0, 1) comes before (1, 0)
    y = np.array([[[0.0, 5.0], [5.0, 1.0]]])
    _, (v,) = backprop(lambda v: v.first_max(ndim=2), y)
    assert_same(v.grad, [[[0.0, 1.0], [0.0, 0.0]]])


def test_first_max_to_second_order_and_its_errors():
    assert gradgradcheck(lambda v: (v.first_max(2) ** 2).sum(), IMAGE)
    assert gradcheck(lambda v: v.first_max(), np.array([[0.5, -1.0, 2.0]]))
    with pytest.raises(ShapeError, match=r"first_max: ndim 3 must be between 1 and the input's 2"):
        Value(np.zeros((2, 2))).first_max(3)


def test_first_max_of_nan_is_nan_with_the_gradient_at_the_nan():
    out, (v,) = backprop(lambda v: v.first_max(), np.array([[1.0, np.nan, 3.0]]))
    assert np.isnan(out.data[0])
    assert_same(v.grad, [[0.0, 1.0, 0.0]])
