"""Normalisation layers (tinygrad_nn.nn.normalization and nn.functional.normalization) against
PyTorch float64: values, gradients of the input, weight and bias, running statistics; finite
differences for first and second derivatives; state_dict; errors."""

from __future__ import annotations

from typing import Any, Callable, List, Optional, Sequence

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import tinygrad_nn as tg
from tinygrad_nn import nn
from tinygrad_nn.errors import ShapeError, UnsupportedTypeError
from tinygrad_nn.gradcheck import gradcheck, gradgradcheck
from tinygrad_nn.nn import functional as F

torch = pytest.importorskip("torch")
TF = torch.nn.functional

BOUNDED = settings(max_examples=min(settings.default.max_examples, 25))
TOL = dict(rtol=1e-9, atol=1e-10)


def _data(rng: np.random.Generator, shape: Sequence[int], offset: float = 0.0) -> np.ndarray:
    """Normal data with a per-call offset and scale, so that the normalisation does something."""
    return rng.standard_normal(tuple(shape)) * rng.uniform(0.5, 3.0) + offset


def _against_torch(ours: Callable[..., Any], theirs: Callable[..., Any],
                   inputs: List[Optional[np.ndarray]], rng: np.random.Generator) -> None:
    """Run both on the same inputs (None passes through), backpropagate the same random
    cotangent, and compare the outputs and the gradient of every array input."""
    values = [None if a is None else tg.Value(a) for a in inputs]
    tensors = [None if a is None else torch.tensor(a, requires_grad=True) for a in inputs]
    out = ours(*values)
    expected = theirs(*tensors)
    np.testing.assert_allclose(out.data, expected.detach().numpy(), **TOL)
    cotangent = rng.standard_normal(out.shape)
    out.backward(cotangent)
    expected.backward(torch.tensor(cotangent))
    for k, (v, t) in enumerate(zip(values, tensors)):
        if v is not None:
            np.testing.assert_allclose(v.grad, t.grad.numpy(), err_msg=f"gradient of input {k}",
                                       **TOL)


channel_shapes = st.tuples(st.integers(1, 4), st.integers(1, 4),
                           st.lists(st.integers(1, 3), max_size=3)).map(
    lambda t: (t[0], t[1], *t[2]))


# ---- functions against torch -------------------------------------------------------------------
@BOUNDED
@given(shape=channel_shapes, training=st.booleans(), affine=st.booleans(),
       momentum=st.floats(0.0, 1.0), seed=st.integers(0, 2**16))
def test_batch_norm_matches_torch(shape: tuple, training: bool, affine: bool, momentum: float,
                                  seed: int) -> None:
    if training and np.prod(shape) // shape[1] <= 1:
        return  # one value per channel: an error, tested below
    rng = np.random.default_rng(seed)
    c = shape[1]
    x = _data(rng, shape, rng.uniform(-5, 5))
    w, b = (rng.standard_normal(c), rng.standard_normal(c)) if affine else (None, None)
    mean, var = rng.standard_normal(c), rng.uniform(0.5, 2.0, c)
    ours_stats, torch_stats = [mean.copy(), var.copy()], [torch.tensor(mean), torch.tensor(var)]
    _against_torch(lambda x, w, b: F.batch_norm(x, *ours_stats, w, b, training, momentum),
                   lambda x, w, b: TF.batch_norm(x, *torch_stats, w, b, training, momentum),
                   [x, w, b], rng)
    for ours, theirs in zip(ours_stats, torch_stats):
        np.testing.assert_allclose(ours, theirs.numpy(), **TOL)


@BOUNDED
@given(shape=channel_shapes, seed=st.integers(0, 2**16))
def test_batch_norm_without_running_statistics(shape: tuple, seed: int) -> None:
    if np.prod(shape) // shape[1] <= 1:
        return
    rng = np.random.default_rng(seed)
    _against_torch(lambda x: F.batch_norm(x, None, None, training=True),
                   lambda x: TF.batch_norm(x, None, None, training=True),
                   [_data(rng, shape)], rng)


