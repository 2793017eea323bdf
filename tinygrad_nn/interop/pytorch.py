"""Models to and from PyTorch: `to_torch(model)` gives the ``torch.nn.Module`` twin of a
tinygrad_nn model and `from_torch(module)` the way back, with the same weights, buffers (running
statistics), dtype, training/eval mode and frozen parameters.

A torch-style module (Linear, convolutions, pools, norms, Embedding, dropout, activations,
Flatten/Unflatten/Identity, MultiheadAttention) is rebuilt from its stored constructor settings
(read from the attributes of the names its twin's constructor takes) and then given the state
dict, so both sides hold the same keys. Containers (Sequential, ModuleList, ModuleDict) convert
entry by entry. The course's modules become plain torch layers (the way back gives those
layers, not a Layer or MLP):

- ``Layer(nin, nout, g)`` -> ``Sequential(Linear(nin, nout), G)`` (no G for "linear"), W, b as
  ``0.weight``, ``0.bias``;
- ``MLP`` -> one flat ``Sequential(Linear, G, Linear, G, ...)``;
- ``Neuron(nin, g)`` -> ``Sequential(Linear(nin, 1), Flatten(0), G)``: a batch (n, nin) gives
  (n,) as the Neuron does; one sample gives shape (1,) where the Neuron gives a scalar.

Any other module (a user's class) converts when all its children do: the result holds the
converted children, its own parameters and buffers under the same names (lists and dicts of
modules as ModuleList / ModuleDict), so state dicts match, but its forward cannot be translated:
calling it raises NotImplementedError (load its state_dict into the class written for the other
library instead). Dropout masks are not carried over: each library draws its own.
"""

from __future__ import annotations

import inspect
from typing import Any, Callable, Dict, List, Tuple

import numpy as np

from ..engine import Value
from ..errors import UnsupportedTypeError
from .. import nn
from ..nn import activation, attention, conv, dropout, normalization, pooling, sparse

__all__ = ["to_torch", "from_torch"]

# the torch-style modules that convert by name: constructor settings + state dict
SUPPORTED = frozenset(["Linear", "Identity", "Flatten", "Unflatten", *activation.__all__,
                       *attention.__all__, *conv.__all__, *dropout.__all__,
                       *normalization.__all__, *pooling.__all__, *sparse.__all__])
CONTAINERS = ("Sequential", "ModuleList", "ModuleDict")
_SKIPPED = ("self", "device", "dtype", "seed")  # constructor arguments that are not settings

# settings whose value is not kept under their own name (the same rule reads both libraries)
_DERIVED: Dict[str, Callable[[Any], Any]] = {
    "bias": lambda m: m.bias is not None,
}
_DERIVED_BY_CLASS: Dict[str, Dict[str, Callable[[Any], Any]]] = {
    "MultiheadAttention": {"bias": lambda m: m.in_proj_bias is not None,
                           "add_bias_kv": lambda m: m.bias_k is not None},
    "PReLU": {"num_parameters": lambda m: int(np.prod(tuple(m.weight.shape)))},
}

# the course's activation names, as torch modules
_COURSE_ACTIVATIONS: Dict[str, Tuple[str, Dict[str, Any]]] = {
    "sigmoid": ("Sigmoid", {}), "relu": ("ReLU", {}), "tanh": ("Tanh", {}),
    "leaky_relu": ("LeakyReLU", {"negative_slope": 0.01}), "softplus": ("Softplus", {}),
    "softmax": ("Softmax", {"dim": -1}),
}


def _torch() -> Any:
    try:
        import torch
    except ImportError:
        raise ImportError("to_torch / from_torch need PyTorch: pip install torch==2.13.0 "
                          "(the CPU build is enough), or the extra tinygrad_nn[torch]") from None
    return torch


def _settings(source: Any, target_class: type, path: str, who: str) -> Dict[str, Any]:
    """The constructor arguments of `target_class` as `source` (the other library's twin) holds
    them: each read from the attribute of the same name, or derived (see _DERIVED)."""
    name = type(source).__name__
    derived = {**_DERIVED, **_DERIVED_BY_CLASS.get(name, {})}
    settings = {}
    for arg, parameter in inspect.signature(target_class).parameters.items():
        if arg in _SKIPPED or arg.startswith("_") or parameter.kind in (
                parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD):
            continue
        if arg in derived:
            settings[arg] = derived[arg](source)
        elif arg in vars(source):
            settings[arg] = getattr(source, arg)
        elif parameter.default is parameter.empty:
            raise UnsupportedTypeError(f"{who}: {_where(path)} ({name}) does not keep its "
                                       f"setting {arg!r}, so it cannot be rebuilt")
    return settings


def _where(path: str) -> str:
    return f"the sub-module {path!r}" if path else "the model"


