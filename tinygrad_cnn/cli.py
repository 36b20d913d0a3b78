"""The ``tinygrad-cnn`` command line (also ``python -m tinygrad_cnn``).

``train`` fits a model and writes a checkpoint, metrics.json, a loss/accuracy plot and the backward graph (a
picture and the interactive explorer); ``evaluate`` reports a checkpoint's accuracy and confusion matrix;
``graph`` draws a model's forward or backward graph (``-o x.html``: the explorer). A user's mistake ends with
one line on stderr and exit code 2, a file that cannot be read or written with exit code 1, Ctrl-C with exit
code 130; never a traceback.

Every file is written atomically (``_files``): ``train`` renders all its files in memory, writes each in full to
a hidden temporary and renames them over the old ones only once all are complete, so a full disk or a crash
leaves the folder's previous files as they were. Ctrl-C during training writes the set of the last completed
epoch that way (its meta says ``interrupted``), or nothing before the first epoch is complete.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import math
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

import numpy as np

from . import optim, serialization, viz
from ._files import atomic_path, atomic_write_bytes, atomic_write_text, atomic_writer, fsync_folder
from .data import MNIST, DataLoader, Digits, DownloadError, IDXError, MNISTNotFoundError, random_shift
from .data.loader import ArrayDataset
from .models import MODELS, create_model
from .nn import functional as F
from .optim.lr_scheduler import CosineAnnealingLR
from .random import manual_seed
from .training import evaluate, train_epoch

PROG = "tinygrad-cnn"
CHECKPOINT = "checkpoint.npz"
#: what ``train`` writes into ``--out``, all together or not at all
ARTIFACTS = (CHECKPOINT, "metrics.json", "metrics.png", "graph.dot", "graph.svg", "graph.html")
DEFAULTS = {"epochs": 30, "batch_size": 32, "lr": 0.005, "optimizer": "adam", "seed": 0}
#: the default --label-smoothing: the ResNet's one-epoch MNIST accuracy gains ~0.2 points from 0.1 (PyTorch, 3 seeds:
#: 99.11 +- 0.05% without, 99.24 +- 0.05% with); the small CNNs are left with plain cross-entropy
LABEL_SMOOTHING = {"resnet8": 0.1}
#: the default --shift: augment the small digits set, not MNIST (60,000 images are variety enough)
SHIFT = {"digits": 2, "mnist": 0}
#: the largest --seed: NumPy's seeds are 32-bit words
SEED_MAX = 2**32 - 1
#: the largest --shift: both datasets have 28 x 28 images, and a shift of 28 moves every pixel out
SHIFT_MAX = 27
#: seconds Graphviz's ``dot`` may take before it is given up as hung (ResNet8's backward graph takes under 1 s)
DOT_TIMEOUT = 60.0
DATASETS = ("digits", "mnist")


class UsageError(Exception):
    """A mistake in what the user asked for; printed as one line, exit code 2."""


class CommandError(Exception):
    """A command that could not finish: a file that cannot be read or written. One line, exit code 1."""


class Interrupted(KeyboardInterrupt):
    """Ctrl-C, with a message saying what the interrupted command kept; exit code 130."""


#: Graphviz's ``dot`` is installed but did not draw the graph (raised by ``viz.dot``)
DotError = viz.DotError


class _Parser(argparse.ArgumentParser):
    """argparse with errors on one line (no usage block) and exit code 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


# ---- data and models --------------------------------------------------------------------------------
def load_dataset(name: str, train: bool, data_dir: str | None, download: bool = False,
                 limit: int | None = None) -> ArrayDataset:
    """The train or test split of ``digits`` or ``mnist`` (from ``data_dir``), first ``limit`` items only."""
    if name == "digits":
        dataset: ArrayDataset = Digits(train=train)
    else:
        if data_dir is None:
            raise UsageError("--dataset mnist needs --data-dir DIR, the folder holding the four MNIST files "
                             "(add --download to fetch them there)")
        dataset = MNIST(data_dir, train=train, download=download)
    return dataset.subset(limit) if limit else dataset


def make_optimizer(name: str, params: list, lr: float):
    return optim.Adam(params, lr=lr) if name == "adam" else optim.SGD(params, lr=lr, momentum=0.9)


