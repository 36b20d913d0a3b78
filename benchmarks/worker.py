"""One framework's benchmark process: reads case names on stdin, answers one JSON line of timings each.

Each framework runs in its own process, so PyTorch's OpenMP threads and OpenBLAS's threads never compete.
Usage: ``python -m benchmarks.worker {ours,torch} THREADS``.
"""

from __future__ import annotations

import gc
import json
import sys
import time


def _time(fn, min_seconds: float, samples: int) -> tuple[list[float], list[float]]:
    """(``samples`` timings in ms, each the mean of enough calls to last ``min_seconds``; single calls timed one by
    one for about as long, at least 10: their spread shows steps stalled by waiting threads)."""
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
    singles = []
    for _ in range(max(10, min(samples * inner, 2000))):
        start = time.perf_counter()
        fn()
        singles.append((time.perf_counter() - start) * 1e3)
    return out, singles


def thread_policy(framework: str) -> str:
    """What runs on how many threads, as this process has it set."""
    if framework == "torch":
        import torch

        return f"torch intra-op {torch.get_num_threads()}, inter-op {torch.get_num_interop_threads()}"
    from threadpoolctl import threadpool_info

    import tinygrad_cnn as tg
    from tinygrad_cnn.ops.kernels import threads as pool

    pool.limit_blas()
    blas = ", ".join(f"{i['internal_api']} {i['num_threads']}" for i in threadpool_info() if i["user_api"] == "blas")
    frozen = gc.get_freeze_count()  # tinygrad_cnn/_gc.py: full collections skip the objects alive at import
    return (f"tinygrad_cnn kernels {tg.get_num_threads()} (chunks over the batch), BLAS {blas or 'not found'}, "
            f"garbage collector {f'{frozen} import-time objects frozen' if frozen else 'default'}")


def main() -> None:
    framework, threads = sys.argv[1], int(sys.argv[2])
    if framework == "torch":
        import torch

        torch.set_num_threads(threads)
        from .cases import theirs as build
    else:
        import tinygrad_cnn as tg

        tg.set_num_threads(threads)
        from .cases import ours as build
        from .extra import extra_case
    built = {}
    print(json.dumps({"ready": framework, "policy": thread_policy(framework)}), flush=True)
    for line in sys.stdin:
        request = json.loads(line)
        name = request["case"]
        try:
            if framework == "ours" and name.startswith(("memory.", "epoch.", "graphs.")):
                result = extra_case(name, request)
            else:
                if name not in built:
                    built[name] = build(name)
                times, singles = _time(built[name], request.get("min_seconds", 0.05), request.get("samples", 5))
                result = {"times_ms": times, "singles_ms": singles}
        except Exception as err:  # report and go on: one broken case must not hide the others
            result = {"error": f"{type(err).__name__}: {err}"}
        print(json.dumps({"case": name, **result}), flush=True)


if __name__ == "__main__":
    main()
