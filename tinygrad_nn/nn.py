"""Neural-network modules: the logistic unit (`Neuron`), a layer of units (`Layer`), and `MLP`;
the containers `ModuleList`, `ModuleDict` and `Sequential`.

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

from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence, Tuple, Union

import numpy as np

from . import init as initializers
from .engine import Value, constant, zero_grad
from .errors import ShapeError
from .ops import linear, stack

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


class Module:
    """Base class of models. Parameters are the leaf Values that require a gradient; they and
    sub-modules are found in the module's attributes, and inside lists, tuples and dicts held
    there (nested too), in the order they were assigned, with dotted names like ``layers.0.W``
    (a dict's entries under their keys: ``blocks.encoder.W``)."""

    training: bool = True

    def forward(self, x: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must define forward()")

    def __call__(self, x: Any) -> Any:
        return self.forward(x)

    # ---- what it holds -----------------------------------------------------------------------
    def _members(self) -> Iterator[Tuple[str, Any]]:
        """(name, object) for everything this module holds, containers opened: the one place
        that says where parameters and sub-modules are looked for."""
        for name, attr in vars(self).items():
            yield from _opened(name, attr)

    def named_children(self) -> Iterator[Tuple[str, "Module"]]:
        """The sub-modules held directly here (not their own sub-modules), by name."""
        for name, item in self._members():
            if isinstance(item, Module):
                yield name, item

    def children(self) -> Iterator["Module"]:
        return (module for _, module in self.named_children())

    def named_modules(self, prefix: str = "") -> Iterator[Tuple[str, "Module"]]:
        """This module (named `prefix`, '' by default) and every sub-module, depth first."""
        yield prefix, self
        for name, child in self.named_children():
            yield from child.named_modules(prefix + ("." if prefix else "") + name)

    def modules(self) -> Iterator["Module"]:
        """This module and every sub-module, depth first."""
        return (module for _, module in self.named_modules())

    def apply(self, fn: Callable[["Module"], Any]) -> "Module":
        """Call fn on every sub-module, then on this one (as PyTorch does: for initialisation)."""
        for child in self.children():
            child.apply(fn)
        fn(self)
        return self

    # ---- parameters ------------------------------------------------------------------------
    def named_parameters(self) -> Iterator[Tuple[str, Value]]:
        """(dotted name, parameter) pairs; a parameter shared by two places appears once."""
        seen = set()
        for name, v in self._walk(""):
            if id(v) not in seen:
                seen.add(id(v))
                yield name, v

    def _walk(self, prefix: str, frozen: bool = False) -> Iterator[Tuple[str, Value]]:
        """The leaf Values held here that require a gradient (with `frozen`, those that do not
        as well: parameters switched off by requires_grad_(False) or made with
        requires_grad=False)."""
        for name, item in self._members():
            if isinstance(item, Module):
                yield from item._walk(prefix + name + ".", frozen)
            elif isinstance(item, Value) and item._fn is None and (frozen or item.requires_grad):
                yield prefix + name, item

    def _named_leaves(self) -> Dict[str, Value]:
        """Every parameter by dotted name, frozen ones included: what state_dict holds."""
        leaves: Dict[str, Value] = {}
        seen = set()
        for name, v in self._walk("", frozen=True):
            if id(v) not in seen:
                seen.add(id(v))
                leaves[name] = v
        return leaves

    def requires_grad_(self, requires_grad: bool = True) -> "Module":
        """Freeze (False) or unfreeze every parameter, as PyTorch's: a frozen one is left out of
        parameters() (so optimizers skip it) but stays in state_dict()."""
        for v in self._named_leaves().values():
            if requires_grad and not v.requires_grad:
                v.grad = np.zeros_like(v.data) if type(v.data) is not float else 0.0
            v.requires_grad = bool(requires_grad)
        return self

    def parameters(self) -> List[Value]:
        return [v for _, v in self.named_parameters()]

    def weights(self) -> List[Value]:
        """The parameters that regularization penalises: all but biases (names ending in b/bias)."""
        return [v for name, v in self.named_parameters() if name.rsplit(".", 1)[-1] not in ("b", "bias")]

    def num_parameters(self) -> int:
        return int(sum(v.size for v in self.parameters()))

    def zero_grad(self) -> None:
        zero_grad(self.parameters())

    # ---- modes -----------------------------------------------------------------------------
    def train(self, mode: bool = True) -> "Module":
        """Set training mode here and in every sub-module (eval() is train(False))."""
        for module in self.modules():
            module.training = mode
        return self

    def eval(self) -> "Module":
        return self.train(False)

    # ---- state -----------------------------------------------------------------------------
    def state_dict(self) -> Dict[str, np.ndarray]:
        """Copies of every parameter as numpy arrays, by dotted name (frozen ones too)."""
        return {name: np.array(v.data) for name, v in self._named_leaves().items()}

    def load_state_dict(self, state: Dict[str, Any], strict: bool = True) -> None:
        """Set parameters from `state`. Every name, shape and dtype is checked first; on any
        mismatch a ValueError lists them all and the model is left unchanged."""
        params = self._named_leaves()
        problems = []
        if strict:
            problems += [f"missing: {n}" for n in params if n not in state]
            problems += [f"unexpected: {n}" for n in state if n not in params]
        updates = {}
        for name, value in state.items():
            if name not in params:
                continue
            p, arr = params[name], np.asarray(value)
            if arr.shape != p.shape:
                problems.append(f"{name}: shape {arr.shape} in the state, {p.shape} in the model")
            elif arr.dtype != p.dtype:
                problems.append(f"{name}: dtype {arr.dtype} in the state, {p.dtype} in the model")
            else:
                updates[p] = float(arr) if type(p.data) is float else np.array(arr)
        if problems:
            raise ShapeError(f"load_state_dict into {type(self).__name__}: "
                             + "; ".join(problems) + ". Nothing was loaded.")
        for p, data in updates.items():
            p.data = data

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.num_parameters()} parameters)"


