"""The one way the data functions get their random numbers: a `seed` or a `rng`, never both."""

from __future__ import annotations

import numpy as np

from ..errors import UnsupportedTypeError


def generator(fn: str, seed: int | None, rng: np.random.Generator | None) -> np.random.Generator:
    """`rng` itself if given (its state advances, so successive calls differ), else a new
    Generator from `seed` (None: fresh entropy from the operating system)."""
    if rng is not None:
        if seed is not None:
            raise TypeError(f"{fn}: give seed or rng, not both (got seed={seed!r} and an rng)")
        if not isinstance(rng, np.random.Generator):
            raise UnsupportedTypeError(f"{fn}: rng must be a numpy.random.Generator "
                                       f"(np.random.default_rng(seed)), not {type(rng).__name__}")
        return rng
    bad_seed = f"{fn}: seed must be a non-negative int or None, got {seed!r}"
    if isinstance(seed, bool):  # numpy would take True as the seed 1
        raise UnsupportedTypeError(bad_seed)
    try:
        return np.random.default_rng(seed)
    except (TypeError, ValueError) as e:
        raise UnsupportedTypeError(f"{bad_seed} ({e})") from None
