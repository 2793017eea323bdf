"""The losses' targets: the binary case of logistic_cost, labels out of range refused, and targets
held in Values kept in the graph (a Tape replay reads their current data; soft targets get their
gradient; discrete ones that ask for a gradient are refused). Checked against torch's
functional losses and finite differences."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tinygrad_nn import DomainError, Tape, UnsupportedTypeError, Value, no_grad
from tinygrad_nn.gradcheck import gradcheck
from tinygrad_nn.losses import (binary_cross_entropy_with_logits, cross_entropy, hinge,
                                logistic_cost, mse)
from tinygrad_nn.testing import arrays, floats

RNG = np.random.default_rng(5)
Z1 = RNG.normal(size=(6, 1)) * 3                        # logits of one unit, (m, 1)
LABELS01 = np.array([0, 1, 1, 0, 1, 0])
SOFT = np.array([0.1, 0.9, 0.5, 0.0, 1.0, 0.3])
ZK = RNG.normal(size=(6, 3)) * 2                         # logits of three units
LABELS3 = np.array([0, 2, 1, 1, 0, 2])


def _torch():
    return pytest.importorskip("torch")


def _torch_bce(z, y):
    """torch's binary_cross_entropy of sigmoid(z) against y, and its gradients in z and y."""
    torch = _torch()
    tz = torch.tensor(z, requires_grad=True)
    ty = torch.tensor(np.asarray(y, dtype=np.float64).reshape(z.shape), requires_grad=True)
    loss = torch.nn.functional.binary_cross_entropy(torch.sigmoid(tz), ty) * z.shape[1]
    loss.backward()  # (torch means over all m K elements; Ng's cost sums the K units)
    return loss.item(), tz.grad.numpy(), ty.grad.numpy()


