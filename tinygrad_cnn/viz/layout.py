"""A small layered layout of DOT graphs, written as SVG: the fallback when no Graphviz is available.

``layout_svg(source)`` reads the DOT that ``draw_graph`` writes (and most hand-written DOT: nodes, edges, ``->``
chains, attribute lists, ``node``/``edge``/``graph`` defaults, nested ``subgraph cluster_*`` boxes; HTML labels
and ports are not understood) and draws it top to bottom in the way of Sugiyama's method:

1. **ranks**: each node one rank below its lowest predecessor (the longest path from a source), so every edge
   points down; an edge spanning several ranks passes through invisible dummy nodes, one per rank crossed;
2. **order** within each rank: sweeps down and up that sort each rank by the barycentre (mean position) of a
   node's neighbours in the rank before, keeping the nodes of one module box (cluster) next to each other;
3. **x positions**: each node pulled towards the mean of its neighbours, then pushed apart just enough that
   neighbours in a rank are at least their half widths plus a gap apart (more between different boxes);
4. **SVG**: nodes as boxes (rounded when the style says so) or ellipses with the same labels and fill colours,
   edges as polylines with an arrowhead and their label, clusters as labelled dashed boxes around their nodes.

Text widths are estimated from the character count (no font metrics), so the layout is plainer than Graphviz's,
but every node, edge, label and box is there. Each node is one ``<g class="node">``, each drawn edge one
``<g class="edge">`` and each cluster one ``<g class="cluster">``, with a ``<title>`` naming it, like Graphviz's SVG.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import pairwise
from xml.sax.saxutils import escape, quoteattr

__all__ = ["DotGraph", "layout_svg", "parse_dot"]

CHAR_W = 6.2  # px per character of a 10 px Helvetica label (an estimate)
EDGE_CHAR_W = 4.9  # px per character of an 8 px edge label
LINE_H = 13.0
PAD_X, PAD_Y = 8.0, 5.0
NODE_SEP = 18.0  # horizontal gap between nodes of one rank
BOX_PAD = 9.0  # gap between a cluster's box and its contents
BOX_LABEL = 13.0  # height of a cluster's label
RANK_SEP = 34.0  # vertical gap between ranks (plus room for the boxes that open or close between them)
MARGIN = 8.0


# ---- reading DOT ------------------------------------------------------------------------------------------------
@dataclass
class DotGraph:
    """What :func:`parse_dot` read: nodes (id -> attributes and innermost cluster), edges and clusters."""

    nodes: dict[str, dict[str, str]] = field(default_factory=dict)
    node_cluster: dict[str, int | None] = field(default_factory=dict)
    edges: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)
    clusters: list[dict] = field(default_factory=list)  # {"name", "attrs", "parent"}
    attrs: dict[str, str] = field(default_factory=dict)


_TOKEN = re.compile(r'''
    (?P<space>\s+|//[^\n]*|/\*.*?\*/|^\#[^\n]*)
  | (?P<string>"(?:[^"\\]|\\.)*")
  | (?P<html><)
  | (?P<arrow>->|--)
  | (?P<punct>[{}\[\]=;,:])
  | (?P<id>[A-Za-z_\x80-\U0010ffff][\w\x80-\U0010ffff]*|-?(?:\.\d+|\d+(?:\.\d*)?))
''', re.VERBOSE | re.DOTALL | re.MULTILINE)


def _tokens(source: str) -> Iterator[tuple[str, str]]:
    """(kind, text) of each token; a quoted string's text has its quotes removed (escapes kept)."""
    pos = 0
    while pos < len(source):
        m = _TOKEN.match(source, pos)
        if m is None:
            raise ValueError(f"layout: cannot read the DOT text at character {pos}: {source[pos:pos + 30]!r}")
        kind = m.lastgroup
        if kind == "html":  # <...> with nested angle brackets: kept as one id
            depth, end = 0, pos
            while end < len(source):
                depth += {"<": 1, ">": -1}.get(source[end], 0)
                end += 1
                if depth == 0:
                    break
            yield "id", re.sub(r"<[^>]*>", " ", source[pos + 1:end - 1]).strip()
            pos = end
            continue
        pos = m.end()
        if kind == "string":
            yield "id", m.group()[1:-1]
        elif kind != "space":
            yield ("id" if kind == "id" else m.group()), m.group()


