"""examples/attention_reverse.py learns what it claims, with small settings: a one-block
attention model reverses held-out digit sequences exactly (chance: 10^-length), by attending
to the mirrored position."""

import importlib.util
import pathlib

import numpy as np


def load_example():
    path = pathlib.Path(__file__).parent.parent / "examples" / "attention_reverse.py"
    spec = importlib.util.spec_from_file_location("examples_attention_reverse", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_attention_learns_to_reverse_held_out_sequences():
    r = load_example().main(length=6, steps=60, test_size=500)
    assert r["untrained_accuracy"] < 0.01                # chance is 1e-6 per sequence
    assert r["accuracy"] >= 0.95
    assert r["mirrored"] >= 0.9                          # it attends where reversal looks
    assert np.mean(r["losses"][-5:]) < r["losses"][0] / 20
