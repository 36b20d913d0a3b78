"""Every example runs as a script and prints what it claims (each also asserts its own result)."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MNIST_DIR = ROOT.parent / "shared" / "data" / "mnist"

CASES = [
    ("chain_rule.py", ("f = q * z = -12\n", "df/dx = df/dq * dq/dx = -4\n", "df/dy = df/dq * dq/dy = -4\n",
                       "df/dz = q = 3\n")),
    ("custom_op.py", ("sigmoid(x)",)),
    ("conv_gradient.py", ("dL/dw, by hand", "dL/do, by hand", "both gradients match the formulas")),
    ("binary_classifier.py", ("max |dL/dlogit - (a - y)/N|", "training accuracy", "test accuracy")),
    ("tutorial_cnn.py", ("epoch 5:", "test accuracy")),
    ("lenet5.py", ("LeNet5(", "61706 parameters")),
    ("hessian_vector_product.py", ("max |Hv - finite differences|",)),
]


def run_example(name: str, args: list[str]) -> str:
    done = subprocess.run([sys.executable, str(ROOT / "examples" / name), *args], capture_output=True, text=True,
                          timeout=300, cwd=ROOT)
    assert done.returncode == 0, f"{name} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


@pytest.mark.parametrize("name, expected", CASES, ids=[c[0] for c in CASES])
def test_example_runs(name, expected):
    out = run_example(name, [])
    for text in expected:
        assert text in out, f"{name} did not print {text!r}:\n{out}"


def test_every_example_is_tested():
    assert {p.name for p in (ROOT / "examples").glob("*.py")} == {c[0] for c in CASES}


@pytest.mark.skipif(not MNIST_DIR.is_dir(), reason=f"no MNIST files at {MNIST_DIR} (CI provides them there)")
def test_tutorial_cnn_on_mnist():
    assert "60000 training images x 1 epochs" in run_example("tutorial_cnn.py", ["--data-dir", str(MNIST_DIR)])
