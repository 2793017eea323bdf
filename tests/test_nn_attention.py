"""Attention against PyTorch float64: F.scaled_dot_product_attention and nn.MultiheadAttention
give torch's outputs, attention weights and input and parameter gradients (a torch module's
state_dict loaded into ours) over hypothesis-drawn batches, lengths, heads, masks and settings;
finite differences confirm first and second derivatives; bad shapes are clear errors."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

torch = pytest.importorskip("torch")

import tinygrad_nn as tg  # noqa: E402
from tinygrad_nn import ShapeError, UnsupportedTypeError, Value, nn  # noqa: E402
from tinygrad_nn.gradcheck import gradcheck, gradgradcheck  # noqa: E402
from tinygrad_nn.nn import functional as F  # noqa: E402

TF = torch.nn.functional
RTOL, ATOL = 1e-9, 1e-11
SETTINGS = settings(max_examples=min(settings.default.max_examples, 25))


def close(ours, theirs):
    np.testing.assert_allclose(ours, theirs.detach().numpy(), rtol=RTOL, atol=ATOL)


def tensor(a, grad=False):
    return None if a is None else torch.tensor(a, requires_grad=grad)


def mask(rng, shape, kind, nan_free=False):
    """A bool mask (True = attend), a float mask, or None; with `nan_free`, every row keeps a
    key (torch's MultiheadAttention gives NaN for a row without any)."""
    if kind == "bool":
        m = rng.random(shape) < 0.6
        if nan_free:
            m[..., 0] = True
        return m
    if kind == "float":
        return rng.normal(size=shape)
    return None


# ---- scaled_dot_product_attention ---------------------------------------------------------------
@SETTINGS
@given(batch=st.lists(st.integers(1, 3), max_size=2), L=st.integers(1, 4), S=st.integers(1, 5),
       E=st.integers(1, 4), Ev=st.integers(1, 3), kind=st.sampled_from([None, "bool", "float"]),
       mask_rank=st.integers(2, 4), causal=st.booleans(), scale=st.none() | st.floats(0.1, 2.0),
       seed=st.integers(0, 2**31))
def test_sdpa_matches_torch(batch, L, S, E, Ev, kind, mask_rank, causal, scale, seed):
    rng = np.random.default_rng(seed)
    q, k, v = (rng.normal(size=(*batch, n, e)) for n, e in ((L, E), (S, E), (S, Ev)))
    scores_shape = (*batch, L, S)
    m = mask(rng, scores_shape[len(scores_shape) - min(mask_rank, len(scores_shape)):], kind)
    if causal:
        m = None
    # a broadcast axis of length 1 in the mask, as torch allows
    if m is not None and m.ndim > 2:
        m = m[:1]
    ours = [Value(a) for a in (q, k, v)]
    theirs = [tensor(a, grad=True) for a in (q, k, v)]
    out = F.scaled_dot_product_attention(*ours, attn_mask=m, is_causal=causal, scale=scale)
    expected = TF.scaled_dot_product_attention(*theirs, attn_mask=tensor(m), is_causal=causal,
                                               scale=scale)
    close(out.data, expected)
    g = rng.normal(size=out.shape)
    (out * g).sum().backward()
    expected.backward(torch.tensor(g))
    for a, b in zip(ours, theirs):
        close(a.grad, b.grad)


def test_sdpa_fully_masked_rows_give_zeros_and_zero_gradients_as_torch():
    rng = np.random.default_rng(0)
    q, k, v = rng.normal(size=(2, 3, 4)), rng.normal(size=(2, 5, 4)), rng.normal(size=(2, 5, 2))
    m = rng.random((2, 3, 5)) < 0.5
    m[0, 1] = False
    m[1, 2] = False
    bias = np.where(m, 0.0, -np.inf)  # the same mask as a float one, -inf blocking
    for attn_mask in (m, bias):
        ours = [Value(a) for a in (q, k, v)]
        theirs = [tensor(a, grad=True) for a in (q, k, v)]
        out = F.scaled_dot_product_attention(*ours, attn_mask=attn_mask)
        expected = TF.scaled_dot_product_attention(*theirs, attn_mask=tensor(m))
        assert np.all(out.data[0, 1] == 0) and np.all(out.data[1, 2] == 0)
        close(out.data, expected)
        out.sum().backward()
        expected.sum().backward()
        assert np.all(ours[0].grad[0, 1] == 0)
        for a, b in zip(ours, theirs):
            close(a.grad, b.grad)


def test_sdpa_grouped_query_attention_matches_torch():
    rng = np.random.default_rng(1)
    q, k, v = (rng.normal(size=s) for s in ((2, 6, 3, 4), (2, 2, 5, 4), (2, 2, 5, 3)))
    ours = [Value(a) for a in (q, k, v)]
    theirs = [tensor(a, grad=True) for a in (q, k, v)]
    out = F.scaled_dot_product_attention(*ours, enable_gqa=True)
    expected = TF.scaled_dot_product_attention(*theirs, enable_gqa=True)
    close(out.data, expected)
    out.sum().backward()
    expected.sum().backward()
    for a, b in zip(ours, theirs):
        close(a.grad, b.grad)


def test_sdpa_float_mask_is_differentiable():
    rng = np.random.default_rng(2)
    q, k, v, b = (rng.normal(size=s) for s in ((3, 2), (4, 2), (4, 3), (3, 4)))
    ours, bias = [Value(a) for a in (q, k, v)], Value(b)
    out = F.scaled_dot_product_attention(*ours, attn_mask=bias)
    tq, tk, tv, tb = (tensor(a, grad=True) for a in (q, k, v, b))
    expected = TF.scaled_dot_product_attention(tq, tk, tv, attn_mask=tb)
    (out * out).sum().backward()
    (expected * expected).sum().backward()
    close(bias.grad, tb.grad)


def test_sdpa_dropout_keeps_each_weight_with_probability_1_minus_p_and_scales():
    rng = np.random.default_rng(3)
    q, k = rng.normal(size=(2000, 1, 2)), rng.normal(size=(2000, 4, 2))
    v = np.broadcast_to(np.eye(4), (2000, 4, 4))  # the output row is the weights row
    weights = F.scaled_dot_product_attention(q, k, v).data
    dropped = F.scaled_dot_product_attention(q, k, v, dropout_p=0.25, generator=7).data
    kept = dropped != 0
    assert abs(kept.mean() - 0.75) < 0.02
    np.testing.assert_allclose(dropped[kept], weights[kept] / 0.75)
    again = F.scaled_dot_product_attention(q, k, v, dropout_p=0.25, generator=7).data
    np.testing.assert_array_equal(dropped, again)
    tg.manual_seed(5)
    first = F.scaled_dot_product_attention(q, k, v, dropout_p=0.5).data
    tg.manual_seed(5)
    second = F.scaled_dot_product_attention(q, k, v, dropout_p=0.5).data
    np.testing.assert_array_equal(first, second)


def test_sdpa_float32_stays_float32():
    q = np.ones((2, 3, 4), np.float32)
    out = F.scaled_dot_product_attention(q, q, q, is_causal=True)
    assert out.dtype == np.float32


@pytest.mark.parametrize("kind", [None, "bool", "float", "causal"])
def test_sdpa_gradcheck_and_gradgradcheck(kind):
    rng = np.random.default_rng(4)
    q, k, v = rng.normal(size=(2, 3, 2)), rng.normal(size=(2, 4, 2)), rng.normal(size=(2, 4, 3))
    m = mask(rng, (3, 4), kind, nan_free=True) if kind != "causal" else None

    def f(q, k, v):
        return F.scaled_dot_product_attention(q, k, v, attn_mask=m, is_causal=kind == "causal",
                                              scale=0.7)
    assert gradcheck(f, q, k, v)
    assert gradgradcheck(f, q, k, v)


def test_sdpa_errors():
    q, k, v = np.ones((2, 3, 4)), np.ones((2, 5, 4)), np.ones((2, 5, 6))
    sdpa = F.scaled_dot_product_attention
    with pytest.raises(ShapeError, match="embedding size"):
        sdpa(q, np.ones((2, 5, 3)), v)
    with pytest.raises(ShapeError, match="same length"):
        sdpa(q, k, np.ones((2, 4, 6)))
    with pytest.raises(ShapeError, match=r"attn_mask of shape \(3, 4\)"):
        sdpa(q, k, v, attn_mask=np.ones((3, 4), bool))
    with pytest.raises(ShapeError, match="broadcast"):
        sdpa(q, k, v, attn_mask=np.ones((4, 3, 5), bool))
    with pytest.raises(ShapeError, match="batch"):
        sdpa(q, np.ones((3, 5, 4)), np.ones((3, 5, 6)))
    with pytest.raises(ShapeError, match="at least 2"):
        sdpa(np.ones(4), k, v)
    with pytest.raises(ValueError, match="not both"):
        sdpa(q, k, v, attn_mask=np.ones((3, 5), bool), is_causal=True)
    with pytest.raises(UnsupportedTypeError, match="bool"):
        sdpa(q, k, v, attn_mask=np.ones((3, 5), int))
    with pytest.raises(ValueError, match="between 0 and 1"):
        sdpa(q, k, v, dropout_p=1.5)
    with pytest.raises(ShapeError, match="multiple"):
        sdpa(np.ones((1, 3, 2, 4)), np.ones((1, 2, 5, 4)), np.ones((1, 2, 5, 4)), enable_gqa=True)


# ---- MultiheadAttention -------------------------------------------------------------------------
def pair(E, H, **kw):
    """A torch MultiheadAttention in float64 and ours with its weights loaded."""
    theirs = torch.nn.MultiheadAttention(E, H, dtype=torch.float64, **kw)
    ours = nn.MultiheadAttention(E, H, **kw)
    state = {name: t.detach().numpy() for name, t in theirs.state_dict().items()}
    assert list(ours.state_dict()) == list(state)
    ours.load_state_dict(state)
    return ours, theirs


@pytest.mark.filterwarnings("ignore:Support for mismatched key_padding_mask")
@SETTINGS
@given(heads=st.integers(1, 3), head_dim=st.integers(1, 3), N=st.integers(1, 3),
       L=st.integers(1, 4), S=st.integers(1, 4), batched=st.booleans(), batch_first=st.booleans(),
       other_dims=st.booleans(), bias=st.booleans(), add_bias_kv=st.booleans(),
       add_zero_attn=st.booleans(), attn_kind=st.sampled_from([None, "bool", "float"]),
       attn_3d=st.booleans(), kpm_kind=st.sampled_from([None, "bool", "float"]),
       average=st.booleans(), need_weights=st.booleans(), seed=st.integers(0, 2**31))
def test_multihead_attention_matches_torch(heads, head_dim, N, L, S, batched, batch_first,
                                           other_dims, bias, add_bias_kv, add_zero_attn,
                                           attn_kind, attn_3d, kpm_kind, average, need_weights,
                                           seed):
    rng = np.random.default_rng(seed)
    E = heads * head_dim
    kdim, vdim = (E + 1, E + 2) if other_dims else (None, None)
    ours, theirs = pair(E, heads, bias=bias, add_bias_kv=add_bias_kv, add_zero_attn=add_zero_attn,
                        kdim=kdim, vdim=vdim, batch_first=batch_first)

    def shape(n, f):
        return ((N, n, f) if batch_first else (n, N, f)) if batched else (n, f)
    x = [rng.normal(size=shape(n, f)) for n, f in ((L, E), (S, kdim or E), (S, vdim or E))]
    # torch's masks say where a query may NOT attend; keep key 0 open so no row is all masked
    # (torch gives NaN there, we give zeros: tested below)
    attn_mask = mask(rng, ((N if batched else 1) * heads, L, S) if attn_3d else (L, S),
                     attn_kind, nan_free=True)
    kpm = mask(rng, (N, S) if batched else (S,), kpm_kind, nan_free=True)
    attn_mask, kpm = (~m if m is not None and m.dtype == bool else m for m in (attn_mask, kpm))
    kw = dict(need_weights=need_weights, average_attn_weights=average)
    ins = [Value(a) for a in x]
    tins = [tensor(a, grad=True) for a in x]
    out, weights = ours(*ins, key_padding_mask=kpm, attn_mask=attn_mask, **kw)
    expected, expected_weights = theirs(*tins, key_padding_mask=tensor(kpm),
                                        attn_mask=tensor(attn_mask), **kw)
    close(out.data, expected)
    if need_weights:
        close(weights.data, expected_weights)
    else:
        assert weights is None and expected_weights is None
    g = rng.normal(size=out.shape)
    (out * g).sum().backward()
    expected.backward(torch.tensor(g))
    for a, b in zip(ins, tins):
        close(a.grad, b.grad)
    torch_params = dict(theirs.named_parameters())
    assert {name for name, _ in ours.named_parameters()} == set(torch_params)
    for name, p in ours.named_parameters():
        close(p.grad, torch_params[name].grad)


def test_multihead_attention_is_causal_hint_uses_the_mask():
    ours, theirs = pair(4, 2)
    x = np.random.default_rng(5).normal(size=(3, 2, 4))
    causal = np.triu(np.ones((3, 3), bool), 1)  # torch's MHA: True = masked
    for need_weights in (True, False):
        out, _ = ours(x, x, x, attn_mask=causal, is_causal=True, need_weights=need_weights)
        expected, _ = theirs(*(tensor(x),) * 3, attn_mask=tensor(causal), is_causal=True,
                             need_weights=need_weights)
        close(out.data, expected)
    with pytest.raises(ValueError, match="is_causal"):
        ours(x, x, x, is_causal=True)


def test_multihead_attention_fully_masked_rows_give_zeros_where_torch_gives_nan():
    ours, theirs = pair(4, 2, bias=False)
    x = np.random.default_rng(6).normal(size=(3, 2, 4))
    kpm = np.array([[True, True, True], [False, True, False]])
    out, weights = ours(x, x, x, key_padding_mask=kpm)
    expected, _ = theirs(*(tensor(x),) * 3, key_padding_mask=tensor(kpm))
    assert np.isnan(expected[:, 0].detach().numpy()).all()
    np.testing.assert_array_equal(out.data[:, 0], 0.0)   # no bias: zero attention, zero output
    np.testing.assert_array_equal(weights.data[0], 0.0)
    close(out.data[:, 1], expected[:, 1])


def test_multihead_attention_dropout_only_in_training():
    ours, _ = pair(4, 2, dropout=0.5)
    x = np.random.default_rng(7).normal(size=(5, 3, 4))
    tg.manual_seed(0)
    _, trained = ours(x, x, x, average_attn_weights=False)
    dropped = trained.data == 0
    assert 0.3 < dropped.mean() < 0.7
    ours.eval()
    _, evaluated = ours(x, x, x, average_attn_weights=False)
    np.testing.assert_allclose(evaluated.data.sum(-1), 1.0)
    np.testing.assert_allclose(trained.data[~dropped], 2 * evaluated.data[~dropped])


def test_multihead_attention_initialisation_follows_torch():
    E = 64
    ours = nn.MultiheadAttention(E, 4, add_bias_kv=True, seed=0)
    theirs = torch.nn.MultiheadAttention(E, 4, add_bias_kv=True, dtype=torch.float64)
    ours_state, their_state = ours.state_dict(), theirs.state_dict()
    assert {n: a.shape for n, a in ours_state.items()} == \
        {n: tuple(t.shape) for n, t in their_state.items()}
    bounds = {"in_proj_weight": math.sqrt(6 / (4 * E)), "out_proj.weight": 1 / math.sqrt(E)}
    for name, bound in bounds.items():
        w = ours_state[name]
        assert np.abs(w).max() <= bound and np.abs(w).max() > 0.95 * bound
        assert abs(w.std() - their_state[name].std().item()) < 0.1 * bound
    for name in ("bias_k", "bias_v"):   # Xavier normal, std 1/√E
        assert abs(ours_state[name].std() - 1 / math.sqrt(E)) < 0.3 / math.sqrt(E)
    for name in ("in_proj_bias", "out_proj.bias"):
        np.testing.assert_array_equal(ours_state[name], 0.0)
    twins = [nn.MultiheadAttention(8, 2, seed=3).state_dict()["in_proj_weight"] for _ in range(2)]
    np.testing.assert_array_equal(*twins)
    separate = nn.MultiheadAttention(6, 2, kdim=3, vdim=5, dtype=np.float32, seed=0)
    assert {n: (a.shape, a.dtype) for n, a in separate.state_dict().items()} == {
        "q_proj_weight": ((6, 6), np.float32), "k_proj_weight": ((6, 3), np.float32),
        "v_proj_weight": ((6, 5), np.float32), "in_proj_bias": ((18,), np.float32),
        "out_proj.weight": ((6, 6), np.float32), "out_proj.bias": ((6,), np.float32)}


def test_multihead_attention_float32_stays_float32():
    attention = nn.MultiheadAttention(4, 2, add_bias_kv=True, add_zero_attn=True,
                                      dtype=np.float32, seed=0)
    x = np.ones((3, 2, 4), np.float32)
    out, weights = attention(x, x, x, key_padding_mask=np.zeros((2, 3), np.float32))
    assert out.dtype == weights.dtype == np.float32


def test_multihead_attention_gradgradcheck():
    attention = nn.MultiheadAttention(4, 2, seed=1)
    x = np.random.default_rng(8).normal(size=(3, 4))
    causal = np.triu(np.ones((3, 3), bool), 1)
    assert gradgradcheck(lambda x: attention(x, x, x, attn_mask=causal)[0], x)


def test_multihead_attention_errors():
    with pytest.raises(ValueError, match="divisible"):
        nn.MultiheadAttention(6, 4)
    with pytest.raises(ValueError, match="positive"):
        nn.MultiheadAttention(0, 1)
    attention = nn.MultiheadAttention(4, 2, seed=0)
    x = np.ones((3, 2, 4))
    with pytest.raises(ShapeError, match="features"):
        attention(np.ones((3, 2, 5)), x, x)
    with pytest.raises(ShapeError, match="3-D"):
        attention(x, np.ones((3, 4)), np.ones((3, 4)))
    with pytest.raises(ShapeError, match="same length"):
        attention(x, x, np.ones((2, 2, 4)))
    with pytest.raises(ShapeError, match="batch sizes"):
        attention(x, np.ones((3, 1, 4)), np.ones((3, 1, 4)))
    with pytest.raises(ShapeError, match="attn_mask"):
        attention(x, x, x, attn_mask=np.zeros((3, 4), bool))
    with pytest.raises(ShapeError, match="attn_mask"):
        attention(x, x, x, attn_mask=np.zeros((2, 3, 3), bool))
    with pytest.raises(ShapeError, match="key_padding_mask"):
        attention(x, x, x, key_padding_mask=np.zeros((3, 2), bool))
