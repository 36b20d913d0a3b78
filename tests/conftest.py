"""Hypothesis profiles: `ci` (default: derandomized, bounded) and `dev` (HYPOTHESIS_PROFILE=dev, many more examples)."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import numpy as np
from hypothesis import HealthCheck, settings

if TYPE_CHECKING:
    import tinygrad_cnn as tg

settings.register_profile(
    "ci", derandomize=True, max_examples=25, deadline=None, print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile(
    "dev", max_examples=300, deadline=None, print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


# ---- helpers shared by the test modules: `from conftest import leaf` ------------------------------------------
# tests/ is no package, so pytest (rootdir, prepend import mode) puts it on sys.path and this module is importable
# as `conftest`. tinygrad_cnn is imported inside the helpers, so a broken package fails the tests that use them and
# not the loading of this file (which every test module, tinygrad_cnn's or not, goes through).


def leaf(value) -> tg.Tensor:
    """A float64 leaf that requires grad, from a Python number, a nested list or an array (copied only if needed)."""
    import tinygrad_cnn as tg

    return tg.Tensor(np.asarray(value, dtype=np.float64), requires_grad=True)


def random_leaf(*shape: int, positive: bool = False, rng: np.random.Generator) -> tg.Tensor:
    """A float64 leaf of the given shape that requires grad, drawn from `rng`: standard normal, or uniform on
    [0.5, 2) when `positive`. The caller owns the generator, so a module keeps one deterministic stream."""
    import tinygrad_cnn as tg

    data = rng.uniform(0.5, 2.0, shape) if positive else rng.standard_normal(shape)
    return tg.Tensor(data, requires_grad=True)
