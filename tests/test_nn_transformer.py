"""Transformer layers against PyTorch float64: with a torch module's state_dict loaded, the
encoder and decoder layers, their stacks and nn.Transformer give torch's outputs, input
gradients and parameter gradients over hypothesis-drawn sizes, norm_first, batch_first,
activations and masks; state_dict keys, order and shapes and the printed form are torch's;
dropout acts in training only; finite differences confirm first and second derivatives; bad
settings and inputs are clear errors."""

import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

torch = pytest.importorskip("torch")

import tinygrad_nn as tg  # noqa: E402
from tinygrad_nn import ShapeError, Value, nn  # noqa: E402
from tinygrad_nn.gradcheck import gradcheck, gradgradcheck  # noqa: E402
from tinygrad_nn.nn import functional as F  # noqa: E402

TF = torch.nn.functional
RTOL, ATOL = 1e-9, 1e-10
# torch warns when a bool and a float mask are mixed (ours takes both), and when its fast path
# is off for an encoder stack built without batch_first
pytestmark = [pytest.mark.filterwarnings("ignore:Support for mismatched"),
              pytest.mark.filterwarnings("ignore:enable_nested_tensor")]
SETTINGS = settings(max_examples=min(settings.default.max_examples, 25), deadline=None)

# an activation by name, or the same callable in both libraries
ACTIVATIONS = {"relu": ("relu", "relu"), "gelu": ("gelu", "gelu"), "silu": (F.silu, TF.silu)}


def build(cls, args, activation="relu", **kwargs):
    """(ours, torch's) `cls` from the same arguments, torch's weights loaded into ours (whose
    state_dict must have the same keys, in the same order, with the same shapes)."""
    ours_act, torch_act = ACTIVATIONS[activation]
    theirs = getattr(torch.nn, cls)(*args, activation=torch_act, **kwargs).double()
    ours = getattr(nn, cls)(*args, activation=ours_act, **kwargs)
    load(ours, theirs)
    return ours, theirs


def load(ours, theirs):
    state = {k: v.detach().numpy().copy() for k, v in theirs.state_dict().items()}
    assert [(k, v.shape) for k, v in ours.state_dict().items()] == \
        [(k, v.shape) for k, v in state.items()]
    ours.load_state_dict(state)


def stack(cls, layer_cls, args, num_layers, activation="relu", **kwargs):
    """(ours, torch's) encoder or decoder stack of `num_layers` layers and a final LayerNorm."""
    ours_act, torch_act = ACTIVATIONS[activation]
    d_model = args[0]
    theirs = getattr(torch.nn, cls)(
        getattr(torch.nn, layer_cls)(*args, activation=torch_act, **kwargs), num_layers,
        torch.nn.LayerNorm(d_model)).double()
    ours = getattr(nn, cls)(getattr(nn, layer_cls)(*args, activation=ours_act, **kwargs),
                            num_layers, nn.LayerNorm(d_model))
    load(ours, theirs)
    return ours, theirs


def sequence(rng, L, N, E, batch_first, batched=True):
    shape = ((N, L, E) if batch_first else (L, N, E)) if batched else (L, E)
    return rng.normal(size=shape)


def attn_mask(rng, kind, L, S):
    """None, torch's causal float mask, or a random bool mask (True: blocked) that leaves key 0
    open to every query, so that no query is left without keys (torch gives NaN there)."""
    if kind == "causal":
        return nn.Transformer.generate_square_subsequent_mask(L)[:, :S] if L == S else None
    if kind == "bool":
        m = rng.random((L, S)) < 0.4
        m[:, 0] = False
        return m
    if kind == "float":
        return rng.normal(size=(L, S))
    return None


def padding_mask(rng, kind, N, S, batched):
    """None, or a bool or float key padding mask (N, S) ((S,) unbatched) keeping key 0."""
    shape = (N, S) if batched else (S,)
    if kind == "bool":
        m = rng.random(shape) < 0.4
        m[..., 0] = False
        return m
    if kind == "float":
        return np.where((rng.random(shape) < 0.4) & (np.arange(S) > 0), -np.inf, 0.0)
    return None


def t(a, grad=False):
    return None if a is None else torch.tensor(a, requires_grad=grad)


