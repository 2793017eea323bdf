"""Pictures of computation graphs: the graph behind a Value as graphviz DOT text and SVG.

`draw_dot(root)` walks everything `root` depends on (without recursion: graphs may be a million
nodes deep) and returns a `graphviz.Digraph`: a box per Value with its label, data and gradient
(arrays show shape, dtype and min/max/norm rather than their elements), a small ellipse per
operation, and one edge per input of each op, in argument order. Parameters named by a model
(``layers.0.W``) are grouped into one cluster per layer. A graph larger than ``max_nodes`` is
cut to the part nearest the output: a stub (…) marks each op's inputs left out, and a caption
gives the size of the whole graph, so the drawing stays readable and quick to lay out.

Labels are graphviz HTML-like labels: ``& < > "`` become entities and backslashes are doubled
(graphviz reads ``\\N`` in any label as the node's name), so every label renders literally.
`save_svg` and `repr_svg` run the Graphviz program ``dot``; without it they raise
`GraphvizNotFoundError`, while `draw_dot(...).source` needs no program at all.

`summary(model)` prints a model's layers as a table, frozen parameters included.
"""

from __future__ import annotations

import collections
import html
import math
import re
from pathlib import Path
from typing import Any, Iterable, Mapping, Optional

import graphviz  # type: ignore[import-untyped]  # graphviz ships no type stubs
import numpy as np

from .engine import Op, Value
from .errors import GraphvizNotFoundError, UnsupportedTypeError
from .files import PathLike, write_atomically
from .nn.module import Module



DOT_MISSING = (
    "rendering the graph needs the Graphviz program 'dot', which was not found on PATH. "
    "Install Graphviz: on Debian or Ubuntu `sudo apt-get install graphviz`, on macOS "
    "`brew install graphviz` (see https://graphviz.org/download/). Without it you can still "
    "get the graph as DOT text: draw_dot(root).source")


# ---- named parameters: what a model calls its Values -------------------------------------------
def named_parameters(model: Any, op: str = "named_parameters") -> dict:
    """``{dotted_name: Value}`` of `model`: its ``named_parameters()``, or `model` if a mapping.

    A Value listed twice (tied weights) keeps its first name.
    """
    if isinstance(model, Mapping):
        items: Iterable = model.items()
    elif callable(getattr(model, "named_parameters", None)):
        items = model.named_parameters()
    else:
        raise UnsupportedTypeError(f"{op}: expected a model with named_parameters() or a mapping "
                                   f"{{dotted_name: Value}}, got {type(model).__name__}")
    params: dict = {}
    seen: set = set()
    for name, value in items:
        if not isinstance(value, Value):
            raise UnsupportedTypeError(f"{op}: parameter {name!r} is a {type(value).__name__}, "
                                       "not a Value")
        if id(value) not in seen:
            seen.add(id(value))
            params[str(name)] = value
    return params


def layer_of(name: str) -> str:
    """The layer a dotted parameter name belongs to: all before the last dot ('' if none)."""
    return name.rpartition(".")[0]


def group_by_layer(params: Mapping[str, Value]) -> dict:
    """``{layer: {short_name: Value}}``, layers in order of appearance ('layers.0.W' is 'W' in
    'layers.0')."""
    layers: dict = {}
    for name, value in params.items():
        layer, _, short = name.rpartition(".")
        layers.setdefault(layer, {})[short] = value
    return layers


# ---- the graph walk ------------------------------------------------------------------------------
def topological_order(root: Value) -> list:
    """Every Value `root` depends on (constants included), inputs before outputs, `root` last.

    Depth-first with an explicit stack of input iterators, visiting inputs in argument order, so
    the order is deterministic and a chain of any length needs no recursion.
    """
    order, seen = [], {id(root)}
    stack = [(root, iter(root._prev))]
    while stack:
        node, inputs = stack[-1]
        for child in inputs:
            if id(child) not in seen:
                seen.add(id(child))
                stack.append((child, iter(child._prev)))
                break
        else:
            stack.pop()
            order.append(node)
    return order


