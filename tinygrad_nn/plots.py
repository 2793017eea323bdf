"""The plots people expect from a neural-network library, drawn with matplotlib.

- `plot_learning_curves(history)`: loss and metrics per epoch, training next to validation.
- `plot_decision_boundary(predict, X, y)`: a 2-D classifier's regions under its data (the
  TensorFlow Playground view).
- `plot_hidden_weights(W)`: each hidden unit's incoming weights as an image (8x8 or 20x20
  digits), to see what the hidden layer has learnt to detect.
- `plot_gradient_norms(model)`: the gradient norm of each layer on a log scale, where vanishing
  or exploding gradients show as bars orders of magnitude apart.
- `plot_gradient_flow(report)`: a `diagnose` report: each layer's gradient norm, flagged
  layers in red, beside its shares of dead units and saturated outputs.

Each returns the matplotlib Figure (made with pyplot, so Jupyter shows it and ``plt.show()``
opens it) and, given ``path``, saves it as PNG, SVG or PDF by the file's suffix, atomically.
matplotlib is an optional extra (``pip install 'tinygrad_nn[plot]'``), imported only when a
plot is drawn.
"""

from __future__ import annotations

import io
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Mapping, Optional

import numpy as np

from .engine import Value, no_grad
from .files import PathLike, write_atomically
from .viz import group_by_layer, named_parameters

if TYPE_CHECKING:
    from .diagnostics import GradientReport

# Orange for the first class and blue for the second, as in the TensorFlow Playground.
CLASS_COLORS = ("#f59322", "#0877bd", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
                "#7f7f7f", "#bcbd22", "#17becf")
SPLIT_COLORS = {"training": CLASS_COLORS[1], "validation": CLASS_COLORS[0]}


def _pyplot() -> Any:
    """matplotlib.pyplot, or an ImportError that says how to install it."""
    try:
        import matplotlib.pyplot as plt
    except ImportError:
        raise ImportError("plotting needs matplotlib, an optional extra of tinygrad_nn: "
                          "pip install 'tinygrad_nn[plot]' (or pip install matplotlib)") from None
    return plt


def save_figure(fig: Any, path: PathLike, *, dpi: int = 150) -> Path:
    """Save `fig` in the format its suffix names (.png, .svg, .pdf, ...), atomically."""
    path = Path(path)
    fmt = path.suffix.lstrip(".").lower()
    if fmt not in fig.canvas.get_supported_filetypes():
        raise ValueError(f"save_figure: cannot save {path.name!r}: the suffix must name one of "
                         f"{', '.join(sorted(fig.canvas.get_supported_filetypes()))}")
    buffer = io.BytesIO()
    fig.savefig(buffer, format=fmt, dpi=dpi, bbox_inches="tight")
    return write_atomically(path, buffer.getvalue(), "save_figure")


def _finish(fig: Any, path: Optional[PathLike]) -> Any:
    fig.tight_layout()
    if path is not None:
        save_figure(fig, path)
    return fig


def _array(x: Any) -> np.ndarray:
    return np.asarray(x.data if isinstance(x, Value) else x, dtype=np.float64)


