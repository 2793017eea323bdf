"""Values used as keys of x[key], alone or in a tuple, against numpy: a comparison's result is a
boolean mask; whole numbers are positions; a float that is not whole (1.5, NaN, inf) is never
truncated but refused, naming the value; a Value of 0s and 1s that no comparison made, shaped
like the axes it indexes, is refused as ambiguous. The ops that take indices (take, gather, ...)
refuse a comparison's mask rather than read it as positions 0 and 1."""

from __future__ import annotations

import re

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinygrad_nn as tg
from tinygrad_nn import InvalidIndexError, Value
from tinygrad_nn.testing import arrays, floats, shapes

# (a comparison of Values, the same on arrays): each makes a mask that indexes as numpy's
COMPARISONS = {
    ">": (lambda x, t: x > t, lambda a, t: a > t),
    "<=": (lambda x, t: x <= t, lambda a, t: a <= t),
    "== round": (lambda x, t: x.round() == float(np.round(t)),
                 lambda a, t: np.round(a) == np.round(t)),
    "!=": (lambda x, t: tg.not_equal(x, t), lambda a, t: a != t),
    "&": (lambda x, t: (x > t) & (x < t + 2), lambda a, t: (a > t) & (a < t + 2)),
    "|": (lambda x, t: (x < t) | (x > t + 1), lambda a, t: (a < t) | (a > t + 1)),
    "^": (lambda x, t: (x < t) ^ (x > -t), lambda a, t: (a < t) ^ (a > -t)),
    "~": (lambda x, t: ~(x > t), lambda a, t: ~(a > t)),
}


@pytest.mark.parametrize("name", sorted(COMPARISONS))
@given(arrays(shapes(min_dims=1)), floats(-3, 3))
def test_a_comparison_indexes_as_numpys_mask(name, a, t):
    ours, theirs = COMPARISONS[name]
    x = Value(a)
    out = x[ours(x, t)]
    mask = theirs(a, t)
    np.testing.assert_array_equal(out.data, a[mask])
    if out.size:
        out.backward(np.arange(1.0, out.size + 1))
        expected = np.zeros_like(a)
        expected[mask] = np.arange(1.0, out.size + 1)
        np.testing.assert_array_equal(x.grad, expected)


@given(arrays(shapes(min_dims=2, max_dims=3)), floats(-3, 3),
       st.sampled_from(["rows", "after", "ellipsis"]))
def test_a_comparison_in_a_tuple_key_masks_the_axes_it_stands_for(a, t, where):
    x = Value(a)
    if where == "rows":  # a mask of the first axis, then a slice
        column = (slice(None),) + (0,) * (a.ndim - 1)
        key, np_key = (x[column] > t, slice(None)), (a[column] > t, slice(None))
    elif where == "after":  # a slice, then a mask of the remaining axes
        key, np_key = (slice(None), x[0] > t), (slice(None), a[0] > t)
    else:  # Ellipsis, then a mask of the last axis
        row = (0,) * (a.ndim - 1)
        key, np_key = (Ellipsis, x[row] > t), (Ellipsis, a[row] > t)
    np.testing.assert_array_equal(x[key].data, a[np_key])


@given(arrays(shapes(min_dims=1, max_dims=3)), st.data())
def test_whole_numbers_in_a_value_are_positions(a, data):
    n = a.shape[0]
    positions = data.draw(st.lists(st.integers(-n, n - 1), min_size=1, max_size=5))
    x = Value(a)
    key = Value(np.array(positions, dtype=float), requires_grad=False)
    if len(positions) == n and set(positions) <= {0, 1}:  # looks like a mask: refused
        with pytest.raises(InvalidIndexError, match="ambiguous"):
            x[key]
        return
    np.testing.assert_array_equal(x[key].data, a[np.array(positions)])
    if a.ndim > 1:
        column = data.draw(st.integers(0, a.shape[1] - 1))
        np.testing.assert_array_equal(x[key, column].data, a[np.array(positions), column])


@given(arrays((3, 4)), st.lists(st.integers(-4, 3), min_size=1, max_size=6))
def test_positions_in_the_second_place_of_a_tuple(a, columns):
    key = Value(np.array(columns, dtype=float))
    if len(columns) == 4 and set(columns) <= {0, 1}:
        with pytest.raises(InvalidIndexError, match="ambiguous"):
            Value(a)[:, key]
        return
    np.testing.assert_array_equal(Value(a)[:, key].data, a[:, np.array(columns)])
    rows = Value(np.array([2.0, -1.0]))
    np.testing.assert_array_equal(Value(a)[rows, key[:1]].data, a[[2, -1], [columns[0]] * 2])


