"""Tensor engine benchmark: an MLP 784-128-64-10 (ReLU, softmax cross-entropy, SGD) on
MNIST-shaped random data, one training step (zero grads, forward, backward, update) at batch
sizes 1, 32 and 128, in float32 and float64.

Peers, each in its own process: hand-written numpy forward and backward (the floor for an
engine built on numpy), PyTorch CPU eager (threads = cores) and HIPS autograd (another
reverse-mode engine on numpy, tracing plain numpy code). All start from the same weights and
must give the same loss at step 0. tinygrad_nn also runs as "tinygrad_nn-replay": the step's
graph recorded once in a `Tape` and replayed (the batch is fixed, so the graph is too). The engines take turns over three rounds (a fresh process
each time) and each engine's samples are pooled, so that a slow spell of a shared machine falls
on all of them alike.

autograd in float32 is not float32 throughout: under numpy 2 type promotion its own backward
rules for mean, max and maximum (the ReLU) return float64 gradients (they divide by int64 counts
or float64 masks), so the matrix products of its backward mix float64 with float32 before
casting back. Its loss and parameter gradients are float32 (checked); the table notes it.

    python -m benchmarks.tensor           # all engines, ratio table
"""

from __future__ import annotations

import argparse
from functools import partial
import json
import os
from typing import Any, Callable, Dict, List, Optional, Tuple

import numpy as np

from benchmarks.common import fmt_seconds, markdown_table, summarize, take_turns, timings, write_results

SIZES = [784, 128, 64, 10]
BATCHES = [1, 32, 128]
DTYPES = ["float32", "float64"]
LR = 0.01


def weights(dtype: str) -> List[Tuple[np.ndarray, np.ndarray]]:
    """Shared starting weights: (W of shape (nout, nin), b) per layer, He-initialized."""
    rng = np.random.default_rng(0)
    return [(rng.normal(0, np.sqrt(2 / nin), size=(nout, nin)).astype(dtype), np.zeros(nout, dtype))
            for nin, nout in zip(SIZES, SIZES[1:])]


def batch(n: int, dtype: str) -> Tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(1)
    return rng.random((n, SIZES[0])).astype(dtype), rng.integers(0, SIZES[-1], size=n)


def tinygrad_step(dtype: str, n: int, replay: bool = False) -> Tuple[Callable[[], float], float]:
    """With `replay`, the graph is recorded once in a Tape and replayed at every step (the
    batch is the same each step, as it is for every engine here)."""
    from tinygrad_nn import Tape
    from tinygrad_nn.losses import cross_entropy
    from tinygrad_nn.nn import MLP
    from tinygrad_nn.optim import SGD
    model = MLP(SIZES[0], SIZES[1:], activation="relu", output_activation="linear", dtype=dtype)
    model.load_state_dict({f"layers.{i}.{k}": v for i, (W, b) in enumerate(weights(dtype))
                           for k, v in (("W", W), ("b", b))})
    X, y = batch(n, dtype)
    opt = SGD(model.parameters(), lr=LR)
    recorded = cross_entropy(model(X), y)
    first, tape = recorded.item(), Tape(recorded) if replay else None

    def step() -> float:
        opt.zero_grad()
        if replay:
            loss = tape.forward()
            tape.backward()
        else:
            loss = cross_entropy(model(X), y)
            loss.backward()
        opt.step()
        return loss.item()
    return step, first


def numpy_step(dtype: str, n: int) -> Tuple[Callable[[], float], float]:
    """Forward and backward written by hand: what an ideal numpy engine would execute."""
    params = [[W.copy(), b.copy()] for W, b in weights(dtype)]
    X, y = batch(n, dtype)
    rows = np.arange(n)

    def step(update: bool = True) -> float:
        acts, h = [X], X
        for i, (W, b) in enumerate(params):
            h = h @ W.T + b
            if i < len(params) - 1:
                h = np.maximum(h, 0)
            acts.append(h)
        z = h - h.max(axis=1, keepdims=True)
        logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
        loss = -logp[rows, y].mean()
        if not update:
            return float(loss)
        g = np.exp(logp)
        g[rows, y] -= 1
        g /= n
        for i in range(len(params) - 1, -1, -1):
            W, b = params[i]
            gW, gb = np.dot(g.T, acts[i]), g.sum(axis=0)  # np.dot: @ skips BLAS at batch 1
            if i:
                g = (g @ W) * (acts[i] > 0)
            W -= LR * gW
            b -= LR * gb
        return float(loss)
    return step, step(update=False)


def torch_step(dtype: str, n: int) -> Tuple[Callable[[], float], float]:
    import torch
    torch.set_num_threads(os.cpu_count() or 1)
    tdtype = getattr(torch, dtype)
    layers = []
    for i, (W, b) in enumerate(weights(dtype)):
        lin = torch.nn.Linear(W.shape[1], W.shape[0]).to(tdtype)
        with torch.no_grad():
            lin.weight.copy_(torch.from_numpy(W))
            lin.bias.copy_(torch.from_numpy(b))
        layers += [lin] + ([torch.nn.ReLU()] if i < len(SIZES) - 2 else [])
    model = torch.nn.Sequential(*layers)
    X, y = (torch.from_numpy(a) for a in batch(n, dtype))
    opt = torch.optim.SGD(model.parameters(), lr=LR)
    with torch.no_grad():
        first = torch.nn.functional.cross_entropy(model(X), y).item()

    def step() -> float:
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(X), y)
        loss.backward()
        opt.step()
        return loss.item()
    return step, first