@BOUNDED
@given(shape=channel_shapes, use_input_stats=st.booleans(), affine=st.booleans(),
       seed=st.integers(0, 2**16))
def test_instance_norm_matches_torch(shape: tuple, use_input_stats: bool, affine: bool,
                                     seed: int) -> None:
    if len(shape) < 3 or (use_input_stats and np.prod(shape[2:]) <= 1):
        return
    rng = np.random.default_rng(seed)
    c = shape[1]
    w, b = (rng.standard_normal(c), rng.standard_normal(c)) if affine else (None, None)
    mean, var = rng.standard_normal(c), rng.uniform(0.5, 2.0, c)
    ours_stats, torch_stats = [mean.copy(), var.copy()], [torch.tensor(mean), torch.tensor(var)]
    _against_torch(lambda x, w, b: F.instance_norm(x, *ours_stats, w, b, use_input_stats, 0.3),
                   lambda x, w, b: TF.instance_norm(x, *torch_stats, w, b, use_input_stats, 0.3),
                   [_data(rng, shape, 1.0), w, b], rng)
    for ours, theirs in zip(ours_stats, torch_stats):
        np.testing.assert_allclose(ours, theirs.numpy(), **TOL)


@BOUNDED
@given(shape=st.lists(st.integers(1, 4), min_size=1, max_size=4), data=st.data(),
       affine=st.booleans(), eps=st.sampled_from([1e-5, 1e-3, 0.1]))
def test_layer_norm_matches_torch(shape: list, data: Any, affine: bool, eps: float) -> None:
    k = data.draw(st.integers(1, len(shape)), label="normalised dims")
    normalized = tuple(shape[len(shape) - k:])
    rng = np.random.default_rng(data.draw(st.integers(0, 2**16), label="seed"))
    w, b = (rng.standard_normal(normalized), rng.standard_normal(normalized)) if affine \
        else (None, None)
    _against_torch(lambda x, w, b: F.layer_norm(x, normalized, w, b, eps),
                   lambda x, w, b: TF.layer_norm(x, normalized, w, b, eps),
                   [_data(rng, shape, 2.0), w, b], rng)


@BOUNDED
@given(n=st.integers(1, 3), groups=st.integers(1, 3), per_group=st.integers(1, 3),
       spatial=st.lists(st.integers(1, 3), max_size=2), affine=st.booleans(),
       seed=st.integers(0, 2**16))
def test_group_norm_matches_torch(n: int, groups: int, per_group: int, spatial: list,
                                  affine: bool, seed: int) -> None:
    if n * per_group * np.prod(spatial) == 1:
        return  # torch's batch-size check rejects this; see group_norm's docstring
    rng = np.random.default_rng(seed)
    c = groups * per_group
    w, b = (rng.standard_normal(c), rng.standard_normal(c)) if affine else (None, None)
    _against_torch(lambda x, w, b: F.group_norm(x, groups, w, b),
                   lambda x, w, b: TF.group_norm(x, groups, w, b),
                   [_data(rng, (n, c, *spatial), -1.0), w, b], rng)


@BOUNDED
@given(shape=channel_shapes, p=st.sampled_from([1.0, 2.0, 3.0]), data=st.data())
def test_normalize_matches_torch(shape: tuple, p: float, data: Any) -> None:
    dim = data.draw(st.integers(-len(shape), len(shape) - 1), label="dim")
    rng = np.random.default_rng(data.draw(st.integers(0, 2**16), label="seed"))
    _against_torch(lambda x: F.normalize(x, p, dim), lambda x: TF.normalize(x, p, dim),
                   [_data(rng, shape)], rng)


def test_normalize_of_a_zero_vector_matches_torch() -> None:
    x = np.zeros((2, 3))
    x[1] = [1.0, -2.0, 0.5]
    _against_torch(F.normalize, TF.normalize, [x], np.random.default_rng(0))


