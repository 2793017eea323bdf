"""No silent wrong numbers: fit and minimize stop with a DomainError that says where a NaN or
infinity came from (data rows, the batch, the parameters), and leave the model at its last good
parameters; the helpers of tinygrad_nn.finite that find them."""

import math
import re

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from tinygrad_nn import DomainError, Value
from tinygrad_nn.finite import all_finite, check_data, listed, nonfinite_entries, nonfinite_rows
from tinygrad_nn.losses import mse
from tinygrad_nn.nn import Module
from tinygrad_nn.optim import GRADIENT_METHODS, SGD, Adam, minimize
from tinygrad_nn.train import fit

# overflowing on purpose; and TNC takes no maxiter (scipy warns, minimize passes it to all)
pytestmark = [pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning"),
              pytest.mark.filterwarnings("ignore:Unknown solver options")]
EXAMPLES = settings(max_examples=min(settings.default.max_examples, 25), deadline=None)
RNG = np.random.default_rng(0)
X = RNG.normal(size=(8, 2))
Y = X @ np.array([1.0, -2.0])
NONFINITE = st.sampled_from([math.nan, math.inf, -math.inf])


class Line(Module):
    """y = X w: linear regression, whose gradient descent is easy to follow in numpy."""

    def __init__(self, w=(0.0, 0.0)):
        self.w = Value(np.array(w, dtype=np.float64))

    def forward(self, x):
        return x @ self.w


def descent(lr, steps=10_000):
    """Full-batch gradient descent on mse for Line, in numpy: the losses before each step and
    the weights after each, up to the first non-finite loss."""
    w, losses, weights = np.zeros(2), [], [np.zeros(2)]
    for _ in range(steps):
        d = X @ w - Y
        loss = np.mean(d * d)
        if not math.isfinite(loss):
            break
        w = w - lr * 2.0 / len(X) * X.T @ d
        losses.append(loss)
        weights.append(w)
    return losses, weights


# ---- the helpers --------------------------------------------------------------------------
@given(st.sets(st.integers(0, 9), max_size=10), NONFINITE, st.integers(0, 2))
def test_nonfinite_rows_finds_exactly_the_poisoned_rows(rows, bad, column):
    a = RNG.normal(size=(10, 3))
    a[sorted(rows), column] = bad
    assert nonfinite_rows(a).tolist() == sorted(rows)
    assert all_finite(a) == (not rows)


def test_all_finite_looks_again_when_only_the_sum_overflows():
    assert all_finite(np.array([1e308, 1e308]))
    assert not all_finite(np.array([1e308, np.inf]))
    assert all_finite(np.arange(3)) and all_finite(2.5) and not all_finite(math.nan)
    assert all_finite(Value(np.ones(2))) and not all_finite(Value(np.array([0.0, np.nan])))


def test_messages_list_a_few_rows_and_count_the_entries():
    assert listed([3, 17]) == "[3, 17]"
    assert listed(list(range(20)), limit=3) == "[0, 1, 2, ...] (20 in all)"
    assert nonfinite_entries([("a", np.array([np.nan, 1.0, np.inf])), ("b", np.ones(2)),
                              ("c", math.inf), ("d", None)]) == ["a (2 of 3 entries)", "c (= inf)"]
    with pytest.raises(DomainError, match=re.escape("f: y holds NaN or infinite values in rows "
                                                    "[1] (of 2)")):
        check_data("f", X=np.ones((2, 2)), y=np.array([0.0, np.nan]))


# ---- fit: the data --------------------------------------------------------------------------
@EXAMPLES
@given(st.sets(st.integers(0, 7), min_size=1), NONFINITE, st.sampled_from(["X", "y"]))
def test_fit_refuses_data_with_nonfinite_values_naming_the_rows(rows, bad, where):
    data = {"X": X.copy(), "y": Y.copy()}
    data[where][sorted(rows)] = bad
    model = Line()
    with pytest.raises(DomainError, match=re.escape(f"fit: {where} holds NaN or infinite values "
                                                    f"in rows {listed(sorted(rows))} (of 8)")):
        fit(model, mse, data["X"], data["y"], SGD(model.parameters(), lr=0.1), metrics=(),
            validation_split=0.25)
    assert model.w.data.tolist() == [0.0, 0.0]


