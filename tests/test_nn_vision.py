"""Padding, pixel shuffling and interpolation (tinygrad_nn/nn/functional/padding.py and
vision.py; the modules of nn/padding.py, pixelshuffle.py and upsampling.py) against PyTorch in
float64: values and input gradients over drawn shapes, pad tuples (crops included), modes,
sizes, scale factors and align_corners; finite differences and second derivatives; the
modules' attributes and repr; errors."""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from tinygrad_nn import ShapeError, UnsupportedTypeError, Value, nn
from tinygrad_nn.gradcheck import gradcheck, gradgradcheck
from tinygrad_nn.nn import functional as F

torch = pytest.importorskip("torch")
TF = torch.nn.functional
BOUNDED = settings(max_examples=min(settings.default.max_examples, 25), deadline=None)


def compare(ours: Callable[[Any], Any], theirs: Callable[[Any], Any], x: np.ndarray,
            gradients: bool = True) -> None:
    """ours(x) as theirs(x), and the input gradient for a random output gradient."""
    v, t = Value(x), torch.tensor(x, requires_grad=True)
    out, ref = ours(v), theirs(t)
    assert out.shape == tuple(ref.shape)
    np.testing.assert_allclose(out.data, ref.detach().numpy(), rtol=1e-12, atol=1e-13)
    if not gradients:
        return
    seed = np.random.default_rng(1).normal(size=out.shape)
    (out * seed).sum().backward()
    (ref * torch.tensor(seed)).sum().backward()
    np.testing.assert_allclose(v.grad, t.grad.numpy(), rtol=1e-12, atol=1e-13)


def normal(shape: tuple, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=shape)


# ---- pad --------------------------------------------------------------------------------------
def _allowed(mode: str, n: int, before: int, after: int) -> bool:
    """Whether torch pads an axis of size n by (before, after) in `mode`, well-defined and
    non-empty (which torch's 1-D kernels need); constant mode crops before it pads."""
    if n + before + after < 1 or (mode == "constant" and n < max(-before, 0) + max(-after, 0)):
        return False
    if mode == "reflect":
        return max(before, after) < n
    if mode == "circular":  # at most once around what is left after cropping
        kept = n - max(-before, 0) - max(-after, 0)
        return max(before, after) <= min(n, kept)
    return True


@BOUNDED
@given(data=st.data())
def test_pad_matches_torch_in_every_mode_crops_included(data: st.DataObject):
    mode = data.draw(st.sampled_from(["constant", "reflect", "replicate", "circular"]))
    k = data.draw(st.integers(1, 3))  # axes padded
    lead = data.draw(st.integers(0 if mode == "constant" else 1, 2))
    spatial = tuple(data.draw(st.integers(1, 4)) for _ in range(k))
    widths = [data.draw(st.integers(-3, 3)) for _ in range(2 * k)]
    pairs = [(widths[2 * i], widths[2 * i + 1]) for i in range(k)]  # last axis first
    assume(all(_allowed(mode, n, b, a) for n, (b, a) in zip(reversed(spatial), pairs)))
    value = data.draw(st.sampled_from([None, 1.5])) if mode == "constant" else None
    x = normal((2,) * lead + spatial, data.draw(st.integers(0, 99)))
    compare(lambda v: F.pad(v, widths, mode, value), lambda t: TF.pad(t, widths, mode, value), x)


PAD_MODULES = ["ZeroPad1d(2)", "ZeroPad1d((1, -1))", "ZeroPad2d((1, 0, 2, -1))", "ZeroPad3d(1)",
               "ConstantPad1d(2, 3.5)", "ConstantPad2d((1, 0, 2, 3), 1)",
               "ConstantPad3d((0, 1, 1, 0, 2, 1), -2.0)", "ReflectionPad1d((2, 1))",
               "ReflectionPad2d([1, 2, 0, 2])", "ReflectionPad3d(1)", "ReplicationPad1d(3)",
               "ReplicationPad2d((1, 2, 3, -1))", "ReplicationPad3d((1, 0, 0, 1, 2, 0))",
               "CircularPad1d(2)", "CircularPad2d((1, 0, 2, 1))", "CircularPad3d(1)"]


