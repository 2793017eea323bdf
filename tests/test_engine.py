"""The engine's contract: graph structure, backward semantics, modes, errors, micrograd compatibility."""

import gc
import math
import warnings

import numpy as np
import pytest

import tinygrad_nn as tn
from tinygrad_nn import (BackwardError, DomainError, InvalidIndexError, Op, ShapeError,
                         TinygradNNError, UnsupportedTypeError, Value, no_grad, zero_grad)


# ---- leaves and what they hold -------------------------------------------------------------------
def test_numbers_take_the_scalar_path_and_arrays_the_tensor_path():
    assert type(Value(3).data) is float and Value(3).data == 3.0
    assert type(Value(np.float32(2.5)).data) is float
    assert Value([1, 2]).data.dtype == np.float64
    assert Value(np.ones(2, dtype=np.float32)).dtype == np.float32
    assert Value(np.arange(3)).dtype == np.float64  # integers become float64
    assert Value(2.0, dtype="float32").data.dtype == np.float32


def test_leaf_copies_its_array():
    a = np.ones(3)
    v = Value(a)
    a[0] = 5
    assert v.data[0] == 1.0


def test_shape_dtype_item_numpy_len():
    v = Value(np.zeros((2, 3)))
    assert v.shape == (2, 3) and v.ndim == 2 and v.size == 6 and len(v) == 2
    assert Value(1.5).shape == () and Value(1.5).item() == 1.5 and float(Value(1.5)) == 1.5
    assert Value(np.array([4.0])).item() == 4.0
    assert Value(2.0).numpy().shape == ()
    with pytest.raises(ShapeError, match=r"item: .*shape \(2, 3\)"):
        v.item()
    with pytest.raises(TypeError):
        len(Value(1.0))


def test_repr_is_readable():
    assert repr(Value(2.0)) == "Value(data=2.0, grad=0.0)"
    assert repr(Value(2.0, label="w")) == "Value(data=2.0, grad=0.0, label='w')"
    r = repr(Value(np.zeros((50, 40)), label="W") * 2)
    assert "shape=(50, 40)" in r and "dtype=float64" in r and "op='*'" in r and len(r) < 300


def test_constants_from_python_numbers_need_no_gradient():
    x = Value(3.0)
    y = x * 2
    two = y._prev[1]
    assert y._prev[0] is x and two.data == 2.0 and not two.requires_grad
    y.backward()
    assert x.grad == 2.0 and two.grad == 0.0


def test_prev_is_a_tuple_in_argument_order_and_op_names():
    a, b = Value(1.0), Value(2.0)
    assert (a - b)._prev == (a, b) and (b - a)._prev == (b, a)
    assert (a * a)._prev == (a, a)
    assert (a + b)._op == "+" and a.relu()._op == "relu" and a._op == ""


# ---- backward semantics ------------------------------------------------------------------------
def test_diamond_gets_the_sum_of_its_paths():
    # y = (x*3) * (x*3 + 1) with the shared node s = x*3: dy/dx = 3*(s + 1) + 3*s = 6s + 3 at x=2 -> 39
    x = Value(2.0)
    s = x * 3
    y = s * (s + 1)
    y.backward()
    assert x.grad == 39.0
    assert s.grad == 2 * s.data + 1  # dy/ds = 2s + 1 = 13


def test_leaves_accumulate_but_intermediates_do_not_compound():
    # micrograd's bug: a second backward doubles intermediate grads, so leaves get more than 2x
    x = Value(3.0)
    h = x * x          # dh/dx = 6
    y = h * 2          # dy/dh = 2
    y.backward()
    assert (x.grad, h.grad) == (12.0, 2.0)
    y.backward()
    assert (x.grad, h.grad) == (24.0, 2.0)  # leaf accumulates exactly once more; h is not doubled


def test_zero_grad_resets_leaves():
    x, w = Value(1.0), Value(np.ones(3))
    (x * w).sum().backward()
    zero_grad([x, w])
    assert x.grad == 0.0 and np.array_equal(w.grad, np.zeros(3))


