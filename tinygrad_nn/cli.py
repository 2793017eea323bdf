"""Command line: ``python -m tinygrad_nn demo``."""

from __future__ import annotations

import argparse
from typing import Optional, Sequence

import numpy as np

from . import Value


def demo() -> None:
    """Build a small graph, backpropagate, and print every gradient next to its formula."""
    print("A scalar graph, micrograd style: L = relu(a*b + c) * f")
    a, b, c, f = (Value(v, label=n) for v, n in [(2.0, "a"), (-3.0, "b"), (10.0, "c"), (-2.0, "f")])
    e = a * b
    d = e + c
    L = d.relu() * f
    L.backward()
    print(f"  L = {L.data}")
    for v, formula in [(a, "f*b"), (b, "f*a"), (c, "f"), (f, "relu(a*b + c)")]:
        print(f"  dL/d{v.label} = {v.grad:+.4f}   (= {formula})")

    print("\nA tensor graph: softmax cross-entropy of a linear layer, 4 samples, 3 classes")
    rng = np.random.default_rng(0)
    X = rng.normal(size=(4, 5))
    y = np.array([0, 2, 1, 2])
    W = Value(rng.normal(size=(3, 5)) * 0.1, label="W")
    bias = Value(np.zeros(3), label="b")
    logits = X @ W.T + bias
    loss = -logits.log_softmax(axis=1)[np.arange(4), y].mean()
    loss.backward()
    print(f"  loss = {loss.item():.6f}")
    print(f"  dloss/db = {np.array2string(bias.grad, precision=4)}  (mean of softmax - one-hot)")
    print(f"  |dloss/dW| = {np.linalg.norm(W.grad):.6f}, shape {W.grad.shape}")


def main(argv: Optional[Sequence[str]] = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m tinygrad_nn", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("demo", help="build a graph, backprop, print the gradients")
    args = parser.parse_args(argv)
    if args.command == "demo":
        demo()
