"""The transformer of "Attention Is All You Need", as ``torch.nn``'s: `TransformerEncoderLayer`,
`TransformerDecoderLayer`, the stacks `TransformerEncoder` and `TransformerDecoder`, and the
whole encoder-decoder `Transformer`. Sub-modules, parameters and state_dict keys are torch's
(``encoder.layers.0.self_attn.in_proj_weight`` ...), so a torch model's weights load and give
its outputs.

Every input takes torch's "math path": torch's fast path (nested tensors, fused kernels, used
by torch in eval mode without gradients) is an implementation detail with the same results,
except that it gives zeros at padded positions; here padded positions get their computed values,
as on torch's math path. Masks follow `MultiheadAttention`: bool ones mark with True what may
NOT be attended, float ones are added to the scores. The is_causal flags are torch's hints that
the mask given is causal: the mask is always used as it is, so they never change a result.
"""

from __future__ import annotations

import copy
from typing import Any, Callable, Dict, Optional, Union

import numpy as np

from .. import init
from ..engine import Value, constant
from ..errors import ShapeError
from ..random import Seed, generator
from . import functional as F
from .attention import MultiheadAttention
from .dropout import Dropout
from .linear import Linear
from .module import Module, ModuleList
from .normalization import LayerNorm

__all__ = ["TransformerEncoderLayer", "TransformerDecoderLayer", "TransformerEncoder",
           "TransformerDecoder", "Transformer"]

Activation = Union[str, Callable[[Value], Value]]


def _activation(activation: Activation, who: str) -> Callable[[Value], Value]:
    """The feed-forward activation: 'relu' or 'gelu' by name (torch's legacy strings; the
    function, not a module, is kept, as torch does), or any callable (a module too)."""
    if isinstance(activation, str):
        named: Dict[str, Callable[[Value], Value]] = {"relu": F.relu, "gelu": F.gelu}
        if activation not in named:
            raise ValueError(f"{who}: activation should be 'relu' or 'gelu' (or a callable); got "
                             f"{activation!r}")
        return named[activation]
    if not callable(activation):
        raise TypeError(f"{who}: activation must be 'relu', 'gelu' or a callable; got "
                        f"{type(activation).__name__}")
    return activation


def _check_sizes(who: str, d_model: int, nhead: int, dim_feedforward: int) -> None:
    if d_model <= 0 or nhead <= 0 or dim_feedforward <= 0:
        raise ValueError(f"{who}: d_model, nhead and dim_feedforward must be positive; got "
                         f"{d_model}, {nhead} and {dim_feedforward}")
    if d_model % nhead:
        raise ValueError(f"{who}: d_model ({d_model}) must be divisible by nhead ({nhead})")


def _sequence(x: Any, name: str, d_model: int, who: str) -> Value:
    """`x` as a Value, checked to be (L, N, d_model), (N, L, d_model) or unbatched (L, d_model)."""
    x = constant(x, who)
    if x.ndim not in (2, 3) or x.shape[-1] != d_model:
        raise ShapeError(f"{who}: {name} must be (L, N, {d_model}), (N, L, {d_model}) with "
                         f"batch_first, or unbatched (L, {d_model}); got shape {x.shape}")
    return x


class _Layer(Module):
    """What both layers share: the self-attention block and the feed-forward block, each
    followed by its dropout (the sub-modules themselves are made by each layer, in torch's
    order, which fixes the state_dict's)."""

    self_attn: MultiheadAttention
    linear1: Linear
    linear2: Linear
    dropout: Dropout
    dropout1: Dropout
    activation: Callable[[Value], Value]
    norm_first: bool

    def _sa_block(self, x: Value, mask: Any, padding: Any, is_causal: bool) -> Value:
        out, _ = self.self_attn(x, x, x, attn_mask=mask, key_padding_mask=padding,
                                need_weights=False, is_causal=is_causal)
        return self.dropout1(out)

    def _ff_block(self, x: Value, last: Dropout) -> Value:
        return last(self.linear2(self.dropout(self.activation(self.linear1(x)))))


