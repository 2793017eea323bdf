"""Gradient-flow diagnostics: one forward and backward pass, read layer by layer.

`diagnose(model, loss_fn, X, y)` computes ``loss_fn(model(X), y)`` once, as `train.fit` does
for a batch, and the loss's gradient with respect to every parameter (with `grad`, so no
``.grad`` is touched). A layer is the dotted prefix of its parameters' names (``0`` holds
``0.weight`` and ``0.bias``; the course MLP's ``layers.0`` holds ``layers.0.W``). For each it
reports:

- ``‖W‖`` and ``‖∇W‖``, the 2-norms of the layer's weights and of their gradient (biases, named
  ``b`` or ``bias``, are left out as `Module.weights` leaves them out: they start at zero);
- ``‖∇W‖`` relative to the last layer's, the one nearest the loss: deep sigmoid networks show
  it shrinking by orders of magnitude towards the input (vanishing gradients);
- the update-to-weight ratio ``lr·‖∇W‖/‖W‖`` of one SGD step, which Karpathy's rule of thumb
  puts near 1e-3;
- the share of dead ReLU units, whose output is 0 on every example of X: they get no gradient
  from any example, and unless the layers below change they never recover;
- the share of saturated sigmoid and tanh outputs: for each unit, the share of the examples on
  which its output lies within `saturation` of an asymptote (0 or 1 for a sigmoid, ±1 for
  tanh: with the default 0.01 the derivative there is under 1/25 of its largest, so little
  gradient passes), averaged over the units.

A unit is one output of an activation per example: all axes but the first (the batch). An
activation (an op named ``relu``, ``sigmoid`` or ``tanh`` in the recorded graph) belongs to
the layer of the nearest parameter upstream, the weight it is computed from: ``relu(x Wᵀ + b)``
is W's layer. The layers past a threshold are flagged; the thresholds are keyword arguments of
`diagnose` and are kept in the report.
"""

from __future__ import annotations

from dataclasses import dataclass
import math
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

from .engine import Value, enable_grad, grad
from .errors import BackwardError
from .files import PathLike
from .plots import plot_gradient_flow
from .viz import group_by_layer, layer_of, named_parameters, topological_order

ACTIVATIONS = ("relu", "sigmoid", "tanh")  # the ops whose units are examined
BIASES = ("b", "bias")  # short names of the parameters left out of the norms
FLAGS = ("vanishing", "exploding", "dead", "saturated")


@dataclass(frozen=True)
class LayerDiagnosis:
    """What `diagnose` measured in one layer (see the module docstring for each measure)."""

    name: str                        # the layer's dotted prefix ('' for top-level parameters)
    parameters: Tuple[str, ...]      # its parameters' short names: ('weight', 'bias')
    weight_norm: float               # ‖W‖ of its weights together
    grad_norm: float                 # ‖∇W‖ of the loss with respect to them
    relative_grad: float             # ‖∇W‖ over the last layer's (nan when that one is 0)
    update_ratio: float              # lr·‖∇W‖/‖W‖
    activation: str                  # the activations found for it: 'relu', 'sigmoid', ... or ''
    units: int                       # how many units those activations have
    dead_share: Optional[float]      # the share of its ReLU units dead (None: it has none)
    saturated_share: Optional[float]  # the share of its sigmoid/tanh outputs saturated (or None)
    flags: Tuple[str, ...] = ()      # from FLAGS, in that order
    reasons: Tuple[str, ...] = ()    # one sentence per flag: the figure and the threshold

    @property
    def label(self) -> str:
        return self.name or "(top level)"


