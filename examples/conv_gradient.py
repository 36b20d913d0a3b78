"""The convolution weight gradient by hand: a 5x5 input o, a 2x2 kernel and a 4x4 output delta give
dL/dw[m, n] = sum_ij delta[i, j] * o[i + m, j + n], the input correlated with the delta."""

import numpy as np

import tinygrad_cnn as tg
from tinygrad_cnn.nn import functional as F

o = np.arange(25.0).reshape(5, 5) / 10
delta = np.array([[1.0, 0, 0, -1], [0, 2, 0, 0], [0, 0, 0, 0], [-1, 0, 0, 1]])
w = tg.Tensor(np.ones((1, 1, 2, 2)), requires_grad=True)
out = F.conv2d(tg.Tensor(o.reshape(1, 1, 5, 5)), w)
out.backward(delta.reshape(1, 1, 4, 4))
by_hand = np.array([[np.sum(delta * o[m:m + 4, n:n + 4]) for n in range(2)] for m in range(2)])
print("framework:\n", w.grad.numpy()[0, 0])
print("by hand:\n", by_hand)
assert np.allclose(w.grad.numpy()[0, 0], by_hand)
