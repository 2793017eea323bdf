"""Per-op overhead: the cost of one tiny op and its backward, where the arithmetic is free and
only the engine's bookkeeping is left. Adds of two 1-element arrays and of two scalars, each
followed by backward, beside numpy's own call cost (np.add on the same arrays, forward only)
and PyTorch's (add + backward on 1-element tensors).

    python -m benchmarks.overhead
"""

from __future__ import annotations

import argparse
import timeit
from typing import Callable, Dict

import numpy as np

from benchmarks.common import fmt_seconds, markdown_table, summarize, write_results
from tinygrad_nn import Value


def per_call(fn: Callable[[], object], number: int, repeats: int) -> Dict[str, float]:
    """Seconds per call: the median (and min, max) of `repeats` timeit runs of `number` calls."""
    return summarize([t / number for t in timeit.repeat(fn, number=number, repeat=repeats)])


def cases() -> Dict[str, Callable[[], object]]:
    a, b = Value(np.ones(1)), Value(np.ones(1))
    s, t = Value(1.0), Value(2.0)
    x, y = np.ones(1), np.ones(1)
    found = {
        "tinygrad_nn: array add + backward": lambda: (a + b).sum().backward(),
        "tinygrad_nn: array add (forward only)": lambda: a + b,
        "tinygrad_nn: scalar add + backward": lambda: (s + t).backward(),
        "tinygrad_nn: scalar add (forward only)": lambda: s + t,
        "numpy: np.add of 1-element arrays": lambda: np.add(x, y),
    }
    try:
        import torch
        torch.set_num_threads(1)
        p, q = torch.ones(1, requires_grad=True), torch.ones(1, requires_grad=True)
        found["torch: add + backward"] = lambda: (p + q).sum().backward()
        found["torch: add (forward only)"] = lambda: p + q
    except ImportError:
        print("torch not installed (pip install torch==2.13.0): skipped")
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--number", type=int, default=20000)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    times = {name: per_call(fn, args.number, args.repeats) for name, fn in cases().items()}
    rows = [[name, fmt_seconds(r["median"]), f"{fmt_seconds(r['min'])}–{fmt_seconds(r['max'])}"]
            for name, r in times.items()]
    table = markdown_table(["tiny op", "per call (median)", "min–max"], rows)
    write_results("overhead", {"times": times}, table)


if __name__ == "__main__":
    main()
