"""to_torch / from_torch: every supported module round-trips with the same outputs (train and eval
modes, float64 and float32), state, dtype, mode and frozen flags, for the table of modules and
for hypothesis-drawn shapes; optimizer steps give the same weights on both sides; a model trained
here, fine-tuned in torch and brought back gives torch's predictions; the course's modules and
users' modules convert; unsupported modules are named in the error.

Tolerances (the issue's): float64 1e-12, float32 1e-6, each relative with an absolute part of
the same size times max(1, the largest output): the inputs and weights are of order one, so an
absolute 1e-6 is 1e-6 of the quantities summed. The one exception is batch or layer norm in
training mode, which divides x - mean by the batch's standard deviation: both libraries sum in
float32 in different orders, and the subtraction magnifies that rounding by the condition number
max|x| / std (see `_condition`); the tolerance is 1e-6 times it. States (running statistics
included) agree to 1e-6 absolute and relative. Measured in float32: the table's modules within
2.4e-7 of torch (outputs of order one, both modes); 1500 drawn CNNs (conv, batch norm, pooling,
linear) within 1.8e-7 in eval mode, relative to max(1, max|output|), and in training mode up to
1.0e-5 where a channel's std was 0.0009 against |mean| 0.94, but never above 1.0e-7 times the
condition number; running means within 1.5e-9 absolute (2.7e-6 relative: means near zero).
"""

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from tinygrad_nn import Value, nn
from tinygrad_nn.errors import UnsupportedTypeError
from tinygrad_nn.interop import from_torch, to_torch
from tinygrad_nn.optim import SGD, Adam, AdamW
from tinygrad_nn.train import fit

from test_nn_state import MODULES as STATE_MODULES, _inputs

torch = pytest.importorskip("torch")

EXAMPLES = settings(max_examples=min(settings.default.max_examples, 15), deadline=None)
TOL = {np.float64: 1e-12, np.float32: 1e-6}
DTYPES = [np.float64, np.float32]

# every module of the state_dict test (those with a forward), and a few more
MODULES = [case for case in STATE_MODULES if case[1] is not None] + [
    ("AdaptiveMaxPool1d(3)", (2, 2, 8)), ("RMSNorm(4, eps=1e-6)", (3, 4)),
    ("InstanceNorm2d(2, affine=True, track_running_stats=True)", (2, 2, 4, 4)),
    ("ELU(alpha=0.5)", (3, 4)), ("Hardtanh(-2.0, 1.5)", (3, 4)),
    ("Sequential(nn.Linear(4, 3), nn.Tanh(), nn.Linear(3, 2))", (5, 4)),
]
RANDOM = ("Dropout",)  # masks are drawn by each library: compared in eval mode only


