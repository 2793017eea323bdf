"""Hypothesis strategies for testing gradients: in tinygrad_nn's own tests, and in yours.

    from hypothesis import given
    from tinygrad_nn.testing import arrays, assert_grads_match

    @given(arrays())
    def test_my_op_gradient(x):
        assert_grads_match(my_op, x)

- Data: `floats` (finite, in a safe range, away from chosen points), `shapes`,
  `broadcastable_shapes`, `arrays`, `values` and `scalars` (Values).
- The engine's ops described for testing: `Domain` (where an input is safe for finite
  differences), `OpSpec` (an op with its operands, keyword arguments, domains and kinks) and the
  table `OPS`, one entry per op of `tinygrad_nn.ops`, derived from each op's definition (its
  `OpInfo`; `OPERANDS` says how each kind of op draws its other operands; `spec_of` makes the
  OpSpec of an op of yours that has an `OpInfo`).
- `expressions`: random graphs of those ops, with inputs at which every op is smooth.
- `assert_grads_match`: `gradcheck` as a pytest assertion (``order=2``: `gradgradcheck`).
- A hypothesis profile, registered (not loaded) as ``"tinygrad_nn"``:
  ``settings.load_profile("tinygrad_nn")`` in your conftest.py.

Finite differences only see a derivative where the function is smooth: every strategy here
keeps inputs inside an op's domain (log, sqrt, division) and at least `MARGIN` away from the
points where it has no derivative (relu and abs at 0, clip at its bounds, ties of max).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Optional, Sequence, Union

import numpy as np

try:
    import hypothesis.extra.numpy as hnp
    from hypothesis import HealthCheck, reject, settings
    from hypothesis import strategies as st
except ImportError as error:  # hypothesis is a test dependency, not a dependency of the engine
    raise ImportError("tinygrad_nn.testing needs hypothesis: "
                      "pip install 'tinygrad_nn[test]'") from error

from . import ops
from .engine import Op, Value, constant, no_grad
from .opinfo import FREE, MARGIN, Domain, OpInfo
from .errors import TinygradNNError
from .gradcheck import GradcheckError, gradcheck, gradgradcheck

Shape = Optional[tuple]  # None stands for a Python float: the engine's scalar path
SearchStrategy = st.SearchStrategy

RANGE = 4.0      # inputs are drawn from [-RANGE, RANGE] (intersected with the op's domain)
LIMIT = 1e3      # the largest magnitude a random graph may produce (keeps rounding errors small)

# A gradient check runs f once per input element and backward once per output element: slow
# and uneven next to hypothesis' usual tests, so no deadline and no too-slow warning.
PROFILE = "tinygrad_nn"
settings.register_profile(PROFILE, max_examples=100, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])


# ---- data -------------------------------------------------------------------------------------
def floats(min_value: float = -RANGE, max_value: float = RANGE, *, avoid: Sequence[float] = (),
           margin: float = MARGIN, width: int = 64) -> SearchStrategy[float]:
    """Finite floats x in [min_value, max_value] (no NaN, inf or subnormals) with
    ``abs(x - p) >= margin`` for each point p of `avoid`, as float64 computes it and as float32
    does for an array of them (`Domain.contains`). `width=32` draws values exact in float32.
    A range that `avoid` leaves empty is a ValueError."""
    return _floats(float(min_value), float(max_value), tuple(map(float, avoid)), float(margin),
                   width)


@functools.lru_cache(maxsize=None)  # a strategy built once is drawn from much faster
def _floats(min_value: float, max_value: float, avoid: tuple, margin: float,
            width: int) -> SearchStrategy[float]:
    pieces = [st.floats(lo, hi, allow_nan=False, allow_infinity=False, allow_subnormal=False,
                        width=width)  # type: ignore[arg-type]
              for lo, hi in _allowed(min_value, max_value, avoid, margin, width)]
    if not pieces:
        raise ValueError(f"floats: no float in [{min_value}, {max_value}] is at least {margin} "
                         f"away from each of {list(avoid)}")
    return pieces[0] if len(pieces) == 1 else st.one_of(pieces)


def _allowed(lo: float, hi: float, avoid: tuple, margin: float, width: int) -> list:
    """[lo, hi] without the points closer than `margin` to one of `avoid`, as closed intervals
    whose ends are exact in `width` bits; every float inside keeps the promise of `floats`."""
    dtype = np.float32 if width == 32 else np.float64

    def keeps(x: float) -> bool:
        """x in [lo, hi] and far enough from every point, in float64 and in `dtype` arrays."""
        a = np.array([x], dtype)
        return lo <= x <= hi and all(abs(x - p) >= margin and bool(np.abs(a - p)[0] >= margin)
                                     for p in avoid)

    def nudge(x: float, toward: float) -> float:
        """The float nearest x, on the side of `toward`, that keeps the promise (else NaN)."""
        if x == toward:
            return x if float(dtype(x)) == x and keeps(x) else math.nan
        direction = dtype(math.inf if toward > x else -math.inf)
        y = dtype(x)
        if (float(y) - x) * (toward - x) < 0:  # rounded away from `toward`
            y = np.nextafter(y, direction)
        for _ in range(64):  # rounding misses the promise by a few units in the last place
            if keeps(float(y)):
                return float(y)
            y = np.nextafter(y, direction)
        return math.nan

    intervals = [(lo, hi)]
    for p in sorted(avoid):
        cut = []
        for a, b in intervals:
            if a <= p - margin:
                cut.append((a, min(b, p - margin)))
            if b >= p + margin:
                cut.append((max(a, p + margin), b))
        intervals = cut
    out = []
    for a, b in intervals:
        a, b = nudge(a, b), nudge(b, a)
        if a <= b:  # (False for NaN)
            out.append((a, b))
    return out


def shapes(*, min_dims: int = 0, max_dims: int = 3, min_side: int = 1,
           max_side: int = 4) -> SearchStrategy[tuple]:
    """Array shapes; by default small ones, from () to 4 x 4 x 4."""
    return hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=min_side,
                            max_side=max_side)


def broadcastable_shapes(num_shapes: int = 2, *, min_dims: int = 0, max_dims: int = 3,
                         min_side: int = 1, max_side: int = 4) -> SearchStrategy[tuple]:
    """Tuples of `num_shapes` shapes that broadcast together, like ((3, 1), (2, 1, 4))."""
    return hnp.mutually_broadcastable_shapes(
        num_shapes=num_shapes, min_dims=min_dims, max_dims=max_dims, min_side=min_side,
        max_side=max_side).map(lambda drawn: drawn.input_shapes)


def arrays(shape: Union[tuple, SearchStrategy, None] = None, *, dtype: Any = np.float64,
           elements: Optional[SearchStrategy[float]] = None,
           min_gap: Optional[float] = None) -> SearchStrategy[np.ndarray]:
    """numpy arrays of `dtype` and `shape` (a tuple, a strategy of tuples, or None for
    `shapes()`), with `elements` (by default `floats()`, exact in `dtype`).

    With `min_gap`, any two elements differ by at least that much (no ties, where max has no
    derivative): the drawn elements are spread apart, each moved up by min_gap times its rank,
    so they may leave the range of `elements`. For arrays without near-ties that stay inside a
    domain, draw ``Domain(..., distinct=True).draw(shape)``."""
    dtype = np.dtype(dtype)
    if elements is None:
        elements = floats(width=32 if dtype == np.float32 else 64)
    drawn = hnp.arrays(dtype, shapes() if shape is None else shape, elements=elements)
    return drawn if min_gap is None else drawn.map(lambda a: _spread(a, min_gap))


def _spread(a: np.ndarray, gap: float) -> np.ndarray:
    """Add (gap + slack) * rank to each element: sorted, consecutive elements then differ by at
    least gap once rounded to a's dtype (the slack covers that rounding)."""
    ranks = np.empty(a.size)
    ranks[np.argsort(a, axis=None, kind="stable")] = np.arange(a.size)
    top = float(np.max(np.abs(a), initial=0.0)) + gap * a.size
    wider = gap + 4 * float(np.spacing(a.dtype.type(top)))
    return np.asarray(a + wider * ranks.reshape(a.shape), dtype=a.dtype)


def scalars(elements: Optional[SearchStrategy[float]] = None) -> SearchStrategy[Value]:
    """Values holding Python floats (the engine's scalar path), from `elements` or `floats()`."""
    return (floats() if elements is None else elements).map(Value)


