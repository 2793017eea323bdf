"""PyTorch as an oracle: tinygrad_nn agrees with torch in float64, value for value and gradient
for gradient.

The graphs come from `tinygrad_nn.testing`: its table `OPS` (every op with its operands, domain
and kinks) and `expressions` (random graphs of those ops, each applied only where it is smooth:
log and sqrt on positive inputs, relu/abs/leaky_relu/clip away from their kinks, max without
ties, values below testing.LIMIT). `TORCH` below spells each of those ops in torch; a graph is
replayed in both libraries and the loss sum_k sum(w_k * node_k), with random weights w_k, is
back-propagated, so that every node gets a gradient and no VJP sees a seed of ones. Each op is
tested alone (random shapes, broadcast partners, axes, indices), then in graphs of random depth
on arrays and on Python floats.

Tolerances: values and gradients of every node agree to ``rtol=1e-7, atol=1e-9``. Both sides
compute in float64; what differs is only the order of rounding inside each library (about 1e-16
relative per operation, times the growth of values up to testing.LIMIT = 1e3), so a real bug, off
by a factor, a sign or a transposition, stands out by many orders of magnitude.

Also here: micrograd's two published engine tests as our own scalar expressions, written once
and run on both libraries (``rel=1e-12``), and a 784-32-10 MLP on a batch of 16 whose softmax
cross-entropy (``rel=1e-12``) and parameter gradients (the tolerances above) match
``torch.nn.functional.cross_entropy``. The module is skipped when torch is not installed.
"""

import operator
from typing import Any, Callable

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

torch = pytest.importorskip("torch")
F = torch.nn.functional

from test_ops_values import GROUPS  # noqa: E402  (each group's ops, spelled in torch)
from opcase import per_op  # noqa: E402
from tinygrad_nn import Value, func  # noqa: E402  (below the skip: without torch nothing here runs)
from tinygrad_nn.testing import OPS, Expression, arrays, expressions, floats  # noqa: E402

RTOL, ATOL = 1e-7, 1e-9


# ---- each op of tinygrad_nn.testing.OPS, spelled in torch ----------------------------------------
def _reduction(reduce: Callable) -> Callable:
    """numpy's axis conventions in torch: None reduces every axis, () none of them."""
    def reduction(t: Any, *, axis: Any = None, keepdims: bool = False) -> Any:
        dims = tuple(range(t.ndim)) if axis is None else axis
        if dims == ():  # torch would read an empty dim as 'every axis'
            return t.clone()
        return reduce(t, dim=dims, keepdim=keepdims)
    return reduction


def _getitem(t: Any, *, key: Any) -> Any:
    """x[key] for any numpy key (negative steps and masks included, which torch lacks):
    numpy says which flat positions the key selects, torch gathers them."""
    positions = np.arange(t.numel()).reshape(tuple(t.shape))[key]
    return t.reshape(-1)[torch.as_tensor(np.array(positions))]  # a copy: no negative strides


