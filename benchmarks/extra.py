"""Cases measured for this framework alone: peak memory of a training step, memory over many steps, one epoch,
and how forward and backward time grow with the size of deep and wide graphs."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np


def _rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096


def graph_bytes(root) -> int:
    """Bytes of the distinct buffers the graph behind ``root`` holds for its backward pass."""
    from tinygrad_cnn.autograd import Function

    buffers: dict[int, int] = {}

    def add(array) -> None:
        if isinstance(array, np.ndarray):
            base = array
            while base.base is not None and isinstance(base.base, np.ndarray):
                base = base.base
            buffers[id(base)] = base.nbytes

    seen, stack = set(), [root._ctx]
    while stack:
        node = stack.pop()
        if node is None or id(node) in seen:
            continue
        seen.add(id(node))
        for t in node._inputs:
            add(t.data)
        for s in node._saved:
            add(s)
        add(node._out)
        stack.extend(c for c in node.next if isinstance(c, Function))
    return sum(buffers.values())


def _seed_step(batch: int = 128):
    import tinygrad_cnn as tg
    from tinygrad_cnn import models, optim
    from tinygrad_cnn.nn import functional as F

    tg.manual_seed(0)
    model = models.SeedCNN()
    opt = optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    rng = np.random.default_rng(0)
    x = tg.Tensor(rng.standard_normal((batch, 1, 28, 28)).astype(np.float32))
    y = tg.Tensor(rng.integers(0, 10, batch))

    def step():
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()

    return model, x, y, step


def memory_case(steps: int) -> dict:
    import tracemalloc

    from tinygrad_cnn.nn import functional as F

    model, x, y, step = _seed_step()
    step()
    loss = F.cross_entropy(model(x), y)
    saved = graph_bytes(loss)
    grads = sum(p.data.nbytes for p in model.parameters())
    del loss
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    tracemalloc.reset_peak()
    step()
    peak = tracemalloc.get_traced_memory()[1] - before
    tracemalloc.stop()
    rss = []
    for i in range(steps):
        step()
        if i + 1 in (100, steps):
            rss.append(_rss_bytes())
    return {"peak_bytes": peak, "saved_bytes": saved, "grad_bytes": grads,
            "peak_over_need": peak / (saved + grads), "rss_after_100_steps": rss[0],
            f"rss_after_{steps}_steps": rss[-1],
            "rss_growth_bytes": rss[-1] - rss[0]}


def epoch_case(data_dir: str) -> dict:
    import tinygrad_cnn as tg
    from tinygrad_cnn import models, optim
    from tinygrad_cnn.data import MNIST, DataLoader
    from tinygrad_cnn.nn import functional as F

    tg.manual_seed(0)
    if Path(data_dir).is_dir():
        dataset, source = MNIST(data_dir, train=True), "MNIST"
    else:
        rng = np.random.default_rng(0)
        dataset = list(zip(rng.random((60000, 1, 28, 28), dtype=np.float32), rng.integers(0, 10, 60000)))
        source = "synthetic (no MNIST folder)"
    model = models.SeedCNN()
    opt = optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    loader = DataLoader(dataset, batch_size=128, shuffle=True, seed=0)
    start = time.perf_counter()
    for xb, yb in loader:
        opt.zero_grad()
        loss = F.cross_entropy(model(xb), yb)
        loss.backward()
        opt.step()
    return {"seconds": time.perf_counter() - start, "images": len(dataset), "data": source}


def _timed_graph(build, n: int) -> tuple[float, float]:
    """Seconds to build the graph ``build(n)`` (forward) and to run backward through it."""
    import gc

    gc.collect()
    start = time.perf_counter()
    root = build(n)
    built = time.perf_counter()
    root.backward()
    return built - start, time.perf_counter() - built


def graphs_case(sizes: list[int]) -> dict:
    """Forward and backward time of a chain of n Neg ops (deep) and of one node with n consumers (wide: n products
    x * c_i concatenated and summed), for each n; linear time means a flat time per node across n."""
    import tinygrad_cnn as tg

    def deep(n: int):
        y = tg.Tensor(np.array(1.0), requires_grad=True)
        for _ in range(n):
            y = -y
        return y

    def wide(n: int):
        x = tg.Tensor(np.ones(1), requires_grad=True)
        return tg.concatenate([x * float(i) for i in range(n)]).sum()

    rows = []
    for shape, build in (("deep", deep), ("wide", wide)):
        for n in sizes:
            fwd, bwd = _timed_graph(build, n)
            rows.append({"graph": shape, "n": n, "forward_s": fwd, "backward_s": bwd,
                         "us_per_node": (fwd + bwd) / n * 1e6})
    return {"rows": rows}


def extra_case(name: str, request: dict) -> dict:
    if name == "graphs.scaling":
        return graphs_case([int(n) for n in request["sizes"]])
    if name == "memory.seed.b128":
        return memory_case(int(request.get("steps", 1000)))
    if name == "epoch.seed.mnist":
        return epoch_case(request["data_dir"])
    raise KeyError(name)
