"""Layers with PyTorch's names (tinygrad_nn.nn): Linear, Identity, Flatten, Unflatten, the
activation functions and modules, dropout, Embedding and one_hot, against torch float64."""

from __future__ import annotations

import math
import threading
import warnings

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from hypothesis.extra import numpy as hnp

import tinygrad_nn as tg
from tinygrad_nn import DomainError, InvalidIndexError, ShapeError, UnsupportedTypeError, Value, nn
from tinygrad_nn.gradcheck import gradcheck, gradgradcheck
from tinygrad_nn.nn import functional as F

torch = pytest.importorskip("torch")
TF = torch.nn.functional

FEW = settings(max_examples=min(settings.default.max_examples, 25), deadline=None)
SOME = settings(max_examples=min(settings.default.max_examples, 40), deadline=None)


def t(a):
    """A float64 torch tensor (requiring a gradient) holding a copy of `a`."""
    return torch.tensor(np.asarray(a, dtype=np.float64), requires_grad=True)


def close(ours, theirs, rtol=1e-9, atol=1e-12):
    ours = ours.data if isinstance(ours, Value) else ours
    theirs = theirs.detach().numpy() if isinstance(theirs, torch.Tensor) else theirs
    np.testing.assert_allclose(np.asarray(ours, dtype=np.float64), theirs, rtol=rtol, atol=atol)


def grads_agree(ours_fn, torch_fn, *arrays, rtol=1e-9, atol=1e-12, seed=0):
    """Values of ours_fn(*Values) and torch_fn(*tensors), and the gradients of a random
    weighted sum of them with respect to every input."""
    values = [Value(a) for a in arrays]
    tensors = [t(a) for a in arrays]
    out, expected = ours_fn(*values), torch_fn(*tensors)
    close(out, expected, rtol, atol)
    g = np.random.default_rng(seed).normal(size=out.shape)
    (out * g).sum().backward()
    (expected * torch.tensor(g)).sum().backward()
    for v, tt in zip(values, tensors):
        close(v.grad, tt.grad, rtol, atol)


# ---- Linear, Identity, Flatten, Unflatten -------------------------------------------------------
@FEW
@given(batch=hnp.array_shapes(min_dims=0, max_dims=2, max_side=3), n_in=st.integers(1, 5),
       n_out=st.integers(1, 4), bias=st.booleans(), seed=st.integers(0, 2 ** 16))
def test_linear_matches_torch(batch, n_in, n_out, bias, seed):
    theirs = torch.nn.Linear(n_in, n_out, bias=bias).double()
    ours = nn.Linear(n_in, n_out, bias=bias, seed=seed)
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    x = np.random.default_rng(seed).normal(size=batch + (n_in,))
    xv, xt = Value(x), t(x)
    out, expected = ours(xv), theirs(xt)
    close(out, expected)
    g = np.random.default_rng(seed + 1).normal(size=out.shape)
    (out * g).sum().backward()
    (expected * torch.tensor(g)).sum().backward()
    close(xv.grad, xt.grad)
    close(ours.weight.grad, theirs.weight.grad)
    if bias:
        close(ours.bias.grad, theirs.bias.grad)


def test_linear_state_dict_keys_and_shapes_match_torch():
    for bias in (True, False):
        ours, theirs = nn.Linear(3, 2, bias=bias), torch.nn.Linear(3, 2, bias=bias)
        assert list(ours.state_dict()) == list(theirs.state_dict())
        for k, v in theirs.state_dict().items():
            assert ours.state_dict()[k].shape == tuple(v.shape)
    assert nn.Linear(3, 2, dtype=np.float32).weight.dtype == np.float32


def test_linear_default_init_is_torchs_uniform_bound():
    n_in = 300
    layer = nn.Linear(n_in, 200, seed=0)
    bound = 1 / math.sqrt(n_in)  # torch: kaiming_uniform(a=√5) on W, U(±1/√fan_in) on b
    for p in (layer.weight.data, layer.bias.data):
        assert np.abs(p).max() <= bound
    assert np.abs(layer.weight.data).max() > 0.99 * bound
    assert layer.weight.data.std() == pytest.approx(bound / math.sqrt(3), rel=0.02)
    np.testing.assert_array_equal(nn.Linear(4, 3, seed=5).weight.data,
                                  nn.Linear(4, 3, seed=5).weight.data)


