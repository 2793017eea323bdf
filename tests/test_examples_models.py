"""The model examples of issue 12 learn what their docstrings claim: a CNN on the bundled digits
(at least 98 % held-out, with its default settings), a residual MLP with LayerNorm, Dropout,
AdamW and a cosine schedule, and a one-block attention model that reverses held-out digit
sequences exactly (chance: 10^-length) by attending to the mirrored position."""

import importlib.util
import pathlib

import numpy as np


def load_example(name):
    path = pathlib.Path(__file__).parent.parent / "examples" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"examples_{name}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_cnn_reaches_98_percent_on_held_out_digits():
    assert load_example("cnn_digits").main(epochs=15, seed=0) >= 0.98


def test_residual_mlp_with_layer_norm_dropout_and_adamw_learns_the_digits():
    assert load_example("residual_mlp").main(epochs=8, depth=2, seed=0) >= 0.95


def test_attention_learns_to_reverse_held_out_sequences():
    r = load_example("attention_reverse").main(length=6, steps=60, test_size=500)
    assert r["untrained_accuracy"] < 0.01                # chance is 1e-6 per sequence
    assert r["accuracy"] >= 0.95
    assert r["mirrored"] >= 0.9                          # it attends where reversal looks
    assert np.mean(r["losses"][-5:]) < r["losses"][0] / 20
