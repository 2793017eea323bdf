"""Recurrent layers as ``torch.nn`` has them: `RNN` (tanh or relu), `LSTM` and `GRU`, stacked
and bidirectional, and their one-step cells `RNNCell`, `LSTMCell` and `GRUCell`, with torch's
signatures, parameter names, shapes and order, gate order and initialisation, so that a torch
model's state_dict loads and gives torch's outputs.

Each time step is two matrix products over the whole batch: the input projection of every
step is computed beforehand in one product per layer and direction, and the loop over time
(Python) multiplies the hidden state by the recurrent weights. Everything is built from ops,
so derivatives of every order come with it. Packed sequences
(``torch.nn.utils.rnn.PackedSequence``) are not supported: pad sequences to one length.
"""

from __future__ import annotations

import math
import warnings
from typing import Any, Callable, List, Optional, Tuple

import numpy as np

from ..engine import Value, constant
from ..errors import ShapeError
from ..ops import chunk, concatenate, relu, sigmoid, stack, tanh
from ..random import Seed, generator
from .functional.dropout import dropout as _dropout
from .functional.linear import linear
from .linear import uniform_parameter
from .module import Module

__all__ = ["RNNBase", "RNN", "LSTM", "GRU", "RNNCellBase", "RNNCell", "LSTMCell", "GRUCell"]

# A step maps (input projection x·W_ihᵀ + b_ih, recurrent projection h·W_hhᵀ + b_hh, state)
# to the next state: (h,) for RNN and GRU, (h, c) for LSTM. The one place the gates are defined.
State = Tuple[Value, ...]
Step = Callable[[Value, Value, State], State]


def _tanh_step(gi: Value, gh: Value, state: State) -> State:
    return (tanh(gi + gh),)


def _relu_step(gi: Value, gh: Value, state: State) -> State:
    return (relu(gi + gh),)


def _lstm_step(gi: Value, gh: Value, state: State) -> State:
    """Gates i, f, g, o (torch's order): c' = σ(f)·c + σ(i)·tanh(g), h' = σ(o)·tanh(c')."""
    i, f, g, o = chunk(gi + gh, 4, axis=-1)
    c = sigmoid(f) * state[1] + sigmoid(i) * tanh(g)
    return sigmoid(o) * tanh(c), c


def _gru_step(gi: Value, gh: Value, state: State) -> State:
    """Gates r, z, n (torch's order): n = tanh(x_n + r·(h·W_hnᵀ + b_hn)),
    h' = (1 - z)·n + z·h."""
    ir, iz, in_ = chunk(gi, 3, axis=-1)
    hr, hz, hn = chunk(gh, 3, axis=-1)
    r, z = sigmoid(ir + hr), sigmoid(iz + hz)
    n = tanh(in_ + r * hn)
    return (n + z * (state[0] - n),)


# mode (torch's names): (gates stacked in the weights, step)
_MODES = {"RNN_TANH": (1, _tanh_step), "RNN_RELU": (1, _relu_step), "LSTM": (4, _lstm_step),
          "GRU": (3, _gru_step)}


def _rnn_mode(nonlinearity: str) -> str:
    if nonlinearity not in ("tanh", "relu"):
        raise ValueError(f"Unknown nonlinearity {nonlinearity!r}. Select from 'tanh' or 'relu'.")
    return "RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU"


def _time_steps(gi: Value) -> List[Value]:
    """gi[0], ..., gi[T-1]. The gradient of a slice is an array of its whole source, so T slices
    of gi would cost T full-size gradients in backpropagation, O(T²); slicing blocks of about √T
    steps first, then the steps out of their block, costs O(T^1.5)."""
    T = gi.shape[0]
    size = math.isqrt(T)
    if size <= 1:
        return [gi[t] for t in range(T)]
    blocks = [gi[start:start + size] for start in range(0, T, size)]
    return [block[t] for block in blocks for t in range(block.shape[0])]


def _checked_input(module: Any, input: Any, unbatched: int) -> Value:
    """`input` as a Value of `unbatched` dimensions (or one more, batched) whose last axis holds
    the module's `input_size` features."""
    x = constant(input, type(module).__name__)
    if x.ndim not in (unbatched, unbatched + 1):
        raise ShapeError(f"{module!r}: expected a {unbatched}-D (unbatched) or {unbatched + 1}-D "
                         f"(batched) input; got shape {x.shape}")
    if x.shape[-1] != module.input_size:
        raise ShapeError(f"{module!r}: expected inputs with {module.input_size} features in the "
                         f"last dimension; got shape {x.shape}")
    return x


