"""Normalisation layers, with PyTorch's names, parameters and state_dict keys: `BatchNorm1d`,
`BatchNorm2d`, `BatchNorm3d`, `InstanceNorm1d`, `InstanceNorm2d`, `InstanceNorm3d`, `LayerNorm`,
`GroupNorm`, `LocalResponseNorm` and `RMSNorm`.

The batch and instance norms keep ``running_mean``, ``running_var`` and ``num_batches_tracked``
as buffers (`Module.register_buffer`): saved in state_dict under torch's names, not trained.
"""

from __future__ import annotations

from typing import Any, Optional, Sequence, Tuple, Union, cast

import numpy as np

from ..engine import Value, constant
from ..errors import ShapeError
from .functional import normalization as F
from .module import Module

__all__ = ["BatchNorm1d", "BatchNorm2d", "BatchNorm3d", "InstanceNorm1d", "InstanceNorm2d",
           "InstanceNorm3d", "LayerNorm", "GroupNorm", "LocalResponseNorm", "RMSNorm"]


def _filled(shape: Tuple[int, ...], fill: float, dtype: Any, label: str) -> Value:
    return Value(np.full(shape, fill, dtype=dtype), label=label)


class _NormBase(Module):
    """What batch and instance norms share: per-channel `weight` (ones) and `bias` (zeros) when
    `affine`, and with `track_running_stats` the buffers running_mean (zeros), running_var
    (ones) and num_batches_tracked (a 0-d int64 array, as torch's)."""

    running_mean: Optional[np.ndarray]
    running_var: Optional[np.ndarray]
    num_batches_tracked: Optional[np.ndarray]

    def __init__(self, num_features: int, eps: float, momentum: Optional[float], affine: bool,
                 track_running_stats: bool, bias: bool, dtype: Any):
        self.num_features, self.eps, self.momentum = int(num_features), float(eps), momentum
        self.affine, self.track_running_stats = bool(affine), bool(track_running_stats)
        shape = (self.num_features,)
        self.weight = _filled(shape, 1.0, dtype, "weight") if affine else None
        self.bias = _filled(shape, 0.0, dtype, "bias") if affine and bias else None
        tracked = self.track_running_stats
        self.register_buffer("running_mean", np.zeros(shape, dtype) if tracked else None)
        self.register_buffer("running_var", np.ones(shape, dtype) if tracked else None)
        self.register_buffer("num_batches_tracked", np.array(0, np.int64) if tracked else None)

    def reset_running_stats(self) -> None:
        """Running statistics back to zeros and ones, the count to 0 (in place)."""
        for buffer, fill in ((self.running_mean, 0.0), (self.running_var, 1.0),
                             (self.num_batches_tracked, 0)):
            if buffer is not None:
                buffer[...] = fill

    def reset_parameters(self) -> None:
        """The running statistics reset, and weight back to ones and bias to zeros."""
        self.reset_running_stats()
        if self.weight is not None:  # assigned, not written into: a graph using them must know
            self.weight.data = np.ones_like(self.weight.data)
        if self.bias is not None:
            self.bias.data = np.zeros_like(self.bias.data)

    def _check_input_dim(self, x: Value) -> None:
        raise NotImplementedError

    def _momentum(self) -> Tuple[float, bool]:
        """The averaging factor of this call and whether it counts as a tracked batch: in
        training with running statistics, `momentum`, or 1/count (a cumulative average) when
        momentum is None."""
        tracked = self.num_batches_tracked
        if not (self.training and self.track_running_stats and tracked is not None):
            return 0.0, False
        if self.momentum is None:
            return 1.0 / float(tracked + 1), True
        return float(self.momentum), True

    def _count_batch(self) -> None:
        """One more batch tracked (in place, so views of the buffer see it)."""
        if self.num_batches_tracked is not None:
            self.num_batches_tracked += 1

    def __repr__(self) -> str:
        return (f"{type(self).__name__}({self.num_features}, eps={self.eps}, "
                f"momentum={self.momentum}, affine={self.affine}, bias={self.bias is not None}, "
                f"track_running_stats={self.track_running_stats})")


