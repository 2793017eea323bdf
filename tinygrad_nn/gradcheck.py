"""Gradient checking: compare backpropagation with central finite differences.

Backpropagation is only as right as each op's vector-Jacobian product. The check needs no
knowledge of the ops: a derivative is also the limit of a difference quotient, so

    d f / d x_j  ~  (f(x + h e_j) - f(x - h e_j)) / (2 h)        (error O(h^2))

The step is ``h = max(eps, sqrt(macheps) |x_j|)``, macheps that of x's dtype (2.2e-16 in
float64): eps (Ng's 1e-4, PyTorch's 1e-6) for inputs of moderate size, growing with larger
ones, where an absolute eps would vanish in rounding (1e12 + 1e-6 == 1e12) and a zero VJP
would match the zero difference. The quotient divides by the step actually taken, ``(x + h) -
(x - h)`` as computed in x's dtype; an element that no step can move (x near the largest float)
raises `GradcheckError` rather than pass unchecked.

- `numerical_gradient` applies this formula to a scalar function: the method of Ng's course.
- `gradcheck` compares the whole Jacobian of a function with any number of array inputs and
  outputs, one backward pass per output element against two forward passes per input element.
  With ``fast=True`` it compares a random projection instead, ``v . J . u``: one backward pass
  per output against one directional difference (two forward passes) per input, whatever its
  size, so an MLP of 10^4 parameters in three layers checks in about fifteen forward passes.
- `check_gradients` does the same for every parameter of a model and a loss.
- `relative_difference` is Ng's criterion ``|a - b| / |a + b|``.

A failure raises `GradcheckError`, whose message names the output and the input that disagree,
the largest absolute and relative error, the element where each occurs and both values.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any, Callable, Iterator, Optional, Protocol, Sequence, Union

import numpy as np

from .engine import Value, as_data, enable_grad, grad, is_grad_enabled, no_grad, zero_grad
from .errors import DomainError, GradcheckError, UnsupportedTypeError

Data = Union[float, np.ndarray]


@dataclass(frozen=True)
class Derivative:
    """One derivative, by backpropagation (`analytic`) and by finite differences (`numerical`).

    ``output_index`` is the element of the output (None when fast mode projected the output on a
    random vector); ``input_index`` the element of the input.
    """

    output_index: Optional[tuple]
    input_index: tuple
    analytic: float
    numerical: float

    @property
    def abs_error(self) -> float:
        return abs(self.analytic - self.numerical)

    @property
    def rel_error(self) -> float:
        """|analytic - numerical| / |numerical| (inf when only the numerical one is zero)."""
        return float(_relative_error(self.analytic, self.numerical))


@dataclass(frozen=True)
class Mismatch:
    """An (output, input) pair whose derivatives disagree beyond ``atol + rtol * |numerical|``."""

    output: int
    input: int
    output_name: str
    input_name: str
    failing: int             # derivatives out of tolerance
    total: int               # derivatives compared
    largest_abs: Derivative  # the failing derivative with the largest absolute error
    largest_rel: Derivative  # ... and the one with the largest relative error
    projection: Optional[tuple] = None  # fast mode: (analytic, numerical) of v . J . u


# ---- what is checked: a function of its inputs, or a model's loss of its parameters --------------
class _Checkable(Protocol):
    """A computation the checks can run: at any point without a graph, at its point with one."""

    who: str               # the check, as messages call it
    point: list            # the data of every input that is checked
    input_names: list
    input_positions: list  # what `Mismatch.input` reports for each checked input

    def output_name(self, k: int) -> str:
        """How messages call output k."""

    def evaluate(self, point: list) -> list:
        """The outputs (float64 arrays) when the checked inputs take the data in `point`."""

    def backprop(self) -> tuple:
        """Build the graph at `self.point`: (its outputs as arrays, vjp(k, seed) -> flat grads)."""


class _Function:
    """``f(*inputs)``: numbers and arrays are checked, Values that require a gradient too; a
    Value with ``requires_grad=False`` is passed through as a constant."""

    def __init__(self, f: Callable[..., Any], inputs: Sequence[Any], who: str,
                 names: Optional[Callable[[int], str]] = None,
                 output_names: Optional[Callable[[int], str]] = None):
        self.f, self.who = f, who
        self.args = [x if isinstance(x, Value) and not x.requires_grad else None for x in inputs]
        self.input_positions = [i for i, a in enumerate(self.args) if a is None]
        self.point = [as_data(inputs[i], who) for i in self.input_positions]
        self.input_names = [(names or "input {}".format)(i) for i in self.input_positions]
        self.output_names = output_names or "output {}".format

    def output_name(self, k: int) -> str:
        return self.output_names(k)

    def _call(self, leaves: list) -> list:
        args = list(self.args)
        for i, leaf in zip(self.input_positions, leaves):
            args[i] = leaf
        result = self.f(*args)
        outputs = list(result) if isinstance(result, tuple) else [result]
        for k, out in enumerate(outputs):
            if not isinstance(out, Value):
                raise UnsupportedTypeError(
                    f"{self.who}: f must return a Value or a tuple of Values; output {k} is a "
                    f"{type(out).__name__} (computing on .data or with numpy leaves the graph)")
        return outputs

    def evaluate(self, point: list) -> list:
        with no_grad():
            return _as_arrays(self._call([Value(d, requires_grad=False) for d in point]))

    def backprop(self) -> tuple:
        leaves = [Value(d) for d in self.point]
        outputs = self._call(leaves)
        return _as_arrays(outputs), _vjp(outputs, leaves)


class _Model:
    """``loss_fn(model(X), y)`` as a function of the model's parameters, moved in place."""

    def __init__(self, model: Any, loss_fn: Callable[[Any, Any], Value], X: Any, y: Any):
        self.model, self.loss_fn, self.X, self.y = model, loss_fn, X, y
        self.who = "check_gradients"
        self.params, names = _parameters(model)
        self.point = [p.data for p in self.params]
        self.input_names = names
        self.input_positions = list(range(len(self.params)))

    def output_name(self, k: int) -> str:
        return "loss"

    def _loss(self, point: list) -> Value:
        for p, data in zip(self.params, point):
            p.data = data
        loss = self.loss_fn(self.model(self.X), self.y)
        if not isinstance(loss, Value):
            raise UnsupportedTypeError(f"check_gradients: loss_fn must return a Value, got a "
                                       f"{type(loss).__name__}")
        return loss

    def evaluate(self, point: list) -> list:
        with no_grad():
            return _as_arrays([self._loss(point)])

    def backprop(self) -> tuple:
        loss = self._loss(self.point)
        return _as_arrays([loss]), _vjp([loss], self.params)

    def restore(self, grads: list) -> None:
        """Put back the parameters' data and gradients as they were before the check."""
        for p, data, g in zip(self.params, self.point, grads):
            p.data, p.grad = data, g


