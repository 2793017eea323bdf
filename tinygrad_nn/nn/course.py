"""The course's network model: the logistic unit (`Neuron`), a layer of units (`Layer`), and `MLP`.

The network model of Ng's course: a unit computes g(θᵀx) with a bias unit x₀ = 1; a layer is
many units side by side, ``a = g(x Wᵀ + b)`` with weights ``W`` of shape (nout, nin) and bias
``b`` of shape (nout,) (``[b, W]`` is the course's Θ); forward propagation applies layers in turn.

Inputs, and what comes back:
- one sample as a 1-D array (nin,)  -> a Value of shape (nout,)
- a batch as an array (n, nin)      -> a Value of shape (n, nout)
- a Value                           -> a Value (it may require a gradient itself)
- a list of numbers or scalar Values (micrograd style) -> a list of nout scalar Values
A `Neuron` has one output: a scalar Value for one sample, shape (n,) for a batch.
"""

from __future__ import annotations

from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np

from .. import init as initializers
from ..engine import Value, constant
from ..errors import ShapeError
from ..ops import linear, stack
from .module import Module

ACTIVATIONS: Dict[str, Callable[[Value], Value]] = {
    "sigmoid": lambda z: z.sigmoid(),
    "relu": lambda z: z.relu(),
    "tanh": lambda z: z.tanh(),
    "leaky_relu": lambda z: z.leaky_relu(),
    "softplus": lambda z: z.softplus(),
    "softmax": lambda z: z.softmax(axis=-1),
    "linear": lambda z: z,
}

Seed = Union[int, np.random.Generator, None]


def activation_fn(name: Optional[str]) -> Callable[[Value], Value]:
    """The activation called `name` (None means linear)."""
    try:
        return ACTIVATIONS[name or "linear"]
    except KeyError:
        raise ValueError(f"unknown activation {name!r}; choose one of {sorted(ACTIVATIONS)}") from None


def _default_init(activation: Optional[str]) -> str:
    """He for rectifiers, Glorot (Ng's ε = sqrt(6)/sqrt(L_in + L_out)) for the rest."""
    return "he_uniform" if activation in ("relu", "leaky_relu") else "xavier_uniform"


def _to_value(x: Any, nin: int, model: "Module", dtype: np.dtype) -> Tuple[Value, bool]:
    """The input as a Value with `nin` features, and whether it came as a list (micrograd style).
    Data (not Values) is cast to the model's dtype, so a float32 model computes in float32."""
    as_list = isinstance(x, (list, tuple))
    if as_list:
        x = stack(list(x))
    elif not isinstance(x, Value):
        x = constant(np.asarray(x, dtype=dtype))
    if x.ndim not in (1, 2) or x.shape[-1] != nin:
        raise ShapeError(f"{model!r}: expected one sample of shape ({nin},) or a batch of shape "
                         f"(n, {nin}); got shape {x.shape}")
    return x, as_list


def _from_value(out: Value, as_list: bool) -> Any:
    return [out[i] for i in range(out.shape[0])] if as_list else out


class Neuron(Module):
    """The logistic unit: g(w·x + b), with g the sigmoid by default."""

    def __init__(self, nin: int, activation: Optional[str] = "sigmoid", *,
                 init: Union[str, Callable, None] = None, seed: Seed = None, dtype: Any = np.float64):
        rng = np.random.default_rng(seed)  # a Generator passes through unchanged
        self.w = Value(initializers.get(init or _default_init(activation))((nin,), rng).astype(dtype),
                       label="w")
        self.b = Value(np.zeros((), dtype=dtype), label="b")
        self.activation = activation
        self.nin = nin

    def forward(self, x: Any) -> Any:
        x, _ = _to_value(x, self.nin, self, self.w.dtype)
        return activation_fn(self.activation)(x @ self.w + self.b)

    def __repr__(self) -> str:
        return f"Neuron({self.nin}, activation={self.activation!r})"


