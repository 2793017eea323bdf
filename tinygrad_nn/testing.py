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
    """Finite floats in [min_value, max_value] (no NaN, inf or subnormals), at least `margin`
    away from each point of `avoid` (a value drawn too close is pushed 2 * margin away).
    `width=32` draws values exact in float32."""
    return _floats(min_value, max_value, tuple(avoid), margin, width)


@functools.lru_cache(maxsize=None)  # a strategy built once is drawn from much faster
def _floats(min_value: float, max_value: float, avoid: tuple, margin: float,
            width: int) -> SearchStrategy[float]:
    base = st.floats(min_value, max_value, allow_nan=False, allow_infinity=False,
                     allow_subnormal=False, width=width)
    if not avoid:
        return base

    def push_away(x: float) -> float:
        for p in avoid:
            if abs(x - p) < margin:
                up, down = p + 2 * margin, p - 2 * margin
                x = up if (x >= p and up <= max_value) or down < min_value else down
        return float(np.float32(x)) if width == 32 else x
    return base.map(push_away)


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
    `shapes()`), with `elements` (by default `floats()`, exact in `dtype`). With `min_gap`, any
    two elements differ by at least that much: no ties (where max has no derivative)."""
    dtype = np.dtype(dtype)
    if elements is None:
        elements = floats(width=32 if dtype == np.float32 else 64)
    drawn = hnp.arrays(dtype, shapes() if shape is None else shape, elements=elements)
    return drawn if min_gap is None else drawn.map(lambda a: _spread(a, min_gap))


def _spread(a: np.ndarray, gap: float) -> np.ndarray:
    """Add gap * rank to each element: sorted, consecutive elements then differ by >= gap."""
    ranks = np.empty(a.size)
    ranks[np.argsort(a, axis=None, kind="stable")] = np.arange(a.size)
    return np.asarray(a + gap * ranks.reshape(a.shape), dtype=a.dtype)


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
    """A float (shape None) or an array of `shape`, inside `domain` and within RANGE."""
    elements = floats(max(domain.lo, -RANGE), min(domain.hi, RANGE), avoid=domain.avoid,
                      margin=domain.margin)
    if shape is None:
        return elements
    return arrays(shape, elements=elements, min_gap=2 * domain.margin if domain.distinct else None)


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


def _axis(shape: Shape) -> SearchStrategy[Any]:
    """An axis of `shape`, as a non-negative or a negative number."""
    return st.integers(-len(shape), len(shape) - 1)


def _reduction(shape: Shape) -> SearchStrategy[tuple]:
    """axis: None, one axis or a tuple of axes; keepdims: either."""
    axis = st.none()
    if shape:
        axis = axis | _axis(shape) | hnp.valid_tuple_axes(len(shape))
    elif shape == ():
        axis = axis | st.just(())
    return st.fixed_dictionaries({"axis": axis, "keepdims": st.booleans()}).map(lambda kw: ((), kw))


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


def _new_shape(shape: Shape) -> SearchStrategy[tuple]:
    """A shape with as many elements, one axis perhaps written -1."""
    size = int(np.prod(shape))
    choices = [s for dims in range(4) for s in _factorizations(size, dims)]

    def maybe_minus_one(new: tuple) -> SearchStrategy[tuple]:
        if not new:
            return st.just(new)
        return st.integers(-1, len(new) - 1).map(
            lambda k: new if k < 0 else new[:k] + (-1,) + new[k + 1:])
    return st.sampled_from(choices).flatmap(maybe_minus_one).map(lambda s: ((), {"shape": s}))


def _permutation(shape: Shape) -> SearchStrategy[tuple]:
    """axes: None (reverse them) or a permutation, each axis non-negative or negative."""
    ndim = len(shape)
    permutations = st.permutations(range(ndim)).flatmap(
        lambda p: st.tuples(*[st.sampled_from([a, a - ndim]) for a in p]))
    return (st.none() | permutations).map(lambda axes: ((), {"axes": axes}))


def _index_array(side: int) -> SearchStrategy[np.ndarray]:
    """Indices into an axis of length `side`, negative ones and repeats included."""
    return st.lists(st.integers(-side, side - 1), min_size=1, max_size=5).map(np.array)


def _key(shape: Shape) -> SearchStrategy[tuple]:
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


def _pieces(shape: Shape) -> SearchStrategy[tuple]:
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


def _where_operands(shape: Shape) -> SearchStrategy[tuple]:
    """b, and c (whose sign is the condition), broadcasting with a and with each other."""
    if shape is None:
        return st.just(((None, None), {}))
    drawn = hnp.mutually_broadcastable_shapes(num_shapes=2, base_shape=shape, max_dims=3,
                                              max_side=max((3, *shape)))
    return drawn.map(lambda d: (tuple(d.input_shapes), {}))


def _matmul_partner(shape: Shape) -> SearchStrategy[tuple]:
    """The right operand of `shape` @ it: a vector, or a (batched) matrix whose batch axes
    broadcast with those of the left operand."""
    inner, batch = shape[-1], shape[:-2]
    matrices = st.tuples(hnp.broadcastable_shapes(batch, max_dims=2, max_side=3), st.integers(1, 3))
    right = st.just((inner,)) | matrices.map(lambda drawn: drawn[0] + (inner, drawn[1]))
    return right.map(lambda other: ((other,), {}))


def _linear_partners(shape: Shape) -> SearchStrategy[tuple]:
    """Weights (nout, nin) for inputs of shape (..., nin), and a bias (nout,) or a scalar one."""
    inner = shape[-1]
    return st.tuples(st.integers(1, 3), st.booleans()).map(
        lambda drawn: (((drawn[0], inner), (drawn[0],) if drawn[1] else ()), {}))


def _clip_bounds(shape: Shape) -> SearchStrategy[tuple]:
    """lo < hi, well apart (or one of them None)."""
    bounds = st.tuples(floats(-3, 3), floats(-3, 3)).filter(lambda b: abs(b[0] - b[1]) > 5 * MARGIN)
    return st.tuples(bounds.map(sorted), st.sampled_from(["both", "lo", "hi"])).map(
        lambda drawn: ((), {"lo": drawn[0][0] if drawn[1] != "hi" else None,
                            "hi": drawn[0][1] if drawn[1] != "lo" else None}))


def _scatter_target(shape: Shape) -> SearchStrategy[tuple]:
    """For add_at of g (shape (n, ...)): indices into a first axis of length m (repeats
    included) and the target shape (m, ...)."""
    def target(m: int) -> SearchStrategy[tuple]:
        key = st.lists(st.integers(-m, m - 1), min_size=shape[0], max_size=shape[0])
        return key.map(lambda k: ((), {"key": np.array(k), "shape": (m, *shape[1:])}))
    return st.integers(1, 4).flatmap(target)


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
    options = down | up
    if int(np.prod(shape)) == 1:
        options = options | st.none()
    return options.map(params)


# How each kind of op (OpInfo.operands) draws its other operands and parameters.
OPERANDS: dict[str, Callable[[Shape], SearchStrategy[tuple]]] = {
    "unary": _unary,
    "binary": _binary,
    "reduction": _reduction,
    "axis": _softmax_axis,
    "leaky_relu": _keywords(alpha=st.floats(0.0, 1.0)),
    "clip": _clip_bounds,
    "where": _where_operands,
    "matmul": _matmul_partner,
    "linear": _linear_partners,
    "same_shape": lambda shape: st.just(((shape,), {})),
    "reshape": _new_shape,
    "transpose": _permutation,
    "key": _key,
    "scatter": _scatter_target,
    "pieces": _pieces,
    "stacked": _stacked,
    "fit": _fit_target,
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
_VARIANTS = {
    # where: the condition comes from the sign of a third operand, kept away from 0
    "where": dict(call=_where_by_sign, domains=(FREE, FREE, Domain(avoid=(0.0,)))),
    "getitem": dict(call=lambda x, *, key: x[key]),
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
