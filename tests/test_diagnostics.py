"""diagnose(): per-layer gradient norms, update ratios, dead and saturated units and flags.

Small nets with chosen weights are worked out by hand; the deep nets on the digits check the
verdicts on a badly initialised sigmoid network and on healthy ones.
"""

import math
import os

import numpy as np
import pytest
from hypothesis import given, strategies as st
from hypothesis.extra.numpy import arrays

import tinygrad_nn
from tinygrad_nn import BackwardError, ShapeError, UnsupportedTypeError, Value, diagnose, nn
from tinygrad_nn.data import Standardizer, load_digits
from tinygrad_nn.diagnostics import GradientReport, LayerDiagnosis
from tinygrad_nn.losses import cross_entropy, logistic_cost
from tinygrad_nn.optim import SGD


def squared_error(out, t):
    return ((out - t) ** 2).mean()


def relu_net():
    """2 -> 2 -> 1 with ReLU. On X (positive entries) the second hidden unit, -x1 - x2, is
    negative for both examples: dead.

    h = relu(X W1ᵀ) = [[1, 0], [3, 0]], out = h W2ᵀ = [[2], [6]], loss = ((2-1)² + (6-4)²)/2
    = 2.5; dL/dout = 2 (out - y)/2 = [[1], [2]]; ∇W2 = dL/doutᵀ h = [[7, 0]];
    ∇W1 = (dL/dout W2 ⊙ [h > 0])ᵀ X = [[2, 0], [4, 0]]ᵀ X = [[14, 8], [0, 0]].
    """
    model = nn.Sequential(nn.Linear(2, 2, seed=0), nn.ReLU(), nn.Linear(2, 1, seed=0))
    model.load_state_dict({"0.weight": np.array([[1.0, 0.0], [-1.0, -1.0]]),
                           "0.bias": np.zeros(2), "2.weight": np.array([[2.0, 1.0]]),
                           "2.bias": np.zeros(1)})
    X = np.array([[1.0, 2.0], [3.0, 1.0]])
    y = np.array([[1.0], [4.0]])
    return model, X, y


def test_a_relu_net_worked_by_hand():
    model, X, y = relu_net()
    report = diagnose(model, squared_error, X, y, lr=0.01)
    assert isinstance(report, GradientReport)
    assert report.loss == 2.5 and report.examples == 2 and report.lr == 0.01
    first, second = report.layers
    assert isinstance(first, LayerDiagnosis)
    assert (first.name, first.parameters, first.activation, first.units) == \
        ("0", ("weight", "bias"), "relu", 2)
    assert first.weight_norm == pytest.approx(math.sqrt(3))          # |[[1, 0], [-1, -1]]|
    assert first.grad_norm == pytest.approx(math.sqrt(14**2 + 8**2))  # |[[14, 8], [0, 0]]|
    assert first.relative_grad == pytest.approx(math.sqrt(260) / 7)
    assert first.update_ratio == pytest.approx(0.01 * math.sqrt(260) / math.sqrt(3))
    assert first.dead_share == 0.5 and first.saturated_share is None
    assert (second.name, second.activation, second.units) == ("2", "", 0)
    assert second.dead_share is None and second.saturated_share is None
    assert second.weight_norm == pytest.approx(math.sqrt(5)) and second.grad_norm == 7.0
    assert second.relative_grad == 1.0
    assert second.update_ratio == pytest.approx(0.07 / math.sqrt(5))
    # half of layer 0's units are dead: over max_dead = 25%; nothing else is past a threshold
    assert first.flags == ("dead",) and second.flags == ()
    assert first.reasons == ("50% of its ReLU units dead (> max_dead = 25%)",)
    assert report.layers_with("dead") == ["0"] and not report.healthy
    assert report.verdict == "1 of 2 layers flagged: dead (0)"


def test_diagnose_leaves_grad_alone_and_matches_backward():
    model, X, y = relu_net()
    report = diagnose(model, squared_error, X, y)
    assert all(not np.any(v.grad) for v in model.parameters())
    squared_error(model(X), y).backward()
    grads = dict(model.named_parameters())
    assert report.layers[0].grad_norm == pytest.approx(np.linalg.norm(grads["0.weight"].grad))
    assert report.layers[1].grad_norm == pytest.approx(np.linalg.norm(grads["2.weight"].grad))