def load_checkpoint(path: str, expected_model: str | None = None) -> tuple[Any, dict]:
    """The model saved in a ``train`` checkpoint and the checkpoint's meta, after checking it is one.

    A path that is missing or a folder is a UsageError; a file that cannot be read, is damaged or is not a
    ``train`` checkpoint a CheckpointError or CommandError naming it."""
    file = Path(path)
    if file.is_dir():
        inside = file / CHECKPOINT
        hint = f"pass {inside}" if inside.is_file() else f"pass the {CHECKPOINT} written by `{PROG} train`"
        raise UsageError(f"--checkpoint {path} is a folder, not a checkpoint file; {hint}")
    if not file.exists():
        raise UsageError(f"--checkpoint {path}: no such file; pass the {CHECKPOINT} written by `{PROG} train` "
                         f"(in its --out folder, runs/latest by default)")
    if not file.is_file():
        raise UsageError(f"--checkpoint {path} is not a regular file; pass the {CHECKPOINT} written by "
                         f"`{PROG} train`")
    try:
        state = serialization.load(file)
    except serialization.CheckpointError:
        raise
    except OSError as err:
        raise CommandError(f"--checkpoint {path} cannot be read ({_reason(err)})") from None
    meta = state.get("meta") if isinstance(state, dict) else None
    if not isinstance(meta, dict) or "model" not in meta or not isinstance(state.get("model_state"), dict):
        raise serialization.CheckpointError(f"{path} is not a checkpoint written by `{PROG} train` "
                                            "(no model name in its meta)")
    name = meta["model"]
    if not isinstance(name, str) or name not in MODELS:
        raise serialization.CheckpointError(f"{path} holds a model named {name!r}, which is not one of "
                                            f"{', '.join(sorted(MODELS))}; is it a checkpoint of `{PROG} train`?")
    if meta.get("dataset") not in (None, *DATASETS) or not isinstance(meta.get("data_dir"), (str, type(None))):
        raise serialization.CheckpointError(f"{path}: its meta names dataset {meta.get('dataset')!r} and data_dir "
                                            f"{meta.get('data_dir')!r}; `{PROG} train` writes one of "
                                            f"{', '.join(DATASETS)} and a folder name")
    if not isinstance(meta.get("interrupted", False), bool):
        raise serialization.CheckpointError(f"{path}: its meta says interrupted={meta['interrupted']!r}; `{PROG} "
                                            "train` writes True or False")
    if expected_model is not None and expected_model != name:
        raise UsageError(f"checkpoint {path} holds a {name!r} model, not {expected_model!r}; "
                         f"pass --model {name} or another checkpoint")
    model = create_model(name)
    try:
        model.load_state_dict(state["model_state"])
    except (KeyError, ValueError, TypeError, AttributeError) as err:
        raise serialization.CheckpointError(f"{path}: the weights do not fit a {name!r} model ({err})") from None
    return model, meta


# ---- artifacts --------------------------------------------------------------------------------------
def plot_metrics(history: list[dict]) -> bytes:
    """Train and test loss (left) and test accuracy (right) per epoch, as the bytes of a PNG (drawn in memory,
    without pyplot, so no global backend is touched)."""
    from matplotlib.figure import Figure

    epochs = [h["epoch"] for h in history]
    fig = Figure(figsize=(9, 3.5))
    ax_loss, ax_acc = fig.subplots(1, 2)
    ax_loss.plot(epochs, [h["train_loss"] for h in history], "o-", label="train")
    ax_loss.plot(epochs, [h["test_loss"] for h in history], "s-", label="test")
    ax_loss.set(xlabel="epoch", ylabel="cross-entropy", title="loss")
    ax_loss.legend()
    ax_acc.plot(epochs, [100 * h["test_accuracy"] for h in history], "s-", color="tab:green")
    ax_acc.set(xlabel="epoch", ylabel="%", title="test accuracy")
    for ax in (ax_loss, ax_acc):
        ax.grid(alpha=0.3)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100)
    return buffer.getvalue()


