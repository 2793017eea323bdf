"""Joining many pieces: the backward of `stack` and `concatenate` over n scalars, against
PyTorch's `torch.stack`/`torch.cat` on the same numbers and against a Python-loop sum of the
same Values (the cheapest graph over n scalars). One VJP call per join computes every piece's
share, so the time grows linearly in n; before, one call per piece scanned all n inputs.

The gradients are checked to agree with PyTorch's before anything is timed.

    python -m benchmarks.joins [--sizes 1000 4000 16000] [--repeats 3]
"""

from __future__ import annotations

import argparse
from typing import Any, Callable, Dict, List

import numpy as np

from benchmarks.common import fmt_seconds, markdown_table, repeat, write_results
import tinygrad_nn as tg


def ours(kind: str, n: int) -> Callable[[], np.ndarray]:
    """Build the join of n fresh scalars, weight it and back-propagate; the pieces' gradients."""
    weights = np.arange(n) % 7 - 3.0

    def run() -> np.ndarray:
        xs = [tg.Value(float(i)) for i in range(n)]
        if kind == "stack":
            joined = tg.stack(xs)
        elif kind == "concatenate":
            joined = tg.concatenate([x.reshape(1) for x in xs])
        else:  # a Python-loop sum of the weighted pieces: the baseline graph
            joined = sum((x * w for x, w in zip(xs, weights)), tg.Value(0.0))
            joined.backward()
            return np.array([x.grad for x in xs])
        (joined * weights).sum().backward()
        return np.array([x.grad for x in xs])
    return run


def theirs(kind: str, n: int) -> Callable[[], np.ndarray]:
    import torch
    weights = torch.tensor(np.arange(n) % 7 - 3.0)

    def run() -> np.ndarray:
        xs = [torch.tensor(float(i), dtype=torch.float64, requires_grad=True) for i in range(n)]
        joined = torch.stack(xs) if kind == "stack" else torch.cat([x.reshape(1) for x in xs])
        (joined * weights).sum().backward()
        return torch.stack([x.grad for x in xs if x.grad is not None]).numpy()
    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 4000, 16000])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="sizes 500 and 2000, 2 repeats")
    args = parser.parse_args()
    sizes, repeats = ([500, 2000], 2) if args.quick else (args.sizes, args.repeats)
    try:
        import torch
        torch.set_num_threads(1)
        have_torch = True
    except ImportError:
        print("torch not installed (pip install torch==2.13.0): its column is skipped")
        have_torch = False
    results: Dict[str, Any] = {}
    rows: List[List[str]] = []
    for n in sizes:
        loop = repeat(ours("loop", n), repeats)["median"]
        for kind in ("stack", "concatenate"):
            mine = ours(kind, n)
            if have_torch:
                peer = theirs(kind, n)
                np.testing.assert_allclose(mine(), peer(), rtol=1e-15)
            ours_s = repeat(mine, repeats)["median"]
            torch_s = repeat(theirs(kind, n), repeats)["median"] if have_torch else None
            results[f"{kind}/{n}"] = {"tinygrad_nn": ours_s, "torch": torch_s, "python_sum": loop}
            rows.append([f"{kind} of {n} scalars, build + backward", fmt_seconds(ours_s),
                         fmt_seconds(torch_s), f"{ours_s / torch_s:.2f}" if torch_s else "-",
                         fmt_seconds(loop)])
    table = markdown_table(["case", "tinygrad_nn", "torch (1 thread)", "tinygrad_nn / torch",
                            "tinygrad_nn: Python-loop sum of the same"], rows)
    write_results("joins", {"sizes": sizes, "repeats": repeats, "results": results}, table)


if __name__ == "__main__":
    main()
