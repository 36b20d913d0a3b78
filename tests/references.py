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


# ---- transposed convolution, unfold / fold, pixel shuffle (tests/optable/conv_extra.py) -------------------------
def transposed_output_size(size: int, kernel: int, stride: int = 1, padding: int = 0, output_padding: int = 0,
                           dilation: int = 1) -> int:
    """(size - 1) s - 2p + d(k - 1) + output_padding + 1, PyTorch's output-shape law of conv_transpose."""
    return (size - 1) * stride - 2 * padding + dilation * (kernel - 1) + output_padding + 1


def conv_transpose_reference(x, w, b, stride, padding, output_padding, dilation, groups):
    """Direct loops: every x[n, ci, p, q] times w[ci, co, i, j] added to the output element (p s + i d - pad,
    q s + j d - pad) of channel g(ci) C_out/g + co, on a canvas that the padding then crops; plus the bias."""
    (sh, sw), (ph, pw), (oh, ow), (dh, dw) = stride, padding, output_padding, dilation
    n, c_in, h, wd = x.shape
    _, cg, kh, kw = w.shape
    ho = transposed_output_size(h, kh, sh, ph, oh, dh)
    wo = transposed_output_size(wd, kw, sw, pw, ow, dw)
    out = np.zeros((n, cg * groups, ho + 2 * ph, wo + 2 * pw))
    per_group = c_in // groups
    for ni, ci, p, q in np.ndindex(*x.shape):
        first = (ci // per_group) * cg
        for co, i, j in np.ndindex(cg, kh, kw):
            out[ni, first + co, p * sh + i * dh, q * sw + j * dw] += x[ni, ci, p, q] * w[ci, co, i, j]
    out = out[:, :, ph:ph + ho, pw:pw + wo]
    return out if b is None else out + np.asarray(b).reshape(1, -1, 1, 1)


def unfold_reference(x, kernel_size, dilation, padding, stride):
    """out[n, c kh kw + i kw + j, p Wo + q] = x_pad[n, c, p s + i d, q s + j d], by loops."""
    (kh, kw), (dh, dw), (ph, pw), (sh, sw) = kernel_size, dilation, padding, stride
    n, c, h, w = x.shape
    ho, wo = output_size(h, kh, sh, ph, dh), output_size(w, kw, sw, pw, dw)
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    out = np.zeros((n, c * kh * kw, ho * wo), dtype=x.dtype)
    for ni, ci, i, j, p, q in np.ndindex(n, c, kh, kw, ho, wo):
        out[ni, (ci * kh + i) * kw + j, p * wo + q] = xp[ni, ci, p * sh + i * dh, q * sw + j * dw]
    return out


def fold_reference(cols, output_size_, kernel_size, dilation, padding, stride):
    """The adjoint of ``unfold_reference``: every column entry added back to the pixel it was read from."""
    (h, w), (kh, kw), (dh, dw), (ph, pw), (sh, sw) = output_size_, kernel_size, dilation, padding, stride
    n, ckk, _ = cols.shape
    c = ckk // (kh * kw)
    ho, wo = output_size(h, kh, sh, ph, dh), output_size(w, kw, sw, pw, dw)
    out = np.zeros((n, c, h + 2 * ph, w + 2 * pw), dtype=cols.dtype)
    for ni, ci, i, j, p, q in np.ndindex(n, c, kh, kw, ho, wo):
        out[ni, ci, p * sh + i * dh, q * sw + j * dw] += cols[ni, (ci * kh + i) * kw + j, p * wo + q]
    return out[:, :, ph:ph + h, pw:pw + w]


def pixel_shuffle_reference(x, r):
    """out[..., c, h r + i, w r + j] = x[..., c r^2 + i r + j, h, w], by loops over the channel and the offsets."""
    *batch, c, h, w = x.shape
    out = np.zeros((*batch, c // (r * r), h * r, w * r), dtype=x.dtype)
    for co, i, j in np.ndindex(c // (r * r), r, r):
        out[..., co, i::r, j::r] = x[..., co * r * r + i * r + j, :, :]
    return out


def pixel_unshuffle_reference(x, r):
    """out[..., c r^2 + i r + j, h, w] = x[..., c, h r + i, w r + j], the inverse of ``pixel_shuffle_reference``."""
    *batch, c, h, w = x.shape
    out = np.zeros((*batch, c * r * r, h // r, w // r), dtype=x.dtype)
    for ci, i, j in np.ndindex(c, r, r):
        out[..., ci * r * r + i * r + j, :, :] = x[..., ci, i::r, j::r]
    return out


# ---- pooling options, adaptive pooling, unpooling, interpolation, padding (PyTorch's CPU kernels as loops) -------
def pool_out_size(size, kernel, stride, padding, dilation, ceil_mode):
    """PyTorch's pooling_output_shape: floor or ceil, and a last window must start inside the input or left pad."""
    span = dilation * (kernel - 1) + 1
    numerator = size + 2 * padding - span + (stride - 1 if ceil_mode else 0)
    out = numerator // stride + 1
    if ceil_mode and (out - 1) * stride >= size + padding:
        out -= 1
    return out


def max_pool_full_reference(x, kernel_size, stride, padding, dilation, ceil_mode=False):
    """(values, flat indices) by loops over the windows, skipping positions outside the input; the first maximum
    in row-major order wins (strict >), as PyTorch's CPU kernel."""
    n, c, h, w = x.shape
    ho = pool_out_size(h, kernel_size[0], stride[0], padding[0], dilation[0], ceil_mode)
    wo = pool_out_size(w, kernel_size[1], stride[1], padding[1], dilation[1], ceil_mode)
    values, indices = np.full((n, c, ho, wo), -np.inf), np.full((n, c, ho, wo), -1, dtype=np.int64)
    for b, ch, p, q in np.ndindex(n, c, ho, wo):
        for i in range(kernel_size[0]):
            for j in range(kernel_size[1]):
                r, s = p * stride[0] - padding[0] + i * dilation[0], q * stride[1] - padding[1] + j * dilation[1]
                if 0 <= r < h and 0 <= s < w and x[b, ch, r, s] > values[b, ch, p, q]:
                    values[b, ch, p, q], indices[b, ch, p, q] = x[b, ch, r, s], r * w + s
    return values, indices


def avg_pool_full_reference(x, kernel_size, stride, padding, ceil_mode=False, count_include_pad=True,
                            divisor_override=None):
    """PyTorch's AvgPool kernel as loops: the window clipped to the padded input gives pool_size, clipped to the
    input the elements summed; divided by divisor_override, pool_size or the element count."""
    n, c, h, w = x.shape
    (kh, kw), (sh, sw), (ph, pw) = kernel_size, stride, padding
    ho, wo = pool_out_size(h, kh, sh, ph, 1, ceil_mode), pool_out_size(w, kw, sw, pw, 1, ceil_mode)
    out = np.zeros((n, c, ho, wo))
    for p, q in np.ndindex(ho, wo):
        h0, w0 = p * sh - ph, q * sw - pw
        h1, w1 = min(h0 + kh, h + ph), min(w0 + kw, w + pw)
        pool_size = (h1 - h0) * (w1 - w0)
        h0, w0, h1, w1 = max(h0, 0), max(w0, 0), min(h1, h), min(w1, w)
        total = x[:, :, h0:h1, w0:w1].sum(axis=(2, 3))
        divisor = divisor_override or (pool_size if count_include_pad else (h1 - h0) * (w1 - w0))
        out[:, :, p, q] = total / divisor
    return out


def adaptive_pool_reference(x, output_size, op):
    """Loops over PyTorch's adaptive windows [floor(i H / Ho), ceil((i + 1) H / Ho)); op 'avg' or 'max' (max also
    returns the flat index of the first maximum)."""
    n, c, h, w = x.shape
    ho, wo = output_size
    out, index = np.zeros((n, c, ho, wo)), np.zeros((n, c, ho, wo), dtype=np.int64)
    for b, ch, i, j in np.ndindex(n, c, ho, wo):
        r0, r1 = (i * h) // ho, -(-((i + 1) * h) // ho)
        c0, c1 = (j * w) // wo, -(-((j + 1) * w) // wo)
        window = x[b, ch, r0:r1, c0:c1]
        if op == "avg":
            out[b, ch, i, j] = window.mean()
        else:
            k = int(np.argmax(window))  # the first maximum in row-major order
            out[b, ch, i, j] = window.flat[k]
            index[b, ch, i, j] = (r0 + k // window.shape[1]) * w + c0 + k % window.shape[1]
    return out if op == "avg" else (out, index)


def max_unpool_reference(x, indices, output_hw):
    """Zero planes of ``output_hw`` with x[n, c, ...] written at the flat index indices[n, c, ...]."""
    n, c = x.shape[:2]
    out = np.zeros((n, c, output_hw[0] * output_hw[1]))
    for b, ch in np.ndindex(n, c):
        for v, k in zip(x[b, ch].ravel(), indices[b, ch].ravel()):
            out[b, ch, k] = v
    return out.reshape(n, c, *output_hw)


def _source(dst, n_in, n_out, align_corners, scale, cubic=False):
    if align_corners:
        return (n_in - 1) / (n_out - 1) * dst if n_out > 1 else 0.0
    s = 1.0 / scale if scale else n_in / n_out
    src = s * (dst + 0.5) - 0.5
    return src if cubic else max(src, 0.0)


def _nearest(dst, n_in, n_out, scale, exact):
    if not exact and n_out == n_in:
        return dst
    if not exact and n_out == 2 * n_in:
        return dst >> 1
    s = np.float32(1.0 / scale if scale else np.float32(n_in) / np.float32(n_out))
    return min(int(np.floor((np.float32(dst) + np.float32(0.5 if exact else 0.0)) * s)), n_in - 1)


def _cubic_weights(t, a=-0.75):
    def near(v):
        return ((a + 2) * v - (a + 3)) * v * v + 1

    def far(v):
        return ((a * v - 5 * a) * v + 8 * a) * v - 4 * a
    return [far(t + 1), near(t), near(1 - t), far(2 - t)]


def interpolate_reference(x, size, mode, align_corners=False, scales=(None, None)):
    """PyTorch's upsample kernels pixel by pixel: (N, C, H, W) -> (N, C, *size)."""
    n, c, h, w = x.shape
    ho, wo = size
    out = np.zeros((n, c, ho, wo))
    for p, q in np.ndindex(ho, wo):
        if mode in ("nearest", "nearest-exact"):
            exact = mode == "nearest-exact"
            out[:, :, p, q] = x[:, :, _nearest(p, h, ho, scales[0], exact), _nearest(q, w, wo, scales[1], exact)]
        elif mode == "bilinear":
            taps = []
            for dst, n_in, n_out, scale in ((p, h, ho, scales[0]), (q, w, wo, scales[1])):
                src = _source(dst, n_in, n_out, align_corners, scale)
                i0 = min(int(src), n_in - 1)
                i1 = i0 + (1 if i0 < n_in - 1 else 0)
                taps.append([(i0, 1 - (src - i0)), (i1, src - i0)])
            out[:, :, p, q] = sum(wr * wc * x[:, :, r, s] for r, wr in taps[0] for s, wc in taps[1])
        else:  # bicubic
            taps = []
            for dst, n_in, n_out, scale in ((p, h, ho, scales[0]), (q, w, wo, scales[1])):
                src = _source(dst, n_in, n_out, align_corners, scale, cubic=True)
                i = int(np.floor(src))
                taps.append([(min(max(i - 1 + k, 0), n_in - 1), wk) for k, wk in enumerate(_cubic_weights(src - i))])
            out[:, :, p, q] = sum(wr * wc * x[:, :, r, s] for r, wr in taps[0] for s, wc in taps[1])
    return out


def pad_reference(x, pad, mode="constant", value=0.0):
    """PyTorch's F.pad by an index map per output element: pad = (left, right) of the last axis first."""
    k = len(pad) // 2
    pairs = [(0, 0)] * (x.ndim - k) + [(pad[2 * i], pad[2 * i + 1]) for i in reversed(range(k))]
    out_shape = tuple(n + b + e for n, (b, e) in zip(x.shape, pairs))
    out = np.full(out_shape, value, dtype=float)
    for where in np.ndindex(*out_shape):
        src = []
        for j, n, (b, _) in zip(where, x.shape, pairs):
            i = j - b
            if mode == "reflect":
                i = -i if i < 0 else (2 * (n - 1) - i if i >= n else i)
            elif mode == "replicate":
                i = min(max(i, 0), n - 1)
            elif mode == "circular":
                i %= n
            src.append(i)
        if all(0 <= i < n for i, n in zip(src, x.shape)):
            out[where] = x[tuple(src)]
    return out