def _json_safe(value: Any) -> Any:
    """``value`` with NaN and infinities (a diverged loss) as None, so the file is strict JSON."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    return value


def _reason(err: BaseException) -> str:
    """An OSError as a short phrase: "No space left on device", "Permission denied: 'x'", ..."""
    if isinstance(err, OSError) and err.strerror:
        return f"{err.strerror}: {err.filename!r}" if err.filename else err.strerror
    return str(err) or type(err).__name__


def render_graph(source: str, fmt: str, image: Path, dot_file: Path,
                 again: str | None = None) -> tuple[bytes | None, str, bool]:
    """Draw ``source`` with ``viz.dot.render_source`` (``dot``, else for SVG the WebAssembly Graphviz or the
    built-in layout): ``(bytes, hint, broken)``, or ``(None, hint, broken)`` when a PNG or PDF cannot be made
    without a working ``dot``. ``hint`` is "" when ``dot`` drew it, else one line saying which renderer drew
    ``image`` or that the graph is ``dot_file`` only, why, and how to get Graphviz's picture (the ``dot`` command
    on ``dot_file``, or ``again`` when a fallback drew it); ``broken`` is True when ``dot`` exists but failed."""
    command = f"run `dot -T{fmt} {dot_file} -o {image}`"
    broken = viz.dot.find_dot() is not None
    try:
        done = viz.render_source(source, fmt, timeout=DOT_TIMEOUT)
    except viz.GraphvizNotFoundError:
        return None, (f"Graphviz's `dot` was not found, so the graph is {dot_file} only; install Graphviz "
                      f"(e.g. `apt-get install graphviz`, `brew install graphviz`) and {command}"), False
    except DotError as err:
        return None, (f"{PROG}: warning: {err}, so the graph is {dot_file} only (no {image.name}); repair Graphviz "
                      f"(`dot -V` should print its version; reinstall it if not) and {command}"), True
    if done.renderer == "dot":
        return done.data, "", False
    command = again or command
    drawn = ("Graphviz compiled to WebAssembly" if done.renderer == "wasm"
             else "the built-in layout (plainer than Graphviz's)")
    if broken:
        return done.data, (f"{PROG}: warning: {done.note}, so {image.name} was drawn by {drawn}; repair Graphviz "
                           f"(`dot -V` should print its version; reinstall it if not) and {command} for its "
                           "layout"), True
    return done.data, (f"{done.note}, so {image.name} was drawn by {drawn}; install Graphviz (e.g. "
                       f"`apt-get install graphviz`) and {command} for its layout"), False


@contextlib.contextmanager
def _ctrl_c_held() -> Iterator[list[int]]:
    """Hold Ctrl-C back while the block runs; the yielded list records each one that arrived meanwhile.

    Only in the main thread and while Python's default SIGINT handler is installed; a no-op otherwise."""
    caught: list[int] = []
    if (threading.current_thread() is not threading.main_thread()
            or signal.getsignal(signal.SIGINT) is not signal.default_int_handler):
        yield caught
        return
    signal.signal(signal.SIGINT, lambda signum, frame: caught.append(signum))
    try:
        yield caught
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler)


def write_files(folder: Path, files: Mapping[str, bytes | Callable[[Path], object]],
                remove: Sequence[str] = ()) -> tuple[bool, list[str]]:
    """Replace the files ``folder / name`` by ``files[name]``, all or none, then delete the ``remove`` names.

    A content is bytes, or a function that writes a given path (the checkpoint's ``save``). Each file is first
    written in full to a hidden temporary and fsynced (``_files``); only when every one is complete are they
    renamed over their targets, so a failure (a full disk, a folder in the way) leaves every previous file as it
    was and no temporary behind. Ctrl-C is held back until the set is in place. Returns whether Ctrl-C was
    pressed meanwhile, and the ``remove`` names that were deleted."""
    removed: list[str] = []
    with _ctrl_c_held() as caught:
        with contextlib.ExitStack() as stack:  # unwinding renames every temporary, or removes every one
            for name, content in files.items():
                if callable(content):
                    content(stack.enter_context(atomic_path(folder / name, "train")))
                else:
                    file = stack.enter_context(atomic_writer(folder / name, "train"))
                    file.write(content)
                    file.flush()
                    os.fsync(file.fileno())  # a full disk shows here at the latest, before any rename
        for name in remove:
            with contextlib.suppress(OSError):
                (folder / name).unlink()
                removed.append(name)
        if removed:
            fsync_folder(folder)
    return bool(caught), removed


def _check_out_is_not_a_file(out: Path) -> None:
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out} is a file, not a folder; pass a folder for the run's files (it is created "
                         "when missing)")