def test_the_thresholds_and_the_learning_rate_move_the_flags():
    model, X, y = relu_net()
    # relative gradient of layer 0: sqrt(260)/7 = 2.30 > exploding = 2
    report = diagnose(model, squared_error, X, y, exploding=2.0, max_dead=0.5)
    assert [layer.flags for layer in report.layers] == [("exploding",), ()]
    assert report.layers[0].reasons == ("gradient 2.30e+00 of the last layer's (> exploding = 2)",)
    # an SGD step at lr 0.1 changes W1 by 0.1·sqrt(260)/sqrt(3) = 93% of its norm
    report = diagnose(model, squared_error, X, y, lr=SGD(model.parameters(), lr=0.1))
    assert report.lr == 0.1
    assert report.layers[0].flags == ("exploding", "dead")
    assert "update/weight ratio 9.31e-01 (> max_update = 0.1)" in report.layers[0].reasons
    # the last layer's update 0.01·7/sqrt(5) = 0.031 is under min_update = 0.05
    report = diagnose(model, squared_error, X, y, min_update=0.05, max_dead=0.5)
    assert report.layers_with("vanishing") == ["2"]
    assert report.layers[1].reasons == ("update/weight ratio 3.13e-02 (< min_update = 0.05)",)


def saturating_net(activation):
    """1 -> 2 -> 1: the first hidden unit (weight 10) sees ±10 on two examples of three and
    saturates there; the second (weight 0.5) stays in its linear range."""
    model = nn.Sequential(nn.Linear(1, 2, seed=0), activation(), nn.Linear(2, 1, seed=0))
    model.load_state_dict({"0.weight": np.array([[10.0], [0.5]]), "0.bias": np.zeros(2),
                           "2.weight": np.array([[1.0, 1.0]]), "2.bias": np.zeros(1)})
    return model, np.array([[1.0], [-1.0], [0.1]]), np.zeros((3, 1))


@pytest.mark.parametrize("activation, name", [(nn.Tanh, "tanh"), (nn.Sigmoid, "sigmoid")])
def test_the_saturated_share_is_each_units_share_of_saturated_examples_averaged(activation, name):
    model, X, y = saturating_net(activation)
    layer = diagnose(model, squared_error, X, y).layers[0]
    # unit 1: tanh(±10) (sigmoid 4.5e-5, 0.99995) saturated, tanh(1) = 0.76 not; unit 2 never
    assert (layer.activation, layer.units, layer.dead_share) == (name, 2, None)
    assert layer.saturated_share == pytest.approx((2 / 3 + 0) / 2)
    assert layer.flags == ("saturated",)  # 1/3 > 25%


def test_a_wider_saturation_margin_counts_more_outputs():
    model, X, y = saturating_net(nn.Tanh)
    # |tanh| > 0.7: unit 1 on every example (tanh(1) = 0.76), unit 2 on none (tanh(0.5) = 0.46)
    layer = diagnose(model, squared_error, X, y, saturation=0.3).layers[0]
    assert layer.saturated_share == 0.5


def test_the_course_mlp_has_its_output_sigmoid_counted_though_logistic_cost_skips_it():
    """logistic_cost takes its gradient from the sigmoid's input, so the output activation is
    found from the model's output, not from the loss."""
    model = nn.MLP(3, [4, 2], activation="sigmoid", seed=0)
    X = np.random.default_rng(0).normal(size=(5, 3))
    report = diagnose(model, logistic_cost, X, np.array([0, 1, 1, 0, 1]))
    assert [(layer.name, layer.parameters, layer.activation, layer.units)
            for layer in report.layers] == [("layers.0", ("W", "b"), "sigmoid", 4),
                                            ("layers.1", ("W", "b"), "sigmoid", 2)]
    assert report.healthy