def unescape_lines(text: str) -> list[str]:
    """The lines of a DOT label: ``\\n``, ``\\l``, ``\\r`` end a line, ``\\"`` and ``\\\\`` are the characters."""
    lines, line, i = [], [], 0
    while i < len(text):
        c = text[i]
        if c == "\\" and i + 1 < len(text):
            nxt = text[i + 1]
            if nxt in "nlr":
                lines.append("".join(line))
                line = []
            else:
                line.append(nxt)
            i += 2
            continue
        line.append(c)
        i += 1
    if line or not lines:
        lines.append("".join(line))
    return lines


def parse_dot(source: str) -> DotGraph:
    """The nodes, edges and clusters of the DOT text ``source`` (one graph)."""
    tokens = list(_tokens(source))
    g = DotGraph()
    i = 0

    def peek(k: int = 0) -> tuple[str, str]:
        return tokens[i + k] if i + k < len(tokens) else ("", "")

    def take(kind: str | None = None) -> str:
        nonlocal i
        got = peek()
        if kind is not None and got[0] != kind:
            raise ValueError(f"layout: expected {kind!r} in the DOT text, got {got[1]!r}")
        i += 1
        return got[1]

    def attr_list() -> dict[str, str]:
        out: dict[str, str] = {}
        while peek()[0] == "[":
            take("[")
            while peek()[0] not in ("]", ""):
                key = take("id")
                value = "true"
                if peek()[0] == "=":
                    take("=")
                    value = take("id")
                out[key] = value
                while peek()[0] in (",", ";"):
                    take()
            take("]")
        return out

    def add_node(name: str, attrs: dict[str, str], defaults: dict[str, str], cluster: int | None) -> None:
        if name not in g.nodes:
            g.nodes[name] = dict(defaults)
            g.node_cluster[name] = cluster
        g.nodes[name].update(attrs)

    def body(cluster: int | None, node_defaults: dict, edge_defaults: dict, graph_attrs: dict) -> None:
        nonlocal i
        take("{")
        node_defaults, edge_defaults = dict(node_defaults), dict(edge_defaults)
        while peek()[0] not in ("}", ""):
            kind, text = peek()
            if kind == ";":
                take()
            elif kind == "{" or (kind == "id" and text == "subgraph"):
                subgraph(cluster, node_defaults, edge_defaults)
            elif kind == "id" and text in ("graph", "node", "edge") and peek(1)[0] == "[":
                take()
                attrs = attr_list()
                {"graph": graph_attrs, "node": node_defaults, "edge": edge_defaults}[text].update(attrs)
            elif kind == "id" and peek(1)[0] == "=":
                key = take()
                take("=")
                graph_attrs[key] = take("id")
            elif kind == "id":
                chain = [take()]
                while peek()[0] == ":":  # a port: n0:s -> ...; the port is ignored
                    take(":")
                    take("id")
                while peek()[0] in ("->", "--"):
                    take()
                    chain.append(take("id"))
                    while peek()[0] == ":":
                        take(":")
                        take("id")
                attrs = attr_list()
                if len(chain) == 1:
                    add_node(chain[0], attrs, node_defaults, cluster)
                else:
                    for name in chain:
                        add_node(name, {}, node_defaults, cluster)
                    g.edges.extend((a, b, {**edge_defaults, **attrs}) for a, b in pairwise(chain))
            else:
                raise ValueError(f"layout: unexpected {text!r} in the DOT text")
        take("}")

    def subgraph(cluster: int | None, node_defaults: dict, edge_defaults: dict) -> None:
        name = ""
        if peek()[1] == "subgraph":
            take()
            if peek()[0] == "id":
                name = take()
        inner = cluster
        attrs: dict[str, str] = {}
        if name.startswith("cluster"):
            inner = len(g.clusters)
            g.clusters.append({"name": name, "attrs": attrs, "parent": cluster})
        body(inner, node_defaults, edge_defaults, attrs)

    while peek()[0] == "id" and peek()[1].lower() in ("strict", "digraph", "graph"):
        take()
    if peek()[0] == "id":
        take()
    body(None, {}, {}, g.attrs)
    return g