def prepare_out(out: Path) -> list[Path]:
    """Check that ``--out`` can hold the run's files, creating it (and missing parents) now, before training;
    returns the folders created, deepest first, so a run that writes nothing can remove them again."""
    _check_out_is_not_a_file(out)
    missing = [p for p in (out, *out.parents) if not p.exists()]
    try:
        out.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        blocker = next((p for p in reversed(out.parents) if p.exists() and not p.is_dir()), out)
        raise UsageError(f"--out {out}: cannot create the folder, because {blocker} is a file") from None
    except OSError as err:
        raise UsageError(f"--out {out}: cannot create the folder ({_reason(err)})") from None
    if not os.access(out, os.W_OK | os.X_OK):
        _remove_empty(missing)
        raise UsageError(f"--out {out}: the folder is not writable; pass another folder")
    blocked = [name for name in ARTIFACTS if (out / name).is_dir()]
    if blocked:
        raise UsageError(f"--out {out} holds a folder named {blocked[0]}, where the run writes a file; move it "
                         "away or pass another folder")
    return missing


def _remove_empty(folders: Sequence[Path]) -> None:
    """Remove the folders (deepest first) that a run created, as far as they are still empty."""
    for folder in folders:
        try:
            folder.rmdir()
        except OSError:
            break


@dataclass(frozen=True)
class Completed:
    """A training run as it stood at the end of its last completed epoch (trained, then evaluated): copies of the
    model's and the optimiser's state dicts, so that Ctrl-C in a later epoch can still save a consistent set."""

    epochs: int
    model_state: dict[str, np.ndarray]
    optimizer_state: dict[str, Any]
    seconds: float


def train_files(args: argparse.Namespace, out: Path, model: Any, test_set: ArrayDataset, history: list[dict],
                done: Completed, salvage: bool = False) -> tuple[dict[str, bytes | Callable[[Path], object]],
                                                                 tuple[str, ...], str, bool]:
    """The run's files for its first ``done.epochs`` epochs, ready for :func:`write_files`: ``(files, remove,
    hint, broken)`` as :func:`render_graph` words them. The checkpoint holds ``done``'s state; its meta records
    the epochs done, the planned ``--epochs`` and whether the run stopped before them (``interrupted``).

    ``model`` draws the graph (in eval mode, with ``done``'s weights). With ``salvage`` (after Ctrl-C), a ``dot``
    stopped by a second Ctrl-C leaves the graph as DOT text only instead of raising."""
    history = history[: done.epochs]
    stopped = done.epochs < args.epochs
    final = history[-1]["test_accuracy"]
    meta = {"model": args.model, "dataset": args.dataset, "epochs": done.epochs, "planned_epochs": args.epochs,
            "interrupted": stopped, "seed": args.seed, "optimizer": args.optimizer, "lr": args.lr,
            "batch_size": args.batch_size, "shift": args.shift, "label_smoothing": args.label_smoothing,
            "test_accuracy": final, "data_dir": str(Path(args.data_dir).resolve()) if args.data_dir else None}
    state = {"model_state": done.model_state, "optimizer_state": done.optimizer_state, "epoch": done.epochs,
             "meta": meta}
    metrics = {"model": args.model, "dataset": args.dataset, "epochs": history, "test_accuracy": final,
               "seconds": done.seconds, "planned_epochs": args.epochs, "interrupted": stopped}
    x, y = next(iter(DataLoader(test_set, 2)))
    loss = F.cross_entropy(model(x), y)
    source = viz.draw_graph(loss, direction="backward", params=model).source
    explorer = viz.explorer_html(viz.explorer_data(loss, params=model)).encode("utf-8")  # the graph.html page
    image, dot_file = out / "graph.svg", out / "graph.dot"
    try:
        svg, hint, broken = render_graph(source, "svg", image, dot_file)
    except KeyboardInterrupt:
        if not salvage:
            raise
        svg, hint, broken = None, (f"Ctrl-C stopped Graphviz's `dot`, so the graph is {dot_file} only; run "
                                   f"`dot -Tsvg {dot_file} -o {image}`"), False
    files: dict[str, bytes | Callable[[Path], object]] = {
        CHECKPOINT: lambda path: serialization.save(state, path),
        "metrics.json": (json.dumps(_json_safe(metrics), indent=2, allow_nan=False) + "\n").encode("utf-8"),
        "metrics.png": plot_metrics(history),
        "graph.dot": source.encode("utf-8"),
    }
    if svg is not None:
        files["graph.svg"] = svg
    files["graph.html"] = explorer
    return files, () if svg is not None else ("graph.svg",), hint, broken