class RNNBase(Module):
    """The common part of `RNN`, `LSTM` and `GRU` (``torch.nn.RNNBase``): `mode` is 'RNN_TANH',
    'RNN_RELU', 'LSTM' or 'GRU'.

    Parameters, per layer k and direction (suffix ``_reverse`` for the backward one), in torch's
    order: ``weight_ih_lk`` (G·hidden_size, input features), ``weight_hh_lk`` (G·hidden_size,
    hidden or proj size), ``bias_ih_lk`` and ``bias_hh_lk`` (G·hidden_size,) with `bias`, and
    for an LSTM with `proj_size` ``weight_hr_lk`` (proj_size, hidden_size); G is the number of
    gates (1, 4 for LSTM, 3 for GRU), stacked in torch's order. All are drawn from
    U(±1/√hidden_size), as torch does, from `seed` (an int, a Generator, or None for this
    thread's default Generator). `dropout` applies to every layer's output but the last, in
    training mode only, drawn from this thread's default Generator.
    """

    def __init__(self, mode: str, input_size: int, hidden_size: int, num_layers: int = 1,
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0,
                 bidirectional: bool = False, proj_size: int = 0, *, dtype: Any = np.float64,
                 seed: Seed = None):
        if mode not in _MODES:
            raise ValueError(f"RNNBase: unknown mode {mode!r}; expected one of {list(_MODES)}")
        name = "RNN" if mode.startswith("RNN") else mode
        if isinstance(dropout, bool) or not isinstance(dropout, (int, float)) or \
                not 0.0 <= dropout <= 1.0:
            raise ValueError(f"{name}: dropout should be a number in range [0, 1] representing "
                             f"the probability of an element being zeroed; got {dropout!r}")
        if dropout > 0 and num_layers == 1:
            warnings.warn(f"{name}: dropout applies after every recurrent layer but the last, so "
                          f"a non-zero dropout expects num_layers greater than 1; got "
                          f"dropout={dropout} and num_layers={num_layers}", UserWarning,
                          stacklevel=2)
        for what, n in (("input_size", input_size), ("hidden_size", hidden_size),
                        ("num_layers", num_layers), ("proj_size", proj_size)):
            if isinstance(n, bool) or not isinstance(n, (int, np.integer)):
                raise TypeError(f"{name}: {what} should be an int; got {n!r}")
        if hidden_size <= 0 or num_layers <= 0 or input_size < 0:
            raise ValueError(f"{name}: hidden_size and num_layers must be greater than zero "
                             f"(and input_size not negative); got input_size={input_size}, "
                             f"hidden_size={hidden_size}, num_layers={num_layers}")
        if proj_size and mode != "LSTM":
            raise ValueError(f"{name}: proj_size is only supported for LSTM, not RNN or GRU")
        if not 0 <= proj_size < hidden_size:
            raise ValueError(f"{name}: proj_size must be between 0 and hidden_size - 1 "
                             f"(hidden_size={hidden_size}); got {proj_size}")
        self.mode = mode
        self.input_size, self.hidden_size = int(input_size), int(hidden_size)
        self.num_layers, self.bias = int(num_layers), bool(bias)
        self.batch_first, self.dropout = bool(batch_first), float(dropout)
        self.bidirectional, self.proj_size = bool(bidirectional), int(proj_size)
        gates, self._step = _MODES[mode]
        rng = generator(seed, name)
        bound = 1.0 / math.sqrt(hidden_size)
        out = self.proj_size or self.hidden_size  # the size of h
        directions = 2 if bidirectional else 1
        self._flat_weights_names: List[str] = []
        for layer in range(self.num_layers):
            features = self.input_size if layer == 0 else out * directions
            for direction in range(directions):
                suffix = f"_l{layer}" + ("_reverse" if direction else "")
                shapes: List[Tuple[str, Tuple[int, ...]]] = [
                    ("weight_ih", (gates * hidden_size, features)),
                    ("weight_hh", (gates * hidden_size, out))]
                if bias:
                    shapes += [("bias_ih", (gates * hidden_size,)),
                               ("bias_hh", (gates * hidden_size,))]
                if self.proj_size:
                    shapes.append(("weight_hr", (self.proj_size, hidden_size)))
                for kind, shape in shapes:
                    setattr(self, kind + suffix,
                            uniform_parameter(shape, bound, rng, dtype, kind + suffix))
                    self._flat_weights_names.append(kind + suffix)

    @property
    def all_weights(self) -> List[List[Value]]:
        """The parameters of each layer and direction, in order (torch's ``all_weights``)."""
        per = len(self._flat_weights_names) // (self.num_layers * self._directions)
        names = self._flat_weights_names
        return [[getattr(self, n) for n in names[k:k + per]] for k in range(0, len(names), per)]

    def flatten_parameters(self) -> None:
        """Nothing to do (torch compacts cuDNN's weight memory here); kept so that torch code
        calling it runs unchanged."""

    @property
    def _directions(self) -> int:
        return 2 if self.bidirectional else 1

    def _weights(self, layer: int, direction: int) -> Tuple[Optional[Value], ...]:
        """(weight_ih, weight_hh, bias_ih, bias_hh, weight_hr) of one layer and direction, None
        for those this module does not have."""
        suffix = f"_l{layer}" + ("_reverse" if direction else "")
        return tuple(getattr(self, kind + suffix, None)
                     for kind in ("weight_ih", "weight_hh", "bias_ih", "bias_hh", "weight_hr"))

    def _initial_states(self, hx: Any, batch: int, batched: bool,
                        dtype: Any) -> List[Tuple[Any, ...]]:
        """The initial state of each layer and direction: (h,) or (h, c), each (N, size)."""
        k = self.num_layers * self._directions
        sizes = [self.proj_size or self.hidden_size]
        if self.mode == "LSTM":
            sizes.append(self.hidden_size)
        if hx is None:
            parts: List[Any] = [np.zeros((k, batch, size), dtype) for size in sizes]
        else:
            if self.mode == "LSTM" and not (isinstance(hx, tuple) and len(hx) == 2):
                raise ShapeError(f"{self!r}: hx must be a tuple (h_0, c_0); got "
                                 f"{type(hx).__name__}")
            who = type(self).__name__
            parts = [constant(h, who) for h in (hx if self.mode == "LSTM" else (hx,))]
            for part, size, what in zip(parts, sizes, ("h_0", "c_0")):
                wanted = (k, batch, size) if batched else (k, size)
                if part.shape != wanted:
                    raise ShapeError(f"{self!r}: expected {what} of shape {wanted} (num_layers"
                                     f" * directions, {'batch, ' if batched else ''}size) for "
                                     f"a {'batched 3-D' if batched else 'unbatched 2-D'} input;"
                                     f" got {part.shape}")
            if not batched:
                parts = [part.reshape(k, 1, part.shape[-1]) for part in parts]
        return [tuple(part[i] for part in parts) for i in range(k)]

    def _direction(self, x: Value, layer: int, direction: int,
                   state: Tuple[Any, ...]) -> Tuple[Value, State]:
        """One layer in one direction over x (T, N, features): its outputs (T, N, size) and its
        final state."""
        w_ih, w_hh, b_ih, b_hh, w_hr = self._weights(layer, direction)
        gi = _time_steps(linear(x, w_ih, b_ih))  # every step's input projection in one product
        steps = range(x.shape[0] - 1, -1, -1) if direction else range(x.shape[0])
        outputs: List[Any] = [None] * x.shape[0]
        for t in steps:
            state = self._step(gi[t], linear(state[0], w_hh, b_hh), state)
            if w_hr is not None:
                state = (linear(state[0], w_hr), *state[1:])
            outputs[t] = state[0]
        return stack(outputs), state

    def forward(self, input: Any, hx: Any = None) -> Tuple[Value, Any]:
        """(output, h_n), or (output, (h_n, c_n)) for an LSTM, as torch: input (T, N, features),
        (N, T, features) with batch_first, or unbatched (T, features); output (T, N, D·size) in
        the input's layout (D = 2 when bidirectional, size = proj_size or hidden_size); h_n and
        c_n (num_layers·D, N, size) — (num_layers·D, size) unbatched — whatever batch_first.
        hx is the initial state of the same shape (h_0, c_0 for an LSTM), zeros when None."""
        x = _checked_input(self, input, 2)
        batched = x.ndim == 3
        if x.shape[1 if batched and self.batch_first else 0] == 0:
            raise ShapeError(f"{self!r}: expected a sequence length larger than 0; got input "
                             f"shape {x.shape}")
        if not batched:
            x = x.reshape(x.shape[0], 1, x.shape[1])
        elif self.batch_first:
            x = x.swapaxes(0, 1)
        dtype = getattr(self, "weight_ih_l0").dtype  # the parameters' (see Module.to)
        states = self._initial_states(hx, x.shape[1], batched, dtype)
        finals: List[State] = []
        for layer in range(self.num_layers):
            if layer and self.training and self.dropout:
                x = _dropout(x, self.dropout, True)
            outputs = []
            for direction in range(self._directions):
                out, state = self._direction(x, layer, direction,
                                             states[layer * self._directions + direction])
                outputs.append(out)
                finals.append(state)
            x = outputs[0] if len(outputs) == 1 else concatenate(outputs, axis=-1)
        ends = [stack([state[j] for state in finals]) for j in range(len(finals[0]))]
        if not batched:
            x = x.reshape(x.shape[0], x.shape[2])
            ends = [end.reshape(end.shape[0], end.shape[2]) for end in ends]
        elif self.batch_first:
            x = x.swapaxes(0, 1)
        return x, (ends[0], ends[1]) if self.mode == "LSTM" else ends[0]

    def __repr__(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.proj_size:
            s += f", proj_size={self.proj_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if not self.bias:
            s += ", bias=False"
        if self.batch_first:
            s += ", batch_first=True"
        if self.dropout:
            s += f", dropout={self.dropout}"
        if self.bidirectional:
            s += ", bidirectional=True"
        return f"{type(self).__name__}({s})"


class RNN(RNNBase):
    """A stack of Elman layers, as ``torch.nn.RNN``: h_t = act(x_t W_ihᵀ + b_ih + h_{t-1} W_hhᵀ
    + b_hh), act tanh or relu (`nonlinearity`, torch's fourth argument). See `RNNBase` for the
    parameters and `RNNBase.forward` for the shapes."""

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 nonlinearity: str = "tanh", bias: bool = True, batch_first: bool = False,
                 dropout: float = 0.0, bidirectional: bool = False, *, dtype: Any = np.float64,
                 seed: Seed = None):
        super().__init__(_rnn_mode(nonlinearity), input_size, hidden_size, num_layers, bias,
                         batch_first, dropout, bidirectional, dtype=dtype, seed=seed)
        self.nonlinearity = nonlinearity


