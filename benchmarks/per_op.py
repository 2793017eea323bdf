"""Per-op cost: forward + backward of single ops on float32 arrays, beside PyTorch on the CPU.

Each op gets fresh leaves of a fixed size (256 x 256 for elementwise ops, reductions and shape
ops; a batch of 32 matrices 64 x 64 for einsum 'bij,bjk->bik'), then one timed call is the op
and a backward with a precomputed seed of ones (no sum node in between), in each library. Both
run on one thread: ``torch.set_num_threads(1)``, and OpenBLAS at one thread for numpy
(OPENBLAS_NUM_THREADS=1, set here before numpy is imported unless already set). The two
libraries take turns, sample after sample, so that a slow spell of the machine hits both; the
table gives the medians and the ratio tinygrad_nn / torch (below 1: tinygrad_nn is faster).
Before timing, the forward values of both must agree (float32: rtol 1e-4).

Without torch, tinygrad_nn is timed alone.

    python -m benchmarks.per_op                 # the default ops
    python -m benchmarks.per_op --quick         # a smoke run, under 30 seconds
    python -m benchmarks.per_op --ops sin einsum
"""

from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")  # before numpy is imported: BLAS reads it once

import argparse  # noqa: E402
import time  # noqa: E402
from typing import Any, Callable, Dict, List, Optional  # noqa: E402

import numpy as np  # noqa: E402

import tinygrad_nn as tg  # noqa: E402
from benchmarks.common import fmt_seconds, markdown_table, summarize, write_results  # noqa: E402

SIDE = 256
BATCH, MATRIX = 32, 64
RTOL = 1e-4


def _unary(name: str, torch_fn: Callable[[Any, Any], Any]) -> dict:
    return {"shapes": [(SIDE, SIDE)], "ours": lambda x: getattr(tg, name)(x), "torch": torch_fn}


def _activation(name: str) -> dict:
    """An op of torch.nn.functional under the same name."""
    return _unary(name, lambda torch, t: getattr(torch.nn.functional, name)(t))


# name -> the shapes of its inputs, and how each library applies it
CASES: Dict[str, dict] = {
    **{name: _unary(name, lambda torch, t, name=name: getattr(torch, name)(t))
       for name in ("exp", "tanh", "sin", "cos", "sinh", "arctan", "asinh", "expm1", "square",
                    "erf")},
    **{name: _activation(name) for name in ("gelu", "silu", "elu", "mish", "softsign",
                                            "logsigmoid", "hardswish")},
    "maximum": {"shapes": [(SIDE, SIDE), (SIDE, SIDE)], "ours": lambda a, b: tg.maximum(a, b),
                "torch": lambda torch, a, b: torch.maximum(a, b)},
    "einsum bij,bjk->bik": {
        "shapes": [(BATCH, MATRIX, MATRIX), (BATCH, MATRIX, MATRIX)],
        "ours": lambda a, b: tg.einsum("bij,bjk->bik", a, b),
        "torch": lambda torch, a, b: torch.einsum("bij,bjk->bik", a, b)},
    "sum(axis=-1)": {"shapes": [(SIDE, SIDE)], "ours": lambda x: x.sum(axis=-1),
                     "torch": lambda torch, t: t.sum(dim=-1)},
    "var(axis=-1)": {"shapes": [(SIDE, SIDE)], "ours": lambda x: x.var(axis=-1),
                     "torch": lambda torch, t: t.var(dim=-1, correction=0)},
    "logsumexp(axis=-1)": {"shapes": [(SIDE, SIDE)], "ours": lambda x: x.logsumexp(axis=-1),
                           "torch": lambda torch, t: torch.logsumexp(t, dim=-1)},
    "transpose": {"shapes": [(SIDE, SIDE)], "ours": lambda x: x.transpose(),
                  "torch": lambda torch, t: t.T},
}
DEFAULT = list(CASES)


def _inputs(shapes: List[tuple]) -> List[np.ndarray]:
    rng = np.random.default_rng(0)
    # in (-2, 2), away from 0 (where maximum's operands would tie, relu-like ops bend)
    return [(rng.uniform(0.1, 2.0, s) * rng.choice([-1.0, 1.0], s)).astype(np.float32)
            for s in shapes]