class _ModelGradient(_Model):
    """The gradient of a model's loss as a function of its parameters: its Jacobian, the
    Hessian, is what a second-order check compares with finite differences of the gradient."""

    def output_name(self, k: int) -> str:
        return f"d loss / d {self.input_names[k]}"

    def _gradients(self, point: list, create_graph: bool) -> list:
        with enable_grad():
            loss = self._loss(point)
            return list(grad(loss, self.params, create_graph=create_graph,
                             materialize_grads=True))

    def evaluate(self, point: list) -> list:
        return _as_arrays(self._gradients(point, create_graph=False))

    def backprop(self) -> tuple:
        grads = self._gradients(self.point, create_graph=True)
        return _as_arrays(grads), _vjp(grads, self.params)


def _as_arrays(outputs: list) -> list:
    return [np.array(out.data, dtype=np.float64) for out in outputs]


def _vjp(outputs: list, leaves: list) -> Callable[[int, Any], list]:
    """vjp(k, seed): the gradient of ``sum(seed * outputs[k])`` with respect to each leaf, flat."""
    def vjp(k: int, seed: Any) -> list:
        zero_grad(leaves)
        if outputs[k].requires_grad:  # else no leaf reaches the output: every gradient is zero
            outputs[k].backward(seed)
        return [np.ravel(leaf.grad).astype(np.float64) for leaf in leaves]
    return vjp


