"""Version counters: in-place writes are recorded, and a backward pass whose saved values changed refuses to run.

A write bumps a count kept per memory owner (the base array that all its views share) and stamps it with a global
clock. Each graph node records the clock when it is made, so at backward one comparison tells whether anything was
written since; only then are the node's saved arrays looked up. Arrays never written have no entry, and an entry
goes away with its array.
"""

from __future__ import annotations

import weakref

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
