"""Record once, replay: re-run a graph of fixed structure on the current data of its leaves.

Building a graph costs a new Value per op (and, for a large scalar graph, the garbage
collector's scans of them all); backward() costs a walk to find the order. When every step
computes the same graph (a training step on a fixed batch, or on batches fed through the same
input leaves), a `Tape` records the graph once and then replays it: `forward()` recomputes each
node in order from its inputs' current data, `backward()` back-propagates along the recorded
order. Both are flat loops over the recorded nodes, which are reused: nothing new is built.

    loss = loss_fn(model(x), y)        # build once, as usual
    tape = Tape(loss)
    for step in range(steps):
        x.data = next_batch()          # data that changes must live in a leaf
        tape.forward()                 # loss.data is now this step's loss
        model.zero_grad()
        tape.backward()
        optimizer.step()

What replays is exactly the recorded ops, as in tinygrad's TinyJit. Whatever was computed
outside them when the graph was built stays as it was: a Python `if` on a value, targets that
numpy one-hot encoded, a number turned into a constant, a dropout layer's random mask, the
running statistics BatchNorm updates (replay such models in eval mode, or build the graph each
step). Feed changing data through leaves made with `Value(...)`: ops on them are recorded even
when they need no gradient, so ``model(x.reshape(n, -1) / 255)`` replays the reshape and the
division on each new batch, and a mask computed in the graph (``x[x > 0]``) is recomputed.
`backward()` after an optimizer step and before the next `forward()` would use the new weights
with the old activations: it raises, as any backward through stale data does.
"""

from __future__ import annotations

from typing import Any

from . import engine
from .engine import Value, _backpropagate, _toposort
from .errors import BackwardError, UnsupportedTypeError


class Tape:
    """The graph behind `output`, recorded for replay (see the module's docstring)."""

    def __init__(self, output: Value):
        if not isinstance(output, Value):
            raise UnsupportedTypeError(f"Tape: expected the Value a graph computes, got a "
                                       f"{type(output).__name__}")
        if output._fn is None:
            raise BackwardError("Tape: the output is a leaf or a constant, there is no graph to "
                                "record (build it with gradients on, outside no_grad())")
        self.output: Value = output
        # the ops' results, inputs first, with the Values that ops' parameters hold (masks)
        self.nodes: list = _toposort([output], clear=True, params=True)

    def forward(self) -> Value:
        """Recompute every node from the current data of the leaves; returns the output."""
        epoch, anomaly = engine._EPOCH, engine._MODE.anomaly
        for node in self.nodes:
            a, b = node._a, node._b
            datas = (a._data,) if b is None else (a._data, b._data, *[v._data for v in node._rest])
            node._data = node._fn.run(datas, node._kw)
            node._stamp = epoch  # computed from the current data: current again
            if anomaly is not None:  # inside detect_anomaly(): replayed results are checked too
                anomaly.check_forward(node._fn, node._data, datas)
        return self.output

    def backward(self, grad: Any = None) -> None:
        """`output.backward(grad)` along the recorded order: leaves accumulate, as always."""
        for node in self.nodes:
            node.grad = None
        _backpropagate(self.output, self.nodes, grad)

    def __len__(self) -> int:
        return len(self.nodes)

    def __repr__(self) -> str:
        return f"Tape({len(self.nodes)} ops, output shape {self.output.shape})"