class _BatchNorm(_NormBase):
    """Batch normalisation over axis 1, as torch's ``_BatchNorm``: in training, the batch's
    statistics normalise and the running ones are updated; in evaluation, the running ones
    normalise (the batch's when track_running_stats is False)."""

    _dims: Tuple[int, ...] = ()

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: Optional[float] = 0.1,
                 affine: bool = True, track_running_stats: bool = True, *, bias: bool = True,
                 dtype: Any = np.float64):
        super().__init__(num_features, eps, momentum, affine, track_running_stats, bias, dtype)

    def _check_input_dim(self, x: Value) -> None:
        if x.ndim not in self._dims:
            dims = " or ".join(f"{d}D" for d in self._dims)
            raise ShapeError(f"{type(self).__name__}: expected {dims} input; got shape {x.shape}")

    def forward(self, input: Any) -> Value:
        x = constant(input, type(self).__name__)
        self._check_input_dim(x)
        factor, counts = self._momentum()
        use_batch = self.training or (self.running_mean is None and self.running_var is None)
        keep = not self.training or self.track_running_stats
        out = F.batch_norm(x, self.running_mean if keep else None,
                           self.running_var if keep else None, self.weight, self.bias,
                           use_batch, factor, self.eps)
        if counts:
            self._count_batch()
        return out


class BatchNorm1d(_BatchNorm):
    """Batch normalisation of (N, C) or (N, C, L) inputs, as ``torch.nn.BatchNorm1d``."""

    _dims = (2, 3)


class BatchNorm2d(_BatchNorm):
    """Batch normalisation of (N, C, H, W) inputs, as ``torch.nn.BatchNorm2d``."""

    _dims = (4,)


class BatchNorm3d(_BatchNorm):
    """Batch normalisation of (N, C, D, H, W) inputs, as ``torch.nn.BatchNorm3d``."""

    _dims = (5,)


class _InstanceNorm(_NormBase):
    """Instance normalisation, as torch's ``_InstanceNorm``: by default without weights and
    without running statistics. An unbatched input (one dimension fewer) is taken as a batch
    of one. As in torch, num_batches_tracked stays 0 and momentum must be a number."""

    _batched: int = 0

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float = 0.1,
                 affine: bool = False, track_running_stats: bool = False, *, bias: bool = True,
                 dtype: Any = np.float64):
        super().__init__(num_features, eps, momentum, affine, track_running_stats, bias, dtype)

    def forward(self, input: Any) -> Value:
        name = type(self).__name__
        x = constant(input, name)
        if x.ndim not in (self._batched - 1, self._batched):
            raise ShapeError(f"{name}: expected {self._batched - 1}D (unbatched) or "
                             f"{self._batched}D (batched) input; got shape {x.shape}")
        unbatched = x.ndim == self._batched - 1
        if unbatched:
            x = x.unsqueeze(0)
        channels = x.shape[1]
        if channels != self.num_features and (self.affine or self.track_running_stats):
            raise ShapeError(f"{name}: expected input with {self.num_features} channels (axis "
                             f"{0 if unbatched else 1}); got shape {tuple(constant(input).shape)}")
        use_input = self.training or not self.track_running_stats
        out = F.instance_norm(x, self.running_mean, self.running_var, self.weight, self.bias,
                              use_input, cast(float, self.momentum), self.eps)
        return out.squeeze(0) if unbatched else out


class InstanceNorm1d(_InstanceNorm):
    """Instance normalisation of (N, C, L) (or unbatched (C, L)) inputs, as
    ``torch.nn.InstanceNorm1d``."""

    _batched = 3


class InstanceNorm2d(_InstanceNorm):
    """Instance normalisation of (N, C, H, W) (or unbatched (C, H, W)) inputs, as
    ``torch.nn.InstanceNorm2d``."""

    _batched = 4


class InstanceNorm3d(_InstanceNorm):
    """Instance normalisation of (N, C, D, H, W) (or unbatched) inputs, as
    ``torch.nn.InstanceNorm3d``."""

    _batched = 5


