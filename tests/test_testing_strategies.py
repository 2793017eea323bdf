"""The strategies of tinygrad_nn.testing keep their promises exactly: ranges, points avoided by at
least the margin (near-misses included: values a rounding away from the margin), dtypes, gaps,
and every op's domain. A strategy that yields a value it promised to avoid makes a gradient test
check a point where there is no derivative."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis.errors import Unsatisfiable
from hypothesis import strategies as st

from tinygrad_nn.opinfo import MARGIN, Domain
from tinygrad_nn.testing import OPS, arrays, draw_domain, floats

# (min_value, max_value, avoid, margin): the issue's example, neighbouring and overlapping
# holes, a hole at a bound, a point that is not exact in float32, a hole wider than the range
CASES = [
    (-4.0, 4.0, (0.02, 0.0), MARGIN),
    (-4.0, 4.0, (0.0, 0.015, -0.015, 0.03), MARGIN),
    (0.0, 1.0, (0.0, 1.0), 0.25),
    (-3.0, 3.0, (0.1, -0.7), 0.3),
    (0.1, 4.0, (1.0,), MARGIN),
    (-1.0, 1.0, (0.0,), 0.999),
]


def _far_enough(x: float, avoid: tuple, margin: float, dtype=np.float64) -> bool:
    """The promise as float64 computes it, and as an array of `dtype` does (Domain.contains)."""
    a = np.array([x], dtype)
    return all(abs(x - p) >= margin and np.abs(a - p)[0] >= margin for p in avoid)


@pytest.mark.parametrize("width", [64, 32])
@pytest.mark.parametrize("lo, hi, avoid, margin", CASES)
@given(data=st.data())
def test_floats_keep_their_range_and_avoid_every_point(lo, hi, avoid, margin, width, data):
    dtype = np.float32 if width == 32 else np.float64
    x = data.draw(floats(lo, hi, avoid=avoid, margin=margin, width=width))
    assert type(x) is float and np.isfinite(x) and lo <= x <= hi
    assert _far_enough(x, avoid, margin, dtype)
    assert x == 0 or abs(x) >= np.finfo(dtype).tiny  # no subnormals
    if width == 32:
        assert float(np.float32(x)) == x
    assert Domain(lo, hi, avoid, margin).contains(np.array([x], dtype))


@given(floats(avoid=[0.02, 0.0]))
def test_the_issues_example_never_gives_an_avoided_point(x):
    # floats(avoid=[0.02, 0.0]) pushed a value near 0 up to 0.02, onto the other point
    assert abs(x) >= MARGIN and abs(x - 0.02) >= MARGIN


@pytest.mark.parametrize("width", [64, 32])
def test_the_edges_of_each_hole_are_exact(width):
    # the values closest to a hole that hypothesis can draw are the interval ends: each keeps
    # the margin, and the next float inwards does not
    from tinygrad_nn.testing import _allowed
    dtype = np.float32 if width == 32 else np.float64
    for lo, hi, avoid, margin in CASES:
        for a, b in _allowed(lo, hi, avoid, margin, width):
            for end, inward in ((a, -np.inf), (b, np.inf)):
                assert _far_enough(end, avoid, margin, dtype) and lo <= end <= hi
                beyond = float(np.nextafter(dtype(end), dtype(inward)))
                assert not (_far_enough(beyond, avoid, margin, dtype) and lo <= beyond <= hi)


def test_a_range_with_nothing_left_is_an_error():
    with pytest.raises(ValueError, match=r"floats: no float in \[0.0, 0.005\] is at least 0.01"):
        floats(0.0, 0.005, avoid=[0.0])


@given(data=st.data())
def test_arrays_with_elements_keep_the_elements_promise(data):
    dtype = data.draw(st.sampled_from([np.float64, np.float32]))
    width = 32 if dtype == np.float32 else 64
    a = data.draw(arrays(elements=floats(-2, 2, avoid=[0.0, 1.0], margin=0.1, width=width),
                         dtype=dtype))
    assert a.dtype == dtype
    assert Domain(-2, 2, (0.0, 1.0), 0.1).contains(a)


@given(data=st.data())
def test_min_gap_spreads_elements_at_least_that_far_apart(data):
    dtype = data.draw(st.sampled_from([np.float64, np.float32]))
    gap = data.draw(st.sampled_from([MARGIN, 0.02, 0.5]))
    a = data.draw(arrays(dtype=dtype, min_gap=gap))
    assert a.dtype == dtype
    assert (np.diff(np.sort(a, axis=None)) >= gap).all()


# every Domain the ops declare, and hand-made ones (kinks, as tests add them, are avoided points)
DOMAINS = sorted({domain for spec in OPS.values() for domain in spec.domains} | {
    Domain(avoid=(0.0, 0.02)), Domain(lo=-1.0, hi=1.0, avoid=(0.0,), margin=0.25, distinct=True),
    Domain(lo=0.1, distinct=True), Domain(avoid=(0.5, -0.5), margin=0.3, distinct=True)}, key=repr)


@pytest.mark.parametrize("domain", DOMAINS, ids=repr)
@given(data=st.data())
def test_draw_domain_stays_inside_the_domain(domain, data):
    shape = data.draw(st.none() | st.sampled_from([(), (1,), (5,), (3, 4), (2, 3, 4)]))
    x = data.draw(draw_domain(domain, shape))
    assert domain.contains(x)
    assert (np.abs(x) <= 4.0).all()  # within RANGE
    if shape is None:
        assert type(x) is float
    else:
        assert x.shape == shape and x.dtype == np.float64
        if domain.distinct:
            assert (np.diff(np.sort(x, axis=None)) >= 2 * domain.margin).all()


def test_a_distinct_domain_too_small_for_the_array_draws_nothing():
    # 2 * 0.25 apart in [0, 1.2] holds 3 elements at most
    domain = Domain(lo=0.0, hi=1.2, margin=0.25, distinct=True)

    @given(draw_domain(domain, (3,)))
    def three(x):
        assert (np.diff(np.sort(x)) >= 0.5).all() and domain.contains(x)
    three()

    @given(draw_domain(domain, (4,)))
    def four(x):
        pass
    with pytest.raises(Unsatisfiable):
        four()