# ---- the layout -----------------------------------------------------------------------------------------------
@dataclass
class _Box:
    name: str
    width: float
    height: float
    path: tuple[int, ...]  # the clusters it is in, outermost first
    dummy: bool = False
    rank: int = 0
    x: float = 0.0
    y: float = 0.0


def _cluster_path(g: DotGraph, cluster: int | None) -> tuple[int, ...]:
    path: list[int] = []
    while cluster is not None:
        path.append(cluster)
        cluster = g.clusters[cluster]["parent"]
    return tuple(reversed(path))


def _ranks(names: list[str], edges: list[tuple[str, str]]) -> dict[str, int]:
    """Longest path from a source (Kahn's order); nodes on a cycle go below everything ranked so far."""
    succ: dict[str, list[str]] = {n: [] for n in names}
    indeg = dict.fromkeys(names, 0)
    for a, b in edges:
        succ[a].append(b)
        indeg[b] += 1
    rank = dict.fromkeys(names, 0)
    ready = [n for n in names if indeg[n] == 0]
    done: set[str] = set()
    while len(done) < len(names):
        if not ready:  # a cycle: break it at the first node not yet placed
            rest = next(n for n in names if n not in done)
            rank[rest] = max((rank[n] for n in done), default=-1) + 1
            ready = [rest]
            indeg[rest] = 0
        while ready:
            node = ready.pop()
            if node in done:
                continue
            done.add(node)
            for nxt in succ[node]:
                if nxt in done:
                    continue
                rank[nxt] = max(rank[nxt], rank[node] + 1)
                indeg[nxt] -= 1
                if indeg[nxt] == 0:
                    ready.append(nxt)
    return rank


def _sort_rank(boxes: list[_Box], key: dict[str, float], level: int = 0) -> list[_Box]:
    """``boxes`` by ``key``, the members of each cluster kept together (a cluster placed at its mean key)."""
    groups: dict[object, list[_Box]] = {}
    for b in boxes:
        groups.setdefault(b.path[level] if len(b.path) > level else ("node", b.name), []).append(b)
    ordered = sorted(groups.items(), key=lambda kv: sum(key[b.name] for b in kv[1]) / len(kv[1]))
    out: list[_Box] = []
    for group, members in ordered:
        out.extend(_sort_rank(members, key, level + 1) if not isinstance(group, tuple) else members)
    return out


def _sep(a: _Box, b: _Box) -> float:
    common = 0
    while common < min(len(a.path), len(b.path)) and a.path[common] == b.path[common]:
        common += 1
    return (a.width + b.width) / 2 + NODE_SEP + BOX_PAD * (len(a.path) + len(b.path) - 2 * common)


def _place_row(row: list[_Box], want: list[float]) -> None:
    """x positions near ``want`` keeping ``row``'s order and separations: the mean of a left-packed and a
    right-packed placement, packed once more from the left."""
    n = len(row)
    left = list(want)
    for k in range(1, n):
        left[k] = max(left[k], left[k - 1] + _sep(row[k - 1], row[k]))
    right = list(want)
    for k in range(n - 2, -1, -1):
        right[k] = min(right[k], right[k + 1] - _sep(row[k], row[k + 1]))
    xs = [(a + b) / 2 for a, b in zip(left, right)]
    for k in range(1, n):
        xs[k] = max(xs[k], xs[k - 1] + _sep(row[k - 1], row[k]))
    for box, x in zip(row, xs):
        box.x = x


