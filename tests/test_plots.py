"""Plot helpers: the figures hold the expected axes and artists, and saved files open.

Tests that draw need matplotlib (the `plot` extra) and use the Agg backend; the message for a
missing matplotlib is tested without it.
"""

import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field

import numpy as np
import pytest

from tinygrad_nn import Value
from tinygrad_nn.plots import (CLASS_COLORS, plot_decision_boundary, plot_gradient_norms,
                               plot_hidden_weights, plot_learning_curves, save_figure)


def test_without_matplotlib_the_error_says_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    with pytest.raises(ImportError, match=r"pip install 'tinygrad_nn\[plot\]'"):
        plot_learning_curves({"loss": [1.0, 0.5]})


def assert_opens(path):
    """A saved PNG decodes to an RGBA image; a saved SVG is well-formed XML."""
    if path.suffix == ".png":
        import matplotlib.image
        image = matplotlib.image.imread(path)
        assert image.ndim == 3 and image.shape[0] > 50 and image.shape[1] > 50
    else:
        assert ET.parse(path).getroot().tag == "{http://www.w3.org/2000/svg}svg"


# ---- learning curves ---------------------------------------------------------------------------
HISTORY = {"loss": [1.0, 0.5, 0.25], "val_loss": [1.2, 0.7, 0.6],
           "accuracy": [0.5, 0.7, 0.9], "val_accuracy": [0.4, 0.6, 0.8]}


def test_learning_curves_have_a_panel_per_quantity_with_training_and_validation(pyplot, tmp_path):
    fig = plot_learning_curves(HISTORY, path=tmp_path / "curves.png")
    assert [ax.get_title() for ax in fig.axes] == ["loss", "accuracy"]
    for ax, name in zip(fig.axes, ["loss", "accuracy"]):
        lines = ax.get_lines()
        assert [line.get_label() for line in lines] == ["training", "validation"]
        assert [list(line.get_ydata()) for line in lines] == [HISTORY[name], HISTORY["val_" + name]]
        assert list(lines[0].get_xdata()) == [1, 2, 3]
        assert [t.get_text() for t in ax.get_legend().get_texts()] == ["training", "validation"]
        assert ax.get_xlabel() == "epoch"
    assert_opens(tmp_path / "curves.png")


def test_learning_curves_from_a_history_object_skip_untracked_lists_and_mark_the_best(pyplot):
    @dataclass
    class History:  # the shape of what fit() returns
        loss: list = field(default_factory=lambda: [0.9, 0.4, 0.3, 0.35])
        accuracy: list = field(default_factory=list)  # not tracked
        val_loss: list = field(default_factory=lambda: [1.0, 0.5, 0.45, 0.5])
        epochs: int = 4
        best_epoch: int = 2
        monitor: str = "val_loss"
    (ax,) = plot_learning_curves(History()).axes
    assert ax.get_title() == "loss"
    lines = ax.get_lines()
    assert [line.get_label() for line in lines] == ["training", "validation", "best epoch"]
    assert list(lines[2].get_xdata()) == [3, 3]  # index 2 is epoch 3


def test_learning_curves_with_training_only_and_bad_histories(pyplot):
    fig = plot_learning_curves({"loss": np.array([3.0, 2.0])})
    (ax,) = fig.axes
    assert [list(line.get_ydata()) for line in ax.get_lines()] == [[3.0, 2.0]]
    with pytest.raises(ValueError, match="plot_learning_curves: the history is empty"):
        plot_learning_curves({})
    with pytest.raises(ValueError, match=r"history\['loss'\] must be a sequence of numbers"):
        plot_learning_curves({"loss": ["high", "low"]})


# ---- decision boundary ---------------------------------------------------------------------------
def boundary_vertices(ax) -> np.ndarray:
    """Points on the black boundary line(s) the plot drew."""
    lines = [c for c in ax.collections if hasattr(c, "allsegs") and c.get_linewidths()[0] > 0
             and not c.filled]
    (line,) = lines
    return np.concatenate([seg for level in line.allsegs for seg in level])


def points(ax) -> list:
    """(label, colour, xy) of each scatter of data points."""
    from matplotlib.colors import to_hex
    return [(c.get_label(), to_hex(c.get_facecolor()[0]), c.get_offsets())
            for c in ax.collections if c.get_label().startswith("class")]


