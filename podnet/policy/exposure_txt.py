"""netpol-analyzer's txt layout of an exposure analysis (``list --exposure -o txt``).

The connlist lines, a blank line, then ``Exposure Analysis Result:`` with the Egress and the
Ingress sections (workload names padded to the longest exposed one, then `` \\t=> \\t`` or
`` \\t<= \\t``; egress sorted by workload then peer, ingress by workload then peer) and the
workloads not protected on a direction. Empty sections are left out.
"""

from __future__ import annotations

from collections.abc import Sequence

from podnet.model.defaults import NAMESPACE_NAME_LABEL
from podnet.model.selectors import LabelSelector
from podnet.policy.exposure import ENTIRE_CLUSTER, ExposedPeer, ExposureItem, Representative


def selector_text(sel: LabelSelector) -> str:
    """matchLabels as ``k=v,...``, then each expression as Go prints a
    LabelSelectorRequirement, values in the order written, expressions sorted."""
    parts = [",".join(f"{k}={v}" for k, v in sel.match_labels)] if sel.match_labels else []
    exprs = sorted(f"{{Key:{r.key},Operator:{r.operator},Values:[{' '.join(r.written or r.values)}],}}"
                   for r in sel.match_expressions)
    if exprs:
        parts.append(",".join(exprs))
    return ",".join(parts)


def namespace_text(sel: LabelSelector) -> str:
    if not sel.match_expressions and len(sel.match_labels) == 1 \
            and sel.match_labels[0][0] == NAMESPACE_NAME_LABEL:
        return sel.match_labels[0][1]
    if sel.empty:
        return "[all namespaces]"
    return f"[namespace with {{{selector_text(sel)}}}]"


def pod_text(sel: LabelSelector) -> str:
    return "[all pods]" if sel.empty else f"[pod with {{{selector_text(sel)}}}]"


def representative_text(rep: Representative) -> str:
    return f"{namespace_text(rep.ns_selector)}/{pod_text(rep.pod_selector)}"


def peer_text(item: ExposureItem) -> str:
    if item.external:
        return item.external
    if item.representative is not None:
        return representative_text(item.representative)
    return ENTIRE_CLUSTER


def exposure_lines(peers: Sequence[ExposedPeer], conn_text: str = "") -> list[str]:
    """The exposure section, one string per line. With a focus connection (``conn_text``,
    "TCP 80") the header names it, the lines leave the connections out, and the unprotected
    workloads are not listed, as netpol-analyzer prints it."""
    width = max((len(p.workload) for p in peers), default=0)
    tail = "" if conn_text else " : {}"
    egress = sorted((p.workload, peer_text(i), i.conns) for p in peers for i in p.egress)
    ingress = sorted((p.workload, peer_text(i), i.conns) for p in peers for i in p.ingress)
    unprotected = sorted([f"{p.workload} is not protected on Egress" for p in peers
                          if not p.egress_protected]
                         + [f"{p.workload} is not protected on Ingress" for p in peers
                            if not p.ingress_protected])
    out = [f"Exposure Analysis Result On {conn_text}:" if conn_text else "Exposure Analysis Result:"]
    if egress:
        out += ["Egress Exposure:"] + [f"{w:<{width}} \t=> \t{o}" + tail.format(c)
                                       for w, o, c in egress]
    if ingress:
        out += [""] * bool(egress) + ["Ingress Exposure:"]
        out += [f"{w:<{width}} \t<= \t{o}" + tail.format(c) for w, o, c in ingress]
    if unprotected and not conn_text:
        out += ["", "Workloads not protected by network policies:"] + unprotected
    return out


def render(connlist: Sequence[str], peers: Sequence[ExposedPeer], conn_text: str = "") -> list[str]:
    """The whole output: connlist, a blank line when it has any, then the exposure section.
    With a focus connection connlist is its header and ``src => dst`` lines (never empty)."""
    if conn_text:
        pairs = [ln.rsplit(" : ", 1)[0] for ln in connlist]
        connlist = [f"Permitted connections on {conn_text}:", *pairs]
    return [*connlist, *[""] * bool(connlist), *exposure_lines(peers, conn_text)]