@pytest.mark.parametrize("bad, shown", [
    (1.5, "1.5"), (-0.5, "-0.5"), (np.nan, "nan"), (np.inf, "inf"), (-np.inf, "-inf"),
    (1e30, "1e+30"), (2.0000001, "2.0000001"),
])
@pytest.mark.parametrize("place", ["alone", "first of a tuple", "second of a tuple", "0-d"])
def test_a_float_that_is_not_whole_is_never_truncated(bad, shown, place):
    x = Value(np.arange(12.0).reshape(3, 4))
    keys = {"alone": lambda k: Value(np.array([0.0, k])),
            "first of a tuple": lambda k: (Value(np.array([k])), slice(None)),
            "second of a tuple": lambda k: (0, Value(np.array([1.0, k, 2.0]))),
            "0-d": lambda k: Value(float(k))}
    with pytest.raises(InvalidIndexError, match=r"\[\]: a Value used as an index must hold whole "
                                                r"numbers.*; got " + re.escape(shown) + "$"):
        x[keys[place](bad)]


def test_zeros_and_ones_not_from_a_comparison_are_ambiguous_where_they_fit_a_mask():
    a = np.arange(12.0).reshape(3, 4)
    x = Value(a)
    for key in [Value(np.array([0.0, 1.0, 1.0])),                 # the first axis
                (Value(np.array([1.0, 0.0, 1.0])), slice(None)),    # the first axis, in a tuple
                (slice(None), Value(np.array([0.0, 1.0, 1.0, 0.0]))),  # the second axis
                (Ellipsis, Value(np.array([1.0, 1.0, 0.0, 0.0]))),     # the last axis
                Value(np.array([[1.0, 0.0, 0.0, 1.0]] * 3)),        # both axes
                (x > 4) * 1.0,                                       # a mask by arithmetic
                tg.where(x > 4, 1.0, 0.0)]:
        with pytest.raises(InvalidIndexError, match=r"ambiguous as an index: use `key.data > 0`"):
            x[key]
    # where they cannot be a mask, they are positions, as numpy's integers
    np.testing.assert_array_equal(x[Value(np.array([1.0, 0.0]))].data, a[[1, 0]])
    np.testing.assert_array_equal(x[:, Value(np.array([1.0, 1.0, 0.0]))].data, a[:, [1, 1, 0]])
    np.testing.assert_array_equal(x[Value(np.array(1.0))].data, a[1])  # 0-d: one position
    np.testing.assert_array_equal(x[Value(1.0), Value(0.0)].data, a[1, 0])
    # the advice works
    np.testing.assert_array_equal(x[((x > 4) * 1.0).data > 0].data, a[a > 4])


def test_a_comparison_under_no_grad_is_refused_not_read_as_positions():
    x = Value(np.array([-1.0, 2.0, 3.0]))
    with tg.no_grad(), pytest.raises(InvalidIndexError, match=r"not recorded \(no_grad\?\)"):
        x[x > 0]
    with tg.no_grad():
        np.testing.assert_array_equal(x[(x > 0).data > 0].data, [2.0, 3.0])


@pytest.mark.parametrize("call", [
    lambda x: tg.take(x, x > 0),
    lambda x: x.index_select(0, x[0] > 0),
    lambda x: x.gather(1, x > 1),
    lambda x: x.take_along_axis(x > 1, axis=1),
    lambda x: x.index_add(0, x[:, 0] > 0, np.ones((2, 3))),
    lambda x: x.scatter_add(1, x > 1, np.ones((2, 3))),
], ids=["take", "index_select", "gather", "take_along_axis", "index_add", "scatter_add"])
def test_ops_taking_indices_refuse_a_comparisons_mask(call):
    x = Value(np.array([[1.0, -2.0, 3.0], [0.5, 2.0, -1.0]]))
    with pytest.raises(InvalidIndexError, match="indices must be positions, not a comparison's"):
        call(x)


@pytest.mark.parametrize("bad", [np.inf, -np.inf, np.nan, 1e30])
def test_ops_taking_indices_refuse_floats_no_integer_holds(bad):
    x = Value(np.arange(6.0))
    with pytest.raises(InvalidIndexError, match="take: indices must be whole numbers"):
        tg.take(x, Value(np.array([1.0, bad])))
