"""Before and after: the same benchmarks for two (or more) trees of tinygrad_nn, in one sitting.

    git worktree add /tmp/old_main cf22f00                           # the old code, beside this one
    python -m benchmarks.before_after /tmp/old_main                  # scalar, tensor, overhead
    python -m benchmarks.before_after /tmp/old_main --bench scalar --rounds 8 --clock cpu
    python -m benchmarks.before_after OLD --new NEW1 --new NEW2      # NEW: this checkout if omitted
    git worktree remove /tmp/old_main

Every measurement runs in a fresh interpreter started in a scratch directory that holds two
links: `tinygrad_nn` to the tree's package and `benchmarks` to this checkout's, so every tree
runs the same harness (the workers of scalar.py, tensor.py and overhead.py) and nothing else of
its own; the worker reports the file it imported, and a wrong one stops the run. The trees take
turns, round after round, in the order old-new, new-old, ... (a slow spell of a shared machine
then falls on all alike), and the peers (micrograd, the numpy floor) run in every round too, so
that each tree's ratio to its peer comes from the same sitting. All engines must start from the
same loss, as in the benchmarks.

It prints, per measurement, the pooled median of each tree, new / old, the median and range of
the per-round ratios (round k's new median over round k's old: drift between rounds cancels
there), and each tree against the peer. ``--clock cpu`` times each worker's CPU time instead of
the wall clock: other processes on a busy machine then stop inflating the figures (the
scheduler's share, at least; caches and memory bandwidth are still shared). It writes nothing
into results/ (the README's figures come from the benchmarks themselves); ``--json FILE`` keeps
the raw samples.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import shutil
import tempfile
import time
import timeit
from typing import Any, Callable, Dict, List, Optional, Tuple

from benchmarks.common import fmt_seconds, markdown_table

HARNESS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCHES = ("scalar", "tensor", "overhead")
# per benchmark: the tinygrad_nn engines (run once per tree) and the peers (run once per round)
ENGINES = {"scalar": (["tinygrad_nn", "tinygrad_nn-replay"], ["micrograd"]),
           "tensor": (["tinygrad_nn", "tinygrad_nn-replay"], ["numpy"]),
           "overhead": (["tinygrad_nn"], ["numpy"])}
PEER_NAME = {"micrograd": "micrograd", "numpy": "numpy"}


# ---- worker: one engine of one benchmark, in this interpreter ---------------------------------
def work(bench: str, engine: str, steps: int, number: int, repeats: int) -> Dict[str, List[float]]:
    """Samples (seconds) per measurement name."""
    if bench == "scalar":
        from benchmarks import scalar
        run = scalar.train_steps(engine, steps)
        return {"step": run["step"],
                "forward": run["forward"], "backward": run["backward"],
                "_loss0": [run["losses"][0]]}
    if bench == "tensor":
        from benchmarks import tensor
        run = tensor.measure(engine, steps)["results"]
        out = {key: r["samples"] for key, r in run.items()}
        out.update({f"_loss0 {key}": [r["first_loss"]] for key, r in run.items()})
        return out
    from benchmarks import overhead
    cases: Dict[str, Tuple[Callable[[], object], int]]
    if engine == "numpy":
        import numpy as np
        x, y = np.ones(1), np.ones(1)
        cases = {"numpy: np.add of 1-element arrays": (lambda: np.add(x, y), 1)}
    else:
        cases = {name: case for name, case in overhead.cases().items() if name.startswith("tinygrad_nn")}
    return {name: [t / max(1, number // ops) / ops
                   for t in timeit.repeat(fn, number=max(1, number // ops), repeat=repeats,
                                          timer=time.perf_counter)]
            for name, (fn, ops) in cases.items()}


def worker_main(args: argparse.Namespace) -> None:
    if args.clock == "cpu":  # the benchmarks time with perf_counter: make it this process's CPU time
        time.perf_counter = time.process_time
    import tinygrad_nn
    samples = work(args.worker, args.engine, args.steps, args.number, args.repeats)
    print(json.dumps({"tinygrad_nn": os.path.realpath(tinygrad_nn.__file__), "samples": samples}))


# ---- driver ------------------------------------------------------------------------------------
def sandbox(tree: str) -> str:
    """A directory whose `tinygrad_nn` is the tree's and whose `benchmarks` is this checkout's;
    a worker started there (cwd first on sys.path) imports exactly those."""
    d = tempfile.mkdtemp(prefix="before_after_")
    os.symlink(os.path.join(tree, "tinygrad_nn"), os.path.join(d, "tinygrad_nn"))
    os.symlink(os.path.join(HARNESS, "benchmarks"), os.path.join(d, "benchmarks"))
    return d


def run_worker(cwd: str, tree: Optional[str], bench: str, engine: str, args: argparse.Namespace) -> Dict[str, Any]:
    cmd = [sys.executable, "-m", "benchmarks.before_after", "--worker", bench, "--engine", engine,
           "--steps", str(args.steps[bench]), "--number", str(args.number), "--repeats", str(args.repeats),
           "--clock", args.clock]
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env.setdefault("OPENBLAS_NUM_THREADS", "1")
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=3600)
    if proc.returncode != 0:
        raise RuntimeError(f"{bench}/{engine} in {tree or 'peer'} failed:\n{proc.stderr}")
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    if tree is not None and not result["tinygrad_nn"].startswith(os.path.realpath(tree) + os.sep):
        raise RuntimeError(f"the worker for {tree} imported {result['tinygrad_nn']}")
    return result


def describe(tree: str) -> str:
    def git(*a: str) -> str:
        return subprocess.run(["git", "-C", tree, *a], capture_output=True, text=True).stdout.strip()
    commit = git("rev-parse", "--short", "HEAD")
    if not commit:
        return f"{tree} (not a git tree)"
    dirty = git("status", "--porcelain", "--", "tinygrad_nn")
    return f"{tree} @ {commit}{' + uncommitted tinygrad_nn edits' if dirty else ''}"


def measure(bench: str, trees: Dict[str, str], args: argparse.Namespace) -> Dict[str, Any]:
    """Rounds of: the peers, then each tree's engines (the trees' order alternating)."""
    boxes = {label: sandbox(tree) for label, tree in trees.items()}
    try:
        return _measure(bench, trees, boxes, args)
    finally:
        for box in boxes.values():
            shutil.rmtree(box)  # links only: their targets stay


def _measure(bench: str, trees: Dict[str, str], boxes: Dict[str, str],
             args: argparse.Namespace) -> Dict[str, Any]:
    engines, peers = ENGINES[bench]
    # pooled[who][measurement] -> samples; rounds[who][measurement] -> per-round medians
    pooled: Dict[str, Dict[str, List[float]]] = {}
    rounds: Dict[str, Dict[str, List[float]]] = {}
    skipped = set()
    order = list(trees)
    for k in range(args.rounds):
        jobs = [(None, p) for p in peers] + [(label, e) for label in (order if k % 2 == 0 else order[::-1])
                                             for e in engines]
        for label, engine in jobs:
            who = engine if label is None else f"{label}:{engine}"
            if who in skipped:
                continue
            t0 = time.perf_counter()
            try:
                # a peer runs beside the last tree (scalar's moons data come from tinygrad_nn.data)
                res = run_worker(boxes[label] if label else boxes[order[-1]], trees.get(label) if label else None,
                                 bench, engine, args)
            except RuntimeError as e:
                if label is None and "No module named" in str(e):
                    print(f"  {engine} not installed: skipped", file=sys.stderr)
                    skipped.add(who)
                    continue
                raise
            print(f"  round {k + 1}/{args.rounds}: {who} ({time.perf_counter() - t0:.0f} s)", file=sys.stderr,
                  flush=True)
            for name, s in res["samples"].items():
                pooled.setdefault(who, {}).setdefault(name, []).extend(s)
                rounds.setdefault(who, {}).setdefault(name, []).append(statistics.median(s))
    return {"pooled": pooled, "rounds": rounds}


def check_agreement(bench: str, pooled: Dict[str, Dict[str, List[float]]]) -> None:
    """Every engine must start from the same loss (the benchmarks' own step-0 check)."""
    if bench == "overhead":
        return
    rtol = 1e-9 if bench == "scalar" else 1e-4
    for name in next(iter(pooled.values())):
        if not name.startswith("_loss0"):
            continue
        losses = {who: s[name][0] for who, s in pooled.items() if name in s}
        ref = next(iter(losses.values()))
        for who, loss in losses.items():
            if abs(loss - ref) > rtol * abs(ref):
                raise SystemExit(f"{bench}: {who} starts from loss {loss}, others from {ref} ({name})")


def table(bench: str, data: Dict[str, Any], labels: List[str]) -> str:
    """One row per measurement: each tree's pooled median, each later tree against the first
    (pooled, and the median and range of the per-round ratios), and each tree against the peer."""
    pooled, rounds = data["pooled"], data["rounds"]
    engines, peers = ENGINES[bench]
    old, news = labels[0], labels[1:]
    peer = next((p for p in peers if p in pooled), None)
    pn = PEER_NAME.get(peer or "", "peer")
    vs = "speed-up over" if bench == "scalar" else "/"
    header = ["measurement"] + [f"{label} (median)" for label in labels]
    for new in news:
        header += [f"{new} / {old}", f"{new} / {old} per round: median (min–max)"]
    header += [pn] + [f"{label} {vs} {pn}" for label in labels]
    rows = []
    for engine in engines:
        for name in pooled[f"{old}:{engine}"]:
            if name.startswith("_"):
                continue
            med = {label: statistics.median(pooled[f"{label}:{engine}"][name]) for label in labels}
            row = [name if bench == "overhead" else f"{engine}: {name}"]
            row += [fmt_seconds(med[label]) for label in labels]
            for new in news:
                per_round = [b / a for a, b in zip(rounds[f"{old}:{engine}"][name], rounds[f"{new}:{engine}"][name])]
                row += [f"{med[new] / med[old]:.2f}",
                        f"{statistics.median(per_round):.2f} ({min(per_round):.2f}–{max(per_round):.2f})"]
            pname = name if bench != "overhead" else "numpy: np.add of 1-element arrays"
            p = statistics.median(pooled[peer][pname]) if peer and pname in pooled[peer] else None
            if p is None:
                row += [""] * (1 + len(labels))
            elif bench == "scalar":  # micrograd is the slower one: speed-up
                row += [fmt_seconds(p)] + [f"{p / med[label]:.1f}x" for label in labels]
            else:  # numpy is the floor: our time over it
                row += [fmt_seconds(p)] + [f"{med[label] / p:.2f}" for label in labels]
            rows.append(row)
    return markdown_table(header, rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("old", nargs="?", help="the old tree (a git worktree of the old commit)")
    parser.add_argument("--new", action="append",
                        help="a new tree (default: this checkout); repeat it to compare several "
                             "with the old one (a candidate fix beside the commit, say)")
    parser.add_argument("--bench", action="append", choices=BENCHES,
                        help="which benchmark (repeatable; default all three)")
    parser.add_argument("--rounds", type=int, default=4, help="turns each tree takes")
    parser.add_argument("--scalar-steps", type=int, default=5)
    parser.add_argument("--tensor-steps", type=int, default=30)
    parser.add_argument("--number", type=int, default=20000, help="overhead: calls per timing")
    parser.add_argument("--repeats", type=int, default=7, help="overhead: timings per worker")
    parser.add_argument("--clock", choices=["wall", "cpu"], default="wall",
                        help="wall: perf_counter, as the benchmarks time; cpu: each worker's CPU time "
                             "(time.process_time), which other processes on a busy machine do not inflate")
    parser.add_argument("--json", dest="json_out", help="also write the raw samples to this file")
    parser.add_argument("--worker", choices=BENCHES, help=argparse.SUPPRESS)
    parser.add_argument("--engine", help=argparse.SUPPRESS)
    parser.add_argument("--steps", type=int, default=5, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker_main(args)
        return
    if not args.old:
        parser.error("give the old tree: git worktree add /tmp/old_main <commit>, then its path")
    args.steps = {"scalar": args.scalar_steps, "tensor": args.tensor_steps, "overhead": 0}
    news = [os.path.abspath(t) for t in (args.new or [HARNESS])]
    trees = {"old": os.path.abspath(args.old)}
    for k, tree in enumerate(news):
        trees["new" if len(news) == 1 else f"new{k + 1}"] = tree
    for tree in trees.values():
        if not os.path.isfile(os.path.join(tree, "tinygrad_nn", "__init__.py")):
            parser.error(f"{tree} has no tinygrad_nn package")
    print("".join(f"{label}: {describe(tree)}\n" for label, tree in trees.items()) +
          f"OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS', '1')}, {args.rounds} rounds, "
          f"{args.clock} clock\n")
    everything = {}
    for bench in args.bench or BENCHES:
        print(f"==> {bench}", file=sys.stderr, flush=True)
        data = measure(bench, trees, args)
        check_agreement(bench, data["pooled"])
        everything[bench] = data
        print(f"{bench}\n\n{table(bench, data, list(trees))}\n", flush=True)
    if args.json_out:
        with open(args.json_out, "w") as f:
            json.dump({"trees": {k: describe(v) for k, v in trees.items()}, **everything}, f, indent=1)


if __name__ == "__main__":
    main()