def autograd_step(dtype: str, n: int) -> Tuple[Callable[[], float], float]:
    """HIPS autograd differentiating the numpy forward pass, parameters as a list of (W, b) as in
    its own examples; value_and_grad returns the loss with the gradients in one trace. Fails if
    the loss or the parameter gradients leave `dtype`."""
    import autograd.numpy as anp
    from autograd import value_and_grad
    params = [(W.copy(), b.copy()) for W, b in weights(dtype)]
    X, y = batch(n, dtype)
    rows = np.arange(n)

    def loss_fn(params: List[Tuple[np.ndarray, np.ndarray]]) -> Any:
        h = X
        for i, (W, b) in enumerate(params):
            h = anp.dot(h, W.T) + b
            if i < len(params) - 1:
                h = anp.maximum(h, 0)
        z = h - anp.max(h, axis=1, keepdims=True)
        logp = z - anp.log(anp.sum(anp.exp(z), axis=1, keepdims=True))
        return -anp.mean(logp[rows, y])
    loss_and_grad = value_and_grad(loss_fn)
    first, grads = loss_and_grad(params)
    computed = {np.asarray(a).dtype.name for a in [first, *(g for pair in grads for g in pair)]}
    if computed != {dtype}:
        raise TypeError(f"autograd computed the {dtype} step in {sorted(computed)}")

    def step() -> float:
        loss, grads = loss_and_grad(params)
        for (W, b), (gW, gb) in zip(params, grads):
            W -= LR * gW
            b -= LR * gb
        return float(loss)
    return step, float(first)


ENGINES: Dict[str, Callable[[str, int], Tuple[Callable[[], float], float]]] = {
    "tinygrad_nn": tinygrad_step, "tinygrad_nn-replay": partial(tinygrad_step, replay=True),
    "numpy": numpy_step, "torch": torch_step, "autograd": autograd_step}
PEERS = {"numpy": "numpy by hand", "torch": "torch eager", "autograd": "autograd"}


def measure(engine: str, steps: int) -> Dict[str, Any]:
    """Time `steps` training steps (after 3 warm-up steps) for every batch size and dtype."""
    results = {}
    for dtype in DTYPES:
        for n in BATCHES:
            step, first = ENGINES[engine](dtype, n)
            samples = timings(step, steps, warmup=3)
            results[f"{dtype}/{n}"] = {"first_loss": first, "samples": samples}
    return {"engine": engine, "results": results}


def run_rounds(rounds: int, steps: int) -> Dict[str, Any]:
    """Run every engine `rounds` times, taking turns (a fresh process each time), and pool each
    engine's samples: a slow spell of a shared machine then hits every engine alike."""
    runs: Dict[str, Any] = {}
    for _, engine, run in take_turns("benchmarks.tensor", ENGINES, rounds, "--steps", str(steps)):
        pooled = runs.setdefault(engine, {"engine": engine, "results": {}})["results"]
        for key, r in run["results"].items():
            pooled.setdefault(key, {"first_loss": r["first_loss"], "samples": []})["samples"] += r["samples"]
    for run in runs.values():
        for key, r in run["results"].items():
            run["results"][key] = {"first_loss": r["first_loss"], **summarize(r.pop("samples"))}
    return runs


def ratio(time: float, peer_time: Optional[float]) -> str:
    return f"{time / peer_time:.2f}" if peer_time else "n/a"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--engine", choices=sorted(ENGINES))
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--rounds", type=int, default=3, help="turns each engine takes")
    parser.add_argument("--quick", action="store_true", help="10 steps, one round")
    args = parser.parse_args()
    steps = 10 if args.quick else args.steps
    if args.engine:
        print(json.dumps(measure(args.engine, steps)))
        return
    runs = run_rounds(1 if args.quick else args.rounds, steps)
    mine = runs["tinygrad_nn"]["results"]
    rows = []
    for key, r in mine.items():
        for engine, run in runs.items():
            theirs = run["results"][key]
            if abs(theirs["first_loss"] - r["first_loss"]) > 1e-4 * abs(r["first_loss"]):
                raise SystemExit(f"{engine} and tinygrad_nn disagree at step 0 ({key}): "
                                 f"{theirs['first_loss']} vs {r['first_loss']}")
        median = {engine: run["results"][key]["median"] for engine, run in runs.items()}
        replayed = median["tinygrad_nn-replay"]
        dtype, n = key.split("/")
        row = [f"{dtype}, batch {n}", fmt_seconds(r["median"]), fmt_seconds(replayed),
               ratio(replayed, median.get("numpy"))]
        for peer in PEERS:
            row += [fmt_seconds(median.get(peer)), ratio(r["median"], median.get(peer))]
        rows.append(row + [fmt_seconds(r["median"] * 60000 / int(n))])
    header = ["MLP 784-128-64-10 step", "tinygrad_nn", "tinygrad_nn, Tape replay", "replay / numpy"]
    for peer, name in PEERS.items():
        header += [name, f"tinygrad_nn / {peer}"]
    table = markdown_table(header + ["tinygrad_nn epoch of 60k"], rows)
    if "autograd" in runs:
        table += ("\n\nautograd, float32 rows: the loss and parameter gradients are float32, but "
                  "part of its backward pass runs in float64 (its mean, max and ReLU backward "
                  "rules upcast under numpy 2 type promotion).")
    write_results("tensor", {"runs": runs}, table)


if __name__ == "__main__":
    main()
