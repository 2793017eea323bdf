"""Higher-order autodiff: a Hessian-vector product of an MLP 64-64-10 (tanh, softmax
cross-entropy) at batch 128, beside PyTorch's, and what create_graph=True costs a backward.

For each engine, from the same weights, inputs, labels and direction v, in float64 and float32:

- forward: the loss;
- gradient: the plain backward, ``tinygrad_nn.grad(loss, params)`` / ``torch.autograd.grad``;
- gradient, create_graph: the same with ``create_graph=True`` (its gradients are graphs);
- HVP: that, then the gradient of <g, v> with respect to the parameters (reverse over reverse,
  as ``torch.autograd.functional.hvp`` and ``tinygrad_nn.func.hvp`` do).

Each repeat runs a fresh forward before each of the three (timed apart), in turn, so the three
see the same state of the machine. PyTorch runs on one thread (``torch.set_num_threads(1)``, like
our numpy with OPENBLAS_NUM_THREADS=1). HIPS autograd, a third reverse-mode engine on numpy,
traces forward and backward together, so it has only totals: forward + gradient
(``grad``) and forward + HVP (``hessian_vector_product``, on the parameters as one flat vector).

Every engine runs in its own process; the engines take turns over three rounds and each one's
samples are pooled. Before any timing counts, the gradients and HVPs of every engine must agree
with tinygrad_nn's (relative to the largest entry: 1e-9 in float64, 1e-4 in float32), or the
benchmark stops.

    python -m benchmarks.higher_order          # all engines, ratio table
"""

from __future__ import annotations

import argparse
import json
import os
import time
from typing import Any, Callable, Dict, List, Tuple

import numpy as np

from benchmarks.common import fmt_seconds, markdown_table, summarize, take_turns, write_results

SIZES = [64, 64, 10]
BATCH = 128
DTYPES = ["float64", "float32"]
PHASES = ("forward", "plain", "create_graph", "hvp")  # "plain" etc.: the backward part alone
TOTALS = ("forward+plain", "forward+hvp")
RTOL = {"float64": 1e-9, "float32": 1e-4}


def problem(dtype: str) -> Tuple[List[np.ndarray], np.ndarray, np.ndarray, List[np.ndarray]]:
    """Weights [W1, b1, W2, b2] (W of shape (nout, nin), Glorot-scaled, small random biases so
    that their Hessian blocks are not trivial), inputs, integer labels, and the direction v."""
    rng = np.random.default_rng(0)
    params = []
    for nin, nout in zip(SIZES, SIZES[1:]):
        params += [rng.normal(0, np.sqrt(2 / (nin + nout)), size=(nout, nin)), rng.normal(0, 0.1, size=nout)]
    X = rng.normal(size=(BATCH, SIZES[0]))
    y = rng.integers(0, SIZES[-1], size=BATCH)
    v = [rng.normal(size=p.shape) for p in params]
    return [p.astype(dtype) for p in params], X.astype(dtype), y, [a.astype(dtype) for a in v]


# Each engine: a function of dtype returning {phase: callable}. "forward" returns the loss graph;
# the others take it and return a list of numpy arrays (the gradient, or the HVP).
def tinygrad_engine(dtype: str) -> Dict[str, Callable[..., Any]]:
    import tinygrad_nn as tg
    from tinygrad_nn.losses import cross_entropy
    from tinygrad_nn.nn import MLP
    weights, X, y, v = problem(dtype)
    model = MLP(SIZES[0], SIZES[1:], activation="tanh", output_activation="linear", dtype=dtype)
    model.load_state_dict({f"layers.{i}.{k}": weights[2 * i + j]
                           for i in range(len(SIZES) - 1) for j, k in enumerate("Wb")})
    params = model.parameters()
    assert [p.shape for p in params] == [w.shape for w in weights]

    def forward() -> Any:
        return cross_entropy(model(X), y)

    def plain(loss: Any) -> List[np.ndarray]:
        return [g.data for g in tg.grad(loss, params)]

    def create_graph(loss: Any) -> Any:
        return tg.grad(loss, params, create_graph=True)

    def hvp(loss: Any) -> List[np.ndarray]:
        gs = tg.grad(loss, params, create_graph=True)
        dot = (gs[0] * v[0]).sum()
        for g, vi in zip(gs[1:], v[1:]):
            dot = dot + (g * vi).sum()
        return [h.data for h in tg.grad(dot, params)]
    return {"forward": forward, "plain": plain, "create_graph": create_graph, "hvp": hvp,
            "numpy": lambda gs: [g.data for g in gs]}


