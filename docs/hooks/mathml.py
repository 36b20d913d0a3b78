"""MkDocs hook: every formula becomes MathML at build time, so the site reads offline with no math script.

``pymdownx.arithmatex`` (generic mode) turns ``$...$`` into ``<span class="arithmatex">\\(...\\)</span>`` and
``$$...$$`` into ``<div class="arithmatex">\\[...\\]</div>``. This hook converts each with ``latex2mathml`` into
``<math>`` (display formulas as ``<math display="block">``) and tidies the result for MathML Core, which is
what Chromium, Firefox and Safari render natively:

- sums and products (and ``\\max``, ``\\min``, ...) take their limits as under/over scripts, which MathML Core
  moves beside the operator in inline math (``movablelimits``), as TeX does;
- operator names (``\\operatorname{relu}``, ``\\log``) become upright identifiers with TeX's thin spaces and an
  invisible function application, so they are not spaced like a binary operator nor glued to ``x``;
- a minus or plus after an opening, a comma or a relation is a sign (``(-2, 5)``), not a binary operator;
- a slash is unspaced (``\\partial L / \\partial y``);
- bars and floors (``|``, ``\\lVert``, ``\\lfloor``) keep their size unless ``\\left``/``\\right`` asked otherwise;
- ``\\xrightarrow{label}`` is an arrow stretched under its label;
- an ``<mo>`` wrapped around a group (``\\mathrel{...}``) is unwrapped.

Each formula keeps its TeX as an ``<annotation>`` (not displayed; copied and searchable). Stretched fences,
radicals and arrows need an OpenType math font, which ``docs/stylesheets/extra.css`` asks for by name.

A formula that does not convert, or converts with a command ``latex2mathml`` does not know (left as ``\\foo`` in
the output) or an alignment ``&`` it did not place, stops the build with the page and the TeX; so does TeX left in
the page's prose (outside code) that arithmatex did not take as a formula.
"""

from __future__ import annotations

import html
import re
import xml.etree.ElementTree as ET

from latex2mathml.converter import convert
from mkdocs.exceptions import PluginError

MATHML_NS = "http://www.w3.org/1998/Math/MathML"
ET.register_namespace("", MATHML_NS)

INLINE = re.compile(r'<span class="arithmatex">\\\((.*?)\\\)</span>', re.S)
DISPLAY = re.compile(r'<div class="arithmatex">\\\[(.*?)\\\]</div>', re.S)
#: large operators whose scripts are limits (under/over) in display math
LIMIT_OPERATORS = {"\u2211", "\u220f", "\u2210", "\u22c3", "\u22c2", "\u2a01", "\u2a02",
                   "max", "min", "lim", "sup", "inf", "argmax", "argmin", "arg\u2009max", "arg\u2009min"}
FENCES = set("|\u2016\u230a\u230b\u2308\u2309\u27e8\u27e9\u2329\u232a")
SIGNS = {"-", "+", "\u2212", "\u00b1", "\u2213"}
#: after these a minus or plus is a sign (unary): openings, punctuation, relations and other operators
BEFORE_SIGN = set("([{,;:=<>\u2264\u2265\u2260\u2248\u2192\u2190\u21a6\u2208\u2209\u2261\u223c\u226a"
                  "\u226b\u00d7\u22c5\u00b7\u2217\u2299\u2061") | SIGNS
SCRIPTED = {"msub": "munder", "msup": "mover", "msubsup": "munderover"}
TOC_INLINE = re.compile(r"\\\((.*?)\\\)", re.S)
#: what is not prose: code, formulas already converted, scripts
NOT_PROSE = re.compile(r"<(pre|code|math|script|style|textarea)\b.*?</\1>", re.S | re.I)
#: TeX left in prose: a delimiter arithmatex did not take, or a backslash command
RAW_TEX = re.compile(r"\\[()\[\]]|\$\$|\\[A-Za-z]{2,}")
WORD = re.compile(r"[A-Za-z][A-Za-z\u2009 ]*[A-Za-z]")


def _tag(element: ET.Element) -> str:
    return element.tag.rpartition("}")[2]


def _fail(page: str, tex: str, why: str) -> PluginError:
    return PluginError(f"math on page {page!r}: {why} in the formula {tex!r}; rewrite it with commands latex2mathml "
                       "converts (see docs/hooks/mathml.py)")


