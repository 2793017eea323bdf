"""`Module`, the base class of models, `Parameter`, and the containers `ModuleList`,
`ModuleDict`, `Sequential`, `ParameterList` and `ParameterDict`.

A module's parameters (leaf Values), buffers (numpy arrays registered with `register_buffer`:
state that is saved but not trained, such as BatchNorm's running statistics) and sub-modules
are found in its attributes, and inside lists, tuples and dicts held there (nested too), in the
order they were assigned, under dotted names like ``layers.0.W`` (a dict's entries under their
keys: ``blocks.encoder.W``), as in PyTorch. A container's entries are named by position or key
(``0.weight``); what is assigned to a container as an attribute is found too.

Forward hooks, as PyTorch's: `register_forward_pre_hook` runs a function on a module's inputs
before its forward (and may replace them), `register_forward_hook` on its inputs and output after
(and may replace the output); each returns a `RemovableHandle`. A module with no hooks calls its
forward directly, as it did before hooks existed.
"""

from __future__ import annotations

from typing import Any, Callable, ClassVar, Dict, Iterator, List, Optional, Sequence, Tuple

import numpy as np

from ..engine import HOOK_KEYS, RemovableHandle, Value, zero_grad
from ..errors import ShapeError, UnsupportedTypeError

_PRE_HOOKS, _POST_HOOKS = "_forward_pre_hooks", "_forward_hooks"
_BOOKKEEPING = frozenset({"_named", "_plain", _PRE_HOOKS, _POST_HOOKS})  # not model state


