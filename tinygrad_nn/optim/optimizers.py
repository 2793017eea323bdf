"""Step-by-step optimizers with PyTorch's names, defaults and update rules: `SGD`, `Adam`,
`AdamW`, `RMSprop` and `Adagrad`, so a run can be checked step by step against torch.optim.

In every rule below g is the gradient, negated when ``maximize=True``, and (except in AdamW)
plus ``weight_decay · p``: L2 decay through the gradient, as torch does. t counts a parameter's
steps from 1. Each rule reads its group's settings at every step, so schedulers can change them.
"""

from __future__ import annotations

from typing import Any, Dict, Tuple

import numpy as np

from .optimizer import Optimizer, ParamGroup, Params, _number, full_like


def _l2(grad: Any, data: Any, group: ParamGroup) -> Any:
    """The gradient plus the L2 weight decay term ``weight_decay · p``."""
    return grad + group["weight_decay"] * data if group["weight_decay"] else grad


class SGD(Optimizer):
    """Stochastic gradient descent with optional momentum, as torch.optim.SGD:

        b ← g on the first step, then b ← μ b + (1 − dampening) g
        p ← p − lr · b             or, with Nesterov momentum,   p ← p − lr · (g + μ b)
    """

    def __init__(self, params: Params, lr: float = 1e-3, momentum: float = 0.0,
                 dampening: float = 0.0, weight_decay: float = 0.0, nesterov: bool = False, *,
                 maximize: bool = False):
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening,
                                      weight_decay=weight_decay, nesterov=nesterov,
                                      maximize=maximize))

    def _check(self, group: ParamGroup, who: str) -> None:
        super()._check(group, who)
        group["momentum"] = _number(who, "momentum", group["momentum"], 0.0, 1.0)
        group["dampening"] = _number(who, "dampening", group["dampening"], 0.0, 1.0,
                                     high_closed=True)
        group["nesterov"] = bool(group["nesterov"])
        if group["nesterov"] and not group["momentum"]:
            raise ValueError(f"{who}: nesterov=True needs a momentum > 0")
        if group["nesterov"] and group["dampening"]:
            raise ValueError(f"{who}: nesterov=True needs dampening=0")

    def _update(self, data: Any, grad: Any, state: Dict[str, Any], group: ParamGroup) -> Any:
        grad = _l2(grad, data, group)
        momentum = group["momentum"]
        if momentum:
            buffer = state.get("momentum_buffer")
            if buffer is None:  # a copy of the gradient, which its owner may change in place
                buffer = grad if type(grad) is float else np.array(grad)
            else:
                buffer = momentum * buffer + (1.0 - group["dampening"]) * grad
            state["momentum_buffer"] = buffer
            grad = grad + momentum * buffer if group["nesterov"] else buffer
        return group["lr"] * grad


