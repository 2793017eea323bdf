"""Scalar engine benchmark: micrograd's moons demo training step, and a 10**6-node chain.

The same model code (`ScalarMLP`, written micrograd style: lists of scalar Values) runs with
micrograd's `Value` and with tinygrad_nn's, each in a fresh interpreter, with the garbage
collector on as users run it. Both must compute the same loss at step 0 from the same weights.
The engines take turns over three rounds (2 micrograd steps, 5 tinygrad_nn steps each) and
their timings are pooled. A third run, "tinygrad_nn-replay", records the graph once with a
`Tape` and replays it each step, as a fixed-batch training loop can.

    python -m benchmarks.scalar            # both engines, ratio table
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import sys
import time
from typing import Any, Dict, List

from benchmarks.common import fmt_seconds, markdown_table, run_in_subprocess, summarize, write_results

PHASES = ("forward", "backward", "step")
REPLAY = "tinygrad_nn-replay"


def engine_value(engine: str) -> Any:
    if engine == "micrograd":
        from micrograd.engine import Value
    else:
        from tinygrad_nn import Value
    return Value


class ScalarMLP:
    """micrograd's MLP: neurons are lists of scalar weights; ReLU on every layer but the last."""

    def __init__(self, Value: Any, nin: int, nouts: List[int], seed: int = 1337):
        rnd = random.Random(seed)
        sizes = [nin] + nouts
        self.layers = [[([Value(rnd.uniform(-1, 1)) for _ in range(fan_in)], Value(0.0))
                        for _ in range(fan_out)] for fan_in, fan_out in zip(sizes, sizes[1:])]

    def __call__(self, x: list) -> Any:
        for depth, layer in enumerate(self.layers):
            last = depth == len(self.layers) - 1
            acts = [sum((wi * xi for wi, xi in zip(w, x)), b) for w, b in layer]
            x = acts if last else [a.relu() for a in acts]
        return x[0]

    def parameters(self) -> list:
        return [p for layer in self.layers for w, b in layer for p in w + [b]]


def moons_data(n: int = 100) -> tuple:
    from tinygrad_nn.data import moons
    X, y = moons(n, noise=0.1, seed=1)
    return X.tolist(), [2.0 * label - 1.0 for label in y.tolist()]  # labels -1 / +1 for the SVM loss


def moons_loss(Value: Any, model: ScalarMLP, X: list, y: list) -> Any:
    """micrograd's demo loss: SVM max-margin loss over the points, plus L2 on the weights."""
    inputs = [[Value(a) for a in row] for row in X]
    scores = [model(x) for x in inputs]
    margins = [(1 + -yi * si).relu() for yi, si in zip(y, scores)]
    data_loss = sum(margins) * (1.0 / len(margins))
    reg_loss = 1e-4 * sum(p * p for p in model.parameters())
    return data_loss + reg_loss


def train_steps(engine: str, steps: int) -> Dict[str, Any]:
    """Run `steps` SGD steps of micrograd's demo, timing each phase. The engine
    "tinygrad_nn-replay" builds the graph once, untimed, and then replays it with a Tape (the
    batch is the same at every step, so the graph is too)."""
    Value = engine_value(engine)
    model = ScalarMLP(Value, 2, [16, 16, 1])
    X, y = moons_data()
    tape = None
    if engine == REPLAY:
        from tinygrad_nn import Tape
        tape = Tape(moons_loss(Value, model, X, y))
    forward, backward, whole, losses = [], [], [], []
    for k in range(steps):
        t0 = time.perf_counter()
        loss = tape.forward() if tape else moons_loss(Value, model, X, y)
        t1 = time.perf_counter()
        for p in model.parameters():
            p.grad = 0.0
        if tape:
            tape.backward()
        else:
            loss.backward()
        t2 = time.perf_counter()
        lr = 1.0 - 0.9 * k / 100
        for p in model.parameters():
            p.data -= lr * p.grad
        t3 = time.perf_counter()
        forward.append(t1 - t0)
        backward.append(t2 - t1)
        whole.append(t3 - t0)
        losses.append(loss.data)
    return {"engine": engine, "forward": forward, "backward": backward, "step": whole,
            "losses": losses}


def chain(engine: str, depth: int) -> Dict[str, Any]:
    """Build y = ((x * c) + c) * c ... with `depth` ops, then backward; time and peak memory."""
    Value = engine_value(engine)
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    x = Value(0.5)
    t0 = time.perf_counter()
    y = x
    for k in range(depth // 2):
        y = y * 1.0000001 + 1e-9
    t1 = time.perf_counter()
    try:
        y.backward()
        error = None
    except RecursionError as e:
        error = f"RecursionError: {e}"
    t2 = time.perf_counter()
    peak_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss0) / 1024
    return {"engine": engine, "depth": depth, "build": t1 - t0, "backward": t2 - t1,
            "peak_mb": peak_mb, "error": error, "grad": x.grad if error is None else None}


