"""The built documentation site reads offline: math is MathML made at build time, nothing is fetched.

The site is built once (``mkdocs build --strict`` into a temporary directory). Pure-Python checks read the HTML:
no page or stylesheet names an external script, style, image or font; no raw TeX is left; every page whose
Markdown has formulas has ``<math>``. The browser checks open every page in headless Chromium from ``file://``
with the network blocked (every non-``file://`` request is recorded and aborted): nothing leaves the machine,
each formula renders with a nonzero size, no raw TeX is visible, and no display formula or table is wider than
its box unless that box scrolls sideways; a code name in a table never breaks inside a word.
"""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from test_explorer_browser import launched_browser

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
#: an attribute that makes the browser fetch: script/img/iframe/source src, link href (styles, icons, fonts)
FETCHING = re.compile(r"<(script|img|iframe|source|audio|video|embed|link)\b[^>]*?\s(?:src|href|srcset)=\"([^\"]*)\"",
                      re.I)
CSS_URL = re.compile(r"""(?:url\(\s*['"]?|@import\s+['"])(https?:)?//""", re.I)
EXTERNAL = re.compile(r"^(https?:)?//", re.I)
#: TeX that survived the build: a delimiter or a backslash command outside code
RAW_TEX = re.compile(r"\\[()\[\]]|\$\$|\\(?:frac|partial|sum|text|operatorname|begin|mathbb|bar|sigma)\b")
#: what is not prose: code, the TeX annotation inside <math>, scripts
NOT_PROSE = re.compile(r"<(pre|code|annotation|script)\b.*?</\1>", re.S | re.I)
#: source formulas as pymdownx.arithmatex reads them: $$...$$ or $x$ (no space inside the dollars)
SOURCE_MATH = re.compile(r"\$\$|(?<![\\$\w])\$(?=\S)[^$\n]*?(?<=[^\s\\])\$(?!\w)")
SOURCE_CODE = re.compile(r"^(```|~~~).*?^\1|`[^`\n]+`", re.S | re.M)
#: narrower than a laptop so that wide formulas and tables are exercised
VIEWPORT = {"width": 1024, "height": 800}


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    """The site, built once with ``mkdocs build --strict``."""
    out = tmp_path_factory.mktemp("site")
    env = dict(os.environ, NO_MKDOCS_2_WARNING="1")
    done = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"mkdocs build --strict failed:\n{done.stdout}\n{done.stderr}"
    return out


def built_pages(site: Path) -> list[Path]:
    return sorted(p for p in site.rglob("*.html") if p.name == "index.html" or p.name == "404.html")


def source_of(site: Path, page: Path) -> Path | None:
    """The Markdown a built page came from (``use_directory_urls``: a/b.md -> a/b/index.html), or None."""
    rel = page.relative_to(site)
    stem = rel.parent if rel.name == "index.html" else rel.with_suffix("")
    for candidate in (DOCS / stem / "index.md", DOCS / f"{stem}.md") if str(stem) != "." else (DOCS / "index.md",):
        if candidate.is_file():
            return candidate
    return None


def has_formulas(source: Path) -> bool:
    """Whether a Markdown page has a formula outside its code."""
    return SOURCE_MATH.search(SOURCE_CODE.sub("", source.read_text(encoding="utf-8"))) is not None


def test_no_external_fetch_in_html_or_css(site: Path) -> None:
    """No page or stylesheet makes the browser fetch from another machine (plain <a> links may point anywhere)."""
    found = []
    for page in built_pages(site):
        text = page.read_text(encoding="utf-8")
        found += [f"{page.relative_to(site)}: <{tag} {url}>" for tag, url in FETCHING.findall(text)
                  if EXTERNAL.match(url)]
    for sheet in site.rglob("*.css"):
        text = sheet.read_text(encoding="utf-8", errors="replace")
        found += [f"{sheet.relative_to(site)}: {m.group(0)}" for m in CSS_URL.finditer(text)]
    assert found == [], "the site fetches from the network:\n" + "\n".join(found)
    assert not (site / "javascripts" / "mathjax.js").exists(), "the MathJax settings script is still shipped"


def test_every_formula_is_mathml(site: Path) -> None:
    """Each page whose Markdown has formulas has <math> (block ones for $$), and no raw TeX is left in prose."""
    pages = built_pages(site)
    with_math = 0
    for page in pages:
        html = page.read_text(encoding="utf-8")
        prose = NOT_PROSE.sub("", html)
        leftover = [prose[max(m.start() - 40, 0):m.end() + 40] for m in RAW_TEX.finditer(prose)]
        assert leftover == [], f"{page.relative_to(site)}: raw TeX left in the HTML: {leftover[:3]}"
        source = source_of(site, page)
        if source is None:
            continue
        markdown = SOURCE_CODE.sub("", source.read_text(encoding="utf-8"))
        if has_formulas(source):
            with_math += 1
            assert "<math" in html, f"{source.relative_to(ROOT)} has formulas but {page.relative_to(site)} no <math>"
        if "$$" in markdown:
            assert '<math xmlns="http://www.w3.org/1998/Math/MathML" display="block"' in html, source
    assert with_math >= 20, f"only {with_math} pages with formulas found: is the source scan broken?"


@pytest.fixture(scope="module")
def browser():
    yield from launched_browser("the site's browser tests")