def test_backward_on_a_leaf_and_second_root():
    x = Value(5.0)
    x.backward()
    assert x.grad == 1.0
    y, z = x * 2, x * 3
    y.backward()
    z.backward()
    assert x.grad == 1.0 + 2.0 + 3.0


def test_backward_needs_a_gradient_for_non_scalar_outputs():
    y = Value(np.ones(3)) * 2
    with pytest.raises(BackwardError, match=r"shape \(3,\).*backward\(np\.ones\(\(3,\)\)\)"):
        y.backward()
    y.backward(np.array([1.0, 2.0, 3.0]))
    np.testing.assert_array_equal(y._prev[0].grad, [2.0, 4.0, 6.0])
    with pytest.raises(BackwardError, match=r"gradient has shape \(2,\) but the output has shape \(3,\)"):
        y.backward(np.ones(2))
    one = Value(np.ones((1, 1))) * 3  # one element: seed 1 like a scalar
    one.backward()
    assert one._prev[0].grad.shape == (1, 1) and one._prev[0].grad[0, 0] == 3.0


def test_backward_on_a_constant_is_refused():
    with pytest.raises(BackwardError, match="does not require a gradient"):
        (Value(1.0, requires_grad=False) * 2).backward()


def test_deep_chain_backprops_without_recursion():
    x = Value(1.0)
    y = x
    for _ in range(500_000):  # 10**6 nodes: a multiply and an add per step
        y = y * 1.0 + 0.5
    y.backward()
    assert x.grad == 1.0 and y.data == 1.0 + 0.5 * 500_000


def test_graph_has_no_reference_cycles():
    # freed by reference counting alone, unlike micrograd's closures: the collector finds nothing
    gc.collect()
    gc.disable()
    try:
        x = Value(np.ones(3))
        y = ((x * 2).exp().sum() + 1) * Value(2.0)
        y.backward()
        del y
        assert gc.collect() == 0
    finally:
        gc.enable()


def test_grad_matches_data_shape_and_dtype_after_backward():
    w = Value(np.ones((2, 3), dtype=np.float32))
    b = Value(np.zeros(3, dtype=np.float32))
    out = ((w * 2.0 + b) @ np.ones(3, dtype=np.float32)).sum()
    assert out.dtype == np.float32
    out.backward()
    assert w.grad.dtype == np.float32 and w.grad.shape == (2, 3)
    assert b.grad.dtype == np.float32 and b.grad.shape == (3,)
    np.testing.assert_array_equal(b.grad, [2, 2, 2])


def test_broadcast_gradients_are_summed_back_to_each_input():
    a = Value(np.ones((3, 1)))
    b = Value(np.arange(4.0))
    s = Value(2.0)
    ((a + b) * s).sum().backward()
    np.testing.assert_array_equal(a.grad, [[8.0], [8.0], [8.0]])  # 4 columns * s
    np.testing.assert_array_equal(b.grad, [6.0] * 4)                # 3 rows * s
    assert type(s.grad) is float and s.grad == 3 * (0 + 1 + 2 + 3) + 12  # sum of a + b


# ---- modes ---------------------------------------------------------------------------------------
def test_no_grad_builds_no_graph():
    x = Value(2.0)
    with no_grad():
        assert not tn.is_grad_enabled()
        y = x * x + 1
    assert tn.is_grad_enabled()
    assert y._prev == () and not y.requires_grad and y.data == 5.0

    @no_grad()
    def evaluate(v):
        return v.exp()
    assert evaluate(x)._prev == ()


def test_detach_and_requires_grad():
    x = Value(np.ones(2))
    d = (x * 3).detach()
    assert d._prev == () and not d.requires_grad
    frozen = Value(np.ones(2), requires_grad=False)
    y = (x * frozen).sum()
    y.backward()
    assert np.array_equal(frozen.grad, np.zeros(2)) or frozen.grad is None
    np.testing.assert_array_equal(x.grad, [1.0, 1.0])