@BOUNDED
@given(shape=channel_shapes, size=st.integers(1, 5), seed=st.integers(0, 2**16))
def test_local_response_norm_matches_torch(shape: tuple, size: int, seed: int) -> None:
    if len(shape) < 3:
        return
    rng = np.random.default_rng(seed)
    _against_torch(lambda x: F.local_response_norm(x, size, alpha=0.5, beta=0.75, k=1.5),
                   lambda x: TF.local_response_norm(x, size, alpha=0.5, beta=0.75, k=1.5),
                   [_data(rng, shape)], rng)


# ---- modules against torch, over several steps ---------------------------------------------------
def _same_module_outputs(ours: nn.Module, theirs: Any, shape: tuple, rng: np.random.Generator,
                         steps: int = 3) -> None:
    """Train-mode steps then an eval step, comparing outputs, parameter gradients and buffers."""
    for step in range(steps + 1):
        if step == steps:
            ours.eval()
            theirs.eval()
        x = _data(rng, shape, rng.uniform(-3, 3))
        params = dict(ours.named_parameters())
        _against_torch(lambda x: ours(x), lambda x: theirs(x), [x], rng)
        for name, t in theirs.named_parameters():
            np.testing.assert_allclose(params[name].grad, t.grad.numpy(),
                                       err_msg=f"step {step}: {name}.grad", **TOL)
        state = ours.state_dict()
        expected = {k: v.numpy() for k, v in theirs.state_dict().items()}
        assert state.keys() == expected.keys()
        for key in expected:
            np.testing.assert_allclose(state[key], expected[key], err_msg=f"step {step}: {key}",
                                       **TOL)
            assert state[key].dtype == expected[key].dtype, key


@BOUNDED
@given(kind=st.sampled_from(["1d-2", "1d-3", "2d", "3d"]), c=st.integers(1, 3),
       momentum=st.sampled_from([0.1, 0.5, None]), affine=st.booleans(),
       track=st.booleans(), seed=st.integers(0, 2**16))
def test_batch_norm_modules_match_torch(kind: str, c: int, momentum: Optional[float],
                                        affine: bool, track: bool, seed: int) -> None:
    rng = np.random.default_rng(seed)
    spatial = {"1d-2": (), "1d-3": (3,), "2d": (2, 3), "3d": (2, 1, 2)}[kind]
    name = "BatchNorm" + kind[:2]
    ours = getattr(nn, name)(c, momentum=momentum, affine=affine, track_running_stats=track)
    theirs = getattr(torch.nn, name)(c, momentum=momentum, affine=affine,
                                     track_running_stats=track, dtype=torch.float64)
    _same_module_outputs(ours, theirs, (int(rng.integers(2, 4)), c, *spatial), rng)
    if track:
        assert int(ours.num_batches_tracked) == 3


@BOUNDED
@given(kind=st.sampled_from(["1d", "2d", "3d"]), c=st.integers(1, 3), affine=st.booleans(),
       track=st.booleans(), unbatched=st.booleans(), seed=st.integers(0, 2**16))
def test_instance_norm_modules_match_torch(kind: str, c: int, affine: bool, track: bool,
                                           unbatched: bool, seed: int) -> None:
    rng = np.random.default_rng(seed)
    spatial = {"1d": (3,), "2d": (2, 3), "3d": (2, 1, 2)}[kind]
    name = "InstanceNorm" + kind
    ours = getattr(nn, name)(c, affine=affine, track_running_stats=track, momentum=0.2)
    theirs = getattr(torch.nn, name)(c, affine=affine, track_running_stats=track, momentum=0.2,
                                     dtype=torch.float64)
    batch = () if unbatched else (2,)
    _same_module_outputs(ours, theirs, (*batch, c, *spatial), rng)
    if track:  # as torch: the instance norms keep the count at 0
        assert int(ours.num_batches_tracked) == 0


@BOUNDED
@given(shape=st.lists(st.integers(1, 3), min_size=2, max_size=4), affine=st.booleans(),
       bias=st.booleans(), seed=st.integers(0, 2**16))
