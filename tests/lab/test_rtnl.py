"""podnet/lab/rtnl.py against the kernel: a pod's links, address and routes set over one
rtnetlink datagram land in the namespace as `ip` would have put them, and each failed request
is reported with its position and errno."""

from __future__ import annotations

import errno
import subprocess

from podnet.lab import rtnl


def _ip(ns: str, *args: str) -> str:
    return subprocess.run(["ip", "-n", ns, *args], capture_output=True, text=True,
                          check=True).stdout


def test_a_pods_requests_land_in_its_namespace_and_failures_are_reported(lab_name):
    ns = f"pn-{lab_name}_p_rtnl"
    subprocess.run(["ip", "netns", "add", ns], check=True)
    try:
        _ip(ns, "link", "add", "eth0", "type", "veth", "peer", "name", "eth1")
        ops: list[rtnl.Op] = [
            rtnl.LinkUp("lo"), rtnl.LinkUp("eth0"), rtnl.LinkUp("eth1"), rtnl.Addr("eth0", "10.9.0.2/32"),
            rtnl.Route("169.254.1.1/32", "eth0", scope_link=True),
            rtnl.Route("0.0.0.0/0", "eth0", via="169.254.1.1"),
            rtnl.Route("0.0.0.0/0", "eth0", via="169.254.1.1"),  # twice: it exists
            rtnl.Route("10.1.0.0/24", "nope0"),
            rtnl.Route("10.2.0.0/24", "eth0", via="10.0.0.9", onlink=True)]
        assert rtnl.apply(ns, ops) == [(6, errno.EEXIST), (7, errno.ENODEV)]
        routes = _ip(ns, "route", "show").splitlines()
        assert "default via 169.254.1.1 dev eth0 proto static " in routes
        assert "169.254.1.1 dev eth0 proto static scope link " in routes
        assert "10.2.0.0/24 via 10.0.0.9 dev eth0 proto static onlink " in routes
        assert "inet 10.9.0.2/32 scope global eth0" in _ip(ns, "addr", "show", "eth0")
        assert ",UP" in _ip(ns, "link", "show", "lo").splitlines()[0]
        # nothing of it in the namespace the test runs in
        host = subprocess.run(["ip", "addr"], capture_output=True, text=True).stdout
        assert "10.9.0.2" not in host
    finally:
        subprocess.run(["ip", "netns", "del", ns], check=False)


def test_a_vxlan_peers_fdb_entry_is_the_one_bridge_fdb_add_makes(lab_name):
    """The FDB entry a node gets for each VXLAN peer, sent over rtnetlink: `bridge fdb show`
    lists it as `bridge fdb add <mac> dst <ip> dev flannel.1 self permanent` would have; a
    second one for the same MAC is refused (EEXIST), one on a missing device gets ENODEV."""
    ns = f"pn-{lab_name}_n_rtnl"
    subprocess.run(["ip", "netns", "add", ns], check=True)
    try:
        _ip(ns, "link", "add", "eth0", "type", "veth", "peer", "name", "eth1")
        _ip(ns, "addr", "add", "10.0.0.1/24", "dev", "eth0")
        _ip(ns, "link", "add", "flannel.1", "type", "vxlan", "id", "1", "local", "10.0.0.1",
            "dstport", "8472", "nolearning", "dev", "eth0")
        ops: list[rtnl.Op] = [rtnl.Fdb("flannel.1", "0e:aa:bb:cc:dd:01", "10.0.0.2"),
                              rtnl.Fdb("flannel.1", "0e:aa:bb:cc:dd:01", "10.0.0.2"),
                              rtnl.Fdb("nope0", "0e:aa:bb:cc:dd:02", "10.0.0.3")]
        assert rtnl.apply(ns, ops) == [(1, errno.EEXIST), (2, errno.ENODEV)]
        fdb = subprocess.run(["ip", "netns", "exec", ns, "bridge", "fdb", "show", "dev",
                              "flannel.1"], capture_output=True, text=True, check=True).stdout
        assert fdb.splitlines() == ["0e:aa:bb:cc:dd:01 dst 10.0.0.2 self permanent"]
    finally:
        subprocess.run(["ip", "netns", "del", ns], check=False)


def test_requests_the_kernel_never_answers_fail_instead_of_hanging(lab_name, monkeypatch):
    """A request the kernel cannot parse ends the datagram: it and those after it get no
    answer. They fail with ETIMEDOUT after ANSWER_TIMEOUT; the ones before are answered."""
    ns = f"pn-{lab_name}_p_rtnl2"
    subprocess.run(["ip", "netns", "add", ns], check=True)
    good = rtnl._encode
    # a header whose length runs past the datagram's end: the kernel stops reading there
    monkeypatch.setattr(rtnl, "_encode", lambda op, index, seq: good(op, index, seq) if seq == 1
                        else rtnl._HEADER.pack(4096, rtnl.RTM_NEWLINK, 5, seq, 0))
    monkeypatch.setattr(rtnl, "ANSWER_TIMEOUT", 0.3)
    try:
        ops: list[rtnl.Op] = [rtnl.LinkUp("lo"), rtnl.LinkUp("lo"), rtnl.LinkUp("lo")]
        assert rtnl.apply(ns, ops) == [(1, errno.ETIMEDOUT), (2, errno.ETIMEDOUT)]
        assert ",UP" in _ip(ns, "link", "show", "lo").splitlines()[0]
    finally:
        subprocess.run(["ip", "netns", "del", ns], check=False)
