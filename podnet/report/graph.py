"""The Map section: workloads and the connections NetworkPolicy allows between them (connlist's
computation), namespaces as boxes, the IP ranges outside the cluster and the ingress controller
as nodes of their own, laid out here so the page only draws.

A namespace that admits everything would make a complete graph, so edges are folded before
layout: a namespace whose workloads all reach each other alike is marked "open inside"; a
source reaching every workload of another namespace alike gets one edge to the namespace's box;
and every workload of a namespace reaching the same target alike becomes one edge from the box.
The layout puts namespace boxes on an ellipse (in rows when there are many), each box's
workloads in columns."""

from __future__ import annotations

import math
from collections import defaultdict
from typing import Any

from podnet.analysis import Analysis
from podnet.policy.connlist import Peer, connections, workload_peers

OUTSIDE = "(outside the cluster)"
NODE_W, NODE_H, GAP_Y = 190, 20, 6
PAD, HEAD = 8, 22
ROWS_PER_COLUMN = 12
GROUP_GAP = 70  # room between boxes for edges and their labels
MAX_RING = 12  # more groups than this go in rows: a ring of them would be mostly empty middle


def _group_of(p: Peer) -> str:
    return p.namespace if p.in_namespace else OUTSIDE


def _label(p: Peer) -> str:
    if p.in_namespace:
        return f"{p.name} [{p.kind}]"
    return p.text.removesuffix("[External]")


def fold(members: dict[str, list[str]], edges: dict[tuple[str, str], str]
         ) -> tuple[dict[tuple[str, str], str], dict[str, str]]:
    """Edges between node ids ("n:" + peer) folded onto namespace boxes ("g:" + namespace), and
    the connections each namespace allows among all its own workloads, where that is uniform."""
    edges = dict(edges)
    inside: dict[str, str] = {}
    for ns, ms in sorted(members.items()):
        if ns == OUTSIDE or len(ms) < 2:
            continue
        texts = {edges.get((a, b)) for a in ms for b in ms if a != b}
        if len(texts) == 1 and None not in texts:
            inside[ns] = str(texts.pop())
            for a in ms:
                for b in ms:
                    edges.pop((a, b), None)
    by_src: dict[str, dict[str, str]] = defaultdict(dict)
    for (a, b), t in edges.items():
        by_src[a][b] = t
    folded: dict[tuple[str, str], str] = {}
    for a, outs in by_src.items():
        for ns, ms in members.items():
            targets = [b for b in ms if b != a]
            if ns == OUTSIDE or len(targets) < 2 or a in ms:
                continue
            texts = {outs.get(b) for b in targets}
            if len(texts) == 1 and None not in texts:
                folded[(a, "g:" + ns)] = str(texts.pop())
                for b in targets:
                    del outs[b]
        for b, t in outs.items():
            folded[(a, b)] = t
    by_dst: dict[str, dict[str, str]] = defaultdict(dict)
    for (a, b), t in folded.items():
        by_dst[b][a] = t
    out: dict[tuple[str, str], str] = {}
    for b, ins in by_dst.items():
        for ns, ms in members.items():
            sources = [a for a in ms if a != b]
            if ns == OUTSIDE or len(sources) < 2 or b in ms or b == "g:" + ns:
                continue
            texts = {ins.get(a) for a in sources}
            if len(texts) == 1 and None not in texts:
                out[("g:" + ns, b)] = str(texts.pop())
                for a in sources:
                    del ins[a]
        for a, t in ins.items():
            out[(a, b)] = t
    return out, inside


def _overlap(a: list[int], b: list[int], gap: int) -> bool:
    return (a[0] < b[0] + b[2] + gap and b[0] < a[0] + a[2] + gap
            and a[1] < b[1] + b[3] + gap and b[1] < a[1] + a[3] + gap)


def _shelves(order: list[str], sizes: dict[str, tuple[int, int]],
             groups: dict[str, list[int]]) -> None:
    """Many groups: rows of boxes about as wide as the rows are tall together (a ring of them
    would leave its middle empty), each row as tall as its tallest box."""
    area = sum((w + GROUP_GAP) * (h + GROUP_GAP) for w, h in sizes.values())
    width = max(max(w for w, _ in sizes.values()), int(math.sqrt(area * 1.5)))
    x = y = shelf = 0
    for ns in order:
        w, h = sizes[ns]
        if x > 0 and x + w > width:
            x, y, shelf = 0, y + shelf + GROUP_GAP, 0
        groups[ns] = [x, y, w, h]
        x += w + GROUP_GAP
        shelf = max(shelf, h)


