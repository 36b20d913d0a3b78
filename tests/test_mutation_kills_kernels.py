"""Kernel cases found missing by mutation testing (scripts/mutate.py on tinygrad_cnn/ops/kernels/): each test pins
a behaviour a plausible one-line change of a kernel would break. References are float64 sums, plain loops or
derived by hand; where a threshold constant picks between two routes, each route is forced (the constant
monkeypatched) and compared with the reference. Thread-pool tests run the pool under a timeout guard, so a lost
chunk or a deadlock fails instead of hanging."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from references import (
    conv_input_grad_reference,
    conv_reference,
    conv_weight_grad_reference,
    fold_reference,
    output_size,
    unfold_reference,
)

import tinygrad_cnn as tg
from tinygrad_cnn.ops.kernels import columns, convolve, gemm, sums, threads, windows

F32 = np.float32
RNG = np.random.default_rng(16)


def wide_sum(a, axis=None, keepdims=False):
    """The float64 sum of ``a``: the reference every float32 sum here is compared with."""
    return np.sum(np.asarray(a, dtype=np.float64), axis=axis, keepdims=keepdims)


def assert_accurate(out, a, axis=None, keepdims=False, rtol=1e-6):
    expected = wide_sum(a, axis, keepdims)
    assert out.shape == expected.shape and out.dtype == F32
    scale = wide_sum(np.abs(np.asarray(a, dtype=np.float64)), axis, keepdims)
    assert np.all(np.abs(out - expected) <= rtol * scale + 1e-30)


# ---- sums.py: accurate_sum and row_dot --------------------------------------------------------------------------
def test_the_most_negative_axis_is_in_range():
    a = RNG.standard_normal((20, 3, 5)).astype(F32)
    assert_accurate(sums.accurate_sum(a, -3), a, 0)
    assert_accurate(sums.accurate_sum(a, (-3, -1)), a, (0, 2))
    with pytest.raises(ValueError, match="axis -4 is out of range for an array of 3 dimensions"):
        sums.accurate_sum(a, -4)


@pytest.mark.parametrize("rows", [33, 40, 47, 64, 100])  # the first 16 * (rows // 16) rows in blocks, then the rest
@pytest.mark.parametrize("layout", ["axis0", "axis1", "axis0-3d"])
def test_blocked_halving_counts_every_row_once(rows, layout):
    """Long rows (>= LONG_ROW elements after the axis) and at least 2 BLOCK rows: the rows are first added in blocks
    of BLOCK, the leftover rows into the first block; values are small integers, so the sum is exact."""
    if layout == "axis0":
        a, axis = RNG.integers(-8, 9, (rows, 70)).astype(F32), 0
    elif layout == "axis1":  # a leading kept axis longer than 1: the leftover must go to each of its rows
        a, axis = RNG.integers(-8, 9, (3, rows, 65)).astype(F32), 1
    else:
        a, axis = RNG.integers(-8, 9, (rows, 4, 17)).astype(F32), 0
    out = sums.accurate_sum(a, axis)
    np.testing.assert_array_equal(out, wide_sum(a, axis).astype(F32))
    np.testing.assert_array_equal(sums._halve(a, axis), wide_sum(a, axis, keepdims=True).astype(F32))


def test_a_short_axis_among_several_reduced_ones_is_summed_whole():
    """(4, 10, 64) over (0, 1): 40 terms in all, but each axis alone is shorter than 2 BLOCK rows."""
    a = RNG.integers(-8, 9, (4, 10, 64)).astype(F32)
    np.testing.assert_array_equal(sums.accurate_sum(a, (0, 1)), wide_sum(a, (0, 1)).astype(F32))
    b = RNG.integers(-8, 9, (5, 3, 80)).astype(F32)
    np.testing.assert_array_equal(sums.accurate_sum(b, 1), wide_sum(b, 1).astype(F32))


@pytest.mark.parametrize("shape, axes", [((40, 3, 50), (0, 2)), ((20, 3, 4, 5), (0, 2, 3)), ((3, 20, 7, 9), (1, 3)),
                                         ((30, 1, 6, 40), (0, 3))])
def test_a_trailing_run_of_reduced_axes_and_a_leading_one(shape, axes):
    a = RNG.integers(-8, 9, shape).astype(F32)
    for keepdims in (False, True):
        out = sums.accurate_sum(a, axes, keepdims=keepdims)
        np.testing.assert_array_equal(out, wide_sum(a, axes, keepdims).astype(F32))
    t = a.transpose(tuple(reversed(range(a.ndim))))  # the same sums on a transposed (non-contiguous) view
    np.testing.assert_array_equal(sums.accurate_sum(t, tuple(a.ndim - 1 - i for i in axes)),
                                  wide_sum(a, axes).astype(F32).T)


def test_contiguous_tail_names_exactly_the_c_contiguous_trailing_blocks():
    base = np.zeros((4, 3, 5), F32)
    assert sums._contiguous_tail(base, 1) and sums._contiguous_tail(base, 2) and sums._contiguous_tail(base, 3)
    every_other = base[::2]  # (2, 3, 5): the last two axes one block, the first one strided
    assert sums._contiguous_tail(every_other, 2) and not sums._contiguous_tail(every_other, 3)
    cropped = np.zeros((3, 8), F32)[:, :4]  # rows of 4 out of 8: the last axis contiguous, not the two
    assert sums._contiguous_tail(cropped, 1) and not sums._contiguous_tail(cropped, 2)
    assert not sums._contiguous_tail(np.zeros((3, 8), F32)[:, ::2], 1)
    assert not sums._contiguous_tail(base.transpose(0, 2, 1), 1)


def test_numpys_own_sum_up_to_direct_up_to_terms():
    """Up to DIRECT_UP_TO reduced terms the sum is NumPy's, to the bit (row after row along axis 0)."""
    a = RNG.standard_normal((sums.DIRECT_UP_TO, 300)).astype(F32)
    np.testing.assert_array_equal(sums.accurate_sum(a, 0), np.sum(a, axis=0))


def test_a_broadcast_axis_is_one_slice_times_its_length():
    value = F32(1.1)
    for shape, axis in (((100_003, 2), 0), ((100_003,), None)):
        out = sums.accurate_sum(np.broadcast_to(value, shape), axis)
        assert np.all(out == value * F32(shape[0]))  # halving 100003 copies rounds otherwise
    row = RNG.standard_normal((1, 50)).astype(F32)
    np.testing.assert_array_equal(sums.accurate_sum(np.broadcast_to(row, (2, 50)), 0), 2 * row[0])


