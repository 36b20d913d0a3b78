"""The command line end to end on small subsets: train writes every artifact, evaluate reads the checkpoint back,
graph draws, and every user error ends in one line on stderr with a non-zero exit code."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tinygrad_cnn import cli, load

MNIST_DIR = Path(__file__).resolve().parents[2] / "shared" / "data" / "mnist"


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    code = cli.main(["train", "--model", "seed", "--dataset", "digits", "--epochs", "2", "--limit", "200",
                     "--quiet", "--out", str(out)])
    assert code == 0
    return out


def test_train_writes_every_artifact(trained):
    for name in ("checkpoint.npz", "metrics.json", "metrics.png"):
        assert (trained / name).stat().st_size > 0
    assert (trained / "graph.svg").exists() or (trained / "graph.dot").exists()
    metrics = json.loads((trained / "metrics.json").read_text())
    assert len(metrics["epochs"]) == 2
    for row in metrics["epochs"]:
        assert {"train_loss", "test_loss", "test_accuracy", "seconds"} <= set(row)
    assert 0.0 <= metrics["test_accuracy"] <= 1.0
    state = load(trained / "checkpoint.npz")
    assert state["meta"]["model"] == "seed" and "conv.weight" in state["model_state"]


def test_evaluate_prints_accuracy_and_confusion(trained, capsys):
    code, out, _ = run(capsys, "evaluate", "--checkpoint", str(trained / "checkpoint.npz"), "--limit", "100")
    assert code == 0
    assert "accuracy" in out and "true\\pred" in out


def test_graph_command(tmp_path, capsys):
    target = tmp_path / "g.dot"
    code, out, _ = run(capsys, "graph", "--model", "lenet5", "--direction", "backward", "-o", str(target))
    assert code == 0 and "Conv2dBackward" in target.read_text() and str(target) in out


@pytest.mark.parametrize("argv, message", [
    (["train", "--dataset", "mnist", "--data-dir", "/nonexistent/folder", "--quiet"], "mnist"),
    (["evaluate", "--checkpoint", "/nonexistent/checkpoint.npz"], "checkpoint"),
    (["graph", "-o", "picture.txt"], ".svg"),
])
def test_user_errors_are_one_line(argv, message, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, _, err = run(capsys, *argv)
    assert code != 0
    assert err.strip().count("\n") == 0 and message in err.lower() and "Traceback" not in err


def test_checkpoint_for_another_model_is_refused(trained, capsys):
    code, _, err = run(capsys, "evaluate", "--checkpoint", str(trained / "checkpoint.npz"), "--model", "lenet5")
    assert code != 0 and "lenet5" in err and err.strip().count("\n") == 0


def test_corrupt_checkpoint_is_refused(tmp_path, capsys):
    bad = tmp_path / "checkpoint.npz"
    bad.write_bytes(b"not a checkpoint at all")
    code, _, err = run(capsys, "evaluate", "--checkpoint", str(bad))
    assert code == 1 and err.startswith("tinygrad-cnn: error:")


def test_bad_argument_exits_with_usage_error(capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["train", "--epochs", "0"])
    assert exit_info.value.code == 2


@pytest.mark.skipif(not MNIST_DIR.is_dir(), reason=f"no MNIST files at {MNIST_DIR} (CI provides them there)")
def test_one_epoch_of_seedcnn_on_mnist_reaches_95_percent(tmp_path):
    out = tmp_path / "mnist"
    assert cli.main(["train", "--model", "seed", "--dataset", "mnist", "--data-dir", str(MNIST_DIR),
                     "--epochs", "1", "--batch-size", "64", "--lr", "0.002", "--quiet", "--out", str(out)]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["test_accuracy"] >= 0.95, metrics


def test_main_job_defaults_reach_97_percent_on_digits(tmp_path):
    """The README's main job (`make demo`): the default settings on the offline digits data."""
    out = tmp_path / "demo"
    assert cli.main(["train", "--model", "seed", "--dataset", "digits", "--quiet", "--out", str(out)]) == 0
    assert json.loads((out / "metrics.json").read_text())["test_accuracy"] >= 0.97

