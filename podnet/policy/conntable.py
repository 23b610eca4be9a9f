"""connlist's connections as numpy columns, and their txt lines, with no Python object per pair.

At 150,000 pods connlist has millions of workload pairs (9.5 million in bench/gen.py's
cluster); one ``Conn`` per pair, sorted in Python, cost most of a minute. Here a connection is
three integers: the source's and the destination's rank (the peer's position among every
peer's text, sorted, so sorting by rank is connlist's order) and the index of its connection
text. The pairs come from the same class matrices as ``connlist.connections`` (``pair_blocks``),
sort with one ``np.lexsort``, and the txt lines are joined per source from a string built once
per distinct (destination, text): ``str.join`` in C does the per-pair work.

``connlist.connections`` stays the reference (and the path for the other formats and the focus
options); tests/test_conntable.py checks the two agree on generated clusters.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from podnet.model.cluster import Cluster
from podnet.policy.compile import Compiled
from podnet.policy.connlist import (
    Conn,
    ingress_conns,
    ip_peer,
    representatives,
    workload_peer,
)
from podnet.policy.connmatrix import ConnSpace
from podnet.policy.diff import Side
from podnet.policy.verdict import Evaluator

Triple = tuple[str, str, str]

# Words of uint64 per block of destination classes (tests make it tiny: one class a block).
BLOCK_WORDS = 1 << 22

# Lines per written piece of text: large enough that the per-piece Python work is nothing,
# small enough that a piece stays a few MB.
LINES_PER_PIECE = 50_000


@dataclass(frozen=True)
class ConnTable:
    """Every connection connlist prints, sorted by source then destination."""

    peers: list[str]  # every peer's text, sorted: ranks index it
    is_ip: np.ndarray  # per rank: an external range
    src: np.ndarray  # per connection, the source's rank
    dst: np.ndarray
    conn: np.ndarray  # per connection, an index into ``texts``
    texts: list[str]

    def __len__(self) -> int:
        return len(self.src)

    def triples(self, rows: np.ndarray | None = None) -> list[Triple]:
        """(src, dst, conns) of the given rows (all when None): for the few that need them."""
        at = np.arange(len(self.src)) if rows is None else rows
        p, t = self.peers, self.texts
        return [(p[s], p[d], t[c]) for s, d, c in zip(self.src[at].tolist(), self.dst[at].tolist(),
                                                     self.conn[at].tolist(), strict=True)]

    def external_rows(self) -> np.ndarray:
        """The rows with an external range at one end (thousands, where the pairs are millions)."""
        return np.flatnonzero(self.is_ip[self.src] | self.is_ip[self.dst])


class _Texts:
    """Connection-text ids: by a set's mask bytes (each distinct set rendered once) and by text."""

    def __init__(self, cs: ConnSpace) -> None:
        self.cs = cs
        self.by_mask: dict[bytes, int] = {}
        self.by_text: dict[str, int] = {}
        self.texts: list[str] = []

    def of_text(self, text: str) -> int:
        hit = self.by_text.get(text)
        if hit is None:
            hit = self.by_text[text] = len(self.texts)
            self.texts.append(text)
        return hit

    def of_masks(self, masks: np.ndarray) -> np.ndarray:
        """The id of each row of ``masks`` ([pairs, words])."""
        if masks.shape[1] > 1:
            return self._sorted(masks)
        # One word (the usual case): a few distinct sets among millions of pairs, so compare
        # with each in turn rather than sort; past a few, sort what is left.
        words = masks[:, 0]
        ids = np.empty(len(words), dtype=np.int32)
        left = np.arange(len(words))
        for _ in range(8):
            if not left.size:
                return ids
            same = words[left] == words[left[0]]
            ids[left[same]] = self._sorted(masks[left[:1]])[0]
            left = left[~same]
        if left.size:
            ids[left] = self._sorted(masks[left])
        return ids

    def _sorted(self, masks: np.ndarray) -> np.ndarray:
        rows = np.ascontiguousarray(masks).view(np.dtype((np.void, masks.shape[1] * 8))).ravel()
        uniq, inverse = np.unique(rows, return_inverse=True)
        ids = np.empty(len(uniq), dtype=np.int32)
        for k, key in enumerate(uniq.tolist()):
            hit = self.by_mask.get(key)
            if hit is None:
                hit = self.by_mask[key] = self.of_text(self.cs.text(np.frombuffer(key, np.uint64)))
            ids[k] = hit
        return ids[inverse.ravel()]


