"""One-line summaries of captured frames, in tcpdump's words: Ethernet (and 802.1Q), ARP, IPv4,
IPv6 (addresses only), ICMP, TCP and UDP, and VXLAN on the ports Linux (8472, flannel's and the
lab's) and IANA (4789) give it, with the encapsulated frame decoded after it. Pure: bytes in,
text out, so the capture at the lab's edge only reads frames and the decoding is golden-tested.

A frame cut short says where (``[|tcp]``, as tcpdump does) instead of failing: a capture must
go on whatever the wire carries."""

from __future__ import annotations

import ipaddress
import struct
import time
from collections.abc import Iterator

VXLAN_PORTS = (4789, 8472)
ETH_IPV4, ETH_ARP, ETH_VLAN, ETH_IPV6 = 0x0800, 0x0806, 0x8100, 0x86DD
PROTO_ICMP, PROTO_TCP, PROTO_UDP = 1, 6, 17
# struct sockaddr_ll's pkttype, as `tcpdump -i any` names them
DIRECTIONS = {0: "In", 1: "B", 2: "M", 3: "P", 4: "Out"}
TCP_FLAGS = ((0x01, "F"), (0x02, "S"), (0x04, "R"), (0x08, "P"), (0x10, "."), (0x20, "U"),
             (0x40, "E"), (0x80, "W"))
ICMP_UNREACH = {0: "net {dst} unreachable", 1: "host {dst} unreachable",
                2: "{dst} protocol {proto} unreachable", 3: "{dst} {l4} port {port} unreachable",
                4: "{dst} unreachable - need to frag", 13: "host {dst} unreachable - admin prohibited filter"}


def _mac(b: bytes) -> str:
    return ":".join(f"{x:02x}" for x in b)


def _ip4(b: bytes) -> str:
    return str(ipaddress.IPv4Address(b))


def summary(frame: bytes) -> str:
    """What tcpdump -n prints after the timestamp for one Ethernet frame."""
    if len(frame) < 14:
        return f"[|ether] length {len(frame)}"
    ethertype = struct.unpack_from("!H", frame, 12)[0]
    return _ether_payload(ethertype, frame[14:], len(frame))


def _ether_payload(ethertype: int, data: bytes, frame_len: int) -> str:
    if ethertype == ETH_VLAN:
        if len(data) < 4:
            return "[|vlan]"
        tci, inner = struct.unpack_from("!HH", data)
        return f"vlan {tci & 0x0FFF}, " + _ether_payload(inner, data[4:], frame_len)
    if ethertype == ETH_IPV4:
        return _ipv4(data)
    if ethertype == ETH_ARP:
        return _arp(data)
    if ethertype == ETH_IPV6:
        if len(data) < 40:
            return "[|ip6]"
        plen, nxt = struct.unpack_from("!HB", data, 4)
        src, dst = (str(ipaddress.IPv6Address(data[o:o + 16])) for o in (8, 24))
        return f"IP6 {src} > {dst}: next-header {nxt}, length {plen}"
    return f"ethertype 0x{ethertype:04x}, length {frame_len}"


def _arp(data: bytes) -> str:
    if len(data) < 28:
        return "[|arp]"
    op = struct.unpack_from("!H", data, 6)[0]
    sha, spa, tpa = data[8:14], _ip4(data[14:18]), _ip4(data[24:28])
    if op == 1:
        return f"ARP, Request who-has {tpa} tell {spa}, length {len(data)}"
    if op == 2:
        return f"ARP, Reply {spa} is-at {_mac(sha)}, length {len(data)}"
    return f"ARP, op {op}, length {len(data)}"


def _ipv4(data: bytes) -> str:
    if len(data) < 20:
        return "[|ip]"
    vihl, _, total, ident, frag, _ttl, proto = struct.unpack_from("!BBHHHBB", data)
    ihl = (vihl & 0x0F) * 4
    src, dst = _ip4(data[12:16]), _ip4(data[16:20])
    payload = data[ihl:total] if total >= ihl else b""
    offset = (frag & 0x1FFF) * 8
    if offset:  # a later fragment carries no transport header
        return f"IP {src} > {dst}: ip-proto-{proto} (frag {ident}:{len(payload)}@{offset})"
    if proto == PROTO_TCP:
        return _tcp(src, dst, payload)
    if proto == PROTO_UDP:
        return _udp(src, dst, payload)
    if proto == PROTO_ICMP:
        return f"IP {src} > {dst}: " + _icmp(dst, payload)
    return f"IP {src} > {dst}: ip-proto-{proto} {len(payload)}"


