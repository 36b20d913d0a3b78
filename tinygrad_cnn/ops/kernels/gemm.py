"""The convolution GEMMs on im2col columns, in either column layout, with thin GEMMs cut into column blocks.

Speed kernels, measured in docs/performance.md (the blocking and its target of about 4,096 columns); the maths
they serve lives in ops/conv.py. Imports only NumPy, ``columns`` and ``sums`` (the block sums, pairwise).
"""

from __future__ import annotations

import numpy as np

from . import threads
from .columns import batch_last
from .sums import accurate_sum

#: from this many multiply-adds on, ``matmul`` splits its rows over the thread pool (measured: 6M MACs split
#: take 1.7 times as long as one call, waking a worker costs tens of microseconds; 67M take 0.74 times as long)
PARALLEL_MACS = 1 << 25


def matmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``np.matmul(a, b)`` (NumPy's rules: batch axes broadcast; a 1-D operand is a row or a column), with the rows
    of a large product split into one block per thread of the pool: BLAS runs single-threaded under the
    kernels' thread policy (``threads``), so a big GEMM gets its cores this way."""
    threads.limit_blas()
    if a.ndim < 2 or b.ndim < 2 or a.dtype.kind not in "fc" or b.dtype.kind not in "fc":
        return np.matmul(a, b)
    m, k, n = a.shape[-2], a.shape[-1], b.shape[-1]
    batch = np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
    count = min(threads.get_num_threads(), m)
    if count < 2 or int(np.prod(batch)) * m * k * n < PARALLEL_MACS:
        return np.matmul(a, b)
    out = np.empty((*batch, m, n), dtype=np.result_type(a, b))
    bounds = [(i * m // count, (i + 1) * m // count) for i in range(count)]

    def rows(start: int, stop: int) -> None:
        np.matmul(a[..., start:stop, :], b, out=out[..., start:stop, :])

    threads.run_chunks(rows, bounds)
    return out


def _blocks(total: int, target: int = 4096) -> int:
    """Into how many equal blocks of about ``target`` columns to cut a GEMM's long axis of ``total`` columns.

    OpenBLAS is slow on thin GEMMs whose long axis (Ho Wo N, up to 10^5) is huge next to the others (O, C kh kw
    below ~30); a batch of blocks runs several times faster. 1 when the axis is short or has no fitting divisor.
    """
    if total <= 4 * target:
        return 1
    for blocks in range(-(-total // target), total // (target // 4) + 1):
        if total % blocks == 0:
            return blocks
    return 1


def _gemm_wide(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a (G, M, K) @ b (G, K, T) -> (G, M, T), computed as a batch of column blocks written in place."""
    (g, m, k), t = a.shape, b.shape[2]
    nb = _blocks(t)
    if nb == 1:
        return np.matmul(a, b)
    out = np.empty((g, m, t), dtype=np.result_type(a, b))
    np.matmul(a[:, None], b.reshape(g, k, nb, t // nb).transpose(0, 2, 1, 3),
              out=out.reshape(g, m, nb, t // nb).transpose(0, 2, 1, 3))
    return out


def _gemm_reduce(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a (G, M, T) @ b (G, K, T)^T -> (G, M, K), the long axis T summed block by block.

    Computed as (b a^T)^T: OpenBLAS runs the product with the wider operand (the K = C kh kw rows of the columns)
    on the left 1.2 to 2 times faster when M (the output channels) is small (measured on LeNet-5's and ResNet8's
    layers, docs/performance.md)."""
    (g, m, t), k = a.shape, b.shape[1]
    nb = _blocks(t)
    if nb == 1:
        return np.matmul(b, a.transpose(0, 2, 1)).transpose(0, 2, 1)
    blocks = np.matmul(b.reshape(g, k, nb, t // nb).transpose(0, 2, 1, 3),
                       a.reshape(g, m, nb, t // nb).transpose(0, 2, 3, 1))  # (G, blocks, K, M)
    return accurate_sum(blocks, axis=1).transpose(0, 2, 1)


def conv_gemm(w: np.ndarray, cols: np.ndarray, bias: np.ndarray | None, n: int, out_hw,
              out: np.ndarray) -> np.ndarray:
    """y = w cols (+ b) written into ``out``, a C-contiguous (N, O, Ho, Wo) array (or a slice of one along N):
    w (O, C/g, kh, kw), the columns of N images in either layout. The bias is added into the GEMM's output in
    place. The groups are the columns' group axis.
    """
    groups, o = cols.shape[-3], w.shape[0]
    wg = w.reshape(groups, o // groups, cols.shape[-2])  # (g, O/g, K); K is second to last in both layouts
    if cols.ndim == 4:  # per image: (g, O/g, K) @ (N, g, K, Ho Wo) is NCHW already
        np.matmul(wg, cols, out=out.reshape(n, groups, o // groups, out_hw[0] * out_hw[1]))
        if bias is not None:
            out += bias.reshape(1, -1, 1, 1)
        return out
    rows = _gemm_wide(wg, cols)  # batch innermost: @ (g, K, Ho Wo N) -> (g, O/g, Ho Wo N)
    if bias is not None:
        flat = rows.reshape(o, -1)  # a view: the GEMM's output is contiguous
        flat += bias[:, None]
    out[...] = rows.reshape(o, *out_hw, n).transpose(3, 0, 1, 2)
    return out


def input_grad_gemm(w: np.ndarray, g: np.ndarray, groups: int) -> np.ndarray:
    """The column gradient w^T g as (C, kh, kw, Ho, Wo, N), batch innermost for col2im: w (O, C/g, kh, kw),
    g (N, O, Ho, Wo)."""
    n, o, ho, wo = g.shape
    kh, kw = w.shape[2:]
    # explicit sizes, never -1: NumPy cannot infer an axis of an empty array (N = 0 or O = 0)
    wg = w.reshape(groups, o // groups, w.shape[1] * kh * kw)  # (g, O/g, C/g kh kw)
    gt = batch_last(g).reshape(groups, o // groups, ho * wo * n)  # (g, O/g, Ho Wo N)
    dcols = np.matmul(wg.transpose(0, 2, 1), gt)  # (g, C/g kh kw, Ho Wo N)
    return dcols.reshape(groups * w.shape[1], kh, kw, ho, wo, n)


def weight_grad_gemm(g: np.ndarray, cols: np.ndarray, groups: int) -> np.ndarray:
    """g cols^T as (g, O/g, C/g kh kw), summed over N Ho Wo: g (N, O, Ho, Wo), the columns in either layout."""
    n, o = g.shape[:2]
    p_out = g.shape[2] * g.shape[3]
    if cols.ndim == 3:  # batch innermost: ONE GEMM, (g, O/g, Ho Wo N) @ (g, Ho Wo N, C/g kh kw)
        gt = batch_last(g).reshape(groups, o // groups, p_out * n)
        return _gemm_reduce(gt, cols)
    # one GEMM per image, (N, g, C/g kh kw, Ho Wo) @ (N, g, Ho Wo, O/g), summed over the batch and transposed
    # (the columns on the left, as in ``_gemm_reduce``)
    per_image = np.matmul(cols, g.reshape(n, groups, o // groups, p_out).transpose(0, 1, 3, 2))
    return accurate_sum(per_image, axis=0).transpose(0, 2, 1)
