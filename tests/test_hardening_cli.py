"""The command line under hostile conditions: bad numbers, a broken Graphviz, wrong paths and damaged checkpoints,
a full disk and Ctrl-C. Every case ends in one line (never a traceback) and the documented exit code, and the
output folder holds either the previous run's files, untouched, or a complete new set; never a temporary."""

from __future__ import annotations

import errno
import json
import os
import re
import shutil
import signal
import stat
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tinygrad_cnn import Tensor, cli, load, save, serialization
from tinygrad_cnn.data import DataLoader, random_shift
from tinygrad_cnn.random import manual_seed

ROOT = Path(__file__).resolve().parents[1]
QUICK = ["--epochs", "1", "--limit", "40", "--batch-size", "20", "--quiet"]
HAVE_DOT = shutil.which("dot") is not None


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def one_line(text: str) -> bool:
    return text.strip().count("\n") == 0 and "Traceback" not in text and text.strip() != ""


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every entry of ``folder`` (hidden temporaries included) with its bytes."""
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


@pytest.fixture(scope="module")
def previous(tmp_path_factory) -> dict[str, bytes]:
    """The files of a complete earlier run, to copy into the folder a test's run writes over."""
    out = tmp_path_factory.mktemp("previous")
    assert cli.main(["train", *QUICK, "--seed", "7", "--out", str(out)]) == 0
    return snapshot(out)