class TransformerEncoderLayer(_Layer):
    """Self-attention then a feed-forward network (linear1, activation, linear2), each added to
    its input (a residual) and layer-normalised: norm after each sum by default, or with
    `norm_first` before each block (the pre-norm transformer). As ``torch.nn``'s, with
    sub-modules self_attn, linear1, dropout, linear2, norm1, norm2, dropout1, dropout2 (and
    activation, if a module). `seed` (int, Generator, or None for the thread's default) draws
    the initial weights; dropout draws from the thread's default Generator."""

    def __init__(self, d_model: int, nhead: int, dim_feedforward: int = 2048,
                 dropout: float = 0.1, activation: Activation = "relu",
                 layer_norm_eps: float = 1e-5, batch_first: bool = False,
                 norm_first: bool = False, bias: bool = True, *, dtype: Any = np.float64,
                 seed: Seed = None):
        who = type(self).__name__
        _check_sizes(who, d_model, nhead, dim_feedforward)
        rng = generator(seed, who)
        self.d_model = int(d_model)
        self.self_attn = MultiheadAttention(d_model, nhead, dropout=dropout, bias=bias,
                                            batch_first=batch_first, dtype=dtype, seed=rng)
        self.linear1 = Linear(d_model, dim_feedforward, bias=bias, dtype=dtype, seed=rng)
        self.dropout = Dropout(dropout)
        self.linear2 = Linear(dim_feedforward, d_model, bias=bias, dtype=dtype, seed=rng)
        self.norm_first = bool(norm_first)
        self.norm1 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, dtype=dtype)
        self.norm2 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, dtype=dtype)
        self.dropout1 = Dropout(dropout)
        self.dropout2 = Dropout(dropout)
        self.activation = _activation(activation, who)

    def forward(self, src: Any, src_mask: Any = None, src_key_padding_mask: Any = None,
                is_causal: bool = False) -> Value:
        """src (S, N, E), (N, S, E) with batch_first, or (S, E); src_mask (S, S) or
        (N·nhead, S, S); src_key_padding_mask (N, S) or (S,). Output of src's shape."""
        x = _sequence(src, "src", self.d_model, type(self).__name__)
        if self.norm_first:
            x = x + self._sa_block(self.norm1(x), src_mask, src_key_padding_mask, is_causal)
            return x + self._ff_block(self.norm2(x), self.dropout2)
        x = self.norm1(x + self._sa_block(x, src_mask, src_key_padding_mask, is_causal))
        return self.norm2(x + self._ff_block(x, self.dropout2))


class TransformerDecoderLayer(_Layer):
    """Self-attention over the target, attention from the target to the encoder's output
    (`memory`), then a feed-forward network, each with a residual and a layer norm (after, or
    with `norm_first` before, each block). As ``torch.nn``'s: sub-modules self_attn,
    multihead_attn, linear1, dropout, linear2, norm1, norm2, norm3, dropout1, dropout2,
    dropout3. `seed` draws the initial weights."""

    def __init__(self, d_model: int, nhead: int, dim_feedforward: int = 2048,
                 dropout: float = 0.1, activation: Activation = "relu",
                 layer_norm_eps: float = 1e-5, batch_first: bool = False,
                 norm_first: bool = False, bias: bool = True, *, dtype: Any = np.float64,
                 seed: Seed = None):
        who = type(self).__name__
        _check_sizes(who, d_model, nhead, dim_feedforward)
        rng = generator(seed, who)
        self.d_model = int(d_model)
        self.self_attn = MultiheadAttention(d_model, nhead, dropout=dropout, bias=bias,
                                            batch_first=batch_first, dtype=dtype, seed=rng)
        self.multihead_attn = MultiheadAttention(d_model, nhead, dropout=dropout, bias=bias,
                                                 batch_first=batch_first, dtype=dtype, seed=rng)
        self.linear1 = Linear(d_model, dim_feedforward, bias=bias, dtype=dtype, seed=rng)
        self.dropout = Dropout(dropout)
        self.linear2 = Linear(dim_feedforward, d_model, bias=bias, dtype=dtype, seed=rng)
        self.norm_first = bool(norm_first)
        self.norm1 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, dtype=dtype)
        self.norm2 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, dtype=dtype)
        self.norm3 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, dtype=dtype)
        self.dropout1 = Dropout(dropout)
        self.dropout2 = Dropout(dropout)
        self.dropout3 = Dropout(dropout)
        self.activation = _activation(activation, who)

    def _mha_block(self, x: Value, memory: Value, mask: Any, padding: Any,
                   is_causal: bool) -> Value:
        out, _ = self.multihead_attn(x, memory, memory, attn_mask=mask, key_padding_mask=padding,
                                     need_weights=False, is_causal=is_causal)
        return self.dropout2(out)

    def forward(self, tgt: Any, memory: Any, tgt_mask: Any = None, memory_mask: Any = None,
                tgt_key_padding_mask: Any = None, memory_key_padding_mask: Any = None,
                tgt_is_causal: bool = False, memory_is_causal: bool = False) -> Value:
        """tgt (T, N, E) and memory (S, N, E) ((N, ·, E) with batch_first, or unbatched);
        tgt_mask (T, T), memory_mask (T, S) (or per head, N·nhead first); padding masks (N, T)
        and (N, S). Output of tgt's shape."""
        who = type(self).__name__
        x = _sequence(tgt, "tgt", self.d_model, who)
        mem = _sequence(memory, "memory", self.d_model, who)
        if mem.ndim != x.ndim:
            raise ShapeError(f"{who}: tgt {x.shape} and memory {mem.shape} must both be batched "
                             f"(3-D) or both unbatched (2-D)")
        if self.norm_first:
            x = x + self._sa_block(self.norm1(x), tgt_mask, tgt_key_padding_mask, tgt_is_causal)
            x = x + self._mha_block(self.norm2(x), mem, memory_mask, memory_key_padding_mask,
                                    memory_is_causal)
            return x + self._ff_block(self.norm3(x), self.dropout3)
        x = self.norm1(x + self._sa_block(x, tgt_mask, tgt_key_padding_mask, tgt_is_causal))
        x = self.norm2(x + self._mha_block(x, mem, memory_mask, memory_key_padding_mask,
                                           memory_is_causal))
        return self.norm3(x + self._ff_block(x, self.dropout3))


