"""Where layers and dropout get their random numbers: a per-thread default Generator.

Layers take ``seed=`` (an int, a numpy Generator, or None) and dropout takes ``generator=``;
None means this thread's default Generator, which `manual_seed` resets, as ``torch.manual_seed``
does: ``tg.manual_seed(0)`` before building a model makes its initial weights and its dropout
masks reproducible. Each thread has its own default (numpy Generators are not thread-safe), and
a thread that never called `manual_seed` starts from fresh operating-system entropy.
"""

from __future__ import annotations

import threading
from typing import Union

import numpy as np

from .errors import UnsupportedTypeError

Seed = Union[int, np.random.Generator, None]

_local = threading.local()


def manual_seed(seed: int) -> np.random.Generator:
    """Reset this thread's default Generator from `seed`; returns it."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise UnsupportedTypeError(f"manual_seed: seed must be a non-negative int, got {seed!r}")
    _local.generator = np.random.default_rng(int(seed))
    return _local.generator


def default_generator() -> np.random.Generator:
    """This thread's default Generator (made from fresh entropy on first use)."""
    generator = getattr(_local, "generator", None)
    if generator is None:
        generator = _local.generator = np.random.default_rng()
    return generator


def generator(seed: Seed, who: str = "seed") -> np.random.Generator:
    """A Generator from `seed`: a new one from an int, the Generator itself, or for None this
    thread's default one (so successive layers draw different weights)."""
    if seed is None:
        return default_generator()
    if isinstance(seed, np.random.Generator):
        return seed
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise UnsupportedTypeError(f"{who}: seed must be a non-negative int, a "
                                   f"numpy.random.Generator or None; got {seed!r}")
    return np.random.default_rng(int(seed))
