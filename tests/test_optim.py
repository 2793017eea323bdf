"""Optimizers: SGD and Adam against hand-worked steps and torch.optim; minimize against known
minima, a hand-written gradient and scipy on a hand-written cost."""

import math

import numpy as np
import pytest
import scipy.optimize

from tinygrad_nn import Op, Value
from tinygrad_nn.losses import logistic_cost
from tinygrad_nn.nn import Module, Neuron
from tinygrad_nn.optim import SGD, Adam, minimize


def square_loss_steps(optimizer, p, steps):
    """Run `steps` steps on f(p) = sum(p²) (gradient 2p) and return p's data after each."""
    seen = []
    for _ in range(steps):
        optimizer.zero_grad()
        (p * p).sum().backward()
        optimizer.step()
        seen.append(np.array(p.data))
    return seen


# ---- SGD by hand --------------------------------------------------------------------------------
def test_sgd_plain_step_is_lr_times_gradient():
    p = Value(3.0)
    opt = SGD([p], lr=0.25)
    # p ← 3 - 0.25·6 = 1.5, then 1.5 - 0.25·3 = 0.75
    assert [float(x) for x in square_loss_steps(opt, p, 2)] == [1.5, 0.75]
    assert type(p.data) is float


def test_sgd_momentum_and_weight_decay_by_hand():
    # g = 2p + 0.1p = 2.1p; b = 0.9b + g (b = g on the first step); p ← p - 0.1b.
    # step 1: g = 2.1,     b = 2.1,                 p = 1 - 0.21         = 0.79
    # step 2: g = 1.659,   b = 1.89 + 1.659 = 3.549, p = 0.79 - 0.3549    = 0.4351
    # step 3: g = 0.91371, b = 3.1941 + 0.91371 = 4.10781, p = 0.4351 - 0.410781 = 0.024319
    p = Value(1.0)
    opt = SGD([p], lr=0.1, momentum=0.9, weight_decay=0.1)
    assert [float(x) for x in square_loss_steps(opt, p, 3)] == pytest.approx(
        [0.79, 0.4351, 0.024319], rel=1e-12)


def test_sgd_nesterov_by_hand():
    # g = 2p; b = 0.9b + g; p ← p - 0.1(g + 0.9b)
    # step 1: g = 2,    b = 2,    update 2 + 1.8 = 3.8,      p = 0.62
    # step 2: g = 1.24, b = 3.04, update 1.24 + 2.736 = 3.976, p = 0.2224
    p = Value(1.0)
    opt = SGD([p], lr=0.1, momentum=0.9, nesterov=True)
    assert [float(x) for x in square_loss_steps(opt, p, 2)] == pytest.approx([0.62, 0.2224], rel=1e-12)


def test_sgd_updates_float32_arrays_in_place():
    # The dynamics are linear in p, so the element starting at -2 follows -2 × the hand values above.
    data = np.array([1.0, -2.0], dtype=np.float32)
    p = Value(data)
    array = p.data
    opt = SGD([p], lr=0.1, momentum=0.9, weight_decay=0.1)
    steps = square_loss_steps(opt, p, 3)
    assert p.data is array and p.dtype == np.float32
    np.testing.assert_allclose(steps[-1], [0.024319, -0.048638], rtol=1e-5)


# ---- Adam by hand -------------------------------------------------------------------------------
def test_adam_constant_gradient_moves_by_lr_each_step():
    # With a constant gradient the bias-corrected moments are exactly g and g², so with eps = 0
    # every step is lr · sign(g): the point of the bias correction.
    p = Value(1.0)
    opt = Adam([p], lr=0.1, eps=0.0)
    for expected in (0.9, 0.8, 0.7):
        opt.zero_grad()
        (3.0 * p).backward()
        opt.step()
        assert p.data == pytest.approx(expected, rel=1e-12)


def test_adam_two_steps_by_hand():
    # g = 1 then -1, β = (0.9, 0.999), lr = 0.1, eps = 0:
    # step 1: m = 0.1,    m̂ = 1;         v = 0.001,    v̂ = 1 -> p = 1 - 0.1
    # step 2: m = 0.09 - 0.1 = -0.01, m̂ = -0.01 / 0.19 = -1/19;
    #         v = 0.000999 + 0.001 = 0.001999, v̂ = 0.001999 / (1 - 0.999²) = 1 -> p = 0.9 + 0.1/19
    p = Value(1.0)
    opt = Adam([p], lr=0.1, eps=0.0)
    p.grad = 1.0
    opt.step()
    assert p.data == pytest.approx(0.9, rel=1e-12)
    p.grad = -1.0
    opt.step()
    assert p.data == pytest.approx(0.9 + 0.1 / 19, rel=1e-12)