class LayerNorm(Module):
    """Layer normalisation over the trailing dimensions `normalized_shape`, as
    ``torch.nn.LayerNorm``: elementwise `weight` (ones) and `bias` (zeros) of that shape when
    `elementwise_affine` (the bias only if `bias`)."""

    def __init__(self, normalized_shape: Union[int, Sequence[int]], eps: float = 1e-5,
                 elementwise_affine: bool = True, bias: bool = True, *, dtype: Any = np.float64):
        shape = F.shape_tuple(normalized_shape)
        self.normalized_shape, self.eps = shape, float(eps)
        self.elementwise_affine = bool(elementwise_affine)
        self.weight = _filled(shape, 1.0, dtype, "weight") if elementwise_affine else None
        self.bias = _filled(shape, 0.0, dtype, "bias") if elementwise_affine and bias else None

    def forward(self, input: Any) -> Value:
        return F.layer_norm(input, self.normalized_shape, self.weight, self.bias, self.eps)

    def __repr__(self) -> str:
        return (f"LayerNorm({self.normalized_shape}, eps={self.eps}, "
                f"elementwise_affine={self.elementwise_affine}, bias={self.bias is not None})")


class RMSNorm(Module):
    """Root-mean-square normalisation over the trailing dimensions `normalized_shape`, as
    ``torch.nn.RMSNorm``: an elementwise `weight` (ones) of that shape when
    `elementwise_affine`; eps=None is the machine epsilon of the input's dtype."""

    def __init__(self, normalized_shape: Union[int, Sequence[int]], eps: Optional[float] = None,
                 elementwise_affine: bool = True, *, dtype: Any = np.float64):
        shape = F.shape_tuple(normalized_shape)
        self.normalized_shape = shape
        self.eps = None if eps is None else float(eps)
        self.elementwise_affine = bool(elementwise_affine)
        self.weight = _filled(shape, 1.0, dtype, "weight") if elementwise_affine else None

    def forward(self, input: Any) -> Value:
        return F.rms_norm(input, self.normalized_shape, self.weight, self.eps)

    def __repr__(self) -> str:
        return (f"RMSNorm({self.normalized_shape}, eps={self.eps}, "
                f"elementwise_affine={self.elementwise_affine})")


class GroupNorm(Module):
    """Group normalisation, as ``torch.nn.GroupNorm``: `num_channels` in `num_groups` groups,
    per-channel `weight` (ones) and `bias` (zeros) when `affine`."""

    def __init__(self, num_groups: int, num_channels: int, eps: float = 1e-5, affine: bool = True,
                 *, bias: bool = True, dtype: Any = np.float64):
        if num_groups <= 0 or num_channels % num_groups:
            raise ShapeError(f"GroupNorm: num_channels ({num_channels}) must be divisible by "
                             f"num_groups ({num_groups})")
        self.num_groups, self.num_channels = int(num_groups), int(num_channels)
        self.eps, self.affine = float(eps), bool(affine)
        self.weight = _filled((num_channels,), 1.0, dtype, "weight") if affine else None
        self.bias = _filled((num_channels,), 0.0, dtype, "bias") if affine and bias else None

    def forward(self, input: Any) -> Value:
        x = constant(input, "GroupNorm")
        if x.ndim < 2 or x.shape[1] != self.num_channels:
            raise ShapeError(f"{self!r}: expected input (N, {self.num_channels}, *); got shape "
                             f"{x.shape}")
        return F.group_norm(x, self.num_groups, self.weight, self.bias, self.eps)

    def __repr__(self) -> str:
        return (f"GroupNorm({self.num_groups}, {self.num_channels}, eps={self.eps}, "
                f"affine={self.affine}, bias={self.bias is not None})")


class LocalResponseNorm(Module):
    """Local response normalisation across channels, as ``torch.nn.LocalResponseNorm``."""

    def __init__(self, size: int, alpha: float = 1e-4, beta: float = 0.75, k: float = 1.0):
        self.size, self.alpha, self.beta, self.k = int(size), float(alpha), float(beta), float(k)

    def forward(self, input: Any) -> Value:
        return F.local_response_norm(input, self.size, self.alpha, self.beta, self.k)

    def __repr__(self) -> str:
        return f"LocalResponseNorm({self.size}, alpha={self.alpha}, beta={self.beta}, k={self.k})"
