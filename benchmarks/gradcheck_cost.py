"""The cost of checking gradients: tinygrad_nn's check_gradients (full and fast) beside
torch.autograd.gradcheck (full and fast_mode=True) on the same small MLP, same weights, float64.

    python -m benchmarks.gradcheck_cost
"""

from __future__ import annotations

import argparse
from typing import Any, Callable, Dict

import numpy as np

from benchmarks.common import fmt_seconds, markdown_table, repeat, write_results
from tinygrad_nn.gradcheck import check_gradients
from tinygrad_nn.losses import cross_entropy
from tinygrad_nn.nn import MLP

SIZES = (8, [16, 16, 3])  # 8-16-16-3 tanh: 451 parameters
BATCH = 16


def problem() -> tuple:
    rng = np.random.default_rng(0)
    return (MLP(SIZES[0], SIZES[1], activation="tanh", output_activation="linear", seed=0),
            rng.normal(size=(BATCH, SIZES[0])), rng.integers(0, SIZES[1][-1], size=BATCH))


def torch_check(model: MLP, X: np.ndarray, y: np.ndarray) -> Callable[[bool], bool]:
    """torch.autograd.gradcheck of the same loss as a function of every parameter."""
    import torch
    torch.set_num_threads(1)
    params = [torch.tensor(p.data, dtype=torch.float64, requires_grad=True) for p in model.parameters()]
    Xt, yt = torch.tensor(X), torch.tensor(y)

    def loss(*ps: Any) -> Any:
        h = Xt
        for i in range(0, len(ps), 2):
            h = h @ ps[i].T + ps[i + 1]
            if i + 2 < len(ps):
                h = torch.tanh(h)
        return torch.nn.functional.cross_entropy(h, yt)

    ours = cross_entropy(model(X), y).item()
    theirs = loss(*params).item()
    if abs(ours - theirs) > 1e-12 * abs(ours):
        raise SystemExit(f"the two losses differ before checking: {ours} vs {theirs}")
    return lambda fast: torch.autograd.gradcheck(loss, params, fast_mode=fast)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    model, X, y = problem()
    runs: Dict[str, Any] = {
        "tinygrad_nn full": lambda: check_gradients(model, cross_entropy, X, y),
        "tinygrad_nn fast": lambda: check_gradients(model, cross_entropy, X, y, fast=True, seed=0),
    }
    try:
        check = torch_check(model, X, y)
        runs["torch full"] = lambda: check(False)
        runs["torch fast_mode"] = lambda: check(True)
    except ImportError:
        print("torch not installed (pip install torch==2.13.0): skipped")
    times = {name: repeat(fn, args.repeats) for name, fn in runs.items()}
    rows = []
    for mode in ("full", "fast"):
        mine = times[f"tinygrad_nn {mode}"]
        peer = times.get("torch full" if mode == "full" else "torch fast_mode")
        rows.append([f"MLP 8-16-16-3 (451 parameters), batch 16: {mode}",
                     fmt_seconds(peer["median"]) if peer else "skipped", fmt_seconds(mine["median"]),
                     f"{peer['median'] / mine['median']:.1f}x" if peer else "n/a"])
    table = markdown_table(["gradient check", "torch.autograd.gradcheck (median)",
                            "tinygrad_nn check_gradients (median)", "torch / tinygrad_nn"], rows)
    write_results("gradcheck", {"times": times}, table)


if __name__ == "__main__":
    main()
