"""netpol-analyzer's ``list`` output formats (txt, json, csv, md, dot), byte for byte.

Pure functions of the connections (sorted by source, then destination, as ``connections``
returns them), the workloads a graph shows without a connection, and the focus connection's
name ("" without ``--focus-conn``: with one, txt/csv/md/json list only the pairs). The text is
netpol-analyzer's exactly, including where it ends without a newline (json, dot).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence

from podnet.policy.connlist import Conn, Peer


def render(fmt: str, conns: Sequence[Conn], workloads: Sequence[Peer], focus_conn: str = "") -> str:
    if fmt == "dot":
        return dot(conns, workloads)
    return _TABLES[fmt](conns, focus_conn)


def txt(conns: Sequence[Conn], focus_conn: str = "") -> str:
    if focus_conn:
        return (f"Permitted connections on {focus_conn}:\n"
                + "".join(f"{c.src.text} => {c.dst.text}\n" for c in conns))
    return "".join(c.line() + "\n" for c in conns)


def _rows(conns: Sequence[Conn], focus_conn: str) -> list[list[str]]:
    header = ["src", "dst"] + ([] if focus_conn else ["conn"])
    return [header] + [[c.src.text, c.dst.text] + ([] if focus_conn else [c.text]) for c in conns]


def md(conns: Sequence[Conn], focus_conn: str = "") -> str:
    rows = _rows(conns, focus_conn)
    rule = "|-----|-----|" if focus_conn else "|-----|-----|------|"
    lines = ["| " + " | ".join(rows[0]) + " |", rule]
    lines += ["| " + " | ".join(r) + " |" for r in rows[1:]]
    return "\n".join(lines) + "\n"


def _csv_field(field: str) -> str:
    """Go's encoding/csv: quoted when it holds a comma, a quote or a line break, or starts
    with a space."""
    if field == r"\.":
        return '"\\."'
    if any(ch in field for ch in ',"\r\n') or (field and field[0].isspace()):
        return '"' + field.replace('"', '""') + '"'
    return field


def csv(conns: Sequence[Conn], focus_conn: str = "") -> str:
    return "".join(",".join(_csv_field(f) for f in row) + "\n" for row in _rows(conns, focus_conn))


# Go's encoding/json escapes these inside strings (HTML safety); Python's json does not.
_GO_JSON_ESCAPES = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026",
                    "\u2028": "\\u2028", "\u2029": "\\u2029"}


def json_(conns: Sequence[Conn], focus_conn: str = "") -> str:
    keys = ("src", "dst") if focus_conn else ("src", "dst", "conn")
    items = [dict(zip(keys, (c.src.text, c.dst.text, c.text), strict=False)) for c in conns]
    text = json.dumps(items, indent=2, ensure_ascii=False)
    return "".join(_GO_JSON_ESCAPES.get(ch, ch) for ch in text) if any(
        ch in text for ch in _GO_JSON_ESCAPES) else text


_TABLES: dict[str, Callable[[Sequence[Conn], str], str]] = {
    "txt": txt, "json": json_, "csv": csv, "md": md}


def go_quote(s: str) -> str:
    """Go's %q for the names podnet prints (strconv.Quote on printable text)."""
    out = []
    for ch in s:
        if ch in '"\\':
            out.append("\\" + ch)
        elif ch in "\n\t\r":
            out.append({"\n": "\\n", "\t": "\\t", "\r": "\\r"}[ch])
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\x{ord(ch):02x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def _node(peer: Peer) -> str:
    label = peer.text if not peer.in_namespace else f"{peer.name}[{peer.kind}]"
    color = "red2" if peer.ip else "blue"
    return (f"{go_quote(peer.text)} [label={go_quote(label)} color={go_quote(color)} "
            f"fontcolor={go_quote(color)}]")


def _edge(c: Conn) -> str:
    # netpol-analyzer weighs an edge by the order of its ends' names, to steady the layout.
    weight = "0.5" if c.src.text <= c.dst.text else "1"
    return (f"\t{go_quote(c.src.text)} -> {go_quote(c.dst.text)} [label={go_quote(c.text)} "
            f'color="gold2" fontcolor="darkgreen" weight={weight}]')


def dot(conns: Sequence[Conn], workloads: Sequence[Peer]) -> str:
    """A digraph: one subgraph per namespace holding its workloads, then the peers outside the
    namespaces (IP ranges, the ingress controller), then the edges; each part sorted."""
    seen: set[str] = set()
    groups: dict[str, list[str]] = {}
    outside: list[str] = []
    ends = [p for c in conns for p in (c.src, c.dst)]
    for peer in (*ends, *(w for w in workloads if not w.ip)):
        if peer.text in seen:
            continue
        seen.add(peer.text)
        if peer.in_namespace:
            groups.setdefault(f"{peer.namespace}[namespace]", []).append("\t\t" + _node(peer))
        else:
            outside.append("\t" + _node(peer))
    lines = ["digraph {"]
    for ns in sorted(groups):
        lines += ['\tsubgraph "cluster_' + ns.replace("-", "_") + '" {',
                  '\t\tcolor="black"', '\t\tfontcolor="black"',
                  *sorted(groups[ns]), f'\t\tlabel="{ns}"', "\t}"]
    lines += sorted(outside)
    lines += sorted(_edge(c) for c in conns)
    lines.append("}")
    return "\n".join(lines)

