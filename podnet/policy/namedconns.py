"""Connection sets that may still hold named ports (exposure toward pods not in the input).

Toward a pod that is only described by a selector, a rule's named port cannot be resolved, so
netpol-analyzer's exposure report keeps the name ("TCP http,local-dns"). A NamedConns is a
numeric ConnSet plus the (protocol, name) pairs left unresolved. Its text follows
netpol-analyzer: per protocol the numbers, then the names sorted, protocols in text order; it
is "All Connections" only when every protocol holds every port and no name is left over.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from podnet.model.objects import Pod, PolicyPort
from podnet.policy.connset import ALL, NONE, ConnSet


@dataclass(frozen=True, slots=True)
class NamedConns:
    nums: ConnSet = NONE
    names: frozenset[tuple[str, str]] = frozenset()

    def __or__(self, other: NamedConns) -> NamedConns:
        return NamedConns(self.nums | other.nums, self.names | other.names)

    def is_empty(self) -> bool:
        return self.nums.is_empty() and not self.names

    def key(self) -> tuple[object, ...]:
        """Equal keys, equal sets (ConnSet's mapping is normalised, so compare its items)."""
        return (tuple((p, r) for p, r in self.nums.ports.items() if r), tuple(sorted(self.names)))

    def __str__(self) -> str:
        if not self.names:
            return str(self.nums)
        parts = []
        for proto in sorted(set(self.nums.ports) | {p for p, _ in self.names}):
            texts = [f"{lo}" if lo == hi else f"{lo}-{hi}" for lo, hi in self.nums.ports.get(proto, ())]
            texts += sorted(n for p, n in self.names if p == proto)
            parts.append(f"{proto} {','.join(texts)}")
        return ",".join(sorted(parts))


EVERY = NamedConns(ALL)
EMPTY = NamedConns()


def port_conns(ports: Iterable[PolicyPort], dst: Pod | None) -> NamedConns:
    """What a rule's ``ports`` admit toward ``dst``. With no dst (a selector, not a pod) named
    ports stay names; toward a pod a name resolves on its container ports of the rule's
    protocol, and one that does not resolve admits nothing."""
    ports = tuple(ports)
    if not ports:
        return EVERY
    nums, names = NONE, set()
    for pp in ports:
        if pp.port is None:
            nums = nums | ConnSet.port(pp.protocol, 1, 65535)
        elif isinstance(pp.port, int):
            nums = nums | ConnSet.port(pp.protocol, pp.port, pp.end_port)
        elif dst is None:
            names.add((pp.protocol, pp.port))
        else:
            number = dst.named_port(pp.port, pp.protocol)
            if number is not None:
                nums = nums | ConnSet.port(pp.protocol, number)
    return NamedConns(nums, frozenset(names))


def resolve_by_name(conns: NamedConns, pod: Pod) -> NamedConns:
    """Each name the pod declares (on any protocol) becomes that number under the rule's
    protocol; the others stay names. netpol-analyzer resolves a pod's cluster-wide ingress so."""
    nums, left = conns.nums, set()
    for proto, name in conns.names:
        found = next((cp.port for cp in pod.ports if cp.name == name), None)
        if found is None:
            left.add((proto, name))
        else:
            nums = nums | ConnSet.port(proto, found)
    return NamedConns(nums, frozenset(left))

