"""Version counters: in-place writes are recorded, and a backward pass whose saved values changed refuses to run.

A write bumps a count kept per memory owner (the base array that all its views share) and stamps it with a global
clock. Each graph node records the clock when it is made, so at backward one comparison tells whether anything was
written since; only then are the node's saved arrays looked up. Arrays never written have no entry, and an entry
goes away with its array.
"""

from __future__ import annotations

import weakref
from typing import Any

import numpy as np

clock = 0  # advanced by every recorded write; read by Function.apply
_writes: dict[int, list[int]] = {}  # id(owner array) -> [number of writes, clock of the last one]


def _owner(array: np.ndarray) -> np.ndarray:
    while isinstance(array.base, np.ndarray):
        array = array.base
    return array


def mark_modified(array: np.ndarray) -> None:
    """Record an in-place write to ``array`` (and so to every view of its memory).

    In-place Tensor methods, the optimisers and ``load_state_dict`` call this; code that writes to ``tensor.data``
    directly should too, or a backward pass that saved the old values will silently use the new ones.
    """
    global clock
    owner = _owner(array)
    key = id(owner)
    entry = _writes.get(key)
    if entry is None:
        entry = _writes[key] = [0, 0]
        weakref.finalize(owner, _writes.pop, key, None)
    clock += 1
    entry[0] += 1
    entry[1] = clock


def version(array: np.ndarray) -> int:
    """How many in-place writes ``array``'s memory has seen (0 if none was recorded)."""
    entry = _writes.get(id(_owner(array)))
    return 0 if entry is None else entry[0]


def written_since(array: np.ndarray, stamp: int) -> bool:
    """Whether ``array``'s memory was written after the clock read ``stamp``."""
    if clock == stamp:
        return False
    entry = _writes.get(id(_owner(array)))
    return entry is not None and entry[1] > stamp


def check_unmodified(node: Any) -> None:
    """RuntimeError if a value ``node``'s VJP reads was written in place, or had its ``.data`` replaced, after the
    node was recorded. A node whose class sets ``reads_inputs = False`` has only its saved output (if any) checked."""
    where = f" (created at {node.created_at})" if node.created_at else ""
    fix = ("its gradient would be wrong. Run backward before changing it (call optimizer.step() after "
           "loss.backward()), or change a copy (x.clone())")
    if node.reads_inputs:
        for i, (t, a) in enumerate(zip(node._inputs, node._arrays)):
            if t.data is not a:
                raise RuntimeError(f"{node.name}{where}: the .data of input {i} (shape {a.shape}) was replaced "
                                   f"after the forward pass saved it for backward; {fix}")
            if written_since(a, node._stamp):
                raise RuntimeError(f"{node.name}{where}: input {i} (shape {a.shape}) was modified in place "
                                   f"after the forward pass saved it for backward; {fix}")
    if node._out is not None and written_since(node._out, node._stamp):
        raise RuntimeError(f"{node.name}{where}: its output (shape {node._out.shape}) was modified in place "
                           f"after the forward pass saved it for backward; {fix}")
