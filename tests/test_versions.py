"""Data changed after a graph used it: backward refuses instead of mixing old and new values."""

import numpy as np
import pytest
from hypothesis import given, strategies as st

from tinygrad_nn import BackwardError, Tape, Value, constant, grad, mark_modified
from tinygrad_nn.nn import Linear, MLP, Sequential, Sigmoid
from tinygrad_nn.optim import SGD, Adam


def test_an_optimizer_step_between_forward_and_backward_is_refused_naming_op_and_weight():
    model = Sequential(Linear(3, 2, seed=0), Sigmoid())
    x = Value(np.ones((4, 3)), requires_grad=False)
    loss = model(x).sum()
    opt = SGD(model.parameters(), lr=0.1)
    model.zero_grad()
    loss.backward()
    opt.step()
    with pytest.raises(BackwardError, match=r"input \d of (matmul|@|linear).*'0\.weight'.*modified"):
        loss.backward()


def test_gan_style_two_losses_through_one_graph():
    # D's step between the two backward passes would make G's gradient use D's new weights
    gen, disc = Linear(2, 2, seed=1), Sequential(Linear(2, 1, seed=2), Sigmoid())
    z = Value(np.random.default_rng(0).standard_normal((5, 2)), requires_grad=False)
    fake = gen(z)
    d_out = disc(fake)
    d_loss = (d_out ** 2).mean()
    g_loss = ((1 - d_out) ** 2).mean()
    d_opt = Adam(disc.parameters(), lr=0.01)
    d_loss.backward()
    d_opt.step()
    with pytest.raises(BackwardError, match="modified after"):
        g_loss.backward()


def test_the_same_steps_in_the_right_order_train_without_complaint():
    model = MLP(2, [3, 1], "tanh", output_activation="linear", seed=0)
    opt = SGD(model.parameters(), lr=0.1)
    X = np.array([[0.0, 1.0], [1.0, 0.0]])
    losses = []
    for _ in range(5):
        opt.zero_grad()
        loss = (model(X) ** 2).mean()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses == sorted(losses, reverse=True)


@pytest.mark.parametrize("start", [2.0, np.array([2.0, -1.0])])
def test_the_micrograd_update_idiom_counts_as_a_modification(start):
    w = Value(start)
    y = (w * w).sum()
    w.data -= 0.1 * np.ones_like(w.data)  # `p.data -= lr * p.grad` assigns p.data
    with pytest.raises(BackwardError, match="modified"):
        y.backward()


def test_an_in_place_write_is_seen_once_marked():
    w = Value(np.array([1.0, 2.0]))
    y = (w * 3).sum()
    w.data[0] = 5.0  # numpy's own write: not seen by itself (documented)
    mark_modified(w)
    with pytest.raises(BackwardError):
        y.backward()


def test_a_modified_intermediate_input_is_caught_deep_in_the_graph():
    w = Value(np.array([0.5, 1.5]))
    h = w.exp()
    y = h.sin() + w  # w is used by exp and by +
    w.data = np.array([9.0, 9.0])
    with pytest.raises(BackwardError, match="exp|\\+"):
        y.sum().backward()


def test_grad_and_create_graph_refuse_too():
    w = Value(np.array([1.0, 2.0]))
    y = (w ** 3).sum()
    w.data = w.data * 2
    with pytest.raises(BackwardError, match="modified"):
        grad(y, w)
    with pytest.raises(BackwardError, match="modified"):
        y.backward(create_graph=True)


def test_load_state_dict_and_init_count_as_modifications():
    from tinygrad_nn import init
    layer = Linear(2, 2, seed=0)
    out = layer(np.ones((1, 2))).sum()
    layer.load_state_dict({k: np.ones_like(v) for k, v in layer.state_dict().items()})
    with pytest.raises(BackwardError):
        out.backward()
    out = layer(np.ones((1, 2))).sum()
    init.zeros_(layer.bias)
    with pytest.raises(BackwardError):
        out.backward()


def test_a_tape_replays_after_updates_but_refuses_a_stale_backward():
    w = Value(np.array([1.0, -1.0]))
    x = Value(np.array([2.0, 3.0]), requires_grad=False)
    tape = Tape(((x.reshape(1, -1) / 2) @ w.reshape(-1, 1)).sum())
    opt = SGD([w], lr=0.5)
    for batch in ([2.0, 3.0], [4.0, -2.0]):
        x.data = np.array(batch)  # fed through the leaf: the reshape and division replay too
        tape.forward()
        w.grad[...] = 0
        tape.backward()
        np.testing.assert_allclose(w.grad, np.array(batch) / 2)
        opt.step()
    with pytest.raises(BackwardError, match="modified"):
        tape.backward()  # stepped since the last forward()


OPS = [lambda a, b: a * b, lambda a, b: a + b.exp(), lambda a, b: (a - b).tanh(),
       lambda a, b: a / (1 + b * b), lambda a, b: (a * a).sqrt() + b]


@given(steps=st.lists(st.tuples(st.sampled_from(range(len(OPS))), st.integers(0, 3),
                                st.integers(0, 3)), min_size=1, max_size=6),
       modified=st.integers(0, 3), scalar=st.booleans())
def test_backward_refuses_exactly_when_a_leaf_it_uses_was_modified(steps, modified, scalar):
    make = (lambda k: Value(0.3 + 0.2 * k)) if scalar else \
        (lambda k: Value(np.array([0.3 + 0.2 * k, -0.5])))
    leaves = [make(k) for k in range(4)]
    nodes = list(leaves)
    used = set()
    deps = [{k} for k in range(4)]
    for op, i, j in steps:
        i, j = i % len(nodes), j % len(nodes)
        nodes.append(OPS[op](nodes[i], nodes[j]))
        deps.append(deps[i] | deps[j])
    used = deps[-1]
    out = nodes[-1].sum() if not scalar else nodes[-1]
    leaves[modified].data = leaves[modified].data * 1.0
    if modified in used and out._fn is not None:
        with pytest.raises(BackwardError, match="modified"):
            out.backward()
    else:
        out.backward()


def test_constants_mixed_into_an_expression_are_not_copied_values_are():
    # Documented: Value(array) copies the array; an array mixed into an expression is used as
    # it is (no copy), so changing it in place before backward changes the gradient.
    a = np.array([1.0, 2.0])
    v = Value(a)
    a[0] = 7.0
    assert v.data[0] == 1.0
    c = constant(a)
    assert c.data is a
