// podnet report: draws the connectivity matrix from the JSON blob on a canvas and wires its
// filters and the explanation panel; draws the sections below the fold when they come into
// view; pages long tables. Plain DOM, textContent only: no value from the data becomes markup.
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("report-data").textContent);
  var conn = data.connectivity;
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

  // The matrix is one <canvas>: a cell is a square of CELL pixels, nothing in the DOM, so the
  // page's layout does not grow with the number of cells. The labels are elements (one per row
  // and column, for their tooltips and the filters); each is exactly CELL high (rows) or wide
  // (columns), so label k lines up with the canvas's k-th visible row or column.
  var CELL = 18;
  var css = getComputedStyle(document.documentElement);
  function colour(name) { return css.getPropertyValue(name).trim(); }
  var FILL = {allow: colour("--allow"), deny: colour("--deny"), self: colour("--self"),
              partial: colour("--partial")};
  // Each fill as the 32-bit pixel an ImageData holds (drawn once and read back, so any CSS
  // colour works and the byte order is the platform's).
  var scratch = document.createElement("canvas"), RGBA = {};
  scratch.width = scratch.height = 1;
  Object.keys(FILL).forEach(function (kind) {
    var c = scratch.getContext("2d");
    c.clearRect(0, 0, 1, 1);
    c.fillStyle = FILL[kind];
    c.fillRect(0, 0, 1, 1);
    RGBA[kind] = new Uint32Array(c.getImageData(0, 0, 1, 1).data.buffer)[0];
  });
  var INK = colour("--ink"), MISMATCH = colour("--mismatch"), NSBAND = colour("--nsband"),
      SELECTED = colour("--selected"), GROUPLINE = colour("--groupline");

  function kindOf(i, j) {
    if (conn.level === "workload") {
      var c = conn.cells[i][j];
      return c === null ? "self" : c[0] < 0 ? "deny" : "allow";
    }
    var allowed = conn.allowed[i][j], pairs = conn.pairs[i][j];
    return pairs === 0 ? "self" : allowed === 0 ? "deny" : allowed === pairs ? "allow" : "partial";
  }
  function tipOf(i, j) {
    var tip;
    if (conn.level === "workload") {
      var c = conn.cells[i][j];
      tip = c === null ? "a workload's own pods" : c[0] < 0 ? "denied: No Connections" : conn.conns[c[0]];
    } else {
      tip = conn.allowed[i][j] + " of " + conn.pairs[i][j] + " workload pairs allowed";
    }
    tip = items[i].name + " \u2192 " + items[j].name + ": " + tip;
    var lab = labState(i, j);
    if (lab > 0) {
      tip += "\nlab: " + lab + " probe" + (lab === 1 ? "" : "s") + " disagree with this prediction";
    } else if (lab === 0) {
      tip += "\nlab: observed as predicted";
    }
    return tip;
  }
  // > 0: that many probes disagree; 0: probed and as predicted; -1: not probed (or no lab).
  function labState(i, j) {
    if (!lab || i === j && conn.level === "workload") { return -1; }
    var bad = labBad[i + "," + j];
    if (bad) { return bad; }
    return labProbed[i] && labProbed[j] ? 0 : -1;
  }

  var matrix = document.getElementById("matrix");
  var canvas, ctx, colHeads = [], nsHeads = [], rowEls = [], nsRows = [];
  var lines = [], shownCols = [];  // what the canvas draws: row lines (a namespace band or a row) and columns
  function build() {
    var corner = el("div", "corner", "from \\ to");
    var heads = el("div", "colheads"), nsrow = el("div", "nsrow"), cols = el("div", "cols");
    var rows = el("div", "rowheads");
    groups.forEach(function (g) {
      var h = el("span", "ns", g.ns);
      h.title = g.ns;
      nsHeads.push(h);
      nsrow.appendChild(h);
      g.members.forEach(function (j) {
        var c = el("span", "col", short(items[j]));
        c.title = items[j].name;
        colHeads.push(c);
        cols.appendChild(c);
      });
      var head = el("div", "ns nshead", g.ns);
      head.dataset.ns = g.ns;
      nsRows.push(head);
      if (grouped) { rows.appendChild(head); }
      g.members.forEach(function (i) {
        var r = el("div", "row wl", short(items[i]));
        r.title = items[i].name;
        rowEls[i] = r;
        rows.appendChild(r);
      });
    });
    if (grouped) { heads.appendChild(nsrow); }
    heads.appendChild(cols);
    canvas = el("canvas");
    canvas.setAttribute("role", "img");
    canvas.setAttribute("aria-label", "connectivity matrix: click a cell for its explanation");
    [corner, heads, rows, canvas].forEach(function (e) { matrix.appendChild(e); });
    ctx = canvas.getContext("2d");
    groups.forEach(function (g) { nsFilter.appendChild(el("option", null, g.ns)).value = g.ns; });
  }

  // Chromium's largest 2D canvas (podnet/report/__init__.py): a sharper one would stay blank
  var MAX_SIDE = 32767, MAX_AREA = 268435456;

  function draw() {
    var w = shownCols.length * CELL, h = lines.length * CELL;
    var ratio = Math.min(window.devicePixelRatio || 1, MAX_SIDE / Math.max(w, h, 1),
                         Math.sqrt(MAX_AREA / Math.max(w * h, 1)));
    canvas.style.width = w + "px";
    canvas.style.height = h + "px";
    canvas.width = Math.max(1, Math.round(w * ratio));
    canvas.height = Math.max(1, Math.round(h * ratio));
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    // One pixel per cell in a small image, scaled up without smoothing: a few calls to the
    // canvas however many cells (10,000 fillRects cost more than the whole page's layout).
    // Then the white gaps between cells, the namespace bands over them, the lab's marks and the
    // selection on top.
    var cols = shownCols.length, small = new Uint32Array(Math.max(1, cols * lines.length)), marks = [];
    lines.forEach(function (line, r) {
      if (line.ns !== undefined) { return; }
      for (var c = 0; c < cols; c++) {
        var j = shownCols[c];
        small[r * cols + c] = RGBA[kindOf(line.i, j)];
        if (lab) {
          var state = labState(line.i, j);
          if (state >= 0) { marks.push(c * CELL, r * CELL, state); }
        }
      }
    });
    ctx.fillStyle = "#fff";
    ctx.fillRect(0, 0, w, h);
    if (cols && lines.length) {
      scratch.width = cols;
      scratch.height = lines.length;
      var image = scratch.getContext("2d").createImageData(cols, lines.length);
      image.data.set(new Uint8ClampedArray(small.buffer));
      scratch.getContext("2d").putImageData(image, 0, 0);
      ctx.imageSmoothingEnabled = false;
      ctx.drawImage(scratch, 0, 0, w, h);
    }
    ctx.fillStyle = "#fff";
    for (var g = 0; g <= cols; g++) { ctx.fillRect(g * CELL - 1, 0, 2, h); }
    for (g = 0; g <= lines.length; g++) { ctx.fillRect(0, g * CELL - 1, w, 2); }
    ctx.fillStyle = NSBAND;
    lines.forEach(function (line, r) { if (line.ns !== undefined) { ctx.fillRect(0, r * CELL, w, CELL); } });
    for (var k = 0; k < marks.length; k += 3) {
      var x = marks[k], y = marks[k + 1];
      if (marks[k + 2] > 0) {  // disagreeing probes: an outline inside the cell
        ctx.fillStyle = MISMATCH;
        ctx.fillRect(x + 1, y + 1, CELL - 2, 3);
        ctx.fillRect(x + 1, y + CELL - 4, CELL - 2, 3);
        ctx.fillRect(x + 1, y + 1, 3, CELL - 2);
        ctx.fillRect(x + CELL - 4, y + 1, 3, CELL - 2);
      } else {  // the dot: probed, and as predicted
        ctx.fillStyle = INK;
        ctx.fillRect(x + CELL / 2 - 1, y + CELL / 2 - 1, 3, 3);
      }
    }
    if (selected) {
      var sr = -1, sc = shownCols.indexOf(selected[1]);
      lines.forEach(function (line, r) { if (line.i === selected[0]) { sr = r; } });
      if (sr >= 0 && sc >= 0) {
        ctx.strokeStyle = SELECTED;
        ctx.lineWidth = 2;
        ctx.strokeRect(sc * CELL + 1, sr * CELL + 1, CELL - 2, CELL - 2);
      }
    }
    // a thin line where the columns' namespace changes
    ctx.fillStyle = GROUPLINE;
    shownCols.forEach(function (j, c) {
      if (c > 0 && items[shownCols[c - 1]].ns !== items[j].ns) { ctx.fillRect(c * CELL - 0.5, 0, 1, h); }
    });
  }

  // The cell under a mouse event: [row item, column item], or null on a band or outside.
  function cellAt(ev) {
    var box = canvas.getBoundingClientRect();
    var r = Math.floor((ev.clientY - box.top) / CELL), c = Math.floor((ev.clientX - box.left) / CELL);
    if (r < 0 || c < 0 || r >= lines.length || c >= shownCols.length || lines[r].i === undefined) {
      return null;
    }
    return [lines[r].i, shownCols[c]];
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
    lines = [];
    shownCols = [];
    groups.forEach(function (g, k) {
      var visibleCols = g.members.filter(function (j) { return colShown[j]; });
      shownCols = shownCols.concat(visibleCols);
      nsHeads[k].hidden = visibleCols.length === 0;
      nsHeads[k].style.width = visibleCols.length * CELL + "px";
      var visibleRows = g.members.filter(function (i) { return !rowEls[i].hidden; });
      nsRows[k].hidden = visibleRows.length === 0;
      if (grouped && visibleRows.length) { lines.push({ns: k}); }
      visibleRows.forEach(function (i) { lines.push({i: i}); });
    });
    shownCount.textContent = shown + " of " + items.length + " rows shown";
    draw();
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

  // The DNS chart: one bar per workload, its NXDOMAIN share in red, the count beside it.
  function drawDns(dns, root) {
    var BAR = 420, LABEL = 360, ROW = 20;
    var scale = BAR / (dns.maxQueries || 1);
    var r1 = function (v) { return Math.round(v * 10) / 10; };
    root.setAttribute("width", LABEL + BAR + 160);
    root.setAttribute("height", dns.rows.length * ROW + 24);
    dns.rows.forEach(function (r, k) {
      var y = k * ROW + 4, ok = (r.queries - r.nxdomain) * scale;
      var g = svg("g", {"class": "dns-row", "data-workload": r.workload, "data-queries": r.queries});
      g.appendChild(svg("title", {}, r.workload + ": ndots:" + r.ndots + ", search " +
                        (r.searches.join(" ") || "(none)") +
                        (r.clusterDNS ? "" : "; not the cluster DNS (the node's resolv.conf)")));
      g.appendChild(svg("text", {x: LABEL - 6, y: y + 13, "text-anchor": "end"},
                        r.workload.length > 52 ? r.workload.slice(0, 51) + "\u2026" : r.workload));
      g.appendChild(svg("rect", {"class": "ok", x: LABEL, y: y, width: r1(ok), height: ROW - 6}));
      g.appendChild(svg("rect", {"class": "nx", x: r1(LABEL + ok), y: y, width: r1(r.nxdomain * scale),
                                 height: ROW - 6}));
      g.appendChild(svg("text", {x: r1(LABEL + r.queries * scale + 6), y: y + 13},
                        r.queries + " (" + r.nxdomain + " NXDOMAIN, ndots:" + r.ndots + ")"));
      root.appendChild(g);
    });
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

  var selected = null;  // [row item, column item] of the clicked cell
  function onCellClick(ev) {
    var at = cellAt(ev);
    if (!at || kindOf(at[0], at[1]) === "self") { return; }
    var i = at[0], j = at[1];
    selected = at;
    draw();
    var text = conn.level === "workload" ? explainWorkloads(i, j) : explainNamespaces(i, j);
    text = text.concat(labLines(i, j));
    panelText.textContent = text.join("\n").replace(/\n+$/, "");
    panel.hidden = false;
    panel.dataset.i = i;
    panel.dataset.j = j;
  }
  var hovered = "";
  function onCellHover(ev) {  // one tooltip for the canvas, set for the cell under the mouse
    var at = cellAt(ev), key = at ? at.join(",") : "";
    if (key === hovered) { return; }
    hovered = key;
    canvas.title = at ? tipOf(at[0], at[1]) : "";
    canvas.style.cursor = at && kindOf(at[0], at[1]) !== "self" ? "pointer" : "default";
  }

  // Tables longer than their first page (rendered by the template) grow on "show more", from
  // the blob: each row's cells in the template's order, as text.
  var MORE = 200;
  var PAGED = {
    nodes: [data.overview.nodes, function (n) { return [n.name, n.ip, n.podCIDR]; }],
    "services-table": [data.services.rows, function (r) {
      return [r.service, r.type, r.clusterIP, r.port, r.nodePort || "", r.external, r.endpointsText];
    }]
  };
  function showMore(button) {
    var target = PAGED[button.dataset.more], body = document.querySelector("#" + button.dataset.more + " tbody");
    var rows = target[0], from = body.rows.length, to = Math.min(rows.length, from + MORE);
    for (var k = from; k < to; k++) {
      var tr = el("tr");
      target[1](rows[k]).forEach(function (v) { tr.appendChild(el("td", null, v === null ? "None" : String(v))); });
      body.appendChild(tr);
    }
    var left = rows.length - to;
    button.hidden = left === 0;
    button.textContent = "show " + Math.min(MORE, left) + " more (" + left + " not shown)";
  }
  document.addEventListener("click", function (ev) {
    var b = ev.target.closest("button[data-more]");
    if (b) { showMore(b); }
  });

  // Sections below the fold are drawn when they first come near the view (or before printing):
  // their markup waits in a <template> (parsed, but neither styled nor laid out) and the map
  // waits in the blob. The page's first layout is the overview and the matrix, at any size.
  var LAZY = {map: function () { if (!data.map.skipped) { drawMap(data.map, document.getElementById("map-svg")); } },
              dns: function () { drawDns(data.dns, document.getElementById("dns-chart")); }};
  function drawSection(sec) {
    if (sec.dataset.drawn) { return; }
    sec.dataset.drawn = "true";
    Array.prototype.forEach.call(sec.querySelectorAll("template.lazy"), function (t) {
      t.parentNode.replaceChild(t.content, t);
    });
    if (LAZY[sec.id]) { LAZY[sec.id](); }
  }
  var lazy = Array.prototype.slice.call(document.querySelectorAll("section[data-lazy]"));
  if ("IntersectionObserver" in window) {
    var seen = new IntersectionObserver(function (entries) {
      entries.forEach(function (e) {
        if (e.isIntersecting) { seen.unobserve(e.target); drawSection(e.target); }
      });
    }, {rootMargin: "300px 0px"});
    lazy.forEach(function (sec) { seen.observe(sec); });
  } else {
    lazy.forEach(drawSection);
  }
  window.addEventListener("beforeprint", function () { lazy.forEach(drawSection); });

  build();
  canvas.addEventListener("click", onCellClick);
  canvas.addEventListener("mousemove", onCellHover);
  textFilter.addEventListener("input", applyFilters);
  nsFilter.addEventListener("change", applyFilters);
  applyFilters();
  // What a benchmark or a test waits for (bench/report.py): the overview and the matrix drawn.
  // Set after the next frame, so it also counts that frame's style, layout and paint.
  requestAnimationFrame(function () {
    setTimeout(function () { document.body.dataset.rendered = "true"; }, 0);
  });
}());
