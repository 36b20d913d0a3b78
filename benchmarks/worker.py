"""One framework's benchmark process: reads case names on stdin, answers one JSON line of timings each.

Each framework runs in its own process, so PyTorch's OpenMP threads and OpenBLAS's threads never compete.
Usage: ``python -m benchmarks.worker {ours,torch} THREADS``.
"""

from __future__ import annotations

import json
import sys
import time


def _time(fn, min_seconds: float, samples: int) -> list[float]:
    """``samples`` timings in ms, each the mean of enough calls to last ``min_seconds``."""
    fn()
    fn()
    start = time.perf_counter()
    fn()
    once = max(time.perf_counter() - start, 1e-6)
    inner = max(1, int(min_seconds / once))
    out = []
    for _ in range(samples):
        start = time.perf_counter()
        for _ in range(inner):
            fn()
        out.append((time.perf_counter() - start) / inner * 1e3)
    return out


def main() -> None:
    framework, threads = sys.argv[1], int(sys.argv[2])
    if framework == "torch":
        import torch

        torch.set_num_threads(threads)
        from .cases import theirs as build
    else:
        from .cases import ours as build
        from .extra import extra_case
    built = {}
    print(json.dumps({"ready": framework}), flush=True)
    for line in sys.stdin:
        request = json.loads(line)
        name = request["case"]
        try:
            if framework == "ours" and name.startswith(("memory.", "epoch.", "graphs.")):
                result = extra_case(name, request)
            else:
                if name not in built:
                    built[name] = build(name)
                times = _time(built[name], request.get("min_seconds", 0.05), request.get("samples", 5))
                result = {"times_ms": times}
        except Exception as err:  # report and go on: one broken case must not hide the others
            result = {"error": f"{type(err).__name__}: {err}"}
        print(json.dumps({"case": name, **result}), flush=True)


if __name__ == "__main__":
    main()
