"""The ``tinygrad-cnn`` command line (also ``python -m tinygrad_cnn``).

``train`` fits a model and writes a checkpoint, metrics.json, a loss/accuracy plot and the backward graph;
``evaluate`` reports a checkpoint's accuracy and confusion matrix; ``graph`` draws a model's forward or
backward graph. A user's mistake ends with one line on stderr and exit code 2 (1 for broken files), never
a traceback.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

import numpy as np

from . import optim, serialization, viz
from .data import MNIST, DataLoader, Digits, DownloadError, IDXError, MNISTNotFoundError, random_shift
from .data.loader import ArrayDataset
from .models import MODELS, create_model
from .nn import functional as F
from .optim.lr_scheduler import CosineAnnealingLR
from .random import manual_seed
from .training import evaluate, train_epoch

PROG = "tinygrad-cnn"
CHECKPOINT = "checkpoint.npz"
DEFAULTS = {"epochs": 30, "batch_size": 32, "lr": 0.005, "optimizer": "adam", "seed": 0}
#: the default --label-smoothing: the ResNet's one-epoch MNIST accuracy gains ~0.2 points from 0.1 (PyTorch, 3 seeds:
#: 99.11 +- 0.05% without, 99.24 +- 0.05% with); the small CNNs are left with plain cross-entropy
LABEL_SMOOTHING = {"resnet8": 0.1}
#: the default --shift: augment the small digits set, not MNIST (60,000 images are variety enough)
SHIFT = {"digits": 2, "mnist": 0}


class UsageError(Exception):
    """A mistake in what the user asked for; printed as one line."""


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
    """The model saved in a ``train`` checkpoint and the checkpoint's meta, after checking it is one."""
    if not Path(path).is_file():
        raise UsageError(f"checkpoint {path} does not exist; pass the {CHECKPOINT} written by `{PROG} train`")
    state = serialization.load(path)
    meta = state.get("meta") if isinstance(state, dict) else None
    if not isinstance(meta, dict) or "model" not in meta or "model_state" not in state:
        raise serialization.CheckpointError(f"{path} is not a checkpoint written by `{PROG} train` "
                                            "(no model name in its meta)")
    name = str(meta["model"])
    if name not in MODELS:
        raise UsageError(f"checkpoint {path} holds a model named {name!r}, which is not one of "
                         f"{', '.join(sorted(MODELS))}")
    if expected_model is not None and expected_model != name:
        raise UsageError(f"checkpoint {path} holds a {name!r} model, not {expected_model!r}; "
                         f"pass --model {name} or another checkpoint")
    model = create_model(name)
    try:
        model.load_state_dict(state["model_state"])
    except (KeyError, ValueError, TypeError) as err:
        raise serialization.CheckpointError(f"{path}: the weights do not fit a {name!r} model ({err})") from None
    return model, meta


