"""A connectivity diff in netpol-analyzer's diff formats: txt, csv, md and dot, byte for byte.

The line formats list changed, then added, then removed pairs, each group sorted as printed;
pairs from the ingress controller follow in the same three groups. The dot graph also draws
the unchanged pairs (grey), colours each peer by whether it is new, lost or in both versions,
and ends with netpol-analyzer's legend. An empty diff prints nothing in every format.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from podnet.policy.diff import ADDED, CHANGED, INGRESS_CONTROLLER, REMOVED, UNCHANGED, Change, ConnDiff, is_ip

REF1, REF2 = "ref1", "ref2"
NO_CONNS = "No Connections"

Fields = tuple[str, str, str, str, str, str]


def _info(c: Change) -> str:
    names = [p for p, flag in ((c.src, c.src_new_or_lost), (c.dst, c.dst_new_or_lost)) if flag]
    return f"workload {' and '.join(names)} {c.kind}" if names else ""


def _fields(c: Change) -> Fields:
    return (c.kind, c.src, c.dst, c.ref1 or NO_CONNS, c.ref2 or NO_CONNS, _info(c))


def _ordered(d: ConnDiff, line: Callable[[Fields], str]) -> list[str]:
    out: list[str] = []
    for from_ingress in (False, True):
        for kind in (CHANGED, ADDED, REMOVED):
            out += sorted(line(_fields(c)) for c in d.of(kind)
                          if (c.src == INGRESS_CONTROLLER) == from_ingress)
    return out


def _txt_line(f: Fields) -> str:
    line = (f"diff-type: {f[0]}, source: {f[1]}, destination: {f[2]}, "
            f"{REF1}: {f[3]}, {REF2}: {f[4]}")
    return line + f", workloads-diff-info: {f[5]}" if f[5] else line


def _csv_field(s: str) -> str:
    # Go's encoding/csv quotes a field holding the separator, a quote or a line break, or
    # starting with a space; a quote inside is doubled.
    if s and (any(ch in s for ch in ',"\r\n') or s[0].isspace()):
        return '"' + s.replace('"', '""') + '"'
    return s


def txt(d: ConnDiff) -> str:
    return "\n".join(["Connectivity diff:", *_ordered(d, _txt_line)]) + "\n"


def csv(d: ConnDiff) -> str:
    header = ("diff-type", "source", "destination", REF1, REF2, "workloads-diff-info")
    # netpol-analyzer sorts the rows joined by ';' before it writes them as CSV.
    rows = [r.split(";") for r in _ordered(d, ";".join)]
    return "".join(",".join(_csv_field(x) for x in row) + "\n" for row in [list(header), *rows])


def md(d: ConnDiff) -> str:
    header = (f"| diff-type | source | destination | {REF1} | {REF2} | workloads-diff-info |\n"
              "|-----------|--------|-------------|------|------|---------------------|")
    return "\n".join([header, *_ordered(d, lambda f: "| " + " | ".join(f) + " |")])


def _q(s: str) -> str:
    """Go's %q for the names podnet prints (printable text)."""
    return json.dumps(s, ensure_ascii=False)


PEER_COLOURS = {ADDED: "#008000", REMOVED: "red"}
EDGE_COLOURS = {UNCHANGED: "grey", CHANGED: "magenta", REMOVED: "red2", ADDED: "#008000"}


def _edge(c: Change) -> str:
    if c.kind == CHANGED:
        label = f"{c.ref2} ({REF1}: {c.ref1})"
    else:
        label = (c.ref2 if c.kind == ADDED else c.ref1) or NO_CONNS
    colour = EDGE_COLOURS[c.kind]
    weight = "0.5" if c.src <= c.dst else "1"
    return (f"\t{_q(c.src)} -> {_q(c.dst)} [label={_q(label)} color={_q(colour)} "
            f"fontcolor={_q(colour)} weight={weight}]")


LEGEND = """\
\tnodesep=0.5
\tsubgraph cluster_legend {
\t\tlabel="Legend"
\t\tfontsize = 10
\t\tmargin=0
""" + "".join(f"\t\t{n} [style=invis height=0 width=0]\n" for n in "abcdefgh") + """\
\t\t{rank=source a b c d}
\t\t{rank=same e f g h}
\t\ta -> b [label="added connection", color="#008000" fontcolor="#008000" fontsize = 10 arrowsize=0.2]
\t\tc -> d [label="removed connection", color="red2" fontcolor="red2" fontsize = 10 arrowsize=0.2]
\t\te -> f [label="changed connection", color="magenta" fontcolor="magenta" fontsize = 10 arrowsize=0.2]
\t\tg -> h [label="unchanged connection", color="grey" fontcolor="grey" fontsize = 10 arrowsize=0.2]
\t\tnp [label="new peer" color="#008000" fontcolor="#008000" fontsize = 10]
\t\tlp [label="lost peer" color="red" fontcolor="red" fontsize = 10]
\t\tpp [label="persistent peer" color="blue" fontcolor="blue" fontsize = 10]
\t\t{rank=sink np lp pp}
\t\tnp->lp [style=invis]
\t\tlp->pp [style=invis]
\t}"""


def dot(d: ConnDiff) -> str:
    seen: set[str] = set()
    namespaces: dict[str, list[str]] = {}
    outside: list[str] = []
    edges: list[str] = []
    ingress: list[str] = []
    # A peer is drawn once, coloured by the first group it shows up in; a new peer can only be
    # in added pairs and a lost one only in removed pairs, so the group order decides nothing.
    for kind in (UNCHANGED, CHANGED, ADDED, REMOVED):
        for c in d.of(kind):
            for peer, only_here in ((c.src, c.src_new_or_lost), (c.dst, c.dst_new_or_lost)):
                if peer in seen:
                    continue
                seen.add(peer)
                colour = PEER_COLOURS[kind] if only_here else "blue"
                if is_ip(peer) or peer == INGRESS_CONTROLLER:
                    outside.append(f"\t{_q(peer)} [label={_q(peer)} color={_q(colour)} "
                                   f"fontcolor={_q(colour)}]")
                    continue
                ns, _, label = peer.partition("/")
                namespaces.setdefault(ns + "[namespace]", []).append(
                    f"\t\t{_q(peer)} [label={_q(label)} color={_q(colour)} fontcolor={_q(colour)}]")
            (ingress if c.src == INGRESS_CONTROLLER else edges).append(_edge(c))
    lines = ["digraph {"]
    for ns in sorted(namespaces):
        lines += [f'\tsubgraph "cluster_{ns.replace("-", "_")}" {{', '\t\tcolor="black"',
                  '\t\tfontcolor="black"', *sorted(namespaces[ns]), f'\t\tlabel="{ns}"', "\t}"]
    lines += [*sorted(outside), *sorted(edges), *sorted(ingress), LEGEND, "}"]
    return "\n".join(lines)


RENDERERS: dict[str, Callable[[ConnDiff], str]] = {"txt": txt, "csv": csv, "md": md, "dot": dot}


def render(d: ConnDiff, fmt: str) -> str:
    """The diff in ``fmt``; nothing at all when the two versions allow the same."""
    return RENDERERS[fmt](d) if d.differs else ""