def test_adam_weight_decay_enters_the_gradient():
    # gradient -0.5 plus weight decay 1 · p = 1: g = 0.5 > 0, so the first step goes down by lr.
    for weight_decay, expected in ((0.0, 1.1), (1.0, 0.9)):
        p = Value(np.array([1.0]))
        opt = Adam([p], lr=0.1, weight_decay=weight_decay)
        p.grad = np.array([-0.5])
        opt.step()
        np.testing.assert_allclose(p.data, [expected], rtol=1e-7)


def test_adam_keeps_float32():
    p = Value(np.ones(3, dtype=np.float32))
    opt = Adam([p], lr=0.01)
    square_loss_steps(opt, p, 2)
    assert p.dtype == np.float32


# ---- against torch.optim ------------------------------------------------------------------------
OPTIMIZERS = [
    ("SGD", dict(lr=0.05)),
    ("SGD", dict(lr=0.05, momentum=0.9, weight_decay=0.01)),
    ("SGD", dict(lr=0.05, momentum=0.8, nesterov=True)),
    ("Adam", dict(lr=0.01)),
    ("Adam", dict(lr=0.02, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.1)),
]


@pytest.mark.parametrize("name, settings", OPTIMIZERS)
def test_steps_agree_with_torch(name, settings):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    A, C, W0 = rng.normal(size=(4, 3)), rng.normal(size=(4, 2)), rng.normal(size=(3, 2))
    W, s = Value(W0), Value(0.5)
    ours = {"SGD": SGD, "Adam": Adam}[name]([W, s], **settings)
    tW = torch.tensor(W0, requires_grad=True)
    ts = torch.tensor(0.5, dtype=torch.float64, requires_grad=True)
    theirs = getattr(torch.optim, name)([tW, ts], **settings)
    for _ in range(5):
        ours.zero_grad()
        (((A @ W).tanh() * C).sum() + (s - 2.0) ** 2 * 0.5).backward()
        ours.step()
        theirs.zero_grad()
        (((torch.tensor(A) @ tW).tanh() * torch.tensor(C)).sum() + (ts - 2.0) ** 2 * 0.5).backward()
        theirs.step()
    np.testing.assert_allclose(W.data, tW.detach().numpy(), rtol=1e-12, atol=1e-14)
    assert s.data == pytest.approx(ts.item(), rel=1e-12)


# ---- argument checks ----------------------------------------------------------------------------
@pytest.mark.parametrize("make, message", [
    (lambda p: SGD(p, lr=0.0), "lr must lie in (0.0"),
    (lambda p: SGD(p, lr=-1.0), "lr must lie in (0.0"),
    (lambda p: Adam(p, lr=math.nan), "lr must lie in"),
    (lambda p: SGD(p, lr=0.1, momentum=-0.1), "momentum must lie in [0.0, 1.0)"),
    (lambda p: SGD(p, lr=0.1, momentum=1.0), "momentum must lie in [0.0, 1.0)"),
    (lambda p: SGD(p, lr=0.1, weight_decay=-1), "weight_decay must lie in [0.0"),
    (lambda p: SGD(p, lr=0.1, nesterov=True), "nesterov=True needs a momentum > 0"),
    (lambda p: Adam(p, betas=(1.0, 0.999)), "betas[0] must lie in [0.0, 1.0)"),
    (lambda p: Adam(p, betas=(0.9,)), "betas must be a pair"),
    (lambda p: Adam(p, eps=-1e-8), "eps must lie in [0.0"),
])
def test_bad_hyperparameters_are_refused(make, message):
    with pytest.raises(ValueError) as info:
        make([Value(1.0)])
    assert message in str(info.value)


def test_non_numeric_learning_rate_is_a_type_error():
    with pytest.raises(TypeError, match="SGD: lr must be a number; got 'fast'"):
        SGD([Value(1.0)], lr="fast")