@pytest.mark.parametrize("spec", PAD_MODULES)
def test_padding_modules_print_and_pad_as_torch(spec: str):
    ours, theirs = eval(f"nn.{spec}"), eval(f"torch.nn.{spec}")
    assert repr(ours) == repr(theirs)
    assert ours.padding == theirs.padding
    assert getattr(ours, "value", None) == getattr(theirs, "value", None)
    assert ours.parameters() == [] and ours.state_dict() == {}
    n = int(spec.split("d(")[0][-1])
    x = normal((2, 3) + (4,) * n)
    compare(ours, theirs, x)
    compare(ours, theirs, x[0])  # unbatched


def test_reflect_and_circular_pads_have_second_derivatives():
    x = normal((1, 2, 3, 4))
    for mode in ("reflect", "replicate", "circular"):
        f = lambda v: F.pad(v, (2, -1, 1, 2), mode) ** 2  # noqa: E731
        assert gradcheck(f, x)
        assert gradgradcheck(f, x)


def test_pad_errors_are_clear():
    x = np.zeros((1, 2, 3))
    with pytest.raises(ShapeError, match="smaller than its size 3"):
        F.pad(x, (3, 0), "reflect")
    with pytest.raises(ShapeError, match="at most its size 3"):
        F.pad(x, (0, 4), "circular")
    with pytest.raises(ShapeError, match="wraps around more than once"):
        F.pad(x, (-2, 2), "circular")
    with pytest.raises(ShapeError, match="even length"):
        F.pad(x, (1, 1, 1))
    with pytest.raises(ShapeError, match="has 3 axes"):
        F.pad(x, (1,) * 8)
    with pytest.raises(ShapeError, match="more than the 3 element"):
        F.pad(x, (-2, -2))
    with pytest.raises(ShapeError, match="more than the 3 element"):  # torch crops first
        F.pad(x, (2, -4))
    with pytest.raises(ShapeError, match="more than the 3 element"):
        F.pad(x, (-2, -2), "replicate")
    with pytest.raises(ShapeError, match="one or two axes before them"):  # torch's rank rules
        F.pad(np.zeros(3), (1, 1), "reflect")
    with pytest.raises(ShapeError, match="one or two axes before them"):
        F.pad(x, (1, 1) * 3, "replicate")
    with pytest.raises(ShapeError, match="takes no value"):
        F.pad(x, (1, 1), "reflect", value=2.0)
    with pytest.raises(ShapeError, match="mode must be one of"):
        F.pad(x, (1, 1), "wrap")
    with pytest.raises(ShapeError, match="sequence of ints"):
        F.pad(x, (1.5, 1))
    with pytest.raises(ShapeError, match="padding must be an int or 4 ints"):
        nn.ReflectionPad2d((1, 2))


# ---- pixel shuffle ----------------------------------------------------------------------------
@BOUNDED
@given(lead=st.lists(st.integers(1, 2), max_size=2), r=st.integers(1, 3),
       c=st.integers(1, 2), h=st.integers(1, 3), w=st.integers(1, 3), seed=st.integers(0, 99))
def test_pixel_shuffle_and_unshuffle_match_torch_and_invert(lead: list, r: int, c: int, h: int,
                                                            w: int, seed: int):
    x = normal(tuple(lead) + (c * r * r, h, w), seed)
    compare(lambda v: F.pixel_shuffle(v, r), lambda t: TF.pixel_shuffle(t, r), x)
    y = normal(tuple(lead) + (c, h * r, w * r), seed)
    compare(lambda v: F.pixel_unshuffle(v, r), lambda t: TF.pixel_unshuffle(t, r), y)
    np.testing.assert_array_equal(F.pixel_unshuffle(F.pixel_shuffle(x, r), r).data, x)