def test_layer_norm_module_matches_torch(shape: list, affine: bool, bias: bool,
                                         seed: int) -> None:
    rng = np.random.default_rng(seed)
    normalized = tuple(shape[1:])
    ours = nn.LayerNorm(normalized, elementwise_affine=affine, bias=bias)
    theirs = torch.nn.LayerNorm(normalized, elementwise_affine=affine, bias=bias,
                                dtype=torch.float64)
    with torch.no_grad():
        for p in theirs.parameters():
            p.copy_(torch.tensor(rng.standard_normal(tuple(p.shape))))
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    _same_module_outputs(ours, theirs, tuple(shape), rng, steps=1)


@BOUNDED
@given(groups=st.integers(1, 3), per_group=st.integers(1, 2), affine=st.booleans(),
       seed=st.integers(0, 2**16))
def test_group_norm_module_matches_torch(groups: int, per_group: int, affine: bool,
                                         seed: int) -> None:
    rng = np.random.default_rng(seed)
    c = groups * per_group
    ours = nn.GroupNorm(groups, c, affine=affine)
    theirs = torch.nn.GroupNorm(groups, c, affine=affine, dtype=torch.float64)
    with torch.no_grad():
        for p in theirs.parameters():
            p.copy_(torch.tensor(rng.standard_normal(tuple(p.shape))))
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    _same_module_outputs(ours, theirs, (2, c, 3), rng, steps=1)


def test_local_response_norm_module_matches_torch() -> None:
    rng = np.random.default_rng(1)
    _same_module_outputs(nn.LocalResponseNorm(3, alpha=0.3), torch.nn.LocalResponseNorm(3, 0.3),
                         (2, 5, 4), rng, steps=1)


def test_momentum_none_is_the_cumulative_average() -> None:
    rng = np.random.default_rng(2)
    bn = nn.BatchNorm1d(2, momentum=None)
    batches = [_data(rng, (4, 2), 3.0) for _ in range(5)]
    for x in batches:
        bn(x)
    np.testing.assert_allclose(bn.running_mean, np.mean([x.mean(0) for x in batches], axis=0))
    np.testing.assert_allclose(bn.running_var,
                               np.mean([x.var(0, ddof=1) for x in batches], axis=0))
    assert bn.num_batches_tracked.dtype == np.int64 and int(bn.num_batches_tracked) == 5


def test_eval_uses_the_running_statistics_and_changes_nothing() -> None:
    bn = nn.BatchNorm2d(2)
    bn.running_mean[:] = [1.0, -1.0]
    bn.running_var[:] = [4.0, 0.25]
    bn.eval()
    x = np.random.default_rng(3).standard_normal((2, 2, 3, 3))
    expected = (x - bn.running_mean[:, None, None]) / np.sqrt(bn.running_var[:, None, None] + 1e-5)
    np.testing.assert_allclose(bn(x).data, expected, **TOL)
    assert int(bn.num_batches_tracked) == 0 and list(bn.running_mean) == [1.0, -1.0]


# ---- finite differences: first and second derivatives --------------------------------------------
GRAD_CASES = {
    "batch_norm": (lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True),
                   (3, 2, 2), 2),
    "batch_norm eval": (lambda x, w, b: F.batch_norm(x, np.array([0.5, -1.0]),
                                                     np.array([2.0, 0.5]), w, b), (3, 2, 2), 2),
    "instance_norm": (lambda x, w, b: F.instance_norm(x, weight=w, bias=b), (2, 2, 3), 2),
    "layer_norm": (lambda x, w, b: F.layer_norm(x, (2, 2), w, b), (3, 2, 2), (2, 2)),
    "group_norm": (lambda x, w, b: F.group_norm(x, 2, w, b), (2, 4, 2), 4),
}


@pytest.mark.parametrize("case", sorted(GRAD_CASES))
def test_first_and_second_derivatives(case: str) -> None:
    f, shape, param = GRAD_CASES[case]
    rng = np.random.default_rng(4)
    inputs = (_data(rng, shape, 1.0), rng.standard_normal(param), rng.standard_normal(param))
    assert gradcheck(f, *inputs)
    assert gradgradcheck(f, *inputs, atol=1e-4)