def _parameters(model: Any) -> tuple:
    """The distinct trainable leaves of `model`, and a name for each."""
    if not callable(getattr(model, "parameters", None)):
        raise UnsupportedTypeError(f"check_gradients: the model ({type(model).__name__}) needs a "
                                   "parameters() method returning its leaf Values")
    named = getattr(model, "named_parameters", None)
    names = {id(p): name for name, p in named()} if callable(named) else {}
    params: list = []
    for n, p in enumerate(model.parameters()):
        if not isinstance(p, Value) or p._prev:
            what = f"a Value computed by {p._op!r}" if isinstance(p, Value) else type(p).__name__
            raise UnsupportedTypeError(f"check_gradients: parameters() must yield leaf Values; "
                                       f"item {n} is {what}")
        if p.requires_grad and all(p is not q for q in params):
            params.append(p)
    return params, [names.get(id(p), f"parameter {n}") for n, p in enumerate(params)]


# ---- the two comparisons -------------------------------------------------------------------------
def _steps(x: Data, eps: float) -> np.ndarray:
    """The step for each element of x: ``max(eps, sqrt(macheps) |x|)``, macheps that of x's dtype.

    An absolute eps vanishes next to a large input (1e12 + 1e-6 == 1e12 in float64): both
    evaluations are then the same, the difference is 0, and a zero VJP would pass. Past
    ``|x| = eps / sqrt(macheps)`` (67 in float64 with eps = 1e-6) the step grows with |x|, so
    that x +- step differ from x by ~10^8 units in the last place and rounding in f cannot
    swamp the difference."""
    data = np.asarray(x)
    floor = float(np.sqrt(np.finfo(data.dtype if data.dtype.kind == "f" else np.float64).eps))
    return np.maximum(eps, floor * np.abs(data.astype(np.float64)))


def _directional_derivative(target: _Checkable, i: int, direction: np.ndarray,
                            eps: float) -> tuple:
    """Central differences of each output along `direction` for checked input i, over the step
    actually taken.

    Input i moves to ``x +- steps * direction`` (see `_steps`), rounded to its dtype. The
    quotient divides ``f(x+) - f(x-)`` by the length of ``x+ - x-`` as computed, not by the
    step asked for, which rounding changes; returns those quotients, one per output, and the
    unit vector ``(x+ - x-) / |x+ - x-|`` along which they are derivatives."""
    x = target.point[i]

    def moved(sign: float) -> Any:
        return float(x + sign * step) if type(x) is float else (x + sign * step).astype(x.dtype)
    with np.errstate(over="ignore", invalid="ignore"):  # an inf or a huge x: refused below
        step = _steps(x, eps) * direction
        plus, minus = moved(1.0), moved(-1.0)
        taken = np.asarray(plus, dtype=np.float64) - np.asarray(minus, dtype=np.float64)
    _require_resolved(target, i, direction, taken, step)
    scale = float(np.max(np.abs(taken), initial=0.0))  # |taken| without overflow at |x| ~ 1e300
    length = scale * float(np.linalg.norm(taken / scale)) if scale else 1.0  # 0: an empty input

    def evaluate(moved_x: Any) -> list:
        point = list(target.point)
        point[i] = moved_x
        return target.evaluate(point)
    differences = [(p - m) / length for p, m in zip(evaluate(plus), evaluate(minus))]
    return differences, taken / length


