"""Two-class toy datasets in the plane, in the spirit of the TensorFlow Playground.

Each generator ``name(n, *, noise=0.0, seed=None, rng=None)`` returns ``(X, y)``: ``X`` float64
of shape (n, 2), ``y`` int64 labels 0/1. Class 1 gets ``n // 2`` points, class 0 the rest, and
the rows come in random order. Before noise the points lie in the square [-5, 5]² (the two
Gaussians: almost all of them); ``noise`` is the standard deviation of Gaussian jitter added to
each coordinate, in the same units: 0.5 blurs the boundary between the classes, 2 buries it.
Labels always describe the clean point, so noise can carry a point across the boundary.

The same ``seed`` (or a Generator in the same state) gives the same dataset, and a noisy
dataset is the clean one of the same seed plus jitter.
"""

from __future__ import annotations

import math
from numbers import Integral, Real
from typing import Callable

import numpy as np

from ..errors import DomainError, UnsupportedTypeError
from ._random import generator

Dataset = tuple[np.ndarray, np.ndarray]


def _start(fn: str, n: int, noise: float, seed: int | None,
           rng: np.random.Generator | None) -> tuple[np.random.Generator, np.ndarray]:
    """Check the arguments; return the random generator and the labels (class 0, then 1)."""
    if not isinstance(n, Integral) or isinstance(n, bool):
        raise UnsupportedTypeError(f"{fn}: n must be an int, got {n!r}")
    if n < 2:
        raise DomainError(f"{fn}: n must be at least 2 (one point per class), got {n}")
    if not isinstance(noise, Real) or not math.isfinite(noise) or noise < 0:
        raise DomainError(f"{fn}: noise must be a finite number >= 0, got {noise!r}")
    labels = np.zeros(int(n), dtype=np.int64)
    labels[n - n // 2:] = 1
    return generator(fn, seed, rng), labels


def _finish(points: np.ndarray, labels: np.ndarray, noise: float,
            gen: np.random.Generator) -> Dataset:
    """Add the jitter and shuffle the rows. The jitter is drawn even when noise is 0, so that
    the noise level changes where the points are and nothing else."""
    points = points + noise * gen.standard_normal(points.shape)
    order = gen.permutation(len(labels))
    return points[order], labels[order]


def _polar(radius: np.ndarray, angle: np.ndarray) -> np.ndarray:
    return np.column_stack([radius * np.cos(angle), radius * np.sin(angle)])


def circle(n: int, *, noise: float = 0.0, seed: int | None = None,
           rng: np.random.Generator | None = None) -> Dataset:
    """A disc inside a ring, both centred on the origin: class 1 is spread uniformly over the
    disc of radius 2.5, class 0 over the ring 3.5 <= r <= 5. Only a curved boundary (or
    features like x² + y²) separates them."""
    gen, labels = _start("circle", n, noise, seed, rng)
    inner = labels == 1
    r_min, r_max = np.where(inner, 0.0, 3.5), np.where(inner, 2.5, 5.0)
    # Uniform over the area: the density of r grows like r, so draw r² uniformly.
    radius = np.sqrt(gen.uniform(r_min ** 2, r_max ** 2))
    return _finish(_polar(radius, gen.uniform(0.0, 2 * np.pi, n)), labels, noise, gen)


def xor(n: int, *, noise: float = 0.0, seed: int | None = None,
        rng: np.random.Generator | None = None) -> Dataset:
    """The four quadrants of [-5, 5]²: class 1 where x and y have opposite signs (x·y < 0),
    class 0 where they agree, the XOR of the two signs. Points keep 0.5 away from the axes,
    so the classes are separable before noise, but by no single straight line."""
    gen, labels = _start("xor", n, noise, seed, rng)
    sign_x = gen.choice([-1.0, 1.0], size=n)
    sign_y = np.where(labels == 1, -sign_x, sign_x)
    magnitude = gen.uniform(0.5, 5.0, size=(n, 2))
    return _finish(magnitude * np.column_stack([sign_x, sign_y]), labels, noise, gen)


def two_gaussians(n: int, *, noise: float = 0.0, seed: int | None = None,
                  rng: np.random.Generator | None = None) -> Dataset:
    """Two round Gaussian blobs of standard deviation 1: class 1 centred at (2, 2), class 0
    at (-2, -2). Linearly separable but for a few points; noise widens the blobs to a
    standard deviation of sqrt(1 + noise²)."""
    gen, labels = _start("two_gaussians", n, noise, seed, rng)
    centres = np.where(labels[:, None] == 1, 2.0, -2.0)
    return _finish(centres + gen.standard_normal((n, 2)), labels, noise, gen)


def spiral(n: int, *, noise: float = 0.0, seed: int | None = None,
           rng: np.random.Generator | None = None) -> Dataset:
    """Two interleaved arms of the spiral r = 5t, θ = 3.5πt + kπ for t uniform in [0, 1]:
    class k is arm k, the other arm turned half a circle. Each arm winds 1.75 times around
    the origin, the hardest of the five for a small network."""
    gen, labels = _start("spiral", n, noise, seed, rng)
    t = gen.uniform(0.0, 1.0, n)
    return _finish(_polar(5.0 * t, 3.5 * np.pi * t + np.pi * labels), labels, noise, gen)


def moons(n: int, *, noise: float = 0.0, seed: int | None = None,
          rng: np.random.Generator | None = None) -> Dataset:
    """Two interleaving half circles of radius 1: class 0 is the upper half (cos s, sin s),
    class 1 the lower half (1 - cos s, 1/2 - sin s), s uniform in [0, π]; the pair is then
    centred on the origin and scaled by 3, so x spans [-4.5, 4.5] and y [-2.25, 2.25]."""
    gen, labels = _start("moons", n, noise, seed, rng)
    s = gen.uniform(0.0, np.pi, n)
    lower = labels == 1
    unit = np.column_stack([np.where(lower, 1.0 - np.cos(s), np.cos(s)),
                            np.where(lower, 0.5 - np.sin(s), np.sin(s))])
    return _finish(3.0 * (unit - [0.5, 0.25]), labels, noise, gen)


PLAYGROUND: dict[str, Callable[..., Dataset]] = {
    f.__name__: f for f in (circle, xor, two_gaussians, spiral, moons)}
"""Every generator by name, for loops over the datasets and command-line choices."""