@dataclass(frozen=True)
class GradientReport:
    """The result of `diagnose`: ``layers`` in the order of ``model.named_parameters()``, the
    loss, the batch size, the learning rate of the update ratios and the thresholds used.
    ``str(report)`` is a table with one line per layer and a verdict."""

    layers: List[LayerDiagnosis]
    loss: float
    examples: int
    lr: float
    thresholds: Dict[str, float]

    @property
    def flagged(self) -> List[LayerDiagnosis]:
        """The layers with at least one flag."""
        return [layer for layer in self.layers if layer.flags]

    @property
    def healthy(self) -> bool:
        return not self.flagged

    def layers_with(self, flag: str) -> List[str]:
        """The names of the layers carrying `flag` (one of FLAGS)."""
        if flag not in FLAGS:
            raise ValueError(f"layers_with: unknown flag {flag!r}; the flags are {FLAGS}")
        return [layer.name for layer in self.layers if flag in layer.flags]

    @property
    def verdict(self) -> str:
        """One line: healthy, or each problem found with the layers that show it."""
        problems = [f"{flag} ({', '.join(layer or '(top level)' for layer in names)})"
                    for flag in FLAGS if (names := self.layers_with(flag))]
        if not problems:
            return "healthy: no layer is past a threshold"
        return f"{len(self.flagged)} of {len(self.layers)} layers flagged: " + "; ".join(problems)

    def __str__(self) -> str:
        header = ("layer", "activation", "|W|", "|grad W|", "vs last", "lr*|grad|/|W|", "dead",
                  "saturated", "flags")
        rows = [(layer.label, layer.activation or "-", _number(layer.weight_norm),
                 _number(layer.grad_norm), _number(layer.relative_grad),
                 _number(layer.update_ratio), _share(layer.dead_share),
                 _share(layer.saturated_share), " ".join(flag.upper() for flag in layer.flags))
                for layer in self.layers]
        widths = [max(len(row[c]) for row in [header, *rows]) for c in range(len(header))]

        def line(cells: Sequence[str]) -> str:
            text = [cell.ljust(w) if c < 2 else cell.rjust(w)
                    for c, (cell, w) in enumerate(zip(cells[:-1], widths))]
            return "  ".join([*text, cells[-1]]).rstrip()

        rule = "-" * max(len(line(header)), max(len(line(row)) for row in rows))
        reasons = [f"  {layer.label}: {'; '.join(layer.reasons)}" for layer in self.flagged]
        return "\n".join([f"gradient flow: loss {self.loss:.6g} on {self.examples} examples, "
                          f"update ratios for lr {self.lr:g}", line(header), rule,
                          *map(line, rows), rule, f"verdict: {self.verdict}", *reasons])

    def plot(self, path: Optional[PathLike] = None) -> Any:
        """The report drawn by `plots.plot_gradient_flow` (needs matplotlib)."""
        return plot_gradient_flow(self, path=path)


def _number(x: float) -> str:
    return "-" if math.isnan(x) else f"{x:.2e}"


def _share(x: Optional[float]) -> str:
    return "-" if x is None else f"{x:.0%}"


def _ratio(a: float, b: float) -> float:
    """a / b, where 0 / 0 is 0 (no gradient, no weight: no update) and a / 0 is inf."""
    return a / b if b else (math.inf if a else 0.0)


def _norm(arrays: Sequence[Any]) -> float:
    """The 2-norm of all the arrays' elements together (a missing gradient counts as zero)."""
    return math.sqrt(sum(float(np.sum(np.square(np.asarray(a, dtype=np.float64))))
                         for a in arrays if a is not None))


def _learning_rate(lr: Any) -> float:
    """A positive number, or an optimizer's rate (that of its first parameter group)."""
    groups = getattr(lr, "param_groups", None)
    rate = groups[0]["lr"] if groups else lr
    if isinstance(rate, bool) or not isinstance(rate, (int, float, np.integer, np.floating)) \
            or not rate > 0:
        raise ValueError(f"diagnose: lr must be a number > 0 or an optimizer with param_groups; "
                         f"got {lr!r}")
    return float(rate)


# ---- activations: where they are and what their units do -----------------------------------------
def _activations(roots: Sequence[Value], owner: Dict[int, str]) -> List[Tuple[str, Value]]:
    """(layer, node) for every relu, sigmoid and tanh node behind `roots`, inputs first.

    The layer is that of the nearest parameter upstream (fewest ops away, ties to the earlier
    input in argument order), found in one pass over the graph in topological order; a node
    with no parameter upstream belongs to no layer and is left out. The roots are the loss and
    the model's output: a loss may take its gradient past the output's activation (as
    `losses.logistic_cost` does, from the sigmoid's input), leaving it out of the loss's graph.
    """
    nearest: Dict[int, Tuple[int, str]] = {}  # id(node) -> (ops away, layer of that parameter)
    seen = set()
    found = []
    for root in roots:
        for node in topological_order(root):
            if id(node) in seen:
                continue
            seen.add(id(node))
            if id(node) in owner:
                nearest[id(node)] = (0, owner[id(node)])
                continue
            reached = [nearest[id(u)] for u in node._prev if id(u) in nearest]
            if reached:
                steps, layer = min(reached, key=lambda r: r[0])
                nearest[id(node)] = (steps + 1, layer)
                if node._op in ACTIVATIONS:
                    found.append((layer, node))
    return found