def test_linear_refuses_wrong_feature_count():
    with pytest.raises(ShapeError, match="3 features"):
        nn.Linear(3, 2)(np.ones((4, 2)))


def test_identity_returns_its_input():
    x = Value(np.ones(3))
    assert nn.Identity()(x) is x


@FEW
@given(shape=hnp.array_shapes(min_dims=1, max_dims=4, max_side=3), data=st.data())
def test_flatten_matches_torch(shape, data):
    n = len(shape)
    start = data.draw(st.integers(-n, n - 1))
    end = data.draw(st.integers(start % n, n - 1))
    end = data.draw(st.sampled_from([end, end - n]))  # the same axis, counted either way
    x = np.random.default_rng(0).normal(size=shape)
    grads_agree(nn.Flatten(start, end), torch.nn.Flatten(start, end), x)


def test_flatten_default_keeps_the_batch_axis():
    assert nn.Flatten()(np.ones((2, 3, 4, 5))).shape == (2, 60)


@pytest.mark.parametrize("shape, dim, sizes", [((2, 12), 1, (3, 4)), ((6, 5), 0, (2, 3)),
                                               ((2, 12, 1), -2, (2, -1, 3))])
def test_unflatten_matches_torch(shape, dim, sizes):
    x = np.arange(math.prod(shape), dtype=float).reshape(shape)
    grads_agree(nn.Unflatten(dim, sizes), torch.nn.Unflatten(dim, sizes), x)


# ---- activation functions and modules -----------------------------------------------------------
# (name in F and in torch's F, keyword arguments, kinks to stay away from)
ELEMENTWISE = [
    ("relu", {}, (0,)), ("relu6", {}, (0, 6)), ("elu", {"alpha": 0.7}, (0,)),
    ("selu", {}, (0,)), ("celu", {"alpha": 1.3}, (0,)),
    ("leaky_relu", {"negative_slope": 0.2}, (0,)), ("leaky_relu", {}, (0,)),
    ("gelu", {}, ()), ("gelu", {"approximate": "tanh"}, ()), ("silu", {}, ()), ("mish", {}, ()),
    ("softplus", {}, (20,)), ("softplus", {"beta": 2.0, "threshold": 3.0}, (1.5,)),
    ("softplus", {"beta": 0.5}, (40,)), ("softsign", {}, (0,)), ("sigmoid", {}, ()),
    ("tanh", {}, ()), ("hardtanh", {}, (-1, 1)),
    ("hardtanh", {"min_val": -0.5, "max_val": 2.0}, (-0.5, 2)), ("hardsigmoid", {}, (-3, 3)),
    ("hardswish", {}, (-3, 3)), ("logsigmoid", {}, ()), ("tanhshrink", {}, ()),
    ("threshold", {"threshold": 0.3, "value": -2.0}, (0.3,)),
    ("hardshrink", {"lambd": 0.4}, (-0.4, 0.4)), ("softshrink", {}, (-0.5, 0.5)),
]
ALONG_AXIS = [("softmax", {"dim": 1}), ("softmax", {"dim": 0}), ("log_softmax", {"dim": -1}),
              ("softmin", {"dim": 1}), ("glu", {"dim": -1}), ("glu", {"dim": 0}),
              ("normalize", {}), ("normalize", {"p": 1.0, "dim": 0}),
              ("normalize", {"p": 3.0, "dim": -1})]


def away_from(x, kinks, margin=1e-3):
    """x with every element within `margin` of a kink moved off it."""
    for k in kinks:
        x = np.where(np.abs(x - k) < margin, x + 10 * margin, x)
    return x


def ours_and_torchs(name, kwargs):
    return (lambda v: getattr(F, name)(v, **kwargs)), (lambda tt: getattr(TF, name)(tt, **kwargs))


@pytest.mark.parametrize("name, kwargs, kinks", ELEMENTWISE, ids=lambda v: str(v))
@SOME
@given(x=hnp.arrays(np.float64, hnp.array_shapes(max_dims=3, max_side=4),
                    elements=st.floats(-25, 25)))
