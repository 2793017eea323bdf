"""Recurrent layers against PyTorch float64: RNN, LSTM (with and without projections) and GRU,
and their cells, load a torch module's state_dict and give torch's outputs, final states, and
gradients with respect to the input, the initial state and every parameter, over
hypothesis-drawn sizes, layer counts, directions, layouts, biases and batching; the state_dict
and repr are torch's; finite differences confirm first and second derivatives; dropout acts
between layers in training only; bad shapes and settings are clear errors."""

import math
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

torch = pytest.importorskip("torch")

import tinygrad_nn as tg  # noqa: E402
from tinygrad_nn import ShapeError, Value, load, nn, save  # noqa: E402
from tinygrad_nn.gradcheck import gradcheck, gradgradcheck  # noqa: E402
from tinygrad_nn.nn import functional as F  # noqa: E402

RTOL, ATOL = 1e-9, 1e-11
SETTINGS = settings(max_examples=min(settings.default.max_examples, 50))

# (class name, extra constructor arguments) for the layers
KINDS = [("RNN", {}), ("RNN", {"nonlinearity": "relu"}), ("LSTM", {}),
         ("LSTM", {"proj_size": 1}), ("GRU", {})]


def close(ours, theirs):
    np.testing.assert_allclose(ours, theirs.detach().numpy(), rtol=RTOL, atol=ATOL)


def twins(name, **kwargs):
    """Our module and torch's (float64), torch's weights loaded into ours."""
    theirs = getattr(torch.nn, name)(**kwargs).double()
    ours = getattr(nn, name)(**kwargs)
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    return ours, theirs


def compare_gradients(ours, theirs, pairs):
    """Parameter gradients by name, and the gradients of each (our Value, torch tensor) pair."""
    torch_params = dict(theirs.named_parameters())
    assert [n for n, _ in ours.named_parameters()] == list(torch_params)
    for name, p in ours.named_parameters():
        close(p.grad, torch_params[name].grad)
    for a, b in pairs:
        close(a.grad, b.grad)


# ---- layers ----------------------------------------------------------------------------------
@SETTINGS
@given(kind=st.sampled_from(KINDS), input_size=st.integers(1, 3), hidden_size=st.integers(2, 3),
       num_layers=st.integers(1, 2), bidirectional=st.booleans(), batch_first=st.booleans(),
       bias=st.booleans(), batch=st.none() | st.integers(1, 3), T=st.integers(1, 5),
       given_state=st.booleans(), seed=st.integers(0, 2**31))
def test_layers_match_torch(kind, input_size, hidden_size, num_layers, bidirectional,
                            batch_first, bias, batch, T, given_state, seed):
    name, extra = kind
    ours, theirs = twins(name, input_size=input_size, hidden_size=hidden_size,
                         num_layers=num_layers, bias=bias, batch_first=batch_first,
                         bidirectional=bidirectional, **extra)
    rng = np.random.default_rng(seed)
    shape = (T, input_size) if batch is None else \
        (batch, T, input_size) if batch_first else (T, batch, input_size)
    x = rng.normal(size=shape)
    k = num_layers * (2 if bidirectional else 1)
    sizes = [extra.get("proj_size", hidden_size)] + ([hidden_size] if name == "LSTM" else [])
    states = [rng.normal(size=(k, size) if batch is None else (k, batch, size))
              for size in sizes] if given_state else None

    xs, xt = Value(x), torch.tensor(x, requires_grad=True)
    hs = None if states is None else [Value(s) for s in states]
    ht = None if states is None else [torch.tensor(s, requires_grad=True) for s in states]
    if name == "LSTM":
        out, ends = ours(xs, None if hs is None else tuple(hs))
        expected, expected_ends = theirs(xt, None if ht is None else tuple(ht))
    else:
        out, end = ours(xs, None if hs is None else hs[0])
        expected, expected_end = theirs(xt, None if ht is None else ht[0])
        ends, expected_ends = (end,), (expected_end,)
    close(out.data, expected)
    for a, b in zip(ends, expected_ends):
        assert a.shape == tuple(b.shape)
        close(a.data, b)

    seeds = [rng.normal(size=v.shape) for v in (out, *ends)]
    sum((v * g).sum() for v, g in zip((out, *ends), seeds)).backward()
    torch.autograd.backward([expected, *expected_ends], [torch.tensor(g) for g in seeds])
    compare_gradients(ours, theirs, [(xs, xt)] + (list(zip(hs, ht)) if hs else []))


