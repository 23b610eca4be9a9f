"""The connectivity that changed between two versions of a cluster (netpol-analyzer's ``diff``).

Each side is its workload connection list (``connlist``) and the set of its workloads. A pair
of peers allowed something on either side is *changed* (both sides allow different sets),
*unchanged*, *added* (only the new side, ref2) or *removed* (only the old side, ref1). An added
or removed pair also says which of its workloads exist on one side only (new or lost).

External ranges are cut differently by the two versions' ipBlocks, so they are compared address
by address: for each workload and direction, the ranges of both sides are split at every bound
either side has, and adjacent pieces that carry the same pair of answers are joined again into
maximal ranges. That is what netpol-analyzer does (disjoint blocks, then merging touching blocks
with equal connections on both sides), so its ranges come out the same.
"""

from __future__ import annotations

import bisect
import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass

from podnet.model.cluster import Cluster
from podnet.policy.compile import Compiled
from podnet.policy.connlist import connections, representatives
from podnet.policy.extranges import range_name

INGRESS_CONTROLLER = "{ingress-controller}"
EXTERNAL = "[External]"

CHANGED, ADDED, REMOVED, UNCHANGED = "changed", "added", "removed", "unchanged"


@dataclass(frozen=True)
class Side:
    """One version of the cluster: its connections (src, dst, connections text) and workloads."""

    conns: tuple[tuple[str, str, str], ...]
    workloads: frozenset[str]


@dataclass(frozen=True)
class Change:
    """One pair of peers and what each side allows it (None: nothing)."""

    kind: str
    src: str
    dst: str
    ref1: str | None
    ref2: str | None
    src_new_or_lost: bool = False
    dst_new_or_lost: bool = False


@dataclass(frozen=True)
class ConnDiff:
    changes: tuple[Change, ...]  # every category, unchanged included (the dot graph draws them)

    def of(self, kind: str) -> list[Change]:
        return [c for c in self.changes if c.kind == kind]

    @property
    def differs(self) -> bool:
        return any(c.kind != UNCHANGED for c in self.changes)


def is_ip(peer: str) -> bool:
    return peer.endswith(EXTERNAL)


def side(cluster: Cluster, compiled: Compiled) -> Side:
    """One side from the connection list that ``podnet connlist`` prints."""
    return Side(conns=tuple((c.src.text, c.dst.text, c.text) for c in connections(cluster, compiled)),
                workloads=frozenset(representatives(cluster)))


def _bounds(peer: str) -> tuple[int, int]:
    lo, _, hi = peer.removesuffix(EXTERNAL).partition("-")
    return int(ipaddress.IPv4Address(lo)), int(ipaddress.IPv4Address(hi))


Ranges = dict[tuple[str, bool], list[tuple[int, int, str]]]


def _by_peer(conns: Iterable[tuple[str, str, str]]
             ) -> tuple[dict[tuple[str, str], str], Ranges]:
    """Pairs of cluster peers, and per (cluster peer, is-it-the-source) the external ranges."""
    pairs: dict[tuple[str, str], str] = {}
    ranges: Ranges = {}
    for src, dst, conn in conns:
        if is_ip(src):
            ranges.setdefault((dst, False), []).append((*_bounds(src), conn))
        elif is_ip(dst):
            ranges.setdefault((src, True), []).append((*_bounds(dst), conn))
        else:
            pairs[(src, dst)] = conn
    return pairs, ranges


def _at(ranges: list[tuple[int, int, str]], starts: list[int], addr: int) -> str | None:
    i = bisect.bisect_right(starts, addr) - 1
    if i >= 0 and ranges[i][1] >= addr:
        return ranges[i][2]
    return None


def _pieces(one: list[tuple[int, int, str]], two: list[tuple[int, int, str]]
            ) -> list[tuple[int, int, str | None, str | None]]:
    """Maximal ranges over which both sides' answers stay the same (and one side answers)."""
    one, two = sorted(one), sorted(two)
    s1, s2 = [r[0] for r in one], [r[0] for r in two]
    cuts = sorted({b for lo, hi, _ in (*one, *two) for b in (lo, hi + 1)})
    out: list[tuple[int, int, str | None, str | None]] = []
    for lo, nxt in zip(cuts, cuts[1:], strict=False):
        a, b = _at(one, s1, lo), _at(two, s2, lo)
        if a is None and b is None:
            continue
        if out and out[-1][1] == lo - 1 and out[-1][2:] == (a, b):
            out[-1] = (out[-1][0], nxt - 1, a, b)
        else:
            out.append((lo, nxt - 1, a, b))
    return out


def _change(src: str, dst: str, a: str | None, b: str | None,
            workloads1: frozenset[str], workloads2: frozenset[str]) -> Change:
    if a is not None and b is not None:
        return Change(UNCHANGED if a == b else CHANGED, src, dst, a, b)
    kind, others = (REMOVED, workloads2) if b is None else (ADDED, workloads1)

    def only_here(peer: str) -> bool:
        return not is_ip(peer) and peer != INGRESS_CONTROLLER and peer not in others

    return Change(kind, src, dst, a, b, only_here(src), only_here(dst))


def diff(old: Side, new: Side, unchanged: bool = True) -> ConnDiff:
    """What changed from ``old`` (ref1) to ``new`` (ref2), in sorted order. Without
    ``unchanged`` the pairs both sides allow alike are left out (only the dot graph draws
    them): at 150,000 pods they are millions, and only the others need sorting."""
    pairs1, ranges1 = _by_peer(old.conns)
    pairs2, ranges2 = _by_peer(new.conns)
    out: list[Change] = []
    if unchanged:
        keys: Iterable[tuple[str, str]] = pairs1.keys() | pairs2.keys()
    else:
        keys = [k for k, v in pairs1.items() if pairs2.get(k) != v]
        keys += [k for k in pairs2 if k not in pairs1]
    for src, dst in sorted(keys):
        out.append(_change(src, dst, pairs1.get((src, dst)), pairs2.get((src, dst)),
                           old.workloads, new.workloads))
    for peer, peer_is_src in sorted(ranges1.keys() | ranges2.keys()):
        for lo, hi, a, b in _pieces(ranges1.get((peer, peer_is_src), []),
                                    ranges2.get((peer, peer_is_src), [])):
            ext = range_name(lo, hi)
            src, dst = (peer, ext) if peer_is_src else (ext, peer)
            change = _change(src, dst, a, b, old.workloads, new.workloads)
            if unchanged or change.kind != UNCHANGED:
                out.append(change)
    return ConnDiff(tuple(out))