@given(arrays(np.float64, (4, 3), elements=st.floats(-2, 2)),
       arrays(np.float64, (6, 4), elements=st.floats(-2, 2)))
def test_dead_shares_and_gradient_norms_match_numpy(W, X):
    model = nn.Sequential(nn.Linear(4, 3, seed=0), nn.ReLU(), nn.Linear(3, 1, seed=0))
    model.load_state_dict({"0.weight": W.T.copy(), "0.bias": np.zeros(3),
                           "2.weight": np.ones((1, 3)), "2.bias": np.zeros(1)})
    layer = diagnose(model, lambda out, t: out.sum(), X, np.zeros(6)).layers[0]
    h = X @ W
    assert layer.dead_share == np.mean(np.all(h <= 0, axis=0))
    # d(sum out)/dW1 = (1 ⊙ [h > 0])ᵀ X
    assert layer.grad_norm == pytest.approx(np.linalg.norm((h > 0).T.astype(float) @ X))


def test_non_finite_gradients_are_flagged_exploding():
    model, X, y = relu_net()
    with np.errstate(invalid="ignore"):  # inf · 0 in the forward pass
        layer = diagnose(model, squared_error, X * np.array([1.0, np.inf]), y,
                         max_dead=1).layers[0]
    assert "exploding" in layer.flags and layer.reasons[0].startswith("non-finite norms")


def test_bad_arguments_get_clear_errors():
    model, X, y = relu_net()
    with pytest.raises(ValueError, match="diagnose: lr must be a number > 0"):
        diagnose(model, squared_error, X, y, lr=0)
    with pytest.raises(ValueError, match="diagnose: saturation must lie in"):
        diagnose(model, squared_error, X, y, saturation=0.5)
    with pytest.raises(ValueError, match="diagnose: max_dead must be a number >= 0"):
        diagnose(model, squared_error, X, y, max_dead=-1)
    with pytest.raises(ShapeError, match="diagnose: loss_fn must return a one-element Value"):
        diagnose(model, lambda out, t: out - t, X, y)
    with pytest.raises(UnsupportedTypeError, match="diagnose: X must be a numpy array"):
        diagnose(model, squared_error, Value(X), y)
    with pytest.raises(BackwardError, match="does not depend on the model's parameters"):
        diagnose(model, lambda out, t: Value(1.0, requires_grad=False), X, y)
    with pytest.raises(ValueError, match="layers_with: unknown flag 'dying'"):
        diagnose(model, squared_error, X, y).layers_with("dying")


# ---- the report as text and as a picture ----------------------------------------------------------
def test_the_text_report_has_a_line_per_layer_and_a_verdict():
    model, X, y = relu_net()
    lines = str(diagnose(model, squared_error, X, y)).splitlines()
    assert lines[0] == "gradient flow: loss 2.5 on 2 examples, update ratios for lr 0.01"
    assert lines[1].split() == ["layer", "activation", "|W|", "|grad", "W|", "vs", "last",
                                "lr*|grad|/|W|", "dead", "saturated", "flags"]
    assert lines[3].split() == ["0", "relu", "1.73e+00", "1.61e+01", "2.30e+00", "9.31e-02",
                                "50%", "-", "DEAD"]
    assert lines[4].split() == ["2", "-", "2.24e+00", "7.00e+00", "1.00e+00", "3.13e-02", "-",
                                "-"]
    assert lines[6:] == ["verdict: 1 of 2 layers flagged: dead (0)",
                         "  0: 50% of its ReLU units dead (> max_dead = 25%)"]


