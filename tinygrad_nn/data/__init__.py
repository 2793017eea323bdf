"""Datasets and the plumbing around them, numpy in and numpy out.

- Toy datasets in the plane (TensorFlow Playground style): `circle`, `xor`, `two_gaussians`,
  `spiral`, `moons`, all in `PLAYGROUND` by name.
- Real data: `load_digits()` (1797 8×8 handwritten digits, shipped with the package),
  `load_mnist(folder)` and `load_idx(path)` for MNIST's IDX files, `load_csv(path)`.
- Preparation: `train_test_split`, `one_hot`, `Standardizer`, `batches`.

Every function that draws random numbers takes ``seed=`` or ``rng=`` (a numpy Generator), so a
run can be repeated exactly.
"""

from .loaders import load_csv, load_digits, load_idx, load_mnist
from .playground import PLAYGROUND, circle, moons, spiral, two_gaussians, xor
from .preprocessing import Standardizer, batches, one_hot, train_test_split

__all__ = [
    "circle", "xor", "two_gaussians", "spiral", "moons", "PLAYGROUND",
    "load_digits", "load_idx", "load_mnist", "load_csv",
    "train_test_split", "one_hot", "Standardizer", "batches",
]
