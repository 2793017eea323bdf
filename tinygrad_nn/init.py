"""Weight initializers, in two families.

Why random at all: if every unit of a layer starts with the same weights, every unit computes
the same function and receives the same gradient, so they stay identical forever (the symmetry
that Ng's course asks random initialization to break). `zeros` is offered for that lesson and
for biases; it breaks symmetry nowhere.

- The course's: ``init(shape, rng) -> np.ndarray`` with ``shape = (fan_out, fan_in)`` for a
  weight matrix (the layout of `Layer.W`), found by name with `get`.
- PyTorch's (``torch.nn.init``, also reachable as ``tinygrad_nn.nn.init``): functions ending in
  ``_`` that overwrite a Value's data in place (its dtype kept; a numpy array is accepted too)
  and return it, e.g. ``init.kaiming_uniform_(layer.weight, a=math.sqrt(5))``. They draw from
  ``generator``: a numpy Generator, an int seed, or None for this thread's default Generator
  (`tinygrad_nn.manual_seed`).

Fans follow torch for both: a weight of shape (out, in, *kernel) has fan_in = in · k and
fan_out = out · k, k the number of kernel positions; a vector (a course Neuron's weights) counts
as one unit (fan_out = 1), where torch's functions refuse one.
"""

from __future__ import annotations

import math
import warnings
from typing import Callable, Dict, Optional, Tuple, TypeVar, Union

import numpy as np

from .engine import Value, mark_modified
from .errors import DomainError, ShapeError, UnsupportedTypeError
from .random import Seed, generator as _generator

Shape = Tuple[int, ...]
Initializer = Callable[[Shape, np.random.Generator], np.ndarray]


def _fans(shape: Shape) -> Tuple[int, int]:
    """(fan_in, fan_out) of a weight of shape (out, in, *kernel): (in · k, out · k) with k the
    kernel's size (1 for a matrix); a vector counts as one unit."""
    if len(shape) == 1:
        return shape[0], 1
    receptive = math.prod(shape[2:])
    return shape[1] * receptive, shape[0] * receptive


def _xavier_std(fan_in: int, fan_out: int, gain: float = 1.0) -> float:
    """Glorot's standard deviation, gain · sqrt(2 / (fan_in + fan_out))."""
    return gain * math.sqrt(2.0 / (fan_in + fan_out))


def ng_epsilon(fan_in: int, fan_out: int) -> float:
    """Ng's choice of ε: sqrt(6) / sqrt(L_in + L_out) (0.12 for the course's 400-25 layer)."""
    return math.sqrt(6.0) / math.sqrt(fan_in + fan_out)


def epsilon_uniform(epsilon: float = 0.12) -> Initializer:
    """Uniform on [-ε, ε], Ng's random initialization (ε = 0.12 by default)."""
    def init(shape: Shape, rng: np.random.Generator) -> np.ndarray:
        return rng.uniform(-epsilon, epsilon, size=shape)
    return init


def uniform(shape: Shape, rng: np.random.Generator, low: float = -1.0, high: float = 1.0) -> np.ndarray:
    """Uniform on [low, high] (micrograd's choice: [-1, 1])."""
    return rng.uniform(low, high, size=shape)


def normal(shape: Shape, rng: np.random.Generator, std: float = 1.0) -> np.ndarray:
    """Normal with mean 0 and standard deviation `std`."""
    return rng.normal(0.0, std, size=shape)


def xavier_uniform(shape: Shape, rng: np.random.Generator) -> np.ndarray:
    """Glorot & Bengio (2010): uniform on ±sqrt(6 / (fan_in + fan_out)); Ng's ε formula."""
    fan_in, fan_out = _fans(shape)
    bound = ng_epsilon(fan_in, fan_out)
    return rng.uniform(-bound, bound, size=shape)


def xavier_normal(shape: Shape, rng: np.random.Generator) -> np.ndarray:
    """Glorot normal: standard deviation sqrt(2 / (fan_in + fan_out))."""
    return rng.normal(0.0, _xavier_std(*_fans(shape)), size=shape)