def test_in_place_add_does_not_mutate_shared_values():
    a = Value(1.0)
    b = a
    a += 2
    assert b.data == 1.0 and a.data == 3.0 and a is not b


def test_numpy_on_the_left_defers_to_value():
    x = Value(np.array([1.0, 2.0]))
    for y in (np.ones(2) * x, np.float64(2.0) + x, np.ones(2) @ x):
        assert isinstance(y, Value)
    assert isinstance(np.float64(2.0) * Value(3.0), Value)


# ---- user-defined ops -----------------------------------------------------------------------------
def test_user_defined_op_with_forward_and_vjp():
    cube = Op("cube", lambda x: x ** 3, lambda g, out, x: g * 3 * x ** 2)
    x = Value(2.0)
    y = cube(x) * 2
    y.backward()
    assert y.data == 16.0 and x.grad == 24.0 and y._prev[0]._op == "cube"


def test_user_op_whose_vjp_has_the_wrong_shape_is_reported():
    bad = Op("bad", lambda x: x.sum(), lambda g, out, x: np.ones(7))
    y = bad(Value(np.ones(3)))
    with pytest.raises(ShapeError, match=r"bad: the VJP for input 0 gave a gradient of shape \(7,\)"):
        y.backward()



def test_wrong_shaped_vjp_names_the_input_even_when_one_value_is_both_inputs():
    bad = Op("bad", lambda a, b: a * b, lambda g, out, a, b: g * b, lambda g, out, a, b: np.ones(7))
    x = Value(np.ones(3))
    with pytest.raises(ShapeError, match=r"bad: the VJP for input 1 gave a gradient of shape \(7,\)"):
        bad(x, x).sum().backward()


def test_leaf_gradients_accumulate_in_place_and_zero_grad_gives_a_fresh_buffer():
    x = Value(np.array([1.0, 2.0]))
    (x * 3).sum().backward()
    first = x.grad
    (x * 3).sum().backward()
    assert x.grad is first  # grown in place, as PyTorch does
    np.testing.assert_array_equal(first, [6.0, 6.0])
    zero_grad([x])
    np.testing.assert_array_equal(first, [6.0, 6.0])  # a gradient read before zero_grad is kept
    np.testing.assert_array_equal(x.grad, [0.0, 0.0])


def test_a_gradient_handed_to_a_leaf_is_never_modified_later():
    x = Value(np.array([1.0, 2.0]))
    x.grad = None  # as after PyTorch's zero_grad(set_to_none=True)
    seed = np.array([1.0, 1.0])
    x.backward(seed)
    x.backward(seed)
    np.testing.assert_array_equal(seed, [1.0, 1.0])
    np.testing.assert_array_equal(x.grad, [2.0, 2.0])