def compare(ours, theirs, our_inputs, torch_inputs, out, expected, rng):
    """Outputs, then the gradients of a random projection of them with respect to the inputs
    and every parameter (by name), agree with torch's. torch runs with gradients enabled, hence
    on its math path."""
    np.testing.assert_allclose(out.data, expected.detach().numpy(), rtol=RTOL, atol=ATOL)
    g = rng.normal(size=out.shape)
    (out * g).sum().backward()
    expected.backward(torch.tensor(g))
    for a, b in zip(our_inputs, torch_inputs):
        np.testing.assert_allclose(a.grad, b.grad.numpy(), rtol=RTOL, atol=ATOL)
    torch_grads = dict(theirs.named_parameters())
    names = [name for name, _ in ours.named_parameters()]
    assert names == list(torch_grads)
    for name, p in ours.named_parameters():
        np.testing.assert_allclose(p.grad, torch_grads[name].grad.numpy(), rtol=RTOL, atol=ATOL,
                                   err_msg=name)


def mode(ours, theirs, training):
    ours.train(training)
    theirs.train(training)


# ---- the layers against torch ----------------------------------------------------------------
@SETTINGS
@given(N=st.integers(1, 2), S=st.integers(1, 4), nhead=st.integers(1, 2), head=st.integers(1, 3),
       ff=st.integers(1, 5), norm_first=st.booleans(), batch_first=st.booleans(),
       activation=st.sampled_from(sorted(ACTIVATIONS)), bias=st.booleans(),
       mask_kind=st.sampled_from([None, "causal", "bool", "float"]),
       pad_kind=st.sampled_from([None, "bool", "float"]), batched=st.booleans(),
       training=st.booleans(), seed=st.integers(0, 2**31))
def test_encoder_layer_matches_torch(N, S, nhead, head, ff, norm_first, batch_first, activation,
                                     bias, mask_kind, pad_kind, batched, training, seed):
    rng = np.random.default_rng(seed)
    E = nhead * head
    # dropout is off in training (dropout=0.0), and ignored in eval mode
    ours, theirs = build("TransformerEncoderLayer", (E, nhead, ff, 0.0 if training else 0.3),
                         activation, norm_first=norm_first, batch_first=batch_first, bias=bias)
    mode(ours, theirs, training)
    x = sequence(rng, S, N, E, batch_first, batched)
    mask, pad = attn_mask(rng, mask_kind, S, S), padding_mask(rng, pad_kind, N, S, batched)
    causal = mask_kind == "causal"
    xv, xt = Value(x), t(x, grad=True)
    out = ours(xv, src_mask=mask, src_key_padding_mask=pad, is_causal=causal)
    expected = theirs(xt, src_mask=t(mask), src_key_padding_mask=t(pad), is_causal=causal)
    compare(ours, theirs, [xv], [xt], out, expected, rng)


@SETTINGS
@given(N=st.integers(1, 2), T=st.integers(1, 4), S=st.integers(1, 4), nhead=st.integers(1, 2),
       head=st.integers(1, 2), ff=st.integers(1, 4), norm_first=st.booleans(),
       batch_first=st.booleans(), activation=st.sampled_from(sorted(ACTIVATIONS)),
       tgt_mask_kind=st.sampled_from([None, "causal", "bool"]),
       memory_mask_kind=st.sampled_from([None, "bool", "float"]),
       pad_kind=st.sampled_from([None, "bool", "float"]), batched=st.booleans(),
       training=st.booleans(), seed=st.integers(0, 2**31))