def test_long_sequence_matches_torch():
    """30 steps: the input projections are sliced in blocks of steps (see rnn._time_steps)."""
    ours, theirs = twins("GRU", input_size=2, hidden_size=3, bidirectional=True,
                         batch_first=True)
    x = np.random.default_rng(0).normal(size=(2, 30, 2))
    xs, xt = Value(x), torch.tensor(x, requires_grad=True)
    out, expected = ours(xs)[0], theirs(xt)[0]
    close(out.data, expected)
    out.sum().backward()
    expected.sum().backward()
    compare_gradients(ours, theirs, [(xs, xt)])


# ---- cells -----------------------------------------------------------------------------------
@SETTINGS
@given(kind=st.sampled_from([("RNNCell", {}), ("RNNCell", {"nonlinearity": "relu"}),
                             ("LSTMCell", {}), ("GRUCell", {})]),
       input_size=st.integers(1, 3), hidden_size=st.integers(1, 3), bias=st.booleans(),
       batch=st.none() | st.integers(1, 3), given_state=st.booleans(),
       seed=st.integers(0, 2**31))
def test_cells_match_torch(kind, input_size, hidden_size, bias, batch, given_state, seed):
    name, extra = kind
    ours, theirs = twins(name, input_size=input_size, hidden_size=hidden_size, bias=bias,
                         **extra)
    rng = np.random.default_rng(seed)
    lead = () if batch is None else (batch,)
    x = rng.normal(size=lead + (input_size,))
    parts = 2 if name == "LSTMCell" else 1
    states = [rng.normal(size=lead + (hidden_size,)) for _ in range(parts)] \
        if given_state else None
    xs, xt = Value(x), torch.tensor(x, requires_grad=True)
    hs = None if states is None else [Value(s) for s in states]
    ht = None if states is None else [torch.tensor(s, requires_grad=True) for s in states]
    if parts == 2:
        out = ours(xs, None if hs is None else tuple(hs))
        expected = theirs(xt, None if ht is None else tuple(ht))
    else:
        out = (ours(xs, None if hs is None else hs[0]),)
        expected = (theirs(xt, None if ht is None else ht[0]),)
    for a, b in zip(out, expected):
        assert a.shape == tuple(b.shape)
        close(a.data, b)
    seeds = [rng.normal(size=v.shape) for v in out]
    sum((v * g).sum() for v, g in zip(out, seeds)).backward()
    torch.autograd.backward(list(expected), [torch.tensor(g) for g in seeds])
    compare_gradients(ours, theirs, [(xs, xt)] + (list(zip(hs, ht)) if hs else []))


# ---- what the modules hold -------------------------------------------------------------------
SPECS = ["RNN(3, 4)", "RNN(3, 4, 2, 'relu', False, True, 0.5, True)", "LSTM(3, 4)",
         "LSTM(3, 4, num_layers=2, bidirectional=True, proj_size=2)",
         "LSTM(2, 5, bias=False, batch_first=True)", "GRU(3, 4, 3, dropout=0.25)",
         "GRU(1, 2, bidirectional=True, bias=False)", "RNNCell(3, 4)",
         "RNNCell(3, 4, False, 'relu')", "LSTMCell(2, 3)", "GRUCell(2, 3, bias=False)"]


@pytest.mark.parametrize("spec", SPECS)
def test_state_dict_and_repr_are_torchs(spec):
    ours = eval(f"nn.{spec}", {"nn": nn})
    theirs = eval(f"torch.nn.{spec}", {"torch": torch})
    assert repr(ours) == repr(theirs)
    state, torch_state = ours.state_dict(), theirs.state_dict()
    assert list(state) == list(torch_state)
    assert [v.shape for v in state.values()] == [tuple(v.shape) for v in torch_state.values()]
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]


@pytest.mark.parametrize("spec", ["LSTM(3, 16, num_layers=2, bidirectional=True, proj_size=4)",
                                  "GRU(2, 16)", "GRUCell(2, 16)"])
def test_torch_default_init_and_seed(spec):
    """Every parameter uniform on ±1/√hidden_size (torch's default): inside the bound, filling
    it (a uniform's std is bound/√3), reproducible from a seed, in the requested dtype."""
    model = eval(f"nn.{spec[:-1]}, seed=3)", {"nn": nn})
    values = np.concatenate([p.data.ravel() for p in model.parameters()])
    bound = 1 / math.sqrt(16)
    assert np.abs(values).max() <= bound
    assert abs(values.std() - bound / math.sqrt(3)) < 0.1 * bound
    assert abs(values.mean()) < 0.1 * bound
    again = eval(f"nn.{spec[:-1]}, seed=3)", {"nn": nn})
    for a, b in zip(model.parameters(), again.parameters()):
        np.testing.assert_array_equal(a.data, b.data)
    single = eval(f"nn.{spec[:-1]}, seed=3, dtype=np.float32)", {"nn": nn, "np": np})
    assert all(p.dtype == np.float32 for p in single.parameters())


