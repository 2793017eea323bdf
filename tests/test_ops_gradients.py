"""Every op of the engine agrees with central finite differences, alone and in random graphs.

Written with `tinygrad_nn.testing`, the strategies users import: one table of ops (`OPS`) with
their operands, domains and kinks drives every test, as minitorch drives its ops through one list.

Tolerances, for float64 inputs and eps = 1e-6: a central difference is off by its truncation
error, eps^2 |f'''| / 6 (about 1e-11 here), and by rounding, about 1e-16 |f| / eps for each
rounding of a value of size |f|. That stays below 1e-7 for one op on inputs in [-4, 4]
(TOLERANCE: atol 1e-6), but can reach 1e-6 in a deep graph whose nodes grow to
testing.LIMIT = 1e3 (GRAPH_TOLERANCE: atol 1e-5). A wrong VJP is off by a factor, a sign or a
transposition: errors of order 1.
"""

import runpy
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_nn
from opcase import per_op
from tinygrad_nn import Op, Value, ops
from tinygrad_nn.gradcheck import GradcheckError
from tinygrad_nn.testing import (MARGIN, OPS, PROFILE, Domain, Expression, arrays,
                                 assert_grads_match, broadcastable_shapes, expressions, floats,
                                 scalars, shapes, values)

TOLERANCE = {"eps": 1e-6, "atol": 1e-6, "rtol": 1e-5}
GRAPH_TOLERANCE = {"eps": 1e-6, "atol": 1e-5, "rtol": 1e-5}
SCALAR_OPS = sorted(name for name, spec in OPS.items() if spec.scalar)
EXAMPLE = Path(__file__).parent.parent / "examples" / "gradcheck_custom_op.py"


def test_the_table_covers_every_op_of_the_engine():
    engine_ops = set(ops.UNIQUE.values())  # each op once (aliases share it), composites too
    assert engine_ops == {spec.op for spec in OPS.values()}


# ---- each op alone ------------------------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(OPS))
@per_op
@given(data=st.data())
def test_op_gradient_on_arrays(name, data):
    """Random shapes, broadcast partners, axes, permutations, indices, in the op's domain."""
    expr = data.draw(expressions(ops=[name], depth=1, width=1), label="expression")
    assert_grads_match(expr, *expr.inputs, **TOLERANCE)


@pytest.mark.parametrize("name", SCALAR_OPS)
@per_op
@given(data=st.data())
def test_op_gradient_on_python_floats(name, data):
    expr = data.draw(expressions(ops=[name], depth=1, width=1, scalar=True), label="expression")
    assert all(type(x) is float for x in expr.inputs)
    assert_grads_match(expr, *expr.inputs, **TOLERANCE)


# The property tests above draw these cases among others; here each one is sure to be checked.
def _normal(shape):
    return np.random.default_rng(len(shape)).normal(size=shape)


@pytest.mark.parametrize("a_shape, b_shape", [
    ((3,), (3,)),              # vector . vector -> scalar
    ((2, 3), (3,)),            # matrix @ vector
    ((3,), (3, 2)),            # vector @ matrix
    ((2, 3), (3, 4)),          # matrix @ matrix
    ((2, 1, 2, 3), (4, 3, 2)),  # batches broadcast against each other
    ((3,), (2, 3, 2)),         # vector @ batch of matrices
    ((2, 2, 3), (3,)),         # batch of matrices @ vector
])
def test_matmul_of_vectors_matrices_and_batches(a_shape, b_shape):
    assert_grads_match(ops.matmul, _normal(a_shape), _normal(b_shape), **TOLERANCE)


@pytest.mark.parametrize("key", [
    1, -1, slice(None, None, -2), (slice(1, 3), 0), (Ellipsis, None, 1),
    np.array([0, 0, 2, 0]),                          # repeated rows: their gradients add up
    (np.array([1, -2, 1]), slice(1, None)),          # an index array, then a slice
    (np.array([0, 2, 0]), np.array([3, 3, -1])),     # an index array per axis, a pair repeated
    np.array([[True, False, True, True]] * 3),       # a boolean mask
], ids=repr)
def test_indexing_by_ints_slices_and_index_arrays(key):
    assert_grads_match(lambda x: x[key], _normal((3, 4)), **TOLERANCE)


