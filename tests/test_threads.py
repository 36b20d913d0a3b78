"""The kernels' thread pool (ops/kernels/threads.py) and the kernels that run chunk by chunk on it.

The pool: set_num_threads / get_num_threads as PyTorch's, the default from the environment, chunk bounds that
tile the batch, chunks that really run in parallel, errors raised in the caller, nested and concurrent calls.
The kernels: a convolution, its two adjoints, max-pooling and batch norm split into one chunk per sample give the
values of the loop references (tests/references.py) and of the unsplit kernels, on 1 and 2 threads, and their
gradients stay exact to second order; batch norm's statistics are the same to the bit however channels are split.
No timing is asserted anywhere (the speed lives in docs/performance.md).
"""

from __future__ import annotations

import itertools
import threading
import time

import numpy as np
import pytest
from conftest import leaf
from hypothesis import given, settings
from hypothesis import strategies as st
from references import (
    conv_input_grad_reference,
    conv_reference,
    conv_weight_grad_reference,
    max_pool_grad_reference,
    pool_reference,
)

import tinygrad_cnn as tg
from tinygrad_cnn.nn import functional as F
from tinygrad_cnn.ops import batchnorm as bn
from tinygrad_cnn.ops.kernels import columns, convolve, threads, windows
from tinygrad_cnn.testing import gradcheck, gradgradcheck


@pytest.fixture
def threads_of():
    """Set the pool size for one test, restoring it afterwards."""
    before = tg.get_num_threads()
    yield tg.set_num_threads
    tg.set_num_threads(before)


@pytest.fixture
def per_sample_chunks(monkeypatch):
    """Every kernel splits its batch (and batch norm its channels) into chunks of one item."""
    monkeypatch.setattr(threads, "PARALLEL_BYTES", 0)
    monkeypatch.setattr(threads, "CHUNK_BYTES", 1)


# ---- the pool ---------------------------------------------------------------------------------------------------
def test_set_and_get_num_threads_round_trip(threads_of):
    threads_of(3)
    assert tg.get_num_threads() == 3
    threads_of(1)
    assert tg.get_num_threads() == 1


@pytest.mark.parametrize("bad", [1.5, True, "2", None])
def test_set_num_threads_refuses_what_is_not_an_int(bad):
    with pytest.raises(TypeError, match="set_num_threads: the thread count must be an int, got"):
        tg.set_num_threads(bad)


@pytest.mark.parametrize("bad", [0, -2])
def test_set_num_threads_refuses_a_count_below_one(bad):
    before = tg.get_num_threads()
    with pytest.raises(ValueError, match=f"set_num_threads: the thread count must be at least 1, got {bad}"):
        tg.set_num_threads(bad)
    assert tg.get_num_threads() == before


def test_default_threads_reads_the_environment(monkeypatch):
    monkeypatch.setenv("TINYGRAD_CNN_NUM_THREADS", "3")
    monkeypatch.setenv("OMP_NUM_THREADS", "5")
    assert threads.default_threads() == 3
    monkeypatch.delenv("TINYGRAD_CNN_NUM_THREADS")
    assert threads.default_threads() == 5
    monkeypatch.setenv("OMP_NUM_THREADS", "4,2")  # OpenMP's nested list: the outermost level counts
    assert threads.default_threads() == 4
    monkeypatch.delenv("OMP_NUM_THREADS")
    cpus = threads.default_threads()
    assert cpus >= 1
    monkeypatch.setenv("OMP_NUM_THREADS", "many")  # another library's variable: ignored, never an error here
    assert threads.default_threads() == cpus
    for bad in ("many", "0", "-1"):
        monkeypatch.setenv("TINYGRAD_CNN_NUM_THREADS", bad)
        with pytest.raises(ValueError, match=f"TINYGRAD_CNN_NUM_THREADS='{bad}' must be a positive integer"):
            threads.default_threads()


@given(n=st.integers(0, 300), item=st.integers(0, 1 << 16), target=st.integers(1, 1 << 18),
       workers=st.integers(1, 4))
