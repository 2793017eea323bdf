"""Gradient clipping (clip_grad_norm_, clip_grad_value_) against torch.nn.utils over
hypothesis-drawn gradients, norms and limits, and parameters_to_vector/vector_to_parameters."""

import math

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from tinygrad_nn import DomainError, ShapeError, UnsupportedTypeError, Value
from tinygrad_nn.gradcheck import gradcheck
from tinygrad_nn.nn.utils import (clip_grad_norm_, clip_grad_value_, parameters_to_vector,
                                  vector_to_parameters)

torch = pytest.importorskip("torch")

EXAMPLES = settings(max_examples=min(settings.default.max_examples, 25), deadline=None)


@st.composite
def parameters_with_grads(draw):
    """Up to three parameters (arrays of small shapes, or a float) with random gradients, and
    the same as torch tensors."""
    rng = np.random.default_rng(draw(st.integers(0, 2 ** 32 - 1)))
    scale = draw(st.sampled_from([1e-3, 1.0, 10.0]))
    ours, torchs = [], []
    for shape in draw(st.lists(st.sampled_from([(), (3,), (2, 3)]), min_size=1, max_size=3)):
        grad = rng.normal(size=shape) * scale
        p = Value(0.0) if shape == () else Value(np.zeros(shape))
        p.grad = float(grad) if shape == () else grad
        t = torch.zeros(shape, dtype=torch.float64, requires_grad=True)
        t.grad = torch.tensor(grad)
        ours.append(p)
        torchs.append(t)
    return ours, torchs


def same_grads(ours, torchs):
    for p, t in zip(ours, torchs):
        np.testing.assert_allclose(p.grad, t.grad.numpy(), rtol=1e-12, atol=0.0)
        assert type(p.grad) is float if type(p.data) is float else p.grad.dtype == np.float64


@EXAMPLES
@given(parameters_with_grads(), st.floats(1e-3, 20.0),
       st.sampled_from([2.0, 1.0, 3.0, 0.5, math.inf, -math.inf, 0.0]))
def test_clip_grad_norm_agrees_with_torch(params, max_norm, norm_type):
    ours, torchs = params
    total = clip_grad_norm_(ours, max_norm, norm_type)
    expected = torch.nn.utils.clip_grad_norm_(torchs, max_norm, norm_type)
    assert type(total) is float
    assert total == pytest.approx(expected.item(), rel=1e-12, abs=0.0)
    same_grads(ours, torchs)


@EXAMPLES
@given(parameters_with_grads(), st.floats(0.0, 5.0))
def test_clip_grad_value_agrees_with_torch(params, clip_value):
    ours, torchs = params
    assert clip_grad_value_(ours, clip_value) is None
    torch.nn.utils.clip_grad_value_(torchs, clip_value)
    same_grads(ours, torchs)


def test_clip_grad_norm_by_hand():
    # gradients (3, 4) and 12: total 2-norm 13, inf-norm 12; max_norm 6.5 halves them (up to
    # the 1e-6 added to the norm)
    a, b = Value(np.zeros(2)), Value(0.0)
    a.grad, b.grad = np.array([3.0, 4.0]), 12.0
    assert clip_grad_norm_([a, b], 6.5) == 13.0
    np.testing.assert_allclose(a.grad, [1.5, 2.0], rtol=1e-6)
    assert b.grad == pytest.approx(6.0, rel=1e-6) and type(b.grad) is float
    assert clip_grad_norm_([a, b], 100.0, norm_type="inf") == pytest.approx(6.0, rel=1e-6)


def test_a_norm_within_the_limit_leaves_the_gradients_as_they_were():
    p = Value(np.zeros(2))
    grad = np.array([0.3, 0.4])
    p.grad = grad
    assert clip_grad_norm_(p, 1.0) == pytest.approx(0.5)  # a single Value as the parameters
    assert p.grad is grad


def test_a_gradient_array_shared_by_two_values_is_scaled_once():
    # backward() may hand one array to several Values: clipping must not scale it in place
    a, b = Value(np.zeros(2)), Value(np.zeros(2))
    shared = np.array([3.0, 4.0])
    a.grad = b.grad = shared
    assert clip_grad_norm_([a, b], 1.0) == pytest.approx(5 * math.sqrt(2))
    np.testing.assert_allclose(a.grad, [0.6 / math.sqrt(2), 0.8 / math.sqrt(2)], rtol=1e-5)
    clip_grad_value_([a, b], 0.5)
    np.testing.assert_allclose(a.grad, [0.6 / math.sqrt(2), 0.5], rtol=1e-5)
    np.testing.assert_array_equal(a.grad, b.grad)
    assert shared.tolist() == [3.0, 4.0]