def test_elementwise_activation_matches_torch(name, kwargs, kinks, x):
    ours, theirs = ours_and_torchs(name, kwargs)
    grads_agree(ours, theirs, away_from(x, kinks), rtol=1e-6, atol=1e-10)


@pytest.mark.parametrize("name, kwargs", ALONG_AXIS, ids=lambda v: str(v))
@FEW
@given(rows=st.integers(1, 3), half=st.integers(1, 3), seed=st.integers(0, 2 ** 16))
def test_activation_along_an_axis_matches_torch(name, kwargs, rows, half, seed):
    shape = (2 * rows, 2 * half)  # even on both axes, for glu
    x = away_from(np.random.default_rng(seed).normal(scale=3, size=shape), (0,))
    ours, theirs = ours_and_torchs(name, kwargs)
    grads_agree(ours, theirs, x, rtol=1e-7, atol=1e-10)


def test_scalar_and_float32_inputs():
    assert F.relu(Value(-2.0)).data == 0.0
    assert F.softplus(np.ones(3, np.float32), beta=2.0).dtype == np.float32
    assert F.threshold(np.ones(3, np.float32), 0.5, 2.0).dtype == np.float32
    assert F.gelu(np.ones(3, np.float32)).dtype == np.float32


@pytest.mark.parametrize("fn", [
    lambda v: F.gelu(v, approximate="tanh"), lambda v: F.softplus(v, beta=2.0),
    lambda v: F.glu(v, dim=1), lambda v: F.normalize(v), lambda v: F.softmin(v, dim=0),
    lambda v: F.mish(v), lambda v: F.celu(v, alpha=0.5), lambda v: F.tanhshrink(v)])
def test_second_derivatives(fn):
    x = np.random.default_rng(3).normal(size=(2, 4)) + 0.05
    gradcheck(fn, x)
    gradgradcheck(fn, x)


def test_normalize_zero_vector_gives_zero_and_a_finite_gradient():
    x = Value(np.array([[0.0, 0.0], [3.0, 4.0]]))
    tx = t(x.data)
    out, expected = F.normalize(x), TF.normalize(tx)
    close(out, expected)
    out.sum().backward()
    expected.sum().backward()
    close(x.grad, tx.grad)


def test_prelu_matches_torch():
    x = away_from(np.random.default_rng(0).normal(size=(2, 3, 4)), (0,))
    for w in (np.array([0.25]), np.array([0.1, -0.3, 0.6])):
        grads_agree(F.prelu, TF.prelu, x, w)
    module = nn.PReLU(3)
    assert list(module.state_dict()) == list(torch.nn.PReLU(3).state_dict())
    np.testing.assert_array_equal(module.weight.data, [0.25] * 3)
    with pytest.raises(ShapeError, match="slopes"):
        F.prelu(x, np.ones(2))


def test_activation_errors():
    with pytest.raises(ShapeError, match="even"):
        F.glu(np.ones((2, 3)))
    with pytest.raises(ShapeError, match="scalar"):
        F.glu(Value(1.0))
    with pytest.raises(DomainError, match="approximate"):
        F.gelu(np.ones(2), approximate="fast")
    with pytest.raises(DomainError, match="beta"):
        F.softplus(np.ones(2), beta=0)
    with pytest.raises(DomainError, match="min_val"):
        F.hardtanh(np.ones(2), min_val=2.0, max_val=1.0)


def test_softmax_without_dim_warns_and_picks_torchs_axis():
    x = np.random.default_rng(0).normal(size=(2, 3, 4, 2))
    for shape in [(5,), (2, 3), (2, 3, 4), (2, 3, 4, 2)]:
        a = x.ravel()[:math.prod(shape)].reshape(shape)
        with pytest.warns(UserWarning, match="Implicit dimension"):
            ours = F.softmax(a)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            theirs = TF.softmax(torch.tensor(a))
        close(ours, theirs)


