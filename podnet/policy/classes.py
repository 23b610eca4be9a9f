"""Equivalence classes of pods: pods that every policy treats alike.

Two pods behave identically under NetworkPolicy when they share a namespace, labels, named
container ports and, when ipBlocks may select pods, the same membership in every ipBlock.
Work is done over classes and expanded to pods only on output.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from podnet.model.objects import IPBlock, Pod
from podnet.policy.compile import Compiled
from podnet.policy.ipv4array import ipv4_ints
from podnet.policy.matcher import IPPeer
from podnet.policy.verdict import block_contains


@dataclass(frozen=True)
class Classes:
    representatives: tuple[Pod, ...]  # one pod per class
    of_pod: np.ndarray  # class index of each pod, in cluster order
    sizes: np.ndarray  # pods per class (int64)

    def __len__(self) -> int:
        return len(self.representatives)


def ip_blocks(compiled: Compiled) -> tuple[IPBlock, ...]:
    blocks = {pm.block for r in compiled.all_rules() for pm in r.peers if isinstance(pm, IPPeer)}
    return tuple(sorted(blocks, key=lambda b: (b.cidr, b.excepts)))


def _block_bits(pods: Sequence[Pod], blocks: Sequence[IPBlock]) -> np.ndarray:
    """For each pod, a bit per ipBlock: does the block contain the pod's IP."""
    bits = np.zeros((len(pods), len(blocks)), dtype=bool)
    if not blocks or not pods:
        return bits
    ips = ipv4_ints([p.ip for p in pods])
    for j, b in enumerate(blocks):
        net = ipaddress.ip_network(b.cidr, strict=False)
        if net.version != 4:
            continue
        inside = (ips >= int(net.network_address)) & (ips <= int(net.broadcast_address))
        for e in b.excepts:
            en = ipaddress.ip_network(e, strict=False)
            inside &= ~((ips >= int(en.network_address)) & (ips <= int(en.broadcast_address)))
        bits[:, j] = inside
    return bits


def classify(pods: Sequence[Pod], compiled: Compiled) -> Classes:
    blocks = ip_blocks(compiled) if compiled.ipblock_matches_pods else ()
    bits = _block_bits(pods, blocks)
    keys: dict[tuple[object, ...], int] = {}
    # an admin policy's subject leaves hostNetwork pods out, so with admin tiers they are a
    # class of their own
    tiers = bool(compiled.admin_ingress or compiled.admin_egress)
    of_pod = np.empty(len(pods), dtype=np.int64)
    reps: list[Pod] = []
    # A workload's pods share their labels and ports objects: describe each pair once.
    # (Equal objects that are not shared describe alike, so the classes do not change.)
    described: dict[tuple[int, int], tuple[object, object]] = {}
    rows = [r.tobytes() for r in np.packbits(bits, axis=1)] if blocks else [b""] * len(pods)
    for i, p in enumerate(pods):
        ident = (id(p.labels), id(p.ports))
        part = described.get(ident)
        if part is None:
            part = described[ident] = (tuple(p.labels.items()), tuple(sorted(
                (c.name, c.protocol, c.port) for c in p.ports if c.name)))
        key = (p.namespace, *part, rows[i], tiers and p.host_network)
        k = keys.get(key)
        if k is None:
            k = keys[key] = len(reps)
            reps.append(p)
        of_pod[i] = k
    sizes = np.bincount(of_pod, minlength=len(reps)).astype(np.int64)
    return Classes(tuple(reps), of_pod, sizes)


def check_same(a: Pod, b: Pod, blocks: Sequence[IPBlock]) -> bool:
    """True when two pods fall in one class (used by tests)."""
    return (a.namespace == b.namespace and dict(a.labels) == dict(b.labels)
            and all(block_contains(x, a.ip) == block_contains(x, b.ip) for x in blocks))