def ours_step(case: dict, datas: List[np.ndarray]) -> tuple:
    """A function doing forward + backward once in tinygrad_nn, and its forward value."""
    leaves = [tg.Value(d) for d in datas]
    out = case["ours"](*leaves)
    seed = np.ones(out.shape, np.float32)

    def step() -> None:
        case["ours"](*leaves).backward(seed)
    return step, out.data


def torch_step(torch: Any, case: dict, datas: List[np.ndarray]) -> tuple:
    """The same in PyTorch (CPU, one thread), and its forward value."""
    leaves = [torch.tensor(d, requires_grad=True) for d in datas]
    out = case["torch"](torch, *leaves)
    seed = torch.ones_like(out)

    def step() -> None:
        case["torch"](torch, *leaves).backward(seed)
    return step, out.detach().numpy()


def _calls_per_sample(fn: Callable[[], None], target: float) -> int:
    """How many calls make one sample last about `target` seconds, after calls for about as
    long to warm up (torch's first backward starts its engine; caches fill)."""
    calls, start = 0, time.perf_counter()
    while calls < 3 or time.perf_counter() - start < target:
        fn()
        calls += 1
    once = max((time.perf_counter() - start) / calls, 1e-7)
    return max(1, min(10_000, int(target / once)))


def _sample(fn: Callable[[], None], number: int) -> float:
    start = time.perf_counter()
    for _ in range(number):
        fn()
    return (time.perf_counter() - start) / number


def measure(name: str, torch: Optional[Any], repeats: int, target: float) -> dict:
    """Per-call seconds of forward + backward for one op, in both libraries taking turns."""
    case = CASES[name]
    datas = _inputs(case["shapes"])
    ours, value = ours_step(case, datas)
    steps = {"tinygrad_nn": ours}
    if torch is not None:
        theirs, reference = torch_step(torch, case, datas)
        np.testing.assert_allclose(value, reference, rtol=RTOL, atol=1e-5,
                                   err_msg=f"{name}: tinygrad_nn and torch disagree")
        steps["torch"] = theirs
    numbers = {lib: _calls_per_sample(fn, target) for lib, fn in steps.items()}
    samples: Dict[str, list] = {lib: [] for lib in steps}
    for _ in range(repeats):
        for lib, fn in steps.items():
            samples[lib].append(_sample(fn, numbers[lib]))
    return {"shapes": case["shapes"], **{lib: summarize(s) for lib, s in samples.items()}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ops", nargs="+", default=DEFAULT, choices=list(CASES), metavar="OP",
                        help=f"ops to time (default: all of {', '.join(DEFAULT)})")
    parser.add_argument("--repeats", type=int, default=9, help="samples per op and library")
    parser.add_argument("--quick", action="store_true", help="3 short samples per op")
    args = parser.parse_args()
    repeats, target = (3, 0.02) if args.quick else (args.repeats, 0.2)
    torch: Optional[Any] = None
    try:
        import torch as found
        found.set_num_threads(1)
        torch = found
    except ImportError:
        print("torch not installed (pip install torch==2.13.0): tinygrad_nn alone")
    times = {name: measure(name, torch, repeats, target) for name in args.ops}
    rows = []
    for name, r in times.items():
        ours = r["tinygrad_nn"]["median"]
        theirs = r["torch"]["median"] if "torch" in r else None
        rows.append([name, " and ".join("x".join(map(str, s)) for s in r["shapes"]),
                     fmt_seconds(ours), fmt_seconds(theirs),
                     f"{ours / theirs:.2f}" if theirs else "n/a"])
    table = markdown_table(["op (forward + backward, float32)", "inputs", "tinygrad_nn",
                            "torch (1 thread)", "tinygrad_nn / torch"], rows)
    table += (f"\n\nMedians of {repeats} samples per op; OPENBLAS_NUM_THREADS="
              f"{os.environ.get('OPENBLAS_NUM_THREADS')}.")
    write_results("per_op", {"times": times, "repeats": repeats,
                             "quick": args.quick}, table)


if __name__ == "__main__":
    main()
