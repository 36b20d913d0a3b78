"""The explorer example and screenshots of docs/graphs.md match their generator, scripts/explorer_screenshots.py:
the example page embeds the data a fresh recording gives (regenerate with ``python
scripts/explorer_screenshots.py`` when this fails), and the page shows the screenshots and links the example."""

from __future__ import annotations

import base64
import importlib.util
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
SHOTS = ("explorer_overview.png", "explorer_panel.png", "explorer_step.png")


@pytest.fixture(scope="module")
def generator():
    spec = importlib.util.spec_from_file_location("explorer_screenshots", ROOT / "scripts" / "explorer_screenshots.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_example_page_embeds_what_its_generator_records(generator):
    page = DOCS / generator.EXAMPLE
    assert page.is_file(), "docs/examples/seed_explorer.html is missing: run python scripts/explorer_screenshots.py"
    stored = generator.embedded_data(page)
    generator.compare(stored, generator.example_data())  # raises ValueError naming the first difference
    assert stored["title"] == generator.TITLE and stored["docs_base"] == "../"
    assert len(stored["steps"]) == 15 and page.stat().st_size < 1_000_000  # small enough to ship in the docs


def test_the_comparison_catches_a_changed_number(generator):
    data = generator.example_data()
    changed = generator.example_data()
    vid = next(iter(changed["values"]))
    changed["values"][vid]["stats"]["norm"] = float(changed["values"][vid]["stats"]["norm"]) * 1.01 + 1.0
    with pytest.raises(ValueError, match=r"values\.v\d+\.stats\.norm"):
        generator.compare(data, changed)
    flipped = generator.example_data()
    tile = next(v["heatmap"]["tiles"][0] for v in flipped["values"].values() if v.get("heatmap"))
    raw = bytearray(base64.b64decode(tile["b64"]))
    raw[0] = (raw[0] + 128) % 256
    tile["b64"] = base64.b64encode(bytes(raw)).decode("ascii")
    with pytest.raises(ValueError, match="heatmap differs"):
        generator.compare(data, flipped)


def test_the_check_mode_reports_a_stale_example(generator, tmp_path, capsys):
    (tmp_path / "examples").mkdir()
    stale = (DOCS / generator.EXAMPLE).read_text(encoding="utf-8").replace('"steps":[', '"steps":[{"stale":1},', 1)
    (tmp_path / generator.EXAMPLE).write_text(stale, encoding="utf-8")
    assert generator.main(["--docs", str(tmp_path), "--check"]) == 1
    assert "stale" in capsys.readouterr().out


def test_graphs_page_shows_the_screenshots_and_links_the_example():
    text = (DOCS / "graphs.md").read_text(encoding="utf-8")
    assert "## The interactive explorer" in text
    for name in SHOTS:
        assert f"](images/{name})" in text
        assert (DOCS / "images" / name).read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    assert re.search(r"\]\(examples/seed_explorer\.html\)", text)