def values(shape: Union[tuple, SearchStrategy, None] = None, *, dtype: Any = np.float64,
           elements: Optional[SearchStrategy[float]] = None) -> SearchStrategy[Value]:
    """Values holding arrays (as `arrays` draws them); with ``shape=None``, Values holding
    Python floats too, so that a test covers both of the engine's paths."""
    array_values = arrays(shape, dtype=dtype, elements=elements).map(Value)
    return scalars(elements) | array_values if shape is None else array_values


# ---- the ops, described for testing --------------------------------------------------------------
@functools.lru_cache(maxsize=None)
def draw_domain(domain: Domain, shape: Shape) -> SearchStrategy[Any]:
    """A float (shape None) or a float64 array of `shape`, inside `domain` (`Domain.contains`
    holds) and within RANGE; with ``domain.distinct``, no two elements closer than
    2 * domain.margin (sorting and max have a derivative there)."""
    lo, hi = max(domain.lo, -RANGE), min(domain.hi, RANGE)
    elements = floats(lo, hi, avoid=domain.avoid, margin=domain.margin)
    if shape is None:
        return elements
    if not domain.distinct:
        return arrays(shape, elements=elements)
    return _distinct(_allowed(lo, hi, tuple(domain.avoid), domain.margin, 64),
                     2 * domain.margin, shape)


def _distinct(intervals: list, gap: float, shape: Any) -> SearchStrategy[np.ndarray]:
    """float64 arrays of `shape` with every element in one of `intervals` (closed, sorted,
    disjoint) and any two elements at least `gap` apart.

    The intervals are laid end to end on one line of their total length; sorted points with
    gaps of at least `gap` are drawn on it (points drawn in a shorter line, the k-th moved up by
    k gaps) and carried back, each into its interval (clamped to it against rounding). Carrying
    back only adds the holes between intervals, so the gaps remain; the points are then placed
    in the array in a drawn order."""
    starts = np.cumsum([0.0] + [b - a for a, b in intervals])
    length = float(starts[-1])
    top = max(abs(v) for ab in intervals for v in ab) + length
    wider = gap + 8 * float(np.spacing(top))  # what rounding takes off a gap, given back

    def carried(points: np.ndarray) -> np.ndarray:
        k = np.clip(np.searchsorted(starts, points, side="right") - 1, 0, len(intervals) - 1)
        a = np.array([ab[0] for ab in intervals])[k]
        b = np.array([ab[1] for ab in intervals])[k]
        return np.clip(a + (points - starts[k]), a, b)

    def arrays_of(n: int) -> SearchStrategy[np.ndarray]:
        room = length - (n - 1) * wider
        if room < 0:  # the domain cannot hold n elements so far apart
            return st.nothing()
        raw = hnp.arrays(np.float64, n, elements=st.floats(0.0, room, allow_subnormal=False))
        points = raw.map(lambda u: np.sort(u) + wider * np.arange(n))
        return st.tuples(points, st.permutations(range(n))).map(
            lambda d: carried(d[0])[list(d[1])])

    shape_strategy = shape if isinstance(shape, SearchStrategy) else st.just(shape)
    return shape_strategy.flatmap(lambda s: arrays_of(int(np.prod(s))).map(
        lambda flat: flat.reshape(s)))


def _unary(shape: Shape) -> SearchStrategy[tuple]:
    return st.just(((), {}))


@dataclass(frozen=True)
class OpSpec:
    """An op described for testing: what it applies to, and where it is smooth.

    - ``operands(shape)``: given the first operand's shape (None: a Python float), a strategy of
      (the shapes of the other operands, the op's keyword arguments). The default is a unary op
      without keyword arguments, so ``OpSpec("cube", cube)`` describes an elementwise op of yours.
    - ``domains``: where each operand may lie (the last one also serves further operands).
    - ``kinks(kw)``: the points where the op has no derivative in its first operand.
    - ``smooth(datas, kw)``: any further condition for a derivative (max: no ties).
    - ``min_dims``: fewest dimensions of an array first operand; ``scalar``: whether the op also
      takes Python floats. ``call``: how to apply it, when not ``op(*operands, **kw)``.
    """

    name: str
    op: Union[Op, ops.Composite]
    operands: Callable[[Shape], SearchStrategy[tuple]] = _unary
    domains: tuple = (FREE,)
    kinks: Callable[[dict], tuple] = field(default=lambda kw: ())
    smooth: Callable[[list, dict], bool] = field(default=lambda datas, kw: True)
    min_dims: int = 0
    scalar: bool = True
    call: Optional[Callable[..., Value]] = None

    def apply(self, *operands: Any, **kw: Any) -> Value:
        if self.call is not None:
            return self.call(*operands, **kw)
        return self.op(list(operands), **kw) if self.op.variadic else self.op(*operands, **kw)

    @functools.lru_cache(maxsize=None)
    def draw_operands(self, shape: Shape) -> SearchStrategy[tuple]:
        """`operands(shape)`, built once for each shape."""
        return self.operands(shape)

    def accepts(self, shape: Shape) -> bool:
        return self.scalar if shape is None else len(shape) >= self.min_dims

    def domains_for(self, kw: dict, count: int) -> list:
        """One Domain per operand, the first one also avoiding the kinks."""
        domains = [self.domains[min(n, len(self.domains) - 1)] for n in range(count)]
        return [domains[0].avoiding(self.kinks(kw)), *domains[1:]]

    def is_smooth_at(self, datas: list, kw: dict) -> bool:
        return (all(d.contains(x) for d, x in zip(self.domains_for(kw, len(datas)), datas))
                and self.smooth(datas, kw))


# How each op draws its other operands and keyword arguments from the first operand's shape.
def _partner(shape: Shape) -> SearchStrategy[Shape]:
    """A shape that broadcasts with `shape`, or None: a Python float (which broadcasts too)."""
    if shape is None:
        return st.none()
    return hnp.broadcastable_shapes(shape, max_dims=max(3, len(shape)),
                                    max_side=max((3, *shape))) | st.none()


def _binary(shape: Shape) -> SearchStrategy[tuple]:
    return _partner(shape).map(lambda other: ((other,), {}))


def _keywords(**strategies: SearchStrategy) -> Callable[[Shape], SearchStrategy[tuple]]:
    return lambda shape: st.fixed_dictionaries(strategies).map(lambda kw: ((), kw))


def _axis(shape: tuple) -> SearchStrategy[Any]:
    """An axis of `shape`, as a non-negative or a negative number."""
    return st.integers(-len(shape), len(shape) - 1)


def _reduction(shape: Shape) -> SearchStrategy[tuple]:
    """axis: None, one axis or a tuple of axes; keepdims: either."""
    axis: SearchStrategy[Any] = st.none()
    if shape:
        axis = axis | _axis(shape) | hnp.valid_tuple_axes(len(shape))
    elif shape == ():
        axis = axis | st.just(())
    return st.fixed_dictionaries({"axis": axis, "keepdims": st.booleans()}).map(lambda kw: ((), kw))


# ---- reductions (tinygrad_nn/ops/reductions.py) ----------------------------------------------------
def _one_axis_or_none(shape: Shape) -> SearchStrategy[Any]:
    """axis: None, or one axis (non-negative or negative) of an array with dimensions."""
    return st.none() | _axis(shape) if shape else st.none()


def _moments(shape: Shape) -> SearchStrategy[tuple]:
    """var and std: a reduction's axis and keepdims, and ddof (or PyTorch's name, correction)
    0 or 1, leaving at least one degree of freedom in each slice."""
    def with_ddof(drawn: tuple) -> SearchStrategy[tuple]:
        kw = drawn[1]
        axes = range(len(shape or ())) if kw["axis"] is None else np.atleast_1d(kw["axis"])
        n = int(np.prod([shape[a] for a in axes])) if shape else 1
        return st.tuples(st.integers(0, min(1, n - 1)), st.sampled_from(["ddof", "correction"])).map(
            lambda d: ((), {**kw, d[1]: d[0]}))
    return _reduction(shape).flatmap(with_ddof)


def _standardize_params(shape: Shape) -> SearchStrategy[tuple]:
    """standardize: a reduction's axis (None, one axis or a tuple) and eps, small or not."""
    return _reduction(shape).flatmap(lambda drawn: st.sampled_from([1e-5, 0.1, 1.0]).map(
        lambda eps: ((), {"axis": drawn[1]["axis"], "eps": eps})))


def _norm_params(shape: Shape) -> SearchStrategy[tuple]:
    """ord (None, 1, 2, inf, -inf, other p > 0), axis None or one axis, keepdims."""
    ords = st.sampled_from([None, 2, 1, np.inf, -np.inf, 3, 1.5, 0.5])
    return st.fixed_dictionaries({"ord": ords, "axis": _one_axis_or_none(shape),
                                  "keepdims": st.booleans()}).map(lambda kw: ((), kw))


