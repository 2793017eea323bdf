"""Forward hooks (register_forward_pre_hook, register_forward_hook), checked against PyTorch: what
hooks see, what replacing inputs or outputs does to the loss and its gradient (torch and finite
differences), order, prepend, removal, nesting, kwargs, and that hooks are not model state."""

import numpy as np
import pytest

import tinygrad_nn as tg
from tinygrad_nn import UnsupportedTypeError, Value, nn

torch = pytest.importorskip("torch")
from tinygrad_nn.interop import to_torch  # noqa: E402  needs torch


def model_and_twin():
    """A 3-4-2 tanh network and its torch twin (same weights, float64)."""
    model = nn.Sequential(nn.Linear(3, 4, seed=0), nn.Tanh(), nn.Linear(4, 2, seed=1))
    return model, to_torch(model)


X = np.random.default_rng(0).normal(size=(5, 3))
Y = np.random.default_rng(1).normal(size=(5, 2))


def grads_of(model, twin):
    """The loss and parameter gradients of ((model(X) - Y)**2).mean() here and in torch."""
    model.zero_grad()
    loss = ((model(X) - Y) ** 2).mean()
    loss.backward()
    theirs = ((twin(torch.from_numpy(X)) - torch.from_numpy(Y)) ** 2).mean()
    twin.zero_grad()
    theirs.backward()
    return (loss.data, [p.grad for p in model.parameters()],
            theirs.item(), [p.grad.numpy() for p in twin.parameters()])


def assert_same_as_torch(model, twin):
    ours, our_grads, theirs, their_grads = grads_of(model, twin)
    np.testing.assert_allclose(ours, theirs, rtol=1e-12)
    for a, b in zip(our_grads, their_grads, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-14)
    return ours


def finite_differences(model, eps=1e-6):
    """d loss / d parameter by central differences, each entry moved by assigning .data."""
    def loss():
        with tg.no_grad():
            return float(((model(X) - Y) ** 2).mean().data)

    grads = []
    for p in model.parameters():
        grad, start = np.zeros(p.shape), p.data
        for index in np.ndindex(p.shape):
            for sign in (1, -1):
                moved = start.copy()
                moved[index] += sign * eps
                p.data = moved
                grad[index] += sign * loss() / (2 * eps)
        p.data = start
        grads.append(grad)
    return grads


def test_hooks_see_each_layers_inputs_and_output_in_a_sequential():
    model = nn.Sequential(nn.Linear(3, 4, seed=0), nn.Tanh(), nn.Linear(4, 2, seed=1))
    seen = []
    for layer in model:
        layer.register_forward_pre_hook(lambda m, args: seen.append(("pre", m, args)))
        layer.register_forward_hook(lambda m, args, out: seen.append(("post", m, args, out)))
    out = model(X)
    assert [(kind, m) for kind, m, *_ in seen] == [(k, m) for m in model for k in ("pre", "post")]
    assert seen[0][2][0] is X and seen[1][2][0] is X  # the input as given, in a 1-tuple
    for i in range(2):  # each layer's input is the output of the one before, the same Value
        assert len(seen[2 * i + 2][2]) == 1 and seen[2 * i + 2][2][0] is seen[2 * i + 1][3]
    assert seen[-1][3] is out
    hidden = np.tanh(X @ model[0].weight.data.T + model[0].bias.data)
    np.testing.assert_allclose(seen[3][3].data, hidden)


def test_a_forward_hook_that_replaces_the_output_changes_the_loss_and_gradient_as_in_torch():
    model, twin = model_and_twin()
    plain = assert_same_as_torch(model, twin)
    for ours, theirs in ((model[0], twin[0]), (model[2], twin[2])):
        ours.register_forward_hook(lambda m, args, out: out * 3.0 + 1.0)
        theirs.register_forward_hook(lambda m, args, out: out * 3.0 + 1.0)
    hooked = assert_same_as_torch(model, twin)
    assert abs(hooked - plain) > 1e-3
    _, grads, _, _ = grads_of(model, twin)
    for ours, numerical in zip(grads, finite_differences(model), strict=True):
        np.testing.assert_allclose(ours, numerical, rtol=1e-6, atol=1e-8)


