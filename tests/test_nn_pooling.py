"""Pooling (tinygrad_nn/nn/functional/pooling.py, tinygrad_nn/nn/pooling.py) against PyTorch in
float64 (values, input gradients, returned indices) over drawn sizes and settings, ties
included; finite differences and second derivatives; modules' repr; errors."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tinygrad_nn import ShapeError, Value, nn
from tinygrad_nn.gradcheck import gradcheck, gradgradcheck
from tinygrad_nn.nn import functional as F

torch = pytest.importorskip("torch")
TF = torch.nn.functional
BOUNDED = settings(max_examples=min(settings.default.max_examples, 25), deadline=None)


def compare(name: str, x: np.ndarray, **kw: Any) -> None:
    """Value, indices (with return_indices) and input gradient as torch's, for a random seed."""
    v, t = Value(x), torch.tensor(x, requires_grad=True)
    out, ref = getattr(F, name)(v, **kw), getattr(TF, name)(t, **kw)
    if kw.get("return_indices"):
        (out, index), (ref, ref_index) = out, ref
        np.testing.assert_array_equal(index, ref_index.numpy())
    assert out.shape == tuple(ref.shape)
    np.testing.assert_allclose(out.data, ref.detach().numpy(), rtol=1e-12, atol=1e-14)
    seed = np.random.default_rng(0).normal(size=out.shape)
    (out * seed).sum().backward()
    (ref * torch.tensor(seed)).sum().backward()
    np.testing.assert_allclose(v.grad, t.grad.numpy(), rtol=1e-12, atol=1e-14)


@st.composite
def pool_case(draw: Any, n: int, dilation: bool = True) -> tuple:
    k = tuple(draw(st.integers(1, 3)) for _ in range(n))
    s = tuple(draw(st.integers(1, 3)) for _ in range(n))
    p = tuple(draw(st.integers(0, ki // 2)) for ki in k)
    d = tuple(draw(st.integers(1, 2)) for _ in range(n)) if dilation else (1,) * n
    # at least one dilated kernel: a window of padding alone (possible with dilation) is
    # -inf, and torch's gradient for it is not defined
    spatial = tuple(max(draw(st.integers(1, 7)), di * (ki - 1) + 1) for ki, di in zip(k, d))
    shape = draw(st.sampled_from([(2,), (1, 2)])) + spatial
    ties = draw(st.booleans())  # small integers: many ties, which torch sends to the first maximum
    x = draw(st.integers(0, 2 ** 31).map(lambda seed: np.random.default_rng(seed).normal(size=shape)))
    return (np.round(x) if ties else x), k, s, p, d


@pytest.mark.parametrize("n", [1, 2])
@BOUNDED
@given(case=st.data())
def test_max_pool_matches_torch_ties_included(n: int, case: st.DataObject):
    x, k, s, p, d = case.draw(pool_case(n))
    ceil_mode = case.draw(st.booleans())
    compare(f"max_pool{n}d", x, kernel_size=k, stride=s, padding=p, dilation=d,
            ceil_mode=ceil_mode, return_indices=case.draw(st.booleans()))


@pytest.mark.parametrize("n", [1, 2])
@BOUNDED
@given(case=st.data())
def test_avg_pool_matches_torch(n: int, case: st.DataObject):
    x, k, s, p, _ = case.draw(pool_case(n, dilation=False))
    kw = dict(kernel_size=k, stride=s, padding=p, ceil_mode=case.draw(st.booleans()),
              count_include_pad=case.draw(st.booleans()))
    if n == 2 and case.draw(st.booleans()):
        kw["divisor_override"] = case.draw(st.integers(1, 5))
    compare(f"avg_pool{n}d", x, **kw)


@pytest.mark.parametrize("kind", ["avg", "max"])
@pytest.mark.parametrize("n", [1, 2])
@BOUNDED
@given(data=st.data())
def test_adaptive_pools_match_torch(kind: str, n: int, data: st.DataObject):
    spatial = tuple(data.draw(st.integers(1, 7)) for _ in range(n))
    size = tuple(data.draw(st.integers(1, 7)) for _ in range(n))
    x = np.random.default_rng(data.draw(st.integers(0, 99))).normal(size=(1, 2) + spatial)
    kw = {"return_indices": data.draw(st.booleans())} if kind == "max" else {}
    compare(f"adaptive_{kind}_pool{n}d", x, output_size=size if n == 2 else size[0], **kw)


def test_pool_gradients_by_finite_differences_and_second_order():
    x = np.random.default_rng(1).normal(size=(1, 2, 5, 5))
    for f in (lambda v: F.max_pool2d(v, 3, 2, 1, ceil_mode=True),
              lambda v: F.avg_pool2d(v, 2, 2, 1, ceil_mode=True, count_include_pad=False),
              lambda v: F.adaptive_avg_pool2d(v, (3, 2)),
              lambda v: F.adaptive_max_pool2d(v, (2, 3))):
        assert gradcheck(lambda v: (f(v) ** 2).sum(), x)
        assert gradgradcheck(lambda v: (f(v) ** 2).sum(), x)


def test_modules_repr_as_torch_and_unbatched_inputs():
    for ours, theirs in [(nn.MaxPool2d(2), torch.nn.MaxPool2d(2)),
                         (nn.MaxPool1d(3, 2, 1), torch.nn.MaxPool1d(3, 2, 1)),
                         (nn.AvgPool1d(2), torch.nn.AvgPool1d(2)),
                         (nn.AvgPool2d(3, divisor_override=2), torch.nn.AvgPool2d(3, divisor_override=2)),
                         (nn.AdaptiveAvgPool2d((5, None)), torch.nn.AdaptiveAvgPool2d((5, None))),
                         (nn.AdaptiveAvgPool1d(4), torch.nn.AdaptiveAvgPool1d(4)),
                         (nn.AdaptiveMaxPool1d(3), torch.nn.AdaptiveMaxPool1d(3)),
                         (nn.AdaptiveMaxPool2d(3), torch.nn.AdaptiveMaxPool2d(3))]:
        assert repr(ours) == repr(theirs)
        assert ours.state_dict() == {}
    x = np.random.default_rng(2).normal(size=(3, 6, 6))
    assert nn.MaxPool2d(2)(x).shape == (3, 3, 3)
    out, index = nn.MaxPool2d(2, return_indices=True)(x)
    assert index.dtype == np.int64 and index.shape == (3, 3, 3)
    assert nn.AvgPool2d(2)(x).shape == (3, 3, 3)
    assert nn.AdaptiveAvgPool2d(1)(x).shape == (3, 1, 1)


def test_pool_errors():
    x = np.zeros((1, 1, 4, 4))
    with pytest.raises(ShapeError, match="max_pool2d: padding .* should be at most half of kernel"):
        F.max_pool2d(x, 2, padding=2)
    with pytest.raises(ShapeError, match=r"max_pool2d: kernel size \(5, 5\).*larger than the padded"):
        F.max_pool2d(x, 5)
    with pytest.raises(ShapeError, match=r"avg_pool1d: expected a 2-D \(unbatched\) or 3-D"):
        F.avg_pool1d(x, 2)
    with pytest.raises(ShapeError, match="adaptive_avg_pool2d: output_size must hold positive"):
        F.adaptive_avg_pool2d(x, (0, 2))
    with pytest.raises(ShapeError, match="avg_pool2d: divisor_override must be a nonzero int"):
        F.avg_pool2d(x, 2, divisor_override=0)
