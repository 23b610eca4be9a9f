"""Golden tests of the capture decoder on frames built byte by byte here: what a user sees of a
handshake, a DNS query, VXLAN on the underlay, an ICMP refusal, ARP, and frames cut short."""

from __future__ import annotations

import ipaddress
import struct

import pytest

from podnet.dataplane.packet import line, ports, summary

MAC_A, MAC_B = bytes.fromhex("020000000001"), bytes.fromhex("020000000002")


def eth(payload: bytes, ethertype: int = 0x0800) -> bytes:
    return MAC_B + MAC_A + struct.pack("!H", ethertype) + payload


def ip4(src: str, dst: str, proto: int, payload: bytes, frag: int = 0, ident: int = 7) -> bytes:
    head = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), ident, frag, 64, proto, 0,
                       ipaddress.IPv4Address(src).packed, ipaddress.IPv4Address(dst).packed)
    return head + payload


def tcp(sport: int, dport: int, seq: int, ack: int, flags: int, data: bytes = b"",
        win: int = 64240, options: bytes = b"") -> bytes:
    off = (20 + len(options)) // 4
    return struct.pack("!HHIIBBHHH", sport, dport, seq, ack, off << 4, flags, win, 0, 0) + options + data


def udp(sport: int, dport: int, data: bytes) -> bytes:
    return struct.pack("!HHHH", sport, dport, 8 + len(data), 0) + data


def vxlan(vni: int, inner: bytes) -> bytes:
    return struct.pack("!B3xI", 0x08, vni << 8) + inner


SYN = eth(ip4("10.244.1.2", "10.96.0.11", 6, tcp(40000, 80, 1000, 0, 0x02,
                                                 options=b"\x02\x04\x05\xb4")))
SYN_ACK = eth(ip4("10.96.0.11", "10.244.1.2", 6, tcp(80, 40000, 5000, 1001, 0x12, win=65160)))
PSH = eth(ip4("10.244.1.2", "10.96.0.11", 6, tcp(40000, 80, 1001, 5001, 0x18, b"?\n")))
DNS = eth(ip4("10.244.1.2", "10.96.0.10", 17, udp(53001, 53, b"\x00" * 30)))
# the same SYN after DNAT to the pod 10.244.2.3, flannel-style on the underlay (VXLAN port 8472)
ENCAP = eth(ip4("192.168.0.11", "192.168.0.12", 17, udp(51515, 8472, vxlan(1, eth(
    ip4("10.244.1.2", "10.244.2.3", 6, tcp(40000, 8080, 1000, 0, 0x02)))))))
REFUSED = eth(ip4("10.244.2.3", "10.244.1.2", 1, bytes([3, 3, 0, 0, 0, 0, 0, 0])
                  + ip4("10.244.1.2", "10.244.2.3", 17, udp(40001, 9999, b"x"))))

GOLDEN = [
    (SYN, "IP 10.244.1.2.40000 > 10.96.0.11.80: Flags [S], seq 1000, win 64240, length 0"),
    (SYN_ACK, "IP 10.96.0.11.80 > 10.244.1.2.40000: Flags [S.], seq 5000, ack 1001, win 65160, "
              "length 0"),
    (PSH, "IP 10.244.1.2.40000 > 10.96.0.11.80: Flags [P.], seq 1001, ack 5001, win 64240, "
          "length 2"),
    (DNS, "IP 10.244.1.2.53001 > 10.96.0.10.53: UDP, length 30"),
    (ENCAP, "IP 192.168.0.11.51515 > 192.168.0.12.8472: VXLAN, flags [I] (0x08), vni 1: "
            "IP 10.244.1.2.40000 > 10.244.2.3.8080: Flags [S], seq 1000, win 64240, length 0"),
    (REFUSED, "IP 10.244.2.3 > 10.244.1.2: ICMP 10.244.2.3 udp port 9999 unreachable, length 37"),
    (eth(ip4("10.0.0.1", "10.0.0.2", 1, bytes([8, 0, 0, 0, 0, 1, 0, 2]) + b"\0" * 56)),
     "IP 10.0.0.1 > 10.0.0.2: ICMP echo request, id 1, seq 2, length 64"),
    (eth(struct.pack("!HHBBH6s4s6s4s", 1, 0x0800, 6, 4, 1, MAC_A,
                     ipaddress.IPv4Address("169.254.1.1").packed, b"\0" * 6,
                     ipaddress.IPv4Address("10.244.1.2").packed), 0x0806),
     "ARP, Request who-has 10.244.1.2 tell 169.254.1.1, length 28"),
    (eth(struct.pack("!HHBBH6s4s6s4s", 1, 0x0800, 6, 4, 2, MAC_A,
                     ipaddress.IPv4Address("169.254.1.1").packed, MAC_B,
                     ipaddress.IPv4Address("10.244.1.2").packed), 0x0806),
     "ARP, Reply 169.254.1.1 is-at 02:00:00:00:00:01, length 28"),
    (eth(struct.pack("!HH", 10, 0x0800) + ip4("10.0.0.1", "10.0.0.2", 17, udp(1, 2, b"ab")), 0x8100),
     "vlan 10, IP 10.0.0.1.1 > 10.0.0.2.2: UDP, length 2"),
    (eth(ip4("10.0.0.1", "10.0.0.2", 6, b"\0" * 8, frag=(185 >> 0)), 0x0800),
     "IP 10.0.0.1 > 10.0.0.2: ip-proto-6 (frag 7:8@1480)"),
    (eth(ip4("10.0.0.1", "10.0.0.2", 6, b"\0" * 10)), "IP 10.0.0.1 > 10.0.0.2: [|tcp]"),
    (SYN[:20], "[|ip]"),
    (b"\x01\x02", "[|ether] length 2"),
    (eth(b"\0" * 40, 0x88CC), "ethertype 0x88cc, length 54"),
]


@pytest.mark.parametrize(("frame", "want"), GOLDEN, ids=[w[:40] for _, w in GOLDEN])
def test_summary_golden(frame: bytes, want: str) -> None:
    assert summary(frame) == want


def test_the_vxlan_inner_frame_is_decoded_whatever_its_content() -> None:
    # the IANA port too, and an inner ARP: the underlay carries the pods' neighbour traffic
    arp = eth(struct.pack("!HHBBH6s4s6s4s", 1, 0x0800, 6, 4, 1, MAC_A,
                          ipaddress.IPv4Address("10.244.1.0").packed, b"\0" * 6,
                          ipaddress.IPv4Address("10.244.2.0").packed), 0x0806)
    frame = eth(ip4("192.168.0.11", "192.168.0.12", 17, udp(40000, 4789, vxlan(4096, arp))))
    assert summary(frame).endswith("vni 4096: ARP, Request who-has 10.244.2.0 tell 10.244.1.0, "
                                   "length 28")


def test_ports_see_through_vxlan() -> None:
    assert ports(SYN) == {40000, 80}
    assert ports(ENCAP) == {51515, 8472, 40000, 8080}
    assert ports(REFUSED) == set()  # ICMP has no ports (its quoted header is not this flow)
    assert ports(b"\x00") == set()


def test_line_has_time_interface_direction() -> None:
    # 2024-01-01T12:34:56.000250Z, a packet the namespace sent
    assert line(1704112496.00025, "eth0", 4, DNS) == (
        "12:34:56.000250 eth0 Out IP 10.244.1.2.53001 > 10.96.0.10.53: UDP, length 30")
    assert line(1704112496.5, "eth0", 0, SYN).startswith("12:34:56.500000 eth0 In IP ")