def test_float16_sums_keep_axis_and_keepdims_and_accumulate_in_float32():
    h = RNG.integers(-8, 9, (3, 40)).astype(np.float16)
    np.testing.assert_array_equal(sums.accurate_sum(h, 1), wide_sum(h, 1).astype(np.float16))
    kept = sums.accurate_sum(h, 1, keepdims=True)
    assert kept.shape == (3, 1) and kept.dtype == np.float16
    # 1 + 2^-11 + 2^-24: float32 rounds the last term away, leaving a float16 tie that rounds to even (1.0);
    # float64 keeps it and rounds up
    tie = np.array([1, 2**-11, 2**-24], np.float16)
    assert sums.accurate_sum(tie) == np.float16(1.0) != np.float16(wide_sum(tie))


def test_other_dtypes_are_numpys_sum():
    small = np.ones((300, 2), np.int8)  # NumPy widens int8 to int64: no overflow at 300
    out = sums.accurate_sum(small, 0)
    assert out.dtype == np.sum(small, axis=0).dtype and out.tolist() == [300, 300]
    assert sums.accurate_sum(np.ones((300, 2), bool), 0).tolist() == [300, 300]
    wide = RNG.standard_normal((50, 3))
    np.testing.assert_array_equal(sums.accurate_sum(wide, 0), np.sum(wide, axis=0))


def test_row_dot_is_an_einsum_up_to_dot_up_to_and_accurate_beyond():
    m = sums.DOT_UP_TO
    a, b = RNG.standard_normal((6, m)).astype(F32), RNG.standard_normal((6, m)).astype(F32)
    np.testing.assert_array_equal(sums.row_dot(a, b), np.einsum("ij,ij->i", a, b))
    long_row = np.full((4, 6000), 1.1, F32)  # einsum's running sums lose about 5e-6 here
    out = sums.row_dot(long_row, long_row)
    assert out.shape == (4,) and out.dtype == F32
    assert np.max(np.abs(out / (6000 * float(F32(1.1)) ** 2) - 1)) < 1e-6
    c, d = RNG.standard_normal((3, 5000)).astype(F32), RNG.standard_normal((3, 5000)).astype(F32)
    assert_accurate(sums.row_dot(c, d), c.astype(np.float64) * d, 1)
    w = RNG.standard_normal((3, 5000))  # float64: one einsum whatever the length
    np.testing.assert_array_equal(sums.row_dot(w, w), np.einsum("ij,ij->i", w, w))


# ---- gemm.py: matmul split by rows, thin GEMMs in column blocks, the convolution GEMMs ----------------------------
@pytest.fixture
def two_threads():
    before = tg.get_num_threads()
    tg.set_num_threads(2)
    yield
    tg.set_num_threads(before)


@pytest.mark.parametrize("total, blocks", [(0, 1), (4 * 4096, 1), (4 * 4096 + 1, 5), (5 * 4096, 5), (7 * 4096, 7),
                                           (4 * 4097, 1),  # 2^2 17 241: no divisor from 5 to 16
                                           (17 * 1031, 17)])  # the largest count tried, total // 1024
def test_blocks_is_the_first_divisor_of_about_4096_columns(total, blocks):
    assert gemm._blocks(total) == blocks
    if blocks > 1:
        assert total % blocks == 0


@pytest.mark.parametrize("t", [5 * 4096, 4 * 4097])  # five column blocks; one (no divisor)
def test_thin_gemms_in_column_blocks_are_the_plain_products(t):
    a, b = RNG.standard_normal((2, 3, 4)), RNG.standard_normal((2, 4, t))
    np.testing.assert_allclose(gemm._gemm_wide(a, b), np.einsum("gmk,gkt->gmt", a, b), rtol=1e-12, atol=1e-12)
    c = RNG.standard_normal((2, 3, t))
    np.testing.assert_allclose(gemm._gemm_reduce(c, b), np.einsum("gmt,gkt->gmk", c, b), rtol=1e-12, atol=1e-10)