def test_decision_boundary_of_a_logit_lies_where_it_is_zero(pyplot, tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 2))
    y = (X.sum(axis=1) > 0).astype(int)
    fig = plot_decision_boundary(lambda P: P[:, 0] + P[:, 1], X, y, path=tmp_path / "b.svg")
    ax = fig.axes[0]
    # a linear score is interpolated exactly: the line is x1 + x2 = 0
    assert np.abs(boundary_vertices(ax).sum(axis=1)).max() < 1e-9
    drawn = points(ax)
    assert [(label, color) for label, color, _ in drawn] == [("class 0", CLASS_COLORS[0]),
                                                           ("class 1", CLASS_COLORS[1])]
    np.testing.assert_array_equal(drawn[0][2], X[y == 0])
    np.testing.assert_array_equal(drawn[1][2], X[y == 1])
    assert len(fig.axes) == 2  # the plot and its colour bar
    assert_opens(tmp_path / "b.svg")


def test_decision_boundary_of_a_probability_is_at_one_half(pyplot):
    X = np.array([[0.0, 0.0], [2.0, 1.0], [0.5, -1.0], [1.5, 2.0]])
    y = np.array([-1, 1, -1, 1])  # labels need not be 0 and 1
    fig = plot_decision_boundary(lambda P: 1 / (1 + np.exp(-(P[:, 0] - 1))), X, y)
    # sigmoid(x1 - 1) = 0.5 on x1 = 1, up to linear interpolation between grid points
    assert np.abs(boundary_vertices(fig.axes[0])[:, 0] - 1).max() < 1e-3
    assert [label for label, _, _ in points(fig.axes[0])] == ["class -1", "class 1"]


def test_decision_regions_of_class_scores_take_the_argmax(pyplot):
    X = np.array([[-1.0, 0.0], [1.0, 0.0], [0.0, 2.0]])
    y = np.array([0, 1, 2])

    def predict(P):  # class 2 above x2 = 1, else class 0 left of x1 = 0 and class 1 right of it
        return np.column_stack([-P[:, 0], P[:, 0], 10 * (P[:, 1] - 1)])
    fig = plot_decision_boundary(predict, X, y, resolution=101)
    ax = fig.axes[0]
    (filled,) = [c for c in ax.collections if getattr(c, "filled", False)]
    assert list(filled.levels) == [-0.5, 0.5, 1.5, 2.5]
    assert [label for label, _, _ in points(ax)] == ["class 0", "class 1", "class 2"]
    assert len(fig.axes) == 1  # no colour bar for classes
    vertices = boundary_vertices(ax)
    on_vertical = np.abs(vertices[:, 0]) < 0.05
    assert on_vertical.any() and (vertices[on_vertical, 1] < 1.1).all()


def test_decision_boundary_runs_value_models_without_recording_a_graph(pyplot):
    w = Value(np.array([1.0, -1.0]))
    seen = []

    def predict(P):
        out = (Value(P, requires_grad=False) @ w).tanh()
        seen.append(out.requires_grad)
        return out
    plot_decision_boundary(predict, np.array([[0.0, 1.0], [1.0, 0.0]]), [0, 1], resolution=10)
    assert seen == [False]


def test_decision_boundary_rejects_bad_shapes(pyplot):
    with pytest.raises(ValueError, match=r"X must have shape \(n, 2\).*got \(3, 3\)"):
        plot_decision_boundary(lambda P: P[:, 0], np.zeros((3, 3)), [0, 1, 0])
    with pytest.raises(ValueError, match=r"predict gave shape \(5,\) for 100 points"):
        plot_decision_boundary(lambda P: np.zeros(5), np.eye(2), [0, 1], resolution=10)
    with pytest.raises(ValueError, match="resolution must be an int >= 2"):
        plot_decision_boundary(lambda P: P[:, 0], np.eye(2), [0, 1], resolution=1)


# ---- hidden weights ------------------------------------------------------------------------------
def images(fig) -> list:
    return [im for ax in fig.axes for im in ax.get_images()]