def torch_engine(dtype: str) -> Dict[str, Callable[..., Any]]:
    import torch
    torch.set_num_threads(1)
    weights, X, y, v = problem(dtype)
    params = [torch.tensor(w, requires_grad=True) for w in weights]
    Xt, yt, vt = torch.from_numpy(X), torch.from_numpy(y), [torch.from_numpy(a) for a in v]
    W1, b1, W2, b2 = params
    F = torch.nn.functional

    def forward() -> Any:
        return F.cross_entropy(F.linear(torch.tanh(F.linear(Xt, W1, b1)), W2, b2), yt)

    def plain(loss: Any) -> List[np.ndarray]:
        return [g.numpy() for g in torch.autograd.grad(loss, params)]

    def create_graph(loss: Any) -> Any:
        return torch.autograd.grad(loss, params, create_graph=True)

    def hvp(loss: Any) -> List[np.ndarray]:
        gs = torch.autograd.grad(loss, params, create_graph=True)
        dot = (gs[0] * vt[0]).sum()
        for g, vi in zip(gs[1:], vt[1:]):
            dot = dot + (g * vi).sum()
        return [h.numpy() for h in torch.autograd.grad(dot, params)]
    return {"forward": forward, "plain": plain, "create_graph": create_graph, "hvp": hvp,
            "numpy": lambda gs: [g.detach().numpy() for g in gs]}


def autograd_engine(dtype: str) -> Dict[str, Callable[..., Any]]:
    """HIPS autograd on the parameters as one flat vector (its hessian_vector_product takes one
    array argument); its tracing runs the forward inside each call, so only totals."""
    import autograd.numpy as anp
    from autograd import grad, hessian_vector_product
    weights, X, y, v = problem(dtype)
    shapes = [w.shape for w in weights]
    ends = np.cumsum([w.size for w in weights])
    flat, vflat = np.concatenate([w.ravel() for w in weights]), np.concatenate([a.ravel() for a in v])
    rows = np.arange(BATCH)

    def loss_fn(p: Any) -> Any:
        W1, b1, W2, b2 = (p[e - int(np.prod(s)):e].reshape(s) for s, e in zip(shapes, ends))
        z = anp.dot(anp.tanh(anp.dot(X, W1.T) + b1), W2.T) + b2
        z = z - anp.max(z, axis=1, keepdims=True)
        logp = z - anp.log(anp.sum(anp.exp(z), axis=1, keepdims=True))
        return -anp.mean(logp[rows, y])

    def split(a: np.ndarray) -> List[np.ndarray]:
        return [a[e - int(np.prod(s)):e].reshape(s) for s, e in zip(shapes, ends)]
    gradient, hvp = grad(loss_fn), hessian_vector_product(loss_fn)
    return {"forward+plain": lambda: split(gradient(flat)), "forward+hvp": lambda: split(hvp(flat, vflat))}


ENGINES: Dict[str, Callable[[str], Dict[str, Callable[..., Any]]]] = {
    "tinygrad_nn": tinygrad_engine, "torch": torch_engine, "autograd": autograd_engine}
NAMES = {"tinygrad_nn": "tinygrad_nn", "torch": "torch eager (1 thread)", "autograd": "autograd"}


