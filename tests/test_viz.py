"""Graph drawings: structure, escaping, clusters, size limits, files, missing dot, summary.

Every SVG is parsed with an XML parser. Node and edge counts are checked against graphs built by
hand and, on random graphs, against a count made by a separate walk of the graph.
"""

import os
import re
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from tinygrad_nn import Op, UnsupportedTypeError, Value, nn
from tinygrad_nn.errors import GraphvizNotFoundError
from tinygrad_nn.viz import (DEMOS, draw_dot, graph_demo, named_parameters,
                             render_svg, repr_svg, save_svg, summary)
from tinygrad_nn.files import write_atomically

SVG = "{http://www.w3.org/2000/svg}"
SHAPES = (f"{SVG}path", f"{SVG}polygon", f"{SVG}ellipse")


# ---- reading drawings back -----------------------------------------------------------------------
def parse_svg(svg: bytes) -> dict:
    """The nodes (name -> lines of text), edges ((tail, head), in order) and clusters
    (name -> texts) of a rendered drawing, and each node's outline (its first shape)."""
    root = ET.fromstring(svg)
    picture = {"nodes": {}, "edges": [], "clusters": {}, "outlines": {}}
    for g in root.iter(f"{SVG}g"):
        kind = g.get("class")
        if kind not in ("node", "edge", "cluster"):
            continue
        title = g.find(f"{SVG}title").text
        # graphviz keeps runs of spaces as no-break spaces
        texts = [t.text.replace("\xa0", " ") for t in g.iter(f"{SVG}text")]
        if kind == "node":
            picture["nodes"][title] = texts
            picture["outlines"][title] = [s for s in g if s.tag in SHAPES]
        elif kind == "edge":
            picture["edges"].append(tuple(title.split("->")))
        else:
            picture["clusters"][title] = texts
    return picture


def parse_dot(source: str) -> dict:
    """Value nodes, op nodes and edges of DOT source, and the nodes each cluster holds."""
    nodes = re.findall(r"^\s+(\w+) \[", source, re.M)
    clusters = {name: re.findall(r"^\s+(\w+) \[", body, re.M)
                for name, body in re.findall(r"subgraph (cluster_\d+) \{(.*?)\n\s*\}", source,
                                             re.S)}
    return {"values": [n for n in nodes if re.fullmatch(r"v\d+", n)],
            "ops": [n for n in nodes if re.fullmatch(r"op\d+", n)],
            "edges": re.findall(r"^\s+(\w+) -> (\w+)", source, re.M),
            "clusters": clusters}


def drawn(root: Value, **options) -> dict:
    """The rendered drawing, with its edges in the order of the DOT source (the SVG's own order
    is graphviz's, but must hold the same edges)."""
    graph = draw_dot(root, **options)
    picture = parse_svg(render_svg(graph))
    source_edges = parse_dot(graph.source)["edges"]
    assert sorted(picture["edges"]) == sorted(source_edges)
    picture["edges"] = source_edges
    return picture


def node_named(picture: dict, label: str) -> str:
    """The node whose first line of text is `label`."""
    (name,) = [n for n, texts in picture["nodes"].items() if texts and texts[0] == label]
    return name


def input_labels(picture: dict, label: str) -> list:
    """First lines of the inputs of the op that made the Value labelled `label`, in edge order."""
    op = "op" + node_named(picture, label)[1:]
    return [picture["nodes"][tail][0] for tail, head in picture["edges"] if head == op]


def labelled(v: Value, label: str) -> Value:
    v.label = label
    return v


