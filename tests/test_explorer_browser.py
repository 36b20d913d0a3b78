"""The explorer page (``viz.explore``) in a real headless browser: Debian's Chromium driven by Playwright.

Every page is opened from ``file://`` with the network blocked: each request that is not ``file://`` is aborted,
and every request is recorded, so a test also fails if the page merely *tried* to reach the network. The tests
read the page through the DOM hooks documented at the top of ``tinygrad_cnn/viz/assets/explorer.js``.

The browser is the one named by ``TINYGRAD_CNN_CHROMIUM``, else ``/usr/bin/chromium``, ``chromium``,
``chromium-browser`` or ``google-chrome`` on PATH; without one (or without the ``playwright`` package) the tests
skip, saying how to install it. Playwright's own browser downloads are never used.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import time
from pathlib import Path

import numpy as np
import pytest

import tinygrad_cnn as tg
from tinygrad_cnn import viz
from tinygrad_cnn.autograd import _topological_order
from tinygrad_cnn.models import create_model
from tinygrad_cnn.nn import functional as F

BROWSER_ENV = "TINYGRAD_CNN_CHROMIUM"
BROWSER_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
INSTALL = (f"install Chromium (Debian/Ubuntu: `sudo apt-get install chromium`; macOS: `brew install --cask "
           f"chromium`) or set {BROWSER_ENV} to a Chromium or Chrome executable, and `pip install playwright` "
           "(the dev extra has it; no `playwright install` is needed)")
#: generous: loading is well under a second for these models; a freeze would hit this
TIMEOUT_MS = 60_000


def find_browser() -> str | None:
    """The Chromium or Chrome executable the tests drive, or None."""
    named = os.environ.get(BROWSER_ENV)
    if named:
        return named if Path(named).is_file() else None
    if Path("/usr/bin/chromium").is_file():
        return "/usr/bin/chromium"
    return next((found for name in BROWSER_NAMES if (found := shutil.which(name))), None)


def launched_browser(who: str):
    """Yield a launched headless Chromium for a module's tests (``who`` names them in the skip reasons), closed
    afterwards; skip when Playwright or a browser is missing, saying how to install them."""
    sync_api = pytest.importorskip("playwright.sync_api", reason=f"{who} need Playwright: {INSTALL}")
    executable = find_browser()
    if executable is None:
        named = os.environ.get(BROWSER_ENV)
        where = f"{BROWSER_ENV}={named} is not a file" if named else "no Chromium or Chrome was found"
        pytest.skip(f"{who} need a browser: {where}; {INSTALL}")
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=executable)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture(scope="module")
def browser():
    yield from launched_browser("the explorer's browser tests")


class Page:
    """One explorer page opened from file:// with the network blocked; records requests and errors."""

    def __init__(self, browser, path: Path) -> None:
        self.requests: list[str] = []
        self.blocked: list[str] = []
        self.errors: list[str] = []
        self.context = browser.new_context(viewport={"width": 1400, "height": 900})
        self.context.route("**/*", self._route)
        self.page = self.context.new_page()
        self.page.set_default_timeout(TIMEOUT_MS)
        self.page.on("request", lambda request: self.requests.append(request.url))
        self.page.on("console", lambda message: self.errors.append(message.text) if message.type == "error" else None)
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))
        start = time.perf_counter()
        self.page.goto(path.resolve().as_uri())
        self.page.wait_for_function("window.explorer && window.explorer.ready === true")
        self.load_seconds = time.perf_counter() - start
        self.data = self.page.evaluate("window.explorer.data")

    def _route(self, route) -> None:
        if route.request.url.startswith("file://"):
            route.continue_()
        else:
            self.blocked.append(route.request.url)
            route.abort()

    def js(self, expression: str):
        return self.page.evaluate(expression)

    def node_ids(self) -> list[str]:
        return self.js("[...document.querySelectorAll('#graph svg g.node')].map(n => n.getAttribute('data-id'))")

    def box_ids(self) -> list[str]:
        return self.js("[...document.querySelectorAll('#graph svg g.module')].map(n => n.getAttribute('data-id'))")

    def classed(self, cls: str) -> list[str]:
        return self.js(f"[...document.querySelectorAll('#graph svg g.node.{cls}')].map(n => n.getAttribute('data-id'))")

    def caption_step(self) -> int:
        return int(self.page.get_attribute("#step-caption", "data-step"))

    def close(self) -> None:
        """Assert the page stayed clean (no error, nothing but file:// requested), then close it."""
        try:
            assert self.errors == [], f"console or page errors: {self.errors}"
            assert self.blocked == [], f"the page tried to reach the network: {self.blocked}"
            assert self.requests and all(url.startswith("file://") for url in self.requests), self.requests
        finally:
            self.context.close()