def _layout(g: DotGraph) -> tuple[dict[str, _Box], list[list[_Box]], list[tuple[str, list[str], dict]]]:
    boxes: dict[str, _Box] = {}
    for name, attrs in g.nodes.items():
        lines = unescape_lines(attrs.get("label", name))
        if attrs.get("label") == "\\N":
            lines = [name]
        width = max(len(line) for line in lines) * CHAR_W + 2 * PAD_X
        height = len(lines) * LINE_H + 2 * PAD_Y
        if attrs.get("shape", "ellipse") in ("ellipse", "oval", "circle"):
            width, height = width * 1.25, height * 1.2
        boxes[name] = _Box(name, width, height, _cluster_path(g, g.node_cluster[name]))
    names = list(g.nodes)
    rank = _ranks(names, [(a, b) for a, b, _ in g.edges if a != b])
    for name in names:
        boxes[name].rank = rank[name]

    # edges as chains through dummy nodes, one per rank crossed (upward edges of a cycle drawn as they are)
    chains: list[tuple[str, list[str], dict]] = []
    for k, (a, b, attrs) in enumerate(g.edges):
        chain = [a]
        for r in range(rank[a] + 1, rank[b]):
            dummy = f"\0{k}.{r}"
            boxes[dummy] = _Box(dummy, 6.0, LINE_H, (), dummy=True, rank=r)
            chain.append(dummy)
        chain.append(b)
        chains.append((a, chain, attrs))

    rows: list[list[_Box]] = [[] for _ in range(max((b.rank for b in boxes.values()), default=-1) + 1)]
    for box in boxes.values():
        rows[box.rank].append(box)
    up: dict[str, list[str]] = {n: [] for n in boxes}
    down: dict[str, list[str]] = {n: [] for n in boxes}
    for _, chain, _ in chains:
        for a, b in pairwise(chain):
            if boxes[a].rank < boxes[b].rank:
                down[a].append(b)
                up[b].append(a)

    position = {b.name: float(k) for row in rows for k, b in enumerate(row)}
    for sweep in range(8):  # barycentre ordering, alternately from the top and from the bottom
        order = range(1, len(rows)) if sweep % 2 == 0 else range(len(rows) - 2, -1, -1)
        for r in order:
            neighbours = up if sweep % 2 == 0 else down
            key = {b.name: (sum(position[n] for n in neighbours[b.name]) / len(neighbours[b.name])
                            if neighbours[b.name] else position[b.name]) for b in rows[r]}
            rows[r] = _sort_rank(rows[r], key)
            position.update({b.name: float(k) for k, b in enumerate(rows[r])})

    for row in rows:  # packed from the left, then pulled towards the neighbours, down and up
        _place_row(row, [0.0] * len(row))
    for sweep in range(6):
        order = range(1, len(rows)) if sweep % 2 == 0 else range(len(rows) - 2, -1, -1)
        for r in order:
            neighbours = up if sweep % 2 == 0 else down
            want = [sum(boxes[n].x for n in neighbours[b.name]) / len(neighbours[b.name]) if neighbours[b.name]
                    else b.x for b in rows[r]]
            _place_row(rows[r], want)

    # between two ranks: room for the labels of the boxes that open below and the edges of those that close above
    present = [{c for b in row for c in b.path} for row in rows]
    depth = max((len(b.path) for b in boxes.values()), default=0)

    def count(r: int, other: set[int]) -> int:
        return max((sum(c not in other for c in b.path) for b in rows[r]), default=0)

    y = MARGIN + count(0, set()) * (BOX_PAD + BOX_LABEL) if rows else MARGIN
    for r, row in enumerate(rows):
        tallest = max((b.height for b in row), default=0.0)
        for b in row:
            b.y = y + tallest / 2
        if r + 1 < len(rows):
            opening, closing = count(r + 1, present[r]), count(r, present[r + 1])
            y += tallest + RANK_SEP + opening * (BOX_PAD + BOX_LABEL) + closing * BOX_PAD
    left = min((b.x - b.width / 2 for b in boxes.values()), default=0.0)
    shift = MARGIN + depth * BOX_PAD - left
    for b in boxes.values():
        b.x += shift
    return boxes, rows, chains


