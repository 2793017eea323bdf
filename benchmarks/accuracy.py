"""Training to accuracy: wall time for an MLP 64-64-10 (ReLU hidden layer, linear output,
softmax cross-entropy) to reach 97 % held-out accuracy on the bundled 8x8 handwritten digits.

Data: 1797 digits split 80/20 stratified (seed 0), features standardized with the training
set's mean and std, float32. Both engines, each in its own process, start from the same numpy
He-normal weights and train with Adam (lr 3e-3) in minibatches of 32 visited in the same
order (one numpy Generator draws every epoch's permutation), so they follow nearly the same
trajectory; they must give the same loss on the first minibatch. The clock covers training and
the held-out accuracy check after every epoch, and stops at 97 % or after MAX_EPOCHS epochs.
The repeats run one after another in the engine's process with no warm-up run, so the first
one also pays for the engine's cold start (it shows in the max).

Peer: PyTorch CPU eager (threads = cores).

    python -m benchmarks.accuracy            # both engines, 5 repeats each
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from typing import Any, Callable, Dict, List, Tuple

import numpy as np

from benchmarks.common import fmt_seconds, markdown_table, run_in_subprocess, summarize, write_results

SIZES = [64, 64, 10]
LR = 3e-3
BATCH = 32
TARGET = 0.97
MAX_EPOCHS = 100
DTYPE = "float32"

Digits = Tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]
# (train one epoch over the given sample order, held-out accuracy, loss on the first minibatch)
Engine = Tuple[Callable[[np.ndarray], None], Callable[[], float], float]


def digits() -> Digits:
    """X_train, X_test (standardized, float32), y_train, y_test: the split of examples/digits.py."""
    from tinygrad_nn.data import Standardizer, load_digits, train_test_split
    X, y = load_digits()
    X_train, X_test, y_train, y_test = train_test_split(X, y, 0.2, stratify=True, seed=0)
    scaler = Standardizer.fit(X_train)
    return (scaler.transform(X_train).astype(DTYPE), scaler.transform(X_test).astype(DTYPE),
            y_train, y_test)


def weights() -> List[Tuple[np.ndarray, np.ndarray]]:
    """Shared starting weights: (W of shape (nout, nin), b) per layer, He-normal, zero bias."""
    rng = np.random.default_rng(0)
    return [(rng.normal(0, np.sqrt(2 / nin), size=(nout, nin)).astype(DTYPE), np.zeros(nout, DTYPE))
            for nin, nout in zip(SIZES, SIZES[1:])]


def orders(n: int) -> Callable[[], np.ndarray]:
    """Each call gives the next epoch's sample order, the same sequence for every engine."""
    rng = np.random.default_rng(1)
    return lambda: rng.permutation(n)


def tinygrad_engine(data: Digits, first: np.ndarray) -> Engine:
    from tinygrad_nn.engine import no_grad
    from tinygrad_nn.losses import cross_entropy
    from tinygrad_nn.nn import MLP
    from tinygrad_nn.optim import Adam
    X_train, X_test, y_train, y_test = data
    model = MLP(SIZES[0], SIZES[1:], activation="relu", output_activation="linear", dtype=DTYPE)
    model.load_state_dict({f"layers.{i}.{k}": v for i, (W, b) in enumerate(weights())
                           for k, v in (("W", W), ("b", b))})
    opt = Adam(model.parameters(), lr=LR)
    with no_grad():
        first_loss = cross_entropy(model(X_train[first]), y_train[first]).item()

    def epoch(order: np.ndarray) -> None:
        for start in range(0, len(order), BATCH):
            idx = order[start:start + BATCH]
            opt.zero_grad()
            loss = cross_entropy(model(X_train[idx]), y_train[idx])
            loss.backward()
            opt.step()

    def accuracy() -> float:
        with no_grad():
            return float(np.mean(model(X_test).data.argmax(axis=1) == y_test))
    return epoch, accuracy, first_loss


def torch_engine(data: Digits, first: np.ndarray) -> Engine:
    import torch
    torch.set_num_threads(os.cpu_count() or 1)
    X_train, X_test, y_train, y_test = (torch.from_numpy(a) for a in data)
    layers = []
    for i, (W, b) in enumerate(weights()):
        lin = torch.nn.Linear(W.shape[1], W.shape[0])
        with torch.no_grad():
            lin.weight.copy_(torch.from_numpy(W))
            lin.bias.copy_(torch.from_numpy(b))
        layers += [lin] + ([torch.nn.ReLU()] if i < len(SIZES) - 2 else [])
    model = torch.nn.Sequential(*layers)
    opt = torch.optim.Adam(model.parameters(), lr=LR)
    first_idx = torch.from_numpy(first)
    with torch.no_grad():
        first_loss = torch.nn.functional.cross_entropy(model(X_train[first_idx]), y_train[first_idx]).item()

    def epoch(order: np.ndarray) -> None:
        order = torch.from_numpy(order)
        for start in range(0, len(order), BATCH):
            idx = order[start:start + BATCH]
            opt.zero_grad()
            loss = torch.nn.functional.cross_entropy(model(X_train[idx]), y_train[idx])
            loss.backward()
            opt.step()

    def accuracy() -> float:
        with torch.no_grad():
            return (model(X_test).argmax(dim=1) == y_test).double().mean().item()
    return epoch, accuracy, first_loss