def results_of(fns: Dict[str, Callable[..., Any]], dtype: str) -> Dict[str, List[np.ndarray]]:
    """The gradient and the HVP, once, for the agreement check; an engine whose gradient with
    create_graph=True differs from its plain one fails here."""
    if "forward" not in fns:
        return {"gradient": fns["forward+plain"](), "hvp": fns["forward+hvp"]()}
    gradient = fns["plain"](fns["forward"]())
    graphed = fns["numpy"](fns["create_graph"](fns["forward"]()))
    gap = disagreement(gradient, graphed)
    if not gap <= RTOL[dtype]:
        raise SystemExit(f"the gradient with create_graph=True differs from the plain one ({dtype}): "
                         f"largest difference {gap:.2e} of the largest entry")
    return {"gradient": gradient, "hvp": fns["hvp"](fns["forward"]())}


def measure(engine: str, repeats: int) -> Dict[str, Any]:
    """Per dtype: the gradient and HVP (for the check), and `repeats` timings of each phase
    after 3 untimed warm-up repeats."""
    out = {}
    for dtype in DTYPES:
        fns = ENGINES[engine](dtype)
        checked = results_of(fns, dtype)
        samples: Dict[str, List[float]] = {}
        for k in range(3 + repeats):
            times: Dict[str, float] = {}
            if "forward" in fns:
                for phase in PHASES[1:]:
                    t0 = time.perf_counter()
                    loss = fns["forward"]()
                    t1 = time.perf_counter()
                    fns[phase](loss)
                    t2 = time.perf_counter()
                    times.setdefault("forward", t1 - t0)
                    times[phase] = t2 - t1
                    if phase in ("plain", "hvp"):
                        times[f"forward+{phase}"] = t2 - t0
                    del loss
            else:
                for total in TOTALS:
                    t0 = time.perf_counter()
                    fns[total]()
                    times[total] = time.perf_counter() - t0
            if k >= 3:
                for name, t in times.items():
                    samples.setdefault(name, []).append(t)
        out[dtype] = {"samples": samples,
                      "check": {name: [a.tolist() for a in arrays] for name, arrays in checked.items()},
                      "dtypes": sorted({np.asarray(a).dtype.name for arrays in checked.values() for a in arrays})}
    return {"engine": engine, "results": out}


def disagreement(ours: List[Any], theirs: List[Any]) -> float:
    """The largest difference over all parameters, relative to the largest entry of ours."""
    ours_flat = np.concatenate([np.ravel(a) for a in ours])
    theirs_flat = np.concatenate([np.ravel(a) for a in theirs])
    return float(np.max(np.abs(ours_flat - theirs_flat)) / np.max(np.abs(ours_flat)))


def run_rounds(rounds: int, repeats: int) -> Dict[str, Any]:
    """Every engine `rounds` times, taking turns, a fresh process each; samples pooled. The
    first round's gradients and HVPs are checked against tinygrad_nn's before going on."""
    runs: Dict[str, Any] = {}
    for k, engine, run in take_turns("benchmarks.higher_order", ENGINES, rounds,
                                     "--repeats", str(repeats)):
        if k == 0:
            check(engine, run, runs.get("tinygrad_nn"))
        pooled = runs.setdefault(engine, {"engine": engine, "results": {}})["results"]
        for dtype, r in run["results"].items():
            entry = pooled.setdefault(dtype, {"samples": {}, "dtypes": r["dtypes"],
                                              "check": r["check"],
                                              "disagreement": r.get("disagreement", {})})
            for name, s in r["samples"].items():
                entry["samples"].setdefault(name, []).extend(s)
    for run in runs.values():
        for r in run["results"].values():
            r["times"] = {name: summarize(s) for name, s in r.pop("samples").items()}
            r.pop("check")
    return runs


