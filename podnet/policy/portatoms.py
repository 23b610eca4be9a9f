"""Connection sets as bitmasks: each protocol's ports 1-65535 cut into atoms no rule splits.

Every port, range and resolved named port any rule names cuts its protocol's port space; the
pieces between cuts are atoms, and every set a rule (or a union or intersection of rules)
allows is a union of atoms. A set is then a row of uint64 words, one bit per atom, so
``verdict``'s ConnSet union and intersection become OR and AND over numpy arrays.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Sequence

import numpy as np

from podnet.model.objects import PolicyPort
from podnet.model.vocabulary import PROTOCOLS
from podnet.policy.compile import Compiled
from podnet.policy.connset import ConnSet

WORD = 64


class PortAtoms:
    def __init__(self, compiled: Compiled | Iterable[Sequence[PolicyPort]],
                 named: Iterable[tuple[str, int]]) -> None:
        """``compiled``: the policies whose rules cut the ports, or only their rules' port
        lists (any superset of the rules a computation meets gives the same sets, only finer
        atoms); ``named``: (protocol, number) of every named port a rule may resolve to."""
        lists = ((r.ports for r in compiled.all_rules()) if isinstance(compiled, Compiled)
                 else compiled)
        cuts: dict[str, set[int]] = {p: {1, 65536} for p in PROTOCOLS}
        for ports in lists:
            for pp in ports:
                if isinstance(pp.port, int):
                    cuts[pp.protocol] |= {pp.port, _end(pp) + 1}
        for proto, number in named:
            cuts[proto] |= {number, number + 1}
        self.starts: dict[str, list[int]] = {}
        self.base: dict[str, int] = {}
        self.atoms: list[tuple[str, int, int]] = []
        for proto in PROTOCOLS:
            starts = sorted(c for c in cuts[proto] if 1 <= c <= 65536)
            self.starts[proto] = starts
            self.base[proto] = len(self.atoms)
            self.atoms += [(proto, lo, nxt - 1) for lo, nxt in zip(starts, starts[1:], strict=False)]
        self.words = max(1, -(-len(self.atoms) // WORD))
        self.all = self._bits(0, len(self.atoms))
        self.none = np.zeros(self.words, dtype=np.uint64)
        self._cache: dict[tuple[str, int, int], np.ndarray] = {}

    def _bits(self, i: int, j: int) -> np.ndarray:
        flags = np.zeros(self.words * WORD, dtype=bool)
        flags[i:j] = True
        out: np.ndarray = np.packbits(flags, bitorder="little").view(np.uint64)
        return out

    def span(self, proto: str, lo: int, hi: int) -> np.ndarray:
        """The mask of ports lo..hi of a protocol (both ends are cuts by construction)."""
        key = (proto, lo, hi)
        hit = self._cache.get(key)
        if hit is None:
            starts, base = self.starts[proto], self.base[proto]
            hit = self._cache[key] = self._bits(base + bisect_left(starts, lo),
                                                base + bisect_left(starts, hi + 1))
        return hit

    def fixed(self, ports: Sequence[PolicyPort]) -> np.ndarray:
        """What a ``ports`` list admits through its numbered and whole-protocol entries."""
        if not ports:
            return self.all
        out = self.none.copy()
        for pp in ports:
            if pp.port is None:
                out |= self.span(pp.protocol, 1, 65535)
            elif isinstance(pp.port, int):
                out |= self.span(pp.protocol, pp.port, _end(pp))
        return out

    def conns(self, mask: np.ndarray) -> ConnSet:
        bits = np.unpackbits(mask.view(np.uint8), bitorder="little")[:len(self.atoms)]
        items: dict[str, list[tuple[int, int]]] = {}
        for i in np.flatnonzero(bits).tolist():
            proto, lo, hi = self.atoms[i]
            items.setdefault(proto, []).append((lo, hi))
        return ConnSet.of(items)


def _end(pp: PolicyPort) -> int:
    assert isinstance(pp.port, int)
    return pp.end_port if pp.end_port is not None else pp.port