def cnn_loss(name: str, batch: int = 2) -> tuple[tg.Tensor, object]:
    tg.manual_seed(0)
    model = create_model(name)
    x = tg.Tensor(np.random.default_rng(0).standard_normal((batch, 1, 28, 28)).astype(np.float32))
    y = tg.Tensor(np.arange(batch) % 10)
    return F.cross_entropy(model(x), y), model


@pytest.fixture(scope="module")
def seed_page_file(tmp_path_factory) -> tuple[Path, list[str]]:
    """The SeedCNN explorer, and the engine's order of its VJP nodes (class names)."""
    loss, model = cnn_loss("seed")
    engine = [type(node).__name__ for node in _topological_order([loss.grad_fn])]
    path = viz.explore(loss, params=model, path=tmp_path_factory.mktemp("explorer") / "seed.html")
    return path, engine


@pytest.fixture
def seed(browser, seed_page_file):
    page = Page(browser, seed_page_file[0])
    yield page
    page.close()


def expected_boxes(data: dict, graph: str) -> set[str]:
    """The modules holding a node of ``graph``, with every enclosing module."""
    parent = {m["id"]: m["parent"] for m in data["modules"]}
    boxes = set()
    for node in data[graph]["nodes"]:
        m = node.get("module")
        while m is not None and m not in boxes:
            boxes.add(m)
            m = parent.get(m)
    return boxes


def test_seed_page_loads_clean_with_every_node_and_module_box(seed):
    data = seed.data
    assert seed.js("window.explorer.direction") == "backward"
    assert sorted(seed.node_ids()) == sorted(n["id"] for n in data["backward"]["nodes"])
    assert set(seed.box_ids()) == expected_boxes(data, "backward") and len(seed.box_ids()) == 5
    labels = seed.js("[...document.querySelectorAll('#graph svg g.node')].map(n => n.textContent).join(' ')")
    for needed in ("Conv2dBackward", "MaxPool2dBackward", "AccumulateGrad conv.weight", "AccumulateGrad fc2.bias"):
        assert needed in labels
    edges = seed.js("document.querySelectorAll('#graph svg g.edge').length")
    assert edges == len(data["backward"]["edges"])


def stat_cells(section) -> dict[str, str]:
    heads = section.locator("table.stats th").all_inner_texts()
    cells = section.locator("table.stats td").all_inner_texts()
    return dict(zip(heads, cells))


def test_clicking_a_node_shows_its_op_values_gradients_and_vjp(seed):
    data = seed.data
    conv = next(n for n in data["backward"]["nodes"] if n["label"] == "Conv2dBackward")
    seed.page.click(f"#graph svg g.node[data-id='{conv['id']}']")
    assert seed.page.get_attribute("#panel", "data-node") == conv["id"]
    assert seed.classed("selected") == [conv["id"]]
    panel = seed.page.locator("#panel")
    text = panel.inner_text()
    assert "Conv2dBackward" in text and "The primitive Conv2d" in text and "VJP" in text
    assert panel.locator("a.derivation").count() == 1
    step = next(s for s in data["steps"] if s["node"] == conv["id"])
    for vid in [step["grad_in"], *(s["grad"] for s in step["sends"])]:  # its incoming and outgoing gradients
        section = panel.locator(f".value[data-value='{vid}']").first
        shown = stat_cells(section)
        for key in ("min", "max", "norm"):
            want = data["values"][vid]["stats"][key]
            assert math.isclose(float(shown[key]), want, rel_tol=1e-3, abs_tol=1e-12), (vid, key, shown, want)
    assert panel.locator(".value canvas").count() > 0  # heatmaps of the 4-D gradients

    # a small tensor: its numbers themselves
    bias = next(n for n in data["backward"]["nodes"] if n["label"] == "AccumulateGrad conv.bias")
    seed.page.click(f"#graph svg g.node[data-id='{bias['id']}']")
    grad = data["values"][next(e["grad"] for e in data["backward"]["edges"] if e["to"] == bias["id"])]
    numbers = seed.page.locator("#panel pre.numbers").first.inner_text()
    shown = [float(t) for t in numbers.strip("[]").split(",")]
    np.testing.assert_allclose(shown, grad["data"], rtol=1e-4)


