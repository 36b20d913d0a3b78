/* tinygrad_cnn backprop explorer: draws the data of tinygrad_cnn.viz.record.explorer_data (embedded in this page
 * as <script type="application/json" id="explorer-data">) with plain JavaScript: no libraries, no network.
 *
 * Stable DOM hooks (the browser tests rely on them):
 *   #graph svg                          the drawing; its <g id="viewport"> carries the pan/zoom transform
 *   #graph svg g.node[data-id=ID]       a visible node; ID is a node id of the shown graph ("f3", "b7") or
 *                                       "module:m2" for a collapsed module; data-kind = op|param|input|const|output|
 *                                       root|vjp|accumulate|module
 *   #graph svg g.module[data-id=m2]     the box of an expanded module (click it to collapse it)
 *   #graph svg g.edge[data-from][data-to][data-edges="3 5"]   an edge (data-edges: indices into the graph's edges)
 *   classes: g.node.current (the step's node), .done (steps already run), .receives (gets a gradient this step),
 *            .accum (gradients are summed here this step), .selected (shown in the panel);
 *            g.edge.grad-in (the gradient the step's node receives), .grad-out (what it sends), .accum-in
 *   #panel (data-node = the node shown), #toggle-direction (forward <-> backward), #show-gradients (only with
 *   create_graph=True: the graph of the gradient computation, direction "gradient"), #step-prev, #step-next, #step-slider (0 = before the
 *   first step, k = step k done), #step-caption, #depth, #collapse-all, #expand-all, #show-shapes, #fit, #zoom-in,
 *   #zoom-out, #legend; keys: left/right arrows step, d toggles the direction, f fits, + and - zoom.
 *   window.explorer: { ready, direction ("forward"|"backward"|"gradient"), step (-1 before the first step, else the index
 *   into data.steps), stepCount, expanded (Set of module ids), selected, layoutCount, layoutMs, data,
 *   setStep(i), next(), prev(), setDirection(d), toggleDirection(), select(id), toggleModule(id),
 *   setDepth(d), fit() }
 */
