"""The raw probe socket's filter (podnet/lab/answers.py) in the real kernel: of the TCP packets
reaching a namespace, the socket receives the resets and SYN-ACKs acknowledging its sequence
number plus one, and nothing else (not the SYNs arriving, not answers to other numbers)."""

from __future__ import annotations

import socket
import struct
import subprocess
import time
import uuid
from collections.abc import Iterator

import pytest

from podnet.lab import answers
from podnet.lab.nsenter import inside

SEQ = 0x1234_5678


@pytest.fixture
def ns() -> Iterator[str]:
    name = f"pn-t{uuid.uuid4().hex[:8]}-answers"
    subprocess.run(["ip", "netns", "add", name], check=True)
    try:
        subprocess.run(["ip", "netns", "exec", name, "ip", "link", "set", "lo", "up"], check=True)
        yield name
    finally:
        subprocess.run(["ip", "netns", "del", name], check=False)


def _syn(sport: int, dport: int, seq: int) -> bytes:
    # the kernel fills in no TCP checksum for a raw socket: computed over the pseudo-header
    src = dst = socket.inet_aton("127.0.0.1")
    head = struct.pack("!HHIIBBHHH", sport, dport, seq, 0, 0x50, 0x02, 1024, 0, 0)
    pseudo = src + dst + struct.pack("!BBH", 0, socket.IPPROTO_TCP, len(head))
    total = sum(struct.unpack(f"!{(len(pseudo) + len(head)) // 2}H", pseudo + head))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return head[:16] + struct.pack("!H", ~total & 0xFFFF) + head[18:]


def _segments(sock: socket.socket, within: float = 1.0) -> list[tuple[int, int, int]]:
    """(source port, flags, acknowledgement) of what the socket received."""
    out = []
    sock.settimeout(0.1)
    end = time.monotonic() + within
    while time.monotonic() < end:
        try:
            d = sock.recv(256)
        except TimeoutError:
            continue
        ihl = (d[0] & 0x0F) * 4
        sport, _, _, ack, _, flags = struct.unpack_from("!HHIIBB", d, ihl)
        out.append((sport, flags, ack))
    return out


@pytest.mark.parametrize("filtered", [False, True])
def test_only_answers_to_our_number_get_through(ns: str, filtered: bool) -> None:
    with inside(ns):
        prober = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_TCP)
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    with prober, listener:
        listener.bind(("127.0.0.1", 7001))
        listener.listen()
        if filtered:
            answers.attach(prober, SEQ + 1)
        # to a closed port: a reset; to a listener: a SYN-ACK (then our kernel's reset); a
        # SYN with another number: its reset acknowledges that number
        for dport, seq in ((7000, SEQ), (7001, SEQ), (7002, SEQ + 100)):
            prober.sendto(_syn(40000 + dport - 7000, dport, seq), ("127.0.0.1", 0))
        got = _segments(prober)
    ours = [(7000, 0x14, SEQ + 1), (7001, 0x12, SEQ + 1)]
    if filtered:
        assert sorted(got) == ours
    else:  # unfiltered it sees all of them: the SYNs themselves, the other reset
        assert set(ours) <= set(got) and len(got) > len(ours)
        assert any(ack == SEQ + 101 for _, _, ack in got)