def test_pixel_shuffle_modules_and_errors():
    for spec in ("PixelShuffle(2)", "PixelUnshuffle(3)"):
        ours, theirs = eval(f"nn.{spec}"), eval(f"torch.nn.{spec}")
        assert repr(ours) == repr(theirs)
    compare(nn.PixelShuffle(2), torch.nn.PixelShuffle(2), normal((2, 8, 2, 3)))
    with pytest.raises(ShapeError, match="divide by upscale_factor² = 4"):
        F.pixel_shuffle(np.zeros((1, 6, 2, 2)), 2)
    with pytest.raises(ShapeError, match="divide by downscale_factor = 2"):
        F.pixel_unshuffle(np.zeros((1, 1, 3, 2)), 2)
    with pytest.raises(ShapeError, match=r"\(\*, C, H, W\)"):
        F.pixel_shuffle(np.zeros((4, 2)), 2)
    with pytest.raises(ShapeError, match="must be positive"):
        F.pixel_shuffle(np.zeros((1, 4, 2, 2)), 0)


# ---- interpolate ------------------------------------------------------------------------------
RANKS = {"nearest": (1, 2, 3), "nearest-exact": (1, 2, 3), "linear": (1,), "bilinear": (2,),
         "bicubic": (2,), "trilinear": (3,), "area": (1, 2)}
INTERPOLATING = ("linear", "bilinear", "bicubic", "trilinear")
# factors that hit torch's corner cases: sizes kept (1.1) or doubled (2.05) by a factor that is
# not 1 or 2, thirds (inexact in float32), plain doubling and halving
FACTORS = st.sampled_from([0.5, 1 / 3, 0.8, 1.0, 1.1, 1.5, 2.0, 2.05, 2.5, 3.0]) | \
    st.floats(0.3, 3.5)


@pytest.mark.parametrize("mode", list(RANKS))
@BOUNDED
@given(data=st.data())
def test_interpolate_matches_torch(mode: str, data: st.DataObject):
    n = data.draw(st.sampled_from(RANKS[mode]))
    spatial = tuple(data.draw(st.integers(1, 5)) for _ in range(n))
    kw: dict = {"mode": mode}
    if mode in INTERPOLATING:
        kw["align_corners"] = data.draw(st.sampled_from([None, False, True]))
    if data.draw(st.booleans()):
        size = [data.draw(st.integers(1, 7)) for _ in range(n)]
        kw["size"] = size[0] if n == 1 or data.draw(st.booleans()) else tuple(size)
    else:
        factors = [data.draw(FACTORS) for _ in range(n)]
        if n == 1 or data.draw(st.booleans()):
            factors = factors[:1] * n
        assume(all(int(m * f) >= 1 for m, f in zip(spatial, factors)))
        kw["scale_factor"] = factors[0] if len(set(factors)) == 1 else tuple(factors)
        kw["recompute_scale_factor"] = data.draw(st.sampled_from([None, False, True]))
    x = normal((data.draw(st.integers(1, 2)), 2) + spatial, data.draw(st.integers(0, 99)))
    out = F.interpolate(x, **kw)
    # Torch's backward copies the gradient of an axis whose size is kept (and halves the
    # positions of one whose size doubles), whatever the scale factor, where its forward
    # samples by that factor: in bicubic when no size changes, and in 1-D and 3-D nearest
    # (torch's own gradcheck fails there). Ours is the forward's adjoint: finite differences
    # check it instead.
    factors = kw.get("scale_factor", 1.0)
    factors = factors if isinstance(factors, tuple) else (factors,) * n
    moved = "scale_factor" in kw and not kw["recompute_scale_factor"]
    torch_wrong = moved and (
        (mode == "bicubic" and out.shape == x.shape and factors != (1.0,) * n) or
        (mode == "nearest" and n != 2 and any(
            (b == a and f != 1) or (b == 2 * a and f != 2)
            for a, b, f in zip(spatial, out.shape[2:], factors))))
    compare(lambda v: F.interpolate(v, **kw), lambda t: TF.interpolate(t, **kw), x,
            gradients=not torch_wrong)
    if torch_wrong:
        assert gradcheck(lambda v: F.interpolate(v, **kw), x)