# ---- structure -----------------------------------------------------------------------------------
def test_diamond_has_one_node_per_value_and_op_and_edges_in_argument_order():
    a = Value(2.0, label="a")
    b = labelled(a * 3.0, "b")
    c = labelled(1.0 - a, "c")  # a reaches d along two paths
    d = labelled(b / c, "d")
    d.backward()
    picture = drawn(d)
    assert len([n for n in picture["nodes"] if re.fullmatch(r"v\d+", n)]) == 6  # a 3 b 1 c d
    assert len([n for n in picture["nodes"] if n.startswith("op")]) == 3
    assert len(picture["edges"]) == 3 + 6  # each op to its result, and one per input
    assert input_labels(picture, "d") == ["b", "c"]
    assert input_labels(picture, "c") == ["data", "a"]  # 1 - a: the unlabelled constant 1, then a
    assert picture["nodes"]["op" + node_named(picture, "d")[1:]] == ["/"]
    # d = 6 / (1 - 2) = -6; dd/da = 3/c + b/c**2 = -3 + 6 = 3
    assert picture["nodes"][node_named(picture, "a")] == ["a", "data", "2", "grad", "3"]
    assert picture["nodes"][node_named(picture, "d")] == ["d", "data", "-6", "grad", "1"]


def test_shared_leaf_and_square_draw_one_node_with_an_edge_per_use():
    x = Value(3.0, label="x")
    y = labelled(x * x, "y")
    z = labelled(y + x, "z")
    picture = drawn(z)
    assert sorted(n for n in picture["nodes"] if re.fullmatch(r"v\d+", n)) == ["v0", "v1", "v2"]
    assert input_labels(picture, "y") == ["x", "x"]
    assert input_labels(picture, "z") == ["y", "x"]
    assert len(picture["edges"]) == 2 + 2 + 2


def every_value(root: Value) -> list:
    seen, stack = {}, [root]
    while stack:
        v = stack.pop()
        if id(v) not in seen:
            seen[id(v)] = v
            stack.extend(v._prev)
    return list(seen.values())


def expected_counts(root: Value) -> tuple:
    """Values, ops and edges of the graph behind `root`, counted from a plain walk."""
    nodes = every_value(root)
    ops = [v for v in nodes if v._fn is not None]
    return len(nodes), len(ops), len(ops) + sum(len(v._prev) for v in ops)


@st.composite
def random_graphs(draw):
    """A random scalar expression: each step combines earlier nodes, so sharing is common."""
    pool = [Value(draw(st.floats(-2, 2)), requires_grad=k == 0 or draw(st.booleans()))
            for k in range(draw(st.integers(1, 4)))]
    for _ in range(draw(st.integers(1, 25))):
        a, b = draw(st.sampled_from(pool)), draw(st.sampled_from(pool))
        make = draw(st.sampled_from([lambda: a + b, lambda: a * b, lambda: a - b,
                                     lambda: a.tanh(), lambda: a * 0.5]))
        pool.append(make())
    return sum(pool[1:], pool[0])


@given(random_graphs())
def test_dot_source_has_exactly_the_values_ops_and_edges_of_the_graph(root):
    values, ops, edges = expected_counts(root)
    dot = parse_dot(draw_dot(root, max_nodes=10 ** 6).source)
    assert (len(dot["values"]), len(dot["ops"]), len(dot["edges"])) == (values, ops, edges)


@given(random_graphs())
def test_the_edges_into_each_op_follow_its_inputs_in_order(root):
    nodes = every_value(root)
    for k, v in enumerate(nodes):
        v.label = f"n{k}"
    source = draw_dot(root, max_nodes=10 ** 6).source
    label_of = dict(re.findall(r"^\s+(v\d+) \[label=<<TABLE.*?<B>(n\d+)</B>", source, re.M))
    edges = parse_dot(source)["edges"]
    node_of = {label: name for name, label in label_of.items()}
    for v in nodes:
        if v._fn is not None:
            op = "op" + node_of[v.label][1:]
            drawn_inputs = [label_of[tail] for tail, head in edges if head == op]
            assert drawn_inputs == [u.label for u in v._prev]


def test_edges_follow_the_input_order_of_non_commutative_ops():
    a, b, c = Value(1.0, label="a"), Value(2.0, label="b"), Value(3.0, label="c")
    a_b = labelled(a - b, "a-b")
    c_a = labelled(c - a, "c-a")
    power = labelled(c_a ** b, "power")
    out = labelled(a_b / power, "out")
    picture = drawn(out)
    assert input_labels(picture, "a-b") == ["a", "b"]
    assert input_labels(picture, "c-a") == ["c", "a"]
    assert input_labels(picture, "power") == ["c-a", "b"]
    assert input_labels(picture, "out") == ["a-b", "power"]


