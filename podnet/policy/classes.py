"""Equivalence classes of pods: pods that every policy treats alike.

Two pods behave identically under NetworkPolicy when they share a namespace, labels, named
container ports and, when ipBlocks may select pods, the same membership in every ipBlock.
Work is done over classes and expanded to pods only on output.
"""

from __future__ import annotations

import ipaddress
import operator
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


def _dense(key: np.ndarray) -> np.ndarray:
    """Each value replaced by its rank among the distinct values (0..distinct-1)."""
    inverse: np.ndarray = np.unique(key, return_inverse=True)[1].reshape(-1)
    return inverse


def _join(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """One code per distinct pair (a, b) of dense codes; stays below len(a), so never
    overflows however many columns are joined."""
    return _dense(a * (int(b.max(initial=0)) + 1) + b)


def _bit_codes(bits: np.ndarray) -> np.ndarray:
    """One code per distinct row of a bool matrix, 30 columns at a time."""
    code = np.zeros(bits.shape[0], dtype=np.int64)
    for j in range(0, bits.shape[1], 30):
        chunk = bits[:, j:j + 30].astype(np.int64)
        value = chunk @ (np.int64(1) << np.arange(chunk.shape[1], dtype=np.int64))
        code = _join(code, value)
    return code


def classify(pods: Sequence[Pod], compiled: Compiled) -> Classes:
    """Classes numbered in order of their first pod, each represented by that pod.

    The key of a pod is its namespace, its labels in order, its named ports (sorted), its
    membership in each ipBlock and, with admin tiers, whether it is hostNetwork. Each part is
    a column of integer codes and the columns are joined with numpy: only the distinct
    labels and ports objects (a workload's pods share them) are described in Python."""
    n = len(pods)
    if n == 0:
        return Classes((), np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64))
    blocks = ip_blocks(compiled) if compiled.ipblock_matches_pods else ()
    names = list(map(operator.attrgetter("namespace"), pods))
    code = {ns: i for i, ns in enumerate(dict.fromkeys(names))}
    key = np.fromiter(map(code.__getitem__, names), dtype=np.int64, count=n)
    labels = list(map(operator.attrgetter("labels"), pods))
    ports = list(map(operator.attrgetter("ports"), pods))
    # (equal objects that are not shared describe alike, so the classes do not depend on it)
    shared = _join(_dense(np.fromiter(map(id, labels), dtype=np.uint64, count=n)),
                   _dense(np.fromiter(map(id, ports), dtype=np.uint64, count=n)))
    _, first = np.unique(shared, return_index=True)
    descriptions: dict[tuple[object, ...], int] = {}
    described = np.array([descriptions.setdefault(
        (tuple(labels[i].items()),
         tuple(sorted((c.name, c.protocol, c.port) for c in ports[i] if c.name))),
        len(descriptions)) for i in first.tolist()], dtype=np.int64)
    key = _join(key, described[shared])
    if blocks:
        key = _join(key, _bit_codes(_block_bits(pods, blocks)))
    # an admin policy's subject leaves hostNetwork pods out, so with admin tiers they are a
    # class of their own
    if compiled.admin_ingress or compiled.admin_egress:
        host = np.fromiter(map(operator.attrgetter("host_network"), pods), dtype=bool, count=n)
        key = _join(key, host.astype(np.int64))
    _, first, inverse = np.unique(key, return_index=True, return_inverse=True)
    order = np.argsort(first)
    rank = np.empty(order.size, dtype=np.int64)
    rank[order] = np.arange(order.size)
    of_pod = rank[inverse.reshape(-1)]
    reps = tuple(pods[i] for i in first[order].tolist())
    sizes = np.bincount(of_pod, minlength=len(reps)).astype(np.int64)
    return Classes(reps, of_pod, sizes)


def check_same(a: Pod, b: Pod, blocks: Sequence[IPBlock]) -> bool:
    """True when two pods fall in one class (used by tests)."""
    return (a.namespace == b.namespace and dict(a.labels) == dict(b.labels)
            and all(block_contains(x, a.ip) == block_contains(x, b.ip) for x in blocks))
