"""Loss functions (nn.functional) and loss modules (nn) against PyTorch float64: values, gradients
with respect to the input and to targets and weights where torch has them, finite differences
and second derivatives where it has none, and the errors for bad arguments."""

import warnings

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from tinygrad_nn import DomainError, ShapeError, Value
from tinygrad_nn.errors import InvalidIndexError
from tinygrad_nn.gradcheck import gradcheck, gradgradcheck
from tinygrad_nn.losses import cross_entropy as course_cross_entropy
from tinygrad_nn import nn
from tinygrad_nn.nn import functional as F

torch = pytest.importorskip("torch")
TF = torch.nn.functional

FEW = settings(max_examples=min(settings.default.max_examples, 60))
REDUCTIONS = ["mean", "sum", "none"]


def against_torch(ours, theirs, args, grads, rng, **kw):
    """Call `ours` on Values (numpy arrays at the positions not in `grads`) and `theirs` on
    float64 tensors (integer arrays become long tensors); compare the values and the gradients,
    with respect to the arguments at positions `grads`, of the output projected on a random
    cotangent (so that reduction='none' is checked element by element)."""
    mine = [Value(a) if i in grads else a for i, a in enumerate(args)]
    tens = [torch.tensor(a, requires_grad=i in grads) for i, a in enumerate(args)]
    out = ours(*mine, **kw)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # kl_div's 'mean' warns that it is not the KL divergence
        ref = theirs(*tens, **kw)
    np.testing.assert_allclose(out.data, ref.detach().numpy(), rtol=1e-10, atol=1e-12)
    assert np.shape(out.data) == tuple(ref.shape)
    cot = rng.standard_normal(tuple(ref.shape))
    (out * cot).sum().backward()
    expected = torch.autograd.grad((ref * torch.tensor(cot)).sum(), [tens[i] for i in grads])
    for i, g in zip(grads, expected):
        np.testing.assert_allclose(mine[i].grad, g.numpy(), rtol=1e-9, atol=1e-12,
                                   err_msg=f"gradient with respect to argument {i}")


@st.composite
def class_problems(draw):
    """Logits (N, C, d...) or (C,), class indices with some set to ignore_index, and settings."""
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    c = draw(st.integers(1, 5))
    one_d = draw(st.booleans()) and draw(st.booleans())
    n = draw(st.integers(1, 4))
    extra = tuple(draw(st.lists(st.integers(1, 3), max_size=2)))
    shape = (c,) if one_d else (n, c) + extra
    target_shape = () if one_d else (n,) + extra
    ignore_index = draw(st.sampled_from([-100, -1] + list(range(c))))
    target = rng.integers(0, c, size=target_shape)
    ignored = rng.random(target_shape) < draw(st.sampled_from([0.0, 0.3, 1.0]))
    target = np.where(ignored, ignore_index, target)
    weight = rng.uniform(0.1, 2.0, size=c) if draw(st.booleans()) else None
    return rng, rng.standard_normal(shape) * 2, target, ignore_index, weight


@FEW
@given(class_problems(), st.sampled_from(REDUCTIONS),
       st.one_of(st.just(0.0), st.floats(0.0, 1.0)))
def test_cross_entropy_class_indices_match_torch(problem, reduction, label_smoothing):
    rng, x, target, ignore_index, weight = problem
    kw = dict(ignore_index=ignore_index, reduction=reduction, label_smoothing=label_smoothing)
    if reduction == "mean" and np.all(target == ignore_index):
        with pytest.raises(DomainError, match="over no targets"):
            F.cross_entropy(x, target, weight, **kw)
        return
    args, grads = ([x, target], (0,)) if weight is None else ([x, target, weight], (0,))
    against_torch(F.cross_entropy, TF.cross_entropy, args, grads, rng, **kw)