def test_arrays_show_shape_dtype_and_min_max_norm_not_their_elements():
    big = Value(np.arange(1000.0), label="big")
    loss = labelled((big * 2.0).sum(), "loss")
    loss.backward()
    picture = drawn(loss)
    # |0..999| = sqrt(999 * 1000 * 1999 / 6) = sqrt(332833500) = 18243.7; the gradient is 2
    # everywhere, so its norm is 2 * sqrt(1000) = 63.2
    assert picture["nodes"][node_named(picture, "big")] == [
        "big", "(1000,) float64", "min", "max", "norm", "data", "0", "999", "1.82e+04",
        "grad", "2", "2", "63.2"]
    # 2 * (0 + ... + 999) = 999000, as a 0-d array
    assert picture["nodes"][node_named(picture, "loss")] == [
        "loss", "scalar float64", "data", "9.99e+05", "grad", "1"]


def test_gradients_before_backward_and_constants_without_gradient():
    w = Value(np.ones((2, 2), dtype=np.float32), label="w")
    h = labelled(w @ np.ones(2), "h")
    picture = drawn(h)
    assert picture["nodes"][node_named(picture, "h")][-2:] == ["grad", "none yet"]
    assert picture["nodes"][node_named(picture, "w")][:2] == ["w", "(2, 2) float32"]
    constants = [t for t in picture["nodes"].values() if t[:1] == ["(2,) float64"]]
    assert constants == [["(2,) float64", "min", "max", "norm", "data", "1", "1", "1.41"]]
    assert "grad" not in drawn(h, show_grad=False)["nodes"][node_named(picture, "h")]


def test_op_keyword_arguments_other_than_the_defaults_are_shown():
    x = Value(np.ones((4, 3)))
    out = x.sum(axis=1) + x.sum() + x[np.arange(4), 0] + x.leaky_relu(alpha=0.2)[:, 1]
    ops = [t for n, t in drawn(out)["nodes"].items() if n.startswith("op")]
    assert ["sum", "axis=1"] in ops
    assert ["sum"] in ops  # axis=None, keepdims=False: the defaults
    assert ["[]", "key=(array(4,), 0)"] in ops
    assert ["[]", "key=(:, 1)"] in ops
    assert ["leaky_relu", "alpha=0.2"] in ops


def outline(picture: dict, name: str) -> dict:
    """What a node's first shape looks like: its tag, fill, border width and dashes, borders."""
    shapes = picture["outlines"][name]
    first = shapes[0]
    return {"tag": first.tag.replace(SVG, ""), "fill": first.get("fill"),
            "bold": first.get("stroke-width") == "2", "dashed": bool(first.get("stroke-dasharray")),
            "borders": 1 + sum(1 for s in shapes if s.get("fill") == "none")}


def test_output_parameter_input_constant_and_result_look_different_and_the_legend_says_how():
    x = Value(1.0, label="x")
    w = Value(2.0, label="w")
    xw = labelled(x * w, "xw")
    out = labelled(xw + 3.0, "out")
    picture = drawn(out, names={"w": w})
    looks = {label: outline(picture, node_named(picture, label))
             for label in ("x", "w", "xw", "out")}
    looks["constant"] = outline(picture, node_named(picture, "data"))
    assert looks["out"]["borders"] == 2
    assert looks["w"]["tag"] == "path" and looks["w"]["bold"]  # rounded and bold
    assert looks["x"]["tag"] == "path" and not looks["x"]["bold"]  # rounded
    assert looks["constant"]["dashed"]
    assert looks["xw"] == {"tag": "polygon", "fill": "#ffffff", "bold": False, "dashed": False,
                           "borders": 1}
    assert len({look["fill"] for look in looks.values()}) == 5
    op = outline(picture, "op" + node_named(picture, "xw")[1:])
    assert op["tag"] == "ellipse"
    assert picture["nodes"]["legend"] == [
        "Legend", "output (double border)", "parameter (named, rounded, bold)",
        "input that needs a gradient (rounded)", "constant, no gradient (dashed)",
        "result of an operation", "operation (ellipse)"]
    assert "legend" not in drawn(out, legend=False)["nodes"]