ENGINES: Dict[str, Callable[[Digits, np.ndarray], Engine]] = {
    "tinygrad_nn": tinygrad_engine, "torch": torch_engine}


def race(engine: str, max_epochs: int) -> Dict[str, Any]:
    """One run from the shared weights: train epoch by epoch until the held-out accuracy reaches
    TARGET or `max_epochs` have passed. Building the model and the data is not timed."""
    data = digits()
    next_order = orders(len(data[0]))
    order = next_order()
    epoch, accuracy, first_loss = ENGINES[engine](data, order[:BATCH])
    accuracies: List[float] = []
    start = time.perf_counter()
    while len(accuracies) < max_epochs and (not accuracies or accuracies[-1] < TARGET):
        epoch(order)
        accuracies.append(accuracy())
        order = next_order()
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "epochs": len(accuracies), "reached": accuracies[-1] >= TARGET,
            "accuracy": accuracies[-1], "accuracies": accuracies, "first_loss": first_loss}


def measure(engine: str, repeats: int, max_epochs: int) -> Dict[str, Any]:
    """`repeats` races in this process; the wall time summarized over those that reached TARGET."""
    runs = [race(engine, max_epochs) for _ in range(repeats)]
    reached = [r["seconds"] for r in runs if r["reached"]]
    return {"engine": engine, "first_loss": runs[0]["first_loss"], "runs": runs,
            "seconds": summarize(reached) if reached else None,
            "per_epoch": summarize([r["seconds"] / r["epochs"] for r in runs])}


def spread(values: List[Any], fmt: Callable[[Any], str]) -> str:
    """One value, or min–max when the repeats differ."""
    low, high = min(values), max(values)
    return fmt(low) if low == high else f"{fmt(low)}–{fmt(high)}"


def row(name: str, result: Dict[str, Any]) -> List[str]:
    """A table row for one engine's `measure` result."""
    runs, seconds = result["runs"], result["seconds"]
    misses = sum(not r["reached"] for r in runs)
    time_to = fmt_seconds(seconds["median"]) if seconds else f"not reached in {runs[0]['epochs']} epochs"
    if seconds and misses:
        time_to += f" ({misses} of {len(runs)} runs not reached)"
    return [name, time_to, f"{fmt_seconds(seconds['min'])}–{fmt_seconds(seconds['max'])}" if seconds else "n/a",
            spread([r["epochs"] for r in runs], str), fmt_seconds(result["per_epoch"]["median"]),
            spread([r["accuracy"] for r in runs], lambda a: f"{a:.1%}")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--engine", choices=sorted(ENGINES))
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--max-epochs", type=int, default=MAX_EPOCHS)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--quick", action="store_true", help="2 repeats")
    args = parser.parse_args()
    repeats = 2 if args.quick else args.repeats
    if args.engine:
        print(json.dumps(measure(args.engine, repeats, args.max_epochs)))
        return
    runs = {}
    for engine in ENGINES:
        try:
            runs[engine] = run_in_subprocess("benchmarks.accuracy", "--engine", engine, "--repeats",
                                             str(repeats), "--max-epochs", str(args.max_epochs))
        except RuntimeError as e:
            if "No module named" not in str(e):
                raise
            print(f"{engine} not installed: skipped", file=sys.stderr)
    mine, peer = runs["tinygrad_nn"], runs.get("torch")
    if peer and abs(peer["first_loss"] - mine["first_loss"]) > 1e-6 * abs(mine["first_loss"]):
        raise SystemExit(f"torch and tinygrad_nn disagree on the first minibatch: "
                         f"{peer['first_loss']} vs {mine['first_loss']}")
    rows = [row("tinygrad_nn", mine)] + ([row("torch eager", peer)] if peer else [])
    if peer:
        both = mine["seconds"] and peer["seconds"]
        rows.append(["tinygrad_nn / torch",
                     f"{mine['seconds']['median'] / peer['seconds']['median']:.2f}" if both else "n/a", "", "",
                     f"{mine['per_epoch']['median'] / peer['per_epoch']['median']:.2f}", ""])
    table = markdown_table([f"digits MLP 64-64-10 ReLU, Adam lr {LR:g}, batch {BATCH}, {DTYPE}",
                            f"time to {TARGET:.0%} held-out (median)", "min–max", "epochs",
                            "per epoch (median)", "held-out accuracy at stop"], rows)
    table += (f"\n\nLoss on the first minibatch, before any update: tinygrad_nn {mine['first_loss']:.7f}"
              + (f", torch {peer['first_loss']:.7f}" if peer else "")
              + f". Runs per engine: {repeats}, in the engine's own process; at most {args.max_epochs} epochs.")
    write_results("accuracy", {"config": {"sizes": SIZES, "activation": "relu", "optimizer": "Adam",
                                          "lr": LR, "batch": BATCH, "target": TARGET,
                                          "max_epochs": args.max_epochs, "dtype": DTYPE},
                               "runs": runs}, table)


if __name__ == "__main__":
    main()
