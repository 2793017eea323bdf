"""Per-op overhead: the cost of one tiny op and its backward, where the arithmetic is free and
only the engine's bookkeeping is left. Adds of two 1-element arrays and of two scalars, each
followed by backward, beside numpy's own call cost (np.add on the same arrays, forward only)
and PyTorch's (add + backward on 1-element tensors).

Three forms: one add with its own backward (a backward call has a fixed cost of its own: the
graph walk, the seed); the same with a sum before backward (as PyTorch users write it); and
the cost per add in a chain of CHAIN adds with one backward at the end, which is what each
further op of a real graph costs.

    python -m benchmarks.overhead
"""

from __future__ import annotations

import argparse
import timeit
from typing import Any, Callable, Dict, Tuple

import numpy as np

from benchmarks.common import fmt_seconds, markdown_table, summarize, write_results
from tinygrad_nn import Value


def per_call(fn: Callable[[], object], number: int, repeats: int) -> Dict[str, float]:
    """Seconds per call: the median (and min, max) of `repeats` timeit runs of `number` calls."""
    return summarize([t / number for t in timeit.repeat(fn, number=number, repeat=repeats)])


CHAIN = 100


def chain(a: Any, b: Any) -> Any:
    """CHAIN adds, a + b + b + ..., with one backward at the end."""
    y = a
    for _ in range(CHAIN):
        y = y + b
    y.backward()


def cases() -> Dict[str, Tuple[Callable[[], object], int]]:
    """Each case, with how many ops one call of it makes (to report the cost per op)."""
    a, b = Value(np.ones(1)), Value(np.ones(1))
    s, t = Value(1.0), Value(2.0)
    x, y = np.ones(1), np.ones(1)
    found = {
        "tinygrad_nn: array add + its backward": (lambda: (a + b).backward(), 1),
        "tinygrad_nn: array add + sum + backward": (lambda: (a + b).sum().backward(), 1),
        f"tinygrad_nn: array add, per op of a {CHAIN}-add chain + backward": (lambda: chain(a, b), CHAIN),
        "tinygrad_nn: array add (forward only)": (lambda: a + b, 1),
        "tinygrad_nn: scalar add + its backward": (lambda: (s + t).backward(), 1),
        f"tinygrad_nn: scalar add, per op of a {CHAIN}-add chain + backward": (lambda: chain(s, t), CHAIN),
        "tinygrad_nn: scalar add (forward only)": (lambda: s + t, 1),
        "numpy: np.add of 1-element arrays": (lambda: np.add(x, y), 1),
    }
    try:
        import torch
        torch.set_num_threads(1)
        p, q = torch.ones(1, requires_grad=True), torch.ones(1, requires_grad=True)
        found["torch: add + its backward"] = (lambda: (p + q).backward(), 1)
        found["torch: add + sum + backward"] = (lambda: (p + q).sum().backward(), 1)
        found[f"torch: add, per op of a {CHAIN}-add chain + backward"] = (lambda: chain(p, q), CHAIN)
        found["torch: add (forward only)"] = (lambda: p + q, 1)
    except ImportError:
        print("torch not installed (pip install torch==2.13.0): skipped")
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--number", type=int, default=20000)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    times = {name: {k: v / ops if k != "repeats" else v
                    for k, v in per_call(fn, max(1, args.number // ops), args.repeats).items()}
             for name, (fn, ops) in cases().items()}
    rows = [[name, fmt_seconds(r["median"]), f"{fmt_seconds(r['min'])}–{fmt_seconds(r['max'])}"]
            for name, r in times.items()]
    table = markdown_table(["tiny op", "per call (median)", "min–max"], rows)
    write_results("overhead", {"times": times}, table)


if __name__ == "__main__":
    main()