def _require_resolved(target: _Checkable, i: int, direction: np.ndarray, taken: np.ndarray,
                      step: np.ndarray) -> None:
    """Every element that the direction moves must move, by a finite amount: else finite
    differences would not see its derivative, and any VJP would pass there."""
    lost = (direction != 0) & ~(np.isfinite(taken) & (taken != 0))
    if lost.any():
        at = _unravel(int(np.argmax(lost)), np.shape(taken))
        x = np.asarray(target.point[i])
        raise GradcheckError(
            f"{target.who}: finite differences cannot move {target.input_names[i]}"
            f"{_brackets(at)} = {float(x[at])!r} ({x.dtype}) by a step of {abs(step[at]):.3g}: "
            f"x + step and x - step are {'equal' if taken[at] == 0 else 'not both finite'} in "
            f"{x.dtype}, so no VJP could fail there")


def _units(shape: tuple) -> Iterator[np.ndarray]:
    """The unit vectors of arrays of `shape`, one element set to 1 at a time."""
    for j in range(int(np.prod(shape))):
        unit = np.zeros(shape)
        unit.flat[j] = 1.0
        yield unit


def _numerical_jacobian(target: _Checkable, i: int, eps: float, output_sizes: list) -> list:
    """For each output, the (output size, input size) matrix of its derivatives by input i."""
    columns = [_directional_derivative(target, i, unit, eps)[0]
               for unit in _units(np.shape(target.point[i]))]
    return [np.array([np.ravel(c[k]) for c in columns]).reshape(len(columns), size).T
            for k, size in enumerate(output_sizes)]


def _full_check(target: _Checkable, values: list, vjp: Callable, eps: float, atol: float,
                rtol: float) -> list:
    """Compare every derivative: one backward per output element, two forwards per input element."""
    sizes = [value.size for value in values]
    analytic = []  # analytic[k][i]: the Jacobian of output k by input i, one row per backward
    for k, value in enumerate(values):
        rows = [vjp(k, unit) for unit in _units(value.shape)]
        analytic.append([np.array([row[i] for row in rows]).reshape(value.size, np.size(x))
                         for i, x in enumerate(target.point)])
    _require_repeatable(target, values)
    mismatches = []
    for i, x in enumerate(target.point):
        numerical = _numerical_jacobian(target, i, eps, sizes)
        for k, value in enumerate(values):
            if not _within(analytic[k][i], numerical[k], atol, rtol).all():
                found = _locate(analytic[k][i], numerical[k], value.shape, np.shape(x), atol, rtol)
                mismatches.append(_mismatch(target, k, i, *found))
    return mismatches


def _fast_check(target: _Checkable, values: list, vjp: Callable, eps: float, atol: float,
                rtol: float, seed: int) -> list:
    """Compare v . J . u for random unit vectors: one backward per output, one directional
    difference per input. A pair that disagrees is then compared element by element (for the
    projected output ``v . output``) to say where."""
    rng = np.random.default_rng(seed)
    us = [_unit_vector(rng, np.shape(x)) for x in target.point]
    vs = [_unit_vector(rng, value.shape) for value in values]
    grads = [vjp(k, v) for k, v in enumerate(vs)]  # grads[k][i] = J_ki^T v, flat
    _require_repeatable(target, values)
    mismatches = []
    for i, u in enumerate(us):
        directional, taken = _directional_derivative(target, i, u, eps)  # taken ~ u, rounded
        for k, v in enumerate(vs):
            analytic = float(np.dot(grads[k][i], np.ravel(taken)))
            numerical = float(np.vdot(directional[k], v))
            if _within(analytic, numerical, atol, rtol):
                continue
            projected = np.ravel(v) @ _numerical_jacobian(target, i, eps, [v.size])[0]
            found = _locate(grads[k][i][None, :], projected[None, :], None,
                            np.shape(target.point[i]), atol, rtol)
            failing, total, largest_abs, largest_rel = found
            mismatches.append(_mismatch(target, k, i, failing, total, largest_abs, largest_rel,
                                        projection=(analytic, numerical)))
    return mismatches


def _unit_vector(rng: np.random.Generator, shape: tuple) -> np.ndarray:
    v = np.asarray(rng.standard_normal(shape))
    norm = np.linalg.norm(v)
    return np.asarray(v / norm) if norm > 0 else v