# ---- text inside labels --------------------------------------------------------------------------
_INVISIBLE = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
LABEL_LIMIT = 40  # characters of a name shown before it is cut with an ellipsis


def _html(text: Any, limit: int = LABEL_LIMIT) -> str:
    """`text` as literal text in a graphviz HTML-like label (and so in valid SVG XML).

    Control characters and lone surrogates, which XML cannot hold, are shown as Python escapes.
    Square brackets become character references: graphviz's HTML-label parser rejects a bare
    "]" in some positions (hypothesis found a label "]" that made dot fail).
    """
    text = _INVISIBLE.sub(lambda m: repr(m.group())[1:-1], str(text))
    if len(text) > limit:
        text = text[:limit - 1] + "\u2026"
    return (html.escape(text, quote=True).replace("\\", "\\\\")
            .replace("[", "&#91;").replace("]", "&#93;"))


def _number(x: float, digits: int = 4) -> str:
    return f"{x:.{digits}g}"


def _rounded(x: float) -> str:
    """Two significant digits, without an exponent where one is not needed: 100, 0.0046."""
    return f"{float(f'{x:.2g}'):g}"


def _statistics(data: Any) -> list:
    """What a box shows of some data: the number itself (one element), or min, max and L2 norm
    of an array (never its elements)."""
    if type(data) is float or data.size == 1:
        return [_number(float(np.reshape(data, ())))]
    if data.size == 0:
        return ["empty"]
    norm = math.sqrt(float(np.sum(np.square(data, dtype=np.float64))))
    return [_number(float(x), 3) for x in (data.min(), data.max(), norm)]


def _short(x: Any) -> str:
    """A keyword argument of an op in a few characters (arrays by shape)."""
    if isinstance(x, np.ndarray):
        return f"array{x.shape}"
    if isinstance(x, slice):
        parts = ("" if p is None else str(p) for p in (x.start, x.stop, x.step))
        return ":".join(parts).rstrip(":") or ":"
    if isinstance(x, tuple):
        return "(" + ", ".join(_short(p) for p in x) + ")"
    return repr(x)


def _op_keywords(op: Op, kw: Optional[dict]) -> list:
    """``name=value`` for each keyword argument `kw` of `op` that differs from its default."""
    defaults = op.defaults or {}
    shown = []
    for name, x in (kw or {}).items():
        is_default = (name in defaults and isinstance(x, (bool, int, float, str, type(None)))
                      and type(x) is type(defaults[name]) and x == defaults[name])
        if not is_default:
            shown.append(f"{name}={_short(x)}")
    return shown


# ---- how nodes look ------------------------------------------------------------------------------
FONT = "Helvetica"
KINDS = {  # kind: (node attributes, what the legend says)
    "output": ({"style": "filled", "peripheries": "2", "fillcolor": "#f6b26b"},
               "output (double border)"),
    "parameter": ({"style": "rounded,filled,bold", "fillcolor": "#ffe599"},
                  "parameter (named, rounded, bold)"),
    "input": ({"style": "rounded,filled", "fillcolor": "#cfe2f3"},
              "input that needs a gradient (rounded)"),
    "constant": ({"style": "dashed,filled", "fillcolor": "#eeeeee", "fontcolor": "#555555"},
                 "constant, no gradient (dashed)"),
    "intermediate": ({"style": "filled", "fillcolor": "#ffffff"}, "result of an operation"),
}
OP_STYLE = {"shape": "ellipse", "style": "filled", "fillcolor": "#d9d2e9", "color": "#8e7cc3",
            "fontsize": "11", "margin": "0.04,0.02", "height": "0.3"}
CLUSTER_STYLE = {"style": "rounded,filled", "fillcolor": "#f3f6fb", "color": "#9fb4d3",
                 "fontname": FONT, "fontsize": "12", "fontcolor": "#3d5a80", "labeljust": "l"}
CUT_STYLE = {"shape": "plaintext", "fontcolor": "#b45f06", "fontsize": "11"}


def _kind(v: Value, is_root: bool, is_parameter: bool) -> str:
    if is_root:
        return "output"
    if v._fn is not None:
        return "intermediate"
    if is_parameter:
        return "parameter"
    return "input" if v.requires_grad else "constant"


