"""SGD, Adam, AdamW, RMSprop and Adagrad step by step against torch.optim (float64, 1e-12),
over hypothesis-drawn settings and two parameter groups, also with gradients and parameters
changed in place between steps (the state must copy, never alias them); parameter groups, the
lr property and state dicts; argument checks."""

import math

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from tinygrad_nn import Value, load, save
from tinygrad_nn.optim import SGD, Adagrad, Adam, AdamW, RMSprop, lr_scheduler

torch = pytest.importorskip("torch")

EXAMPLES = settings(max_examples=min(settings.default.max_examples, 25), deadline=None)
STEPS = 10
RNG = np.random.default_rng(0)
X, C, W0, B0 = (RNG.normal(size=(5, 3)), RNG.normal(size=(5, 4)), RNG.normal(size=(3, 4)),
                RNG.normal(size=4))


def loss(X, C, W, b, s):
    """A small network's loss, written once for our Values and torch's tensors."""
    return ((X @ W + b).tanh() * C).sum() + (s - 2.0) ** 2 * 0.5 + (W * W).sum() * s * 0.1


class Run:
    """The same three parameters (an array W, an array b, a float s) in both libraries, in two
    groups: [W, b] with its own settings, [s] with the optimizer's defaults."""

    def __init__(self, ours, theirs, group, defaults, dtype=np.float64):
        self.ours = [Value(W0.astype(dtype)), Value(B0.astype(dtype)),
                     Value(0.5) if dtype == np.float64 else Value(np.array(0.5, dtype))]
        self.theirs = [torch.tensor(np.asarray(a.data), requires_grad=True) for a in self.ours]
        self.opt = ours([{"params": self.ours[:2], **group}, {"params": self.ours[2:]}],
                        **defaults)
        self.torch_opt = theirs([{"params": self.theirs[:2], **group},
                                 {"params": self.theirs[2:]}], **defaults)
        self.data = [a.astype(dtype) for a in (X, C)]

    def step(self):
        self.opt.zero_grad()
        loss(*self.data, *self.ours).backward()
        self.opt.step()
        self.torch_opt.zero_grad()
        loss(*(torch.tensor(a) for a in self.data), *self.theirs).backward()
        self.torch_opt.step()

    def check(self, rtol=1e-12, atol=1e-12):
        for ours, theirs in zip(self.ours, self.theirs):
            np.testing.assert_allclose(ours.data, theirs.detach().numpy(), rtol=rtol, atol=atol)


