"""Shared benchmark plumbing: repeat a measurement, summarise it, run a peer in its own process,
and write the result as JSON plus a Markdown table."""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Any, Callable, Dict, Iterable, Iterator, List, Optional, Tuple

RESULTS = os.path.join(os.path.dirname(__file__), "results")


def summarize(samples: List[float]) -> Dict[str, float]:
    """Median, min and max of a list of timings (seconds)."""
    return {"median": statistics.median(samples), "min": min(samples), "max": max(samples),
            "repeats": len(samples)}


def timings(fn: Callable[[], Any], repeats: int, warmup: int = 0) -> List[float]:
    """Seconds each of `repeats` calls of `fn` took (perf_counter), after `warmup` untimed calls;
    the garbage collector stays as it is."""
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return samples


def repeat(fn: Callable[[], Any], repeats: int) -> Dict[str, float]:
    """Median, min and max of `repeats` timed calls of `fn`."""
    return summarize(timings(fn, repeats))


def run_in_subprocess(module: str, *args: str, timeout: float = 1800) -> Dict[str, Any]:
    """Run `python -m module args... --json` in a fresh interpreter and return the JSON it prints
    on its last line. A failure raises RuntimeError with the worker's stderr (a peer that is not
    installed shows there as "No module named ...", which callers report as skipped)."""
    proc = subprocess.run([sys.executable, "-m", module, *args, "--json"], capture_output=True,
                          text=True, timeout=timeout)
    if proc.returncode != 0:
        raise RuntimeError(f"{module} {' '.join(args)} failed:\n{proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def take_turns(module: str, engines: Iterable[str], rounds: int,
               *args: str) -> Iterator[Tuple[int, str, Dict[str, Any]]]:
    """(round, engine, its JSON result) for every engine `rounds` times, taking turns, a fresh
    process each (`run_in_subprocess` of ``module --engine ENGINE args...``): a slow spell of a
    shared machine then hits every engine alike. An engine that is not installed is reported as
    skipped once and left out."""
    engines, missing = list(engines), set()
    for k in range(rounds):
        for engine in engines:
            if engine in missing:
                continue
            try:
                run = run_in_subprocess(module, "--engine", engine, *args)
            except RuntimeError as e:
                if "No module named" not in str(e):
                    raise
                print(f"{engine} not installed: skipped", file=sys.stderr)
                missing.add(engine)
                continue
            yield k, engine, run


def machine() -> Dict[str, str]:
    """What the numbers were measured on."""
    return {"python": platform.python_version(), "machine": platform.machine(),
            "processor": platform.processor() or "unknown", "cpus": str(os.cpu_count()),
            "date": time.strftime("%Y-%m-%d")}


def fmt_seconds(s: Optional[float]) -> str:
    if s is None:
        return "n/a"
    if s >= 1:
        return f"{s:.2f} s"
    if s >= 1e-3:
        return f"{s * 1e3:.1f} ms"
    return f"{s * 1e6:.1f} µs"


def markdown_table(header: List[str], rows: List[List[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def write_results(name: str, data: Dict[str, Any], table: str) -> None:
    """Write results/<name>.json and results/<name>.md atomically, and print the table."""
    os.makedirs(RESULTS, exist_ok=True)
    data = {"benchmark": name, "machine": machine(), **data}
    text = f"{table}\n\nMeasured {data['machine']['date']} on {data['machine']['machine']}, " \
           f"{data['machine']['cpus']} CPUs, Python {data['machine']['python']}.\n"
    for suffix, content in (("json", json.dumps(data, indent=2)), ("md", text)):
        fd, tmp = tempfile.mkstemp(dir=RESULTS, suffix=".tmp")
        with os.fdopen(fd, "w") as f:
            f.write(content)
        os.replace(tmp, os.path.join(RESULTS, f"{name}.{suffix}"))
    print(text)