# module name, constructor arguments (the same for torch's module)
MODULES = [
    ("ReLU", {}), ("ReLU6", {"inplace": True}), ("ELU", {"alpha": 0.5}), ("SELU", {}),
    ("CELU", {"alpha": 2.0}), ("LeakyReLU", {"negative_slope": 0.1}), ("GELU", {}),
    ("GELU", {"approximate": "tanh"}), ("SiLU", {}), ("Mish", {}),
    ("Softplus", {"beta": 2.0, "threshold": 1.0}), ("Softsign", {}), ("Sigmoid", {}),
    ("Tanh", {}), ("Hardtanh", {"min_val": -2.0, "max_val": 0.5}), ("Hardsigmoid", {}),
    ("Hardswish", {}), ("LogSigmoid", {}), ("Softmax", {"dim": 1}), ("LogSoftmax", {"dim": 0}),
    ("Softmin", {"dim": -1}), ("GLU", {}), ("GLU", {"dim": 0}), ("Tanhshrink", {}),
    ("Threshold", {"threshold": 0.2, "value": 5.0}), ("Hardshrink", {"lambd": 0.3}),
    ("Softshrink", {"lambd": 0.7}),
]


@pytest.mark.parametrize("name, kwargs", MODULES, ids=lambda v: str(v))
def test_activation_module_matches_torch(name, kwargs):
    x = away_from(np.random.default_rng(1).normal(scale=2, size=(4, 6)), (0, 0.2, 0.3, 0.7))
    ours, theirs = getattr(nn, name)(**kwargs), getattr(torch.nn, name)(**kwargs)
    grads_agree(ours, lambda tt: theirs(tt.clone()), x, rtol=1e-6, atol=1e-10)  # (inplace)
    assert ours.parameters() == [] and ours.state_dict() == {}
    for k, v in kwargs.items():
        assert getattr(ours, k) == v == getattr(theirs, k)


def test_activation_module_repr_and_positional_arguments():
    assert repr(nn.ELU(0.5)) == "ELU(alpha=0.5)"
    assert repr(nn.ReLU()) == "ReLU()" and repr(nn.ReLU(True)) == "ReLU(inplace=True)"
    assert repr(nn.Softmax(1)) == "Softmax(dim=1)"
    assert repr(nn.Threshold(0.1, 20.0)) == "Threshold(threshold=0.1, value=20.0)"
    model = nn.Sequential(nn.Linear(3, 4, seed=0), nn.LeakyReLU(0.2), nn.Linear(4, 2, seed=1),
                          nn.LogSoftmax(dim=1))
    out = model(np.ones((5, 3)))
    np.testing.assert_allclose(np.exp(out.data).sum(axis=1), 1.0)


# ---- dropout ---------------------------------------------------------------------------------
def test_dropout_mask_statistics_and_scale():
    x = np.ones((200, 300))
    for p in (0.1, 0.3, 0.8):
        out = F.dropout(x, p, generator=np.random.default_rng(0)).data
        assert set(np.unique(out)) <= {0.0, 1 / (1 - p)}
        assert (out == 0).mean() == pytest.approx(p, abs=5 * math.sqrt(p * (1 - p) / x.size))
        assert out.mean() == pytest.approx(1.0, abs=0.03)  # expected value kept


def test_dropout_identity_when_not_training_or_p_zero_and_zeros_for_p_one():
    v = Value(np.random.default_rng(0).normal(size=(3, 4)))
    assert F.dropout(v, 0.5, training=False) is v
    assert F.dropout(v, 0.0) is v
    np.testing.assert_array_equal(F.dropout(v, 1.0).data, np.zeros((3, 4)))
    assert F.dropout(Value(2.0), 1.0).data == 0.0


@pytest.mark.parametrize("p", [-0.1, 1.5, math.nan])
def test_dropout_refuses_a_probability_outside_0_1(p):
    with pytest.raises(DomainError, match="between 0 and 1"):
        F.dropout(np.ones(3), p)
    with pytest.raises(ValueError):
        nn.Dropout(p)


def test_dropout_gradient_is_the_mask_over_1_minus_p():
    x = Value(np.random.default_rng(0).normal(size=(30, 40)) + 10)  # no zero inputs
    p = 0.4
    out = F.dropout(x, p, generator=1)
    (out * 3.0).sum().backward()
    np.testing.assert_allclose(x.grad, 3.0 * (out.data != 0) / (1 - p))
    gradgradcheck(lambda v: F.dropout(v, p, generator=np.random.default_rng(7)),
                  np.random.default_rng(1).normal(size=(3, 4)))