# ---- the binary case -------------------------------------------------------------------------
@pytest.mark.parametrize("out_shape", [(6, 1), (6,)])
@pytest.mark.parametrize("target_shape", [(6,), (6, 1)])
@pytest.mark.parametrize("targets", [LABELS01, SOFT], ids=["labels", "probabilities"])
def test_one_unit_is_binary_cross_entropy_as_torch_has_it(out_shape, target_shape, targets):
    z = Value(Z1.reshape(out_shape))
    y = Value(targets.reshape(target_shape).astype(float))
    loss = logistic_cost(z.sigmoid(), y)
    loss.backward()
    value, dz, dy = _torch_bce(Z1, targets)
    assert loss.item() == pytest.approx(value, rel=1e-12)
    np.testing.assert_allclose(z.grad, dz.reshape(out_shape), rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(y.grad, dy.reshape(target_shape), rtol=1e-10, atol=1e-14)


def test_one_unit_by_hand():
    # h = [0.8, 0.3], y = [1, 0]: J = -(log 0.8 + log 0.7) / 2
    J = logistic_cost(Value(np.array([[0.8], [0.3]])), np.array([1, 0]))
    assert J.item() == pytest.approx(-(np.log(0.8) + np.log(0.7)) / 2, rel=1e-14)


@given(arrays((5, 1), elements=floats(-6, 6)), arrays((5,), elements=floats(0, 1)))
def test_one_unit_matches_torch_on_random_inputs(z, y):
    zv, yv = Value(z), Value(y)
    loss = logistic_cost(zv.sigmoid(), yv)
    loss.backward()
    value, dz, dy = _torch_bce(z, y)
    assert loss.item() == pytest.approx(value, rel=1e-10, abs=1e-12)
    np.testing.assert_allclose(zv.grad, dz, rtol=1e-8, atol=1e-12)
    np.testing.assert_allclose(yv.grad, dy.reshape(5), rtol=1e-8, atol=1e-12)


def test_several_units_match_torch_with_label_targets():
    torch = _torch()
    z = Value(ZK)
    loss = logistic_cost(z.sigmoid(), LABELS3)
    loss.backward()
    tz = torch.tensor(ZK, requires_grad=True)
    hot = torch.nn.functional.one_hot(torch.tensor(LABELS3), 3).double()
    expected = torch.nn.functional.binary_cross_entropy(torch.sigmoid(tz), hot) * 3
    expected.backward()
    assert loss.item() == pytest.approx(expected.item(), rel=1e-12)
    np.testing.assert_allclose(z.grad, tz.grad.numpy(), rtol=1e-10)


# ---- labels out of range ---------------------------------------------------------------------
@pytest.mark.parametrize("call, message", [
    (lambda: logistic_cost(Value(np.full(3, 0.5)), np.array([0, 2, 1])),
     r"logistic_cost: targets for one output unit must lie in \[0, 1\].*got 2"),
    (lambda: logistic_cost(Value(np.full((3, 1), 0.5)), np.array([0.0, -1.0, 1.0])),
     r"logistic_cost: targets for one output unit must lie in \[0, 1\].*got -1"),
    (lambda: logistic_cost(Value(np.full(2, 0.5)), np.array([0.0, np.nan])),
     r"logistic_cost: targets for one output unit.*got nan"),
    (lambda: logistic_cost(Value(np.full((3, 3), 0.5)), np.array([0, 3, 1])),
     r"logistic_cost: integer labels must lie in 0..2 for 3 output units; got 3"),
    (lambda: logistic_cost(Value(np.full((3, 3), 0.5)), np.array([0, 1.5, 1])),
     r"logistic_cost: integer labels must lie in 0..2 for 3 output units; got 1.5"),
    (lambda: logistic_cost(Value(np.full((2, 2), 0.5)), np.array([[0, 2.0], [1, 0]])),
     r"logistic_cost: one-hot rows must lie in \[0, 1\].*got 2"),
    (lambda: cross_entropy(Value(np.zeros((2, 3))), np.array([-1, 0])),
     r"cross_entropy: integer labels must lie in 0..2 for 3 output units; got -1"),
    (lambda: cross_entropy(Value(np.zeros((2, 3))), _held([0.0, 7.0])),
     r"cross_entropy: integer labels must lie in 0..2 for 3 output units; got 7"),
    (lambda: binary_cross_entropy_with_logits(Value(np.zeros(2)), np.array([0.0, 1.5])),
     r"binary_cross_entropy_with_logits: targets must lie in \[0, 1\].*got 1.5"),
    (lambda: hinge(Value(np.zeros(2)), np.array([1.0, 0.0])),
     r"hinge: targets must be -1 or \+1; got 0"),
])
def test_labels_out_of_range_are_named(call, message):
    with pytest.raises(DomainError, match=message):
        call()


def test_targets_of_the_wrong_shape_for_one_unit():
    with pytest.raises(ValueError, match=r"logistic_cost: targets for outputs of shape \(3, 1\) "
                                         r"\(one unit\) must have shape \(3,\) or \(3, 1\); "
                                         r"got \(3, 2\)"):
        logistic_cost(Value(np.full((3, 1), 0.5)), np.zeros((3, 2)))


# ---- targets in Values stay in the graph -----------------------------------------------------
def _held(data):
    return Value(np.asarray(data, dtype=float), requires_grad=False)


# (loss of (model outputs, targets), outputs' data, first targets, second targets)
REPLAYS = {
    "logistic_cost, one unit": (lambda z, y: logistic_cost(z.sigmoid(), y), Z1, LABELS01,
                                1 - LABELS01),
    "logistic_cost, one unit, no sigmoid": (lambda z, y: logistic_cost(z * 0.1 + 0.5, y),
                                            Z1 / 10, LABELS01, SOFT),
    "logistic_cost, class labels": (lambda z, y: logistic_cost(z.sigmoid(), y), ZK, LABELS3,
                                    (LABELS3 + 1) % 3),
    "logistic_cost, saturated": (lambda z, y: logistic_cost(z.sigmoid(), y),
                                 np.array([[40.0], [-40.0]]), [0, 1], [1, 0]),
    "cross_entropy, labels": (cross_entropy, ZK, LABELS3, (LABELS3 + 2) % 3),
    "cross_entropy, rows": (cross_entropy, ZK, np.eye(3)[LABELS3], np.full((6, 3), 1 / 3)),
    "binary_cross_entropy_with_logits": (binary_cross_entropy_with_logits, ZK, np.eye(3)[LABELS3],
                                         np.full((6, 3), 0.25)),
    "mse": (mse, ZK, ZK * 2, -ZK),
    "hinge": (hinge, Z1, 2.0 * LABELS01[:, None] - 1, 1 - 2.0 * LABELS01[:, None]),
}


@pytest.mark.parametrize("case", sorted(REPLAYS))
def test_a_replay_reads_the_targets_current_data(case):
    loss_fn, z_data, first, second = REPLAYS[case]
    z, y = Value(z_data), _held(first)
    loss = loss_fn(z, y)
    tape = Tape(loss)
    y.data = np.asarray(second, dtype=float)
    tape.forward()
    z.grad = None
    tape.backward()
    replayed, replayed_grad = loss.item(), z.grad.copy()
    fresh = loss_fn(z, y)
    z.grad = None
    fresh.backward()
    assert replayed == fresh.item() != pytest.approx(loss_fn(Value(z_data), _held(first)).item())
    np.testing.assert_array_equal(replayed_grad, z.grad)


# (loss, outputs, soft targets): targets that may require a gradient
SOFT_TARGETS = {
    # (inside (0, 1): finite differences must not move a target out of [0, 1])
    "logistic_cost through a sigmoid": (lambda z, y: logistic_cost(z.sigmoid(), y), Z1,
                                        np.clip(SOFT, 0.05, 0.95)),
    "logistic_cost of probabilities": (lambda h, y: logistic_cost(h, y), 1 / (1 + np.exp(-ZK)),
                                       np.full((6, 3), 0.3)),
    "logistic_cost, rows through a sigmoid": (lambda z, y: logistic_cost(z.sigmoid(), y), ZK,
                                              RNG.random((6, 3))),
    "cross_entropy": (cross_entropy, ZK, RNG.dirichlet(np.ones(3), size=6)),
    "binary_cross_entropy_with_logits": (binary_cross_entropy_with_logits, ZK, RNG.random((6, 3))),
    "mse": (mse, ZK, RNG.normal(size=(6, 3))),
}


@pytest.mark.parametrize("case", sorted(SOFT_TARGETS))
def test_soft_targets_get_their_gradient(case):
    loss_fn, outputs, targets = SOFT_TARGETS[case]
    assert gradcheck(loss_fn, outputs, targets)
    y = Value(targets)
    loss_fn(Value(outputs), y).backward()
    assert np.abs(y.grad).max() > 1e-3  # not the zero a frozen target would get


def test_soft_target_gradients_match_torch():
    torch = _torch()
    TF = torch.nn.functional
    p = RNG.dirichlet(np.ones(3), size=6)
    cases = [(cross_entropy, lambda z, y: TF.cross_entropy(z, y), ZK, p),
             (binary_cross_entropy_with_logits, TF.binary_cross_entropy_with_logits, ZK, p),
             (mse, TF.mse_loss, ZK, p)]
    for ours, theirs, z, y in cases:
        yv = Value(y)
        ours(Value(z), yv).backward()
        ty = torch.tensor(y, requires_grad=True)
        theirs(torch.tensor(z), ty).backward()
        np.testing.assert_allclose(yv.grad, ty.grad.numpy(), rtol=1e-10, atol=1e-15)


@pytest.mark.parametrize("call, what", [
    (lambda: cross_entropy(Value(ZK), Value(LABELS3.astype(float))), "cross_entropy: class labels"),
    (lambda: logistic_cost(Value(ZK).sigmoid(), Value(LABELS3.astype(float))),
     "logistic_cost: class labels"),
    (lambda: hinge(Value(Z1), Value(np.ones((6, 1)))), "hinge: -1/\\+1 labels"),
])
def test_discrete_targets_that_require_a_gradient_are_refused(call, what):
    with pytest.raises(UnsupportedTypeError, match=f"{what} are discrete and have no gradient"):
        call()


@given(st.integers(0, 2**32 - 1))
def test_logistic_cost_with_and_without_a_graph_agree(seed):
    rng = np.random.default_rng(seed)
    z, y = Value(rng.normal(size=(4, 1)) * 20), rng.random(4)
    with no_grad():
        without = logistic_cost(z.sigmoid(), y).item()
    assert logistic_cost(z.sigmoid(), y).item() == without