# ---- learning curves -----------------------------------------------------------------------------
def plot_learning_curves(history: Any, *, path: Optional[PathLike] = None) -> Any:
    """One panel per quantity in `history`, its training values and, from the ``val_`` key, its
    validation values, against the epoch.

    `history` is a mapping ``{"loss": [...], "val_loss": [...], "accuracy": [...], ...}`` or an
    object holding such lists as attributes (what ``fit`` returns); empty lists are skipped.
    A ``best_epoch`` attribute (an index into the lists) is marked with a dotted line.
    """
    if isinstance(history, Mapping):
        items = list(history.items())
    else:
        items = [(k, v) for k, v in vars(history).items()
                 if isinstance(v, (list, tuple, np.ndarray))]
    curves: dict = {}  # quantity -> {"training" or "validation": values}
    for key, values in items:
        try:
            values = np.asarray(values, dtype=np.float64).reshape(-1)
        except (TypeError, ValueError):
            raise ValueError(f"plot_learning_curves: history[{key!r}] must be a sequence of "
                             f"numbers, got {type(values).__name__}") from None
        if values.size:
            name, split = (key[4:], "validation") if key.startswith("val_") else (key, "training")
            curves.setdefault(name, {})[split] = values
    if not curves:
        raise ValueError("plot_learning_curves: the history is empty")
    best = getattr(history, "best_epoch", None)
    plt = _pyplot()
    from matplotlib.ticker import MaxNLocator
    fig, axes = plt.subplots(1, len(curves), figsize=(4.5 * len(curves), 3.4), squeeze=False)
    for ax, (name, splits) in zip(axes[0], curves.items()):
        for split, values in sorted(splits.items()):
            ax.plot(np.arange(1, len(values) + 1), values, label=split, color=SPLIT_COLORS[split],
                    marker="." if len(values) < 30 else None)
        if best is not None:
            ax.axvline(best + 1, color="#555555", linestyle=":", label="best epoch")
        ax.set(title=name, xlabel="epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
        ax.legend()
    return _finish(fig, path)


# ---- decision boundary ---------------------------------------------------------------------------
def _class_color(k: int) -> str:
    return CLASS_COLORS[k % len(CLASS_COLORS)]


def plot_decision_boundary(predict: Callable[[np.ndarray], Any], X: Any, y: Any, *,
                           resolution: int = 200, margin: float = 0.5,
                           path: Optional[PathLike] = None) -> Any:
    """The regions a 2-D classifier assigns to each class, with the data points on top.

    ``predict`` maps an (n, 2) array to one of: (n, k) class scores (the region is the argmax);
    (n,) class labels (whole numbers); or (n,) scores for the second class, a probability
    (boundary at 0.5, when all lie in [0, 1]) or a logit (boundary at 0), shaded by value. It
    runs on a ``resolution`` x ``resolution`` grid under `no_grad`; it may return a Value.
    """
    X, y = _array(X), np.asarray(y.data if isinstance(y, Value) else y).reshape(-1)
    if X.ndim != 2 or X.shape[1] != 2 or len(X) != len(y):
        raise ValueError(f"plot_decision_boundary: X must have shape (n, 2) and y shape (n,); "
                         f"got {X.shape} and {y.shape}")
    if isinstance(resolution, bool) or not isinstance(resolution, int) or resolution < 2:
        raise ValueError(f"plot_decision_boundary: resolution must be an int >= 2, "
                         f"got {resolution!r}")
    lows, highs = X.min(axis=0) - margin, X.max(axis=0) + margin
    xx, yy = np.meshgrid(np.linspace(lows[0], highs[0], resolution),
                         np.linspace(lows[1], highs[1], resolution))
    with no_grad():
        out = _array(predict(np.column_stack([xx.ravel(), yy.ravel()])))
    if out.ndim not in (1, 2) or out.shape[0] != xx.size:
        raise ValueError(f"plot_decision_boundary: predict gave shape {out.shape} for {xx.size} "
                         "points; expected (n,), (n, 1) or (n, k)")
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5.2, 4.4))
    if out.ndim == 2 and out.shape[1] > 1:
        out = out.argmax(axis=1)
    out = out.reshape(-1)
    if np.all(out == np.round(out)):  # class labels: one colour per region
        classes = np.union1d(np.unique(y), out)
        regions = np.searchsorted(classes, out).reshape(xx.shape)
        k = len(classes)
        ax.contourf(xx, yy, regions, levels=np.arange(k + 1) - 0.5,
                    colors=[_class_color(i) for i in range(k)], alpha=0.3)
        if k > 1:
            ax.contour(xx, yy, regions, levels=np.arange(1, k) - 0.5, colors="k", linewidths=1)
    else:  # scores: shaded by value, the boundary where they cross the threshold
        from matplotlib.colors import LinearSegmentedColormap
        classes = np.unique(y)
        scores = out.reshape(xx.shape)
        threshold = 0.5 if scores.min() >= 0 and scores.max() <= 1 else 0.0
        cmap = LinearSegmentedColormap.from_list("playground", [CLASS_COLORS[0], "#ffffff",
                                                                CLASS_COLORS[1]])
        spread = max(np.abs(scores - threshold).max(), 1e-12)
        shading = ax.contourf(xx, yy, scores, levels=20, cmap=cmap, alpha=0.7,
                              vmin=threshold - spread, vmax=threshold + spread)
        fig.colorbar(shading, ax=ax, label="score")
        ax.contour(xx, yy, scores, levels=[threshold], colors="k", linewidths=1.2)
    for k, label in enumerate(classes):
        ax.scatter(*X[y == label].T, color=_class_color(k), edgecolor="white", linewidth=0.6,
                   s=28, label=f"class {label:g}")
    ax.set(xlim=(lows[0], highs[0]), ylim=(lows[1], highs[1]), xlabel="$x_1$", ylabel="$x_2$",
           title="decision boundary")
    ax.legend(loc="upper right", fontsize=8, framealpha=0.8)
    return _finish(fig, path)


# ---- hidden-unit weights -------------------------------------------------------------------------
def plot_hidden_weights(W: Any, *, image_shape: Optional[tuple] = None, max_units: int = 100,
                        cmap: str = "gray", path: Optional[PathLike] = None) -> Any:
    """Row i of `W` (hidden, inputs), the weights into hidden unit i, as an image.

    A square number of inputs needs no ``image_shape`` (64 -> 8x8, 400 -> 20x20). Each image
    has its own symmetric colour range, so zero is mid-grey and the unit's pattern shows
    whatever its scale. At most ``max_units`` units are drawn.
    """
    W = _array(W)
    if W.ndim != 2:
        raise ValueError(f"plot_hidden_weights: W must be a (hidden, inputs) matrix, "
                         f"got shape {W.shape}")
    if image_shape is None:
        side = math.isqrt(W.shape[1])
        if side * side != W.shape[1]:
            raise ValueError(f"plot_hidden_weights: W has {W.shape[1]} inputs, not a square "
                             f"number; pass image_shape=(rows, columns)")
        image_shape = (side, side)
    if math.prod(image_shape) != W.shape[1]:
        raise ValueError(f"plot_hidden_weights: image_shape {tuple(image_shape)} does not hold "
                         f"{W.shape[1]} inputs")
    units = W[:max_units]
    columns = math.ceil(math.sqrt(len(units)))
    rows = math.ceil(len(units) / columns)
    plt = _pyplot()
    fig, axes = plt.subplots(rows, columns, figsize=(1.2 * columns, 1.2 * rows + 0.4),
                             squeeze=False)
    for ax in axes.ravel():
        ax.axis("off")
    for ax, w in zip(axes.ravel(), units):
        scale = np.abs(w).max() or 1.0
        ax.imshow(w.reshape(image_shape), cmap=cmap, vmin=-scale, vmax=scale)
    fig.suptitle(f"weights into {len(units)} of {len(W)} hidden units "
                 f"({image_shape[0]}x{image_shape[1]} images)")
    return _finish(fig, path)


