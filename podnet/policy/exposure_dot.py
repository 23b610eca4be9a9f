"""netpol-analyzer's dot layout of ``list --exposure``.

One digraph: a subgraph per namespace holding its workloads, then a subgraph per namespace a
representative peer names (red, even when the namespace also holds workloads: upstream looks
the namespace up without its ``[namespace]`` suffix, so never finds it), then the nodes
outside namespaces (external ranges, the ingress controller, ``entire-cluster``), then every
edge: connlist's (gold, weight 0.5 when the source sorts first, else 1) and exposure's
(dashed; ingress darkorange2 weight 1, egress darkorange4 weight 0.5). Each group is sorted.
"""

from __future__ import annotations

from collections.abc import Sequence

from podnet.model.defaults import NAMESPACE_NAME_LABEL
from podnet.model.selectors import LabelSelector
from podnet.policy.exposure import ENTIRE_CLUSTER, EXTERNAL_SUFFIX, ExposedPeer, ExposureItem
from podnet.policy.exposure_txt import selector_text

INGRESS_CONTROLLER = "{ingress-controller}"


def _q(text: str) -> str:
    """Go's %q for the printable text these graphs hold."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _node(key: str, label: str, color: str, extra: str = "") -> str:
    return f"\t{_q(key)} [label={_q(label)} color={_q(color)} fontcolor={_q(color)}{extra}]"


def _edge(src: str, dst: str, conns: str, color: str, weight: str, style: str = "") -> str:
    return (f"\t{_q(src)} -> {_q(dst)} [label={_q(conns)} color={_q(color)} "
            f"fontcolor=\"darkgreen\" weight={weight}{style}]")


def _groups(groups: dict[str, list[str]], color: str) -> list[str]:
    out = []
    for ns in sorted(groups):
        out += [f"\tsubgraph \"cluster_{ns.replace('-', '_')}\" {{",
                f"\t\tcolor={_q(color)}", f"\t\tfontcolor={_q(color)}",
                *sorted(groups[ns]), f"\t\tlabel=\"{ns}\"", "\t}"]
    return out


def _ns_label(sel: LabelSelector) -> str:
    if not sel.match_expressions and len(sel.match_labels) == 1 \
            and sel.match_labels[0][0] == NAMESPACE_NAME_LABEL:
        return sel.match_labels[0][1]
    return "all namespaces" if sel.empty else f"namespace with {{{selector_text(sel)}}}"


def _pod_label(sel: LabelSelector) -> str:
    return "all pods" if sel.empty else f"pod with {{{selector_text(sel)}}}"


def render_dot(conns: Sequence[tuple[str, str, str]], peers: Sequence[ExposedPeer],
               workloads: Sequence[str]) -> str:
    """``workloads``: every workload the graph shows even without an edge (the focused ones
    under a focus)."""
    ns_nodes: dict[str, list[str]] = {}
    rep_nodes: dict[str, list[str]] = {}
    outside: list[str] = []
    edges: list[str] = []
    seen: set[str] = set()

    def visit(name: str) -> None:
        if name in seen:
            return
        seen.add(name)
        if name.endswith(EXTERNAL_SUFFIX):
            outside.append(_node(name, name, "red2"))
        elif name == INGRESS_CONTROLLER:
            outside.append(_node(name, name, "blue"))
        else:
            ns, label = name.split("/", 1)
            ns_nodes.setdefault(f"{ns}[namespace]", []).append("\t" + _node(name, label, "blue"))

    for src, dst, text in conns:
        edges.append(_edge(src, dst, text, "gold2", "0.5" if src <= dst else "1"))
        visit(src)
        visit(dst)
    for w in workloads:
        visit(w)
    reps_seen: set[str] = set()
    wide = False

    def exposure_edge(workload: str, item: ExposureItem, ingress: bool) -> None:
        nonlocal wide
        if item.external:
            return  # connlist's own edge already draws it
        if item.representative is None:
            wide, other = True, ENTIRE_CLUSTER
        else:
            rep = item.representative
            ns_label, pod_label = _ns_label(rep.ns_selector), _pod_label(rep.pod_selector)
            other = f"{pod_label}_in_{ns_label}"
            if other not in reps_seen:
                reps_seen.add(other)
                rep_nodes.setdefault(f"{ns_label}[namespace]", []).append(
                    "\t" + _node(other, pod_label, "red2"))
        if ingress:
            edges.append(_edge(other, workload, item.conns, "darkorange2", "1", " style=dashed"))
        else:
            edges.append(_edge(workload, other, item.conns, "darkorange4", "0.5", " style=dashed"))

    for p in peers:
        visit(p.workload)
        for item in p.ingress:
            exposure_edge(p.workload, item, True)
        for item in p.egress:
            exposure_edge(p.workload, item, False)
    if wide:
        outside.append(_node(ENTIRE_CLUSTER, ENTIRE_CLUSTER, "red2", " shape=diamond"))
    lines = ["digraph {", *_groups(ns_nodes, "black"), *_groups(rep_nodes, "red2"),
             *sorted(outside), *sorted(edges), "}"]
    return "\n".join(lines)