def check(engine: str, run: Dict[str, Any], ours: Any) -> None:
    """Stop unless `engine` computes tinygrad_nn's gradient and HVP (tinygrad_nn runs first)."""
    if ours is None:
        return
    for dtype, r in run["results"].items():
        for name, arrays in r["check"].items():
            gap = disagreement(ours["results"][dtype]["check"][name], arrays)
            r.setdefault("disagreement", {})[name] = gap
            if not gap <= RTOL[dtype]:
                raise SystemExit(f"{engine} and tinygrad_nn disagree on the {name} ({dtype}): "
                                 f"largest difference {gap:.2e} of the largest entry (> {RTOL[dtype]:g})")


def table(runs: Dict[str, Any]) -> Tuple[str, Dict[str, Any]]:
    engines = [e for e in ENGINES if e in runs]
    header = ["MLP 64-64-10 tanh, batch 128"] + [NAMES[e] for e in engines]
    if "torch" in runs:
        header.append("tinygrad_nn / torch")
    rows: List[List[str]] = []
    ratios: Dict[str, Any] = {}
    labels = {"forward": "forward (the loss)", "plain": "gradient (plain backward)",
              "create_graph": "gradient with create_graph=True",
              "hvp": "HVP: grad with create_graph, then grad of <g, v>",
              "forward+plain": "forward + gradient", "forward+hvp": "forward + HVP"}
    for dtype in DTYPES:
        med = {e: {name: t["median"] for name, t in runs[e]["results"][dtype]["times"].items()}
               for e in engines}
        for name in PHASES + TOTALS:
            row = [f"{dtype}: {labels[name]}"] + [fmt_seconds(med[e].get(name)) for e in engines]
            if "torch" in runs:
                row.append(f"{med['tinygrad_nn'][name] / med['torch'][name]:.2f}")
            rows.append(row)
        for what, num, den in (("create_graph / plain", "create_graph", "plain"),
                               ("HVP / plain", "hvp", "plain")):
            row = [f"{dtype}: {what}"]
            for e in engines:
                ok = num in med[e] and den in med[e]
                row.append(f"{med[e][num] / med[e][den]:.2f}" if ok else "n/a")
                if ok:
                    ratios.setdefault(dtype, {}).setdefault(e, {})[what] = med[e][num] / med[e][den]
            rows.append(row + ([""] if "torch" in runs else []))
        if "torch" in runs:
            ratios.setdefault(dtype, {})["tinygrad_nn / torch"] = {
                name: med["tinygrad_nn"][name] / med["torch"][name] for name in PHASES + TOTALS}
        if "autograd" in runs:
            ratios.setdefault(dtype, {})["tinygrad_nn / autograd"] = {
                name: med["tinygrad_nn"][name] / med["autograd"][name] for name in TOTALS}
    text = markdown_table(header, rows)
    text += ("\n\nForward, gradient, create_graph and HVP rows time each part alone (a fresh forward "
             "before each, timed apart); autograd traces the forward inside each call, so it has "
             "only the totals.")
    if "autograd" in runs and runs["autograd"]["results"]["float32"]["dtypes"] != ["float32"]:
        text += (f" autograd's float32 results come out as {runs['autograd']['results']['float32']['dtypes']} "
                 "(numpy 2 type promotion in its backward rules).")
    return text, ratios


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--engine", choices=sorted(ENGINES))
    parser.add_argument("--repeats", type=int, default=100, help="timed repeats per process")
    parser.add_argument("--rounds", type=int, default=3, help="turns each engine takes")
    parser.add_argument("--json", action="store_true", help="worker mode: print the result as JSON")
    parser.add_argument("--quick", action="store_true", help="10 repeats, one round")
    args = parser.parse_args()
    repeats = 10 if args.quick else args.repeats
    if args.engine:
        print(json.dumps(measure(args.engine, repeats)))
        return
    runs = run_rounds(1 if args.quick else args.rounds, repeats)
    if "tinygrad_nn" not in runs:
        raise SystemExit("tinygrad_nn did not run")
    text, ratios = table(runs)
    write_results("higher_order", {"runs": runs, "ratios": ratios,
                                   "torch_threads": 1, "openblas_threads": os.environ.get("OPENBLAS_NUM_THREADS")},
                  text)


if __name__ == "__main__":
    main()
