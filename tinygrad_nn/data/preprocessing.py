"""Getting arrays ready for training: split, one-hot encode, standardize, iterate in batches."""

from __future__ import annotations

from numbers import Integral, Real
from typing import Any, Iterator

import numpy as np

from ..errors import DomainError, ShapeError, UnsupportedTypeError
from ._random import generator


def _samples(fn: str, X: Any, y: Any) -> tuple[np.ndarray, np.ndarray]:
    """X and y as arrays with the same number of samples (rows)."""
    X, y = np.asarray(X), np.asarray(y)
    if X.ndim == 0 or y.ndim == 0:
        raise ShapeError(f"{fn}: X and y need one row per sample; got shapes {X.shape} and "
                         f"{y.shape}")
    if len(X) != len(y):
        raise ShapeError(f"{fn}: X has {len(X)} samples (shape {X.shape}) but y has {len(y)} "
                         f"(shape {y.shape})")
    return X, y


def _test_count(test_size: float | int, n: int) -> int:
    """How many of n samples go to the test set: a count, or round(test_size·n) for a fraction."""
    if isinstance(test_size, bool) or not isinstance(test_size, Real):
        raise UnsupportedTypeError(f"train_test_split: test_size must be a fraction or a count, "
                                   f"got {test_size!r}")
    if isinstance(test_size, Integral):
        count = int(test_size)
    elif 0 < test_size < 1:
        count = max(1, round(test_size * n))
    else:
        raise DomainError(f"train_test_split: a fractional test_size must lie in (0, 1), "
                          f"got {test_size}")
    if not 1 <= count <= n - 1:
        raise DomainError(f"train_test_split: test_size={test_size} puts {count} of {n} samples "
                          "in the test set; both sets need at least one")
    return count


def _stratified_test_mask(labels: np.ndarray, n_test: int, gen: np.random.Generator) -> np.ndarray:
    """Which samples go to the test set so that each class c gives floor or ceil of its quota
    n_test·n_c/n (Hamilton's largest-remainder rule: the seats left after flooring go to the
    largest fractions, ties at random). Takes the first samples of each class in `labels`'
    order, which is random."""
    _, cls, counts = np.unique(labels, return_inverse=True, return_counts=True)
    quota = n_test * counts / len(labels)
    take = np.floor(quota).astype(np.int64)
    left = n_test - int(take.sum())
    take[np.lexsort((gen.random(len(counts)), take - quota))[:left]] += 1
    rank = np.empty(len(labels), dtype=np.int64)  # position of each sample within its class
    rank[np.argsort(cls, kind="stable")] = (np.arange(len(labels))
                                            - np.repeat(np.cumsum(counts) - counts, counts))
    return rank < take[cls]


