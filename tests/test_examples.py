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
    tested = {c[0] for c in CASES} | {"pytorch_mnist.py"}  # the last one needs MNIST: tested below
    assert {p.name for p in (ROOT / "examples").glob("*.py")} == tested


IMPORT_BLOCK = ("# ---- the only lines that differ from the PyTorch script ----", "# ---- end of the import block ----")


def test_pytorch_script_differs_from_pytorch_only_in_its_imports():
    text = (ROOT / "examples" / "pytorch_mnist.py").read_text(encoding="utf-8")
    _, rest = text.split(IMPORT_BLOCK[0])
    block, body = rest.split(IMPORT_BLOCK[1])
    assert "tinygrad_cnn" in block and "tinygrad_cnn" not in body
    assert all(line.startswith(("import ", "from ")) for line in block.strip().splitlines())


@pytest.mark.skipif(not MNIST_DIR.is_dir(), reason=f"no MNIST files at {MNIST_DIR} (CI provides them there)")
def test_pytorch_mnist_script_trains_a_few_batches(tmp_path):
    done = subprocess.run([sys.executable, str(ROOT / "examples" / "pytorch_mnist.py"), "--data", str(MNIST_DIR),
                           "--max-batches", "20", "--test-batch-size", "500", "--save-model"],
                          capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    losses = [float(line.split("loss ")[1].split()[0]) for line in done.stdout.splitlines()
              if line.startswith("train epoch")]
    assert len(losses) == 2 and losses[-1] < losses[0], done.stdout
    accuracy = float(done.stdout.split("test set:")[1].split("(")[1].split("%")[0])
    assert accuracy > 50.0, done.stdout  # 20 batches of Adadelta reach ~80-90%; chance is 10%
    assert (tmp_path / "mnist_cnn.pt").is_file()


@pytest.mark.skipif(not MNIST_DIR.is_dir(), reason=f"no MNIST files at {MNIST_DIR} (CI provides them there)")
def test_tutorial_cnn_on_mnist():
    assert "60000 training images x 1 epochs" in run_example("tutorial_cnn.py", ["--data-dir", str(MNIST_DIR)])