@pytest.fixture(autouse=True, scope="module")
def _one_torch_thread():
    """The tensors here are tiny: torch's thread pool only adds waiting (the drawn tests ran
    4x slower with it on a busy two-core machine). Restored after this module."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _first(out):
    return out[0] if isinstance(out, tuple) else out


def _ours(model, args):
    return np.asarray(_first(model(*args)).data)


def _theirs(module, args):
    with torch.no_grad():
        return _first(module(*(torch.from_numpy(a) for a in args))).numpy()


def _close(got, expected, tol, condition=1.0):
    """|got - expected| within tol·condition, relative and absolute (scaled by max(1, max|e|))."""
    assert got.dtype == expected.dtype and got.shape == expected.shape
    bound = tol * condition
    scale = max(1.0, float(np.abs(expected).max(initial=0.0)))
    np.testing.assert_allclose(got, expected, rtol=bound, atol=bound * scale)


def _condition(x, axes):
    """max|x| / std over `axes` (the largest over the other axes): how much normalising x by its
    own mean and std magnifies a rounding difference in the sums (at least 1)."""
    x = np.asarray(x, np.float64)
    spread = np.abs(x).max(axis=axes) / np.maximum(x.std(axis=axes), 1e-300)
    return max(1.0, float(spread.max()))


def _same_state(ours, theirs, tol=0.0):
    state, torch_state = ours.state_dict(), theirs.state_dict()
    assert list(state) == list(torch_state)
    for key, value in state.items():
        assert value.dtype == torch_state[key].numpy().dtype, key
        np.testing.assert_allclose(value, torch_state[key].numpy(), rtol=tol, atol=tol, err_msg=key)


def _round_trip(ours, args, tol, conditions=None, modes=(False, True)):
    """ours -> torch -> back: the same class, repr and state, and in each mode the same outputs
    and (after a training forward, running statistics) the same state on all three.
    `conditions` maps a mode (training: True/False) to its `_condition`, 1 if not given."""
    theirs = to_torch(ours)
    assert type(theirs).__name__ == type(ours).__name__
    back = from_torch(theirs)
    assert type(back) is type(ours) and repr(back) == repr(ours)
    _same_state(ours, theirs)
    _same_state(back, theirs)
    for training in modes:
        for module in (ours, theirs, back):
            module.train(training)
        expected = _theirs(theirs, args)  # (updates torch's running statistics in training)
        condition = (conditions or {}).get(training, 1.0)
        _close(_ours(ours, args), expected, tol, condition)
        _close(_ours(back, args), expected, tol, condition)
        _same_state(ours, theirs, tol=tol)
        _same_state(back, theirs, tol=tol)


@pytest.mark.parametrize("dtype", DTYPES, ids=["float64", "float32"])
@pytest.mark.parametrize("spec, kind", MODULES, ids=[m[0] for m in MODULES])
def test_round_trip_gives_the_same_outputs_and_state_in_both_modes(spec, kind, dtype):
    ours = eval(f"nn.{spec}", {"nn": nn})
    if dtype is np.float32:  # the same module in float32, by way of torch's .float()
        ours = from_torch(to_torch(ours).float())
    modes = (False,) if any(name in spec for name in RANDOM) else (False, True)
    _round_trip(ours, _inputs(kind, np.random.default_rng(0), dtype), TOL[dtype], modes=modes)


# ---- hypothesis-drawn shapes for the main module kinds ------------------------------------------
small = st.integers(1, 5)


@st.composite
def drawn_models(draw, dtype):
    """(model, its input, its `_condition` by mode) for a drawn kind and shape."""
    kind = draw(st.sampled_from(["Linear", "Conv1d", "Conv2d", "BatchNorm1d", "BatchNorm2d",
                                 "Embedding", "LayerNorm", "MLP"]))
    seed = draw(st.integers(0, 2 ** 16))
    rng = np.random.default_rng(seed)
    batch = draw(st.integers(2, 5))  # batch norm in training needs two samples

    def normal(*shape):
        return rng.standard_normal(shape).astype(dtype)

    if kind == "Linear":
        n_in = draw(small)
        model = nn.Linear(n_in, draw(small), bias=draw(st.booleans()), dtype=dtype, seed=seed)
        return model, normal(batch, n_in), {}
    if kind.startswith("Conv"):
        dims = int(kind[-2])
        groups = draw(st.sampled_from([1, 2]))
        c_in, c_out = groups * draw(st.integers(1, 3)), groups * draw(st.integers(1, 3))
        k = draw(small)
        model = getattr(nn, kind)(c_in, c_out, k, stride=draw(st.integers(1, 2)),
                                  padding=draw(st.integers(0, 2)), dilation=draw(st.integers(1, 2)),
                                  groups=groups, bias=draw(st.booleans()), dtype=dtype, seed=seed)
        size = 2 * k + draw(st.integers(0, 3))  # at least the dilated kernel
        return model, normal(batch, c_in, *[size] * dims), {}
    if kind.startswith("BatchNorm"):
        channels = draw(small)
        model = getattr(nn, kind)(channels, momentum=draw(st.sampled_from([0.1, 0.5, None])),
                                  affine=draw(st.booleans()), dtype=dtype)
        if kind == "BatchNorm1d":  # (N, C) or (N, C, L)
            spatial = draw(st.lists(st.integers(1, 4), max_size=1))
        else:
            spatial = [draw(st.integers(1, 4)), draw(st.integers(1, 4))]
        x = normal(batch, channels, *spatial)
        return model, x, {True: _condition(x, (0,) + tuple(range(2, x.ndim)))}  # batch statistics
    if kind == "Embedding":
        num = draw(st.integers(2, 10))
        model = nn.Embedding(num, draw(small), padding_idx=draw(st.one_of(st.none(), st.just(0))),
                             dtype=dtype, seed=seed)
        return model, rng.integers(0, num, size=(batch, draw(small))), {}
    if kind == "LayerNorm":
        features = draw(st.integers(2, 6))
        x = normal(batch, draw(small), features)
        condition = _condition(x, -1)  # normalises each sample in both modes
        return nn.LayerNorm(features, bias=draw(st.booleans()), dtype=dtype), x, {True: condition,
                                                                                  False: condition}
    widths = draw(st.lists(small, min_size=2, max_size=4))
    activation = draw(st.sampled_from(["ReLU", "Tanh", "GELU", "Sigmoid"]))
    layers = []
    for i, (a, b) in enumerate(zip(widths, widths[1:])):
        layers += [nn.Linear(a, b, dtype=dtype, seed=seed + i), getattr(nn, activation)()]
    return nn.Sequential(*layers[:-1]), normal(batch, widths[0]), {}


@EXAMPLES
@given(st.sampled_from(DTYPES).flatmap(
    lambda dtype: st.tuples(st.just(dtype), drawn_models(dtype))))
def test_drawn_module_round_trips_with_the_same_outputs_and_running_statistics(case):
    dtype, (model, x, conditions) = case
    _round_trip(model, (x,), TOL[dtype], conditions, modes=(True, True, False))


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
    x = np.random.default_rng(seed).standard_normal((n + 1, c_in, size, size)).astype(dtype)
    condition = _condition(model[0](x).data, (0, 2, 3))  # of the batch norm's input
    for training in (True, False):
        model.train(training)
        theirs.train(training)
        _close(_ours(model, (x,)), _theirs(theirs, (x,)), TOL[dtype],
               condition if training else 1.0)
    _same_state(model, theirs, tol=TOL[dtype])


# ---- training on both sides -----------------------------------------------------------------
OPTIMIZERS = {
    "SGD": (SGD, torch.optim.SGD, dict(lr=0.1)),
    "SGD momentum, Nesterov, decay": (
        SGD, torch.optim.SGD, dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.01)),
    "Adam": (Adam, torch.optim.Adam, dict(lr=0.01)),
    "Adam amsgrad": (Adam, torch.optim.Adam, dict(lr=0.01, amsgrad=True, weight_decay=0.1)),
    "AdamW": (AdamW, torch.optim.AdamW, dict(lr=0.01, weight_decay=0.1)),
}


def _step(model, optimizer, x, y):
    optimizer.zero_grad()
    loss = ((model(x) - y) ** 2).mean()
    loss.backward()
    optimizer.step()


@EXAMPLES
@given(optimizer=st.sampled_from(sorted(OPTIMIZERS)), cnn=st.booleans(), steps=st.integers(1, 3),
       hidden=st.integers(2, 6), seed=st.integers(0, 99))
def test_optimizer_steps_on_each_side_give_the_same_weights(optimizer, cnn, steps, hidden, seed):
    if cnn:  # batch norm in training: running statistics move with each step. No conv bias:
        # batch norm cancels it, so its gradient is rounding noise (1e-17), which Adam's g / √v
        # turns into a step of order lr·1e-9 that differs between the libraries
        model = nn.Sequential(nn.Conv1d(2, hidden, 3, padding=1, bias=False, seed=seed),
                              nn.BatchNorm1d(hidden), nn.ReLU(), nn.Flatten(),
                              nn.Linear(4 * hidden, 2, seed=seed + 1))
        shape = (6, 2, 4)
    else:
        model = nn.Sequential(nn.Linear(3, hidden, seed=seed), nn.LayerNorm(hidden), nn.Tanh(),
                              nn.Linear(hidden, 2, seed=seed + 1))
        shape = (6, 3)
    theirs = to_torch(model)
    rng = np.random.default_rng(seed)
    x, y = rng.standard_normal(shape), rng.standard_normal((6, 2))
    ours_class, torch_class, options = OPTIMIZERS[optimizer]
    ours_opt = ours_class(model.parameters(), **options)
    torch_opt = torch_class(theirs.parameters(), **options)
    for _ in range(steps):
        _step(model, ours_opt, x, y)
        _step(theirs, torch_opt, torch.from_numpy(x), torch.from_numpy(y))
    _same_state(model, theirs, tol=1e-12)


def test_model_trained_here_fine_tuned_in_torch_and_brought_back_gives_torchs_predictions():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((32, 1, 8, 8))
    labels = (x[:, 0, :4].sum(axis=(1, 2)) > 0).astype(np.int64)
    model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1, seed=0), nn.BatchNorm2d(4), nn.ReLU(),
                          nn.MaxPool2d(2), nn.Dropout(0.1), nn.Flatten(),
                          nn.Linear(64, 2, seed=1))
    fit(model, nn.functional.cross_entropy, x, labels, Adam(model.parameters(), lr=0.01),
        epochs=2, batch_size=16, seed=0, metrics=(), progress=False)
    trained = {k: np.array(v) for k, v in model.state_dict().items()}
    theirs = to_torch(model.train())
    torch_opt = torch.optim.SGD(theirs.parameters(), lr=0.1, momentum=0.9)
    inputs, targets = torch.from_numpy(x), torch.from_numpy(labels)
    for _ in range(3):
        torch_opt.zero_grad()
        torch.nn.functional.cross_entropy(theirs(inputs), targets).backward()
        torch_opt.step()
    theirs.eval()
    back = from_torch(theirs)
    assert not back.training
    np.testing.assert_allclose(_ours(back, (x,)), _theirs(theirs, (x,)), rtol=1e-12, atol=1e-12)
    _same_state(back, theirs)
    for key in ("0.weight", "1.running_mean", "6.bias"):  # torch's steps came back
        assert not np.allclose(back.state_dict()[key], trained[key]), key


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
    _close(_ours(ours, (x,)), _theirs(module, (x,)), TOL[np.float32])
    again = to_torch(ours)
    assert not again.training and not again[4].weight.requires_grad
    assert again[0].weight.dtype == torch.float32


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
