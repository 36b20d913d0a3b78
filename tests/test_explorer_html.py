"""The explorer page (viz.explore / viz.explorer.explorer_html), checked in pure Python: one self-contained file
(no network URL anywhere, the assets inlined), the embedded data reads back equal to explorer_data's, no text in
the data can end the script element, the size stays small for ResNet8, and the write is atomic."""

from __future__ import annotations

import html
import json
import math
import os
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest

import tinygrad_cnn as tg
from tinygrad_cnn import models
from tinygrad_cnn.nn import functional as F
from tinygrad_cnn.viz import explorer
from tinygrad_cnn.viz.explorer import explore, explorer_html
from tinygrad_cnn.viz.record import explorer_data

ASSETS = Path(explorer.__file__).parent / "assets"


def seed_loss(batch: int = 2):
    tg.manual_seed(0)
    model = models.SeedCNN()
    x = tg.Tensor(np.random.default_rng(0).standard_normal((batch, 1, 28, 28)).astype(np.float32))
    y = tg.Tensor(np.arange(batch) % 10)
    return model, F.cross_entropy(model(x), y)


class Page(HTMLParser):
    """The <script> elements of a page as a browser's tokenizer splits them, and every URL-bearing attribute."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.scripts: list[tuple[dict, str]] = []
        self.urls: list[str] = []
        self._open: dict | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.urls.extend(v for k, v in attrs.items() if k in ("src", "href", "action", "data", "poster") and v)
        if tag == "script":
            self._open, self._text = attrs, []

    def handle_data(self, data):
        if self._open is not None:
            self._text.append(data)

    def handle_endtag(self, tag):
        if tag == "script" and self._open is not None:
            self.scripts.append((self._open, "".join(self._text)))
            self._open = None


def parse(text: str) -> Page:
    page = Page()
    page.feed(text)
    page.close()
    return page


def embedded(text: str, element_id: str = "explorer-data"):
    found = [body for attrs, body in parse(text).scripts if attrs.get("id") == element_id]
    assert len(found) == 1, f"expected one <script id={element_id}>, found {len(found)}"
    return json.loads(found[0])


@pytest.fixture(scope="module")
def seed_page(tmp_path_factory):
    model, loss = seed_loss()
    path = tmp_path_factory.mktemp("explorer") / "seed.html"
    returned = explore(loss, model, path)
    return model, loss, path, returned, path.read_text(encoding="utf-8")


def test_explore_writes_one_self_contained_page(seed_page):
    _, _, path, returned, text = seed_page
    assert returned == path and path.is_file()
    assert text.startswith("<!DOCTYPE html>")
    page = parse(text)
    # nothing is fetched: no src/href/url() pointing at a network address, no external script or stylesheet
    assert not [u for u in page.urls if re.match(r"\s*(https?:)?//", u, re.I)], page.urls
    assert not re.search(r"""url\(\s*['"]?\s*(https?:)?//""", text, re.I)
    assert not re.search(r"<script[^>]*\bsrc\s*=", text, re.I)
    assert not re.search(r"<link\b", text, re.I)
    assert not re.search(r"@import", text, re.I)
    # the browser itself forbids every request
    assert re.search(r"""<meta http-equiv="Content-Security-Policy" content="default-src 'none';""", text)
    # the assets are inlined verbatim and every slot is filled
    assert (ASSETS / "explorer.js").read_text(encoding="utf-8") in text
    assert (ASSETS / "explorer.css").read_text(encoding="utf-8") in text
    assert "__EXPLORER_" not in text.replace((ASSETS / "explorer.js").read_text(encoding="utf-8"), "")
    # the hooks the browser tests use are in the page
    hooks = ("graph", "panel", "step-prev", "step-next", "step-slider", "step-caption", "toggle-direction", "legend")
    for hook in hooks:
        assert f'id="{hook}"' in text


def test_embedded_data_equals_explorer_data(seed_page):
    model, loss, _, _, text = seed_page
    again = explorer_data(loss, model)  # the graph is still there: explore kept it
    assert embedded(text) == json.loads(json.dumps(again))
    assert embedded(text, "explorer-options") == {"depth": None, "direction": "backward"}
    scripts = parse(text).scripts
    assert [a.get("type") for a, _ in scripts] == ["application/json", "application/json", None]


def test_explore_leaves_grads_alone_and_the_graph_usable(tmp_path):
    model, loss = seed_loss()
    explore(loss, model, tmp_path / "x.html")
    assert all(p.grad is None for p in model.parameters())
    loss.backward()  # still possible: explore ran with retain_graph
    assert all(p.grad is not None for p in model.parameters())


@pytest.mark.parametrize("evil", ["</script><script>alert(1)</script>", "</SCRIPT >", "<!--<script>", "a\u2028b"])
def test_no_label_can_end_the_script_element(evil):
    model, loss = seed_loss()
    data = explorer_data(loss, model, title=evil)
    data["forward"]["nodes"][0]["label"] = evil
    text = explorer_html(data)
    scripts = parse(text).scripts
    assert len(scripts) == 3  # data, options, the program: nothing broke out
    assert embedded(text) == json.loads(json.dumps(data))
    assert evil not in text.split("<script", 1)[1]
    assert f"<title>{html.escape(evil)}</title>" in text  # the title is escaped too


def test_non_finite_floats_become_the_records_strings():
    model, loss = seed_loss()
    data = explorer_data(loss, model)
    vid = next(iter(data["values"]))
    data["values"][vid]["stats"]["mean"] = math.nan
    data["values"][vid]["stats"]["max"] = -math.inf
    text = explorer_html(data)
    body = next(b for a, b in parse(text).scripts if a.get("id") == "explorer-data")
    assert "NaN" not in body and "Infinity" not in body  # JSON.parse would reject them
    stats = json.loads(body)["values"][vid]["stats"]
    assert stats["mean"] == "nan" and stats["max"] == "-inf"


def test_options_depth_view_and_docs_url(tmp_path):
    model, loss = seed_loss()
    path = explore(loss, model, tmp_path / "x.html", depth=1, create_graph=True, view="gradient",
                   docs_url="https://example.org/docs", title="second order")
    text = path.read_text(encoding="utf-8")
    assert embedded(text, "explorer-options") == {"depth": 1, "direction": "gradient"}
    data = embedded(text)
    assert data["create_graph"] is True and data["gradient_graph"]["nodes"]
    assert data["docs_base"] == "https://example.org/docs/"
    assert data["title"] == "second order" and "<title>second order</title>" in text
    # a derivation link is a navigation the user starts, not a request the page makes: still no src/url()
    assert not [u for u in parse(text).urls if "example.org" in u]


@pytest.mark.parametrize("kwargs, error, match", [
    ({"depth": -1}, ValueError, "depth"),
    ({"depth": 1.5}, TypeError, "depth"),
    ({"view": "sideways"}, ValueError, "view"),
    ({"view": "gradient"}, ValueError, "create_graph=True"),
    ({"docs_url": 3}, TypeError, "docs_url"),
    ({"title": 3}, TypeError, "title"),
])
def test_bad_arguments_name_the_problem(tmp_path, kwargs, error, match):
    model, loss = seed_loss()
    with pytest.raises(error, match=match):
        explore(loss, model, tmp_path / "x.html", **kwargs)
    assert not list(tmp_path.iterdir())


def test_explorer_html_rejects_what_is_not_explorer_data():
    with pytest.raises(TypeError, match="explorer_data"):
        explorer_html({"nodes": []})


def test_the_write_is_atomic(tmp_path, monkeypatch):
    model, loss = seed_loss()
    path = tmp_path / "page.html"
    path.write_text("old page", encoding="utf-8")
    # a failure before the write (not a scalar) leaves the old file alone
    with pytest.raises(ValueError, match="scalar"):
        explore(model(tg.zeros(1, 1, 28, 28)), model, path)
    assert path.read_text(encoding="utf-8") == "old page"

    # a failure at the rename leaves the old file whole and no temporary behind
    def broken_replace(src, dst):
        raise OSError("disk gone")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk gone"):
        explore(loss, model, path)
    monkeypatch.undo()
    assert path.read_text(encoding="utf-8") == "old page"
    assert [p.name for p in tmp_path.iterdir()] == ["page.html"]

    explore(loss, model, path)  # a good write replaces it, and only it
    assert path.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert [p.name for p in tmp_path.iterdir()] == ["page.html"]
    with pytest.raises(FileNotFoundError, match="does not exist"):
        explore(loss, model, tmp_path / "missing" / "page.html")


def test_resnet8_page_stays_small(tmp_path):
    tg.manual_seed(0)
    model = models.ResNet8()
    x = tg.Tensor(np.random.default_rng(1).standard_normal((4, 1, 28, 28)).astype(np.float32))
    loss = F.cross_entropy(model(x), tg.Tensor(np.arange(4)))
    path = explore(loss, model, tmp_path / "resnet8.html", depth=2)
    size = path.stat().st_size
    assert size < 3_000_000, f"ResNet8 explorer page is {size} bytes"
    data = embedded(path.read_text(encoding="utf-8"))
    assert len(data["backward"]["nodes"]) > 50 and len(data["steps"]) > 50
    assert {s["node"] for s in data["steps"]} <= {n["id"] for n in data["backward"]["nodes"]}
    big = [v for v in data["values"].values() if v["count"] > 64]
    assert big and all(v["data"] is None for v in big)  # large tensors keep statistics and heatmaps only


def test_assets_cannot_end_their_own_element():
    assert "</script" not in (ASSETS / "explorer.js").read_text(encoding="utf-8").lower()
    assert "</style" not in (ASSETS / "explorer.css").read_text(encoding="utf-8").lower()
    template = (ASSETS / "explorer.html").read_text(encoding="utf-8")
    for slot in ("TITLE", "CSS", "JS", "DATA", "OPTIONS"):
        assert f"__EXPLORER_{slot}__" in template


@pytest.mark.skipif(shutil.which("node") is None, reason="node (to check the script's syntax) is not installed")
def test_script_parses():
    result = subprocess.run(["node", "--check", str(ASSETS / "explorer.js")], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr
