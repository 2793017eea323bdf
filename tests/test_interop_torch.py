"""to_torch / from_torch: every supported module round-trips with the same outputs (train and eval
modes), state, dtype, mode and frozen flags; one optimizer step gives the same weights on both
sides; a CNN trained here, fine-tuned in torch and brought back gives torch's predictions; the
course's modules and users' modules convert; unsupported modules are named in the error."""

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from tinygrad_nn import Value, nn
from tinygrad_nn.errors import UnsupportedTypeError
from tinygrad_nn.interop import from_torch, to_torch
from tinygrad_nn.optim import SGD, Adam

from test_nn_state import MODULES as STATE_MODULES, _inputs

torch = pytest.importorskip("torch")

EXAMPLES = settings(max_examples=min(settings.default.max_examples, 15), deadline=None)

# every module of the state_dict test (those with a forward), and a few more
MODULES = [case for case in STATE_MODULES if case[1] is not None] + [
    ("AdaptiveMaxPool1d(3)", (2, 2, 8)), ("RMSNorm(4, eps=1e-6)", (3, 4)),
    ("InstanceNorm2d(2, affine=True, track_running_stats=True)", (2, 2, 4, 4)),
    ("ELU(alpha=0.5)", (3, 4)), ("Hardtanh(-2.0, 1.5)", (3, 4)),
    ("Sequential(nn.Linear(4, 3), nn.Tanh(), nn.Linear(3, 2))", (5, 4)),
]
RANDOM = ("Dropout",)  # masks are drawn by each library: compared in eval mode only


def _first(out):
    return out[0] if isinstance(out, tuple) else out


def _ours(model, args):
    return np.asarray(_first(model(*args)).data)


def _theirs(module, args):
    with torch.no_grad():
        return _first(module(*(torch.from_numpy(a) for a in args))).numpy()


def _same_state(ours, theirs, tol=0.0):
    state, torch_state = ours.state_dict(), theirs.state_dict()
    assert list(state) == list(torch_state)
    for key, value in state.items():
        assert value.dtype == torch_state[key].numpy().dtype, key
        np.testing.assert_allclose(value, torch_state[key].numpy(), rtol=tol, atol=tol, err_msg=key)


@pytest.mark.parametrize("spec, kind", MODULES, ids=[m[0] for m in MODULES])
def test_round_trip_gives_the_same_outputs_and_state_in_both_modes(spec, kind):
    ours = eval(f"nn.{spec}", {"nn": nn})
    theirs = to_torch(ours)
    assert type(theirs).__name__ == type(ours).__name__
    back = from_torch(theirs)
    assert type(back) is type(ours) and repr(back) == repr(ours)
    _same_state(ours, theirs)
    _same_state(back, theirs)
    rng = np.random.default_rng(0)
    for training in (False, True):
        if training and any(name in spec for name in RANDOM):
            continue
        for module in (ours, theirs, back):
            module.train(training)
        args = _inputs(kind, rng)
        expected = _theirs(theirs, args)  # (updates torch's running statistics in training)
        np.testing.assert_allclose(_ours(ours, args), expected, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(_ours(back, args), expected, rtol=1e-12, atol=1e-12)
        _same_state(ours, theirs, tol=1e-12)


def test_modules_built_in_torch_come_over_with_their_state_and_mode():
    torch.manual_seed(0)
    module = torch.nn.Sequential(torch.nn.Conv2d(1, 3, 3), torch.nn.BatchNorm2d(3),
                                 torch.nn.ReLU(), torch.nn.Flatten(), torch.nn.Linear(27, 2))
    x = np.random.default_rng(1).standard_normal((4, 1, 5, 5)).astype(np.float32)
    module(torch.from_numpy(x))  # running statistics move away from their initial values
    module[4].weight.requires_grad_(False)
    module.eval()
    ours = from_torch(module)
    assert not ours.training and not ours[1].training
    assert ours[4].weight.dtype == np.float32 and not ours[4].weight.requires_grad
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in module.named_parameters()
                                                       if module.get_parameter(n).requires_grad]
    np.testing.assert_allclose(ours[1].running_var, module[1].running_var.numpy())
    np.testing.assert_allclose(_ours(ours, (x,)), _theirs(module, (x,)), rtol=1e-6, atol=1e-6)
    again = to_torch(ours)
    assert not again.training and not again[4].weight.requires_grad
    assert again[0].weight.dtype == torch.float32