def _cell(text: str, color: str = "#000000", span: int = 1, align: str = "LEFT") -> str:
    width = ' WIDTH="40"' if align == "RIGHT" else ""  # numbers in even columns
    return (f'<TD ALIGN="{align}" COLSPAN="{span}"{width}><FONT COLOR="{color}">'
            f"{_html(text, 80)}</FONT></TD>")


def _value_label(v: Value, name: str, show_grad: bool) -> str:
    """The HTML table of one Value: its name, then data and gradient; for an array, its shape
    and dtype and a min / max / norm row each for data and gradient."""
    rows = [("data", _statistics(v.data), "#000000")]
    if show_grad and v.requires_grad:
        grad = _grad_data(v)
        rows.append(("grad", ["none yet"] if grad is None else _statistics(grad), "#0b3d91"))
    columns = 2 if type(v.data) is float or v.size <= 1 else 4
    lines = [f'<TR><TD COLSPAN="{columns}"><B>{_html(name)}</B></TD></TR><HR/>'] if name else []
    if type(v.data) is not float:
        shape = f"{v.shape}" if v.ndim else "scalar"
        lines.append(f"<TR>{_cell(f'{shape} {v.dtype}', '#444444', columns)}</TR>")
    align = "RIGHT" if columns == 4 else "LEFT"
    if columns == 4:
        lines.append("<TR><TD></TD>" + "".join(_cell(h, "#555555", 1, align)
                                               for h in ("min", "max", "norm")) + "</TR>")
    for key, cells, color in rows:
        span = columns - len(cells)  # "none yet" and "empty" fill the row
        lines.append(f"<TR>{_cell(key, '#555555')}" + "".join(_cell(c, color, 1, align)
                                                             for c in cells[:-1])
                     + _cell(cells[-1], color, span, align) + "</TR>")
    return ('<<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="0" CELLPADDING="2">'
            + "".join(lines) + "</TABLE>>")


def _grad_data(v: Value) -> Any:
    """v's gradient as data (after backward(create_graph=True) it is a Value)."""
    return v.grad.data if isinstance(v.grad, Value) else v.grad


def _op_label(op: Op, kw: Optional[dict]) -> str:
    """The ellipse of an op node: the op's name and its keyword arguments (`_op_keywords`)."""
    keywords = ", ".join(_op_keywords(op, kw))
    extra = f'<BR/><FONT POINT-SIZE="9">{_html(keywords, 60)}</FONT>' if keywords else ""
    return f"<<B>{_html(op.name, 20)}</B>{extra}>"


class _GradientScale:
    """Fill colours by gradient magnitude (|grad|, or the L2 norm of an array gradient).

    Magnitudes are binned evenly in log10 between the smallest and largest nonzero ones drawn,
    so the colour shows orders of magnitude: vanishing and exploding gradients stand out.
    """

    COLORS = ("#ffffcc", "#ffeda0", "#fed976", "#feb24c", "#fd8d3c", "#fc6a4a")  # YlOrRd, light
    NONE = ("#ffffff", "no gradient, or 0")
    NON_FINITE = ("#c994c7", "nan or inf")

    def __init__(self, values: list):
        self.magnitudes = {id(v): self._magnitude(v) for v in values}
        logs = [math.log10(m) for m in self.magnitudes.values() if m and math.isfinite(m)]
        self.low, self.high = (min(logs), max(logs)) if logs else (0.0, 0.0)

    @staticmethod
    def _magnitude(v: Value) -> Optional[float]:
        g = _grad_data(v) if v.requires_grad else None
        if g is None:
            return None
        return math.fabs(g) if type(g) is float else float(np.linalg.norm(g.astype(np.float64)))

    def _bin(self, m: float) -> int:
        if self.high == self.low:
            return 0
        k = int((math.log10(m) - self.low) / (self.high - self.low) * len(self.COLORS))
        return min(k, len(self.COLORS) - 1)

    def color(self, v: Value) -> str:
        m = self.magnitudes[id(v)]
        if not m:
            return self.NONE[0]
        return self.COLORS[self._bin(m)] if math.isfinite(m) else self.NON_FINITE[0]

    def legend_rows(self) -> list:
        """(colour, text) for each bin in use, then the special colours in use."""
        ms = self.magnitudes.values()
        used = sorted({self._bin(m) for m in ms if m and math.isfinite(m)})
        width = (self.high - self.low) / len(self.COLORS)
        rows = [(self.COLORS[k], f"|grad| {_rounded(10 ** (self.low + k * width))} to "
                                 f"{_rounded(10 ** (self.low + (k + 1) * width))}") for k in used]
        if self.high == self.low and used:
            rows = [(self.COLORS[0], f"|grad| {_rounded(10 ** self.low)}")]
        if any(m is not None and not math.isfinite(m) for m in ms):
            rows.append(self.NON_FINITE)
        if any(not m for m in ms):
            rows.append(self.NONE)
        return rows


