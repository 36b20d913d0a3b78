"""Benchmarks against PyTorch CPU: ``python -m benchmarks`` (or ``tinygrad-cnn bench``).

Each framework runs in its own worker process with the same thread count; the cases alternate between them
(ours, theirs, ours, theirs ...) and the table reports medians and the ratio ours/theirs. Without PyTorch
installed only our numbers are printed. Results also go to a JSON file.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import statistics
import subprocess
import sys
from pathlib import Path

from .cases import case_names

ROOT = Path(__file__).resolve().parents[1]


class Worker:
    """A framework's worker process, fed one case at a time."""

    def __init__(self, framework: str, threads: int) -> None:
        env = dict(os.environ, OMP_NUM_THREADS=str(threads), OPENBLAS_NUM_THREADS=str(threads),
                   MKL_NUM_THREADS=str(threads))
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
        self.framework = framework
        self.process = subprocess.Popen([sys.executable, "-m", "benchmarks.worker", framework, str(threads)],
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env, cwd=ROOT)
        self.policy = self._read().get("policy", "")

    def _read(self) -> dict:
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError(f"the {self.framework} benchmark worker stopped (see its error output above)")
        return json.loads(line)

    def run(self, request: dict) -> dict:
        self.process.stdin.write(json.dumps(request) + "\n")
        self.process.stdin.flush()
        return self._read()

    def close(self) -> None:
        self.process.stdin.close()
        self.process.wait(timeout=30)


def _median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def _print_graph_rows(rows: list[dict]) -> None:
    """The graph-size table: time per node should stay flat as n grows tenfold (linear time)."""
    print(f"{'graph':6s} {'nodes':>9s} {'forward s':>10s} {'backward s':>11s} {'us/node':>8s}")
    for r in rows:
        print(f"{r['graph']:6s} {r['n']:9d} {r['forward_s']:10.3f} {r['backward_s']:11.3f} {r['us_per_node']:8.2f}",
              flush=True)


class Competitor:
    """``--busy``: one CPU-bound process (a Python busy loop) running beside the workers until closed."""

    def __init__(self) -> None:
        self.process = subprocess.Popen([sys.executable, "-c", "while True: pass"])

    def close(self) -> None:
        self.process.kill()
        self.process.wait(timeout=30)


def measure_memory(framework: str, model: str, batch: int, steps: int, threads: int) -> dict:
    """Peak resident memory of ``steps`` training steps in a fresh process (benchmarks/memory.py)."""
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), OPENBLAS_NUM_THREADS=str(threads),
               MKL_NUM_THREADS=str(threads))
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    run = subprocess.run([sys.executable, "-m", "benchmarks.memory", framework, model, str(batch), str(steps),
                          str(threads)], capture_output=True, text=True, env=env, cwd=ROOT, timeout=600)
    if run.returncode != 0:
        return {"error": run.stderr.strip().splitlines()[-1] if run.stderr.strip() else f"exit {run.returncode}"}
    return json.loads(run.stdout.strip().splitlines()[-1])