# ---- SVG ----------------------------------------------------------------------------------------------------
def _num(v: float) -> str:
    return f"{v:.1f}".rstrip("0").rstrip(".")


def _colour(value: str | None, default: str) -> str:
    if not value:
        return default
    return value.split(":")[0].split(";")[0]


def _text(x: float, y: float, lines: list[str], size: float, colour: str, anchor: str = "middle") -> str:
    first = y - (len(lines) - 1) * size * 1.3 / 2 + size * 0.35
    spans = "".join(f'<tspan x="{_num(x)}" y="{_num(first + k * size * 1.3)}">{escape(line)}</tspan>'
                    for k, line in enumerate(lines))
    return (f'<text text-anchor="{anchor}" font-family="Helvetica,Arial,sans-serif" font-size="{_num(size)}" '
            f'fill={quoteattr(colour)}>{spans}</text>')


def _node_svg(box: _Box, attrs: dict[str, str]) -> str:
    style = attrs.get("style", "")
    shape = attrs.get("shape", "ellipse")
    fill = _colour(attrs.get("fillcolor") or attrs.get("color"), "lightgrey") if "filled" in style else "white"
    stroke = _colour(attrs.get("color"), "black") if "invis" not in style else "none"
    dash = ' stroke-dasharray="5,2"' if "dashed" in style else (' stroke-dasharray="1,3"' if "dotted" in style else "")
    x, y, w, h = box.x, box.y, box.width, box.height
    if shape in ("plaintext", "plain", "none"):
        outline = ""
    elif shape in ("ellipse", "oval", "circle"):
        outline = (f'<ellipse cx="{_num(x)}" cy="{_num(y)}" rx="{_num(w / 2)}" ry="{_num(h / 2)}" '
                   f'fill={quoteattr(fill)} stroke={quoteattr(stroke)}{dash}/>')
    else:
        rounded = ' rx="5" ry="5"' if "rounded" in style else ""
        outline = (f'<rect x="{_num(x - w / 2)}" y="{_num(y - h / 2)}" width="{_num(w)}" height="{_num(h)}"'
                   f'{rounded} fill={quoteattr(fill)} stroke={quoteattr(stroke)}{dash}/>')
    lines = [box.name] if attrs.get("label", "\\N") == "\\N" else unescape_lines(attrs.get("label", box.name))
    text = _text(x, y, lines, float(attrs.get("fontsize", 10)), _colour(attrs.get("fontcolor"), "black"))
    return f'<g class="node"><title>{escape(box.name)}</title>{outline}{text}</g>'


def _edge_svg(src: str, dst: str, chain: list[_Box], attrs: dict[str, str]) -> str:
    style = attrs.get("style", "")
    colour = _colour(attrs.get("color"), "black")
    dash = ' stroke-dasharray="5,2"' if "dashed" in style else (' stroke-dasharray="1,3"' if "dotted" in style else "")
    a, b = chain[0], chain[-1]
    downward = a.rank < b.rank
    points = [(a.x, a.y + a.height / 2 if downward else a.y - a.height / 2)]
    points += [(d.x, d.y) for d in chain[1:-1]]
    points.append((b.x, b.y - b.height / 2 if downward else b.y + b.height / 2))
    (x0, y0), (x1, y1) = points[-2], points[-1]
    length = max(((x1 - x0) ** 2 + (y1 - y0) ** 2) ** 0.5, 1e-9)
    ux, uy = (x1 - x0) / length, (y1 - y0) / length
    tip = 7.0
    base = (x1 - ux * tip, y1 - uy * tip)
    points[-1] = base
    path = "M" + " L".join(f"{_num(px)},{_num(py)}" for px, py in points)
    head = [(x1, y1), (base[0] - uy * 3.5, base[1] + ux * 3.5), (base[0] + uy * 3.5, base[1] - ux * 3.5)]
    arrow = " ".join(f"{_num(px)},{_num(py)}" for px, py in head)
    parts = [f'<g class="edge"><title>{escape(f"{src}->{dst}")}</title>',
             f'<path d="{path}" fill="none" stroke={quoteattr(colour)}{dash}/>',
             f'<polygon points="{arrow}" fill={quoteattr(colour)} stroke={quoteattr(colour)}/>']
    label = attrs.get("label", "")
    if label:
        (lx0, ly0), (lx1, ly1) = points[0], points[1]
        parts.append(_text((lx0 + lx1) / 2 + 4, (ly0 + ly1) / 2, unescape_lines(label),
                           float(attrs.get("fontsize", 8)), _colour(attrs.get("fontcolor"), "black"), "start"))
    parts.append("</g>")
    return "".join(parts)