def test_color_by_grad_bins_magnitudes_on_a_log_scale_with_a_legend():
    x = Value(1.0, label="x")
    y = labelled(x * 100.0, "y")  # dy/dy = 1, dy/dx = 100
    y.backward()
    picture = drawn(y, color_by="grad")
    fill = {label: outline(picture, node_named(picture, label))["fill"] for label in ("x", "y")}
    assert fill == {"x": "#fc6a4a", "y": "#ffffcc"}  # the top and bottom of the scale
    assert outline(picture, node_named(picture, "data"))["fill"] == "#ffffff"  # the constant
    legend = picture["nodes"]["legend"]
    # log10 from 0 to 2 in six bins: 10**(1/3) = 2.15, 10**(5/3) = 46.4
    assert legend[-3:] == ["|grad| 1 to 2.2", "|grad| 46 to 100", "no gradient, or 0"]


def test_non_finite_gradients_get_their_own_colour():
    x = Value(np.array([1.0, np.inf]), label="x")
    y = labelled(x * 2.0, "y")
    y.backward(np.array([1.0, 1.0]))
    x.grad = np.array([np.nan, 1.0])
    picture = drawn(y, color_by="grad")
    assert outline(picture, node_named(picture, "x"))["fill"] == "#c994c7"
    assert "nan or inf" in picture["nodes"]["legend"]


# ---- escaping -----------------------------------------------------------------------------------
NASTY = "a<b>&c \"q\" 'p' {d|e} \\N \\\\ [x] ünï 😀"


def test_nasty_names_render_literally_in_valid_svg():
    weird = Op("<op&\"|{}>", lambda x: x, lambda g, out, x: g)
    x = Value(1.0, label=NASTY)
    out = labelled(weird(x), "\\G \\L tab\there\n")
    w = Value(2.0)
    loss = out * w
    picture = drawn(loss, names={"enc<1>&{x}|\\N.W": w})
    texts = [t for lines in picture["nodes"].values() for t in lines]
    assert NASTY in texts
    assert "<op&\"|{}>" in texts
    assert "\\G \\L tab\\there\\n" in texts  # control characters shown as escapes
    assert "enc<1>&{x}|\\N.W" in texts
    assert list(picture["clusters"].values()) == [["enc<1>&{x}|\\N"]]
    assert caption(render_svg(draw_dot(loss, title="<title> &amp; -> \\N"))) == [
        "<title> &amp; -> \\N"]


@given(st.text(st.characters(exclude_categories=("Cc", "Cs")), max_size=39))
@example("\\N \\G \\\\ \\")
@example("]")  # graphviz's HTML-label parser once failed on it (found by hypothesis)
@example("[x] ]]> a]b")
@example("<B>&amp;</B> {a|b} \"' \u00a0\u2028 \U0001F642")
def test_any_printable_label_survives(label):
    first_line = drawn(Value(0.5, label=label), legend=False)["nodes"]["v0"][0]
    assert first_line == (label.replace("\xa0", " ") if label else "data")  # no label, no row


def test_long_labels_are_cut_with_an_ellipsis():
    picture = drawn(Value(0.5, label="x" * 100), legend=False)
    assert picture["nodes"]["v0"][0] == "x" * 39 + "\u2026"


# ---- clusters -----------------------------------------------------------------------------------
class StandIn:
    """What the nn modules will offer: named_parameters() yielding (dotted_name, Value)."""

    def __init__(self, sizes, rng):
        self.params = {}
        for k, (n_in, n_out) in enumerate(zip(sizes, sizes[1:])):
            self.params[f"layers.{k}.W"] = Value(rng.normal(size=(n_out, n_in)))
            self.params[f"layers.{k}.b"] = Value(np.zeros(n_out))

    def named_parameters(self):
        return iter(self.params.items())

    def __call__(self, x):
        n_layers = len(self.params) // 2
        for k in range(n_layers):
            x = x @ self.params[f"layers.{k}.W"].T + self.params[f"layers.{k}.b"]
            x = x.tanh() if k < n_layers - 1 else x
        return x


