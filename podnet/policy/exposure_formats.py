"""netpol-analyzer's json, csv and md layouts of ``list --exposure`` (txt: ``exposure_txt``).

Each takes connlist's (src, dst, conns) triples and the exposure result and returns the whole
output: the connlist table sorted by source then destination, then egress exposure (workload
first) and ingress exposure (workload first as well: columns ``dst, src, conn``). The
unprotected-workloads list is txt only, as upstream. JSON is Go's ``MarshalIndent`` with two
spaces: an empty exposure list is ``null``, and ``<``, ``>``, ``&`` are escaped.

With a focus connection (``conn_text``, "TCP 80") every table drops its connection column,
the exposure header names the connection ("Exposure Analysis Result On TCP 80:") and json's
keys are ``connlist_conn_focus_results`` / ``exposure_conn_focus_results``, whose empty lists
are ``[]``, as upstream builds them.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from podnet.policy.exposure import ExposedPeer
from podnet.policy.exposure_txt import peer_text

Triple = tuple[str, str, str]


def _egress(peers: Sequence[ExposedPeer]) -> list[Triple]:
    return sorted((p.workload, peer_text(i), i.conns) for p in peers for i in p.egress)


def _ingress(peers: Sequence[ExposedPeer]) -> list[Triple]:
    """(src, dst, conns), sorted by dst (the workload) then src."""
    rows = sorted((p.workload, peer_text(i), i.conns) for p in peers for i in p.ingress)
    return [(src, dst, c) for dst, src, c in rows]


def _conns(conns: Sequence[Triple]) -> list[Triple]:
    return sorted(conns, key=lambda t: (t[0], t[1]))


def render_json(conns: Sequence[Triple], peers: Sequence[ExposedPeer], conn_text: str = "") -> str:
    def items(rows: list[Triple]) -> list[dict[str, str]] | None:
        return [{"src": s, "dst": d, "conn": c} for s, d, c in rows] or None

    def pairs(rows: list[Triple]) -> list[dict[str, str]]:
        return [{"src": s, "dst": d} for s, d, _ in rows]

    doc: dict[str, object]
    if conn_text:
        doc = {"connlist_conn_focus_results": pairs(_conns(conns)),
               "exposure_conn_focus_results": {"egress_exposure": pairs(_egress(peers)),
                                               "ingress_exposure": pairs(_ingress(peers))}}
    else:
        doc = {"connlist_results": items(_conns(conns)) or [],
               "exposure_results": {"egress_exposure": items(_egress(peers)),
                                    "ingress_exposure": items(_ingress(peers))}}
    text = json.dumps(doc, indent=2, ensure_ascii=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _csv_field(field: str) -> str:
    """Go's encoding/csv quoting: only where needed, quotes doubled."""
    if field == "" or not (any(ch in field for ch in ',"\r\n') or field[0] in " \t"):
        return field
    return '"' + field.replace('"', '""') + '"'


def _csv_row(*fields: str) -> str:
    return ",".join(_csv_field(f) for f in fields)


def _header(conn_text: str) -> str:
    return f"Exposure Analysis Result On {conn_text}:" if conn_text else "Exposure Analysis Result:"


def render_csv(conns: Sequence[Triple], peers: Sequence[ExposedPeer], conn_text: str = "") -> str:
    cut = 2 if conn_text else 3  # a focus connection drops the conn column

    def row(*fields: str) -> str:
        return _csv_row(*fields[:cut])

    rows = [row("src", "dst", "conn")] + [row(*t) for t in _conns(conns)]
    rows.append(_csv_row(_header(conn_text), "", ""))
    egress, ingress = _egress(peers), _ingress(peers)
    if egress:
        rows += [_csv_row("Egress Exposure:", "", ""), row("src", "dst", "conn")]
        rows += [row(*t) for t in egress]
    if ingress:
        rows += [_csv_row("Ingress Exposure:", "", ""), row("dst", "src", "conn")]
        rows += [row(d, s, c) for s, d, c in ingress]
    return "\n".join(rows) + "\n"


MD_HEADER = "| {} | {} | {} |\n|-----|-----|------|"
MD_FOCUS_HEADER = "| {} | {} |\n|-----|-----|"


def _md_section(title: str, header: str, rows: list[str]) -> str:
    """Upstream joins each section as one block ending in a newline, or an empty string."""
    return f"### {title}\n{header}\n" + "\n".join(rows) + "\n" if rows else ""


def render_md(conns: Sequence[Triple], peers: Sequence[ExposedPeer], conn_text: str = "") -> str:
    def header(a: str, b: str) -> str:
        return MD_FOCUS_HEADER.format(a, b) if conn_text else MD_HEADER.format(a, b, "conn")

    def row(a: str, b: str, c: str) -> str:
        return f"| {a} | {b} |" if conn_text else f"| {a} | {b} | {c} |"

    lines = [header("src", "dst")]
    lines += [row(s, d, c) for s, d, c in _conns(conns)]
    lines.append("## " + _header(conn_text))
    lines.append(_md_section("Egress Exposure:", header("src", "dst"),
                             [row(s, d, c) for s, d, c in _egress(peers)]))
    lines.append(_md_section("Ingress Exposure:", header("dst", "src"),
                             [row(d, s, c) for s, d, c in _ingress(peers)]))
    return "\n".join(lines)


RENDERERS = {"json": render_json, "csv": render_csv, "md": render_md}