def test_dropout_masks_are_reproducible():
    x = np.ones((20, 20))
    tg.manual_seed(3)
    a = F.dropout(x).data
    b = F.dropout(x).data
    tg.manual_seed(3)
    np.testing.assert_array_equal(F.dropout(x).data, a)
    assert not np.array_equal(a, b)  # successive masks differ
    np.testing.assert_array_equal(F.dropout(x, generator=5).data, F.dropout(x, generator=5).data)
    np.testing.assert_array_equal(F.dropout(x, generator=np.random.default_rng(9)).data,
                                  F.dropout(x, generator=np.random.default_rng(9)).data)
    # the same mask for float32 and float64 inputs
    np.testing.assert_array_equal(F.dropout(x.astype(np.float32), generator=5).data != 0,
                                  F.dropout(x, generator=5).data != 0)
    assert F.dropout(x.astype(np.float32), generator=5).dtype == np.float32


def test_dropout_default_generators_are_per_thread():
    x = np.ones((10, 10))
    results = {}

    def worker(name, seed):
        tg.manual_seed(seed)
        results[name] = F.dropout(x).data

    tg.manual_seed(7)
    expected = F.dropout(x).data
    tg.manual_seed(7)
    threads = [threading.Thread(target=worker, args=(i, 7)) for i in range(2)]
    threads.append(threading.Thread(target=worker, args=("other", 8)))
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    np.testing.assert_array_equal(results[0], expected)
    np.testing.assert_array_equal(results[1], expected)
    # the threads' seeding did not touch this thread's default Generator
    np.testing.assert_array_equal(F.dropout(x).data, expected)
    assert not np.array_equal(results["other"], expected)


def test_dropout_module_modes_and_seed():
    x = np.ones((10, 10))
    a, b = nn.Dropout(0.5, seed=0), nn.Dropout(0.5, seed=0)
    first = a(x).data
    np.testing.assert_array_equal(first, b(x).data)
    assert not np.array_equal(first, a(x).data)  # its own Generator moves on
    a.eval()
    np.testing.assert_array_equal(a(x).data, x)
    a.train()
    assert (a(x).data == 0).any()
    tg.manual_seed(11)
    c = nn.Dropout(0.3)(x).data
    tg.manual_seed(11)
    np.testing.assert_array_equal(nn.Dropout(0.3)(x).data, c)
    assert repr(nn.Dropout(0.2)) == repr(torch.nn.Dropout(0.2)) == "Dropout(p=0.2, inplace=False)"
    model = nn.Sequential(nn.Linear(4, 3, seed=0), nn.Dropout(0.5))
    assert list(model.state_dict()) == ["0.weight", "0.bias"]
    model.eval()
    np.testing.assert_allclose(model(np.ones((2, 4))).data, model[0](np.ones((2, 4))).data)


@pytest.mark.parametrize("fn, module, shape, channels", [
    (F.dropout1d, nn.Dropout1d, (5, 40), 1), (F.dropout1d, nn.Dropout1d, (3, 40, 5), 2),
    (F.dropout2d, nn.Dropout2d, (3, 40, 2, 3), 2), (F.dropout3d, nn.Dropout3d, (40, 2, 3, 2), 1),
    (F.dropout3d, nn.Dropout3d, (2, 20, 2, 2, 3), 2)])
def test_channel_dropout_drops_whole_channels(fn, module, shape, channels):
    p = 0.5
    out = fn(np.ones(shape), p, generator=0).data
    per_channel = out.reshape(shape[:channels] + (-1,))
    assert np.all(per_channel == per_channel[..., :1])  # each channel all kept or all dropped
    assert set(np.unique(out)) == {0.0, 2.0}
    assert np.array_equal(module(p, seed=0)(np.ones(shape)).data, out)
    np.testing.assert_array_equal(fn(np.ones(shape), p, training=False).data, np.ones(shape))


def test_channel_dropout_shapes():
    with pytest.raises(ShapeError, match="dropout1d"):
        F.dropout1d(np.ones(4))
    with pytest.raises(ShapeError, match="dropout2d"):
        F.dropout2d(np.ones((2, 2)))
    with pytest.raises(ShapeError, match="dropout3d"):
        F.dropout3d(np.ones((2, 2, 2)))
    with pytest.warns(UserWarning, match="3D input to dropout2d"):
        out = F.dropout2d(np.ones((2, 30, 4)), generator=0).data  # torch: taken as (N, C, L)
    assert np.all(out == out[..., :1])