def test_state_survives_a_file_and_nests_under_a_model(tmp_path):
    class Tagger(nn.Module):
        def __init__(self, seed):
            self.rnn = nn.LSTM(2, 3, num_layers=2, batch_first=True, seed=seed)
            self.head = nn.Linear(3, 2, seed=seed)

        def forward(self, x):
            return self.head(self.rnn(x)[0])

    model = Tagger(0)
    assert list(model.state_dict())[:4] == ["rnn.weight_ih_l0", "rnn.weight_hh_l0",
                                            "rnn.bias_ih_l0", "rnn.bias_hh_l0"]
    x = np.random.default_rng(0).normal(size=(2, 4, 2))
    save(model.state_dict(), tmp_path / "tagger.npz")
    fresh = Tagger(1)
    fresh.load_state_dict(load(tmp_path / "tagger.npz"))
    np.testing.assert_array_equal(fresh(x).data, model(x).data)


def test_all_weights_and_float32_forward():
    model = nn.LSTM(2, 3, num_layers=2, bidirectional=True, seed=0, dtype=np.float32)
    assert [len(group) for group in model.all_weights] == [4] * 4
    assert model.all_weights[1][0] is model.weight_ih_l0_reverse
    out, (h, c) = model(np.ones((4, 2), np.float32))
    assert out.shape == (4, 6) and h.shape == c.shape == (4, 3)
    assert out.dtype == h.dtype == np.float32


# ---- derivatives by finite differences -------------------------------------------------------
def with_weights(model, names, f):
    """f(x, *state) run with the parameters `names` replaced by the function's arguments, so that
    gradcheck perturbs them too."""
    def run(x, *args):
        saved = {n: getattr(model, n) for n in names}
        try:
            for n, v in zip(names, args[len(args) - len(names):]):
                setattr(model, n, v)
            return f(x, *args[:len(args) - len(names)])
        finally:
            for n, v in saved.items():
                setattr(model, n, v)
    return run


def test_gradcheck_lstm_and_gru():
    rng = np.random.default_rng(0)
    lstm = nn.LSTM(2, 2, bidirectional=True, seed=1)
    x, h, c = rng.normal(size=(3, 1, 2)), rng.normal(size=(2, 1, 2)), rng.normal(size=(2, 1, 2))
    names = ["weight_hh_l0", "bias_ih_l0_reverse"]
    f = with_weights(lstm, names, lambda x, h, c: lstm(x, (h, c))[0])
    assert gradcheck(f, x, h, c, *(getattr(lstm, n).data for n in names))
    gru = nn.GRU(2, 2, num_layers=2, seed=2)
    names = ["weight_hh_l1", "bias_hh_l0"]
    f = with_weights(gru, names, lambda x, h: gru(x, h)[1])
    assert gradcheck(f, x, rng.normal(size=(2, 1, 2)), *(getattr(gru, n).data for n in names))


def test_gradgradcheck_gru():
    rng = np.random.default_rng(1)
    gru = nn.GRU(1, 2, seed=3)
    f = with_weights(gru, ["weight_hh_l0"], lambda x, h: gru(x, h)[0])
    assert gradgradcheck(f, rng.normal(size=(2, 1)), rng.normal(size=(1, 2)),
                         gru.weight_hh_l0.data)


def test_second_derivative_of_lstm_cell_matches_torch():
    """A Hessian-vector product through an LSTMCell (create_graph) equals torch's."""
    ours, theirs = twins("LSTMCell", input_size=2, hidden_size=3)
    rng = np.random.default_rng(2)
    x, v = rng.normal(size=(2, 2)), rng.normal(size=(2, 2))
    xs, xt = Value(x), torch.tensor(x, requires_grad=True)
    (gx,) = tg.grad(ours(xs)[1].tanh().sum(), [xs], create_graph=True)
    (gxt,) = torch.autograd.grad(theirs(xt)[1].tanh().sum(), [xt], create_graph=True)
    (hv,) = tg.grad((gx * v).sum(), [xs])
    (hvt,) = torch.autograd.grad((gxt * torch.tensor(v)).sum(), [xt])
    close(hv.data if isinstance(hv, Value) else hv, hvt)