def _tidy(root: ET.Element, page: str, tex: str) -> None:
    """Rewrite latex2mathml's tree in place for MathML Core (see the module docstring)."""
    for parent in root.iter():
        children = list(parent)
        for index, child in enumerate(children):
            tag = _tag(child)
            text = (child.text or "").strip()
            if tag in {"mi", "mo", "mn"} and (text.startswith("\\") or text == "&"):
                raise _fail(page, tex, f"latex2mathml left {text!r} unconverted")
            if tag == "mo" and len(child) == 1 and _tag(child[0]) == "mrow" and not text:
                group, at = child[0], list(parent).index(child)
                parent.remove(child)
                for offset, grandchild in enumerate(group):
                    parent.insert(at + offset, grandchild)
                continue
            if tag in SCRIPTED and len(child) and _tag(child[0]) == "mo" and (child[0].text or "") in LIMIT_OPERATORS:
                child.tag = f"{{{MATHML_NS}}}{SCRIPTED[tag]}"
                child[0].set("movablelimits", "true")
                continue
            if tag == "mover" and len(child) == 2 and _tag(child[0]) == "mstyle" and _tag(child[1]) == "mpadded":
                # \xrightarrow{label}: an arrow stretched under its label (latex2mathml's voffset is not in Core)
                arrow = child[0][0]
                arrow.set("stretchy", "true")
                label = ET.Element(f"{{{MATHML_NS}}}mrow")
                label.append(ET.Element(f"{{{MATHML_NS}}}mspace", width="0.4em"))
                label.extend(part for part in child[1] if _tag(part) != "mspace")
                label.append(ET.Element(f"{{{MATHML_NS}}}mspace", width="0.4em"))
                child[:] = [arrow, label]
                continue
            if tag == "mo" and text in SIGNS and (index == 0 or (_tag(children[index - 1]) == "mo"
                                                  and (children[index - 1].text or "").strip() in BEFORE_SIGN)):
                child.set("form", "prefix")  # a sign, not a binary minus: -2 after "(", "," or "=" (as TeX does)
                continue
            if tag == "mo" and text == "/":
                child.attrib.update(lspace="0", rspace="0")  # TeX's / is ordinary: \partial L / \partial y
                continue
            if tag == "mo" and text in FENCES and not {"fence", "minsize"} & set(child.attrib):
                # \lVert, |, \lfloor ...: TeX sizes them only with \left/\right/\big, and spaces them as ordinary
                child.attrib.update(stretchy="false", lspace="0", rspace="0")
            if tag in {"mo", "mi"} and WORD.fullmatch(text) and "movablelimits" not in child.attrib:
                # an operator name (\log, \tanh, \operatorname{relu}): upright, a thin space either side as in
                # TeX (none before an opening parenthesis), and an invisible function application after it
                child.tag = f"{{{MATHML_NS}}}mi"
                after = children[index + 1] if index + 1 < len(children) else None
                before = children[index - 1] if index else None
                at = list(parent).index(child)
                if after is not None and (after.text or "").strip() not in {"(", "[", "\u2061"}:
                    parent.insert(at + 1, ET.Element(f"{{{MATHML_NS}}}mspace", width="0.1667em"))
                apply = ET.Element(f"{{{MATHML_NS}}}mo")
                apply.text = "\u2061"
                parent.insert(at + 1, apply)
                if before is not None and (_tag(before) != "mo" or (before.text or "").strip() in ")]}|"):
                    parent.insert(at, ET.Element(f"{{{MATHML_NS}}}mspace", width="0.1667em"))


def to_mathml(tex: str, display: bool, page: str) -> str:
    """The MathML for one formula; raises ``PluginError`` naming the page and the TeX when it cannot convert."""
    try:
        markup = convert(tex, display="block" if display else "inline")
        root = ET.fromstring(markup)
    except Exception as error:  # latex2mathml raises many types (its own, IndexError, KeyError) on bad TeX
        raise _fail(page, tex, f"latex2mathml failed ({type(error).__name__}: {error})") from error
    _tidy(root, page, tex)
    annotation = ET.Element(f"{{{MATHML_NS}}}annotation", encoding="application/x-tex")
    annotation.text = tex.strip()
    # the TeX source rides along for copy and search engines; semantics shows only its first child
    semantics = ET.Element(f"{{{MATHML_NS}}}semantics")
    body = ET.SubElement(semantics, f"{{{MATHML_NS}}}mrow")
    body.extend(list(root))
    semantics.append(annotation)
    for child in list(root):
        root.remove(child)
    root.append(semantics)
    return ET.tostring(root, encoding="unicode", short_empty_elements=False)


def on_page_content(content: str, page, config, files) -> str:
    """Replace every arithmatex formula on the page by MathML."""
    name = page.file.src_uri

    def inline(match: re.Match) -> str:
        return f'<span class="arithmatex">{to_mathml(html.unescape(match.group(1)), False, name)}</span>'

    def display(match: re.Match) -> str:
        return f'<div class="arithmatex">{to_mathml(html.unescape(match.group(1)), True, name)}</div>'

    def headings(links) -> None:
        for link in links:  # the table of contents keeps a heading's TeX as text: convert it there too
            link.title = TOC_INLINE.sub(lambda m: to_mathml(html.unescape(m.group(1)), False, name), link.title)
            headings(link.children)

    headings(page.toc)
    content = INLINE.sub(inline, DISPLAY.sub(display, content))
    _check_prose(content, name)
    return content


def on_post_page(output: str, page, config) -> str:
    """Fail on TeX anywhere in the finished page (navigation and table of contents included) outside code."""
    _check_prose(output, page.file.src_uri)
    return output


def _check_prose(content: str, name: str) -> None:
    prose = NOT_PROSE.sub("", content)
    leftover = [prose[max(m.start() - 60, 0):m.end() + 60] for m in RAW_TEX.finditer(prose)]
    if leftover:
        raise PluginError(f"math on page {name!r}: TeX that arithmatex did not take as a formula (a $$ or \\[ block "
                          f"needs a blank line before and after it; a $...$ no space inside): {leftover[0]!r}")
