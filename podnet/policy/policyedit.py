"""The connections that differ between two versions whose NetworkPolicies alone changed.

Both versions share their class space and every target they have in common: ``base`` holds
those (``grants.Indexes``), and each side adds only the targets it changed. For destination
classes ``D`` (the rows) a side's arrays are
    ingress[D, source or range] = where(D isolated, base grants | side grants, everything)
    egress[D, source]           = where(source isolated, base grants | side grants, everything)
and for source classes ``S`` (the columns) the same with the roles turned. The base grants
are computed once for both sides, from the groups that touch ``D`` or ``S`` only. One set of
port atoms (cut by every rule either side meets) and one cut of the address space serve
both sides, so the two sides' masks compare word for word: only the pairs whose masks differ
become lines, which is all ``diff`` prints.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

from podnet.model.objects import PolicyPort
from podnet.policy.connlist import Peer
from podnet.policy.extranges import block_ranges, holds, lows, range_name
from podnet.policy.grants import DirectionIndex, Group, Indexes
from podnet.policy.matrix import ClassSpace
from podnet.policy.portatoms import PortAtoms

ZERO = np.uint64(0)
Line = tuple[str, str, str]


def _unique(groups: Iterable[Group]) -> list[Group]:
    return list({id(g): g for g in groups}.values())


class EditSpace:
    def __init__(self, space: ClassSpace, base: Indexes, sides: tuple[Indexes, Indexes],
                 rows: np.ndarray, cols: np.ndarray) -> None:
        """``rows``, ``cols``: sorted distinct destination and source classes."""
        self.space, self.n, self.rows, self.cols = space, space.n, rows, cols
        every = (base, *sides)
        self.in_rows = [_unique(ix.ingress.selecting_any(rows)) if rows.size else [] for ix in every]
        self.eg_rows = [_unique(ix.egress.admitting_any(rows)) if rows.size else [] for ix in every]
        self.in_cols = [_unique(ix.ingress.admitting_any(cols)) if cols.size else [] for ix in every]
        self.eg_cols = [_unique(ix.egress.selecting_any(cols)) if cols.size else [] for ix in every]
        met = _unique(g for gs in (*self.in_rows, *self.eg_rows, *self.in_cols, *self.eg_cols)
                      for g in gs)
        numbers: set[tuple[str, int]] = set()
        for proto, name in {(pp.protocol, pp.port) for g in met for pp in g.ports
                            if isinstance(pp.port, str)}:
            found = space.named_port(name, proto)
            numbers |= {(proto, int(v)) for v in np.unique(found[found >= 0]).tolist()}
        self.atoms = PortAtoms([g.ports for g in met], numbers)
        self.words = self.atoms.words
        self.ext_in = block_ranges({b for gs in self.in_rows for g in gs for b in g.blocks})
        self.ext_out = block_ranges({b for gs in self.eg_cols for g in gs for b in g.blocks})
        self._lows = {"in": lows(self.ext_in), "out": lows(self.ext_out)}
        self._masks: dict[tuple[tuple[PolicyPort, ...], bytes | None], np.ndarray] = {}
        self.texts: dict[bytes, str] = {}

    def mask(self, ports: tuple[PolicyPort, ...], dst: np.ndarray | None) -> np.ndarray:
        """What ``ports`` admit toward each class of ``dst`` ([len(dst), words]), or one row
        when no named port varies with the destination."""
        key = (ports, None if dst is None else dst.tobytes())
        hit = self._masks.get(key)
        if hit is not None:
            return hit
        fixed = self.atoms.fixed(ports)
        out = fixed
        for pp in ports:
            if not isinstance(pp.port, str):
                continue
            found = self.space.named_port(pp.port, pp.protocol)
            found = found if dst is None else found[dst]
            if out.ndim == 1:
                out = np.broadcast_to(fixed, (len(found), self.words)).copy()
            for v in np.unique(found[found >= 0]).tolist():
                out[found == v] |= self.atoms.span(pp.protocol, v, v)
        self._masks[key] = out
        return out

    def _ext(self, g: Group, way: str) -> np.ndarray:
        addrs = self._lows[way]
        out = np.full(addrs.shape, g.every_ip)
        for b in g.blocks:
            out |= holds(b, addrs)
        return out

    def _zeros(self, *shape: int) -> np.ndarray:
        return np.zeros((*shape, self.words), dtype=np.uint64)

    # grants: what the groups let through, before isolation says where they count
    def rows_ingress(self, groups: Sequence[Group]) -> np.ndarray:
        """[i, source class or ext_in range] toward ``rows[i]``."""
        d = self.rows
        m = self._zeros(len(d), self.n + len(self.ext_in))
        for g in groups:
            at = np.flatnonzero(g.count[d] > 0)
            if at.size == 0:
                continue
            peers = np.concatenate([g.peers, self._ext(g, "in")])
            mask = self.mask(g.ports, d[at])
            if mask.ndim == 1:
                m[at] |= np.where(peers[:, None], mask, ZERO)[None]
            else:
                m[at] |= np.where(peers[None, :, None], mask[:, None, :], ZERO)
        return m

    def _grant(self, m: np.ndarray, rows: np.ndarray, cols: np.ndarray,
               ports: tuple[PolicyPort, ...], dst: np.ndarray) -> None:
        """OR a group's ports into ``m[rows x cols]``; ``dst``: each row's destination class,
        on which named ports resolve."""
        if rows.size and cols.size:
            mask = self.mask(ports, dst)
            m[np.ix_(rows, cols)] |= mask if mask.ndim == 1 else mask[:, None, :]

    def rows_egress(self, groups: Sequence[Group]) -> np.ndarray:
        """[i, source class] toward ``rows[i]``."""
        d = self.rows
        m = self._zeros(len(d), self.n)
        for g in groups:
            at = np.flatnonzero(g.peers[d])
            self._grant(m, at, np.flatnonzero(g.count > 0), g.ports, d[at])
        return m

    def cols_egress(self, groups: Sequence[Group]) -> np.ndarray:
        """[destination class, j] from ``cols[j]``."""
        m = self._zeros(self.n, len(self.cols))
        for g in groups:
            dst = np.flatnonzero(g.peers)
            self._grant(m, dst, np.flatnonzero(g.count[self.cols] > 0), g.ports, dst)
        return m

    def cols_ingress(self, groups: Sequence[Group]) -> np.ndarray:
        """[destination class, j] from ``cols[j]``."""
        m = self._zeros(self.n, len(self.cols))
        for g in groups:
            dst = np.flatnonzero(g.count > 0)
            self._grant(m, dst, np.flatnonzero(g.peers[self.cols]), g.ports, dst)
        return m

    def cols_ext(self, groups: Sequence[Group]) -> np.ndarray:
        """[ext_out range, j] from ``cols[j]``: named ports resolve on pods only, so toward
        an address a rule admits its numbers."""
        s = self.cols
        m = self._zeros(len(self.ext_out), len(s))
        for g in groups:
            at, dst = np.flatnonzero(g.count[s] > 0), np.flatnonzero(self._ext(g, "out"))
            if at.size == 0 or dst.size == 0:
                continue
            m[np.ix_(dst, at)] |= self.atoms.fixed(g.ports)
        return m

    def allowed(self, grants: np.ndarray, isolated: np.ndarray) -> np.ndarray:
        """Everything where not isolated (``isolated`` broadcasts over the first axes)."""
        out: np.ndarray = np.where(isolated[..., None], grants, self.atoms.all)
        return out

    def text(self, mask: np.ndarray) -> str:
        key = mask.tobytes()
        hit = self.texts.get(key)
        if hit is None:
            hit = self.texts[key] = str(self.atoms.conns(mask))
        return hit


def _isolated(base: DirectionIndex, side: DirectionIndex) -> np.ndarray:
    out: np.ndarray = base.isolated() | side.isolated()
    return out


def _lines(es: EditSpace, one: np.ndarray, two: np.ndarray, dsts: Sequence[Peer],
           srcs: Sequence[Peer], out: tuple[list[Line], list[Line]]) -> None:
    """The lines of the pairs ``[dst, src]`` whose masks differ between the two sides."""
    i, j = np.nonzero((one != two).any(axis=2))
    for a, b in zip(i.tolist(), j.tolist(), strict=True):
        for m, lines in ((one[a, b], out[0]), (two[a, b], out[1])):
            if m.any():
                lines.append((srcs[b].text, dsts[a].text, es.text(m)))


def edit_lines(space: ClassSpace, peers: Sequence[Peer], base: Indexes,
               sides: tuple[Indexes, Indexes], rows: list[int], cols: list[int]
               ) -> tuple[list[Line], list[Line]]:
    """Each side's lines toward the workloads ``rows`` and from the workloads ``cols``
    (indices into ``peers``, in class-space order) whose connections differ."""
    cls = space.classes.of_pod
    dcls = np.unique(cls[rows]) if rows else np.zeros(0, np.int64)
    scls = np.unique(cls[cols]) if cols else np.zeros(0, np.int64)
    es = EditSpace(space, base, sides, dcls, scls)
    out: tuple[list[Line], list[Line]] = ([], [])
    iso_in = [_isolated(base.ingress, s.ingress) for s in sides]
    iso_eg = [_isolated(base.egress, s.egress) for s in sides]
    if rows:
        inv = np.searchsorted(dcls, cls[rows])
        b_in, b_eg = es.rows_ingress(es.in_rows[0]), es.rows_egress(es.eg_rows[0])
        full, ext = [], []
        for k in (0, 1):
            ingress = es.allowed(b_in | es.rows_ingress(es.in_rows[k + 1]),
                                 iso_in[k][dcls][:, None])
            egress = es.allowed(b_eg | es.rows_egress(es.eg_rows[k + 1]), iso_eg[k][None, :])
            pairs = (ingress[:, :es.n] & egress)[inv][:, cls]
            pairs[np.arange(len(rows)), rows] = 0  # a workload's own pods are not a pair
            full.append(pairs)
            ext.append(ingress[inv, es.n:])
        dst = [peers[i] for i in rows]
        _lines(es, full[0], full[1], dst, peers, out)
        _lines(es, ext[0], ext[1], dst, [Peer(range_name(lo, hi), ip=True) for lo, hi in es.ext_in], out)
    if cols:
        inv = np.searchsorted(scls, cls[cols])
        b_in, b_eg = es.cols_ingress(es.in_cols[0]), es.cols_egress(es.eg_cols[0])
        b_ext = es.cols_ext(es.eg_cols[0])
        full, ext = [], []
        for k in (0, 1):
            ingress = es.allowed(b_in | es.cols_ingress(es.in_cols[k + 1]),
                                 iso_in[k][:, None])
            src_iso = iso_eg[k][scls][None, :]
            egress = es.allowed(b_eg | es.cols_egress(es.eg_cols[k + 1]), src_iso)
            pairs = (ingress & egress)[cls][:, inv]
            pairs[cols, np.arange(len(cols))] = 0
            full.append(pairs)
            ext.append(es.allowed(b_ext | es.cols_ext(es.eg_cols[k + 1]), src_iso)[:, inv])
        src = [peers[i] for i in cols]
        _lines(es, full[0], full[1], peers, src, out)
        _lines(es, ext[0], ext[1], [Peer(range_name(lo, hi), ip=True) for lo, hi in es.ext_out], src, out)
    return out