def mlp_loss():
    rng = np.random.default_rng(1)
    model = StandIn([3, 4, 4, 2], rng)
    x = Value(rng.normal(size=(5, 3)), requires_grad=False)
    loss = labelled((model(x) ** 2).mean(), "loss")
    loss.backward()
    return model, loss


@pytest.mark.parametrize("as_mapping", [False, True])
def test_one_cluster_per_layer_with_its_parameters_and_the_ops_reading_them(as_mapping):
    model, loss = mlp_loss()
    names = dict(model.named_parameters()) if as_mapping else model
    picture = drawn(loss, names=names)
    dot = parse_dot(draw_dot(loss, names=names).source)
    assert [texts[0] for texts in picture["clusters"].values()] == [
        "layers.0", "layers.1", "layers.2"]
    for k, members in enumerate(dot["clusters"].values()):
        values = [picture["nodes"][n] for n in members if n.startswith("v")]
        ops = [picture["nodes"][n][0] for n in members if n.startswith("op")]
        assert [texts[0] for texts in values if texts[0].startswith("layers")] == [
            f"layers.{k}.W", f"layers.{k}.b"]
        assert ops == ["transpose", "@", "+"]  # W.T, x @ W.T, + b: not tanh, not the loss
        assert len(values) == 5  # W, W.T, x @ W.T, b, + b
    outside = [picture["nodes"][n][0] for n in picture["nodes"]
               if n.startswith("op") and not any(n in m for m in dot["clusters"].values())]
    assert sorted(outside) == ["**", "mean", "tanh", "tanh"]


def test_a_neuron_cluster_holds_the_sum_before_its_bias():
    out, names = DEMOS["neuron"][0]()
    dot = parse_dot(draw_dot(out, names=names).source)
    picture = drawn(out, names=names)
    (members,) = dot["clusters"].values()
    labels = sorted(picture["nodes"][n][0] for n in members)
    assert labels == ["*", "*", "+", "+", "data", "n", "neuron.b", "neuron.w1", "neuron.w2",
                      "x1*w1", "x2*w2"]  # "data": the unlabelled x1*w1 + x2*w2


def test_no_clusters_when_asked_or_for_names_without_a_dot():
    model, loss = mlp_loss()
    assert parse_dot(draw_dot(loss, names=model, cluster_modules=False).source)["clusters"] == {}
    w = Value(2.0)
    picture = drawn(w * 3.0, names={"scale": w})
    assert picture["clusters"] == {} and node_named(picture, "scale")


def test_named_parameters_accepts_models_and_mappings_and_rejects_the_rest():
    w = Value(1.0)
    assert named_parameters({"a.w": w, "b.w": w}) == {"a.w": w}  # tied: the first name stays
    with pytest.raises(UnsupportedTypeError, match="draw_dot: expected a model"):
        draw_dot(w, names=[w])
    with pytest.raises(UnsupportedTypeError, match="parameter 'a.w' is a float"):
        draw_dot(w, names={"a.w": 1.0})


# ---- large and deep graphs -----------------------------------------------------------------------
def caption(svg: bytes) -> list:
    """The lines of text above a drawing (the graph's own label)."""
    return [t.text for t in ET.fromstring(svg).find(f"{SVG}g").findall(f"{SVG}text")]