def _legend_label(kinds: list, scale: Optional[_GradientScale]) -> str:
    """One HTML table: a swatch and a line of text for each kind of node drawn (and colour bin)."""
    def swatch(fill: str, style: str, text: str) -> str:
        border = ' STYLE="dashed"' if "dashed" in style else ""
        return (f'<TR><TD BGCOLOR="{fill}" BORDER="1"{border} WIDTH="22" HEIGHT="12"></TD>'
                f'<TD ALIGN="LEFT">{_html(text, 60)}</TD></TR>')

    rows = ['<TR><TD COLSPAN="2" ALIGN="LEFT"><B>Legend</B></TD></TR>']
    for kind in kinds:
        attrs, text = KINDS[kind]
        fill = "#ffffff" if scale else attrs["fillcolor"]
        rows.append(swatch(fill, attrs["style"], text))
    rows.append(swatch(OP_STYLE["fillcolor"], "", "operation (ellipse)"))
    if scale:
        rows.append('<TR><TD COLSPAN="2" ALIGN="LEFT"><B>Fill: gradient magnitude</B></TD></TR>')
        rows.extend(swatch(fill, "", text) for fill, text in scale.legend_rows())
    return ('<<TABLE BORDER="1" COLOR="#bbbbbb" CELLBORDER="0" CELLSPACING="3" CELLPADDING="2">'
            + "".join(rows) + "</TABLE>>")


# ---- clusters: which drawn nodes belong to which layer -------------------------------------------
def _assign_clusters(shown: list, param_names: dict) -> dict:
    """``{id(value): layer}`` for the drawn Values that make up each layer's computation.

    Layer L (a dotted prefix) holds: its parameters and the values made from them alone
    (``W.T``; scalar constants allowed, as in ``W ** 2``); the "readers", results of ops with
    such a value among their inputs (``x @ W.T``, ``+ b``); and every value on a path from L's
    parameters to one of its readers (the sum of a neuron's products before ``+ b``). What comes
    after the last reader (an activation, the next layer, the loss) stays outside. A value
    claimed by two layers stays outside both.
    """
    owned: dict = {}  # id -> layer, for values made from one layer's parameters alone
    after: dict = {}  # id -> layers whose parameters the value depends on
    readers: dict = {}  # id -> layers whose owned values are direct inputs of the value
    for v in shown:
        if id(v) in param_names:
            owned[id(v)] = layer_of(param_names[id(v)])
            after[id(v)] = set()
            continue
        read = {owned[id(u)] for u in v._prev if id(u) in owned}
        readers[id(v)] = read
        after[id(v)] = read.union(*(after.get(id(u), ()) for u in v._prev))
        if len(read) == 1 and all(id(u) in owned or (u.size == 1 and not u.requires_grad)
                                  for u in v._prev):
            owned[id(v)] = next(iter(read))
    before: dict = {}  # id -> layers with a reader that depends on the value (or is it)
    for v in reversed(shown):
        mine = before.setdefault(id(v), set()) | readers.get(id(v), set())
        before[id(v)] = mine
        for u in v._prev:
            before.setdefault(id(u), set()).update(mine)
    cluster = {}
    for v in shown:
        layers = {owned[id(v)]} if id(v) in owned else after[id(v)] & before[id(v)]
        if len(layers) == 1 and next(iter(layers)):
            cluster[id(v)] = next(iter(layers))
    return cluster


