"""detect_anomaly(): the first NaN or infinity, forward or backward, named with its op, its
inputs and the user's line that created it; off by default, and per thread."""

import threading

import numpy as np
import pytest
from hypothesis import given, strategies as st

from tinygrad_nn import NonFiniteError, Value, detect_anomaly, grad, no_grad
from tinygrad_nn.nn import Linear, MLP


# The ops refuse inputs outside their domains already (log(0), exp(1000), sqrt's derivative at
# 0 raise DomainError); what slips through is overflow in arithmetic, and NaN or infinity
# brought in by the data: those are anomaly mode's business.

def test_a_forward_overflow_names_the_op_its_inputs_and_this_line():
    x = Value(np.array([1.0, 1e10, 4.0]))
    with detect_anomaly():
        y = x * 2
        with np.errstate(over="ignore"), pytest.raises(NonFiniteError) as info:
            y * 1e300  # the line the error must point at
    message = str(info.value)
    assert "* (forward) gave 1 infinite of its 3 values" in message
    assert "array(3,) in [2, 2e+10], 1e+300" in message
    assert "test_anomaly.py" in message and "y * 1e300  # the line the error must point at" in message


def test_a_backward_overflow_names_the_op_and_where_it_was_created():
    a, b = Value(np.array([1e200])), Value(np.array([1e-200]))
    with detect_anomaly():
        y = (a * b).sum() * 1e200  # finite forward (1e200); d/db = 1e200 * 1e200 overflows
        with np.errstate(over="ignore"), pytest.raises(NonFiniteError) as info:
            y.backward()
    message = str(info.value)
    assert "* (backward) sent to its input 1 has 1 infinite" in message
    assert "y = (a * b).sum() * 1e200  # finite forward" in message


def test_the_same_computation_outside_gives_inf_silently_as_numpy_does():
    a, b = Value(np.array([1e200])), Value(np.array([1e-200]))
    with np.errstate(over="ignore"):
        ((a * b).sum() * 1e200).backward()
    assert np.isinf(b.grad[0]) and a.grad[0] == 1.0


def test_check_inf_false_lets_minus_infinity_masks_through_but_not_nan():
    scores = Value(np.array([[1.0, 2.0], [3.0, 4.0]]))
    mask = np.array([[False, True], [False, False]])
    with detect_anomaly(check_inf=False):
        attn = scores.masked_fill(mask, -np.inf).softmax(-1)
        attn.sum().backward()
        with np.errstate(invalid="ignore"), pytest.raises(NonFiniteError, match="NaN"):
            (attn * np.inf).sum() * 0.0
    with detect_anomaly():
        with pytest.raises(NonFiniteError, match="masked_fill"):
            scores.masked_fill(mask, -np.inf)


def test_grad_and_create_graph_are_checked():
    a, b = Value(np.array([1e200])), Value(np.array([1e-200]))
    with detect_anomaly(), np.errstate(over="ignore"):
        y = (a * b).sum() * 1e200
        with pytest.raises(NonFiniteError, match="backward"):
            grad(y, b)
        # with create_graph the backward pass is made of ops: the product that overflows is
        # caught as it is computed
        with pytest.raises(NonFiniteError, match="1 infinite"):
            grad(y, [a, b], create_graph=True)


def test_no_grad_inside_still_checks_and_records_nothing():
    x = Value(np.array([1e300]))
    with detect_anomaly():
        with no_grad():
            y = x * 3
            assert y._fn is None and not y.requires_grad
            with np.errstate(over="ignore"), pytest.raises(NonFiniteError, match=r"\*"):
                y * y


def test_anomaly_mode_is_per_thread_and_nests():
    entered, release = threading.Event(), threading.Event()

    def other():
        with detect_anomaly():
            entered.set()
            release.wait(10)
    t = threading.Thread(target=other)
    t.start()
    try:
        assert entered.wait(10)
        with np.errstate(all="ignore"):
            assert np.isinf((Value(np.array([1e300])) * 1e300).data[0])  # unchecked here
    finally:
        release.set()
        t.join(10)
    with detect_anomaly():
        with detect_anomaly(check_inf=False):
            with np.errstate(all="ignore"):
                Value(np.array([1e300])) * 1e300
        with np.errstate(all="ignore"), pytest.raises(NonFiniteError):
            Value(np.array([1e300])) * 1e300
    with np.errstate(all="ignore"):
        Value(np.array([1e300])) * 1e300  # off again


def test_as_a_decorator():
    @detect_anomaly()
    def step(x):
        return (x - np.inf).sum()
    with pytest.raises(NonFiniteError, match="-"):
        step(Value(np.ones(2)))


def test_a_healthy_training_step_passes_and_gives_the_same_gradients():
    model = MLP(4, [5, 3], "tanh", output_activation="linear", seed=0)
    X = np.random.default_rng(1).standard_normal((6, 4))

    def grads():
        model.zero_grad()
        (model(X) ** 2).mean().backward()
        return [p.grad.copy() for p in model.parameters()]
    plain = grads()
    with detect_anomaly():
        checked = grads()
    for a, b in zip(plain, checked):
        np.testing.assert_array_equal(a, b)


@given(st.lists(st.floats(-5, 5), min_size=1, max_size=6), st.integers(0, 5))
def test_a_nan_planted_in_the_data_is_caught_at_the_first_op(values, where):
    data = np.array(values)
    data[where % len(values)] = np.nan
    layer = Linear(len(values), 2, seed=0)
    with detect_anomaly():
        with pytest.raises(NonFiniteError, match="NaN"):
            layer(Value(data.reshape(1, -1), requires_grad=False))


def test_a_tape_replay_is_checked_forward_and_backward():
    from tinygrad_nn import Tape
    x = Value(np.array([1.0, 2.0]), requires_grad=False)
    w = Value(np.array([1.0, 1.0]))
    tape = Tape((x * w).sum() * 1e200)
    x.data = np.array([1e200, 1.0])
    with detect_anomaly(), np.errstate(over="ignore"):
        with pytest.raises(NonFiniteError, match=r"\* \(forward\)"):
            tape.forward()
    x.data = np.array([1e-200, 1.0])
    tape.forward()
    with detect_anomaly(), np.errstate(over="ignore"):
        tape.backward()  # d/dw = x * 1e200: finite
    np.testing.assert_allclose(w.grad, [1.0, 1e200])


def test_a_long_loop_inside_anomaly_mode_does_not_keep_every_graph(monkeypatch):
    import tinygrad_nn.anomaly as anomaly
    monkeypatch.setattr(anomaly, "KEPT_ORIGINS", 100)
    w = Value(np.ones(3))
    with detect_anomaly() as watching:
        for _ in range(200):
            ((w * 2).sum() * 3).backward()
        assert len(watching.origins) <= 100
        y = (w * 2).sum()
        assert y in watching.origins  # the newest are kept