def populate(folder: Path, files: dict[str, bytes]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (folder / name).write_bytes(data)
    return folder


def inodes(folder: Path) -> dict[str, int]:
    """The inode of every entry: a file replaced by an identical one still gets a new inode."""
    return {p.name: p.stat().st_ino for p in folder.iterdir()}


# ---- 1. numeric options ---------------------------------------------------------------------------------
@pytest.mark.parametrize("argv, option, allowed", [
    (["train", "--seed", "-1"], "--seed", "from 0 to 4294967295"),
    (["train", "--seed", str(2**32)], "--seed", "from 0 to 4294967295"),
    (["train", "--seed", "1.5"], "--seed", "not an integer"),
    (["graph", "-o", "g.svg", "--seed", "-7"], "--seed", "from 0 to 4294967295"),
    (["train", "--lr", "0"], "--lr", "positive finite number"),
    (["train", "--lr", "-0.1"], "--lr", "positive finite number"),
    (["train", "--lr", "nan"], "--lr", "positive finite number"),
    (["train", "--lr", "inf"], "--lr", "positive finite number"),
    (["train", "--lr", "1e-400"], "--lr", "positive finite number"),  # underflows to 0.0
    (["train", "--batch-size", "0"], "--batch-size", "at least 1"),
    (["graph", "-o", "g.svg", "--batch-size", "-2"], "--batch-size", "at least 1"),
    (["train", "--epochs", "-3"], "--epochs", "at least 1"),
    (["train", "--epochs", "2.5"], "--epochs", "not an integer"),
    (["train", "--limit", "0"], "--limit", "at least 1"),
    (["evaluate", "--checkpoint", "c.npz", "--limit", "-1"], "--limit", "at least 1"),
    (["train", "--shift", "28"], "--shift", "at most 27"),
    (["train", "--shift", "-1"], "--shift", "at least 0"),
    (["train", "--label-smoothing", "nan"], "--label-smoothing", "[0, 1]"),
    (["train", "--label-smoothing", "-0.1"], "--label-smoothing", "[0, 1]"),
])
def test_a_bad_number_is_a_one_line_usage_error_naming_the_option_and_range(argv, option, allowed, capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(argv)
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and one_line(err), err
    assert f"argument {option}" in err and allowed in err, err


@pytest.mark.parametrize("seed", [0, 1, cli.SEED_MAX])
def test_every_accepted_seed_seeds_every_generator(seed):
    """The ends of the --seed range are accepted by the parser and by everything the seed reaches."""
    args = cli.build_parser().parse_args(["train", "--seed", str(seed)])
    assert args.seed == seed
    manual_seed(args.seed)
    random_shift(2, seed=args.seed)
    assert len(list(DataLoader(list(range(4)), 2, shuffle=True, seed=args.seed))) == 2


# ---- 2. a broken Graphviz -----------------------------------------------------------------------------
FAKE_DOTS = {
    "fails": ('#!/bin/sh\necho "Error: <stdin>: syntax error in line 1" >&2\nexit 3\n', "exit code 3: Error"),
    "crashes": ("#!/bin/sh\nkill -SEGV $$\n", "killed by SIGSEGV"),
    "hangs": ("#!/bin/sh\nexec sleep 30\n", "did not finish within 0.5 s"),
    "silent": ("#!/bin/sh\ncat > /dev/null\nexit 0\n", "wrote no svg output"),
    "unstartable": ("#!/nonexistent/interpreter\n", "could not be started"),
}


@pytest.fixture
def fake_dot(tmp_path, monkeypatch):
    """Install a fake ``dot`` of the given behaviour first on PATH."""
    def install(kind: str) -> str:
        folder = tmp_path / f"bin-{kind}"
        folder.mkdir()
        script, expected = FAKE_DOTS[kind]
        (folder / "dot").write_text(script)
        (folder / "dot").chmod(0o755)
        monkeypatch.setenv("PATH", f"{folder}{os.pathsep}{os.environ.get('PATH', '')}")
        monkeypatch.setattr(cli, "DOT_TIMEOUT", 0.5)
        monkeypatch.setattr(cli.viz.dot, "wasm_available", lambda: False)  # the fallback: the built-in layout
        assert shutil.which("dot") == str(folder / "dot")
        return expected
    return install


pytestmark_posix = pytest.mark.skipif(os.name != "posix", reason="the fake dot programs are shell scripts")


@pytestmark_posix
@pytest.mark.parametrize("kind", sorted(FAKE_DOTS))
def test_graph_with_a_broken_dot_draws_the_svg_with_the_fallback_and_says_why(kind, fake_dot, tmp_path, capsys):
    expected = fake_dot(kind)
    target = tmp_path / "pictures" / "g.svg"
    code, _, err = run(capsys, "graph", "--model", "seed", "-o", str(target))
    assert code == 0 and one_line(err), err
    assert expected in err and "g.svg was drawn by the built-in layout" in err and "run this command again" in err
    assert b"<svg" in target.read_bytes() and b"Conv2dBackward" in target.read_bytes()
    assert sorted(p.name for p in target.parent.iterdir()) == ["g.svg"]  # no temporary left


@pytestmark_posix
def test_png_with_a_broken_dot_writes_the_dot_text_and_says_why(fake_dot, tmp_path, capsys):
    expected = fake_dot("fails")
    target = tmp_path / "g.png"
    code, _, err = run(capsys, "graph", "--model", "seed", "-o", str(target))
    assert code == 0 and one_line(err) and expected in err and "g.dot only" in err, err
    assert f"dot -Tpng {target.with_suffix('.dot')} -o {target}" in err
    assert not target.exists() and target.with_suffix(".dot").read_text().startswith("digraph")


@pytestmark_posix
def test_train_with_a_broken_dot_writes_every_other_file_and_drops_the_stale_svg(fake_dot, previous, tmp_path,
                                                                                 capsys):
    fake_dot("fails")
    out = populate(tmp_path / "run", previous)
    before = inodes(out)
    code, printed, err = run(capsys, "train", *QUICK, "--out", str(out))
    assert code == 0 and one_line(err) and "exit code 3" in err and "drawn by the built-in layout" in err, err
    assert f"dot -Tsvg {out / 'graph.dot'} -o {out / 'graph.svg'}" in err
    assert sorted(p.name for p in out.iterdir()) == ["checkpoint.npz", "graph.dot", "graph.html", "graph.svg",
                                                     "metrics.json", "metrics.png"]
    assert (out / "graph.dot").read_bytes() != b"" and load(out / "checkpoint.npz")["meta"]["seed"] == 0
    assert b"<svg" in (out / "graph.svg").read_bytes() and (out / "graph.svg").read_bytes() != previous["graph.svg"]
    assert "wrote checkpoint.npz, metrics.json, metrics.png, graph.dot, graph.svg, graph.html to" in printed
    assert all(inodes(out)[name] != before[name] for name in inodes(out))  # every one replaced


@pytest.mark.skipif(not HAVE_DOT, reason="needs Graphviz's dot")
def test_train_with_a_working_dot_writes_both_the_svg_and_the_dot_text(previous):
    assert b"<svg" in previous["graph.svg"] and previous["graph.dot"].startswith(b"digraph")
    assert previous["metrics.png"].startswith(b"\x89PNG\r\n\x1a\n")


# ---- 3. paths and checkpoints ---------------------------------------------------------------------------
def test_out_naming_a_file_or_a_path_through_a_file_is_a_usage_error(tmp_path, capsys):
    blocker = tmp_path / "notes.txt"
    blocker.write_text("mine")
    code, _, err = run(capsys, "train", *QUICK, "--out", str(blocker))
    assert code == 2 and one_line(err) and f"--out {blocker} is a file, not a folder" in err
    code, _, err = run(capsys, "train", *QUICK, "--out", str(blocker / "run"))
    assert code == 2 and one_line(err) and f"because {blocker} is a file" in err
    (tmp_path / "run" / "metrics.json").mkdir(parents=True)
    code, _, err = run(capsys, "train", *QUICK, "--out", str(tmp_path / "run"))
    assert code == 2 and one_line(err) and "holds a folder named metrics.json" in err
    assert blocker.read_text() == "mine"


def test_graph_output_naming_a_folder_is_a_usage_error(tmp_path, capsys):
    (tmp_path / "g.svg").mkdir()
    code, _, err = run(capsys, "graph", "-o", str(tmp_path / "g.svg"))
    assert code == 2 and one_line(err) and "is a folder" in err


def test_evaluate_on_a_folder_points_at_the_checkpoint_inside(previous, tmp_path, capsys):
    run_dir = populate(tmp_path / "run", previous)
    code, _, err = run(capsys, "evaluate", "--checkpoint", str(run_dir))
    inside = run_dir / "checkpoint.npz"
    assert code == 2 and one_line(err) and f"is a folder, not a checkpoint file; pass {inside}" in err
    code, _, err = run(capsys, "evaluate", "--checkpoint", str(tmp_path))
    assert code == 2 and one_line(err) and "is a folder" in err and "written by `tinygrad-cnn train`" in err
    code, _, err = run(capsys, "evaluate", "--checkpoint", str(tmp_path / "nothing.npz"))
    assert code == 2 and one_line(err) and "no such file" in err


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
def test_evaluate_on_a_pipe_is_refused_without_reading_it(tmp_path, capsys):
    os.mkfifo(tmp_path / "pipe")
    code, _, err = run(capsys, "evaluate", "--checkpoint", str(tmp_path / "pipe"))
    assert code == 2 and one_line(err) and "not a regular file" in err


def test_an_unreadable_checkpoint_is_a_failure_naming_the_file(previous, tmp_path, capsys, monkeypatch):
    path = populate(tmp_path / "run", previous) / "checkpoint.npz"

    def denied(p, *args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied", str(p))
    monkeypatch.setattr(serialization, "load", denied)
    code, _, err = run(capsys, "evaluate", "--checkpoint", str(path))
    assert code == 1 and one_line(err) and f"--checkpoint {path} cannot be read (Permission denied" in err


@pytest.mark.parametrize("state, message", [
    ({"meta": {"model": "vgg"}, "model_state": {}}, "a model named 'vgg'"),
    ({"meta": {"model": ["seed"]}, "model_state": {}}, "a model named ['seed']"),
    ({"meta": {"model": "seed", "dataset": 5}, "model_state": {}}, "dataset 5"),
    ({"meta": {"model": "seed", "interrupted": "yes"}, "model_state": {}}, "interrupted='yes'"),
    ({"meta": {"model": "seed"}, "model_state": [1, 2]}, "not a checkpoint written by `tinygrad-cnn train`"),
    ({"meta": "seed", "model_state": {}}, "not a checkpoint written by `tinygrad-cnn train`"),
    ([1, 2, 3], "not a checkpoint written by `tinygrad-cnn train`"),
    ({"meta": {"model": "seed"}, "model_state": {"conv.weight": 3}}, "do not fit a 'seed' model"),
])
def test_a_checkpoint_of_the_wrong_kind_is_a_failure_naming_it(state, message, tmp_path, capsys):
    path = tmp_path / "foreign.npz"
    save(state, path)
    code, _, err = run(capsys, "evaluate", "--checkpoint", str(path))
    assert code == 1 and one_line(err) and message in err and str(path) in err, err


@pytest.mark.parametrize("damage", ["truncate", "empty", "flip"])
def test_a_damaged_checkpoint_is_a_failure_naming_it(damage, previous, tmp_path, capsys):
    data = previous["checkpoint.npz"]
    path = tmp_path / "checkpoint.npz"
    path.write_bytes({"truncate": data[: len(data) // 3], "empty": b"",
                      "flip": data[:1000] + bytes([data[1000] ^ 1]) + data[1001:]}[damage])
    code, _, err = run(capsys, "evaluate", "--checkpoint", str(path))
    assert code == 1 and one_line(err) and err.startswith("tinygrad-cnn: error:") and str(path) in err, err


def test_evaluate_says_when_the_recorded_mnist_folder_is_gone(previous, tmp_path, capsys):
    state = load(populate(tmp_path / "run", previous) / "checkpoint.npz")
    state["meta"].update(dataset="mnist", data_dir=str(tmp_path / "gone"))
    save(state, tmp_path / "moved.npz")
    code, _, err = run(capsys, "evaluate", "--checkpoint", str(tmp_path / "moved.npz"))
    assert code == 2 and one_line(err) and str(tmp_path / "gone") in err and "pass --data-dir" in err, err


@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning", "ignore:invalid value:RuntimeWarning")
def test_a_diverged_run_writes_strict_json(tmp_path, capsys):
    """A loss that overflows to NaN is null in metrics.json, which a strict JSON parser reads."""
    out = tmp_path / "run"
    code, printed, _ = run(capsys, "train", *QUICK, "--lr", "1e30", "--optimizer", "sgd", "--out", str(out))
    assert code == 0 and "train loss nan" in printed

    def refuse(constant):
        raise ValueError(f"not JSON: {constant}")
    metrics = json.loads((out / "metrics.json").read_text(), parse_constant=refuse)
    assert metrics["epochs"][0]["train_loss"] is None and 0 <= metrics["test_accuracy"] <= 1


# ---- 4. a full disk ---------------------------------------------------------------------------------
class _FullDisk:
    """``os.fdopen`` whose files raise ENOSPC once ``budget`` bytes have been written (over all files)."""

    def __init__(self, budget: int, on_first_write=None) -> None:
        self.budget, self.on_first_write, self.real = budget, on_first_write, os.fdopen

    def __call__(self, *args, **kwargs):
        disk, file = self, self.real(*args, **kwargs)

        class Limited:
            def write(self, data) -> int:
                if disk.on_first_write is not None:
                    disk.on_first_write, hook = None, disk.on_first_write
                    hook()
                room = min(len(data), disk.budget)
                if room < len(data):
                    file.write(bytes(data)[:room])
                    disk.budget = 0
                    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
                disk.budget -= room
                return file.write(data)

            def __getattr__(self, name):
                return getattr(file, name)

            def __enter__(self):
                return self

            def __exit__(self, *exc):
                return file.__exit__(*exc)

        return Limited()


@pytest.mark.parametrize("budget", [0, 5_000, 150_000, 240_000, 275_000])
def test_a_full_disk_leaves_the_previous_run_intact(budget, previous, tmp_path, capsys, monkeypatch):
    """The disk fills inside the checkpoint, the metrics, the plot or the graph: exit code 1, one line, and the
    folder byte for byte as before (no temporary)."""
    out = populate(tmp_path / "run", previous)
    before = inodes(out)
    monkeypatch.setattr(os, "fdopen", _FullDisk(budget))
    code, _, err = run(capsys, "train", *QUICK, "--out", str(out))
    monkeypatch.undo()
    assert code == 1 and one_line(err), err
    assert "No space left on device" in err and "nothing there was changed" in err, err
    assert snapshot(out) == previous and inodes(out) == before


@pytest.mark.parametrize("failing", [1, 3, 5, 6])
def test_a_full_disk_found_by_fsync_leaves_the_previous_run_intact(failing, previous, tmp_path, capsys,
                                                                   monkeypatch):
    """Some file systems report a full disk only when the data is flushed: the first fsync of the n-th file
    written fails (of six: the checkpoint, metrics.json, metrics.png, graph.dot, graph.svg, graph.html)."""
    out = populate(tmp_path / "run", previous)
    before = inodes(out)
    real, files = os.fsync, []

    def fsync(fd):
        info = os.fstat(fd)
        if stat.S_ISREG(info.st_mode) and (info.st_dev, info.st_ino) not in files:
            files.append((info.st_dev, info.st_ino))
            if len(files) == failing:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real(fd)
    monkeypatch.setattr(os, "fsync", fsync)
    code, _, err = run(capsys, "train", *QUICK, "--out", str(out))
    monkeypatch.undo()
    assert code == 1 and one_line(err) and "No space left on device" in err, err
    assert snapshot(out) == previous and inodes(out) == before


def test_a_full_disk_in_a_new_folder_removes_the_folder(tmp_path, capsys, monkeypatch):
    out = tmp_path / "new" / "run"
    monkeypatch.setattr(os, "fdopen", _FullDisk(1000))
    code, _, err = run(capsys, "train", *QUICK, "--out", str(out))
    monkeypatch.undo()
    assert code == 1 and one_line(err) and "was removed again" in err
    assert list(tmp_path.iterdir()) == []


# ---- 5. Ctrl-C ---------------------------------------------------------------------------------------
THREE_EPOCHS = ["--epochs", "3", "--limit", "40", "--batch-size", "20", "--quiet"]  # two batches per epoch


def same(a, b) -> bool:
    """Exact equality of (nested) state: arrays bit for bit, with their dtypes."""
    if isinstance(a, Tensor) or isinstance(b, Tensor):
        return isinstance(a, Tensor) and isinstance(b, Tensor) and same(a.numpy(), b.numpy())
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return (isinstance(a, np.ndarray) and isinstance(b, np.ndarray) and a.dtype == b.dtype
                and np.array_equal(a, b, equal_nan=True))
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return isinstance(b, (list, tuple)) and len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    return type(a) is type(b) and a == b


class Recorder:
    """Wraps ``cli.train_epoch`` and ``cli.evaluate``: records the initial weights, the optimiser's state after
    each epoch's training, the weights each evaluation saw, and raises KeyboardInterrupt after ``stop_after``
    batches (counted over the run), recording the live weights at that moment."""

    def __init__(self, monkeypatch, stop_after: int | None = None) -> None:
        self.stop_after, self.batches = stop_after, 0
        self.initial: dict | None = None
        self.optimizer_after: list[dict] = []
        self.evaluated: list[dict] = []
        self.live: dict | None = None
        real_train, real_evaluate = cli.train_epoch, cli.evaluate

        def train_epoch(model, loader, optimizer, on_batch, **kwargs):
            if self.initial is None:
                self.initial = model.state_dict()

            def counting(loss, n):
                on_batch(loss, n)
                self.batches += 1
                if self.batches == self.stop_after:
                    self.live = model.state_dict()
                    raise KeyboardInterrupt
            stats = real_train(model, loader, optimizer, counting, **kwargs)
            self.optimizer_after.append(optimizer.state_dict())
            return stats

        def evaluate(model, loader, *args):
            self.evaluated.append(model.state_dict())
            return real_evaluate(model, loader, *args)
        monkeypatch.setattr(cli, "train_epoch", train_epoch)
        monkeypatch.setattr(cli, "evaluate", evaluate)


def test_ctrl_c_in_a_later_epoch_writes_the_state_at_the_end_of_the_last_completed_one(previous, tmp_path, capsys,
                                                                                       monkeypatch):
    """KeyboardInterrupt after the first batch of epoch 2 of 3: the checkpoint holds exactly the weights the
    epoch-1 evaluation used and the optimiser state after epoch 1 (not the live state one step later), the
    metrics hold epoch 1 only, the meta says interrupted, and the whole set replaced the previous one."""
    out = populate(tmp_path / "run", previous)
    before = inodes(out)
    record = Recorder(monkeypatch, stop_after=3)
    code, printed, err = run(capsys, "train", *THREE_EPOCHS, "--out", str(out))
    assert code == 130 and one_line(err), err
    written = ", ".join(sorted(previous, key=cli.ARTIFACTS.index))
    assert f"interrupted in epoch 2/3: wrote {written} for the 1 completed epoch to {out}" in err, err
    assert "epoch 1/3:" in printed and "epoch 2/3:" not in printed
    assert sorted(p.name for p in out.iterdir()) == sorted(previous)  # no temporary
    assert all(inodes(out)[name] != before[name] for name in before)  # every file replaced

    state = load(out / "checkpoint.npz")
    assert len(record.evaluated) == 1 and len(record.optimizer_after) == 1
    assert same(state["model_state"], record.evaluated[0])
    assert not same(state["model_state"], record.initial) and not same(state["model_state"], record.live)
    assert same(state["optimizer_state"], record.optimizer_after[0])
    assert state["epoch"] == 1
    meta = state["meta"]
    assert meta["epochs"] == 1 and meta["planned_epochs"] == 3 and meta["interrupted"] is True
    metrics = json.loads((out / "metrics.json").read_text())
    assert [row["epoch"] for row in metrics["epochs"]] == [1] and metrics["interrupted"] is True
    assert meta["test_accuracy"] == metrics["test_accuracy"] == metrics["epochs"][0]["test_accuracy"]

    # the checkpoint loads, and evaluates to exactly what epoch 1 measured on the same images
    model, loaded_meta = cli.load_checkpoint(str(out / "checkpoint.npz"), "seed")
    assert loaded_meta["interrupted"] is True and same(model.state_dict(), record.evaluated[0])
    monkeypatch.undo()
    result = cli.evaluate(model, DataLoader(cli.load_dataset("digits", False, None, limit=40), 500))
    assert result.loss == metrics["epochs"][0]["test_loss"] and result.accuracy == meta["test_accuracy"]
    code, printed, _ = run(capsys, "evaluate", "--checkpoint", str(out / "checkpoint.npz"), "--limit", "40")
    assert code == 0 and "is from an interrupted run: 1 of its 3 planned epochs were completed" in printed
    assert f"accuracy {100 * meta['test_accuracy']:.2f}%" in printed


def test_a_complete_run_says_it_was_not_interrupted(previous, tmp_path):
    state = load(populate(tmp_path / "run", previous) / "checkpoint.npz")
    assert state["meta"]["interrupted"] is False and state["meta"]["epochs"] == state["meta"]["planned_epochs"] == 1
    assert json.loads(previous["metrics.json"])["interrupted"] is False


def test_evaluate_of_a_complete_run_does_not_mention_an_interruption(previous, tmp_path, capsys):
    path = populate(tmp_path / "run", previous) / "checkpoint.npz"
    code, printed, _ = run(capsys, "evaluate", "--checkpoint", str(path), "--limit", "40")
    assert code == 0 and "interrupted" not in printed and "accuracy" in printed


@pytest.mark.parametrize("fresh", [False, True])
def test_ctrl_c_in_the_first_epoch_writes_nothing(fresh, previous, tmp_path, capsys, monkeypatch):
    """No epoch complete: nothing to keep; the previous files stay (or the folder made for the run goes)."""
    out = tmp_path / "run" if fresh else populate(tmp_path / "run", previous)
    before = {} if fresh else inodes(out)
    Recorder(monkeypatch, stop_after=2)  # the last batch of epoch 1, before its evaluation
    code, printed, err = run(capsys, "train", *THREE_EPOCHS, "--out", str(out))
    assert code == 130 and one_line(err), err
    assert "interrupted in epoch 1/3: nothing was written, as no epoch was complete" in err, err
    assert "epoch 1/3:" not in printed
    if fresh:
        assert "was removed again" in err and not out.exists()
    else:
        assert "keeps the previous run's files" in err
        assert snapshot(out) == previous and inodes(out) == before


def test_ctrl_c_during_the_evaluation_keeps_the_previous_epoch(tmp_path, capsys, monkeypatch):
    """Ctrl-C while epoch 2 is being evaluated: epoch 2 is not complete, so epoch 1 is written."""
    out = tmp_path / "run"
    record = Recorder(monkeypatch)
    real = cli.evaluate

    def evaluate(model, loader, *args):
        if len(record.evaluated) == 1:
            raise KeyboardInterrupt
        return real(model, loader, *args)
    monkeypatch.setattr(cli, "evaluate", evaluate)
    code, _, err = run(capsys, "train", *THREE_EPOCHS, "--out", str(out))
    assert code == 130 and "interrupted in epoch 2/3: wrote" in err and "for the 1 completed epoch" in err, err
    state = load(out / "checkpoint.npz")
    assert state["meta"]["epochs"] == 1 and same(state["model_state"], record.evaluated[0])
    assert len(record.optimizer_after) == 2  # epoch 2 was trained, and is not what was saved
    assert not same(state["optimizer_state"], record.optimizer_after[1])


def test_ctrl_c_between_an_epochs_metrics_and_its_snapshot_keeps_the_previous_epoch(tmp_path, capsys,
                                                                                     monkeypatch):
    """Ctrl-C lands after epoch 2's row is recorded but before its state is copied: epoch 2 does not count, and
    metrics.json holds only the epoch whose state is saved."""
    out = tmp_path / "run"
    record = Recorder(monkeypatch)
    real, made = cli.Completed, []

    def completed(*args, **kwargs):
        if made:
            raise KeyboardInterrupt
        made.append(real(*args, **kwargs))
        return made[-1]
    monkeypatch.setattr(cli, "Completed", completed)
    code, _, err = run(capsys, "train", *THREE_EPOCHS, "--out", str(out))
    assert code == 130 and "interrupted in epoch 2/3: wrote" in err and "for the 1 completed epoch" in err, err
    metrics = json.loads((out / "metrics.json").read_text())
    assert [row["epoch"] for row in metrics["epochs"]] == [1]
    assert same(load(out / "checkpoint.npz")["model_state"], record.evaluated[0])


def test_ctrl_c_right_after_an_epoch_keeps_that_epoch(tmp_path, capsys, monkeypatch):
    """Ctrl-C as epoch 1's line is printed (its state is already copied): epoch 1 is kept, said as "after"."""
    out = tmp_path / "run"
    record = Recorder(monkeypatch)
    real = print

    def printing(*args, **kwargs):
        if args and str(args[0]).startswith("epoch 1/3:"):
            raise KeyboardInterrupt
        real(*args, **kwargs)
    monkeypatch.setattr("builtins.print", printing)
    code, _, err = run(capsys, "train", *THREE_EPOCHS, "--out", str(out))
    assert code == 130 and one_line(err), err
    assert "interrupted after epoch 1/3: wrote" in err and "for the 1 completed epoch" in err, err
    assert same(load(out / "checkpoint.npz")["model_state"], record.evaluated[0])


def test_ctrl_c_while_drawing_writes_the_complete_run_without_the_picture(previous, tmp_path, capsys, monkeypatch):
    """Every epoch done, Ctrl-C reaches ``dot`` (here: every time, so also when the set is drawn again): the set
    is written with graph.dot only, the older graph.svg is removed, and the meta says the run was complete."""
    out = populate(tmp_path / "run", previous)
    before = inodes(out)

    def interrupted(source, fmt="svg", timeout=None):
        raise KeyboardInterrupt
    monkeypatch.setattr(cli.viz.dot, "run_dot", interrupted)
    code, printed, err = run(capsys, "train", *QUICK, "--out", str(out))
    assert code == 130 and one_line(err), err
    assert ("interrupted while drawing the plot and the graph: wrote checkpoint.npz, metrics.json, metrics.png, "
            f"graph.dot, graph.html for the 1 completed epoch to {out}") in err, err
    assert "Ctrl-C stopped Graphviz's `dot`" in printed and "graph.svg was removed" in printed
    assert sorted(p.name for p in out.iterdir()) == ["checkpoint.npz", "graph.dot", "graph.html", "metrics.json",
                                                     "metrics.png"]
    assert all(inodes(out)[name] != before[name] for name in inodes(out))
    meta = load(out / "checkpoint.npz")["meta"]
    assert meta["interrupted"] is False and meta["epochs"] == 1 and meta["seed"] == 0


@pytest.mark.skipif(not hasattr(signal, "SIGINT") or os.name != "posix", reason="needs POSIX signals")
def test_ctrl_c_while_writing_is_held_back_until_the_set_is_complete(previous, tmp_path, capsys, monkeypatch):
    """SIGINT arrives as the first byte is written: every file is still written in full, then the run stops with
    130 and says so."""
    out = populate(tmp_path / "run", previous)
    before = inodes(out)
    monkeypatch.setattr(os, "fdopen", _FullDisk(10**9, on_first_write=lambda: os.kill(os.getpid(), signal.SIGINT)))
    code, _, err = run(capsys, "train", *QUICK, "--out", str(out))
    monkeypatch.undo()
    assert code == 130 and one_line(err) and "they were completed first" in err, err
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    written = snapshot(out)
    assert sorted(written) == sorted(previous) and written != previous
    assert all(inodes(out)[name] != before[name] for name in before)  # every one replaced
    assert load(out / "checkpoint.npz")["meta"]["seed"] == 0  # the new run's (the previous one used seed 7)


@pytest.mark.skipif(not hasattr(signal, "SIGINT") or os.name != "posix", reason="needs POSIX signals")
def test_a_second_ctrl_c_while_the_completed_epochs_are_written_is_held_back(previous, tmp_path, capsys,
                                                                             monkeypatch):
    """Ctrl-C in epoch 2, then a real SIGINT as the first byte of the saved set is written: the set is finished
    first (exit 130, and the line says a second Ctrl-C was held back)."""
    out = populate(tmp_path / "run", previous)
    before = inodes(out)
    record = Recorder(monkeypatch, stop_after=3)
    monkeypatch.setattr(os, "fdopen", _FullDisk(10**9, on_first_write=lambda: os.kill(os.getpid(), signal.SIGINT)))
    code, _, err = run(capsys, "train", *THREE_EPOCHS, "--out", str(out))
    monkeypatch.undo()
    assert code == 130 and one_line(err), err
    assert "for the 1 completed epoch" in err and "a second Ctrl-C was held back until they were complete" in err
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    assert sorted(p.name for p in out.iterdir()) == sorted(previous)
    assert all(inodes(out)[name] != before[name] for name in before)
    assert same(load(out / "checkpoint.npz")["model_state"], record.evaluated[0])


def test_a_full_disk_while_the_completed_epochs_are_written_changes_nothing(previous, tmp_path, capsys,
                                                                            monkeypatch):
    out = populate(tmp_path / "run", previous)
    before = inodes(out)
    Recorder(monkeypatch, stop_after=3)
    monkeypatch.setattr(os, "fdopen", _FullDisk(150_000))
    code, _, err = run(capsys, "train", *THREE_EPOCHS, "--out", str(out))
    monkeypatch.undo()
    assert code == 1 and one_line(err), err
    assert ("interrupted in epoch 2/3, and could not write the 1 completed epoch to" in err
            and "No space left on device" in err and "keeps the previous run's files" in err), err
    assert snapshot(out) == previous and inodes(out) == before


def check_run_folder(out: Path, message: str) -> int:
    """The folder holds one consistent interrupted run, as ``message`` (the printed line) describes; returns
    its number of completed epochs."""
    found = re.search(r"wrote (.+) for the (\d+) completed epochs? to (.+)$", message.strip())
    assert found and Path(found[3]) == out, message
    done = int(found[2])
    assert sorted(found[1].split(", ")) == sorted(p.name for p in out.iterdir())  # nothing else, no temporary
    state = load(out / "checkpoint.npz")
    metrics = json.loads((out / "metrics.json").read_text())
    assert state["epoch"] == state["meta"]["epochs"] == done >= 1 and state["meta"]["interrupted"] is True
    assert [row["epoch"] for row in metrics["epochs"]] == list(range(1, done + 1))
    assert state["meta"]["test_accuracy"] == metrics["test_accuracy"] == metrics["epochs"][-1]["test_accuracy"]
    model, _ = cli.load_checkpoint(str(out / "checkpoint.npz"))
    result = cli.evaluate(model, DataLoader(cli.load_dataset("digits", False, None, limit=40), 500))
    assert result.loss == metrics["epochs"][-1]["test_loss"]  # the saved weights are the last evaluated ones
    return done


def interrupt_training(out: Path, wait_for: str) -> tuple[int, str]:
    """Start a 1000-epoch run into ``out``, send SIGINT once a line starting with ``wait_for`` is out."""
    proc = subprocess.Popen([sys.executable, "-m", "tinygrad_cnn", "train", "--epochs", "1000", "--limit", "40",
                             "--batch-size", "20", "--quiet", "--out", str(out)], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        for line in proc.stdout:
            if line.startswith(wait_for):
                break
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    return proc.returncode, err


@pytest.mark.skipif(os.name != "posix", reason="needs POSIX signals")
@pytest.mark.parametrize("wait_for", ["training ", "epoch 1/"])
def test_sigint_to_a_training_process_exits_130_with_a_consistent_folder(wait_for, previous, tmp_path):
    """A real Ctrl-C (SIGINT to the process) once a progress line is out: exit code 130 (not death by the signal),
    one line saying what was kept, and either the previous run's files untouched (no epoch was complete yet) or
    one consistent set of the completed epochs. Epochs take milliseconds, so where the signal lands varies."""
    out = populate(tmp_path / "run", previous)
    before = inodes(out)
    code, err = interrupt_training(out, wait_for)
    assert code == 130 and one_line(err), err
    if "nothing was written" in err:
        assert wait_for == "training ", err  # after "epoch 1/" there is an epoch to keep
        assert re.search(r"interrupted (before the first epoch|in epoch 1/1000): nothing", err), err
        assert "keeps the previous run's files" in err and snapshot(out) == previous and inodes(out) == before
    else:
        assert re.search(r"interrupted (in|after) epoch \d+/1000: wrote", err), err
        check_run_folder(out, err)
        assert all(inodes(out)[name] != before[name] for name in inodes(out))


@pytest.mark.skipif(os.name != "posix", reason="needs POSIX signals")
def test_sigint_to_a_run_into_a_new_folder_keeps_the_completed_epochs_there(tmp_path):
    out = tmp_path / "fresh"
    code, err = interrupt_training(out, "epoch 2/")
    assert code == 130 and one_line(err), err
    assert check_run_folder(out, err) >= 2
