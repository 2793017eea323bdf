"""Weight initializers: arrays to start a layer from, drawn from a seeded numpy Generator.

Why random at all: if every unit of a layer starts with the same weights, every unit computes
the same function and receives the same gradient, so they stay identical forever (the symmetry
that Ng's course asks random initialization to break). `zeros` is offered for that lesson and
for biases; it breaks symmetry nowhere.

Every initializer has the signature ``init(shape, rng) -> np.ndarray`` with ``shape = (fan_out,
fan_in)`` for a weight matrix (the layout of `Layer.W`).
"""

from __future__ import annotations

import math
from typing import Callable, Dict, Optional, Tuple, Union

import numpy as np

Shape = Tuple[int, ...]
Initializer = Callable[[Shape, np.random.Generator], np.ndarray]


def _fans(shape: Shape) -> Tuple[int, int]:
    """(fan_in, fan_out) of a weight of shape (fan_out, fan_in); a vector counts as one unit."""
    if len(shape) == 1:
        return shape[0], 1
    return int(np.prod(shape[1:])), shape[0]


def ng_epsilon(fan_in: int, fan_out: int) -> float:
    """Ng's choice of ε: sqrt(6) / sqrt(L_in + L_out) (0.12 for the course's 400-25 layer)."""
    return math.sqrt(6.0) / math.sqrt(fan_in + fan_out)


def epsilon_uniform(epsilon: float = 0.12) -> Initializer:
    """Uniform on [-ε, ε], Ng's random initialization (ε = 0.12 by default)."""
    def init(shape: Shape, rng: np.random.Generator) -> np.ndarray:
        return rng.uniform(-epsilon, epsilon, size=shape)
    return init


def uniform(shape: Shape, rng: np.random.Generator, low: float = -1.0, high: float = 1.0) -> np.ndarray:
    """Uniform on [low, high] (micrograd's choice: [-1, 1])."""
    return rng.uniform(low, high, size=shape)


def normal(shape: Shape, rng: np.random.Generator, std: float = 1.0) -> np.ndarray:
    """Normal with mean 0 and standard deviation `std`."""
    return rng.normal(0.0, std, size=shape)


def xavier_uniform(shape: Shape, rng: np.random.Generator) -> np.ndarray:
    """Glorot & Bengio (2010): uniform on ±sqrt(6 / (fan_in + fan_out)); Ng's ε formula."""
    fan_in, fan_out = _fans(shape)
    bound = ng_epsilon(fan_in, fan_out)
    return rng.uniform(-bound, bound, size=shape)


def xavier_normal(shape: Shape, rng: np.random.Generator) -> np.ndarray:
    """Glorot normal: standard deviation sqrt(2 / (fan_in + fan_out))."""
    fan_in, fan_out = _fans(shape)
    return rng.normal(0.0, math.sqrt(2.0 / (fan_in + fan_out)), size=shape)


def he_uniform(shape: Shape, rng: np.random.Generator) -> np.ndarray:
    """He et al. (2015), for ReLU layers: uniform on ±sqrt(6 / fan_in)."""
    fan_in, _ = _fans(shape)
    bound = math.sqrt(6.0 / fan_in)
    return rng.uniform(-bound, bound, size=shape)


def he_normal(shape: Shape, rng: np.random.Generator) -> np.ndarray:
    """He normal: standard deviation sqrt(2 / fan_in)."""
    fan_in, _ = _fans(shape)
    return rng.normal(0.0, math.sqrt(2.0 / fan_in), size=shape)


def zeros(shape: Shape, rng: np.random.Generator) -> np.ndarray:
    """All zeros: fine for biases; for weights every unit stays a copy of the others."""
    return np.zeros(shape)


def debug(shape: Shape, rng: Optional[np.random.Generator] = None) -> np.ndarray:
    """The course's debugInitializeWeights: sin(1), sin(2), ... divided by 10, laid out in
    column-major order. Deterministic and free of symmetry: the weights of its gradient check."""
    n = int(np.prod(shape))
    return (np.sin(np.arange(1, n + 1)) / 10).reshape(shape, order="F")


INITIALIZERS: Dict[str, Initializer] = {
    "epsilon": epsilon_uniform(0.12),
    "uniform": uniform,
    "normal": normal,
    "xavier_uniform": xavier_uniform,
    "xavier_normal": xavier_normal,
    "he_uniform": he_uniform,
    "he_normal": he_normal,
    "zeros": zeros,
    "debug": debug,
}


def get(init: Union[str, Initializer]) -> Initializer:
    """An initializer by name (see INITIALIZERS) or the callable itself."""
    if callable(init):
        return init
    try:
        return INITIALIZERS[init]
    except KeyError:
        raise ValueError(f"init: unknown initializer {init!r}; choose one of "
                         f"{sorted(INITIALIZERS)} or pass a function (shape, rng) -> array") from None