def test_float32_gradients_stay_float32():
    p = Value(np.zeros(3, dtype=np.float32))
    p.grad = np.array([10.0, -20.0, 5.0], dtype=np.float32)
    clip_grad_norm_([p], 1.0)
    assert p.grad.dtype == np.float32
    clip_grad_value_([p], 0.1)
    assert p.grad.dtype == np.float32 and np.abs(p.grad).max() <= np.float32(0.1)


def test_parameters_without_gradients_are_skipped():
    p = Value(np.zeros(2))
    p.grad = None
    assert clip_grad_norm_([p], 1.0) == 0.0 and clip_grad_norm_([], 1.0) == 0.0
    clip_grad_value_([p], 1.0)
    assert p.grad is None


def test_a_non_finite_norm_raises_when_asked_and_spreads_nan_otherwise():
    ours, t = Value(np.zeros(2)), torch.zeros(2, dtype=torch.float64, requires_grad=True)
    ours.grad = np.array([math.inf, 1.0])
    t.grad = torch.tensor([math.inf, 1.0], dtype=torch.float64)
    with pytest.raises(DomainError, match="clip_grad_norm_: the total norm of order 2.0 of the "
                                          "gradients is inf"):
        clip_grad_norm_([ours], 1.0, error_if_nonfinite=True)
    assert clip_grad_norm_([ours], 1.0) == math.inf
    torch.nn.utils.clip_grad_norm_([t], 1.0)
    np.testing.assert_array_equal(ours.grad, t.grad.numpy())  # inf · 0 and 1 · 0: nan and 0


@pytest.mark.parametrize("call, error, message", [
    (lambda p: clip_grad_norm_(p, -1.0), ValueError, "max_norm must be >= 0; got -1.0"),
    (lambda p: clip_grad_norm_(p, "big"), TypeError, "max_norm must be a number"),
    (lambda p: clip_grad_norm_(p, 1.0, norm_type="fro"), TypeError, "norm_type must be a number"),
    (lambda p: clip_grad_value_(p, -0.5), ValueError, "clip_value must be >= 0"),
    (lambda p: clip_grad_value_(p, math.nan), ValueError, "clip_value must be >= 0; got nan"),
    (lambda p: clip_grad_norm_([np.zeros(2)], 1.0), UnsupportedTypeError,
     "parameters\\[0\\] is a ndarray, not a Value"),
    (lambda p: clip_grad_value_(3.0, 1.0), UnsupportedTypeError, "got float"),
])
def test_bad_arguments_are_refused(call, error, message):
    with pytest.raises(error, match=message):
        call([Value(np.zeros(2))])


# ---- parameters as one vector --------------------------------------------------------------
def test_parameters_to_vector_matches_torch_and_is_differentiable():
    rng = np.random.default_rng(0)
    W, b, s = Value(rng.normal(size=(2, 3))), Value(rng.normal(size=3)), Value(0.5)
    vector = parameters_to_vector([W, b, s])
    expected = torch.nn.utils.parameters_to_vector(
        [torch.tensor(W.data), torch.tensor(b.data), torch.tensor(0.5, dtype=torch.float64)])
    np.testing.assert_array_equal(vector.data, expected.numpy())
    weights = rng.normal(size=10)
    (parameters_to_vector([W, b, s]) ** 2 * weights).sum().backward()
    np.testing.assert_allclose(W.grad, 2 * W.data * weights[:6].reshape(2, 3))
    assert s.grad == pytest.approx(2 * 0.5 * weights[9])
    gradcheck(lambda w, c: (parameters_to_vector([w, c]) ** 3).sum(), W.data, b.data)


def test_vector_to_parameters_writes_each_in_place_keeping_its_dtype():
    W, b, s = Value(np.zeros((2, 2), dtype=np.float32)), Value(np.zeros(1)), Value(0.0)
    array = W.data
    vector_to_parameters(np.arange(6.0), [W, b, s])
    assert W.data is array and W.dtype == np.float32
    assert W.data.tolist() == [[0.0, 1.0], [2.0, 3.0]] and b.data.tolist() == [4.0]
    assert s.data == 5.0 and type(s.data) is float
    vector_to_parameters(parameters_to_vector([W, b, s]) * 2.0, [W, b, s])  # a Value works too
    assert s.data == 10.0


def test_vector_to_parameters_refuses_a_vector_of_the_wrong_length():
    with pytest.raises(ShapeError, match="vec must have shape \\(3,\\), one entry per parameter "
                                         "element; got shape \\(4,\\)"):
        vector_to_parameters(np.zeros(4), [Value(np.zeros(2)), Value(0.0)])