def test_fit_refuses_validation_data_with_nonfinite_values():
    X_val = X.copy()
    X_val[5, 1] = np.nan
    model = Line()
    with pytest.raises(DomainError, match=re.escape("validation_data[0] holds NaN or infinite "
                                                    "values in rows [5]")):
        fit(model, mse, X, Y, SGD(model.parameters(), lr=0.1), metrics=(),
            validation_data=(X_val, Y))


# ---- fit: a diverging run -------------------------------------------------------------------
RATES = st.floats(4.0, 40.0)  # well above 2/λmax of this problem: every run diverges


@EXAMPLES
@given(RATES)
def test_fit_stops_at_the_first_infinite_loss_and_keeps_the_last_good_step(lr):
    losses, weights = descent(lr)
    model = Line()
    with pytest.raises(DomainError) as error:
        fit(model, mse, X, Y, SGD(model.parameters(), lr=lr), epochs=1000, batch_size=None,
            shuffle=False, metrics=())
    message = str(error.value)
    assert message.startswith(f"fit: epoch {len(losses)}, batch 0 (counting from 0): the loss "
                              "is inf, so its step was not taken; the model's outputs are finite")
    assert "The model's parameters are those after the last good step" in message
    # the losses of the last five epochs, diverging
    assert message.endswith(", ".join(["...", *(f"{loss:.4g}" for loss in losses[-5:])]))
    np.testing.assert_allclose(model.w.data, weights[-1], rtol=1e-9)
    assert model.training


@EXAMPLES
@given(RATES)
def test_with_early_stopping_a_diverging_run_ends_at_the_best_epoch(lr):
    losses, weights = descent(lr)
    best = int(np.argmin(losses))
    model = Line()
    with pytest.raises(DomainError, match=f"those of epoch {best}, the best so far"):
        fit(model, mse, X, Y, SGD(model.parameters(), lr=lr), epochs=1000, batch_size=None,
            shuffle=False, metrics=(), early_stopping=1000)
    np.testing.assert_allclose(model.w.data, weights[best + 1], rtol=1e-9)
    assert all_finite(model.w)


def test_a_step_that_overflows_names_the_parameter_and_says_what_the_model_holds():
    model = Line()
    with pytest.raises(DomainError, match=re.escape(
            "fit: epoch 0, batch 0 (counting from 0): the optimizer's step made w (2 of 2 "
            "entries) non-finite from finite gradients")) as error:
        fit(model, mse, X, 100.0 * Y, SGD(model.parameters(), lr=1e308), metrics=())
    message = str(error.value)
    assert "too large a learning rate (lr=1e+308)?" in message
    assert "The model's parameters are those the failed step left" in message
    assert not all_finite(model.w)  # not undone: that would copy every parameter every step


# ---- fit: where a non-finite loss came from -------------------------------------------------
class Scale(Module):
    """y = x[:, 0] · w with a huge w = 1e100: rows with x = 1e250 overflow to inf, rows with
    x = 1 give a finite loss (1e100)² and gradient."""

    def __init__(self):
        self.w = Value(np.array([1e100]))

    def forward(self, x):
        return x[:, :1] @ self.w