def test_decoder_layer_matches_torch(N, T, S, nhead, head, ff, norm_first, batch_first,
                                     activation, tgt_mask_kind, memory_mask_kind, pad_kind,
                                     batched, training, seed):
    rng = np.random.default_rng(seed)
    E = nhead * head
    ours, theirs = build("TransformerDecoderLayer", (E, nhead, ff, 0.0 if training else 0.3),
                         activation, norm_first=norm_first, batch_first=batch_first)
    mode(ours, theirs, training)
    tgt, memory = sequence(rng, T, N, E, batch_first, batched), sequence(rng, S, N, E,
                                                                        batch_first, batched)
    masks = dict(tgt_mask=attn_mask(rng, tgt_mask_kind, T, T),
                 memory_mask=attn_mask(rng, memory_mask_kind, T, S),
                 tgt_key_padding_mask=padding_mask(rng, pad_kind, N, T, batched),
                 memory_key_padding_mask=padding_mask(rng, pad_kind, N, S, batched))
    causal = tgt_mask_kind == "causal"
    ins = [Value(tgt), Value(memory)]
    tins = [t(tgt, grad=True), t(memory, grad=True)]
    out = ours(*ins, **masks, tgt_is_causal=causal)
    expected = theirs(*tins, **{k: t(v) for k, v in masks.items()}, tgt_is_causal=causal)
    compare(ours, theirs, ins, tins, out, expected, rng)


@settings(max_examples=min(settings.default.max_examples, 10), deadline=None)
@given(N=st.integers(1, 2), S=st.integers(1, 3), T=st.integers(1, 3), norm_first=st.booleans(),
       batch_first=st.booleans(), masks=st.booleans(), seed=st.integers(0, 2**31))
def test_transformer_matches_torch(N, S, T, norm_first, batch_first, masks, seed):
    rng = np.random.default_rng(seed)
    theirs = torch.nn.Transformer(4, 2, 2, 2, 3, 0.0, norm_first=norm_first,
                                  batch_first=batch_first).double()
    ours = nn.Transformer(4, 2, 2, 2, 3, 0.0, norm_first=norm_first, batch_first=batch_first)
    load(ours, theirs)
    src, tgt = sequence(rng, S, N, 4, batch_first), sequence(rng, T, N, 4, batch_first)
    kwargs = {}
    if masks:
        kwargs = dict(tgt_mask=nn.Transformer.generate_square_subsequent_mask(T),
                      src_key_padding_mask=padding_mask(rng, "bool", N, S, True),
                      memory_key_padding_mask=padding_mask(rng, "bool", N, S, True))
    ins, tins = [Value(src), Value(tgt)], [t(src, grad=True), t(tgt, grad=True)]
    out = ours(*ins, **kwargs)
    expected = theirs(*tins, **{k: t(v) for k, v in kwargs.items()})
    compare(ours, theirs, ins, tins, out, expected, rng)


@pytest.mark.parametrize("cls, layer_cls", [("TransformerEncoder", "TransformerEncoderLayer"),
                                            ("TransformerDecoder", "TransformerDecoderLayer")])
def test_stacks_with_their_final_norm_match_torch(cls, layer_cls):
    rng = np.random.default_rng(1)
    ours, theirs = stack(cls, layer_cls, (4, 2, 6, 0.0), 3, "gelu", batch_first=True)
    x, memory = rng.normal(size=(2, 3, 4)), rng.normal(size=(2, 5, 4))
    mask = nn.Transformer.generate_square_subsequent_mask(3)
    ins = [Value(x)] + ([Value(memory)] if cls == "TransformerDecoder" else [])
    tins = [t(x, grad=True)] + ([t(memory, grad=True)] if cls == "TransformerDecoder" else [])
    if cls == "TransformerEncoder":
        out, expected = ours(*ins, mask=mask), theirs(*tins, mask=t(mask))
    else:
        out, expected = ours(*ins, tgt_mask=mask), theirs(*tins, tgt_mask=t(mask))
    compare(ours, theirs, ins, tins, out, expected, rng)


def test_eval_mode_matches_torch_with_dropout_set():
    """In eval mode dropout is off: torch's output (with torch's fast path allowed, under
    no_grad, no padding) is ours."""
    rng = np.random.default_rng(2)
    ours, theirs = stack("TransformerEncoder", "TransformerEncoderLayer", (4, 2, 6, 0.5), 2,
                         batch_first=True)
    mode(ours, theirs, False)
    x = rng.normal(size=(2, 3, 4))
    with torch.no_grad():
        expected = theirs(t(x))
    np.testing.assert_allclose(ours(x).data, expected.numpy(), rtol=RTOL, atol=ATOL)