@pytest.mark.parametrize("kw", [
    dict(size=5, mode="linear", align_corners=False), dict(scale_factor=1.7, mode="linear"),
    dict(size=(3, 5), mode="bilinear", align_corners=True), dict(size=(4, 2), mode="bicubic"),
    dict(scale_factor=(1.5, 0.7, 2.0), mode="trilinear"), dict(size=(5, 3), mode="nearest")])
def test_interpolate_has_first_and_second_derivatives(kw: dict):
    x = normal((1, 1) + {"linear": (4,), "trilinear": (2, 3, 2)}.get(kw["mode"], (3, 4)))
    f = lambda v: F.interpolate(v, **kw) ** 2  # noqa: E731
    assert gradcheck(f, x)
    assert gradgradcheck(f, x)


def test_interpolate_keeps_float32_and_passes_values_through():
    x = normal((1, 2, 3, 4)).astype(np.float32)
    out = F.interpolate(x, scale_factor=1.5, mode="bilinear")
    assert out.dtype == np.float32
    ref = TF.interpolate(torch.tensor(x), scale_factor=1.5, mode="bilinear")
    np.testing.assert_allclose(out.data, ref.numpy(), rtol=1e-6, atol=1e-6)
    y = F.interpolate(x, scale_factor=1.3, mode="nearest")
    np.testing.assert_array_equal(y.data, TF.interpolate(torch.tensor(x), scale_factor=1.3).numpy())


def test_interpolate_errors_are_clear():
    x = np.zeros((1, 2, 4, 4))
    with pytest.raises(ShapeError, match="only one of size and scale_factor"):
        F.interpolate(x, size=3, scale_factor=2)
    with pytest.raises(ShapeError, match="either size or scale_factor"):
        F.interpolate(x)
    with pytest.raises(ShapeError, match="needs a 3-D input"):
        F.interpolate(x, size=3, mode="linear")
    with pytest.raises(ShapeError, match="3-D, 4-D or 5-D"):
        F.interpolate(np.zeros((2, 4)), size=3)
    with pytest.raises(ShapeError, match="align_corners can only be set"):
        F.interpolate(x, size=3, align_corners=True)
    with pytest.raises(ShapeError, match="mode must be one of"):
        F.interpolate(x, size=3, mode="cubic")
    with pytest.raises(ShapeError, match="size must be an int or 2 ints"):
        F.interpolate(x, size=(1, 2, 3))
    with pytest.raises(ShapeError, match="2 numbers"):
        F.interpolate(x, scale_factor=(1.0, 2.0, 3.0))
    with pytest.raises(ShapeError, match="must be positive"):
        F.interpolate(x, scale_factor=0.2)
    with pytest.raises(ShapeError, match="not meaningful with an explicit size"):
        F.interpolate(x, size=3, recompute_scale_factor=True)
    with pytest.raises(UnsupportedTypeError, match="antialias"):
        F.interpolate(x, size=3, mode="bilinear", antialias=True)
    with pytest.raises(UnsupportedTypeError, match="'area' is not supported for 3-D"):
        F.interpolate(np.zeros((1, 1, 2, 2, 2)), size=1, mode="area")


UPSAMPLE_MODULES = ["Upsample(scale_factor=2)", "Upsample(size=(3, 5), mode='bilinear')",
                    "Upsample(scale_factor=(1.5, 2), mode='bicubic', align_corners=True)",
                    "Upsample(size=7, mode='nearest-exact')",
                    "Upsample(scale_factor=1.5, mode='bilinear', recompute_scale_factor=True)",
                    "UpsamplingNearest2d(scale_factor=3)", "UpsamplingBilinear2d(size=(5, 4))",
                    "UpsamplingBilinear2d(scale_factor=2.5)"]


@pytest.mark.parametrize("spec", UPSAMPLE_MODULES)
def test_upsampling_modules_hold_print_and_resize_as_torch(spec: str):
    ours, theirs = eval(f"nn.{spec}"), eval(f"torch.nn.{spec}")
    assert repr(ours) == repr(theirs)
    for name in ("size", "scale_factor", "mode", "align_corners", "recompute_scale_factor"):
        assert getattr(ours, name) == getattr(theirs, name)
    compare(ours, theirs, normal((2, 2, 3, 4)))