def test_second_derivative_through_a_model_matches_torch() -> None:
    """The gradient of a gradient norm (a double-backward penalty) through BatchNorm training."""
    rng = np.random.default_rng(5)
    x, w = _data(rng, (4, 3), 1.0), rng.standard_normal(3)
    xv, wv = tg.Value(x), tg.Value(w)
    (gx,) = tg.grad([(F.batch_norm(xv, None, None, wv, training=True) ** 3).sum()], [xv],
                    create_graph=True)
    (gx * gx).sum().backward()
    xt, wt = torch.tensor(x, requires_grad=True), torch.tensor(w, requires_grad=True)
    (gxt,) = torch.autograd.grad((TF.batch_norm(xt, None, None, wt, training=True) ** 3).sum(),
                                 xt, create_graph=True)
    (gxt * gxt).sum().backward()
    np.testing.assert_allclose(xv.grad, xt.grad.numpy(), **TOL)
    np.testing.assert_allclose(wv.grad, wt.grad.numpy(), **TOL)


def test_float32_input_keeps_float32() -> None:
    x = np.random.default_rng(6).standard_normal((4, 3)).astype(np.float32)
    bn = nn.BatchNorm1d(3, dtype=np.float32)
    out = bn(x)
    assert out.data.dtype == np.float32 and bn.running_mean.dtype == np.float32
    np.testing.assert_allclose(out.data, (x - x.mean(0)) / np.sqrt(x.var(0) + 1e-5), rtol=1e-5,
                               atol=1e-5)


# ---- state ---------------------------------------------------------------------------------------
def test_state_dict_round_trip_includes_buffers() -> None:
    rng = np.random.default_rng(7)
    model = nn.Sequential(nn.BatchNorm1d(3), nn.LayerNorm(3), nn.GroupNorm(1, 3))
    for _ in range(2):
        model(_data(rng, (5, 3), 2.0))
    state = model.state_dict()
    assert set(state) == {"0.weight", "0.bias", "0.running_mean", "0.running_var",
                          "0.num_batches_tracked", "1.weight", "1.bias", "2.weight", "2.bias"}
    copy = nn.Sequential(nn.BatchNorm1d(3), nn.LayerNorm(3), nn.GroupNorm(1, 3))
    copy.load_state_dict(state)
    assert int(copy[0].num_batches_tracked) == 2
    x = _data(rng, (4, 3))
    model.eval()
    copy.eval()
    np.testing.assert_array_equal(model(x).data, copy(x).data)


def test_loading_a_torch_state_dict_gives_torch_outputs() -> None:
    rng = np.random.default_rng(8)
    theirs = torch.nn.BatchNorm2d(3, dtype=torch.float64)
    with torch.no_grad():
        theirs.weight.copy_(torch.tensor(rng.standard_normal(3)))
        theirs.bias.copy_(torch.tensor(rng.standard_normal(3)))
    for _ in range(3):
        theirs(torch.tensor(_data(rng, (2, 3, 2, 2), 1.0)))
    ours = nn.BatchNorm2d(3)
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    x = _data(rng, (2, 3, 2, 2))
    for mode in ("eval", "train"):
        getattr(ours, mode)()
        getattr(theirs, mode)()
        np.testing.assert_allclose(ours(x).data, theirs(torch.tensor(x)).detach().numpy(), **TOL)
    np.testing.assert_allclose(ours.running_mean, theirs.running_mean.numpy(), **TOL)
    assert int(ours.num_batches_tracked) == int(theirs.num_batches_tracked) == 4


def test_untracked_statistics_are_not_in_the_state() -> None:
    bn = nn.BatchNorm1d(2, affine=False, track_running_stats=False)
    assert bn.state_dict() == {} and bn.parameters() == []
    x = np.random.default_rng(9).standard_normal((3, 2))
    np.testing.assert_allclose(bn.eval()(x).data, (x - x.mean(0)) / np.sqrt(x.var(0) + 1e-5),
                               **TOL)


def test_reset_running_stats() -> None:
    bn = nn.BatchNorm1d(2)
    bn(np.random.default_rng(10).standard_normal((3, 2)) + 5)
    bn.reset_running_stats()
    assert list(bn.running_mean) == [0, 0] and list(bn.running_var) == [1, 1]
    assert int(bn.num_batches_tracked) == 0