class Module:
    """Base class of models: define `forward`; call the module to run it."""

    training: bool = True
    _store: ClassVar[str] = ""  # a container's attribute holding its entries, named by index or key

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must define forward()")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if self.__dict__.get("_plain", False):  # named, and no hooks: straight to forward
            return self.forward(*args, **kwargs)
        return self._call_with_hooks(args, kwargs)

    def _call_with_hooks(self, args: tuple, kwargs: Dict[str, Any]) -> Any:
        """The first call (which names the parameters), and every call while hooks are set: the
        pre-hooks in order, each seeing the inputs the one before left, then forward, then the
        forward hooks in order, each seeing the output the one before left."""
        state = self.__dict__
        if not state.get("_named", False):
            self._name_parameters()
        pre, post = state.get(_PRE_HOOKS), state.get(_POST_HOOKS)
        if not pre and not post:
            state["_plain"] = True
            return self.forward(*args, **kwargs)
        for hook, with_kwargs in tuple((pre or {}).values()):  # a copy: a hook may remove itself
            if with_kwargs:
                result = hook(self, args, kwargs)
                if result is not None:
                    if not (isinstance(result, tuple) and len(result) == 2
                            and isinstance(result[0], tuple) and isinstance(result[1], dict)):
                        raise UnsupportedTypeError(
                            f"forward pre-hook {_hook_name(hook)} on {type(self).__name__} "
                            "(with_kwargs=True) must return None or a pair (args tuple, kwargs "
                            f"dict); got {_describe(result)}")
                    args, kwargs = result
            else:
                result = hook(self, args)
                if result is not None:
                    args = result if isinstance(result, tuple) else (result,)
        output = self.forward(*args, **kwargs)
        for hook, with_kwargs in tuple((post or {}).values()):
            result = hook(self, args, kwargs, output) if with_kwargs else hook(self, args, output)
            if result is not None:
                output = result
        return output

    # ---- hooks -------------------------------------------------------------------------------
    def register_forward_pre_hook(self, hook: Callable[..., Any], *, prepend: bool = False,
                                  with_kwargs: bool = False) -> "RemovableHandle":
        """Run ``hook(module, args)`` before each forward, as PyTorch's: `args` is the tuple of
        positional inputs; a hook returning something other than None replaces them (a tuple as
        it is, any other value as a 1-tuple). With `with_kwargs` it is ``hook(module, args,
        kwargs)`` and returns None or ``(args, kwargs)``. Hooks run in the order registered;
        `prepend` puts this one first. Returns a handle whose ``remove()`` takes it off."""
        return self._add_hook(_PRE_HOOKS, hook, prepend, with_kwargs, "register_forward_pre_hook")

    def register_forward_hook(self, hook: Callable[..., Any], *, prepend: bool = False,
                              with_kwargs: bool = False) -> "RemovableHandle":
        """Run ``hook(module, args, output)`` after each forward, as PyTorch's: `args` are the
        positional inputs forward was given (after any pre-hooks); a hook returning something
        other than None replaces the output, for the next hook and the caller, and gradients
        flow through what it returns. With `with_kwargs` it is ``hook(module, args, kwargs,
        output)``. Hooks run in the order registered; `prepend` puts this one first. Returns a
        handle whose ``remove()`` takes it off. Not run when forward raises (PyTorch's
        ``always_call`` is not supported)."""
        return self._add_hook(_POST_HOOKS, hook, prepend, with_kwargs, "register_forward_hook")

    def _add_hook(self, kind: str, hook: Callable[..., Any], prepend: bool, with_kwargs: bool,
                  op: str) -> "RemovableHandle":
        if not callable(hook):
            raise UnsupportedTypeError(f"{op} on {type(self).__name__}: the hook must be "
                                       f"callable; got {_describe(hook)}")
        hooks: Dict[int, Tuple[Callable[..., Any], bool]] = self.__dict__.setdefault(kind, {})
        key = next(HOOK_KEYS)
        hooks[key] = (hook, bool(with_kwargs))
        if prepend:  # the dict is shared with the handles, so reorder it in place
            for other in [k for k in hooks if k != key]:
                hooks[other] = hooks.pop(other)
        self.__dict__["_plain"] = False
        return RemovableHandle(hooks, key)

    def has_hooks(self) -> bool:
        """Whether any forward pre-hook or forward hook is registered on this module."""
        state = self.__dict__
        return bool(state.get(_PRE_HOOKS) or state.get(_POST_HOOKS))

    def _name_parameters(self) -> None:
        """Give every parameter its dotted name (`Value.name`), once, on the first call, so that
        draw_dot(loss) can group a model's layers. A name set by an enclosing module (longer,
        ending in this one) is kept; a model later placed inside another is renamed by it."""
        for name, v in self._walk("", frozen=True):
            if not v.name or name.endswith("." + v.name):
                v.name = name
        self.__dict__["_named"] = True

    # ---- what it holds -----------------------------------------------------------------------
    def _members(self) -> Iterator[Tuple[str, Any]]:
        """(name, object) for everything this module holds, containers opened: the one place
        that says where parameters, buffers and sub-modules are looked for."""
        for name, attr in vars(self).items():
            if name in _BOOKKEEPING:
                continue
            if name == self._store:  # a container's own entries: named 0, 1, ... or by key
                yield from ((str(k), e) for k, e in (attr.items() if isinstance(attr, dict)
                                                     else enumerate(attr)))
            else:
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
    def named_parameters(self, include_frozen: bool = False) -> Iterator[Tuple[str, Value]]:
        """(dotted name, parameter) pairs of the parameters that are trained (with
        `include_frozen`, those with requires_grad=False too, as state_dict and summary list
        them); a parameter shared by two places appears once, under its first name."""
        seen = set()
        for name, v in self._walk("", frozen=include_frozen):
            if id(v) not in seen:
                seen.add(id(v))
                yield name, v

    def _entries(self, prefix: str = "") -> Iterator[Tuple[str, Any]]:
        """(dotted name, leaf Value or buffer array) in PyTorch's state_dict order: this module's
        own parameters, then its persistent buffers, then each sub-module's entries."""
        members = list(self._members())
        for name, item in members:
            if isinstance(item, Value) and item._fn is None:
                yield prefix + name, item
        for name, persistent in self.__dict__.get("_buffers", {}).items():
            if persistent and getattr(self, name) is not None:
                yield prefix + name, getattr(self, name)
        for name, item in members:
            if isinstance(item, Module):
                yield from item._entries(prefix + name + ".")

    def _walk(self, prefix: str, frozen: bool = False) -> Iterator[Tuple[str, Value]]:
        """The leaf Values held here that require a gradient (with `frozen`, those that do not
        as well: parameters switched off by requires_grad_(False) or made with
        requires_grad=False), in PyTorch's order."""
        for name, item in self._entries(prefix):
            if isinstance(item, Value) and (frozen or item.requires_grad):
                yield name, item

    def _named_leaves(self) -> Dict[str, Value]:
        """Every parameter by dotted name, frozen ones included: what state_dict holds."""
        return dict(self.named_parameters(include_frozen=True))

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

    # ---- buffers ---------------------------------------------------------------------------
    def register_buffer(self, name: str, array: Any, persistent: bool = True) -> None:
        """Keep `array` (a numpy array, or None for "not yet") as the attribute `name`: state that
        is not trained but saved by state_dict() (unless `persistent` is False), as BatchNorm's
        running statistics. Assigning the attribute later replaces the buffer."""
        if not isinstance(name, str) or not name.isidentifier():
            raise ValueError(f"register_buffer: the name must be an identifier; got {name!r}")
        if array is not None and not isinstance(array, np.ndarray):
            raise TypeError(f"register_buffer({name!r}): a buffer is a numpy array or None; got "
                            f"{type(array).__name__} (a trained Value is a parameter instead)")
        buffers = self.__dict__.setdefault("_buffers", {})
        buffers[name] = bool(persistent)
        setattr(self, name, array)

    def _buffer_owners(self, prefix: str = "") -> Iterator[Tuple[str, "Module", str, bool]]:
        """(dotted name, owning module, attribute, persistent) of every buffer, sub-modules' too:
        the one walk that named_buffers, to() and load_state_dict share."""
        for module_name, module in self.named_modules(prefix):
            for name, persistent in module.__dict__.get("_buffers", {}).items():
                yield (module_name + "." if module_name else "") + name, module, name, persistent

    def named_buffers(self, prefix: str = "", persistent_only: bool = False) -> Iterator[Tuple[str, Any]]:
        """(dotted name, array) of the buffers here and in every sub-module."""
        for name, module, attr, persistent in self._buffer_owners(prefix):
            if persistent or not persistent_only:
                yield name, getattr(module, attr)

    def buffers(self) -> List[Any]:
        return [array for _, array in self.named_buffers()]

    # ---- building and converting -------------------------------------------------------------
    def add_module(self, name: str, module: Optional["Module"]) -> None:
        """Hold `module` as the attribute `name` (PyTorch's spelling of ``self.name = module``)."""
        if not isinstance(name, str) or not name.isidentifier():
            raise ValueError(f"add_module: the name must be an identifier; got {name!r}")
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"add_module({name!r}): expected a Module, got {type(module).__name__}")
        setattr(self, name, module)

    register_module = add_module

    def get_submodule(self, target: str) -> "Module":
        """The sub-module at dotted path `target` ('' is this module), as in PyTorch."""
        modules = dict(self.named_modules())
        if target not in modules:
            raise AttributeError(f"get_submodule: {type(self).__name__} has no sub-module "
                                 f"{target!r}; it has {[n for n in modules if n]}")
        return modules[target]

    def to(self, dtype: Any) -> "Module":
        """Convert every parameter (and its gradient) and every floating buffer to `dtype`
        (np.float32 or np.float64), in place, as PyTorch's ``module.to(dtype)``."""
        dtype = np.dtype(dtype)
        if dtype not in (np.float32, np.float64):
            raise TypeError(f"to: parameters are float32 or float64; got {dtype}")
        for v in self._named_leaves().values():
            if type(v.data) is not float:
                v.data = v.data.astype(dtype)
                if isinstance(v.grad, np.ndarray):
                    v.grad = v.grad.astype(dtype)
        for _, module, attr, _ in self._buffer_owners():
            array = getattr(module, attr)
            if isinstance(array, np.ndarray) and array.dtype.kind == "f":
                setattr(module, attr, array.astype(dtype))
        return self

    def float(self) -> "Module":
        """float32 parameters and buffers (see `to`)."""
        return self.to(np.float32)

    def double(self) -> "Module":
        """float64 parameters and buffers (see `to`)."""
        return self.to(np.float64)

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
        """Copies of every parameter (frozen ones too; a shared one under its first name) and
        persistent buffer as numpy arrays, by dotted name, in PyTorch's order."""
        state, seen = {}, set()
        for name, item in self._entries():
            if isinstance(item, Value):
                if id(item) in seen:
                    continue
                seen.add(id(item))
                item = item.data
            state[name] = np.array(item)
        return state

    def _buffer_slots(self) -> Dict[str, Tuple["Module", str]]:
        """Persistent buffers by dotted name, as (owning module, attribute)."""
        return {name: (module, attr) for name, module, attr, persistent in self._buffer_owners()
                if persistent and getattr(module, attr) is not None}

    def load_state_dict(self, state: Dict[str, Any], strict: bool = True) -> None:
        """Set parameters and buffers from `state`. Every name, shape and dtype is checked first;
        on any mismatch a ShapeError lists them all and the model is left unchanged."""
        params, slots = self._named_leaves(), self._buffer_slots()
        problems = []
        if strict:
            problems += [f"missing: {n}" for n in [*params, *slots] if n not in state]
            problems += [f"unexpected: {n}" for n in state if n not in params and n not in slots]
        updates: List[Callable[[], None]] = []
        for name, value in state.items():
            if name not in params and name not in slots:
                continue
            arr = np.asarray(value)
            if name in params:
                p = params[name]
                shape, dtype = p.shape, p.dtype
            else:
                module, attr = slots[name]
                current = getattr(module, attr)
                shape, dtype = current.shape, current.dtype
            if arr.shape != shape:
                problems.append(f"{name}: shape {arr.shape} in the state, {shape} in the model")
            elif arr.dtype != dtype:
                problems.append(f"{name}: dtype {arr.dtype} in the state, {dtype} in the model")
            elif name in params:
                updates.append(_setter(params[name], "data",
                                       float(arr) if type(params[name].data) is float else np.array(arr)))
            else:
                updates.append(_setter(module, attr, np.array(arr)))
        if problems:
            raise ShapeError(f"load_state_dict into {type(self).__name__}: "
                             + "; ".join(problems) + ". Nothing was loaded.")
        for update in updates:
            update()

    def __repr__(self) -> str:
        """PyTorch's layout: the sub-modules indented one per line under their names; a module
        without any shows its parameter count."""
        children = list(self.named_children())
        if not children:
            return f"{type(self).__name__}({self.num_parameters()} parameters)"
        lines = [f"({name}): " + repr(child).replace("\n", "\n  ") for name, child in children]
        return f"{type(self).__name__}(\n  " + "\n  ".join(lines) + "\n)"


