"""The thread policy: our kernels split their batch into chunks run on a small pool of our own threads, and the
BLAS library runs single-threaded inside each.

Why (measured in docs/performance.md): the memory-bound copies of a convolution or a pooling layer (im2col,
col2im, the offset loops) run on one core in NumPy, and a multi-threaded BLAS leaves its threads spinning after
every GEMM, which is what made steps 2 to 18 times slower on a busy machine. A chunk of a few images fits in the
core's cache, so its im2col and GEMM also stay there. NumPy releases the GIL in ufuncs, assignments and BLAS
calls (not in ``copy()``: see ``copy_of``), so the chunks run in parallel; the calling thread takes chunks too,
threads waiting for work sleep (no spinning), and after a stall (a worker descheduled in the middle of a chunk)
the next regions run on the calling thread alone for a while.

``set_num_threads(n)`` / ``get_num_threads()`` (PyTorch's spellings) size the pool; the default is the CPUs this
process may run on, or ``TINYGRAD_CNN_NUM_THREADS`` / ``OMP_NUM_THREADS`` when set. The BLAS thread count is
set to 1 the first time a kernel runs (threadpoolctl), unless ``TINYGRAD_CNN_BLAS_THREADS`` names another count.
Imports only NumPy and threadpoolctl.
"""

from __future__ import annotations

import itertools
import os
import queue
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

#: aim for chunks of about this many bytes of the largest buffer a chunk makes (half a typical 2-4 MB L2 cache)
CHUNK_BYTES = 2 << 20
#: below this many bytes in all, a kernel runs as one chunk on the calling thread (handing off costs ~20 us)
PARALLEL_BYTES = 1 << 20
#: a region whose caller waited this long, and longer than it worked, for a worker's last chunk is a stall
STALL_SECONDS = 5e-4
#: the most regions in a row a stall sends to the calling thread alone (the backoff doubles up to it)
MAX_BACKOFF = 256


def copy_of(view: np.ndarray) -> np.ndarray:
    """A C-contiguous copy of ``view``, made by assignment into a new array: NumPy keeps the GIL during
    ``copy()``, ``ascontiguousarray`` and a copying ``reshape`` of a strided view, but releases it for an
    assignment (measured: two threads copy 1.8x faster this way, 1.0x the other), so chunks copy in parallel."""
    out = np.empty(view.shape, dtype=view.dtype)
    out[...] = view
    return out


def _env_count(name: str) -> int | None:
    """The thread count in environment variable ``name`` (None when unset or empty); ValueError naming it when it is
    not a positive integer."""
    value = os.environ.get(name, "").strip()
    if not value:
        return None
    try:
        count = int(value)
    except ValueError:
        count = 0
    if count < 1:
        raise ValueError(f"tinygrad_cnn: {name}={value!r} must be a positive integer (a thread count); set it to "
                         "e.g. 2, or unset it for the default")
    return count


def _omp_count() -> int | None:
    """OMP_NUM_THREADS read as OpenMP does for the outermost level (the first of a comma-separated list); None when
    unset or not a positive integer (it belongs to other libraries: never an error here)."""
    first = os.environ.get("OMP_NUM_THREADS", "").split(",")[0].strip()
    return int(first) if first.isdigit() and int(first) > 0 else None


def default_threads() -> int:
    """TINYGRAD_CNN_NUM_THREADS, else OMP_NUM_THREADS, else the number of CPUs this process may run on."""
    count = _env_count("TINYGRAD_CNN_NUM_THREADS") or _omp_count()
    if count is not None:
        return count
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


class _Pool:
    """The process's worker threads (started on first parallel use), each waiting on its own queue, and the
    thread count. A waiting worker sleeps in ``SimpleQueue.get`` (no spinning); handing it a task and hearing
    back costs about 5 us, against about 80 us through ``concurrent.futures``."""

    def __init__(self) -> None:
        self.threads = default_threads()
        self.inboxes: list[queue.SimpleQueue] = []
        self.lock = threading.Lock()  # one parallel region at a time hands out the workers
        self.blas_set = False
        self.local = threading.local()  # .inside: this thread is running a chunk (nested calls run serially)
        self.serial_left = 0  # regions still to run on the calling thread alone after a stall
        self.backoff = 1  # how many regions the next stall sends to the calling thread alone

    def resize(self, threads: int) -> None:
        with self.lock:
            for inbox in self.inboxes:
                inbox.put(None)  # the worker returns
            self.inboxes, self.threads = [], threads
            self.serial_left, self.backoff = 0, 1

    def start_workers(self) -> list[queue.SimpleQueue]:
        while len(self.inboxes) < self.threads - 1:
            inbox: queue.SimpleQueue = queue.SimpleQueue()
            threading.Thread(target=_serve, args=(inbox,), name=f"tinygrad_cnn-{len(self.inboxes)}",
                             daemon=True).start()
            self.inboxes.append(inbox)
        return self.inboxes