def _clones(layer: Module, num_layers: int, who: str) -> ModuleList:
    """`num_layers` deep copies of `layer` (each with parameters of its own, all starting from
    layer's values, as torch's), in a ModuleList; `layer` itself is not among them."""
    if not isinstance(layer, Module):
        raise TypeError(f"{who}: expected a layer Module; got {type(layer).__name__}")
    if isinstance(num_layers, bool) or not isinstance(num_layers, (int, np.integer)) \
            or num_layers < 0:
        raise ValueError(f"{who}: num_layers must be a non-negative int; got {num_layers!r}")
    return ModuleList([copy.deepcopy(layer) for _ in range(num_layers)])


def _optional_norm(norm: Optional[Module], who: str) -> Optional[Module]:
    if norm is not None and not isinstance(norm, Module):
        raise TypeError(f"{who}: norm must be a Module (e.g. a LayerNorm) or None; got "
                        f"{type(norm).__name__}")
    return norm


class TransformerEncoder(Module):
    """`num_layers` copies of `encoder_layer` applied in turn, then `norm` (if given), as
    ``torch.nn.TransformerEncoder``. enable_nested_tensor and mask_check are accepted for
    torch's signature and have no effect: there is no fast path here (see the module's
    docstring)."""

    def __init__(self, encoder_layer: Module, num_layers: int, norm: Optional[Module] = None,
                 enable_nested_tensor: bool = True, mask_check: bool = True):
        who = type(self).__name__
        self.layers = _clones(encoder_layer, num_layers, who)
        self.num_layers = int(num_layers)
        self.norm = _optional_norm(norm, who)
        self.enable_nested_tensor, self.mask_check = bool(enable_nested_tensor), bool(mask_check)

    def forward(self, src: Any, mask: Any = None, src_key_padding_mask: Any = None,
                is_causal: Optional[bool] = None) -> Value:
        """Each layer with the same masks; is_causal=None (torch's "detect it") and False are
        the same here, since the mask is used as it is."""
        out = constant(src, type(self).__name__)
        for layer in self.layers:
            out = layer(out, src_mask=mask, src_key_padding_mask=src_key_padding_mask,
                        is_causal=bool(is_causal))
        return out if self.norm is None else self.norm(out)


class TransformerDecoder(Module):
    """`num_layers` copies of `decoder_layer` applied in turn, each attending to the same
    `memory`, then `norm` (if given), as ``torch.nn.TransformerDecoder``."""

    def __init__(self, decoder_layer: Module, num_layers: int, norm: Optional[Module] = None):
        who = type(self).__name__
        self.layers = _clones(decoder_layer, num_layers, who)
        self.num_layers = int(num_layers)
        self.norm = _optional_norm(norm, who)

    def forward(self, tgt: Any, memory: Any, tgt_mask: Any = None, memory_mask: Any = None,
                tgt_key_padding_mask: Any = None, memory_key_padding_mask: Any = None,
                tgt_is_causal: Optional[bool] = None, memory_is_causal: bool = False) -> Value:
        """Each layer with the same memory and masks (see `TransformerDecoderLayer.forward`)."""
        out = constant(tgt, type(self).__name__)
        for layer in self.layers:
            out = layer(out, memory, tgt_mask=tgt_mask, memory_mask=memory_mask,
                        tgt_key_padding_mask=tgt_key_padding_mask,
                        memory_key_padding_mask=memory_key_padding_mask,
                        tgt_is_causal=bool(tgt_is_causal), memory_is_causal=memory_is_causal)
        return out if self.norm is None else self.norm(out)