def test_alpha_dropout_keeps_zero_mean_and_unit_variance():
    x = np.random.default_rng(0).normal(size=(400, 500))
    p = 0.2
    out = F.alpha_dropout(x, p, training=True, generator=1).data
    assert out.mean() == pytest.approx(0.0, abs=0.01)
    assert out.std() == pytest.approx(1.0, abs=0.01)
    # torch's affine map: a x + b for kept elements, a·(-scale·alpha) + b for dropped ones
    saturation = -1.0507009873554805 * 1.6732632423543772
    a = 1 / math.sqrt((saturation ** 2 * p + 1) * (1 - p))
    b = -a * saturation * p
    dropped = np.isclose(out, a * saturation + b)
    assert dropped.mean() == pytest.approx(p, abs=0.01)
    np.testing.assert_allclose(out[~dropped], a * x[~dropped] + b)
    np.testing.assert_array_equal(F.alpha_dropout(x, p).data, x)  # training defaults to False
    module = nn.AlphaDropout(p, seed=1)
    np.testing.assert_array_equal(module(x).data, out)
    np.testing.assert_array_equal(F.alpha_dropout(x, 1.0, training=True).data, 0 * x)  # torch's


# ---- embedding and one_hot -------------------------------------------------------------------
@FEW
@given(rows=st.integers(1, 6), dim=st.integers(1, 4),
       index_shape=hnp.array_shapes(min_dims=0, max_dims=3, max_side=4), data=st.data())
def test_embedding_matches_torch(rows, dim, index_shape, data):
    index = data.draw(hnp.arrays(np.int64, index_shape, elements=st.integers(0, rows - 1)))
    padding = data.draw(st.none() | st.integers(-rows, rows - 1))
    weight = np.random.default_rng(rows * dim).normal(size=(rows, dim))
    grads_agree(lambda w: F.embedding(index, w, padding_idx=padding),
                lambda w: TF.embedding(torch.tensor(index), w, padding_idx=padding), weight)


def test_embedding_gradient_adds_up_repeated_indices_and_skips_padding():
    weight = Value(np.arange(12.0).reshape(4, 3))
    out = F.embedding([[1, 1, 2], [1, 3, 0]], weight, padding_idx=3)
    out.sum().backward()
    np.testing.assert_array_equal(weight.grad[:, 0], [1, 3, 1, 0])
    np.testing.assert_array_equal(out.data[1, 1], weight.data[3])  # the padding row's value


def test_embedding_index_kinds_and_errors():
    weight = np.random.default_rng(0).normal(size=(5, 2))
    expected = weight[[3, 0, 4]]
    for index in ([3, 0, 4], np.array([3, 0, 4], np.int32), Value(np.array([3.0, 0.0, 4.0]))):
        np.testing.assert_array_equal(F.embedding(index, weight).data, expected)
    np.testing.assert_array_equal(F.embedding(2, weight).data, weight[2])
    with pytest.raises(InvalidIndexError, match="index 5 is out of range for 5 embeddings"):
        F.embedding([1, 5], weight)
    with pytest.raises(InvalidIndexError, match="out of range"):
        F.embedding([-1], weight)
    with pytest.raises(InvalidIndexError, match="whole numbers"):
        F.embedding(Value(np.array([0.5])), weight)
    with pytest.raises(InvalidIndexError, match="padding_idx"):
        F.embedding([0], weight, padding_idx=5)
    with pytest.raises(ShapeError, match="2-D"):
        F.embedding([0], np.ones(3))
    with pytest.raises(UnsupportedTypeError, match="scale_grad_by_freq"):
        F.embedding([0], weight, scale_grad_by_freq=True)


def test_embedding_max_norm_renormalises_rows_as_torch():
    weight = np.random.default_rng(0).normal(scale=2, size=(6, 3))
    index = np.array([[0, 2, 2], [5, 1, 0]])
    for norm_type in (2.0, 1.0):
        ours, theirs = weight.copy(), torch.tensor(weight)
        out = F.embedding(index, Value(ours), max_norm=1.5, norm_type=norm_type)
        expected = TF.embedding(torch.tensor(index), theirs, max_norm=1.5, norm_type=norm_type)
        close(out, expected)
    module = nn.Embedding(6, 3, max_norm=1.0, seed=0)
    module([0, 1])
    assert np.all(np.linalg.norm(module.weight.data[:2], axis=1) <= 1.0)