def _print_memory_rows(rows: dict) -> None:
    print(f"{'peak memory of training steps':32s} {'ours MB':>9s} {'torch MB':>9s} {'ours step':>10s} "
          f"{'torch step':>10s} {'step ratio':>10s}")
    for name, pair in rows.items():
        ours, theirs = pair.get("ours", {}), pair.get("torch", {})
        cells = [ours.get("peak_mb"), theirs.get("peak_mb"), ours.get("step_mb"), theirs.get("step_mb")]
        ratio = cells[2] / cells[3] if cells[2] is not None and cells[3] else None
        text = " ".join(f"{v:9.1f}" if v is not None else f"{'-':>9s}" for v in cells[:2])
        text += " " + " ".join(f"{v:10.1f}" if v is not None else f"{'-':>10s}" for v in [*cells[2:], ratio])
        errors = {fw: r["error"] for fw, r in pair.items() if "error" in r}
        print(f"{name:32s} {text}" + (f"  error: {errors}" if errors else ""), flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run: batch 128 only, one round, few samples")
    parser.add_argument("--rounds", type=int, default=3, help="alternations ours/theirs per case (default 3)")
    parser.add_argument("--threads", type=int, default=2, help="BLAS/OpenMP threads for both frameworks")
    parser.add_argument("--no-torch", action="store_true", help="measure only this framework")
    parser.add_argument("--cases", nargs="*", help="only the cases whose name starts with one of these")
    parser.add_argument("--epoch", action="store_true", help="also time one MNIST epoch of SeedCNN")
    parser.add_argument("--memory", action="store_true",
                        help="also measure peak and long-run memory, and the peak resident memory of training "
                             "steps against PyTorch's (one fresh process per model and framework)")
    parser.add_argument("--busy", action="store_true",
                        help="run one competing CPU-bound process beside the workers for the whole run")
    parser.add_argument("--graphs", action="store_true",
                        help="also time deep and wide graphs of 10^4 to 10^6 nodes (10^3 to 10^4 with --quick)")
    parser.add_argument("--data-dir", default=str(ROOT.parent / "shared" / "data" / "mnist"),
                        help="MNIST folder for --epoch (synthetic data of the same size when absent)")
    parser.add_argument("--json", default=str(ROOT / "bench_results" / "latest.json"), help="where to write results")
    args = parser.parse_args(argv)

    have_torch = not args.no_torch and importlib.util.find_spec("torch") is not None
    rounds = 1 if args.quick else args.rounds
    samples = 3 if args.quick else 7
    names = case_names(quick=args.quick)
    if args.cases:
        names = [n for n in names if n.startswith(tuple(args.cases))]
    competitor = Competitor() if args.busy else None
    try:
        return _run(args, have_torch, rounds, samples, names, competitor)
    finally:
        if competitor is not None:
            competitor.close()


def _run(args, have_torch: bool, rounds: int, samples: int, names: list[str], competitor) -> int:
    workers = {"ours": Worker("ours", args.threads)}
    if have_torch:
        workers["torch"] = Worker("torch", args.threads)
    machine = f"busy: one competing CPU-bound process (pid {competitor.process.pid})" if competitor else "as it is"
    print(f"threads={args.threads}  python {platform.python_version()}  {platform.machine()}  "
          f"torch={'yes' if have_torch else 'not installed'}  rounds={rounds}  machine={machine}", flush=True)
    for fw, worker in workers.items():
        print(f"thread policy, {fw}: {worker.policy}", flush=True)
    results: dict[str, dict] = {}
    header = (f"{'case':28s} {'ours ms':>10s} {'torch ms':>10s} {'ours/torch':>10s} {'ours max/med':>12s} "
              f"{'torch max/med':>13s}")
    print(header + "\n" + "-" * len(header), flush=True)
    for name in names:
        per: dict[str, list[float]] = {fw: [] for fw in workers}
        singles: dict[str, list[float]] = {fw: [] for fw in workers}
        errors = {}
        for _ in range(rounds):
            for fw, worker in workers.items():
                reply = worker.run({"case": name, "samples": samples, "min_seconds": 0.02 if args.quick else 0.05})
                if "error" in reply:
                    errors[fw] = reply["error"]
                else:
                    per[fw].append(_median(reply["times_ms"]))
                    singles[fw].extend(reply.get("singles_ms", []))
        ours_ms, torch_ms = _median(per["ours"]), _median(per.get("torch", []))
        ratio = ours_ms / torch_ms if ours_ms and torch_ms else None
        spread = {fw: max(v) / _median(v) if v else None for fw, v in singles.items()}
        results[name] = {"ours_ms": ours_ms, "torch_ms": torch_ms, "ratio": ratio,
                         "ours_max_over_median": spread["ours"], "torch_max_over_median": spread.get("torch"),
                         "errors": errors or None}
        cells = [f"{v:10.3f}" if v is not None else f"{'-':>10s}" for v in (ours_ms, torch_ms, ratio)]
        cells.append(f"{spread['ours']:12.2f}" if spread["ours"] else f"{'-':>12s}")
        cells.append(f"{spread['torch']:13.2f}" if spread.get("torch") else f"{'-':>13s}")
        print(f"{name:28s} " + " ".join(cells) + (f"  error: {errors}" if errors else ""), flush=True)
    extras = {}
    if args.epoch:
        extras["epoch.seed.mnist"] = workers["ours"].run({"case": "epoch.seed.mnist", "data_dir": args.data_dir})
    if args.memory:
        extras["memory.seed.b128"] = workers["ours"].run({"case": "memory.seed.b128", "steps": 1000})
    if args.graphs:
        sizes = [1_000, 10_000] if args.quick else [10_000, 100_000, 1_000_000]
        extras["graphs.scaling"] = workers["ours"].run({"case": "graphs.scaling", "sizes": sizes})
    for key, value in extras.items():
        if key == "graphs.scaling" and "rows" in value:
            _print_graph_rows(value["rows"])
        else:
            print(f"{key}: {json.dumps({k: v for k, v in value.items() if k != 'case'})}", flush=True)
    for worker in workers.values():
        worker.close()
    if args.memory:  # after the workers stopped: the fresh processes measure alone
        models = ("seed",) if args.quick else ("seed", "lenet5", "resnet8")
        steps = 3 if args.quick else 20
        memory = {f"{m}.train.b128": {fw: measure_memory(fw, m, 128, steps, args.threads) for fw in workers}
                  for m in models}
        extras["peak_memory"] = memory
        _print_memory_rows(memory)
    out = Path(args.json)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"threads": args.threads, "torch": have_torch, "rounds": rounds,
                               "busy": competitor is not None,
                               "policy": {fw: w.policy for fw, w in workers.items()}, "cases": results,
                               "extras": extras}, indent=2))
    print(f"results written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
