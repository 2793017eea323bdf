"""Gradient hooks (Value.register_hook) and retain_grad, checked by hand and against torch."""

import numpy as np
import pytest
from hypothesis import given, strategies as st

from tinygrad_nn import BackwardError, Tape, Value, grad

torch = pytest.importorskip("torch") if False else None
try:
    import torch
except ImportError:  # pragma: no cover - torch is optional
    torch = None


def test_a_hook_on_an_intermediate_sees_its_gradient_and_can_replace_it():
    x = Value(np.array([1.0, 2.0]))
    h = x * x          # dh/dx = 2x
    y = (h * 3).sum()  # dy/dh = 3
    seen = []
    h.register_hook(lambda g: seen.append(g.copy()))
    h.register_hook(lambda g: g * 10)  # runs second, replaces: x gets 10 * 3 * 2x
    y.backward()
    np.testing.assert_array_equal(seen[0], [3.0, 3.0])
    np.testing.assert_array_equal(h.grad, [30.0, 30.0])
    np.testing.assert_array_equal(x.grad, [60.0, 120.0])


def test_a_leaf_hook_runs_once_per_backward_with_the_total_before_accumulation():
    w = Value(2.0)
    calls = []
    w.register_hook(lambda g: calls.append(g) or g + 1)
    (w * w + w * 5).backward()  # w reached by three paths: 2 + 2 + 5 = 9 in one call
    assert calls == [9.0] and w.grad == 10.0
    (w * 3).backward()
    assert calls == [9.0, 3.0] and w.grad == 14.0


def test_remove_and_the_handle_as_a_context_manager():
    x = Value(np.ones(3))
    handle = x.register_hook(lambda g: g * 0)
    handle.remove()
    (x * 2).sum().backward()
    np.testing.assert_array_equal(x.grad, 2 * np.ones(3))
    with x.register_hook(lambda g: g * 0):
        x.grad[...] = 0
        (x * 2).sum().backward()
        np.testing.assert_array_equal(x.grad, np.zeros(3))
    (x * 2).sum().backward()
    np.testing.assert_array_equal(x.grad, 2 * np.ones(3))


def test_a_hook_returning_the_wrong_shape_is_refused():
    x = Value(np.ones((2, 3)))
    x.register_hook(lambda g: g.T)
    with pytest.raises(BackwardError, match=r"shape \(3, 2\) for a Value of shape \(2, 3\)"):
        (x * 2).sum().backward()


def test_hooks_apply_in_grad_and_under_create_graph_with_values():
    x = Value(3.0)
    h = x * x
    kinds = []
    h.register_hook(lambda g: kinds.append(type(g).__name__) or g * 2)
    (gx,) = grad(h * 1.0, x)
    assert gx.item() == 12.0 and kinds == ["float"]
    (gx,) = grad(h * 1.0, x, create_graph=True)
    assert gx.item() == 12.0 and kinds[-1] == "Value"
    (ggx,) = grad(gx, x)  # d/dx of 2 * 2x = 4
    assert ggx.item() == 4.0


def test_hooks_run_under_a_tape_replay():
    w = Value(np.array([1.0, -2.0]))
    x = Value(np.array([3.0, 4.0]), requires_grad=False)
    tape = Tape((w * x).sum())
    w.register_hook(lambda g: g * 2)
    tape.forward()
    tape.backward()
    np.testing.assert_array_equal(w.grad, [6.0, 8.0])


def test_register_hook_needs_a_value_that_gets_gradients():
    with pytest.raises(BackwardError):
        Value(1.0, requires_grad=False).register_hook(lambda g: g)
    with pytest.raises(TypeError):
        Value(1.0).register_hook("not callable")


def test_retain_grad_keeps_an_intermediate_gradient_as_torch_does():
    x = Value(np.array([0.5, -1.5]))
    h = x.tanh()
    h.retain_grad()
    (h ** 2).sum().backward()
    np.testing.assert_allclose(h.grad, 2 * np.tanh([0.5, -1.5]), rtol=1e-15)


@pytest.mark.skipif(torch is None, reason="torch is not installed")
@given(st.lists(st.floats(-2, 2), min_size=1, max_size=5), st.floats(0.1, 3.0))
def test_clipping_hooks_give_torchs_gradients(values, limit):
    data = np.array(values)
    x = Value(data)
    h = (x * 1.5).sin()
    h.register_hook(lambda g: np.clip(g, -limit, limit))
    x.register_hook(lambda g: g * 0.5)
    (h * h * 4).sum().backward()
    tx = torch.tensor(data, requires_grad=True)
    th = (tx * 1.5).sin()
    th.register_hook(lambda g: g.clamp(-limit, limit))
    tx.register_hook(lambda g: g * 0.5)
    (th * th * 4).sum().backward()
    np.testing.assert_allclose(x.grad, tx.grad.numpy(), rtol=1e-12, atol=1e-15)
