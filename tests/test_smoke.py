import numpy as np

from tinygrad_nn import Value


def test_linear_layer_gradient_by_hand():
    # loss = sum(W @ x) for x = (1, 2): dloss/dW[i, j] = x[j]
    W = Value(np.array([[1.0, -1.0], [0.5, 2.0]]))
    loss = (W @ np.array([1.0, 2.0])).sum()
    loss.backward()
    assert loss.item() == 1.0 - 2.0 + 0.5 + 4.0
    np.testing.assert_array_equal(W.grad, [[1.0, 2.0], [1.0, 2.0]])