class Transformer(Module):
    """An encoder-decoder transformer, as ``torch.nn.Transformer``: `encoder`, a
    TransformerEncoder of `num_encoder_layers` layers and a final LayerNorm, and `decoder`, a
    TransformerDecoder likewise (or `custom_encoder` / `custom_decoder` in their place). As
    torch does, every parameter of two or more dimensions is then redrawn Xavier-uniform (from
    `seed`; the biases and norms keep their layers' initial values)."""

    def __init__(self, d_model: int = 512, nhead: int = 8, num_encoder_layers: int = 6,
                 num_decoder_layers: int = 6, dim_feedforward: int = 2048, dropout: float = 0.1,
                 activation: Activation = "relu", custom_encoder: Optional[Module] = None,
                 custom_decoder: Optional[Module] = None, layer_norm_eps: float = 1e-5,
                 batch_first: bool = False, norm_first: bool = False, bias: bool = True, *,
                 dtype: Any = np.float64, seed: Seed = None):
        rng = generator(seed, type(self).__name__)
        layer_args = (d_model, nhead, dim_feedforward, dropout, activation, layer_norm_eps,
                      batch_first, norm_first, bias)
        if custom_encoder is not None:
            self.encoder: Module = custom_encoder
        else:
            self.encoder = TransformerEncoder(
                TransformerEncoderLayer(*layer_args, dtype=dtype, seed=rng), num_encoder_layers,
                LayerNorm(d_model, eps=layer_norm_eps, bias=bias, dtype=dtype))
        if custom_decoder is not None:
            self.decoder: Module = custom_decoder
        else:
            self.decoder = TransformerDecoder(
                TransformerDecoderLayer(*layer_args, dtype=dtype, seed=rng), num_decoder_layers,
                LayerNorm(d_model, eps=layer_norm_eps, bias=bias, dtype=dtype))
        for p in self.parameters():
            if p.ndim > 1:
                init.xavier_uniform_(p, generator=rng)
        self.d_model, self.nhead, self.batch_first = int(d_model), int(nhead), bool(batch_first)

    def forward(self, src: Any, tgt: Any, src_mask: Any = None, tgt_mask: Any = None,
                memory_mask: Any = None, src_key_padding_mask: Any = None,
                tgt_key_padding_mask: Any = None, memory_key_padding_mask: Any = None,
                src_is_causal: Optional[bool] = None, tgt_is_causal: Optional[bool] = None,
                memory_is_causal: bool = False) -> Value:
        """The decoder's output for `tgt` (T, N, E) attending to the encoded `src` (S, N, E)
        ((N, ·, E) with batch_first, or unbatched (·, E)); masks as the layers take them."""
        who = type(self).__name__
        s, t = constant(src, who), constant(tgt, who)
        axis = 0 if self.batch_first else 1
        if s.ndim == 3 and t.ndim == 3 and s.shape[axis] != t.shape[axis]:
            raise ShapeError(f"{who}: the batch sizes of src {s.shape} and tgt {t.shape} must be "
                             f"equal (axis {axis}, batch_first={self.batch_first})")
        if s.shape[-1:] != (self.d_model,) or t.shape[-1:] != (self.d_model,):
            raise ShapeError(f"{who}: src {s.shape} and tgt {t.shape} must have d_model = "
                             f"{self.d_model} features (the last axis)")
        memory = self.encoder(s, mask=src_mask, src_key_padding_mask=src_key_padding_mask,
                              is_causal=src_is_causal)
        return self.decoder(t, memory, tgt_mask=tgt_mask, memory_mask=memory_mask,
                            tgt_key_padding_mask=tgt_key_padding_mask,
                            memory_key_padding_mask=memory_key_padding_mask,
                            tgt_is_causal=tgt_is_causal, memory_is_causal=memory_is_causal)

    @staticmethod
    def generate_square_subsequent_mask(sz: int, dtype: Any = np.float64) -> np.ndarray:
        """The causal mask (sz, sz) as torch makes it: -inf above the diagonal (a position may
        not attend to later ones), 0 on and below it; a float mask, added to the scores."""
        if isinstance(sz, bool) or not isinstance(sz, (int, np.integer)) or sz < 0:
            raise ValueError(f"generate_square_subsequent_mask: sz must be a non-negative int; "
                             f"got {sz!r}")
        return np.triu(np.full((sz, sz), -np.inf, dtype=dtype), k=1)
