"""Convolutions (tinygrad_nn/nn/functional/conv.py, tinygrad_nn/nn/conv.py) against PyTorch in
float64: values, input, weight and bias gradients over drawn shapes and settings; finite
differences and second derivatives without torch; modules, state_dict, repr and errors; and the
conv benchmark's step against torch's."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_nn as tg
from tinygrad_nn import ShapeError, Value, nn
from tinygrad_nn.gradcheck import gradcheck, gradgradcheck
from tinygrad_nn.nn import functional as F

torch = pytest.importorskip("torch")
TF = torch.nn.functional
BOUNDED = settings(max_examples=min(settings.default.max_examples, 25), deadline=None)


def compare(ours: Any, theirs: Any, inputs: list, rng: np.random.Generator) -> None:
    """Same value; same gradients of every input for a random seed (sum(seed * out))."""
    mine = [Value(a) for a in inputs]
    tensors = [torch.tensor(a, requires_grad=True) for a in inputs]
    out, ref = ours(*mine), theirs(*tensors)
    assert out.shape == tuple(ref.shape)
    np.testing.assert_allclose(out.data, ref.detach().numpy(), rtol=1e-10, atol=1e-12)
    seed = rng.normal(size=out.shape)
    (out * seed).sum().backward()
    (ref * torch.tensor(seed)).sum().backward()
    for v, t in zip(mine, tensors):
        np.testing.assert_allclose(v.grad, t.grad.numpy(), rtol=1e-10, atol=1e-12)


@st.composite
def conv_settings(draw: Any, n: int, transposed: bool = False) -> dict:
    groups = draw(st.integers(1, 2))
    cin, cout = groups * draw(st.integers(1, 2)), groups * draw(st.integers(1, 2))
    kernel = tuple(draw(st.integers(1, 3)) for _ in range(n))
    dilation = tuple(draw(st.integers(1, 2)) for _ in range(n))
    stride = tuple(draw(st.integers(1, 2)) for _ in range(n))
    if transposed:
        padding = tuple(draw(st.integers(0, 1)) for _ in range(n))
        extra = tuple(draw(st.integers(0, max(s, d) - 1)) for s, d in zip(stride, dilation))
        spatial = tuple(draw(st.integers(1, 4)) for _ in range(n))
        kw = dict(stride=stride, padding=padding, output_padding=extra, groups=groups,
                  dilation=dilation)
        full = [s * (m - 1) + d * (k - 1) + 1 + e - 2 * p for s, m, d, k, e, p in
                zip(stride, spatial, dilation, kernel, extra, padding)]
        if min(full) <= 0:
            kw["padding"] = (0,) * n
        weight = (cin, cout // groups) + kernel
    else:
        padding: Any = draw(st.sampled_from(["int", "tuple", "valid", "same"]))
        if padding == "same":
            stride = (1,) * n
        else:
            padding = draw(st.integers(0, 2)) if padding == "int" else "valid" if \
                padding == "valid" else tuple(draw(st.integers(0, 2)) for _ in range(n))
        pads = [0] * n if padding == "valid" else [padding] * n if isinstance(padding, int) \
            else list(padding) if isinstance(padding, tuple) else [0] * n
        spatial = tuple(max(draw(st.integers(1, 6)), d * (k - 1) + 1 - 2 * p)
                        for k, d, p in zip(kernel, dilation, pads))
        kw = dict(stride=stride, padding=padding, dilation=dilation, groups=groups)
        weight = (cout, cin // groups) + kernel
    batch = draw(st.sampled_from([(), (1,), (2,)]))
    return dict(input=batch + (cin,) + spatial, weight=weight, bias=draw(st.booleans()),
                out=cout, kw=kw)


@pytest.mark.parametrize("n", [1, 2, 3])
@BOUNDED
@given(data=st.data())
def test_conv_matches_torch(n: int, data: st.DataObject):
    case = data.draw(conv_settings(n), label="case")
    rng = np.random.default_rng(0)
    inputs = [rng.normal(size=case["input"]), rng.normal(size=case["weight"])]
    if case["bias"]:
        inputs.append(rng.normal(size=case["out"]))
    ours, theirs = getattr(F, f"conv{n}d"), getattr(TF, f"conv{n}d")
    compare(lambda *a: ours(*a, **case["kw"]), lambda *a: theirs(*a, **case["kw"]), inputs, rng)


@pytest.mark.parametrize("n", [1, 2])
@BOUNDED
@given(data=st.data())
def test_conv_transpose_matches_torch(n: int, data: st.DataObject):
    case = data.draw(conv_settings(n, transposed=True), label="case")
    rng = np.random.default_rng(1)
    inputs = [rng.normal(size=case["input"]), rng.normal(size=case["weight"])]
    if case["bias"]:
        inputs.append(rng.normal(size=case["out"]))
    ours, theirs = getattr(F, f"conv_transpose{n}d"), getattr(TF, f"conv_transpose{n}d")
    compare(lambda *a: ours(*a, **case["kw"]), lambda *a: theirs(*a, **case["kw"]), inputs, rng)


def test_unfold_and_fold_match_torch():
    rng = np.random.default_rng(2)
    kw = dict(kernel_size=(2, 3), dilation=(1, 2), padding=1, stride=(2, 1))
    x = rng.normal(size=(2, 3, 6, 5))
    compare(lambda a: F.unfold(a, **kw), lambda a: TF.unfold(a, **kw), [x], rng)
    cols = TF.unfold(torch.tensor(x), **kw).numpy()
    compare(lambda a: F.fold(a, (6, 5), **kw), lambda a: TF.fold(a, (6, 5), **kw), [cols], rng)
    compare(lambda a: F.fold(a, (6, 5), **kw), lambda a: TF.fold(a, (6, 5), **kw), [cols[0]], rng)


def test_conv_gradients_by_finite_differences_and_second_order():
    rng = np.random.default_rng(3)
    x, w, b = rng.normal(size=(1, 2, 5, 4)), rng.normal(size=(2, 1, 2, 3)), rng.normal(size=2)
    f = lambda x, w, b: (F.conv2d(x, w, b, stride=(2, 1), padding=1, dilation=(1, 2), groups=2) ** 2).sum()  # noqa: E731
    assert gradcheck(f, x, w, b)
    assert gradgradcheck(f, x, w, b)
    wt = rng.normal(size=(2, 2, 2, 2))
    g = lambda x, w: (F.conv_transpose2d(x, w, stride=2, padding=1, output_padding=1) ** 2).sum()  # noqa: E731
    assert gradcheck(g, x[:, :, :3, :3], wt)
    assert gradgradcheck(g, x[:, :, :3, :3], wt)


def test_float32_stays_float32():
    x = np.ones((1, 2, 5), np.float32)
    conv = nn.Conv1d(2, 3, 2, dtype=np.float32, seed=0)
    y = conv(x)
    y.sum().backward()
    assert y.dtype == np.float32 and conv.weight.grad.dtype == np.float32


@pytest.mark.parametrize("mode", ["zeros", "reflect", "replicate", "circular"])
def test_conv2d_module_with_each_padding_mode_matches_torch(mode: str):
    ours = nn.Conv2d(2, 4, (3, 2), stride=1, padding="same" if mode != "circular" else (1, 2),
                     dilation=(1, 2), padding_mode=mode, seed=0)
    theirs = torch.nn.Conv2d(2, 4, (3, 2), stride=1, padding=ours.padding, dilation=(1, 2),
                             padding_mode=mode).double()
    theirs.load_state_dict({k: torch.tensor(v) for k, v in ours.state_dict().items()})
    x = np.random.default_rng(4).normal(size=(2, 2, 5, 6))
    compare(ours, theirs, [x], np.random.default_rng(5))
    assert ours.weight.grad is not None
    np.testing.assert_allclose(ours.weight.grad, theirs.weight.grad.numpy(), rtol=1e-10)
    np.testing.assert_allclose(ours.bias.grad, theirs.bias.grad.numpy(), rtol=1e-10)


def test_modules_have_torch_shapes_init_repr_and_state_dict():
    conv = nn.Conv2d(4, 6, 3, groups=2, seed=0)
    assert conv.weight.shape == (6, 2, 3, 3) and conv.bias.shape == (6,)
    bound = 1 / np.sqrt(2 * 9)
    assert np.abs(conv.weight.data).max() <= bound and np.abs(conv.weight.data).max() > bound / 2
    assert repr(conv) == "Conv2d(4, 6, kernel_size=(3, 3), stride=(1, 1), groups=2)"
    t = nn.ConvTranspose2d(4, 2, 3, stride=2, output_padding=1, bias=False, seed=0)
    assert t.weight.shape == (4, 2, 3, 3) and t.bias is None
    assert np.abs(t.weight.data).max() <= 1 / np.sqrt(2 * 9)
    assert repr(t) == repr(torch.nn.ConvTranspose2d(4, 2, 3, stride=2, output_padding=1, bias=False))
    c1 = nn.Conv1d(2, 4, 3, padding="same", bias=False, padding_mode="reflect", dilation=2)
    assert repr(c1) == repr(torch.nn.Conv1d(2, 4, 3, padding="same", bias=False,
                                            padding_mode="reflect", dilation=2))
    assert repr(nn.Conv3d(1, 2, 2)) == repr(torch.nn.Conv3d(1, 2, 2))
    other = nn.Conv2d(4, 6, 3, groups=2, seed=1)
    other.load_state_dict(conv.state_dict())
    x = np.random.default_rng(6).normal(size=(4, 5, 5))  # unbatched
    np.testing.assert_array_equal(other(x).data, conv(x).data)
    assert conv(x).shape == (6, 3, 3)
    y = t(np.ones((1, 4, 3, 3)), output_size=(7, 7))
    assert y.shape == (1, 2, 7, 7)
    y1 = nn.ConvTranspose1d(2, 3, 2, stride=3)(np.ones((2, 4)))
    assert y1.shape == (3, 11)


def test_conv_errors_name_the_function_and_the_shapes():
    x = np.zeros((1, 3, 5, 5))
    with pytest.raises(ShapeError, match=r"conv2d: input of shape \(1, 3, 5, 5\) and weight of "
                                         r"shape \(4, 2, 3, 3\) with groups=1"):
        F.conv2d(x, np.zeros((4, 2, 3, 3)))
    with pytest.raises(ShapeError, match=r"conv2d: kernel size \(6, 6\).*larger than the padded"):
        F.conv2d(x, np.zeros((4, 3, 6, 6)))
    with pytest.raises(ShapeError, match="conv2d: padding='same' is not supported for strided"):
        F.conv2d(x, np.zeros((4, 3, 3, 3)), stride=2, padding="same")
    with pytest.raises(ShapeError, match=r"conv1d: expected a 2-D \(unbatched\) or 3-D"):
        F.conv1d(x, np.zeros((4, 3, 3)))
    with pytest.raises(ShapeError, match=r"conv2d: bias must have shape \(4,\)"):
        F.conv2d(x, np.zeros((4, 3, 3, 3)), np.zeros(3))
    with pytest.raises(ShapeError, match="Conv2d: in_channels 3 and out_channels 4 must both "
                                         "divide by groups=2"):
        nn.Conv2d(3, 4, 3, groups=2)
    with pytest.raises(ShapeError, match="conv_transpose2d: output_padding"):
        F.conv_transpose2d(x, np.zeros((3, 2, 3, 3)), stride=1, output_padding=1)
    with pytest.raises(ShapeError, match="Conv2d: padding_mode must be one of"):
        nn.Conv2d(3, 4, 3, padding_mode="wrap")


def test_conv_benchmark_step_matches_torch():
    from benchmarks import conv as bench
    for case in bench.CASES:
        for dtype in ("float32", "float64"):
            ours, theirs = bench.tinygrad_step(case, dtype), bench.torch_step(case, dtype)
            (loss, grad), (ref_loss, ref_grad) = ours(), theirs()
            rtol = 1e-4 if dtype == "float32" else 1e-10
            assert loss == pytest.approx(ref_loss, rel=rtol)
            np.testing.assert_allclose(grad, ref_grad, rtol=rtol * 10, atol=rtol)


def test_a_small_convnet_trains():
    rng = np.random.default_rng(7)
    x = rng.normal(size=(8, 1, 8, 8))
    y = (x[:, 0, :4].sum(axis=(1, 2)) > 0).astype(int)
    model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1, seed=0), nn.ReLU() if hasattr(nn, "ReLU")
                          else nn.Identity(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(64, 2, seed=0))
    params = model.parameters()
    losses = []
    for _ in range(20):
        model.zero_grad()
        logits = model(x)
        loss = tg.ops.softmax_cross_entropy(logits, np.eye(2)[y])
        loss.backward()
        for p in params:
            p.data -= 0.1 * p.grad
        losses.append(loss.item())
    assert losses[-1] < losses[0]
