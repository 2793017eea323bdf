"""Optimizers: turn the gradients that backward() left in `.grad` into better parameters.

- `SGD` and `Adam` take one step per call of `step()`, for mini-batch training (see `train.fit`).
  Their update rules are PyTorch's, so a run can be checked step by step against torch.optim.
- `minimize` hands the whole problem to scipy.optimize (L-BFGS-B, CG, ...) over the parameters
  flattened into one vector: full-batch training, the counterpart of the course's ``fmincg``.

Parameters are leaf Values. Array data is updated in place (its dtype, float32 or float64, is
kept); a Python float is rebound to the new float.
"""

from __future__ import annotations

import math
from typing import Any, Callable, Dict, Iterable, List, Optional, Tuple

import numpy as np
import scipy.optimize  # type: ignore[import-untyped]  # scipy ships no type stubs
from tqdm import tqdm  # type: ignore[import-untyped]  # nor does tqdm

from ..engine import Value, zero_grad
from ..errors import ShapeError, UnsupportedTypeError
from ..nn import Module

# scipy methods that use the gradient and need no Hessian.
GRADIENT_METHODS = ("L-BFGS-B", "CG", "BFGS", "Newton-CG", "TNC", "SLSQP", "trust-constr")


def progress_bar(progress: Optional[bool], **options: Any) -> tqdm:
    """A tqdm bar on stderr: with ``progress=None`` it is shown only when stderr is a terminal,
    ``False`` hides it and ``True`` forces it on (tqdm's own `disable=None` rule)."""
    return tqdm(disable=None if progress is None else not progress, **options)


def checked_loss(loss: Any, who: str) -> Value:
    """`loss` if it is a one-element Value (what backward() starts from), else a clear error."""
    if not isinstance(loss, Value):
        raise UnsupportedTypeError(f"{who}: loss_fn must return a Value (a scalar loss such as "
                        f"losses.cross_entropy(...)); got {type(loss).__name__}")
    if loss.size != 1:
        raise ShapeError(f"{who}: loss_fn must return a one-element Value; got shape {loss.shape} "
                         "(reduce it, e.g. with .mean())")
    return loss


def _number(who: str, name: str, value: Any, low: float, high: float = math.inf, *,
            low_open: bool = False) -> float:
    """`value` as a float in [low, high) (or (low, high) when `low_open`), else a clear error."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise UnsupportedTypeError(f"{who}: {name} must be a number; got {value!r}") from None
    if (number > low if low_open else number >= low) and number < high:
        return number
    interval = f"{'(' if low_open else '['}{low}, {high})"
    raise ValueError(f"{who}: {name} must lie in {interval}; got {value}")


def _describe(p: Value) -> str:
    return f"{p.label!r} of shape {p.shape}" if p.label else f"of shape {p.shape}"


def check_params(params: Iterable[Value], who: str) -> List[Value]:
    """The parameters as a list, after checking each is a distinct leaf Value needing a gradient."""
    if isinstance(params, Value) or not isinstance(params, Iterable):
        raise UnsupportedTypeError(f"{who}: params must be an iterable of Values, such as "
                                   f"model.parameters(); got {type(params).__name__}")
    params = list(params)
    if not params:
        raise ValueError(f"{who}: params is empty; give the Values to optimize, "
                         "such as model.parameters()")
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


class Optimizer:
    """Base class: holds the parameters, the learning rate `lr` (change it between steps for a
    schedule) and the L2 weight decay, which adds ``weight_decay * p`` to each gradient."""

    def __init__(self, params: Iterable[Value], lr: float, weight_decay: float):
        who = type(self).__name__
        self.params = check_params(params, who)
        self.lr = _number(who, "lr", lr, 0.0, low_open=True)
        self.weight_decay = _number(who, "weight_decay", weight_decay, 0.0)
        self.steps = 0

    def zero_grad(self) -> None:
        """Reset every parameter's gradient to zero (leaves accumulate across backward calls)."""
        zero_grad(self.params)

    def step(self) -> None:
        """Update every parameter from its current gradient."""
        self.steps += 1
        for i, p in enumerate(self.params):
            g = p.grad + self.weight_decay * p.data if self.weight_decay else p.grad
            change = self._change(i, g)
            if type(p.data) is float:
                p.data = float(p.data - change)
            else:
                p.data -= change

    def _change(self, i: int, g: Any) -> Any:
        """What to subtract from parameter `i`, given its gradient `g` (weight decay included)."""
        raise NotImplementedError

    def __repr__(self) -> str:
        settings = ", ".join(f"{k}={v}" for k, v in vars(self).items()
                             if k not in ("params", "steps") and not k.startswith("_"))
        return f"{type(self).__name__}({settings})"