def _within(analytic: Any, numerical: Any, atol: float, rtol: float) -> Any:
    """Where |analytic - numerical| <= atol + rtol * |numerical|; NaN is never within."""
    return np.abs(analytic - numerical) <= atol + rtol * np.abs(numerical)


def _relative_error(analytic: Any, numerical: Any) -> Any:
    """|analytic - numerical| / |numerical|: inf where only the numerical one is zero."""
    error = np.abs(analytic - numerical)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(numerical != 0, error / np.abs(numerical), np.where(error > 0, np.inf, 0.0))


def _locate(analytic: np.ndarray, numerical: np.ndarray, output_shape: Optional[tuple],
            input_shape: tuple, atol: float, rtol: float) -> tuple:
    """Where two (output size, input size) Jacobians disagree most: the number of derivatives out
    of tolerance, the total, and among the failing ones (all of them, if none fails alone) the
    derivative with the largest absolute error and the one with the largest relative error.
    A NaN on either side counts as the largest error."""
    bad = ~_within(analytic, numerical, atol, rtol)
    considered = bad if bad.any() else np.ones_like(bad)

    def largest(errors: np.ndarray) -> Derivative:
        errors = np.where(np.isnan(errors), np.inf, errors)
        flat = int(np.argmax(np.where(considered, errors, -1.0)))
        row, col = (int(n) for n in np.unravel_index(flat, errors.shape))
        out_index = None if output_shape is None else _unravel(row, output_shape)
        return Derivative(out_index, _unravel(col, input_shape), float(analytic[row, col]),
                          float(numerical[row, col]))

    return (int(bad.sum()), bad.size, largest(np.abs(analytic - numerical)),
            largest(_relative_error(analytic, numerical)))


def _unravel(flat: int, shape: tuple) -> tuple:
    return tuple(int(n) for n in np.unravel_index(flat, shape))


def _mismatch(target: _Checkable, k: int, i: int, failing: int, total: int, largest_abs: Derivative,
              largest_rel: Derivative, projection: Optional[tuple] = None) -> Mismatch:
    return Mismatch(k, target.input_positions[i], target.output_name(k), target.input_names[i],
                    failing, total, largest_abs, largest_rel, projection)


# ---- running a check and saying what went wrong --------------------------------------------------
def _check(target: _Checkable, who: str, eps: float, atol: float, rtol: float, fast: bool,
           raise_exception: bool, seed: Optional[int]) -> bool:
    _require_positive(eps, who)
    _warn_if_float32(target, who, stacklevel=3)  # the caller of gradcheck or check_gradients
    values, vjp = target.backprop()
    if not any(np.size(x) for x in target.point) or not any(value.size for value in values):
        raise GradcheckError(f"{who}: nothing to check: no derivative links an element of an "
                             "output to an element of an input that requires a gradient")
    if fast:
        # SeedSequence() draws its entropy: an int (typed as possibly a sequence or None)
        seed = int(np.random.SeedSequence().entropy % 2**32) if seed is None else seed  # type: ignore[operator]
        mismatches = _fast_check(target, values, vjp, eps, atol, rtol, seed)
    else:
        mismatches = _full_check(target, values, vjp, eps, atol, rtol)
    if not mismatches:
        return True
    if raise_exception:
        message = _report(mismatches, who, eps, atol, rtol, seed if fast else None)
        raise GradcheckError(message + _grown_steps(target, eps), mismatches)
    return False


def _grown_steps(target: _Checkable, eps: float) -> str:
    """A note for a failure where steps grew beyond eps with large inputs (see `_steps`)."""
    largest = max(float(np.max(_steps(x, eps), initial=0.0)) for x in target.point)
    if largest <= eps:
        return ""
    return (f"\nSteps grew with the inputs' size to {largest:.3g} (max(eps, sqrt(macheps)·|x|), "
            "so that x +- step differs from x); a function that varies on a much finer scale "
            "than |x| needs checking as a function of an offset from x.")