@settings(max_examples=200, deadline=None)
def test_chunk_bounds_tile_the_batch_in_near_equal_chunks(n, item, target, workers):
    before = tg.get_num_threads()
    threads._pool.threads = workers  # read by chunk_bounds only: no pool is started
    try:
        bounds = threads.chunk_bounds(n, item, target)
    finally:
        threads._pool.threads = before
    assert bounds[0][0] == 0 and bounds[-1][1] == n
    assert all(stop == start for (_, stop), (start, _) in itertools.pairwise(bounds))
    sizes = [stop - start for start, stop in bounds]
    assert max(sizes) - min(sizes) <= 1
    if n * item < threads.PARALLEL_BYTES or n <= 1:
        assert bounds == [(0, n)]
    else:
        assert len(bounds) == min(n, max(-(-n * item // target), workers))


def test_chunks_run_on_two_threads_at_once(threads_of):
    threads_of(2)
    barrier = threading.Barrier(2, timeout=20)  # serial chunks would leave the first waiting alone: BrokenBarrierError

    def work(start, stop):
        barrier.wait()
        return threading.get_ident(), start, stop

    results = threads.run_chunks(work, [(0, 1), (1, 2)])
    assert [r[1:] for r in results] == [(0, 1), (1, 2)]
    assert results[0][0] != results[1][0]


def test_a_stalled_worker_sends_the_next_regions_to_the_calling_thread(threads_of):
    """A worker descheduled in the middle of its chunk (simulated: it sleeps) made the caller wait: the next region
    runs on the caller alone, the one after it on both threads again, and a region without a stall resets."""
    threads_of(2)
    caller, started = threading.get_ident(), threading.Event()

    def stalling(start, stop):
        if threading.get_ident() == caller:
            assert started.wait(timeout=20)  # the worker holds the other chunk
        else:
            started.set()
            time.sleep(0.05)
        return threading.get_ident()

    assert len(set(threads.run_chunks(stalling, [(0, 1), (1, 2)]))) == 2
    assert (threads._pool.serial_left, threads._pool.backoff) == (1, 2)
    assert set(threads.run_chunks(lambda a, b: threading.get_ident(), [(0, 1), (1, 2)])) == {caller}
    assert threads._pool.serial_left == 0
    barrier = threading.Barrier(2, timeout=20)  # both threads again: the chunks meet at the barrier
    assert len(set(threads.run_chunks(lambda a, b: (barrier.wait(), threading.get_ident())[1],
                                      [(0, 1), (1, 2)]))) == 2
    assert threads._pool.backoff == 1


def test_results_come_back_in_chunk_order(threads_of):
    threads_of(2)
    bounds = [(i, i + 1) for i in range(50)]
    assert threads.run_chunks(lambda a, b: a * 10 + b, bounds) == [i * 10 + i + 1 for i in range(50)]


def test_an_error_in_a_chunk_is_raised_in_the_caller_after_every_chunk_ran(threads_of):
    threads_of(2)
    ran = []

    def work(start, stop):
        ran.append(start)
        if start == 3:
            raise KeyError("chunk 3")
        return start

    with pytest.raises(KeyError, match="chunk 3"):
        threads.run_chunks(work, [(i, i + 1) for i in range(8)])
    assert sorted(ran) == list(range(8))
    assert threads.run_chunks(lambda a, b: a, [(0, 1), (1, 2)]) == [0, 1]  # the pool still works


def test_a_kernel_called_inside_a_chunk_runs_its_chunks_serially(threads_of):
    threads_of(2)

    def inner(start, stop):
        return threads.run_chunks(lambda a, b: (threading.get_ident(), a), [(0, 1), (1, 2)])

    for pairs in threads.run_chunks(inner, [(0, 1), (1, 2)]):
        assert pairs[0][0] == pairs[1][0] and [a for _, a in pairs] == [0, 1]  # one thread, in order


def test_two_user_threads_share_the_pool(threads_of):
    threads_of(2)
    rng = np.random.default_rng(0)
    x, w = rng.standard_normal((8, 3, 9, 9)), rng.standard_normal((4, 3, 3, 3))
    expected = conv_reference(x, w, None, (1, 1), (1, 1), (1, 1), 1)
    got, errors = {}, []

    def run(key):
        try:
            for _ in range(20):
                got[key] = convolve.conv2d(x, w, None, (1, 1), (1, 1), (1, 1), 1, (9, 9))[0]
        except Exception as err:  # reported below
            errors.append(err)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(threads, "PARALLEL_BYTES", 0)
        mp.setattr(threads, "CHUNK_BYTES", 1)
        users = [threading.Thread(target=run, args=(k,)) for k in range(2)]
        for t in users:
            t.start()
        for t in users:
            t.join(timeout=60)
    assert not errors
    assert all(np.allclose(got[k], expected) for k in range(2))


def test_blas_runs_single_threaded_after_a_kernel(monkeypatch):
    threadpoolctl = pytest.importorskip("threadpoolctl")
    monkeypatch.delenv("TINYGRAD_CNN_BLAS_THREADS", raising=False)
    monkeypatch.setattr(threads._pool, "blas_set", False)
    threads.run_chunks(lambda a, b: None, [(0, 1)])
    blas = [i for i in threadpoolctl.threadpool_info() if i["user_api"] == "blas"]
    assert blas and all(i["num_threads"] == 1 for i in blas)


def test_copy_of_is_a_contiguous_copy():
    x = np.arange(24.0).reshape(2, 3, 4).transpose(2, 0, 1)
    y = threads.copy_of(x)
    assert y.flags.c_contiguous and not np.shares_memory(x, y) and np.array_equal(x, y)


# ---- the kernels, one chunk per sample ---------------------------------------------------------------------------
CONV_CASES = [  # x shape, w shape, stride, padding, dilation, groups
    ((3, 4, 7, 6), (6, 2, 3, 2), (1, 1), (1, 0), (1, 1), 2),
    ((4, 2, 8, 8), (2, 2, 3, 3), (1, 1), (2, 1), (2, 1), 1),  # the input gradient as a convolution
    ((3, 3, 9, 7), (5, 3, 2, 3), (2, 1), (1, 1), (1, 1), 1),  # col2im (stride 2)
    ((2, 1, 6, 6), (3, 1, 5, 5), (1, 1), (2, 2), (1, 1), 1),  # col2im (more outputs than inputs)
]


@pytest.mark.parametrize("batch_innermost", [True, False])
@pytest.mark.parametrize("nthreads", [1, 2])
@pytest.mark.parametrize("case", CONV_CASES)
def test_chunked_convolution_kernels_match_the_loop_references(per_sample_chunks, threads_of, monkeypatch, nthreads,
                                                               case, batch_innermost):
    threads_of(nthreads)
    monkeypatch.setattr(columns, "batch_innermost", lambda out_hw: batch_innermost)  # picked by size otherwise
    xs, ws, stride, padding, dilation, groups = case
    rng = np.random.default_rng(1)
    x, w, b = rng.standard_normal(xs), rng.standard_normal(ws), rng.standard_normal(ws[0])
    ref = conv_reference(x, w, b, stride, padding, dilation, groups)
    y, kept = convolve.conv2d(x, w, b, stride, padding, dilation, groups, ref.shape[2:], keep=True)
    if batch_innermost:
        assert kept is None  # made again chunk by chunk
    else:  # every chunk wrote its images' columns into the one kept array
        assert np.array_equal(kept, columns.im2col(x, ws[2:], stride, padding, dilation, groups, ref.shape[2:]))
    assert np.allclose(y, ref)
    g = rng.standard_normal(ref.shape)
    gx = convolve.conv2d_input_grad(g, w, xs, stride, padding, dilation, groups)
    assert np.allclose(gx, conv_input_grad_reference(g, w, xs, stride, padding, dilation, groups))
    gw_ref = conv_weight_grad_reference(x, g, ws, stride, padding, dilation, groups)
    assert np.allclose(convolve.conv2d_weight_grad(x, g, ws, stride, padding, dilation, groups), gw_ref)
    assert np.allclose(convolve.conv2d_weight_grad(x, g, ws, stride, padding, dilation, groups, kept=kept), gw_ref)


@pytest.mark.parametrize("case", CONV_CASES)
def test_both_input_gradient_routes_agree(monkeypatch, case):
    xs, ws, stride, padding, dilation, groups = case
    rng = np.random.default_rng(2)
    w = rng.standard_normal(ws)
    out_hw = conv_reference(np.zeros(xs), w, None, stride, padding, dilation, groups).shape[2:]
    g = rng.standard_normal((xs[0], ws[0], *out_hw))
    expected = conv_input_grad_reference(g, w, xs, stride, padding, dilation, groups)
    if convolve.input_grad_as_conv(ws, xs, out_hw, stride, padding, dilation):
        assert np.allclose(convolve.conv2d_input_grad(g, w, xs, stride, padding, dilation, groups), expected)
    monkeypatch.setattr(convolve, "input_grad_as_conv", lambda *args: False)  # col2im for every case
    assert np.allclose(convolve.conv2d_input_grad(g, w, xs, stride, padding, dilation, groups), expected)


def test_the_input_gradient_is_a_convolution_exactly_when_it_can_be():
    assert convolve.input_grad_as_conv((4, 4, 3, 3), (2, 4, 8, 8), (8, 8), (1, 1), (1, 1), (1, 1))
    assert not convolve.input_grad_as_conv((4, 4, 3, 3), (2, 4, 8, 8), (4, 4), (2, 2), (1, 1), (1, 1))  # stride
    assert not convolve.input_grad_as_conv((8, 4, 3, 3), (2, 4, 8, 8), (8, 8), (1, 1), (1, 1), (1, 1))  # O > C
    assert not convolve.input_grad_as_conv((4, 4, 3, 3), (2, 4, 12, 12), (16, 16), (1, 1), (3, 3), (1, 1))  # p > k-1
    # a transposed conv's output_padding leaves a row no window reads: not the plain full correlation
    assert convolve.input_grad_as_conv((4, 4, 3, 3), (2, 4, 11, 11), (7, 7), (1, 1), (0, 0), (2, 2))
    assert not convolve.input_grad_as_conv((4, 4, 3, 3), (2, 4, 12, 12), (7, 7), (1, 1), (0, 0), (2, 2))


@given(n=st.integers(1, 4), c=st.integers(1, 3), o=st.integers(1, 3), h=st.integers(3, 7), k=st.integers(1, 3),
       stride=st.integers(1, 2), padding=st.integers(0, 1), nthreads=st.integers(1, 2))
@settings(max_examples=30, deadline=None)
def test_chunked_conv2d_gradients_are_exact_to_second_order(n, c, o, h, k, stride, padding, nthreads):
    before = tg.get_num_threads()
    tg.set_num_threads(nthreads)
    try:
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(threads, "PARALLEL_BYTES", 0)
            mp.setattr(threads, "CHUNK_BYTES", 1)
            rng = np.random.default_rng(n * 100 + h)
            x, w = leaf(rng.standard_normal((n, c, h, h))), leaf(rng.standard_normal((o, c, k, k)))

            def conv(a, b):
                return F.conv2d(a, b, stride=stride, padding=padding)

            assert gradcheck(conv, x, w)
            assert gradgradcheck(conv, x, w, fast=True)
    finally:
        tg.set_num_threads(before)


@pytest.mark.parametrize("nthreads", [1, 2])
@pytest.mark.parametrize("kernel, stride, padding", [((2, 2), (2, 2), (0, 0)), ((3, 2), (1, 2), (1, 1))])
def test_chunked_max_pooling_matches_the_loop_references(per_sample_chunks, threads_of, nthreads, kernel, stride,
                                                          padding):
    threads_of(nthreads)
    x = np.random.default_rng(3).standard_normal((5, 2, 8, 6))
    xt = leaf(x)
    y = F.max_pool2d(xt, kernel, stride, padding)
    assert np.allclose(y.numpy(), pool_reference(x, kernel, stride, padding, (1, 1), "max"))
    g = np.random.default_rng(4).standard_normal(y.shape)
    y.backward(g)
    assert np.allclose(xt.grad.numpy(), max_pool_grad_reference(x, kernel, stride, padding, (1, 1), g))
    with tg.no_grad():  # the inference kernel (no index)
        assert np.allclose(F.max_pool2d(tg.Tensor(x), kernel, stride, padding).numpy(), y.numpy())
    best, index = windows.window_argmax(x, kernel, stride, (1, 1), y.shape[2:]) if padding == (0, 0) else (None, None)
    if best is not None:
        assert np.array_equal(best, y.numpy()) and index.dtype == np.int8


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_batch_norm_is_the_same_to_the_bit_however_channels_are_split(monkeypatch, threads_of, dtype):
    rng = np.random.default_rng(5)
    x = (rng.standard_normal((40, 5, 4, 3)) * 3 + 2).astype(dtype)  # N > 8: NumPy sums pairwise
    w, b = rng.standard_normal(5).astype(dtype), rng.standard_normal(5).astype(dtype)
    g = rng.standard_normal(x.shape).astype(dtype)
    one = bn.normalise_affine(x, 1e-5, w, b)
    gx_one = bn.BatchNormBackward.apply(tg.Tensor(g), tg.Tensor(x), tg.Tensor(w)).numpy()
    monkeypatch.setattr(threads, "PARALLEL_BYTES", 0)
    monkeypatch.setattr(threads, "CHUNK_BYTES", 1)
    for nthreads in (1, 2):
        threads_of(nthreads)
        split = bn.normalise_affine(x, 1e-5, w, b)
        assert all(np.array_equal(a, c) for a, c in zip(one, split))
        gx = bn.BatchNormBackward.apply(tg.Tensor(g), tg.Tensor(x), tg.Tensor(w)).numpy()
        assert np.array_equal(gx, gx_one)
    mean, var = x.astype(np.float64).mean(axis=(0, 2, 3)), x.astype(np.float64).var(axis=(0, 2, 3))
    assert np.allclose(one.mean, mean) and np.allclose(one.var, var)
    x_hat = (x - mean.reshape(1, -1, 1, 1)) / np.sqrt(var.reshape(1, -1, 1, 1) + 1e-5)
    assert np.allclose(one.y, x_hat * w.reshape(1, -1, 1, 1) + b.reshape(1, -1, 1, 1), atol=1e-5)


def test_chunked_batch_norm_gradients_are_exact_to_second_order(per_sample_chunks, threads_of):
    threads_of(2)
    rng = np.random.default_rng(6)
    x, w, b = leaf(rng.standard_normal((4, 3, 3, 2))), leaf(rng.standard_normal(3)), leaf(rng.standard_normal(3))

    def norm(a, c, d):
        return F.batch_norm(a, None, None, c, d, training=True)

    assert gradcheck(norm, x, w, b)
    assert gradgradcheck(norm, x, w, b, fast=True)


@pytest.mark.skipif(not hasattr(__import__("os"), "fork"), reason="fork is POSIX only")
def test_a_forked_child_runs_kernels_with_its_own_workers(threads_of):
    import multiprocessing

    threads_of(2)
    threads.run_chunks(lambda a, b: None, [(0, 1), (1, 2)])  # the parent's workers are started

    def child(queue):
        barrier = threading.Barrier(2, timeout=20)
        idents = threads.run_chunks(lambda a, b: (barrier.wait(), threading.get_ident())[1], [(0, 1), (1, 2)])
        queue.put(len(set(idents)))

    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    process = ctx.Process(target=child, args=(queue,))
    process.start()
    process.join(timeout=60)
    assert process.exitcode == 0
    assert queue.get(timeout=5) == 2  # two threads in the child: fresh workers, not the parent's dead ones


@pytest.mark.parametrize("shapes", [((64, 300), (300, 200)), ((3, 70, 40), (40, 50)), ((70, 40), (2, 40, 50)),
                                    ((2, 1, 90, 30), (1, 3, 30, 40)), ((90, 30), (30,)), ((30,), (30, 90))])
def test_matmul_split_by_rows_equals_numpys(monkeypatch, threads_of, shapes):
    from tinygrad_cnn.ops.kernels import gemm

    threads_of(2)
    monkeypatch.setattr(gemm, "PARALLEL_MACS", 0)
    rng = np.random.default_rng(7)
    a, b = rng.standard_normal(shapes[0]), rng.standard_normal(shapes[1])
    out = gemm.matmul(a, b)
    assert out.shape == np.matmul(a, b).shape and np.allclose(out, np.matmul(a, b))


def test_matmul_split_by_rows_has_exact_gradients(monkeypatch, threads_of):
    from tinygrad_cnn.ops.kernels import gemm

    threads_of(2)
    monkeypatch.setattr(gemm, "PARALLEL_MACS", 0)
    rng = np.random.default_rng(8)
    a, b = leaf(rng.standard_normal((2, 5, 4))), leaf(rng.standard_normal((4, 3)))
    assert gradcheck(lambda x, y: x @ y, a, b) and gradgradcheck(lambda x, y: x @ y, a, b, fast=True)
    w, x = leaf(rng.standard_normal((3, 4))), leaf(rng.standard_normal((6, 4)))
    assert gradcheck(lambda u, v: F.linear(u, v), x, w)