def _cumulative(shape: Shape) -> SearchStrategy[tuple]:
    """axis for cumsum and cumprod: None (the flattened input) or one axis; a 0-d array or a
    Python float counts as 1-d, as numpy has it."""
    axis = _one_axis_or_none(shape) if shape else st.sampled_from([None, 0, -1])
    return axis.map(lambda axis: ((), {"axis": axis}))


def _arg_params(shape: Shape) -> SearchStrategy[tuple]:
    """argmax and argmin: axis None or one axis, keepdims."""
    return st.fixed_dictionaries({"axis": _one_axis_or_none(shape),
                                  "keepdims": st.booleans()}).map(lambda kw: ((), kw))


def _softmax_axis(shape: Shape) -> SearchStrategy[tuple]:
    if shape is None:  # the scalar path ignores the axis
        return st.just(((), {}))
    return _axis(shape).map(lambda axis: ((), {"axis": axis}))


def _factorizations(n: int, dims: int) -> list:
    """Every tuple of `dims` positive integers whose product is n."""
    if dims == 0:
        return [()] if n == 1 else []
    return [(d, *rest) for d in range(1, n + 1) if n % d == 0
            for rest in _factorizations(n // d, dims - 1)]


def _new_shape(shape: tuple) -> SearchStrategy[tuple]:
    """A shape with as many elements, one axis perhaps written -1."""
    size = int(np.prod(shape))
    choices = [s for dims in range(4) for s in _factorizations(size, dims)]

    def maybe_minus_one(new: tuple) -> SearchStrategy[tuple]:
        if not new:
            return st.just(new)
        return st.integers(-1, len(new) - 1).map(
            lambda k: new if k < 0 else new[:k] + (-1,) + new[k + 1:])
    return st.sampled_from(choices).flatmap(maybe_minus_one).map(lambda s: ((), {"shape": s}))


def _permutation(shape: tuple) -> SearchStrategy[tuple]:
    """axes: None (reverse them) or a permutation, each axis non-negative or negative."""
    ndim = len(shape)
    permutations = st.permutations(range(ndim)).flatmap(
        lambda p: st.tuples(*[st.sampled_from([a, a - ndim]) for a in p]))
    return (st.none() | permutations).map(lambda axes: ((), {"axes": axes}))


# ---- moving elements around (tinygrad_nn/ops/shape.py) -----------------------------------------
_SHAPE_OPS_SIZE = 64  # the most elements the shape ops below are drawn to make (expressions' default)


def _elements(shape: Shape) -> int:
    return int(np.prod(shape or ()))


def _some_axes(ndim: int, min_size: int = 0, max_size: Optional[int] = None) -> SearchStrategy[tuple]:
    """Distinct axes of `ndim` dimensions, in any order, each non-negative or negative."""
    return st.lists(st.integers(0, max(ndim - 1, 0)), min_size=min_size, max_size=max_size,
                    unique=True).flatmap(
        lambda axes: st.tuples(*[st.sampled_from([a, a - ndim]) for a in axes]))


def _squeeze_axes(shape: Shape) -> SearchStrategy[tuple]:
    """axis for squeeze: None, or some of the axes of length 1 (an int or a tuple)."""
    ones = [k for k, n in enumerate(shape or ()) if n == 1]
    axis: SearchStrategy[Any] = st.none() | st.just(())
    if ones:
        ndim = len(shape or ())
        chosen = st.lists(st.sampled_from(ones), min_size=1, unique=True).flatmap(
            lambda axes: st.tuples(*[st.sampled_from([a, a - ndim]) for a in axes]))
        axis = axis | chosen | chosen.map(lambda axes: axes[0])
    return axis.map(lambda axis: ((), {"axis": axis}))


def _unsqueeze_axes(shape: Shape) -> SearchStrategy[tuple]:
    """axis for unsqueeze: a position in the result (-1 appends), or a tuple of one or two."""
    ndim = len(shape or ())
    several = st.integers(1, 2).flatmap(lambda n: _some_axes(ndim + n, n, n))
    return (st.integers(-ndim - 1, ndim) | several).map(lambda axis: ((), {"axis": axis}))


def _flatten_dims(shape: Shape) -> SearchStrategy[tuple]:
    """start_dim <= end_dim, each non-negative or negative (a 0-d input counts as 1-d)."""
    ndim = max(len(shape or ()), 1)
    ordered = st.tuples(st.integers(0, ndim - 1), st.integers(0, ndim - 1)).map(sorted)
    signed = ordered.flatmap(lambda d: st.tuples(st.sampled_from([d[0], d[0] - ndim]),
                                                 st.sampled_from([d[1], d[1] - ndim])))
    return signed.map(lambda d: ((), {"start_dim": d[0], "end_dim": d[1]}))


def _unflatten_sizes(shape: tuple) -> SearchStrategy[tuple]:
    """An axis (non-negative or negative) and sizes whose product is its length, one perhaps -1."""
    ndim = len(shape or ())

    def split(k: int) -> SearchStrategy[tuple]:
        choices = [s for dims in (1, 2, 3) for s in _factorizations(shape[k], dims)]
        sizes = st.sampled_from(choices).flatmap(lambda s: st.integers(-1, len(s) - 1).map(
            lambda j: s if j < 0 else s[:j] + (-1,) + s[j + 1:]))
        return st.tuples(st.sampled_from([k, k - ndim]), sizes)
    return st.integers(0, ndim - 1).flatmap(split).map(
        lambda d: ((), {"axis": d[0], "sizes": d[1]}))


def _broadcast_target(shape: Shape) -> SearchStrategy[tuple]:
    """A shape that `shape` broadcasts to: new leading axes, axes of length 1 stretched (no
    more than _SHAPE_OPS_SIZE elements: leading axes go first, then the stretching)."""
    base = tuple(shape or ())

    def capped(drawn: tuple) -> tuple:
        lead, sides = list(drawn[0]), drawn[1]
        while lead and _elements((*lead, *sides)) > _SHAPE_OPS_SIZE:
            lead.pop(0)
        target = (*lead, *sides)
        return target if _elements(target) <= _SHAPE_OPS_SIZE else base
    sides = st.tuples(*[st.integers(1, 3) if n == 1 else st.just(n) for n in base])
    return st.tuples(st.lists(st.integers(1, 3), max_size=2), sides).map(capped)


def _broadcast_shape(shape: Shape) -> SearchStrategy[tuple]:
    return _broadcast_target(shape).map(lambda target: ((), {"shape": target}))


def _expand_sizes(shape: Shape) -> SearchStrategy[tuple]:
    """PyTorch's expand sizes: a broadcast target whose old axes may be written -1."""
    ndim = len(shape or ())

    def written(target: tuple) -> SearchStrategy[tuple]:
        keep = st.lists(st.booleans(), min_size=ndim, max_size=ndim)
        new = len(target) - ndim
        return keep.map(lambda k: target[:new] + tuple(
            -1 if minus else n for n, minus in zip(target[new:], k)))
    return _broadcast_target(shape).flatmap(written).map(lambda sizes: ((), {"sizes": sizes}))


def _swapped_axes(shape: tuple) -> SearchStrategy[tuple]:
    return st.tuples(_axis(shape), _axis(shape)).map(
        lambda axes: ((), {"axis1": axes[0], "axis2": axes[1]}))


def _moved_axes(shape: tuple) -> SearchStrategy[tuple]:
    """source and destination for moveaxis: one axis each, or tuples as long as each other."""
    ndim = len(shape or ())
    one = st.tuples(_axis(shape), _axis(shape))
    several = st.integers(1, ndim).flatmap(
        lambda n: st.tuples(_some_axes(ndim, n, n), _some_axes(ndim, n, n)))
    return (one | several).map(lambda d: ((), {"source": d[0], "destination": d[1]}))


def _permuted_dims(shape: Shape) -> SearchStrategy[tuple]:
    """dims for permute: every axis once, in any order, non-negative or negative."""
    ndim = len(shape or ())
    return _some_axes(ndim, ndim, ndim).map(lambda dims: ((), {"dims": dims}))


def _flip_axes(shape: Shape) -> SearchStrategy[tuple]:
    """axis for flip: None (every axis), one axis, or a tuple of distinct ones."""
    axis: SearchStrategy[Any] = st.none() | st.just(())
    if shape:
        axis = axis | _axis(shape) | _some_axes(len(shape), 1)
    return axis.map(lambda axis: ((), {"axis": axis}))


def _rot90_plane(shape: Shape) -> SearchStrategy[tuple]:
    """k quarter turns (either way, beyond a full turn too) in the plane of two distinct axes."""
    return st.tuples(st.integers(-5, 5), _some_axes(len(shape or ()), 2, 2)).map(
        lambda d: ((), {"k": d[0], "axes": d[1]}))


def _roll_shifts(shape: Shape) -> SearchStrategy[tuple]:
    """shift and axis for roll: the flattened array (axis None), one axis, or several distinct
    axes with a shift each; shifts beyond an axis' length and negative ones included."""
    shift = st.integers(-4, 4)
    drawn: SearchStrategy[dict] = shift.map(lambda s: {"shift": s, "axis": None})
    if shape:
        one = st.tuples(shift, _axis(shape)).map(lambda d: {"shift": d[0], "axis": d[1]})
        several = _some_axes(len(shape), 1).flatmap(
            lambda axes: st.tuples(*[shift] * len(axes)).map(
                lambda s: {"shift": s, "axis": axes}))
        drawn = drawn | one | several
    return drawn.map(lambda kw: ((), kw))


def _pad_widths(shape: Shape) -> SearchStrategy[tuple]:
    """pad_width in each of numpy's forms (n, (before, after), ((before, after),), a pair per
    axis), widths from -1 (a crop, keeping an element at least) to 2, a mode, and for mode
    'constant' the value; positive widths shrink until the result has no more than
    _SHAPE_OPS_SIZE elements."""
    shape = tuple(shape or ())
    ndim, short = len(shape), min(shape, default=0)

    def fits(pair: tuple, n: int) -> tuple:
        crop = max(-pair[0], 0) + max(-pair[1], 0)
        return pair if crop < n else (max(pair[0], 0), max(pair[1], 0))

    def capped(pairs: list) -> list:
        while _elements(tuple(n + b + a for n, (b, a) in zip(shape, pairs))) > _SHAPE_OPS_SIZE:
            pairs = [(b - (b > 0), a - (a > 0)) for b, a in pairs]
        return pairs
    side = st.integers(-1, 2)
    pair = st.tuples(side, side)
    uniform = st.tuples(st.sampled_from(["int", "pair", "one pair"]), pair).map(
        lambda d: (d[0], capped([fits((d[1][0], d[1][0]) if d[0] == "int" else d[1], short)] * ndim)))
    per_axis = st.lists(pair, min_size=ndim, max_size=ndim).map(
        lambda pairs: ("pairs", capped([fits(p, n) for p, n in zip(pairs, shape)])))

    def written(drawn: tuple) -> Any:
        form, pairs = drawn
        if form == "int":
            return pairs[0][0]
        if form == "pair":
            return pairs[0]
        return (pairs[0],) if form == "one pair" else tuple(pairs)
    widths = (uniform | per_axis).map(written)
    constant = st.tuples(widths, st.just(0.0) | floats(-2, 2)).map(
        lambda d: {"pad_width": d[0], "mode": "constant", "constant_values": d[1]})
    copying = st.tuples(widths, st.sampled_from(["reflect", "edge"])).map(
        lambda d: {"pad_width": d[0], "mode": d[1], "constant_values": 0.0})
    return (constant | copying).map(lambda kw: ((), kw))


def _repeat_counts(shape: Shape) -> SearchStrategy[tuple]:
    """repeats and axis for repeat: axis None (the flattened array) or one axis; one count for
    every element, or a count per element (zeros included), within _SHAPE_OPS_SIZE elements."""
    base = tuple(shape or ())
    size = _elements(base)

    def counts(axis: Any) -> SearchStrategy[tuple]:
        n = size if axis is None else base[axis]
        rest = size // max(n, 1)
        whole = st.integers(1, max(1, _SHAPE_OPS_SIZE // max(size, 1)))
        each = st.lists(st.integers(0, 3), min_size=n, max_size=n).filter(
            lambda r: 0 < sum(r) * rest <= _SHAPE_OPS_SIZE).map(np.array)
        return (whole | each).map(lambda r: ((), {"repeats": r, "axis": axis}))
    axis: SearchStrategy[Any] = st.none()
    if base:
        axis = axis | _axis(base)
    return axis.flatmap(counts)


def _tile_reps(shape: Shape) -> SearchStrategy[tuple]:
    """reps for tile: a count, or up to one more count than axes (fewer: the last axes), each
    1 to 3, cut down to _SHAPE_OPS_SIZE elements."""
    size, ndim = _elements(shape), len(shape or ())

    def capped(reps: list) -> tuple:
        reps = list(reps)
        while reps and size * _elements(tuple(reps)) > _SHAPE_OPS_SIZE:
            reps[reps.index(max(reps))] -= 1
        return tuple(max(r, 1) for r in reps)
    listed = st.lists(st.integers(1, 3), max_size=ndim + 1).map(capped)
    count = st.integers(1, 3).map(lambda r: capped([r])[0])
    return (count | listed).map(lambda reps: ((), {"reps": reps}))


def _index_array(side: int) -> SearchStrategy[np.ndarray]:
    """Indices into an axis of length `side`, negative ones and repeats included."""
    return st.lists(st.integers(-side, side - 1), min_size=1, max_size=5).map(np.array)


def _key(shape: tuple) -> SearchStrategy[tuple]:
    """An index: basic (ints, slices, None, ...), an index array on the first axis, alone or
    followed by a slice, index arrays on every axis, or a boolean mask."""
    basic = hnp.basic_indices(shape, allow_newaxis=True).filter(
        lambda key: np.empty(shape)[key].size > 0)
    fancy = _index_array(shape[0])
    if len(shape) > 1:
        fancy = fancy | st.tuples(_index_array(shape[0]), st.slices(shape[1]).filter(
            lambda s: np.empty(shape[1])[s].size > 0))
    everywhere = hnp.integer_array_indices(
        shape, result_shape=shapes(min_dims=1, max_dims=2, max_side=3))
    mask = hnp.arrays(bool, shape).filter(np.any)
    return (basic | fancy | everywhere | mask).map(lambda key: ((), {"key": key}))


def _pieces(shape: tuple) -> SearchStrategy[tuple]:
    """One or two more operands for concatenate: the same shape but along `axis`."""
    def with_axis(axis: int) -> SearchStrategy[tuple]:
        k = axis % len(shape)
        other = st.integers(1, 3).map(lambda n: shape[:k] + (n,) + shape[k + 1:])
        return st.lists(other, min_size=1, max_size=2).map(
            lambda others: (tuple(others), {"axis": axis}))
    return _axis(shape).flatmap(with_axis)


def _stacked(shape: Shape) -> SearchStrategy[tuple]:
    """One or two more operands of the same shape for stack, and a new axis."""
    ndim = 0 if shape is None else len(shape)
    return st.tuples(st.integers(1, 2), st.integers(-ndim - 1, ndim)).map(
        lambda drawn: ((shape,) * drawn[0], {"axis": drawn[1]}))


# ---- joining and splitting (tinygrad_nn/ops/joins.py) -------------------------------------------
_SMALL_SHAPES = [tuple(int(k) + 1 for k in index) for dims in range(4)
                 for index in np.ndindex(*(3,) * dims)]  # () to (3, 3, 3)


def _joinable(numpy_join: Callable) -> Callable[[Shape], SearchStrategy[tuple]]:
    """One or two more operands for vstack & co: shapes that `numpy_join` (np.vstack, ...)
    accepts beside the first operand's, numpy being the judge of what fits (a 1-D row beside a
    matrix, a 0-d beside a 1-D, ...); Python floats beside a Python float."""
    def operands(shape: Shape) -> SearchStrategy[tuple]:
        if shape is None:
            return st.integers(1, 2).map(lambda n: ((None,) * n, {}))
        varied = [shape[:k] + (n,) + shape[k + 1:] for k in range(len(shape)) for n in (1, 2, 3)]
        fitting: list = []
        for other in [shape, *varied, *_SMALL_SHAPES]:
            try:
                numpy_join([np.empty(shape), np.empty(other)])
            except ValueError:
                continue
            if other not in fitting:
                fitting.append(other)
        return st.lists(st.sampled_from(fitting), min_size=1, max_size=2).map(
            lambda others: (tuple(others), {}))
    return operands


def _appended(shape: Shape) -> SearchStrategy[tuple]:
    """The values of append: any shape with axis None (both get flattened), or the first
    operand's shape but along `axis`."""
    if shape is None:
        return st.just(((None,), {"axis": None}))
    flat = st.sampled_from(_SMALL_SHAPES[:13]).map(lambda other: ((other,), {"axis": None}))
    if not shape:
        return flat

    def along(axis: int) -> SearchStrategy[tuple]:
        k = axis % len(shape)
        return st.integers(1, 3).map(
            lambda n: ((shape[:k] + (n,) + shape[k + 1:],), {"axis": axis}))
    return flat | _axis(shape).flatmap(along)


def _split_points(even: bool) -> Callable[[tuple], SearchStrategy[tuple]]:
    """indices_or_sections and axis for split (`even`: a number of sections that divides the
    axis) or array_split (up to two more sections than elements: empty pieces), or sorted split
    points, none to three of them (repeats make empty pieces)."""
    def operands(shape: tuple) -> SearchStrategy[tuple]:
        def with_axis(axis: int) -> SearchStrategy[tuple]:
            n = shape[axis % len(shape)]
            counts = [d for d in range(1, n + 1) if n % d == 0] if even else list(range(1, n + 3))
            points = st.lists(st.integers(0, n), max_size=3).map(sorted)
            return (st.sampled_from(counts) | points).map(
                lambda ios: ((), {"indices_or_sections": ios, "axis": axis}))
        return _axis(shape).flatmap(with_axis)
    return operands


def _chunks(shape: tuple) -> SearchStrategy[tuple]:
    """chunks (up to two more than the axis has elements) and axis for chunk."""
    return _axis(shape).flatmap(lambda axis: st.integers(1, shape[axis % len(shape)] + 2).map(
        lambda chunks: ((), {"chunks": chunks, "axis": axis})))


def _rejoined(name: str, join: str = "concatenate") -> Callable[..., Value]:
    """A split op as one Value for the tests: its pieces, each times a different number (a
    gradient sent to the wrong piece then shows), joined again along their axis."""
    def call(x: Any, **kw: Any) -> Value:
        pieces = getattr(ops, name)(x, **kw)
        return getattr(ops, join)([p * float(k + 1) for k, p in enumerate(pieces)],
                                  axis=kw.get("axis", 0))
    return call


def _where_operands(shape: Shape) -> SearchStrategy[tuple]:
    """b, and c (whose sign is the condition), broadcasting with a and with each other."""
    if shape is None:
        return st.just(((None, None), {}))
    drawn = hnp.mutually_broadcastable_shapes(num_shapes=2, base_shape=shape, max_dims=3,
                                              max_side=max((3, *shape)))
    return drawn.map(lambda d: (tuple(d.input_shapes), {}))


def _matmul_partner(shape: tuple) -> SearchStrategy[tuple]:
    """The right operand of `shape` @ it: a vector, or a (batched) matrix whose batch axes
    broadcast with those of the left operand."""
    inner, batch = shape[-1], shape[:-2]
    matrices = st.tuples(hnp.broadcastable_shapes(batch, max_dims=2, max_side=3), st.integers(1, 3))
    right = st.just((inner,)) | matrices.map(lambda drawn: drawn[0] + (inner, drawn[1]))
    return right.map(lambda other: ((other,), {}))


def _linear_partners(shape: tuple) -> SearchStrategy[tuple]:
    """Weights (nout, nin) for inputs of shape (..., nin), and a bias (nout,) or a scalar one."""
    inner = shape[-1]
    return st.tuples(st.integers(1, 3), st.booleans()).map(
        lambda drawn: (((drawn[0], inner), (drawn[0],) if drawn[1] else ()), {}))


# ---- linear algebra (tinygrad_nn/ops/linalg.py) -------------------------------------------------
def _einsum_templates(shape: tuple, m: int, k: int) -> list:
    """(subscripts, other operands' shapes) that fit a first operand of `shape`, with m and k
    for sizes of new labels: products, transposes, sums, traces, diagonals, '...', implicit
    outputs (upper case sorts first) and size-1 broadcasting."""
    n = len(shape)
    out: list = []  # the generic ones come last: hypothesis favours the first of a list
    if n == 0:
        out += [("->", ()), (",->", ((),)), (",i->i", ((m,),))]
    if n == 1:
        a, = shape
        out += [("i->", ()), ("i", ()), ("i,i->", (shape,)), ("i,i", ((1,),)), ("i,i->i", (shape,)),
                ("i,j->ij", ((m,),)), ("j,i", ((m,),)), ("i,ij->j", ((a, m),)),
                ("i,j->j", ((m,),))]  # i: summed in one operand only
    if n == 2:
        a, b = shape
        out += [("ij->ji", ()), ("ij->", ()), ("ji", ()), ("bA", ()), ("ij->i", ()),
                ("ij,jk->ik", ((b, m),)), ("ij,kj->ik", ((m, b),)), ("ij,j->i", ((b,),)),
                ("ij,ij->", (shape,)), ("ij,ij->ij", ((1, b),)), ("aB,Bc", ((b, m),)),
                ("ij,jk->k", ((b, m),)), ("...j,j->...", ((b,),)), ("i...->...", ()),
                ("ij,jk,kl->il", ((b, m), (m, k)))]
        if a == b:
            out += [("ii", ()), ("ii->i", ()), ("ii,ij->j", ((a, m),)), ("ij,ji->", (shape,))]
    if n == 3:
        a, b, c = shape
        out += [("bij,bjk->bik", ((a, c, m),)), ("...ij,...jk->...ik", ((c, m),)),
                ("...ij,...jk->...ik", ((1, c, m),)), ("ijk->kji", ()), ("ijk->", ()),
                ("ijk,k->ij", ((c,),)), ("ijk,ijk->i", (shape,)), ("i...k->k...i", ()),
                ("ijk,jl->lik", ((b, m),))]
        if a == b:
            out += [("iij->j", ()), ("iij->ij", ())]
        if b == c:
            out += [("...ii->...i", ()), ("ijj->", ())]
        if a == b == c:
            out += [("iii->i", ()), ("iii", ())]
    return out + [("...->...", ()), ("...->", ()), ("...,...->...", (shape[1:],)),
                  ("...,...", ((1,) * n,)), ("...,->...", ((),))]


def _einsum_operands(shape: tuple) -> SearchStrategy[tuple]:
    """Subscripts for einsum and the other operands' shapes, from `_einsum_templates`."""
    return st.tuples(st.integers(1, 3), st.integers(1, 3)).flatmap(
        lambda mk: st.sampled_from(_einsum_templates(shape, *mk))).map(
        lambda t: (t[1], {"subscripts": t[0]}))


def _dot_partner(shape: Shape) -> SearchStrategy[tuple]:
    """numpy's dot: anything beside a 0-d; else a vector, or (..., k, m) for a's last axis k."""
    if not shape:
        return shapes(max_dims=2, max_side=3).map(lambda other: ((other,), {}))
    stacked = st.tuples(shapes(max_dims=1, max_side=3), st.integers(1, 3)).map(
        lambda d: d[0] + (shape[-1], d[1]))
    return (st.just((shape[-1],)) | stacked | st.just(())).map(lambda other: ((other,), {}))


def _inner_partner(shape: Shape) -> SearchStrategy[tuple]:
    """numpy's inner: anything beside a 0-d; else any leading axes and a's last one."""
    if not shape:
        return shapes(max_dims=2, max_side=3).map(lambda other: ((other,), {}))
    lead = shapes(max_dims=2, max_side=3).map(lambda s: s + (shape[-1],))
    return (lead | st.just(())).map(lambda other: ((other,), {}))


def _same_size(shape: tuple) -> SearchStrategy[tuple]:
    """vdot: a shape with as many elements."""
    size = int(np.prod(shape))
    return st.sampled_from([s for dims in range(4) for s in _factorizations(size, dims)]).map(
        lambda other: ((other,), {}))


def _tensordot_partner(shape: tuple) -> SearchStrategy[tuple]:
    """axes: an int N (b starts with a's last N axes) or a pair of axis lists, negative ones
    too, with b's summed axes anywhere among up to two of its own."""
    n = len(shape)
    counted = st.tuples(st.integers(0, n), shapes(max_dims=2, max_side=3)).map(
        lambda d: ((shape[n - d[0]:] + d[1],), {"axes": d[0]}))

    def paired(d: tuple) -> SearchStrategy[tuple]:
        chosen, extra = list(d[0]), list(d[1])
        dims = [shape[a] for a in chosen] + extra
        return st.permutations(range(len(dims))).flatmap(lambda order: st.booleans().map(
            lambda negative: ((tuple(dims[j] for j in order),), {"axes": (
                tuple(a - n if negative else a for a in chosen),
                tuple(order.index(j) for j in range(len(chosen))))})))
    pairs = st.tuples(st.permutations(range(n)).flatmap(  # summing none: axes=0 above
        lambda p: st.integers(min(n, 1), n).map(lambda c: p[:c])),
        st.lists(st.integers(1, 3), max_size=2)).flatmap(paired)
    return counted | pairs


def _cross_partner(shape: tuple) -> SearchStrategy[tuple]:
    """b of as many axes, 3 along `axis` (where a has 3), its other axes a's or 1."""
    n = len(shape)
    threes = [k for k in range(n) if shape[k] == 3] or [n - 1]  # none: cross refuses the draw

    def partner(d: tuple) -> tuple:
        axis, ones, negative = d
        other = tuple(1 if one and j != axis else s for j, (s, one) in enumerate(zip(shape, ones)))
        return (other,), {"axis": axis - n if negative else axis}
    return st.tuples(st.sampled_from(threes), st.lists(st.booleans(), min_size=n, max_size=n),
                     st.booleans()).map(partner)


def _clip_bounds(shape: Shape) -> SearchStrategy[tuple]:
    """lo < hi, well apart (or one of them None)."""
    bounds = st.tuples(floats(-3, 3), floats(-3, 3)).filter(lambda b: abs(b[0] - b[1]) > 5 * MARGIN)
    return st.tuples(bounds.map(sorted), st.sampled_from(["both", "lo", "hi"])).map(
        lambda drawn: ((), {"lo": drawn[0][0] if drawn[1] != "hi" else None,
                            "hi": drawn[0][1] if drawn[1] != "lo" else None}))


# ---- activations (tinygrad_nn/ops/activations.py) ------------------------------------------------
def _hardtanh_bounds(shape: Shape) -> SearchStrategy[tuple]:
    """min_val < max_val, well apart."""
    bounds = st.tuples(floats(-3, 3), floats(-3, 3)).filter(lambda b: abs(b[0] - b[1]) > 5 * MARGIN)
    return bounds.map(sorted).map(lambda b: ((), {"min_val": b[0], "max_val": b[1]}))


def _scatter_target(shape: tuple) -> SearchStrategy[tuple]:
    """For add_at of g (shape (n, ...)): indices into a first axis of length m (repeats
    included) and the target shape (m, ...)."""
    def target(m: int) -> SearchStrategy[tuple]:
        key = st.lists(st.integers(-m, m - 1), min_size=shape[0], max_size=shape[0])
        return key.map(lambda k: ((), {"key": np.array(k), "shape": (m, *shape[1:])}))
    return st.integers(1, 4).flatmap(target)


# ---- sorting, diagonals, gathering (tinygrad_nn/ops/indexing.py) ---------------------------------
def _indices_into(n: int, shape: Any) -> SearchStrategy[np.ndarray]:
    """An integer array of `shape` indexing an axis of length n, negative indices included."""
    return hnp.arrays(np.intp, shape, elements=st.integers(-n, n - 1))


def _diff_order(shape: tuple) -> SearchStrategy[tuple]:
    return st.tuples(st.integers(0, 2), _axis(shape)).map(
        lambda d: ((), {"n": d[0], "axis": d[1]}))


def _sort_axis(shape: tuple) -> SearchStrategy[tuple]:
    return st.tuples(_axis(shape), st.booleans()).map(
        lambda d: ((), {"axis": d[0], "descending": d[1]}))


def _diagonal_axes(shape: tuple) -> SearchStrategy[tuple]:
    """offset, and two different axes (each non-negative or negative)."""
    pairs = st.tuples(_axis(shape), _axis(shape)).filter(
        lambda p: p[0] % len(shape) != p[1] % len(shape))
    return st.tuples(st.integers(-2, 2), pairs).map(
        lambda d: ((), {"offset": d[0], "axis1": d[1][0], "axis2": d[1][1]}))


def _along(shape: tuple, broadcast: bool) -> SearchStrategy[tuple]:
    """An axis and the shape of an index along it: 1 to 4 along the axis, elsewhere x's side or
    1 (`broadcast`: take_along_axis) or anything up to x's side (torch's gather)."""
    def index_shape(axis: int) -> SearchStrategy[tuple]:
        a = axis % len(shape)
        sides = [st.integers(1, 4) if d == a else st.sampled_from([n, 1]) if broadcast
                 else st.integers(1, n) for d, n in enumerate(shape)]
        return st.tuples(*sides).map(lambda s: (axis, s))
    return _axis(shape).flatmap(index_shape)


def _take_along_indices(shape: tuple) -> SearchStrategy[tuple]:
    return _along(shape, True).flatmap(lambda d: _indices_into(shape[d[0]], d[1]).map(
        lambda index: ((), {"indices": index, "axis": d[0]})))


def _gather_index(shape: tuple) -> SearchStrategy[tuple]:
    return _along(shape, False).flatmap(lambda d: _indices_into(shape[d[0]], d[1]).map(
        lambda index: ((), {"axis": d[0], "index": index})))


def _take_indices(shape: tuple) -> SearchStrategy[tuple]:
    """axis None (the flattened input) or an axis, and indices of 0 to 2 dimensions."""
    def indices(axis: Any) -> SearchStrategy[tuple]:
        n = int(np.prod(shape)) if axis is None else shape[axis]
        return _indices_into(n, shapes(min_dims=0, max_dims=2, max_side=3)).map(
            lambda index: ((), {"indices": index, "axis": axis}))
    return (st.none() | _axis(shape)).flatmap(indices)


def _select_index(shape: tuple) -> SearchStrategy[tuple]:
    return _axis(shape).flatmap(lambda axis: _indices_into(shape[axis], (st.integers(1, 4))).map(
        lambda index: ((), {"axis": axis, "index": index})))


def _mask_and_value(shape: Shape) -> SearchStrategy[tuple]:
    """A mask operand that broadcasts with x (its sign is the mask), and the value to fill."""
    return st.tuples(_partner(shape), floats(-3, 3)).map(lambda d: ((d[0],), {"value": d[1]}))


def _index_add_operands(shape: tuple) -> SearchStrategy[tuple]:
    """A 1-D index along an axis (repeats included), the source's shape and alpha."""
    def along(axis: int) -> SearchStrategy[tuple]:
        a = axis % len(shape)
        return st.tuples(_indices_into(shape[a], st.integers(1, 4)), floats(-2, 2)).map(
            lambda d: ((shape[:a] + (len(d[0]),) + shape[a + 1:],),
                       {"axis": axis, "index": d[0], "alpha": d[1]}))
    return _axis(shape).flatmap(along)


def _scatter_add_operands(shape: tuple) -> SearchStrategy[tuple]:
    """An index as for gather, and a src at least as large as the index on every axis."""
    def src(d: tuple) -> SearchStrategy[tuple]:
        axis, sides = d
        larger = st.tuples(*[st.integers(m, m + 1) for m in sides])
        return st.tuples(_indices_into(shape[axis], sides), larger).map(
            lambda drawn: ((drawn[1],), {"axis": axis, "index": drawn[0]}))
    return _along(shape, False).flatmap(src)


def _fit_target(shape: Shape) -> SearchStrategy[tuple]:
    """A shape to fit to: `shape` summed down (leading axes dropped, others set to 1) or spread
    up (a new leading axis); a Python float (shape None) for a scalar or a one-element array."""
    def params(target: Shape) -> tuple:
        return (), {"shape": target, "dtype": np.dtype(np.float64)}
    if shape is None:
        return st.sampled_from([None, (2,), (1, 3)]).map(params)
    down = st.tuples(st.integers(0, len(shape)), st.lists(st.booleans(), min_size=len(shape),
                                                          max_size=len(shape))).map(
        lambda d: tuple(1 if ones else n for n, ones in zip(shape, d[1]))[d[0]:])
    up = st.integers(1, 3).map(lambda n: (n, *shape))
    options: SearchStrategy[Any] = down | up
    if int(np.prod(shape)) == 1:
        options = options | st.none()
    return options.map(params)


# ---- sliding windows (tinygrad_nn/ops/windows.py) -------------------------------------------------
def _as_given(values: tuple) -> Any:
    """One kernel axis as a plain int, as callers often write it; several as a tuple."""
    return values[0] if len(values) == 1 else values


def _window_axis(length: int) -> SearchStrategy[tuple]:
    """(kernel size, stride, dilation) for an axis of `length`: the dilated kernel fits."""
    return st.tuples(st.integers(1, length), st.integers(1, 2), st.integers(1, 2)).filter(
        lambda ksd: ksd[2] * (ksd[0] - 1) + 1 <= length)


def _window_params(shape: tuple) -> SearchStrategy[tuple]:
    """kernel_size, stride and dilation over the last one or two axes."""
    def over(n: int) -> SearchStrategy[tuple]:
        return st.tuples(*[_window_axis(length) for length in shape[len(shape) - n:]]).map(
            lambda axes: ((), {"kernel_size": _as_given(tuple(a[0] for a in axes)),
                               "stride": _as_given(tuple(a[1] for a in axes)),
                               "dilation": _as_given(tuple(a[2] for a in axes))}))
    return st.integers(1, min(2, len(shape))).flatmap(over)


def _fold_params(shape: tuple) -> SearchStrategy[tuple]:
    """fold_windows of windows laid out (..., O1..On, k1..kn), n one or two: an output_size that
    gives O windows with the drawn stride and dilation (plus up to stride - 1 unused places)."""
    def over(n: int) -> SearchStrategy[tuple]:
        counts, kernel = shape[len(shape) - 2 * n:len(shape) - n], shape[len(shape) - n:]
        axes = st.tuples(*[st.tuples(st.integers(1, 2), st.integers(1, 2), st.integers(0, 1))
                           for _ in range(n)])

        def params(drawn: tuple) -> tuple:
            size = tuple(s * (o - 1) + d * (k - 1) + 1 + extra % s
                         for (s, d, extra), o, k in zip(drawn, counts, kernel))
            return (), {"output_size": _as_given(size), "kernel_size": _as_given(kernel),
                        "stride": _as_given(tuple(a[0] for a in drawn)),
                        "dilation": _as_given(tuple(a[1] for a in drawn))}
        return axes.map(params)
    return st.integers(1, max(1, min(2, len(shape) // 2))).flatmap(over)


def _trailing_ndim(shape: tuple) -> SearchStrategy[tuple]:
    return st.integers(1, min(2, len(shape))).map(lambda n: ((), {"ndim": n}))


# How each kind of op (OpInfo.operands) draws its other operands and parameters.
# (a kind for ops with min_dims >= 1 takes only array shapes: tuples, never None)
OPERANDS: dict[str, Callable[[Any], SearchStrategy[tuple]]] = {
    "unary": _unary,
    "round": _keywords(decimals=st.integers(-1, 1)),  # round to tens, units or tenths
    "binary": _binary,
    "reduction": _reduction,
    "moments": _moments,
    "standardize": _standardize_params,
    "norm": _norm_params,
    "cumulative": _cumulative,
    "arg": _arg_params,
    "axis": _softmax_axis,
    "leaky_relu": _keywords(alpha=st.floats(0.0, 1.0)),
    "clip": _clip_bounds,
    "gelu": _keywords(approximate=st.sampled_from(["none", "tanh"])),
    "elu": _keywords(alpha=st.floats(0.1, 2.0)),  # elu and celu
    "hardtanh": _hardtanh_bounds,
    "where": _where_operands,
    "matmul": _matmul_partner,
    "linear": _linear_partners,
    "einsum": _einsum_operands,
    "dot": _dot_partner,
    "inner": _inner_partner,
    "outer": lambda shape: shapes(max_dims=2, max_side=3).map(lambda other: ((other,), {})),
    "vdot": _same_size,
    "tensordot": _tensordot_partner,
    "kron": lambda shape: shapes(max_dims=3, max_side=2).map(lambda other: ((other,), {})),
    "cross": _cross_partner,
    "mm": lambda shape: st.integers(1, 3).map(lambda m: (((shape[-1], m),), {})),
    "bmm": lambda shape: st.integers(1, 3).map(lambda m: (((shape[0], shape[-1], m),), {})),
    "mv": lambda shape: st.just(((shape[-1:],), {})),
    "same_shape": lambda shape: st.just(((shape,), {})),
    "reshape": _new_shape,
    "transpose": _permutation,
    "squeeze": _squeeze_axes,
    "unsqueeze": _unsqueeze_axes,
    "flatten": _flatten_dims,
    "unflatten": _unflatten_sizes,
    "broadcast_to": _broadcast_shape,
    "expand": _expand_sizes,
    "swapaxes": _swapped_axes,
    "moveaxis": _moved_axes,
    "permute": _permuted_dims,
    "flip": _flip_axes,
    "rot90": _rot90_plane,
    "roll": _roll_shifts,
    "pad": _pad_widths,
    "repeat": _repeat_counts,
    "tile": _tile_reps,
    "key": _key,
    "scatter": _scatter_target,
    "diff": _diff_order,
    "sort": _sort_axis,
    "triangle": _keywords(k=st.integers(-2, 2)),
    "diagonal": _diagonal_axes,
    "take_along_axis": _take_along_indices,
    "gather": _gather_index,
    "take": _take_indices,
    "index_select": _select_index,
    "masked_fill": _mask_and_value,
    "index_add": _index_add_operands,
    "scatter_add": _scatter_add_operands,
    "pieces": _pieces,
    "stacked": _stacked,
    "vstacked": _joinable(np.vstack),
    "hstacked": _joinable(np.hstack),
    "column_stacked": _joinable(np.column_stack),
    "dstacked": _joinable(np.dstack),
    "appended": _appended,
    "split_points": _split_points(even=True),
    "sections": _split_points(even=False),
    "chunks": _chunks,
    "fit": _fit_target,
    "sliding_windows": _window_params,
    "fold_windows": _fold_params,
    "first_max": _trailing_ndim,
}


def spec_of(name: str, op: Union[Op, ops.Composite], **changes: Any) -> OpSpec:
    """The OpSpec of an op, from its definition's `OpInfo` (a unary, smooth op without one)."""
    info = op.info if isinstance(op.info, OpInfo) else OpInfo()
    if info.operands not in OPERANDS:
        raise ValueError(f"spec_of: {name}'s OpInfo asks for operands {info.operands!r}; "
                         f"tinygrad_nn.testing knows {sorted(OPERANDS)}")
    fields = dict(operands=OPERANDS[info.operands], domains=info.domains, kinks=info.kinks,
                  smooth=info.smooth, min_dims=info.min_dims, scalar=op.scalar is not False)
    return OpSpec(name, op, **{**fields, **changes})


def _where_by_sign(a: Any, b: Any, c: Any) -> Value:
    return ops.where(c > 0, a, b)


# Ways of calling an op that its tests need beyond ``op(*operands, **kw)``.
_VARIANTS: dict[str, dict[str, Any]] = {
    # where: the condition comes from the sign of a third operand, kept away from 0
    "where": dict(call=_where_by_sign, domains=(FREE, FREE, Domain(avoid=(0.0,)))),
    "getitem": dict(call=lambda x, *, key: x[key]),
    # argmax and argmin give integers; in graphs they are their Values without a derivative
    "argmax": dict(call=lambda x, **kw: ops.reductions._argmax_value(x, **kw)),
    "argmin": dict(call=lambda x, **kw: ops.reductions._argmin_value(x, **kw)),
    # masked_fill: the mask is where a second operand, kept away from 0, is positive
    "masked_fill": dict(call=lambda x, c, *, value: ops.masked_fill(x, c > 0, value=value),
                        domains=(FREE, Domain(avoid=(0.0,)))),
    # torch's argument order: x, dim, index, then the source
    "index_add": dict(call=lambda x, source, *, axis, index, alpha:
                      ops.index_add(x, axis, index, source, alpha=alpha)),
    "scatter_add": dict(call=lambda x, src, *, axis, index: ops.scatter_add(x, axis, index, src)),
    # einsum takes numpy's order: the subscripts, then the operands
    "einsum": dict(call=lambda *xs, subscripts: ops.einsum(subscripts, *xs)),
    # the split family returns several Values: the tests see them scaled and joined again
    "split": dict(call=_rejoined("split")),
    "array_split": dict(call=_rejoined("array_split")),
    "chunk": dict(call=_rejoined("chunk")),
    "unbind": dict(call=_rejoined("unbind", join="stack")),
}

OPS: dict[str, OpSpec] = {
    **{name: spec_of(name, op, **_VARIANTS.get(name, {})) for name, op in ops.UNIQUE.items()},
    # x ** n for a whole number n: any base, the power rule at n = 0 and 1 included
    "pow_const": OpSpec("pow_const", ops.pow, _keywords(exponent=st.integers(0, 3)),
                        call=lambda x, *, exponent: x ** float(exponent)),
}


# ---- random expression graphs --------------------------------------------------------------------
@dataclass(frozen=True)
class Step:
    """One node of an Expression: an op applied to earlier nodes with keyword arguments."""

    spec: OpSpec
    operands: tuple  # positions of earlier nodes: the inputs come first, then one node per step
    kw: dict


@dataclass(frozen=True, eq=False)
class Expression:
    """A random graph of ops, and `inputs` at which every op in it is smooth.

    ``expr(*leaves)`` builds the graph on one Value per input and returns the Values of its
    last layer as a tuple, so ``assert_grads_match(expr, *expr.inputs)`` checks it. Its repr
    is the program, with the inputs at full precision, to reproduce a failure by hand.
    """

    inputs: tuple
    steps: tuple
    outputs: tuple

    @property
    def input_shapes(self) -> tuple:
        """The shape of each input (None for a Python float)."""
        return tuple(None if type(x) is float else x.shape for x in self.inputs)

    def __call__(self, *leaves: Any) -> tuple:
        nodes = list(leaves)
        for step in self.steps:
            nodes.append(step.spec.apply(*[nodes[j] for j in step.operands], **step.kw))
        return tuple(nodes[j] for j in self.outputs)

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(repr(self))  # hypothesis prints a falsifying example with this

    def __repr__(self) -> str:
        count = len(self.inputs)

        def name(j: int) -> str:
            return f"x{j}" if j < count else f"v{j - count}"
        lines = [f"  {name(j)} = {_show(x)}" for j, x in enumerate(self.inputs)]
        for n, step in enumerate(self.steps):
            args = [name(j) for j in step.operands]
            args += [f"{k}={_show(v)}" for k, v in step.kw.items()]
            lines.append(f"  {name(count + n)} = {step.spec.name}({', '.join(args)})")
        lines.append(f"  outputs: {', '.join(name(j) for j in self.outputs)}")
        return "Expression(\n" + "\n".join(lines) + ")"


def _show(x: Any) -> str:
    if isinstance(x, np.ndarray):
        return f"np.array({x.tolist()!r})"
    if isinstance(x, tuple):
        return "(" + ", ".join(map(_show, x)) + ("," if len(x) == 1 else "") + ")"
    return repr(x)


class _Builder:
    """Grows a graph node by node, applying an op only where it is smooth at the drawn data."""

    ATTEMPTS = 20

    def __init__(self, draw: Callable, input_shapes: SearchStrategy, scalar: bool, max_size: int):
        self.draw, self.input_shapes = draw, input_shapes
        self.scalar, self.max_size = scalar, max_size
        self.nodes: list = []  # an input's data, or a Step
        self.datas: list = []  # every node's data

    def shape(self, j: int) -> Shape:
        return None if type(self.datas[j]) is float else self.datas[j].shape

    def add_input(self, domain: Domain, shape: Shape) -> int:
        data = self.draw(draw_domain(domain, shape))
        self.nodes.append(data)
        self.datas.append(data)
        return len(self.nodes) - 1

    def add_step(self, specs: list, previous: list) -> int:
        """A node applying one of `specs` to a node of `previous` (to fresh inputs if empty)."""
        for _ in range(self.ATTEMPTS):
            mark = len(self.nodes)
            spec = self.choose(specs)
            firsts = [j for j in previous if spec.accepts(self.shape(j))]
            if previous and not firsts:
                continue
            if firsts:
                first = self.choose(firsts)
                shape = self.shape(first)
            elif self.scalar:
                shape = None
            else:
                shape = self.draw(_at_least(self.input_shapes, spec.min_dims))
            other_shapes, kw = self.draw(spec.draw_operands(shape))
            domains = spec.domains_for(kw, 1 + len(other_shapes))
            if not firsts:
                first = self.add_input(domains[0], shape)
            operands = [first] + [self.pick(domain, other) for domain, other in
                                  zip(domains[1:], other_shapes)]
            if self.try_step(Step(spec, tuple(operands), kw)):
                return len(self.nodes) - 1
            del self.nodes[mark:], self.datas[mark:]
        reject()  # no op of `specs` applies smoothly here: hypothesis draws another graph

    def pick(self, domain: Domain, shape: Shape) -> int:
        """An earlier node of this shape inside `domain`, or a fresh input."""
        reusable = [j for j in range(len(self.nodes))
                    if self.shape(j) == shape and domain.contains(self.datas[j])]
        choice = self.choose([None, *reusable])
        return self.add_input(domain, shape) if choice is None else choice

    def choose(self, options: list) -> Any:
        """One of `options`, shrinking towards the first (a cached strategy: fast to draw)."""
        if len(options) == 1:
            return options[0]
        return options[self.draw(st.integers(0, len(options) - 1))]

    def try_step(self, step: Step) -> bool:
        """Add `step` if its op is smooth at its operands and its result is modest in size."""
        datas = [self.datas[j] for j in step.operands]
        if not step.spec.is_smooth_at(datas, step.kw):
            return False
        try:
            with no_grad():
                result = step.spec.apply(*[constant(d) for d in datas], **step.kw).data
        except TinygradNNError:
            return False
        size = np.size(result)
        if not 0 < size <= self.max_size or not (np.abs(result) <= LIMIT).all():
            return False
        self.nodes.append(step)
        self.datas.append(result)
        return True

    def finish(self, outputs: list) -> Expression:
        """Number the inputs first, then the steps in order."""
        inputs = [j for j, node in enumerate(self.nodes) if not isinstance(node, Step)]
        steps = [j for j, node in enumerate(self.nodes) if isinstance(node, Step)]
        position = {j: n for n, j in enumerate(inputs + steps)}
        renumbered = [replace(step, operands=tuple(position[o] for o in step.operands))
                      for step in (self.nodes[j] for j in steps)]
        return Expression(tuple(self.nodes[j] for j in inputs), tuple(renumbered),
                          tuple(position[j] for j in outputs))


@functools.lru_cache(maxsize=None)
def _at_least(shapes: SearchStrategy[tuple], min_dims: int) -> SearchStrategy[tuple]:
    return shapes.filter(lambda shape: len(shape) >= min_dims)


@st.composite
def expressions(draw: Callable, ops: Optional[Sequence[Union[str, OpSpec]]] = None, depth: int = 5,
                width: int = 2, *, scalar: bool = False,
                input_shapes: SearchStrategy[tuple] = shapes(max_dims=3, max_side=3),
                max_size: int = 64) -> Expression:
    """Random graphs of `depth` layers of `width` nodes, each applying one of `ops` (names in
    `OPS` or OpSpecs of your own; all of OPS by default) to a node of the layer before, so that
    the longest path has at least `depth` ops. Other operands are earlier nodes or fresh inputs.
    Every op is applied only where it is smooth at the drawn inputs (inside its domain, MARGIN
    away from its kinks) and yields at most `max_size` elements, none larger than LIMIT. Inputs
    are arrays of `input_shapes`, or Python floats with ``scalar=True`` (ops that take only
    arrays are left out then; an op like `stack` still turns floats into an array, whose later
    partners are then drawn as arrays too).

    An op with a narrow domain needs others that bring values back into it: with ``ops=["log"]``
    alone, log(log(x)) soon leaves log's domain, no op applies, and hypothesis rejects the draw
    (and fails a health check if that happens too often)."""
    chosen = OPS.values() if ops is None else ops
    specs = [OPS[op] if isinstance(op, str) else op for op in chosen]
    specs = [spec for spec in specs if spec.scalar or not scalar]
    if not specs:
        raise ValueError("expressions: none of the ops takes Python floats" if scalar
                         else "expressions: give at least one op")
    builder = _Builder(draw, input_shapes, scalar, max_size)
    layer: list = []
    for _ in range(depth):
        layer = [builder.add_step(specs, layer) for _ in range(width)]
    return builder.finish(layer)


# ---- for pytest ----------------------------------------------------------------------------------
def assert_grads_match(f: Callable[..., Any], *inputs: Any, eps: float = 1e-6, atol: float = 1e-5,
                       rtol: float = 1e-3, fast: bool = False, seed: int = 0,
                       order: int = 1) -> None:
    """Assert that backpropagation through `f` agrees with finite differences at `inputs`.

    `gradcheck` as an assertion (`gradgradcheck` with ``order=2``: second derivatives): a
    failure raises `GradcheckError` (an AssertionError) with the check's message, from here
    rather than from the check's insides. ``seed=0`` fixes the projection of ``fast=True`` and
    the cotangents of ``order=2``, so that hypothesis replays a failure exactly.
    """
    __tracebackhide__ = True  # pytest shows the caller's line
    if order not in (1, 2):
        raise ValueError(f"assert_grads_match: order must be 1 or 2, got {order!r}")
    check = gradcheck if order == 1 else gradgradcheck
    try:
        check(f, *inputs, eps=eps, atol=atol, rtol=rtol, fast=fast, seed=seed)
    except GradcheckError as error:
        raise GradcheckError(str(error), error.mismatches) from None