def test_the_step_through_follows_the_engine_order(seed, seed_page_file):
    data, engine = seed.data, seed_page_file[1]
    steps = data["steps"]
    labels = {n["id"]: n for n in data["backward"]["nodes"]}
    vjps = [labels[s["node"]]["label"] for s in steps if labels[s["node"]]["kind"] == "vjp"]
    assert vjps == [name + "Backward" for name in engine]  # the page's steps are the engine's order
    assert seed.caption_step() == -1 and seed.classed("current") == []
    seen = []
    for k in range(len(steps)):  # the Next button, through every step
        seed.page.click("#step-next")
        assert seed.caption_step() == k
        assert seed.classed("current") == [steps[k]["node"]]
        assert sorted(seed.classed("done")) == sorted({s["node"] for s in steps[:k]})
        assert sorted(seed.classed("receives")) == sorted({s["to"] for s in steps[k]["sends"]})
        caption = seed.page.inner_text("#step-caption")
        assert caption.startswith(f"step {k + 1}/{len(steps)}: {labels[steps[k]['node']]['label']}")
        seen.append(seed.classed("current")[0])
    assert seen == [s["node"] for s in steps]
    assert seed.page.is_disabled("#step-next")

    seed.page.fill("#step-slider", "4")  # the slider: value k = step k done
    assert seed.caption_step() == 3 and seed.classed("current") == [steps[3]["node"]]
    grad_in = seed.js("document.querySelectorAll('#graph svg g.edge.grad-in').length")
    grad_out = seed.js("document.querySelectorAll('#graph svg g.edge.grad-out').length")
    assert grad_in >= 1 and grad_out == len(steps[3]["sends"])

    seed.page.focus("#graph")  # the arrow keys
    seed.page.keyboard.press("ArrowRight")
    assert seed.caption_step() == 4 and seed.classed("current") == [steps[4]["node"]]
    seed.page.keyboard.press("ArrowLeft")
    seed.page.keyboard.press("ArrowLeft")
    assert seed.caption_step() == 2 and seed.classed("current") == [steps[2]["node"]]
    seed.page.click("#step-prev")
    assert seed.caption_step() == 1


def test_collapsing_and_expanding_a_module_changes_the_nodes(seed):
    full = set(seed.node_ids())
    fc1 = next(m["id"] for m in seed.data["modules"] if m["path"] == "fc1")
    # the box's header: the label lets clicks through to the box's outline, which a user hits there
    seed.page.click(f"#graph svg g.module[data-id='{fc1}'] > text", force=True)
    collapsed = set(seed.node_ids())
    assert f"module:{fc1}" in collapsed and fc1 not in seed.box_ids()
    assert len(collapsed) < len(full)
    hidden = full - collapsed
    linear = {n["id"] for n in seed.data["backward"]["nodes"] if n["module"] == fc1}
    assert linear <= hidden  # fc1's LinearBackward went into the module node
    seed.page.click(f"#graph svg g.node[data-id='module:{fc1}']")
    assert set(seed.node_ids()) == full and fc1 in seed.box_ids()

    seed.page.click("#collapse-all")
    assert len(seed.node_ids()) < len(collapsed) and seed.box_ids() == []
    seed.page.click("#expand-all")
    assert set(seed.node_ids()) == full