def Parameter(data: Any, requires_grad: bool = True) -> Value:  # noqa: N802  torch's spelling
    """A leaf Value holding a copy of `data`: what ``torch.nn.Parameter`` is to PyTorch code. A
    module finds it as a parameter once it is held in an attribute (or a list or dict)."""
    return Value(data.data if isinstance(data, Value) else data, requires_grad=requires_grad)


def _hook_name(hook: Any) -> str:
    return getattr(hook, "__qualname__", type(hook).__name__)


def _describe(value: Any) -> str:
    if isinstance(value, tuple):
        return f"a tuple of ({', '.join(type(v).__name__ for v in value)})"
    return f"a {type(value).__name__}"


def _setter(owner: Any, attr: str, value: Any) -> Callable[[], None]:
    return lambda: setattr(owner, attr, value)


def _opened(name: str, item: Any) -> Iterator[Tuple[str, Any]]:
    """`item` under `name`, or, for a list, tuple or dict, its entries (nested ones too) under
    ``name.index`` or ``name.key``."""
    if isinstance(item, (list, tuple)):
        for index, entry in enumerate(item):
            yield from _opened(f"{name}.{index}", entry)
    elif isinstance(item, dict):
        for key, entry in item.items():
            yield from _opened(f"{name}.{key}", entry)
    elif isinstance(item, (set, frozenset)) and any(isinstance(e, (Module, Value)) for e in item):
        raise TypeError(f"{name!r} is a set holding Modules or Values: a set has no order, so "
                        "their parameters would get no stable names; keep them in a list, a "
                        "dict or an nn.ModuleList")
    else:
        yield name, item