def _tcp(src: str, dst: str, seg: bytes) -> str:
    if len(seg) < 20:
        return f"IP {src} > {dst}: [|tcp]"
    sport, dport, seq, ack, off, flags, win = struct.unpack_from("!HHIIBBH", seg)
    length = max(0, len(seg) - (off >> 4) * 4)
    names = "".join(n for bit, n in TCP_FLAGS if flags & bit and n != ".")
    names += "." if flags & 0x10 else ""
    acked = f", ack {ack}" if flags & 0x10 else ""
    return (f"IP {src}.{sport} > {dst}.{dport}: Flags [{names or 'none'}], seq {seq}{acked}, "
            f"win {win}, length {length}")


def _udp(src: str, dst: str, dgram: bytes) -> str:
    if len(dgram) < 8:
        return f"IP {src} > {dst}: [|udp]"
    sport, dport, ulen = struct.unpack_from("!HHH", dgram)
    head = f"IP {src}.{sport} > {dst}.{dport}: "
    if dport in VXLAN_PORTS:
        return head + _vxlan(dgram[8:])
    return head + f"UDP, length {max(0, ulen - 8)}"


def _vxlan(data: bytes) -> str:
    if len(data) < 8:
        return "[|vxlan]"
    flags = data[0]
    vni = int.from_bytes(data[4:7], "big")
    mark = "I" if flags & 0x08 else "."
    return f"VXLAN, flags [{mark}] (0x{flags:02x}), vni {vni}: " + summary(data[8:])


def _icmp(dst: str, data: bytes) -> str:
    if len(data) < 8:
        return "[|icmp]"
    typ, code = data[0], data[1]
    if typ in (0, 8):
        ident, seq = struct.unpack_from("!HH", data, 4)
        kind = "echo reply" if typ == 0 else "echo request"
        return f"ICMP {kind}, id {ident}, seq {seq}, length {len(data)}"
    if typ == 3:
        inner = data[8:]
        fields = {"dst": dst, "proto": "?", "l4": "?", "port": "?"}
        if len(inner) >= 20:  # the offending datagram's header follows
            ihl = (inner[0] & 0x0F) * 4
            proto = inner[9]
            fields["dst"] = _ip4(inner[16:20])
            fields["proto"] = str(proto)
            fields["l4"] = {PROTO_TCP: "tcp", PROTO_UDP: "udp"}.get(proto, str(proto))
            if len(inner) >= ihl + 4:
                fields["port"] = str(struct.unpack_from("!H", inner, ihl + 2)[0])
        text = ICMP_UNREACH.get(code, "{dst} unreachable, code " + str(code))
        return f"ICMP {text.format(**fields)}, length {len(data)}"
    if typ == 11:
        return f"ICMP time exceeded in-transit, length {len(data)}"
    return f"ICMP type {typ} code {code}, length {len(data)}"


def ports(frame: bytes) -> set[int]:
    """Every TCP/UDP port in the frame, outer and encapsulated: what ``--port`` filters on."""
    return {p for layer in _layers(frame) for p in layer}


def _layers(frame: bytes) -> Iterator[tuple[int, int]]:
    data, ethertype = frame[14:], struct.unpack_from("!H", frame, 12)[0] if len(frame) >= 14 else 0
    while ethertype == ETH_VLAN and len(data) >= 4:
        ethertype, data = struct.unpack_from("!H", data, 2)[0], data[4:]
    if ethertype != ETH_IPV4 or len(data) < 20 or struct.unpack_from("!H", data, 6)[0] & 0x1FFF:
        return
    ihl, proto = (data[0] & 0x0F) * 4, data[9]
    l4 = data[ihl:]
    if proto not in (PROTO_TCP, PROTO_UDP) or len(l4) < 4:
        return
    sport, dport = struct.unpack_from("!HH", l4)
    yield sport, dport
    if proto == PROTO_UDP and dport in VXLAN_PORTS and len(l4) >= 16:
        yield from _layers(l4[16:])


def line(timestamp: float, ifname: str, pkttype: int, frame: bytes) -> str:
    """tcpdump -n -i any's line: UTC time of day with microseconds, interface, direction."""
    t = time.gmtime(timestamp)
    micro = int(round((timestamp - int(timestamp)) * 1_000_000)) % 1_000_000
    return (f"{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d}.{micro:06d} {ifname} "
            f"{DIRECTIONS.get(pkttype, str(pkttype))} {summary(frame)}")
