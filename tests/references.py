"""Direct-loop NumPy references of convolution, pooling and softmax, shared by the op table (tests/optable/) and
the hand-written tests (test_conv.py, test_pool.py, test_softmax_losses.py).

Each one loops over every output (or input) element and writes the defining sum out, so it shares nothing with
the library's im2col / offset-view kernels: slow, obviously right, for small shapes only. No tinygrad_cnn import.
"""

from __future__ import annotations

import numpy as np


def output_size(size: int, kernel: int, stride: int = 1, padding: int = 0, dilation: int = 1) -> int:
    """floor((size + 2p - d(k - 1) - 1) / s) + 1, the output-shape law of conv2d and pooling along one axis."""
    return (size + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1


# ---- convolution --------------------------------------------------------------------------------------------------
def conv_reference(x, w, b, stride, padding, dilation, groups):
    """Direct loops over every output element: y[n, o, p, q] = b[o] + sum w[o, c, i, j] x_pad[n, c', ...]."""
    (sh, sw), (ph, pw), (dh, dw) = stride, padding, dilation
    n, _, h, wd = x.shape
    o, cg, kh, kw = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    ho = output_size(h, kh, sh, ph, dh)
    wo = output_size(wd, kw, sw, pw, dw)
    out = np.zeros((n, o, ho, wo))
    per_group = o // groups
    for ni in range(n):
        for oi in range(o):
            first = (oi // per_group) * cg
            for p in range(ho):
                for q in range(wo):
                    total = b[oi] if b is not None else 0.0
                    for c in range(cg):
                        for i in range(kh):
                            for j in range(kw):
                                total += w[oi, c, i, j] * xp[ni, first + c, p * sh + i * dh, q * sw + j * dw]
                    out[ni, oi, p, q] = total
    return out


def conv_input_grad_reference(g, w, input_shape, stride, padding, dilation, groups):
    """The transposed convolution, by loops: every g[n, o, p, q] times w[o, c, i, j] added to the input element
    x_pad[n, c', p s + i d, q s + j d] it multiplied in the forward pass; the padding cropped off."""
    (sh, sw), (ph, pw), (dh, dw) = stride, padding, dilation
    n, c, h, wd = input_shape
    o, cg, kh, kw = w.shape
    out = np.zeros((n, c, h + 2 * ph, wd + 2 * pw))
    per_group = o // groups
    for ni, oi, p, q in np.ndindex(*g.shape):
        first = (oi // per_group) * cg
        for ci, i, j in np.ndindex(cg, kh, kw):
            out[ni, first + ci, p * sh + i * dh, q * sw + j * dw] += w[oi, ci, i, j] * g[ni, oi, p, q]
    return out[:, :, ph:ph + h, pw:pw + wd]


def conv_weight_grad_reference(x, g, weight_shape, stride, padding, dilation, groups):
    """dw[o, c, i, j] = sum_{n, p, q} g[n, o, p, q] x_pad[n, c', p s + i d, q s + j d], by loops."""
    (sh, sw), (ph, pw), (dh, dw) = stride, padding, dilation
    o, cg, kh, kw = weight_shape
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    out = np.zeros(weight_shape)
    per_group = o // groups
    for ni, oi, p, q in np.ndindex(*g.shape):
        first = (oi // per_group) * cg
        for ci, i, j in np.ndindex(cg, kh, kw):
            out[oi, ci, i, j] += g[ni, oi, p, q] * xp[ni, first + ci, p * sh + i * dh, q * sw + j * dw]
    return out


# ---- pooling ------------------------------------------------------------------------------------------------------
def _window_cells(p, q, kernel_size, stride, dilation):
    (kh, kw), (sh, sw), (dh, dw) = kernel_size, stride, dilation
    return [(p * sh + i * dh, q * sw + j * dw) for i in range(kh) for j in range(kw)]


def pool_reference(x, kernel_size, stride, padding, dilation, op):
    """Loops over the windows; max pads with -inf (padding never wins), average pads with zeros that count."""
    (kh, kw), (sh, sw), (ph, pw), (dh, dw) = kernel_size, stride, padding, dilation
    n, c, h, w = x.shape
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=-np.inf if op == "max" else 0.0)
    ho, wo = output_size(h, kh, sh, ph, dh), output_size(w, kw, sw, pw, dw)
    out = np.zeros((n, c, ho, wo))
    for b in range(n):
        for ch in range(c):
            for p in range(ho):
                for q in range(wo):
                    window = [xp[b, ch, p * sh + i * dh, q * sw + j * dw] for i in range(kh) for j in range(kw)]
                    out[b, ch, p, q] = max(window) if op == "max" else sum(window) / (kh * kw)
    return out


def _first_maxima(x, kernel_size, padding, stride, dilation, out_shape):
    """For each window (b, ch, p, q), the padded (row, column) of its first maximum in row-major order."""
    ph, pw = padding
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=-np.inf)
    where = {}
    for b, ch, p, q in np.ndindex(*out_shape):
        cells = _window_cells(p, q, kernel_size, stride, dilation)
        values = [xp[b, ch, r, s] for r, s in cells]
        where[b, ch, p, q] = cells[values.index(max(values))]
    return where


def max_pool_grad_reference(x, kernel_size, stride, padding, dilation, g):
    """Each window's gradient to its first maximum in row-major order (nothing to a padding element)."""
    ph, pw = padding
    out = np.zeros((x.shape[0], x.shape[1], x.shape[2] + 2 * ph, x.shape[3] + 2 * pw))
    for (b, ch, p, q), (r, s) in _first_maxima(x, kernel_size, padding, stride, dilation, g.shape).items():
        out[b, ch, r, s] += g[b, ch, p, q]
    return out[:, :, ph:ph + x.shape[2], pw:pw + x.shape[3]]


def max_pool_gather_reference(x, u, kernel_size, stride, padding, dilation):
    """u (zero-padded) read at the first maximum of x in each window: the adjoint of ``max_pool_grad_reference``."""
    (kh, kw), (sh, sw), (ph, pw), (dh, dw) = kernel_size, stride, padding, dilation
    n, c, h, w = x.shape
    out_shape = (n, c, output_size(h, kh, sh, ph, dh), output_size(w, kw, sw, pw, dw))
    up = np.pad(u, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    out = np.zeros(out_shape)
    for (b, ch, p, q), (r, s) in _first_maxima(x, kernel_size, padding, stride, dilation, out_shape).items():
        out[b, ch, p, q] = up[b, ch, r, s]
    return out


def avg_pool_grad_reference(g, input_shape, kernel_size, stride, padding):
    """g / (kh kw) added to every element of its window (padding zeros included, then cropped off)."""
    (kh, kw), (ph, pw) = kernel_size, padding
    n, c, h, w = input_shape
    out = np.zeros((n, c, h + 2 * ph, w + 2 * pw))
    for b, ch, p, q in np.ndindex(*g.shape):
        for r, s in _window_cells(p, q, kernel_size, stride, (1, 1)):
            out[b, ch, r, s] += g[b, ch, p, q] / (kh * kw)
    return out[:, :, ph:ph + h, pw:pw + w]


# ---- softmax ------------------------------------------------------------------------------------------------------
def softmax_ref(z, axis=-1):
    e = np.exp(z - z.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)