def run_rounds(steps: Dict[str, int], rounds: int) -> Dict[str, Any]:
    """Both engines take turns, `rounds` times, each in a fresh process; each engine's timings
    are pooled, so that a slow spell of a shared machine falls on both alike."""
    runs: Dict[str, Any] = {}
    for _ in range(rounds):
        for engine, n in steps.items():
            if engine in runs and runs[engine] is None:
                continue
            try:
                run = run_in_subprocess("benchmarks.scalar", "--engine", engine, "--steps", str(n))
            except RuntimeError as e:
                if "No module named 'micrograd'" in str(e):
                    print("micrograd not installed (pip install micrograd): skipped", file=sys.stderr)
                    runs[engine] = None
                    continue
                raise
            pooled = runs.setdefault(engine, {"engine": engine, "losses": run["losses"]})
            for phase in PHASES:
                pooled.setdefault(phase, []).extend(run[phase])
    runs = {engine: run for engine, run in runs.items() if run is not None}
    for run in runs.values():
        for phase in PHASES:
            run[phase] = summarize(run[phase])
    return runs


def compare(steps: Dict[str, int], rounds: int, depth: int) -> None:
    """Run both engines in their own processes and write the ratio table."""
    runs = run_rounds(steps, rounds)
    mine = runs["tinygrad_nn"]
    rows, data = [], {"runs": runs}
    peer = runs.get("micrograd")
    for name, run in runs.items():
        if abs(run["losses"][0] - mine["losses"][0]) > 1e-9 * abs(mine["losses"][0]):
            raise SystemExit(f"the engines disagree at step 0: {name} loss {run['losses'][0]} "
                             f"vs tinygrad_nn {mine['losses'][0]}")
    data["loss_step0"] = mine["losses"][0]
    for engine in ("tinygrad_nn", REPLAY):
        ours = runs[engine]
        for phase in PHASES:
            m = ours[phase]["median"]
            p = peer[phase]["median"] if peer else None
            what = "" if engine == "tinygrad_nn" else ", Tape replay"
            rows.append([f"moons MLP 2-16-16-1, 100 points{what}: {phase}", fmt_seconds(p),
                         fmt_seconds(m), f"{p / m:.1f}x" if p else "n/a",
                         f"{ours[phase]['min'] * 1e3:.0f}–{ours[phase]['max'] * 1e3:.0f} ms"])
    chains = {e: run_in_subprocess("benchmarks.scalar", "--engine", e, "--chain", str(d))
              for e, d in [("tinygrad_nn", depth)] + ([("micrograd", 2000)] if peer else [])}
    data["chain"] = chains
    c = chains["tinygrad_nn"]
    peer_chain = chains.get("micrograd")
    rows.append([f"chain of {depth:,} nodes: build + backward",
                 "fails at depth 2,000: RecursionError" if peer_chain and peer_chain["error"] else "n/a",
                 f"{fmt_seconds(c['build'] + c['backward'])} ({c['peak_mb']:.0f} MB peak)", "", ""])
    table = markdown_table(["benchmark", "micrograd (median)", "tinygrad_nn (median)",
                            "speed-up", "tinygrad_nn min–max"], rows)
    data["speedup_step"] = {e: peer["step"]["median"] / runs[e]["step"]["median"] if peer else None
                            for e in ("tinygrad_nn", REPLAY)}
    write_results("scalar", data, table)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--engine", choices=["micrograd", "tinygrad_nn", REPLAY])
    parser.add_argument("--steps", type=int, default=0, help="training steps to time (worker mode)")
    parser.add_argument("--chain", type=int, default=0, help="chain depth to time (worker mode)")
    parser.add_argument("--json", action="store_true", help="worker mode: print the result as JSON")
    parser.add_argument("--quick", action="store_true", help="fewer repeats, smaller chain")
    args = parser.parse_args()
    if args.engine:
        result = chain(args.engine, args.chain) if args.chain else train_steps(args.engine, args.steps)
        print(json.dumps(result))
        return
    quick = args.quick
    compare({"micrograd": 2, "tinygrad_nn": 3 if quick else 5, REPLAY: 3 if quick else 5},
            1 if quick else 3,
            10**5 if quick else 10**6)


if __name__ == "__main__":
    main()