class InPlaceRun(Run):
    """A Run whose array gradients live in arrays the caller keeps and writes in place (as
    code that zeroes ``p.grad[...] = 0`` does), and whose array parameters are also scaled in
    place after each step, in both libraries: optimizer state that aliased a gradient or a
    parameter's data (a momentum buffer that *is* the first gradient) would change with them."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.grads = [np.zeros_like(p.data) for p in self.ours[:2]]

    def step(self):
        self.opt.zero_grad()
        loss(*self.data, *self.ours).backward()
        for p, kept in zip(self.ours, self.grads):
            kept[...] = p.grad
            p.grad = kept
        self.opt.step()
        self.torch_opt.zero_grad()
        loss(*(torch.tensor(a) for a in self.data), *self.theirs).backward()
        self.torch_opt.step()
        for kept in self.grads:
            kept[...] = 0.0
        for p, t in zip(self.ours[:2], self.theirs[:2]):
            p.data *= 0.9
            with torch.no_grad():
                t.mul_(0.9)


def agree(ours, theirs, group, defaults, steps=STEPS, run=Run):
    run = run(ours, theirs, group, defaults)
    for _ in range(steps):
        run.step()
        run.check()
    assert type(run.ours[2].data) is float
    return run


rates = st.floats(1e-3, 0.3)
decays = st.one_of(st.just(0.0), st.floats(0.0, 0.1))
epsilons = st.floats(1e-10, 1e-4).map(lambda e: float(f"{e:.3g}"))


# ---- each optimizer's settings, drawn: (settings of the first group, the defaults) ---------
def sgd_settings(data):
    momentum = data.draw(st.one_of(st.just(0.0), st.floats(0.0, 0.95)))
    dampening = data.draw(st.one_of(st.just(0.0), st.floats(0.0, 0.9)))
    nesterov = momentum > 0 and dampening == 0 and data.draw(st.booleans())
    group = dict(lr=data.draw(rates), weight_decay=data.draw(decays))
    defaults = dict(lr=data.draw(rates), momentum=momentum, dampening=dampening,
                    nesterov=nesterov, weight_decay=data.draw(decays),
                    maximize=data.draw(st.booleans()))
    return group, defaults


def adam_settings(data):
    group = dict(lr=data.draw(rates), weight_decay=data.draw(decays),
                 betas=(data.draw(st.floats(0.0, 0.99)), data.draw(st.floats(0.5, 0.9999))))
    defaults = dict(lr=data.draw(st.floats(1e-3, 0.1)), eps=data.draw(epsilons),
                    weight_decay=data.draw(decays), amsgrad=data.draw(st.booleans()),
                    maximize=data.draw(st.booleans()))
    return group, defaults


def rmsprop_settings(data):
    group = dict(lr=data.draw(st.floats(1e-3, 0.05)), alpha=data.draw(st.floats(0.5, 0.999)),
                 momentum=data.draw(st.one_of(st.just(0.0), st.floats(0.0, 0.9))))
    defaults = dict(lr=data.draw(st.floats(1e-3, 0.05)), eps=data.draw(epsilons),
                    weight_decay=data.draw(decays), centered=data.draw(st.booleans()),
                    momentum=data.draw(st.one_of(st.just(0.0), st.floats(0.0, 0.9))),
                    maximize=data.draw(st.booleans()))
    return group, defaults


def adagrad_settings(data):
    # (torch starts every group's sum at the constructor's initial_accumulator_value, even for
    # a group that sets its own; we use the group's: it is given here for all groups alike)
    group = dict(lr=data.draw(rates), lr_decay=data.draw(st.floats(0.0, 0.5)))
    defaults = dict(lr=data.draw(rates), eps=data.draw(epsilons), weight_decay=data.draw(decays),
                    initial_accumulator_value=data.draw(st.floats(0.0, 1.0)),
                    maximize=data.draw(st.booleans()))
    return group, defaults


OPTIMIZERS = {"SGD": (SGD, sgd_settings), "Adam": (Adam, adam_settings),
              "AdamW": (AdamW, adam_settings), "RMSprop": (RMSprop, rmsprop_settings),
              "Adagrad": (Adagrad, adagrad_settings)}


@EXAMPLES
@given(st.data())
@pytest.mark.parametrize("name", OPTIMIZERS)
def test_agrees_with_torch(name, data):
    ours, draw = OPTIMIZERS[name]
    agree(ours, getattr(torch.optim, name), *draw(data))


@EXAMPLES
@given(st.data())
@pytest.mark.parametrize("name", OPTIMIZERS)
def test_state_is_a_copy_so_gradients_and_data_changed_in_place_agree_with_torch(name, data):
    ours, draw = OPTIMIZERS[name]
    agree(ours, getattr(torch.optim, name), *draw(data), steps=4, run=InPlaceRun)


def test_sgd_momentum_survives_the_gradient_being_zeroed_in_place():
    # b = g = 1 and p = -1 after the first step; with the gradient zeroed in place, the second
    # step moves by b = 0.9 * 1 + 0 = 0.9 (a buffer that was the gradient array would be 0)
    p = Value(np.zeros(1))
    opt = SGD([p], lr=1.0, momentum=0.9)
    p.grad = np.ones(1)
    opt.step()
    p.grad[...] = 0.0
    opt.step()
    assert p.data.tolist() == [-1.9]
    assert opt.state[p]["momentum_buffer"].tolist() == [0.9]


def test_adagrad_starts_each_groups_sum_at_the_groups_own_value():
    p, q = Value(np.array([1.0])), Value(np.array([1.0]))
    opt = Adagrad([{"params": [p], "initial_accumulator_value": 3.0}, {"params": [q]}], lr=1.0,
                  eps=0.0)
    p.grad, q.grad = np.array([1.0]), np.array([1.0])
    opt.step()
    # s = 3 + 1 = 4: the step is 1/2; s = 0 + 1: the step is 1
    assert (p.data[0], q.data[0]) == (0.5, 0.0)


def test_adam_with_decoupled_weight_decay_is_adamw():
    agree(Adam, torch.optim.Adam, dict(weight_decay=0.05),
          dict(lr=0.05, decoupled_weight_decay=True))


@pytest.mark.parametrize("ours, theirs, defaults", [
    (SGD, torch.optim.SGD, dict(lr=0.05, momentum=0.9, nesterov=True)),
    (Adam, torch.optim.Adam, dict(lr=0.01, amsgrad=True)),
    (RMSprop, torch.optim.RMSprop, dict(lr=0.01, momentum=0.5, centered=True)),
])
def test_float32_parameters_stay_float32_and_agree_with_torch(ours, theirs, defaults):
    run = Run(ours, theirs, {}, defaults, dtype=np.float32)
    for _ in range(STEPS):
        run.step()
    assert all(p.dtype == np.float32 for p in run.ours)
    run.check(rtol=1e-5, atol=1e-6)


def test_defaults_are_torchs():
    for ours, theirs in [(SGD, torch.optim.SGD), (Adam, torch.optim.Adam),
                         (AdamW, torch.optim.AdamW), (RMSprop, torch.optim.RMSprop),
                         (Adagrad, torch.optim.Adagrad)]:
        mine = ours([Value(1.0)]).defaults
        torchs = theirs([torch.zeros(1, requires_grad=True)]).defaults
        for key, value in mine.items():
            assert torchs[key] == value, (ours.__name__, key)


# ---- hyperparameters changed between steps ---------------------------------------------------
@pytest.mark.parametrize("make", [
    lambda lib, p: lib.SGD(p, lr=0.1, momentum=0.9),
    lambda lib, p: lib.Adam(p, lr=0.05),
    lambda lib, p: lib.RMSprop(p, lr=0.01, momentum=0.5),
])
def test_one_cycle_schedule_of_lr_and_momentum_agrees_with_torch(make):
    # OneCycleLR changes lr and momentum (SGD's, RMSprop's) or beta1 (Adam's) at every step
    import tinygrad_nn.optim as optim
    run = Run(lambda groups, **_: make(optim, groups),
              lambda groups, **_: make(torch.optim, groups), {}, {})
    ours = lr_scheduler.OneCycleLR(run.opt, max_lr=[0.2, 0.1], total_steps=12)
    theirs = torch.optim.lr_scheduler.OneCycleLR(run.torch_opt, max_lr=[0.2, 0.1], total_steps=12)
    for _ in range(12):
        run.step()
        ours.step()
        theirs.step()
        run.check()
        assert ours.get_last_lr() == theirs.get_last_lr()


def test_changing_a_groups_settings_takes_effect_at_the_next_step():
    run = Run(SGD, torch.optim.SGD, dict(lr=0.1), dict(lr=0.05, momentum=0.5))
    for step in range(6):
        if step == 3:
            for opt in (run.opt, run.torch_opt):
                opt.param_groups[0]["momentum"] = 0.9
                opt.param_groups[1]["lr"] = 0.2
        run.step()
        run.check()


# ---- parameter groups and the lr property ----------------------------------------------------
def test_param_groups_hold_each_groups_settings_filled_from_the_defaults():
    a, b, c = Value(1.0), Value(np.ones(2)), Value(np.zeros(3))
    opt = Adam([{"params": [a, b], "lr": 0.1}, {"params": c, "betas": (0.5, 0.9)}],
               weight_decay=0.01)
    first, second = opt.param_groups
    assert first["params"] == [a, b] and second["params"] == [c]
    assert (first["lr"], first["betas"], first["weight_decay"]) == (0.1, (0.9, 0.999), 0.01)
    assert (second["lr"], second["betas"]) == (1e-3, (0.5, 0.9))
    assert opt.params == [a, b, c]
    assert opt.defaults["lr"] == 1e-3


def test_add_param_group_and_later_parameters_start_their_own_state():
    p, q = Value(np.array([1.0])), Value(np.array([1.0]))
    opt = Adam([p], lr=0.1)
    p.grad = np.array([1.0])
    opt.step()
    opt.add_param_group({"params": [q], "lr": 0.2})
    q.grad = np.array([1.0])
    opt.step()
    # a constant gradient moves Adam's parameters by lr per step (eps aside)
    np.testing.assert_allclose([p.data[0], q.data[0]], [0.8, 0.8], rtol=1e-7)
    assert opt.state[p]["step"] == 2 and opt.state[q]["step"] == 1


def test_lr_property_reads_a_shared_rate_and_sets_every_group():
    opt = SGD([{"params": [Value(1.0)]}, {"params": [Value(2.0)], "lr": 0.5}], lr=0.1)
    with pytest.raises(ValueError, match="different learning rates \\[0.1, 0.5\\]"):
        opt.lr
    opt.lr = 0.01
    assert opt.lr == 0.01 and [g["lr"] for g in opt.param_groups] == [0.01, 0.01]
    with pytest.raises(ValueError, match="lr must lie in \\(0.0"):
        opt.lr = 0.0


def test_step_returns_what_the_closure_returns():
    p = Value(1.0)
    opt = SGD([p], lr=0.25)

    def closure():
        opt.zero_grad()
        value = p * p
        value.backward()
        return value
    assert opt.step(closure).data == 1.0
    assert p.data == 0.5


def test_a_parameter_without_gradient_is_left_alone():
    p = Value(np.ones(2))
    p.grad = None
    opt = Adam([p], lr=0.1, weight_decay=0.1)
    opt.step()
    assert p.data.tolist() == [1.0, 1.0] and p not in opt.state


def test_repr_shows_each_groups_settings():
    text = repr(SGD([{"params": [Value(1.0)]}, {"params": [Value(1.0)], "lr": 0.5}], lr=0.1))
    assert text.startswith("SGD(lr=0.1, momentum=0.0") and "; lr=0.5" in text


# ---- state dicts ---------------------------------------------------------------------------
@pytest.mark.parametrize("make", [
    lambda p: SGD(p, lr=0.1, momentum=0.9),
    lambda p: AdamW(p, lr=0.05, amsgrad=True),
    lambda p: RMSprop(p, lr=0.01, momentum=0.5, centered=True),
    lambda p: Adagrad(p, lr=0.1, initial_accumulator_value=0.1),
])
def test_state_dict_saved_and_loaded_continues_the_run_exactly(make, tmp_path):
    def params():
        return [Value(W0.copy()), Value(B0.copy()), Value(0.5)]

    def groups(p):
        return [{"params": p[:2], "lr": 0.02}, {"params": p[2:]}]

    def run(opt, p, steps):
        for _ in range(steps):
            opt.zero_grad()
            loss(X, C, *p).backward()
            opt.step()

    straight = params()
    opt = make(groups(straight))
    run(opt, straight, 6)
    resumed = params()
    first = make(groups(resumed))
    run(first, resumed, 3)
    save(first.state_dict(), tmp_path / "opt.npz")
    copies = [Value(np.array(p.data)) if type(p.data) is not float else Value(p.data)
              for p in resumed]
    second = make(groups(copies))
    second.load_state_dict(load(tmp_path / "opt.npz"))
    assert second.param_groups[0]["lr"] == 0.02
    run(second, copies, 3)
    for a, b in zip(straight, copies):
        np.testing.assert_array_equal(a.data, b.data)
    assert type(copies[2].data) is float


def test_state_dict_keeps_scheduler_settings_and_is_a_copy():
    p = Value(np.ones(2))
    opt = SGD([p], lr=0.1, momentum=0.9)
    lr_scheduler.StepLR(opt, step_size=2)
    p.grad = np.ones(2)
    opt.step()
    state = opt.state_dict()
    assert state["param_groups.0.initial_lr"] == 0.1
    assert state["param_groups.0.params"].tolist() == [0]
    state["state.0.momentum_buffer"][...] = 5.0
    assert opt.state[p]["momentum_buffer"].tolist() == [1.0, 1.0]


@pytest.mark.parametrize("change, message", [
    (lambda s: s.pop("param_groups.1.lr") and s.update({"param_groups.2.lr": 1.0}),
     "3 parameter groups, this optimizer 2"),
    (lambda s: s.update({"param_groups.0.params": np.array([0])}),
     "group 0 should hold the parameters \\[0, 1\\]"),
    (lambda s: s.update({"state.0.momentum_buffer": np.zeros(5)}), "has shape \\(5,\\)"),
    (lambda s: s.update({"state.7.momentum_buffer": np.zeros(5)}), "only 3"),
    (lambda s: s.update({"bogus": 1}), "unexpected entry 'bogus'"),
])
def test_load_state_dict_refuses_a_mismatch(change, message):
    p = [Value(W0.copy()), Value(B0.copy()), Value(0.5)]
    opt = SGD([{"params": p[:2]}, {"params": p[2:]}], lr=0.1, momentum=0.9)
    loss(X, C, *p).backward()
    opt.step()
    state = opt.state_dict()
    change(state)
    with pytest.raises(ValueError, match=message):
        opt.load_state_dict(state)


# ---- argument checks -----------------------------------------------------------------------
@pytest.mark.parametrize("make, error, message", [
    (lambda p: SGD(p, momentum=0.9, dampening=0.1, nesterov=True), ValueError,
     "nesterov=True needs dampening=0"),
    (lambda p: SGD(p, dampening=1.5), ValueError, "dampening must lie in \\[0.0, 1.0\\]"),
    (lambda p: AdamW(p, betas=(0.9, 1.0)), ValueError, "betas\\[1\\] must lie in \\[0.0, 1.0\\)"),
    (lambda p: RMSprop(p, alpha=1.0), ValueError, "alpha must lie in \\[0.0, 1.0\\)"),
    (lambda p: RMSprop(p, momentum=-0.5), ValueError, "momentum must lie in"),
    (lambda p: Adagrad(p, lr_decay=-1), ValueError, "lr_decay must lie in \\[0.0"),
    (lambda p: Adagrad(p, initial_accumulator_value=-1), ValueError,
     "initial_accumulator_value must lie in"),
    (lambda p: Adam(p, eps=True), TypeError, "eps must be a number; got True"),
    (lambda p: SGD([{"params": p}, {"params": [Value(2.0)], "lr": -1.0}]), ValueError,
     "SGD \\(param group 1\\): lr must lie in \\(0.0"),
    (lambda p: SGD([{"params": p}, {"params": p}]), ValueError,
     "SGD \\(param group 1\\): params\\[0\\] of shape \\(\\) is already in another"),
    (lambda p: SGD([{"params": p}, p[0]]), TypeError,
     "params\\[1\\] is a Value; give either Values or parameter-group dicts"),
    (lambda p: SGD([{"lr": 0.1}]), ValueError, "must be a dict with a 'params' entry"),
    (lambda p: SGD({"params": p}), TypeError, "must be an iterable of Values"),
    (lambda p: Adam([{"params": p, "betas": 0.9}]), ValueError, "betas must be a pair"),
])
def test_bad_settings_are_refused(make, error, message):
    with pytest.raises(error, match=message):
        make([Value(1.0)])


def test_schedulers_module_is_reachable_as_torchs_path():
    import tinygrad_nn.optim
    assert tinygrad_nn.optim.lr_scheduler.StepLR is lr_scheduler.StepLR
    assert math.isclose(AdamW([Value(1.0)]).defaults["weight_decay"], 1e-2)