@FEW
@given(class_problems(), st.sampled_from(REDUCTIONS))
def test_nll_loss_matches_torch(problem, reduction):
    rng, x, target, ignore_index, weight = problem
    logp = x - np.log(np.exp(x).sum(axis=0 if x.ndim == 1 else 1, keepdims=True))
    kw = dict(ignore_index=ignore_index, reduction=reduction)
    if reduction == "mean" and np.all(target == ignore_index):
        with pytest.raises(DomainError):
            F.nll_loss(logp, target, weight, **kw)
        return
    args = [logp, target] if weight is None else [logp, target, weight]
    against_torch(F.nll_loss, TF.nll_loss, args, (0,), rng, **kw)


@FEW
@given(class_problems(), st.sampled_from(REDUCTIONS), st.sampled_from([0.0, 0.25, 1.0]))
def test_cross_entropy_probabilities_match_torch_in_input_target_and_weight(
        problem, reduction, label_smoothing):
    rng, x, _, _, _ = problem
    axis = 0 if x.ndim == 1 else 1
    p = rng.random(x.shape) + 0.01
    p = p / p.sum(axis=axis, keepdims=True)
    weight = rng.uniform(0.1, 2.0, size=x.shape[axis])
    against_torch(F.cross_entropy, TF.cross_entropy, [x, p, weight], (0, 1, 2), rng,
                  reduction=reduction, label_smoothing=label_smoothing)
    against_torch(F.cross_entropy, TF.cross_entropy, [x, p], (0, 1), rng, reduction=reduction)


def test_cross_entropy_takes_integer_targets_in_every_form_and_agrees_with_the_course_loss():
    x = np.random.default_rng(0).standard_normal((4, 3))
    expected = TF.cross_entropy(torch.tensor(x), torch.tensor([0, 2, 1, 2])).item()
    for target in ([0, 2, 1, 2], np.array([0, 2, 1, 2], dtype=np.int32),
                   np.array([0.0, 2.0, 1.0, 2.0]), Value(np.array([0.0, 2.0, 1.0, 2.0]))):
        assert F.cross_entropy(x, target).item() == pytest.approx(expected, rel=1e-13)
    assert course_cross_entropy(x, [0, 2, 1, 2]).item() == pytest.approx(expected, rel=1e-13)
    one_hot = np.eye(3, dtype=np.int64)[[0, 2, 1, 2]]  # integer one-hot rows are probabilities
    assert F.cross_entropy(x, one_hot).item() == pytest.approx(expected, rel=1e-13)


def test_cross_entropy_is_stable_and_keeps_float32():
    x = np.array([[1000.0, 0.0, -1000.0]], dtype=np.float32)
    loss = F.cross_entropy(Value(x), [2])
    assert loss.dtype == np.float32 and loss.item() == pytest.approx(2000.0)
    assert np.isfinite(F.cross_entropy(x.astype(np.float64), [0], label_smoothing=0.1).item())


@st.composite
def pairs(draw, lo=-3.0, hi=3.0):
    """An input and a target of one small shape (ties have probability zero)."""
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    shape = tuple(draw(st.lists(st.integers(1, 4), max_size=3)))
    return rng, rng.uniform(lo, hi, shape), rng.uniform(lo, hi, shape)


@FEW
@given(pairs(), st.sampled_from(REDUCTIONS), st.sampled_from(["mse", "l1", "smooth_l1", "huber"]),
       st.sampled_from([0.0, 0.5, 1.0, 2.5]))
def test_regression_losses_match_torch_in_input_and_target(pair, reduction, name, width):
    rng, x, y = pair
    kw = {"smooth_l1": {"beta": width}, "huber": {"delta": width or 1.0}}.get(name, {})
    ours, theirs = getattr(F, name + "_loss"), getattr(TF, name + "_loss")
    against_torch(ours, theirs, [x, y], (0, 1), rng, reduction=reduction, **kw)