def _require_positive(eps: float, who: str) -> None:
    number = isinstance(eps, (int, float, np.integer, np.floating)) and not isinstance(eps, bool)
    if not (number and 0 < eps < float("inf")):
        raise DomainError(f"{who}: eps must be a positive finite number, got {eps!r}")


def _warn_if_float32(target: _Checkable, who: str, stacklevel: int) -> None:
    names = [name for name, x in zip(target.input_names, target.point)
             if np.asarray(x).dtype == np.float32]
    if names:
        warnings.warn(
            f"{who}: {', '.join(names)} {'is' if len(names) == 1 else 'are'} float32. A finite "
            f"difference cancels most of float32's 7 significant digits, so the comparison is "
            f"unreliable: check gradients in float64 (np.asarray(x, dtype=np.float64)), and test "
            f"the float32 forward separately against the float64 one.", stacklevel=stacklevel + 1)


def _require_repeatable(target: _Checkable, values: list) -> None:
    """Finite differences need finite outputs that depend on nothing but the inputs.

    `values` come from the graph that backpropagation uses; finite differences evaluate under
    no_grad. Beyond rounding, the two must agree: else the function is random (dropout) or
    computes something else without a graph, and the comparison would be meaningless.
    Called after the last backward pass: evaluating a model moves its parameters (assigning
    their .data), after which the engine refuses to backpropagate through the older graph."""
    who = target.who
    for k, (value, again) in enumerate(zip(values, target.evaluate(target.point))):
        name = target.output_name(k)
        if not np.isfinite(value).all():
            at = _unravel(int(np.argmin(np.isfinite(value))), value.shape)
            raise GradcheckError(f"{who}: {name} is not finite at the given inputs "
                                 f"({value[at]} at {list(at)}); there is no derivative to check")
        if not np.allclose(value, again, rtol=1e-9, atol=1e-12):
            raise GradcheckError(
                f"{who}: {name} changed between two evaluations at the same inputs, one "
                f"recording the graph and one under no_grad (by up to "
                f"{np.max(np.abs(value - again)):.3g}); the function must be deterministic "
                "(switch dropout and other randomness off) and compute the same with or "
                "without a graph")


def _report(mismatches: list, who: str, eps: float, atol: float, rtol: float,
            seed: Optional[int]) -> str:
    settings = f"eps={eps:g}, atol={atol:g}, rtol={rtol:g}"
    if seed is None:
        lines = [f"{who}: backpropagation disagrees with central finite differences ({settings})"]
    else:
        lines = [f"{who} (fast mode, seed={seed}): a random projection v.J.u of the Jacobian "
                 f"disagrees between backpropagation and central finite differences ({settings})"]
    for m in mismatches:
        if m.projection is None:
            lines.append(f"{m.output_name} w.r.t. {m.input_name}: {m.failing} of {m.total} "
                         f"derivatives out of tolerance")
        else:
            lines.append(f"{m.output_name} w.r.t. {m.input_name}: v.J.u is {m.projection[0]:.8g} "
                         f"by backpropagation, {m.projection[1]:.8g} by finite differences "
                         f"(u, v random unit vectors); element by element, for v.{m.output_name}:")
        lines.append(f"  largest absolute error {m.largest_abs.abs_error:.3g} at "
                     f"{_describe(m.largest_abs, m)}")
        same = m.largest_rel == m.largest_abs
        lines.append(f"  largest relative error {m.largest_rel.rel_error:.3g} at "
                     f"{'the same derivative' if same else _describe(m.largest_rel, m)}")
    if seed is not None:
        lines.append(f"Pass seed={seed} to reproduce; fast=False compares every derivative.")
    return "\n".join(lines)


def _describe(d: Derivative, m: Mismatch) -> str:
    projected = d.output_index is None
    output = f"v.{m.output_name}" if projected else m.output_name + _brackets(d.output_index)
    return (f"d({output}) / d({m.input_name}{_brackets(d.input_index)}): analytic "
            f"{d.analytic:.8g}, numerical {d.numerical:.8g}")