#: measured in the page: formulas without size, visible raw TeX, boxes too wide that do not scroll, broken words
MEASURE = r"""() => {
  const visible = el => el.checkVisibility ? el.checkVisibility() : true;
  const scrolls = el => ['auto', 'scroll'].includes(getComputedStyle(el).overflowX);
  const maths = [...document.querySelectorAll('article math')].filter(visible);
  const unsized = maths.filter(m => { const r = m.getBoundingClientRect(); return r.width <= 0 || r.height <= 0; })
                       .map(m => m.outerHTML.slice(0, 120));
  let text = document.body.innerText;
  const codes = [...document.querySelectorAll('pre, code')].map(c => c.innerText).filter(Boolean);
  for (const c of codes.sort((a, b) => b.length - a.length)) text = text.split(c).join(' ');  // longest first
  const article = document.querySelector('article');
  const limit = article.getBoundingClientRect().right + 1;
  // a formula or table may be wider than the page only inside a box that scrolls sideways and fits the page
  const overflowing = [];
  for (const el of [...article.querySelectorAll('div.arithmatex, table')].filter(visible)) {
    let box = el;
    while (box !== article && !scrolls(box)) box = box.parentElement;
    const fits = box === article ? el.scrollWidth <= el.clientWidth + 1 && el.getBoundingClientRect().right <= limit
                                 : box.getBoundingClientRect().right <= limit;
    if (!fits) overflowing.push((el.tagName === 'TABLE' ? 'table ' + el.innerText
                                 : 'formula ' + (el.querySelector('annotation') || el).textContent).slice(0, 90));
  }
  const broken = [];
  for (const code of article.querySelectorAll('table code')) {
    const node = code.firstChild;
    if (!node || node.nodeType !== Node.TEXT_NODE) continue;
    for (const m of node.data.matchAll(/\S+/g)) {
      const range = document.createRange();
      range.setStart(node, m.index); range.setEnd(node, m.index + m[0].length);
      const tops = new Set([...range.getClientRects()].map(r => Math.round(r.top)));
      if (tops.size > 1) broken.push(m[0]);
    }
  }
  return {maths: maths.length, unsized, text, overflowing, broken};
}"""
RAW_TEX_VISIBLE = re.compile(r"\\[()\[\]]|\$\$|\\[A-Za-z]{2,}\{?")


def test_pages_render_offline_in_chromium(site: Path, browser) -> None:
    """Every page, opened from file:// with the network blocked: MathML renders, nothing leaves the machine."""
    context = browser.new_context(viewport=VIEWPORT)
    left: list[str] = []

    def route(route) -> None:
        if route.request.url.startswith("file://"):
            route.continue_()
        else:
            left.append(route.request.url)
            route.abort()

    context.route("**/*", route)
    page = context.new_page()
    page.set_default_timeout(60_000)
    problems: list[str] = []
    rendered = 0
    try:
        for path in built_pages(site):
            if path.name == "404.html":
                continue
            name = str(path.relative_to(site))
            page.goto(path.as_uri(), wait_until="load")
            seen = page.evaluate(MEASURE)
            rendered += seen["maths"]
            problems += [f"{name}: formula with no size: {m}" for m in seen["unsized"]]
            problems += [f"{name}: visible raw TeX: {m.string[max(m.start() - 30, 0):m.end() + 30]!r}"
                         for m in RAW_TEX_VISIBLE.finditer(seen["text"])]
            problems += [f"{name}: wider than its box and not scrolling: {what}" for what in seen["overflowing"]]
            problems += [f"{name}: code in a table broken inside a word: {word}" for word in seen["broken"]]
            source = source_of(site, path)
            if seen["maths"] == 0 and source is not None and has_formulas(source):
                problems.append(f"{name}: the source has formulas but no <math> is visible")
    finally:
        context.close()
    assert left == [], f"pages tried to reach the network: {sorted(set(left))}"
    assert problems == [], "\n".join(problems)
    assert rendered > 500, f"only {rendered} formulas rendered across the site"


def load_hook():
    """docs/hooks/mathml.py, the MkDocs hook (not a package module), loaded from its file."""
    spec = importlib.util.spec_from_file_location("docs_mathml_hook", DOCS / "hooks" / "mathml.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_a_formula_that_does_not_convert_stops_the_build() -> None:
    """Unknown commands and unplaced alignments fail, naming the page and the TeX; nothing is left half-converted."""
    from mkdocs.exceptions import PluginError
    hook = load_hook()
    for tex in (r"\foo{x} + 1", r"\begin{aligned} a &= b \end{aligned}", r"\frac{1}{"):
        with pytest.raises(PluginError) as caught:
            hook.to_mathml(tex, True, "derivations/x.md")
        assert "derivations/x.md" in str(caught.value) and repr(tex) in str(caught.value)
    with pytest.raises(PluginError, match="did not take as a formula"):
        hook._check_prose(r"<p>[ \frac{a}{b} ]</p>", "x.md")


def test_mathml_follows_tex_layout() -> None:
    """Display sums take limits under/over, signs after '(' or '=' are unary, names are upright identifiers."""
    hook = load_hook()
    block = hook.to_mathml(r"\sum_{i=1}^{n} x_i = -\operatorname{relu}(-2)", True, "t.md")
    assert block.startswith('<math xmlns="http://www.w3.org/1998/Math/MathML" display="block">')
    assert re.search('<munderover><mo[^>]*>\u2211</mo>', block), block
    inline = hook.to_mathml(r"\prod_{k} a_k", False, "t.md")  # inline: under/over too, moved aside by the browser
    assert '<munder><mo movablelimits="true">\u220f</mo>' in inline, inline
    assert block.count('<mo form="prefix">\u2212</mo>') == 2
    assert "<mi>relu</mi><mo>\u2061</mo>" in block and "\\" not in block.split("<annotation")[0]
    assert block.endswith(r'<annotation encoding="application/x-tex">\sum_{i=1}^{n} x_i = -\operatorname{relu}(-2)'
                          "</annotation></semantics></math>")
