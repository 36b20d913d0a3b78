"""A smoke run of the benchmark script (short mode, our framework only): it runs and reports numbers.

Speed itself is never asserted in tests; the numbers live in docs/performance.md.
"""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_benchmark_smoke_run(tmp_path):
    out = tmp_path / "bench.json"
    run = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--quick", "--no-torch", "--cases", "seed.train", "conv.seed",
         "maxpool.seed", "cross_entropy", "overhead", "batchnorm2d", "--memory", "--graphs", "--json", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )
    assert run.returncode == 0, run.stderr
    assert "ours/torch" in run.stdout
    result = json.loads(out.read_text())
    cases = result["cases"]
    assert set(cases) == {"seed.train.b128", "conv.seed.conv1", "maxpool.seed.pool", "cross_entropy.b128",
                          "overhead.chain200", "batchnorm2d.train"}
    for name, row in cases.items():
        assert row["errors"] is None, (name, row["errors"])
        assert row["ours_ms"] > 0 and row["torch_ms"] is None
    rows = result["extras"]["graphs.scaling"]["rows"]
    assert [(r["graph"], r["n"]) for r in rows] == [("deep", 1000), ("deep", 10000), ("wide", 1000), ("wide", 10000)]
    assert all(r["forward_s"] > 0 and r["backward_s"] > 0 for r in rows)
    assert "us/node" in run.stdout
    memory = result["extras"]["memory.seed.b128"]
    assert memory["peak_bytes"] > 0 and memory["saved_bytes"] > 0
    assert result["policy"]["ours"].startswith("tinygrad_cnn kernels ")
    assert "thread policy, ours: tinygrad_cnn kernels" in run.stdout
    for row in cases.values():
        assert row["ours_max_over_median"] >= 1.0
    steps = result["extras"]["peak_memory"]["seed.train.b128"]["ours"]
    assert steps["peak_mb"] >= steps["baseline_mb"] > 0 and steps["step_mb"] == steps["peak_mb"] - steps["baseline_mb"]
    assert "peak memory of training steps" in run.stdout


def test_busy_runs_one_competing_process_and_stops_it(tmp_path):
    out = tmp_path / "bench.json"
    run = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--quick", "--no-torch", "--busy", "--cases", "cross_entropy",
         "--json", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )
    assert run.returncode == 0, run.stderr
    result = json.loads(out.read_text())
    assert result["busy"] is True and result["cases"]["cross_entropy.b128"]["ours_ms"] > 0
    line = next(line for line in run.stdout.splitlines() if "machine=busy" in line)
    pid = int(line.split("(pid ")[1].split(")")[0])
    assert not Path(f"/proc/{pid}").exists() or "zombie" in Path(f"/proc/{pid}/status").read_text().lower()
