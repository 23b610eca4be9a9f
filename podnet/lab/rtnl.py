"""Links up, addresses, routes and VXLAN forwarding entries inside one namespace over a plain
rtnetlink socket, all in one datagram: what a pod's namespace needs, without an `ip` process
for each pod (~10 ms of fork and exec each, where these messages take well under a
millisecond), and a node's FDB entries, without pyroute2's package import.

The requests are encoded here (each asks for an acknowledgement): links, addresses and routes
byte for byte as pyroute2's message classes encode them (tests/test_rtnl_encode.py), an FDB
entry as `bridge fdb show` lists what `bridge fdb add` makes (tests/lab/test_rtnl.py).
pyroute2's ``IPBatch`` would send them too, but runs an event loop per request (1.5 ms each,
1.5 s of a 200-pod ``lab up``). The socket is opened by a thread inside the namespace
(``nsenter.inside``), so they act there. The kernel handles them in order and answers each,
and a failure is reported as the operation it came from.
"""

from __future__ import annotations

import errno
import os
import socket
import struct
from dataclasses import dataclass

from podnet.lab.nsenter import inside

NLMSG_ERROR = 2
RTM_NEWLINK, RTM_NEWADDR, RTM_NEWROUTE, RTM_NEWNEIGH = 16, 20, 24, 28
NLM_F_REQUEST, NLM_F_ACK, NLM_F_EXCL, NLM_F_CREATE = 0x1, 0x4, 0x200, 0x400
IFF_UP = 0x1
RT_TABLE_MAIN, RTPROT_STATIC, RTN_UNICAST = 254, 4, 1
RT_SCOPE_UNIVERSE, RT_SCOPE_LINK, RTNH_F_ONLINK = 0, 253, 4
_HEADER = struct.Struct("=IHHII")  # nlmsghdr: length, type, flags, sequence, port
ANSWER_TIMEOUT = 10.0  # seconds; the kernel answers in microseconds


@dataclass(frozen=True, slots=True)
class LinkUp:
    ifname: str


@dataclass(frozen=True, slots=True)
class Addr:
    ifname: str
    cidr: str


@dataclass(frozen=True, slots=True)
class Route:
    dst: str
    ifname: str
    via: str = ""
    scope_link: bool = False
    onlink: bool = False


@dataclass(frozen=True, slots=True)
class Fdb:
    """`bridge fdb add <mac> dst <dst> dev <ifname> self permanent`: a VXLAN peer's entry."""
    ifname: str
    mac: str
    dst: str


Op = LinkUp | Addr | Route | Fdb


_IFINFO = struct.Struct("=BxHiII")  # ifinfomsg: family, type, index, flags, change
_IFADDR = struct.Struct("=BBBBI")  # ifaddrmsg: family, prefix length, flags, scope, index
_RTMSG = struct.Struct("=BBBBBBBBI")  # rtmsg: family, dst/src length, tos, table, proto, scope,
#                                       type, flags
_ATTR = struct.Struct("=HH")  # rtattr: length, type
IFA_ADDRESS, IFA_LOCAL = 1, 2
RTA_DST, RTA_OIF, RTA_GATEWAY = 1, 4, 5
_NDMSG = struct.Struct("=BxxxiHBB")  # ndmsg: family, index, state, flags, type
AF_BRIDGE, NUD_PERMANENT, NTF_SELF = 7, 0x80, 0x02
NDA_DST, NDA_LLADDR = 1, 2


def _attr(kind: int, payload: bytes) -> bytes:
    length = _ATTR.size + len(payload)
    return _ATTR.pack(length, kind) + payload + b"\0" * (-length % 4)


