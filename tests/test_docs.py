"""Every ```python block in README.md and docs/ runs: the docs never drift from the code.

Blocks of one page run in order in one namespace, in a temporary working directory.
"""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = sorted([ROOT / "README.md", *(ROOT / "docs").rglob("*.md")])
BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)


def python_blocks(page: Path) -> list[str]:
    return BLOCK.findall(page.read_text(encoding="utf-8"))


@pytest.mark.parametrize("page", [p for p in PAGES if python_blocks(p)], ids=lambda p: str(p.relative_to(ROOT)))
def test_page_snippets_run(page, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    namespace = {"__name__": "__docs__"}
    for number, block in enumerate(python_blocks(page), 1):
        try:
            exec(compile(block, f"{page.name} block {number}", "exec"), namespace)
        except Exception as err:  # the page and block number make the failure findable
            raise AssertionError(f"{page.relative_to(ROOT)}, python block {number} failed: {err!r}") from err


def test_pages_have_snippets_checked():
    assert any(python_blocks(p) for p in PAGES), "no python blocks found: the extraction pattern is broken"
