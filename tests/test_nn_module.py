"""Module machinery beyond parameters: buffers, the dotted names parameters learn when a model is
first called (and that draw_dot groups by), and the per-thread default Generator."""

import threading

import numpy as np
import pytest

import tinygrad_nn as tg
from tinygrad_nn import ShapeError, UnsupportedTypeError, Value, draw_dot, nn
from tinygrad_nn.random import default_generator, generator

from test_viz import parse_dot


class Counter(nn.Module):
    """A module with a parameter, a saved buffer and an unsaved one (torch's persistent=False)."""

    def __init__(self) -> None:
        self.scale = Value(np.array([2.0, 3.0]))
        self.register_buffer("total", np.zeros(2))
        self.register_buffer("last", np.zeros(2), persistent=False)

    def forward(self, x):
        x = tg.constant(x)
        self.total = self.total + x.data  # a buffer may be rebound
        self.last = x.data
        return self.scale * x


def test_buffers_are_saved_and_loaded_but_not_trained():
    model = nn.Sequential(Counter(), Counter())
    model(np.array([1.0, 2.0]))
    assert [n for n, _ in model.named_parameters()] == ["0.scale", "1.scale"]
    assert [n for n, _ in model.named_buffers()] == ["0.total", "0.last", "1.total", "1.last"]
    state = model.state_dict()
    assert list(state) == ["0.scale", "0.total", "1.scale", "1.total"]  # torch's order; persistent only
    np.testing.assert_array_equal(state["1.total"], [2.0, 6.0])  # what the first one gave
    fresh = nn.Sequential(Counter(), Counter())
    fresh.load_state_dict(state)
    np.testing.assert_array_equal(fresh[1].total, [2.0, 6.0])
    state["0.total"][0] = 99.0  # state_dict hands out copies: the model is not changed through it
    assert model[0].total[0] == 1.0 and fresh[0].total[0] == 1.0


def test_a_bad_buffer_in_the_state_loads_nothing():
    model = Counter()
    state = model.state_dict()
    state["scale"] = np.array([7.0, 7.0])
    state["total"] = np.zeros(3)
    with pytest.raises(ShapeError, match=r"total: shape \(3,\) in the state, \(2,\) in the model"):
        model.load_state_dict(state)
    np.testing.assert_array_equal(model.scale.data, [2.0, 3.0])  # the good entry was not loaded
    del state["total"]
    with pytest.raises(ShapeError, match="missing: total"):
        model.load_state_dict(state)


def test_register_buffer_refuses_what_is_not_a_buffer():
    module = nn.Module()
    with pytest.raises(TypeError, match="register_buffer\\('w'\\): a buffer is a numpy array"):
        module.register_buffer("w", Value(1.0))
    with pytest.raises(ValueError, match="identifier"):
        module.register_buffer("a.b", np.zeros(1))
    module.register_buffer("later", None)  # "not yet": not in the state until it is set
    assert module.state_dict() == {}
    module.later = np.ones(1)
    assert list(module.state_dict()) == ["later"]


def test_parameters_learn_their_dotted_names_when_the_model_is_first_called():
    model = nn.Sequential(nn.Linear(3, 4, seed=0), nn.Linear(4, 2, seed=1))
    assert model[0].weight.name == ""  # not before the first call
    model(np.ones((1, 3)))
    assert [p.name for p in model.parameters()] == ["0.weight", "0.bias", "1.weight", "1.bias"]
    outer = nn.ModuleDict({"encoder": model})
    outer["encoder"](np.ones((1, 3)))  # calling the inner model again keeps its names
    assert model[0].weight.name == "0.weight"

    class Wrapper(nn.Module):
        def __init__(self, inner):
            self.encoder = inner

        def forward(self, x):
            return self.encoder(x)

    Wrapper(model)(np.ones((1, 3)))  # placed inside another model, it takes the longer names
    assert [p.name for p in model.parameters()] == ["encoder.0.weight", "encoder.0.bias",
                                                    "encoder.1.weight", "encoder.1.bias"]


def test_draw_dot_groups_a_called_models_layers_without_names():
    model = nn.Sequential(nn.Linear(3, 4, seed=0), nn.Linear(4, 2, seed=1))
    loss = (model(np.ones((5, 3))) ** 2).mean()
    by_name = parse_dot(draw_dot(loss).source)["clusters"]
    assert len(by_name) == 2
    assert by_name == parse_dot(draw_dot(loss, names=model).source)["clusters"]
    source = draw_dot(loss).source
    assert "0.weight" in source and "1.bias" in source