def he_uniform(shape: Shape, rng: np.random.Generator) -> np.ndarray:
    """He et al. (2015), for ReLU layers: uniform on ±sqrt(6 / fan_in) (`kaiming_uniform_`
    with nonlinearity='relu')."""
    fan_in, _ = _fans(shape)
    bound = math.sqrt(6.0 / fan_in)
    return rng.uniform(-bound, bound, size=shape)


def he_normal(shape: Shape, rng: np.random.Generator) -> np.ndarray:
    """He normal: standard deviation sqrt(2 / fan_in) (`kaiming_normal_`, nonlinearity='relu')."""
    fan_in, _ = _fans(shape)
    return rng.normal(0.0, math.sqrt(2.0 / fan_in), size=shape)


def zeros(shape: Shape, rng: np.random.Generator) -> np.ndarray:
    """All zeros: fine for biases; for weights every unit stays a copy of the others."""
    return np.zeros(shape)


def debug(shape: Shape, rng: Optional[np.random.Generator] = None) -> np.ndarray:
    """The course's debugInitializeWeights: sin(1), sin(2), ... divided by 10, laid out in
    column-major order. Deterministic and free of symmetry: the weights of its gradient check."""
    n = int(np.prod(shape))
    return (np.sin(np.arange(1, n + 1)) / 10).reshape(shape, order="F")


INITIALIZERS: Dict[str, Initializer] = {
    "epsilon": epsilon_uniform(0.12),
    "uniform": uniform,
    "normal": normal,
    "xavier_uniform": xavier_uniform,
    "xavier_normal": xavier_normal,
    "he_uniform": he_uniform,
    "he_normal": he_normal,
    "zeros": zeros,
    "debug": debug,
}


def get(init: Union[str, Initializer]) -> Initializer:
    """An initializer by name (see INITIALIZERS) or the callable itself."""
    if callable(init):
        return init
    try:
        return INITIALIZERS[init]
    except KeyError:
        raise ValueError(f"init: unknown initializer {init!r}; choose one of "
                         f"{sorted(INITIALIZERS)} or pass a function (shape, rng) -> array") from None



# ---- PyTorch's in-place initialisers (torch.nn.init) ---------------------------------------------
Tensor = TypeVar("Tensor", Value, np.ndarray)
_LINEAR = ("linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
           "conv_transpose3d", "sigmoid")


