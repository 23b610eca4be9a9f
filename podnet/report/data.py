"""The HTML report's data: one cluster (and, optionally, doctor's findings) to one plain dict
that becomes the page's JSON blob. Pure: no file, no template, no clock, so the same input
gives the same bytes.

The connectivity matrix comes from connlist's computation (``pair_blocks`` over one pod per
workload). Up to ``MAX_MATRIX_WORKLOADS`` workloads it is workload by workload, and each
embedded pair carries the explanation ``podnet explain`` gives for it, one per port the
destination declares; past that it is namespace by namespace (how many workload pairs are
allowed), without explanations, and the page says so.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from podnet.analysis import Analysis
from podnet.dataplane.mtu import budget
from podnet.doctor.finding import RANK, Finding
from podnet.model.cluster import Cluster
from podnet.model.objects import Pod
from podnet.policy.connlist import pair_blocks, representatives
from podnet.policy.connmatrix import ConnSpace
from podnet.policy.explain import side_data
from podnet.policy.verdict import DirectionResult
from podnet.report import MAX_MATRIX_WORKLOADS, canvas_fits
from podnet.report.dns import dns_costs
from podnet.report.exposure import MAX_EXPOSURE_WORKLOADS, exposure_data
from podnet.report.graph import network_map
from podnet.report.lab import lab_data
from podnet.report.paths import service_paths
from podnet.services.table import endpoints_text, external_text, service_rows

# 10,000 cells: the page opens in well under 2 s at any cluster size (bench/report.py)
MAX_MATRIX_NAMESPACES = 100
TOP_FINDINGS = 5


def overview(cluster: Cluster) -> dict[str, Any]:
    net = cluster.net
    mtu = budget(net)
    return {
        "nodes": [{"name": n.name, "ip": n.internal_ip, "podCIDR": n.pod_cidr}
                  for n in cluster.nodes],
        "network": {"cni": net.cni, "cniPlugin": net.cni_plugin, "crossSubnet": net.cross_subnet,
                    "proxyMode": net.proxy_mode, "clusterCIDR": net.cluster_cidr,
                    "serviceCIDR": net.service_cidr, "dnsDomain": net.dns_domain},
        "mtu": {"underlayMTU": mtu.underlay_mtu, "overhead": mtu.overhead, "podMTU": mtu.pod_mtu,
                "podMTUOrigin": mtu.pod_mtu_origin, "tunnelMTU": mtu.tunnel_mtu,
                "crossNodePathMTU": mtu.cross_node_path_mtu, "problem": mtu.problem},
        "counts": {"namespaces": len(cluster.namespaces), "pods": len(cluster.pods),
                   "workloads": len(representatives(cluster)), "services": len(cluster.services),
                   "networkPolicies": len(cluster.policies), "ingresses": len(cluster.ingresses)},
    }


class _Interned:
    """Each distinct value once; a reference is its index (repeated sides and connection
    texts are most of a matrix's explanations)."""

    def __init__(self) -> None:
        self.values: list[Any] = []
        self._index: dict[str, int] = {}

    def add(self, value: Any) -> int:
        key = repr(value)  # values are built in one key order, so equal values print alike
        if key not in self._index:
            self._index[key] = len(self.values)
            self.values.append(value)
        return self._index[key]


def _side_summary(d: DirectionResult) -> dict[str, Any]:
    """A side of a pair, over all ports: which policies select the pod and what each lets
    through toward the peer."""
    return {"applies": d.applies, "isolated": d.isolated, "connections": str(d.allowed),
            "policies": [{"policy": t.policy, "connections": str(t.allowed)} for t in d.selecting]}


def _strip(side: dict[str, object]) -> dict[str, Any]:
    """A side of ``podnet explain``'s data without its pod (the row or column says it), so
    equal sides are stored once."""
    return {k: v for k, v in side.items() if k != "pod"}


def _declared_ports(pod: Pod) -> list[tuple[int, str]]:
    return sorted({(c.port, c.protocol) for c in pod.ports}, key=lambda p: (p[1] != "TCP", p[1], p[0]))


def workload_matrix(analysis: Analysis, cs: ConnSpace, pods: Sequence[Pod],
                    names: Sequence[str]) -> dict[str, Any]:
    """``cells[i][j]``: [connection text index or -1 when nothing is allowed, explanation
    index] for workload i to workload j; null on the diagonal (a workload's own pods)."""
    cls = cs.classes.of_pod.tolist()
    n = len(pods)
    conn_of: list[list[int]] = [[-1] * n for _ in range(n)]
    texts: dict[bytes, str] = {}
    conns = _Interned()
    for dst, pairs, _ in pair_blocks(cs):
        for a, b in zip(*np.nonzero(pairs.any(axis=2)), strict=True):
            mask = pairs[a, b]
            key = mask.tobytes()
            if key not in texts:
                texts[key] = cs.text(mask)
            conn_of[int(b)][int(dst[a])] = conns.add(texts[key])
    sides, explains = _Interned(), _Interned()
    side_of: dict[tuple[DirectionResult, int, str], int] = {}  # most pairs share their sides

    def side(d: DirectionResult, subject: Pod, number: int, proto: str) -> int:
        k = (d, number, proto)
        if k not in side_of:
            side_of[k] = sides.add(_strip(side_data(d, subject, number, proto)))
        return side_of[k]

    per_class: dict[tuple[int, int, tuple[tuple[int, str], ...]], int] = {}
    cells: list[list[list[int] | None]] = []
    for i in range(n):
        row: list[list[int] | None] = []
        for j in range(n):
            if i == j:
                row.append(None)
                continue
            ports = tuple(_declared_ports(pods[j]))
            key = (cls[i], cls[j], ports)
            if key not in per_class:  # pods of one class pair get one explanation
                v = analysis.evaluator.verdict(pods[i], pods[j])
                per_port = [{"port": f"{number}/{proto}", "allowed": v.allowed.allows(proto, number),
                             "egress": side(v.egress, pods[i], number, proto),
                             "ingress": side(v.ingress, pods[j], number, proto)}
                            for number, proto in ports]
                per_class[key] = explains.add({
                    "connections": str(v.allowed),
                    "egress": sides.add(_side_summary(v.egress)),
                    "ingress": sides.add(_side_summary(v.ingress)), "ports": per_port})
            row.append([conn_of[i][j], per_class[key]])
        cells.append(row)
    return {"level": "workload",
            "workloads": [{"name": names[i], "namespace": pods[i].namespace, "pod": pods[i].key,
                           "ports": [f"{p}/{proto}" for p, proto in _declared_ports(pods[i])]}
                          for i in range(n)],
            "conns": conns.values, "sides": sides.values, "explains": explains.values,
            "cells": cells}


def _sorted_triples(blocks: list[np.ndarray]) -> list[int]:
    if not blocks:
        return []
    t = np.concatenate(blocks)
    return t[np.lexsort((t[:, 1], t[:, 0]))].ravel().tolist()


def namespace_matrix(analysis: Analysis, pods: Sequence[Pod], names: Sequence[str],
                     limit: int) -> dict[str, Any]:
    """``allowed[a][b]`` of ``pairs[a][b]`` workload pairs from namespace a to namespace b may
    connect on some port; the first ``limit`` namespaces by name. Only their workloads are
    computed (pods come sorted by namespace, so they are a prefix). ``drill``: every allowed
    workload pair among them as flat [source, destination, connection text index] triples
    (indices into ``drillWorkloads`` and ``conns``), for the page to list on a click."""
    namespaces = sorted({p.namespace for p in pods})
    shown = namespaces[:limit]
    index = {ns: k for k, ns in enumerate(shown)}
    count = sum(p.namespace in index for p in pods)
    sub = list(pods[:count])
    k = len(shown)
    ns_of = np.array([index[p.namespace] for p in sub], dtype=np.int64)
    sizes = np.bincount(ns_of, minlength=k)
    pairs = np.outer(sizes, sizes)
    pairs[np.arange(k), np.arange(k)] -= sizes  # a workload is no pair with itself
    allowed = np.zeros((k, k), dtype=np.int64)  # [src ns, dst ns]
    cs = ConnSpace(analysis.cluster, analysis.compiled, sub)
    onehot = np.zeros((count, k), dtype=np.int64)
    onehot[np.arange(count), ns_of] = 1
    texts: dict[bytes, int] = {}
    conns = _Interned()
    drill: list[np.ndarray] = []
    for dst, block, _ in pair_blocks(cs):
        any_port = block.any(axis=2)  # [dst, src]
        np.add.at(allowed.T, ns_of[dst], any_port.astype(np.int64) @ onehot)
        i, j = np.nonzero(any_port)
        masks = np.ascontiguousarray(block[i, j])
        rows = masks.view(np.dtype((np.void, masks.shape[1] * 8))).ravel()
        uniq, first, inverse = np.unique(rows, return_index=True, return_inverse=True)
        at = []  # each distinct set's text once
        for key, f in zip(uniq.tolist(), first.tolist(), strict=True):
            if key not in texts:
                texts[key] = conns.add(cs.text(masks[f]))
            at.append(texts[key])
        drill.append(np.stack([j, dst[i], np.array(at, dtype=np.int64)[inverse.ravel()]], axis=1))
    return {"level": "namespace", "namespaces": shown, "totalNamespaces": len(namespaces),
            "allowed": allowed.tolist(), "pairs": pairs.tolist(),
            "drillWorkloads": [names[i] for i in range(count)], "conns": conns.values,
            "drill": _sorted_triples(drill)}


def connectivity(analysis: Analysis, max_workloads: int = MAX_MATRIX_WORKLOADS,
                 max_namespaces: int = MAX_MATRIX_NAMESPACES) -> dict[str, Any]:
    reps = sorted(representatives(analysis.cluster).items(), key=lambda r: (r[1].namespace, r[0]))
    names = [name for name, _ in reps]
    pods = [pod for _, pod in reps]
    cs = None
    # the canvas's rows: every workload and a band per namespace
    fits = canvas_fits(len(pods), len(pods) + len({p.namespace for p in pods}))
    if len(pods) <= max_workloads and fits:
        cs = ConnSpace(analysis.cluster, analysis.compiled, pods)  # the matrix's and exposure's
        out = workload_matrix(analysis, cs, pods, names)
    else:
        out = namespace_matrix(analysis, pods, names, max_namespaces)
    if len(pods) <= MAX_EXPOSURE_WORKLOADS:
        cs = cs or ConnSpace(analysis.cluster, analysis.compiled, pods)
        expo = exposure_data(analysis, cs, pods)
    else:
        expo = {"skipped": True, "limit": MAX_EXPOSURE_WORKLOADS}
    return {**out, "totalWorkloads": len(pods), "maxWorkloads": max_workloads,
            "canvasTooLarge": len(pods) <= max_workloads and not fits, "exposure": expo}


def services(analysis: Analysis, node: str | None = None) -> dict[str, Any]:
    cluster = analysis.cluster
    node_name = node or (cluster.nodes[0].name if cluster.nodes else "")
    rows = service_rows(analysis.plans, analysis.attracted, node_name)
    return {"node": node_name,
            "rows": [{**r, "external": external_text(r), "endpointsText": endpoints_text(r)}
                     for r in rows]}


def report_data(cluster: Cluster, findings: Sequence[Finding] | None = None, *,
                analysis: Analysis | None = None,
                max_workloads: int = MAX_MATRIX_WORKLOADS,
                probe: dict[str, Any] | None = None) -> dict[str, Any]:
    """Everything the page shows. ``findings`` None: doctor was not run (no Findings
    section); a list, possibly empty: it was. ``probe``: what ``lab.read_probe`` read (a Lab
    section, and the matrix overlaid with it)."""
    analysis = analysis or Analysis(cluster)
    conn = connectivity(analysis, max_workloads)
    out: dict[str, Any] = {"overview": overview(cluster), "connectivity": conn,
                           "map": network_map(analysis), "services": services(analysis),
                           "dns": dns_costs(cluster), "paths": service_paths(analysis)}
    if probe is not None:
        out["lab"] = lab_data(analysis, probe, conn)
    if findings is not None:
        ordered = sorted(findings, key=Finding.sort_key)
        out["findings"] = [f.to_json() for f in ordered]
        out["overview"]["topFindings"] = [
            {"severity": f.severity, "check": f.check, "object": f.object, "message": f.message}
            for f in ordered if RANK[f.severity] >= RANK["warning"]][:TOP_FINDINGS]
        out["overview"]["findingCounts"] = {s: sum(f.severity == s for f in ordered)
                                            for s in sorted(RANK, key=RANK.__getitem__, reverse=True)}
    return out
