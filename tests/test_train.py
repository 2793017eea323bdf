"""The training loop (fit, its history, validation, early stopping, progress) and the
evaluation helpers predict and accuracy."""

import io
import sys

import numpy as np
import pytest

from tinygrad_nn import ShapeError, UnsupportedTypeError, Value, is_grad_enabled
from tinygrad_nn.losses import cross_entropy, mse
from tinygrad_nn.nn import MLP, Layer, Linear, Module, Neuron
from tinygrad_nn.nn.utils import clip_grad_norm_
from tinygrad_nn.optim import SGD, Adam, AdamW, lr_scheduler
from tinygrad_nn.train import History, accuracy, fit, predict


def blobs(n=40, seed=0):
    """Two well separated Gaussian blobs in 2-D, labels 0 and 1, sorted by class."""
    rng = np.random.default_rng(seed)
    X = np.vstack([rng.normal(-3.0, 0.7, (n // 2, 2)), rng.normal(3.0, 0.7, (n // 2, 2))])
    return X, np.repeat([0, 1], n // 2)


def classifier(seed=0):
    return MLP(2, [4, 2], "tanh", output_activation="linear", seed=seed)


class Frozen:
    """An optimizer that changes nothing: the epoch's numbers are then those of fixed weights."""

    def zero_grad(self):
        pass

    def step(self):
        pass


class Drift:
    """An optimizer that adds 1 to every parameter per step, whatever the gradient."""

    def __init__(self, params):
        self.params = params

    def zero_grad(self):
        pass

    def step(self):
        for p in self.params:
            p.data += 1.0


def xor_blobs(n=40, seed=0):
    """Four blobs at (±3, ±3); the class is 1 where the signs differ: separable, not linearly."""
    rng = np.random.default_rng(seed)
    centers = np.array([[-3.0, -3.0], [3.0, 3.0], [-3.0, 3.0], [3.0, -3.0]])
    which = rng.integers(0, 4, n)
    return centers[which] + rng.normal(0.0, 0.7, (n, 2)), np.array([0, 0, 1, 1])[which]


def test_fit_separates_a_separable_problem():
    X, y = xor_blobs()
    model = classifier()
    assert accuracy(model, X, y) < 0.7
    history = fit(model, cross_entropy, X, y, Adam(model.parameters(), lr=0.05), epochs=25,
                  batch_size=8, seed=0)
    assert history.accuracy[-1] == 1.0
    assert accuracy(model, X, y) == 1.0
    assert history.loss[-1] < history.loss[0] / 10


def test_history_has_one_entry_per_epoch():
    X, y = blobs()
    model = classifier()
    history = fit(model, cross_entropy, X, y, Adam(model.parameters(), lr=0.01), epochs=4, seed=0,
                  validation_split=0.25)
    assert isinstance(history, History)
    assert history.epochs == 4 and not history.stopped_early
    for values in (history.loss, history.accuracy, history.val_loss, history.val_accuracy):
        assert len(values) == 4
    assert history.monitor == "val_loss"
    assert history.best_epoch == int(np.argmin(history.val_loss))


def test_history_without_validation_or_metrics():
    X, y = blobs()
    model = classifier()
    history = fit(model, cross_entropy, X, y, Adam(model.parameters()), epochs=3, metrics=())
    assert len(history.loss) == 3
    assert history.accuracy == history.val_loss == history.val_accuracy == []
    assert history.monitor == "loss"


def test_epoch_numbers_are_sample_weighted_means_over_batches():
    # with fixed weights the mean of batch means, weighted by batch size, is the full-data mean
    # (20 samples in batches of 7, 7 and 6)
    X, y = blobs(20)
    model = classifier()
    X_val, y_val = blobs(10, seed=1)
    history = fit(model, cross_entropy, X, y, Frozen(), epochs=1, batch_size=7,
                  validation_data=(X_val, y_val))
    assert history.loss[0] == pytest.approx(cross_entropy(model(X), y).item(), rel=1e-12)
    assert history.accuracy[0] == accuracy(model, X, y)
    assert history.val_loss[0] == pytest.approx(cross_entropy(model(X_val), y_val).item(), rel=1e-12)
    assert history.val_accuracy[0] == accuracy(model, X_val, y_val)


def recording_loss(record):
    """A loss (always 0) that records which sample ids (the targets) it saw, and whether it was
    called for training (gradients on) or for validation."""
    def loss(outputs, ids):
        record.append(("train" if is_grad_enabled() else "validate", ids.tolist()))
        return (outputs * 0.0).sum()
    return loss


def ids_problem(n):
    return np.arange(n, dtype=float).reshape(n, 1), np.arange(n)


def test_validation_split_holds_out_a_fixed_random_part():
    X, ids = ids_problem(20)
    record = []
    fit(Neuron(1, "linear"), recording_loss(record), X, ids, Frozen(), epochs=2, batch_size=4,
        validation_split=0.25, metrics=(), seed=3)
    validated = [seen for kind, seen in record if kind == "validate"]
    trained = [seen for kind, seen in record if kind == "train"]
    assert len(validated) == 2 and validated[0] == validated[1] and len(validated[0]) == 5
    held_out = set(validated[0])
    assert held_out != set(range(15, 20))  # random, not the tail of a sorted dataset
    for epoch in (trained[:4], trained[4:]):
        seen = [i for batch in epoch for i in batch]
        assert sorted(seen + validated[0]) == list(range(20)) and not held_out & set(seen)


def test_shuffle_reorders_every_epoch_and_can_be_turned_off():
    X, ids = ids_problem(12)
    for shuffle in (True, False):
        record = []
        fit(Neuron(1, "linear"), recording_loss(record), X, ids, Frozen(), epochs=2, batch_size=12,
            metrics=(), shuffle=shuffle, seed=0)
        (_, first), (_, second) = record
        assert sorted(first) == sorted(second) == list(range(12))
        if shuffle:
            assert first != second and first != list(range(12))
        else:
            assert first == second == list(range(12))


def test_a_seed_makes_runs_identical():
    X, y = blobs()
    runs = []
    for seed in (7, 7, 8):
        model = classifier()
        history = fit(model, cross_entropy, X, y, Adam(model.parameters(), lr=0.01), epochs=3,
                      batch_size=8, seed=seed, validation_split=0.2)
        runs.append((history, model.state_dict()))
    (h1, s1), (h2, s2), (h3, _) = runs
    assert h1 == h2
    assert all(np.array_equal(s1[k], s2[k]) for k in s1)
    assert h3.loss != h1.loss


def drifting_unit():
    """A linear unit from zero weights, fed ones: after k Drift steps it outputs 2k."""
    unit = Neuron(1, "linear", init="zeros")
    return unit, np.ones((4, 1))


def test_early_stopping_stops_and_restores_the_best_weights():
    # the target is 10: after epoch e (e + 1 steps) the output is 2(e + 1) and
    # val_loss = (2(e + 1) - 10)² = 64, 36, 16, 4, 0, 4, 16: the best is epoch 4, and with a
    # patience of 2 training stops after epoch 6 and goes back to the weights after epoch 4.
    unit, X = drifting_unit()
    y = np.full(4, 10.0)
    history = fit(unit, mse, X, y, Drift(unit.parameters()), epochs=20, batch_size=None,
                  validation_data=(X, y), metrics=(), early_stopping=2)
    assert history.val_loss == [64.0, 36.0, 16.0, 4.0, 0.0, 4.0, 16.0]
    assert history.epochs == 7 and history.stopped_early and history.best_epoch == 4
    assert unit.w.data.tolist() == [5.0] and unit.b.data == 5.0


def test_early_stopping_monitors_the_training_loss_without_validation():
    # the training loss is measured before each step: (2e - 10)² = 100, 64, 36, 16, 4, 0, 4, 16
    unit, X = drifting_unit()
    history = fit(unit, mse, X, np.full(4, 10.0), Drift(unit.parameters()), epochs=20,
                  batch_size=None, metrics=(), early_stopping=2)
    assert history.monitor == "loss" and history.best_epoch == 5 and history.epochs == 8
    assert unit.w.data.tolist() == [6.0]  # the weights at the end of epoch 5


def test_early_stopping_does_not_stop_while_improving():
    unit, X = drifting_unit()
    y = np.full(4, 10.0)
    history = fit(unit, mse, X, y, Drift(unit.parameters()), epochs=5, batch_size=None,
                  validation_data=(X, y), metrics=(), early_stopping=2)
    assert history.epochs == 5 and not history.stopped_early and history.best_epoch == 4


class TerminalStringIO(io.StringIO):
    def isatty(self):
        return True


@pytest.mark.parametrize("progress, terminal, shown", [
    (None, False, False), (None, True, True), (False, True, False), (True, False, True),
])
def test_progress_bar_follows_the_terminal_unless_told(monkeypatch, progress, terminal, shown):
    stream = TerminalStringIO() if terminal else io.StringIO()
    monkeypatch.setattr(sys, "stderr", stream)
    X, y = blobs(8)
    model = classifier()
    fit(model, cross_entropy, X, y, Adam(model.parameters()), epochs=2, batch_size=4,
        progress=progress)
    text = stream.getvalue()
    assert ("epoch 2/2" in text and "loss=" in text and "accuracy=" in text) == shown
    assert text == "" or shown


class Probe(Module):
    """A layer that records, at each forward pass, its mode and whether gradients were on."""

    def __init__(self, layer):
        self.layer = layer
        self.calls = []

    def forward(self, x):
        self.calls.append((self.training, self.layer.training, is_grad_enabled()))
        return self.layer(x)


def test_evaluation_runs_in_eval_mode_without_gradients_and_restores_modes():
    probe = Probe(Layer(2, 3, "linear", seed=0))
    probe.layer.eval()  # a sub-module in another mode than its parent gets its own mode back
    X, y = blobs(6)
    predict(probe, X)
    accuracy(probe, X, y)
    assert probe.calls == [(False, False, False)] * 2
    assert probe.training and not probe.layer.training


def test_fit_trains_in_training_mode_and_restores_modes():
    probe = Probe(Layer(2, 2, "linear", seed=0))
    probe.eval()
    X, y = blobs(6)
    fit(probe, cross_entropy, X, y, Frozen(), epochs=1, batch_size=None, validation_data=(X, y))
    assert probe.calls == [(True, True, True), (False, False, False)]
    assert not probe.training and not probe.layer.training


def hand_layer(W, b, activation):
    layer = Layer(len(W[0]), len(W), activation)
    layer.load_state_dict({"W": np.array(W, dtype=float), "b": np.array(b, dtype=float)})
    return layer


def test_predict_takes_the_argmax_of_several_outputs():
    # outputs x Wᵀ + b for x = (1, 0), (0, 1), (1, 1): (1, 0, 2), (3, -1, 0), (4, -1, 2)
    layer = hand_layer([[1, 3], [0, -1], [2, 0]], [0, 0, 0], "linear")
    X = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    assert predict(layer, X).tolist() == [2, 0, 0]
    assert accuracy(layer, X, [2, 0, 1]) == pytest.approx(2 / 3)
    assert accuracy(layer, X, np.eye(3)[[2, 0, 1]]) == pytest.approx(2 / 3)  # one-hot targets


def test_predict_thresholds_one_output():
    # z = -1, 0, 2 for the three samples
    X = np.array([[-1.0], [0.0], [2.0]])
    sigmoid_unit = hand_layer([[1.0]], [0.0], "sigmoid")  # h = 0.27, 0.5, 0.88: h >= 0.5 is 1
    assert predict(sigmoid_unit, X).tolist() == [0, 1, 1]
    linear_unit = hand_layer([[1.0]], [0.0], "linear")
    assert predict(linear_unit, X, threshold=0.0).tolist() == [0, 1, 1]
    assert predict(linear_unit, X).tolist() == [0, 0, 1]  # 0.5 is the default threshold


def test_accuracy_with_one_output_accepts_0_1_and_minus_1_plus_1_labels():
    neuron = Neuron(1, "tanh")
    neuron.load_state_dict({"w": np.array([1.0]), "b": np.array(0.0)})
    X = np.array([[-2.0], [-1.0], [1.0], [2.0]])
    assert predict(neuron, X, threshold=0.0).tolist() == [0, 0, 1, 1]  # a Neuron gives shape (n,)
    assert accuracy(neuron, X, [0, 1, 1, 1], threshold=0.0) == 0.75
    assert accuracy(neuron, X, [-1, 1, 1, 1], threshold=0.0) == 0.75


def test_accuracy_refuses_targets_that_are_not_class_labels():
    X = np.array([[-1.0], [2.0]])
    with pytest.raises(ValueError, match="accuracy with one output needs class labels 0/1 or "
                                         "-1/\\+1; got 0.8"):
        accuracy(hand_layer([[1.0]], [0.0], "sigmoid"), X, [0.0, 0.8])
    with pytest.raises(ValueError, match="integer labels must lie in 0..2 for 3 output units; got 3"):
        accuracy(hand_layer([[1.0], [2.0], [3.0]], [0, 0, 0], "linear"), X, [0, 3])


def test_fit_with_regression_targets_needs_metrics_off():
    unit, X = drifting_unit()
    with pytest.raises(ValueError, match="fit: accuracy with one output .* use metrics=\\(\\)"):
        fit(unit, mse, X, np.full(4, 2.5), Frozen(), epochs=1)


@pytest.mark.parametrize("kwargs, error, message", [
    (dict(X=np.zeros(4)), ShapeError,
     "fit: X must be a batch of samples, of shape \\(n, features\\) or \\(n, channels, ...\\); got shape \\(4,\\)"),
    (dict(y=np.zeros(3)), ShapeError,
     "y must have one target per row of X \\(4\\); got shape \\(3,\\)"),
    (dict(epochs=0), ValueError, "epochs must be an integer >= 1; got 0"),
    (dict(batch_size=0), ValueError, "batch_size must be an integer >= 1; got 0"),
    (dict(metrics=("f1",)), ValueError, "unknown metrics \\['f1'\\]"),
    (dict(validation_split=1.0), ValueError, "validation_split must lie in \\[0, 1\\)"),
    (dict(validation_split=0.1), ValueError, "leaves 0 for validation"),
    (dict(validation_split=0.5, validation_data=(np.zeros((2, 2)), np.zeros(2))), ValueError,
     "not both"),
    (dict(early_stopping=0), ValueError, "early_stopping must be an integer >= 1"),
    (dict(loss_fn=lambda out, y: 0.5), TypeError, "fit: loss_fn must return a Value"),
    (dict(loss_fn=lambda out, y: out), ShapeError, "one-element Value; got shape \\(4, 2\\)"),
])
def test_fit_refuses_bad_arguments(kwargs, error, message):
    model = classifier()
    arguments = dict(model=model, loss_fn=cross_entropy, X=np.zeros((4, 2)),
                     y=np.zeros(4, dtype=int), optimizer=Frozen())
    arguments.update(kwargs)
    with pytest.raises(error, match=message):
        fit(**arguments)


def test_predict_needs_a_batch():
    with pytest.raises(ShapeError, match="predict: X must be a batch"):
        predict(classifier(), np.zeros(2))


def test_a_value_as_data_is_refused_with_a_hint():
    with pytest.raises(UnsupportedTypeError,
                       match="fit: X must be a numpy array, not a Value; pass X.numpy"):
        fit(classifier(), cross_entropy, Value(np.zeros((4, 2))), np.zeros(4), Frozen())


# ---- learning-rate schedules and gradient clipping ----------------------------------------------
class RecordingSGD(SGD):
    """SGD that records, at each step, the rate and a copy of every gradient it steps with."""

    def __init__(self, params, **settings):
        super().__init__(params, **settings)
        self.seen = []

    def step(self):
        self.seen.append((self.param_groups[0]["lr"], [np.array(p.grad) for p in self.params]))
        super().step()


def test_a_scheduler_steps_once_per_epoch_and_history_records_the_rate():
    X, y = blobs(12)
    model = classifier()
    opt = RecordingSGD(model.parameters(), lr=0.1)
    history = fit(model, cross_entropy, X, y, opt, epochs=5, batch_size=4, seed=0,
                  scheduler=lr_scheduler.StepLR(opt, step_size=2, gamma=0.5))
    assert history.lr == [0.1, 0.1, 0.05, 0.05, 0.025]
    assert [rate for rate, _ in opt.seen] == [rate for rate in history.lr for _ in range(3)]


def test_a_scheduler_can_step_once_per_batch():
    # 10 samples in batches of 4: 3 steps per epoch, 9 in all, as OneCycleLR is told
    X, y = blobs(10)
    model = classifier()
    opt = RecordingSGD(model.parameters(), lr=0.1, momentum=0.9)
    schedule = lr_scheduler.OneCycleLR(opt, max_lr=1.0, epochs=3, steps_per_epoch=3)
    history = fit(model, cross_entropy, X, y, opt, epochs=3, batch_size=4, seed=0,
                  scheduler=schedule, scheduler_step="batch")
    reference = lr_scheduler.OneCycleLR(SGD([Value(1.0)], momentum=0.9), max_lr=1.0,
                                        total_steps=9)
    expected = []
    for _ in range(9):
        expected.append(reference.get_last_lr()[0])
        reference.step()
    assert [rate for rate, _ in opt.seen] == expected
    assert history.lr == expected[::3] and schedule.last_epoch == 9


@pytest.mark.parametrize("when, expected", [
    ("epoch", [1.0, 1.0, 1.0, 0.5, 0.5, 0.5]),
    ("batch", [1.0, 0.5, 1 / 3, 0.25, 0.2, 1 / 6]),
])
def test_a_schedule_function_sets_the_rate_before_each_epoch_or_batch(when, expected):
    X, y = blobs(6)
    model = classifier()
    opt = RecordingSGD(model.parameters(), lr=0.1)
    history = fit(model, cross_entropy, X, y, opt, epochs=2, batch_size=2, seed=0,
                  scheduler=lambda index: 1.0 / (1 + index), scheduler_step=when)
    assert [rate for rate, _ in opt.seen] == pytest.approx(expected, rel=1e-15)
    assert history.lr == pytest.approx(expected[::3], rel=1e-15)


def test_history_records_no_rate_for_an_optimizer_without_groups():
    X, y = blobs(6)
    history = fit(classifier(), cross_entropy, X, y, Frozen(), epochs=2)
    assert history.lr == []


def unclipped_gradients(model, X, y):
    model.zero_grad()
    cross_entropy(model(X), y).backward()
    return [np.array(p.grad) for p in model.parameters()]


@pytest.mark.parametrize("max_norm", [0.05, 100.0])
def test_clip_grad_norm_scales_the_gradients_before_the_step(max_norm):
    # one full batch from the same start: the gradients fit steps with are the unclipped ones
    # times min(1, max_norm / (norm + 1e-6))
    X, y = blobs(8)
    model = classifier()
    expected = unclipped_gradients(model, X, y)
    opt = RecordingSGD(model.parameters(), lr=0.1)
    fit(model, cross_entropy, X, y, opt, epochs=1, batch_size=None, clip_grad_norm=max_norm)
    norm = float(np.sqrt(sum(np.sum(g * g) for g in expected)))
    scale = min(1.0, max_norm / (norm + 1e-6))
    for seen, unclipped in zip(opt.seen[0][1], expected):
        np.testing.assert_allclose(seen, unclipped * scale, rtol=1e-12)
    assert (norm > max_norm) == (max_norm == 0.05)


def test_clip_grad_value_then_norm_both_hold():
    X, y = blobs(8)
    model = classifier()
    expected = unclipped_gradients(model, X, y)
    opt = RecordingSGD(model.parameters(), lr=0.1)
    fit(model, cross_entropy, X, y, opt, epochs=1, batch_size=None, clip_grad_value=0.01,
        clip_grad_norm=0.02)
    clipped = [Value(np.zeros_like(g)) for g in expected]
    for v, g in zip(clipped, expected):
        v.grad = np.clip(g, -0.01, 0.01)
    clip_grad_norm_(clipped, 0.02)
    for seen, v in zip(opt.seen[0][1], clipped):
        np.testing.assert_allclose(seen, v.grad, rtol=1e-12)
    assert max(np.abs(g).max() for g in opt.seen[0][1]) <= 0.01


@pytest.mark.parametrize("kwargs, error, message", [
    (dict(scheduler_step="iteration"), ValueError, "scheduler_step must be 'epoch' or 'batch'"),
    (dict(scheduler=42), TypeError, "scheduler must be a learning-rate scheduler"),
    (dict(scheduler=lambda epoch: 0.1), TypeError,
     "a scheduler function needs an optimizer with param_groups; Frozen has none"),
    (dict(clip_grad_norm=0.0), ValueError, "clip_grad_norm must be a number > 0"),
    (dict(clip_grad_value=-1), ValueError, "clip_grad_value must be a number > 0"),
    (dict(clip_grad_value="1"), ValueError, "clip_grad_value must be a number > 0"),
])
def test_fit_refuses_bad_schedules_and_limits(kwargs, error, message):
    X, y = blobs(4)
    with pytest.raises(error, match=message):
        fit(classifier(), cross_entropy, X, y, Frozen(), **kwargs)


# ---- frozen parameters and sub-modules held in dicts ---------------------------------------------
class Blocks(Module):
    """Two layers held in a dict attribute, and a constant Value that needs no gradient."""

    def __init__(self):
        self.blocks = {"first": Linear(2, 4, seed=0), "last": Linear(4, 2, seed=1)}
        self.scale = Value(np.array(0.5), requires_grad=False)

    def forward(self, x):
        return self.blocks["last"]((self.blocks["first"](x) * self.scale).tanh())


def test_fit_trains_layers_held_in_a_dict_and_restores_the_best_on_early_stopping():
    X, y = blobs()
    model = Blocks()
    assert [name for name, _ in model.named_parameters()] == [
        "blocks.first.weight", "blocks.first.bias", "blocks.last.weight", "blocks.last.bias"]
    before = model.state_dict()
    states = []
    history = fit(model, cross_entropy, X, y, SGD(model.parameters(), lr=0.5), epochs=30,
                  validation_split=0.25, seed=0, early_stopping=2,
                  callback=lambda epoch, logs: states.append(model.state_dict()))
    after = model.state_dict()
    assert all(not np.array_equal(before[name], after[name]) for name in before if name != "scale")
    assert after["scale"] == 0.5
    assert all(np.array_equal(after[name], states[history.best_epoch][name]) for name in after)
    assert accuracy(model, X, y) == 1.0


@pytest.mark.parametrize("make", [
    lambda params: SGD(params, lr=0.1, momentum=0.9, weight_decay=0.1),
    lambda params: AdamW(params, lr=0.05, weight_decay=0.5),
])
def test_frozen_parameters_stay_put_though_the_optimizer_was_built_before(make):
    # weight decay and momentum would move a frozen weight whose gradient is zero
    X, y = blobs()
    model = Blocks()
    optimizer = make(model.parameters())
    model.blocks["first"].requires_grad_(False)
    first = model.blocks["first"].state_dict()
    last = model.blocks["last"].weight.data.copy()
    fit(model, cross_entropy, X, y, optimizer, epochs=3, batch_size=8, seed=0)
    assert all(np.array_equal(v, first[k]) for k, v in model.blocks["first"].state_dict().items())
    assert not np.array_equal(model.blocks["last"].weight.data, last)


def test_a_layer_frozen_by_the_callback_stops_changing_from_the_next_epoch():
    X, y = blobs()
    model = Blocks()
    frozen = {}

    def freeze(epoch, logs):
        if epoch == 1:
            model.blocks["first"].requires_grad_(False)
            frozen.update(model.blocks["first"].state_dict())
    start = model.blocks["first"].weight.data.copy()
    fit(model, cross_entropy, X, y, SGD(model.parameters(), lr=0.1, momentum=0.9), epochs=4,
        seed=0, callback=freeze)
    assert not np.array_equal(frozen["weight"], start)
    assert all(np.array_equal(v, frozen[k]) for k, v in model.blocks["first"].state_dict().items())
