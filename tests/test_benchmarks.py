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
