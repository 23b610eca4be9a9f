"""netpol-analyzer's json, csv and md layouts of ``list --exposure`` (txt: ``exposure_txt``).

Each takes connlist's (src, dst, conns) triples and the exposure result and returns the whole
output: the connlist table sorted by source then destination, then egress exposure (workload
first) and ingress exposure (workload first as well: columns ``dst, src, conn``). The
unprotected-workloads list is txt only, as upstream. JSON is Go's ``MarshalIndent`` with two
spaces: an empty exposure list is ``null``, and ``<``, ``>``, ``&`` are escaped.
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


def render_json(conns: Sequence[Triple], peers: Sequence[ExposedPeer]) -> str:
    def items(rows: list[Triple]) -> list[dict[str, str]] | None:
        return [{"src": s, "dst": d, "conn": c} for s, d, c in rows] or None

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


def render_csv(conns: Sequence[Triple], peers: Sequence[ExposedPeer]) -> str:
    rows = [_csv_row("src", "dst", "conn")] + [_csv_row(*t) for t in _conns(conns)]
    rows.append(_csv_row("Exposure Analysis Result:", "", ""))
    egress, ingress = _egress(peers), _ingress(peers)
    if egress:
        rows += [_csv_row("Egress Exposure:", "", ""), _csv_row("src", "dst", "conn")]
        rows += [_csv_row(*t) for t in egress]
    if ingress:
        rows += [_csv_row("Ingress Exposure:", "", ""), _csv_row("dst", "src", "conn")]
        rows += [_csv_row(d, s, c) for s, d, c in ingress]
    return "\n".join(rows) + "\n"


MD_HEADER = "| {} | {} | {} |\n|-----|-----|------|"


def _md_section(title: str, header: str, rows: list[str]) -> str:
    """Upstream joins each section as one block ending in a newline, or an empty string."""
    return f"### {title}\n{header}\n" + "\n".join(rows) + "\n" if rows else ""


def render_md(conns: Sequence[Triple], peers: Sequence[ExposedPeer]) -> str:
    lines = [MD_HEADER.format("src", "dst", "conn")]
    lines += [f"| {s} | {d} | {c} |" for s, d, c in _conns(conns)]
    lines.append("## Exposure Analysis Result:")
    lines.append(_md_section("Egress Exposure:", MD_HEADER.format("src", "dst", "conn"),
                             [f"| {s} | {d} | {c} |" for s, d, c in _egress(peers)]))
    lines.append(_md_section("Ingress Exposure:", MD_HEADER.format("dst", "src", "conn"),
                             [f"| {d} | {s} | {c} |" for s, d, c in _ingress(peers)]))
    return "\n".join(lines)


RENDERERS = {"json": render_json, "csv": render_csv, "md": render_md}