def test_repeated_indices_add_up_by_hand():
    x = Value(np.array([10.0, 20.0, 30.0]))
    x[np.array([0, 2, 0, 0])].sum().backward()
    np.testing.assert_array_equal(x.grad, [3.0, 0.0, 1.0])


# ---- graphs ------------------------------------------------------------------------------------
@given(expressions(depth=5, width=2))
def test_random_graphs_mixing_all_ops(expr):
    assert_grads_match(expr, *expr.inputs, **GRAPH_TOLERANCE)


@given(expressions(depth=5, width=2, scalar=True))
def test_random_graphs_on_python_floats(expr):
    assert_grads_match(expr, *expr.inputs, **GRAPH_TOLERANCE)


@given(expressions(depth=5, width=3))
def test_random_graphs_in_fast_mode(expr):
    assert_grads_match(expr, *expr.inputs, fast=True, **GRAPH_TOLERANCE)


# ---- a user's own op: the README example -------------------------------------------------------
def test_readme_example_a_five_line_test_of_a_custom_op():
    example = runpy.run_path(str(EXAMPLE))  # its definitions, as a user's test module has them
    example["test_log_cosh_gradient"]()     # the README's five lines, under this suite's profile


def test_the_same_five_lines_catch_a_wrong_vjp():
    log_cosh = runpy.run_path(str(EXAMPLE))["log_cosh"]
    log_cosh_with_a_bug = Op("log_cosh", log_cosh.forward, lambda g, out, x: g * np.tanh(x) / 2)

    @given(arrays(elements=floats(avoid=[0.0], margin=0.1)))
    def test_log_cosh_gradient(x):
        assert_grads_match(log_cosh_with_a_bug, x)

    with pytest.raises(GradcheckError, match="output 0 w.r.t. input 0"):
        test_log_cosh_gradient()


def test_the_example_script_runs(capsys):
    runpy.run_path(str(EXAMPLE), run_name="__main__")
    printed = capsys.readouterr().out
    assert "log_cosh: backpropagation agrees with finite differences" in printed
    assert "output 0 w.r.t. input 1" in printed  # the deliberately wrong VJP, caught


# ---- the strategies keep their promises ---------------------------------------------------------
@given(floats(-1.0, 1.0, avoid=[0.0, 0.5], margin=0.05))
def test_floats_stay_in_range_and_away_from_kinks(x):
    assert -1.0 <= x <= 1.0 and abs(x) >= 0.05 and abs(x - 0.5) >= 0.05


@given(arrays(shapes(min_dims=1), min_gap=0.1))
def test_arrays_with_a_min_gap_have_no_ties(a):
    ordered = np.sort(a, axis=None)
    assert (np.diff(ordered) >= 0.1 - 1e-12).all()


@given(broadcastable_shapes(3))
def test_broadcastable_shapes_broadcast(drawn):
    np.broadcast_shapes(*drawn)  # raises if they do not


@given(values(), scalars())
def test_values_cover_both_paths(v, s):
    assert isinstance(v, Value) and v.requires_grad
    assert type(s.data) is float


def test_a_domain_rejects_its_edges_and_kinks():
    log_domain, relu_domain = Domain(lo=0.1), Domain().avoiding([0.0])
    assert log_domain.contains(np.array([0.1, 3.0]))
    assert not log_domain.contains(np.array([0.05, 3.0]))
    assert relu_domain.contains(-MARGIN) and not relu_domain.contains(MARGIN / 2)


def _depth(expr: Expression) -> int:
    """The number of ops on the longest path from an input to an output."""
    depths = [0] * len(expr.inputs)
    for step in expr.steps:
        depths.append(1 + max(depths[j] for j in step.operands))
    return max(depths[j] for j in expr.outputs)


@given(expressions(depth=5, width=2))
def test_expressions_are_as_deep_as_asked_and_smooth_where_drawn(expr):
    assert _depth(expr) >= 5 and len(expr.outputs) == 2
    nodes = list(expr.inputs)
    with tinygrad_nn.no_grad():
        for step in expr.steps:
            operands = [nodes[j] for j in step.operands]
            assert step.spec.is_smooth_at(operands, step.kw), (step.spec.name, step.kw)
            constants = [tinygrad_nn.constant(x) for x in operands]
            nodes.append(step.spec.apply(*constants, **step.kw).data)


def test_the_profile_for_users_is_registered():
    profile = settings.get_profile(PROFILE)
    assert profile.deadline is None and profile.max_examples == 100