def _stuck_units(op: str, data: Any, saturation: float) -> Tuple[int, float]:
    """(units, how many of them are stuck): for relu the units dead on every example; for
    sigmoid and tanh each unit's share of examples on which it is saturated, summed. The first
    axis of `data` is the batch, the others hold the units."""
    a = np.asarray(data, dtype=np.float64)
    a = a.reshape(1, 1) if a.ndim == 0 else a.reshape(len(a), -1)
    if op == "relu":
        return a.shape[1], float(np.sum(np.all(a == 0, axis=0)))
    if op == "sigmoid":
        saturated = (a < saturation) | (a > 1 - saturation)
    else:  # tanh
        saturated = np.abs(a) > 1 - saturation
    return a.shape[1], float(np.sum(np.mean(saturated, axis=0)))


def _shares(nodes: Sequence[Value], saturation: float
            ) -> Tuple[str, int, Optional[float], Optional[float]]:
    """(activation names, units, dead share, saturated share) of one layer's activation nodes."""
    counts = {"dead": [0.0, 0.0], "saturated": [0.0, 0.0]}  # kind -> [units, stuck]
    names: List[str] = []
    for node in nodes:
        units, stuck = _stuck_units(node._op, node.data, saturation)
        kind = counts["dead" if node._op == "relu" else "saturated"]
        kind[0] += units
        kind[1] += stuck
        if node._op not in names:
            names.append(node._op)
    dead, saturated = ((stuck / units if units else None) for units, stuck in counts.values())
    return ", ".join(names), int(counts["dead"][0] + counts["saturated"][0]), dead, saturated


# ---- flags ---------------------------------------------------------------------------------------
# (flag, measure, raised above the threshold (else below), threshold, reason), in FLAGS order
RULES = (
    ("vanishing", "relative_grad", False, "vanishing",
     "gradient {value:.2e} of the last layer's (< vanishing = {limit:g})"),
    ("vanishing", "update_ratio", False, "min_update",
     "update/weight ratio {value:.2e} (< min_update = {limit:g})"),
    ("exploding", "relative_grad", True, "exploding",
     "gradient {value:.2e} of the last layer's (> exploding = {limit:g})"),
    ("exploding", "update_ratio", True, "max_update",
     "update/weight ratio {value:.2e} (> max_update = {limit:g})"),
    ("dead", "dead_share", True, "max_dead",
     "{value:.0%} of its ReLU units dead (> max_dead = {limit:.0%})"),
    ("saturated", "saturated_share", True, "max_saturated",
     "{value:.0%} of its outputs saturated (> max_saturated = {limit:.0%})"),
)


def _flags(figures: Dict[str, Any], t: Dict[str, float]) -> Tuple[Tuple[str, ...], Tuple[str, ...]]:
    """(flags, reasons) of one layer's figures (LayerDiagnosis fields by name) against the
    thresholds `t`: the RULES, and a non-finite norm counts as exploding."""
    found = []
    if not (math.isfinite(figures["weight_norm"]) and math.isfinite(figures["grad_norm"])):
        found.append(("exploding", f"non-finite norms: |W| = {figures['weight_norm']}, "
                                   f"|grad W| = {figures['grad_norm']}"))
    for flag, measure, above, key, reason in RULES:
        value = figures[measure]
        if value is not None and (value > t[key] if above else value < t[key]):
            found.append((flag, reason.format(value=value, limit=t[key])))
    flags = tuple(flag for flag in FLAGS if any(f == flag for f, _ in found))
    return flags, tuple(reason for flag in flags for f, reason in found if f == flag)


