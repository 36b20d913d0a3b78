"""docs/backward_pass.md shows the numbers its code prints: each python block that prints is followed by a
```text block holding that output, and running the page reproduces it (numbers to within the last digit shown,
everything else exactly)."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

import numpy as np
import pytest

from tinygrad_cnn import Tensor, viz
from tinygrad_cnn.nn import functional as F

ROOT = Path(__file__).resolve().parents[1]
PAGE = ROOT / "docs" / "backward_pass.md"
BLOCK = re.compile(r"^```python\n(.*?)^```\n(?:\n```text\n(.*?)^```\n)?", re.S | re.M)
NUMBER = re.compile(r"-?\d+\.\d*(?:e[-+]?\d+)?|-?\d+")


def blocks() -> list[tuple[str, str | None]]:
    """(code, the output shown after it or None) for each python block of the page, in order."""
    return [(m[1], m[2]) for m in BLOCK.finditer(PAGE.read_text(encoding="utf-8"))]


def same_output(got: str, shown: str) -> bool:
    """The same text, with each number equal to within one unit of its last digit shown (float32 sums may round
    differently on another machine)."""
    if NUMBER.sub("#", got).split() != NUMBER.sub("#", shown).split():
        return False
    for a, b in zip(NUMBER.findall(got), NUMBER.findall(shown)):
        if "." not in b and "e" not in b:  # a count, an index, a shape: exact
            if a != b:
                return False
            continue
        decimals = len(b.split(".")[1].split("e")[0]) or 4  # "0." is NumPy's 0 at precision=4
        if abs(float(a) - float(b)) > 1.5 * 10.0 ** -decimals * (10.0 ** int(b.split("e")[1]) if "e" in b else 1):
            return False
    return True


def test_the_comparison_tells_a_changed_number_from_a_rounding():
    assert same_output("p = [0.0843 0.0944]\n", "p = [0.0843  0.0944]")
    assert same_output("x 0.0844", "x 0.0843")
    assert not same_output("x 0.0853", "x 0.0843")
    assert not same_output("y 0.0843", "x 0.0843")
    assert not same_output("31 of 60", "30 of 60")


def test_every_block_prints_what_the_page_shows(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    found = blocks()
    assert len(found) >= 8, "the page's blocks were not found: the pattern is broken"
    namespace: dict[str, object] = {"__name__": "__main__"}
    for number, (code, shown) in enumerate(found, 1):
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            exec(compile(code, f"{PAGE.name} block {number}", "exec"), namespace)
        got = out.getvalue()
        if not got:
            assert shown is None, f"block {number} prints nothing but the page shows output after it"
            continue
        assert shown is not None, f"block {number} prints but the page shows no ```text block after it:\n{got}"
        assert same_output(got, shown), f"block {number} prints\n{got}\nbut the page shows\n{shown}"
    # the picture beside the steps is this page's network and image, numbered by the same engine steps
    model, image, label = namespace["model"], namespace["X"], namespace["label"]
    loss = F.cross_entropy(model(Tensor(image)), Tensor(np.array([label])))
    drawn = viz.draw_graph(loss, "backward", params=model, number_steps=True).source
    assert drawn == (ROOT / "docs" / "images" / "seed_backward_steps.dot").read_text(encoding="utf-8")
    assert "images/seed_backward_steps.svg" in PAGE.read_text(encoding="utf-8")


@pytest.mark.parametrize("step", range(1, 10))
def test_each_engine_step_has_a_section_and_a_row(step):
    text = PAGE.read_text(encoding="utf-8")
    assert re.search(rf"^\| {step} \| `\w+Backward`", text, re.M), f"step {step} is missing from the table"
    assert re.search(rf"^## Steps? (\d+ and )?{step}\b|^## Steps? {step - 1} and {step}\b", text, re.M), \
        f"no section heading names step {step}"
