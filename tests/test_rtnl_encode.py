"""podnet/lab/rtnl.py encodes its three requests by hand (pyroute2's package import costs a
quarter of a bring-up's CPU); pyroute2's own message classes are the oracle: for every shape
the lab sends, the bytes must be the ones pyroute2 encodes for the same request."""

from __future__ import annotations

import socket
from typing import Any

import pytest
from pyroute2.netlink.rtnl.ifaddrmsg import ifaddrmsg  # type: ignore[import-untyped]
from pyroute2.netlink.rtnl.ifinfmsg import ifinfmsg  # type: ignore[import-untyped]
from pyroute2.netlink.rtnl.rtmsg import rtmsg  # type: ignore[import-untyped]

from podnet.lab import rtnl

REQUEST_ACK = rtnl.NLM_F_REQUEST | rtnl.NLM_F_ACK
EXCLUSIVE = REQUEST_ACK | rtnl.NLM_F_CREATE | rtnl.NLM_F_EXCL


def _pyroute2(op: rtnl.Op, index: int, seq: int) -> bytes:
    msg: Any
    if isinstance(op, rtnl.LinkUp):
        msg, kind, flags = ifinfmsg(), rtnl.RTM_NEWLINK, REQUEST_ACK
        msg["index"], msg["flags"], msg["change"] = index, 1, 1
    elif isinstance(op, rtnl.Addr):
        address, _, prefix = op.cidr.partition("/")
        msg, kind, flags = ifaddrmsg(), rtnl.RTM_NEWADDR, EXCLUSIVE
        msg["family"], msg["prefixlen"], msg["index"] = socket.AF_INET, int(prefix or 32), index
        msg["attrs"] = [("IFA_LOCAL", address), ("IFA_ADDRESS", address)]
    else:
        dst, _, prefix = op.dst.partition("/")
        msg, kind, flags = rtmsg(), rtnl.RTM_NEWROUTE, EXCLUSIVE
        msg["family"], msg["dst_len"], msg["table"] = socket.AF_INET, int(prefix or 32), 254
        msg["proto"], msg["type"] = 4, 1  # static, unicast
        msg["scope"] = 253 if op.scope_link else 0
        msg["flags"] = 4 if op.onlink else 0
        attrs: list[tuple[str, object]] = [("RTA_DST", dst)] if msg["dst_len"] else []
        if op.via:
            attrs.append(("RTA_GATEWAY", op.via))
        msg["attrs"] = [*attrs, ("RTA_OIF", index)]
    msg["header"]["type"], msg["header"]["flags"] = kind, flags
    msg["header"]["sequence_number"] = seq
    msg.encode()
    return bytes(msg.data)


@pytest.mark.parametrize("op", [
    rtnl.LinkUp("lo"), rtnl.LinkUp("eth0"),
    rtnl.Addr("eth0", "10.9.0.2/32"), rtnl.Addr("eth0", "10.9.0.2"), rtnl.Addr("eth0", "10.244.1.0/24"),
    rtnl.Route("169.254.1.1/32", "eth0", scope_link=True),
    rtnl.Route("0.0.0.0/0", "eth0", via="169.254.1.1"),
    rtnl.Route("10.2.0.0/24", "eth0", via="10.0.0.9", onlink=True),
    rtnl.Route("10.1.0.0/16", "eth0"), rtnl.Route("10.3.0.7", "eth0", via="10.0.0.1"),
], ids=repr)
def test_each_request_is_the_bytes_pyroute2_encodes(op: rtnl.Op) -> None:
    for index, seq in ((1, 1), (2, 7), (2_000_000_000, 65_537)):
        assert rtnl._encode(op, index, seq) == _pyroute2(op, index, seq)


def test_an_address_that_is_not_dotted_ipv4_is_refused() -> None:
    # inet_aton would take "10.1" as 10.0.0.1; the lab's addresses are IPv4 in four parts
    with pytest.raises(OSError):
        rtnl._encode(rtnl.Addr("eth0", "10.1/32"), 1, 1)