# ---- the drawing ---------------------------------------------------------------------------------
def draw_dot(root: Value, *, rankdir: str = "LR", show_grad: bool = True, max_nodes: int = 100,
             cluster_modules: bool = True, names: Any = None, color_by: str = "kind",
             legend: bool = True, title: Optional[str] = None) -> graphviz.Digraph:
    """The computation graph behind `root` as a `graphviz.Digraph` (``.source`` is DOT text).

    - ``rankdir``: "LR" (inputs on the left), "TB", "RL" or "BT".
    - ``show_grad``: add each Value's gradient to its box.
    - ``max_nodes``: the most Values drawn. Of a larger graph, the ``max_nodes`` Values nearest
      the output are drawn (each with a path to it), a stub (…) beside an op stands for its
      inputs left out, and the caption gives the whole graph's size and what was left out.
    - ``names``: a model with ``named_parameters()`` or a mapping ``{dotted_name: Value}``; named
      Values are drawn as parameters under their names and, with ``cluster_modules``, grouped in
      a box per layer (the dotted prefix: ``layers.0.W`` and ``layers.0.b`` in ``layers.0``).
      Without it, the names that Modules gave their parameters when first called
      (``Value.name``) are used, so ``draw_dot(loss)`` of a model groups its layers already.
    - ``color_by``: "kind" fills by kind of node (output, parameter, input, constant, result);
      "grad" fills by gradient magnitude on a log scale (kinds stay apart by their borders).
    - ``legend``: add a box saying what shapes and colours mean; ``title``: a caption on top.
    """
    if not isinstance(root, Value):
        raise UnsupportedTypeError(f"draw_dot: root must be a Value, got {type(root).__name__}")
    if rankdir not in ("LR", "TB", "RL", "BT"):
        raise ValueError(f"draw_dot: rankdir must be 'LR', 'TB', 'RL' or 'BT', got {rankdir!r}")
    if color_by not in ("kind", "grad"):
        raise ValueError(f"draw_dot: color_by must be 'kind' or 'grad', got {color_by!r}")
    if isinstance(max_nodes, bool) or not isinstance(max_nodes, int) or max_nodes < 1:
        raise ValueError(f"draw_dot: max_nodes must be a positive int, got {max_nodes!r}")

    order = topological_order(root)
    shown = order[-max_nodes:]  # a suffix of a topological order: every node reaches the root
    index = {id(v): i for i, v in enumerate(shown)}
    if names is not None:
        param_names = {id(v): name for name, v in named_parameters(names, "draw_dot").items()}
    else:  # the names Modules gave their parameters when called
        param_names = {id(v): v.name for v in shown if v.name}
    clusters = _assign_clusters(shown, param_names) if cluster_modules else {}
    scale = _GradientScale(shown) if color_by == "grad" else None

    graph = graphviz.Digraph("computation_graph")
    # ordering="in": the inputs of each op are laid out in argument order (a above b in a - b)
    graph.attr(rankdir=rankdir, fontname=FONT, nodesep="0.25", ranksep="0.35", ordering="in")
    graph.attr("node", shape="box", fontname=FONT, fontsize="12", margin="0.08,0.04",
               color="#555555")
    graph.attr("edge", color="#666666", arrowsize="0.6")
    layers = {layer: graphviz.Digraph(f"cluster_{k}")
              for k, layer in enumerate(dict.fromkeys(clusters.values()))}
    for layer, sub in layers.items():
        sub.attr(label=f"<<B>{_html(layer)}</B>>", **CLUSTER_STYLE)

    kinds_drawn = set()
    for i, v in enumerate(shown):
        kind = _kind(v, v is root, id(v) in param_names)
        kinds_drawn.add(kind)
        attrs = dict(KINDS[kind][0])
        if scale:
            attrs["fillcolor"] = scale.color(v)
        where = layers.get(clusters.get(id(v)), graph)
        label = _value_label(v, param_names.get(id(v), v.label), show_grad)
        where.node(f"v{i}", label, **attrs)
        if v._fn is None:
            continue
        where.node(f"op{i}", _op_label(v._fn, v._kw), **OP_STYLE)
        graph.edge(f"op{i}", f"v{i}")
        stub = ""
        for u in v._prev:
            if id(u) in index:
                graph.edge(f"v{index[id(u)]}", f"op{i}")
            elif not stub:  # one stub beside the op for its inputs not drawn (long edges to a
                stub = f"cut{i}"  # shared node would make dot's layout crawl)
                cut = sum(1 for w in v._prev if id(w) not in index)
                where.node(stub, "\u2026" if cut == 1 else f"\u2026 \u00d7{cut}", **CUT_STYLE)
                graph.edge(stub, f"op{i}", style="dashed", color="#b45f06")
    for sub in layers.values():
        graph.subgraph(sub)

    captions = [_html(title, 200)] if title else []
    if len(order) > len(shown):
        captions += _cut_caption(order, len(shown))
    if captions:
        graph.attr(label="<" + "<BR/>".join(captions) + ">", labelloc="t", fontsize="14")
    if legend:
        ordered_kinds = [k for k in KINDS if k in kinds_drawn]
        with graph.subgraph(name="legend_rank") as side:
            side.attr(rank="sink")
            side.node("legend", _legend_label(ordered_kinds, scale), shape="plain", fontsize="10")
    return graph


