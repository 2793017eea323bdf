"""Distances (cosine_similarity, pairwise_distance, pdist), rms_norm / RMSNorm, the 3-D pools and
the ranking, embedding, likelihood and margin losses against PyTorch float64: values and the
gradients with respect to every input torch differentiates (targets and variances included),
over drawn shapes and settings; their modules (torch's repr, state and outputs); finite
differences and second derivatives; errors for bad arguments."""

from __future__ import annotations

import warnings
from typing import Any, Callable, Sequence

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from tinygrad_nn import DomainError, ShapeError, Value, nn
from tinygrad_nn.errors import InvalidIndexError
from tinygrad_nn.gradcheck import gradcheck, gradgradcheck
from tinygrad_nn.nn import functional as F

torch = pytest.importorskip("torch")
TF = torch.nn.functional

FEW = settings(max_examples=min(settings().max_examples, 25), deadline=None)
REDUCTIONS = ["mean", "sum", "none"]


def against_torch(ours: Callable[..., Any], theirs: Callable[..., Any], args: Sequence[Any],
                  grads: Sequence[int], seed: int = 0, rtol: float = 1e-10, **kw: Any) -> None:
    """`ours` on Values (arrays at the positions not in `grads`) and `theirs` on float64 tensors
    (integer arrays as long tensors): the same values and shape, and the same gradients of the
    output projected on a random cotangent (so 'none' is checked element by element)."""
    mine = [Value(np.array(a, dtype=float)) if i in grads else a for i, a in enumerate(args)]
    tens = [torch.tensor(a, requires_grad=i in grads) for i, a in enumerate(args)]
    out = ours(*mine, **kw)
    ref = theirs(*tens, **kw)
    assert np.shape(out.data) == tuple(ref.shape)
    np.testing.assert_allclose(out.data, ref.detach().numpy(), rtol=rtol, atol=1e-12)
    if not grads:
        return
    cot = np.random.default_rng(seed).standard_normal(tuple(ref.shape))
    (out * cot).sum().backward()
    expected = torch.autograd.grad((ref * torch.tensor(cot)).sum(), [tens[i] for i in grads],
                                   allow_unused=True)
    for i, g in zip(grads, expected):
        want = np.zeros(np.shape(args[i])) if g is None else g.numpy()
        np.testing.assert_allclose(mine[i].grad, want, rtol=1e-8, atol=1e-10,
                                   err_msg=f"gradient with respect to argument {i}")