class Adam(Optimizer):
    """Adam (Kingma & Ba, 2015) with bias-corrected moments, as torch.optim.Adam:

        m ← β₁ m + (1 − β₁) g         v ← β₂ v + (1 − β₂) g²
        p ← p − lr / (1 − β₁ᵗ) · m / (√v̂ / √(1 − β₂ᵗ) + ε)

    where v̂ is v, or with ``amsgrad=True`` the largest v so far. With
    ``decoupled_weight_decay=True`` (what `AdamW` is) the decay is not added to g but shrinks
    the parameter first, p ← p (1 − lr · weight_decay).
    """

    def __init__(self, params: Params, lr: float = 1e-3,
                 betas: Tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0, amsgrad: bool = False, *, maximize: bool = False,
                 decoupled_weight_decay: bool = False):
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                                      amsgrad=amsgrad, maximize=maximize,
                                      decoupled_weight_decay=decoupled_weight_decay))

    def _check(self, group: ParamGroup, who: str) -> None:
        super()._check(group, who)
        betas = group["betas"]
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise ValueError(f"{who}: betas must be a pair (beta1, beta2); got {betas!r}")
        group["betas"] = (_number(who, "betas[0]", betas[0], 0.0, 1.0),
                          _number(who, "betas[1]", betas[1], 0.0, 1.0))
        group["eps"] = _number(who, "eps", group["eps"], 0.0)
        group["amsgrad"] = bool(group["amsgrad"])
        group["decoupled_weight_decay"] = bool(group["decoupled_weight_decay"])

    def _update(self, data: Any, grad: Any, state: Dict[str, Any], group: ParamGroup) -> Any:
        lr, (beta1, beta2) = group["lr"], group["betas"]
        decay = lr * group["weight_decay"] if group["decoupled_weight_decay"] else 0.0
        if not decay:
            grad = _l2(grad, data, group)
        if not state:
            state.update(step=0, exp_avg=full_like(data, 0.0), exp_avg_sq=full_like(data, 0.0))
        state["step"] += 1
        t = state["step"]
        state["exp_avg"] = mean = state["exp_avg"] + (1.0 - beta1) * (grad - state["exp_avg"])
        state["exp_avg_sq"] = square = beta2 * state["exp_avg_sq"] + (1.0 - beta2) * grad * grad
        if group["amsgrad"]:
            square = np.maximum(state.get("max_exp_avg_sq", full_like(data, 0.0)), square)
            state["max_exp_avg_sq"] = square
        denominator = np.sqrt(square) / (1.0 - beta2 ** t) ** 0.5 + group["eps"]
        change = lr / (1.0 - beta1 ** t) * (mean / denominator)
        return change + decay * data if decay else change  # decoupled: p (1 - lr wd) - change


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter, 2019), as torch.optim.AdamW: each
    step first shrinks the parameter, p ← p (1 − lr · weight_decay), then takes Adam's step
    with the plain gradient."""

    def __init__(self, params: Params, lr: float = 1e-3,
                 betas: Tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 1e-2, amsgrad: bool = False, *, maximize: bool = False):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, maximize=maximize,
                         decoupled_weight_decay=True)


class RMSprop(Optimizer):
    """RMSprop (Hinton), as torch.optim.RMSprop:

        v ← α v + (1 − α) g²           with ``centered=True`` also  ḡ ← α ḡ + (1 − α) g
        d ← √v + ε                     (centered: d ← √(v − ḡ²) + ε)
        p ← p − lr · g / d             or, with momentum μ > 0,   b ← μ b + g / d,  p ← p − lr · b
    """

    def __init__(self, params: Params, lr: float = 1e-2, alpha: float = 0.99, eps: float = 1e-8,
                 weight_decay: float = 0.0, momentum: float = 0.0, centered: bool = False, *,
                 maximize: bool = False):
        super().__init__(params, dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay,
                                      momentum=momentum, centered=centered, maximize=maximize))

    def _check(self, group: ParamGroup, who: str) -> None:
        super()._check(group, who)
        group["alpha"] = _number(who, "alpha", group["alpha"], 0.0, 1.0)
        group["eps"] = _number(who, "eps", group["eps"], 0.0)
        group["momentum"] = _number(who, "momentum", group["momentum"], 0.0, 1.0)
        group["centered"] = bool(group["centered"])

    def _update(self, data: Any, grad: Any, state: Dict[str, Any], group: ParamGroup) -> Any:
        grad = _l2(grad, data, group)
        alpha = group["alpha"]
        if not state:
            state.update(step=0, square_avg=full_like(data, 0.0))
        state["step"] += 1
        state["square_avg"] = square = alpha * state["square_avg"] + (1.0 - alpha) * grad * grad
        if group["centered"]:
            mean = state.get("grad_avg", full_like(data, 0.0))
            state["grad_avg"] = mean = mean + (1.0 - alpha) * (grad - mean)
            square = square - mean * mean
        scaled = grad / (np.sqrt(square) + group["eps"])
        if group["momentum"] > 0:
            buffer = state.get("momentum_buffer", full_like(data, 0.0))
            state["momentum_buffer"] = scaled = group["momentum"] * buffer + scaled
        return group["lr"] * scaled


class Adagrad(Optimizer):
    """Adagrad (Duchi et al., 2011), as torch.optim.Adagrad: the sum of squared gradients,
    starting at `initial_accumulator_value`, scales each step, and the rate decays with t:

        s ← s + g²        p ← p − lr / (1 + (t − 1) · lr_decay) · g / (√s + ε)

    A group's own `initial_accumulator_value` is used (torch starts every group at the
    constructor's value).
    """

    def __init__(self, params: Params, lr: float = 1e-2, lr_decay: float = 0.0,
                 weight_decay: float = 0.0, initial_accumulator_value: float = 0.0,
                 eps: float = 1e-10, *, maximize: bool = False):
        super().__init__(params, dict(lr=lr, lr_decay=lr_decay, weight_decay=weight_decay,
                                      initial_accumulator_value=initial_accumulator_value,
                                      eps=eps, maximize=maximize))

    def _check(self, group: ParamGroup, who: str) -> None:
        super()._check(group, who)
        for name in ("lr_decay", "initial_accumulator_value", "eps"):
            group[name] = _number(who, name, group[name], 0.0)

    def _update(self, data: Any, grad: Any, state: Dict[str, Any], group: ParamGroup) -> Any:
        grad = _l2(grad, data, group)
        if not state:
            state.update(step=0, sum=full_like(data, group["initial_accumulator_value"]))
        state["step"] += 1
        state["sum"] = total = state["sum"] + grad * grad
        rate = group["lr"] / (1.0 + (state["step"] - 1) * group["lr_decay"])
        return rate * (grad / (np.sqrt(total) + group["eps"]))