def _opened(name: str, item: Any) -> Iterator[Tuple[str, Any]]:
    """`item` under `name`, or, for a list, tuple or dict, its entries (nested ones too) under
    ``name.index`` or ``name.key``."""
    if isinstance(item, (list, tuple)):
        for index, entry in enumerate(item):
            yield from _opened(f"{name}.{index}", entry)
    elif isinstance(item, dict):
        for key, entry in item.items():
            yield from _opened(f"{name}.{key}", entry)
    else:
        yield name, item


class ModuleList(Module):
    """Modules in a list, named 0, 1, ... (as in PyTorch); index, iterate and append them."""

    def __init__(self, modules: Sequence[Module] = ()):
        self._list: List[Module] = []
        for module in modules:
            self.append(module)

    def append(self, module: Module) -> "ModuleList":
        if not isinstance(module, Module):
            raise TypeError(f"{type(self).__name__}: expected a Module, got a {type(module).__name__}")
        self._list.append(module)
        return self

    def _members(self) -> Iterator[Tuple[str, Any]]:
        return ((str(index), module) for index, module in enumerate(self._list))

    def __getitem__(self, index: int) -> Module:
        return self._list[index]

    def __len__(self) -> int:
        return len(self._list)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._list)

    def __repr__(self) -> str:
        return f"{type(self).__name__}([{', '.join(map(repr, self._list))}])"


class Sequential(ModuleList):
    """Modules applied in turn: Sequential(Layer(4, 8, "relu"), Layer(8, 1, "linear"))."""

    def __init__(self, *modules: Module):
        super().__init__(modules)

    def forward(self, x: Any) -> Any:
        for module in self._list:
            x = module(x)
        return x


class ModuleDict(Module):
    """Modules by name (str keys), in insertion order, as in PyTorch."""

    def __init__(self, modules: Optional[Dict[str, Module]] = None):
        self._dict: Dict[str, Module] = {}
        for key, module in (modules or {}).items():
            self[key] = module

    def __setitem__(self, key: str, module: Module) -> None:
        if not isinstance(key, str) or not isinstance(module, Module):
            raise TypeError(f"ModuleDict: keys are names (str) and values Modules; got "
                            f"{type(key).__name__} -> {type(module).__name__}")
        self._dict[key] = module

    def __getitem__(self, key: str) -> Module:
        return self._dict[key]

    def __len__(self) -> int:
        return len(self._dict)

    def keys(self) -> Any:
        return self._dict.keys()

    def items(self) -> Any:
        return self._dict.items()

    def values(self) -> Any:
        return self._dict.values()

    def _members(self) -> Iterator[Tuple[str, Any]]:
        return iter(self._dict.items())


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
        for layer in self.layers:
            x = layer.propagate(x)
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