@EXAMPLES
@given(n=st.integers(1, 5), c_in=st.integers(1, 3), c_out=st.integers(1, 4),
       k=st.integers(1, 3), size=st.integers(3, 6), float32=st.booleans(), seed=st.integers(0, 99))
def test_drawn_cnn_gives_the_same_outputs_in_float32_and_float64(n, c_in, c_out, k, size,
                                                                 float32, seed):
    dtype = np.float32 if float32 else np.float64
    model = nn.Sequential(nn.Conv2d(c_in, c_out, k, padding=1, dtype=dtype, seed=seed),
                          nn.BatchNorm2d(c_out, dtype=dtype), nn.ReLU(),
                          nn.AdaptiveAvgPool2d(2), nn.Flatten(),
                          nn.Linear(4 * c_out, 3, dtype=dtype, seed=seed + 1))
    theirs = to_torch(model)
    assert theirs[0].weight.dtype == (torch.float32 if float32 else torch.float64)
    tol = 1e-5 if float32 else 1e-12
    x = np.random.default_rng(seed).standard_normal((n + 1, c_in, size, size)).astype(dtype)
    for training in (True, False):
        model.train(training)
        theirs.train(training)
        np.testing.assert_allclose(_ours(model, (x,)), _theirs(theirs, (x,)), rtol=tol, atol=tol)
    _same_state(model, theirs, tol=tol)


def _step(model, optimizer, x, y):
    optimizer.zero_grad()
    loss = ((model(x) - y) ** 2).mean()
    loss.backward()
    optimizer.step()


@EXAMPLES
@given(adam=st.booleans(), hidden=st.integers(2, 6), seed=st.integers(0, 99))
def test_one_optimizer_step_on_each_side_gives_the_same_weights(adam, hidden, seed):
    model = nn.Sequential(nn.Linear(3, hidden, seed=seed), nn.LayerNorm(hidden), nn.Tanh(),
                          nn.Linear(hidden, 2, seed=seed + 1))
    theirs = to_torch(model)
    rng = np.random.default_rng(seed)
    x, y = rng.standard_normal((6, 3)), rng.standard_normal((6, 2))
    ours_opt, torch_opt = ((Adam, torch.optim.Adam) if adam else (SGD, torch.optim.SGD))
    _step(model, ours_opt(model.parameters(), lr=0.1), x, y)
    _step(theirs, torch_opt(theirs.parameters(), lr=0.1), torch.from_numpy(x), torch.from_numpy(y))
    _same_state(model, theirs, tol=1e-12)


def test_cnn_trained_here_fine_tuned_in_torch_and_brought_back_gives_torchs_predictions():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((16, 1, 8, 8))
    labels = (x[:, 0, :4].sum(axis=(1, 2)) > 0).astype(np.int64)
    model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1, seed=0), nn.BatchNorm2d(4), nn.ReLU(),
                          nn.MaxPool2d(2), nn.Dropout(0.1), nn.Flatten(),
                          nn.Linear(64, 2, seed=1))
    optimizer = Adam(model.parameters(), lr=0.01)
    for _ in range(3):
        optimizer.zero_grad()
        nn.functional.cross_entropy(model(x), labels).backward()
        optimizer.step()
    theirs = to_torch(model)
    torch_opt = torch.optim.SGD(theirs.parameters(), lr=0.1)
    torch_opt.zero_grad()
    torch.nn.functional.cross_entropy(theirs(torch.from_numpy(x)), torch.from_numpy(labels)).backward()
    torch_opt.step()
    theirs.eval()
    back = from_torch(theirs)
    assert not back.training
    np.testing.assert_allclose(_ours(back, (x,)), _theirs(theirs, (x,)), rtol=1e-12, atol=1e-12)
    assert not np.allclose(back[0].weight.data, model[0].weight.data)  # torch's step came back