# ---- artifacts --------------------------------------------------------------------------------------
def plot_metrics(history: list[dict], path: Path) -> Path:
    """Train and test loss (left) and test accuracy (right) per epoch, as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    epochs = [h["epoch"] for h in history]
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(9, 3.5))
    ax_loss.plot(epochs, [h["train_loss"] for h in history], "o-", label="train")
    ax_loss.plot(epochs, [h["test_loss"] for h in history], "s-", label="test")
    ax_loss.set(xlabel="epoch", ylabel="cross-entropy", title="loss")
    ax_loss.legend()
    ax_acc.plot(epochs, [100 * h["test_accuracy"] for h in history], "s-", color="tab:green")
    ax_acc.set(xlabel="epoch", ylabel="%", title="test accuracy")
    for ax in (ax_loss, ax_acc):
        ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def write_graph(loss, path: Path, direction: str = "backward", params: Any = None) -> str:
    """Render the graph of ``loss`` to ``path`` (format from its suffix); without Graphviz's ``dot`` write the
    ``.dot`` source next to it and return a one-line hint instead of failing."""
    graph = viz.draw_graph(loss, direction=direction, params=params)
    fmt = path.suffix.lstrip(".") or "svg"
    dot_path = path.with_suffix(".dot")
    if fmt == "dot":
        dot_path.write_text(graph.source, encoding="utf-8")
        return f"graph source written to {dot_path}"
    try:
        viz.render(graph, path, format=fmt)
    except viz.GraphvizNotFoundError:
        dot_path.write_text(graph.source, encoding="utf-8")
        return (f"Graphviz's `dot` was not found, so the graph is {dot_path}; install Graphviz and run "
                f"`dot -T{fmt} {dot_path} -o {path}`")
    return f"graph written to {path}"


# ---- commands --------------------------------------------------------------------------------------
def cmd_train(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    manual_seed(args.seed)
    train_set = load_dataset(args.dataset, True, args.data_dir, args.download, args.limit)
    test_set = load_dataset(args.dataset, False, args.data_dir, args.download, args.limit)
    if args.shift is None:
        args.shift = SHIFT[args.dataset]
    if args.shift:  # augmentation of the training images only
        train_set.transform = random_shift(args.shift, seed=args.seed)
    if args.label_smoothing is None:
        args.label_smoothing = LABEL_SMOOTHING.get(args.model, 0.0)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    model = create_model(args.model)
    optimizer = make_optimizer(args.optimizer, list(model.parameters()), args.lr)
    train_loader = DataLoader(train_set, args.batch_size, shuffle=True, seed=args.seed)
    # anneal to 0 over the run, stepped per batch (so a one-epoch run anneals too): a steadier final epoch
    schedule = CosineAnnealingLR(optimizer, T_max=args.epochs * len(train_loader))
    test_loader = DataLoader(test_set, 500)
    print(f"training {args.model} on {args.dataset}: {len(train_set)} train / {len(test_set)} test images, "
          f"{args.epochs} epochs, {args.optimizer} lr={args.lr}, batch {args.batch_size}, shift {args.shift}px, "
          f"label smoothing {args.label_smoothing}")
    history: list[dict] = []
    start = time.perf_counter()
    for epoch in range(1, args.epochs + 1):
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
        print(f"epoch {epoch}/{args.epochs}: train loss {stats.loss:.4f}  test loss {result.loss:.4f}  "
              f"test accuracy {100 * result.accuracy:.2f}%  {stats.seconds:.1f}s  {stats.throughput:.0f} img/s",
              flush=True)
    total = time.perf_counter() - start
    meta = {"model": args.model, "dataset": args.dataset, "epochs": args.epochs, "seed": args.seed,
            "optimizer": args.optimizer, "lr": args.lr, "batch_size": args.batch_size,
            "shift": args.shift, "label_smoothing": args.label_smoothing, "test_accuracy": history[-1]["test_accuracy"],
            "data_dir": str(Path(args.data_dir).resolve()) if args.data_dir else None}
    checkpoint = out / CHECKPOINT
    serialization.save({"model_state": model.state_dict(), "optimizer_state": optimizer.state_dict(),
                        "epoch": args.epochs, "meta": meta}, checkpoint)
    metrics = {"model": args.model, "dataset": args.dataset, "epochs": history,
               "test_accuracy": history[-1]["test_accuracy"], "seconds": total}
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n", encoding="utf-8")
    plot = plot_metrics(history, out / "metrics.png")
    x, y = next(iter(DataLoader(test_set, 2)))
    hint = write_graph(F.cross_entropy(model(x), y), out / "graph.svg", params=model)
    print(f"final test accuracy {100 * history[-1]['test_accuracy']:.2f}% in {total:.1f}s; wrote {checkpoint}, "
          f"{out / 'metrics.json'}, {plot}")
    print(hint)
    return 0


def format_confusion(confusion: np.ndarray) -> str:
    """The confusion matrix as text: one row per true class, one column per predicted class."""
    width = max(4, len(str(confusion.max())) + 1)
    header = "true\\pred" + "".join(f"{c:>{width}}" for c in range(confusion.shape[1]))
    rows = [f"{r:>9}" + "".join(f"{v:>{width}}" for v in row) for r, row in enumerate(confusion)]
    return "\n".join([header, *rows])


def cmd_evaluate(args: argparse.Namespace) -> int:
    model, meta = load_checkpoint(args.checkpoint, args.model)
    dataset = args.dataset or meta.get("dataset", "digits")
    data_dir = args.data_dir or (meta.get("data_dir") if dataset == meta.get("dataset") else None)
    test_set = load_dataset(dataset, False, data_dir, False, args.limit)
    result = evaluate(model, DataLoader(test_set, 500))
    print(f"{meta['model']} on {dataset} test ({len(test_set)} images): accuracy {100 * result.accuracy:.2f}%, "
          f"loss {result.loss:.4f}")
    print(format_confusion(result.confusion))
    return 0


def cmd_graph(args: argparse.Namespace) -> int:
    out = Path(args.output)
    if out.suffix.lstrip(".") not in ("svg", "png", "pdf", "dot"):
        raise UsageError(f"-o {args.output}: the file name must end in .svg, .png, .pdf or .dot")
    manual_seed(args.seed)
    model = create_model(args.model)
    dataset = Digits(train=False)
    x, y = next(iter(DataLoader(dataset, args.batch_size)))
    loss = F.cross_entropy(model(x), y)
    out.parent.mkdir(parents=True, exist_ok=True)
    print(write_graph(loss, out, args.direction, params=model))  # parameters labelled by their names
    return 0


def cmd_bench(options: Sequence[str]) -> int:
    """Run the benchmark script of the source checkout (``python -m benchmarks``) with the given options."""
    root = Path(__file__).resolve().parents[1]
    if not (root / "benchmarks" / "__main__.py").is_file():
        raise UsageError("the benchmarks ship with the source checkout, not the installed package; run "
                         "`python -m benchmarks` from a clone of the repository")
    return subprocess.call([sys.executable, "-m", "benchmarks", *options], cwd=root)


# ---- parsing ---------------------------------------------------------------------------------------
def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} must be at least 1")
    return value


def _non_negative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{value} must be at least 0")
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
    if not value > 0 or not np.isfinite(value):
        raise argparse.ArgumentTypeError(f"{text} must be a positive number")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog=PROG, description="Train, evaluate and draw the CNNs of tinygrad_cnn.")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser, metavar="COMMAND")
    models, datasets = sorted(MODELS), ["digits", "mnist"]

    train = commands.add_parser("train", help="train a model; write checkpoint, metrics, plot and graph")
    train.add_argument("--model", choices=models, default="seed", help="the network (default: seed)")
    train.add_argument("--dataset", choices=datasets, default="digits",
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
    train.add_argument("--shift", type=_non_negative_int, metavar="PIXELS",
                       help="augment: move each training image by up to this many pixels, a new random offset "
                       "per image and epoch (default: 2 on digits, 0 on mnist)")
    train.add_argument("--label-smoothing", type=_probability, metavar="EPS",
                       help="cross-entropy against (1 - EPS) one-hot + EPS / classes (default: 0.1 for resnet8, "
                       "0 for the others)")
    train.add_argument("--seed", type=int, default=DEFAULTS["seed"],
                       help="seeds initialisation, shuffling and shifts (default: %(default)s)")
    train.add_argument("--out", default="runs/latest", help="output folder (default: runs/latest)")
    train.add_argument("--quiet", action="store_true", help="no progress bar")
    train.add_argument("--limit", type=_positive_int, help=argparse.SUPPRESS)
    train.set_defaults(run=cmd_train)

    ev = commands.add_parser("evaluate", help="accuracy and confusion matrix of a checkpoint on a test split")
    ev.add_argument("--checkpoint", required=True, help=f"the {CHECKPOINT} written by train")
    ev.add_argument("--dataset", choices=datasets, help="default: the dataset the checkpoint was trained on")
    ev.add_argument("--data-dir", help="folder with the MNIST files (default: the one the checkpoint was trained "
                    "from)")
    ev.add_argument("--model", choices=models, help="fail unless the checkpoint holds this model")
    ev.add_argument("--limit", type=_positive_int, help=argparse.SUPPRESS)
    ev.set_defaults(run=cmd_evaluate)

    graph = commands.add_parser("graph", help="draw a model's forward or backward graph on a small batch's loss")
    graph.add_argument("--model", choices=models, default="seed")
    graph.add_argument("--direction", choices=["forward", "backward"], default="backward")
    graph.add_argument("-o", "--output", required=True, help="FILE.svg (or .png, .pdf, .dot)")
    graph.add_argument("--batch-size", type=_positive_int, default=2)
    graph.add_argument("--seed", type=int, default=0)
    graph.set_defaults(run=cmd_graph)

    commands.add_parser("bench", help="speed and memory against PyTorch CPU: the options of python -m benchmarks "
                        "(--quick, --epoch, --memory, ...) pass through", add_help=False)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code (0 ok, 1 broken file, 2 usage error)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        if argv[:1] == ["bench"]:  # every option belongs to the benchmark script
            return cmd_bench(argv[1:])
        args = build_parser().parse_args(argv)
        return args.run(args)
    except (UsageError, MNISTNotFoundError) as err:
        print(f"{PROG}: error: {err}", file=sys.stderr)
        return 2
    except (serialization.CheckpointError, IDXError, DownloadError) as err:
        print(f"{PROG}: error: {err}", file=sys.stderr)
        return 1
    except (ImportError, OSError) as err:  # a missing optional dependency, an unwritable --out
        print(f"{PROG}: error: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