def test_a_100000_node_graph_gives_a_bounded_drawing_that_says_so():
    x, w = Value(0.5, label="x"), Value(0.9, label="w")
    for _ in range(25_000):  # 3 values a step: x*w, +, tanh; 75,000 ops deep
        x = (x * w + 0.01).tanh()
    values, ops = 3 + 3 * 25_000, 3 * 25_000  # x, w and the one constant 0.01 operators share
    graph = draw_dot(x, max_nodes=100, names={"cell.w": w})
    assert len(parse_dot(graph.source)["values"]) == 100
    svg = render_svg(graph)
    picture = parse_svg(svg)
    assert len(picture["nodes"]) <= 100 + 100 + 100 + 1  # values, ops, stubs, legend
    lines = caption(svg)
    assert lines[0] == (f"A graph of {values:,} values and {ops:,} operations: drawn are the "
                        "100 values nearest the output")
    assert lines[1].startswith(f"not drawn (\u2026): {values - 100:,} values, made by ")
    stubs = [n for n in picture["nodes"] if n.startswith("cut")]
    assert stubs
    assert {tuple(picture["nodes"][n]) for n in stubs} <= {("\u2026",), ("\u2026 \u00d72",)}


def test_cut_graphs_keep_the_part_nearest_the_output_and_one_stub_per_cut_op():
    a = Value(1.0, label="a")
    b = labelled(a.tanh(), "b")
    c = labelled(b.tanh(), "c")
    d = labelled(c * b * a, "d")  # inputs: c*b (drawn) and a (not drawn)
    picture = drawn(d, max_nodes=2)
    values = sorted(picture["nodes"][n][0] for n in picture["nodes"] if re.fullmatch(r"v\d+", n))
    assert values == ["d", "data"]  # d and c*b
    edges = picture["edges"]
    cut_heads = sorted(head for tail, head in edges if tail.startswith("cut"))
    assert len(cut_heads) == 2  # one stub for d's op, one for c*b's (which reads c and b)
    stubs = [picture["nodes"][tail] for tail, head in edges if tail.startswith("cut")]
    assert sorted(stubs) == [["\u2026"], ["\u2026 \u00d72"]]


def test_max_nodes_must_be_a_positive_int():
    for bad in (0, -1, 2.5, True):
        with pytest.raises(ValueError, match="draw_dot: max_nodes must be a positive int"):
            draw_dot(Value(1.0), max_nodes=bad)


def test_bad_arguments_are_named():
    with pytest.raises(UnsupportedTypeError, match="draw_dot: root must be a Value, got float"):
        draw_dot(1.0)
    with pytest.raises(ValueError, match="rankdir"):
        draw_dot(Value(1.0), rankdir="up")
    with pytest.raises(ValueError, match="color_by"):
        draw_dot(Value(1.0), color_by="size")


# ---- files ---------------------------------------------------------------------------------------
def test_save_svg_writes_a_valid_svg_and_leaves_no_temporary_file(tmp_path):
    x = Value(2.0, label="x")
    path = save_svg((x * x).tanh(), tmp_path / "g.svg", rankdir="TB")
    assert path == tmp_path / "g.svg"
    picture = parse_svg(path.read_bytes())
    assert node_named(picture, "x")
    assert os.listdir(tmp_path) == ["g.svg"]


def test_a_failed_write_leaves_the_old_file_whole(tmp_path, monkeypatch):
    path = tmp_path / "g.svg"
    path.write_text("old")

    def broken_replace(src, dst):
        raise OSError("disk full")
    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        save_svg(Value(1.0), path)
    assert path.read_text() == "old"
    assert os.listdir(tmp_path) == ["g.svg"]


def test_write_atomically_gives_new_files_the_usual_permissions(tmp_path):
    mask = os.umask(0o022)
    try:
        path = write_atomically(tmp_path / "f.bin", b"\x00\x01", "test")
    finally:
        os.umask(mask)
    assert path.read_bytes() == b"\x00\x01"
    assert path.stat().st_mode & 0o777 == 0o644


def test_repr_svg_is_svg_text_for_jupyter():
    svg = repr_svg(Value(1.0, label="x") + 1.0)
    assert isinstance(svg, str)
    assert node_named(parse_svg(svg.encode()), "x")