def _cut_caption(order: list, drawn: int) -> list:
    """Lines saying how large the whole graph is and what was left out of the drawing."""
    hidden = order[:-drawn]
    n_ops = sum(1 for v in order if v._fn is not None)
    counts = collections.Counter(v._fn.name for v in hidden if v._fn is not None)
    left_out = ", ".join(f"{_html(name, 20)} \u00d7{n:,}" for name, n in counts.most_common(5))
    more = f" and {len(counts) - 5} more kinds" if len(counts) > 5 else ""
    return [f"<B>A graph of {len(order):,} values and {n_ops:,} operations: drawn are the "
            f"{drawn:,} values nearest the output</B>",
            f"not drawn (\u2026): {len(hidden):,} values"
            + (f", made by {left_out}{more}" if counts else "")]


# ---- rendering -----------------------------------------------------------------------------------
def render_svg(graph: graphviz.Digraph) -> bytes:
    """Lay out and render `graph` to SVG with the Graphviz program ``dot``."""
    try:
        return graph.pipe(format="svg")
    except graphviz.ExecutableNotFound:
        raise GraphvizNotFoundError(DOT_MISSING) from None


def save_svg(root: Value, path: PathLike, **draw_options: Any) -> Path:
    """Draw the graph behind `root` (options as for `draw_dot`) to an SVG file, atomically.

    Bound as ``Value.to_svg(path, **draw_options)``. Returns the path written.
    """
    return write_atomically(path, render_svg(draw_dot(root, **draw_options)), "save_svg")


def repr_svg(root: Value) -> Optional[str]:
    """The graph behind `root` as SVG text, for Jupyter (bound as ``Value._repr_svg_``).

    None when Graphviz is missing, so that Jupyter falls back to the plain repr.
    """
    try:
        return render_svg(draw_dot(root)).decode("utf-8")
    except GraphvizNotFoundError:
        return None