def normal(seed: int, shape: Sequence[int], scale: float = 1.0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(tuple(shape)) * scale


seeds = st.integers(0, 2 ** 32 - 1)


@st.composite
def broadcast_pair(draw: Any, min_rank: int = 1, max_rank: int = 3) -> tuple:
    """Two shapes of the same rank that broadcast: each axis full in both or 1 in one."""
    full = draw(st.lists(st.integers(1, 4), min_size=min_rank, max_size=max_rank))
    a, b = [], []
    for n in full:
        which = draw(st.sampled_from(["both", "a1", "b1"]))
        a.append(1 if which == "a1" else n)
        b.append(1 if which == "b1" else n)
    return tuple(a), tuple(b)


# ---- distances -----------------------------------------------------------------------------------
@FEW
@given(broadcast_pair(), st.data(), seeds, st.sampled_from([1e-8, 0.3]))
def test_cosine_similarity_matches_torch_short_vectors_included(shapes: tuple, data: Any,
                                                                seed: int, eps: float) -> None:
    a, b = normal(seed, shapes[0]), normal(seed + 1, shapes[1])
    dim = data.draw(st.integers(-len(a.shape), len(a.shape) - 1))
    if data.draw(st.booleans()):  # a zero vector and a short one (below eps when it is 0.3)
        np.moveaxis(a, dim, 0)[0] = 0.0
        np.moveaxis(b, dim, 0)[-1] *= 0.01
    against_torch(F.cosine_similarity, TF.cosine_similarity, [a, b], (0, 1), seed, dim=dim,
                  eps=eps)


@FEW
@given(st.integers(1, 4), st.sampled_from([(0, 1), (1, 0), (1, 1)]), st.booleans(), seeds,
       st.sampled_from([0.0, 1.0, 1.5, 2.0, 3.0, np.inf]), st.sampled_from([1e-6, 0.1]))
def test_pairwise_distance_matches_torch(d: int, ranks: tuple, keepdim: bool, seed: int,
                                         p: float, eps: float) -> None:
    n = 3
    a = normal(seed, (n, d)[1 - ranks[0]:])
    b = normal(seed + 1, (n, d)[1 - ranks[1]:])
    against_torch(F.pairwise_distance, TF.pairwise_distance, [a, b], (0, 1), seed, p=p, eps=eps,
                  keepdim=keepdim)


@FEW
@given(st.integers(1, 5), st.integers(1, 3), seeds, st.booleans(),
       st.sampled_from([0.0, 1.0, 2.0, 3.0, np.inf]))
def test_pdist_matches_torch_repeated_rows_included(n: int, m: int, seed: int, repeat: bool,
                                                    p: float) -> None:
    x = normal(seed, (n, m))
    if repeat and n > 2:
        x[2] = x[0]  # a distance 0: torch's gradient there is 0
    against_torch(F.pdist, TF.pdist, [x], (0,), seed, p=p)


def test_distance_modules_as_torch() -> None:
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    for spec in ["CosineSimilarity()", "CosineSimilarity(dim=0, eps=1e-3)", "PairwiseDistance()",
                 "PairwiseDistance(p=1.0, eps=0.5, keepdim=True)"]:
        ours, theirs = eval(f"nn.{spec}"), eval(f"torch.nn.{spec}")
        assert repr(ours) == repr(theirs)
        np.testing.assert_allclose(ours(a, b).data,
                                   theirs(torch.tensor(a), torch.tensor(b)).numpy(), rtol=1e-12)
        assert ours.parameters() == [] and ours.state_dict() == {}


# ---- rms_norm ------------------------------------------------------------------------------------
@FEW
@given(st.lists(st.integers(1, 4), min_size=1, max_size=4), st.data(), seeds,
       st.sampled_from([None, 1e-5, 0.5]), st.booleans())
def test_rms_norm_matches_torch(shape: list, data: Any, seed: int, eps: Any,
                                weighted: bool) -> None:
    k = data.draw(st.integers(1, len(shape)))
    trailing = tuple(shape[len(shape) - k:])
    x = normal(seed, shape)
    if data.draw(st.booleans()):
        x[...] = 1e-9 * np.sign(x)  # mean square far below float64's epsilon: eps decides
    args = [x] + ([normal(seed + 1, trailing)] if weighted else [])
    against_torch(lambda *a, **kw: F.rms_norm(a[0], trailing, *a[1:], **kw),
                  lambda *a, **kw: TF.rms_norm(a[0], trailing, *a[1:], **kw), args,
                  (0, 1) if weighted else (0,), seed, eps=eps)


def test_rms_norm_default_eps_is_the_dtype_epsilon() -> None:
    x = np.array([[1e-4, -2e-4, 0.0]], dtype=np.float32)
    out = F.rms_norm(x, 3)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out.data, TF.rms_norm(torch.tensor(x), (3,)).numpy(), rtol=1e-6)


@pytest.mark.parametrize("spec", ["RMSNorm(4)", "RMSNorm([2, 4], eps=1e-5)",
                                  "RMSNorm((4,), elementwise_affine=False)"])