def layout_svg(source: str) -> bytes:
    """The DOT text ``source`` laid out in ranks (see the module's docstring) as a UTF-8 SVG document."""
    g = parse_dot(source)
    boxes, _, chains = _layout(g)
    real = [b for b in boxes.values() if not b.dummy]

    # cluster boxes: around their nodes and inner boxes, innermost first
    extent: dict[int, list[float]] = {}
    for b in real:
        for level, cluster in enumerate(b.path):
            pad = BOX_PAD * (len(b.path) - level)
            top = BOX_LABEL * (len(b.path) - level)
            x0, y0 = b.x - b.width / 2 - pad, b.y - b.height / 2 - pad - top
            x1, y1 = b.x + b.width / 2 + pad, b.y + b.height / 2 + pad
            e = extent.setdefault(cluster, [x0, y0, x1, y1])
            e[:] = [min(e[0], x0), min(e[1], y0), max(e[2], x1), max(e[3], y1)]
    width = max([b.x + b.width / 2 for b in real] + [e[2] for e in extent.values()] + [0.0]) + MARGIN
    height = max([b.y + b.height / 2 for b in real] + [e[3] for e in extent.values()] + [0.0]) + MARGIN

    out = ['<?xml version="1.0" encoding="UTF-8" standalone="no"?>\n',
           "<!-- drawn by tinygrad_cnn.viz.layout, the built-in layout used when no Graphviz is available -->\n",
           f'<svg xmlns="http://www.w3.org/2000/svg" width="{_num(width)}pt" height="{_num(height)}pt" '
           f'viewBox="0 0 {_num(width)} {_num(height)}">\n',
           f'<g class="graph"><rect width="{_num(width)}" height="{_num(height)}" fill="white"/>\n']
    for index in sorted(extent, key=lambda c: len(_cluster_path(g, c))):
        x0, y0, x1, y1 = extent[index]
        attrs = g.clusters[index]["attrs"]
        style = attrs.get("style", "")
        dash = ' stroke-dasharray="5,3"' if "dashed" in style else ""
        rounded = ' rx="6" ry="6"' if "rounded" in style else ""
        label = unescape_lines(attrs.get("label", ""))
        out.append(f'<g class="cluster"><title>{escape(g.clusters[index]["name"])}</title>'
                   f'<rect x="{_num(x0)}" y="{_num(y0)}" width="{_num(x1 - x0)}" height="{_num(y1 - y0)}"{rounded} '
                   f'fill="none" stroke={quoteattr(_colour(attrs.get("color"), "black"))}{dash}/>'
                   f'{_text(x0 + 5, y0 + 9, label, float(attrs.get("fontsize", 9)), "black", "start")}</g>\n')
    for src, chain, attrs in chains:
        if "invis" in attrs.get("style", ""):
            continue
        out.append(_edge_svg(src, chain[-1], [boxes[n] for n in chain], attrs) + "\n")
    for b in real:
        if "invis" not in g.nodes[b.name].get("style", ""):
            out.append(_node_svg(b, g.nodes[b.name]) + "\n")
    out.append("</g>\n</svg>\n")
    return "".join(out).encode("utf-8")