def _print_hint(hint: str, broken: bool, removed: Sequence[str]) -> None:
    if hint:
        gone = "; the previous run's graph.svg was removed" if removed else ""
        print(hint + gone, file=sys.stderr if broken else sys.stdout, flush=True)


def _epochs(count: int) -> str:
    return f"{count} completed epoch{'s' if count != 1 else ''}"


def save_completed(args: argparse.Namespace, out: Path, model: Any, test_set: ArrayDataset, history: list[dict],
                   done: Completed, stage: str, kept: str, created: Sequence[Path]) -> NoReturn:
    """After Ctrl-C ``stage`` (in a later epoch, or while drawing or writing): write the set of the last completed
    epoch through :func:`write_files`, all or nothing, with further Ctrl-C held back meanwhile; then raise
    Interrupted saying what was written. A file that cannot be written raises CommandError (nothing changed)."""
    with _ctrl_c_held() as caught:
        try:
            model.load_state_dict(done.model_state)  # the graph is drawn from the weights that are saved
            model.eval()
            files, remove, hint, broken = train_files(args, out, model, test_set, history, done, salvage=True)
            _, removed = write_files(out, files, remove)
        except OSError as err:
            _remove_empty(created)
            raise CommandError(f"interrupted {stage}, and could not write the {_epochs(done.epochs)} to {out} "
                               f"({_reason(err)}); nothing there was changed ({kept})") from None
        except BaseException:
            _remove_empty(created)
            raise
        _print_hint(hint, broken, removed)
    again = "; a second Ctrl-C was held back until they were complete" if caught else ""
    raise Interrupted(f"interrupted {stage}: wrote {', '.join(files)} for the {_epochs(done.epochs)} to {out}"
                      f"{again}")


