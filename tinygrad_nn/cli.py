"""Command line: ``python -m tinygrad_nn demo`` runs the neural-network chapter end to end;
``python -m tinygrad_nn graph mlp -o mlp.svg`` draws a built-in computation graph."""

from __future__ import annotations

import argparse
import os
import sys
import time
from typing import Optional, Sequence

import numpy as np

from . import init
from .data import load_digits, train_test_split
from .errors import GraphvizNotFoundError
from .gradcheck import numerical_gradient, relative_difference
from .losses import logistic_cost
from .nn import MLP, Neuron
from .optim import minimize
from .train import accuracy
from .viz import DEMOS, graph_demo


def _section(title: str) -> None:
    print(f"\n== {title} " + "=" * max(0, 72 - len(title)))


def logistic_unit() -> None:
    """Ng's lecture example: one sigmoid unit with θ = [-30, 20, 20] computes x1 AND x2."""
    _section("1. The logistic unit: h(x) = sigmoid(θᵀx), θ = [-30, 20, 20] is x1 AND x2")
    unit = Neuron(2)
    unit.load_state_dict({"w": np.array([20.0, 20.0]), "b": np.array(-30.0)})
    X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    for x, h in zip(X, unit(X).data):
        print(f"   x = {x.astype(int)}  ->  h = {h:.5f}  ->  {int(h > 0.5)}")


def gradient_check() -> None:
    """Backpropagation against two-sided differences on the course's 3-5-3 debug network."""
    _section("2. Backpropagation vs gradient checking (Ng's debug network 3-5-3, m = 5, λ = 3)")
    thetas = [init.debug((5, 4)), init.debug((3, 6))]
    X, y = init.debug((5, 3)), np.array([1, 2, 0, 1, 2])

    def cost(t1, t2):
        net = MLP.from_thetas([np.asarray(t1.data), np.asarray(t2.data)])
        return logistic_cost(net(X), y, net.weights(), lam=3.0)

    model = MLP.from_thetas(thetas)
    J = logistic_cost(model(X), y, model.weights(), lam=3.0)
    J.backward()
    backprop = [np.column_stack([layer.b.grad, layer.W.grad]) for layer in model.layers]
    numeric = numerical_gradient(cost, *thetas, eps=1e-4)
    diff = relative_difference(backprop, list(numeric))
    print(f"   cost J = {J.item():.12f}   (the course: 2.146359815024)")
    print(f"   relative difference |backprop - numeric| / |backprop + numeric| = {diff:.3e}"
          f"   ({'below' if diff < 1e-9 else 'ABOVE'} 1e-9)")


def train_digits(fast: bool) -> MLP:
    """Random initialization, the regularized cost, and full-batch L-BFGS on the 8x8 digits."""
    _section("3. Training on handwritten digits (8x8, 1797 images): 64-25-10 sigmoid, λ = 1")
    X, y = load_digits()
    X = X / 16.0
    X_train, X_test, y_train, y_test = train_test_split(X, y, 0.2, stratify=True, seed=0)
    model = MLP(64, [25, 10], activation="sigmoid", seed=0)
    eps = init.ng_epsilon(64, 25)
    print(f"   {model}: {model.num_parameters()} parameters, random init in ±ε = ±√6/√(L_in + L_out)"
          f" = ±{eps:.3f} for the first layer")
    start = time.perf_counter()
    result = minimize(model, lambda h, t: logistic_cost(h, t, model.weights(), lam=1.0),
                      X_train, y_train, method="L-BFGS-B", maxiter=20 if fast else 100)
    seconds = time.perf_counter() - start
    print(f"   L-BFGS-B: {len(result.history)} iterations in {seconds:.1f} s, cost "
          f"{result.history[0]:.4f} -> {result.fun:.4f}")
    print(f"   accuracy: train {accuracy(model, X_train, y_train):.1%}, "
          f"held-out test {accuracy(model, X_test, y_test):.1%} ({len(y_test)} images)")
    return model


def draw_graphs(out: str) -> None:
    """The computation graphs of a neuron and of a small MLP (one box per layer), as SVG."""
    _section(f"4. The computation graphs, as SVG in {out}/")
    os.makedirs(out, exist_ok=True)
    for kind in ("neuron", "mlp"):
        try:
            path = graph_demo(os.path.join(out, f"{kind}.svg"), kind)
        except GraphvizNotFoundError as e:
            print(f"   skipped: {e}")
            return
        print(f"   wrote {path}")


def demo(out: str = "tinygrad_nn_demo", fast: bool = False) -> None:
    """The chapter in one run: logistic unit, gradient check, training, and the graphs as SVG."""
    logistic_unit()
    gradient_check()
    train_digits(fast)
    draw_graphs(out)


def graph(kind: str, path: str, rankdir: Optional[str], color_by: str) -> int:
    """Draw a built-in graph to an SVG file; 1 (with the reason) when `dot` is missing."""
    options = {"color_by": color_by, **({"rankdir": rankdir} if rankdir else {})}
    try:
        print(f"wrote {graph_demo(path, kind, **options)}")
    except GraphvizNotFoundError as e:
        print(e, file=sys.stderr)
        return 1
    return 0


def main(argv: Optional[Sequence[str]] = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m tinygrad_nn", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("demo", help="logistic unit, gradient check, digits training, SVG graphs")
    run.add_argument("--out", default="tinygrad_nn_demo", help="folder for the SVG files")
    run.add_argument("--fast", action="store_true", help="fewer training iterations")
    draw = commands.add_parser("graph", help="draw a built-in computation graph to SVG")
    draw.add_argument("kind", nargs="?", default="neuron", choices=sorted(DEMOS))
    draw.add_argument("-o", "--output", help="SVG file to write (default: KIND.svg)")
    draw.add_argument("--rankdir", choices=["LR", "TB"], help="layout direction")
    draw.add_argument("--color-by", default="kind", choices=["kind", "grad"],
                      help="colour nodes by their kind or by gradient magnitude")
    args = parser.parse_args(argv)
    if args.command == "demo":
        demo(args.out, args.fast or bool(os.environ.get("TINYGRAD_NN_FAST")))
    else:
        sys.exit(graph(args.kind, args.output or f"{args.kind}.svg", args.rankdir, args.color_by))