@FEW
@given(pairs(), st.sampled_from(REDUCTIONS), st.sampled_from(["none", "full", "last"]))
def test_binary_cross_entropy_matches_torch(pair, reduction, weighting):
    rng, x, y = pair
    p, t = 0.02 + 0.96 * (x + 3) / 6, (y + 3) / 6
    weight = {"none": None, "full": rng.uniform(0.1, 2, p.shape),
              "last": rng.uniform(0.1, 2, p.shape[-1:])}[weighting]
    args = [p, t] if weight is None else [p, t, weight]
    against_torch(F.binary_cross_entropy, TF.binary_cross_entropy, args, (0, 1), rng,
                  reduction=reduction)


@FEW
@given(pairs(-30.0, 30.0), st.sampled_from(REDUCTIONS), st.booleans(), st.booleans())
def test_binary_cross_entropy_with_logits_matches_torch(pair, reduction, weighted, positive):
    rng, z, y = pair
    t = (y + 30) / 60
    weight = rng.uniform(0.1, 2, z.shape) if weighted else None
    pos_weight = rng.uniform(0.1, 3, z.shape[-1:]) if positive else None
    against_torch(lambda z, t: F.binary_cross_entropy_with_logits(z, t, weight, reduction,
                                                                  pos_weight),
                  lambda z, t: TF.binary_cross_entropy_with_logits(
                      z, t, None if weight is None else torch.tensor(weight), reduction=reduction,
                      pos_weight=None if pos_weight is None else torch.tensor(pos_weight)),
                  [z, t], (0, 1), rng)


def test_binary_cross_entropy_with_logits_is_stable_for_huge_logits():
    z = Value(np.array([-800.0, 800.0, -800.0, 800.0]))
    loss = F.binary_cross_entropy_with_logits(z, [0.0, 1.0, 1.0, 0.0], reduction="none",
                                              pos_weight=[2.0, 2.0, 2.0, 2.0])
    np.testing.assert_allclose(loss.data, [0.0, 0.0, 1600.0, 800.0])
    loss.sum().backward()
    np.testing.assert_allclose(z.grad, [0.0, 0.0, -2.0, 1.0])


def test_binary_cross_entropy_floors_each_log_at_minus_100_as_torch():
    p, t = np.array([0.0, 1.0, 0.0, 1.0]), np.array([1.0, 0.0, 0.0, 1.0])
    ours = F.binary_cross_entropy(p, t, reduction="none").data
    np.testing.assert_array_equal(
        ours, TF.binary_cross_entropy(torch.tensor(p), torch.tensor(t), reduction="none"))


@FEW
@given(pairs(), st.sampled_from(REDUCTIONS + ["batchmean"]), st.booleans())
def test_kl_div_matches_torch_in_input_and_target(pair, reduction, log_target):
    rng, x, y = pair
    logq = x - np.log(np.exp(x).sum(axis=-1, keepdims=True)) if x.ndim else x
    p = np.exp(y) / np.exp(y).sum(axis=-1, keepdims=True) if y.ndim else np.exp(y / 3)
    target = np.log(p) if log_target else p
    against_torch(F.kl_div, TF.kl_div, [logq, target], (0, 1), rng, reduction=reduction,
                  log_target=log_target)


def test_kl_div_counts_zero_target_probabilities_as_zero():
    logq, p = np.log([0.2, 0.3, 0.5]), np.array([0.0, 0.5, 0.5])
    for reduction in ("none", "batchmean"):
        np.testing.assert_allclose(
            F.kl_div(logq, p, reduction=reduction).data,
            TF.kl_div(torch.tensor(logq), torch.tensor(p), reduction=reduction), rtol=1e-14)


@FEW
@given(pairs(), st.sampled_from(REDUCTIONS))
def test_soft_margin_loss_matches_torch(pair, reduction):
    rng, x, y = pair
    against_torch(F.soft_margin_loss, TF.soft_margin_loss, [x, np.where(y > 0, 1.0, -1.0)], (0,),
                  rng, reduction=reduction)