def test_backward_leaves_the_garbage_collector_as_it_found_it():
    x = Value(2.0)
    assert gc.isenabled()
    (x * x).backward()
    assert gc.isenabled()
    gc.disable()
    try:
        (x * x).backward()
        assert not gc.isenabled()
    finally:
        gc.enable()
    bad = Op("bad", lambda a: a, lambda g, out, a: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        bad(x).backward()
    assert gc.isenabled()


def test_operators_share_one_constant_per_number_but_keep_the_sign_of_zero():
    x = Value(3.0)
    assert (x * 2)._prev[1] is (2.0 + x)._prev[0]  # one node for the number 2 in any operator
    assert math.copysign(1.0, (x * -0.0).data) == -1.0
    assert math.copysign(1.0, (x * 0.0).data) == 1.0
    assert tn.constant(2.0) is not tn.constant(2.0)  # a constant made by hand is the user's own

# ---- errors: one clear exception naming the op and the values ---------------------------------------
@pytest.mark.parametrize("make, error, pattern", [
    (lambda: Value(np.ones(3)) + Value(np.ones(4)), ShapeError, r"\+: .*\(3,\).*\(4,\)"),
    (lambda: Value(np.ones((2, 3))) @ Value(np.ones((2, 3))), ShapeError, r"@: shapes \(2, 3\) and \(2, 3\)"),
    (lambda: Value(np.ones(6)).reshape(4), ShapeError, r"reshape: .*size 6.*\(4,\)"),
    (lambda: Value(np.array([1.0, -2.0])).log(), DomainError, r"log: the input must be positive; got -2.0 at index \(1,\)"),
    (lambda: Value(-1.0).log(), DomainError, r"log: .*got -1.0"),
    (lambda: Value(-4.0).sqrt(), DomainError, r"sqrt: .*non-negative; got -4.0"),
    (lambda: Value(1.0) / 0, DomainError, r"/: the divisor must be nonzero"),
    (lambda: Value(np.ones(2)) / np.array([1.0, 0.0]), DomainError, r"/: .*index \(1,\)"),
    (lambda: Value(-8.0) ** 0.5, DomainError, r"\*\*: a negative base needs an integer exponent"),
    (lambda: Value(0.0) ** -1, DomainError, r"\*\*: zero cannot be raised to a negative power"),
    (lambda: Value(1000.0).exp(), DomainError, r"exp: .*overflows; got 1000.0"),
    (lambda: Value(np.ones(3))[5], InvalidIndexError, r"\[\]: index 5 is out of bounds"),
    (lambda: Value(1.0)[0], ShapeError, r"scalar Value cannot be indexed"),
    (lambda: Value(1.0) + "a", UnsupportedTypeError, r"\+: unsupported operand type str"),
    (lambda: Value("abc"), UnsupportedTypeError, r"Value: unsupported operand type str"),
    (lambda: Value(1 + 2j), UnsupportedTypeError, r"complex"),
    (lambda: Value([Value(1.0)]), UnsupportedTypeError, r"dtype object.*stack"),
    (lambda: Value(np.ones((2, 2))).sum(axis=3), ShapeError, r"sum: axis 3 is out of bounds"),
])
def test_errors_name_the_op_and_the_culprit(make, error, pattern):
    with pytest.raises(error, match=pattern) as info:
        make()
    assert isinstance(info.value, TinygradNNError)


def test_errors_in_backward_name_the_op():
    x = Value(0.0)
    y = x.sqrt()
    with pytest.raises(DomainError, match="sqrt: the derivative is infinite at 0"):
        y.backward()
    b = Value(-2.0)
    z = Value(2.0) ** b  # fine forward
    z.backward()          # exponent derivative needs log(2): fine
    w = Value(-2.0) ** Value(2.0)
    with pytest.raises(DomainError, match="exponent needs a non-negative base; got -2.0"):
        w.backward()


def test_no_numpy_warnings_leak():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        x = Value(np.array([-1e3, 0.0, 1e3]))
        for y in (x.sigmoid(), x.softplus(), x.log_softmax(), x.tanh(), x.logsumexp(axis=0)):
            y.sum().backward()
            assert np.all(np.isfinite(y.data)) and np.all(np.isfinite(x.grad))
        with pytest.raises(DomainError):
            Value(np.array([0.0, 1.0])).log()


# ---- micrograd compatibility ---------------------------------------------------------------------
def test_micrograd_sanity_check_by_hand():
    # micrograd's test_sanity_check expression; values worked out by hand:
    # x=-4: z = 2x+2+x = -10, q = relu(z) + z*x = 40, h = relu(z*z) = 100, y = h + q + q*x = -20
    # dy/dx = dh/dx + (1+x) dq/dx + q, with dh/dx = 2z*3 = -60, dq/dx = 0 + 3x + z = -22
    #       = -60 + (-3)(-22) + 40 = 46
    x = Value(-4.0)
    z = 2 * x + 2 + x
    q = z.relu() + z * x
    h = (z * z).relu()
    y = h + q + q * x
    y.backward()
    assert y.data == -20.0 and x.grad == 46.0


def test_micrograd_more_ops_reference_numbers():
    # micrograd's test_more_ops expression; its README quotes g=24.7041, dg/da=138.8338, dg/db=645.5773
    a, b = Value(-4.0), Value(2.0)
    c = a + b
    d = a * b + b ** 3
    c += c + 1
    c += 1 + c + (-a)
    d += d * 2 + (b + a).relu()
    d += 3 * d + (b - a).relu()
    e = c - d
    f = e ** 2
    g = f / 2.0
    g += 10.0 / f
    g.backward()
    assert math.isclose(g.data, 24.70408163265306, rel_tol=1e-12)
    assert math.isclose(a.grad, 138.83381924198252, rel_tol=1e-12)
    assert math.isclose(b.grad, 645.5772594752186, rel_tol=1e-12)


def test_micrograd_demo_training_loop_runs_unchanged():
    # the demo notebook's loop: Values from numpy scalars, sum() of Values, p.data -= lr * p.grad
    rng = np.random.default_rng(0)
    X = rng.normal(size=(20, 2))
    y = np.where(X[:, 0] * X[:, 1] > 0, 1, -1)
    params = [Value(rng.uniform(-1, 1)) for _ in range(3)]

    def model(x):
        return (params[0] * x[0] + params[1] * x[1] + params[2]).tanh()

    def loss():
        inputs = [list(map(Value, row)) for row in X]
        scores = list(map(model, inputs))
        losses = [(1 + -yi * si).relu() for yi, si in zip(y, scores)]
        return sum(losses) * (1.0 / len(losses)) + 1e-4 * sum((p * p for p in params))

    first = loss()
    for k in range(20):
        total = loss()
        for p in params:
            p.grad = 0
        total.backward()
        for p in params:
            p.data -= 0.5 * p.grad
    assert isinstance(first.data, float) and loss().data < first.data


# ---- == and !=, truth, and PyTorch's parameter names ---------------------------------------------
def test_equality_compares_elementwise_and_hashing_stays_by_identity():
    x = Value(np.array([1.0, 2.0, 3.0]))
    same = Value(np.array([1.0, 2.0, 3.0]))
    np.testing.assert_array_equal((x == np.array([1.0, 0.0, 3.0])).data, [1.0, 0.0, 1.0])
    np.testing.assert_array_equal((x != 2).data, [1.0, 0.0, 1.0])
    np.testing.assert_array_equal((x == same).data, [1.0, 1.0, 1.0])
    assert (x == same)._op == "equal" and not (x == same).requires_grad  # a mask: no gradient
    # two equal Values are still two nodes: sets and dicts go by identity
    assert len({x, same}) == 2 and {x: 1}.get(same) is None and {x: 1}[x] == 1
    # None and strings are not numbers: Python's answer, not an error
    assert (x == None) is False and (x != None) is True  # noqa: E711
    assert (x == "x") is False and x in [None, x]
    with pytest.raises(UnsupportedTypeError, match="<"):
        x < "x"  # noqa: B015  (ordering has no such fallback)


def test_truth_of_one_element_values_and_ambiguity_of_larger_ones():
    assert bool(Value(np.array([[2.0]]))) and not bool(Value(0.0))
    with pytest.raises(ValueError, match=r"shape \(2,\) is ambiguous"):
        bool(Value(np.array([1.0, 1.0])))
    x = Value(3.0)
    assert (x > 2) and not (x > 4)  # a scalar comparison reads as a Python condition


def test_where_takes_a_mask_value_a_boolean_array_or_a_bool():
    a, b = Value(np.array([1.0, 2.0, 3.0])), Value(np.array([10.0, 20.0, 30.0]))
    for cond in (a > 1.5, np.array([False, True, True]), [0.0, 1.0, 1.0]):
        out = tn.where(cond, a, b)
        np.testing.assert_array_equal(out.data, [10.0, 2.0, 3.0])
    out = tn.where(True, a, b)
    out.backward(np.array([1.0, 2.0, 3.0]))
    np.testing.assert_array_equal(a.grad, [1.0, 2.0, 3.0])
    np.testing.assert_array_equal(b.grad, [0.0, 0.0, 0.0])


def test_torch_parameter_names_are_accepted_for_numpys():
    x = Value(np.arange(6.0).reshape(2, 3))
    np.testing.assert_array_equal(x.sum(dim=1, keepdim=True).data, [[3.0], [12.0]])
    np.testing.assert_array_equal(tn.mean(x, dim=0).data, [1.5, 2.5, 3.5])
    np.testing.assert_allclose(x.softmax(dim=0).data, x.softmax(axis=0).data)
    with pytest.raises(TypeError, match="sum: got both 'dim' and 'axis'"):
        x.sum(dim=1, axis=0)
    with pytest.raises(TypeError, match="unexpected parameter"):
        x.reshape(dim=1)  # reshape has no axis: dim is not renamed, and is refused


def test_logical_operators_combine_masks_that_index_and_select():
    x = Value(np.array([-1.0, 0.5, 2.0, 0.0]))
    inside = (x > 0) & (x < 1)
    np.testing.assert_array_equal(inside.data, [0.0, 1.0, 0.0, 0.0])
    np.testing.assert_array_equal((~inside).data, [1.0, 0.0, 1.0, 1.0])
    np.testing.assert_array_equal(((x < 0) | (x > 1)).data, [1.0, 0.0, 1.0, 0.0])
    np.testing.assert_array_equal(((x > 0) ^ (x > 1)).data, [0.0, 1.0, 0.0, 0.0])
    np.testing.assert_array_equal((True & x).data, [1.0, 1.0, 1.0, 0.0])  # nonzero is true
    np.testing.assert_array_equal(x[inside].data, [0.5])  # a recorded mask indexes as one
    y = tn.where(~inside, x, 0.0)
    y.backward(np.ones(4))
    np.testing.assert_array_equal(x.grad, [1.0, 0.0, 1.0, 1.0])
    assert not inside.requires_grad and (Value(2.0) & Value(0.0)).data == 0.0


# ---- a VJP's gradient must have its input's shape, up to broadcasting -------------------------
@pytest.mark.parametrize("create_graph", [False, True])
def test_a_vjp_returning_a_transposed_gradient_of_the_same_size_is_refused(create_graph):
    twice = Op("twice_t", lambda x: x * 2, lambda g, out, x: (g * 2).T)
    x = Value(np.ones((2, 3)))
    with pytest.raises(ShapeError, match=r"twice_t: the VJP for input 0 gave a gradient of "
                                         r"shape \(3, 2\).*input's shape \(2, 3\)"):
        twice(x).sum().backward(create_graph=create_graph)


def test_a_vjp_may_drop_or_add_axes_of_length_one():
    squeezed = Op("squeezed_grad", lambda x: x * 2, lambda g, out, x: (g * 2).reshape(-1))
    x = Value(np.ones((3, 1)))
    squeezed(x).sum().backward()
    np.testing.assert_array_equal(x.grad, np.full((3, 1), 2.0))


def test_ops_on_a_leaf_without_gradient_are_recorded_so_replays_recompute_them():
    x = Value(np.array([2.0, 4.0]), requires_grad=False)
    y = x.reshape(1, -1) / 2
    assert not y.requires_grad and y._fn is not None and y._prev[0]._prev == (x,)
    c = 3.0 * tn.constant(np.ones(2))  # constants mixed in: no history kept
    assert c._fn is None


def test_assigning_data_converts_as_value_does_and_refuses_what_it_cannot_hold():
    v = Value(np.ones(2))
    v.data = np.array([1, 2])
    assert v.data.dtype == np.float64 and v.data.tolist() == [1.0, 2.0]
    kept = np.zeros(3, np.float32)
    v.data = kept
    assert v.data is kept  # a float array is used as it is
    v.data = 3
    assert type(v.data) is float
    for bad in ("abc", None, np.array(["a"])):
        with pytest.raises(UnsupportedTypeError, match="Value.data"):
            v.data = bad
    assert type(v.data) is float  # a refused assignment leaves the data as it was
