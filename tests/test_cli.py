"""The command line end to end on small subsets: train writes every artifact, evaluate reads the checkpoint back,
graph draws, and every user error ends in one line on stderr with a non-zero exit code."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

import tinygrad_cnn as tg
from tinygrad_cnn import cli, load, models, optim, save, training
from tinygrad_cnn.nn import functional as F

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
    assert state["meta"]["shift"] == 2 and state["epoch"] == 2 and "state" in state["optimizer_state"]
    assert state["meta"]["label_smoothing"] == 0.0  # the small CNNs train on plain cross-entropy by default


def test_evaluate_prints_accuracy_and_confusion(trained, capsys):
    """The same 200 test images as training's last evaluation: the same accuracy, and a confusion matrix."""
    code, out, _ = run(capsys, "evaluate", "--checkpoint", str(trained / "checkpoint.npz"), "--limit", "200")
    assert code == 0
    accuracy = json.loads((trained / "metrics.json").read_text())["test_accuracy"]
    assert f"accuracy {100 * accuracy:.2f}%" in out
    lines = out.splitlines()
    header = lines.index(next(line for line in lines if line.startswith("true\\pred")))
    rows = [[int(v) for v in line.split()[1:]] for line in lines[header + 1:header + 11]]
    assert np.array(rows).shape == (10, 10) and np.array(rows).sum() == 200
    assert np.trace(np.array(rows)) == round(accuracy * 200)


def test_graph_command(tmp_path, capsys):
    target = tmp_path / "g.dot"
    code, out, _ = run(capsys, "graph", "--model", "lenet5", "--direction", "backward", "-o", str(target))
    assert code == 0 and "Conv2dBackward" in target.read_text() and str(target) in out


def test_forward_graph_names_parameters(tmp_path, capsys):
    target = tmp_path / "forward.dot"
    code, _, _ = run(capsys, "graph", "--model", "seed", "--direction", "forward", "-o", str(target))
    source = target.read_text()
    assert code == 0 and "conv.weight" in source and "fc2.bias" in source


def test_graph_without_graphviz_draws_the_svg_all_the_same(tmp_path, capsys, monkeypatch):
    from tinygrad_cnn import viz

    monkeypatch.setattr("shutil.which", lambda name: None)  # no `dot` on PATH
    monkeypatch.setattr(viz.dot, "wasm_available", lambda: False)
    code, out, _ = run(capsys, "graph", "-o", str(tmp_path / "g.svg"))
    assert code == 0 and b"<svg" in (tmp_path / "g.svg").read_bytes() and not (tmp_path / "g.dot").exists()
    assert "g.svg was drawn by the built-in layout" in out and "install Graphviz" in out
    code, out, _ = run(capsys, "graph", "-o", str(tmp_path / "g.pdf"))  # PDF needs dot: the DOT text instead
    assert code == 0 and not (tmp_path / "g.pdf").exists() and "digraph" in (tmp_path / "g.dot").read_text()
    lines = [line for line in out.splitlines() if line.strip()]
    assert len(lines) == 1 and "dot -Tpdf" in lines[0]


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


