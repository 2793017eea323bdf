"""The `Optimizer` base class: parameter groups, per-parameter state and its state dict.

As in torch.optim, an optimizer takes an iterable of parameters (one group) or of dicts
``{"params": [...], "lr": ..., ...}`` (one group each; settings a dict leaves out come from the
optimizer's defaults). `param_groups` is the list of those dicts: schedulers and users change a
group's settings between steps, and `step()` reads them afresh each time. `state` maps each
parameter to what the algorithm keeps for it (a step count, moving averages), created on the
first step, under torch's names ("exp_avg", "momentum_buffer", ...).

Parameters are leaf Values. Array data is updated in place (its dtype, float32 or float64, is
kept); a Python float is rebound to the new float. Gradients are read, never modified.
"""

from __future__ import annotations

import math
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional, Union

import numpy as np

from ..engine import Value, mark_modified, zero_grad
from ..errors import ShapeError, UnsupportedTypeError

ParamGroup = Dict[str, Any]
Params = Iterable[Union[Value, Mapping[str, Any]]]  # Values, or dicts of parameter groups


def _number(who: str, name: str, value: Any, low: float, high: float = math.inf, *,
            low_open: bool = False, high_closed: bool = False) -> float:
    """`value` as a float in [low, high) (`low_open`: (low, ...; `high_closed`: ..., high]),
    else a clear error."""
    if isinstance(value, bool):
        raise UnsupportedTypeError(f"{who}: {name} must be a number; got {value!r}")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise UnsupportedTypeError(f"{who}: {name} must be a number; got {value!r}") from None
    if (number > low if low_open else number >= low) and \
            (number <= high if high_closed else number < high):
        return number
    interval = f"{'(' if low_open else '['}{low}, {high}{']' if high_closed else ')'}"
    raise ValueError(f"{who}: {name} must lie in {interval}; got {value}")