class LSTM(RNNBase):
    """A stack of LSTM layers, as ``torch.nn.LSTM``: gates i, f, g, o from
    x_t W_ihᵀ + b_ih + h_{t-1} W_hhᵀ + b_hh, c_t = σ(f)·c_{t-1} + σ(i)·tanh(g),
    h_t = σ(o)·tanh(c_t), projected by W_hr (h_t W_hrᵀ) when proj_size > 0. forward(input,
    (h_0, c_0)) returns (output, (h_n, c_n)); see `RNNBase`."""

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0,
                 bidirectional: bool = False, proj_size: int = 0, *, dtype: Any = np.float64,
                 seed: Seed = None):
        super().__init__("LSTM", input_size, hidden_size, num_layers, bias, batch_first, dropout,
                         bidirectional, proj_size, dtype=dtype, seed=seed)


class GRU(RNNBase):
    """A stack of GRU layers, as ``torch.nn.GRU``: gates r, z, n,
    n_t = tanh(x_t W_inᵀ + b_in + r·(h_{t-1} W_hnᵀ + b_hn)), h_t = (1 - z)·n_t + z·h_{t-1};
    see `RNNBase`."""

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0,
                 bidirectional: bool = False, *, dtype: Any = np.float64, seed: Seed = None):
        super().__init__("GRU", input_size, hidden_size, num_layers, bias, batch_first, dropout,
                         bidirectional, dtype=dtype, seed=seed)