# ---- finite differences and second derivatives, with weights and targets as Values ----------
def test_class_losses_by_finite_differences_in_input_weight_and_target():
    rng = np.random.default_rng(1)
    x, w = rng.standard_normal((3, 4, 2)), rng.uniform(0.5, 2, 4)
    target = np.array([[0, 3], [-100, 2], [1, 1]])
    p = rng.dirichlet(np.ones(4), size=(3, 2)).transpose(0, 2, 1)
    gradcheck(lambda x, w: F.cross_entropy(x, target, w, label_smoothing=0.2), x, w)
    gradcheck(lambda x, w: F.nll_loss(x, target, w, reduction="sum"), x, w)
    gradcheck(lambda x, p, w: F.cross_entropy(x, p, w, reduction="none", label_smoothing=0.1),
              x, p, w)
    gradgradcheck(lambda x, w: F.cross_entropy(x, target, w, label_smoothing=0.2), x, w)
    gradgradcheck(lambda x, p: F.cross_entropy(x, p, w), x, p)


def test_other_losses_by_finite_differences_and_second_derivatives():
    rng = np.random.default_rng(2)
    z, y, w = rng.standard_normal((3, 2)), rng.random((3, 2)), rng.uniform(0.5, 2, (2,))
    p = rng.uniform(0.1, 0.9, (3, 2))
    logq = np.log(rng.dirichlet(np.ones(2), size=3))
    checks = [
        (lambda z, y, w: F.binary_cross_entropy_with_logits(z, y, w, pos_weight=w * 2), (z, y, w)),
        (lambda p, y, w: F.binary_cross_entropy(p, y, w, reduction="sum"), (p, y, w)),
        (lambda q, t: F.kl_div(q, t, reduction="batchmean"), (logq, y + 0.1)),
        (lambda q, t: F.kl_div(q, t, log_target=True), (logq, logq[::-1])),
        (lambda z, y: F.huber_loss(z, y, delta=0.7), (z, y)),
        (lambda z, y: F.smooth_l1_loss(z, y, beta=0.7), (z, y)),
        (lambda z, y: F.mse_loss(z, y, reduction="none"), (z, y)),
    ]
    for f, inputs in checks:
        gradcheck(f, *inputs)
        gradgradcheck(f, *inputs)


# ---- modules ---------------------------------------------------------------------------------
def test_modules_call_their_functions_with_torch_arguments_and_state_dict_keys():
    rng = np.random.default_rng(3)
    x, w = rng.standard_normal((4, 3)), rng.uniform(0.5, 2, 3)
    t, y = np.array([0, 2, -1, 1]), rng.random((4, 3))
    p = 0.05 + 0.9 * y
    cases = [
        (nn.CrossEntropyLoss(w, ignore_index=-1, reduction="sum", label_smoothing=0.1),
         torch.nn.CrossEntropyLoss(torch.tensor(w), ignore_index=-1, reduction="sum",
                                   label_smoothing=0.1), x, t),
        (nn.NLLLoss(w, ignore_index=-1), torch.nn.NLLLoss(torch.tensor(w), ignore_index=-1), x, t),
        (nn.MSELoss(reduction="none"), torch.nn.MSELoss(reduction="none"), x, y),
        (nn.L1Loss(), torch.nn.L1Loss(), x, y),
        (nn.SmoothL1Loss(beta=0.5), torch.nn.SmoothL1Loss(beta=0.5), x, y),
        (nn.HuberLoss(delta=0.5), torch.nn.HuberLoss(delta=0.5), x, y),
        (nn.BCELoss(w), torch.nn.BCELoss(torch.tensor(w)), p, y),
        (nn.BCEWithLogitsLoss(w, pos_weight=w[::-1].copy()),
         torch.nn.BCEWithLogitsLoss(torch.tensor(w), pos_weight=torch.tensor(w[::-1].copy())),
         x, y),
        (nn.KLDivLoss(reduction="batchmean", log_target=True),
         torch.nn.KLDivLoss(reduction="batchmean", log_target=True), x, np.log(p)),
        (nn.SoftMarginLoss(), torch.nn.SoftMarginLoss(), x, np.sign(y - 0.5)),
    ]
    for ours, theirs, a, b in cases:
        np.testing.assert_allclose(ours(a, b).data, theirs(torch.tensor(a), torch.tensor(b)),
                                   rtol=1e-12, err_msg=repr(ours))
        assert sorted(ours.state_dict()) == sorted(theirs.state_dict()), repr(ours)
        assert ours.parameters() == []


