"""Define your own differentiable operation: a forward function and one VJP per input.

An `Op` computes on raw data (Python floats or numpy arrays). Each VJP receives `g`, the gradient
of the final result with respect to the op's output, the output itself and the inputs, and
returns the gradient with respect to its input. Every built-in op of tinygrad_nn is defined
this way (see the modules of tinygrad_nn/ops/).

Write the VJP with operators and with other ops through ``op.of(...)`` (raw data in gives raw
data out; a Value in gives a Value): the same formula then serves a first-order backward pass
on raw data and ``create_graph=True``, where the gradient is a graph you can differentiate again.

    python examples/custom_op.py
"""

import numpy as np

import tinygrad_nn as tg
from tinygrad_nn import Op, Value, sigmoid

# swish(x) = x * sigmoid(x);  d/dx = s + x * s * (1 - s) = s + out * (1 - s)  with s = sigmoid(x)
swish = Op(
    "swish",
    lambda x: x / (1 + np.exp(-x)),                                       # forward
    lambda g, out, x: g * (sigmoid.of(x) + out * (1 - sigmoid.of(x))),    # VJP for x
)

# A two-input op with a keyword argument: a weighted mean of a and b (weights w and 1 - w).
lerp = Op(
    "lerp",
    lambda a, b, *, w: w * a + (1 - w) * b,
    lambda g, out, a, b, *, w: g * w,          # d/da
    lambda g, out, a, b, *, w: g * (1 - w),    # d/db
    defaults={"w": 0.5},
)

if __name__ == "__main__":
    x = Value(np.array([-2.0, 0.0, 3.0]), label="x")
    y = swish(x).sum()
    y.backward()
    print("swish(x) =", swish(x).data)
    print("d sum(swish(x)) / dx =", x.grad)
    (first,) = tg.grad(swish(x).sum(), x, create_graph=True)   # its VJP is differentiable
    (second,) = tg.grad(first.sum(), x)
    print("d2 swish / dx2 =", second.data)

    a, b = Value(1.0), Value(5.0)
    z = lerp(a, b, w=0.25)
    z.backward()
    print(f"lerp(1, 5, w=0.25) = {z.data}; d/da = {a.grad}, d/db = {b.grad}")
    print("lerp(1, 5) with the default w:", lerp(a, b).data, "; positionally, w=0.75:",
          lerp(a, b, 0.75).data)
