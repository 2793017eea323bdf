"""Check the gradient of your own op: a five-line hypothesis test, and gradcheck.

A VJP written by hand is easy to get wrong and hard to see wrong. Finite differences do not care
how the derivative was derived: `tinygrad_nn.gradcheck` compares the two, and
`tinygrad_nn.testing` draws the inputs.

    python examples/gradcheck_custom_op.py
"""

import numpy as np
from hypothesis import given

from tinygrad_nn import Op
from tinygrad_nn.gradcheck import GradcheckError, gradcheck
from tinygrad_nn.testing import arrays, assert_grads_match

# log(cosh(x)), a smooth absolute value (the log-cosh loss), computed without overflow;
# d/dx = tanh(x).
log_cosh = Op("log_cosh", lambda x: np.logaddexp(x, -x) - np.log(2),
              lambda g, out, x: g * np.tanh(x))


# The test, as it stands in your test suite (pytest runs it on random arrays):
@given(arrays())
def test_log_cosh_gradient(x):
    assert_grads_match(log_cosh, x)


# A two-input op: hypot(a, b) = sqrt(a^2 + b^2); d/da = a / hypot, d/db = b / hypot.
hypot = Op("hypot", np.hypot,
           lambda g, out, a, b: g * a / out,
           lambda g, out, a, b: g * b / out)

# The same op with a bug in the VJP for b: the division by hypot is forgotten.
hypot_with_a_bug = Op("hypot", np.hypot,
                      lambda g, out, a, b: g * a / out,
                      lambda g, out, a, b: g * b)

if __name__ == "__main__":
    test_log_cosh_gradient()
    print("log_cosh: backpropagation agrees with finite differences on hypothesis' random arrays")

    a, b = np.array([[3.0, -1.0, 0.5]]), np.array([[4.0], [2.0]])  # they broadcast to (2, 3)
    print("hypot, full Jacobian:", gradcheck(hypot, a, b))
    print("hypot, random projection:", gradcheck(hypot, a, b, fast=True, seed=0))
    try:
        gradcheck(hypot_with_a_bug, a, b)
    except GradcheckError as error:
        print(f"\nThe bug is caught:\n{error}")