def test_hidden_weights_of_a_digits_network_are_8x8_images(pyplot, tmp_path):
    W = np.random.default_rng(0).normal(size=(10, 64))
    fig = plot_hidden_weights(Value(W), path=tmp_path / "w.png")
    shown = images(fig)
    assert len(shown) == 10 and len(fig.axes) == 12  # 3 rows of 4, 2 cells empty
    for w, image in zip(W, shown):
        np.testing.assert_array_equal(image.get_array(), w.reshape(8, 8))
        assert image.get_clim() == (-np.abs(w).max(), np.abs(w).max())
    assert fig._suptitle.get_text() == "weights into 10 of 10 hidden units (8x8 images)"
    assert_opens(tmp_path / "w.png")


def test_hidden_weights_20x20_other_shapes_and_a_limit(pyplot):
    W = np.arange(5 * 400, dtype=float).reshape(5, 400)
    fig = plot_hidden_weights(W)
    assert [im.get_array().shape for im in images(fig)] == [(20, 20)] * 5
    assert len(fig.axes) == 6  # 2 rows of 3
    assert len(images(plot_hidden_weights(np.ones((3, 50)), image_shape=(5, 10)))) == 3
    assert len(images(plot_hidden_weights(W, max_units=2))) == 2
    with pytest.raises(ValueError, match="W has 50 inputs, not a square number"):
        plot_hidden_weights(np.ones((3, 50)))
    with pytest.raises(ValueError, match=r"image_shape \(4, 4\) does not hold 50 inputs"):
        plot_hidden_weights(np.ones((3, 50)), image_shape=(4, 4))
    with pytest.raises(ValueError, match=r"got shape \(64,\)"):
        plot_hidden_weights(np.ones(64))


# ---- gradient norms ------------------------------------------------------------------------------
def model_with_gradients(grads: dict):
    class Model:
        def named_parameters(self):
            for name, g in grads.items():
                v = Value(np.zeros_like(g))
                v.grad = g
                yield name, v
    return Model()


def test_gradient_norms_are_one_bar_per_layer_on_a_log_scale(pyplot, tmp_path):
    model = model_with_gradients({"layers.0.W": np.ones((2, 2)), "layers.0.b": np.zeros(2),
                                  "layers.1.W": np.array([[3.0]]), "layers.1.b": np.array([4.0])})
    fig = plot_gradient_norms(model, path=tmp_path / "norms.svg")
    (ax,) = fig.axes
    assert [bar.get_height() for bar in ax.patches] == [2.0, 5.0]  # sqrt(4 * 1), sqrt(9 + 16)
    assert [t.get_text() for t in ax.get_xticklabels()] == ["layers.0", "layers.1"]
    assert [t.get_text() for t in ax.texts] == ["2", "5"]
    assert ax.get_yscale() == "log"
    assert_opens(tmp_path / "norms.svg")


def test_gradient_norms_of_zero_and_nan_stay_on_a_linear_scale(pyplot):
    model = model_with_gradients({"a.W": np.zeros(3), "b.W": np.array([np.nan, 1.0]),
                                  "c.W": np.array([1.0])})
    ax = plot_gradient_norms(model).axes[0]
    assert [bar.get_height() for bar in ax.patches] == [0.0, 0.0, 1.0]
    assert [(t.get_text(), t.get_color()) for t in ax.texts] == [
        ("0", "black"), ("nan", "red"), ("1", "black")]
    assert ax.get_yscale() == "linear"
    with pytest.raises(ValueError, match="the model has no parameters"):
        plot_gradient_norms({})


# ---- saving ------------------------------------------------------------------------------------
def test_save_figure_writes_png_and_svg_atomically_and_rejects_unknown_suffixes(pyplot, tmp_path):
    fig = plot_learning_curves({"loss": [1.0, 0.5]})
    for name in ("c.png", "c.svg"):
        assert save_figure(fig, tmp_path / name) == tmp_path / name
        assert_opens(tmp_path / name)
    assert sorted(os.listdir(tmp_path)) == ["c.png", "c.svg"]
    with pytest.raises(ValueError, match="save_figure: cannot save 'c.xyz'"):
        save_figure(fig, tmp_path / "c.xyz")


def test_the_plot_module_imports_without_matplotlib():
    code = ("import sys; sys.modules['matplotlib'] = None; import tinygrad_nn.plots; "
            "print('imported')")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.stdout.strip() == "imported", done.stderr
