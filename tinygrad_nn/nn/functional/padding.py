"""Padding as PyTorch's ``torch.nn.functional.pad`` does it: torch's pad tuple, its four modes
and its rules for each.

The pad tuple gives (before, after) pairs from the last axis backwards: ``(1, 2)`` pads the last
axis, ``(1, 2, 3, 4)`` the last two (the last by 1 and 2, the one before it by 3 and 4). A
negative width crops. The modes, built on `tinygrad_nn.ops.pad` and slicing:

- ``constant``: `value` (0 by default) outside the input; any rank. It crops, then pads (one
  `ops.pad`), so crops larger than the axis are refused, as torch refuses them;
- ``reflect``: the input mirrored at its border, the border not repeated (widths smaller than
  the axis); ``replicate``: the border element repeated. Both pad first and crop after, so
  that a crop on one side and a pad on the other see the whole axis, as in torch;
- ``circular``: the other end of the axis wrapped around (widths at most the axis), after
  cropping. Torch also accepts a wrap larger than what is left after cropping, where its result
  comes from overlapping copies (and changes from run to run); that is refused here.

The modes other than constant pad the last 1, 2 or 3 axes of an input with one or two axes
before them (torch's batched and unbatched layouts), as torch requires.
"""

from __future__ import annotations

import operator
from typing import Any, Optional, Sequence

from ...engine import Value, constant
from ...errors import ShapeError
from ...ops import concatenate
from ...ops import pad as pad_op

__all__ = ["pad"]

PAD_MODES = ("constant", "reflect", "replicate", "circular")
_OPS_MODES = {"reflect": "reflect", "replicate": "edge"}  # ops.pad's names for them


def pad_pairs(pad: Sequence[int], shape: tuple, who: str) -> tuple:
    """torch's pad tuple as (before, after) pairs for the axes it pads, first axis first."""
    try:
        widths = [operator.index(w) for w in pad]
    except TypeError:
        raise ShapeError(f"{who}: pad must be a sequence of ints, got {pad!r}") from None
    if len(widths) % 2:
        raise ShapeError(f"{who}: pad {tuple(pad)} must have an even length: (before, after) "
                         "pairs from the last axis backwards")
    if len(widths) > 2 * len(shape):
        raise ShapeError(f"{who}: pad {tuple(pad)} gives {len(widths) // 2} pairs for an input of "
                         f"shape {shape}, which has {len(shape)} axes")
    return tuple((widths[i], widths[i + 1]) for i in range(len(widths) - 2, -1, -2))


def pad(input: Any, pad: Sequence[int], mode: str = "constant",
        value: Optional[float] = None) -> Value:
    """torch's F.pad: `input` padded (or cropped, by negative widths) by the pad tuple, in mode
    'constant' (filled with `value`, default 0), 'reflect', 'replicate' or 'circular'."""
    x = constant(input, "pad")
    shape = tuple(x.shape)
    pairs = pad_pairs(pad, shape, "pad")
    if mode not in PAD_MODES:
        raise ShapeError(f"pad: mode must be one of {PAD_MODES}, got {mode!r}")
    lead = len(shape) - len(pairs)
    if mode != "constant":
        if value is not None and value != 0:
            raise ShapeError(f"pad: mode {mode!r} takes no value (got value={value})")
        if not 1 <= len(pairs) <= 3 or lead not in (1, 2):
            raise ShapeError(f"pad: mode {mode!r} pads the last 1, 2 or 3 axes of an input with "
                             f"one or two axes before them; pad {tuple(pad)} gives {len(pairs)} "
                             f"pair(s) for an input of shape {shape}")
    spatial = shape[lead:]
    for k, ((before, after), n) in enumerate(zip(pairs, spatial)):
        too_wide = max(before, after) >= n if mode == "reflect" else \
            mode == "circular" and max(before, after) > n
        if too_wide:
            bound = "smaller than" if mode == "reflect" else "at most"
            raise ShapeError(f"pad: {mode} padding ({before}, {after}) of axis {lead + k} must "
                             f"be {bound} its size {n} (input shape {shape})")
        if n + before + after < 0:
            raise ShapeError(f"pad: padding ({before}, {after}) crops more than the {n} "
                             f"element(s) of axis {lead + k} (input shape {shape})")
    if mode == "constant":  # crops, then pads: torch refuses crops larger than the axis
        return pad_op(x, ((0, 0),) * lead + pairs,
                      constant_values=0.0 if value is None else float(value))
    if mode == "circular":
        return _wrapped(_cropped(x, pairs, spatial, lead), pairs, lead)
    grow = tuple((max(b, 0), max(a, 0)) for b, a in pairs)
    if any(b or a for b, a in grow):
        x = pad_op(x, ((0, 0),) * lead + grow, mode=_OPS_MODES[mode])
    grown = tuple(n + b + a for (b, a), n in zip(grow, spatial))
    return _cropped(x, pairs, grown, lead)


def _cropped(x: Value, pairs: tuple, spatial: tuple, lead: int) -> Value:
    """x without what the negative widths of `pairs` crop (a basic slice: a view)."""
    if all(b >= 0 and a >= 0 for b, a in pairs):
        return x
    return x[(slice(None),) * lead + tuple(slice(max(-b, 0), n - max(-a, 0))
                                           for (b, a), n in zip(pairs, spatial))]


def _wrapped(x: Value, pairs: tuple, lead: int) -> Value:
    """x (already cropped) with the positive widths of `pairs` wrapped around from the other end
    of each axis, one axis at a time, so that the corners wrap on both."""
    for k, (before, after) in enumerate(pairs):
        axis, (before, after) = lead + k, (max(before, 0), max(after, 0))
        n = x.shape[axis]
        if max(before, after) > n:
            raise ShapeError(f"pad: circular padding {pairs[k]} of axis {axis} wraps around more "
                             f"than once: {n} element(s) are left after cropping")
        at = (slice(None),) * axis
        pieces = ([x[at + (slice(n - before, None),)]] if before else []) + [x] + \
            ([x[at + (slice(0, after),)]] if after else [])
        x = concatenate(pieces, axis=axis) if len(pieces) > 1 else x
    return x