@pytest.mark.parametrize("make", [
    lambda m: m.BatchNorm1d(3), lambda m: m.BatchNorm2d(4, eps=1e-3, momentum=None),
    lambda m: m.BatchNorm3d(2, affine=False, track_running_stats=False),
    lambda m: m.InstanceNorm2d(3), lambda m: m.InstanceNorm1d(3, affine=True),
    lambda m: m.LayerNorm(4), lambda m: m.LayerNorm((2, 3), bias=False),
    lambda m: m.LayerNorm(3, elementwise_affine=False), lambda m: m.GroupNorm(2, 4),
    lambda m: m.GroupNorm(1, 3, affine=False), lambda m: m.LocalResponseNorm(2),
])
def test_repr_and_parameters_match_torch(make: Callable[[Any], Any]) -> None:
    ours, theirs = make(nn), make(torch.nn)
    assert repr(ours) == repr(theirs)
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    for name, t in theirs.state_dict().items():
        np.testing.assert_array_equal(ours.state_dict()[name], t.numpy())
    assert set(ours.state_dict()) == set(theirs.state_dict())


# ---- errors --------------------------------------------------------------------------------------
@pytest.mark.parametrize("call, message", [
    (lambda: nn.BatchNorm1d(3)(np.zeros((2, 3, 4, 5))), "expected 2D or 3D input"),
    (lambda: nn.BatchNorm2d(3)(np.zeros((2, 3, 4))), "expected 4D input"),
    (lambda: nn.BatchNorm2d(3)(np.zeros((2, 4, 2, 2))),
     r"running_mean should have shape \(4,\).*got shape \(3,\)"),
    (lambda: nn.BatchNorm1d(3)(np.zeros((1, 3))), "more than 1 value per channel"),
    (lambda: F.batch_norm(np.zeros((2, 3)), None, None, np.ones(4)), "weight should have"),
    (lambda: F.batch_norm(np.zeros(3), None, None, training=True), "at least 2-D"),
    (lambda: nn.GroupNorm(2, 3), "divisible by num_groups"),
    (lambda: F.group_norm(np.zeros((2, 3, 4)), 2), "divisible by num_groups=2"),
    (lambda: nn.GroupNorm(2, 4)(np.zeros((2, 6, 3))), r"expected input \(N, 4, \*\)"),
    (lambda: F.layer_norm(np.zeros((3, 5)), 4), r"normalized_shape=\(4,\)"),
    (lambda: nn.LayerNorm((2, 3))(np.zeros((3, 2))), r"got input shape \(3, 2\)"),
    (lambda: F.layer_norm(np.zeros((3, 4)), 4, weight=np.ones(3)), "weight should have"),
    (lambda: nn.InstanceNorm2d(3, affine=True)(np.zeros((2, 4, 3, 3))), "3 channels"),
    (lambda: nn.InstanceNorm1d(3)(np.zeros((2, 3, 1))), "more than 1 spatial element"),
    (lambda: F.local_response_norm(np.zeros((2, 3)), 2), "3 or more dimensions"),
])
def test_shape_errors(call: Callable[[], Any], message: str) -> None:
    with pytest.raises(ShapeError, match=message):
        call()


def test_type_errors() -> None:
    with pytest.raises(UnsupportedTypeError, match="evaluation mode"):
        F.batch_norm(np.zeros((2, 3)), None, None)
    with pytest.raises(UnsupportedTypeError, match="momentum must be a number"):
        F.batch_norm(np.zeros((2, 3)), np.zeros(3), np.ones(3), training=True, momentum=None)
    with pytest.raises(UnsupportedTypeError, match="updated in place"):
        F.batch_norm(np.zeros((2, 3)), [0.0, 0.0, 0.0], np.ones(3), training=True)


def test_errors_leave_the_running_statistics_alone() -> None:
    bn = nn.BatchNorm1d(3)
    with pytest.raises(ShapeError):
        bn(np.ones((1, 3)))
    assert int(bn.num_batches_tracked) == 0 and list(bn.running_mean) == [0, 0, 0]