(function () {
  "use strict";

  var SVGNS = "http://www.w3.org/2000/svg";
  var PAD = 9;          // module box padding
  var HEAD = 15;        // module box header height
  var GAP_X = 22;       // horizontal gap between nodes
  var GAP_Y = 38;       // vertical gap between layers (edge labels live here)
  var DUMMY_W = 10;

  var DATA = JSON.parse(document.getElementById("explorer-data").textContent);
  var optEl = document.getElementById("explorer-options");
  var OPTIONS = optEl && optEl.textContent.trim() ? JSON.parse(optEl.textContent) : {};

  // ---- indexes ------------------------------------------------------------------------------------------
  var values = DATA.values || {};
  var modules = new Map();
  (DATA.modules || []).forEach(function (m) { modules.set(m.id, m); });
  var chainCache = new Map();
  function moduleChain(mid) {  // enclosing modules, outermost first
    if (mid == null || !modules.has(mid)) return [];
    if (chainCache.has(mid)) return chainCache.get(mid);
    var out = [], seen = new Set(), m = mid;
    while (m != null && modules.has(m) && !seen.has(m)) { seen.add(m); out.push(m); m = modules.get(m).parent; }
    out.reverse();
    chainCache.set(mid, out);
    return out;
  }
  var maxDepth = 0, maxModuleDepth = -1;  // deepest nesting of boxes; deepest module "depth" (the model's own is 0)
  modules.forEach(function (m) {
    maxDepth = Math.max(maxDepth, moduleChain(m.id).length);
    maxModuleDepth = Math.max(maxModuleDepth, m.depth != null ? m.depth : moduleChain(m.id).length - 1);
  });
  function modName(m) { return (m.path || m.type || m.id) + (m.call ? " (call " + (m.call + 1) + ")" : ""); }

  function emptyGraph() { return { nodes: [], edges: [] }; }
  var graphs = { forward: DATA.forward || emptyGraph(), backward: DATA.backward || emptyGraph() };
  var byId = { forward: new Map(), backward: new Map(), gradient: new Map() };
  if (DATA.gradient_graph && DATA.gradient_graph.nodes && DATA.gradient_graph.nodes.length) {
    // create_graph=True: the ops that computed the gradients, plus the forward values they read
    var fwd = new Map();
    graphs.forward.nodes.forEach(function (n) { fwd.set(n.id, n); });
    var own = new Set(DATA.gradient_graph.nodes.map(function (n) { return n.id; })), extra = [], added = new Set();
    DATA.gradient_graph.edges.forEach(function (e) {
      [e.from, e.to].forEach(function (id) {
        if (!own.has(id) && !added.has(id) && fwd.has(id)) {
          added.add(id);
          var c = Object.assign({}, fwd.get(id));
          c.module = null;
          extra.push(c);
        }
      });
    });
    graphs.gradient = { nodes: extra.concat(DATA.gradient_graph.nodes), edges: DATA.gradient_graph.edges };
  }
  Object.keys(graphs).forEach(function (dir) {
    graphs[dir].nodes.forEach(function (n) { byId[dir].set(n.id, n); });
  });
  var steps = DATA.steps || [];
  var stepOfNode = new Map();
  steps.forEach(function (s, i) { if (!stepOfNode.has(s.node)) stepOfNode.set(s.node, i); });
  var backwardOf = new Map();  // forward node id -> backward node id
  graphs.backward.nodes.forEach(function (b) { if (b.forward != null && !backwardOf.has(b.forward)) backwardOf.set(b.forward, b.id); });
  // a backward edge (bA -> bB, input k) carries dL/d(input k of fA) = the forward edge fB -> fA with input k
  var fEdgeIndex = new Map();
  graphs.forward.edges.forEach(function (e, i) { fEdgeIndex.set(e.from + ">" + e.to + ">" + e.input, i); });
  var forwardEdgeOf = graphs.backward.edges.map(function (e) {
    var a = byId.backward.get(e.from), b = byId.backward.get(e.to);
    if (!a || !b) return -1;
    var k = fEdgeIndex.get(b.forward + ">" + a.forward + ">" + e.input);
    return k === undefined ? -1 : k;
  });

  // parameters carry no module in the data; draw each inside the box of the module that owns it (by name, the
  // deepest enclosing module of a node next to it whose path prefixes the name), so boxes hold their weights
  var boxOf = { forward: new Map(), backward: new Map(), gradient: new Map() };
  Object.keys(graphs).forEach(function (dir) {
    var G = graphs[dir], nbrs = new Map();
    G.edges.forEach(function (e) {
      if (!nbrs.has(e.from)) nbrs.set(e.from, []);
      if (!nbrs.has(e.to)) nbrs.set(e.to, []);
      nbrs.get(e.from).push(e.to); nbrs.get(e.to).push(e.from);
    });
    G.nodes.forEach(function (n) {
      var mid = n.module;
      if (mid == null && dir !== "gradient") {
        var f = dir === "forward" ? n : byId.forward.get(n.forward);
        var name = f && f.kind === "param" ? f.name : null;
        var best = null, bestLen = -1;
        if (name) (nbrs.get(n.id) || []).forEach(function (k) {
          var other = byId[dir].get(k);
          if (!other) return;
          moduleChain(other.module).forEach(function (c, depth) {
            var p = modules.get(c).path || "";
            if ((p === "" || name.indexOf(p + ".") === 0) && depth > bestLen) { best = c; bestLen = depth; }
          });
        });
        mid = best;
      }
      boxOf[dir].set(n.id, mid);
    });
  });

  // ---- state ----------------------------------------------------------------------------------------------
  var initialDepth = OPTIONS.depth != null ? OPTIONS.depth : (DATA.depth != null ? DATA.depth : null);
  var state = {
    direction: graphs[OPTIONS.direction] ? OPTIONS.direction : "backward",
    step: -1,
    expanded: new Set(),
    selected: null,
    layoutCount: 0,
    layoutMs: 0,
    view: { x: 0, y: 0, k: 1 }
  };
  function applyDepth(d) {
    state.expanded = new Set();
    modules.forEach(function (m) {
      var depth = m.depth != null ? m.depth : moduleChain(m.id).length;
      if (d == null || depth < d) state.expanded.add(m.id);
    });
  }
  applyDepth(initialDepth);

  // ---- small DOM helpers -------------------------------------------------------------------------------
  function el(tag, attrs) {
    var e = document.createElement(tag);
    if (attrs) Object.keys(attrs).forEach(function (k) {
      if (k === "text") e.textContent = attrs[k];
      else if (k === "cls") e.className = attrs[k];
      else e.setAttribute(k, attrs[k]);
    });
    for (var i = 2; i < arguments.length; i++) {
      var c = arguments[i];
      if (c == null) continue;
      e.appendChild(typeof c === "string" ? document.createTextNode(c) : c);
    }
    return e;
  }
  function svg(tag, attrs) {
    var e = document.createElementNS(SVGNS, tag);
    if (attrs) Object.keys(attrs).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    return e;
  }
  function shapeStr(s) {
    if (!s) return "";
    return "(" + s.join(", ") + (s.length === 1 ? ",)" : ")");
  }
  function num(x) {
    if (x === null || x === undefined) return "nan";
    if (typeof x === "string") return x;
    if (typeof x === "boolean") return x ? "True" : "False";
    if (!isFinite(x)) return isNaN(x) ? "nan" : (x > 0 ? "inf" : "-inf");
    if (Number.isInteger(x) && Math.abs(x) < 1e7) return String(x);
    var a = Math.abs(x);
    if (a !== 0 && (a >= 1e5 || a < 1e-3)) return x.toExponential(3);
    return String(Number(x.toPrecision(5)));
  }
  var measureCtx = document.createElement("canvas").getContext("2d");
  var widthCache = new Map();
  function textWidth(t, size) {
    var key = size + "|" + t;
    if (widthCache.has(key)) return widthCache.get(key);
    measureCtx.font = size + "px system-ui, -apple-system, 'Segoe UI', Roboto, 'DejaVu Sans', sans-serif";
    var w = measureCtx.measureText(t).width;
    widthCache.set(key, w);
    return w;
  }
  function clip(t, n) { t = String(t); return t.length > n ? t.slice(0, n - 1) + "\u2026" : t; }

  // ---- what is drawn: nodes of the graph with collapsed modules merged into one node ------------------
  function nodeLines(dir, n) {
    if (dir !== "backward") {
      var first = n.kind === "param" && n.name ? n.name : n.label;
      var sub = shapeStr(n.shape) + (n.dtype && n.dtype !== "float32" ? " " + n.dtype : "");
      return [clip(first, 48), sub];
    }
    var f = byId.forward.get(n.forward);
    return [clip(n.label, 48), f ? shapeStr(f.shape) : ""];
  }
  function visibleGraph(dir) {
    var G = graphs[dir];
    var rep = new Map(), vnodes = [], vById = new Map();
    G.nodes.forEach(function (n) {
      var ch = moduleChain(boxOf[dir].get(n.id)), cut = -1;
      for (var i = 0; i < ch.length; i++) if (!state.expanded.has(ch[i])) { cut = i; break; }
      var vid = cut >= 0 ? "module:" + ch[cut] : n.id;
      rep.set(n.id, vid);
      var v = vById.get(vid);
      if (!v) {
        if (cut >= 0) {
          var m = modules.get(ch[cut]);
          v = { id: vid, kind: "module", module: ch[cut], chain: ch.slice(0, cut), members: [],
                lines: [clip(modName(m), 40), (m.type || "module") + " \u25B8"] };
        } else {
          v = { id: vid, kind: n.kind, node: n, chain: ch, members: [], lines: nodeLines(dir, n) };
        }
        vById.set(vid, v);
        vnodes.push(v);
      }
      v.members.push(n.id);
    });
    vnodes.forEach(function (v) {
      if (v.kind === "module") v.lines[1] = v.lines[1].replace(" \u25B8", "") + " \u00B7 " + v.members.length + (v.members.length === 1 ? " node" : " nodes") + " \u25B8";
    });
    var vedges = [], eByKey = new Map();
    G.edges.forEach(function (e, i) {
      var a = rep.get(e.from), b = rep.get(e.to);
      if (a === undefined || b === undefined || a === b) return;
      var key = a + ">" + b, ve = eByKey.get(key);
      if (!ve) { ve = { from: a, to: b, edges: [], shapes: [], input: e.input }; eByKey.set(key, ve); vedges.push(ve); }
      ve.edges.push(i);
      var s = shapeStr(e.shape);
      if (ve.shapes.indexOf(s) < 0) ve.shapes.push(s);
    });
    return { dir: dir, nodes: vnodes, byId: vById, edges: vedges, rep: rep };
  }

  // ---- layered layout: longest-path layers, dummy nodes, barycentric ordering, compacted x ---------------
  function layout(V) {
    var t0 = performance.now();
    var nodes = V.nodes.map(function (v) {
      var w = 0;
      v.lines.forEach(function (t, i) { w = Math.max(w, textWidth(t, i === 0 ? 12 : 10.5)); });
      return { v: v, id: v.id, w: Math.ceil(w) + 18, h: 12 + 15 * v.lines.length, chain: v.chain, dummy: false,
               preds: [], succs: [], layer: 0, x: 0, y: 0, order: 0 };
    });
    var idx = new Map();
    nodes.forEach(function (n, i) { idx.set(n.id, i); });
    V.edges.forEach(function (e) {
      var a = idx.get(e.from), b = idx.get(e.to);
      nodes[a].succs.push(b); nodes[b].preds.push(a);
    });
    // longest path from the sources (Kahn); nodes left on a cycle (should not happen) go after the rest
    var indeg = nodes.map(function (n) { return n.preds.length; });
    var queue = [], topo = [];
    indeg.forEach(function (d, i) { if (d === 0) queue.push(i); });
    while (queue.length) {
      var i = queue.shift();
      topo.push(i);
      nodes[i].succs.forEach(function (j) {
        nodes[j].layer = Math.max(nodes[j].layer, nodes[i].layer + 1);
        if (--indeg[j] === 0) queue.push(j);
      });
    }
    if (topo.length < nodes.length) {
      var maxL = 0;
      topo.forEach(function (i) { maxL = Math.max(maxL, nodes[i].layer); });
      nodes.forEach(function (n, i) { if (indeg[i] > 0) { n.layer = ++maxL; topo.push(i); } });
    }
    // sources (parameters, inputs) sit just above their first consumer instead of all at the top
    for (var t = topo.length - 1; t >= 0; t--) {
      var n = nodes[topo[t]];
      if (n.preds.length === 0 && n.succs.length) {
        var m = Infinity;
        n.succs.forEach(function (j) { m = Math.min(m, nodes[j].layer); });
        n.layer = Math.max(0, m - 1);
      }
    }
    // dummy nodes split edges longer than one layer
    var all = nodes.slice();
    var segs = [];  // per visible edge: the chain of node indices it passes through
    V.edges.forEach(function (e) {
      var a = idx.get(e.from), b = idx.get(e.to), path = [a];
      var ca = nodes[a].chain, cb = nodes[b].chain, c = 0;
      while (c < ca.length && c < cb.length && ca[c] === cb[c]) c++;
      for (var L = nodes[a].layer + 1; L < nodes[b].layer; L++) {
        var d = { id: null, w: DUMMY_W, h: 0, chain: ca.slice(0, c), dummy: true, preds: [], succs: [], layer: L, x: 0, y: 0, order: 0 };
        all.push(d);
        path.push(all.length - 1);
      }
      path.push(b);
      segs.push(path);
    });
    var up = all.map(function () { return []; }), down = all.map(function () { return []; });
    segs.forEach(function (p) {
      for (var k = 0; k + 1 < p.length; k++) { down[p[k]].push(p[k + 1]); up[p[k + 1]].push(p[k]); }
    });
    var nLayers = 0;
    all.forEach(function (n) { nLayers = Math.max(nLayers, n.layer + 1); });
    var layers = [];
    for (var L = 0; L < nLayers; L++) layers.push([]);
    // initial order: depth-first from the sources keeps chains together
    var seen = new Uint8Array(all.length);
    function visit(i) {
      var stack = [i];
      while (stack.length) {
        var j = stack.pop();
        if (seen[j]) continue;
        seen[j] = 1;
        layers[all[j].layer].push(j);
        for (var s = down[j].length - 1; s >= 0; s--) if (!seen[down[j][s]]) stack.push(down[j][s]);
      }
    }
    topo.forEach(function (i) { if (!seen[i]) visit(i); });
    all.forEach(function (n, i) { if (!seen[i]) visit(i); });
    function renumber() { layers.forEach(function (ly) { ly.forEach(function (j, p) { all[j].order = p; }); }); }
    renumber();
    // barycentric sweeps; nodes of one module stay next to each other (compare by the enclosing modules' mean)
    function sortLayer(ly, nbr) {
      var bary = new Map();
      ly.forEach(function (j) {
        var ns = nbr[j];
        if (!ns.length) { bary.set(j, all[j].order); return; }
        var s = 0;
        ns.forEach(function (q) { s += all[q].order; });
        bary.set(j, s / ns.length);
      });
      var group = new Map();
      ly.forEach(function (j) {
        all[j].chain.forEach(function (mid) {
          var g = group.get(mid) || { s: 0, n: 0 };
          g.s += bary.get(j); g.n += 1;
          group.set(mid, g);
        });
      });
      function key(j, i) {
        var ch = all[j].chain;
        if (i < ch.length) { var g = group.get(ch[i]); return [ch[i], g.s / g.n]; }
        return ["#" + j, bary.get(j)];
      }
      ly.sort(function (a, b) {
        for (var i = 0; ; i++) {
          var ka = key(a, i), kb = key(b, i);
          if (ka[0] !== kb[0]) return ka[1] - kb[1] || all[a].order - all[b].order;
          if (i >= all[a].chain.length) return 0;
        }
      });
    }
    for (var it = 0; it < 8; it++) {
      if (it % 2 === 0) for (var L2 = 1; L2 < nLayers; L2++) { sortLayer(layers[L2], up); renumber(); }
      else for (var L3 = nLayers - 2; L3 >= 0; L3--) { sortLayer(layers[L3], down); renumber(); }
    }
    // x: each layer keeps its order and minimum gaps and moves towards its neighbours' mean (isotonic regression)
    function sepBetween(a, b) {
      var ca = a.chain, cb = b.chain, c = 0;
      while (c < ca.length && c < cb.length && ca[c] === cb[c]) c++;
      return (a.w + b.w) / 2 + (a.dummy && b.dummy ? 6 : GAP_X) + PAD * ((ca.length - c) + (cb.length - c));
    }
    layers.forEach(function (ly) {
      var x = 0;
      ly.forEach(function (j, p) { if (p) x += sepBetween(all[ly[p - 1]], all[j]); all[j].x = x; });
    });
    function place(ly, nbrLists) {
      if (!ly.length) return;
      var n = ly.length, c = new Array(n), tgt = new Array(n), wt = new Array(n);
      c[0] = 0;
      for (var p = 1; p < n; p++) c[p] = c[p - 1] + sepBetween(all[ly[p - 1]], all[ly[p]]);
      for (p = 0; p < n; p++) {
        var j = ly[p], s = 0, k = 0;
        nbrLists.forEach(function (nb) { nb[j].forEach(function (q) { s += all[q].x; k++; }); });
        var d = k ? s / k : all[j].x;
        tgt[p] = d - c[p];
        wt[p] = k ? (all[j].dummy ? 4 : 1) : 0.05;
      }
      // pool adjacent violators: y non-decreasing minimising sum wt*(y-tgt)^2
      var blocks = [];
      for (p = 0; p < n; p++) {
        blocks.push({ v: tgt[p], w: wt[p], n: 1 });
        while (blocks.length > 1 && blocks[blocks.length - 2].v > blocks[blocks.length - 1].v) {
          var b2 = blocks.pop(), b1 = blocks.pop(), w = b1.w + b2.w;
          blocks.push({ v: (b1.v * b1.w + b2.v * b2.w) / w, w: w, n: b1.n + b2.n });
        }
      }
      p = 0;
      blocks.forEach(function (b) { for (var r = 0; r < b.n; r++, p++) all[ly[p]].x = b.v + c[p]; });
    }
    for (var it2 = 0; it2 < 6; it2++) {
      if (it2 % 2 === 0) for (var a1 = 1; a1 < nLayers; a1++) place(layers[a1], [up]);
      else for (var a2 = nLayers - 2; a2 >= 0; a2--) place(layers[a2], [down]);
    }
    for (var a3 = 0; a3 < nLayers; a3++) place(layers[a3], [up, down]);
    // y: layer heights plus room for the module boxes that start or end in each layer
    var mRange = new Map();
    nodes.forEach(function (n) {
      n.chain.forEach(function (mid) {
        var r = mRange.get(mid);
        if (!r) mRange.set(mid, { lo: n.layer, hi: n.layer });
        else { r.lo = Math.min(r.lo, n.layer); r.hi = Math.max(r.hi, n.layer); }
      });
    });
    var layerH = [], topExt = [], botExt = [];
    for (L = 0; L < nLayers; L++) { layerH.push(0); topExt.push(0); botExt.push(0); }
    nodes.forEach(function (n) {
      var starts = 0, ends = 0;
      n.chain.forEach(function (mid) { var r = mRange.get(mid); if (r.lo === n.layer) starts++; if (r.hi === n.layer) ends++; });
      layerH[n.layer] = Math.max(layerH[n.layer], n.h);
      topExt[n.layer] = Math.max(topExt[n.layer], starts * (PAD + HEAD));
      botExt[n.layer] = Math.max(botExt[n.layer], ends * PAD);
    });
    var y = 20 + topExt[0];
    for (L = 0; L < nLayers; L++) {
      if (L) y += layerH[L - 1] / 2 + botExt[L - 1] + GAP_Y + topExt[L] + layerH[L] / 2;
      else y += layerH[0] / 2;
      layers[L].forEach(function (j) { all[j].y = y; });
    }
    // shift to positive coordinates
    var minX = Infinity, maxX = -Infinity, maxY = 0;
    all.forEach(function (n) { minX = Math.min(minX, n.x - n.w / 2); maxX = Math.max(maxX, n.x + n.w / 2); maxY = Math.max(maxY, n.y + n.h / 2); });
    if (!all.length) { minX = 0; maxX = 0; }
    var margin = 20 + PAD * maxDepth;
    all.forEach(function (n) { n.x += margin - minX; });
    // module outlines: in each layer the span of the module's members (and of the dummies of its inner edges),
    // padded once per box level, joined from layer to layer; the layer gaps keep sibling modules apart
    var spans = new Map();
    all.forEach(function (n) {
      n.chain.forEach(function (mid, k) {
        var levels = n.chain.length - k, heads = 0;
        for (var q = k; q < n.chain.length; q++) { var rq = mRange.get(n.chain[q]); if (rq && rq.lo === n.layer) heads++; }
        var sp = spans.get(mid);
        if (!sp) { sp = new Map(); spans.set(mid, sp); }
        var x0 = n.x - n.w / 2 - PAD * levels, x1 = n.x + n.w / 2 + PAD * levels;
        var y0 = n.y - n.h / 2 - PAD * levels - HEAD * heads, y1 = n.y + n.h / 2 + PAD * levels;
        var r = sp.get(n.layer);
        if (!r) sp.set(n.layer, { x0: x0, x1: x1, y0: y0, y1: y1 });
        else { r.x0 = Math.min(r.x0, x0); r.x1 = Math.max(r.x1, x1); r.y0 = Math.min(r.y0, y0); r.y1 = Math.max(r.y1, y1); }
      });
    });
    var outlines = [];
    spans.forEach(function (sp, mid) {
      var ls = Array.from(sp.keys()).sort(function (p, q) { return p - q; }), bars = ls.map(function (l) { return sp.get(l); });
      for (var k = 0; k + 1 < bars.length; k++) {  // bars that overlap vertically meet half way
        if (bars[k].y1 > bars[k + 1].y0) { var mid2 = (bars[k].y1 + bars[k + 1].y0) / 2; bars[k].y1 = mid2; bars[k + 1].y0 = mid2; }
      }
      var pts = [];
      bars.forEach(function (r) { pts.push([r.x0, r.y0], [r.x0, r.y1]); });
      for (k = bars.length - 1; k >= 0; k--) pts.push([bars[k].x1, bars[k].y1], [bars[k].x1, bars[k].y0]);
      var d = pts.map(function (pt, i) { return (i ? "L" : "M") + pt[0].toFixed(1) + "," + pt[1].toFixed(1); }).join(" ") + " Z";
      var x0 = Infinity, x1 = -Infinity;
      bars.forEach(function (r) { x0 = Math.min(x0, r.x0); x1 = Math.max(x1, r.x1); });
      outlines.push({ id: mid, depth: moduleChain(mid).length, d: d, lx: bars[0].x0 + 6, ly: bars[0].y0 + 12,
                      y0: bars[0].y0, y1: bars[bars.length - 1].y1, x0: x0, x1: x1 });
    });
    state.layoutCount++;
    state.layoutMs = performance.now() - t0;
    var right = 0;
    all.forEach(function (n) { right = Math.max(right, n.x + n.w / 2); });
    outlines.forEach(function (o) { right = Math.max(right, o.x1); });
    return { nodes: nodes, all: all, segs: segs, boxes: outlines, width: right + 20, height: maxY + 20 + PAD * maxDepth };
  }

  // ---- drawing ----------------------------------------------------------------------------------------
  var graphDiv = document.getElementById("graph");
  var svgEl = svg("svg", { "aria-label": "graph" });
  var defs = svg("defs");
  [["arrow", "#9aa3ad"], ["arrow-in", "#d6336c"], ["arrow-out", "#1c7ed6"], ["arrow-accum", "#2b8a3e"]].forEach(function (a) {
    var mk = svg("marker", { id: a[0], viewBox: "0 0 10 10", refX: "9", refY: "5", markerWidth: "7", markerHeight: "7",
      orient: "auto-start-reverse", markerUnits: "userSpaceOnUse" });
    mk.setAttribute("markerWidth", "9"); mk.setAttribute("markerHeight", "9");
    mk.appendChild(svg("path", { d: "M0,0 L10,5 L0,10 z", fill: a[1] }));
    defs.appendChild(mk);
  });
  svgEl.appendChild(defs);
  var viewport = svg("g", { id: "viewport" });
  svgEl.appendChild(viewport);
  graphDiv.appendChild(svgEl);

  var current = null;
  var gradBtn = document.getElementById("show-gradients");
  if (gradBtn && !graphs.gradient) gradBtn.parentNode.removeChild(gradBtn), gradBtn = null;       // { V, L, nodeEls: Map vid -> g, edgeEls: [g], edgeOf: Map original edge index -> visible edge index }
  var layoutCache = new Map();

  function layoutKey() { return state.direction + "|" + Array.from(state.expanded).sort().join(","); }

  function render(keepView) {
    var key = layoutKey(), cached = layoutCache.get(key);
    if (!cached) {
      var V = visibleGraph(state.direction);
      cached = { V: V, L: layout(V) };
      if (layoutCache.size > 24) layoutCache.clear();
      layoutCache.set(key, cached);
    }
    var V2 = cached.V, L = cached.L;
    while (viewport.firstChild) viewport.removeChild(viewport.firstChild);
    var gMods = svg("g", { "class": "modules" }), gEdges = svg("g", { "class": "edges" }), gNodes = svg("g", { "class": "nodes" });
    viewport.appendChild(gMods); viewport.appendChild(gEdges); viewport.appendChild(gNodes);
    L.boxes.slice().sort(function (a, b) { return a.depth - b.depth; }).forEach(function (b) {
      var m = modules.get(b.id);
      var g = svg("g", { "class": "module", "data-id": b.id, "data-path": m.path || "" });
      var title = svg("title"); title.textContent = modName(m) + " (" + (m.type || "module") + "): click to collapse";
      g.appendChild(title);
      g.appendChild(svg("path", { d: b.d }));
      var t = svg("text", { x: b.lx, y: b.ly });
      t.textContent = "\u25BE " + modName(m) + (m.path ? ": " + (m.type || "") : "");
      g.appendChild(t);
      gMods.appendChild(g);
    });
    var nodeEls = new Map();
    L.nodes.forEach(function (n) {
      var v = n.v;
      var kind = ["op", "param", "input", "const", "output", "root", "vjp", "accumulate", "module", "leaf"].indexOf(v.kind) >= 0 ? v.kind : "other";
      var g = svg("g", { "class": "node k-" + kind, "data-id": v.id, "data-kind": v.kind, transform: "translate(" + (n.x - n.w / 2) + "," + (n.y - n.h / 2) + ")" });
      var title = svg("title");
      title.textContent = v.kind === "module" ? "click to expand" : v.lines.join("  ");
      g.appendChild(title);
      g.appendChild(svg("rect", { width: n.w, height: n.h, rx: v.kind === "op" || v.kind === "vjp" ? 4 : 9 }));
      v.lines.forEach(function (line, i) {
        var t = svg("text", { x: n.w / 2, y: 19 + 15 * i, "text-anchor": "middle", "class": i ? "sub" : "main" });
        t.textContent = line;
        g.appendChild(t);
      });
      gNodes.appendChild(g);
      nodeEls.set(v.id, g);
    });
    var edgeEls = [], edgeOf = new Map(), ports = new Map(), labelled = new Set();
    function lastX(k) { var sg = L.segs[k]; return L.all[sg[sg.length - 2]].x; }
    V2.edges.forEach(function (e, k) { if (!ports.has(e.to)) ports.set(e.to, []); ports.get(e.to).push(k); });
    ports.forEach(function (ks) { ks.sort(function (p, q) { return lastX(p) - lastX(q); }); });
    V2.edges.forEach(function (e, k) {
      var path = L.segs[k].map(function (i) { return L.all[i]; });
      var a = path[0], b = path[path.length - 1];
      var pts = [[a.x, a.y + a.h / 2]];
      for (var i = 1; i + 1 < path.length; i++) pts.push([path[i].x, path[i].y]);
      var nIn = ports.get(e.to).length, rank = ports.get(e.to).indexOf(k);
      var spread = nIn > 1 ? Math.min(14, (b.w - 16) / (nIn - 1)) : 0;
      pts.push([b.x + (rank - (nIn - 1) / 2) * spread, b.y - b.h / 2 - 1]);
      var d = "M" + pts[0][0].toFixed(1) + "," + pts[0][1].toFixed(1);
      for (i = 1; i < pts.length; i++) {
        var p0 = pts[i - 1], p1 = pts[i], dy = (p1[1] - p0[1]) / 2;
        d += " C" + p0[0].toFixed(1) + "," + (p0[1] + dy).toFixed(1) + " " + p1[0].toFixed(1) + "," + (p1[1] - dy).toFixed(1) +
             " " + p1[0].toFixed(1) + "," + p1[1].toFixed(1);
      }
      var g = svg("g", { "class": "edge", "data-from": e.from, "data-to": e.to, "data-edges": e.edges.join(" ") });
      g.appendChild(svg("path", { d: d }));
      var label = e.shapes.join(" ");
      var labelKey = (state.direction === "backward" ? "to:" + e.to : "from:" + e.from) + "|" + label;
      if (label && !labelled.has(labelKey)) {
        labelled.add(labelKey);  // parallel edges carrying the same shape are labelled once
        // forward: every edge out of a node carries the same array, so label near the source; backward: near the
        // target, where one input's gradient arrives
        var atEnd = state.direction === "backward", s0 = atEnd ? pts[pts.length - 2] : pts[0], s1 = atEnd ? pts[pts.length - 1] : pts[1];
        var len = Math.abs(s1[1] - s0[1]) || 1, tt = Math.min(0.5, 15 / len);
        if (atEnd) tt = 1 - tt;
        var mt = 1 - tt, h2 = (s1[1] - s0[1]) / 2;
        var bx = mt * mt * mt * s0[0] + 3 * mt * mt * tt * s0[0] + 3 * mt * tt * tt * s1[0] + tt * tt * tt * s1[0];
        var by = mt * mt * mt * s0[1] + 3 * mt * mt * tt * (s0[1] + h2) + 3 * mt * tt * tt * (s1[1] - h2) + tt * tt * tt * s1[1];
        var t = svg("text", { x: (bx + 4).toFixed(1), y: (by + 3).toFixed(1) });
        t.textContent = label;
        g.appendChild(t);
      }
      gEdges.appendChild(g);
      edgeEls.push(g);
      e.edges.forEach(function (i2) { edgeOf.set(i2, k); });
    });
    current = { V: V2, L: L, nodeEls: nodeEls, edgeEls: edgeEls, edgeOf: edgeOf };
    svgEl.setAttribute("data-direction", state.direction);
    document.getElementById("toggle-direction").textContent = state.direction === "backward" ? "Show forward graph" : "Show backward graph";
    if (gradBtn) gradBtn.classList.toggle("active", state.direction === "gradient");
    document.getElementById("toggle-direction").setAttribute("data-direction", state.direction);
    if (!keepView) initialView();
    applyView();
    highlight();
    renderLegend();
  }

  // ---- pan and zoom -----------------------------------------------------------------------------------
  function applyView() {
    var v = state.view;
    viewport.setAttribute("transform", "translate(" + v.x.toFixed(1) + "," + v.y.toFixed(1) + ") scale(" + v.k.toFixed(4) + ")");
  }
  function fit() {
    var cw = graphDiv.clientWidth || 800, ch = graphDiv.clientHeight || 600, L = current.L;
    var k = Math.min(cw / Math.max(L.width, 1), ch / Math.max(L.height, 1), 1.5);
    state.view = { k: k, x: (cw - L.width * k) / 2, y: Math.max(0, (ch - L.height * k) / 2) };
    applyView();
  }
  function initialView() {  // the whole graph when it fits readably, else its top (where the backward pass starts)
    var cw = graphDiv.clientWidth || 800, ch = graphDiv.clientHeight || 600, L = current.L;
    var fitW = cw / Math.max(L.width, 1), fitH = ch / Math.max(L.height, 1), k = Math.min(fitW, fitH, 1.2);
    if (k < 0.75) k = Math.max(Math.min(1, fitW), 0.35);
    state.view = { k: k, x: (cw - L.width * k) / 2, y: L.height * k < ch ? (ch - L.height * k) / 2 : 10 };
  }
  function zoomAt(factor, px, py) {
    var v = state.view, k = Math.min(6, Math.max(0.05, v.k * factor));
    v.x = px - (px - v.x) * (k / v.k); v.y = py - (py - v.y) * (k / v.k); v.k = k;
    applyView();
  }
  function ensureVisible(vid) {
    if (!current || !current.nodeEls.has(vid)) return;
    var n = null;
    current.L.nodes.forEach(function (m) { if (m.id === vid) n = m; });
    if (!n) return;
    var v = state.view, cw = graphDiv.clientWidth, ch = graphDiv.clientHeight;
    var sx = n.x * v.k + v.x, sy = n.y * v.k + v.y;
    if (sx < 40 || sx > cw - 40 || sy < 40 || sy > ch - 40) { v.x = cw / 2 - n.x * v.k; v.y = ch / 2 - n.y * v.k; applyView(); }
  }
  var drag = null;
  svgEl.addEventListener("pointerdown", function (ev) {
    if (ev.button !== 0) return;
    drag = { x: ev.clientX, y: ev.clientY, vx: state.view.x, vy: state.view.y, moved: false, id: ev.pointerId };
  });
  svgEl.addEventListener("pointermove", function (ev) {
    if (!drag) return;
    var dx = ev.clientX - drag.x, dy = ev.clientY - drag.y;
    if (!drag.moved && Math.abs(dx) + Math.abs(dy) > 4) {
      drag.moved = true;
      graphDiv.classList.add("panning");
      try { svgEl.setPointerCapture(drag.id); } catch (e) { /* the pointer may be gone already */ }
    }
    if (drag.moved) { state.view.x = drag.vx + dx; state.view.y = drag.vy + dy; applyView(); }
  });
  function endDrag(ev) {
    if (!drag) return;
    var wasMoved = drag.moved;
    drag = null;
    graphDiv.classList.remove("panning");
    if (wasMoved) { svgEl.setAttribute("data-dragged", "1"); setTimeout(function () { svgEl.removeAttribute("data-dragged"); }, 0); }
    return ev;
  }
  svgEl.addEventListener("pointerup", endDrag);
  svgEl.addEventListener("pointercancel", endDrag);
  svgEl.addEventListener("wheel", function (ev) {
    ev.preventDefault();
    var r = svgEl.getBoundingClientRect();
    zoomAt(Math.exp(-ev.deltaY * (ev.deltaMode === 1 ? 0.05 : 0.0015)), ev.clientX - r.left, ev.clientY - r.top);
  }, { passive: false });
  svgEl.addEventListener("click", function (ev) {
    if (svgEl.getAttribute("data-dragged")) return;
    var t = ev.target;
    var node = t.closest ? t.closest("g.node") : null;
    if (node) {
      var id = node.getAttribute("data-id");
      if (node.getAttribute("data-kind") === "module") { toggleModule(id.slice(7)); return; }
      select(id);
      return;
    }
    var box = t.closest ? t.closest("g.module") : null;
    if (box) toggleModule(box.getAttribute("data-id"));
  });

  // ---- collapse / expand --------------------------------------------------------------------------------
  function toggleModule(mid) {
    if (!modules.has(mid)) return;
    if (state.expanded.has(mid)) state.expanded.delete(mid); else state.expanded.add(mid);
    render(true);
    if (state.expanded.has(mid)) showModule(mid);
  }
  function setDepth(d) {
    applyDepth(d === "" || d === "all" || d == null ? null : Number(d));
    document.getElementById("depth").value = d == null ? "all" : String(d);
    render(false);
  }

  // ---- heatmaps ---------------------------------------------------------------------------------------
  var STOPS = [[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98], [253, 231, 37]];  // viridis-like
  function lut(lo, hi) {
    var out = new Uint8ClampedArray(256 * 3), diverging = lo < 0 && hi > 0, z = diverging ? -lo / (hi - lo) : 0;
    for (var u = 0; u < 256; u++) {
      var t = u / 255, c;
      if (diverging) {
        if (t < z) { var a = (z - t) / z; c = [255 - a * (255 - 33), 255 - a * (255 - 102), 255 - a * (255 - 172)]; }
        else { var b = z < 1 ? (t - z) / (1 - z) : 0; c = [255 - b * (255 - 178), 255 - b * (255 - 24), 255 - b * (255 - 43)]; }
      } else {
        var f = t * (STOPS.length - 1), i = Math.min(STOPS.length - 2, Math.floor(f)), r = f - i;
        c = [0, 1, 2].map(function (ch) { return STOPS[i][ch] + r * (STOPS[i + 1][ch] - STOPS[i][ch]); });
      }
      out[3 * u] = c[0]; out[3 * u + 1] = c[1]; out[3 * u + 2] = c[2];
    }
    return out;
  }
  function decode(b64) {
    var s = atob(b64), a = new Uint8Array(s.length);
    for (var i = 0; i < s.length; i++) a[i] = s.charCodeAt(i);
    return a;
  }
  function drawTile(canvas, bytes, rows, cols, table) {
    canvas.width = cols; canvas.height = rows;
    var ctx = canvas.getContext("2d"), img = ctx.createImageData(cols, rows), d = img.data;
    for (var i = 0; i < rows * cols; i++) {
      var u = bytes[i] || 0;
      d[4 * i] = table[3 * u]; d[4 * i + 1] = table[3 * u + 1]; d[4 * i + 2] = table[3 * u + 2]; d[4 * i + 3] = 255;
    }
    ctx.putImageData(img, 0, 0);
  }
  function colorbar(lo, hi) {
    var c = el("canvas"), table = lut(lo, hi), bytes = new Uint8Array(64);
    for (var i = 0; i < 64; i++) bytes[i] = Math.round(i * 255 / 63);
    drawTile(c, bytes, 1, 64, table);
    var parts = [el("span", { text: num(lo) }), c, el("span", { text: num(hi) })];
    if (lo < 0 && hi > 0) parts.push(el("span", { text: "(white = 0)" }));
    var div = el("div", { cls: "colorbar" });
    parts.forEach(function (p) { div.appendChild(p); });
    return div;
  }
  function heatmaps(hm) {
    var box = el("div");
    if (!hm || !hm.tiles || !hm.tiles.length) return box;
    var many = hm.tiles.length > 1, size = many ? 56 : 180;
    var scale = Math.min(12, size / Math.max(hm.rows, hm.cols, 1));
    var grid = el("div", { cls: "heatmaps" });
    hm.tiles.forEach(function (t) {
      var c = el("canvas", { title: (t.label || "") + "  min " + num(t.min) + "  max " + num(t.max) });
      drawTile(c, decode(t.b64), hm.rows, hm.cols, lut(t.min, t.max));
      c.style.width = hm.cols * scale + "px"; c.style.height = hm.rows * scale + "px";
      grid.appendChild(el("figure", null, c, many ? el("figcaption", { text: t.label || "" }) : null));
    });
    box.appendChild(grid);
    var lo = Infinity, hi = -Infinity;
    hm.tiles.forEach(function (t) { lo = Math.min(lo, t.min); hi = Math.max(hi, t.max); });
    box.appendChild(colorbar(many ? hm.tiles[0].min : lo, many ? hm.tiles[0].max : hi));
    if (many) box.appendChild(el("div", { cls: "hint", text: "each tile is scaled to its own min..max (hover a tile; the bar shows the first)" }));
    return box;
  }

  // ---- the side panel -----------------------------------------------------------------------------------
  var panel = document.getElementById("panel");
  function formatData(data, shape) {
    if (!shape || !shape.length) return num(data[0]);
    if (shape.length === 1) return "[" + data.map(num).join(", ") + "]";
    var inner = shape.slice(1).reduce(function (a, b) { return a * b; }, 1), parts = [];
    for (var i = 0; i < shape[0]; i++) parts.push(formatData(data.slice(i * inner, (i + 1) * inner), shape.slice(1)));
    var sep = shape.length > 2 ? ",\n\n" : ",\n";
    return "[" + parts.map(function (p, i) { return (i ? " " : "") + p.replace(/\n/g, "\n ").replace(/\n \n/g, "\n\n"); }).join(sep) + "]";
  }
  function valueSection(vid, title) {
    var sec = el("div", { cls: "value", "data-value": vid || "" });
    if (title) sec.appendChild(el("h4", { text: title }));
    var v = vid != null ? values[vid] : null;
    if (!v) { sec.appendChild(el("div", { cls: "hint", text: vid == null ? "not recorded" : "missing value " + vid })); return sec; }
    sec.appendChild(el("div", { cls: "mono", text: shapeStr(v.shape) + " " + (v.dtype || "") + " \u00B7 " + v.count + " element" + (v.count === 1 ? "" : "s") }));
    var st = v.stats || {};
    var tbl = el("table", { cls: "stats" });
    var row1 = el("tr"), row2 = el("tr");
    ["min", "max", "mean", "norm", "zeros", "nan", "inf"].forEach(function (k) {
      if (!(k in st)) return;
      row1.appendChild(el("th", { text: k }));
      row2.appendChild(el("td", { text: num(st[k]) }));
    });
    tbl.appendChild(row1); tbl.appendChild(row2);
    sec.appendChild(tbl);
    if (v.data) sec.appendChild(el("pre", { cls: "numbers", text: formatData(v.data, v.shape) }));
    if (v.heatmap) sec.appendChild(heatmaps(v.heatmap));
    return sec;
  }
  function opSection(opName) {
    var info = opName && DATA.ops ? DATA.ops[opName] : null;
    if (!info) return null;
    var sec = el("div");
    sec.appendChild(el("h3", { text: "The primitive " + opName }));
    if (info.forward) { sec.appendChild(el("h4", { text: "forward" })); sec.appendChild(el("pre", { cls: "formula", text: info.forward })); }
    if (info.vjp) { sec.appendChild(el("h4", { text: "VJP" })); sec.appendChild(el("pre", { cls: "formula vjp", text: info.vjp })); }
    if (info.page) {
      var href = (DATA.docs_base || "") + info.page;
      if (/^\s*javascript:/i.test(href)) href = "#";
      sec.appendChild(el("p", null, el("a", { href: href, target: "_blank", rel: "noopener", cls: "derivation", text: "derivation: " + info.page }),
        DATA.docs_base ? null : el("span", { cls: "hint", text: " (a link relative to this file: explore(docs_url=...) points it at the documentation)" })));
    }
    if (info.doc) sec.appendChild(el("details", null, el("summary", { text: "docstring" }), el("pre", { cls: "formula", text: info.doc })));
    return sec;
  }
  function nodeLabel(dir, id) {
    var n = byId[dir].get(id);
    if (!n) return String(id);
    return dir === "forward" && n.kind === "param" && n.name ? n.name : n.label;
  }
  function jump(dir, id, text) {
    var b = el("button", { type: "button", cls: "link", text: text });
    b.addEventListener("click", function () { if (state.direction !== dir) setDirection(dir); select(id); });
    return b;
  }
  function kv(rows) {
    var t = el("table");
    rows.forEach(function (r) { if (r[1] != null && r[1] !== "") t.appendChild(el("tr", null, el("th", { text: r[0] }), el("td", null, r[1]))); });
    return t;
  }
  function modText(mid) { var m = modules.get(mid); return m ? modName(m) + " (" + (m.type || "module") + ")" : null; }
  function showForward(n, dir) {
    panel.appendChild(el("h2", { text: n.kind === "param" && n.name ? n.name : n.label }));
    panel.appendChild(el("div", null, el("span", { cls: "badge", text: dir === "gradient" ? "gradient graph" : "forward" }), el("span", { cls: "badge", text: n.kind })));
    if (n.step != null && steps[n.step]) {
      var sb = el("button", { type: "button", cls: "link", text: "step " + (n.step + 1) });
      sb.addEventListener("click", function () { setStep(n.step); });
      panel.appendChild(el("p", null, "computed during backward ", sb, " (create_graph=True)"));
    }
    panel.appendChild(kv([["op", n.op], ["name", n.name], ["module", modText(n.module)], ["shape", shapeStr(n.shape)], ["dtype", n.dtype]]));
    var ps = n.params ? Object.keys(n.params) : [];
    if (ps.length) { panel.appendChild(el("h3", { text: "arguments" })); panel.appendChild(kv(ps.map(function (k) { return [k, String(n.params[k])]; }))); }
    var ins = graphs[dir].edges.filter(function (e) { return e.to === n.id; }).sort(function (a, b) { return a.input - b.input; });
    if (ins.length) {
      panel.appendChild(el("h3", { text: "inputs" }));
      var ul = el("ul");
      ins.forEach(function (e) { ul.appendChild(el("li", null, "input " + e.input + ": ", jump(dir, e.from, nodeLabel(dir, e.from)), " " + shapeStr(e.shape))); });
      panel.appendChild(ul);
    }
    panel.appendChild(el("h3", { text: "values" }));
    panel.appendChild(valueSection(n.value, "forward value"));
    if (dir === "forward") panel.appendChild(valueSection(n.grad, "gradient dL/d(this)"));
    var b = dir === "forward" ? backwardOf.get(n.id) : null;
    if (b) panel.appendChild(el("p", null, "its backward node: ", jump("backward", b, nodeLabel("backward", b))));
    var op = opSection(n.op);
    if (op) panel.appendChild(op);
  }
  function showBackward(n) {
    var f = byId.forward.get(n.forward);
    panel.appendChild(el("h2", { text: n.label }));
    panel.appendChild(el("div", null, el("span", { cls: "badge", text: "backward" }), el("span", { cls: "badge", text: n.kind })));
    var si = stepOfNode.has(n.id) ? stepOfNode.get(n.id) : null;
    var stepBtn = null;
    if (si != null) {
      stepBtn = el("button", { type: "button", cls: "link", text: "step " + (si + 1) + " of " + steps.length });
      stepBtn.addEventListener("click", function () { setStep(si); });
    }
    panel.appendChild(kv([["forward", f ? jump("forward", f.id, nodeLabel("forward", f.id)) : null], ["module", modText(n.module)],
      ["shape", f ? shapeStr(f.shape) : null], ["runs at", stepBtn]]));
    var s = si != null ? steps[si] : null;
    panel.appendChild(el("h3", { text: "gradient in" }));
    var ins = graphs.backward.edges.map(function (e, i) { return [e, i]; }).filter(function (p) { return p[0].to === n.id; });
    if (s) panel.appendChild(valueSection(s.grad_in, n.kind === "root" ? "dL/dL (the seed)" : "dL/dy, summed over " + Math.max(1, ins.length) + " incoming edge" + (ins.length > 1 ? "s" : "")));
    if (ins.length > 1) ins.forEach(function (p) { panel.appendChild(valueSection(p[0].grad, "from " + nodeLabel("backward", p[0].from))); });
    var outs = graphs.backward.edges.filter(function (e) { return e.from === n.id; }).sort(function (a, b) { return a.input - b.input; });
    if (outs.length) {
      panel.appendChild(el("h3", { text: "gradients sent" }));
      outs.forEach(function (e) { panel.appendChild(valueSection(e.grad, "dL/d(input " + e.input + ") " + shapeStr(e.shape) + " to " + nodeLabel("backward", e.to))); });
    }
    if (n.kind === "accumulate" && f) { panel.appendChild(el("h3", { text: "stored in .grad" })); panel.appendChild(valueSection(f.grad, (f.name || f.label) + ".grad")); }
    var acc = [];
    steps.forEach(function (st) { (st.accumulated || []).forEach(function (a) { if (a.into === n.id) acc.push([st, a]); }); });
    if (acc.length) {
      panel.appendChild(el("h3", { text: "accumulation" }));
      acc.forEach(function (p) {
        panel.appendChild(valueSection(p[1].total, "sum of what steps " + p[1].from_steps.map(function (k) { return k + 1; }).join(" and ") + " sent (complete at step " + (p[0].index + 1) + ")"));
      });
    }
    if (n.saved && n.saved.length) {
      panel.appendChild(el("h3", { text: "what the VJP saved" }));
      n.saved.forEach(function (sv) { panel.appendChild(valueSection(sv.value, sv.label)); });
    } else if (n.kind === "vjp") {
      panel.appendChild(el("p", { cls: "hint", text: "the VJP saved no tensors beyond its inputs" }));
    }
    if (f && f.value && n.kind !== "root") panel.appendChild(valueSection(f.value, "forward value of " + nodeLabel("forward", f.id)));
    var op = opSection(f ? f.op : null);
    if (op) panel.appendChild(op);
  }
  function showModule(mid) {
    var m = modules.get(mid);
    while (panel.firstChild) panel.removeChild(panel.firstChild);
    panel.setAttribute("data-node", "module:" + mid);
    panel.appendChild(el("h2", { text: modName(m) }));
    panel.appendChild(el("div", null, el("span", { cls: "badge", text: "module" }), el("span", { cls: "badge", text: m.type || "" })));
    var members = graphs[state.direction].nodes.filter(function (n) { return moduleChain(n.module).indexOf(mid) >= 0; });
    panel.appendChild(el("p", { text: members.length + " node" + (members.length === 1 ? "" : "s") + " in the " + state.direction + " graph" }));
    var ul = el("ul");
    members.slice(0, 200).forEach(function (n) { ul.appendChild(el("li", null, jump(state.direction, n.id, nodeLabel(state.direction, n.id)))); });
    panel.appendChild(ul);
  }
  function select(id) {
    var dir = state.direction;
    if (id && id.indexOf("module:") === 0) { state.selected = id; showModule(id.slice(7)); highlight(); return; }
    var n = byId[dir].get(id);
    if (!n) return;
    state.selected = id;
    while (panel.firstChild) panel.removeChild(panel.firstChild);
    panel.setAttribute("data-node", id);
    panel.scrollTop = 0;
    if (dir === "backward") showBackward(n); else showForward(n, dir);
    highlight();
  }

  // ---- step-through -----------------------------------------------------------------------------------
  var slider = document.getElementById("step-slider"), caption = document.getElementById("step-caption");
  slider.max = String(steps.length);
  function gradName(e, sendsCount) {
    var t = byId.backward.get(e.to);
    if (t && t.kind === "accumulate") { var f = byId.forward.get(t.forward); if (f && f.name) return "dL/d" + f.name; }
    return sendsCount > 1 ? "dL/dx" + e.input : "dL/dx";
  }
  function captionText(i) {
    if (i < 0) return steps.length ? "Backward pass: " + steps.length + " steps in the engine's order. Press Next (or the right arrow) to run step 1."
                                   : "No backward steps recorded.";
    var s = steps[i], n = byId.backward.get(s.node), label = n ? n.label : s.node, gin = values[s.grad_in];
    var txt = "step " + (i + 1) + "/" + steps.length + ": " + label;
    if (n && n.kind === "root") txt += " seeds dL/dL = 1" + (gin ? " " + shapeStr(gin.shape) : "");
    else txt += " receives dL/dy" + (gin ? " " + shapeStr(gin.shape) : "");
    var sends = s.sends || [];
    if (sends.length) {
      txt += ", sends " + sends.map(function (sd) {
        var e = graphs.backward.edges[sd.edge] || { to: sd.to, input: 0 };
        return gradName(e, sends.length) + " to " + nodeLabel("backward", sd.to);
      }).join(", ");
    } else if (n && n.kind === "accumulate") {
      var f = byId.forward.get(n.forward);
      txt += ", stores it in " + (f && f.name ? f.name : "the leaf") + ".grad";
    }
    (s.accumulated || []).forEach(function (a) {
      txt += "; gradients from steps " + a.from_steps.map(function (k) { return k + 1; }).join(" and ") + " are summed at " + nodeLabel("backward", a.into);
    });
    return txt;
  }
  // highlight classes are diffed against the previous step's, so a step touches only the elements that change
  var lit = new Map(), want = null;
  function mark(elm, cls) {
    if (!elm) return;
    var s = want.get(elm);
    if (!s) { s = new Set(); want.set(elm, s); }
    s.add(cls);
  }
  function unmark(elm, cls) { var s = elm && want.get(elm); if (s) s.delete(cls); }
  function commit() {
    lit.forEach(function (cs, elm) {
      var keep = want.get(elm);
      cs.forEach(function (c) { if (!keep || !keep.has(c)) elm.classList.remove(c); });
    });
    want.forEach(function (cs, elm) {
      var had = lit.get(elm);
      cs.forEach(function (c) { if (!had || !had.has(c)) elm.classList.add(c); });
    });
    lit = want;
    want = null;
  }
  function visNode(bid) {  // the drawn element for a backward node id (in either view)
    if (!current) return null;
    var id = bid;
    if (state.direction === "forward") { var b = byId.backward.get(bid); if (!b) return null; id = b.forward; }
    var vid = current.V.rep.get(id);
    return vid !== undefined ? current.nodeEls.get(vid) : null;
  }
  function visEdge(bIndex) {
    if (!current) return null;
    var i = state.direction === "forward" ? forwardEdgeOf[bIndex] : bIndex;
    if (i == null || i < 0) return null;
    var k = current.edgeOf.get(i);
    return k !== undefined ? current.edgeEls[k] : null;
  }
  function highlight() {
    want = new Map();
    if (current && current.svgRoot !== viewport.firstChild) lit = new Map();  // a new drawing: nothing is lit
    if (current) current.svgRoot = viewport.firstChild;
    marks();
    commit();
  }
  function marks() {
    if (!current) return;
    if (state.selected) {
      var sid = state.selected;
      var vsel = sid.indexOf("module:") === 0 ? sid : current.V.rep.get(sid);
      mark(current.nodeEls.get(vsel), "selected");
    }
    var i = state.step;
    if (state.direction === "gradient") {
      graphs.gradient.nodes.forEach(function (n) {
        if (n.step == null || n.step > i) return;
        mark(current.nodeEls.get(current.V.rep.get(n.id)), n.step === i ? "current" : "done");
      });
      return;
    }
    for (var j = 0; j < i; j++) mark(visNode(steps[j].node), "done");
    if (i >= 0 && i < steps.length) {
      var s = steps[i];
      graphs.backward.edges.forEach(function (e, k) { if (e.to === s.node) mark(visEdge(k), "grad-in"); });
      (s.sends || []).forEach(function (sd) { mark(visEdge(sd.edge), "grad-out"); mark(visNode(sd.to), "receives"); });
      (s.accumulated || []).forEach(function (a) {
        mark(visNode(a.into), "accum");
        a.from_steps.forEach(function (k) {
          var from = steps[k] ? steps[k].node : null;
          graphs.backward.edges.forEach(function (e, q) { if (e.from === from && e.to === a.into) mark(visEdge(q), "accum-in"); });
        });
      });
      var cur = visNode(s.node);
      if (cur) { unmark(cur, "done"); mark(cur, "current"); }
    }
  }
  function setStep(i, fromSlider) {
    i = Math.max(-1, Math.min(steps.length - 1, Math.round(i)));
    state.step = i;
    if (!fromSlider) slider.value = String(i + 1);
    caption.textContent = captionText(i);
    caption.setAttribute("data-step", String(i));
    document.getElementById("step-prev").disabled = i < 0;
    document.getElementById("step-next").disabled = i >= steps.length - 1;
    if (i >= 0 && state.direction === "gradient") {
      highlight();
      var made = graphs.gradient.nodes.filter(function (n) { return n.step === i; });
      if (made.length) ensureVisible(current.V.rep.get(made[0].id));
    } else if (i >= 0) {
      var bid = steps[i].node, id = bid;
      if (state.direction === "forward") { var b = byId.backward.get(bid); id = b ? b.forward : null; }
      if (id != null && byId[state.direction].has(id)) {
        var vid = current.V.rep.get(id);
        if (vid && vid.indexOf("module:") === 0) { state.selected = null; highlight(); }
        else select(id);
        ensureVisible(vid);
      } else highlight();
    } else highlight();
    window.explorer.step = state.step;
  }
  function setDirection(d) {
    if (!graphs[d]) return;
    if (d === state.direction) return;
    var sel = state.selected, other = null;
    if (sel && sel.indexOf("module:") !== 0) {
      if (d === "backward") other = backwardOf.get(sel) || null;
      else if (state.direction === "backward") { var b = byId.backward.get(sel); other = b ? b.forward : null; }
      else if (byId[d].has(sel)) other = sel;
    }
    state.direction = d;
    state.selected = null;
    window.explorer.direction = d;
    render(false);
    if (other) select(other);
  }
  document.getElementById("step-prev").addEventListener("click", function () { setStep(state.step - 1); });
  document.getElementById("step-next").addEventListener("click", function () { setStep(state.step + 1); });
  slider.addEventListener("input", function () { setStep(Number(slider.value) - 1, true); });
  document.getElementById("toggle-direction").addEventListener("click", function () { setDirection(state.direction === "backward" ? "forward" : "backward"); });
  if (gradBtn) gradBtn.addEventListener("click", function () { setDirection("gradient"); });
  document.getElementById("collapse-all").addEventListener("click", function () { setDepth(0); });
  document.getElementById("expand-all").addEventListener("click", function () { setDepth(null); });
  document.getElementById("fit").addEventListener("click", fit);
  document.getElementById("zoom-in").addEventListener("click", function () { zoomAt(1.25, graphDiv.clientWidth / 2, graphDiv.clientHeight / 2); });
  document.getElementById("zoom-out").addEventListener("click", function () { zoomAt(0.8, graphDiv.clientWidth / 2, graphDiv.clientHeight / 2); });
  document.getElementById("show-shapes").addEventListener("change", function (ev) { svgEl.classList.toggle("hide-shapes", !ev.target.checked); });
  var depthSel = document.getElementById("depth");
  depthSel.appendChild(el("option", { value: "all", text: "all" }));
  for (var dd = 0; dd <= maxModuleDepth; dd++) depthSel.appendChild(el("option", { value: String(dd), text: String(dd) }));
  depthSel.value = initialDepth == null ? "all" : String(initialDepth);
  depthSel.addEventListener("change", function () { setDepth(depthSel.value); });
  document.addEventListener("keydown", function (ev) {
    var t = ev.target, tag = t && t.tagName ? t.tagName.toLowerCase() : "";
    if (tag === "input" || tag === "select" || tag === "textarea" || ev.altKey || ev.ctrlKey || ev.metaKey) return;
    if (ev.key === "ArrowRight") { setStep(state.step + 1); ev.preventDefault(); }
    else if (ev.key === "ArrowLeft") { setStep(state.step - 1); ev.preventDefault(); }
    else if (ev.key === "Home") { setStep(-1); ev.preventDefault(); }
    else if (ev.key === "End") { setStep(steps.length - 1); ev.preventDefault(); }
    else if (ev.key === "d") setDirection(state.direction === "backward" ? "forward" : "backward");
    else if (ev.key === "f") fit();
    else if (ev.key === "+" || ev.key === "=") zoomAt(1.25, graphDiv.clientWidth / 2, graphDiv.clientHeight / 2);
    else if (ev.key === "-") zoomAt(0.8, graphDiv.clientWidth / 2, graphDiv.clientHeight / 2);
  });

  // ---- legend -----------------------------------------------------------------------------------------
  function renderLegend() {
    var lg = document.getElementById("legend");
    while (lg.firstChild) lg.removeChild(lg.firstChild);
    var cs = getComputedStyle(document.documentElement);
    function v(name) { return cs.getPropertyValue(name).trim(); }
    var kinds = state.direction !== "backward"
      ? [["op", "--op", "--op-b"], ["parameter", "--param", "--param-b"], ["input", "--input", "--input-b"], ["constant", "--const", "--const-b"], ["output", "--output", "--output-b"]]
      : [["dL/dL seed", "--root", "--root-b"], ["VJP", "--vjp", "--vjp-b"], ["AccumulateGrad (.grad of a leaf)", "--acc", "--acc-b"]];
    kinds.forEach(function (k) {
      var sw = el("span", { cls: "sw" }); sw.style.background = v(k[1]); sw.style.borderColor = v(k[2]);
      lg.appendChild(el("span", { cls: "item" }, sw, k[0]));
    });
    var ms = el("span", { cls: "sw" }); ms.style.borderStyle = "dashed"; ms.style.borderColor = v("--module-b");
    lg.appendChild(el("span", { cls: "item" }, ms, "module (click: collapse / expand)"));
    [["current step", "--current"], ["gradient in", "--gin"], ["gradients sent", "--gout"], ["summed where paths meet", "--accum"]].forEach(function (k) {
      var ln = el("span", { cls: "ln" }); ln.style.borderColor = v(k[1]);
      lg.appendChild(el("span", { cls: "item" }, ln, k[0]));
    });
    lg.appendChild(el("span", { cls: "item", text: state.direction === "backward" ? "edges: gradient flow, labelled with shapes" : "edges: data flow, labelled with shapes" }));
  }

  // ---- start ------------------------------------------------------------------------------------------
  window.explorer = {
    data: DATA, options: OPTIONS, direction: state.direction, step: -1, stepCount: steps.length,
    get expanded() { return state.expanded; },
    get selected() { return state.selected; }, get layoutCount() { return state.layoutCount; }, get layoutMs() { return state.layoutMs; },
    setStep: function (i) { setStep(i); }, next: function () { setStep(state.step + 1); }, prev: function () { setStep(state.step - 1); },
    setDirection: setDirection, toggleDirection: function () { setDirection(state.direction === "backward" ? "forward" : "backward"); },
    select: select, toggleModule: toggleModule, setDepth: setDepth, fit: fit, ready: false
  };
  render(false);
  setStep(-1);
  window.explorer.ready = true;
  document.body.setAttribute("data-ready", "1");
  function sizeSvg() {
    svgEl.style.width = Math.max(1, graphDiv.clientWidth) + "px";
    svgEl.style.height = Math.max(1, graphDiv.clientHeight) + "px";
  }
  sizeSvg();
  if (typeof ResizeObserver === "function") new ResizeObserver(sizeSvg).observe(graphDiv);
  else window.addEventListener("resize", sizeSvg);
})();
