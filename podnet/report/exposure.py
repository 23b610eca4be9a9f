"""The report's exposure view: per workload, what it admits from (and lets out to) peers the
input does not hold, from podnet's exposure analysis (``connlist --exposure``).

The analysis needs connlist's lines with an external range only, not the workload pairs, so
they are computed here from the ConnSpace the matrix already built: what each class admits
from each external range, and lets out to each, spread over the workloads of the class.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from podnet.analysis import Analysis
from podnet.model.objects import Pod
from podnet.policy.connlist import BLOCK_WORDS, ip_peer, workload_name
from podnet.policy.connmatrix import ConnSpace
from podnet.policy.exposure import ENTIRE_CLUSTER, ExposureItem, exposure
from podnet.policy.exposure_txt import peer_text

# The most workloads the view lists; past it, the first ones by name and a count.
MAX_EXPOSED = 2000
# The most workloads analysed: the analysis relates every policy rule to every selector some
# rule names, which grows with the square of the policies; past this the page says to run
# `podnet connlist --exposure`.
MAX_EXPOSURE_WORKLOADS = 2000


def external_triples(cs: ConnSpace, pods: Sequence[Pod]) -> list[tuple[str, str, str]]:
    """connlist's (src, dst, connections) lines that have an external range on one side."""
    cls = cs.classes.of_pod
    n, words = cs.n, cs.atoms.words
    names = [workload_name(p) for p in pods]
    ext_in = [ip_peer(lo, hi).text for lo, hi in cs.ext_in]
    ext_out = [ip_peer(lo, hi).text for lo, hi in cs.ext_out]
    texts: dict[bytes, str] = {}

    def text(mask: np.ndarray) -> str:
        key = mask.tobytes()
        if key not in texts:
            texts[key] = cs.text(mask)
        return texts[key]

    by_class_in: dict[int, list[tuple[str, str]]] = {}
    if ext_in:
        # ingress(...) is [class, class + range]: blocks of classes bound its memory
        step = max(1, BLOCK_WORDS // ((n + len(ext_in)) * words))
        for start in range(0, n, step):
            dcls = np.arange(start, min(start + step, n))
            block = cs.ingress(dcls)[:, n:]
            for a, r in zip(*np.nonzero(block.any(axis=2)), strict=True):
                by_class_in.setdefault(int(dcls[a]), []).append((ext_in[r], text(block[a, r])))
    by_class_out: dict[int, list[tuple[str, str]]] = {}
    if ext_out:
        out = cs.egress_ext(np.arange(len(ext_out)))  # [range, class]
        for r, c in zip(*np.nonzero(out.any(axis=2)), strict=True):
            by_class_out.setdefault(int(c), []).append((ext_out[r], text(out[r, c])))
    triples: list[tuple[str, str, str]] = []
    for k, c in enumerate(cls.tolist()):
        triples += [(ext, names[k], t) for ext, t in by_class_in.get(c, ())]
        triples += [(names[k], ext, t) for ext, t in by_class_out.get(c, ())]
    return triples


def _kind(item: ExposureItem) -> str:
    """Which of the view's columns an item belongs to."""
    if item.external:
        return "external"
    if item.entire_cluster:
        return "cluster"
    rep = item.representative
    return "namespaces" if rep is not None and rep.ns_selector.empty else "selector"


def exposure_data(analysis: Analysis, cs: ConnSpace, pods: Sequence[Pod],
                  limit: int = MAX_EXPOSED) -> dict[str, Any]:
    """``workloads``: each workload with some exposure, sorted by name, its ingress and egress
    items as [column, peer, connections] (column: external, cluster,
    namespaces: pods in any namespace a selector picks, or selector)."""
    peers = exposure(analysis.cluster, analysis.compiled, external_triples(cs, pods))
    ns_of = {workload_name(p): p.namespace for p in pods}
    rows = [{"workload": p.workload, "namespace": ns_of.get(p.workload, ""),
             "ingressProtected": p.ingress_protected, "egressProtected": p.egress_protected,
             "ingress": [[_kind(i), peer_text(i), i.conns] for i in p.ingress],
             "egress": [[_kind(i), peer_text(i), i.conns] for i in p.egress]}
            for p in peers]
    return {"workloads": rows[:limit], "total": len(rows), "limit": limit,
            "exposedIngress": sum(bool(r["ingress"]) for r in rows),
            "exposedEgress": sum(bool(r["egress"]) for r in rows),
            "entireCluster": ENTIRE_CLUSTER}
