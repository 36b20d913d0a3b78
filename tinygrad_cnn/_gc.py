"""Keep the garbage collector's full collections off the objects that exist when the package is imported.

CPython's cyclic garbage collector walks every tracked object on a full (oldest-generation) collection. After
``import tinygrad_cnn`` about 33,000 are alive: NumPy's, the standard library's and this package's modules,
functions, classes and their dicts. A full collection of them takes 4 to 11 ms on the development machine, and a
training loop of small ops triggers one every hundred steps or so (each op leaves about ten tracked objects alive
until its backward pass), so one step in a hundred or so took 5 to 11 times the median step (the benchmark's
200-op chain, docs/performance.md). The objects alive at import are the program's modules: they live until the
interpreter exits, and walking them never finds garbage.

``gc.freeze()`` moves them to the permanent generation, which collections skip; every object created afterwards
is collected exactly as before. A ``gc.collect()`` first leaves any garbage already waiting to be collected out of
the permanent generation. Set ``TINYGRAD_CNN_GC=default`` in the environment to leave the collector alone;
``gc.unfreeze()`` undoes it at any time.
"""

from __future__ import annotations

import gc
import os


def freeze_import_objects() -> int:
    """Collect, then freeze every object alive now; the number of objects in the permanent generation afterwards
    (``gc.get_freeze_count()``), 0 when opted out."""
    if os.environ.get("TINYGRAD_CNN_GC", "").lower() == "default":
        return 0
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()