# ---- gradient norms ------------------------------------------------------------------------------
def _squared_norm(grad: Any) -> float:
    return 0.0 if grad is None else float(np.sum(np.square(_array(grad))))


def _norm_bars(ax: Any, names: list, norms: np.ndarray, colors: Any) -> None:
    """A bar per layer with its norm written on top (a non-finite one in red, as a 0-high bar),
    on a log scale when every norm is positive."""
    finite = np.isfinite(norms)
    bars = ax.bar(names, np.where(finite, norms, 0.0), color=colors)
    for bar, norm in zip(bars, norms):
        ax.annotate(f"{norm:.2g}", (bar.get_x() + bar.get_width() / 2, bar.get_height()),
                    ha="center", va="bottom", fontsize=8,
                    color="black" if math.isfinite(norm) else "red")
    if finite.all() and np.all(norms > 0):
        ax.set_yscale("log")
    ax.set(title="gradient norm per layer", ylabel="||grad||")
    ax.tick_params(axis="x", labelrotation=45 if len(names) > 6 else 0)
    ax.grid(axis="y", alpha=0.3)


def plot_gradient_norms(model: Any, *, path: Optional[PathLike] = None) -> Any:
    """A bar per layer (dotted prefix of ``model.named_parameters()``): the L2 norm of all its
    parameters' gradients together, on a log scale when every norm is positive."""
    layers = group_by_layer(named_parameters(model, "plot_gradient_norms"))
    if not layers:
        raise ValueError("plot_gradient_norms: the model has no parameters")
    names = [layer or "(top level)" for layer in layers]
    norms = np.array([math.sqrt(sum(_squared_norm(v.grad) for v in members.values()))
                      for members in layers.values()])
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(max(4.0, 0.9 * len(names) + 1.5), 3.6))
    _norm_bars(ax, names, norms, CLASS_COLORS[1])
    return _finish(fig, path)


# ---- gradient flow -------------------------------------------------------------------------------
FLAG_COLOR = CLASS_COLORS[3]  # red: a layer flagged vanishing or exploding


def plot_gradient_flow(report: GradientReport, *, path: Optional[PathLike] = None) -> Any:
    """A `diagnostics.diagnose` report in two panels: each layer's weight-gradient norm
    ``‖∇W‖`` (log scale; red for a layer flagged vanishing or exploding), and its shares of dead
    ReLU units and of saturated sigmoid/tanh outputs against their thresholds (dashed lines).
    The verdict is the title."""
    names = [layer.label for layer in report.layers]
    norms = np.array([layer.grad_norm for layer in report.layers])
    colors = [FLAG_COLOR if {"vanishing", "exploding"} & set(layer.flags) else CLASS_COLORS[1]
              for layer in report.layers]
    plt = _pyplot()
    fig, (grads, units) = plt.subplots(1, 2, figsize=(max(8.0, 1.2 * len(names) + 3.0), 3.8))
    _norm_bars(grads, names, norms, colors)
    grads.set(title="weight-gradient norm per layer", ylabel="||grad W||")
    x = np.arange(len(names))
    width = 0.4
    for offset, (kind, threshold, color) in zip((-width / 2, width / 2), (
            ("dead", report.thresholds["max_dead"], CLASS_COLORS[0]),
            ("saturated", report.thresholds["max_saturated"], CLASS_COLORS[4]))):
        shares = [getattr(layer, kind + "_share") for layer in report.layers]
        if all(share is None for share in shares):  # no units of that kind in the model
            continue
        units.bar(x + offset, [0.0 if share is None else share for share in shares], width,
                  color=color, label=kind)
        units.axhline(threshold, color=color, linestyle="--", linewidth=1)
    if units.patches:
        units.legend(fontsize=8)
    else:
        units.text(0.5, 0.5, "no relu, sigmoid or tanh units", ha="center",
                   transform=units.transAxes)
    units.set(title="dead and saturated units", ylabel="share", ylim=(0, 1.05))
    units.set_xticks(x, names)
    units.tick_params(axis="x", labelrotation=45 if len(names) > 6 else 0)
    units.grid(axis="y", alpha=0.3)
    fig.suptitle(report.verdict, fontsize=9,
                 color="black" if report.healthy else FLAG_COLOR)
    return _finish(fig, path)
