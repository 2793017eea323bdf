"""Modules: the logistic unit, layers, MLPs, their parameters, state and input/output types."""

import numpy as np
import pytest

import tinygrad_nn as tn
import tinygrad_nn.losses
from tinygrad_nn import ShapeError, Value
from tinygrad_nn.gradcheck import check_gradients
from tinygrad_nn.losses import cross_entropy, logistic_cost
from tinygrad_nn import nn
from tinygrad_nn.nn import MLP, Layer, Module, Neuron
from tinygrad_nn.optim import SGD

BOOLEAN_INPUTS = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float)


def _unit(theta):
    """A logistic unit with hand-set weights θ = [bias, w1, w2] (Ng's lecture examples)."""
    n = Neuron(2)
    n.load_state_dict({"w": np.array(theta[1:], dtype=float), "b": np.array(theta[0], dtype=float)})
    return n


@pytest.mark.parametrize("theta, truth", [
    ([-30, 20, 20], [0, 0, 0, 1]),   # AND
    ([-10, 20, 20], [0, 1, 1, 1]),   # OR
    ([10, -20, -20], [1, 0, 0, 0]),  # (NOT x1) AND (NOT x2)
])
def test_logistic_unit_computes_boolean_functions(theta, truth):
    out = _unit(theta)(BOOLEAN_INPUTS)
    assert out.shape == (4,)
    np.testing.assert_array_equal(out.data > 0.5, np.array(truth, dtype=bool))
    assert np.all(np.abs(out.data - truth) < 1e-4)  # sigmoid(±10) is within 5e-5 of 0 or 1


def test_xnor_network_from_thetas():
    # hidden: AND and NOR; output: OR of them
    model = MLP.from_thetas([np.array([[-30, 20, 20], [10, -20, -20]]), np.array([[-10, 20, 20]])])
    out = model(BOOLEAN_INPUTS)
    assert out.shape == (4, 1)
    np.testing.assert_array_equal(out.data[:, 0] > 0.5, [True, False, False, True])


def test_output_type_follows_input():
    model = MLP(3, [4, 2], seed=0)
    x = np.array([0.5, -1.0, 2.0])
    one = model(x)
    assert isinstance(one, Value) and one.shape == (2,)
    batch = model(np.stack([x, x, x]))
    assert batch.shape == (3, 2)
    np.testing.assert_allclose(batch.data[1], one.data, rtol=1e-14)
    as_list = model([Value(0.5), Value(-1.0), 2.0])
    assert isinstance(as_list, list) and len(as_list) == 2
    np.testing.assert_allclose([v.item() for v in as_list], one.data, rtol=1e-14)
    assert isinstance(model([0.5, -1.0, 2.0]), list)
    assert Neuron(3, seed=0)(x).shape == () and Neuron(3, seed=0)(np.stack([x, x])).shape == (2,)


def test_list_inputs_get_gradients_micrograd_style():
    model = MLP(2, [3, 1], activation="tanh", seed=1)
    xs = [Value(0.3), Value(-0.7)]
    (out,) = model(xs)
    out.backward()
    assert all(type(x.grad) is float and x.grad != 0 for x in xs)


def test_wrong_feature_count_is_a_clear_error():
    with pytest.raises(ShapeError, match=r"Layer\(3 -> 2.*\(n, 3\); got shape \(4, 5\)"):
        Layer(3, 2)(np.ones((4, 5)))
    with pytest.raises(ShapeError, match=r"MLP.*got shape \(2,\)"):
        MLP(3, [2])(np.ones(2))


def test_named_parameters_and_weights():
    model = MLP(2, [3, 1], seed=0)
    names = [n for n, _ in model.named_parameters()]
    assert names == ["layers.0.W", "layers.0.b", "layers.1.W", "layers.1.b"]
    assert [p.shape for p in model.parameters()] == [(3, 2), (3,), (1, 3), (1,)]
    assert model.weights() == [model.layers[0].W, model.layers[1].W]
    assert model.num_parameters() == 6 + 3 + 3 + 1


def test_custom_module_registers_attributes_and_shared_parameters_once():
    class TwoHeads(Module):
        def __init__(self):
            self.body = Layer(2, 4, seed=0)
            self.heads = [Layer(4, 1, seed=1), Layer(4, 1, seed=2)]
            self.scale = Value(1.0)
            self.alias = self.scale
            self.frozen = Value(np.ones(2), requires_grad=False)

        def forward(self, x):
            h = self.body(x)
            return self.heads[0](h) * self.scale + self.heads[1](h)

    m = TwoHeads()
    assert [n for n, _ in m.named_parameters()] == [  # PyTorch's order: its own, then sub-modules'
        "scale", "body.W", "body.b", "heads.0.W", "heads.0.b", "heads.1.W", "heads.1.b"]
    assert len(list(m.modules())) == 4
    m.eval()
    assert not any(mod.training for mod in m.modules())
    m.train()
    assert all(mod.training for mod in m.modules())