# ---- dropout ---------------------------------------------------------------------------------
def test_dropout_between_layers_in_training_only():
    model = nn.LSTM(2, 3, num_layers=2, dropout=0.5, seed=0)
    first, second = nn.LSTM(2, 3, seed=1), nn.LSTM(3, 3, seed=2)
    state = model.state_dict()
    first.load_state_dict({k: v for k, v in state.items() if k.endswith("_l0")})
    second.load_state_dict({k.replace("_l1", "_l0"): v for k, v in state.items()
                            if k.endswith("_l1")})
    x = np.random.default_rng(0).normal(size=(4, 2, 2))

    # training: the first layer's output is dropped, with the thread's default generator
    tg.manual_seed(7)
    out, (h, _) = model(x)
    tg.manual_seed(7)
    expected, (h1, _) = second(F.dropout(first(x)[0], 0.5, True))
    np.testing.assert_allclose(out.data, expected.data, rtol=1e-12)
    np.testing.assert_allclose(h.data[1], h1.data[0], rtol=1e-12)
    tg.manual_seed(8)
    assert not np.allclose(model(x)[0].data, out.data)

    # evaluation: no dropout, the plain stack
    model.eval()
    plain = second(first(x)[0])[0]
    np.testing.assert_allclose(model(x)[0].data, plain.data, rtol=1e-12)


def test_dropout_warns_for_a_single_layer():
    with pytest.warns(UserWarning, match="num_layers"):
        nn.GRU(2, 3, dropout=0.2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        nn.GRU(2, 3, num_layers=2, dropout=0.2)


# ---- errors ----------------------------------------------------------------------------------
@pytest.mark.parametrize("call, match", [
    (lambda: nn.LSTM(3, 4)(np.zeros((2, 5, 2))), "3 features"),
    (lambda: nn.GRU(3, 4)(np.zeros((2, 5, 2, 3))), "2-D .* or 3-D"),
    (lambda: nn.RNN(3, 4)(np.zeros((0, 2, 3))), "sequence length"),
    (lambda: nn.LSTM(3, 4, batch_first=True)(np.zeros((2, 0, 3))), "sequence length"),
    (lambda: nn.GRU(3, 4)(np.zeros((2, 5, 3)), np.zeros((1, 4, 4))), r"\(1, 5, 4\)"),
    (lambda: nn.GRU(3, 4)(np.zeros((2, 5, 3)), np.zeros((5, 4))), "batched 3-D"),
    (lambda: nn.RNN(3, 4, 2)(np.zeros((2, 3)), np.zeros((1, 4))), r"\(2, 4\)"),
    (lambda: nn.LSTM(3, 4)(np.zeros((2, 5, 3)), np.zeros((1, 5, 4))), "tuple"),
    (lambda: nn.LSTM(3, 4, proj_size=2)(np.zeros((2, 5, 3)),
                                        (np.zeros((1, 5, 4)), np.zeros((1, 5, 4)))), "h_0"),
    (lambda: nn.LSTM(3, 4)(np.zeros((2, 5, 3)),
                           (np.zeros((1, 5, 4)), np.zeros((1, 5, 3)))), "c_0"),
    (lambda: nn.LSTMCell(3, 4)(np.zeros((2, 2))), "3 features"),
    (lambda: nn.GRUCell(3, 4)(np.zeros((2, 3, 3))), "1-D .* or 2-D"),
    (lambda: nn.RNNCell(3, 4)(np.zeros((2, 3)), np.zeros((3, 4))), r"\(2, 4\)"),
    (lambda: nn.LSTMCell(3, 4)(np.zeros((2, 3)), np.zeros((2, 4))), "tuple"),
])
def test_bad_inputs_are_clear_errors(call, match):
    with pytest.raises(ShapeError, match=match):
        call()


@pytest.mark.parametrize("call, match", [
    (lambda: nn.RNN(3, 4, nonlinearity="sigmoid"), "nonlinearity"),
    (lambda: nn.RNNCell(3, 4, nonlinearity="gelu"), "nonlinearity"),
    (lambda: nn.GRU(3, 4, dropout=1.5), "dropout"),
    (lambda: nn.LSTM(3, 0), "hidden_size"),
    (lambda: nn.LSTM(3, 4, num_layers=0), "num_layers"),
    (lambda: nn.LSTM(3, 4, proj_size=4), "proj_size"),
    (lambda: nn.RNNBase("GRU", 3, 4, proj_size=2), "only supported for LSTM"),
    (lambda: nn.RNNBase("ELMAN", 3, 4), "mode"),
    (lambda: nn.GRUCell(3, 0), "hidden_size"),
])
def test_bad_settings_are_clear_errors(call, match):
    with pytest.raises(ValueError, match=match):
        call()