def _unsupported(who: str, path: str, module: Any) -> UnsupportedTypeError:
    return UnsupportedTypeError(
        f"{who}: {_where(path)} is a {type(module).__name__}, which has no conversion; "
        f"supported: {', '.join(sorted(SUPPORTED))}, {', '.join(CONTAINERS)}, the course's "
        "Neuron/Layer/MLP, and modules of your own whose children all convert")


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


# ---- tinygrad_nn -> torch -------------------------------------------------------------------
def to_torch(model: nn.Module) -> Any:
    """The ``torch.nn.Module`` twin of `model`: same structure, weights, buffers, dtype, mode and
    frozen parameters (see the module docstring for what each kind becomes)."""
    torch = _torch()
    if not isinstance(model, nn.Module):
        raise TypeError(f"to_torch: expected a tinygrad_nn.nn.Module, got {type(model).__name__}")
    return _to(torch, model, "")


def _to(torch: Any, model: nn.Module, path: str) -> Any:
    name = type(model).__name__
    tnn = torch.nn
    if isinstance(model, (nn.Layer, nn.MLP, nn.Neuron)):
        return _course_to(torch, model, path)
    if isinstance(model, nn.Sequential):
        out = tnn.Sequential(*(_to(torch, m, _join(path, str(i))) for i, m in enumerate(model)))
    elif isinstance(model, nn.ModuleList):
        out = tnn.ModuleList([_to(torch, m, _join(path, str(i))) for i, m in enumerate(model)])
    elif isinstance(model, nn.ModuleDict):
        out = tnn.ModuleDict({k: _to(torch, m, _join(path, k)) for k, m in model.items()})
    elif name in SUPPORTED and type(model).__module__.startswith("tinygrad_nn.nn"):
        out = getattr(tnn, name)(**_settings(model, getattr(tnn, name), path, "to_torch"))
        _load_torch(torch, out, model, path)
    elif type(model).__module__.startswith("tinygrad_nn."):
        raise _unsupported("to_torch", path, model)
    else:
        out = _shell_to(torch, model, path)
    out.train(model.training)
    return out


def _load_torch(torch: Any, out: Any, model: nn.Module, path: str) -> None:
    """Give the torch module `model`'s state (in its dtype) and frozen flags."""
    state = model.state_dict()
    floats = [v.dtype for v in state.values() if v.dtype.kind == "f"]
    if floats:
        out.to(getattr(torch, str(floats[0])))
    out.load_state_dict({k: torch.from_numpy(np.array(v)) for k, v in state.items()})
    leaves = model._named_leaves()
    for key, parameter in out.named_parameters():
        parameter.requires_grad_(leaves[key].requires_grad)


def _course_to(torch: Any, model: nn.Module, path: str) -> Any:
    """A Neuron, Layer or MLP as a torch Sequential of Linear and activation modules."""
    tnn = torch.nn
    layers: List[Any] = []
    units: List[Any] = model.layers if isinstance(model, nn.MLP) else [model]
    for unit in units:
        weight = unit.W.data if isinstance(unit, nn.Layer) else unit.w.data.reshape(1, -1)
        linear = tnn.Linear(weight.shape[1], weight.shape[0]).to(getattr(torch, str(weight.dtype)))
        with torch.no_grad():
            linear.weight.copy_(torch.from_numpy(np.array(weight)))
            linear.bias.copy_(torch.from_numpy(np.array(unit.b.data).reshape(-1)))
        layers.append(linear)
        if isinstance(unit, nn.Neuron):
            layers.append(tnn.Flatten(0))
        if (unit.activation or "linear") != "linear":
            act, kwargs = _COURSE_ACTIVATIONS[unit.activation]
            layers.append(getattr(tnn, act)(**kwargs))
    return tnn.Sequential(*layers).train(model.training)


