"""Focus options of netpol-analyzer's ``list``: which connections it keeps, and which workloads
its graph shows.

A workload is named ``name`` or ``ns/name`` (both match). ``workloads`` keeps the pairs with a
focus workload on one side; ``peers`` (only with ``workloads``) requires the other side to be
one of them; ``direction`` (only with ``workloads``) requires the focus workload to be the
destination (ingress) or the source (egress). ``conn`` keeps the pairs that allow that one
protocol and port, and reports only it. IP ranges are never a focus workload.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from podnet.errors import UsageError
from podnet.model.vocabulary import PROTOCOLS
from podnet.policy.connlist import Conn, Peer
from podnet.policy.connset import ConnSet

DIRECTIONS = ("ingress", "egress")


@dataclass(frozen=True)
class Focus:
    workloads: tuple[str, ...] = ()
    peers: tuple[str, ...] = ()
    direction: str = ""
    conn: tuple[str, int] | None = None  # (protocol, port)

    def conn_text(self) -> str:
        """netpol-analyzer's name of the focus connection ("TCP 80"), or "" without one."""
        return "" if self.conn is None else str(ConnSet.port(*self.conn))


def parse_workloads(value: str | None) -> tuple[str, ...]:
    """A comma list, as netpol-analyzer's string-slice flags read it (empty items dropped)."""
    return tuple(w.strip() for w in (value or "").split(",") if w.strip())


def parse_direction(value: str | None) -> str:
    if value is None or value == "":
        return ""
    if value not in DIRECTIONS:
        raise UsageError(f"--focus-direction {value}: choose one of {', '.join(DIRECTIONS)}")
    return value


def parse_conn(value: str | None) -> tuple[str, int] | None:
    """``protocol-port`` (any case), as netpol-analyzer's --focus-conn: one protocol, one port."""
    if value is None or value == "":
        return None
    parts = value.split("-")
    if len(parts) != 2:
        raise UsageError(f"--focus-conn {value}: must be <protocol-port>, e.g. tcp-80")
    proto, port = parts[0].upper(), parts[1]
    if proto not in PROTOCOLS:
        raise UsageError(f"--focus-conn {value}: unknown protocol {parts[0]!r} "
                         f"(one of {', '.join(PROTOCOLS)})")
    if not (port.isascii() and port.isdigit()) or not 1 <= int(port) <= 65535:
        raise UsageError(f"--focus-conn {value}: port {port!r} is not a number from 1 to 65535")
    return proto, int(port)


def _named(peer: Peer, names: Sequence[str]) -> bool:
    """True for every peer when no names are given (no focus), as netpol-analyzer reads it."""
    if not names:
        return True
    if peer.ip:
        return False
    return peer.name in names or f"{peer.namespace}/{peer.name}" in names


def keeps(focus: Focus, src: Peer, dst: Peer) -> bool:
    """Whether the pair is in the focused list (netpol-analyzer's includePairOfWorkloads)."""
    w = focus.workloads
    if focus.direction == "ingress" and not _named(dst, w):
        return False
    if focus.direction == "egress" and not _named(src, w):
        return False
    return ((_named(src, w) and _peer_ok(focus, dst))
            or (_named(dst, w) and _peer_ok(focus, src)))


def _peer_ok(focus: Focus, peer: Peer) -> bool:
    return not focus.workloads or _named(peer, focus.peers)


def apply(focus: Focus, conns: Iterable[Conn]) -> list[Conn]:
    """The focused connections, in the given order; with a focus connection each one that
    allows it is reported as that connection alone."""
    kept = [c for c in conns if keeps(focus, c.src, c.dst)]
    if focus.conn is None:
        return kept
    proto, port = focus.conn
    only = ConnSet.port(proto, port)
    return [c._replace(conns=only, text=str(only)) for c in kept if c.conns.allows(proto, port)]


def graph_workloads(focus: Focus, workloads: Iterable[Peer]) -> list[Peer]:
    """The workloads a dot graph shows even without a connection: the focus workloads and
    their focus peers (every workload without a focus)."""
    return [p for p in workloads
            if _named(p, focus.workloads) or (focus.peers and _peer_ok(focus, p))]


def missing(focus: Focus, workloads: Iterable[Peer], has_ingress_controller: bool) -> list[str]:
    """The focus names (workloads and peers) that name nothing in the input, for a warning."""
    known = list(workloads)
    out = []
    for name in (*focus.workloads, *focus.peers):
        if name == "ingress-controller" and has_ingress_controller:
            continue
        if not any(_named(p, (name,)) for p in known):
            out.append(name)
    return out