def test_manual_seed_makes_layers_reproducible_per_thread():
    tg.manual_seed(0)
    first = nn.Linear(3, 2).weight.data
    tg.manual_seed(0)
    np.testing.assert_array_equal(nn.Linear(3, 2).weight.data, first)
    assert not np.array_equal(nn.Linear(3, 2).weight.data, first)  # the stream moved on
    np.testing.assert_array_equal(nn.Linear(3, 2, seed=5).weight.data,
                                  nn.Linear(3, 2, seed=5).weight.data)
    mine = default_generator()
    seen = []
    thread = threading.Thread(target=lambda: seen.append(default_generator()))
    thread.start()
    thread.join()
    assert seen[0] is not mine  # each thread has its own default Generator
    own = np.random.default_rng(1)
    assert generator(own) is own and generator(None) is mine
    for bad in (True, -1, 1.5, "0"):
        with pytest.raises(UnsupportedTypeError, match="seed must be a non-negative int"):
            generator(bad, "Linear")
        with pytest.raises(UnsupportedTypeError, match="manual_seed"):
            tg.manual_seed(bad)


def test_linear_matches_its_formula_and_has_torch_default_bounds():
    layer = nn.Linear(4, 3, seed=0)
    assert np.all(np.abs(layer.weight.data) <= 0.5) and np.all(np.abs(layer.bias.data) <= 0.5)
    x = np.arange(8.0).reshape(2, 4)
    np.testing.assert_allclose(layer(x).data, x @ layer.weight.data.T + layer.bias.data)
    assert nn.Linear(4, 3, bias=False).state_dict().keys() == {"weight"}
    with pytest.raises(ShapeError, match="expected inputs with 4 features"):
        layer(np.ones((2, 5)))


def test_a_set_of_modules_is_refused_rather_than_missed():
    class Bag(nn.Module):
        def __init__(self):
            self.layers = {nn.Linear(2, 2)}

    with pytest.raises(TypeError, match="'layers' is a set holding Modules or Values"):
        Bag().parameters()


def test_add_module_get_submodule_and_parameter_as_torch_spells_them():
    model = nn.Module()
    model.add_module("body", nn.Sequential(nn.Linear(2, 3), nn.ReLU()))
    model.scale = nn.Parameter(np.ones(3))
    assert model.get_submodule("body.0") is model.body[0]
    assert [n for n, _ in model.named_parameters()] == ["scale", "body.0.weight", "body.0.bias"]
    with pytest.raises(AttributeError, match="no sub-module 'body.5'"):
        model.get_submodule("body.5")
    with pytest.raises(TypeError, match="expected a Module"):
        model.add_module("x", np.ones(2))
    frozen = nn.Parameter(Value(np.zeros(2)), requires_grad=False)
    assert not frozen.requires_grad and frozen._fn is None


def test_to_float_and_double_convert_parameters_gradients_and_buffers():
    model = nn.Sequential(nn.Linear(3, 2), nn.BatchNorm1d(2))
    model(np.ones((4, 3))).sum().backward()
    model.float()
    assert {v.dtype for v in model.state_dict().values()} == {np.dtype(np.float32), np.dtype(np.int64)}
    assert all(p.grad.dtype == np.float32 for p in model.parameters())
    assert model(np.ones((4, 3), np.float32)).dtype == np.float32
    assert model.double()[0].weight.dtype == np.float64
    with pytest.raises(TypeError, match="float32 or float64"):
        model.to(np.int32)


def test_parameter_list_and_dict_hold_named_parameters_as_torch_does():
    torch = pytest.importorskip("torch")
    ours = nn.ParameterList([np.ones(2), Value(np.zeros(3))])
    ours.append(np.ones((2, 2)))
    theirs = torch.nn.ParameterList([torch.ones(2), torch.zeros(3), torch.ones(2, 2)])
    assert list(ours.state_dict()) == list(theirs.state_dict()) == ["0", "1", "2"]
    assert len(ours) == 3 and ours[1].shape == (3,) and all(p.requires_grad for p in ours)
    table = nn.ParameterDict({"scale": np.ones(2)})
    table["shift"] = np.zeros(2)
    model = nn.Sequential(nn.Linear(2, 2))
    model.extra = table
    assert [n for n, _ in model.named_parameters()][-2:] == ["extra.scale", "extra.shift"]
    with pytest.raises(TypeError, match="ParameterDict: keys are names"):
        table[1] = np.ones(1)  # type: ignore[index]
