"""Sets of connections: per protocol, a normalised tuple of inclusive port ranges.

Verdicts are computed over these sets rather than over sampled ports, so "TCP 1-79,81-65535"
is an exact answer. The text form is netpol-analyzer's (``All Connections``, ``TCP 80,UDP 53``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

from podnet.model.vocabulary import PROTOCOLS

FULL = ((1, 65535),)
Ranges = tuple[tuple[int, int], ...]


def _normalise(ranges: Iterable[tuple[int, int]]) -> Ranges:
    out: list[tuple[int, int]] = []
    for lo, hi in sorted(ranges):
        if out and lo <= out[-1][1] + 1:
            if hi > out[-1][1]:
                out[-1] = (out[-1][0], hi)
        else:
            out.append((lo, hi))
    return tuple(out)


def _intersect(a: Ranges, b: Ranges) -> Ranges:
    out: list[tuple[int, int]] = []
    i = j = 0
    while i < len(a) and j < len(b):
        lo = max(a[i][0], b[j][0])
        hi = min(a[i][1], b[j][1])
        if lo <= hi:
            out.append((lo, hi))
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return tuple(out)


@dataclass(frozen=True, slots=True)
class ConnSet:
    ports: Mapping[str, Ranges]

    @staticmethod
    def of(items: Mapping[str, Iterable[tuple[int, int]]]) -> ConnSet:
        norm = {p: _normalise(r) for p, r in items.items()}
        return ConnSet(MappingProxyType({p: r for p, r in sorted(norm.items()) if r}))

    @staticmethod
    def all() -> ConnSet:
        return ALL

    @staticmethod
    def none() -> ConnSet:
        return NONE

    @staticmethod
    def port(protocol: str, lo: int, hi: int | None = None) -> ConnSet:
        return ConnSet.of({protocol: [(lo, hi if hi is not None else lo)]})

    def __or__(self, other: ConnSet) -> ConnSet:
        if self.is_all() or other.is_empty():
            return self
        if other.is_all() or self.is_empty():
            return other
        merged: dict[str, list[tuple[int, int]]] = {}
        for cs in (self, other):
            for p, r in cs.ports.items():
                merged.setdefault(p, []).extend(r)
        return ConnSet.of(merged)

    def __and__(self, other: ConnSet) -> ConnSet:
        if self.is_all():
            return other
        if other.is_all():
            return self
        return ConnSet.of({p: _intersect(r, other.ports[p])
                           for p, r in self.ports.items() if p in other.ports})

    def __invert__(self) -> ConnSet:
        """Every connection this set lacks (admin tiers: what earlier rules left undecided)."""
        out: dict[str, list[tuple[int, int]]] = {}
        for proto in PROTOCOLS:
            lo, gaps = 1, []
            for a, b in self.ports.get(proto, ()):
                if a > lo:
                    gaps.append((lo, a - 1))
                lo = b + 1
            if lo <= FULL[0][1]:
                gaps.append((lo, FULL[0][1]))
            out[proto] = gaps
        return ConnSet.of(out)

    def __sub__(self, other: ConnSet) -> ConnSet:
        return self if other.is_empty() else self & ~other

    def __hash__(self) -> int:  # the mapping is a read-only view, so the set can be a key
        return hash(tuple(self.ports.items()))

    def is_empty(self) -> bool:
        return not self.ports

    def is_all(self) -> bool:
        return all(self.ports.get(p) == FULL for p in PROTOCOLS)

    def allows(self, protocol: str, port: int) -> bool:
        return any(lo <= port <= hi for lo, hi in self.ports.get(protocol, ()))

    def __str__(self) -> str:
        if self.is_all():
            return "All Connections"
        if self.is_empty():
            return "No Connections"
        parts = []
        for proto in sorted(PROTOCOLS):  # SCTP, TCP, UDP: netpol-analyzer's order
            ranges = self.ports.get(proto)
            if ranges:
                text = ",".join(f"{lo}" if lo == hi else f"{lo}-{hi}" for lo, hi in ranges)
                parts.append(f"{proto} {text}")
        return ",".join(parts)


ALL = ConnSet(MappingProxyType({p: FULL for p in PROTOCOLS}))
NONE = ConnSet(MappingProxyType({}))
