"""Both gradients of a convolution by hand: a 5x5 input o, a 2x2 kernel w, a 4x4 output y and its delta.

The forward pass is a cross-correlation, y[i, j] = sum_mn w[m, n] o[i + m, j + n]. With delta = dL/dy:

    dL/dw[m, n] = sum_ij delta[i, j] o[i + m, j + n]       the input cross-correlated with the delta (2x2)
    dL/do[p, q] = sum_mn delta[p - m, q - n] w[m, n]        the delta, zero-padded by 1, "fully" convolved
                                                            with w: a cross-correlation with w rotated 180 deg
"""

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

import tinygrad_cnn as tg
from tinygrad_cnn.nn import functional as F

o = np.arange(25.0).reshape(5, 5) / 10
w = np.array([[1.0, 2.0], [3.0, 4.0]])
delta = np.array([[1.0, 0, 0, -1], [0, 2, 0, 0], [0, 0, 0, 0], [-1, 0, 0, 1]])

o_t = tg.Tensor(o.reshape(1, 1, 5, 5), requires_grad=True)
w_t = tg.Tensor(w.reshape(1, 1, 2, 2), requires_grad=True)
y = F.conv2d(o_t, w_t)
y.backward(delta.reshape(1, 1, 4, 4))


def correlate(a: np.ndarray, k: np.ndarray) -> np.ndarray:
    """Valid cross-correlation of a 2-d array with a 2-d kernel: every window times the kernel, summed."""
    return np.einsum("ijmn,mn->ij", sliding_window_view(a, k.shape), k)


y_by_hand = correlate(o, w)
dw_by_hand = correlate(o, delta)  # 5x5 with a 4x4 "kernel": the 2x2 weight gradient
do_by_hand = correlate(np.pad(delta, 1), w[::-1, ::-1])  # full convolution: 6x6 padded delta, rotated kernel

np.set_printoptions(precision=2, suppress=True)
print("y = o * w (framework):\n", y.numpy()[0, 0])
print("dL/dw, framework:\n", w_t.grad.numpy()[0, 0])
print("dL/dw, by hand (o correlated with delta):\n", dw_by_hand)
print("dL/do, framework:\n", o_t.grad.numpy()[0, 0])
print("dL/do, by hand (padded delta correlated with w rotated 180 degrees):\n", do_by_hand)
assert np.allclose(y.numpy()[0, 0], y_by_hand)
assert np.allclose(w_t.grad.numpy()[0, 0], dw_by_hand) and np.allclose(o_t.grad.numpy()[0, 0], do_by_hand)
print("both gradients match the formulas")