def test_a_pre_hook_that_replaces_the_input_changes_the_gradient_as_in_torch():
    model, twin = model_and_twin()
    model[2].register_forward_pre_hook(lambda m, args: args[0] ** 2)  # a bare value: wrapped
    twin[2].register_forward_pre_hook(lambda m, args: args[0] ** 2)
    model[0].register_forward_pre_hook(lambda m, args: (args[0] * 0.5,))  # a tuple: as it is
    twin[0].register_forward_pre_hook(lambda m, args: (args[0] * 0.5,))
    assert_same_as_torch(model, twin)
    x = Value(X)  # the gradient reaches the input through what the hook returned
    model(x).sum().backward()
    tx = torch.from_numpy(X).requires_grad_()
    twin(tx).sum().backward()
    np.testing.assert_allclose(x.grad, tx.grad.numpy(), rtol=1e-10)


def test_hooks_run_in_the_order_registered_each_seeing_the_last_ones_result():
    model, twin = model_and_twin()
    for m in (model[2], twin[2]):
        m.register_forward_hook(lambda m, args, out: out + 1.0)
        m.register_forward_hook(lambda m, args, out: out * 2.0)
        m.register_forward_hook(lambda m, args, out: out - 5.0, prepend=True)  # runs first
        m.register_forward_hook(lambda m, args, out: None)  # None keeps the output
    assert_same_as_torch(model, twin)
    layer = model[2]
    raw = np.tanh(X @ model[0].weight.data.T + model[0].bias.data) @ layer.weight.data.T
    np.testing.assert_allclose(model(X).data, (raw + layer.bias.data - 5.0 + 1.0) * 2.0)
    order = []
    for i in range(3):
        layer.register_forward_pre_hook(lambda m, args, i=i: order.append(i))
    layer.register_forward_pre_hook(lambda m, args: order.append("first"), prepend=True)
    model(X)
    assert order == ["first", 0, 1, 2]


def test_removing_a_hook_by_its_handle_or_a_with_block_restores_the_model():
    model, _ = model_and_twin()
    plain = model(X).data
    handle = model[0].register_forward_hook(lambda m, args, out: out * 0.0)
    assert not np.allclose(model(X).data, plain)
    handle.remove()
    handle.remove()  # again: nothing
    np.testing.assert_array_equal(model(X).data, plain)
    with model.register_forward_pre_hook(lambda m, args: args[0] + 1.0):
        shifted = model(X).data
    np.testing.assert_array_equal(model(X).data, plain)
    np.testing.assert_array_equal(shifted, model(X + 1.0).data)
    calls = []
    once = None

    def hook_once(m, args, out):  # a hook may remove itself while hooks are running
        calls.append(1)
        once.remove()

    once = model.register_forward_hook(hook_once)
    model(X)
    model(X)
    assert calls == [1]


def test_nested_hooks_wrap_inner_ones_and_see_the_outer_call():
    inner = nn.Sequential(nn.Linear(2, 2, seed=0))
    outer = nn.Sequential(inner, nn.ReLU())
    events = []
    for name, m in (("outer", outer), ("inner", inner), ("linear", inner[0])):
        m.register_forward_pre_hook(lambda m, args, name=name: events.append(name + " pre"))
        m.register_forward_hook(lambda m, args, out, name=name: events.append(name + " post"))
    outer(np.ones((1, 2)))
    assert events == ["outer pre", "inner pre", "linear pre", "linear post", "inner post",
                      "outer post"]


