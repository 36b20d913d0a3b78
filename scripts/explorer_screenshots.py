"""Regenerate the explorer example and screenshots of docs/graphs.md (needs Playwright and a Chromium).

    python scripts/explorer_screenshots.py [--docs docs] [--check]

Writes docs/examples/seed_explorer.html, the explorer (``viz.explore``) of the tutorial CNN (SeedCNN, seed 0,
cross-entropy loss on a fixed batch of 2 random images), then opens it from file:// in a headless Chromium with
every network request aborted and takes three screenshots into docs/images:

* explorer_overview.png: the backward graph as the page opens, module boxes and all;
* explorer_panel.png: the forward graph with the parameter conv.weight clicked: its two 5 x 5 kernels and their
  gradient as numbers and heatmaps;
* explorer_step.png: the backward pass stepped to MaxPool2dBackward, its incoming gradient and what it sends
  highlighted, and its panel.

The browser is ``TINYGRAD_CNN_CHROMIUM``, else /usr/bin/chromium or chromium / chromium-browser / google-chrome
on PATH (Playwright's own browser downloads are not used). ``--check`` only compares the example's embedded data
with a fresh recording (no browser needed) and exits 1 when it is stale; tests/test_explorer_docs.py does the same.
"""

from __future__ import annotations

import argparse
import base64
import json
import math
import os
import re
import shutil
import sys
import time
from pathlib import Path

import numpy as np

from tinygrad_cnn import Tensor, manual_seed, viz
from tinygrad_cnn.models import SeedCNN
from tinygrad_cnn.nn import functional as F

ROOT = Path(__file__).resolve().parents[1]
BATCH = 2
EXAMPLE = Path("examples") / "seed_explorer.html"
TITLE = "SeedCNN: backward pass"
#: the derivation links, relative to docs/examples/ (the site puts derivations/conv2d/ beside examples/)
DOCS_URL = "../"
DATA = re.compile(r'<script type="application/json" id="explorer-data">(.*?)</script>', re.S)
VIEWPORT = {"width": 1400, "height": 900}
TALL = {"width": 1400, "height": 1200}


def seed_loss() -> tuple[SeedCNN, Tensor]:
    """A freshly initialised SeedCNN (seed 0) and its cross-entropy loss on a fixed batch of random images."""
    manual_seed(0)
    model = SeedCNN()
    x = Tensor(np.random.default_rng(0).standard_normal((BATCH, 1, 28, 28)).astype(np.float32))
    return model, F.cross_entropy(model(x), Tensor(np.arange(BATCH) % 10))


def example_data() -> dict:
    """The data the example page embeds, as JSON would read it back."""
    model, loss = seed_loss()
    data = viz.explorer_data(loss, params=model, title=TITLE)
    data["docs_base"] = DOCS_URL
    return json.loads(json.dumps(data))


def embedded_data(page: Path) -> dict:
    """The data embedded in a written explorer page."""
    found = DATA.search(page.read_text(encoding="utf-8"))
    if found is None:
        raise ValueError(f"{page} holds no explorer data (no <script id=\"explorer-data\">)")
    return json.loads(found.group(1))


def compare(a: object, b: object, where: str = "data") -> None:
    """Raise ValueError naming the first place where the JSON values ``a`` and ``b`` differ; floats are compared
    to float32 rounding (another BLAS may sum in another order) and heatmap bytes to one grey level."""
    if isinstance(a, dict) and isinstance(b, dict):
        if a.keys() != b.keys():
            raise ValueError(f"{where}: the keys {sorted(a.keys() ^ b.keys())} differ")
        for key in a:
            if key == "b64":
                x = np.frombuffer(base64.b64decode(a[key]), np.uint8).astype(int)
                y = np.frombuffer(base64.b64decode(b[key]), np.uint8).astype(int)
                if x.shape != y.shape or np.abs(x - y).max(initial=0) > 1:
                    raise ValueError(f"{where}.b64: the heatmap differs")
            else:
                compare(a[key], b[key], f"{where}.{key}")
    elif isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            raise ValueError(f"{where}: {len(a)} items against {len(b)}")
        for i, (x, y) in enumerate(zip(a, b)):
            compare(x, y, f"{where}[{i}]")
    elif isinstance(a, float) or isinstance(b, float):
        numbers = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (a, b))
        if not numbers or not math.isclose(a, b, rel_tol=1e-5, abs_tol=1e-7):
            raise ValueError(f"{where}: {a!r} against {b!r}")
    elif a != b:
        raise ValueError(f"{where}: {a!r} against {b!r}")