# ---- what the modules hold -------------------------------------------------------------------
SPECS = ["TransformerEncoderLayer(4, 2, 6)", "TransformerDecoderLayer(4, 2, 6, bias=False)",
         "TransformerEncoderLayer(4, 1, 3, norm_first=True, layer_norm_eps=1e-6)",
         "TransformerEncoder(lib.TransformerEncoderLayer(4, 2, 6), 2, lib.LayerNorm(4))",
         "TransformerDecoder(lib.TransformerDecoderLayer(4, 2, 6), 3)",
         "Transformer(8, 2, 2, 1, 16)", "Transformer(4, 1, 1, 2, 4, batch_first=True, bias=False)",
         "TransformerEncoderLayer(4, 2, 6, activation=lib.GELU())"]


def twins(spec):
    ours = eval(f"lib.{spec}", {"lib": nn})
    theirs = eval(f"lib.{spec}", {"lib": torch.nn})
    return ours, theirs


@pytest.mark.parametrize("spec", SPECS)
def test_state_dict_keys_order_shapes_and_repr_are_torch(spec):
    ours, theirs = twins(spec)
    assert [(k, v.shape) for k, v in ours.state_dict().items()] == \
        [(k, tuple(v.shape)) for k, v in theirs.state_dict().items()]
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    # torch prints MultiheadAttention with its out_proj (a NonDynamicallyQuantizableLinear);
    # ours prints its settings on one line: the rest is torch's, character for character
    attention = next(m for m in ours.modules() if isinstance(m, nn.MultiheadAttention))
    torch_attention = r"MultiheadAttention\(\n\s*\(out_proj\): NonDynamicallyQuantizableLinear" \
                      r"\([^)]*\)\n\s*\)"
    assert repr(ours) == re.sub(torch_attention, lambda _: repr(attention), repr(theirs))


def test_stack_layers_are_independent_copies_of_the_layer():
    layer = nn.TransformerEncoderLayer(4, 2, 6, seed=0)
    encoder = nn.TransformerEncoder(layer, 3)
    params = [list(each.parameters()) for each in encoder.layers]
    ids = {id(p) for group in params for p in group}
    assert len(ids) == 3 * len(list(layer.parameters()))
    assert not ids & {id(p) for p in layer.parameters()}
    for group in params:  # each starts from the layer's values, as torch's deep copies do
        for p, q in zip(group, layer.parameters()):
            np.testing.assert_array_equal(p.data, q.data)
    encoder.layers[0].linear1.weight.data[...] = 7.0
    assert not np.any(encoder.layers[1].linear1.weight.data == 7.0)
    assert not np.any(layer.linear1.weight.data == 7.0)
    # training one copy leaves the others alone
    encoder.train()
    (encoder(np.ones((2, 1, 4))) ** 2).sum().backward()
    assert all(np.any(p.grad != 0) for p in encoder.layers[2].parameters())
    assert all(np.all(p.grad == 0) for p in layer.parameters())


def test_transformer_redraws_matrices_xavier_uniform_from_its_seed():
    a, b, c = (nn.Transformer(8, 2, 2, 2, 16, seed=s) for s in (3, 3, 4))
    for (name, p), q, r in zip(a.named_parameters(), b.parameters(), c.parameters()):
        np.testing.assert_array_equal(p.data, q.data)
        if p.ndim > 1:
            fan_out, fan_in = p.shape
            assert np.abs(p.data).max() <= np.sqrt(6 / (fan_in + fan_out)), name
            assert not np.array_equal(p.data, r.data), name
    # the deep copies no longer share values once redrawn
    layers = a.encoder.layers
    assert not np.array_equal(layers[0].linear1.weight.data, layers[1].linear1.weight.data)
    np.testing.assert_array_equal(layers[0].self_attn.in_proj_bias.data, 0.0)


def test_float32_parameters():
    layer = nn.TransformerDecoderLayer(4, 2, 6, dtype=np.float32)
    assert {v.dtype for v in layer.state_dict().values()} == {np.dtype(np.float32)}


@pytest.mark.parametrize("sz", [0, 1, 4])
def test_square_subsequent_mask_is_torch(sz):
    ours = nn.Transformer.generate_square_subsequent_mask(sz)
    theirs = torch.nn.Transformer.generate_square_subsequent_mask(sz, dtype=torch.float64)
    assert ours.dtype == np.float64
    np.testing.assert_array_equal(ours, theirs.numpy())


