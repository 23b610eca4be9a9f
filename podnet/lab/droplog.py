"""Policy drops as the kernel reports them, so a prober learns that a probe was dropped when it
happens instead of at its deadline.

Every rule of the lab's NetworkPolicy rulesets that drops a packet also logs it to an NFLOG
group (nft ``log group``, ``podnet.names.DROP_LOG_GROUP``). A prober binds that group in each
node's namespace and receives one netlink message per dropped packet, carrying the packet's
first bytes: its addresses and ports, which name the probe. The kernel sends the records as the
drops happen, so reading them costs a receive each, whatever the number of flows (an nft set
read at the end cost more than the timeout it saved: docs/benchmarks.md).

The two messages are encoded and read here with ``struct``: pyroute2 has no NFLOG messages,
and importing it costs more than a whole probe of a small lab. A group has one listener per
namespace: a second prober on the same lab gets None and waits for its deadlines as before.
"""

from __future__ import annotations

import errno
import socket
import struct
from collections.abc import Iterator

from podnet.lab.nsenter import inside
from podnet.names import DROP_LOG_SNAPLEN

NETLINK_NETFILTER = 12
NFNL_SUBSYS_ULOG = 4
NFULNL_MSG_PACKET, NFULNL_MSG_CONFIG = 0, 1
NFULA_CFG_CMD, NFULA_CFG_MODE, NFULA_CFG_NLBUFSIZ, NFULA_CFG_TIMEOUT, NFULA_CFG_QTHRESH = 1, 2, 3, 4, 5
NFULNL_CFG_CMD_BIND = 1
NFULNL_COPY_PACKET = 2
NFULA_PAYLOAD = 9
NLMSG_ERROR = 2
NLM_F_REQUEST, NLM_F_ACK = 0x1, 0x4
# The kernel sends records in batches of up to QTHRESH (in one buffer of NLBUFSIZ bytes) and
# flushes a batch after FLUSH hundredths of a second. Its defaults (100 records, 1 s) would
# hold the last records of a probe back for as long as the timeout they are meant to save.
QTHRESH, NLBUFSIZ, FLUSH = 64, 16384, 1
_HEADER = struct.Struct("=IHHII")  # nlmsghdr
_ATTR = struct.Struct("=HH")
_PACKET = (NFNL_SUBSYS_ULOG << 8) | NFULNL_MSG_PACKET
RCVBUF = 4 << 20


def _bind_request(group: int) -> bytes:
    """Bind ``group`` to this socket, ask for the first DROP_LOG_SNAPLEN bytes of each packet,
    and set the batching."""
    nfgen = struct.pack("=BBH", socket.AF_UNSPEC, 0, socket.htons(group))
    cmd = _ATTR.pack(5, NFULA_CFG_CMD) + bytes([NFULNL_CFG_CMD_BIND]) + b"\0" * 3
    mode = _ATTR.pack(10, NFULA_CFG_MODE) + struct.pack("!IBB", DROP_LOG_SNAPLEN,
                                                         NFULNL_COPY_PACKET, 0)
    mode += b"\0" * 2
    batching = b"".join(_ATTR.pack(8, attr) + struct.pack("!I", value) for attr, value in (
        (NFULA_CFG_NLBUFSIZ, NLBUFSIZ), (NFULA_CFG_TIMEOUT, FLUSH), (NFULA_CFG_QTHRESH, QTHRESH)))
    body = nfgen + cmd + mode + batching
    return _HEADER.pack(_HEADER.size + len(body), (NFNL_SUBSYS_ULOG << 8) | NFULNL_MSG_CONFIG,
                        NLM_F_REQUEST | NLM_F_ACK, 1, 0) + body


def listen(netns: str, group: int) -> socket.socket | None:
    """A non-blocking socket receiving ``group``'s records in ``netns``; None when another
    process holds the group there."""
    with inside(netns):
        sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_NETFILTER)
    try:
        try:  # a burst of drops must not overflow it; root may exceed rmem_max
            sock.setsockopt(socket.SOL_SOCKET, 33, RCVBUF)  # SO_RCVBUFFORCE
        except OSError:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RCVBUF)
        sock.bind((0, 0))
        sock.send(_bind_request(group))
        reply = sock.recv(4096)
        length, kind = _HEADER.unpack_from(reply)[:2]
        code = -struct.unpack_from("=i", reply, _HEADER.size)[0] if kind == NLMSG_ERROR else 0
        if code in (errno.EPERM, errno.EBUSY):  # the kernel's answers when another socket has it
            sock.close()
            return None
        if code:
            raise OSError(code, f"NFLOG bind of group {group} in {netns}: {errno.errorcode.get(code, code)}")
    except BaseException:
        sock.close()
        raise
    sock.setblocking(False)
    return sock


def flows(data: bytes) -> Iterator[bytes]:
    """The key of each dropped packet in one receive: source and destination address, then
    source and destination port (12 bytes, as the packet carries them)."""
    off = 0
    while off + _HEADER.size <= len(data):
        length, kind = _HEADER.unpack_from(data, off)[:2]
        if length < _HEADER.size:
            return
        if kind == _PACKET:
            at, end = off + _HEADER.size + 4, off + length  # past nfgenmsg
            while at + _ATTR.size <= end:
                size, attr = _ATTR.unpack_from(data, at)
                if size < _ATTR.size:
                    break
                if attr & 0x7FFF == NFULA_PAYLOAD:
                    ip = data[at + _ATTR.size:at + size]
                    ihl = (ip[0] & 0x0F) * 4
                    if ip[0] >> 4 == 4 and len(ip) >= ihl + 4:
                        yield ip[12:20] + ip[ihl:ihl + 4]
                    break
                at += (size + 3) & ~3
        off += (length + 3) & ~3
