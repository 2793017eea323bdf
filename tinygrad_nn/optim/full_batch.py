"""Full-batch optimisation with scipy: `minimize` hands the whole problem to scipy.optimize
(L-BFGS-B, CG, ...) over the parameters flattened into one vector, the counterpart of the
course's ``fmincg``; and the helpers it shares with the training loop (`checked_loss`,
`progress_bar`)."""

from __future__ import annotations

import math
from typing import Any, Callable, Dict, Iterable, List, Optional, Tuple

import numpy as np
import scipy.optimize  # type: ignore[import-untyped]  # scipy ships no type stubs
from tqdm import tqdm  # type: ignore[import-untyped]  # nor does tqdm

from ..engine import Value, zero_grad
from ..errors import NonFiniteError, ShapeError, UnsupportedTypeError
from ..finite import all_finite, check_data, nonfinite_entries
from ..nn import Module
from ..nn.utils import vector_to_parameters
from .optimizer import check_params

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


def _flatten(arrays: Iterable[Any]) -> np.ndarray:
    """Floats and arrays laid end to end in one float64 vector (scipy's view of the parameters)."""
    return np.concatenate([np.ravel(a) for a in arrays]).astype(np.float64, copy=False)


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

    Returns scipy's OptimizeResult with two more fields: `history`, the loss after each
    iteration, and `nonfinite`, how many evaluations gave a NaN or infinite loss or gradient.
    The model is left holding the parameters with the lowest finite loss evaluated (scipy's
    answer, except when a line search saw better), and `x`, `fun` and `jac` describe them.

    NaNs and infinities: data X and y (numpy arrays) holding any are refused, naming the rows; so
    is a non-finite loss or gradient at the starting parameters, naming the parameters. Later
    on, a non-finite evaluation (at a point a line search tried, say) is handed to scipy, whose
    methods step back from it, and counted in `nonfinite` (`history` may then hold a NaN); if
    scipy ends on a non-finite loss or gradient all the same, minimize raises NonFiniteError (a
    DomainError), leaving the model at the best finite point. When the result is unsuccessful
    after non-finite evaluations, its `message` says how many there were.
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
    check_data("minimize", **{name: a for name, a in (("X", X), ("y", y))
                              if isinstance(a, np.ndarray)})
    params = check_params(model.parameters(), "minimize")
    names = {id(p): name for name, p in model.named_parameters()}
    best: Dict[str, Any] = {"fun": math.inf}
    last: Dict[str, Any] = {"x": None}  # the point of the latest evaluation: the model is there
    history: List[float] = []
    counts = {"evaluations": 0, "nonfinite": 0}
    latest = {"trouble": "all was finite"}  # what was wrong at the latest non-finite evaluation

    def broken(value: float) -> str:
        """What is non-finite at the model's current point: the loss, or which gradients."""
        grads = nonfinite_entries((names.get(id(p), f"params[{i}]"), p.grad)
                                  for i, p in enumerate(params))
        return (f"the loss is {value}" if not math.isfinite(value) else
                f"the loss {value:.6g} is finite but the gradients of {', '.join(grads)} are not")

    def objective(vector: np.ndarray) -> Tuple[float, np.ndarray]:
        vector_to_parameters(vector, params)
        zero_grad(params)
        loss = checked_loss(loss_fn(model(X), y) if X is not None else loss_fn(), "minimize")
        loss.backward()
        value, gradient = loss.item(), _flatten(p.grad for p in params)
        finite = math.isfinite(value) and all_finite(gradient)
        if not finite and last["x"] is None:
            raise NonFiniteError(f"minimize: at the starting parameters {broken(value)}, so there "
                              "is nothing to start from (look at the model's outputs and the "
                              "initial parameters)")
        counts["evaluations"] += 1
        counts["nonfinite"] += not finite
        last.update(x=vector.copy(), fun=value)
        if not finite:
            latest["trouble"] = broken(value)
        if finite and value < best["fun"]:
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
    vector_to_parameters(best["x"], params)
    tally = (f"{counts['nonfinite']} of {counts['evaluations']} evaluations gave a non-finite "
             "loss or gradient")
    if not (math.isfinite(result.fun) and all_finite(result.get("jac", 0.0))):
        why = f"the loss is {result.fun}" if not math.isfinite(result.fun) else \
            "the gradient is not finite"
        raise NonFiniteError(f"minimize: scipy's {method} ended at a point where {why} "
                          f"({str(result.message).rstrip('.')}; {tally}, the latest where "
                          f"{latest['trouble']}); the model holds the best finite point, of loss "
                          f"{best['fun']:.6g}")
    if counts["nonfinite"] and not result.success:
        result.message = f"{result.message} ({tally})"
    result.update(x=best["x"], fun=best["fun"], jac=best["jac"])
    result.history, result.nonfinite = history, counts["nonfinite"]
    return result
