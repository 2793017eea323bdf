"""`MultiheadAttention`, as ``torch.nn.MultiheadAttention``: same parameters, state_dict keys,
initialisation, masks and shapes, so a torch model's weights load and give torch's outputs."""

from __future__ import annotations

import math
from typing import Any, Optional, Tuple

import numpy as np

from .. import init
from ..engine import Value, constant
from ..errors import ShapeError
from ..ops import broadcast_to, concatenate, linear, pad
from ..random import Seed, generator
from .functional.attention import attend, split_mask
from .linear import Linear
from .module import Module

__all__ = ["MultiheadAttention"]


def _project(x: Value, weight: Value, bias: Optional[Value]) -> Value:
    """x Wᵀ + b, or x Wᵀ without a bias (bias=False)."""
    return x @ weight.T if bias is None else linear(x, weight, bias)


def _extra_key(allowed: Optional[np.ndarray], bias: Any) -> Tuple[Optional[np.ndarray], Any]:
    """The masks (..., S) with one more key at the end, open to every query: for bias_k and
    add_zero_attn (torch pads its masks the same way)."""
    if allowed is not None:
        allowed = np.concatenate([allowed, np.ones(allowed.shape[:-1] + (1,), bool)], axis=-1)
    if bias is not None:
        bias = pad(bias, [(0, 0)] * (bias.ndim - 1) + [(0, 1)])
    return allowed, bias


