"""The one random generator of the library, seeded by ``manual_seed``: factories, in-place fills (``uniform_``,
``normal_``), parameter initialisation, dropout and data shuffling all draw from it. It sits at the bottom of the
package (it imports only NumPy), so every layer can reach it."""

from __future__ import annotations

import numpy as np

from ._checks import as_int

_state = {"generator": np.random.default_rng()}


def manual_seed(seed: int) -> None:
    """Seed the generator used by ``rand``, ``randn``, parameter initialisation, dropout and shuffling."""
    _state["generator"] = np.random.default_rng(as_int("manual_seed", "seed", seed, low=0))


def generator() -> np.random.Generator:
    """The generator that ``manual_seed`` seeds."""
    return _state["generator"]
