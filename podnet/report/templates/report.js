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

  function explainNamespaces(i, j) {
    var a = items[i].name, b = items[j].name;
    panelTitle.textContent = a + " \u2192 " + b;
    return [conn.allowed[i][j] + " of " + conn.pairs[i][j] + " workload pairs from " + a + " to " + b +
            " may connect on some port.",
            "Per workload: podnet connlist -f ... | grep '^" + a + "/'; per pod and port: podnet explain."];
  }

  var selected = null;
  table.addEventListener("click", function (ev) {
    var td = ev.target.closest("td");
    if (!td || td.classList.contains("self")) { return; }
    var i = Number(td.dataset.i), j = Number(td.dataset.j);
    if (selected) { selected.classList.remove("selected"); }
    selected = td;
    td.classList.add("selected");
    var lines = conn.level === "workload" ? explainWorkloads(i, j) : explainNamespaces(i, j);
    panelText.textContent = lines.join("\n").replace(/\n+$/, "");
    panel.hidden = false;
    panel.dataset.i = i;
    panel.dataset.j = j;
  });

  build();
  textFilter.addEventListener("input", applyFilters);
  nsFilter.addEventListener("change", applyFilters);
  applyFilters();
}());