def test_with_kwargs_hooks_see_and_replace_keyword_arguments():
    class Scale(nn.Module):
        def __init__(self):
            self.w = Value(np.array([1.0, 2.0]))

        def forward(self, x, scale=1.0):
            return self.w * x * scale

    ours, theirs = Scale(), torch.nn.Module()
    theirs.w = torch.nn.Parameter(torch.tensor([1.0, 2.0], dtype=torch.float64))
    theirs.forward = lambda x, scale=1.0: theirs.w * x * scale
    seen = []

    def double(module, args, kwargs, out):
        seen.append(dict(kwargs))
        return out * 2.0

    for m in (ours, theirs):
        m.register_forward_pre_hook(lambda m, args, kwargs: ((args[0] + 1.0,), {"scale": 3.0}),
                                    with_kwargs=True)
        m.register_forward_hook(double, with_kwargs=True)
    out = ours(np.array([1.0, 1.0]), scale=5.0)
    expected = theirs(torch.tensor([1.0, 1.0], dtype=torch.float64), scale=5.0)
    np.testing.assert_allclose(out.data, expected.detach().numpy())
    np.testing.assert_allclose(out.data, [12.0, 24.0])  # w * (1 + 1) * 3, doubled
    assert seen == [{"scale": 3.0}, {"scale": 3.0}]
    ours.register_forward_pre_hook(lambda m, args, kwargs: args, with_kwargs=True)
    with pytest.raises(UnsupportedTypeError, match=r"with_kwargs=True\) must return None or a "
                                                   r"pair .* got a tuple of \(ndarray\)"):
        ours(np.array([1.0, 1.0]))


def test_hooks_are_not_model_state_and_survive_conversion():
    class Recorder(nn.Module):
        """A module used as a hook: it must not become a sub-module of what it watches."""

        def __init__(self):
            self.bias = Value(np.zeros(1))
            self.calls = 0

        def forward(self, module, args, out):
            self.calls += 1

    model, _ = model_and_twin()
    state, names, text = model.state_dict(), [n for n, _ in model.named_modules()], repr(model)
    recorder = Recorder()
    model.register_forward_hook(recorder)
    model[0].register_forward_pre_hook(lambda m, args: (np.asarray(args[0], np.float32),))
    assert list(model.state_dict()) == list(state)
    assert [n for n, _ in model.named_modules()] == names and repr(model) == text
    assert len(model.parameters()) == 4
    model.float()  # to() keeps the hooks: the pre-hook now feeds float32 to float32 weights
    assert model(X).dtype == np.float32 and recorder.calls == 1
    model.load_state_dict({k: v.astype(np.float32) for k, v in state.items()})
    model(X)
    assert recorder.calls == 2


def test_hooks_on_the_courses_layer_and_mlp():
    layer = nn.Layer(3, 2, "sigmoid", seed=0)
    layer.register_forward_hook(lambda m, args, out: 1.0 - out)
    out = layer(X)
    np.testing.assert_allclose(out.data, 1.0 / (1.0 + np.exp(X @ layer.W.data.T + layer.b.data)))
    mlp = nn.MLP(3, [4, 2], "tanh", "linear", seed=0)
    twin = to_torch(mlp)
    for m in (mlp, twin):
        m.register_forward_pre_hook(lambda m, args: args[0] * 2.0)
        m.register_forward_hook(lambda m, args, out: out.tanh())
    assert_same_as_torch(mlp, twin)


def test_a_hook_must_be_callable():
    with pytest.raises(UnsupportedTypeError,
                       match="register_forward_hook on Linear: the hook must be callable; got a str"):
        nn.Linear(2, 2).register_forward_hook("print")  # type: ignore[arg-type]


def test_hooks_on_the_layers_inside_the_courses_mlp_fire():
    mlp = nn.MLP(3, [4, 2], "tanh", "linear", seed=0)
    twin = to_torch(mlp)  # Sequential(Linear, Tanh, Linear, Identity)
    seen = []
    mlp.layers[0].register_forward_hook(lambda m, args, out: seen.append(out.shape) or out * 3.0)
    out = mlp(X)
    assert seen == [(X.shape[0], 4)]
    # the hook on the course's layer acts on its activated output: in torch, the Tanh's
    twin[1].register_forward_hook(lambda m, args, out: out * 3.0)
    np.testing.assert_allclose(out.data, twin(torch.tensor(X)).detach().numpy(), rtol=1e-12)
    assert [p.name for p in mlp.parameters()][0] == "layers.0.W"  # names kept