# ---- summary -------------------------------------------------------------------------------------
def summary(model: Any) -> str:
    """A table of `model`'s layers: output shape, parameters with their shapes, whether they
    are trained, and counts; then the totals, trainable and non-trainable apart, as torchinfo
    prints them.

    Lists every parameter of an `nn.Module`, frozen ones (requires_grad=False) too, wherever it
    is held (lists, dicts, containers); takes any other model's ``named_parameters()``, or a
    mapping ``{dotted_name: Value}``. A layer is a dotted prefix (``layers.0``), trainable
    "True", "False" or "Partial". The output shape assumes weights are laid out (out, in), so a
    layer's first parameter with an axis gives its output width: ``(batch, out)``.
    """
    if isinstance(model, Module):
        params = dict(model.named_parameters(include_frozen=True))
    else:
        params = named_parameters(model, "summary")
    header = ("Layer", "Output shape", "Parameters", "Trainable", "Count")
    rows = []
    for layer, members in group_by_layer(params).items():
        outputs = [v.shape[0] for v in members.values() if v.ndim]
        shapes = ", ".join(f"{short} {v.shape}" for short, v in members.items())
        trained = {v.requires_grad for v in members.values()}
        count = sum(v.size for v in members.values())
        rows.append((layer or "(top level)", f"(batch, {outputs[0]})" if outputs else "-",
                     shapes, "Partial" if len(trained) == 2 else str(trained.pop()), f"{count:,}"))
    widths = [max(len(r[c]) for r in [header, *rows]) for c in range(len(header))]

    def line(cells: tuple) -> str:
        text = [c.ljust(w) for c, w in zip(cells[:-1], widths)]
        return "  ".join([*text, cells[-1].rjust(widths[-1])])

    rule = "-" * len(line(header))
    total = sum(v.size for v in params.values())
    trainable = sum(v.size for v in params.values() if v.requires_grad)
    nbytes = sum(8 if type(v.data) is float else v.data.nbytes for v in params.values())
    footer = [f"Total params: {total:,}", f"Trainable params: {trainable:,}",
              f"Non-trainable params: {total - trainable:,}", f"Params size: {nbytes:,} bytes"]
    return "\n".join([line(header), rule, *map(line, rows), rule, *footer])


# ---- demos: the pictures in the README -----------------------------------------------------------
def _neuron() -> tuple:
    """A tanh neuron with two inputs, its bias chosen so that n = atanh(1/sqrt 2) and the output
    is 1/sqrt 2 = 0.7071 (so d out/d n = 1 - out**2 = 0.5)."""
    x1, x2 = Value(2.0, label="x1"), Value(0.0, label="x2")
    w1, w2 = Value(-3.0, label="w1"), Value(1.0, label="w2")
    b = Value(6.0 + math.atanh(math.sqrt(0.5)), label="b")
    x1w1, x2w2 = x1 * w1, x2 * w2
    x1w1.label, x2w2.label = "x1*w1", "x2*w2"
    n = x1w1 + x2w2 + b
    n.label = "n"
    out = n.tanh()
    out.label = "out"
    return out, {"neuron.w1": w1, "neuron.w2": w2, "neuron.b": b}


def _mlp() -> tuple:
    """A 3-4-1 tanh MLP (tinygrad_nn.nn) on a batch of 5, with its mean squared error."""
    from .losses import mse
    from .nn import MLP
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(5, 3)), rng.normal(size=(5, 1))
    model = MLP(3, [4, 1], activation="tanh", output_activation="linear", seed=0)
    prediction = model(X)
    prediction.label = "prediction"
    loss = mse(prediction, y)
    loss.label = "loss"
    return loss, model


def _expression() -> tuple:
    """A scalar expression with a shared input, a diamond, division and a power."""
    a, b, c = Value(1.5, label="a"), Value(-2.0, label="b"), Value(0.5, label="c")
    d = a * b
    d.label = "d = a*b"
    e = (a + c).exp()
    e.label = "e = exp(a+c)"
    out = (d + e) / (c ** 2 + 1)
    out.label = "out"
    return out, None


DEMOS = {"neuron": (_neuron, "LR"), "mlp": (_mlp, "TB"), "expression": (_expression, "TB")}


def graph_demo(path: PathLike, kind: str = "neuron", **draw_options: Any) -> Path:
    """Build a small built-in graph, backpropagate, and draw it to an SVG file at `path`.

    ``kind``: "neuron" (micrograd's tanh neuron), "mlp" (a 3-4-1 network and its loss, one
    cluster per layer) or "expression" (a scalar expression with a shared input). Options go to
    `draw_dot`. Returns the path written.
    """
    if kind not in DEMOS:
        raise ValueError(f"graph_demo: kind must be one of {', '.join(DEMOS)}, got {kind!r}")
    build, rankdir = DEMOS[kind]
    out, names = build()
    out.backward()
    return save_svg(out, path, **{"names": names, "rankdir": rankdir, **draw_options})
