// podnet report: builds the connectivity matrix from the JSON blob and wires its filters and
// the explanation panel. Plain DOM, textContent only: no value from the data becomes markup.
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("report-data").textContent);
  var conn = data.connectivity;
  var table = document.getElementById("matrix");
  var textFilter = document.getElementById("text-filter");
  var nsFilter = document.getElementById("ns-filter");
  var shownCount = document.getElementById("shown-count");
  var panel = document.getElementById("explain");
  var panelTitle = document.getElementById("explain-title");
  var panelText = document.getElementById("explain-text");

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) { e.className = cls; }
    if (text !== undefined) { e.textContent = text; }
    return e;
  }

  // One item per row and column: a workload, or a namespace in the aggregated matrix. Items
  // come sorted by namespace, so a namespace's items are one run and cells[i] is item i's row.
  var items = conn.level === "workload"
    ? conn.workloads.map(function (w) { return {name: w.name, ns: w.namespace, pod: w.pod}; })
    : conn.namespaces.map(function (n) { return {name: n, ns: n, pod: n}; });
  var groups = [];
  items.forEach(function (it, k) {
    var g = groups[groups.length - 1];
    if (!g || g.ns !== it.ns) { g = {ns: it.ns, members: []}; groups.push(g); }
    g.members.push(k);
  });
  // Workloads are grouped under their namespace; namespaces (the aggregated matrix) are not.
  var grouped = conn.level === "workload";
  function short(it) {
    return conn.level === "workload" ? it.name.slice(it.ns.length + 1) : it.name;
  }

  // The lab's overlay: how many probes disagree per cell, and which rows the lab probed.
  var lab = conn.lab || null;
  var labBad = {}, labProbed = {};
  if (lab) {
    lab.cells.forEach(function (c) { labBad[c[0] + "," + c[1]] = c[2]; });
    lab.probed.forEach(function (i) { labProbed[i] = true; });
  }
  function overlay(td, i, j) {
    if (!lab || i === j && conn.level === "workload") { return; }
    var bad = labBad[i + "," + j];
    if (bad) {
      td.classList.add("mismatch");
      td.title += "\nlab: " + bad + " probe" + (bad === 1 ? "" : "s") + " disagree with this prediction";
    } else if (labProbed[i] && labProbed[j]) {
      td.classList.add("probed");
      td.title += "\nlab: observed as predicted";
    }
  }
  // The lab's disagreeing probes behind one cell, for the explanation panel.
  function labLines(i, j) {
    if (!lab || !labBad[i + "," + j]) { return []; }
    var a = items[i], b = items[j];
    var inItem = function (workload, it) {
      return conn.level === "workload" ? workload === it.name : workload.split("/")[0] === it.ns;
    };
    var out = ["", "lab (" + data.lab.file + "): " + labBad[i + "," + j] + " probes disagree:"];
    data.lab.mismatches.forEach(function (m) {
      if (inItem(m.fromWorkload, a) && inItem(m.toWorkload, b)) {
        out.push("  " + m.from + " -> " + m.to + " " + m.port + ": predicted " +
                 (m.predicted ? "allowed" : "denied") + ", observed " + (m.observed ? "reachable" : "dropped"));
      }
    });
    return out;
  }

  function cellOf(i, j) {
    var td = el("td");
    td.dataset.i = i;
    td.dataset.j = j;
    if (conn.level === "workload") {
      var c = conn.cells[i][j];
      if (c === null) {
        td.className = "self";
        td.title = "a workload's own pods";
      } else if (c[0] < 0) {
        td.className = "deny";
        td.title = "denied: No Connections";
      } else {
        td.className = "allow";
        td.title = conn.conns[c[0]];
      }
    } else {
      var allowed = conn.allowed[i][j], pairs = conn.pairs[i][j];
      td.className = pairs === 0 ? "self" : allowed === 0 ? "deny" : allowed === pairs ? "allow" : "partial";
      td.title = allowed + " of " + pairs + " workload pairs allowed";
    }
    overlay(td, i, j);
    return td;
  }

  var colHeads = [], nsHeads = [], rowEls = [], nsRows = [], cells = [];
  function build() {
    var thead = el("thead"), tbody = el("tbody");
    var top = el("tr", "nsrow"), cols = el("tr", "cols");
    var corner = el("th", "corner row", "from \\ to");
    corner.rowSpan = grouped ? 2 : 1;
    (grouped ? top : cols).appendChild(corner);
    groups.forEach(function (g) {
      var th = el("th", "ns", g.ns);
      th.colSpan = g.members.length;
      nsHeads.push(th);
      top.appendChild(th);
      g.members.forEach(function (j) {
        var c = el("th", "col", short(items[j]));
        c.title = items[j].name;
        colHeads.push(c);
        cols.appendChild(c);
      });
    });
    if (grouped) { thead.appendChild(top); }
    thead.appendChild(cols);
    groups.forEach(function (g) {
      var head = el("tr", "nshead");
      var th = el("th", "ns row", g.ns);
      head.appendChild(th);
      var filler = el("th", "ns");
      filler.colSpan = items.length;
      head.appendChild(filler);
      head.dataset.ns = g.ns;
      nsRows.push(head);
      if (grouped) { tbody.appendChild(head); }
      g.members.forEach(function (i) {
        var tr = el("tr", "wl");
        tr.dataset.i = i;
        var th = el("th", "row", short(items[i]));
        th.title = items[i].name;
        tr.appendChild(th);
        var row = [];
        for (var j = 0; j < items.length; j++) {
          var td = cellOf(i, j);
          row.push(td);
          tr.appendChild(td);
        }
        cells.push(row);
        rowEls[i] = tr;
        tbody.appendChild(tr);
      });
    });
    table.appendChild(thead);
    table.appendChild(tbody);
    groups.forEach(function (g) { nsFilter.appendChild(el("option", null, g.ns)).value = g.ns; });
  }

  function applyFilters() {
    var text = textFilter.value.trim().toLowerCase();
    var ns = nsFilter.value;
    var shown = 0;
    var colShown = items.map(function (it) { return ns === "" || it.ns === ns; });
    items.forEach(function (it, i) {
      var visible = colShown[i] && it.name.toLowerCase().indexOf(text) >= 0;
      rowEls[i].hidden = !visible;
      shown += visible ? 1 : 0;
      colHeads[i].hidden = !colShown[i];
    });
    cells.forEach(function (row) {
      row.forEach(function (td, j) { td.hidden = !colShown[j]; });
    });
    groups.forEach(function (g, k) {
      var visibleCols = g.members.filter(function (j) { return colShown[j]; }).length;
      nsHeads[k].hidden = visibleCols === 0;
      nsHeads[k].colSpan = Math.max(visibleCols, 1);
      nsRows[k].hidden = !g.members.some(function (i) { return !rowEls[i].hidden; });
      nsRows[k].lastChild.colSpan = colShown.filter(Boolean).length;
    });
    shownCount.textContent = shown + " of " + items.length + " rows shown";
  }

  // The lines `podnet explain` prints for one port, from the embedded verdict.
  function explainLines(from, to, p) {
    var lines = [from + " -> " + to + " " + p.port + ": " + (p.allowed ? "ALLOWED" : "DENIED")];
    [["egress", from], ["ingress", to]].forEach(function (s) {
      var side = conn.sides[p[s[0]]];
      lines.push("  " + s[0] + " of " + s[1] + ": " + side.summary);
      side.policies.forEach(function (pol) {
        var rules = pol.allowedBy.length ? pol.allowedBy.join(", ") : "no rule matches this flow";
        lines.push("    " + pol.policy + ": " + (pol.allows ? "allows" : "denies") + " (" + rules +
                   "); lets " + pol.connections + " through for this pair");
      });
    });
    return lines;
  }

  function sideSummary(name, pod, side) {
    var lines = [];
    var head = !side.applies ? "outside the cluster: no policy applies"
      : !side.isolated ? "not isolated for " + name + ": allowed"
      : "isolated by " + side.policies.length + (side.policies.length === 1 ? " policy" : " policies") +
        "; lets " + side.connections + " through";
    lines.push("  " + name + " of " + pod + ": " + head);
    side.policies.forEach(function (pol) {
      lines.push("    " + pol.policy + ": lets " + pol.connections + " through for this pair");
    });
    return lines;
  }

  function explainWorkloads(i, j) {
    var c = conn.cells[i][j];
    var from = items[i], to = items[j];
    var e = conn.explains[c[1]];
    panelTitle.textContent = from.name + " \u2192 " + to.name + ": " + e.connections;
    var lines = ["all ports: " + e.connections + "  (pods " + from.pod + " -> " + to.pod + ")", ""];
    if (e.ports.length === 0) {
      lines.push(to.pod + " declares no container port; per side, over all ports:");
      lines = lines.concat(sideSummary("egress", from.pod, conn.sides[e.egress]),
                           sideSummary("ingress", to.pod, conn.sides[e.ingress]));
    }
    e.ports.forEach(function (p) { lines = lines.concat(explainLines(from.pod, to.pod, p), [""]); });
    return lines;
  }

  // Drill-down of the aggregated matrix: the allowed workload pairs behind one cell, read off
  // the flat triples only when a cell is clicked (none of them is in the DOM until then).
  function drillLines(a, b) {
    var out = [], wl = conn.drillWorkloads, d = conn.drill;
    for (var k = 0; k < d.length; k += 3) {
      var s = wl[d[k]], t = wl[d[k + 1]];
      if (s.slice(0, a.length + 1) === a + "/" && t.slice(0, b.length + 1) === b + "/") {
        out.push("  " + s + " -> " + t + ": " + conn.conns[d[k + 2]]);
      }
    }
    return out;
  }
  function explainNamespaces(i, j) {
    var a = items[i].name, b = items[j].name;
    panelTitle.textContent = a + " \u2192 " + b;
    var lines = [conn.allowed[i][j] + " of " + conn.pairs[i][j] + " workload pairs from " + a + " to " + b +
                 " may connect on some port" + (conn.allowed[i][j] ? ":" : ".")];
    lines = lines.concat(drillLines(a, b));
    lines.push("", "Per pod and port: podnet explain -f ... --from " + a + "/POD --to " + b + "/POD --port P.");
    return lines;
  }

  // The Map: boxes and arrows placed by podnet/report/graph.py; this only draws them.
  var SVG = document.getElementById("map-svg").namespaceURI;  // the SVG namespace, not a URL to load
  function svg(tag, attrs, text) {
    var e = document.createElementNS(SVG, tag);
    Object.keys(attrs).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    if (text !== undefined) { e.textContent = text; }
    return e;
  }
  function clip(box, tx, ty) {
    // where the line from the box's centre toward (tx, ty) leaves the box
    var cx = box[0] + box[2] / 2, cy = box[1] + box[3] / 2, dx = tx - cx, dy = ty - cy;
    if (dx === 0 && dy === 0) { return [cx, cy]; }
    var s = Math.min(dx === 0 ? Infinity : (box[2] / 2) / Math.abs(dx),
                     dy === 0 ? Infinity : (box[3] / 2) / Math.abs(dy));
    return [cx + dx * s, cy + dy * s];
  }
  function fit(text, n) { return text.length > n ? text.slice(0, n - 1) + "\u2026" : text; }
  function drawMap(m, root) {
    var M = 20;
    root.setAttribute("width", m.width + 2 * M);
    root.setAttribute("height", m.height + 2 * M);
    root.setAttribute("viewBox", -M + " " + -M + " " + (m.width + 2 * M) + " " + (m.height + 2 * M));
    var defs = svg("defs", {});
    var marker = svg("marker", {id: "arrow", viewBox: "0 0 10 10", refX: "10", refY: "5",
                                markerWidth: "7", markerHeight: "7", orient: "auto-start-reverse"});
    marker.appendChild(svg("path", {d: "M 0 0 L 10 5 L 0 10 z", fill: "#2e7d32"}));
    defs.appendChild(marker);
    root.appendChild(defs);
    var boxes = {}, edgesOf = {};
    m.groups.forEach(function (g) {
      boxes[g.id] = g.box;
      var e = svg("g", {"class": "group", "data-id": g.id});
      e.appendChild(svg("title", {}, g.name + (g.inside ? ": open inside (" + g.inside + ")" : "")));
      e.appendChild(svg("rect", {x: g.box[0], y: g.box[1], width: g.box[2], height: g.box[3], rx: 6}));
      e.appendChild(svg("text", {"class": "gname", x: g.box[0] + 8, y: g.box[1] + 15},
                        fit(g.name + (g.inside ? "  (open inside)" : ""), 34)));
      root.appendChild(e);
    });
    m.nodes.forEach(function (n) {
      boxes[n.id] = n.box;
      var e = svg("g", {"class": "node " + n.kind, "data-id": n.id});
      e.appendChild(svg("title", {}, n.title));
      e.appendChild(svg("rect", {x: n.box[0], y: n.box[1], width: n.box[2], height: n.box[3]}));
      e.appendChild(svg("text", {x: n.box[0] + 5, y: n.box[1] + 14}, fit(n.label, 32)));
      root.appendChild(e);
    });
    var layer = svg("g", {"class": "edges"});
    m.edges.forEach(function (ed) {
      var a = boxes[ed.from], b = boxes[ed.to];
      var p, q, mx, my;
      if (Math.abs(a[0] - b[0]) < 1 && a[2] === b[2]) {
        // one above the other (a namespace's own column): out and back in on the right side
        p = [a[0] + a[2], a[1] + a[3] / 2];
        q = [b[0] + b[2], b[1] + b[3] / 2];
        mx = p[0] + 25 + Math.abs(q[1] - p[1]) / 3;
        my = (p[1] + q[1]) / 2;
      } else {
        var ac = [a[0] + a[2] / 2, a[1] + a[3] / 2], bc = [b[0] + b[2] / 2, b[1] + b[3] / 2];
        p = clip(a, bc[0], bc[1]);
        q = clip(b, ac[0], ac[1]);
        // bend to the right of the direction, so A->B and B->A do not overlap
        var dx = q[0] - p[0], dy = q[1] - p[1], len = Math.sqrt(dx * dx + dy * dy) || 1;
        var bend = Math.min(40, len / 6);
        mx = (p[0] + q[0]) / 2 - dy / len * bend;
        my = (p[1] + q[1]) / 2 + dx / len * bend;
      }
      var e = svg("g", {"class": "edge", "data-from": ed.from, "data-to": ed.to});
      e.appendChild(svg("title", {}, ed.from.slice(2) + " \u2192 " + ed.to.slice(2) + ": " + ed.label));
      e.appendChild(svg("path", {d: "M " + p[0].toFixed(1) + " " + p[1].toFixed(1) + " Q " + mx.toFixed(1) +
                                 " " + my.toFixed(1) + " " + q[0].toFixed(1) + " " + q[1].toFixed(1),
                                 "marker-end": "url(#arrow)"}));
      // the curve's midpoint is halfway between the chord's midpoint and the control point
      var lx = ((p[0] + q[0]) / 2 + mx) / 2, ly = ((p[1] + q[1]) / 2 + my) / 2;
      e.appendChild(svg("text", {x: lx.toFixed(1), y: ly.toFixed(1), "text-anchor": "middle"},
                        fit(ed.label === "All Connections" ? "all" : ed.label, 24)));
      layer.appendChild(e);
      [ed.from, ed.to].forEach(function (id) { (edgesOf[id] = edgesOf[id] || []).push(e); });
    });
    root.appendChild(layer);
    function focus(id) {
      Array.prototype.forEach.call(root.querySelectorAll(".edge.hl"), function (e) { e.classList.remove("hl"); });
      root.classList.toggle("focus", id !== null);
      (id !== null && edgesOf[id] || []).forEach(function (e) { e.classList.add("hl"); });
    }
    root.addEventListener("mouseover", function (ev) {
      var g = ev.target.closest(".node, .group");
      focus(g ? g.getAttribute("data-id") : null);
    });
    root.addEventListener("mouseleave", function () { focus(null); });
    // a map wider than the page starts fitted to it: the whole graph at once, names in tooltips
    var fitBox = document.getElementById("map-fit");
    function fitMap() {
      if (fitBox.checked) {  // with its viewBox, the height follows the width
        root.setAttribute("width", "100%");
        root.removeAttribute("height");
      } else {
        root.setAttribute("width", m.width + 2 * M);
        root.setAttribute("height", m.height + 2 * M);
      }
    }
    fitBox.checked = m.width + 2 * M > root.parentNode.clientWidth * 1.5;
    fitBox.addEventListener("change", fitMap);
    fitMap();
  }

  // The exposure view: built on the first switch to it, from the blob's exposure list, with
  // the workloads in the input that reach each exposed one read off the workload matrix.
  var expo = conn.exposure, expoBuilt = false;
  function expoCell(items, kinds) {
    var lines = items.filter(function (it) { return kinds.indexOf(it[0]) >= 0; })
      .map(function (it) { return (it[0] === "cluster" ? "" : it[1] + ": ") + it[2]; });
    return lines.length ? el("td", null, lines.join("\n")) : el("td", "none", "\u2014");
  }
  function reachedBy(name) {
    if (conn.level !== "workload") { return "see the namespace matrix"; }
    var j = -1;
    items.forEach(function (it, k) { if (it.name === name) { j = k; } });
    if (j < 0) { return ""; }
    var from = [];
    items.forEach(function (it, i) {
      var c = conn.cells[i][j];
      if (c !== null && c[0] >= 0) { from.push(it.name); }
    });
    return from.length + (from.length === 1 ? " workload" : " workloads") +
      (from.length ? ": " + from.slice(0, 8).join(", ") + (from.length > 8 ? ", \u2026" : "") : "");
  }
  function buildExposure() {
    if (expo.skipped) { return; }
    var ing = document.querySelector("#exposure-ingress tbody");
    var eg = document.querySelector("#exposure-egress tbody");
    expo.workloads.forEach(function (w) {
      [[ing, w.ingress, !w.ingressProtected, true], [eg, w.egress, !w.egressProtected, false]]
        .forEach(function (t) {
          if (!t[1].length) { return; }
          var tr = el("tr", t[2] ? "unprotected" : null);
          tr.dataset.workload = w.workload;
          tr.appendChild(el("td", null, w.workload));
          tr.appendChild(expoCell(t[1], ["external"]));
          tr.appendChild(expoCell(t[1], ["cluster"]));
          tr.appendChild(expoCell(t[1], ["namespaces", "selector"]));
          if (t[3]) { tr.appendChild(el("td", null, reachedBy(w.workload))); }
          t[0].appendChild(tr);
        });
    });
    expoBuilt = true;
  }
  var expoToggle = document.getElementById("exposure-toggle");
  expoToggle.addEventListener("change", function () {
    if (expoToggle.checked && !expoBuilt) { buildExposure(); }
    var on = expoToggle.checked;
    document.getElementById("exposure-view").hidden = !on;
    document.getElementById("matrix-wrap").hidden = on;
    document.getElementById("matrix-controls").hidden = on;
    if (on) { panel.hidden = true; }
  });

  var selected = null;
  table.addEventListener("click", function (ev) {
    var td = ev.target.closest("td");
    if (!td || td.classList.contains("self")) { return; }
    var i = Number(td.dataset.i), j = Number(td.dataset.j);
    if (selected) { selected.classList.remove("selected"); }
    selected = td;
    td.classList.add("selected");
    var lines = conn.level === "workload" ? explainWorkloads(i, j) : explainNamespaces(i, j);
    lines = lines.concat(labLines(i, j));
    panelText.textContent = lines.join("\n").replace(/\n+$/, "");
    panel.hidden = false;
    panel.dataset.i = i;
    panel.dataset.j = j;
  });

  build();
  if (!data.map.skipped) { drawMap(data.map, document.getElementById("map-svg")); }
  textFilter.addEventListener("input", applyFilters);
  nsFilter.addEventListener("change", applyFilters);
  applyFilters();
  // Every section is drawn: what a benchmark or a test waits for (bench/report.py).
  document.body.dataset.rendered = "true";
}());