def test_the_plot_shows_gradient_norms_and_unit_shares(pyplot, tmp_path):
    from tinygrad_nn.plots import FLAG_COLOR, plot_gradient_flow
    from matplotlib.colors import to_hex
    model, X, y = relu_net()
    report = diagnose(model, squared_error, X, y, exploding=2.0)
    fig = report.plot(tmp_path / "flow.svg")
    grads, units = fig.axes
    assert [bar.get_height() for bar in grads.patches] == \
        pytest.approx([math.sqrt(260), 7.0])
    assert [to_hex(bar.get_facecolor()) for bar in grads.patches][0] == FLAG_COLOR
    assert grads.get_yscale() == "log"
    # dead shares only (the net has no sigmoid or tanh), with max_dead
    assert [bar.get_height() for bar in units.patches] == [0.5, 0.0]
    assert [line.get_ydata()[0] for line in units.get_lines()] == [0.25]
    assert [t.get_text() for t in units.get_legend().get_texts()] == ["dead"]
    assert fig.texts[0].get_text() == report.verdict
    assert sorted(os.listdir(tmp_path)) == ["flow.svg"]  # written atomically: no temporary left
    linear = nn.Sequential(nn.Linear(2, 1, seed=0))
    units = plot_gradient_flow(diagnose(linear, squared_error, X, y[:, 0:1])).axes[1]
    assert [t.get_text() for t in units.texts] == ["no relu, sigmoid or tanh units"]


# ---- deep nets on the digits --------------------------------------------------------------------
@pytest.fixture(scope="module")
def digits():
    X, y = load_digits()
    rows = np.random.default_rng(0).permutation(len(X))[:128]
    return Standardizer.fit(X).transform(X)[rows], y[rows], X[rows] / 16


def deep_net(activation, std=None, depth=8, width=32):
    """`depth` linear layers 64 -> width -> ... -> 10 with `activation` between them; weights
    normal with `std` and biases zero, or torch's default initialisation when std is None."""
    sizes = [64] + [width] * (depth - 1) + [10]
    layers = []
    for i in range(depth):
        linear = nn.Linear(sizes[i], sizes[i + 1], seed=i)
        if std is not None:
            nn.init.normal_(linear.weight, std=std, generator=i)
            nn.init.zeros_(linear.bias)
        layers += [linear, activation()] if i < depth - 1 else [linear]
    return nn.Sequential(*layers)


def test_a_deep_sigmoid_net_with_huge_weights_is_saturated(digits):
    X, y, _ = digits
    report = diagnose(deep_net(nn.Sigmoid, std=4.0), cross_entropy, X, y)
    hidden = [str(i) for i in range(0, 14, 2)]
    assert report.layers_with("saturated") == hidden
    assert all(layer.saturated_share > 0.65 for layer in report.layers[:-1])
    # the huge weights make up for the sigmoids' small slopes: the gradients do not vanish
    assert report.layers_with("vanishing") == report.layers_with("exploding") == []
    assert report.verdict == "7 of 8 layers flagged: saturated (0, 2, 4, 6, 8, 10, 12)"


def test_a_deep_sigmoid_net_with_tiny_weights_loses_its_gradient_layer_by_layer(digits):
    X, y, _ = digits
    report = diagnose(deep_net(nn.Sigmoid, std=0.01), cross_entropy, X, y)
    norms = [layer.grad_norm for layer in report.layers]
    assert norms == sorted(norms)  # each layer nearer the input gets less
    assert report.layers[0].relative_grad < 1e-9
    assert report.layers_with("vanishing") == ["0", "2", "4", "6", "8", "10"]
    assert report.layers[0].reasons[0].startswith("gradient 1.66e-12 of the last layer's")
    assert report.layers_with("saturated") == []  # outputs near 0.5: not saturated, just small


def test_healthy_nets_get_no_flags(digits):
    X, y, X16 = digits
    kaiming = deep_net(nn.ReLU, std=math.sqrt(2 / 32))
    nn.init.kaiming_normal_(kaiming[0].weight, generator=0)  # fan_in 64 for the first layer
    for model, loss, inputs in [(kaiming, cross_entropy, X),
                                (nn.MLP(64, [25, 10], activation="sigmoid", seed=0),
                                 logistic_cost, X16)]:
        report = diagnose(model, loss, inputs, y)
        assert report.healthy, str(report)
        assert report.verdict == "healthy: no layer is past a threshold"
        assert all(1e-4 < layer.update_ratio < 1e-1 for layer in report.layers)


def test_diagnose_is_exported_at_the_top_level():
    assert tinygrad_nn.diagnose is diagnose