# ---- commands --------------------------------------------------------------------------------------
def cmd_train(args: argparse.Namespace) -> int:
    """Train, then write the checkpoint, metrics.json, metrics.png, graph.dot, graph.svg and graph.html (the
    interactive explorer of one backward pass) together (see
    :func:`write_files`). Ctrl-C after the first completed epoch writes the set of the last completed one
    (:func:`save_completed`); Ctrl-C before that writes nothing."""
    from tqdm import tqdm

    manual_seed(args.seed)
    out = Path(args.out)
    _check_out_is_not_a_file(out)  # before loading any data
    created: list[Path] = []
    kept = f"{out} is unchanged"
    stage = "while loading the data"
    done: Completed | None = None
    try:
        train_set = load_dataset(args.dataset, True, args.data_dir, args.download, args.limit)
        test_set = load_dataset(args.dataset, False, args.data_dir, args.download, args.limit)
        if args.shift is None:
            args.shift = SHIFT[args.dataset]
        if args.shift:  # augmentation of the training images only
            train_set.transform = random_shift(args.shift, seed=args.seed)
        if args.label_smoothing is None:
            args.label_smoothing = LABEL_SMOOTHING.get(args.model, 0.0)
        had_files = out.is_dir() and any((out / name).exists() for name in ARTIFACTS)
        created = prepare_out(out)
        kept = (f"{out} keeps the previous run's files" if had_files else
                f"the folder {out}, made for this run, was removed again" if created else f"{out} is unchanged")
        stage = "before the first epoch"
        model = create_model(args.model)
        optimizer = make_optimizer(args.optimizer, list(model.parameters()), args.lr)
        train_loader = DataLoader(train_set, args.batch_size, shuffle=True, seed=args.seed)
        # anneal to 0 over the run, stepped per batch (so a one-epoch run anneals too): a steadier final epoch
        schedule = CosineAnnealingLR(optimizer, T_max=args.epochs * len(train_loader))
        test_loader = DataLoader(test_set, 500)
        print(f"training {args.model} on {args.dataset}: {len(train_set)} train / {len(test_set)} test images, "
              f"{args.epochs} epochs, {args.optimizer} lr={args.lr}, batch {args.batch_size}, shift {args.shift}px, "
              f"label smoothing {args.label_smoothing}", flush=True)
        history: list[dict] = []
        start = time.perf_counter()
        for epoch in range(1, args.epochs + 1):
            stage = f"in epoch {epoch}/{args.epochs}"
            with tqdm(total=len(train_set), desc=f"epoch {epoch}/{args.epochs}", unit="img", leave=False,
                      disable=args.quiet, dynamic_ncols=True) as bar:
                def on_batch(loss: float, n: int, bar=bar) -> None:
                    schedule.step()  # after the batch's optimizer.step()
                    bar.update(n)
                    bar.set_postfix(loss=f"{loss:.4f}", refresh=False)
                stats = train_epoch(model, train_loader, optimizer, on_batch, label_smoothing=args.label_smoothing)
            result = evaluate(model, test_loader)
            history.append({"epoch": epoch, "train_loss": stats.loss, "test_loss": result.loss,
                            "test_accuracy": result.accuracy, "seconds": stats.seconds})
            # one assignment, so Ctrl-C leaves either the previous epoch's snapshot or this one's, never a mix
            done = Completed(epoch, model.state_dict(), optimizer.state_dict(), time.perf_counter() - start)
            stage = f"after epoch {epoch}/{args.epochs}"
            print(f"epoch {epoch}/{args.epochs}: train loss {stats.loss:.4f}  test loss {result.loss:.4f}  "
                  f"test accuracy {100 * result.accuracy:.2f}%  {stats.seconds:.1f}s  "
                  f"{stats.throughput:.0f} img/s", flush=True)
        stage = "while drawing the plot and the graph"
        files, remove, hint, broken = train_files(args, out, model, test_set, history, done)
        stage = "while writing the run's files"
        interrupted, removed = write_files(out, files, remove)
    except KeyboardInterrupt:
        if done is None:
            with _ctrl_c_held():
                _remove_empty(created)
            finished = ", as no epoch was complete" if stage.startswith("in epoch") else ""
            raise Interrupted(f"interrupted {stage}: nothing was written{finished} ({kept})") from None
        save_completed(args, out, model, test_set, history, done, stage, kept, created)
    except OSError as err:
        with _ctrl_c_held():
            _remove_empty(created)
        if stage != "while writing the run's files":
            raise CommandError(f"{_reason(err)} ({stage}); nothing was written ({kept})") from None
        raise CommandError(f"could not write the run's files to {out} ({_reason(err)}); nothing there was changed "
                           f"({kept}), and this run's model is lost: free some space or fix the folder, then "
                           "run again") from None
    except BaseException:
        with _ctrl_c_held():
            _remove_empty(created)
        raise
    written = ", ".join(files)
    if interrupted:
        raise Interrupted(f"interrupted while writing the run's files; they were completed first: {written} in {out}")
    print(f"final test accuracy {100 * history[-1]['test_accuracy']:.2f}% in {done.seconds:.1f}s; wrote {written} "
          f"to {out}", flush=True)
    _print_hint(hint, broken, removed)
    return 0


def format_confusion(confusion: np.ndarray) -> str:
    """The confusion matrix as text: one row per true class, one column per predicted class."""
    width = max(4, len(str(confusion.max())) + 1)
    header = "true\\pred" + "".join(f"{c:>{width}}" for c in range(confusion.shape[1]))
    rows = [f"{r:>9}" + "".join(f"{v:>{width}}" for v in row) for r, row in enumerate(confusion)]
    return "\n".join([header, *rows])


def cmd_evaluate(args: argparse.Namespace) -> int:
    model, meta = load_checkpoint(args.checkpoint, args.model)
    dataset = args.dataset or meta.get("dataset") or "digits"
    data_dir = args.data_dir or (meta.get("data_dir") if dataset == meta.get("dataset") else None)
    try:
        test_set = load_dataset(dataset, False, data_dir, False, args.limit)
    except MNISTNotFoundError as err:
        if args.data_dir or data_dir is None:
            raise
        raise UsageError(f"{err}; that folder is the one {args.checkpoint} was trained from: pass --data-dir to "
                         "read MNIST from another") from None
    if meta.get("interrupted"):
        print(f"{args.checkpoint} is from an interrupted run: {meta.get('epochs', '?')} of its "
              f"{meta.get('planned_epochs', '?')} planned epochs were completed")
    result = evaluate(model, DataLoader(test_set, 500))
    print(f"{meta['model']} on {dataset} test ({len(test_set)} images): accuracy {100 * result.accuracy:.2f}%, "
          f"loss {result.loss:.4f}")
    print(format_confusion(result.confusion))
    return 0