def test_embedding_module():
    module = nn.Embedding(2000, 30, padding_idx=-1, seed=0)
    assert module.padding_idx == 1999 == torch.nn.Embedding(2000, 30, padding_idx=-1).padding_idx
    w = module.weight.data
    np.testing.assert_array_equal(w[1999], 0)
    assert w[:-1].mean() == pytest.approx(0, abs=0.01)
    assert w[:-1].std() == pytest.approx(1, abs=0.01)
    assert list(module.state_dict()) == list(torch.nn.Embedding(3, 2).state_dict()) == ["weight"]
    np.testing.assert_array_equal(nn.Embedding(4, 3, seed=1).weight.data,
                                  nn.Embedding(4, 3, seed=1).weight.data)
    assert nn.Embedding(4, 3, dtype=np.float32).weight.dtype == np.float32
    out = module(np.array([[3, 1999, 3]]))
    assert out.shape == (1, 3, 30)
    out.sum().backward()
    np.testing.assert_array_equal(module.weight.grad[3], 2)
    np.testing.assert_array_equal(module.weight.grad[1999], 0)
    assert repr(module) == "Embedding(2000, 30, padding_idx=1999)"
    theirs = torch.nn.Embedding(7, 4).double()
    ours = nn.Embedding(7, 4)
    ours.load_state_dict({"weight": theirs.weight.detach().numpy()})
    close(ours([[1, 6], [0, 0]]), theirs(torch.tensor([[1, 6], [0, 0]])))


def test_embedding_from_pretrained():
    table = np.arange(6.0, dtype=np.float32).reshape(3, 2)
    frozen = nn.Embedding.from_pretrained(table, padding_idx=0)
    assert not frozen.weight.requires_grad and frozen.parameters() == []
    assert list(frozen.state_dict()) == ["weight"] and frozen.weight.dtype == np.float32
    np.testing.assert_array_equal(frozen([0, 2]).data, table[[0, 2]])  # padding row not zeroed
    table[0, 0] = 99  # a copy was taken
    assert frozen.weight.data[0, 0] == 0
    trainable = nn.Embedding.from_pretrained(table, freeze=False)
    assert trainable.parameters() == [trainable.weight]
    assert (trainable.num_embeddings, trainable.embedding_dim) == (3, 2)
    with pytest.raises(ShapeError, match="2-D"):
        nn.Embedding.from_pretrained(np.ones(3))


@FEW
@given(index=hnp.arrays(np.int64, hnp.array_shapes(min_dims=0, max_dims=3, max_side=4),
                        elements=st.integers(0, 5)), extra=st.integers(-1, 3))
def test_one_hot_matches_torch(index, extra):
    num_classes = -1 if extra == -1 else int(index.max()) + 1 + extra
    ours = F.one_hot(index, num_classes)
    theirs = TF.one_hot(torch.tensor(index), num_classes).numpy()
    assert ours.dtype == np.int64 == theirs.dtype
    np.testing.assert_array_equal(ours, theirs)


def test_one_hot_inputs_and_errors():
    np.testing.assert_array_equal(F.one_hot(Value(np.array([1.0, 0.0])), 3), [[0, 1, 0], [1, 0, 0]])
    np.testing.assert_array_equal(F.one_hot([2]), [[0, 0, 1]])
    assert F.one_hot(np.zeros(0, np.int64), 4).shape == (0, 4)
    with pytest.raises(InvalidIndexError, match="non-negative"):
        F.one_hot([-1, 2])
    with pytest.raises(InvalidIndexError, match="smaller than num_classes"):
        F.one_hot([3], 3)
    with pytest.raises(ShapeError, match="empty"):
        F.one_hot(np.zeros(0, np.int64))
    logits = Value(np.random.default_rng(0).normal(size=(4, 3)))
    target = F.one_hot([0, 2, 1, 1], 3)
    loss = -(F.log_softmax(logits, dim=1) * target).sum()  # mixes into Value arithmetic
    loss.backward()
    assert logits.grad.shape == (4, 3)