def test_state_dict_round_trip_and_strict_loading():
    a, b = MLP(2, [3, 2], seed=0), MLP(2, [3, 2], seed=1)
    x = np.array([[0.1, 0.2]])
    b.load_state_dict(a.state_dict())
    np.testing.assert_array_equal(a(x).data, b(x).data)
    sd = a.state_dict()
    sd["layers.0.W"][0, 0] = 99.0  # a copy: the model is not changed through it
    assert a.layers[0].W.data[0, 0] != 99.0


@pytest.mark.parametrize("edit, message", [
    (lambda sd: sd.pop("layers.1.b"), "missing: layers.1.b"),
    (lambda sd: sd.update(extra=np.ones(1)), "unexpected: extra"),
    (lambda sd: sd.update({"layers.0.W": np.ones((2, 3))}), r"layers.0.W: shape \(2, 3\) in the state, \(3, 2\)"),
    (lambda sd: sd.update({"layers.0.b": np.ones(3, dtype=np.float32)}), "layers.0.b: dtype float32"),
])
def test_bad_state_is_refused_and_the_model_left_unchanged(edit, message):
    model = MLP(2, [3, 2], seed=0)
    before = model.state_dict()
    sd = MLP(2, [3, 2], seed=5).state_dict()
    edit(sd)
    with pytest.raises(ShapeError, match=message):
        model.load_state_dict(sd)
    for name, value in model.state_dict().items():
        np.testing.assert_array_equal(value, before[name])


def test_seed_reproduces_the_model_and_layers_differ():
    a, b = MLP(4, [8, 8, 2], seed=3), MLP(4, [8, 8, 2], seed=3)
    for p, q in zip(a.parameters(), b.parameters()):
        np.testing.assert_array_equal(p.data, q.data)
    assert not np.array_equal(a.layers[1].W.data, MLP(4, [8, 8, 2], seed=4).layers[1].W.data)


def test_float32_model_stays_float32():
    model = MLP(3, [4, 2], activation="relu", output_activation="linear", seed=0, dtype=np.float32)
    out = model(np.ones((5, 3)))  # float64 data is cast to the model's dtype
    assert out.dtype == np.float32
    loss = cross_entropy(out, np.array([0, 1, 0, 1, 1]))
    assert loss.dtype == np.float32  # the targets take the outputs' dtype: nothing upcasts to float64
    loss.backward()
    assert all(p.grad.dtype == np.float32 for p in model.parameters())
    for make in (lambda: logistic_cost(out.sigmoid(), np.array([0, 1, 0, 1, 1])),
                 lambda: tn.losses.mse(out, np.zeros((5, 2))),
                 lambda: tn.losses.binary_cross_entropy_with_logits(out, np.ones((5, 2)))):
        assert make().dtype == np.float32


def test_from_thetas_checks_shapes():
    with pytest.raises(ShapeError, match="Theta2 takes 3 inputs but Theta1 gives 5 outputs"):
        MLP.from_thetas([np.ones((5, 4)), np.ones((2, 4))])


@pytest.mark.parametrize("activation", ["sigmoid", "tanh", "relu", "softplus", "leaky_relu"])
def test_backprop_through_every_activation_matches_finite_differences(activation):
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(6, 3)), rng.integers(0, 2, size=6)
    model = MLP(3, [4, 2], activation=activation, output_activation="sigmoid", seed=2)
    assert check_gradients(model, lambda out, t: logistic_cost(out, t, model.weights(), lam=0.5), X, y)


def test_linear_op_equals_matmul_plus_bias():
    rng = np.random.default_rng(1)
    x, w, b = rng.normal(size=(4, 3)), Value(rng.normal(size=(2, 3))), Value(rng.normal(size=2))
    np.testing.assert_allclose(tn.linear(x, w, b).data, x @ w.data.T + b.data, rtol=1e-14)