@pytest.mark.parametrize("activation", ["sigmoid", "relu", "tanh", "leaky_relu", "softplus",
                                        "softmax", "linear"])
def test_course_modules_become_linear_and_activation_layers(activation):
    x = np.random.default_rng(0).standard_normal((5, 3))
    layer = nn.Layer(3, 4, activation, seed=0)
    layer.b.data[...] = 0.3
    mlp = nn.MLP(3, [4, 2], activation, seed=1)
    neuron = nn.Neuron(3, activation, seed=2)
    for model in (layer, mlp, neuron):
        theirs = to_torch(model)
        assert isinstance(theirs, torch.nn.Sequential)
        np.testing.assert_allclose(_theirs(theirs, (x,)), _ours(model, (x,)), rtol=1e-12,
                                   atol=1e-12)
        back = from_torch(theirs)
        assert isinstance(back, nn.Sequential)
        np.testing.assert_allclose(_ours(back, (x,)), _ours(model, (x,)), rtol=1e-12, atol=1e-12)
    assert not any(isinstance(m, torch.nn.Sequential) for m in to_torch(mlp))  # one flat one
    np.testing.assert_array_equal(to_torch(layer)[0].bias.detach().numpy(), layer.b.data)


class Tower(nn.Module):
    def __init__(self):
        self.blocks = [nn.Linear(3, 4, seed=0), nn.Linear(4, 2, seed=1)]
        self.heads = {"a": nn.Tanh()}
        self.scale = Value(np.array([2.0, 3.0]))
        self.register_buffer("offset", np.array([0.5, -0.5]))
        self.width = 4

    def forward(self, x):
        return self.heads["a"](self.blocks[1](self.blocks[0](x))) * self.scale + self.offset


def test_a_users_module_converts_child_by_child_under_the_same_names():
    model = Tower()
    theirs = to_torch(model)
    assert type(theirs).__name__ == "Tower"
    assert isinstance(theirs.blocks, torch.nn.ModuleList)
    assert isinstance(theirs.heads, torch.nn.ModuleDict)
    _same_state(model, theirs)
    with pytest.raises(NotImplementedError, match="Tower.*forward"):
        theirs(torch.zeros(1, 3))
    back = from_torch(theirs)
    assert type(back).__name__ == "Tower"
    _same_state(back, theirs)
    fresh = Tower()  # the state loads into the user's own class
    fresh.load_state_dict(back.state_dict())
    x = np.ones((2, 3))
    np.testing.assert_array_equal(_ours(fresh, (x,)), _ours(model, (x,)))


def test_unsupported_modules_are_named_in_the_error():
    class Holder(nn.Module):
        def __init__(self):
            self.ok = nn.Linear(2, 2)
            self.body = nn.Sequential(nn.ReLU(), nn.LSTM(2, 3))

    with pytest.raises(UnsupportedTypeError, match=r"'body\.1'.*LSTM"):
        to_torch(Holder())
    with pytest.raises(UnsupportedTypeError, match=r"'1'.*LSTM"):
        from_torch(torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.LSTM(2, 3)))
    with pytest.raises(UnsupportedTypeError, match="the model is a MSELoss"):
        to_torch(nn.MSELoss())
    with pytest.raises(TypeError, match="to_torch: expected a tinygrad_nn"):
        to_torch(torch.nn.Linear(2, 2))
    with pytest.raises(TypeError, match="from_torch: expected a torch"):
        from_torch(nn.Linear(2, 2))