TORCH = {
    "add": operator.add,
    "sub": operator.sub,
    "mul": operator.mul,
    "div": operator.truediv,
    "neg": operator.neg,
    "pow": operator.pow,
    "pow_const": lambda t, *, exponent: t ** float(exponent),
    "exp": torch.exp,
    "log": torch.log,
    "sqrt": torch.sqrt,
    "abs": torch.abs,
    "relu": torch.relu,
    "leaky_relu": lambda t, *, alpha: F.leaky_relu(t, alpha),
    "sigmoid": torch.sigmoid,
    "tanh": torch.tanh,
    # F.softplus turns linear above 20; logaddexp(x, 0) is ln(1 + e**x) everywhere
    "softplus": lambda t: torch.logaddexp(t, torch.zeros_like(t)),
    "clip": lambda t, *, lo, hi: t.clip(lo, hi),
    "where": lambda a, b, c: torch.where(c > 0, a, b),  # the condition: the sign of c
    "less": lambda a, b: (a < b).double(),
    "less_equal": lambda a, b: (a <= b).double(),
    "greater": lambda a, b: (a > b).double(),
    "greater_equal": lambda a, b: (a >= b).double(),
    "equal": lambda a, b: (a == b).double(),
    "not_equal": lambda a, b: (a != b).double(),
    "logical_and": lambda a, b: torch.logical_and(a, b).double(),
    "logical_or": lambda a, b: torch.logical_or(a, b).double(),
    "logical_xor": lambda a, b: torch.logical_xor(a, b).double(),
    "logical_not": lambda t: torch.logical_not(t).double(),
    "sign": lambda t: torch.sign(t).detach(),  # a mask, with no derivative (torch: zeros)
    "matmul": torch.matmul,
    "linear": lambda x, w, b: x @ w.T + b,
    "sum": _reduction(torch.sum),
    "mean": _reduction(torch.mean),
    "max": _reduction(torch.amax),  # amax splits ties as tinygrad_nn does; max(dim) picks one
    "logsumexp": _reduction(torch.logsumexp),
    "log_softmax": lambda t, *, axis=-1: t.log_softmax(axis),  # a Python float has no axis
    "softmax": lambda t, *, axis=-1: t.softmax(axis),
    "softmax_cross_entropy": lambda t, y: -(y * t.log_softmax(-1)).sum() / (t.numel() // t.shape[-1]),
    "reshape": lambda t, *, shape: t.reshape(shape),
    "transpose": lambda t, *, axes: t.permute(tuple(reversed(range(t.ndim))) if axes is None else axes),
    "getitem": _getitem,
    "concatenate": lambda *ts, axis: torch.cat(ts, dim=axis),
    "stack": lambda *ts, axis: torch.stack(ts, dim=axis),
    "fit_to": lambda t, *, shape, dtype: _fit_to(t, shape),
    "add_at": lambda g, *, key, shape: torch.zeros(shape, dtype=g.dtype).index_put(
        (torch.as_tensor(key),), g, accumulate=True),
    **{name: spelling for group in GROUPS for name, spelling in group.torch_spellings(torch, F).items()},
}


def _fit_to(t: Any, shape: Any) -> Any:
    """Sum t down to `shape` (None: every element), or spread it up to `shape`."""
    if shape is None:
        return t.sum()
    if t.ndim > len(shape):
        t = t.sum(dim=tuple(range(t.ndim - len(shape))))
    ones = tuple(k for k, n in enumerate(shape) if t.ndim == len(shape) and n == 1 and t.shape[k] != 1)
    if ones:
        t = t.sum(dim=ones, keepdim=True)
    return t.expand(shape)


# ---- replaying a graph in both libraries ---------------------------------------------------------
def torch_leaf(data: Any) -> Any:
    return torch.tensor(data, dtype=torch.float64, requires_grad=True)


def replay(expr: Expression, leaves: list, apply: Callable) -> list:
    """Every node of `expr` (its inputs, then one per step), with `apply(step, operands)`."""
    nodes = list(leaves)
    for step in expr.steps:
        nodes.append(apply(step, [nodes[j] for j in step.operands]))
    return nodes


def weighted_loss(nodes: list, weights: list, as_constant: Callable = lambda w: w) -> Any:
    """sum_k sum(weights[k] * nodes[k]), in either library."""
    total = 0.0
    for node, weight in zip(nodes, weights):
        total = total + (node * as_constant(weight)).sum()
    return total


def as_numpy(x: Any, shape: tuple) -> np.ndarray:
    """Data or gradient from either library as an array; no gradient (None) counts as zeros."""
    if x is None:
        return np.zeros(shape)
    return x.detach().numpy(force=True) if torch.is_tensor(x) else np.asarray(x)  # force: ZeroTensors


def assert_agree(ours: Any, theirs: Any, what: str, shape: Any = None) -> None:
    """Equal shapes and values; `shape` stands in for a missing gradient's (None: zeros)."""
    shape = tuple(theirs.shape) if shape is None else shape
    ours, theirs = as_numpy(ours, shape), as_numpy(theirs, shape)
    assert ours.shape == shape, f"{what}: shape {ours.shape}, torch has {shape}"
    np.testing.assert_allclose(ours, theirs, rtol=RTOL, atol=ATOL, err_msg=what)


def assert_agrees_with_torch(expr: Expression, data: st.DataObject) -> None:
    """Replay `expr` in both libraries, back-propagate a random weighted sum of its nodes,
    and compare the value and the gradient of every node."""
    ours = replay(expr, [Value(x) for x in expr.inputs],
                  lambda step, xs: step.spec.apply(*xs, **step.kw))
    theirs = replay(expr, [torch_leaf(x) for x in expr.inputs],
                    lambda step, xs: TORCH[step.spec.name](*xs, **step.kw))
    for node in theirs:
        if not node.is_leaf and node.requires_grad:  # comparisons have no gradient at all
            node.retain_grad()
    count = len(expr.inputs)
    weights = [data.draw(floats() if type(node.data) is float else arrays(node.shape), label="w")
               for node in ours[count:]]
    loss = weighted_loss(ours[count:], weights)
    reference_loss = weighted_loss(theirs[count:], weights,
                                   lambda w: torch.as_tensor(w, dtype=torch.float64))
    assert loss.requires_grad == reference_loss.requires_grad  # not when only comparisons are
    if loss.requires_grad:
        loss.backward()
        reference_loss.backward()
    for k, (mine, reference) in enumerate(zip(ours, theirs)):
        name = "input" if k < count else expr.steps[k - count].spec.name
        assert_agree(mine.data, reference, f"value of node {k} ({name})")
        assert_agree(mine.grad, reference.grad, f"gradient of node {k} ({name})",
                     tuple(reference.shape))


# ---- the properties ------------------------------------------------------------------------------
def test_the_torch_table_spells_every_op():
    assert set(TORCH) == set(OPS)


@pytest.mark.parametrize("name", sorted(OPS))
@per_op
@given(data=st.data())
def test_each_op_agrees_with_torch(name: str, data: st.DataObject):
    """Random shapes, broadcast partners, axes, permutations and indices, in the op's domain."""
    expr = data.draw(expressions(ops=[name], depth=1, width=1), label="expression")
    assert_agrees_with_torch(expr, data)


@pytest.mark.parametrize("scalar", [False, True], ids=["arrays", "python-floats"])
@given(data=st.data())
def test_random_graphs_agree_with_torch(scalar: bool, data: st.DataObject):
    """Graphs of 1 to 5 layers mixing every op, on arrays or, for the scalar path, on Python
    floats (which stack turns into arrays on the way)."""
    depth = data.draw(st.integers(1, 5), label="depth")
    expr = data.draw(expressions(depth=depth, width=2, scalar=scalar), label="expression")
    assert_agrees_with_torch(expr, data)


# ---- micrograd's two engine tests, as expressions written once and run on both libraries --------
def one_input_expression(x: Any) -> Any:
    """Reflected numbers, one input used many times, relu on both sides of its kink."""
    z = 1 - x / 2 + 3 * x  # -6.5 at x = -3
    off = z.relu()  # z < 0: relu blocks
    on = (x * z).relu()  # x z = 19.5 > 0: relu passes
    y = on * x - off + z ** 3 / x
    return y / 10 + 1 / (y - z)


def two_input_expression(a: Any, b: Any) -> Any:
    """Augmented assignment, powers, division, negation and reflected numbers, with two inputs.
    (In torch += is in place: it only touches values that no backward step has saved yet.)"""
    s = a * b - b ** 2  # -10 at (a, b) = (3, -2)
    s += (a + b).relu() * 5  # a + b = 1 > 0: relu passes
    s -= (b - a).relu() / 2  # b - a = -5 < 0: relu blocks
    t = (a - b) / 2 - s / a
    u = -s + 3 / t
    u += t ** 3
    return u / (1 + t * t) - 2 ** (b / a)


@pytest.mark.parametrize("expression, inputs", [
    (one_input_expression, (-3.0,)),
    (two_input_expression, (3.0, -2.0)),
], ids=["sanity-check", "more-ops"])
def test_micrograd_style_scalar_expressions(expression: Callable, inputs: tuple):
    ours = [Value(x) for x in inputs]
    theirs = [torch_leaf(x) for x in inputs]
    out, reference = expression(*ours), expression(*theirs)
    out.backward()
    reference.backward()
    assert type(out.data) is float
    assert out.data == pytest.approx(reference.item(), rel=1e-12)
    for mine, their in zip(ours, theirs):
        assert mine.grad == pytest.approx(their.grad.item(), rel=1e-12)


# ---- a small MLP with softmax cross-entropy on MNIST-sized inputs ---------------------------------
def mlp_logits(x: Any, p: dict, activation: str) -> Any:
    """Two layers, activation(x @ W1 + b1) @ W2 + b2, spelled the same for both libraries."""
    hidden = getattr(x @ p["W1"] + p["b1"], activation)()
    return hidden @ p["W2"] + p["b2"]


@pytest.mark.parametrize("activation", ["relu", "tanh", "sigmoid"])
def test_softmax_cross_entropy_mlp_agrees_with_torch(activation: str):
    rng = np.random.default_rng(0)
    batch, n_in, n_hidden, n_classes = 16, 784, 32, 10
    x = rng.uniform(0, 1, (batch, n_in))
    y = rng.integers(0, n_classes, batch)
    init = {"W1": rng.normal(0, n_in ** -0.5, (n_in, n_hidden)), "b1": rng.normal(0, 0.1, n_hidden),
            "W2": rng.normal(0, n_hidden ** -0.5, (n_hidden, n_classes)),
            "b2": rng.normal(0, 0.1, n_classes)}
    ours = {name: Value(w) for name, w in init.items()}
    theirs = {name: torch_leaf(w) for name, w in init.items()}

    logp = mlp_logits(x, ours, activation).log_softmax(axis=-1)
    loss = -logp[np.arange(batch), y].mean()
    loss.backward()
    reference = F.cross_entropy(mlp_logits(torch.as_tensor(x), theirs, activation), torch.as_tensor(y))
    reference.backward()

    assert loss.item() == pytest.approx(reference.item(), rel=1e-12)
    for name in init:
        assert_agree(ours[name].grad, theirs[name].grad, f"gradient of {name}")


# ---- second order: Hessian-vector products of random graphs --------------------------------------
@pytest.mark.parametrize("scalar", [False, True], ids=["arrays", "python-floats"])
@given(data=st.data())
def test_hessian_vector_products_of_random_graphs_agree_with_torch(scalar: bool, data: st.DataObject):
    """H v of a random weighted sum of a random graph's outputs: tinygrad_nn.func.hvp (reverse
    over reverse) against torch.autograd.grad twice, in float64."""
    depth = data.draw(st.integers(1, 4), label="depth")
    expr = data.draw(expressions(depth=depth, width=2, scalar=scalar, max_size=16),
                     label="expression")
    nodes = replay(expr, [Value(x) for x in expr.inputs], lambda step, xs: step.spec.apply(*xs, **step.kw))
    # torch's rule for a ** b sets the derivative by a to zero where b == 0, and with it the
    # mixed second derivative d2/da db = a^(b-1), which is not zero (gradgradcheck checks ours)
    assume(not any(step.spec.name == "pow" and np.any(nodes[step.operands[1]].data == 0)
                   for step in expr.steps))
    outputs = [nodes[j] for j in expr.outputs]
    weights = [data.draw(floats() if type(out.data) is float else arrays(out.shape), label="w")
               for out in outputs]
    vs = [data.draw(floats() if type(x) is float else arrays(x.shape), label="v")
          for x in expr.inputs]

    def f(*leaves):
        return weighted_loss(list(expr(*leaves)), weights)
    value, ours = func.hvp(f, tuple(expr.inputs), tuple(vs))

    leaves = [torch_leaf(x) for x in expr.inputs]
    nodes = replay(expr, leaves, lambda step, xs: TORCH[step.spec.name](*xs, **step.kw))
    total = weighted_loss([nodes[j] for j in expr.outputs], weights,
                          lambda w: torch.as_tensor(w, dtype=torch.float64))
    assert np.asarray(value) == pytest.approx(float(total.detach()), rel=1e-12, abs=1e-12)
    if not total.requires_grad:
        theirs = [None] * len(leaves)
    else:
        grads = torch.autograd.grad(total, leaves, create_graph=True, allow_unused=True)
        dot = sum((g * torch.as_tensor(v, dtype=torch.float64)).sum()
                  for g, v in zip(grads, vs) if g is not None)
        theirs = [None] * len(leaves) if not torch.is_tensor(dot) or not dot.requires_grad else \
            torch.autograd.grad(dot, leaves, allow_unused=True)
    for k, (mine, reference, x) in enumerate(zip(ours, theirs, expr.inputs)):
        assert_agree(mine, reference, f"H v for input {k}", np.shape(x))
