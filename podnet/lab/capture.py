"""``podnet lab capture``'s edge: packet sockets (AF_PACKET, every protocol) opened inside a
pod's or node's namespace on one interface, read until enough frames or the time is up, while
an optional probe connects from the pod. Decoding is podnet.dataplane.packet's (pure)."""

from __future__ import annotations

import contextlib
import select
import socket
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from podnet.dataplane.packet import ports
from podnet.lab.nsenter import inside
from podnet.lab.probe import HELLO

ETH_P_ALL = 0x0003
SO_TIMESTAMPNS = 35  # the kernel's receive time (frames of two sockets sort by it, not by read)
TIMESPEC = struct.Struct("@qq")
SNAPLEN = 65535  # veths hand over GSO super-frames larger than the MTU


@dataclass(frozen=True)
class Point:
    label: str  # what the user named: the pod's key, or "node NAME"
    netns: str
    ifname: str


@dataclass(frozen=True)
class Frame:
    timestamp: float
    point: Point
    pkttype: int  # sockaddr_ll's: 0 to this host, 4 sent by it
    data: bytes


def _open(p: Point) -> socket.socket:
    # the interface name is looked up in the namespace the socket is born in
    with inside(p.netns):
        s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
        try:
            s.bind((p.ifname, 0))
        except OSError:
            s.close()
            raise
    s.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
    s.setblocking(False)
    return s


def _read(s: socket.socket) -> tuple[float, int, bytes]:
    data, anc, _, addr = s.recvmsg(SNAPLEN, socket.CMSG_SPACE(TIMESPEC.size))
    at = time.time()
    for level, kind, raw in anc:
        if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS and len(raw) >= TIMESPEC.size:
            sec, nsec = TIMESPEC.unpack_from(raw)
            at = sec + nsec / 1e9
    return at, addr[2], data


def probe_socket(netns: str) -> socket.socket:
    """A TCP socket born in ``netns`` and bound to its source port already, so the capture can
    follow the probe's flow past a DNAT that changes the destination port."""
    with inside(netns):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.bind(("0.0.0.0", 0))
    return s


def connect_probe(s: socket.socket, ip: str, port: int, timeout: float) -> str:
    """One TCP connection: connect, say HELLO, read the answer. What happened, in words (the
    capture shows how)."""
    s.settimeout(timeout)
    try:
        s.connect((ip, port))
        s.sendall(HELLO)
        answer = s.recv(256).decode(errors="replace").strip()
        return f"connected, answer {answer!r}" if answer else "connected, closed without answer"
    except ConnectionRefusedError:
        return "refused"
    except (TimeoutError, OSError) as e:
        return f"no connection ({e.__class__.__name__})"
    finally:
        s.close()


def capture(points: list[Point], wanted: set[int], count: int, timeout: float,
            probe: Callable[[], str] | None = None) -> tuple[list[Frame], str | None]:
    """Frames seen on ``points`` with a TCP/UDP port (outer or inside VXLAN) in ``wanted``
    (every frame when it is empty), at most ``count``, within ``timeout`` seconds; the probe
    runs once every socket listens."""
    socks = {}
    try:
        for p in points:
            socks[_open(p)] = p
        outcome: list[str] = []
        runner = None
        if probe is not None:
            runner = threading.Thread(target=lambda: outcome.append(probe()), daemon=True)
            runner.start()
        frames: list[Frame] = []
        deadline = time.monotonic() + timeout
        while len(frames) < count:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            probed = runner is not None and not runner.is_alive()
            # once the probe is over, a quiet half second ends the capture (its last packets,
            # a FIN or a retransmission, come within that)
            wait = min(left, 0.5) if runner is not None else left
            ready, _, _ = select.select(list(socks), [], [], wait)
            if not ready and probed:
                break
            for s in ready:
                with contextlib.suppress(BlockingIOError):
                    at, pkttype, data = _read(s)
                    if not wanted or wanted & ports(data):
                        frames.append(Frame(at, socks[s], pkttype, data))
        if runner is not None:
            runner.join(timeout)
        frames.sort(key=lambda f: f.timestamp)
        return frames[:count], (outcome[0] if outcome else None)
    finally:
        for s in socks:
            s.close()