class _Listed(Module):
    """A container of entries in a list, named 0, 1, ...: index, iterate and append them."""

    _store = "_list"

    def __init__(self, entries: Sequence[Any] = ()):
        self._list: List[Any] = []
        for entry in entries:
            self.append(entry)

    def _entry(self, entry: Any) -> Any:
        """What is kept for `entry` (or a TypeError naming what is wrong with it)."""
        raise NotImplementedError

    def append(self, entry: Any) -> Any:
        self._list.append(self._entry(entry))
        return self

    def __getitem__(self, index: int) -> Any:
        return self._list[index]

    def __len__(self) -> int:
        return len(self._list)

    def __iter__(self) -> Iterator[Any]:
        return iter(self._list)


class _Keyed(Module):
    """A container of entries by name (str keys), in insertion order."""

    _store = "_dict"

    def __init__(self, entries: Optional[Dict[str, Any]] = None):
        self._dict: Dict[str, Any] = {}
        for key, entry in (entries or {}).items():
            self[key] = entry

    def _entry(self, entry: Any) -> Any:
        raise NotImplementedError

    def __setitem__(self, key: str, entry: Any) -> None:
        if not isinstance(key, str):
            raise TypeError(f"{type(self).__name__}: keys are names (str); got "
                            f"{type(key).__name__}")
        self._dict[key] = self._entry(entry)

    def __getitem__(self, key: str) -> Any:
        return self._dict[key]

    def __len__(self) -> int:
        return len(self._dict)

    def keys(self) -> Any:
        return self._dict.keys()

    def items(self) -> Any:
        return self._dict.items()

    def values(self) -> Any:
        return self._dict.values()