def test_rms_norm_module_as_torch(spec: str) -> None:
    ours, theirs = eval(f"nn.{spec}"), eval(f"torch.nn.{spec}").double()
    assert repr(ours) == repr(theirs)
    state = {k: v.detach().numpy() for k, v in theirs.state_dict().items()}
    assert list(ours.state_dict()) == list(state)
    rng = np.random.default_rng(1)
    state = {k: rng.uniform(0.5, 2.0, v.shape) for k, v in state.items()}
    ours.load_state_dict(state)
    theirs.load_state_dict({k: torch.tensor(v) for k, v in state.items()})
    x = rng.standard_normal((3, 2, 4))
    np.testing.assert_allclose(ours(x).data, theirs(torch.tensor(x)).detach().numpy(),
                               rtol=1e-12)


# ---- 3-D pooling ---------------------------------------------------------------------------------
@st.composite
def pool3d_case(draw: Any, dilation: bool) -> tuple:
    """An input (C, D, H, W) or (1, C, D, H, W), ties likely, and torch's pooling settings."""
    k = tuple(draw(st.integers(1, 2)) for _ in range(3))
    s = tuple(draw(st.integers(1, 2)) for _ in range(3))
    p = tuple(draw(st.integers(0, ki // 2)) for ki in k)
    d = tuple(draw(st.integers(1, 2)) for _ in range(3)) if dilation else (1,) * 3
    spatial = tuple(max(draw(st.integers(1, 4)), di * (ki - 1) + 1) for ki, di in zip(k, d))
    shape = draw(st.sampled_from([(2,), (1, 2)])) + spatial
    x = normal(draw(seeds), shape)
    return (np.round(x) if draw(st.booleans()) else x), k, s, p, d


@FEW
@given(pool3d_case(dilation=True), st.booleans(), st.booleans())
def test_max_pool3d_matches_torch_indices_and_ties(case: tuple, ceil_mode: bool,
                                                   indices: bool) -> None:
    x, k, s, p, d = case
    kw = dict(kernel_size=k, stride=s, padding=p, dilation=d, ceil_mode=ceil_mode)
    if indices:
        index = F.max_pool3d(x, return_indices=True, **kw)[1]
        ref = TF.max_pool3d(torch.tensor(x), return_indices=True, **kw)[1]
        np.testing.assert_array_equal(index, ref.numpy())
    against_torch(F.max_pool3d, TF.max_pool3d, [x], (0,), rtol=1e-12, **kw)


@FEW
@given(pool3d_case(dilation=False), st.booleans(), st.booleans(),
       st.sampled_from([None, None, 3, -2]))
def test_avg_pool3d_matches_torch(case: tuple, ceil_mode: bool, count_include_pad: bool,
                                  divisor_override: Any) -> None:
    x, k, s, p, _ = case
    against_torch(F.avg_pool3d, TF.avg_pool3d, [x], (0,), kernel_size=k, stride=s, padding=p,
                  ceil_mode=ceil_mode, count_include_pad=count_include_pad,
                  divisor_override=divisor_override)


@FEW
@given(st.sampled_from(["adaptive_avg_pool3d", "adaptive_max_pool3d"]),
       st.tuples(*[st.integers(1, 5)] * 3), st.data(), seeds, st.booleans())
def test_adaptive_pools3d_match_torch(name: str, spatial: tuple, data: Any, seed: int,
                                      batched: bool) -> None:
    size = tuple(data.draw(st.one_of(st.none(), st.integers(1, n))) for n in spatial)
    out_size = size[0] if size[0] is not None and len(set(size)) == 1 else size
    x = np.round(normal(seed, ((1,) if batched else ()) + (2,) + spatial))
    against_torch(getattr(F, name), getattr(TF, name), [x], (0,), output_size=out_size)
    if name == "adaptive_max_pool3d":
        index = F.adaptive_max_pool3d(x, out_size, return_indices=True)[1]
        ref = TF.adaptive_max_pool3d(torch.tensor(x), out_size, return_indices=True)[1]
        np.testing.assert_array_equal(index, ref.numpy())


@pytest.mark.parametrize("spec", [
    "MaxPool3d(2)", "MaxPool3d((2, 1, 2), stride=1, padding=(1, 0, 1), ceil_mode=True)",
    "MaxPool3d(2, dilation=2)", "AvgPool3d(2)",
    "AvgPool3d((2, 2, 1), stride=(1, 2, 1), padding=(1, 0, 0), count_include_pad=False)",
    "AvgPool3d(2, ceil_mode=True, divisor_override=3)", "AdaptiveAvgPool3d((2, None, 1))",
    "AdaptiveAvgPool3d(2)", "AdaptiveMaxPool3d((1, 2, 3))"])
def test_pool3d_modules_as_torch(spec: str) -> None:
    ours, theirs = eval(f"nn.{spec}"), eval(f"torch.nn.{spec}")
    assert repr(ours) == repr(theirs)
    for shape in ((2, 2, 5, 4, 5), (2, 5, 4, 5)):  # batched and unbatched
        x = normal(3, shape)
        np.testing.assert_allclose(ours(x).data, theirs(torch.tensor(x)).numpy(), rtol=1e-12)


# ---- losses --------------------------------------------------------------------------------------
def signs(seed: int, shape: Sequence[int], other: bool = False) -> np.ndarray:
    """Labels ±1 (with `other`, some 0 and 2 too: torch's treatment of other labels)."""
    choices = [-1.0, 1.0, 0.0, 2.0] if other else [-1.0, 1.0]
    return np.random.default_rng(seed).choice(choices, size=tuple(shape))


@st.composite
def loss_problem(draw: Any, name: str) -> tuple:
    """(arguments, positions differentiated, keyword settings) for the loss `name`."""
    seed = draw(seeds)
    rng = np.random.default_rng(seed)
    n, c = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    batched = draw(st.booleans())
    kw: dict = dict(reduction=draw(st.sampled_from(REDUCTIONS)))
    if name == "margin_ranking_loss":
        shapes = draw(broadcast_pair(1, 2))
        target_shape = tuple(draw(st.sampled_from([1, m])) for m in
                             np.broadcast_shapes(*shapes))
        kw["margin"] = draw(st.floats(-1, 1))
        return ([rng.standard_normal(shapes[0]), rng.standard_normal(shapes[1]),
                 signs(seed, target_shape)], (0, 1, 2), kw)
    if name == "hinge_embedding_loss":
        shapes = draw(broadcast_pair(1, 3))
        kw["margin"] = draw(st.floats(-1, 2))
        return [rng.standard_normal(shapes[0]) * 2, signs(seed, shapes[1], other=True)], (0,), kw
    if name == "cosine_embedding_loss":
        shape, target_shape = ((n, c), (n,)) if batched else ((c,), ())
        kw["margin"] = draw(st.floats(-1, 1))
        return ([rng.standard_normal(shape), rng.standard_normal(shape),
                 signs(seed, target_shape, other=draw(st.booleans()))], (0, 1), kw)
    if name == "triplet_margin_loss":
        shape = (n, c) if batched else (c,)
        kw.update(margin=draw(st.floats(0.1, 3)), p=draw(st.sampled_from([1.0, 2.0, 3.0])),
                  eps=draw(st.sampled_from([1e-6, 0.1])), swap=draw(st.booleans()))
        return [rng.standard_normal(shape) for _ in range(3)], (0, 1, 2), kw
    if name == "poisson_nll_loss":
        kw.update(log_input=draw(st.booleans()), full=draw(st.booleans()),
                  eps=draw(st.sampled_from([1e-8, 0.1])))
        x = rng.standard_normal((n, c)) if kw["log_input"] else rng.uniform(0.05, 3, (n, c))
        counts = rng.integers(0, 5, (n, c)).astype(float) + draw(st.sampled_from([0.0, 0.5]))
        # with `full`, torch's target gradient is nan at a count of 0 (ours is finite)
        grads = (0,) if kw["full"] and (counts == 0).any() else (0, 1)
        return [x, counts], grads, kw
    if name == "gaussian_nll_loss":
        shape = (n, c)
        var_shape = draw(st.sampled_from([shape, (n,), (1, c), (n, 1)]))
        var = rng.uniform(0.1, 2.0, var_shape)
        if draw(st.booleans()):
            var.flat[0] = draw(st.sampled_from([0.0, 1e-9]))  # clamped to eps
        kw.update(full=draw(st.booleans()), eps=draw(st.sampled_from([1e-6, 0.2])))
        return [rng.standard_normal(shape), rng.standard_normal(shape), var], (0, 1, 2), kw
    if name == "multilabel_soft_margin_loss":
        shape = (n, c) if batched else (c,)
        target = rng.integers(0, 2, shape).astype(float) if draw(st.booleans()) \
            else rng.random(shape)
        args = [rng.standard_normal(shape) * 2, target]
        if draw(st.booleans()):
            args.append(rng.uniform(0.1, 2, draw(st.sampled_from([(c,), shape]))))
        return args, tuple(range(len(args))), kw
    assert name == "multi_margin_loss"
    shape, target_shape = ((n, c), (n,)) if batched else ((c,), ())
    kw.update(p=draw(st.sampled_from([1, 2])), margin=draw(st.floats(0, 2)))
    if draw(st.booleans()):
        kw["weight"] = rng.uniform(0.1, 2, c)
    return [rng.standard_normal(shape), rng.integers(0, c, target_shape)], (0,), kw


LOSSES = ["margin_ranking_loss", "hinge_embedding_loss", "cosine_embedding_loss",
          "triplet_margin_loss", "poisson_nll_loss", "gaussian_nll_loss",
          "multilabel_soft_margin_loss", "multi_margin_loss"]


@pytest.mark.parametrize("name", LOSSES)
@FEW
@given(data=st.data())
def test_loss_matches_torch(name: str, data: Any) -> None:
    args, grads, kw = data.draw(loss_problem(name))

    def theirs(*tensors: Any, **settings_: Any) -> Any:
        if "weight" in settings_:  # torch's multi_margin_loss wants a tensor
            settings_["weight"] = torch.tensor(settings_["weight"])
        return getattr(TF, name)(*tensors, **settings_)

    against_torch(getattr(F, name), theirs, args, grads, **kw)


# (module, as written for both libraries; a function giving forward's arguments)
LOSS_MODULES = [
    ("MarginRankingLoss(margin=0.5)", lambda r: [r.standard_normal(4), r.standard_normal(4),
                                                 signs(1, (4,))]),
    ("HingeEmbeddingLoss(margin=2.0, reduction='sum')",
     lambda r: [r.standard_normal((3, 2)), signs(2, (3, 2))]),
    ("CosineEmbeddingLoss(margin=0.1, reduction='none')",
     lambda r: [r.standard_normal((3, 4)), r.standard_normal((3, 4)), signs(3, (3,))]),
    ("TripletMarginLoss(margin=2.0, p=1.0, swap=True)",
     lambda r: [r.standard_normal((3, 4)) for _ in range(3)]),
    ("PoissonNLLLoss(log_input=False, full=True, eps=1e-3)",
     lambda r: [r.uniform(0.1, 2, (3, 4)), r.integers(0, 5, (3, 4)).astype(float)]),
    ("GaussianNLLLoss(full=True, eps=0.01)",
     lambda r: [r.standard_normal((3, 4)), r.standard_normal((3, 4)), r.uniform(0, 1, (3, 1))]),
    ("MultiLabelSoftMarginLoss(weight=np.array([1.0, 2.0, 0.5]))",
     lambda r: [r.standard_normal((4, 3)), r.integers(0, 2, (4, 3)).astype(float)]),
    ("MultiMarginLoss(p=2, margin=0.5, weight=np.array([1.0, 2.0, 0.5]))",
     lambda r: [r.standard_normal((4, 3)), r.integers(0, 3, (4,))]),
]


class _TorchArrays:
    """`np.array(...)` in a module spec, as torch wants it: a float64 tensor."""

    @staticmethod
    def array(values: Any) -> Any:
        return torch.tensor(values, dtype=torch.float64)


@pytest.mark.parametrize("spec, inputs", LOSS_MODULES, ids=[m[0] for m in LOSS_MODULES])
def test_loss_modules_give_torch_outputs_and_state(spec: str, inputs: Callable) -> None:
    ours = eval(f"nn.{spec}", {"nn": nn, "np": np})
    theirs = eval(f"torch.nn.{spec}", {"torch": torch, "np": _TorchArrays})
    assert list(ours.state_dict()) == list(theirs.state_dict())
    for key, value in theirs.state_dict().items():
        np.testing.assert_array_equal(ours.state_dict()[key], value.numpy())
    args = inputs(np.random.default_rng(4))
    np.testing.assert_allclose(ours(*args).data, theirs(*map(torch.tensor, args)).numpy(),
                               rtol=1e-12)
    assert repr(ours) == f"{type(ours).__name__}(reduction={ours.reduction!r})"


def test_legacy_reduction_arguments_and_torch_attributes() -> None:
    with pytest.warns(DeprecationWarning):
        assert nn.TripletMarginLoss(size_average=False).reduction == "sum"
    with pytest.warns(DeprecationWarning):
        assert nn.PoissonNLLLoss(reduce=False).reduction == "none"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = torch.nn.TripletMarginLoss(margin=0.5, p=3.0, eps=0.1, swap=True)
    ours = nn.TripletMarginLoss(margin=0.5, p=3.0, eps=0.1, swap=True)
    for attribute in ("margin", "p", "eps", "swap", "reduction"):
        assert getattr(ours, attribute) == getattr(theirs, attribute)
    assert nn.PairwiseDistance(p=3).norm == torch.nn.PairwiseDistance(p=3).norm


# ---- finite differences and second derivatives ---------------------------------------------------
def _cases() -> dict:
    rng = np.random.default_rng(7)
    a, b, c = (rng.standard_normal((3, 4)) for _ in range(3))
    counts = rng.integers(0, 5, (3, 4)).astype(float)
    var = rng.uniform(0.5, 2, (3, 1))
    w = rng.uniform(0.5, 2, 4)
    return {
        "cosine_similarity": (lambda x, y: F.cosine_similarity(x, y, dim=0), (a, b)),
        "pairwise_distance p=3": (lambda x, y: F.pairwise_distance(x, y, p=3.0), (a, b)),
        "pdist": (F.pdist, (a,)),
        "rms_norm": (lambda x, g: F.rms_norm(x, 4, g, eps=1e-3), (a, w)),
        "avg_pool3d": (lambda x: F.avg_pool3d(x, 2, stride=1, padding=1, ceil_mode=True),
                       (rng.standard_normal((1, 3, 2, 3)),)),
        "adaptive_avg_pool3d": (lambda x: F.adaptive_avg_pool3d(x, (2, 3, 2)),
                                (rng.standard_normal((1, 3, 4, 3)),)),
        "triplet_margin_loss swap": (lambda x, y, z: F.triplet_margin_loss(
            x, y, z, margin=3.0, swap=True, reduction="sum"), (a, b, c)),
        "poisson_nll_loss full": (lambda x, y: F.poisson_nll_loss(
            x, y, log_input=False, full=True), (np.abs(a) + 0.5, counts + 0.5)),
        "gaussian_nll_loss": (lambda x, y, v: F.gaussian_nll_loss(x, y, v, full=True),
                              (a, b, var)),
        "multilabel_soft_margin_loss": (lambda x, y, g: F.multilabel_soft_margin_loss(
            x, y, g), (a, rng.random((3, 4)), w)),
        "multi_margin_loss weight": (lambda x, g: F.multi_margin_loss(
            x, np.array([0, 3, 1]), p=2, margin=3.0, weight=g), (a, w)),
        "cosine_embedding_loss": (lambda x, y: F.cosine_embedding_loss(
            x, y, np.array([1.0, -1.0, 1.0]), margin=-1.0), (a, b)),
    }


@pytest.mark.parametrize("case", list(_cases()))
def test_first_and_second_derivatives(case: str) -> None:
    f, inputs = _cases()[case]
    assert gradcheck(f, *inputs)
    assert gradgradcheck(f, *inputs)


# ---- errors --------------------------------------------------------------------------------------
def test_clear_errors() -> None:
    x = np.ones((2, 3))
    with pytest.raises(ShapeError, match="cosine_similarity.*broadcast"):
        F.cosine_similarity(x, np.ones((2, 4)))
    with pytest.raises(ShapeError, match="dim 2 is out of range"):
        F.cosine_similarity(x, x, dim=2)
    with pytest.raises(DomainError, match="pairwise_distance: p must be"):
        F.pairwise_distance(x, x, p=-1.0)
    with pytest.raises(ShapeError, match="pdist: expected a 2-D"):
        F.pdist(np.ones(3))
    with pytest.raises(ShapeError, match="rms_norm: normalized_shape=\\(2,\\)"):
        F.rms_norm(x, 2)
    with pytest.raises(ShapeError, match="rms_norm: weight should have shape"):
        F.rms_norm(x, 3, np.ones(2))
    with pytest.raises(ShapeError, match="max_pool3d: expected a 4-D"):
        F.max_pool3d(np.ones((2, 3, 3)), 2)
    with pytest.raises(ShapeError, match="adaptive_avg_pool3d: output_size"):
        F.adaptive_avg_pool3d(np.ones((1, 2, 3, 3)), (2, 2))
    with pytest.raises(ShapeError, match="margin_ranking_loss: .* same number of dimensions"):
        F.margin_ranking_loss(x, x, np.ones(3))
    with pytest.raises(ShapeError, match="hinge_embedding_loss: .* do not broadcast"):
        F.hinge_embedding_loss(x, np.ones(2))
    with pytest.raises(ShapeError, match="cosine_embedding_loss: expected inputs \\(N, D\\)"):
        F.cosine_embedding_loss(x, x, np.ones((2, 1)))
    with pytest.raises(ValueError, match="margin must be greater than 0"):
        F.triplet_margin_loss(x, x, x, margin=0.0)
    with pytest.raises(ValueError, match="margin must be greater than 0"):
        nn.TripletMarginLoss(margin=-1.0)
    with pytest.raises(ShapeError, match="poisson_nll_loss: target of shape"):
        F.poisson_nll_loss(x, np.ones(3))
    with pytest.raises(DomainError, match="var has negative entries"):
        F.gaussian_nll_loss(x, x, -np.ones((2, 3)))
    with pytest.raises(ShapeError, match="var of shape \\(3,\\) does not fit"):
        F.gaussian_nll_loss(x, x, np.ones(3))
    with pytest.raises(ShapeError, match="multilabel_soft_margin_loss: the input must"):
        F.multilabel_soft_margin_loss(1.0, 1.0)
    with pytest.raises(ValueError, match="only p == 1 and p == 2"):
        F.multi_margin_loss(x, np.array([0, 1]), p=3)
    with pytest.raises(ValueError, match="only p == 1 and p == 2"):
        nn.MultiMarginLoss(p=3)
    with pytest.raises(InvalidIndexError, match="target 3 at index \\(1,\\) is out of bounds"):
        F.multi_margin_loss(x, np.array([0, 3]))
    with pytest.raises(ShapeError, match="weight must have one entry per class"):
        F.multi_margin_loss(x, np.array([0, 1]), weight=np.ones(2))
    with pytest.raises(ValueError, match="'avg' is not a valid value for reduction"):
        F.margin_ranking_loss(x, x, x, reduction="avg")