class Layer(Module):
    """`nout` units over the same `nin` inputs: g(x Wᵀ + b), W of shape (nout, nin)."""

    def __init__(self, nin: int, nout: int, activation: Optional[str] = "sigmoid", *,
                 init: Union[str, Callable, None] = None, seed: Seed = None, dtype: Any = np.float64):
        rng = np.random.default_rng(seed)  # a Generator passes through unchanged
        self.W = Value(initializers.get(init or _default_init(activation))((nout, nin), rng).astype(dtype),
                       label="W")
        self.b = Value(np.zeros(nout, dtype=dtype), label="b")
        self.activation = activation

    @property
    def nin(self) -> int:
        return self.W.shape[1]

    @property
    def nout(self) -> int:
        return self.W.shape[0]

    def forward(self, x: Any) -> Any:
        x, as_list = _to_value(x, self.nin, self, self.W.dtype)
        return _from_value(self.propagate(x), as_list)

    def propagate(self, x: Value) -> Value:
        """Forward propagation of a Value (no input conversion): g(x Wᵀ + b)."""
        return activation_fn(self.activation)(linear(x, self.W, self.b))

    def __repr__(self) -> str:
        return f"Layer({self.nin} -> {self.nout}, activation={self.activation!r})"


class MLP(Module):
    """A multilayer perceptron: layers of sizes nin -> nouts[0] -> ... -> nouts[-1].

    Hidden layers use `activation`; the last layer uses `output_activation`, which defaults to
    the same (Ng's network: sigmoid everywhere). Use ``output_activation="linear"`` for logits
    (with `cross_entropy`) or regression. Layers are seeded from one Generator, so a seed
    reproduces the whole model.
    """

    _SAME = "same"

    def __init__(self, nin: int, nouts: Sequence[int], activation: Optional[str] = "sigmoid",
                 output_activation: Optional[str] = _SAME, *, init: Union[str, Callable, None] = None,
                 seed: Seed = None, dtype: Any = np.float64):
        if not nouts:
            raise ValueError("MLP: give at least one layer size in nouts")
        rng = np.random.default_rng(seed)  # a Generator passes through unchanged
        last = activation if output_activation == self._SAME else output_activation
        sizes = [nin] + list(nouts)
        self.layers = [Layer(sizes[i], sizes[i + 1], last if i == len(nouts) - 1 else activation,
                             init=init, seed=rng, dtype=dtype) for i in range(len(nouts))]

    def forward(self, x: Any) -> Any:
        x, as_list = _to_value(x, self.layers[0].nin, self, self.layers[0].W.dtype)
        for layer in self.layers:  # a layer with hooks is called, so that they fire
            x = layer(x) if layer.has_hooks() else layer.propagate(x)
        return _from_value(x, as_list)

    # ---- Ng's layout -----------------------------------------------------------------------
    @classmethod
    def from_thetas(cls, thetas: Sequence[np.ndarray], activation: Optional[str] = "sigmoid",
                    output_activation: Optional[str] = _SAME) -> "MLP":
        """Build the network from the course's Θ matrices: Θ⁽ˡ⁾ has shape (nout, 1 + nin) and
        holds the bias in column 0."""
        thetas = [np.asarray(t, dtype=np.float64) for t in thetas]
        for i, t in enumerate(thetas):
            if t.ndim != 2 or t.shape[1] < 2:
                raise ShapeError(f"from_thetas: Theta{i + 1} must have shape (nout, 1 + nin); got {t.shape}")
            if i and t.shape[1] - 1 != thetas[i - 1].shape[0]:
                raise ShapeError(f"from_thetas: Theta{i + 1} takes {t.shape[1] - 1} inputs but "
                                 f"Theta{i} gives {thetas[i - 1].shape[0]} outputs")
        model = cls(thetas[0].shape[1] - 1, [t.shape[0] for t in thetas], activation,
                    output_activation, init="zeros")
        model.load_state_dict({f"layers.{i}.{k}": v for i, t in enumerate(thetas)
                               for k, v in (("W", t[:, 1:]), ("b", t[:, 0]))})
        return model

    def thetas(self) -> List[np.ndarray]:
        """The course's Θ matrices: [b | W] for each layer, shape (nout, 1 + nin)."""
        return [np.column_stack([layer.b.data, layer.W.data]) for layer in self.layers]

    def __repr__(self) -> str:
        inner = ", ".join(repr(layer) for layer in self.layers)
        return f"MLP([{inner}])"