class SGD(Optimizer):
    """Stochastic gradient descent with optional momentum (PyTorch's form, no dampening):

        b ← μ b + g   (b = g on the first step)
        p ← p − lr · b             or, with Nesterov momentum,   p ← p − lr · (g + μ b)

    where g = ∇p + weight_decay · p.
    """

    def __init__(self, params: Iterable[Value], lr: float, momentum: float = 0.0,
                 weight_decay: float = 0.0, nesterov: bool = False):
        super().__init__(params, lr, weight_decay)
        self.momentum = _number("SGD", "momentum", momentum, 0.0, 1.0)
        if nesterov and not self.momentum:
            raise ValueError("SGD: nesterov=True needs a momentum > 0")
        self.nesterov = bool(nesterov)
        self._velocity: List[Any] = [None] * len(self.params)

    def _change(self, i: int, g: Any) -> Any:
        if not self.momentum:
            return self.lr * g
        previous = self._velocity[i]
        velocity = g if previous is None else self.momentum * previous + g
        self._velocity[i] = velocity
        return self.lr * (g + self.momentum * velocity if self.nesterov else velocity)


class Adam(Optimizer):
    """Adam (Kingma & Ba, 2015) with bias-corrected moment estimates, at step t:

        m ← β₁ m + (1 − β₁) g        v ← β₂ v + (1 − β₂) g²
        p ← p − lr · m̂ / (√v̂ + ε)   with m̂ = m / (1 − β₁ᵗ), v̂ = v / (1 − β₂ᵗ)

    where g = ∇p + weight_decay · p (L2 decay through the gradient, as torch.optim.Adam).
    """

    def __init__(self, params: Iterable[Value], lr: float = 1e-3,
                 betas: Tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0):
        super().__init__(params, lr, weight_decay)
        if len(betas) != 2:
            raise ValueError(f"Adam: betas must be a pair (beta1, beta2); got {betas!r}")
        self.betas = (_number("Adam", "betas[0]", betas[0], 0.0, 1.0),
                      _number("Adam", "betas[1]", betas[1], 0.0, 1.0))
        self.eps = _number("Adam", "eps", eps, 0.0)
        # 0.0 broadcasts to each gradient's shape and dtype on the first step.
        self._mean: List[Any] = [0.0] * len(self.params)
        self._square: List[Any] = [0.0] * len(self.params)

    def _change(self, i: int, g: Any) -> Any:
        beta1, beta2 = self.betas
        self._mean[i] = beta1 * self._mean[i] + (1.0 - beta1) * g
        self._square[i] = beta2 * self._square[i] + (1.0 - beta2) * g * g
        mean = self._mean[i] / (1.0 - beta1 ** self.steps)
        square = self._square[i] / (1.0 - beta2 ** self.steps)
        return self.lr * mean / (square ** 0.5 + self.eps)


# ---- full-batch optimisation with scipy ---------------------------------------------------------
def _flatten(arrays: Iterable[Any]) -> np.ndarray:
    """Floats and arrays laid end to end in one float64 vector (scipy's view of the parameters)."""
    return np.concatenate([np.ravel(a) for a in arrays]).astype(np.float64, copy=False)


