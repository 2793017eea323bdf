"""Scaled dot-product attention, as ``torch.nn.functional.scaled_dot_product_attention``.

softmax(q kᵀ · scale + mask) v, built from ops (matmul, where, softmax), so every derivative
order comes with it. `attend` is the shared core: it also returns the attention weights, which
`tinygrad_nn.nn.MultiheadAttention` hands back to its caller.
"""

from __future__ import annotations

import math
from typing import Any, Optional, Tuple

import numpy as np

from ...engine import Value, constant
from ...errors import ShapeError, UnsupportedTypeError
from ...ops import index_select, softmax, where
from ...random import Seed
from .dropout import dropout

__all__ = ["scaled_dot_product_attention"]


def attend(q: Value, k: Value, v: Value, allowed: Optional[np.ndarray], bias: Any, scale: float,
           dropout_p: float, generator: Seed) -> Tuple[Value, Value]:
    """(softmax(q kᵀ · scale + bias, masked to `allowed`) v, the weights after dropout).

    `allowed` is a bool array (True: may attend) and `bias` an additive float mask (array or
    Value); either may be None, and both broadcast against the scores (..., L, S). A query whose
    every key is blocked (by `allowed` or by a bias of -inf) gets zero weights, hence a zero
    output and zero gradients, instead of softmax's 0/0 = NaN: what torch's
    scaled_dot_product_attention gives too."""
    scores = (q @ k.swapaxes(-1, -2)) * scale
    blocked = None
    if bias is not None:
        scores = scores + bias
        blocked = np.isneginf(bias.data if isinstance(bias, Value) else bias)
    if allowed is not None:
        scores = where(allowed, scores, -np.inf)
        blocked = ~allowed if blocked is None else blocked | ~allowed
    dead = None
    if blocked is not None:
        dead = np.broadcast_to(blocked, scores.shape).all(axis=-1, keepdims=True)
        if dead.any():
            scores = where(dead, 0.0, scores)
        else:
            dead = None
    weights = softmax(scores, axis=-1)
    if dead is not None:
        weights = where(dead, 0.0, weights)
    weights = dropout(weights, dropout_p, training=dropout_p > 0.0, generator=generator)
    return weights @ v, weights


def split_mask(mask: Any, who: str) -> Tuple[Optional[np.ndarray], Any]:
    """(allowed, bias) from a torch attention mask: a bool one says where a query may attend
    (SDPA's convention), a float one (array or Value) is added to the scores."""
    if mask is None:
        return None, None
    if isinstance(mask, Value):
        return None, mask
    array = np.asarray(mask)
    if array.dtype == bool:
        return array, None
    if not np.issubdtype(array.dtype, np.floating):
        raise UnsupportedTypeError(f"{who}: a mask is bool (True: may attend) or float (added "
                                   f"to the scores); got dtype {array.dtype}")
    return None, constant(array, who)


def _check_mask(mask: Any, scores_shape: tuple, who: str) -> None:
    """A mask must broadcast to the scores' shape (..., L, S) without growing it."""
    shape = np.shape(mask.data if isinstance(mask, Value) else mask)
    try:
        fits = np.broadcast_shapes(shape, scores_shape) == scores_shape
    except ValueError:
        fits = False
    if not fits:
        raise ShapeError(f"{who}: attn_mask of shape {shape} does not broadcast to the attention "
                         f"scores' shape {scores_shape} (..., L, S)")


def _repeat_heads(x: Value, heads: int, who: str) -> Value:
    """Grouped-query attention: each of x's key/value heads (axis -3) serves heads / n queries."""
    if x.ndim < 3:
        raise ShapeError(f"{who}: enable_gqa needs inputs with a head axis (..., H, S, E); got "
                         f"shape {x.shape}")
    n = x.shape[-3]
    if n == heads:
        return x
    if heads % n:
        raise ShapeError(f"{who}: with enable_gqa the query's {heads} heads must be a multiple "
                         f"of the key/value heads, {n}")
    return index_select(x, axis=x.ndim - 3, index=np.arange(heads) // (heads // n))


def scaled_dot_product_attention(query: Any, key: Any, value: Any, attn_mask: Any = None,
                                 dropout_p: float = 0.0, is_causal: bool = False,
                                 scale: Optional[float] = None, enable_gqa: bool = False, *,
                                 generator: Seed = None) -> Value:
    """softmax(query keyᵀ · scale + mask) value for query (..., L, E), key (..., S, E) and value
    (..., S, Ev), giving (..., L, Ev); leading (batch, head) axes broadcast.

    - `attn_mask` broadcasts to (..., L, S): bool (True: may attend) or float (added to the
      scores; -inf blocks).
    - `is_causal`: query i attends to keys 0..i (top-left aligned when L != S, as torch); an
      error together with `attn_mask`.
    - `scale` defaults to 1/√E.
    - `dropout_p` > 0 zeroes attention weights with that probability (the rest scaled by
      1/(1 - p)), always, as torch does (callers pass 0.0 in evaluation); the mask is drawn from
      `generator` (an int, a numpy Generator, or None for this thread's default, see
      `tinygrad_nn.manual_seed`), a keyword torch does not have.
    - `enable_gqa`: the query may have more heads (axis -3) than key and value, a multiple of
      theirs; each key/value head serves a group of consecutive query heads.

    A query row whose keys are all masked gives zeros (with zero gradients), as torch 2.x's
    scaled_dot_product_attention does (torch's MultiheadAttention gives NaN there)."""
    who = "scaled_dot_product_attention"
    q, k, v = constant(query, who), constant(key, who), constant(value, who)
    if q.ndim < 2 or k.ndim < 2 or v.ndim < 2:
        raise ShapeError(f"{who}: query, key and value need at least 2 dimensions (..., L, E); "
                         f"got shapes {q.shape}, {k.shape}, {v.shape}")
    if q.shape[-1] != k.shape[-1]:
        raise ShapeError(f"{who}: query and key must have the same embedding size E (last "
                         f"axis); got shapes {q.shape} and {k.shape}")
    if k.shape[-2] != v.shape[-2]:
        raise ShapeError(f"{who}: key and value must have the same length S (second to last "
                         f"axis); got shapes {k.shape} and {v.shape}")
    if enable_gqa:
        k, v = _repeat_heads(k, q.shape[-3], who), _repeat_heads(v, q.shape[-3], who)
    try:
        batch = np.broadcast_shapes(q.shape[:-2], k.shape[:-2], v.shape[:-2])
    except ValueError:
        raise ShapeError(f"{who}: the leading (batch, head) axes of query {q.shape}, key "
                         f"{k.shape} and value {v.shape} do not broadcast") from None
    L, S = q.shape[-2], k.shape[-2]
    if is_causal:
        if attn_mask is not None:
            raise ValueError(f"{who}: give attn_mask or is_causal=True, not both")
        attn_mask = np.tri(L, S, dtype=bool)
    allowed, bias = split_mask(attn_mask, who)
    if attn_mask is not None:
        _check_mask(attn_mask, (*batch, L, S), who)
    out, _ = attend(q, k, v, allowed, bias, 1.0 / math.sqrt(q.shape[-1]) if scale is None
                    else float(scale), float(dropout_p), generator)
    return out