# ---- dropout ---------------------------------------------------------------------------------
def test_dropout_acts_in_training_only():
    layer = nn.TransformerEncoderLayer(4, 2, 8, dropout=0.5, seed=0)
    x = np.random.default_rng(0).normal(size=(3, 2, 4))
    tg.manual_seed(1)
    first = layer(x).data
    tg.manual_seed(1)
    np.testing.assert_array_equal(layer(x).data, first)  # the default Generator's draws
    assert not np.allclose(layer(x).data, first)  # fresh masks
    layer.eval()
    assert layer.self_attn.training is False and layer.dropout1.training is False
    evaluated = layer(x).data
    np.testing.assert_array_equal(layer(x).data, evaluated)
    assert not np.allclose(evaluated, first)
    # the same layer with dropout 0 in training gives the eval output
    zero = nn.TransformerEncoderLayer(4, 2, 8, dropout=0.0, seed=0)
    np.testing.assert_allclose(zero(x).data, evaluated, rtol=1e-12)


# ---- derivatives by finite differences -------------------------------------------------------
def test_encoder_layer_gradcheck_input_and_a_weight():
    layer = nn.TransformerEncoderLayer(2, 1, 3, dropout=0.0, norm_first=True, seed=0)
    rng = np.random.default_rng(0)
    x, w = rng.normal(size=(2, 1, 2)), layer.linear1.weight.data.copy()
    mask = nn.Transformer.generate_square_subsequent_mask(2)

    def f(x, w):
        layer.linear1.weight = w
        return layer(x, src_mask=mask)

    assert gradcheck(f, x, w)


def test_encoder_layer_gradgradcheck():
    layer = nn.TransformerEncoderLayer(2, 1, 2, dropout=0.0, activation="gelu", seed=1)
    x = np.random.default_rng(1).normal(size=(2, 2))
    assert gradgradcheck(lambda x: layer(x), x)


# ---- errors ----------------------------------------------------------------------------------
def test_clear_errors():
    with pytest.raises(ValueError, match="activation should be 'relu' or 'gelu'"):
        nn.TransformerEncoderLayer(4, 2, activation="tanh")
    with pytest.raises(TypeError, match="activation must be"):
        nn.TransformerDecoderLayer(4, 2, activation=3)
    with pytest.raises(ValueError, match=r"d_model \(6\) must be divisible by nhead \(4\)"):
        nn.TransformerEncoderLayer(6, 4)
    with pytest.raises(ValueError, match="must be positive"):
        nn.TransformerDecoderLayer(4, 2, dim_feedforward=0)
    layer = nn.TransformerEncoderLayer(4, 2, 6)
    with pytest.raises(ShapeError, match=r"src must be .* got shape \(3, 2, 5\)"):
        layer(np.zeros((3, 2, 5)))
    with pytest.raises(ValueError, match="is_causal"):
        layer(np.zeros((3, 2, 4)), is_causal=True)
    with pytest.raises(ShapeError, match="key_padding_mask"):
        layer(np.zeros((3, 2, 4)), src_key_padding_mask=np.zeros((3, 2), bool))
    decoder = nn.TransformerDecoderLayer(4, 2, 6)
    with pytest.raises(ShapeError, match="both be batched"):
        decoder(np.zeros((3, 2, 4)), np.zeros((3, 4)))
    with pytest.raises(TypeError, match="expected a layer Module"):
        nn.TransformerEncoder("layer", 2)
    with pytest.raises(ValueError, match="num_layers must be a non-negative int"):
        nn.TransformerDecoder(decoder, -1)
    with pytest.raises(TypeError, match="norm must be a Module"):
        nn.TransformerEncoder(layer, 1, norm=4)
    model = nn.Transformer(4, 2, 1, 1, 6)
    with pytest.raises(ShapeError, match="batch sizes"):
        model(np.zeros((3, 2, 4)), np.zeros((3, 1, 4)))
    with pytest.raises(ShapeError, match="d_model = 4"):
        model(np.zeros((3, 2, 4)), np.zeros((3, 2, 3)))
    with pytest.raises(ValueError, match="sz must be a non-negative int"):
        nn.Transformer.generate_square_subsequent_mask(-1)