def _integer(who: str, name: str, value: Any, minimum: int) -> int:
    """`value` as an int >= minimum (a bool is not one), else a clear error."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{who}: {name} must be an integer >= {minimum}; got {value!r}")
    return int(value)


def _describe(p: Value) -> str:
    return f"{p.label!r} of shape {p.shape}" if p.label else f"of shape {p.shape}"


def _listed(params: Any, who: str) -> List[Any]:
    """What an optimizer was given as params, as a non-empty list, or a clear error."""
    if isinstance(params, (Value, Mapping)) or not isinstance(params, Iterable):
        raise UnsupportedTypeError(f"{who}: params must be an iterable of Values, such as "
                                   f"model.parameters(); got {type(params).__name__}")
    items = list(params)
    if not items:
        raise ValueError(f"{who}: params is empty; give the Values to optimize, "
                         "such as model.parameters()")
    return items


def check_params(params: Iterable[Value], who: str) -> List[Value]:
    """The parameters as a list, after checking each is a distinct leaf Value needing a gradient."""
    params = _listed(params, who)
    seen = set()
    for i, p in enumerate(params):
        if not isinstance(p, Value):
            raise UnsupportedTypeError(f"{who}: params[{i}] is a {type(p).__name__}, not a Value")
        if p._prev:
            raise ValueError(f"{who}: params[{i}] {_describe(p)} was computed by the op {p._op!r}; "
                             "only leaf Values (created with Value(...)) can be optimized")
        if not p.requires_grad:
            raise ValueError(f"{who}: params[{i}] {_describe(p)} has requires_grad=False, so it "
                             "never gets a gradient")
        if id(p) in seen:
            raise ValueError(f"{who}: params[{i}] {_describe(p)} is listed twice; it would be "
                             "updated twice per step")
        seen.add(id(p))
    return params


def full_like(data: Any, value: float) -> Any:
    """`value` in the form of a parameter's data: a float for a float, else an array of its
    shape and dtype (the initial state of a moving average)."""
    return float(value) if type(data) is float else np.full_like(data, value)


def _saved(value: Any, name: str) -> np.ndarray:
    array = np.array(value)
    if array.dtype.kind not in "biuf":
        raise UnsupportedTypeError(f"state_dict: {name} is {value!r}; only numbers, booleans and "
                                   "tuples of them can be saved")
    return array


def _setting(array: np.ndarray) -> Any:
    """A group setting back from its saved array: a bool, int or float, or a tuple of them."""
    return tuple(array.tolist()) if array.ndim else array.item()


class Optimizer:
    """Base class of the step-by-step optimizers (see the module docstring for parameter groups).

    A subclass passes its `defaults` (every setting with its default value), checks a group's
    settings in `_check` and computes what to subtract from a parameter in `_update`.

    `lr` reads the learning rate when every group has the same one, and setting it sets it in
    every group (a schedule written by hand: ``opt.lr = 0.1 * 0.5 ** epoch``); with groups of
    different rates, use ``param_groups[i]["lr"]``. `params` lists the parameters of all groups.
    """

    def __init__(self, params: Params, defaults: Dict[str, Any]):
        self.defaults = dict(defaults)
        self.param_groups: List[ParamGroup] = []
        self.state: Dict[Value, Dict[str, Any]] = {}
        who = type(self).__name__
        items = _listed(params, who)
        if not any(isinstance(item, Mapping) for item in items):
            self.add_param_group({"params": items})
            return
        for i, group in enumerate(items):
            if not isinstance(group, Mapping):
                raise UnsupportedTypeError(f"{who}: params[{i}] is a {type(group).__name__}; give "
                                           "either Values or parameter-group dicts, not both")
            self.add_param_group(group)

    def add_param_group(self, param_group: Mapping[str, Any]) -> None:
        """Add a group ``{"params": [...], setting: value, ...}``; settings it leaves out are
        the defaults given to the constructor. Its parameters must be in no other group."""
        index = len(self.param_groups)
        who = f"{type(self).__name__} (param group {index})"
        if not isinstance(param_group, Mapping) or "params" not in param_group:
            raise ValueError(f"{who}: a parameter group must be a dict with a 'params' entry; "
                             f"got {param_group!r}")
        if not index and len(param_group) == 1:  # the only group, or one without settings
            who = type(self).__name__
        group = dict(param_group)
        params = group["params"]
        group["params"] = check_params([params] if isinstance(params, Value) else params, who)
        if not all(isinstance(key, str) for key in group):
            raise UnsupportedTypeError(f"{who}: setting names must be strings; got {list(group)}")
        for key, value in self.defaults.items():
            group.setdefault(key, value)
        self._check(group, who)
        taken = {id(p) for g in self.param_groups for p in g["params"]}
        for i, p in enumerate(group["params"]):
            if id(p) in taken:
                raise ValueError(f"{who}: params[{i}] {_describe(p)} is already in another "
                                 "parameter group")
        self.param_groups.append(group)

    def _check(self, group: ParamGroup, who: str) -> None:
        """Check a group's settings and store them as plain numbers (subclasses add theirs)."""
        group["lr"] = _number(who, "lr", group["lr"], 0.0, low_open=True)
        group["weight_decay"] = _number(who, "weight_decay", group["weight_decay"], 0.0)
        group["maximize"] = bool(group["maximize"])

    @property
    def params(self) -> List[Value]:
        """Every parameter, group after group."""
        return [p for group in self.param_groups for p in group["params"]]

    @property
    def lr(self) -> float:
        """The learning rate shared by all groups (see the class docstring)."""
        rates = [group["lr"] for group in self.param_groups]
        if any(rate != rates[0] for rate in rates):
            raise ValueError(f"{type(self).__name__}: the parameter groups have different "
                             f"learning rates {rates}; read param_groups[i]['lr']")
        return rates[0]

    @lr.setter
    def lr(self, value: float) -> None:
        rate = _number(type(self).__name__, "lr", value, 0.0, low_open=True)
        for group in self.param_groups:
            group["lr"] = rate

    def zero_grad(self) -> None:
        """Reset every parameter's gradient to zero (leaves accumulate across backward calls)."""
        zero_grad(self.params)

    def step(self, closure: Optional[Callable[[], Any]] = None) -> Any:
        """Update every parameter from its current gradient. `closure`, if given, is called
        first (it should zero the gradients, compute the loss, call backward() and return the
        loss, as in torch); step returns what it returned, else None."""
        loss = closure() if closure is not None else None
        stepped: list = []
        for group in self.param_groups:
            for p in group["params"]:
                # as in torch, a parameter without a gradient is left alone; a frozen one too,
                # even when it was frozen after the optimizer was built (no decay, no momentum)
                if p.grad is None or not p.requires_grad:
                    continue
                grad = p.grad.data if isinstance(p.grad, Value) else p.grad
                data = p.data
                change = self._update(data, -grad if group["maximize"] else grad,
                                      self.state.setdefault(p, {}), group)
                if type(data) is float:
                    p.data = float(data - change)
                else:  # in place: no second large temporary (fresh pages cost more than math)
                    data -= change
                    stepped.append(p)
        mark_modified(*stepped)  # once for all: graphs built before the step must not backprop
        return loss

    def _update(self, data: Any, grad: Any, state: Dict[str, Any], group: ParamGroup) -> Any:
        """What to subtract from a parameter's data, given the data, its gradient (negated when
        maximizing), its state (empty before the first step; update it) and its group's
        settings."""
        raise NotImplementedError

    # ---- saving and restoring -----------------------------------------------------------------
    def state_dict(self) -> Dict[str, np.ndarray]:
        """The settings of each group and the state of each parameter as a flat dict of numpy
        arrays, ready for `tinygrad_nn.save` (no pickle): ``param_groups.<g>.<setting>``,
        ``param_groups.<g>.params`` (the indices of the group's parameters, counted across
        groups as torch does) and ``state.<i>.<name>``. Arrays are copies."""
        saved: Dict[str, np.ndarray] = {}
        index = {id(p): i for i, p in enumerate(self.params)}
        for g, group in enumerate(self.param_groups):
            for key, value in group.items():
                saved[f"param_groups.{g}.{key}"] = (
                    np.array([index[id(p)] for p in value], dtype=np.int64) if key == "params"
                    else _saved(value, f"param_groups[{g}][{key!r}]"))
        for p, state in self.state.items():
            for key, value in state.items():
                saved[f"state.{index[id(p)]}.{key}"] = _saved(value, f"state {key!r}")
        return saved

    def load_state_dict(self, state_dict: Mapping[str, Any]) -> None:
        """Restore what `state_dict` saved (possibly through save/load) into an optimizer of the
        same kind over parameters of the same shapes in the same groups. Settings are replaced
        by the saved ones, as in torch."""
        who = f"{type(self).__name__}.load_state_dict"
        params = self.params
        groups: Dict[int, Dict[str, np.ndarray]] = {}
        states: Dict[int, Dict[str, np.ndarray]] = {}
        for name, value in state_dict.items():
            parts = name.split(".") if isinstance(name, str) else []
            if len(parts) != 3 or parts[0] not in ("param_groups", "state") or \
                    not parts[1].isdigit():
                raise ValueError(f"{who}: unexpected entry {name!r}; expected "
                                 "'param_groups.<g>.<setting>' or 'state.<i>.<name>'")
            target = groups if parts[0] == "param_groups" else states
            target.setdefault(int(parts[1]), {})[parts[2]] = np.asarray(value)
        if sorted(groups) != list(range(len(self.param_groups))):
            raise ValueError(f"{who}: the state dict has {len(groups)} parameter groups, this "
                             f"optimizer {len(self.param_groups)}")
        start = 0
        for g, group in enumerate(self.param_groups):
            expected = list(range(start, start + len(group["params"])))
            start += len(group["params"])
            given = groups[g].get("params", np.array([])).tolist()
            if given != expected:
                raise ValueError(f"{who}: parameter group {g} should hold the parameters "
                                 f"{expected}; the state dict gives {given}")
        unknown = [i for i in states if i >= len(params)]
        if unknown:
            raise ValueError(f"{who}: state for parameters {unknown}, but there are only "
                             f"{len(params)}")
        restored = {}
        for i, entries in states.items():
            p = params[i]
            restored[p] = {key: self._restored(p, array, f"{who}: state.{i}.{key}")
                           for key, array in entries.items()}
        for g, group in enumerate(self.param_groups):
            settings = {key: _setting(a) for key, a in groups[g].items() if key != "params"}
            self.param_groups[g] = {"params": group["params"], **settings}
        self.state = restored

    @staticmethod
    def _restored(p: Value, array: np.ndarray, where: str) -> Any:
        """A state entry back in the parameter's form: an int (a step count), a float for a
        float parameter, else a copy of the array in the parameter's dtype and shape."""
        if array.dtype.kind in "biu":
            return int(array)
        if type(p.data) is float:
            if array.size != 1:
                raise ShapeError(f"{where} has shape {array.shape}; the parameter is a number")
            return float(array.reshape(()))
        if array.shape != p.shape:
            raise ShapeError(f"{where} has shape {array.shape}; the parameter has shape {p.shape}")
        return np.array(array, dtype=p.dtype)

    def __repr__(self) -> str:
        groups = "; ".join(", ".join(f"{k}={v}" for k, v in group.items() if k != "params")
                           for group in self.param_groups)
        return f"{type(self).__name__}({groups})"
