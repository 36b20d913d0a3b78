"""The interactive backward-pass explorer: one self-contained HTML file, no server, no network.

``explore(loss, params=model, path="backprop.html")`` records one backward pass of ``loss`` with
:func:`tinygrad_cnn.viz.record.explorer_data` (``retain_graph=True`` and ``grad()``: no ``.grad`` is touched and
``loss.backward()`` still works afterwards) and writes the page: the forward and the backward graph (laid out in
the browser, module boxes that collapse and expand), a panel with each node's op, arguments, values, gradients,
what its VJP saved, the VJP formula and the derivation page, and a step-through of the backward pass in the
engine's order. The data is embedded as JSON and the script and styles (``viz/assets/``) are inlined, so the
file opens from ``file://`` in any current browser; its Content-Security-Policy forbids every network request.

Call it before ``loss.backward()`` (or after ``backward(retain_graph=True)``): the forward values are the ones
the graph still holds.
"""

from __future__ import annotations

import functools
import html
import json
import math
import os
import re
from importlib import resources
from pathlib import Path
from typing import Any

from .._checks import as_choice, as_int
from .._files import atomic_write_text
from ..tensor_class import Tensor
from .record import explorer_data

__all__ = ["VIEWS", "explore", "explorer_html"]

#: the graphs the page can open on ("gradient" needs ``create_graph=True``)
VIEWS = ("backward", "forward", "gradient")
_ASSETS = ("explorer.html", "explorer.js", "explorer.css")
_SLOT = re.compile(r"__EXPLORER_(TITLE|CSS|JS|DATA|OPTIONS)__")


@functools.lru_cache(maxsize=1)
def _assets() -> dict[str, str]:
    """The page template, script and styles shipped in ``tinygrad_cnn/viz/assets``."""
    folder = resources.files("tinygrad_cnn.viz") / "assets"
    text = {name: (folder / name).read_text(encoding="utf-8") for name in _ASSETS}
    # inlined verbatim: neither may end its own element early
    for name, closing in (("explorer.js", "</script"), ("explorer.css", "</style")):
        if closing in text[name].lower():
            raise RuntimeError(f"explorer: the asset {name} contains {closing!r}, which would end it early in the page")
    return text


def _finite(value: Any) -> Any:
    """``value`` with every non-finite float as the record's strings "nan", "inf", "-inf" (JSON has no NaN)."""
    if isinstance(value, float) and not math.isfinite(value):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def _script_json(value: Any) -> str:
    """JSON safe inside ``<script type="application/json">``: every ``<`` written as ``\\u003c``, so no text in
    the data (a label ``</script>``, ``<!--``) can end the element; ``JSON.parse`` reads the same value back."""
    try:
        text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    except ValueError:  # a NaN or infinity the record left as a float
        text = json.dumps(_finite(value), ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return text.replace("<", "\\u003c").replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


def explorer_html(data: dict[str, Any], *, depth: int | None = None, view: str = "backward") -> str:
    """The explorer page for ``data`` (the dict of :func:`~tinygrad_cnn.viz.record.explorer_data`) as one HTML
    string with everything inlined. ``depth``: modules nested ``depth`` deep start collapsed into one node each
    (the model's own call is depth 0; None opens every box). ``view``: the graph shown first."""
    if not isinstance(data, dict) or "forward" not in data or "backward" not in data:
        raise TypeError("explorer_html: data must be the dict of viz.record.explorer_data(...), got "
                        f"{type(data).__name__}")
    if depth is not None:
        depth = as_int("explorer_html", "depth", depth, low=0)
    view = as_choice("explorer_html", "view", view, VIEWS)
    if view == "gradient" and not data.get("gradient_graph"):
        raise ValueError("explorer_html: view='gradient' needs the gradient graph; record with create_graph=True")
    assets = _assets()
    parts = {
        "TITLE": html.escape(str(data.get("title") or "backward pass")),
        "CSS": assets["explorer.css"],
        "JS": assets["explorer.js"],
        "DATA": _script_json(data),
        "OPTIONS": _script_json({"depth": depth, "direction": view}),
    }
    # one pass: text put into a slot is never searched for slots again
    return _SLOT.sub(lambda m: parts[m.group(1)], assets["explorer.html"])


def explore(output: Tensor, params: Any = None, path: str | os.PathLike = "backprop.html", *, depth: int | None = None,
            create_graph: bool = False, max_elements: int = 64, heatmap_size: int = 32, title: str | None = None,
            docs_url: str | None = None, view: str = "backward") -> Path:
    """Write the interactive explorer of one backward pass of the scalar ``output`` to ``path``; returns the path.

    ``params``: an ``nn.Module`` (parameter names and module boxes) or a dict name -> Tensor. The gradients are
    computed with ``retain_graph=True`` through ``grad()``: no ``.grad`` changes and the graph stays usable (call
    ``loss.backward()`` afterwards as usual); ``create_graph=True`` also records the graph of the gradient
    computation (second order; shown as the "gradient graph"). Tensors above ``max_elements`` elements keep
    statistics and heatmaps (planes averaged down to ``heatmap_size`` pixels a side) only. ``depth``: modules
    nested that deep start collapsed (the model's own call is depth 0; None: every box open). ``docs_url``:
    where the derivation links point (e.g. the project's documentation site; default: relative links
    ``derivations/<page>/``). ``view``: "backward", "forward" or "gradient", the graph shown first. The file is
    written atomically: a reader sees the old file or the new one.
    """
    if docs_url is not None and not isinstance(docs_url, str):
        raise TypeError(f"explore: docs_url must be a str (a URL prefix) or None, got {type(docs_url).__name__}")
    if title is not None and not isinstance(title, str):
        raise TypeError(f"explore: title must be a str or None, got {type(title).__name__}")
    if depth is not None:
        depth = as_int("explore", "depth", depth, low=0)
    view = as_choice("explore", "view", view, VIEWS)
    if view == "gradient" and not create_graph:
        raise ValueError("explore: view='gradient' shows the graph of the gradient computation; pass "
                         "create_graph=True")
    data = explorer_data(output, params, create_graph=create_graph, max_elements=max_elements,
                         heatmap_size=heatmap_size, title=title)
    if docs_url is not None:
        data["docs_base"] = docs_url if docs_url.endswith("/") or not docs_url else docs_url + "/"
    atomic_write_text(path, explorer_html(data, depth=depth, view=view), who="explore")
    return Path(path)