def _untranslatable(library: str) -> Callable[..., Any]:
    def forward(self: Any, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(
            f"{type(self).__name__} was converted from a {library} module of your own: its "
            "children, parameters and buffers came over, its forward did not. Write the forward "
            "(or load this state_dict into your own class written for this library)")
    return forward


def _shell_to(torch: Any, model: nn.Module, path: str) -> Any:
    """A user's module as a torch module of the same class name holding its converted
    children, parameters and buffers under the same names."""
    shell = type(type(model).__name__, (torch.nn.Module,),
                 {"forward": _untranslatable("tinygrad_nn")})()
    buffers = model.__dict__.get("_buffers", {})
    for name, attr in vars(model).items():
        if name in buffers:
            if attr is not None:
                shell.register_buffer(name, torch.from_numpy(np.array(attr)),
                                      persistent=buffers[name])
        else:
            item = _held_to(torch, attr, _join(path, name))
            if item is not None:
                setattr(shell, name, item)
    return shell


def _held_to(torch: Any, item: Any, path: str) -> Any:
    """What a user's attribute becomes: a converted module, a Parameter, or a ModuleList /
    ModuleDict / ParameterList / ParameterDict of those; None for anything else (settings)."""
    tnn = torch.nn
    if isinstance(item, nn.Module):
        return _to(torch, item, path)
    if isinstance(item, Value):
        if item._fn is not None:
            return None
        return tnn.Parameter(torch.from_numpy(np.array(item.data)),
                             requires_grad=item.requires_grad)
    if isinstance(item, (list, tuple, dict)):
        entries = list(item.items()) if isinstance(item, dict) else list(enumerate(item))
        held = [(str(k), _held_to(torch, e, _join(path, str(k)))) for k, e in entries]
        if not held or any(h is None for _, h in held):
            return None
        if all(isinstance(h, tnn.Parameter) for _, h in held):
            return (tnn.ParameterDict(dict(held)) if isinstance(item, dict)
                    else tnn.ParameterList([h for _, h in held]))
        if all(isinstance(h, tnn.Module) for _, h in held):
            return (tnn.ModuleDict(dict(held)) if isinstance(item, dict)
                    else tnn.ModuleList([h for _, h in held]))
        raise UnsupportedTypeError(f"to_torch: {path!r} mixes modules and parameters in one "
                                   "list or dict, which torch cannot hold")
    return None


# ---- torch -> tinygrad_nn -------------------------------------------------------------------
def from_torch(module: Any) -> nn.Module:
    """The tinygrad_nn twin of the ``torch.nn.Module`` `module` (the converse of `to_torch`):
    same structure, weights, buffers, dtype, mode and frozen parameters."""
    torch = _torch()
    if not isinstance(module, torch.nn.Module):
        raise TypeError(f"from_torch: expected a torch.nn.Module, got {type(module).__name__}")
    return _from(torch, module, "")


def _from(torch: Any, module: Any, path: str) -> nn.Module:
    name = type(module).__name__
    tnn = torch.nn
    out: nn.Module
    if isinstance(module, tnn.Sequential):
        out = nn.Sequential(*_children_from(torch, module, path).values())
    elif isinstance(module, tnn.ModuleList):
        out = nn.ModuleList(list(_children_from(torch, module, path).values()))
    elif isinstance(module, tnn.ModuleDict):
        out = nn.ModuleDict(_children_from(torch, module, path))
    elif isinstance(module, (tnn.ParameterList, tnn.ParameterDict)):
        values = {k: Value(p.detach().cpu().numpy().copy(), requires_grad=p.requires_grad)
                  for k, p in module.named_parameters()}
        out = (nn.ParameterDict(values) if isinstance(module, tnn.ParameterDict)
               else nn.ParameterList(list(values.values())))
    elif name in SUPPORTED and type(module).__module__.startswith("torch.nn"):
        cls = getattr(nn, name)
        settings = _settings(module, cls, path, "from_torch")
        floats = [t.dtype for t in module.state_dict().values() if t.is_floating_point()]
        if floats and "dtype" in inspect.signature(cls).parameters:
            settings["dtype"] = np.dtype(str(floats[0]).removeprefix("torch."))
        out = cls(**settings)
        state = {k: t.detach().cpu().numpy() for k, t in module.state_dict().items()}
        out.load_state_dict(state)
        _frozen_from(out, module)
    elif type(module).__module__.startswith("torch."):
        raise _unsupported("from_torch", path, module)
    else:
        out = _shell_from(torch, module, path)
    out.train(module.training)
    return out


def _children_from(torch: Any, module: Any, path: str) -> Dict[str, nn.Module]:
    return {k: _from(torch, m, _join(path, k)) for k, m in module.named_children()}


def _frozen_from(out: nn.Module, module: Any) -> None:
    leaves = out._named_leaves()
    for key, parameter in module.named_parameters():
        leaves[key].requires_grad = parameter.requires_grad


def _shell_from(torch: Any, module: Any, path: str) -> nn.Module:
    """A user's torch module as a tinygrad_nn Module of the same class name holding its
    converted children, parameters and buffers under the same names."""
    shell = type(type(module).__name__, (nn.Module,),
                 {"forward": _untranslatable("torch")})()
    for name, parameter in module.named_parameters(recurse=False):
        setattr(shell, name, Value(parameter.detach().cpu().numpy().copy(),
                                   requires_grad=parameter.requires_grad))
    for name, buffer in module.named_buffers(recurse=False):
        shell.register_buffer(name, buffer.detach().cpu().numpy().copy(),
                              persistent=name not in module._non_persistent_buffers_set)
    for name, child in _children_from(torch, module, path).items():
        setattr(shell, name, child)
    return shell