def _serve(inbox: queue.SimpleQueue) -> None:
    """A worker: run each task from ``inbox`` until it receives None (a task reports its own completion)."""
    _pool.local.inside = True
    while True:
        task = inbox.get()
        if task is None:
            return
        task()


_pool = _Pool()


def _after_fork_in_child() -> None:
    """A forked child (multiprocessing, a DataLoader worker) has none of the parent's worker threads: start afresh."""
    _pool.inboxes, _pool.lock, _pool.local = [], threading.Lock(), threading.local()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def set_num_threads(threads: int) -> None:
    """Run the kernels on ``threads`` threads (the calling one and ``threads - 1`` workers), as torch's.

    TypeError for anything but an int, ValueError for a count below 1 (torch raises RuntimeError there)."""
    if isinstance(threads, bool) or not isinstance(threads, int):
        raise TypeError(f"set_num_threads: the thread count must be an int, got {type(threads).__name__} "
                        f"{threads!r}")
    if threads < 1:
        raise ValueError(f"set_num_threads: the thread count must be at least 1, got {threads}")
    _pool.resize(threads)


def get_num_threads() -> int:
    """How many threads the kernels run on."""
    return _pool.threads


def limit_blas() -> None:
    """Set the BLAS libraries NumPy loaded to TINYGRAD_CNN_BLAS_THREADS threads (default 1), once."""
    if _pool.blas_set:
        return
    _pool.blas_set = True
    count = _env_count("TINYGRAD_CNN_BLAS_THREADS") or 1
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # an install without the dependency: BLAS keeps its own threads
        return
    threadpool_limits(limits=count, user_api="blas")


def chunk_bounds(n: int, item_bytes: int, target: int | None = None) -> list[tuple[int, int]]:
    """Split ``n`` batch items of ``item_bytes`` each into near-equal [start, stop) chunks of about ``target``
    bytes (default ``CHUNK_BYTES``), and at least one per thread when the work is at least ``PARALLEL_BYTES``;
    one chunk for smaller work."""
    target = CHUNK_BYTES if target is None else target
    total = n * item_bytes
    if n <= 1 or total < PARALLEL_BYTES:
        return [(0, n)]
    count = min(n, max(-(-total // max(target, 1)), _pool.threads))
    return [(i * n // count, (i + 1) * n // count) for i in range(count)]


def run_chunks(work: Callable[[int, int], Any], bounds: Sequence[tuple[int, int]]) -> list[Any]:
    """[work(start, stop) for each chunk], the chunks shared between the calling thread and the workers.

    Each thread takes the next chunk not yet taken until none is left, so a thread the machine slows down just
    takes fewer. An exception in any chunk is raised here after all threads stopped. Called from inside a chunk,
    while another thread's region holds the workers, or with one thread or one chunk, it runs the chunks in
    order on the calling thread.

    A busy machine: when the caller finished its chunks and then waited longer for a worker's last one than it
    worked itself (the worker was descheduled in the middle of it: another process has the core), the next
    regions run on the calling thread alone, 1, 2, 4 ... up to ``MAX_BACKOFF`` of them after stalls in a row,
    before the workers are tried again; a region without a stall resets that to 1.
    """
    limit_blas()
    local = _pool.local
    if len(bounds) == 1 or _pool.threads == 1 or getattr(local, "inside", False):
        return [work(start, stop) for start, stop in bounds]
    if _pool.serial_left > 0:
        _pool.serial_left -= 1
        return [work(start, stop) for start, stop in bounds]
    if not _pool.lock.acquire(blocking=False):
        return [work(start, stop) for start, stop in bounds]
    try:
        results: list[Any] = [None] * len(bounds)
        errors: list[BaseException] = []
        taken, completed = itertools.count(), itertools.count(1)  # next() on a count is atomic under the GIL
        finished: queue.SimpleQueue = queue.SimpleQueue()  # receives one item when the last chunk is done

        def drain() -> None:
            i = next(taken)
            while i < len(bounds):
                try:
                    results[i] = work(*bounds[i])
                except BaseException as err:  # raised by the caller once every chunk is done
                    errors.append(err)
                if next(completed) == len(bounds):
                    finished.put(None)
                i = next(taken)

        for inbox in _pool.start_workers()[:len(bounds) - 1]:
            inbox.put(drain)  # a worker that wakes after the last chunk was taken finds nothing and sleeps again
        local.inside = True
        start = time.perf_counter()
        try:
            drain()
        finally:
            local.inside = False
        worked = time.perf_counter()
        finished.get()  # the workers' chunks are done too (no waiting for workers that took none)
        waited = time.perf_counter() - worked
        if waited > STALL_SECONDS and waited > worked - start:
            _pool.serial_left, _pool.backoff = _pool.backoff, min(2 * _pool.backoff, MAX_BACKOFF)
        else:
            _pool.backoff = 1
    finally:
        _pool.lock.release()
    if errors:
        raise errors[0]
    return results