def write_example(docs: Path) -> Path:
    model, loss = seed_loss()
    path = docs / EXAMPLE
    path.parent.mkdir(parents=True, exist_ok=True)
    return viz.explore(loss, params=model, path=path, title=TITLE, docs_url=DOCS_URL)


def find_browser() -> str | None:
    named = os.environ.get("TINYGRAD_CNN_CHROMIUM")
    if named:
        return named if Path(named).is_file() else None
    if Path("/usr/bin/chromium").is_file():
        return "/usr/bin/chromium"
    return next((p for n in ("chromium", "chromium-browser", "google-chrome") if (p := shutil.which(n))), None)


def screenshots(page_file: Path, images: Path, executable: str) -> dict[str, float]:
    """Take the three screenshots of ``page_file`` into ``images``; returns the load time and layout time."""
    from playwright.sync_api import sync_playwright

    left: list[str] = []
    errors: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable)
        context = browser.new_context(viewport=VIEWPORT, device_scale_factor=1)

        def route(r) -> None:
            if r.request.url.startswith("file://"):
                r.continue_()
            else:
                left.append(r.request.url)
                r.abort()
        context.route("**/*", route)
        page = context.new_page()
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        start = time.perf_counter()
        page.goto(page_file.resolve().as_uri())
        page.wait_for_function("window.explorer && window.explorer.ready === true")
        timing = {"load_seconds": time.perf_counter() - start, "layout_ms": page.evaluate("window.explorer.layoutMs")}
        data = page.evaluate("window.explorer.data")
        images.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(images / "explorer_overview.png"))

        page.click("#toggle-direction")  # forward graph, the conv kernels
        weight = next(n["id"] for n in data["forward"]["nodes"] if n.get("name") == "conv.weight")
        page.click(f"#graph svg g.node[data-id='{weight}']")
        page.set_viewport_size(TALL)  # room for the kernels' gradient below them
        page.screenshot(path=str(images / "explorer_panel.png"))
        page.set_viewport_size(VIEWPORT)

        page.click("#toggle-direction")  # back to the backward graph, stepped to the max-pool
        labels = {n["id"]: n["label"] for n in data["backward"]["nodes"]}
        pool = next(i for i, s in enumerate(data["steps"]) if labels[s["node"]] == "MaxPool2dBackward")
        page.evaluate(f"window.explorer.setStep({pool})")
        page.screenshot(path=str(images / "explorer_step.png"))
        context.close()
        browser.close()
    if left or errors:
        raise RuntimeError(f"the explorer page was not clean: network requests {left}, errors {errors}")
    return timing


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=Path, default=ROOT / "docs")
    parser.add_argument("--check", action="store_true", help="only compare the example's data; exit 1 if stale")
    args = parser.parse_args(argv)
    page_file = args.docs / EXAMPLE
    if args.check:
        if not page_file.is_file():
            print(f"{page_file} is missing: run python scripts/explorer_screenshots.py")
            return 1
        try:
            compare(embedded_data(page_file), example_data())
        except ValueError as err:
            print(f"{page_file} is stale ({err}): run python scripts/explorer_screenshots.py")
            return 1
        print(f"{page_file}: up to date")
        return 0
    write_example(args.docs)
    print(f"wrote {page_file} ({page_file.stat().st_size / 1e3:.0f} kB)")
    executable = find_browser()
    if executable is None:
        print("no Chromium found (set TINYGRAD_CNN_CHROMIUM): the screenshots were not taken", file=sys.stderr)
        return 1
    timing = screenshots(page_file, args.docs / "images", executable)
    print(f"screenshots in {args.docs / 'images'}: explorer_overview.png, explorer_panel.png, explorer_step.png; "
          f"the page loaded in {timing['load_seconds']:.2f} s (layout {timing['layout_ms']:.0f} ms)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
