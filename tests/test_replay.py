"""Tape: a recorded graph replayed on new leaf data must compute exactly what building the graph
again on that data computes, forward and backward."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given

import tinygrad_nn as tn
from tinygrad_nn import BackwardError, DomainError, UnsupportedTypeError, Value
from tinygrad_nn.losses import cross_entropy
from tinygrad_nn.nn import MLP
from tinygrad_nn.optim import SGD
from tinygrad_nn.replay import Tape
from tinygrad_nn.testing import expressions


def total(outputs: tuple) -> Value:
    """One scalar from an expression's outputs, so that backward() needs no seed."""
    result = outputs[0].sum()
    for out in outputs[1:]:
        result = result + out.sum()
    return result


def moved(x):
    return x * 1.001 if type(x) is float else np.asarray(x) * 1.001


@given(expressions(depth=4, width=2) | expressions(depth=4, width=2, scalar=True))
def test_replay_on_new_data_matches_a_graph_built_on_it(expr):
    leaves = [Value(x) for x in expr.inputs]
    tape = Tape(total(expr(*leaves)))
    new_inputs = [moved(x) for x in expr.inputs]
    try:  # the moved inputs may leave an op's domain: then there is nothing to compare
        fresh_leaves = [Value(x) for x in new_inputs]
        fresh = total(expr(*fresh_leaves))
        fresh.backward()
    except tn.TinygradNNError:
        assume(False)
    for leaf, x in zip(leaves, new_inputs):
        leaf.data = x
    tn.zero_grad(leaves)
    assert tape.forward() is tape.output
    tape.backward()
    np.testing.assert_allclose(tape.output.data, fresh.data, rtol=1e-12, atol=1e-12)
    for leaf, fresh_leaf in zip(leaves, fresh_leaves):
        np.testing.assert_allclose(leaf.grad, fresh_leaf.grad, rtol=1e-12, atol=1e-12)


def test_training_by_replay_follows_training_by_rebuilding():
    rng = np.random.default_rng(0)
    batches = [(rng.normal(size=(8, 5)), rng.integers(0, 3, 8)) for _ in range(4)]

    def run(replay: bool) -> list:
        model = MLP(5, [6, 3], activation="tanh", output_activation="linear", seed=1)
        opt = SGD(model.parameters(), lr=0.5)
        x = Value(batches[0][0], requires_grad=False)
        targets = Value(np.eye(3)[batches[0][1]], requires_grad=False)
        tape = Tape(tn.softmax_cross_entropy(model(x), targets))
        losses = []
        for X, y in batches:
            x.data, targets.data = X, np.eye(3)[y]
            opt.zero_grad()
            if replay:
                loss = tape.forward()
                tape.backward()
            else:
                loss = cross_entropy(model(X), y)
                loss.backward()
            losses.append(loss.item())
            opt.step()
        return losses

    by_replay, by_rebuilding = run(True), run(False)
    np.testing.assert_allclose(by_replay, by_rebuilding, rtol=1e-12)
    assert by_replay[-1] != by_replay[0]  # the parameters did change between replays


def test_replay_rereads_parameters_changed_in_place_and_by_assignment():
    w, b = Value(np.array([1.0, 2.0])), Value(0.5)
    x = Value(np.array([3.0, 4.0]), requires_grad=False)
    tape = Tape((x * w).sum() + b)
    assert tape.output.data == 11.5
    w.data *= 2  # as SGD updates an array
    b.data = -1.0  # as SGD updates a float
    assert tape.forward().data == 21.0
    tape.backward()
    np.testing.assert_array_equal(w.grad, [3.0, 4.0])
    assert b.grad == 1.0


def test_replay_reports_the_op_that_fails_on_new_data():
    x = Value(np.array([1.0, 2.0]))
    tape = Tape(x.log().sum())
    x.data = np.array([1.0, -2.0])
    with pytest.raises(DomainError, match=r"log: the input must be positive; got -2.0"):
        tape.forward()


def test_tape_needs_a_graph():
    with pytest.raises(UnsupportedTypeError, match="Tape: expected the Value"):
        Tape(3.0)
    with pytest.raises(BackwardError, match="Tape: the output is a leaf or a constant"):
        Tape(Value(2.0))
    with tn.no_grad():
        untracked = Value(2.0) * 3
    with pytest.raises(BackwardError, match="Tape: the output is a leaf or a constant"):
        Tape(untracked)
    assert len(Tape(Value(2.0) * 3 + 1)) == 2


def test_a_mask_computed_in_the_graph_is_recomputed_by_a_replay():
    # x[x > 0]: the mask is a Value held in getitem's parameters, not one of its inputs
    x = Value(np.array([1.0, -2.0, 3.0]), requires_grad=False)
    w = Value(2.0)
    tape = Tape((x[x > 0] * w).sum())
    for batch in ([-1.0, 5.0, 1.0], [4.0, 4.0, -4.0]):
        x.data = np.array(batch)
        w.grad = 0.0
        loss = tape.forward()
        tape.backward()
        positive = np.array(batch)[np.array(batch) > 0]
        assert loss.item() == 2.0 * positive.sum() and w.grad == positive.sum()