def _layout(members: dict[str, list[str]]) -> tuple[dict[str, list[int]], dict[str, list[int]]]:
    """Boxes as [x, y, width, height]: each group's, and each node's inside it. Up to
    ``MAX_RING`` groups sit on an ellipse (the outside first, at the top, then namespaces by
    name, clockwise), so the straight line between two groups never runs through a third; the
    ellipse grows until no two boxes come closer than ``GROUP_GAP / 2``."""
    order = sorted(members, key=lambda ns: (ns != OUTSIDE, ns))
    sizes = {}
    for ns in order:
        n = len(members[ns])
        cols = max(1, -(-n // ROWS_PER_COLUMN))
        rows = min(n, ROWS_PER_COLUMN)
        sizes[ns] = (PAD * 2 + cols * NODE_W + (cols - 1) * PAD, HEAD + PAD + rows * (NODE_H + GAP_Y))
    groups: dict[str, list[int]] = {}
    if len(order) == 1:
        groups[order[0]] = [0, 0, *sizes[order[0]]]
    elif len(order) > MAX_RING:
        _shelves(order, sizes, groups)
    else:
        radius = sum(max(w, h) + GROUP_GAP for w, h in sizes.values()) / (2 * math.pi)
        while True:
            for k, ns in enumerate(order):
                w, h = sizes[ns]
                angle = -math.pi / 2 + 2 * math.pi * k / len(order)
                cx, cy = 1.4 * radius * math.cos(angle), radius * math.sin(angle)
                groups[ns] = [round(cx - w / 2), round(cy - h / 2), w, h]
            boxes = list(groups.values())
            if not any(_overlap(a, b, GROUP_GAP // 2) for k, a in enumerate(boxes)
                       for b in boxes[k + 1:]):
                break
            radius *= 1.15
        x0 = min(g[0] for g in groups.values())
        y0 = min(g[1] for g in groups.values())
        for g in groups.values():
            g[0] -= x0
            g[1] -= y0
    nodes: dict[str, list[int]] = {}
    for ns in order:
        x, y = groups[ns][0], groups[ns][1]
        for k, m in enumerate(members[ns]):
            c, r = divmod(k, ROWS_PER_COLUMN)
            nodes[m] = [x + PAD + c * (NODE_W + PAD), y + HEAD + r * (NODE_H + GAP_Y), NODE_W, NODE_H]
    return groups, nodes


# The most workloads the map draws: it is laid out for a few hundred; past that the page
# says so (the matrix aggregates by namespace) and the build skips connlist's every pair.
MAX_MAP_WORKLOADS = 400


def network_map(a: Analysis, limit: int = MAX_MAP_WORKLOADS) -> dict[str, Any]:
    total = len(workload_peers(a.cluster))
    if total > limit:
        return {"skipped": True, "totalWorkloads": total, "limit": limit}
    conns = connections(a.cluster, a.compiled)
    peers: dict[str, Peer] = {}
    for c in conns:
        peers.setdefault("n:" + c.src.text, c.src)
        peers.setdefault("n:" + c.dst.text, c.dst)
    for p in workload_peers(a.cluster):  # also those with no allowed connection
        peers.setdefault("n:" + p.text, p)
    members: dict[str, list[str]] = defaultdict(list)
    for nid in sorted(peers):
        members[_group_of(peers[nid])].append(nid)
    raw = {("n:" + c.src.text, "n:" + c.dst.text): c.text for c in conns}
    edges, inside = fold(members, raw)
    groups, boxes = _layout(members)
    width = max((g[0] + g[2] for g in groups.values()), default=0)
    height = max((g[1] + g[3] for g in groups.values()), default=0)
    return {"width": width, "height": height, "rawEdges": len(raw),
            "groups": [{"id": "g:" + ns, "name": ns, "box": groups[ns], "inside": inside.get(ns, "")}
                       for ns in sorted(groups)],
            "nodes": [{"id": nid, "label": _label(peers[nid]), "title": peers[nid].text,
                       "kind": "workload" if peers[nid].in_namespace else
                       ("external" if peers[nid].ip else "ingress"), "box": boxes[nid]}
                      for nid in sorted(boxes)],
            "edges": [{"from": s, "to": t, "label": text} for (s, t), text in sorted(edges.items())]}

