"""A Hessian-vector product through the tutorial CNN: differentiate the gradient (create_graph=True) along a
direction v, and compare with finite differences of the gradient, (g(p + eps v) - g(p - eps v)) / 2 eps."""

import numpy as np

import tinygrad_cnn as tg
from tinygrad_cnn.nn import functional as F

rng = np.random.default_rng(0)
x, labels = tg.Tensor(rng.standard_normal((4, 1, 28, 28))), np.array([0, 3, 5, 9])
w_fc = tg.Tensor(rng.standard_normal((10, 288)) * 0.05)


def gradient(conv_w: np.ndarray, create_graph: bool = False):
    w = tg.Tensor(conv_w, requires_grad=True)
    h = F.max_pool2d(F.conv2d(x, w).tanh(), 2).flatten(1)   # tanh: smooth, so the Hessian exists
    loss = F.cross_entropy(F.linear(h, w_fc), labels)
    (g,) = tg.grad(loss, w, create_graph=create_graph)
    return w, g


w0 = rng.standard_normal((2, 1, 5, 5)) * 0.2
v = rng.standard_normal(w0.shape)
w, g = gradient(w0, create_graph=True)
(hv,) = tg.grad((g * tg.Tensor(v)).sum(), w)
eps = 1e-5
numeric = (gradient(w0 + eps * v)[1].numpy() - gradient(w0 - eps * v)[1].numpy()) / (2 * eps)
error = np.abs(hv.numpy() - numeric).max()
print(f"|Hv| = {np.linalg.norm(hv.numpy()):.6f}, max |Hv - finite differences| = {error:.2e}")
assert error < 1e-6 * max(1.0, np.abs(numeric).max())