def _brackets(index: Optional[tuple]) -> str:
    return f"[{', '.join(map(str, index))}]" if index else ""


# ---- the public functions ------------------------------------------------------------------------
def numerical_gradient(f: Callable[..., Any], *inputs: Any, eps: float = 1e-4) -> Any:
    """The gradient of a scalar function by central differences, (f(x+eps) - f(x-eps)) / (2 eps)
    for each element of each input: the method of Ng's course, with its eps = 1e-4 (the step
    grows beyond eps for inputs larger than eps / sqrt(macheps), 6711 in float64; see the
    module's docstring).

    `f` receives a Value for each input and returns a one-element Value. Returns the gradient
    with respect to each input (a float for a float, an array of its shape for an array), as a
    tuple; with a single input, that gradient alone (as `numpy.gradient` does). A Value input
    with ``requires_grad=False`` is a constant: its gradient is None.
    """
    _require_positive(eps, "numerical_gradient")
    target = _Function(f, inputs, "numerical_gradient")
    _warn_if_float32(target, "numerical_gradient", stacklevel=2)
    sizes = [value.size for value in target.evaluate(target.point)]
    if sizes != [1]:
        raise UnsupportedTypeError(f"numerical_gradient: f must return one number; it returned "
                                   f"outputs of sizes {sizes} (use gradcheck for vector functions)")
    grads: list = [None] * len(inputs)
    for i, (position, x) in enumerate(zip(target.input_positions, target.point)):
        row = _numerical_jacobian(target, i, eps, sizes)[0]
        grads[position] = float(row[0, 0]) if type(x) is float else row.reshape(np.shape(x))
    return grads[0] if len(grads) == 1 else tuple(grads)


def gradcheck(f: Callable[..., Any], *inputs: Any, eps: float = 1e-6, atol: float = 1e-5,
              rtol: float = 1e-3, fast: bool = False, raise_exception: bool = True,
              seed: Optional[int] = None) -> bool:
    """Check that backpropagation through `f` agrees with central finite differences.

    `f` receives one Value per input and returns a Value or a tuple of Values of any shapes.
    Inputs are floats, arrays or Values; every one is checked except a Value with
    ``requires_grad=False``, passed as a constant. A derivative passes when
    ``|analytic - numerical| <= atol + rtol * |numerical|``.

    - ``fast=False`` compares the full Jacobian: one backward per output element, two forward
      passes per input element.
    - ``fast=True`` compares ``v . J . u`` for random unit vectors u (per input) and v (per output):
      one backward per output, two forward passes per input. `seed` fixes u and v (by default a
      fresh seed, printed in the message). On a failure the failing pair is then compared element
      by element, which costs as much as ``fast=False`` for that input.

    Returns True when everything agrees. Otherwise raises `GradcheckError` (naming the output and
    the input, the largest absolute and relative errors, where they occur and both values), or
    returns False if ``raise_exception=False``. Use float64 inputs: float32 ones give a warning.
    """
    return _check(_Function(f, inputs, "gradcheck"), "gradcheck", eps, atol, rtol, fast,
                  raise_exception, seed)


def check_gradients(model: Any, loss_fn: Callable[[Any, Any], Value], X: Any, y: Any, *,
                    eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3, fast: bool = False,
                    raise_exception: bool = True, seed: Optional[int] = None,
                    order: int = 1) -> bool:
    """Check the gradient of ``loss_fn(model(X), y)`` with respect to every parameter of `model`.

    The model's contract: ``model(X)`` returns a Value computed from its parameters;
    ``model.parameters()`` returns the leaf Values it trains (frozen ones, with
    ``requires_grad=False``, are skipped; a parameter listed twice is checked once); if it has
    ``named_parameters()`` yielding ``(dotted_name, Value)`` pairs, messages use those names.
    The model must be deterministic (dropout off). Each parameter's data is moved in place during
    the check; data and gradients are restored afterwards. Tolerances, `fast` and `seed` work as
    in `gradcheck`.

    ``order=2`` checks second derivatives instead: the Hessian of the loss, by backpropagating
    through the gradient (``create_graph=True``), against finite differences of the gradient.
    """
    if order not in (1, 2):
        raise UnsupportedTypeError(f"check_gradients: order must be 1 or 2, got {order!r}")
    target = (_Model if order == 1 else _ModelGradient)(model, loss_fn, X, y)
    grads = [p.grad for p in target.params]
    try:
        return _check(target, "check_gradients", eps, atol, rtol, fast, raise_exception, seed)
    finally:
        target.restore(grads)