def diagnose(model: Any, loss_fn: Callable[[Any, np.ndarray], Value], X: Any, y: Any, *,
             lr: Any = 0.01, vanishing: float = 1e-3, exploding: float = 1e3,
             min_update: float = 1e-5, max_update: float = 1e-1, max_dead: float = 0.25,
             max_saturated: float = 0.25, saturation: float = 0.01) -> GradientReport:
    """Diagnose the gradient flow of `model` on one batch: ``loss_fn(model(X), y)``, as `fit`
    computes it (X a numpy batch, y its targets), differentiated once; the model's ``.grad``
    are left as they are, and it runs in the model's current mode (training mode, unless
    ``model.eval()`` was called).

    `lr` (a number, or an optimizer whose first group's rate is taken) scales the update
    ratios. A layer is flagged (see the module docstring for the measures):

    - ``vanishing`` when its gradient is under `vanishing` times the last layer's, or its update
      ratio ``lr·‖∇W‖/‖W‖`` is under `min_update`;
    - ``exploding`` when its gradient is over `exploding` times the last layer's, its update
      ratio over `max_update` (one step would change the weights by more than that share), or
      a norm is not finite;
    - ``dead`` when over `max_dead` of its ReLU units output 0 on every example;
    - ``saturated`` when over `max_saturated` of its sigmoid and tanh outputs are within
      `saturation` of an asymptote.

    Dead and saturated shares are measured on X: give a batch of a few hundred examples, as a
    unit that is silent on a handful of them may be alive on the rest.
    """
    from .optim import checked_loss  # imported here: optim and train load scipy, which a plain
    from .train import _check_data   # `import tinygrad_nn` does without
    X, y = _check_data(X, y, "diagnose")
    rate = _learning_rate(lr)
    thresholds = {"vanishing": vanishing, "exploding": exploding, "min_update": min_update,
                  "max_update": max_update, "max_dead": max_dead,
                  "max_saturated": max_saturated, "saturation": saturation}
    for key, value in thresholds.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0:
            raise ValueError(f"diagnose: {key} must be a number >= 0; got {value!r}")
    if not saturation < 0.5:
        raise ValueError(f"diagnose: saturation must lie in [0, 0.5); got {saturation}")
    params = named_parameters(model, "diagnose")
    if not params:
        raise ValueError("diagnose: the model has no parameters that require a gradient")
    with enable_grad():
        outputs = model(X)
        loss = checked_loss(loss_fn(outputs, y), "diagnose")
    if not loss.requires_grad:
        raise BackwardError("diagnose: the loss does not depend on the model's parameters")
    grads = dict(zip(params, grad(loss, list(params.values()), allow_unused=True)))

    owner = {id(v): layer_of(name) for name, v in params.items()}
    nodes: Dict[str, List[Value]] = {}
    roots = [loss, *(v for v in (outputs if isinstance(outputs, (list, tuple)) else [outputs])
                     if isinstance(v, Value))]
    for layer, node in _activations(roots, owner):
        nodes.setdefault(layer, []).append(node)

    weights, gradients = group_by_layer(params), group_by_layer(grads)
    norms = {}  # layer -> (|W|, |grad W|)
    for layer, members in weights.items():
        kept = [short for short in members if short not in BIASES] or list(members)
        norms[layer] = (_norm([members[short].data for short in kept]),
                        _norm([None if gradients[layer][short] is None
                               else gradients[layer][short].data for short in kept]))
    last = next(reversed(norms.values()))[1]  # the last layer's gradient
    layers = []
    for layer, (weight_norm, grad_norm) in norms.items():
        activation, units, dead, saturated = _shares(nodes.get(layer, []), saturation)
        figures = dict(name=layer, parameters=tuple(weights[layer]), weight_norm=weight_norm,
                       grad_norm=grad_norm, relative_grad=grad_norm / last if last else math.nan,
                       update_ratio=rate * _ratio(grad_norm, weight_norm), activation=activation,
                       units=units, dead_share=dead, saturated_share=saturated)
        flags, reasons = _flags(figures, thresholds)
        layers.append(LayerDiagnosis(**figures, flags=flags, reasons=reasons))
    return GradientReport(layers, loss.item(), len(X), rate, thresholds)