class Pair(Module):
    def __init__(self):
        self.w = Value(np.zeros(2), label="w")


@pytest.mark.parametrize("params, error, message", [
    ([], ValueError, "params is empty"),
    ([Value(1.0) * 2.0], ValueError, "was computed by the op '\\*'; only leaf Values"),
    ([Value(1.0, label="c", requires_grad=False)], ValueError, "params\\[0\\] 'c' of shape \\(\\) "
                                                               "has requires_grad=False"),
    ([np.zeros(2)], TypeError, "params\\[0\\] is a ndarray, not a Value"),
    (Value(1.0), TypeError, "must be an iterable of Values"),
    (Pair(), TypeError, "such as model.parameters\\(\\); got Pair"),
])
def test_bad_params_are_refused(params, error, message):
    with pytest.raises(error, match=message):
        Adam(params)


def test_a_parameter_listed_twice_is_refused():
    p = Value(1.0)
    with pytest.raises(ValueError, match="params\\[1\\] of shape \\(\\) is listed twice"):
        SGD([p, p], lr=0.1)


# ---- minimize -----------------------------------------------------------------------------------
class Point(Module):
    """An array parameter and a float parameter, to optimize directly."""

    def __init__(self, dtype=np.float64):
        self.w = Value(np.zeros(3, dtype=dtype))
        self.s = Value(0.0)


TARGET = np.array([1.0, -2.0, 0.5])


def bowl(point):
    """Σ dᵢ (wᵢ - cᵢ)² + (s + 1)²: minimum 0 at w = TARGET, s = -1."""
    return lambda: ((point.w - TARGET) ** 2 * np.array([1.0, 4.0, 0.5])).sum() + (point.s + 1.0) ** 2


@pytest.mark.parametrize("method", ["L-BFGS-B", "CG", "bfgs"])
def test_minimize_finds_the_bottom_of_a_quadratic(method):
    point = Point()
    result = minimize(point, bowl(point), method=method)
    assert result.success
    np.testing.assert_allclose(point.w.data, TARGET, atol=1e-6)
    assert point.s.data == pytest.approx(-1.0, abs=1e-6) and type(point.s.data) is float
    assert result.fun == pytest.approx(0.0, abs=1e-10)
    assert len(result.history) == result.nit
    assert all(b <= a for a, b in zip(result.history, result.history[1:]))
    assert result.history[-1] == pytest.approx(result.fun)


def test_minimize_keeps_float32_parameters():
    point = Point(dtype=np.float32)
    minimize(point, bowl(point))
    assert point.w.dtype == np.float32
    np.testing.assert_allclose(point.w.data, TARGET, atol=1e-4)


def logistic_data():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(40, 2))
    y = (X @ np.array([2.0, -1.0]) + 0.3 + rng.normal(size=40) > 0).astype(float)
    return X, y


def hand_cost_and_gradient(theta, X, y, lam):
    """Ng's regularized logistic regression cost and gradient, written out in numpy;
    theta = (w1, w2, b), the bias is not regularized."""
    w, b = theta[:2], theta[2]
    m = len(y)
    h = 1.0 / (1.0 + np.exp(-(X @ w + b)))
    cost = -np.mean(y * np.log(h) + (1 - y) * np.log(1 - h)) + lam / (2 * m) * np.sum(w ** 2)
    gradient = np.append(X.T @ (h - y) / m + lam / m * w, np.mean(h - y))
    return cost, gradient


@pytest.mark.parametrize("method", ["L-BFGS-B", "CG"])
def test_minimize_solves_logistic_regression(method):
    X, y = logistic_data()
    lam = 1.0
    unit = Neuron(2, seed=0)
    result = minimize(unit, lambda h, t: logistic_cost(h, t, unit.weights(), lam=lam), X, y,
                      method=method, tol=1e-10)
    theta = np.append(unit.w.data, unit.b.data)
    cost, gradient = hand_cost_and_gradient(theta, X, y, lam)
    # the engine's gradient at the answer is the hand gradient, and that is zero there
    np.testing.assert_allclose(result.jac, gradient, rtol=1e-10, atol=1e-12)
    assert result.fun == pytest.approx(cost, rel=1e-12)
    assert np.abs(gradient).max() < 1e-5
    # scipy on the hand-written cost lands on the same weights
    reference = scipy.optimize.minimize(hand_cost_and_gradient, np.zeros(3), args=(X, y, lam),
                                        jac=True, method="BFGS", tol=1e-12)
    np.testing.assert_allclose(theta, reference.x, atol=1e-5)