def test_missing_dot_says_how_to_install_it_and_source_still_works(tmp_path, monkeypatch):
    empty = tmp_path / "bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    target = tmp_path / "g.svg"
    target.write_text("old")
    x = Value(1.0, label="x")
    with pytest.raises(GraphvizNotFoundError) as error:
        save_svg(x * 2.0, target)
    message = str(error.value)
    assert "Graphviz program 'dot'" in message and "not found on PATH" in message
    assert "apt-get install graphviz" in message and "brew install graphviz" in message
    assert isinstance(error.value, RuntimeError)
    assert target.read_text() == "old"
    assert len(parse_dot(draw_dot(x * 2.0).source)["values"]) == 3
    assert repr_svg(x) is None  # Jupyter falls back to the text repr


# ---- demos --------------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", sorted(DEMOS))
def test_graph_demo_writes_a_valid_svg(kind, tmp_path):
    path = graph_demo(tmp_path / f"{kind}.svg", kind)
    picture = parse_svg(path.read_bytes())
    assert picture["nodes"]


def test_graph_demo_neuron_and_mlp_contents(tmp_path):
    neuron = parse_svg(graph_demo(tmp_path / "n.svg", "neuron").read_bytes())
    assert neuron["nodes"][node_named(neuron, "out")] == ["out", "data", "0.7071", "grad", "1"]
    assert neuron["nodes"][node_named(neuron, "x1")] == ["x1", "data", "2", "grad", "-1.5"]
    mlp = parse_svg(graph_demo(tmp_path / "m.svg", "mlp").read_bytes())
    assert [t[0] for t in mlp["clusters"].values()] == ["layers.0", "layers.1"]
    with pytest.raises(ValueError, match="graph_demo: kind must be one of neuron, mlp, expression"):
        graph_demo(tmp_path / "x.svg", "cnn")


# ---- summary ------------------------------------------------------------------------------------
def test_summary_lists_layers_output_shapes_and_parameter_counts():
    class Model:
        def named_parameters(self):
            yield "layers.0.W", Value(np.ones((3, 2)))
            yield "layers.0.b", Value(np.zeros(3))
            yield "layers.1.W", Value(np.ones((1, 3)), dtype=np.float32)
            yield "layers.1.b", Value(np.zeros(1), dtype=np.float32, requires_grad=False)
            yield "scale", Value(1.0)
    # bytes: 6*8 + 3*8 + 3*4 + 1*4 + 8 = 96
    assert summary(Model()) == "\n".join([
        "Layer        Output shape  Parameters        Trainable  Count",
        "-------------------------------------------------------------",
        "layers.0     (batch, 3)    W (3, 2), b (3,)  True           9",
        "layers.1     (batch, 1)    W (1, 3), b (1,)  Partial        4",
        "(top level)  -             scale ()          True           1",
        "-------------------------------------------------------------",
        "Total params: 14",
        "Trainable params: 13",
        "Non-trainable params: 1",
        "Params size: 96 bytes"])


def test_summary_of_the_stand_in_mlp_counts_every_parameter():
    model, _ = mlp_loss()
    lines = summary(model).splitlines()
    assert [line.split()[0] for line in lines[2:5]] == ["layers.0", "layers.1", "layers.2"]
    assert [int(line.split()[-1]) for line in lines[2:5]] == [4 * 3 + 4, 4 * 4 + 4, 2 * 4 + 2]
    assert lines[-4:] == ["Total params: 46", "Trainable params: 46", "Non-trainable params: 0",
                          "Params size: 368 bytes"]


def test_summary_of_a_module_counts_its_frozen_parameters_as_torchinfo_does():
    """Frozen parameters are left out of parameters() (optimizers skip them) but not out of the
    summary: a frozen backbone shows as non-trainable, a half-frozen layer as Partial."""
    model = nn.Sequential(nn.Linear(3, 4), nn.Linear(4, 2))
    model[0].requires_grad_(False)
    model[1].bias.requires_grad = False
    lines = summary(model).splitlines()
    assert [line.split()[-2:] for line in lines[2:4]] == [["False", "16"], ["Partial", "10"]]
    assert lines[-4:-1] == ["Total params: 26", "Trainable params: 8", "Non-trainable params: 18"]
