"""The train / evaluate loop the command line uses: one epoch of mini-batch descent, and a no-grad evaluation.

Loss is the mean cross-entropy of the logits; accuracy the fraction of argmax predictions equal to the label;
the confusion matrix counts ``C[true, predicted]``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np

from .autograd import no_grad
from .nn import functional as F
from .tensor_class import Tensor


@dataclass
class EpochStats:
    """What one training epoch measured: mean loss over images, image count and wall time in seconds."""

    loss: float
    images: int
    seconds: float

    @property
    def throughput(self) -> float:
        """Images per second."""
        return self.images / self.seconds if self.seconds > 0 else float("inf")


@dataclass
class Evaluation:
    """Mean loss, accuracy and the (classes, classes) confusion matrix ``C[true, predicted]``."""

    loss: float
    accuracy: float
    confusion: np.ndarray


def train_epoch(model, loader: Iterable[tuple[Tensor, Tensor]], optimizer,
                on_batch: Callable[[float, int], None] | None = None, label_smoothing: float = 0.0) -> EpochStats:
    """One pass over ``loader``: forward, cross-entropy (with ``label_smoothing``, as ``F.cross_entropy``),
    backward, optimiser step per batch.

    ``on_batch(loss, batch_size)`` is called after every step (the progress bar uses it).
    """
    model.train()
    total, count, start = 0.0, 0, time.perf_counter()
    for x, y in loader:
        optimizer.zero_grad()
        loss = F.cross_entropy(model(x), y, label_smoothing=label_smoothing)
        loss.backward()
        optimizer.step()
        value, n = float(loss.item()), len(y)
        total += value * n
        count += n
        if on_batch is not None:
            on_batch(value, n)
    if count == 0:
        raise ValueError("train_epoch: the loader yielded no batches (is the dataset smaller than the batch size "
                         "with drop_last=True?)")
    return EpochStats(total / count, count, time.perf_counter() - start)


@no_grad()
def evaluate(model, loader: Iterable[tuple[Tensor, Tensor]], num_classes: int = 10) -> Evaluation:
    """Loss, accuracy and confusion matrix of ``model`` over ``loader``, computed under ``no_grad``."""
    model.eval()
    total, confusion = 0.0, np.zeros((num_classes, num_classes), dtype=np.int64)
    for x, y in loader:
        logits = model(x)
        total += float(F.cross_entropy(logits, y).item()) * len(y)
        predicted = logits.numpy().argmax(axis=1)
        confusion += np.bincount(y.numpy() * num_classes + predicted,
                                 minlength=num_classes * num_classes).reshape(num_classes, num_classes)
    count = int(confusion.sum())
    if count == 0:
        raise ValueError("evaluate: the loader yielded no batches")
    return Evaluation(total / count, float(np.trace(confusion)) / count, confusion)