class RNNCellBase(Module):
    """One time step of a recurrent layer (``torch.nn.RNNCellBase``): parameters `weight_ih`
    (G·hidden_size, input_size), `weight_hh` (G·hidden_size, hidden_size), `bias_ih`, `bias_hh`
    (G·hidden_size,) with `bias`, all from U(±1/√hidden_size) as torch; the same gates as the
    layers of the same kind."""

    def __init__(self, mode: str, input_size: int, hidden_size: int, bias: bool = True, *,
                 dtype: Any = np.float64, seed: Seed = None):
        name = type(self).__name__
        if hidden_size <= 0 or input_size < 0:
            raise ValueError(f"{name}: hidden_size must be greater than zero and input_size not "
                             f"negative; got input_size={input_size}, hidden_size={hidden_size}")
        gates, self._step = _MODES[mode]
        self.input_size, self.hidden_size, self.bias = int(input_size), int(hidden_size), bias
        rng = generator(seed, name)
        bound = 1.0 / math.sqrt(hidden_size)
        G = gates * self.hidden_size
        self.weight_ih = uniform_parameter((G, input_size), bound, rng, dtype, "weight_ih")
        self.weight_hh = uniform_parameter((G, hidden_size), bound, rng, dtype, "weight_hh")
        self.bias_ih = uniform_parameter((G,), bound, rng, dtype, "bias_ih") if bias else None
        self.bias_hh = uniform_parameter((G,), bound, rng, dtype, "bias_hh") if bias else None

    def _state(self, x: Value, hx: Any, parts: int) -> State:
        """The state (h,) or (h, c) for input x (N, input_size) or (input_size,), zeros when hx
        is None, each of shape x.shape[:-1] + (hidden_size,)."""
        wanted = x.shape[:-1] + (self.hidden_size,)
        if hx is None:
            return tuple(constant(np.zeros(wanted, self.weight_hh.dtype)) for _ in range(parts))
        if parts > 1 and not (isinstance(hx, tuple) and len(hx) == parts):
            raise ShapeError(f"{self!r}: hx must be a tuple (h, c); got {type(hx).__name__}")
        state = tuple(constant(h, type(self).__name__) for h in (hx if parts > 1 else (hx,)))
        for h in state:
            if h.shape != wanted:
                raise ShapeError(f"{self!r}: expected a hidden state of shape {wanted} for an "
                                 f"input of shape {x.shape}; got {h.shape}")
        return state

    def _advance(self, input: Any, hx: Any, parts: int) -> State:
        x = _checked_input(self, input, 1)
        state = self._state(x, hx, parts)
        return self._step(linear(x, self.weight_ih, self.bias_ih),
                          linear(state[0], self.weight_hh, self.bias_hh), state)

    def __repr__(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if not self.bias:
            s += ", bias=False"
        nonlinearity = getattr(self, "nonlinearity", "tanh")
        if nonlinearity != "tanh":
            s += f", nonlinearity={nonlinearity}"
        return f"{type(self).__name__}({s})"


class RNNCell(RNNCellBase):
    """One Elman step, as ``torch.nn.RNNCell``: h' = act(x W_ihᵀ + b_ih + h W_hhᵀ + b_hh).
    forward(input (N, input_size) or (input_size,), hx of the output's shape or None for
    zeros) -> h'."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True,
                 nonlinearity: str = "tanh", *, dtype: Any = np.float64, seed: Seed = None):
        super().__init__(_rnn_mode(nonlinearity), input_size, hidden_size, bias, dtype=dtype,
                         seed=seed)
        self.nonlinearity = nonlinearity

    def forward(self, input: Any, hx: Any = None) -> Value:
        return self._advance(input, hx, 1)[0]


class LSTMCell(RNNCellBase):
    """One LSTM step, as ``torch.nn.LSTMCell`` (gates i, f, g, o): forward(input, (h, c) or
    None for zeros) -> (h', c')."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, *,
                 dtype: Any = np.float64, seed: Seed = None):
        super().__init__("LSTM", input_size, hidden_size, bias, dtype=dtype, seed=seed)

    def forward(self, input: Any, hx: Any = None) -> Tuple[Value, Value]:
        h, c = self._advance(input, hx, 2)
        return h, c


class GRUCell(RNNCellBase):
    """One GRU step, as ``torch.nn.GRUCell`` (gates r, z, n, b_hn inside r·(...)):
    forward(input, h or None for zeros) -> h'."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, *,
                 dtype: Any = np.float64, seed: Seed = None):
        super().__init__("GRU", input_size, hidden_size, bias, dtype=dtype, seed=seed)

    def forward(self, input: Any, hx: Any = None) -> Value:
        return self._advance(input, hx, 1)[0]