def calculate_gain(nonlinearity: str, param: Optional[float] = None) -> float:
    """The factor that keeps activations' variance through `nonlinearity`, torch's table: 1 for
    linear layers and sigmoid, 5/3 for tanh, sqrt(2) for relu, sqrt(2 / (1 + slope²)) for
    leaky_relu (slope `param`, 0.01 by default), 3/4 for selu."""
    if nonlinearity in _LINEAR:
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            slope = 0.01
        elif isinstance(param, (int, float, np.integer, np.floating)) and \
                not isinstance(param, (bool, np.bool_)):
            slope = float(param)
        else:
            raise DomainError(f"calculate_gain: negative_slope {param!r} is not a valid number")
        return math.sqrt(2.0 / (1 + slope ** 2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise DomainError(f"calculate_gain: unsupported nonlinearity {nonlinearity!r}; choose one of "
                      f"{list(_LINEAR) + ['tanh', 'relu', 'leaky_relu', 'selu']}")


def _shape(tensor: Union[Value, np.ndarray], who: str) -> Shape:
    if isinstance(tensor, Value):
        return tensor.shape
    if isinstance(tensor, np.ndarray) and tensor.dtype.kind == "f":
        return tensor.shape
    raise UnsupportedTypeError(f"{who}: expects a Value or a float numpy array, got "
                               f"{type(tensor).__name__}")


def _fill(tensor: Tensor, values: Union[float, np.ndarray]) -> Tensor:
    """Overwrite the data of `tensor` with `values` (broadcast), in place, dtype kept."""
    if isinstance(tensor, np.ndarray):
        tensor[...] = values
    elif type(tensor.data) is float:
        tensor.data = float(np.asarray(values).reshape(()))
    else:
        tensor.data[...] = values
        mark_modified(tensor)  # a graph that used the old values must not backpropagate
    return tensor


def _torch_fans(tensor: Union[Value, np.ndarray], who: str) -> Tuple[int, int]:
    """(fan_in, fan_out) as torch computes them: for 2 or more dimensions only."""
    shape = _shape(tensor, who)
    if len(shape) < 2:
        raise ShapeError(f"{who}: fan in and fan out can not be computed for a tensor with fewer "
                         f"than 2 dimensions; got shape {shape}")
    return _fans(shape)


def _fan(tensor: Union[Value, np.ndarray], mode: str, who: str) -> int:
    if mode not in ("fan_in", "fan_out"):
        raise DomainError(f"{who}: mode {mode!r} not supported, please use one of fan_in, fan_out")
    fan_in, fan_out = _torch_fans(tensor, who)
    return fan_in if mode == "fan_in" else fan_out


def uniform_(tensor: Tensor, a: float = 0.0, b: float = 1.0, generator: Seed = None) -> Tensor:
    """Fill with draws from U(a, b)."""
    shape = _shape(tensor, "uniform_")
    return _fill(tensor, _generator(generator, "uniform_").uniform(a, b, size=shape))


def normal_(tensor: Tensor, mean: float = 0.0, std: float = 1.0, generator: Seed = None) -> Tensor:
    """Fill with draws from N(mean, std²)."""
    shape = _shape(tensor, "normal_")
    return _fill(tensor, _generator(generator, "normal_").normal(mean, std, size=shape))


def trunc_normal_(tensor: Tensor, mean: float = 0.0, std: float = 1.0, a: float = -2.0,
                  b: float = 2.0, generator: Seed = None) -> Tensor:
    """Fill with draws from N(mean, std²) conditioned on [a, b] (absolute bounds, not in units
    of std), by inverting the normal CDF on a uniform draw between the bounds' CDF values."""
    from scipy.special import ndtr, ndtri  # type: ignore[import-untyped]
    if not (std > 0 and a < b):
        raise DomainError(f"trunc_normal_: needs std > 0 and a < b; got std={std}, a={a}, b={b}")
    shape = _shape(tensor, "trunc_normal_")
    low, high = ndtr((a - mean) / std), ndtr((b - mean) / std)
    u = _generator(generator, "trunc_normal_").uniform(low, high, size=shape)
    return _fill(tensor, np.clip(mean + std * ndtri(u), a, b))


def constant_(tensor: Tensor, val: float) -> Tensor:
    """Fill with `val`."""
    _shape(tensor, "constant_")
    return _fill(tensor, val)


def ones_(tensor: Tensor) -> Tensor:
    """Fill with 1."""
    return constant_(tensor, 1.0)


def zeros_(tensor: Tensor) -> Tensor:
    """Fill with 0."""
    return constant_(tensor, 0.0)


def eye_(tensor: Tensor) -> Tensor:
    """The identity matrix (ones on the diagonal of a rectangular one): 2-D only."""
    shape = _shape(tensor, "eye_")
    if len(shape) != 2:
        raise ShapeError(f"eye_: only tensors with 2 dimensions are supported; got shape {shape}")
    return _fill(tensor, np.eye(*shape))


def dirac_(tensor: Tensor, groups: int = 1) -> Tensor:
    """The identity convolution: a 3-, 4- or 5-D weight (out, in, *kernel) that copies input
    channel i to output channel i of each of `groups` groups (1 at the kernel's centre)."""
    shape = _shape(tensor, "dirac_")
    if len(shape) not in (3, 4, 5):
        raise ShapeError(f"dirac_: only tensors with 3, 4, or 5 dimensions are supported; got "
                         f"shape {shape}")
    if groups < 1 or shape[0] % groups:
        raise ShapeError(f"dirac_: dim 0 ({shape[0]}) must be divisible by groups ({groups})")
    per_group = shape[0] // groups
    group, channel = np.meshgrid(np.arange(groups), np.arange(min(per_group, shape[1])),
                                 indexing="ij")
    values = np.zeros(shape)
    values[(group * per_group + channel, channel) + tuple(k // 2 for k in shape[2:])] = 1.0
    return _fill(tensor, values)


def xavier_uniform_(tensor: Tensor, gain: float = 1.0, generator: Seed = None) -> Tensor:
    """Glorot uniform: U(-a, a) with a = gain · sqrt(6 / (fan_in + fan_out))."""
    bound = gain * ng_epsilon(*_torch_fans(tensor, "xavier_uniform_"))
    return uniform_(tensor, -bound, bound, generator)


def xavier_normal_(tensor: Tensor, gain: float = 1.0, generator: Seed = None) -> Tensor:
    """Glorot normal: N(0, std²) with std = gain · sqrt(2 / (fan_in + fan_out))."""
    return normal_(tensor, 0.0, _xavier_std(*_torch_fans(tensor, "xavier_normal_"), gain),
                   generator)


def _kaiming_std(tensor: Union[Value, np.ndarray], a: float, mode: str, nonlinearity: str,
                 who: str) -> Optional[float]:
    """gain / sqrt(fan) for He initialisation; None (with torch's warning) for an empty tensor."""
    if 0 in _shape(tensor, who):
        warnings.warn("Initializing zero-element tensors is a no-op", stacklevel=3)
        return None
    return calculate_gain(nonlinearity, a) / math.sqrt(_fan(tensor, mode, who))


def kaiming_uniform_(tensor: Tensor, a: float = 0, mode: str = "fan_in",
                     nonlinearity: str = "leaky_relu", generator: Seed = None) -> Tensor:
    """He uniform: U(-bound, bound) with bound = sqrt(3) · gain / sqrt(fan), gain from
    `calculate_gain(nonlinearity, a)` and fan the fan_in or fan_out (`mode`). torch's Linear
    and conv layers start from a = sqrt(5): bound 1 / sqrt(fan_in)."""
    std = _kaiming_std(tensor, a, mode, nonlinearity, "kaiming_uniform_")
    if std is None:
        return tensor
    return uniform_(tensor, -math.sqrt(3.0) * std, math.sqrt(3.0) * std, generator)


def kaiming_normal_(tensor: Tensor, a: float = 0, mode: str = "fan_in",
                    nonlinearity: str = "leaky_relu", generator: Seed = None) -> Tensor:
    """He normal: N(0, std²) with std = gain / sqrt(fan) (see `kaiming_uniform_`)."""
    std = _kaiming_std(tensor, a, mode, nonlinearity, "kaiming_normal_")
    if std is None:
        return tensor
    return normal_(tensor, 0.0, std, generator)


def orthogonal_(tensor: Tensor, gain: float = 1, generator: Seed = None) -> Tensor:
    """A (semi-)orthogonal matrix times `gain`, of the tensor flattened to (size(0), rest): the
    Q of a Gaussian matrix's QR factorisation, its columns' signs fixed by R's diagonal so that
    Q is uniformly (Haar) distributed."""
    shape = _shape(tensor, "orthogonal_")
    if len(shape) < 2:
        raise ShapeError(f"orthogonal_: only tensors with 2 or more dimensions are supported; "
                         f"got shape {shape}")
    if 0 in shape:
        return tensor
    rows = shape[0]
    cols = math.prod(shape) // rows
    flat = _generator(generator, "orthogonal_").standard_normal((rows, cols))
    if rows < cols:
        flat = flat.T
    q, r = np.linalg.qr(flat)
    q = q * np.sign(np.diag(r))
    if rows < cols:
        q = q.T
    return _fill(tensor, gain * q.reshape(shape))


def sparse_(tensor: Tensor, sparsity: float, std: float = 0.01, generator: Seed = None) -> Tensor:
    """A 2-D matrix drawn from N(0, std²) with a fraction `sparsity` of each column's entries
    (rounded up) set to zero, at random rows."""
    shape = _shape(tensor, "sparse_")
    if len(shape) != 2:
        raise ShapeError(f"sparse_: only tensors with 2 dimensions are supported; got shape "
                         f"{shape}")
    rows, cols = shape
    rng = _generator(generator, "sparse_")
    values = rng.normal(0.0, std, size=shape)
    zeros = math.ceil(sparsity * rows)
    chosen = np.argsort(rng.random(shape), axis=0)[:zeros]  # distinct random rows per column
    values[chosen, np.arange(cols)] = 0.0
    return _fill(tensor, values)