def conn_table(cluster: Cluster, compiled: Compiled) -> ConnTable:
    """What ``connlist.connections`` returns, as columns."""
    reps = representatives(cluster)
    names = [workload_peer(p).text for p in reps.values()]
    cs = ConnSpace(cluster, compiled, list(reps.values()))
    cls = cs.classes.of_pod
    ext_in = [ip_peer(lo, hi).text for lo, hi in cs.ext_in]
    ext_out = [ip_peer(lo, hi).text for lo, hi in cs.ext_out]
    ingress: list[Conn] = ingress_conns(cluster, Evaluator(cluster, compiled))
    peers = sorted({*names, *ext_in, *ext_out, *(c.src.text for c in ingress),
                    *(c.dst.text for c in ingress)})
    rank = {t: r for r, t in enumerate(peers)}

    def ranks(texts: Sequence[str]) -> np.ndarray:
        return np.array([rank[t] for t in texts], dtype=np.int32)

    name_rank, in_rank, out_rank = ranks(names), ranks(ext_in), ranks(ext_out)
    texts = _Texts(cs)
    src: list[np.ndarray] = []
    dst: list[np.ndarray] = []
    conn: list[np.ndarray] = []

    def add(m: np.ndarray, dst_ranks: np.ndarray, src_ranks: np.ndarray) -> None:
        i, j = np.nonzero(m[..., 0] if m.shape[2] == 1 else m.any(axis=2))
        if i.size:
            conn.append(texts.of_masks(np.ascontiguousarray(m[i, j])))
            src.append(src_ranks[j])
            dst.append(dst_ranks[i])

    members = _Members(cls)
    step = max(1, BLOCK_WORDS // ((cs.n + len(cs.ext_in)) * cs.atoms.words))
    for start in range(0, cs.n, step):
        dcls = np.arange(start, min(start + step, cs.n))
        admits = cs.ingress(dcls)
        between = admits[:, :cs.n] & cs.egress(dcls)
        i, j = np.nonzero(between[..., 0] if cs.atoms.words == 1 else between.any(axis=2))
        if i.size:
            ids = texts.of_masks(np.ascontiguousarray(between[i, j]))
            d, s, k = members.pairs(dcls[i], j)
            conn.append(ids[k])
            src.append(name_rank[s])
            dst.append(name_rank[d])
        d_rows, d_at = members.rows(dcls)
        add(admits[d_at, cs.n:], name_rank[d_rows], in_rank)
    step = max(1, BLOCK_WORDS // (max(len(names), 1) * cs.atoms.words))
    for start in range(0, len(ext_out), step):
        ext = np.arange(start, min(start + step, len(ext_out)))
        add(cs.egress_ext(ext)[:, cls], out_rank[ext], name_rank)
    if ingress:
        src.append(ranks([c.src.text for c in ingress]))
        dst.append(ranks([c.dst.text for c in ingress]))
        conn.append(np.array([texts.of_text(c.text) for c in ingress], dtype=np.int32))
    is_ip = np.zeros(len(peers), dtype=bool)
    is_ip[in_rank] = True
    is_ip[out_rank] = True
    empty = np.zeros(0, dtype=np.int32)
    s, d = np.concatenate([empty, *src]), np.concatenate([empty, *dst])
    order = np.lexsort((d, s))
    return ConnTable(peers, is_ip, s[order], d[order], np.concatenate([empty, *conn])[order],
                     texts.texts)


class _Members:
    """The workloads (by position) of each pod class, and the workload pairs of class pairs."""

    def __init__(self, cls: np.ndarray) -> None:
        self.order = np.argsort(cls, kind="stable")
        self.count = np.bincount(cls, minlength=int(cls.max(initial=-1)) + 1)
        self.start = np.concatenate([[0], np.cumsum(self.count)[:-1]]).astype(np.int64)

    def rows(self, classes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The workloads of ``classes`` (sorted, distinct), and each one's position in it."""
        k, offset = self._spread(self.count[classes])
        return self.order[self.start[classes][k] + offset], k

    def pairs(self, dcls: np.ndarray, scls: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Every (destination workload, source workload) of the class pairs, a workload never
        with itself, and the class pair each came from."""
        ds, ss = self.count[dcls], self.count[scls]
        k, offset = self._spread(ds * ss)
        d = self.order[self.start[dcls][k] + offset // ss[k]]
        s = self.order[self.start[scls][k] + offset % ss[k]]
        keep = d != s
        return d[keep], s[keep], k[keep]

    @staticmethod
    def _spread(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """For ``counts[k]`` items per k: each item's k and its position among k's."""
        k = np.repeat(np.arange(len(counts)), counts)
        firsts = np.cumsum(counts) - counts
        return k, np.arange(len(k)) - firsts[k]


def _tails(t: ConnTable) -> tuple[np.ndarray, np.ndarray]:
    """Per connection an index into the returned object array of ``"dst : conns\\n"`` strings,
    one built per distinct (destination, text)."""
    n_texts = max(len(t.texts), 1)
    key = t.dst.astype(np.int64) * n_texts + t.conn
    if len(t.peers) * n_texts <= 1 << 26:  # a dense lookup: no sort of millions of keys
        used = np.zeros(len(t.peers) * n_texts, dtype=bool)
        used[key] = True
        keys = np.flatnonzero(used)
        lookup = np.zeros(len(used), dtype=np.int64)
        lookup[keys] = np.arange(len(keys))
        index = lookup[key]
    else:
        keys, index = np.unique(key, return_inverse=True)
    strings = np.empty(len(keys), dtype=object)
    strings[:] = [f"{t.peers[k // n_texts]} : {t.texts[k % n_texts]}\n" for k in keys.tolist()]
    return strings, index.ravel()


def txt_pieces(t: ConnTable) -> Iterator[str]:
    """connlist's txt lines (``src => dst : conns``, each ending in a newline), in pieces of
    about ``LINES_PER_PIECE`` lines: what ``connlist_formats.txt`` prints without a focus."""
    if not len(t):
        return
    strings, index = _tails(t)
    starts = np.flatnonzero(np.diff(t.src)) + 1
    bounds = np.concatenate([[0], starts, [len(t)]]).tolist()
    srcs = t.src[bounds[:-1]].tolist()
    piece: list[str] = []
    size = 0
    for k, s in enumerate(srcs):
        a, b = bounds[k], bounds[k + 1]
        head = t.peers[s] + " => "
        piece.append(head)
        piece.append(head.join(strings[index[a:b]].tolist()))
        size += b - a
        if size >= LINES_PER_PIECE:
            yield "".join(piece)
            piece, size = [], 0
    if piece:
        yield "".join(piece)


def exposure_txt_pieces(cluster: Cluster, compiled: Compiled, t: ConnTable) -> Iterator[str]:
    """``connlist --exposure -o txt`` without a focus: the connlist lines, a blank line when
    there are any, then the exposure section. The analysis reads only the lines with an
    external range, so only those become Python strings."""
    from podnet.policy.exposure import exposure
    from podnet.policy.exposure_txt import exposure_lines

    peers = exposure(cluster, compiled, t.triples(t.external_rows()))
    yield from txt_pieces(t)
    yield "\n" * bool(len(t)) + "\n".join(exposure_lines(peers)) + "\n"


def changed_sides(old: ConnTable, old_workloads: frozenset[str], new: ConnTable,
                  new_workloads: frozenset[str]) -> tuple[Side, Side]:
    """The two sides of a diff without the pairs of peers in the cluster that both allow alike
    (every external range is kept: ranges are compared address by address). ``diff`` of these
    (without ``unchanged``) is ``diff`` of the whole sides: a pull request changes a handful
    of pairs among millions, and only those become Python objects."""
    union = sorted({p for t in (old, new) for p, ip in zip(t.peers, t.is_ip.tolist(), strict=True)
                    if not ip})
    where = {p: k for k, p in enumerate(union)}
    texts = {x: k for k, x in enumerate(sorted({*old.texts, *new.texts}))}

    def keyed(t: ConnTable) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        to_union = np.array([-1 if ip else where[p] for p, ip in
                             zip(t.peers, t.is_ip.tolist(), strict=True)], dtype=np.int64)
        rows = np.flatnonzero(~(t.is_ip[t.src] | t.is_ip[t.dst]))
        # Ranks are by name in both, so the keys come out sorted.
        key = to_union[t.src[rows]] * len(union) + to_union[t.dst[rows]]
        text = np.array([texts[x] for x in t.texts], dtype=np.int64)
        return rows, key, text[t.conn[rows]] if len(t.texts) else np.zeros(0, dtype=np.int64)

    rows1, key1, text1 = keyed(old)
    rows2, key2, text2 = keyed(new)
    _, at1, at2 = np.intersect1d(key1, key2, assume_unique=True, return_indices=True)
    alike = text1[at1] == text2[at2]
    keep1 = np.ones(len(key1), dtype=bool)
    keep1[at1[alike]] = False
    keep2 = np.ones(len(key2), dtype=bool)
    keep2[at2[alike]] = False
    return (Side(tuple(old.triples(np.concatenate([rows1[keep1], old.external_rows()]))),
                 old_workloads),
            Side(tuple(new.triples(np.concatenate([rows2[keep2], new.external_rows()]))),
                 new_workloads))