@pytest.mark.parametrize("dtypes", [(F32, F32), (F32, np.float64), (np.float64, F32)])
def test_blocked_and_split_products_keep_numpys_result_dtype(monkeypatch, two_threads, dtypes):
    a, b = RNG.standard_normal((2, 3, 4)).astype(dtypes[0]), RNG.standard_normal((2, 4, 5 * 4096)).astype(dtypes[1])
    wide = gemm._gemm_wide(a, b)  # five column blocks
    assert wide.dtype == np.result_type(*dtypes)
    np.testing.assert_allclose(wide, np.matmul(a, b), rtol=1e-5, atol=1e-5)
    monkeypatch.setattr(gemm, "PARALLEL_MACS", 0)
    c, d = RNG.standard_normal((40, 30)).astype(dtypes[0]), RNG.standard_normal((30, 20)).astype(dtypes[1])
    split = gemm.matmul(c, d)
    assert split.dtype == np.matmul(c, d).dtype
    np.testing.assert_allclose(split, np.matmul(c, d), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("shapes", [((64, 30), (30, 20)), ((2, 7, 5), (5, 3)), ((3, 9), (3, 9, 4))])
def test_matmul_rows_split_over_the_pool_tile_the_output(monkeypatch, two_threads, shapes):
    monkeypatch.setattr(gemm, "PARALLEL_MACS", 0)  # the split route for every size
    a, b = RNG.standard_normal(shapes[0]), RNG.standard_normal(shapes[1])
    out = gemm.matmul(a, b)
    np.testing.assert_allclose(out, np.einsum("...ij,...jk->...ik", a, b), rtol=1e-12, atol=1e-12)
    ints = gemm.matmul(a.astype(np.int64), b.astype(np.int64))  # integers: NumPy's exact product
    np.testing.assert_array_equal(ints, np.matmul(a.astype(np.int64), b.astype(np.int64)))
    one_row = gemm.matmul(a[..., :1, :], b)  # one row: one block
    np.testing.assert_allclose(one_row, np.matmul(a[..., :1, :], b), rtol=1e-12, atol=1e-12)
    monkeypatch.setattr(gemm, "PARALLEL_MACS", 1 << 60)  # and the unsplit one
    np.testing.assert_array_equal(gemm.matmul(a, b), np.matmul(a, b))


@pytest.mark.parametrize("out_hw, groups", [((3, 4), 1), ((3, 4), 2), ((16, 17), 1), ((16, 17), 2)])
def test_conv_gemm_writes_both_column_layouts_with_and_without_bias(out_hw, groups):
    """out_hw of 12 positions: batch innermost (3-D columns); 272: per image (4-D)."""
    from tinygrad_cnn.ops.kernels import columns

    n, c, o, k = 3, 4, 6, (2, 3)
    h, w_ = out_hw[0] + k[0] - 1, out_hw[1] + k[1] - 1
    x, w, b = RNG.standard_normal((n, c, h, w_)), RNG.standard_normal((o, c // groups, *k)), RNG.standard_normal(o)
    cols = columns.im2col(x, k, (1, 1), (0, 0), (1, 1), groups, out_hw)
    assert cols.ndim == (3 if columns.batch_innermost(out_hw) else 4)
    for bias in (b, None):
        out = gemm.conv_gemm(w, cols, bias, n, out_hw, out=np.empty((n, o, *out_hw)))
        np.testing.assert_allclose(out, conv_reference(x, w, bias, (1, 1), (0, 0), (1, 1), groups), atol=1e-12)
    g = RNG.standard_normal((n, o, *out_hw))
    gw = gemm.weight_grad_gemm(g, cols, groups).reshape(w.shape)
    np.testing.assert_allclose(gw, conv_weight_grad_reference(x, g, w.shape, (1, 1), (0, 0), (1, 1), groups),
                               atol=1e-12)
    dcols = gemm.input_grad_gemm(w, g, groups)
    assert dcols.shape == (c, *k, *out_hw, n)
    gx = np.zeros((n, c, h, w_))
    columns.col2im(dcols, gx.shape, k, (1, 1), (0, 0), (1, 1), out_hw, out=gx)
    np.testing.assert_allclose(gx, conv_input_grad_reference(g, w, gx.shape, (1, 1), (0, 0), (1, 1), groups),
                               atol=1e-12)


# ---- threads.py: the pool ----------------------------------------------------------------------------------------
GUARD_SECONDS = 20  # a lost chunk or a lock never released shows as a region still running after this


def guarded(fn, *args):
    """fn(*args) in a daemon thread joined with a timeout: a deadlock fails the test instead of hanging it."""
    box = {}

    def body():
        try:
            box["value"] = fn(*args)
        except BaseException as err:  # re-raised in the test
            box["error"] = err

    runner = threading.Thread(target=body, daemon=True)
    runner.start()
    runner.join(GUARD_SECONDS)
    assert not runner.is_alive(), f"{getattr(fn, '__name__', fn)} still running after {GUARD_SECONDS} s"
    if "error" in box:
        raise box["error"]
    return box["value"]


def workers_alive():
    return sorted(t.name for t in threading.enumerate() if t.name.startswith("tinygrad_cnn-") and t.is_alive())


def wait_until(condition, seconds=10.0):
    deadline = threading.Event()
    for _ in range(int(seconds / 0.01)):
        if condition():
            return True
        deadline.wait(0.01)
    return condition()


@pytest.fixture
def pool_of():
    """Set the pool size (and a fresh backoff) for one test; restore the size afterwards."""
    before = tg.get_num_threads()
    yield tg.set_num_threads
    tg.set_num_threads(before)


def meeting(parties):
    """A chunk body that returns only when ``parties`` threads run chunks at the same time."""
    barrier = threading.Barrier(parties, timeout=10)

    def work(start, stop):
        barrier.wait()
        return threading.get_ident(), start

    return work


def test_workers_are_named_daemons_one_fewer_than_the_threads(pool_of):
    pool_of(3)
    assert wait_until(lambda: workers_alive() == [])  # resize stopped the old ones; new ones start on first use
    results = guarded(threads.run_chunks, meeting(3), [(0, 1), (1, 2), (2, 3)])
    assert len({ident for ident, _ in results}) == 3 and [s for _, s in results] == [0, 1, 2]
    names = workers_alive()
    assert names == ["tinygrad_cnn-0", "tinygrad_cnn-1"]
    assert all(t.daemon for t in threading.enumerate() if t.name in names)  # never keeps the interpreter alive
    pool_of(1)
    assert wait_until(lambda: workers_alive() == [])  # resize sends every worker its None


def test_a_fresh_pool_and_a_resized_one_start_without_backoff(pool_of):
    fresh = threads._Pool()
    assert (fresh.inboxes, fresh.blas_set, fresh.serial_left, fresh.backoff) == ([], False, 0, 1)
    assert fresh.lock.acquire(blocking=False)  # a lock of its own, free
    fresh.lock.release()
    assert isinstance(fresh.local, threading.local) and not hasattr(fresh.local, "inside")
    assert fresh.threads == threads.default_threads()
    threads._pool.serial_left, threads._pool.backoff = 5, 8
    pool_of(2)
    assert (threads._pool.serial_left, threads._pool.backoff) == (0, 1)


def test_one_chunk_or_one_thread_runs_on_the_calling_thread_in_order(pool_of):
    caller = threading.get_ident()
    pool_of(2)
    assert threads.run_chunks(lambda a, b: (threading.get_ident(), a, b), [(0, 5)]) == [(caller, 0, 5)]
    pool_of(1)
    order = []
    out = threads.run_chunks(lambda a, b: order.append(a) or threading.get_ident(), [(i, i + 1) for i in range(6)])
    assert out == [caller] * 6 and order == list(range(6))


def test_regions_in_a_row_each_use_every_thread(pool_of):
    pool_of(2)
    for _ in range(3):  # the calling thread is no longer "inside" once a region is over
        results = guarded(threads.run_chunks, meeting(2), [(0, 1), (1, 2)])
        assert len({ident for ident, _ in results}) == 2


@pytest.mark.parametrize("chunks", [2, 3, 7])
def test_the_caller_waits_for_the_last_chunk_of_a_slow_worker(pool_of, chunks):
    """Every result is in place when run_chunks returns, however late the worker finishes its chunks."""
    pool_of(2)
    caller = threading.get_ident()
    done = []

    def work(start, stop):
        if threading.get_ident() != caller:
            threading.Event().wait(0.05)  # the worker is slow: the caller runs out of chunks first
        done.append(start)
        return start * 10

    def region():
        return threads.run_chunks(work, [(i, i + 1) for i in range(chunks)]), sorted(done)

    out, seen = guarded(region)
    assert out == [i * 10 for i in range(chunks)] and seen == list(range(chunks))


def test_an_error_in_the_callers_own_chunk_leaves_the_pool_working(pool_of):
    pool_of(2)

    def region():
        caller, started = threading.get_ident(), threading.Event()
        ran = []

        def work(start, stop):
            if threading.get_ident() == caller:
                started.wait(10)  # the worker holds the other chunk
                raise ZeroDivisionError(f"chunk {start}")
            started.set()
            threading.Event().wait(0.02)  # and is still busy when the caller's chunk fails
            ran.append(start)
            return start

        try:
            threads.run_chunks(work, [(0, 1), (1, 2)])
        except ZeroDivisionError as err:
            return str(err), ran
        return None, ran

    message, ran = guarded(region)
    assert message is not None and message.startswith("chunk") and len(ran) == 1  # raised after the worker's chunk
    assert not threads._pool.lock.locked()
    threads._pool.serial_left = 0  # the caller waited for the worker: a stall sent the next region to it alone
    assert len({i for i, _ in guarded(threads.run_chunks, meeting(2), [(0, 1), (1, 2)])}) == 2


def test_a_region_started_while_another_holds_the_workers_runs_serially(pool_of):
    """User thread A's chunks wait for an event that thread B's region sets: B must not wait for A's lock."""
    pool_of(2)
    go = threading.Event()

    def a_work(start, stop):
        return go.wait(10)

    def b_region():
        return threads.run_chunks(lambda s, e: go.set() or threading.get_ident(), [(0, 1), (1, 2)])

    a = threading.Thread(target=lambda: box.append(threads.run_chunks(a_work, [(0, 1), (1, 2)])), daemon=True)
    box: list = []
    a.start()
    assert wait_until(lambda: threads._pool.lock.locked())
    b_idents = guarded(b_region)
    a.join(GUARD_SECONDS)
    assert box == [[True, True]]
    assert len(set(b_idents)) == 1  # B ran its chunks on its own thread


def stall_region(caller_seconds, worker_seconds):
    """One two-chunk region: the chunks start together, then the caller works caller_seconds and the worker
    worker_seconds."""
    caller = threading.get_ident()
    together = threading.Barrier(2, timeout=10)

    def work(start, stop):
        together.wait()
        threading.Event().wait(caller_seconds if threading.get_ident() == caller else worker_seconds)
        return threading.get_ident()

    return threads.run_chunks(work, [(0, 1), (1, 2)])


def test_a_long_wait_is_no_stall_when_the_caller_worked_longer(pool_of):
    pool_of(2)
    guarded(stall_region, 0.3, 0.32)  # waited about 0.02 s (> STALL_SECONDS), worked 0.3 s: 0.28 s of slack
    assert (threads._pool.serial_left, threads._pool.backoff) == (0, 1)


def test_stalls_in_a_row_double_the_backoff_up_to_its_cap(pool_of):
    pool_of(2)

    def stalls():
        stall_region(0.0, 0.05)
        first = (threads._pool.serial_left, threads._pool.backoff)
        alone = threads.run_chunks(lambda a, b: (a, b, threading.get_ident()), [(0, 1), (1, 2)])
        assert alone == [(0, 1, threading.get_ident()), (1, 2, threading.get_ident())]  # the caller, in order
        stall_region(0.0, 0.05)
        second = (threads._pool.serial_left, threads._pool.backoff)
        threads._pool.serial_left, threads._pool.backoff = 0, threads.MAX_BACKOFF
        stall_region(0.0, 0.05)
        return first, second, (threads._pool.serial_left, threads._pool.backoff)

    first, second, capped = guarded(stalls)
    assert first == (1, 2) and second == (2, 4) and capped == (threads.MAX_BACKOFF, threads.MAX_BACKOFF)


def test_thread_counts_from_the_environment(monkeypatch):
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.setenv("TINYGRAD_CNN_NUM_THREADS", " 1 ")
    assert threads.default_threads() == 1
    monkeypatch.setenv("TINYGRAD_CNN_NUM_THREADS", "")
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    assert threads.default_threads() == 1
    for ignored in ("0", "", " ", "2.5"):
        monkeypatch.setenv("OMP_NUM_THREADS", ignored)
        assert threads._omp_count() is None
    monkeypatch.setenv("OMP_NUM_THREADS", " 3 ,1")
    assert threads._omp_count() == 3
    monkeypatch.delenv("OMP_NUM_THREADS")
    monkeypatch.delenv("TINYGRAD_CNN_NUM_THREADS")
    import os

    assert threads.default_threads() == len(os.sched_getaffinity(0))
    monkeypatch.delattr(os, "sched_getaffinity")
    monkeypatch.setattr(os, "cpu_count", lambda: None)
    assert threads.default_threads() == 1  # no CPU count: one thread
    monkeypatch.setattr(os, "cpu_count", lambda: 3)
    assert threads.default_threads() == 3


def test_blas_threads_are_set_once_to_the_environment_count(monkeypatch):
    threadpoolctl = pytest.importorskip("threadpoolctl")

    def blas_threads():
        return {i["num_threads"] for i in threadpoolctl.threadpool_info() if i["user_api"] == "blas"}

    if not blas_threads():
        pytest.skip("no BLAS library loaded")
    try:
        monkeypatch.setattr(threads._pool, "blas_set", False)
        monkeypatch.setenv("TINYGRAD_CNN_BLAS_THREADS", "2")
        threads.limit_blas()
        assert threads._pool.blas_set and blas_threads() == {2}
        threadpoolctl.threadpool_limits(limits=1, user_api="blas")
        threads.limit_blas()  # once: a later call leaves the count alone
        assert blas_threads() == {1}
        monkeypatch.setattr(threads._pool, "blas_set", False)
        monkeypatch.delenv("TINYGRAD_CNN_BLAS_THREADS")
        threadpoolctl.threadpool_limits(limits=2, user_api="blas")
        threads.limit_blas()
        assert blas_threads() == {1}
    finally:
        threadpoolctl.threadpool_limits(limits=1, user_api="blas")


# ---- windows.py: pooling offset by offset, and the gathers and sums along one axis -------------------------------
def window_cells(out_hw, kernel, stride, pads, dilation):
    """(p, q, k, row, col): every window (p, q), its offset k = i kw + j, and the cell it reads in the padded plane."""
    for p in range(out_hw[0]):
        for q in range(out_hw[1]):
            for i in range(kernel[0]):
                for j in range(kernel[1]):
                    yield p, q, i * kernel[1] + j, p * stride[0] + i * dilation[0], q * stride[1] + j * dilation[1]


def argmax_loops(xp, kernel, stride, dilation, out_hw):
    """Each window's maximum and its first (row-major) offset, by loops over a padded xp (N, C, Hp, Wp)."""
    best = np.full((*xp.shape[:2], *out_hw), -np.inf)
    index = np.zeros(best.shape, np.int64)
    for p, q, k, r, c in window_cells(out_hw, kernel, stride, ((0, 0), (0, 0)), dilation):
        better = xp[:, :, r, c] > best[:, :, p, q]
        best[:, :, p, q] = np.where(better, xp[:, :, r, c], best[:, :, p, q])
        index[:, :, p, q] = np.where(better, k, index[:, :, p, q])
    return best, index


def poison_allocations(nbytes):
    """Leave NaN-filled blocks of ``nbytes`` in NumPy's allocation cache: a later np.empty of that size gets one, so
    an element a kernel forgets to write shows as NaN instead of a lucky zero."""
    for _ in range(8):
        junk = np.full(nbytes // 8, np.nan)
        del junk


POOL_CASES = [  # input shape, kernel, stride, pads ((top, bottom), (left, right)), dilation
    ((1, 2, 4, 4), (2, 2), (1, 1), ((0, 0), (0, 0)), (1, 1)),  # overlapping windows, sizes divisible by the kernel
    ((1, 2, 6, 6), (2, 2), (2, 2), ((0, 0), (0, 0)), (2, 2)),  # kernel = stride, dilated: overlapping again
    ((1, 2, 6, 6), (2, 2), (2, 2), ((0, 0), (0, 0)), (2, 1)),
    ((1, 2, 6, 6), (2, 2), (2, 2), ((0, 0), (0, 0)), (1, 2)),
    ((1, 1, 6, 6), (3, 3), (3, 3), ((1, 1), (0, 0)), (1, 1)),  # kernel = stride, padded rows: row 5 in no window
    ((1, 1, 6, 6), (3, 3), (3, 3), ((0, 0), (1, 1)), (1, 1)),  # ... padded columns: column 5 in no window
    ((2, 1, 6, 6), (2, 2), (3, 3), ((0, 0), (0, 0)), (1, 1)),  # a kernel smaller than the stride: gaps
    ((1, 2, 5, 7), (2, 3), (2, 2), ((1, 1), (0, 1)), (2, 1)),  # ceil_mode-like: a right pad only, a dilated axis
]


@pytest.mark.parametrize("shape, kernel, stride, pads, dilation", POOL_CASES)
def test_max_pool_kernels_against_loops(shape, kernel, stride, pads, dilation):
    x = RNG.permutation(int(np.prod(shape))).reshape(shape).astype(np.float64)  # distinct values: no ties
    h, w = shape[2] + sum(pads[0]), shape[3] + sum(pads[1])
    out_hw = ((h - dilation[0] * (kernel[0] - 1) - 1) // stride[0] + 1,
              (w - dilation[1] * (kernel[1] - 1) - 1) // stride[1] + 1)
    xp = windows.pad2d(x, pads, -np.inf)
    best_ref, index_ref = argmax_loops(xp, kernel, stride, dilation, out_hw)
    np.testing.assert_array_equal(windows.window_max(xp, kernel, stride, dilation, out_hw), best_ref)
    best, index = windows.window_argmax(xp, kernel, stride, dilation, out_hw)
    np.testing.assert_array_equal(best, best_ref)
    np.testing.assert_array_equal(index, index_ref)
    # PyTorch's flat indices: row * W + column of the unpadded input
    flat = windows.flat_argmax(index, shape[2:], kernel, stride, pads, dilation)
    rows = np.arange(out_hw[0])[:, None] * stride[0] - pads[0][0] + index_ref // kernel[1] * dilation[0]
    cols = np.arange(out_hw[1])[None, :] * stride[1] - pads[1][0] + index_ref % kernel[1] * dilation[1]
    np.testing.assert_array_equal(flat, rows * shape[3] + cols)
    np.testing.assert_array_equal(np.take_along_axis(x.reshape(*shape[:2], -1), flat.reshape(*shape[:2], -1), 2),
                                  best_ref.reshape(*shape[:2], -1))
    # the gradient: g added at each window's maximum (summed where windows share it), zero in no window's reach
    g = RNG.integers(-8, 9, best.shape).astype(np.float64)  # small integers: sums exact in any order
    expected = np.zeros((*shape[:2], h, w))
    for p, q, k, r, c in window_cells(out_hw, kernel, stride, pads, dilation):
        expected[:, :, r, c] += g[:, :, p, q] * (index_ref[:, :, p, q] == k)
    expected = expected[:, :, pads[0][0]:pads[0][0] + shape[2], pads[1][0]:pads[1][0] + shape[3]]
    poison_allocations(shape[0] * shape[1] * h * w * 8)  # the size of the padded gradient
    got = windows.scatter_to_argmax(g, index, shape, kernel, stride, pads, dilation)
    assert got.shape == shape
    np.testing.assert_array_equal(got, expected)
    # its adjoint: the padded u read back at each window's maximum
    u = RNG.integers(-8, 9, (*shape[:2], h, w)).astype(np.float64)
    gathered = np.zeros(best.shape)
    for p, q, k, r, c in window_cells(out_hw, kernel, stride, pads, dilation):
        gathered[:, :, p, q] += u[:, :, r, c] * (index_ref[:, :, p, q] == k)
    np.testing.assert_array_equal(windows.gather_at_argmax(u, index, kernel, stride, dilation), gathered)


@pytest.mark.parametrize("kernel, last, dtype", [((1, 127), 126, np.int8), ((12, 12), 143, np.int32),
                                                 ((20, 10), 199, np.int32), ((4, 32), 127, None)])
def test_argmax_offsets_past_127_are_kept(kernel, last, dtype):
    """int8 while the offsets fit it (127 of them), int32 once they cannot (128 fit too: either is right)."""
    x = np.zeros((1, 1, *kernel))
    x[0, 0, -1, -1] = 1.0  # the maximum at the last offset of the one window
    best, index = windows.window_argmax(x, kernel, kernel, (1, 1), (1, 1))
    assert best.item() == 1.0 and index.item() == last and (dtype is None or index.dtype == dtype)


def test_float32_windows_stay_float32():
    x = RNG.standard_normal((2, 3, 6, 5)).astype(F32)
    pads = ((1, 1), (0, 1))
    xp = windows.pad2d(x, pads, -np.inf)
    _, index = windows.window_argmax(xp, (2, 2), (2, 2), (1, 1), (4, 3))
    g = RNG.standard_normal((2, 3, 4, 3)).astype(F32)
    assert windows.scatter_to_argmax(g, index, x.shape, (2, 2), (2, 2), pads, (1, 1)).dtype == F32
    assert windows.gather_at_argmax(windows.pad2d(x, pads), index, (2, 2), (2, 2), (1, 1)).dtype == F32
    assert windows.add_to_windows(g, x.shape, (2, 2), (2, 2), pads).dtype == F32
    v = RNG.standard_normal((2, 3, 5, 4)).astype(F32)
    assert windows.sum_at(v, 2, np.array([0, 0, 1, 3, 3]), 6).dtype == F32
    taps = np.array([[0, 0, 1, 2], [1, 1, 2, 3]])
    weights = np.array([[0.25, 0.5, 0.75, 1.0], [0.75, 0.5, 0.25, 0.0]])
    assert windows.taps_adjoint(v[:, :, :4], 2, taps, weights, 5).dtype == F32


@pytest.mark.parametrize("pads", [((0, 0), (0, 1)), ((0, 0), (1, 0)), ((0, 1), (0, 0)), ((1, 0), (0, 0))])
def test_windows_with_one_padded_side_are_cropped_back(pads):
    """ceil_mode pads only the bottom or right: the result has the input's shape and each cell sums its windows."""
    shape, kernel, stride = (1, 2, 5, 5), (2, 2), (2, 2)
    h, w = shape[2] + sum(pads[0]), shape[3] + sum(pads[1])
    out_hw = ((h - 2) // 2 + 1, (w - 2) // 2 + 1)
    share = RNG.integers(-8, 9, (*shape[:2], *out_hw)).astype(np.float64)
    expected = np.zeros((*shape[:2], h, w))
    for p, q, _, r, c in window_cells(out_hw, kernel, stride, pads, (1, 1)):
        expected[:, :, r, c] += share[:, :, p, q]
    crop = (slice(None), slice(None), slice(pads[0][0], pads[0][0] + 5), slice(pads[1][0], pads[1][0] + 5))
    np.testing.assert_array_equal(windows.add_to_windows(share, shape, kernel, stride, pads), expected[crop])
    index = RNG.integers(0, 4, share.shape)
    expected = np.zeros((*shape[:2], h, w))
    for p, q, k, r, c in window_cells(out_hw, kernel, stride, pads, (1, 1)):
        expected[:, :, r, c] += share[:, :, p, q] * (index[:, :, p, q] == k)
    np.testing.assert_array_equal(windows.scatter_to_argmax(share, index, shape, kernel, stride, pads, (1, 1)),
                                  expected[crop])


def test_interpolation_taps_are_float32_products_of_float32_weights():
    """Weights are rounded to the input's dtype first and each tap is a float32 product, as PyTorch computes it."""
    x = RNG.standard_normal((2, 3, 9, 50)).astype(F32)
    taps = np.sort(RNG.integers(0, 50, (2, 70)), axis=1)
    weights = RNG.uniform(0, 1, (2, 70))
    w32 = weights.astype(F32)
    expected = x[..., taps[0]] * w32[0] + x[..., taps[1]] * w32[1]
    np.testing.assert_array_equal(windows.taps_along(x, 3, taps, weights), expected)
    g = RNG.standard_normal((2, 3, 9, 70)).astype(F32)
    adjoint = windows.taps_adjoint(g, 3, taps, weights, 50)
    manual = np.zeros((2, 3, 9, 50))
    for t in range(2):
        for i in range(70):
            manual[..., taps[t, i]] += (g[..., i] * w32[t, i]).astype(np.float64)
    np.testing.assert_allclose(adjoint, manual, rtol=1e-5, atol=1e-5)


# ---- columns.py: padding, the batch-last layout, im2col and col2im, unfold and fold -------------------------------
COLUMN_CASES = [  # x shape, kernel, stride, padding, dilation, groups
    ((2, 4, 7, 6), (2, 3), (1, 1), (1, 0), (1, 1), 2),
    ((3, 2, 8, 9), (3, 2), (2, 1), (0, 2), (1, 2), 1),
    ((2, 3, 6, 6), (1, 1), (1, 1), (0, 0), (1, 1), 3),
    ((1, 2, 20, 19), (3, 3), (1, 1), (1, 2), (2, 1), 1),  # 18 x 21 outputs: per image, padded and dilated
    ((2, 2, 18, 18), (3, 3), (1, 1), (0, 0), (1, 1), 2),  # 16 x 16 = 256: per image
    ((2, 2, 5, 6), (2, 2), (1, 2), (0, 1), (1, 1), 1),  # padded columns only
]


def columns_reference(x, kernel, stride, padding, dilation, groups, out_hw):
    """cols[n, g, (c, i, j), (p, q)] = x_pad[n, g C/g + c, p s + i d, q s + j d], by loops."""
    n, c = x.shape[:2]
    xp = np.pad(x, ((0, 0), (0, 0), (padding[0],) * 2, (padding[1],) * 2))
    cg = c // groups
    out = np.zeros((n, groups, cg * kernel[0] * kernel[1], out_hw[0] * out_hw[1]))
    for ni, gi, ci, i, j, p, q in np.ndindex(n, groups, cg, *kernel, *out_hw):
        out[ni, gi, (ci * kernel[0] + i) * kernel[1] + j, p * out_hw[1] + q] = \
            xp[ni, gi * cg + ci, p * stride[0] + i * dilation[0], q * stride[1] + j * dilation[1]]
    return out


@pytest.mark.parametrize("shape, kernel, stride, padding, dilation, groups", COLUMN_CASES)
def test_im2col_in_both_layouts_and_col2im_against_loops(shape, kernel, stride, padding, dilation, groups):
    x = RNG.integers(-8, 9, shape).astype(np.float64)
    out_hw = tuple(output_size(shape[2 + a], kernel[a], stride[a], padding[a], dilation[a]) for a in range(2))
    ref = columns_reference(x, kernel, stride, padding, dilation, groups, out_hw)
    cols = columns.im2col(x, kernel, stride, padding, dilation, groups, out_hw)
    n, k, p_out = shape[0], ref.shape[2], out_hw[0] * out_hw[1]
    if columns.batch_innermost(out_hw):
        assert out_hw[0] * out_hw[1] < 256 and cols.shape == (groups, k, p_out * n)
        np.testing.assert_array_equal(cols.reshape(groups, k, p_out, n).transpose(3, 0, 1, 2), ref)
    else:
        assert out_hw[0] * out_hw[1] >= 256
        np.testing.assert_array_equal(cols, ref)
    if not columns.batch_innermost(out_hw):  # the per-image layout written into a given array
        into = np.full((n, groups, k, p_out), np.nan)
        assert columns.im2col(x, kernel, stride, padding, dilation, groups, out_hw, out=into) is into
        np.testing.assert_array_equal(into, ref)
    # col2im: every column entry added back to the pixel it was read from
    dcols = RNG.integers(-8, 9, (shape[1], *kernel, *out_hw, n)).astype(np.float64)
    expected = np.zeros((n, shape[1], shape[2] + 2 * padding[0], shape[3] + 2 * padding[1]))
    for ci, i, j, p, q in np.ndindex(shape[1], *kernel, *out_hw):
        expected[:, ci, p * stride[0] + i * dilation[0], q * stride[1] + j * dilation[1]] += dcols[ci, i, j, p, q]
    expected = expected[:, :, padding[0]:padding[0] + shape[2], padding[1]:padding[1] + shape[3]]
    got = np.full(shape, np.nan)
    assert columns.col2im(dcols, shape, kernel, stride, padding, dilation, out_hw, out=got) is got
    np.testing.assert_array_equal(got, expected)
    # unfold and fold: F.unfold's layout and its adjoint
    unfolded = columns.unfold(x, kernel, stride, padding, dilation, out_hw)
    np.testing.assert_array_equal(unfolded, unfold_reference(x, kernel, dilation, padding, stride))
    assert not np.shares_memory(unfolded, x)
    blocks = RNG.integers(-8, 9, unfolded.shape).astype(np.float64)
    folded = columns.fold(blocks, shape[2:], kernel, stride, padding, dilation, out_hw)
    np.testing.assert_array_equal(folded, fold_reference(blocks, shape[2:], kernel, dilation, padding, stride))


def test_padding_and_the_batch_last_layout():
    x = RNG.standard_normal((2, 3, 4, 5))
    assert columns.pad(x, (0, 0)) is x
    padded = columns.pad(x, (1, 2), value=-1.5)
    assert padded.shape == (2, 3, 6, 9) and np.all(padded[:, :, 0] == -1.5) and np.all(padded[:, :, :, :2] == -1.5)
    np.testing.assert_array_equal(padded[:, :, 1:5, 2:7], x)
    np.testing.assert_array_equal(columns.pad(x, (0, 1))[:, :, :, 1:6], x)
    last = columns.batch_last(x)
    assert last.shape == (3, 4, 5, 2) and last.flags.c_contiguous
    np.testing.assert_array_equal(last, x.transpose(1, 2, 3, 0))
    stored = np.ascontiguousarray(x.transpose(1, 2, 3, 0))  # already batch-last in memory: a view, no copy
    view = columns.batch_last(stored.transpose(3, 0, 1, 2))
    assert np.shares_memory(view, stored) and view.flags.c_contiguous
    padded_last = columns.batch_last(x, (2, 1))
    assert padded_last.shape == (3, 8, 7, 2)
    np.testing.assert_array_equal(padded_last, np.pad(x, ((0, 0), (0, 0), (2, 2), (1, 1))).transpose(1, 2, 3, 0))


# ---- convolve.py: the three convolution kernels on every route ---------------------------------------------------
CONVOLVE_CASES = [  # x shape, w shape, stride, padding, dilation, groups
    ((3, 4, 8, 7), (4, 2, 3, 2), (1, 1), (1, 0), (1, 1), 2),  # the input gradient as a convolution
    ((3, 4, 7, 6), (6, 2, 3, 2), (1, 1), (1, 0), (1, 1), 2),  # O > C: col2im
    ((3, 4, 9, 7), (4, 4, 2, 3), (2, 1), (1, 1), (1, 1), 1),  # col2im (stride 2)
    ((2, 3, 18, 17), (2, 3, 3, 2), (1, 1), (1, 1), (1, 2), 1),  # 18 x 17 outputs: per-image layout, kept columns
    ((2, 4, 7, 8), (6, 2, 1, 1), (2, 3), (0, 0), (1, 1), 2),  # a strided 1x1 kernel: the subsample route
    ((2, 2, 9, 9), (3, 2, 1, 1), (3, 3), (0, 0), (1, 1), 1),
]


def _out_hw(xs, ws, stride, padding, dilation):
    return tuple(output_size(xs[2 + a], ws[2 + a], stride[a], padding[a], dilation[a]) for a in range(2))


@pytest.mark.parametrize("route", ["default", "every-image-a-chunk", "keep-nothing", "one-chunk-kept"])
@pytest.mark.parametrize("case", CONVOLVE_CASES)
def test_convolution_kernels_on_every_route_against_loops(monkeypatch, two_threads, case, route):
    xs, ws, stride, padding, dilation, groups = case
    if route == "every-image-a-chunk":
        monkeypatch.setattr(threads, "PARALLEL_BYTES", 0)
        monkeypatch.setattr(threads, "CHUNK_BYTES", 1)
        monkeypatch.setattr(convolve, "SERIAL_KEPT_MACS", 0)
    elif route == "keep-nothing":
        monkeypatch.setattr(convolve, "KEEP_COLUMNS_BYTES", -1)
    elif route == "one-chunk-kept":
        monkeypatch.setattr(threads, "PARALLEL_BYTES", 0)
        monkeypatch.setattr(threads, "CHUNK_BYTES", 1)
        monkeypatch.setattr(convolve, "SERIAL_KEPT_MACS", 1 << 60)
    x = RNG.integers(-4, 5, xs).astype(np.float64)  # small integers: every sum exact, whatever its order
    w, b = RNG.integers(-4, 5, ws).astype(np.float64), RNG.integers(-4, 5, ws[0]).astype(np.float64)
    out_hw = _out_hw(xs, ws, stride, padding, dilation)
    ref = conv_reference(x, w, b, stride, padding, dilation, groups)
    y, kept = convolve.conv2d(x, w, b, stride, padding, dilation, groups, out_hw, keep=True)
    np.testing.assert_array_equal(y, ref)
    y_alone, none = convolve.conv2d(x, w, None, stride, padding, dilation, groups, out_hw)
    assert none is None
    np.testing.assert_array_equal(y_alone, conv_reference(x, w, None, stride, padding, dilation, groups))
    per_image = not columns.batch_innermost(out_hw)
    assert (kept is not None) == (per_image and route != "keep-nothing" and not convolve.pointwise_strided(
        ws[2:], stride, padding))
    g = RNG.integers(-4, 5, ref.shape).astype(np.float64)
    gx = convolve.conv2d_input_grad(g, w, xs, stride, padding, dilation, groups)
    np.testing.assert_array_equal(gx, conv_input_grad_reference(g, w, xs, stride, padding, dilation, groups))
    gw_ref = conv_weight_grad_reference(x, g, ws, stride, padding, dilation, groups)
    np.testing.assert_array_equal(convolve.conv2d_weight_grad(x, g, ws, stride, padding, dilation, groups), gw_ref)
    if kept is not None:
        np.testing.assert_array_equal(convolve.conv2d_weight_grad(x, g, ws, stride, padding, dilation, groups,
                                                                  kept=kept), gw_ref)


@pytest.mark.parametrize("case", CONVOLVE_CASES)
def test_float32_convolution_kernels_stay_float32(case):
    xs, ws, stride, padding, dilation, groups = case
    x, w = RNG.standard_normal(xs).astype(F32), RNG.standard_normal(ws).astype(F32)
    out_hw = _out_hw(xs, ws, stride, padding, dilation)
    y, kept = convolve.conv2d(x, w, None, stride, padding, dilation, groups, out_hw, keep=True)
    assert y.dtype == F32 and (kept is None or kept.dtype == F32)
    g = RNG.standard_normal(y.shape).astype(F32)
    assert convolve.conv2d_input_grad(g, w, xs, stride, padding, dilation, groups).dtype == F32
    assert convolve.conv2d_weight_grad(x, g, ws, stride, padding, dilation, groups, kept=kept).dtype == F32
    assert convolve.flipped_transposed(w, groups).dtype == F32


def test_flipped_transposed_kernel_by_loops():
    w = RNG.standard_normal((6, 2, 3, 2))
    cg = w.shape[1]
    for groups in (1, 3):
        flipped = convolve.flipped_transposed(w, groups)
        o_per = 6 // groups
        assert flipped.shape == (groups * cg, o_per, 3, 2) and flipped.flags.c_contiguous
        for gi, c, o, i, j in np.ndindex(groups, cg, o_per, 3, 2):
            assert flipped[gi * cg + c, o, i, j] == w[gi * o_per + o, c, 2 - i, 1 - j]


# ---- threads.py: chunk bounds at their thresholds, copies, CPU counts, the BLAS limit, a fork --------------------
def test_chunk_bounds_at_the_parallel_threshold(monkeypatch, pool_of):
    pool_of(2)
    half = threads.PARALLEL_BYTES // 2
    assert threads.chunk_bounds(2, half) == [(0, 1), (1, 2)]  # exactly PARALLEL_BYTES: one chunk per thread
    assert threads.chunk_bounds(2, half - 1) == [(0, 2)]
    assert threads.chunk_bounds(1, 1 << 30) == [(0, 1)]
    monkeypatch.setattr(threads, "PARALLEL_BYTES", 0)
    assert threads.chunk_bounds(10, 1, target=1) == [(i, i + 1) for i in range(10)]  # 1-byte chunks: one item each
    assert threads.chunk_bounds(10, 1, target=0) == [(i, i + 1) for i in range(10)]


def test_copy_of_keeps_the_dtype():
    view = np.arange(24, dtype=F32).reshape(4, 6)[:, ::2]
    out = threads.copy_of(view)
    assert out.dtype == F32 and out.flags.c_contiguous and np.array_equal(out, view)


def test_default_threads_are_the_cpus_this_process_may_run_on(monkeypatch):
    import os

    monkeypatch.delenv("TINYGRAD_CNN_NUM_THREADS", raising=False)
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.setattr(os, "cpu_count", lambda: 8)
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0}, raising=False)
    assert threads.default_threads() == 1  # pinned to one CPU of eight
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {1, 3, 5}, raising=False)
    assert threads.default_threads() == 3


def test_limit_blas_limits_only_the_blas_pools(monkeypatch):
    threadpoolctl = pytest.importorskip("threadpoolctl")
    calls = []
    monkeypatch.setattr(threadpoolctl, "threadpool_limits", lambda **kwargs: calls.append(kwargs))
    monkeypatch.setattr(threads._pool, "blas_set", False)
    monkeypatch.setenv("TINYGRAD_CNN_BLAS_THREADS", "3")
    threads.limit_blas()
    threads.limit_blas()
    assert calls == [{"limits": 3, "user_api": "blas"}]  # once, BLAS only (OpenMP pools belong to others)


def test_the_fork_handler_gives_the_child_a_fresh_pool():
    saved = threads._pool.inboxes, threads._pool.lock, threads._pool.local
    try:
        threads._pool.local.inside = True
        with saved[1]:  # the parent's lock is held at the fork: the child must not inherit it
            threads._after_fork_in_child()
            assert threads._pool.inboxes == [] and threads._pool.inboxes is not saved[0]
            assert threads._pool.lock is not saved[1] and not threads._pool.lock.locked()
            assert not getattr(threads._pool.local, "inside", False)
    finally:
        threads._pool.inboxes, threads._pool.lock, threads._pool.local = saved
        threads._pool.local.inside = False


def test_float32_columns_stay_float32():
    x = RNG.standard_normal((2, 3, 6, 5)).astype(F32)
    assert columns.pad(x, (1, 2)).dtype == F32
    dcols = RNG.standard_normal((3, 2, 2, 5, 4, 2)).astype(F32)
    out = np.empty(x.shape, F32)
    assert columns.col2im(dcols, x.shape, (2, 2), (1, 1), (0, 0), (1, 1), (5, 4), out=out).dtype == F32
    blocks = RNG.standard_normal((2, 12, 28)).astype(F32)
    for padding in ((0, 0), (1, 0)):
        ho = 6 + 2 * padding[0] - 1
        folded = columns.fold(blocks[:, :, :ho * 4], (6, 5), (2, 2), (1, 1), padding, (1, 1), (ho, 4))
        assert folded.dtype == F32 and folded.shape == (2, 3, 6, 5)


@pytest.mark.parametrize("case", [CONVOLVE_CASES[0], CONVOLVE_CASES[2], CONVOLVE_CASES[4]])
@pytest.mark.parametrize("dtypes", [(F32, np.float64), (np.float64, F32)])
def test_mixed_dtype_convolutions_take_numpys_result_dtype(case, dtypes):
    xs, ws, stride, padding, dilation, groups = case
    x, w = RNG.standard_normal(xs).astype(dtypes[0]), RNG.standard_normal(ws).astype(dtypes[1])
    y, _ = convolve.conv2d(x, w, None, stride, padding, dilation, groups, _out_hw(xs, ws, stride, padding, dilation))
    assert y.dtype == np.float64
    np.testing.assert_allclose(y, conv_reference(x, w, None, stride, padding, dilation, groups), rtol=1e-5, atol=1e-5)
    g = RNG.standard_normal(y.shape).astype(dtypes[0])
    gx = convolve.conv2d_input_grad(g, w, xs, stride, padding, dilation, groups)
    assert gx.dtype == np.float64
    np.testing.assert_allclose(gx, conv_input_grad_reference(g, w, xs, stride, padding, dilation, groups),
                               rtol=1e-5, atol=1e-5)


def test_input_grad_as_conv_checks_both_axes_with_their_own_kernel_sizes():
    # height fits, width has a transposed convolution's extra column: not the full correlation
    assert not convolve.input_grad_as_conv((4, 4, 3, 3), (2, 4, 11, 12), (7, 7), (1, 1), (0, 0), (2, 2))
    assert convolve.input_grad_as_conv((4, 4, 3, 3), (2, 4, 11, 11), (7, 7), (1, 1), (0, 0), (2, 2))
    # a 3 x 1 kernel: reach 2 down, 0 across
    assert convolve.input_grad_as_conv((4, 4, 3, 1), (2, 4, 10, 8), (8, 8), (1, 1), (0, 0), (1, 1))
    assert convolve.input_grad_as_conv((4, 4, 3, 1), (2, 4, 8, 8), (8, 8), (1, 1), (1, 0), (1, 1))
