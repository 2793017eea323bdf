"""The extreme eigenvalues of a network's loss Hessian, by power iteration on Hessian-vector
products, without ever forming the Hessian; checked against numpy's eigvalsh of the full one.

The loss is the mean squared error of a one-hidden-layer tanh network on random regression
data, written as a function of one flat parameter vector, so that `func.hvp(loss, theta, v)`
gives H v in one extra reverse pass and `func.hessian(loss)(theta)` the whole matrix.

Power iteration v ← Hv / |Hv| converges to the eigenvalue of largest *magnitude*, which may be
the most negative one: at a random initialisation the Hessian is indefinite. So it runs twice:
once on H, giving λ_a, the eigenvalue farthest from zero, and once on H - λ_a I, whose
eigenvalues λ - λ_a all have the sign of -λ_a, the largest in magnitude belonging to the
eigenvalue at the other end of the spectrum. Together: the largest and the smallest eigenvalue.

    python examples/hessian_eigenvalue.py
"""

import os
import time
from typing import Callable

import numpy as np

from tinygrad_nn import Value, func, linear

FAST = bool(os.environ.get("TINYGRAD_NN_FAST"))


def mlp_loss(nin: int, hidden: int, samples: int, seed: int = 0) -> tuple:
    """A tanh network nin -> hidden -> 1 on data y = sin(sum of x): its loss as a function of
    the flat parameter vector, and a random initial vector (Glorot-like scale)."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(samples, nin))
    y = np.sin(X.sum(axis=1))
    shapes = [(hidden, nin), (hidden,), (1, hidden), (1,)]   # W1, b1, W2, b2

    def loss(theta: Value) -> Value:
        params, start = [], 0
        for shape in shapes:                       # cut the vector into the four parameters
            size = int(np.prod(shape))
            params.append(theta[start:start + size].reshape(shape))
            start += size
        W1, b1, W2, b2 = params
        out = linear(linear(X, W1, b1).tanh(), W2, b2).reshape(samples)
        error = out - y
        return (error * error).mean()

    theta = np.concatenate([rng.normal(size=s).ravel() / np.sqrt(s[-1]) if len(s) == 2
                            else np.zeros(s) for s in shapes])
    return loss, theta


def power_iteration(matvec: Callable[[np.ndarray], np.ndarray], n: int, tol: float = 1e-13,
                    max_iterations: int = 5000, seed: int = 1) -> tuple:
    """The eigenvalue of largest magnitude of the symmetric matrix behind `matvec`, as the
    Rayleigh quotient v·Av of the iterate, stopped when it changes by less than `tol`
    (relative); and the number of products used."""
    v = np.random.default_rng(seed).normal(size=n)
    v /= np.linalg.norm(v)
    estimate = 0.0
    for k in range(1, max_iterations + 1):
        Av = matvec(v)
        previous, estimate = estimate, float(v @ Av)
        v = Av / np.linalg.norm(Av)
        if abs(estimate - previous) <= tol * abs(estimate):
            break
    return estimate, k


def main(nin: int = 3, hidden: int = 6, samples: int = 32) -> dict:
    """Both ends of the Hessian's spectrum at the initial parameters, by power iteration on
    Hessian-vector products (``power``: (smallest, largest)) and by eigvalsh of the full
    Hessian (``eigvalsh``: the same pair); also ``products`` (the HVPs each of the two runs
    used), ``parameters`` and the ``seconds`` each method took."""
    loss, theta = mlp_loss(nin, hidden, samples)

    def hvp(v: np.ndarray) -> np.ndarray:
        return func.hvp(loss, theta, v)[1]

    start = time.perf_counter()
    far, far_products = power_iteration(hvp, theta.size)
    other, other_products = power_iteration(lambda v: hvp(v) - far * v, theta.size)
    other += far                                  # undo the shift
    power_seconds = time.perf_counter() - start

    start = time.perf_counter()
    eigenvalues = np.linalg.eigvalsh(func.hessian(loss)(theta))   # ascending
    full_seconds = time.perf_counter() - start
    return {"power": (min(far, other), max(far, other)),
            "eigvalsh": (eigenvalues[0], eigenvalues[-1]),
            "products": (far_products, other_products), "parameters": theta.size,
            "seconds": {"power": power_seconds, "eigvalsh": full_seconds}}


if __name__ == "__main__":
    sizes = [(3, 6, 32)] if FAST else [(3, 6, 32), (8, 32, 128)]
    for nin, hidden, samples in sizes:
        r = main(nin, hidden, samples)
        print(f"tanh MLP {nin}-{hidden}-1 ({r['parameters']} parameters), {samples} samples:")
        print(f"  power iteration ({r['products'][0]} + {r['products'][1]} HVPs, "
              f"{r['seconds']['power']:.2f} s): smallest {r['power'][0]:.12f}, "
              f"largest {r['power'][1]:.12f}")
        print(f"  eigvalsh of the full Hessian ({r['seconds']['eigvalsh']:.2f} s):"
              f"      smallest {r['eigvalsh'][0]:.12f}, largest {r['eigvalsh'][1]:.12f}")
        if not np.allclose(r["power"], r["eigvalsh"], rtol=1e-6):
            raise SystemExit("power iteration and eigvalsh disagree")
