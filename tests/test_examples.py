"""Every example runs as a script and prints what it claims (each also asserts its own result)."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MNIST_DIR = ROOT.parent / "shared" / "data" / "mnist"

CASES = [
    ("chain_rule.py", [], "df/dz = q = 3"),
    ("custom_op.py", [], "sigmoid(x)"),
    ("conv_gradient.py", [], "by hand"),
    ("binary_classifier.py", [], "training accuracy"),
    ("tutorial_cnn.py", [], "test accuracy"),
    ("lenet5.py", [], "61706 parameters"),
    ("hessian_vector_product.py", [], "finite differences"),
]


def run_example(name: str, args: list[str]) -> str:
    done = subprocess.run([sys.executable, str(ROOT / "examples" / name), *args], capture_output=True, text=True,
                          timeout=300, cwd=ROOT)
    assert done.returncode == 0, f"{name} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


@pytest.mark.parametrize("name, args, expected", CASES, ids=[c[0] for c in CASES])
def test_example_runs(name, args, expected):
    assert expected in run_example(name, args)


def test_every_example_is_tested():
    assert {p.name for p in (ROOT / "examples").glob("*.py")} == {c[0] for c in CASES}


@pytest.mark.skipif(not MNIST_DIR.is_dir(), reason=f"no MNIST files at {MNIST_DIR} (CI provides them there)")
def test_tutorial_cnn_on_mnist():
    assert "60000 training images x 1 epochs" in run_example("tutorial_cnn.py", [str(MNIST_DIR)])
