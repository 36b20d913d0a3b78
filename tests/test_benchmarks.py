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
         "maxpool.seed", "cross_entropy", "overhead", "--memory", "--json", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )
    assert run.returncode == 0, run.stderr
    assert "ours/torch" in run.stdout
    result = json.loads(out.read_text())
    cases = result["cases"]
    assert set(cases) == {"seed.train.b128", "conv.seed.conv1", "maxpool.seed.pool", "cross_entropy.b128",
                          "overhead.chain200"}
    for name, row in cases.items():
        assert row["errors"] is None, (name, row["errors"])
        assert row["ours_ms"] > 0 and row["torch_ms"] is None
    memory = result["extras"]["memory.seed.b128"]
    assert memory["peak_bytes"] > 0 and memory["saved_bytes"] > 0