def _assign(params: List[Value], vector: np.ndarray) -> None:
    """Set the parameters from a flat vector made by `_flatten`, each keeping its dtype."""
    start = 0
    for p in params:
        chunk = vector[start:start + p.size]
        start += p.size
        if type(p.data) is float:
            p.data = float(chunk[0])
        else:
            p.data[...] = chunk.reshape(p.shape)


def minimize(model: Module, loss_fn: Callable[..., Value], X: Any = None, y: Any = None, *,
             method: str = "L-BFGS-B", maxiter: int = 100, tol: Optional[float] = None,
             callback: Optional[Callable[[int, Dict[str, float]], Any]] = None,
             progress: Optional[bool] = None) -> scipy.optimize.OptimizeResult:
    """Minimize a loss over all of `model`'s parameters at once with ``scipy.optimize.minimize``.

    The loss is ``loss_fn(model(X), y)`` when `X` is given, else ``loss_fn()`` (a closure that
    runs the model itself). Each evaluation sets the parameters from scipy's vector, runs the
    forward pass and backward(), and hands back the loss and the flat gradient in float64.
    `method` is any scipy method that uses a gradient and no Hessian (`GRADIENT_METHODS`): L-BFGS-B
    or CG play the part of the course's fmincg. After each iteration `callback(iteration, logs)`
    is called with ``logs = {"loss": ...}`` and the model holding that iteration's parameters;
    `iteration` counts from 0, as an index into `history`.

    Returns scipy's OptimizeResult with one more field, `history`: the loss after each
    iteration. The model is left holding the parameters with the lowest loss evaluated (scipy's
    answer, except when a line search saw better), and `x`, `fun` and `jac` describe them.
    """
    methods = {m.lower(): m for m in GRADIENT_METHODS}
    if not isinstance(method, str) or method.lower() not in methods:
        raise ValueError(f"minimize: method must be one of {', '.join(GRADIENT_METHODS)} (scipy "
                         f"methods that use the gradient and need no Hessian); got {method!r}")
    method = methods[method.lower()]
    if isinstance(maxiter, bool) or not isinstance(maxiter, int) or maxiter < 1:
        raise ValueError(f"minimize: maxiter must be a positive integer; got {maxiter!r}")
    if X is None and y is not None:
        raise ValueError("minimize: y was given without X; pass X too, or use a closure loss_fn()")
    params = check_params(model.parameters(), "minimize")
    best: Dict[str, Any] = {"fun": math.inf}
    last: Dict[str, Any] = {"x": None}  # the point of the latest evaluation: the model is there
    history: List[float] = []

    def objective(vector: np.ndarray) -> Tuple[float, np.ndarray]:
        _assign(params, vector)
        zero_grad(params)
        loss = checked_loss(loss_fn(model(X), y) if X is not None else loss_fn(), "minimize")
        loss.backward()
        value, gradient = loss.item(), _flatten(p.grad for p in params)
        last.update(x=vector.copy(), fun=value)
        if value < best["fun"]:
            best.update(x=vector.copy(), fun=value, jac=gradient)
        return value, gradient

    with progress_bar(progress, total=maxiter, desc=f"minimize ({method})", unit="iter") as bar:
        def on_iteration(vector: np.ndarray, *_: Any) -> None:
            # scipy's methods report the point they evaluated last; if one did not, evaluate it.
            value = last["fun"] if np.array_equal(vector, last["x"]) else objective(vector)[0]
            history.append(value)
            bar.set_postfix(loss=value, refresh=False)
            bar.update(1)
            if callback is not None:
                callback(len(history) - 1, {"loss": value})

        result = scipy.optimize.minimize(objective, _flatten(p.data for p in params), jac=True,
                                         method=method, tol=tol, callback=on_iteration,
                                         options={"maxiter": maxiter})
    if "x" in best:
        result.update(x=best["x"], fun=best["fun"], jac=best["jac"])
    _assign(params, result.x)
    result.history = history
    return result