# ---- containers: layers in dicts, nested lists, ModuleList, ModuleDict, Sequential -------------
class _Holder(nn.Module):
    """Layers kept the ways people keep them: in a dict, a list of lists, a ModuleDict."""

    def __init__(self) -> None:
        self.blocks = {"encoder": nn.Layer(3, 4, "tanh", seed=0), "decoder": nn.Layer(4, 2, "linear", seed=1)}
        self.grid = [[nn.Neuron(2, seed=2)], [nn.Neuron(2, seed=3), nn.Neuron(2, seed=4)]]
        self.heads = nn.ModuleDict({"a": nn.Layer(2, 1, "linear", seed=5)})

    def forward(self, x):
        h = self.blocks["decoder"](self.blocks["encoder"](x))
        units = sum(unit(h) for row in self.grid for unit in row)
        return self.heads["a"](h).sum() + units.sum()


def test_parameters_in_dicts_nested_lists_and_module_dicts_are_found_and_trained():
    model = _Holder()
    names = [name for name, _ in model.named_parameters()]
    assert names == ["blocks.encoder.W", "blocks.encoder.b", "blocks.decoder.W", "blocks.decoder.b",
                     "grid.0.0.w", "grid.0.0.b", "grid.1.0.w", "grid.1.0.b", "grid.1.1.w",
                     "grid.1.1.b", "heads.a.W", "heads.a.b"]
    model(np.ones((5, 3))).backward()
    assert all(np.any(p.grad != 0) for p in model.parameters())  # every one gets a gradient
    state = model.state_dict()
    other = _Holder()
    for p in other.parameters():
        p.data = p.data * 0
    other.load_state_dict(state)
    np.testing.assert_array_equal(other(np.ones((5, 3))).data, model(np.ones((5, 3))).data)


def test_sequential_and_module_list_name_their_entries_by_position():
    seq = nn.Sequential(nn.Layer(3, 4, "relu", seed=0), nn.Layer(4, 2, "linear", seed=1))
    assert [n for n, _ in seq.named_parameters()] == ["0.W", "0.b", "1.W", "1.b"]
    x = np.ones((2, 3))
    np.testing.assert_array_equal(seq(x).data, seq[1](seq[0](x)).data)
    assert len(seq) == 2 and list(seq) == [seq[0], seq[1]]
    listed = nn.ModuleList([nn.Neuron(2)]).append(nn.Neuron(2))
    assert [n for n, _ in listed.named_parameters()] == ["0.w", "0.b", "1.w", "1.b"]
    with pytest.raises(TypeError, match="ModuleList: expected a Module"):
        listed.append(np.ones(2))  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="ModuleDict"):
        nn.ModuleDict({1: nn.Neuron(2)})  # type: ignore[dict-item]


def test_named_modules_children_apply_and_train_mode_reach_every_container():
    model = _Holder()
    names = [name for name, _ in model.named_modules()]
    assert names == ["", "blocks.encoder", "blocks.decoder", "grid.0.0", "grid.1.0", "grid.1.1",
                     "heads", "heads.a"]
    assert [type(m).__name__ for m in model.children()] == ["Layer", "Layer", "Neuron", "Neuron",
                                                           "Neuron", "ModuleDict"]
    visited = []
    model.apply(lambda m: visited.append(type(m).__name__))
    assert visited[-1] == "_Holder" and visited.count("Neuron") == 3  # children first
    model.eval()
    assert not any(m.training for m in model.modules())


def test_frozen_parameters_leave_parameters_but_stay_in_the_state_dict():
    model = MLP(3, [4, 2], seed=0)
    model.layers[0].requires_grad_(False)  # freeze the first layer, as in fine-tuning
    assert [n for n, _ in model.named_parameters()] == ["layers.1.W", "layers.1.b"]
    assert list(model.state_dict()) == ["layers.0.W", "layers.0.b", "layers.1.W", "layers.1.b"]
    before = model.layers[0].W.data.copy()
    opt = SGD(model.parameters(), lr=0.5)
    model(np.ones((2, 3))).sum().backward()
    opt.step()
    np.testing.assert_array_equal(model.layers[0].W.data, before)  # frozen: untouched
    assert np.any(model.layers[1].W.grad != 0)
    # a frozen model loads and restores every weight, and unfreezing starts from zero gradients
    copy = MLP(3, [4, 2], seed=1).requires_grad_(False)
    copy.load_state_dict(model.state_dict())
    np.testing.assert_array_equal(copy(np.ones((1, 3))).data, model(np.ones((1, 3))).data)
    copy.requires_grad_(True)
    assert len(copy.parameters()) == 4 and all(not np.any(p.grad) for p in copy.parameters())