def train_test_split(X: Any, y: Any, test_size: float | int = 0.2, *, stratify: bool = False,
                     seed: int | None = None, rng: np.random.Generator | None = None
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Split samples at random into ``X_train, X_test, y_train, y_test``.

    ``test_size`` is a fraction (the test set gets round(test_size·n) samples, at least 1) or
    a count. With ``stratify=True`` (``y`` labels of shape (n,)) every class keeps its share:
    a class of n_c samples puts floor or ceil of n_test·n_c/n of them in the test set.
    """
    X, y = _samples("train_test_split", X, y)
    n_test = _test_count(test_size, len(X))
    gen = generator("train_test_split", seed, rng)
    order = gen.permutation(len(X))
    if not stratify:
        test, train = order[:n_test], order[n_test:]
    elif y.ndim != 1:
        raise ShapeError(f"train_test_split: stratify needs labels of shape (n,), got y of shape "
                         f"{y.shape}")
    else:
        in_test = _stratified_test_mask(y[order], n_test, gen)
        test, train = order[in_test], order[~in_test]
    return X[train], X[test], y[train], y[test]


def one_hot(y: Any, num_classes: int | None = None) -> np.ndarray:
    """Integer labels of shape (n,) as float64 rows of shape (n, num_classes): row i is 1 in
    column y[i] and 0 elsewhere. ``num_classes`` defaults to max(y) + 1."""
    y = np.asarray(y)
    if y.ndim != 1:
        raise ShapeError(f"one_hot: needs labels of shape (n,), got shape {y.shape}")
    whole = y.dtype.kind in "iu" or (y.dtype.kind == "f" and np.all(np.mod(y, 1) == 0))
    if not whole:
        raise UnsupportedTypeError(f"one_hot: labels must be whole numbers, got dtype {y.dtype}: "
                                   f"{y[:5]}")
    labels = y.astype(np.int64)
    if num_classes is None:
        num_classes = int(labels.max()) + 1 if labels.size else 0
    elif isinstance(num_classes, bool) or not isinstance(num_classes, Integral):
        raise UnsupportedTypeError(f"one_hot: num_classes must be an int, got {num_classes!r}")
    bad = np.flatnonzero((labels < 0) | (labels >= num_classes))
    if bad.size:
        raise DomainError(f"one_hot: labels must lie in 0..{num_classes - 1}; got {y[bad[0]]} "
                          f"at index {bad[0]}")
    out = np.zeros((len(labels), num_classes))
    out[np.arange(len(labels)), labels] = 1.0
    return out


class Standardizer:
    """Rescale every feature to mean 0 and standard deviation 1: z = (x - mean) / std, with the
    mean and std of the training data (``Standardizer.fit(X_train)``), applied unchanged to
    test data, so the test set tells the model nothing about itself. A constant feature
    (std 0, like the always-blank corner pixels of the digits) gets std 1: it becomes 0."""

    __slots__ = ("mean", "std")

    def __init__(self, mean: Any, std: Any):
        self.mean = np.asarray(mean, dtype=np.float64)
        self.std = np.asarray(std, dtype=np.float64)
        if self.mean.shape != self.std.shape or self.mean.ndim != 1:
            raise ShapeError(f"Standardizer: mean and std need the same shape (features,), got "
                             f"{self.mean.shape} and {self.std.shape}")
        if not np.all(self.std > 0):
            raise DomainError(f"Standardizer: std must be positive, got {self.std}")

    @classmethod
    def fit(cls, X: Any) -> "Standardizer":
        """Measure the mean and standard deviation of each column of X, shape (n, features)."""
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2 or len(X) == 0:
            raise ShapeError(f"Standardizer.fit: needs samples of shape (n, features) with n >= 1, "
                             f"got shape {X.shape}")
        std = X.std(axis=0)
        return cls(X.mean(axis=0), np.where(std > 0, std, 1.0))

    def transform(self, X: Any) -> np.ndarray:
        """(X - mean) / std for X of shape (n, features) or one sample (features,)."""
        X = np.asarray(X, dtype=np.float64)
        if X.ndim not in (1, 2) or X.shape[-1] != len(self.mean):
            raise ShapeError(f"Standardizer.transform: fitted on {len(self.mean)} features, got "
                             f"shape {X.shape}")
        return (X - self.mean) / self.std

    def __repr__(self) -> str:
        return f"Standardizer({len(self.mean)} features)"


def batches(X: Any, y: Any, batch_size: int, *, shuffle: bool = True, seed: int | None = None,
            rng: np.random.Generator | None = None) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Iterate over ``(X_batch, y_batch)`` pairs of ``batch_size`` samples (the last one may be
    smaller) that together cover every sample once: one epoch. With ``shuffle`` the order is
    a fresh random permutation (pass one ``rng`` to get a different order every epoch)."""
    X, y = _samples("batches", X, y)
    if isinstance(batch_size, bool) or not isinstance(batch_size, Integral) or batch_size < 1:
        raise DomainError(f"batches: batch_size must be a positive int, got {batch_size!r}")
    order = generator("batches", seed, rng).permutation(len(X)) if shuffle else np.arange(len(X))
    # A generator expression, not a generator function: the checks above run at the call.
    chunks = (order[start:start + batch_size] for start in range(0, len(order), batch_size))
    return ((X[idx], y[idx]) for idx in chunks)