def test_toggling_between_the_forward_and_the_backward_graph(seed):
    data = seed.data
    seed.page.click("#toggle-direction")
    assert seed.js("window.explorer.direction") == "forward"
    assert sorted(seed.node_ids()) == sorted(n["id"] for n in data["forward"]["nodes"])
    assert set(seed.box_ids()) == expected_boxes(data, "forward")
    weight = next(n for n in data["forward"]["nodes"] if n["name"] == "conv.weight")
    seed.page.click(f"#graph svg g.node[data-id='{weight['id']}']")
    panel = seed.page.locator("#panel")
    assert "conv.weight" in panel.inner_text() and panel.locator(".value canvas").count() > 0  # the kernels
    seed.page.focus("#graph")
    seed.page.keyboard.press("d")
    assert seed.js("window.explorer.direction") == "backward"
    assert sorted(seed.node_ids()) == sorted(n["id"] for n in data["backward"]["nodes"])


@pytest.mark.parametrize("name", ["lenet5", "resnet8"])
def test_larger_models_load_and_step_without_freezing(name, browser, tmp_path):
    loss, model = cnn_loss(name)
    path = viz.explore(loss, params=model, path=tmp_path / f"{name}.html")
    page = Page(browser, path)
    try:
        data = page.data
        assert sorted(page.node_ids()) == sorted(n["id"] for n in data["backward"]["nodes"])
        assert set(page.box_ids()) == expected_boxes(data, "backward")
        page.page.focus("#graph")
        page.page.keyboard.press("End")
        last = data["steps"][-1]["node"]
        assert page.caption_step() == len(data["steps"]) - 1 and page.classed("current") == [last]
        page.page.click("#toggle-direction")
        assert len(page.node_ids()) == len(data["forward"]["nodes"])
        print(f"{name}: {path.stat().st_size / 1e6:.2f} MB, {len(data['backward']['nodes'])} backward nodes, "
              f"loaded in {page.load_seconds:.2f} s")  # reported with -s; no assertion on time
    finally:
        page.close()


def test_a_second_order_page_shows_the_graph_of_the_gradient_computation(browser, tmp_path, seed_page_file):
    """create_graph=True: the Gradient graph button shows the ops the VJPs recorded, lit as the steps make them;
    a page without it has no such button."""
    loss, model = cnn_loss("seed")
    path = viz.explore(loss, params=model, path=tmp_path / "second.html", create_graph=True)
    page = Page(browser, path)
    try:
        made = {n["id"]: n["step"] for n in page.data["gradient_graph"]["nodes"]}
        assert made and page.js("window.explorer.direction") == "backward"
        page.page.click("#show-gradients")
        assert page.js("window.explorer.direction") == "gradient"
        assert set(made) <= set(page.node_ids())
        k = max(step for step in made.values() if step is not None)
        page.js(f"window.explorer.setStep({k})")
        assert set(page.classed("current")) == {i for i, step in made.items() if step == k}
        assert set(page.classed("done")) == {i for i, step in made.items() if step is not None and step < k}
    finally:
        page.close()
    plain = Page(browser, seed_page_file[0])
    try:
        assert plain.page.locator("#show-gradients").count() == 0
    finally:
        plain.close()


def test_no_browser_skips_with_a_message_naming_the_install(monkeypatch, tmp_path):
    monkeypatch.setenv(BROWSER_ENV, str(tmp_path / "missing-chromium"))
    assert find_browser() is None
    assert "apt-get install chromium" in INSTALL and BROWSER_ENV in INSTALL
    monkeypatch.setenv(BROWSER_ENV, str(Path(json.__file__)))  # any existing file is taken as named
    assert find_browser() == str(Path(json.__file__))


def test_the_network_guard_catches_a_page_that_reaches_out(browser, tmp_path):
    """The guard itself: a page loading an http image is aborted, recorded, and fails close()."""
    path = tmp_path / "leaky.html"
    path.write_text("<!DOCTYPE html><img src='http://example.invalid/x.png'>"
                    "<script>window.explorer = {ready: true, data: {}};</script>", encoding="utf-8")
    page = Page(browser, path)
    page.page.wait_for_load_state("load")
    with pytest.raises(AssertionError, match=r"errors|network"):
        page.close()
    assert page.blocked == ["http://example.invalid/x.png"]
