"""Convolution benchmark: Conv2d(1→32, 3×3) + ReLU + MaxPool2d(2) on a batch of 64 MNIST-shaped
images (64×1×28×28), and the same in 1-D (Conv1d(1→32, k=3) + ReLU + MaxPool1d(2) on 64×1×784):
forward, a sum loss and backward (the input needs no gradient, the weight and bias do), in
float32 and float64, tinygrad_nn against PyTorch CPU eager.

Both run single-threaded (OPENBLAS_NUM_THREADS=1 is set for the workers, torch.set_num_threads(1))
so that the ratio compares the implementations, not the thread pools. The two engines take turns
over three rounds (a fresh process each time) and each engine's samples are pooled, so that a
slow spell of a shared machine falls on both. Both start from the same weights and must give
the same loss and weight gradient before timing.

    python -m benchmarks.conv            # three rounds, results/conv.{json,md}
    python -m benchmarks.conv --quick    # one round, 5 steps
"""

from __future__ import annotations

import argparse
import json
import os
from typing import Any, Callable, Dict, Tuple

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # before numpy loads BLAS

import numpy as np  # noqa: E402

from benchmarks.common import fmt_seconds, markdown_table, summarize, take_turns, timings, write_results  # noqa: E402

CASES = {"2d": ((64, 1, 28, 28), (32, 1, 3, 3)), "1d": ((64, 1, 784), (32, 1, 3))}
DTYPES = ["float32", "float64"]
ENGINES = ["tinygrad_nn", "torch"]


def data(case: str, dtype: str) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The batch and shared starting weights (torch's default init range)."""
    x_shape, w_shape = CASES[case]
    rng = np.random.default_rng(0)
    bound = 1 / np.sqrt(np.prod(w_shape[1:]))
    return (rng.random(x_shape).astype(dtype), rng.uniform(-bound, bound, w_shape).astype(dtype),
            rng.uniform(-bound, bound, w_shape[:1]).astype(dtype))


def tinygrad_step(case: str, dtype: str) -> Callable[[], Tuple[float, np.ndarray]]:
    from tinygrad_nn import nn
    from tinygrad_nn.nn import functional as F
    x, w, b = data(case, dtype)
    conv = (nn.Conv2d if case == "2d" else nn.Conv1d)(1, 32, 3, dtype=dtype)
    conv.load_state_dict({"weight": w, "bias": b})
    pool = F.max_pool2d if case == "2d" else F.max_pool1d

    def step() -> Tuple[float, np.ndarray]:
        conv.zero_grad()
        loss = pool(conv(x).relu(), 2).sum()
        loss.backward()
        return loss.item(), conv.weight.grad
    return step


def torch_step(case: str, dtype: str) -> Callable[[], Tuple[float, np.ndarray]]:
    import torch
    torch.set_num_threads(1)
    x, w, b = (torch.from_numpy(a) for a in data(case, dtype))
    conv = (torch.nn.Conv2d if case == "2d" else torch.nn.Conv1d)(1, 32, 3).to(getattr(torch, dtype))
    conv.load_state_dict({"weight": w, "bias": b})
    pool = torch.nn.functional.max_pool2d if case == "2d" else torch.nn.functional.max_pool1d

    def step() -> Tuple[float, np.ndarray]:
        conv.zero_grad()
        loss = pool(torch.relu(conv(x)), 2).sum()
        loss.backward()
        grad = conv.weight.grad
        assert grad is not None
        return loss.item(), grad.numpy()
    return step


STEPS: Dict[str, Callable[[str, str], Callable[[], Tuple[float, np.ndarray]]]] = {
    "tinygrad_nn": tinygrad_step, "torch": torch_step}


def measure(engine: str, steps: int) -> Dict[str, Any]:
    """Time `steps` steps (after 3 warm-up steps) of every case and dtype."""
    results = {}
    for case in CASES:
        for dtype in DTYPES:
            step = STEPS[engine](case, dtype)
            loss, grad = step()
            samples = timings(step, steps, warmup=2)
            results[f"{case}/{dtype}"] = {"loss": loss, "grad_sum": float(np.abs(grad).sum()),
                                         "samples": samples}
    return {"engine": engine, "results": results}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--engine", choices=ENGINES)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--quick", action="store_true", help="5 steps, one round")
    args = parser.parse_args()
    steps = 5 if args.quick else args.steps
    if args.engine:
        print(json.dumps(measure(args.engine, steps)))
        return
    runs: Dict[str, Dict[str, Any]] = {}
    for _, engine, run in take_turns("benchmarks.conv", ENGINES, 1 if args.quick else args.rounds,
                                     "--steps", str(steps)):
        pooled = runs.setdefault(engine, {})
        for key, r in run["results"].items():
            pooled.setdefault(key, {**r, "samples": []})["samples"] += r["samples"]
    rows = []
    mine = runs["tinygrad_nn"]
    for key, r in mine.items():
        case, dtype = key.split("/")
        row = [f"{case}, {dtype}", fmt_seconds(summarize(r["samples"])["median"])]
        if "torch" in runs:
            theirs = runs["torch"][key]
            tol = 1e-4 if dtype == "float32" else 1e-10
            for name in ("loss", "grad_sum"):
                if abs(theirs[name] - r[name]) > tol * abs(r[name]):
                    raise SystemExit(f"torch and tinygrad_nn disagree ({key}, {name}): "
                                     f"{theirs[name]} vs {r[name]}")
            ours, peer = summarize(r["samples"])["median"], summarize(theirs["samples"])["median"]
            row += [fmt_seconds(peer), f"{ours / peer:.2f}"]
        rows.append(row)
    for pooled_run in runs.values():
        for r in pooled_run.values():
            r.update(summarize(r.pop("samples")))
    header = ["conv + ReLU + max pool, batch 64, fwd + bwd", "tinygrad_nn", "torch (1 thread)",
              "tinygrad_nn / torch"]
    table = markdown_table(header, rows) + (
        "\n\n2d: Conv2d(1→32, 3×3) + ReLU + MaxPool2d(2) on 64×1×28×28; 1d: Conv1d(1→32, 3) + "
        "ReLU + MaxPool1d(2) on 64×1×784; loss = sum. OPENBLAS_NUM_THREADS=1, "
        "torch.set_num_threads(1).")
    write_results("conv", {"runs": runs}, table)


if __name__ == "__main__":
    main()