def test_minimize_leaves_the_model_at_the_reported_point():
    X, y = logistic_data()
    unit = Neuron(2, seed=0)
    result = minimize(unit, logistic_cost, X, y, maxiter=3)
    assert result.nit == 3 and len(result.history) == 3
    np.testing.assert_array_equal(np.append(unit.w.data, unit.b.data), result.x)
    assert logistic_cost(unit(X), y).item() == result.fun


def test_minimize_with_a_closure_matches_minimize_with_data():
    X, y = logistic_data()
    with_data, closure = Neuron(2, seed=0), Neuron(2, seed=0)
    minimize(with_data, logistic_cost, X, y)
    minimize(closure, lambda: logistic_cost(closure(X), y))
    np.testing.assert_array_equal(with_data.w.data, closure.w.data)


def test_minimize_callback_sees_each_iteration_on_the_model():
    point = Point()
    seen = []
    result = minimize(point, bowl(point), callback=lambda i, logs: seen.append(
        (i, logs["loss"], bowl(point)().item())))
    assert [i for i, _, _ in seen] == list(range(result.nit))
    assert [loss for _, loss, _ in seen] == result.history
    assert all(loss == on_model for _, loss, on_model in seen)


# d/ds (s - 3)² is 2(s - 3), but this op claims -1 everywhere: a custom op with a wrong VJP.
wrong_gradient = Op("wrong_gradient", lambda s: (s - 3.0) ** 2, lambda g, out, s: -g + 0.0 * s)


def test_minimize_keeps_the_best_point_when_the_line_search_fails():
    # CG's line search never meets its curvature condition, gives up and reports the start
    # (s = 0, loss 9) after trying points down to the true minimum: the model keeps the best.
    point = Point()
    evaluated = []

    def loss():
        evaluated.append(point.s.data)
        return wrong_gradient(point.s)
    result = minimize(point, loss, method="CG")
    assert not result.success and result.nit == 0
    assert point.s.data == result.x[-1] == 3.0 != evaluated[-1]
    assert result.fun == 0.0 and result.jac[-1] == -1.0


def test_minimize_reports_a_point_scipy_did_not_evaluate(monkeypatch):
    # A scipy method whose callback reports a point it never evaluated: the loss there is
    # computed, so the history, the callback and the model agree.
    def one_iteration(objective, x0, jac, method, tol, callback, options):
        objective(x0)
        callback(x0 + 1.0)
        return scipy.optimize.OptimizeResult(x=x0 + 1.0, fun=objective(x0 + 1.0)[0], nit=1)
    monkeypatch.setattr(scipy.optimize, "minimize", one_iteration)
    point = Point()
    seen = []
    result = minimize(point, bowl(point), callback=lambda i, logs: seen.append(
        (logs["loss"], point.w.data.tolist(), point.s.data)))
    # at w = (1, 1, 1), s = 1: 1·0² + 4·3² + 0.5·0.5² + 2² = 40.125
    assert result.history == [40.125]
    assert seen == [(40.125, [1.0, 1.0, 1.0], 1.0)]


@pytest.mark.parametrize("kwargs, message", [
    (dict(method="Nelder-Mead"), "method must be one of L-BFGS-B, CG"),
    (dict(method="trust-exact"), "method must be one of"),
    (dict(maxiter=0), "maxiter must be a positive integer; got 0"),
    (dict(y=np.zeros(3)), "y was given without X"),
])
def test_minimize_refuses_bad_arguments(kwargs, message):
    point = Point()
    with pytest.raises(ValueError, match=message):
        minimize(point, bowl(point), **kwargs)


def test_minimize_refuses_a_loss_that_is_not_a_scalar_value():
    point = Point()
    with pytest.raises(TypeError, match="minimize: loss_fn must return a Value"):
        minimize(point, lambda: 1.0)


def test_minimize_progress_bar_only_when_asked(capsys):
    point = Point()
    minimize(point, bowl(point))  # stderr is captured, not a terminal: no bar
    assert capsys.readouterr().err == ""
    minimize(point, bowl(point), progress=True)
    assert "minimize (L-BFGS-B)" in capsys.readouterr().err