def test_modules_read_the_legacy_size_average_and_reduce_as_torch():
    with pytest.warns(DeprecationWarning):
        assert nn.MSELoss(size_average=False).reduction == "sum"
    with pytest.warns(DeprecationWarning):
        assert nn.NLLLoss(None, True, -100, False).reduction == "none"
    with pytest.warns(DeprecationWarning):
        assert nn.KLDivLoss(reduce=True).reduction == "mean"
    assert repr(nn.L1Loss(reduction="sum")) == "L1Loss(reduction='sum')"


# ---- errors ----------------------------------------------------------------------------------
def test_clear_errors_for_bad_arguments():
    x = np.zeros((2, 3))
    with pytest.raises(ValueError, match="'avg' is not a valid value for reduction"):
        F.mse_loss(x, x, reduction="avg")
    with pytest.raises(ValueError, match="reduction"):
        F.cross_entropy(x, [0, 1], reduction="batchmean")
    with pytest.raises(ValueError, match="reduction"):
        nn.CrossEntropyLoss(reduction="avg")
    with pytest.raises(InvalidIndexError, match="target 3 at index \\(1,\\) is out of bounds for 3"):
        F.cross_entropy(x, [0, 3])
    with pytest.raises(IndexError, match="target -1"):
        F.nll_loss(x, [0, -1])
    with pytest.raises(ValueError, match="whole numbers"):
        F.cross_entropy(x, [0.5, 1.0])
    with pytest.raises(ShapeError, match=r"class indices of shape \(2,\)"):
        F.cross_entropy(x, [0, 1, 2])
    with pytest.raises(ShapeError, match="one entry per class"):
        F.cross_entropy(x, [0, 1], weight=[1.0, 2.0])
    with pytest.raises(ShapeError, match="scalar"):
        F.nll_loss(np.float64(1.0), 0)
    with pytest.raises(ValueError, match="label_smoothing"):
        F.cross_entropy(x, [0, 1], label_smoothing=1.5)
    with pytest.raises(DomainError, match="over no targets"):
        F.cross_entropy(x, [-100, -100])
    with pytest.raises(DomainError, match="over no targets"):
        F.nll_loss(np.zeros((0, 3)), np.zeros(0, dtype=int))
    assert F.cross_entropy(x, [-100, -100], reduction="sum").item() == 0.0
    with pytest.raises(ShapeError, match=r"target of shape \(2, 1\) does not match"):
        F.mse_loss(x, np.zeros((2, 1)))
    with pytest.raises(DomainError, match=r"probability in \[0, 1\]"):
        F.binary_cross_entropy(x + 1.5, x)
    with pytest.raises(ShapeError, match="weight of shape"):
        F.binary_cross_entropy(x, x, weight=np.ones(2))
    with pytest.raises(ShapeError, match="pos_weight of shape"):
        F.binary_cross_entropy_with_logits(x, x, pos_weight=np.ones(2))
    with pytest.raises(ValueError, match="beta must be non-negative"):
        F.smooth_l1_loss(x, x, beta=-1.0)
    with pytest.raises(ValueError, match="delta must be positive"):
        F.huber_loss(x, x, delta=0.0)
    with pytest.raises(DomainError, match="non-negative"):
        F.kl_div(x, x - 1)