def cmd_graph(args: argparse.Namespace) -> int:
    """Draw the graph to ``-o`` (atomically); without a working ``dot``, write the DOT text next to it instead.
    A ``.html`` name writes the interactive explorer (``viz.explore``) of the loss's backward pass."""
    out = Path(args.output)
    fmt = out.suffix.lstrip(".")
    if fmt not in ("svg", "png", "pdf", "dot", "html"):
        raise UsageError(f"-o {args.output}: the file name must end in .svg, .png, .pdf, .dot or .html (the "
                         "interactive explorer)")
    if out.is_dir():
        raise UsageError(f"-o {args.output} is a folder; pass the name of the file to write, e.g. {out / 'graph.svg'}")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise UsageError(f"-o {args.output}: cannot create its folder {out.parent} ({_reason(err)})") from None
    manual_seed(args.seed)
    model = create_model(args.model)
    x, y = next(iter(DataLoader(Digits(train=False), args.batch_size)))
    loss = F.cross_entropy(model(x), y)
    if fmt == "html":  # opens on the --direction graph
        viz.explore(loss, params=model, path=out, view=args.direction)
        print(f"explorer written to {out}: open it in a browser (no server or network needed)")
        return 0
    # parameters labelled by their names
    source = viz.draw_graph(loss, direction=args.direction, params=model).source
    if fmt == "dot":
        atomic_write_text(out, source, who="graph")
        print(f"graph source written to {out}")
        return 0
    dot_file = out.with_suffix(".dot")
    image, hint, broken = render_graph(source, fmt, out, dot_file, again="run this command again")
    if image is not None:
        atomic_write_bytes(out, image, who="graph")
        print(f"graph written to {out}")
        if hint:
            print(hint, file=sys.stderr if broken else sys.stdout)
        return 0
    atomic_write_text(dot_file, source, who="graph")
    print(hint, file=sys.stderr if broken else sys.stdout)
    return 0


def cmd_bench(options: Sequence[str]) -> int:
    """Run the benchmark script of the source checkout (``python -m benchmarks``) with the given options."""
    root = Path(__file__).resolve().parents[1]
    if not (root / "benchmarks" / "__main__.py").is_file():
        raise UsageError("the benchmarks ship with the source checkout, not the installed package; run "
                         "`python -m benchmarks` from a clone of the repository")
    return subprocess.call([sys.executable, "-m", "benchmarks", *options], cwd=root)