class MultiheadAttention(Module):
    """Attention over `num_heads` heads of size embed_dim / num_heads:
    out_proj(concat_h softmax(q_h k_hᵀ / √head_dim + mask) v_h), with q, k, v projections of
    query, key and value.

    Parameters as torch: `in_proj_weight` (3E, E) stacking the q, k, v projections, or
    `q_proj_weight` (E, E), `k_proj_weight` (E, kdim), `v_proj_weight` (E, vdim) when kdim or
    vdim differ from embed_dim; `in_proj_bias` (3E,); `bias_k`, `bias_v` (1, 1, E) with
    `add_bias_kv`; `out_proj`, a Linear(E, E). Initialised as torch: Xavier-uniform projection
    weights, zero biases, out_proj.weight as a Linear's, bias_k and bias_v Xavier-normal.
    `dropout` applies to the attention weights in training mode, drawn from this thread's
    default Generator (see `tinygrad_nn.manual_seed`); `seed` is for the initial weights.
    """

    def __init__(self, embed_dim: int, num_heads: int, dropout: float = 0.0, bias: bool = True,
                 add_bias_kv: bool = False, add_zero_attn: bool = False,
                 kdim: Optional[int] = None, vdim: Optional[int] = None,
                 batch_first: bool = False, *, dtype: Any = np.float64, seed: Seed = None):
        if embed_dim <= 0 or num_heads <= 0:
            raise ValueError(f"MultiheadAttention: embed_dim and num_heads must be positive; "
                             f"got {embed_dim} and {num_heads}")
        if embed_dim % num_heads:
            raise ValueError(f"MultiheadAttention: embed_dim ({embed_dim}) must be divisible by "
                             f"num_heads ({num_heads})")
        if not 0.0 <= dropout <= 1.0:
            raise ValueError(f"MultiheadAttention: dropout must be in [0, 1]; got {dropout}")
        rng = generator(seed, "MultiheadAttention")
        E = self.embed_dim = int(embed_dim)
        self.kdim = E if kdim is None else int(kdim)
        self.vdim = E if vdim is None else int(vdim)
        self.num_heads, self.head_dim = int(num_heads), E // int(num_heads)
        self.dropout, self.batch_first = float(dropout), bool(batch_first)
        self.add_zero_attn = bool(add_zero_attn)
        self._qkv_same_embed_dim = self.kdim == E and self.vdim == E

        def weight(shape: Tuple[int, ...], label: str) -> Value:
            return Value(init.xavier_uniform(shape, rng).astype(dtype), label=label)

        self.in_proj_weight: Optional[Value] = None
        self.q_proj_weight: Optional[Value] = None
        self.k_proj_weight: Optional[Value] = None
        self.v_proj_weight: Optional[Value] = None
        if self._qkv_same_embed_dim:
            self.in_proj_weight = weight((3 * E, E), "in_proj_weight")
        else:
            self.q_proj_weight = weight((E, E), "q_proj_weight")
            self.k_proj_weight = weight((E, self.kdim), "k_proj_weight")
            self.v_proj_weight = weight((E, self.vdim), "v_proj_weight")
        self.in_proj_bias = Value(np.zeros(3 * E, dtype), label="in_proj_bias") if bias else None
        self.bias_k: Optional[Value] = None
        self.bias_v: Optional[Value] = None
        if add_bias_kv:
            # torch's Xavier-normal fans for a (1, 1, E) tensor are E and E: std = 1/√E
            self.bias_k, self.bias_v = (Value(rng.normal(0.0, 1.0 / math.sqrt(E), (1, 1, E))
                                              .astype(dtype), label=name)
                                        for name in ("bias_k", "bias_v"))
        self.out_proj = Linear(E, E, bias=bias, dtype=dtype, seed=rng)
        if self.out_proj.bias is not None:
            self.out_proj.bias.data[...] = 0.0

    def _projections(self, query: Value, key: Value, value: Value) -> Tuple[Value, ...]:
        """q, k, v: the inputs (N, ·, features) through their projections, (N, ·, E) each."""
        E = self.embed_dim
        b = self.in_proj_bias
        bq, bk, bv = (None, None, None) if b is None else (b[:E], b[E:2 * E], b[2 * E:])
        if self.in_proj_weight is not None:
            w = self.in_proj_weight
            wq, wk, wv = w[:E], w[E:2 * E], w[2 * E:]
        else:
            assert self.q_proj_weight is not None and self.k_proj_weight is not None \
                and self.v_proj_weight is not None
            wq, wk, wv = self.q_proj_weight, self.k_proj_weight, self.v_proj_weight
        return _project(query, wq, bq), _project(key, wk, bk), _project(value, wv, bv)

    def _check(self, query: Value, key: Value, value: Value) -> bool:
        """Whether the inputs are batched (3-D) rather than one sequence (2-D); checks shapes."""
        batched = query.ndim == 3
        if query.ndim not in (2, 3) or key.ndim != query.ndim or value.ndim != query.ndim:
            raise ShapeError(f"{self!r}: query, key and value must all be 3-D (batched) or all "
                             f"2-D (one sequence); got shapes {query.shape}, {key.shape}, "
                             f"{value.shape}")
        features = (query.shape[-1], key.shape[-1], value.shape[-1])
        if features != (self.embed_dim, self.kdim, self.vdim):
            raise ShapeError(f"{self!r}: expected query, key and value with {self.embed_dim}, "
                             f"{self.kdim} and {self.vdim} features; got shapes {query.shape}, "
                             f"{key.shape}, {value.shape}")
        if key.shape[:-1] != value.shape[:-1]:
            raise ShapeError(f"{self!r}: key {key.shape} and value {value.shape} must have the "
                             f"same length and batch")
        batch_axis = 0 if self.batch_first else 1
        if batched and query.shape[batch_axis] != key.shape[batch_axis]:
            raise ShapeError(f"{self!r}: query {query.shape} and key {key.shape} have different "
                             f"batch sizes (batch_first={self.batch_first})")
        return batched

    def _masks(self, attn_mask: Any, key_padding_mask: Any, N: int, L: int, S: int,
               batched: bool) -> Tuple[Optional[np.ndarray], Any]:
        """torch's two masks (bool: True = may NOT attend; float: added) as one (allowed, bias)
        pair over the scores (N, H, L, S)."""
        H, who = self.num_heads, repr(self)
        allowed: Optional[np.ndarray] = None
        bias: Any = None
        if attn_mask is not None:
            shape = np.shape(attn_mask.data if isinstance(attn_mask, Value) else attn_mask)
            wanted = [(L, S), (N * H, L, S) if batched else (H, L, S)]
            if shape not in wanted:
                raise ShapeError(f"{who}: attn_mask must have shape {wanted[0]} or {wanted[1]}; "
                                 f"got {shape}")
            block, bias = split_mask(attn_mask, who)
            per_head = (-1, H, L, S) if len(shape) == 3 else (L, S)
            allowed = None if block is None else ~block.reshape(per_head)
            bias = None if bias is None else bias.reshape(per_head)
        if key_padding_mask is not None:
            shape = np.shape(key_padding_mask.data if isinstance(key_padding_mask, Value)
                             else key_padding_mask)
            if shape != ((N, S) if batched else (S,)):
                raise ShapeError(f"{who}: key_padding_mask must have shape "
                                 f"{(N, S) if batched else (S,)}; got {shape}")
            block, added = split_mask(key_padding_mask, who)
            if block is not None:
                keep = ~block.reshape(N, 1, 1, S)
                allowed = keep if allowed is None else allowed & keep
            else:
                added = added.reshape(N, 1, 1, S)
                bias = added if bias is None else bias + added
        return allowed, bias

    def forward(self, query: Any, key: Any, value: Any, key_padding_mask: Any = None,
                need_weights: bool = True, attn_mask: Any = None,
                average_attn_weights: bool = True,
                is_causal: bool = False) -> Tuple[Value, Optional[Value]]:
        """(attn_output, attn_weights) as torch: query (L, N, E), key (S, N, kdim), value
        (S, N, vdim) — (N, L, E) ... with batch_first — or unbatched (L, E), (S, kdim),
        (S, vdim); output of query's shape; weights (N, L, S) averaged over heads, or
        (N, H, L, S) with average_attn_weights=False (no N when unbatched), None unless
        need_weights. Masks: key_padding_mask (N, S) and attn_mask (L, S) or (N·H, L, S), bool
        (True: may NOT attend, torch's convention here) or float (added to the scores).
        is_causal is torch's hint that attn_mask is a causal mask: it needs attn_mask, which is
        then used as it is. A query whose keys are all masked gets zeros where torch gives NaN."""
        who = repr(self)
        q, k, v = constant(query, who), constant(key, who), constant(value, who)
        batched = self._check(q, k, v)
        if is_causal and attn_mask is None:
            raise ValueError(f"{who}: is_causal=True is a hint that attn_mask is causal; give "
                             f"the mask too")
        if not batched:
            q, k, v = q.reshape(1, *q.shape), k.reshape(1, *k.shape), v.reshape(1, *v.shape)
        elif not self.batch_first:
            q, k, v = q.swapaxes(0, 1), k.swapaxes(0, 1), v.swapaxes(0, 1)
        (N, L, E), S, H, d = q.shape, k.shape[1], self.num_heads, self.head_dim
        allowed, bias = self._masks(attn_mask, key_padding_mask, N, L, S, batched)
        q, k, v = self._projections(q, k, v)
        if self.bias_k is not None and self.bias_v is not None:
            k = concatenate([k, broadcast_to(self.bias_k, (N, 1, E))], axis=1)
            v = concatenate([v, broadcast_to(self.bias_v, (N, 1, E))], axis=1)
            allowed, bias = _extra_key(allowed, bias)
        q = q.reshape(N, L, H, d).swapaxes(1, 2)
        k = k.reshape(N, -1, H, d).swapaxes(1, 2)
        v = v.reshape(N, -1, H, d).swapaxes(1, 2)
        if self.add_zero_attn:
            zeros = np.zeros((N, H, 1, d), k.dtype)
            k, v = concatenate([k, zeros], axis=2), concatenate([v, zeros], axis=2)
            allowed, bias = _extra_key(allowed, bias)
        p = self.dropout if self.training else 0.0
        out, weights = attend(q, k, v, allowed, bias, 1.0 / math.sqrt(d), p, None)
        out = self.out_proj(out.swapaxes(1, 2).reshape(N, L, E))
        if not batched:
            out, weights = out.reshape(L, E), weights.reshape(H, L, -1)
        elif not self.batch_first:
            out = out.swapaxes(0, 1)
        if not need_weights:
            return out, None
        return out, weights.mean(axis=-3) if average_attn_weights else weights

    def __repr__(self) -> str:
        return (f"MultiheadAttention(embed_dim={self.embed_dim}, num_heads={self.num_heads}, "
                f"dropout={self.dropout}, batch_first={self.batch_first})")