@EXAMPLES
@given(st.sets(st.integers(0, 15), min_size=1), st.sampled_from([1, 4, 16]))
def test_fit_names_the_rows_whose_outputs_overflow(rows, batch_size):
    X = np.ones((16, 1))
    X[sorted(rows)] = 1e250
    first = min(rows) // batch_size  # the first batch holding such a row
    in_batch = [r for r in sorted(rows) if r // batch_size == first]
    model = Scale()
    with pytest.raises(DomainError, match=re.escape(
            f"fit: epoch 0, batch {first} (counting from 0): the loss is inf, so its step was not "
            f"taken; the model's outputs are non-finite for rows {listed(in_batch)} of X")):
        fit(model, mse, X, np.zeros(16), Adam(model.parameters()), batch_size=batch_size,
            shuffle=False, metrics=())


@EXAMPLES
@given(st.integers(0, 19))
def test_rows_are_those_of_the_callers_X_after_a_validation_split(row):
    X = np.ones((20, 1))
    X[row] = 1e250
    model = Scale()
    with pytest.raises(DomainError, match=re.escape(f"non-finite for rows [{row}] of X")):
        fit(model, mse, X, np.zeros(20), Adam(model.parameters()), batch_size=None, metrics=(),
            validation_split=0.3, seed=1)


def test_a_nonfinite_validation_loss_names_the_epoch_and_the_rows():
    X_val = np.ones((5, 1))
    X_val[3] = 1e250
    model = Scale()
    with pytest.raises(DomainError, match=re.escape(
            "fit: the validation loss after epoch 0 (counting from 0) is inf; the model's outputs "
            "are non-finite for rows [3] of validation_data[0]")):
        fit(model, mse, np.zeros((4, 1)), np.zeros(4), SGD(model.parameters(), lr=0.1),
            metrics=(), validation_data=(X_val, np.zeros(5)))


@pytest.mark.parametrize("clipping, done", [
    ({}, "and the step made blocks.inner.w (2 of 2 entries) non-finite"),
    # clipping would make inf a number: the gradients are checked before it
    (dict(clip_grad_value=1.0), "so the step was not taken"),
])
def test_an_infinite_gradient_of_a_finite_loss_names_the_parameter(clipping, done):
    # loss = mean((w · 1e305)²) = 1e10 at w = 1e-300, but its gradient 2e5 · 1e305 overflows
    class Steep(Module):
        def __init__(self):
            self.blocks = {"inner": Line(w=(1e-300, 0.0))}

        def forward(self, x):
            return self.blocks["inner"](x * 0.0 + 1.0) * 1e305

    model = Steep()
    with pytest.raises(DomainError, match=re.escape(
            "fit: epoch 0, batch 0 (counting from 0): the loss 1e+10 is finite but backward() "
            f"gave non-finite gradients to blocks.inner.w (2 of 2 entries), {done}")):
        fit(model, mse, X, np.zeros(8), SGD(model.parameters(), lr=0.1), metrics=(), **clipping)
    if clipping:  # checked before the step: not taken
        assert model.blocks["inner"].w.data.tolist() == [1e-300, 0.0]


# ---- minimize ---------------------------------------------------------------------------------
def test_minimize_refuses_data_and_starting_points_that_are_not_finite():
    X_bad = X.copy()
    X_bad[[2, 6], 0] = np.inf
    with pytest.raises(DomainError, match=re.escape("minimize: X holds NaN or infinite values in "
                                                    "rows [2, 6] (of 8)")):
        minimize(Line(), mse, X_bad, Y)
    with pytest.raises(DomainError, match=re.escape("minimize: at the starting parameters the "
                                                    "loss is inf")):
        minimize(Scale(), mse, np.full((3, 1), 1e250), np.zeros(3))
    steep = Line(w=(1e-300, 0.0))
    with pytest.raises(DomainError, match=re.escape(
            "at the starting parameters the loss 1e+10 is finite but the gradients of w (1 of 2 "
            "entries) are not")):
        minimize(steep, lambda: ((steep.w * 1e305) ** 2).sum())


class Walled(Module):
    """A parameter s whose loss (s - 3)² + s⁴, least at s = 1, is NaN for |s| >= 3.5: scipy's
    line searches probe there from s = -3."""

    def __init__(self):
        self.s = Value(np.array([-3.0]))
        self.nan_evaluations = 0

    def loss(self):
        value = ((self.s - 3.0) ** 2 + self.s ** 4).sum()
        if abs(self.s.data[0]) < 3.5:
            return value
        self.nan_evaluations += 1
        return value * math.nan


@pytest.mark.parametrize("method", GRADIENT_METHODS)
def test_minimize_never_returns_a_nonfinite_answer(method):
    """Whatever scipy does with the NaNs, the answer is finite and true, or DomainError."""
    model = Walled()
    try:
        result = minimize(model, model.loss, method=method)
    except DomainError as error:
        assert f"scipy's {method} ended at a point where the loss is nan" in str(error)
        best = float(re.search(r"of loss (\S+)$", str(error)).group(1))
        assert model.loss().item() == pytest.approx(best, rel=1e-5)
        return
    assert math.isfinite(result.fun) and result.fun == model.loss().item()
    assert result.x.tolist() == model.s.data.tolist()
    assert result.nonfinite == model.nan_evaluations
    if result.nonfinite and not result.success:
        assert f"{result.nonfinite} of " in result.message
    if result.success:
        assert result.fun == pytest.approx(5.0, rel=1e-6)  # at s = 1: 2² + 1