# ---- parsing ---------------------------------------------------------------------------------------
def _int(text: str, low: int, high: int | None = None, why: str = "") -> int:
    """``text`` as an integer in ``[low, high]``; argparse reports the error as "argument --NAME: ..."."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if value < low or (high is not None and value > high):
        bound = f"must be at least {low}" if high is None else f"must be from {low} to {high}"
        raise argparse.ArgumentTypeError(f"{value} {bound}{why}")
    return value


def _positive_int(text: str) -> int:
    return _int(text, 1)


def _non_negative_int(text: str) -> int:
    return _int(text, 0)


def _seed(text: str) -> int:
    return _int(text, 0, SEED_MAX, " (2**32 - 1), like NumPy's seeds")


def _shift(text: str) -> int:
    value = _int(text, 0)
    if value > SHIFT_MAX:
        raise argparse.ArgumentTypeError(f"{value} must be at most {SHIFT_MAX}: the images are 28 x 28 pixels, "
                                         "so a shift of 28 moves every pixel out")
    return value


def _probability(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number in [0, 1], got {text!r}") from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"expected a number in [0, 1], got {text}")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not value > 0 or not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"{text} must be a positive finite number")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog=PROG, description="Train, evaluate and draw the CNNs of tinygrad_cnn.")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser, metavar="COMMAND")
    models = sorted(MODELS)

    train = commands.add_parser("train", help="train a model; write checkpoint, metrics, plot and graph")
    train.add_argument("--model", choices=models, default="seed", help="the network (default: seed)")
    train.add_argument("--dataset", choices=DATASETS, default="digits",
                       help="digits: scikit-learn's, offline; mnist: needs --data-dir (default: digits)")
    train.add_argument("--data-dir", help="folder with the four MNIST IDX files (gzip or raw)")
    train.add_argument("--download", action="store_true", help="fetch missing MNIST files into --data-dir")
    train.add_argument("--epochs", type=_positive_int, default=DEFAULTS["epochs"], help="(default: %(default)s)")
    train.add_argument("--batch-size", type=_positive_int, default=DEFAULTS["batch_size"],
                       help="(default: %(default)s)")
    train.add_argument("--lr", type=_positive_float, default=DEFAULTS["lr"],
                       help="initial learning rate, annealed to 0 by a cosine schedule (default: %(default)s)")
    train.add_argument("--optimizer", choices=["sgd", "adam"], default=DEFAULTS["optimizer"],
                       help="adam, or sgd with momentum 0.9 (default: %(default)s)")
    train.add_argument("--shift", type=_shift, metavar="PIXELS",
                       help=f"augment: move each training image by up to this many pixels (0 to {SHIFT_MAX}), a new "
                       "random offset per image and epoch (default: 2 on digits, 0 on mnist)")
    train.add_argument("--label-smoothing", type=_probability, metavar="EPS",
                       help="cross-entropy against (1 - EPS) one-hot + EPS / classes (default: 0.1 for resnet8, "
                       "0 for the others)")
    train.add_argument("--seed", type=_seed, default=DEFAULTS["seed"],
                       help=f"0 to {SEED_MAX}: seeds initialisation, shuffling and shifts (default: %(default)s)")
    train.add_argument("--out", default="runs/latest", help="output folder (default: runs/latest)")
    train.add_argument("--quiet", action="store_true", help="no progress bar")
    train.add_argument("--limit", type=_positive_int, help=argparse.SUPPRESS)
    train.set_defaults(run=cmd_train)

    ev = commands.add_parser("evaluate", help="accuracy and confusion matrix of a checkpoint on a test split")
    ev.add_argument("--checkpoint", required=True, help=f"the {CHECKPOINT} written by train")
    ev.add_argument("--dataset", choices=DATASETS, help="default: the dataset the checkpoint was trained on")
    ev.add_argument("--data-dir", help="folder with the MNIST files (default: the one the checkpoint was trained "
                    "from)")
    ev.add_argument("--model", choices=models, help="fail unless the checkpoint holds this model")
    ev.add_argument("--limit", type=_positive_int, help=argparse.SUPPRESS)
    ev.set_defaults(run=cmd_evaluate)

    graph = commands.add_parser("graph", help="draw a model's forward or backward graph on a small batch's loss")
    graph.add_argument("--model", choices=models, default="seed")
    graph.add_argument("--direction", choices=["forward", "backward"], default="backward")
    graph.add_argument("-o", "--output", required=True,
                       help="FILE.svg (or .png, .pdf, .dot; .html: the interactive explorer)")
    graph.add_argument("--batch-size", type=_positive_int, default=2)
    graph.add_argument("--seed", type=_seed, default=0, help=f"0 to {SEED_MAX} (default: %(default)s)")
    graph.set_defaults(run=cmd_graph)

    commands.add_parser("bench", help="speed and memory against PyTorch CPU: the options of python -m benchmarks "
                        "(--quick, --epoch, --memory, ...) pass through", add_help=False)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code (0 ok, 1 a file that cannot be read or written, 2 a usage
    error, 130 Ctrl-C), after one line on stderr for anything but 0."""
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        if argv[:1] == ["bench"]:  # every option belongs to the benchmark script
            return cmd_bench(argv[1:])
        args = build_parser().parse_args(argv)
        return args.run(args)
    except (UsageError, MNISTNotFoundError) as err:
        print(f"{PROG}: error: {err}", file=sys.stderr)
        return 2
    except (CommandError, serialization.CheckpointError, IDXError, DownloadError) as err:
        print(f"{PROG}: error: {err}", file=sys.stderr)
        return 1
    except (ImportError, OSError) as err:  # a missing optional dependency, an unwritable file
        print(f"{PROG}: error: {_reason(err) if isinstance(err, OSError) else err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt as err:
        with _ctrl_c_held():  # a second Ctrl-C does not cut the message short
            print(f"{PROG}: {err or 'interrupted'}", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