def _module(container: Module, entry: Any) -> Module:
    if not isinstance(entry, Module):
        raise TypeError(f"{type(container).__name__}: expected a Module, got a "
                        f"{type(entry).__name__}")
    return entry


class ModuleList(_Listed):
    """Modules in a list, named 0, 1, ... (as in PyTorch); index, iterate and append them."""

    def __init__(self, modules: Sequence[Module] = ()):
        super().__init__(modules)

    def _entry(self, entry: Any) -> Module:
        return _module(self, entry)

    def __repr__(self) -> str:
        """As PyTorch prints a ModuleList: a run of modules that print alike on one line,
        ``(0-5): 6 x TransformerEncoderLayer(...)``."""
        if not self._list:
            return f"{type(self).__name__}()"
        runs: List[List[Any]] = []  # [first index, last index, repr]
        for index, module in enumerate(self._list):
            text = repr(module)
            if runs and runs[-1][2] == text:
                runs[-1][1] = index
            else:
                runs.append([index, index, text])
        lines = [(f"({a}): " if a == b else f"({a}-{b}): {b - a + 1} x ")
                 + text.replace("\n", "\n  ") for a, b, text in runs]
        return f"{type(self).__name__}(\n  " + "\n  ".join(lines) + "\n)"


class Sequential(ModuleList):
    """Modules applied in turn: Sequential(Layer(4, 8, "relu"), Layer(8, 1, "linear"))."""

    __repr__ = Module.__repr__  # PyTorch lists a Sequential's modules one by one

    def __init__(self, *modules: Module):
        super().__init__(modules)

    def forward(self, x: Any) -> Any:
        for module in self._list:
            x = module(x)
        return x


class ModuleDict(_Keyed):
    """Modules by name (str keys), in insertion order, as in PyTorch."""

    def __init__(self, modules: Optional[Dict[str, Module]] = None):
        super().__init__(modules)

    def _entry(self, entry: Any) -> Module:
        return _module(self, entry)


class ParameterList(_Listed):
    """Parameters in a list, named 0, 1, ... (as ``torch.nn.ParameterList``); data is made a
    parameter (see `Parameter`), Values are kept as they are."""

    def __init__(self, values: Sequence[Any] = ()):
        super().__init__(values)

    def _entry(self, entry: Any) -> Value:
        return entry if isinstance(entry, Value) else Parameter(entry)


class ParameterDict(_Keyed):
    """Parameters by name (str keys), in insertion order, as ``torch.nn.ParameterDict``."""

    def __init__(self, parameters: Optional[Dict[str, Any]] = None):
        super().__init__(parameters)

    def _entry(self, entry: Any) -> Value:
        return entry if isinstance(entry, Value) else Parameter(entry)
