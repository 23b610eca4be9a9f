"""Many datagrams in one system call: sendmmsg(2), which Python's socket module does not offer.

Why: the kernel's work for a probe's SYN (both pods' and the nodes' rules, the encapsulation)
happens inside the call that sends it. One ``sendto`` a SYN hands the interpreter's lock
between the prober's threads 40,000 times a run, and a core waits for the lock each time it
returns from the kernel while another thread holds it (10% of both cores idle during a
200-pod probe). One call a source sends its 200 SYNs with the lock released throughout.

The message headers are laid out with ``array`` on the 64-bit ABI (checked against ctypes'
own layout of the C structures when this module loads); elsewhere it sends one by one.
"""

from __future__ import annotations

import ctypes
import errno
import functools
import select
import socket
import struct
from array import array
from collections.abc import Sequence


class _Iovec(ctypes.Structure):
    _fields_ = [("base", ctypes.c_void_p), ("len", ctypes.c_size_t)]


class _Msghdr(ctypes.Structure):
    _fields_ = [("name", ctypes.c_void_p), ("namelen", ctypes.c_uint32),
                ("iov", ctypes.c_void_p), ("iovlen", ctypes.c_size_t),
                ("control", ctypes.c_void_p), ("controllen", ctypes.c_size_t),
                ("flags", ctypes.c_int)]


class _Mmsghdr(ctypes.Structure):
    _fields_ = [("hdr", _Msghdr), ("len", ctypes.c_uint)]


# A header as eight 8-byte words: name, namelen, iov, iovlen, control, controllen, flags, len.
# The 4-byte fields (namelen, flags, len) share a word with their padding, so a word holding
# a small value puts it in the field only on a little-endian machine: checked too.
WORDS = 8
_LAYOUT = (ctypes.sizeof(_Mmsghdr) == 8 * WORDS and ctypes.sizeof(_Iovec) == 16
           and [getattr(_Msghdr, f).offset for f in ("name", "namelen", "iov", "iovlen",
                                                     "control", "controllen", "flags")]
           == [0, 8, 16, 24, 32, 40, 48] and _Mmsghdr.len.offset == 56
           and array("Q").itemsize == 8 and struct.pack("=I", 1)[0] == 1)

_libc = ctypes.CDLL(None, use_errno=True)
BATCH = _LAYOUT and hasattr(_libc, "sendmmsg")
if BATCH:
    _sendmmsg = _libc.sendmmsg
    _sendmmsg.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_uint, ctypes.c_int]
    _sendmmsg.restype = ctypes.c_int


@functools.lru_cache(maxsize=1 << 16)
def sockaddr(ip: str) -> bytes:
    """A ``struct sockaddr_in`` for ``ip`` (port 0: a raw socket's destination)."""
    return struct.pack("=HH4s8x", socket.AF_INET, 0, socket.inet_aton(ip))


def send_all(sock: socket.socket, packets: Sequence[bytes], ips: Sequence[str]) -> list[int]:
    """Send ``packets[k]`` to ``ips[k]`` (IPv4) from ``sock``; the indices the kernel refused
    at once (no route, ...): what ``sendto`` raised for, the rest are on their way."""
    n = len(packets)
    size = len(packets[0]) if n else 0
    if not BATCH or not size or any(len(p) != size for p in packets):
        return _one_by_one(sock, packets, ips)
    # kept alive (bound to names) until the last call returns: the headers point into them
    data = ctypes.create_string_buffer(b"".join(packets), n * size)
    names = ctypes.create_string_buffer(b"".join(map(sockaddr, ips)), 16 * n)
    iov = array("Q", bytes(16 * n))
    iov[0::2] = array("Q", range(ctypes.addressof(data), ctypes.addressof(data) + n * size, size))
    iov[1::2] = array("Q", [size]) * n
    headers = array("Q", bytes(8 * WORDS * n))
    headers[0::WORDS] = array("Q", range(ctypes.addressof(names),
                                         ctypes.addressof(names) + 16 * n, 16))
    headers[1::WORDS] = array("Q", [16]) * n
    at = iov.buffer_info()[0]
    headers[2::WORDS] = array("Q", range(at, at + 16 * n, 16))
    headers[3::WORDS] = array("Q", [1]) * n
    base, refused, k = headers.buffer_info()[0], [], 0
    while k < n:
        sent = _sendmmsg(sock.fileno(), base + 8 * WORDS * k, n - k, 0)
        if sent > 0:
            k += sent
            continue
        code = ctypes.get_errno()
        if code == errno.EINTR:
            continue
        if code == errno.EAGAIN and select.select([], [sock], [], 1.0)[1]:
            continue  # the socket's buffer is full (a non-blocking socket): not a refusal
        refused.append(k)  # the first message failed: it alone, as sendto would have
        k += 1
    return refused


def _one_by_one(sock: socket.socket, packets: Sequence[bytes], ips: Sequence[str]) -> list[int]:
    refused = []
    for k, (p, ip) in enumerate(zip(packets, ips, strict=True)):
        try:
            sock.sendto(p, (ip, 0))
        except OSError:
            refused.append(k)
    return refused