def _encode(op: Op, index: int, seq: int) -> bytes:
    """``op``'s request as `ip` words it (addresses and routes exclusive, routes proto static),
    byte for byte what pyroute2's message classes encode (tests/test_rtnl_encode.py holds them
    to it): written here because importing those classes runs pyroute2's package import, 0.37 s
    of CPU, a quarter of a 200-pod bring-up's on two cores."""
    flags = NLM_F_REQUEST | NLM_F_ACK
    if isinstance(op, LinkUp):
        kind, body = RTM_NEWLINK, _IFINFO.pack(socket.AF_UNSPEC, 0, index, IFF_UP, IFF_UP)
    elif isinstance(op, Addr):
        address, _, prefix = op.cidr.partition("/")
        raw = socket.inet_pton(socket.AF_INET, address)
        kind, flags = RTM_NEWADDR, flags | NLM_F_CREATE | NLM_F_EXCL
        body = (_IFADDR.pack(socket.AF_INET, int(prefix or 32), 0, 0, index)
                + _attr(IFA_LOCAL, raw) + _attr(IFA_ADDRESS, raw))
    elif isinstance(op, Fdb):
        kind, flags = RTM_NEWNEIGH, flags | NLM_F_CREATE | NLM_F_EXCL
        body = (_NDMSG.pack(AF_BRIDGE, index, NUD_PERMANENT, NTF_SELF, 0)
                + _attr(NDA_LLADDR, bytes.fromhex(op.mac.replace(":", "")))
                + _attr(NDA_DST, socket.inet_pton(socket.AF_INET, op.dst)))
    else:
        dst, _, prefix = op.dst.partition("/")
        dst_len = int(prefix or 32)
        kind, flags = RTM_NEWROUTE, flags | NLM_F_CREATE | NLM_F_EXCL
        body = _RTMSG.pack(socket.AF_INET, dst_len, 0, 0, RT_TABLE_MAIN, RTPROT_STATIC,
                           RT_SCOPE_LINK if op.scope_link else RT_SCOPE_UNIVERSE, RTN_UNICAST,
                           RTNH_F_ONLINK if op.onlink else 0)
        if dst_len:
            body += _attr(RTA_DST, socket.inet_pton(socket.AF_INET, dst))
        if op.via:
            body += _attr(RTA_GATEWAY, socket.inet_pton(socket.AF_INET, op.via))
        body += _attr(RTA_OIF, struct.pack("=I", index))
    return _HEADER.pack(_HEADER.size + len(body), kind, flags, seq, 0) + body


def apply(ns: str, ops: list[Op]) -> list[tuple[int, int]]:
    """Run ``ops`` in namespace ``ns``, in order; returns (position in ops, errno) for each
    that failed. An interface that does not exist fails its operation with ENODEV."""
    failed: list[tuple[int, int]] = []
    with inside(ns):
        index: dict[str, int] = {}
        for op in ops:
            if op.ifname not in index:
                try:
                    index[op.ifname] = socket.if_nametoindex(op.ifname)
                except OSError:
                    index[op.ifname] = 0
        sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, socket.NETLINK_ROUTE)
    with sock:
        wire = b""
        sent: dict[int, int] = {}  # sequence number -> position in ops
        for at, op in enumerate(ops):
            if not index[op.ifname]:
                failed.append((at, errno.ENODEV))
                continue
            wire += _encode(op, index[op.ifname], at + 1)
            sent[at + 1] = at
        if not sent:
            return sorted(failed)
        sock.sendto(wire, (0, 0))
        # the kernel answers every request it parsed; one it could not parse ends the datagram
        # unanswered, so a silence is the remaining requests' failure, not a hang
        sock.settimeout(ANSWER_TIMEOUT)
        while sent:
            try:
                data = sock.recv(65536)
            except TimeoutError:
                failed += [(position, errno.ETIMEDOUT) for position in sent.values()]
                break
            at = 0
            while at + _HEADER.size <= len(data):
                length, kind, _, seq, _ = _HEADER.unpack_from(data, at)
                if kind == NLMSG_ERROR and seq in sent:
                    (error,) = struct.unpack_from("=i", data, at + _HEADER.size)
                    position = sent.pop(seq)
                    if error:
                        failed.append((position, -error))
                at += (length + 3) & ~3 if length else len(data)
    return sorted(failed)


def strerror(code: int) -> str:
    return os.strerror(code)