def test_corrupt_checkpoint_is_refused(trained, tmp_path, capsys):
    bad = tmp_path / "checkpoint.npz"
    bad.write_bytes(b"not a checkpoint at all")
    code, _, err = run(capsys, "evaluate", "--checkpoint", str(bad))
    assert code == 1 and err.startswith("tinygrad-cnn: error:") and err.strip().count("\n") == 0
    flipped = bytearray((trained / "checkpoint.npz").read_bytes())
    flipped[len(flipped) // 2] ^= 0xFF
    bad.write_bytes(bytes(flipped))
    code, _, err = run(capsys, "evaluate", "--checkpoint", str(bad))
    assert code == 1 and str(bad) in err and err.strip().count("\n") == 0


def test_checkpoint_whose_weights_do_not_fit_its_model(trained, tmp_path, capsys):
    state = load(trained / "checkpoint.npz")
    state["meta"]["model"] = "lenet5"
    save(state, tmp_path / "mislabelled.npz")
    code, _, err = run(capsys, "evaluate", "--checkpoint", str(tmp_path / "mislabelled.npz"))
    assert code == 1 and "do not fit a 'lenet5' model" in err and err.strip().count("\n") == 0
    save({"weights": state["model_state"]}, tmp_path / "foreign.npz")
    code, _, err = run(capsys, "evaluate", "--checkpoint", str(tmp_path / "foreign.npz"))
    assert code == 1 and "not a checkpoint written by `tinygrad-cnn train`" in err


@pytest.mark.parametrize("argv, message", [
    (["train", "--epochs", "0"], "--epochs: 0 must be at least 1"),
    (["train", "--model", "vgg"], "invalid choice: 'vgg'"),
    (["train", "--lr", "fast"], "'fast' is not a number"),
    (["train", "--shift", "-1"], "-1 must be at least 0"),
    (["train", "--label-smoothing", "1.5"], "expected a number in [0, 1], got 1.5"),
    (["train", "--label-smoothing", "some"], "expected a number in [0, 1], got 'some'"),
    (["graph"], "-o/--output"),
    ([], "required: COMMAND"),
])
def test_bad_arguments_exit_2_with_one_line(argv, message, capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(argv)
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and message in err and err.strip().count("\n") == 0, err


def test_mnist_without_data_dir(capsys):
    code, _, err = run(capsys, "train", "--dataset", "mnist", "--quiet")
    assert code == 2 and "--data-dir" in err and err.strip().count("\n") == 0


def test_train_on_a_small_mnist_folder_with_download_from_a_mirror(tmp_path, monkeypatch, capsys):
    """--download fetches the missing files (here from a file:// mirror, with patched checksums) and trains."""
    from tinygrad_cnn.data import mnist, write_idx

    rng = np.random.default_rng(0)
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    for prefix, n in (("train", 40), ("t10k", 20)):
        write_idx(mirror / f"{prefix}-images-idx3-ubyte.gz", rng.integers(0, 256, (n, 28, 28), dtype=np.uint8), True)
        write_idx(mirror / f"{prefix}-labels-idx1-ubyte.gz", np.arange(n, dtype=np.uint8) % 10, True)
    monkeypatch.setattr(mnist, "FILES", {p.name[:-3]: hashlib.sha256(p.read_bytes()).hexdigest()
                                         for p in mirror.iterdir()})
    monkeypatch.setattr(mnist, "MIRRORS", [mirror.as_uri() + "/"])
    data, out = tmp_path / "data", tmp_path / "out"
    code, printed, err = run(capsys, "train", "--dataset", "mnist", "--data-dir", str(data), "--download", "--epochs",
                           "1", "--quiet", "--out", str(out))
    assert code == 0 and "40 train / 20 test images" in printed, err
    assert len(list(data.glob("*.gz"))) == 4
    assert load(out / "checkpoint.npz")["meta"]["shift"] == 0, "no augmentation by default on mnist"


@pytest.mark.skipif(not MNIST_DIR.is_dir(), reason=f"no MNIST files at {MNIST_DIR} (CI provides them there)")
def test_one_epoch_of_seedcnn_on_mnist_reaches_95_percent(tmp_path, capsys):
    """One epoch over the 60,000 training images with the default settings (about 3 s on an idle 2-core machine);
    evaluate then finds the MNIST folder through the checkpoint's meta and agrees."""
    out = tmp_path / "mnist"
    assert cli.main(["train", "--model", "seed", "--dataset", "mnist", "--data-dir", str(MNIST_DIR),
                     "--epochs", "1", "--quiet", "--out", str(out)]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["test_accuracy"] >= 0.95, metrics
    capsys.readouterr()
    code, printed, _ = run(capsys, "evaluate", "--checkpoint", str(out / "checkpoint.npz"))
    assert code == 0 and f"mnist test (10000 images): accuracy {100 * metrics['test_accuracy']:.2f}%" in printed


def test_main_job_defaults_reach_97_percent_on_digits(tmp_path):
    """The README's main job (`make demo`): the default settings on the offline digits data."""
    out = tmp_path / "demo"
    assert cli.main(["train", "--model", "seed", "--dataset", "digits", "--quiet", "--out", str(out)]) == 0
    assert json.loads((out / "metrics.json").read_text())["test_accuracy"] >= 0.97



def test_train_epoch_passes_label_smoothing_to_the_loss():
    """With label smoothing eps the first step's loss is cross_entropy(logits, y, label_smoothing=eps)."""
    tg.manual_seed(0)
    model = models.SeedCNN()
    x, y = tg.randn(4, 1, 28, 28), tg.tensor([0, 1, 2, 3])
    expected = [F.cross_entropy(model(x), y, label_smoothing=eps).item() for eps in (0.0, 0.3)]
    losses = []
    for eps in (0.0, 0.3):
        snapshot = model.state_dict()
        stats = training.train_epoch(model, [(x, y)], optim.SGD(model.parameters(), lr=0.0), label_smoothing=eps)
        model.load_state_dict(snapshot)
        losses.append(stats.loss)
    assert np.allclose(losses, expected, rtol=1e-6) and losses[1] != losses[0]