def gradgradcheck(f: Callable[..., Any], *inputs: Any, grad_outputs: Optional[Sequence[Any]] = None,
                  eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3, fast: bool = False,
                  raise_exception: bool = True, seed: Optional[int] = None) -> bool:
    """Check second derivatives: `gradcheck` of f's vector-Jacobian product (PyTorch's meaning).

    The VJP ``(x, v) -> v . df/dx`` is computed by backpropagation with ``create_graph=True``;
    its own derivatives, by backpropagating through that graph, are compared with finite
    differences of it, with respect to every checked input x and to the cotangents v (one per
    output of f, of its shape: `grad_outputs`, or random normal ones drawn from `seed`). A VJP
    that is right to first order but wrong to second (one that uses a constant copy of its
    output, say) fails here, and the message names the function (an Op by its name) and the
    input. Other arguments as in `gradcheck`; float64 inputs, please.
    """
    name = getattr(f, "name", None) or getattr(f, "__name__", "f")
    who = f"gradgradcheck of {name}"
    first = _Function(f, inputs, who)
    if grad_outputs is None:
        rng = np.random.default_rng(0 if seed is None else seed)
        grad_outputs = [rng.standard_normal(np.shape(out)) for out in first.evaluate(first.point)]
    cotangents = list(grad_outputs)
    count, checked = len(inputs), first.input_positions

    def vjp(*args: Any) -> tuple:
        xs, vs = list(args[:count]), args[count:]
        create_graph = is_grad_enabled()  # off while finite differences evaluate
        with enable_grad():
            for i in checked:
                if not xs[i].requires_grad:  # an evaluation: differentiate at a fresh leaf
                    xs[i] = Value(xs[i].data)
            result = f(*xs)
            outputs = list(result) if isinstance(result, tuple) else [result]
            return grad(outputs, [xs[i] for i in checked], list(vs), create_graph=create_graph,
                        materialize_grads=True)

    names = lambda j: f"input {j}" if j < count else f"grad_output {j - count}"  # noqa: E731
    target = _Function(vjp, [*inputs, *cotangents], who, names,
                       lambda k: f"the VJP for input {checked[k]}")
    return _check(target, who, eps, atol, rtol, fast, raise_exception, seed)


def relative_difference(a: Any, b: Any) -> float:
    """Ng's criterion ``|a - b| / |a + b|`` (Euclidean norms) for two gradients.

    `a` and `b` are numbers, arrays, Values, or sequences of them (one gradient per parameter,
    say), compared as one flat vector. Below 1e-9 (with eps = 1e-4) backpropagation is almost
    surely right. 0 when both are zero; inf when ``a = -b`` is not zero.
    """
    u, v = _flat(a), _flat(b)
    if u.shape != v.shape:
        raise UnsupportedTypeError(f"relative_difference: the two gradients have {u.size} and "
                                   f"{v.size} elements; they must have the same number")
    difference, total = np.linalg.norm(u - v), np.linalg.norm(u + v)
    if total == 0:
        return 0.0 if difference == 0 else float("inf")
    return float(difference / total)


def _flat(x: Any) -> np.ndarray:
    """`x` as one flat float64 vector; a list or tuple is flattened part by part."""
    if isinstance(x, (list, tuple)):
        return np.concatenate([np.zeros(0), *[_flat(part) for part in x]])
    return np.ravel(np.asarray(as_data(x, "relative_difference"), dtype=np.float64))
