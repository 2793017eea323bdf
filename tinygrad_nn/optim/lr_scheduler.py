"""Learning-rate schedules with torch.optim.lr_scheduler's names, arguments and sequences.

A scheduler wraps an `Optimizer` and sets the ``"lr"`` of each of its parameter groups; call
``scheduler.step()`` after ``optimizer.step()``, once per epoch (or once per batch, as
`OneCycleLR` expects). Creating one already takes its first step (``last_epoch`` becomes 0), and
records each group's starting rate as ``group["initial_lr"]`` (`base_lrs`).

As in torch, most schedules are chainable: each step multiplies the rate the group has now, so
two schedulers on one optimizer compose (`StepLR`, `MultiStepLR`, `ExponentialLR`,
`CosineAnnealingLR`, `LinearLR`); `LambdaLR` and `OneCycleLR` compute the rate afresh from the
base rates. `SequentialLR` runs schedulers one after another.

Unlike torch, ``step()`` takes no epoch (torch deprecated that form), and `state_dict` is a
plain dict of the scheduler's attributes without the optimizer and functions.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import Counter
import copy
import math
from typing import Any, Callable, Dict, List, Optional, Sequence, Union

from ..errors import UnsupportedTypeError
from .optimizer import Optimizer, _integer, _number

__all__ = ["LRScheduler", "LambdaLR", "StepLR", "MultiStepLR", "ExponentialLR",
           "CosineAnnealingLR", "LinearLR", "SequentialLR", "OneCycleLR"]


def _checked_optimizer(optimizer: Any, who: str) -> Optimizer:
    if not isinstance(optimizer, Optimizer):
        raise UnsupportedTypeError(f"{who}: optimizer must be a tinygrad_nn.optim Optimizer; "
                                   f"got {type(optimizer).__name__}")
    return optimizer


def _per_group(who: str, name: str, value: Any, optimizer: Optimizer) -> List[float]:
    """One number per parameter group: a list of them, or one number for every group."""
    count = len(optimizer.param_groups)
    if isinstance(value, (list, tuple)):
        if len(value) != count:
            raise ValueError(f"{who}: {name} needs one value per parameter group ({count}); "
                             f"got {len(value)}")
        return [_number(who, f"{name}[{i}]", v, 0.0) for i, v in enumerate(value)]
    return [_number(who, name, value, 0.0)] * count


class LRScheduler:
    """Base class: a subclass computes the rates of the next step in `get_lr` (reading
    `last_epoch`, already advanced, `base_lrs` and the groups' current rates).

    `last_epoch` counts the steps taken (0 after creation). Pass ``last_epoch=k`` to resume a
    schedule after k steps: the groups must then hold their "initial_lr" already (from the
    optimizer's loaded state dict).
    """

    _initial = False  # true during the first step, taken by the constructor
    _unsaved: tuple = ()  # attributes, besides the optimizer, that state_dict leaves out

    def __init__(self, optimizer: Optimizer, last_epoch: int = -1):
        who = type(self).__name__
        self.optimizer = _checked_optimizer(optimizer, who)
        last_epoch = _integer(who, "last_epoch", last_epoch, -1)
        for i, group in enumerate(optimizer.param_groups):
            if last_epoch == -1:
                group.setdefault("initial_lr", group["lr"])
            elif "initial_lr" not in group:
                raise ValueError(f"{who}: resuming with last_epoch={last_epoch} needs "
                                 f"param_groups[{i}]['initial_lr']; load the optimizer's state "
                                 "dict first, or start with last_epoch=-1")
        self.base_lrs: List[float] = [group["initial_lr"] for group in optimizer.param_groups]
        self.last_epoch = last_epoch
        self._initial_step()

    def _initial_step(self) -> None:
        self._initial = True
        try:
            self.step()
        finally:
            self._initial = False

    def get_lr(self) -> List[float]:
        """The rate of each group for step `last_epoch`."""
        raise NotImplementedError

    def _closed_form_lr(self) -> List[float]:
        """The rates at `last_epoch` computed from the base rates alone (what `SequentialLR`
        needs to restart a schedule); `get_lr` already is that for non-chainable schedules."""
        return self.get_lr()

    def step(self) -> None:
        """Advance the schedule by one step and set the groups' rates."""
        self.last_epoch += 1
        self._set_lrs(self.get_lr())

    def _restart(self) -> None:
        """Go back to step 0 of the schedule (from the base rates)."""
        self.last_epoch = 0
        self._set_lrs(self._closed_form_lr())

    def _set_lrs(self, lrs: Sequence[float]) -> None:
        for group, lr in zip(self.optimizer.param_groups, lrs):
            group["lr"] = lr
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]

    def get_last_lr(self) -> List[float]:
        """The rate of each group set by the latest step."""
        return list(self._last_lr)

    def _saved_keys(self) -> List[str]:
        return [key for key in vars(self) if key not in ("optimizer", "_initial", *self._unsaved)]

    def state_dict(self) -> Dict[str, Any]:
        """The scheduler's attributes (copies), without the optimizer and functions."""
        return {key: copy.deepcopy(getattr(self, key)) for key in self._saved_keys()}

    def load_state_dict(self, state_dict: Dict[str, Any]) -> None:
        """Restore the attributes saved by `state_dict`."""
        unknown = [key for key in state_dict if key not in self._saved_keys()]
        if unknown:
            raise ValueError(f"{type(self).__name__}.load_state_dict: unexpected entries {unknown}")
        vars(self).update(copy.deepcopy(dict(state_dict)))

    def __repr__(self) -> str:
        settings = ", ".join(f"{k}={getattr(self, k)}" for k in self._saved_keys()
                             if not k.startswith("_") and k not in ("base_lrs", "last_epoch"))
        return f"{type(self).__name__}({settings})"


class LambdaLR(LRScheduler):
    """lr = base_lr · lr_lambda(last_epoch); `lr_lambda` is one function for every group or a
    list of one per group."""

    _unsaved = ("lr_lambdas",)

    def __init__(self, optimizer: Optimizer,
                 lr_lambda: Union[Callable[[int], float], Sequence[Callable[[int], float]]],
                 last_epoch: int = -1):
        count = len(_checked_optimizer(optimizer, "LambdaLR").param_groups)
        lambdas: List[Any] = list(lr_lambda) if isinstance(lr_lambda, (list, tuple)) \
            else [lr_lambda] * count
        if len(lambdas) != count:
            raise ValueError(f"LambdaLR: lr_lambda needs one function per parameter group "
                             f"({count}); got {len(lambdas)}")
        if not all(callable(f) for f in lambdas):
            raise UnsupportedTypeError(f"LambdaLR: lr_lambda must be a function of the epoch "
                                       f"(or a list of them); got {lr_lambda!r}")
        self.lr_lambdas: List[Callable[[int], float]] = lambdas
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> List[float]:
        return [base * f(self.last_epoch) for f, base in zip(self.lr_lambdas, self.base_lrs)]


class StepLR(LRScheduler):
    """Multiply the rate by `gamma` every `step_size` steps: base_lr · γ^⌊epoch / step_size⌋."""

    def __init__(self, optimizer: Optimizer, step_size: int, gamma: float = 0.1,
                 last_epoch: int = -1):
        self.step_size = _integer("StepLR", "step_size", step_size, 1)
        self.gamma = _number("StepLR", "gamma", gamma, 0.0)
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> List[float]:
        groups = self.optimizer.param_groups
        if self.last_epoch == 0 or self.last_epoch % self.step_size:
            return [group["lr"] for group in groups]
        return [group["lr"] * self.gamma for group in groups]

    def _closed_form_lr(self) -> List[float]:
        return [base * self.gamma ** (self.last_epoch // self.step_size)
                for base in self.base_lrs]


class MultiStepLR(LRScheduler):
    """Multiply the rate by `gamma` at each milestone (a milestone listed twice counts twice)."""

    def __init__(self, optimizer: Optimizer, milestones: Sequence[int], gamma: float = 0.1,
                 last_epoch: int = -1):
        self.milestones = Counter(_integer("MultiStepLR", "a milestone", m, 0)
                                  for m in milestones)
        self.gamma = _number("MultiStepLR", "gamma", gamma, 0.0)
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> List[float]:
        factor = self.gamma ** self.milestones[self.last_epoch] \
            if self.last_epoch in self.milestones else None
        return [group["lr"] if factor is None else group["lr"] * factor
                for group in self.optimizer.param_groups]

    def _closed_form_lr(self) -> List[float]:
        passed = bisect_right(sorted(self.milestones.elements()), self.last_epoch)
        return [base * self.gamma ** passed for base in self.base_lrs]


class ExponentialLR(LRScheduler):
    """Multiply the rate by `gamma` at every step: base_lr · γ^epoch."""

    def __init__(self, optimizer: Optimizer, gamma: float, last_epoch: int = -1):
        self.gamma = _number("ExponentialLR", "gamma", gamma, 0.0)
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> List[float]:
        groups = self.optimizer.param_groups
        if self._initial:
            return [group["lr"] for group in groups]
        return [group["lr"] * self.gamma for group in groups]

    def _closed_form_lr(self) -> List[float]:
        return [base * self.gamma ** self.last_epoch for base in self.base_lrs]


class CosineAnnealingLR(LRScheduler):
    """Follow half a cosine from the base rate down to `eta_min` over `T_max` steps (and back up
    over the next `T_max`, as torch):

        lr = eta_min + (base_lr − eta_min) · (1 + cos(π · epoch / T_max)) / 2

    computed, as torch does, step by step from the current rate, so that it composes with other
    schedulers.
    """

    def __init__(self, optimizer: Optimizer, T_max: int, eta_min: float = 0.0,
                 last_epoch: int = -1):
        self.T_max = _integer("CosineAnnealingLR", "T_max", T_max, 1)
        self.eta_min = _number("CosineAnnealingLR", "eta_min", eta_min, 0.0)
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> List[float]:
        groups, epoch, period, low = self.optimizer.param_groups, self.last_epoch, self.T_max, \
            self.eta_min
        if self._initial:
            return [group["lr"] for group in groups]
        if (epoch - 1 - period) % (2 * period) == 0:  # leaving the bottom, where the ratio is 0/0
            return [group["lr"] + (base - low) * (1 - math.cos(math.pi / period)) / 2
                    for base, group in zip(self.base_lrs, groups)]
        ratio = (1 + math.cos(math.pi * epoch / period)) / \
            (1 + math.cos(math.pi * (epoch - 1) / period))
        return [ratio * (group["lr"] - low) + low for group in groups]

    def _closed_form_lr(self) -> List[float]:
        return [self.eta_min + (base - self.eta_min) *
                (1 + math.cos(math.pi * self.last_epoch / self.T_max)) / 2
                for base in self.base_lrs]


class LinearLR(LRScheduler):
    """Scale the rate by a factor going linearly from `start_factor` to `end_factor` over
    `total_iters` steps, then keep it."""

    def __init__(self, optimizer: Optimizer, start_factor: float = 1.0 / 3,
                 end_factor: float = 1.0, total_iters: int = 5, last_epoch: int = -1):
        self.start_factor = _number("LinearLR", "start_factor", start_factor, 0.0, 1.0,
                                    low_open=True, high_closed=True)
        self.end_factor = _number("LinearLR", "end_factor", end_factor, 0.0, 1.0,
                                  high_closed=True)
        self.total_iters = _integer("LinearLR", "total_iters", total_iters, 1)
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> List[float]:
        groups, epoch = self.optimizer.param_groups, self.last_epoch
        if epoch == 0:
            return [group["lr"] * self.start_factor for group in groups]
        if self._initial or epoch > self.total_iters:
            return [group["lr"] for group in groups]
        change = self.end_factor - self.start_factor
        factor = 1.0 + change / (self.total_iters * self.start_factor + (epoch - 1) * change)
        return [group["lr"] * factor for group in groups]

    def _closed_form_lr(self) -> List[float]:
        done = min(self.total_iters, self.last_epoch) / self.total_iters
        return [base * (self.start_factor + (self.end_factor - self.start_factor) * done)
                for base in self.base_lrs]


class SequentialLR(LRScheduler):
    """Run `schedulers` one after another: the k-th takes over at step ``milestones[k - 1]``,
    restarting its own schedule from the base rates. All must drive `optimizer`."""

    _unsaved = ("_schedulers",)

    def __init__(self, optimizer: Optimizer, schedulers: Sequence[LRScheduler],
                 milestones: Sequence[int], last_epoch: int = -1):
        who = "SequentialLR"
        schedulers = list(schedulers)
        if not schedulers:
            raise ValueError(f"{who}: give at least one scheduler")
        for i, scheduler in enumerate(schedulers):
            if not isinstance(scheduler, LRScheduler):
                raise UnsupportedTypeError(f"{who}: schedulers[{i}] is a "
                                           f"{type(scheduler).__name__}, not an LRScheduler")
            if scheduler.optimizer is not optimizer:
                raise ValueError(f"{who}: schedulers[{i}] ({type(scheduler).__name__}) drives "
                                 "another optimizer")
        milestones = [_integer(who, "a milestone", m, 0) for m in milestones]
        if len(milestones) != len(schedulers) - 1:
            raise ValueError(f"{who}: needs one milestone fewer than schedulers; got "
                             f"{len(schedulers)} schedulers and {len(milestones)} milestones")
        self.optimizer = optimizer
        self._schedulers = schedulers
        self._milestones = milestones
        self.last_epoch = _integer(who, "last_epoch", last_epoch, -1) + 1
        for group in optimizer.param_groups:  # undo what creating the schedulers did
            group["lr"] = group["initial_lr"]
        self.base_lrs = [group["initial_lr"] for group in optimizer.param_groups]
        self._undo(self)
        first = schedulers[bisect_right(milestones, 0)]
        first._initial_step()
        self._last_lr = first.get_last_lr()

    @staticmethod
    def _undo(scheduler: LRScheduler) -> None:
        """Take back the first step of every scheduler inside, as torch does."""
        if isinstance(scheduler, SequentialLR):
            for inner in scheduler._schedulers:
                SequentialLR._undo(inner)
        else:
            scheduler.last_epoch -= 1

    def step(self) -> None:
        self.last_epoch += 1
        index = bisect_right(self._milestones, self.last_epoch)
        scheduler = self._schedulers[index]
        if index > 0 and self._milestones[index - 1] == self.last_epoch:
            scheduler._restart()
        else:
            scheduler.step()
        self._last_lr = scheduler.get_last_lr()

    def state_dict(self) -> Dict[str, Any]:
        """The attributes, with each inner scheduler's state dict under "schedulers"."""
        state = super().state_dict()
        state["schedulers"] = [s.state_dict() for s in self._schedulers]
        return state

    def load_state_dict(self, state_dict: Dict[str, Any]) -> None:
        state = dict(state_dict)
        inner = state.pop("schedulers", None)
        if not isinstance(inner, list) or len(inner) != len(self._schedulers):
            raise ValueError(f"SequentialLR.load_state_dict: expected 'schedulers', a list of "
                             f"{len(self._schedulers)} state dicts")
        super().load_state_dict(state)
        for scheduler, saved in zip(self._schedulers, inner):
            scheduler.load_state_dict(saved)


class OneCycleLR(LRScheduler):
    """The 1cycle policy (Smith & Topin, 2017), stepped once per batch: the rate rises from
    ``max_lr / div_factor`` to `max_lr` over the first `pct_start` of `total_steps` (or
    ``epochs · steps_per_epoch``), then falls to ``initial_lr / final_div_factor``, by cosine
    or linear annealing; with `three_phase` it comes back down to the initial rate first, then
    to the minimum. `max_lr`, `base_momentum` and `max_momentum` are numbers or one per group.

    With `cycle_momentum`, the momentum (SGD's, RMSprop's ``momentum`` or Adam's β₁) moves the
    other way between `max_momentum` and `base_momentum`. Where torch would divide by zero (a
    phase of zero steps, e.g. ``pct_start · total_steps == 1``) the phase's end value is used.
    """

    def __init__(self, optimizer: Optimizer, max_lr: Union[float, Sequence[float]],
                 total_steps: Optional[int] = None, epochs: Optional[int] = None,
                 steps_per_epoch: Optional[int] = None, pct_start: float = 0.3,
                 anneal_strategy: str = "cos", cycle_momentum: bool = True,
                 base_momentum: Union[float, Sequence[float]] = 0.85,
                 max_momentum: Union[float, Sequence[float]] = 0.95, div_factor: float = 25.0,
                 final_div_factor: float = 1e4, three_phase: bool = False,
                 last_epoch: int = -1):
        who = "OneCycleLR"
        _checked_optimizer(optimizer, who)
        if total_steps is not None:
            self.total_steps = _integer(who, "total_steps", total_steps, 1)
        elif epochs is not None and steps_per_epoch is not None:
            self.total_steps = _integer(who, "epochs", epochs, 1) * \
                _integer(who, "steps_per_epoch", steps_per_epoch, 1)
        else:
            raise ValueError(f"{who}: give total_steps, or epochs and steps_per_epoch")
        pct_start = _number(who, "pct_start", pct_start, 0.0, 1.0, high_closed=True)
        if anneal_strategy not in ("cos", "linear"):
            raise ValueError(f"{who}: anneal_strategy must be 'cos' or 'linear'; "
                             f"got {anneal_strategy!r}")
        self.anneal_strategy = anneal_strategy
        rise = pct_start * self.total_steps - 1
        end = self.total_steps - 1
        # (last step of the phase, the group keys it goes from and to: lr, then momentum)
        self._phases = [(rise, "initial_lr", "max_lr", "max_momentum", "base_momentum")]
        if three_phase:
            self._phases += [(2 * pct_start * self.total_steps - 2, "max_lr", "initial_lr",
                              "base_momentum", "max_momentum"),
                             (end, "initial_lr", "min_lr", "max_momentum", "max_momentum")]
        else:
            self._phases += [(end, "max_lr", "min_lr", "base_momentum", "max_momentum")]
        div_factor = _number(who, "div_factor", div_factor, 0.0, low_open=True)
        final_div_factor = _number(who, "final_div_factor", final_div_factor, 0.0, low_open=True)
        groups = optimizer.param_groups
        if last_epoch == -1:
            for group, peak in zip(groups, _per_group(who, "max_lr", max_lr, optimizer)):
                group["initial_lr"] = peak / div_factor
                group["max_lr"] = peak
                group["min_lr"] = group["initial_lr"] / final_div_factor
        self.cycle_momentum = bool(cycle_momentum)
        if self.cycle_momentum:
            if "momentum" not in optimizer.defaults and "betas" not in optimizer.defaults:
                raise ValueError(f"{who}: cycle_momentum=True needs an optimizer with a momentum "
                                 f"or betas; {type(optimizer).__name__} has neither (pass "
                                 "cycle_momentum=False)")
            self.use_beta1 = "betas" in optimizer.defaults
            if last_epoch == -1:
                highs = _per_group(who, "max_momentum", max_momentum, optimizer)
                lows = _per_group(who, "base_momentum", base_momentum, optimizer)
                for group, high, low in zip(groups, highs, lows):
                    self._set_momentum(group, high)
                    group["max_momentum"], group["base_momentum"] = high, low
        super().__init__(optimizer, last_epoch)

    def _set_momentum(self, group: Dict[str, Any], momentum: float) -> None:
        if self.use_beta1:
            group["betas"] = (momentum, *group["betas"][1:])
        else:
            group["momentum"] = momentum

    def _anneal(self, start: float, end: float, pct: float) -> float:
        if self.anneal_strategy == "cos":
            return end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1)
        return (end - start) * pct + start

    def get_lr(self) -> List[float]:
        step = self.last_epoch
        if step > self.total_steps:
            raise ValueError(f"OneCycleLR: stepped {step} times, past total_steps="
                             f"{self.total_steps}")
        lrs = []
        for group in self.optimizer.param_groups:
            start = 0.0
            for i, (end, lr_from, lr_to, momentum_from, momentum_to) in enumerate(self._phases):
                if step <= end or i == len(self._phases) - 1:
                    pct = (step - start) / (end - start) if end != start else 1.0
                    break
                start = end
            lrs.append(self._anneal(group[lr_from], group[lr_to], pct))
            if self.cycle_momentum:
                self._set_momentum(group, self._anneal(group[momentum_from], group[momentum_to],
                                                       pct))
        return lrs
