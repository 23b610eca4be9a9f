"""The IPv4 ranges outside the cluster that connlist reports on, and which ipBlocks hold them.

The IPv4 space is cut into the coarsest ranges that every ipBlock of a direction treats alike:
a cut survives only where some block's membership changes (10.0.0.0/9 and 10.128.0.0/9 both
excepted from 10.0.0.0/8 read as one range 10.0.0.0-10.255.255.255), as netpol-analyzer's
disjoint IP blocks do. Each block's changes are the edges of its own intervals, so this costs
O(B log B) for B blocks rather than a membership test of every block per piece.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence

import numpy as np

from podnet.model.objects import IPBlock
from podnet.policy.matcher import IPPeer, Target, TierTarget

V4_END = 2**32 - 1


def _span(cidr: str) -> tuple[int, int]:
    net = ipaddress.ip_network(cidr, strict=False)
    return int(net.network_address), int(net.broadcast_address)


def v4_blocks(targets: Iterable[Target | TierTarget]) -> tuple[IPBlock, ...]:
    blocks = {pm.block for t in targets for rule in t.rules for pm in rule.peers
              if isinstance(pm, IPPeer) and ":" not in pm.block.cidr}
    return tuple(sorted(blocks, key=lambda b: (b.cidr, b.excepts)))


def intervals(block: IPBlock) -> list[tuple[int, int]]:
    """The block's addresses as disjoint, non-adjacent inclusive intervals (excepts removed)."""
    lo, hi = _span(block.cidr)
    out: list[tuple[int, int]] = []
    for elo, ehi in sorted(_span(e) for e in block.excepts):
        if elo > lo:
            out.append((lo, min(elo - 1, hi)))
        lo = max(lo, ehi + 1)
    if lo <= hi:
        out.append((lo, hi))
    return out


def ranges(targets: Iterable[Target | TierTarget]) -> list[tuple[int, int]]:
    return block_ranges(v4_blocks(targets))


def block_ranges(blocks: Iterable[IPBlock]) -> list[tuple[int, int]]:
    """The IPv4 space cut by these blocks (IPv6 blocks cut nothing)."""
    cuts = {0, V4_END + 1}
    for b in blocks:
        if ":" in b.cidr:
            continue
        for lo, hi in intervals(b):
            cuts.add(lo)
            cuts.add(hi + 1)
    edges = sorted(cuts)
    return [(lo, nxt - 1) for lo, nxt in zip(edges, edges[1:], strict=False)]


def range_name(lo: int, hi: int) -> str:
    return f"{ipaddress.IPv4Address(lo)}-{ipaddress.IPv4Address(hi)}[External]"


def holds(block: IPBlock, addrs: np.ndarray) -> np.ndarray:
    """Which of these IPv4 addresses (int64) the block holds; an IPv6 block holds none."""
    if ":" in block.cidr:
        return np.zeros(addrs.shape, dtype=bool)
    inside = np.zeros(addrs.shape, dtype=bool)
    for lo, hi in intervals(block):
        inside |= (addrs >= lo) & (addrs <= hi)
    return inside


def lows(rs: Sequence[tuple[int, int]]) -> np.ndarray:
    return np.array([lo for lo, _ in rs], dtype=np.int64)
