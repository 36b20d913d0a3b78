"""Peak resident memory of training steps, one fresh process per framework and model.

``python -m benchmarks.memory {ours,torch} MODEL BATCH STEPS THREADS`` builds the model, an SGD optimiser and a
batch (the same case as the timed ``MODEL.train.bBATCH``), runs STEPS training steps and prints one JSON line:
the resident set after the set-up (``baseline_mb``), the process's peak resident set (``peak_mb``, from
``getrusage``) and their difference (``step_mb``): the memory the training steps themselves took on top of the
libraries, the model and the data. A fresh process per measurement, because the peak is per process.
"""

from __future__ import annotations

import json
import resource
import sys


def _rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096 / 2**20


def main() -> None:
    framework, model, batch, steps, threads = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
    if framework == "torch":
        import torch

        torch.set_num_threads(threads)
        from .cases import theirs as build
    else:
        import tinygrad_cnn as tg

        tg.set_num_threads(threads)
        from .cases import ours as build
    step = build(f"{model}.train.b{batch}")
    baseline = _rss_mb()
    for _ in range(steps):
        step()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    print(json.dumps({"framework": framework, "model": model, "batch": int(batch), "steps": steps,
                      "baseline_mb": baseline, "peak_mb": peak, "step_mb": peak - baseline}), flush=True)


if __name__ == "__main__":
    main()
